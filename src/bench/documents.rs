//! `recobro bench documents`: 1 MiB uploads through `DocumentService` (streamed, hashed,
//! checked, journalled, projected) vs raw `aws-sdk-s3` PutObject of the same bytes to the
//! same in-process S3 server (s3s-fs, SigV4 on) in the same run. Both sides use the
//! same client settings and the same concurrency; rounds alternate so that neither side
//! profits from a warmer disk cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use clap::Args;
use documents::store::S3Store;
use documents::{
    DocumentConfig, DocumentKind, DocumentService, NewDocument, S3Config, StoreConfig,
};
use services::access::{Principal, Role};
use services::clock::SystemClock;
use services::desk::{Desk, NewCase};
use services::runtime::{Runtime, RuntimeConfig};

use super::{BenchDb, Common, verdict_at_least, with_db, workers};

#[derive(Args, Debug)]
pub struct DocumentsArgs {
    #[command(flatten)]
    common: Common,
    /// Files per measurement round and side.
    #[arg(long, default_value_t = 200)]
    files: usize,
    /// File size in KiB.
    #[arg(long, default_value_t = 1024)]
    size_kib: usize,
    /// Concurrent uploads.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Measurement rounds per side (alternating).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

const TARGET: f64 = 0.8;
const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="bench-docs" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:userTask id="Hold"/><bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="Hold"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Hold" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

pub async fn run(mut a: DocumentsArgs) -> anyhow::Result<()> {
    if a.common.quick {
        a.files = a.files.min(16);
        a.rounds = 1;
    }
    let url = a.common.database_url.clone();
    with_db(
        url.as_deref(),
        |bench| async move { measure(&bench, &a).await },
    )
    .await
}

/// An S3 server on its own threads, so it does not compete with the client's.
fn start_s3(root: std::path::PathBuf) -> anyhow::Result<std::net::SocketAddr> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(async move {
            let fs = s3s_fs::FileSystem::new(&root).expect("s3s-fs root");
            let mut b = s3s::service::S3ServiceBuilder::new(fs);
            b.set_auth(s3s::auth::SimpleAuth::from_single("bench", "bench-secret"));
            let service = b.build();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).ok();
            while let Ok((socket, _)) = listener.accept().await {
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                        .await;
                });
            }
        });
    });
    rx.recv_timeout(Duration::from_secs(10))
        .context("the S3 server did not start")
}

/// `files` uploads by `concurrency` workers; returns MiB/s.
async fn timed<F, Fut>(files: usize, concurrency: usize, size: usize, f: F) -> anyhow::Result<f64>
where
    F: Fn(usize) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + 'static,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    workers(concurrency, |_| {
        let (next, f) = (next.clone(), f.clone());
        async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= files {
                    return Ok(());
                }
                f(i).await?;
            }
        }
    })
    .await?;
    Ok((files * size) as f64 / (1024.0 * 1024.0) / started.elapsed().as_secs_f64())
}

