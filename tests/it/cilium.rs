//! CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, written from
//! shared/design/semantics-cilium.md (CI-*, CC-*, EC-*), never from the
//! engine.
//!
//! The fixture is the one of section 13: namespaces `a` {team: a} and `b`
//! {team: b}; `a/web` {app: web} serving `http` 8080/TCP as service account
//! `web`, `a/db` {app: db} serving `pg` 5432/TCP as `db`, `b/cli` {app: cli}
//! with no ports (service account `default`), and `kube-system/dns`
//! {k8s-app: kube-dns} serving `dns` 53/UDP and `dns-tcp` 53/TCP. Tables
//! list exact connection sets: `all`, `none`, `TCP 5432, UDP`, `all - TCP 80`.

use crate::support::{cs, try_analyze};
use reachdiff::analysis::Analyzed;
use reachdiff::diag::Code;
use reachdiff::reach::Endpoint;

const W: [&str; 4] = ["a/web", "a/db", "b/cli", "kube-system/dns"];
/// An address outside every CIDR used here.
const EXT: &str = "198.51.100.7";

const FIXTURE: &str = "
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {team: b}}
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers:
      - name: web
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: a}
spec:
  template:
    metadata: {labels: {app: db}}
    spec:
      serviceAccountName: db
      containers:
      - name: db
        ports: [{name: pg, containerPort: 5432}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cli, namespace: b}
spec:
  template:
    metadata: {labels: {app: cli}}
    spec:
      containers: [{name: cli}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dns, namespace: kube-system}
spec:
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers:
      - name: dns
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
";

/// A hostNetwork DaemonSet (CC-14, EC-31).
const AGENT: &str = "
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  template:
    metadata: {labels: {app: agent}}
    spec:
      hostNetwork: true
      containers: [{name: agent}]
";

fn indent(body: &str, by: usize) -> String {
    let lines: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
    let cut = lines
        .iter()
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| format!("{}{}\n", " ".repeat(by), &l[cut..]))
        .collect()
}

/// A CiliumNetworkPolicy in `ns`; `body` is its `spec`.
fn cnp(ns: &str, name: &str, body: &str) -> String {
    format!(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{}",
        indent(body, 2)
    )
}

/// A CiliumClusterwideNetworkPolicy; `body` is its `spec`.
fn ccnp(name: &str, body: &str) -> String {
    format!(
        "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n{}",
        indent(body, 2)
    )
}

/// A Kubernetes NetworkPolicy in `ns`; `body` is its `spec`.
fn knp(ns: &str, name: &str, body: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{}",
        indent(body, 2)
    )
}

fn analyze_with(fixture: &str, policies: &[String]) -> Analyzed {
    match try_analyze(fixture, policies) {
        Ok(a) => a,
        Err(f) => panic!(
            "valid input was rejected:\n{}\npolicies:\n{}",
            f.diagnostics
                .iter()
                .map(|d| format!("  {d}\n"))
                .collect::<String>(),
            policies.join("---\n")
        ),
    }
}

fn analyze(policies: &[String]) -> Analyzed {
    analyze_with(FIXTURE, policies)
}

fn endpoint(a: &Analyzed, name: &str) -> Endpoint {
    if name.contains('/') || name.starts_with("entity:") || name.starts_with("fqdn:") {
        let found = a.analysis.select(name);
        assert_eq!(found.len(), 1, "{name} names {} endpoints", found.len());
        found[0]
    } else {
        let ip = name.parse().expect("an IP address");
        Endpoint::Atom(
            a.analysis
                .atoms
                .atom_of(ip)
                .unwrap_or_else(|| panic!("no atom holds {name}")),
        )
    }
}

#[track_caller]
fn assert_reach(a: &Analyzed, src: &str, dst: &str, want: &str) {
    let got = a.analysis.reach(endpoint(a, src), endpoint(a, dst));
    assert_eq!(got, cs(want), "{src} -> {dst}: expected {want}, got {got}");
}

