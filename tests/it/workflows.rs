//! The workflow files this project ships or tells people to copy
//! (`.github/workflows/`, `action.yml`, the workflows in README.md), run
//! through the real linters: actionlint, zizmor and check-jsonschema with
//! GitHub's schemas. `.ci/tools.sh` installs them; where one is missing the
//! test says SKIPPED. Also the release workflow's one local step: the
//! release commit that points `action.yml` at the published image.

use crate::support::{empty_git_config, repo_root, skip};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a linter and fails with everything it printed when it complains.
fn lint(tool: &str, args: &[&str], files: &[PathBuf]) {
    let out = Command::new(tool)
        .args(args)
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The fenced YAML blocks of README.md that are workflows (they have `jobs:`).
fn readme_workflows() -> Vec<String> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                if block.lines().any(|l| l.starts_with("jobs:")) {
                    blocks.push(std::mem::take(block));
                }
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// A scratch tree holding every workflow to lint: the repository's own and
/// README's, each as a file under `.github/workflows/` (where zizmor and
/// actionlint expect workflows), plus `action.yml`.
struct Scratch {
    _dir: tempfile::TempDir,
    root: PathBuf,
    workflows: Vec<PathBuf>,
    action: PathBuf,
}

fn scratch() -> Scratch {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().to_path_buf();
    let wf = root.join(".github/workflows");
    std::fs::create_dir_all(&wf).expect("mkdir");
    let mut workflows = Vec::new();
    let own = repo_root().join(".github/workflows");
    let mut names: Vec<_> = std::fs::read_dir(&own)
        .expect(".github/workflows")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    names.sort();
    for p in names {
        let to = wf.join(p.file_name().expect("file name"));
        std::fs::copy(&p, &to).expect("copy workflow");
        workflows.push(to);
    }
    let readme = readme_workflows();
    assert!(
        readme.len() >= 3,
        "README's workflows not found ({})",
        readme.len()
    );
    for (i, text) in readme.iter().enumerate() {
        let to = wf.join(format!("readme-{i}.yml"));
        std::fs::write(&to, text).expect("write workflow");
        workflows.push(to);
    }
    let action = root.join("action.yml");
    std::fs::copy(repo_root().join("action.yml"), &action).expect("copy action.yml");
    Scratch {
        _dir: dir,
        root,
        workflows,
        action,
    }
}

#[test]
fn workflows_and_action_follow_githubs_schemas() {
    if !have("check-jsonschema") {
        return skip(
            "workflows_and_action_follow_githubs_schemas",
            "check-jsonschema is not installed (.ci/tools.sh)",
        );
    }
    let s = scratch();
    lint(
        "check-jsonschema",
        &["--builtin-schema", "vendor.github-workflows"],
        &s.workflows,
    );
    lint(
        "check-jsonschema",
        &["--builtin-schema", "vendor.github-actions"],
        std::slice::from_ref(&s.action),
    );
}

#[test]
fn workflows_pass_actionlint() {
    if !have("actionlint") {
        return skip(
            "workflows_pass_actionlint",
            "actionlint is not installed (.ci/tools.sh)",
        );
    }
    let s = scratch();
    lint("actionlint", &[], &s.workflows);
}

/// zizmor's default audits, offline. README's workflows name the action
/// `OWNER/reachdiff@v1` (OWNER is wherever one installs it from), which the
/// configuration lets pin by tag; every other action must be pinned by hash.
#[test]
fn workflows_and_action_pass_zizmor() {
    if !have("zizmor") {
        return skip(
            "workflows_and_action_pass_zizmor",
            "zizmor is not installed (.ci/tools.sh)",
        );
    }
    let s = scratch();
    let config = s.root.join("zizmor.yml");
    std::fs::write(
        &config,
        "rules:\n  unpinned-uses:\n    config:\n      policies:\n        \"OWNER/reachdiff\": ref-pin\n        \"*\": hash-pin\n",
    )
    .expect("write zizmor config");
    let config = config.to_string_lossy().into_owned();
    lint(
        "zizmor",
        &["--offline", "--no-progress", "--config", &config],
        std::slice::from_ref(&s.root),
    );
}

fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", empty_git_config())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A scratch repository with the files `.ci/release.sh` reads.
fn release_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::create_dir_all(d.join(".ci")).expect("mkdir");
    for f in ["action.yml", "Cargo.toml", ".ci/release.sh"] {
        std::fs::copy(repo_root().join(f), d.join(f)).expect("copy");
    }
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["add", "."]);
    git(
        d,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "main",
        ],
    );
    dir
}

