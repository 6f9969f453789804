//! The one fake GitHub of the tests: the REST API as a GitHub App and as a
//! workflow's token see it (App JWTs, installation tokens or a fixed token,
//! check runs, issue comments, reviews and review comments, pull-request
//! files, `/user`, a read-only token), with scripted failures (5xx, primary
//! and secondary rate limits, 422, delays, hangs), and git's smart HTTP for
//! a token-protected origin. The App tests and the Action tests use it.
//!
//! Std-only HTTP/1.1 (a thread per connection, `connection: close`) so it
//! can be shared by the integration tests (`mod app_fake;`) and by the
//! examples (`#[path = "../tests/it/app_fake.rs"] mod app_fake;`); it must
//! therefore not depend on anything else in the test crate.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

const NOT_FOUND_DOCS: &str = "https://docs.github.com/rest";
/// GitHub's default page size; `per_page` is deliberately ignored for issue
/// comments so that every client exercises `link: rel="next"` paging.
pub const COMMENTS_PAGE: usize = 30;
/// GitHub's limits on check-run output.
pub const MAX_ANNOTATIONS_PER_REQUEST: usize = 50;
pub const MAX_OUTPUT_CHARS: usize = 65535;
/// Bodies above this are refused rather than buffered (GitHub's own limit is
/// far larger, but nothing the App sends legitimately comes close).
const MAX_BODY: usize = 16 * 1024 * 1024;

// ------------------------------------------------------------------ state

/// A failure (or slowness) injected into the next matching request.
#[derive(Clone, Debug, PartialEq)]
pub enum Scripted {
    /// 500 `{"message":"Server Error"}`.
    ServerError,
    /// Primary rate limit: 403 with `x-ratelimit-remaining: 0`.
    RateLimited,
    /// Secondary rate limit: 403 with `retry-after: 1`.
    SecondaryRateLimit,
    /// Sleep, then answer normally.
    Delay(Duration),
    /// Read the request and never answer until the fake stops.
    Hang,
    /// 422, as GitHub refuses a review whose line left the diff.
    Unprocessable,
}

#[derive(Clone, Debug)]
pub struct FakeRepo {
    pub full_name: String,
    pub clone_url: String,
    pub id: u64,
}

#[derive(Clone, Debug)]
pub struct FakePull {
    pub repo: String,
    pub number: u64,
    /// "open" or "closed".
    pub state: String,
    pub base_sha: String,
    pub head_sha: String,
    pub base_ref: String,
    pub head_ref: String,
    /// `GET pulls/{n}/files` items, served as given.
    pub files: Vec<Value>,
}

#[derive(Clone, Debug)]
pub struct CheckRun {
    pub id: u64,
    pub repo: String,
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub external_id: Option<String>,
    pub details_url: Option<String>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    /// `{"title","summary","text"}` as last sent.
    pub output: Value,
    /// Accumulated across PATCHes, as GitHub does.
    pub annotations: Vec<Value>,
    /// Position in the fake's global creation order.
    pub created_seq: u64,
}

#[derive(Clone, Debug)]
pub struct Comment {
    pub id: u64,
    pub repo: String,
    pub number: u64,
    pub body: String,
    pub user_login: String,
    pub user_type: String,
}

#[derive(Clone, Debug)]
pub struct Review {
    pub id: u64,
    pub repo: String,
    pub number: u64,
    pub body: String,
    pub user_login: String,
}

#[derive(Clone, Debug)]
pub struct ReviewComment {
    pub id: u64,
    pub repo: String,
    pub number: u64,
    pub review_id: u64,
    pub body: String,
    pub path: String,
    pub line: u64,
    pub side: String,
    pub user_login: String,
    pub user_type: String,
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path with query.
    pub path: String,
    /// 0 for a request the fake never answered (`Scripted::Hang`).
    pub status: u16,
    /// "jwt", "token", "none" or "bad" (present but not valid now).
    pub authorization_kind: String,
    pub body: String,
    pub at: Instant,
}

pub struct State {
    pub app_id: u64,
    pub public_key_pem: String,
    pub installations: Vec<u64>,
    pub tokens_issued: Vec<String>,
    /// Unix seconds at which each issued token stops working.
    pub token_expires: HashMap<String, u64>,
    pub token_ttl_secs: u64,
    pub revoked: Vec<String>,
    pub repos: Vec<FakeRepo>,
    pub pulls: Vec<FakePull>,
    pub check_runs: Vec<CheckRun>,
    pub comments: Vec<Comment>,
    pub reviews: Vec<Review>,
    pub review_comments: Vec<ReviewComment>,
    pub requests: Vec<Recorded>,
    /// Applied, first match first, before normal handling; the filter is a
    /// substring of the request path (with query).
    pub script: VecDeque<(Scripted, Option<String>)>,
    pub next_id: u64,
    pub seq: u64,
    /// Issue comments per page (GitHub's default: 30; `per_page` is
    /// ignored so that clients follow `link: rel="next"`).
    pub comments_page: usize,
    /// The login of comments and reviews written through the API.
    pub writes_as: String,
    /// Every write answers 403 (a fork's read-only token).
    pub read_only: bool,
    /// Bare repositories served over smart HTTP at `/acme/NAME.git/`.
    pub git_root: Option<std::path::PathBuf>,
    pub git_requests: Vec<Recorded>,
    /// Counts down like GitHub's hourly budget, for realistic headers.
    pub rate_remaining: u64,
    /// Added to every API answer (not git, not `/_fake/`): real GitHub
    /// answers in about 100 to 300 ms, and a fleet's replicas mostly
    /// overlap those waits (the fleet benchmark sets it).
    pub latency: Duration,
    /// Pull requests are answered one by one but not listed (a fleet
    /// benchmark's replicas must learn of them from deliveries only, not
    /// from their start-up reconciliation).
    pub unlisted: bool,
}

