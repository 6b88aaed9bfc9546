//! The graphql crate's one integration-test binary.

mod api;
mod auth;
