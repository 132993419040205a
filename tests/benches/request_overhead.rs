//! Benchmark 1 of BENCHMARKS.md: the cost of regkit's stack (auth, retry and
//! tracing middleware, bounded body buffering, typed errors) over a plain
//! `reqwest::Client` doing the same GET and decoding the same struct.
//!
//! Criterion times one request (concurrency 1) and a burst of 64 concurrent
//! requests (concurrency 64). A second pass then records every request's
//! latency to report p50/p99 and throughput side by side, with ratios, and
//! the CPU time the client's thread spent per request. The clients' futures
//! all run on the thread that drives the runtime (the server has a runtime
//! of its own), so that last figure is the client's own cost, and it moves
//! far less from run to run than throughput, which depends on how the
//! scheduler interleaves three busy threads on the machine's cores.

mod support;

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header;
use axum::routing::get;
use criterion::{BenchmarkId, Criterion, Throughput};
use regkit_digitalocean::{Client, types::RegistryInfo};

const TOKEN: &str = "dop_v1_benchmark-token";
const BURST: usize = 64;

/// A realistic `GET /v2/registry` answer, pretty-printed to about 1 KB.
fn registry_body() -> String {
    let body = serde_json::json!({
        "registry": {
            "name": "acme-production-images",
            "created_at": "2024-03-14T09:26:53Z",
            "region": "fra1",
            "storage_usage_bytes": 31_457_280_000u64,
            "storage_usage_bytes_updated_at": "2026-11-21T23:59:07Z",
            "subscription": {
                "tier": {
                    "name": "Professional",
                    "slug": "professional",
                    "included_repositories": 0,
                    "included_storage_bytes": 107_374_182_400u64,
                    "allow_storage_overage": true,
                    "included_bandwidth_bytes": 1_099_511_627_776u64,
                    "monthly_price_in_cents": 2000,
                    "storage_overage_price_in_cents": 2
                },
                "created_at": "2024-03-14T09:26:53Z",
                "updated_at": "2025-08-30T17:41:12Z"
            }
        }
    });
    serde_json::to_string_pretty(&body).expect("serialises")
}

struct Setup {
    rt: tokio::runtime::Runtime,
    regkit: Client,
    raw: reqwest::Client,
    url: String,
}

