//! Reads back the PDFs the letter channel writes, by hand: the file's structure (every
//! cross-reference entry points at its object, the trailer names the catalog, the page
//! tree counts the pages) and the text its content streams show, decoded from
//! windows-1252. Enough to know a reader will open it and what it will show, without a
//! PDF library in the build.

pub struct Checked {
    pub pages: usize,
    /// The shown strings, one per line, in content-stream order.
    pub text: String,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

pub fn check(pdf: &[u8]) -> Checked {
    assert!(pdf.starts_with(b"%PDF-1."), "no PDF header");
    assert!(
        pdf.trim_ascii_end().ends_with(b"%%EOF"),
        "no end-of-file marker"
    );
    let sx = rfind(pdf, b"startxref").expect("startxref");
    let offset: usize = std::str::from_utf8(&pdf[sx + 9..])
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("startxref offset");
    assert!(
        pdf[offset..].starts_with(b"xref"),
        "startxref misses the table"
    );
    let table = std::str::from_utf8(&pdf[offset..sx]).expect("ASCII xref table");
    let mut words = table.split_whitespace().skip(1);
    let first: usize = words.next().unwrap().parse().unwrap();
    let count: usize = words.next().unwrap().parse().unwrap();
    assert_eq!(first, 0);
    for id in 0..count {
        let (pos, _gen, kind) = (
            words.next().unwrap(),
            words.next().unwrap(),
            words.next().unwrap(),
        );
        if kind == "n" {
            let pos: usize = pos.parse().unwrap();
            assert!(
                pdf[pos..].starts_with(format!("{id} 0 obj").as_bytes()),
                "xref entry {id} points at {pos}, not at its object"
            );
        }
    }
    let trailer = &table[table.find("trailer").expect("trailer")..];
    assert!(trailer.contains("/Root 1 0 R"), "{trailer}");
    assert!(trailer.contains(&format!("/Size {count}")), "{trailer}");

    let pages = contact::letter::page_count(pdf);
    let tree = find(pdf, b"/Type /Pages").expect("page tree");
    let counted = std::str::from_utf8(&pdf[tree..tree + 200.min(pdf.len() - tree)])
        .unwrap_or_default()
        .split("/Count ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<usize>().ok())
        .expect("/Count");
    assert_eq!(
        counted, pages,
        "the page tree counts other pages than there are"
    );

    let mut text = String::new();
    let mut rest = pdf;
    while let Some(start) = find(rest, b">>\nstream\n") {
        let body = &rest[start + 10..];
        let end = find(body, b"\nendstream").expect("endstream");
        for s in shown(&body[..end]) {
            let (decoded, _, bad) = encoding_rs::WINDOWS_1252.decode(&s);
            assert!(!bad);
            text.push_str(&decoded);
            text.push('\n');
        }
        rest = &body[end + b"\nendstream".len()..];
    }
    Checked { pages, text }
}

/// The strings a content stream shows with `Tj`: literal `( … )` with escapes, or hex.
fn shown(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < stream.len() {
        match stream[i] {
            b'(' => {
                let mut s = Vec::new();
                let mut depth = 1;
                i += 1;
                while depth > 0 {
                    let c = stream[i];
                    match c {
                        b'\\' => {
                            i += 1;
                            match stream[i] {
                                b'n' => s.push(b'\n'),
                                b'r' => s.push(b'\r'),
                                b't' => s.push(b'\t'),
                                b'b' => s.push(8),
                                b'f' => s.push(12),
                                d @ b'0'..=b'7' => {
                                    let mut v = u32::from(d - b'0');
                                    for _ in 0..2 {
                                        if matches!(stream[i + 1], b'0'..=b'7') {
                                            i += 1;
                                            v = v * 8 + u32::from(stream[i] - b'0');
                                        }
                                    }
                                    s.push(v as u8);
                                }
                                other => s.push(other),
                            }
                        }
                        b'(' => {
                            depth += 1;
                            s.push(c);
                        }
                        b')' => {
                            depth -= 1;
                            if depth > 0 {
                                s.push(c);
                            }
                        }
                        _ => s.push(c),
                    }
                    i += 1;
                }
                out.push(s);
            }
            b'<' if stream.get(i + 1) != Some(&b'<') => {
                let end = i + stream[i..].iter().position(|b| *b == b'>').unwrap();
                let hex: Vec<u8> = stream[i + 1..end]
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                out.push(hex::decode(hex).expect("hex string"));
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    out
}
