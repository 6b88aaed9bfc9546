//! The compliance gate at portfolio scale, through the runtime on the virtual clock: a
//! strategy that wants every debtor every hour — a contact job, a one-hour timer, again —
//! runs for 90 days over cases under the five laws, with the built-in contact handler, the
//! in-process job dispatcher and durable deferral. Afterwards:
//! - `replay_compliance` (what `recobro compliance replay` runs) finds no contact that
//!   the rules in force at its instant refuse;
//! - no debtor was left alone while the law allowed a contact: each contact came at the
//!   first lawful minute after the strategy wanted it, and when the 90 days end no lawful
//!   minute was left unused;
//! - the two laws that count (Colombia's one a day, Regulation F's seven calls in seven
//!   days) hold when written out once more.
//!
//! Spain and Mexico limit hours and recipients, not frequency; their creditor caps
//! contacts at one a day by its own policy pack (and Spain's hours, which the law leaves
//! open), as creditors there do — without it every Spanish debtor would be messaged 24
//! times a day, and a thousand of them would make this test an hour long.
//! `RECOBRO_PORTFOLIO_CASES` sets the number of cases: 20 by default (every law, channel
//! and US zone, under a minute in a debug build); the README gives the command and the
//! figures of a run with thousands.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use collections::compliance::{Gate, Request, RulePack};
use collections::contact::{Channel, DeliveryStatus};
use collections::debtor::{
    ConsentGrant, ConsentMethod, ContactOwner, ContactPoint, DebtorChange, DebtorKind, Email,
    Jurisdiction, Phone, Tz,
};
use contact::templates::Templates;
use contact::{ContactJobs, OutgoingMessage, SendError, SendFuture, Sender, Sent};
use orm::entities::{outbox, timers};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use services::access::{Principal, Role};
use services::clock::{Clock, VirtualClock};
use services::desk::compliance::recipient_of;
use services::desk::{Desk, NewCase};
use services::runtime::jobs::{self, JobConfig, JobHandlers, JobsHandle};
use services::runtime::{Runtime, RuntimeConfig, virtual_time};

use crate::support::on_both;

const DAYS: i64 = 90;

/// Every hour, on the channel the case names.
const HOURLY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="hourly" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="again" />
    <bpmn:exclusiveGateway id="again" />
    <bpmn:sequenceFlow id="f2" sourceRef="again" targetRef="contact" />
    <bpmn:serviceTask id="contact">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="= &quot;contact.&quot; + channel" retries="3" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f3" sourceRef="contact" targetRef="hour" />
    <bpmn:intermediateCatchEvent id="hour">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="hour" targetRef="again" />
  </bpmn:process>
</bpmn:definitions>
"#;

/// The creditor's own caps where the law sets none.
const POLICY: &str = r#"
id = "default-one-a-day"
version = 1
effective_from = "2026-01-01"
title = "One contact a day, and Spanish hours"
authority = "policy"
creditor = "default"

[[rule]]
id = "once-a-day"
reference = "Creditor policy 3.1"
kind = "frequency"
scope = "debtor"
max = 1
period = "local_day"
"#;

const SPANISH_HOURS: &str = r#"
id = "default-spanish-hours"
version = 1
effective_from = "2026-01-01"
title = "Spain: Monday to Saturday, 9 to 21"
authority = "policy"
creditor = "default"
country = "ES"

[[rule]]
id = "hours"
reference = "Creditor policy 3.2"
kind = "hours"
windows = [{ days = ["mon", "tue", "wed", "thu", "fri", "sat"], from = "09:00", to = "21:00" }]
"#;

/// The provider: takes every message and notes when.
#[derive(Default)]
struct Provider {
    taken: Mutex<Vec<(String, Channel)>>,
}

