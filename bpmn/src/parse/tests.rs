//! Unit tests of the parser: XML layer, errors, structure.

use super::*;
use crate::model::{EventTrigger, NodeKind, SubProcessKind, TaskKind};

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs">
"#;

/// A document whose body starts on line 3.
pub(super) fn doc(body: &str) -> String {
    format!("{HEAD}{body}\n</bpmn:definitions>\n")
}

pub(super) fn ok(xml: &str) -> Definitions {
    parse(xml.as_bytes()).unwrap_or_else(|d| panic!("rejected:\n{d}\n{xml}"))
}

/// The first diagnostic of a rejected document.
fn err(xml: impl AsRef<[u8]>) -> Diagnostic {
    let diags = parse(xml.as_ref()).expect_err("document should be rejected");
    diags.first().cloned().expect("at least one diagnostic")
}

const LINEAR: &str = r#"<bpmn:process id="p" isExecutable="true">
  <bpmn:startEvent id="s"><bpmn:outgoing>wrong</bpmn:outgoing></bpmn:startEvent>
  <bpmn:task id="t"/>
  <bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
  <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
</bpmn:process>"#;

#[test]
fn linear_process_with_computed_flows() {
    let defs = ok(&doc(LINEAR));
    assert_eq!(defs.id.as_deref(), Some("defs"));
    let p = &defs.processes[0];
    assert!(p.is_executable);
    assert_eq!(p.nodes.len(), 3);
    assert_eq!(
        p.nodes[0].outgoing,
        vec![0],
        "computed from flows, not from <outgoing>"
    );
    assert_eq!(p.nodes[1].incoming, vec![0]);
    assert_eq!(p.nodes[1].outgoing, vec![1]);
    assert_eq!(p.nodes[2].incoming, vec![1]);
    assert_eq!(p.nodes[0].pos, Pos { line: 4, col: 3 });
    assert_eq!(p.flows[1].pos, Pos { line: 8, col: 3 });
}

#[test]
fn iso_8859_1_is_transcoded() {
    let mut bytes = br#"<?xml version="1.0" encoding="ISO-8859-1"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p"><task id="t" name="Direcci"#
        .to_vec();
    bytes.push(0xF3);
    bytes.extend_from_slice(br#"n"/><task id="u"/></process></definitions>"#);
    let defs = parse(&bytes).expect("latin-1 document");
    assert_eq!(
        defs.processes[0].nodes[0].name.as_deref(),
        Some("Dirección")
    );
    // Columns count characters, so the second task sits right after the 1-char 'ó'.
    let line2 = "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\"><process id=\"p\"><task id=\"t\" name=\"Dirección\"/>";
    let col = u32::try_from(line2.chars().count()).expect("short") + 1;
    assert_eq!(defs.processes[0].nodes[1].pos, Pos { line: 2, col });
}

#[test]
fn latin1_and_windows_1252_labels_case_insensitive() {
    for label in ["latin1", "Windows-1252", "iso-8859-1"] {
        let mut bytes = format!(
            "<?xml version='1.0' encoding='{label}'?><definitions xmlns='{BPMN_NS}'><process id='p'><task id='t' name='"
        )
        .into_bytes();
        bytes.extend_from_slice(&[0x80, b'\'', b'/', b'>']);
        bytes.extend_from_slice(b"</process></definitions>");
        let defs = parse(&bytes).unwrap_or_else(|d| panic!("{label}: {d}"));
        assert_eq!(
            defs.processes[0].nodes[0].name.as_deref(),
            Some("€"),
            "{label}"
        );
    }
}

#[test]
fn utf8_bom_no_declaration_and_crlf() {
    let body = format!(
        "<definitions xmlns=\"{BPMN_NS}\">\r\n<process id=\"p\">\r\n  <task id=\"t\" name=\"ä\"/>\r\n</process></definitions>"
    );
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(body.as_bytes());
    for input in [bytes, body.into_bytes()] {
        let defs = parse(&input).expect("BOM / no declaration / CRLF");
        let task = &defs.processes[0].nodes[0];
        assert_eq!(task.name.as_deref(), Some("ä"));
        assert_eq!(task.pos, Pos { line: 3, col: 3 });
    }
}

#[test]
fn utf16_with_bom() {
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?><definitions xmlns=\"{BPMN_NS}\"><process id=\"p\"><task id=\"t\" name=\"ñ\"/></process></definitions>"
    );
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let defs = parse(&bytes).expect("UTF-16LE");
    assert_eq!(defs.processes[0].nodes[0].name.as_deref(), Some("ñ"));
}

