//! `recobro serve`: the HTTP server (GraphQL at /graphql, the own token issuer, health
//! and readiness probes) over the embedded SQLite database or PostgreSQL.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use actix_web::{App, HttpServer};
use anyhow::{Context, bail};
use services::clock::Clock;

use crate::settings::{IssuerArgs, StorageArgs, StoreArgs, error_chain, open};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (`IP:PORT`, or `HOST:PORT`; port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub issuer: IssuerArgs,
    #[command(flatten)]
    pub documents: StoreArgs,
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
    /// JSON file listing the payment providers whose signed callbacks are accepted at
    /// `POST /callbacks/payments/{name}`: `[{"name", "tenant", "secret": "whsec_…"}]`.
    #[arg(long, value_name = "FILE", env = "RECOBRO_PAYMENT_PROVIDERS")]
    pub payment_providers: Option<PathBuf>,
    /// JSON file configuring the contact channels (SMTP, SMS and WhatsApp providers,
    /// the outbox directory, job types left to external workers; see docs/contact.md).
    /// Without it every channel is the file channel: messages are written under
    /// `<data dir>/outbox/<channel>/` and recorded as not sent.
    #[arg(long, value_name = "FILE", env = "RECOBRO_CHANNELS")]
    pub channels: Option<PathBuf>,
    /// Case time starts at the real now and moves only when an admin advances it
    /// (`POST /clock/advance`), firing the timers due on the way: for demos, training
    /// and end-to-end runs of whole strategies, never for production.
    #[arg(long, env = "RECOBRO_VIRTUAL_CLOCK")]
    pub virtual_clock: bool,
    /// Directory of contact rule packs (`*.toml`) added to the bundled laws: a new
    /// version of a law, or a creditor's stricter policy (docs/compliance.md).
    #[arg(long, value_name = "DIR", env = "RECOBRO_RULE_PACKS")]
    pub rule_packs: Option<PathBuf>,
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
    // Authentication always keeps the system clock: tokens live in real time.
    let system: Arc<dyn Clock> = Arc::new(services::clock::SystemClock);
    let virtual_clock = args
        .virtual_clock
        .then(|| Arc::new(services::clock::VirtualClock::new(system.now())));
    let case_clock: Arc<dyn Clock> = match &virtual_clock {
        Some(v) => v.clone(),
        None => system.clone(),
    };
    let runtime = services::runtime::Runtime::start_node(
        db.clone(),
        case_clock,
        services::runtime::RuntimeConfig::default(),
        args.node_id()?,
    );
    // On a virtual clock, timers fire only as an admin advances it.
    let timers = match virtual_clock {
        None => Some(services::runtime::timers::spawn(
            runtime.clone(),
            Default::default(),
        )),
        Some(_) => None,
    };
    // One desk, cloned into every part: the clones share the gate, the waiting workers
    // and the delivered marks.
    let desk = services::desk::Desk::new(runtime.clone())
        .with_gate(crate::settings::rule_packs(args.rule_packs.as_deref())?);
    let channels = match &args.channels {
        Some(path) => contact::config::ChannelsConfig::read(path).map_err(anyhow::Error::msg)?,
        None => Default::default(),
    };
    // Cases opened before the ledger get their `amountDue` as an account, journalled.
    let adopted = desk
        .adopt_legacy_debts()
        .await
        .context("cannot carry legacy amountDue into accounts")?;
    if adopted > 0 {
        tracing::info!(cases = adopted, "legacy amountDue carried into accounts");
    }
    let auth = graphql::auth::Auth::new(db.clone(), system.clone(), auth_config)
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
    let documents = documents::DocumentService::new(desk.clone(), documents)
        .context("cannot open the document store")?;
    let (handlers, receipts) =
        builtin_jobs(&desk, &db, &channels, &args.storage.data_dir, &documents)?;
    tracing::info!(handled = ?handlers, "built-in job handlers");
    let jobs = services::runtime::jobs::spawn(runtime.clone(), handlers, Default::default());
    let webhooks = partners::webhooks::deliver::spawn(desk.clone(), Default::default());
    tracing::info!(virtual_clock = args.virtual_clock, "case runtime started");
    // The upload limit follows the document size limit (plus room for the form).
    let limits = graphql::schema::Limits {
        upload_bytes: usize::try_from(documents.config().max_size)
            .unwrap_or(usize::MAX)
            .saturating_add(1024 * 1024),
        ..Default::default()
    };
    let providers = match &args.payment_providers {
        None => graphql::payment_callbacks::PaymentProviders::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let list = serde_json::from_str(&text).with_context(|| {
                format!("{} is not a list of payment providers", path.display())
            })?;
            graphql::payment_callbacks::PaymentProviders::new(list)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
    };
    let app = graphql::app::HttpApp::new(desk.clone(), auth, documents, limits)
        .with_payment_providers(providers)
        .with_contact_receipts(receipts);
    let app = match virtual_clock {
        Some(clock) => app.with_virtual_clock(clock),
        None => app,
    };
    let mut server = HttpServer::new(move || App::new().configure(|cfg| app.configure(cfg)));
    for listener in listeners {
        server = server
            .listen(listener)
            .with_context(|| format!("cannot listen on {}", args.listen))?;
    }
    for addr in server.addrs() {
        tracing::info!(addr = %addr, "listening");
    }
    server.run().await.context("HTTP server failed")?;
    if let Some(timers) = timers {
        timers.stop().await.context("stopping the timer service")?;
    }
    jobs.stop().await.context("stopping the job dispatcher")?;
    webhooks.stop().await;
    tracing::info!("stopped");
    db.close().await.context("closing the database")?;
    Ok(())
}

