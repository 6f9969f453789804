//! Loads and analyses one directory, answers a few reach queries and prints
//! phase timings to stderr: the peak-RSS probe of `.ci/bench.sh`.
//!
//! ```text
//! cargo run --release --example analyze_only -- DIR [--queries N] [--diagnostics]
//! ```

use reachdiff::analysis::{self, Options};
use reachdiff::reach::Endpoint;
use reachdiff::source::fs::{PathStyle, read_paths};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut dir = None;
    let mut queries = 10_000usize;
    let mut show_diagnostics = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--queries" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => queries = n,
                None => {
                    eprintln!("--queries needs a number");
                    return ExitCode::from(2);
                }
            },
            "--diagnostics" => show_diagnostics = true,
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            other => {
                eprintln!(
                    "usage: analyze_only DIR [--queries N] [--diagnostics] (unexpected {other:?})"
                );
                return ExitCode::from(2);
            }
        }
    }
    let Some(dir) = dir else {
        eprintln!("usage: analyze_only DIR [--queries N] [--diagnostics]");
        return ExitCode::from(2);
    };
    let opts = Options::default();

    let t0 = Instant::now();
    let rev = match read_paths("base", &[dir], PathStyle::AsGiven) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let bytes: usize = rev.files.iter().map(|f| f.text.len()).sum();
    let t_read = t0.elapsed();

    let t1 = Instant::now();
    let (inv, diags) = match analysis::load(&rev, &opts) {
        Ok(x) => x,
        Err(f) => {
            for d in f.errors().take(10) {
                eprintln!("{d}");
            }
            return ExitCode::FAILURE;
        }
    };
    let t_load = t1.elapsed();

    let t2 = Instant::now();
    let atoms = analysis::atoms_for([&inv], &opts);
    let t_atoms = t2.elapsed();

    let t3 = Instant::now();
    let a = analysis::analyze_loaded(inv, diags, atoms);
    let t_compile = t3.elapsed();

    // Deterministic pseudo-random pairs (SplitMix64).
    let t4 = Instant::now();
    let mut state = 0x5EED_u64;
    let mut next = |n: usize| {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (((z ^ (z >> 31)) as u128 * n as u128) >> 64) as usize
    };
    let nw = a.analysis.workloads.len();
    let mut allowed = 0usize;
    if nw > 0 {
        for _ in 0..queries {
            let src = Endpoint::Workload(next(nw));
            let dst = Endpoint::Workload(next(nw));
            if !a.analysis.reach(src, dst).is_empty() {
                allowed += 1;
            }
        }
    }
    let t_queries = t4.elapsed();
    let total = t0.elapsed();

    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "files={} bytes={} workloads={} namespaces={} policies={} rules={} atoms={} diagnostics={}",
        rev.files.len(),
        bytes,
        nw,
        a.analysis.namespaces.len(),
        a.analysis.policies.len(),
        a.analysis.rules.len(),
        a.analysis.atoms.len(),
        a.diagnostics.len()
    );
    eprintln!(
        "timings_ms read={:.1} load={:.1} atoms={:.1} compile={:.1} load+analysis={:.1} queries({queries}, {allowed} allowed)={:.1} total={:.1}",
        ms(t_read),
        ms(t_load),
        ms(t_atoms),
        ms(t_compile),
        ms(t_load + t_atoms + t_compile),
        ms(t_queries),
        ms(total)
    );
    if show_diagnostics {
        // Counts per code, then the first few of each.
        let mut by_code: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for d in &a.diagnostics {
            by_code
                .entry(d.code.as_str())
                .or_default()
                .push(d.to_string());
        }
        for (code, list) in by_code {
            eprintln!("{code}: {}", list.len());
            for d in list.iter().take(3) {
                eprintln!("  {d}");
            }
        }
    }
    ExitCode::SUCCESS
}
