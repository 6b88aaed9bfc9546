//! The one source of "now". Days past due, timers, quiet hours and SLAs all read a
//! [`Clock`], so tests and simulations move a portfolio through months in seconds.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Changes of a virtual clock; `None` for the system clock (time just passes).
    fn changes(&self) -> Option<watch::Receiver<DateTime<Utc>>> {
        None
    }
}

/// Wall-clock time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Time that moves only when told to; waiters (the timer service) are woken on change.
#[derive(Debug)]
pub struct VirtualClock {
    now: Mutex<DateTime<Utc>>,
    tx: watch::Sender<DateTime<Utc>>,
}

impl VirtualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        let (tx, _) = watch::channel(start);
        Self {
            now: Mutex::new(start),
            tx,
        }
    }

    /// Moves time forward (never backwards: a negative step is ignored).
    pub fn advance(&self, by: Duration) -> DateTime<Utc> {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        if by > Duration::zero() {
            *now += by;
        }
        self.tx.send_replace(*now);
        *now
    }

    /// Jumps to `to` if it is later than now.
    pub fn advance_to(&self, to: DateTime<Utc>) -> DateTime<Utc> {
        let by = to - self.now();
        self.advance(by)
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn changes(&self) -> Option<watch::Receiver<DateTime<Utc>>> {
        Some(self.tx.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn virtual_clock_moves_only_forward_and_notifies() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let clock = VirtualClock::new(t0);
        let mut rx = clock.changes().unwrap();
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::days(200));
        assert_eq!(clock.now(), t0 + Duration::days(200));
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), t0 + Duration::days(200));
        clock.advance(Duration::days(-5));
        assert_eq!(
            clock.now(),
            t0 + Duration::days(200),
            "time never runs backwards"
        );
        clock.advance_to(t0);
        assert_eq!(clock.now(), t0 + Duration::days(200));
    }

    #[test]
    fn system_clock_is_close_to_now() {
        let d = SystemClock.now() - Utc::now();
        assert!(d.num_seconds().abs() < 5);
        assert!(SystemClock.changes().is_none());
    }
}
