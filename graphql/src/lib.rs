//! Recobro over HTTP (actix-web): the GraphQL API (schema, limits, error codes,
//! graphql-ws subscriptions), authentication (the own token issuer and its keys, OAuth2
//! API clients, external OIDC issuers), signed document links and the probes — mounted
//! together by [`app::HttpApp`].
//!
//! Resolvers and handlers only translate: rules live in `services` (the desk),
//! `documents` and `partners`.

pub mod app;
pub mod auth;
pub mod clock_http;
pub mod contact_callbacks;
pub mod documents_http;
pub mod errors;
pub mod graphiql;
pub mod introspection;
pub mod payment_callbacks;
pub mod schema;
pub mod server;
