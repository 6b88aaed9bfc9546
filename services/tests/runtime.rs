//! The case runtime end to end over a real database: commands committed with their
//! projections, restart recovery, idempotency, optimistic concurrency, timers.

use chrono::Duration;
use orm::entities::{case_journal, cases, outbox, tasks, timers};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use services::clock::Clock;
use services::error_code::ApiError;
use services::journal::verify_chain;
use services::runtime::RuntimeError;

use crate::support::{clock, on_both, runtime};

pub(crate) const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:message id="m" name="payment-received">
    <bpmn:extensionElements><zeebe:subscription correlationKey="= loanId"/></bpmn:extensionElements>
  </bpmn:message>
  <bpmn:process id="dunning" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:userTask id="Call">
      <bpmn:extensionElements>
        <zeebe:assignmentDefinition candidateGroups="early"/>
        <zeebe:properties><zeebe:property name="stage" value="early"/></zeebe:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="Letter"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:eventBasedGateway id="wait"/>
    <bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="grace"><bpmn:timerEventDefinition><bpmn:timeDuration>P7D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="Agency"><bpmn:extensionElements><zeebe:taskDefinition type="partner.place"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="closed"/><bpmn:endEvent id="placed"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="split"/>
    <bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="Call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="Letter"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Call" targetRef="join"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Letter" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="join" targetRef="wait"/>
    <bpmn:sequenceFlow id="f6" sourceRef="wait" targetRef="paid"/>
    <bpmn:sequenceFlow id="f7" sourceRef="wait" targetRef="grace"/>
    <bpmn:sequenceFlow id="f8" sourceRef="paid" targetRef="closed"/>
    <bpmn:sequenceFlow id="f9" sourceRef="grace" targetRef="Agency"/>
    <bpmn:sequenceFlow id="f10" sourceRef="Agency" targetRef="placed"/>
  </bpmn:process>
</bpmn:definitions>"#;

fn vars(v: Value) -> bpmn::expr::Vars {
    v.as_object().cloned().unwrap_or_default()
}

async fn open_tasks(db: &DatabaseConnection, case_id: &str) -> Vec<tasks::Model> {
    tasks::Entity::find()
        .filter(tasks::Column::CaseId.eq(case_id))
        .filter(tasks::Column::Status.eq("open"))
        .all(db)
        .await
        .unwrap()
}

async fn task_id(db: &DatabaseConnection, case_id: &str, element: &str) -> u64 {
    let t = open_tasks(db, case_id).await;
    t.iter()
        .find(|t| t.element_id == element)
        .map(|t| t.task_id as u64)
        .expect("open task")
}

/// Opens a dunning case and completes its two parallel tasks, so it waits for the
/// payment message or the 7-day timer.
pub(crate) async fn open_to_the_wait(
    rt: &services::runtime::Runtime,
    db: &DatabaseConnection,
    loan: Value,
) -> String {
    let id = rt
        .open_case(
            "acme",
            "dunning",
            None,
            None,
            vars(json!({"loanId": loan})),
            "x",
            None,
        )
        .await
        .unwrap()
        .case_id;
    for element in ["Call", "Letter"] {
        let t = task_id(db, &id, element).await;
        rt.complete_task(&id, t, vars(json!({})), "agent:ana", None)
            .await
            .unwrap();
    }
    id
}

pub(crate) async fn journal(
    db: &DatabaseConnection,
    case_id: &str,
) -> Vec<services::journal::Entry> {
    services::store::Store::new(db.clone())
        .journal(case_id, 0)
        .await
        .unwrap()
}

