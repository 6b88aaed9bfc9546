//! The real `recobro` binary, run as a user would: `process check`, `process trace`,
//! `demo`. Output lines and exit codes are the contract checked here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

fn recobro(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recobro"))
        .args(args)
        .output()
        .expect("run the recobro binary")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code (not killed by a signal)")
}

/// `shared/bpmn-corpus` beside the workspace, or `RECOBRO_BPMN_CORPUS`. Fails loudly when
/// missing: skipping would make every corpus assertion vacuous.
fn corpus(file: &str) -> String {
    let dir = match std::env::var_os("RECOBRO_BPMN_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bpmn-corpus"),
    };
    let path = dir.join(file);
    assert!(
        path.is_file(),
        "BPMN corpus file {} not found; check out shared/bpmn-corpus beside the repository or \
         set RECOBRO_BPMN_CORPUS",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/examples/collections.bpmn")
        .to_string_lossy()
        .into_owned()
}

/// A file in a directory of its own under the system temp dir, removed on drop.
struct TempFile {
    dir: PathBuf,
    path: PathBuf,
}

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> TempFile {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "recobro-e2e-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let path = dir.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        TempFile { dir, path }
    }

    fn path(&self) -> &str {
        self.path.to_str().expect("UTF-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A BPMN document with one executable process `p` around `body`.
fn model(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="https://recobro.test">
  <message id="MsgPayment" name="payment-received" />
  <process id="p" isExecutable="true">
{body}
  </process>
</definitions>
"#
    )
}

const WAITS_FOR_MESSAGE: &str = r#"
    <startEvent id="Start" />
    <sequenceFlow id="f1" sourceRef="Start" targetRef="AwaitPayment" />
    <intermediateCatchEvent id="AwaitPayment">
      <messageEventDefinition messageRef="MsgPayment" />
    </intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="AwaitPayment" targetRef="End" />
    <endEvent id="End" />"#;

const GATEWAY_WITHOUT_DEFAULT: &str = r#"
    <startEvent id="Start" />
    <sequenceFlow id="f1" sourceRef="Start" targetRef="Decide" />
    <exclusiveGateway id="Decide" />
    <sequenceFlow id="f2" sourceRef="Decide" targetRef="High">
      <conditionExpression>= balance &gt; 1000</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="f3" sourceRef="Decide" targetRef="Negative">
      <conditionExpression>= balance &lt; 0</conditionExpression>
    </sequenceFlow>
    <endEvent id="High" />
    <endEvent id="Negative" />"#;

/// Parses every stdout line of a trace as JSON.
fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn check_reports_ok_and_errors_with_position() {
    let valid = corpus("zeebe-process-test/start-end.bpmn");
    let duplicate = corpus("bpmn-js/error-duplicate-ids.bpmn");
    let namespace = corpus("bpmn-js/error-missing-namespace.bpmn");
    let o = recobro(&["process", "check", &valid, &duplicate, &namespace]);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "one line per file: {out}");
    assert_eq!(lines[0], format!("ok {valid}"));
    assert!(
        lines[1].starts_with(&format!("error {duplicate}:9:3: ")) && lines[1].contains("'test'"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&format!("error {namespace}:2:1: "))
            && lines[2].contains("not a BPMN 2.0 document"),
        "{}",
        lines[2]
    );
    assert_eq!(code(&o), 1);
}

#[test]
fn check_of_valid_files_exits_zero() {
    let files = [
        corpus("zeebe-process-test/start-end.bpmn"),
        corpus("zeebe-process-test/message-event.bpmn"),
        example(),
    ];
    let args: Vec<&str> = ["process", "check", "--executable"]
        .into_iter()
        .chain(files.iter().map(String::as_str))
        .collect();
    let o = recobro(&args);
    let expected: Vec<String> = files.iter().map(|f| format!("ok {f}")).collect();
    assert_eq!(stdout(&o).lines().collect::<Vec<_>>(), expected);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn executable_check_refuses_javascript_conditions() {
    let js = corpus("bpmn-engine/loop.bpmn");
    // Well-formed BPMN: a plain check accepts it ...
    let o = recobro(&["process", "check", &js]);
    assert_eq!(stdout(&o).trim_end(), format!("ok {js}"));
    assert_eq!(code(&o), 0);
    // ... but Recobro cannot run JavaScript.
    let o = recobro(&["process", "check", "--executable", &js]);
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!(
            "error {js}:19:7: element 'flow3': conditions in JavaScript"
        )),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1);
    assert_eq!(code(&o), 1);
}

