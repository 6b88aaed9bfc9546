//! The timer service holds near-term timers in memory: claimed ahead, fired at their due
//! time, claims given back on stop and taken back by a node restarting under its id.

use std::sync::Arc;

use chrono::Duration;
use orm::entities::timers;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::json;
use services::clock::Clock;
use services::runtime::timers::{self as timer_service, TimerConfig};
use services::runtime::{Runtime, RuntimeConfig};

use crate::runtime::{MODEL, journal, open_to_the_wait};
use crate::support::{clock, on_both, runtime};

async fn fired_entries(db: &DatabaseConnection, case_id: &str) -> usize {
    journal(db, case_id)
        .await
        .iter()
        .filter(|e| e.event_type == "TimerFired")
        .count()
}

async fn a_near_term_timer_is_claimed_ahead_and_fired_at_its_due_time(db: &DatabaseConnection) {
    let clock = clock();
    let rt = runtime(db, clock.clone()).await;
    rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    let id = open_to_the_wait(&rt, db, json!("H1")).await;
    let row = timers::Entity::find().one(db).await.unwrap().unwrap();
    let service = timer_service::spawn(rt.clone(), TimerConfig::default());
    let mut held = service.held.clone();
    assert_eq!(*held.borrow(), 0, "a week away: not claimed yet");

    // Two seconds before it falls due it is within the five-second lookahead.
    clock.advance_to(row.due_at - Duration::seconds(2));
    held.wait_for(|n| *n == 1).await.unwrap();
    let claimed = timers::Entity::find().one(db).await.unwrap().unwrap();
    assert_eq!(claimed.claimed_by.as_deref(), Some(rt.node()));
    assert_eq!(
        *service.fired.borrow(),
        0,
        "held, not fired before it is due"
    );
    assert_eq!(fired_entries(db, &id).await, 0);

    clock.advance_to(row.due_at);
    let mut fired = service.fired.clone();
    fired.wait_for(|n| *n == 1).await.unwrap();
    service.stop().await.unwrap();
    assert_eq!(fired_entries(db, &id).await, 1);
    assert_eq!(timers::Entity::find().all(db).await.unwrap(), vec![]);
}
on_both!(
    held_timer,
    super::a_near_term_timer_is_claimed_ahead_and_fired_at_its_due_time
);

async fn stopping_gives_held_claims_back(db: &DatabaseConnection) {
    let clock = clock();
    let rt = runtime(db, clock.clone()).await;
    rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    let id = open_to_the_wait(&rt, db, json!("H2")).await;
    let row = timers::Entity::find().one(db).await.unwrap().unwrap();
    let service = timer_service::spawn(rt.clone(), TimerConfig::default());
    clock.advance_to(row.due_at - Duration::seconds(1));
    let mut held = service.held.clone();
    held.wait_for(|n| *n == 1).await.unwrap();
    service.stop().await.unwrap();

    let after = timers::Entity::find().one(db).await.unwrap().unwrap();
    assert_eq!((after.claimed_by, after.claimed_until), (None, None));
    // Another node fires it as soon as it is due: no lease to wait out.
    clock.advance_to(row.due_at);
    let other = Runtime::start(db.clone(), clock.clone(), RuntimeConfig::default());
    assert_eq!(other.fire_due_timers(10).await.unwrap().fired, 1);
    assert_eq!(fired_entries(db, &id).await, 1);
}
on_both!(stop_releases, super::stopping_gives_held_claims_back);

async fn a_node_restarting_under_its_id_takes_its_claims_back(db: &DatabaseConnection) {
    let clock = clock();
    let rt = runtime(db, clock.clone()).await;
    rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .unwrap();
    let id = open_to_the_wait(&rt, db, json!("H3")).await;
    let row = timers::Entity::find().one(db).await.unwrap().unwrap();
    clock.advance_to(row.due_at);
    // "node-7" claimed the timer and was killed before firing it; its lease runs an hour.
    let now = clock.now();
    let claimed = rt
        .store()
        .claim_due_timers("node-7", now, now, now + Duration::hours(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(rt.fire_due_timers(10).await.unwrap().fired, 0, "leased");

    let restarted = Runtime::start_node(
        db.clone(),
        clock.clone() as Arc<dyn Clock>,
        RuntimeConfig::default(),
        "node-7".into(),
    );
    let service = timer_service::spawn(restarted, TimerConfig::default());
    let mut fired = service.fired.clone();
    fired.wait_for(|n| *n == 1).await.unwrap();
    service.stop().await.unwrap();
    assert_eq!(fired_entries(db, &id).await, 1);
    assert_eq!(
        clock.now(),
        now,
        "fired without the clock passing the lease"
    );
}
on_both!(
    restart_reclaims,
    super::a_node_restarting_under_its_id_takes_its_claims_back
);
