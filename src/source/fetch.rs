//! Git transport for commits that are not in a local repository yet: the
//! `git` program fetches (with a token for HTTPS origins), libgit2 reads.
//!
//! libgit2 is built without network transports (no OpenSSL in the binary);
//! git's own HTTPS is the one a CI runner or container already trusts.
//!
//! SECURITY: the token reaches git only through `GIT_CONFIG_*` environment
//! variables, as an `Authorization` header scoped to one server. It is on
//! no command line (visible in `ps`) and in no file.

use std::path::Path;
use std::process::{Command, Stdio};

/// Base64 of `x-access-token:TOKEN`, for git's `http.extraheader`.
pub fn basic_auth(token: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("x-access-token:{token}").into_bytes();
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A git command in `dir` that never prompts; with a token, an
/// `Authorization` header for `server` is configured through the
/// environment (`GIT_CONFIG_*`), so it is on no command line.
pub fn git(dir: &Path, token: &str, server: &str) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        // The App's webhook secret may be in the environment; git has no
        // business reading it.
        .env_remove("REACHDIFF_WEBHOOK_SECRET")
        .env_remove("GIT_WORK_TREE")
        .stdin(std::process::Stdio::null());
    let mut cfg: Vec<(String, String)> = vec![
        // No hooks from anywhere, and the workspace may belong to another uid.
        ("core.hooksPath".into(), "/dev/null".into()),
        ("safe.directory".into(), "*".into()),
        // Only transports that move bytes: `ext::` and friends run
        // commands named in the URL.
        ("protocol.allow".into(), "never".into()),
        ("protocol.https.allow".into(), "always".into()),
        ("protocol.http.allow".into(), "always".into()),
        ("protocol.file.allow".into(), "always".into()),
        // Fetched commits are kept by refs, but no gc runs mid-analysis.
        ("gc.auto".into(), "0".into()),
    ];
    if !token.is_empty() {
        cfg.push((
            format!("http.{}/.extraheader", server.trim_end_matches('/')),
            format!("AUTHORIZATION: basic {}", basic_auth(token)),
        ));
    }
    c.env("GIT_CONFIG_COUNT", cfg.len().to_string());
    for (i, (k, v)) in cfg.iter().enumerate() {
        c.env(format!("GIT_CONFIG_KEY_{i}"), k)
            .env(format!("GIT_CONFIG_VALUE_{i}"), v);
    }
    c
}

/// Where commits are fetched from.
pub struct Remote<'a> {
    /// A remote's name (`origin`) or a URL.
    pub name_or_url: &'a str,
    /// `scheme://host` the token is sent to (nothing is sent elsewhere).
    pub server: &'a str,
    /// Empty: no credentials.
    pub token: &'a str,
}

fn has_commit(dir: &Path, sha: &str) -> bool {
    git(dir, "", "")
        .args(["cat-file", "-e", &format!("{sha}^{{commit}}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes sure `base`, `head` and enough history for their merge-base are
/// in the repository at `dir`: when missing, fetches both commits with
/// `depth` commits of history, then all of it if the merge-base is still
/// beyond reach. Returns whether anything was fetched; `say` gets one line
/// per git command run.
pub fn ensure_commits(
    dir: &Path,
    remote: &Remote<'_>,
    base: &str,
    head: &str,
    depth: u32,
    say: &mut dyn FnMut(String),
) -> anyhow::Result<bool> {
    let merge_base_ok = || {
        crate::source::git::GitRepo::open(dir)
            .ok()
            .is_some_and(|g| g.diff_commits(base, head, false).is_ok())
    };
    if has_commit(dir, base) && has_commit(dir, head) && merge_base_ok() {
        return Ok(false);
    }
    let token = remote.token;
    let mut fetch = |extra: &[&str]| -> anyhow::Result<()> {
        let mut args = vec!["fetch", "--no-tags", "--no-recurse-submodules", "--quiet"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[remote.name_or_url, base, head]);
        say(format!("git {}", args.join(" ")));
        let out = git(dir, token, remote.server)
            .args(&args)
            .stdout(Stdio::null())
            .output()
            .map_err(|e| anyhow::anyhow!("running git: {e}"))?;
        if !out.status.success() {
            let msg = crate::github::scrub(&String::from_utf8_lossy(&out.stderr));
            let msg = if token.is_empty() {
                msg
            } else {
                msg.replace(token, "***")
            };
            anyhow::bail!(
                "git fetch of the pull request's commits failed: {}",
                msg.trim()
            );
        }
        Ok(())
    };
    let depth = format!("--depth={}", depth.max(1));
    fetch(&[&depth])?;
    if !merge_base_ok() {
        let shallow = git(dir, "", "")
            .args(["rev-parse", "--is-shallow-repository"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true");
        if shallow {
            fetch(&["--unshallow"])?;
        }
    }
    Ok(true)
}

/// `git` for unit tests that build repositories: a fixed identity, no user
/// or system configuration; panics with git's message; trimmed stdout.
#[cfg(test)]
pub(crate) fn test_git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        // A file that does not exist reads as an empty configuration.
        .env("GIT_CONFIG_GLOBAL", dir.join(".no-such-gitconfig"))
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
