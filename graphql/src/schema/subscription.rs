//! Subscriptions (graphql-ws): a queue changed; a case's new history entries.

use async_graphql::{Context, ID, Result, SimpleObject, Subscription as GqlSubscription};
use futures_util::Stream;
use futures_util::stream::{self, StreamExt};
use services::access::{Principal, Role};
use services::desk::Desk;
use services::runtime::CaseNotice;
use tokio::sync::broadcast::error::RecvError;

use super::types::HistoryEntry;
use super::{desk, principal};
use crate::errors::{self, ErrorCode, coded};

/// Something changed in a queue: re-read it.
#[derive(SimpleObject, Clone)]
pub struct QueueChange {
    pub case_id: ID,
    /// What happened (TaskClaimed, TaskCompleted, CasePlaced, ...).
    pub event_type: String,
    pub seq: i64,
}

/// Notices as a stream; a listener that fell behind is told, not silently skipped.
fn notices(desk: &Desk) -> impl Stream<Item = Result<CaseNotice>> + use<> {
    let rx = desk.runtime().notices();
    stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(n) => Some((Ok(n), rx)),
            Err(RecvError::Lagged(k)) => Some((
                Err(coded(
                    ErrorCode::Unavailable,
                    format!("{k} notices were missed: resubscribe and re-read"),
                )),
                rx,
            )),
            Err(RecvError::Closed) => None,
        }
    })
}

fn concerns_queue(p: &Principal, group: Option<&str>, n: &CaseNotice) -> bool {
    if n.tenant != p.tenant || !n.tasks_changed {
        return false;
    }
    match p.role {
        Role::Partner => {
            p.partner.is_some() && (n.partner == p.partner || n.previous_partner == p.partner)
        }
        // Closures and claims don't say which queues they touched: tell every listener
        // of the tenant's queues, so none misses a change.
        _ => match group {
            Some(g) => n.queues.is_empty() || n.queues.iter().any(|q| q == g),
            None => true,
        },
    }
}

pub struct Subscription;

#[GqlSubscription]
impl Subscription {
    /// Fires when tasks in a queue (a candidate group; for partners: their own
    /// organisation's tasks) may have changed.
    async fn queue_changed(
        &self,
        ctx: &Context<'_>,
        group: Option<String>,
    ) -> Result<impl Stream<Item = Result<QueueChange>> + use<>> {
        let p = principal(ctx)?.clone();
        let d = desk(ctx)?;
        services::desk::require(&p, services::access::Operation::ReadTasks, "read tasks")
            .map_err(errors::api)?;
        if p.role == Role::Agent
            && let Some(g) = &group
            && !p.groups.contains(g)
        {
            return Err(errors::api(services::desk::DeskError::Forbidden {
                role: p.role,
                what: "watch the queue of a group they are not in",
            }));
        }
        Ok(notices(d).filter_map(move |n| {
            let out = match n {
                Ok(n) if concerns_queue(&p, group.as_deref(), &n) => Some(Ok(QueueChange {
                    case_id: ID(n.case_id),
                    event_type: n.event_type,
                    seq: n.seq,
                })),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            };
            async move { out }
        }))
    }

    /// New history entries of one case, as they are committed. Ends if the case stops
    /// being visible to you (a partner's placement ends).
    async fn case_events(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
    ) -> Result<impl Stream<Item = Result<HistoryEntry>> + use<>> {
        let p = principal(ctx)?.clone();
        let d = desk(ctx)?.clone();
        // Same answer as for a missing case when it is not yours. Partners follow the
        // cases placed with them; everyone else needs the right to read history.
        if p.role == Role::Partner {
            d.case(&p, &case_id).await.map_err(errors::api)?;
        } else {
            d.history(&p, &case_id).await.map_err(errors::api)?;
        }
        let case_id = case_id.0;
        let stream = notices(&d)
            .filter(move |n| {
                let keep = match n {
                    Ok(n) => n.case_id == case_id,
                    Err(_) => true,
                };
                async move { keep }
            })
            .then(move |n| {
                let (d, p) = (d.clone(), p.clone());
                async move {
                    let n = n?;
                    if p.role == Role::Partner && n.partner != p.partner {
                        return Ok(None);
                    }
                    let entries = d
                        .runtime()
                        .store()
                        .journal(&n.case_id, n.seq - 1)
                        .await
                        .map_err(|e| errors::api(services::runtime::RuntimeError::from(e)))?;
                    Ok(entries.into_iter().next().map(HistoryEntry))
                }
            })
            .take_while(|r: &Result<Option<HistoryEntry>>| {
                let go = !matches!(r, Ok(None));
                async move { go }
            })
            .filter_map(|r| async move { r.transpose() });
        Ok(stream)
    }
}
