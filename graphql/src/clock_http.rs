//! `POST /clock/advance` on a node started with `serve --virtual-clock`: an admin moves
//! case time forward (`{"by": "P14D"}` or `{"to": "2026-03-01T08:00:00Z"}`), and every
//! timer due on the way fires at its own due time. For demos, training and end-to-end
//! runs of whole strategies; on a node with the system clock the route answers 404, so
//! production time cannot be moved by anyone.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use services::access::Role;
use services::clock::{Clock, VirtualClock};
use services::desk::Desk;
use services::error_code::{ApiError, ErrorCode};

use crate::auth::Auth;
use crate::errors::http_answer as answer;

pub const PATH: &str = "/clock/advance";

/// The node's virtual clock, when it has one.
#[derive(Clone, Default)]
pub struct VirtualTime(pub Option<Arc<VirtualClock>>);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    /// An ISO 8601 duration (`P14D`, `PT2H`).
    by: Option<String>,
    to: Option<DateTime<Utc>>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::post().to(advance));
}

async fn advance(
    req: HttpRequest,
    body: web::Bytes,
    time: web::Data<VirtualTime>,
    auth: web::Data<Auth>,
    desk: web::Data<Desk>,
) -> HttpResponse {
    let Some(clock) = time.0.clone() else {
        return answer(
            ErrorCode::NotFound,
            "this node runs on the system clock (start serve with --virtual-clock to move time)",
        );
    };
    let principal = match auth.authenticator().authenticate_request(&req).await {
        Ok(p) => p,
        Err(e) => return answer(e.code(), e.to_string()),
    };
    if principal.role != Role::Admin {
        return answer(ErrorCode::Forbidden, "only an admin may move the clock");
    }
    let ask: Advance = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => {
            return answer(
                ErrorCode::BadInput,
                format!("expected {{\"by\"}} or {{\"to\"}}: {e}"),
            );
        }
    };
    let now = clock.now();
    let to = match (ask.by, ask.to) {
        (Some(by), None) => match bpmn::timer::parse_duration(&by) {
            Ok(d) => match d.after(now) {
                Some(t) => t,
                None => return answer(ErrorCode::BadInput, format!("{by} from now overflows")),
            },
            Err(e) => return answer(ErrorCode::BadInput, e),
        },
        (None, Some(to)) if to >= now => to,
        (None, Some(to)) => {
            return answer(
                ErrorCode::BadInput,
                format!("{to} is before the clock's {now}: time only moves forward"),
            );
        }
        _ => return answer(ErrorCode::BadInput, "give exactly one of `by` and `to`"),
    };
    match services::runtime::virtual_time::advance(desk.runtime(), &clock, to).await {
        Ok(done) => HttpResponse::Ok().json(json!({
            "now": done.now,
            "timersFired": done.timers_fired,
        })),
        Err(e) => {
            let code = e.code();
            tracing::error!(error = %e, "advancing the virtual clock failed");
            answer(code, e.to_string())
        }
    }
}
