//! Byte-level concerns before XML parsing: character encoding and source positions.

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

use crate::error::{Diagnostic, DiagnosticCode};
use crate::model::Pos;

/// How far into the document the XML declaration may extend; a declaration is short,
/// and looking further would let hostile input make us scan megabytes for `?>`.
const DECL_SCAN_LIMIT: usize = 1024;

/// Transcodes the document to UTF-8 text, honouring a byte-order mark and the
/// `encoding` of the XML declaration. Offsets into the result are what positions refer to.
pub(crate) fn decode(bytes: &[u8]) -> Result<String, Diagnostic> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return transcode(UTF_16LE, rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return transcode(UTF_16BE, rest);
    }
    // UTF-16 without a BOM still starts with `<` as a 16-bit unit.
    if bytes.starts_with(&[0x3C, 0x00, 0x3F, 0x00]) {
        return transcode(UTF_16LE, bytes);
    }
    if bytes.starts_with(&[0x00, 0x3C, 0x00, 0x3F]) {
        return transcode(UTF_16BE, bytes);
    }
    let Some(label) = declared_encoding(bytes) else {
        return utf8(bytes);
    };
    let Some(encoding) = Encoding::for_label(label.trim().as_bytes()) else {
        return Err(Diagnostic::new(
            DiagnosticCode::MalformedXml,
            Pos { line: 1, col: 1 },
            format!(
                "the XML declaration names the encoding '{label}', which is not supported; \
                 save the file as UTF-8 (or ISO-8859-1 / windows-1252 / UTF-16)"
            ),
        ));
    };
    if encoding == UTF_8 || encoding == UTF_16LE || encoding == UTF_16BE {
        // The declaration was readable as ASCII, so the bytes are not UTF-16 whatever
        // the label says (a common mislabelling); UTF-8 is the only sensible reading.
        return utf8(bytes);
    }
    transcode(encoding, bytes)
}

fn utf8(bytes: &[u8]) -> Result<String, Diagnostic> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(e) => {
            let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
            // The prefix is valid UTF-8 by construction, so this cannot lose anything.
            let prefix = String::from_utf8_lossy(valid);
            let pos = Positions::new(&prefix).pos(prefix.len());
            let byte = bytes.get(e.valid_up_to()).copied().unwrap_or_default();
            Err(Diagnostic::new(
                DiagnosticCode::MalformedXml,
                pos,
                format!(
                    "byte 0x{byte:02X} is not valid UTF-8: the file is read as UTF-8 but was \
                     probably saved in another encoding (e.g. ISO-8859-1); re-save it as \
                     UTF-8 or declare the real encoding in the XML declaration"
                ),
            ))
        }
    }
}

fn transcode(encoding: &'static Encoding, bytes: &[u8]) -> Result<String, Diagnostic> {
    match encoding.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => Ok(text.into_owned()),
        None => Err(Diagnostic::new(
            DiagnosticCode::MalformedXml,
            Pos { line: 1, col: 1 },
            format!(
                "the document is not valid {}: re-save it in the declared encoding or as UTF-8",
                encoding.name()
            ),
        )),
    }
}

/// The `encoding` pseudo-attribute of a leading `<?xml ...?>`, read as ASCII.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = bytes.get(..bytes.len().min(DECL_SCAN_LIMIT))?;
    let head = head.strip_prefix(b"<?xml")?;
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(head.get(..end)?);
    let at = decl.find("encoding")?;
    let rest = decl.get(at + "encoding".len()..)?.trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = rest.get(1..)?;
    let close = value.find(quote)?;
    Some(value.get(..close)?.to_owned())
}

/// Converts byte offsets into 1-based line and character column.
///
/// Line starts are computed once; columns are counted incrementally from the previous
/// lookup on the same line, because elements are visited in document order and a
/// minified one-line document would otherwise cost quadratic time.
pub(crate) struct Positions<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    cursor: std::cell::Cell<(usize, usize, u32)>,
}

impl<'a> Positions<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self {
            text,
            line_starts,
            cursor: std::cell::Cell::new((0, 0, 1)),
        }
    }

    pub(crate) fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self
            .line_starts
            .partition_point(|start| *start <= offset)
            .max(1)
            - 1;
        let start = self.line_starts.get(line).copied().unwrap_or_default();
        let (c_line, c_offset, c_col) = self.cursor.get();
        let (from, base) = if c_line == line && c_offset <= offset && c_offset >= start {
            (c_offset, c_col)
        } else {
            (start, 1)
        };
        let col = base + count_chars(self.text.get(from..offset).unwrap_or_default());
        self.cursor.set((line, offset, col));
        Pos {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            col,
        }
    }
}

fn count_chars(s: &str) -> u32 {
    u32::try_from(s.chars().count()).unwrap_or(u32::MAX)
}
