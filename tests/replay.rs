//! `recobro replay`: a case written by the runtime is rebuilt from its journal and
//! compared with the projections; drift in the read side is reported.

use std::process::Command;
use std::sync::Arc;

use orm::entities::cases;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="review" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="Review"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="Review"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Review" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

fn replay(dir: &std::path::Path, case: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_recobro"))
        .args(["replay", "--case", case, "--data-dir"])
        .arg(dir)
        .output()
        .expect("run recobro");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn replay_matches_then_reports_a_drifted_projection() {
    let dir = std::env::temp_dir().join(format!("recobro-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.join("recobro.db").display());
    let case_id = actix_web::rt::System::new().block_on(async {
        let db = orm::connect(&url).await.expect("db");
        orm::migrate(&db).await.expect("migrate");
        let rt = services::runtime::Runtime::start(
            db.clone(),
            Arc::new(services::clock::SystemClock),
            Default::default(),
        );
        rt.deploy("review.bpmn", MODEL, "supervisor")
            .await
            .expect("deploy");
        let out = rt
            .open_case(
                "acme",
                "review",
                None,
                None,
                Default::default(),
                "agent",
                None,
            )
            .await
            .expect("open");
        db.close().await.expect("close");
        out.case_id
    });

    let (code, text) = replay(&dir, &case_id);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("projection matches the journal"), "{text}");
    assert!(text.contains("\"status\":\"active\""), "{text}");

    actix_web::rt::System::new().block_on(async {
        let db = orm::connect(&url).await.expect("db");
        let row = cases::Entity::find_by_id(case_id.clone())
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        let mut row: cases::ActiveModel = row.into();
        row.status = Set("completed".into());
        row.update(&db).await.expect("tamper");
        db.close().await.expect("close");
    });
    let (code, text) = replay(&dir, &case_id);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("mismatch: status: projection has completed, journal gives active"),
        "{text}"
    );

    let (code, text) = replay(&dir, "no-such-case");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("case no-such-case does not exist"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
