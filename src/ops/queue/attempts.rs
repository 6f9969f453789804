//! The no-retry record: which commits' analyses went over their budget or
//! were running when the server died, kept across restarts, so one pull
//! request cannot crash the App in a loop (reconciliation would otherwise
//! queue it again after every restart).
//!
//! An attempt is recorded before the contained analysis starts and erased
//! when it ends normally. A record still "running" when the next attempt
//! begins means the process died during the last one. Rules:
//! - over the memory or time budget: never retried with the same (or a
//!   smaller) budget; a larger budget set by the operator allows it again;
//! - two attempts that never ended: the third is refused.
//!
//! Without a queue URL the record is a directory of small JSON files below
//! the cache directory (written to a temporary name, then renamed); with
//! one it is a table of the shared database ([`super::postgres`]), so the
//! rule holds across the fleet.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// What one job may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of address space of the analysis process (and of each
    /// renderer it starts).
    pub memory: u64,
    /// Wall-clock time of the analysis (fetching is bounded apart).
    pub time: Duration,
}

impl Budget {
    pub const DEFAULT_MEMORY: u64 = 768 << 20;
    pub const DEFAULT_TIME: Duration = Duration::from_secs(300);

    /// "768 MiB of memory" / "300 s".
    pub fn memory_text(&self) -> String {
        format!("{} MiB of memory", self.memory >> 20)
    }

    pub fn time_text(&self) -> String {
        format!("{} s", self.time.as_secs())
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            memory: Budget::DEFAULT_MEMORY,
            time: Budget::DEFAULT_TIME,
        }
    }
}

/// Attempts that never ended, after which a commit is not analysed again.
pub const MAX_UNFINISHED: u32 = 2;

/// Records older than this are pruned at start.
const KEEP: Duration = Duration::from_secs(30 * 86_400);

/// Why an analysis is refused without being attempted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It went over this much memory before.
    OverMemory { memory: u64 },
    /// It went over this much time before.
    OverTime { seconds: u64 },
    /// It was running when the process died this many times.
    Unfinished { attempts: u32 },
}

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Analysed (whatever the answer): the record goes.
    Finished,
    OverMemory,
    OverTime,
    /// The server stopped before the analysis ended (shutdown): not the
    /// job's fault, so the attempt is not counted.
    Abandoned,
}

/// One stored record (also the shape of the database row's fields).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub repo: String,
    pub head: String,
    /// Attempts begun and not ended (`running`) or the last one's end.
    pub attempts: u32,
    /// `running`, `over-memory`, `over-time`.
    pub state: String,
    /// The budget of the attempt that went over.
    pub memory: u64,
    pub seconds: u64,
}

impl Record {
    /// Whether a new attempt within `budget` may begin; if so, the record
    /// as it is while that attempt runs.
    pub fn begin(mut self, budget: Budget) -> Result<Record, Refusal> {
        match self.state.as_str() {
            "over-memory" if budget.memory <= self.memory => {
                return Err(Refusal::OverMemory {
                    memory: self.memory,
                });
            }
            "over-time" if budget.time.as_secs() <= self.seconds => {
                return Err(Refusal::OverTime {
                    seconds: self.seconds,
                });
            }
            "running" if self.attempts >= MAX_UNFINISHED => {
                return Err(Refusal::Unfinished {
                    attempts: self.attempts,
                });
            }
            "running" => self.attempts += 1,
            _ => self.attempts = 1,
        }
        self.state = "running".into();
        Ok(self)
    }

    /// The record after an attempt ended; `None`: erase it.
    pub fn end(mut self, ended: Ended, budget: Budget) -> Option<Record> {
        match ended {
            Ended::Finished => None,
            Ended::Abandoned if self.attempts <= 1 => None,
            Ended::Abandoned => {
                self.attempts -= 1;
                Some(self)
            }
            Ended::OverMemory => {
                self.state = "over-memory".into();
                self.memory = budget.memory;
                Some(self)
            }
            Ended::OverTime => {
                self.state = "over-time".into();
                self.seconds = budget.time.as_secs();
                Some(self)
            }
        }
    }
}

/// The record in files below the cache directory.
pub struct FileAttempts {
    dir: PathBuf,
    lock: Mutex<()>,
}

impl FileAttempts {
    pub fn open(cache_dir: &std::path::Path) -> Result<FileAttempts, String> {
        let dir = cache_dir.join(".attempts");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > KEEP);
                if old {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(FileAttempts {
            dir,
            lock: Mutex::new(()),
        })
    }