impl Setup {
    fn new() -> Self {
        let body = registry_body();
        let router = Router::new().route(
            "/v2/registry",
            get(move || {
                let body = body.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        );
        let base = support::serve(router);
        let rt = tokio::runtime::Runtime::new().expect("client runtime");
        // Defaults everywhere (auth + retry middleware on); only the base URL
        // points at the loopback server.
        let regkit = Client::builder()
            .base_url(&base)
            .bearer_token(TOKEN)
            .build()
            .expect("regkit client");
        let raw = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client");
        Self {
            rt,
            regkit,
            raw,
            url: format!("{base}/v2/registry"),
        }
    }
}

async fn via_regkit(client: &Client) -> RegistryInfo {
    client
        .registry_get()
        .send()
        .await
        .expect("regkit GET")
        .into_inner()
}

async fn via_reqwest(client: &reqwest::Client, url: &str) -> RegistryInfo {
    client
        .get(url)
        .bearer_auth(TOKEN)
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .expect("reqwest GET")
        .error_for_status()
        .expect("2xx")
        .json()
        .await
        .expect("decodes")
}

fn criterion_runs(c: &mut Criterion, s: &Setup) {
    let mut group = c.benchmark_group("request_overhead");
    for concurrency in [1, BURST] {
        group.throughput(Throughput::Elements(concurrency as u64));
        group.bench_with_input(
            BenchmarkId::new("regkit", concurrency),
            &concurrency,
            |b, &n| {
                b.to_async(&s.rt).iter(|| async {
                    futures::future::join_all((0..n).map(|_| via_regkit(&s.regkit))).await
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("reqwest", concurrency),
            &concurrency,
            |b, &n| {
                b.to_async(&s.rt).iter(|| async {
                    futures::future::join_all((0..n).map(|_| via_reqwest(&s.raw, &s.url))).await
                })
            },
        );
    }
    group.finish();
}

/// Per-request latencies, and the wall time and client-thread CPU time
/// spent issuing them.
#[derive(Default)]
struct Run {
    latencies: Vec<Duration>,
    wall: Duration,
    cpu: Duration,
}

/// CPU time this thread has run for (`CLOCK_THREAD_CPUTIME_ID`, exact to
/// the nanosecond, unlike `/proc`'s per-thread figures, which lag by up
/// to a scheduler tick).
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

impl Run {
    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }
    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }
    fn cpu_per_request(&self) -> Duration {
        self.cpu / self.latencies.len() as u32
    }
}

/// Adds `total` requests issued by `concurrency` workers to `run`.
fn measure_into<F, Fut>(s: &Setup, run: &mut Run, concurrency: usize, total: usize, call: F)
where
    F: Fn() -> Fut + Sync,
    Fut: std::future::Future<Output = RegistryInfo>,
{
    let cpu = thread_cpu();
    s.rt.block_on(async {
        let per_worker = total / concurrency;
        let started = Instant::now();
        let workers = (0..concurrency).map(|_| async {
            let mut latencies = Vec::with_capacity(per_worker);
            for _ in 0..per_worker {
                let t = Instant::now();
                std::hint::black_box(call().await);
                latencies.push(t.elapsed());
            }
            latencies
        });
        run.latencies
            .extend(futures::future::join_all(workers).await.concat());
        run.wall += started.elapsed();
    });
    run.cpu += thread_cpu().saturating_sub(cpu);
}

/// Rounds alternate between the two clients, so a noisy neighbour slows
/// both alike and the ratios hold.
const ROUNDS: usize = 20;

fn latency_table(s: &Setup) {
    println!(
        "\nrequest_overhead: per-request latency and throughput (loopback, {} byte JSON body)",
        registry_body().len()
    );
    println!(
        "{:>11}  {:>8}  {:>10}  {:>10}  {:>12}  {:>12}",
        "concurrency", "client", "p50", "p99", "requests/s", "CPU/request"
    );
    for (concurrency, per_round) in [(1, 250), (BURST, 1_280)] {
        let (mut regkit, mut raw) = (Run::default(), Run::default());
        // Warm both connection pools.
        measure_into(s, &mut Run::default(), concurrency, concurrency, || {
            via_regkit(&s.regkit)
        });
        measure_into(s, &mut Run::default(), concurrency, concurrency, || {
            via_reqwest(&s.raw, &s.url)
        });
        for _ in 0..ROUNDS {
            measure_into(s, &mut regkit, concurrency, per_round, || {
                via_regkit(&s.regkit)
            });
            measure_into(s, &mut raw, concurrency, per_round, || {
                via_reqwest(&s.raw, &s.url)
            });
        }
        for (name, run) in [("regkit", &regkit), ("reqwest", &raw)] {
            println!(
                "{concurrency:>11}  {name:>8}  {:>10.1?}  {:>10.1?}  {:>12.0}  {:>12.2?}",
                run.percentile(0.50),
                run.percentile(0.99),
                run.throughput(),
                run.cpu_per_request()
            );
        }
        println!(
            "{concurrency:>11}  {:>8}  {:>10.3}  {:>10.3}  {:>12.3}  {:>12.3}",
            "ratio",
            regkit.percentile(0.50).as_secs_f64() / raw.percentile(0.50).as_secs_f64(),
            regkit.percentile(0.99).as_secs_f64() / raw.percentile(0.99).as_secs_f64(),
            regkit.throughput() / raw.throughput(),
            regkit.cpu.as_secs_f64() / raw.cpu.as_secs_f64()
        );
    }
}

fn main() {
    let setup = Setup::new();
    let mut criterion = Criterion::default().configure_from_args();
    criterion_runs(&mut criterion, &setup);
    criterion.final_summary();
    // `cargo test --benches` runs each benchmark once as a smoke test; the
    // latency table is for real runs only.
    if std::env::args().any(|a| a == "--bench") {
        latency_table(&setup);
    }
}
