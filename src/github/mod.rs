//! The GitHub REST API, as `reachdiff action` needs it: the one sticky
//! pull-request comment (find by marker, create, update), and the review
//! with inline comments (pull-request files and their hunks, reviews,
//! review comments).
//!
//! This is an I/O edge. Every call has a time limit, is retried with
//! backoff on 5xx answers and connection errors, and waits out rate limits
//! (403/429 with `retry-after` or `x-ratelimit-reset`, capped). Errors name
//! the method, the path and GitHub's message, never the token.
//!
//! Transport is octocrab's raw `_get`/`_post`/`_patch`/`_put`/`_delete` (its typed
//! `update_comment` sends POST; GitHub documents PATCH).

#[cfg(test)]
pub mod fake;
pub mod publish;

use std::time::Duration;

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

/// The lines of one file GitHub lets a review comment on, from its patch:
/// every line of a hunk, on the side(s) it exists on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Commentable {
    pub left: std::collections::BTreeSet<u64>,
    pub right: std::collections::BTreeSet<u64>,
}

impl Commentable {
    pub fn contains(&self, side: Side, line: u64) -> bool {
        match side {
            Side::Left => self.left.contains(&line),
            Side::Right => self.right.contains(&line),
        }
    }
}

/// Parses the hunks of a unified-diff patch (as GitHub gives it: no file
/// header, hunks starting `@@ -a,b +c,d @@`).
pub fn commentable_lines(patch: &str) -> Commentable {
    let mut out = Commentable::default();
    let (mut old, mut new) = (0u64, 0u64);
    let mut in_hunk = false;
    for l in patch.lines() {
        if let Some(rest) = l.strip_prefix("@@ ") {
            let mut it = rest.split_whitespace();
            let start = |t: Option<&str>, sign: char| {
                t.and_then(|t| t.strip_prefix(sign))
                    .and_then(|t| t.split(',').next())
                    .and_then(|n| n.parse::<u64>().ok())
            };
            match (start(it.next(), '-'), start(it.next(), '+')) {
                (Some(o), Some(n)) => {
                    (old, new) = (o, n);
                    in_hunk = true;
                }
                _ => in_hunk = false,
            }
            continue;
        }
        if !in_hunk {
            continue;
        }
        match l.chars().next() {
            Some('+') => {
                out.right.insert(new);
                new += 1;
            }
            Some('-') => {
                out.left.insert(old);
                old += 1;
            }
            Some('\\') => {}
            _ => {
                out.left.insert(old);
                out.right.insert(new);
                old += 1;
                new += 1;
            }
        }
    }
    out
}

/// Retry and time limits.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Attempts per call, including the first.
    pub attempts: u32,
    /// First backoff; doubled after each failure.
    pub backoff: Duration,
    /// The longest a rate limit is waited out; a longer wait is an error.
    pub max_wait: Duration,
    /// Each attempt's time limit.
    pub timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            attempts: 4,
            backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(120),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Where a client's `Authorization` header comes from.
pub trait Credentials: Send + Sync {
    /// The header value (`Bearer …`), or `None` to call anonymously.
    fn authorization(&self) -> Result<Option<String>, GitHubError>;
    /// A 401 answered a request made with the current credential: forget
    /// it. Returns whether a new one may be obtained (then the request is
    /// retried once).
    fn invalidate(&self) -> bool {
        false
    }
}

/// A fixed token (the Action's `GITHUB_TOKEN`).
struct StaticToken(String);

impl Credentials for StaticToken {
    fn authorization(&self) -> Result<Option<String>, GitHubError> {
        Ok((!self.0.is_empty()).then(|| format!("Bearer {}", self.0)))
    }
}

