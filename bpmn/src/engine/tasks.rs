//! Entering tasks and throw events: user tasks, jobs, scripts, messages, call activities.

use serde_json::Value;

use super::run::{Entry, Run};
use super::{Effect, ElemId, JobSpec, TaskSpec, Wait};
use crate::compile::{ExecNode, ExecProcess, MessageRef};
use crate::expr::{Expression, Vars};
use crate::model::{EventTrigger, FlowNode, TaskKind};

impl<'a> Run<'a> {
    pub(super) fn eval_list(
        &self,
        ctx: ElemId,
        e: &Option<Expression>,
    ) -> Result<Vec<String>, String> {
        let Some(e) = e else { return Ok(Vec::new()) };
        Ok(match self.eval(ctx, e)? {
            Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect(),
            Value::String(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            Value::Null => Vec::new(),
            other => {
                return Err(format!(
                    "`{}` evaluated to {other}, expected a list",
                    e.source()
                ));
            }
        })
    }

    pub(super) fn eval_opt_string(
        &self,
        ctx: ElemId,
        e: &Option<Expression>,
    ) -> Result<Option<String>, String> {
        match e {
            None => Ok(None),
            Some(e) => match self.eval(ctx, e)? {
                Value::Null => Ok(None),
                Value::String(s) if s.is_empty() => Ok(None),
                Value::String(s) => Ok(Some(s)),
                other => Ok(Some(other.to_string())),
            },
        }
    }

    pub(super) fn eval_int(
        &self,
        ctx: ElemId,
        e: &Option<Expression>,
        default: i64,
    ) -> Result<i64, String> {
        let Some(e) = e else { return Ok(default) };
        match self.eval(ctx, e)? {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .ok_or_else(|| format!("`{}` is not an integer", e.source())),
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| format!("`{}` evaluated to \"{s}\", expected an integer", e.source())),
            Value::Null => Ok(default),
            other => Err(format!(
                "`{}` evaluated to {other}, expected an integer",
                e.source()
            )),
        }
    }

    pub(super) fn enter_task(
        &mut self,
        id: ElemId,
        n: &FlowNode,
        x: &ExecNode,
        kind: TaskKind,
    ) -> Result<(), String> {
        if let Some(job_type) = &x.task_type
            && kind != TaskKind::User
            && kind != TaskKind::Receive
        {
            return self.invoke_job(id, n, x, job_type);
        }
        match kind {
            TaskKind::User => {
                let spec = TaskSpec {
                    task: id,
                    element_id: self.arc_id_of(id),
                    name: n.name.clone(),
                    assignee: self.eval_opt_string(id, &x.assignee)?,
                    candidate_groups: self.eval_list(id, &x.candidate_groups)?,
                    candidate_users: self.eval_list(id, &x.candidate_users)?,
                    due_date: self.eval_opt_string(id, &x.due_date)?,
                    follow_up_date: self.eval_opt_string(id, &x.follow_up_date)?,
                    priority: self.eval_int(id, &x.priority, 50)?,
                    form_key: n.ext.form_key.clone(),
                    stage: x.stage.clone().or_else(|| self.st.stage.clone()),
                    variables: self.el(id).map(|e| e.vars.clone()).unwrap_or_default(),
                };
                if let Some(e) = self.st.elements.get_mut(&id) {
                    e.wait = Wait::Task;
                }
                self.fx.push(Effect::CreateTask(Box::new(spec)));
                Ok(())
            }
            TaskKind::Receive => {
                let el = self.el(id).map_err(|e| e.to_string())?;
                let (proc, node) = (el.proc, el.node.unwrap_or_default());
                self.subscribe(id, id, proc, node)?;
                if let Some(e) = self.st.elements.get_mut(&id) {
                    e.wait = Wait::Event;
                }
                Ok(())
            }
            TaskKind::Script => {
                let Some(script) = &x.script else {
                    return Err("script task without script".into());
                };
                let value = self.eval(id, script)?;
                if let Some(var) = &x.result_variable {
                    let mut vars = Vars::new();
                    vars.insert(var.clone(), value);
                    self.accept_variables(id, vars).map_err(|e| e.to_string())?;
                }
                self.pass(id);
                Ok(())
            }
            TaskKind::Send => {
                if let Some(m) = &x.message {
                    self.publish(id, m)?;
                }
                self.pass(id);
                Ok(())
            }
            TaskKind::Task | TaskKind::Manual | TaskKind::Service | TaskKind::BusinessRule => {
                // Without a job type there is nothing to call: the task passes through, as
                // an undefined task does in Camunda 8.
                self.pass(id);
                Ok(())
            }
        }
    }

