//! What a committed event changes in the read side (cases, tasks, timers, message
//! subscriptions) and what it sends out (outbox), computed from the engine's effects.
//! Written in the same transaction as the journal entry.

use bpmn::engine::{Effect, Event, Instance, Status};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::CaseEvent;

#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub task_id: i64,
    pub element_id: String,
    pub name: Option<String>,
    pub assignee: Option<String>,
    pub candidate_groups: Vec<String>,
    pub candidate_users: Vec<String>,
    pub priority: i32,
    pub due_at: Option<DateTime<Utc>>,
    pub stage: Option<String>,
}

/// An effect that leaves the system, delivered after commit.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub kind: &'static str,
    pub payload: Value,
    /// Not to be delivered before (a job retry's back-off).
    pub not_before: Option<DateTime<Utc>>,
}

fn row(kind: &'static str, payload: Value) -> OutboxRow {
    OutboxRow {
        kind,
        payload,
        not_before: None,
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    pub stage: Option<String>,
    pub status: &'static str,
    pub tasks_created: Vec<TaskRow>,
    /// (task id, new status)
    pub tasks_closed: Vec<(i64, &'static str)>,
    pub timers_added: Vec<(i64, String, DateTime<Utc>)>,
    pub timers_removed: Vec<i64>,
    pub subscriptions_added: Vec<(i64, String, Option<String>)>,
    pub subscriptions_removed: Vec<i64>,
    /// For the outbox dispatcher.
    pub outbox: Vec<OutboxRow>,
}

/// The case's status as the read side shows it.
pub fn status_of(inst: &Instance) -> &'static str {
    match inst.status {
        Status::Completed => "completed",
        Status::Terminated => "cancelled",
        Status::Active if !inst.incidents.is_empty() => "incident",
        Status::Active => "active",
    }
}

pub fn changes(event: &CaseEvent, after: &Instance, effects: &[Effect]) -> Changes {
    let mut c = Changes {
        stage: after.stage.clone(),
        status: status_of(after),
        ..Changes::default()
    };
    match event {
        CaseEvent::Engine {
            event: Event::CompleteTask { task, .. },
        } => {
            c.tasks_closed.push((*task as i64, "completed"));
        }
        CaseEvent::Engine {
            event: Event::TimerFired { timer },
        } => {
            c.timers_removed.push(*timer as i64);
        }
        _ => {}
    }
    for fx in effects {
        match fx {
            Effect::CreateTask(t) => c.tasks_created.push(TaskRow {
                task_id: t.task as i64,
                element_id: t.element_id.to_string(),
                name: t.name.clone(),
                assignee: t.assignee.clone(),
                candidate_groups: t.candidate_groups.clone(),
                candidate_users: t.candidate_users.clone(),
                priority: t.priority.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
                due_at: t
                    .due_date
                    .as_deref()
                    .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
                    .map(|d| d.with_timezone(&Utc)),
                stage: t.stage.clone(),
            }),
            Effect::CancelTask { task } => c.tasks_closed.push((*task as i64, "cancelled")),
            Effect::ScheduleTimer {
                timer,
                element_id,
                due,
            } => c
                .timers_added
                .push((*timer as i64, element_id.to_string(), *due)),
            Effect::CancelTimer { timer } => c.timers_removed.push(*timer as i64),
            Effect::SubscribeMessage {
                subscription,
                name,
                correlation_key,
            } => c.subscriptions_added.push((
                *subscription as i64,
                name.clone(),
                correlation_key.clone(),
            )),
            Effect::UnsubscribeMessage { subscription } => {
                c.subscriptions_removed.push(*subscription as i64)
            }
            Effect::InvokeService(job) => c.outbox.push(OutboxRow {
                kind: "job",
                payload: json!(job),
                not_before: job.not_before,
            }),
            Effect::CancelJob { job } => c.outbox.push(row("job_cancelled", json!({"job": job}))),
            Effect::PublishMessage {
                name,
                correlation_key,
                variables,
            } => c.outbox.push(row(
                "message",
                json!({"name": name, "correlation_key": correlation_key, "variables": variables}),
            )),
            Effect::Incident {
                incident,
                element_id,
                message,
            } => c.outbox.push(row(
                "incident",
                json!({"incident": incident, "element_id": element_id, "message": message}),
            )),
            Effect::StageEntered { .. }
            | Effect::ElementCompleted { .. }
            | Effect::Completed { .. }
            | Effect::Terminated => {}
        }
    }
    // A timer scheduled and removed within one event never reaches the table.
    c.timers_added
        .retain(|(id, _, _)| !c.timers_removed.contains(id));
    c.subscriptions_added
        .retain(|(id, _, _)| !c.subscriptions_removed.contains(id));
    c
}
