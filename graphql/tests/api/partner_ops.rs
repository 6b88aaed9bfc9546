//! Partner operations beyond one placement (issue 19): allocation rules choose the agency
//! when nobody names one; many cases placed and recalled by filter; reports under the
//! partner's own references, one by one or as a CSV file checked whole.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use super::{World, on_both};

const AUTO_PLACE: &str = "mutation($c: ID!) { placeCase(caseId: $c) { seq } }";
const ALLOCATION: &str = "mutation($p: ID!, $j: [String!], $cap: Int, $w: Int) {
    setPartnerAllocation(partnerId: $p, jurisdictions: $j, capacity: $cap, weight: $w) {
        allocation { jurisdictions capacity weight } } }";

async fn partner_of(w: &World, case: &str) -> Value {
    w.h.ok(
        &w.admin,
        "query($c: ID!) { case(id: $c) { partner { id } } }",
        json!({"c": case}),
    )
    .await["case"]["partner"]["id"]
        .clone()
}

/// Recalls the case and offers it again with no partner named: who got it.
async fn offer_again(w: &World, case: &str) -> Value {
    w.h.ok(
        &w.supervisor,
        "mutation($c: ID!) { recallCase(caseId: $c, reason: \"again\") { seq } }",
        json!({"c": case}),
    )
    .await;
    w.h.ok(&w.supervisor, AUTO_PLACE, json!({"c": case})).await;
    partner_of(w, case).await
}

async fn allocation_rules_choose_the_agency(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let challenger = h
        .ok(
            &w.admin,
            "mutation { registerPartner(name: \"Norte Cobranzas\", kind: AGENCY) { id } }",
            json!({}),
        )
        .await["registerPartner"]["id"]
        .clone();
    let set = h
        .ok(&w.supervisor, ALLOCATION, json!({"p": w.agency, "w": 3}))
        .await;
    assert_eq!(
        set["setPartnerAllocation"]["allocation"],
        json!({"jurisdictions": [], "capacity": null, "weight": 3})
    );
    h.ok(
        &w.supervisor,
        ALLOCATION,
        json!({"p": challenger, "w": 1, "cap": 1}),
    )
    .await;

    // Eight cases offered with no partner named: agencies only (never the law firm),
    // the challenger at most its capacity of one.
    let mut cases = Vec::new();
    for i in 0..8 {
        let case = w.open_case(&format!("AL-{i}"), 100.0).await;
        h.ok(&w.supervisor, AUTO_PLACE, json!({"c": case})).await;
        cases.push(case);
    }
    let mut chosen = Vec::new();
    for case in &cases {
        chosen.push(partner_of(&w, case).await);
    }
    let to_challenger = chosen.iter().filter(|p| **p == challenger).count();
    assert!(to_challenger <= 1, "{chosen:?}");
    assert_eq!(
        chosen.iter().filter(|p| **p == json!(w.agency)).count(),
        8 - to_challenger
    );

    // Without a capacity in the way, a case offered again goes where it went before.
    h.ok(&w.supervisor, ALLOCATION, json!({"p": challenger, "w": 1}))
        .await;
    for case in &cases[..4] {
        let before = partner_of(&w, case).await;
        let first = offer_again(&w, case).await;
        assert_eq!(
            offer_again(&w, case).await,
            first,
            "{case} (first {before})"
        );
    }

    // Both restricted to countries, a debtor of unknown jurisdiction has no agency.
    h.ok(
        &w.supervisor,
        ALLOCATION,
        json!({"p": w.agency, "j": ["co"]}),
    )
    .await;
    h.ok(
        &w.supervisor,
        ALLOCATION,
        json!({"p": challenger, "j": ["MX"]}),
    )
    .await;
    let unknown = w.open_case("AL-X", 100.0).await;
    assert_eq!(
        h.err(&w.supervisor, AUTO_PLACE, json!({"c": unknown}))
            .await,
        "CONFLICT"
    );
    let partners = h
        .ok(
            &w.admin,
            "{ partners { id allocation { jurisdictions } } }",
            json!({}),
        )
        .await;
    assert!(partners["partners"].as_array().unwrap().iter().any(|p| {
        p["id"] == json!(w.agency) && p["allocation"]["jurisdictions"] == json!(["CO"])
    }));

    // Bad input and who may.
    for (vars, code) in [
        (json!({"p": w.agency, "j": ["XX"]}), "BAD_INPUT"),
        (json!({"p": w.agency, "w": 5000}), "BAD_INPUT"),
        (json!({"p": w.agency, "w": -1}), "BAD_INPUT"),
        (json!({"p": w.agency, "cap": -3}), "BAD_INPUT"),
        (json!({"p": "nobody", "w": 1}), "PARTNER_NOT_FOUND"),
    ] {
        assert_eq!(
            h.err(&w.supervisor, ALLOCATION, vars.clone()).await,
            code,
            "{vars}"
        );
    }
    assert_eq!(
        h.err(&w.agent, ALLOCATION, json!({"p": w.agency, "w": 2}))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(
        h.err(&w.agent, AUTO_PLACE, json!({"c": unknown})).await,
        "FORBIDDEN"
    );
    w.h.stop().await;
}

on_both!(allocation_rules, allocation_rules_choose_the_agency);

const PLACE_MANY: &str = "mutation($f: CaseFilterInput!, $p: ID, $l: Int, $k: String) {
    placeCases(filter: $f, partnerId: $p, limit: $l, idempotencyKey: $k) { done refused { caseId code message } } }";
