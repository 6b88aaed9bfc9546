//! `partner.call`: sends a case to the API of the partner it is placed with, and keeps
//! the partner's answer as case variables. Task headers say what is sent:
//!
//! - `path` (required): appended to the partner's base URL; `{caseId}` is replaced;
//! - `method`: POST (default), PUT, PATCH, GET or DELETE (the last two send no body);
//! - `variables`: the variables sent, comma-separated: only these, with the case id and
//!   reference, leave Recobro (data minimisation, decision 0023);
//! - `resultVariable`: the variable the answer is kept under; without it a JSON object
//!   answer is merged into the case variables.
//!
//! A partner that is down (5xx, network) is tried again with the dispatcher's back-off;
//! one that refuses the call (4xx), a case not placed, or a partner without an API is an
//! incident a person resolves.

use reqwest::Method;
use serde_json::{Map, Value, json};
use services::runtime::jobs::{JobFailure, JobFuture, JobHandler, JobRun};

use super::{PartnerApiError, PartnerApis, api_of};
use crate::Partners;
use crate::jobs::{retry, system};

/// `partner.call`.
#[derive(Clone, Debug)]
pub struct CallPartner {
    pub partners: Partners,
    pub apis: PartnerApis,
}

fn incident(message: String) -> JobFailure {
    JobFailure::Incident { message }
}

/// What the task's headers ask for.
#[derive(Debug, PartialEq)]
struct Call {
    method: Method,
    path: String,
    variables: Vec<String>,
    result: Option<String>,
}

fn valid_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// The call a task's headers describe, for case `case_id`.
fn call_of(
    headers: &std::collections::BTreeMap<String, String>,
    case_id: &str,
) -> Result<Call, String> {
    let method = match headers.get("method").map(|m| m.trim().to_ascii_uppercase()) {
        None => Method::POST,
        Some(m) => match m.as_str() {
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "PATCH" => Method::PATCH,
            "GET" => Method::GET,
            "DELETE" => Method::DELETE,
            _ => {
                return Err(format!(
                    "task header method {m:?} is not POST, PUT, PATCH, GET or DELETE"
                ));
            }
        },
    };
    let raw = headers
        .get("path")
        .map(|p| p.trim())
        .ok_or("a partner.call task needs a header path (appended to the partner's base URL)")?;
    let encoded: String = url::form_urlencoded::byte_serialize(case_id.as_bytes()).collect();
    let path = raw.replace("{caseId}", &encoded);
    // The path stays under the base URL: no other host, no climbing out of it.
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/-._~!$&'()*+,;=:@%?".contains(c);
    if !path.starts_with('/')
        || path.starts_with("//")
        || path.len() > 1000
        || !path.chars().all(allowed)
        || path
            .split(['/', '?'])
            .map(|seg| seg.to_ascii_lowercase().replace("%2e", "."))
            .any(|seg| seg == ".." || seg == ".")
    {
        return Err(format!(
            "task header path {raw:?} must start with '/' and hold only URL path characters, without '.' or '..' segments"
        ));
    }
    let variables: Vec<String> = headers
        .get("variables")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = variables.iter().find(|v| !valid_name(v)) {
        return Err(format!(
            "task header variables names {bad:?}, not a variable name"
        ));
    }
    if !variables.is_empty() && matches!(method, Method::GET | Method::DELETE) {
        return Err(format!(
            "a {method} call sends no body: drop the task header variables"
        ));
    }
    let result = headers.get("resultVariable").map(|r| r.trim().to_string());
    if let Some(r) = &result
        && !valid_name(r)
    {
        return Err(format!(
            "task header resultVariable {r:?} is not a variable name"
        ));
    }
    Ok(Call {
        method,
        path,
        variables,
        result,
    })
}

/// The body sent: the case's id and reference and the named variables, nothing else.
fn body_of(
    call: &Call,
    case_id: &str,
    reference: Option<&str>,
    vars: &Map<String, Value>,
) -> Result<Option<Value>, String> {
    if matches!(call.method, Method::GET | Method::DELETE) {
        return Ok(None);
    }
    let mut sent = Map::new();
    for name in &call.variables {
        let value = vars.get(name).ok_or_else(|| {
            format!("the task sends variable {name:?}, which the case does not have")
        })?;
        sent.insert(name.clone(), value.clone());
    }
    Ok(Some(json!({
        "caseId": case_id,
        "reference": reference,
        "variables": sent,
    })))
}

/// The partner's answer as the job's result variables.
fn result_of(call: &Call, answer: Value) -> Result<Map<String, Value>, String> {
    match (&call.result, answer) {
        (Some(name), answer) => Ok(Map::from_iter([(name.clone(), answer)])),
        (None, Value::Object(fields)) => Ok(fields),
        (None, Value::Null) => Ok(Map::new()),
        (None, other) => Err(format!(
            "the partner answered {}, not a JSON object: name a task header resultVariable to keep it",
            match other {
                Value::Array(_) => "a list",
                Value::String(_) => "a string",
                _ => "a bare value",
            }
        )),
    }
}

