//! The HTTP side: `POST /webhook` (signature first, then dedup, routing and
//! queueing; answers in milliseconds), health, readiness and metrics; the
//! workers; the reconciler; graceful shutdown.

use super::events::{self, JobSpec, Routed};
use super::job::{self, Ctx};
use super::metrics::Metrics;
use super::store::Store;
use super::{Settings, signature};
use crate::ops::queue::{Job, Pushed, Work};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tokio::sync::Notify;

/// What the handlers share.
pub struct AppState {
    secret: Vec<u8>,
    max_body: usize,
    /// Webhook bodies being received or handled, in bytes (one permit a
    /// byte) and in deliveries: beyond either, 503 before anything is
    /// buffered.
    bytes_in_flight: tokio::sync::Semaphore,
    deliveries_in_flight: tokio::sync::Semaphore,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    ready: AtomicBool,
    /// Wakes the reconciler early (installation events).
    reconcile_now: Notify,
    reconcile_only: std::sync::Mutex<Vec<u64>>,
}

fn reply(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "message": message }).to_string(),
    )
        .into_response()
}

/// How long a sender may take to send a body: GitHub sends at once, a
/// slow sender only ties up a connection.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// 503 with a `Retry-After`: the server is busy, not broken.
fn busy(message: &str) -> Response {
    let mut r = reply(StatusCode::SERVICE_UNAVAILABLE, message);
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
    r
}

/// Why a body was not taken.
enum BodyRefused {
    TooLarge,
    Busy,
    Timeout,
    Broken,
}

/// Reads the body chunk by chunk into the signature check, each chunk
/// paid for from the global byte budget first (a body of declared length
/// pays it all up front).
async fn read_signed_body<'s>(
    s: &'s AppState,
    body: axum::body::Body,
    declared: Option<usize>,
    verifier: &mut signature::Verifier,
) -> Result<(Vec<u8>, tokio::sync::SemaphorePermit<'s>), BodyRefused> {
    use http_body_util::BodyExt;
    let permits = |n: usize| u32::try_from(n).map_err(|_| BodyRefused::TooLarge);
    let mut paid = s
        .bytes_in_flight
        .try_acquire_many(permits(declared.unwrap_or(0))?)
        .map_err(|_| BodyRefused::Busy)?;
    let mut buf = Vec::with_capacity(declared.unwrap_or(0));
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyRefused::Broken)?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        if buf.len() + chunk.len() > s.max_body {
            return Err(BodyRefused::TooLarge);
        }
        let unpaid = (buf.len() + chunk.len()).saturating_sub(paid.num_permits());
        if unpaid > 0 {
            let more = s
                .bytes_in_flight
                .try_acquire_many(permits(unpaid)?)
                .map_err(|_| BodyRefused::Busy)?;
            paid.merge(more);
        }
        verifier.update(&chunk);
        buf.extend_from_slice(&chunk);
    }
    Ok((buf, paid))
}

/// What became of a delivery: the result it is counted under in the
/// metrics, and the answer GitHub gets.
struct Outcome {
    result: &'static str,
    response: Response,
}

impl Outcome {
    fn reply(result: &'static str, status: StatusCode, message: &str) -> Self {
        Outcome {
            result,
            response: reply(status, message),
        }
    }

    fn busy(result: &'static str, message: &str) -> Self {
        Outcome {
            result,
            response: busy(message),
        }
    }

    fn store_unavailable() -> Self {
        Outcome::busy("store-unavailable", "the queue database is unavailable")
    }
}

/// A body whose signature holds, with the budget it holds while it is
/// handled.
struct Received<'s> {
    body: Vec<u8>,
    _slot: tokio::sync::SemaphorePermit<'s>,
    _paid: tokio::sync::SemaphorePermit<'s>,
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn webhook(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let event = header(&headers, "x-github-event").unwrap_or("").to_string();
    let outcome = match receive(&s, &headers, body).await {
        Ok(received) => handle(&s, &headers, &event, &received.body).await,
        Err(refused) => refused,
    };
    s.metrics.delivery(&event, outcome.result);
    outcome.response
}

