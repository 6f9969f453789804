//! The App's work queue behind one interface, [`JobQueue`]: the webhook
//! handlers push jobs, the workers take them under a lease, renew it,
//! complete them, and record their attempts; nothing else of the App
//! knows where the queue lives.
//!
//! - [`local`]: in the process (one replica, the default): memory for the
//!   jobs and delivery ids, files below the cache directory for the
//!   no-retry record;
//! - [`postgres`]: shared by any number of replicas in one PostgreSQL
//!   database (`--queue-url`).
//!
//! Both keep the same invariants: one pending job per pull request (a
//! newer head replaces it), at most one job per pull request worked on at
//! a time, a delivery id is acted on once, and a commit that went over
//! its budget or was being analysed when its replica died twice is not
//! attempted again ([`attempts`]). Nothing here logs: errors are returned
//! and the App says what they mean.

pub mod attempts;
pub mod local;
pub mod postgres;

pub use attempts::{Budget, Ended, Refusal};

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// One analysis to run: pull request `number` of `repo` at `head_sha`, or
/// a merge queue's group (`merge_group`, its head ref; `number` is 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSpec {
    pub installation: u64,
    /// `owner/name`.
    pub repo: String,
    pub clone_url: String,
    pub number: u64,
    pub merge_group: Option<String>,
    pub base_sha: String,
    pub head_sha: String,
    /// A new check run is wanted even if the head has one (a user's
    /// re-run, or a new base); otherwise a head's existing run is its
    /// answer (one check run per head).
    pub fresh: bool,
}

impl JobSpec {
    /// The pull request (or merge group) this job is for: jobs with the
    /// same key coalesce.
    pub fn key(&self) -> PullKey {
        PullKey {
            repo: self.repo.clone(),
            number: self.number,
            merge_group: self.merge_group.clone(),
        }
    }
}

/// A pull request or a merge group, across installations.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PullKey {
    pub repo: String,
    pub number: u64,
    pub merge_group: Option<String>,
}

impl std::fmt::Display for PullKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.merge_group {
            Some(r) => write!(f, "{}@{r}", self.repo),
            None => write!(f, "{}#{}", self.repo, self.number),
        }
    }
}

/// `owner/name`, both GitHub-shaped: nothing that could become a path
/// outside the cache or an option to git.
pub fn valid_repo_name(name: &str) -> bool {
    let mut parts = name.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p.len() <= 100
                && p != "."
                && p != ".."
                && !p.starts_with('-')
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// Transports git may use for a clone URL (never `ext::` and friends,
/// which run commands).
pub fn valid_clone_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://") || url.starts_with("file:///"))
        && !url.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// A job with the time its delivery arrived (for the end-to-end metric).
#[derive(Clone, Debug)]
pub struct Job {
    pub spec: JobSpec,
    pub received: Instant,
}

/// What `push` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// Replaced the pending job of the same pull request.
    Coalesced,
    /// The queue is full: the delivery should be refused (503).
    Full,
}

/// What a taken job is.
#[derive(Clone, Debug)]
pub enum Work {
    Analyse(Job),
    /// One installation's open pull requests, checked for missing results
    /// (a shared queue's keyed job for an installation event).
    Reconcile {
        installation: u64,
    },
}

/// A job taken from the queue, and how the queue knows it is still the
/// taker's.
#[derive(Clone, Debug)]
pub struct Lease {
    pub work: Work,
    /// The queue's key of the job (a pull request's, a merge group's or an
    /// installation's).
    pub key: String,
    /// The head the job asked for when it was taken: completing it leaves
    /// the job pending if a newer head arrived meanwhile.
    pub head: String,
    /// Which taking of the job this is (0 in the process, where nobody
    /// else can take it).
    pub id: i64,
    /// Whether another replica's lease had run out (a takeover).
    pub took_over: bool,
}

impl Lease {
    pub fn job(&self) -> Option<&Job> {
        match &self.work {
            Work::Analyse(j) => Some(j),
            Work::Reconcile { .. } => None,
        }
    }
}

