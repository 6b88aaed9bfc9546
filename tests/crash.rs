//! Crash test of the durable case runtime: `recobro load` is SIGKILLed three times in the
//! middle of driving 30 cases (after a number of acknowledged commands, not after a time)
//! and restarted each time, its pending timers left claimed as by a driver killed between
//! claim and firing; the last run finishes (a run that hangs is killed and fails). Then
//! the database must show that nothing acknowledged was lost or done twice: every
//! acknowledged command is in the journal exactly once, every chain verifies, every timer
//! fired exactly once, and the projections equal a rebuild from the journal. On SQLite
//! and, when `RECOBRO_TEST_DATABASE_URL` is set, on a fresh PostgreSQL database.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bpmn::engine::{Event, Wait};
use chrono::TimeZone;
use orm::entities::{cases, idempotency_keys, message_subscriptions, outbox, tasks, timers};
use orm::testing::TestDb;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use services::case::CaseEvent;
use services::case::projection::status_of;
use services::clock::VirtualClock;
use services::journal::verify_chain;
use services::runtime::{Runtime, RuntimeConfig};
use services::store::Store;

const CASES: usize = 30;
/// New acknowledged commands (keys not acknowledged by an earlier run) read before each
/// SIGKILL; the run after the last one finishes. Each case takes 5 keyed commands
/// (open, three tasks, one job), 150 in all.
const KILL_AFTER_NEW_ACKS: [usize; 3] = [15, 30, 40];
const KEYED_COMMANDS_PER_CASE: usize = 5;

/// A driver run that takes longer than this is stuck: the test kills it and fails
/// rather than waiting forever.
const RUN_DEADLINE: Duration = Duration::from_secs(300);

/// Kills the driver when the run outlasts [`RUN_DEADLINE`] (a run that hangs would
/// otherwise block the test on the driver's stdout forever); stops watching on drop.
struct Watchdog {
    fired: Arc<AtomicBool>,
    /// Dropped with the watchdog, which tells its thread the run ended.
    _stop: mpsc::Sender<()>,
}

