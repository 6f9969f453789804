//! What the Action reads from its environment (`INPUT_*`, `GITHUB_*`),
//! read once, and the event it runs on.

use crate::review::gate::FailOn;
use std::path::PathBuf;

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
    pub fail_on: Vec<FailOn>,
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
            inputs.fail_on.push(f.parse().map_err(|_| {
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

    /// The event payload's text.
    pub fn payload(&self) -> anyhow::Result<String> {
        let Some(event_path) = &self.event_path else {
            anyhow::bail!(
                "GITHUB_EVENT_PATH is not set: reachdiff action runs inside GitHub Actions"
            );
        };
        std::fs::read_to_string(event_path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", event_path.display()))
    }

    /// The working-directory input: where the repository is, inside the
    /// workspace.
    pub fn working_directory(&self) -> &str {
        self.inputs.working_directory.trim()
    }

    /// A repository path as seen from the workspace (annotations and review
    /// comments name files so).
    pub fn in_workspace(&self, file: &str) -> String {
        let p = self
            .working_directory()
            .trim_matches('/')
            .trim_start_matches("./");
        if p.is_empty() || p == "." {
            file.to_string()
        } else {
            format!("{p}/{file}")
        }
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
    if !crate::github::is_sha(&ev.base_sha) || !crate::github::is_sha(&ev.head_sha) {
        anyhow::bail!("the {name} event payload lacks base and head commit ids");
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn workspace_paths() {
        let mut env = ActionEnv::default();
        for (wd, want) in [
            (".", "a.yaml"),
            ("./deploy/", "deploy/a.yaml"),
            ("", "a.yaml"),
        ] {
            env.inputs.working_directory = wd.into();
            assert_eq!(env.in_workspace("a.yaml"), want);
        }
    }
}
