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
use crate::cli::action::{self, PullRef};
use crate::cli::diff::{Computed, DiffArgs, DiffFormat, compute};
use crate::github::{self, Client, GitHubApi, GitHubError};
use crate::report::markdown::MARKER;
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
        annotations: &[serde_json::Value],
    ) -> Result<(), GitHubError> {
        let title: String = title.chars().take(250).collect();
        let summary = fit(summary, "The summary was");
        let mut output = serde_json::json!({"title": title, "summary": summary});
        if let Some(t) = text {
            output["text"] = serde_json::Value::String(fit(t, "The report was"));
        }
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
    let analysed = analyse(ctx, spec);
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
        Err(Failure::Input(lines)) => {
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
        Err(Failure::Setup(message)) => {
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
        Ok(a) => report(ctx, spec, &client, &run, html_url.as_deref(), &a),
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
    annotations: &[serde_json::Value],
) -> bool {
    match run.complete(conclusion, title, summary, text, annotations) {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "could not complete the check run");
            false
        }
    }
}

enum Failure {
    /// `error: FILE:LINE:COL: …` lines about the manifests.
    Input(Vec<String>),
    /// Git, configuration, rendering.
    Setup(String),
}

struct Analysed {
    done: Computed,
    advisory: bool,
    review_comments: bool,
}

fn analyse(ctx: &Ctx, spec: &JobSpec) -> Result<Analysed, Failure> {
    if !ctx.clone_policy.allows(&spec.clone_url) {
        return Err(Failure::Setup(format!(
            "the clone URL {} is not on this App's GitHub server ({}); nothing was fetched",
            spec.clone_url,
            ctx.clone_policy.describe()
        )));
    }
    let token = ctx
        .tokens
        .token(spec.installation)
        .map_err(|e| Failure::Setup(format!("installation token: {e}")))?;
    let lease = ctx
        .cache
        .fetch(
            &spec.repo,
            &spec.clone_url,
            &token,
            &spec.base_sha,
            &spec.head_sha,
        )
        .map_err(Failure::Setup)?;
    let (base_url, head_url) = match html_base(&spec.clone_url) {
        Some(h) => (
            Some(format!("{h}/blob/{}", spec.base_sha)),
            Some(format!("{h}/blob/{}", spec.head_sha)),
        ),
        None => (None, None),
    };
    // Exactly what `reachdiff diff --repo CACHE --base BASE --head HEAD`
    // does: merge-base, configuration and gates from the base, rendering,
    // environments.
    let args = DiffArgs {
        base: None,
        head: None,
        more_paths: Vec::new(),
        repo: Some(lease.path.clone()),
        base_rev: Some(spec.base_sha.clone()),
        head_rev: spec.head_sha.clone(),
        base_exact: false,
        env: Vec::new(),
        format: DiffFormat::Md,
        fail_on: Vec::new(),
        strict: false,
        rules: None,
        base_url,
        head_url,
        common: crate::cli::Common {
            namespace: "default".into(),
            dual_stack: false,
            verbose: false,
            timings: false,
            output: None,
        },
    };
    // The engine does not panic on input (tests and fuzzing hold it to
    // that); if it ever did, the check run says so instead of staying
    // `in_progress` and the worker lives on.
    let computed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compute(args)));
    let done = match computed {
        Ok(Ok(Ok(d))) => d,
        Ok(Ok(Err(lines))) => return Err(Failure::Input(lines)),
        Ok(Err(e)) => return Err(Failure::Setup(format!("{e:#}"))),
        Err(_) => {
            return Err(Failure::Setup(
                "internal error: the analysis panicked (please report this pull request)".into(),
            ));
        }
    };
    // The text report goes into a check run, never to a terminal.
    let mut done = done;
    done.style = crate::report::style::Style { color: false };
    Ok(Analysed {
        advisory: done.report_config.advisory,
        review_comments: done.report_config.review_comments,
        done,
    })
}

