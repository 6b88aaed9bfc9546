//! Daily export files (the print shop's manifest, the dialer's call list): CSV with a
//! header, one row per attempt key, rewritten whole through a temporary file and a
//! rename so that a crash never leaves half a row and a redelivery never adds a second.

use std::path::{Path, PathBuf};

use crate::message::SendError;

/// A key as a file name: what is not ASCII alphanumeric or `-` becomes `_`.
pub fn safe_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn io_error(path: &Path) -> impl Fn(std::io::Error) -> SendError + '_ {
    move |e| SendError::Unavailable(format!("{}: {e}", path.display()))
}

/// Writes `bytes` to `path` so that readers see the old file or the new one, never a
/// part.
pub async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SendError> {
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let tmp = path.with_extension("tmp");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(io_error(&dir))?;
    tokio::fs::write(&tmp, bytes)
        .await
        .map_err(io_error(&tmp))?;
    tokio::fs::rename(&tmp, path).await.map_err(io_error(path))
}

/// Adds `row` to the CSV at `path` (created with `header`) unless a row with the same
/// first field (the attempt key) is there. Answers whether it was added. Callers hold
/// their channel's lock: the read and the rewrite must not interleave with another.
pub async fn add_row(path: &Path, header: &[&str], row: &[String]) -> Result<bool, SendError> {
    let existing = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io_error(path)(e)),
    };
    let corrupt = |e: csv::Error| SendError::Unavailable(format!("{}: {e}", path.display()));
    let mut rows: Vec<csv::StringRecord> = Vec::new();
    if !existing.is_empty() {
        let mut reader = csv::Reader::from_reader(existing.as_slice());
        for record in reader.records() {
            let record = record.map_err(corrupt)?;
            if record.get(0) == row.first().map(String::as_str) {
                return Ok(false);
            }
            rows.push(record);
        }
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header).map_err(corrupt)?;
    for r in &rows {
        writer.write_record(r).map_err(corrupt)?;
    }
    writer.write_record(row).map_err(corrupt)?;
    let bytes = writer
        .into_inner()
        .map_err(|e| SendError::Unavailable(e.to_string()))?;
    write_atomically(path, &bytes).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_file_names() {
        assert_eq!(safe_name("job-12"), "job-12");
        assert_eq!(safe_name("../x/y z"), "___x_y_z");
    }
}
