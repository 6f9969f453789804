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

/// An empty file for `GIT_CONFIG_GLOBAL`, so the user's configuration
/// cannot change what the tests build (not /dev/null, which a sandbox may
/// have replaced with a regular file).
pub fn empty_git_config() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reachdiff-empty-gitconfig");
    if std::fs::metadata(&p).map(|m| m.len() != 0).unwrap_or(true) {
        std::fs::write(&p, "").expect("write empty git config");
    }
    p
}

/// Runs `git` in `dir` with a fixed identity and no user or system config;
/// panics with git's message on failure; returns trimmed stdout.
pub fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_CONFIG_GLOBAL", empty_git_config())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}