async fn commands_are_committed_with_projections_and_survive_restart(db: &DatabaseConnection) {
    let clock = clock();
    let rt = runtime(db, clock.clone()).await;
    let deployed = rt
        .deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    assert_eq!((deployed[0].version, deployed[0].created), (1, true));
    let again = rt
        .deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    assert_eq!(
        (again[0].version, again[0].created),
        (1, false),
        "same content, same version"
    );

    let opened = rt
        .open_case(
            "acme",
            "dunning",
            None,
            Some("LOAN-1".into()),
            vars(json!({"loanId": "L1"})),
            "agent:ana",
            None,
        )
        .await
        .unwrap();
    let case_id = opened.case_id.clone();
    assert_eq!(opened.stage.as_deref(), Some("early"));
    let open = open_tasks(db, &case_id).await;
    assert_eq!(open.len(), 2);
    let call = open.iter().find(|t| t.element_id == "Call").unwrap();
    assert_eq!(call.candidate_groups, r#"["early"]"#);
    assert_eq!(call.tenant, "acme");

    let call_id = call.task_id as u64;
    rt.complete_task(
        &case_id,
        call_id,
        vars(json!({"outcome": "no answer"})),
        "agent:ana",
        None,
    )
    .await
    .unwrap();
    let row = cases::Entity::find_by_id(case_id.clone())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.seq, row.status.as_str(), row.stage.as_deref()),
        (2, "active", Some("early"))
    );
    let done = tasks::Entity::find_by_id((case_id.clone(), call.task_id))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (done.status.as_str(), done.completed_by.as_deref()),
        ("completed", Some("agent:ana"))
    );

    // A second runtime on the same database (a restart) sees the same case.
    let before = rt.case(&case_id).await.unwrap().unwrap();
    let rt2 = runtime(db, clock.clone()).await;
    let after = rt2.case(&case_id).await.unwrap().unwrap();
    assert_eq!(before, after);
    let letter = task_id(db, &case_id, "Letter").await;
    rt2.complete_task(&case_id, letter, vars(json!({})), "agent:luis", None)
        .await
        .unwrap();
    assert_eq!(
        timers::Entity::find().count(db).await.unwrap(),
        1,
        "grace timer stored"
    );

    // Completing the same task twice is refused and changes nothing.
    let err = rt2
        .complete_task(&case_id, letter, vars(json!({})), "agent:luis", None)
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "COMMAND_REJECTED", "{err}");
    assert_eq!(journal(db, &case_id).await.len(), 3);

    // The journal is a verifiable chain and a full replay equals the live state.
    let entries = journal(db, &case_id).await;
    assert_eq!(verify_chain(&entries), Ok(()));
    assert_eq!(entries[0].event_type, "CaseOpened");
    assert_eq!(entries[1].actor, "agent:ana");
    let live = rt2.case(&case_id).await.unwrap().unwrap();
    let replayed = rt2.replay(&case_id).await.unwrap().unwrap();
    assert_eq!(live, replayed);
    let check = rt2.check_projection(&case_id).await.unwrap();
    assert_eq!(check.mismatches, Vec::<String>::new());
    // A projection that drifted from the journal is caught.
    let mut row: cases::ActiveModel = cases::Entity::find_by_id(case_id.clone())
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into();
    row.stage = sea_orm::Set(Some("legal".into()));
    sea_orm::ActiveModelTrait::update(row, db).await.unwrap();
    let check = rt2.check_projection(&case_id).await.unwrap();
    assert_eq!(check.mismatches.len(), 1, "{:?}", check.mismatches);
    assert!(
        check.mismatches[0].starts_with("stage: projection has Some(\"legal\")"),
        "{:?}",
        check.mismatches
    );
}
on_both!(
    committed_and_recovered,
    super::commands_are_committed_with_projections_and_survive_restart
);

