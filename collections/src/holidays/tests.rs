//! The tables against the law. Each country's whole calendar for every covered year is
//! rebuilt here from the statutes' rules (Easter computed independently, Monday moves,
//! observed days) and compared day by day with [`holiday`], so a wrong or missing row
//! fails whatever the package says. Where a rule is known here only from the package
//! (a law newer than this code's authors' knowledge), the comment says so.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use proptest::prelude::*;

use super::*;

fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

fn country(code: &str) -> Country {
    Country::from_code(code).unwrap()
}

fn name(code: &str, date: NaiveDate) -> Option<&'static str> {
    holiday(country(code), date).unwrap()
}

/// Every holiday of the year, asked day by day through the API.
fn calendar(code: &str, year: i32) -> BTreeSet<NaiveDate> {
    day(year, 1, 1)
        .iter_days()
        .take_while(|d| d.year() == year)
        .filter(|&d| name(code, d).is_some())
        .collect()
}

/// Gregorian Easter Sunday (the anonymous "Meeus/Jones/Butcher" computus).
fn easter(year: i32) -> NaiveDate {
    let (a, b, c) = (year % 19, year / 100, year % 100);
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let date = (h + l - 7 * m + 114) % 31 + 1;
    day(year, month as u32, date as u32)
}

fn nth(year: i32, month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n).unwrap()
}

fn last_monday_of_may(year: i32) -> NaiveDate {
    let may_31 = day(year, 5, 31);
    may_31 - Duration::days(i64::from(may_31.weekday().num_days_from_monday()))
}

/// Ley 51 de 1983: the holiday is the date itself on a Monday, else the next Monday.
fn emiliani(date: NaiveDate) -> NaiveDate {
    date + Duration::days(i64::from((7 - date.weekday().num_days_from_monday()) % 7))
}

#[test]
fn colombia_2025_moves_the_emiliani_holidays_to_monday() {
    let cases = [
        // Already a Monday: stays.
        (day(2025, 1, 6), "Epiphany"),
        // Wed 19 March → Mon 24.
        (day(2025, 3, 24), "Saint Joseph's Day (observed)"),
        // Sun 29 June → Mon 30, the day the Sacred Heart (Fri 27 June, Easter + 68)
        // moves to as well.
        (
            day(2025, 6, 30),
            "Sacred Heart (observed); Saint Peter and Saint Paul's Day (observed)",
        ),
        // Fri 15 August → Mon 18.
        (day(2025, 8, 18), "Assumption Day (observed)"),
        // Tue 11 November → Mon 17.
        (day(2025, 11, 17), "Independence of Cartagena (observed)"),
        // Holy Week is not moved (Easter 2025: 20 April).
        (day(2025, 4, 17), "Maundy Thursday"),
        (day(2025, 4, 18), "Good Friday"),
        // Patriotic dates are not moved, even on a Sunday.
        (day(2025, 7, 20), "Independence Day"),
    ];
    for (date, expected) in cases {
        assert_eq!(name("CO", date), Some(expected), "{date}");
    }
    // The moved holidays' own dates are working days.
    for date in [day(2025, 3, 19), day(2025, 8, 15), day(2025, 11, 11)] {
        assert_eq!(name("CO", date), None, "{date}");
    }
}

#[test]
fn colombia_every_covered_year_follows_the_law() {
    for year in COVERED_YEARS {
        let easter = easter(year);
        // Not moved: civic dates, 1 May, 8 and 25 December, Holy Thursday and Friday.
        let mut expected: BTreeSet<_> = [(1, 1), (5, 1), (7, 20), (8, 7), (12, 8), (12, 25)]
            .map(|(m, d)| day(year, m, d))
            .into_iter()
            .chain([easter - Duration::days(3), easter - Duration::days(2)])
            .collect();
        // Moved by Ley 51 de 1983.
        let mut moved = vec![
            (1, 6),
            (3, 19),
            (6, 29),
            (8, 15),
            (10, 12),
            (11, 1),
            (11, 11),
        ];
        // Our Lady of Chiquinquirá (9 July), moved like the others, from 2026: known
        // here only from the package, which cites Ley 2578 de 2026.
        if year >= 2026 {
            moved.push((7, 9));
        }
        expected.extend(moved.into_iter().map(|(m, d)| emiliani(day(year, m, d))));
        // Ascension (Easter + 39), Corpus Christi (+ 60) and the Sacred Heart (+ 68),
        // each to the next Monday.
        expected.extend([39, 60, 68].map(|n| emiliani(easter + Duration::days(n))));
        assert_eq!(calendar("CO", year), expected, "CO {year}");
    }
}

