//! One analysis, start to finish, on a blocking thread: check run
//! `in_progress` → fetch base and head into the cache → the same diff as
//! `reachdiff diff --repo` → check run completed (conclusion, summary, full
//! text report, annotations in batches of 50) → the one sticky comment →
//! with `report: {review-comments: true}`, the review.
//!
//! A merge queue's group gets the check run only (there is no pull request
//! to comment on).
//!
//! A head that was superseded while this ran gets its check run concluded
//! `cancelled` and nothing else: results are only posted for the newest
//! head of a pull request.

use super::auth::Tokens;
use super::cache::RepoCache;
use super::events::{CHECK_NAME, JobSpec};
use super::metrics::Metrics;
use super::store::Store;
use crate::diag::{Diagnostic, Severity};
use crate::github::publish::{self, Bot, PullRef, ReviewOutcome};
use crate::github::{self, CheckOutput, Client, GitHubApi, GitHubError, NewCheckRun};
use crate::ops::diff::{CommitRange, DiffRequest, DiffSource, LinkRequest};
use crate::ops::queue::{Job, Lease};
use crate::ops::{AnalysisSettings, OpsError};
use crate::report::escape::fenced;
use crate::report::markdown::MARKER;
use crate::report::{self, Format, Presentation};
use crate::review::Reviews;
use crate::review::lines::{self, Annotation, ResponsibleLine};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Annotations beyond this are counted in the summary, not sent.
pub const MAX_ANNOTATIONS: usize = 500;

/// What the service shares with every job.
pub struct Ctx {
    pub tokens: Arc<Tokens>,
    pub cache: RepoCache,
    /// Jobs, deliveries and the no-retry record: in the process, or shared
    /// by the replicas in PostgreSQL.
    pub store: Arc<Store>,
    /// The runtime, for the store's calls from a job's blocking thread.
    pub rt: tokio::runtime::Handle,
    pub metrics: Arc<Metrics>,
    pub app_id: u64,
    pub clone_policy: super::ClonePolicy,
    /// What one analysis may use (a child process per analysis).
    pub budget: super::contain::Budget,
    /// The App's bot login (`{slug}[bot]`), asked of GitHub once.
    pub bot: std::sync::OnceLock<String>,
}

impl Ctx {
    /// Whether `head` is the newest head the store has for `key`.
    fn is_current(&self, key: &super::events::PullKey, head: &str) -> bool {
        self.rt.block_on(self.store.is_current(key, head))
    }

    /// Whether `lease` is still this replica's: asked before every GitHub
    /// write, so that a replica whose job was taken over stops writing.
    fn mine(&self, lease: &Lease) -> bool {
        let mine = self.rt.block_on(self.store.mine(lease));
        if !mine {
            tracing::warn!("the job is no longer this replica's: not writing to GitHub");
        }
        mine
    }

    /// The login the App's comments carry: `{slug}[bot]` from `GET /app`.
    /// Only comments by it are taken for reachdiff's.
    pub fn bot_login(&self) -> Result<&str, GitHubError> {
        if let Some(l) = self.bot.get() {
            return Ok(l);
        }
        let app = self.tokens.app_client().get_json("/app")?;
        let slug = app
            .get("slug")
            .and_then(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| GitHubError::Setup("GET /app: the answer has no slug".into()))?;
        let _ = self.bot.set(format!("{slug}[bot]"));
        Ok(self.bot.get().map_or("", String::as_str))
    }
}

/// How a job ended (the `outcome` label of `reachdiff_jobs_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// A gate tripped: `failure`, or `neutral` when advisory.
    GateTripped,
    /// The manifests or configuration could not be analysed: `failure`.
    InputError,
    /// A newer head arrived: `cancelled`, nothing posted.
    Superseded,
    /// GitHub or git failed; the check run says so when it exists.
    Error,
    /// Over the per-job budget (now or before): `failure`.
    OverBudget,
    /// The head already has its completed check run: nothing to do.
    AlreadyReported,
    /// Not analysed because the no-retry record was unreachable: left in
    /// the queue, so that a replica takes it again once its lease runs out.
    LeftForRetry,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::GateTripped => "gate-tripped",
            Outcome::InputError => "input-error",
            Outcome::Superseded => "superseded",
            Outcome::Error => "error",
            Outcome::OverBudget => "over-budget",
            Outcome::AlreadyReported => "already-reported",
            Outcome::LeftForRetry => "left-for-retry",
        }
    }
}

