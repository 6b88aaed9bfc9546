//! The local document store's signed routes: the embedded default's counterpart of S3
//! presigned URLs. The URL itself is the authorisation (HMAC-signed by
//! `documents`, short-lived, bound to one object and, for uploads, to its size
//! and SHA-256), so these routes take no bearer token. Mount with
//! `App::new().app_data(web::Data::new(document_service)).configure(documents_http::configure)`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use documents::store::{LOCAL_GET_PATH, LOCAL_PUT_PATH};
use documents::{DocumentError, DocumentService, LocalGrant};
use futures_util::StreamExt;
use services::error_code::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(LOCAL_PUT_PATH, web::put().to(upload))
        .route(LOCAL_GET_PATH, web::get().to(download));
}

fn error(e: &DocumentError) -> HttpResponse {
    let code = e.code();
    let status =
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .json(serde_json::json!({ "code": code.as_str(), "message": e.public_message() }))
}

async fn upload(
    docs: web::Data<DocumentService>,
    grant: web::Query<LocalGrant>,
    body: web::Payload,
) -> HttpResponse {
    let body = body.map(|c| c.map_err(std::io::Error::other));
    match docs.local_upload(&grant, body).await {
        Ok(()) => HttpResponse::Ok().finish(),
        Err(e) => error(&e),
    }
}

async fn download(docs: web::Data<DocumentService>, grant: web::Query<LocalGrant>) -> HttpResponse {
    match docs.local_download(&grant).await {
        Ok(b) => HttpResponse::Ok()
            .content_type(b.content_type)
            .insert_header((
                header::CONTENT_DISPOSITION,
                documents::store::content_disposition(&b.file_name),
            ))
            // The type was sniffed on upload; the browser must not guess another.
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .no_chunking(b.size)
            .streaming(b.body),
        Err(e) => error(&e),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use actix_web::{App, test, web};
    use documents::{DocumentConfig, DocumentKind, DocumentService, NewDocument, StoreConfig};
    use futures_util::stream;
    use services::access::{Principal, Role};
    use services::desk::{Desk, NewCase};
    use services::runtime::{Runtime, RuntimeConfig};

    const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:userTask id="T"/><bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="T"/>
    <bpmn:sequenceFlow id="f1" sourceRef="T" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

    fn path(url: &str) -> &str {
        url.strip_prefix("http://recobro.test").unwrap()
    }

    #[actix_web::test]
    async fn signed_local_routes() {
        let t = orm::testing::TestDb::sqlite().await;
        orm::migrate(&t.db).await.unwrap();
        let rt = Runtime::start(
            t.db.clone(),
            Arc::new(services::clock::SystemClock),
            RuntimeConfig::default(),
        );
        let desk = Desk::new(rt);
        let admin = Principal::new("a", "acme", Role::Admin, None, vec![]).unwrap();
        desk.deploy(&admin, "p.bpmn", MODEL).await.unwrap();
        let new_case = NewCase {
            process_id: "p".into(),
            ..NewCase::default()
        };
        let case_id = desk.open_case(&admin, new_case).await.unwrap().case_id;
        let dir = tempfile::tempdir().unwrap();
        let config = DocumentConfig {
            store: StoreConfig::Local {
                dir: dir.path().into(),
            },
            public_url: "http://recobro.test".into(),
            ..DocumentConfig::default()
        };
        let docs = DocumentService::new(desk, config).unwrap();
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(docs.clone()))
                .configure(super::configure),
        )
        .await;
        let new = |name: &str| NewDocument {
            case_id: case_id.clone(),
            kind: DocumentKind::Other,
            file_name: name.into(),
            retention_class: None,
            replaces: None,
        };

        // Presigned upload through the signed PUT route.
        let data = b"%PDF-1.7\nhello".to_vec();
        let sha = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&data))
        };
        let ticket = docs
            .request_upload(&admin, new("a b.pdf"), data.len() as u64, &sha)
            .await
            .unwrap();
        let put = |body: Vec<u8>| {
            test::TestRequest::put()
                .uri(path(&ticket.request.url))
                .set_payload(body)
                .to_request()
        };
        let wrong = b"%PDF-1.7\nHELLO".to_vec();
        let resp = test::call_service(&app, put(wrong)).await;
        assert_eq!(resp.status(), 400);
        let body: serde_json::Value = test::read_body_json(resp).await;
        assert_eq!(body["code"], "CHECKSUM_MISMATCH");
        let resp = test::call_service(&app, put(data.clone())).await;
        assert_eq!(resp.status(), 200);
        docs.confirm_upload(&admin, &ticket.upload_id)
            .await
            .unwrap();

        // Streamed download through the signed GET route.
        let doc = docs
            .upload(
                &admin,
                new("c.pdf"),
                stream::iter([Ok(web::Bytes::from(data.clone()))]),
            )
            .await
            .unwrap();
        let dl = docs.download(&admin, &doc.document_id, None).await.unwrap();
        let get = test::TestRequest::get()
            .uri(path(&dl.request.url))
            .to_request();
        let resp = test::call_service(&app, get).await;
        assert_eq!(resp.status(), 200);
        let h = |name: &str| {
            resp.headers()
                .get(name)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(h("content-type"), "application/pdf");
        assert_eq!(h("x-content-type-options"), "nosniff");
        assert!(h("content-disposition").contains("c.pdf"));
        assert_eq!(test::read_body(resp).await, data);

        // A tampered link: another file name under the same signature.
        let tampered = path(&dl.request.url).replace("name=c", "name=x");
        let get = test::TestRequest::get().uri(&tampered).to_request();
        let resp = test::call_service(&app, get).await;
        assert_eq!(resp.status(), 403);
        let body: serde_json::Value = test::read_body_json(resp).await;
        assert_eq!(body["code"], "LINK_INVALID");
    }
}
