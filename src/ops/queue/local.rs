//! The queue of one replica, in the process: bounded, coalescing per pull
//! request, one job per pull request at a time, the memory of which head
//! is the newest, the delivery ids seen, and the no-retry record in files.
//!
//! Invariants:
//! - at most one pending job per pull request: a newer delivery replaces
//!   the pending one (only the newest head is worth analysing);
//! - a pull request being analysed is not handed out again until that job
//!   finishes, so its comment and review are never written by two workers;
//! - `is_current` says whether a head is still the newest seen for its
//!   pull request: a worker asks before it posts, so results for a
//!   superseded head are never posted.

use super::attempts::{Budget, Ended, FileAttempts, Refusal};
use super::{Answer, Job, JobQueue, Lease, PullKey, Pushed, QueueError, Work};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Default)]
struct Inner {
    pending: HashMap<PullKey, Job>,
    order: VecDeque<PullKey>,
    /// Pull requests being analysed, with the head being analysed.
    running: HashMap<PullKey, String>,
    /// The newest head seen per pull request; removed when it closes.
    newest: HashMap<PullKey, String>,
    closed: bool,
}

pub struct Queue {
    inner: Mutex<Inner>,
    notify: Notify,
    capacity: usize,
}

impl Queue {
    pub fn new(capacity: usize) -> Queue {
        Queue {
            inner: Mutex::new(Inner::default()),
            notify: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A worker that panicked while holding the lock left consistent
        // data (every method completes its edits before it can panic).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a job; a pending job of the same pull request is replaced.
    pub fn push(&self, job: Job) -> Pushed {
        let key = job.spec.key();
        let mut q = self.lock();
        let result = if let Some(p) = q.pending.get_mut(&key) {
            // A re-run of the pending head stays a re-run.
            let fresh = job.spec.fresh || (p.spec.fresh && p.spec.head_sha == job.spec.head_sha);
            *p = job.clone();
            p.spec.fresh = fresh;
            Pushed::Coalesced
        } else if q.pending.len() >= self.capacity {
            return Pushed::Full;
        } else {
            q.pending.insert(key.clone(), job.clone());
            q.order.push_back(key.clone());
            Pushed::Queued
        };
        q.newest.insert(key, job.spec.head_sha);
        drop(q);
        self.notify.notify_one();
        result
    }

    /// Adds a job unless this head is already pending or being analysed
    /// (reconciliation finds in-progress check runs of running jobs).
    pub fn push_unless_known(&self, job: Job) -> Option<Pushed> {
        let key = job.spec.key();
        {
            let q = self.lock();
            let head = &job.spec.head_sha;
            if q.running.get(&key) == Some(head)
                || q.pending
                    .get(&key)
                    .is_some_and(|p| &p.spec.head_sha == head)
            {
                return None;
            }
        }
        Some(self.push(job))
    }

    /// Forgets a closed pull request's pending job.
    pub fn close_pull(&self, key: &PullKey) -> bool {
        let mut q = self.lock();
        q.newest.remove(key);
        let had = q.pending.remove(key).is_some();
        q.order.retain(|k| k != key);
        had
    }

    /// The next job whose pull request is not being analysed, marking it
    /// running; waits at most `within` for one; `None` once the queue is
    /// shut or nothing became runnable.
    pub async fn next(&self, within: Duration) -> Option<Job> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register before looking, so a push in between is not missed.
            notified.as_mut().enable();
            if let Some(job) = self.try_next() {
                return Some(job);
            }
            if self.lock().closed {
                return None;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    pub fn is_shut(&self) -> bool {
        self.lock().closed
    }

    /// The newest head seen for `key`.
    pub fn newest(&self, key: &PullKey) -> Option<String> {
        self.lock().newest.get(key).cloned()
    }

    fn try_next(&self) -> Option<Job> {
        let mut q = self.lock();
        if q.closed {
            return None;
        }
        let pos = q.order.iter().position(|k| !q.running.contains_key(k))?;
        let key = q.order.remove(pos)?;
        let job = q.pending.remove(&key)?;
        q.running.insert(key, job.spec.head_sha.clone());
        Some(job)
    }

    /// The job of `key` finished: its pull request may run again.
    pub fn done(&self, key: &PullKey) {
        let mut q = self.lock();
        q.running.remove(key);
        let more = q.pending.contains_key(key);
        drop(q);
        if more {
            self.notify.notify_one();
        }
    }

    /// Whether `head` is still the newest head seen for `key`.
    pub fn is_current(&self, key: &PullKey, head: &str) -> bool {
        self.lock().newest.get(key).is_none_or(|h| h == head)
    }

    /// Jobs waiting (not running).
    pub fn depth(&self) -> usize {
        self.lock().pending.len()
    }

    pub fn running(&self) -> usize {
        self.lock().running.len()
    }

    /// Stops handing out jobs (shutdown); workers see `None`.
    pub fn shut(&self) {
        self.lock().closed = true;
        self.notify.notify_waiters();
    }
}

/// Delivery ids already seen (GitHub's redeliveries reuse the id), the
/// newest `capacity` of them.
pub struct Deliveries {
    inner: Mutex<(HashSet<String>, VecDeque<String>)>,
    capacity: usize,
}

impl Deliveries {
    pub fn new(capacity: usize) -> Deliveries {
        Deliveries {
            inner: Mutex::new(Default::default()),
            capacity: capacity.max(1),
        }
    }

    /// Records `id`; false when it was seen before.
    pub fn first_time(&self, id: &str) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (set, order) = &mut *g;
        if set.contains(id) {
            return false;
        }
        if order.len() >= self.capacity {
            if let Some(old) = order.pop_front() {
                set.remove(&old);
            }
        }
        set.insert(id.to_string());
        order.push_back(id.to_string());
        true
    }

    /// Forgets `id` (a delivery refused with 503 may be redelivered).
    pub fn forget(&self, id: &str) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (set, order) = &mut *g;
        if set.remove(id) {
            order.retain(|x| x != id);
        }
    }
}

/// The queue of one replica: [`Queue`], [`Deliveries`] and the no-retry
/// record in files ([`FileAttempts`]).
pub struct Local {
    queue: Queue,
    deliveries: Deliveries,
    attempts: FileAttempts,
}

impl Local {
    pub fn new(capacity: usize, attempts: FileAttempts) -> Local {
        Local {
            queue: Queue::new(capacity),
            deliveries: Deliveries::new(100_000),
            attempts,
        }
    }
}

fn answer<'a, T: Send + 'a>(v: Result<T, QueueError>) -> Answer<'a, T> {
    Box::pin(std::future::ready(v))
}

