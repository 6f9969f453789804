//! `reachdiff action`: the GitHub Action's entry point.
//!
//! Reads the Actions environment once ([`ActionEnv`]), finds (or fetches)
//! the pull request's base and head commits in the workspace repository,
//! runs exactly what `reachdiff diff --repo` runs, then writes the job
//! summary, workflow-command annotations, the one sticky comment and the
//! step outputs (and, with `review-comments`, one pull-request review with
//! inline comments on the diff lines responsible). It also leaves the
//! artifact of the fork-safe two-job pattern (`.reachdiff/report.json`,
//! `report.md`, `publish.json`). `--publish`, in a `workflow_run` job, takes
//! only the pull-request number from that artifact, has GitHub confirm it,
//! and analyses base and head itself before posting (see [`run_publish`]).
//! Exit 1 when a gate trips, 2 on errors, 0 otherwise.
//!
//! SECURITY: nothing from the pull request head is executed. Commits are
//! read from the object database; configuration and the rules file come
//! from the base commit; the work tree (the merge commit a checkout leaves)
//! is never read. The token reaches git only through environment
//! configuration and never appears on a command line or in a log.

use super::diff::{Computed, DiffArgs, DiffFormat, compute};
use crate::github::{self, GitHubApi, GitHubError, Upserted};
use crate::report::markdown::MARKER;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ActionArgs {
    /// Publisher mode of the fork-safe two-job pattern (on `workflow_run`):
    /// the artifact of the analysis run (a directory holding report.json
    /// and publish.json, or one of those files) names the pull request; the
    /// publisher checks it with GitHub, analyses base and head itself and
    /// posts the comment (and review). Nothing from the artifact is posted.
    #[arg(long, value_name = "DIR_OR_FILE")]
    pub publish: Option<PathBuf>,
}

/// When the sticky comment is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommentMode {
    /// Create or update it on every run.
    Always,
    /// Create it only when reachability changed or a gate tripped; an
    /// existing comment is still updated (to say there is no change).
    OnChange,
    Never,
}

/// Everything the action reads from its environment, read once.
#[derive(Clone, Debug, Default)]
pub struct ActionEnv {
    pub event_path: Option<PathBuf>,
    pub event_name: String,
    /// `owner/name`.
    pub repository: String,
    pub api_url: String,
    pub server_url: String,
    pub workspace: PathBuf,
    pub step_summary: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub run_id: Option<String>,
    pub inputs: Inputs,
}

/// The action's inputs (`INPUT_*`).
#[derive(Clone, Debug)]
pub struct Inputs {
    /// Paths inside the repository (whitespace or comma separated).
    pub paths: Vec<String>,
    /// Environments of `.reachdiff.yaml` to keep.
    pub environments: Vec<String>,
    /// A rules file of gates, read from the base commit.
    pub config: Option<String>,
    pub fail_on: Vec<crate::gate::FailOn>,
    pub comment: CommentMode,
    pub token: String,
    pub working_directory: String,
    /// History fetched for each commit of a shallow checkout.
    pub fetch_depth: u32,
    /// Also post a pull-request review with inline comments.
    pub review_comments: bool,
}

impl Default for Inputs {
    fn default() -> Self {
        Inputs {
            paths: Vec::new(),
            environments: Vec::new(),
            config: None,
            fail_on: Vec::new(),
            comment: CommentMode::OnChange,
            token: String::new(),
            working_directory: ".".into(),
            fetch_depth: 100,
            review_comments: false,
        }
    }
}

fn list(v: &str) -> Vec<String> {
    v.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl ActionEnv {
    /// Reads the environment variables GitHub sets for an action step.
    pub fn from_env() -> anyhow::Result<ActionEnv> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        // The runner names inputs INPUT_<NAME> with the name upper-cased
        // and spaces (not dashes) replaced by underscores.
        let input = |k: &str| var(&format!("INPUT_{}", k.to_ascii_uppercase()));
        let mut inputs = Inputs {
            paths: input("paths").map(|v| list(&v)).unwrap_or_default(),
            environments: input("environments").map(|v| list(&v)).unwrap_or_default(),
            config: input("config").map(|v| v.trim().to_string()),
            ..Inputs::default()
        };
        for f in input("fail-on").map(|v| list(&v)).unwrap_or_default() {
            use clap::ValueEnum;
            inputs
                .fail_on
                .push(crate::gate::FailOn::from_str(&f, true).map_err(|_| {
                    anyhow::anyhow!(
                        "input fail-on: {f:?} is not one of opened, closed, exposure, any, findings"
                    )
                })?);
        }
        inputs.comment = match input("comment").as_deref().map(str::trim) {
            None | Some("on-change") => CommentMode::OnChange,
            Some("always") => CommentMode::Always,
            Some("never") => CommentMode::Never,
            Some(other) => {
                anyhow::bail!("input comment: {other:?} is not one of always, on-change, never")
            }
        };
        inputs.token = input("token").unwrap_or_default().trim().to_string();
        inputs.working_directory = input("working-directory").unwrap_or_else(|| ".".into());
        inputs.review_comments = match input("review-comments").as_deref().map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => anyhow::bail!("input review-comments: {other:?} is not true or false"),
        };
        if let Some(d) = input("fetch-depth") {
            inputs.fetch_depth = d
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("input fetch-depth: {d:?} is not a number"))?;
        }
        Ok(ActionEnv {
            event_path: var("GITHUB_EVENT_PATH").map(PathBuf::from),
            event_name: var("GITHUB_EVENT_NAME").unwrap_or_default(),
            repository: var("GITHUB_REPOSITORY").unwrap_or_default(),
            api_url: var("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
            server_url: var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into()),
            workspace: var("GITHUB_WORKSPACE")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".")),
            step_summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output: var("GITHUB_OUTPUT").map(PathBuf::from),
            run_id: var("GITHUB_RUN_ID"),
            inputs,
        })
    }
}

