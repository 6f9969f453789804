use super::*;

/// A tree in memory.
struct Mem {
    files: Vec<String>,
    texts: BTreeMap<String, Arc<str>>,
}

fn tree(files: &[(&str, &str)]) -> Mem {
    let texts: BTreeMap<String, Arc<str>> = files
        .iter()
        .map(|(p, t)| (p.to_string(), Arc::from(*t)))
        .collect();
    Mem {
        files: texts.keys().cloned().collect(),
        texts,
    }
}

impl Snapshot for Mem {
    fn files(&self) -> &[String] {
        &self.files
    }
    fn text(&self, path: &str) -> Option<Arc<str>> {
        self.texts.get(path).cloned()
    }
}

fn all(_: &str) -> bool {
    true
}

fn names(d: &Discovery) -> Vec<&str> {
    d.found.iter().map(|f| f.name.as_str()).collect()
}

fn roots<'a>(d: &'a Discovery, name: &str) -> Vec<&'a str> {
    d.found
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.roots.iter().map(|r| r.path.as_str()).collect())
        .unwrap_or_default()
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n";

#[test]
fn base_and_overlays_are_two_clusters() {
    let t = tree(&[
        ("base/kustomization.yaml", "resources: [web.yaml]\n"),
        ("base/web.yaml", DEPLOY),
        (
            "overlays/prod/kustomization.yaml",
            "resources: [../../base]\nnamespace: prod\n",
        ),
        (
            "overlays/staging/kustomization.yaml",
            "resources:\n- ../../base\npatches:\n- path: ../../patches/replicas.yaml\n",
        ),
        ("patches/replicas.yaml", DEPLOY),
        ("README.md", "# hi"),
    ]);
    let d = discover(&t, &all);
    assert_eq!(names(&d), ["overlays/prod", "overlays/staging"]);
    assert_eq!(roots(&d, "overlays/prod"), ["overlays/prod"]);
    assert!(
        d.found[0].why.contains("no other kustomization includes"),
        "{:?}",
        d.found[0]
    );
}

#[test]
fn plain_manifests_are_the_whole_tree() {
    let t = tree(&[("a/web.yaml", DEPLOY), ("b/db.yaml", DEPLOY)]);
    let d = discover(&t, &all);
    assert_eq!(names(&d), [REST_NAME]);
    assert_eq!(roots(&d, REST_NAME), [""]);
}

#[test]
fn plain_folders_beside_kustomizations_are_one_more_cluster() {
    let t = tree(&[
        ("app/kustomization.yaml", "resources: [web.yaml]\n"),
        ("app/web.yaml", DEPLOY),
        (
            "tutorial/kustomization.yaml",
            "resources: [https://example.com/x.yaml]\n",
        ),
        ("ansible/playbook.yml", "- hosts: all\n  tasks: []\n"),
        ("policies/np.yaml", "kind: NetworkPolicy\n"),
    ]);
    let d = discover(&t, &all);
    assert_eq!(names(&d), ["app", "tutorial", REST_NAME]);
    assert_eq!(
        roots(&d, REST_NAME),
        ["ansible/playbook.yml", "policies/np.yaml"]
    );
}

#[test]
fn excluded_paths_are_never_looked_at() {
    let t = tree(&[
        ("app/kustomization.yaml", "resources: [web.yaml]\n"),
        ("app/web.yaml", DEPLOY),
        ("legacy/kustomization.yaml", "resources: [x.yaml]\n"),
        ("legacy/x.yaml", DEPLOY),
    ]);
    let d = discover(&t, &|p: &str| !glob_match("legacy/**", p));
    assert_eq!(names(&d), ["app"]);
}

#[test]
fn components_and_nested_bases_are_not_roots() {
    let t = tree(&[
        ("k/base/kustomization.yaml", "resources: [web.yaml]\n"),
        ("k/base/web.yaml", DEPLOY),
        ("k/components/np/kustomization.yaml", "kind: Component\n"),
        ("k/mid/kustomization.yaml", "bases: [../base]\n"),
        (
            "k/top/kustomization.yaml",
            "resources: [../mid]\ncomponents: [../components/np]\n",
        ),
    ]);
    let d = discover(&t, &all);
    assert_eq!(names(&d), ["k/top"]);
}

