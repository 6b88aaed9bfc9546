//! Property tests of the token interpreter: executable corpus models (and the
//! collections example) driven by random event sequences. At each step one event is
//! picked among those the state makes possible (complete / fail / throw from an open
//! task or job, fire a pending timer, deliver a subscribed message, resolve an incident,
//! set variables, cancel) or among invalid ones (unknown ids, unsubscribed messages).
//!
//! Checked after every event: `handle` does not panic; a rejected event leaves the state
//! byte-identical; the state round-trips through serde_json; structural invariants hold.

use std::collections::BTreeSet;

use bpmn::compile::Deployment;
use bpmn::engine::{self, Event, Instance, StartAt, Status, SubscriptionKind, Wait};
use bpmn::expr::Vars;
use bpmn::simulate;
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::golden::{C92, COLLECTIONS, File, ORDERING, PR, deploy_files, epoch};

/// Models with their process id and start variables.
struct Model {
    files: &'static [File],
    process: &'static str,
    vars: fn() -> Value,
}

fn models() -> Vec<Model> {
    vec![
        Model {
            files: COLLECTIONS,
            process: "consumer-collections",
            vars: || json!({"externalRef": "L-1", "balance": 1840.5, "dpd": 35, "parties": ["a", "b"]}),
        },
        Model {
            files: ORDERING,
            process: "ordering-items-workflow",
            vars: || json!({"orderId": "O-1"}),
        },
        Model {
            files: PR,
            process: "prCreatedProcess",
            vars: || json!({"prId": "PR-1"}),
        },
        Model {
            files: C92,
            process: "ManualCheck",
            vars: || {
                json!({"risks": ["r"], "applicant": {"age": 40, "name": "A"},
                       "documentReferenceId": "D-1", "fraudSuspectedId": "F-1"})
            },
        },
        Model {
            files: &[File::Corpus("zeebe-process-test/looping-servicetask.bpmn")],
            process: "looping-servicetask",
            vars: || json!({"totalLoops": 2}),
        },
        Model {
            files: &[File::Corpus("zeebe-process-test/test_timer_events.bpmn")],
            process: "Process_Timer_Test_01",
            vars: || json!({}),
        },
        Model {
            files: &[
                File::Corpus("zeebe-process-test/call-activity.bpmn"),
                File::Corpus("zeebe-process-test/start-end.bpmn"),
            ],
            process: "call-activity",
            vars: || json!({}),
        },
        Model {
            files: &[File::Corpus("lib-bpmn-engine/timeout-example.bpmn")],
            process: "timeout-example",
            vars: || json!({"key": "k"}),
        },
        Model {
            files: &[File::Corpus(
                "lib-bpmn-engine/message-EventBasedGateway.bpmn",
            )],
            process: "message-EventBasedGateway",
            vars: || json!({"key": "k"}),
        },
        Model {
            files: &[File::Corpus(
                "lib-bpmn-engine/service-task-input-output.bpmn",
            )],
            process: "service-task-input-output",
            vars: || json!({}),
        },
        Model {
            files: &[File::Corpus(
                "lib-bpmn-engine/user-tasks-with-parallel-gateways.bpmn",
            )],
            process: "user-tasks-with-assignments",
            vars: || json!({}),
        },
        Model {
            files: &[File::Corpus(
                "bpmn-engine/boundary-non-interupting-timer.bpmn",
            )],
            process: "Process_1",
            vars: || json!({}),
        },
        Model {
            files: &[File::Corpus("camunda7-examples/invoicePayment.bpmn")],
            process: "embeddedFormsBpmnEvents",
            vars: || json!({}),
        },
        Model {
            files: &[File::Corpus("bpmn-engine/timers.bpmn")],
            process: "Process_0cn5rdh",
            vars: || json!({}),
        },
    ]
}

const KEYS: &[&str] = &[
    "promiseToPay",
    "paid",
    "planAgreed",
    "recovered",
    "reviewResult",
    "fraud",
    "loopAmount",
    "documents",
    "x",
];

fn value(seed: u32) -> Value {
    match seed % 10 {
        0 => json!(true),
        1 => json!(false),
        2 => json!(0),
        3 => json!(2),
        4 => json!("approved"),
        5 => json!("rejected"),
        6 => Value::Null,
        7 => json!([]),
        8 => json!(["a", "b"]),
        _ => json!({"k": 1}),
    }
}