impl Sender for Provider {
    fn send<'a>(&'a self, m: &'a OutgoingMessage) -> SendFuture<'a> {
        Box::pin(async move {
            self.taken
                .lock()
                .map_err(|e| SendError::Unavailable(e.to_string()))?
                .push((m.case_id.clone(), m.channel));
            Ok(Sent {
                provider: "test".into(),
                provider_message_id: Some(m.key.clone()),
                status: DeliveryStatus::Sent,
            })
        })
    }
}

/// One debtor of the portfolio: its law, zone (none: the candidates of its phone and
/// law) and the channel its case uses.
struct Profile {
    country: &'static str,
    zone: Option<Tz>,
    channel: Channel,
}

fn zone(name: &str) -> Tz {
    name.parse().unwrap()
}

fn profile(i: usize) -> Profile {
    let turn = i / 5;
    let (country, zone, channel) = match i % 5 {
        0 => (
            "CO",
            Some(zone("America/Bogota")),
            [Channel::Sms, Channel::WhatsApp, Channel::Email][turn % 3],
        ),
        1 => (
            "MX",
            Some(zone("America/Mexico_City")),
            [Channel::WhatsApp, Channel::Call][turn % 2],
        ),
        2 => (
            "CL",
            Some(zone("America/Santiago")),
            [Channel::Call, Channel::Sms, Channel::Email][turn % 3],
        ),
        3 => (
            "ES",
            Some(zone("Europe/Madrid")),
            [Channel::Email, Channel::Sms][turn % 2],
        ),
        _ => (
            "US",
            [
                Some(zone("America/New_York")),
                Some(zone("America/Chicago")),
                Some(zone("America/Los_Angeles")),
                None,
            ][turn % 4],
            Channel::Call,
        ),
    };
    Profile {
        country,
        zone,
        channel,
    }
}

fn job_type(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "sms",
        Channel::WhatsApp => "whatsapp",
        Channel::Email => "email",
        Channel::Call => "call",
        other => panic!("no job for {other:?} here"),
    }
}

