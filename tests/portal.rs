//! The README's walk-through against the real binary with the embedded default: an
//! operator mints tokens with `recobro token issue`, a supervisor deploys and places,
//! an agent works the queue, a partner API client gets its token at /oauth/token, an
//! auditor verifies the history — all through HTTP.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use serde_json::{Value, json};

use crate::serve::{Server, TempDir, recobro};

const MODEL: &str = include_str!("../docs/examples/collections-lite.bpmn");

/// A minimal HTTP/1.1 POST: status code and JSON body.
pub(crate) fn http_post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).expect("connect to serve");
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(stream, "{head}\r\n{body}").expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let (head, body) = response.split_once("\r\n\r\n").expect("response");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")),
    )
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

pub(crate) fn graphql(addr: SocketAddr, token: &str, query: &str, variables: Value) -> Value {
    let body = json!({"query": query, "variables": variables}).to_string();
    let auth = format!("Bearer {token}");
    let (status, body) = http_post(
        addr,
        "/graphql",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &body,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}\n{query}");
    body["data"].clone()
}

pub(crate) fn token(dir: &TempDir, args: &[&str]) -> String {
    token_with(dir, &[], args)
}

/// A token of the node's own issuer, minted by `recobro token issue` with `env` (the
/// database the server uses).
pub(crate) fn token_with(dir: &TempDir, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = recobro()
        .args(["token", "issue", "--data-dir", dir.0.to_str().unwrap()])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn collections_portal_end_to_end_on_the_embedded_default() {
    let dir = TempDir::new();
    let server = Server::start(&["--data-dir", dir.0.to_str().unwrap()], &[]);
    let addr = server.addr;
    let supervisor = token(&dir, &["--role", "supervisor", "--subject", "sam"]);
    let agent = token(
        &dir,
        &[
            "--role",
            "agent",
            "--subject",
            "alex",
            "--group",
            "early-collectors",
        ],
    );
    let auditor = token(&dir, &["--role", "auditor", "--subject", "aud"]);
    let (status, jwks) = server.get("/.well-known/jwks.json");
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"][0]["alg"], "RS256");

    graphql(
        addr,
        &supervisor,
        "mutation($x: String!) { deployProcess(name: \"lite.bpmn\", xml: $x) { created } }",
        json!({"x": MODEL}),
    );
    let law_firm = graphql(
        addr,
        &supervisor,
        "mutation { registerPartner(name: \"Lex & Co\", kind: LAW_FIRM) { id } }",
        json!({}),
    )["registerPartner"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let case = graphql(
        addr,
        &agent,
        "mutation { openCase(input: {processId: \"collections-lite\", externalRef: \"L-1\",
            debtor: {id: \"D-1\", name: \"Dana\"}, amountDue: 2500, currency: \"EUR\"}) { caseId } }",
        json!({}),
    )["openCase"]["caseId"]
        .as_str()
        .unwrap()
        .to_string();
    let agenda = graphql(
        addr,
        &agent,
        "{ agenda(first: 10) { task { id } reasons } }",
        json!({}),
    );
    let task = agenda["agenda"][0]["task"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    graphql(
        addr,
        &agent,
        "mutation($t: ID!) { completeTask(taskId: $t, variables: {reached: true}) { seq } }",
        json!({"t": task}),
    );
    graphql(
        addr,
        &supervisor,
        "mutation($c: ID!, $p: ID!) { placeCase(caseId: $c, partnerId: $p) { seq } }",
        json!({"c": case, "p": law_firm}),
    );

    // The law firm's integration: an API client with the client-credentials grant.
    let out = recobro()
        .args([
            "client",
            "create",
            "--role",
            "partner",
            "--partner",
            &law_firm,
        ])
        .args(["--data-dir", dir.0.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {name} in {printed}"))
    };
    let (client_id, secret) = (field("client_id="), field("client_secret="));
    let form =
        format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
    let (status, grant) = http_post(
        addr,
        "/oauth/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    );
    assert_eq!(status, 200, "{grant}");
    let partner = grant["access_token"].as_str().unwrap().to_string();
    let cases = graphql(
        addr,
        &partner,
        "{ cases { edges { node { id } } } }",
        json!({}),
    );
    assert_eq!(cases["cases"]["edges"][0]["node"]["id"], case.as_str());
    graphql(
        addr,
        &partner,
        "mutation($c: ID!) { acceptPlacement(caseId: $c) { seq } }",
        json!({"c": case}),
    );

    let check = graphql(
        addr,
        &auditor,
        "query($c: ID!) { case(id: $c) { history { actor } historyCheck { valid entries } } }",
        json!({"c": case}),
    );
    assert_eq!(check["case"]["historyCheck"]["valid"], true);
    let actors: Vec<&str> = check["case"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert!(
        actors.iter().any(|a| a.starts_with("partner:")),
        "{actors:?}"
    );
    let (status, _) = server.terminate();
    assert!(status.success());
}
