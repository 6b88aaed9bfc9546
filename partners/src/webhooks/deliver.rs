//! Sends partner events to partners' webhooks: the oldest undelivered event of each case
//! at a time (per-case order), many cases at once; retries with exponential back-off and
//! jitter for a day, then dead-letters (decision 0025). Each attempt is logged; the
//! outcomes that arrive while one write runs are written together by the next.
//!
//! Delivery is at least once: a crash between a receiver's answer and the write of its
//! outcome sends that event again, under the same `webhook-id` for receivers to skip.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use collections::disclosure::DisclosurePolicy;
use futures_util::StreamExt as _;
use orm::entities::{outbox, partners, webhook_attempts};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, Set, Statement,
    TransactionTrait,
};
use services::desk::Desk;
use services::desk::disclosure::policy_of;
use tokio::sync::{mpsc, watch};

use super::{WebhookConfig, config_of, minimised};

pub const DELIVERED: &str = "delivered";
pub const DEAD_LETTERED: &str = "dead_lettered";
/// Settled without sending, and why.
pub const NO_WEBHOOK: &str = "no_webhook";
pub const NOT_SUBSCRIBED: &str = "not_subscribed";
pub const WITHHELD: &str = "withheld_by_disclosure_policy";
pub const PARTNER_GONE: &str = "partner_gone";
pub const NOT_SENT: [&str; 4] = [NO_WEBHOOK, NOT_SUBSCRIBED, WITHHELD, PARTNER_GONE];

/// Rows per statement when writing outcomes (an attempt row binds 9 values).
const CHUNK: usize = 1000;

#[derive(Debug, Clone, Copy)]
pub struct DeliveryConfig {
    /// Events read ahead: sent, or answered and waiting for their outcome's write.
    /// Each is the oldest pending one of its case.
    pub batch: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The first retry's delay; it doubles per failure up to `max_backoff`, and each
    /// delay is drawn between its half and itself (jitter), so receivers coming back
    /// are not hit by every sender at once.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// How long an event is retried, from when it was queued (or replayed).
    pub retry_for: Duration,
    /// A receiver that has not answered by then has failed this attempt.
    pub timeout: std::time::Duration,
    /// How often to look for due retries when the clock is the system's.
    pub idle_poll: std::time::Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            batch: 4000,
            concurrency: 64,
            base_backoff: Duration::seconds(10),
            max_backoff: Duration::hours(1),
            retry_for: Duration::hours(24),
            timeout: std::time::Duration::from_secs(10),
            idle_poll: std::time::Duration::from_secs(1),
        }
    }
}

#[derive(Debug)]
pub struct DeliveryHandle {
    stop: watch::Sender<bool>,
    /// Events settled so far: delivered, dead-lettered or not to be sent (tests wait on
    /// it instead of sleeping).
    pub settled: watch::Receiver<u64>,
    /// HTTP attempts made so far.
    pub attempted: watch::Receiver<u64>,
    /// Where the delivery loop's time went, for `recobro bench webhooks`.
    pub time: Arc<LoopTime>,
    task: tokio::task::JoinHandle<()>,
}

/// Microseconds the delivery loop spent reading events ahead (with the partners'
/// settings), writing outcomes, and waiting for answers or work.
#[derive(Debug, Default)]
pub struct LoopTime {
    pub reading_us: std::sync::atomic::AtomicU64,
    pub writing_us: std::sync::atomic::AtomicU64,
    pub waiting_us: std::sync::atomic::AtomicU64,
}

