//! Git transport for commits that are not in a local repository yet: the
//! `git` program fetches (with a token for HTTPS origins), libgit2 reads.
//!
//! libgit2 is built without network transports (no OpenSSL in the binary);
//! git's own HTTPS is the one a CI runner or container already trusts.
//!
//! SECURITY: the token reaches git only through `GIT_CONFIG_*` environment
//! variables, as an `Authorization` header scoped to one server. It is on
//! no command line (visible in `ps`) and in no file.

use super::sandbox;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

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

/// Bounds on fetching one pull request's commits.
#[derive(Clone, Copy, Debug)]
pub struct FetchLimits {
    /// Time for each `git fetch`.
    pub timeout: Duration,
    /// Bytes of packs all fetches together may add to the repository.
    pub max_bytes: u64,
    /// Commits of history, in all, that deepening may reach for the
    /// merge-base (never `--unshallow`: a whole history is unbounded).
    pub max_depth: u32,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            timeout: Duration::from_secs(600),
            max_bytes: 1 << 30,
            max_depth: 10_000,
        }
    }
}

/// A commit id as GitHub sends it: 40 (SHA-1) or 64 (SHA-256) hex digits.
/// Anything else is refused before it reaches a command line.
fn valid_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Makes sure `base`, `head` and enough history for their merge-base are
/// in the repository at `dir`: when missing, fetches both commits with
/// `depth` commits of history, then deepens step by step (up to
/// [`FetchLimits::max_depth`]) while the merge-base is beyond reach.
/// Returns whether anything was fetched; `say` gets one line per git
/// command run. Uses [`FetchLimits::default`].
pub fn ensure_commits(
    dir: &Path,
    remote: &Remote<'_>,
    base: &str,
    head: &str,
    depth: u32,
    say: &mut dyn FnMut(String),
) -> anyhow::Result<bool> {
    ensure_commits_limited(dir, remote, base, head, depth, FetchLimits::default(), say)
}

/// [`ensure_commits`] with explicit limits: each fetch is killed past its
/// time limit, and all of them past `max_bytes` of packs received.
pub fn ensure_commits_limited(
    dir: &Path,
    remote: &Remote<'_>,
    base: &str,
    head: &str,
    depth: u32,
    limits: FetchLimits,
    say: &mut dyn FnMut(String),
) -> anyhow::Result<bool> {
    for sha in [base, head] {
        if !valid_sha(sha) {
            anyhow::bail!("{sha:?} is not a commit id (40 or 64 hexadecimal digits)");
        }
    }
    let merge_base_ok = || {
        crate::source::git::GitRepo::open(dir)
            .ok()
            .is_some_and(|g| g.diff_commits(base, head, false).is_ok())
    };
    if has_commit(dir, base) && has_commit(dir, head) && merge_base_ok() {
        return Ok(false);
    }
    let packs = packs_dir(dir)?;
    let start_bytes = dir_bytes(&packs);
    let mut fetcher = Fetcher {
        dir,
        remote,
        shas: [base, head],
        limits,
        packs,
        start_bytes,
        say,
    };
    let depth = depth.clamp(1, limits.max_depth.max(1));
    fetcher.fetch(&format!("--depth={depth}"))?;
    let mut reached = depth;
    while !merge_base_ok() && is_shallow(dir) {
        if reached >= limits.max_depth {
            anyhow::bail!(
                "the merge-base of the pull request is more than {} commits behind its head; \
                 reachdiff does not fetch more history (check out with more history, for \
                 example `fetch-depth: 0` in GitHub Actions)",
                limits.max_depth
            );
        }
        let step = reached.min(limits.max_depth - reached).max(1);
        fetcher.fetch(&format!("--deepen={step}"))?;
        reached += step;
    }
    Ok(true)
}