impl JobQueue for Local {
    fn ready(&self) -> bool {
        true
    }

    fn leases_expire(&self) -> bool {
        false
    }

    fn first_delivery<'a>(&'a self, id: &'a str) -> Answer<'a, bool> {
        answer(Ok(self.deliveries.first_time(id)))
    }

    fn forget_delivery<'a>(&'a self, id: &'a str) -> Answer<'a, ()> {
        self.deliveries.forget(id);
        answer(Ok(()))
    }

    fn push(&self, job: Job, unless_known: bool) -> Answer<'_, Option<Pushed>> {
        answer(Ok(if unless_known {
            self.queue.push_unless_known(job)
        } else {
            Some(self.queue.push(job))
        }))
    }

    fn push_reconcile(&self, _installation: u64) -> Answer<'_, bool> {
        answer(Ok(false))
    }

    fn close<'a>(&'a self, key: &'a PullKey) -> Answer<'a, ()> {
        self.queue.close_pull(key);
        answer(Ok(()))
    }

    fn take(&self, within: Duration) -> Answer<'_, Option<Lease>> {
        Box::pin(async move {
            Ok(self.queue.next(within).await.map(|job| Lease {
                key: job.spec.key().to_string(),
                head: job.spec.head_sha.clone(),
                work: Work::Analyse(job),
                id: 0,
                took_over: false,
            }))
        })
    }

    fn heartbeat<'a>(&'a self, _lease: &'a Lease) -> Answer<'a, bool> {
        answer(Ok(true))
    }

    fn still_mine<'a>(&'a self, _lease: &'a Lease) -> Answer<'a, bool> {
        // Nobody else can take a job of this process.
        answer(Ok(true))
    }

    fn complete<'a>(&'a self, lease: &'a Lease) -> Answer<'a, ()> {
        if let Some(j) = lease.job() {
            self.queue.done(&j.spec.key());
        }
        answer(Ok(()))
    }

    fn newest_head<'a>(&'a self, key: &'a PullKey) -> Answer<'a, Option<String>> {
        answer(Ok(self.queue.newest(key)))
    }

    fn counts(&self) -> Answer<'_, (usize, usize)> {
        answer(Ok((self.queue.depth(), self.queue.running())))
    }

    fn claim<'a>(&'a self, _name: &'a str, _interval: Duration) -> Answer<'a, bool> {
        answer(Ok(true))
    }

    fn prune(&self) -> Answer<'_, u64> {
        // The process's record is bounded by count instead.
        answer(Ok(0))
    }

    fn begin_attempt<'a>(
        &'a self,
        repo: &'a str,
        head: &'a str,
        budget: Budget,
    ) -> Answer<'a, Result<(), Refusal>> {
        answer(self.attempts.begin(repo, head, budget).map_err(QueueError))
    }

    fn end_attempt<'a>(
        &'a self,
        repo: &'a str,
        head: &'a str,
        ended: Ended,
        budget: Budget,
    ) -> Answer<'a, ()> {
        answer(
            self.attempts
                .end(repo, head, ended, budget)
                .map_err(QueueError),
        )
    }

    fn shut(&self) {
        self.queue.shut();
    }

    fn is_shut(&self) -> bool {
        self.queue.is_shut()
    }
}

