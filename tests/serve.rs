//! `recobro serve` and `recobro verify` as a user runs them: the real binary, real HTTP
//! on port 0, SQLite in a fresh data directory and PostgreSQL when
//! `RECOBRO_TEST_DATABASE_URL` names an admin connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};

use chrono::{TimeZone, Utc};
use orm::entities::case_journal;
use orm::testing::TestDb;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use services::journal::{Entry, GENESIS, canonical_json};

pub(crate) fn recobro() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_recobro"));
    cmd.env_remove("RECOBRO_DATABASE_URL")
        .env_remove("RECOBRO_LOG")
        .env_remove("RUST_LOG");
    cmd
}

/// A temporary directory, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new() -> TempDir {
        let path = std::env::temp_dir().join(orm::testing::unique_name());
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `recobro serve`, killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
    /// Log lines (JSON) read so far and the rest of stdout, drained by a thread.
    drain: Option<std::thread::JoinHandle<Vec<String>>>,
    head: Vec<String>,
}

impl Server {
    /// Starts `recobro serve --listen 127.0.0.1:0 ARGS` and waits for its `listening` line.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = recobro()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn recobro serve");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut head = Vec::new();
        let addr = loop {
            let mut line = String::new();
            let n = stdout.read_line(&mut line).expect("read serve stdout");
            if n == 0 {
                let status = child.wait().expect("wait");
                panic!("serve exited ({status}) before listening; its output:\n{head:#?}");
            }
            let log: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
            head.push(line);
            if log["message"] == "listening" {
                let addr = log["addr"].as_str().expect("addr field");
                break addr.parse().expect("addr is a socket address");
            }
        };
        let drain = std::thread::spawn(move || drain_lines(stdout));
        Server {
            child,
            addr,
            drain: Some(drain),
            head,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to end (killed by the test).
    pub(crate) fn wait(mut self) -> std::process::ExitStatus {
        self.child.wait().expect("wait for serve")
    }

    pub(crate) fn get(&self, path: &str) -> (u16, Value) {
        http_get(self.addr, path)
    }

    /// Sends SIGTERM and returns the exit status and all log lines.
    pub(crate) fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let exit = self.child.wait().expect("wait for serve");
        let mut lines = std::mem::take(&mut self.head);
        lines.extend(
            self.drain
                .take()
                .expect("drain")
                .join()
                .expect("drain thread"),
        );
        (exit, lines)
    }
}

fn drain_lines(stdout: BufReader<ChildStdout>) -> Vec<String> {
    stdout.lines().map_while(Result::ok).collect()
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET: status code and JSON body.
fn http_get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).expect("connect to serve");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("malformed response: {response}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("malformed status line: {head}"));
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("body not JSON ({e}): {body}"));
    (status, body)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn serve_on_sqlite_creates_the_data_dir_and_answers_probes() {
    let tmp = TempDir::new();
    let data = tmp.0.join("nested").join("data");
    let server = Server::start(&["--data-dir", data.to_str().unwrap()], &[]);
    assert_eq!(server.get("/healthz"), (200, json!({"status": "ok"})));
    assert_eq!(server.get("/readyz"), (200, json!({"status": "ok"})));

    let (status, logs) = server.terminate();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    assert!(data.join("recobro.db").is_file(), "database file created");
    for line in &logs {
        let log: Value = serde_json::from_str(line).expect("every log line is JSON");
        assert!(
            log["level"].is_string() && log["timestamp"].is_string(),
            "{line}"
        );
    }
    assert!(logs.iter().any(|l| l.contains("\"stopped\"")), "{logs:#?}");

    // The node keeps its id for timer claims across restarts.
    let node = std::fs::read_to_string(data.join("node-id")).expect("node id stored");
    assert_eq!(node.trim().len(), 36, "a UUID: {node}");
    let again = Server::start(&["--data-dir", data.to_str().unwrap()], &[]);
    assert_eq!(again.get("/readyz").0, 200);
    let (status, _) = again.terminate();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(data.join("node-id")).unwrap(), node);
}

#[test]
fn text_logs_on_request() {
    let tmp = TempDir::new();
    let mut child = recobro()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&tmp.0)
        .env("RECOBRO_LOG", "text")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let listening = loop {
        let mut line = String::new();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "serve exited early"
        );
        if line.contains("listening") {
            break line;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(listening.contains("INFO") && listening.contains("addr=127.0.0.1:"));
    assert!(serde_json::from_str::<Value>(&listening).is_err());
}

