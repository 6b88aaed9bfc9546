//! The case runtime: a registry of case actors over the durable store.
//!
//! Every command goes to its case's actor, which runs the pure engine and is answered
//! only after the journal entry, its projections and outbox rows are committed in one
//! transaction. See `docs/decisions/0005-case-runtime.md`.

mod actor;
mod audit_projection;
pub mod definitions;
pub mod jobs;
mod registry;
pub mod timers;
pub mod virtual_time;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use actix::prelude::*;
use bpmn::engine::{Effect, Event};
use bpmn::expr::Vars;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};

pub use self::actor::CaseActor;
use self::actor::{Execute, Hibernate, Moved, Snapshot};
pub use self::audit_projection::ProjectionCheck;
use self::definitions::{DefinitionCache, Deployed};
use self::registry::{Found, Registry};
use collections::ledger::LedgerError;

use crate::case::{ApplyError, CaseEvent, CaseFact, CaseState, LedgerTimer};
use crate::clock::Clock;
use crate::committer::{Committer, GroupCommit};
use crate::error_code::{ApiError, ErrorCode};
use crate::store::{Store, StoreError};

/// Stable error codes for the API layer.
#[derive(Debug, thiserror::Error, strum::EnumCount)]
pub enum RuntimeError {
    #[error("case {0} does not exist")]
    UnknownCase(String),
    #[error("process definition {0} is not deployed")]
    UnknownDefinition(String),
    #[error("invalid process model: {0}")]
    InvalidModel(String),
    #[error("{0}")]
    Rejected(#[from] ApplyError),
    #[error("case {0} is too contended: retry later")]
    Contended(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("the case actor is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for RuntimeError {
    fn from(e: sea_orm::DbErr) -> Self {
        RuntimeError::Store(StoreError::Db(e))
    }
}

impl ApiError for RuntimeError {
    fn code(&self) -> ErrorCode {
        match self {
            RuntimeError::UnknownCase(_) => ErrorCode::CaseNotFound,
            RuntimeError::UnknownDefinition(_) => ErrorCode::DefinitionNotFound,
            RuntimeError::InvalidModel(_) => ErrorCode::InvalidModel,
            RuntimeError::Rejected(e) => e.code(),
            RuntimeError::Contended(_) => ErrorCode::Contended,
            RuntimeError::Corrupt(_) => ErrorCode::CorruptData,
            RuntimeError::Unavailable(_) => ErrorCode::Unavailable,
            RuntimeError::Store(StoreError::DuplicateExternalRef { .. }) => {
                ErrorCode::DuplicateExternalRef
            }
            RuntimeError::Store(StoreError::Corrupt(_)) => ErrorCode::CorruptData,
            RuntimeError::Store(StoreError::Conflict(_) | StoreError::Db(_)) => {
                ErrorCode::StorageError
            }
        }
    }
}

/// How long a node's claim on due timer rows lasts; a crashed node's claims pass to
/// others after this.
pub const TIMER_CLAIM_LEASE_SECS: i64 = 60;

/// What one pass of the timer service did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FiringReport {
    pub fired: usize,
    /// Rows whose timer had already gone (fired or cancelled elsewhere).
    pub stale: usize,
    /// Largest delay between a timer's due time and its firing, in milliseconds.
    pub max_lag_ms: i64,
}

/// What a case can be told to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    Open {
        tenant: String,
        external_ref: Option<String>,
        definition_id: i64,
        process_id: String,
        version: i32,
        content_hash: String,
        variables: Vars,
        start_at: Option<String>,
        accounts: Vec<collections::ledger::NewAccount>,
    },
    Engine(Event),
    Migrate {
        definition_id: i64,
        process_id: String,
        version: i32,
        content_hash: String,
        mapping: BTreeMap<String, String>,
    },
    Fact(CaseFact),
}