impl State {
    fn new(app_id: u64, public_key_pem: &str) -> State {
        State {
            app_id,
            public_key_pem: public_key_pem.to_string(),
            installations: vec![1],
            tokens_issued: Vec::new(),
            token_expires: HashMap::new(),
            token_ttl_secs: 3600,
            revoked: Vec::new(),
            repos: Vec::new(),
            pulls: Vec::new(),
            check_runs: Vec::new(),
            comments: Vec::new(),
            reviews: Vec::new(),
            review_comments: Vec::new(),
            requests: Vec::new(),
            script: VecDeque::new(),
            // Large like real ids, so nobody confuses them with PR numbers.
            next_id: 1_000_000_001,
            seq: 0,
            comments_page: COMMENTS_PAGE,
            writes_as: "reachdiff[bot]".into(),
            read_only: false,
            git_root: None,
            git_requests: Vec::new(),
            rate_remaining: 5000,
            latency: Duration::ZERO,
            unlisted: false,
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id - 1
    }

    fn repo(&self, full_name: &str) -> Option<&FakeRepo> {
        self.repos
            .iter()
            .find(|r| r.full_name.eq_ignore_ascii_case(full_name))
    }

    fn pull(&self, repo: &str, number: u64) -> Option<&FakePull> {
        self.pulls
            .iter()
            .find(|p| p.repo.eq_ignore_ascii_case(repo) && p.number == number)
    }

    /// Is `token` an installation token usable right now?
    pub fn token_valid(&self, token: &str) -> bool {
        self.token_expires
            .get(token)
            .is_some_and(|&exp| unix_now() < exp)
            && !self.revoked.iter().any(|t| t == token)
    }
}

// ------------------------------------------------------------------ server

pub struct FakeApp {
    pub url: String,
    pub state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeApp {
    pub fn start(app_id: u64, public_key_pem: &str) -> FakeApp {
        FakeApp::start_on("127.0.0.1:0", app_id, public_key_pem)
    }

    pub fn start_on(addr: &str, app_id: u64, public_key_pem: &str) -> FakeApp {
        let listener = TcpListener::bind(addr).expect("bind the fake GitHub API");
        // Non-blocking accept so that Drop can stop the loop promptly.
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(Mutex::new(State::new(app_id, public_key_pem)));
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Shared {
            state: state.clone(),
            stop: stop.clone(),
            base: url.clone(),
        };
        let thread = std::thread::spawn(move || {
            while !shared.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let shared = shared.clone();
                        std::thread::spawn(move || {
                            let _ = serve(s, &shared);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FakeApp {
            url,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// Locks the state; a handler that panicked must not hide later
    /// assertions behind a poison error.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub fn add_repo(&self, full_name: &str, clone_url: &str) {
        let mut st = self.lock();
        let id = 500_000_000 + st.repos.len() as u64 + 1;
        st.repos.push(FakeRepo {
            full_name: full_name.to_string(),
            clone_url: clone_url.to_string(),
            id,
        });
    }

    pub fn add_pull(
        &self,
        repo: &str,
        number: u64,
        base_sha: &str,
        head_sha: &str,
        files: Vec<Value>,
    ) {
        let mut st = self.lock();
        st.pulls.retain(|p| !(p.repo == repo && p.number == number));
        st.pulls.push(FakePull {
            repo: repo.to_string(),
            number,
            state: "open".into(),
            base_sha: base_sha.to_string(),
            head_sha: head_sha.to_string(),
            base_ref: "main".into(),
            head_ref: format!("feature-{number}"),
            files,
        });
    }

    /// Accepts `token` as a workflow's `GITHUB_TOKEN` (valid for a day).
    pub fn accept_token(&self, token: &str) {
        let mut st = self.lock();
        st.tokens_issued.push(token.to_string());
        st.token_expires
            .insert(token.to_string(), unix_now() + 86_400);
    }

    pub fn set_pull_head(&self, repo: &str, number: u64, head_sha: &str) {
        let mut st = self.lock();
        if let Some(p) = st
            .pulls
            .iter_mut()
            .find(|p| p.repo == repo && p.number == number)
        {
            p.head_sha = head_sha.to_string();
        }
    }

    pub fn script(&self, s: Scripted, path_contains: Option<&str>) {
        self.lock()
            .script
            .push_back((s, path_contains.map(str::to_string)));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    pub fn check_runs(&self) -> Vec<CheckRun> {
        self.lock().check_runs.clone()
    }

    pub fn comments(&self) -> Vec<Comment> {
        self.lock().comments.clone()
    }

    pub fn reviews(&self) -> Vec<Review> {
        self.lock().reviews.clone()
    }

    pub fn review_comments(&self) -> Vec<ReviewComment> {
        self.lock().review_comments.clone()
    }

    /// Polls `f` every 20 ms until it holds or `timeout` passes.
    pub fn wait_until(&self, timeout: Duration, f: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if f(&self.lock()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for FakeApp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Clone)]
struct Shared {
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    base: String,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

// ------------------------------------------------------------------ HTTP

struct Request {
    method: String,
    /// Path with query, as sent.
    target: String,
    authorization: Option<String>,
    /// The body as text (empty when it is not UTF-8: see `raw`).
    body: String,
    raw: Vec<u8>,
    content_type: String,
    git_protocol: String,
}

/// Reads one request; `Err(reason)` means it was malformed (answer 400).
fn read_request(reader: &mut impl BufRead) -> std::io::Result<Result<Request, String>> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(_version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(Err(format!("bad request line {line:?}")));
    };
    let (method, target) = (method.to_string(), target.to_string());
    let (mut len, mut authorization, mut chunked) = (0usize, None, false);
    let (mut content_type, mut git_protocol) = (String::new(), String::new());
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            return Ok(Err("headers cut short".into()));
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let Some((k, v)) = h.split_once(':') else {
            return Ok(Err(format!("bad header {h:?}")));
        };
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => match v.parse() {
                Ok(n) if n <= MAX_BODY => len = n,
                _ => return Ok(Err(format!("bad content-length {v:?}"))),
            },
            "authorization" => authorization = Some(v.to_string()),
            "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
            "content-type" => content_type = v.to_string(),
            "git-protocol" => git_protocol = v.to_string(),
            _ => {}
        }
    }
    let mut raw = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = size.trim().split(';').next().unwrap_or_default();
            let Ok(n) = usize::from_str_radix(size, 16) else {
                return Ok(Err(format!("bad chunk size {size:?}")));
            };
            if raw.len() + n > MAX_BODY {
                return Ok(Err("body too large".into()));
            }
            // The chunk plus its CRLF (for the last chunk: the final CRLF,
            // trailers are not supported).
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&chunk[..n]);
        }
    } else {
        raw = vec![0; len];
        reader.read_exact(&mut raw)?;
    }
    // Git's packs are binary; everything else must be text.
    let body = match String::from_utf8(raw.clone()) {
        Ok(b) => b,
        Err(_) if target.contains(".git/") => String::new(),
        Err(_) => return Ok(Err("body is not UTF-8".into())),
    };
    Ok(Ok(Request {
        method,
        target,
        authorization,
        body,
        raw,
        content_type,
        git_protocol,
    }))
}

struct Response {
    status: u16,
    /// `Value::Null` for an empty body (204).
    json: Value,
    headers: Vec<(String, String)>,
}

fn answer(status: u16, json: Value) -> Response {
    Response {
        status,
        json,
        headers: Vec::new(),
    }
}

fn message(status: u16, msg: &str) -> Response {
    answer(
        status,
        json!({"message": msg, "documentation_url": NOT_FOUND_DOCS}),
    )
}

fn not_found() -> Response {
    message(404, "Not Found")
}

fn bad_credentials() -> Response {
    message(401, "Bad credentials")
}

fn invalid(detail: &str) -> Response {
    answer(
        422,
        json!({"message": format!("Invalid request.\n\n{detail}"),
            "documentation_url": NOT_FOUND_DOCS, "status": "422"}),
    )
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

fn write_response(mut w: &TcpStream, st: &mut State, resp: Response) -> std::io::Result<()> {
    let now = unix_now();
    let mut headers = vec![
        (
            "content-type".to_string(),
            "application/json; charset=utf-8".to_string(),
        ),
        ("x-github-api-version-selected".into(), "2022-11-28".into()),
        ("x-github-request-id".into(), request_id()),
    ];
    // Scripted rate limits set their own x-ratelimit-* headers.
    if !resp.headers.iter().any(|h| h.0.starts_with("x-ratelimit")) {
        st.rate_remaining = st.rate_remaining.saturating_sub(1).max(1);
        headers.push(("x-ratelimit-limit".into(), "5000".into()));
        headers.push((
            "x-ratelimit-remaining".into(),
            st.rate_remaining.to_string(),
        ));
        headers.push(("x-ratelimit-reset".into(), (now + 3600).to_string()));
        headers.push((
            "x-ratelimit-used".into(),
            (5000 - st.rate_remaining).to_string(),
        ));
        headers.push(("x-ratelimit-resource".into(), "core".into()));
    }
    headers.extend(resp.headers);
    let body = if resp.json.is_null() {
        String::new()
    } else {
        resp.json.to_string()
    };
    let mut out = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    w.write_all(out.as_bytes())?;
    w.flush()
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let req = match read_request(&mut reader)? {
        Ok(r) => r,
        Err(why) => {
            let mut st = lock(&shared.state);
            st.requests.push(Recorded {
                method: String::new(),
                path: String::new(),
                status: 400,
                authorization_kind: "none".into(),
                body: why.clone(),
                at: Instant::now(),
            });
            return write_response(&stream, &mut st, message(400, &why));
        }
    };
    let at = Instant::now();
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));

    if path.starts_with("/_fake/") {
        let mut st = lock(&shared.state);
        let resp = fake_introspection(&st, path);
        // Polling the fake must not eat into the App's visible rate budget.
        let budget = st.rate_remaining;
        let written = write_response(&stream, &mut st, resp);
        st.rate_remaining = budget;
        return written;
    }

    let git_root = lock(&shared.state).git_root.clone();
    if let Some(root) = git_root.filter(|_| path.contains(".git/")) {
        let authorized = {
            let mut st = lock(&shared.state);
            let kind = auth_kind(&st, req.authorization.as_deref());
            let recorded = Recorded {
                method: req.method.clone(),
                path: req.target.clone(),
                status: 0,
                authorization_kind: kind.to_string(),
                body: String::new(),
                at,
            };
            st.git_requests.push(recorded);
            git_authorized(&st, req.authorization.as_deref())
        };
        return serve_git(stream, &root, &req, authorized);
    }

    let latency = lock(&shared.state).latency;
    if !latency.is_zero() {
        std::thread::sleep(latency);
    }
    let scripted = {
        let mut st = lock(&shared.state);
        let i = st
            .script
            .iter()
            .position(|(_, f)| f.as_deref().is_none_or(|f| req.target.contains(f)));
        i.and_then(|i| st.script.remove(i)).map(|s| s.0)
    };
    let failure = match scripted {
        Some(Scripted::Delay(d)) => {
            std::thread::sleep(d);
            None
        }
        Some(Scripted::Hang) => {
            {
                let mut st = lock(&shared.state);
                let kind = auth_kind(&st, req.authorization.as_deref());
                record(&mut st, &req, 0, kind, at);
            }
            while !shared.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            return Ok(());
        }
        Some(Scripted::ServerError) => Some(answer(500, json!({"message": "Server Error"}))),
        Some(Scripted::RateLimited) => {
            let mut r = answer(
                403,
                json!({"message": "API rate limit exceeded for installation ID 1.",
                    "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}),
            );
            r.headers = vec![
                ("x-ratelimit-limit".into(), "5000".into()),
                ("x-ratelimit-remaining".into(), "0".into()),
                ("x-ratelimit-reset".into(), (unix_now() + 1).to_string()),
                ("x-ratelimit-used".into(), "5000".into()),
                ("x-ratelimit-resource".into(), "core".into()),
            ];
            Some(r)
        }
        Some(Scripted::SecondaryRateLimit) => {
            let mut r = answer(
                403,
                json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}),
            );
            r.headers = vec![("retry-after".into(), "1".into())];
            Some(r)
        }
        Some(Scripted::Unprocessable) => Some(answer(
            422,
            json!({"message": "Unprocessable Entity",
                "errors": ["Pull request review thread line must be part of the diff"],
                "documentation_url": NOT_FOUND_DOCS, "status": "422"}),
        )),
        None => None,
    };

    let mut st = lock(&shared.state);
    let auth = authenticate(&st, req.authorization.as_deref());
    let resp = match failure {
        Some(r) => r,
        None => route(&mut st, &shared.base, &req, path, query, &auth),
    };
    record(&mut st, &req, resp.status, auth.kind(), at);
    write_response(&stream, &mut st, resp)
}

fn record(st: &mut State, req: &Request, status: u16, kind: &str, at: Instant) {
    st.requests.push(Recorded {
        method: req.method.clone(),
        path: req.target.clone(),
        status,
        authorization_kind: kind.to_string(),
        body: req.body.clone(),
        at,
    });
}

fn fake_introspection(st: &State, path: &str) -> Response {
    match path {
        "/_fake/requests" => answer(
            200,
            Value::Array(
                st.requests
                    .iter()
                    .map(|r| {
                        json!({"method": r.method, "path": r.path, "status": r.status,
                            "authorization_kind": r.authorization_kind})
                    })
                    .collect(),
            ),
        ),
        "/_fake/state" => answer(
            200,
            json!({
                "check_runs": st.check_runs.iter().map(|c| json!({
                    "id": c.id, "repo": c.repo, "name": c.name, "head_sha": c.head_sha,
                    "status": c.status, "conclusion": c.conclusion,
                    "external_id": c.external_id, "output": c.output,
                    "annotations": c.annotations, "created_seq": c.created_seq,
                })).collect::<Vec<_>>(),
                "comments": st.comments.iter().map(|c| json!({
                    "id": c.id, "repo": c.repo, "number": c.number, "body": c.body,
                    "user": {"login": c.user_login, "type": c.user_type},
                })).collect::<Vec<_>>(),
                "tokens_issued": st.tokens_issued.len(),
                "requests": st.requests.len(),
            }),
        ),
        _ => not_found(),
    }
}

// ------------------------------------------------------------------ auth

enum Auth {
    None,
    /// A JWT that verifies against the App's public key, right now.
    Jwt,
    /// A live installation token.
    Token,
    /// Something was sent, but it is not (or no longer) valid.
    Bad,
}

impl Auth {
    fn kind(&self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::Jwt => "jwt",
            Auth::Token => "token",
            Auth::Bad => "bad",
        }
    }
}

fn auth_kind(st: &State, authorization: Option<&str>) -> &'static str {
    authenticate(st, authorization).kind()
}

fn authenticate(st: &State, authorization: Option<&str>) -> Auth {
    let Some(a) = authorization else {
        return Auth::None;
    };
    let (scheme, cred) = a.split_once(' ').unwrap_or((a, ""));
    let cred = cred.trim();
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "bearer" && scheme != "token" {
        return Auth::Bad;
    }
    if st.token_valid(cred) {
        return Auth::Token;
    }
    // GitHub accepts a JWT only as a Bearer credential.
    if scheme == "bearer" && cred.matches('.').count() == 2 {
        return match verify_jwt(st, cred) {
            Ok(()) => Auth::Jwt,
            Err(_) => Auth::Bad,
        };
    }
    Auth::Bad
}

/// GitHub's rules for App JWTs: RS256, `iss` is the App id (number or
/// string), `iat` and `exp` present, at most ten minutes apart (plus the
/// minute of clock drift octocrab back-dates `iat` by), not expired.
fn verify_jwt(st: &State, jwt: &str) -> Result<(), String> {
    use octocrab::jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
    let key = DecodingKey::from_rsa_pem(st.public_key_pem.as_bytes()).map_err(|e| e.to_string())?;
    let mut v = Validation::new(Algorithm::RS256);
    // `iss` is checked below: jsonwebtoken only accepts it as a string, while
    // octocrab (like GitHub's docs) sends the App id as a number.
    v.set_required_spec_claims(&["exp"]);
    v.validate_aud = false;
    // Expiry is exact so that tests of short-lived JWTs are deterministic.
    v.leeway = 0;
    let claims = decode::<Value>(jwt, &key, &v)
        .map_err(|e| e.to_string())?
        .claims;
    let iss_ok = match &claims["iss"] {
        Value::Number(n) => n.as_u64() == Some(st.app_id),
        Value::String(s) => s.parse::<u64>().ok() == Some(st.app_id),
        _ => false,
    };
    let (Some(iat), Some(exp)) = (claims["iat"].as_u64(), claims["exp"].as_u64()) else {
        return Err("iat and exp are required".into());
    };
    if !iss_ok {
        return Err("iss is not the App id".into());
    }
    if exp <= iat || exp - iat > 600 + 60 {
        return Err("exp too far from iat".into());
    }
    if iat > unix_now() + 60 {
        return Err("iat in the future".into());
    }
    Ok(())
}

// ------------------------------------------------------------------ routing

fn route(
    st: &mut State,
    base: &str,
    req: &Request,
    path: &str,
    query: &str,
    auth: &Auth,
) -> Response {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method.as_str();
    if segs.first() == Some(&"app") {
        if !matches!(auth, Auth::Jwt) {
            return bad_credentials();
        }
        return route_app(st, base, method, &segs[1..]);
    }
    match auth {
        Auth::Token => {}
        Auth::Jwt => return message(403, "Resource not accessible by integration"),
        Auth::None | Auth::Bad => return bad_credentials(),
    }
    if st.read_only && method != "GET" {
        return message(403, "Resource not accessible by integration");
    }
    match (method, segs.as_slice()) {
        // Integration tokens may not read the authenticated user.
        ("GET", ["user"]) => message(403, "Resource not accessible by integration"),
        ("GET", ["installation", "repositories"]) => {
            let repos: Vec<Value> = st.repos.iter().map(|r| repo_json(base, r)).collect();
            answer(
                200,
                json!({"total_count": repos.len(), "repository_selection": "all",
                    "repositories": repos}),
            )
        }
        (_, ["repos", owner, name, rest @ ..]) => {
            let full = format!("{owner}/{name}");
            let Some(repo) = st.repo(&full).cloned() else {
                return not_found();
            };
            let body = if matches!(method, "POST" | "PATCH" | "PUT") {
                match serde_json::from_str::<Value>(&req.body) {
                    Ok(v) if v.is_object() => v,
                    _ => {
                        return message(400, "Problems parsing JSON");
                    }
                }
            } else {
                Value::Null
            };
            route_repo(st, base, method, &repo, rest, query, &body)
        }
        _ => not_found(),
    }
}

fn route_app(st: &mut State, base: &str, method: &str, segs: &[&str]) -> Response {
    match (method, segs) {
        // The authenticated App: its comments are written as `{slug}[bot]`.
        ("GET", []) => answer(
            200,
            json!({"id": st.app_id, "slug": "reachdiff", "name": "reachdiff",
                "owner": {"login": "acme", "type": "Organization"},
                "html_url": "https://github.com/apps/reachdiff"}),
        ),
        ("GET", ["installations"]) => answer(
            200,
            Value::Array(
                st.installations
                    .iter()
                    .map(|&id| installation_json(base, st.app_id, id))
                    .collect(),
            ),
        ),
        ("GET", ["installations", id]) => match id.parse::<u64>() {
            Ok(id) if st.installations.contains(&id) => {
                answer(200, installation_json(base, st.app_id, id))
            }
            _ => not_found(),
        },
        ("POST", ["installations", id, "access_tokens"]) => match id.parse::<u64>() {
            Ok(id) if st.installations.contains(&id) => {
                let token = format!("ghs_{}", random_alnum(36));
                let expires = unix_now() + st.token_ttl_secs;
                st.tokens_issued.push(token.clone());
                st.token_expires.insert(token.clone(), expires);
                answer(
                    201,
                    json!({"token": token, "expires_at": rfc3339(expires),
                        "permissions": permissions(), "repository_selection": "all"}),
                )
            }
            _ => not_found(),
        },
        _ => not_found(),
    }
}

fn route_repo(
    st: &mut State,
    base: &str,
    method: &str,
    repo: &FakeRepo,
    rest: &[&str],
    query: &str,
    body: &Value,
) -> Response {
    let full = repo.full_name.as_str();
    let num = |s: &str| s.parse::<u64>().ok();
    match (method, rest) {
        ("GET", ["pulls"]) => {
            let want = query_param(query, "state").unwrap_or_else(|| "open".into());
            let pulls: Vec<Value> = st
                .pulls
                .iter()
                .filter(|p| p.repo.eq_ignore_ascii_case(full) && !st.unlisted)
                .filter(|p| want == "all" || p.state == want)
                .map(|p| pull_json(base, repo, p))
                .collect();
            answer(200, Value::Array(pulls))
        }
        ("GET", ["pulls", n]) => match num(n).and_then(|n| st.pull(full, n)) {
            Some(p) => answer(200, pull_json(base, repo, p)),
            None => not_found(),
        },
        ("GET", ["pulls", n, "files"]) => match num(n).and_then(|n| st.pull(full, n)) {
            // Everything fits on the first page.
            Some(p) if page(query) == 1 => answer(200, Value::Array(p.files.clone())),
            Some(_) => answer(200, json!([])),
            None => not_found(),
        },
        ("GET", ["pulls", n, "reviews"]) => {
            let Some(n) = num(n) else { return not_found() };
            let reviews = st
                .reviews
                .iter()
                .filter(|r| r.repo == full && r.number == n)
                .map(review_json)
                .collect();
            answer(200, Value::Array(reviews))
        }
        ("POST", ["pulls", n, "reviews"]) => {
            let Some(n) = num(n).filter(|&n| st.pull(full, n).is_some()) else {
                return not_found();
            };
            let comments = body["comments"].as_array().cloned().unwrap_or_default();
            let mut parsed = Vec::new();
            for c in &comments {
                match (c["body"].as_str(), c["path"].as_str(), c["line"].as_u64()) {
                    (Some(b), Some(p), Some(l)) => parsed.push((
                        b.to_string(),
                        p.to_string(),
                        l,
                        c["side"].as_str().unwrap_or("RIGHT").to_string(),
                    )),
                    _ => return invalid("\"comments\" items need body, path and line."),
                }
            }
            let review = Review {
                id: st.id(),
                repo: full.to_string(),
                number: n,
                body: body["body"].as_str().unwrap_or_default().to_string(),
                user_login: st.writes_as.clone(),
            };
            for (b, p, l, side) in parsed {
                let id = st.id();
                st.review_comments.push(ReviewComment {
                    id,
                    repo: full.to_string(),
                    number: n,
                    review_id: review.id,
                    body: b,
                    path: p,
                    line: l,
                    side,
                    user_login: st.writes_as.clone(),
                    user_type: "Bot".into(),
                });
            }
            let out = review_json(&review);
            st.reviews.push(review);
            answer(200, out)
        }
        ("PUT", ["pulls", _, "reviews", id]) => {
            let Some(text) = body["body"].as_str() else {
                return invalid("\"body\" wasn't supplied.");
            };
            match st
                .reviews
                .iter_mut()
                .find(|r| r.repo == full && Some(r.id) == num(id))
            {
                Some(r) => {
                    r.body = text.to_string();
                    answer(200, review_json(r))
                }
                None => not_found(),
            }
        }
        ("GET", ["pulls", n, "comments"]) => {
            let Some(n) = num(n) else { return not_found() };
            let items = st
                .review_comments
                .iter()
                .filter(|c| c.repo == full && c.number == n)
                .map(|c| review_comment_json(base, c))
                .collect();
            answer(200, Value::Array(items))
        }
        ("DELETE", ["pulls", "comments", id]) => {
            let before = st.review_comments.len();
            st.review_comments
                .retain(|c| !(c.repo == full && Some(c.id) == num(id)));
            if st.review_comments.len() < before {
                answer(204, Value::Null)
            } else {
                not_found()
            }
        }
        ("GET", ["issues", n, "comments"]) => {
            let Some(n) = num(n) else { return not_found() };
            let all: Vec<&Comment> = st
                .comments
                .iter()
                .filter(|c| c.repo == full && c.number == n)
                .collect();
            let per_page = st.comments_page.max(1);
            let pages = all.len().div_ceil(per_page).max(1);
            let page = page(query);
            let items = all
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|c| comment_json(base, c))
                .collect();
            let mut resp = answer(200, Value::Array(items));
            if page < pages {
                let path = format!("{base}/repos/{full}/issues/{n}/comments");
                resp.headers.push((
                    "link".into(),
                    format!(
                        "<{path}?{}>; rel=\"next\", <{path}?{}>; rel=\"last\"",
                        with_page(query, page + 1),
                        with_page(query, pages)
                    ),
                ));
            }
            resp
        }
        ("POST", ["issues", n, "comments"]) => {
            let Some(n) = num(n).filter(|&n| st.pull(full, n).is_some()) else {
                return not_found();
            };
            let Some(text) = body["body"].as_str() else {
                return invalid("\"body\" wasn't supplied.");
            };
            let c = Comment {
                id: st.id(),
                repo: full.to_string(),
                number: n,
                body: text.to_string(),
                user_login: st.writes_as.clone(),
                user_type: "Bot".into(),
            };
            let out = comment_json(base, &c);
            st.comments.push(c);
            answer(201, out)
        }
        ("PATCH", ["issues", "comments", id]) => {
            let Some(text) = body["body"].as_str() else {
                return invalid("\"body\" wasn't supplied.");
            };
            match st
                .comments
                .iter_mut()
                .find(|c| c.repo == full && Some(c.id) == num(id))
            {
                Some(c) => {
                    c.body = text.to_string();
                    answer(200, comment_json(base, c))
                }
                None => not_found(),
            }
        }
        ("DELETE", ["issues", "comments", id]) => {
            let before = st.comments.len();
            st.comments
                .retain(|c| !(c.repo == full && Some(c.id) == num(id)));
            if st.comments.len() < before {
                answer(204, Value::Null)
            } else {
                not_found()
            }
        }
        ("GET", ["commits", sha, "check-runs"]) => {
            let name = query_param(query, "check_name");
            let latest = query_param(query, "filter").is_none_or(|f| f != "all");
            let mut runs: Vec<&CheckRun> = st
                .check_runs
                .iter()
                .filter(|c| c.repo == full && c.head_sha == *sha)
                .filter(|c| name.as_deref().is_none_or(|n| c.name == n))
                .collect();
            runs.sort_by_key(|c| std::cmp::Reverse(c.created_seq));
            if latest {
                let mut seen = Vec::new();
                runs.retain(|c| {
                    let fresh = !seen.contains(&c.name);
                    seen.push(c.name.clone());
                    fresh
                });
            }
            let items: Vec<Value> = runs.iter().map(|c| check_run_json(st, base, c)).collect();
            answer(
                200,
                json!({"total_count": items.len(), "check_runs": items}),
            )
        }
        ("GET", ["check-runs", id]) => match st
            .check_runs
            .iter()
            .find(|c| c.repo == full && Some(c.id) == num(id))
        {
            Some(c) => answer(200, check_run_json(st, base, c)),
            None => not_found(),
        },
        ("POST", ["check-runs"]) => create_check_run(st, base, full, body),
        ("PATCH", ["check-runs", id]) => match num(id) {
            Some(id) => update_check_run(st, base, full, id, body),
            None => not_found(),
        },
        _ => not_found(),
    }
}

