//! Writes a synthetic GitOps tree (see `tests/synth`) to a directory.
//!
//! ```text
//! cargo run --release --example generate -- --seed 1 --workloads 10000 --out DIR [--head]
//! ```

#[path = "../tests/synth/mod.rs"]
mod synth;

use std::path::PathBuf;
use std::process::ExitCode;
use synth::SynthOptions;

const USAGE: &str = "usage: generate --out DIR [--seed N] [--workloads N] [--per-namespace N] [--admin-policies N] [--head]";

fn parse() -> Result<(SynthOptions, PathBuf, bool), String> {
    let mut opts = SynthOptions::default();
    let mut out = None;
    let mut head = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{name}: not a number: {v:?}"))
        };
        match a.as_str() {
            "--seed" => opts.seed = number("--seed", value("--seed")?)?,
            "--workloads" => {
                opts.workloads = number("--workloads", value("--workloads")?)? as usize
            }
            "--per-namespace" => {
                opts.workloads_per_namespace =
                    number("--per-namespace", value("--per-namespace")?)? as usize
            }
            "--admin-policies" => {
                opts.admin_policies =
                    number("--admin-policies", value("--admin-policies")?)? as usize
            }
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--head" => head = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let out = out.ok_or_else(|| format!("--out is required\n{USAGE}"))?;
    Ok((opts, out, head))
}

fn main() -> ExitCode {
    let (opts, out, head) = match parse() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let files = if head {
        synth::generate_head(&opts)
    } else {
        synth::generate(&opts)
    };
    let mut bytes = 0usize;
    for (path, text) in &files {
        let p = out.join(path);
        let written = p
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&p, text));
        if let Err(e) = written {
            eprintln!("{}: {e}", p.display());
            return ExitCode::FAILURE;
        }
        bytes += text.len();
    }
    eprintln!(
        "wrote {} files, {} bytes ({:.1} MiB) of {} tree (seed {}, {} workloads) under {}",
        files.len(),
        bytes,
        bytes as f64 / (1024.0 * 1024.0),
        if head { "head" } else { "base" },
        opts.seed,
        opts.workloads,
        out.display()
    );
    ExitCode::SUCCESS
}
