//! `reachdiff action` end to end: the built binary, a local git origin
//! (file://), realistic `pull_request` payloads and a fake GitHub REST API
//! on 127.0.0.1 that records every request and answers like GitHub.

use crate::support;
use crate::support::git;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const REPO: &str = "acme/gitops";
const TOKEN: &str = "ghs_FAKEtoken0123456789abcdefXYZ";

// ---------------------------------------------------------------- git

fn scenario(name: &str, side: &str) -> PathBuf {
    support::repo_root()
        .join("fixtures/scenarios")
        .join(name)
        .join(side)
}

/// Replaces the work tree with `tree` (plus `extra` files) and commits.
fn commit(repo: &Path, tree: &Path, extra: &[(&str, &str)], msg: &str) -> String {
    support::replace_work_tree(repo, tree);
    for (p, t) in extra {
        std::fs::write(repo.join(p), t).unwrap();
    }
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "--allow-empty", "-m", msg]);
    git(repo, &["rev-parse", "HEAD"])
}

/// The origin: `main` at the base, branch `pr` with the head commits.
struct Origin {
    dir: PathBuf,
    base: String,
}

fn origin(root: &Path, extra_base: &[(&str, &str)]) -> Origin {
    let dir = root.join("origin");
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    // GitHub serves any reachable commit by id.
    git(&dir, &["config", "uploadpack.allowAnySHA1InWant", "true"]);
    let base = commit(
        &dir,
        &scenario("shop-multi-namespace", "base"),
        extra_base,
        "base",
    );
    Origin { dir, base }
}

impl Origin {
    /// A head commit on branch `pr` (on top of the base), and GitHub's
    /// merge commit on `pull/merge`.
    fn push_head(&self, tree: &Path, extra: &[(&str, &str)], msg: &str) -> String {
        git(&self.dir, &["checkout", "-q", "-B", "pr", &self.base]);
        let head = commit(&self.dir, tree, extra, msg);
        git(
            &self.dir,
            &["checkout", "-q", "-B", "pull/merge", &self.base],
        );
        git(&self.dir, &["merge", "-q", "--no-ff", "-m", "merge", "pr"]);
        git(&self.dir, &["checkout", "-q", "main"]);
        head
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.display())
    }

    /// What actions/checkout leaves: the merge commit at depth 1.
    fn shallow_checkout(&self, root: &Path, name: &str) -> PathBuf {
        let ws = root.join(name);
        git(
            root,
            &[
                "clone",
                "-q",
                "--depth",
                "1",
                "--branch",
                "pull/merge",
                &self.url(),
                ws.to_str().unwrap(),
            ],
        );
        ws
    }

    fn full_checkout(&self, root: &Path, name: &str) -> PathBuf {
        let ws = root.join(name);
        git(root, &["clone", "-q", &self.url(), ws.to_str().unwrap()]);
        git(&ws, &["fetch", "-q", "origin", "pr:pr"]);
        ws
    }
}

fn event(root: &Path, name: &str, number: u64, base: &str, head: &str, fork: bool) -> PathBuf {
    let head_repo = if fork { "forker/gitops" } else { REPO };
    let payload = serde_json::json!({
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "url": format!("https://api.github.com/repos/{REPO}/pulls/{number}"),
            "id": 1_234_567_000u64 + number,
            "number": number,
            "state": "open",
            "title": "Let cart talk to the database",
            "user": {"login": "octocat", "id": 1, "type": "User"},
            "head": {"label": "octocat:pr", "ref": "pr", "sha": head,
                     "repo": {"id": 2, "name": "gitops", "full_name": head_repo, "fork": fork}},
            "base": {"label": "acme:main", "ref": "main", "sha": base,
                     "repo": {"id": 1, "name": "gitops", "full_name": REPO, "fork": false}},
            "draft": false,
            "merged": false
        },
        "repository": {"id": 1, "name": "gitops", "full_name": REPO, "private": false},
        "sender": {"login": "octocat", "id": 1, "type": "User"}
    });
    let p = root.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(&payload).unwrap()).unwrap();
    p
}

// ---------------------------------------------------------- fake GitHub

#[derive(Clone, Debug)]
struct Request {
    method: String,
    path: String,
    body: String,
    authorization: Option<String>,
}

/// A scripted answer given before normal handling.
#[derive(Clone, Copy, Debug)]
enum Scripted {
    ServerError,
    RateLimited,
}