/// Admits a delivery: size, signature header, budget, body, signature.
async fn receive<'s>(
    s: &'s AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<Received<'s>, Outcome> {
    let too_large = || Outcome::reply("too-large", StatusCode::PAYLOAD_TOO_LARGE, "body too large");
    let bad_signature = |e: &dyn std::fmt::Display| {
        tracing::warn!(reason = %e, "webhook refused");
        Outcome::reply(
            "bad-signature",
            StatusCode::UNAUTHORIZED,
            "signature verification failed",
        )
    };
    let declared = header(headers, "content-length").and_then(|l| l.parse::<usize>().ok());
    if declared.is_some_and(|l| l > s.max_body) {
        return Err(too_large());
    }
    // SECURITY: a request without a well-formed signature header is
    // refused before any of its body is read.
    let mut verifier = signature::Verifier::new(&s.secret, header(headers, "x-hub-signature-256"))
        .map_err(|e| bad_signature(&e))?;
    let Ok(slot) = s.deliveries_in_flight.try_acquire() else {
        return Err(Outcome::busy("busy", "too many deliveries at once"));
    };
    let read = tokio::time::timeout(
        BODY_TIMEOUT,
        read_signed_body(s, body, declared, &mut verifier),
    )
    .await
    .unwrap_or(Err(BodyRefused::Timeout));
    let (body, paid) = read.map_err(|refused| match refused {
        BodyRefused::TooLarge => too_large(),
        BodyRefused::Busy => Outcome::busy("busy", "too many bytes in flight"),
        BodyRefused::Timeout => Outcome::reply(
            "timeout",
            StatusCode::REQUEST_TIMEOUT,
            "body not received in time",
        ),
        BodyRefused::Broken => {
            Outcome::reply("bad-request", StatusCode::BAD_REQUEST, "body not received")
        }
    })?;
    // SECURITY: nothing of the body is read before the signature holds.
    verifier.finish().map_err(|e| bad_signature(&e))?;
    Ok(Received {
        body,
        _slot: slot,
        _paid: paid,
    })
}

/// A signed delivery: deduplicated, routed, acted on.
async fn handle(s: &AppState, headers: &HeaderMap, event: &str, body: &[u8]) -> Outcome {
    let Some(delivery) =
        header(headers, "x-github-delivery").filter(|d| !d.is_empty() && d.len() <= 100)
    else {
        return Outcome::reply(
            "bad-request",
            StatusCode::BAD_REQUEST,
            "missing X-GitHub-Delivery",
        );
    };
    match s.store.first_delivery(delivery).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(delivery, "redelivery ignored");
            return Outcome::reply("duplicate", StatusCode::OK, "duplicate delivery ignored");
        }
        Err(e) => {
            // GitHub shows the delivery as failed; reconciliation heals it
            // once the database is back.
            tracing::warn!(delivery, error = %e, "the queue database is unavailable");
            return Outcome::store_unavailable();
        }
    }
    let routed = match events::route(event, body) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(delivery, %event, error = %e, "malformed delivery");
            return Outcome::reply("bad-request", StatusCode::BAD_REQUEST, &e.to_string());
        }
    };
    match routed {
        Routed::Ping => Outcome::reply("ping", StatusCode::OK, "pong"),
        Routed::Ignored(why) => {
            tracing::debug!(delivery, %event, why, "ignored");
            Outcome::reply("ignored", StatusCode::ACCEPTED, &format!("ignored: {why}"))
        }
        Routed::Closed(key) => {
            if let Err(e) = s.store.close(&key).await {
                s.store.forget(delivery).await;
                tracing::warn!(delivery, error = %e, "the queue database is unavailable");
                return Outcome::store_unavailable();
            }
            Outcome::reply("closed", StatusCode::ACCEPTED, "closed")
        }
        Routed::Installed { installation } => installed(s, delivery, event, installation).await,
        Routed::Analyse(jobs) => analyse(s, delivery, jobs).await,
    }
}