#[test]
fn colombia_moved_holidays_are_mondays_named_as_observed() {
    for year in COVERED_YEARS {
        for date in calendar("CO", year) {
            if name("CO", date).unwrap().contains("(observed)") {
                assert_eq!(date.weekday(), Weekday::Mon, "{date}");
            }
        }
    }
}

#[test]
fn mexico_keeps_the_statutory_rest_days() {
    assert_eq!(name("MX", day(2025, 2, 3)), Some("Constitution Day"));
    assert_eq!(
        name("MX", day(2025, 3, 17)),
        Some("Benito Juárez's birthday")
    );
    assert_eq!(name("MX", day(2025, 9, 16)), Some("Independence Day"));
    assert_eq!(name("MX", day(2025, 11, 17)), Some("Revolution Day"));
    assert_eq!(
        name("MX", day(2024, 10, 1)),
        Some("Change of Federal Government")
    );
    // The historical dates of the Monday holidays are working days.
    assert_eq!(name("MX", day(2025, 2, 5)), None);
    assert_eq!(name("MX", day(2025, 3, 21)), None);
    assert_eq!(name("MX", day(2025, 11, 20)), None);
    for year in COVERED_YEARS {
        // Ley Federal del Trabajo, art. 74.
        let mut expected = BTreeSet::from([
            day(year, 1, 1),
            nth(year, 2, Weekday::Mon, 1),
            nth(year, 3, Weekday::Mon, 3),
            day(year, 5, 1),
            day(year, 9, 16),
            nth(year, 11, Weekday::Mon, 3),
            day(year, 12, 25),
        ]);
        // The presidential term starts on 1 October since 2024, every six years.
        if (year - 2024) % 6 == 0 {
            expected.insert(day(year, 10, 1));
        }
        assert_eq!(calendar("MX", year), expected, "MX {year}");
    }
}

#[test]
fn chile_pinned_dates() {
    for year in COVERED_YEARS {
        assert_eq!(name("CL", day(year, 9, 18)), Some("Independence Day"));
        assert_eq!(name("CL", day(year, 9, 19)), Some("Army Day"));
    }
    // Día Nacional de los Pueblos Indígenas (Ley 21.357): the winter solstice, 21 June
    // by the law itself in 2021, then the day of the solstice in Chile (UTC−4 in June),
    // at about 2022-06-21 09:13 UTC, 2023-06-21 14:57, 2024-06-20 20:51, 2025-06-21
    // 02:42 UTC (20 June 22:42 in Chile) and 2026-06-21 08:24.
    let indigenous = [
        day(2021, 6, 21),
        day(2022, 6, 21),
        day(2023, 6, 21),
        day(2024, 6, 20),
        day(2025, 6, 20),
        day(2026, 6, 21),
    ];
    for date in indigenous {
        assert_eq!(
            name("CL", date),
            Some("National Indigenous Peoples Day"),
            "{date}"
        );
        let other = if date.day() == 20 {
            date.succ_opt()
        } else {
            date.pred_opt()
        };
        assert_eq!(name("CL", other.unwrap()), None, "{date}");
    }
    assert_eq!(
        name("CL", day(2020, 6, 20)),
        None,
        "the law dates from 2021"
    );
    // Ley 20.983: 2 January when 1 January is a Sunday.
    assert_eq!(name("CL", day(2023, 1, 2)), Some("National Holiday"));
    assert_eq!(name("CL", day(2025, 1, 2)), None);
}

/// The June solstice's day in Chile's winter time (UTC−4), from Meeus's mean-solstice
/// polynomial (Astronomical Algorithms, table 27.B), within minutes of the true instant
/// in this century; `None` when that instant is within an hour of Chilean midnight,
/// too close for the approximation to tell the day.
fn june_solstice_in_chile(year: i32) -> Option<NaiveDate> {
    let y = f64::from(year - 2000) / 1000.0;
    let jde = 2_451_716.567_67 + 365_241.626_03 * y + 0.003_25 * y.powi(2) + 0.008_88 * y.powi(3)
        - 0.000_30 * y.powi(4);
    // Julian day 2440587.5 is 1970-01-01 00:00 UTC.
    let chile_days = jde - 2_440_587.5 - 4.0 / 24.0;
    let hour = chile_days.fract() * 24.0;
    if !(1.0..=23.0).contains(&hour) {
        return None;
    }
    Some(day(1970, 1, 1) + Duration::days(chile_days.floor() as i64))
}

