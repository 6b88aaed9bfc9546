//! The timer service: claims timer rows shortly before they fall due, holds them in
//! memory and fires each at its due time through its case actor. The firing is recorded
//! in the case's own transaction (and the row deleted with it), so a timer fires exactly
//! once in effect: a second attempt — another node, or a restart after a crash — finds no
//! pending timer in the case and is refused by the engine.
//!
//! Holding the near-term timers means a reminder due at 08:00:00.250 fires then, not at
//! the next poll, and the database sees one claim query per batch instead of a query per
//! wake-up. Firings are rate-limited per second, so a million reminders due at 08:00
//! drain at a steady pace instead of starving commands from agents and partners.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use orm::entities::timers;
use tokio::sync::watch;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};

use super::{FiringReport, Runtime, RuntimeError};

#[derive(Debug, Clone, Copy)]
pub struct TimerConfig {
    /// Most firings per second (0 = unlimited).
    pub max_per_second: u32,
    /// Most timers fired together.
    pub batch: u64,
    /// Longest sleep with the system clock before looking again.
    pub idle_poll: Duration,
    /// Timers due within this window are claimed ahead and held in memory.
    pub lookahead: Duration,
    /// Most timers held in memory at once.
    pub max_held: usize,
    /// Batches fired at once: the next batch's cases load and its commits queue while
    /// the previous batch waits for its commit, so a storm keeps the database busy.
    pub batches_in_flight: usize,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            max_per_second: 2_000,
            batch: 500,
            idle_poll: Duration::from_secs(1),
            lookahead: Duration::from_secs(5),
            max_held: 20_000,
            batches_in_flight: 4,
        }
    }
}

/// A running timer service.
#[derive(Debug)]
pub struct TimerHandle {
    stop: watch::Sender<bool>,
    /// Total timers fired so far (tests wait on it instead of sleeping).
    pub fired: watch::Receiver<u64>,
    /// Timers claimed and held in memory, not yet fired.
    pub held: watch::Receiver<usize>,
    task: tokio::task::JoinHandle<Result<(), RuntimeError>>,
}

impl TimerHandle {
    /// Stops the service and gives up its claims on timers it held but had not fired.
    pub async fn stop(self) -> Result<(), RuntimeError> {
        let _ = self.stop.send(true);
        self.task
            .await
            .map_err(|e| RuntimeError::Unavailable(format!("timer service: {e}")))?
    }
}

/// Starts the service on the current actix arbiter. It must run there (not on a plain
/// tokio task): firing a timer of a passivated case starts its actor, which actix can
/// only do inside the arbiter's local task set.
pub fn spawn(rt: Runtime, cfg: TimerConfig) -> TimerHandle {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (fired_tx, fired_rx) = watch::channel(0u64);
    let (held_tx, held_rx) = watch::channel(0usize);
    let counters = Counters {
        fired: fired_tx,
        held: held_tx,
    };
    let task = actix::spawn(run(rt, cfg, stop_rx, counters));
    TimerHandle {
        stop: stop_tx,
        fired: fired_rx,
        held: held_rx,
        task,
    }
}

struct Counters {
    fired: watch::Sender<u64>,
    held: watch::Sender<usize>,
}

/// A claimed timer, ordered by due time.
struct Held(timers::Model);

impl Held {
    fn key(&self) -> (DateTime<Utc>, &str, i64) {
        (self.0.due_at, &self.0.case_id, self.0.timer_id)
    }
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Held {}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// The timers this node claimed and has not fired yet, earliest first.
struct Pending {
    held: BinaryHeap<Reverse<Held>>,
    /// Everything due by this time was claimed (by us or another node); `None` when a
    /// claim is needed now (start, a new timer was scheduled, after an error).
    claimed_to: Option<DateTime<Utc>>,
}

impl Pending {
    fn next_due(&self) -> Option<DateTime<Utc>> {
        self.held.peek().map(|t| t.0.0.due_at)
    }

