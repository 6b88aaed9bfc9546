//! Rows come back as they were written.

use orm::DatabaseConnection;
use orm::entities::{cases, outbox, timers};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};

use crate::constraints::{at, case, definition};
use crate::support::on_both;

async fn case_round_trip(db: &DatabaseConnection) {
    orm::migrate(db).await.unwrap();
    let def = definition(db, "collect").await;
    // Microsecond precision: what PostgreSQL's timestamptz keeps.
    let snapshot = format!(r#"{{"tokens":"{}"}}"#, "é".repeat(600_000));
    let model = cases::Model {
        stage: Some("pre-legal".to_owned()),
        seq: 42,
        snapshot: Some(snapshot),
        snapshot_seq: 40,
        created_at: at(1_700_000_000, 123_456),
        updated_at: at(1_800_000_000, 999_999),
        ..case(
            "7f1c2f3e-0000-4000-8000-000000000001",
            def.id,
            Some("INV-9"),
        )
    };
    cases::Entity::insert(model.clone().into_active_model())
        .exec(db)
        .await
        .unwrap();
    let read = cases::Entity::find_by_id(model.case_id.clone())
        .one(db)
        .await
        .unwrap()
        .expect("case row");
    assert_eq!(read, model);
    assert!(read.snapshot.as_ref().unwrap().len() > 1_000_000);
}
on_both!(cases_row, super::case_round_trip);

async fn outbox_defaults(db: &DatabaseConnection) {
    orm::migrate(db).await.unwrap();
    let row = |seq: i64| outbox::ActiveModel {
        case_id: Set("c1".to_owned()),
        seq: Set(seq),
        kind: Set("webhook".to_owned()),
        payload: Set("{}".to_owned()),
        created_at: Set(at(1_700_000_000, 0)),
        next_attempt_at: Set(at(1_700_000_000, 0)),
        ..Default::default()
    };
    let first = row(1).insert(db).await.unwrap();
    let second = row(2).insert(db).await.unwrap();
    assert_eq!(first.attempts, 0, "database default");
    assert_eq!(first.delivered_at, None);
    assert!(second.id > first.id, "ids increase");
}
on_both!(outbox_row, super::outbox_defaults);

async fn timers_compare_by_time(db: &DatabaseConnection) {
    // SQLite stores timestamps as RFC 3339 text: comparisons must still follow time
    // order across whole seconds, milliseconds and microseconds.
    orm::migrate(db).await.unwrap();
    let dues = [
        at(1_700_000_001, 0),
        at(1_700_000_000, 500_000),
        at(1_700_000_000, 0),
        at(1_700_000_000, 500_001),
        at(1_699_999_999, 999_999),
    ];
    for (timer_id, due_at) in (0..).zip(dues) {
        let row = timers::Model {
            case_id: "c1".to_owned(),
            timer_id,
            element_id: "reminder".to_owned(),
            due_at,
            claimed_by: None,
            claimed_until: None,
        };
        timers::Entity::insert(row.into_active_model())
            .exec(db)
            .await
            .unwrap();
    }
    let due: Vec<i64> = timers::Entity::find()
        .filter(timers::Column::DueAt.lte(at(1_700_000_000, 500_000)))
        .order_by_asc(timers::Column::DueAt)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.timer_id)
        .collect();
    assert_eq!(due, [4, 2, 1]);
}
on_both!(timers_due, super::timers_compare_by_time);
