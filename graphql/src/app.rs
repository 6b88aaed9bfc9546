//! Everything Recobro serves over HTTP, assembled in one place: `recobro serve`, the API
//! tests and `recobro bench graphql` all mount exactly this.
//!
//! - `POST /graphql`, `GET /graphql` (GraphiQL, graphql-ws): [`crate::server`];
//! - the own issuer and token endpoints: [`crate::auth::configure`];
//! - signed local document links: [`crate::documents_http`];
//! - signed payment providers' callbacks: [`crate::payment_callbacks`];
//! - moving a virtual clock (`serve --virtual-clock` only): [`crate::clock_http`];
//! - signed messaging providers' delivery receipts: [`crate::contact_callbacks`];
//! - `GET /healthz` (the process answers) and `GET /readyz` (the database answers).

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use documents::DocumentService;
use sea_orm::DatabaseConnection;
use serde_json::json;
use services::desk::Desk;

use crate::auth::Auth;
use crate::clock_http::VirtualTime;
use crate::contact_callbacks::ContactReceipts;
use crate::payment_callbacks::PaymentProviders;
use crate::schema::Limits;
use crate::server::Api;

/// How long `/readyz` waits for the database before answering 503.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The application's shared state; cloned into each HTTP worker (every part is an `Arc`).
#[derive(Clone)]
pub struct HttpApp {
    api: web::Data<Api>,
    auth: web::Data<Auth>,
    documents: web::Data<DocumentService>,
    db: web::Data<DatabaseConnection>,
    desk: web::Data<Desk>,
    payment_providers: web::Data<PaymentProviders>,
    virtual_time: web::Data<VirtualTime>,
    contact_receipts: web::Data<ContactReceipts>,
}

impl HttpApp {
    pub fn new(desk: Desk, auth: Auth, documents: DocumentService, limits: Limits) -> Self {
        let db = web::Data::new(desk.db().clone());
        HttpApp {
            desk: web::Data::new(desk.clone()),
            payment_providers: web::Data::new(PaymentProviders::default()),
            virtual_time: web::Data::new(VirtualTime::default()),
            contact_receipts: web::Data::new(ContactReceipts::default()),
            api: web::Data::new(Api::new(desk, auth.clone(), documents.clone(), limits)),
            auth: web::Data::new(auth),
            documents: web::Data::new(documents),
            db,
        }
    }

    /// Accepts signed payment callbacks from these providers (none by default).
    pub fn with_payment_providers(mut self, providers: PaymentProviders) -> Self {
        self.payment_providers = web::Data::new(providers);
        self
    }

    /// Lets an admin move this virtual clock (`POST /clock/advance`); without it the
    /// route answers 404.
    pub fn with_virtual_clock(
        mut self,
        clock: std::sync::Arc<services::clock::VirtualClock>,
    ) -> Self {
        self.virtual_time = web::Data::new(VirtualTime(Some(clock)));
        self
    }

    /// Accepts signed delivery receipts from these messaging providers (none by default).
    pub fn with_contact_receipts(mut self, receipts: ContactReceipts) -> Self {
        self.contact_receipts = web::Data::new(receipts);
        self
    }

    /// Mounts every route: `App::new().configure(|cfg| app.configure(cfg))`.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.db.clone())
            .app_data(self.auth.clone())
            .app_data(self.documents.clone())
            .app_data(self.desk.clone())
            .app_data(self.payment_providers.clone())
            .app_data(self.virtual_time.clone())
            .app_data(self.contact_receipts.clone())
            .configure(crate::documents_http::configure)
            .configure(crate::payment_callbacks::configure)
            .configure(crate::contact_callbacks::configure)
            .configure(crate::clock_http::configure)
            .service(healthz)
            .service(readyz)
            .configure(crate::auth::configure);
        crate::server::configure(cfg, self.api.clone());
    }
}

/// Liveness: the process answers.
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database answers a trivial query in time.
#[get("/readyz")]
async fn readyz(db: web::Data<DatabaseConnection>) -> HttpResponse {
    let reason = match actix_web::rt::time::timeout(READY_TIMEOUT, db.ping()).await {
        Ok(Ok(())) => return HttpResponse::Ok().json(json!({"status": "ok"})),
        Ok(Err(err)) => format!("database unavailable: {err}"),
        Err(_) => format!(
            "database did not answer within {} s",
            READY_TIMEOUT.as_secs()
        ),
    };
    tracing::warn!(reason = %reason, "not ready");
    HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable", "reason": reason}))
}