    pub(super) fn invoke_job(
        &mut self,
        id: ElemId,
        n: &FlowNode,
        x: &ExecNode,
        job_type: &Expression,
    ) -> Result<(), String> {
        let job_type = self.eval_string(id, job_type)?;
        let retries = self
            .eval_int(id, &x.retries, 3)?
            .clamp(0, i64::from(u32::MAX)) as u32;
        let headers = n
            .ext
            .headers
            .iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        let spec = JobSpec {
            job: id,
            element_id: self.arc_id_of(id),
            job_type: job_type.clone(),
            retries,
            failures: 0,
            not_before: None,
            headers,
            variables: self.el(id).map(|e| e.vars.clone()).unwrap_or_default(),
        };
        if let Some(e) = self.st.elements.get_mut(&id) {
            e.wait = Wait::Job {
                job_type,
                retries,
                failures: 0,
            };
        }
        self.fx.push(Effect::InvokeService(Box::new(spec)));
        Ok(())
    }

    pub(super) fn publish(&mut self, id: ElemId, m: &MessageRef) -> Result<(), String> {
        let name = self.eval_string(id, &m.name)?;
        let correlation_key = match &m.correlation_key {
            Some(k) => Some(self.eval_string(id, k)?),
            None => None,
        };
        let variables = self.el(id).map(|e| e.vars.clone()).unwrap_or_default();
        self.fx.push(Effect::PublishMessage {
            name,
            correlation_key,
            variables,
        });
        Ok(())
    }

    pub(super) fn throw_event(
        &mut self,
        id: ElemId,
        _p: &ExecProcess,
        n: &FlowNode,
        x: &ExecNode,
        trigger: &EventTrigger,
    ) -> Result<(), String> {
        match trigger {
            EventTrigger::Message { .. } => {
                if let Some(job_type) = &x.task_type {
                    return self.invoke_job(id, n, x, job_type);
                }
                if let Some(m) = &x.message {
                    self.publish(id, m)?;
                }
                self.pass(id);
            }
            EventTrigger::Terminate => {
                let scope = self.el(id).ok().and_then(|e| e.parent);
                if let Some(scope) = scope {
                    self.terminate_children(scope, Some(id));
                }
                self.pass(id);
            }
            EventTrigger::Error { .. } => {
                let code = x.error_code.clone().unwrap_or_default();
                self.throw_error(id, &code, Vars::new(), None)
                    .map_err(|e| e.to_string())?;
            }
            EventTrigger::Escalation { .. } => {
                let code = x.escalation_code.clone().unwrap_or_default();
                self.throw_escalation(id, &code)
                    .map_err(|e| e.to_string())?;
                if self.st.elements.contains_key(&id) {
                    self.pass(id);
                }
            }
            _ => self.pass(id),
        }
        Ok(())
    }

    pub(super) fn enter_call(&mut self, id: ElemId, x: &ExecNode) -> Result<(), String> {
        let Some(called) = &x.called_process else {
            return Err("no called element".into());
        };
        let process_id = self.eval_string(id, called)?;
        let dep = self.dep;
        let proc = dep.index_of(&process_id).ok_or_else(|| {
            format!("called process '{process_id}' is not deployed with this process")
        })?;
        let start = dep.processes[proc]
            .scopes
            .get(&None)
            .and_then(|s| s.none_start)
            .ok_or_else(|| format!("called process '{process_id}' has no none start event"))?;
        // The child sees a copy of the caller's variables (Camunda 8's default), never
        // the caller's scopes themselves.
        let vars = self.st.visible(id).into_owned();
        let child = self.new_element(proc as u32, None, Some(id), vars, Wait::Scope);
        if let Err(msg) = self.open_event_subprocesses(child, proc as u32, None) {
            self.st.elements.remove(&child);
            return Err(format!("called process '{process_id}': {msg}"));
        }
        if let Some(e) = self.st.elements.get_mut(&id) {
            e.active += 1;
        }
        self.activate_child(child, proc as u32, start as u32, None, Entry::Normal);
        Ok(())
    }
}