const STATUSES: [&str; 3] = ["queued", "in_progress", "completed"];
const CONCLUSIONS: [&str; 7] = [
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "timed_out",
];
const LEVELS: [&str; 3] = ["notice", "warning", "failure"];

/// Validates a check run's `output`; returns the annotations it carries.
fn check_output(output: &Value) -> Result<Vec<Value>, Response> {
    if output.is_null() {
        return Ok(Vec::new());
    }
    if !output.is_object() {
        return Err(invalid("For 'properties/output', is not an object."));
    }
    for field in ["title", "summary"] {
        if !output[field].is_string() {
            return Err(invalid(&format!("\"{field}\" wasn't supplied.")));
        }
    }
    for field in ["summary", "text"] {
        if output[field]
            .as_str()
            .is_some_and(|s| s.chars().count() > MAX_OUTPUT_CHARS)
        {
            return Err(invalid(&format!(
                "For 'properties/{field}', is too long (maximum is {MAX_OUTPUT_CHARS} characters)."
            )));
        }
    }
    let annotations = output["annotations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if annotations.len() > MAX_ANNOTATIONS_PER_REQUEST {
        return Err(invalid("Only 50 annotations are allowed per request."));
    }
    for a in &annotations {
        for field in ["path", "annotation_level", "message"] {
            if !a[field].is_string() {
                return Err(invalid(&format!("\"{field}\" wasn't supplied.")));
            }
        }
        for field in ["start_line", "end_line"] {
            if !a[field].is_u64() {
                return Err(invalid(&format!("\"{field}\" wasn't supplied.")));
            }
        }
        let level = a["annotation_level"].as_str().unwrap_or_default();
        if !LEVELS.contains(&level) {
            return Err(invalid(&format!(
                "For 'properties/annotation_level', \"{level}\" is not a member of [\"notice\", \"warning\", \"failure\"]."
            )));
        }
    }
    Ok(annotations)
}

