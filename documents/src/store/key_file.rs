//! The local store's URL signing key, kept in `<documents dir>/.signing-key`: a key drawn
//! afresh at every start would break every link handed out before a restart, and nodes
//! sharing the directory would not accept each other's links.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// File name under the documents directory; the store's listing leaves it out, so the
/// sweeper never takes it for a stray object.
pub const KEY_FILE: &str = ".signing-key";

/// Key length in bytes (HMAC-SHA256's output length).
const KEY_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the signing key file {} is unusable: {reason}", path.display())]
pub struct KeyFileError {
    pub path: PathBuf,
    pub reason: String,
}

/// The key given in configuration, or the one kept in a documents directory.
#[derive(Debug)]
pub struct SigningKey {
    dir: Option<PathBuf>,
    key: OnceLock<Vec<u8>>,
}

impl SigningKey {
    pub fn fixed(key: Vec<u8>) -> Self {
        SigningKey {
            dir: None,
            key: OnceLock::from(key),
        }
    }

    /// Reads the key file now if there is one, so a bad file stops the start. A missing
    /// one is created on first use: a server that never handles a document (say, on
    /// PostgreSQL with S3 unset) leaves no data directory behind.
    pub fn in_dir(dir: &Path) -> Result<Self, KeyFileError> {
        let key = OnceLock::new();
        if let Some(k) = read(&dir.join(KEY_FILE))? {
            let _ = key.set(k);
        }
        Ok(SigningKey {
            dir: Some(dir.to_path_buf()),
            key,
        })
    }

    pub fn get(&self) -> Result<&[u8], KeyFileError> {
        if let Some(k) = self.key.get() {
            return Ok(k);
        }
        let dir = self.dir.as_deref().unwrap_or(Path::new("."));
        // Callers racing here all end up with the file's one key (see `create`).
        let k = load_or_create(dir)?;
        Ok(self.key.get_or_init(|| k))
    }
}

/// Reads the key, creating it (0600, hex) if there is none.
pub fn load_or_create(dir: &Path) -> Result<Vec<u8>, KeyFileError> {
    let path = dir.join(KEY_FILE);
    match read(&path)? {
        Some(k) => Ok(k),
        None => create(dir, &path),
    }
}

fn read(path: &Path) -> Result<Option<Vec<u8>>, KeyFileError> {
    match fs::read_to_string(path) {
        Ok(text) => parse(path, &text).map(Some),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(unusable(path, e.to_string())),
    }
}

fn parse(path: &Path, text: &str) -> Result<Vec<u8>, KeyFileError> {
    let key = hex::decode(text.trim()).map_err(|e| unusable(path, format!("not hex: {e}")))?;
    if key.len() < KEY_LEN {
        return Err(unusable(
            path,
            format!("{} bytes, at least {KEY_LEN} needed", key.len()),
        ));
    }
    Ok(key)
}

/// Writes a new key under a temporary name and links it into place, so a process
/// starting at the same moment either wins or reads the complete winner, never half a
/// file.
fn create(dir: &Path, path: &Path) -> Result<Vec<u8>, KeyFileError> {
    let io = |e: std::io::Error| unusable(path, e.to_string());
    fs::create_dir_all(dir).map_err(io)?;
    let key: Vec<u8> = (0..KEY_LEN.div_ceil(16))
        .flat_map(|_| uuid::Uuid::new_v4().into_bytes())
        .collect();
    let tmp = dir.join(format!("{KEY_FILE}.{}", uuid::Uuid::new_v4()));
    let written = write_private(&tmp, format!("{}\n", hex::encode(&key)).as_bytes())
        .and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let text = fs::read_to_string(path).map_err(io)?;
            parse(path, &text)
        }
        Err(e) => Err(io(e)),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn unusable(path: &Path, reason: String) -> KeyFileError {
    KeyFileError {
        path: path.to_path_buf(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_on_first_use_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let docs = dir.path().join("documents");
        let lazy = SigningKey::in_dir(&docs).unwrap();
        assert!(!docs.exists(), "nothing written before the key is needed");
        let key = lazy.get().unwrap().to_vec();
        assert_eq!(key.len(), KEY_LEN);
        assert_eq!(lazy.get().unwrap(), key.as_slice());
        let restarted = SigningKey::in_dir(&docs).unwrap();
        assert_eq!(
            restarted.get().unwrap(),
            key.as_slice(),
            "the same after a restart"
        );
        assert_eq!(load_or_create(&docs).unwrap(), key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(docs.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let left: Vec<_> = fs::read_dir(&docs).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn a_short_or_garbled_key_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        for text in [
            "00ff\n",
            "not a key at all, not even hex, but long enough....\n",
        ] {
            fs::write(&path, text).unwrap();
            let e = SigningKey::in_dir(dir.path()).unwrap_err();
            assert_eq!(e.path, path, "{e}");
            assert!(load_or_create(dir.path()).is_err());
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_unreadable_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: unreadable as a file, even for root.
        fs::create_dir(dir.path().join(KEY_FILE)).unwrap();
        assert!(SigningKey::in_dir(dir.path()).is_err());
        assert!(load_or_create(dir.path()).is_err());
    }
}
