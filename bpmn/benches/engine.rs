//! Engine throughput: flow-node transitions per second of the pure interpreter.
//!
//! One iteration runs one whole case of `docs/examples/collections.bpmn` through
//! `engine::start` / `engine::handle` with a hand-written driver (complete tasks and jobs,
//! deliver messages, fire timers on a virtual clock). A transition is one
//! `Effect::ElementCompleted`. The baseline is the smallest process (start -> end, two
//! transitions) measured in the same run, so the ratio between them shows what the
//! collections model costs per transition beyond the fixed cost of an instance.
//!
//! `cargo bench -p bpmn` measures; `cargo test -p bpmn --bench engine` (or
//! `cargo test --workspace --all-targets`) runs every scenario once and checks its path.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bpmn::compile::{Deployment, Source, deploy};
use bpmn::engine::{self, Effect, Event, Instance, StartAt, Status, SubscriptionKind};
use bpmn::expr::Vars;
use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

const COLLECTIONS: &str = include_str!("../../docs/examples/collections.bpmn");

const MINIMAL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="minimal" isExecutable="true">
    <bpmn:startEvent id="Start" />
    <bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="End" />
    <bpmn:endEvent id="End" />
  </bpmn:process>
</bpmn:definitions>"#;

/// How one case goes through the collections process. The ledger's messages arrive as
/// the runtime sends them: by name, without a correlation key.
#[derive(Clone, Copy)]
struct Scenario {
    name: &'static str,
    /// The debtor promises to pay on the first call (and breaks the promise, unless the
    /// case is paid off while the process waits for the verdict).
    promise: bool,
    /// Where `paid-in-full` arrives: while the process waits for the promise's verdict
    /// (`AwaitVerdict`), while the agency works the case (`AgencyWork`), or never (`""`,
    /// the 60-day recall timer sends the case to legal).
    paid_at: &'static str,
    /// The element completed last, and the number of transitions.
    end: &'static str,
    transitions: usize,
}

const SCENARIOS: [Scenario; 3] = [
    Scenario {
        name: "paid_early",
        promise: true,
        paid_at: "AwaitVerdict",
        end: "PaidInFull",
        transitions: 10,
    },
    Scenario {
        name: "paid_at_agency",
        promise: true,
        paid_at: "AgencyWork",
        end: "PaidInFull",
        transitions: 23,
    },
    Scenario {
        name: "legal",
        promise: false,
        paid_at: "",
        end: "ClosedLegal",
        transitions: 22,
    },
];

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap()
}

fn deployment(name: &str, xml: &str) -> Deployment {
    deploy(&[Source {
        name,
        xml: xml.as_bytes(),
        version: 1,
    }])
    .unwrap_or_else(|e| panic!("{name} does not deploy: {e:?}"))
}

fn obj(v: Value) -> Vars {
    match v {
        Value::Object(m) => m,
        _ => Vars::new(),
    }
}

/// What one run did: transitions and the last element completed.
struct Outcome {
    transitions: usize,
    last: Arc<str>,
}

/// Open work items: (task or job id, element id, is a user task).
type Work = Vec<(u64, Arc<str>, bool)>;

fn absorb(fx: Vec<Effect>, work: &mut Work, out: &mut Outcome) {
    for e in fx {
        match e {
            Effect::ElementCompleted { element_id, .. } => {
                out.transitions += 1;
                out.last = element_id;
            }
            Effect::CreateTask(t) => work.push((t.task, t.element_id, true)),
            Effect::InvokeService(j) => work.push((j.job, j.element_id, false)),
            Effect::CancelTask { task: id } | Effect::CancelJob { job: id } => {
                work.retain(|w| w.0 != id)
            }
            Effect::Incident { message, .. } => panic!("incident: {message}"),
            _ => {}
        }
    }
}

/// Runs one case of the collections process to its end.
fn run_case(dep: &Deployment, s: Scenario) -> Outcome {
    let vars = obj(json!({
        "externalRef": "L-1", "balance": 1840.5, "dpd": 1, "parties": ["debtor", "guarantor"],
    }));
    let mut now = epoch();
    let mut out = Outcome {
        transitions: 0,
        last: Arc::from(""),
    };
    let mut work = Work::new();
    let (mut st, fx) =
        engine::start(dep, "consumer-collections", StartAt::None, vars, now).unwrap();
    absorb(fx, &mut work, &mut out);
    while st.status == Status::Active {
        let event = next_event(&st, &mut work, s, &mut now);
        let fx = engine::handle(dep, &mut st, event, now).unwrap();
        absorb(fx, &mut work, &mut out);
    }
    out
}

