//! Bare repositories, one per GitHub repository, below the cache directory:
//! `ROOT/OWNER/NAME.git`. Only the commits a job needs are fetched (base
//! and head with bounded history), by URL (no remote is stored), with the
//! installation token in git's environment only.
//!
//! Concurrency: fetches into one repository are serialised; analyses read
//! the object database concurrently (git objects are immutable and refs are
//! updated atomically). A repository in use is never evicted; otherwise the
//! least recently used go first once the cache is over its size.

use crate::source::fetch::{self, Remote};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

#[derive(Default)]
struct Entry {
    fetching: Mutex<()>,
    users: AtomicUsize,
    last_used: Mutex<Option<SystemTime>>,
}

pub struct RepoCache {
    root: PathBuf,
    max_bytes: u64,
    /// History fetched with each commit.
    pub depth: u32,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
}

/// A repository held for reading: not evicted until dropped.
pub struct Lease {
    entry: Arc<Entry>,
    pub path: PathBuf,
    /// Whether anything had to be fetched.
    pub fetched: bool,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.entry.users.fetch_sub(1, Ordering::SeqCst);
    }
}

impl RepoCache {
    /// Creates `root` (mode 0700: it holds private repositories' objects).
    pub fn open(root: &Path, max_bytes: u64) -> Result<RepoCache, String> {
        std::fs::create_dir_all(root)
            .map_err(|e| format!("cache directory {}: {e}", root.display()))?;
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700));
        }
        let probe = root.join(".reachdiff-write-test");
        std::fs::write(&probe, b"")
            .map_err(|e| format!("cache directory {} is not writable: {e}", root.display()))?;
        let _ = std::fs::remove_file(probe);
        Ok(RepoCache {
            root: root.to_path_buf(),
            max_bytes,
            depth: 50,
            entries: Mutex::new(HashMap::new()),
        })
    }

    fn entry(&self, repo: &str) -> Arc<Entry> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(repo.to_string())
            .or_default()
            .clone()
    }

    /// The bare repository of `repo` (`owner/name`, validated by the
    /// caller) with `base` and `head` and their merge-base in it.
    pub fn fetch(
        &self,
        repo: &str,
        clone_url: &str,
        token: &str,
        base: &str,
        head: &str,
    ) -> Result<Lease, String> {
        if !super::events::valid_repo_name(repo) {
            return Err(format!("{repo:?} is not owner/name"));
        }
        let path = self.root.join(format!("{repo}.git"));
        let entry = self.entry(repo);
        entry.users.fetch_add(1, Ordering::SeqCst);
        let mut lease = Lease {
            entry: entry.clone(),
            path: path.clone(),
            fetched: false,
        };
        *entry.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Some(SystemTime::now());
        let fetched = {
            let _one_fetch = entry.fetching.lock().unwrap_or_else(|p| p.into_inner());
            if !path.join("HEAD").is_file() {
                std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let out = fetch::git(&path, "", "")
                    .args(["init", "--bare", "--quiet", "."])
                    .output()
                    .map_err(|e| format!("running git: {e}"))?;
                if !out.status.success() {
                    return Err(format!(
                        "git init: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
            }
            // The token is sent only to the clone URL's own server.
            let server = server_of(clone_url);
            let token = if server.starts_with("http") {
                token
            } else {
                ""
            };
            let fetched = fetch::ensure_commits(
                &path,
                &Remote {
                    name_or_url: clone_url,
                    server: &server,
                    token,
                },
                base,
                head,
                self.depth,
                &mut |line| tracing::debug!(repo, "{line}"),
            )
            .map_err(|e| e.to_string())?;
            if fetched {
                // Refs keep the fetched commits from any later gc.
                for sha in [base, head] {
                    let _ = fetch::git(&path, "", "")
                        .args(["update-ref", &format!("refs/reachdiff/{sha}"), sha])
                        .output();
                }
            }
            fetched
        };
        if fetched {
            self.evict(repo);
        }
        lease.fetched = fetched;
        Ok(lease)
    }

    /// Removes least recently used repositories not in use until the cache
    /// is within its size (the one just fetched stays).
    fn evict(&self, keep: &str) {
        let mut total = dir_size(&self.root);
        if total <= self.max_bytes {
            return;
        }
        let mut candidates: Vec<(Option<SystemTime>, String, Arc<Entry>)> = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(k, e)| k.as_str() != keep && e.users.load(Ordering::SeqCst) == 0)
            .map(|(k, e)| {
                let t = *e.last_used.lock().unwrap_or_else(|p| p.into_inner());
                (t, k.clone(), e.clone())
            })
            .collect();
        candidates.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        for (_, repo, entry) in candidates {
            if total <= self.max_bytes {
                break;
            }
            // Held while deleting: a job arriving now waits, then re-fetches.
            let _one_fetch = entry.fetching.lock().unwrap_or_else(|p| p.into_inner());
            if entry.users.load(Ordering::SeqCst) != 0 {
                continue;
            }
            let path = self.root.join(format!("{repo}.git"));
            let size = dir_size(&path);
            if std::fs::remove_dir_all(&path).is_ok() {
                tracing::info!(repo, bytes = size, "evicted from the repository cache");
                total = total.saturating_sub(size);
            }
        }
        if total > self.max_bytes {
            tracing::warn!(
                bytes = total,
                max = self.max_bytes,
                "repository cache over its size; everything left is in use"
            );
        }
    }
}

/// `scheme://host[:port]` of a URL.
fn server_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or_default();
            // Credentials in the URL are not a server.
            let host = host.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}")
        }
        None => String::new(),
    }
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An origin with two commits; (url, base, head).
    fn origin(root: &Path, name: &str) -> (String, String, String) {
        let d = root.join(name);
        std::fs::create_dir_all(&d).unwrap();
        crate::source::fetch::test_git(&d, &["init", "-q", "-b", "main"]);
        std::fs::write(d.join("a.yaml"), "kind: Namespace\n").unwrap();
        crate::source::fetch::test_git(&d, &["add", "-A"]);
        crate::source::fetch::test_git(&d, &["commit", "-qm", "base"]);
        let base = crate::source::fetch::test_git(&d, &["rev-parse", "HEAD"]);
        std::fs::write(d.join("b.yaml"), "kind: Namespace\n").unwrap();
        crate::source::fetch::test_git(&d, &["add", "-A"]);
        crate::source::fetch::test_git(&d, &["commit", "-qm", "head"]);
        let head = crate::source::fetch::test_git(&d, &["rev-parse", "HEAD"]);
        (format!("file://{}", d.display()), base, head)
    }

    #[test]
    fn fetches_once_and_evicts_the_least_recently_used_not_in_use() {
        let tmp = tempfile::tempdir().unwrap();
        let (a_url, a_base, a_head) = origin(tmp.path(), "a");
        let (b_url, b_base, b_head) = origin(tmp.path(), "b");
        let (c_url, c_base, c_head) = origin(tmp.path(), "c");
        // Any repository is over this size: only leases keep one.
        let cache = RepoCache::open(&tmp.path().join("cache"), 1).unwrap();
        let a = cache.fetch("o/a", &a_url, "", &a_base, &a_head).unwrap();
        assert!(a.fetched && a.path.join("HEAD").is_file());
        let again = cache.fetch("o/a", &a_url, "", &a_base, &a_head).unwrap();
        assert!(!again.fetched, "the commits were already there");
        drop(again);
        drop(a);
        let b = cache.fetch("o/b", &b_url, "", &b_base, &b_head).unwrap();
        let a_path = tmp.path().join("cache/o/a.git");
        assert!(!a_path.exists(), "o/a was not in use: evicted");
        // o/b is leased while o/c is fetched: it stays.
        let _c = cache.fetch("o/c", &c_url, "", &c_base, &c_head).unwrap();
        assert!(
            b.path.join("HEAD").is_file(),
            "a repository in use was evicted"
        );
        assert!(
            crate::source::git::GitRepo::open(&b.path)
                .unwrap()
                .diff_commits(&b_base, &b_head, false)
                .is_ok()
        );
        assert!(cache.fetch("../x", &c_url, "", &c_base, &c_head).is_err());
    }

    #[test]
    fn servers() {
        assert_eq!(
            server_of("https://github.com/acme/gitops.git"),
            "https://github.com"
        );
        assert_eq!(
            server_of("https://x:y@ghe.example:8443/a/b.git"),
            "https://ghe.example:8443"
        );
        assert_eq!(server_of("file:///tmp/origin"), "file://");
    }
}
