//! The shared queue of a fleet of `reachdiff serve` replicas: jobs, seen
//! deliveries, the no-retry record and the reconciliation schedule in one
//! PostgreSQL database (`--queue-url`).
//!
//! Plain SQL on tokio-postgres, every decision one statement or one
//! transaction, so the database is the only arbiter (no leader, no file
//! lock, no protocol of our own):
//! - one row per pull request (or merge group, or keyed reconciliation):
//!   the newest delivered spec, `pending` until a job for that head ends;
//! - a job is taken with `FOR UPDATE SKIP LOCKED` and holds a lease
//!   (`owner`, `lease`, `lease_until`) that a heartbeat renews; a lease
//!   that ran out is taken over by any replica, and a replica checks its
//!   lease before every GitHub write;
//! - `reachdiff_deliveries` remembers delivery ids for three days;
//! - `reachdiff_attempts` is the no-retry record of the fleet;
//! - `reachdiff_cron` lets one replica per interval reconcile.
//!
//! The schema is created at start under a transaction-scoped advisory lock,
//! so replicas starting together do not race on the catalogue.

use super::attempts::{Budget, Ended, Record, Refusal};
use super::{
    Answer, Job, JobQueue, JobSpec, Lease, PullKey, Pushed, QueueError, Work, valid_clone_url,
    valid_repo_name,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// `postgres://user:***@host/db`: a URL fit for logs and errors.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(a connection string that is not a URL)".into();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    // Only a path (database name) survives; query parameters may hold a
    // password too.
    let tail = tail.split('?').next().unwrap_or_default();
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{user}:***@{host}")
        }
        None => authority.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS reachdiff_jobs (
    key          text PRIMARY KEY,
    kind         text NOT NULL,
    spec         text NOT NULL,
    head         text NOT NULL,
    fresh        boolean NOT NULL DEFAULT false,
    pending      boolean NOT NULL,
    received     timestamptz NOT NULL,
    owner        text,
    lease        bigint,
    lease_until  timestamptz
);
CREATE INDEX IF NOT EXISTS reachdiff_jobs_pending ON reachdiff_jobs (received) WHERE pending;
CREATE TABLE IF NOT EXISTS reachdiff_deliveries (
    id    text PRIMARY KEY,
    seen  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS reachdiff_attempts (
    repo      text NOT NULL,
    head      text NOT NULL,
    attempts  integer NOT NULL,
    state     text NOT NULL,
    memory    bigint NOT NULL DEFAULT 0,
    seconds   bigint NOT NULL DEFAULT 0,
    updated   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repo, head)
);
CREATE TABLE IF NOT EXISTS reachdiff_cron (
    name      text PRIMARY KEY,
    next_run  timestamptz NOT NULL
);
"#;

/// An arbitrary constant: the advisory lock that serialises migrations.
const MIGRATION_LOCK: i64 = 0x7265_6163_6864_6966; // "reachdif"

/// The store, one pool of connections, and this replica's identity.
pub struct Postgres {
    pool: deadpool_postgres::Pool,
    owner: String,
    recovery: Duration,
    capacity: i64,
    healthy: AtomicBool,
    wake: tokio::sync::Notify,
    closed: AtomicBool,
    redacted: String,
}

fn err(what: &str, e: impl std::fmt::Display) -> QueueError {
    QueueError(format!("{what}: {e}"))
}

