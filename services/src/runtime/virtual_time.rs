//! Moving a virtual clock forward in a running node (`serve --virtual-clock`, for
//! demos, training and end-to-end tests of whole strategies): time stands still until
//! someone advances it, and every timer due on the way fires at its own due time, in
//! order — as if the days had passed. The timer service does not run on such a node,
//! so nothing else fires timers.

use chrono::{DateTime, Utc};
use orm::entities::timers;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{Runtime, RuntimeError};
use crate::clock::{Clock, VirtualClock};

/// What an advance did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advanced {
    pub now: DateTime<Utc>,
    pub timers_fired: usize,
}

/// Moves `clock` to `to` (never back), firing the timers due on the way.
pub async fn advance(
    rt: &Runtime,
    clock: &VirtualClock,
    to: DateTime<Utc>,
) -> Result<Advanced, RuntimeError> {
    let mut fired = 0;
    loop {
        let next = timers::Entity::find()
            .filter(timers::Column::DueAt.lte(to))
            .order_by_asc(timers::Column::DueAt)
            .one(rt.store().db())
            .await?;
        let Some(t) = next else { break };
        clock.advance_to(t.due_at);
        let report = rt.fire_due_timers(1_000).await?;
        if report.fired + report.stale == 0 {
            // Claimed by another node sharing the database: it fires it, not us.
            return Err(RuntimeError::Unavailable(format!(
                "timer {} of case {} is claimed by {}; a virtual clock needs a node of its own",
                t.element_id,
                t.case_id,
                t.claimed_by.as_deref().unwrap_or("another node")
            )));
        }
        fired += report.fired;
    }
    clock.advance_to(to);
    Ok(Advanced {
        now: clock.now(),
        timers_fired: fired,
    })
}