impl Watchdog {
    fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

fn watch(mut child: Child, run: usize) -> (Arc<Mutex<Child>>, BufReader<ChildStdout>, Watchdog) {
    let out = BufReader::new(child.stdout.take().expect("piped stdout"));
    let child = Arc::new(Mutex::new(child));
    let fired = Arc::new(AtomicBool::new(false));
    let (stop, stopped) = mpsc::channel::<()>();
    let (victim, flag) = (child.clone(), fired.clone());
    std::thread::spawn(move || {
        // Disconnected means the run ended in time.
        if stopped.recv_timeout(RUN_DEADLINE) == Err(mpsc::RecvTimeoutError::Timeout) {
            eprintln!("run {run}: no end after {RUN_DEADLINE:?}, killing the driver");
            flag.store(true, Ordering::SeqCst);
            let _ = victim.lock().unwrap().kill();
        }
    });
    let watchdog = Watchdog { fired, _stop: stop };
    (child, out, watchdog)
}

/// One `ack <key> <case_id> <seq>` line, with the run (0-based) that printed it.
#[derive(Debug, Clone)]
struct Ack {
    key: String,
    case_id: String,
    seq: i64,
    run: usize,
}

/// Runs the driver until it has printed `kill_after` new acks, then SIGKILLs it (or, with
/// `None`, until it prints `done` and exits 0). Appends every complete ack line read.
fn run_driver(
    db_args: &[&str],
    cases: usize,
    run: usize,
    kill_after: Option<usize>,
    seen: &mut HashSet<String>,
    acks: &mut Vec<Ack>,
) {
    let child = Command::new(env!("CARGO_BIN_EXE_recobro"))
        .arg("load")
        .args(db_args)
        .args(["--cases", &cases.to_string(), "--seed", "7"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start recobro load");
    let (child, mut out, watchdog) = watch(child, run);
    let (mut new, mut killed, mut done) = (0, false, false);
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).expect("read the driver's stdout") == 0 {
            break;
        }
        let Some(text) = line.strip_suffix('\n') else {
            // Only a crash may cut a line short; it acknowledged nothing.
            assert!(
                killed || watchdog.fired(),
                "run {run}: truncated line {line:?} without a crash"
            );
            break;
        };
        let words: Vec<&str> = text.split(' ').collect();
        match words.as_slice() {
            ["done"] => {
                assert!(!done, "run {run}: `done` twice");
                done = true;
            }
            ["ack", key, case_id, seq] => {
                let seq = seq.parse().expect("ack seq is a number");
                if seen.insert(key.to_string()) {
                    new += 1;
                }
                acks.push(Ack {
                    key: key.to_string(),
                    case_id: case_id.to_string(),
                    seq,
                    run,
                });
                if !killed && Some(new) == kill_after {
                    child.lock().unwrap().kill().expect("SIGKILL the driver");
                    killed = true;
                }
            }
            _ => panic!("run {run}: unexpected output line {text:?}"),
        }
    }
    let status = child.lock().unwrap().wait().expect("wait for the driver");
    assert!(
        !watchdog.fired(),
        "run {run}: the driver did not end within {RUN_DEADLINE:?}; SIGKILLed it"
    );
    eprintln!(
        "run {run}: {} acks, {new} new, {}",
        acks.iter().filter(|a| a.run == run).count(),
        if killed { "then SIGKILL" } else { "done" }
    );
    match kill_after {
        Some(n) => {
            assert!(
                killed,
                "run {run}: the driver ended ({status}) after {new} new acks, before the \
                 planned crash after {n}"
            );
            assert_eq!(status.signal(), Some(9), "run {run}: killed by SIGKILL");
            assert!(!done, "run {run}: finished although killed mid-way");
        }
        None => {
            assert!(status.success(), "run {run}: the driver failed: {status}");
            assert!(done, "run {run}: exited without `done`");
        }
    }
}

/// Kills and restarts the driver at each planned point, then lets it finish.
/// `committed` counts the keyed commands the database holds (called between runs, where
/// it may also leave the database as a crash at a worse moment would).
///
/// A planned crash is capped at half of the commands not yet committed: acks already in
/// the pipe when the kill is sent, and commands committed but killed before their ack,
/// may use up more than planned, and a crash must still happen mid-way.
fn crash_and_restart(db_args: &[&str], mut committed: impl FnMut() -> usize) -> Vec<Ack> {
    let total = CASES * KEYED_COMMANDS_PER_CASE;
    let mut seen = HashSet::new();
    let mut acks = Vec::new();
    for (run, planned) in KILL_AFTER_NEW_ACKS.iter().enumerate() {
        let remaining = if run == 0 { total } else { total - committed() };
        let n = (*planned).min(remaining / 2);
        assert!(
            n > 0,
            "run {run}: only {remaining} commands left to crash in"
        );
        run_driver(db_args, CASES, run, Some(n), &mut seen, &mut acks);
    }
    let last = KILL_AFTER_NEW_ACKS.len();
    run_driver(db_args, CASES, last, None, &mut seen, &mut acks);
    acks
}

/// Between runs: leaves every pending timer as a driver killed between claiming and
/// firing it would (claimed by the driver's node, `recobro-load`, with a lease the
/// virtual clock never reaches), so each restart must take its own claims back; then
/// counts the keyed commands the database holds.
async fn after_crash(db: &DatabaseConnection) -> usize {
    strand_timers(db).await;
    committed_keys(db).await
}

/// Claims every pending timer for the driver's node until 2100; returns how many.
async fn strand_timers(db: &DatabaseConnection) -> u64 {
    let lease = chrono::Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap();
    timers::Entity::update_many()
        .col_expr(timers::Column::ClaimedBy, Expr::value("recobro-load"))
        .col_expr(timers::Column::ClaimedUntil, Expr::value(lease))
        .exec(db)
        .await
        .expect("strand the pending timers")
        .rows_affected
}

async fn committed_keys(db: &DatabaseConnection) -> usize {
    let n = idempotency_keys::Entity::find().count(db).await.unwrap();
    usize::try_from(n).expect("count fits")
}

/// What the key says the command was.
#[derive(Debug, PartialEq)]
enum Keyed {
    Open,
    Task(u64),
    Job(u64),
}

fn keyed(key: &str, case_id: &str) -> Keyed {
    if key.starts_with("open-") {
        return Keyed::Open;
    }
    let id = |prefix: &str| {
        key.strip_prefix(&format!("{prefix}-{case_id}-"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("key {key} does not name case {case_id}"))
    };
    if key.starts_with("task-") {
        Keyed::Task(id("task"))
    } else if key.starts_with("job-") {
        Keyed::Job(id("job"))
    } else {
        panic!("unknown key {key}")
    }
}

async fn verify(db: &DatabaseConnection, acks: &[Ack]) {
    // The same key always answered with the same case and sequence, across crashes.
    let mut by_key: BTreeMap<&str, (&str, i64)> = BTreeMap::new();
    for a in acks {
        let first = *by_key
            .entry(a.key.as_str())
            .or_insert((a.case_id.as_str(), a.seq));
        assert_eq!(
            first,
            (a.case_id.as_str(), a.seq),
            "key {} answered differently in run {}",
            a.key,
            a.run
        );
    }
    let opened: BTreeSet<&str> = by_key
        .iter()
        .filter(|(k, _)| k.starts_with("open-"))
        .map(|(_, (case, _))| *case)
        .collect();
    assert_eq!(
        by_key.keys().filter(|k| k.starts_with("open-")).count(),
        CASES
    );
    assert_eq!(opened.len(), CASES, "each open key made its own case");
    let runs: BTreeSet<usize> = acks.iter().map(|a| a.run).collect();
    assert_eq!(
        runs.len(),
        KILL_AFTER_NEW_ACKS.len() + 1,
        "every run acknowledged something"
    );

    // Every case exists once, completed; nothing is left waiting.
    let rows = cases::Entity::find().all(db).await.unwrap();
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.case_id.as_str()).collect();
    assert_eq!(ids, opened, "the cases are exactly the acknowledged opens");
    for r in &rows {
        assert_eq!(r.status, "completed", "case {}", r.case_id);
    }
    assert_eq!(
        timers::Entity::find().count(db).await.unwrap(),
        0,
        "timer rows left"
    );
    assert_eq!(
        message_subscriptions::Entity::find()
            .count(db)
            .await
            .unwrap(),
        0,
        "message subscriptions left"
    );

    // Every stored idempotency key belongs to exactly one command; every acknowledged key
    // is stored with the acknowledged case and sequence.
    let stored = idempotency_keys::Entity::find().all(db).await.unwrap();
    assert_eq!(stored.len(), CASES * KEYED_COMMANDS_PER_CASE);
    let stored: HashMap<&str, (&str, i64)> = stored
        .iter()
        .map(|k| (k.key.as_str(), (k.case_id.as_str(), k.seq)))
        .collect();
    for (key, answer) in &by_key {
        assert_eq!(stored.get(key), Some(answer), "stored answer of {key}");
    }

    let store = Store::new(db.clone());
    let clock = Arc::new(VirtualClock::new(chrono::Utc::now()));
    let rt = Runtime::start(db.clone(), clock, RuntimeConfig::default());
    for row in &rows {
        let case_id = row.case_id.as_str();
        let entries = store.journal(case_id, 0).await.unwrap();
        assert_eq!(verify_chain(&entries), Ok(()), "chain of case {case_id}");
        assert!(
            entries
                .windows(2)
                .all(|w| w[0].recorded_at <= w[1].recorded_at),
            "time ran backwards in case {case_id} (the clock restarted from the past)"
        );
        let events: Vec<CaseEvent> = entries
            .iter()
            .map(|e| serde_json::from_value(e.payload.clone()).expect("journal payload"))
            .collect();

        // Exactly the commands of one run through the model, each once.
        let mut types: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &entries {
            *types.entry(e.event_type.as_str()).or_default() += 1;
        }
        let expected = BTreeMap::from([
            ("CaseOpened", 1),
            ("JobCompleted", 1),
            ("TaskCompleted", 3),
            ("TimerFired", 1),
        ]);
        assert_eq!(types, expected, "journal of case {case_id}");
        let completed_tasks: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                CaseEvent::Engine {
                    event: Event::CompleteTask { task, .. },
                } => Some(*task),
                _ => None,
            })
            .collect();
        let distinct: BTreeSet<u64> = completed_tasks.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            completed_tasks.len(),
            "a task completed twice"
        );
        let task_rows = tasks::Entity::find()
            .filter(tasks::Column::CaseId.eq(case_id))
            .all(db)
            .await
            .unwrap();
        let task_ids: BTreeSet<u64> = task_rows.iter().map(|t| t.task_id as u64).collect();
        assert_eq!(task_ids, distinct, "task rows of case {case_id}");
        assert!(task_rows.iter().all(|t| t.status == "completed"));
        let jobs = outbox::Entity::find()
            .filter(outbox::Column::CaseId.eq(case_id))
            .filter(outbox::Column::Kind.eq("job"))
            .count(db)
            .await
            .unwrap();
        assert_eq!(jobs, 1, "jobs requested by case {case_id}");

        // Each acknowledged command is the journal entry it was acknowledged with.
        for (key, (_, seq)) in by_key.iter().filter(|(_, (c, _))| *c == case_id) {
            let i = usize::try_from(*seq - 1).expect("seq >= 1");
            let event = events
                .get(i)
                .unwrap_or_else(|| panic!("{key}: no entry {seq}"));
            match (keyed(key, case_id), event) {
                (Keyed::Open, CaseEvent::Opened { .. }) => {}
                (
                    Keyed::Task(t),
                    CaseEvent::Engine {
                        event: Event::CompleteTask { task, .. },
                    },
                ) if t == *task => {}
                (
                    Keyed::Job(j),
                    CaseEvent::Engine {
                        event: Event::CompleteJob { job, .. },
                    },
                ) if j == *job => {}
                (k, e) => panic!("{key} ({k:?}) acknowledged at {seq}, journal has {e:?}"),
            }
        }

        // The projections equal a rebuild from the whole journal, and so does the state
        // a case actor activates from its snapshot.
        let replayed = rt.replay(case_id).await.unwrap().expect("replayed case");
        assert_eq!(replayed.seq, row.seq, "seq of case {case_id}");
        assert_eq!(status_of(&replayed.instance), row.status);
        assert_eq!(replayed.instance.stage, row.stage);
        let waiting: Vec<u64> = replayed
            .instance
            .elements
            .iter()
            .filter(|(_, e)| e.wait == Wait::Task)
            .map(|(id, _)| *id)
            .collect();
        assert!(
            waiting.is_empty(),
            "case {case_id} waits for tasks {waiting:?}"
        );
        assert!(replayed.instance.subscriptions.is_empty());
        let live = rt.case(case_id).await.unwrap().expect("live case");
        assert_eq!(live, replayed, "activated state of case {case_id}");
    }
}