fn phone(country: &str, i: usize) -> Phone {
    let n = 2_000_000 + i;
    let text = match country {
        "CO" => format!("+57 310 {n}"),
        "MX" => format!("+52 55 1{n}"),
        "CL" => format!("+56 9 8{n}"),
        "ES" => format!("+34 61{n}"),
        _ => format!("+1 212 {n}"),
    };
    Phone::parse(&text, None).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn cases() -> usize {
    std::env::var("RECOBRO_PORTFOLIO_CASES")
        .ok()
        .map_or(20, |n| {
            n.parse().expect("RECOBRO_PORTFOLIO_CASES: a number")
        })
}

fn gate() -> Arc<Gate> {
    let policy = [POLICY, SPANISH_HOURS]
        .iter()
        .map(|text| RulePack::parse("policy.toml", text).unwrap())
        .collect();
    Arc::new(Gate::with_bundled(policy).unwrap())
}

async fn open(desk: &Desk, i: usize, at: DateTime<Utc>) -> String {
    let p = profile(i);
    let agent = Principal::new("alex", "acme", Role::Agent, None, vec![]).unwrap();
    let id = format!("D-{i}");
    let consents = |channels: &[Channel]| {
        channels
            .iter()
            .map(|&channel| ConsentGrant {
                channel,
                given_at: at - Duration::days(30),
                how: ConsentMethod::Written,
                given_by: "the debtor".into(),
            })
            .collect::<Vec<_>>()
    };
    let mut changes = vec![DebtorChange::Registered {
        kind: DebtorKind::Person,
        name: format!("Debtor {i}"),
        jurisdiction: Jurisdiction::new(p.country, None).unwrap(),
    }];
    if let Some(zone) = p.zone {
        changes.push(DebtorChange::TimeZoneSet {
            time_zone: Some(zone),
        });
    }
    changes.push(DebtorChange::ContactAdded {
        owner: ContactOwner::Debtor,
        point: ContactPoint::Phone(phone(p.country, i)),
        consents: consents(&[Channel::Sms, Channel::WhatsApp, Channel::Call]),
    });
    changes.push(DebtorChange::ContactAdded {
        owner: ContactOwner::Debtor,
        point: ContactPoint::Email(Email::parse(&format!("debtor{i}@example.org")).unwrap()),
        consents: consents(&[Channel::Email]),
    });
    desk.register_debtor(&agent, &id, changes, None)
        .await
        .unwrap();
    let mut variables = bpmn::expr::Vars::new();
    variables.insert("channel".into(), job_type(p.channel).into());
    desk.open_case(
        &agent,
        NewCase {
            process_id: "hourly".into(),
            version: None,
            external_ref: Some(format!("L-{i}")),
            debtor_id: Some(id),
            debtor_name: Some(format!("Debtor {i}")),
            amount_due: Some(1250.0),
            currency: Some(
                match p.country {
                    "CO" => "COP",
                    "MX" => "MXN",
                    "CL" => "CLP",
                    "ES" => "EUR",
                    _ => "USD",
                }
                .into(),
            ),
            delinquent_since: None,
            variables,
            idempotency_key: None,
            accounts: Vec::new(),
        },
    )
    .await
    .unwrap()
    .case_id
}

/// Moves the clock from one due instant to the next — a timer or a deferred job —
/// firing the timers and waiting for the dispatcher to settle every job due, so each
/// contact happens at the instant it was due and not at the end of a longer jump.
async fn run_until(
    rt: &Runtime,
    clock: &VirtualClock,
    dispatcher: &mut JobsHandle,
    end: DateTime<Utc>,
) {
    let db = rt.store().db().clone();
    loop {
        let due_jobs = || {
            outbox::Entity::find()
                .filter(outbox::Column::Kind.eq("job"))
                .filter(outbox::Column::DeliveredAt.is_null())
        };
        let job = due_jobs()
            .order_by_asc(outbox::Column::NextAttemptAt)
            .one(&db)
            .await
            .unwrap()
            .map(|j| j.next_attempt_at);
        let timer = timers::Entity::find()
            .order_by_asc(timers::Column::DueAt)
            .one(&db)
            .await
            .unwrap()
            .map(|t| t.due_at);
        let Some(next) = job.into_iter().chain(timer).min() else {
            return;
        };
        if next >= end {
            return;
        }
        virtual_time::advance(rt, clock, next.max(clock.now()))
            .await
            .unwrap();
        loop {
            let now = clock.now();
            let waiting = due_jobs()
                .filter(outbox::Column::NextAttemptAt.lte(now))
                .one(&db)
                .await
                .unwrap();
            if waiting.is_none() {
                break;
            }
            dispatcher.settled.changed().await.unwrap();
        }
    }
}

async fn an_hourly_strategy_over_90_days_breaks_no_law_and_misses_no_lawful_slot(
    db: &DatabaseConnection,
) {
    orm::migrate(db).await.unwrap();
    // Friday 20 February 2026: the US and Spain change clocks on the way, Chile too, and
    // Colombia moves San José to Monday 23 March and the Ascension to Monday 18 May.
    let start = Utc.with_ymd_and_hms(2026, 2, 20, 0, 0, 0).unwrap();
    let end = start + Duration::days(DAYS);
    let clock = Arc::new(VirtualClock::new(start));
    let rt = Runtime::start(db.clone(), clock.clone(), RuntimeConfig::default());
    let gate = gate();
    let desk = Desk::new(rt.clone()).with_gate(gate.clone());
    desk.runtime()
        .deploy("hourly.bpmn", HOURLY, "supervisor:eva")
        .await
        .unwrap();
    let provider = Arc::new(Provider::default());
    let mut handlers = JobHandlers::default();
    for channel in [
        Channel::Sms,
        Channel::WhatsApp,
        Channel::Email,
        Channel::Call,
    ] {
        let handler = ContactJobs::new(desk.clone(), Templates::new(db.clone()))
            .with_sender(channel, provider.clone());
        handlers = handlers.with(&format!("contact.{}", job_type(channel)), handler);
    }
    let mut dispatcher = jobs::spawn(rt.clone(), handlers, JobConfig::default());

    let n = cases();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(open(&desk, i, start).await);
    }
    let began = std::time::Instant::now();
    run_until(&rt, &clock, &mut dispatcher, end).await;
    dispatcher.stop().await.unwrap();
    let ran = began.elapsed();

    let report = desk.replay_compliance(None).await.unwrap();
    assert_eq!(report.cases, n);
    assert!(
        report.violations.is_empty(),
        "{} contacts the law refuses: {:#?}",
        report.violations.len(),
        &report.violations[..report.violations.len().min(5)]
    );
    let taken = provider.taken.lock().unwrap().len();
    assert_eq!(
        report.contacts, taken,
        "every message handed over is on its case"
    );
    let decisions = orm::entities::case_journal::Entity::find()
        .filter(orm::entities::case_journal::Column::EventType.eq("ContactGateChecked"))
        .count(db)
        .await
        .unwrap();
    eprintln!(
        "portfolio: {n} cases, {DAYS} days: {} contacts, {decisions} gate decisions, \
         none refused under replay; {:.1} s to run the days",
        report.contacts,
        ran.as_secs_f64()
    );

    for (i, id) in ids.iter().enumerate() {
        let p = profile(i);
        let state = rt.case(id).await.unwrap().unwrap();
        assert!(
            state.instance.incidents.is_empty(),
            "case {i} ({}): {:?}",
            p.country,
            state.instance.incidents
        );
        let made: Vec<DateTime<Utc>> = state.contacts.iter().map(|c| c.made_at).collect();
        assert!(!made.is_empty(), "case {i} ({}) never contacted", p.country);
        assert!(state.contacts.iter().all(|c| c.channel == p.channel));
        let mut inputs = desk.gate_inputs("acme", &state).await.unwrap();
        let all = std::mem::take(&mut inputs.history);
        let req = Request {
            channel: p.channel,
            recipient: recipient_of("debtor"),
        };
        // Each contact at the first lawful minute after it was wanted; after the last,
        // no lawful minute before the end.
        let mut wanted = start;
        for k in 0..=made.len() {
            inputs.history = all[..k].to_vec();
            let at = made.get(k).copied().unwrap_or(end);
            assert!(
                at >= wanted,
                "case {i}: contact {k} at {at} before {wanted}"
            );
            if at > wanted {
                let slot = inputs.decide(&gate, &req, wanted).next_slot;
                let lawful_before = gate_allows_between(&inputs, &gate, &req, wanted, at);
                assert!(
                    !lawful_before,
                    "case {i} ({} {:?} {:?}): contact {k} at {at}, but the law allowed it \
                     from {slot:?} (wanted {wanted})",
                    p.country, p.zone, p.channel
                );
            }
            wanted = at + Duration::hours(1);
        }
        match p.country {
            "CL" => chilean_weeks(i, &made, p.channel),
            "CO" => once_a_lawful_day(i, &made, start, end),
            "US" => seven_calls_a_week(i, &made),
            "MX" => local_hours(i, &made, "America/Mexico_City", 7..22, &[], (start, end)),
            _ => local_hours(
                i,
                &made,
                "Europe/Madrid",
                9..21,
                &[Weekday::Sun],
                (start, end),
            ),
        }
    }
}

