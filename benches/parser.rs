//! Loader benchmarks, one per input shape (`reachdiff::shapes`), held in
//! memory:
//!
//! * `load/SHAPE`: `manifest::load` of about 1 MB of the shape (throughput
//!   in bytes, so criterion prints MB/s);
//! * `load_8mb/SHAPE`: the same at 8 MB, whose MB/s must stay close to the
//!   1 MB figure (linear loading, issue 16);
//! * `refuse/SHAPE`: how long a hostile shape takes to be refused.
//!
//! `cargo bench --bench parser` runs everything in a few minutes; append a
//! filter such as `-- load/many-keys` to run less. The 1 KB to 64 MB curve,
//! with memory, comes from `cargo run --release --example shapes -- check`.

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use reachdiff::manifest::{self, LoadOptions};
use reachdiff::revision::{Revision, SourceFile};
use reachdiff::shapes::Shape;
use std::hint::black_box;
use std::time::Duration;

fn revision(text: String) -> Revision {
    Revision::new("shape", vec![SourceFile::new("shape.yaml", text)])
}

fn load_group(c: &mut Criterion, group: &str, bytes: usize) {
    let mut g = c.benchmark_group(group);
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    for shape in Shape::ALL.into_iter().filter(|s| !s.refused()) {
        let rev = revision(shape.generate(bytes));
        g.throughput(Throughput::Bytes(rev.files[0].text.len() as u64));
        g.bench_function(shape.name(), |b| {
            b.iter(|| black_box(manifest::load(&rev, &LoadOptions::default())));
        });
    }
    g.finish();
}

fn load(c: &mut Criterion) {
    load_group(c, "load", 1_000_000);
    load_group(c, "load_8mb", 8_000_000);
}

fn refuse(c: &mut Criterion) {
    let mut g = c.benchmark_group("refuse");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for shape in Shape::ALL.into_iter().filter(|s| s.refused()) {
        let rev = revision(shape.generate(1_000_000));
        g.bench_function(shape.name(), |b| {
            b.iter(|| {
                let (_, diags) = manifest::load(&rev, &LoadOptions::default());
                assert!(
                    diags.iter().any(|d| d.is_error()),
                    "{} loaded",
                    shape.name()
                );
                black_box(diags)
            });
        });
    }
    g.finish();
}

criterion_group!(benches, load, refuse);
criterion_main!(benches);