/// Called with (method, status) after every answer; status 0 is a
/// transport failure. For metrics.
pub type Observer = std::sync::Arc<dyn Fn(&'static str, u16) + Send + Sync>;

/// The runtime a blocking [`Client`] drives its requests on.
enum Rt {
    /// Its own (the Action: one process, one client).
    Owned(tokio::runtime::Runtime),
    /// The server's, from a blocking thread: one connection pool for all
    /// jobs.
    Shared(tokio::runtime::Handle),
}

/// A blocking client for `api_url` (`https://api.github.com`, or a GHES
/// `https://HOST/api/v3`).
pub struct Client {
    api: String,
    octo: octocrab::Octocrab,
    rt: Rt,
    policy: Policy,
    creds: std::sync::Arc<dyn Credentials>,
    observer: Option<Observer>,
}

/// What one attempt gave.
struct Answer {
    status: u16,
    body: String,
    link: Option<String>,
    wait: Option<Duration>,
}

/// An octocrab instance for `api_url` without credentials of its own:
/// reachdiff sets `Authorization` on each request, so one instance serves
/// every installation.
pub fn transport(api_url: &str, policy: &Policy) -> Result<octocrab::Octocrab, GitHubError> {
    let api = api_url.trim_end_matches('/');
    octocrab::Octocrab::builder()
        .base_uri(api)
        .map_err(|_| GitHubError::Setup(format!("bad API URL {api:?}")))?
        .set_connect_timeout(Some(policy.timeout))
        .set_read_timeout(Some(policy.timeout))
        .set_write_timeout(Some(policy.timeout))
        .build()
        .map_err(|_| GitHubError::Setup("could not build the HTTP client".into()))
}

impl Client {
    /// A client with its own runtime and a fixed token.
    pub fn new(api_url: &str, token: &str, policy: Policy) -> Result<Client, GitHubError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| GitHubError::Setup(format!("async runtime: {e}")))?;
        let octo = {
            let _guard = rt.enter();
            transport(api_url, &policy)?
        };
        Ok(Client {
            api: api_url.trim_end_matches('/').to_string(),
            octo,
            rt: Rt::Owned(rt),
            policy,
            creds: std::sync::Arc::new(StaticToken(token.to_string())),
            observer: None,
        })
    }

    /// A client on a running multi-threaded runtime (call it only from
    /// blocking threads, e.g. `spawn_blocking`), sharing `octo`.
    pub fn shared(
        api_url: &str,
        octo: octocrab::Octocrab,
        handle: tokio::runtime::Handle,
        creds: std::sync::Arc<dyn Credentials>,
        policy: Policy,
        observer: Option<Observer>,
    ) -> Client {
        Client {
            api: api_url.trim_end_matches('/').to_string(),
            octo,
            rt: Rt::Shared(handle),
            policy,
            creds,
            observer,
        }
    }

    /// Retries and waits: on stderr for the Action's log, as a tracing
    /// event in the server.
    fn say(&self, text: String) {
        match self.rt {
            Rt::Owned(_) => eprintln!("reachdiff: {text}"),
            Rt::Shared(_) => tracing::warn!("{text}"),
        }
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        match &self.rt {
            Rt::Owned(rt) => rt.block_on(f),
            Rt::Shared(h) => h.block_on(f),
        }
    }

    /// One call with retries: `path` is below the API URL, or a full URL
    /// from a `Link` header (which must start with the API URL).
    fn call(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, GitHubError> {
        // Requests go out with a path only: octocrab puts the API URL's
        // scheme, host and path prefix (GHES `/api/v3`) in front.
        let relative = if path.starts_with("http://") || path.starts_with("https://") {
            match path.strip_prefix(&self.api) {
                Some(rest) => rest.to_string(),
                None => {
                    return Err(GitHubError::Setup(format!(
                        "{method}: refusing to follow a link outside the API URL"
                    )));
                }
            }
        } else {
            path.to_string()
        };
        let shown = relative.split('?').next().unwrap_or_default().to_string();
        let mut backoff = self.policy.backoff;
        let mut attempt = 0;
        let mut reauthorized = false;
        loop {
            attempt += 1;
            let last = attempt >= self.policy.attempts;
            let auth = self.creds.authorization()?;
            let result = self.block_on(async {
                tokio::time::timeout(
                    self.policy.timeout,
                    self.once(method, &relative, body, auth.as_deref()),
                )
                .await
            });
            let answer = match result {
                Err(_) => Err(format!("timed out after {:?}", self.policy.timeout)),
                Ok(Err(e)) => Err(e),
                Ok(Ok(a)) => Ok(a),
            };
            if let Some(o) = &self.observer {
                o(method, answer.as_ref().map_or(0, |a| a.status));
            }
            match answer {
                Err(message) => {
                    if last {
                        return Err(GitHubError::Transport {
                            method,
                            path: shown,
                            message,
                        });
                    }
                    self.say(format!(
                        "{method} {shown}: {message}; retrying in {backoff:?}"
                    ));
                    std::thread::sleep(backoff);
                    backoff *= 2;
                }
                Ok(a) if (200..300).contains(&a.status) => return Ok(a),
                // An installation token expired or was revoked early: get a
                // new one and try again, once.
                Ok(a) if a.status == 401 && !reauthorized && self.creds.invalidate() => {
                    reauthorized = true;
                    attempt -= 1;
                    self.say(format!(
                        "{method} {shown}: 401; credentials renewed, retrying"
                    ));
                }
                Ok(a) => {
                    let message = github_message(&a.body);
                    // A secondary rate limit without headers: GitHub asks
                    // for at least a minute.
                    let wait = a.wait.or_else(|| {
                        (a.status == 403 && message.to_ascii_lowercase().contains("rate limit"))
                            .then_some(Duration::from_secs(60))
                    });
                    if let Some(wait) = wait {
                        if wait > self.policy.max_wait || last {
                            return Err(GitHubError::Status {
                                method,
                                path: shown,
                                status: a.status,
                                message: format!("{message} (rate limited; would wait {wait:?})"),
                            });
                        }
                        self.say(format!(
                            "{method} {shown}: rate limited ({}); waiting {wait:?}",
                            a.status
                        ));
                        std::thread::sleep(wait);
                        continue;
                    }
                    if a.status >= 500 && !last {
                        self.say(format!(
                            "{method} {shown}: {} {message}; retrying in {backoff:?}",
                            a.status
                        ));
                        std::thread::sleep(backoff);
                        backoff *= 2;
                        continue;
                    }
                    let forbidden =
                        a.status == 403 || (a.status == 404 && method != "GET") || a.status == 401;
                    return Err(if forbidden {
                        GitHubError::Forbidden {
                            method,
                            path: shown,
                            status: a.status,
                            message,
                        }
                    } else {
                        GitHubError::Status {
                            method,
                            path: shown,
                            status: a.status,
                            message,
                        }
                    });
                }
            }
        }
    }

    async fn once(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&serde_json::Value>,
        auth: Option<&str>,
    ) -> Result<Answer, String> {
        let m = http::Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("unsupported method {method}"))?;
        let mut builder = http::Request::builder().method(m).uri(path);
        if let Some(a) = auth {
            let mut v = http::HeaderValue::from_str(a)
                .map_err(|_| "the credential is not a valid header value".to_string())?;
            v.set_sensitive(true);
            builder = builder.header(http::header::AUTHORIZATION, v);
        }
        let request = self
            .octo
            .build_request(builder, body)
            .map_err(|e| scrub(&format!("{e}")))?;
        // octocrab's errors describe the transport (connection refused,
        // timed out); the token travels in a header and is not in them.
        let res = self
            .octo
            .execute(request)
            .await
            .map_err(|e| scrub(&format!("{e}")))?;
        let status = res.status().as_u16();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let link = header("link");
        let wait = rate_limit_wait(
            status,
            header("retry-after").as_deref(),
            header("x-ratelimit-remaining").as_deref(),
            header("x-ratelimit-reset").as_deref(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        );
        let body = self
            .octo
            .body_to_string(res)
            .await
            .map_err(|e| scrub(&format!("reading the answer: {e}")))?;
        Ok(Answer {
            status,
            body,
            link,
            wait,
        })
    }
}