#[tokio::test]
async fn serve_on_postgres_answers_probes_and_never_logs_the_url() {
    let Some(pg) = TestDb::postgres_unopened("serve_on_postgres").await else {
        return;
    };
    let tmp = TempDir::new();
    let url = pg.url().to_string();
    let data = tmp.0.join("unused");
    let env_url = url.clone();
    let server = tokio::task::spawn_blocking(move || {
        let server = Server::start(
            &["--data-dir", data.to_str().unwrap()],
            &[("RECOBRO_DATABASE_URL", &env_url)],
        );
        assert_eq!(server.get("/healthz").0, 200);
        assert_eq!(server.get("/readyz"), (200, json!({"status": "ok"})));
        assert!(
            !data.exists(),
            "no SQLite data directory when PostgreSQL is used"
        );
        server
    })
    .await
    .unwrap();

    // The schema was migrated.
    let db = orm::connect(&url).await.unwrap();
    assert_eq!(case_journal::Entity::find().all(&db).await.unwrap(), vec![]);
    db.close().await.unwrap();

    // The database goes away: still alive, no longer ready.
    pg.remove().await.unwrap();
    let (status, logs) = tokio::task::spawn_blocking(move || {
        assert_eq!(server.get("/healthz").0, 200);
        let (code, body) = server.get("/readyz");
        assert_eq!(code, 503, "{body}");
        assert_eq!(body["status"], "unavailable");
        assert!(
            body["reason"].as_str().unwrap().starts_with("database"),
            "{body}"
        );
        server.terminate()
    })
    .await
    .unwrap();
    let all = logs.join("\n");
    assert!(status.success(), "{status:?}\n{all}");
    assert!(all.contains("postgres database"), "{all}");
    assert!(all.contains("not ready"), "{all}");
    // The database name may appear (in PostgreSQL's own messages); the URL never.
    assert!(!all.contains(&url), "{all}");
}

fn run_fails(args: &[&str]) -> Output {
    let out = recobro().args(args).output().expect("run recobro");
    assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{args:?}: {}",
        text(&out.stderr)
    );
    out
}

#[test]
fn bad_serve_input_exits_1_with_a_message() {
    let tmp = TempDir::new();
    let data = tmp.0.to_str().unwrap();

    let out = run_fails(&["serve", "--listen", "not-an-address", "--data-dir", data]);
    assert!(
        text(&out.stderr).contains("invalid listen address `not-an-address`"),
        "{}",
        text(&out.stderr)
    );

    let file = tmp.0.join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = run_fails(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        file.join("data").to_str().unwrap(),
    ]);
    assert!(
        text(&out.stderr).contains("cannot create data directory"),
        "{}",
        text(&out.stderr)
    );

    // Nothing listens on port 1; the password must not leak into any output.
    let out = run_fails(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        "postgres://recobro:s3cret-pw@127.0.0.1:1/recobro",
    ]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot open the postgres database"),
        "{all}"
    );
    assert!(!all.contains("s3cret-pw"), "{all}");

    // The port is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let out = run_fails(&["serve", "--listen", &port, "--data-dir", data]);
    assert!(
        text(&out.stderr).contains(&format!("cannot listen on {port}")),
        "{}",
        text(&out.stderr)
    );
}

/// A channels file that cannot be read, parsed or connected stops `serve` before it
/// listens, with the file and the reason: a typo must not silently fall back to the
/// file channel (no message would reach any debtor).
#[test]
fn a_bad_channels_file_stops_serve_with_the_reason() {
    let tmp = TempDir::new();
    let data = tmp.0.to_str().unwrap();
    let file = tmp.0.join("channels.json");
    let path = file.to_str().unwrap();
    let missing = tmp.0.join("nowhere.json");
    let out = run_fails(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data,
        "--channels",
        missing.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot read the channels file") && err.contains("nowhere.json"),
        "{err}"
    );

    for (content, says) in [
        ("{\"emial\": {}}", "unknown field `emial`"),
        ("{\"letters\": \"fax\"}", "unknown variant `fax`"),
        ("[1, 2", "is invalid"),
        (
            r#"{"email": {"host": "smtp.example.com", "username": "collections",
                          "from": {"address": "cobros@example.com"}}}"#,
            "give both username and password, or neither",
        ),
        (
            r#"{"messaging": [{"api": "twilio", "baseUrl": "https://api.twilio.com"}]}"#,
            "twilio needs accountSid",
        ),
    ] {
        std::fs::write(&file, content).unwrap();
        let out = run_fails(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data,
            "--channels",
            path,
        ]);
        let err = text(&out.stderr);
        assert!(err.contains(says), "{content}: {err}");
        assert!(!text(&out.stdout).contains("listening"), "{content}");
    }
}