/// A directory of its own under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    /// The database `recobro load --data-dir` keeps in this directory.
    fn sqlite_url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.join("recobro.db").display())
    }

    fn new() -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "recobro-crash-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn sqlite() {
    let started = Instant::now();
    let dir = TempDir::new();
    let path = dir.0.to_str().expect("UTF-8 temp path");
    let url = dir.sqlite_url();
    let system = actix::System::new();
    // Opened after the first run has created and migrated the database.
    let mut db = None;
    let mut connect = || {
        db.get_or_insert_with(|| {
            system
                .block_on(orm::connect(&url))
                .expect("open the driver's database")
        })
        .clone()
    };
    let acks = crash_and_restart(&["--data-dir", path], || {
        let db = connect();
        system.block_on(after_crash(&db))
    });
    let db = connect();
    system.block_on(async {
        verify(&db, &acks).await;
        db.close().await.expect("close");
    });
    eprintln!("crash test on SQLite: {:.1?}", started.elapsed());
}

#[test]
fn postgres() {
    let started = Instant::now();
    let system = actix::System::new();
    let Some(t) = system.block_on(TestDb::postgres("crash")) else {
        return;
    };
    let acks = crash_and_restart(&["--database-url", t.url()], || {
        system.block_on(after_crash(&t.db))
    });
    system.block_on(verify(&t.db, &acks));
    eprintln!("crash test on PostgreSQL: {:.1?}", started.elapsed());
}