async fn idempotency_keys_repeat_the_first_answer(db: &DatabaseConnection) {
    let rt = runtime(db, clock()).await;
    rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    let open = || {
        rt.open_case(
            "acme",
            "dunning",
            None,
            None,
            vars(json!({"loanId": "L2"})),
            "api:bank",
            Some("import-42".into()),
        )
    };
    let first = open().await.unwrap();
    let second = open().await.unwrap();
    assert!(!first.repeated && second.repeated);
    assert_eq!(first.case_id, second.case_id);
    assert_eq!(cases::Entity::find().count(db).await.unwrap(), 1);

    let call = task_id(db, &first.case_id, "Call").await;
    let complete = || {
        rt.complete_task(
            &first.case_id,
            call,
            vars(json!({})),
            "agent:ana",
            Some("click-1".into()),
        )
    };
    let a = complete().await.unwrap();
    let b = complete().await.unwrap();
    assert_eq!((a.seq, b.seq, b.repeated), (2, 2, true));
    assert_eq!(journal(db, &first.case_id).await.len(), 2);
}
on_both!(idempotency, super::idempotency_keys_repeat_the_first_answer);

async fn a_stale_node_loses_the_race_reloads_and_retries(db: &DatabaseConnection) {
    let clock = clock();
    let a = runtime(db, clock.clone()).await;
    let b = runtime(db, clock.clone()).await;
    a.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    let case_id = a
        .open_case(
            "acme",
            "dunning",
            None,
            None,
            vars(json!({"loanId": "L3"})),
            "x",
            None,
        )
        .await
        .unwrap()
        .case_id;
    // Both nodes hold the case in memory at seq 1.
    assert_eq!(b.case(&case_id).await.unwrap().unwrap().seq, 1);
    let call = task_id(db, &case_id, "Call").await;
    let letter = task_id(db, &case_id, "Letter").await;
    a.complete_task(&case_id, call, vars(json!({})), "agent:ana", None)
        .await
        .unwrap();
    // b's state is stale: its append at seq 2 conflicts, it reloads and appends at 3.
    let out = b
        .complete_task(&case_id, letter, vars(json!({})), "agent:luis", None)
        .await
        .unwrap();
    assert_eq!(out.seq, 3);
    let entries = journal(db, &case_id).await;
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(verify_chain(&entries), Ok(()));
    assert!(open_tasks(db, &case_id).await.is_empty());
}
on_both!(
    optimistic_concurrency,
    super::a_stale_node_loses_the_race_reloads_and_retries
);

async fn timers_fire_once_on_the_virtual_clock(db: &DatabaseConnection) {
    let clock = clock();
    let rt = runtime(db, clock.clone()).await;
    rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    let case_id = open_to_the_wait(&rt, db, json!("L4")).await;
    assert_eq!(
        rt.fire_due_timers(100).await.unwrap().fired,
        0,
        "not due yet"
    );
    clock.advance(Duration::days(7));
    assert_eq!(rt.fire_due_timers(100).await.unwrap().fired, 1);
    assert_eq!(
        rt.fire_due_timers(100).await.unwrap().fired,
        0,
        "fired exactly once"
    );
    assert_eq!(timers::Entity::find().count(db).await.unwrap(), 0);
    let jobs = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("job"))
        .all(db)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].payload.contains("partner.place"));
    let fired = journal(db, &case_id)
        .await
        .into_iter()
        .filter(|e| e.event_type == "TimerFired")
        .count();
    assert_eq!(fired, 1);
    assert_eq!(clock.now(), rt.clock().now());
}
on_both!(timer_firing, super::timers_fire_once_on_the_virtual_clock);

async fn messages_find_their_case_by_name_and_key(db: &DatabaseConnection) {
    let rt = runtime(db, clock()).await;
    rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for loan in ["L5", "L6"] {
        let id = open_to_the_wait(&rt, db, json!(loan)).await;
        ids.push(id);
    }
    let out = rt
        .correlate_message(
            None,
            "payment-received",
            Some("L6"),
            vars(json!({"amount": 120})),
            "ledger",
            Some("remittance-77"),
        )
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].case_id, ids[1]);
    assert_eq!(out[0].status, "completed");
    let other = cases::Entity::find_by_id(ids[0].clone())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.status, "active");
    let none = rt
        .correlate_message(
            None,
            "payment-received",
            Some("L6"),
            vars(json!({})),
            "ledger",
            None,
        )
        .await
        .unwrap();
    assert!(none.is_empty(), "the subscription was consumed");
    // The same remittance again, addressed to the case: repeated, not applied twice.
    let again = rt
        .correlate_message(
            Some(&ids[1]),
            "payment-received",
            Some("L6"),
            vars(json!({"amount": 120})),
            "ledger",
            Some("remittance-77"),
        )
        .await
        .unwrap();
    assert!(again[0].repeated);
}
on_both!(messages, super::messages_find_their_case_by_name_and_key);