#[derive(Default)]
struct State {
    comments: Vec<(u64, String, String)>,
    next_id: u64,
    requests: Vec<Request>,
    script: VecDeque<Scripted>,
    read_only: bool,
    /// Smart HTTP: bare repositories below this directory are served at
    /// `/acme/NAME.git/` through `git http-backend`.
    git_root: Option<PathBuf>,
    git_requests: Vec<Request>,
}

/// A GitHub REST API on 127.0.0.1 for one test: stops when dropped or
/// after a minute, whichever comes first.
struct FakeGitHub {
    url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const PAGE: usize = 2;

impl FakeGitHub {
    fn start() -> FakeGitHub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            next_id: 1_000_000_001,
            ..Default::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp, base) = (state.clone(), stop.clone(), url.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !sp.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((s, _)) => {
                        let _ = serve(s, &st, &base);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeGitHub {
            url,
            state,
            stop,
            thread: Some(thread),
        }
    }

    fn seed(&self, n: usize) {
        let mut s = self.state.lock().unwrap();
        for i in 0..n {
            let id = s.next_id;
            s.next_id += 1;
            s.comments
                .push((id, format!("Thanks! looks good {i}"), "reviewer".into()));
        }
    }

    fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    fn writes(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect()
    }

    fn sticky(&self) -> Vec<(u64, String)> {
        self.state
            .lock()
            .unwrap()
            .comments
            .iter()
            .filter(|c| c.1.contains("<!-- reachdiff -->"))
            .map(|c| (c.0, c.1.clone()))
            .collect()
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn comment_json(base: &str, id: u64, body: &str, user: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "node_id": format!("IC_kwDO{id}"),
        "url": format!("{base}/repos/{REPO}/issues/comments/{id}"),
        "html_url": format!("https://github.com/{REPO}/pull/7#issuecomment-{id}"),
        "body": body,
        "user": {"login": user, "id": 41898282, "type": "Bot"},
        "created_at": "2026-11-26T10:00:00Z",
        "updated_at": "2026-11-26T10:00:00Z",
        "author_association": "NONE"
    })
}

fn serve(stream: TcpStream, state: &Mutex<State>, base: &str) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let (mut len, mut authorization, mut chunked) = (0usize, None, false);
    let (mut content_type, mut git_protocol) = (String::new(), String::new());
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let v = v.trim().to_string();
            match k.to_ascii_lowercase().as_str() {
                "content-length" => len = v.parse().unwrap_or(0),
                "authorization" => authorization = Some(v),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "content-type" => content_type = v,
                "git-protocol" => git_protocol = v,
                _ => {}
            }
        }
    }
    let mut raw = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
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
    if target.starts_with("/acme/") && target.contains(".git/") {
        let root = state.lock().unwrap().git_root.clone();
        let mut st = state.lock().unwrap();
        st.git_requests.push(Request {
            method: method.clone(),
            path: target.clone(),
            body: String::new(),
            authorization: authorization.clone(),
        });
        drop(st);
        return serve_git(
            stream,
            root,
            &method,
            &target,
            &raw,
            &content_type,
            &git_protocol,
            authorization.as_deref(),
        );
    }
    let body = String::from_utf8_lossy(&raw).into_owned();
    let mut st = state.lock().unwrap();
    st.requests.push(Request {
        method: method.clone(),
        path: target.clone(),
        body: body.clone(),
        authorization: authorization.clone(),
    });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut headers = vec![
        (
            "content-type".to_string(),
            "application/json; charset=utf-8".to_string(),
        ),
        ("x-github-api-version-selected".into(), "2022-11-28".into()),
        ("x-ratelimit-limit".into(), "5000".into()),
        ("x-ratelimit-remaining".into(), "4990".into()),
        ("x-ratelimit-reset".into(), (now + 3600).to_string()),
    ];
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let comments_path = format!("/repos/{REPO}/issues/");
    let (status, json) = if let Some(s) = st.script.pop_front() {
        match s {
            Scripted::ServerError => (500, serde_json::json!({"message": "Server Error"})),
            Scripted::RateLimited => {
                headers.retain(|h| !h.0.starts_with("x-ratelimit"));
                headers.push(("x-ratelimit-limit".into(), "5000".into()));
                headers.push(("x-ratelimit-remaining".into(), "0".into()));
                headers.push(("x-ratelimit-reset".into(), (now + 1).to_string()));
                (
                    403,
                    serde_json::json!({"message": "API rate limit exceeded for installation ID 1.",
                        "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}),
                )
            }
        }
    } else if authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        (401, serde_json::json!({"message": "Bad credentials"}))
    } else if st.read_only && method != "GET" {
        (
            403,
            serde_json::json!({"message": "Resource not accessible by integration",
                "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
                "status": "403"}),
        )
    } else if let Some(rest) = path.strip_prefix(&comments_path) {
        let segs: Vec<&str> = rest.split('/').collect();
        match (method.as_str(), segs.as_slice()) {
            ("GET", [n, "comments"]) => {
                let _: u64 = n.parse().unwrap();
                let page: usize = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("page="))
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1);
                let all = &st.comments;
                let pages = all.len().div_ceil(PAGE).max(1);
                let items: Vec<serde_json::Value> = all
                    .iter()
                    .skip((page - 1) * PAGE)
                    .take(PAGE)
                    .map(|c| comment_json(base, c.0, &c.1, &c.2))
                    .collect();
                if page < pages {
                    headers.push((
                        "link".into(),
                        format!(
                            "<{base}{path}?per_page=100&page={}>; rel=\"next\", <{base}{path}?per_page=100&page={pages}>; rel=\"last\"",
                            page + 1
                        ),
                    ));
                }
                (200, serde_json::Value::Array(items))
            }
            ("POST", [_, "comments"]) => {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                let text = v["body"].as_str().unwrap().to_string();
                let id = st.next_id;
                st.next_id += 1;
                st.comments
                    .push((id, text.clone(), "github-actions[bot]".into()));
                (201, comment_json(base, id, &text, "github-actions[bot]"))
            }
            ("PATCH", ["comments", id]) => {
                let id: u64 = id.parse().unwrap();
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                let text = v["body"].as_str().unwrap().to_string();
                match st.comments.iter_mut().find(|c| c.0 == id) {
                    Some(c) => {
                        c.1 = text.clone();
                        (200, comment_json(base, id, &text, "github-actions[bot]"))
                    }
                    None => (404, serde_json::json!({"message": "Not Found"})),
                }
            }
            _ => (404, serde_json::json!({"message": "Not Found"})),
        }
    } else {
        (404, serde_json::json!({"message": "Not Found"}))
    };
    drop(st);
    let body = json.to_string();
    let reason = match status {
        200 => "OK",
        201 => "Created",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let mut w = stream;
    write!(w, "HTTP/1.1 {status} {reason}\r\n")?;
    for (k, v) in headers {
        write!(w, "{k}: {v}\r\n")?;
    }
    write!(
        w,
        "content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    w.flush()
}

/// Smart HTTP through `git http-backend` (CGI), for a token-protected origin.
#[allow(clippy::too_many_arguments)]
fn serve_git(
    mut w: TcpStream,
    root: Option<PathBuf>,
    method: &str,
    target: &str,
    body: &[u8],
    content_type: &str,
    git_protocol: &str,
    authorization: Option<&str>,
) -> std::io::Result<()> {
    let expected = format!("basic {}", base64(&format!("x-access-token:{TOKEN}")));
    let authorized = authorization.is_some_and(|a| a.eq_ignore_ascii_case(&expected));
    let Some(root) = root.filter(|_| authorized) else {
        let msg = "Authentication required";
        write!(
            w,
            "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Basic realm=\"GitHub\"\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{msg}",
            msg.len()
        )?;
        return w.flush();
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut child = Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_GLOBAL", support::empty_git_config())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PROJECT_ROOT", &root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", path.strip_prefix("/acme").unwrap_or(path))
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", method)
        .env("CONTENT_TYPE", content_type)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("GIT_PROTOCOL", git_protocol)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    child.stdin.take().unwrap().write_all(body)?;
    let out = child.wait_with_output()?;
    let text = out.stdout;
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

fn base64(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in s.as_bytes().chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
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

// ------------------------------------------------------------- running

struct Run {
    out: Output,
    stdout: String,
    stderr: String,
    outputs: String,
    summary: String,
}

struct Setup<'a> {
    ws: &'a Path,
    event: &'a Path,
    api: &'a str,
    inputs: &'a [(&'a str, &'a str)],
    /// `GITHUB_SERVER_URL` (default `https://github.com`).
    server: Option<&'a str>,
}

fn run_action(root: &Path, s: &Setup<'_>) -> Run {
    let tag = format!(
        "{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let output = root.join(format!("output-{tag}"));
    let summary = root.join(format!("summary-{tag}"));
    std::fs::write(&output, "").unwrap();
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut c = support::bin();
    c.env_clear()
        .arg("action")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("GIT_CONFIG_GLOBAL", support::empty_git_config())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", s.event)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_API_URL", s.api)
        .env(
            "GITHUB_SERVER_URL",
            s.server.unwrap_or("https://github.com"),
        )
        .env("GITHUB_WORKSPACE", s.ws)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_RUN_ID", "4242")
        .env("INPUT_TOKEN", TOKEN)
        .env("INPUT_COMMENT", "on-change")
        .env("INPUT_WORKING-DIRECTORY", ".");
    for (k, v) in s.inputs {
        c.env(format!("INPUT_{}", k.to_ascii_uppercase()), v);
    }
    let out = c.output().expect("run reachdiff action");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "token leaked"
    );
    Run {
        stdout,
        stderr,
        outputs: std::fs::read_to_string(&output).unwrap_or_default(),
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        out,
    }
}

/// `name<<DELIM` … `DELIM` blocks of `$GITHUB_OUTPUT`.
fn outputs(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut m = std::collections::BTreeMap::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        let (k, delim) = l.split_once("<<").expect("multiline output format");
        let mut v = Vec::new();
        for l in lines.by_ref() {
            if l == delim {
                break;
            }
            v.push(l);
        }
        m.insert(k.to_string(), v.join("\n"));
    }
    m
}

fn code(r: &Run) -> i32 {
    r.out.status.code().unwrap()
}

fn explain(r: &Run) -> String {
    format!("stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr)
}

// --------------------------------------------------------------- tests

#[test]
fn creates_then_updates_one_sticky_comment() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let o = origin(root, &[]);
    let head1 = o.push_head(
        &scenario("shop-multi-namespace", "head"),
        &[],
        "open db to cart",
    );
    let ws = o.full_checkout(root, "ws");
    let gh = FakeGitHub::start();
    gh.seed(3); // someone else's comments, over two pages
    let ev = event(root, "event1.json", 7, &o.base, &head1, false);
    let r = run_action(
        root,
        &Setup {
            ws: &ws,
            event: &ev,
            api: &gh.url,
            inputs: &[],
            server: None,
        },
    );
    assert_eq!(code(&r), 0, "{}", explain(&r));
    let w = gh.writes();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].method, "POST");
    assert_eq!(w[0].path, format!("/repos/{REPO}/issues/7/comments"));
    assert!(w[0].body.contains("<!-- reachdiff -->"));
    let sticky = gh.sticky();
    assert_eq!(sticky.len(), 1);
    assert!(sticky[0].1.starts_with("<!-- reachdiff -->"));
    // Pages were followed: the list was read twice (3 comments, 2 per page).
    let gets = gh.requests().iter().filter(|r| r.method == "GET").count();
    assert_eq!(gets, 2);
    // Summary, annotations, outputs.
    assert!(r.summary.contains("<!-- reachdiff -->"), "{}", r.summary);
    assert!(
        r.stdout
            .contains("::warning file=db.yaml,line=98,title=reachdiff"),
        "{}",
        explain(&r)
    );
    assert!(r.stdout.contains("::warning file=cart.yaml,line=60,"));
    assert!(!r.stdout.contains("::error"));
    let out = outputs(&r.outputs);
    assert_eq!(out["opened"], "2");
    assert_eq!(out["closed"], "0");
    assert_eq!(out["gate"], "passed");
    let json_path = ws.join(&out["report-json"]);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json_path).unwrap()).unwrap();
    assert_eq!(doc["schema"], "reachdiff/diff/v1");
    // Links point at the commits on the server.
    assert!(
        sticky[0]
            .1
            .contains(&format!("https://github.com/{REPO}/blob/{head1}"))
    );

    // A second push: the same comment is updated with PATCH.
    let head2 = o.push_head(
        &scenario("shop-multi-namespace", "head"),
        &[("notes.yaml", "# nothing here\n")],
        "second push",
    );
    git(&ws, &["fetch", "-q", "origin", "pr:pr2"]);
    let ev = event(root, "event2.json", 7, &o.base, &head2, false);
    let r = run_action(
        root,
        &Setup {
            ws: &ws,
            event: &ev,
            api: &gh.url,
            inputs: &[],
            server: None,
        },
    );
    assert_eq!(code(&r), 0, "{}", explain(&r));
    let w = gh.writes();
    assert_eq!(w.len(), 2, "{w:?}");
    assert_eq!(w[1].method, "PATCH");
    assert_eq!(
        w[1].path,
        format!("/repos/{REPO}/issues/comments/{}", sticky[0].0)
    );
    let after = gh.sticky();
    assert_eq!(after.len(), 1);
    assert!(after[0].1.contains(&head2[..12]) || after[0].1.contains(&head2));

    // A push that changes no reachability: the comment says so.
    let head3 = o.push_head(
        &scenario("shop-multi-namespace", "base"),
        &[("README.md", "docs only\n")],
        "docs",
    );
    let ev = event(root, "event3.json", 7, &o.base, &head3, false);
    let r = run_action(
        root,
        &Setup {
            ws: &ws,
            event: &ev,
            api: &gh.url,
            inputs: &[],
            server: None,
        },
    );
    assert_eq!(code(&r), 0, "{}", explain(&r));
    let w = gh.writes();
    assert_eq!(w.len(), 3, "{w:?}");
    assert_eq!(w[2].method, "PATCH");
    let after = gh.sticky();
    assert_eq!(after.len(), 1);
    assert_eq!(outputs(&r.outputs)["opened"], "0");
    assert!(!r.stdout.contains("::warning file="), "{}", r.stdout);

    // Another pull request without reachability change and `on-change`:
    // no comment at all.
    let ev = event(root, "event4.json", 8, &o.base, &head3, false);
    let r = run_action(
        root,
        &Setup {
            ws: &ws,
            event: &ev,
            api: &gh.url,
            inputs: &[],
            server: None,
        },
    );
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert_eq!(gh.writes().len(), 3);
    // Every request carried the token, and only as a header.
    assert!(
        gh.requests()
            .iter()
            .all(|r| r.authorization.is_some() && !r.path.contains(TOKEN))
    );
}

