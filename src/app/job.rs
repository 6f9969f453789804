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
use super::queue::{Job, Queue};
use crate::diag::{Diagnostic, Severity};
use crate::github::publish::{self, PullRef, ReviewOutcome};
use crate::github::{self, Client, GitHubError};
use crate::ops::diff::{CommitRange, DiffRequest, DiffSource, LinkRequest};
use crate::ops::{AnalysisSettings, OpsError};
use crate::report::markdown::MARKER;
use crate::report::{self, Format, Presentation};
use crate::review::Reviews;
use crate::review::lines::{self, Annotation, Level, ResponsibleLine};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// GitHub's limits on a check run's output.
pub const MAX_OUTPUT_CHARS: usize = 65_535;
pub const ANNOTATIONS_PER_REQUEST: usize = 50;
/// Annotations beyond this are counted in the summary, not sent.
pub const MAX_ANNOTATIONS: usize = 500;

/// What the service shares with every job.
pub struct Ctx {
    pub tokens: Arc<Tokens>,
    pub cache: RepoCache,
    pub queue: Arc<Queue>,
    pub metrics: Arc<Metrics>,
    pub app_id: u64,
    pub clone_policy: super::ClonePolicy,
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
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::GateTripped => "gate-tripped",
            Outcome::InputError => "input-error",
            Outcome::Superseded => "superseded",
            Outcome::Error => "error",
        }
    }
}

fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Cuts `s` to GitHub's output limit, saying so.
fn fit(s: &str, what: &str) -> String {
    if s.chars().count() <= MAX_OUTPUT_CHARS {
        return s.to_string();
    }
    let note = format!("\n\n… {what} cut at GitHub's limit of {MAX_OUTPUT_CHARS} characters.");
    let keep = MAX_OUTPUT_CHARS - note.chars().count();
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(&note);
    out
}

/// A fenced block around text that may itself contain backticks.
fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{text}\n{fence}")
}

/// `https://github.com/o/r` from `https://github.com/o/r.git` (for links
/// to files); none for other URLs.
fn html_base(clone_url: &str) -> Option<String> {
    if !clone_url.starts_with("https://") && !clone_url.starts_with("http://") {
        return None;
    }
    Some(clone_url.trim_end_matches(".git").to_string())
}

/// A check-run annotation (GitHub's fields and limits); only annotations
/// on a line of a file can be sent.
fn annotation_json(a: &Annotation) -> Option<serde_json::Value> {
    Some(serde_json::json!({
        "path": a.file.as_ref()?,
        "start_line": a.line?,
        "end_line": a.line?,
        "annotation_level": match a.level {
            Level::Error => "failure",
            Level::Warning => "warning",
        },
        "title": a.title.chars().take(255).collect::<String>(),
        "message": a.message.chars().take(60_000).collect::<String>(),
    }))
}

struct CheckRun<'a> {
    client: &'a Client,
    repo: &'a str,
    id: u64,
}

impl CheckRun<'_> {
    fn path(&self) -> String {
        format!("/repos/{}/check-runs/{}", self.repo, self.id)
    }

    /// Completes the run; annotations go in batches of 50 (GitHub's limit
    /// per request), the last batch with the conclusion.
    fn complete(
        &self,
        conclusion: &str,
        title: &str,
        summary: &str,
        text: Option<&str>,
        annotations: &[Annotation],
    ) -> Result<(), GitHubError> {
        let title: String = title.chars().take(250).collect();
        let summary = fit(summary, "The summary was");
        let mut output = serde_json::json!({"title": title, "summary": summary});
        if let Some(t) = text {
            output["text"] = serde_json::Value::String(fit(t, "The report was"));
        }
        let annotations: Vec<serde_json::Value> =
            annotations.iter().filter_map(annotation_json).collect();
        let batches: Vec<&[serde_json::Value]> =
            annotations.chunks(ANNOTATIONS_PER_REQUEST).collect();
        let (last, earlier) = match batches.split_last() {
            Some((l, e)) => (*l, e),
            None => (&[][..], &[][..]),
        };
        for batch in earlier {
            let mut o = output.clone();
            o["annotations"] = serde_json::Value::Array(batch.to_vec());
            self.client
                .patch_json(&self.path(), &serde_json::json!({"output": o}))?;
        }
        let mut o = output;
        if !last.is_empty() {
            o["annotations"] = serde_json::Value::Array(last.to_vec());
        }
        self.client.patch_json(
            &self.path(),
            &serde_json::json!({
                "status": "completed",
                "conclusion": conclusion,
                "completed_at": now_rfc3339(),
                "output": o,
            }),
        )?;
        Ok(())
    }
}

