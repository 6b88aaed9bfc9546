//! `recobro token issue` mints a bearer token from the embedded issuer, and
//! `recobro client create|revoke|list` manages OAuth2 API clients of partner systems.
//! Both open the same database as `recobro serve` (creating and migrating it if needed,
//! so the signing key is the one the server will publish).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use graphql::auth::{Auth, AuthConfig};
use services::access::{Principal, Role};
use services::clock::SystemClock;

use crate::settings::{self, IssuerArgs, StorageArgs};

#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Print a signed bearer token for a principal.
    Issue(IssueArgs),
}

#[derive(clap::Args, Debug)]
pub struct PrincipalArgs {
    /// admin, supervisor, agent, partner or auditor.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// Partner organisation (required for, and only allowed with, --role partner).
    #[arg(long)]
    pub partner: Option<String>,
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// Candidate group (task queue); repeat for several.
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct IssueArgs {
    #[command(flatten)]
    pub principal: PrincipalArgs,
    /// Subject (`sub`): the acting identity recorded in case histories.
    #[arg(long, default_value = "cli")]
    pub subject: String,
    /// Lifetime: a number with s, m, h or d (`90m`, `1h`, `7d`).
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub ttl: chrono::Duration,
    #[command(flatten)]
    pub issuer: IssuerArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(clap::Subcommand, Debug)]
pub enum ClientCommand {
    /// Register an API client; prints its id and secret (the secret is shown only once).
    Create {
        #[command(flatten)]
        principal: PrincipalArgs,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Revoke an API client: it can get no more tokens.
    Revoke {
        client_id: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// List API clients (never their secrets).
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s)
        .ok_or_else(|| "expected admin, supervisor, agent, partner, auditor or worker".into())
}

fn parse_ttl(s: &str) -> Result<chrono::Duration, String> {
    let err = || format!("`{s}`: expected a positive number with s, m, h or d, like 1h");
    let unit = s.chars().last().ok_or_else(err)?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().map_err(|_| err())?;
    let d = match unit {
        's' => chrono::Duration::try_seconds(n),
        'm' => chrono::Duration::try_minutes(n),
        'h' => chrono::Duration::try_hours(n),
        'd' => chrono::Duration::try_days(n),
        _ => None,
    };
    d.filter(|d| *d > chrono::Duration::zero()).ok_or_else(err)
}

impl PrincipalArgs {
    fn principal(&self, subject: &str) -> anyhow::Result<Principal> {
        Principal::new(
            subject,
            self.tenant.clone(),
            self.role,
            self.partner.clone(),
            self.groups.clone(),
        )
        .map_err(|e| match e {
            services::access::PrincipalError::PartnerMissing => {
                anyhow::anyhow!("--role partner needs --partner ORGANISATION")
            }
            services::access::PrincipalError::PartnerNotAllowed => {
                anyhow::anyhow!("--partner is only allowed with --role partner")
            }
            other => anyhow::anyhow!("{other}"),
        })
    }
}

pub fn token(cmd: TokenCommand) -> ExitCode {
    let TokenCommand::Issue(args) = cmd;
    finish(run(async move {
        let principal = args.principal.principal(&args.subject)?;
        let config = AuthConfig {
            issuer: args.issuer.issuer.clone(),
            audience: args.issuer.audience.clone(),
            ..AuthConfig::default()
        };
        let db = open(&args.storage).await?;
        let auth = Auth::new(db, Arc::new(SystemClock), config)
            .await
            .context("cannot load the signing key")?;
        println!("{}", auth.issuer().issue(&principal, args.ttl)?);
        Ok(())
    }))
}

pub fn client(cmd: ClientCommand) -> ExitCode {
    finish(run(async move {
        match cmd {
            ClientCommand::Create { principal, storage } => {
                // Validates the role/partner binding before touching the database.
                principal.principal("client")?;
                let clients = clients(&storage).await?;
                let (client, secret) = clients
                    .create(
                        &principal.tenant,
                        principal.role,
                        principal.partner,
                        principal.groups,
                    )
                    .await?;
                println!("client_id={}", client.client_id);
                println!("client_secret={secret}");
            }
            ClientCommand::Revoke { client_id, storage } => {
                let client = clients(&storage).await?.revoke(&client_id).await?;
                println!("revoked {}", client.client_id);
            }
            ClientCommand::List { tenant, storage } => {
                for c in clients(&storage).await?.list(tenant.as_deref()).await? {
                    let status = match c.revoked_at {
                        Some(at) => format!("revoked {}", at.to_rfc3339()),
                        None => "active".into(),
                    };
                    println!(
                        "{} tenant={} role={} partner={} groups={} created={} {status}",
                        c.client_id,
                        c.tenant,
                        c.role,
                        c.partner.as_deref().unwrap_or("-"),
                        c.groups.join(","),
                        c.created_at.to_rfc3339(),
                    );
                }
            }
        }
        Ok(())
    }))
}

async fn open(storage: &StorageArgs) -> anyhow::Result<orm::DatabaseConnection> {
    let target = storage.target(true)?;
    let db = settings::open(&target).await?;
    orm::migrate(&db)
        .await
        .with_context(|| format!("cannot migrate the {}", target.description))?;
    Ok(db)
}

async fn clients(storage: &StorageArgs) -> anyhow::Result<graphql::auth::ApiClients> {
    Ok(graphql::auth::ApiClients::new(
        open(storage).await?,
        Arc::new(SystemClock),
    ))
}

fn run(f: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let runtime = actix_web::rt::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(f)
}

fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", settings::error_chain(&err));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("90m"), Ok(chrono::Duration::minutes(90)));
        assert_eq!(parse_ttl("1h"), Ok(chrono::Duration::hours(1)));
        assert_eq!(parse_ttl("7d"), Ok(chrono::Duration::days(7)));
        for bad in ["", "h", "0h", "-1h", "1w", "1.5h"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn partner_binding_errors_name_the_flags() {
        let args = PrincipalArgs {
            role: Role::Agent,
            partner: Some("lawco".into()),
            tenant: "t".into(),
            groups: vec![],
        };
        let err = args.principal("s").unwrap_err().to_string();
        assert!(
            err.contains("--partner is only allowed with --role partner"),
            "{err}"
        );
    }
}