impl Postgres {
    /// Connects, creates or migrates the schema, and starts listening for
    /// new jobs. `url` appears in errors only redacted.
    pub async fn open(
        url: &str,
        replica: &str,
        recovery: Duration,
        capacity: usize,
    ) -> Result<Arc<Postgres>, QueueError> {
        let redacted = redact(url);
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| err(&format!("--queue-url {redacted}"), e))?;
        let manager = deadpool_postgres::Manager::from_config(
            config.clone(),
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(16)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| err(&format!("--queue-url {redacted}"), e))?;
        let shared = Arc::new(Postgres {
            pool,
            owner: format!("{replica}-{:x}", rand_lease()),
            recovery,
            capacity: capacity as i64,
            healthy: AtomicBool::new(true),
            wake: tokio::sync::Notify::new(),
            closed: AtomicBool::new(false),
            redacted: redacted.clone(),
        });
        let mut client = shared
            .pool
            .get()
            .await
            .map_err(|e| err(&format!("connecting to {redacted}"), e))?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| err("starting the migration", e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| err("locking the migration", e))?;
        tx.batch_execute(SCHEMA)
            .await
            .map_err(|e| err("creating the schema", e))?;
        tx.commit()
            .await
            .map_err(|e| err("creating the schema", e))?;
        drop(client);
        Postgres::listen(shared.clone(), config).await;
        Ok(shared)
    }

    /// A connection of its own that `LISTEN`s for new jobs and wakes the
    /// workers (they also poll once a second, so a lost notification or
    /// a lease running out is noticed anyway).
    async fn listen(shared: Arc<Postgres>, config: tokio_postgres::Config) {
        tokio::spawn(async move {
            let mut backoff = Duration::from_secs(1);
            loop {
                if shared.closed.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok((client, mut conn)) = config.connect(tokio_postgres::NoTls).await {
                    let s2 = shared.clone();
                    let driver = tokio::spawn(async move {
                        let mut messages =
                            futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
                        use futures_util::StreamExt;
                        while let Some(m) = messages.next().await {
                            match m {
                                Ok(tokio_postgres::AsyncMessage::Notification(_)) => {
                                    s2.wake.notify_waiters()
                                }
                                Ok(_) => {}
                                Err(_) => break,
                            }
                        }
                    });
                    if client.batch_execute("LISTEN reachdiff_jobs").await.is_ok() {
                        backoff = Duration::from_secs(1);
                    }
                    let _ = driver.await;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        });
    }

    pub fn redacted_url(&self) -> &str {
        &self.redacted
    }

    /// Whether the last use of the database worked (`/readyz`).
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::SeqCst)
    }

    fn seen<T>(&self, r: Result<T, QueueError>) -> Result<T, QueueError> {
        self.healthy.store(r.is_ok(), Ordering::SeqCst);
        r
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, QueueError> {
        let c = self
            .pool
            .get()
            .await
            .map_err(|e| err("the queue database", e));
        self.seen(c)
    }

    /// Records delivery `id`; false when any replica saw it before.
    async fn record_delivery(&self, id: &str) -> Result<bool, QueueError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "INSERT INTO reachdiff_deliveries (id) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&id],
            )
            .await
            .map_err(|e| err("recording the delivery", e));
        Ok(self.seen(n)? == 1)
    }

    /// Forgets `id` (a delivery refused with 503 may come again).
    async fn unrecord_delivery(&self, id: &str) -> Result<(), QueueError> {
        let c = self.client().await?;
        let r = c
            .execute("DELETE FROM reachdiff_deliveries WHERE id = $1", &[&id])
            .await
            .map_err(|e| err("forgetting the delivery", e));
        self.seen(r).map(|_| ())
    }

    /// Queues `job`; with `unless_known`, nothing when its head is already
    /// pending or running. A newer head replaces the pending one.
    async fn queue_job(&self, job: &Job, unless_known: bool) -> Result<Option<Pushed>, QueueError> {
        let key = job.spec.key().to_string();
        let spec = spec_json(&job.spec);
        let head = job.spec.head_sha.as_str();
        let r = self
            .upsert(&key, "analyse", &spec, head, job.spec.fresh, unless_known)
            .await;
        self.seen(r)
    }

    /// One keyed reconciliation of `installation` (installation events).
    async fn queue_reconcile(&self, installation: u64) -> Result<(), QueueError> {
        let key = format!("installation:{installation}");
        let spec = serde_json::json!({ "installation": installation }).to_string();
        let r = self
            .upsert(&key, "reconcile", &spec, "", false, false)
            .await;
        self.seen(r).map(|_| ())
    }

    async fn upsert(
        &self,
        key: &str,
        kind: &str,
        spec: &str,
        head: &str,
        fresh: bool,
        unless_known: bool,
    ) -> Result<Option<Pushed>, QueueError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(|e| err("queueing", e))?;
        let row = tx
            .query_opt(
                "SELECT head, pending, fresh, owner IS NOT NULL AND lease_until > now() FROM reachdiff_jobs WHERE key = $1 FOR UPDATE",
                &[&key],
            )
            .await
            .map_err(|e| err("queueing", e))?;
        let pushed = match row {
            Some(r) => {
                let (old_head, pending, old_fresh, running): (String, bool, bool, bool) =
                    (r.get(0), r.get(1), r.get(2), r.get(3));
                let same = old_head == head;
                if unless_known && same && (pending || running) {
                    return Ok(None);
                }
                if !pending && self.full(&tx).await? {
                    return Ok(Some(Pushed::Full));
                }
                // A re-run of the pending head stays a re-run.
                let fresh = fresh || (pending && same && old_fresh);
                tx.execute(
                    "UPDATE reachdiff_jobs SET spec = $2, head = $3, fresh = $4, pending = true, received = CASE WHEN pending THEN received ELSE now() END WHERE key = $1",
                    &[&key, &spec, &head, &fresh],
                )
                .await
                .map_err(|e| err("queueing", e))?;
                if pending {
                    Pushed::Coalesced
                } else {
                    Pushed::Queued
                }
            }
            None => {
                if self.full(&tx).await? {
                    return Ok(Some(Pushed::Full));
                }
                tx.execute(
                    "INSERT INTO reachdiff_jobs (key, kind, spec, head, fresh, pending, received) VALUES ($1, $2, $3, $4, $5, true, now()) ON CONFLICT (key) DO UPDATE SET spec = EXCLUDED.spec, head = EXCLUDED.head, fresh = EXCLUDED.fresh, pending = true",
                    &[&key, &kind, &spec, &head, &fresh],
                )
                .await
                .map_err(|e| err("queueing", e))?;
                Pushed::Queued
            }
        };
        tx.execute("NOTIFY reachdiff_jobs", &[])
            .await
            .map_err(|e| err("queueing", e))?;
        tx.commit().await.map_err(|e| err("queueing", e))?;
        Ok(Some(pushed))
    }

    async fn full(&self, tx: &deadpool_postgres::Transaction<'_>) -> Result<bool, QueueError> {
        let n: i64 = tx
            .query_one("SELECT count(*) FROM reachdiff_jobs WHERE pending", &[])
            .await
            .map_err(|e| err("queueing", e))?
            .get(0);
        Ok(n >= self.capacity)
    }

    /// A closed pull request: its pending job goes (a running one ends by
    /// itself, finding the pull request closed).
    async fn drop_pull(&self, key: &PullKey) -> Result<(), QueueError> {
        let c = self.client().await?;
        let r = c
            .execute(
                "DELETE FROM reachdiff_jobs WHERE key = $1 AND (owner IS NULL OR lease_until < now())",
                &[&key.to_string()],
            )
            .await
            .map_err(|e| err("closing", e));
        self.seen(r).map(|_| ())
    }

    /// Takes the oldest runnable job: pending, and not leased by a live
    /// replica (a lease that ran out is taken over).
    async fn take_one(&self) -> Result<Option<Lease>, QueueError> {
        let c = self.client().await?;
        let lease: i64 = rand_lease();
        let secs = self.recovery.as_secs_f64();
        let row = c
            .query_opt(
                "WITH next AS (
                    SELECT key, owner AS previous, fresh AS was_fresh FROM reachdiff_jobs
                    WHERE pending AND (owner IS NULL OR lease_until < now())
                    ORDER BY received LIMIT 1 FOR UPDATE SKIP LOCKED)
                 UPDATE reachdiff_jobs j
                 SET owner = $1, lease = $2, lease_until = now() + make_interval(secs => $3),
                     fresh = false
                 FROM next WHERE j.key = next.key
                 RETURNING j.key, j.kind, j.spec, j.head, next.was_fresh, next.previous IS NOT NULL,
                           extract(epoch from now() - j.received)::float8",
                &[&self.owner, &lease, &secs],
            )
            .await
            .map_err(|e| err("taking a job", e));
        let Some(row) = self.seen(row)? else {
            return Ok(None);
        };
        let (key, kind, spec, head, fresh, took_over, waited): (
            String,
            String,
            String,
            String,
            bool,
            bool,
            f64,
        ) = (
            row.get(0),
            row.get(1),
            row.get(2),
            row.get(3),
            row.get(4),
            row.get(5),
            row.get(6),
        );
        let work = match kind.as_str() {
            "reconcile" => Work::Reconcile {
                installation: serde_json::from_str::<serde_json::Value>(&spec)
                    .ok()
                    .and_then(|v| v.get("installation")?.as_u64())
                    .unwrap_or(0),
            },
            _ => match spec_from_json(&spec) {
                Some(mut s) => {
                    s.fresh = fresh;
                    Work::Analyse(Job {
                        spec: s,
                        received: Instant::now()
                            .checked_sub(Duration::from_secs_f64(waited.max(0.0)))
                            .unwrap_or_else(Instant::now),
                    })
                }
                None => {
                    // A row this binary cannot read: dropped, not retried
                    // forever.
                    let _ = c
                        .execute("DELETE FROM reachdiff_jobs WHERE key = $1", &[&key])
                        .await;
                    return Ok(None);
                }
            },
        };
        Ok(Some(Lease {
            key,
            work,
            head,
            id: lease,
            took_over,
        }))
    }

    /// A runnable job, waiting at most `within` for a notification (or
    /// for a lease to run out: the caller asks again).
    async fn take_within(&self, within: Duration) -> Result<Option<Lease>, QueueError> {
        if self.closed.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let notified = self.wake.notified();
        if let Some(t) = self.take_one().await? {
            return Ok(Some(t));
        }
        if tokio::time::timeout(within, notified).await.is_err()
            || self.closed.load(Ordering::SeqCst)
        {
            return Ok(None);
        }
        self.take_one().await
    }

    /// Renews the lease; false when it is no longer this replica's.
    async fn renew(&self, t: &Lease) -> Result<bool, QueueError> {
        let c = self.client().await?;
        let secs = self.recovery.as_secs_f64();
        let n = c
            .execute(
                "UPDATE reachdiff_jobs SET lease_until = now() + make_interval(secs => $3) WHERE key = $1 AND lease = $2 AND lease_until > now()",
                &[&t.key, &t.id, &secs],
            )
            .await
            .map_err(|e| err("renewing the lease", e));
        Ok(self.seen(n)? == 1)
    }

    /// Whether the job is still this replica's (asked before every GitHub
    /// write; the caller takes an error for a no).
    async fn holds(&self, t: &Lease) -> Result<bool, QueueError> {
        let c = self.client().await?;
        let r = c
            .query_opt(
                "SELECT 1 FROM reachdiff_jobs WHERE key = $1 AND lease = $2 AND lease_until > now()",
                &[&t.key, &t.id],
            )
            .await
            .map_err(|e| err("checking the lease", e));
        Ok(self.seen(r)?.is_some())
    }

    /// The job ended: the lease goes, and the row stays pending only if a
    /// newer head, or a re-run, arrived meanwhile (reconcile rows go).
    async fn finish(&self, t: &Lease) -> Result<(), QueueError> {
        let c = self.client().await?;
        let r = c
            .execute(
                "WITH d AS (DELETE FROM reachdiff_jobs WHERE key = $1 AND lease = $2 AND kind = 'reconcile' RETURNING 1)
                 UPDATE reachdiff_jobs SET owner = NULL, lease = NULL, lease_until = NULL,
                        pending = (head <> $3 OR fresh)
                 WHERE key = $1 AND lease = $2 AND kind <> 'reconcile'",
                &[&t.key, &t.id, &t.head],
            )
            .await
            .map_err(|e| err("finishing a job", e));
        self.seen(r).map(|_| ())
    }

    /// The newest head delivered for `key` (`None`: no row).
    async fn head_of(&self, key: &PullKey) -> Result<Option<String>, QueueError> {
        let c = self.client().await?;
        let r = c
            .query_opt(
                "SELECT head FROM reachdiff_jobs WHERE key = $1",
                &[&key.to_string()],
            )
            .await
            .map_err(|e| err("reading the newest head", e));
        Ok(self.seen(r)?.map(|row| row.get(0)))
    }

    /// (Jobs waiting, jobs running), fleet-wide.
    async fn count(&self) -> Result<(usize, usize), QueueError> {
        let c = self.client().await?;
        let r = c
            .query_one(
                "SELECT count(*) FILTER (WHERE pending AND (owner IS NULL OR lease_until < now())),
                        count(*) FILTER (WHERE owner IS NOT NULL AND lease_until >= now())
                 FROM reachdiff_jobs",
                &[],
            )
            .await
            .map_err(|e| err("counting jobs", e));
        let row = self.seen(r)?;
        let (a, b): (i64, i64) = (row.get(0), row.get(1));
        Ok((a as usize, b as usize))
    }

    /// Whether this replica runs the `name` task now: at most one replica
    /// per `interval` wins (and the first call after a quiet spell).
    async fn claim_turn(&self, name: &str, interval: Duration) -> Result<bool, QueueError> {
        let c = self.client().await?;
        let secs = interval.as_secs_f64();
        let r = c
            .execute(
                "INSERT INTO reachdiff_cron (name, next_run) VALUES ($1, now() + make_interval(secs => $2))
                 ON CONFLICT (name) DO UPDATE SET next_run = now() + make_interval(secs => $2)
                 WHERE reachdiff_cron.next_run <= now()",
                &[&name, &secs],
            )
            .await
            .map_err(|e| err("scheduling", e));
        Ok(self.seen(r)? == 1)
    }

    /// Deliveries older than three days are forgotten.
    async fn prune_deliveries(&self) -> Result<u64, QueueError> {
        let c = self.client().await?;
        let r = c
            .execute(
                "DELETE FROM reachdiff_deliveries WHERE seen < now() - interval '3 days'",
                &[],
            )
            .await
            .map_err(|e| err("pruning deliveries", e));
        self.seen(r)
    }

    /// The no-retry record, fleet-wide (see [`super::attempts`]).
    async fn begin(
        &self,
        repo: &str,
        head: &str,
        budget: Budget,
    ) -> Result<Result<(), Refusal>, QueueError> {
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(|e| err("the no-retry record", e))?;
        let record = locked_record(&tx, repo, head)
            .await?
            .unwrap_or_else(|| Record {
                repo: repo.into(),
                head: head.into(),
                ..Record::default()
            });
        let next = match record.begin(budget) {
            Ok(r) => r,
            Err(refusal) => return Ok(Err(refusal)),
        };
        write_record(&tx, &next).await?;
        tx.commit()
            .await
            .map_err(|e| err("the no-retry record", e))?;
        Ok(Ok(()))
    }

    async fn end(
        &self,
        repo: &str,
        head: &str,
        ended: Ended,
        budget: Budget,
    ) -> Result<(), QueueError> {
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(|e| err("the no-retry record", e))?;
        let Some(record) = locked_record(&tx, repo, head).await? else {
            return Ok(());
        };
        match record.end(ended, budget) {
            Some(next) => write_record(&tx, &next).await?,
            None => {
                tx.execute(
                    "DELETE FROM reachdiff_attempts WHERE repo = $1 AND head = $2",
                    &[&repo, &head],
                )
                .await
                .map_err(|e| err("the no-retry record", e))?;
            }
        }
        tx.commit().await.map_err(|e| err("the no-retry record", e))
    }
}