/// `https://github.com/o/r` from `https://github.com/o/r.git` (for links
/// to files); none for other URLs.
fn html_base(clone_url: &str) -> Option<String> {
    if !clone_url.starts_with("https://") && !clone_url.starts_with("http://") {
        return None;
    }
    Some(clone_url.trim_end_matches(".git").to_string())
}

/// The job's check run.
struct CheckRun<'a> {
    client: &'a Client,
    repo: &'a str,
    id: u64,
    ctx: &'a Ctx,
    lease: &'a Lease,
}

impl<'a> CheckRun<'a> {
    /// The head's check run: the one it already has, or a new one in
    /// progress; with its page's URL. One check run per head: a head that
    /// has one is answered by it (a redelivery, a late or repeated event, a
    /// restart's reconciliation), and one left in progress by a process
    /// that died is adopted. A re-run or a new base asks for a new one.
    fn open(ctx: &'a Ctx, lease: &'a Lease, client: &'a Client, spec: &'a JobSpec) -> Opened<'a> {
        let external_id = match &spec.merge_group {
            Some(r) => r.clone(),
            None => spec.number.to_string(),
        };
        let existing = if spec.fresh {
            Existing::None
        } else {
            existing_run(ctx, client, spec, &external_id)
        };
        let (id, html_url) = match existing {
            Existing::Completed => return Opened::Completed,
            Existing::InProgress { id, html_url } => {
                tracing::info!(check_run = id, "adopting the check run left in progress");
                (id, html_url)
            }
            Existing::None if !ctx.mine(lease) => return Opened::Failed,
            Existing::None => match create_run(client, spec, &external_id) {
                Some(created) => created,
                None => return Opened::Failed,
            },
        };
        Opened::Run(
            CheckRun {
                client,
                repo: &spec.repo,
                id,
                ctx,
                lease,
            },
            html_url,
        )
    }

    /// Concludes `failure` for an analysis that did not run: the manifests'
    /// errors, or what went wrong around them.
    fn fail(&self, analysed: Analysed) -> Outcome {
        let (title, summary, outcome) = match analysed {
            Analysed::Input(lines) => (
                "Manifests could not be analysed",
                format!(
                    "reachdiff could not analyse the manifests of this pull request, so nothing about its reachability is known.\n\n{}",
                    fenced(&lines.join("\n"))
                ),
                Outcome::InputError,
            ),
            Analysed::Setup(message) => (
                "reachdiff could not analyse this pull request",
                format!(
                    "reachdiff could not analyse this pull request:\n\n{}",
                    fenced(&github::scrub(&message))
                ),
                Outcome::Error,
            ),
            Analysed::Refused(refused) => {
                finish_check(
                    self,
                    "failure",
                    CheckOutput {
                        title: refused.title,
                        summary: refused.summary,
                        text: None,
                    },
                    &[],
                );
                return Outcome::OverBudget;
            }
            Analysed::Reviewed(_) | Analysed::Unrecorded(_) => return Outcome::Error,
        };
        finish_check(
            self,
            "failure",
            CheckOutput {
                title: title.into(),
                summary,
                text: None,
            },
            &[],
        );
        outcome
    }

    /// Completes the run (annotations in batches).
    fn complete(
        &self,
        conclusion: &'static str,
        output: CheckOutput,
        annotations: &[Annotation],
    ) -> Result<(), GitHubError> {
        if !self.ctx.mine(self.lease) {
            return Err(GitHubError::Setup(
                "the job was taken over by another replica".into(),
            ));
        }
        publish::complete_check_run(
            self.client,
            self.repo,
            self.id,
            conclusion,
            &output,
            annotations,
        )
    }

    /// Concluded `cancelled`: a newer head has (or will have) the result.
    fn supersede(&self, summary: &str) {
        let _ = self.complete(
            "cancelled",
            CheckOutput {
                title: "Superseded by a newer commit".into(),
                summary: summary.into(),
                text: None,
            },
            &[],
        );
    }
}

