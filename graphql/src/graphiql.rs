//! GraphiQL served from the binary: the page on `GET /graphql`, its scripts, styles and
//! licences under `/graphql/assets/<name>`. No request leaves the server's origin (the
//! Content-Security-Policy says so to the browser too). The vendored files and how to
//! update them: `graphql/assets/graphiql/README.md`.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

/// Where the assets are served.
pub const PREFIX: &str = "/graphql/assets/";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../assets/graphiql/", $name)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("graphiql.min.js", JS),
    asset!("graphiql.min.css", CSS),
    asset!("react.production.min.js", JS),
    asset!("react-dom.production.min.js", JS),
    asset!("recobro-graphiql.js", JS),
    asset!("recobro-graphiql.css", CSS),
    asset!("LICENSE-graphiql", TEXT),
    asset!("LICENSE-react", TEXT),
    asset!("LICENSE-react-dom", TEXT),
];

/// Only this origin, for everything; fonts and icons inlined in GraphiQL's CSS are data:
/// URLs. The page has no inline script or style: the bootstrap is an asset itself.
/// (GraphiQL's dialogs add a small `<style>` for scroll locking, which this policy blocks;
/// the dialogs work without it.)
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                   img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                   object-src 'none'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// The page, each `{name}` replaced by the asset's path with a version (a prefix of its
/// SHA-256) so the assets can be cached for good.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let mut html = include_str!("../assets/graphiql/index.html").to_string();
    for a in ASSETS {
        let digest = Sha256::digest(a.body);
        let version: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        html = html.replace(
            &format!("{{{}}}", a.name),
            &format!("{PREFIX}{}?v={version}", a.name),
        );
    }
    debug_assert!(
        !html.contains("{"),
        "an asset named in index.html is missing"
    );
    html
});

/// `GET /graphql` without a WebSocket upgrade.
pub fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(PAGE.as_str())
}

/// `GET /graphql/assets/{name}`.
pub async fn asset(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|a| a.name == name.as_str()) {
        Some(a) => HttpResponse::Ok()
            .content_type(a.content_type)
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            // The page names each asset with its version: a year is safe.
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(a.body),
        None => HttpResponse::NotFound()
            .content_type(TEXT)
            .body("no such asset"),
    }
}
