//! A real SMTP server for the tests: aiosmtpd, run by `tests/smtp_server.py` on a free
//! port, with a certificate from the test's own CA.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The aiosmtpd version `.ci/run` installs.
pub const AIOSMTPD: &str = "aiosmtpd==1.4.6";
/// How long the server may take to start (Python and aiosmtpd import, on a busy machine).
const START_DEADLINE: Duration = Duration::from_secs(30);

pub const USER: &str = "recobro";
pub const PASSWORD: &str = "s3cret-for-tests";

pub struct SmtpServer {
    pub port: u16,
    /// The PEM of the CA that signed the server's certificate.
    pub ca: PathBuf,
    dir: tempfile::TempDir,
    _child: Child,
}

/// One message as the server stored it: envelope, TLS, login, decoded headers and text.
pub type Received = Value;

impl SmtpServer {
    /// Starts a server speaking `security` (`none`, `starttls`, `tls`), requiring a
    /// login as [`USER`] when `login` is set.
    pub async fn start(security: &str, login: bool) -> SmtpServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("mail");
        std::fs::create_dir_all(&maildir).unwrap();
        let (ca, cert, key) = certificates(dir.path());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
        let stderr_path = dir.path().join("stderr.txt");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(&script)
            .arg("--maildir")
            .arg(&maildir)
            .args(["--security", security])
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key);
        if login {
            cmd.args(["--user", USER, "--password", PASSWORD]);
        }
        // stdin stays open while this process lives: the server stops when it closes.
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the test SMTP server: install Python 3");
        let stdout = child.stdout.take().unwrap();
        let first =
            tokio::time::timeout(START_DEADLINE, BufReader::new(stdout).lines().next_line()).await;
        let port = match &first {
            Ok(Ok(Some(line))) => line
                .strip_prefix("LISTENING ")
                .and_then(|p| p.trim().parse::<u16>().ok()),
            _ => None,
        };
        let Some(port) = port else {
            let _ = child.start_kill();
            let _ = child.wait().await;
            let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            panic!(
                "the test SMTP server did not start ({first:?}): {err}\n\
                 The e-mail tests need aiosmtpd: run `python3 -m pip install {AIOSMTPD}`"
            );
        };
        SmtpServer {
            port,
            ca,
            dir,
            _child: child,
        }
    }

    /// Every message accepted so far, in order.
    pub fn received(&self) -> Vec<Received> {
        let maildir = self.dir.path().join("mail");
        let mut numbered: Vec<(u32, PathBuf)> = std::fs::read_dir(&maildir)
            .unwrap()
            .filter_map(|e| {
                let path = e.ok()?.path();
                let n = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()?;
                Some((n, path))
            })
            .collect();
        numbered.sort();
        numbered
            .into_iter()
            .map(|(_, p)| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }
}

/// A CA and a server certificate for 127.0.0.1 and localhost it signed; answers the
/// paths of the CA's PEM, the certificate's and its key's.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Recobro test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "recobro-test-smtp");
    leaf.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, leaf_cert.pem()).unwrap();
    std::fs::write(&paths.2, leaf_key.serialize_pem()).unwrap();
    paths
}