/// `rows[i][j]`: what `W[i]` may open to `W[j]`.
#[track_caller]
fn assert_table(name: &str, a: &Analyzed, rows: [[&str; 4]; 4]) {
    let mut wrong = String::new();
    for (i, row) in rows.iter().enumerate() {
        for (j, want) in row.iter().enumerate() {
            let got = a.analysis.reach(endpoint(a, W[i]), endpoint(a, W[j]));
            if got != cs(want) {
                wrong.push_str(&format!(
                    "  {} -> {}: expected {want}, got {got}\n",
                    W[i], W[j]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{name}: wrong cells:\n{wrong}");
}

fn count(a: &Analyzed, code: Code) -> usize {
    a.diagnostics.iter().filter(|d| d.code == code).count()
}

/// Rejected with an `invalid-object` error at `field` (or inside it), with
/// a file and line.
#[track_caller]
fn assert_invalid(policy: &str, field: &str) {
    let failed = match try_analyze(FIXTURE, &[policy.to_string()]) {
        Ok(_) => panic!("accepted invalid input (expected an error at {field}):\n{policy}"),
        Err(f) => f,
    };
    let all: String = failed
        .diagnostics
        .iter()
        .map(|d| format!("  {:?} {d}\n", d.code))
        .collect();
    let hit = failed.errors().any(|d| {
        d.code == Code::InvalidObject
            && d.span
                .as_ref()
                .is_some_and(|s| s.file == "policy-0.yaml" && s.line > 0)
            && d.field.as_deref().is_some_and(|f| {
                f == field
                    || f.strip_prefix(field)
                        .is_some_and(|r| r.starts_with(['.', '[']))
            })
    });
    assert!(
        hit,
        "no invalid-object error at {field}; diagnostics:\n{all}policy:\n{policy}"
    );
}

// ---------------------------------------------------------------------------
// Loading and validation (CI-1 … CI-5, CC-10, CC-12)
// ---------------------------------------------------------------------------

#[test]
fn ci_1_ci_2_spec_and_specs_both_apply() {
    let p = "apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: two, namespace: a}
spec:
  endpointSelector: {matchLabels: {app: db}}
  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]
specs:
- endpointSelector: {matchLabels: {app: web}}
  ingress: [{}]
- endpointSelector: {matchLabels: {app: db}}
  ingress: [{fromEntities: [world]}]
";
    let a = analyze(&[p.to_string()]);
    assert_reach(&a, "a/web", "a/db", "all");
    assert_reach(&a, EXT, "a/db", "all");
    assert_reach(&a, "b/cli", "a/db", "none");
    assert_reach(&a, "a/db", "a/web", "none");
    // `specs: []` is valid and contributes nothing (CI-2).
    let empty = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: e, namespace: a}\nspecs: []\n";
    let a = analyze(&[empty.to_string()]);
    assert_reach(&a, "b/cli", "a/db", "all");
}

#[test]
fn ci_4_ci_5_cc_10_rejected_objects_are_input_errors_with_file_and_line() {
    let sel = "endpointSelector: {matchLabels: {app: db}}";
    // CI-2 / CI-4: neither spec nor specs.
    assert_invalid(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: x, namespace: a}\n",
        "spec",
    );
    // CI-4: no rule list at all; both or neither subject.
    assert_invalid(&cnp("a", "x", sel), "spec");
    assert_invalid(&cnp("a", "x", "ingress: [{}]"), "spec");
    // EC-02 (CI-5): every list empty.
    assert_invalid(&cnp("a", "x", &format!("{sel}\ningress: []")), "spec");
    // EC-27 (CI-5): two peer kinds in one item.
    assert_invalid(
        &cnp(
            "a",
            "x",
            &format!("{sel}\negress: [{{toEndpoints: [{{}}], toCIDR: [10.0.0.0/8]}}]"),
        ),
        "spec.egress[0].toCIDR",
    );
    // EC-35 (CI-4): lower-case protocol.
    assert_invalid(
        &cnp(
            "a",
            "x",
            &format!(
                "{sel}\ningress: [{{toPorts: [{{ports: [{{port: \"80\", protocol: tcp}}]}}]}}]"
            ),
        ),
        "spec.ingress[0].toPorts[0].ports[0].protocol",
    );
    // EC-14 (CI-5): port out of range, "080" not a number, a number unquoted.
    for port in ["\"70000\"", "\"080\"", "80"] {
        assert_invalid(
            &cnp(
                "a",
                "x",
                &format!("{sel}\ningress: [{{toPorts: [{{ports: [{{port: {port}}}]}}]}}]"),
            ),
            "spec.ingress[0].toPorts[0].ports[0].port",
        );
    }
    // CI-5: except outside its cidr.
    assert_invalid(
        &cnp(
            "a",
            "x",
            &format!(
                "{sel}\negress: [{{toCIDRSet: [{{cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]}}]"
            ),
        ),
        "spec.egress[0].toCIDRSet[0].except[0]",
    );
    // CI-4 / DC-11: world-ipv4 is not in the CRD enum.
    assert_invalid(
        &cnp(
            "a",
            "x",
            &format!("{sel}\negress: [{{toEntities: [world-ipv4]}}]"),
        ),
        "spec.egress[0].toEntities[0]",
    );
    // CI-26: fromRequires removed.
    assert_invalid(
        &cnp(
            "a",
            "x",
            &format!("{sel}\ningress: [{{fromRequires: [{{matchLabels: {{env: prod}}}}]}}]"),
        ),
        "spec.ingress[0].fromRequires",
    );
    // CI-5: icmps with toPorts; DNS rules on ingress; HTTP rules without
    // an explicit TCP; nodeSelector in a CNP.
    assert_invalid(
        &cnp(
            "a",
            "x",
            &format!(
                "{sel}\ningress: [{{icmps: [{{fields: [{{type: 8}}]}}], toPorts: [{{ports: [{{port: \"80\"}}]}}]}}]"
            ),
        ),
        "spec.ingress[0]",
    );
    assert_invalid(
        &cnp(
            "a",
            "x",
            &format!(
                "{sel}\ningress: [{{toPorts: [{{ports: [{{port: \"53\", protocol: UDP}}], rules: {{dns: [{{matchPattern: \"*\"}}]}}}}]}}]"
            ),
        ),
        "spec.ingress[0].toPorts[0].rules",
    );
    assert_invalid(
        &cnp(
            "a",
            "x",
            &format!(
                "{sel}\ningress: [{{toPorts: [{{ports: [{{port: \"80\"}}], rules: {{http: [{{method: GET}}]}}}}]}}]"
            ),
        ),
        "spec.ingress[0].toPorts[0].rules",
    );
    assert_invalid(
        &cnp("a", "x", "nodeSelector: {}\ningress: [{}]"),
        "spec.nodeSelector",
    );
    // CI-4: rules with neither http nor dns.
    assert_invalid(
        &cnp(
            "a",
            "x",
            &format!(
                "{sel}\negress: [{{toPorts: [{{ports: [{{port: \"80\", protocol: TCP}}], rules: {{}}}}]}}]"
            ),
        ),
        "spec.egress[0].toPorts[0].rules",
    );
}

#[test]
fn ec_36_one_rejected_rule_rejects_the_whole_object() {
    let p = "apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: x, namespace: a}
specs:
- endpointSelector: {matchLabels: {app: db}}
  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]
- endpointSelector: {matchLabels: {app: web}}
  egress: [{toEndpoints: [{}], toCIDR: [10.0.0.0/8]}]
";
    assert_invalid(p, "specs[1].egress[0].toCIDR");
}

#[test]
fn cc_12_host_policies_are_ignored_with_a_warning() {
    let p = ccnp("host", "nodeSelector: {}\ningress: [{}]");
    let a = analyze(&[p]);
    assert_eq!(count(&a, Code::CiliumHostPolicyIgnored), 1);
    assert_reach(&a, "b/cli", "a/db", "all");
}

// ---------------------------------------------------------------------------
// Cilium mode (CC-17)
// ---------------------------------------------------------------------------

#[test]
fn cc_17_cilium_mode_follows_the_objects_and_is_said() {
    // No Cilium object: Kubernetes semantics, no note.
    let a = analyze(&[]);
    assert!(a.inventory.cilium_mode.is_none());
    assert_eq!(count(&a, Code::CiliumMode), 0);
    // A cilium-config ConfigMap alone turns it on (QC-14 c).
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cilium-config, namespace: kube-system}\ndata: {}\n";
    let a = analyze(&[cm.to_string()]);
    assert!(a.inventory.cilium_mode.is_some());
    assert_eq!(count(&a, Code::CiliumMode), 1);
    let note = a
        .diagnostics
        .iter()
        .find(|d| d.code == Code::CiliumMode)
        .unwrap();
    assert!(note.message.contains("cilium-config"), "{}", note.message);
}

#[test]
fn cc_17_cilium_and_calico_objects_without_cni_fail_the_environment() {
    let calico = "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: c, namespace: a}\nspec: {}\n";
    let p = cnp("a", "x", "endpointSelector: {}\ningress: [{}]");
    let failed = try_analyze(FIXTURE, &[p, calico.to_string()]).expect_err("a conflict");
    let e = failed
        .errors()
        .find(|d| d.code == Code::CniConflict)
        .expect("cni-conflict");
    assert!(
        e.message.contains("CiliumNetworkPolicy a/x") && e.message.contains("NetworkPolicy a/c"),
        "{}",
        e.message
    );
}

#[test]
fn cc_17_a_configured_cni_other_than_cilium_ignores_cilium_policies() {
    let p = cnp("a", "x", "endpointSelector: {}\ningress: [{}]");
    let rev = crate::support::revision(&[("fixture.yaml", FIXTURE), ("p.yaml", &p)]);
    let opts = reachdiff::analysis::Options {
        cni: Some((reachdiff::analysis::Cni::Other, "--cni".into())),
        ..Default::default()
    };
    let a = reachdiff::analysis::analyze(&rev, &opts).expect("analysed");
    assert_eq!(count(&a, Code::CiliumIgnored), 1);
    assert_reach(&a, "b/cli", "a/db", "all");
    // And `cilium` turns the mode on without any Cilium object.
    let rev = crate::support::revision(&[("fixture.yaml", FIXTURE)]);
    let opts = reachdiff::analysis::Options {
        cni: Some((reachdiff::analysis::Cni::Cilium, "--cni".into())),
        ..Default::default()
    };
    let a = reachdiff::analysis::analyze(&rev, &opts).expect("analysed");
    assert!(
        a.inventory
            .cilium_mode
            .as_deref()
            .is_some_and(|r| r.contains("--cni"))
    );
}

// ---------------------------------------------------------------------------
// Isolation and item shapes (CI-14 … CI-21)
// ---------------------------------------------------------------------------

#[test]
fn ec_01_an_empty_item_isolates_and_allows_nothing() {
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: db}}\ningress: [{}]",
    )]);
    for src in ["a/web", "b/cli", "kube-system/dns", EXT] {
        assert_reach(&a, src, "a/db", "none");
    }
    assert_reach(&a, "a/db", "a/web", "all");
    // The KNP analogue allows everything (E-05).
    let a = analyze(&[knp(
        "a",
        "x",
        "podSelector: {matchLabels: {app: db}}\ningress: [{}]",
    )]);
    assert_reach(&a, "b/cli", "a/db", "all");
}

#[test]
fn ec_03_cc_2_empty_endpoint_selector_is_the_policy_namespace() {
    let body = "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEndpoints: [{}]}]";
    let a = analyze(&[cnp("a", "x", body)]);
    assert_reach(&a, "a/web", "a/db", "all");
    assert_reach(&a, "b/cli", "a/db", "none");
    assert_reach(&a, EXT, "a/db", "none");
    // In a CCNP: every pod, still no external address (CI-22 step 4).
    let a = analyze(&[ccnp("x", body)]);
    assert_reach(&a, "b/cli", "a/db", "all");
    assert_reach(&a, EXT, "a/db", "none");
}