/// Whether `spec`'s head is still its pull request's newest: GitHub's own
/// answer, which neither arrival order (GitHub may deliver out of order, to
/// any replica) nor a restart can fool (a captured delivery replayed after
/// one must not roll the comment back to an old head). A merge group has
/// no pull request to ask about, and when GitHub cannot answer, the
/// store's newest delivered head stands.
fn still_newest(ctx: &Ctx, client: &Client, spec: &JobSpec) -> bool {
    if spec.merge_group.is_some() {
        return ctx.is_current(&spec.key(), &spec.head_sha);
    }
    match client.pull_request(&spec.repo, spec.number) {
        Ok(pr) if pr.head_sha.eq_ignore_ascii_case(&spec.head_sha) => true,
        Ok(pr) => {
            hand_on(ctx, spec, &pr);
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not ask GitHub for the pull request's head");
            ctx.is_current(&spec.key(), &spec.head_sha)
        }
    }
}

/// GitHub says the pull request's head is another commit than the job's:
/// an older delivery arrived late, or a newer one is not in yet. The job
/// hands the question on to GitHub's head (unless that head is already
/// pending or running), so that arrival order never decides which head
/// is reported, and the newest head is never left unanalysed.
fn hand_on(ctx: &Ctx, spec: &JobSpec, pr: &github::PullRequest) {
    if pr.state != "open" || !github::is_sha(&pr.head_sha) || !github::is_sha(&pr.base_sha) {
        return;
    }
    let newest = JobSpec {
        base_sha: pr.base_sha.to_ascii_lowercase(),
        head_sha: pr.head_sha.to_ascii_lowercase(),
        fresh: false,
        ..spec.clone()
    };
    let job = Job {
        spec: newest,
        received: Instant::now(),
    };
    match ctx.rt.block_on(ctx.store.push(job, true)) {
        Ok(Some(_)) => tracing::info!(head = %pr.head_sha, "handed on to GitHub's head"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not hand the job on to GitHub's head"),
    }
}

/// Runs one job. Never panics on input; every failure ends in a check run
/// that says what went wrong when one could be created.
pub fn run(ctx: &Ctx, lease: &Lease, job: &Job) -> Outcome {
    let spec = &job.spec;
    let key = spec.key();
    let log = tracing::info_span!("job", pr = %key, head = %&spec.head_sha[..12.min(spec.head_sha.len())]);
    let _enter = log.enter();
    let client = ctx.tokens.installation_client(spec.installation);
    if !still_newest(ctx, &client, spec) {
        tracing::info!("superseded before it started");
        return Outcome::Superseded;
    }
    let (run, html_url) = match CheckRun::open(ctx, lease, &client, spec) {
        Opened::Run(run, html_url) => (run, html_url),
        Opened::Completed => {
            tracing::info!("this head already has a completed check run");
            return Outcome::AlreadyReported;
        }
        Opened::Failed => return Outcome::Error,
    };
    let started = Instant::now();
    let analysed = fetch_and_analyse(ctx, spec, html_url);
    ctx.metrics
        .analysis_seconds(started.elapsed().as_secs_f64());
    if let Analysed::Unrecorded(e) = &analysed {
        tracing::warn!(error = %e, "the no-retry record is unreachable: not analysed, left for a retry");
        return Outcome::LeftForRetry;
    }

    if !still_newest(ctx, &client, spec) {
        tracing::info!("superseded while it ran: concluding cancelled, posting nothing");
        run.supersede("A newer commit was pushed to this pull request while this one was analysed; its check run has the result.");
        return Outcome::Superseded;
    }
    let outcome = match analysed {
        Analysed::Reviewed(r) => publish(ctx, spec, &client, &run, &r),
        failed => run.fail(failed),
    };
    ctx.metrics
        .job_seconds(job.received.elapsed().as_secs_f64());
    outcome
}

/// The repository fetched into the cache, then the analysis.
fn fetch_and_analyse(ctx: &Ctx, spec: &JobSpec, check_url: Option<String>) -> Analysed {
    let lease = match prepare(ctx, spec) {
        Ok(lease) => lease,
        Err(message) => return Analysed::Setup(message),
    };
    let req = AnalysisRequest {
        repo: lease.path.clone(),
        base_sha: spec.base_sha.clone(),
        head_sha: spec.head_sha.clone(),
        html_base: html_base(&spec.clone_url),
        check_url,
    };
    // In a child process within the job budget, unless the no-retry record
    // refuses it.
    let attempts = ctx.store.attempts(&ctx.rt);
    let analysed = super::contain::analyse_recorded(&attempts, ctx.budget, &spec.repo, &req);
    // SECURITY: the cache's paths are the server's business, not the pull
    // request's.
    match analysed {
        Analysed::Setup(m) => Analysed::Setup(hide_path(&m, &lease.path, &spec.repo)),
        other => other,
    }
}

/// `path` (a cache directory) written as the repository's name.
fn hide_path(message: &str, path: &std::path::Path, repo: &str) -> String {
    message.replace(&path.display().to_string(), repo)
}

fn finish_check(
    run: &CheckRun<'_>,
    conclusion: &'static str,
    output: CheckOutput,
    annotations: &[Annotation],
) -> bool {
    match run.complete(conclusion, output, annotations) {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "could not complete the check run");
            false
        }
    }
}

