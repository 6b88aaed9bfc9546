//! `recobro load`: drives N dunning cases to completion through the durable case runtime,
//! as agents, the timer service and a partner worker would. It is the load driver of the
//! crash test (`tests/crash.rs`) and a demo of the runtime.
//!
//! Every command carries an idempotency key derived from what it does (`open-<i>`,
//! `task-<case>-<task>`, `job-<case>-<job>`), and the driver decides what to do next only
//! from the database (the `tasks`, `timers` and `outbox` tables), so a driver killed at any
//! point and started again carries on where the committed state says: re-opening case
//! `i` repeats the first answer, and nothing is done twice. Timers fire through
//! [`Runtime::fire_due_timers`] on a virtual clock that starts at the latest time the
//! journal has seen, so time never runs backwards across restarts.
//!
//! After each acknowledged command (the runtime answered, i.e. after commit) it prints
//! `ack <idempotency-key> <case_id> <seq>` on stdout, flushed; `done` when every case is
//! completed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use bpmn::engine::Event;
use chrono::{DateTime, TimeZone, Utc};
use orm::entities::{case_journal, cases, idempotency_keys, outbox, tasks, timers};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use services::clock::VirtualClock;
use services::runtime::{Command, Outcome, Runtime, RuntimeConfig};

/// Tenant of the generated cases.
pub const TENANT: &str = "load";
/// Process id of the built-in model.
pub const PROCESS: &str = "crash-dunning";
/// Node id of the driver, the same in every run.
const NODE: &str = "recobro-load";
/// Timers fired per `fire_due_timers` call.
const TIMER_BATCH: u64 = 100;

/// The built-in dunning model: a parallel split into two user tasks (call, letter), their
/// join, an event-based wait for a payment message or a 7-day grace timer, a service task
/// (agency placement, done by a worker) and a final user task (review).
pub const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="crash-dunning-defs" targetNamespace="https://recobro.dev/load">
  <bpmn:message id="m" name="payment-received">
    <bpmn:extensionElements><zeebe:subscription correlationKey="= loanId"/></bpmn:extensionElements>
  </bpmn:message>
  <bpmn:process id="crash-dunning" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:userTask id="Call">
      <bpmn:extensionElements>
        <zeebe:assignmentDefinition candidateGroups="early"/>
        <zeebe:properties><zeebe:property name="stage" value="early"/></zeebe:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="Letter"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:eventBasedGateway id="wait"/>
    <bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="grace"><bpmn:timerEventDefinition><bpmn:timeDuration>P7D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="Agency"><bpmn:extensionElements><zeebe:taskDefinition type="partner.place"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:userTask id="Review">
      <bpmn:extensionElements>
        <zeebe:properties><zeebe:property name="stage" value="agency"/></zeebe:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="closed"/><bpmn:endEvent id="placed"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="split"/>
    <bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="Call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="Letter"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Call" targetRef="join"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Letter" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="join" targetRef="wait"/>
    <bpmn:sequenceFlow id="f6" sourceRef="wait" targetRef="paid"/>
    <bpmn:sequenceFlow id="f7" sourceRef="wait" targetRef="grace"/>
    <bpmn:sequenceFlow id="f8" sourceRef="paid" targetRef="closed"/>
    <bpmn:sequenceFlow id="f9" sourceRef="grace" targetRef="Agency"/>
    <bpmn:sequenceFlow id="f10" sourceRef="Agency" targetRef="Review"/>
    <bpmn:sequenceFlow id="f11" sourceRef="Review" targetRef="placed"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// Where the virtual clock starts on an empty database.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0)
        .single()
        .expect("valid epoch")
}

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    #[command(flatten)]
    database: Database,
    /// Number of cases to drive.
    #[arg(long, default_value_t = 30)]
    cases: u32,
    /// Seed of the choices made per case (task order, variables).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Where the cases live: exactly one of the two.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct Database {
    /// Database URL (`sqlite://...` or `postgres://...`).
    #[arg(long)]
    database_url: Option<String>,
    /// Directory of an embedded SQLite database (`DIR/recobro.db`, created).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Entry point of the subcommand.
pub fn main(args: LoadArgs) -> ExitCode {
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: LoadArgs) -> anyhow::Result<()> {
    let url = match (args.database.database_url, args.database.data_dir) {
        (Some(url), _) => url,
        (None, Some(dir)) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            format!("sqlite://{}?mode=rwc", dir.join("recobro.db").display())
        }
        (None, None) => bail!("give --database-url or --data-dir"),
    };
    actix::System::new().block_on(drive(url, args.cases, args.seed))
}

async fn drive(url: String, cases: u32, seed: u64) -> anyhow::Result<()> {
    let db = orm::connect(&url).await?;
    orm::migrate(&db).await?;
    let latest = case_journal::Entity::find()
        .order_by_desc(case_journal::Column::RecordedAt)
        .one(&db)
        .await?
        .map(|e| e.recorded_at);
    let start = latest.map_or(epoch(), |t| t.max(epoch()));
    let clock = Arc::new(VirtualClock::new(start));
    // A driver killed between claiming a timer and firing it leaves the claim behind with
    // a lease on the virtual clock, which only moves to the timers' due times: under a new
    // node id the restarted driver would wait for that lease forever. Under the same id it
    // gives the claims back at once, as a restarted `recobro serve` node does.
    let rt = Runtime::start_node(
        db.clone(),
        clock.clone(),
        RuntimeConfig::default(),
        NODE.to_string(),
    );
    rt.store()
        .release_timer_claims(NODE)
        .await
        .context("giving back the timer claims of an earlier run")?;
    rt.deploy("crash-dunning.bpmn", MODEL, "system:load")
        .await
        .context("deploying the built-in model")?;
    let drivers: Vec<_> = (0..cases)
        .map(|i| {
            let driver = CaseDriver {
                rt: rt.clone(),
                db: db.clone(),
                clock: clock.clone(),
                rng: SplitMix(seed ^ u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            };
            actix::spawn(driver.run(i))
        })
        .collect();
    for d in drivers {
        d.await.context("case driver panicked")??;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "done")?;
    out.flush()?;
    Ok(())
}

/// Prints the acknowledgement of a committed command.
fn ack(key: &str, o: &Outcome) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "ack {key} {} {}", o.case_id, o.seq)?;
    out.flush()?;
    Ok(())
}

