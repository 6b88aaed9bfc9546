//! Command-line settings several commands share: where the data lives (the database),
//! where documents are stored, and the own token issuer's names; and how a command
//! prints an error. Commands depend on this module, never on each other.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use documents::{DocumentConfig, S3Config, StoreConfig};
use graphql::auth::{DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use orm::DatabaseConnection;

/// File name of the embedded database inside the data directory.
pub const SQLITE_FILE: &str = "recobro.db";

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

/// Where documents are stored: S3 when a bucket is given, else `<data dir>/documents`.
/// S3 credentials come from the standard AWS chain (environment, shared credentials and
/// config files with `AWS_PROFILE`, web identity, ECS, EC2 instance metadata).
#[derive(clap::Args, Debug, Clone)]
pub struct StoreArgs {
    /// S3 endpoint URL (MinIO, Ceph, Garage, ...); default: AWS.
    #[arg(long, env = "RECOBRO_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// S3 bucket; documents stay on local disk when absent.
    #[arg(long, env = "RECOBRO_S3_BUCKET", value_name = "NAME")]
    pub s3_bucket: Option<String>,
    #[arg(long, env = "RECOBRO_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// Path-style addressing (endpoint/bucket/key), which most self-hosted stores need.
    #[arg(long, env = "RECOBRO_S3_PATH_STYLE")]
    pub s3_path_style: bool,
    /// Where clients reach this server, for the local store's signed download and
    /// upload links; default: http://<listen address>.
    #[arg(long, env = "RECOBRO_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
}

impl StoreArgs {
    pub fn config(&self, data_dir: &Path, public_url: String) -> DocumentConfig {
        let store = match &self.s3_bucket {
            Some(bucket) => StoreConfig::S3(S3Config {
                endpoint: self.s3_endpoint.clone(),
                region: self.s3_region.clone(),
                bucket: bucket.clone(),
                path_style: self.s3_path_style,
                access_key_id: None,
                secret_access_key: None,
            }),
            None => StoreConfig::Local {
                dir: data_dir.join("documents"),
            },
        };
        DocumentConfig {
            store,
            public_url: self.public_url.clone().unwrap_or(public_url),
            ..DocumentConfig::default()
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct IssuerArgs {
    /// Issuer URL (`iss`); must match the server's.
    #[arg(long, env = "RECOBRO_AUTH_ISSUER", default_value = DEFAULT_ISSUER)]
    pub issuer: String,
    /// Audience (`aud`); must match the server's.
    #[arg(long, env = "RECOBRO_AUTH_AUDIENCE", default_value = DEFAULT_AUDIENCE)]
    pub audience: String,
}

/// `err` and its causes, `: `-separated, leaving out a cause whose text the message
/// before it already includes (many errors display their source as well as expose it).
/// A checking command's exit: 0 when the check passed, 1 when it found something or
/// could not run (the reason on stderr).
pub fn check_exit(result: anyhow::Result<bool>) -> std::process::ExitCode {
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {}", error_chain(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The case runtime on an opened database, on the system clock, for offline commands.
pub fn offline_runtime(db: &sea_orm::DatabaseConnection) -> services::runtime::Runtime {
    services::runtime::Runtime::start(
        db.clone(),
        std::sync::Arc::new(services::clock::SystemClock),
        services::runtime::RuntimeConfig::default(),
    )
}

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

/// The bundled law packs plus every `*.toml` in `dir`; a pack that does not parse or
/// contradicts itself stops the command with its file, line and reason.
pub fn rule_packs(
    dir: Option<&Path>,
) -> anyhow::Result<std::sync::Arc<collections::compliance::Gate>> {
    let Some(dir) = dir else {
        return Ok(services::desk::compliance::bundled_gate());
    };
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the rule pack directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut packs = Vec::with_capacity(files.len());
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read the rule pack {}", file.display()))?;
        packs.push(
            collections::compliance::RulePack::parse(&file.display().to_string(), &text)
                .map_err(|e| anyhow::anyhow!("invalid rule pack {e}"))?,
        );
    }
    Ok(std::sync::Arc::new(
        collections::compliance::Gate::with_bundled(packs)
            .map_err(|e| anyhow::anyhow!("invalid rule packs: {e}"))?,
    ))
}