#[test]
fn shallow_checkout_fetches_base_and_head() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let o = origin(root, &[]);
    let head = o.push_head(
        &scenario("shop-multi-namespace", "head"),
        &[],
        "open db to cart",
    );
    let ws = o.shallow_checkout(root, "ws");
    assert!(ws.join(".git/shallow").exists());
    let missing = Command::new("git")
        .current_dir(&ws)
        .args(["cat-file", "-e", &format!("{head}^{{commit}}")])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(
        !missing.success(),
        "the head must be missing before the run"
    );
    let gh = FakeGitHub::start();
    let ev = event(root, "event.json", 7, &o.base, &head, false);
    let r = run_action(
        root,
        &Setup {
            ws: &ws,
            event: &ev,
            api: &gh.url,
            inputs: &[("comment", "never")],
            server: None,
        },
    );
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert!(r.stderr.contains("git fetch --no-tags"), "{}", r.stderr);
    assert!(!r.stderr.contains(TOKEN));
    assert_eq!(outputs(&r.outputs)["opened"], "2");
    assert!(gh.requests().is_empty(), "comment: never calls nothing");
}

#[test]
fn read_only_token_writes_nothing_but_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let o = origin(root, &[]);
    let head = o.push_head(
        &scenario("shop-multi-namespace", "head"),
        &[],
        "open db to cart",
    );
    let ws = o.full_checkout(root, "ws");

    // From a fork: the token is known to be read-only; no call at all.
    let gh = FakeGitHub::start();
    let ev = event(root, "fork.json", 9, &o.base, &head, true);
    let r = run_action(
        root,
        &Setup {
            ws: &ws,
            event: &ev,
            api: &gh.url,
            inputs: &[("comment", "always")],
            server: None,
        },
    );
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert!(gh.writes().is_empty());
    assert!(r.stdout.contains("fork"), "{}", r.stdout);
    assert!(r.summary.contains("<!-- reachdiff -->"));
    assert!(r.stdout.contains("::warning file=db.yaml,line=98"));

    // Same repository, but the job lacks `pull-requests: write`: GitHub
    // answers 403 once; the run says so and still succeeds.
    let gh = FakeGitHub::start();
    gh.state.lock().unwrap().read_only = true;
    let ev = event(root, "same.json", 7, &o.base, &head, false);
    let r = run_action(
        root,
        &Setup {
            ws: &ws,
            event: &ev,
            api: &gh.url,
            inputs: &[],
            server: None,
        },
    );
    assert_eq!(code(&r), 0, "{}", explain(&r));
    let w = gh.writes();
    assert_eq!(w.len(), 1, "one refused attempt, not retried: {w:?}");
    assert!(gh.sticky().is_empty());
    assert!(
        r.stdout.contains("Resource not accessible by integration"),
        "{}",
        r.stdout
    );
    assert!(r.summary.contains("<!-- reachdiff -->"));
    assert_eq!(outputs(&r.outputs)["opened"], "2");
}