    fn path(&self, repo: &str, head: &str) -> PathBuf {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{repo}\n{head}").as_bytes());
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.json"))
    }

    fn read(&self, repo: &str, head: &str) -> Record {
        std::fs::read(self.path(repo, head))
            .ok()
            .and_then(|b| serde_json::from_slice::<Record>(&b).ok())
            .filter(|r| r.repo == repo && r.head == head)
            .unwrap_or_else(|| Record {
                repo: repo.into(),
                head: head.into(),
                ..Record::default()
            })
    }

    fn write(&self, r: Option<&Record>, repo: &str, head: &str) -> Result<(), String> {
        let path = self.path(repo, head);
        let Some(r) = r else {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(format!("{}: {e}", path.display()))
                }
                _ => Ok(()),
            };
        };
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec(r).map_err(|e| e.to_string())?;
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            // On disk before the analysis starts: the record must survive
            // the crash it is there for.
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn begin(
        &self,
        repo: &str,
        head: &str,
        budget: Budget,
    ) -> Result<Result<(), Refusal>, String> {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        match self.read(repo, head).begin(budget) {
            Ok(r) => self.write(Some(&r), repo, head).map(Ok),
            Err(refusal) => Ok(Err(refusal)),
        }
    }

    pub fn end(&self, repo: &str, head: &str, ended: Ended, budget: Budget) -> Result<(), String> {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let r = self.read(repo, head).end(ended, budget);
        self.write(r.as_ref(), repo, head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(mib: u64, secs: u64) -> Budget {
        Budget {
            memory: mib << 20,
            time: Duration::from_secs(secs),
        }
    }

    #[test]
    fn over_budget_is_never_retried_with_the_same_budget() {
        let tmp = tempfile::tempdir().unwrap();
        let a = FileAttempts::open(tmp.path()).unwrap();
        let b = budget(768, 300);
        assert_eq!(a.begin("o/r", "h1", b).unwrap(), Ok(()));
        a.end("o/r", "h1", Ended::OverMemory, b).unwrap();
        // A restart: the record is read from disk again.
        let a = FileAttempts::open(tmp.path()).unwrap();
        assert_eq!(
            a.begin("o/r", "h1", b).unwrap(),
            Err(Refusal::OverMemory { memory: 768 << 20 })
        );
        assert_eq!(
            a.begin("o/r", "h1", budget(512, 300)).unwrap(),
            Err(Refusal::OverMemory { memory: 768 << 20 })
        );
        // Another head of the same repository is not affected.
        assert_eq!(a.begin("o/r", "h2", b).unwrap(), Ok(()));
        // The operator raised the budget: tried again.
        assert_eq!(a.begin("o/r", "h1", budget(1024, 300)).unwrap(), Ok(()));
        a.end("o/r", "h1", Ended::OverTime, b).unwrap();
        assert_eq!(
            a.begin("o/r", "h1", b).unwrap(),
            Err(Refusal::OverTime { seconds: 300 })
        );
    }

    #[test]
    fn two_unfinished_attempts_and_no_third() {
        let tmp = tempfile::tempdir().unwrap();
        let b = budget(768, 300);
        {
            let a = FileAttempts::open(tmp.path()).unwrap();
            assert_eq!(a.begin("o/r", "h", b).unwrap(), Ok(()));
            // The process dies here: no end.
        }
        let a = FileAttempts::open(tmp.path()).unwrap();
        assert_eq!(a.begin("o/r", "h", b).unwrap(), Ok(()), "a second attempt");
        let a = FileAttempts::open(tmp.path()).unwrap();
        assert_eq!(
            a.begin("o/r", "h", b).unwrap(),
            Err(Refusal::Unfinished { attempts: 2 })
        );
        // A finished analysis erases the record; a shutdown does not count.
        let other = FileAttempts::open(tmp.path()).unwrap();
        assert_eq!(other.begin("o/r", "x", b).unwrap(), Ok(()));
        other.end("o/r", "x", Ended::Abandoned, b).unwrap();
        assert_eq!(other.begin("o/r", "x", b).unwrap(), Ok(()));
        other.end("o/r", "x", Ended::Finished, b).unwrap();
        assert_eq!(
            std::fs::read_dir(tmp.path().join(".attempts"))
                .unwrap()
                .count(),
            1
        );
    }
}
