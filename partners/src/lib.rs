//! Partner organisations (collection agencies, law firms): placements and outbound
//! delivery through the outbox.
//!
//! Reserved in the workspace layout (see `docs/decisions/0001-workspace-layout.md`).
//! Depends on `services` only.
