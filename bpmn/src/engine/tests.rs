//! Semantics of each element, one small model at a time.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::compile::{Deployment, Source, deploy};

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">"#;

fn doc(body: &str) -> String {
    format!("{HEAD}\n{body}\n</bpmn:definitions>")
}

fn process(id: &str, body: &str) -> String {
    format!(r#"<bpmn:process id="{id}" isExecutable="true">{body}</bpmn:process>"#)
}

fn dep_of(docs: &[String]) -> Deployment {
    let sources: Vec<Source<'_>> = docs
        .iter()
        .map(|d| Source {
            name: "test.bpmn",
            xml: d.as_bytes(),
            version: 1,
        })
        .collect();
    match deploy(&sources) {
        Ok(d) => d,
        Err(e) => panic!("deploy failed: {e:?}"),
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap()
}

fn vars(v: Value) -> Vars {
    v.as_object().cloned().unwrap_or_default()
}

struct H {
    dep: Deployment,
    st: Instance,
    fx: Vec<Effect>,
    now: DateTime<Utc>,
}

impl H {
    fn new(docs: &[String], process_id: &str, v: Value) -> H {
        let dep = dep_of(docs);
        let (st, fx) = start(&dep, process_id, StartAt::None, vars(v), t0()).unwrap();
        H {
            dep,
            st,
            fx,
            now: t0(),
        }
    }

    fn one(body: &str, v: Value) -> H {
        H::new(&[doc(&process("p", body))], "p", v)
    }

    fn send(&mut self, e: Event) -> Result<Vec<Effect>, EngineError> {
        let fx = handle(&self.dep, &mut self.st, e, self.now)?;
        self.fx.extend(fx.clone());
        Ok(fx)
    }

    fn waiting_on(&self, element: &str, pred: fn(&Wait) -> bool) -> ElemId {
        let found = self.st.elements.iter().find(|(_, e)| {
            pred(&e.wait)
                && e.node.is_some_and(|n| {
                    self.dep.processes[e.proc as usize].model.nodes[n as usize].id == element
                })
        });
        match found {
            Some((&id, _)) => id,
            None => panic!(
                "nothing waits at {element}: {:#?}",
                self.st.waiting(&self.dep)
            ),
        }
    }

    fn task(&self, element: &str) -> ElemId {
        self.waiting_on(element, |w| *w == Wait::Task)
    }

    fn job(&self, element: &str) -> ElemId {
        self.waiting_on(element, |w| matches!(w, Wait::Job { .. }))
    }

    fn complete(&mut self, element: &str, v: Value) {
        let task = self.task(element);
        self.send(Event::CompleteTask {
            task,
            variables: vars(v),
        })
        .unwrap();
    }

    fn complete_job(&mut self, element: &str, v: Value) {
        let job = self.job(element);
        self.send(Event::CompleteJob {
            job,
            variables: vars(v),
        })
        .unwrap();
    }

    fn fire_next_timer(&mut self) {
        let (timer, due) = self.st.next_timer().expect("a pending timer");
        self.now = self.now.max(due);
        self.send(Event::TimerFired { timer }).unwrap();
    }

    fn message(
        &mut self,
        name: &str,
        key: Option<&str>,
        v: Value,
    ) -> Result<Vec<Effect>, EngineError> {
        self.send(Event::Message {
            name: name.into(),
            correlation_key: key.map(str::to_string),
            variables: vars(v),
        })
    }

    fn completed(&self) -> Vec<&str> {
        self.fx
            .iter()
            .filter_map(|e| match e {
                Effect::ElementCompleted { element_id, .. } => Some(&**element_id),
                _ => None,
            })
            .collect()
    }

    fn var(&self, name: &str) -> Value {
        self.st
            .variables()
            .and_then(|v| v.get(name))
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn incidents(&self) -> Vec<&Incident> {
        self.st.incidents.values().collect()
    }
}

fn flow(id: &str, from: &str, to: &str) -> String {
    format!(r#"<bpmn:sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"/>"#)
}

fn cond_flow(id: &str, from: &str, to: &str, cond: &str) -> String {
    format!(
        r#"<bpmn:sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"><bpmn:conditionExpression>{cond}</bpmn:conditionExpression></bpmn:sequenceFlow>"#
    )
}

fn user_task(id: &str, ext: &str) -> String {
    format!(
        r#"<bpmn:userTask id="{id}"><bpmn:extensionElements>{ext}</bpmn:extensionElements></bpmn:userTask>"#
    )
}

fn service(id: &str, job_type: &str) -> String {
    format!(
        r#"<bpmn:serviceTask id="{id}"><bpmn:extensionElements><zeebe:taskDefinition type="{job_type}"/></bpmn:extensionElements></bpmn:serviceTask>"#
    )
}

fn timer_catch(id: &str, duration: &str) -> String {
    format!(
        r#"<bpmn:intermediateCatchEvent id="{id}"><bpmn:timerEventDefinition><bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#
    )
}

const START: &str = r#"<bpmn:startEvent id="s"/>"#;
const END: &str = r#"<bpmn:endEvent id="e"/>"#;

#[test]
fn user_task_carries_assignment_and_completes_the_instance() {
    let body = [
        START,
        &user_task(
            "Call",
            r#"<zeebe:assignmentDefinition assignee="= owner" candidateGroups="early, late"/>
               <zeebe:priorityDefinition priority="= if balance > 1000 then 80 else 40"/>
               <zeebe:taskSchedule dueDate="2026-01-06T17:00:00Z"/>"#,
        ),
        END,
        &flow("f1", "s", "Call"),
        &flow("f2", "Call", "e"),
    ]
    .concat();
    let mut h = H::one(&body, json!({"owner": "ana", "balance": 2000}));
    let spec =
        h.fx.iter()
            .find_map(|e| match e {
                Effect::CreateTask(t) => Some(t.clone()),
                _ => None,
            })
            .expect("task created");
    assert_eq!(spec.assignee.as_deref(), Some("ana"));
    assert_eq!(spec.candidate_groups, vec!["early", "late"]);
    assert_eq!(spec.priority, 80);
    assert_eq!(spec.due_date.as_deref(), Some("2026-01-06T17:00:00Z"));
    h.complete("Call", json!({"outcome": "promise"}));
    assert_eq!(h.st.status, Status::Completed);
    assert_eq!(h.completed(), ["s", "Call", "e"]);
    assert_eq!(h.var("outcome"), json!("promise"));
    assert!(matches!(h.fx.last(), Some(Effect::Completed { .. })));
}

#[test]
fn exclusive_gateway_takes_first_true_condition_else_default() {
    let body = |extra: &str| {
        [
            START,
            r#"<bpmn:exclusiveGateway id="g" default="fd"/>"#,
            r#"<bpmn:endEvent id="big"/><bpmn:endEvent id="small"/><bpmn:endEvent id="other"/>"#,
            &flow("f0", "s", "g"),
            &cond_flow("f1", "g", "big", "= amount > 1000"),
            &cond_flow("f2", "g", "small", "= amount > 10"),
            &flow("fd", "g", "other"),
            extra,
        ]
        .concat()
    };
    let h = H::one(&body(""), json!({"amount": 5000}));
    assert_eq!(h.completed(), ["s", "g", "big"]);
    let h = H::one(&body(""), json!({"amount": 50}));
    assert_eq!(h.completed(), ["s", "g", "small"]);
    let h = H::one(&body(""), json!({"amount": 1}));
    assert_eq!(h.completed(), ["s", "g", "other"]);
}

#[test]
fn gateway_without_true_condition_raises_incident_resolvable_after_fixing_data() {
    let body = [
        START,
        r#"<bpmn:exclusiveGateway id="g"/>"#,
        END,
        &flow("f0", "s", "g"),
        &cond_flow("f1", "g", "e", "= ok = true"),
    ]
    .concat();
    let mut h = H::one(&body, json!({"ok": false}));
    assert_eq!(h.st.status, Status::Active);
    let inc = h.incidents();
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0].element_id, "g");
    assert!(
        inc[0].message.contains("no default flow"),
        "{}",
        inc[0].message
    );
    let id = *h.st.incidents.keys().next().unwrap();
    h.send(Event::SetVariables {
        variables: vars(json!({"ok": true})),
    })
    .unwrap();
    h.send(Event::ResolveIncident { incident: id }).unwrap();
    assert_eq!(h.st.status, Status::Completed);
    assert!(h.st.incidents.is_empty());
}

#[test]
fn parallel_gateway_splits_and_joins() {
    let body = [
        START,
        r#"<bpmn:parallelGateway id="split"/><bpmn:parallelGateway id="join"/>"#,
        &user_task("A", ""),
        &user_task("B", ""),
        END,
        &flow("f0", "s", "split"),
        &flow("f1", "split", "A"),
        &flow("f2", "split", "B"),
        &flow("f3", "A", "join"),
        &flow("f4", "B", "join"),
        &flow("f5", "join", "e"),
    ]
    .concat();
    let mut h = H::one(&body, json!({}));
    h.complete("B", json!({}));
    assert_eq!(h.st.status, Status::Active, "join waits for A");
    assert!(!h.completed().contains(&"join"));
    h.complete("A", json!({}));
    assert_eq!(h.st.status, Status::Completed);
    assert_eq!(h.completed().iter().filter(|e| **e == "join").count(), 1);
}

#[test]
fn inclusive_gateway_joins_only_the_branches_taken() {
    let body = [
        START,
        r#"<bpmn:inclusiveGateway id="split"/><bpmn:inclusiveGateway id="join"/>"#,
        &user_task("Sms", ""),
        &user_task("Mail", ""),
        &user_task("Letter", ""),
        END,
        &flow("f0", "s", "split"),
        &cond_flow("f1", "split", "Sms", "= sms"),
        &cond_flow("f2", "split", "Mail", "= mail"),
        &cond_flow("f3", "split", "Letter", "= letter"),
        &flow("f4", "Sms", "join"),
        &flow("f5", "Mail", "join"),
        &flow("f6", "Letter", "join"),
        &flow("f7", "join", "e"),
    ]
    .concat();
    let mut h = H::one(&body, json!({"sms": true, "mail": false, "letter": true}));
    assert_eq!(
        h.st.elements
            .values()
            .filter(|e| e.wait == Wait::Task)
            .count(),
        2
    );
    h.complete("Sms", json!({}));
    assert_eq!(
        h.st.status,
        Status::Active,
        "the letter branch can still arrive"
    );
    h.complete("Letter", json!({}));
    assert_eq!(h.st.status, Status::Completed);
    assert_eq!(h.completed().iter().filter(|e| **e == "join").count(), 1);
}

#[test]
fn event_based_gateway_first_event_wins() {
    let body = [
        START,
        r#"<bpmn:eventBasedGateway id="g"/>"#,
        r#"<bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>"#,
        &timer_catch("late", "P7D"),
        r#"<bpmn:endEvent id="ePaid"/><bpmn:endEvent id="eLate"/>"#,
        &flow("f0", "s", "g"),
        &flow("f1", "g", "paid"),
        &flow("f2", "g", "late"),
        &flow("f3", "paid", "ePaid"),
        &flow("f4", "late", "eLate"),
    ]
    .concat();
    let msg = r#"<bpmn:message id="m" name="payment"><bpmn:extensionElements><zeebe:subscription correlationKey="= caseId"/></bpmn:extensionElements></bpmn:message>"#;
    let d = doc(&format!("{msg}{}", process("p", &body)));
    let mut h = H::new(std::slice::from_ref(&d), "p", json!({"caseId": "C1"}));
    assert_eq!(h.st.subscriptions.len(), 2);
    let err = h.message("payment", Some("C2"), json!({})).unwrap_err();
    assert!(matches!(err, EngineError::NoSubscription { .. }));
    h.message("payment", Some("C1"), json!({"amount": 10}))
        .unwrap();
    assert_eq!(h.completed(), ["s", "g", "paid", "ePaid"]);
    assert!(h.fx.iter().any(|e| matches!(e, Effect::CancelTimer { .. })));
    assert_eq!(h.var("amount"), json!(10));

    let mut h = H::new(&[d], "p", json!({"caseId": "C1"}));
    h.fire_next_timer();
    assert_eq!(h.now, t0() + Duration::days(7));
    assert_eq!(h.completed(), ["s", "g", "late", "eLate"]);
    assert!(h.st.subscriptions.is_empty());
}

#[test]
fn interrupting_timer_boundary_cancels_the_task() {
    let body = [
        START,
        &user_task("Call", ""),
        r#"<bpmn:boundaryEvent id="t" attachedToRef="Call"><bpmn:timerEventDefinition><bpmn:timeDuration>PT48H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"#,
        r#"<bpmn:endEvent id="done"/><bpmn:endEvent id="timeout"/>"#,
        &flow("f0", "s", "Call"),
        &flow("f1", "Call", "done"),
        &flow("f2", "t", "timeout"),
    ]
    .concat();
    let mut h = H::one(&body, json!({}));
    let task = h.task("Call");
    h.fire_next_timer();
    assert_eq!(h.completed(), ["s", "t", "timeout"]);
    assert!(h.fx.contains(&Effect::CancelTask { task }));
    assert_eq!(h.st.status, Status::Completed);
    let err = h
        .send(Event::CompleteTask {
            task,
            variables: Vars::new(),
        })
        .unwrap_err();
    assert!(matches!(err, EngineError::NotActive(_)));
}

#[test]
fn non_interrupting_timer_cycle_repeats_while_task_stays_open() {
    let body = [
        START,
        &user_task("Call", ""),
        r#"<bpmn:boundaryEvent id="remind" cancelActivity="false" attachedToRef="Call"><bpmn:timerEventDefinition><bpmn:timeCycle>R2/P1D</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>"#,
        &service("Sms", "sms"),
        r#"<bpmn:endEvent id="done"/><bpmn:endEvent id="reminded"/>"#,
        &flow("f0", "s", "Call"),
        &flow("f1", "Call", "done"),
        &flow("f2", "remind", "Sms"),
        &flow("f3", "Sms", "reminded"),
    ]
    .concat();
    let mut h = H::one(&body, json!({}));
    h.fire_next_timer();
    h.complete_job("Sms", json!({}));
    h.fire_next_timer();
    assert_eq!(h.now, t0() + Duration::days(2));
    h.complete_job("Sms", json!({}));
    assert!(h.st.next_timer().is_none(), "R2 fires twice only");
    h.task("Call");
    h.complete("Call", json!({}));
    assert_eq!(h.st.status, Status::Completed);
    assert_eq!(h.completed().iter().filter(|e| **e == "remind").count(), 2);
}

#[test]
fn error_end_in_subprocess_is_caught_by_boundary() {
    let body = [
        START,
        r#"<bpmn:subProcess id="sub"><bpmn:startEvent id="ss"/><bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="err"/></bpmn:endEvent><bpmn:sequenceFlow id="sf" sourceRef="ss" targetRef="fail"/></bpmn:subProcess>"#,
        r#"<bpmn:boundaryEvent id="caught" attachedToRef="sub"><bpmn:errorEventDefinition errorRef="err"/></bpmn:boundaryEvent>"#,
        r#"<bpmn:endEvent id="ok"/><bpmn:endEvent id="handled"/>"#,
        &flow("f0", "s", "sub"),
        &flow("f1", "sub", "ok"),
        &flow("f2", "caught", "handled"),
    ]
    .concat();
    let err = r#"<bpmn:error id="err" errorCode="DISPUTED"/>"#;
    let h = H::new(
        &[doc(&format!("{err}{}", process("p", &body)))],
        "p",
        json!({}),
    );
    assert_eq!(h.st.status, Status::Completed);
    assert_eq!(h.completed(), ["s", "ss", "caught", "handled"]);
}

#[test]
fn error_thrown_by_worker_is_caught_by_code_or_becomes_incident() {
    let body = [
        START,
        &service("Charge", "payments.charge"),
        r#"<bpmn:boundaryEvent id="declined" attachedToRef="Charge"><bpmn:errorEventDefinition errorRef="err"/></bpmn:boundaryEvent>"#,
        r#"<bpmn:endEvent id="ok"/><bpmn:endEvent id="handled"/>"#,
        &flow("f0", "s", "Charge"),
        &flow("f1", "Charge", "ok"),
        &flow("f2", "declined", "handled"),
    ]
    .concat();
    let d = doc(&format!(
        r#"<bpmn:error id="err" errorCode="DECLINED"/>{}"#,
        process("p", &body)
    ));
    let mut h = H::new(std::slice::from_ref(&d), "p", json!({}));
    let job = h.job("Charge");
    h.send(Event::ThrowError {
        job,
        code: "DECLINED".into(),
        message: "card declined".into(),
        variables: Vars::new(),
    })
    .unwrap();
    assert_eq!(h.completed(), ["s", "declined", "handled"]);

    let mut h = H::new(&[d], "p", json!({}));
    let job = h.job("Charge");
    h.send(Event::ThrowError {
        job,
        code: "OTHER".into(),
        message: "boom".into(),
        variables: Vars::new(),
    })
    .unwrap();
    let inc = h.incidents();
    assert_eq!(inc.len(), 1);
    assert!(
        inc[0].message.contains("unhandled error event 'OTHER'"),
        "{}",
        inc[0].message
    );
}

#[test]
fn failed_job_retries_then_incident_then_resolution_reinvokes() {
    let body = [
        START,
        &service("Sms", "sms"),
        END,
        &flow("f0", "s", "Sms"),
        &flow("f1", "Sms", "e"),
    ]
    .concat();
    let mut h = H::one(&body, json!({}));
    let job = h.job("Sms");
    let fx = h
        .send(Event::FailJob {
            job,
            retries: 2,
            message: "gateway down".into(),
            retry_backoff_ms: 30_000,
        })
        .unwrap();
    assert!(matches!(&fx[..], [Effect::InvokeService(j)]
        if j.retries == 2 && j.not_before == Some(t0() + Duration::seconds(30))));
    h.send(Event::FailJob {
        job,
        retries: 0,
        message: "gateway down".into(),
        retry_backoff_ms: 0,
    })
    .unwrap();
    let incident = *h.st.incidents.keys().next().expect("incident");
    assert!(h.incidents()[0].message.contains("gateway down"));
    let err = h
        .send(Event::CompleteJob {
            job,
            variables: Vars::new(),
        })
        .unwrap_err();
    assert_eq!(err, EngineError::UnknownJob(job));
    let fx = h.send(Event::ResolveIncident { incident }).unwrap();
    assert!(matches!(&fx[..], [Effect::InvokeService(j)] if j.job == job));
    h.complete_job("Sms", json!({}));
    assert_eq!(h.st.status, Status::Completed);
}

#[test]
fn escalation_caught_non_interrupting_lets_the_thrower_continue() {
    let body = [
        START,
        r#"<bpmn:subProcess id="sub"><bpmn:startEvent id="ss"/><bpmn:intermediateThrowEvent id="esc"><bpmn:escalationEventDefinition escalationRef="x"/></bpmn:intermediateThrowEvent><bpmn:endEvent id="se"/><bpmn:sequenceFlow id="a" sourceRef="ss" targetRef="esc"/><bpmn:sequenceFlow id="b" sourceRef="esc" targetRef="se"/></bpmn:subProcess>"#,
        r#"<bpmn:boundaryEvent id="notify" cancelActivity="false" attachedToRef="sub"><bpmn:escalationEventDefinition escalationRef="x"/></bpmn:boundaryEvent>"#,
        &user_task("Supervisor", ""),
        r#"<bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>"#,
        &flow("f0", "s", "sub"),
        &flow("f1", "sub", "e"),
        &flow("f2", "notify", "Supervisor"),
        &flow("f3", "Supervisor", "e2"),
    ]
    .concat();
    let d = doc(&format!(
        r#"<bpmn:escalation id="x" escalationCode="VIP"/>{}"#,
        process("p", &body)
    ));
    let mut h = H::new(&[d], "p", json!({}));
    let done = h.completed();
    assert!(done.contains(&"se") && done.contains(&"sub"), "{done:?}");
    h.complete("Supervisor", json!({}));
    assert_eq!(h.st.status, Status::Completed);
}

#[test]
fn link_events_jump_within_the_scope() {
    let body = [
        START,
        r#"<bpmn:intermediateThrowEvent id="goto"><bpmn:linkEventDefinition name="L"/></bpmn:intermediateThrowEvent>"#,
        r#"<bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="L"/></bpmn:intermediateCatchEvent>"#,
        END,
        &flow("f0", "s", "goto"),
        &flow("f1", "land", "e"),
    ]
    .concat();
    let h = H::one(&body, json!({}));
    assert_eq!(h.completed(), ["s", "goto", "land", "e"]);
    assert_eq!(h.st.status, Status::Completed);
}

#[test]
fn terminate_end_event_ends_parallel_branches() {
    let body = [
        START,
        r#"<bpmn:parallelGateway id="split"/>"#,
        &user_task("A", ""),
        r#"<bpmn:endEvent id="kill"><bpmn:terminateEventDefinition/></bpmn:endEvent>"#,
        &flow("f0", "s", "split"),
        &flow("f1", "split", "A"),
        &flow("f2", "split", "kill"),
    ]
    .concat();
    let h = H::one(&body, json!({}));
    assert_eq!(h.st.status, Status::Completed);
    assert!(h.fx.iter().any(|e| matches!(e, Effect::CancelTask { .. })));
}

#[test]
fn event_subprocesses_timer_non_interrupting_and_message_interrupting() {
    let body = [
        START,
        &user_task("Work", ""),
        END,
        &flow("f0", "s", "Work"),
        &flow("f1", "Work", "e"),
        r#"<bpmn:subProcess id="sla" triggeredByEvent="true"><bpmn:startEvent id="slaStart" isInterrupting="false"><bpmn:timerEventDefinition><bpmn:timeDuration>P5D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent><bpmn:userTask id="Escalate"/><bpmn:endEvent id="slaEnd"/><bpmn:sequenceFlow id="a" sourceRef="slaStart" targetRef="Escalate"/><bpmn:sequenceFlow id="b" sourceRef="Escalate" targetRef="slaEnd"/></bpmn:subProcess>"#,
        r#"<bpmn:subProcess id="paid" triggeredByEvent="true"><bpmn:startEvent id="paidStart"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent><bpmn:endEvent id="paidEnd"/><bpmn:sequenceFlow id="c" sourceRef="paidStart" targetRef="paidEnd"/></bpmn:subProcess>"#,
    ]
    .concat();
    let d = doc(&format!(
        r#"<bpmn:message id="m" name="paid-in-full"/>{}"#,
        process("p", &body)
    ));
    let mut h = H::new(&[d], "p", json!({}));
    h.fire_next_timer();
    h.task("Escalate");
    h.task("Work");
    h.message("paid-in-full", None, json!({"paidAt": "today"}))
        .unwrap();
    assert_eq!(h.st.status, Status::Completed);
    assert_eq!(
        h.fx.iter()
            .filter(|e| matches!(e, Effect::CancelTask { .. }))
            .count(),
        2
    );
    assert_eq!(h.var("paidAt"), json!("today"));
    assert!(h.completed().ends_with(&["paidStart", "paidEnd", "paid"]));
}

#[test]
fn error_event_subprocess_catches_worker_error() {
    let body = [
        START,
        &service("Check", "check"),
        END,
        &flow("f0", "s", "Check"),
        &flow("f1", "Check", "e"),
        r#"<bpmn:subProcess id="onErr" triggeredByEvent="true"><bpmn:startEvent id="es"><bpmn:errorEventDefinition/></bpmn:startEvent><bpmn:endEvent id="ee"/><bpmn:sequenceFlow id="a" sourceRef="es" targetRef="ee"/></bpmn:subProcess>"#,
    ]
    .concat();
    let mut h = H::one(&body, json!({}));
    let job = h.job("Check");
    h.send(Event::ThrowError {
        job,
        code: "ANY".into(),
        message: String::new(),
        variables: Vars::new(),
    })
    .unwrap();
    assert_eq!(h.st.status, Status::Completed);
    assert!(h.completed().ends_with(&["es", "ee", "onErr"]));
}

#[test]
fn call_activity_runs_the_called_process_with_a_copy_of_variables() {
    let parent = process(
        "parent",
        &[
            START,
            r#"<bpmn:callActivity id="call"><bpmn:extensionElements><zeebe:calledElement processId="child"/></bpmn:extensionElements></bpmn:callActivity>"#,
            END,
            &flow("f0", "s", "call"),
            &flow("f1", "call", "e"),
        ]
        .concat(),
    );
    let child = process(
        "child",
        &[
            r#"<bpmn:startEvent id="cs"/>"#,
            &user_task("ChildTask", ""),
            r#"<bpmn:endEvent id="ce"/>"#,
            &flow("c0", "cs", "ChildTask"),
            &flow("c1", "ChildTask", "ce"),
        ]
        .concat(),
    );
    let mut h = H::new(
        &[doc(&parent), doc(&child)],
        "parent",
        json!({"debtor": "ana"}),
    );
    let t = h.task("ChildTask");
    assert_eq!(h.st.visible(t).get("debtor"), Some(&json!("ana")));
    h.complete("ChildTask", json!({"result": 7}));
    assert_eq!(h.st.status, Status::Completed);
    assert_eq!(h.var("result"), json!(7));
    assert_eq!(h.completed(), ["s", "cs", "ChildTask", "ce", "call", "e"]);
}

#[test]
fn parallel_multi_instance_collects_outputs_in_order() {
    let mi = r#"<bpmn:serviceTask id="Notify"><bpmn:extensionElements><zeebe:taskDefinition type="letter"/></bpmn:extensionElements><bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="= parties" inputElement="party" outputCollection="sent" outputElement="= party + &quot;:&quot; + status"/></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>"#;
    let body = [
        START,
        mi,
        END,
        &flow("f0", "s", "Notify"),
        &flow("f1", "Notify", "e"),
    ]
    .concat();
    let mut h = H::one(
        &body,
        json!({"parties": ["debtor", "guarantor", "co-debtor"]}),
    );
    let jobs: Vec<(ElemId, String)> =
        h.fx.iter()
            .filter_map(|e| match e {
                Effect::InvokeService(j) => {
                    Some((j.job, j.variables["party"].as_str().unwrap().to_string()))
                }
                _ => None,
            })
            .collect();
    assert_eq!(jobs.len(), 3);
    for (job, party) in jobs.iter().rev() {
        let status = if party == "guarantor" {
            "returned"
        } else {
            "ok"
        };
        h.send(Event::CompleteJob {
            job: *job,
            variables: vars(json!({"status": status})),
        })
        .unwrap();
    }
    assert_eq!(h.st.status, Status::Completed);
    assert_eq!(
        h.var("sent"),
        json!(["debtor:ok", "guarantor:returned", "co-debtor:ok"])
    );
    assert!(h.var("party").is_null(), "the input element stays local");
}

#[test]
fn sequential_multi_instance_with_completion_condition_stops_early() {
    let mi = r#"<bpmn:userTask id="Try"><bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="= phones" inputElement="phone"/></bpmn:extensionElements><bpmn:completionCondition>= reached = true</bpmn:completionCondition></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"#;
    let body = [
        START,
        mi,
        END,
        &flow("f0", "s", "Try"),
        &flow("f1", "Try", "e"),
    ]
    .concat();
    let mut h = H::one(&body, json!({"phones": ["1", "2", "3"], "reached": false}));
    assert_eq!(
        h.st.elements
            .values()
            .filter(|e| e.wait == Wait::Task)
            .count(),
        1
    );
    h.complete("Try", json!({"reached": false}));
    let t = h.task("Try");
    assert_eq!(h.st.visible(t).get("phone"), Some(&json!("2")));
    h.complete("Try", json!({"reached": true}));
    assert_eq!(h.st.status, Status::Completed);
    assert_eq!(
        h.completed().iter().filter(|e| **e == "Try").count(),
        3,
        "2 inner + body"
    );
}

#[test]
fn stage_entered_once_per_change_with_inheritance() {
    let stage = |s: &str| {
        format!(
            r#"<bpmn:extensionElements><zeebe:properties><zeebe:property name="stage" value="{s}"/></zeebe:properties></bpmn:extensionElements>"#
        )
    };
    let body = [
        START.to_string(),
        format!(
            r#"<bpmn:subProcess id="early">{}<bpmn:startEvent id="es"/><bpmn:task id="t1"/><bpmn:endEvent id="ee"/><bpmn:sequenceFlow id="a" sourceRef="es" targetRef="t1"/><bpmn:sequenceFlow id="b" sourceRef="t1" targetRef="ee"/></bpmn:subProcess>"#,
            stage("early")
        ),
        format!(r#"<bpmn:task id="legal">{}</bpmn:task>"#, stage("legal")),
        END.to_string(),
        flow("f0", "s", "early"),
        flow("f1", "early", "legal"),
        flow("f2", "legal", "e"),
    ]
    .concat();
    let h = H::one(&body, json!({}));
    let stages: Vec<&str> =
        h.fx.iter()
            .filter_map(|e| match e {
                Effect::StageEntered { stage, .. } => Some(stage.as_str()),
                _ => None,
            })
            .collect();
    assert_eq!(stages, ["early", "legal"]);
    assert_eq!(h.st.stage.as_deref(), Some("legal"));
}

#[test]
fn script_task_evaluates_feel_into_result_variable() {
    let body = [
        START,
        r#"<bpmn:scriptTask id="calc"><bpmn:extensionElements><zeebe:script expression="= principal + interest" resultVariable="balance"/></bpmn:extensionElements></bpmn:scriptTask>"#,
        END,
        &flow("f0", "s", "calc"),
        &flow("f1", "calc", "e"),
    ]
    .concat();
    let h = H::one(&body, json!({"principal": 1000, "interest": 25.5}));
    assert_eq!(h.var("balance"), json!(1025.5));
}

#[test]
fn send_task_publishes_and_receive_task_waits_for_its_message() {
    let body = [
        START,
        r#"<bpmn:sendTask id="notify" messageRef="out"/>"#,
        r#"<bpmn:receiveTask id="wait" messageRef="in"/>"#,
        END,
        &flow("f0", "s", "notify"),
        &flow("f1", "notify", "wait"),
        &flow("f2", "wait", "e"),
    ]
    .concat();
    let msgs = r#"<bpmn:message id="out" name="placement-offered"/><bpmn:message id="in" name="placement-accepted"><bpmn:extensionElements><zeebe:subscription correlationKey="= caseId"/></bpmn:extensionElements></bpmn:message>"#;
    let mut h = H::new(
        &[doc(&format!("{msgs}{}", process("p", &body)))],
        "p",
        json!({"caseId": "C9"}),
    );
    assert!(
        h.fx.iter().any(
            |e| matches!(e, Effect::PublishMessage { name, .. } if name == "placement-offered")
        )
    );
    assert!(h.fx.iter().any(|e| matches!(e, Effect::SubscribeMessage { name, correlation_key: Some(k), .. } if name == "placement-accepted" && k == "C9")));
    h.message("placement-accepted", Some("C9"), json!({"agency": "A1"}))
        .unwrap();
    assert_eq!(h.st.status, Status::Completed);
    assert_eq!(h.var("agency"), json!("A1"));
}

#[test]
fn input_and_output_mappings_scope_variables() {
    let task = r#"<bpmn:serviceTask id="Quote"><bpmn:extensionElements><zeebe:taskDefinition type="quote"/><zeebe:ioMapping><zeebe:input source="= balance * 0.9" target="offer"/><zeebe:output source="= accepted" target="offerAccepted"/></zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask>"#;
    let body = [
        START,
        task,
        END,
        &flow("f0", "s", "Quote"),
        &flow("f1", "Quote", "e"),
    ]
    .concat();
    let mut h = H::one(&body, json!({"balance": 100}));
    let spec =
        h.fx.iter()
            .find_map(|e| match e {
                Effect::InvokeService(j) => Some(j.clone()),
                _ => None,
            })
            .unwrap();
    assert_eq!(spec.variables["offer"], json!(90));
    h.complete_job("Quote", json!({"accepted": true, "noise": 1}));
    assert_eq!(h.var("offerAccepted"), json!(true));
    assert!(
        h.var("noise").is_null(),
        "with output mappings only mapped variables leave"
    );
    assert!(h.var("offer").is_null(), "input mappings stay local");
}

#[test]
fn cancel_terminates_everything_and_rejects_later_events() {
    let body = [
        START,
        &user_task("A", ""),
        END,
        &flow("f0", "s", "A"),
        &flow("f1", "A", "e"),
    ]
    .concat();
    let mut h = H::one(&body, json!({}));
    let task = h.task("A");
    let fx = h.send(Event::Cancel).unwrap();
    assert!(fx.contains(&Effect::CancelTask { task }));
    assert!(fx.contains(&Effect::Terminated));
    assert_eq!(h.st.status, Status::Terminated);
    assert!(h.send(Event::Cancel).is_err());
}

#[test]
fn loop_without_wait_state_becomes_an_incident_not_a_hang() {
    let body = [
        START,
        r#"<bpmn:exclusiveGateway id="g"/><bpmn:task id="t"/>"#,
        &flow("f0", "s", "g"),
        &flow("f1", "g", "t"),
        &flow("f2", "t", "g"),
    ]
    .concat();
    let h = H::one(&body, json!({}));
    assert_eq!(h.st.status, Status::Active);
    let inc = h.incidents();
    assert_eq!(inc.len(), 1);
    assert!(
        inc[0].message.contains("without waiting"),
        "{}",
        inc[0].message
    );
}

#[test]
fn rejected_events_leave_state_untouched_and_state_round_trips() {
    let body = [
        START,
        &user_task("A", ""),
        END,
        &flow("f0", "s", "A"),
        &flow("f1", "A", "e"),
    ]
    .concat();
    let mut h = H::one(&body, json!({"x": 1}));
    let before = h.st.clone();
    for e in [
        Event::CompleteTask {
            task: 999,
            variables: Vars::new(),
        },
        Event::CompleteJob {
            job: h.task("A"),
            variables: Vars::new(),
        },
        Event::TimerFired { timer: 1 },
        Event::ResolveIncident { incident: 5 },
        Event::Message {
            name: "nope".into(),
            correlation_key: None,
            variables: Vars::new(),
        },
    ] {
        assert!(h.send(e).is_err());
        assert_eq!(h.st, before);
    }
    let json = serde_json::to_string(&h.st).unwrap();
    let back: Instance = serde_json::from_str(&json).unwrap();
    assert_eq!(back, h.st);
}

#[test]
fn engine_is_deterministic() {
    let run = || {
        let mut h = H::one(
            &[
                START,
                &user_task("A", ""),
                END,
                &flow("f0", "s", "A"),
                &flow("f1", "A", "e"),
            ]
            .concat(),
            json!({}),
        );
        h.complete("A", json!({"k": [1, 2]}));
        (serde_json::to_string(&h.st).unwrap(), format!("{:?}", h.fx))
    };
    assert_eq!(run(), run());
}

#[test]
fn interrupting_message_boundary_cancels_the_activity() {
    let body = [
        START,
        &user_task("Negotiate", ""),
        r#"<bpmn:boundaryEvent id="disputed" attachedToRef="Negotiate"><bpmn:messageEventDefinition messageRef="m"/></bpmn:boundaryEvent>"#,
        r#"<bpmn:endEvent id="done"/><bpmn:endEvent id="paused"/>"#,
        &flow("f0", "s", "Negotiate"),
        &flow("f1", "Negotiate", "done"),
        &flow("f2", "disputed", "paused"),
    ]
    .concat();
    let d = doc(&format!(
        r#"<bpmn:message id="m" name="dispute-received"/>{}"#,
        process("p", &body)
    ));
    let mut h = H::new(&[d], "p", json!({}));
    let task = h.task("Negotiate");
    h.message("dispute-received", None, json!({"reason": "not mine"}))
        .unwrap();
    assert_eq!(h.completed(), ["s", "disputed", "paused"]);
    assert!(h.fx.contains(&Effect::CancelTask { task }));
    assert_eq!(h.var("reason"), json!("not mine"));
}

#[test]
fn timer_values_from_feel_and_dates() {
    let body = [
        START,
        r#"<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>= "P" + string(graceDays) + "D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#,
        r#"<bpmn:intermediateCatchEvent id="until"><bpmn:timerEventDefinition><bpmn:timeDate>2026-02-01T09:00:00+01:00</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#,
        END,
        &flow("f0", "s", "wait"),
        &flow("f1", "wait", "until"),
        &flow("f2", "until", "e"),
    ]
    .concat();
    let mut h = H::one(&body, json!({"graceDays": 3}));
    assert_eq!(h.st.next_timer().unwrap().1, t0() + Duration::days(3));
    h.fire_next_timer();
    assert_eq!(
        h.st.next_timer().unwrap().1,
        Utc.with_ymd_and_hms(2026, 2, 1, 8, 0, 0).unwrap()
    );
    h.fire_next_timer();
    assert_eq!(h.st.status, Status::Completed);
}

#[test]
fn timer_expression_failing_at_runtime_is_an_incident() {
    let body = [
        START,
        &timer_catch("wait", "= days"),
        END,
        &flow("f0", "s", "wait"),
        &flow("f1", "wait", "e"),
    ]
    .concat();
    let h = H::one(&body, json!({"days": 12}));
    let inc = h.incidents();
    assert_eq!(inc.len(), 1);
    assert!(inc[0].message.contains("timer"), "{}", inc[0].message);
}

#[test]
fn camunda_7_dialect_runs_with_juel_conditions() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <process id="c7" isExecutable="true">
    <startEvent id="s"/>
    <userTask id="Review" camunda:candidateGroups="supervisors" camunda:assignee="${owner}"/>
    <exclusiveGateway id="g"/>
    <serviceTask id="Write" camunda:type="external" camunda:topic="write-off"/>
    <endEvent id="kept"/><endEvent id="written"/>
    <sequenceFlow id="f0" sourceRef="s" targetRef="Review"/>
    <sequenceFlow id="f1" sourceRef="Review" targetRef="g"/>
    <sequenceFlow id="f2" sourceRef="g" targetRef="Write"><conditionExpression>${balance &lt; 50 &amp;&amp; !disputed}</conditionExpression></sequenceFlow>
    <sequenceFlow id="f3" sourceRef="g" targetRef="kept"><conditionExpression>${balance &gt;= 50 || disputed}</conditionExpression></sequenceFlow>
    <sequenceFlow id="f4" sourceRef="Write" targetRef="written"/>
  </process>
</definitions>"#;
    let mut h = H::new(
        &[xml.to_string()],
        "c7",
        json!({"owner": "luis", "balance": 20, "disputed": false}),
    );
    let spec = h.fx.iter().find_map(|e| match e {
        Effect::CreateTask(t) => Some(t.clone()),
        _ => None,
    });
    assert_eq!(spec.and_then(|t| t.assignee), Some("luis".to_string()));
    h.complete("Review", json!({}));
    let job_type = h.fx.iter().find_map(|e| match e {
        Effect::InvokeService(j) => Some(j.job_type.clone()),
        _ => None,
    });
    assert_eq!(job_type.as_deref(), Some("write-off"));
    h.complete_job("Write", json!({}));
    assert_eq!(h.completed().last(), Some(&"written"));
}

mod migration {
    use std::collections::BTreeMap;

    use super::*;

    fn v1() -> String {
        doc(&process(
            "p",
            &[
                START,
                &user_task("Call", ""),
                &timer_catch("Wait", "P7D"),
                END,
                &flow("f0", "s", "Call"),
                &flow("f1", "Call", "Wait"),
                &flow("f2", "Wait", "e"),
            ]
            .concat(),
        ))
    }

    fn v2() -> String {
        doc(&process(
            "p",
            &[
                START,
                &user_task("CallDebtor", ""),
                r#"<bpmn:boundaryEvent id="Sla" attachedToRef="CallDebtor"><bpmn:timerEventDefinition><bpmn:timeDuration>P2D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"#,
                &timer_catch("Wait", "P3D"),
                r#"<bpmn:endEvent id="e"/><bpmn:endEvent id="late"/>"#,
                &flow("f0", "s", "CallDebtor"),
                &flow("f1", "CallDebtor", "Wait"),
                &flow("f2", "Wait", "e"),
                &flow("f3", "Sla", "late"),
            ]
            .concat(),
        ))
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn open_task_moves_with_its_id_and_new_boundary_is_armed() {
        let mut h = H::new(&[v1()], "p", json!({}));
        let task = h.task("Call");
        let to = dep_of(&[v2()]);
        let fx = migrate(
            &h.dep,
            &to,
            &mut h.st,
            "p",
            &map(&[("Call", "CallDebtor")]),
            h.now,
        )
        .unwrap();
        assert!(fx.iter().any(
            |e| matches!(e, Effect::ScheduleTimer { element_id, due, .. }
            if &**element_id == "Sla" && *due == t0() + Duration::days(2))
        ));
        h.dep = to;
        assert_eq!(h.task("CallDebtor"), task, "the task keeps its id");
        h.fire_next_timer();
        assert_eq!(h.completed().last(), Some(&"late"));
        assert_eq!(h.st.status, Status::Completed);
    }

    #[test]
    fn changed_timer_is_recomputed_never_silently_kept_or_dropped() {
        let mut h = H::new(&[v1()], "p", json!({}));
        h.complete("Call", json!({}));
        let (old_timer, old_due) = h.st.next_timer().unwrap();
        assert_eq!(old_due, t0() + Duration::days(7));
        let to = dep_of(&[v2()]);
        h.now = t0() + Duration::days(1);
        let fx = migrate(&h.dep, &to, &mut h.st, "p", &BTreeMap::new(), h.now).unwrap();
        assert!(fx.contains(&Effect::CancelTimer { timer: old_timer }));
        let (_, due) = h.st.next_timer().unwrap();
        assert_eq!(due, h.now + Duration::days(3));
    }

    #[test]
    fn unmapped_or_mismatched_elements_are_refused_and_state_is_unchanged() {
        let mut h = H::new(&[v1()], "p", json!({}));
        let before = h.st.clone();
        let to = dep_of(&[v2()]);
        let err = migrate(&h.dep, &to, &mut h.st, "p", &BTreeMap::new(), h.now).unwrap_err();
        assert!(
            matches!(err, MigrationError::MissingTarget { ref from, .. } if from == "Call"),
            "{err}"
        );
        let err = migrate(
            &h.dep,
            &to,
            &mut h.st,
            "p",
            &map(&[("Call", "Wait")]),
            h.now,
        )
        .unwrap_err();
        assert!(matches!(err, MigrationError::KindMismatch { .. }), "{err}");
        let err = migrate(&h.dep, &to, &mut h.st, "nope", &BTreeMap::new(), h.now).unwrap_err();
        assert!(matches!(err, MigrationError::UnknownProcess(_)), "{err}");
        assert_eq!(h.st, before);
    }

    #[test]
    fn a_removed_boundary_needs_an_explicit_empty_mapping() {
        let mut h = H::new(&[v2()], "p", json!({}));
        let back = dep_of(&[v1()]);
        let err = migrate(
            &h.dep,
            &back,
            &mut h.st,
            "p",
            &map(&[("CallDebtor", "Call")]),
            h.now,
        )
        .unwrap_err();
        assert!(
            matches!(err, MigrationError::MissingTarget { ref from, .. } if from == "Sla"),
            "{err}"
        );
        let (timer, _) = h.st.next_timer().unwrap();
        let fx = migrate(
            &h.dep,
            &back,
            &mut h.st,
            "p",
            &map(&[("CallDebtor", "Call"), ("Sla", "")]),
            h.now,
        )
        .unwrap();
        assert!(fx.contains(&Effect::CancelTimer { timer }));
        assert!(h.st.next_timer().is_none());
    }
}
