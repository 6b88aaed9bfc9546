//! The GraphQL schema: queries, mutations and subscriptions over the desk.
//!
//! Resolvers only translate: every rule (roles, partner isolation, tenant scoping) is
//! enforced by [`services::desk::Desk`].

mod clients;
mod commissions;
mod compliance;
mod contacts;
mod creditors;
mod debtor_mutation;
mod debtors;
pub mod disclosure;
pub mod documents;
mod ledger;
mod loaders;
mod mutation;
mod partner_api;
mod query;
mod reports;
mod subscription;
mod templates;
pub mod types;
mod webhooks;
mod workers;

use async_graphql::{Context, MergedObject, Schema};
use partners::Partners;
use services::access::Principal;
use services::desk::Desk;

use self::creditors::CreditorMutation;
use self::documents::DocumentMutation;
use self::ledger::LedgerMutation;
pub use self::loaders::Loaders;
use self::mutation::CaseMutation;
use self::reports::ReportMutation;
pub use self::subscription::Subscription;
use crate::errors::{ErrorCode, coded};

pub type RecobroSchema = Schema<Query, Mutation, Subscription>;

/// Every query: cases and their work, debtors, message templates.
#[derive(MergedObject, Default)]
pub struct Query(
    query::CaseQuery,
    debtors::DebtorQuery,
    templates::TemplateQuery,
    webhooks::WebhookQuery,
    commissions::CommissionQuery,
);

/// Every mutation: the desk's, the ledger's, reported payments', debtors', creditors',
/// the documents', message templates' and partner APIs'.
#[derive(MergedObject, Default)]
pub struct Mutation(
    CaseMutation,
    LedgerMutation,
    ReportMutation,
    debtor_mutation::DebtorMutation,
    CreditorMutation,
    DocumentMutation,
    workers::WorkerMutation,
    contacts::ContactMutation,
    templates::TemplateMutation,
    webhooks::WebhookMutation,
    partner_api::PartnerApiMutation,
    commissions::CommissionMutation,
);

/// Limits on what one request may ask.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub depth: usize,
    pub complexity: usize,
    /// Largest JSON body accepted at `/graphql`, in bytes.
    pub body_bytes: usize,
    /// Largest multipart body (file uploads), in bytes; the document service's own size
    /// limit applies to each file as well.
    pub upload_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            depth: 12,
            complexity: 5_000,
            body_bytes: 1024 * 1024,
            upload_bytes: 101 * 1024 * 1024,
        }
    }
}

pub fn build(
    desk: Desk,
    clients: crate::auth::ApiClients,
    documents: ::documents::DocumentService,
    limits: Limits,
) -> RecobroSchema {
    Schema::build(Query::default(), Mutation::default(), Subscription)
        .data(Partners::new(desk.clone()))
        .data(contact::Templates::new(desk.db().clone()))
        .data(desk)
        .data(clients)
        .data(documents)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .limit_recursive_depth(32)
        .limit_directives(20)
        .finish()
}

/// The SDL the schema publishes; the snapshot `graphql/schema.graphql.snap` must equal it.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), Subscription)
        .finish()
        .sdl()
}

pub(crate) fn desk<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Desk> {
    ctx.data::<Desk>()
}

pub(crate) fn partners<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Partners> {
    ctx.data::<Partners>()
}

pub(crate) fn principal<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Principal> {
    ctx.data_opt::<Principal>()
        .ok_or_else(|| coded(ErrorCode::Unauthenticated, "a bearer token is required"))
}