fn next_event(st: &Instance, work: &mut Work, s: Scenario, now: &mut DateTime<Utc>) -> Event {
    // The agency never completes its task: it is paid off there, or recalled.
    let ready = work.iter().position(|(_, el, _)| &**el != "AgencyWork");
    if let Some(i) = ready {
        let (id, element, is_task) = work.remove(i);
        let variables = obj(match &*element {
            "CallDebtor" => json!({"promiseToPay": s.promise}),
            "NotifyParties" => json!({"recipient": "sent"}),
            _ => json!({}),
        });
        return if is_task {
            Event::CompleteTask {
                task: id,
                variables,
            }
        } else {
            Event::CompleteJob { job: id, variables }
        };
    }
    let awaits = |message: &str| {
        st.subscriptions.values().any(
            |sub| matches!(&sub.kind, SubscriptionKind::Message { name, .. } if name == message),
        )
    };
    let message = |name: &str, variables: Value| Event::Message {
        name: name.into(),
        correlation_key: None,
        variables: obj(variables),
    };
    let paid_off = match s.paid_at {
        "AwaitVerdict" => awaits("promise-kept"),
        "AgencyWork" => work.iter().any(|(_, el, _)| &**el == "AgencyWork"),
        _ => false,
    };
    if paid_off {
        return message(
            "paid-in-full",
            json!({"paymentReference": "P-1", "amountPaid": "1840.50", "paidInFull": true}),
        );
    }
    if awaits("promise-broken") {
        return message(
            "promise-broken",
            json!({"promiseId": 1, "promiseKept": false}),
        );
    }
    let (timer, due) = st.next_timer().expect("the case waits for nothing");
    *now = due.max(*now);
    Event::TimerFired { timer }
}

fn run_minimal(dep: &Deployment) -> Outcome {
    let (st, fx) = engine::start(dep, "minimal", StartAt::None, Vars::new(), epoch()).unwrap();
    assert_eq!(st.status, Status::Completed);
    let mut out = Outcome {
        transitions: 0,
        last: Arc::from(""),
    };
    absorb(fx, &mut Work::new(), &mut out);
    out
}

/// Transitions per second of `f` over about `budget`, single-threaded.
fn rate(budget: Duration, mut f: impl FnMut() -> usize) -> f64 {
    let start = Instant::now();
    let mut transitions = 0usize;
    while start.elapsed() < budget {
        for _ in 0..64 {
            transitions += f();
        }
    }
    transitions as f64 / start.elapsed().as_secs_f64()
}

fn bench(c: &mut Criterion) {
    let collections = deployment("collections.bpmn", COLLECTIONS);
    let minimal = deployment("minimal.bpmn", MINIMAL);

    // Every scenario must take the path it claims, in `--test` mode too.
    for s in SCENARIOS {
        let o = run_case(&collections, s);
        assert_eq!(
            (&*o.last, o.transitions),
            (s.end, s.transitions),
            "scenario {}",
            s.name
        );
    }
    let base = run_minimal(&minimal);
    assert_eq!((&*base.last, base.transitions), ("End", 2));

    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(base.transitions as u64));
    g.bench_function("baseline_start_end", |b| {
        b.iter(|| black_box(run_minimal(black_box(&minimal))))
    });
    for s in SCENARIOS {
        g.throughput(Throughput::Elements(s.transitions as u64));
        g.bench_function(format!("collections_{}", s.name), |b| {
            b.iter(|| black_box(run_case(black_box(&collections), s)))
        });
    }
    g.finish();

    // One summary line with the figures the README quotes: all paths mixed, against
    // the baseline, measured back to back in this process.
    let test_mode = std::env::args().any(|a| a == "--test");
    let budget = Duration::from_millis(if test_mode { 10 } else { 3000 });
    let base_rate = rate(budget, || run_minimal(&minimal).transitions);
    let mix_rate = rate(budget, || {
        SCENARIOS
            .iter()
            .map(|&s| run_case(&collections, s).transitions)
            .sum()
    });
    println!(
        "summary: collections (3 paths mixed) {:.0} transitions/s; baseline start->end {:.0} \
         transitions/s; ratio {:.2} (single thread)",
        mix_rate,
        base_rate,
        mix_rate / base_rate
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
