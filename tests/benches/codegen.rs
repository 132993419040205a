//! Benchmark 2 of BENCHMARKS.md: regenerating every provider in memory
//! (spec parsing, progenitor, post-processing, prettyplease), the work
//! `cargo xtask codegen` does besides reading and comparing files. (The
//! benchmark lives here, not in xtask, because `cargo bench` runs the
//! default members and xtask is not one.)

use criterion::{Criterion, criterion_group, criterion_main};

fn codegen(c: &mut Criterion) {
    let root = xtask::workspace_root();
    let manifest = xtask::Manifest::load(&root).expect("specs/providers.toml loads");
    let mut group = c.benchmark_group("codegen");
    group.sample_size(10);
    group.bench_function("all_providers", |b| {
        b.iter(|| {
            for provider in &manifest.providers {
                let out = xtask::generate_provider(&root, provider).expect("spec generates");
                std::hint::black_box(out);
            }
        })
    });
    for provider in &manifest.providers {
        group.bench_function(provider.name.as_str(), |b| {
            b.iter(|| xtask::generate_provider(&root, provider).expect("spec generates"))
        });
    }
    group.finish();
}

criterion_group!(benches, codegen);
criterion_main!(benches);
