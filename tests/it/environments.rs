//! Repositories of the shapes GitOps users have, built here and diffed with
//! no configuration (issue 14): base and overlays, an Argo CD app of apps,
//! a Flux fleet, a Helm chart with values per environment, and a tree with
//! an unrelated broken kustomization beside plain manifests. Each must give
//! one correct section per environment, with the exit status and check
//! outcome of the contract's table ("Several environments"); a root that
//! fails is reported and the rest analysed.

use crate::support::{self, git};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;

/// A repository in a temporary directory.
struct Repo {
    _tmp: tempfile::TempDir,
    path: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("repo");
        std::fs::create_dir(&path).unwrap();
        git(&path, &["init", "-q", "-b", "main"]);
        Repo { _tmp: tmp, path }
    }

    /// Commits exactly `files` (everything else removed) on the current
    /// branch.
    fn commit(&self, files: &[(&str, &str)], msg: &str) {
        for e in std::fs::read_dir(&self.path).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if p.is_dir() {
                std::fs::remove_dir_all(p).unwrap();
            } else {
                std::fs::remove_file(p).unwrap();
            }
        }
        for (p, t) in files {
            let f = self.path.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, t).unwrap();
        }
        git(&self.path, &["add", "-A"]);
        git(&self.path, &["commit", "-q", "--allow-empty", "-m", msg]);
    }

    /// `main` holds `base`, branch `pr` holds `head`.
    fn change(files_base: &[(&str, &str)], files_head: &[(&str, &str)]) -> Repo {
        let r = Repo::new();
        r.commit(files_base, "base");
        git(&r.path, &["checkout", "-q", "-b", "pr"]);
        r.commit(files_head, "head");
        r
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, None)
    }

    /// Runs reachdiff on this repository (`--repo` added after the
    /// command), with `dir` first on PATH when given.
    fn run_with(&self, args: &[&str], dir: Option<&std::path::Path>) -> Output {
        let mut cmd = support::bin();
        cmd.arg(args[0])
            .arg("--repo")
            .arg(&self.path)
            .args(&args[1..])
            .env_remove("NO_COLOR");
        if let Some(d) = dir {
            cmd.env("PATH", support::path_with(d));
        }
        cmd.output().unwrap()
    }

    /// `diff --base main --head pr` with `extra` arguments: stdout, stderr
    /// and exit status.
    fn diff(&self, extra: &[&str]) -> (String, String, i32) {
        let mut args = vec!["diff", "--base", "main", "--head", "pr"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code().unwrap(),
        )
    }

    /// The diff as JSON, with its exit status.
    fn diff_json(&self, extra: &[&str]) -> (Value, i32) {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(extra);
        let (out, err, code) = self.diff(&args);
        assert!(code == 0 || code == 1, "exit {code}: {err}");
        (serde_json::from_str(&out).expect(&out), code)
    }
}

/// The environment named `name` of a `diff-environments/v1` document.
fn env<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no environment {name} in {doc}"))
}