#[test]
fn chile_indigenous_peoples_day_is_the_solstice_in_chile() {
    for year in 2022..=*COVERED_YEARS.end() {
        let solstice = june_solstice_in_chile(year).expect("an hour from midnight");
        assert_eq!(
            name("CL", solstice),
            Some("National Indigenous Peoples Day"),
            "CL {year}"
        );
    }
}

#[test]
fn chile_every_covered_year_follows_the_fixed_and_moved_dates() {
    for year in COVERED_YEARS {
        let easter = easter(year);
        let calendar = calendar("CL", year);
        let fixed = [
            (1, 1),
            (5, 1),
            (5, 21),
            (7, 16),
            (8, 15),
            (9, 18),
            (9, 19),
            (11, 1),
            (12, 8),
            (12, 25),
        ];
        let good_friday_and_holy_saturday =
            [easter - Duration::days(2), easter - Duration::days(1)];
        for date in fixed
            .map(|(m, d)| day(year, m, d))
            .into_iter()
            .chain(good_friday_and_holy_saturday)
        {
            assert!(calendar.contains(&date), "CL {date}");
        }
        // Ley 19.668: 29 June and 12 October move to the Monday of their week from a
        // Tuesday, Wednesday or Thursday, to the next Monday from a Friday.
        for date in [day(year, 6, 29), day(year, 10, 12)] {
            let to = match date.weekday() {
                Weekday::Tue | Weekday::Wed | Weekday::Thu => {
                    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
                }
                Weekday::Fri => date + Duration::days(3),
                _ => date,
            };
            assert!(calendar.contains(&to), "CL {date} → {to}");
            if to != date {
                assert!(!calendar.contains(&date), "CL {date} moved");
            }
        }
        // Ley 20.299: 31 October, to the Friday before from a Tuesday, to the Friday
        // after from a Wednesday.
        let reformation = day(year, 10, 31);
        let to = match reformation.weekday() {
            Weekday::Tue => reformation - Duration::days(4),
            Weekday::Wed => reformation + Duration::days(2),
            _ => reformation,
        };
        assert_eq!(name("CL", to), Some("Reformation Day"), "CL {year}");
        // Ley 20.215: Monday 17 September before a Tuesday 18, Friday 20 after a
        // Thursday 19.
        let sep_17 = day(year, 9, 17);
        if sep_17.weekday() == Weekday::Mon {
            assert!(calendar.contains(&sep_17), "CL {sep_17}");
        }
        let sep_20 = day(year, 9, 20);
        assert_eq!(
            calendar.contains(&sep_20),
            sep_20.weekday() == Weekday::Fri,
            "CL {sep_20}"
        );
    }
}

#[test]
fn spain_keeps_the_national_holidays_even_on_a_sunday() {
    assert_eq!(name("ES", day(2025, 1, 6)), Some("Epiphany"));
    // A Sunday: a community may move it to Monday 13, a regional choice.
    assert_eq!(name("ES", day(2025, 10, 12)), Some("National Day"));
    assert_eq!(name("ES", day(2025, 10, 13)), None);
    assert_eq!(name("ES", day(2025, 12, 8)), Some("Immaculate Conception"));
    // Holy Thursday and Saint Joseph are regional.
    assert_eq!(name("ES", day(2025, 4, 17)), None);
    assert_eq!(name("ES", day(2025, 3, 19)), None);
    for year in COVERED_YEARS {
        // Real Decreto 2001/1983, art. 45, and Good Friday. A community may swap
        // Epiphany for a day of its own; it stays here, the safe side for the gate.
        let fixed = [
            (1, 1),
            (1, 6),
            (5, 1),
            (8, 15),
            (10, 12),
            (11, 1),
            (12, 6),
            (12, 8),
            (12, 25),
        ];
        let mut expected: BTreeSet<_> = fixed.map(|(m, d)| day(year, m, d)).into();
        expected.insert(easter(year) - Duration::days(2));
        assert_eq!(calendar("ES", year), expected, "ES {year}");
    }
}

/// A fixed-date federal holiday and, on a weekend, its observed day (5 U.S.C. 6103(b),
/// Executive Order 11582): a Saturday's Friday, a Sunday's Monday.
fn with_observed(date: NaiveDate) -> Vec<NaiveDate> {
    match date.weekday() {
        Weekday::Sat => vec![date, date - Duration::days(1)],
        Weekday::Sun => vec![date, date + Duration::days(1)],
        _ => vec![date],
    }
}

