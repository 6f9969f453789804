//! The publisher (`--publish`) of the fork-safe two-job pattern: an
//! analysis job on the fork's `pull_request` (read-only token) leaves an
//! artifact; this job, on `workflow_run` with a write token, posts.

use super::commands;
use super::driver::{analyze_event, with_api};
use super::env::{ActionEnv, Event};
use crate::github::GitHubApi;
use crate::report::json::{DIFF_ENVIRONMENTS_SCHEMA, DIFF_SCHEMA, PUBLISH_SCHEMA, PublishSidecar};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// The largest report.json a publisher reads.
pub const MAX_REPORT_JSON: u64 = 16 << 20;
/// The largest publish.json a publisher reads.
const MAX_SIDECAR: u64 = 16 << 10;

/// Reads one artifact file: a regular file (no symlink) of at most `max`
/// bytes, UTF-8.
fn read_artifact(path: &Path, max: u64) -> anyhow::Result<String> {
    let m = std::fs::symlink_metadata(path)
        .map_err(|e| anyhow::anyhow!("artifact: {}: {e}", path.display()))?;
    if !m.file_type().is_file() {
        anyhow::bail!("artifact: {} is not a regular file", path.display());
    }
    if m.len() > max {
        anyhow::bail!(
            "artifact: {} is {} bytes, more than the {max} allowed",
            path.display(),
            m.len()
        );
    }
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("artifact: {}: {e}", path.display()))?;
    if bytes.len() as u64 > max {
        anyhow::bail!("artifact: {} grew beyond {max} bytes", path.display());
    }
    String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("artifact: {} is not UTF-8", path.display()))
}

/// (opened, closed) entries of the JSON report (a row per protocol) of
/// these reviews: what [`row_counts`] finds in an artifact's report.
fn json_rows(envs: &[crate::review::EnvironmentReview]) -> (usize, usize) {
    let entries = |rows: &[crate::diff::DiffRow]| -> usize {
        rows.iter().map(|r| r.conn.iter().count()).sum()
    };
    envs.iter()
        .filter_map(|e| e.review.as_ref())
        .fold((0, 0), |(o, c), r| {
            let d = &r.comparison.diff;
            (o + entries(&d.opened), c + entries(&d.closed))
        })
}

/// (opened, closed) row counts of a diff or diff-environments document.
fn row_counts(doc: &serde_json::Value) -> (usize, usize) {
    let len =
        |r: &serde_json::Value, k: &str| r.get(k).and_then(|x| x.as_array()).map_or(0, Vec::len);
    match doc.get("environments").and_then(|e| e.as_array()) {
        Some(envs) => envs
            .iter()
            .filter_map(|e| e.get("report"))
            .fold((0, 0), |(o, c), r| {
                (o + len(r, "opened"), c + len(r, "closed"))
            }),
        None => (len(doc, "opened"), len(doc, "closed")),
    }
}

/// The `workflow_run` event the publisher runs on.
struct WorkflowRun {
    head_sha: String,
    /// The pull requests GitHub lists (none for a fork's run).
    pull_requests: Vec<u64>,
}

impl WorkflowRun {
    fn read(env: &ActionEnv) -> anyhow::Result<WorkflowRun> {
        if env.event_name != "workflow_run" {
            anyhow::bail!(
                "reachdiff action --publish runs on the workflow_run event, not {:?}",
                env.event_name
            );
        }
        let ev: serde_json::Value = serde_json::from_str(&env.payload()?)
            .map_err(|e| anyhow::anyhow!("GITHUB_EVENT_PATH: not JSON: {e}"))?;
        let head_sha = ev
            .pointer("/workflow_run/head_sha")
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_string();
        if !crate::github::is_sha(&head_sha) {
            anyhow::bail!("the workflow_run event payload lacks the head commit id");
        }
        let pull_requests = ev
            .pointer("/workflow_run/pull_requests")
            .and_then(|x| x.as_array())
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("number").and_then(|n| n.as_u64()))
            .collect();
        Ok(WorkflowRun {
            head_sha,
            pull_requests,
        })
    }

    /// The pull-request number of the artifact's sidecar in `dir`, after
    /// checking the sidecar agrees with this run (GitHub confirms it
    /// later).
    fn pull_request(&self, env: &ActionEnv, dir: &Path) -> anyhow::Result<u64> {
        let side: PublishSidecar =
            serde_json::from_str(&read_artifact(&dir.join("publish.json"), MAX_SIDECAR)?)
                .map_err(|e| anyhow::anyhow!("artifact: publish.json: {e}"))?;
        if side.schema != PUBLISH_SCHEMA {
            anyhow::bail!(
                "artifact: publish.json: schema {:?} is not {PUBLISH_SCHEMA}",
                side.schema
            );
        }
        if side.repository != env.repository {
            anyhow::bail!(
                "artifact: publish.json names repository {:?}, not {:?}",
                side.repository,
                env.repository
            );
        }
        let run_head = &self.head_sha;
        if &side.head_sha != run_head {
            anyhow::bail!(
                "artifact: publish.json names head commit {}, but the workflow run is for {run_head}",
                side.head_sha
            );
        }
        let (number, listed) = (side.pull_request, &self.pull_requests);
        if !listed.is_empty() && !listed.contains(&number) {
            anyhow::bail!(
                "artifact: pull request #{number} is not the workflow run's pull request ({listed:?})"
            );
        }
        Ok(number)
    }
}

