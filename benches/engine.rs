//! Engine benchmarks on synthetic GitOps trees held in memory
//! (`tests/synth`, seed 1).
//!
//! * `analyze/N`: `analysis::analyze` (parse, decode, atoms, compile) of a
//!   tree of N workloads; the result is dropped outside the timing.
//! * `phases_10000/load` and `phases_10000/compile`: the two halves of
//!   `analyze` at 10,000 workloads (`analysis::load`, then `atoms_for` +
//!   `analyze_loaded`).
//! * `reach_10000/10000_queries`: 10,000 seeded random (src, dst) `reach`
//!   queries on the 10,000-workload analysis (90 % workload to workload,
//!   10 % workload to external atom).
//!
//! `cargo bench --bench engine` runs everything in about three minutes on
//! two cores; append a filter such as `-- analyze/1000` to run less.

use criterion::{
    BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use reachdiff::analysis::{self, Options};
use reachdiff::reach::Endpoint;
use reachdiff::revision::{Revision, SourceFile};
use synth::SynthOptions;

#[path = "../tests/synth/mod.rs"]
mod synth;
use std::hint::black_box;
use std::time::Duration;

const SIZES: &[usize] = &[1_000, 2_000, 4_000, 8_000, 10_000];

fn revision(workloads: usize) -> Revision {
    let opts = SynthOptions {
        seed: 1,
        workloads,
        ..SynthOptions::default()
    };
    Revision::new(
        format!("synth-{workloads}"),
        synth::generate(&opts)
            .into_iter()
            .map(|(path, text)| SourceFile::new(path, text))
            .collect(),
    )
}

fn analyzed(rev: &Revision) -> analysis::Analyzed {
    analysis::analyze(rev, &Options::default()).expect("synthetic tree loads without errors")
}

fn bench_analyze(c: &mut Criterion) {
    let mut group = c.benchmark_group("analyze");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(15));
    for &n in SIZES {
        let rev = revision(n);
        let bytes: usize = rev.files.iter().map(|f| f.text.len()).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &rev, |b, rev| {
            b.iter_with_large_drop(|| analyzed(rev));
        });
    }
    group.finish();
}

fn bench_phases(c: &mut Criterion) {
    let opts = Options::default();
    let rev = revision(10_000);
    let mut group = c.benchmark_group("phases_10000");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("load", |b| {
        b.iter_with_large_drop(|| analysis::load(&rev, &opts).expect("loads"));
    });
    let (inv, diags) = analysis::load(&rev, &opts).expect("loads");
    group.bench_function("compile", |b| {
        b.iter_batched(
            || (inv.clone(), diags.clone()),
            |(inv, diags)| {
                let atoms = analysis::atoms_for([&inv], &opts);
                analysis::analyze_loaded(inv, diags, atoms)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// SplitMix64, so the query set is the same on every run.
fn pairs(workloads: usize, atoms: usize, count: usize) -> Vec<(Endpoint, Endpoint)> {
    let mut state = 0x5EED_u64;
    let mut next = |n: usize| {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((u128::from(z ^ (z >> 31)) * n as u128) >> 64) as usize
    };
    (0..count)
        .map(|_| {
            let src = Endpoint::Workload(next(workloads));
            let dst = if next(10) == 0 {
                Endpoint::Atom(next(atoms))
            } else {
                Endpoint::Workload(next(workloads))
            };
            (src, dst)
        })
        .collect()
}

fn bench_reach(c: &mut Criterion) {
    let a = analyzed(&revision(10_000));
    let queries = pairs(a.analysis.workloads.len(), a.analysis.atoms.len(), 10_000);
    let mut group = c.benchmark_group("reach_10000");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(queries.len() as u64));
    group.bench_function("10000_queries", |b| {
        b.iter(|| {
            let mut open = 0usize;
            for &(src, dst) in &queries {
                if !black_box(a.analysis.reach(src, dst)).is_empty() {
                    open += 1;
                }
            }
            open
        });
    });
    group.finish();
}

criterion_group!(benches, bench_analyze, bench_phases, bench_reach);
criterion_main!(benches);
