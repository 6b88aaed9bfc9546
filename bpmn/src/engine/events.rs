//! Applying events from outside: task and job completion, timers, messages, incidents.
//! Each event is checked against the state before anything changes, so a rejected event
//! leaves the state as it was.

use chrono::{DateTime, Utc};

use super::run::{Run, Step, corrupt};
use super::{
    Effect, ElemId, EngineError, Event, Instance, Phase, Status, Subscription, SubscriptionKind,
    Wait,
};
use crate::compile::Deployment;
use crate::expr::Vars;
use crate::model::NodeKind;

pub(super) fn handle(
    dep: &Deployment,
    st: &mut Instance,
    event: Event,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, EngineError> {
    if st.status != Status::Active {
        return Err(EngineError::NotActive(st.status));
    }
    let mut run = Run::new(dep, st, now);
    match event {
        Event::CompleteTask { task, variables } => {
            if !matches!(
                run.st.elements.get(&task).map(|e| &e.wait),
                Some(Wait::Task)
            ) {
                return Err(EngineError::UnknownTask(task));
            }
            run.accept_variables(task, variables)?;
            run.queue.push_back(Step::Leave(task));
        }
        Event::CompleteJob { job, variables } => {
            expect_job(run.st, job)?;
            run.accept_variables(job, variables)?;
            run.queue.push_back(Step::Leave(job));
        }
        Event::FailJob {
            job,
            retries,
            message,
            retry_backoff_ms,
        } => {
            let job_type = expect_job(run.st, job)?;
            if retries == 0 {
                let msg =
                    format!("job of type '{job_type}' failed with no retries left: {message}");
                run.incident(job, Phase::Job, msg)?;
            } else {
                let backoff =
                    chrono::Duration::milliseconds(retry_backoff_ms.min(i64::MAX as u64) as i64);
                reinvoke(&mut run, job, retries)?;
                if let Some(Effect::InvokeService(spec)) = run.fx.last_mut() {
                    spec.not_before = now
                        .checked_add_signed(backoff)
                        .filter(|_| retry_backoff_ms > 0);
                }
            }
        }
        Event::ThrowError {
            job,
            code,
            message,
            variables,
        } => {
            expect_job(run.st, job)?;
            run.throw_error(job, &code, variables, Some(&message))?;
        }
        Event::TimerFired { timer } => {
            let sub = run.st.subscriptions.get(&timer).cloned();
            match sub {
                Some(
                    s @ Subscription {
                        kind: SubscriptionKind::Timer { .. },
                        ..
                    },
                ) => fire(&mut run, timer, s, Vars::new())?,
                _ => return Err(EngineError::UnknownTimer(timer)),
            }
        }
        Event::Message {
            name,
            correlation_key,
            variables,
        } => {
            let found = run.st.subscriptions.iter().find(|(_, s)| match &s.kind {
                SubscriptionKind::Message {
                    name: n,
                    correlation_key: k,
                } => {
                    *n == name
                        && match (&correlation_key, k) {
                            (Some(given), Some(expected)) => given == expected,
                            _ => true,
                        }
                }
                SubscriptionKind::Timer { .. } => false,
            });
            let Some((&id, sub)) = found else {
                return Err(EngineError::NoSubscription {
                    name,
                    key: correlation_key,
                });
            };
            let sub = sub.clone();
            fire(&mut run, id, sub, variables)?;
        }
        Event::SetVariables { variables } => {
            let root = run.st.root;
            run.el_mut(root)?.vars.extend(variables);
        }
        Event::ResolveIncident { incident } => {
            let Some(inc) = run.st.incidents.remove(&incident) else {
                return Err(EngineError::UnknownIncident(incident));
            };
            let el = run
                .st
                .elements
                .get_mut(&inc.element)
                .ok_or_else(|| corrupt("incident"))?;
            el.wait = Wait::Scope;
            let (proc, node) = (el.proc, el.node);
            let is_job_node = match node {
                Some(n) => matches!(run.node(proc, n)?.1.kind, NodeKind::Task(_)),
                None => false,
            };
            match inc.phase {
                Phase::Activate => {
                    let body = run
                        .st
                        .elements
                        .get(&inc.element)
                        .is_some_and(|e| e.mi.is_some());
                    if body {
                        // The body is re-entered from scratch (it had not started any inner).
                        if let Some(e) = run.st.elements.get_mut(&inc.element) {
                            e.mi = None;
                        }
                    }
                    enter_again(&mut run, inc.element, body)?;
                }
                Phase::Complete => run.queue.push_back(Step::Leave(inc.element)),
                Phase::Job => reinvoke(&mut run, inc.element, 1)?,
                Phase::UnhandledError if is_job_node => reinvoke(&mut run, inc.element, 1)?,
                Phase::UnhandledError => run.queue.push_back(Step::Enter(inc.element)),
            }
        }
        Event::Cancel => {
            let root = run.st.root;
            run.terminate_children(root, None);
            run.cancel_subscriptions(root);
            run.st.status = Status::Terminated;
            run.fx.push(Effect::Terminated);
            return Ok(run.fx);
        }
    }
    run.drain()?;
    Ok(run.fx)
}

fn expect_job(st: &Instance, job: ElemId) -> Result<String, EngineError> {
    match st.elements.get(&job).map(|e| &e.wait) {
        Some(Wait::Job { job_type, .. }) => Ok(job_type.clone()),
        _ => Err(EngineError::UnknownJob(job)),
    }
}

fn reinvoke(run: &mut Run<'_>, job: ElemId, retries: u32) -> Result<(), EngineError> {
    let el = run.el(job)?;
    let failures = match &el.wait {
        Wait::Job { failures, .. } => failures + 1,
        _ => 0,
    };
    let (proc, node) = (el.proc, el.node.ok_or_else(|| corrupt("job on a root"))?);
    let (_, n, x) = run.node(proc, node)?;
    let Some(job_type) = &x.task_type else {
        return Err(corrupt("job without type"));
    };
    if let Err(msg) = run.invoke_job(job, n, x, job_type) {
        return run.incident(job, Phase::Job, msg);
    }
    if let Some(Effect::InvokeService(spec)) = run.fx.last_mut() {
        spec.retries = retries;
        spec.failures = failures;
    }
    if let Some(super::Element {
        wait: Wait::Job {
            retries: r,
            failures: f,
            ..
        },
        ..
    }) = run.st.elements.get_mut(&job)
    {
        *r = retries;
        *f = failures;
    }
    Ok(())
}

fn enter_again(run: &mut Run<'_>, id: ElemId, body: bool) -> Result<(), EngineError> {
    if body {
        // Re-running activation of a multi-instance body goes through `activate`'s path.
        let el = run.el(id)?;
        let (scope, proc, node) = (el.parent, el.proc, el.node);
        let (Some(scope), Some(node)) = (scope, node) else {
            return Err(corrupt("body"));
        };
        run.st.elements.remove(&id);
        run.queue.push_back(Step::Activate {
            scope,
            proc,
            node,
            via: None,
            entry: super::run::Entry::Joined,
        });
        return Ok(());
    }
    run.queue.push_back(Step::Enter(id));
    Ok(())
}

/// A timer or message subscription fired.
fn fire(run: &mut Run<'_>, id: u64, sub: Subscription, vars: Vars) -> Result<(), EngineError> {
    let (_, n, _) = run.node(sub.proc, sub.node)?;
    let owner = run.el(sub.owner)?;
    let (owner_wait, owner_parent, owner_proc, owner_node) =
        (owner.wait.clone(), owner.parent, owner.proc, owner.node);
    match &n.kind {
        NodeKind::BoundaryEvent {
            cancel_activity, ..
        } => {
            if *cancel_activity {
                run.fire_boundary(sub.owner, sub.proc, sub.node, true, vars)?;
            } else {
                rearm(run, id, &sub)?;
                run.fire_boundary(sub.owner, sub.proc, sub.node, false, vars)?;
            }
        }
        NodeKind::StartEvent { interrupting, .. } => {
            if *interrupting {
                consume(run, id);
            } else {
                rearm(run, id, &sub)?;
            }
            run.start_event_subprocess(sub.owner, sub.proc, sub.node, *interrupting, vars)?;
        }
        _ if owner_wait == Wait::EventGateway => {
            // The first event after an event-based gateway wins; the others are withdrawn.
            consume(run, id);
            run.cancel_subscriptions(sub.owner);
            let scope = owner_parent.ok_or_else(|| corrupt("gateway without scope"))?;
            let (_, gw, _) = run.node(owner_proc, owner_node.unwrap_or_default())?;
            run.fx.push(Effect::ElementCompleted {
                element_id: run.arc_id(owner_proc, owner_node.unwrap_or_default()),
                element_type: super::element_type(&gw.kind),
            });
            run.activate_child(
                scope,
                sub.proc,
                sub.node,
                None,
                super::run::Entry::Triggered(vars),
            );
            run.remove(sub.owner)?;
        }
        _ => {
            consume(run, id);
            run.accept_variables(sub.owner, vars)?;
            run.queue.push_back(Step::Leave(sub.owner));
        }
    }
    Ok(())
}

/// A subscription that fired is gone. A consumed message subscription is announced
/// (whoever routes messages must stop); a fired timer needs no word: its firing is the
/// event that got here.
fn consume(run: &mut Run<'_>, id: u64) {
    if let Some(sub) = run.st.subscriptions.remove(&id)
        && matches!(sub.kind, SubscriptionKind::Message { .. })
    {
        run.fx.push(Effect::UnsubscribeMessage { subscription: id });
    }
}

/// Non-interrupting timer cycles fire again; everything else fires once.
fn rearm(run: &mut Run<'_>, id: u64, sub: &Subscription) -> Result<(), EngineError> {
    consume(run, id);
    let SubscriptionKind::Timer { due, spec, fired } = &sub.kind else {
        // A non-interrupting message catch stays open for the next message.
        run.open_subscription(sub.clone());
        return Ok(());
    };
    let fired = fired + 1;
    if let Some(next) = spec.next_due(*due, fired) {
        let kind = SubscriptionKind::Timer {
            due: next,
            spec: spec.clone(),
            fired,
        };
        run.open_subscription(Subscription {
            kind,
            ..sub.clone()
        });
    }
    Ok(())
}
