//! A letter as a PDF: A4, wrapped lines, as many pages as it takes, a footer with the
//! case reference and page numbers.
//!
//! Written with `pdf-writer`, which lays out exactly the objects it is told and pulls
//! in nothing new (its few dependencies are already in the tree), instead of a layout
//! engine such as `printpdf` that brings fonts and image codecs a letter does not use.
//! The text is set in Courier, a base-14 font every reader has, so nothing is
//! embedded; encoded as WinAnsiEncoding (windows-1252) it prints Spanish (ñ, á, ¿, €).
//! Courier is monospaced: every glyph is 600/1000 em wide, so lines are wrapped exactly
//! without a table of glyph widths. Output is deterministic (no creation date, no ids),
//! so the same letter always hashes the same.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

/// What goes on the paper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter<'a> {
    /// Top right, as written (`2 de marzo de 2026`).
    pub date: &'a str,
    /// In bold after the address block: the body's lines up to its first blank line.
    pub subject: Option<&'a str>,
    pub body: &'a str,
    /// In every page's footer, with the page number.
    pub reference: &'a str,
    /// `es…` gets Spanish footers ("Página 1 de 2"), anything else English.
    pub language: &'a str,
    /// Lines kept as written, spaces and all (a table in columns), cut at the column
    /// width instead of wrapped at words.
    pub preformatted: bool,
}

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN_X: f32 = 64.0;
const TOP: f32 = PAGE_H - 64.0;
const BOTTOM: f32 = 80.0;
const FOOTER_Y: f32 = 40.0;
const SIZE: f32 = 11.0;
const LEADING: f32 = 14.0;
/// Courier's advance width, as a fraction of the font size.
const ADVANCE: f32 = 0.6;
/// Characters per line: the text width over one glyph's width.
pub const COLUMNS: usize = ((PAGE_W - 2.0 * MARGIN_X) / (SIZE * ADVANCE)) as usize;
pub const LINES_PER_PAGE: usize = ((TOP - BOTTOM) / LEADING) as usize + 1;

/// One line of output: its windows-1252 bytes, bold or not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    text: Vec<u8>,
    bold: bool,
}

