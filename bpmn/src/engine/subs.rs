//! Timer and message subscriptions: catch events, boundary events, event-based
//! gateways and event sub-process starts.

use super::run::{Run, trigger_kind};
use super::{Effect, ElemId, Subscription, SubscriptionKind, Wait};
use crate::compile::Deployment;
use crate::model::{FlowNode, NodeKind};
use crate::timer::parse_timer;

impl<'a> Run<'a> {
    pub(super) fn enter_event_gateway(
        &mut self,
        id: ElemId,
        proc: u32,
        n: &FlowNode,
    ) -> Result<(), String> {
        let (p, _, _) = self.node(proc, 0).map_err(|e| e.to_string())?;
        for &f in &n.outgoing {
            let target = p.model.flows.get(f).map(|f| f.target).ok_or("flow index")?;
            self.subscribe(id, id, proc, target as u32)?;
        }
        if let Some(e) = self.st.elements.get_mut(&id) {
            e.wait = Wait::EventGateway;
        }
        Ok(())
    }

    /// Opens the timer/message subscriptions of the event sub-processes of a scope. On
    /// failure nothing stays open.
    pub(super) fn open_event_subprocesses(
        &mut self,
        scope: ElemId,
        proc: u32,
        node: Option<u32>,
    ) -> Result<(), String> {
        let dep: &'a Deployment = self.dep;
        let Some(p) = dep.processes.get(proc as usize) else {
            return Err("process index out of range".into());
        };
        let Some(info) = p.scopes.get(&node.map(|n| n as usize)) else {
            return Ok(());
        };
        for &start in &info.event_starts {
            let Some(NodeKind::StartEvent { trigger, .. }) =
                p.model.nodes.get(start).map(|n| &n.kind)
            else {
                continue;
            };
            if trigger_kind(trigger).is_some()
                && let Err(msg) = self.subscribe(scope, scope, proc, start as u32)
            {
                self.cancel_subscriptions(scope);
                return Err(msg);
            }
        }
        Ok(())
    }

    pub(super) fn subscribe_boundaries(
        &mut self,
        id: ElemId,
        proc: u32,
        n: &FlowNode,
    ) -> Result<(), String> {
        for &b in &n.boundaries {
            let (_, bn, _) = self.node(proc, b as u32).map_err(|e| e.to_string())?;
            if let NodeKind::BoundaryEvent { trigger, .. } = &bn.kind
                && trigger_kind(trigger).is_some()
            {
                self.subscribe(id, id, proc, b as u32)?;
            }
        }
        Ok(())
    }

    /// Opens a timer or message subscription for `node`, owned by `owner`, with
    /// expressions evaluated at `ctx`.
    pub(super) fn subscribe(
        &mut self,
        owner: ElemId,
        ctx: ElemId,
        proc: u32,
        node: u32,
    ) -> Result<(), String> {
        let (_, n, x) = self.node(proc, node).map_err(|e| e.to_string())?;
        let kind = if let Some((kind, expr)) = &x.timer {
            let text = self.eval_string(ctx, expr)?;
            let spec =
                parse_timer(*kind, text.trim()).map_err(|m| format!("timer of '{}': {m}", n.id))?;
            let due = spec
                .first_due(self.now)
                .ok_or_else(|| format!("timer of '{}' ('{text}') never fires", n.id))?;
            SubscriptionKind::Timer {
                due,
                spec,
                fired: 0,
            }
        } else if let Some(m) = &x.message {
            let name = self.eval_string(ctx, &m.name)?;
            let correlation_key = match &m.correlation_key {
                Some(k) => Some(self.eval_string(ctx, k)?),
                None => None,
            };
            SubscriptionKind::Message {
                name,
                correlation_key,
            }
        } else {
            return Err(format!(
                "'{}' has neither a timer nor a message to wait for",
                n.id
            ));
        };
        self.open_subscription(Subscription {
            owner,
            proc,
            node,
            kind,
        });
        Ok(())
    }

    pub(super) fn open_subscription(&mut self, sub: Subscription) {
        let element_id = self.arc_id(sub.proc, sub.node);
        let id = self.next_id();
        match &sub.kind {
            SubscriptionKind::Timer { due, .. } => self.fx.push(Effect::ScheduleTimer {
                timer: id,
                element_id,
                due: *due,
            }),
            SubscriptionKind::Message {
                name,
                correlation_key,
            } => self.fx.push(Effect::SubscribeMessage {
                subscription: id,
                name: name.clone(),
                correlation_key: correlation_key.clone(),
            }),
        }
        self.st.subscriptions.insert(id, sub);
    }

    pub(super) fn cancel_subscriptions(&mut self, owner: ElemId) {
        let ids: Vec<u64> = self
            .st
            .subscriptions
            .iter()
            .filter(|(_, s)| s.owner == owner)
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            self.close_subscription(id);
        }
    }

    pub(super) fn close_subscription(&mut self, id: u64) {
        if let Some(sub) = self.st.subscriptions.remove(&id) {
            self.fx.push(match sub.kind {
                SubscriptionKind::Timer { .. } => Effect::CancelTimer { timer: id },
                SubscriptionKind::Message { .. } => Effect::UnsubscribeMessage { subscription: id },
            });
        }
    }
}