    fn take_due(&mut self, now: DateTime<Utc>, limit: u64) -> Vec<timers::Model> {
        let mut due = Vec::new();
        while (due.len() as u64) < limit && self.next_due().is_some_and(|d| d <= now) {
            if let Some(Reverse(Held(t))) = self.held.pop() {
                due.push(t);
            }
        }
        due
    }
}

async fn run(
    rt: Runtime,
    cfg: TimerConfig,
    mut stop: watch::Receiver<bool>,
    counters: Counters,
) -> Result<(), RuntimeError> {
    // Claims left by an earlier run of this node are ours to fire now.
    if let Err(e) = rt.store().release_timer_claims(rt.node()).await {
        tracing::warn!("timer service: cannot release earlier claims: {e}");
    }
    let result = serve(&rt, cfg, &mut stop, &counters).await;
    // Best effort: if the database is gone, the claims lapse with their lease.
    if let Err(e) = rt.store().release_timer_claims(rt.node()).await {
        tracing::warn!("timer service: cannot give back claims on stop: {e}");
    }
    result
}

async fn serve(
    rt: &Runtime,
    cfg: TimerConfig,
    stop: &mut watch::Receiver<bool>,
    counters: &Counters,
) -> Result<(), RuntimeError> {
    let mut clock_changes = rt.clock().changes();
    let wakeup = rt.timer_wakeup();
    let ahead = chrono::Duration::from_std(cfg.lookahead).unwrap_or_default();
    let limit = match cfg.max_per_second {
        0 => cfg.batch,
        r => cfg.batch.min(u64::from(r)),
    }
    .max(1);
    let mut pending = Pending {
        held: BinaryHeap::new(),
        claimed_to: None,
    };
    let mut firing: FuturesUnordered<Firing> = FuturesUnordered::new();
    loop {
        if *stop.borrow() {
            drain(&mut firing, counters).await;
            return Ok(());
        }
        let started = tokio::time::Instant::now();
        let now = rt.clock().now();
        let room = cfg.max_held.saturating_sub(pending.held.len());
        if room > 0 && pending.claimed_to.is_none_or(|t| t <= now + ahead / 2) {
            match rt.claim_timers(ahead, room as u64).await {
                Ok(rows) => {
                    // A full claim may have left timers due before `now + ahead`.
                    pending.claimed_to = Some(match rows.last() {
                        Some(last) if rows.len() == room => last.due_at,
                        _ => now + ahead,
                    });
                    pending
                        .held
                        .extend(rows.into_iter().map(|t| Reverse(Held(t))));
                    counters.held.send_replace(pending.held.len());
                }
                Err(e) => {
                    back_off(rt, cfg, &mut pending, counters, &e).await;
                    continue;
                }
            }
        }
        // Collect the batches that finished meanwhile.
        let mut failed = None;
        while let Some(Some(done)) = firing.next().now_or_never() {
            if let Err(e) = settle(done, counters) {
                failed = Some(e);
                break;
            }
        }
        if let Some(e) = failed {
            recover(rt, cfg, &mut pending, &mut firing, counters, &e).await;
            continue;
        }
        let due = if firing.len() < cfg.batches_in_flight.max(1) {
            pending.take_due(now, limit)
        } else {
            Vec::new()
        };
        if !due.is_empty() {
            counters.held.send_replace(pending.held.len());
            let count = due.len();
            let batch_rt = rt.clone();
            firing.push(actix::spawn(async move { batch_rt.fire_timers(due).await }));
            if cfg.max_per_second > 0 {
                let budget = Duration::from_secs_f64(count as f64 / f64::from(cfg.max_per_second));
                tokio::time::sleep_until(started + budget).await;
            }
            continue;
        }
        if !firing.is_empty() && pending.next_due().is_some_and(|d| d <= now) {
            // Due timers wait for a free slot: wait for a batch to finish.
            if let Some(done) = firing.next().await
                && let Err(e) = settle(done, counters)
            {
                recover(rt, cfg, &mut pending, &mut firing, counters, &e).await;
            }
            continue;
        }
        // Nothing due: wait for the next held timer, the time to claim more, a newly
        // scheduled timer, a clock change or stop.
        let wake_at = [
            pending.next_due(),
            pending.claimed_to.map(|t| t - ahead / 2),
        ]
        .into_iter()
        .flatten()
        .min();
        let wait = wake_at
            .map_or(cfg.idle_poll, |t| {
                (t - now).to_std().unwrap_or(Duration::ZERO)
            })
            .min(cfg.idle_poll);
        let finished = async {
            match firing.next().await {
                Some(done) => done,
                None => std::future::pending().await,
            }
        };
        let (woken, done) = match clock_changes.as_mut() {
            Some(rx) => tokio::select! {
                _ = rx.changed() => (false, None),
                _ = wakeup.notified() => (true, None),
                _ = stop.changed() => (false, None),
                done = finished => (false, Some(done)),
            },
            None => tokio::select! {
                _ = tokio::time::sleep(wait) => (false, None),
                _ = wakeup.notified() => (true, None),
                _ = stop.changed() => (false, None),
                done = finished => (false, Some(done)),
            },
        };
        if let Some(done) = done
            && let Err(e) = settle(done, counters)
        {
            recover(rt, cfg, &mut pending, &mut firing, counters, &e).await;
            continue;
        }
        if woken {
            pending.claimed_to = None;
        }
    }
}

type Firing = tokio::task::JoinHandle<Result<FiringReport, RuntimeError>>;

/// Counts a finished batch's firings, or hands back its error.
fn settle(
    done: Result<Result<FiringReport, RuntimeError>, tokio::task::JoinError>,
    counters: &Counters,
) -> Result<(), RuntimeError> {
    let report = done.map_err(|e| RuntimeError::Unavailable(format!("timer firing: {e}")))??;
    counters.fired.send_modify(|n| *n += report.fired as u64);
    tracing::info!(
        fired = report.fired,
        stale = report.stale,
        max_lag_ms = report.max_lag_ms,
        "timers fired"
    );
    Ok(())
}

/// Waits for every batch in flight, so claims are given back only after their firings
/// ended (an error here was already logged by the caller's back-off, or lapses).
async fn drain(firing: &mut FuturesUnordered<Firing>, counters: &Counters) {
    while let Some(done) = firing.next().await {
        if let Err(e) = settle(done, counters) {
            tracing::warn!("timer service: {e}");
        }
    }
}

/// After a failed batch: let the others in flight end, then back off.
async fn recover(
    rt: &Runtime,
    cfg: TimerConfig,
    pending: &mut Pending,
    firing: &mut FuturesUnordered<Firing>,
    counters: &Counters,
    err: &RuntimeError,
) {
    drain(firing, counters).await;
    back_off(rt, cfg, pending, counters, err).await;
}

/// After a failed claim or firing: forget what we hold, give the claims back (another
/// node, or our next claim, picks them up) and wait a moment, so a database outage does
/// not stop timers for good nor turn into a tight retry loop.
async fn back_off(
    rt: &Runtime,
    cfg: TimerConfig,
    pending: &mut Pending,
    counters: &Counters,
    err: &RuntimeError,
) {
    tracing::warn!("timer service: {err}; retrying in {:?}", cfg.idle_poll);
    pending.held.clear();
    pending.claimed_to = None;
    counters.held.send_replace(0);
    tokio::time::sleep(cfg.idle_poll).await;
    // If the database is still away this fails too; the claims then lapse on their own.
    if let Err(e) = rt.store().release_timer_claims(rt.node()).await {
        tracing::warn!("timer service: cannot release claims: {e}");
    }
}