/// What [`CheckRun::open`] found or made.
enum Opened<'a> {
    Run(CheckRun<'a>, Option<String>),
    /// The head already has its completed check run.
    Completed,
    /// No check run could be created.
    Failed,
}

/// What the head already has from this App.
enum Existing {
    None,
    InProgress { id: u64, html_url: Option<String> },
    Completed,
}

/// This App's check runs on the head for this pull request (or merge
/// group): by check name, App id and `external_id`. A listing that fails
/// is taken as none (the job then creates one).
fn existing_run(ctx: &Ctx, client: &Client, spec: &JobSpec, external_id: &str) -> Existing {
    let listed = client.get_all_in(
        &format!(
            "/repos/{}/commits/{}/check-runs?check_name={CHECK_NAME}&app_id={}&filter=all&per_page=100",
            spec.repo, spec.head_sha, ctx.app_id
        ),
        Some("check_runs"),
    );
    let runs = match listed {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "could not list the head's check runs");
            return Existing::None;
        }
    };
    let ours = |c: &&serde_json::Value| {
        c.get("name").and_then(|v| v.as_str()) == Some(CHECK_NAME)
            && c.get("external_id").and_then(|v| v.as_str()) == Some(external_id)
    };
    let status =
        |c: &serde_json::Value| c.get("status").and_then(|v| v.as_str()).map(str::to_string);
    // A run concluded `cancelled` (superseded) is no answer: a head that
    // is the newest again gets one.
    let cancelled =
        |c: &serde_json::Value| c.get("conclusion").and_then(|v| v.as_str()) == Some("cancelled");
    let runs: Vec<serde_json::Value> = runs.into_iter().filter(|c| !cancelled(c)).collect();
    if runs
        .iter()
        .filter(ours)
        .any(|c| status(c).as_deref() == Some("completed"))
    {
        return Existing::Completed;
    }
    runs.iter()
        .filter(ours)
        .filter_map(|c| {
            Some(Existing::InProgress {
                id: c.get("id")?.as_u64()?,
                html_url: c
                    .get("html_url")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
            })
        })
        .next()
        .unwrap_or(Existing::None)
}

/// Creates the head's check run, in progress; (id, page).
fn create_run(client: &Client, spec: &JobSpec, external_id: &str) -> Option<(u64, Option<String>)> {
    let created = client.create_check_run(
        &spec.repo,
        &NewCheckRun {
            name: CHECK_NAME.into(),
            head_sha: spec.head_sha.clone(),
            external_id: external_id.to_string(),
            output: CheckOutput {
                title: "Computing reachability".into(),
                summary: format!(
                    "Comparing the merge-base of `{}` with this commit.",
                    &spec.base_sha[..12.min(spec.base_sha.len())]
                ),
                text: None,
            },
        },
    );
    match created {
        Ok(c) => Some((c.id, c.html_url)),
        Err(e) => {
            tracing::error!(error = %e, "could not create the check run");
            None
        }
    }
}

