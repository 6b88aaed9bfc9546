//! JSON <-> FEEL value conversion.

use dsntk_feel::context::FeelContext;
use dsntk_feel::values::Value as Feel;
use dsntk_feel::{FeelNumber, Name};
use serde_json::{Map, Number, Value as Json};

/// Converts a process variable to a FEEL value.
pub(crate) fn to_feel(value: &Json) -> Feel {
    match value {
        Json::Null => Feel::Null(None),
        Json::Bool(b) => Feel::Boolean(*b),
        Json::Number(n) => number_to_feel(n),
        Json::String(s) => Feel::String(s.clone()),
        Json::Array(items) => Feel::List(items.iter().map(to_feel).collect()),
        Json::Object(map) => {
            let mut ctx = FeelContext::default();
            for (k, v) in map {
                ctx.set_entry(&Name::from(k.as_str()), to_feel(v));
            }
            Feel::Context(ctx)
        }
    }
}

fn number_to_feel(n: &Number) -> Feel {
    // Integers take the exact fast path; floats go through their shortest decimal text so
    // that 0.1 stays 0.1 in decimal arithmetic instead of 0.1000000000000000055...
    if let Some(i) = n.as_i64() {
        Feel::Number(FeelNumber::from(i))
    } else if let Some(u) = n.as_u64() {
        Feel::Number(FeelNumber::from(u))
    } else {
        match n.to_string().parse::<FeelNumber>() {
            Ok(f) => Feel::Number(f),
            Err(_) => Feel::Null(Some(format!("number {n} is out of FEEL range"))),
        }
    }
}

/// Converts a FEEL result back to JSON. `Err` carries the message of a FEEL value that has
/// no JSON form (functions, ranges, ...), so the caller can report it.
pub(crate) fn to_json(value: &Feel) -> Result<Json, String> {
    Ok(match value {
        Feel::Null(_) => Json::Null,
        Feel::Boolean(b) => Json::Bool(*b),
        Feel::Number(n) => number_to_json(n)?,
        Feel::String(s) => Json::String(s.clone()),
        Feel::Date(d) => Json::String(d.to_string()),
        Feel::DateTime(d) => Json::String(d.to_string()),
        Feel::Time(t) => Json::String(t.to_string()),
        Feel::DaysAndTimeDuration(d) => Json::String(d.to_string()),
        Feel::YearsAndMonthsDuration(d) => Json::String(d.to_string()),
        Feel::List(items) => Json::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Feel::Context(ctx) => {
            let mut map = Map::with_capacity(ctx.len());
            for (k, v) in ctx.iter() {
                map.insert(k.to_string(), to_json(v)?);
            }
            Json::Object(map)
        }
        other => return Err(format!("the result `{other}` has no JSON representation")),
    })
}

fn number_to_json(n: &FeelNumber) -> Result<Json, String> {
    if n.is_integer()
        && let Ok(i) = i64::try_from(n)
    {
        return Ok(Json::Number(i.into()));
    }
    // Decimal text -> f64: the nearest binary value; JSON has no decimals.
    let text = n.to_string();
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Json::Number)
        .ok_or_else(|| format!("number {text} cannot be represented in JSON"))
}