/// A rule pack that contradicts itself stops `serve` with its file, line and reason;
/// a valid one is taken.
#[test]
fn a_bad_rule_pack_stops_serve_with_its_line() {
    let tmp = TempDir::new();
    let data = tmp.0.join("data");
    let packs = tmp.0.join("packs");
    std::fs::create_dir_all(&packs).unwrap();
    std::fs::write(
        packs.join("acme.toml"),
        "id = \"acme-hours\"\nversion = 1\neffective_from = \"2026-01-01\"\n\
         title = \"Acme\"\nauthority = \"policy\"\ncreditor = \"acme\"\n\n\
         [[rule]]\nid = \"evenings\"\nreference = \"Acme policy 4.2\"\nkind = \"hours\"\n\
         windows = [{ days = [\"mon\"], from = \"19:00\", to = \"07:00\" }]\n",
    )
    .unwrap();
    let out = run_fails(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
        "--rule-packs",
        packs.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert!(
        err.contains("acme.toml:8: rule evenings: window 19:00–07:00 is empty"),
        "{err}"
    );
    let missing = tmp.0.join("no-packs");
    let out = run_fails(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
        "--rule-packs",
        missing.to_str().unwrap(),
    ]);
    assert!(
        text(&out.stderr).contains("cannot read the rule pack directory"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(
        packs.join("acme.toml"),
        "id = \"acme-hours\"\nversion = 1\neffective_from = \"2026-01-01\"\n\
         title = \"Acme\"\nauthority = \"policy\"\ncreditor = \"acme\"\n\n\
         [[rule]]\nid = \"days\"\nreference = \"Acme policy 4.2\"\nkind = \"hours\"\n\
         windows = [{ days = [\"mon\"], from = \"09:00\", to = \"17:00\" }]\n",
    )
    .unwrap();
    let server = Server::start(
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "--rule-packs",
            packs.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(server.get("/readyz").0, 200);
}

// --- verify ---

/// Writes chains of three valid entries for `case-a` and `case-b`.
async fn write_journal(db: &DatabaseConnection) {
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    for case in ["case-a", "case-b"] {
        let mut prev = GENESIS.to_owned();
        for seq in 1..=3 {
            let e = Entry::next(
                case,
                seq,
                &prev,
                "PaymentReceived",
                json!({"amount": "10.00", "seq": seq}),
                "system:payments",
                t + chrono::Duration::minutes(seq),
            );
            prev = e.hash.clone();
            case_journal::Entity::insert(case_journal::ActiveModel {
                case_id: Set(e.case_id),
                seq: Set(e.seq),
                event_type: Set(e.event_type),
                payload: Set(canonical_json(&e.payload)),
                actor: Set(e.actor),
                recorded_at: Set(e.recorded_at),
                prev_hash: Set(e.prev_hash),
                hash: Set(e.hash),
            })
            .exec(db)
            .await
            .expect("insert journal row");
        }
    }
}

async fn tamper(db: &DatabaseConnection) {
    use case_journal::Column;
    case_journal::Entity::update_many()
        .col_expr(
            Column::Payload,
            Expr::val(r#"{"amount":"1000.00","seq":2}"#),
        )
        .filter(Column::CaseId.eq("case-b"))
        .filter(Column::Seq.eq(2))
        .exec(db)
        .await
        .expect("tamper");
}

/// The verify scenario against the database `url`, with `storage` as the CLI arguments
/// that name it.
async fn verify_scenario(url: &str, storage: Vec<String>) {
    let db = orm::connect(url).await.unwrap();
    orm::migrate(&db).await.unwrap();
    write_journal(&db).await;

    let verify = |extra: &[&str]| {
        let out = recobro()
            .arg("verify")
            .args(&storage)
            .args(extra)
            .output()
            .expect("run recobro verify");
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };

    let (code, stdout, stderr) = verify(&[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(stdout, "verified 2 cases, 6 entries: ok\n");

    let (code, stdout, _) = verify(&["--case", "case-b"]);
    assert_eq!(code, Some(0));
    assert_eq!(stdout, "verified 1 cases, 3 entries: ok\n");

    tamper(&db).await;
    let (code, stdout, stderr) = verify(&[]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "broken: case case-b: entry 2 was altered (hash mismatch)\n\
         verified 2 cases, 6 entries: 1 broken\n"
    );
    let (code, stdout, _) = verify(&["--case", "case-a"]);
    assert_eq!(
        (code, stdout.as_str()),
        (Some(0), "verified 1 cases, 3 entries: ok\n")
    );

    let (code, stdout, stderr) = verify(&["--case", "unknown"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stderr.contains("no journal entries for case unknown"),
        "{stderr}"
    );
    db.close().await.unwrap();
}

#[tokio::test]
async fn verify_on_sqlite_detects_tampering() {
    let tmp = TempDir::new();
    let file = tmp.0.join("recobro.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    verify_scenario(
        &url,
        vec!["--data-dir".into(), tmp.0.to_str().unwrap().into()],
    )
    .await;
}

#[tokio::test]
async fn verify_on_postgres_detects_tampering() {
    let Some(pg) = TestDb::postgres_unopened("verify_on_postgres").await else {
        return;
    };
    verify_scenario(
        pg.url(),
        vec!["--database-url".into(), pg.url().to_string()],
    )
    .await;
}

#[test]
fn verify_without_a_database_exits_1() {
    let tmp = TempDir::new();
    let missing: &Path = &tmp.0.join("missing");
    let out = run_fails(&["verify", "--data-dir", missing.to_str().unwrap()]);
    assert!(
        text(&out.stderr).contains("no database at"),
        "{}",
        text(&out.stderr)
    );
    assert!(!missing.exists(), "verify creates nothing");
}