#[cfg(test)]
mod tests {
    use super::super::JobSpec;
    use super::*;
    use std::time::Instant;

    const A_WHILE: Duration = Duration::from_secs(5);

    fn job(number: u64, head: &str) -> Job {
        Job {
            spec: JobSpec {
                installation: 1,
                repo: "o/r".into(),
                clone_url: "https://x/o/r.git".into(),
                number,
                merge_group: None,
                base_sha: "a".repeat(40),
                head_sha: head.repeat(40),
                fresh: false,
            },
            received: Instant::now(),
        }
    }

    #[tokio::test]
    async fn coalesces_and_serialises_per_pull_request() {
        let q = Queue::new(10);
        assert_eq!(q.push(job(1, "b")), Pushed::Queued);
        assert_eq!(q.push(job(2, "c")), Pushed::Queued);
        assert_eq!(q.push(job(1, "d")), Pushed::Coalesced);
        assert_eq!(q.depth(), 2);
        let first = q.next(A_WHILE).await.unwrap();
        assert_eq!((first.spec.number, &first.spec.head_sha[..1]), (1, "d"));
        assert!(q.is_current(&first.spec.key(), &first.spec.head_sha));
        // A new head for #1 while it runs: queued, not handed out yet.
        q.push(job(1, "e"));
        assert!(!q.is_current(&first.spec.key(), &first.spec.head_sha));
        let second = q.next(A_WHILE).await.unwrap();
        assert_eq!(second.spec.number, 2);
        assert!(q.try_next().is_none(), "#1 is running");
        q.done(&first.spec.key());
        let third = q.next(A_WHILE).await.unwrap();
        assert_eq!((third.spec.number, &third.spec.head_sha[..1]), (1, "e"));
    }

    #[test]
    fn bounded_closing_and_shutting() {
        let q = Queue::new(2);
        q.push(job(1, "b"));
        q.push(job(2, "b"));
        assert_eq!(q.push(job(3, "b")), Pushed::Full);
        // Coalescing into a pending job never needs room.
        assert_eq!(q.push(job(2, "c")), Pushed::Coalesced);
        assert!(q.close_pull(&job(1, "b").spec.key()));
        assert_eq!(q.depth(), 1);
        assert_eq!(q.push(job(3, "b")), Pushed::Queued);
        q.shut();
        assert!(q.try_next().is_none());
    }

    #[tokio::test]
    async fn a_waiting_worker_wakes_on_push_and_on_shut() {
        let q = std::sync::Arc::new(Queue::new(4));
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.next(A_WHILE).await.map(|j| j.spec.number) });
        tokio::task::yield_now().await;
        q.push(job(9, "b"));
        assert_eq!(waiter.await.unwrap(), Some(9));
        let q3 = q.clone();
        let waiter = tokio::spawn(async move { q3.next(A_WHILE).await.is_none() });
        tokio::task::yield_now().await;
        q.shut();
        assert!(waiter.await.unwrap());
    }

    #[test]
    fn deliveries_are_remembered_within_capacity() {
        let d = Deliveries::new(2);
        assert!(d.first_time("a"));
        assert!(!d.first_time("a"));
        assert!(d.first_time("b"));
        assert!(d.first_time("c"));
        assert!(d.first_time("a"), "the oldest was forgotten");
        d.forget("c");
        assert!(d.first_time("c"));
    }
}
