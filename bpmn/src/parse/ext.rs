//! Engine extensions: Camunda 8 (`zeebe:`) elements and Camunda 7 (`camunda:`)
//! attributes and elements, normalised into [`Extensions`].

use super::reader::{Attrs, Builder, Container, Element, Frame, Kind, Ns, Owner, attr_expr};
use crate::model::{CalledElement, Expr, Extensions, Mapping, Pos, Property, Script};

/// Camunda 7 attributes on a flow node (`camunda:assignee="demo"` etc.).
pub(crate) fn camunda_attributes(ext: &mut Extensions, a: &Attrs, pos: Pos) {
    let e = |name: &str| attr_expr(a.camunda(name), pos);
    ext.assignee = e("assignee");
    ext.candidate_groups = e("candidateGroups");
    ext.candidate_users = e("candidateUsers");
    ext.due_date = e("dueDate");
    ext.follow_up_date = e("followUpDate");
    ext.priority = e("priority");
    ext.form_key = a.camunda("formKey").map(str::to_owned);
    // External tasks name their worker by topic; `type="external"` alone says nothing.
    ext.task_type = ["topic", "type"].iter().find_map(|name| e(name));
    // Java delegates run inside a Camunda 7 JVM; recorded so `--executable` can say so.
    for java in ["class", "delegateExpression", "expression"] {
        if a.camunda(java).is_some() {
            ext.unsupported.push(format!("camunda:{java}"));
        }
    }
    ext.result_variable = a.camunda("resultVariable").map(str::to_owned);
    ext.called_decision = a.camunda("decisionRef").map(str::to_owned);
}

fn text_expr(text: &str, pos: Pos) -> Expr {
    Expr {
        text: text.trim().to_owned(),
        language: None,
        pos,
    }
}

impl Builder {
    fn ext_mut(&mut self, owner: Owner) -> Option<&mut Extensions> {
        match owner {
            Owner::Node(p, n) => Some(&mut self.procs.get_mut(p)?.process.nodes.get_mut(n)?.ext),
            _ => None,
        }
    }

    fn properties_mut(&mut self, owner: Owner) -> Option<&mut Vec<Property>> {
        match owner {
            Owner::Node(..) => self.ext_mut(owner).map(|e| &mut e.properties),
            Owner::Process(p) => Some(&mut self.procs.get_mut(p)?.process.properties),
            Owner::Lane(p, l) => {
                Some(&mut self.procs.get_mut(p)?.process.lanes.get_mut(l)?.properties)
            }
            Owner::Message(_) | Owner::MultiInstance(..) => None,
        }
    }

    /// A direct child of `extensionElements`.
    pub(super) fn open_extension(&mut self, owner: Owner, el: &Element<'_>) -> Option<Frame> {
        let pos = el.pos;
        let a = &el.attrs;
        let container = match (el.ns, el.local) {
            (Ns::Zeebe, "taskHeaders") => Container::ZeebeTaskHeaders,
            (Ns::Zeebe, "ioMapping") => Container::ZeebeIoMapping,
            (Ns::Zeebe, "properties") => Container::ZeebeProperties,
            (Ns::Camunda, "inputOutput") => Container::CamundaInputOutput,
            (Ns::Camunda, "properties") => Container::CamundaProperties,
            (Ns::Zeebe, "subscription") => {
                if let Owner::Message(m) = owner
                    && let Some(msg) = self.defs.messages.get_mut(m)
                {
                    msg.correlation_key = attr_expr(a.get("correlationKey"), pos);
                }
                return None;
            }
            (Ns::Zeebe, "loopCharacteristics") => {
                let Owner::MultiInstance(p, n) = owner else {
                    return None;
                };
                let node = self.procs.get_mut(p)?.process.nodes.get_mut(n)?;
                let mi = node.multi_instance.as_mut()?;
                mi.input_collection =
                    attr_expr(a.get("inputCollection"), pos).or(mi.input_collection.take());
                mi.input_element = a.owned("inputElement").or(mi.input_element.take());
                mi.output_collection = a.owned("outputCollection");
                mi.output_element = attr_expr(a.get("outputElement"), pos);
                return None;
            }
            (Ns::Zeebe, name) => {
                self.zeebe_leaf(owner, name, a, pos);
                return None;
            }
            (Ns::Camunda, name) => {
                if let Some(ext) = self.ext_mut(owner) {
                    ext.unsupported.push(format!("camunda:{name}"));
                }
                return None;
            }
            _ => return None,
        };
        Some(Frame::new(Kind::ExtContainer(owner, container), pos))
    }

