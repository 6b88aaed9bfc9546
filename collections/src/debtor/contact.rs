//! Contact points: phones, e-mail addresses, postal addresses, each checked when made.

use std::fmt;

use phonenumber::{Mode, PhoneNumber, Type};
use serde::{Deserialize, Serialize};

use super::email::Email;
use super::place::{Country, checked_region};
use super::{DebtorError, not_blank};

/// What kind of point a contact is; it decides which channels can use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Phone,
    Email,
    Postal,
}

/// One way to reach someone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactPoint {
    Phone(Phone),
    Email(Email),
    Postal(PostalAddress),
}

impl ContactPoint {
    pub fn kind(&self) -> ContactKind {
        match self {
            ContactPoint::Phone(_) => ContactKind::Phone,
            ContactPoint::Email(_) => ContactKind::Email,
            ContactPoint::Postal(_) => ContactKind::Postal,
        }
    }
}

/// A phone number that libphonenumber parses and finds valid in its country's numbering
/// plan, kept in E.164 form (`+573101234567`). Serialised as that string, and checked
/// again when read back.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone {
    e164: String,
    country: Option<Country>,
    mobile: Option<bool>,
}

impl Phone {
    /// Parses a number as a person writes it (`+57 310 123 4567`, `(212) 555-0100`,
    /// `tel:+1-212-555-0100`). A number without its country calling code needs the
    /// country it is dialled in. Refused: text without a number, a calling code that does
    /// not exist, too short or too long a number, one that is not in its country's plan,
    /// and one with an extension (E.164 cannot hold it).
    pub fn parse(text: &str, dialled_in: Option<Country>) -> Result<Phone, DebtorError> {
        let invalid = |reason: &'static str| DebtorError::InvalidPhoneNumber {
            input: text.to_string(),
            reason,
        };
        let region = match dialled_in {
            Some(country) => Some(
                country
                    .code()
                    .parse::<phonenumber::country::Id>()
                    .map_err(|_| invalid("its country has no numbering plan"))?,
            ),
            None => None,
        };
        let number = phonenumber::parse(region, text).map_err(|e| match e {
            phonenumber::ParseError::InvalidCountryCode => {
                let start = text.trim_start();
                let international =
                    start.starts_with('+') || start.starts_with("00") || start.starts_with("tel:+");
                if international || region.is_some() {
                    invalid("its country calling code does not exist")
                } else {
                    DebtorError::PhoneNeedsCountry(text.to_string())
                }
            }
            phonenumber::ParseError::NoNumber => invalid("there is no phone number in it"),
            phonenumber::ParseError::TooShortAfterIdd | phonenumber::ParseError::TooShortNsn => {
                invalid("it is too short")
            }
            phonenumber::ParseError::TooLong => invalid("it is too long"),
            phonenumber::ParseError::MalformedInteger(_) => invalid("its digits are malformed"),
        })?;
        if !number.is_valid() {
            return Err(invalid(
                "it is not a number of its country's numbering plan",
            ));
        }
        if number.extension().is_some() {
            return Err(invalid(
                "it has an extension, which E.164 cannot hold: record the number without it",
            ));
        }
        Ok(Phone::from_valid(&number))
    }

    fn from_valid(number: &PhoneNumber) -> Phone {
        let mobile = match number.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile => Some(true),
            // The plan does not tell (the US), or the line may be either.
            Type::FixedLineOrMobile | Type::PersonalNumber | Type::Voip | Type::Unknown => None,
            _ => Some(false),
        };
        let country = number
            .country()
            .id()
            .and_then(|id| Country::from_code(id.as_ref()).ok());
        Phone {
            e164: number.format().mode(Mode::E164).to_string(),
            country,
            mobile,
        }
    }

    /// The number in E.164 form: `+`, the calling code, the national number.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The country (or territory) whose plan the number belongs to, as libphonenumber
    /// tells it: for the shared +1 plan from the area code (US, CA, PR…); none for
    /// non-geographic numbers (+800, satellite).
    pub fn country(&self) -> Option<Country> {
        self.country
    }

    /// Whether it is a mobile number, where the numbering plan tells: `None` where the
    /// plan does not distinguish (the US, Canada) or the line type is unknown.
    pub fn is_mobile(&self) -> Option<bool> {
        self.mobile
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl TryFrom<String> for Phone {
    type Error = DebtorError;
    fn try_from(e164: String) -> Result<Self, Self::Error> {
        Phone::parse(&e164, None)
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> String {
        phone.e164
    }
}

/// A postal address: the street lines as written, the locality (city, municipio), the
/// region (a US or Mexican state must be its ISO 3166-2 code, as it narrows the time
/// zones; elsewhere a 1–3 character subdivision code), the postal code and the country.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PostalAddress {
    pub lines: Vec<String>,
    pub locality: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Country,
}

impl PostalAddress {
    /// Lines and fields are trimmed; blank lines are dropped, and at least one must
    /// remain; a blank region or postal code is none.
    pub fn new(
        lines: Vec<String>,
        locality: &str,
        region: Option<&str>,
        postal_code: Option<&str>,
        country: &str,
    ) -> Result<PostalAddress, DebtorError> {
        let country = Country::from_code(country)?;
        let lines: Vec<String> = lines
            .iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        if lines.is_empty() {
            return Err(DebtorError::Blank {
                field: "the address's street line",
            });
        }
        let region = region
            .filter(|r| !r.trim().is_empty())
            .map(|r| checked_region(country, r))
            .transpose()?;
        Ok(PostalAddress {
            lines,
            locality: not_blank(locality, "the address's locality")?,
            region,
            postal_code: postal_code
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            country,
        })
    }
}

impl PostalAddress {
    /// The address as an envelope shows it: street lines, then postal code, locality and
    /// region on one line, then the country code.
    pub fn envelope_lines(&self) -> Vec<String> {
        let mut out = self.lines.clone();
        let place: Vec<&str> = [
            self.postal_code.as_deref(),
            Some(self.locality.as_str()),
            self.region.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        out.push(place.join(" "));
        out.push(self.country.code().to_string());
        out
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn country(code: &str) -> Country {
        Country::from_code(code).unwrap()
    }

    #[test]
    fn phones_are_kept_in_e164_with_their_country() {
        let co = Phone::parse("+57 310 123 4567", None).unwrap();
        assert_eq!(co.e164(), "+573101234567");
        assert_eq!(co.country(), Some(country("CO")));
        assert_eq!(co.is_mobile(), Some(true));
        let national = Phone::parse("310 123 4567", Some(country("CO"))).unwrap();
        assert_eq!(national, co);
        let us = Phone::parse("(212) 555-0100", Some(country("US"))).unwrap();
        assert_eq!(us.e164(), "+12125550100");
        let ny = Phone::parse("tel:+1-212-736-5000", None).unwrap();
        assert_eq!(ny.e164(), "+12127365000");
        assert_eq!(ny.country(), Some(country("US")));
        assert_eq!(ny.is_mobile(), None, "the US plan does not tell");
        let madrid = Phone::parse("+34 915 12 34 56", None).unwrap();
        assert_eq!(madrid.is_mobile(), Some(false));
        assert_eq!(madrid.country(), Some(country("ES")));
    }

    #[test]
    fn an_invalid_phone_number_says_why() {
        let reason = |text: &str, dialled_in: Option<&str>| match Phone::parse(
            text,
            dialled_in.map(country),
        ) {
            Err(DebtorError::InvalidPhoneNumber { reason, .. }) => reason,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(reason("call me", None), "there is no phone number in it");
        assert_eq!(
            reason("+999 123 456 789", None),
            "its country calling code does not exist"
        );
        assert_eq!(reason("+57 1", None), "it is too short");
        assert_eq!(
            reason("+57 310 123 4567 8901 2345 6789", None),
            "it is too long"
        );
        assert_eq!(
            reason("+57 999 999 9999", None),
            "it is not a number of its country's numbering plan"
        );
        assert_eq!(
            reason("310 123 4567", Some("AQ")),
            "its country has no numbering plan"
        );
        assert!(reason("+1 212 736 5000 ext. 12", None).contains("extension"));
        for national in ["310 123 4567", "020 7946 0000"] {
            assert_eq!(
                Phone::parse(national, None),
                Err(DebtorError::PhoneNeedsCountry(national.into()))
            );
        }
        assert_eq!(
            reason("00 999 123 456 789", None),
            "its country calling code does not exist"
        );
    }

    #[test]
    fn postal_addresses_need_a_line_a_locality_and_a_known_country() {
        let a = PostalAddress::new(
            vec!["  Calle 10 # 5-20 ".into(), " ".into()],
            " Medellín ",
            Some("ant"),
            Some(" "),
            "co",
        )
        .unwrap();
        assert_eq!(a.lines, ["Calle 10 # 5-20"]);
        assert_eq!(a.locality, "Medellín");
        assert_eq!(a.region.as_deref(), Some("ANT"));
        assert_eq!(a.postal_code, None);
        assert_eq!(
            PostalAddress::new(vec![" ".into()], "x", None, None, "CO"),
            Err(DebtorError::Blank {
                field: "the address's street line"
            })
        );
        assert_eq!(
            PostalAddress::new(vec!["x".into()], " ", None, None, "CO"),
            Err(DebtorError::Blank {
                field: "the address's locality"
            })
        );
        assert_eq!(
            PostalAddress::new(vec!["x".into()], "y", None, None, "Colombia"),
            Err(DebtorError::UnknownCountry("Colombia".into()))
        );
        assert!(matches!(
            PostalAddress::new(vec!["x".into()], "y", Some("Texas"), None, "US"),
            Err(DebtorError::UnknownRegion { .. })
        ));
    }

    proptest! {
        /// Parsing free text never panics; what parses is valid E.164 and parses again
        /// to itself (which is also how a stored phone is read back).
        #[test]
        fn phone_parsing_never_panics(text in "\\PC{0,40}", dialled_in in prop::option::of(prop::sample::select(vec!["US", "CO", "MX", "CL", "ES", "AQ"]))) {
            if let Ok(phone) = Phone::parse(&text, dialled_in.map(country)) {
                prop_assert!(phone.e164().starts_with('+'));
                prop_assert!(phone.e164()[1..].bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(Phone::parse(phone.e164(), None), Ok(phone.clone()));
            }
        }

        /// The same for digit-heavy text, which reaches deeper into the parser.
        #[test]
        fn phone_parsing_of_digits_never_panics(text in "[+]?[0-9 ()./-]{0,25}(ext|x|#)?[0-9]{0,4}") {
            if let Ok(phone) = Phone::parse(&text, None) {
                prop_assert_eq!(Phone::parse(phone.e164(), None), Ok(phone.clone()));
            }
        }
    }
}
