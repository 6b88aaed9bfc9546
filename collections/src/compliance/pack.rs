//! Rule packs: the contact rules of one law (or one creditor's policy), as versioned
//! data in TOML. A pack is checked whole when it is loaded: a file that does not parse,
//! names an unknown channel, repeats a rule id or can never allow a contact is refused
//! with the line of the rule at fault, so a mistake in a legal text's translation shows
//! when the pack is deployed, not when a debtor is called at midnight.

use std::collections::BTreeSet;
use std::ops::Range;

use chrono::{NaiveDate, NaiveTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::debtor::{Channel, Country, FlagKind, Relationship};

/// Who a pack binds: the law of a country, or one creditor's own stricter policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authority {
    Law,
    Policy,
}

/// One pack: a law's contact rules (or a creditor's policy) in one version.
#[derive(Debug, Clone, PartialEq)]
pub struct RulePack {
    pub id: String,
    pub version: u32,
    /// From this date (00:00 UTC) on, this version replaces the one before.
    pub effective_from: NaiveDate,
    pub title: String,
    pub authority: Authority,
    /// The debtors it covers: those under this country's law. A policy without one
    /// covers all of its creditor's debtors.
    pub country: Option<Country>,
    /// A policy's creditor.
    pub creditor: Option<String>,
    pub rules: Vec<Rule>,
}

/// One rule of a pack, with what an explanation needs: its id and its legal reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    /// Where the rule comes from, e.g. "Reg F §1006.14(b)(2)".
    pub reference: String,
    /// The channels it restricts; every channel when the file names none.
    pub channels: ChannelSet,
    pub check: Check,
}

/// Whose contacts a frequency rule counts: the same debt's (the case) or every debt of
/// the debtor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Debt,
    Debtor,
}

/// The span a frequency rule counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// The calendar day in the debtor's local time.
    LocalDay,
    /// The calendar week (Monday to Sunday) in the debtor's local time.
    LocalWeek,
    /// The last so many days up to the instant.
    Rolling(chrono::Duration),
}

/// A set of channels, as bits: the gate tests membership for every past contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelSet(u8);

impl ChannelSet {
    pub const ALL: ChannelSet = ChannelSet(0b11_1111);

    fn bit(channel: Channel) -> u8 {
        1 << (Channel::ALL.iter().position(|c| *c == channel).unwrap_or(0) as u8)
    }

    pub fn insert(&mut self, channel: Channel) -> bool {
        let had = self.contains(channel);
        self.0 |= Self::bit(channel);
        !had
    }

    pub fn contains(self, channel: Channel) -> bool {
        self.0 & Self::bit(channel) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A local-time window on some weekdays, in seconds of the day: `from` inclusive, `to`
/// exclusive (86,400 ends it at midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Bit `n` is the weekday `n` days from Monday.
    pub days: u8,
    pub from: u32,
    pub to: u32,
}

impl Window {
    pub fn on(&self, day: Weekday) -> bool {
        self.days & (1 << day.num_days_from_monday()) != 0
    }
}

/// What a rule checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Contact only inside these local-time windows — in every candidate time zone when
    /// the debtor's zone is not known.
    Hours(Vec<Window>),
    /// No contact on a public holiday of this country's calendar (local date).
    Holidays(Country),
    /// At most `max` contacts per period; with a minimum gap between two.
    Frequency {
        scope: Scope,
        max: u32,
        period: Period,
        min_gap: Option<chrono::Duration>,
    },
    /// No contact for so long after a conversation with the debtor.
    AfterConversation {
        scope: Scope,
        pause: chrono::Duration,
    },
    /// No contact while the flag is set.
    Flag(FlagKind),
    /// The channel needs a consent in force on the contact point used.
    ConsentRequired,
    /// A consent the debtor revoked closes the channel on that contact point.
    OptOut,
    /// Only these recipients may be contacted about the debt (`debtor` always may).
    Recipients(BTreeSet<Relationship>),
}

/// Why a pack was refused: where in the file and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct PackError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