impl JobQueue for Postgres {
    fn ready(&self) -> bool {
        self.healthy()
    }

    fn leases_expire(&self) -> bool {
        true
    }

    fn first_delivery<'a>(&'a self, id: &'a str) -> Answer<'a, bool> {
        Box::pin(self.record_delivery(id))
    }

    fn forget_delivery<'a>(&'a self, id: &'a str) -> Answer<'a, ()> {
        Box::pin(self.unrecord_delivery(id))
    }

    fn push(&self, job: Job, unless_known: bool) -> Answer<'_, Option<Pushed>> {
        Box::pin(async move { self.queue_job(&job, unless_known).await })
    }

    fn push_reconcile(&self, installation: u64) -> Answer<'_, bool> {
        Box::pin(async move { self.queue_reconcile(installation).await.map(|_| true) })
    }

    fn close<'a>(&'a self, key: &'a PullKey) -> Answer<'a, ()> {
        Box::pin(self.drop_pull(key))
    }

    fn take(&self, within: Duration) -> Answer<'_, Option<Lease>> {
        Box::pin(self.take_within(within))
    }

    fn heartbeat<'a>(&'a self, lease: &'a Lease) -> Answer<'a, bool> {
        Box::pin(self.renew(lease))
    }

    fn still_mine<'a>(&'a self, lease: &'a Lease) -> Answer<'a, bool> {
        Box::pin(self.holds(lease))
    }

    fn complete<'a>(&'a self, lease: &'a Lease) -> Answer<'a, ()> {
        Box::pin(self.finish(lease))
    }

    fn newest_head<'a>(&'a self, key: &'a PullKey) -> Answer<'a, Option<String>> {
        Box::pin(self.head_of(key))
    }

    fn counts(&self) -> Answer<'_, (usize, usize)> {
        Box::pin(self.count())
    }

    fn claim<'a>(&'a self, name: &'a str, interval: Duration) -> Answer<'a, bool> {
        Box::pin(self.claim_turn(name, interval))
    }

    fn prune(&self) -> Answer<'_, u64> {
        Box::pin(self.prune_deliveries())
    }

    fn begin_attempt<'a>(
        &'a self,
        repo: &'a str,
        head: &'a str,
        budget: Budget,
    ) -> Answer<'a, Result<(), Refusal>> {
        Box::pin(self.begin(repo, head, budget))
    }

    fn end_attempt<'a>(
        &'a self,
        repo: &'a str,
        head: &'a str,
        ended: Ended,
        budget: Budget,
    ) -> Answer<'a, ()> {
        Box::pin(self.end(repo, head, ended, budget))
    }

    fn shut(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    fn is_shut(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// The no-retry record of one head, locked until the transaction ends.
async fn locked_record(
    tx: &deadpool_postgres::Transaction<'_>,
    repo: &str,
    head: &str,
) -> Result<Option<Record>, QueueError> {
    let row = tx
        .query_opt(
            "SELECT attempts, state, memory, seconds FROM reachdiff_attempts WHERE repo = $1 AND head = $2 FOR UPDATE",
            &[&repo, &head],
        )
        .await
        .map_err(|e| err("the no-retry record", e))?;
    Ok(row.map(|r| Record {
        repo: repo.into(),
        head: head.into(),
        attempts: r.get::<_, i32>(0).max(0) as u32,
        state: r.get(1),
        memory: r.get::<_, i64>(2).max(0) as u64,
        seconds: r.get::<_, i64>(3).max(0) as u64,
    }))
}

async fn write_record(
    tx: &deadpool_postgres::Transaction<'_>,
    r: &Record,
) -> Result<(), QueueError> {
    tx.execute(
        "INSERT INTO reachdiff_attempts (repo, head, attempts, state, memory, seconds, updated)
         VALUES ($1, $2, $3, $4, $5, $6, now())
         ON CONFLICT (repo, head) DO UPDATE SET attempts = $3, state = $4, memory = $5, seconds = $6, updated = now()",
        &[
            &r.repo,
            &r.head,
            &(r.attempts as i32),
            &r.state,
            &(r.memory as i64),
            &(r.seconds as i64),
        ],
    )
    .await
    .map_err(|e| err("the no-retry record", e))?;
    Ok(())
}

fn rand_lease() -> i64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() >> 1) as i64
}