#[test]
fn ec_04_ci_27_entities_cross_namespaces() {
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEntities: [cluster]}]",
    )]);
    assert_reach(&a, "b/cli", "a/db", "all");
    assert_reach(&a, EXT, "a/db", "none");
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEntities: [all]}]",
    )]);
    assert_reach(&a, "b/cli", "a/db", "all");
    assert_reach(&a, EXT, "a/db", "all");
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEntities: [none]}]",
    )]);
    assert_reach(&a, "a/web", "a/db", "none");
}

#[test]
fn ec_05_ci_15_ci_30_a_deny_only_policy_isolates() {
    let a = analyze(&[cnp(
        "b",
        "x",
        "endpointSelector: {}\negressDeny: [{toCIDRSet: [{cidr: 1.0.0.0/8, except: [1.1.1.1/32]}]}]",
    )]);
    assert_reach(&a, "b/cli", "1.0.0.1", "none");
    assert_reach(&a, "b/cli", "1.1.1.1", "none");
    assert_reach(&a, "b/cli", "a/web", "none");
    // With an allow-all next to it, only the deny bites, and the except is
    // simply not denied (CI-30).
    let a = analyze(&[
        cnp(
            "b",
            "x",
            "endpointSelector: {}\negressDeny: [{toCIDRSet: [{cidr: 1.0.0.0/8, except: [1.1.1.1/32]}]}]",
        ),
        cnp(
            "b",
            "y",
            "endpointSelector: {}\negress: [{toEntities: [all]}]",
        ),
    ]);
    assert_reach(&a, "b/cli", "1.0.0.1", "none");
    assert_reach(&a, "b/cli", "1.1.1.1", "all");
    assert_reach(&a, "b/cli", "a/web", "all");
}

#[test]
fn ec_06_enable_default_deny_false_isolates_nothing() {
    let a = analyze(&[ccnp(
        "dns",
        "endpointSelector: {}
enableDefaultDeny: {ingress: false, egress: false}
egress:
- toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
  toPorts: [{ports: [{port: \"53\", protocol: UDP}], rules: {dns: [{matchPattern: \"*\"}]}}]",
    )]);
    assert_reach(&a, "a/web", "b/cli", "all");
    assert_reach(&a, "a/web", EXT, "all");
    assert_reach(&a, "a/web", "kube-system/dns", "all");
    // The L7 condition is said, not silently dropped (CC-8).
    assert!(count(&a, Code::CiliumNotModelled) >= 1);
    // But a deny still bites without isolating (CI-16).
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: db}}\nenableDefaultDeny: {ingress: false}\ningressDeny: [{fromEndpoints: [{matchLabels: {app: web}}]}]",
    )]);
    assert_reach(&a, "a/web", "a/db", "none");
    assert_reach(&a, "b/cli", "a/db", "all");
    assert_reach(&a, EXT, "a/db", "all");
}

#[test]
fn ec_07_ci_21_ports_only_items_are_not_namespace_confined() {
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: web}}\negress: [{toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]}]",
    )]);
    assert_reach(&a, "a/web", "b/cli", "TCP 80");
    assert_reach(&a, "a/web", EXT, "TCP 80");
    assert_reach(&a, "a/web", "a/db", "TCP 80");
}

#[test]
fn ec_08_ci_20_two_items_are_an_or() {
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: db}}
ingress:
- fromEndpoints: [{matchLabels: {app: web}}]
- toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]",
    )]);
    assert_reach(&a, "a/web", "a/db", "all");
    assert_reach(&a, "b/cli", "a/db", "TCP 80");
    assert_reach(&a, EXT, "a/db", "TCP 80");
}

#[test]
fn ec_09_ci_21_empty_lists_select_nothing_but_isolate() {
    for body in [
        "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEndpoints: [], toPorts: [{ports: [{port: \"80\"}]}]}]",
        "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEndpoints: [{}], toPorts: [{}]}]",
        "endpointSelector: {matchLabels: {app: db}}\ningress: [{toPorts: [{ports: []}]}]",
    ] {
        let a = analyze(&[cnp("a", "x", body)]);
        assert_reach(&a, "a/web", "a/db", "none");
        assert_reach(&a, EXT, "a/db", "none");
    }
}

#[test]
fn ec_10_ci_11_namespace_in_a_cnp_subject() {
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {\"k8s:io.kubernetes.pod.namespace\": b}}\ningress: [{}]",
    )]);
    assert_reach(&a, "b/cli", "a/web", "none");
    assert_reach(&a, "b/cli", "a/db", "none");
    assert_reach(&a, "a/web", "b/cli", "all");
    assert_eq!(count(&a, Code::CiliumSubjectNamespace), 1);
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {io.kubernetes.pod.namespace: b}}\ningress: [{}]",
    )]);
    assert_reach(&a, "a/web", "b/cli", "all");
    assert_reach(&a, "b/cli", "a/db", "all");
}

#[test]
fn ec_11_ec_12_ci_25_negative_selectors() {
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEndpoints: [{matchExpressions: [{key: app, operator: NotIn, values: [cli]}]}]}]",
    )]);
    assert_reach(&a, "a/web", "a/db", "all");
    assert_reach(&a, "b/cli", "a/db", "none");
    assert_reach(&a, EXT, "a/db", "none");
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEndpoints: [{matchExpressions: [{key: io.kubernetes.pod.namespace, operator: NotIn, values: [b]}]}]}]",
    )]);
    assert_reach(&a, "a/web", "a/db", "all");
    assert_reach(&a, "kube-system/dns", "a/db", "all");
    assert_reach(&a, "b/cli", "a/db", "none");
    assert_reach(&a, EXT, "a/db", "all");
    assert_eq!(count(&a, Code::CiliumNegativeNamespacePeer), 1);
}

#[test]
fn ec_13_ci_24_service_accounts_are_namespace_scoped_in_a_cnp() {
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: web}}\ningress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.policy.serviceaccount: default}}]}]",
    )]);
    assert_reach(&a, "b/cli", "a/web", "none");
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: web}}\ningress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.policy.serviceaccount: default, io.kubernetes.pod.namespace: b}}]}]",
    )]);
    assert_reach(&a, "b/cli", "a/web", "all");
    // The subject by service account (CI-24).
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {io.cilium.k8s.policy.serviceaccount: db}}\ningress: [{}]",
    )]);
    assert_reach(&a, "a/web", "a/db", "none");
    assert_reach(&a, "a/db", "a/web", "all");
}

// ---------------------------------------------------------------------------
// Ports (CI-37 … CI-40)
// ---------------------------------------------------------------------------

fn db_ingress_ports(ports: &str) -> Analyzed {
    analyze(&[cnp(
        "a",
        "x",
        &format!(
            "endpointSelector: {{matchLabels: {{app: db}}}}\ningress: [{{toPorts: [{{ports: [{ports}]}}]}}]"
        ),
    )])
}

#[test]
fn ec_14_ec_15_ci_37_quoted_numbers_ranges_and_any() {
    assert_reach(
        &db_ingress_ports("{port: \"8080\"}"),
        "a/web",
        "a/db",
        "TCP 8080, UDP 8080, SCTP 8080",
    );
    assert_reach(
        &db_ingress_ports("{port: \"8080\", endPort: 80}"),
        "a/web",
        "a/db",
        "TCP 8080, UDP 8080, SCTP 8080",
    );
    assert_reach(
        &db_ingress_ports("{port: \"8080\", endPort: 8090, protocol: UDP}"),
        "a/web",
        "a/db",
        "UDP 8080-8090",
    );
    assert_reach(
        &db_ingress_ports("{port: \"0\", protocol: TCP}"),
        "a/web",
        "a/db",
        "TCP",
    );
    let a = db_ingress_ports("{port: \"010\", protocol: TCP}");
    assert_reach(&a, "a/web", "a/db", "TCP 8");
    assert_eq!(count(&a, Code::CiliumPortLeadingZero), 1);
    // A named port ignores endPort and resolves on the destination (CI-39).
    assert_reach(
        &db_ingress_ports("{port: pg, endPort: 9000}"),
        "a/web",
        "a/db",
        "TCP 5432",
    );
    assert_reach(&db_ingress_ports("{port: PG}"), "a/web", "a/db", "TCP 5432");
}