const RECALL_MANY: &str = "mutation($f: CaseFilterInput!, $r: String!, $l: Int) {
    recallCases(filter: $f, reason: $r, limit: $l) { done refused { caseId code } } }";

async fn many_cases_are_placed_and_recalled_by_filter(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let mut cases = Vec::new();
    for i in 0..5 {
        cases.push(w.open_case(&format!("BULK-{i}"), 100.0).await);
    }
    let ours = json!({"processId": "collections-lite"});
    let placed = h
        .ok(
            &w.supervisor,
            PLACE_MANY,
            json!({"f": ours, "p": w.agency, "k": "portfolio-7"}),
        )
        .await["placeCases"]
        .clone();
    assert_eq!(placed["done"].as_array().unwrap().len(), 5, "{placed}");
    assert_eq!(placed["refused"], json!([]));
    for case in &cases {
        assert_eq!(partner_of(&w, case).await, json!(w.agency));
    }
    // The same call again repeats nothing; without its key each case is refused, with why.
    let again = h
        .ok(
            &w.supervisor,
            PLACE_MANY,
            json!({"f": ours, "p": w.agency, "k": "portfolio-7"}),
        )
        .await["placeCases"]
        .clone();
    assert_eq!(again["done"].as_array().unwrap().len(), 5);
    let refused = h
        .ok(
            &w.supervisor,
            PLACE_MANY,
            json!({"f": ours, "p": w.law_firm}),
        )
        .await["placeCases"]["refused"]
        .clone();
    let refused = refused.as_array().unwrap();
    assert_eq!(refused.len(), 5);
    assert!(
        refused.iter().all(|r| r["code"] == "PLACEMENT_CONFLICT"),
        "{refused:?}"
    );
    let history = h
        .ok(
            &w.admin,
            "query($c: ID!) { case(id: $c) { history { eventType } } }",
            json!({"c": cases[0]}),
        )
        .await;
    let placements = history["case"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["eventType"] == "CasePlaced")
        .count();
    assert_eq!(placements, 1, "placed once");

    // Recalled by filter, at most `limit`.
    let by_agency = json!({"partnerId": w.agency});
    let two = h
        .ok(
            &w.supervisor,
            RECALL_MANY,
            json!({"f": by_agency, "r": "portfolio sold", "l": 2}),
        )
        .await;
    assert_eq!(two["recallCases"]["done"].as_array().unwrap().len(), 2);
    let rest = h
        .ok(
            &w.supervisor,
            RECALL_MANY,
            json!({"f": by_agency, "r": "portfolio sold"}),
        )
        .await;
    assert_eq!(rest["recallCases"]["done"].as_array().unwrap().len(), 3);
    for case in &cases {
        assert_eq!(partner_of(&w, case).await, Value::Null);
    }

    // Bad input and who may.
    for (query, vars) in [
        (PLACE_MANY, json!({"f": ours, "p": w.agency, "l": 0})),
        (PLACE_MANY, json!({"f": ours, "p": w.agency, "l": 10_001})),
        (RECALL_MANY, json!({"f": ours, "r": " "})),
    ] {
        assert_eq!(
            h.err(&w.supervisor, query, vars.clone()).await,
            "BAD_INPUT",
            "{vars}"
        );
    }
    assert_eq!(
        h.err(&w.agent, PLACE_MANY, json!({"f": ours, "p": w.agency}))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(
        h.err(&w.agency_token, RECALL_MANY, json!({"f": ours, "r": "x"}))
            .await,
        "FORBIDDEN"
    );
    w.h.stop().await;
}

on_both!(bulk_placement, many_cases_are_placed_and_recalled_by_filter);

async fn activities_are_recorded_once_per_partner_reference(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let case = w.open_case("ACT-1", 100.0).await;
    w.place(&case, &w.agency).await;
    let record = "mutation($c: ID!, $r: String, $k: String) {
        recordActivity(caseId: $c, kind: \"call\", note: \"promised Friday\", reference: $r, idempotencyKey: $k) { seq repeated } }";
    let first = h
        .ok(&w.agency_token, record, json!({"c": case, "r": "CALL-881"}))
        .await;
    let again = h
        .ok(&w.agency_token, record, json!({"c": case, "r": "CALL-881"}))
        .await;
    assert_eq!(again["recordActivity"]["repeated"], true);
    assert_eq!(
        again["recordActivity"]["seq"],
        first["recordActivity"]["seq"]
    );
    let other = h
        .ok(&w.agency_token, record, json!({"c": case, "r": "CALL-882"}))
        .await;
    assert_eq!(other["recordActivity"]["repeated"], false);
    let notes = h
        .ok(
            &w.agency_token,
            "query($c: ID!) { case(id: $c) { notes { text } } }",
            json!({"c": case}),
        )
        .await;
    assert_eq!(notes["case"]["notes"].as_array().unwrap().len(), 2);
    for vars in [
        json!({"c": case, "r": "CALL-9", "k": "k-1"}),
        json!({"c": case, "r": " "}),
    ] {
        assert_eq!(
            h.err(&w.agency_token, record, vars.clone()).await,
            "BAD_INPUT",
            "{vars}"
        );
    }
    w.h.stop().await;
}

on_both!(
    activity_references,
    activities_are_recorded_once_per_partner_reference
);

const REPORT: &str = "mutation($file: Upload!) { uploadPartnerReport(file: $file) {
    applied repeated errors { row column code message } } }";

