//! Benchmark 3 of BENCHMARKS.md: auto-pagination throughput and memory.
//!
//! A loopback server serves DigitalOcean tag pages of 100 (the registry name
//! says how many tags exist: `n100000`). Criterion times streaming 10 000 and
//! 100 000 tags; a second pass reports the peak heap growth of each walk,
//! which must not grow with the number of items: the stream holds one page
//! at a time and nothing accumulates.

mod support;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::header;
use axum::routing::get;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use futures::TryStreamExt;
use peak_alloc::PeakAlloc;
use regkit_digitalocean::Client;
use regkit_digitalocean::types::RepositoryTagList;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const PAGE_SIZE: u64 = 100;
const SIZES: [u64; 2] = [10_000, 100_000];

/// `GET /v2/registry/n<total>/repositories/<repo>/tags?page=&per_page=`.
async fn tags_page(
    Path((registry, repository)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> impl axum::response::IntoResponse {
    let total: u64 = registry.trim_start_matches('n').parse().unwrap_or(0);
    let page: u64 = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let per_page: u64 = query
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(20);
    let first = (page - 1) * per_page;
    let tags: Vec<_> = (first..(first + per_page).min(total))
        .map(|i| {
            serde_json::json!({
                "registry_name": registry,
                "repository": repository,
                "tag": format!("build-{i}"),
                "manifest_digest": format!("sha256:{i:064x}"),
                "compressed_size_bytes": 2_789_669u64 + i,
                "size_bytes": 5_861_888u64 + i,
                "updated_at": "2026-11-20T14:03:11Z"
            })
        })
        .collect();
    let mut body = serde_json::json!({"tags": tags, "meta": {"total": total}});
    if first + per_page < total {
        body["links"] = serde_json::json!({"pages": {"next": format!(
            "https://api.digitalocean.com/v2/registry/{registry}/repositories/{repository}/tags?page={}&per_page={per_page}",
            page + 1
        )}});
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

/// The same walk written by hand: reqwest, serde into the same generated
/// page type, and the next page read straight off `links.pages.next`.
async fn walk_by_hand(http: &reqwest::Client, base: &str, total: u64) -> u64 {
    let url = format!("{base}/v2/registry/n{total}/repositories/team%2Fapi/tags");
    let mut page = 1u64;
    let mut seen = 0u64;
    loop {
        let body: RepositoryTagList = http
            .get(&url)
            .bearer_auth("dop_v1_benchmark-token")
            .query(&[("page", page), ("per_page", PAGE_SIZE)])
            .send()
            .await
            .expect("page arrives")
            .error_for_status()
            .expect("200")
            .json()
            .await
            .expect("page decodes");
        for tag in body.tags {
            std::hint::black_box(tag);
            seen += 1;
        }
        let next = body
            .links
            .and_then(|l| l.pages)
            .and_then(|p| p.next)
            .and_then(|next| reqwest::Url::parse(&next).ok())
            .and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "page")
                    .and_then(|(_, v)| v.parse().ok())
            });
        match next {
            Some(n) => page = n,
            None => return seen,
        }
    }
}

async fn walk(client: &Client, total: u64) -> u64 {
    let registry = format!("n{total}");
    client
        .registry_list_repository_tags()
        .registry_name(registry.as_str())
        .repository_name("team/api")
        .per_page(std::num::NonZeroU64::new(PAGE_SIZE).expect("non-zero"))
        .stream()
        .try_fold(0u64, |n, tag| async move {
            std::hint::black_box(tag);
            Ok(n + 1)
        })
        .await
        .expect("walk succeeds")
}

fn main() {
    let base = support::serve(Router::new().route(
        "/v2/registry/{registry}/repositories/{repository}/tags",
        get(tags_page),
    ));
    let rt = tokio::runtime::Runtime::new().expect("client runtime");
    let client = Client::builder()
        .base_url(&base)
        .bearer_token("dop_v1_benchmark-token")
        .build()
        .expect("client");

    let http = reqwest::Client::new();

    let mut criterion = Criterion::default()
        .sample_size(10)
        .measurement_time(std::time::Duration::from_secs(20))
        .configure_from_args();
    let mut group = criterion.benchmark_group("pagination");
    // Each iteration is a whole walk (up to 1 000 requests): sample flat.
    group.sampling_mode(SamplingMode::Flat);
    for total in SIZES {
        group.throughput(Throughput::Elements(total));
        group.bench_with_input(
            BenchmarkId::new("stream_tags", total),
            &total,
            |b, &total| b.to_async(&rt).iter(|| walk(&client, total)),
        );
        group.bench_with_input(
            BenchmarkId::new("by_hand_tags", total),
            &total,
            |b, &total| b.to_async(&rt).iter(|| walk_by_hand(&http, &base, total)),
        );
    }
    group.finish();
    criterion.final_summary();

    if std::env::args().any(|a| a == "--bench") {
        emulator_listing(&rt);

        // regkit's stream against the hand-written walk, alternating in
        // rounds so a busy neighbour slows both alike.
        const ROUNDS: usize = 10;
        const ITEMS: u64 = 100_000;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let t = std::time::Instant::now();
            assert_eq!(rt.block_on(walk(&client, ITEMS)), ITEMS);
            ours.push(ITEMS as f64 / t.elapsed().as_secs_f64());
            let t = std::time::Instant::now();
            assert_eq!(rt.block_on(walk_by_hand(&http, &base, ITEMS)), ITEMS);
            theirs.push(ITEMS as f64 / t.elapsed().as_secs_f64());
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (a, b) = (median(&mut ours), median(&mut theirs));
        println!(
            "\npagination: {ITEMS} tags in pages of {PAGE_SIZE}, {ROUNDS} alternating rounds (median items/s)"
        );
        println!("{:>22}  {:>10}", "regkit stream()", format!("{a:.0}"));
        println!("{:>22}  {:>10}", "reqwest + serde walk", format!("{b:.0}"));
        println!("{:>22}  {:>10.2}", "regkit / by hand", a / b);

        println!("\npagination: peak heap growth while streaming (pages of {PAGE_SIZE})");
        println!(
            "{:>8}  {:>7}  {:>14}  {:>10}",
            "items", "pages", "peak growth", "items/s"
        );
        for total in SIZES {
            let baseline = HEAP.current_usage();
            HEAP.reset_peak_usage();
            let started = std::time::Instant::now();
            let seen = rt.block_on(walk(&client, total));
            let elapsed = started.elapsed();
            assert_eq!(seen, total, "every tag arrives once");
            let growth = HEAP.peak_usage().saturating_sub(baseline);
            println!(
                "{total:>8}  {:>7}  {:>10.1} KiB  {:>10.0}",
                total / PAGE_SIZE,
                growth as f64 / 1024.0,
                total as f64 / elapsed.as_secs_f64()
            );
        }
    }
}

/// The emulator serving a 100 000-tag DigitalOcean listing to `stream()`
/// (pages of 200, DigitalOcean's largest), and what seeded content costs in
/// memory per tag.
fn emulator_listing(rt: &tokio::runtime::Runtime) {
    const TAGS: usize = 100_000;
    rt.block_on(async {
        let emu = regkit_emulator::Emulator::start()
            .await
            .expect("emulator starts");
        let before = HEAP.current_usage();
        emu.seed(|world, ids, now| {
            let state = &mut world.digitalocean;
            state
                .create_registry(
                    "bench",
                    None,
                    Some(regkit_emulator::providers::digitalocean::Tier::Professional),
                    now,
                )
                .expect("registry");
            // ContentGen adds `latest`: TAGS - 1 versions make TAGS tags.
            state
                .seed_repository("bench", "team/api", TAGS - 1, ids, now)
                .expect("repository");
        });
        let per_tag = HEAP.current_usage().saturating_sub(before) as f64 / TAGS as f64;
        let client = emu.digitalocean();
        let mut rates = Vec::new();
        for _ in 0..3 {
            let started = std::time::Instant::now();
            let seen = client
                .registries_list_repository_tags()
                .registry_name("bench")
                .repository_name("team/api")
                .per_page(std::num::NonZeroU64::new(200).expect("non-zero"))
                .stream()
                .try_fold(0usize, |n, tag| async move {
                    std::hint::black_box(tag);
                    Ok(n + 1)
                })
                .await
                .expect("walk succeeds");
            assert_eq!(seen, TAGS, "every tag arrives once");
            rates.push(TAGS as f64 / started.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "\nemulator: {TAGS} DigitalOcean tags through stream(), pages of 200 (median of 3)"
        );
        println!("{:>22}  {:>10.0}", "items/s", rates[1]);
        println!("{:>22}  {:>10.0}", "bytes per seeded tag", per_tag);
    });
}