#[test]
fn united_states_federal_holidays_with_their_observed_days() {
    assert_eq!(name("US", day(2025, 11, 27)), Some("Thanksgiving Day"));
    assert_eq!(
        name("US", day(2025, 6, 19)),
        Some("Juneteenth National Independence Day")
    );
    assert_eq!(name("US", day(2026, 7, 4)), Some("Independence Day"));
    assert_eq!(
        name("US", day(2026, 7, 3)),
        Some("Independence Day (observed)")
    );
    // Saturday 1 January 2022 is observed in the year before.
    assert_eq!(
        name("US", day(2021, 12, 31)),
        Some("New Year's Day (observed)")
    );
    // Juneteenth became a federal holiday on 17 June 2021.
    assert_eq!(name("US", day(2020, 6, 19)), None);
    for year in COVERED_YEARS {
        let mut fixed = vec![
            day(year, 1, 1),
            day(year, 7, 4),
            day(year, 11, 11),
            day(year, 12, 25),
        ];
        if year >= 2021 {
            fixed.push(day(year, 6, 19));
        }
        let mut expected: BTreeSet<_> = fixed
            .into_iter()
            .flat_map(with_observed)
            .filter(|d| d.year() == year)
            .collect();
        if day(year + 1, 1, 1).weekday() == Weekday::Sat {
            expected.insert(day(year, 12, 31));
        }
        expected.extend([
            nth(year, 1, Weekday::Mon, 3),
            nth(year, 2, Weekday::Mon, 3),
            last_monday_of_may(year),
            nth(year, 9, Weekday::Mon, 1),
            nth(year, 10, Weekday::Mon, 2),
            nth(year, 11, Weekday::Thu, 4),
        ]);
        assert_eq!(calendar("US", year), expected, "US {year}");
    }
}

#[test]
fn outside_the_tables_is_an_error_never_a_working_day() {
    let before = holiday(country("CO"), day(2019, 12, 31));
    assert_eq!(
        before,
        Err(HolidayError::NotCovered {
            country: country("CO"),
            year: 2019,
            covered: 2020..=2040
        })
    );
    assert!(holiday(country("US"), day(2041, 1, 1)).is_err());
    let peru = holiday(country("PE"), day(2025, 7, 28)).unwrap_err();
    assert_eq!(
        peru.to_string(),
        "no holiday table covers PE in 2025: the tables cover CL, CO, ES, MX, US in 2020–2040"
    );
}

#[test]
fn the_tables_are_sorted_valid_dates_within_the_covered_years() {
    assert_eq!(covered_countries(), ["CL", "CO", "ES", "MX", "US"]);
    assert!(covered_countries().is_sorted_by(|a, b| a < b));
    assert_eq!(table::CODES.len(), table::TABLES.len());
    assert_eq!(SOURCE, "holidays==0.109");
    for (code, rows) in table::CODES.iter().zip(table::TABLES) {
        assert!(
            rows.is_sorted_by(|a, b| a.0 < b.0),
            "{code} is not strictly sorted"
        );
        for &(key, at) in *rows {
            let (year, month, date) = (key / 10_000, key / 100 % 100, key % 100);
            let date = NaiveDate::from_ymd_opt(year as i32, month, date);
            assert!(date.is_some(), "{code} {key} is no date");
            assert!(COVERED_YEARS.contains(&(year as i32)), "{code} {key}");
            assert!(usize::from(at) < table::NAMES.len(), "{code} {key}");
        }
    }
}

proptest! {
    /// The binary search finds exactly the rows a scan finds, and any date outside the
    /// covered years or countries is refused.
    #[test]
    fn lookup_agrees_with_a_scan(
        days in 0i64..(200 * 366),
        code in prop::sample::select(vec!["CL", "CO", "ES", "MX", "US", "PE", "AR", "BR"]),
    ) {
        let date = day(1940, 1, 1) + Duration::days(days);
        let found = holiday(country(code), date);
        let covered = COVERED_YEARS.contains(&date.year()) && covered_countries().contains(&code);
        prop_assert_eq!(found.is_ok(), covered);
        if let Ok(found) = found {
            let at = covered_countries().iter().position(|c| *c == code).unwrap();
            let scan = table::TABLES[at]
                .iter()
                .find(|&&(key, _)| key == day_key(date))
                .map(|&(_, name)| table::NAMES[usize::from(name)]);
            prop_assert_eq!(found, scan);
        }
    }
}