#[test]
fn ec_16_ci_39_named_port_with_any_resolves_per_protocol() {
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: web}}
egress:
- toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: kube-system}}]
  toPorts: [{ports: [{port: dns}]}]",
    )]);
    assert_reach(&a, "a/web", "kube-system/dns", "UDP 53");
}

#[test]
fn ec_17_cc_16_egress_named_ports_resolve_per_destination() {
    let fixture = format!(
        "{FIXTURE}---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: fe1, namespace: a}}
spec:
  template:
    metadata: {{labels: {{tier: fe}}}}
    spec:
      containers: [{{name: c, ports: [{{name: http, containerPort: 8080}}]}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: fe2, namespace: a}}
spec:
  template:
    metadata: {{labels: {{tier: fe}}}}
    spec:
      containers: [{{name: c, ports: [{{name: http, containerPort: 9090}}]}}]
"
    );
    let a = analyze_with(
        &fixture,
        &[cnp(
            "a",
            "x",
            "endpointSelector: {matchLabels: {app: db}}\negress: [{toEndpoints: [{matchLabels: {tier: fe}}], toPorts: [{ports: [{port: http, protocol: TCP}]}]}]",
        )],
    );
    assert_reach(&a, "a/db", "a/fe1", "TCP 8080");
    assert_reach(&a, "a/db", "a/fe2", "TCP 9090");
}

#[test]
fn ec_18_cc_9_ci_40_an_icmp_only_rule_allows_no_tcp_udp_sctp() {
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEndpoints: [{matchLabels: {app: web}}], icmps: [{fields: [{type: 8}]}]}]",
    )]);
    assert_reach(&a, "a/web", "a/db", "none");
    assert!(count(&a, Code::CiliumNotModelled) >= 1);
}

// ---------------------------------------------------------------------------
// Deny (CI-17, CI-44, CI-45)
// ---------------------------------------------------------------------------

#[test]
fn ec_19_ci_17_deny_table() {
    let allows = "endpointSelector: {matchLabels: {app: db}}
ingress:
- fromEndpoints: [{matchLabels: {app: web}}]
  toPorts: [{ports: [{port: \"80\", protocol: TCP}], rules: {http: [{method: GET}]}}]
- toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]
- toPorts: [{ports: [{port: \"81\", protocol: TCP}]}]
- fromEndpoints: [{matchLabels: {app: web}}]";
    // Column 2: deny TCP 80 from anyone.
    let a = analyze(&[
        cnp("a", "allow", allows),
        cnp(
            "a",
            "deny",
            "endpointSelector: {matchLabels: {app: db}}\ningressDeny: [{toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]}]",
        ),
    ]);
    assert_reach(&a, "a/web", "a/db", "all - TCP 80");
    assert_reach(&a, "b/cli", "a/db", "TCP 81");
    // Column 3: deny L3 from web.
    let a = analyze(&[
        cnp("a", "allow", allows),
        cnp(
            "a",
            "deny",
            "endpointSelector: {matchLabels: {app: db}}\ningressDeny: [{fromEndpoints: [{matchLabels: {app: web}}]}]",
        ),
    ]);
    assert_reach(&a, "a/web", "a/db", "none");
    assert_reach(&a, "b/cli", "a/db", "TCP 80-81");
    // Column 5: the deny alone: default deny.
    let a = analyze(&[cnp(
        "a",
        "deny",
        "endpointSelector: {matchLabels: {app: db}}\ningressDeny: [{toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]}]",
    )]);
    assert_reach(&a, "a/web", "a/db", "none");
    assert_reach(&a, "b/cli", "a/db", "none");
}

#[test]
fn ec_20_a_cilium_deny_beats_a_networkpolicy_allow() {
    let a = analyze(&[
        knp(
            "a",
            "allow",
            "podSelector: {matchLabels: {app: db}}\ningress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]",
        ),
        cnp(
            "a",
            "deny",
            "endpointSelector: {matchLabels: {app: db}}\ningressDeny: [{fromEndpoints: [{matchLabels: {app: web}}]}]",
        ),
    ]);
    assert_reach(&a, "a/web", "a/db", "none");
    assert_reach(&a, "b/cli", "a/db", "none");
    // An egress deny beats the destination's allow too (both sides, CI-16).
    let a = analyze(&[cnp(
        "a",
        "deny",
        "endpointSelector: {matchLabels: {app: web}}\negressDeny: [{toPorts: [{ports: [{port: \"5432\", protocol: TCP}]}]}]\negress: [{toEntities: [all]}]",
    )]);
    assert_reach(&a, "a/web", "a/db", "all - TCP 5432");
}

#[test]
fn ec_21_ci_16_cilium_and_networkpolicy_allows_add_up() {
    let a = analyze(&[
        knp(
            "a",
            "allow",
            "podSelector: {matchLabels: {app: db}}\ningress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]",
        ),
        cnp(
            "a",
            "world",
            "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEntities: [world]}]",
        ),
    ]);
    assert_reach(&a, "a/web", "a/db", "TCP 5432");
    assert_reach(&a, EXT, "a/db", "all");
    assert_reach(&a, "b/cli", "a/db", "none");
}

// ---------------------------------------------------------------------------
// NetworkPolicy under Cilium (CI-46, CC-1, CC-13, CC-14)
// ---------------------------------------------------------------------------

#[test]
fn ec_22_cc_1_networkpolicy_selectors_see_cilium_identity_labels() {
    let p = knp(
        "a",
        "x",
        "podSelector: {matchLabels: {app: db}}\ningress: [{from: [{podSelector: {matchLabels: {io.cilium.k8s.policy.serviceaccount: web}}}]}]",
    );
    // Kubernetes semantics: the peer selects nothing.
    let a = analyze(std::slice::from_ref(&p));
    assert_reach(&a, "a/web", "a/db", "none");
    // Cilium mode: the service account is an identity label.
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cilium-config, namespace: kube-system}\n";
    let a = analyze(&[p, cm.to_string()]);
    assert_reach(&a, "a/web", "a/db", "all");
}

#[test]
fn ci_9_filtered_labels_select_nothing_under_cilium() {
    let fixture = FIXTURE.replace(
        "labels: {app: web}",
        "labels: {app: web, pod-template-hash: abc, kubernetes.io/role: x}",
    );
    let a = analyze_with(
        &fixture,
        &[cnp(
            "a",
            "x",
            "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEndpoints: [{matchLabels: {kubernetes.io/role: x}}]}]",
        )],
    );
    assert_reach(&a, "a/web", "a/db", "none");
    assert!(count(&a, Code::CiliumLabelNotInIdentity) >= 1);
}

#[test]
fn cc_13_policytypes_dead_sections_follow_kubernetes_with_a_warning() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cilium-config, namespace: kube-system}\n";
    let a = analyze(&[
        knp(
            "a",
            "x",
            "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Ingress]\negress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]",
        ),
        cm.to_string(),
    ]);
    // EC-23: Kubernetes says a/web → b/cli is allowed.
    assert_reach(&a, "a/web", "b/cli", "all");
    assert_eq!(count(&a, Code::CiliumPolicyTypesIgnored), 1);
}

#[test]
fn ec_31_cc_14_host_network_peers_are_node_traffic() {
    let fixture = format!("{FIXTURE}---{AGENT}");
    let from = |peer: &str| {
        analyze_with(
            &fixture,
            &[cnp(
                "a",
                "x",
                &format!("endpointSelector: {{matchLabels: {{app: db}}}}\ningress: [{{{peer}}}]"),
            )],
        )
    };
    let a = from("fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: kube-system}}]");
    assert_reach(&a, "kube-system/agent", "a/db", "none");
    assert_reach(&a, "kube-system/dns", "a/db", "all");
    for e in ["remote-node", "cluster", "all"] {
        let a = from(&format!("fromEntities: [{e}]"));
        assert_reach(&a, "kube-system/agent", "a/db", "all");
    }
    // Never a subject (CI-13): a CCNP selecting everything leaves it open.
    let a = analyze_with(&fixture, &[ccnp("x", "endpointSelector: {}\negress: [{}]")]);
    assert_reach(&a, "kube-system/agent", "a/db", "all");
    assert_reach(&a, "a/web", "a/db", "none");
    assert!(count(&a, Code::CiliumHostNetwork) >= 1);
    // KNP peers under Cilium do not match it either.
    let a = analyze_with(
        &fixture,
        &[knp(
            "a",
            "x",
            "podSelector: {matchLabels: {app: db}}\ningress: [{from: [{namespaceSelector: {}}]}]",
        )],
    );
    // No Cilium object: Kubernetes semantics (C2), the agent is a pod.
    assert_reach(&a, "kube-system/agent", "a/db", "all");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cilium-config, namespace: kube-system}\n";
    let a = analyze_with(
        &fixture,
        &[
            knp(
                "a",
                "x",
                "podSelector: {matchLabels: {app: db}}\ningress: [{from: [{namespaceSelector: {}}]}]",
            ),
            cm.to_string(),
        ],
    );
    assert_reach(&a, "kube-system/agent", "a/db", "none");
    assert_reach(&a, "b/cli", "a/db", "all");
}

// ---------------------------------------------------------------------------
// CIDR peers (CI-28 … CI-31, CC-4)
// ---------------------------------------------------------------------------

#[test]
fn ec_24_cc_4_cidr_peers_never_match_pods() {
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: web}}\negress: [{toCIDR: [0.0.0.0/0]}]",
    )]);
    assert_reach(&a, "a/web", EXT, "all");
    assert_reach(&a, "a/web", "a/db", "none");
}