/// Zero to two variables from a small pool, so gateway conditions see both outcomes.
fn vars(seed: u32) -> Vars {
    let mut v = Vars::new();
    for i in 0..(seed % 3) {
        let s = seed.wrapping_mul(2_654_435_761).rotate_left(7 * i);
        v.insert(KEYS[(s as usize) % KEYS.len()].to_string(), value(s >> 8));
    }
    v
}

/// Error codes the deployment can catch or throw.
fn error_codes(dep: &Deployment) -> Vec<String> {
    let mut codes: BTreeSet<String> = dep
        .processes
        .iter()
        .flat_map(|p| p.nodes.iter().filter_map(|n| n.error_code.clone()))
        .collect();
    codes.insert("NO_SUCH_ERROR".into());
    codes.into_iter().collect()
}

/// Events the state makes possible, and a few that must be rejected.
fn candidates(st: &Instance, codes: &[String], a: u32) -> (Vec<Event>, Vec<Event>) {
    let mut out = Vec::new();
    for (&id, el) in &st.elements {
        match &el.wait {
            Wait::Task => out.push(Event::CompleteTask {
                task: id,
                variables: vars(a),
            }),
            Wait::Job { .. } => {
                out.push(Event::CompleteJob {
                    job: id,
                    variables: vars(a),
                });
                out.push(Event::FailJob {
                    job: id,
                    retries: a % 3,
                    message: "boom".into(),
                    retry_backoff_ms: u64::from(a) * 1000,
                });
                out.push(Event::ThrowError {
                    job: id,
                    code: codes[(a as usize) % codes.len()].clone(),
                    message: String::new(),
                    variables: vars(a >> 3),
                });
            }
            _ => {}
        }
    }
    for (&id, sub) in &st.subscriptions {
        match &sub.kind {
            SubscriptionKind::Timer { .. } => out.push(Event::TimerFired { timer: id }),
            SubscriptionKind::Message {
                name,
                correlation_key,
            } => out.push(Event::Message {
                name: name.clone(),
                correlation_key: match a % 3 {
                    0 => None,
                    1 => correlation_key.clone(),
                    _ => Some("wrong-key".into()),
                },
                variables: vars(a >> 2),
            }),
        }
    }
    for &id in st.incidents.keys() {
        out.push(Event::ResolveIncident { incident: id });
    }
    out.push(Event::SetVariables { variables: vars(a) });
    if a.is_multiple_of(16) {
        out.push(Event::Cancel);
    }
    // Invalid: unknown ids, a task completed as a job (and vice versa), unsubscribed
    // messages.
    let valid = out;
    let mut out = Vec::new();
    let unknown = st.next_id + u64::from(a % 5);
    out.push(Event::CompleteTask {
        task: unknown,
        variables: Vars::new(),
    });
    out.push(Event::CompleteJob {
        job: u64::from(a % 4),
        variables: Vars::new(),
    });
    out.push(Event::TimerFired { timer: unknown });
    out.push(Event::ResolveIncident { incident: unknown });
    out.push(Event::FailJob {
        job: unknown,
        retries: 0,
        message: String::new(),
        retry_backoff_ms: u64::MAX,
    });
    out.push(Event::Message {
        name: "no-such-message".into(),
        correlation_key: None,
        variables: Vars::new(),
    });
    (valid, out)
}

fn check_invariants(st: &Instance) -> Result<(), String> {
    let root = st
        .elements
        .get(&st.root)
        .ok_or_else(|| format!("root {} missing", st.root))?;
    if root.parent.is_some() || root.node.is_some() {
        return Err("root has a parent or a node".into());
    }
    let mut ids = BTreeSet::new();
    for (&id, el) in &st.elements {
        ids.insert(id);
        if id != st.root {
            let parent = el.parent.ok_or(format!("element {id} has no parent"))?;
            if !st.elements.contains_key(&parent) {
                return Err(format!("element {id}: parent {parent} missing"));
            }
        }
        let children = st
            .elements
            .values()
            .filter(|c| c.parent == Some(id))
            .count();
        if (el.active as usize) < children {
            return Err(format!(
                "element {id}: active {} < {children} live children",
                el.active
            ));
        }
        if let Wait::Incident { incident } = el.wait
            && st.incidents.get(&incident).map(|i| i.element) != Some(id)
        {
            return Err(format!(
                "element {id} waits on incident {incident}, not open"
            ));
        }
    }
    for (&id, sub) in &st.subscriptions {
        if !ids.insert(id) {
            return Err(format!("subscription id {id} reused"));
        }
        if !st.elements.contains_key(&sub.owner) {
            return Err(format!("subscription {id}: owner {} missing", sub.owner));
        }
    }
    for (&id, inc) in &st.incidents {
        if !ids.insert(id) {
            return Err(format!("incident id {id} reused"));
        }
        match st.elements.get(&inc.element) {
            Some(el) if el.wait == (Wait::Incident { incident: id }) => {}
            _ => {
                return Err(format!(
                    "incident {id}: element {} missing or not waiting on it",
                    inc.element
                ));
            }
        }
    }
    if let Some(&max) = ids.last()
        && max >= st.next_id
    {
        return Err(format!("id {max} not below next_id {}", st.next_id));
    }
    if st.status != Status::Active {
        let open: Vec<u64> = st
            .elements
            .iter()
            .filter(|(_, e)| matches!(e.wait, Wait::Task | Wait::Job { .. }))
            .map(|(&id, _)| id)
            .collect();
        if !open.is_empty() {
            return Err(format!(
                "{:?} instance has open tasks/jobs {open:?}",
                st.status
            ));
        }
        if !st.subscriptions.is_empty() {
            return Err(format!(
                "{:?} instance keeps subscriptions {:?}",
                st.status,
                st.subscriptions.keys().collect::<Vec<_>>()
            ));
        }
    }
    Ok(())
}

