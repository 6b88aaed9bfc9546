//! Where a debtor is: countries, jurisdictions, and every time zone they may be in.
//!
//! The contact rules limit the hours of a contact in the debtor's local time, and when
//! that time is ambiguous the slot must be lawful in every candidate zone (Regulation F
//! §1006.6(b)). So [`candidate_zones`] never picks one zone for a debtor whose zone is
//! unknown: it returns all the zones its phones, addresses and jurisdiction allow.
//!
//! Limits, on purpose:
//! - a country's zones are all the zones the IANA `zone.tab` lists for it (a Chilean
//!   debtor without a known zone is in America/Santiago, America/Coyhaique,
//!   America/Punta_Arenas and Pacific/Easter);
//! - a region narrows that only for the US (state → zones) and Mexico (state → zones),
//!   the countries Recobro serves first with several zones; elsewhere the region is kept
//!   but the whole country's zones stand;
//! - a phone gives its country (libphonenumber tells the region of a number; for the
//!   shared +1 plan that is the US, Canada, Puerto Rico… from the area code), never a
//!   state: US area codes are not mapped to zones (mobile numbers move with their owners
//!   anyway), so a US number stays ambiguous across every US zone.

use std::collections::BTreeMap;
use std::fmt;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::DebtorError;
use super::contact::ContactPoint;
use super::zone_table::{COUNTRY_ZONES, MX_STATES, US_STATES};
use crate::debtor::Debtor;

/// A country, as an ISO 3166-1 alpha-2 code (upper case; `co` is taken as `CO`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country([u8; 2]);

impl Country {
    pub fn from_code(code: &str) -> Result<Country, DebtorError> {
        let upper = code.trim().to_ascii_uppercase();
        match (
            upper.parse::<iso_country::Country>(),
            <[u8; 2]>::try_from(upper.as_bytes()),
        ) {
            (Ok(_), Ok(bytes)) => Ok(Country(bytes)),
            _ => Err(DebtorError::UnknownCountry(code.to_string())),
        }
    }

