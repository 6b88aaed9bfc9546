//! Amounts as a reader in a given locale writes them: `$ 1.250.000` in es-CO,
//! `1.250,00 €` in es-ES, `$1,250.00` in en-US.
//!
//! The table below is derived from CLDR 46 (`numbers.json` symbols and the standard
//! `currencyFormats` pattern of each locale, `currencyData` for cash digits), for the
//! locales Recobro's creditors write to. ICU4X's `icu_decimal` was considered: it knows
//! grouping and separators but not currency symbols or their position (that is in
//! `icu_experimental`, a much larger build), and CLDR's Spanish minimum-grouping rule
//! would print `1250,00 €` where creditors (and the issue) write `1.250,00 €`.
//!
//! Deliberate departures from CLDR:
//! - every space is U+0020, never CLDR's no-break spaces: a no-break space is outside
//!   the GSM-7 alphabet, so one in an SMS switches the whole message to UCS-2 and cuts a
//!   segment from 160 characters to 70;
//! - groups of three always, from the fourth digit (no minimum-grouping of 2 for `es`,
//!   no Indian lakh grouping for `en-IN`);
//! - a currency whose cash has no minor unit (COP, CRC, CZK, HUF, TWD: CLDR's
//!   `cashDigits="0"`) shows no decimals when the amount has none, and all of them when
//!   it has (`$ 1.250.000`, `$ 1.250.000,50`).
//!
//! Only integers: the amount comes as whole minor units, so no digit is ever lost or
//! rounded.

use crate::money::{Currency, Money};

/// Where the currency symbol goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// `¤#,##0.00`: `$1,250.00`.
    Before,
    /// `¤ #,##0.00`: `$ 1.250.000`.
    BeforeSpaced,
    /// `#,##0.00 ¤`: `1.250,00 €`.
    AfterSpaced,
}

#[derive(Debug, Clone, Copy)]
struct Style {
    group: &'static str,
    decimal: &'static str,
    position: Position,
}

const fn style(group: &'static str, decimal: &'static str, position: Position) -> Style {
    Style {
        group,
        decimal,
        position,
    }
}

use Position::{AfterSpaced, Before, BeforeSpaced};

/// CLDR's standard currency pattern and separators per locale; a language alone is its
/// default (`es` is Spain's Spanish, `pt` Brazil's Portuguese, as in CLDR).
const STYLES: &[(&str, Style)] = &[
    ("en", style(",", ".", Before)),
    ("es", style(".", ",", AfterSpaced)),
    // Latin American Spanish: es-419 and the locales that inherit it unchanged.
    ("es-419", style(",", ".", Before)),
    ("es-AR", style(".", ",", BeforeSpaced)),
    ("es-CL", style(".", ",", Before)),
    ("es-CO", style(".", ",", BeforeSpaced)),
    ("es-EC", style(".", ",", Before)),
    ("es-PE", style(",", ".", BeforeSpaced)),
    ("es-UY", style(".", ",", BeforeSpaced)),
    ("es-VE", style(".", ",", BeforeSpaced)),
    ("pt", style(".", ",", BeforeSpaced)),
    ("pt-PT", style(" ", ",", AfterSpaced)),
    ("de", style(".", ",", AfterSpaced)),
    ("fr", style(" ", ",", AfterSpaced)),
    ("it", style(".", ",", AfterSpaced)),
    ("nl", style(".", ",", BeforeSpaced)),
];

/// Each currency's country, whose readers write it with its local symbol.
const HOME: &[(&str, &str, &str)] = &[
    // (currency, region, local symbol)
    ("USD", "US", "$"),
    ("MXN", "MX", "$"),
    ("COP", "CO", "$"),
    ("CLP", "CL", "$"),
    ("ARS", "AR", "$"),
    ("UYU", "UY", "$"),
    ("DOP", "DO", "RD$"),
    ("PEN", "PE", "S/"),
    ("BRL", "BR", "R$"),
    ("GTQ", "GT", "Q"),
    ("CRC", "CR", "₡"),
    ("GBP", "GB", "£"),
    ("CAD", "CA", "$"),
    ("JPY", "JP", "￥"),
];

/// Countries that pay in euros, where `€` is the local symbol.
const EURO_AREA: &[&str] = &[
    "AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV", "MT",
    "NL", "PT", "SI", "SK",
];

