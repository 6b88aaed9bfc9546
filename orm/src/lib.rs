//! Persistence schema of Recobro: SeaORM entities and migrations.
//!
//! Reserved in the workspace layout (see `docs/decisions/0001-workspace-layout.md`);
//! filled by the durable case runtime (issue 3). Depends on no workspace crate.
