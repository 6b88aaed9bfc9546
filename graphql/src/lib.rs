//! The GraphQL API: schema, auth guards, dataloaders, error codes, actix-web routes.
//!
//! Reserved in the workspace layout (see `docs/decisions/0001-workspace-layout.md`).
//! Depends on `services` and `partners` only.
