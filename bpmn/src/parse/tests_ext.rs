//! Unit tests of extension elements, conditions, timers and scripts.

use super::tests::{doc, ok};
use crate::model::{EventTrigger, Expr, FlowNode, Mapping, Property, TimerKind};

fn node(body: &str) -> FlowNode {
    let defs = ok(&doc(&format!(
        "<bpmn:process id=\"p\">{body}</bpmn:process>"
    )));
    defs.processes[0].nodes[0].clone()
}

fn text(e: &Option<Expr>) -> Option<&str> {
    e.as_ref().map(|e| e.text.as_str())
}

#[test]
fn zeebe_user_and_service_task() {
    let n = node(
        r#"<bpmn:userTask id="u"><bpmn:extensionElements>
  <zeebe:assignmentDefinition assignee="=owner" candidateGroups="clerks" candidateUsers="ann, bob"/>
  <zeebe:taskSchedule dueDate="=due" followUpDate="2026-01-01T00:00:00Z"/>
  <zeebe:priorityDefinition priority="75"/>
  <zeebe:formDefinition formKey="camunda-forms:bpmn:f1"/>
  <zeebe:taskDefinition type="send-letter" retries="5"/>
  <zeebe:taskHeaders><zeebe:header key="channel" value="mail"/></zeebe:taskHeaders>
  <zeebe:ioMapping><zeebe:input source="=debtor.name" target="name"/><zeebe:output source="=ok" target="sent"/></zeebe:ioMapping>
  <zeebe:properties><zeebe:property name="stage" value="dunning"/></zeebe:properties>
  <zeebe:executionListeners/>
</bpmn:extensionElements></bpmn:userTask>"#,
    );
    let e = &n.ext;
    assert_eq!(text(&e.assignee), Some("=owner"));
    assert_eq!(text(&e.candidate_groups), Some("clerks"));
    assert_eq!(text(&e.candidate_users), Some("ann, bob"));
    assert_eq!(text(&e.due_date), Some("=due"));
    assert_eq!(text(&e.follow_up_date), Some("2026-01-01T00:00:00Z"));
    assert_eq!(text(&e.priority), Some("75"));
    assert_eq!(e.form_key.as_deref(), Some("camunda-forms:bpmn:f1"));
    assert_eq!(text(&e.task_type), Some("send-letter"));
    assert_eq!(text(&e.retries), Some("5"));
    assert_eq!(
        e.headers,
        vec![Property {
            name: "channel".into(),
            value: "mail".into()
        }]
    );
    assert_eq!(e.inputs.len(), 1);
    assert_eq!(
        (
            e.inputs[0].source.text.as_str(),
            e.inputs[0].target.as_str()
        ),
        ("=debtor.name", "name")
    );
    assert_eq!(
        (
            e.outputs[0].source.text.as_str(),
            e.outputs[0].target.as_str()
        ),
        ("=ok", "sent")
    );
    assert_eq!(n.stage(), Some("dunning"));
    assert_eq!(e.unsupported, vec!["zeebe:executionListeners".to_owned()]);
    assert_eq!(e.candidate_groups.as_ref().map(|x| x.pos.line), Some(4));
}

