//! `recobro process check|trace`; the model `recobro demo` runs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bpmn::compile::{Source, SourceError, deploy};
use bpmn::simulate::{self, End, Outputs};
use chrono::{DateTime, TimeZone, Utc};

/// The collections model bundled with the binary (`recobro demo`; also the benchmark model).
pub const DEMO_MODEL: &str = include_str!("../docs/examples/collections.bpmn");

/// Virtual clock start of every trace, so traces are reproducible.
fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0)
        .single()
        .unwrap_or_default()
}

fn read_all(files: &[PathBuf]) -> Vec<(String, Result<Vec<u8>, String>)> {
    files
        .iter()
        .map(|f| {
            let name = f.display().to_string();
            let bytes = read_limited(f);
            (name, bytes)
        })
        .collect()
}

/// Reads a model, refusing one over the parser's limit before loading it (the size comes
/// from the file system, so the message states the real size).
fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| format!("0:0: cannot read: {e}");
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let len = file.metadata().map_err(unreadable)?.len();
    if len > bpmn::MAX_DOCUMENT_BYTES as u64 {
        return Err(format!(
            "1:1: the document is {len} bytes, more than the limit of {} bytes; split the \
             model into several files",
            bpmn::MAX_DOCUMENT_BYTES
        ));
    }
    let mut buf = Vec::new();
    file.take(bpmn::MAX_DOCUMENT_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(unreadable)?;
    Ok(buf)
}

fn executable_ids(defs: &bpmn::model::Definitions) -> Vec<String> {
    defs.processes
        .iter()
        .filter(|p| p.is_executable)
        .map(|p| p.id.clone())
        .collect()
}

fn first_line(e: &SourceError) -> String {
    let more = e.diagnostics.0.len().saturating_sub(1);
    let first = e
        .diagnostics
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    if more > 0 {
        format!(
            "{first} (and {more} more problem{})",
            if more == 1 { "" } else { "s" }
        )
    } else {
        first
    }
}

pub fn check(files: &[PathBuf], executable: bool) -> ExitCode {
    let inputs = read_all(files);
    let mut failed = false;
    let mut out = std::io::stdout().lock();
    let mut errors: Vec<Option<String>> = vec![None; inputs.len()];
    let mut parsed = Vec::new();
    for (i, (name, bytes)) in inputs.iter().enumerate() {
        match bytes {
            Err(e) => errors[i] = Some(format!("{name}:{e}")),
            Ok(xml) => match bpmn::parse(xml) {
                Err(d) => {
                    let e = SourceError {
                        source_name: name.clone(),
                        diagnostics: d,
                    };
                    errors[i] = Some(format!("{name}:{}", first_line(&e)));
                }
                Ok(defs) => {
                    let ids: Vec<String> = executable_ids(&defs);
                    parsed.push((
                        i,
                        Source {
                            name,
                            xml,
                            version: 1,
                        },
                        ids,
                    ));
                }
            },
        }
    }
    if executable {
        // Each file is checked on its own, with the other files available for its call
        // activities — unrelated files that reuse a process id must not fail each other.
        for (i, file, ids) in &parsed {
            let mut set = vec![file.clone()];
            set.extend(
                parsed
                    .iter()
                    .filter(|(j, _, other)| j != i && !other.iter().any(|id| ids.contains(id)))
                    .map(|(_, s, _)| s.clone()),
            );
            if let Err(errs) = deploy(&set)
                && let Some(e) = errs.iter().find(|e| e.source_name == file.name)
            {
                errors[*i] = Some(format!("{}:{}", e.source_name, first_line(e)));
            }
        }
    }
    for ((name, _), err) in inputs.iter().zip(errors) {
        let line = match err {
            Some(e) => {
                failed = true;
                format!("error {e}")
            }
            None => format!("ok {name}"),
        };
        let _ = writeln!(out, "{line}");
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn parse_object(
    what: &str,
    text: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("--{what} must be a JSON object")),
        Err(e) => Err(format!("--{what} is not valid JSON: {e}")),
    }
}

pub fn trace(files: &[PathBuf], vars: &str, outputs: &str) -> ExitCode {
    let (vars, outputs) = match (parse_object("vars", vars), parse_object("outputs", outputs)) {
        (Ok(v), Ok(o)) => (v, o),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let inputs = read_all(files);
    let mut sources = Vec::new();
    for (name, bytes) in &inputs {
        match bytes {
            Ok(xml) => sources.push(Source {
                name,
                xml,
                version: 1,
            }),
            Err(e) => {
                eprintln!("error {name}:{e}");
                return ExitCode::from(1);
            }
        }
    }
    run_trace(&sources, vars, &outputs)
}

fn run_trace(sources: &[Source<'_>], vars: bpmn::expr::Vars, outputs: &Outputs) -> ExitCode {
    let dep = match deploy(sources) {
        Ok(d) => d,
        Err(errs) => {
            for e in errs {
                eprintln!("error {}:{}", e.source_name, first_line(&e));
            }
            return ExitCode::from(1);
        }
    };
    let first_hash = sources.first().map(|s| bpmn::compile::content_hash(s.xml));
    let Some(process) = dep
        .processes
        .iter()
        .find(|p| Some(&p.key.content_hash) == first_hash.as_ref())
    else {
        eprintln!("error: the first file has no executable process (isExecutable=\"true\")");
        return ExitCode::from(1);
    };
    let trace = match simulate::run(&dep, &process.key.process_id, vars, outputs, epoch()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout().lock();
    for step in &trace.steps {
        let _ = writeln!(out, "{}", serde_json::to_string(step).unwrap_or_default());
    }
    let _ = writeln!(
        out,
        "{}",
        serde_json::to_string(&trace.end).unwrap_or_default()
    );
    match trace.end {
        End::Completed { .. } => ExitCode::SUCCESS,
        End::Incident { .. } => ExitCode::from(1),
        End::Stuck { .. } | End::Runaway { .. } => ExitCode::from(2),
    }
}