async fn many_cases_commit_concurrently(db: &DatabaseConnection) {
    let rt = runtime(db, clock()).await;
    rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    let opens = (0..40).map(|i| {
        let rt = rt.clone();
        async move {
            rt.open_case(
                "acme",
                "dunning",
                None,
                Some(format!("LOAN-{i}")),
                vars(json!({"loanId": i})),
                "import",
                None,
            )
            .await
        }
    });
    let results = futures_join_all(opens).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(cases::Entity::find().count(db).await.unwrap(), 40);
    assert_eq!(case_journal::Entity::find().count(db).await.unwrap(), 40);
    let err = rt
        .open_case("acme", "nope", None, None, vars(json!({})), "x", None)
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::UnknownDefinition(_)), "{err}");
}
on_both!(concurrent_cases, super::many_cases_commit_concurrently);

async fn probing_unknown_cases_leaves_no_actors_behind(db: &DatabaseConnection) {
    let rt = runtime(db, clock()).await;
    for i in 0..50 {
        let id = format!("no-such-case-{i}");
        assert_eq!(rt.case(&id).await.unwrap(), None);
        let err = rt
            .complete_task(&id, 1, vars(json!({})), "x", None)
            .await
            .unwrap_err();
        assert_eq!(err.code().as_str(), "CASE_NOT_FOUND", "{err}");
    }
    // Stopping is asynchronous: yield to the arbiter so the actors' `stopped` run.
    for _ in 0..100 {
        if rt.active_actors() == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(rt.active_actors(), 0);
}
on_both!(
    unknown_cases,
    super::probing_unknown_cases_leaves_no_actors_behind
);

async fn a_claimed_timer_is_left_to_its_node_until_the_lease_passes(db: &DatabaseConnection) {
    let clock = clock();
    let rt = runtime(db, clock.clone()).await;
    rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    let id = open_to_the_wait(&rt, db, json!("L10")).await;
    clock.advance(Duration::days(7));
    // Another node claims the due timer, then dies before firing it.
    let now = clock.now();
    let claimed = rt
        .store()
        .claim_due_timers("node-that-died", now, now, now + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        rt.fire_due_timers(10).await.unwrap().fired,
        0,
        "claimed by a live lease"
    );
    clock.advance(Duration::seconds(61));
    assert_eq!(
        rt.fire_due_timers(10).await.unwrap().fired,
        1,
        "the lease passed: taken over"
    );
    let fired = journal(db, &id)
        .await
        .into_iter()
        .filter(|e| e.event_type == "TimerFired")
        .count();
    assert_eq!(fired, 1);
}
on_both!(
    timer_claims,
    super::a_claimed_timer_is_left_to_its_node_until_the_lease_passes
);

async fn the_timer_service_drains_due_timers_after_the_clock_moves(db: &DatabaseConnection) {
    let clock = clock();
    let rt = runtime(db, clock.clone()).await;
    rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    let service = services::runtime::timers::spawn(rt.clone(), Default::default());
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = open_to_the_wait(&rt, db, json!(i)).await;
        ids.push(id);
    }
    assert_eq!(*service.fired.borrow(), 0);
    clock.advance(Duration::days(8));
    let mut fired = service.fired.clone();
    fired.wait_for(|n| *n >= 5).await.unwrap();
    service.stop().await.unwrap();
    for id in &ids {
        let entries = journal(db, id).await;
        assert_eq!(
            entries
                .iter()
                .filter(|e| e.event_type == "TimerFired")
                .count(),
            1
        );
    }
    assert_eq!(timers::Entity::find().count(db).await.unwrap(), 0);
}
on_both!(
    timer_service,
    super::the_timer_service_drains_due_timers_after_the_clock_moves
);