/// Runs one job. Never panics on input; every failure ends in a check run
/// that says what went wrong when one could be created.
pub fn run(ctx: &Ctx, job: &Job) -> Outcome {
    let spec = &job.spec;
    let key = spec.key();
    let log = tracing::info_span!("job", pr = %key, head = %&spec.head_sha[..12.min(spec.head_sha.len())]);
    let _enter = log.enter();
    if !ctx.queue.is_current(&key, &spec.head_sha) {
        tracing::info!("superseded before it started");
        return Outcome::Superseded;
    }
    let client = ctx.tokens.installation_client(spec.installation);
    let created = client.post_json(
        &format!("/repos/{}/check-runs", spec.repo),
        &serde_json::json!({
            "name": CHECK_NAME,
            "head_sha": spec.head_sha,
            "status": "in_progress",
            "started_at": now_rfc3339(),
            "external_id": match &spec.merge_group {
                Some(r) => r.clone(),
                None => spec.number.to_string(),
            },
            "output": {
                "title": "Computing reachability",
                "summary": format!("Comparing the merge-base of `{}` with this commit.", &spec.base_sha[..12.min(spec.base_sha.len())]),
            },
        }),
    );
    let run = match created.as_ref().ok().and_then(|v| v.get("id")?.as_u64()) {
        Some(id) => CheckRun {
            client: &client,
            repo: &spec.repo,
            id,
        },
        None => {
            match created {
                Err(e) => tracing::error!(error = %e, "could not create the check run"),
                Ok(_) => tracing::error!("the check run answer has no id"),
            }
            return Outcome::Error;
        }
    };
    let html_url = created
        .ok()
        .and_then(|v| v.get("html_url")?.as_str().map(str::to_string));

    let started = Instant::now();
    let analysed = match prepare(ctx, spec) {
        Ok(lease) => analyse(&AnalysisRequest {
            repo: lease.path.clone(),
            base_sha: spec.base_sha.clone(),
            head_sha: spec.head_sha.clone(),
            html_base: html_base(&spec.clone_url),
            check_url: html_url,
        }),
        Err(message) => Analysed::Setup(message),
    };
    ctx.metrics
        .analysis_seconds(started.elapsed().as_secs_f64());

    if !ctx.queue.is_current(&key, &spec.head_sha) {
        tracing::info!("superseded while it ran: concluding cancelled, posting nothing");
        let _ = run.complete(
            "cancelled",
            "Superseded by a newer commit",
            "A newer commit was pushed to this pull request while this one was analysed; its check run has the result.",
            None,
            &[],
        );
        return Outcome::Superseded;
    }

    let outcome = match analysed {
        Analysed::Input(lines) => {
            let summary = format!(
                "reachdiff could not analyse the manifests of this pull request, so nothing about its reachability is known.\n\n{}",
                fenced(&lines.join("\n"))
            );
            finish_check(
                &run,
                "failure",
                "Manifests could not be analysed",
                &summary,
                None,
                &[],
            );
            Outcome::InputError
        }
        Analysed::Setup(message) => {
            let summary = format!(
                "reachdiff could not analyse this pull request:\n\n{}",
                fenced(&github::scrub(&message))
            );
            finish_check(
                &run,
                "failure",
                "reachdiff could not analyse this pull request",
                &summary,
                None,
                &[],
            );
            Outcome::Error
        }
        Analysed::Reviewed(r) => publish(ctx, spec, &client, &run, &r),
    };
    ctx.metrics
        .job_seconds(job.received.elapsed().as_secs_f64());
    outcome
}

fn finish_check(
    run: &CheckRun<'_>,
    conclusion: &str,
    title: &str,
    summary: &str,
    text: Option<&str>,
    annotations: &[Annotation],
) -> bool {
    match run.complete(conclusion, title, summary, text, annotations) {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "could not complete the check run");
            false
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
}