/// The (opened, closed) rows the artifact's report.json claims.
fn claimed_rows(dir: &Path) -> anyhow::Result<(usize, usize)> {
    let claimed: serde_json::Value =
        serde_json::from_str(&read_artifact(&dir.join("report.json"), MAX_REPORT_JSON)?)
            .map_err(|e| anyhow::anyhow!("artifact: report.json: {e}"))?;
    let schema = claimed
        .get("schema")
        .and_then(|s| s.as_str())
        .unwrap_or_default();
    if schema != DIFF_SCHEMA && schema != DIFF_ENVIRONMENTS_SCHEMA {
        anyhow::bail!("artifact: report.json: schema {schema:?} is not a reachdiff diff report");
    }
    Ok(row_counts(&claimed))
}

/// The publisher (`--publish`) of the fork-safe two-job pattern, on a
/// `workflow_run` event with a write token.
///
/// SECURITY: the artifact comes from a run of the pull request's own
/// workflow, which a fork controls entirely, so nothing in it is posted.
/// The publisher takes only the pull-request number from it, has GitHub
/// confirm that the pull request's head is the workflow run's head, then
/// fetches base and head and analyses them itself, exactly as the analysis
/// job did (reachdiff only reads git objects, so doing this with a write
/// token is safe). The artifact's report is compared with the result and a
/// difference is reported as a warning.
pub fn run_publish(
    env: &ActionEnv,
    artifact: &Path,
    api: Option<&dyn GitHubApi>,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let run = WorkflowRun::read(env)?;
    let dir = if artifact.is_dir() {
        artifact.to_path_buf()
    } else {
        artifact.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let number = run.pull_request(env, &dir)?;
    let claimed = claimed_rows(&dir)?;
    let run_head = run.head_sha;
    // GitHub lists no pull requests on a fork's workflow_run, and a listed
    // one may have moved on since: GitHub's word decides.
    let pr = with_api(env, api, |api| {
        Ok(api.pull_request(&env.repository, number)?)
    })?;
    if pr.head_sha != run_head {
        anyhow::bail!(
            "artifact: pull request #{number} is at {}, not at the workflow run's head {run_head} (superseded, or not this run's pull request)",
            pr.head_sha
        );
    }
    if pr.state != "open" {
        let _ = writeln!(
            log,
            "reachdiff: pull request #{number} is {}: nothing to publish",
            pr.state
        );
        return Ok(ExitCode::SUCCESS);
    }
    let _ = writeln!(
        log,
        "reachdiff: publishing for pull request #{number} ({} → {run_head}), analysed here",
        pr.base_sha
    );
    let event = Event {
        base_sha: pr.base_sha,
        head_sha: run_head,
        number: Some(number),
        from_fork: false,
    };
    let claimed_counts = claimed;
    let mut mismatch = None;
    let code = analyze_event(env, &event, api, out, log, |done| {
        let mine = json_rows(&done.environments);
        if mine != claimed_counts {
            mismatch = Some(mine);
        }
        Ok(())
    })?;
    if let Some((o, c)) = mismatch {
        let _ = writeln!(
            out,
            "{}",
            commands::warning(&format!(
                "the analysis run's artifact claims {} opened and {} closed row(s); this run found {o} and {c} and posted its own result (a different reachdiff version, a base that moved on, or a forged artifact)",
                claimed_counts.0, claimed_counts.1
            ))
        );
    }
    Ok(code)
}
