//! Keys and constraints the runtime relies on, on both back-ends.

use chrono::{DateTime, TimeZone, Utc};
use orm::entities::{case_journal, cases, process_definitions};
use orm::{DatabaseConnection, DbErr};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, PaginatorTrait};

use crate::support::on_both;

pub fn at(secs: i64, micros: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, micros * 1000).single().unwrap()
}

pub async fn definition(db: &DatabaseConnection, process_id: &str) -> process_definitions::Model {
    let model = process_definitions::ActiveModel {
        process_id: sea_orm::Set(process_id.to_owned()),
        version: sea_orm::Set(1),
        content_hash: sea_orm::Set("ab".repeat(32)),
        bpmn_xml: sea_orm::Set("<definitions/>".to_owned()),
        deployed_by: sea_orm::Set("admin".to_owned()),
        deployed_at: sea_orm::Set(at(1_700_000_000, 0)),
        ..Default::default()
    };
    model.insert(db).await.expect("insert definition")
}

pub fn case(id: &str, definition_id: i64, external_ref: Option<&str>) -> cases::Model {
    cases::Model {
        case_id: id.to_owned(),
        tenant: "t1".to_owned(),
        external_ref: external_ref.map(str::to_owned),
        definition_id,
        process_id: "collect".to_owned(),
        process_version: 1,
        stage: None,
        status: "active".to_owned(),
        seq: 0,
        snapshot: None,
        snapshot_seq: 0,
        created_at: at(1_700_000_000, 0),
        updated_at: at(1_700_000_000, 0),
        debtor_id: Some("D-1".to_owned()),
        owner: None,
        partner: None,
        placement_status: None,
        amount_due_minor: Some(125_050),
        currency: Some("EUR".to_owned()),
        delinquent_since: chrono::NaiveDate::from_ymd_opt(2026, 9, 1),
    }
}

async fn insert_case(db: &DatabaseConnection, model: cases::Model) -> Result<(), DbErr> {
    cases::Entity::insert(model.into_active_model())
        .exec(db)
        .await
        .map(drop)
}

fn journal(case_id: &str, seq: i64, payload: &str) -> case_journal::ActiveModel {
    case_journal::Model {
        case_id: case_id.to_owned(),
        seq,
        event_type: "created".to_owned(),
        payload: payload.to_owned(),
        actor: "agent:1".to_owned(),
        recorded_at: at(1_700_000_000, 0),
        prev_hash: String::new(),
        hash: "00".repeat(32),
    }
    .into_active_model()
}

async fn append(db: &DatabaseConnection, row: case_journal::ActiveModel) -> Result<(), DbErr> {
    case_journal::Entity::insert(row).exec(db).await.map(drop)
}

async fn journal_key_rejects_duplicate(db: &DatabaseConnection) {
    orm::migrate(db).await.unwrap();
    let case = "7f1c2f3e-0000-4000-8000-000000000001";
    append(db, journal(case, 1, "{}"))
        .await
        .expect("first append");
    let err = append(db, journal(case, 1, r#"{"other":true}"#))
        .await
        .expect_err("second writer of (case, 1) must lose");
    assert!(orm::is_unique_violation(&err), "{err:?}");
    assert!(!orm::is_foreign_key_violation(&err), "{err:?}");
    append(db, journal(case, 2, "{}")).await.expect("next seq");
    append(db, journal("another-case", 1, "{}"))
        .await
        .expect("same seq, other case");
    assert_eq!(case_journal::Entity::find().count(db).await.unwrap(), 3);
    let kept = case_journal::Entity::find_by_id((case.to_owned(), 1))
        .one(db)
        .await
        .unwrap()
        .expect("row (case, 1)");
    assert_eq!(kept.payload, "{}", "the losing write changed nothing");
}
on_both!(journal_key, super::journal_key_rejects_duplicate);

async fn external_ref_unique_per_tenant(db: &DatabaseConnection) {
    orm::migrate(db).await.unwrap();
    let def = definition(db, "collect").await;
    insert_case(db, case("c1", def.id, Some("INV-1")))
        .await
        .unwrap();
    let err = insert_case(db, case("c2", def.id, Some("INV-1")))
        .await
        .expect_err("same tenant and external ref");
    assert!(orm::is_unique_violation(&err), "{err:?}");
    let other_tenant = cases::Model {
        tenant: "t2".to_owned(),
        ..case("c3", def.id, Some("INV-1"))
    };
    insert_case(db, other_tenant).await.expect("other tenant");
    insert_case(db, case("c4", def.id, None)).await.unwrap();
    insert_case(db, case("c5", def.id, None))
        .await
        .expect("several cases without external ref");
    assert_eq!(cases::Entity::find().count(db).await.unwrap(), 4);
}
on_both!(external_ref_unique, super::external_ref_unique_per_tenant);

async fn definition_unique_per_version(db: &DatabaseConnection) {
    orm::migrate(db).await.unwrap();
    definition(db, "collect").await;
    let again = process_definitions::ActiveModel {
        process_id: sea_orm::Set("collect".to_owned()),
        version: sea_orm::Set(1),
        content_hash: sea_orm::Set("cd".repeat(32)),
        bpmn_xml: sea_orm::Set("<definitions/>".to_owned()),
        deployed_by: sea_orm::Set("admin".to_owned()),
        deployed_at: sea_orm::Set(at(1_700_000_001, 0)),
        ..Default::default()
    };
    let err = again
        .insert(db)
        .await
        .expect_err("same process and version");
    assert!(orm::is_unique_violation(&err), "{err:?}");
}
on_both!(
    definition_version_unique,
    super::definition_unique_per_version
);

async fn case_needs_definition(db: &DatabaseConnection) {
    orm::migrate(db).await.unwrap();
    let err = insert_case(db, case("c1", 999, None))
        .await
        .expect_err("no such definition");
    assert!(orm::is_foreign_key_violation(&err), "{err:?}");
    assert!(!orm::is_unique_violation(&err), "{err:?}");

    let def = definition(db, "collect").await;
    insert_case(db, case("c1", def.id, None)).await.unwrap();
    let err = process_definitions::Entity::delete_by_id(def.id)
        .exec(db)
        .await
        .expect_err("a definition in use cannot be deleted");
    assert!(orm::is_foreign_key_violation(&err), "{err:?}");
}
on_both!(case_definition_fk, super::case_needs_definition);

#[test]
fn other_errors_are_not_violations() {
    let err = DbErr::Custom("boom".to_owned());
    assert!(!orm::is_unique_violation(&err));
    assert!(!orm::is_foreign_key_violation(&err));
}