/// microservices-demo's shape: optional components that the main
/// kustomization lists only in comments. A Component alone does not
/// render (kubectl refuses it too), so it is noted, never a cluster.
#[test]
fn components_no_kustomization_lists_are_noted_not_clusters() {
    let t = tree(&[
        (
            "kustomize/base/kustomization.yaml",
            "resources: [web.yaml]\n",
        ),
        ("kustomize/base/web.yaml", DEPLOY),
        (
            "kustomize/kustomization.yaml",
            "resources: [base]\n# components:\n# - components/np\n",
        ),
        (
            "kustomize/components/np/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches: []\n",
        ),
    ]);
    let d = discover(&t, &all);
    assert_eq!(names(&d), ["kustomize"]);
    assert!(
        d.notes
            .iter()
            .any(|n| n.starts_with("kustomize/components/np: a kustomize Component")),
        "{:?}",
        d.notes
    );
}

fn app(name: &str, path: &str, server: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\n\
         spec:\n  source:\n    repoURL: https://git.example.com/r.git\n    path: {path}\n  \
         destination:\n    server: {server}\n    namespace: {name}\n"
    )
}

#[test]
fn argo_app_of_apps_is_one_cluster() {
    let root = app("root", "apps", "https://kubernetes.default.svc");
    let a = app("guestbook", "guestbook", "https://kubernetes.default.svc");
    let b = app(
        "shop",
        "shop/overlays/prod",
        "https://kubernetes.default.svc",
    );
    let t = tree(&[
        ("bootstrap/root.yaml", &root),
        ("apps/guestbook.yaml", &a),
        ("apps/shop.yaml", &b),
        ("guestbook/web.yaml", DEPLOY),
        ("guestbook/nested/ignored.yaml", DEPLOY),
        ("shop/base/kustomization.yaml", "resources: [web.yaml]\n"),
        ("shop/base/web.yaml", DEPLOY),
        (
            "shop/overlays/prod/kustomization.yaml",
            "resources: [../../base]\n",
        ),
        (
            "shop/overlays/dev/kustomization.yaml",
            "resources: [../../base]\n",
        ),
    ]);
    let d = discover(&t, &all);
    assert_eq!(
        names(&d),
        ["root", "shop/overlays/dev", REST_NAME],
        "{d:#?}"
    );
    assert_eq!(
        roots(&d, "root"),
        [
            "apps/guestbook.yaml",
            "apps/shop.yaml",
            "guestbook/web.yaml",
            "shop/overlays/prod"
        ]
    );
    let why = &d.found[0].why;
    assert!(
        why.contains("Argo CD Application argocd/root (bootstrap/root.yaml) and 2 application(s)"),
        "{why}"
    );
    // The bootstrap file is applied by hand; a non-recursive directory
    // application leaves its subfolders out.
    assert_eq!(
        roots(&d, REST_NAME),
        ["bootstrap/root.yaml", "guestbook/nested/ignored.yaml"]
    );
}

#[test]
fn argo_destinations_split_clusters() {
    let p = app("web-prod", "web/prod", "https://prod.example.com:6443");
    let s = app("web-staging", "web/staging", "https://staging.example.com");
    let t = tree(&[
        ("argocd/prod.yaml", &p),
        ("argocd/staging.yaml", &s),
        ("web/prod/kustomization.yaml", "resources: [../base]\n"),
        ("web/staging/kustomization.yaml", "resources: [../base]\n"),
        ("web/base/kustomization.yaml", "resources: [web.yaml]\n"),
        ("web/base/web.yaml", DEPLOY),
    ]);
    let d = discover(&t, &all);
    assert_eq!(names(&d), ["web-prod", "web-staging", REST_NAME]);
    assert_eq!(roots(&d, "web-prod"), ["web/prod"]);
}

#[test]
fn argo_paths_of_other_repositories_are_noted() {
    let a = app("x", "not/here", "https://kubernetes.default.svc");
    let chart = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: redis}\n\
                 spec:\n  source: {repoURL: https://charts.example.com, chart: redis}\n";
    let t = tree(&[
        ("apps/x.yaml", &a),
        ("apps/redis.yaml", chart),
        ("k/web.yaml", DEPLOY),
    ]);
    let d = discover(&t, &all);
    assert_eq!(names(&d), [REST_NAME]);
    assert_eq!(roots(&d, REST_NAME), [""]);
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("\"not/here\" is not a directory")),
        "{:?}",
        d.notes
    );
    assert!(
        d.notes.iter().any(|n| n.contains("Helm repository")),
        "{:?}",
        d.notes
    );
}