impl JobHandler for CallPartner {
    fn run<'a>(&'a self, job: JobRun<'a>) -> JobFuture<'a> {
        Box::pin(async move {
            let call = call_of(&job.spec.headers, job.case_id).map_err(incident)?;
            let desk = &self.partners.desk;
            let p = system(&job)?;
            let state = desk.runtime().case(job.case_id).await.map_err(retry)?;
            let Some(placement) = state.and_then(|s| s.placement) else {
                return Err(incident(format!(
                    "case {} is not placed with a partner: there is no partner API to call",
                    job.case_id
                )));
            };
            let partner = self
                .partners
                .get(&p, &placement.partner)
                .await
                .map_err(retry)?;
            let Some(config) = api_of(&partner).map_err(|e| incident(e.to_string()))? else {
                return Err(incident(format!(
                    "partner {:?} has no API configured (setPartnerApi)",
                    partner.name
                )));
            };
            let case = desk.case(&p, job.case_id).await.map_err(retry)?;
            let body = body_of(
                &call,
                job.case_id,
                case.external_ref.as_deref(),
                job.variables,
            )
            .map_err(incident)?;
            let answer = self
                .apis
                .call(
                    job.tenant,
                    &partner.partner_id,
                    &config,
                    call.method.clone(),
                    &call.path,
                    body.as_ref(),
                )
                .await
                .map_err(|e| match e {
                    PartnerApiError::Unavailable(_) => retry(format!("{}: {e}", partner.name)),
                    e => incident(format!("{}: {e}", partner.name)),
                })?;
            result_of(&call, answer).map_err(incident)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn headers_name_the_call_and_what_is_sent() {
        let call = call_of(
            &headers(&[
                ("path", "/cases/{caseId}/notify"),
                ("variables", "amountDue, dueDate"),
            ]),
            "C 1",
        )
        .unwrap();
        assert_eq!(call.method, Method::POST);
        assert_eq!(call.path, "/cases/C+1/notify");
        assert_eq!(call.variables, ["amountDue", "dueDate"]);
        let vars = Map::from_iter([
            ("amountDue".to_string(), json!(1200)),
            ("dueDate".to_string(), json!("2026-04-01")),
            ("debtorPhone".to_string(), json!("+57 300")),
        ]);
        let body = body_of(&call, "C-1", Some("R-9"), &vars).unwrap().unwrap();
        assert_eq!(
            body,
            json!({"caseId": "C-1", "reference": "R-9", "variables": {"amountDue": 1200, "dueDate": "2026-04-01"}})
        );
        let missing = call_of(&headers(&[("path", "/x"), ("variables", "nope")]), "C").unwrap();
        assert!(
            body_of(&missing, "C", None, &vars)
                .unwrap_err()
                .contains("nope")
        );
    }

    #[test]
    fn bad_headers_are_refused_with_their_name() {
        for (h, why) in [
            (headers(&[]), "path"),
            (headers(&[("path", "cases")]), "path"),
            (headers(&[("path", "//evil.example/x")]), "path"),
            (headers(&[("path", "/a/../../admin")]), "path"),
            (headers(&[("path", "/a/%2e%2E/admin")]), "path"),
            (headers(&[("path", "/a#b")]), "path"),
            (headers(&[("path", "/a"), ("method", "TRACE")]), "method"),
            (
                headers(&[("path", "/a"), ("method", "GET"), ("variables", "x")]),
                "variables",
            ),
            (
                headers(&[("path", "/a"), ("variables", "a b")]),
                "variables",
            ),
            (
                headers(&[("path", "/a"), ("resultVariable", "")]),
                "resultVariable",
            ),
        ] {
            let e = call_of(&h, "C-1").unwrap_err();
            assert!(e.contains(why), "{h:?}: {e}");
        }
    }

    #[test]
    fn answers_become_variables() {
        let merge = call_of(&headers(&[("path", "/a")]), "C").unwrap();
        assert_eq!(
            result_of(&merge, json!({"accepted": true})).unwrap(),
            Map::from_iter([("accepted".to_string(), json!(true))])
        );
        assert!(
            result_of(&merge, json!([1]))
                .unwrap_err()
                .contains("resultVariable")
        );
        assert!(result_of(&merge, Value::Null).unwrap().is_empty());
        let named = call_of(
            &headers(&[("path", "/a"), ("resultVariable", "agency")]),
            "C",
        )
        .unwrap();
        assert_eq!(
            result_of(&named, json!([1])).unwrap(),
            Map::from_iter([("agency".to_string(), json!([1]))])
        );
    }

    proptest! {
        // A path a model author writes never leaves the partner's base URL.
        #[test]
        fn a_taken_path_stays_under_the_base_url(
            path in "/(/|\\.|%2[eE]|[a-z?{}]|\\PC){0,40}",
            case in "\\PC{0,10}",
        ) {
            if let Ok(call) = call_of(&headers(&[("path", &path)]), &case) {
                let base = "https://api.agency.example/v1";
                let url = url::Url::parse(&format!("{base}{}", call.path)).unwrap();
                prop_assert_eq!(url.host_str(), Some("api.agency.example"));
                prop_assert!(url.path().starts_with("/v1/"), "{}", url);
            }
        }
    }
}
