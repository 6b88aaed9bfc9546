//! `recobro token issue` and `recobro client create|list|revoke` against a data
//! directory, as an operator would run them; the token is checked by an `Auth` over the
//! same database, as `recobro serve` would.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;

use graphql::auth::{Auth, AuthConfig};
use services::access::Role;
use services::clock::SystemClock;

struct DataDir(PathBuf);

impl DataDir {
    fn new() -> DataDir {
        let dir = std::env::temp_dir().join(format!("recobro-e2e-token-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        DataDir(dir)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_recobro"))
            .args(args)
            .arg("--data-dir")
            .arg(&self.0)
            .env_remove("RECOBRO_DATABASE_URL")
            .output()
            .expect("run the recobro binary")
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

#[tokio::test]
async fn token_issue_and_api_clients() {
    let dir = DataDir::new();
    let out = dir.run(&[
        "token",
        "issue",
        "--role",
        "partner",
        "--partner",
        "lawco",
        "--subject",
        "kim",
        "--group",
        "legal",
        "--ttl",
        "15m",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();

    let url = format!("sqlite://{}/recobro.db?mode=rw", dir.0.display());
    let db = orm::connect(&url).await.unwrap();
    let auth = Auth::new(db.clone(), Arc::new(SystemClock), AuthConfig::default())
        .await
        .unwrap();
    let p = auth
        .authenticate(&token)
        .await
        .expect("the server accepts it");
    assert_eq!(
        (p.subject.as_str(), p.role, p.partner.as_deref()),
        ("kim", Role::Partner, Some("lawco"))
    );
    assert_eq!(
        (p.tenant.as_str(), p.groups),
        ("default", vec!["legal".to_owned()])
    );

    let out = dir.run(&["token", "issue", "--role", "agent", "--partner", "lawco"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--partner is only allowed with --role partner"));
    let out = dir.run(&["token", "issue", "--role", "partner"]);
    assert!(text(&out.stderr).contains("--role partner needs --partner"));
    let out = dir.run(&["token", "issue", "--role", "root"]);
    assert_eq!(out.status.code(), Some(2), "clap rejects an unknown role");

    let out = dir.run(&[
        "client",
        "create",
        "--role",
        "partner",
        "--partner",
        "lawco",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let created = text(&out.stdout);
    let field = |name: &str| {
        created
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .to_owned()
    };
    let (id, secret) = (field("client_id="), field("client_secret="));
    assert_eq!(
        auth.api_clients()
            .verify(&id, &secret)
            .await
            .unwrap()
            .client_id,
        id
    );

    let listed = text(&dir.run(&["client", "list"]).stdout);
    assert!(listed.contains(&id) && listed.contains("active") && !listed.contains(&secret));
    assert!(dir.run(&["client", "revoke", &id]).status.success());
    assert!(text(&dir.run(&["client", "list"]).stdout).contains("revoked"));
    assert!(auth.api_clients().verify(&id, &secret).await.is_err());
    db.close().await.unwrap();
}
