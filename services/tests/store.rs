//! The store's two ways of writing a group-committed batch — one statement (PostgreSQL's
//! fast path) and statement by statement — write the same rows, and a batch fails as a
//! whole when one of its case rows has moved.

use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use orm::entities::{
    case_journal, cases, idempotency_keys, message_subscriptions, outbox, task_candidates, tasks,
    timers,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, Statement,
};
use serde_json::json;
use services::case::projection::{CaseDesk, Changes, OutboxRow, TaskRow};
use services::clock::{Clock, VirtualClock};
use services::journal::Entry;
use services::runtime::Runtime;
use services::store::{Commit, Store, StoreError, Writer};

use crate::runtime::MODEL;
use crate::support::{clock, on_both, runtime};

/// A runtime on a virtual clock with the dunning model deployed.
async fn deployed(db: &DatabaseConnection) -> (Arc<VirtualClock>, Runtime) {
    let clock = clock();
    let rt = runtime(db, clock.clone()).await;
    rt.deploy("dunning.bpmn", MODEL, "supervisor:eva")
        .await
        .expect("deploy");
    (clock, rt)
}

/// Opens a case through the runtime; returns its id and sequence.
async fn open(rt: &Runtime, db: &DatabaseConnection, external_ref: &str) -> (String, i64) {
    let out = rt
        .open_case(
            "t1",
            "dunning",
            None,
            Some(external_ref.into()),
            json!({"loanId": external_ref})
                .as_object()
                .cloned()
                .unwrap(),
            "agent",
            None,
        )
        .await
        .expect("open");
    let row = cases::Entity::find_by_id(out.case_id.clone())
        .one(db)
        .await
        .unwrap()
        .expect("case row");
    (out.case_id, row.seq)
}

fn entry(case_id: &str, seq: i64, at: chrono::DateTime<chrono::Utc>) -> Entry {
    Entry {
        case_id: case_id.into(),
        seq,
        event_type: "TestTransition".into(),
        payload: json!({"seq": seq, "note": "ünïcode \"quoted\""}),
        actor: "agent-7".into(),
        recorded_at: at,
        prev_hash: format!("prev-{seq}"),
        hash: format!("hash-{seq}"),
    }
}