/// A reviewed pull request, rendered for each place it is posted.
#[derive(Debug)]
pub struct Reviewed {
    pub conclusion: &'static str,
    pub outcome: Outcome,
    pub title: String,
    /// The check run's summary (Markdown) and text (the full report).
    pub summary: String,
    pub text: String,
    pub annotations: Vec<Annotation>,
    /// The sticky comment's body.
    pub comment: String,
    /// Whether the comment is worth creating (an existing one is always
    /// updated).
    pub changed_or_tripped: bool,
    /// With `report: {review-comments: true}`: the lines to comment on.
    pub review: Option<Vec<ResponsibleLine>>,
    /// The head's warnings, for the log.
    pub diagnostics: Vec<Diagnostic>,
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
    let reviews = &done.reviews;
    let (opened, closed) = reviews.rows();
    let (tripped, changed) = (reviews.tripped(), reviews.changed());
    let (conclusion, outcome) = match (tripped, done.report.advisory) {
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
        title,
        summary,
        text: report::render_diff(reviews, Format::Text, &p),
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
            .iter()
            .flat_map(|r| r.comparison.head.diagnostics.iter())
            .filter(|d| d.severity == Severity::Warning)
            .cloned()
            .collect(),
    }
}

/// At most this many of a job's diagnostics are logged one by one.
const LOGGED_DIAGNOSTICS: usize = 20;

/// The head's warnings as structured log events (never plain lines: the
/// server's stderr may be a JSON log stream).
fn log_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics.iter().take(LOGGED_DIAGNOSTICS) {
        tracing::warn!(
            code = d.code.as_str(),
            file = d.span.as_ref().map(|s| s.file.as_str()),
            line = d.span.as_ref().map(|s| s.line),
            object = d.object.as_deref(),
            field = d.field.as_deref(),
            detail = %d.message,
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
    if !ctx.queue.is_current(&spec.key(), &spec.head_sha) {
        let _ = run.complete(
            "cancelled",
            "Superseded by a newer commit",
            "A newer commit was pushed while this one was analysed.",
            None,
            &[],
        );
        return Outcome::Superseded;
    }
    if !finish_check(
        run,
        r.conclusion,
        &r.title,
        &r.summary,
        Some(&r.text),
        &r.annotations,
    ) {
        return Outcome::Error;
    }
    let conclusion = r.conclusion;
    if spec.merge_group.is_some() {
        // A merge group has no pull request to comment on: the check run
        // is the answer the queue waits for.
        tracing::info!(conclusion, "reported (merge group)");
        return r.outcome;
    }
    if !ctx.queue.is_current(&spec.key(), &spec.head_sha) {
        tracing::info!("superseded after the check run: the newer head writes the comment");
        return r.outcome;
    }
    // The sticky comment: created when there is something to say, updated
    // whenever it exists (also to say a later push changed nothing).
    match publish::publish_sticky(
        client,
        &spec.repo,
        spec.number,
        MARKER,
        &r.comment,
        r.changed_or_tripped,
    ) {
        Ok(s) => tracing::info!(comment = s.as_str(), conclusion, "reported"),
        Err(e) => tracing::error!(error = %e, "could not write the pull-request comment"),
    }
    if let Some(responsible) = &r.review {
        let pull = PullRef {
            repo: &spec.repo,
            number: spec.number,
            head_sha: &spec.head_sha,
        };
        match publish::publish_review(client, pull, responsible, &|f| f.to_string()) {
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
        let now = now_rfc3339();
        let parsed = super::super::auth::parse_rfc3339(&now).unwrap();
        let secs = std::time::SystemTime::now()
            .duration_since(parsed)
            .unwrap_or_default()
            .as_secs();
        assert!(secs < 5, "{now}");
    }

    #[test]
    fn output_limits_and_fences() {
        let long = "x".repeat(70_000);
        let f = fit(&long, "The report was");
        assert_eq!(f.chars().count(), MAX_OUTPUT_CHARS);
        assert!(f.ends_with("characters."));
        assert_eq!(fit("short", "x"), "short");
        let block = fenced("a ``` b");
        assert!(block.starts_with("````text\n") && block.ends_with("\n````"));
        assert_eq!(
            html_base("https://github.com/o/r.git").as_deref(),
            Some("https://github.com/o/r")
        );
        assert_eq!(html_base("file:///tmp/o"), None);
    }
}