#[test]
fn check_of_missing_file_is_an_error_line() {
    let missing = std::env::temp_dir().join("recobro-e2e-does-not-exist.bpmn");
    let missing = missing.to_str().expect("UTF-8 path");
    let o = recobro(&["process", "check", missing]);
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("error {missing}:0:0: cannot read: ")),
        "{out}"
    );
    assert_eq!(code(&o), 1);
}

#[test]
fn check_refuses_oversized_file() {
    // Valid XML beginning, then a comment that pushes the file past 16 MiB.
    let mut xml = model(WAITS_FOR_MESSAGE).into_bytes();
    let tail = xml.split_off(xml.len() - "</definitions>\n".len());
    xml.extend_from_slice(b"<!--");
    xml.resize(17 * 1024 * 1024, b'x');
    xml.extend_from_slice(b"-->");
    xml.extend_from_slice(&tail);
    let big = TempFile::new("big.bpmn", &xml);
    let o = recobro(&["process", "check", big.path()]);
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("error {}:1:1: ", big.path()))
            && out.contains(&format!(
                "the document is {} bytes, more than the limit of 16777216 bytes",
                xml.len()
            )),
        "{out}"
    );
    assert_eq!(code(&o), 1);
}

#[test]
fn check_refuses_doctype_and_entities() {
    let xxe = TempFile::new(
        "xxe.bpmn",
        br#"<?xml version="1.0"?>
<!DOCTYPE definitions [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <process id="p" name="&xxe;" />
</definitions>
"#,
    );
    let o = recobro(&["process", "check", xxe.path()]);
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("error {}:2:", xxe.path())) && out.contains("DOCTYPE"),
        "{out}"
    );
    assert!(!out.contains("root:"), "entity expanded: {out}");
    assert_eq!(code(&o), 1);
}