/// The repository in the cache with base and head fetched, for the
/// installation's token.
fn prepare(ctx: &Ctx, spec: &JobSpec) -> Result<super::cache::Lease, String> {
    if !ctx.clone_policy.allows(&spec.clone_url) {
        return Err(format!(
            "the clone URL {} is not on this App's GitHub server ({}); nothing was fetched",
            spec.clone_url,
            ctx.clone_policy.describe()
        ));
    }
    let token = ctx
        .tokens
        .token(spec.installation)
        .map_err(|e| format!("installation token: {e}"))?;
    ctx.cache.fetch(
        &spec.repo,
        &spec.clone_url,
        &token,
        &spec.base_sha,
        &spec.head_sha,
    )
}

/// One analysis, from the fetched commits to everything that will be
/// posted. Plain data in and out, and no GitHub call: the seam where an
/// analysis can be run apart from the server (a child process with its own
/// limits) without touching the rest of the job.
#[derive(Clone, Debug)]
pub struct AnalysisRequest {
    /// The repository (a bare clone in the cache).
    pub repo: PathBuf,
    pub base_sha: String,
    pub head_sha: String,
    /// `https://github.com/o/r`, for links to files.
    pub html_base: Option<String>,
    /// The check run's page, where the full report is.
    pub check_url: Option<String>,
}

/// What an analysis produced.
#[derive(Debug)]
pub enum Analysed {
    Reviewed(Box<Reviewed>),
    /// `error: FILE:LINE:COL: …` lines about the manifests.
    Input(Vec<String>),
    /// Git, configuration, rendering, or a panic.
    Setup(String),
    /// Over the per-job budget, or refused by the no-retry record.
    Refused(Refused),
    /// The no-retry record could not be read or written (a shared queue's
    /// database is unreachable): not analysed, and nothing concluded, since
    /// nothing is wrong with the pull request; the job is left to be taken
    /// again.
    Unrecorded(String),
}

/// A job concluded without a result because of its budget.
#[derive(Debug)]
pub struct Refused {
    pub title: String,
    pub summary: String,
}

/// A reviewed pull request, rendered for each place it is posted.
#[derive(Debug)]
pub struct Reviewed {
    pub conclusion: &'static str,
    pub outcome: Outcome,
    /// The check run's title, summary (Markdown) and text (the full text
    /// report in a code block: GitHub renders a check run's text as
    /// Markdown).
    pub check: CheckOutput,
    pub annotations: Vec<Annotation>,
    /// The sticky comment's body.
    pub comment: String,
    /// Whether the comment is worth creating (an existing one is always
    /// updated).
    pub changed_or_tripped: bool,
    /// With `report: {review-comments: true}`: the lines to comment on.
    pub review: Option<Vec<ResponsibleLine>>,
    /// The head's warnings, for the log.
    pub diagnostics: Vec<LoggedDiagnostic>,
}

/// A diagnostic as the server logs it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LoggedDiagnostic {
    pub code: String,
    pub file: Option<String>,
    pub line: Option<u64>,
    pub object: Option<String>,
    pub field: Option<String>,
    pub detail: String,
}

impl From<&Diagnostic> for LoggedDiagnostic {
    fn from(d: &Diagnostic) -> LoggedDiagnostic {
        LoggedDiagnostic {
            code: d.code.as_str().to_string(),
            file: d.span.as_ref().map(|s| s.file.to_string()),
            line: d.span.as_ref().map(|s| s.line as u64),
            object: d.object.clone(),
            field: d.field.clone(),
            detail: d.message.clone(),
        }
    }
}

/// Exactly what `reachdiff diff --repo CACHE --base BASE --head HEAD`
/// does: merge-base, configuration and gates from the base, rendering,
/// environments.
fn request(req: &AnalysisRequest) -> DiffRequest {
    DiffRequest {
        source: DiffSource::Commits(CommitRange {
            repo: req.repo.clone(),
            base: req.base_sha.clone(),
            head: req.head_sha.clone(),
            base_exact: false,
            paths: Vec::new(),
            config_rev: None,
        }),
        environments: Vec::new(),
        gates: Default::default(),
        links: LinkRequest {
            template: req.html_base.as_ref().map(|h| format!("{h}/blob/{{sha}}")),
            ..LinkRequest::default()
        },
        analysis: AnalysisSettings::default(),
    }
}

