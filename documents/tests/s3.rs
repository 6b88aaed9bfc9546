//! A real S3 protocol server for the tests: s3s-fs over a temp directory, SigV4
//! signatures checked, on port 0. `stop` kills it and every open connection.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::task::JoinHandle;

pub const ACCESS_KEY: &str = "recobro-test";
pub const SECRET_KEY: &str = "recobro-test-secret";
pub const BUCKET: &str = "documents";

pub struct S3Server {
    pub addr: SocketAddr,
    pub root: tempfile::TempDir,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl S3Server {
    pub async fn start() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = b.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let conns = tasks.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let service = service.clone();
                let conn = tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
                conns.lock().unwrap().push(conn);
            }
        });
        tasks.lock().unwrap().push(accept);
        S3Server { addr, root, tasks }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn config(&self) -> documents::S3Config {
        documents::S3Config {
            endpoint: Some(self.endpoint()),
            region: "us-east-1".into(),
            bucket: BUCKET.into(),
            path_style: true,
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some(SECRET_KEY.into()),
        }
    }

    /// The file s3s-fs keeps an object in.
    pub fn object_path(&self, key: &str) -> std::path::PathBuf {
        self.root.path().join(BUCKET).join(key)
    }

    /// Stops listening and drops every connection, as a crashed server would.
    pub fn stop(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A single PUT is sent with an unsigned payload: what binds the bytes is the signed
/// SHA-256 checksum header, so the store must refuse bytes that do not match it, and
/// keep nothing under the key.
#[actix::test]
async fn the_store_refuses_bytes_that_do_not_match_the_checksum() {
    use documents::store::{ObjectStore, S3Store};
    use sha2::{Digest, Sha256};

    let server = S3Server::start().await;
    let store = S3Store::new(&server.config(), 8 << 20, 8 << 20).unwrap();
    let body = bytes::Bytes::from_static(b"%PDF-1.7\nthe filed judgment");
    let mut other: [u8; 32] = Sha256::digest(&body[..]).into();
    other[0] ^= 1;

    let mut w = store.writer("refused").await.unwrap();
    w.write(body.clone()).await.unwrap();
    let refused = w
        .finish(&other)
        .await
        .expect_err("a wrong checksum is refused");
    assert!(refused.to_string().contains("BadDigest"), "{refused}");

    let mut w = store.writer("kept").await.unwrap();
    w.write(body.clone()).await.unwrap();
    w.finish(&Sha256::digest(&body[..]).into()).await.unwrap();
    assert_eq!(store.head("kept").await.unwrap(), Some(body.len() as u64));
}
