//! Smoke runs of `recobro bench journal|timers|actors|documents|graphql|payments|jobs|webhooks --quick` on SQLite: each ends with
//! one `RESULT <bench> key=value ... ratio=<number>` line.

use std::collections::BTreeMap;
use std::process::Command;

fn quick(bench: &str) -> BTreeMap<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_recobro"))
        .args(["bench", bench, "--quick"])
        .output()
        .expect("run the recobro binary");
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    assert!(
        out.status.success(),
        "bench {bench} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("RESULT "))
        .collect();
    assert_eq!(results.len(), 1, "one RESULT line expected:\n{stdout}");
    assert_eq!(
        stdout.lines().last(),
        Some(results[0]),
        "RESULT is the last line"
    );
    let mut words = results[0].split_whitespace().skip(1);
    assert_eq!(words.next(), Some(bench));
    let fields: BTreeMap<String, String> = words
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("key=value");
            (k.to_string(), v.to_string())
        })
        .collect();
    assert_eq!(
        results[0]
            .split_whitespace()
            .last()
            .map(|w| w.starts_with("ratio=")),
        Some(true),
        "ratio comes last: {}",
        results[0]
    );
    let ratio: f64 = fields["ratio"].parse().expect("ratio is a number");
    assert!(ratio.is_finite() && ratio > 0.0, "ratio {ratio}");
    assert_eq!(fields["backend"], "sqlite");
    fields
}

#[test]
fn journal_quick() {
    let f = quick("journal");
    assert!(f["transitions_per_s"].parse::<f64>().unwrap() > 0.0);
}

#[test]
fn timers_quick() {
    let f = quick("timers");
    assert!(f["drain_per_s"].parse::<f64>().unwrap() > 0.0);
    assert!(f["p99_lag_ms"].parse::<f64>().is_ok());
}

#[test]
fn actors_quick() {
    let f = quick("actors");
    assert!(f["cases"].parse::<f64>().unwrap() > 0.0);
    assert!(f["bytes_per_case"].parse::<f64>().is_ok());
}

#[test]
fn documents_quick() {
    let f = quick("documents");
    assert!(f["recobro_mib_s"].parse::<f64>().unwrap() > 0.0);
    assert!(f["raw_mib_s"].parse::<f64>().unwrap() > 0.0);
}

#[test]
fn graphql_quick() {
    let f = quick("graphql");
    assert!(f["graphql_per_s"].parse::<f64>().unwrap() > 0.0);
    assert!(f["bare_per_s"].parse::<f64>().unwrap() > 0.0);
    assert!(f["agenda_p99_ms"].parse::<f64>().unwrap() > 0.0);
}

#[test]
fn payments_quick() {
    let f = quick("payments");
    assert!(f["payments_per_s"].parse::<f64>().unwrap() > 0.0);
    assert!(f["baseline_transitions_per_s"].parse::<f64>().unwrap() > 0.0);
    assert!(f["ratio"].parse::<f64>().unwrap() > 0.0);
}

#[test]
fn jobs_quick() {
    let f = quick("jobs");
    assert_eq!(f["workers"], "8");
    assert!(f["jobs_per_s"].parse::<f64>().unwrap() > 0.0);
    assert!(f["journal_transitions_per_s"].parse::<f64>().unwrap() > 0.0);
    assert!(f["wakeup_p99_ms"].parse::<f64>().unwrap() > 0.0);
    assert!(
        f["wakeup_p50_ms"].parse::<f64>().unwrap() <= f["wakeup_p99_ms"].parse::<f64>().unwrap()
    );
}

#[test]
fn webhooks_quick() {
    let f = quick("webhooks");
    // The bench itself fails unless every event arrived once and in its case's order.
    assert_eq!(f["events"], "4000");
    assert!(f["events_per_s"].parse::<f64>().unwrap() > 0.0);
    assert!(f["baseline_posts_per_s"].parse::<f64>().unwrap() > 0.0);
}
