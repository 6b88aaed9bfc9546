//! The gate at the boundaries of each law, and properties over random histories.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::*;
use crate::debtor::{
    Channel, ConsentMethod, Contact, ContactId, ContactKind, ContactPoint, Country, FlagKind,
    Flags, Phone, Relationship,
};

mod packs;
mod portfolio;
mod properties;

/// A debtor as the tests vary it.
pub(super) struct Debtor {
    pub country: &'static str,
    pub creditor: &'static str,
    pub zones: Vec<Tz>,
    pub flags: Flags,
    pub contact: Contact,
    pub history: Vec<PastContact>,
}

impl Debtor {
    pub fn of(country: &'static str, zones: &[Tz]) -> Debtor {
        let phone = Phone::parse("+573101234567", None).unwrap();
        Debtor {
            country,
            creditor: "acme",
            zones: zones.to_vec(),
            flags: Flags::default(),
            contact: Contact::new(ContactId(0), ContactPoint::Phone(phone)),
            history: Vec::new(),
        }
    }

    /// With consent for `channels` given long ago.
    pub fn consenting(mut self, channels: &[Channel]) -> Debtor {
        // The tests' contact point is a phone: it carries calls and messages only.
        for c in channels.iter().filter(|c| c.uses() == ContactKind::Phone) {
            self.contact
                .give(*c, utc(2020, 1, 1, 0, 0), ConsentMethod::Written, "debtor")
                .unwrap();
        }
        self
    }

    pub fn contacted(mut self, at: DateTime<Utc>, channel: Channel, conversation: bool) -> Debtor {
        self.history.push(PastContact {
            at,
            channel,
            same_debt: true,
            conversation,
        });
        self.history.sort_by_key(|c| c.at);
        self
    }

    pub fn facts(&self) -> Facts<'_> {
        Facts {
            country: Country::from_code(self.country).unwrap(),
            creditor: self.creditor,
            zones: &self.zones,
            flags: &self.flags,
            contact: Some(&self.contact),
            history: &self.history,
        }
    }
}

pub(super) fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// An instant given in local time.
pub(super) fn local(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, m, d, h, min, 0)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

pub(super) fn call() -> Request {
    Request {
        channel: Channel::Call,
        recipient: Recipient::Debtor,
    }
}

pub(super) fn by(channel: Channel) -> Request {
    Request {
        channel,
        recipient: Recipient::Debtor,
    }
}

pub(super) fn gate() -> Gate {
    Gate::bundled().expect("the bundled packs load")
}

/// The rules that blocked, by id.
pub(super) fn blocked_by(d: &Decision) -> Vec<&str> {
    d.blocks.iter().map(|b| b.rule.as_str()).collect()
}

#[test]
fn every_bundled_pack_loads_and_covers_its_country() {
    let gate = gate();
    for code in ["US", "CO", "MX", "CL", "ES"] {
        let packs = gate
            .in_force(
                Country::from_code(code).unwrap(),
                "acme",
                utc(2026, 6, 1, 12, 0),
            )
            .unwrap();
        assert_eq!(packs.len(), 1, "{code}");
        assert_eq!(packs[0].authority, Authority::Law);
        // Each law stops on the flags that stop collection everywhere.
        for flag in [
            FlagKind::CeaseCommunication,
            FlagKind::Dispute,
            FlagKind::Deceased,
            FlagKind::Bankruptcy,
        ] {
            assert!(
                packs[0]
                    .rules
                    .iter()
                    .any(|r| r.check == pack::Check::Flag(flag)),
                "{code} {flag:?}"
            );
        }
    }
}

#[test]
fn an_unknown_jurisdiction_blocks_with_its_own_refusal() {
    let pe = Debtor::of("PE", &[chrono_tz::America::Lima]);
    let d = gate().decide(&pe.facts(), &call(), utc(2026, 6, 1, 15, 0));
    assert!(!d.allowed());
    assert_eq!(
        d.refusal,
        Some(GateRefusal::UnknownJurisdiction {
            country: "PE".into()
        })
    );
    assert_eq!(d.next_slot, None);
    assert!(!gate().allows(&pe.facts(), &call(), utc(2026, 6, 1, 15, 0)));
}