#[test]
fn unknown_encoding_and_invalid_utf8() {
    let d = err(format!(
        "<?xml version=\"1.0\" encoding=\"klingon\"?><definitions xmlns=\"{BPMN_NS}\"/>"
    ));
    assert_eq!(d.code, DiagnosticCode::MalformedXml);
    assert!(d.message.contains("klingon"), "{}", d.message);
    let mut bytes = b"<?xml version=\"1.0\"?>\n<definitions name=\"x".to_vec();
    bytes.push(0xE4);
    bytes.extend_from_slice(b"\"/>");
    let d = err(bytes);
    assert_eq!(
        (d.code, d.pos),
        (DiagnosticCode::MalformedXml, Pos { line: 2, col: 21 })
    );
    assert!(d.message.contains("0xE4"), "{}", d.message);
}

#[test]
fn several_prefixes_bound_to_the_bpmn_namespace() {
    let xml = format!(
        r#"<definitions xmlns="{BPMN_NS}" xmlns:bpmn="{BPMN_NS}" xmlns:bpmn2="{BPMN_NS}" xmlns:model="{BPMN_NS}">
<bpmn:process id="p"><bpmn2:startEvent id="s"/><model:task id="t"/><endEvent id="e"/>
<semantic:sequenceFlow xmlns:semantic="{BPMN_NS}" id="f" sourceRef="s" targetRef="t"/>
<bpmn:sequenceFlow id="g" sourceRef="t" targetRef="e"/></bpmn:process></definitions>"#
    );
    let defs = ok(&xml);
    assert_eq!(defs.processes[0].nodes.len(), 3);
    assert_eq!(defs.processes[0].flows.len(), 2);
}