#[test]
fn trace_runs_collections_example_to_the_end() {
    let vars = r#"{"externalRef": "L-7", "balance": 250, "dpd": 3, "parties": ["debtor"]}"#;
    // paid-in-full reaches the event sub-process because --outputs names its start; it
    // arrives the first time nothing else can move: after the call's promise.
    let outputs = r#"{"CallDebtor": {"promiseToPay": true},
        "PaidInFullReceived": {"paidInFull": true, "amountPaid": "250.00"}, "*": {}}"#;
    let o = recobro(&[
        "process",
        "trace",
        &example(),
        "--vars",
        vars,
        "--outputs",
        outputs,
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let lines = json_lines(&o);
    assert!(lines.len() > 5, "{lines:?}");
    assert_eq!(lines[0]["element"], "CaseOpened");
    assert_eq!(lines[0]["type"], "startEvent");
    assert_eq!(lines[0]["time"], "2026-01-05T08:00:00Z");
    let elements: Vec<&str> = lines.iter().filter_map(|l| l["element"].as_str()).collect();
    let path = [
        "CaseOpened",
        "EarlyStart",
        "RemindAgain",
        "SendReminder",
        "CallDebtor",
        "PromiseMade",
        "PaidInFullReceived",
        "CloseCase",
        "PaidInFullEnd",
        "PaidInFull",
    ];
    assert_eq!(elements, path);
    let end = lines.last().expect("end line");
    assert_eq!(end["state"], "completed", "{end}");
    assert_eq!(end["variables"]["paidInFull"], true);
    assert_eq!(end["variables"]["externalRef"], "L-7");
}

#[test]
fn trace_waiting_for_a_message_exits_2_and_names_it() {
    let f = TempFile::new("wait.bpmn", model(WAITS_FOR_MESSAGE).as_bytes());
    let o = recobro(&["process", "trace", f.path()]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines[0]["element"], "Start");
    let end = lines.last().expect("end line");
    assert_eq!(end["state"], "stuck", "{end}");
    let waiting = end["waiting"].as_array().expect("waiting list");
    assert_eq!(waiting.len(), 1, "{end}");
    let w = waiting[0].as_str().unwrap_or_default();
    assert!(
        w.contains("AwaitPayment") && w.contains("message 'payment-received'"),
        "{w}"
    );
}

#[test]
fn trace_gateway_without_true_condition_exits_1() {
    let f = TempFile::new("gw.bpmn", model(GATEWAY_WITHOUT_DEFAULT).as_bytes());
    let o = recobro(&[
        "process",
        "trace",
        f.path(),
        "--vars",
        r#"{"balance": 500}"#,
    ]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let lines = json_lines(&o);
    let end = lines.last().expect("end line");
    assert_eq!(end["state"], "incident", "{end}");
    assert_eq!(end["element"], "Decide");
    let error = end["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("no condition of an outgoing flow of 'Decide' holds")
            && error.contains("no default flow"),
        "{error}"
    );
    // With a value that satisfies a condition the same model completes.
    let o = recobro(&[
        "process",
        "trace",
        f.path(),
        "--vars",
        r#"{"balance": 5000}"#,
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines[lines.len() - 2]["element"], "High");
}

#[test]
fn trace_refuses_bad_vars_json() {
    let o = recobro(&["process", "trace", &example(), "--vars", "{caseId: C-1"]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.starts_with("error: --vars is not valid JSON"), "{err}");

    let o = recobro(&["process", "trace", &example(), "--outputs", "[1, 2]"]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.starts_with("error: --outputs must be a JSON object"),
        "{err}"
    );
}

#[test]
fn demo_runs_the_bundled_process() {
    let o = recobro(&["demo"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    let trace: Vec<Value> = out
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert_eq!(trace[0]["element"], "CaseOpened");
    assert!(
        out.contains("  debtor D-77 registered: +573101234567"),
        "the debtor's file is part of the demo: {out}"
    );
    // The ledger drives the strategy: a promise kept by a payment, one broken by the
    // clock, a plan accepted and broken by the clock, then paid in full at the agency.
    let elements: Vec<&str> = trace.iter().filter_map(|l| l["element"].as_str()).collect();
    let milestones = [
        "PromiseKept",
        "PromiseBroken",
        "Early",
        "PlanAccepted",
        "PlanBroken",
        "Late",
        "PlaceWithAgency",
        "PaidInFullReceived",
        "CloseCase",
        "PaidInFull",
    ];
    let mut rest = elements.iter();
    for m in milestones {
        assert!(
            rest.any(|e| *e == m),
            "{m} missing or out of order in {elements:?}"
        );
    }
    assert!(!elements.contains(&"AgencyWork"), "{elements:?}");
    // When it happened: the broken promise on the day after its grace, the broken plan
    // on the day after its second instalment's grace.
    let time_of = |element: &str| {
        trace
            .iter()
            .find(|l| l["element"] == element)
            .map(|l| l["time"].clone())
    };
    assert_eq!(
        time_of("PromiseBroken"),
        Some("2026-01-20T00:00:00Z".into())
    );
    assert_eq!(time_of("PlanBroken"), Some("2026-03-04T00:00:00Z".into()));
    let end = trace.last().expect("end line");
    assert_eq!(end["state"], "completed", "{end}");
    assert_eq!(end["stage"], "closed", "{end}");
    assert_eq!(
        (&end["balance"], &end["currency"]),
        (&"0.00".into(), &"COP".into())
    );
    let journal: Vec<&str> = end["journal"]
        .as_array()
        .expect("journal")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for fact in [
        "AccountOpened",
        "PromiseMade",
        "PaymentRecorded",
        "PromiseDeadlinePassed",
        "PlanOffered",
        "PlanAccepted",
        "PlanDeadlinePassed",
    ] {
        assert!(journal.contains(&fact), "{fact} not in {journal:?}");
    }
    // No message was correlated by hand: the ledger's facts delivered them all.
    assert!(!journal.contains(&"MessageCorrelated"), "{journal:?}");
    assert_eq!(journal.last(), Some(&"JobCompleted"));
}

#[test]
fn executable_check_judges_unrelated_files_that_reuse_a_process_id_separately() {
    let a = TempFile::new("reuse-a.bpmn", model(WAITS_FOR_MESSAGE).as_bytes());
    let b = TempFile::new("reuse-b.bpmn", model(GATEWAY_WITHOUT_DEFAULT).as_bytes());
    let o = recobro(&["process", "check", "--executable", a.path(), b.path()]);
    assert_eq!(
        stdout(&o).lines().collect::<Vec<_>>(),
        [format!("ok {}", a.path()), format!("ok {}", b.path())]
    );
    assert_eq!(code(&o), 0);
}