fn report(
    ctx: &Ctx,
    spec: &JobSpec,
    client: &Client,
    run: &CheckRun<'_>,
    html_url: Option<&str>,
    a: &Analysed,
) -> Outcome {
    let done = &a.done;
    let (mut opened, mut closed) = (0, 0);
    for (_, cmp, _, _) in &done.results {
        opened += cmp.diff.opened.len();
        closed += cmp.diff.closed.len();
    }
    let tripped = done.tripped();
    let changed = done.changed();
    let (conclusion, outcome) = match (tripped, a.advisory) {
        (true, false) => ("failure", Outcome::GateTripped),
        (true, true) => ("neutral", Outcome::GateTripped),
        (false, _) => ("success", Outcome::Success),
    };
    let title = match (tripped, changed) {
        (true, _) => format!("Gate tripped: {opened} path row(s) opened, {closed} closed"),
        (false, true) => format!("{opened} path row(s) opened, {closed} closed"),
        (false, false) => "No change in reachability".to_string(),
    };
    let json = done.render(DiffFormat::Json, None, None);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    let all = action::annotations(&doc, "");
    let mut annotations: Vec<serde_json::Value> = all
        .iter()
        .filter_map(|an| {
            Some(serde_json::json!({
                "path": an.file.as_ref()?,
                "start_line": an.line?,
                "end_line": an.line?,
                "annotation_level": if an.level == "error" { "failure" } else { "warning" },
                "title": an.title.chars().take(255).collect::<String>(),
                "message": an.message.chars().take(60_000).collect::<String>(),
            }))
        })
        .collect();
    let mut summary = done.render(
        DiffFormat::Md,
        Some(60_000),
        Some("the text report below has every row".into()),
    );
    if annotations.len() > MAX_ANNOTATIONS {
        summary.push_str(&format!(
            "\n\n{} lines are responsible for changes; the first {MAX_ANNOTATIONS} are annotated.",
            annotations.len()
        ));
        annotations.truncate(MAX_ANNOTATIONS);
    }
    let text = done.render(DiffFormat::Text, None, None);
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
    if !finish_check(run, conclusion, &title, &summary, Some(&text), &annotations) {
        return Outcome::Error;
    }

    if spec.merge_group.is_some() {
        // A merge group has no pull request to comment on: the check run
        // is the answer the queue waits for.
        tracing::info!(conclusion, "reported (merge group)");
        return outcome;
    }
    if !ctx.queue.is_current(&spec.key(), &spec.head_sha) {
        tracing::info!("superseded after the check run: the newer head writes the comment");
        return outcome;
    }
    // The sticky comment: created when there is something to say, updated
    // whenever it exists (also to say a later push changed nothing).
    let hint = Some(match html_url {
        Some(u) => format!("the [check run]({u}) has the full report"),
        None => "the check run has the full report".into(),
    });
    let body = done.render(DiffFormat::Md, None, hint);
    let comment = client
        .list_comments(&spec.repo, spec.number)
        .and_then(|all| match github::find_sticky(&all, MARKER) {
            Some(c) if c.body == body => Ok("unchanged"),
            Some(c) => client
                .update_comment(&spec.repo, c.id, &body)
                .map(|_| "updated"),
            None if changed || tripped => client
                .create_comment(&spec.repo, spec.number, &body)
                .map(|_| "created"),
            None => Ok("not needed"),
        });
    match comment {
        Ok(what) => tracing::info!(comment = what, conclusion, "reported"),
        Err(e) => tracing::error!(error = %e, "could not write the pull-request comment"),
    }

    if a.review_comments {
        let (mut out, mut log) = (Vec::new(), Vec::new());
        let r = action::post_review(
            client,
            PullRef {
                repo: &spec.repo,
                number: spec.number,
                head_sha: &spec.head_sha,
            },
            &doc,
            "",
            &mut out,
            &mut log,
        );
        let said = String::from_utf8_lossy(&log);
        match r {
            Ok(()) => tracing::info!(review = %said.trim(), "review"),
            Err(e) => tracing::error!(error = %e, "could not write the review"),
        }
    }
    outcome
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