/// A transition that adds one of everything a plain commit can add.
fn adding(case_id: &str, seq: i64, at: chrono::DateTime<chrono::Utc>, key: &str) -> Commit {
    let task = |task_id, groups: &[&str], users: &[&str]| TaskRow {
        task_id,
        element_id: "Call".into(),
        name: Some("Call the debtor".into()),
        assignee: users.first().map(|u| u.to_string()),
        candidate_groups: groups.iter().map(|g| g.to_string()).collect(),
        candidate_users: users.iter().map(|u| u.to_string()).collect(),
        priority: 70,
        due_at: Some(at + Duration::days(3)),
        stage: Some("early".into()),
        partner: None,
        amount_due_minor: Some(12_345),
        rank: 987_654,
    };
    Commit {
        entry: entry(case_id, seq, at),
        tenant: "t1".into(),
        opened: None,
        definition: None,
        changes: Changes {
            stage: Some("late".into()),
            status: "active",
            tasks_created: vec![
                task(100, &["early", "late", "early"], &["ann", "ann"]),
                task(101, &[], &[]),
            ],
            timers_added: vec![(200, "grace".into(), at + Duration::days(7))],
            subscriptions_added: vec![(300, "payment-received".into(), Some("L-1".into()))],
            outbox: vec![
                OutboxRow {
                    kind: "job",
                    payload: json!({"type": "partner.place", "b": 2, "a": 1}),
                    not_before: Some(at + Duration::minutes(5)),
                    job_type: Some("partner.place".into()),
                    partner: None,
                },
                OutboxRow {
                    kind: "partner_event",
                    payload: json!({"type": "placement.offered", "partner": "p-1"}),
                    not_before: None,
                    job_type: None,
                    partner: Some("p-1".into()),
                },
            ],
            desk: CaseDesk {
                debtor_id: Some("D-1".into()),
                owner: Some("ann".into()),
                partner: Some("agency-north".into()),
                placement_status: Some("placed"),
                amount_due_minor: Some(12_345),
                currency: Some("EUR".into()),
                delinquent_since: NaiveDate::from_ymd_opt(2025, 11, 30),
            },
            ..Changes::default()
        },
        snapshot: Some(format!("snapshot at {seq}")),
        idempotency: Some((key.into(), r#"{"first":"answer"}"#.into())),
        delivers: None,
    }
}

/// The next transition: closes and removes what [`adding`] added.
fn removing(case_id: &str, seq: i64, at: chrono::DateTime<chrono::Utc>) -> Commit {
    Commit {
        entry: entry(case_id, seq, at),
        tenant: "t1".into(),
        opened: None,
        definition: None,
        changes: Changes {
            stage: None,
            status: "completed",
            tasks_closed: vec![(100, "completed"), (101, "cancelled")],
            timers_removed: vec![200],
            subscriptions_removed: vec![300],
            ..Changes::default()
        },
        snapshot: None,
        idempotency: None,
        delivers: None,
    }
}

/// Everything stored for a case, with the case id (and what embeds it) blanked so two
/// cases' rows can be compared.
async fn rows_of(db: &DatabaseConnection, case_id: &str) -> String {
    let journal = case_journal::Entity::find()
        .filter(case_journal::Column::CaseId.eq(case_id))
        // The opening entries name their external reference and differ by it.
        .filter(case_journal::Column::EventType.eq("TestTransition"))
        .order_by_asc(case_journal::Column::Seq)
        .all(db)
        .await
        .unwrap();
    let mut case = cases::Entity::find_by_id(case_id.to_string())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    case.external_ref = None;
    let tasks = tasks::Entity::find()
        .filter(tasks::Column::CaseId.eq(case_id))
        .order_by_asc(tasks::Column::TaskId)
        .all(db)
        .await
        .unwrap();
    let candidates = task_candidates::Entity::find()
        .filter(task_candidates::Column::CaseId.eq(case_id))
        .order_by_asc(task_candidates::Column::TaskId)
        .order_by_asc(task_candidates::Column::Candidate)
        .all(db)
        .await
        .unwrap();
    let timers = timers::Entity::find()
        .filter(timers::Column::CaseId.eq(case_id))
        .order_by_asc(timers::Column::TimerId)
        .all(db)
        .await
        .unwrap();
    let subscriptions = message_subscriptions::Entity::find()
        .filter(message_subscriptions::Column::CaseId.eq(case_id))
        .order_by_asc(message_subscriptions::Column::SubscriptionId)
        .all(db)
        .await
        .unwrap();
    let outbox: Vec<_> = outbox::Entity::find()
        .filter(outbox::Column::CaseId.eq(case_id))
        .order_by_asc(outbox::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|o| outbox::Model { id: 0, ..o })
        .collect();
    let keys: Vec<_> = idempotency_keys::Entity::find()
        .filter(idempotency_keys::Column::CaseId.eq(case_id))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|k| idempotency_keys::Model {
            key: k.key.replace(case_id, "CASE"),
            ..k
        })
        .collect();
    format!(
        "{journal:#?}\n{case:#?}\n{tasks:#?}\n{candidates:#?}\n{timers:#?}\n{subscriptions:#?}\n{outbox:#?}\n{keys:#?}"
    )
    .replace(case_id, "CASE")
}

async fn both_ways_write_the_same_rows(db: &DatabaseConnection) {
    let (clock, rt) = deployed(db).await;
    let store = Store::new(db.clone());
    let (a1, a2, b1, b2) = (
        open(&rt, db, "L-a1").await,
        open(&rt, db, "L-a2").await,
        open(&rt, db, "L-b1").await,
        open(&rt, db, "L-b2").await,
    );
    let at = clock.now();
    let later = at + Duration::seconds(90);
    let add = |(id, seq): &(String, i64)| adding(id, seq + 1, at, &format!("key-{id}"));
    let remove = |(id, seq): &(String, i64)| removing(id, seq + 2, later);

    // Batches of two, as group commit makes them.
    store.commit_batch(&[add(&a1), add(&a2)]).await.unwrap();
    store
        .commit_batch_in_steps(&[add(&b1), add(&b2)])
        .await
        .unwrap();
    let (added_a, added_b) = (rows_of(db, &a1.0).await, rows_of(db, &b1.0).await);
    assert_eq!(added_a, added_b);
    assert!(added_a.contains("user:ann") && added_a.contains("\"late\""));
    // Group "early" and user "ann" are listed twice but queued once: early, late, user:ann.
    assert_eq!(
        added_a
            .matches("task_id: 100,\n        candidate: ")
            .count(),
        3
    );

    store
        .commit_batch(&[remove(&a1), remove(&a2)])
        .await
        .unwrap();
    store
        .commit_batch_in_steps(&[remove(&b1), remove(&b2)])
        .await
        .unwrap();
    let (removed_a, removed_b) = (rows_of(db, &a1.0).await, rows_of(db, &b2.0).await);
    assert_eq!(removed_a, removed_b);
    assert_ne!(removed_a, added_a);
    assert!(removed_a.contains("completed_by: Some(\n            \"agent-7\""));
    assert!(!removed_a.contains("timer_id: 200"));
    assert!(!removed_a.contains("subscription_id: 300"));
}

on_both!(
    a_batch_writes_the_same_rows_either_way,
    super::both_ways_write_the_same_rows
);

/// A case row that is not at the sequence its entry follows fails the whole batch,
/// even when the journal key itself is free.
async fn a_moved_case_row_fails_the_whole_batch(db: &DatabaseConnection) {
    let (clock, rt) = deployed(db).await;
    let store = Store::new(db.clone());
    let (good, good_seq) = open(&rt, db, "L-good").await;
    let (stale, stale_seq) = open(&rt, db, "L-stale").await;
    let at = clock.now();
    let batch = [
        removing(&good, good_seq + 1, at),
        // Skips a sequence number: (case, seq) is free in the journal, the row is not there.
        removing(&stale, stale_seq + 2, at),
    ];
    for write in [true, false] {
        let res = if write {
            store.commit_batch(&batch).await
        } else {
            store.commit_batch_in_steps(&batch).await
        };
        assert!(
            matches!(&res, Err(StoreError::Conflict(_))),
            "expected a conflict, got {res:?}"
        );
        let entries = case_journal::Entity::find()
            .filter(case_journal::Column::CaseId.is_in([good.clone(), stale.clone()]))
            .filter(case_journal::Column::EventType.eq("TestTransition"))
            .all(db)
            .await
            .unwrap();
        assert!(entries.is_empty(), "a failed batch left {entries:?}");
        let row = cases::Entity::find_by_id(good.clone())
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.seq, good_seq);
    }
    // The good commit alone goes through.
    store
        .commit_batch(&batch[..1])
        .await
        .expect("the good commit alone");
}