fn roundtrip(st: &Instance) -> Result<(), String> {
    let text = serde_json::to_string(st).map_err(|e| e.to_string())?;
    let back: Instance = serde_json::from_str(&text).map_err(|e| format!("deserialize: {e}"))?;
    if &back != st {
        return Err("state changed through serde_json".into());
    }
    Ok(())
}

fn run(model: usize, steps: &[(u16, u16)]) -> Result<(), TestCaseError> {
    let models = models();
    let m = &models[model % models.len()];
    let dep = deploy_files(m.files);
    let codes = error_codes(&dep);
    let (start, _) = simulate::default_start(&dep, m.process).expect("process");
    let at = match &start {
        Some(id) => StartAt::Node(id),
        None => StartAt::None,
    };
    let vars = match (m.vars)() {
        Value::Object(v) => v,
        _ => Vars::new(),
    };
    let mut now: DateTime<Utc> = epoch();
    let (mut st, _) = engine::start(&dep, m.process, at, vars, now)
        .map_err(|e| TestCaseError::fail(format!("start: {e}")))?;
    check_invariants(&st).map_err(|e| TestCaseError::fail(format!("after start: {e}")))?;
    let mut history = Vec::new();
    for &(pick, a) in steps {
        // One event in eight is invalid (or any, once the instance has ended).
        let (valid, invalid) = candidates(&st, &codes, u32::from(a));
        let events = if pick % 8 == 0 || st.status != Status::Active {
            &invalid
        } else {
            &valid
        };
        let event = events[usize::from(pick / 8) % events.len()].clone();
        if let Event::TimerFired { timer } = event {
            if let Some(SubscriptionKind::Timer { due, .. }) =
                st.subscriptions.get(&timer).map(|s| &s.kind)
            {
                now = now.max(*due);
            }
        } else {
            now += Duration::minutes(i64::from(a % 90));
        }
        history.push(format!("{event:?}"));
        let before = serde_json::to_string(&st).unwrap();
        let result = engine::handle(&dep, &mut st, event, now);
        let ctx = || format!("{} events:\n  {}", m.process, history.join("\n  "));
        if let Err(e) = &result {
            prop_assert!(
                !matches!(e, engine::EngineError::CorruptState(_)),
                "corrupt state: {e}; {}",
                ctx()
            );
            let after = serde_json::to_string(&st).unwrap();
            prop_assert_eq!(
                &before,
                &after,
                "rejected event ({}) changed the state; {}",
                e,
                ctx()
            );
        }
        roundtrip(&st).map_err(|e| TestCaseError::fail(format!("{e}; {}", ctx())))?;
        check_invariants(&st).map_err(|e| TestCaseError::fail(format!("{e}; {}", ctx())))?;
    }
    Ok(())
}

proptest! {
    // 48 cases keep debug builds fast; `PROPTEST_CASES=5000` for a deeper search.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_events_keep_the_state_consistent(
        model in 0usize..14,
        steps in proptest::collection::vec((any::<u16>(), any::<u16>()), 0..40),
    ) {
        run(model, &steps)?;
    }
}

/// Every model of the list is exercised (the strategy's model range matches the list).
#[test]
fn every_model_deploys_and_starts() {
    let models = models();
    assert_eq!(models.len(), 14, "update the proptest model range");
    for (i, m) in models.iter().enumerate() {
        run(i, &[]).unwrap_or_else(|e| panic!("{}: {e}", m.process));
    }
}
