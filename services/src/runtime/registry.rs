//! Which cases are in memory, and in what form.
//!
//! An awake case has an actor (its mailbox, context and live state: a few KiB). A case
//! idle for `hibernate_after` falls asleep: only its serialised state stays, a few
//! hundred bytes, and it wakes without touching the database. Asleep cases beyond
//! `max_resident`, or asleep longer than `passivate_after`, are dropped oldest first; the
//! next command loads them from the store. So memory stays bounded however many cases
//! exist, and a portfolio's working set costs about its serialised size.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Addr;

use super::actor::CaseActor;

struct Awake {
    addr: Addr<CaseActor>,
    last_used: Instant,
}

struct Asleep {
    state: Box<[u8]>,
    since: Instant,
}

/// What a lookup found.
pub(super) enum Found {
    Awake(Addr<CaseActor>),
    /// The case was asleep: its serialised state, now taken out of the registry for the
    /// actor that wakes it.
    Asleep(Box<[u8]>),
    Missing,
}

#[derive(Default)]
pub(super) struct Registry {
    awake: HashMap<Arc<str>, Awake>,
    asleep: HashMap<Arc<str>, Asleep>,
    /// Cases in the order they fell asleep, for dropping the oldest first. An entry whose
    /// case woke (or fell asleep again) since is stale and skipped.
    sleepers: VecDeque<(Arc<str>, Instant)>,
}

impl Registry {
    /// Finds a case and marks it used.
    pub(super) fn find(&mut self, case_id: &str) -> Found {
        if let Some(a) = self.awake.get_mut(case_id) {
            if a.addr.connected() {
                a.last_used = Instant::now();
                return Found::Awake(a.addr.clone());
            }
            self.awake.remove(case_id);
        }
        match self.asleep.remove(case_id) {
            Some(s) => Found::Asleep(s.state),
            None => Found::Missing,
        }
    }

    pub(super) fn contains(&self, case_id: &str) -> bool {
        self.awake.contains_key(case_id) || self.asleep.contains_key(case_id)
    }

    pub(super) fn wake(&mut self, case_id: &str, addr: Addr<CaseActor>) {
        self.asleep.remove(case_id);
        self.awake.insert(
            Arc::from(case_id),
            Awake {
                addr,
                last_used: Instant::now(),
            },
        );
    }

    /// A stopped actor leaves, unless a newer actor already took its place.
    pub(super) fn remove(&mut self, case_id: &str, addr: &Addr<CaseActor>) {
        if self.awake.get(case_id).is_some_and(|a| &a.addr == addr) {
            self.awake.remove(case_id);
        }
    }

    /// Awake actors unused for at least `idle_for`.
    pub(super) fn idle(&self, idle_for: Duration) -> Vec<Addr<CaseActor>> {
        self.awake
            .values()
            .filter(|a| a.last_used.elapsed() >= idle_for)
            .map(|a| a.addr.clone())
            .collect()
    }

    /// Puts a case to sleep with its serialised state, if `addr` is still its actor and
    /// nobody used it in the last `idle_for`. Returns whether it did.
    pub(super) fn put_to_sleep(
        &mut self,
        case_id: &str,
        addr: &Addr<CaseActor>,
        idle_for: Duration,
        state: Box<[u8]>,
    ) -> bool {
        let Some((key, awake)) = self.awake.remove_entry(case_id) else {
            return false;
        };
        if &awake.addr != addr || awake.last_used.elapsed() < idle_for {
            self.awake.insert(key, awake);
            return false;
        }
        let since = Instant::now();
        self.sleepers.push_back((key.clone(), since));
        self.asleep.insert(key, Asleep { state, since });
        true
    }

    /// Drops asleep cases, oldest first, while more than `max_resident` cases are in
    /// memory or they have slept `passivate_after`. Returns how many it dropped.
    pub(super) fn evict(&mut self, max_resident: usize, passivate_after: Duration) -> usize {
        let mut dropped = 0;
        while let Some((key, since)) = self.sleepers.front() {
            let over = self.awake.len() + self.asleep.len() > max_resident;
            if !over && since.elapsed() < passivate_after {
                break;
            }
            if self.asleep.get(key).is_some_and(|s| s.since == *since) {
                self.asleep.remove(key);
                dropped += 1;
            }
            self.sleepers.pop_front();
        }
        // Stale entries pile up when cases wake and sleep often; compact them away.
        if self.sleepers.len() > 2 * self.asleep.len() + 1024 {
            let asleep = &self.asleep;
            self.sleepers
                .retain(|(k, since)| asleep.get(k).is_some_and(|s| s.since == *since));
        }
        dropped
    }

    pub(super) fn awake_count(&self) -> usize {
        self.awake.len()
    }

    pub(super) fn resident_count(&self) -> usize {
        self.awake.len() + self.asleep.len()
    }
}
