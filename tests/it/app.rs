//! `reachdiff serve` end to end: the built binary as a process, signed
//! deliveries over loopback HTTP, a fake GitHub API that verifies the App's
//! JWTs and installation tokens (tests/it/app_fake.rs), and a local git
//! origin the App fetches from over file://.

use crate::app_fake::{self, FakeApp, Scripted};
use crate::support::{self, commit, git, scenario};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const APP_ID: u64 = 4242;
pub(crate) const REPO: &str = "acme/gitops";
pub(crate) const SECRET: &str = "It's a Secret to Everybody";
/// The path of `POST` check-runs (listing them goes through `/commits/`).
pub(crate) const CREATE_CHECK_RUN: &str = "/repos/acme/gitops/check-runs";

pub(crate) fn public_key() -> String {
    std::fs::read_to_string(support::repo_root().join("fixtures/app/test-app-key.pub.pem")).unwrap()
}

/// An origin repository: `main` at the base of a fixture scenario.
pub(crate) struct Origin {
    pub(crate) dir: PathBuf,
    pub(crate) base: String,
}

impl Origin {
    pub(crate) fn new(root: &Path, extra: &[(&str, &str)]) -> Origin {
        let dir = root.join("origin");
        std::fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        git(&dir, &["config", "uploadpack.allowAnySHA1InWant", "true"]);
        let base = commit(
            &dir,
            &scenario("shop-multi-namespace", "base"),
            extra,
            "base",
        );
        Origin { dir, base }
    }

    /// A head commit on branch `pr-N` on top of the base.
    pub(crate) fn head(&self, branch: &str, tree: &Path, extra: &[(&str, &str)]) -> String {
        git(&self.dir, &["checkout", "-q", "-B", branch, &self.base]);
        let h = commit(&self.dir, tree, extra, branch);
        git(&self.dir, &["checkout", "-q", "main"]);
        h
    }

    pub(crate) fn url(&self) -> String {
        format!("file://{}", self.dir.display())
    }
}