/// Symbols for a currency abroad (CLDR's root and `en` symbols); any other currency
/// shows its ISO code.
const ABROAD: &[(&str, &str)] = &[
    ("EUR", "€"),
    ("GBP", "£"),
    ("USD", "US$"),
    ("BRL", "R$"),
    ("JPY", "JP¥"),
    ("MXN", "MX$"),
    ("CAD", "CA$"),
];

/// CLDR `cashDigits="0"` among currencies whose ISO minor unit is not 0.
const NO_CASH_MINOR: &[&str] = &["COP", "CRC", "CZK", "HUF", "TWD"];

/// Language and region of a BCP 47 tag (`es-co` → `("es", Some("CO"))`); the script and
/// anything after it are ignored.
fn parts(locale: &str) -> (String, Option<String>) {
    let mut subtags = locale.trim().split(['-', '_']);
    let language = subtags.next().unwrap_or("").to_ascii_lowercase();
    let region = subtags
        .find(|s| {
            (s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()))
                || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_ascii_uppercase);
    (language, region)
}

fn style_of(language: &str, region: Option<&str>) -> Option<Style> {
    let find = |tag: &str| STYLES.iter().find(|(t, _)| *t == tag).map(|(_, s)| *s);
    if let Some(r) = region {
        if let Some(s) = find(&format!("{language}-{r}")) {
            return Some(s);
        }
        // Spanish outside Spain (and its few Old-World locales) inherits es-419.
        if language == "es" && !matches!(r, "ES" | "GQ" | "EA" | "IC") {
            return find("es-419");
        }
    }
    find(language)
}

fn symbol(currency: Currency, region: Option<&str>) -> &'static str {
    let code = currency.code();
    if let Some(r) = region {
        if let Some((_, _, local)) = HOME.iter().find(|(c, home, _)| *c == code && *home == r) {
            return local;
        }
        if code == "EUR" && EURO_AREA.contains(&r) {
            return "€";
        }
    }
    ABROAD
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, s)| s)
}

/// Digits of `n` in groups of three, joined by `sep`.
fn grouped(n: u64, sep: &str) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * sep.len());
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(d);
    }
    out
}