#[test]
fn server_error_and_rate_limit_are_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let o = origin(root, &[]);
    let head = o.push_head(
        &scenario("shop-multi-namespace", "head"),
        &[],
        "open db to cart",
    );
    let ws = o.full_checkout(root, "ws");
    let gh = FakeGitHub::start();
    gh.state
        .lock()
        .unwrap()
        .script
        .extend([Scripted::ServerError, Scripted::RateLimited]);
    let ev = event(root, "event.json", 7, &o.base, &head, false);
    let started = Instant::now();
    let r = run_action(
        root,
        &Setup {
            ws: &ws,
            event: &ev,
            api: &gh.url,
            inputs: &[],
            server: None,
        },
    );
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert!(r.stderr.contains("rate limited"), "{}", r.stderr);
    assert_eq!(gh.sticky().len(), 1);
    assert_eq!(gh.writes().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn tripped_gate_exits_1_with_errors_and_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // The rules file lives in the base commit; the head cannot change it.
    let rules = "gates:\n- name: no-new-paths-to-db\n  forbid: opened\n  to: {namespaces: [db]}\n";
    let o = origin(root, &[("gates.yaml", rules)]);
    let head = o.push_head(
        &scenario("shop-multi-namespace", "head"),
        &[("gates.yaml", "gates: []\n")],
        "open db to cart, and try to drop the gate",
    );
    let ws = o.full_checkout(root, "ws");
    let gh = FakeGitHub::start();
    let ev = event(root, "event.json", 7, &o.base, &head, false);
    let r = run_action(
        root,
        &Setup {
            ws: &ws,
            event: &ev,
            api: &gh.url,
            inputs: &[("config", "gates.yaml"), ("fail-on", "closed")],
            server: None,
        },
    );
    assert_eq!(code(&r), 1, "{}", explain(&r));
    assert!(
        r.stdout
            .contains("::error title=reachdiff gate no-new-paths-to-db tripped::"),
        "{}",
        r.stdout
    );
    let out = outputs(&r.outputs);
    assert_eq!(out["gate"], "failed");
    assert_eq!(out["opened"], "2");
    assert_eq!(gh.sticky().len(), 1);
}

