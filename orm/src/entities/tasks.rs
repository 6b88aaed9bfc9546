//! Projection: user tasks of a case (open, completed, cancelled).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub task_id: i64,
    pub tenant: String,
    pub element_id: String,
    pub name: Option<String>,
    /// `open`, `completed` or `cancelled`.
    pub status: String,
    pub assignee: Option<String>,
    /// JSON array of group names.
    #[sea_orm(column_type = "Text")]
    pub candidate_groups: String,
    /// JSON array of user ids.
    #[sea_orm(column_type = "Text")]
    pub candidate_users: String,
    pub priority: i32,
    pub due_at: Option<DateTimeUtc>,
    pub stage: Option<String>,
    pub created_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub completed_by: Option<String>,
    /// The partner organisation that owns this task (a partner-lane task of a placed case).
    pub partner: Option<String>,
    /// Agenda rank, higher first: see `collections::agenda`.
    pub rank: i64,
    pub amount_due_minor: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