#[test]
fn ec_25_world_versus_0_0_0_0_slash_0() {
    let v6 = "2001:db8::1";
    let a = analyze(&[
        cnp(
            "a",
            "x",
            "endpointSelector: {matchLabels: {app: web}}\negress: [{toCIDR: [0.0.0.0/0]}]",
        ),
        cnp(
            "a",
            "y",
            "endpointSelector: {matchLabels: {app: db}}\negress: [{toEntities: [world]}, {toCIDR: [\"2001:db8::/32\"]}]",
        ),
    ]);
    assert_reach(&a, "a/web", EXT, "all");
    assert_reach(&a, "a/web", v6, "none");
    assert_reach(&a, "a/db", EXT, "all");
    assert_reach(&a, "a/db", v6, "all");
    assert_reach(&a, "a/db", "a/web", "none");
}

#[test]
fn ec_26_an_except_equal_to_its_cidr_matches_nothing() {
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: web}}\negress: [{toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.0.0.0/8]}]}]",
    )]);
    assert_reach(&a, "a/web", "10.1.2.3", "none");
}

#[test]
fn ci_31_cidr_groups_resolve_from_the_input() {
    let group = "apiVersion: cilium.io/v2\nkind: CiliumCIDRGroup\nmetadata: {name: partners, labels: {kind: partner}}\nspec: {externalCIDRs: [203.0.113.0/24]}\n";
    for peer in [
        "cidrGroupRef: partners",
        "cidrGroupSelector: {matchLabels: {kind: partner}}",
    ] {
        let a = analyze(&[
            group.to_string(),
            cnp(
                "a",
                "x",
                &format!(
                    "endpointSelector: {{matchLabels: {{app: web}}}}\negress: [{{toCIDRSet: [{{{peer}, except: [203.0.113.128/25]}}]}}]"
                ),
            ),
        ]);
        assert_reach(&a, "a/web", "203.0.113.7", "all");
        assert_reach(&a, "a/web", "203.0.113.200", "none");
        assert_reach(&a, "a/web", EXT, "none");
    }
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: web}}\negress: [{toCIDRSet: [{cidrGroupRef: nope}]}]",
    )]);
    assert_eq!(count(&a, Code::CiliumCidrGroupMissing), 1);
    assert_reach(&a, "a/web", EXT, "none");
}

// ---------------------------------------------------------------------------
// Services, namespace labels, CCNP subjects, L7 (CI-32, CC-3, EC-28 … EC-34)
// ---------------------------------------------------------------------------

#[test]
fn ec_28_cc_15_to_services_resolve_through_service_manifests() {
    let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: a}\nspec: {selector: {app: db}, ports: [{port: 80, targetPort: 5432}]}\n";
    let a = analyze(&[
        svc.to_string(),
        cnp(
            "b",
            "x",
            "endpointSelector: {}\negress: [{toServices: [{k8sService: {serviceName: api, namespace: a}}], toPorts: [{ports: [{port: \"5432\", protocol: TCP}]}]}]",
        ),
    ]);
    assert_reach(&a, "b/cli", "a/db", "TCP 5432");
    assert_reach(&a, "b/cli", "a/web", "none");
    // Without namespace: Services of every namespace, with a warning.
    let a = analyze(&[
        svc.to_string(),
        cnp(
            "b",
            "x",
            "endpointSelector: {}\negress: [{toServices: [{k8sService: {serviceName: api}}]}]",
        ),
    ]);
    assert_reach(&a, "b/cli", "a/db", "all");
    assert!(count(&a, Code::CiliumServiceUnresolved) >= 1);
    // A missing Service matches nothing, said.
    let a = analyze(&[cnp(
        "b",
        "x",
        "endpointSelector: {}\negress: [{toServices: [{k8sService: {serviceName: gone, namespace: a}}]}]",
    )]);
    assert_reach(&a, "b/cli", "a/db", "none");
    assert!(count(&a, Code::CiliumServiceUnresolved) >= 1);
}

#[test]
fn ec_32_cc_3_namespace_labels_in_a_cnp_peer_are_not_confined() {
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.team: b}}]}]",
    )]);
    assert_reach(&a, "b/cli", "a/db", "all");
    assert_reach(&a, "a/web", "a/db", "none");
    assert_eq!(count(&a, Code::CiliumNslabelPeer), 1);
}

#[test]
fn ec_33_ci_12_a_ccnp_subject_spans_namespaces() {
    let fixture = format!(
        "{FIXTURE}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: db, namespace: b}}\nspec:\n  template:\n    metadata: {{labels: {{app: db}}}}\n    spec: {{containers: [{{name: db}}]}}\n"
    );
    let a = analyze_with(
        &fixture,
        &[ccnp(
            "x",
            "endpointSelector: {matchLabels: {app: db}}\ningress: [{}]",
        )],
    );
    assert_reach(&a, "a/web", "a/db", "none");
    assert_reach(&a, "a/web", "b/db", "none");
    let a = analyze_with(
        &fixture,
        &[ccnp(
            "x",
            "endpointSelector: {matchLabels: {app: db, io.kubernetes.pod.namespace: a}}\ningress: [{}]",
        )],
    );
    assert_reach(&a, "a/web", "a/db", "none");
    assert_reach(&a, "a/web", "b/db", "all");
}