async fn installed(s: &AppState, delivery: &str, event: &str, installation: u64) -> Outcome {
    tracing::info!(installation, %event, "installed: reconciling");
    // A database outage is still counted as "installed": the delivery was
    // understood, only its reconciliation waits.
    let unavailable = Outcome::busy("installed", "the queue database is unavailable");
    match s.store.push_reconcile(installation).await {
        // One keyed job for the fleet: whichever replica takes it.
        Ok(true) => return Outcome::reply("installed", StatusCode::ACCEPTED, "reconciling"),
        Ok(false) => {}
        Err(e) => {
            s.store.forget(delivery).await;
            tracing::warn!(delivery, error = %e, "the queue database is unavailable");
            return unavailable;
        }
    }
    s.reconcile_only
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(installation);
    s.reconcile_now.notify_one();
    Outcome::reply("installed", StatusCode::ACCEPTED, "reconciling")
}

async fn analyse(s: &AppState, delivery: &str, jobs: Vec<JobSpec>) -> Outcome {
    let received = Instant::now();
    let (mut full, mut unavailable) = (false, false);
    for spec in jobs {
        let (pr, head) = (spec.key(), spec.head_sha.clone());
        // The same head already pending or being analysed: that
        // analysis answers this delivery too.
        match s.store.push(Job { spec, received }, true).await {
            Ok(Some(Pushed::Full)) => full = true,
            Ok(Some(_)) => tracing::info!(delivery, %pr, %head, "queued"),
            Ok(None) => tracing::info!(delivery, %pr, %head, "already queued"),
            Err(e) => {
                tracing::warn!(delivery, error = %e, "the queue database is unavailable");
                unavailable = true;
            }
        }
    }
    if full || unavailable {
        // Let a redelivery in; reconciliation also catches it.
        s.store.forget(delivery).await;
        return if unavailable {
            Outcome::store_unavailable()
        } else {
            Outcome::busy("queue-full", "queue full")
        };
    }
    Outcome::reply("queued", StatusCode::ACCEPTED, "queued")
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    if s.ready.load(Ordering::SeqCst) && s.store.ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    // Fleet-wide with a shared store; a store that cannot answer shows as
    // not ready, and its gauges as zero.
    let (queued, running) = s.store.counts().await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not count the jobs");
        (0, 0)
    });
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(queued, running),
    )
        .into_response()
}

