//! `recobro serve`: the HTTP server (GraphQL at /graphql, the own token issuer, health
//! and readiness probes) over the embedded SQLite database or PostgreSQL.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, get, web};
use anyhow::{Context, bail};
use orm::DatabaseConnection;
use serde_json::json;

/// File name of the embedded database inside the data directory.
pub const SQLITE_FILE: &str = "recobro.db";

/// How long `/readyz` waits for the database before answering 503.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the data lives: shared by every command that opens the database.
#[derive(clap::Args, Debug)]
pub struct StorageArgs {
    /// Data directory; holds the embedded SQLite database (`recobro.db`) unless
    /// --database-url names another database.
    #[arg(long, value_name = "DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL (`postgres://user:password@host/db` or `sqlite://path?mode=rwc`);
    /// overrides the SQLite file in the data directory.
    #[arg(
        long,
        value_name = "URL",
        env = "RECOBRO_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

/// The database to open, and how to name it in logs and messages (never the URL, which
/// may carry a password).
pub struct Target {
    pub url: String,
    pub description: String,
}

impl StorageArgs {
    /// The database these arguments name. With `create`, a missing data directory and
    /// SQLite file are created (serve); without, they must exist (read-only commands).
    pub fn target(&self, create: bool) -> anyhow::Result<Target> {
        if let Some(url) = &self.database_url {
            let backend = match url.split(':').next().unwrap_or_default() {
                "sqlite" => "sqlite",
                "postgres" | "postgresql" => "postgres",
                _ => bail!(
                    "unsupported database URL scheme in --database-url / RECOBRO_DATABASE_URL \
                     (expected sqlite: or postgres:)"
                ),
            };
            return Ok(Target {
                url: url.clone(),
                description: format!("{backend} database"),
            });
        }
        let dir = &self.data_dir;
        let file = dir.join(SQLITE_FILE);
        if create {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create data directory {}", dir.display()))?;
            check_writable(dir)?;
        } else if !file.is_file() {
            bail!(
                "no database at {} (run `recobro serve` first)",
                file.display()
            );
        }
        let mode = if create { "rwc" } else { "rw" };
        Ok(Target {
            url: format!("sqlite://{}?mode={mode}", url_path(&file)?),
            description: format!("sqlite database {}", file.display()),
        })
    }
}

/// Fails early, with a clear message, when the data directory cannot be written.
fn check_writable(dir: &Path) -> anyhow::Result<()> {
    let probe = dir.join(format!(".recobro-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("data directory {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// A path as it goes into a `sqlite:` URL: `%`, `?` and `#` percent-encoded.
fn url_path(path: &Path) -> anyhow::Result<String> {
    let Some(s) = path.to_str() else {
        bail!("data directory path {} is not valid UTF-8", path.display());
    };
    Ok(s.replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23"))
}

/// Opens the database, reporting failures without the URL.
pub async fn open(target: &Target) -> anyhow::Result<DatabaseConnection> {
    orm::connect(&target.url)
        .await
        .with_context(|| format!("cannot open the {}", target.description))
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (`IP:PORT`, or `HOST:PORT`; port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub issuer: crate::token_cmd::IssuerArgs,
    #[command(flatten)]
    pub documents: crate::documents_cmd::StoreArgs,
    /// JSON file with the authentication settings (external OIDC issuers and their claim
    /// mapping, token lifetime, leeway; see docs/decisions/0006-authentication.md). When
    /// given, its issuer and audience are used and --issuer/--audience are not.
    #[arg(long, value_name = "FILE", env = "RECOBRO_AUTH_CONFIG")]
    pub auth_config: Option<PathBuf>,
    /// This node's id for its claims on due timers; each node sharing a database needs
    /// its own. A node restarting under the same id takes its claims back at once.
    /// Default: kept in the data directory with the embedded database; a new one per
    /// start with --database-url (a killed node's claims then lapse after a minute).
    #[arg(long, value_name = "ID", env = "RECOBRO_NODE_ID")]
    pub node_id: Option<String>,
}

impl ServeArgs {
    fn node_id(&self) -> anyhow::Result<String> {
        match (&self.node_id, &self.storage.database_url) {
            (Some(id), _) if !id.trim().is_empty() => Ok(id.trim().to_string()),
            (Some(_), _) => bail!("--node-id must not be empty"),
            // The embedded database lives in the data directory: its node id can too.
            (None, None) => stored_node_id(&self.storage.data_dir),
            (None, Some(_)) => Ok(uuid::Uuid::new_v4().to_string()),
        }
    }

    fn auth_config(&self) -> anyhow::Result<graphql::auth::AuthConfig> {
        let Some(path) = &self.auth_config else {
            return Ok(graphql::auth::AuthConfig {
                issuer: self.issuer.issuer.clone(),
                audience: self.issuer.audience.clone(),
                ..Default::default()
            });
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the auth config {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("invalid auth config {}", path.display()))
    }
}

/// Runs the server until SIGTERM or ctrl-c.
pub fn run(args: ServeArgs) -> ExitCode {
    init_logging();
    match actix_web::rt::System::new().block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let message = error_chain(&err);
            tracing::error!(error = %message, "serve failed");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `err` and its causes, `: `-separated, leaving out a cause whose text the message
/// before it already includes (many errors display their source as well as expose it).
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut last = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !last.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        last = text;
    }
    out
}

/// JSON lines on stdout; `RECOBRO_LOG=text` for the human format; level from `RUST_LOG`
/// (default `info`, with SQLx's notices at `warn`).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    let text = std::env::var("RECOBRO_LOG").is_ok_and(|v| v.eq_ignore_ascii_case("text"));
    // A subscriber already set (never, in the binary) is not worth failing over.
    let _ = if text {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    };
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let addrs = resolve(&args.listen)?;
    let auth_config = args.auth_config()?;
    let target = args.storage.target(true)?;
    tracing::info!(database = %target.description, "opening database");
    let db = open(&target).await?;
    orm::migrate(&db)
        .await
        .with_context(|| format!("cannot migrate the {}", target.description))?;
    tracing::info!("database schema is current");

    // The case runtime: actors over the journal, the timer service and the job
    // dispatcher. Job types with no handler here wait in the outbox for a worker.
    let clock: std::sync::Arc<dyn services::clock::Clock> =
        std::sync::Arc::new(services::clock::SystemClock);
    let runtime = services::runtime::Runtime::start_node(
        db.clone(),
        clock.clone(),
        services::runtime::RuntimeConfig::default(),
        args.node_id()?,
    );
    let timers = services::runtime::timers::spawn(runtime.clone(), Default::default());
    let jobs = services::runtime::jobs::spawn(
        runtime.clone(),
        services::runtime::jobs::JobHandlers::default(),
        Default::default(),
    );
    tracing::info!("case runtime started");
    let auth = graphql::auth::Auth::new(db.clone(), clock.clone(), auth_config)
        .await
        .context("cannot start authentication")?;

    // Bound before the app is built: signed document URLs need the real port (also
    // when --listen asks for port 0).
    let listeners = addrs
        .iter()
        .map(|a| {
            std::net::TcpListener::bind(a)
                .with_context(|| format!("cannot listen on {}", args.listen))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let public_url = format!("http://{}", listeners[0].local_addr()?);
    let documents = args.documents.config(&args.storage.data_dir, public_url);
    let documents = services::documents::DocumentService::new(
        services::desk::Desk::new(runtime.clone()),
        documents,
    )
    .context("cannot open the document store")?;
    // The upload limit follows the document size limit (plus room for the form).
    let limits = graphql::schema::Limits {
        upload_bytes: usize::try_from(documents.config().max_size)
            .unwrap_or(usize::MAX)
            .saturating_add(1024 * 1024),
        ..Default::default()
    };
    let api = web::Data::new(graphql::server::Api::new(
        services::desk::Desk::new(runtime.clone()),
        auth.clone(),
        documents.clone(),
        limits,
    ));
    let auth = web::Data::new(auth);
    let documents = web::Data::new(documents);
    let data = web::Data::new(db.clone());
    let mut server = HttpServer::new(move || {
        let api = api.clone();
        App::new()
            .app_data(data.clone())
            .app_data(auth.clone())
            .app_data(documents.clone())
            .configure(graphql::documents_http::configure)
            .service(healthz)
            .service(readyz)
            .configure(graphql::auth::configure)
            .configure(move |cfg| graphql::server::configure(cfg, api))
    });
    for listener in listeners {
        server = server
            .listen(listener)
            .with_context(|| format!("cannot listen on {}", args.listen))?;
    }
    for addr in server.addrs() {
        tracing::info!(addr = %addr, "listening");
    }
    server.run().await.context("HTTP server failed")?;
    timers.stop().await.context("stopping the timer service")?;
    jobs.stop().await.context("stopping the job dispatcher")?;
    tracing::info!("stopped");
    db.close().await.context("closing the database")?;
    Ok(())
}

fn resolve(listen: &str) -> anyhow::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .with_context(|| format!("invalid listen address `{listen}` (expected IP:PORT)"))?
        .collect();
    if addrs.is_empty() {
        bail!("invalid listen address `{listen}`: it resolves to no address");
    }
    Ok(addrs)
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

/// The node id kept in the data directory (created on first start), so a restarted node
/// takes back its timer claims at once instead of leaving its timers until they lapse.
fn stored_node_id(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let id = uuid::Uuid::new_v4().to_string();
    std::fs::write(&path, &id).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(id)
}
