//! `reachdiff action` end to end: the built binary, a local git origin
//! (file://), realistic `pull_request` payloads and the fake GitHub REST
//! API of the App tests (tests/it/app_fake.rs) on 127.0.0.1, which records
//! every request and answers like GitHub.

use crate::app_fake::{self, FakeApp, Scripted};
use crate::support;
use crate::support::git;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

const REPO: &str = "acme/gitops";
const TOKEN: &str = "ghs_FAKEtoken0123456789abcdefXYZ";

// ---------------------------------------------------------------- git

use support::{commit, scenario};

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

/// The usual pull request: the shop scenario's change ("open db to cart")
/// on top of its base, and a full checkout of the origin in `ws`.
fn shop_pull(root: &Path) -> (Origin, String, PathBuf) {
    let o = origin(root, &[]);
    let head = o.push_head(
        &scenario("shop-multi-namespace", "head"),
        &[],
        "open db to cart",
    );
    let ws = o.full_checkout(root, "ws");
    (o, head, ws)
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

/// A request the fake recorded, as these tests look at it.
#[derive(Clone, Debug)]
struct Request {
    method: String,
    path: String,
    body: String,
    /// How it authenticated (`token` for the workflow's token).
    authorization: String,
}

/// The one fake GitHub (`tests/it/app_fake.rs`) as a workflow's
/// `GITHUB_TOKEN` sees it: [`TOKEN`] accepted, the repository and its pull
/// requests 7 and 8, comments and reviews written as
/// `github-actions[bot]`, two comments per page (so that paging is
/// exercised with a few).
struct FakeGitHub {
    app: FakeApp,
    url: String,
}

impl FakeGitHub {
    fn start() -> FakeGitHub {
        let app = FakeApp::start(1, "");
        app.accept_token(TOKEN);
        app.add_repo(REPO, "https://github.com/acme/gitops.git");
        for n in [7, 8] {
            app.add_pull(REPO, n, &"0".repeat(40), &"0".repeat(40), Vec::new());
        }
        {
            let mut st = app.lock();
            st.comments_page = 2;
            st.writes_as = "github-actions[bot]".into();
        }
        let url = app.url.clone();
        FakeGitHub { app, url }
    }

    /// `n` comments by a person.
    fn seed(&self, n: usize) {
        for i in 0..n {
            self.comment(&format!("Thanks! looks good {i}"), "reviewer");
        }
    }

    /// A comment on pull request 7 by `user`; returns its id.
    fn comment(&self, body: &str, user: &str) -> u64 {
        let mut st = self.app.lock();
        let id = st.next_id;
        st.next_id += 1;
        st.comments.push(app_fake::Comment {
            id,
            repo: REPO.into(),
            number: 7,
            body: body.into(),
            user_login: user.into(),
            user_type: if user.ends_with("[bot]") {
                "Bot"
            } else {
                "User"
            }
            .into(),
        });
        id
    }

    /// (id, body, author) of pull request 7's comments.
    fn comments(&self) -> Vec<(u64, String, String)> {
        self.app
            .comments()
            .into_iter()
            .map(|c| (c.id, c.body, c.user_login))
            .collect()
    }

    /// A review comment on pull request 7 by `user`; returns its id.
    fn review_comment(&self, body: &str, path: &str, line: u64, user: &str) -> u64 {
        let mut st = self.app.lock();
        let id = st.next_id;
        st.next_id += 1;
        st.review_comments.push(app_fake::ReviewComment {
            id,
            repo: REPO.into(),
            number: 7,
            review_id: 0,
            body: body.into(),
            path: path.into(),
            line,
            side: "RIGHT".into(),
            user_login: user.into(),
            user_type: if user.ends_with("[bot]") {
                "Bot"
            } else {
                "User"
            }
            .into(),
        });
        id
    }

    /// (id, body, path, line, side) of the review comments.
    fn review_comments(&self) -> Vec<(u64, String, String, u64, String)> {
        self.app
            .review_comments()
            .into_iter()
            .map(|c| (c.id, c.body, c.path, c.line, c.side))
            .collect()
    }

    /// (id, body) of the reviews.
    fn reviews(&self) -> Vec<(u64, String)> {
        self.app
            .reviews()
            .into_iter()
            .map(|r| (r.id, r.body))
            .collect()
    }

    /// Pull request 7 as GitHub answers it, with its files.
    fn pull(&self, base: &str, head: &str, state: &str, files: Vec<serde_json::Value>) {
        self.app.add_pull(REPO, 7, base, head, files);
        if let Some(p) = self.app.lock().pulls.iter_mut().find(|p| p.number == 7) {
            p.state = state.into();
        }
    }

    /// Pull request 7's files (`GET /pulls/7/files`).
    fn files(&self, files: Vec<serde_json::Value>) {
        if let Some(p) = self.app.lock().pulls.iter_mut().find(|p| p.number == 7) {
            p.files = files;
        }
    }

    fn read_only(&self) {
        self.app.lock().read_only = true;
    }

    fn script(&self, s: Scripted) {
        self.app.script(s, None);
    }

    fn requests(&self) -> Vec<Request> {
        self.app
            .requests()
            .into_iter()
            .map(|r| Request {
                method: r.method,
                path: r.path,
                body: r.body,
                authorization: r.authorization_kind,
            })
            .collect()
    }

    fn writes(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect()
    }

    fn sticky(&self) -> Vec<(u64, String)> {
        self.comments()
            .into_iter()
            .filter(|c| c.1.contains("<!-- reachdiff -->"))
            .map(|c| (c.0, c.1))
            .collect()
    }
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

/// `run_action` with the default server URL.
fn run_pr(root: &Path, ws: &Path, event: &Path, api: &str, inputs: &[(&str, &str)]) -> Run {
    run_action(
        root,
        &Setup {
            ws,
            event,
            api,
            inputs,
            server: None,
        },
    )
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
    let r = run_pr(root, &ws, &ev, &gh.url, &[]);
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
    // 6 rows: checkout → cart and checkout-worker → db, and the same paths
    // from the representatives of pods labelled like them in checkout and
    // in other team=checkout namespaces (the default open world, OW-1).
    assert_eq!(out["opened"], "6");
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
    let r = run_pr(root, &ws, &ev, &gh.url, &[]);
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
    let r = run_pr(root, &ws, &ev, &gh.url, &[]);
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
    let r = run_pr(root, &ws, &ev, &gh.url, &[]);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert_eq!(gh.writes().len(), 3);
    // Every request carried the token, and only as a header.
    assert!(
        gh.requests()
            .iter()
            .all(|r| r.authorization == "token" && !r.path.contains(TOKEN))
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
    let missing = std::process::Command::new("git")
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
    let r = run_pr(root, &ws, &ev, &gh.url, &[("comment", "never")]);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert!(r.stderr.contains("git fetch --no-tags"), "{}", r.stderr);
    assert!(!r.stderr.contains(TOKEN));
    assert_eq!(outputs(&r.outputs)["opened"], "6");
    assert!(gh.requests().is_empty(), "comment: never calls nothing");
}

#[test]
fn read_only_token_writes_nothing_but_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (o, head, ws) = shop_pull(root);

    // From a fork: the token is known to be read-only; no call at all.
    let gh = FakeGitHub::start();
    let ev = event(root, "fork.json", 9, &o.base, &head, true);
    let r = run_pr(root, &ws, &ev, &gh.url, &[("comment", "always")]);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert!(gh.writes().is_empty());
    assert!(r.stdout.contains("fork"), "{}", r.stdout);
    assert!(r.summary.contains("<!-- reachdiff -->"));
    assert!(r.stdout.contains("::warning file=db.yaml,line=98"));

    // Same repository, but the job lacks `pull-requests: write`: GitHub
    // answers 403 once; the run says so and still succeeds.
    let gh = FakeGitHub::start();
    gh.read_only();
    let ev = event(root, "same.json", 7, &o.base, &head, false);
    let r = run_pr(root, &ws, &ev, &gh.url, &[]);
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
    assert_eq!(outputs(&r.outputs)["opened"], "6");
}

#[test]
fn server_error_and_rate_limit_are_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (o, head, ws) = shop_pull(root);
    let gh = FakeGitHub::start();
    gh.script(Scripted::ServerError);
    gh.script(Scripted::RateLimited);
    let ev = event(root, "event.json", 7, &o.base, &head, false);
    let started = std::time::Instant::now();
    let r = run_pr(root, &ws, &ev, &gh.url, &[]);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert!(r.stderr.contains("rate limited"), "{}", r.stderr);
    assert_eq!(gh.sticky().len(), 1);
    assert_eq!(gh.writes().len(), 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
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
    let r = run_pr(
        root,
        &ws,
        &ev,
        &gh.url,
        &[("config", "gates.yaml"), ("fail-on", "closed")],
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
    assert_eq!(out["opened"], "6");
    assert_eq!(gh.sticky().len(), 1);
}

/// A rules file read from the base commit is named by its path in the
/// repository when it is wrong (it used to be a temporary file's name).
#[test]
fn a_broken_rules_file_is_named_by_its_repository_path() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let rules = "gates:\n- name: x\n  forbid: everything\n";
    let o = origin(root, &[("gates.yaml", rules)]);
    let head = o.push_head(&scenario("shop-multi-namespace", "head"), &[], "x");
    let ws = o.full_checkout(root, "ws");
    let ev = event(root, "event.json", 7, &o.base, &head, false);
    let r = run_pr(
        root,
        &ws,
        &ev,
        "http://127.0.0.1:9",
        &[("config", "gates.yaml")],
    );
    assert_eq!(code(&r), 2, "{}", explain(&r));
    assert!(
        r.stderr
            .contains("::error title=reachdiff::gates.yaml: 3:11: "),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("unknown variant `everything`"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("-rules.yaml"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn bad_input_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let o = origin(root, &[]);
    let head = o.push_head(&scenario("shop-multi-namespace", "head"), &[], "x");
    let ws = o.full_checkout(root, "ws");
    let ev = event(root, "event.json", 7, &o.base, &head, false);
    let r = run_pr(
        root,
        &ws,
        &ev,
        "http://127.0.0.1:9",
        &[("fail-on", "everything")],
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
        let src =
            std::fs::read_to_string(support::repo_root().join("src/cli/action/env.rs")).unwrap();
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
    gh.app.lock().git_root = Some(srv.clone());
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
    assert_eq!(outputs(&r.outputs)["opened"], "6");
    let git_reqs = gh.app.lock().git_requests.clone();
    assert!(!git_reqs.is_empty());
    assert!(
        git_reqs.iter().all(|r| r.authorization_kind != "none"),
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

/// GitHub's `pulls/{n}/files` for base..head of `repo`: each file with its
/// patch (hunks only), `context` lines around each change.
pub(crate) fn pr_files(
    repo: &Path,
    base: &str,
    head: &str,
    context: u32,
) -> Vec<serde_json::Value> {
    let names = git(repo, &["diff", "--name-only", base, head]);
    names
        .lines()
        .map(|f| {
            let d = git(
                repo,
                &["diff", &format!("-U{context}"), base, head, "--", f],
            );
            let patch: Vec<&str> = d.lines().skip_while(|l| !l.starts_with("@@")).collect();
            serde_json::json!({"sha": "0", "filename": f, "status": "modified",
                "additions": 1, "deletions": 1, "changes": 2, "patch": patch.join("\n")})
        })
        .collect()
}

#[test]
fn review_comments_sit_on_diff_lines_and_are_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (o, head, ws) = shop_pull(root);
    let gh = FakeGitHub::start();
    gh.files(pr_files(&o.dir, &o.base, &head, 3));
    // Someone else's review comment stays.
    let theirs = gh.review_comment("nit: typo", "db.yaml", 96, "reviewer");
    let ev = event(root, "event.json", 7, &o.base, &head, false);
    let setup = Setup {
        ws: &ws,
        event: &ev,
        api: &gh.url,
        inputs: &[("review-comments", "true")],
        server: None,
    };
    let r = run_action(root, &setup);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    let ours = |gh: &FakeGitHub| {
        let mut v: Vec<(String, u64, String)> = gh
            .review_comments()
            .iter()
            .filter(|c| c.1.starts_with("<!-- reachdiff-review -->"))
            .map(|c| (c.2.clone(), c.3, c.4.clone()))
            .collect();
        v.sort();
        v
    };
    // The lines responsible: cart's new rule on the head side; the
    // database rule changed only by deleting its peer's podSelector, so it
    // is cited at the first removed line, on the base side (issue 17; the
    // annotation stays on its head line, 98).
    assert_eq!(
        ours(&gh),
        vec![
            ("cart.yaml".to_string(), 60, "RIGHT".to_string()),
            ("db.yaml".to_string(), 101, "LEFT".to_string())
        ],
        "{}",
        explain(&r)
    );
    // The comment on the removed line says what removing it does.
    let bodies: Vec<String> = gh
        .review_comments()
        .iter()
        .filter(|c| c.2 == "db.yaml" && c.4 == "LEFT")
        .map(|c| c.1.clone())
        .collect();
    assert!(
        bodies.len() == 1 && bodies[0].contains("**reachdiff**: removing this line opens"),
        "{bodies:?}"
    );
    let reviews: Vec<Request> = gh
        .writes()
        .into_iter()
        .filter(|w| w.path.ends_with("/reviews"))
        .collect();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].path, format!("/repos/{REPO}/pulls/7/reviews"));
    let v: serde_json::Value = serde_json::from_str(&reviews[0].body).unwrap();
    assert_eq!(v["commit_id"], head.as_str());

    // The next run replaces them: no pile-up, the other comment stays.
    let r = run_action(root, &setup);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert_eq!(ours(&gh).len(), 2);
    let deletes = gh
        .writes()
        .into_iter()
        .filter(|w| w.method == "DELETE")
        .count();
    assert_eq!(deletes, 2);
    // The first review (which cannot be deleted) now says it is superseded.
    {
        let reviews = gh.reviews();
        assert_eq!(reviews.len(), 2);
        assert!(reviews[0].1.contains("Superseded"), "{reviews:?}");
        assert!(!reviews[1].1.contains("Superseded"));
    }
    assert!(gh.review_comments().iter().any(|c| c.0 == theirs));

    // Without context lines a removed line is still in the diff: the
    // comment stays on it, and nothing is moved (moving to the nearest
    // changed line is `github::publish`'s unit tests' subject).
    gh.files(pr_files(&o.dir, &o.base, &head, 0));
    let r = run_action(root, &setup);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert_eq!(
        ours(&gh),
        vec![
            ("cart.yaml".to_string(), 60, "RIGHT".to_string()),
            ("db.yaml".to_string(), 101, "LEFT".to_string())
        ]
    );
    let last = gh
        .writes()
        .into_iter()
        .rev()
        .find(|w| w.path.ends_with("/reviews"))
        .unwrap();
    assert!(!last.body.contains("outside the diff"), "{}", last.body);
    let v: serde_json::Value = serde_json::from_str(&last.body).unwrap();
    let db = v["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "db.yaml")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(
        (&db["side"], &db["line"]),
        (&serde_json::json!("LEFT"), &serde_json::json!(101))
    );
    // The sticky comment is still exactly one.
    assert_eq!(gh.sticky().len(), 1);
}

/// `reachdiff action --publish ARTIFACT` in workspace `ws` on a
/// `workflow_run` event whose run was for `head` and lists `prs` (empty
/// for forks).
fn publish(root: &Path, ws: &Path, api: &str, artifact: &Path, head: &str, prs: &[u64]) -> Run {
    let ev = root.join("workflow_run.json");
    let payload = serde_json::json!({
        "action": "completed",
        "workflow_run": {
            "id": 99, "name": "reachdiff", "event": "pull_request", "status": "completed",
            "conclusion": "success", "head_sha": head, "head_branch": "pr",
            "pull_requests": prs.iter().map(|n| serde_json::json!({
                "number": n, "head": {"sha": head, "ref": "pr"}, "base": {"ref": "main"}
            })).collect::<Vec<_>>(),
        },
        "repository": {"id": 1, "name": "gitops", "full_name": REPO},
    });
    std::fs::write(&ev, payload.to_string()).unwrap();
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut c = support::bin();
    c.env_clear()
        .args(["action", "--publish"])
        .arg(artifact)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("GIT_CONFIG_GLOBAL", support::empty_git_config())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "workflow_run")
        .env("GITHUB_EVENT_PATH", &ev)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_API_URL", api)
        .env("GITHUB_RUN_ID", "4343")
        .env("GITHUB_WORKSPACE", ws)
        .env("INPUT_TOKEN", TOKEN)
        .env("INPUT_COMMENT", "on-change")
        .env("INPUT_REVIEW-COMMENTS", "true");
    let out = c.output().expect("run reachdiff action --publish");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    Run {
        stdout,
        stderr,
        outputs: String::new(),
        summary: String::new(),
        out,
    }
}

/// The fork-safe two-job pattern: the analysis job (read-only, untrusted)
/// leaves an artifact; the publisher takes only the pull-request number
/// from it, has GitHub confirm it, and analyses base and head itself.
#[test]
fn publish_reanalyses_a_fork_pull_request_and_never_posts_the_artifact() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (o, head, ws) = shop_pull(root);
    // As on GitHub, a fork's head is reachable in the base repository only
    // through refs/pull/N/head.
    git(&o.dir, &["update-ref", "refs/pull/7/head", &head]);
    git(&o.dir, &["branch", "-D", "pr"]);
    git(&o.dir, &["branch", "-D", "pull/merge"]);

    // The analysis job: a fork pull request, read-only, no writes.
    let gh = FakeGitHub::start();
    let ev = event(root, "fork.json", 7, &o.base, &head, true);
    let r = run_pr(root, &ws, &ev, &gh.url, &[]);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert!(gh.writes().is_empty());
    let artifact = ws.join(".reachdiff");
    for f in ["report.json", "report.md", "publish.json"] {
        assert!(artifact.join(f).is_file(), "{f} missing");
    }
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifact.join("publish.json")).unwrap())
            .unwrap();
    assert_eq!(side["pull_request"], 7);
    assert_eq!(side["head_sha"], head.as_str());
    let analysed = std::fs::read_to_string(artifact.join("report.md")).unwrap();

    // The publisher's workspace: the default branch at depth 1, as
    // actions/checkout leaves it on workflow_run. A forged artifact: the
    // comment text is replaced and the counts lie.
    let pub_ws = root.join("pub-ws");
    git(
        root,
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &o.url(),
            pub_ws.to_str().unwrap(),
        ],
    );
    let forged = root.join("forged");
    std::fs::create_dir_all(&forged).unwrap();
    std::fs::copy(artifact.join("publish.json"), forged.join("publish.json")).unwrap();
    std::fs::write(
        forged.join("report.md"),
        "<!-- reachdiff -->\n@everyone all clear, merge [here](https://evil.example)",
    )
    .unwrap();
    std::fs::write(
        forged.join("report.json"),
        r#"{"schema": "reachdiff/diff/v1", "opened": [], "closed": []}"#,
    )
    .unwrap();
    gh.pull(&o.base, &head, "open", pr_files(&o.dir, &o.base, &head, 3));
    // A fork's workflow_run lists no pull request.
    let r = publish(root, &pub_ws, &gh.url, &forged, &head, &[]);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert!(r.stderr.contains("git fetch"), "{}", r.stderr);
    assert!(
        r.stdout.contains("claims 0 opened and 0 closed"),
        "{}",
        r.stdout
    );
    let sticky = gh.sticky();
    assert_eq!(sticky.len(), 1);
    assert!(!sticky[0].1.contains("evil.example") && !sticky[0].1.contains("@everyone"));
    // The publisher's own analysis says what the analysis job said (only
    // the link to the run's job summary differs).
    assert_eq!(
        sticky[0].1.replace("/runs/4343", "/runs/4242"),
        analysed,
        "the publisher's comment differs from the analysis job's report"
    );
    assert_eq!(gh.review_comments().len(), 2);

    // Again with the honest artifact, listed pull request: the same one
    // comment, the review replaced, no warning.
    let r = publish(
        root,
        &pub_ws,
        &gh.url,
        &artifact.join("report.json"),
        &head,
        &[7],
    );
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert!(!r.stdout.contains("claims"), "{}", r.stdout);
    assert_eq!(gh.sticky().len(), 1);
    assert_eq!(gh.review_comments().len(), 2);
    let posts = gh
        .writes()
        .iter()
        .filter(|w| w.method == "POST" && w.path.ends_with("/comments"))
        .count();
    assert_eq!(posts, 1);

    // Refused with exit 2 and nothing written.
    let copy = |name: &str, edit: &dyn Fn(&Path)| {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["report.json", "report.md", "publish.json"] {
            std::fs::copy(artifact.join(f), dir.join(f)).unwrap();
        }
        edit(&dir);
        dir
    };
    let writes = gh.writes().len();
    let refuse = |dir: &Path, prs: &[u64], why: &str| {
        let r = publish(root, &pub_ws, &gh.url, dir, &head, prs);
        assert_eq!(code(&r), 2, "{}", explain(&r));
        assert!(r.stderr.contains(why), "{}", r.stderr);
    };
    let wrong_pr = copy("wrong-pr", &|d| {
        let p = d.join("publish.json");
        let t = std::fs::read_to_string(&p)
            .unwrap()
            .replace("\"pull_request\": 7", "\"pull_request\": 8");
        std::fs::write(p, t).unwrap();
    });
    refuse(&wrong_pr, &[7], "is not the workflow run's pull request");
    // A fork run naming another pull request: GitHub says #8 is elsewhere.
    gh.pull(
        &o.base,
        &"f".repeat(40),
        "open",
        pr_files(&o.dir, &o.base, &head, 3),
    );
    refuse(&wrong_pr, &[], "not at the workflow run's head");
    // The pull request moved on since the analysis: nothing stale posted.
    refuse(&artifact, &[7], "superseded");
    gh.pull(&o.base, &head, "open", pr_files(&o.dir, &o.base, &head, 3));
    let extra_field = copy("extra", &|d| {
        let p = d.join("publish.json");
        let t = std::fs::read_to_string(&p)
            .unwrap()
            .replacen('{', "{\"token\": \"x\",", 1);
        std::fs::write(p, t).unwrap();
    });
    refuse(&extra_field, &[7], "unknown field");
    let bad_schema = copy("schema", &|d| {
        std::fs::write(d.join("report.json"), "{\"schema\": \"something/else\"}").unwrap();
    });
    refuse(&bad_schema, &[7], "not a reachdiff diff report");
    let huge = copy("huge", &|d| {
        std::fs::write(d.join("publish.json"), " ".repeat(100_000)).unwrap();
    });
    refuse(&huge, &[7], "bytes, more than");
    let link = copy("link", &|d| {
        std::fs::remove_file(d.join("report.json")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.join("report.json")).unwrap();
    });
    refuse(&link, &[7], "not a regular file");
    assert_eq!(gh.writes().len(), writes, "a refused artifact wrote");

    // A closed pull request: nothing to publish.
    gh.pull(
        &o.base,
        &head,
        "closed",
        pr_files(&o.dir, &o.base, &head, 3),
    );
    let r = publish(root, &pub_ws, &gh.url, &artifact, &head, &[7]);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert!(r.stderr.contains("is closed"), "{}", r.stderr);
    assert_eq!(gh.writes().len(), writes);
}

