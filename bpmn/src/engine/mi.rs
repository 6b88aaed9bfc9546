//! Multi-instance bodies: one inner instance per item, in parallel or in sequence.

use serde_json::Value;

use super::run::{Entry, Run, Step, corrupt};
use super::{ElemId, EngineError, MiState, Phase};
use crate::expr::{Overlay, Vars};

impl<'a> Run<'a> {
    pub(super) fn enter_body(&mut self, body: ElemId) -> Result<(), EngineError> {
        let el = self.el(body)?;
        let (proc, node) = (el.proc, el.node.unwrap_or_default());
        let (_, n, x) = self.node(proc, node)?;
        let Some(mi) = &x.mi else {
            return Err(corrupt("multi-instance without loop"));
        };
        let items = match (&mi.input_collection, &mi.loop_cardinality) {
            (Some(c), _) => match self.eval(body, c) {
                Ok(Value::Array(items)) => Ok(items),
                Ok(other) => Err(format!(
                    "input collection `{}` evaluated to {other}, expected a list",
                    c.source()
                )),
                Err(e) => Err(e),
            },
            (None, Some(c)) => match self.eval(body, c) {
                Ok(Value::Number(k)) if k.as_u64().is_some_and(|k| k <= 10_000) => {
                    Ok(vec![Value::Null; k.as_u64().unwrap_or(0) as usize])
                }
                Ok(other) => Err(format!(
                    "loop cardinality `{}` evaluated to {other}, expected 0..=10000",
                    c.source()
                )),
                Err(e) => Err(e),
            },
            (None, None) => Err("multi-instance without input collection".to_string()),
        };
        let items = match items {
            Ok(items) => items,
            Err(msg) => return self.incident(body, Phase::Activate, msg),
        };
        if let Err(msg) = self.subscribe_boundaries(body, proc, n) {
            self.cancel_subscriptions(body);
            return self.incident(body, Phase::Activate, msg);
        }
        let count = items.len();
        let outputs = if mi.output_collection.is_some() {
            vec![Value::Null; count]
        } else {
            Vec::new()
        };
        self.el_mut(body)?.mi = Some(Box::new(MiState {
            items,
            started: 0,
            completed: 0,
            outputs,
        }));
        if count == 0 {
            self.queue.push_back(Step::Leave(body));
        } else if mi.sequential {
            self.spawn_inner(body)?;
        } else {
            for _ in 0..count {
                self.spawn_inner(body)?;
            }
        }
        Ok(())
    }

    pub(super) fn spawn_inner(&mut self, body: ElemId) -> Result<(), EngineError> {
        let el = self.el(body)?;
        let (proc, node) = (el.proc, el.node.unwrap_or_default());
        let (_, _, x) = self.node(proc, node)?;
        let input_element = x.mi.as_ref().and_then(|m| m.input_element.clone());
        let mi = self
            .el_mut(body)?
            .mi
            .as_mut()
            .ok_or_else(|| corrupt("body without state"))?;
        let index = mi.started as usize;
        let item = mi.items.get(index).cloned().unwrap_or(Value::Null);
        mi.started += 1;
        let mut locals = Vars::new();
        if let Some(name) = input_element {
            locals.insert(name, item);
        }
        locals.insert("loopCounter".into(), Value::from(index + 1));
        self.activate_child(body, proc, node, None, Entry::Inner(locals));
        Ok(())
    }

    /// One instance of a multi-instance activity finished.
    pub(super) fn inner_done(&mut self, body: ElemId, inner: ElemId) -> Result<(), EngineError> {
        let b = self.el(body)?;
        let (proc, node) = (b.proc, b.node.unwrap_or_default());
        let (_, _, x) = self.node(proc, node)?;
        let Some(mi) = &x.mi else {
            return Err(corrupt("body without loop"));
        };
        let index = self
            .el(inner)?
            .vars
            .get("loopCounter")
            .and_then(Value::as_u64)
            .unwrap_or(1)
            .saturating_sub(1) as usize;
        let output = match &mi.output_element {
            Some(e) => match self.eval(inner, e) {
                Ok(v) => Some(v),
                Err(msg) => return self.incident(inner, Phase::Complete, msg),
            },
            None => None,
        };
        let (total, completed, started) = match &self.el(body)?.mi {
            Some(m) => (
                m.items.len() as u64,
                u64::from(m.completed) + 1,
                u64::from(m.started),
            ),
            None => return Err(corrupt("body without state")),
        };
        let done = match &mi.completion_condition {
            Some(c) => {
                let mut counts = Vars::new();
                counts.insert("numberOfInstances".into(), total.into());
                counts.insert("numberOfCompletedInstances".into(), completed.into());
                counts.insert(
                    "numberOfActiveInstances".into(),
                    (started - completed).into(),
                );
                let view = self.st.view(inner);
                match c.eval_bool_in(&Overlay {
                    first: &counts,
                    then: &view,
                }) {
                    Ok(b) => b,
                    Err(e) => return self.incident(inner, Phase::Complete, e.to_string()),
                }
            }
            None => false,
        };
        let b = self.el_mut(body)?;
        let st = b.mi.as_mut().ok_or_else(|| corrupt("body without state"))?;
        st.completed += 1;
        if let (Some(v), Some(slot)) = (output, st.outputs.get_mut(index)) {
            *slot = v;
        }
        let more = (st.started as usize) < st.items.len();
        if done {
            self.terminate_children(body, Some(inner));
        } else if mi.sequential && more {
            self.spawn_inner(body)?;
        }
        Ok(())
    }
    pub(super) fn collect_outputs(
        &mut self,
        body: ElemId,
        parent: ElemId,
    ) -> Result<(), EngineError> {
        let b = self.el(body)?;
        let (_, _, x) = self.node(b.proc, b.node.unwrap_or_default())?;
        let name = x.mi.as_ref().and_then(|m| m.output_collection.clone());
        if let (Some(name), Some(state)) = (name, b.mi.as_ref()) {
            let value = Value::Array(state.outputs.clone());
            self.st.set_var(parent, &name, value);
        }
        Ok(())
    }
}