/// A driver killed between claiming a timer and firing it: the restarted driver takes the
/// claim back and fires the timer once, instead of waiting for a lease its virtual clock
/// never reaches. The driver is killed right after the command that schedules the timer
/// is acknowledged; it may still fire the timer before it dies, so this retries until a
/// run dies with the timer pending.
#[test]
fn a_restart_takes_back_the_timer_claims_of_a_killed_run() {
    let system = actix::System::new();
    for attempt in 0..5 {
        let dir = TempDir::new();
        let path = dir.0.to_str().expect("UTF-8 temp path");
        let (mut seen, mut acks) = (HashSet::new(), Vec::new());
        // Open, then the two parallel tasks: their join schedules the grace timer.
        run_driver(&["--data-dir", path], 1, 0, Some(3), &mut seen, &mut acks);
        let url = dir.sqlite_url();
        let db = system
            .block_on(orm::connect(&url))
            .expect("open the database");
        if system.block_on(strand_timers(&db)) == 0 {
            eprintln!("attempt {attempt}: the timer fired before the driver died");
            continue;
        }
        run_driver(&["--data-dir", path], 1, 1, None, &mut seen, &mut acks);
        system.block_on(async {
            let case = cases::Entity::find()
                .one(&db)
                .await
                .unwrap()
                .expect("the case");
            assert_eq!(case.status, "completed");
            let fired = Store::new(db.clone())
                .journal(&case.case_id, 0)
                .await
                .unwrap()
                .iter()
                .filter(|e| e.event_type == "TimerFired")
                .count();
            assert_eq!(fired, 1, "the stranded timer fired once");
            assert_eq!(timers::Entity::find().count(&db).await.unwrap(), 0);
        });
        return;
    }
    panic!("in 5 attempts the driver always fired the timer before it died");
}