/// Runs futures concurrently on the current actix arbiter and collects their results.
async fn futures_join_all<F: std::future::Future + 'static>(
    futs: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: 'static,
{
    let handles: Vec<_> = futs.map(actix::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task panicked"));
    }
    out
}

const MODEL_V2: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="dunning" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="CallDebtor"/>
    <bpmn:boundaryEvent id="Sla" attachedToRef="CallDebtor">
      <bpmn:timerEventDefinition><bpmn:timeDuration>P2D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="done"/><bpmn:endEvent id="late"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="CallDebtor"/>
    <bpmn:sequenceFlow id="f1" sourceRef="CallDebtor" targetRef="done"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Sla" targetRef="late"/>
  </bpmn:process>
</bpmn:definitions>"#;

const MODEL_V1_SIMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="dunning" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="Call"/>
    <bpmn:endEvent id="done"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="Call"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Call" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>"#;

async fn a_case_migrates_to_a_new_version_and_its_new_timer_is_stored(db: &DatabaseConnection) {
    let clock = clock();
    let rt = runtime(db, clock.clone()).await;
    rt.deploy("v1.bpmn", MODEL_V1_SIMPLE, "supervisor:eva")
        .await
        .unwrap();
    let id = rt
        .open_case("acme", "dunning", None, None, vars(json!({})), "x", None)
        .await
        .unwrap()
        .case_id;
    let v2 = rt
        .deploy("v2.bpmn", MODEL_V2, "supervisor:eva")
        .await
        .unwrap();
    assert_eq!(v2[0].version, 2);
    let mapping = [("Call".to_string(), "CallDebtor".to_string())]
        .into_iter()
        .collect();
    let err = rt
        .migrate_case(
            &id,
            "dunning",
            2,
            Default::default(),
            "supervisor:eva",
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "COMMAND_REJECTED", "{err}");
    let out = rt
        .migrate_case(
            &id,
            "dunning",
            2,
            mapping,
            "supervisor:eva",
            Some("mig-1".into()),
        )
        .await
        .unwrap();
    assert_eq!(out.seq, 2);
    let row = cases::Entity::find_by_id(id.clone())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.process_version, row.definition_id),
        (2, v2[0].definition_id)
    );
    assert_eq!(
        timers::Entity::find().count(db).await.unwrap(),
        1,
        "the new SLA timer is armed"
    );
    clock.advance(Duration::days(2));
    assert_eq!(rt.fire_due_timers(10).await.unwrap().fired, 1);
    let state = rt.case(&id).await.unwrap().unwrap();
    assert_eq!(state.instance.status, bpmn::engine::Status::Completed);
    // A restart replays the migration from the journal.
    let rt2 = runtime(db, clock.clone()).await;
    assert_eq!(
        rt2.check_projection(&id).await.unwrap().mismatches,
        Vec::<String>::new()
    );
    assert_eq!(verify_chain(&journal(db, &id).await), Ok(()));
}
on_both!(
    migration,
    super::a_case_migrates_to_a_new_version_and_its_new_timer_is_stored
);