/// Why the queue could not answer (a shared queue's password never
/// appears).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct QueueError(pub String);

/// What a queue's operation eventually answers.
pub type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<T, QueueError>> + Send + 'a>>;

/// The App's queue: jobs, the delivery ids already acted on, the no-retry
/// record, and periodic tasks that one replica of a fleet runs at a time.
pub trait JobQueue: Send + Sync {
    /// Whether the queue can take deliveries (`/readyz`).
    fn ready(&self) -> bool;

    /// Whether a lease runs out unless renewed ([`JobQueue::heartbeat`]):
    /// true when other replicas may take a job over.
    fn leases_expire(&self) -> bool;

    /// Records delivery `id`; false when it was acted on before (GitHub's
    /// redeliveries keep the id), by any replica.
    fn first_delivery<'a>(&'a self, id: &'a str) -> Answer<'a, bool>;

    /// Forgets delivery `id` (a delivery refused with 503 may come again).
    fn forget_delivery<'a>(&'a self, id: &'a str) -> Answer<'a, ()>;

    /// Queues `job`: a newer head replaces the pending one of its pull
    /// request. With `unless_known`, `None` when that head is already
    /// pending or being worked on.
    fn push(&self, job: Job, unless_known: bool) -> Answer<'_, Option<Pushed>>;

    /// Queues one keyed reconciliation of `installation`; false when the
    /// queue has no such jobs (one replica reconciles by itself).
    fn push_reconcile(&self, installation: u64) -> Answer<'_, bool>;

    /// A closed pull request: its pending job goes.
    fn close<'a>(&'a self, key: &'a PullKey) -> Answer<'a, ()>;

    /// Takes the oldest runnable job (pending, its pull request not worked
    /// on by anyone), waiting at most `within` for one; `None` when none
    /// came or the queue is shut.
    fn take(&self, within: Duration) -> Answer<'_, Option<Lease>>;

    /// Renews `lease`; false when it is no longer the taker's.
    fn heartbeat<'a>(&'a self, lease: &'a Lease) -> Answer<'a, bool>;

    /// Whether `lease` still holds: asked before every GitHub write.
    fn still_mine<'a>(&'a self, lease: &'a Lease) -> Answer<'a, bool>;

    /// The job ended, whatever its outcome (a job is never retried by the
    /// queue: its failure is the check run's conclusion). The pull request
    /// stays pending only if a newer head, or a re-run, arrived meanwhile.
    fn complete<'a>(&'a self, lease: &'a Lease) -> Answer<'a, ()>;

    /// The newest head delivered for `key` (`None`: nothing known).
    fn newest_head<'a>(&'a self, key: &'a PullKey) -> Answer<'a, Option<String>>;

    /// (Jobs waiting, jobs being worked on), over the whole fleet.
    fn counts(&self) -> Answer<'_, (usize, usize)>;

    /// Whether the caller runs the periodic task `name` now: at most one
    /// replica per `interval` wins.
    fn claim<'a>(&'a self, name: &'a str, interval: Duration) -> Answer<'a, bool>;

    /// Forgets delivery ids older than three days; how many went.
    fn prune(&self) -> Answer<'_, u64>;

    /// The no-retry record: whether an analysis of `head` within `budget`
    /// may begin (recorded as begun when it may).
    fn begin_attempt<'a>(
        &'a self,
        repo: &'a str,
        head: &'a str,
        budget: Budget,
    ) -> Answer<'a, Result<(), Refusal>>;

    /// The no-retry record: how the attempt begun last ended.
    fn end_attempt<'a>(
        &'a self,
        repo: &'a str,
        head: &'a str,
        ended: Ended,
        budget: Budget,
    ) -> Answer<'a, ()>;

    /// Stops handing out jobs (shutdown).
    fn shut(&self);

    fn is_shut(&self) -> bool;
}