struct CaseDriver {
    rt: Runtime,
    db: DatabaseConnection,
    clock: Arc<VirtualClock>,
    rng: SplitMix,
}

impl CaseDriver {
    async fn run(mut self, i: u32) -> anyhow::Result<()> {
        let key = format!("open-{i}");
        let vars = json!({"loanId": format!("L{i}"), "balance": 100 + self.rng.below(5_000)});
        let opened = self
            .rt
            .open_case(
                TENANT,
                PROCESS,
                None,
                Some(format!("LOAN-{i}")),
                object(vars),
                "system:load",
                Some(key.clone()),
            )
            .await
            .with_context(|| format!("opening case {i}"))?;
        ack(&key, &opened)?;
        let case_id = opened.case_id;
        loop {
            let row = self.case_row(&case_id).await?;
            match row.status.as_str() {
                "completed" => return Ok(()),
                "active" => {}
                other => bail!("case {case_id} is {other}"),
            }
            let mut progressed = false;
            let mut open = tasks::Entity::find()
                .filter(tasks::Column::CaseId.eq(&case_id))
                .filter(tasks::Column::Status.eq("open"))
                .order_by_asc(tasks::Column::TaskId)
                .all(&self.db)
                .await?;
            self.rng.shuffle(&mut open);
            for t in open {
                let key = format!("task-{case_id}-{}", t.task_id);
                let vars = json!({format!("{}Outcome", t.element_id): self.rng.below(3)});
                let o = self
                    .rt
                    .complete_task(
                        &case_id,
                        t.task_id as u64,
                        object(vars),
                        "agent:load",
                        Some(key.clone()),
                    )
                    .await
                    .with_context(|| format!("completing {key}"))?;
                ack(&key, &o)?;
                progressed = true;
            }
            for job in self.open_jobs(&case_id).await? {
                let key = format!("job-{case_id}-{job}");
                let vars = json!({"agency": format!("A{}", self.rng.below(4))});
                let cmd = Command::Engine(Event::CompleteJob {
                    job,
                    variables: object(vars),
                });
                let o = self
                    .rt
                    .execute(&case_id, cmd, "worker:partner.place", Some(key.clone()))
                    .await
                    .with_context(|| format!("completing {key}"))?;
                ack(&key, &o)?;
                progressed = true;
            }
            if progressed {
                continue;
            }
            let due = timers::Entity::find()
                .filter(timers::Column::CaseId.eq(&case_id))
                .order_by_asc(timers::Column::DueAt)
                .one(&self.db)
                .await?
                .map(|t| t.due_at);
            // The reads above are one consistent view only if the case did not move
            // meanwhile (another case's driver may have fired this case's timer).
            if self.case_row(&case_id).await?.seq != row.seq {
                continue;
            }
            match due {
                Some(due) => {
                    self.clock.advance_to(due);
                    self.rt.fire_due_timers(TIMER_BATCH).await?;
                }
                None => bail!("case {case_id} is active but waits for nothing the driver does"),
            }
        }
    }

    async fn case_row(&self, case_id: &str) -> anyhow::Result<cases::Model> {
        cases::Entity::find_by_id(case_id.to_string())
            .one(&self.db)
            .await?
            .with_context(|| format!("case {case_id} has no row"))
    }

    /// Jobs the outbox asked a worker to do that are neither cancelled nor completed by
    /// this driver (a completion records its idempotency key in the same transaction).
    async fn open_jobs(&self, case_id: &str) -> anyhow::Result<Vec<u64>> {
        let rows = outbox::Entity::find()
            .filter(outbox::Column::CaseId.eq(case_id))
            .filter(outbox::Column::Kind.is_in(["job", "job_cancelled"]))
            .order_by_asc(outbox::Column::Id)
            .all(&self.db)
            .await?;
        let mut open = Vec::new();
        for r in rows {
            let payload: Value = serde_json::from_str(&r.payload)?;
            let job = payload["job"]
                .as_u64()
                .with_context(|| format!("outbox row {} has no job id", r.id))?;
            if r.kind == "job_cancelled" {
                open.retain(|j| *j != job);
                continue;
            }
            let key = format!("job-{case_id}-{job}");
            let done = idempotency_keys::Entity::find_by_id((TENANT.to_string(), key))
                .one(&self.db)
                .await?
                .is_some();
            if !done {
                open.push(job);
            }
        }
        Ok(open)
    }
}

fn object(v: Value) -> bpmn::expr::Vars {
    v.as_object().cloned().unwrap_or_default()
}

/// A small deterministic generator (SplitMix64): the same seed makes the same choices.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}
