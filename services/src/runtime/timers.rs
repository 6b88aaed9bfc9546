//! The timer service: finds due timer rows and fires each through its case actor. The
//! firing is recorded in the case's own transaction (and the row deleted with it), so a
//! timer fires exactly once in effect: a second attempt — another node, or a restart
//! after a crash — finds no pending timer in the case and is refused by the engine.
//!
//! Firings are rate-limited per second, so a million reminders due at 08:00 drain at a
//! steady pace instead of starving commands from agents and partners.

use std::time::Duration;

use tokio::sync::watch;

use super::{Runtime, RuntimeError};

#[derive(Debug, Clone, Copy)]
pub struct TimerConfig {
    /// Most firings per second (0 = unlimited).
    pub max_per_second: u32,
    /// Rows claimed per query.
    pub batch: u64,
    /// Longest sleep with the system clock before looking again.
    pub idle_poll: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            max_per_second: 2_000,
            batch: 500,
            idle_poll: Duration::from_secs(1),
        }
    }
}

/// A running timer service.
#[derive(Debug)]
pub struct TimerHandle {
    stop: watch::Sender<bool>,
    /// Total timers fired so far (tests wait on it instead of sleeping).
    pub fired: watch::Receiver<u64>,
    task: tokio::task::JoinHandle<Result<(), RuntimeError>>,
}

impl TimerHandle {
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
    let task = actix::spawn(run(rt, cfg, stop_rx, fired_tx));
    TimerHandle {
        stop: stop_tx,
        fired: fired_rx,
        task,
    }
}

async fn run(
    rt: Runtime,
    cfg: TimerConfig,
    mut stop: watch::Receiver<bool>,
    fired_total: watch::Sender<u64>,
) -> Result<(), RuntimeError> {
    let mut clock_changes = rt.clock().changes();
    let wakeup = rt.timer_wakeup();
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let started = tokio::time::Instant::now();
        let limit = match cfg.max_per_second {
            0 => cfg.batch,
            r => cfg.batch.min(u64::from(r)),
        };
        let report = rt.fire_due_timers(limit).await?;
        if report.fired > 0 {
            fired_total.send_modify(|n| *n += report.fired as u64);
            tracing::info!(
                fired = report.fired,
                max_lag_ms = report.max_lag_ms,
                "timers fired"
            );
        }
        if report.fired as u64 >= limit {
            // More may be due: keep going, but no faster than the rate limit allows.
            if cfg.max_per_second > 0 {
                let budget =
                    Duration::from_secs_f64(report.fired as f64 / f64::from(cfg.max_per_second));
                tokio::time::sleep_until(started + budget).await;
            }
            continue;
        }
        // Nothing more due: wait for the next due time, a new timer, a clock change or stop.
        let wait = match rt.store().next_timer_due().await? {
            Some(due) => (due - rt.clock().now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(cfg.idle_poll),
            None => cfg.idle_poll,
        };
        match clock_changes.as_mut() {
            Some(rx) => tokio::select! {
                _ = rx.changed() => {}
                _ = wakeup.notified() => {}
                _ = stop.changed() => {}
            },
            None => tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = wakeup.notified() => {}
                _ = stop.changed() => {}
            },
        }
    }
}