async fn measure(bench: &Arc<BenchDb>, a: &DocumentsArgs) -> anyhow::Result<()> {
    bench.print_settings().await?;
    let dir = std::env::temp_dir().join(format!("recobro-bench-s3-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("bench"))?;
    let result = run_sides(bench, a, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_sides(
    bench: &Arc<BenchDb>,
    a: &DocumentsArgs,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let addr = start_s3(dir.to_path_buf())?;
    let s3 = S3Config {
        endpoint: Some(format!("http://{addr}")),
        region: "us-east-1".into(),
        bucket: "bench".into(),
        path_style: true,
        access_key_id: Some("bench".into()),
        secret_access_key: Some("bench-secret".into()),
    };
    let size = a.size_kib * 1024;
    let config = DocumentConfig {
        store: StoreConfig::S3(s3.clone()),
        ..DocumentConfig::default()
    };
    println!(
        "documents: {} files of {} KiB per round and side, {} concurrent, {} rounds, s3s-fs at {addr}",
        a.files, a.size_kib, a.concurrency, a.rounds
    );
    let raw = S3Store::new(&s3, config.multipart_threshold, config.part_size)?;
    let runtime = Runtime::start(
        bench.db.clone(),
        Arc::new(SystemClock),
        RuntimeConfig::default(),
    );
    let admin = Principal::new("bench", "bench", Role::Admin, None, vec![])?;
    let desk = Desk::new(runtime);
    desk.deploy(&admin, "bench-docs.bpmn", MODEL).await?;
    // One case per worker: uploads to one case serialise on its actor by design.
    let mut cases = Vec::new();
    for _ in 0..a.concurrency.max(1) {
        let new = NewCase {
            process_id: "bench-docs".into(),
            ..NewCase::default()
        };
        cases.push(desk.open_case(&admin, new).await?.case_id);
    }
    let docs = DocumentService::new(desk, config)?;
    // Distinct bytes per file (PDF magic first, so the type check passes).
    let files: Arc<Vec<Bytes>> = Arc::new(
        (0..a.files)
            .map(|i| {
                let mut v = b"%PDF-1.7\n".to_vec();
                v.extend((0..size - v.len()).map(|j| (j as u8) ^ (i as u8).wrapping_mul(17)));
                Bytes::from(v)
            })
            .collect(),
    );
    let raw_side = |round: usize| {
        let (raw, files) = (raw.clone(), files.clone());
        move |i: usize| {
            let (raw, body) = (raw.clone(), files[i].clone());
            async move {
                raw.client()
                    .put_object()
                    .bucket(raw.bucket())
                    .key(format!("raw/{round}/{i}"))
                    .body(body.into())
                    .send()
                    .await
                    .context("raw PutObject")?;
                Ok(())
            }
        }
    };
    let recobro_side = || {
        let (docs, files, cases, admin) =
            (docs.clone(), files.clone(), cases.clone(), admin.clone());
        move |i: usize| {
            let (docs, admin) = (docs.clone(), admin.clone());
            let new = NewDocument {
                case_id: cases[i % cases.len()].clone(),
                kind: DocumentKind::Other,
                file_name: format!("file-{i}.pdf"),
                retention_class: None,
                replaces: None,
            };
            let body = files[i].clone();
            async move {
                // Streamed in 64 KiB chunks, as an HTTP body arrives.
                let chunks: Vec<_> = (0..body.len())
                    .step_by(64 * 1024)
                    .map(|o| Ok(body.slice(o..(o + 64 * 1024).min(body.len()))))
                    .collect();
                docs.upload(&admin, new, futures_util::stream::iter(chunks))
                    .await
                    .context("upload through DocumentService")?;
                Ok(())
            }
        }
    };
    // Warm-up: connections, caches, actors.
    let warm = a.files.min(a.concurrency * 2);
    timed(warm, a.concurrency, size, raw_side(usize::MAX)).await?;
    timed(warm, a.concurrency, size, recobro_side()).await?;
    let (mut raw_sum, mut rec_sum) = (0.0, 0.0);
    for round in 0..a.rounds.max(1) {
        let r = timed(a.files, a.concurrency, size, raw_side(round)).await?;
        let d = timed(a.files, a.concurrency, size, recobro_side()).await?;
        println!("round {round}: raw PutObject {r:.1} MiB/s, DocumentService {d:.1} MiB/s");
        raw_sum += r;
        rec_sum += d;
    }
    let rounds = a.rounds.max(1) as f64;
    let (raw_rate, rec_rate) = (raw_sum / rounds, rec_sum / rounds);
    let ratio = rec_rate / raw_rate;
    println!(
        "documents: {rec_rate:.1} MiB/s through Recobro vs {raw_rate:.1} MiB/s raw: ratio {ratio:.3} (target >= {TARGET}: {})",
        verdict_at_least(ratio, TARGET)
    );
    println!(
        "RESULT documents backend={} files={} size_kib={} concurrency={} recobro_mib_s={rec_rate:.1} raw_mib_s={raw_rate:.1} ratio={ratio:.3}",
        bench.backend_name(),
        a.files,
        a.size_kib,
        a.concurrency
    );
    Ok(())
}
