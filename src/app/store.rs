//! The App's side of the queue ([`crate::ops::queue::JobQueue`]): which
//! queue a replica uses, and what its handlers and workers do when the
//! queue answers late or not at all (wait and retry with a growing pause,
//! renew a lease on a timer, say so in the log). Handlers only push;
//! workers only take, renew, complete and record attempts.

use crate::ops::queue::{Budget, Ended, JobQueue, Lease, PullKey, QueueError, Refusal};
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

pub struct Store {
    queue: Arc<dyn JobQueue>,
}

impl Deref for Store {
    type Target = dyn JobQueue;

    fn deref(&self) -> &Self::Target {
        &*self.queue
    }
}

/// How long a worker waits for a job before it asks again (a lease that
/// ran out is noticed by asking).
const POLL: Duration = Duration::from_secs(1);

impl Store {
    pub fn new(queue: Arc<dyn JobQueue>) -> Store {
        Store { queue }
    }

    /// The next job; `None` once shut. An unreachable queue is retried
    /// with a growing pause (at most 30 s) and said once per attempt.
    pub async fn next(&self) -> Option<Lease> {
        let mut backoff = Duration::from_millis(500);
        loop {
            if self.queue.is_shut() {
                return None;
            }
            match self.queue.take(POLL).await {
                Ok(Some(lease)) => return Some(lease),
                Ok(None) => backoff = Duration::from_millis(500),
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "the queue database is unreachable");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// Keeps `lease` alive while it is worked on, renewed `every` (a third
    /// of the recovery time); stopped by aborting the task. None when the
    /// queue's leases do not run out.
    pub fn keep_alive(
        &self,
        lease: &Lease,
        every: Duration,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if !self.queue.leases_expire() {
            return None;
        }
        let (q, lease) = (self.queue.clone(), lease.clone());
        Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match q.heartbeat(&lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = %lease.key, "the job's lease is no longer this replica's");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(job = %lease.key, error = %e, "could not renew the lease")
                    }
                }
            }
        }))
    }

    /// Forgets delivery `id` so that GitHub's redelivery of a delivery
    /// refused with 503 is acted on.
    pub async fn forget(&self, id: &str) {
        if let Err(e) = self.queue.forget_delivery(id).await {
            tracing::warn!(delivery = id, error = %e, "could not forget the delivery");
        }
    }

    /// The job ended; a queue that cannot be told lets the lease run out
    /// and another replica redoes the job.
    pub async fn done(&self, lease: &Lease) {
        if let Err(e) = self.queue.complete(lease).await {
            tracing::warn!(job = %lease.key, error = %e, "could not finish the job in the queue");
        }
    }

    /// Whether `head` is the newest delivered for `key` (the queue's view;
    /// GitHub's answer is asked apart). Unknown is yes: GitHub decides.
    pub async fn is_current(&self, key: &PullKey, head: &str) -> bool {
        match self.queue.newest_head(key).await {
            Ok(h) => h.is_none_or(|h| h == head),
            Err(_) => true,
        }
    }

    /// Whether `lease` is still this replica's: asked before every GitHub
    /// write; a queue that cannot say is a no.
    pub async fn mine(&self, lease: &Lease) -> bool {
        match self.queue.still_mine(lease).await {
            Ok(mine) => mine,
            Err(e) => {
                tracing::warn!(job = %lease.key, error = %e, "could not confirm the lease");
                false
            }
        }
    }

    /// Whether this replica runs the periodic task `name` now.
    pub async fn my_turn(&self, name: &str, interval: Duration) -> bool {
        match self.queue.claim(name, interval).await {
            Ok(won) => won,
            Err(e) => {
                tracing::warn!(error = %e, "could not schedule {name}");
                false
            }
        }
    }

    /// Forgets deliveries older than three days.
    pub async fn prune_deliveries(&self) {
        match self.queue.prune().await {
            Ok(n) => tracing::debug!(pruned = n, "old deliveries forgotten"),
            Err(e) => tracing::warn!(error = %e, "could not prune the delivery record"),
        }
    }

    /// The no-retry record as a job's (blocking) thread uses it.
    pub fn attempts<'a>(&'a self, rt: &'a tokio::runtime::Handle) -> Attempts<'a> {
        Attempts { store: self, rt }
    }
}

/// The no-retry record of the queue, for a job's (blocking) thread.
pub struct Attempts<'a> {
    store: &'a Store,
    rt: &'a tokio::runtime::Handle,
}

impl Attempts<'_> {
    pub fn begin(
        &self,
        repo: &str,
        head: &str,
        budget: Budget,
    ) -> Result<Result<(), Refusal>, QueueError> {
        self.rt
            .block_on(self.store.queue.begin_attempt(repo, head, budget))
    }

    pub fn end(
        &self,
        repo: &str,
        head: &str,
        ended: Ended,
        budget: Budget,
    ) -> Result<(), QueueError> {
        self.rt
            .block_on(self.store.queue.end_attempt(repo, head, ended, budget))
    }
}