/// Status and conclusion after applying `body` to (`status`, `conclusion`);
/// like GitHub, a conclusion implies `completed`.
fn check_status(
    body: &Value,
    status: &str,
    conclusion: Option<String>,
) -> Result<(String, Option<String>), Response> {
    let mut status = match &body["status"] {
        Value::Null => status.to_string(),
        Value::String(s) if STATUSES.contains(&s.as_str()) => s.clone(),
        other => {
            return Err(invalid(&format!(
                "For 'properties/status', {other} is not a member of [\"queued\", \"in_progress\", \"completed\"]."
            )));
        }
    };
    let conclusion = match &body["conclusion"] {
        Value::Null => conclusion,
        Value::String(c) if CONCLUSIONS.contains(&c.as_str()) => {
            status = "completed".into();
            Some(c.clone())
        }
        other => {
            return Err(invalid(&format!(
                "For 'properties/conclusion', {other} is not a member of {CONCLUSIONS:?}."
            )));
        }
    };
    if status == "completed" && conclusion.is_none() {
        return Err(invalid("\"conclusion\" wasn't supplied."));
    }
    Ok((status, conclusion))
}

fn create_check_run(st: &mut State, base: &str, repo: &str, body: &Value) -> Response {
    for field in ["name", "head_sha"] {
        if !body[field].is_string() {
            return invalid(&format!("\"{field}\" wasn't supplied."));
        }
    }
    let (status, conclusion) = match check_status(body, "queued", None) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let annotations = match check_output(&body["output"]) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let now = rfc3339(unix_now());
    st.seq += 1;
    let run = CheckRun {
        id: st.id(),
        repo: repo.to_string(),
        name: body["name"].as_str().unwrap_or_default().to_string(),
        head_sha: body["head_sha"].as_str().unwrap_or_default().to_string(),
        completed_at: (status == "completed").then(|| {
            body["completed_at"]
                .as_str()
                .map_or_else(|| now.clone(), str::to_string)
        }),
        status,
        conclusion,
        external_id: body["external_id"].as_str().map(str::to_string),
        details_url: body["details_url"].as_str().map(str::to_string),
        started_at: Some(
            body["started_at"]
                .as_str()
                .map_or_else(|| now.clone(), str::to_string),
        ),
        output: output_fields(&body["output"], &Value::Null),
        annotations,
        created_seq: st.seq,
    };
    let out = check_run_json(st, base, &run);
    st.check_runs.push(run);
    answer(201, out)
}