/// The pull request (or merge group) being checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub base_sha: String,
    pub head_sha: String,
    /// The pull request number (none for merge groups).
    pub number: Option<u64>,
    /// Head and base live in different repositories: the token is read-only.
    pub from_fork: bool,
}

fn is_sha(s: &str) -> bool {
    s.len() >= 40 && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Base and head of a `pull_request`, `pull_request_target` or
/// `merge_group` payload.
pub fn parse_event(name: &str, payload: &str) -> anyhow::Result<Event> {
    let v: serde_json::Value = serde_json::from_str(payload)
        .map_err(|e| anyhow::anyhow!("GITHUB_EVENT_PATH: not JSON: {e}"))?;
    let s = |p: &str| {
        v.pointer(p)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .unwrap_or_default()
    };
    let ev = match name {
        "pull_request" | "pull_request_target" => {
            let base_repo = s("/pull_request/base/repo/full_name");
            let head_repo = s("/pull_request/head/repo/full_name");
            Event {
                base_sha: s("/pull_request/base/sha"),
                head_sha: s("/pull_request/head/sha"),
                number: v
                    .pointer("/pull_request/number")
                    .or_else(|| v.pointer("/number"))
                    .and_then(|n| n.as_u64()),
                // A deleted fork has no head repository: treat as a fork.
                from_fork: name == "pull_request"
                    && (head_repo.is_empty() || head_repo != base_repo),
            }
        }
        "merge_group" => Event {
            base_sha: s("/merge_group/base_sha"),
            head_sha: s("/merge_group/head_sha"),
            number: None,
            from_fork: false,
        },
        other => anyhow::bail!(
            "reachdiff action runs on pull_request, pull_request_target or merge_group events, not {other:?}"
        ),
    };
    if !is_sha(&ev.base_sha) || !is_sha(&ev.head_sha) {
        anyhow::bail!("the {name} event payload lacks base and head commit ids");
    }
    Ok(ev)
}

/// Escapes the message of a workflow command.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property (`file=`, `title=`) of a workflow command.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A token nobody can guess in advance (for `stop-commands` and output
/// delimiters): it only needs to differ from text in the manifests.
fn nonce() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    format!("reachdiff{:016x}", h.finish())
}

/// One annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    pub level: &'static str,
    pub file: Option<String>,
    pub line: Option<u64>,
    pub title: String,
    pub message: String,
}

impl Annotation {
    fn command(&self) -> String {
        let mut props = Vec::new();
        if let Some(f) = &self.file {
            props.push(format!("file={}", escape_property(f)));
        }
        if let Some(l) = self.line {
            props.push(format!("line={l}"));
        }
        props.push(format!("title={}", escape_property(&self.title)));
        format!(
            "::{} {}::{}",
            self.level,
            props.join(","),
            escape_data(&self.message)
        )
    }
}

/// GitHub shows at most this many annotations of each level per step.
pub const ANNOTATION_LIMIT: usize = 10;

/// The (environment, diff/v1 report) pairs of a `diff/v1` or
/// `diff-environments/v1` document.
fn reports_of(doc: &serde_json::Value) -> Vec<(Option<String>, &serde_json::Value)> {
    match doc.get("environments").and_then(|e| e.as_array()) {
        Some(envs) => envs
            .iter()
            .filter_map(|e| {
                let name = e.get("name")?.as_str()?.to_string();
                Some((Some(name), e.get("report")?))
            })
            .collect(),
        None => vec![(None, doc)],
    }
}

/// A repository path as seen from the workspace, the repository being at
/// `prefix` (the working directory input).
fn in_workspace(prefix: &str, file: &str) -> String {
    let p = prefix.trim_matches('/').trim_start_matches("./");
    if p.is_empty() || p == "." {
        file.to_string()
    } else {
        format!("{p}/{file}")
    }
}

/// Annotations from a `reachdiff/diff/v1` document (or a
/// `diff-environments/v1` one): a warning on each head-side line a changed
/// path traces to, an error per tripped gate. `prefix` is the repository's
/// directory relative to the workspace.
pub fn annotations(doc: &serde_json::Value, prefix: &str) -> Vec<Annotation> {
    // Only head-side lines: an annotation points into the pull request's
    // files as they are now.
    let mut out: Vec<Annotation> = review_candidates(doc, prefix)
        .into_iter()
        .filter(|c| c.side == github::Side::Right)
        .map(|c| Annotation {
            level: "warning",
            title: format!(
                "reachdiff{}: {}",
                c.env
                    .as_ref()
                    .map(|e| format!(" [{e}]"))
                    .unwrap_or_default(),
                c.what().join(", ")
            ),
            message: format!("{}; for example {}", c.text, c.example),
            file: Some(c.path),
            line: Some(c.line),
        })
        .collect();
    for (env, r) in reports_of(doc) {
        let env_note = env.map(|e| format!(" [{e}]")).unwrap_or_default();
        for g in r
            .get("gates")
            .and_then(|g| g.as_array())
            .into_iter()
            .flatten()
        {
            if g.get("passed").and_then(|p| p.as_bool()) != Some(false) {
                continue;
            }
            let name = g.get("name").and_then(|n| n.as_str()).unwrap_or("gate");
            let mut message = g
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or_default()
                .to_string();
            let v: Vec<&str> = g
                .get("violations")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str())
                .collect();
            for l in v.iter().take(5) {
                message.push_str(&format!("\n{l}"));
            }
            if v.len() > 5 {
                message.push_str(&format!("\n… and {} more", v.len() - 5));
            }
            out.push(Annotation {
                level: "error",
                file: None,
                line: None,
                title: format!("reachdiff gate {name}{env_note} tripped"),
                message,
            });
        }
    }
    out
}