pub fn router(state: Arc<AppState>, max_body: usize) -> axum::Router {
    axum::Router::new()
        .route("/webhook", post(webhook))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        // The webhook reads its body itself (with a time limit); this is
        // the limit for any other route.
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// How long a client may take to send its request headers.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` completes, then lets open
/// connections finish their requests (at most five seconds).
async fn serve_http(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((s, _)) => s,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, go on.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let service = hyper_util::service::TowerToHyperService::new(router.clone());
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    // Bytes read ahead per connection: the body is paid for
                    // from the global budget as the handler reads it, so
                    // little may sit in buffers unpaid.
                    .max_buf_size(64 << 10);
                let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(std::time::Duration::from_secs(5), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish within 5 s");
    }
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

/// One worker: jobs from the store, each on a blocking thread while a
/// heartbeat keeps its lease, until the store is shut.
async fn work(ctx: Arc<Ctx>, heartbeat: std::time::Duration) {
    while let Some(lease) = ctx.store.next().await {
        let beat = ctx.store.keep_alive(&lease, heartbeat);
        let (c, l) = (ctx.clone(), lease.clone());
        let mut finish = true;
        let label = match lease.work.clone() {
            Work::Analyse(job) => {
                let outcome = tokio::task::spawn_blocking(move || job::run(&c, &l, &job)).await;
                match outcome {
                    Ok(o) => {
                        // Left for a retry: a lease that runs out is taken
                        // again; the process's own queue has no such lease.
                        finish = o != job::Outcome::LeftForRetry || !ctx.store.leases_expire();
                        o.label()
                    }
                    Err(_) => "panicked",
                }
            }
            Work::Reconcile { installation } => {
                let r = tokio::task::spawn_blocking(move || {
                    super::reconcile::reconcile(&c, Some(installation))
                })
                .await;
                log_reconciled(r);
                "reconciliation"
            }
        };
        if let Some(b) = beat {
            b.abort();
        }
        if finish {
            ctx.store.done(&lease).await;
        }
        ctx.metrics.job(label);
    }
}

fn log_reconciled(
    r: Result<
        Result<super::reconcile::Reconciled, crate::github::GitHubError>,
        tokio::task::JoinError,
    >,
) {
    match r {
        Ok(Ok(r)) => tracing::info!(
            pulls = r.pulls_seen,
            queued = r.queued,
            failed = r.failed,
            "reconciled"
        ),
        Ok(Err(e)) => tracing::warn!(error = %e, "reconciliation failed"),
        Err(_) => tracing::error!("reconciliation panicked"),
    }
}

/// Reconciliation at start, every `interval`, and at once for a new
/// installation.
async fn reconcile_loop(
    ctx: Arc<Ctx>,
    state: Arc<AppState>,
    stopping: Arc<AtomicBool>,
    interval: std::time::Duration,
) {
    let mut only: Option<u64> = None;
    loop {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        // With a shared store, one replica per interval reconciles (and
        // prunes the delivery record); the others wait for their turn.
        if only.is_some() || ctx.store.my_turn("reconcile", interval).await {
            ctx.store.prune_deliveries().await;
            let c = ctx.clone();
            log_reconciled(
                tokio::task::spawn_blocking(move || super::reconcile::reconcile(&c, only)).await,
            );
        } else {
            tracing::info!("reconciliation: another replica's turn");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => { only = None; }
            _ = state.reconcile_now.notified() => {
                let mut o = state.reconcile_only.lock().unwrap_or_else(|p| p.into_inner());
                only = if o.len() == 1 { o.pop() } else { o.clear(); None };
            }
        }
    }
}

/// Shuts the queue and lets the jobs in flight finish within `timeout`.
async fn drain(ctx: &Ctx, workers: Vec<tokio::task::JoinHandle<()>>, timeout: std::time::Duration) {
    let (pending, running) = ctx.store.counts().await.unwrap_or_default();
    ctx.store.shut();
    tracing::info!(running, pending, "draining in-flight jobs");
    let drained = tokio::time::timeout(timeout, async {
        for w in workers {
            let _ = w.await;
        }
    })
    .await;
    match drained {
        Ok(()) => tracing::info!(
            left_for_reconciliation = pending,
            "drained; pending jobs are picked up by the next start's reconciliation"
        ),
        Err(_) => tracing::warn!(
            timeout = ?timeout,
            "in-flight jobs did not finish before the deadline; reconciliation will redo them"
        ),
    }
}

/// Runs the service until SIGTERM or SIGINT.
pub async fn run(settings: Settings, ctx: Ctx, secret: Vec<u8>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .map_err(|e| anyhow::anyhow!("--listen {}: {e}", settings.listen))?;
    let local = listener.local_addr()?;
    let ctx = Arc::new(ctx);
    let state = Arc::new(AppState {
        secret,
        max_body: settings.max_body,
        bytes_in_flight: tokio::sync::Semaphore::new(settings.max_bytes_in_flight),
        deliveries_in_flight: tokio::sync::Semaphore::new(settings.max_deliveries),
        store: ctx.store.clone(),
        metrics: ctx.metrics.clone(),
        ready: AtomicBool::new(false),
        reconcile_now: Notify::new(),
        reconcile_only: Default::default(),
    });

    let workers: Vec<_> = (0..settings.workers.max(1))
        .map(|_| tokio::spawn(work(ctx.clone(), settings.queue_recovery / 3)))
        .collect();
    let stopping = Arc::new(AtomicBool::new(false));
    let reconciler = tokio::spawn(reconcile_loop(
        ctx.clone(),
        state.clone(),
        stopping.clone(),
        settings.reconcile_interval,
    ));

    state.ready.store(true, Ordering::SeqCst);
    tracing::info!(listen = %local, workers = settings.workers, "reachdiff serve is ready");
    // Tests and scripts read the bound address (with `--listen 127.0.0.1:0`).
    println!("listening on http://{local}");

    let s2 = state.clone();
    serve_http(
        listener,
        router(state.clone(), settings.max_body),
        async move {
            shutdown_signal().await;
            // Load balancers stop sending before the listener closes.
            s2.ready.store(false, Ordering::SeqCst);
            tracing::info!("shutting down: no new deliveries");
        },
    )
    .await;

    stopping.store(true, Ordering::SeqCst);
    reconciler.abort();
    drain(&ctx, workers, settings.shutdown_timeout).await;
    Ok(())
}