fn is_shallow(dir: &Path) -> bool {
    git(dir, "", "")
        .args(["rev-parse", "--is-shallow-repository"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true")
}

/// Where fetched packs land (`objects/pack` of the common git directory).
fn packs_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let repo = git2::Repository::open(dir).map_err(|e| {
        anyhow::anyhow!("{}: not a git repository ({})", dir.display(), e.message())
    })?;
    Ok(repo.commondir().join("objects").join("pack"))
}

/// Total size of the files directly in `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Runs the fetches of one [`ensure_commits_limited`].
struct Fetcher<'a> {
    dir: &'a Path,
    remote: &'a Remote<'a>,
    shas: [&'a str; 2],
    limits: FetchLimits,
    packs: PathBuf,
    start_bytes: u64,
    say: &'a mut dyn FnMut(String),
}

impl Fetcher<'_> {
    fn fetch(&mut self, depth: &str) -> anyhow::Result<()> {
        let token = self.remote.token;
        let mut args = vec![
            "fetch",
            "--no-tags",
            "--no-recurse-submodules",
            "--no-write-fetch-head",
            "--quiet",
            depth,
            // What follows is never an option, whatever it says.
            "--end-of-options",
        ];
        args.extend([self.remote.name_or_url, self.shas[0], self.shas[1]]);
        (self.say)(format!("git {}", args.join(" ")));
        let mut command = git(self.dir, token, self.remote.server);
        // Every object stays in the received pack, where the size watch
        // sees it.
        command.args(["-c", "fetch.unpackLimit=1", "-c", "transfer.unpackLimit=1"]);
        command.args(&args);
        let (packs, start, max) = (self.packs.clone(), self.start_bytes, self.limits.max_bytes);
        let mut watch = || {
            let grown = dir_bytes(&packs).saturating_sub(start);
            if grown > max {
                Err(format!("fetched more than {max} bytes"))
            } else {
                Ok(())
            }
        };
        let limits = sandbox::Limits {
            timeout: self.limits.timeout,
            max_output: 1 << 16,
        };
        let failed = |msg: String| {
            let msg = crate::github::scrub(&msg);
            let msg = if token.is_empty() {
                msg
            } else {
                msg.replace(token, "***")
            };
            anyhow::anyhow!(
                "git fetch of the pull request's commits failed: {}",
                msg.trim()
            )
        };
        let done = sandbox::run(command, "git fetch", limits, &mut watch)
            .map_err(|e| failed(e.to_string()))?;
        if !done.status.success() {
            return Err(failed(done.stderr));
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An origin with `n` commits on main, each adding a file of `size`
    /// incompressible bytes; returns (origin, shas oldest first).
    fn origin(root: &Path, n: usize, size: usize) -> (PathBuf, Vec<String>) {
        let dir = root.join("origin");
        std::fs::create_dir_all(&dir).unwrap();
        test_git(&dir, &["init", "-q", "-b", "main"]);
        let mut shas = Vec::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..n {
            let bytes: Vec<u8> = (0..size)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            std::fs::write(dir.join(format!("f{i}")), bytes).unwrap();
            test_git(&dir, &["add", "-A"]);
            test_git(&dir, &["commit", "-qm", &format!("c{i}")]);
            shas.push(test_git(&dir, &["rev-parse", "HEAD"]));
        }
        (dir, shas)
    }

    fn empty_repo(root: &Path) -> PathBuf {
        let dir = root.join("local");
        std::fs::create_dir_all(&dir).unwrap();
        test_git(&dir, &["init", "-q", "--bare"]);
        dir
    }

    fn remote(url: &str) -> Remote<'_> {
        Remote {
            name_or_url: url,
            server: "",
            token: "",
        }
    }

    #[test]
    fn commit_ids_that_are_not_ids_never_reach_git() {
        let t = tempfile::tempdir().unwrap();
        let local = empty_repo(t.path());
        let marker = t.path().join("pwned");
        let evil = format!("--upload-pack=touch {}", marker.display());
        let mut said = Vec::new();
        let e = ensure_commits(
            &local,
            &remote("file:///nonexistent"),
            &evil,
            &"a".repeat(40),
            1,
            &mut |l| said.push(l),
        )
        .unwrap_err();
        assert!(e.to_string().contains("is not a commit id"), "{e}");
        assert!(said.is_empty());
        assert!(!marker.exists());
    }

    proptest::proptest! {
        /// Whatever a payload calls a commit, git sees it only if it is a
        /// commit id: nothing else reaches a command line.
        #[test]
        fn only_commit_ids_reach_git(
            base in "(-|--|=|@|://|\n|[0-9a-f]{4,40}|[^\u{0}]{1,8}){1,4}",
        ) {
            let mut said = Vec::new();
            let r = ensure_commits(
                Path::new("/nonexistent-reachdiff-repository"),
                &remote("file:///nonexistent"),
                &base,
                &"a".repeat(40),
                1,
                &mut |l| said.push(l),
            );
            if !valid_sha(&base) {
                let e = r.unwrap_err().to_string();
                proptest::prop_assert!(e.contains("is not a commit id"), "{}", e);
                proptest::prop_assert!(said.is_empty());
            } else {
                // An id: fetched after `--end-of-options`.
                proptest::prop_assert!(said.iter().all(|l| l.contains("--end-of-options")));
            }
        }
    }

    /// Issue 12 item 8: a merge-base far behind is fetched by deepening in
    /// bounded steps, never with `--unshallow`; beyond the bound it is an
    /// error that says what to do.
    #[test]
    fn deepening_is_bounded() {
        let t = tempfile::tempdir().unwrap();
        let (origin, shas) = origin(t.path(), 100, 10);
        test_git(&origin, &["checkout", "-q", "-b", "pr", &shas[80]]);
        std::fs::write(origin.join("pr"), "x").unwrap();
        test_git(&origin, &["add", "-A"]);
        test_git(&origin, &["commit", "-qm", "pr"]);
        let head = test_git(&origin, &["rev-parse", "HEAD"]);
        let base = shas[99].clone();
        let url = format!("file://{}", origin.display());
        let local = empty_repo(t.path());
        let tight = FetchLimits {
            max_depth: 8,
            ..FetchLimits::default()
        };
        let mut said = Vec::new();
        let e = ensure_commits_limited(&local, &remote(&url), &base, &head, 1, tight, &mut |l| {
            said.push(l)
        })
        .unwrap_err();
        assert!(e.to_string().contains("more than 8 commits behind"), "{e}");
        assert!(said.iter().all(|l| !l.contains("unshallow")), "{said:?}");
        assert!(
            said.iter().all(|l| l.contains("--end-of-options")),
            "{said:?}"
        );
        let mut said = Vec::new();
        let fetched = ensure_commits_limited(
            &local,
            &remote(&url),
            &base,
            &head,
            1,
            FetchLimits::default(),
            &mut |l| said.push(l),
        )
        .unwrap();
        assert!(fetched);
        // Enough history for the merge-base, not the whole of it.
        assert!(is_shallow(&local), "{said:?}");
        let g = crate::source::git::GitRepo::open(&local).unwrap();
        assert_eq!(
            g.diff_commits(&base, &head, false)
                .unwrap()
                .0
                .oid
                .to_string(),
            shas[80]
        );
    }

    #[test]
    fn fetches_are_size_and_time_limited() {
        let t = tempfile::tempdir().unwrap();
        let (origin, shas) = origin(t.path(), 3, 1 << 20);
        let url = format!("file://{}", origin.display());
        let local = empty_repo(t.path());
        let small = FetchLimits {
            max_bytes: 256 << 10,
            ..FetchLimits::default()
        };
        let e = ensure_commits_limited(
            &local,
            &remote(&url),
            &shas[0],
            &shas[2],
            10,
            small,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("fetched more than 262144 bytes"),
            "{e}"
        );
        // A server that accepts and never answers.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/r.git", l.local_addr().unwrap());
        let held = std::thread::spawn(move || {
            let conns: Vec<_> = l.incoming().take(1).collect();
            std::thread::sleep(Duration::from_secs(5));
            drop(conns);
        });
        let quick = FetchLimits {
            timeout: Duration::from_millis(800),
            ..FetchLimits::default()
        };
        let start = std::time::Instant::now();
        let e = ensure_commits_limited(
            &local,
            &remote(&url),
            &shas[0],
            &shas[2],
            1,
            quick,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(e.to_string().contains("did not finish within 0.8 s"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(4));
        drop(held);
    }
}