/// Whether some minute in `[from, to)` is lawful for `req` with `inputs`' history.
fn gate_allows_between(
    inputs: &services::desk::compliance::GateInputs,
    gate: &Gate,
    req: &Request,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> bool {
    let decision = inputs.decide(gate, req, from);
    decision.allowed() || decision.next_slot.is_some_and(|slot| slot < to)
}

/// Ley 2300 written out: never two contacts on a Bogotá day, none on Sundays or
/// holidays or outside the hours, and one on every lawful day wholly inside the period.
fn once_a_lawful_day(i: usize, made: &[DateTime<Utc>], start: DateTime<Utc>, end: DateTime<Utc>) {
    let tz = zone("America/Bogota");
    let co = collections::debtor::Country::from_code("CO").unwrap();
    let mut days: Vec<_> = made
        .iter()
        .map(|at| at.with_timezone(&tz).date_naive())
        .collect();
    days.dedup();
    assert_eq!(days.len(), made.len(), "case {i}: two contacts on one day");
    for at in made {
        let local = at.with_timezone(&tz);
        let hours = match local.weekday() {
            Weekday::Sat => 8..15,
            Weekday::Sun => panic!("case {i}: contacted on Sunday {local}"),
            _ => 7..19,
        };
        assert!(hours.contains(&local.hour()), "case {i}: {local}");
    }
    let mut day = start.with_timezone(&tz).date_naive().succ_opt().unwrap();
    let last = end.with_timezone(&tz).date_naive();
    while day < last {
        let lawful = day.weekday() != Weekday::Sun
            && collections::holidays::holiday(co, day).unwrap().is_none();
        assert_eq!(days.contains(&day), lawful, "case {i}: Colombia {day}");
        day = day.succ_opt().unwrap();
    }
}

/// Mexico's hours (the law's), Spain's (the creditor's) written out: every contact
/// inside them, on no day `closed`, one a local day — and one on every open day wholly
/// inside the period.
fn local_hours(
    i: usize,
    made: &[DateTime<Utc>],
    zone_name: &str,
    hours: std::ops::Range<u32>,
    closed: &[Weekday],
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) {
    let tz = zone(zone_name);
    let mut days: Vec<_> = made
        .iter()
        .map(|at| at.with_timezone(&tz).date_naive())
        .collect();
    days.dedup();
    assert_eq!(days.len(), made.len(), "case {i}: two contacts on one day");
    for at in made {
        let local = at.with_timezone(&tz);
        assert!(
            hours.contains(&local.hour()) && !closed.contains(&local.weekday()),
            "case {i}: contacted at {local}"
        );
    }
    let mut day = start.with_timezone(&tz).date_naive().succ_opt().unwrap();
    let last = end.with_timezone(&tz).date_naive();
    while day < last {
        let open = !closed.contains(&day.weekday());
        assert_eq!(days.contains(&day), open, "case {i}: {zone_name} {day}");
        day = day.succ_opt().unwrap();
    }
}

/// Ley 21.320 written out: a call at most once in seven days, other contacts at most
/// twice and two days apart — and those limits used (the wishes ask for far more).
fn chilean_weeks(i: usize, made: &[DateTime<Utc>], channel: Channel) {
    let (max, least) = match channel {
        Channel::Call => (1, 12),
        _ => (2, 24),
    };
    for (k, at) in made.iter().enumerate() {
        let week = made[..=k]
            .iter()
            .filter(|t| **t > *at - Duration::days(7))
            .count();
        assert!(
            week <= max,
            "case {i}: {week} {channel:?} in the week to {at}"
        );
        if k > 0 && channel != Channel::Call {
            let gap = *at - made[k - 1];
            assert!(gap >= Duration::hours(48), "case {i}: {gap} before {at}");
        }
    }
    assert!(
        made.len() >= least,
        "case {i}: {} {channel:?} in 90 days",
        made.len()
    );
}

/// Regulation F written out: never an eighth call in seven days, and the seven used.
fn seven_calls_a_week(i: usize, made: &[DateTime<Utc>]) {
    for (k, at) in made.iter().enumerate() {
        let week = made[..=k]
            .iter()
            .filter(|t| **t > *at - Duration::days(7))
            .count();
        assert!(week <= 7, "case {i}: {week} calls in the week to {at}");
    }
    assert!(
        made.len() >= 7 * 12,
        "case {i}: {} calls in 90 days",
        made.len()
    );
}

on_both!(
    portfolio_of_hourly_wishes,
    crate::portfolio::an_hourly_strategy_over_90_days_breaks_no_law_and_misses_no_lawful_slot
);
