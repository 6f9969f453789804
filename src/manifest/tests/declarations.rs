//! What an object is and how often it is declared: apiVersion and kind,
//! names (`generateName`, none), removed API versions, second declarations
//! and keys written twice, judged by whether the verdict can depend on them.

use super::{load_files, render, warnings};
use crate::diag::Severity;

const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {team: a}\n";

fn errors(files: &[(&str, &str)]) -> String {
    render(&load_files(files).1, Severity::Error)
}

// ---------------------------------------------------------------------------
// Keys written twice
// ---------------------------------------------------------------------------

#[test]
fn duplicate_key_that_no_verdict_reads_is_a_warning() {
    // A Service's metadata, a ConfigMap's data, a container's image: kubectl
    // keeps the later value and nothing the analysis reads changes.
    let text = "apiVersion: v1
kind: Service
metadata:
  name: cart
  namespace: shop
  labels: {app: cart}
  labels: {app: cart2}
spec:
  selector: {app: cart}
  selector: {app: other}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {a: '1', a: '2'}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  replicas: 2
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: web:1
        image: web:2
";
    let (inv, diags) = load_files(&[("a.yaml", text)]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!(inv.workloads.len(), 1);
    insta::assert_snapshot!(warnings(&diags), @r#"
    duplicate-key: a.yaml:7:3: Service shop/cart: duplicate key "labels" (first at line 6); the later value is kept, as kubectl does, and reachdiff does not read this field
    duplicate-key: a.yaml:10:3: Service shop/cart: duplicate key "selector" (first at line 9); the later value is kept, as kubectl does, and this object cannot change a verdict
    duplicate-key: a.yaml:15:16: ConfigMap shop/cfg: duplicate key "a" (first at line 15); the later value is kept, as kubectl does, and reachdiff does not read this field
    duplicate-key: a.yaml:22:3: Deployment shop/web: duplicate key "replicas" (first at line 21); the later value is kept, as kubectl does, and reachdiff does not read this field
    duplicate-key: a.yaml:29:9: Deployment shop/web: duplicate key "image" (first at line 28); the later value is kept, as kubectl does, and reachdiff does not read this field
    "#);
}

#[test]
fn duplicate_key_the_verdict_reads_is_an_error_unless_the_values_agree() {
    let text = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: web}
      labels: {app: api}
    spec: {containers: [{name: web}]}
";
    insta::assert_snapshot!(errors(&[("w.yaml", text)]), @r#"duplicate-key: w.yaml:8:7: Deployment shop/web: duplicate key "labels" with a different value (first at line 7); the verdict depends on which one the API server keeps"#);
    let same = text.replace("{app: api}", "{app: web}");
    let (_, diags) = load_files(&[("w.yaml", &same)]);
    assert_eq!(render(&diags, Severity::Error), "");
    insta::assert_snapshot!(warnings(&diags), @r#"duplicate-key: w.yaml:8:7: Deployment shop/web: duplicate key "labels" (first at line 7); both values are the same"#);
    // A Namespace's labels decide namespaceSelectors.
    let ns = NS.replace(
        "  labels: {team: a}\n",
        "  labels: {team: a}\n  labels: {team: b}\n",
    );
    insta::assert_snapshot!(errors(&[("ns.yaml", &ns)]), @r#"duplicate-key: ns.yaml:6:3: Namespace shop: duplicate key "labels" with a different value (first at line 5); the verdict depends on which one the API server keeps"#);
    // A values file is no object: nothing reads it.
    let (_, diags) = load_files(&[("values.yaml", "replicas: 1\nreplicas: 2\n")]);
    assert_eq!(render(&diags, Severity::Error), "");
}

#[test]
fn two_kinds_in_one_object_is_an_error_whatever_the_kinds() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nkind: Secret\n";
    insta::assert_snapshot!(errors(&[("a.yaml", text)]), @r#"duplicate-key: a.yaml:4:1: Secret a: duplicate key "kind" with a different value (first at line 2); what this object is depends on which one the API server keeps"#);
}

// ---------------------------------------------------------------------------
// Second declarations
// ---------------------------------------------------------------------------

#[test]
fn namespace_declared_again_with_the_same_labels_is_a_warning() {
    let (inv, diags) = load_files(&[("app/ns.yaml", NS), ("policies/ns.yaml", NS)]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!(inv.namespaces.len(), 1);
    insta::assert_snapshot!(warnings(&diags), @"duplicate-object: policies/ns.yaml:1:1: Namespace shop: declared again with the same labels (first at app/ns.yaml:1:1); the later declaration is used; if these are separate environments (base and overlays, one folder per cluster), list them under `environments:` in .reachdiff.yaml");
    let other = NS.replace("team: a", "team: b");
    insta::assert_snapshot!(errors(&[("app/ns.yaml", NS), ("policies/ns.yaml", &other)]), @"duplicate-object: policies/ns.yaml:1:1: Namespace shop: declared twice with different content (first at app/ns.yaml:1:1); which one the cluster keeps decides the verdict; if these are separate environments (base and overlays, one folder per cluster), list them under `environments:` in .reachdiff.yaml");
}

#[test]
fn objects_that_cannot_change_a_verdict_may_be_declared_twice() {
    let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec: {selector: {app: cart}, ports: [{port: 80}]}\n";
    let svc2 = svc.replace("port: 80", "port: 81");
    let cm =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\ndata: {a: '1'}\n";
    let cm2 = cm.replace("'1'", "'2'");
    let (inv, diags) = load_files(&[
        ("a.yaml", &format!("{svc}---\n{cm}")),
        ("b.yaml", &format!("{svc2}---\n{cm2}")),
    ]);
    assert_eq!(render(&diags, Severity::Error), "");
    // The later one is kept, as `kubectl apply` of the tree would.
    assert_eq!(inv.services[0].ports[0].port, 81);
    insta::assert_snapshot!(warnings(&diags), @r"
    duplicate-object: b.yaml:1:1: Service shop/cart: declared again (first at a.yaml:1:1); the later declaration is used, and it cannot change a verdict
    duplicate-object: b.yaml:6:1: ConfigMap shop/cfg: declared again (first at a.yaml:6:1); the later declaration is used, and it cannot change a verdict
    ");
    // Same name, other group or kind: other objects.
    let secret = cm.replace("ConfigMap", "Secret");
    let (_, diags) = load_files(&[("a.yaml", cm), ("b.yaml", &secret)]);
    assert_eq!(warnings(&diags), "");
}

// ---------------------------------------------------------------------------
// apiVersion, kind, shapes
// ---------------------------------------------------------------------------

#[test]
fn half_identified_objects_are_errors() {
    insta::assert_snapshot!(errors(&[("a.yaml", "apiVersion: v1\nmetadata: {name: a}\n")]), @"invalid-object: a.yaml:1:1: kind: an object with an apiVersion needs a kind");
    insta::assert_snapshot!(errors(&[("a.yaml", "kind: Namespace\nmetadata: {name: a}\n")]), @"invalid-object: a.yaml:1:1: Namespace: apiVersion: missing (kubectl refuses an object without one)");
    insta::assert_snapshot!(errors(&[("a.yaml", "apiVersion: v1\nkind: [Namespace]\n")]), @"invalid-object: a.yaml:2:7: kind: expected a string, found list");
    insta::assert_snapshot!(errors(&[("a.yaml", "apiVersion: 1\nkind: Namespace\n")]), @"invalid-object: a.yaml:1:13: apiVersion: expected a string, found integer");
    insta::assert_snapshot!(errors(&[("a.yaml", "apiVersion: v1\nkind: List\nitems: [1, [a]]\n")]), @r"
    invalid-object: a.yaml:3:9: a List item must be an object (a mapping), found integer
    invalid-object: a.yaml:3:12: a List item must be an object (a mapping), found list
    ");
    insta::assert_snapshot!(errors(&[("a.yaml", "apiVersion: v1\nkind: List\nitems:\n- kind: Namespace\n  metadata: {name: a}\n")]), @"invalid-object: a.yaml:4:3: Namespace: apiVersion: missing (kubectl refuses an object without one)");
    insta::assert_snapshot!(errors(&[("a.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a, generateName: 3}\n")]), @"invalid-object: a.yaml:3:35: Pod a: metadata.generateName: expected a string, found integer");
    // Neither: not a Kubernetes object (a values or compose file).
    let (inv, diags) = load_files(&[("compose.yaml", "services:\n  web: {image: nginx}\n")]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!(inv.skipped.get("(no kind)"), Some(&1));
}

/// podinfo's shape: a Grafana provisioning file (`apiVersion: 1`, no kind)
/// beside the manifests. No Kubernetes object has a numeric apiVersion and
/// no kind, so it is another tool's file and skipped; a numeric
/// apiVersion with a kind stays an error (above).
#[test]
fn another_tools_numeric_api_version_without_kind_is_skipped() {
    let grafana = "apiVersion: 1\ndatasources:\n- name: Prometheus\n  type: prometheus\n";
    let (inv, diags) = load_files(&[("otel/datasources.yaml", grafana), ("ns.yaml", NS)]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!(inv.skipped.get("(no kind)"), Some(&1));
    // Inside a List, an item must still be an object with a kind.
    insta::assert_snapshot!(errors(&[("a.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: 1\n")]), @"invalid-object: a.yaml:4:15: apiVersion: expected a string, found integer");
}

#[test]
fn pod_templates_of_the_wrong_shape_are_errors() {
    let deployment = |template: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: shop}}\nspec:\n  template: {template}\n"
        )
    };
    insta::assert_snapshot!(errors(&[("w.yaml", &deployment("nope"))]), @"invalid-object: w.yaml:5:13: Deployment shop/web: spec.template: expected a mapping, found string");
    insta::assert_snapshot!(errors(&[("w.yaml", &deployment("{metadata: [a]}"))]), @"invalid-object: w.yaml:5:24: Deployment shop/web: spec.template.metadata: expected a mapping, found list");
    insta::assert_snapshot!(errors(&[("w.yaml", &deployment("{spec: {containers: {name: a}}}"))]), @"invalid-object: w.yaml:5:33: Deployment shop/web: spec.template.spec.containers: expected a list, found mapping");
    insta::assert_snapshot!(errors(&[("w.yaml", &deployment("{spec: [a]}"))]), @"invalid-object: w.yaml:5:20: Deployment shop/web: spec.template.spec: expected a mapping, found list");
    insta::assert_snapshot!(errors(&[("w.yaml", &deployment("{spec: {containers: [web]}}"))]), @"invalid-object: w.yaml:5:34: Deployment shop/web: spec.template.spec.containers[0]: expected a mapping, found string");
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

#[test]
fn generate_name_names_by_prefix() {
    // An Argo CD hook Job.
    let job = "apiVersion: batch/v1
kind: Job
metadata:
  generateName: migrate-
  namespace: shop
spec:
  template:
    metadata: {labels: {app: migrate}}
    spec: {containers: [{name: m}], restartPolicy: Never}
";
    let (inv, diags) = load_files(&[("hooks.yaml", job)]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!(inv.workloads[0].id(), "shop/migrate-*[Job]");
    let np = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {generateName: deny-, namespace: shop}\nspec: {podSelector: {}}\n";
    let (inv, diags) = load_files(&[("np.yaml", np)]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!(inv.policies[0].name, "deny-*");
}

#[test]
fn a_workload_without_any_name_gets_a_stable_synthetic_id() {
    let job = |label: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{namespace: shop}}\nspec: {{template: {{metadata: {{labels: {{app: {label}}}}}, spec: {{containers: [{{name: m}}]}}}}}}\n"
        )
    };
    let text = format!("{}---\n{}", job("a"), job("b"));
    let (inv, diags) = load_files(&[("k8s/jobs.yaml", &text)]);
    assert_eq!(render(&diags, Severity::Error), "");
    let ids: Vec<String> = inv.workloads.iter().map(|w| w.id()).collect();
    assert_eq!(
        ids,
        ["shop/~k8s/jobs.yaml#1[Job]", "shop/~k8s/jobs.yaml#2[Job]"]
    );
    // Editing a workload keeps its id.
    let edited = format!("{}---\n{}", job("a2"), job("b"));
    let (inv, _) = load_files(&[("k8s/jobs.yaml", &edited)]);
    assert_eq!(inv.workloads[0].id(), "shop/~k8s/jobs.yaml#1[Job]");
    insta::assert_snapshot!(warnings(&diags), @r"
    lenient-workload: k8s/jobs.yaml:1:1: Job: metadata.name: workload without metadata.name or generateName (kubectl refuses it); identified as shop/~k8s/jobs.yaml#1[Job]
    lenient-workload: k8s/jobs.yaml:6:1: Job: metadata.name: workload without metadata.name or generateName (kubectl refuses it); identified as shop/~k8s/jobs.yaml#2[Job]
    ");
}

// ---------------------------------------------------------------------------
// API versions no longer served
// ---------------------------------------------------------------------------

#[test]
fn removed_api_versions_warn_for_workloads_and_refuse_policies() {
    let deployment = "apiVersion: extensions/v1beta1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web}]}
";
    let (inv, diags) = load_files(&[("w.yaml", deployment)]);
    assert_eq!(render(&diags, Severity::Error), "");
    assert_eq!(inv.workloads.len(), 1);
    insta::assert_snapshot!(warnings(&diags), @"api-version-removed: w.yaml:1:1: Deployment shop/web: apiVersion: extensions/v1beta1 Deployment is no longer served (removed in Kubernetes 1.16); analysed as apps/v1, whose pod template means the same");
    let np = "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: shop}\nspec: {podSelector: {}}\n";
    insta::assert_snapshot!(errors(&[("np.yaml", np)]), @"api-version-removed: np.yaml:1:1: NetworkPolicy deny: apiVersion: extensions/v1beta1 no longer serves NetworkPolicy (removed in Kubernetes 1.16; the API server refuses it, so it would isolate nothing): use networking.k8s.io/v1, whose fields mean the same");
}

// ---------------------------------------------------------------------------
// Bounded output
// ---------------------------------------------------------------------------

#[test]
fn one_object_repeats_a_warning_at_most_ten_times() {
    let labels: String = (0..30).map(|i| format!("k{i}: yes, ")).collect();
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: shop, labels: {{{labels}}}}}\nspec: {{containers: [{{name: c}}]}}\n"
    );
    let (_, diags) = load_files(&[("p.yaml", &pod)]);
    let w = warnings(&diags);
    assert_eq!(w.lines().count(), 11, "{w}");
    insta::assert_snapshot!(w.lines().last().unwrap_or_default(), @"boolean-like-label: p.yaml:1:1: Pod shop/p: 20 more like this in this object");
}

#[test]
fn an_object_larger_than_the_api_server_accepts_is_refused() {
    // 200,000 labels (5.7 MiB) against a limit lowered to 1 MiB.
    let pod = crate::shapes::pod_with_labels(200_000);
    let opts = crate::manifest::LoadOptions {
        limits: crate::manifest::yaml::Limits {
            max_object_bytes: 1 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let rev = super::revision(&[("pod.yaml", &pod)]);
    let (inv, diags) = crate::manifest::load(&rev, &opts);
    assert!(inv.workloads.is_empty());
    insta::assert_snapshot!(render(&diags, Severity::Error), @"input-limit: pod.yaml:1:1: Pod shapes/labelled: 5.7 MiB of text, more than the 1 MiB an object can have: the API server refuses requests over 3 MiB, so it can never be applied");
    // A skipped kind of that size is only skipped: it cannot change a verdict.
    let cm = pod.replace("kind: Pod", "kind: ConfigMap");
    let (_, diags) = crate::manifest::load(&super::revision(&[("cm.yaml", &cm)]), &opts);
    assert_eq!(render(&diags, Severity::Error), "");
}
