//! E-mail addresses, checked by a small documented rule.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::DebtorError;

/// An e-mail address, checked by a deliberately small syntax rule rather than RFC 5322
/// in full (whose comments, quoted local parts and IP-literal domains no debtor's
/// address needs, and which would admit what no mail server delivers):
/// - one `@`, a local part of at most 64 bytes and a domain of at most 253;
/// - the local part: letters, digits and ``!#$%&'*+/=?^_`{|}~-``, in dot-separated
///   non-empty pieces;
/// - the domain: at least two dot-separated labels of at most 63 bytes, of letters,
///   digits and inner hyphens, the last not all digits.
///
/// Letters may be non-ASCII (internationalised addresses). The domain is lower-cased;
/// the local part is kept as written, since its case may matter to the mail server. It
/// says nothing about whether the mailbox exists: only a delivery tells.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Email, DebtorError> {
        let malformed = |reason: &'static str| DebtorError::MalformedEmail {
            input: text.to_string(),
            reason,
        };
        let trimmed = text.trim();
        let (local, domain) = match trimmed.split_once('@') {
            Some((l, d)) if !d.contains('@') => (l, d),
            Some(_) => return Err(malformed("it has more than one @")),
            None => return Err(malformed("it has no @")),
        };
        if local.is_empty() || local.len() > 64 {
            return Err(malformed(
                "the part before @ must be 1 to 64 characters long",
            ));
        }
        let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        if local
            .split('.')
            .any(|piece| piece.is_empty() || !piece.chars().all(atext))
        {
            return Err(malformed(
                "the part before @ has a character or a dot out of place",
            ));
        }
        if domain.is_empty() || domain.len() > 253 {
            return Err(malformed("the domain must be 1 to 253 characters long"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(malformed("the domain needs a dot, as in example.com"));
        }
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if !labels.iter().all(|l| label_ok(l)) {
            return Err(malformed(
                "the domain has a character or a dot out of place",
            ));
        }
        if labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(malformed("the domain cannot end in a number"));
        }
        Ok(Email(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = DebtorError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Email::parse(&text)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn emails_are_checked_by_the_documented_rule() {
        assert_eq!(
            Email::parse(" Ana.Perez+cobro@Example.CO ")
                .unwrap()
                .as_str(),
            "Ana.Perez+cobro@example.co"
        );
        assert!(Email::parse("josé@correo.es").is_ok());
        assert!(Email::parse("a@sub-domain.example.com").is_ok());
        for (bad, why) in [
            ("ana.example.com", "it has no @"),
            ("ana@b@example.com", "it has more than one @"),
            (
                "@example.com",
                "the part before @ must be 1 to 64 characters long",
            ),
            (
                "ana..p@example.com",
                "the part before @ has a character or a dot out of place",
            ),
            (
                ".ana@example.com",
                "the part before @ has a character or a dot out of place",
            ),
            (
                "a na@example.com",
                "the part before @ has a character or a dot out of place",
            ),
            ("ana@", "the domain must be 1 to 253 characters long"),
            ("ana@localhost", "the domain needs a dot, as in example.com"),
            (
                "ana@-example.com",
                "the domain has a character or a dot out of place",
            ),
            (
                "ana@example..com",
                "the domain has a character or a dot out of place",
            ),
            (
                "ana@example_x.com",
                "the domain has a character or a dot out of place",
            ),
            ("ana@10.0.0.1", "the domain cannot end in a number"),
        ] {
            assert_eq!(
                Email::parse(bad),
                Err(DebtorError::MalformedEmail {
                    input: bad.into(),
                    reason: why
                }),
                "{bad}"
            );
        }
    }

    proptest! {
        /// E-mail checking never panics and is idempotent on what it admits.
        #[test]
        fn email_parsing_never_panics(text in "\\PC{0,40}") {
            if let Ok(email) = Email::parse(&text) {
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
            }
        }
    }
}
