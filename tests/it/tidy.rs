//! Architecture and hygiene rules, checked by machine (ARCHITECTURE.md,
//! "Invariants").

use crate::support::repo_root;
use std::path::{Path, PathBuf};

/// The pure core: no I/O, no environment, no printing, no front ends.
const CORE: &[&str] = &[
    "src/analysis.rs",
    "src/comparison.rs",
    "src/config.rs",
    "src/diag.rs",
    "src/diff.rs",
    "src/revision.rs",
    "src/words.rs",
    "src/synth.rs",
    "src/model",
    "src/manifest",
    "src/reach",
    "src/report",
    "src/review",
    "src/findings",
];

const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::env",
    "std::process",
    "std::net::Tcp",
    "std::net::Udp",
    "std::thread::sleep",
    "Instant::now",
    "SystemTime",
    "println!",
    "eprintln!",
    "print!(",
    "eprint!(",
    "dbg!(",
    "tokio",
    "git2",
    "octocrab",
    "axum",
    "crate::cli",
    "crate::source",
    "crate::ops",
    "crate::app",
    "crate::github",
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
    } else if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            rust_files(&e.path(), out);
        }
    }
}

#[test]
fn the_core_does_no_io_and_knows_no_front_end() {
    let root = repo_root();
    let mut files = Vec::new();
    for c in CORE {
        rust_files(&root.join(c), &mut files);
    }
    assert!(
        files.len() > 20,
        "core files not found under {}",
        root.display()
    );
    let mut problems = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
    {
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(f).expect("read source");
        // Unit tests at the end of a file may read fixtures.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in code.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") {
                continue;
            }
            for bad in FORBIDDEN {
                if line.contains(bad) {
                    problems.push(format!(
                        "{}:{}: {bad}",
                        f.strip_prefix(&root).unwrap_or(f).display(),
                        i + 1
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the core must stay pure:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_fixture_scenario_says_where_it_comes_from() {
    let dir = repo_root().join("fixtures/scenarios");
    let mut missing = Vec::new();
    for e in std::fs::read_dir(&dir)
        .expect("fixtures/scenarios")
        .flatten()
    {
        let case = e.path().join("case.toml");
        let text = std::fs::read_to_string(&case).unwrap_or_default();
        let has = |key: &str| text.lines().any(|l| l.trim_start().starts_with(key));
        if !has("description") || !has("source") || !e.path().join("expected/diff.json").is_file() {
            missing.push(e.path().display().to_string());
        }
    }
    assert!(missing.is_empty(), "incomplete fixtures: {missing:?}");
}

#[test]
fn the_library_forbids_unsafe_code() {
    let lib = std::fs::read_to_string(repo_root().join("src/lib.rs")).expect("lib.rs");
    assert!(lib.contains("#![forbid(unsafe_code)]"));
}
