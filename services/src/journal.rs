//! The case journal's hash chain: every entry carries SHA-256 over a canonical encoding
//! of itself and the previous entry's hash, so a case history is tamper-evident and can
//! be verified by anyone holding the rows.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `prev_hash` of a case's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One journal row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub case_id: String,
    pub seq: i64,
    pub event_type: String,
    pub payload: Value,
    /// The acting identity (user, partner client, `system:timer`, ...).
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

/// Why a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("case {case_id}: entry {seq} follows entry {prev_seq}: sequence gap")]
    Gap {
        case_id: String,
        seq: i64,
        prev_seq: i64,
    },
    #[error("case {case_id}: entry {seq} does not link to the previous entry's hash")]
    BrokenLink { case_id: String, seq: i64 },
    #[error("case {case_id}: entry {seq} was altered (hash mismatch)")]
    Altered { case_id: String, seq: i64 },
}

/// Timestamps are stored with microsecond precision (PostgreSQL's); hashing the same
/// precision keeps a chain verifiable after a round trip through either database.
pub fn normalise_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

impl Entry {
    /// Builds the next entry of a chain, computing its hash.
    pub fn next(
        case_id: &str,
        seq: i64,
        prev_hash: &str,
        event_type: &str,
        payload: Value,
        actor: &str,
        recorded_at: DateTime<Utc>,
    ) -> Self {
        let mut e = Entry {
            case_id: case_id.to_string(),
            seq,
            event_type: event_type.to_string(),
            payload,
            actor: actor.to_string(),
            recorded_at: normalise_time(recorded_at),
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        e
    }

    /// SHA-256 (hex) over the length-prefixed fields in a fixed order; the payload in
    /// canonical JSON (object keys sorted, no whitespace).
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let seq = self.seq.to_string();
        let at = self
            .recorded_at
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        let payload = canonical_json(&self.payload);
        for field in [
            self.case_id.as_str(),
            seq.as_str(),
            self.event_type.as_str(),
            payload.as_str(),
            self.actor.as_str(),
            at.as_str(),
            self.prev_hash.as_str(),
        ] {
            h.update(field.len().to_string().as_bytes());
            h.update(b":");
            h.update(field.as_bytes());
        }
        hex(&h.finalize())
    }
}

/// Checks a case's entries (in `seq` order, starting at 1).
pub fn verify_chain(entries: &[Entry]) -> Result<(), ChainError> {
    let mut prev_hash = GENESIS;
    let mut prev_seq = 0;
    for e in entries {
        if e.seq != prev_seq + 1 {
            return Err(ChainError::Gap {
                case_id: e.case_id.clone(),
                seq: e.seq,
                prev_seq,
            });
        }
        if e.prev_hash != prev_hash {
            return Err(ChainError::BrokenLink {
                case_id: e.case_id.clone(),
                seq: e.seq,
            });
        }
        if e.compute_hash() != e.hash {
            return Err(ChainError::Altered {
                case_id: e.case_id.clone(),
                seq: e.seq,
            });
        }
        prev_hash = &e.hash;
        prev_seq = e.seq;
    }
    Ok(())
}

/// JSON with object keys sorted and no insignificant whitespace.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn chain(n: i64) -> Vec<Entry> {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        let mut out: Vec<Entry> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map_or(GENESIS.to_string(), |e| e.hash.clone());
            out.push(Entry::next(
                "case-1",
                seq,
                &prev,
                "TaskCompleted",
                json!({"seq": seq, "b": [1, {"z": 1, "a": 2}]}),
                "agent:ana",
                t,
            ));
        }
        out
    }

    #[test]
    fn a_fresh_chain_verifies() {
        assert_eq!(verify_chain(&chain(5)), Ok(()));
        assert_eq!(verify_chain(&[]), Ok(()));
    }

    #[test]
    fn any_alteration_is_detected() {
        let mut c = chain(4);
        c[2].payload = json!({"seq": 3, "amount": 1_000_000});
        assert!(matches!(
            verify_chain(&c),
            Err(ChainError::Altered { seq: 3, .. })
        ));

        let mut c = chain(4);
        c[1].actor = "agent:mallory".into();
        assert!(matches!(
            verify_chain(&c),
            Err(ChainError::Altered { seq: 2, .. })
        ));

        let mut c = chain(4);
        c.remove(1);
        assert!(matches!(
            verify_chain(&c),
            Err(ChainError::Gap { seq: 3, .. })
        ));

        // Re-hashing an altered entry breaks the link of the next one.
        let mut c = chain(4);
        c[1].payload = json!({"forged": true});
        c[1].hash = c[1].compute_hash();
        assert!(matches!(
            verify_chain(&c),
            Err(ChainError::BrokenLink { seq: 3, .. })
        ));
    }

    #[test]
    fn canonical_json_ignores_key_order_and_whitespace() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": null}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":null,"y":[1,2]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,2]},"b":1}"#);
    }

    #[test]
    fn sub_microsecond_precision_does_not_change_the_hash() {
        let t = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        let a = Entry::next(
            "c",
            1,
            GENESIS,
            "E",
            json!({}),
            "x",
            t + chrono::Duration::nanoseconds(1_000_999),
        );
        let mut b = a.clone();
        b.recorded_at = t + chrono::Duration::microseconds(1000);
        assert_eq!(b.compute_hash(), a.hash);
    }
}
