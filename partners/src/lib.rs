//! Partner organisations (collection agencies, law firms): placements and outbound
//! delivery through the outbox, and the API clients partner systems log in with.
//!
//! Depends on `services` (and `orm` for its tables).

mod admin;
pub mod api_clients;

pub use api_clients::{ApiClient, ApiClientError, ApiClients};
