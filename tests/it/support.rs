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
