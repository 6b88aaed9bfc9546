//! Variable scopes: each element instance may hold local variables; a lookup sees the
//! chain from the element up to its process root (a called process does not see its
//! caller's scopes). Writes go to the nearest scope that already has the variable, else to
//! the process root — Camunda 8's propagation rule.

use std::borrow::Cow;
use std::sync::LazyLock;

use serde_json::Value;

use super::{ElemId, Instance};
use crate::expr::{Lookup, Vars};

static EMPTY: LazyLock<Vars> = LazyLock::new(Vars::new);

impl Instance {
    /// Variables visible at `id`, inner scopes shadowing outer ones.
    pub(crate) fn visible(&self, id: ElemId) -> Cow<'_, Vars> {
        let mut chain: Vec<&Vars> = Vec::new();
        let mut cur = Some(id);
        while let Some(c) = cur {
            let Some(el) = self.elements.get(&c) else {
                break;
            };
            if !el.vars.is_empty() {
                chain.push(&el.vars);
            }
            if el.node.is_none() {
                break;
            }
            cur = el.parent;
        }
        match chain.len() {
            0 => Cow::Borrowed(&EMPTY),
            1 => Cow::Borrowed(chain[0]),
            _ => {
                let mut merged = Vars::new();
                for scope in chain.iter().rev() {
                    for (k, v) in scope.iter() {
                        merged.insert(k.clone(), v.clone());
                    }
                }
                Cow::Owned(merged)
            }
        }
    }

    /// Sets `name` in the nearest scope from `from` upwards that has it, else at the
    /// process root of that chain.
    pub(crate) fn set_var(&mut self, from: ElemId, name: &str, value: Value) {
        let mut cur = from;
        loop {
            let Some(el) = self.elements.get(&cur) else {
                return;
            };
            let is_root = el.node.is_none();
            let has = el.vars.contains_key(name);
            match el.parent {
                Some(p) if !has && !is_root => cur = p,
                _ => break,
            }
        }
        if let Some(el) = self.elements.get_mut(&cur) {
            el.vars.insert(name.to_string(), value);
        }
    }

    pub(crate) fn propagate(&mut self, from: ElemId, vars: Vars) {
        for (k, v) in vars {
            self.set_var(from, &k, v);
        }
    }
}

/// The variables visible at an element instance, read through the scope chain without
/// copying: what expressions evaluate against.
pub(crate) struct ScopeView<'a> {
    st: &'a Instance,
    at: ElemId,
}

impl Instance {
    pub(crate) fn view(&self, at: ElemId) -> ScopeView<'_> {
        ScopeView { st: self, at }
    }
}

impl Lookup for ScopeView<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        let mut cur = Some(self.at);
        while let Some(c) = cur {
            let el = self.st.elements.get(&c)?;
            if let Some(v) = el.vars.get(name) {
                return Some(v);
            }
            // A process root ends the chain: a called process does not see its caller.
            el.node?;
            cur = el.parent;
        }
        None
    }
}