impl Command {
    fn to_event(&self) -> CaseEvent {
        match self.clone() {
            Command::Open {
                tenant,
                external_ref,
                definition_id,
                process_id,
                version,
                content_hash,
                variables,
                start_at,
                accounts,
            } => CaseEvent::Opened {
                tenant,
                external_ref,
                definition_id,
                process_id,
                version,
                content_hash,
                variables,
                start_at,
                accounts,
            },
            Command::Engine(event) => CaseEvent::Engine { event },
            Command::Fact(fact) => CaseEvent::Fact { fact },
            Command::Migrate {
                definition_id,
                process_id,
                version,
                content_hash,
                mapping,
            } => CaseEvent::Migrated {
                definition_id,
                process_id,
                version,
                content_hash,
                mapping,
            },
        }
    }
}

/// The answer to a command, given after commit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub case_id: String,
    pub seq: i64,
    pub status: String,
    pub stage: Option<String>,
    pub effects: Vec<Effect>,
    /// True when an idempotency key repeated an earlier command: nothing changed.
    pub repeated: bool,
    /// The journal entry's time (the earlier entry's, when repeated): what the caller
    /// stamps on the rows the entry wrote, without reading them back.
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
pub struct RuntimeConfig {
    pub group_commit: GroupCommit,
    /// Snapshot the case state every N journal entries.
    pub snapshot_every: i64,
    /// A case actor unused this long falls asleep: only its serialised state stays in
    /// memory, and waking it needs no database read.
    pub hibernate_after: Duration,
    /// An asleep case is dropped from memory after this long (the next command loads it
    /// from the store).
    pub passivate_after: Duration,
    /// Most cases kept in memory, awake or asleep; beyond it the longest asleep go first.
    pub max_resident: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            group_commit: GroupCommit::default(),
            snapshot_every: 50,
            hibernate_after: Duration::from_secs(2),
            passivate_after: Duration::from_secs(600),
            max_resident: 250_000,
        }
    }
}

pub struct Shared {
    pub store: Store,
    pub committer: Committer,
    pub definitions: DefinitionCache,
    pub clock: Arc<dyn Clock>,
    pub config: RuntimeConfig,
    /// This node's id, for claims on shared rows.
    pub node: String,
    actors: Mutex<Registry>,
    /// Wakes the timer service when a commit scheduled a timer.
    timer_wakeup: Arc<tokio::sync::Notify>,
    /// Wakes the job dispatcher when a commit created a job.
    job_wakeup: Arc<tokio::sync::Notify>,
    /// Wakes the partner webhook delivery when a commit may have written partner events.
    partner_event_wakeup: Arc<tokio::sync::Notify>,
    /// Every committed journal entry, for subscriptions (lossy for slow listeners).
    notices: tokio::sync::broadcast::Sender<CaseNotice>,
}

/// Told to listeners after a journal entry commits.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseNotice {
    pub tenant: String,
    pub case_id: String,
    pub seq: i64,
    pub event_type: String,
    /// The partner the case is placed with after the entry.
    pub partner: Option<String>,
    /// The partner it was placed with before, when the entry ended that placement: that
    /// partner's listeners must hear their work went away.
    pub previous_partner: Option<String>,
    /// Candidates (groups, `user:<id>`) of tasks the entry created.
    pub queues: Vec<String>,
    /// Whether any task was created, closed, claimed or moved between partners.
    pub tasks_changed: bool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.actors.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Removes a stopped actor's entry, unless a newer actor already took its place.
    fn registry_remove(&self, case_id: &str, addr: &Addr<CaseActor>) {
        self.registry().remove(case_id, addr);
    }

    /// Runs after a commit: wakes the timer service when a timer was scheduled.
    fn after_commit(&self, _state: &CaseState, effects: &[Effect], notice: CaseNotice) {
        if notice.partner.is_some() || notice.previous_partner.is_some() {
            self.partner_event_wakeup.notify_one();
        }
        // No listener is not an error.
        let _ = self.notices.send(notice);
        if effects
            .iter()
            .any(|e| matches!(e, Effect::ScheduleTimer { .. }))
        {
            self.timer_wakeup.notify_one();
        }
        if effects
            .iter()
            .any(|e| matches!(e, Effect::InvokeService(_)))
        {
            self.job_wakeup.notify_one();
        }
    }
}

/// Handle to the runtime; cheap to clone.
#[derive(Debug, Clone)]
pub struct Runtime {
    shared: Arc<Shared>,
}