#[test]
fn argo_helm_application_carries_values() {
    let a = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web-prod}\n\
             spec:\n  destination: {name: prod, namespace: shop}\n  source:\n    path: charts/web\n    \
             helm:\n      releaseName: web\n      valueFiles: [values-prod.yaml, ../../missing.yaml]\n";
    let t = tree(&[
        ("argocd/web-prod.yaml", a),
        ("charts/web/Chart.yaml", "name: web\n"),
        ("charts/web/values.yaml", "x: 1\n"),
        ("charts/web/values-prod.yaml", "x: 2\n"),
        ("charts/web/values-staging.yaml", "x: 3\n"),
        ("charts/web/templates/d.yaml", "{{ .Values.x }}\n"),
    ]);
    let d = discover(&t, &all);
    assert_eq!(names(&d), ["web-prod", REST_NAME], "{d:#?}");
    let r = &d.found[0].roots[0];
    assert_eq!(r.path, "charts/web");
    assert_eq!(
        r.chart,
        Some(ChartValues {
            release: Some("web".into()),
            namespace: Some("shop".into()),
            values: vec!["charts/web/values-prod.yaml".into()],
        })
    );
    assert!(
        d.notes.iter().any(|n| n.contains("missing.yaml")),
        "{:?}",
        d.notes
    );
}

#[test]
fn chart_values_variants_are_clusters() {
    let t = tree(&[
        ("charts/web/Chart.yaml", "name: web\n"),
        ("charts/web/values.yaml", "x: 1\n"),
        ("charts/web/values-prod.yaml", "x: 2\n"),
        ("charts/web/values.staging.yaml", "x: 3\n"),
        ("charts/web/values.schema.json", "{}"),
        ("charts/web/templates/d.yaml", "{{ .Values.x }}\n"),
        ("charts/web/charts/sub/Chart.yaml", "name: sub\n"),
        ("charts/db/Chart.yaml", "name: db\n"),
    ]);
    let d = discover(&t, &all);
    assert_eq!(
        names(&d),
        ["charts/db", "charts/web:prod", "charts/web:staging"]
    );
    assert_eq!(
        d.found[1].roots[0].chart.as_ref().map(|c| c.values.clone()),
        Some(vec!["charts/web/values-prod.yaml".to_string()])
    );
}

