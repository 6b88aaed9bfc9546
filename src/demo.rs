//! `recobro demo`: one case of the bundled collections strategy
//! (`docs/examples/collections.bpmn`) through the real case runtime, on a virtual clock
//! and a throw-away SQLite database. The case is driven only through the desk — its
//! ledger (an account, promises, payments, a plan) and its tasks — and job workers that
//! complete every job; the strategy hears of the money through the ledger's own messages
//! (`promise-kept`, `promise-broken`, `plan-accepted`, `plan-broken`, `paid-in-full`),
//! never through a message correlated by hand. Deadlines pass by moving the clock and
//! firing the due timers as the timer service would.
//!
//! Output: `#` lines say what happens, one JSON line per completed flow node (as
//! `recobro process trace` prints them), then the end state with the journal's entry
//! types.

use std::collections::VecDeque;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use bpmn::engine::{Effect, Event};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use collections::ledger::NewAccount;
use collections::money::{Currency, Money};
use collections::schedule::{Frequency, PlanTerms, schedule};
use orm::entities::{case_journal, timers};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use services::access::{Principal, Role};
use services::case::{CaseFact, LedgerTimer};
use services::clock::{Clock, VirtualClock};
use services::desk::{Desk, NewCase, NewPayment, TaskKey};
use services::runtime::{Command, Outcome, Runtime, RuntimeConfig};

use crate::process_cmd::DEMO_MODEL;