    /// Zeebe extension elements that are a single tag with attributes.
    fn zeebe_leaf(&mut self, owner: Owner, name: &str, a: &Attrs, pos: Pos) {
        let Some(ext) = self.ext_mut(owner) else {
            return;
        };
        let e = |attr: &str| attr_expr(a.get(attr), pos);
        match name {
            "taskDefinition" => {
                ext.task_type = e("type");
                ext.retries = e("retries");
            }
            "assignmentDefinition" => {
                ext.assignee = e("assignee");
                ext.candidate_groups = e("candidateGroups");
                ext.candidate_users = e("candidateUsers");
            }
            "taskSchedule" => {
                ext.due_date = e("dueDate");
                ext.follow_up_date = e("followUpDate");
            }
            "priorityDefinition" => ext.priority = e("priority"),
            // Camunda 8.3+ links deployed forms by `formId` instead of `formKey`.
            "formDefinition" => ext.form_key = a.owned("formKey").or_else(|| a.owned("formId")),
            "calledElement" => {
                ext.called_element = a.owned("processId").map(|process_id| CalledElement {
                    process_id,
                    propagate_all_child_variables: a.flag("propagateAllChildVariables", true),
                    propagate_all_parent_variables: a.flag("propagateAllParentVariables", true),
                    pos,
                });
            }
            "script" => {
                let result_variable = a.owned("resultVariable");
                if let Some(body) = e("expression") {
                    ext.script = Some(Script {
                        format: "feel".into(),
                        body,
                        result_variable: result_variable.clone(),
                    });
                }
                ext.result_variable = result_variable;
            }
            "calledDecision" => {
                ext.called_decision = a.owned("decisionId");
                ext.result_variable = a.owned("resultVariable");
            }
            other => ext.unsupported.push(format!("zeebe:{other}")),
        }
    }

    /// A child of a list-like extension element (headers, mappings, properties).
    pub(super) fn open_ext_entry(
        &mut self,
        owner: Owner,
        c: Container,
        el: &Element<'_>,
    ) -> Option<Frame> {
        let a = &el.attrs;
        let pos = el.pos;
        match (c, el.ns, el.local) {
            (Container::ZeebeIoMapping, Ns::Zeebe, kind @ ("input" | "output")) => {
                let mapping = Mapping {
                    source: text_expr(a.get("source").unwrap_or_default(), pos),
                    target: a.owned("target").unwrap_or_default(),
                };
                let ext = self.ext_mut(owner)?;
                if kind == "input" {
                    ext.inputs.push(mapping)
                } else {
                    ext.outputs.push(mapping)
                }
                None
            }
            (Container::ZeebeTaskHeaders, Ns::Zeebe, "header") => {
                let header = Property {
                    name: a.owned("key").unwrap_or_default(),
                    value: a.owned("value").unwrap_or_default(),
                };
                self.ext_mut(owner)?.headers.push(header);
                None
            }
            (Container::ZeebeProperties, Ns::Zeebe, "property")
            | (Container::CamundaProperties, Ns::Camunda, "property") => {
                let property = Property {
                    name: a.owned("name").unwrap_or_default(),
                    value: a.owned("value").unwrap_or_default(),
                };
                self.properties_mut(owner)?.push(property);
                None
            }
            (
                Container::CamundaInputOutput,
                Ns::Camunda,
                kind @ ("inputParameter" | "outputParameter"),
            ) => {
                let name = a.owned("name").unwrap_or_default();
                let output = kind == "outputParameter";
                Some(Frame::with_text(
                    Kind::CamundaParam {
                        owner,
                        name,
                        output,
                        nested: false,
                    },
                    pos,
                ))
            }
            _ => None,
        }
    }

    pub(super) fn finish_camunda_param(
        &mut self,
        owner: Owner,
        name: String,
        output: bool,
        nested: bool,
        text: Option<String>,
        pos: Pos,
    ) {
        let Some(ext) = self.ext_mut(owner) else {
            return;
        };
        let element = if output {
            "camunda:outputParameter"
        } else {
            "camunda:inputParameter"
        };
        if nested {
            ext.unsupported.push(format!(
                "{element} '{name}' (nested camunda:list/map/script)"
            ));
            return;
        }
        let mapping = Mapping {
            source: text_expr(text.as_deref().unwrap_or_default(), pos),
            target: name,
        };
        if output {
            ext.outputs.push(mapping)
        } else {
            ext.inputs.push(mapping)
        }
    }
}
