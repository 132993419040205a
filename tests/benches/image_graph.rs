//! Benchmark 6 of BENCHMARKS.md: a retention plan over the image graph.
//!
//! The emulator (in this process) holds REPOS repositories × TAGS tags on
//! DigitalOcean, every tag a two-platform index with a signature (four
//! manifests a tag; 50 × 1 000 by default, 200 000 manifests), pushed
//! through regkit-oci. The plan reads every repository's graph through the
//! data plane at concurrency 8, then sequentially, in one run; the heap's
//! peak growth during each plan, per manifest, is the memory figure (it
//! counts the emulator's answers too: an upper bound).
//!
//! ```sh
//! cargo bench -p regkit-tests --bench image_graph
//! REGKIT_BENCH_REPOS=5 REGKIT_BENCH_TAGS=200 cargo bench -p regkit-tests --bench image_graph
//! ```

use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt as _;
use peak_alloc::PeakAlloc;
use regkit_emulator::Provider;
use regkit_oci::manifest::{OCI_INDEX, OCI_MANIFEST};
use regkit_tests::registry::OnEmulator;
use regkit_workflows::graph::GraphReader;
use regkit_workflows::providers;
use regkit_workflows::retention::{self, Rules};
use serde_json::json;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn descriptor(media: &str, bytes: &[u8]) -> serde_json::Value {
    json!({"mediaType": media, "digest": regkit_oci::digest::sha256(bytes), "size": bytes.len()})
}

/// Pushes one tag: two platforms, their index (tagged), a signature.
async fn push_tag(c: &regkit_oci::Client, name: &str, tag: &str, layer: &serde_json::Value) {
    let mut platforms = Vec::new();
    for arch in ["amd64", "arm64"] {
        let config = json!({"architecture": arch, "os": "linux", "tag": tag}).to_string();
        c.push_blob(name, Bytes::from(config.clone()))
            .await
            .unwrap();
        let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": descriptor("application/vnd.oci.image.config.v1+json", config.as_bytes()),
            "layers": [layer]})
        .to_string();
        let digest = c
            .put_manifest(
                name,
                &regkit_oci::digest::sha256(manifest.as_bytes()),
                OCI_MANIFEST,
                Bytes::from(manifest.clone()),
            )
            .await
            .unwrap();
        platforms.push(
            json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": manifest.len(),
            "platform": {"architecture": arch, "os": "linux"}}),
        );
    }
    let index =
        json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": platforms}).to_string();
    let index_digest = c
        .put_manifest(name, tag, OCI_INDEX, Bytes::from(index.clone()))
        .await
        .unwrap();
    let signature = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.signature",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": regkit_oci::digest::sha256(b"{}"), "size": 2},
        "layers": [layer],
        "subject": {"mediaType": OCI_INDEX, "digest": index_digest, "size": index.len()}})
    .to_string();
    c.put_manifest(
        name,
        &regkit_oci::digest::sha256(signature.as_bytes()),
        OCI_MANIFEST,
        Bytes::from(signature),
    )
    .await
    .unwrap();
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --benches`: nothing to time.
        return;
    }
    let repos = env("REGKIT_BENCH_REPOS", 50);
    let tags = env("REGKIT_BENCH_TAGS", 1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let emu = regkit_tests::registry::emulator().await;
        let site = regkit_tests::registry::site(&emu, Provider::DigitalOcean).await;
        let client = regkit_oci::Client::builder(site.host.clone())
            .login(Some(regkit_oci::Login::new(
                site.write.user.clone(),
                site.write.password.clone(),
            )))
            .build()
            .unwrap();
        let started = Instant::now();
        let layer_bytes = vec![7u8; 4096];
        let layer = descriptor("application/vnd.oci.image.layer.v1.tar", &layer_bytes);
        for r in 0..repos {
            let name = format!("reg/app{r:02}");
            client.push_blob(&name, Bytes::from(layer_bytes.clone())).await.unwrap();
            client.push_blob(&name, Bytes::from_static(b"{}")).await.unwrap();
            futures::stream::iter(0..tags)
                .for_each_concurrent(32, |t| {
                    let (client, name, layer) = (&client, &name, &layer);
                    async move { push_tag(client, name, &format!("t{t:05}"), layer).await }
                })
                .await;
        }
        let manifests = repos * tags * 4;
        println!(
            "pushed {repos} repositories × {tags} tags ({manifests} manifests) in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let account = providers::account(
            regkit_core::Provider::DigitalOcean,
            None,
            &OnEmulator(&emu),
        )
        .unwrap();
        let view = account.view();
        let registry = view.registries().await.unwrap().remove(0);
        let rules = Rules::new().keep_newest(100);
        let now = emu.clock().now();
        let mut rows = Vec::new();
        for concurrency in [8, 1] {
            let reader = GraphReader::new(client.clone()).concurrency(concurrency);
            HEAP.reset_peak_usage();
            let base = HEAP.current_usage();
            let t = Instant::now();
            let plan = retention::plan_with_graph(view.as_ref(), &registry, &rules, now, &reader)
                .await
                .unwrap();
            let secs = t.elapsed().as_secs_f64();
            let peak = HEAP.peak_usage().saturating_sub(base);
            assert!(plan.blocked.is_empty());
            rows.push((concurrency, secs, peak, plan.totals.tags_deleted, plan.totals.manifests_deleted));
        }
        println!("| concurrency | wall time | manifests/s | peak heap growth | per manifest | tags / manifests to delete |");
        println!("|---:|---:|---:|---:|---:|---:|");
        for (c, secs, peak, t, m) in &rows {
            println!(
                "| {c} | {secs:.1} s | {:.0} | {:.1} MiB | {:.0} B | {t} / {m} |",
                manifests as f64 / secs,
                *peak as f64 / 1048576.0,
                *peak as f64 / manifests as f64
            );
        }
        println!("concurrency 8 against sequential: {:.2}× faster", rows[1].1 / rows[0].1);
    });
}