/// Runs the analysis and renders what the job posts.
pub fn analyse(req: &AnalysisRequest) -> Analysed {
    // The engine does not panic on input (tests and fuzzing hold it to
    // that); if it ever did, the check run says so instead of staying
    // `in_progress` and the worker lives on.
    let computed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::ops::diff::run(&request(req), &mut |_| {})
    }));
    let done = match computed {
        Ok(Ok(d)) => d,
        Ok(Err(OpsError::Input(f))) => {
            return Analysed::Input(
                f.messages()
                    .iter()
                    .map(|m| format!("error: {}", crate::report::style::sanitize(m)))
                    .collect(),
            );
        }
        Ok(Err(e)) => return Analysed::Setup(format!("{:#}", anyhow::Error::from(e))),
        Err(_) => {
            return Analysed::Setup(
                "internal error: the analysis panicked (please report this pull request)".into(),
            );
        }
    };
    Analysed::Reviewed(Box::new(render(req, &done)))
}

fn render(req: &AnalysisRequest, done: &crate::ops::diff::DiffOutcome) -> Reviewed {
    let reviews = &done.environments;
    let (opened, closed) = reviews.rows();
    let (tripped, changed) = (reviews.tripped(), reviews.changed());
    // An environment whose head could not be analysed fails the check
    // even when gates are advisory: nothing was checked there.
    let incomplete = reviews
        .iter()
        .any(|e| e.incomplete_gate().is_some_and(|g| !g.passed));
    let (conclusion, outcome) = match (tripped, done.report.advisory && !incomplete) {
        (true, false) => ("failure", Outcome::GateTripped),
        (true, true) => ("neutral", Outcome::GateTripped),
        (false, _) => ("success", Outcome::Success),
    };
    let title = match (tripped, changed) {
        (true, _) => format!("Gate tripped: {opened} path row(s) opened, {closed} closed"),
        (false, true) => format!("{opened} path row(s) opened, {closed} closed"),
        (false, false) => "No change in reachability".to_string(),
    };
    let responsible = lines::responsible_lines(reviews);
    let mut annotations: Vec<Annotation> =
        lines::annotations(reviews, &responsible, &|f| f.to_string())
            .into_iter()
            .filter(|a| a.file.is_some() && a.line.is_some())
            .collect();
    // The text report goes into a check run, never to a terminal.
    let p = done.presentation();
    let mut summary = report::render_diff(
        reviews,
        Format::Markdown,
        &Presentation {
            budget: 60_000,
            full_report_hint: Some("the text report below has every row".into()),
            complete: true,
            ..p.clone()
        },
    );
    if annotations.len() > MAX_ANNOTATIONS {
        summary.push_str(&format!(
            "\n\n{} lines are responsible for changes; the first {MAX_ANNOTATIONS} are annotated.",
            annotations.len()
        ));
        annotations.truncate(MAX_ANNOTATIONS);
    }
    let hint = match &req.check_url {
        Some(u) => format!("the [check run]({u}) has the full report"),
        None => "the check run has the full report".into(),
    };
    Reviewed {
        conclusion,
        outcome,
        check: CheckOutput {
            title,
            summary,
            text: Some(fenced(&report::render_diff(reviews, Format::Text, &p))),
        },
        annotations,
        comment: report::render_diff(
            reviews,
            Format::Markdown,
            &Presentation {
                full_report_hint: Some(hint),
                ..p
            },
        ),
        changed_or_tripped: changed || tripped,
        review: done.report.review_comments.then_some(responsible),
        diagnostics: reviews
            .reviews()
            .into_iter()
            .flat_map(|r| r.comparison.head.diagnostics.iter())
            .filter(|d| d.severity == Severity::Warning)
            .map(LoggedDiagnostic::from)
            .collect(),
    }
}

/// At most this many of a job's diagnostics are logged one by one.
const LOGGED_DIAGNOSTICS: usize = 20;