/// The hidden marker of reachdiff's review comments and reviews.
pub const REVIEW_MARKER: &str = "<!-- reachdiff-review -->";

/// At most this many inline comments per review; the rest are summarised
/// in the review body.
pub const REVIEW_COMMENT_LIMIT: usize = 20;

/// Escapes text from the manifests (attacker-controlled) for Markdown:
/// no HTML, no links, no emphasis, no mentions, on one line.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '|' | '!' | '~' | '@' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A review comment reachdiff would like to post: a line (of `side`) that
/// a changed path traces to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewCandidate {
    pub path: String,
    pub line: u64,
    pub side: github::Side,
    pub opened: usize,
    pub closed: usize,
    /// Environment, cause text and an example path, raw (escaped later).
    pub env: Option<String>,
    pub text: String,
    pub example: String,
}

impl ReviewCandidate {
    /// "opens 2 paths", "closes 1 path".
    fn what(&self) -> Vec<String> {
        let mut what = Vec::new();
        if self.opened > 0 {
            what.push(format!(
                "opens {}",
                crate::report::markdown::plural(self.opened, "path", "paths")
            ));
        }
        if self.closed > 0 {
            what.push(format!(
                "closes {}",
                crate::report::markdown::plural(self.closed, "path", "paths")
            ));
        }
        what
    }

    fn body(&self) -> String {
        let what = self.what();
        let env = self
            .env
            .as_deref()
            .map(|e| format!(" in environment {}", escape_markdown(e)))
            .unwrap_or_default();
        format!(
            "{REVIEW_MARKER}\n**reachdiff**: this line {}{env}.\n\n{}; for example {}",
            what.join(" and "),
            escape_markdown(&self.text),
            escape_markdown(&self.example)
        )
    }
}

/// Every line (either side) a changed path of the report traces to, with
/// the number of opened and closed rows it causes.
pub fn review_candidates(doc: &serde_json::Value, prefix: &str) -> Vec<ReviewCandidate> {
    let reports = reports_of(doc);
    let file_of = |f: &str| in_workspace(prefix, f);
    let mut out: Vec<ReviewCandidate> = Vec::new();
    for (env, r) in reports {
        let causes = r
            .get("causes")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        for (key, opened) in [("opened", true), ("closed", false)] {
            for row in r.get(key).and_then(|x| x.as_array()).into_iter().flatten() {
                let example = format!(
                    "{} → {} {}",
                    row.get("src").and_then(|x| x.as_str()).unwrap_or("?"),
                    row.get("dst").and_then(|x| x.as_str()).unwrap_or("?"),
                    row.get("protocol").and_then(|x| x.as_str()).unwrap_or("")
                );
                for i in row
                    .get("causes")
                    .and_then(|x| x.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.as_u64())
                {
                    let Some(c) = causes.get(i as usize) else {
                        continue;
                    };
                    let side = match c.get("side").and_then(|s| s.as_str()) {
                        Some("head") => github::Side::Right,
                        Some("base") => github::Side::Left,
                        _ => continue,
                    };
                    let (Some(file), Some(line)) = (
                        c.get("file").and_then(|f| f.as_str()),
                        c.get("line").and_then(|l| l.as_u64()),
                    ) else {
                        continue;
                    };
                    let path = file_of(file);
                    let existing = out.iter_mut().find(|x| {
                        x.path == path && x.line == line && x.side == side && x.env == env
                    });
                    let x = match existing {
                        Some(x) => x,
                        None => {
                            out.push(ReviewCandidate {
                                path,
                                line,
                                side,
                                opened: 0,
                                closed: 0,
                                env: env.clone(),
                                text: c
                                    .get("text")
                                    .and_then(|t| t.as_str())
                                    .unwrap_or_default()
                                    .to_string(),
                                example: example.clone(),
                            });
                            out.last_mut().expect("just pushed")
                        }
                    };
                    if opened {
                        x.opened += 1;
                    } else {
                        x.closed += 1;
                    }
                }
            }
        }
    }
    out
}