async fn report(w: &World, token: &str, csv: &str) -> Value {
    super::documents::upload(
        w,
        token,
        REPORT,
        json!({"file": null}),
        "report.csv",
        csv.as_bytes(),
    )
    .await
}

async fn reported(w: &World, case: &str) -> Value {
    w.h.ok(
        &w.admin,
        "query($c: ID!) { case(id: $c) { notes { kind } reportedPayments { reference } } }",
        json!({"c": case}),
    )
    .await["case"]
        .clone()
}

async fn report_files_apply_whole_or_not_at_all(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let mine = w.open_case("RPT-1", 900.0).await;
    let theirs = w.open_case("RPT-2", 900.0).await;
    w.place(&mine, &w.agency).await;
    w.place(&theirs, &w.law_firm).await;
    let before = reported(&w, &mine).await;

    // One wrong amount and one case of another partner: nothing is applied.
    let bad = report(
        &w,
        &w.agency_token,
        "case_ref,type,date,reference,kind,amount,currency,note
RPT-1,activity,2026-03-01,V-1,visit,,,not at home
RPT-1,payment,2026-03-01,P-1,,10.123,COP,
RPT-2,activity,2026-03-01,V-2,call,,,
",
    )
    .await;
    let errors = &bad["data"]["uploadPartnerReport"]["errors"];
    assert_eq!(errors.as_array().unwrap().len(), 1, "{bad}");
    assert_eq!(errors[0]["row"], 2);
    assert_eq!(errors[0]["column"], "amount");
    assert_eq!(bad["data"]["uploadPartnerReport"]["applied"], 0);
    assert_eq!(reported(&w, &mine).await, before, "nothing half-applied");
    let foreign = report(
        &w,
        &w.agency_token,
        "case_ref,type,date,reference,kind\nRPT-2,activity,2026-03-01,V-2,call\n",
    )
    .await;
    assert_eq!(
        foreign["data"]["uploadPartnerReport"]["errors"][0]["code"],
        "CASE_NOT_FOUND"
    );

    // A good file applies every row; sent again, it records nothing twice.
    let good = "case_ref,type,date,reference,kind,amount,currency,note
RPT-1,activity,2026-03-01,V-1,visit,,,not at home
RPT-1,legal_milestone,2026-03-01,22/1931,claim_filed,,,Juzgado 3
RPT-1,payment,2026-03-01,P-1,,250000,COP,
";
    let first = report(&w, &w.agency_token, good).await;
    assert_eq!(
        first["data"]["uploadPartnerReport"]["applied"], 3,
        "{first}"
    );
    let again = report(&w, &w.agency_token, good).await;
    assert_eq!(again["data"]["uploadPartnerReport"]["applied"], 0);
    assert_eq!(again["data"]["uploadPartnerReport"]["repeated"], 3);
    let after = reported(&w, &mine).await;
    assert_eq!(after["notes"].as_array().unwrap().len(), 2, "{after}");
    assert_eq!(after["reportedPayments"], json!([{"reference": "P-1"}]));

    // A return gives the case back; the same file again repeats it, refusing nothing.
    w.h.ok(
        &w.agency_token,
        "mutation($c: ID!) { acceptPlacement(caseId: $c) { seq } }",
        json!({"c": mine}),
    )
    .await;
    let back = "case_ref,type,reference,note\nRPT-1,return,RET-1,debtor moved abroad\n";
    let first = report(&w, &w.agency_token, back).await;
    assert_eq!(
        first["data"]["uploadPartnerReport"]["applied"], 1,
        "{first}"
    );
    let state = w
        .h
        .ok(
            &w.admin,
            "query($c: ID!) { case(id: $c) { placementStatus partner { id } history { eventType } } }",
            json!({"c": mine}),
        )
        .await;
    assert_eq!(state["case"]["partner"], Value::Null, "{state}");
    let again = report(&w, &w.agency_token, back).await;
    assert_eq!(
        again["data"]["uploadPartnerReport"]["repeated"], 1,
        "{again}"
    );
    assert_eq!(again["data"]["uploadPartnerReport"]["errors"], json!([]));
    let returns = |s: &Value| {
        s["case"]["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["eventType"] == "PlacementReturned")
            .count()
    };
    assert_eq!(returns(&state), 1);

    // Partners only.
    let staff = report(&w, &w.agent, good).await;
    assert_eq!(super::error_code(&staff).as_deref(), Some("FORBIDDEN"));
    w.h.stop().await;
}

on_both!(partner_report_files, report_files_apply_whole_or_not_at_all);
