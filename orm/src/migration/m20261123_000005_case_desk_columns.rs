use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Cases {
    Table,
    Tenant,
    CaseId,
    DebtorId,
    Owner,
    Partner,
    PlacementStatus,
    AmountDueMinor,
    Currency,
    DelinquentSince,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Tasks {
    Table,
    Tenant,
    Partner,
    Assignee,
    Status,
    Rank,
    AmountDueMinor,
}

/// SQLite alters one column per statement, so each column is its own `ALTER TABLE`.
async fn add(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + Copy,
    col: ColumnDef,
) -> Result<(), DbErr> {
    let mut col = col;
    manager
        .alter_table(Table::alter().table(table).add_column(&mut col).to_owned())
        .await
}

async fn drop(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + Copy,
    col: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(col).to_owned())
        .await
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden + Copy,
    cols: Vec<DynIden>,
) -> Result<(), DbErr> {
    let mut ix = Index::create();
    ix.name(name).table(table);
    for c in cols {
        ix.col(c);
    }
    manager.create_index(ix.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Cases as C;
        use Tasks as T;
        add(manager, C::Table, string_null(C::DebtorId)).await?;
        add(manager, C::Table, string_null(C::Owner)).await?;
        add(manager, C::Table, string_null(C::Partner)).await?;
        add(manager, C::Table, string_null(C::PlacementStatus)).await?;
        add(manager, C::Table, big_integer_null(C::AmountDueMinor)).await?;
        add(manager, C::Table, string_null(C::Currency)).await?;
        add(manager, C::Table, date_null(C::DelinquentSince)).await?;
        add(manager, T::Table, string_null(T::Partner)).await?;
        add(
            manager,
            T::Table,
            big_integer(T::Rank).default(0).to_owned(),
        )
        .await?;
        add(manager, T::Table, big_integer_null(T::AmountDueMinor)).await?;
        // Every case listing is keyset-paged in (created_at, case_id) order per tenant.
        index(
            manager,
            "ix_cases_tenant_created",
            C::Table,
            vec![
                C::Tenant.into_iden(),
                C::CreatedAt.into_iden(),
                C::CaseId.into_iden(),
            ],
        )
        .await?;
        index(
            manager,
            "ix_cases_tenant_partner",
            C::Table,
            vec![
                C::Tenant.into_iden(),
                C::Partner.into_iden(),
                C::CreatedAt.into_iden(),
            ],
        )
        .await?;
        index(
            manager,
            "ix_cases_tenant_owner",
            C::Table,
            vec![
                C::Tenant.into_iden(),
                C::Owner.into_iden(),
                C::CreatedAt.into_iden(),
            ],
        )
        .await?;
        index(
            manager,
            "ix_cases_tenant_delinquent",
            C::Table,
            vec![C::Tenant.into_iden(), C::DelinquentSince.into_iden()],
        )
        .await?;
        index(
            manager,
            "ix_cases_tenant_amount",
            C::Table,
            vec![C::Tenant.into_iden(), C::AmountDueMinor.into_iden()],
        )
        .await?;
        index(
            manager,
            "ix_tasks_assignee_rank",
            T::Table,
            vec![
                T::Tenant.into_iden(),
                T::Assignee.into_iden(),
                T::Status.into_iden(),
                T::Rank.into_iden(),
            ],
        )
        .await?;
        index(
            manager,
            "ix_tasks_partner_rank",
            T::Table,
            vec![
                T::Tenant.into_iden(),
                T::Partner.into_iden(),
                T::Status.into_iden(),
                T::Rank.into_iden(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Cases as C;
        use Tasks as T;
        for (name, table) in [
            ("ix_cases_tenant_created", C::Table.into_iden()),
            ("ix_cases_tenant_partner", C::Table.into_iden()),
            ("ix_cases_tenant_owner", C::Table.into_iden()),
            ("ix_cases_tenant_delinquent", C::Table.into_iden()),
            ("ix_cases_tenant_amount", C::Table.into_iden()),
            ("ix_tasks_assignee_rank", T::Table.into_iden()),
            ("ix_tasks_partner_rank", T::Table.into_iden()),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        drop(manager, T::Table, T::AmountDueMinor).await?;
        drop(manager, T::Table, T::Rank).await?;
        drop(manager, T::Table, T::Partner).await?;
        drop(manager, C::Table, C::DelinquentSince).await?;
        drop(manager, C::Table, C::Currency).await?;
        drop(manager, C::Table, C::AmountDueMinor).await?;
        drop(manager, C::Table, C::PlacementStatus).await?;
        drop(manager, C::Table, C::Partner).await?;
        drop(manager, C::Table, C::Owner).await?;
        drop(manager, C::Table, C::DebtorId).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
