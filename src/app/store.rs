//! The one interface the App's handlers and workers use for jobs, seen
//! deliveries and the no-retry record: in the process (one replica, the
//! default) or shared in PostgreSQL (`--queue-url`, any number of
//! replicas). Handlers only push; workers only take, heartbeat and finish.

use super::attempts::{Ended, FileAttempts, Refusal};
use super::contain::Budget;
use super::events::PullKey;
use super::queue::{Deliveries, Job, Pushed, Queue};
use super::shared::{Shared, StoreError, Taken, Work};
use std::sync::Arc;
use std::time::Duration;

pub enum Store {
    /// One replica: memory for the queue and deliveries, the cache
    /// directory for the no-retry record.
    Local {
        queue: Arc<Queue>,
        deliveries: Deliveries,
        attempts: FileAttempts,
    },
    Shared(Arc<Shared>),
}

/// A job being worked on, and how to tell it is still ours.
#[derive(Clone, Debug)]
pub struct Lease {
    pub work: Work,
    /// The shared store's lease (none in the process: nobody else can take
    /// the job).
    pub taken: Option<Taken>,
}

impl Lease {
    pub fn job(&self) -> Option<&Job> {
        match &self.work {
            Work::Analyse(j) => Some(j),
            Work::Reconcile { .. } => None,
        }
    }
}

impl Store {
    pub fn local(capacity: usize, attempts: FileAttempts) -> Store {
        Store::Local {
            queue: Arc::new(Queue::new(capacity)),
            deliveries: Deliveries::new(100_000),
            attempts,
        }
    }

    /// Whether the store can take deliveries (`/readyz`).
    pub fn ready(&self) -> bool {
        match self {
            Store::Local { .. } => true,
            Store::Shared(s) => s.healthy(),
        }
    }

    pub async fn first_delivery(&self, id: &str) -> Result<bool, StoreError> {
        match self {
            Store::Local { deliveries, .. } => Ok(deliveries.first_time(id)),
            Store::Shared(s) => s.first_delivery(id).await,
        }
    }

    pub async fn forget_delivery(&self, id: &str) {
        match self {
            Store::Local { deliveries, .. } => deliveries.forget(id),
            Store::Shared(s) => s.forget_delivery(id).await,
        }
    }

    /// Queues `job` (unless its head is already pending or running, with
    /// `unless_known`).
    pub async fn push(&self, job: Job, unless_known: bool) -> Result<Option<Pushed>, StoreError> {
        match self {
            Store::Local { queue, .. } if unless_known => Ok(queue.push_unless_known(job)),
            Store::Local { queue, .. } => Ok(Some(queue.push(job))),
            Store::Shared(s) => s.push(&job, unless_known).await,
        }
    }

    /// Queues a keyed reconciliation of `installation`; false when the
    /// store has no such jobs (the process reconciles by itself).
    pub async fn push_reconcile(&self, installation: u64) -> Result<bool, StoreError> {
        match self {
            Store::Local { .. } => Ok(false),
            Store::Shared(s) => s.push_reconcile(installation).await.map(|_| true),
        }
    }

    pub async fn close(&self, key: &PullKey) -> Result<(), StoreError> {
        match self {
            Store::Local { queue, .. } => {
                queue.close_pull(key);
                Ok(())
            }
            Store::Shared(s) => s.close(key).await,
        }
    }

    /// The next job; `None` once shut.
    pub async fn next(&self) -> Option<Lease> {
        match self {
            Store::Local { queue, .. } => queue.next().await.map(|j| Lease {
                work: Work::Analyse(j),
                taken: None,
            }),
            Store::Shared(s) => s.next().await.map(|t| Lease {
                work: t.work.clone(),
                taken: Some(t),
            }),
        }
    }