fn spec_json(s: &JobSpec) -> String {
    serde_json::json!({
        "installation": s.installation,
        "repo": s.repo,
        "clone_url": s.clone_url,
        "number": s.number,
        "merge_group": s.merge_group,
        "base_sha": s.base_sha,
        "head_sha": s.head_sha,
    })
    .to_string()
}

/// A spec read back, checked again (the database is shared, not trusted
/// more than a payload).
fn spec_from_json(text: &str) -> Option<JobSpec> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let spec = JobSpec {
        installation: v.get("installation")?.as_u64()?,
        repo: s("repo")?,
        clone_url: s("clone_url")?,
        number: v.get("number")?.as_u64()?,
        merge_group: s("merge_group"),
        base_sha: s("base_sha")?,
        head_sha: s("head_sha")?,
        fresh: false,
    };
    (valid_repo_name(&spec.repo)
        && valid_clone_url(&spec.clone_url)
        && crate::github::is_sha(&spec.base_sha)
        && crate::github::is_sha(&spec.head_sha))
    .then_some(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cr3t@db.example:5432/reachdiff?sslmode=disable&password=x"),
            "postgres://app:***@db.example:5432/reachdiff"
        );
        assert_eq!(
            redact("postgresql://db/reachdiff"),
            "postgresql://db/reachdiff"
        );
        assert!(!redact("host=db password=s3cr3t").contains("s3cr3t"));
    }

    #[test]
    fn specs_round_trip_and_are_checked() {
        let spec = JobSpec {
            installation: 3,
            repo: "acme/gitops".into(),
            clone_url: "https://github.com/acme/gitops.git".into(),
            number: 7,
            merge_group: None,
            base_sha: "a".repeat(40),
            head_sha: "b".repeat(40),
            fresh: false,
        };
        assert_eq!(spec_from_json(&spec_json(&spec)), Some(spec.clone()));
        let bad = spec_json(&JobSpec {
            repo: "../x".into(),
            ..spec
        });
        assert_eq!(spec_from_json(&bad), None);
    }
}
