//! The Action's run: fetch what a shallow checkout lacks, review the pull
//! request exactly as `reachdiff diff --repo` does, then write the job
//! summary, annotations, outputs, the artifact of the fork-safe pattern,
//! the sticky comment and the review.

use super::commands::{self, escape_data, output_block, print_annotations};
use super::env::{ActionEnv, CommentMode, Event};
use crate::diag::Severity;
use crate::github::publish::{self, Bot, PullRef, ReviewOutcome, Sticky};
use crate::github::{self, GitHubApi, GitHubError};
use crate::ops::diff::{
    CommitRange, DiffOutcome, DiffRequest, DiffSource, GateRequest, LinkRequest, RulesRef,
};
use crate::ops::{AnalysisSettings, OpsError};
use crate::report::markdown::MARKER;
use crate::report::{self, Format, Presentation};
use crate::review::Reviews;
use crate::review::lines::{self, Annotation, Level};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Where later steps find the JSON report, relative to the workspace.
pub const REPORT_JSON: &str = ".reachdiff/report.json";

fn append(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Makes sure base, head and enough history for their merge-base are in
/// the workspace repository, fetching them from `origin` when missing.
fn ensure_commits(
    dir: &Path,
    base: &str,
    head: &str,
    env: &ActionEnv,
    log: &mut dyn Write,
) -> anyhow::Result<()> {
    crate::source::fetch::ensure_commits(
        dir,
        &crate::source::fetch::Remote {
            name_or_url: "origin",
            server: &env.server_url,
            token: &env.inputs.token,
        },
        base,
        head,
        env.inputs.fetch_depth,
        &mut |line| {
            let _ = writeln!(log, "reachdiff: {line}");
        },
    )
    .map(|_| ())
}

/// Runs the action with the environment read and the GitHub client given
/// (`None`: a real client for `env.api_url`). Workflow commands go to
/// `out`, progress to `log`.
pub fn run_action(
    env: &ActionEnv,
    api: Option<&dyn GitHubApi>,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let event = super::env::parse_event(&env.event_name, &env.payload()?)?;
    analyze_event(env, &event, api, out, log, |_| Ok(()))
}

/// What the Action asks of the operations layer for `event`: the same as
/// `reachdiff diff --repo WORKSPACE --base BASE --head HEAD`, with the
/// inputs' paths, environments, gates and rules file (read from the base).
fn request(env: &ActionEnv, event: &Event, dir: &Path) -> DiffRequest {
    let wd = match env.working_directory().trim_matches('/') {
        "" | "." => String::new(),
        p => format!("/{p}"),
    };
    let template = (!env.repository.is_empty()).then(|| {
        format!(
            "{}/{}/blob/{{sha}}{wd}",
            env.server_url.trim_end_matches('/'),
            env.repository,
        )
    });
    DiffRequest {
        source: DiffSource::Commits(CommitRange {
            repo: dir.to_path_buf(),
            base: event.base_sha.clone(),
            head: event.head_sha.clone(),
            base_exact: false,
            paths: env.inputs.paths.clone(),
            config_rev: None,
        }),
        environments: env.inputs.environments.clone(),
        gates: GateRequest {
            fail_on: env.inputs.fail_on.clone(),
            strict: false,
            rules: env.inputs.config.clone().map(RulesRef::InRepository),
        },
        links: LinkRequest {
            template,
            ..LinkRequest::default()
        },
        analysis: AnalysisSettings::default(),
    }
}

/// Fetches what is missing, reviews `event`'s base and head as `diff
/// --repo` does, and reports. `check` sees the result before anything is
/// reported (the publisher compares it with the artifact).
pub fn analyze_event(
    env: &ActionEnv,
    event: &Event,
    api: Option<&dyn GitHubApi>,
    out: &mut dyn Write,
    log: &mut dyn Write,
    check: impl FnOnce(&DiffOutcome) -> anyhow::Result<()>,
) -> anyhow::Result<ExitCode> {
    let wd = env.working_directory();
    if Path::new(wd).is_absolute() || wd.split('/').any(|s| s == "..") {
        anyhow::bail!("input working-directory must be a path inside the workspace");
    }
    let dir = env.workspace.join(wd);
    ensure_commits(&dir, &event.base_sha, &event.head_sha, env, log)?;
    let done = match crate::ops::diff::run(&request(env, event, &dir), &mut |_| {}) {
        Ok(d) => d,
        Err(OpsError::Input(f)) => {
            // Every error, a head error on its line of the pull request.
            let errors: Vec<Annotation> =
                f.errors.iter().map(|e| input_annotation(env, e)).collect();
            print_annotations(out, &errors)?;
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    check(&done)?;
    finish(env, event, &done, api, out, log)
}

/// An error that stopped the analysis, on its line when it is one of the
/// head (the pull request's files as they are now).
fn input_annotation(env: &ActionEnv, e: &crate::ops::InputError) -> Annotation {
    let on_head = e.side != Some(crate::review::Side::Base) && e.error.line.is_some();
    Annotation {
        level: Level::Error,
        file: e
            .error
            .file
            .as_deref()
            .filter(|_| on_head)
            .map(|f| env.in_workspace(f)),
        line: e.error.line.filter(|_| on_head).map(u64::from),
        title: format!(
            "reachdiff{}: {}could not be analysed",
            e.environment
                .as_deref()
                .map(|n| format!(" [{n}]"))
                .unwrap_or_default(),
            e.side
                .map(|s| format!("the {} ", s.as_str()))
                .unwrap_or_default()
        ),
        message: e.error.to_string(),
    }
}

/// A diagnostic as an annotation on its line.
fn diagnostic_annotation(
    env: &ActionEnv,
    environment: Option<&str>,
    d: &crate::diag::Diagnostic,
) -> Annotation {
    Annotation {
        level: if d.is_error() {
            Level::Error
        } else {
            Level::Warning
        },
        file: d.span.as_ref().map(|s| env.in_workspace(&s.file)),
        line: d.span.as_ref().map(|s| u64::from(s.line)),
        title: format!(
            "reachdiff{}: {}",
            environment.map(|e| format!(" [{e}]")).unwrap_or_default(),
            d.code
        ),
        message: d.to_string(),
    }
}

/// The changed lines, the tripped gates and the head's warnings, as
/// annotations (in that order: GitHub shows the first ten of a level).
fn annotations(env: &ActionEnv, done: &DiffOutcome) -> Vec<Annotation> {
    let responsible = lines::responsible_lines(&done.environments);
    let mut all = lines::annotations(&done.environments, &responsible, &|f| env.in_workspace(f));
    for r in done.environments.reviews() {
        all.extend(
            r.comparison
                .head
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .map(|d| diagnostic_annotation(env, r.environment.as_deref(), d)),
        );
    }
    all
}

fn finish(
    env: &ActionEnv,
    event: &Event,
    done: &DiffOutcome,
    api: Option<&dyn GitHubApi>,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let presentation = done.presentation();

    // The JSON report, in the workspace so later steps can read it.
    let json = report::render_diff(&done.environments, Format::Json, &presentation);
    let json_path = env.workspace.join(REPORT_JSON);
    if let Some(p) = json_path.parent() {
        std::fs::create_dir_all(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    }
    std::fs::write(&json_path, &json)
        .map_err(|e| anyhow::anyhow!("{}: {e}", json_path.display()))?;

    // Job summary: the full report (GitHub takes up to 1 MiB per step).
    if let Some(p) = &env.step_summary {
        let summary = Presentation {
            budget: 900_000,
            complete: true,
            ..presentation.clone()
        };
        append(
            p,
            &report::render_diff(&done.environments, Format::Markdown, &summary),
        )?;
    }

    print_annotations(out, &annotations(env, done))?;
    let tripped = done.environments.tripped();
    write_outputs(env, done, log)?;
    let body = comment(env, done, &presentation);
    if let Some(number) = event.number {
        write_artifact(env, event, number, done, &body, &json_path)?;
    }
    // The token's own login tells our comments from other bots'.
    let bot = Bot::token_owner();
    sticky(env, event, done, &body, (api, &bot), out, log)?;
    if env.inputs.review_comments {
        review(env, event, done, (api, &bot), out, log)?;
    }
    Ok(if tripped {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Step outputs and the log's one-line summary.
fn write_outputs(env: &ActionEnv, done: &DiffOutcome, log: &mut dyn Write) -> anyhow::Result<()> {
    let (opened, closed) = done.environments.rows();
    let exposure = done.environments.exposures();
    let tripped = done.environments.tripped();
    if let Some(p) = &env.output {
        append(
            p,
            &output_block(&[
                ("opened", opened.to_string()),
                ("closed", closed.to_string()),
                ("exposure", exposure.to_string()),
                (
                    "gate",
                    if tripped { "failed" } else { "passed" }.to_string(),
                ),
                ("report-json", REPORT_JSON.to_string()),
            ]),
        )?;
    }
    let _ = writeln!(
        log,
        "reachdiff: {opened} path row(s) opened, {closed} closed, {exposure} exposure(s); gates {}",
        if tripped { "tripped" } else { "passed" }
    );
    Ok(())
}

/// The sticky comment's body (the job summary has the full report).
fn comment(env: &ActionEnv, done: &DiffOutcome, presentation: &Presentation) -> String {
    let run_url = env.run_id.as_ref().map(|id| {
        format!(
            "{}/{}/actions/runs/{id}",
            env.server_url.trim_end_matches('/'),
            env.repository
        )
    });
    let hint = match &run_url {
        Some(u) => format!("the [job summary]({u}) has the full report"),
        None => "the job summary has the full report".to_string(),
    };
    let p = Presentation {
        full_report_hint: Some(hint),
        ..presentation.clone()
    };
    report::render_diff(&done.environments, Format::Markdown, &p)
}

/// The artifact a publisher job (`--publish`) posts from.
fn write_artifact(
    env: &ActionEnv,
    event: &Event,
    number: u64,
    done: &DiffOutcome,
    body: &str,
    json_path: &Path,
) -> anyhow::Result<()> {
    let dir = json_path.parent().unwrap_or(Path::new("."));
    let md = dir.join("report.md");
    std::fs::write(&md, body).map_err(|e| anyhow::anyhow!("{}: {e}", md.display()))?;
    let side = report::json::PublishSidecar {
        schema: report::json::PUBLISH_SCHEMA.to_string(),
        repository: env.repository.clone(),
        pull_request: number,
        head_sha: event.head_sha.clone(),
        working_directory: env.working_directory().to_string(),
        changed: done.environments.changed(),
        tripped: done.environments.tripped(),
    };
    let p = dir.join("publish.json");
    std::fs::write(&p, side.render()).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    Ok(())
}

/// Calls `f` with the given API, or a real client for `env.api_url`.
pub fn with_api<T>(
    env: &ActionEnv,
    api: Option<&dyn GitHubApi>,
    f: impl FnOnce(&dyn GitHubApi) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    match api {
        Some(a) => f(a),
        None => {
            // Retries and waits go to the step's log, escaped: GitHub's
            // messages are quoted in them.
            let notes: github::Notes = std::sync::Arc::new(|text: &str| {
                eprintln!("reachdiff: {}", escape_data(text));
            });
            let c =
                github::Client::new(&env.api_url, &env.inputs.token, github::Policy::default())?
                    .with_notes(notes);
            f(&c)
        }
    }
}

/// The sticky comment, as the `comment` input says. A read-only token is
/// a warning, not a failure.
fn sticky(
    env: &ActionEnv,
    event: &Event,
    done: &DiffOutcome,
    body: &str,
    (api, bot): (Option<&dyn GitHubApi>, &Bot),
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> anyhow::Result<()> {
    let number = match (event.number, env.inputs.comment) {
        (None, _) => {
            let _ = writeln!(
                log,
                "reachdiff: no pull request number (merge group): no comment"
            );
            return Ok(());
        }
        (Some(_), CommentMode::Never) => return Ok(()),
        (Some(_), _) if event.from_fork => {
            let _ = writeln!(
                out,
                "::notice title=reachdiff::the pull request comes from a fork, so the token is read-only: no comment; the report is in the job summary"
            );
            return Ok(());
        }
        (Some(n), _) => n,
    };
    let create = env.inputs.comment == CommentMode::Always
        || done.environments.changed()
        || done.environments.tripped();
    let pull = PullRef {
        repo: &env.repository,
        number,
        head_sha: &event.head_sha,
    };
    let result = with_api(env, api, |api| {
        Ok(publish::publish_sticky(
            api, bot, pull, MARKER, body, create,
        ))
    })?;
    match result {
        Ok(Sticky::NotNeeded) => {
            let _ = writeln!(log, "reachdiff: no change in reachability: no comment");
        }
        Ok(s) => {
            let _ = writeln!(log, "reachdiff: comment {s:?}");
        }
        Err(e @ GitHubError::Forbidden { .. }) => {
            let _ = writeln!(
                out,
                "{}",
                commands::warning(&format!(
                    "could not write the pull-request comment: {e}. The token is read-only (pull requests from forks get one; give the job `permissions: pull-requests: write`); the report is in the job summary"
                ))
            );
        }
        Err(e) => anyhow::bail!("writing the pull-request comment: {e}"),
    }
    Ok(())
}

/// The review with inline comments. A read-only token is a log line, a
/// review GitHub refuses a warning.
fn review(
    env: &ActionEnv,
    event: &Event,
    done: &DiffOutcome,
    (api, bot): (Option<&dyn GitHubApi>, &Bot),
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> anyhow::Result<()> {
    let number = match event.number {
        None => return Ok(()),
        Some(_) if event.from_fork => {
            let _ = writeln!(
                log,
                "reachdiff: the token is read-only (pull request from a fork): no review comments"
            );
            return Ok(());
        }
        Some(n) => n,
    };
    let responsible = lines::responsible_lines(&done.environments);
    let pull = PullRef {
        repo: &env.repository,
        number,
        head_sha: &event.head_sha,
    };
    let result = with_api(env, api, |api| {
        Ok(publish::publish_review(
            api,
            bot,
            pull,
            &responsible,
            &|f| env.in_workspace(f),
        ))
    })?;
    match result {
        Ok(ReviewOutcome::Posted { deleted, posted }) => {
            let _ = writeln!(
                log,
                "reachdiff: review: {deleted} previous comment(s) deleted, {posted} posted"
            );
        }
        Ok(ReviewOutcome::ReadOnly(e)) => {
            let _ = writeln!(
                log,
                "reachdiff: could not write review comments, the token is read-only: {}",
                escape_data(&e)
            );
        }
        Ok(ReviewOutcome::Refused(e)) => {
            let _ = writeln!(
                out,
                "{}",
                commands::warning(&format!(
                    "GitHub refused the review with inline comments: {e}; the comment and the job summary have the full report"
                ))
            );
        }
        Err(e) => anyhow::bail!("writing the pull-request review: {e}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::env::Inputs;
    use super::*;
    use crate::github::fake::Fake;
    use crate::review::gate::FailOn;
    use crate::source::fetch::test_git;

    #[test]
    fn the_token_is_never_an_argument() {
        let token = "ghs_0123456789abcdef";
        let c = crate::source::fetch::git(Path::new("."), token, "https://github.com");
        assert!(c.get_args().all(|a| !a.to_string_lossy().contains(token)));
        let envs: Vec<String> = c
            .get_envs()
            .filter_map(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
            .collect();
        // Only the base64 header value carries it.
        assert!(envs.iter().all(|v| !v.contains(token)));
        assert!(envs.iter().any(|v| v
            == &format!(
                "AUTHORIZATION: basic {}",
                crate::source::fetch::basic_auth(token)
            )));
    }

    /// A repository whose head relabels db: the deny policy no longer
    /// selects it. Returns (workspace, base, head).
    fn relabel(root: &Path) -> (std::path::PathBuf, String, String) {
        let repo = root.join("ws");
        std::fs::create_dir_all(&repo).unwrap();
        test_git(&repo, &["init", "-q", "-b", "main"]);
        let pod = |labels: &str| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: db, namespace: shop, labels: {{{labels}}}}}\nspec: {{containers: [{{name: c}}]}}\n"
            )
        };
        let deny = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress]\n";
        std::fs::write(repo.join("db.yaml"), pod("app: db")).unwrap();
        std::fs::write(
            repo.join("web.yaml"),
            pod("app: web").replace("name: db", "name: web"),
        )
        .unwrap();
        std::fs::write(repo.join("deny.yaml"), deny).unwrap();
        test_git(&repo, &["add", "-A"]);
        test_git(&repo, &["commit", "-q", "-m", "base"]);
        let base = test_git(&repo, &["rev-parse", "HEAD"]);
        std::fs::write(repo.join("db.yaml"), pod("app: database")).unwrap();
        test_git(&repo, &["commit", "-q", "-am", "head"]);
        let head = test_git(&repo, &["rev-parse", "HEAD"]);
        (repo, base, head)
    }

    fn pull_request_event(base: &str, head: &str) -> String {
        format!(
            r#"{{"number":3,"pull_request":{{"number":3,"base":{{"sha":"{base}","repo":{{"full_name":"o/r"}}}},"head":{{"sha":"{head}","repo":{{"full_name":"o/r"}}}}}}}}"#
        )
    }

    #[test]
    fn in_process_with_a_fake_api() {
        let tmp = tempfile::tempdir().unwrap();
        let (repo, base, head) = relabel(tmp.path());
        let event = tmp.path().join("event.json");
        std::fs::write(
            &event,
            format!(
                r#"{{"merge_group":{{"base_sha":"{base}","head_sha":"{head}","base_ref":"refs/heads/main"}}}}"#
            ),
        )
        .unwrap();
        let output = tmp.path().join("out");
        let mut env = ActionEnv {
            event_path: Some(event.clone()),
            event_name: "merge_group".into(),
            repository: "o/r".into(),
            api_url: "http://127.0.0.1:9".into(),
            server_url: "https://github.com".into(),
            workspace: repo.clone(),
            step_summary: Some(tmp.path().join("summary")),
            output: Some(output.clone()),
            run_id: None,
            inputs: Inputs {
                fail_on: vec![FailOn::Opened],
                ..Inputs::default()
            },
        };
        let api = Fake::default();
        let (mut out, mut log) = (Vec::new(), Vec::new());
        let code = run_action(&env, Some(&api), &mut out, &mut log).unwrap();
        assert_eq!(code, ExitCode::from(1));
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("::error title=reachdiff gate fail-on opened tripped::"),
            "{out}"
        );
        assert!(out.contains("::warning file=db.yaml,line="), "{out}");
        assert!(std::fs::read_to_string(&output).unwrap().contains("gate<<"));
        // A merge group has no pull request to comment on.
        assert!(api.state().comments.is_empty());

        // As a pull request: the comment is created; an update refused
        // with 403 is a warning, not a failure.
        std::fs::write(&event, pull_request_event(&base, &head)).unwrap();
        env.event_name = "pull_request".into();
        env.inputs.fail_on.clear();
        let (mut out, mut log) = (Vec::new(), Vec::new());
        let code = run_action(&env, Some(&api), &mut out, &mut log).unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        assert_eq!(api.state().comments.len(), 1);
        env.inputs.comment = CommentMode::Always;
        env.inputs.fail_on = vec![FailOn::Closed];
        api.0.borrow_mut().refuse_writes = Some(403);
        let (mut out, mut log) = (Vec::new(), Vec::new());
        let code = run_action(&env, Some(&api), &mut out, &mut log).unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("Resource not accessible by integration"),
            "{out}"
        );
        assert_eq!(api.state().comments.len(), 1);
    }
}
