//! The GraphQL API over HTTP (actix-web): schema, authentication, server.

pub mod auth;
pub mod documents_http;
pub mod errors;
pub mod graphiql;
pub mod introspection;
pub mod schema;
pub mod server;