fn update_check_run(st: &mut State, base: &str, repo: &str, id: u64, body: &Value) -> Response {
    let Some(i) = st
        .check_runs
        .iter()
        .position(|c| c.repo == repo && c.id == id)
    else {
        return not_found();
    };
    let run = &st.check_runs[i];
    let (status, conclusion) = match check_status(body, &run.status, run.conclusion.clone()) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let annotations = match check_output(&body["output"]) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let run = &mut st.check_runs[i];
    if status == "completed" && run.completed_at.is_none() {
        run.completed_at = Some(
            body["completed_at"]
                .as_str()
                .map_or_else(|| rfc3339(unix_now()), str::to_string),
        );
    }
    run.status = status;
    run.conclusion = conclusion;
    for (field, slot) in [("name", &mut run.name), ("head_sha", &mut run.head_sha)] {
        if let Some(v) = body[field].as_str() {
            *slot = v.to_string();
        }
    }
    if let Some(v) = body["external_id"].as_str() {
        run.external_id = Some(v.to_string());
    }
    if let Some(v) = body["details_url"].as_str() {
        run.details_url = Some(v.to_string());
    }
    if let Some(v) = body["started_at"].as_str() {
        run.started_at = Some(v.to_string());
    }
    if !body["output"].is_null() {
        run.output = output_fields(&body["output"], &run.output);
    }
    run.annotations.extend(annotations);
    let run = st.check_runs[i].clone();
    answer(200, check_run_json(st, base, &run))
}

/// The stored output: fields sent replace, fields omitted keep `old`.
fn output_fields(new: &Value, old: &Value) -> Value {
    let pick = |f: &str| {
        if new[f].is_null() {
            old[f].clone()
        } else {
            new[f].clone()
        }
    };
    json!({"title": pick("title"), "summary": pick("summary"), "text": pick("text")})
}

// ------------------------------------------------------------------ JSON shapes

fn user_json(login: &str, id: u64, kind: &str) -> Value {
    let u = format!(
        "https://api.github.com/users/{}",
        login.replace('[', "%5B").replace(']', "%5D")
    );
    json!({
        "login": login, "id": id, "node_id": format!("MDQ6VXNlcnt{id}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "", "url": u, "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{u}/followers"),
        "following_url": format!("{u}/following{{/other_user}}"),
        "gists_url": format!("{u}/gists{{/gist_id}}"),
        "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{u}/subscriptions"),
        "organizations_url": format!("{u}/orgs"), "repos_url": format!("{u}/repos"),
        "events_url": format!("{u}/events{{/privacy}}"),
        "received_events_url": format!("{u}/received_events"),
        "type": kind, "site_admin": false,
    })
}

fn permissions() -> Value {
    json!({"checks": "write", "contents": "read", "metadata": "read", "pull_requests": "write"})
}

fn installation_json(base: &str, app_id: u64, id: u64) -> Value {
    json!({
        "id": id,
        "account": user_json("acme", 9_000_001, "Organization"),
        "repository_selection": "all",
        "access_tokens_url": format!("{base}/app/installations/{id}/access_tokens"),
        "repositories_url": format!("{base}/installation/repositories"),
        "html_url": format!("https://github.com/organizations/acme/settings/installations/{id}"),
        "app_id": app_id, "app_slug": "reachdiff", "target_id": 9_000_001,
        "target_type": "Organization", "permissions": permissions(),
        "events": ["pull_request", "check_run", "check_suite"],
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "single_file_name": null, "suspended_at": null, "suspended_by": null,
    })
}

fn repo_json(base: &str, r: &FakeRepo) -> Value {
    let (owner, name) = r
        .full_name
        .split_once('/')
        .unwrap_or(("acme", &r.full_name));
    json!({
        "id": r.id, "node_id": format!("R_kgDO{}", r.id), "name": name,
        "full_name": r.full_name, "private": false,
        "owner": user_json(owner, 9_000_001, "Organization"),
        "html_url": format!("https://github.com/{}", r.full_name),
        "url": format!("{base}/repos/{}", r.full_name),
        "clone_url": r.clone_url, "default_branch": "main",
    })
}

fn pull_json(base: &str, repo: &FakeRepo, p: &FakePull) -> Value {
    let full = &repo.full_name;
    let n = p.number;
    json!({
        "url": format!("{base}/repos/{full}/pulls/{n}"),
        "id": 2_000_000_000 + n, "node_id": format!("PR_kwDO{n}"),
        "html_url": format!("https://github.com/{full}/pull/{n}"),
        "number": n, "state": p.state, "locked": false, "draft": false,
        "title": format!("Change network policies (#{n})"),
        "user": user_json("dev", 9_000_002, "User"),
        "head": {"label": format!("acme:{}", p.head_ref), "ref": p.head_ref, "sha": p.head_sha,
            "repo": repo_json(base, repo)},
        "base": {"label": format!("acme:{}", p.base_ref), "ref": p.base_ref, "sha": p.base_sha,
            "repo": repo_json(base, repo)},
        "created_at": "2026-11-26T09:00:00Z", "updated_at": "2026-11-26T10:00:00Z",
    })
}

fn comment_json(base: &str, c: &Comment) -> Value {
    let (full, id) = (&c.repo, c.id);
    json!({
        "id": id, "node_id": format!("IC_kwDO{id}"),
        "url": format!("{base}/repos/{full}/issues/comments/{id}"),
        "html_url": format!("https://github.com/{full}/pull/{}#issuecomment-{id}", c.number),
        "issue_url": format!("{base}/repos/{full}/issues/{}", c.number),
        "body": c.body,
        "user": user_json(&c.user_login, 41_898_282, &c.user_type),
        "created_at": "2026-11-26T10:00:00Z", "updated_at": "2026-11-26T10:00:00Z",
        "author_association": "NONE",
        "performed_via_github_app": null,
    })
}

fn review_json(r: &Review) -> Value {
    json!({"id": r.id, "node_id": format!("PRR_kwDO{}", r.id), "body": r.body,
        "state": "COMMENTED", "user": user_json(&r.user_login, 41_898_282, "Bot"),
        "submitted_at": "2026-11-26T10:00:00Z"})
}

fn review_comment_json(base: &str, c: &ReviewComment) -> Value {
    json!({"id": c.id, "node_id": format!("PRRC_kwDO{}", c.id),
        "url": format!("{base}/repos/{}/pulls/comments/{}", c.repo, c.id),
        "pull_request_review_id": c.review_id, "body": c.body, "path": c.path,
        "line": c.line, "side": c.side,
        "user": user_json(&c.user_login, 41_898_282, &c.user_type)})
}

