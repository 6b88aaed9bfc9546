//! Golden traces: executable models run on a virtual clock, their traces compared with
//! committed insta snapshots in `tests/golden/`. Each was reviewed by hand against
//! BPMN 2.0 / Camunda 8 semantics; a difference is either a regression or a deliberate
//! change, in which case accept it (see [`check_golden`]) and review the new file again.
//!
//! Two drivers produce the same JSON-lines format as `recobro process trace`: one
//! [`TraceStep`] per completed flow node, then the [`End`]:
//! - [`bpmn::simulate::run`] (every task completes with scripted outputs, listed
//!   messages arrive, timers fire when nothing else can move);
//! - a scripted driver for paths the simulation cannot take (a task left open until its
//!   timer boundary fires, a message start of an event sub-process, ...). It ends with
//!   `Stuck` listing what the instance still waits for when the script runs out.
//!
//! Also here: the outcome of `deploy` (`process check --executable`) for every corpus file.

use std::path::{Path, PathBuf};

use bpmn::DiagnosticCode;
use bpmn::compile::{Deployment, Source, deploy};
use bpmn::engine::{self, Effect, Event, Instance, StartAt, Status, Wait};
use bpmn::expr::Vars;
use bpmn::simulate::{self, End, Trace, TraceStep};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

pub(crate) fn corpus_dir() -> PathBuf {
    let dir = match std::env::var_os("RECOBRO_BPMN_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bpmn-corpus"),
    };
    assert!(
        dir.is_dir(),
        "BPMN corpus not found at {}; check out shared/bpmn-corpus next to the workspace or set \
         RECOBRO_BPMN_CORPUS",
        dir.display()
    );
    dir
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The virtual clock start of every trace (as `recobro process trace`).
pub(crate) fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap()
}