/// The review to post: the candidates on lines inside the pull request's
/// diff, at most [`REVIEW_COMMENT_LIMIT`]; the rest are counted in the
/// body. `None` when no candidate is commentable.
pub fn build_review(
    candidates: &[ReviewCandidate],
    files: &[github::PrFile],
    head_sha: &str,
) -> Option<github::NewReview> {
    let lines: std::collections::BTreeMap<&str, github::Commentable> = files
        .iter()
        .filter_map(|f| {
            Some((
                f.filename.as_str(),
                github::commentable_lines(f.patch.as_deref()?),
            ))
        })
        .collect();
    let (inside, outside): (Vec<&ReviewCandidate>, Vec<&ReviewCandidate>) =
        candidates.iter().partition(|c| {
            lines
                .get(c.path.as_str())
                .is_some_and(|l| l.contains(c.side, c.line))
        });
    if inside.is_empty() {
        return None;
    }
    let comments: Vec<github::NewReviewComment> = inside
        .iter()
        .take(REVIEW_COMMENT_LIMIT)
        .map(|c| github::NewReviewComment {
            path: c.path.clone(),
            line: c.line,
            side: c.side,
            body: c.body(),
        })
        .collect();
    let mut body = format!(
        "{REVIEW_MARKER}\n**reachdiff**: {} on the lines of this pull request that change reachability.",
        crate::report::markdown::plural(comments.len(), "comment", "comments")
    );
    let more = inside.len() - comments.len();
    if more > 0 {
        body.push_str(&format!(
            "\n\n{} more line(s) in the diff change reachability (at most {REVIEW_COMMENT_LIMIT} are commented); the sticky comment and the job summary have the full report.",
            more
        ));
    }
    if !outside.is_empty() {
        body.push_str(&format!(
            "\n\n{} responsible line(s) lie outside the diff of this pull request and are not commented.",
            outside.len()
        ));
    }
    Some(github::NewReview {
        commit_id: head_sha.to_string(),
        body,
        comments,
    })
}

/// The body a superseded reachdiff review is given.
pub const SUPERSEDED: &str = "_Superseded by a newer reachdiff run; its comments were removed._";

/// Deletes the previous run's review comments (found by the marker) and
/// marks its reviews superseded (a submitted review cannot be deleted),
/// then posts the new review. Returns (deleted, posted).
pub fn replace_review(
    api: &dyn GitHubApi,
    repo: &str,
    number: u64,
    review: Option<&github::NewReview>,
) -> Result<(usize, usize), GitHubError> {
    let superseded = format!("{REVIEW_MARKER}\n{SUPERSEDED}");
    for r in api.list_reviews(repo, number)? {
        if github::is_ours(&r, REVIEW_MARKER) && r.body != superseded {
            api.update_review(repo, number, r.id, &superseded)?;
        }
    }
    let old = api.list_review_comments(repo, number)?;
    let mut deleted = 0;
    for c in old.iter().filter(|c| github::is_ours(c, REVIEW_MARKER)) {
        api.delete_review_comment(repo, c.id)?;
        deleted += 1;
    }
    let posted = match review {
        Some(r) => {
            api.create_review(repo, number, r)?;
            r.comments.len()
        }
        None => 0,
    };
    Ok((deleted, posted))
}

/// Prints annotations within GitHub's per-step limits; the rest are
/// counted in one notice.
fn print_annotations(out: &mut dyn Write, all: &[Annotation]) -> std::io::Result<()> {
    let mut extra = std::collections::BTreeMap::<&str, usize>::new();
    let mut shown = std::collections::BTreeMap::<&str, usize>::new();
    for a in all {
        let n = shown.entry(a.level).or_default();
        if *n < ANNOTATION_LIMIT {
            *n += 1;
            writeln!(out, "{}", a.command())?;
        } else {
            *extra.entry(a.level).or_default() += 1;
        }
    }
    if !extra.is_empty() {
        let parts: Vec<String> = extra
            .iter()
            .map(|(l, n)| format!("{n} more {l}(s)"))
            .collect();
        writeln!(
            out,
            "::notice title=reachdiff::{} not shown as annotations (GitHub shows {ANNOTATION_LIMIT} per level); see the job summary",
            parts.join(", ")
        )?;
    }
    Ok(())
}

/// `name<<DELIM` blocks for `$GITHUB_OUTPUT`, safe for any value.
pub fn output_block(pairs: &[(&str, String)]) -> String {
    let mut s = String::new();
    for (k, v) in pairs {
        let mut delim = format!("EOF_{}", nonce());
        while v.contains(&delim) {
            delim.push('_');
        }
        s.push_str(&format!("{k}<<{delim}\n{v}\n{delim}\n"));
    }
    s
}

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
    let Some(event_path) = &env.event_path else {
        anyhow::bail!("GITHUB_EVENT_PATH is not set: reachdiff action runs inside GitHub Actions");
    };
    let payload = std::fs::read_to_string(event_path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", event_path.display()))?;
    let event = parse_event(&env.event_name, &payload)?;
    analyze_event(env, &event, api, out, log, |_| Ok(()))
}