fn check_run_json(st: &State, base: &str, c: &CheckRun) -> Value {
    let (full, id) = (&c.repo, c.id);
    let pulls: Vec<Value> = st
        .pulls
        .iter()
        .filter(|p| p.repo == *full && p.head_sha == c.head_sha && p.state == "open")
        .map(|p| {
            json!({"url": format!("{base}/repos/{full}/pulls/{}", p.number),
                "id": 2_000_000_000 + p.number, "number": p.number,
                "head": {"ref": p.head_ref, "sha": p.head_sha},
                "base": {"ref": p.base_ref, "sha": p.base_sha}})
        })
        .collect();
    json!({
        "id": id, "name": c.name, "node_id": format!("CR_kwDO{id}"),
        "head_sha": c.head_sha, "external_id": c.external_id.clone().unwrap_or_default(),
        "url": format!("{base}/repos/{full}/check-runs/{id}"),
        "html_url": format!("https://github.com/{full}/runs/{id}"),
        "details_url": c.details_url.clone().unwrap_or_else(|| format!("https://github.com/{full}/runs/{id}")),
        "status": c.status, "conclusion": c.conclusion,
        "started_at": c.started_at, "completed_at": c.completed_at,
        "output": {
            "title": c.output["title"], "summary": c.output["summary"], "text": c.output["text"],
            "annotations_count": c.annotations.len(),
            "annotations_url": format!("{base}/repos/{full}/check-runs/{id}/annotations"),
        },
        // One suite per head commit, as GitHub groups an App's runs.
        "check_suite": {"id": 3_000_000_000u64 + fnv(&c.head_sha) % 1_000_000_000},
        "app": {"id": st.app_id, "slug": "reachdiff", "name": "reachdiff",
            "owner": user_json("acme", 9_000_001, "Organization")},
        "pull_requests": pulls,
    })
}

// ------------------------------------------------------------------ webhook payloads

fn repository_payload(repo: &str, clone_url: &str) -> Value {
    let (owner, name) = repo.split_once('/').unwrap_or(("acme", repo));
    json!({
        "id": 500_000_000 + fnv(repo) % 100_000_000, "node_id": format!("R_kgDO{}", fnv(repo) % 1_000_000),
        "name": name, "full_name": repo, "private": false,
        "owner": user_json(owner, 9_000_001, "Organization"),
        "html_url": format!("https://github.com/{repo}"),
        "clone_url": clone_url, "default_branch": "main",
    })
}

/// A `pull_request` webhook payload as GitHub sends it (the fields an App
/// reads, plus enough of the rest to look real).
pub fn pull_request_payload(
    action: &str,
    repo: &str,
    clone_url: &str,
    number: u64,
    base_sha: &str,
    head_sha: &str,
    installation: u64,
) -> Value {
    let repository = repository_payload(repo, clone_url);
    json!({
        "action": action,
        "number": number,
        "before": if action == "synchronize" { json!("0".repeat(40)) } else { Value::Null },
        "after": head_sha,
        "pull_request": {
            "url": format!("https://api.github.com/repos/{repo}/pulls/{number}"),
            "id": 2_000_000_000 + number, "number": number, "state": "open",
            "locked": false, "draft": false,
            "title": format!("Change network policies (#{number})"),
            "user": user_json("dev", 9_000_002, "User"),
            "head": {"label": format!("acme:feature-{number}"), "ref": format!("feature-{number}"),
                "sha": head_sha, "repo": repository.clone()},
            "base": {"label": "acme:main", "ref": "main", "sha": base_sha,
                "repo": repository.clone()},
            "merged": false,
        },
        "repository": repository,
        "organization": {"login": repo.split('/').next().unwrap_or("acme"), "id": 9_000_001},
        "installation": {"id": installation, "node_id": format!("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u{installation}")},
        "sender": user_json("dev", 9_000_002, "User"),
    })
}

/// A `check_run` `rerequested` payload (the user pressed "Re-run").
pub fn check_run_rerequested_payload(
    repo: &str,
    clone_url: &str,
    head_sha: &str,
    pulls: &[(u64, &str)],
    installation: u64,
    app_id: u64,
) -> Value {
    let repository = repository_payload(repo, clone_url);
    let prs: Vec<Value> = pulls
        .iter()
        .map(|(n, base_sha)| pr_ref(repo, *n, base_sha, head_sha))
        .collect();
    json!({
        "action": "rerequested",
        "check_run": {
            "id": 4_000_000_000u64 + fnv(head_sha) % 1_000_000_000, "name": "reachdiff",
            "node_id": "CR_kwDOrerun", "head_sha": head_sha, "external_id": "",
            "status": "completed", "conclusion": "failure",
            "app": {"id": app_id, "slug": "reachdiff", "name": "reachdiff"},
            "check_suite": {"id": 3_000_000_000u64 + fnv(head_sha) % 1_000_000_000,
                "head_sha": head_sha, "head_branch": "feature", "pull_requests": prs.clone()},
            "pull_requests": prs,
        },
        "repository": repository,
        "installation": {"id": installation},
        "sender": user_json("dev", 9_000_002, "User"),
    })
}

/// A `check_suite` payload (`requested` on push, `rerequested` on "Re-run all").
pub fn check_suite_payload(
    action: &str,
    repo: &str,
    clone_url: &str,
    head_sha: &str,
    pulls: &[(u64, &str, &str)],
    installation: u64,
) -> Value {
    let repository = repository_payload(repo, clone_url);
    let prs: Vec<Value> = pulls
        .iter()
        .map(|(n, base_sha, head)| pr_ref(repo, *n, base_sha, head))
        .collect();
    json!({
        "action": action,
        "check_suite": {
            "id": 3_000_000_000u64 + fnv(head_sha) % 1_000_000_000, "node_id": "CS_kwDOsuite",
            "head_branch": "feature", "head_sha": head_sha, "status": "queued",
            "conclusion": null, "before": "0".repeat(40), "after": head_sha,
            "pull_requests": prs,
            "app": {"id": 4242, "slug": "reachdiff", "name": "reachdiff"},
        },
        "repository": repository,
        "installation": {"id": installation},
        "sender": user_json("dev", 9_000_002, "User"),
    })
}

fn pr_ref(repo: &str, number: u64, base_sha: &str, head_sha: &str) -> Value {
    let repo_ref = json!({"id": 500_000_000 + fnv(repo) % 100_000_000,
        "url": format!("https://api.github.com/repos/{repo}"),
        "name": repo.split('/').nth(1).unwrap_or(repo)});
    json!({"url": format!("https://api.github.com/repos/{repo}/pulls/{number}"),
        "id": 2_000_000_000 + number, "number": number,
        "head": {"ref": format!("feature-{number}"), "sha": head_sha, "repo": repo_ref.clone()},
        "base": {"ref": "main", "sha": base_sha, "repo": repo_ref}})
}

/// `X-Hub-Signature-256` without its `sha256=` prefix.
pub fn hmac_sha256_hex(secret: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ------------------------------------------------------------------ helpers

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// RFC 3339 UTC (`2026-11-26T12:00:00Z`) for Unix seconds.
pub fn rfc3339(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (y, m, d).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A xorshift generator: tokens and ids only need to be distinct, not secret.
pub fn random_u64() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut cur = STATE.load(Ordering::Relaxed);
    loop {
        let mut x = if cur == 0 {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64)
                | 1
        } else {
            cur
        };
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match STATE.compare_exchange(cur, x, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return x,
            Err(now) => cur = now,
        }
    }
}

pub fn random_alnum(n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| A[(random_u64() % A.len() as u64) as usize] as char)
        .collect()
}

/// Shaped like GitHub's `X-GitHub-Request-Id` (`C0DE:1A2B:3C4D5E:6F7A8B:674F1234`).
fn request_id() -> String {
    let r = random_u64();
    format!(
        "{:04X}:{:04X}:{:06X}:{:06X}:{:08X}",
        r & 0xffff,
        (r >> 16) & 0xffff,
        (r >> 32) & 0xff_ffff,
        random_u64() & 0xff_ffff,
        unix_now() & 0xffff_ffff
    )
}

/// FNV-1a, for ids derived from names and SHAs (stable across runs).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| percent_decode(v))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn page(query: &str) -> usize {
    query_param(query, "page")
        .and_then(|p| p.parse().ok())
        .filter(|&p| p >= 1)
        .unwrap_or(1)
}

/// `query` with its `page` parameter set to `page`.
fn with_page(query: &str, page: usize) -> String {
    let mut parts: Vec<String> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("page="))
        .map(str::to_string)
        .collect();
    parts.push(format!("page={page}"));
    parts.join("&")
}

// ------------------------------------------------------------------ git

