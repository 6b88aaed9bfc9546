//! Cases in memory: idle actors fall asleep as their serialised state and wake without
//! the database, memory is bounded by `max_resident`, batches of cases are activated by
//! one read, and commands racing the sweeper lose nothing.

use std::sync::Arc;
use std::time::Duration;

use orm::entities::{case_journal, cases};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::json;
use services::clock::VirtualClock;
use services::journal::verify_chain;
use services::runtime::{Runtime, RuntimeConfig};

use crate::runtime::{MODEL, journal, open_to_the_wait};
use crate::support::{clock, on_both};

/// A runtime whose background sweeper never acts during the test: the test sweeps.
async fn runtime(db: &DatabaseConnection, max_resident: usize) -> (Runtime, Arc<VirtualClock>) {
    orm::migrate(db).await.expect("migrate");
    let clock = clock();
    let rt = Runtime::start(
        db.clone(),
        clock.clone(),
        RuntimeConfig {
            hibernate_after: Duration::from_secs(3600),
            passivate_after: Duration::from_secs(3600),
            max_resident,
            ..RuntimeConfig::default()
        },
    );
    rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    (rt, clock)
}

async fn an_asleep_case_wakes_from_memory(db: &DatabaseConnection) {
    let (rt, _) = runtime(db, 1000).await;
    let id = open_to_the_wait(&rt, db, json!("R1")).await;
    let before = rt.case(&id).await.unwrap().unwrap();
    assert_eq!(rt.active_actors(), 1);

    assert_eq!(rt.sweep(Duration::ZERO).await, 1);
    assert_eq!(rt.active_actors(), 0, "no actor left awake");
    assert_eq!(rt.resident_cases(), 1, "but the case is still in memory");

    // With its rows gone from the database, only memory can answer.
    case_journal::Entity::delete_many()
        .filter(case_journal::Column::CaseId.eq(&id))
        .exec(db)
        .await
        .unwrap();
    cases::Entity::delete_by_id(id.clone())
        .exec(db)
        .await
        .unwrap();
    let woken = rt.case(&id).await.unwrap().expect("woken from memory");
    assert_eq!(woken, before);
    assert_eq!(rt.active_actors(), 1);
}
on_both!(wakes_from_memory, super::an_asleep_case_wakes_from_memory);

async fn memory_is_bounded_by_max_resident(db: &DatabaseConnection) {
    let (rt, _) = runtime(db, 5).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(open_to_the_wait(&rt, db, json!(format!("B{i}"))).await);
    }
    assert_eq!(rt.active_actors(), 20);
    rt.sweep(Duration::ZERO).await;
    assert_eq!(rt.active_actors(), 0);
    assert_eq!(rt.resident_cases(), 5, "the 15 longest asleep were dropped");

    // Dropped cases load from the store, with their history intact.
    for id in &ids {
        let state = rt.case(id).await.unwrap().expect("case");
        assert_eq!(state.seq, 3, "{id}");
    }
    rt.sweep(Duration::ZERO).await;
    assert!(rt.resident_cases() <= 5);
}
on_both!(bounded, super::memory_is_bounded_by_max_resident);

async fn prefetch_activates_a_batch_in_one_go(db: &DatabaseConnection) {
    let (rt, _) = runtime(db, 1000).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(open_to_the_wait(&rt, db, json!(format!("P{i}"))).await);
    }
    let mut expected = Vec::new();
    for id in &ids {
        expected.push(rt.case(id).await.unwrap().unwrap());
    }

    // A fresh node has nothing in memory.
    let (fresh, _) = runtime(db, 1000).await;
    let mut asked = ids.clone();
    asked.push("no-such-case".into());
    assert_eq!(fresh.prefetch(&asked).await.unwrap(), 12);
    assert_eq!(fresh.active_actors(), 12, "unknown ids are skipped");
    assert_eq!(
        fresh.prefetch(&ids).await.unwrap(),
        0,
        "resident cases are not read again"
    );
    for (id, want) in ids.iter().zip(&expected) {
        assert_eq!(&fresh.case(id).await.unwrap().unwrap(), want);
    }
}
on_both!(prefetch, super::prefetch_activates_a_batch_in_one_go);

async fn commands_racing_the_sweeper_lose_nothing(db: &DatabaseConnection) {
    let (rt, _) = runtime(db, 3).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(open_to_the_wait(&rt, db, json!(format!("S{i}"))).await);
    }
    let sweeper = {
        let rt = rt.clone();
        actix::spawn(async move {
            let mut slept = 0;
            for _ in 0..200 {
                slept += rt.sweep(Duration::ZERO).await;
                tokio::task::yield_now().await;
            }
            slept
        })
    };
    // Reads and the payment that closes each case, all while cases keep falling asleep.
    let mut sends = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (rt, id) = (rt.clone(), id.clone());
        sends.push(actix::spawn(async move {
            for _ in 0..5 {
                assert_eq!(rt.case(&id).await.unwrap().expect("case").seq, 3);
                tokio::task::yield_now().await;
            }
            let out = rt
                .correlate_message(
                    Some(&id),
                    "payment-received",
                    Some(&format!("S{i}")),
                    Default::default(),
                    "bank",
                    None,
                )
                .await
                .unwrap();
            out[0].seq
        }));
    }
    for s in sends {
        assert_eq!(s.await.unwrap(), 4);
    }
    assert!(
        sweeper.await.unwrap() > 0,
        "the sweeper did put cases to sleep"
    );
    for id in &ids {
        let entries = journal(db, id).await;
        verify_chain(&entries).unwrap();
        assert_eq!(entries.len(), 4, "{id}: opened, two tasks, paid");
        assert_eq!(rt.case(id).await.unwrap().unwrap().seq, 4);
    }
}
on_both!(
    racing_sweeper,
    super::commands_racing_the_sweeper_lose_nothing
);