/// The job handlers `serve` registers — the contact channels (configured connectors,
/// the file channel for the rest) and the partner steps of a strategy (placing, calling
/// the partner's own API, releasing, filing), except the job
/// types the channels file leaves to external workers — and the receipt verifiers of
/// the messaging providers.
fn builtin_jobs(
    desk: &services::desk::Desk,
    db: &sea_orm::DatabaseConnection,
    channels: &contact::config::ChannelsConfig,
    data_dir: &Path,
    documents: &documents::DocumentService,
) -> anyhow::Result<(
    services::runtime::jobs::JobHandlers,
    graphql::contact_callbacks::ContactReceipts,
)> {
    use partners::jobs::{PlaceWithPartner, ReleasePlacement, RequestClaimFiling};
    let connected = channels
        .connect(
            contact::ContactJobs::new(desk.clone(), contact::templates::Templates::new(db.clone())),
            data_dir,
            documents,
            desk.clock().clone(),
        )
        .context("invalid channels configuration")?;
    let receipts = graphql::contact_callbacks::ContactReceipts::new(connected.receipts)
        .map_err(anyhow::Error::msg)?;
    let contact_jobs: Arc<dyn services::runtime::jobs::JobHandler> = Arc::new(connected.jobs);
    let partners = partners::Partners::new(desk.clone());
    let mut handlers = services::runtime::jobs::JobHandlers::default();
    for job_type in channels.job_types() {
        handlers = handlers.with_shared(job_type, contact_jobs.clone());
    }
    if !channels.is_external("partner.place") {
        handlers = handlers.with("partner.place", PlaceWithPartner(partners.clone()));
    }
    if !channels.is_external("case.close") {
        handlers = handlers.with("case.close", ReleasePlacement(partners.clone()));
    }
    if !channels.is_external("partner.call") {
        let apis = partners::partner_api::PartnerApis::new(desk.clock().clone())
            .context("the partner API client")?;
        handlers = handlers.with(
            "partner.call",
            partners::partner_api::CallPartner {
                partners: partners.clone(),
                apis,
            },
        );
    }
    if !channels.is_external("legal.file") {
        handlers = handlers.with("legal.file", RequestClaimFiling(partners));
    }
    Ok((handlers, receipts))
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
