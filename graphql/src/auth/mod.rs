//! Authentication: bearer JWTs from Recobro's own issuer or an external OIDC provider.