#[test]
fn a_law_not_yet_in_force_blocks_until_its_day() {
    let co = Debtor::of("CO", &[chrono_tz::America::Bogota]).consenting(&[Channel::Call]);
    let d = gate().decide(&co.facts(), &call(), utc(2023, 1, 10, 15, 0));
    assert_eq!(
        d.refusal,
        Some(GateRefusal::NoPackInForce {
            country: "CO".into(),
            pack: "co-ley-2300".into(),
            from: NaiveDate::from_ymd_opt(2023, 7, 10).unwrap(),
        })
    );
}

#[test]
fn a_decision_serialises_for_the_journal_and_reads_back() {
    let co = Debtor::of("CO", &[chrono_tz::America::Bogota]);
    let d = gate().decide(&co.facts(), &call(), utc(2026, 6, 7, 15, 0));
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["packs"][0]["id"], "co-ley-2300");
    assert_eq!(json["packs"][0]["version"], 1);
    let back: Decision = serde_json::from_value(json).unwrap();
    assert_eq!(back, d);
    let pe = Debtor::of("PE", &[chrono_tz::America::Lima]);
    let refused = gate().decide(&pe.facts(), &call(), utc(2026, 6, 7, 15, 0));
    let json = serde_json::to_value(&refused).unwrap();
    assert_eq!(json["refusal"]["code"], "UNKNOWN_JURISDICTION");
    assert_eq!(serde_json::from_value::<Decision>(json).unwrap(), refused);
}

#[test]
fn recipients_other_than_those_answering_for_the_debt_are_refused() {
    let at = utc(2026, 6, 3, 16, 0);
    for (country, zone) in [
        ("US", chrono_tz::America::Chicago),
        ("CO", chrono_tz::America::Bogota),
        ("MX", chrono_tz::America::Mexico_City),
        ("CL", chrono_tz::America::Santiago),
        ("ES", chrono_tz::Europe::Madrid),
    ] {
        let debtor = Debtor::of(country, &[zone]).consenting(&Channel::ALL[..3]);
        for (who, allowed) in [
            (Relationship::Guarantor, true),
            (Relationship::CoDebtor, true),
            (Relationship::Relative, false),
            (Relationship::Employer, false),
        ] {
            let req = Request {
                channel: Channel::Call,
                recipient: Recipient::Party(who),
            };
            let d = gate().decide(&debtor.facts(), &req, at);
            assert_eq!(
                blocked_by(&d).contains(&"third-parties"),
                !allowed,
                "{country} {who:?}: {d:?}"
            );
            if !allowed {
                assert_eq!(d.next_slot, None, "{country} {who:?}");
            }
        }
    }
}

#[test]
fn flags_stop_contact_while_set_and_a_cleared_dispute_lets_it_resume() {
    let tz = chrono_tz::America::New_York;
    let mut us = Debtor::of("US", &[tz]);
    let at = local(tz, 2026, 6, 3, 10, 0);
    us.flags
        .set(
            FlagKind::Dispute,
            at - Duration::days(3),
            "agent",
            "written dispute",
        )
        .unwrap();
    let d = gate().decide(&us.facts(), &call(), at);
    assert_eq!(blocked_by(&d), ["dispute-pause"]);
    assert_eq!(d.blocks[0].reference, "Reg F §1006.38(d)(2)");
    assert_eq!(d.next_slot, None, "not until verification is recorded");
    us.flags
        .clear(
            FlagKind::Dispute,
            at - Duration::days(1),
            "agent",
            "verification sent",
        )
        .unwrap();
    assert!(gate().decide(&us.facts(), &call(), at).allowed());
    // Replaying the earlier day still blocks: the flag history answers for it.
    assert!(!gate().allows(&us.facts(), &call(), at - Duration::days(2)));
    us.flags
        .set(FlagKind::CeaseCommunication, at, "agent", "letter received")
        .unwrap();
    for channel in Channel::ALL {
        let d = gate().decide(&us.facts(), &by(channel), at);
        assert!(
            blocked_by(&d).contains(&"cease-communication"),
            "{channel:?}"
        );
    }
}