/// A person's comment that starts with the marker (pasted, or quoted
/// without `>`) is never taken for reachdiff's: it is neither overwritten
/// nor deleted.
#[test]
fn a_persons_comment_with_the_marker_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let o = origin(root, &[]);
    let head = o.push_head(&scenario("shop-multi-namespace", "head"), &[], "head");
    let ws = o.full_checkout(root, "ws");
    let gh = FakeGitHub::start();
    let planted = "<!-- reachdiff -->\nI copied this from the bot";
    let planted_id = gh.comment(planted, "mallory");
    let mine = gh.review_comment("<!-- reachdiff-review -->\nmine", "a.yaml", 1, "mallory");
    gh.files(pr_files(&o.dir, &o.base, &head, 3));
    let ev = event(root, "pr.json", 7, &o.base, &head, false);
    let r = run_pr(root, &ws, &ev, &gh.url, &[("review-comments", "true")]);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    let comments = gh.comments();
    assert_eq!(
        comments[0],
        (planted_id, planted.to_string(), "mallory".to_string())
    );
    assert_eq!(comments.len(), 2, "reachdiff's own comment was created");
    assert!(
        gh.review_comments().iter().any(|c| c.0 == mine),
        "a person's review comment was deleted"
    );
}

/// The rules of GitHub's action metadata schema (`action.yml`), checked
/// field by field: types, allowed keys, id patterns, a docker `runs`,
/// branding values; and every input and output is in the README's tables.
#[test]
fn action_yml_follows_the_metadata_schema() {
    use serde_yaml::Value;
    let text = std::fs::read_to_string(support::repo_root().join("action.yml")).unwrap();
    let v: Value = serde_yaml::from_str(&text).unwrap();
    let s = |x: &Value| x.as_str().map(str::to_string);
    assert!(s(&v["name"]).is_some_and(|n| !n.is_empty()), "name");
    assert!(
        s(&v["description"]).is_some_and(|d| !d.is_empty() && d.len() <= 1000),
        "description"
    );
    if let Some(a) = v.get("author") {
        assert!(a.is_string(), "author is a string");
    }
    // Input and output ids: `^[_a-zA-Z][a-zA-Z0-9_-]*$`, unique ignoring case.
    let id_ok = |id: &str| {
        let mut c = id.chars();
        c.next()
            .is_some_and(|f| f == '_' || f.is_ascii_alphabetic())
            && c.all(|x| x == '_' || x == '-' || x.is_ascii_alphanumeric())
    };
    let readme = std::fs::read_to_string(support::repo_root().join("README.md")).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for (id, input) in v["inputs"].as_mapping().expect("inputs is a mapping") {
        let id = id.as_str().expect("input id is a string");
        assert!(id_ok(id), "input id {id:?}");
        assert!(seen.insert(id.to_ascii_lowercase()), "input {id} twice");
        let m = input.as_mapping().expect("input is a mapping");
        for k in m.keys() {
            let k = k.as_str().unwrap();
            assert!(
                ["description", "required", "default", "deprecationMessage"].contains(&k),
                "input {id}: unknown key {k}"
            );
        }
        assert!(input["description"].is_string(), "input {id}: description");
        if let Some(r) = input.get("required") {
            assert!(r.is_bool(), "input {id}: required must be a boolean");
        }
        if let Some(d) = input.get("default") {
            // Quoted: the runner passes strings ("false", "100").
            assert!(d.is_string(), "input {id}: default must be a string");
            let d = d.as_str().unwrap();
            if d.contains("${{") {
                // Only the contexts GitHub allows in input defaults.
                assert!(
                    d.contains("github.") || d.contains("env.") || d.contains("runner."),
                    "input {id}: default {d}"
                );
            }
        }
        assert!(
            readme.contains(&format!("| `{id}` |")),
            "input {id} is not in the README's table"
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (id, o) in v["outputs"].as_mapping().expect("outputs is a mapping") {
        let id = id.as_str().expect("output id is a string");
        assert!(id_ok(id), "output id {id:?}");
        assert!(seen.insert(id.to_ascii_lowercase()), "output {id} twice");
        for k in o.as_mapping().expect("output is a mapping").keys() {
            // `value` belongs to composite actions only.
            assert_eq!(k.as_str(), Some("description"), "output {id}: key {k:?}");
        }
        assert!(o["description"].is_string(), "output {id}: description");
        assert!(
            readme.contains(&format!("| `{id}` |")),
            "output {id} is not in the README's table"
        );
    }
    let runs = v["runs"].as_mapping().expect("runs is a mapping");
    for k in runs.keys() {
        let k = k.as_str().unwrap();
        assert!(
            [
                "using",
                "image",
                "env",
                "entrypoint",
                "pre-entrypoint",
                "post-entrypoint",
                "args",
                "pre-if",
                "post-if"
            ]
            .contains(&k),
            "runs: key {k} is not one of a docker action"
        );
    }
    assert_eq!(v["runs"]["using"].as_str(), Some("docker"));
    assert_eq!(v["runs"]["image"].as_str(), Some("Dockerfile"));
    if let Some(args) = v["runs"].get("args") {
        for a in args.as_sequence().expect("args is a list") {
            let a = a.as_str().expect("args are strings");
            assert!(!a.contains("${{ inputs."), "args: {a}");
        }
    }
    // No `${{ inputs.` anywhere a shell or the entrypoint would see it.
    for line in text.lines() {
        let l = line.trim_start();
        if l.starts_with("run:") || l.starts_with("args:") || l.starts_with("entrypoint:") {
            assert!(!l.contains("${{"), "{line}");
        }
    }
    let icon = v["branding"]["icon"].as_str().expect("branding.icon");
    assert!(!icon.is_empty() && icon.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
    let color = v["branding"]["color"].as_str().expect("branding.color");
    assert!(
        [
            "white",
            "black",
            "yellow",
            "blue",
            "green",
            "orange",
            "red",
            "purple",
            "gray-dark"
        ]
        .contains(&color),
        "branding.color {color}"
    );
}

#[test]
fn review_on_a_read_only_token_is_skipped_with_a_log_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (o, head, ws) = shop_pull(root);
    let gh = FakeGitHub::start();
    gh.read_only();
    gh.files(pr_files(&o.dir, &o.base, &head, 3));
    let ev = event(root, "same.json", 7, &o.base, &head, false);
    let r = run_pr(root, &ws, &ev, &gh.url, &[("review-comments", "true")]);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert!(
        r.stderr.contains("could not write review comments"),
        "{}",
        r.stderr
    );
    assert!(gh.review_comments().is_empty());
    // A fork: nothing is even attempted.
    let gh = FakeGitHub::start();
    let ev = event(root, "fork.json", 7, &o.base, &head, true);
    let r = run_pr(root, &ws, &ev, &gh.url, &[("review-comments", "true")]);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    assert!(gh.requests().is_empty());
    assert!(r.stderr.contains("no review comments"), "{}", r.stderr);
}

/// Lines of stdout and stderr that the runner would take for a workflow
/// command other than reachdiff's own (annotations, notices, warnings and
/// errors whose text is escaped).
fn foreign_commands(r: &Run) -> Vec<String> {
    const OURS: [&str; 5] = [
        "::warning file=",
        "::error file=",
        "::warning title=reachdiff",
        "::error title=reachdiff",
        "::notice title=reachdiff",
    ];
    r.stdout
        .lines()
        .chain(r.stderr.lines())
        .map(str::trim_start)
        .filter(|l| l.starts_with("::") && !OURS.iter().any(|o| l.starts_with(o)))
        .map(str::to_string)
        .collect()
}

/// What an attacker puts in a name to forge workflow commands.
const FORGED: &str = "x\n::add-mask::y\n::set-output name=gate::passed\n::error::forged\n";

/// Security issue 12, item 7: text from the repository never becomes a
/// workflow command: a manifest's path in an error and in a warning, and a
/// configuration key an error quotes, reach the log only through command
/// escaping.
#[test]
fn repository_text_never_becomes_a_workflow_command() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let o = origin(root, &[]);
    let gh = FakeGitHub::start();
    let check = |r: &Run, want: i32| {
        assert_eq!(code(r), want, "{}", explain(r));
        assert_eq!(foreign_commands(r), Vec::<String>::new(), "{}", explain(r));
        assert!(
            r.stdout.contains("%0A::add-mask::y%0A") || r.stderr.contains("%0A::add-mask::y%0A"),
            "{}",
            explain(r)
        );
    };
    // A warning (an undeclared namespace) in a file with a hostile name.
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ghost}\nspec: {containers: [{name: c}]}\n";
    let warned = format!("{FORGED}warned.yaml");
    let head = o.push_head(
        &scenario("shop-multi-namespace", "head"),
        &[(warned.as_str(), pod)],
        "a pod in an undeclared namespace",
    );
    let ws = o.full_checkout(root, "ws");
    let ev = event(root, "ev1.json", 7, &o.base, &head, false);
    let r = run_pr(root, &ws, &ev, &gh.url, &[]);
    check(&r, 0);
    assert!(
        r.stdout.contains("title=reachdiff%3A namespace-assumed::"),
        "{}",
        r.stdout
    );
    // An error in a file with a hostile name.
    let broken = format!("{FORGED}broken.yaml");
    let head = o.push_head(
        &scenario("shop-multi-namespace", "head"),
        &[(broken.as_str(), "kind: [")],
        "a broken file",
    );
    git(&ws, &["fetch", "-q", "origin", "pr:pr2"]);
    let ev = event(root, "ev2.json", 7, &o.base, &head, false);
    let r = run_pr(root, &ws, &ev, &gh.url, &[]);
    check(&r, 2);
    assert!(
        r.stdout
            .contains("::error file=x%0A%3A%3Aadd-mask%3A%3Ay%0A"),
        "{}",
        r.stdout
    );
    // A configuration error that quotes a key of the base's .reachdiff.yaml.
    let o2root = root.join("second");
    std::fs::create_dir_all(&o2root).unwrap();
    let key = format!("\"{}\": 1\n", FORGED.replace('\n', "\\n"));
    let o2 = origin(&o2root, &[(".reachdiff.yaml", key.as_str())]);
    let head = o2.push_head(&scenario("shop-multi-namespace", "head"), &[], "x");
    let ws2 = o2.full_checkout(&o2root, "ws");
    let ev = event(&o2root, "ev3.json", 7, &o2.base, &head, false);
    let r = run_pr(&o2root, &ws2, &ev, &gh.url, &[]);
    check(&r, 2);
    assert!(r.stderr.contains("unknown field"), "{}", r.stderr);
}