    /// Keeps a shared lease alive while `lease` is worked on: renewed every
    /// third of the recovery time; stopped by aborting the task.
    pub fn heartbeat(&self, lease: &Lease, every: Duration) -> Option<tokio::task::JoinHandle<()>> {
        let (Store::Shared(s), Some(t)) = (self, &lease.taken) else {
            return None;
        };
        let (s, t) = (s.clone(), t.clone());
        Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match s.heartbeat(&t).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = %t.key, "the job's lease is no longer this replica's");
                        return;
                    }
                    Err(e) => tracing::warn!(job = %t.key, error = %e, "could not renew the lease"),
                }
            }
        }))
    }

    pub async fn done(&self, lease: &Lease) {
        match (self, &lease.taken) {
            (Store::Local { queue, .. }, _) => {
                if let Some(j) = lease.job() {
                    queue.done(&j.spec.key());
                }
            }
            (Store::Shared(s), Some(t)) => {
                if let Err(e) = s.done(t).await {
                    // The lease runs out and another replica redoes it.
                    tracing::warn!(job = %t.key, error = %e, "could not finish the job in the queue");
                }
            }
            (Store::Shared(_), None) => {}
        }
    }

    /// Whether `head` is the newest delivered for `key` (the store's view;
    /// GitHub's answer is asked apart).
    pub async fn is_current(&self, key: &PullKey, head: &str) -> bool {
        match self {
            Store::Local { queue, .. } => queue.is_current(key, head),
            Store::Shared(s) => match s.newest_head(key).await {
                Ok(h) => h.is_none_or(|h| h == head),
                Err(_) => true,
            },
        }
    }

    /// Whether `lease` is still this replica's: asked before every GitHub
    /// write; an unreachable database is a no.
    pub async fn still_mine(&self, lease: &Lease) -> bool {
        match (self, &lease.taken) {
            (Store::Local { .. }, _) => true,
            (Store::Shared(s), Some(t)) => s.still_mine(t).await,
            (Store::Shared(_), None) => false,
        }
    }

    /// (Jobs waiting, jobs running), fleet-wide with a shared store.
    pub async fn counts(&self) -> Result<(usize, usize), StoreError> {
        match self {
            Store::Local { queue, .. } => Ok((queue.depth(), queue.running())),
            Store::Shared(s) => s.counts().await,
        }
    }

    /// Whether this replica runs the periodic task `name` now.
    pub async fn claim(&self, name: &str, interval: Duration) -> bool {
        match self {
            Store::Local { .. } => true,
            Store::Shared(s) => match s.claim(name, interval).await {
                Ok(won) => won,
                Err(e) => {
                    tracing::warn!(error = %e, "could not schedule {name}");
                    false
                }
            },
        }
    }

    /// Forgets deliveries older than three days (the shared record; the
    /// process's own is bounded by count).
    pub async fn prune(&self) {
        if let Store::Shared(s) = self {
            match s.prune().await {
                Ok(n) => tracing::debug!(pruned = n, "old deliveries forgotten"),
                Err(e) => tracing::warn!(error = %e, "could not prune the delivery record"),
            }
        }
    }

    pub fn shut(&self) {
        match self {
            Store::Local { queue, .. } => queue.shut(),
            Store::Shared(s) => s.shut(),
        }
    }

    /// The no-retry record as a job's thread uses it.
    pub fn attempts<'a>(&'a self, rt: &'a tokio::runtime::Handle) -> Attempts<'a> {
        Attempts { store: self, rt }
    }

    /// The no-retry record (blocking: called from a job's thread).
    pub fn begin_attempt(
        &self,
        rt: &tokio::runtime::Handle,
        repo: &str,
        head: &str,
        budget: Budget,
    ) -> Result<Result<(), Refusal>, String> {
        match self {
            Store::Local { attempts, .. } => attempts.begin(repo, head, budget),
            Store::Shared(s) => rt
                .block_on(s.begin_attempt(repo, head, budget))
                .map_err(|e| e.to_string()),
        }
    }

    pub fn end_attempt(
        &self,
        rt: &tokio::runtime::Handle,
        repo: &str,
        head: &str,
        ended: Ended,
        budget: Budget,
    ) -> Result<(), String> {
        match self {
            Store::Local { attempts, .. } => attempts.end(repo, head, ended, budget),
            Store::Shared(s) => rt
                .block_on(s.end_attempt(repo, head, ended, budget))
                .map_err(|e| e.to_string()),
        }
    }
}

/// The no-retry record of the store, for a job's (blocking) thread.
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
    ) -> Result<Result<(), Refusal>, String> {
        self.store.begin_attempt(self.rt, repo, head, budget)
    }

    pub fn end(&self, repo: &str, head: &str, ended: Ended, budget: Budget) -> Result<(), String> {
        self.store.end_attempt(self.rt, repo, head, ended, budget)
    }
}