#[test]
fn bad_input_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let o = origin(root, &[]);
    let head = o.push_head(&scenario("shop-multi-namespace", "head"), &[], "x");
    let ws = o.full_checkout(root, "ws");
    let ev = event(root, "event.json", 7, &o.base, &head, false);
    let r = run_action(
        root,
        &Setup {
            ws: &ws,
            event: &ev,
            api: "http://127.0.0.1:9",
            inputs: &[("fail-on", "everything")],
            server: None,
        },
    );
    assert_eq!(code(&r), 2, "{}", explain(&r));
    assert!(r.stderr.contains("fail-on"), "{}", r.stderr);
}

#[test]
fn action_yml_is_a_valid_docker_action() {
    let text = std::fs::read_to_string(support::repo_root().join("action.yml")).unwrap();
    let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    for k in [
        "name",
        "description",
        "runs",
        "inputs",
        "outputs",
        "branding",
    ] {
        assert!(v.get(k).is_some(), "action.yml lacks {k}");
    }
    let known = [
        "name",
        "author",
        "description",
        "inputs",
        "outputs",
        "runs",
        "branding",
    ];
    for k in v.as_mapping().unwrap().keys() {
        assert!(known.contains(&k.as_str().unwrap()), "unknown key {k:?}");
    }
    let runs = &v["runs"];
    assert_eq!(runs["using"].as_str(), Some("docker"));
    assert_eq!(runs["image"].as_str(), Some("Dockerfile"));
    let env = runs["env"].as_mapping().cloned().unwrap_or_default();
    for (name, input) in v["inputs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        assert!(
            input["description"].as_str().is_some_and(|d| d.len() > 10),
            "input {name} undocumented"
        );
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "input {name}"
        );
        // Read by the program through INPUT_<NAME>.
        let src = std::fs::read_to_string(support::repo_root().join("src/cli/action.rs")).unwrap();
        assert!(
            src.contains(&format!("input(\"{name}\")")),
            "input {name} is never read"
        );
    }
    for (name, o) in v["outputs"].as_mapping().unwrap() {
        assert!(
            o["description"].as_str().is_some(),
            "output {name:?} undocumented"
        );
    }
    // No expression is ever interpolated into a command line.
    fn walk(v: &serde_yaml::Value, key: &str) {
        match v {
            serde_yaml::Value::Mapping(m) => {
                for (k, x) in m {
                    walk(x, k.as_str().unwrap_or(""));
                }
            }
            serde_yaml::Value::Sequence(s) => s.iter().for_each(|x| walk(x, key)),
            serde_yaml::Value::String(s)
                if key == "run" || key == "args" || key == "entrypoint" =>
            {
                assert!(!s.contains("${{"), "{key}: {s}");
            }
            _ => {}
        }
    }
    walk(&v, "");
    assert!(env.is_empty() || env.values().all(|x| x.is_string()));
    // The Dockerfile builds what the lock file says and drops root.
    let docker = std::fs::read_to_string(support::repo_root().join("Dockerfile")).unwrap();
    assert!(docker.contains("cargo build --release --locked"));
    assert!(docker.contains("\nUSER "));
    assert!(docker.contains("ENTRYPOINT [\"/usr/local/bin/reachdiff\", \"action\"]"));
}