#[test]
fn a_creditor_policy_narrows_the_law_and_cannot_widen_it() {
    let policy = RulePack::parse(
        "acme.toml",
        r#"
id = "acme-quiet-hours"
version = 1
effective_from = "2026-01-01"
title = "Acme: calls 9 to 18 only"
authority = "policy"
creditor = "acme"

[[rule]]
id = "acme-hours"
reference = "Acme collections policy 4.2"
kind = "hours"
channels = ["call"]
windows = [{ days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], from = "09:00", to = "18:00" }]

[[rule]]
id = "acme-late-calls"
reference = "Acme wishes it could"
kind = "hours"
channels = ["call"]
windows = [{ days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], from = "00:00", to = "24:00" }]
"#,
    )
    .unwrap();
    let gate = Gate::with_bundled(vec![policy]).unwrap();
    let tz = chrono_tz::America::Bogota;
    let co = Debtor::of("CO", &[tz]).consenting(&[Channel::Call]);
    // Law allows 8:00 on a Tuesday; the policy does not.
    let d = gate.decide(&co.facts(), &call(), local(tz, 2026, 6, 2, 8, 0));
    assert_eq!(blocked_by(&d), ["acme-hours"]);
    assert_eq!(d.next_slot, Some(local(tz, 2026, 6, 2, 9, 0)));
    assert_eq!(d.packs.len(), 2);
    // The policy's all-day window does not let a call through at 20:00.
    let d = gate.decide(&co.facts(), &call(), local(tz, 2026, 6, 2, 20, 0));
    assert_eq!(blocked_by(&d), ["hours", "acme-hours"]);
    // Another creditor's debtors are not bound by it.
    let mut other = co;
    other.creditor = "globex";
    assert!(gate.allows(&other.facts(), &call(), local(tz, 2026, 6, 2, 8, 0)));
}

#[test]
fn a_new_version_applies_from_its_date_and_the_slot_steps_onto_it() {
    let v2 = RulePack::parse(
        "co-ley-2300-v2.toml",
        &super::gate::BUNDLED[1]
            .1
            .replace("version = 1", "version = 2")
            .replace("effective_from = \"2023-07-10\"", "effective_from = \"2027-01-03\"")
            .replace(
                "{ days = [\"sat\"], from = \"08:00\", to = \"15:00\" },",
                "{ days = [\"sat\"], from = \"08:00\", to = \"15:00\" },\n  { days = [\"sun\"], from = \"10:00\", to = \"12:00\" },",
            ),
    )
    .unwrap();
    assert_eq!(v2.version, 2);
    let gate = Gate::with_bundled(vec![v2]).unwrap();
    let tz = chrono_tz::America::Bogota;
    let co = Debtor::of("CO", &[tz]).consenting(&[Channel::Call]);
    // Sunday 2026-12-27 10:30 under v1: blocked; Sunday 2027-01-10 10:30 under v2: allowed.
    let before = gate.decide(&co.facts(), &call(), local(tz, 2026, 12, 27, 10, 30));
    assert_eq!(before.packs[0].version, 1);
    assert!(!before.allowed());
    let after = gate.decide(&co.facts(), &call(), local(tz, 2027, 1, 10, 10, 30));
    assert_eq!(after.packs[0].version, 2);
    assert!(after.allowed(), "{after:?}");
    // Asked on Saturday 2 January after 15:00 under v1, whose next slot is Monday 7:00:
    // v2 takes over at midnight UTC (19:00 in Bogotá) and opens Sunday 10:00.
    let d = gate.decide(&co.facts(), &call(), local(tz, 2027, 1, 2, 16, 0));
    assert_eq!(d.packs[0].version, 1);
    assert_eq!(d.next_slot, Some(local(tz, 2027, 1, 3, 10, 0)));
}

