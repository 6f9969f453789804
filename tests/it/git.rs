//! Git revisions (`--repo`): real repositories built with the `git` CLI in
//! temporary directories. Every check compares the git path with the folder
//! path on the very same trees, so the git producer must be a drop-in for
//! the directory reader: same files, same repo-relative paths, same bytes out.

use crate::support;
use crate::support::git;
use reachdiff::source::git::GitRepo;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

fn init(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
}

/// Replaces the work tree of `repo` with the contents of `tree` and commits
/// everything (additions, deletions, renames); returns the commit id.
fn commit_tree(repo: &Path, tree: &Path, msg: &str) -> String {
    support::replace_work_tree(repo, tree);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "--allow-empty", "-m", msg]);
    git(repo, &["rev-parse", "HEAD"])
}

/// Writes `files` (path, text) into a fresh directory.
fn tree(root: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (p, t) in files {
        let f = dir.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, t).unwrap();
    }
    dir
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    support::bin()
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .args(args)
        .output()
        .expect("run reachdiff")
}

/// stdout of a run that must succeed (exit 0 or 1, nothing on stderr that
/// starts with `error:`).
fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap();
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    assert!(!stderr.contains("error:"), "{stderr}");
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn folder_diff(base: &Path, head: &Path, extra: &[&str]) -> (String, i32) {
    let mut args = vec![
        "diff",
        base.to_str().unwrap(),
        head.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = run_in(&support::repo_root(), &args);
    (ok(&out), out.status.code().unwrap())
}

fn git_diff(repo: &Path, base: &str, head: &str, extra: &[&str]) -> (String, i32) {
    let mut args = vec![
        "diff",
        "--repo",
        repo.to_str().unwrap(),
        "--base",
        base,
        "--head",
        head,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = run_in(&support::repo_root(), &args);
    (ok(&out), out.status.code().unwrap())
}

const NS: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {team: shop}
";

fn deploy(name: &str, app: &str) -> String {
    format!(
        "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: shop
spec:
  selector:
    matchLabels: {{app: {app}}}
  template:
    metadata:
      labels: {{app: {app}}}
    spec:
      containers:
      - name: main
        image: nginx
        ports:
        - {{name: http, containerPort: 8080}}
"
    )
}

fn allow_from(name: &str, dst: &str, src: &str) -> String {
    format!(
        "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
  namespace: shop
spec:
  podSelector:
    matchLabels: {{app: {dst}}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector:
        matchLabels: {{app: {src}}}
    ports:
    - {{port: 8080}}
"
    )
}

/// The bar of issue 4: every fixture scenario committed as two commits of
/// a repository gives byte-for-byte the JSON of the folder diff, and the
/// same exit status (gates included).
#[test]
fn fixture_scenarios_from_git_equal_folders() {
    let root = support::repo_root().join("fixtures/scenarios");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 9, "{names:?}");
    for name in names {
        let dir = root.join(&name);
        let toml = std::fs::read_to_string(dir.join("case.toml")).unwrap();
        // `args = ["--rules", "..."]` is a JSON array of strings too.
        let args: Vec<String> = toml
            .lines()
            .find_map(|l| l.strip_prefix("args = "))
            .map(|a| serde_json::from_str(a).expect("args"))
            .unwrap_or_default();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        init(&repo);
        let a = commit_tree(&repo, &dir.join("base"), "base");
        let b = commit_tree(&repo, &dir.join("head"), "head");
        let (want, want_code) = folder_diff(&dir.join("base"), &dir.join("head"), &args);
        let (got, got_code) = git_diff(&repo, &a, &b, &args);
        assert_eq!(got_code, want_code, "{name}: exit status");
        assert!(got == want, "{name}: git JSON differs from folder JSON");
    }
}

/// Several commits: a file renamed into another directory, a directory
/// deleted, a file edited; each pair of commits diffs like its folders.
/// The markdown links name repo-relative paths of the head commit.
#[test]
fn renames_and_deleted_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let web = deploy("web", "web");
    let api = deploy("api", "api");
    let db = deploy("db", "db");
    let api_np = allow_from("api-in", "api", "web");
    let db_np = allow_from("db-in", "db", "api");
    let s1 = tree(
        t,
        "s1",
        &[
            ("ns.yaml", NS),
            ("apps/web/deploy.yaml", &web),
            ("apps/api/deploy.yaml", &api),
            ("apps/api/np.yaml", &api_np),
            ("apps/db/deploy.yaml", &db),
            ("apps/db/np.yaml", &db_np),
            ("README.md", "not a manifest\n"),
        ],
    );
    // Rename apps/api/np.yaml to policies/api.yaml (same blob).
    let s2 = tree(
        t,
        "s2",
        &[
            ("ns.yaml", NS),
            ("apps/web/deploy.yaml", &web),
            ("apps/api/deploy.yaml", &api),
            ("policies/api.yaml", &api_np),
            ("apps/db/deploy.yaml", &db),
            ("apps/db/np.yaml", &db_np),
            ("README.md", "not a manifest\n"),
        ],
    );
    // Delete the whole apps/db directory; widen the api policy.
    let api_np_wide = api_np.replace(
        "    - podSelector:\n        matchLabels: {app: web}\n",
        "    - podSelector: {}\n",
    );
    assert_ne!(api_np_wide, api_np);
    let s3 = tree(
        t,
        "s3",
        &[
            ("ns.yaml", NS),
            ("apps/web/deploy.yaml", &web),
            ("apps/api/deploy.yaml", &api),
            ("policies/api.yaml", &api_np_wide),
            ("README.md", "not a manifest\n"),
        ],
    );
    let repo = t.join("repo");
    init(&repo);
    let c1 = commit_tree(&repo, &s1, "one");
    let c2 = commit_tree(&repo, &s2, "rename");
    let c3 = commit_tree(&repo, &s3, "delete dir, widen");
    git(
        &repo,
        &["mv", "policies/api.yaml", "policies/api-ingress.yaml"],
    );
    git(&repo, &["commit", "-q", "-m", "rename only"]);
    let c4 = git(&repo, &["rev-parse", "HEAD"]);

    for (b, h, sb, sh) in [
        (&c1, &c2, &s1, &s2),
        (&c2, &c3, &s2, &s3),
        (&c1, &c3, &s1, &s3),
    ] {
        let (want, _) = folder_diff(sb, sh, &[]);
        let (got, _) = git_diff(&repo, b, h, &[]);
        assert_eq!(got, want, "{b}..{h}");
    }
    // c1 -> c3: db removed (closed rows), web -> api still open, every
    // other pod into api opened; the rule is cited in its new file.
    let (json, _) = git_diff(&repo, &c1, &c3, &[]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["summary"]["closed"].as_u64().unwrap() > 0, "{json}");
    assert!(v["summary"]["opened"].as_u64().unwrap() > 0, "{json}");
    assert!(json.contains("\"file\":\"policies/api.yaml\""), "{json}");
    // A pure rename changes nothing.
    let (json, _) = git_diff(&repo, &c3, &c4, &[]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["summary"]["opened"], 0);
    assert_eq!(v["summary"]["closed"], 0);

    // Markdown: links use repo-relative paths under the URL prefix.
    let out = run_in(
        t,
        &[
            "diff",
            "--repo",
            repo.to_str().unwrap(),
            "--base",
            &c1,
            "--head",
            &c3,
            "--format",
            "md",
            "--head-url",
            "https://example.com/o/r/blob/HEADSHA",
        ],
    );
    let md = ok(&out);
    assert!(
        md.contains("https://example.com/o/r/blob/HEADSHA/policies/api.yaml#L"),
        "{md}"
    );

    // Paths inside the repository restrict both sides; a directory that
    // exists on one side only is empty on the other.
    let (json, _) = git_diff(&repo, &c2, &c3, &["apps/db"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["summary"]["workloads_head"], 0, "{json}");
    assert_eq!(v["summary"]["workloads_base"], 1, "{json}");
    // A path on neither side is an error.
    let out = run_in(
        t,
        &[
            "diff",
            "--repo",
            repo.to_str().unwrap(),
            "--base",
            &c1,
            "--head",
            &c3,
            "nowhere",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nowhere: no such file or directory"), "{err}");

    // The work tree was never touched.
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
}

/// `reach --repo --rev` equals `reach` on the folder of that commit.
#[test]
fn reach_from_a_revision() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let s1 = tree(
        t,
        "s1",
        &[
            ("ns.yaml", NS),
            ("apps/web.yaml", &deploy("web", "web")),
            ("apps/api.yaml", &deploy("api", "api")),
            ("apps/np.yaml", &allow_from("api-in", "api", "web")),
        ],
    );
    let s2 = tree(
        t,
        "s2",
        &[("ns.yaml", NS), ("apps/web.yaml", &deploy("web", "web"))],
    );
    let repo = t.join("repo");
    init(&repo);
    commit_tree(&repo, &s1, "one");
    git(&repo, &["tag", "v1"]);
    commit_tree(&repo, &s2, "two");
    for fmt in ["json", "text"] {
        let want = ok(&run_in(&s1, &["reach", "ns.yaml", "apps", "--format", fmt]));
        let got = ok(&run_in(
            t,
            &[
                "reach", "--repo", "repo", "--rev", "HEAD~1", "ns.yaml", "apps", "--format", fmt,
            ],
        ));
        assert_eq!(got, want);
        let got = ok(&run_in(
            t,
            &[
                "reach", "--repo", "repo", "--rev", "v1", "ns.yaml", "apps/", "--format", fmt,
            ],
        ));
        assert_eq!(got, want);
    }
    // Without --rev: HEAD.
    let got = ok(&run_in(t, &["reach", "--repo", "repo", "--format", "json"]));
    assert!(
        got.contains("\"workloads\"") || got.contains("shop/web"),
        "{got}"
    );
    assert!(!got.contains("shop/api"), "{got}");
    // `..` cannot escape the repository.
    let out = run_in(t, &["reach", "--repo", "repo", "../s1"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A branch whose merge-base is behind the tip of main: by default the diff
/// shows only the branch's own change (what "Files changed" shows), and
/// `--base-exact` compares against main's tip. Also works on a bare clone,
/// and uncommitted edits in the work tree are ignored.
#[test]
fn merge_base_bare_clone_and_dirty_work_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let web = deploy("web", "web");
    let api = deploy("api", "api");
    let np = allow_from("api-in", "api", "web");
    let a = tree(
        t,
        "a",
        &[
            ("ns.yaml", NS),
            ("web.yaml", &web),
            ("api.yaml", &api),
            ("np.yaml", &np),
        ],
    );
    // main moves on: a new workload.
    let c = tree(
        t,
        "c",
        &[
            ("ns.yaml", NS),
            ("web.yaml", &web),
            ("api.yaml", &api),
            ("np.yaml", &np),
            ("batch.yaml", &deploy("batch", "batch")),
        ],
    );
    // The branch removes the policy.
    let b = tree(
        t,
        "b",
        &[("ns.yaml", NS), ("web.yaml", &web), ("api.yaml", &api)],
    );
    let repo = t.join("repo");
    init(&repo);
    commit_tree(&repo, &a, "a");
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    commit_tree(&repo, &b, "b");
    git(&repo, &["checkout", "-q", "main"]);
    commit_tree(&repo, &c, "c");

    let (merge_base, _) = git_diff(&repo, "main", "feature", &[]);
    assert_eq!(merge_base, folder_diff(&a, &b, &[]).0);
    let (exact, _) = git_diff(&repo, "main", "feature", &["--base-exact"]);
    assert_eq!(exact, folder_diff(&c, &b, &[]).0);
    assert_ne!(merge_base, exact);

    // Uncommitted edits are not read: the revision is the commit.
    std::fs::write(repo.join("web.yaml"), "garbage: [").unwrap();
    let (dirty, _) = git_diff(&repo, "main", "feature", &[]);
    assert_eq!(dirty, merge_base);

    // A bare clone gives the same answer.
    git(t, &["clone", "-q", "--bare", "repo", "bare.git"]);
    let bare = t.join("bare.git");
    assert_eq!(git_diff(&bare, "main", "feature", &[]).0, merge_base);
    assert_eq!(
        git_diff(&bare, "main", "feature", &["--base-exact"]).0,
        exact
    );
    // Markdown names the commits compared.
    let out = run_in(
        t,
        &[
            "diff", "--repo", "bare.git", "--base", "main", "--head", "feature", "--format", "md",
        ],
    );
    let md = ok(&out);
    assert!(md.contains("merge-base of main and feature ("), "{md}");
}

/// A shallow clone that lacks the base commit, or the history for a
/// merge-base: exit 2, nothing on stdout, and a message saying how to fetch it.
#[test]
fn missing_commit_in_shallow_clone() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let s1 = tree(
        t,
        "s1",
        &[("ns.yaml", NS), ("web.yaml", &deploy("web", "web"))],
    );
    let s2 = tree(
        t,
        "s2",
        &[("ns.yaml", NS), ("api.yaml", &deploy("api", "api"))],
    );
    let repo = t.join("repo");
    init(&repo);
    let c1 = commit_tree(&repo, &s1, "one");
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    commit_tree(&repo, &s2, "two");
    let url = format!("file://{}", repo.display());
    git(
        t,
        &[
            "clone", "-q", "--depth", "1", "--branch", "feature", &url, "shallow",
        ],
    );
    let shallow = t.join("shallow");
    assert!(GitRepo::open(&shallow).unwrap().is_shallow());

    // The base commit is not in the clone.
    let out = run_in(
        t,
        &[
            "diff", "--repo", "shallow", "--base", &c1, "--head", "HEAD", "--format", "json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: shallow: revision"), "{err}");
    assert!(err.contains("shallow clone"), "{err}");
    assert!(err.contains("git fetch --deepen"), "{err}");
    assert!(err.contains("--unshallow"), "{err}");

    // HEAD~1 lies beyond the shallow boundary.
    let out = run_in(t, &["diff", "--repo", "shallow", "--base", "HEAD~1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("git fetch --deepen"), "{err}");

    // The head itself is present: reach works.
    ok(&run_in(t, &["reach", "--repo", "shallow"]));

    // Not a repository, unknown revision in a full clone.
    let out = run_in(t, &["reach", "--repo", "s1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a git repository"));
    let out = run_in(t, &["diff", "--repo", "repo", "--base", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("revision \"no-such-branch\" not found"),
        "{err}"
    );
    assert!(!err.contains("shallow"), "{err}");
}

/// Unrelated histories have no merge-base: the error suggests --base-exact.
#[test]
fn unrelated_histories() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let s1 = tree(t, "s1", &[("ns.yaml", NS)]);
    let repo = t.join("repo");
    init(&repo);
    commit_tree(&repo, &s1, "one");
    git(&repo, &["checkout", "-q", "--orphan", "other"]);
    commit_tree(&repo, &s1, "orphan");
    let out = run_in(
        t,
        &[
            "diff", "--repo", "repo", "--base", "main", "--head", "other",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no merge base"), "{err}");
    assert!(err.contains("--base-exact"), "{err}");
    let out = run_in(
        t,
        &[
            "diff",
            "--repo",
            "repo",
            "--base",
            "main",
            "--head",
            "other",
            "--base-exact",
        ],
    );
    ok(&out);
}

/// An unchanged blob is read once: both sides share the very same text, so
/// the loader parses it once. Symbolic links to files inside the tree are
/// followed; links that leave the repository are refused.
#[test]
fn unchanged_blobs_are_shared_and_links_stay_inside() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let s1 = tree(
        t,
        "s1",
        &[("ns.yaml", NS), ("a/web.yaml", &deploy("web", "web"))],
    );
    let s2 = tree(
        t,
        "s2",
        &[
            ("ns.yaml", NS),
            ("a/web.yaml", &deploy("web", "web")),
            ("b/api.yaml", &deploy("api", "api")),
        ],
    );
    let repo = t.join("repo");
    init(&repo);
    let c1 = commit_tree(&repo, &s1, "one");
    let c2 = commit_tree(&repo, &s2, "two");
    let g = GitRepo::open(&repo).unwrap();
    let (b, h) = g
        .revision_pair(&g.resolve(&c1).unwrap(), &g.resolve(&c2).unwrap(), &[])
        .unwrap();
    let paths = |r: &reachdiff::revision::Revision| -> Vec<String> {
        r.files.iter().map(|f| f.path.clone()).collect()
    };
    assert_eq!(paths(&b), ["a/web.yaml", "ns.yaml"]);
    assert_eq!(paths(&h), ["a/web.yaml", "b/api.yaml", "ns.yaml"]);
    for f in &b.files {
        let same = h.files.iter().find(|g| g.path == f.path).unwrap();
        assert!(Arc::ptr_eq(&f.text, &same.text), "{} read twice", f.path);
    }

    // Links: one to a file inside (followed), one leaving the repository.
    std::os::unix::fs::symlink("a/web.yaml", repo.join("link.yaml")).unwrap();
    git(&repo, &["add", "link.yaml"]);
    git(&repo, &["commit", "-q", "-m", "link"]);
    let g = GitRepo::open(&repo).unwrap();
    let rev = g
        .revision("x", &g.resolve("HEAD").unwrap(), &[], false)
        .unwrap();
    let link = rev.files.iter().find(|f| f.path == "link.yaml").unwrap();
    assert!(link.text.contains("name: web"));
    std::os::unix::fs::symlink("../../etc/passwd.yaml", repo.join("evil.yaml")).unwrap();
    git(&repo, &["add", "evil.yaml"]);
    git(&repo, &["commit", "-q", "-m", "evil"]);
    let out = run_in(t, &["reach", "--repo", "repo"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("evil.yaml at HEAD ("), "{err}");
    assert!(err.contains("): symbolic link"), "{err}");
    assert!(err.contains("leaves the repository"), "{err}");
}

fn dns_pod() -> String {
    "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: dns, namespace: kube-system}
spec:
  selector: {matchLabels: {app: dns}}
  template:
    metadata: {labels: {app: dns}}
    spec: {containers: [{name: c, image: i}]}
"
    .to_string()
}

const FROM_PLATFORM: &str = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-in, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {tier: platform}}
";

/// `.reachdiff.yaml` is read from the base revision only: a pull request
/// whose head rewrites it (to exclude everything and drop a gate) is judged
/// by the base's configuration. Namespace labels from the configuration
/// reach the analysis; excluded paths are never read.
#[test]
fn configuration_comes_from_the_base() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let base_cfg = "\
# namespaces deployed by another repository
namespaces:
  kube-system:
    labels: {tier: platform}
exclude: ['**/test/**']
gates:
- name: no-new-paths-into-shop
  forbid: opened
  to: {namespaces: [shop]}
";
    let evil_cfg = "exclude: ['**']\n";
    let common = [
        ("ns.yaml", NS.to_string()),
        ("apps/web.yaml", deploy("web", "web")),
        ("apps/np.yaml", FROM_PLATFORM.to_string()),
        ("apps/test/broken.yaml", "kind: [".to_string()),
    ];
    let files = |cfg: &str, extra: &[(&str, String)]| {
        let mut v: Vec<(String, String)> = common
            .iter()
            .map(|(p, t)| (p.to_string(), t.clone()))
            .collect();
        v.push((".reachdiff.yaml".into(), cfg.to_string()));
        v.extend(extra.iter().map(|(p, t)| (p.to_string(), t.clone())));
        v
    };
    let write = |name: &str, f: Vec<(String, String)>| {
        let f: Vec<(&str, &str)> = f.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
        tree(t, name, &f)
    };
    let s1 = write("s1", files(base_cfg, &[]));
    // The head adds kube-system's DNS (allowed into shop/web via the
    // configured namespace label) and rewrites the configuration.
    let s2 = write("s2", files(evil_cfg, &[("dns.yaml", dns_pod())]));
    let repo = t.join("repo");
    init(&repo);
    commit_tree(&repo, &s1, "base");
    git(&repo, &["checkout", "-q", "-b", "pr"]);
    commit_tree(&repo, &s2, "pr");

    let (json, code) = git_diff(&repo, "main", "pr", &[]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(code, 1, "the base's gate trips: {json}");
    assert_eq!(v["gates"][0]["name"], "no-new-paths-into-shop", "{json}");
    let opened = v["opened"].as_array().unwrap();
    assert!(
        opened.iter().any(
            |r| r["src"] == "kube-system/dns[Deployment]" && r["dst"] == "shop/web[Deployment]"
        ),
        "{json}"
    );
    assert!(!json.contains("namespace-assumed"), "{json}");

    // Judged by its own head configuration the PR would hide everything:
    // `--base-exact` with the PR as base shows that configuration is taken
    // from whichever commit is the base.
    let out = run_in(
        t,
        &[
            "diff",
            "--repo",
            "repo",
            "--base",
            "pr",
            "--head",
            "pr",
            "--base-exact",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(v["summary"]["workloads_head"], 0);

    // reach reads the configuration of the revision it analyses.
    let out = run_in(
        t,
        &[
            "reach", "--repo", "repo", "--rev", "main", "--format", "json",
        ],
    );
    let r = ok(&out);
    assert!(r.contains("shop/web[Deployment]"), "{r}");
}

/// Errors in `.reachdiff.yaml` name the file, line and column and the
/// commit it was read from.
#[test]
fn configuration_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let s1 = tree(
        t,
        "s1",
        &[
            ("ns.yaml", NS),
            (
                ".reachdiff.yaml",
                "environments:\n- name: prod\n  root: clusters/prod\n",
            ),
        ],
    );
    let repo = t.join("repo");
    init(&repo);
    let short = commit_tree(&repo, &s1, "one")[..12].to_string();
    for args in [
        &["diff", "--repo", "repo", "--base", "main"][..],
        &["reach", "--repo", "repo"][..],
    ] {
        let out = run_in(t, args);
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: .reachdiff.yaml:3:3: "), "{err}");
        assert!(err.contains("unknown field `root`"), "{err}");
        assert!(err.contains("(configuration read from "), "{err}");
        assert!(err.contains(&format!("({short})")), "{err}");
    }
}

/// Several environments: each root is its own cluster; the report has one
/// section per environment that changed and names the others.
#[test]
fn environments_each_their_own_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let cfg = "\
environments:
- name: prod
  roots: [clusters/prod, shared]
- name: staging
  roots: [clusters/staging, shared]
";
    let np = allow_from("api-in", "api", "web");
    let base_files = [
        (".reachdiff.yaml", cfg.to_string()),
        ("shared/ns.yaml", NS.to_string()),
        ("clusters/prod/web.yaml", deploy("web", "web")),
        ("clusters/prod/api.yaml", deploy("api", "api")),
        ("clusters/prod/np.yaml", np.clone()),
        // The same names in staging: a shared analysis would report duplicates.
        ("clusters/staging/web.yaml", deploy("web", "web")),
        ("clusters/staging/api.yaml", deploy("api", "api")),
        ("clusters/staging/np.yaml", np.clone()),
    ];
    let b: Vec<(&str, &str)> = base_files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let s1 = tree(t, "s1", &b);
    // The head drops prod's policy only.
    let h: Vec<(&str, &str)> = b
        .iter()
        .copied()
        .filter(|(p, _)| *p != "clusters/prod/np.yaml")
        .collect();
    let s2 = tree(t, "s2", &h);
    let repo = t.join("repo");
    init(&repo);
    commit_tree(&repo, &s1, "one");
    git(&repo, &["checkout", "-q", "-b", "pr"]);
    commit_tree(&repo, &s2, "two");

    let md = ok(&run_in(
        t,
        &[
            "diff", "--repo", "repo", "--base", "main", "--head", "pr", "--format", "md",
        ],
    ));
    assert!(md.starts_with("<!-- reachdiff -->\n"), "{md}");
    assert_eq!(md.matches("<!-- reachdiff -->").count(), 1, "{md}");
    assert!(md.contains("### reachdiff · prod · "), "{md}");
    assert!(!md.contains("### reachdiff · staging"), "{md}");
    assert!(md.contains("**Unchanged environments:** `staging`"), "{md}");

    let text = ok(&run_in(
        t,
        &[
            "diff", "--repo", "repo", "--base", "main", "--head", "pr", "--format", "text",
        ],
    ));
    assert!(text.starts_with("=== environment prod ===\n"), "{text}");
    assert!(text.contains("unchanged environments: staging"), "{text}");

    let (json, _) = git_diff(&repo, "main", "pr", &[]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema"], "reachdiff/diff-environments/v1");
    assert_eq!(v["unchanged"], serde_json::json!(["staging"]));
    let envs = v["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 2);
    assert_eq!(envs[0]["name"], "prod");
    assert_eq!(envs[0]["changed"], true);
    assert_eq!(envs[0]["report"]["schema"], "reachdiff/diff/v1");
    assert!(envs[0]["report"]["summary"]["opened"].as_u64().unwrap() > 0);
    assert_eq!(envs[1]["changed"], false);
    assert_eq!(envs[1]["report"]["summary"]["workloads_head"], 2);

    // reach: one reach/v1 report per environment.
    let all = ok(&run_in(t, &["reach", "--repo", "repo", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&all).unwrap();
    assert_eq!(v["schema"], "reachdiff/reach-environments/v1");
    let names: Vec<&str> = v["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["prod", "staging"]);
    assert_eq!(v["environments"][1]["status"], "ok");
    assert_eq!(
        v["environments"][1]["report"]["schema"],
        "reachdiff/reach/v1"
    );
    // lint still needs one chosen.
    let out = run_in(t, &["lint", "--repo", "repo"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("choose one with --env NAME"), "{err}");
    let r = ok(&run_in(
        t,
        &[
            "reach", "--repo", "repo", "--env", "staging", "--format", "json",
        ],
    ));
    assert!(r.contains("shop/api[Deployment]"), "{r}");
    // --env picks environments; the report still has the environments form.
    let (json, _) = git_diff(&repo, "main", "pr", &["--env", "staging"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["environments"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(v["unchanged"], serde_json::json!(["staging"]));
    let out = run_in(
        t,
        &[
            "diff", "--repo", "repo", "--base", "main", "--head", "pr", "--env", "qa",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no environment \"qa\""), "{err}");
    // Paths given on the command line override the environments.
    let (json, _) = git_diff(&repo, "main", "pr", &["clusters/staging", "shared"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema"], "reachdiff/diff/v1");
    assert_eq!(v["summary"]["opened"], 0);
}

/// Whether kustomize rendering can be tested here; says so visibly if not.
fn have_kustomize(test: &str) -> bool {
    let found = reachdiff::source::render::Kustomize::detect().is_some();
    if !found {
        crate::support::skip(test, "neither kubectl nor kustomize is installed");
    }
    found
}

const KUST_BASE: &str = "\
resources: [web.yaml, api.yaml, np.yaml]
";

/// An overlay that moves everything into its own namespace and labels it.
fn overlay(ns: &str, env: &str) -> String {
    format!(
        "\
namespace: {ns}
labels:
- pairs: {{env: {env}}}
  includeSelectors: false
  includeTemplates: true
resources:
- ../../base
- namespace.yaml
"
    )
}

fn namespace(ns: &str, env: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels: {{env: {env}}}\n")
}

/// Kustomize bases and overlays (namespace and label transforms), rendered
/// from each commit's tree with `kubectl kustomize`: a change in the shared
/// base shows in every environment, in the overlay's namespace.
#[test]
fn kustomize_overlays_per_environment() {
    if !have_kustomize("kustomize_overlays_per_environment") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let cfg = "\
environments:
- {name: prod, roots: [overlays/prod]}
- {name: staging, roots: [overlays/staging]}
";
    let web = deploy("web", "web").replace("  namespace: shop\n", "");
    let api = deploy("api", "api").replace("  namespace: shop\n", "");
    let np = allow_from("api-in", "api", "web").replace("  namespace: shop\n", "");
    let (op, os) = (
        overlay("prod-shop", "prod"),
        overlay("staging-shop", "staging"),
    );
    let (np_prod, np_staging) = (
        namespace("prod-shop", "prod"),
        namespace("staging-shop", "staging"),
    );
    let mk = |name: &str, np: &str, extra_staging: &str| {
        let staging_kust = format!("{os}{extra_staging}");
        tree(
            t,
            name,
            &[
                (".reachdiff.yaml", cfg),
                ("base/kustomization.yaml", KUST_BASE),
                ("base/web.yaml", &web),
                ("base/api.yaml", &api),
                ("base/np.yaml", np),
                ("overlays/prod/kustomization.yaml", &op),
                ("overlays/prod/namespace.yaml", &np_prod),
                ("overlays/staging/kustomization.yaml", &staging_kust),
                ("overlays/staging/namespace.yaml", &np_staging),
            ],
        )
    };
    let s1 = mk("s1", &np, "");
    // The head widens the base policy: every pod may reach api.
    let wide = np.replace(
        "    - podSelector:\n        matchLabels: {app: web}\n",
        "    - podSelector: {}\n",
    );
    assert_ne!(wide, np);
    let s2 = mk("s2", &wide, "");
    let repo = t.join("repo");
    init(&repo);
    commit_tree(&repo, &s1, "one");
    git(&repo, &["checkout", "-q", "-b", "pr"]);
    commit_tree(&repo, &s2, "two");

    let (json, _) = git_diff(&repo, "main", "pr", &[]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema"], "reachdiff/diff-environments/v1", "{json}");
    for (i, ns) in [(0, "prod-shop"), (1, "staging-shop")] {
        let env = &v["environments"][i];
        assert_eq!(env["changed"], true, "{json}");
        let opened = env["report"]["opened"].as_array().unwrap();
        assert!(
            opened
                .iter()
                .any(|r| r["src"] == format!("{ns}/api[Deployment]")
                    && r["dst"] == format!("{ns}/api[Deployment]")),
            "{ns}: {json}"
        );
        // The widened rule is cited in the base's file, where it is.
        let causes = env["report"]["causes"].as_array().unwrap();
        assert!(
            causes.iter().any(|c| c["file"] == "base/np.yaml"),
            "{causes:?}"
        );
    }
    // reach on one environment sees the overlay's namespace and labels.
    let r = ok(&run_in(
        t,
        &[
            "reach", "--repo", "repo", "--rev", "main", "--env", "prod", "--format", "json",
        ],
    ));
    assert!(r.contains("prod-shop/web[Deployment]"), "{r}");
    assert!(!r.contains("staging-shop"), "{r}");
    // Rendering can be switched off in the configuration; then the overlay
    // directory holds no workload manifests of its own.
    let off = format!("{cfg}render: {{kustomize: false}}\n");
    std::fs::write(s1.join(".reachdiff.yaml"), off).unwrap();
    commit_tree(&repo, &s1, "render off");
    let r = ok(&run_in(
        t,
        &[
            "reach", "--repo", "repo", "--rev", "pr", "--env", "prod", "--format", "json",
        ],
    ));
    assert!(!r.contains("prod-shop/web"), "{r}");
    // The work tree and the temporary exports are gone.
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
}

/// A name, the files of a commit, and what the error must say.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

/// Kustomizations that would run plugins, fetch remote bases or read
/// outside the repository are refused before anything runs; a failing
/// render names the directory, the revision and the tool's message.
#[test]
fn kustomize_refuses_plugins_and_remote_bases() {
    if !have_kustomize("kustomize_refuses_plugins_and_remote_bases") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let plugin = "\
apiVersion: someteam.example.com/v1
kind: ChartInflator
metadata: {name: evil}
";
    let cases: [Case; 6] = [
        (
            "exec-plugin",
            &[
                ("app/kustomization.yaml", "generators: [gen.yaml]\n"),
                ("app/gen.yaml", plugin),
            ],
            "ChartInflator (apiVersion \"someteam.example.com/v1\") is a plugin",
        ),
        (
            "transformer",
            &[
                (
                    "app/kustomization.yaml",
                    "resources: [ns.yaml]\ntransformers: [gen.yaml]\n",
                ),
                ("app/ns.yaml", NS),
                ("app/gen.yaml", plugin),
            ],
            "app/gen.yaml: document 1: ChartInflator (apiVersion \"someteam.example.com/v1\") is a plugin",
        ),
        (
            "remote-base",
            &[(
                "app/kustomization.yaml",
                "resources:\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v3.3.1\n",
            )],
            "app/kustomization.yaml: resources[0]: \"https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v3.3.1\" is remote (a URL): reachdiff never fetches: vendor it",
        ),
        (
            "remote-no-scheme",
            &[(
                "app/kustomization.yaml",
                "resources: [github.com/o/r/base]\n",
            )],
            "is remote (a GitHub repository, as kustomize reads it)",
        ),
        (
            "escape",
            &[(
                "app/kustomization.yaml",
                "resources: [../../../../../../etc]\n",
            )],
            "leaves the repository",
        ),
        (
            // A refused kustomization loaded through a harmless-looking one.
            "nested",
            &[
                ("app/kustomization.yaml", "resources: [../lib]\n"),
                ("lib/kustomization.yaml", "generators: [gen.yaml]\n"),
                ("lib/gen.yaml", plugin),
            ],
            "lib/gen.yaml: document 1: ChartInflator",
        ),
    ];
    for (name, files, needle) in cases {
        let dir = tree(t, name, files);
        let repo = t.join(format!("{name}-repo"));
        init(&repo);
        let sha = commit_tree(&repo, &dir, name);
        let out = run_in(t, &["reach", "--repo", repo.to_str().unwrap(), "app"]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(out.stdout.is_empty(), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with(&format!(
                "error: app at HEAD ({}): cannot render: ",
                &sha[..12]
            )),
            "{name}: {err}"
        );
        assert!(err.contains(needle), "{name}: {err}");
    }
    // The tool's own failure (an invalid resource) is reported with its message.
    let dir = tree(
        t,
        "broken",
        &[
            ("app/kustomization.yaml", "resources: [bad.yaml]\n"),
            ("app/bad.yaml", "kind: [\n"),
        ],
    );
    let repo = t.join("broken-repo");
    init(&repo);
    commit_tree(&repo, &dir, "broken");
    let out = run_in(
        t,
        &[
            "diff",
            "--repo",
            repo.to_str().unwrap(),
            "--base",
            "HEAD",
            "app",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // Every error of both sides, each naming its side and revision.
    assert!(
        err.starts_with("error: base: app at merge-base of HEAD and HEAD ("),
        "{err}"
    );
    assert!(err.contains("\nerror: head: app at HEAD ("), "{err}");
    assert!(err.contains("cannot render: "), "{err}");
    assert!(err.contains("kustomize") && err.contains("failed"), "{err}");
    assert!(err.contains("bad.yaml"), "{err}");
}

/// A kustomization that asks for a Helm chart is refused (kustomize would
/// need `--enable-helm` and network access).
#[test]
fn kustomize_helm_charts_are_refused() {
    if !have_kustomize("kustomize_helm_charts_are_refused") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let dir = tree(
        t,
        "s",
        &[(
            "app/kustomization.yaml",
            "helmCharts:\n- name: ingress-nginx\n  repo: https://kubernetes.github.io/ingress-nginx\n",
        )],
    );
    let repo = t.join("repo");
    init(&repo);
    commit_tree(&repo, &dir, "helm");
    let out = run_in(t, &["reach", "--repo", "repo", "app"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("app/kustomization.yaml: helmCharts: refused: kustomize would run helm"),
        "{err}"
    );
}

const CHART: &str = "apiVersion: v2\nname: web\nversion: 0.1.0\n";

const CHART_DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}, tier: {{ .Values.tier }}}
    spec:
      containers: [{name: c, image: i}]
";

/// A chart repository: a chart rendered with release, namespace and a values
/// file from configuration, and a policy that selects by a label the values
/// file sets.
fn chart_repo(t: &Path, tier_in_head: &str) -> PathBuf {
    // The chart and the policies beside it deploy into one cluster; left
    // to discovery they would be two (a chart, and the plain rest).
    let cfg = "\
environments:
- name: shop
  roots: [charts/web, policies]
render:
  charts:
  - path: charts/web
    release: shopfront
    namespace: shop
    values: [envs/prod.yaml]
";
    let np = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-frontend, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {matchLabels: {tier: frontend}}
";
    let mk = |name: &str, tier: &str| {
        let values = format!("tier: {tier}\n");
        tree(
            t,
            name,
            &[
                (".reachdiff.yaml", cfg),
                ("charts/web/Chart.yaml", CHART),
                ("charts/web/values.yaml", "tier: none\n"),
                ("charts/web/templates/deployment.yaml", CHART_DEPLOYMENT),
                ("envs/prod.yaml", &values),
                ("policies/ns.yaml", NS),
                ("policies/np.yaml", np),
            ],
        )
    };
    let s1 = mk("s1", "backend");
    let s2 = mk("s2", tier_in_head);
    let repo = t.join("repo");
    init(&repo);
    commit_tree(&repo, &s1, "one");
    git(&repo, &["checkout", "-q", "-b", "pr"]);
    commit_tree(&repo, &s2, "two");
    repo
}

/// A stand-in for helm that renders the test chart's template with sed:
/// enough to check what reachdiff passes (release, chart directory,
/// namespace, values files in order) and how it uses the output.
const FAKE_HELM: &str = r#"#!/bin/sh
[ "$1" = template ] || { echo "unexpected command $1" >&2; exit 9; }
[ "$2" = --skip-tests ] || { echo "tests not skipped" >&2; exit 9; }
shift 2
ns=default; tier=
while [ $# -gt 0 ]; do
  case $1 in
    --namespace=*) ns=${1#--namespace=}; shift;;
    --values=*) tier=$(sed -n 's/^tier: //p' "${1#--values=}"); shift;;
    --) shift; break;;
    *) echo "unexpected flag $1" >&2; exit 9;;
  esac
done
rel=$1; dir=$2
[ -n "$tier" ] || tier=$(sed -n 's/^tier: //p' "$dir/values.yaml")
echo '# Source: web/templates/deployment.yaml'
sed -e "s/{{ .Release.Name }}/$rel/g" -e "s/{{ .Release.Namespace }}/$ns/g" \
    -e "s/{{ .Values.tier }}/$tier/g" "$dir/templates/deployment.yaml"
"#;

/// Helm charts are rendered with `helm template` from the export of each
/// revision, with the configured release, namespace and values files. helm
/// is not installed where this project is built, so a stand-in script plays
/// its part (the real tool is exercised by `helm_chart_with_real_helm`).
#[test]
fn helm_chart_rendered_with_configured_values() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let bin = t.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let helm = bin.join("helm");
    std::fs::write(&helm, FAKE_HELM).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let repo = chart_repo(t, "frontend");
    let out = support::bin()
        .current_dir(t)
        .env("PATH", &path)
        .args([
            "diff", "--repo", "repo", "--base", "main", "--head", "pr", "--format", "json",
        ])
        .output()
        .unwrap();
    let json = ok(&out);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["environments"][0]["name"], "shop", "{json}");
    let opened = v["environments"][0]["report"]["opened"].as_array().unwrap();
    // The values file turns the release into a frontend: it may now reach itself.
    assert!(
        opened
            .iter()
            .any(|r| r["src"] == "shop/shopfront[Deployment]"
                && r["dst"] == "shop/shopfront[Deployment]"),
        "{json}"
    );
    assert!(
        json.contains("charts/web/templates/deployment.yaml"),
        "{json}"
    );
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
}

/// Without helm, a chart is an error that says what to do; with
/// `render: {helm: false}` its files are read as they are.
#[test]
fn helm_missing_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let empty = t.join("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    chart_repo(t, "frontend");
    let out = support::bin()
        .current_dir(t)
        .env("PATH", &empty)
        .args(["reach", "--repo", "repo", "--rev", "main"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: environment shop: charts/web at main ("),
        "{err}"
    );
    assert!(err.contains("helm is not installed"), "{err}");
    assert!(err.contains("render: {helm: false}"), "{err}");
}

/// The same chart through the real helm, when it is installed (CI
/// installs it: .ci/run).
#[test]
fn helm_chart_with_real_helm() {
    let Some(helm) = support::real_tool("helm") else {
        return support::skip("helm_chart_with_real_helm", "helm is not installed");
    };
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    chart_repo(t, "frontend");
    let out = support::bin()
        .current_dir(t)
        .env("PATH", support::path_with(helm.parent().unwrap()))
        .args([
            "diff", "--repo", "repo", "--base", "main", "--head", "pr", "--format", "json",
        ])
        .output()
        .unwrap();
    let json = ok(&out);
    assert!(json.contains("shop/shopfront[Deployment]"), "{json}");
    assert!(
        json.contains("charts/web/templates/deployment.yaml"),
        "{json}"
    );
}

/// `.reachdiff.yaml` names known external blocks (reports call them by
/// name) and `strict: true` makes introduced error findings fail the diff;
/// both come from the base.
#[test]
fn external_peer_names_and_strict_from_the_base() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    init(&repo);
    let config = ".reachdiff.yaml";
    let cfg = "strict: true\nexternal-peers:\n  partner-bank: [203.0.113.0/24]\n";
    let egress = |cidr: &str| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: api-egress, namespace: shop}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{{ipBlock: {{cidr: {cidr}}}}}]\n"
        )
    };
    let base = tree(
        t.path(),
        "base",
        &[
            (config, cfg),
            ("shop/ns.yaml", NS),
            ("shop/api.yaml", &deploy("api", "api")),
            ("shop/np.yaml", &egress("198.51.100.0/24")),
        ],
    );
    let a = commit_tree(&repo, &base, "base");
    // Head: egress to the partner, and an ingress rule open to everything
    // (an error-severity finding, ingress-from-anywhere).
    let open_ingress = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api-open, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - {}\n";
    let head = tree(
        t.path(),
        "head",
        &[
            (config, cfg),
            ("shop/ns.yaml", NS),
            ("shop/api.yaml", &deploy("api", "api")),
            ("shop/np.yaml", &egress("203.0.113.0/24")),
            ("shop/open.yaml", open_ingress),
        ],
    );
    let b = commit_tree(&repo, &head, "head");
    let out = run_in(
        &support::repo_root(),
        &[
            "diff",
            "--repo",
            repo.to_str().unwrap(),
            "--base",
            &a,
            "--head",
            &b,
            "--format",
            "md",
        ],
    );
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("**partner-bank**"), "{md}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "strict from the base config: {md}"
    );
    assert!(md.contains("`strict`"), "{md}");
}

/// Security issue 12, item 3: a pull request branched before a gate was
/// added is judged by the gate. Configuration and rules come from the tip
/// of the base branch, not from the merge-base (whose age the author
/// chooses); the diff still compares the merge-base with the head, and the
/// report says which commit the configuration came from.
#[test]
fn a_gate_added_after_the_branch_point_judges_the_pull_request() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let gate = "\
gates:
- name: nothing-new-into-shop
  forbid: opened
  to: {namespaces: [shop]}
";
    let (web, api) = (deploy("web", "web"), deploy("api", "api"));
    let deny = allow_from("deny", "web", "nobody");
    let other = deploy("other", "other");
    let open = allow_from("open", "web", "api");
    let old: [(&str, &str); 4] = [
        ("ns.yaml", NS),
        ("web.yaml", &web),
        ("api.yaml", &api),
        ("deny.yaml", &deny),
    ];
    let repo = t.join("repo");
    init(&repo);
    let branch_point = commit_tree(&repo, &tree(t, "a", &old), "before the gate");
    // main moves on: the gate arrives (and a file the pull request never saw).
    let mut main = old.to_vec();
    main.extend([(".reachdiff.yaml", gate), ("other.yaml", &other)]);
    let tip = commit_tree(&repo, &tree(t, "b", &main), "add the gate");
    // The pull request, branched before the gate, opens web to api.
    git(&repo, &["checkout", "-q", "-b", "pr", &branch_point]);
    let mut pr = old.to_vec();
    pr.push(("open.yaml", &open));
    commit_tree(&repo, &tree(t, "c", &pr), "open web to api");

    let (json, code) = git_diff(&repo, "main", "pr", &[]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(code, 1, "the gate of main's tip trips: {json}");
    assert_eq!(v["gates"][0]["name"], "nothing-new-into-shop", "{json}");
    assert_eq!(v["gates"][0]["passed"], false, "{json}");
    // Compared with the merge-base: main's later file is not "removed".
    assert_eq!(v["summary"]["workloads_base"], 2, "{json}");
    assert_eq!(v["summary"]["closed"], 0, "{json}");

    let out = run_in(
        t,
        &[
            "diff", "--repo", "repo", "--base", "main", "--head", "pr", "--format", "md",
        ],
    );
    let md = ok(&out);
    assert!(
        md.contains(&format!(
            "configuration: .reachdiff.yaml of main ({})",
            &tip[..12]
        )),
        "{md}"
    );
    assert!(md.contains("merge-base of main and pr ("), "{md}");
    let out = run_in(
        t,
        &["diff", "--repo", "repo", "--base", "main", "--head", "pr"],
    );
    let text = ok(&out);
    assert!(
        text.ends_with(&format!(
            "configuration: .reachdiff.yaml of main ({})\n",
            &tip[..12]
        )),
        "{text}"
    );
}
