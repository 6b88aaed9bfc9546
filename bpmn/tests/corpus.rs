//! The parser against real BPMN files from other projects (`shared/bpmn-corpus`).

use std::path::{Path, PathBuf};

use bpmn::model::{Definitions, EventTrigger, NodeKind, TaskKind, TimerKind};
use bpmn::{DiagnosticCode, parse};
use proptest::prelude::*;

fn corpus_dir() -> PathBuf {
    match std::env::var_os("RECOBRO_BPMN_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bpmn-corpus"),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "bpmn") {
            out.push(path);
        }
    }
}

/// Every `.bpmn` file of the corpus, relative name and bytes. Fails loudly when the
/// corpus is missing: a silently empty corpus would make every assertion vacuous.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir();
    assert!(
        dir.is_dir(),
        "BPMN corpus not found at {}; check out shared/bpmn-corpus next to the workspace or set \
         RECOBRO_BPMN_CORPUS",
        dir.display()
    );
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    assert!(
        files.len() >= 80,
        "expected the full corpus (82 files), found {}",
        files.len()
    );
    files
        .into_iter()
        .map(|f| {
            let name = f
                .strip_prefix(&dir)
                .unwrap_or(&f)
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("read {}: {e}", f.display()));
            (name, bytes)
        })
        .collect()
}

/// Files that are broken on purpose, with the code and position the parser must report.
const REJECTED: &[(&str, DiagnosticCode, u32)] = &[
    (
        "bpmn-js/error-boundaryEvent-missingAttachToRef.bpmn",
        DiagnosticCode::MissingAttribute,
        5,
    ),
    (
        "bpmn-js/error-duplicate-ids.bpmn",
        DiagnosticCode::DuplicateId,
        9,
    ),
    (
        "bpmn-js/error-missing-namespace.bpmn",
        DiagnosticCode::NotBpmn,
        2,
    ),
    (
        "miwg/exports/GenMyModel_0.47/C.1.0-export.bpmn",
        DiagnosticCode::MalformedXml,
        97,
    ),
    (
        "zeebe/default-flow.bpmn",
        DiagnosticCode::InvalidStructure,
        7,
    ),
    (
        "zeebe/LinkEventTest.testInvalidEventLinkMultipleTarget.bpmn",
        DiagnosticCode::InvalidStructure,
        0,
    ),
];

#[test]
fn corpus_files_are_accepted_or_rejected_as_expected() {
    let mut failures = Vec::new();
    for (name, bytes) in corpus() {
        let expected = REJECTED.iter().find(|(n, ..)| *n == name);
        match (parse(&bytes), expected) {
            (Ok(_), None) => {}
            (Ok(_), Some((_, code, _))) => {
                failures.push(format!("{name}: accepted, expected {code:?}"))
            }
            (Err(diags), None) => failures.push(format!("{name}: rejected:\n{diags}")),
            (Err(diags), Some((_, code, line))) => {
                let first = diags.first().expect("a rejection carries a diagnostic");
                let line_ok = *line == 0 || first.pos.line == *line;
                if first.code != *code || !line_ok || first.pos.col == 0 {
                    failures.push(format!(
                        "{name}: expected {code:?} on line {line}, got {first}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn load(name: &str) -> Definitions {
    let path = corpus_dir().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    parse(&bytes).unwrap_or_else(|d| panic!("{name} rejected:\n{d}"))
}