#[test]
fn two_laws_for_one_country_or_a_version_given_twice_are_refused() {
    let text = super::gate::BUNDLED[1].1;
    let again = RulePack::parse("again.toml", text).unwrap();
    let err = Gate::with_bundled(vec![again]).unwrap_err();
    assert!(err.reason.contains("version 1 is given twice"), "{err}");
    let rival = RulePack::parse("rival.toml", &text.replace("co-ley-2300", "co-rival")).unwrap();
    let err = Gate::with_bundled(vec![rival]).unwrap_err();
    assert!(err.reason.contains("both the law of CO"), "{err}");
}

#[test]
fn packs_that_do_not_parse_or_contradict_themselves_are_refused_with_the_line() {
    let head = "id = \"p\"\nversion = 1\neffective_from = \"2026-01-01\"\ntitle = \"T\"\nauthority = \"law\"\ncountry = \"CO\"\n";
    let rule = |body: &str| format!("{head}\n[[rule]]\nid = \"r\"\nreference = \"x\"\n{body}\n");
    let cases: Vec<(String, usize, &str)> = vec![
        ("id = \"p\"\nversion = \"one\"\n".into(), 2, "invalid type"),
        (
            rule("kind = \"hours\"\nchannels = [\"fax\"]\nwindows = []"),
            8,
            "fax",
        ),
        (
            rule("kind = \"hours\"\nwindows = []"),
            8,
            "never be allowed",
        ),
        (
            rule(
                "kind = \"hours\"\nwindows = [{ days = [\"mon\"], from = \"19:00\", to = \"07:00\" }]",
            ),
            8,
            "is empty",
        ),
        (
            rule(
                "kind = \"hours\"\nwindows = [{ days = [\"funday\"], from = \"07:00\", to = \"19:00\" }]",
            ),
            8,
            "not a weekday",
        ),
        (
            rule(
                "kind = \"hours\"\nwindows = [{ days = [\"mon\"], from = \"7am\", to = \"19:00\" }]",
            ),
            8,
            "HH:MM",
        ),
        (
            rule("kind = \"frequency\"\nscope = \"debt\"\nmax = 0\nperiod = \"local_day\""),
            8,
            "max is 0",
        ),
        (
            rule(
                "kind = \"frequency\"\nscope = \"debt\"\nmax = 3\nperiod = \"rolling\"\ndays = 7\nmin_gap_hours = 96",
            ),
            8,
            "can never be reached",
        ),
        (
            rule("kind = \"frequency\"\nscope = \"debt\"\nmax = 3\nperiod = \"fortnight\""),
            8,
            "unknown period",
        ),
        (rule("kind = \"teleport\""), 8, "teleport"),
        (
            format!(
                "{}\n[[rule]]\nid = \"r\"\nreference = \"y\"\nkind = \"flag\"\nflag = \"dispute\"\n",
                rule("kind = \"flag\"\nflag = \"deceased\"")
            ),
            14,
            "used twice",
        ),
        (
            head.replace("country = \"CO\"\n", ""),
            1,
            "needs the country",
        ),
        (
            head.replace("authority = \"law\"", "authority = \"policy\""),
            1,
            "needs the creditor",
        ),
        (head.into(), 1, "without rules"),
    ];
    for (text, line, says) in cases {
        let err = RulePack::parse("p.toml", &text).unwrap_err();
        assert!(err.reason.contains(says), "{text}\n→ {err}");
        assert_eq!(err.line, line, "{text}\n→ {err}");
        assert!(
            err.to_string().starts_with(&format!("p.toml:{line}: ")),
            "{err}"
        );
    }
}