async fn cancelling_closes_tasks_and_timers(db: &DatabaseConnection) {
    let rt = runtime(db, clock()).await;
    rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    let id = rt
        .open_case(
            "acme",
            "dunning",
            None,
            None,
            vars(json!({"loanId": "L8"})),
            "x",
            None,
        )
        .await
        .unwrap()
        .case_id;
    let out = rt
        .cancel_case(&id, "supervisor:eva", Some("cancel-1".into()))
        .await
        .unwrap();
    assert_eq!(out.status, "cancelled");
    assert!(open_tasks(db, &id).await.is_empty());
    let again = rt
        .cancel_case(&id, "supervisor:eva", Some("cancel-1".into()))
        .await
        .unwrap();
    assert!(again.repeated);
    let err = rt
        .cancel_case(&id, "supervisor:eva", None)
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "COMMAND_REJECTED");
}
on_both!(cancel, super::cancelling_closes_tasks_and_timers);

mod jobs {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use bpmn::expr::Vars;
    use services::runtime::jobs::{self, JobFailure, JobFuture, JobHandler, JobHandlers, JobRun};

    use super::*;

    /// Fails `fail_first` times, then completes with `{"placed": true}`.
    struct Flaky {
        fail_first: u32,
        calls: Arc<AtomicU32>,
    }