/// How long to wait before retrying a rate-limited answer, if it is one:
/// `retry-after` seconds (secondary limits), or until `x-ratelimit-reset`
/// when the remaining quota is 0 (primary limits). One second is added to
/// the reset, as GitHub recommends.
pub fn rate_limit_wait(
    status: u16,
    retry_after: Option<&str>,
    remaining: Option<&str>,
    reset: Option<&str>,
    now: u64,
) -> Option<Duration> {
    if status != 403 && status != 429 {
        return None;
    }
    if let Some(s) = retry_after.and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(s));
    }
    let exhausted = remaining.is_some_and(|r| r.trim() == "0");
    match reset.and_then(|v| v.trim().parse::<u64>().ok()) {
        Some(reset) if exhausted || status == 429 => {
            Some(Duration::from_secs(reset.saturating_sub(now).max(1)))
        }
        _ if status == 429 => Some(Duration::from_secs(60)),
        _ => None,
    }
}

/// GitHub's `message` field, or the start of the body.
fn github_message(body: &str) -> String {
    let msg = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.chars().take(200).collect());
    scrub(&msg)
}

/// Removes anything that looks like a GitHub token from a message.
pub fn scrub(text: &str) -> String {
    const PREFIXES: [&str; 6] = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((i, p)) = PREFIXES
        .iter()
        .filter_map(|p| rest.find(p).map(|i| (i, *p)))
        .min()
    {
        out.push_str(&rest[..i]);
        out.push_str("***");
        let tail = &rest[i + p.len()..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

fn parse_comment(v: &serde_json::Value) -> Option<Comment> {
    Some(Comment {
        id: v.get("id")?.as_u64()?,
        body: v
            .get("body")
            .and_then(|b| b.as_str())
            .unwrap_or_default()
            .to_string(),
        author: v
            .pointer("/user/login")
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_string(),
    })
}

fn bad_json(method: &'static str, path: &str) -> GitHubError {
    GitHubError::Transport {
        method,
        path: path.to_string(),
        message: "the answer is not the JSON GitHub documents".into(),
    }
}

/// Caps the pages followed (100 comments each).
const MAX_PAGES: usize = 50;

impl GitHubApi for Client {
    fn authenticated_login(&self) -> Result<Option<String>, GitHubError> {
        match self.call("GET", "/user", None) {
            Ok(a) => {
                let v: serde_json::Value =
                    serde_json::from_str(&a.body).map_err(|_| bad_json("GET", "/user"))?;
                Ok(v.get("login").and_then(|l| l.as_str()).map(str::to_string))
            }
            // An integration token (GITHUB_TOKEN, an App's installation
            // token) may not read `/user`.
            Err(GitHubError::Forbidden { .. }) => Ok(None),
            Err(GitHubError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn create_check_run(&self, repo: &str, run: &NewCheckRun) -> Result<CheckRunRef, GitHubError> {
        let path = format!("/repos/{repo}/check-runs");
        let v = self.post_json(&path, &run.json())?;
        Ok(CheckRunRef {
            id: v
                .get("id")
                .and_then(|i| i.as_u64())
                .ok_or_else(|| bad_json("POST", &path))?,
            html_url: v
                .get("html_url")
                .and_then(|u| u.as_str())
                .map(str::to_string),
        })
    }

    fn update_check_run(
        &self,
        repo: &str,
        id: u64,
        update: &CheckRunUpdate,
    ) -> Result<(), GitHubError> {
        self.patch_json(&format!("/repos/{repo}/check-runs/{id}"), &update.json())
            .map(|_| ())
    }

    fn list_comments(&self, repo: &str, number: u64) -> Result<Vec<Comment>, GitHubError> {
        let mut out = Vec::new();
        let mut next = Some(format!(
            "/repos/{repo}/issues/{number}/comments?per_page=100"
        ));
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            let a = self.call("GET", &path, None)?;
            let v: serde_json::Value =
                serde_json::from_str(&a.body).map_err(|_| bad_json("GET", "/repos/…/comments"))?;
            let items = v
                .as_array()
                .ok_or_else(|| bad_json("GET", "/repos/…/comments"))?;
            out.extend(items.iter().filter_map(parse_comment));
            if pages < MAX_PAGES {
                next = a.link.as_deref().and_then(next_link);
            }
        }
        Ok(out)
    }

    fn create_comment(&self, repo: &str, number: u64, body: &str) -> Result<Comment, GitHubError> {
        let path = format!("/repos/{repo}/issues/{number}/comments");
        let a = self.call("POST", &path, Some(&serde_json::json!({ "body": body })))?;
        serde_json::from_str::<serde_json::Value>(&a.body)
            .ok()
            .as_ref()
            .and_then(parse_comment)
            .ok_or_else(|| bad_json("POST", &path))
    }

    fn update_comment(&self, repo: &str, id: u64, body: &str) -> Result<Comment, GitHubError> {
        let path = format!("/repos/{repo}/issues/comments/{id}");
        let a = self.call("PATCH", &path, Some(&serde_json::json!({ "body": body })))?;
        serde_json::from_str::<serde_json::Value>(&a.body)
            .ok()
            .as_ref()
            .and_then(parse_comment)
            .ok_or_else(|| bad_json("PATCH", &path))
    }

    fn list_pr_files(&self, repo: &str, number: u64) -> Result<Vec<PrFile>, GitHubError> {
        let items = self.get_all(&format!("/repos/{repo}/pulls/{number}/files?per_page=100"))?;
        Ok(items
            .iter()
            .filter_map(|v| {
                Some(PrFile {
                    filename: v.get("filename")?.as_str()?.to_string(),
                    patch: v.get("patch").and_then(|p| p.as_str()).map(str::to_string),
                })
            })
            .collect())
    }

    fn pull_request(&self, repo: &str, number: u64) -> Result<PullRequest, GitHubError> {
        let path = format!("/repos/{repo}/pulls/{number}");
        let a = self.call("GET", &path, None)?;
        let v: serde_json::Value =
            serde_json::from_str(&a.body).map_err(|_| bad_json("GET", &path))?;
        let s = |p: &str| v.pointer(p).and_then(|s| s.as_str()).map(str::to_string);
        match (s("/base/sha"), s("/head/sha"), s("/state")) {
            (Some(base_sha), Some(head_sha), Some(state)) => Ok(PullRequest {
                base_sha,
                head_sha,
                state,
            }),
            _ => Err(bad_json("GET", &path)),
        }
    }

    fn list_review_comments(&self, repo: &str, number: u64) -> Result<Vec<Comment>, GitHubError> {
        let items = self.get_all(&format!(
            "/repos/{repo}/pulls/{number}/comments?per_page=100"
        ))?;
        Ok(items.iter().filter_map(parse_comment).collect())
    }

    fn list_reviews(&self, repo: &str, number: u64) -> Result<Vec<Comment>, GitHubError> {
        let items = self.get_all(&format!(
            "/repos/{repo}/pulls/{number}/reviews?per_page=100"
        ))?;
        Ok(items.iter().filter_map(parse_comment).collect())
    }

    fn update_review(
        &self,
        repo: &str,
        number: u64,
        id: u64,
        body: &str,
    ) -> Result<(), GitHubError> {
        self.call(
            "PUT",
            &format!("/repos/{repo}/pulls/{number}/reviews/{id}"),
            Some(&serde_json::json!({ "body": body })),
        )
        .map(|_| ())
    }

    fn delete_review_comment(&self, repo: &str, id: u64) -> Result<(), GitHubError> {
        self.call(
            "DELETE",
            &format!("/repos/{repo}/pulls/comments/{id}"),
            None,
        )
        .map(|_| ())
    }

    fn create_review(
        &self,
        repo: &str,
        number: u64,
        review: &NewReview,
    ) -> Result<u64, GitHubError> {
        let path = format!("/repos/{repo}/pulls/{number}/reviews");
        let a = self.call("POST", &path, Some(&review.json()))?;
        serde_json::from_str::<serde_json::Value>(&a.body)
            .ok()
            .and_then(|v| v.get("id").and_then(|i| i.as_u64()))
            .ok_or_else(|| bad_json("POST", &path))
    }
}

impl Client {
    fn json(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, GitHubError> {
        let a = self.call(method, path, body)?;
        if a.body.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        let shown = path.split('?').next().unwrap_or_default();
        serde_json::from_str(&a.body).map_err(|_| bad_json(method, shown))
    }

    /// One JSON request (the App's endpoints: check runs, tokens, lists).
    pub fn get_json(&self, path: &str) -> Result<serde_json::Value, GitHubError> {
        self.json("GET", path, None)
    }

    pub fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, GitHubError> {
        self.json("POST", path, Some(body))
    }

    pub fn patch_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, GitHubError> {
        self.json("PATCH", path, Some(body))
    }

    /// Every item of a paginated list (at most `MAX_PAGES` pages).
    pub fn get_all(&self, first: &str) -> Result<Vec<serde_json::Value>, GitHubError> {
        self.get_all_in(first, None)
    }

    /// Every item of a paginated list that is the array `key` of each
    /// answer (`check_runs`, `repositories`), or the answer itself.
    pub fn get_all_in(
        &self,
        first: &str,
        key: Option<&str>,
    ) -> Result<Vec<serde_json::Value>, GitHubError> {
        let mut out = Vec::new();
        let mut next = Some(first.to_string());
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            let a = self.call("GET", &path, None)?;
            let v: serde_json::Value =
                serde_json::from_str(&a.body).map_err(|_| bad_json("GET", first))?;
            let list = match key {
                Some(k) => v.get(k),
                None => Some(&v),
            };
            let items = list
                .and_then(|l| l.as_array())
                .ok_or_else(|| bad_json("GET", first))?;
            out.extend(items.iter().cloned());
            if pages < MAX_PAGES {
                next = a.link.as_deref().and_then(next_link);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits() {
        assert_eq!(rate_limit_wait(500, Some("3"), None, None, 0), None);
        assert_eq!(
            rate_limit_wait(403, Some("3"), None, None, 0),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            rate_limit_wait(403, None, Some("0"), Some("105"), 100),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            rate_limit_wait(403, None, Some("0"), Some("90"), 100),
            Some(Duration::from_secs(1))
        );
        // A plain 403 (no quota exhausted) is a permission problem.
        assert_eq!(
            rate_limit_wait(403, None, Some("4999"), Some("105"), 100),
            None
        );
        assert_eq!(
            rate_limit_wait(429, None, None, None, 0),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn links_and_scrubbing() {
        let l = r#"<https://api.github.com/repositories/1/issues/2/comments?page=2>; rel="next", <https://api.github.com/repositories/1/issues/2/comments?page=5>; rel="last""#;
        assert_eq!(
            next_link(l).as_deref(),
            Some("https://api.github.com/repositories/1/issues/2/comments?page=2")
        );
        assert_eq!(next_link(r#"<x>; rel="prev""#), None);
        assert_eq!(
            scrub("bad ghs_abcDEF123 and github_pat_11_x."),
            "bad *** and ***."
        );
    }

    #[test]
    fn every_call_has_a_time_limit() {
        // A server that accepts and never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hold = std::thread::spawn(move || {
            let mut held = Vec::new();
            listener.set_nonblocking(true).unwrap();
            let until = std::time::Instant::now() + Duration::from_secs(5);
            while std::time::Instant::now() < until && held.len() < 2 {
                if let Ok((s, _)) = listener.accept() {
                    held.push(s);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            std::thread::sleep(Duration::from_millis(500));
        });
        let token = "ghs_secretsecretsecret";
        let c = Client::new(
            &url,
            token,
            Policy {
                attempts: 2,
                backoff: Duration::from_millis(10),
                max_wait: Duration::from_secs(1),
                timeout: Duration::from_millis(200),
            },
        )
        .unwrap();
        let started = std::time::Instant::now();
        let e = c.list_comments("o/r", 1).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3));
        let text = e.to_string();
        assert!(text.contains("timed out"), "{text}");
        assert!(text.contains("/repos/o/r/issues/1/comments"), "{text}");
        assert!(!text.contains(token) && !format!("{e:?}").contains(token));
        hold.join().unwrap();
    }

    #[test]
    fn hunks() {
        let p = "@@ -2,4 +2,5 @@ kind: Pod\n metadata:\n-  name: a\n+  name: b\n+  x: y\n   ns: s\n\\ No newline at end of file\n@@ -20 +21 @@\n-q\n+r";
        let c = commentable_lines(p);
        assert_eq!(
            c.left.iter().copied().collect::<Vec<_>>(),
            vec![2, 3, 4, 20]
        );
        assert_eq!(
            c.right.iter().copied().collect::<Vec<_>>(),
            vec![2, 3, 4, 5, 21]
        );
        assert!(c.contains(Side::Right, 4) && !c.contains(Side::Right, 6));
    }
}