/// A running `reachdiff serve`; killed when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) url: String,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    pub(crate) fn start(root: &Path, api: &str, extra: &[&str]) -> Server {
        Server::start_wrapped(root, api, extra, &[])
    }

    /// Started through `wrap` (`prlimit --as=…`, say): `wrap` then the
    /// binary and its arguments.
    pub(crate) fn start_wrapped(root: &Path, api: &str, extra: &[&str], wrap: &[String]) -> Server {
        let home = root.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let secret = root.join("webhook-secret");
        std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
        let mut c = match wrap.split_first() {
            None => support::bin(),
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(env!("CARGO_BIN_EXE_reachdiff"));
                c
            }
        };
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("GIT_CONFIG_GLOBAL", support::empty_git_config())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("REACHDIFF_LOG", "info")
            .args(["serve", "--listen", "127.0.0.1:0", "--app-id"])
            .arg(APP_ID.to_string())
            .arg("--private-key")
            .arg(support::repo_root().join("fixtures/app/test-app-key.pkcs1.pem"))
            .arg("--webhook-secret")
            .arg(&secret)
            .args(["--github-api-url", api])
            .arg("--cache-dir")
            .arg(root.join("cache"))
            .args(["--github-timeout", "10", "--shutdown-timeout", "20"])
            .args(extra.iter().filter(|a| **a != "--no-local"))
            .args(if extra.contains(&"--no-local") {
                &[][..]
            } else {
                &["--allow-local-clone-urls"][..]
            })
            .args(if extra.contains(&"--workers") {
                &[][..]
            } else {
                &["--workers", "2"][..]
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("start reachdiff serve");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        {
            let stderr = child.stderr.take().unwrap();
            let log = log.clone();
            std::thread::spawn(move || {
                for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut g = log.lock().unwrap();
                    g.push_str(&l);
                    g.push('\n');
                }
            });
        }
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(l)) = lines.next() {
                let _ = tx.send(l);
            }
            for _ in lines {}
        });
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("serve did not start: {}", log.lock().unwrap()));
        let url = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        assert!(!log.lock().unwrap().contains(SECRET), "secret logged");
        Server { child, url, log }
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits for the start-up reconciliation to finish, so pull requests
    /// added to the fake afterwards are seen only through webhooks.
    pub(crate) fn settled(self) -> Server {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.log().contains("reconciled") {
            assert!(
                Instant::now() < deadline,
                "no reconciliation: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self
    }

    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        // The shell's builtin `kill`: no procps needed.
        let _ = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", self.child.id())])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "serve did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request; (status, body).
pub(crate) fn http(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // A server refusing a body may answer and close before reading it all.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let out = String::from_utf8_lossy(&raw).into_owned();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or_default();
    (status, body.to_string())
}

/// Delivers `payload` as event `event` with id `delivery`, signed.
pub(crate) fn deliver(
    server: &Server,
    event: &str,
    delivery: &str,
    payload: &serde_json::Value,
) -> (u16, String) {
    let body = payload.to_string();
    let sig = app_fake::hmac_sha256_hex(SECRET.as_bytes(), body.as_bytes());
    http(
        &server.url,
        "POST",
        "/webhook",
        &[
            ("content-type", "application/json"),
            ("x-github-event", event),
            ("x-github-delivery", delivery),
            ("x-hub-signature-256", &format!("sha256={sig}")),
            ("user-agent", "GitHub-Hookshot/abc123"),
        ],
        body.as_bytes(),
    )
}

pub(crate) fn pr_payload(o: &Origin, action: &str, number: u64, head: &str) -> serde_json::Value {
    app_fake::pull_request_payload(action, REPO, &o.url(), number, &o.base, head, 1)
}

/// Waits until a check run of `head` is completed; returns it.
pub(crate) fn completed(gh: &FakeApp, head: &str, server: &Server) -> app_fake::CheckRun {
    completed_within(gh, head, server, Duration::from_secs(60))
}

/// [`completed`] with a deadline of its own (analyses meant to use their
/// whole budget).
pub(crate) fn completed_within(
    gh: &FakeApp,
    head: &str,
    server: &Server,
    within: Duration,
) -> app_fake::CheckRun {
    let ok = gh.wait_until(within, |s| {
        s.check_runs
            .iter()
            .any(|c| c.head_sha == head && c.status == "completed")
    });
    assert!(
        ok,
        "no completed check run for {head}; log:\n{}",
        server.log()
    );
    gh.check_runs()
        .into_iter()
        .find(|c| c.head_sha == head && c.status == "completed")
        .unwrap()
}

/// The metrics text once it contains `needle` (jobs are counted when they
/// end, a moment after their check run completes).
pub(crate) fn metrics_with(server: &Server, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, text) = http(&server.url, "GET", "/metrics", &[], b"");
        assert_eq!(status, 200);
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{needle} never appeared:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Delivers a signed `pull_request` event and expects it queued (202).
pub(crate) fn push(
    server: &Server,
    o: &Origin,
    delivery: &str,
    action: &str,
    number: u64,
    head: &str,
) {
    let (status, body) = deliver(
        server,
        "pull_request",
        delivery,
        &pr_payload(o, action, number, head),
    );
    assert_eq!(status, 202, "{body}");
}

/// Waits until `n` check runs are completed.
pub(crate) fn wait_completed(gh: &FakeApp, n: usize) {
    let ok = gh.wait_until(Duration::from_secs(60), |s| {
        s.check_runs
            .iter()
            .filter(|c| c.status == "completed")
            .count()
            == n
    });
    assert!(
        ok,
        "{n} completed check runs expected: {:?}",
        gh.check_runs()
    );
}

pub(crate) fn sticky(gh: &FakeApp) -> Vec<app_fake::Comment> {
    gh.comments()
        .into_iter()
        .filter(|c| c.body.starts_with("<!-- reachdiff -->"))
        .collect()
}

pub(crate) fn setup(extra_base: &[(&str, &str)]) -> (tempfile::TempDir, Origin, FakeApp) {
    let tmp = tempfile::tempdir().unwrap();
    let o = Origin::new(tmp.path(), extra_base);
    let gh = FakeApp::start(APP_ID, &public_key());
    gh.add_repo(REPO, &o.url());
    (tmp, o, gh)
}

#[test]
fn a_signed_pull_request_gets_a_check_run_and_one_comment() {
    let (tmp, o, gh) = setup(&[]);
    let head = o.head("pr-7", &scenario("shop-multi-namespace", "head"), &[]);
    let server = Server::start(tmp.path(), &gh.url, &[]).settled();
    gh.add_pull(REPO, 7, &o.base, &head, Vec::new());
    let started = Instant::now();
    let (status, _) = deliver(
        &server,
        "pull_request",
        "d-1",
        &pr_payload(&o, "opened", 7, &head),
    );
    assert_eq!(status, 202);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "acknowledged late"
    );
    let run = completed(&gh, &head, &server);
    assert_eq!(run.name, "reachdiff");
    assert_eq!(
        run.conclusion.as_deref(),
        Some("success"),
        "{}",
        server.log()
    );
    let title = run.output["title"].as_str().unwrap_or_default();
    assert!(title.contains("opened"), "{title}");
    let summary = run.output["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("Opened"), "{summary}");
    assert!(
        run.output["text"]
            .as_str()
            .unwrap_or_default()
            .contains("cart")
    );
    assert!(!run.annotations.is_empty(), "no annotations");
    for a in &run.annotations {
        assert!(a["path"].as_str().unwrap().ends_with(".yaml"), "{a}");
        assert!(a["start_line"].as_u64().unwrap() > 0);
    }

    // The token was minted with a verified JWT and then used.
    let reqs = gh.requests();
    let mint = reqs
        .iter()
        .position(|r| r.method == "POST" && r.path.contains("/access_tokens"))
        .expect("no token minted");
    assert_eq!(reqs[mint].authorization_kind, "jwt");
    let create = reqs
        .iter()
        .position(|r| r.method == "POST" && r.path.ends_with("/check-runs"))
        .expect("no check run created");
    assert!(create > mint);
    assert_eq!(reqs[create].authorization_kind, "token");
    let first: serde_json::Value = serde_json::from_str(&reqs[create].body).unwrap();
    assert_eq!(first["status"], "in_progress");
    assert!(
        reqs.iter().all(|r| r.status != 401),
        "a request was refused"
    );

    // One comment, with the marker (written after the check run).
    assert!(gh.wait_until(Duration::from_secs(30), |s| !s.comments.is_empty()));
    let comments = sticky(&gh);
    assert_eq!(comments.len(), 1, "{}", server.log());
    assert!(comments[0].body.contains("Opened"));

    // The same head delivered again (a new delivery id): it has its
    // completed check run, so nothing more is created or written.
    metrics_with(&server, "reachdiff_jobs_total{outcome=\"success\"} 1");
    let (status, _) = deliver(
        &server,
        "pull_request",
        "d-2",
        &pr_payload(&o, "synchronize", 7, &head),
    );
    assert_eq!(status, 202);
    metrics_with(
        &server,
        "reachdiff_jobs_total{outcome=\"already-reported\"} 1",
    );
    assert_eq!(gh.check_runs().len(), 1, "one check run per head");
    assert_eq!(sticky(&gh).len(), 1);

    // "Re-run" on the check: a new check run, as GitHub expects, and the
    // same comment.
    let rerun = app_fake::check_run_rerequested_payload(
        REPO,
        &o.url(),
        &head,
        &[(7, o.base.as_str())],
        1,
        APP_ID,
    );
    assert_eq!(deliver(&server, "check_run", "d-3", &rerun).0, 202);
    wait_completed(&gh, 2);
    assert_eq!(sticky(&gh).len(), 1);

    // Metrics counted the deliveries and jobs (a job is counted when it
    // has also written its comment, just after the check run).
    let text = metrics_with(&server, "reachdiff_jobs_total{outcome=\"success\"} 2");
    assert!(
        text.contains(
            "reachdiff_webhook_deliveries_total{event=\"pull_request\",result=\"queued\"} 2"
        ),
        "{text}"
    );
    assert!(
        text.contains("reachdiff_jobs_total{outcome=\"success\"} 2"),
        "{text}"
    );
    assert!(text.contains("reachdiff_job_seconds_count 2"), "{text}");
    assert_eq!(http(&server.url, "GET", "/healthz", &[], b"").0, 200);
    assert_eq!(http(&server.url, "GET", "/readyz", &[], b"").0, 200);
}

#[test]
fn bad_signatures_are_refused_before_anything_happens() {
    let (tmp, o, gh) = setup(&[]);
    let head = o.head("pr-7", &scenario("shop-multi-namespace", "head"), &[]);
    // The start-up reconciliation's calls must be over before counting:
    // a fixed sleep was too short on a loaded machine.
    let server = Server::start(tmp.path(), &gh.url, &[]).settled();
    let before = gh.requests().len();
    let body = pr_payload(&o, "opened", 7, &head).to_string();
    let post =
        |headers: &[(&str, &str)]| http(&server.url, "POST", "/webhook", headers, body.as_bytes());
    let good = format!(
        "sha256={}",
        app_fake::hmac_sha256_hex(SECRET.as_bytes(), body.as_bytes())
    );
    let wrong = format!(
        "sha256={}",
        app_fake::hmac_sha256_hex(b"not the secret", body.as_bytes())
    );
    let base = [
        ("x-github-event", "pull_request"),
        ("x-github-delivery", "d-x"),
    ];
    assert_eq!(post(&base).0, 401, "missing signature");
    let mut h = base.to_vec();
    h.push(("x-hub-signature-256", &wrong));
    assert_eq!(post(&h).0, 401, "wrong signature");
    let mut h = base.to_vec();
    h.push(("x-hub-signature-256", "sha256=zz"));
    assert_eq!(post(&h).0, 401, "malformed signature");
    // A valid signature over a different body.
    let mut h = base.to_vec();
    h.push(("x-hub-signature-256", &good));
    assert_eq!(
        http(
            &server.url,
            "POST",
            "/webhook",
            &h,
            b"{\"action\":\"opened\"}"
        )
        .0,
        401
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        gh.requests().len(),
        before,
        "a refused delivery caused an API call"
    );
    assert!(gh.check_runs().is_empty());

    // Signed but not for us: acknowledged and ignored.
    let (status, _) = deliver(
        &server,
        "push",
        "d-push",
        &serde_json::json!({"ref": "refs/heads/main"}),
    );
    assert_eq!(status, 202);
    let (status, body) = deliver(
        &server,
        "ping",
        "d-ping",
        &serde_json::json!({"zen": "Keep it logically awesome."}),
    );
    assert_eq!((status, body.contains("pong")), (200, true));
    let (status, _) = deliver(
        &server,
        "pull_request",
        "d-bad",
        &serde_json::json!({"action": "opened"}),
    );
    assert_eq!(status, 400, "malformed payload");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(gh.requests().len(), before);
    // Too large a body: refused without reading it whole.
    let big = vec![b' '; 26 << 20];
    let (status, _) = http(&server.url, "POST", "/webhook", &base, &big);
    assert_eq!(status, 413);
}

#[test]
fn redeliveries_are_ignored_and_only_the_newest_head_is_reported() {
    let (tmp, o, gh) = setup(&[]);
    let head1 = o.head("pr-7", &scenario("shop-multi-namespace", "head"), &[]);
    // The second push undoes the change: no reachability change.
    let head2 = {
        git(&o.dir, &["checkout", "-q", "pr-7"]);
        let h = commit(
            &o.dir,
            &scenario("shop-multi-namespace", "base"),
            &[],
            "revert",
        );
        git(&o.dir, &["checkout", "-q", "main"]);
        h
    };
    // Creating the first job's check run takes GitHub a while: both
    // pushes arrive meanwhile.
    gh.script(
        Scripted::Delay(Duration::from_millis(1500)),
        Some(CREATE_CHECK_RUN),
    );
    let server = Server::start(tmp.path(), &gh.url, &["--workers", "1"]).settled();
    gh.add_pull(REPO, 7, &o.base, &head2, Vec::new());
    let p1 = pr_payload(&o, "synchronize", 7, &head1);
    assert_eq!(deliver(&server, "pull_request", "d-1", &p1).0, 202);
    let (status, body) = deliver(&server, "pull_request", "d-1", &p1);
    assert_eq!(status, 200);
    assert!(body.contains("duplicate"), "{body}");
    push(&server, &o, "d-2", "synchronize", 7, &head2);
    let run = completed(&gh, &head2, &server);
    assert_eq!(run.conclusion.as_deref(), Some("success"));
    assert_eq!(run.output["title"], "No change in reachability");
    // Give a straggling first job time to (wrongly) post.
    std::thread::sleep(Duration::from_millis(1500));
    for c in gh.check_runs().iter().filter(|c| c.head_sha == head1) {
        assert!(
            c.conclusion.as_deref() == Some("cancelled"),
            "the superseded head got a result: {c:?}"
        );
    }
    // No comment was written for the superseded head (and none is needed
    // for a change that opens nothing).
    assert!(sticky(&gh).is_empty(), "{:?}", gh.comments());
    let reqs = gh.requests();
    assert!(
        !reqs
            .iter()
            .any(|r| r.method == "POST" && r.path.contains("/issues/")),
        "a comment was posted"
    );
    assert!(server.log().contains("redelivery ignored"));
}

#[test]
fn server_errors_and_rate_limits_are_retried() {
    let (tmp, o, gh) = setup(&[]);
    let head = o.head("pr-7", &scenario("shop-multi-namespace", "head"), &[]);
    gh.script(Scripted::ServerError, Some(CREATE_CHECK_RUN));
    gh.script(Scripted::RateLimited, Some("/issues/7/comments"));
    gh.script(Scripted::SecondaryRateLimit, Some("/issues/7/comments"));
    let server = Server::start(tmp.path(), &gh.url, &[]).settled();
    gh.add_pull(REPO, 7, &o.base, &head, Vec::new());
    push(&server, &o, "d-1", "opened", 7, &head);
    let run = completed(&gh, &head, &server);
    assert_eq!(run.conclusion.as_deref(), Some("success"));
    assert!(gh.wait_until(Duration::from_secs(30), |s| !s.comments.is_empty()));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sticky(&gh).len(), 1);
    assert_eq!(gh.check_runs().len(), 1, "one check run despite the retry");
    let statuses: Vec<u16> = gh.requests().iter().map(|r| r.status).collect();
    assert!(
        statuses.contains(&500) && statuses.contains(&403),
        "{statuses:?}"
    );
    let (_, m) = http(&server.url, "GET", "/metrics", &[], b"");
    assert!(m.contains("status=\"500\"} 1"), "{m}");
}

const GATE: &str = "gates:\n- name: no-new-paths\n  forbid: opened\n";

#[test]
fn a_tripped_gate_fails_the_check_or_is_neutral_when_advisory() {
    for (config, conclusion) in [
        (GATE.to_string(), "failure"),
        (format!("{GATE}report:\n  advisory: true\n"), "neutral"),
    ] {
        let (tmp, o, gh) = setup(&[(".reachdiff.yaml", &config)]);
        let head = o.head(
            "pr-7",
            &scenario("shop-multi-namespace", "head"),
            &[(".reachdiff.yaml", &config)],
        );
        let server = Server::start(tmp.path(), &gh.url, &[]).settled();
        gh.add_pull(REPO, 7, &o.base, &head, Vec::new());
        push(&server, &o, "d-1", "opened", 7, &head);
        let run = completed(&gh, &head, &server);
        assert_eq!(
            run.conclusion.as_deref(),
            Some(conclusion),
            "{}",
            server.log()
        );
        assert!(
            run.output["title"]
                .as_str()
                .unwrap()
                .starts_with("Gate tripped")
        );
        assert!(
            run.output["summary"]
                .as_str()
                .unwrap()
                .contains("no-new-paths")
        );
        assert!(gh.wait_until(Duration::from_secs(30), |s| !s.comments.is_empty()));
    }
}

#[test]
fn a_manifest_error_fails_the_check_with_the_error_shown() {
    let (tmp, o, gh) = setup(&[]);
    let head = o.head(
        "pr-7",
        &scenario("shop-multi-namespace", "head"),
        &[("broken.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: shop}\nspec:\n  podSelector: {matchLabels: [oops]}\n")],
    );
    let server = Server::start(tmp.path(), &gh.url, &[]);
    push(&server, &o, "d-1", "opened", 7, &head);
    let run = completed(&gh, &head, &server);
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    assert_eq!(run.output["title"], "Manifests could not be analysed");
    let summary = run.output["summary"].as_str().unwrap();
    assert!(summary.contains("broken.yaml:5:"), "{summary}");
    assert!(sticky(&gh).is_empty());
    // The server lives on.
    assert_eq!(http(&server.url, "GET", "/healthz", &[], b"").0, 200);
    metrics_with(&server, "reachdiff_jobs_total{outcome=\"input-error\"} 1");
}

#[test]
fn a_job_cut_short_by_a_crash_is_finished_by_reconciliation() {
    let (tmp, o, gh) = setup(&[]);
    let head = o.head("pr-7", &scenario("shop-multi-namespace", "head"), &[]);
    gh.add_pull(REPO, 7, &o.base, &head, Vec::new());
    // The first server hangs on its first check-run call and is killed.
    gh.script(Scripted::Hang, Some(CREATE_CHECK_RUN));
    {
        let mut first = Server::start(tmp.path(), &gh.url, &["--reconcile-interval", "3600"]);
        assert!(
            gh.wait_until(Duration::from_secs(30), |s| s
                .requests
                .iter()
                .any(|r| r.path.ends_with("/check-runs"))),
            "{}",
            first.log()
        );
        first.child.kill().unwrap();
        first.child.wait().unwrap();
    }
    assert!(gh.check_runs().iter().all(|c| c.status != "completed"));
    // A new process: its start-up reconciliation finds the pull request
    // without a completed check run and analyses it.
    let second = Server::start(tmp.path(), &gh.url, &[]);
    let run = completed(&gh, &head, &second);
    assert_eq!(run.conclusion.as_deref(), Some("success"));
    assert!(
        second.log().contains("reconciliation queued"),
        "{}",
        second.log()
    );
    assert!(gh.wait_until(Duration::from_secs(30), |s| !s.comments.is_empty()));
    assert_eq!(sticky(&gh).len(), 1);
}

#[test]
fn sigterm_drains_the_job_in_flight() {
    let (tmp, o, gh) = setup(&[]);
    let head = o.head("pr-7", &scenario("shop-multi-namespace", "head"), &[]);
    gh.script(
        Scripted::Delay(Duration::from_millis(1500)),
        Some(CREATE_CHECK_RUN),
    );
    let mut server = Server::start(tmp.path(), &gh.url, &[]);
    push(&server, &o, "d-1", "opened", 7, &head);
    assert!(gh.wait_until(Duration::from_secs(30), |s| {
        s.requests.iter().any(|r| r.path.ends_with("/check-runs"))
    }));
    let status = server.terminate();
    assert!(status.success(), "{}", server.log());
    let runs = gh.check_runs();
    assert_eq!(runs.len(), 1, "{}", server.log());
    assert_eq!(runs[0].status, "completed", "{}", server.log());
    assert!(server.log().contains("draining"), "{}", server.log());
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("s");
    std::fs::write(&secret, "x").unwrap();
    let key = support::repo_root().join("fixtures/app/test-app-key.pkcs8.pem");
    let run = |args: &[&str]| {
        let out = support::bin()
            .env_remove("REACHDIFF_WEBHOOK_SECRET")
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .arg("--cache-dir")
            .arg(tmp.path().join("cache"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&[
        "--app-id",
        "1",
        "--private-key",
        secret.to_str().unwrap(),
        "--webhook-secret",
        secret.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--private-key") && err.contains("not an RSA private key"),
        "{err}"
    );
    let (code, err) = run(&["--app-id", "1", "--private-key", key.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("webhook secret is required"), "{err}");
    let (code, err) = run(&["--app-id", "x", "--private-key", key.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--app-id"), "{err}");
    let (code, err) = run(&[
        "--app-id",
        "1",
        "--private-key",
        key.to_str().unwrap(),
        "--webhook-secret",
        secret.to_str().unwrap(),
        "--github-api-url",
        "ftp://x",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("not an http(s) URL"), "{err}");
}

/// 60 new policies, each opening one port to cart from an external block:
/// 60 responsible lines, so the annotations go in two requests (GitHub
/// takes 50 per request); with `review-comments`, a review is posted too.
#[test]
fn many_lines_are_annotated_in_batches_and_reviewed() {
    let config = "report:\n  review-comments: true\n";
    let (tmp, o, gh) = setup(&[(".reachdiff.yaml", config)]);
    let policies: Vec<(String, String)> = (0..60)
        .map(|i| {
            (
                format!("open-{i:02}.yaml"),
                format!(
                    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: open-{i:02}\n  namespace: cart\nspec:\n  podSelector:\n    matchLabels:\n      app: cart\n  ingress:\n    - from:\n        - ipBlock:\n            cidr: 203.0.113.0/24\n      ports:\n        - port: {}\n",
                    9000 + i
                ),
            )
        })
        .collect();
    let mut extra: Vec<(&str, &str)> = policies
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    extra.push((".reachdiff.yaml", config));
    let head = o.head("pr-7", &scenario("shop-multi-namespace", "base"), &extra);
    let server = Server::start(tmp.path(), &gh.url, &[]).settled();
    gh.add_pull(
        REPO,
        7,
        &o.base,
        &head,
        crate::action::pr_files(&o.dir, &o.base, &head, 3),
    );
    push(&server, &o, "d-1", "opened", 7, &head);
    let run = completed(&gh, &head, &server);
    assert_eq!(
        run.conclusion.as_deref(),
        Some("success"),
        "{}",
        server.log()
    );
    assert_eq!(run.annotations.len(), 60, "{}", server.log());
    let files: std::collections::BTreeSet<&str> = run
        .annotations
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 60);
    let patches = gh
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path.contains("/check-runs/"))
        .count();
    assert_eq!(patches, 2, "50 + 10 annotations");
    // The review: at most 20 inline comments on the new lines, RIGHT side.
    assert!(
        gh.wait_until(Duration::from_secs(30), |s| !s.review_comments.is_empty()),
        "{}",
        server.log()
    );
    let rc = gh.review_comments();
    assert_eq!(rc.len(), 20);
    assert!(
        rc.iter()
            .all(|c| c.side == "RIGHT" && c.path.starts_with("open-"))
    );
}

/// An installation token GitHub no longer accepts (revoked, or expired
/// early) is replaced after the first 401 and the job goes on.
#[test]
fn a_refused_token_is_minted_again() {
    let (tmp, o, gh) = setup(&[]);
    let head = o.head("pr-7", &scenario("shop-multi-namespace", "head"), &[]);
    let server = Server::start(tmp.path(), &gh.url, &[]).settled();
    gh.add_pull(REPO, 7, &o.base, &head, Vec::new());
    let mints = || {
        gh.requests()
            .iter()
            .filter(|r| r.path.contains("/access_tokens"))
            .count()
    };
    let before = mints();
    {
        let mut st = gh.lock();
        let issued = st.tokens_issued.clone();
        st.revoked.extend(issued);
    }
    push(&server, &o, "d-1", "opened", 7, &head);
    let run = completed(&gh, &head, &server);
    assert_eq!(
        run.conclusion.as_deref(),
        Some("success"),
        "{}",
        server.log()
    );
    assert!(mints() > before, "no new token was minted");
    assert!(
        gh.requests().iter().any(|r| r.status == 401),
        "the revoked token was never refused: the test proves nothing"
    );
}

/// A full queue refuses with 503 and `Retry-After` (GitHub records the
/// delivery as failed; a redelivery or reconciliation brings it back), and
/// the same delivery id is accepted once there is room. Logs are JSON lines
/// with `--log-format json`.
#[test]
fn a_full_queue_answers_503_and_logs_can_be_json() {
    let (tmp, o, gh) = setup(&[]);
    let head = o.head("pr-7", &scenario("shop-multi-namespace", "head"), &[]);
    // The first job waits on GitHub while the queue fills.
    gh.script(
        Scripted::Delay(Duration::from_millis(1500)),
        Some(CREATE_CHECK_RUN),
    );
    let server = Server::start(
        tmp.path(),
        &gh.url,
        &[
            "--workers",
            "1",
            "--queue-capacity",
            "1",
            "--log-format",
            "json",
        ],
    )
    .settled();
    for n in [1, 2] {
        gh.add_pull(REPO, n, &o.base, &head, Vec::new());
    }
    push(&server, &o, "d-1", "opened", 1, &head);
    assert!(gh.wait_until(Duration::from_secs(30), |s| {
        s.requests.iter().any(|r| r.path.ends_with("/check-runs"))
    }));
    // #1 runs; #2 fills the one place; #3 is refused.
    push(&server, &o, "d-2", "opened", 2, &head);
    let p3 = pr_payload(&o, "opened", 3, &head);
    let (status, body) = deliver(&server, "pull_request", "d-3", &p3);
    assert_eq!((status, body.contains("queue full")), (503, true), "{body}");
    // Once the queue drains, the redelivery (same id) is taken.
    wait_completed(&gh, 2);
    gh.add_pull(REPO, 3, &o.base, &head, Vec::new());
    assert_eq!(deliver(&server, "pull_request", "d-3", &p3).0, 202);
    wait_completed(&gh, 3);
    let (_, m) = http(&server.url, "GET", "/metrics", &[], b"");
    assert!(
        m.contains(
            "reachdiff_webhook_deliveries_total{event=\"pull_request\",result=\"queue-full\"} 1"
        ),
        "{m}"
    );
    let log = server.log();
    assert!(!log.is_empty());
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(
            v.get("level").is_some() && v.get("timestamp").is_some(),
            "{line}"
        );
    }
}

/// A client that never finishes its request headers is disconnected (the
/// server sets a header read timeout of 10 s) and does not stop others.
#[test]
fn a_slow_client_is_cut_off() {
    let (tmp, _o, gh) = setup(&[]);
    let server = Server::start(tmp.path(), &gh.url, &[]);
    let addr = server.url.trim_start_matches("http://").to_string();
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.write_all(b"POST /webhook HTTP/1.1\r\nhost: x\r\n")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // Others are served meanwhile.
    assert_eq!(http(&server.url, "GET", "/healthz", &[], b"").0, 200);
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let n = slow.read(&mut buf).unwrap_or(0);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(25),
        "the slow connection was never closed"
    );
    // Whatever hyper says on the way out (a 408 or nothing), no request
    // was handled.
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(
        !answer.contains("202") && !answer.contains("401"),
        "{answer}"
    );
}

/// A merge queue asks for checks on its group's commit: a required check
/// must report there too (or the queue waits forever). The group gets a
/// check run and no comment.
#[test]
fn a_merge_group_gets_a_check_run_too() {
    let config = "gates:\n- name: no-new-paths\n  forbid: opened\n";
    let (tmp, o, gh) = setup(&[(".reachdiff.yaml", config)]);
    let head = o.head(
        "gh-readonly-queue/main/pr-7",
        &scenario("shop-multi-namespace", "head"),
        &[(".reachdiff.yaml", config)],
    );
    let server = Server::start(tmp.path(), &gh.url, &[]).settled();
    let head_ref = format!("refs/heads/gh-readonly-queue/main/pr-7-{}", o.base);
    let payload = serde_json::json!({
        "action": "checks_requested",
        "merge_group": {
            "head_sha": head, "head_ref": head_ref,
            "base_sha": o.base, "base_ref": "refs/heads/main",
            "head_commit": {"id": head, "tree_id": "0".repeat(40), "message": "Merge pull request #7"}
        },
        "repository": {"id": 1, "name": "gitops", "full_name": REPO, "clone_url": o.url(),
                       "owner": {"login": "acme"}, "default_branch": "main"},
        "installation": {"id": 1},
        "sender": {"login": "github-merge-queue[bot]", "type": "Bot"}
    });
    assert_eq!(deliver(&server, "merge_group", "d-mq", &payload).0, 202);
    let run = completed(&gh, &head, &server);
    // The gate judges the group as it would the pull request.
    assert_eq!(
        run.conclusion.as_deref(),
        Some("failure"),
        "{}",
        server.log()
    );
    assert_eq!(run.external_id.as_deref(), Some(head_ref.as_str()));
    metrics_with(&server, "reachdiff_jobs_total{outcome=\"gate-tripped\"} 1");
    assert!(
        gh.comments().is_empty(),
        "a merge group has no pull request"
    );
    assert!(
        !gh.requests().iter().any(|r| r.path.contains("/issues/")),
        "a comment was attempted"
    );
}

/// Clone URLs come from payloads: only the App's own GitHub server is
/// fetched from (file:// needs `--allow-local-clone-urls`), so even a
/// signed payload cannot point the App at another server or at a local
/// repository.
#[test]
fn a_clone_url_off_the_github_server_is_refused() {
    let (tmp, o, gh) = setup(&[]);
    let head = o.head("pr-7", &scenario("shop-multi-namespace", "head"), &[]);
    let server = Server::start(tmp.path(), &gh.url, &["--no-local"]).settled();
    gh.add_pull(REPO, 7, &o.base, &head, Vec::new());
    push(&server, &o, "d-1", "opened", 7, &head);
    let run = completed(&gh, &head, &server);
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    let summary = run.output["summary"].as_str().unwrap();
    assert!(
        summary.contains("is not on this App's GitHub server"),
        "{summary}"
    );
    assert!(
        !tmp.path().join("cache/acme/gitops.git").exists(),
        "something was fetched"
    );
}

/// The head's manifest warnings appear in a JSON log as structured fields,
/// never as plain `warning:` lines; a review GitHub refuses (422) is logged
/// as refused; the check run's text is a code block and its Markdown keeps
/// no mention of a name in the repository.
#[test]
fn diagnostics_are_log_fields_and_a_refused_review_is_logged() {
    let (tmp, o, gh) = setup(&[(".reachdiff.yaml", "report: {review-comments: true}\n")]);
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ghost}\nspec: {containers: [{name: c}]}\n";
    let head = o.head(
        "pr-7",
        &scenario("shop-multi-namespace", "head"),
        &[("cc-@admin-#1.yaml", pod)],
    );
    gh.add_pull(
        REPO,
        7,
        &o.base,
        &head,
        crate::action::pr_files(&o.dir, &o.base, &head, 3),
    );
    gh.script(Scripted::Unprocessable, Some("/pulls/7/reviews"));
    let server = Server::start(tmp.path(), &gh.url, &["--log-format", "json"]).settled();
    push(&server, &o, "d-1", "opened", 7, &head);
    let run = completed(&gh, &head, &server);
    assert_eq!(
        run.conclusion.as_deref(),
        Some("success"),
        "{}",
        server.log()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.log().contains("review refused") {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = server.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let diag = lines
        .iter()
        .find(|l| l["fields"]["message"] == "manifest diagnostic")
        .unwrap_or_else(|| panic!("no diagnostic logged:\n{log}"));
    assert_eq!(diag["fields"]["code"], "namespace-assumed", "{diag}");
    assert_eq!(diag["fields"]["file"], "cc-@admin-#1.yaml", "{diag}");
    assert_eq!(diag["level"], "WARN", "{diag}");
    assert!(!log.contains("warning: "), "{log}");
    let refused = lines
        .iter()
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("review refused"))
        })
        .unwrap();
    assert!(
        refused["fields"]["error"].as_str().unwrap().contains("422"),
        "{refused}"
    );
    // GitHub renders a check run's text as Markdown: the text report is a
    // code block; the summary names the file without a live mention.
    let text = run.output["text"].as_str().unwrap();
    assert!(
        text.starts_with("```") && text.contains("cc-@admin-#1.yaml"),
        "{text}"
    );
    // The name is in a code span, where mentions and references are inert.
    let summary = run.output["summary"].as_str().unwrap();
    assert!(summary.contains("`cc-@admin-#1.yaml:1`"), "{summary}");
    assert!(
        !summary
            .replace("`cc-@admin-#1.yaml:1`", "")
            .contains("@admin"),
        "{summary}"
    );
    // The comment too.
    assert!(gh.wait_until(Duration::from_secs(30), |s| !s.comments.is_empty()));
    let body = &sticky(&gh)[0].body;
    assert!(
        !body.replace("`cc-@admin-#1.yaml:1`", "").contains("@admin"),
        "{body}"
    );
}

/// Security issue 12, item 9: a captured delivery for an older head,
/// replayed after a restart (when the server's memory of newer heads is
/// gone), does not roll the pull request back: GitHub's own answer for the
/// pull request's head decides, and nothing is posted for the old head.
#[test]
fn a_replayed_old_head_is_not_posted_even_after_a_restart() {
    let (tmp, o, gh) = setup(&[]);
    let head1 = o.head("pr-7", &scenario("shop-multi-namespace", "head"), &[]);
    let head2 = {
        git(&o.dir, &["checkout", "-q", "pr-7"]);
        let h = commit(
            &o.dir,
            &scenario("shop-multi-namespace", "base"),
            &[],
            "revert",
        );
        git(&o.dir, &["checkout", "-q", "main"]);
        h
    };
    let mut server = Server::start(tmp.path(), &gh.url, &[]).settled();
    gh.add_pull(REPO, 7, &o.base, &head1, Vec::new());
    push(&server, &o, "d-1", "opened", 7, &head1);
    completed(&gh, &head1, &server);
    metrics_with(&server, "reachdiff_jobs_total{outcome=\"success\"} 1");
    gh.set_pull_head(REPO, 7, &head2);
    push(&server, &o, "d-2", "synchronize", 7, &head2);
    completed(&gh, &head2, &server);
    metrics_with(&server, "reachdiff_jobs_total{outcome=\"success\"} 2");
    let newest = sticky(&gh)[0].body.clone();
    assert!(newest.contains("no change in reachability"), "{newest}");
    assert!(server.terminate().success());

    let server = Server::start(tmp.path(), &gh.url, &[]).settled();
    push(&server, &o, "d-1", "opened", 7, &head1);
    metrics_with(&server, "reachdiff_jobs_total{outcome=\"superseded\"} 1");
    assert_eq!(sticky(&gh).len(), 1);
    assert_eq!(sticky(&gh)[0].body, newest, "the comment was rolled back");
    let old_runs = gh
        .check_runs()
        .into_iter()
        .filter(|c| c.head_sha == head1)
        .count();
    assert_eq!(
        old_runs, 1,
        "a check run was created for the old head again"
    );
}

/// Security issue 12, item 9: a check run never shows the server's own
/// paths (the cache directory); the repository is named instead.
#[test]
fn a_check_run_names_no_internal_path() {
    let (tmp, o, gh) = setup(&[]);
    // A head with a history of its own: no merge-base with the base.
    git(&o.dir, &["checkout", "-q", "--orphan", "unrelated"]);
    let head = commit(
        &o.dir,
        &scenario("shop-multi-namespace", "head"),
        &[],
        "unrelated",
    );
    git(&o.dir, &["checkout", "-q", "-f", "main"]);
    gh.add_pull(REPO, 7, &o.base, &head, Vec::new());
    let server = Server::start(tmp.path(), &gh.url, &[]).settled();
    push(&server, &o, "d-1", "opened", 7, &head);
    let run = completed(&gh, &head, &server);
    assert_eq!(
        run.conclusion.as_deref(),
        Some("failure"),
        "{}",
        server.log()
    );
    let summary = run.output["summary"].as_str().unwrap();
    assert!(summary.contains("acme/gitops: no merge base"), "{summary}");
    let root = tmp.path().display().to_string();
    assert!(!summary.contains(&root), "{summary}");
    assert!(!summary.contains("cache"), "{summary}");
}

/// A git server over smart HTTP (`git http-backend`) on its own port of
/// 127.0.0.1, serving `ROOT/acme/NAME.git` to requests that carry an
/// installation token the fake GitHub issued (as GitHub's git server does).
pub(crate) struct GitHttp {
    pub(crate) url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub(crate) served: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl GitHttp {
    pub(crate) fn start(root: PathBuf, gh: &FakeApp) -> GitHttp {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let served = std::sync::Arc::new(AtomicUsize::new(0));
        let state = gh.state.clone();
        let (sp, count) = (stop.clone(), served.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !sp.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let allowed = |token: &str| {
                            state
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .token_valid(token)
                        };
                        if serve_git(s, &root, &allowed).unwrap_or(false) {
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        GitHttp { url, stop, served }
    }
}

impl Drop for GitHttp {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// One request through `git http-backend`; whether it was authorised.
fn serve_git(
    mut s: TcpStream,
    root: &Path,
    allowed: &dyn Fn(&str) -> bool,
) -> std::io::Result<bool> {
    let mut r = BufReader::new(s.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
    let mut headers = std::collections::HashMap::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    // `Authorization: Basic base64(x-access-token:TOKEN)`.
    let token = headers
        .get("authorization")
        .and_then(|a| {
            a.strip_prefix("Basic ")
                .or_else(|| a.strip_prefix("basic "))
        })
        .and_then(decode_base64)
        .and_then(|cred| cred.strip_prefix("x-access-token:").map(str::to_string));
    if !token.as_deref().is_some_and(allowed) {
        let msg = "Authentication required";
        write!(
            s,
            "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Basic realm=\"GitHub\"\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{msg}",
            msg.len()
        )?;
        return Ok(false);
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let h = |k: &str| headers.get(k).cloned().unwrap_or_default();
    let mut child = Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_GLOBAL", support::empty_git_config())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", &method)
        .env("CONTENT_TYPE", h("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", h("content-encoding"))
        .env("GIT_PROTOCOL", h("git-protocol"))
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    child.stdin.take().unwrap().write_all(&body)?;
    let out = child.wait_with_output()?.stdout;
    let (head_len, sep) = out
        .windows(4)
        .position(|x| x == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.windows(2).position(|x| x == b"\n\n").map(|i| (i, 2)))
        .unwrap_or((0, 0));
    let cgi_head = String::from_utf8_lossy(&out[..head_len]).into_owned();
    let payload = &out[head_len + sep..];
    let mut status = "200 OK".to_string();
    let mut extra = String::new();
    for l in cgi_head.lines() {
        match l.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_string(),
            Some(_) => extra.push_str(&format!("{}\r\n", l.trim_end())),
            None => {}
        }
    }
    write!(
        s,
        "HTTP/1.1 {status}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n",
        payload.len()
    )?;
    s.write_all(payload)?;
    Ok(true)
}

fn decode_base64(s: &str) -> Option<String> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim().bytes().filter(|c| *c != b'=') {
        bits = bits << 6 | A.iter().position(|a| *a == c)? as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    String::from_utf8(out).ok()
}

/// Issue "bounded work" item 5: the API and the git server on different
/// ports of 127.0.0.1, told apart by `--github-web-url`. Clone URLs on the
/// git server are fetched (with the installation token, over smart HTTP);
/// without the setting, the web server implied by the API URL is the API's
/// own host and port, so the same clone URL is refused.
#[test]
fn the_git_server_is_where_the_web_url_says() {
    let (tmp, o, gh) = setup(&[]);
    let head = o.head("pr-7", &scenario("shop-multi-namespace", "head"), &[]);
    let served = tmp.path().join("served");
    std::fs::create_dir_all(served.join("acme")).unwrap();
    git(
        &served,
        &[
            "clone",
            "-q",
            "--bare",
            o.dir.to_str().unwrap(),
            "acme/gitops.git",
        ],
    );
    git(
        &served.join("acme/gitops.git"),
        &[
            "fetch",
            "-q",
            o.dir.to_str().unwrap(),
            "pr-7:refs/heads/pr-7",
        ],
    );
    git(
        &served.join("acme/gitops.git"),
        &["config", "uploadpack.allowAnySHA1InWant", "true"],
    );
    let git_server = GitHttp::start(served, &gh);
    let clone_url = format!("{}/acme/gitops.git", git_server.url);
    for r in gh.lock().repos.iter_mut() {
        r.clone_url = clone_url.clone();
    }
    gh.add_pull(REPO, 7, &o.base, &head, Vec::new());
    let payload = app_fake::pull_request_payload("opened", REPO, &clone_url, 7, &o.base, &head, 1);

    // The web server is the git server: fetched and analysed.
    let root = tmp.path().join("one");
    let server = Server::start(
        &root,
        &gh.url,
        &["--no-local", "--github-web-url", &git_server.url],
    )
    .settled();
    assert_eq!(deliver(&server, "pull_request", "d-1", &payload).0, 202);
    let run = completed(&gh, &head, &server);
    assert_eq!(
        run.conclusion.as_deref(),
        Some("success"),
        "{}",
        server.log()
    );
    assert!(
        git_server.served.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "nothing was fetched from the git server"
    );
    drop(server);

    // Without the setting: the API's own server, so the clone URL on the
    // other port is refused and nothing is fetched.
    let fetched = git_server.served.load(std::sync::atomic::Ordering::SeqCst);
    gh.lock().check_runs.clear();
    let root = tmp.path().join("two");
    let server = Server::start(&root, &gh.url, &["--no-local"]).settled();
    assert_eq!(deliver(&server, "pull_request", "d-2", &payload).0, 202);
    let run = completed(&gh, &head, &server);
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    let summary = run.output["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("is not on this App's GitHub server"),
        "{summary}"
    );
    assert_eq!(
        git_server.served.load(std::sync::atomic::Ordering::SeqCst),
        fetched
    );
}
