//! The GitHub REST API, as the Action and the App need it. An I/O edge;
//! it knows nothing of reachability.
//!
//! - this file: the types and the [`GitHubApi`] trait;
//! - [`client`]: the blocking client (retries, rate limits, time limits,
//!   token-free errors);
//! - [`hunks`]: the lines of a diff a review may comment on;
//! - [`publish`]: the one publisher of the Action and the App (sticky
//!   comment, review, check runs), returning outcomes.

pub mod client;
#[cfg(test)]
pub mod fake;
pub mod hunks;
pub mod publish;

pub use client::{Client, Credentials, Notes, Observer, Policy, rate_limit_wait, scrub, transport};
pub use hunks::{Commentable, commentable_lines};

/// A comment on an issue or pull request (or a review, or a review
/// comment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    /// `user.login` of the author (`reachdiff[bot]`, `github-actions[bot]`).
    /// Only comments by the App's or the token's own login are ever taken
    /// for reachdiff's: another bot, or a person pasting the marker, must
    /// not get their comment overwritten or deleted.
    pub author: String,
}

/// Whether `s` is a full commit id as GitHub sends one: 40 (SHA-1) or 64
/// (SHA-256) hexadecimal digits. The one check of ids from payloads.
pub fn is_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// The token may not do this (403 without a rate limit, or 404 on a
    /// write): a read-only token, as on pull requests from forks.
    #[error("{method} {path}: {status} {message} (the token may not write here)")]
    Forbidden {
        method: &'static str,
        path: String,
        status: u16,
        message: String,
    },
    #[error("{method} {path}: {status} {message}")]
    Status {
        method: &'static str,
        path: String,
        status: u16,
        message: String,
    },
    #[error("{method} {path}: {message}")]
    Transport {
        method: &'static str,
        path: String,
        message: String,
    },
    #[error("{0}")]
    Setup(String),
}

impl GitHubError {
    /// Whether the failure means the token cannot write (fork pull requests).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, GitHubError::Forbidden { .. })
    }
}

/// The operations the Action and the App need, so the publishers can be
/// tested with a fake. Every method is required: a fake says what it does
/// for each, never answers "not supported" or an empty list by default.
pub trait GitHubApi {
    /// The login of the token's user (`GET /user`); `None` when the token
    /// may not ask (integration tokens such as `GITHUB_TOKEN` get 403).
    fn authenticated_login(&self) -> Result<Option<String>, GitHubError>;

    /// Every comment of issue or pull request `number` (all pages).
    fn list_comments(&self, repo: &str, number: u64) -> Result<Vec<Comment>, GitHubError>;
    fn create_comment(&self, repo: &str, number: u64, body: &str) -> Result<Comment, GitHubError>;
    fn update_comment(&self, repo: &str, id: u64, body: &str) -> Result<Comment, GitHubError>;

    /// The files of pull request `number` with their unified-diff patches
    /// (`GET /repos/{o}/{r}/pulls/{n}/files`, all pages).
    fn list_pr_files(&self, repo: &str, number: u64) -> Result<Vec<PrFile>, GitHubError>;
    /// Pull request `number` (`GET /repos/{o}/{r}/pulls/{n}`).
    fn pull_request(&self, repo: &str, number: u64) -> Result<PullRequest, GitHubError>;
    /// Every review comment of pull request `number`.
    fn list_review_comments(&self, repo: &str, number: u64) -> Result<Vec<Comment>, GitHubError>;
    /// Every review of pull request `number` (id, body, author).
    fn list_reviews(&self, repo: &str, number: u64) -> Result<Vec<Comment>, GitHubError>;
    /// `PUT /repos/{o}/{r}/pulls/{n}/reviews/{id}`: a submitted review's
    /// body (reviews cannot be deleted once submitted).
    fn update_review(
        &self,
        repo: &str,
        number: u64,
        id: u64,
        body: &str,
    ) -> Result<(), GitHubError>;
    /// `DELETE /repos/{o}/{r}/pulls/comments/{id}`.
    fn delete_review_comment(&self, repo: &str, id: u64) -> Result<(), GitHubError>;
    /// One review (event `COMMENT`) on `commit_id` with inline comments;
    /// returns the review's id.
    fn create_review(
        &self,
        repo: &str,
        number: u64,
        review: &NewReview,
    ) -> Result<u64, GitHubError>;

