//! Helpers shared by the integration tests.

#![allow(dead_code)]

use reachdiff::revision::{Revision, SourceFile};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;

/// A revision from (path, text) pairs, without touching the disk.
pub fn revision(files: &[(&str, &str)]) -> Revision {
    Revision {
        label: "test".into(),
        files: files
            .iter()
            .map(|(p, t)| SourceFile {
                path: p.to_string(),
                text: Arc::from(*t),
            })
            .collect(),
    }
}

/// The `reachdiff` binary built for this test run.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_reachdiff"))
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run reachdiff")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Analyses a fixture file plus one file per policy document.
pub fn try_analyze(
    fixture: &str,
    policies: &[String],
) -> Result<reachdiff::analysis::Analyzed, reachdiff::analysis::Failed> {
    let names: Vec<String> = (0..policies.len())
        .map(|i| format!("policy-{i}.yaml"))
        .collect();
    let mut files: Vec<(&str, &str)> = vec![("fixture.yaml", fixture)];
    for (n, p) in names.iter().zip(policies) {
        files.push((n.as_str(), p.as_str()));
    }
    reachdiff::analysis::analyze(&revision(&files), &reachdiff::analysis::Options::default())
}
