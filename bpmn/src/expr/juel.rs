//! The simple JUEL forms of Camunda 7 (`${amount > 1000 && !blocked}`), translated to FEEL
//! source so that one evaluator serves both dialects.

use std::fmt::Write;

pub(crate) const METHOD_CALLS: &str = "JUEL method calls are not supported; write the \
     condition in FEEL, e.g. `= amount > 1000`";

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(String),
    Str(String),
    Op(&'static str),
}

/// Translates the body of `${...}` to FEEL text; the error is a sentence.
pub(crate) fn translate(body: &str) -> Result<String, String> {
    let toks = lex(body)?;
    if toks.is_empty() {
        return Err("the expression is empty".into());
    }
    let mut p = Parser {
        toks,
        at: 0,
        depth: 0,
    };
    let out = p.expr()?;
    match p.toks.get(p.at) {
        None => Ok(out),
        Some(Tok::Op("(")) => Err(METHOD_CALLS.into()),
        Some(t) => Err(format!("unexpected {} in JUEL", describe(t))),
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) | Tok::Num(s) => format!("`{s}`"),
        Tok::Str(s) => format!("string '{s}'"),
        Tok::Op(o) => format!("`{o}`"),
    }
}

const OPS: [&str; 22] = [
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "(", ")", ".", "?",
    ":", "[", "]", ",",
];

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_digit() {
            let mut end = i;
            while let Some(&(j, d)) = chars.peek() {
                if d.is_ascii_digit() || d == '.' {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let num = &s[i..end];
            if num.matches('.').count() > 1 || num.ends_with('.') {
                return Err(format!("`{num}` is not a number"));
            }
            toks.push(Tok::Num(num.to_string()));
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let mut end = i;
            while let Some(&(j, d)) = chars.peek() {
                if d.is_alphanumeric() || d == '_' || d == '$' {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            toks.push(Tok::Ident(s[i..end].to_string()));
        } else if c == '\'' || c == '"' {
            chars.next();
            let mut text = String::new();
            let mut closed = false;
            while let Some((_, d)) = chars.next() {
                match d {
                    '\\' => match chars.next() {
                        Some((_, e)) => text.push(e),
                        None => break,
                    },
                    d if d == c => {
                        closed = true;
                        break;
                    }
                    d => text.push(d),
                }
            }
            if !closed {
                return Err("unterminated string literal".into());
            }
            toks.push(Tok::Str(text));
        } else {
            let rest = &s[i..];
            let op = OPS
                .iter()
                .find(|op| rest.starts_with(**op))
                .ok_or_else(|| format!("unexpected character `{c}` in JUEL"))?;
            for _ in 0..op.len() {
                chars.next();
            }
            toks.push(Tok::Op(op));
        }
    }
    Ok(toks)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    depth: u32,
}

/// Binary levels, loosest first: (JUEL spellings, FEEL operator).
const LEVELS: [&[(&str, &str)]; 5] = [
    &[("||", "or"), ("or", "or")],
    &[("&&", "and"), ("and", "and")],
    &[("==", "="), ("eq", "="), ("!=", "!="), ("ne", "!=")],
    &[
        ("<=", "<="),
        ("le", "<="),
        (">=", ">="),
        ("ge", ">="),
        ("<", "<"),
        ("lt", "<"),
        (">", ">"),
        ("gt", ">"),
    ],
    &[("+", "+"), ("-", "-")],
];
const MUL: &[(&str, &str)] = &[
    ("*", "*"),
    ("/", "/"),
    ("div", "/"),
    ("%", "%"),
    ("mod", "%"),
];

/// Deep nesting would overflow the stack; no real condition comes close.
const MAX_DEPTH: u32 = 64;

impl Parser {
    fn peek_is(&self, spelling: &str) -> bool {
        match self.toks.get(self.at) {
            Some(Tok::Op(o)) => *o == spelling,
            Some(Tok::Ident(i)) => i == spelling,
            _ => false,
        }
    }

    fn expr(&mut self) -> Result<String, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("the expression is nested too deeply".into());
        }
        let out = self.level(0);
        self.depth -= 1;
        let out = out?;
        if self.peek_is("?") {
            return Err(
                "the JUEL ternary `a ? b : c` is not supported; write FEEL `= if a then b else c`"
                    .into(),
            );
        }
        Ok(out)
    }

    fn level(&mut self, n: usize) -> Result<String, String> {
        let ops = LEVELS.get(n).copied().unwrap_or(MUL);
        let next = |p: &mut Self| {
            if n < LEVELS.len() {
                p.level(n + 1)
            } else {
                p.unary()
            }
        };
        let mut lhs = next(self)?;
        'outer: loop {
            for (juel, feel) in ops {
                if self.peek_is(juel) {
                    self.at += 1;
                    let rhs = next(self)?;
                    lhs = if *feel == "%" {
                        format!("modulo({lhs}, {rhs})")
                    } else {
                        format!("({lhs} {feel} {rhs})")
                    };
                    continue 'outer;
                }
            }
            return Ok(lhs);
        }
    }

    fn unary(&mut self) -> Result<String, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("the expression is nested too deeply".into());
        }
        let out = self.unary_inner();
        self.depth -= 1;
        out
    }

    fn unary_inner(&mut self) -> Result<String, String> {
        if self.peek_is("!") || self.peek_is("not") {
            self.at += 1;
            return Ok(format!("not({})", self.unary()?));
        }
        if self.peek_is("-") {
            self.at += 1;
            return Ok(format!("(-{})", self.unary()?));
        }
        if self.peek_is("empty") {
            self.at += 1;
            let x = self.unary()?;
            // JUEL `empty`: null, "", or an empty collection. Comparing across types gives
            // null in FEEL, and `if` takes null as false, so each test is type-safe.
            return Ok(format!(
                "(if {x} = null then true else if {x} = \"\" then true else if {x} = [] then true \
                 else if {x} = {{}} then true else false)"
            ));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<String, String> {
        let tok = self
            .toks
            .get(self.at)
            .cloned()
            .ok_or("the expression ends too early")?;
        self.at += 1;
        match tok {
            Tok::Num(n) => Ok(n),
            Tok::Str(s) => Ok(feel_string(&s)),
            Tok::Op("(") => {
                let inner = self.expr()?;
                if !self.peek_is(")") {
                    return Err("missing `)`".into());
                }
                self.at += 1;
                Ok(format!("({inner})"))
            }
            Tok::Ident(id) => match id.as_str() {
                "true" | "false" | "null" => Ok(id),
                "execution" | "task" => Err(format!(
                    "`{id}` is a Camunda 7 engine object; refer to process variables directly, e.g. `${{amount > 1000}}`"
                )),
                _ if is_keyword(&id) => Err(format!("unexpected `{id}` in JUEL")),
                _ => self.path(id),
            },
            Tok::Op(o) => Err(format!("unexpected `{o}` in JUEL")),
        }
    }

    fn path(&mut self, root: String) -> Result<String, String> {
        let mut out = root;
        loop {
            if self.peek_is("(") {
                return Err(METHOD_CALLS.into());
            }
            if self.peek_is("[") {
                return Err(
                    "JUEL indexing `a[...]` is not supported; write FEEL, e.g. `= items[1]`".into(),
                );
            }
            if !self.peek_is(".") {
                return Ok(out);
            }
            self.at += 1;
            match self.toks.get(self.at) {
                Some(Tok::Ident(p)) => {
                    let _ = write!(out, ".{p}");
                    self.at += 1;
                }
                _ => return Err("expected a property name after `.`".into()),
            }
        }
    }
}

fn is_keyword(id: &str) -> bool {
    matches!(
        id,
        "and"
            | "or"
            | "not"
            | "eq"
            | "ne"
            | "lt"
            | "gt"
            | "le"
            | "ge"
            | "div"
            | "mod"
            | "empty"
            | "instanceof"
    )
}

/// A FEEL string literal: double quotes, with `"` and `\` escaped.
fn feel_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