    /// `POST /repos/{o}/{r}/check-runs`, `in_progress`.
    fn create_check_run(&self, repo: &str, run: &NewCheckRun) -> Result<CheckRunRef, GitHubError>;
    /// `PATCH /repos/{o}/{r}/check-runs/{id}`: output and a batch of
    /// annotations, and the conclusion with the last batch.
    fn update_check_run(
        &self,
        repo: &str,
        id: u64,
        update: &CheckRunUpdate,
    ) -> Result<(), GitHubError>;
}

/// A check run to create (`in_progress`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCheckRun {
    pub name: String,
    pub head_sha: String,
    pub external_id: String,
    pub output: CheckOutput,
}

/// A created check run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckRunRef {
    pub id: u64,
    /// Its page on GitHub, for links.
    pub html_url: Option<String>,
}

/// A check run's output (GitHub renders `summary` and `text` as Markdown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOutput {
    pub title: String,
    pub summary: String,
    pub text: Option<String>,
}

/// One annotation of a check run: a line of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckAnnotation {
    pub path: String,
    pub line: u64,
    /// `failure`, `warning` or `notice`.
    pub level: &'static str,
    pub title: String,
    pub message: String,
}

/// One `PATCH` of a check run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckRunUpdate {
    pub output: CheckOutput,
    pub annotations: Vec<CheckAnnotation>,
    /// `Some(conclusion)` completes the run (`success`, `failure`,
    /// `neutral`, `cancelled`).
    pub conclusion: Option<&'static str>,
}

impl NewCheckRun {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "head_sha": self.head_sha,
            "status": "in_progress",
            "started_at": now_rfc3339(),
            "external_id": self.external_id,
            "output": self.output.json(),
        })
    }
}

impl CheckOutput {
    fn json(&self) -> serde_json::Value {
        let mut o = serde_json::json!({"title": self.title, "summary": self.summary});
        if let Some(t) = &self.text {
            o["text"] = serde_json::Value::String(t.clone());
        }
        o
    }
}

impl CheckRunUpdate {
    fn json(&self) -> serde_json::Value {
        let mut output = self.output.json();
        if !self.annotations.is_empty() {
            output["annotations"] = self
                .annotations
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "path": a.path,
                        "start_line": a.line,
                        "end_line": a.line,
                        "annotation_level": a.level,
                        "title": a.title,
                        "message": a.message,
                    })
                })
                .collect();
        }
        match self.conclusion {
            Some(c) => serde_json::json!({
                "status": "completed",
                "conclusion": c,
                "completed_at": now_rfc3339(),
                "output": output,
            }),
            None => serde_json::json!({ "output": output }),
        }
    }
}

/// Now as RFC 3339 in UTC (`2026-01-02T03:04:05Z`).
pub fn now_rfc3339() -> String {
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

/// What reachdiff reads of a pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequest {
    pub base_sha: String,
    pub head_sha: String,
    /// `open` or `closed`.
    pub state: String,
}

/// A file of a pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrFile {
    pub filename: String,
    /// Absent for binary or very large diffs.
    pub patch: Option<String>,
}

/// Which side of a diff a review comment is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// The base (deleted and context lines, old numbering).
    Left,
    /// The head (added and context lines, new numbering).
    Right,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Left => "LEFT",
            Side::Right => "RIGHT",
        }
    }
}

/// One inline comment of a new review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReviewComment {
    pub path: String,
    pub line: u64,
    pub side: Side,
    pub body: String,
}

/// A review to post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReview {
    pub commit_id: String,
    pub body: String,
    pub comments: Vec<NewReviewComment>,
}

impl NewReview {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "commit_id": self.commit_id,
            "event": "COMMENT",
            "body": self.body,
            "comments": self.comments.iter().map(|c| serde_json::json!({
                "path": c.path,
                "line": c.line,
                "side": c.side.as_str(),
                "body": c.body,
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn commit_ids() {
        assert!(super::is_sha(&"a".repeat(40)));
        assert!(super::is_sha(&"F".repeat(64)));
        assert!(!super::is_sha(&"a".repeat(41)));
        assert!(!super::is_sha(&"g".repeat(40)));
        assert!(!super::is_sha(""));
    }
}