/// The head's warnings as structured log events (never plain lines: the
/// server's stderr may be a JSON log stream).
fn log_diagnostics(diagnostics: &[LoggedDiagnostic]) {
    for d in diagnostics.iter().take(LOGGED_DIAGNOSTICS) {
        tracing::warn!(
            code = d.code.as_str(),
            file = d.file.as_deref(),
            line = d.line,
            object = d.object.as_deref(),
            field = d.field.as_deref(),
            detail = %d.detail,
            "manifest diagnostic"
        );
    }
    if diagnostics.len() > LOGGED_DIAGNOSTICS {
        tracing::warn!(
            more = diagnostics.len() - LOGGED_DIAGNOSTICS,
            "more manifest diagnostics"
        );
    }
}

fn publish(
    ctx: &Ctx,
    spec: &JobSpec,
    client: &Client,
    run: &CheckRun<'_>,
    r: &Reviewed,
) -> Outcome {
    log_diagnostics(&r.diagnostics);
    // The last moment a newer head can still stop this result.
    if !still_newest(ctx, client, spec) {
        run.supersede("A newer commit was pushed while this one was analysed.");
        return Outcome::Superseded;
    }
    if !finish_check(run, r.conclusion, r.check.clone(), &r.annotations) {
        return Outcome::Error;
    }
    let conclusion = r.conclusion;
    if spec.merge_group.is_some() {
        // A merge group has no pull request to comment on: the check run
        // is the answer the queue waits for.
        tracing::info!(conclusion, "reported (merge group)");
        return r.outcome;
    }
    if !still_newest(ctx, client, spec) {
        tracing::info!("superseded after the check run: the newer head writes the comment");
        return r.outcome;
    }
    // Only comments by the App's own login are taken for its own.
    let bot = match ctx.bot_login() {
        Ok(l) => Bot::Login(l.to_string()),
        Err(e) => {
            tracing::error!(error = %e, "could not learn the App's login: no comment written");
            return r.outcome;
        }
    };
    let pull = PullRef {
        repo: &spec.repo,
        number: spec.number,
        head_sha: &spec.head_sha,
    };
    // The sticky comment: created when there is something to say, updated
    // whenever it exists (also to say a later push changed nothing).
    if !run.ctx.mine(run.lease) {
        return r.outcome;
    }
    match publish::publish_sticky(client, &bot, pull, MARKER, &r.comment, r.changed_or_tripped) {
        Ok(s) => tracing::info!(comment = s.as_str(), conclusion, "reported"),
        Err(e) => tracing::error!(error = %e, "could not write the pull-request comment"),
    }
    if let Some(responsible) = r.review.as_ref().filter(|_| run.ctx.mine(run.lease)) {
        match publish::publish_review(client, &bot, pull, responsible, &|f| f.to_string()) {
            Ok(ReviewOutcome::Posted { deleted, posted }) => {
                tracing::info!(deleted, posted, "review")
            }
            Ok(ReviewOutcome::ReadOnly(e)) => {
                tracing::warn!(error = %e, "review not written: the token may not write reviews")
            }
            Ok(ReviewOutcome::Refused(e)) => tracing::warn!(
                error = %e,
                "review refused: GitHub could not place it; the comment and the check run have the report"
            ),
            Err(e) => tracing::error!(error = %e, "could not write the review"),
        }
    }
    r.outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        let now = crate::github::now_rfc3339();
        let parsed = super::super::auth::parse_rfc3339(&now).unwrap();
        let secs = std::time::SystemTime::now()
            .duration_since(parsed)
            .unwrap_or_default()
            .as_secs();
        assert!(secs < 5, "{now}");
    }

    #[test]
    fn links_and_hidden_paths() {
        assert_eq!(
            html_base("https://github.com/o/r.git").as_deref(),
            Some("https://github.com/o/r")
        );
        assert_eq!(html_base("file:///tmp/o"), None);
        let p = std::path::Path::new("/var/cache/reachdiff/o/r.git");
        assert_eq!(
            hide_path(
                "/var/cache/reachdiff/o/r.git: revision \"x\" not found",
                p,
                "o/r"
            ),
            "o/r: revision \"x\" not found"
        );
    }
}