// --- the file format -----------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    id: String,
    version: u32,
    effective_from: NaiveDate,
    title: String,
    authority: Authority,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    creditor: Option<String>,
    #[serde(default, rename = "rule")]
    rules: Vec<Spanned<toml::Table>>,
}

/// A rule's own fields; the rest of its table is its check, read by `kind` (serde's
/// `flatten` would let a misspelt field through).
#[derive(Deserialize)]
struct RuleFile {
    id: String,
    reference: String,
    #[serde(default)]
    channels: Vec<Channel>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum CheckFile {
    Hours {
        windows: Vec<WindowFile>,
    },
    Holidays {
        calendar: String,
    },
    Frequency {
        scope: Scope,
        max: u32,
        /// `local_day`, `local_week` or `rolling` (then `days`).
        period: String,
        #[serde(default)]
        days: Option<u32>,
        #[serde(default)]
        min_gap_hours: Option<u32>,
    },
    AfterConversation {
        scope: Scope,
        days: u32,
    },
    Flag {
        flag: FlagKind,
    },
    ConsentRequired {},
    OptOut {},
    Recipients {
        allowed: Vec<Relationship>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowFile {
    days: Vec<String>,
    from: String,
    to: String,
}

impl RulePack {
    /// Reads and checks a pack; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<RulePack, PackError> {
        let at = |span: Option<Range<usize>>, reason: String| PackError {
            file: file.to_string(),
            line: span.map_or(1, |s| line_of(text, s.start)),
            reason,
        };
        let raw: PackFile =
            toml::from_str(text).map_err(|e| at(e.span(), e.message().to_string()))?;
        let country = raw
            .country
            .as_deref()
            .map(Country::from_code)
            .transpose()
            .map_err(|e| at(None, e.to_string()))?;
        match (&raw.authority, &country, &raw.creditor) {
            (Authority::Law, None, _) => {
                return Err(at(
                    None,
                    "a law pack needs the country whose law it is".into(),
                ));
            }
            (Authority::Law, _, Some(_)) => {
                return Err(at(
                    None,
                    "a law binds every creditor: a law pack names no creditor".into(),
                ));
            }
            (Authority::Policy, _, None) => {
                return Err(at(
                    None,
                    "a policy pack needs the creditor whose policy it is".into(),
                ));
            }
            _ => {}
        }
        if raw.id.trim().is_empty() || raw.title.trim().is_empty() {
            return Err(at(None, "a pack needs an id and a title".into()));
        }
        if raw.version == 0 {
            return Err(at(None, "versions count from 1".into()));
        }
        if raw.rules.is_empty() {
            return Err(at(None, "a pack without rules".into()));
        }
        let mut ids = BTreeSet::new();
        let mut rules = Vec::with_capacity(raw.rules.len());
        for spanned in raw.rules {
            let span = spanned.span();
            let mut table = spanned.into_inner();
            let mut own = toml::Table::new();
            for field in ["id", "reference", "channels"] {
                if let Some(value) = table.remove(field) {
                    own.insert(field.into(), value);
                }
            }
            let rule: RuleFile = own
                .try_into()
                .map_err(|e: toml::de::Error| at(Some(span.clone()), e.message().to_string()))?;
            let fail =
                |reason: String| at(Some(span.clone()), format!("rule {}: {reason}", rule.id));
            if rule.id.trim().is_empty() || rule.reference.trim().is_empty() {
                return Err(at(
                    Some(span.clone()),
                    "a rule needs an id and a reference".into(),
                ));
            }
            let raw_check: CheckFile = table
                .try_into()
                .map_err(|e: toml::de::Error| fail(e.message().to_string()))?;
            if !ids.insert(rule.id.clone()) {
                return Err(fail("the id is used twice in the pack".into()));
            }
            let mut channels = ChannelSet::default();
            for c in &rule.channels {
                if !channels.insert(*c) {
                    return Err(fail(format!("channel {c:?} is listed twice")));
                }
            }
            if channels.is_empty() {
                channels = ChannelSet::ALL;
            }
            let check = check(raw_check).map_err(fail)?;
            rules.push(Rule {
                id: rule.id,
                reference: rule.reference,
                channels,
                check,
            });
        }
        Ok(RulePack {
            id: raw.id,
            version: raw.version,
            effective_from: raw.effective_from,
            title: raw.title,
            authority: raw.authority,
            country,
            creditor: raw.creditor,
            rules,
        })
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn check(raw: CheckFile) -> Result<Check, String> {
    Ok(match raw {
        CheckFile::Hours { windows } => {
            if windows.is_empty() {
                return Err("no window: contact would never be allowed".into());
            }
            let windows = windows
                .into_iter()
                .map(window)
                .collect::<Result<Vec<_>, _>>()?;
            Check::Hours(windows)
        }
        CheckFile::Holidays { calendar } => {
            Check::Holidays(Country::from_code(&calendar).map_err(|e| format!("calendar: {e}"))?)
        }
        CheckFile::Frequency {
            scope,
            max,
            period,
            days,
            min_gap_hours,
        } => {
            if max == 0 {
                return Err("max is 0: contact would never be allowed (use a flag or recipients rule to forbid)".into());
            }
            let period = match (period.as_str(), days) {
                ("local_day", None) => Period::LocalDay,
                ("local_week", None) => Period::LocalWeek,
                ("rolling", Some(d)) if (1..=366).contains(&d) => {
                    Period::Rolling(chrono::Duration::days(d.into()))
                }
                ("rolling", _) => return Err("a rolling period needs days, 1 to 366".into()),
                ("local_day" | "local_week", Some(_)) => {
                    return Err(format!("days is for rolling periods, not {period}"));
                }
                (other, _) => {
                    return Err(format!(
                        "unknown period {other:?}: use local_day, local_week or rolling"
                    ));
                }
            };
            let min_gap = min_gap_hours.map(|h| chrono::Duration::hours(h.into()));
            if let (Some(gap), Period::Rolling(span)) = (min_gap, period) {
                // Gaps that long leave room for fewer contacts than `max` in any span.
                if max > 1 && gap * (max as i32 - 1) >= span {
                    return Err(format!(
                        "max {max} contacts in {} days can never be reached {} hours apart",
                        span.num_days(),
                        gap.num_hours()
                    ));
                }
            }
            Check::Frequency {
                scope,
                max,
                period,
                min_gap,
            }
        }
        CheckFile::AfterConversation { scope, days } => {
            if days == 0 {
                return Err("days is 0: the rule would never apply".into());
            }
            Check::AfterConversation {
                scope,
                pause: chrono::Duration::days(days.into()),
            }
        }
        CheckFile::Flag { flag } => Check::Flag(flag),
        CheckFile::ConsentRequired {} => Check::ConsentRequired,
        CheckFile::OptOut {} => Check::OptOut,
        CheckFile::Recipients { allowed } => Check::Recipients(allowed.into_iter().collect()),
    })
}

fn window(raw: WindowFile) -> Result<Window, String> {
    let time = |t: &str| {
        if t == "24:00" {
            return Ok(86_400);
        }
        NaiveTime::parse_from_str(t, "%H:%M")
            .map(|t| t.num_seconds_from_midnight())
            .map_err(|_| format!("{t:?} is not a time as HH:MM (00:00 to 24:00)"))
    };
    let (from, to) = (time(&raw.from)?, time(&raw.to)?);
    if from >= to {
        return Err(format!(
            "window {}–{} is empty: from must be before to",
            raw.from, raw.to
        ));
    }
    let mut days = 0u8;
    for d in &raw.days {
        let day: Weekday = d
            .parse()
            .map_err(|_| format!("{d:?} is not a weekday (mon, tue, …)"))?;
        let bit = 1 << day.num_days_from_monday();
        if days & bit != 0 {
            return Err(format!("{d} is listed twice in one window"));
        }
        days |= bit;
    }
    if days == 0 {
        return Err("a window without days".into());
    }
    Ok(Window { days, from, to })
}
