use super::*;
use crate::source::kustomize::tests::MemTree;

const BASE_NP: &str = "\
# the app's policy
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
spec:
  podSelector:
    matchLabels: {app: web}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: api}}
    ports:
    - port: 80
";

const BASE_DEPLOY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: nginx}]}
";

const PATCH: &str = "\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
spec:
  ingress:
  - from:
    - podSelector: {matchLabels: {app: api}}
    - namespaceSelector: {}
    ports:
    - port: 80
";

/// What `kubectl kustomize overlays/prod` prints for the tree below
/// (keys sorted, flow style expanded, a prefix and a namespace added).
const RENDERED: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    config.kubernetes.io/origin: |
      path: ../../base/deploy.yaml
  name: prod-api
  namespace: prod
spec:
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
      - image: nginx
        name: api
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  annotations:
    config.kubernetes.io/origin: |
      path: ../../base/np.yaml
  name: prod-web
  namespace: prod
spec:
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: api
    - namespaceSelector: {}
    ports:
    - port: 80
  podSelector:
    matchLabels:
      app: web
---
apiVersion: v1
data:
  a: b
kind: ConfigMap
metadata:
  annotations:
    config.kubernetes.io/origin: |
      configuredIn: kustomization.yaml
      configuredBy:
        apiVersion: builtin
        kind: ConfigMapGenerator
  name: prod-c-4h2mbtbbt6
  namespace: prod
";

fn tree() -> MemTree {
    MemTree::new(&[
        ("base/np.yaml", BASE_NP),
        ("base/deploy.yaml", BASE_DEPLOY),
        ("overlays/prod/patch.yaml", PATCH),
    ])
}

fn line_of(text: &str, needle: &str) -> u32 {
    text.lines().position(|l| l.contains(needle)).unwrap() as u32 + 1
}

fn at(map: &LineMap, line: u32) -> String {
    map.get(line)
        .map(|o| format!("{}:{}", o.file, o.line))
        .unwrap_or_default()
}

#[test]
fn kustomize_objects_and_fields_cite_their_source_lines() {
    let patches = [PatchSource {
        file: "overlays/prod/patch.yaml".into(),
        inline: None,
        json6902: false,
        target: None,
    }];
    let map = kustomize(RENDERED, "overlays/prod", &tree(), &patches);
    // The second Deployment of deploy.yaml, found by name despite the
    // prefix; an unchanged field cites its own line.
    assert_eq!(at(&map, 1), "base/deploy.yaml:9");
    assert_eq!(
        at(&map, line_of(RENDERED, "app: api")),
        "base/deploy.yaml:14"
    );
    // A field a transformer added (the namespace): the object's line.
    assert_eq!(at(&map, 8), "base/deploy.yaml:9");
    // The policy: unchanged fields in the base, the patched peer in the
    // patch file, where it is written.
    let np = 19;
    assert_eq!(at(&map, np), "base/np.yaml:2");
    let pod_selector = RENDERED
        .lines()
        .skip(np as usize)
        .position(|l| l == "  podSelector:")
        .unwrap() as u32
        + np
        + 1;
    assert_eq!(at(&map, pod_selector), "base/np.yaml:7");
    assert_eq!(
        at(&map, line_of(RENDERED, "namespaceSelector")),
        "overlays/prod/patch.yaml:9"
    );
    assert_eq!(at(&map, line_of(RENDERED, "- port: 80")), "base/np.yaml:13");
    // Generated: no origin file, no citation.
    let cm = line_of(RENDERED, "kind: ConfigMap");
    assert_eq!(at(&map, cm), "");
}

#[test]
fn json_patches_and_inline_patches_cite_the_operation() {
    let kustomization = "\
resources: [../../base]
patches:
- target: {kind: NetworkPolicy, name: web}
  patch: |-
    - op: add
      path: /spec/ingress/0/from/-
      value:
        namespaceSelector: {}
";
    let tree = MemTree::new(&[
        ("base/np.yaml", BASE_NP),
        ("overlays/prod/kustomization.yaml", kustomization),
    ]);
    let inline = "- op: add\n  path: /spec/ingress/0/from/-\n  value:\n    namespaceSelector: {}";
    let patches = [PatchSource {
        file: "overlays/prod/kustomization.yaml".into(),
        inline: Some(inline.into()),
        json6902: true,
        target: serde_yaml::from_str("{kind: NetworkPolicy, name: web}").ok(),
    }];
    let map = kustomize(RENDERED, "overlays/prod", &tree, &patches);
    assert_eq!(
        at(&map, line_of(RENDERED, "namespaceSelector")),
        "overlays/prod/kustomization.yaml:8"
    );
    assert_eq!(inline_offset(kustomization, inline), Some((4, 4)));
}

