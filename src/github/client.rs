//! The blocking REST client: octocrab's raw calls with per-request
//! credentials. Every call has a time limit, is retried with backoff on 5xx
//! answers and connection errors, and waits out rate limits (403/429 with
//! `retry-after` or `x-ratelimit-reset`, capped). Errors name the method,
//! the path and GitHub's message, never the token.
//!
//! Transport is octocrab's raw `_get`/`_post`/`_patch`/`_put`/`_delete` (its
//! typed `update_comment` sends POST; GitHub documents PATCH).

use super::{
    CheckRunRef, CheckRunUpdate, Comment, GitHubApi, GitHubError, NewCheckRun, NewReview, PrFile,
    PullRequest,
};
use std::time::Duration;

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
    /// Where retries and waits are said (none: a tracing event).
    notes: Option<Notes>,
}

/// Receives the client's notes on retries and waits (the Action's log).
pub type Notes = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// What to do after an answer that is not a success.
enum Verdict {
    /// A rate limit: wait this long, then try again.
    Wait(Duration),
    /// A server error (GitHub's message): back off, then try again.
    Retry(String),
    Fail(GitHubError),
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
            notes: None,
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
            notes: None,
        }
    }

    /// Says retries and waits to `notes` instead of the log.
    pub fn with_notes(mut self, notes: Notes) -> Client {
        self.notes = Some(notes);
        self
    }

    /// Retries and waits: to the notes' receiver (the Action's log), else
    /// as a tracing event (the server's log).
    fn say(&self, text: String) {
        match &self.notes {
            Some(n) => n(&text),
            None => tracing::warn!("{text}"),
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
        let relative = self.relative(method, path)?;
        let shown = relative.split('?').next().unwrap_or_default().to_string();
        let mut backoff = self.policy.backoff;
        let mut attempt = 0;
        let mut reauthorized = false;
        loop {
            attempt += 1;
            let last = attempt >= self.policy.attempts;
            let answer = self.attempt(method, &relative, body)?;
            let a = match answer {
                Err(message) if last => {
                    return Err(GitHubError::Transport {
                        method,
                        path: shown,
                        message,
                    });
                }
                Err(message) => {
                    self.say(format!(
                        "{method} {shown}: {message}; retrying in {backoff:?}"
                    ));
                    std::thread::sleep(backoff);
                    backoff *= 2;
                    continue;
                }
                Ok(a) => a,
            };
            if (200..300).contains(&a.status) {
                return Ok(a);
            }
            // An installation token expired or was revoked early: get a new
            // one and try again, once.
            if a.status == 401 && !reauthorized && self.creds.invalidate() {
                reauthorized = true;
                attempt -= 1;
                self.say(format!(
                    "{method} {shown}: 401; credentials renewed, retrying"
                ));
                continue;
            }
            match self.verdict(method, &shown, &a, last) {
                Verdict::Wait(wait) => {
                    self.say(format!(
                        "{method} {shown}: rate limited ({}); waiting {wait:?}",
                        a.status
                    ));
                    std::thread::sleep(wait);
                }
                Verdict::Retry(message) => {
                    self.say(format!(
                        "{method} {shown}: {} {message}; retrying in {backoff:?}",
                        a.status
                    ));
                    std::thread::sleep(backoff);
                    backoff *= 2;
                }
                Verdict::Fail(e) => return Err(e),
            }
        }
    }

    /// Requests go out with a path only: octocrab puts the API URL's
    /// scheme, host and path prefix (GHES `/api/v3`) in front.
    fn relative(&self, method: &'static str, path: &str) -> Result<String, GitHubError> {
        if !(path.starts_with("http://") || path.starts_with("https://")) {
            return Ok(path.to_string());
        }
        match path.strip_prefix(&self.api) {
            Some(rest) => Ok(rest.to_string()),
            None => Err(GitHubError::Setup(format!(
                "{method}: refusing to follow a link outside the API URL"
            ))),
        }
    }

    /// One request within the time limit: the answer, or why none came.
    fn attempt(
        &self,
        method: &'static str,
        relative: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Result<Answer, String>, GitHubError> {
        let auth = self.creds.authorization()?;
        let result = self.block_on(async {
            tokio::time::timeout(
                self.policy.timeout,
                self.once(method, relative, body, auth.as_deref()),
            )
            .await
        });
        let answer = match result {
            Err(_) => Err(format!("timed out after {:?}", self.policy.timeout)),
            Ok(answer) => answer,
        };
        if let Some(o) = &self.observer {
            o(method, answer.as_ref().map_or(0, |a| a.status));
        }
        Ok(answer)
    }

    /// What to do about an answer that is neither a success nor a 401 to
    /// renew credentials for.
    fn verdict(&self, method: &'static str, shown: &str, a: &Answer, last: bool) -> Verdict {
        let message = github_message(&a.body);
        // A secondary rate limit without headers: GitHub asks for at least
        // a minute.
        let wait = a.wait.or_else(|| {
            (a.status == 403 && message.to_ascii_lowercase().contains("rate limit"))
                .then_some(Duration::from_secs(60))
        });
        let path = shown.to_string();
        if let Some(wait) = wait {
            if wait > self.policy.max_wait || last {
                return Verdict::Fail(GitHubError::Status {
                    method,
                    path,
                    status: a.status,
                    message: format!("{message} (rate limited; would wait {wait:?})"),
                });
            }
            return Verdict::Wait(wait);
        }
        if a.status >= 500 && !last {
            return Verdict::Retry(message);
        }
        let status = a.status;
        Verdict::Fail(
            if status == 403 || (status == 404 && method != "GET") || status == 401 {
                GitHubError::Forbidden {
                    method,
                    path,
                    status,
                    message,
                }
            } else {
                GitHubError::Status {
                    method,
                    path,
                    status,
                    message,
                }
            },
        )
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
}
