//! Two indexes of the first `tasks` migration that no query uses any more: every task
//! query names its tenant and is served by the desk's rank-ordered indexes
//! (`ix_tasks_assignee_rank`, `ix_tasks_partner_rank`) or by the primary key. Each index
//! costs an entry on every task opened and, since closing a task changes its `status`,
//! on every task closed: two case transitions' worth of index writes out of about eleven.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Tenant,
    Status,
    Priority,
    Assignee,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "ix_tasks_tenant_status_priority",
            "ix_tasks_assignee_status",
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Tasks::Table).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_tasks_tenant_status_priority")
                    .table(Tasks::Table)
                    .col(Tasks::Tenant)
                    .col(Tasks::Status)
                    .col(Tasks::Priority)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_tasks_assignee_status")
                    .table(Tasks::Table)
                    .col(Tasks::Assignee)
                    .col(Tasks::Status)
                    .to_owned(),
            )
            .await
    }
}