/// Standard base64 (for HTTP basic credentials).
pub fn base64(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in s.as_bytes().chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// Whether git's basic credentials carry a token the fake accepts (as
/// `x-access-token:TOKEN`, what GitHub takes from Actions).
fn git_authorized(st: &State, authorization: Option<&str>) -> bool {
    let Some(a) = authorization else {
        return false;
    };
    st.tokens_issued.iter().any(|t| {
        st.token_valid(t)
            && a.eq_ignore_ascii_case(&format!("basic {}", base64(&format!("x-access-token:{t}"))))
    })
}

/// Smart HTTP through `git http-backend` (CGI), for a token-protected
/// origin: `/acme/NAME.git/…` is `ROOT/NAME.git`.
fn serve_git(
    mut w: TcpStream,
    root: &std::path::Path,
    req: &Request,
    authorized: bool,
) -> std::io::Result<()> {
    if !authorized {
        let msg = "Authentication required";
        write!(
            w,
            "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Basic realm=\"GitHub\"\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{msg}",
            msg.len()
        )?;
        return w.flush();
    }
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let empty_config = std::env::temp_dir().join("reachdiff-fake-empty-gitconfig");
    if !empty_config.is_file() {
        std::fs::write(&empty_config, "")?;
    }
    let mut child = std::process::Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_GLOBAL", &empty_config)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", path.strip_prefix("/acme").unwrap_or(path))
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", &req.method)
        .env("CONTENT_TYPE", &req.content_type)
        .env("CONTENT_LENGTH", req.raw.len().to_string())
        .env("GIT_PROTOCOL", &req.git_protocol)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&req.raw)?;
    }
    let text = child.wait_with_output()?.stdout;
    let split = text
        .windows(4)
        .position(|x| x == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| text.windows(2).position(|x| x == b"\n\n").map(|i| (i, 2)))
        .unwrap_or((0, 0));
    let head = String::from_utf8_lossy(&text[..split.0]).into_owned();
    let payload = &text[split.0 + split.1..];
    let mut status = "200 OK".to_string();
    let mut headers = String::new();
    for l in head.lines() {
        match l.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_string(),
            Some(_) => headers.push_str(&format!("{}\r\n", l.trim_end())),
            None => {}
        }
    }
    write!(
        w,
        "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
        payload.len()
    )?;
    w.write_all(payload)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    const APP: u64 = 4242;
    const PUB: &str = include_str!("../../fixtures/app/test-app-key.pub.pem");
    const KEY: &[u8] = include_bytes!("../../fixtures/app/test-app-key.pkcs1.pem");
    const REPO: &str = "acme/gitops";
    const BASE: &str = "1111111111111111111111111111111111111111";
    const HEAD: &str = "2222222222222222222222222222222222222222";

    struct Answer {
        status: u16,
        headers: Vec<(String, String)>,
        json: Value,
    }

    impl Answer {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|h| h.0.eq_ignore_ascii_case(name))
                .map(|h| h.1.as_str())
        }
    }

    /// One request over a fresh connection, read to EOF (`connection: close`).
    fn call(
        url: &str,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let addr = url.strip_prefix("http://").unwrap();
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\naccept: application/vnd.github+json\r\n"
        );
        if let Some(a) = auth {
            req.push_str(&format!("authorization: {a}\r\n"));
        }
        req.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ));
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let json = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(body).unwrap()
        };
        Answer {
            status,
            headers,
            json,
        }
    }

    fn jwt() -> String {
        let key = octocrab::jsonwebtoken::EncodingKey::from_rsa_pem(KEY).unwrap();
        octocrab::auth::create_jwt(octocrab::models::AppId(APP), &key).unwrap()
    }

    fn fake() -> FakeApp {
        let f = FakeApp::start(APP, PUB);
        f.add_repo(REPO, "file:///tmp/origin");
        f.add_pull(
            REPO,
            7,
            BASE,
            HEAD,
            vec![json!({"filename": "a.yaml", "status": "modified"})],
        );
        f
    }

    fn token(f: &FakeApp) -> String {
        let a = call(
            &f.url,
            "POST",
            "/app/installations/1/access_tokens",
            Some(&format!("Bearer {}", jwt())),
            None,
        );
        assert_eq!(a.status, 201, "{}", a.json);
        format!("token {}", a.json["token"].as_str().unwrap())
    }

    #[test]
    fn app_fake_mints_tokens_with_a_jwt() {
        let f = fake();
        let bearer = format!("Bearer {}", jwt());
        let a = call(
            &f.url,
            "POST",
            "/app/installations/1/access_tokens",
            Some(&bearer),
            None,
        );
        assert_eq!(a.status, 201);
        let t = a.json["token"].as_str().unwrap();
        assert!(
            t.starts_with("ghs_")
                && t.len() == 40
                && t[4..].chars().all(|c| c.is_ascii_alphanumeric())
        );
        let exp = a.json["expires_at"].as_str().unwrap();
        assert_eq!(exp.len(), 20, "{exp}");
        assert!(exp > rfc3339(unix_now() + 3500).as_str());
        assert_eq!(a.json["permissions"]["checks"], "write");
        for h in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "x-github-request-id",
        ] {
            assert!(a.header(h).is_some(), "{h}");
        }
        assert_eq!(
            a.header("content-type"),
            Some("application/json; charset=utf-8")
        );

        let a = call(
            &f.url,
            "GET",
            "/app/installations?per_page=100",
            Some(&bearer),
            None,
        );
        assert_eq!((a.status, a.json[0]["app_id"].as_u64()), (200, Some(APP)));
        assert_eq!(
            call(
                &f.url,
                "POST",
                "/app/installations/9/access_tokens",
                Some(&bearer),
                None
            )
            .status,
            404
        );

        let tok = format!("token {t}");
        let a = call(
            &f.url,
            "GET",
            "/installation/repositories?per_page=100",
            Some(&tok),
            None,
        );
        assert_eq!(a.json["repositories"][0]["full_name"], REPO);
        let a = call(
            &f.url,
            "GET",
            "/repos/acme/gitops/pulls?state=open&per_page=100",
            Some(&format!("Bearer {t}")),
            None,
        );
        assert_eq!(
            (
                a.json[0]["number"].as_u64(),
                a.json[0]["head"]["sha"].as_str()
            ),
            (Some(7), Some(HEAD))
        );
        let kinds: Vec<String> = f
            .requests()
            .into_iter()
            .map(|r| r.authorization_kind)
            .collect();
        assert_eq!(kinds, ["jwt", "jwt", "jwt", "token", "token"]);
    }

    #[test]
    fn app_fake_rejects_credentials_like_github() {
        let f = fake();
        // A flipped signature byte: well-formed, but not signed by the App.
        let mut forged = jwt().into_bytes();
        let i = forged.iter().rposition(|&b| b == b'.').unwrap() + 10;
        forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        let forged = format!("Bearer {forged}");
        let a = call(
            &f.url,
            "POST",
            "/app/installations/1/access_tokens",
            Some(&forged),
            None,
        );
        assert_eq!(
            (a.status, a.json["message"].as_str()),
            (401, Some("Bad credentials"))
        );
        let a = call(
            &f.url,
            "GET",
            "/repos/acme/gitops/pulls/7",
            Some(&format!("Bearer {}", jwt())),
            None,
        );
        assert_eq!(
            (a.status, a.json["message"].as_str()),
            (403, Some("Resource not accessible by integration"))
        );
        assert_eq!(
            call(&f.url, "GET", "/repos/acme/gitops/pulls/7", None, None).status,
            401
        );
        assert_eq!(
            call(
                &f.url,
                "GET",
                "/repos/acme/gitops/pulls/7",
                Some("token ghs_nope"),
                None
            )
            .status,
            401
        );

        let tok = token(&f);
        assert_eq!(
            call(
                &f.url,
                "GET",
                "/repos/acme/gitops/pulls/7",
                Some(&tok),
                None
            )
            .status,
            200
        );
        assert_eq!(
            call(
                &f.url,
                "POST",
                "/app/installations/1/access_tokens",
                Some(&tok),
                None
            )
            .status,
            401
        );
        f.lock().revoked.push(tok["token ".len()..].to_string());
        assert_eq!(
            call(
                &f.url,
                "GET",
                "/repos/acme/gitops/pulls/7",
                Some(&tok),
                None
            )
            .status,
            401
        );

        f.lock().token_ttl_secs = 0;
        let expired = token(&f);
        assert_eq!(
            call(
                &f.url,
                "GET",
                "/repos/acme/gitops/pulls/7",
                Some(&expired),
                None
            )
            .status,
            401
        );
        let kinds: Vec<String> = f
            .requests()
            .into_iter()
            .map(|r| r.authorization_kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "bad", "jwt", "none", "bad", "jwt", "token", "token", "bad", "jwt", "bad"
            ]
        );

        assert_eq!(
            call(&f.url, "GET", "/nowhere", Some(&token(&f)), None).status,
            401,
            "the new token has expired too"
        );
        f.lock().token_ttl_secs = 3600;
        let a = call(&f.url, "GET", "/nowhere", Some(&token(&f)), None);
        assert_eq!(
            (a.status, a.json["message"].as_str()),
            (404, Some("Not Found"))
        );
    }

    #[test]
    fn app_fake_check_runs_validate_and_accumulate_annotations() {
        let f = fake();
        let tok = token(&f);
        let u = &f.url;
        let a = call(
            u,
            "POST",
            "/repos/acme/gitops/check-runs",
            Some(&tok),
            Some(&json!({"head_sha": HEAD})),
        );
        assert_eq!(
            (a.status, a.json["message"].as_str()),
            (422, Some("Invalid request.\n\n\"name\" wasn't supplied."))
        );
        let a = call(
            u,
            "POST",
            "/repos/acme/gitops/check-runs",
            Some(&tok),
            Some(&json!({"name": "reachdiff", "head_sha": HEAD, "status": "completed"})),
        );
        assert_eq!(a.status, 422);
        let a = call(
            u,
            "POST",
            "/repos/acme/gitops/check-runs",
            Some(&tok),
            Some(
                &json!({"name": "reachdiff", "head_sha": HEAD, "status": "in_progress", "external_id": "acme/gitops#7"}),
            ),
        );
        assert_eq!(a.status, 201, "{}", a.json);
        assert_eq!(a.json["pull_requests"][0]["number"], 7);
        assert_eq!(a.json["app"]["id"], APP);
        let id = a.json["id"].as_u64().unwrap();
        let path = format!("/repos/acme/gitops/check-runs/{id}");

        let ann = |n: usize| -> Vec<Value> {
            (0..n)
                .map(|i| {
                    json!({"path": "a.yaml", "start_line": i + 1, "end_line": i + 1,
                "annotation_level": "warning", "message": format!("m{i}")})
                })
                .collect()
        };
        let a = call(
            u,
            "PATCH",
            &path,
            Some(&tok),
            Some(&json!({"output": {"title": "t", "summary": "s", "annotations": ann(51)}})),
        );
        assert_eq!(
            (a.status, a.json["message"].as_str()),
            (
                422,
                Some("Invalid request.\n\nOnly 50 annotations are allowed per request.")
            )
        );
        let a = call(
            u,
            "PATCH",
            &path,
            Some(&tok),
            Some(&json!({"output": {"summary": "s"}})),
        );
        assert_eq!(a.status, 422);
        let a = call(
            u,
            "PATCH",
            &path,
            Some(&tok),
            Some(&json!({"output": {"title": "t", "summary": "x".repeat(MAX_OUTPUT_CHARS + 1)}})),
        );
        assert_eq!(a.status, 422);
        let a = call(
            u,
            "PATCH",
            &path,
            Some(&tok),
            Some(&json!({"output": {"title": "t", "summary": "s", "annotations": ann(50)}})),
        );
        assert_eq!(
            (a.status, a.json["output"]["annotations_count"].as_u64()),
            (200, Some(50))
        );
        let a = call(
            u,
            "PATCH",
            &path,
            Some(&tok),
            Some(
                &json!({"conclusion": "failure", "output": {"title": "t2", "summary": "s2", "annotations": ann(3)}}),
            ),
        );
        assert_eq!(a.status, 200);
        assert_eq!(
            (a.json["status"].as_str(), a.json["conclusion"].as_str()),
            (Some("completed"), Some("failure"))
        );
        assert_eq!(a.json["output"]["annotations_count"], 53);
        assert!(a.json["completed_at"].is_string());

        let runs = f.check_runs();
        assert_eq!(
            (
                runs.len(),
                runs[0].annotations.len(),
                runs[0].output["title"].as_str()
            ),
            (1, 53, Some("t2"))
        );
        let a = call(
            u,
            "GET",
            &format!(
                "/repos/acme/gitops/commits/{HEAD}/check-runs?check_name=reachdiff&filter=latest"
            ),
            Some(&tok),
            None,
        );
        assert_eq!(
            (
                a.json["total_count"].as_u64(),
                a.json["check_runs"][0]["id"].as_u64()
            ),
            (Some(1), Some(id))
        );
        let a = call(
            u,
            "GET",
            &format!("/repos/acme/gitops/commits/{HEAD}/check-runs?check_name=other"),
            Some(&tok),
            None,
        );
        assert_eq!(a.json["total_count"], 0);
        let a = call(
            u,
            "PATCH",
            "/repos/acme/gitops/check-runs/1",
            Some(&tok),
            Some(&json!({"status": "queued"})),
        );
        assert_eq!(a.status, 404);
        let a = call(u, "POST", "/repos/acme/gitops/check-runs", Some(&tok), None);
        assert_eq!(a.status, 400);
    }

    #[test]
    fn app_fake_pages_issue_comments() {
        let f = fake();
        let tok = token(&f);
        for i in 0..65 {
            let a = call(
                &f.url,
                "POST",
                "/repos/acme/gitops/issues/7/comments",
                Some(&tok),
                Some(&json!({"body": format!("c{i}")})),
            );
            assert_eq!(
                (a.status, a.json["user"]["type"].as_str()),
                (201, Some("Bot"))
            );
        }
        let mut path = "/repos/acme/gitops/issues/7/comments?per_page=100".to_string();
        let mut sizes = Vec::new();
        loop {
            let a = call(&f.url, "GET", &path, Some(&tok), None);
            sizes.push(a.json.as_array().unwrap().len());
            let Some(next) = a.header("link").and_then(|l| {
                l.split(", ")
                    .find(|p| p.ends_with("rel=\"next\""))
                    .map(|p| p[1..p.find('>').unwrap()].to_string())
            }) else {
                break;
            };
            path = next.strip_prefix(&f.url).unwrap().to_string();
        }
        assert_eq!(sizes, [30, 30, 5]);
        let id = f.comments()[64].id;
        let a = call(
            &f.url,
            "PATCH",
            &format!("/repos/acme/gitops/issues/comments/{id}"),
            Some(&tok),
            Some(&json!({"body": "edited"})),
        );
        assert_eq!((a.status, f.comments()[64].body.as_str()), (200, "edited"));
        let a = call(
            &f.url,
            "POST",
            "/repos/acme/gitops/pulls/7/reviews",
            Some(&tok),
            Some(
                &json!({"event": "COMMENT", "body": "r", "comments": [{"path": "a.yaml", "line": 3, "side": "RIGHT", "body": "x"}]}),
            ),
        );
        assert_eq!(a.status, 200);
        assert_eq!(f.review_comments().len(), 1);
    }

    #[test]
    fn app_fake_scripts_failures() {
        let f = fake();
        let tok = token(&f);
        f.script(Scripted::ServerError, Some("/check-runs"));
        f.script(Scripted::RateLimited, None);
        let a = call(
            &f.url,
            "GET",
            "/repos/acme/gitops/pulls/7",
            Some(&tok),
            None,
        );
        assert_eq!(
            (a.status, a.header("x-ratelimit-remaining")),
            (403, Some("0"))
        );
        let a = call(
            &f.url,
            "GET",
            &format!("/repos/acme/gitops/commits/{HEAD}/check-runs"),
            Some(&tok),
            None,
        );
        assert_eq!(a.status, 500);
        f.script(Scripted::SecondaryRateLimit, None);
        let a = call(
            &f.url,
            "GET",
            "/repos/acme/gitops/pulls/7",
            Some(&tok),
            None,
        );
        assert_eq!((a.status, a.header("retry-after")), (403, Some("1")));
        f.script(Scripted::Delay(Duration::from_millis(300)), None);
        let t = Instant::now();
        assert_eq!(
            call(
                &f.url,
                "GET",
                "/repos/acme/gitops/pulls/7",
                Some(&tok),
                None
            )
            .status,
            200
        );
        assert!(t.elapsed() >= Duration::from_millis(300));

        f.script(Scripted::Hang, None);
        let addr = f.url.strip_prefix("http://").unwrap();
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        s.write_all(b"GET /repos/acme/gitops/pulls/7 HTTP/1.1\r\nhost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0; 1];
        assert!(s.read(&mut buf).is_err(), "a hung request gets no answer");
        assert!(f.wait_until(Duration::from_secs(2), |st| {
            st.requests.last().is_some_and(|r| r.status == 0)
        }));

        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /x HTTP/1.1\r\ncontent-length: lots\r\n\r\n")
            .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        assert!(raw.starts_with("HTTP/1.1 400 "), "{raw}");
        let a = call(&f.url, "GET", "/_fake/requests", None, None);
        assert!(a.json.as_array().unwrap().len() >= 7);
        assert!(call(&f.url, "GET", "/_fake/state", None, None).json["check_runs"].is_array());
    }

    #[test]
    fn app_fake_helpers() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_694_400), "2026-11-26T12:00:00Z");
        assert_eq!(rfc3339(951_827_696), "2000-02-29T12:34:56Z");
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let p = pull_request_payload("synchronize", REPO, "file:///o", 7, BASE, HEAD, 1);
        assert_eq!(
            (
                p["pull_request"]["head"]["sha"].as_str(),
                p["installation"]["id"].as_u64()
            ),
            (Some(HEAD), Some(1))
        );
        let p = check_run_rerequested_payload(REPO, "file:///o", HEAD, &[(7, BASE)], 1, APP);
        assert_eq!(p["check_run"]["pull_requests"][0]["base"]["sha"], BASE);
        let p = check_suite_payload("requested", REPO, "file:///o", HEAD, &[(7, BASE, HEAD)], 1);
        assert_eq!(p["check_suite"]["pull_requests"][0]["number"], 7);
        assert_eq!(percent_decode("a%2Fb+c%zz"), "a/b c%zz");
    }
}