/// The PDF's bytes and its page count.
pub fn render(letter: &Letter<'_>) -> (Vec<u8>, usize) {
    let pages = paginate(layout(letter));
    let count = pages.len();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    // Each page: its dictionary, then its content stream.
    let page_ref = |i: usize| Ref::new(6 + 2 * i as i32);
    let content_ref = |i: usize| Ref::new(7 + 2 * i as i32);

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids((0..count).map(page_ref))
        .count(count as i32);
    for (id, name) in [(regular, "Courier"), (bold, "Courier-Bold")] {
        pdf.type1_font(id)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let mut doc = pdf.document_info(info);
    doc.producer(TextStr("Recobro"));
    if let Some(subject) = letter.subject {
        doc.title(TextStr(subject));
    }
    doc.finish();
    for (i, lines) in pages.iter().enumerate() {
        let mut page = pdf.page(page_ref(i));
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .contents(content_ref(i));
        page.resources()
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        page.finish();
        let footer = footer(letter, i + 1, count);
        let stream = content(lines, i == 0, letter.date, &footer);
        pdf.stream(content_ref(i), &stream);
    }
    (pdf.finish(), count)
}

/// The page's text: the date on the first, the lines, the footer.
fn content(lines: &[Line], first: bool, date: &str, footer: &[u8]) -> Vec<u8> {
    let mut c = Content::new();
    c.begin_text();
    if first {
        let date = encode(date);
        let x = PAGE_W - MARGIN_X - date.len() as f32 * SIZE * ADVANCE;
        c.set_font(Name(b"F1"), SIZE);
        c.set_text_matrix([1.0, 0.0, 0.0, 1.0, x.max(MARGIN_X), TOP + LEADING * 1.5]);
        c.show(Str(&date));
    }
    c.set_leading(LEADING);
    c.set_text_matrix([1.0, 0.0, 0.0, 1.0, MARGIN_X, TOP]);
    let mut bold = None;
    for line in lines {
        if bold != Some(line.bold) {
            c.set_font(Name(if line.bold { b"F2" } else { b"F1" }), SIZE);
            bold = Some(line.bold);
        }
        c.show(Str(&line.text));
        c.next_line_using_leading();
    }
    c.end_text();
    c.begin_text();
    c.set_font(Name(b"F1"), 8.0);
    c.set_text_matrix([1.0, 0.0, 0.0, 1.0, MARGIN_X, FOOTER_Y]);
    c.show(Str(footer));
    c.end_text();
    c.finish().into_vec()
}

fn footer(letter: &Letter<'_>, page: usize, pages: usize) -> Vec<u8> {
    let text = if letter.language.starts_with("es") {
        format!("Ref. {} · Página {page} de {pages}", letter.reference)
    } else {
        format!("Ref. {} · Page {page} of {pages}", letter.reference)
    };
    encode(&text)
}

/// The body's lines wrapped to the column width, the subject in bold after the address
/// block.
fn layout(letter: &Letter<'_>) -> Vec<Line> {
    let body = letter.body.replace("\r\n", "\n");
    let paragraphs: Vec<&str> = body.split('\n').collect();
    // The subject goes where a letter's "Re:" line goes: after the address, which the
    // templates put first; a body that starts with its text gets it on top.
    let block_end = paragraphs
        .iter()
        .position(|p| p.trim().is_empty())
        .unwrap_or(0);
    let mut out = Vec::new();
    let subject = |out: &mut Vec<Line>| {
        if let Some(s) = letter.subject.filter(|s| !s.trim().is_empty()) {
            out.extend(wrap(s, true));
            out.push(Line {
                text: Vec::new(),
                bold: false,
            });
        }
    };
    if block_end == 0 {
        subject(&mut out);
    }
    for (i, p) in paragraphs.iter().enumerate() {
        if i == block_end && block_end > 0 {
            out.push(Line {
                text: Vec::new(),
                bold: false,
            });
            subject(&mut out);
            continue;
        }
        if letter.preformatted {
            out.extend(cut(p));
        } else {
            out.extend(wrap(p, false));
        }
    }
    out
}

/// A line as written, in pieces of [`COLUMNS`]; an empty one is one blank line.
fn cut(line: &str) -> Vec<Line> {
    let text = encode(&line.replace('\t', "    "));
    if text.is_empty() {
        return vec![Line { text, bold: false }];
    }
    text.chunks(COLUMNS)
        .map(|c| Line {
            text: c.to_vec(),
            bold: false,
        })
        .collect()
}

/// Pages of lines; a blank line never starts a page.
fn paginate(lines: Vec<Line>) -> Vec<Vec<Line>> {
    let mut pages: Vec<Vec<Line>> = vec![Vec::new()];
    for line in lines {
        let page = pages.last_mut().expect("at least one page");
        if page.len() == LINES_PER_PAGE {
            if line.text.is_empty() {
                continue;
            }
            pages.push(vec![line]);
        } else {
            page.push(line);
        }
    }
    pages
}

/// A paragraph wrapped at word boundaries to [`COLUMNS`]; a word longer than a line is
/// cut. An empty paragraph is one blank line.
fn wrap(paragraph: &str, bold: bool) -> Vec<Line> {
    let text = encode(&paragraph.replace('\t', "    "));
    let mut lines = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    for word in text.split(|b| *b == b' ').filter(|w| !w.is_empty()) {
        let mut word = word;
        let room = if current.is_empty() { 0 } else { 1 };
        if current.len() + room + word.len() > COLUMNS && !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        while word.len() > COLUMNS {
            lines.push(word[..COLUMNS].to_vec());
            word = &word[COLUMNS..];
        }
        if !current.is_empty() {
            current.push(b' ');
        }
        current.extend_from_slice(word);
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines.into_iter().map(|text| Line { text, bold }).collect()
}

/// Text as windows-1252 bytes; what the encoding lacks (Cyrillic, emoji, CJK) prints
/// as `?` rather than as the wrong glyph.
pub fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut buf));
        match bytes.as_ref() {
            [b] if !unmappable => out.push(*b),
            _ => out.push(b'?'),
        }
    }
    out
}