/// A model file: in the corpus, in the workspace `docs/`, or inline in this test.
#[derive(Clone, Copy)]
pub(crate) enum File {
    Corpus(&'static str),
    Docs(&'static str),
    Inline(&'static str, &'static str),
}

fn read(file: File) -> (String, Vec<u8>) {
    match file {
        File::Corpus(rel) => {
            let path = corpus_dir().join(rel);
            let xml =
                std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            (rel.to_string(), xml)
        }
        File::Docs(rel) => {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../docs")
                .join(rel);
            let xml =
                std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            (rel.to_string(), xml)
        }
        File::Inline(name, xml) => (name.to_string(), xml.as_bytes().to_vec()),
    }
}

pub(crate) fn deploy_files(files: &[File]) -> Deployment {
    let read: Vec<(String, Vec<u8>)> = files.iter().map(|&f| read(f)).collect();
    let sources: Vec<Source<'_>> = read
        .iter()
        .map(|(name, xml)| Source {
            name,
            xml,
            version: 1,
        })
        .collect();
    match deploy(&sources) {
        Ok(d) => d,
        Err(errs) => panic!(
            "deploy failed: {}",
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

fn obj(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("expected a JSON object, got {other}"),
    }
}

/// Trace lines exactly as `recobro process trace` prints them.
fn render(steps: &[TraceStep], end: &End) -> String {
    let mut out = String::new();
    for s in steps {
        out.push_str(&serde_json::to_string(s).unwrap());
        out.push('\n');
    }
    out.push_str(&serde_json::to_string(end).unwrap());
    out.push('\n');
    out
}

/// Compares `actual` with the snapshot `tests/golden/<name>.snap` (insta); returns a
/// readable problem instead of panicking so every case runs. To accept a deliberate
/// change: `INSTA_UPDATE=always cargo test -p bpmn --test bpmn golden`, then review the
/// diff of `tests/golden/` (or `cargo insta review`).
fn check_golden(name: &str, actual: &str) -> Result<(), String> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(golden_dir());
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description("trace lines as `recobro process trace` prints them");
    settings.bind(|| {
        std::panic::catch_unwind(|| insta::assert_snapshot!(name, actual)).map_err(|_| {
            format!(
                "{name}: trace differs from tests/golden/{name}.snap (diff above)\n\
                     (actual trace:\n{actual})"
            )
        })
    })
}

// ---------------------------------------------------------------------------------------
// Simulation cases
// ---------------------------------------------------------------------------------------

struct SimCase {
    name: &'static str,
    files: &'static [File],
    process: &'static str,
    vars: fn() -> Value,
    outputs: fn() -> Value,
    /// Expected collection stages entered (StageEntered effects), in order.
    stages: &'static [&'static str],
}

pub(crate) const PR: &[File] = &[
    File::Corpus("zeebe-process-test/pr-created.bpmn"),
    File::Corpus("zeebe-process-test/automated-tests.bpmn"),
];
pub(crate) const ORDERING: &[File] =
    &[File::Corpus("lib-bpmn-engine/ordering-items-workflow.bpmn")];
pub(crate) const COLLECTIONS: &[File] = &[File::Docs("examples/collections.bpmn")];
pub(crate) const C92: &[File] = &[
    File::Corpus("miwg/Reference/C.9.2.bpmn"),
    File::Inline("requestDocument_en.bpmn", REQUEST_DOCUMENT_STUB),
];

/// Stub for the process C.9.2 calls: one job per requested document.
const REQUEST_DOCUMENT_STUB: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="StubDefs"
    targetNamespace="https://recobro.dev/tests">
  <bpmn:process id="requestDocument_en" isExecutable="true">
    <bpmn:startEvent id="StubStart" />
    <bpmn:sequenceFlow id="s1" sourceRef="StubStart" targetRef="StubRequest" />
    <bpmn:serviceTask id="StubRequest">
      <bpmn:extensionElements><zeebe:taskDefinition type="requestDocument" /></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="s2" sourceRef="StubRequest" targetRef="StubEnd" />
    <bpmn:endEvent id="StubEnd" />
  </bpmn:process>
</bpmn:definitions>"#;

fn empty() -> Value {
    json!({})
}

/// What a case of the collections model starts with: `externalRef` is its messages'
/// correlation key (evaluated when the process subscribes), `balance` and `dpd` rank its
/// tasks, `parties` get the demand letters.
fn collections_vars() -> Value {
    json!({"externalRef": "L-1001", "balance": 1840.5, "dpd": 35,
           "parties": ["debtor", "guarantor"]})
}

/// The variables of the ledger's messages, as the runtime sends them (amounts in COP).
fn promise_verdict(kept: bool) -> Value {
    json!({"promiseId": 1, "promisedAmount": "300000.00", "promisedAmountMinor": 30_000_000,
           "currency": "COP", "promiseKept": kept})
}

fn plan_message(status: &str) -> Value {
    json!({"planId": 1, "planTotal": "900000.00", "planTotalMinor": 90_000_000,
           "currency": "COP", "planStatus": status, "settlement": false})
}

/// A settlement: 1,500,000.00 for the 1,840,500.00 owed.
fn settlement_message(status: &str) -> Value {
    json!({"planId": 1, "planTotal": "1500000.00", "planTotalMinor": 150_000_000,
           "currency": "COP", "planStatus": status, "settlement": true})
}

fn paid_in_full(reference: &str, paid: &str, written_off: &str) -> Value {
    json!({"paymentReference": reference, "currency": "COP", "amountPaid": paid,
           "writtenOff": written_off, "credit": "0.00", "paidInFull": true})
}

fn c92_vars() -> Value {
    json!({"risks": ["age"], "applicant": {"age": 44, "name": "Ana"},
           "documentReferenceId": "D-1", "fraudSuspectedId": "F-1"})
}

fn sim_cases() -> Vec<SimCase> {
    vec![
        // Message start; parallel split into the call activity (3 parallel multi-instance
        // sub-process instances, one job each) and the review loop; the review message
        // arrives before the P1D timer; both branches join before mergeCode.
        SimCase {
            name: "pr-created-approved",
            files: PR,
            process: "prCreatedProcess",
            vars: || json!({"prId": "PR-7"}),
            outputs: || json!({"reviewReceived": {"reviewResult": "approved"}}),
            stages: &[],
        },
        // One review per visit: rejected -> makeChanges -> requestReview again -> approved.
        SimCase {
            name: "pr-created-rejected-then-approved",
            files: PR,
            process: "prCreatedProcess",
            vars: || json!({"prId": "PR-7"}),
            outputs: || json!({"reviewReceived": [{"reviewResult": "rejected"}, {"reviewResult": "approved"}]}),
            stages: &[],
        },
        // Dunning: payment arrives at the first event-based gateway.
        SimCase {
            name: "ordering-paid",
            files: ORDERING,
            process: "ordering-items-workflow",
            vars: || json!({"orderId": "O-1"}),
            outputs: || json!({"payment-received": {"amount": 10}}),
            stages: &[],
        },
        // No payment: PT5M -> friendly reminder -> PT10M -> cancellation (08:15).
        SimCase {
            name: "ordering-unpaid-cancelled",
            files: ORDERING,
            process: "ordering-items-workflow",
            vars: || json!({"orderId": "O-1"}),
            outputs: empty,
            stages: &[],
        },
        // Payment after the reminder (at 08:05).
        SimCase {
            name: "ordering-paid-after-reminder",
            files: ORDERING,
            process: "ordering-items-workflow",
            vars: || json!({"orderId": "O-1"}),
            outputs: || json!({"payment-received-after-reminder": {"amount": 10}}),
            stages: &[],
        },
        // The job completes at once; PT1S fires before P30D and its terminate end event
        // ends the instance (the P30D timer is withdrawn).
        SimCase {
            name: "timer-events-fast-terminates",
            files: &[File::Corpus("zeebe-process-test/test_timer_events.bpmn")],
            process: "Process_Timer_Test_01",
            vars: empty,
            outputs: empty,
            stages: &[],
        },
        // Start output mapping loopAmount = 0; three passes through the service task.
        SimCase {
            name: "looping-servicetask-3",
            files: &[File::Corpus("zeebe-process-test/looping-servicetask.bpmn")],
            process: "looping-servicetask",
            vars: || json!({"totalLoops": 3}),
            outputs: empty,
            stages: &[],
        },
        SimCase {
            name: "call-activity-start-end",
            files: &[
                File::Corpus("zeebe-process-test/call-activity.bpmn"),
                File::Corpus("zeebe-process-test/start-end.bpmn"),
            ],
            process: "call-activity",
            vars: || json!({"x": 1}),
            outputs: empty,
            stages: &[],
        },
        SimCase {
            name: "message-event",
            files: &[File::Corpus("zeebe-process-test/message-event.bpmn")],
            process: "message-event",
            vars: || json!({"correlationKey": "k-1"}),
            outputs: || json!({"Event_1qemgo0": {"answer": 42}}),
            stages: &[],
        },
        // Timer start R/P1D: the first instance starts one day after the epoch.
        SimCase {
            name: "timer-start-daily",
            files: &[File::Corpus(
                "zeebe-process-test/timer-start-event-daily.bpmn",
            )],
            process: "timer-start-event-daily",
            vars: empty,
            outputs: empty,
            stages: &[],
        },
        SimCase {
            name: "link-event",
            files: &[File::Corpus("zeebe/LinkEventTest.testValidEventLink.bpmn")],
            process: "Process_05x4y1u",
            vars: empty,
            outputs: empty,
            stages: &[],
        },
        SimCase {
            name: "event-gateway-msg-b",
            files: &[File::Corpus(
                "lib-bpmn-engine/message-EventBasedGateway.bpmn",
            )],
            process: "message-EventBasedGateway",
            vars: || json!({"key": "k"}),
            outputs: || json!({"msg-b": {"via": "b"}}),
            stages: &[],
        },
        // Timer duration from a FEEL expression (=timeoutValue): no message, timer wins.
        SimCase {
            name: "event-gateway-timer-expression",
            files: &[File::Corpus(
                "lib-bpmn-engine/message-intermediate-timer-event-expression.bpmn",
            )],
            process: "message-intermediate-timer-event",
            vars: || json!({"timeoutValue": "PT2H", "message": "m-1"}),
            outputs: empty,
            stages: &[],
        },
        SimCase {
            name: "timeout-example-answered",
            files: &[File::Corpus("lib-bpmn-engine/timeout-example.bpmn")],
            process: "timeout-example",
            vars: || json!({"key": "q-1"}),
            outputs: || json!({"Event_060k65g": {"answer": "A"}}),
            stages: &[],
        },
        SimCase {
            name: "timeout-example-silence",
            files: &[File::Corpus("lib-bpmn-engine/timeout-example.bpmn")],
            process: "timeout-example",
            vars: || json!({"key": "q-1"}),
            outputs: empty,
            stages: &[],
        },
        // Input mappings are local to the task; output mappings decide what leaves it.
        SimCase {
            name: "service-task-input-output",
            files: &[File::Corpus(
                "lib-bpmn-engine/service-task-input-output.bpmn",
            )],
            process: "service-task-input-output",
            vars: empty,
            outputs: || json!({"service-task-1": {"workerResult": "done"}}),
            stages: &[],
        },
        SimCase {
            name: "user-tasks-with-assignments",
            files: &[File::Corpus(
                "lib-bpmn-engine/user-tasks-with-assignments.bpmn",
            )],
            process: "user-tasks-with-assignments",
            vars: empty,
            outputs: empty,
            stages: &[],
        },
        SimCase {
            name: "user-tasks-with-parallel-gateways",
            files: &[File::Corpus(
                "lib-bpmn-engine/user-tasks-with-parallel-gateways.bpmn",
            )],
            process: "user-tasks-with-assignments",
            vars: empty,
            outputs: empty,
            stages: &[],
        },
        // The clerk decides at once: the event sub-process timer (R1/P5D) and the P7D
        // boundary are withdrawn with the instance.
        SimCase {
            name: "c92-decided-in-time",
            files: C92,
            process: "ManualCheck",
            vars: c92_vars,
            outputs: || json!({"UserTask_DecideOnApplication": {"approved": true}}),
            stages: &[],
        },
        // Collections: no promise on the call; after the P14D grace period the late stage
        // (letters to both parties), no plan, the agency returns the case, legal.
        SimCase {
            name: "collections-legal",
            files: COLLECTIONS,
            process: "consumer-collections",
            vars: collections_vars,
            outputs: || json!({"CallDebtor": {"promiseToPay": false}}),
            stages: &["early", "late", "agency", "legal", "closed"],
        },
        // A promise on the call, broken (the ledger's verdict, not a timer): late stage at
        // once, then as above.
        SimCase {
            name: "collections-promise-broken-legal",
            files: COLLECTIONS,
            process: "consumer-collections",
            vars: collections_vars,
            outputs: || {
                json!({"CallDebtor": {"promiseToPay": true},
                       "PromiseBroken": promise_verdict(false)})
            },
            stages: &["early", "late", "agency", "legal", "closed"],
        },
    ]
}

fn run_sim(case: &SimCase) -> Result<Trace, String> {
    let dep = deploy_files(case.files);
    simulate::run(
        &dep,
        case.process,
        obj((case.vars)()),
        &obj((case.outputs)()),
        epoch(),
    )
    .map_err(|e| format!("{}: simulation failed: {e}", case.name))
}

#[test]
fn golden_simulations() {
    let mut problems = Vec::new();
    for case in sim_cases() {
        let trace = match run_sim(&case) {
            Ok(t) => t,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        if trace.stages != case.stages {
            problems.push(format!(
                "{}: stages {:?}, expected {:?}",
                case.name, trace.stages, case.stages
            ));
        }
        if let Err(e) = check_golden(case.name, &render(&trace.steps, &trace.end)) {
            problems.push(e);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

// ---------------------------------------------------------------------------------------
// Scripted cases
// ---------------------------------------------------------------------------------------

/// One scripted action.
#[derive(Clone)]
enum Act {
    /// Completes the oldest open user task or job of this element.
    Complete(&'static str, Value),
    /// Throws a BPMN error from the oldest open job of this element.
    Throw(&'static str, &'static str),
    /// Fires the earliest pending timer, advancing the clock to its due time.
    Timer,
    /// Publishes a message: name, correlation key, variables.
    Message(&'static str, Option<&'static str>, Value),
}

struct ScriptCase {
    name: &'static str,
    files: &'static [File],
    process: &'static str,
    vars: fn() -> Value,
    script: fn() -> Vec<Act>,
}

fn open_work(dep: &Deployment, st: &Instance, element: &str) -> Option<u64> {
    st.elements.iter().find_map(|(&id, el)| {
        let node = el.node?;
        let n = &dep.processes[el.proc as usize].model.nodes[node as usize];
        let open = matches!(el.wait, Wait::Task | Wait::Job { .. });
        (open && n.id == element).then_some(id)
    })
}

fn run_script(case: &ScriptCase) -> Result<String, String> {
    let dep = deploy_files(case.files);
    let fail = |what: String| format!("{}: {what}", case.name);
    let mut now = epoch();
    let mut steps = Vec::new();
    let absorb = |fx: Vec<Effect>, now: DateTime<Utc>, steps: &mut Vec<TraceStep>| {
        let mut incident = None;
        for e in fx {
            match e {
                Effect::ElementCompleted {
                    element_id,
                    element_type,
                } => steps.push(TraceStep {
                    element: element_id.to_string(),
                    element_type,
                    time: now,
                }),
                Effect::Incident {
                    element_id,
                    message,
                    ..
                } => incident = Some((element_id.to_string(), message)),
                _ => {}
            }
        }
        incident
    };
    let (start_node, _) = simulate::default_start(&dep, case.process)
        .ok_or_else(|| fail("no such process".into()))?;
    let at = match &start_node {
        Some(id) => StartAt::Node(id),
        None => StartAt::None,
    };
    let (mut st, fx) = engine::start(&dep, case.process, at, obj((case.vars)()), now)
        .map_err(|e| fail(format!("start: {e}")))?;
    let mut incident = absorb(fx, now, &mut steps);
    for (i, act) in (case.script)().into_iter().enumerate() {
        if incident.is_some() || st.status != Status::Active {
            return Err(fail(format!(
                "script step {} after the instance stopped",
                i + 1
            )));
        }
        let event = match act {
            Act::Complete(el, vars) => {
                let id = open_work(&dep, &st, el)
                    .ok_or_else(|| fail(format!("step {}: no open task/job '{el}'", i + 1)))?;
                if matches!(st.elements[&id].wait, Wait::Task) {
                    Event::CompleteTask {
                        task: id,
                        variables: obj(vars),
                    }
                } else {
                    Event::CompleteJob {
                        job: id,
                        variables: obj(vars),
                    }
                }
            }
            Act::Throw(el, code) => Event::ThrowError {
                job: open_work(&dep, &st, el)
                    .ok_or_else(|| fail(format!("step {}: no open job '{el}'", i + 1)))?,
                code: code.to_string(),
                message: String::new(),
                variables: Vars::new(),
            },
            Act::Timer => {
                let (timer, due) = st
                    .next_timer()
                    .ok_or_else(|| fail(format!("step {}: no pending timer", i + 1)))?;
                now = now.max(due);
                Event::TimerFired { timer }
            }
            Act::Message(name, key, vars) => Event::Message {
                name: name.to_string(),
                correlation_key: key.map(str::to_string),
                variables: obj(vars),
            },
        };
        let fx = engine::handle(&dep, &mut st, event, now)
            .map_err(|e| fail(format!("step {}: {e}", i + 1)))?;
        incident = absorb(fx, now, &mut steps);
    }
    let end = match (incident, st.status) {
        (Some((element, error)), _) => End::Incident {
            time: now,
            element,
            error,
        },
        (None, Status::Active) => End::Stuck {
            time: now,
            waiting: st
                .waiting(&dep)
                .into_iter()
                .map(|w| format!("{}: {}", w.element_id, w.what))
                .collect(),
        },
        (None, _) => End::Completed {
            time: now,
            variables: st.variables().cloned().unwrap_or_default(),
        },
    };
    Ok(render(&steps, &end))
}

fn script_cases() -> Vec<ScriptCase> {
    vec![
        // Nobody reviews for a day: the P1D timer wins the event-based gateway, the
        // reviewer is reminded, and the gateway waits again; then the review arrives.
        ScriptCase {
            name: "pr-created-reminder",
            files: PR,
            process: "prCreatedProcess",
            vars: || json!({"prId": "PR-7"}),
            script: || {
                vec![
                    Act::Complete("runTests", json!({})),
                    Act::Complete("runTests", json!({})),
                    Act::Complete("runTests", json!({})),
                    Act::Complete("requestReview", json!({})),
                    Act::Timer,
                    Act::Complete("remindReviewer", json!({})),
                    Act::Message(
                        "reviewReceived",
                        Some("PR-7"),
                        json!({"reviewResult": "approved"}),
                    ),
                    Act::Complete("mergeCode", json!({})),
                    Act::Complete("deploySnapshot", json!({})),
                ]
            },
        },
        // The clerk does not decide: R1/P5D starts the non-interrupting acceleration
        // event sub-process on day 5, the P7D boundary interrupts the task on day 7 and
        // the error end event throws '02', which nothing catches: an incident.
        ScriptCase {
            name: "c92-timeout",
            files: C92,
            process: "ManualCheck",
            vars: c92_vars,
            script: || {
                vec![
                    Act::Timer,
                    Act::Complete("SendTask_NotifyCustomerDelay", json!({})),
                    Act::Timer,
                ]
            },
        },
        // Fraud suspected (non-interrupting message event sub-process): the risk team
        // finds no fraud (default flow); the clerk's task stays open meanwhile and then
        // completes the instance.
        ScriptCase {
            name: "c92-fraud-check-no-fraud",
            files: C92,
            process: "ManualCheck",
            vars: c92_vars,
            script: || {
                vec![
                    Act::Message("Message_FraudSuspected", Some("F-1"), json!({})),
                    Act::Complete("UserTask_CheckForFraud", json!({"fraud": false})),
                    Act::Complete("UserTask_DecideOnApplication", json!({"approved": true})),
                ]
            },
        },
        // Fraud found: the error end event inside the event sub-process throws '02';
        // nothing catches it, so the instance stops with an incident there.
        ScriptCase {
            name: "c92-fraud-detected",
            files: C92,
            process: "ManualCheck",
            vars: c92_vars,
            script: || {
                vec![
                    Act::Message("Message_FraudSuspected", Some("F-1"), json!({})),
                    Act::Complete("UserTask_CheckForFraud", json!({"fraud": true})),
                ]
            },
        },
        // A worker throws a BPMN error nothing catches: an incident at the job (Camunda 8
        // raises an UNHANDLED_ERROR_EVENT incident); the event-based gateway is never
        // reached.
        ScriptCase {
            name: "ordering-unhandled-job-error",
            files: ORDERING,
            process: "ordering-items-workflow",
            vars: || json!({"orderId": "O-1"}),
            script: || vec![Act::Throw("validate-order", "OUT_OF_STOCK")],
        },
        // Collections: a promise kept (the ledger's promise-kept, no key) with money still
        // owed: remind and call again; a second promise, and the payment that keeps it pays
        // everything: paid-in-full closes the case from the early stage.
        ScriptCase {
            name: "collections-promise-kept",
            files: COLLECTIONS,
            process: "consumer-collections",
            vars: collections_vars,
            script: || {
                vec![
                    Act::Complete("SendReminder", json!({})),
                    Act::Complete("CallDebtor", json!({"promiseToPay": true})),
                    Act::Message("promise-kept", None, promise_verdict(true)),
                    Act::Complete("SendReminder", json!({})),
                    Act::Complete("CallDebtor", json!({"promiseToPay": true})),
                    Act::Message(
                        "paid-in-full",
                        None,
                        paid_in_full("BANK-2", "1840500.00", "0.00"),
                    ),
                    Act::Complete("CloseCase", json!({})),
                ]
            },
        },
        // The debtor pays what was promised while the call is still open: the interrupting
        // boundary ends the call (its task is withdrawn) and a new reminder goes out.
        ScriptCase {
            name: "collections-kept-during-call",
            files: COLLECTIONS,
            process: "consumer-collections",
            vars: collections_vars,
            script: || {
                vec![
                    Act::Complete("SendReminder", json!({})),
                    Act::Message("promise-kept", None, promise_verdict(true)),
                ]
            },
        },
        // Promise broken -> late; the debtor accepts a plan during the negotiation (the
        // task is withdrawn) and breaks it -> agency; paid in full while the agency works
        // the case (interrupting message event sub-process): the agency task and its P60D
        // recall timer are withdrawn.
        ScriptCase {
            name: "collections-paid-in-full-at-agency",
            files: COLLECTIONS,
            process: "consumer-collections",
            vars: collections_vars,
            script: || {
                vec![
                    Act::Complete("SendReminder", json!({})),
                    Act::Complete("CallDebtor", json!({"promiseToPay": true})),
                    Act::Message("promise-broken", None, promise_verdict(false)),
                    Act::Complete("NotifyParties", json!({})),
                    Act::Complete("NotifyParties", json!({})),
                    Act::Message("plan-accepted", None, plan_message("accepted")),
                    Act::Message("plan-broken", None, plan_message("broken")),
                    Act::Complete("PlaceWithAgency", json!({})),
                    Act::Message(
                        "paid-in-full",
                        Some("L-1001"),
                        paid_in_full("AG-7", "1840500.00", "0.00"),
                    ),
                    Act::Complete("CloseCase", json!({})),
                ]
            },
        },
        // No promise; late: a plan for part of the balance is accepted and completed, so
        // the agent negotiates again; the debtor declines the next plan -> agency, which
        // returns the case -> legal.
        ScriptCase {
            name: "collections-plan-completed-then-declined",
            files: COLLECTIONS,
            process: "consumer-collections",
            vars: collections_vars,
            script: || {
                vec![
                    Act::Complete("SendReminder", json!({})),
                    Act::Complete("CallDebtor", json!({"promiseToPay": false})),
                    Act::Timer,
                    Act::Complete("NotifyParties", json!({})),
                    Act::Complete("NotifyParties", json!({})),
                    Act::Message("plan-accepted", None, plan_message("accepted")),
                    Act::Message("plan-completed", None, plan_message("completed")),
                    Act::Message("plan-declined", None, plan_message("declined")),
                    Act::Complete("PlaceWithAgency", json!({})),
                    Act::Complete("AgencyWork", json!({})),
                    Act::Complete("LegalReview", json!({})),
                    Act::Complete("FileClaim", json!({})),
                ]
            },
        },
        // A settlement accepted in the late stage is paid: its write-off pays the case off
        // (paid-in-full, `writtenOff`) while the process waits for the plan's end.
        ScriptCase {
            name: "collections-settled-in-late",
            files: COLLECTIONS,
            process: "consumer-collections",
            vars: collections_vars,
            script: || {
                vec![
                    Act::Complete("SendReminder", json!({})),
                    Act::Complete("CallDebtor", json!({"promiseToPay": false})),
                    Act::Timer,
                    Act::Complete("NotifyParties", json!({})),
                    Act::Complete("NotifyParties", json!({})),
                    Act::Message("plan-accepted", None, settlement_message("accepted")),
                    Act::Message(
                        "paid-in-full",
                        None,
                        paid_in_full("S-2", "1500000.00", "340500.00"),
                    ),
                    Act::Complete("CloseCase", json!({})),
                ]
            },
        },
        // Collections: no plan agreed in 30 days (negotiation timeout), the agency
        // recovers nothing in 60 days (recall boundary) -> legal.
        ScriptCase {
            name: "collections-agency-recall",
            files: COLLECTIONS,
            process: "consumer-collections",
            vars: collections_vars,
            script: || {
                vec![
                    Act::Complete("SendReminder", json!({})),
                    Act::Complete("CallDebtor", json!({"promiseToPay": false})),
                    Act::Timer,
                    Act::Complete("NotifyParties", json!({})),
                    Act::Complete("NotifyParties", json!({})),
                    Act::Timer,
                    Act::Complete("PlaceWithAgency", json!({})),
                    Act::Timer,
                    Act::Complete("LegalReview", json!({})),
                    Act::Complete("FileClaim", json!({})),
                ]
            },
        },
    ]
}

#[test]
fn golden_scripts() {
    let mut problems = Vec::new();
    for case in script_cases() {
        match run_script(&case) {
            Ok(trace) => {
                if let Err(e) = check_golden(case.name, &trace) {
                    problems.push(e);
                }
            }
            Err(e) => problems.push(e),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Every golden file belongs to a case (a renamed case must not leave a stale file).
#[test]
fn golden_files_have_cases() {
    let names: Vec<String> = sim_cases()
        .iter()
        .map(|c| c.name)
        .chain(script_cases().iter().map(|c| c.name))
        .map(|n| format!("{n}.snap"))
        .collect();
    let Ok(entries) = std::fs::read_dir(golden_dir()) else {
        return;
    };
    let stale: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !names.contains(n))
        .collect();
    assert!(stale.is_empty(), "golden files without a case: {stale:?}");
}

// ---------------------------------------------------------------------------------------
// Deployability of every corpus file
// ---------------------------------------------------------------------------------------

/// `None`: deploys. `Some(code)`: refused, with `code` among the diagnostics.
type Outcome = Option<DiagnosticCode>;

use DiagnosticCode::{
    DanglingReference, DuplicateId, InvalidExpression, InvalidStructure, InvalidTimer,
    MalformedXml, MissingAttribute, NotBpmn, Unsupported,
};

/// The expected outcome of deploying each corpus file on its own
/// (`recobro process check --executable FILE`).
const DEPLOY: &[(&str, Outcome)] = &[
    // --- bpmn-engine (JavaScript engine; conditions and scripts are JavaScript) ---
    // JavaScript script task.
    ("bpmn-engine/bound-error-and-timer.bpmn", Some(Unsupported)),
    // User task + non-interrupting PT0.01S timer into a parallel join: nothing foreign.
    ("bpmn-engine/boundary-non-interupting-timer.bpmn", None),
    // camunda:taskListener.
    ("bpmn-engine/boundary-timeout.bpmn", Some(Unsupported)),
    // Calls 'called-process', which lives in a non-executable pool of the same file.
    ("bpmn-engine/call-activity.bpmn", Some(DanglingReference)),
    // JavaScript conditions (`this.environment...`).
    ("bpmn-engine/loop.bpmn", Some(InvalidExpression)),
    // No conditions; send task + user task with `${variables.user}` JUEL-like outputs
    // (property access parses as simple JUEL). See the report: doubtful.
    ("bpmn-engine/messaging.bpmn", None),
    // JavaScript scripts and conditions.
    ("bpmn-engine/mother-of-all.bpmn", Some(InvalidExpression)),
    ("bpmn-engine/multiple-joins.bpmn", Some(InvalidExpression)),
    // camunda:formData, signal events.
    ("bpmn-engine/signals.bpmn", Some(Unsupported)),
    // Embedded sub-process without a start event.
    ("bpmn-engine/sub-process.bpmn", Some(InvalidStructure)),
    // JavaScript script task and conditions.
    (
        "bpmn-engine/task-multiple-inbound.bpmn",
        Some(InvalidExpression),
    ),
    (
        "bpmn-engine/task-with-multi-instance-loop.bpmn",
        Some(Unsupported),
    ),
    // Timer start cycle R3/PT10H; the `${environment.variables.catchDate}` timeDate is
    // only evaluated at run time (an incident then).
    ("bpmn-engine/timers.bpmn", None),
    // --- bpmn-js (rendering fixtures; not executable, or broken on purpose) ---
    ("bpmn-js/complex.bpmn", None),
    (
        "bpmn-js/error-boundaryEvent-missingAttachToRef.bpmn",
        Some(MissingAttribute),
    ),
    ("bpmn-js/error-duplicate-ids.bpmn", Some(DuplicateId)),
    ("bpmn-js/error-missing-namespace.bpmn", Some(NotBpmn)),
    ("bpmn-js/event-subprocesses-expanded.bpmn", None),
    ("bpmn-js/events-interrupting.bpmn", None),
    // isExecutable="true" with DMN, transactions, complex gateway, signals, ...
    ("bpmn-js/kitchen-sink.bpmn", Some(Unsupported)),
    ("bpmn-js/task-types.bpmn", None),
    // --- camunda7-examples (JUEL, Java delegates) ---
    // Java delegate expressions (`camunda:delegateExpression`) need a Camunda 7 JVM.
    (
        "camunda7-examples/TwitterDemoProcess.bpmn",
        Some(Unsupported),
    ),
    // Java delegates (`camunda:expression="#{service.method(...)}"`).
    (
        "camunda7-examples/camunda-testing-job-announcement-publication.bpmn",
        Some(Unsupported),
    ),
    (
        "camunda7-examples/camunda-testing-job-announcement.bpmn",
        Some(InvalidExpression),
    ),
    // User tasks with error/escalation boundaries: executable as is.
    ("camunda7-examples/invoicePayment.bpmn", None),
    // Nested camunda:inputParameter script.
    ("camunda7-examples/loan-granting.bpmn", Some(Unsupported)),
    ("camunda7-examples/message_start_process.bpmn", None),
    // camunda:formData, execution listener.
    (
        "camunda7-examples/parse-bpmn-process.bpmn",
        Some(Unsupported),
    ),
    // --- lib-bpmn-engine (Zeebe extensions; some conditions lack the FEEL `=`) ---
    // `price > 0` without `=` is a static string in Zeebe, not a condition.
    (
        "lib-bpmn-engine/exclusive-gateway-with-condition-and-default.bpmn",
        Some(InvalidExpression),
    ),
    (
        "lib-bpmn-engine/exclusive-gateway-with-condition.bpmn",
        Some(InvalidExpression),
    ),
    (
        "lib-bpmn-engine/inclusive-gateway-with-condition.bpmn",
        Some(InvalidExpression),
    ),
    ("lib-bpmn-engine/message-EventBasedGateway.bpmn", None),
    // Timer catch event without a value: invalid by design.
    (
        "lib-bpmn-engine/message-intermediate-invalid-timer-event.bpmn",
        Some(InvalidTimer),
    ),
    (
        "lib-bpmn-engine/message-intermediate-timer-event-expression.bpmn",
        None,
    ),
    (
        "lib-bpmn-engine/message-intermediate-timer-event.bpmn",
        None,
    ),
    ("lib-bpmn-engine/ordering-items-workflow.bpmn", None),
    ("lib-bpmn-engine/service-task-input-output.bpmn", None),
    (
        "lib-bpmn-engine/simple-count-loop-with-message.bpmn",
        Some(InvalidExpression),
    ),
    (
        "lib-bpmn-engine/subprocess-with-gateways.bpmn",
        Some(InvalidExpression),
    ),
    ("lib-bpmn-engine/timeout-example.bpmn", None),
    ("lib-bpmn-engine/user-tasks-with-assignments.bpmn", None),
    (
        "lib-bpmn-engine/user-tasks-with-parallel-gateways.bpmn",
        None,
    ),
    // --- miwg (interchange models; most not executable) ---
    ("miwg/Reference/A.1.0.bpmn", None),
    ("miwg/Reference/A.2.0.bpmn", None),
    ("miwg/Reference/A.3.0.bpmn", None),
    ("miwg/Reference/A.4.0.bpmn", None),
    ("miwg/Reference/B.1.0.bpmn", None),
    ("miwg/Reference/B.2.0.bpmn", None),
    // Executable, but its service tasks are implemented by activiti delegates (a vendor
    // namespace Recobro ignores): no job type, so nothing would do their work.
    ("miwg/Reference/C.1.0.bpmn", Some(MissingAttribute)),
    ("miwg/Reference/C.2.0.bpmn", None),
    // Condition `Service Level == 'Premium'` is neither FEEL nor JUEL.
    ("miwg/Reference/C.3.0.bpmn", Some(InvalidExpression)),
    ("miwg/Reference/C.4.0.bpmn", None),
    ("miwg/Reference/C.5.0.bpmn", None),
    ("miwg/Reference/C.6.0.bpmn", None),
    ("miwg/Reference/C.8.0.bpmn", None),
    // `= string(now())` reads the wall clock: refused for determinism.
    ("miwg/Reference/C.9.0.bpmn", Some(InvalidExpression)),
    // Calls requestDocument_en (C.9.1), not in the corpus; deploys with a stub above.
    ("miwg/Reference/C.9.2.bpmn", Some(DanglingReference)),
    ("miwg/exports/ADONIS_17.0/A.1.0-export.bpmn", None),
    ("miwg/exports/ARIS_10.2025.07/A.2.0-export.bpmn", None),
    // ISO-8859-1 bytes in a file declared UTF-8.
    (
        "miwg/exports/GenMyModel_0.47/C.1.0-export.bpmn",
        Some(MalformedXml),
    ),
    (
        "miwg/exports/SAP_Signavio_Process_Manager_19.9.0/B.1.0-export.bpmn",
        None,
    ),
    (
        "miwg/exports/SAP_Signavio_Process_Manager_19.9.0/C.3.0-export.bpmn",
        None,
    ),
    (
        "miwg/exports/Trisotech_Workflow_Modeler_12.6.3/C.6.0-export.bpmn",
        None,
    ),
    // Executable export with message events lacking a message.
    (
        "miwg/exports/Yaoqiang_BPMN_Editor_4.0/C.1.0-export.bpmn",
        Some(MissingAttribute),
    ),
    (
        "miwg/exports/bpmn.io_Camunda_Modeler_18.6.1/A.3.0-export.bpmn",
        Some(MissingAttribute),
    ),
    // Standard loop, signals, conditional events, ...
    (
        "miwg/exports/bpmn.io_Camunda_Modeler_18.6.1/B.2.0-export.bpmn",
        Some(Unsupported),
    ),
    // --- zeebe-process-test (Camunda 8) ---
    ("zeebe-process-test/automated-tests.bpmn", None),
    // Callees are deployed with their callers in the golden traces.
    (
        "zeebe-process-test/call-activity.bpmn",
        Some(DanglingReference),
    ),
    ("zeebe-process-test/looping-servicetask.bpmn", None),
    ("zeebe-process-test/message-event.bpmn", None),
    (
        "zeebe-process-test/pr-created.bpmn",
        Some(DanglingReference),
    ),
    ("zeebe-process-test/start-end.bpmn", None),
    ("zeebe-process-test/test_timer_events.bpmn", None),
    ("zeebe-process-test/timer-start-event-daily.bpmn", None),
    // --- zeebe (model validator fixtures) ---
    // Two link catch events named LinkA: invalid by design.
    (
        "zeebe/LinkEventTest.testInvalidEventLinkMultipleTarget.bpmn",
        Some(InvalidStructure),
    ),
    ("zeebe/LinkEventTest.testValidEventLink.bpmn", None),
    // `today()` reads the wall clock (Camunda 8 accepts it; Recobro refuses on purpose).
    ("zeebe/ModelWalkerTest.bpmn", Some(InvalidExpression)),
    // Default flow on a non-gateway: invalid by design.
    ("zeebe/default-flow.bpmn", Some(InvalidStructure)),
    // Legacy JSONPath mappings (`$.a` -> `$.foo`) deploy as static strings: doubtful.
    ("zeebe/demo-process.bpmn", None),
    // Two timer start events in an embedded sub-process: invalid by design.
    (
        "zeebe/multiple-timer-start-event-sub-process.bpmn",
        Some(InvalidStructure),
    ),
    ("zeebe/non-executable-elements.bpmn", None),
    ("zeebe/signal_start_event.bpmn", Some(Unsupported)),
];

fn corpus_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            corpus_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "bpmn") {
            out.push(path);
        }
    }
}

/// The codes of all diagnostics of deploying one file alone (parse errors included).
fn deploy_codes(xml: &[u8]) -> Vec<DiagnosticCode> {
    let source = Source {
        name: "file",
        xml,
        version: 1,
    };
    match deploy(&[source]) {
        Ok(_) => Vec::new(),
        Err(errs) => errs
            .iter()
            .flat_map(|e| e.diagnostics.0.iter().map(|d| d.code))
            .collect(),
    }
}

#[test]
fn deploy_outcomes() {
    let dir = corpus_dir();
    let mut files = Vec::new();
    corpus_files(&dir, &mut files);
    let mut names: Vec<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(&dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    names.sort();
    let listed: Vec<&str> = DEPLOY.iter().map(|(n, _)| *n).collect();
    let mut problems: Vec<String> = names
        .iter()
        .filter(|n| !listed.contains(&n.as_str()))
        .map(|n| format!("{n}: corpus file missing from the DEPLOY table"))
        .collect();
    for (name, expected) in DEPLOY {
        let Ok(xml) = std::fs::read(dir.join(name)) else {
            problems.push(format!("{name}: listed but not in the corpus"));
            continue;
        };
        let codes = deploy_codes(&xml);
        let ok = match expected {
            None => codes.is_empty(),
            Some(code) => codes.contains(code),
        };
        if !ok {
            problems.push(format!("{name}: expected {expected:?}, got {codes:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Known engine bugs: the correct behaviour, asserted. Ignored until the engine is fixed
// (run with `cargo test -p bpmn -- --ignored`); then drop the `ignore`.
// ---------------------------------------------------------------------------------------

/// FEEL (Camunda 8 / feel-scala, DMN FEEL): a missing variable is `null` and
/// `null = true` is `false`, so `= promiseToPay = true` after a call completed without
/// `promiseToPay` takes the default flow (the grace period). The engine once raised an
/// incident there instead ("equal err 'null' =?= 'true'").
#[test]
fn bug_feel_comparison_with_missing_variable() {
    let dep = deploy_files(COLLECTIONS);
    let vars = json!({"externalRef": "L-1001", "balance": 1840.5, "dpd": 1,
                      "parties": ["debtor", "guarantor"]});
    let outputs = json!({"*": {}});
    let trace = simulate::run(
        &dep,
        "consumer-collections",
        obj(vars),
        &obj(outputs),
        epoch(),
    )
    .unwrap();
    assert!(
        matches!(trace.end, End::Completed { .. }),
        "expected completion, got {:?}",
        trace.end
    );
    assert!(trace.steps.iter().any(|s| s.element == "GracePeriod"));
    assert_eq!(
        trace.steps.last().map(|s| s.element.as_str()),
        Some("ClosedLegal")
    );
    assert_eq!(trace.stages, ["early", "late", "agency", "legal", "closed"]);
}

/// Camunda 8 merges a called process's variables (propagateAllChildVariables) into the
/// call activity's *own* instance and propagates from there: a variable that is local to
/// a multi-instance inner instance (`inputElement`, `loopCounter`) stays local. The
/// engine starts propagation at the call activity's parent (the multi-instance body), so
/// `document` and `loopCounter`, which the child received as copies, leak to the process
/// root. Same for job completion variables (`accept_variables` propagates from the
/// parent, not from the task, so a task's local input-mapped variables never capture
/// them).
#[test]
fn bug_mi_call_activity_leaks_inner_locals() {
    let case = ScriptCase {
        name: "c92-documents",
        files: C92,
        process: "ManualCheck",
        vars: c92_vars,
        script: || {
            vec![
                Act::Message(
                    "Message_DocumentRequested",
                    Some("D-1"),
                    json!({"documents": ["passport", "payslip"]}),
                ),
                Act::Complete("StubRequest", json!({})),
                Act::Complete("StubRequest", json!({})),
                Act::Complete("UserTask_DecideOnApplication", json!({"approved": true})),
            ]
        },
    };
    let trace = run_script(&case).unwrap();
    let end: Value = serde_json::from_str(trace.lines().last().unwrap()).unwrap();
    assert_eq!(end["state"], "completed", "{trace}");
    let vars = end["variables"].as_object().unwrap();
    assert!(
        !vars.contains_key("document") && !vars.contains_key("loopCounter"),
        "inner-instance locals leaked to the root: {vars:?}"
    );
}
