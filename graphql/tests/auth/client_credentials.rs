//! `POST /oauth/token`, client-credentials grant (RFC 6749 §4.4), for partner API clients.

use graphql::auth::ApiClientError;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::Value;
use services::access::Role;
use services::clock::Clock;

use super::support::{Server, config, on_both, start};

const FORM: &str = "application/x-www-form-urlencoded";

async fn post(s: &Server, basic: Option<(&str, &str)>, body: &str) -> (u16, Value) {
    let mut req = s
        .http
        .post(format!("{}/oauth/token", s.base))
        .header("content-type", FORM)
        .body(body.to_owned());
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    if status != 200 {
        assert_eq!(r.headers()["cache-control"], "no-store");
    }
    (status, r.json().await.unwrap())
}

async fn client_credentials_flow(db: &DatabaseConnection) {
    let s = start(db, config()).await;
    let clients = s.auth.api_clients();
    let (client, secret) = clients
        .create(
            "acme",
            Role::Partner,
            Some("lawco".into()),
            vec!["legal".into()],
        )
        .await
        .unwrap();
    let id = client.client_id.as_str();

    // HTTP Basic.
    let (status, body) = post(&s, Some((id, &secret)), "grant_type=client_credentials").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let (status, me) = s.whoami(body["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(me["subject"], id);
    assert_eq!(me["tenant"], "acme");
    assert_eq!(me["role"], "partner");
    assert_eq!(me["partner"], "lawco");
    assert_eq!(me["groups"], serde_json::json!(["legal"]));

    // Form fields.
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    assert_eq!(post(&s, None, &form).await.0, 200);

    // Wrong secret, unknown client, no credentials: invalid_client, 401.
    for (creds, body) in [
        (
            Some((id, "wrong")),
            "grant_type=client_credentials".to_owned(),
        ),
        (
            Some(("rc_nobody", secret.as_str())),
            "grant_type=client_credentials".to_owned(),
        ),
        (
            None,
            format!("grant_type=client_credentials&client_id={id}&client_secret=x"),
        ),
        (None, "grant_type=client_credentials".to_owned()),
    ] {
        let (status, err) = post(&s, creds, &body).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (401, Some("invalid_client")),
            "{body}"
        );
    }

    // Wrong or missing grant type; both auth methods at once; repeated parameters.
    let (status, err) = post(
        &s,
        Some((id, &secret)),
        "grant_type=password&username=a&password=b",
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, err) = post(&s, Some((id, &secret)), "").await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, err) = post(&s, Some((id, &secret)), &form).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let twice = "grant_type=client_credentials&grant_type=client_credentials";
    assert_eq!(post(&s, Some((id, &secret)), twice).await.0, 400);

    // Not a form.
    let r = s
        .http
        .post(format!("{}/oauth/token", s.base))
        .basic_auth(id, Some(&secret))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"], "invalid_request");

    // Revoked: refused from then on, and listed as revoked.
    let revoked = clients.revoke(id).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(s.clock.now()));
    let (status, err) = post(&s, Some((id, &secret)), "grant_type=client_credentials").await;
    assert_eq!(
        (status, err["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let listed = clients.list(Some("acme")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].revoked_at.is_some());
    assert!(clients.list(Some("other")).await.unwrap().is_empty());
}
on_both!(flow, super::client_credentials_flow);

async fn secrets_are_stored_hashed_and_bindings_checked(db: &DatabaseConnection) {
    let s = start(db, config()).await;
    let clients = s.auth.api_clients();
    let (client, secret) = clients
        .create("acme", Role::Agent, None, vec![])
        .await
        .unwrap();
    let row = orm::entities::api_clients::Entity::find_by_id(client.client_id.clone())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        row.secret_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert!(!row.secret_hash.contains(&secret));
    assert!(matches!(
        clients.create("acme", Role::Partner, None, vec![]).await,
        Err(ApiClientError::Principal(_))
    ));
    assert!(matches!(
        clients
            .create("acme", Role::Agent, Some("lawco".into()), vec![])
            .await,
        Err(ApiClientError::Principal(_))
    ));
    assert!(matches!(
        clients.revoke("rc_nobody").await,
        Err(ApiClientError::NotFound(_))
    ));
}
on_both!(
    hashed,
    super::secrets_are_stored_hashed_and_bindings_checked
);