impl LoopTime {
    fn add(counter: &std::sync::atomic::AtomicU64, since: Instant) {
        counter.fetch_add(
            since.elapsed().as_micros() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}

impl DeliveryHandle {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts delivering partner events.
pub fn spawn(desk: Desk, cfg: DeliveryConfig) -> DeliveryHandle {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (settled_tx, settled) = watch::channel(0);
    let (attempted_tx, attempted) = watch::channel(0);
    let client = reqwest::Client::builder()
        .timeout(cfg.timeout)
        // A receiver's redirect is not followed: the signature is for the URL set.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Recobro-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with default TLS settings");
    let time = Arc::new(LoopTime::default());
    let delivery = Delivery {
        desk,
        cfg,
        client,
        settled: settled_tx,
        attempted: attempted_tx,
        time: time.clone(),
    };
    let task = tokio::spawn(delivery.run(stop_rx));
    DeliveryHandle {
        stop: stop_tx,
        settled,
        attempted,
        time,
        task,
    }
}

struct Delivery {
    desk: Desk,
    cfg: DeliveryConfig,
    client: reqwest::Client,
    settled: watch::Sender<u64>,
    attempted: watch::Sender<u64>,
    time: Arc<LoopTime>,
}

/// What to do with one event.
enum Plan {
    Settle(&'static str),
    Send(Request),
}

struct Request {
    url: String,
    body: String,
    secrets: Arc<Vec<standardwebhooks::Webhook>>,
}

/// How one attempt went.
struct Attempt {
    status: Option<u16>,
    error: Option<String>,
    duration_ms: i64,
}

/// An event whose outcome is to be written.
struct Done {
    row: outbox::Model,
    outcome: Result<(String, Attempt), &'static str>,
}

impl Delivery {
    /// Reads due events ahead into a window of `batch`, hands those to send to the
    /// sending task (`concurrency` requests in flight), and writes outcomes as they come
    /// back, all that arrived meanwhile in one transaction — at the same time as the
    /// next read, on a database with more than one connection. An event in the window
    /// (or being written) keeps its case's later events out of reads (it is still the
    /// oldest pending one), so each case's events go one after another.
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let wakeup = self.desk.runtime().partner_event_wakeup();
        let mut clock_changes = self.desk.clock().changes();
        let (to_send, requests) = mpsc::unbounded_channel();
        let (answered, mut answers) = mpsc::unbounded_channel();
        let sender = tokio::spawn(send_all(
            self.client.clone(),
            self.cfg.concurrency.max(1),
            requests,
            answered,
        ));
        let mut in_flight: HashMap<i64, (outbox::Model, String)> = HashMap::new();
        // Outcomes to write: answered requests, and events not to be sent.
        let mut done: Vec<Done> = Vec::new();
        // Whether a read may find events not yet in the window.
        let mut more = true;
        loop {
            if *stop.borrow() {
                break;
            }
            while let Ok(a) = answers.try_recv() {
                take(&mut in_flight, &mut done, a);
            }
            // Topped up while a quarter of the window is free, so the requests in
            // flight never run out while a read or a write takes its time.
            let read = more && in_flight.len() <= self.cfg.batch as usize * 3 / 4;
            if done.is_empty() && !read {
                let started = Instant::now();
                if in_flight.is_empty() {
                    // Nothing to send: wait for a commit, a replay, the clock or a poll.
                    match clock_changes.as_mut() {
                        Some(rx) => tokio::select! {
                            _ = rx.changed() => {}
                            _ = wakeup.notified() => {}
                            _ = stop.changed() => {}
                        },
                        None => tokio::select! {
                            _ = tokio::time::sleep(self.cfg.idle_poll) => {}
                            _ = wakeup.notified() => {}
                            _ = stop.changed() => {}
                        },
                    }
                    more = true;
                } else {
                    tokio::select! {
                        answer = answers.recv() => match answer {
                            Some(a) => take(&mut in_flight, &mut done, a),
                            None => break,
                        },
                        _ = stop.changed() => {}
                    }
                }
                LoopTime::add(&self.time.waiting_us, started);
                continue;
            }
            // The events being written are still pending in the read's snapshot.
            let exclude: Vec<i64> = in_flight
                .keys()
                .copied()
                .chain(done.iter().map(|d| d.row.id))
                .collect();
            let writing = std::mem::take(&mut done);
            let sent = writing.iter().filter(|d| d.outcome.is_ok()).count() as u64;
            let write = async {
                if writing.is_empty() {
                    return Ok(0);
                }
                let started = Instant::now();
                let out = self.record(writing, self.desk.clock().now()).await;
                LoopTime::add(&self.time.writing_us, started);
                out
            };
            let room = (self.cfg.batch as usize).saturating_sub(in_flight.len());
            let read_ahead = async {
                if !read || room == 0 {
                    return None;
                }
                let started = Instant::now();
                let out = self.read_ahead(&exclude, room).await;
                LoopTime::add(&self.time.reading_us, started);
                Some(out)
            };
            let (written, planned) = tokio::join!(write, read_ahead);
            // A write may have let later events of its cases through, which a read
            // beside it could not see yet.
            let mut wrote = false;
            match written {
                Ok(settled) => {
                    self.attempted.send_modify(|n| *n += sent);
                    self.settled.send_modify(|n| *n += settled);
                    wrote = settled > 0 || sent > 0;
                }
                // Their rows are still pending: they are read and sent again.
                Err(e) => tracing::warn!("partner webhooks: outcomes not written: {e}"),
            }
            match planned {
                None => more |= wrote,
                Some(Ok(planned)) => {
                    more = !planned.is_empty() || wrote;
                    for (row, plan) in planned {
                        match plan {
                            Plan::Settle(reason) => done.push(Done {
                                row,
                                outcome: Err(reason),
                            }),
                            Plan::Send(req) => {
                                let url = req.url.clone();
                                let _ = to_send.send((row.id, req));
                                in_flight.insert(row.id, (row, url));
                            }
                        }
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!("partner webhooks: {e}; retrying");
                    more = wrote;
                }
            }
        }
        sender.abort();
    }

    fn db(&self) -> &DatabaseConnection {
        self.desk.db()
    }

    /// The oldest pending event of each case, due now, oldest first, that is not in the
    /// window already, with what to do with it.
    async fn read_ahead(
        &self,
        exclude: &[i64],
        room: usize,
    ) -> Result<Vec<(outbox::Model, Plan)>, DbErr> {
        let now = self.desk.clock().now();
        // The predicates repeat the partial indexes' (decision 0010). Events in the
        // window are still pending, and the oldest: read past them.
        // The window's ids travel as one JSON array: thousands of them, one value.
        let backend = self.db().get_database_backend();
        let window_ids = match backend {
            DbBackend::Postgres => "SELECT (jsonb_array_elements_text($3::jsonb))::int8",
            _ => "SELECT value FROM json_each($3)",
        };
        let sql = format!(
            "SELECT o.* FROM outbox o \
             WHERE o.kind = 'partner_event' AND o.outcome IS NULL AND o.next_attempt_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.case_id = o.case_id \
             AND e.kind = 'partner_event' AND e.outcome IS NULL AND e.id < o.id) \
             AND o.id NOT IN ({window_ids}) \
             ORDER BY o.id LIMIT $2"
        );
        let stmt = Statement::from_sql_and_values(
            backend,
            sql,
            [
                now.into(),
                (room as i64).into(),
                serde_json::to_string(exclude).unwrap_or_default().into(),
            ],
        );
        let heads: Vec<outbox::Model> = outbox::Entity::find()
            .from_raw_sql(stmt)
            .all(self.db())
            .await?;
        if heads.is_empty() {
            return Ok(Vec::new());
        }
        let plans = self.plans(&heads, now).await?;
        Ok(heads.into_iter().zip(plans).collect())
    }

    /// Writes outcomes and their attempt log in one transaction; how many events it
    /// settled.
    async fn record(&self, done: Vec<Done>, now: DateTime<Utc>) -> Result<u64, DbErr> {
        use sea_orm::sea_query::ExprTrait as _;
        let mut by_outcome: HashMap<&'static str, Vec<i64>> = HashMap::new();
        let mut retries: Vec<(i64, i32, DateTime<Utc>)> = Vec::new();
        let mut log = Vec::new();
        for Done { row, outcome } in done {
            let (url, a) = match outcome {
                Err(reason) => {
                    by_outcome.entry(reason).or_default().push(row.id);
                    continue;
                }
                Ok(sent) => sent,
            };
            let outcome = if a.error.is_none() {
                DELIVERED
            } else if let Some(at) = retry_at(&self.cfg, &row, now) {
                retries.push((row.id, row.attempts + 1, at));
                "failed"
            } else {
                DEAD_LETTERED
            };
            if outcome != "failed" {
                by_outcome.entry(outcome).or_default().push(row.id);
            }
            log.push(webhook_attempts::ActiveModel {
                outbox_id: Set(row.id),
                partner_id: Set(row.partner_id.clone().unwrap_or_default()),
                attempt: Set(row.attempts + 1),
                attempted_at: Set(now),
                url: Set(url),
                status_code: Set(a.status.map(i32::from)),
                outcome: Set(outcome.to_string()),
                error: Set(a.error),
                duration_ms: Set(a.duration_ms),
                ..Default::default()
            });
        }
        let settled = by_outcome.values().map(|v| v.len() as u64).sum();
        let tx = self.db().begin().await?;
        // In chunks: a statement may bind at most 32,766 values on SQLite, 65,535 on
        // PostgreSQL, and a window's answers can outnumber that.
        let chunks: Vec<(&'static str, Vec<i64>)> = by_outcome
            .iter()
            .flat_map(|(o, ids)| ids.chunks(CHUNK).map(|c| (*o, c.to_vec())))
            .collect();
        for (outcome, ids) in chunks {
            let sent = outcome == DELIVERED || outcome == DEAD_LETTERED;
            let mut update = outbox::Entity::update_many()
                .col_expr(outbox::Column::Outcome, Expr::value(Some(outcome)))
                .filter(outbox::Column::Id.is_in(ids))
                .filter(outbox::Column::Outcome.is_null());
            if sent {
                update = update.col_expr(
                    outbox::Column::Attempts,
                    Expr::col(outbox::Column::Attempts).add(1),
                );
            }
            if outcome == DELIVERED {
                update = update.col_expr(outbox::Column::DeliveredAt, Expr::value(Some(now)));
            }
            update.exec(&tx).await?;
        }
        for (id, attempts, at) in retries {
            outbox::Entity::update_many()
                .col_expr(outbox::Column::Attempts, Expr::value(attempts))
                .col_expr(outbox::Column::NextAttemptAt, Expr::value(at))
                .filter(outbox::Column::Id.eq(id))
                .filter(outbox::Column::Outcome.is_null())
                .exec(&tx)
                .await?;
        }
        let mut log = log.into_iter().peekable();
        while log.peek().is_some() {
            let chunk: Vec<_> = log.by_ref().take(CHUNK).collect();
            webhook_attempts::Entity::insert_many(chunk)
                .exec(&tx)
                .await?;
        }
        tx.commit().await?;
        Ok(settled)
    }

    /// Decides, per event, whether and what to send: the partners' webhooks and
    /// policies are read once per round.
    async fn plans(&self, heads: &[outbox::Model], now: DateTime<Utc>) -> Result<Vec<Plan>, DbErr> {
        let ids: HashSet<&str> = heads
            .iter()
            .filter_map(|r| r.partner_id.as_deref())
            .collect();
        let rows = partners::Entity::find()
            .filter(partners::Column::PartnerId.is_in(ids))
            .all(self.db())
            .await?;
        type Target = (
            Option<WebhookConfig>,
            DisclosurePolicy,
            Arc<Vec<standardwebhooks::Webhook>>,
        );
        let mut targets: HashMap<String, Target> = HashMap::new();
        for row in rows {
            // Settings that no longer read are a supervisor's to fix; until then the
            // partner's events wait (each attempt logs why) rather than being lost.
            let webhook = config_of(&row).unwrap_or_else(|e| {
                tracing::error!("{e}");
                None
            });
            // A policy that does not read discloses nothing.
            let policy = policy_of(&row).unwrap_or_else(|e| {
                tracing::error!("{e}");
                DisclosurePolicy {
                    default: Default::default(),
                    stages: Default::default(),
                }
            });
            let secrets = webhook
                .as_ref()
                .map(|w| {
                    w.signing_secrets(now)
                        .into_iter()
                        .filter_map(|s| standardwebhooks::Webhook::new(s).ok())
                        .collect()
                })
                .unwrap_or_default();
            targets.insert(row.partner_id.clone(), (webhook, policy, Arc::new(secrets)));
        }
        Ok(heads
            .iter()
            .map(|row| {
                let Some((webhook, policy, secrets)) =
                    row.partner_id.as_deref().and_then(|p| targets.get(p))
                else {
                    return Plan::Settle(PARTNER_GONE);
                };
                let Some(webhook) = webhook else {
                    return Plan::Settle(NO_WEBHOOK);
                };
                let payload: serde_json::Value =
                    serde_json::from_str(&row.payload).unwrap_or_default();
                if !webhook.wants(payload["type"].as_str().unwrap_or_default()) {
                    return Plan::Settle(NOT_SUBSCRIBED);
                }
                match minimised(&row.case_id, &payload, policy) {
                    None => Plan::Settle(WITHHELD),
                    Some(body) => Plan::Send(Request {
                        url: webhook.url.clone(),
                        body: body.to_string(),
                        secrets: secrets.clone(),
                    }),
                }
            })
            .collect())
    }
}

/// Sends what `requests` brings, `concurrency` at a time, answering each on `answered`.
async fn send_all(
    client: reqwest::Client,
    concurrency: usize,
    requests: mpsc::UnboundedReceiver<(i64, Request)>,
    answered: mpsc::UnboundedSender<(i64, Attempt)>,
) {
    let requests = futures_util::stream::unfold(requests, |mut rx| async move {
        rx.recv().await.map(|r| (r, rx))
    });
    requests
        .map(|(id, req)| send(client.clone(), id, req))
        .buffer_unordered(concurrency)
        .for_each(|answer| {
            let _ = answered.send(answer);
            std::future::ready(())
        })
        .await;
}

async fn send(client: reqwest::Client, id: i64, req: Request) -> (i64, Attempt) {
    let started = Instant::now();
    let msg_id = format!("msg_{id}");
    // The receiver checks the timestamp against its own clock (replay protection),
    // so it is the wall clock's even when the case runtime runs on a virtual one.
    let timestamp = Utc::now().timestamp();
    let signature = req
        .secrets
        .iter()
        .filter_map(|w| w.sign(&msg_id, timestamp, req.body.as_bytes()).ok())
        .collect::<Vec<_>>()
        .join(" ");
    let answer = client
        .post(&req.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(standardwebhooks::HEADER_WEBHOOK_ID, &msg_id)
        .header(
            standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
            timestamp.to_string(),
        )
        .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
        .body(req.body)
        .send()
        .await;
    let (status, error) = match answer {
        Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
        Ok(r) => {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            let text: String = text.chars().take(200).collect();
            (
                Some(status.as_u16()),
                Some(format!("answered {status}: {text}")),
            )
        }
        Err(e) => (None, Some(e.to_string())),
    };
    let attempt = Attempt {
        status,
        error,
        duration_ms: started.elapsed().as_millis() as i64,
    };
    (id, attempt)
}

/// Moves an answered event from the window to the outcomes to write.
fn take(
    in_flight: &mut HashMap<i64, (outbox::Model, String)>,
    done: &mut Vec<Done>,
    (id, attempt): (i64, Attempt),
) {
    if let Some((row, url)) = in_flight.remove(&id) {
        done.push(Done {
            row,
            outcome: Ok((url, attempt)),
        });
    }
}

/// When a failed event is tried again; `None`: its day of retries is over.
fn retry_at(
    cfg: &DeliveryConfig,
    row: &outbox::Model,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let failures = Ord::max(row.attempts, 0) as u32 + 1;
    let full = cfg
        .base_backoff
        .checked_mul(1 << failures.saturating_sub(1).min(20))
        .unwrap_or(cfg.max_backoff)
        .min(cfg.max_backoff);
    // Drawn from the event and the attempt: spread like random, the same on a re-run.
    let half = full.num_milliseconds() / 2;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (row.id, failures).hash(&mut h);
    let jitter = if half > 0 {
        (h.finish() % half as u64) as i64
    } else {
        0
    };
    let at = now + Duration::milliseconds(half + jitter);
    let since = row.replayed_at.unwrap_or(row.created_at);
    (at <= since + cfg.retry_for).then_some(at)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use services::case::partner_events::KIND;

    use super::*;

    fn row(id: i64, attempts: i32, created_at: DateTime<Utc>) -> outbox::Model {
        outbox::Model {
            id,
            case_id: "c".into(),
            seq: 1,
            kind: KIND.into(),
            payload: "{}".into(),
            created_at,
            attempts,
            next_attempt_at: created_at,
            delivered_at: None,
            locked_by: None,
            locked_until: None,
            job_type: None,
            partner_id: Some("p".into()),
            outcome: None,
            replayed_at: None,
        }
    }

    #[test]
    fn retries_back_off_exponentially_with_jitter_then_stop_after_a_day() {
        let cfg = DeliveryConfig::default();
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let mut now = t0;
        let mut delays = Vec::new();
        let mut attempts = 0;
        while let Some(at) = retry_at(&cfg, &row(7, attempts, t0), now) {
            delays.push(at - now);
            now = at;
            attempts += 1;
        }
        // 5 s to 10 s, then about doubling, never past the hour, until the day is over.
        assert!(delays[0] >= Duration::seconds(5) && delays[0] < Duration::seconds(10));
        assert!(delays[3] >= Duration::seconds(40) && delays[3] < Duration::seconds(80));
        assert!(delays.iter().all(|d| *d <= Duration::hours(1)));
        assert!(now <= t0 + Duration::hours(24) && now > t0 + Duration::hours(23));
        assert!((25..45).contains(&delays.len()), "{} retries", delays.len());
        // Jitter: two events failing together are not retried together.
        assert_ne!(
            retry_at(&cfg, &row(7, 3, t0), t0),
            retry_at(&cfg, &row(8, 3, t0), t0)
        );
        // A replay starts a new day.
        let mut replayed = row(7, 0, t0);
        replayed.replayed_at = Some(now);
        assert!(retry_at(&cfg, &replayed, now).is_some());
    }
}