pub fn run() -> ExitCode {
    let system = actix::System::new();
    match system.block_on(with_scratch_db()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the demo on a fresh SQLite file in a temp directory, removed afterwards.
async fn with_scratch_db() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("recobro-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let scratch = orm::scratch::ScratchDatabase::sqlite(&dir.join("demo.db"));
    let result = async {
        let db = orm::connect(scratch.url()).await?;
        orm::migrate(&db).await?;
        let result = demo(&db).await;
        db.close().await?;
        result
    }
    .await;
    let _ = scratch.remove().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The case being driven: its runtime, the open tasks and jobs (from the effects of
/// each entry, as the projections and the job dispatcher see them).
struct Demo {
    desk: Desk,
    clock: Arc<VirtualClock>,
    db: DatabaseConnection,
    case_id: String,
    /// Open user tasks and jobs: (id, element id, job type or `None` for a task).
    work: VecDeque<(u64, String, Option<String>)>,
    last: Option<Outcome>,
}

fn cop(amount: &str) -> anyhow::Result<Money> {
    let currency = Currency::from_code("COP").context("COP")?;
    Ok(Money::parse(amount, currency)?)
}

fn day(y: i32, m: u32, d: u32) -> anyhow::Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).context("a date of the demo")
}

impl Demo {
    fn say(&self, what: &str) {
        println!("# {}  {what}", self.clock.now().format("%Y-%m-%d"));
    }

    /// Prints the entry's completed flow nodes and follows its tasks and jobs.
    fn absorb(&mut self, out: Outcome) {
        let time = self.clock.now();
        for fx in &out.effects {
            match fx {
                Effect::ElementCompleted {
                    element_id,
                    element_type,
                } => println!(
                    "{}",
                    json!({"element": &**element_id, "type": element_type, "time": time})
                ),
                Effect::CreateTask(t) => {
                    self.work
                        .push_back((t.task, t.element_id.to_string(), None));
                }
                Effect::InvokeService(j) => {
                    self.work
                        .push_back((j.job, j.element_id.to_string(), Some(j.job_type.clone())))
                }
                Effect::CancelTask { task: id } | Effect::CancelJob { job: id } => {
                    self.work.retain(|w| w.0 != *id);
                }
                Effect::Incident { message, .. } => println!("# incident: {message}"),
                _ => {}
            }
        }
        self.last = Some(out);
    }

    /// The job workers: every open job is done at once (an SMS sent, letters posted, the
    /// case placed, closed).
    async fn work_jobs(&mut self) -> anyhow::Result<()> {
        while let Some(i) = self.work.iter().position(|w| w.2.is_some()) {
            let Some((job, element, Some(job_type))) = self.work.remove(i) else {
                continue;
            };
            self.say(&format!("worker {job_type} does {element}"));
            let cmd = Command::Engine(Event::CompleteJob {
                job,
                variables: Default::default(),
            });
            let out = self
                .desk
                .runtime()
                .execute(&self.case_id, cmd, &format!("worker:{job_type}"), None)
                .await?;
            self.absorb(out);
        }
        Ok(())
    }

    /// Completes the open user task of `element`.
    async fn complete(
        &mut self,
        who: &Principal,
        element: &str,
        variables: serde_json::Value,
    ) -> anyhow::Result<()> {
        let Some(i) = self
            .work
            .iter()
            .position(|w| w.1 == element && w.2.is_none())
        else {
            bail!("no open task {element}");
        };
        let (task, _, _) = self.work.remove(i).context("the task")?;
        let key = TaskKey {
            case_id: self.case_id.clone(),
            task_id: i64::try_from(task)?,
        };
        let variables = match variables {
            serde_json::Value::Object(m) => m,
            _ => Default::default(),
        };
        let out = self.desk.complete_task(who, &key, variables, None).await?;
        self.absorb(out);
        self.work_jobs().await
    }

    /// Records what a desk call did and lets the workers catch up.
    async fn did(&mut self, out: Outcome) -> anyhow::Result<()> {
        self.absorb(out);
        self.work_jobs().await
    }

    /// Moves the clock to `to`, firing every timer that falls due on the way, as the
    /// timer service does: engine timers as `TimerFired`, the ledger's deadlines as
    /// their facts (`PromiseDeadlinePassed`, `PlanDeadlinePassed`).
    async fn advance_to(&mut self, to: DateTime<Utc>) -> anyhow::Result<()> {
        loop {
            let next = timers::Entity::find()
                .filter(timers::Column::CaseId.eq(self.case_id.as_str()))
                .filter(timers::Column::DueAt.lte(to))
                .order_by_asc(timers::Column::DueAt)
                .one(&self.db)
                .await?;
            let Some(t) = next else { break };
            self.clock.advance_to(t.due_at);
            let cmd = match LedgerTimer::of(t.timer_id) {
                Some(deadline) => {
                    self.say(&format!("the ledger's deadline {} passes", t.element_id));
                    Command::Fact(CaseFact::Ledger(deadline.passed(t.due_at.date_naive())))
                }
                None => {
                    self.say(&format!("timer {} fires", t.element_id));
                    Command::Engine(Event::TimerFired {
                        timer: u64::try_from(t.timer_id)?,
                    })
                }
            };
            let out = self
                .desk
                .runtime()
                .execute(&self.case_id, cmd, "system:timer", None)
                .await?;
            self.did(out).await?;
        }
        self.clock.advance_to(to);
        Ok(())
    }

    async fn balance(&self, who: &Principal) -> anyhow::Result<Money> {
        let ledger = self.desk.ledger(who, &self.case_id).await?;
        Ok(ledger.context("the case has a ledger")?.balance())
    }
}

fn at(date: NaiveDate, hour: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(hour, 0, 0).unwrap_or_default())
}

async fn demo(db: &DatabaseConnection) -> anyhow::Result<()> {
    let clock = Arc::new(VirtualClock::new(at(day(2026, 1, 5)?, 8)));
    let runtime = Runtime::start(db.clone(), clock.clone(), RuntimeConfig::default());
    let desk = Desk::new(runtime);
    let sup = Principal::new("sam", "acme", Role::Supervisor, None, vec![])?;
    let agent = Principal::new(
        "alex",
        "acme",
        Role::Agent,
        None,
        vec!["early-collectors".into(), "late-collectors".into()],
    )?;
    println!("# Recobro demo: one case of the bundled collections strategy");
    println!("# (docs/examples/collections.bpmn) in the case runtime, on a virtual clock and a");
    println!("# throw-away SQLite database; the case's ledger drives it. `#` lines say what");
    println!("# happens, JSON lines are completed flow nodes, the last line the end state.");
    desk.deploy(&sup, "collections.bpmn", DEMO_MODEL).await?;

    let vars = json!({"balance": 1840.5, "dpd": 32, "parties": ["debtor", "guarantor"],
                      "jurisdiction": "CO"});
    let opened = desk
        .open_case(
            &sup,
            NewCase {
                process_id: "consumer-collections".into(),
                external_ref: Some("L-1001".into()),
                debtor_id: Some("D-77".into()),
                debtor_name: Some("Ana Pérez".into()),
                variables: vars.as_object().cloned().unwrap_or_default(),
                ..NewCase::default()
            },
        )
        .await?;
    let mut d = Demo {
        desk,
        clock,
        db: db.clone(),
        case_id: opened.case_id.clone(),
        work: VecDeque::new(),
        last: None,
    };
    d.say("case L-1001 opened for Ana Pérez");
    register_debtor(&d.desk, &agent, d.clock.now()).await?;
    d.say("debtor D-77 registered: +573101234567, SMS authorised by the loan contract; zone America/Bogota");
    let zero = cop("0")?;
    let account = NewAccount {
        id: "L-1001".into(),
        product: "consumer_loan".into(),
        principal: cop("1500000.00")?,
        interest: cop("340500.00")?,
        fees: zero,
        costs: zero,
        delinquent_since: day(2025, 12, 4)?,
        creditor: "banco-andino".into(),
        portfolio: "consumer-2025".into(),
    };
    d.absorb(opened);
    let out = d.desk.open_account(&sup, &d.case_id, account, None).await?;
    d.say("account L-1001 opened: 1500000.00 COP principal, 340500.00 COP interest");
    d.did(out).await?;

    // Early: a promise kept, then a promise broken by the clock.
    d.say("the agent calls; Ana promises 300000.00 COP by 2026-01-09");
    let out = d
        .desk
        .make_promise(
            &agent,
            &d.case_id,
            vec![(day(2026, 1, 9)?, cop("300000.00")?)],
            None,
        )
        .await?;
    d.did(out).await?;
    d.complete(&agent, "CallDebtor", json!({"promiseToPay": true}))
        .await?;
    d.advance_to(at(day(2026, 1, 8)?, 10)).await?;
    d.say("payment BANK-1 of 300000.00 COP: the promise is kept");
    let out = d
        .desk
        .record_payment(&agent, &d.case_id, pay("BANK-1", "300000.00")?, None)
        .await?;
    d.did(out).await?;
    d.say(&format!(
        "the agent calls again about the rest ({}); Ana promises 500000.00 COP by 2026-01-16",
        d.balance(&agent).await?
    ));
    let out = d
        .desk
        .make_promise(
            &agent,
            &d.case_id,
            vec![(day(2026, 1, 16)?, cop("500000.00")?)],
            None,
        )
        .await?;
    d.did(out).await?;
    d.complete(&agent, "CallDebtor", json!({"promiseToPay": true}))
        .await?;
    d.say("nothing is paid; the clock runs past the due date and 3 days' grace");
    d.advance_to(at(day(2026, 1, 21)?, 9)).await?;

    // Late: a plan, accepted, its first instalment paid, the second missed.
    let balance = d.balance(&agent).await?;
    let terms = PlanTerms {
        total: balance,
        down_payment: None,
        instalments: 3,
        frequency: Frequency::Monthly,
        first_due: day(2026, 1, 30)?,
    };
    d.say(&format!(
        "the agent offers a plan for {balance}: 3 monthly instalments from 2026-01-30"
    ));
    let out = d
        .desk
        .offer_plan(
            &agent,
            &d.case_id,
            terms.total,
            schedule(&terms)?,
            false,
            None,
        )
        .await?;
    d.did(out).await?;
    d.say("Ana accepts the plan");
    let out = d.desk.accept_plan(&agent, &d.case_id, 1, None).await?;
    d.did(out).await?;
    d.advance_to(at(day(2026, 1, 30)?, 11)).await?;
    d.say("payment BANK-2 of 513500.00 COP: the first instalment");
    let out = d
        .desk
        .record_payment(&agent, &d.case_id, pay("BANK-2", "513500.00")?, None)
        .await?;
    d.did(out).await?;
    d.say("the second instalment (2026-02-28) is not paid");
    d.advance_to(at(day(2026, 3, 10)?, 9)).await?;

    // Agency: paid in full.
    let rest = d.balance(&agent).await?;
    d.say(&format!(
        "payment AGENCY-31 of {rest}, collected by the agency: paid in full"
    ));
    let out = d
        .desk
        .record_payment(
            &sup,
            &d.case_id,
            NewPayment {
                reference: "AGENCY-31".into(),
                amount: rest,
                received_on: None,
            },
            None,
        )
        .await?;
    d.did(out).await?;

    let last = d.last.take().context("the case moved")?;
    let journal: Vec<String> = case_journal::Entity::find()
        .filter(case_journal::Column::CaseId.eq(d.case_id.as_str()))
        .order_by_asc(case_journal::Column::Seq)
        .all(db)
        .await?
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    let balance = d.balance(&sup).await?;
    println!(
        "{}",
        json!({
            "state": last.status,
            "time": d.clock.now(),
            "stage": last.stage,
            "balance": balance.amount().to_string(),
            "currency": balance.currency().code(),
            "journal": journal,
        })
    );
    if last.status != "completed" {
        bail!("the case did not close: {}", last.status);
    }
    Ok(())
}

fn pay(reference: &str, amount: &str) -> anyhow::Result<NewPayment> {
    Ok(NewPayment {
        reference: reference.into(),
        amount: cop(amount)?,
        received_on: None,
    })
}

/// The debtor's file: who Ana is and how she may be reached (the compliance gate reads
/// it before every contact).
async fn register_debtor(
    desk: &Desk,
    agent: &Principal,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    use collections::debtor::{
        Channel, ConsentGrant, ConsentMethod, ContactOwner, ContactPoint, DebtorChange, DebtorKind,
        Jurisdiction, Phone, parse_time_zone,
    };
    let changes = vec![
        DebtorChange::Registered {
            kind: DebtorKind::Person,
            name: "Ana Pérez".into(),
            jurisdiction: Jurisdiction::new("CO", None)?,
        },
        DebtorChange::TimeZoneSet {
            time_zone: Some(parse_time_zone("America/Bogota")?),
        },
        DebtorChange::ContactAdded {
            owner: ContactOwner::Debtor,
            point: ContactPoint::Phone(Phone::parse("+57 310 123 4567", None)?),
            consents: vec![ConsentGrant {
                channel: Channel::Sms,
                given_at: now - chrono::Duration::days(400),
                how: ConsentMethod::ContractClause,
                given_by: "Ana Pérez".into(),
            }],
        },
    ];
    desk.register_debtor(agent, "D-77", changes, None).await?;
    Ok(())
}