impl Runtime {
    /// Starts the runtime on a migrated database. Must run inside an actix system.
    pub fn start(db: DatabaseConnection, clock: Arc<dyn Clock>, config: RuntimeConfig) -> Self {
        Self::start_node(db, clock, config, uuid::Uuid::new_v4().to_string())
    }

    /// Starts the runtime under a given node id. A node that restarts under its old id
    /// takes back its timer claims at once instead of waiting for their lease to pass.
    pub fn start_node(
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        config: RuntimeConfig,
        node: String,
    ) -> Self {
        let store = Store::new(db);
        let committer = Committer::spawn(store.clone(), config.group_commit);
        let shared = Arc::new(Shared {
            store,
            committer,
            definitions: DefinitionCache::default(),
            clock,
            config,
            node,
            actors: Mutex::new(Registry::default()),
            timer_wakeup: Arc::new(tokio::sync::Notify::new()),
            job_wakeup: Arc::new(tokio::sync::Notify::new()),
            partner_event_wakeup: Arc::new(tokio::sync::Notify::new()),
            notices: tokio::sync::broadcast::channel(4096).0,
        });
        spawn_sweeper(Arc::downgrade(&shared), config.hibernate_after);
        Runtime { shared }
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// This node's id, for claims on shared rows.
    pub fn node(&self) -> &str {
        &self.shared.node
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    pub fn timer_wakeup(&self) -> Arc<tokio::sync::Notify> {
        self.shared.timer_wakeup.clone()
    }

    pub fn job_wakeup(&self) -> Arc<tokio::sync::Notify> {
        self.shared.job_wakeup.clone()
    }

    /// Notified after a commit on a case placed (or just unplaced) with a partner, and
    /// by whoever queues partner events again.
    pub fn partner_event_wakeup(&self) -> Arc<tokio::sync::Notify> {
        self.shared.partner_event_wakeup.clone()
    }

    /// Committed entries from now on, for subscriptions.
    pub fn notices(&self) -> tokio::sync::broadcast::Receiver<CaseNotice> {
        self.shared.notices.subscribe()
    }

    /// Number of awake case actors.
    pub fn active_actors(&self) -> usize {
        self.shared.registry().awake_count()
    }

    /// Number of cases in memory, awake or asleep.
    pub fn resident_cases(&self) -> usize {
        self.shared.registry().resident_count()
    }

    /// Puts actors unused for `idle_for` to sleep and drops the asleep cases over the
    /// limits. The runtime does this every `hibernate_after`; tests call it to be exact.
    /// Returns how many fell asleep.
    pub async fn sweep(&self, idle_for: Duration) -> usize {
        let idle = self.shared.registry().idle(idle_for);
        let mut asleep = 0;
        for addr in idle {
            // A stopped actor is simply gone.
            if addr.send(Hibernate { idle_for }).await.unwrap_or(false) {
                asleep += 1;
            }
        }
        let config = &self.shared.config;
        self.shared
            .registry()
            .evict(config.max_resident, config.passivate_after);
        asleep
    }

    /// Activates the given cases that are not in memory with one store read per few
    /// hundred cases, instead of one per case as commands reach them (timers falling due
    /// together). Unknown ids are skipped.
    pub async fn prefetch(&self, case_ids: &[String]) -> Result<usize, RuntimeError> {
        let missing: Vec<String> = {
            let registry = self.shared.registry();
            case_ids
                .iter()
                .filter(|id| !registry.contains(id))
                .cloned()
                .collect()
        };
        if missing.is_empty() {
            return Ok(0);
        }
        let stored = self.shared.store.load_many(&missing).await?;
        let mut woken = 0;
        for (case_id, stored) in stored {
            let mut state = stored.snapshot;
            for entry in &stored.entries {
                state = Some(actor::replay_entry(&self.shared, &case_id, state, entry).await?);
            }
            let mut registry = self.shared.registry();
            // A command may have activated it meanwhile; that actor is newer.
            if state.is_some() && !registry.contains(&case_id) {
                let mut act = CaseActor::new(self.shared.clone(), &case_id);
                act.state = state;
                registry.wake(&case_id, act.start());
                woken += 1;
            }
        }
        Ok(woken)
    }

    pub async fn deploy(
        &self,
        name: &str,
        xml: &str,
        deployed_by: &str,
    ) -> Result<Vec<Deployed>, RuntimeError> {
        let now = self.shared.clock.now();
        self.shared
            .definitions
            .deploy(&self.shared.store, name, xml, deployed_by, now)
            .await
    }

    /// Opens a case on the latest (or a given) version of a process.
    #[allow(clippy::too_many_arguments)]
    pub async fn open_case(
        &self,
        tenant: &str,
        process_id: &str,
        version: Option<i32>,
        external_ref: Option<String>,
        variables: Vars,
        actor: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, RuntimeError> {
        self.open_case_with_accounts(
            tenant,
            process_id,
            version,
            external_ref,
            variables,
            Vec::new(),
            actor,
            idempotency_key,
        )
        .await
    }

    /// Opens a case with its debts in the same journal entry, so the process's first
    /// jobs (a reminder stating the balance) run on a case that already has them.
    #[allow(clippy::too_many_arguments)]
    pub async fn open_case_with_accounts(
        &self,
        tenant: &str,
        process_id: &str,
        version: Option<i32>,
        external_ref: Option<String>,
        variables: Vars,
        accounts: Vec<collections::ledger::NewAccount>,
        actor: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, RuntimeError> {
        if let Some(key) = &idempotency_key
            && let Some(done) = self.earlier_outcome(tenant, key).await?
        {
            return Ok(done);
        }
        let def = self
            .shared
            .definitions
            .resolve(&self.shared.store, process_id, version)
            .await?;
        let case_id = uuid::Uuid::new_v4().to_string();
        let command = Command::Open {
            tenant: tenant.to_string(),
            external_ref,
            definition_id: def.id,
            process_id: def.process_id,
            version: def.version,
            content_hash: def.content_hash,
            variables,
            start_at: None,
            accounts,
        };
        self.execute(&case_id, command, actor, idempotency_key)
            .await
    }

    /// Sends a command to a case's actor, activating it if needed.
    /// What the command done under `key` answered, if one was: the answer a repeat gets.
    pub async fn earlier_outcome(
        &self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<Outcome>, RuntimeError> {
        match self.shared.store.idempotent(tenant, key).await? {
            Some(row) => repeated(&row.response, row.created_at).map(Some),
            None => Ok(None),
        }
    }

    pub async fn execute(
        &self,
        case_id: &str,
        command: Command,
        actor: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, RuntimeError> {
        self.execute_delivering(case_id, command, actor, idempotency_key, None)
            .await
    }

    /// [`Runtime::execute`] a worker's answer to outbox job row `delivers`, which the
    /// command's commit marks delivered.
    pub async fn execute_delivering(
        &self,
        case_id: &str,
        command: Command,
        actor: &str,
        idempotency_key: Option<String>,
        delivers: Option<i64>,
    ) -> Result<Outcome, RuntimeError> {
        let msg = || Execute {
            command: command.clone(),
            actor: actor.to_string(),
            idempotency_key: idempotency_key.clone(),
            delivers,
        };
        for _ in 0..MAX_REDIRECTS {
            match self.actor(case_id).send(msg()).await {
                Ok(Ok(result)) => return result,
                // The actor fell asleep or stopped between lookup and send: ask again.
                Ok(Err(Moved)) | Err(MailboxError::Closed) => {}
                Err(e) => return Err(RuntimeError::Unavailable(e.to_string())),
            }
        }
        Err(RuntimeError::Unavailable(format!("case {case_id}")))
    }

    /// The current state of a case (activating its actor).
    pub async fn case(&self, case_id: &str) -> Result<Option<CaseState>, RuntimeError> {
        for _ in 0..MAX_REDIRECTS {
            match self.actor(case_id).send(Snapshot).await {
                Ok(Ok(result)) => return result,
                Ok(Err(Moved)) | Err(MailboxError::Closed) => {}
                Err(e) => return Err(RuntimeError::Unavailable(e.to_string())),
            }
        }
        Err(RuntimeError::Unavailable(format!("case {case_id}")))
    }

    pub async fn complete_task(
        &self,
        case_id: &str,
        task: u64,
        variables: Vars,
        actor: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, RuntimeError> {
        let cmd = Command::Engine(Event::CompleteTask { task, variables });
        self.execute(case_id, cmd, actor, idempotency_key).await
    }

    /// Correlates a message to one case, or to every case subscribed to the name and key.
    /// An idempotency key applies per case (`key@case`), so a repeated broadcast changes
    /// nothing where it already arrived.
    pub async fn correlate_message(
        &self,
        case_id: Option<&str>,
        name: &str,
        correlation_key: Option<&str>,
        variables: Vars,
        actor: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Vec<Outcome>, RuntimeError> {
        let targets = match case_id {
            Some(id) => vec![id.to_string()],
            None => self.shared.store.subscribers(name, correlation_key).await?,
        };
        let mut out = Vec::new();
        for id in targets {
            let cmd = Command::Engine(Event::Message {
                name: name.to_string(),
                correlation_key: correlation_key.map(str::to_string),
                variables: variables.clone(),
            });
            let key = idempotency_key.map(|k| format!("{k}@{id}"));
            out.push(self.execute(&id, cmd, actor, key).await?);
        }
        Ok(out)
    }

    /// Records a fact about a case (a claim, a placement, a comment, a document) in its
    /// journal, validated against the case's current state by its actor.
    pub async fn record_fact(
        &self,
        case_id: &str,
        fact: CaseFact,
        actor: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, RuntimeError> {
        self.execute(case_id, Command::Fact(fact), actor, idempotency_key)
            .await
    }

    pub async fn cancel_case(
        &self,
        case_id: &str,
        actor: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, RuntimeError> {
        self.execute(
            case_id,
            Command::Engine(Event::Cancel),
            actor,
            idempotency_key,
        )
        .await
    }

    /// Moves a case to another version with an explicit element mapping.
    pub async fn migrate_case(
        &self,
        case_id: &str,
        process_id: &str,
        version: i32,
        mapping: BTreeMap<String, String>,
        actor: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, RuntimeError> {
        let def = self
            .shared
            .definitions
            .resolve(&self.shared.store, process_id, Some(version))
            .await?;
        let cmd = Command::Migrate {
            definition_id: def.id,
            process_id: def.process_id,
            version: def.version,
            content_hash: def.content_hash,
            mapping,
        };
        self.execute(case_id, cmd, actor, idempotency_key).await
    }

    /// Fires timers due by the clock's now (earliest first, at most `limit`), each in its
    /// case's own transaction, so a timer fires exactly once in effect even across crashes.
    pub async fn fire_due_timers(&self, limit: u64) -> Result<FiringReport, RuntimeError> {
        let due = self.claim_timers(chrono::Duration::zero(), limit).await?;
        self.fire_timers(due).await
    }

    /// Claims for this node up to `limit` timers due within `ahead` of now (earliest
    /// first), for as long as they take to fall due plus the claim lease.
    pub async fn claim_timers(
        &self,
        ahead: chrono::Duration,
        limit: u64,
    ) -> Result<Vec<orm::entities::timers::Model>, RuntimeError> {
        let now = self.shared.clock.now();
        let lease = now + ahead + chrono::Duration::seconds(TIMER_CLAIM_LEASE_SECS);
        Ok(self
            .shared
            .store
            .claim_due_timers(&self.shared.node, now, now + ahead, lease, limit)
            .await?)
    }

    /// Fires timers this node claimed, each through its case actor.
    pub async fn fire_timers(
        &self,
        due: Vec<orm::entities::timers::Model>,
    ) -> Result<FiringReport, RuntimeError> {
        let now = self.shared.clock.now();
        let mut ids: Vec<String> = due.iter().map(|t| t.case_id.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        // One read wakes the batch's cases; if it fails, each firing loads its own case.
        if let Err(e) = self.prefetch(&ids).await {
            tracing::warn!(error = %e, "prefetching the cases of due timers failed");
        }
        // Fire the batch concurrently: each firing goes to its own case actor, and their
        // commits meet in the group committer instead of queueing one round trip each.
        let firings: Vec<_> = due
            .into_iter()
            .map(|t| {
                let rt = self.clone();
                actix::spawn(async move {
                    let cmd = match (
                        LedgerTimer::of(t.timer_id),
                        crate::case::placement::deadline_of_timer(t.timer_id),
                    ) {
                        // A promise's or plan's deadline passed: decided as of the timer's
                        // day, however late it fires.
                        (Some(deadline), _) => {
                            Command::Fact(CaseFact::Ledger(deadline.passed(t.due_at.date_naive())))
                        }
                        // An offer not accepted in time.
                        (None, Some(placement)) => {
                            Command::Fact(CaseFact::PlacementLapsed { placement })
                        }
                        (None, None) => Command::Engine(Event::TimerFired {
                            timer: t.timer_id as u64,
                        }),
                    };
                    let result = rt.execute(&t.case_id, cmd, "system:timer", None).await;
                    (t, result)
                })
            })
            .collect();
        let mut report = FiringReport::default();
        let mut failure = None;
        for f in firings {
            let (t, result) = f
                .await
                .map_err(|e| RuntimeError::Unavailable(format!("timer firing: {e}")))?;
            match result {
                Ok(_) => {
                    report.fired += 1;
                    report.max_lag_ms = report.max_lag_ms.max((now - t.due_at).num_milliseconds());
                }
                // The case no longer has this timer (fired or cancelled by a command that
                // committed first, or its promise was decided): the row is stale.
                Err(RuntimeError::Rejected(
                    ApplyError::Engine(_)
                    | ApplyError::Placement(_)
                    | ApplyError::Ledger(
                        LedgerError::PromiseNotOpen(_) | LedgerError::PlanState { .. },
                    ),
                )) => {
                    report.stale += 1;
                    self.shared
                        .store
                        .forget_timer(&t.case_id, t.timer_id)
                        .await?;
                }
                // Keep collecting: the other firings of the batch may have committed.
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Rebuilds a case from its whole journal (ignoring snapshots).
    pub async fn replay(&self, case_id: &str) -> Result<Option<CaseState>, RuntimeError> {
        let entries = self.shared.store.journal(case_id, 0).await?;
        let mut state = None;
        for e in &entries {
            state = Some(actor::replay_entry(&self.shared, case_id, state, e).await?);
        }
        Ok(state)
    }

    fn actor(&self, case_id: &str) -> Addr<CaseActor> {
        let mut registry = self.shared.registry();
        let asleep = match registry.find(case_id) {
            Found::Awake(addr) => return addr,
            Found::Asleep(state) => Some(state),
            Found::Missing => None,
        };
        let mut act = CaseActor::new(self.shared.clone(), case_id);
        act.asleep = asleep;
        let addr = act.start();
        registry.wake(case_id, addr.clone());
        addr
    }
}

/// How often a command follows a case to its new actor before giving up.
const MAX_REDIRECTS: usize = 5;

/// Sweeps the registry every `hibernate_after` (at most every second) for as long as the
/// runtime lives.
fn spawn_sweeper(shared: Weak<Shared>, hibernate_after: Duration) {
    let every = hibernate_after.clamp(Duration::from_millis(10), Duration::from_secs(1));
    actix::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Some(shared) = shared.upgrade() else {
                return;
            };
            Runtime { shared }.sweep(hibernate_after).await;
        }
    });
}

pub(super) fn repeated(
    response: &str,
    recorded_at: DateTime<Utc>,
) -> Result<Outcome, RuntimeError> {
    #[derive(Deserialize)]
    struct Stored {
        case_id: String,
        seq: i64,
        status: String,
        stage: Option<String>,
    }
    let s: Stored =
        serde_json::from_str(response).map_err(|e| RuntimeError::Corrupt(e.to_string()))?;
    Ok(Outcome {
        case_id: s.case_id,
        seq: s.seq,
        status: s.status,
        stage: s.stage,
        effects: Vec::new(),
        repeated: true,
        recorded_at,
    })
}