#[test]
fn application_set_generators() {
    let list = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: envs}\n\
                spec:\n  generators:\n  - list:\n      elements:\n      - {env: prod, cluster: https://prod}\n      \
                - {env: dev, cluster: https://dev}\n  template:\n    metadata: {name: 'web-{{env}}'}\n    \
                spec:\n      source: {path: 'web/{{env}}'}\n      destination: {server: '{{cluster}}'}\n";
    let git = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: addons}\n\
               spec:\n  goTemplate: true\n  generators:\n  - git:\n      repoURL: x\n      directories:\n      \
               - path: addons/*\n      - {path: addons/skip, exclude: true}\n  template:\n    \
               metadata: {name: '{{.path.basename}}'}\n    spec:\n      source: {path: '{{ .path.path }}'}\n      \
               destination: {server: https://kubernetes.default.svc}\n";
    let t = tree(&[
        ("sets/list.yaml", list),
        ("sets/git.yaml", git),
        ("web/prod/np.yaml", DEPLOY),
        ("web/dev/np.yaml", DEPLOY),
        ("addons/dns/d.yaml", DEPLOY),
        ("addons/mesh/d.yaml", DEPLOY),
        ("addons/skip/d.yaml", DEPLOY),
    ]);
    let d = discover(&t, &all);
    assert_eq!(
        names(&d),
        ["dns", "mesh", "web-dev", "web-prod", REST_NAME],
        "{d:#?}"
    );
    assert_eq!(roots(&d, "web-prod"), ["web/prod/np.yaml"]);
    assert_eq!(
        roots(&d, REST_NAME),
        ["addons/skip/d.yaml", "sets/git.yaml", "sets/list.yaml"]
    );
}

fn flux_sync(cluster: &str, url: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {{name: flux-system, namespace: flux-system}}\n\
         spec: {{url: {url}}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n\
         metadata: {{name: flux-system, namespace: flux-system}}\nspec:\n  path: ./clusters/{cluster}\n  \
         sourceRef: {{kind: GitRepository, name: flux-system}}\n"
    )
}

fn flux_ks(name: &str, path: &str, source: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: {name}, namespace: flux-system}}\n\
         spec:\n  path: {path}\n  sourceRef: {{kind: GitRepository, name: {source}}}\n"
    )
}

#[test]
fn flux_fleet_clusters() {
    let tenant_repo = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n\
                       metadata: {name: team, namespace: flux-system}\nspec: {url: https://git.example.com/team}\n";
    let t = tree(&[
        (
            "clusters/prod/flux-system/gotk-sync.yaml",
            &flux_sync("prod", "ssh://git@git.example.com/fleet.git"),
        ),
        (
            "clusters/prod/flux-system/kustomization.yaml",
            "resources: [gotk-sync.yaml]\n",
        ),
        (
            "clusters/prod/apps.yaml",
            &flux_ks("apps", "./apps/prod", "flux-system"),
        ),
        (
            "clusters/prod/team.yaml",
            &format!(
                "{tenant_repo}---\n{}",
                flux_ks("team", "./apps/prod", "team")
            ),
        ),
        (
            "clusters/staging/flux-system/gotk-sync.yaml",
            &flux_sync("staging", "https://git.example.com/fleet"),
        ),
        (
            "clusters/staging/apps.yaml",
            &flux_ks("apps", "./apps/staging", "flux-system"),
        ),
        ("apps/base/kustomization.yaml", "resources: [web.yaml]\n"),
        ("apps/base/web.yaml", DEPLOY),
        ("apps/prod/kustomization.yaml", "resources: [../base]\n"),
        ("apps/staging/kustomization.yaml", "resources: [../base]\n"),
    ]);
    let d = discover(&t, &all);
    assert_eq!(names(&d), ["clusters/prod", "clusters/staging"], "{d:#?}");
    assert_eq!(roots(&d, "clusters/prod"), ["apps/prod", "clusters/prod"]);
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("team") && n.contains("another repository")),
        "{:?}",
        d.notes
    );
    assert!(d.found[0].why.starts_with(
        "Flux Kustomization flux-system/flux-system (clusters/prod/flux-system/gotk-sync.yaml) and 1 Kustomization(s) it deploys"
    ), "{}", d.found[0].why);
}

/// The Flux multi-tenancy shape: the bootstrap source is not in the tree,
/// and a tenant's `GitRepository` (this URL at the tenant's branch)
/// deploys `./`. The tenant is another tree; production and staging stay
/// two clusters instead of one that holds both.
#[test]
fn flux_tenant_at_the_root_of_another_branch() {
    let tenant = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n\
                  metadata: {name: team, namespace: apps}\n\
                  spec: {url: https://git.example.com/fleet, ref: {branch: team}}\n---\n\
                  apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n\
                  metadata: {name: team, namespace: apps}\n\
                  spec: {sourceRef: {kind: GitRepository, name: team}}\n";
    let t = tree(&[
        (
            "clusters/prod/tenants.yaml",
            &flux_ks("tenants", "./tenants/prod", "flux-system"),
        ),
        (
            "clusters/staging/tenants.yaml",
            &flux_ks("tenants", "./tenants/staging", "flux-system"),
        ),
        (
            "tenants/base/team/kustomization.yaml",
            "resources: [sync.yaml]\n",
        ),
        ("tenants/base/team/sync.yaml", tenant),
        (
            "tenants/prod/kustomization.yaml",
            "resources: [../base/team]\n",
        ),
        (
            "tenants/staging/kustomization.yaml",
            "resources: [../base/team]\n",
        ),
    ]);
    let d = discover(&t, &all);
    assert_eq!(
        names(&d),
        ["tenants/prod", "tenants/staging", REST_NAME],
        "{d:#?}"
    );
    assert_eq!(roots(&d, "tenants/prod"), ["tenants/prod"]);
    assert!(
        d.notes.iter().any(|n| n.contains("apps/team")
            && n.contains("(branch: team)")
            && n.contains("is not known to be this repository")),
        "{:?}",
        d.notes
    );
}

#[test]
fn helpers() {
    assert_eq!(resolve("a/b", "../c").as_deref(), Some("a/c"));
    assert_eq!(resolve("a", "../../c"), None);
    assert_eq!(resolve("", "./x/"), Some("x".into()));
    assert_eq!(values_variant("values-prod.yaml"), Some("prod"));
    assert_eq!(values_variant("values.yaml"), None);
    assert_eq!(values_variant("values.schema.yaml"), None);
    assert_eq!(
        gitops::normalize_url("git@github.com:O/R.git"),
        "github.com/o/r"
    );
    assert_eq!(
        gitops::normalize_url("https://github.com/o/r/"),
        "github.com/o/r"
    );
    let files: Vec<String> = ["apps-x/a", "apps.yaml", "apps/a", "apps/b/c", "apps0/z"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let idx = Index::new(&files);
    assert_eq!(
        idx.under("apps").collect::<Vec<_>>(),
        ["apps/a", "apps/b/c"]
    );
    assert_eq!(idx.children("apps").collect::<Vec<_>>(), ["apps/a"]);
    assert!(idx.is_dir("apps/b") && !idx.is_dir("apps/a"));
}