#[test]
fn an_ambiguous_or_missing_source_gives_no_citation() {
    let twice = format!("{BASE_NP}---\n{BASE_NP}");
    let tree = MemTree::new(&[("base/np.yaml", &twice), ("base/deploy.yaml", BASE_DEPLOY)]);
    let map = kustomize(RENDERED, "overlays/prod", &tree, &[]);
    assert_eq!(at(&map, 19), "");
    assert_eq!(at(&map, 1), "base/deploy.yaml:9");
    let map = kustomize(RENDERED, "overlays/prod", &MemTree::new(&[]), &[]);
    assert!(map.is_empty());
    // A remote origin (a `repo`) is never cited.
    let remote = RENDERED.replace(
        "path: ../../base/np.yaml",
        "repo: https://github.com/o/r\n      path: np.yaml",
    );
    let map = kustomize(&remote, "overlays/prod", &self::tree(), &[]);
    assert_eq!(at(&map, 19), "");
}

#[test]
fn helm_documents_cite_their_template() {
    let templates = MemTree::new(&[
        (
            "charts/web/templates/two.yaml",
            "{{- if .Values.on }}\n# first\napiVersion: v1\nkind: Service\n---\n\napiVersion: apps/v1\nkind: Deployment\n{{- end }}\n",
        ),
        (
            "charts/web/templates/range.yaml",
            "{{- range .Values.names }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ . }}}\n{{- end }}\n",
        ),
    ]);
    let rendered = "\
---
# Source: web/templates/two.yaml
apiVersion: v1
kind: Service
---
# Source: web/templates/two.yaml
apiVersion: apps/v1
kind: Deployment
---
# Source: web/templates/range.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
# Source: web/templates/range.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
---
# Source: web/templates/missing.yaml
kind: X
";
    let map = helm(rendered, "charts/web", &templates);
    assert_eq!(at(&map, 3), "charts/web/templates/two.yaml:3");
    assert_eq!(at(&map, 8), "charts/web/templates/two.yaml:7");
    assert_eq!(at(&map, 13), "charts/web/templates/range.yaml:3");
    assert_eq!(at(&map, 18), "charts/web/templates/range.yaml:3");
    assert_eq!(at(&map, 21), "");
}

#[test]
fn origin_annotations_are_added_to_the_root_kustomization() {
    let add = |text: &str| -> serde_json::Value {
        serde_json::from_str(&with_origin_annotations(text.as_bytes()).unwrap()).unwrap()
    };
    let v = add("resources: [a.yaml]\ncommonLabels: {enabled: 'on'}\n");
    assert_eq!(v["buildMetadata"], serde_json::json!(["originAnnotations"]));
    // Quoted strings stay strings (JSON, which no YAML version reads otherwise).
    assert_eq!(v["commonLabels"]["enabled"], "on");
    let v = add("BuildMetadata: [managedByLabel]\n");
    assert_eq!(
        v["BuildMetadata"],
        serde_json::json!(["managedByLabel", "originAnnotations"])
    );
    let v = add("buildMetadata: [originAnnotations]\n");
    assert_eq!(v["buildMetadata"], serde_json::json!(["originAnnotations"]));
    assert_eq!(
        add("")["buildMetadata"],
        serde_json::json!(["originAnnotations"])
    );
    assert!(with_origin_annotations(b"- a\n").is_err());
}

/// One template, several kinds, some behind conditions (the shape of a
/// chart with one file per service): each document is told apart by the
/// kind it writes out.
#[test]
fn helm_documents_of_one_template_are_told_apart_by_kind() {
    let template = "\
{{- if .Values.serviceAccounts.create }}
apiVersion: v1
kind: ServiceAccount
metadata: {name: cart}
---
{{- end }}
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart}
---
apiVersion: v1
kind: Service
metadata: {name: cart}
{{- if .Values.networkPolicies.create }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: cart}
{{- end }}
";
    let tree = MemTree::new(&[("chart/templates/cart.yaml", template)]);
    let rendered = "\
---
# Source: shop/templates/cart.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart}
---
# Source: shop/templates/cart.yaml
apiVersion: v1
kind: Service
metadata: {name: cart}
---
# Source: shop/templates/cart.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: cart}
";
    let map = helm(rendered, "chart", &tree);
    assert_eq!(at(&map, 4), "chart/templates/cart.yaml:7");
    assert_eq!(at(&map, 9), "chart/templates/cart.yaml:11");
    assert_eq!(at(&map, 14), "chart/templates/cart.yaml:16");
}