    impl JobHandler for Flaky {
        fn run<'a>(&'a self, job: JobRun<'a>) -> JobFuture<'a> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let loan = job.variables.get("loanId").cloned();
            Box::pin(async move {
                if n < self.fail_first {
                    return Err(JobFailure::Retry {
                        message: format!("agency API down ({n})"),
                        backoff: None,
                    });
                }
                let mut out = Vars::new();
                out.insert("placedLoan".into(), loan.unwrap_or_default());
                Ok(out)
            })
        }
    }

    async fn to_the_agency_job(
        rt: &services::runtime::Runtime,
        db: &DatabaseConnection,
        clock: &services::clock::VirtualClock,
    ) -> String {
        rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
            .await
            .unwrap();
        let id = open_to_the_wait(rt, db, json!("L9")).await;
        clock.advance(Duration::days(7));
        assert_eq!(rt.fire_due_timers(10).await.unwrap().fired, 1);
        id
    }

    async fn failing_handler_retries_with_backoff_then_succeeds(db: &DatabaseConnection) {
        let clock = clock();
        let rt = runtime(db, clock.clone()).await;
        let id = to_the_agency_job(&rt, db, &clock).await;
        let calls = Arc::new(AtomicU32::new(0));
        let handlers = JobHandlers::default().with(
            "partner.place",
            Flaky {
                fail_first: 2,
                calls: calls.clone(),
            },
        );
        let dispatcher = jobs::spawn(rt.clone(), handlers, Default::default());
        let mut settled = dispatcher.settled.clone();
        settled.wait_for(|n| *n >= 1).await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the retry waits for its back-off"
        );
        clock.advance(Duration::seconds(10));
        settled.wait_for(|n| *n >= 2).await.unwrap();
        clock.advance(Duration::seconds(20));
        settled.wait_for(|n| *n >= 3).await.unwrap();
        dispatcher.stop().await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let kinds: Vec<String> = journal(db, &id)
            .await
            .into_iter()
            .map(|e| e.event_type)
            .collect();
        assert_eq!(
            kinds[kinds.len() - 3..],
            ["JobFailed", "JobFailed", "JobCompleted"]
        );
        let state = rt.case(&id).await.unwrap().unwrap();
        assert_eq!(state.instance.status, bpmn::engine::Status::Completed);
        assert_eq!(
            state.instance.variables().unwrap()["placedLoan"],
            json!("L9")
        );
    }
    on_both!(
        retry_then_success,
        super::failing_handler_retries_with_backoff_then_succeeds
    );

    async fn exhausted_retries_become_an_incident_on_the_case(db: &DatabaseConnection) {
        let clock = clock();
        let rt = runtime(db, clock.clone()).await;
        let id = to_the_agency_job(&rt, db, &clock).await;
        let calls = Arc::new(AtomicU32::new(0));
        let handlers = JobHandlers::default().with(
            "partner.place",
            Flaky {
                fail_first: u32::MAX,
                calls: calls.clone(),
            },
        );
        let dispatcher = jobs::spawn(rt.clone(), handlers, Default::default());
        let mut settled = dispatcher.settled.clone();
        for n in 1..=3u64 {
            settled.wait_for(|s| *s >= n).await.unwrap();
            clock.advance(Duration::hours(1));
        }
        dispatcher.stop().await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "three attempts (retries=3)"
        );
        let row = cases::Entity::find_by_id(id.clone())
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, "incident");
        let state = rt.case(&id).await.unwrap().unwrap();
        let incident = state.instance.incidents.values().next().expect("incident");
        assert!(
            incident.message.contains("agency API down (2)"),
            "{}",
            incident.message
        );
    }
    on_both!(
        retries_exhausted,
        super::exhausted_retries_become_an_incident_on_the_case
    );

    const SCORING: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="scoring" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:serviceTask id="Score"><bpmn:extensionElements><zeebe:taskDefinition type="bureau.score"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="Score"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Score" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

    /// More jobs waiting for an external worker than the dispatcher reads at once, all
    /// older than a job it handles: the handled job still runs at once, and the others
    /// stay waiting for their worker.
    async fn jobs_for_external_workers_do_not_hold_up_handled_ones(db: &DatabaseConnection) {
        let clock = clock();
        let rt = runtime(db, clock.clone()).await;
        rt.deploy("scoring.bpmn", SCORING, "supervisor:eva")
            .await
            .unwrap();
        let waiting = 130;
        for i in 0..waiting {
            rt.open_case(
                "acme",
                "scoring",
                None,
                Some(format!("S-{i}")),
                Vars::new(),
                "x",
                None,
            )
            .await
            .unwrap();
        }
        let id = to_the_agency_job(&rt, db, &clock).await;
        let calls = Arc::new(AtomicU32::new(0));
        let handlers = JobHandlers::default().with(
            "partner.place",
            Flaky {
                fail_first: 0,
                calls: calls.clone(),
            },
        );
        let config = jobs::JobConfig::default();
        assert!(config.batch < waiting, "older jobs fill a whole batch");
        let dispatcher = jobs::spawn(rt.clone(), handlers, config);
        let mut settled = dispatcher.settled.clone();
        // A guard, not a synchronisation: a starved job fails the test instead of hanging it.
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            settled.wait_for(|n| *n >= 1),
        )
        .await
        .expect("the handled job was never dispatched")
        .unwrap();
        dispatcher.stop().await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let state = rt.case(&id).await.unwrap().unwrap();
        assert_eq!(state.instance.status, bpmn::engine::Status::Completed);
        let undelivered = outbox::Entity::find()
            .filter(outbox::Column::JobType.eq("bureau.score"))
            .filter(outbox::Column::DeliveredAt.is_null())
            .count(db)
            .await
            .unwrap();
        assert_eq!(undelivered, waiting);
    }
    on_both!(
        external_jobs_do_not_starve_handled_ones,
        super::jobs_for_external_workers_do_not_hold_up_handled_ones
    );
}

async fn a_second_case_with_the_same_external_ref_is_refused(db: &DatabaseConnection) {
    let rt = runtime(db, clock()).await;
    rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    let open = || {
        rt.open_case(
            "acme",
            "dunning",
            None,
            Some("LOAN-7".into()),
            vars(json!({"loanId": "L7"})),
            "import",
            None,
        )
    };
    open().await.unwrap();
    // A permanent refusal, not "too contended: retry later" after futile retries.
    let err = open().await.unwrap_err();
    assert_eq!(err.code().as_str(), "DUPLICATE_EXTERNAL_REF", "{err}");
    assert_eq!(cases::Entity::find().count(db).await.unwrap(), 1);
    assert_eq!(case_journal::Entity::find().count(db).await.unwrap(), 1);
}
on_both!(
    duplicate_external_ref,
    super::a_second_case_with_the_same_external_ref_is_refused
);