/// Fetches what is missing, analyses `event`'s base and head as `diff
/// --repo` does, and reports. `check` sees the result before anything is
/// reported (the publisher compares it with the artifact).
fn analyze_event(
    env: &ActionEnv,
    event: &Event,
    api: Option<&dyn GitHubApi>,
    out: &mut dyn Write,
    log: &mut dyn Write,
    check: impl FnOnce(&Computed) -> anyhow::Result<()>,
) -> anyhow::Result<ExitCode> {
    let wd = env.inputs.working_directory.trim();
    if Path::new(wd).is_absolute() || wd.split('/').any(|s| s == "..") {
        anyhow::bail!("input working-directory must be a path inside the workspace");
    }
    let dir = env.workspace.join(wd);
    ensure_commits(&dir, &event.base_sha, &event.head_sha, env, log)?;

    // The base of the comparison is the merge-base, as `diff --repo`.
    let merge_base = {
        let g = crate::source::git::GitRepo::open(&dir)?;
        let (b, _) = g.diff_commits(&event.base_sha, &event.head_sha, false)?;
        // SECURITY: the rules file comes from the base, like the config.
        let rules = match &env.inputs.config {
            Some(p) => {
                let text = g.read_file(&b, p)?.ok_or_else(|| {
                    anyhow::anyhow!("input config: {p} is not a file of the base commit")
                })?;
                let tmp = std::env::temp_dir().join(format!("{}-rules.yaml", nonce()));
                std::fs::write(&tmp, text.as_bytes())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?;
                Some(tmp)
            }
            None => None,
        };
        (b.oid.to_string(), rules)
    };
    let (base_oid, rules) = merge_base;
    let blob = |sha: &str| {
        format!(
            "{}/{}/blob/{sha}{}",
            env.server_url.trim_end_matches('/'),
            env.repository,
            match wd.trim_matches('/') {
                "" | "." => String::new(),
                p => format!("/{p}"),
            }
        )
    };
    let args = DiffArgs {
        base: None,
        head: None,
        more_paths: env.inputs.paths.iter().map(PathBuf::from).collect(),
        repo: Some(dir.clone()),
        base_rev: Some(event.base_sha.clone()),
        head_rev: event.head_sha.clone(),
        base_exact: false,
        env: env.inputs.environments.clone(),
        format: DiffFormat::Md,
        fail_on: env.inputs.fail_on.clone(),
        strict: false,
        rules: rules.clone(),
        base_url: (!env.repository.is_empty()).then(|| blob(&base_oid)),
        head_url: (!env.repository.is_empty()).then(|| blob(&event.head_sha)),
        common: super::Common {
            namespace: "default".into(),
            dual_stack: false,
            verbose: false,
            timings: false,
            output: None,
        },
    };
    // Manifest text reaches stderr in diagnostics: no workflow command may
    // be read from it.
    let stop = nonce();
    let _ = writeln!(out, "::stop-commands::{stop}");
    let _ = out.flush();
    let computed = compute(args);
    // Errors quote manifests too: shown while commands are still off.
    if let Ok(Err(lines)) = &computed {
        super::print_failure(lines);
    }
    let _ = writeln!(out, "::{stop}::");
    if let Some(r) = &rules {
        let _ = std::fs::remove_file(r);
    }
    let done: Computed = match computed? {
        Ok(d) => d,
        Err(_) => return Ok(ExitCode::from(2)),
    };
    check(&done)?;
    finish(env, event, &done, api, out, log)
}