on_both!(
    a_moved_case_row_fails_its_batch,
    super::a_moved_case_row_fails_the_whole_batch
);

/// One command may open a task and end it, or set a timer and cancel it (a boundary
/// timer of a task the same command ends): nothing of them stays open or pending.
async fn what_a_commit_adds_and_removes_does_not_stay(db: &DatabaseConnection) {
    let (clock, rt) = deployed(db).await;
    let store = Store::new(db.clone());
    let (case_id, seq) = open(&rt, db, "L-brief").await;
    let at = clock.now();
    let mut commit = adding(&case_id, seq + 1, at, "key-brief");
    commit.changes.tasks_closed.push((101, "cancelled"));
    commit.changes.timers_removed.push(200);
    commit.changes.subscriptions_removed.push(300);
    store.commit_batch(&[commit]).await.unwrap();
    let rows = rows_of(db, &case_id).await;
    assert!(rows.contains("task_id: 101,"), "{rows}");
    assert_eq!(rows.matches("status: \"cancelled\"").count(), 1, "{rows}");
    assert!(!rows.contains("timer_id: 200"), "{rows}");
    assert!(!rows.contains("subscription_id: 300"), "{rows}");
    // Task 100 stays open with its queue rows.
    assert!(
        rows.contains("task_id: 100,\n        candidate: "),
        "{rows}"
    );
}

on_both!(
    what_one_commit_adds_and_removes_does_not_stay,
    super::what_a_commit_adds_and_removes_does_not_stay
);

/// A group-commit writer keeps its connection between batches. When PostgreSQL drops
/// that connection, the next batch fails as a whole (never acknowledged, nothing
/// written) and the one after goes through on a new connection — unless the writer was
/// idle long enough to have the connection checked first, then nothing fails at all.
async fn a_writer_survives_losing_its_connection(db: &DatabaseConnection) {
    let (clock, rt) = deployed(db).await;
    let mut opened = Vec::new();
    for external_ref in ["L-kept-1", "L-kept-2", "L-checked-1", "L-checked-2"] {
        opened.push(open(&rt, db, external_ref).await);
    }
    let at = clock.now();
    let batch = |i: usize| [removing(&opened[i].0, opened[i].1 + 1, at)];
    let store = Store::new(db.clone());
    // Never idle long enough to be checked, and always.
    let mut kept = Writer::checked_after(store.clone(), std::time::Duration::MAX);
    let mut checked = Writer::checked_after(store, std::time::Duration::ZERO);
    kept.commit_batch(&batch(0)).await.expect("a first batch");
    checked
        .commit_batch(&batch(2))
        .await
        .expect("a first batch");

    if db.get_database_backend() == DbBackend::Postgres {
        // Every other session on this test's database, both writers' included; waits
        // until they are gone.
        let killed = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) AS n \
                 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert!(killed >= 2, "the writers' sessions were not found");
        let res = kept.commit_batch(&batch(1)).await;
        assert!(
            matches!(&res, Err(StoreError::Db(_))),
            "expected a connection error, got {res:?}"
        );
        let entries = case_journal::Entity::find()
            .filter(case_journal::Column::CaseId.eq(opened[1].0.clone()))
            .filter(case_journal::Column::EventType.eq("TestTransition"))
            .all(db)
            .await
            .unwrap();
        assert!(entries.is_empty(), "a failed batch left {entries:?}");
    }
    kept.commit_batch(&batch(1))
        .await
        .expect("the writer reconnects");
    checked
        .commit_batch(&batch(3))
        .await
        .expect("a checked connection is replaced before use");
    for (case_id, seq) in &opened {
        let row = cases::Entity::find_by_id(case_id.clone())
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.seq, seq + 1);
    }
}

on_both!(
    a_writer_reconnects_after_losing_its_connection,
    super::a_writer_survives_losing_its_connection
);