    pub fn code(&self) -> &str {
        // Built only from an ASCII code that ISO 3166-1 knows.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// Every IANA zone of the country (the tz database's `zone.tab`); empty for the few
    /// ISO codes without a zone of their own there (Bouvet Island, Heard Island).
    pub fn zones(&self) -> Vec<Tz> {
        country_zone_names(self.code())
            .iter()
            .filter_map(|name| name.parse().ok())
            .collect()
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Country {
    type Error = DebtorError;
    fn try_from(code: String) -> Result<Self, Self::Error> {
        Country::from_code(&code)
    }
}

impl From<Country> for String {
    fn from(country: Country) -> String {
        country.code().to_string()
    }
}

/// Whose law applies: a country and, where the law differs inside it (a US state), the
/// region, as the ISO 3166-2 subdivision code without the country prefix (`CA` for
/// US-CA, `CMX` for MX-CMX). US and Mexican regions are checked against the
/// subdivisions; elsewhere the code is kept as given (trimmed, upper case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Jurisdiction {
    pub country: Country,
    pub region: Option<String>,
}

impl Jurisdiction {
    pub fn new(country: &str, region: Option<&str>) -> Result<Jurisdiction, DebtorError> {
        let country = Country::from_code(country)?;
        let region = region.map(|r| checked_region(country, r)).transpose()?;
        Ok(Jurisdiction { country, region })
    }

    /// The zones of the region when it narrows them, else of the whole country.
    pub fn zones(&self) -> Vec<Tz> {
        zones_of(self.country, self.region.as_deref())
    }
}

/// A region code of `country`, normalised (trimmed, upper case); for the US and Mexico it
/// must be one of their subdivisions, elsewhere 1–3 letters or digits (ISO 3166-2).
pub(crate) fn checked_region(country: Country, region: &str) -> Result<String, DebtorError> {
    let code = region.trim().to_ascii_uppercase();
    let known = match subdivision_table(country) {
        Some(table) => table.iter().any(|(c, _)| *c == code),
        None => (1..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric()),
    };
    if known {
        Ok(code)
    } else {
        Err(DebtorError::UnknownRegion {
            country: country.code().to_string(),
            region: region.to_string(),
        })
    }
}

/// The zones of a place: the region's when a table narrows it, else the country's.
pub(crate) fn zones_of(country: Country, region: Option<&str>) -> Vec<Tz> {
    let narrowed = region.and_then(|r| {
        subdivision_table(country)?
            .iter()
            .find(|(code, _)| *code == r)
            .map(|(_, zones)| *zones)
    });
    match narrowed {
        Some(names) => names.iter().filter_map(|n| n.parse().ok()).collect(),
        None => country.zones(),
    }
}

/// A zone from its IANA name (`America/Bogota`), for input from a person or a file.
pub fn parse_time_zone(name: &str) -> Result<Tz, DebtorError> {
    name.trim()
        .parse()
        .map_err(|_| DebtorError::UnknownTimeZone(name.to_string()))
}

/// Every zone the debtor may be in, sorted by name, without repeats: only their own zone
/// when it is known; otherwise the union of the zones of their phones' countries, of
/// their postal addresses (narrowed by a US or Mexican state) and of their jurisdiction.
/// The jurisdiction counts because it is where the law deems the debtor to be; more
/// candidates can only make a contact window narrower, never unlawful. Related parties'
/// contacts do not count: they are not where the debtor is.
///
/// Empty only for a debtor whose zone is unknown, with no phone or address, under a
/// jurisdiction without a zone of its own (an uninhabited territory): the caller must
/// then treat the local time as unknown.
pub fn candidate_zones(debtor: &Debtor) -> Vec<Tz> {
    if let Some(tz) = debtor.time_zone {
        return vec![tz];
    }
    let mut zones: BTreeMap<&'static str, Tz> = BTreeMap::new();
    let mut add = |found: Vec<Tz>| {
        for tz in found {
            zones.insert(tz.name(), tz);
        }
    };
    for contact in debtor.contacts() {
        match &contact.point {
            ContactPoint::Phone(phone) => {
                if let Some(country) = phone.country() {
                    add(country.zones());
                }
            }
            ContactPoint::Postal(address) => {
                add(zones_of(address.country, address.region.as_deref()));
            }
            ContactPoint::Email(_) => {}
        }
    }
    add(debtor.jurisdiction.zones());
    zones.into_values().collect()
}

fn country_zone_names(code: &str) -> &'static [&'static str] {
    COUNTRY_ZONES
        .binary_search_by(|(c, _)| (*c).cmp(code))
        .map_or(&[], |i| COUNTRY_ZONES[i].1)
}

fn subdivision_table(
    country: Country,
) -> Option<&'static [(&'static str, &'static [&'static str])]> {
    match country.code() {
        "US" => Some(US_STATES),
        "MX" => Some(MX_STATES),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::debtor::contact::{Phone, PostalAddress};
    use crate::debtor::{DebtorKind, Email};

    fn debtor(country: &str, region: Option<&str>) -> Debtor {
        Debtor::new(
            "D-1",
            DebtorKind::Person,
            "Ana",
            Jurisdiction::new(country, region).unwrap(),
        )
        .unwrap()
    }

    fn names(zones: &[Tz]) -> Vec<&'static str> {
        zones.iter().map(|z| z.name()).collect()
    }

    fn phone(number: &str) -> ContactPoint {
        ContactPoint::Phone(Phone::parse(number, None).unwrap())
    }

    #[test]
    fn every_table_name_is_a_zone_chrono_tz_knows() {
        let tables = COUNTRY_ZONES.iter().chain(US_STATES).chain(MX_STATES);
        for (code, zones) in tables {
            assert!(!zones.is_empty(), "{code}");
            for name in *zones {
                assert!(name.parse::<Tz>().is_ok(), "{code}: {name}");
            }
        }
        assert!(COUNTRY_ZONES.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
        for (code, _) in COUNTRY_ZONES {
            Country::from_code(code).unwrap();
        }
    }

    #[test]
    fn countries_are_iso_codes() {
        assert_eq!(Country::from_code(" co ").unwrap().code(), "CO");
        for bad in ["", "C", "COL", "XX", "ZZ", "1A", "ÉS"] {
            assert_eq!(
                Country::from_code(bad),
                Err(DebtorError::UnknownCountry(bad.to_string()))
            );
        }
    }

    #[test]
    fn us_and_mexican_regions_are_checked() {
        assert_eq!(
            Jurisdiction::new("us", Some("ca"))
                .unwrap()
                .region
                .as_deref(),
            Some("CA")
        );
        assert!(Jurisdiction::new("MX", Some("CMX")).is_ok());
        assert_eq!(
            Jurisdiction::new("US", Some("California")),
            Err(DebtorError::UnknownRegion {
                country: "US".into(),
                region: "California".into()
            })
        );
        assert!(matches!(
            Jurisdiction::new("MX", Some("DF")),
            Err(DebtorError::UnknownRegion { .. })
        ));
        // Elsewhere a subdivision-shaped code is kept as given.
        assert!(Jurisdiction::new("CO", Some("ANT")).is_ok());
        assert!(Jurisdiction::new("CO", Some("Antioquia")).is_err());
        assert!(matches!(
            Jurisdiction::new("XX", None),
            Err(DebtorError::UnknownCountry(_))
        ));
    }

    #[test]
    fn a_known_zone_wins() {
        let mut d = debtor("US", None);
        d.add_contact(phone("+1 212 555 0100"));
        d.time_zone = Some(chrono_tz::America::Chicago);
        assert_eq!(candidate_zones(&d), vec![chrono_tz::America::Chicago]);
    }

    #[test]
    fn a_colombian_number_gives_bogota() {
        let mut d = debtor("CO", None);
        d.add_contact(phone("+57 310 1234567"));
        assert_eq!(names(&candidate_zones(&d)), ["America/Bogota"]);
    }

    #[test]
    fn a_us_number_stays_ambiguous_across_us_zones() {
        // A New York area code: area codes are not mapped, so every US zone remains.
        let mut d = debtor("CO", None);
        d.add_contact(phone("+1 212 555 0100"));
        let zones = names(&candidate_zones(&d));
        for z in [
            "America/New_York",
            "America/Chicago",
            "America/Los_Angeles",
            "Pacific/Honolulu",
            "America/Bogota",
        ] {
            assert!(zones.contains(&z), "{z} in {zones:?}");
        }
        assert!(!zones.contains(&"America/Puerto_Rico"));
        // +1 787 is Puerto Rico: libphonenumber tells, so Puerto Rico's zone comes in.
        d.add_contact(phone("+1 787 555 0100"));
        assert!(names(&candidate_zones(&d)).contains(&"America/Puerto_Rico"));
    }

    #[test]
    fn a_state_narrows_an_address_and_a_jurisdiction() {
        let mut d = debtor("US", Some("TX"));
        assert_eq!(
            names(&candidate_zones(&d)),
            ["America/Chicago", "America/Denver"]
        );
        let address = PostalAddress::new(
            vec!["1 Main St".into()],
            "Phoenix",
            Some("AZ"),
            Some("85001"),
            "US",
        )
        .unwrap();
        d.add_contact(ContactPoint::Postal(address));
        d.add_contact(ContactPoint::Email(Email::parse("a@example.com").unwrap()));
        assert_eq!(
            names(&candidate_zones(&d)),
            ["America/Chicago", "America/Denver", "America/Phoenix"]
        );
        let mut m = debtor("MX", Some("ROO"));
        assert_eq!(names(&candidate_zones(&m)), ["America/Cancun"]);
        m.jurisdiction = Jurisdiction::new("MX", None).unwrap();
        assert!(candidate_zones(&m).len() > 5, "the whole of Mexico");
        let cl = debtor("CL", None);
        assert_eq!(
            names(&candidate_zones(&cl)),
            [
                "America/Coyhaique",
                "America/Punta_Arenas",
                "America/Santiago",
                "Pacific/Easter"
            ]
        );
    }

    #[test]
    fn time_zones_parse_by_iana_name() {
        assert_eq!(
            parse_time_zone("America/Bogota"),
            Ok(chrono_tz::America::Bogota)
        );
        assert_eq!(
            parse_time_zone("Bogota"),
            Err(DebtorError::UnknownTimeZone("Bogota".into()))
        );
    }

    proptest! {
        /// Candidates are sorted, without repeats, and contain every zone of every
        /// address's place and of the jurisdiction: adding a contact never removes one.
        #[test]
        fn candidates_are_a_sorted_union(
            states in prop::collection::vec(0..US_STATES.len(), 0..4),
            mx in prop::collection::vec(0..MX_STATES.len(), 0..3),
        ) {
            let mut d = debtor("ES", None);
            let mut expected: Vec<&str> = vec!["Africa/Ceuta", "Atlantic/Canary", "Europe/Madrid"];
            let places = states.iter().map(|i| ("US", US_STATES[*i]))
                .chain(mx.iter().map(|i| ("MX", MX_STATES[*i])));
            for (country, (code, zones)) in places {
                let before = candidate_zones(&d);
                let a = PostalAddress::new(vec!["x".into()], "y", Some(code), None, country).unwrap();
                d.add_contact(ContactPoint::Postal(a));
                let after = candidate_zones(&d);
                prop_assert!(before.iter().all(|z| after.contains(z)));
                expected.extend(zones.iter());
            }
            expected.sort();
            expected.dedup();
            prop_assert_eq!(names(&candidate_zones(&d)), expected);
        }
    }
}
