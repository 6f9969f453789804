//! Helpers shared by the integration tests.

#![allow(dead_code)]

use reachdiff::revision::{Revision, SourceFile};
use std::path::PathBuf;
use std::process::{Command, Output};

/// A revision from (path, text) pairs, without touching the disk.
pub fn revision(files: &[(&str, &str)]) -> Revision {
    Revision::new(
        "test",
        files.iter().map(|(p, t)| SourceFile::new(*p, *t)).collect(),
    )
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

/// A connection set written for people: `all`, `none`, `TCP 80, UDP`,
/// `SCTP 80-81`, or `all - TCP 80` (everything but those).
pub fn cs(text: &str) -> reachdiff::model::ConnSet {
    let text = text.trim();
    match text {
        "all" => return reachdiff::model::ConnSet::all(),
        "none" => return reachdiff::model::ConnSet::empty(),
        _ => {}
    }
    if let Some(rest) = text.strip_prefix("all -") {
        return reachdiff::model::ConnSet::all().difference(&cs(rest));
    }
    let mut c = reachdiff::model::ConnSet::empty();
    for item in text.split(',') {
        let mut words = item.split_whitespace();
        let proto = words
            .next()
            .and_then(reachdiff::model::Protocol::parse)
            .unwrap_or_else(|| panic!("bad protocol in {item:?}"));
        let ports = match words.next() {
            None => reachdiff::model::PortSet::all(),
            Some(w) => {
                let (lo, hi) = w.split_once('-').unwrap_or((w, w));
                reachdiff::model::PortSet::range(
                    lo.parse().expect("port"),
                    hi.parse().expect("port"),
                )
            }
        };
        assert!(words.next().is_none(), "trailing words in {item:?}");
        c.add(proto, &ports);
    }
    c
}

/// Copies a directory tree.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("dir entry");
        let dst = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            std::fs::create_dir_all(&dst).expect("create dir");
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).expect("copy file");
        }
    }
}

/// Replaces everything in `repo`'s work tree except `.git` with `tree`.
pub fn replace_work_tree(repo: &std::path::Path, tree: &std::path::Path) {
    for e in std::fs::read_dir(repo).expect("read repo") {
        let e = e.expect("dir entry");
        if e.file_name() == ".git" {
            continue;
        }
        if e.file_type().expect("file type").is_dir() {
            std::fs::remove_dir_all(e.path()).expect("remove dir");
        } else {
            std::fs::remove_file(e.path()).expect("remove file");
        }
    }
    copy_dir(tree, repo);
}

/// A side (`base` or `head`) of a fixture scenario.
pub fn scenario(name: &str, side: &str) -> PathBuf {
    repo_root().join("fixtures/scenarios").join(name).join(side)
}

/// Replaces the work tree of `repo` with `tree` (plus `extra` files) and
/// commits; returns the commit id.
pub fn commit(
    repo: &std::path::Path,
    tree: &std::path::Path,
    extra: &[(&str, &str)],
    msg: &str,
) -> String {
    replace_work_tree(repo, tree);
    for (p, t) in extra {
        std::fs::write(repo.join(p), t).expect("write an extra file");
    }
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "--allow-empty", "-m", msg]);
    git(repo, &["rev-parse", "HEAD"])
}

/// Says that a test could not run here, on the real standard error (not
/// the test harness's captured one), as one `SKIPPED: test: why` line that
/// `.ci/run` counts in its closing line; the test then returns early, so
/// the harness lists it as passed and `.ci/run` subtracts it again.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    // One write, so that the line never interleaves with the harness's.
    let line = format!("SKIPPED: {test}: {why}\n");
    // A failed write to stderr cannot be reported anywhere better.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// A real tool for the tests that need one: `REACHDIFF_TEST_<NAME>` (what
/// `.ci/run` sets after installing it), else on PATH, else where this
/// project's machines unpack it (`/tmp/helmdl/layer/NAME/NAME`).
pub fn real_tool(name: &str) -> Option<PathBuf> {
    let from_env = std::env::var_os(format!("REACHDIFF_TEST_{}", name.to_uppercase()))
        .map(PathBuf::from)
        .filter(|p| p.is_file());
    let on_path = || {
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    };
    let unpacked = || {
        let p = PathBuf::from(format!("/tmp/helmdl/layer/{name}/{name}"));
        p.is_file().then_some(p)
    };
    from_env.or_else(on_path).or_else(unpacked)
}

/// `PATH` with `dir` first.
pub fn path_with(dir: &std::path::Path) -> std::ffi::OsString {
    let mut dirs = vec![dir.to_path_buf()];
    if let Some(p) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(dirs).expect("PATH")
}