#[test]
fn ec_34_ci_42_an_l4_allow_lifts_l7_filtering_and_l7_is_said() {
    let a = analyze(&[cnp(
        "a",
        "x",
        "endpointSelector: {matchLabels: {app: db}}
ingress:
- fromEndpoints: [{matchLabels: {app: web}}]
  toPorts: [{ports: [{port: \"80\", protocol: TCP}], rules: {http: [{method: GET}]}}]",
    )]);
    // CC-8: allowed (with a condition reachdiff states, not yet annotates).
    assert_reach(&a, "a/web", "a/db", "TCP 80");
    assert!(count(&a, Code::CiliumNotModelled) >= 1);
}

#[test]
fn ci_33_cc_5_ci_27_ec_04_entities_are_endpoints() {
    let a = analyze(&[
        cnp(
            "a",
            "web",
            "endpointSelector: {matchLabels: {app: web}}\negress: [{toEntities: [kube-apiserver], toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]}]",
        ),
        // EC-04: `cluster` in a CNP is every pod of every namespace and
        // every entity, never an external address.
        cnp(
            "a",
            "db",
            "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEntities: [cluster]}]",
        ),
        // CI-33: a `reserved:` key names the entity of that name only.
        cnp(
            "b",
            "cli",
            "endpointSelector: {}\ningress: [{fromEndpoints: [{matchLabels: {\"reserved:ingress\": \"\"}}]}]",
        ),
    ]);
    assert_reach(&a, "a/web", "entity:kube-apiserver", "TCP 443");
    assert_reach(&a, "a/web", "entity:host", "none");
    assert_reach(&a, "a/web", EXT, "none");
    // No policy of its own: an entity's side is vacuous (CI-33), so a
    // workload whose egress is not isolated reaches it.
    assert_reach(&a, "a/db", "entity:kube-apiserver", "all");
    for e in [
        "entity:health",
        "entity:kube-apiserver",
        "entity:remote-node",
        "entity:unmanaged",
    ] {
        assert_reach(&a, e, "a/db", "all");
    }
    assert_reach(&a, "b/cli", "a/db", "all");
    assert_reach(&a, EXT, "a/db", "none");
    assert_reach(&a, "entity:ingress", "b/cli", "all");
    assert_reach(&a, "entity:health", "b/cli", "none");
    assert_reach(&a, "a/web", "b/cli", "none");
    // M-12: pairs without a workload are never rows.
    assert_reach(&a, "entity:kube-apiserver", "entity:host", "none");
    assert_reach(&a, "entity:host", EXT, "none");
    // Every entity is an endpoint once a Cilium policy is in the input.
    let ids: Vec<String> = a
        .analysis
        .endpoints()
        .into_iter()
        .map(|e| a.analysis.endpoint_id(e))
        .filter(|id| id.starts_with("entity:"))
        .collect();
    assert_eq!(
        ids,
        [
            "entity:health",
            "entity:host",
            "entity:ingress",
            "entity:init",
            "entity:kube-apiserver",
            "entity:remote-node",
            "entity:unmanaged"
        ]
    );
    assert_eq!(count(&a, Code::CiliumNotModelled), 0);
}

#[test]
fn ci_33_entities_never_match_kubernetes_selectors_but_negative_ones_do() {
    let a = analyze(&[
        knp(
            "a",
            "db",
            "podSelector: {matchLabels: {app: db}}\ningress: [{from: [{namespaceSelector: {}}]}]",
        ),
        cnp(
            "a",
            "web",
            "endpointSelector: {matchLabels: {app: web}}\ningress: [{fromEndpoints: [{matchExpressions: [{key: io.kubernetes.pod.namespace, operator: NotIn, values: [kube-system]}]}]}]",
        ),
    ]);
    // A NetworkPolicy's selectors see pods only.
    assert_reach(&a, "entity:kube-apiserver", "a/db", "none");
    assert_reach(&a, "b/cli", "a/db", "all");
    // CI-25: a negative namespace requirement holds for reserved identities.
    assert_reach(&a, "entity:kube-apiserver", "a/web", "all");
    assert_reach(&a, EXT, "a/web", "all");
}

#[test]
fn ci_19_ec_30_the_host_is_always_allowed_in() {
    let a = analyze(&[cnp(
        "a",
        "db",
        "endpointSelector: {matchLabels: {app: db}}
ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]
ingressDeny: [{fromEntities: [all]}]
egress: [{toEndpoints: [{matchLabels: {app: web}}]}]",
    )]);
    // The deny of everything does not stop kubelet probes (CI-19).
    assert_reach(&a, "entity:host", "a/db", "all");
    assert_reach(&a, "entity:remote-node", "a/db", "none");
    assert_reach(&a, "a/web", "a/db", "none");
    // Only the ingress side: the egress of a/db to the node is policy.
    assert_reach(&a, "a/db", "entity:host", "none");
    let a = analyze(&[cnp(
        "a",
        "db",
        "endpointSelector: {matchLabels: {app: db}}\ningress: [{fromEntities: [remote-node]}]",
    )]);
    assert_reach(&a, "entity:remote-node", "a/db", "all");
    assert_reach(&a, "entity:kube-apiserver", "a/db", "none");
}

#[test]
fn ci_34_cc_7_ec_25_ec_29_fqdn_endpoints() {
    let web = "endpointSelector: {matchLabels: {app: web}}
egress: [{toFQDNs: [{matchName: API.example.com.}, {matchPattern: \"*.example.com\"}], toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]}]";
    let a = analyze(&[
        cnp("a", "web", web),
        cnp(
            "a",
            "db",
            "endpointSelector: {matchLabels: {app: db}}\negress: [{toEntities: [world]}]",
        ),
        cnp(
            "b",
            "cli",
            "endpointSelector: {}\negress: [{toCIDR: [0.0.0.0/0]}, {toFQDNs: [{matchName: other.example.org}]}]",
        ),
        ccnp(
            "dns",
            "endpointSelector: {matchLabels: {k8s-app: kube-dns}}\negress: [{toCIDR: [10.0.0.0/8]}]",
        ),
    ]);
    // CI-34: the name (lower case, no trailing dot) and the pattern are
    // endpoints of their own; a pattern does not match the names under it.
    assert_reach(&a, "a/web", "fqdn:api.example.com", "TCP 443");
    assert_reach(&a, "a/web", "fqdn:*.example.com", "TCP 443");
    assert_reach(&a, "a/web", "fqdn:other.example.org", "none");
    // QC-2: no address atom is an FQDN.
    assert_reach(&a, "a/web", EXT, "none");
    // EC-25: world and a whole-family CIDR name every FQDN; a smaller CIDR none.
    assert_reach(&a, "a/db", "fqdn:other.example.org", "all");
    assert_reach(&a, "b/cli", "fqdn:api.example.com", "all");
    assert_reach(&a, "kube-system/dns", "fqdn:api.example.com", "none");
    // M-12: an FQDN never reaches an address or an entity.
    assert_reach(&a, "fqdn:api.example.com", EXT, "none");
    assert_reach(&a, "fqdn:api.example.com", "entity:host", "none");
    // EC-29: neither a/web nor b/cli lets its DNS through the proxy.
    assert_eq!(count(&a, Code::CiliumFqdnWithoutDnsProxy), 2);
    assert_eq!(count(&a, Code::CiliumNotModelled), 0);
    // With an L7 `dns` rule on port 53 the names resolve (no warning).
    let proxied = "endpointSelector: {matchLabels: {app: web}}
egress:
- toFQDNs: [{matchName: api.example.com}]
  toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]
- toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
  toPorts: [{ports: [{port: \"53\", protocol: UDP}], rules: {dns: [{matchPattern: \"*\"}]}}]";
    let a = analyze(&[cnp("a", "web", proxied)]);
    assert_reach(&a, "a/web", "fqdn:api.example.com", "TCP 443");
    assert_eq!(count(&a, Code::CiliumFqdnWithoutDnsProxy), 0);
}

#[test]
fn qc_1_no_pseudo_endpoints_without_a_cilium_policy() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cilium-config, namespace: kube-system}\n";
    let a = analyze(&[cm.to_string()]);
    assert!(a.analysis.atoms.pseudo().is_empty());
    assert!(a.analysis.select("entity:host").is_empty());
}

// ---------------------------------------------------------------------------
// A table over the whole fixture: the issue's "a CCNP default-deny with DNS
// allowed" (docs:intro's cluster-wide default deny with kube-dns allowed)
// ---------------------------------------------------------------------------

#[test]
fn ccnp_default_deny_with_dns_allowed_table() {
    let a = analyze(&[ccnp(
        "default-deny",
        "endpointSelector: {}
egress:
- toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
  toPorts: [{ports: [{port: \"53\", protocol: ANY}]}]",
    )]);
    let dns = "TCP 53, UDP 53, SCTP 53";
    assert_table(
        "ccnp default deny",
        &a,
        [
            ["none", "none", "none", dns],
            ["none", "none", "none", dns],
            ["none", "none", "none", dns],
            ["none", "none", "none", dns],
        ],
    );
    assert_reach(&a, "a/web", EXT, "none");
    assert_reach(&a, EXT, "a/web", "all");
}

// ---------------------------------------------------------------------------
// Pull requests (fixtures/cilium/*): the "Done when" changes
// ---------------------------------------------------------------------------

fn pr(name: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let dir = crate::support::repo_root()
        .join("fixtures/cilium")
        .join(name);
    let (b, h) = (dir.join("base"), dir.join("head"));
    let mut args = vec!["diff", "--format", "json"];
    args.extend_from_slice(extra);
    args.extend([b.to_str().unwrap(), h.to_str().unwrap()]);
    let out = crate::support::run(&args);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), json, text)
}

/// `(src, dst, protocol, ports)` of one list of a diff document.
fn rows(json: &serde_json::Value, key: &str) -> Vec<(String, String, String, String)> {
    json[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        .iter()
        .map(|r| {
            (
                r["src"].as_str().unwrap().to_string(),
                r["dst"].as_str().unwrap().to_string(),
                r["protocol"].as_str().unwrap().to_string(),
                r["ports"].to_string(),
            )
        })
        .collect()
}

#[test]
fn pr_ccnp_default_deny_keeps_dns() {
    let (code, json, _) = pr("ccnp-default-deny-dns", &["--fail-on", "closed"]);
    assert_eq!(code, Some(1), "closing paths trips --fail-on closed");
    let closed = rows(&json, "closed");
    assert!(rows(&json, "opened").is_empty());
    let has = |s: &str, d: &str, p: &str, ports: &str| {
        closed
            .iter()
            .any(|r| r.0 == s && r.1 == d && r.2 == p && r.3 == ports)
    };
    assert!(has(
        "a/web[Deployment]",
        "b/cli[Deployment]",
        "TCP",
        "[[1,65535]]"
    ));
    // DNS stays open: only the other ports to kube-dns are closed.
    assert!(has(
        "a/web[Deployment]",
        "kube-system/dns[Deployment]",
        "UDP",
        "[[1,52],[54,65535]]"
    ));
    assert!(
        !closed
            .iter()
            .any(|r| r.1 == "kube-system/dns[Deployment]" && r.3.contains("[53,53]"))
    );
}

#[test]
fn pr_a_cilium_deny_closes_a_path_a_networkpolicy_allows() {
    let (code, json, text) = pr("deny-closes-networkpolicy-allow", &["--fail-on", "closed"]);
    assert_eq!(code, Some(1));
    // The workloads, and the representatives of other pods labelled like
    // them in `a` (the default open world, docs/open-world.md OW-1).
    let row = |s: &str, d: &str| {
        (
            s.to_string(),
            d.to_string(),
            "TCP".to_string(),
            "[[5432,5432]]".to_string(),
        )
    };
    assert_eq!(
        rows(&json, "closed"),
        vec![
            row("a/web[Deployment]", "a/db[Deployment]"),
            row("a/web[Deployment]", "a/{app=db}[any]"),
            row("a/{app=web}[any]", "a/db[Deployment]"),
            row("a/{app=web}[any]", "a/{app=db}[any]"),
        ]
    );
    // Causes name policy, rule, section and peer (here the second peer).
    assert!(
        text.contains("spec.ingressDeny[0].fromEndpoints[1]"),
        "{text}"
    );
    assert!(
        text.contains("CiliumNetworkPolicy a/db-quarantine"),
        "{text}"
    );
}

#[test]
fn pr_to_entities_world_is_an_exposure_that_trips_the_gate() {
    let (code, json, _) = pr("world-exposure", &["--fail-on", "exposure"]);
    assert_eq!(code, Some(1), "a new path from the world is an exposure");
    let opened = rows(&json, "opened");
    // a/db, and the representative of other `app=db` pods of `a` (OW-1).
    assert_eq!(opened.len(), 2, "{opened:?}");
    assert_eq!(opened[0].1, "a/db[Deployment]");
    assert_eq!(opened[1].1, "a/{app=db}[any]");
    assert_eq!(
        (opened[0].2.as_str(), opened[0].3.as_str()),
        ("TCP", "[[5432,5432]]")
    );
    let (code, _, _) = pr("world-exposure", &["--fail-on", "closed"]);
    assert_eq!(code, Some(0));
}

#[test]
fn pr_egress_to_the_api_server_and_an_fqdn_is_opened_and_an_exposure() {
    let (code, json, _) = pr("apiserver-fqdn-egress", &["--fail-on", "exposure"]);
    assert_eq!(
        code,
        Some(1),
        "new paths to the API server and a name are exposures"
    );
    let opened = rows(&json, "opened");
    let has = |s: &str, d: &str| {
        opened
            .iter()
            .any(|r| r.0 == s && r.1 == d && r.2 == "TCP" && r.3 == "[[443,443]]")
    };
    assert!(
        has("a/web[Deployment]", "entity:kube-apiserver"),
        "{opened:?}"
    );
    assert!(
        has("a/web[Deployment]", "fqdn:api.example.com"),
        "{opened:?}"
    );
    assert!(opened.iter().all(|r| r.0.starts_with("a/")), "{opened:?}");
    assert!(rows(&json, "closed").is_empty());
    // The contract's endpoint classes (output-contract.md).
    let eps = json["endpoints"].as_array().expect("endpoints");
    let class = |id: &str| {
        eps.iter()
            .find(|e| e["id"] == id)
            .map(|e| (e["class"].to_string(), e["kind"].to_string()))
    };
    assert_eq!(
        class("entity:kube-apiserver"),
        Some(("\"entity\"".into(), "\"Entity\"".into()))
    );
    assert_eq!(
        class("fqdn:api.example.com"),
        Some(("\"fqdn\"".into(), "\"FQDN\"".into()))
    );
    // In words in the comment.
    let dir = crate::support::repo_root().join("fixtures/cilium/apiserver-fqdn-egress");
    let out = crate::support::run(&[
        "diff",
        "--format",
        "md",
        dir.join("base").to_str().unwrap(),
        dir.join("head").to_str().unwrap(),
    ]);
    let md = String::from_utf8(out.stdout).expect("utf-8");
    assert!(md.contains("the Kubernetes API server"), "{md}");
    assert!(md.contains("fqdn api.example.com"), "{md}");
    assert!(
        md.contains("to the API server, a node or a DNS name"),
        "{md}"
    );
    // `reach --from/--to` take pseudo-endpoint ids, and "why" names them.
    let out = crate::support::run(&[
        "reach",
        "--closed-world",
        "--from",
        "a/web",
        "--to",
        "entity:host",
        dir.join("head").to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("0 allowed connections"), "{text}");
    assert!(
        text.contains("spec.egress[1].toEntities[0] of CiliumNetworkPolicy a/web-egress"),
        "{text}"
    );
    assert!(text.contains("lacks entity host"), "{text}");
}

// ---------------------------------------------------------------------------
// Metamorphic property: a NetworkPolicy and the CiliumNetworkPolicy that
// expresses it give the same reachability under Cilium (CI-46, CI-21,
// CI-22, CI-29, CI-37), outside the documented differences (which the
// generator avoids: `- {}`, ports-only rules, protocol defaults).
// ---------------------------------------------------------------------------

mod metamorphic {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Peer {
        /// podSelector {app: v} (own namespace).
        Pods(&'static str),
        /// namespaceSelector {team: t}, optionally with podSelector {app: v}.
        Ns(&'static str, Option<&'static str>),
        /// ipBlock cidr (except one).
        Block(&'static str, Option<&'static str>),
    }

    #[derive(Clone, Debug)]
    struct Rule {
        peers: Vec<Peer>,
        /// (protocol, port, end); empty: every port.
        ports: Vec<(&'static str, u16, Option<u16>)>,
    }

    #[derive(Clone, Debug)]
    struct Policy {
        ns: &'static str,
        app: Option<&'static str>,
        egress: bool,
        rules: Vec<Rule>,
    }

    fn peer() -> impl Strategy<Value = Peer> {
        let app = prop::sample::select(vec!["web", "db", "cli", "kube-dns"]);
        let team = prop::sample::select(vec!["a", "b", "c"]);
        prop_oneof![
            app.clone().prop_map(Peer::Pods),
            (team, prop::option::of(app)).prop_map(|(t, a)| Peer::Ns(t, a)),
            prop::sample::select(vec![
                ("10.0.0.0/8", None),
                ("10.0.0.0/8", Some("10.1.0.0/16")),
                ("0.0.0.0/0", Some("192.0.2.0/24")),
                ("192.0.2.0/24", None),
            ])
            .prop_map(|(c, e)| Peer::Block(c, e)),
        ]
    }

    fn rule() -> impl Strategy<Value = Rule> {
        let port = (
            prop::sample::select(vec!["TCP", "UDP", "SCTP"]),
            prop::sample::select(vec![53u16, 80, 5432, 8080]),
            prop::option::of(prop::sample::select(vec![90u16, 9000])),
        );
        (
            prop::collection::vec(peer(), 1..3),
            prop::collection::vec(port, 0..3),
        )
            .prop_map(|(peers, ports)| Rule { peers, ports })
    }

    fn policy() -> impl Strategy<Value = Policy> {
        (
            prop::sample::select(vec!["a", "b"]),
            prop::option::of(prop::sample::select(vec!["web", "db", "cli"])),
            any::<bool>(),
            prop::collection::vec(rule(), 1..3),
        )
            .prop_map(|(ns, app, egress, rules)| Policy {
                ns,
                app,
                egress,
                rules,
            })
    }

    fn selector(app: Option<&str>) -> String {
        app.map_or("{}".to_string(), |a| {
            format!("{{matchLabels: {{app: {a}}}}}")
        })
    }

    fn as_knp(p: &Policy, name: &str) -> String {
        let (section, key) = if p.egress {
            ("egress", "to")
        } else {
            ("ingress", "from")
        };
        let mut body = format!(
            "podSelector: {}\npolicyTypes: [{}]\n{section}:\n",
            selector(p.app),
            if p.egress { "Egress" } else { "Ingress" }
        );
        for r in &p.rules {
            let peers: Vec<String> = r
                .peers
                .iter()
                .map(|x| match x {
                    Peer::Pods(a) => format!("{{podSelector: {}}}", selector(Some(a))),
                    Peer::Ns(t, a) => format!(
                        "{{namespaceSelector: {{matchLabels: {{team: {t}}}}}{}}}",
                        a.map_or(String::new(), |a| format!(
                            ", podSelector: {}",
                            selector(Some(a))
                        ))
                    ),
                    Peer::Block(c, e) => format!(
                        "{{ipBlock: {{cidr: {c}{}}}}}",
                        e.map_or(String::new(), |e| format!(", except: [{e}]"))
                    ),
                })
                .collect();
            let ports: Vec<String> = r
                .ports
                .iter()
                .map(|(pr, n, e)| {
                    let end = e
                        .filter(|e| e > n)
                        .map_or(String::new(), |e| format!(", endPort: {e}"));
                    format!("{{protocol: {pr}, port: {n}{end}}}")
                })
                .collect();
            body.push_str(&format!("- {key}: [{}]\n", peers.join(", ")));
            if !ports.is_empty() {
                body.push_str(&format!("  ports: [{}]\n", ports.join(", ")));
            }
        }
        knp(p.ns, name, &body)
    }

    /// One NetworkPolicy rule is one item per peer kind in Cilium (CI-20):
    /// endpoint peers in one item, each CIDR in one.
    fn as_cnp(p: &Policy, name: &str) -> String {
        let (section, from) = if p.egress {
            ("egress", "to")
        } else {
            ("ingress", "from")
        };
        let mut body = format!("endpointSelector: {}\n{section}:\n", selector(p.app));
        for r in &p.rules {
            let ports: Vec<String> = r
                .ports
                .iter()
                .map(|(pr, n, e)| {
                    let end = e.map_or(String::new(), |e| format!(", endPort: {e}"));
                    format!("{{port: \"{n}\", protocol: {pr}{end}}}")
                })
                .collect();
            let to_ports = if ports.is_empty() {
                String::new()
            } else {
                format!(", toPorts: [{{ports: [{}]}}]", ports.join(", "))
            };
            let mut endpoints = Vec::new();
            for x in &r.peers {
                match x {
                    Peer::Pods(a) => endpoints.push(selector(Some(a))),
                    Peer::Ns(t, a) => endpoints.push(format!(
                        "{{matchLabels: {{io.cilium.k8s.namespace.labels.team: {t}{}}}}}",
                        a.map_or(String::new(), |a| format!(", app: {a}"))
                    )),
                    Peer::Block(c, e) => body.push_str(&format!(
                        "- {{{from}CIDRSet: [{{cidr: {c}{}}}]{to_ports}}}\n",
                        e.map_or(String::new(), |e| format!(", except: [{e}]"))
                    )),
                }
            }
            if !endpoints.is_empty() {
                body.push_str(&format!(
                    "- {{{from}Endpoints: [{}]{to_ports}}}\n",
                    endpoints.join(", ")
                ));
            }
        }
        cnp(p.ns, name, &body)
    }

    fn matrix(a: &Analyzed) -> Vec<(String, String, String)> {
        // Pseudo-endpoints exist only with a CNP (CI-33, QC-1); a
        // NetworkPolicy cannot name them, so they are left out.
        let mut eps = a.analysis.endpoints();
        let pseudo = a.analysis.atoms.pseudo();
        eps.retain(|e| !matches!(e, Endpoint::Atom(x) if pseudo.contains(x)));
        let mut out = Vec::new();
        for &s in &eps {
            for &d in &eps {
                out.push((
                    a.analysis.endpoint_id(s),
                    a.analysis.endpoint_id(d),
                    a.analysis.reach(s, d).to_string(),
                ));
            }
        }
        out
    }

    const CILIUM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cilium-config, namespace: kube-system}\n";

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// CI-46: the same reachability, row for row.
        #[test]
        fn a_cnp_expressing_a_networkpolicy_agrees(ps in prop::collection::vec(policy(), 1..4)) {
            let mut knps = vec![CILIUM.to_string()];
            let mut cnps = vec![CILIUM.to_string()];
            for (i, p) in ps.iter().enumerate() {
                knps.push(as_knp(p, &format!("p{i}")));
                cnps.push(as_cnp(p, &format!("p{i}")));
            }
            let k = analyze(&knps);
            let c = analyze(&cnps);
            let (mk, mc) = (matrix(&k), matrix(&c));
            let diff: Vec<_> = mk.iter().zip(&mc).filter(|(x, y)| x != y).take(5).collect();
            prop_assert!(diff.is_empty(), "differ: {diff:?}\nknp:\n{}\ncnp:\n{}", knps.join("---\n"), cnps.join("---\n"));
        }
    }
}