/// Security issue 12, item 7, in `--publish`: serde's error for an unknown
/// field of a forged publish.json quotes the field's name, which reaches the
/// log escaped.
#[test]
fn a_forged_artifact_key_never_becomes_a_workflow_command() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (_o, head, ws) = shop_pull(root);
    let gh = FakeGitHub::start();
    let artifact = root.join("artifact");
    std::fs::create_dir_all(&artifact).unwrap();
    let side = serde_json::json!({
        "schema": "reachdiff/publish/v1", "repository": REPO, "pull_request": 7,
        "head_sha": head, "working_directory": ".", "changed": true, "tripped": false,
        FORGED: true,
    });
    std::fs::write(artifact.join("publish.json"), side.to_string()).unwrap();
    std::fs::write(
        artifact.join("report.json"),
        r#"{"schema": "reachdiff/diff/v1"}"#,
    )
    .unwrap();
    let r = publish(root, &ws, &gh.url, &artifact, &head, &[7]);
    assert_eq!(code(&r), 2, "{}", explain(&r));
    assert!(r.stderr.contains("unknown field"), "{}", r.stderr);
    assert!(r.stderr.contains("%0A::add-mask::y%0A"), "{}", r.stderr);
    assert_eq!(
        foreign_commands(&r),
        Vec::<String>::new(),
        "{}",
        explain(&r)
    );
    assert!(gh.writes().is_empty());
}

/// Security issue 12, item 9: another bot's comment that starts with the
/// marker is not reachdiff's either: only the token's own login counts
/// (`github-actions[bot]` for `GITHUB_TOKEN`, which may not read /user).
#[test]
fn another_bots_comment_with_the_marker_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (_o, head, ws) = shop_pull(root);
    let gh = FakeGitHub::start();
    let planted = "<!-- reachdiff -->\nall clear, merge it";
    gh.comment(planted, "evil-app[bot]");
    let base = git(&ws, &["rev-parse", "origin/main"]);
    let ev = event(root, "pr.json", 7, &base, &head, false);
    let r = run_pr(root, &ws, &ev, &gh.url, &[]);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    {
        let comments = gh.comments();
        assert_eq!(comments[0].1, planted, "another bot's comment was changed");
        assert_eq!(comments.len(), 2, "reachdiff's own comment was created");
    }
    // The next run finds its own comment (asking GitHub who it is once)
    // and updates it; the planted one stays.
    let r = run_pr(root, &ws, &ev, &gh.url, &[("comment", "always")]);
    assert_eq!(code(&r), 0, "{}", explain(&r));
    let comments = gh.comments();
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0].1, planted);
    assert!(gh.requests().iter().any(|r| r.path == "/user"));
}