/// An amount as a reader in `locale` (a BCP 47 tag) writes it. A locale without a
/// region takes the currency's country when the table has it (`es` with COP is written
/// as in `es-CO`); a locale the table does not know writes the ISO code first and
/// English separators (`COP 1,250,000.00`). Never panics, for any input.
pub fn format_money(money: Money, locale: &str) -> String {
    let currency = money.currency();
    let code = currency.code();
    let (language, mut region) = parts(locale);
    if region.is_none() {
        region = HOME
            .iter()
            .find(|(c, home, _)| *c == code && style_of(&language, Some(home)).is_some())
            .map(|(_, home, _)| (*home).to_string());
    }
    let (style, symbol) = match style_of(&language, region.as_deref()) {
        Some(s) => (s, symbol(currency, region.as_deref())),
        None => (style(",", ".", BeforeSpaced), code),
    };

    let places = currency.minor_units();
    let magnitude = money.minor().unsigned_abs();
    // Minor units are at most 4 for any ISO 4217 currency; checked so that a wider one
    // could never overflow.
    let scale = 10u64.checked_pow(places).unwrap_or(u64::MAX);
    let (whole, fraction) = (magnitude / scale, magnitude % scale);
    let mut number = grouped(whole, style.group);
    if places > 0 && !(fraction == 0 && NO_CASH_MINOR.contains(&code)) {
        number.push_str(style.decimal);
        number.push_str(&format!("{fraction:0width$}", width = places as usize));
    }

    let sign = if money.is_negative() { "-" } else { "" };
    match style.position {
        // CLDR's currency spacing: a symbol ending in a letter is kept off the digits.
        Before if symbol.ends_with(|c: char| c.is_alphabetic()) => {
            format!("{sign}{symbol} {number}")
        }
        Before => format!("{sign}{symbol}{number}"),
        BeforeSpaced => format!("{sign}{symbol} {number}"),
        AfterSpaced => format!("{sign}{number} {symbol}"),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn money(amount: &str, code: &str) -> Money {
        Money::parse(amount, Currency::from_code(code).unwrap()).unwrap()
    }

    #[test]
    fn the_issues_examples() {
        assert_eq!(
            format_money(money("1250000", "COP"), "es-CO"),
            "$ 1.250.000"
        );
        assert_eq!(format_money(money("1250", "EUR"), "es-ES"), "1.250,00 €");
        assert_eq!(format_money(money("1250", "USD"), "en-US"), "$1,250.00");
    }

    #[test]
    fn each_supported_locale() {
        for (amount, code, locale, want) in [
            ("1250000.50", "COP", "es-CO", "$ 1.250.000,50"),
            ("1250.5", "MXN", "es-MX", "$1,250.50"),
            ("1250000", "CLP", "es-CL", "$1.250.000"),
            ("1250", "GBP", "en-GB", "£1,250.00"),
            ("1250", "EUR", "de-DE", "1.250,00 €"),
            ("1250", "EUR", "de", "1.250,00 €"),
            ("0.05", "USD", "en-US", "$0.05"),
            ("999", "USD", "en-US", "$999.00"),
            ("-1250", "USD", "en-US", "-$1,250.00"),
            ("-1250", "EUR", "es-ES", "-1.250,00 €"),
            ("1250", "ARS", "es-AR", "$ 1.250,00"),
            ("1250", "PEN", "es-PE", "S/ 1,250.00"),
            ("1250", "BRL", "pt-BR", "R$ 1.250,00"),
            ("1250", "EUR", "fr-FR", "1 250,00 €"),
            ("1250", "USD", "es-US", "$1,250.00"),
            // Latin American Spanish without an entry of its own.
            ("1250", "USD", "es-PA", "US$1,250.00"),
        ] {
            assert_eq!(format_money(money(amount, code), locale), want, "{locale}");
        }
    }

    #[test]
    fn a_currency_abroad_takes_its_international_symbol() {
        assert_eq!(format_money(money("1250", "USD"), "es-CO"), "US$ 1.250,00");
        assert_eq!(format_money(money("1250", "USD"), "en-GB"), "US$1,250.00");
        assert_eq!(format_money(money("1250", "EUR"), "en-US"), "€1,250.00");
        assert_eq!(format_money(money("1250", "COP"), "en-US"), "COP 1,250");
        assert_eq!(format_money(money("1250", "MXN"), "es-CO"), "MX$ 1.250,00");
    }

    #[test]
    fn a_language_alone_takes_the_currencys_country() {
        assert_eq!(format_money(money("1250000", "COP"), "es"), "$ 1.250.000");
        assert_eq!(format_money(money("1250", "MXN"), "es"), "$1,250.00");
        assert_eq!(format_money(money("1250", "EUR"), "es"), "1.250,00 €");
        assert_eq!(format_money(money("1250", "USD"), "en"), "$1,250.00");
    }

    #[test]
    fn unknown_locales_and_currencies_fall_back_to_the_iso_code() {
        assert_eq!(format_money(money("1250", "JPY"), "ja-JP"), "JPY 1,250");
        assert_eq!(format_money(money("1250.5", "KWD"), ""), "KWD 1,250.500");
        assert_eq!(format_money(money("1250", "CHF"), "en-US"), "CHF 1,250.00");
        assert_eq!(format_money(money("1250", "SEK"), "xx-!!"), "SEK 1,250.00");
    }

    const CODES: &[&str] = &[
        "COP", "EUR", "USD", "MXN", "CLP", "GBP", "KWD", "JPY", "BRL", "CLF", "CHF",
    ];

    proptest! {
        #[test]
        fn never_panics_and_keeps_every_digit(
            minor in any::<i64>(),
            code in proptest::sample::select(CODES),
            locale in prop_oneof![
                proptest::sample::select(&["es-CO", "es-ES", "en-US", "es-MX", "es-CL",
                    "en-GB", "de-DE", "fr", "pt-BR", "es", "es-419", "zz", ""][..])
                    .prop_map(str::to_string),
                ".{0,12}",
            ],
        ) {
            let currency = Currency::from_code(code).unwrap();
            let m = Money::from_minor(minor, currency);
            let text = format_money(m, &locale);
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            let places = currency.minor_units() as usize;
            let all = format!("{:0>width$}", minor.unsigned_abs(), width = places + 1);
            let scale = 10u64.pow(places as u32);
            let cents_dropped = minor.unsigned_abs().is_multiple_of(scale)
                && NO_CASH_MINOR.contains(&code)
                && places > 0;
            let want = if cents_dropped { &all[..all.len() - places] } else { &all[..] };
            prop_assert_eq!(digits, want, "{}", text);
            prop_assert_eq!(text.starts_with('-'), minor < 0);
        }
    }
}