fn names(doc: &Value) -> Vec<String> {
    doc["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

/// `src → dst` of each opened (or closed) row of an environment's report,
/// between the repository's own endpoints: rows of representatives (the
/// default open world, docs/open-world.md) are the open-world tests' work.
fn rows(e: &Value, which: &str) -> Vec<String> {
    let representative = |id: &Value| {
        e["report"]["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == *id && x["class"] == "representative")
    };
    let mut v: Vec<String> = e["report"][which]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !representative(&r["src"]) && !representative(&r["dst"]))
        .map(|r| {
            format!(
                "{} -> {} {}",
                r["src"].as_str().unwrap(),
                r["dst"].as_str().unwrap(),
                r["protocol"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

fn have_kustomize(test: &str) -> bool {
    let found = reachdiff::source::render::Kustomize::detect().is_some();
    if !found {
        support::skip(test, "neither kubectl nor kustomize is installed");
    }
    found
}

fn deploy(name: &str, ns: Option<&str>) -> String {
    let ns = ns
        .map(|n| format!("\n  namespace: {n}"))
        .unwrap_or_default();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}{ns}\nspec:\n  \
         selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    \
         spec: {{containers: [{{name: main, image: nginx, ports: [{{containerPort: 8080}}]}}]}}\n"
    )
}

/// A policy that isolates `dst` for ingress and admits `from` (none:
/// nothing) on 8080.
fn ingress(name: &str, ns: Option<&str>, dst: &str, from: Option<&str>) -> String {
    let ns = ns
        .map(|n| format!("\n  namespace: {n}"))
        .unwrap_or_default();
    let rules = match from {
        Some(f) => format!(
            "\n  ingress:\n  - from: [{{podSelector: {{matchLabels: {{app: {f}}}}}}}]\n    ports: [{{port: 8080}}]"
        ),
        None => String::new(),
    };
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}{ns}\nspec:\n  \
         podSelector: {{matchLabels: {{app: {dst}}}}}\n  policyTypes: [Ingress]{rules}\n"
    )
}

fn namespace(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
}

// ---------------------------------------------------------------------
// Base and overlays

fn overlays(prod_allows_web: bool) -> Vec<(&'static str, String)> {
    let mut files = vec![
        (
            "base/kustomization.yaml",
            "resources: [web.yaml, db.yaml, np.yaml]\n".to_string(),
        ),
        ("base/web.yaml", deploy("web", None)),
        ("base/db.yaml", deploy("db", None)),
        ("base/np.yaml", ingress("db-deny", None, "db", None)),
        (
            "overlays/prod/kustomization.yaml",
            "namespace: prod\nresources: [../../base, ns.yaml]\n".to_string(),
        ),
        ("overlays/prod/ns.yaml", namespace("prod")),
        (
            "overlays/staging/kustomization.yaml",
            "namespace: staging\nresources: [../../base, ns.yaml]\n".to_string(),
        ),
        ("overlays/staging/ns.yaml", namespace("staging")),
        ("README.md", "# shop\n".to_string()),
    ];
    if prod_allows_web {
        files[4].1 = "namespace: prod\nresources: [../../base, ns.yaml, allow.yaml]\n".into();
        files.push((
            "overlays/prod/allow.yaml",
            ingress("db-from-web", None, "db", Some("web")),
        ));
    }
    files
}

fn refs<'a>(files: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    files.iter().map(|(p, t)| (*p, t.as_str())).collect()
}

/// The most common shape: a base and two overlays. Each overlay is a
/// cluster; the base is not one (the overlays include it). A change in one
/// overlay is that environment's section; the other is unchanged.
#[test]
fn base_and_overlays_are_two_environments() {
    if !have_kustomize("base_and_overlays_are_two_environments") {
        return;
    }
    let repo = Repo::change(&refs(&overlays(false)), &refs(&overlays(true)));
    let (doc, code) = repo.diff_json(&[]);
    assert_eq!(code, 0);
    assert_eq!(doc["schema"], "reachdiff/diff-environments/v1");
    assert_eq!(names(&doc), ["overlays/prod", "overlays/staging"]);
    let prod = env(&doc, "overlays/prod");
    assert_eq!(prod["status"], "ok");
    assert_eq!(prod["changed"], true);
    assert_eq!(
        rows(prod, "opened"),
        ["prod/web[Deployment] -> prod/db[Deployment] TCP"]
    );
    assert_eq!(rows(prod, "closed"), Vec::<String>::new());
    assert_eq!(
        prod["why"],
        "a kustomization that no other kustomization includes"
    );
    assert_eq!(doc["unchanged"], serde_json::json!(["overlays/staging"]));
    // A gate on opened paths trips in the environment that opened one.
    let (_, code) = repo.diff_json(&["--fail-on", "opened"]);
    assert_eq!(code, 1);
    // The comment: one section, the unchanged one named, why each is one.
    let (md, _, _) = repo.diff(&["--format", "md"]);
    assert!(
        md.contains("### reachdiff · overlays/prod · 🔓 1 path opened"),
        "{md}"
    );
    assert!(
        md.contains("**Unchanged environments:** `overlays/staging`"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>Environments (2)</summary>"),
        "{md}"
    );
    assert!(
        md.contains("- `overlays/staging`: a kustomization that no other kustomization includes"),
        "{md}"
    );
    // `reachdiff envs` says the same, one line each.
    let out = repo.run(&["envs", "--rev", "pr"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("2 environment(s), discovered of pr ("),
        "{text}"
    );
    assert!(text.contains("\noverlays/prod: a kustomization that no other kustomization includes\n  roots: overlays/prod\n"), "{text}");
}

/// An environment the head adds is empty on the base: everything in it
/// counts as opened.
#[test]
fn an_environment_added_by_the_head_is_empty_on_the_base() {
    if !have_kustomize("an_environment_added_by_the_head_is_empty_on_the_base") {
        return;
    }
    let base = overlays(false);
    let mut head = overlays(false);
    head.push((
        "overlays/dev/kustomization.yaml",
        "namespace: dev\nresources: [../../base]\n".into(),
    ));
    let repo = Repo::change(&refs(&base), &refs(&head));
    let (doc, code) = repo.diff_json(&[]);
    assert_eq!(code, 0);
    assert_eq!(
        names(&doc),
        ["overlays/dev", "overlays/prod", "overlays/staging"]
    );
    let dev = env(&doc, "overlays/dev");
    assert_eq!(dev["status"], "ok");
    assert_eq!(dev["report"]["summary"]["workloads_base"], 0);
    assert!(
        rows(dev, "opened").contains(&"dev/web[Deployment] -> dev/web[Deployment] TCP".to_string()),
        "{dev}"
    );
    assert_eq!(
        doc["unchanged"],
        serde_json::json!(["overlays/prod", "overlays/staging"])
    );
}

/// A head that breaks one overlay: that environment fails (no report, the
/// built-in gate `analysis-incomplete` trips, exit 1, every error named with
/// its file and revision); the other is analysed in full.
#[test]
fn a_broken_head_fails_its_environment_only() {
    if !have_kustomize("a_broken_head_fails_its_environment_only") {
        return;
    }
    let base = overlays(false);
    let mut head = overlays(false);
    head[4].1 = "namespace: prod\nresources: [../../base, ns.yaml, missing.yaml]\n".into();
    head.push((
        "overlays/staging/allow.yaml",
        ingress("db-from-web", None, "db", Some("web")),
    ));
    head[6].1 = "namespace: staging\nresources: [../../base, ns.yaml, allow.yaml]\n".into();
    let repo = Repo::change(&refs(&base), &refs(&head));
    let (doc, code) = repo.diff_json(&[]);
    assert_eq!(code, 1);
    let prod = env(&doc, "overlays/prod");
    assert_eq!(prod["status"], "head-failed");
    assert!(prod.get("report").is_none(), "{prod}");
    let errors = prod["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{prod}");
    assert_eq!(errors[0]["side"], "head");
    assert_eq!(errors[0]["file"], "overlays/prod");
    assert!(
        errors[0]["revision"].as_str().unwrap().starts_with("pr ("),
        "{prod}"
    );
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("missing.yaml"),
        "{prod}"
    );
    let staging = env(&doc, "overlays/staging");
    assert_eq!(staging["status"], "ok");
    assert_eq!(
        rows(staging, "opened"),
        ["staging/web[Deployment] -> staging/db[Deployment] TCP"]
    );
    // Markdown: the failed section says so; the gate is named.
    let (md, err, code) = repo.diff(&["--format", "md"]);
    assert_eq!(code, 1);
    assert!(
        md.contains("### reachdiff · overlays/prod · ⛔ not analysed"),
        "{md}"
    );
    assert!(
        md.contains("**Gate failed:** `analysis-incomplete`"),
        "{md}"
    );
    assert!(
        md.contains("### reachdiff · overlays/staging · 🔓 1 path opened"),
        "{md}"
    );
    assert!(
        err.contains("error: environment overlays/prod: head: overlays/prod at pr ("),
        "{err}"
    );
}

/// A base that cannot be analysed while the head can is a fix: the head is
/// compared against an empty cluster (every path counts as opened, so
/// gates see them) and the report says why.
#[test]
fn a_failed_base_is_compared_as_empty() {
    if !have_kustomize("a_failed_base_is_compared_as_empty") {
        return;
    }
    let mut base = overlays(false);
    base[4].1 = "namespace: prod\nresources: [../../base, ns.yaml, missing.yaml]\n".into();
    let repo = Repo::change(&refs(&base), &refs(&overlays(false)));
    let (doc, code) = repo.diff_json(&[]);
    assert_eq!(code, 0);
    let prod = env(&doc, "overlays/prod");
    assert_eq!(prod["status"], "base-failed");
    assert_eq!(prod["errors"][0]["side"], "base");
    assert_eq!(prod["report"]["summary"]["workloads_base"], 0);
    assert!(
        rows(prod, "opened")
            .contains(&"prod/web[Deployment] -> prod/web[Deployment] TCP".to_string()),
        "{prod}"
    );
    assert_eq!(doc["unchanged"], serde_json::json!(["overlays/staging"]));
    let (_, code) = repo.diff_json(&["--fail-on", "opened"]);
    assert_eq!(code, 1);
    let (md, _, _) = repo.diff(&["--format", "md"]);
    assert!(md.contains("⚠️ **The base could not be analysed**"), "{md}");
}

// ---------------------------------------------------------------------
// A broken unrelated kustomization

fn mixed(allow: bool) -> Vec<(&'static str, String)> {
    let mut files = vec![
        (
            "app/kustomization.yaml",
            "namespace: shop\nresources: [web.yaml, api.yaml, np.yaml]\n".to_string(),
        ),
        ("app/web.yaml", deploy("web", None)),
        ("app/api.yaml", deploy("api", None)),
        ("app/np.yaml", ingress("api", None, "api", None)),
        // A tutorial that fetches its resources: never rendered.
        (
            "docs/tutorial/kustomization.yaml",
            "resources: [https://example.com/tutorial/all.yaml]\n".to_string(),
        ),
        ("policies/shop-ns.yaml", namespace("shop")),
        // An Ansible playbook beside the manifests (a list of plays, its
        // Kubernetes objects inside tasks): another tool's file.
        (
            "ansible/site.yml",
            "- name: Deploy the shop\n  hosts: localhost\n  tasks:\n    - name: Namespace\n      kubernetes.core.k8s:\n        state: present\n        definition:\n          apiVersion: v1\n          kind: Namespace\n          metadata: {name: shop}\n".to_string(),
        ),
    ];
    if allow {
        files[3].1 = ingress("api", None, "api", Some("web"));
    }
    files
}

/// The unrelated broken kustomization fails alike on both sides (a warning
/// that does not trip), and the application and the plain manifests are
/// analysed in full.
#[test]
fn an_unrelated_broken_kustomization() {
    if !have_kustomize("an_unrelated_broken_kustomization") {
        return;
    }
    let repo = Repo::change(&refs(&mixed(false)), &refs(&mixed(true)));
    let (doc, code) = repo.diff_json(&[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(names(&doc), ["app", "docs/tutorial", "other-manifests"]);
    let app = env(&doc, "app");
    assert_eq!(
        rows(app, "opened"),
        ["shop/web[Deployment] -> shop/api[Deployment] TCP"]
    );
    let tutorial = env(&doc, "docs/tutorial");
    assert_eq!(tutorial["status"], "failed");
    assert_eq!(tutorial["changed"], true);
    let errors = tutorial["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{tutorial}");
    assert_eq!(errors[0]["side"], "base");
    assert_eq!(errors[1]["side"], "head");
    assert_eq!(errors[0]["message"], errors[1]["message"]);
    assert!(
        errors[1]["message"].as_str().unwrap().contains("remote"),
        "{tutorial}"
    );
    let rest = env(&doc, "other-manifests");
    assert_eq!(rest["status"], "ok", "{rest}");
    assert_eq!(
        rest["why"],
        "2 manifest file(s) outside every other environment: ansible, policies"
    );
    // The playbook is read and passed over, not an error: nothing of it
    // becomes an object, so the namespace is still only the policies' one.
    let playbook: Vec<_> = rest["report"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["file"] == "ansible/site.yml")
        .map(|d| {
            (
                d["code"].as_str(),
                d["severity"].as_str(),
                d["line"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        playbook,
        [(Some("skipped-kind"), Some("info"), Some(1)); 2],
        "{rest}"
    );
    let (md, _, _) = repo.diff(&["--format", "md"]);
    assert!(
        md.contains("### reachdiff · docs/tutorial · ⚠️ not analysed on either side"),
        "{md}"
    );
    // Excluded, the tutorial is neither discovered nor rendered.
    let mut base = mixed(false);
    let mut head = mixed(true);
    for f in [&mut base, &mut head] {
        f.push((".reachdiff.yaml", "exclude: ['docs/**']\n".into()));
    }
    let repo = Repo::change(&refs(&base), &refs(&head));
    let (doc, code) = repo.diff_json(&[]);
    assert_eq!(code, 0);
    assert_eq!(names(&doc), ["app", "other-manifests"]);
}

/// When no environment can be analysed on either side there is nothing to
/// report: exit 2, nothing on stdout, every error of both sides on stderr.
#[test]
fn nothing_analysable_is_exit_2_with_every_error() {
    let broken = |n: &str| {
        vec![
            (
                "a/kustomization.yaml",
                format!("resources: [https://example.com/{n}.yaml]\n"),
            ),
            (
                "b/kustomization.yaml",
                "resources: [gone.yaml]\n".to_string(),
            ),
        ]
    };
    let repo = Repo::change(&refs_owned(&broken("x")), &refs_owned(&broken("y")));
    let (out, err, code) = repo.diff(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    for needle in [
        "error: environment a: base: a at merge-base of main and pr (",
        "error: environment a: head: a at pr (",
        "error: environment b: base: b at merge-base of main and pr (",
        "error: environment b: head: b at pr (",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

fn refs_owned<'a>(files: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    files.iter().map(|(p, t)| (*p, t.as_str())).collect()
}

/// A configured root that matches nothing on either side fails its
/// environment; it is never an empty cluster that "did not change".
#[test]
fn a_configured_root_that_matches_nothing_fails_its_environment() {
    let cfg = "environments:\n- {name: prod, roots: [prod]}\n- {name: staging, roots: [stagign]}\n";
    let files = |allow: bool| {
        let mut f = vec![
            (".reachdiff.yaml", cfg.to_string()),
            ("prod/web.yaml", deploy("web", Some("shop"))),
            ("prod/api.yaml", deploy("api", Some("shop"))),
            ("prod/np.yaml", ingress("api", Some("shop"), "api", None)),
            ("staging/web.yaml", deploy("web", Some("shop"))),
        ];
        if allow {
            f[3].1 = ingress("api", Some("shop"), "api", Some("web"));
        }
        f
    };
    let repo = Repo::change(&refs_owned(&files(false)), &refs_owned(&files(true)));
    let (doc, code) = repo.diff_json(&[]);
    assert_eq!(code, 0);
    let staging = env(&doc, "staging");
    assert_eq!(staging["status"], "failed");
    let m = staging["errors"][1]["message"].as_str().unwrap();
    assert!(
        m.contains("environment \"staging\": root \"stagign\" matches nothing in"),
        "{m}"
    );
    assert_eq!(env(&doc, "prod")["status"], "ok");
    // Globs in roots are matched against each side's tree.
    let cfg = "environments:\n- {name: all, roots: ['*/np.yaml', 'prod/w*']}\n";
    let mut f = files(false);
    f[0].1 = cfg.to_string();
    let repo = Repo::change(&refs_owned(&f), &refs_owned(&f));
    let out = repo.run(&["envs", "--rev", "pr"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("all: configured in .reachdiff.yaml: */np.yaml, prod/w*\n  roots: prod/np.yaml prod/web.yaml\n"), "{text}");
}

// ---------------------------------------------------------------------
// Argo CD

fn application(name: &str, path: &str, server: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\n\
         spec:\n  project: default\n  source:\n    repoURL: https://git.example.com/shop.git\n    targetRevision: HEAD\n    \
         path: {path}\n  destination:\n    server: {server}\n    namespace: shop\n"
    )
}

const IN_CLUSTER: &str = "https://kubernetes.default.svc";

fn app_of_apps(allow: bool) -> Vec<(&'static str, String)> {
    let api_policy = if allow {
        ingress("api", Some("shop"), "api", Some("web"))
    } else {
        ingress("api", Some("shop"), "api", None)
    };
    vec![
        (
            "bootstrap/root.yaml",
            application("root", "apps", IN_CLUSTER),
        ),
        (
            "apps/frontend.yaml",
            application("frontend", "frontend", IN_CLUSTER),
        ),
        (
            "apps/backend.yaml",
            application("backend", "backend", IN_CLUSTER),
        ),
        (
            "apps/monitoring.yaml",
            application("monitoring", "monitoring", "https://ops.example.com"),
        ),
        ("frontend/web.yaml", deploy("web", Some("shop"))),
        ("backend/api.yaml", deploy("api", Some("shop"))),
        ("backend/np.yaml", api_policy),
        (
            "monitoring/prom.yaml",
            deploy("prometheus", Some("monitoring")),
        ),
        (
            "frontend/docs/example.yaml",
            deploy("example", Some("shop")),
        ),
    ]
}

/// An Argo CD app of apps: the root application deploys the folder of
/// applications, which deploy two paths into the same cluster. The two
/// paths are one cluster (the frontend's pods are the backend policy's
/// peers); the application for another cluster is a cluster of its own.
#[test]
fn argo_cd_app_of_apps() {
    let repo = Repo::change(&refs(&app_of_apps(false)), &refs(&app_of_apps(true)));
    let (doc, code) = repo.diff_json(&[]);
    assert_eq!(code, 0);
    assert_eq!(
        names(&doc),
        ["root@in-cluster", "root@ops.example.com", "other-manifests"]
    );
    let main = env(&doc, "root@in-cluster");
    assert_eq!(
        rows(main, "opened"),
        ["shop/web[Deployment] -> shop/api[Deployment] TCP"]
    );
    assert_eq!(
        main["why"],
        "Argo CD Application argocd/root (bootstrap/root.yaml) and 2 application(s) it deploys, \
         destination in-cluster: apps, backend, frontend"
    );
    assert_eq!(main["report"]["summary"]["workloads_head"], 2);
    // A directory application reads only its own folder, as Argo CD does;
    // the bootstrap file and the nested example are the plain rest.
    let rest = env(&doc, "other-manifests");
    assert!(
        rest["why"]
            .as_str()
            .unwrap()
            .starts_with("2 manifest file(s)"),
        "{rest}"
    );
    assert_eq!(
        doc["unchanged"],
        serde_json::json!(["root@ops.example.com", "other-manifests"])
    );
}

// ---------------------------------------------------------------------
// Flux

fn flux_sync(cluster: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\n\
         spec:\n  interval: 1m\n  url: ssh://git@git.example.com/fleet\n  ref: {{branch: main}}\n---\n\
         apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\n\
         spec:\n  interval: 10m\n  path: ./clusters/{cluster}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
    )
}

fn flux_kustomization(name: &str, path: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\n\
         spec:\n  interval: 10m\n  path: {path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
    )
}

fn fleet(allow: bool) -> Vec<(&'static str, String)> {
    let deny_all = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: shop}\n\
                    spec: {podSelector: {}, policyTypes: [Ingress]}\n";
    let mut files = vec![
        (
            "clusters/prod/flux-system/gotk-sync.yaml",
            flux_sync("prod"),
        ),
        (
            "clusters/prod/infrastructure.yaml",
            flux_kustomization("infrastructure", "./infrastructure"),
        ),
        (
            "clusters/prod/apps.yaml",
            flux_kustomization("apps", "./apps/prod"),
        ),
        (
            "clusters/staging/flux-system/gotk-sync.yaml",
            flux_sync("staging"),
        ),
        (
            "clusters/staging/infrastructure.yaml",
            flux_kustomization("infrastructure", "./infrastructure"),
        ),
        (
            "clusters/staging/apps.yaml",
            flux_kustomization("apps", "./apps/staging"),
        ),
        (
            "infrastructure/shop.yaml",
            format!("{}---\n{deny_all}", namespace("shop")),
        ),
        ("apps/prod/web.yaml", deploy("web", Some("shop"))),
        ("apps/prod/api.yaml", deploy("api", Some("shop"))),
        ("apps/staging/web.yaml", deploy("web", Some("shop"))),
        ("apps/staging/api.yaml", deploy("api", Some("shop"))),
    ];
    if allow {
        files.push((
            "apps/prod/allow.yaml",
            ingress("api-from-web", Some("shop"), "api", Some("web")),
        ));
    }
    files
}

/// A Flux fleet: each cluster's `flux-system` deploys its folder, whose
/// Kustomizations deploy the shared infrastructure and the cluster's apps.
/// Each cluster is one environment holding all three, so the shared
/// default-deny and the app's allow policy are judged together.
#[test]
fn flux_fleet() {
    let repo = Repo::change(&refs(&fleet(false)), &refs(&fleet(true)));
    let (doc, code) = repo.diff_json(&[]);
    assert_eq!(code, 0);
    assert_eq!(names(&doc), ["clusters/prod", "clusters/staging"]);
    let prod = env(&doc, "clusters/prod");
    assert_eq!(
        prod["why"],
        "Flux Kustomization flux-system/flux-system (clusters/prod/flux-system/gotk-sync.yaml) and 2 \
         Kustomization(s) it deploys: apps/prod, clusters/prod, infrastructure"
    );
    // Without the shared deny-all in the same cluster, the allow policy
    // would close paths instead of opening one.
    assert_eq!(
        rows(prod, "opened"),
        ["shop/web[Deployment] -> shop/api[Deployment] TCP"]
    );
    assert_eq!(rows(prod, "closed"), Vec::<String>::new());
    assert_eq!(doc["unchanged"], serde_json::json!(["clusters/staging"]));
}

// ---------------------------------------------------------------------
// Helm

const CHART: &str = "apiVersion: v2\nname: web\nversion: 0.1.0\n";

const TEMPLATE: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-client
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec: {containers: [{name: c, image: curl}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .Release.Name }}-web
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  {{- if .Values.openToClients }}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: 8080}]
  {{- end }}
";

fn chart(prod_open: bool) -> Vec<(&'static str, String)> {
    vec![
        ("charts/web/Chart.yaml", CHART.to_string()),
        (
            "charts/web/values.yaml",
            "openToClients: false\n".to_string(),
        ),
        (
            "charts/web/values-prod.yaml",
            format!("openToClients: {prod_open}\n"),
        ),
        (
            "charts/web/values-staging.yaml",
            "openToClients: true\n".to_string(),
        ),
        ("charts/web/templates/web.yaml", TEMPLATE.to_string()),
    ]
}

/// A Helm chart with a values file per environment: one environment per
/// values file, each rendered by the real helm with its own values.
#[test]
fn helm_chart_with_values_per_environment() {
    let Some(helm) = support::real_tool("helm") else {
        return support::skip(
            "helm_chart_with_values_per_environment",
            "helm is not installed",
        );
    };
    let repo = Repo::change(&refs(&chart(false)), &refs(&chart(true)));
    let out = repo.run_with(
        &["diff", "--base", "main", "--head", "pr", "--format", "json"],
        helm.parent(),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(names(&doc), ["charts/web:prod", "charts/web:staging"]);
    let prod = env(&doc, "charts/web:prod");
    assert_eq!(prod["why"], "a Helm chart, rendered with values-prod.yaml");
    assert_eq!(
        rows(prod, "opened"),
        ["default/web-client[Deployment] -> default/web-web[Deployment] TCP"]
    );
    assert_eq!(doc["unchanged"], serde_json::json!(["charts/web:staging"]));
    // Staging's values already open the path: its reach says so.
    let out = repo.run_with(
        &[
            "reach",
            "--rev",
            "main",
            "--format",
            "json",
            "--env",
            "charts/web:staging",
            "--to",
            "default/web-web",
        ],
        helm.parent(),
    );
    let reach = String::from_utf8(out.stdout).unwrap();
    assert!(reach.contains("default/web-client[Deployment]"), "{reach}");
}
