//! Candidate names for dsntk's parser.
//!
//! FEEL names may contain spaces and `+ - * / . '`, so dsntk's lexer reads the longest
//! run of name parts (`balance * 2` would be one name) unless a prefix of it is known in
//! the parsing scope. Camunda 8 variables are plain identifiers, so every identifier in
//! the text is offered as a known name — except keywords, type names and the first words
//! of multi-word built-ins, which must keep their FEEL meaning.

use std::collections::BTreeSet;

use dsntk_feel::context::FeelContext;
use dsntk_feel::values::Value;
use dsntk_feel::{FeelScope, Name};

const KEYWORDS: [&str; 18] = [
    "and",
    "or",
    "in",
    "instance",
    "of",
    "if",
    "then",
    "else",
    "for",
    "return",
    "some",
    "every",
    "satisfies",
    "between",
    "true",
    "false",
    "null",
    "function",
];

const MULTI_WORD: [&str; 37] = [
    "context merge",
    "context put",
    "date and time",
    "day of week",
    "day of year",
    "distinct values",
    "end included",
    "ends with",
    "finished by",
    "get entries",
    "get value",
    "index of",
    "insert before",
    "list contains",
    "list replace",
    "lower case",
    "met by",
    "month of year",
    "overlaps after",
    "overlaps before",
    "round down",
    "round half down",
    "round half up",
    "round up",
    "start included",
    "started by",
    "starts with",
    "string join",
    "string length",
    "substring after",
    "substring before",
    "time offset",
    "upper case",
    "week of year",
    "years and months duration",
    "days and time duration",
    "last day of month",
];

const TYPE_NAMES: [&str; 4] = ["Any", "Null", "list", "context"];

fn is_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '?'
}

fn is_part(c: char) -> bool {
    is_start(c) || c.is_numeric()
}

/// Identifiers outside string literals, with the character just before each.
fn tokens(text: &str) -> Vec<(char, &str)> {
    let mut out = Vec::new();
    let mut prev = ' ';
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c == '"' {
            // Skip the literal, honouring backslash escapes.
            while let Some((_, d)) = iter.next() {
                match d {
                    '\\' => {
                        iter.next();
                    }
                    '"' => break,
                    _ => {}
                }
            }
            prev = '"';
        } else if is_start(c) {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = iter.peek() {
                if !is_part(d) {
                    break;
                }
                end = j + d.len_utf8();
                iter.next();
            }
            out.push((prev, &text[i..end]));
            prev = 'a';
        } else if !c.is_whitespace() {
            prev = c;
        }
    }
    out
}

/// A parsing scope that knows every plain identifier of `text` as a name.
pub(crate) fn parsing_scope(text: &str) -> FeelScope {
    let toks = tokens(text);
    let mut names = BTreeSet::new();
    for (i, &(before, word)) in toks.iter().enumerate() {
        let next = toks.get(i + 1).map(|t| t.1);
        let prev = i.checked_sub(1).and_then(|p| toks.get(p)).map(|t| t.1);
        let starts_builtin = next.is_some_and(|n| {
            MULTI_WORD.iter().any(|m| {
                let mut w = m.split(' ');
                w.next() == Some(word) && w.next() == Some(n)
            })
        });
        let is_type =
            (prev == Some("of") && before == 'a') || before == '<' || TYPE_NAMES.contains(&word);
        if !KEYWORDS.contains(&word) && !starts_builtin && !is_type {
            names.insert(word);
        }
    }
    let mut ctx = FeelContext::default();
    for n in names {
        ctx.set_entry(&Name::from(n), Value::Null(None));
    }
    FeelScope::from(ctx)
}