#[test]
fn zeebe_call_activity_script_and_decision() {
    let n = node(
        r#"<bpmn:callActivity id="c"><bpmn:extensionElements>
<zeebe:calledElement processId="=target" propagateAllChildVariables="false"/></bpmn:extensionElements></bpmn:callActivity>"#,
    );
    let called = n.ext.called_element.expect("called element");
    assert_eq!(called.process_id, "=target");
    assert!(!called.propagate_all_child_variables);
    assert!(called.propagate_all_parent_variables);

    let n = node(r#"<bpmn:callActivity id="c" calledElement="other"/>"#);
    assert_eq!(
        n.ext.called_element.map(|c| c.process_id),
        Some("other".to_owned())
    );

    let n = node(
        r#"<bpmn:scriptTask id="s"><bpmn:extensionElements><zeebe:script expression="=a + 1" resultVariable="b"/></bpmn:extensionElements></bpmn:scriptTask>"#,
    );
    let script = n.ext.script.expect("script");
    assert_eq!(
        (script.format.as_str(), script.body.text.as_str()),
        ("feel", "=a + 1")
    );
    assert_eq!(script.result_variable.as_deref(), Some("b"));

    let n = node(
        r#"<bpmn:businessRuleTask id="b"><bpmn:extensionElements><zeebe:calledDecision decisionId="risk" resultVariable="score"/></bpmn:extensionElements></bpmn:businessRuleTask>"#,
    );
    assert_eq!(n.ext.called_decision.as_deref(), Some("risk"));
    assert_eq!(n.ext.result_variable.as_deref(), Some("score"));
}

#[test]
fn zeebe_multi_instance_and_message_subscription() {
    let defs = ok(&doc(
        r#"<bpmn:message id="m" name="paid"><bpmn:extensionElements><zeebe:subscription correlationKey="=caseId"/></bpmn:extensionElements></bpmn:message>
<bpmn:process id="p"><bpmn:task id="t"><bpmn:multiInstanceLoopCharacteristics isSequential="true">
<bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=debtors" inputElement="debtor" outputCollection="results" outputElement="=r"/></bpmn:extensionElements>
<bpmn:completionCondition xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">= done</bpmn:completionCondition>
<bpmn:loopCardinality>3</bpmn:loopCardinality>
</bpmn:multiInstanceLoopCharacteristics></bpmn:task></bpmn:process>"#,
    ));
    assert_eq!(text(&defs.messages[0].correlation_key), Some("=caseId"));
    let mi = defs.processes[0].nodes[0]
        .multi_instance
        .clone()
        .expect("multi-instance");
    assert!(mi.sequential);
    assert_eq!(text(&mi.input_collection), Some("=debtors"));
    assert_eq!(mi.input_element.as_deref(), Some("debtor"));
    assert_eq!(mi.output_collection.as_deref(), Some("results"));
    assert_eq!(text(&mi.output_element), Some("=r"));
    assert_eq!(text(&mi.completion_condition), Some("= done"));
    assert_eq!(text(&mi.loop_cardinality), Some("3"));
}

#[test]
fn camunda7_attributes_and_elements() {
    let n = node(
        r#"<bpmn:userTask id="u" camunda:assignee="demo" camunda:candidateGroups="management" camunda:candidateUsers="a"
  camunda:dueDate="${due}" camunda:followUpDate="x" camunda:priority="10" camunda:formKey="embedded:app:form.html">
<bpmn:extensionElements>
  <camunda:inputOutput>
    <camunda:inputParameter name="amount">${invoice.amount}</camunda:inputParameter>
    <camunda:inputParameter name="items"><camunda:list><camunda:value>a</camunda:value></camunda:list></camunda:inputParameter>
    <camunda:outputParameter name="approved">${ok}</camunda:outputParameter>
  </camunda:inputOutput>
  <camunda:properties><camunda:property name="stage" value="review"/></camunda:properties>
  <camunda:taskListener event="create" class="x.Y"/>
  <camunda:executionListener event="start" expression="${x}"/>
</bpmn:extensionElements></bpmn:userTask>"#,
    );
    let e = &n.ext;
    assert_eq!(text(&e.assignee), Some("demo"));
    assert_eq!(text(&e.candidate_groups), Some("management"));
    assert_eq!(text(&e.candidate_users), Some("a"));
    assert_eq!(text(&e.due_date), Some("${due}"));
    assert_eq!(text(&e.follow_up_date), Some("x"));
    assert_eq!(text(&e.priority), Some("10"));
    assert_eq!(e.form_key.as_deref(), Some("embedded:app:form.html"));
    assert_eq!(e.inputs.len(), 1);
    assert_eq!(
        (
            e.inputs[0].source.text.as_str(),
            e.inputs[0].target.as_str()
        ),
        ("${invoice.amount}", "amount")
    );
    let Mapping { source, target } = &e.outputs[0];
    assert_eq!(
        (source.text.as_str(), target.as_str()),
        ("${ok}", "approved")
    );
    assert_eq!(n.stage(), Some("review"));
    assert_eq!(e.unsupported.len(), 3, "{:?}", e.unsupported);
    assert!(e.unsupported[0].contains("items"), "{:?}", e.unsupported);
    assert!(e.unsupported.contains(&"camunda:taskListener".to_owned()));
}

#[test]
fn camunda7_service_tasks_and_multi_instance() {
    let n = node(r#"<bpmn:serviceTask id="s" camunda:type="external" camunda:topic="letters"/>"#);
    assert_eq!(text(&n.ext.task_type), Some("letters"));
    for (attrs, recorded) in [
        (r#"camunda:class="a.B""#, "camunda:class"),
        (
            r#"camunda:delegateExpression="${bean}""#,
            "camunda:delegateExpression",
        ),
        (r#"camunda:expression="${svc.run()}""#, "camunda:expression"),
    ] {
        let n = node(&format!("<bpmn:serviceTask id=\"s\" {attrs}/>"));
        assert_eq!(n.ext.task_type, None, "a Java delegate is no job type");
        assert_eq!(n.ext.unsupported, [recorded]);
    }
    let n = node(
        r#"<bpmn:businessRuleTask id="b" camunda:decisionRef="dish" camunda:resultVariable="d"/>"#,
    );
    assert_eq!(
        (
            n.ext.called_decision.as_deref(),
            n.ext.result_variable.as_deref()
        ),
        (Some("dish"), Some("d"))
    );
    let n = node(
        r#"<bpmn:task id="t"><bpmn:multiInstanceLoopCharacteristics camunda:collection="${list}" camunda:elementVariable="item"/></bpmn:task>"#,
    );
    let mi = n.multi_instance.expect("multi-instance");
    assert!(!mi.sequential);
    assert_eq!(
        (text(&mi.input_collection), mi.input_element.as_deref()),
        (Some("${list}"), Some("item"))
    );
    let n = node(r#"<bpmn:task id="t"><bpmn:standardLoopCharacteristics/></bpmn:task>"#);
    assert!(n.standard_loop);
}

#[test]
fn inline_script_condition_and_timers() {
    let n = node(
        r#"<bpmn:scriptTask id="s" scriptFormat="JavaScript" camunda:resultVariable="r"><bpmn:script><![CDATA[ next(null, 1 < 2); ]]></bpmn:script></bpmn:scriptTask>"#,
    );
    let script = n.ext.script.expect("script");
    assert_eq!(
        (script.format.as_str(), script.body.text.as_str()),
        ("javascript", "next(null, 1 < 2);")
    );
    assert_eq!(script.result_variable.as_deref(), Some("r"));

    let defs = ok(&doc(
        r#"<bpmn:process id="p"><bpmn:exclusiveGateway id="g" default="f2"/><bpmn:task id="a"/><bpmn:task id="b"/>
<bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="a"><bpmn:conditionExpression language="feel">
  = amount &gt; 1000 </bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="b"><bpmn:conditionExpression>  </bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:intermediateCatchEvent id="t1"><bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT10M</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="t2"><bpmn:timerEventDefinition><bpmn:timeDate> 2026-12-01T08:00:00Z </bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:startEvent id="c" isInterrupting="false"><bpmn:conditionalEventDefinition><bpmn:condition>=x</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:startEvent>
</bpmn:process>"#,
    ));
    let p = &defs.processes[0];
    assert_eq!(p.nodes[0].default_flow, Some(1));
    let cond = p.flows[0].condition.clone().expect("condition");
    assert_eq!(
        (cond.text.as_str(), cond.language.as_deref()),
        ("= amount > 1000", Some("feel"))
    );
    assert_eq!(cond.pos.line, 4);
    assert!(
        p.flows[1].condition.is_none(),
        "empty condition counts as none"
    );
    let timer = |id: &str| match &p.nodes[p.node_index(id).expect("timer")].kind {
        crate::model::NodeKind::IntermediateCatchEvent {
            trigger: EventTrigger::Timer(t),
        } => t.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (timer("t1").kind, text(&timer("t1").expr)),
        (Some(TimerKind::Cycle), Some("R3/PT10M"))
    );
    assert_eq!(
        (timer("t2").kind, text(&timer("t2").expr)),
        (Some(TimerKind::Date), Some("2026-12-01T08:00:00Z"))
    );
    let start = &p.nodes[p.node_index("c").expect("start")];
    let crate::model::NodeKind::StartEvent {
        trigger: EventTrigger::Conditional { condition },
        interrupting: false,
    } = &start.kind
    else {
        panic!("{:?}", start.kind)
    };
    assert_eq!(text(condition), Some("=x"));
}

#[test]
fn process_and_lane_properties() {
    let defs = ok(&doc(
        r#"<bpmn:process id="p"><bpmn:extensionElements><zeebe:properties><zeebe:property name="owner" value="ops"/></zeebe:properties></bpmn:extensionElements>
<bpmn:laneSet><bpmn:lane id="l"><bpmn:extensionElements><camunda:properties><camunda:property name="stage" value="legal"/></camunda:properties></bpmn:extensionElements></bpmn:lane></bpmn:laneSet></bpmn:process>"#,
    ));
    let p = &defs.processes[0];
    assert_eq!(
        p.properties,
        vec![Property {
            name: "owner".into(),
            value: "ops".into()
        }]
    );
    assert_eq!(
        crate::model::stage_of(&p.lanes[0].properties),
        Some("legal")
    );
}
