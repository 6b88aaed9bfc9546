//! Documents through GraphQL: a law firm uploads a court filing (multipart request), an
//! auditor proves from the case history what was filed, by whom, and that the bytes are
//! unchanged; presigned uploads; partner isolation; holds; refused files.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{World, on_both};

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// A GraphQL multipart request (the multipart request spec) with one file.
pub(super) async fn upload(
    w: &World,
    token: &str,
    query: &str,
    vars: Value,
    name: &str,
    bytes: &[u8],
) -> Value {
    let boundary = "recobro-test-boundary-7d1f";
    let operations = json!({"query": query, "variables": vars});
    let mut body = Vec::new();
    for (field, value) in [
        ("operations", operations.to_string()),
        ("map", json!({"0": ["variables.file"]}).to_string()),
    ] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp =
        w.h.http
            .post(format!("{}/graphql", w.h.base))
            .bearer_auth(token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

const UPLOAD: &str = "mutation($c: ID!, $file: Upload!) { uploadDocument(caseId: $c, kind: COURT_FILING, file: $file) {
    id version sha256 size contentType fileName uploadedBy } }";

async fn placed_with(w: &World, reference: &str, partner: &str) -> String {
    let case = w.open_case(reference, 4_000.0).await;
    let data =
        w.h.ok(
            &w.admin,
            "query($c: ID!) { case(id: $c) { openTasks { id } } }",
            json!({"c": case}),
        )
        .await;
    let task = data["case"]["openTasks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    w.h.ok(
        &w.admin,
        "mutation($t: ID!) { completeTask(taskId: $t) { seq } }",
        json!({"t": task}),
    )
    .await;
    w.place(&case, partner).await;
    case
}

async fn court_filing(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let case = placed_with(&w, "DOC-1", &w.law_firm).await;

    // The law firm files through the portal.
    let body = upload(
        &w,
        &w.law_firm_token,
        UPLOAD,
        json!({"c": case, "file": null}),
        "../claim (final).pdf",
        PDF,
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let doc = &body["data"]["uploadDocument"];
    let sha = hex::encode(Sha256::digest(PDF));
    assert_eq!(doc["sha256"], sha.as_str());
    assert_eq!(doc["size"], PDF.len());
    assert_eq!(doc["contentType"], "application/pdf");
    assert!(!doc["fileName"].as_str().unwrap().contains('/'), "{doc}");
    let id = doc["id"].as_str().unwrap().to_string();

    // Another partner cannot see it, nor the case's documents.
    let q = "query($d: ID!) { document(id: $d) { id } }";
    assert_eq!(
        h.err(&w.agency_token, q, json!({"d": id})).await,
        "DOCUMENT_NOT_FOUND"
    );
    let q = "query($c: ID!) { case(id: $c) { documents { id } } }";
    assert_eq!(
        h.err(&w.agency_token, q, json!({"c": case})).await,
        "CASE_NOT_FOUND"
    );

    // Download through a short-lived signed link: the same bytes.
    let link = h
        .ok(
            &w.law_firm_token,
            "mutation($d: ID!) { downloadDocument(id: $d) { request { method url headers { name value } } } }",
            json!({"d": id}),
        )
        .await;
    let request = &link["downloadDocument"]["request"];
    assert_eq!(request["method"], "GET");
    let bytes = h
        .http
        .get(request["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], PDF);

    // The auditor: the history says what was filed and by whom; the bytes verify; the
    // access log names the download.
    let audit = h
        .ok(
            &w.auditor,
            "query($c: ID!) { case(id: $c) { history { eventType actor payload } historyCheck { valid } }
              verifyDocuments(caseId: $c) { ok checked altered { actualSha256 } missing { id } }
              documentAccessLog(caseId: $c) { actor action documentId } }",
            json!({"c": case}),
        )
        .await;
    let added = audit["case"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["eventType"] == "DocumentAdded")
        .expect("a DocumentAdded entry")
        .clone();
    assert!(
        added["actor"].as_str().unwrap().starts_with("partner:lou@"),
        "{added}"
    );
    assert!(added["payload"].to_string().contains(&sha), "{added}");
    assert_eq!(audit["case"]["historyCheck"]["valid"], true);
    assert_eq!(audit["verifyDocuments"]["ok"], true, "{audit}");
    assert_eq!(audit["verifyDocuments"]["checked"], 1);
    let log = audit["documentAccessLog"].as_array().unwrap();
    assert!(
        log.iter().any(|a| a["documentId"] == id.as_str()
            && a["actor"].as_str().unwrap().starts_with("partner:lou@")),
        "{log:?}"
    );

    // Auditors read; they do not upload. Wrong types are refused by their bytes.
    let body = upload(
        &w,
        &w.auditor,
        UPLOAD,
        json!({"c": case, "file": null}),
        "a.pdf",
        PDF,
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    let body = upload(
        &w,
        &w.agent,
        UPLOAD,
        json!({"c": case, "file": null}),
        "fake.pdf",
        b"MZ\x90\x00 not a pdf",
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "DOCUMENT_TYPE_NOT_ALLOWED",
        "{body}"
    );

    // Held documents cannot be deleted.
    h.ok(
        &w.supervisor,
        "mutation($d: ID!) { setLegalHold(documentId: $d, reason: \"appeal pending\") { legalHold } }",
        json!({"d": id}),
    )
    .await;
    let code = h
        .err(
            &w.admin,
            "mutation($d: ID!) { deleteDocument(documentId: $d, version: 1) }",
            json!({"d": id}),
        )
        .await;
    assert_eq!(code, "LEGAL_HOLD");
    w.h.stop().await;
}

on_both!(a_law_firm_files_and_an_auditor_proves_it, court_filing);

async fn presigned(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let case = w.open_case("DOC-2", 100.0).await;
    let sha = hex::encode(Sha256::digest(PDF));
    let ticket = h
        .ok(
            &w.agent,
            "mutation($c: ID!, $n: Int!, $s: String!) { requestDocumentUpload(caseId: $c, kind: DEMAND_LETTER,
                fileName: \"letter.pdf\", size: $n, sha256: $s) { uploadId request { method url headers { name value } } } }",
            json!({"c": case, "n": PDF.len(), "s": sha}),
        )
        .await["requestDocumentUpload"]
        .clone();
    let request = &ticket["request"];
    let mut put = h
        .http
        .put(request["url"].as_str().unwrap())
        .body(PDF.to_vec());
    for header in request["headers"].as_array().unwrap() {
        put = put.header(
            header["name"].as_str().unwrap(),
            header["value"].as_str().unwrap(),
        );
    }
    let status = put.send().await.unwrap().status();
    assert!(status.is_success(), "{status}");
    let doc = h
        .ok(
            &w.agent,
            "mutation($u: ID!) { confirmDocumentUpload(uploadId: $u) { sha256 kind } }",
            json!({"u": ticket["uploadId"]}),
        )
        .await;
    assert_eq!(doc["confirmDocumentUpload"]["sha256"], sha.as_str());
    assert_eq!(doc["confirmDocumentUpload"]["kind"], "demand_letter");
    // A second confirmation has nothing to confirm.
    let code = h
        .err(
            &w.agent,
            "mutation($u: ID!) { confirmDocumentUpload(uploadId: $u) { sha256 } }",
            json!({"u": ticket["uploadId"]}),
        )
        .await;
    assert_eq!(code, "UPLOAD_NOT_FOUND");
    w.h.stop().await;
}

on_both!(
    presigned_uploads_are_confirmed_against_their_checksum,
    presigned
);