fn finish(
    env: &ActionEnv,
    event: &Event,
    done: &Computed,
    api: Option<&dyn GitHubApi>,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let run_url = env.run_id.as_ref().map(|id| {
        format!(
            "{}/{}/actions/runs/{id}",
            env.server_url.trim_end_matches('/'),
            env.repository
        )
    });
    let json = done.render(DiffFormat::Json, None, None);
    let doc: serde_json::Value = serde_json::from_str(&json)?;

    // The JSON report, in the workspace so later steps can read it.
    let json_rel = ".reachdiff/report.json";
    let json_path = env.workspace.join(json_rel);
    if let Some(p) = json_path.parent() {
        std::fs::create_dir_all(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    }
    std::fs::write(&json_path, &json)
        .map_err(|e| anyhow::anyhow!("{}: {e}", json_path.display()))?;

    // Job summary: the full report (GitHub takes up to 1 MiB per step).
    if let Some(p) = &env.step_summary {
        append(p, &done.render(DiffFormat::Md, Some(900_000), None))?;
    }

    // Annotations on the lines responsible.
    let prefix = env.inputs.working_directory.trim();
    print_annotations(out, &annotations(&doc, prefix))?;

    // Outputs.
    let (mut opened, mut closed, mut exposure) = (0, 0, 0);
    for (_, cmp, view, _) in &done.results {
        opened += cmp.diff.opened.len();
        closed += cmp.diff.closed.len();
        exposure += view.exposures.len();
    }
    let tripped = done.tripped();
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
                ("report-json", json_rel.to_string()),
            ]),
        )?;
    }
    let _ = writeln!(
        log,
        "reachdiff: {opened} path row(s) opened, {closed} closed, {exposure} exposure(s); gates {}",
        if tripped { "tripped" } else { "passed" }
    );

    // The artifact a publisher job (`--publish`) posts from.
    let body = {
        let hint = Some(match &run_url {
            Some(u) => format!("the [job summary]({u}) has the full report"),
            None => "the job summary has the full report".to_string(),
        });
        done.render(DiffFormat::Md, None, hint)
    };
    if let Some(number) = event.number {
        let dir = json_path.parent().unwrap_or(Path::new("."));
        let md = dir.join("report.md");
        std::fs::write(&md, &body).map_err(|e| anyhow::anyhow!("{}: {e}", md.display()))?;
        let side = serde_json::json!({
            "schema": PUBLISH_SCHEMA,
            "repository": env.repository,
            "pull_request": number,
            "head_sha": event.head_sha,
            "working_directory": prefix,
            "changed": done.changed(),
            "tripped": tripped,
        });
        let p = dir.join("publish.json");
        std::fs::write(&p, format!("{side:#}\n"))
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    }

    // The sticky comment.
    match (event.number, env.inputs.comment) {
        (None, _) => {
            let _ = writeln!(
                log,
                "reachdiff: no pull request number (merge group): no comment"
            );
        }
        (Some(_), CommentMode::Never) => {}
        (Some(_), _) if event.from_fork => {
            let _ = writeln!(
                out,
                "::notice title=reachdiff::the pull request comes from a fork, so the token is read-only: no comment; the report is in the job summary"
            );
        }
        (Some(number), mode) => {
            let only_update = mode == CommentMode::OnChange && !done.changed() && !tripped;
            with_api(env, api, |api| {
                post_sticky(api, &env.repository, number, &body, only_update, out, log)
            })?;
        }
    }

    // The review with inline comments.
    if env.inputs.review_comments {
        match event.number {
            None => {}
            Some(_) if event.from_fork => {
                let _ = writeln!(
                    log,
                    "reachdiff: the token is read-only (pull request from a fork): no review comments"
                );
            }
            Some(number) => with_api(env, api, |api| {
                post_review(
                    api,
                    PullRef {
                        repo: &env.repository,
                        number,
                        head_sha: &event.head_sha,
                    },
                    &doc,
                    prefix,
                    out,
                    log,
                )
            })?,
        }
    }
    Ok(if tripped {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Calls `f` with the given API, or a real client for `env.api_url`.
fn with_api<T>(
    env: &ActionEnv,
    api: Option<&dyn GitHubApi>,
    f: impl FnOnce(&dyn GitHubApi) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    match api {
        Some(a) => f(a),
        None => {
            let c =
                github::Client::new(&env.api_url, &env.inputs.token, github::Policy::default())?;
            f(&c)
        }
    }
}

/// Creates or updates the sticky comment (`only_update`: never create
/// one). A read-only token is a warning, not a failure.
fn post_sticky(
    api: &dyn GitHubApi,
    repo: &str,
    number: u64,
    body: &str,
    only_update: bool,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> anyhow::Result<()> {
    let result = if only_update {
        api.list_comments(repo, number)
            .and_then(|all| match github::find_sticky(&all, MARKER) {
                Some(c) if c.body == body => Ok(Some(Upserted::Unchanged(c.id))),
                Some(c) => api
                    .update_comment(repo, c.id, body)
                    .map(|c| Some(Upserted::Updated(c.id))),
                None => Ok(None),
            })
    } else {
        github::upsert_sticky(api, repo, number, MARKER, body).map(Some)
    };
    match result {
        Ok(Some(u)) => {
            let _ = writeln!(log, "reachdiff: comment {u:?}");
        }
        Ok(None) => {
            let _ = writeln!(log, "reachdiff: no change in reachability: no comment");
        }
        Err(e @ GitHubError::Forbidden { .. }) => {
            let _ = writeln!(
                out,
                "::warning title=reachdiff::{}",
                escape_data(&format!(
                    "could not write the pull-request comment: {e}. The token is read-only (pull requests from forks get one; give the job `permissions: pull-requests: write`); the report is in the job summary"
                ))
            );
        }
        Err(e) => anyhow::bail!("writing the pull-request comment: {e}"),
    }
    Ok(())
}

/// Replaces reachdiff's review on pull request `number` with one built
/// from the report `doc`. A read-only token is a log line.
/// The pull request a review is for.
pub(crate) struct PullRef<'a> {
    pub repo: &'a str,
    pub number: u64,
    pub head_sha: &'a str,
}

pub(crate) fn post_review(
    api: &dyn GitHubApi,
    PullRef {
        repo,
        number,
        head_sha,
    }: PullRef<'_>,
    doc: &serde_json::Value,
    prefix: &str,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> anyhow::Result<()> {
    let candidates = review_candidates(doc, prefix);
    let result = api.list_pr_files(repo, number).and_then(|files| {
        let review = build_review(&candidates, &files, head_sha);
        replace_review(api, repo, number, review.as_ref())
    });
    match result {
        Ok((deleted, posted)) => {
            let _ = writeln!(
                log,
                "reachdiff: review: {deleted} previous comment(s) deleted, {posted} posted"
            );
        }
        Err(e @ GitHubError::Forbidden { .. }) => {
            let _ = writeln!(
                log,
                "reachdiff: could not write review comments, the token is read-only: {e}"
            );
        }
        // GitHub refuses a review it cannot place (a line outside the diff
        // after a force-push, a file too large to diff): the report stands
        // without it.
        Err(e @ GitHubError::Status { status: 422, .. }) => {
            let _ = writeln!(
                out,
                "::warning title=reachdiff::{}",
                escape_data(&format!(
                    "GitHub refused the review with inline comments: {e}; the comment and the job summary have the full report"
                ))
            );
        }
        Err(e) => anyhow::bail!("writing the pull-request review: {e}"),
    }
    Ok(())
}

/// The `schema` of the publisher's sidecar file.
pub const PUBLISH_SCHEMA: &str = "reachdiff/publish/v1";
/// The largest report.json a publisher reads.
pub const MAX_REPORT_JSON: u64 = 16 << 20;
/// The largest publish.json a publisher reads.
const MAX_SIDECAR: u64 = 16 << 10;

/// The sidecar of an analysis run's artifact. Only the pull-request number
/// is used, and only after GitHub confirms it; the other fields are checked
/// for consistency.
#[derive(serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Sidecar {
    schema: String,
    repository: String,
    pull_request: u64,
    head_sha: String,
    #[allow(dead_code)]
    working_directory: String,
    #[allow(dead_code)]
    changed: bool,
    #[allow(dead_code)]
    tripped: bool,
}

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
    if env.event_name != "workflow_run" {
        anyhow::bail!(
            "reachdiff action --publish runs on the workflow_run event, not {:?}",
            env.event_name
        );
    }
    let Some(event_path) = &env.event_path else {
        anyhow::bail!("GITHUB_EVENT_PATH is not set: reachdiff action runs inside GitHub Actions");
    };
    let payload = std::fs::read_to_string(event_path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", event_path.display()))?;
    let ev: serde_json::Value = serde_json::from_str(&payload)
        .map_err(|e| anyhow::anyhow!("GITHUB_EVENT_PATH: not JSON: {e}"))?;
    let run_head = ev
        .pointer("/workflow_run/head_sha")
        .and_then(|x| x.as_str())
        .unwrap_or_default()
        .to_string();
    if !is_sha(&run_head) {
        anyhow::bail!("the workflow_run event payload lacks the head commit id");
    }
    let run_prs: Vec<u64> = ev
        .pointer("/workflow_run/pull_requests")
        .and_then(|x| x.as_array())
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("number").and_then(|n| n.as_u64()))
        .collect();

    let dir = if artifact.is_dir() {
        artifact.to_path_buf()
    } else {
        artifact.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let side: Sidecar =
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
    if side.head_sha != run_head {
        anyhow::bail!(
            "artifact: publish.json names head commit {}, but the workflow run is for {run_head}",
            side.head_sha
        );
    }
    let number = side.pull_request;
    if !run_prs.is_empty() && !run_prs.contains(&number) {
        anyhow::bail!(
            "artifact: pull request #{number} is not the workflow run's pull request ({run_prs:?})"
        );
    }
    let claimed: serde_json::Value =
        serde_json::from_str(&read_artifact(&dir.join("report.json"), MAX_REPORT_JSON)?)
            .map_err(|e| anyhow::anyhow!("artifact: report.json: {e}"))?;
    let schema = claimed
        .get("schema")
        .and_then(|s| s.as_str())
        .unwrap_or_default();
    if schema != crate::report::json::DIFF_SCHEMA && schema != "reachdiff/diff-environments/v1" {
        anyhow::bail!("artifact: report.json: schema {schema:?} is not a reachdiff diff report");
    }
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
    let claimed_counts = row_counts(&claimed);
    let mut mismatch = None;
    let code = analyze_event(env, &event, api, out, log, |done| {
        let mine = done.results.iter().fold((0, 0), |(o, c), (_, cmp, _, _)| {
            (o + cmp.diff.opened.len(), c + cmp.diff.closed.len())
        });
        if mine != claimed_counts {
            mismatch = Some(mine);
        }
        Ok(())
    })?;
    if let Some((o, c)) = mismatch {
        let _ = writeln!(
            out,
            "::warning title=reachdiff::{}",
            escape_data(&format!(
                "the analysis run's artifact claims {} opened and {} closed row(s); this run found {o} and {c} and posted its own result (a different reachdiff version, a base that moved on, or a forged artifact)",
                claimed_counts.0, claimed_counts.1
            ))
        );
    }
    Ok(code)
}

pub(super) fn run(args: ActionArgs) -> anyhow::Result<ExitCode> {
    let env = ActionEnv::from_env()?;
    let mut out = std::io::stdout().lock();
    let mut log = std::io::stderr().lock();
    match &args.publish {
        Some(p) => run_publish(&env, p, None, &mut out, &mut log),
        None => run_action(&env, None, &mut out, &mut log),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_outputs() {
        assert_eq!(escape_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
        let b = output_block(&[("x", "1\n2".into())]);
        let mut lines = b.lines();
        let head = lines.next().unwrap();
        let delim = head.strip_prefix("x<<").unwrap();
        assert_eq!(lines.next(), Some("1"));
        assert_eq!(lines.next(), Some("2"));
        assert_eq!(lines.next(), Some(delim));
        assert_eq!(
            crate::source::fetch::basic_auth("t"),
            "eC1hY2Nlc3MtdG9rZW46dA=="
        );
    }

    #[test]
    fn annotation_limits() {
        let a = |level| Annotation {
            level,
            file: Some("a,b:c.yaml".into()),
            line: Some(3),
            title: "t".into(),
            message: "m\n::error::injected".into(),
        };
        let mut all: Vec<Annotation> = (0..15).map(|_| a("warning")).collect();
        all.extend((0..12).map(|_| a("error")));
        let mut out = Vec::new();
        print_annotations(&mut out, &all).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out.lines().filter(|l| l.starts_with("::warning ")).count(),
            10
        );
        assert_eq!(
            out.lines().filter(|l| l.starts_with("::error ")).count(),
            10
        );
        assert!(out.contains("2 more error(s), 5 more warning(s) not shown"));
        assert!(out.contains("file=a%2Cb%3Ac.yaml,line=3,title=t::m%0A::error::injected"));
        assert_eq!(out.lines().count(), 21);
    }

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

    struct Api(std::cell::RefCell<Vec<github::Comment>>);
    impl GitHubApi for Api {
        fn list_comments(&self, _: &str, _: u64) -> Result<Vec<github::Comment>, GitHubError> {
            Ok(self.0.borrow().clone())
        }
        fn create_comment(
            &self,
            _: &str,
            _: u64,
            body: &str,
        ) -> Result<github::Comment, GitHubError> {
            let c = github::Comment {
                id: 1 + self.0.borrow().len() as u64,
                body: body.into(),
                by_bot: true,
            };
            self.0.borrow_mut().push(c.clone());
            Ok(c)
        }
        fn update_comment(&self, _: &str, _: u64, _: &str) -> Result<github::Comment, GitHubError> {
            Err(GitHubError::Forbidden {
                method: "PATCH",
                path: "/x".into(),
                status: 403,
                message: "Resource not accessible by integration".into(),
            })
        }
    }

    #[test]
    fn in_process_with_a_fake_api() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("ws");
        std::fs::create_dir_all(&repo).unwrap();
        crate::source::fetch::test_git(&repo, &["init", "-q", "-b", "main"]);
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
        crate::source::fetch::test_git(&repo, &["add", "-A"]);
        crate::source::fetch::test_git(&repo, &["commit", "-q", "-m", "base"]);
        let base = crate::source::fetch::test_git(&repo, &["rev-parse", "HEAD"]);
        // The head relabels db: the deny policy no longer selects it.
        std::fs::write(repo.join("db.yaml"), pod("app: database")).unwrap();
        crate::source::fetch::test_git(&repo, &["commit", "-q", "-am", "head"]);
        let head = crate::source::fetch::test_git(&repo, &["rev-parse", "HEAD"]);
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
                fail_on: vec![crate::gate::FailOn::Opened],
                ..Inputs::default()
            },
        };
        let api = Api(Default::default());
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
        assert!(api.0.borrow().is_empty());

        // As a pull request: the comment is created; an update refused
        // with 403 is a warning, not a failure.
        std::fs::write(
            &event,
            format!(
                r#"{{"number":3,"pull_request":{{"number":3,"base":{{"sha":"{base}","repo":{{"full_name":"o/r"}}}},"head":{{"sha":"{head}","repo":{{"full_name":"o/r"}}}}}}}}"#
            ),
        )
        .unwrap();
        env.event_name = "pull_request".into();
        env.inputs.fail_on.clear();
        let (mut out, mut log) = (Vec::new(), Vec::new());
        let code = run_action(&env, Some(&api), &mut out, &mut log).unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        assert_eq!(api.0.borrow().len(), 1);
        env.inputs.comment = CommentMode::Always;
        env.inputs.fail_on = vec![crate::gate::FailOn::Closed];
        let (mut out, mut log) = (Vec::new(), Vec::new());
        let code = run_action(&env, Some(&api), &mut out, &mut log).unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("Resource not accessible by integration"),
            "{out}"
        );
        assert_eq!(api.0.borrow().len(), 1);
    }

    #[test]
    fn review_lines_sides_cap_and_escaping() {
        let doc = serde_json::json!({
            "causes": [
                {"kind": "policy", "text": "policy <b>x</b> [y](http://e) @team", "side": "head", "file": "a.yaml", "line": 5},
                {"kind": "policy", "text": "removed", "side": "base", "file": "a.yaml", "line": 3},
                {"kind": "policy", "text": "far away", "side": "head", "file": "a.yaml", "line": 90},
                {"kind": "policy", "text": "no file"}
            ],
            "opened": [{"src": "a", "dst": "b", "protocol": "TCP/1", "causes": [0, 2, 3]}],
            "closed": [{"src": "c", "dst": "d", "protocol": "TCP/2", "causes": [1]}]
        });
        let c = review_candidates(&doc, "deploy");
        assert_eq!(c.len(), 3);
        let files = vec![
            github::PrFile {
                filename: "deploy/a.yaml".into(),
                patch: Some("@@ -2,3 +2,4 @@\n x\n-old\n+new\n+new2\n y".into()),
            },
            github::PrFile {
                filename: "deploy/b.bin".into(),
                patch: None,
            },
        ];
        let r = build_review(&c, &files, "h").unwrap();
        let got: Vec<(&str, u64, github::Side)> = r
            .comments
            .iter()
            .map(|c| (c.path.as_str(), c.line, c.side))
            .collect();
        assert_eq!(
            got,
            vec![
                ("deploy/a.yaml", 5, github::Side::Right),
                ("deploy/a.yaml", 3, github::Side::Left)
            ]
        );
        assert!(
            r.body
                .contains("1 responsible line(s) lie outside the diff")
        );
        let b = &r.comments[0].body;
        assert!(b.starts_with(REVIEW_MARKER));
        assert!(
            b.contains("&lt;b&gt;x&lt;/b&gt; \\[y\\]\\(http://e\\) \\@team"),
            "{b}"
        );
        assert!(!b.contains("<b>"));
        // The cap: 25 commentable lines give 20 comments and a note.
        let many: Vec<ReviewCandidate> = (1..=25)
            .map(|line| ReviewCandidate {
                line,
                ..c[0].clone()
            })
            .collect();
        let patch = format!("@@ -0,0 +1,25 @@\n{}", "+x\n".repeat(25));
        let files = vec![github::PrFile {
            filename: "deploy/a.yaml".into(),
            patch: Some(patch),
        }];
        let r = build_review(&many, &files, "h").unwrap();
        assert_eq!(r.comments.len(), REVIEW_COMMENT_LIMIT);
        assert!(r.body.contains("5 more line(s)"), "{}", r.body);
        assert!(build_review(&many, &[], "h").is_none());
    }

    #[test]
    fn events() {
        let b = "a".repeat(40);
        let h = "b".repeat(40);
        let pr = format!(
            r#"{{"number":7,"pull_request":{{"number":7,"base":{{"sha":"{b}","repo":{{"full_name":"o/r"}}}},"head":{{"sha":"{h}","repo":{{"full_name":"f/r"}}}}}}}}"#
        );
        let e = parse_event("pull_request", &pr).unwrap();
        assert_eq!(e.number, Some(7));
        assert!(e.from_fork);
        assert!(!parse_event("pull_request_target", &pr).unwrap().from_fork);
        let mg = format!(r#"{{"merge_group":{{"base_sha":"{b}","head_sha":"{h}"}}}}"#);
        assert_eq!(parse_event("merge_group", &mg).unwrap().number, None);
        assert!(parse_event("push", &mg).is_err());
    }
}
