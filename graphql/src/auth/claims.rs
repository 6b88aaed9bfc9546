//! Verified JWT claims -> [`Principal`], by a [`ClaimMapping`].

use serde_json::Value;
use services::access::{Principal, Role};

use super::AuthError;
use super::config::ClaimMapping;

/// The value at a claim path: the whole name first (Auth0 namespaced claims are URLs
/// full of dots), then as a dotted path through nested objects.
pub(crate) fn lookup<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    path.split('.').try_fold(claims, |v, key| v.get(key))
}

/// A string claim, or each string of an array claim.
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn string(claims: &Value, path: Option<&str>) -> Option<String> {
    path.and_then(|p| lookup(claims, p))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The Recobro role the token's roles grant (see [`ClaimMapping::role_map`]).
fn role(mapping: &ClaimMapping, claims: &Value) -> Option<Role> {
    let granted: Vec<Role> = strings(lookup(claims, &mapping.roles))
        .iter()
        .filter_map(|name| {
            if mapping.role_map.is_empty() {
                Role::parse(name)
            } else {
                mapping.role_map.get(name).copied()
            }
        })
        .collect();
    Role::ALL.into_iter().find(|r| granted.contains(r))
}

pub(crate) fn principal(mapping: &ClaimMapping, claims: &Value) -> Result<Principal, AuthError> {
    let subject = string(claims, Some(&mapping.subject))
        .ok_or_else(|| AuthError::InvalidClaims(format!("no `{}` claim", mapping.subject)))?;
    let role = role(mapping, claims).ok_or(AuthError::NoRole)?;
    let tenant = string(claims, mapping.tenant_claim.as_deref())
        .or_else(|| mapping.tenant.clone())
        .ok_or_else(|| AuthError::InvalidClaims("no tenant".into()))?;
    // Providers often carry an organisation attribute for everyone; it binds partners only.
    let partner = match role {
        Role::Partner => string(claims, mapping.partner_claim.as_deref()),
        _ => None,
    };
    let groups = strings(
        mapping
            .groups_claim
            .as_deref()
            .and_then(|p| lookup(claims, p)),
    );
    Principal::new(subject, tenant, role, partner, groups)
        .map_err(|e| AuthError::InvalidClaims(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn keycloak() -> ClaimMapping {
        ClaimMapping {
            roles: "realm_access.roles".into(),
            role_map: [("collector".to_owned(), Role::Agent)].into(),
            tenant: Some("acme".into()),
            groups_claim: Some("groups".into()),
            ..ClaimMapping::default()
        }
    }

    #[test]
    fn nested_and_namespaced_paths() {
        let c = json!({"a": {"b": 1}, "https://x.example/roles": ["admin"]});
        assert_eq!(lookup(&c, "a.b"), Some(&json!(1)));
        assert_eq!(
            lookup(&c, "https://x.example/roles"),
            Some(&json!(["admin"]))
        );
        assert_eq!(lookup(&c, "a.c"), None);
    }

    #[test]
    fn keycloak_realm_roles_map() {
        let c = json!({"sub": "u1", "realm_access": {"roles": ["offline_access", "collector"]},
                       "groups": ["early"]});
        let p = principal(&keycloak(), &c).unwrap();
        assert_eq!(
            (p.role, p.tenant.as_str(), p.groups),
            (Role::Agent, "acme", vec!["early".to_owned()])
        );
    }

    #[test]
    fn unmapped_roles_grant_nothing() {
        let c = json!({"sub": "u1", "realm_access": {"roles": ["admin"]}});
        assert!(matches!(principal(&keycloak(), &c), Err(AuthError::NoRole)));
    }

    #[test]
    fn most_privileged_mapped_role_wins() {
        let c = json!({"sub": "u", "roles": ["auditor", "supervisor"], "tenant": "t"});
        let m = ClaimMapping {
            tenant_claim: Some("tenant".into()),
            ..ClaimMapping::default()
        };
        assert_eq!(principal(&m, &c).unwrap().role, Role::Supervisor);
    }

    #[test]
    fn partner_needs_partner_claim() {
        let c = json!({"sub": "u", "role": "partner", "tenant": "t"});
        assert!(matches!(
            principal(&ClaimMapping::own(), &c),
            Err(AuthError::InvalidClaims(_))
        ));
    }
}