fn release_sh(dir: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", empty_git_config())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .arg(".ci/release.sh")
        .args(args)
        .output()
        .expect("run release.sh")
}

fn cargo_version() -> String {
    let toml = std::fs::read_to_string(repo_root().join("Cargo.toml")).expect("Cargo.toml");
    toml.lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("version in Cargo.toml")
        .to_string()
}

/// On main, `action.yml` builds the Dockerfile (a checkout of any commit
/// works); the release commit changes exactly its image line to the
/// published image's digest and carries the tags vX.Y.Z and vX.
#[test]
fn the_release_commit_runs_the_published_image_by_digest() {
    let main_action = std::fs::read_to_string(repo_root().join("action.yml")).expect("action.yml");
    assert!(
        main_action.lines().any(|l| l == "  image: Dockerfile"),
        "action.yml on main builds the Dockerfile"
    );
    let repo = release_repo();
    let d = repo.path();
    let version = cargo_version();
    let image = format!("ghcr.io/owner/reachdiff@sha256:{}", "ab12".repeat(16));
    let out = release_sh(d, &["commit", &version, &image]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let released = std::fs::read_to_string(d.join("action.yml")).expect("action.yml");
    let changed: Vec<(&str, &str)> = main_action
        .lines()
        .zip(released.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        changed,
        vec![(
            "  image: Dockerfile",
            &*format!("  image: docker://{image}")
        )]
    );
    assert_eq!(main_action.lines().count(), released.lines().count());
    let head = git(d, &["rev-parse", "HEAD"]).stdout;
    let major = version.split('.').next().expect("major");
    for tag in [format!("v{version}"), format!("v{major}")] {
        let at = git(d, &["rev-parse", &format!("{tag}^{{commit}}")]).stdout;
        assert_eq!(at, head, "{tag} names the release commit");
    }
    if have("check-jsonschema") {
        lint(
            "check-jsonschema",
            &["--builtin-schema", "vendor.github-actions"],
            &[d.join("action.yml")],
        );
    }
}

#[test]
fn the_release_script_refuses_what_it_must_not_publish() {
    let repo = release_repo();
    let d = repo.path();
    let version = cargo_version();
    let digest = format!("ghcr.io/owner/reachdiff@sha256:{}", "0".repeat(64));
    let refused = [
        vec!["check", "9.9.9"],
        vec!["check", "v1.2.3"],
        vec!["check", "1.2"],
        vec!["commit", "1.2.3-rc.1", &digest],
        vec!["commit", &version, "ghcr.io/owner/reachdiff:latest"],
        vec!["commit", &version, "docker.io/owner/reachdiff@sha256:00"],
        vec!["commit", &version, "ghcr.io/Owner/x@sha256:$(id)"],
    ];
    for args in refused {
        let out = release_sh(d, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("release.sh: "), "{args:?}: {err}");
    }
    // Nothing was committed or tagged by a refused call.
    assert_eq!(git(d, &["tag"]).stdout, b"");
    let ok = release_sh(d, &["check", &version]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // Once released, the same version is refused.
    assert!(
        release_sh(d, &["commit", &version, &digest])
            .status
            .success()
    );
    assert_eq!(release_sh(d, &["check", &version]).status.code(), Some(1));
}