#[test]
fn other_namespaces_are_ignored() {
    let xml = doc(r#"<bpmn:process id="p" xmlns:x="urn:vendor" x:color="red">
  <x:task id="not-a-task"><bpmn:task id="hidden"/></x:task>
  <bpmn:task id="t"><bpmn:extensionElements><x:meta id="t"/></bpmn:extensionElements></bpmn:task>
</bpmn:process>"#);
    let defs = ok(&xml);
    assert_eq!(defs.processes[0].nodes.len(), 1);
}

#[test]
fn root_must_be_bpmn_definitions() {
    let d = err(r#"<definitions xmlns:bpmn2="http://www.omg.org/spec/BPMN/20100524/MODEL"/>"#);
    assert_eq!(
        (d.code, d.pos),
        (DiagnosticCode::NotBpmn, Pos { line: 1, col: 1 })
    );
    assert!(d.message.contains("<definitions>"), "{}", d.message);
    assert_eq!(err("<html/>").code, DiagnosticCode::NotBpmn);
    assert_eq!(err("").code, DiagnosticCode::MalformedXml);
}

#[test]
fn doctype_and_entities_are_refused() {
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol2;</definitions>"#;
    let d = err(laughs);
    assert_eq!(
        (d.code, d.pos),
        (DiagnosticCode::Doctype, Pos { line: 2, col: 1 })
    );
    assert!(d.message.contains("XXE"), "{}", d.message);
    let d = err(format!(
        "<definitions xmlns=\"{BPMN_NS}\">\n  <!ENTITY x \"y\"></definitions>"
    ));
    assert_eq!(d.code, DiagnosticCode::Doctype);
    let d = err(format!(
        "<definitions xmlns=\"{BPMN_NS}\" name=\"&custom;\"/>"
    ));
    assert_eq!(d.code, DiagnosticCode::MalformedXml);
    let d = err(format!(
        "<definitions xmlns=\"{BPMN_NS}\"><process id=\"p\">&custom;</process></definitions>"
    ));
    assert_eq!(d.code, DiagnosticCode::MalformedXml);
}

#[test]
fn size_limit() {
    let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    let d = err(&big);
    assert_eq!(d.code, DiagnosticCode::TooLarge);
    assert!(
        d.message.contains(&(MAX_DOCUMENT_BYTES + 1).to_string()),
        "{}",
        d.message
    );
    assert!(
        d.message.contains(&MAX_DOCUMENT_BYTES.to_string()),
        "{}",
        d.message
    );
}

#[test]
fn deep_nesting_is_refused_without_recursion() {
    let xml = format!("<definitions xmlns=\"{BPMN_NS}\">{}", "<a>".repeat(100_000));
    assert_eq!(err(xml).code, DiagnosticCode::TooLarge);
}

#[test]
fn malformed_xml_has_a_position() {
    let d = err(doc(
        "<bpmn:process id=\"p\">\n  <bpmn:task id=\"t\">\n</bpmn:process>",
    ));
    assert_eq!(d.code, DiagnosticCode::MalformedXml);
    assert_eq!(d.pos.line, 5);
    let truncated = doc(LINEAR);
    for cut in [truncated.len() / 2, truncated.len() - 2] {
        assert_eq!(err(&truncated[..cut]).code, DiagnosticCode::MalformedXml);
    }
    let d = err(&truncated[..truncated.find("</bpmn:process>").expect("end tag")]);
    assert!(d.message.contains("truncated"), "{}", d.message);
}

#[test]
fn duplicate_ids_name_the_first_line() {
    let d = err(doc(
        "<bpmn:process id=\"p\">\n<bpmn:task id=\"x\"/>\n<bpmn:task id=\"x\"/></bpmn:process>",
    ));
    assert_eq!((d.code, d.pos.line), (DiagnosticCode::DuplicateId, 5));
    assert_eq!(d.element_id.as_deref(), Some("x"));
    assert!(d.message.contains("line 4"), "{}", d.message);
}

#[test]
fn dangling_sequence_flow() {
    let d = err(doc(
        r#"<bpmn:process id="p"><bpmn:task id="t"/><bpmn:sequenceFlow id="f" sourceRef="t" targetRef="nowhere"/></bpmn:process>"#,
    ));
    assert_eq!(
        (d.code, d.element_id.as_deref()),
        (DiagnosticCode::DanglingReference, Some("f"))
    );
    assert!(d.message.contains("'nowhere'"), "{}", d.message);
    let d = err(doc(
        r#"<bpmn:process id="p"><bpmn:task id="t"/><bpmn:sequenceFlow id="f" sourceRef="t"/></bpmn:process>"#,
    ));
    assert_eq!(d.code, DiagnosticCode::MissingAttribute);
    let d = err(doc(
        r#"<bpmn:process id="p"><bpmn:task name="no id"/></bpmn:process>"#,
    ));
    assert_eq!(d.code, DiagnosticCode::MissingAttribute);
}

#[test]
fn boundary_events_must_be_attached_to_activities() {
    let d = err(doc(
        r#"<bpmn:process id="p"><bpmn:task id="t"/><bpmn:boundaryEvent id="b"/></bpmn:process>"#,
    ));
    assert_eq!(
        (d.code, d.element_id.as_deref()),
        (DiagnosticCode::MissingAttribute, Some("b"))
    );
    assert!(d.message.contains("attached to nothing"), "{}", d.message);
    let d = err(doc(
        r#"<bpmn:process id="p"><bpmn:parallelGateway id="g"/><bpmn:boundaryEvent id="b" attachedToRef="g"/></bpmn:process>"#,
    ));
    assert_eq!(d.code, DiagnosticCode::DanglingReference);
    let d = err(doc(
        r#"<bpmn:process id="p"><bpmn:boundaryEvent id="b" attachedToRef="ghost"/></bpmn:process>"#,
    ));
    assert_eq!(d.code, DiagnosticCode::DanglingReference);
}

#[test]
fn boundary_and_event_definitions() {
    let defs = ok(&doc(r#"<bpmn:message id="m"/><bpmn:signal id="sig"/>
<bpmn:process id="p"><bpmn:task id="t"/>
  <bpmn:boundaryEvent id="b" attachedToRef="t" cancelActivity="false" parallelMultiple="true">
    <bpmn:messageEventDefinition messageRef="m"/><bpmn:signalEventDefinition signalRef="sig"/>
  </bpmn:boundaryEvent>
  <bpmn:endEvent id="e"><bpmn:terminateEventDefinition/></bpmn:endEvent>
</bpmn:process>"#));
    let p = &defs.processes[0];
    assert_eq!(p.nodes[0].boundaries, vec![1]);
    let NodeKind::BoundaryEvent {
        attached_to: 0,
        cancel_activity: false,
        trigger,
    } = &p.nodes[1].kind
    else {
        panic!("{:?}", p.nodes[1].kind)
    };
    let EventTrigger::Multiple {
        triggers,
        parallel: true,
    } = trigger
    else {
        panic!("{trigger:?}")
    };
    assert_eq!(triggers.len(), 2);
    assert_eq!(
        p.nodes[2].kind,
        NodeKind::EndEvent {
            trigger: EventTrigger::Terminate
        }
    );
    let d = err(doc(
        r#"<bpmn:process id="p"><bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="nope"/></bpmn:startEvent></bpmn:process>"#,
    ));
    assert_eq!(d.code, DiagnosticCode::DanglingReference);
}

#[test]
fn gateway_without_outgoing_flow() {
    let d = err(doc(
        r#"<bpmn:process id="p"><bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g"/>
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="g"/></bpmn:process>"#,
    ));
    assert_eq!(
        (d.code, d.element_id.as_deref()),
        (DiagnosticCode::InvalidStructure, Some("g"))
    );
}

#[test]
fn default_flow_must_be_outgoing() {
    let d = err(doc(
        r#"<bpmn:process id="p"><bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g" default="f"/><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="g"/><bpmn:sequenceFlow id="h" sourceRef="g" targetRef="e"/></bpmn:process>"#,
    ));
    assert_eq!(
        (d.code, d.element_id.as_deref()),
        (DiagnosticCode::InvalidStructure, Some("g"))
    );
    let d = err(doc(
        r#"<bpmn:process id="p"><bpmn:exclusiveGateway id="g" default="zz"/></bpmn:process>"#,
    ));
    assert_eq!(d.code, DiagnosticCode::DanglingReference);
}

#[test]
fn flow_crossing_a_sub_process() {
    let d = err(doc(r#"<bpmn:process id="p"><bpmn:task id="t"/>
<bpmn:subProcess id="sp"><bpmn:task id="inner"/></bpmn:subProcess>
<bpmn:sequenceFlow id="f" sourceRef="t" targetRef="inner"/></bpmn:process>"#));
    assert_eq!(
        (d.code, d.element_id.as_deref()),
        (DiagnosticCode::InvalidStructure, Some("f"))
    );
}

#[test]
fn event_flow_rules() {
    let cases = [
        r#"<bpmn:task id="t"/><bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="t" targetRef="s"/>"#,
        r#"<bpmn:endEvent id="e"/><bpmn:task id="t"/><bpmn:sequenceFlow id="f" sourceRef="e" targetRef="t"/>"#,
        r#"<bpmn:task id="t"/><bpmn:task id="u"/><bpmn:boundaryEvent id="b" attachedToRef="t"/><bpmn:sequenceFlow id="f" sourceRef="u" targetRef="b"/>"#,
        r#"<bpmn:task id="t"/><bpmn:subProcess id="esp" triggeredByEvent="true"/><bpmn:sequenceFlow id="f" sourceRef="t" targetRef="esp"/>"#,
        r#"<bpmn:intermediateThrowEvent id="l"><bpmn:linkEventDefinition name="A"/></bpmn:intermediateThrowEvent>"#,
    ];
    for body in cases {
        let d = err(doc(&format!(
            "<bpmn:process id=\"p\">{body}</bpmn:process>"
        )));
        assert_eq!(d.code, DiagnosticCode::InvalidStructure, "{body}");
    }
    let linked = r#"<bpmn:process id="p"><bpmn:intermediateThrowEvent id="l"><bpmn:linkEventDefinition name="A"/></bpmn:intermediateThrowEvent>
<bpmn:intermediateCatchEvent id="c"><bpmn:linkEventDefinition name="A"/></bpmn:intermediateCatchEvent></bpmn:process>"#;
    ok(&doc(linked));
}

#[test]
fn executable_process_needs_a_start_event() {
    let d = err(doc(
        r#"<bpmn:process id="p" isExecutable="true"><bpmn:task id="t"/></bpmn:process>"#,
    ));
    assert_eq!(
        (d.code, d.element_id.as_deref()),
        (DiagnosticCode::InvalidStructure, Some("p"))
    );
    ok(&doc(
        r#"<bpmn:process id="p" isExecutable="false"><bpmn:task id="t"/></bpmn:process>"#,
    ));
}

#[test]
fn sub_processes_lanes_collaboration_and_artifacts() {
    let defs = ok(&doc(
        r#"<bpmn:collaboration id="c"><bpmn:participant id="pool" name="Pool" processRef="p"/>
<bpmn:participant id="black"/><bpmn:messageFlow id="mf" sourceRef="black" targetRef="t"/></bpmn:collaboration>
<bpmn:process id="p"><bpmn:laneSet id="ls"><bpmn:lane id="l1" name="Clerk"><bpmn:flowNodeRef>t</bpmn:flowNodeRef>
<bpmn:childLaneSet id="cls"><bpmn:lane id="l2"><bpmn:flowNodeRef> sp </bpmn:flowNodeRef></bpmn:lane></bpmn:childLaneSet></bpmn:lane></bpmn:laneSet>
<bpmn:task id="t"><bpmn:dataInputAssociation id="dia"/></bpmn:task><bpmn:dataObject id="do"/><bpmn:textAnnotation id="ta"><bpmn:text>x</bpmn:text></bpmn:textAnnotation>
<bpmn:transaction id="sp"><bpmn:adHocSubProcess id="ah"/><bpmn:subProcess id="esp" triggeredByEvent="true"/></bpmn:transaction>
<bpmn:receiveTask id="r" messageRef="t"/></bpmn:process>"#,
    ));
    let p = &defs.processes[0];
    assert_eq!(p.lanes.len(), 2);
    assert_eq!(p.lanes[1].parent.as_deref(), Some("l1"));
    assert_eq!(p.lanes[1].flow_node_refs, vec!["sp".to_owned()]);
    assert_eq!(defs.collaborations[0].participants.len(), 2);
    assert_eq!(defs.collaborations[0].message_flows[0].target_ref, "t");
    let ids: Vec<_> = p.artifacts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["dia", "do", "ta"]);
    let sp = p.node_index("sp").expect("transaction");
    assert_eq!(
        p.nodes[sp].kind,
        NodeKind::SubProcess(SubProcessKind::Transaction)
    );
    let esp = p.node_index("esp").expect("event sub-process");
    assert_eq!(
        (p.nodes[esp].kind.clone(), p.nodes[esp].parent),
        (NodeKind::SubProcess(SubProcessKind::Event), Some(sp))
    );
    let r = &p.nodes[p.node_index("r").expect("receive task")];
    assert_eq!(
        (r.kind.clone(), r.message_ref.as_deref()),
        (NodeKind::Task(TaskKind::Receive), Some("t"))
    );
    let d = err(doc(
        r#"<bpmn:collaboration id="c"><bpmn:participant id="pool" processRef="ghost"/></bpmn:collaboration>"#,
    ));
    assert_eq!(d.code, DiagnosticCode::DanglingReference);
}