#[test]
fn shallow_checkout_fetches_over_http_with_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let o = origin(root, &[]);
    let head = o.push_head(
        &scenario("shop-multi-namespace", "head"),
        &[],
        "open db to cart",
    );
    let srv = root.join("srv");
    std::fs::create_dir_all(&srv).unwrap();
    git(
        root,
        &[
            "clone",
            "-q",
            "--bare",
            &o.url(),
            srv.join("gitops.git").to_str().unwrap(),
        ],
    );
    git(
        &srv.join("gitops.git"),
        &["config", "uploadpack.allowAnySHA1InWant", "true"],
    );
    let ws = o.shallow_checkout(root, "ws");
    let gh = FakeGitHub::start();
    gh.state.lock().unwrap().git_root = Some(srv.clone());
    let remote = format!("{}/acme/gitops.git", gh.url);
    git(&ws, &["remote", "set-url", "origin", &remote]);
    let ev = event(root, "event.json", 7, &o.base, &head, false);
    let r = run_action(
        root,
        &Setup {
            ws: &ws,
            event: &ev,
            api: &gh.url,
            inputs: &[],
            server: Some(&gh.url),
        },
    );
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert_eq!(outputs(&r.outputs)["opened"], "2");
    let git_reqs = gh.state.lock().unwrap().git_requests.clone();
    assert!(!git_reqs.is_empty());
    assert!(
        git_reqs.iter().all(|r| r.authorization.is_some()),
        "{git_reqs:?}"
    );
    // Nothing of the token was written to the repository's configuration.
    let cfg = std::fs::read_to_string(ws.join(".git/config")).unwrap();
    assert!(!cfg.contains("extraheader") && !cfg.contains(TOKEN));
    assert_eq!(gh.sticky().len(), 1);

    // Without a token the fetch fails cleanly: exit 2, no prompt, no comment.
    let ws2 = o.shallow_checkout(root, "ws2");
    git(&ws2, &["remote", "set-url", "origin", &remote]);
    let r = run_action(
        root,
        &Setup {
            ws: &ws2,
            event: &ev,
            api: &gh.url,
            inputs: &[("token", " ")],
            server: Some(&gh.url),
        },
    );
    assert_eq!(code(&r), 2, "{}", explain(&r));
    assert!(
        r.stderr
            .contains("git fetch of the pull request's commits failed"),
        "{}",
        r.stderr
    );
}