/// A date as a letter is dated: `2 de marzo de 2026`, `2 March 2026`.
pub fn long_date(day: chrono::NaiveDate, language: &str) -> String {
    use chrono::Datelike;
    const ES: [&str; 12] = [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = day.month0() as usize;
    if language.starts_with("es") {
        format!("{} de {} de {}", day.day(), ES[month], day.year())
    } else {
        format!("{} {} {}", day.day(), EN[month], day.year())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spanish_is_windows_1252_and_the_rest_a_question_mark() {
        assert_eq!(encode("señor"), b"se\xf1or");
        assert_eq!(encode("Bogotá €"), b"Bogot\xe1 \x80");
        assert_eq!(encode("Ж😀"), b"??");
        assert_eq!(encode("a\u{7}b"), b"a b");
    }

    #[test]
    fn paragraphs_wrap_at_words_and_long_words_are_cut() {
        let words = "palabra ".repeat(30);
        let lines = wrap(&words, false);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.text.len() <= COLUMNS));
        assert!(lines.iter().all(|l| !l.text.starts_with(b" ")));
        assert_eq!(
            lines.iter().map(|l| l.text.len()).sum::<usize>() + lines.len() - 1,
            words.trim_end().len()
        );
        let long = "x".repeat(COLUMNS * 2 + 3);
        let cut = wrap(&long, false);
        assert_eq!(
            cut.iter().map(|l| l.text.len()).collect::<Vec<_>>(),
            [COLUMNS, COLUMNS, 3]
        );
        assert_eq!(
            wrap("", false),
            [Line {
                text: vec![],
                bold: false
            }]
        );
    }

    #[test]
    fn preformatted_lines_keep_their_columns() {
        let row = format!("{:<10} {:>8}", "2026-12-03", "12.50");
        let long = "x".repeat(COLUMNS + 2);
        let body = format!("{row}\n\n{long}");
        let letter = Letter {
            date: "2026-12",
            subject: None,
            body: &body,
            reference: "S-1",
            language: "en",
            preformatted: true,
        };
        let texts: Vec<String> = layout(&letter)
            .into_iter()
            .map(|l| String::from_utf8(l.text).unwrap())
            .collect();
        assert_eq!(
            texts,
            [row, String::new(), "x".repeat(COLUMNS), "xx".into()]
        );
    }

    #[test]
    fn the_subject_follows_the_address_block() {
        let letter = Letter {
            date: "1 de marzo de 2026",
            subject: Some("Requerimiento"),
            body: "Ana\nCalle 1\n\nTexto",
            reference: "C-1",
            language: "es",
            preformatted: false,
        };
        let texts: Vec<(String, bool)> = layout(&letter)
            .into_iter()
            .map(|l| (String::from_utf8(l.text).unwrap(), l.bold))
            .collect();
        let want = [
            ("Ana", false),
            ("Calle 1", false),
            ("", false),
            ("Requerimiento", true),
            ("", false),
            ("Texto", false),
        ];
        assert_eq!(texts, want.map(|(t, b)| (t.to_string(), b)).to_vec(),);
    }

    #[test]
    fn long_letters_break_into_pages() {
        let body = (1..=LINES_PER_PAGE * 2 + 5)
            .map(|i| format!("línea {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let letter = Letter {
            date: "1 March 2026",
            subject: None,
            body: &body,
            reference: "C-1",
            language: "en",
            preformatted: false,
        };
        let (bytes, pages) = render(&letter);
        assert_eq!(pages, 3);
        assert!(bytes.starts_with(b"%PDF-"));
    }

    #[test]
    fn dates_read_as_letters_date_them() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        assert_eq!(long_date(d, "es"), "2 de marzo de 2026");
        assert_eq!(long_date(d, "en"), "2 March 2026");
    }
}
