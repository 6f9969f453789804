//! Representatives of the rest of the cluster (docs/open-world.md, OW-*).

use crate::properties::{cluster, yaml};
use crate::support::revision;
use proptest::prelude::*;
use reachdiff::analysis::{Options, analyze};
use reachdiff::comparison::compare;
use reachdiff::model::ConnSet;
use reachdiff::model::selector::NAMESPACE_NAME_LABEL;
use reachdiff::reach::open_world::ClusterSpec;
use reachdiff::reach::{Analysis, Endpoint};
use std::collections::BTreeMap;

fn open() -> Options {
    Options {
        open_world: Some(ClusterSpec::default()),
        ..Options::default()
    }
}

/// Replaces the witness's "a value no selector names" by a valid label value
/// that no generated selector names either (OW-5).
fn concrete(v: &str) -> String {
    if v.starts_with('~') {
        "zz-fresh".into()
    } else {
        v.to_string()
    }
}

/// YAML for a pod exactly as representative `r` describes it (OW-5): in its
/// known namespace, or in a fresh namespace with the class's labels.
fn probe_yaml(a: &Analysis, r: usize) -> (String, String) {
    let w = &a.workloads[r];
    let ns = a
        .namespaces
        .iter()
        .find(|n| n.name == w.namespace)
        .expect("namespace");
    let mut out = String::new();
    let namespace = if ns.span.is_none() && w.namespace.starts_with('~') {
        let name = concrete(&ns.labels[NAMESPACE_NAME_LABEL]);
        let name = if name == "zz-fresh" {
            "fresh-ns".to_string()
        } else {
            name
        };
        let labels: Vec<String> = ns
            .labels
            .iter()
            .filter(|(k, _)| *k != NAMESPACE_NAME_LABEL)
            .map(|(k, v)| format!("{k}: {}", concrete(v)))
            .collect();
        out.push_str(&format!(
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{{}}}}}\n",
            labels.join(", ")
        ));
        name
    } else {
        w.namespace.clone()
    };
    let labels: Vec<String> = w
        .labels
        .iter()
        .map(|(k, v)| format!("{k}: {}", concrete(v)))
        .collect();
    out.push_str(&format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: probe, namespace: {namespace}, labels: {{{}}}}}\nspec:\n  containers:\n  - name: c\n",
        labels.join(", ")
    ));
    (out, format!("{namespace}/probe[Pod]"))
}

/// Every row touching `e`, keyed by the other end's id ("self" for e → e).
fn rows_of(a: &Analysis, e: Endpoint, skip: Option<&str>) -> BTreeMap<(bool, String), ConnSet> {
    let mut out = BTreeMap::new();
    for o in a.endpoints() {
        let id = a.endpoint_id(o);
        if Some(id.as_str()) == skip {
            continue;
        }
        let key = if o == e { "self".to_string() } else { id };
        let (to, from) = (a.reach(e, o), a.reach(o, e));
        if !to.is_empty() {
            out.insert((true, key.clone()), to);
        }
        if !from.is_empty() && o != e {
            out.insert((false, key), from);
        }
    }
    out
}

fn representatives(a: &Analysis) -> Vec<usize> {
    (0..a.workloads.len())
        .filter(|&w| {
            a.workloads[w]
                .representative
                .as_ref()
                .is_some_and(|r| !r.declared)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    /// OW-3..OW-5, in reach: adding a concrete pod exactly as a
    /// representative's class says gives it exactly the representative's
    /// rows (the representative's row to itself becomes the pod's).
    #[test]
    fn a_concrete_pod_has_its_representatives_rows(c in cluster(), pick in any::<prop::sample::Index>()) {
        let y = yaml(&c);
        let a = analyze(&revision(&[("m.yaml", &y)]), &open()).expect("valid").analysis;
        let reps = representatives(&a);
        prop_assert!(!reps.is_empty(), "*/*[any] always exists");
        let r = reps[pick.index(reps.len())];
        let rid = a.workloads[r].id();
        let (extra, probe_id) = probe_yaml(&a, r);
        let with = analyze(&revision(&[("m.yaml", &y), ("probe.yaml", &extra)]), &open()).expect("valid probe").analysis;
        let probe = with.workload_index(&probe_id).expect("probe analysed");
        // The probe also belongs to its own class, whose representative
        // still exists: compare everything else.
        let want = rows_of(&a, Endpoint::Workload(r), None);
        // The probe's fresh namespace is known now and brings its own
        // class: compare the endpoints both analyses have.
        let known: std::collections::BTreeSet<String> = a.endpoints().into_iter().map(|e| a.endpoint_id(e)).collect();
        let got: BTreeMap<_, _> = rows_of(&with, Endpoint::Workload(probe), Some(&rid))
            .into_iter()
            .filter(|((_, k), _)| k == "self" || known.contains(k))
            .collect();
        prop_assert_eq!(&got, &want, "representative {} vs {}\n{}\n{}", rid, probe_id, y, extra);
    }

    /// The same in a diff: with the probe added to both revisions, its
    /// opened and closed rows are exactly the representative's.
    #[test]
    fn a_concrete_pod_has_its_representatives_diff(base in cluster(), head in cluster(), pick in any::<prop::sample::Index>()) {
        let (by, hy) = (yaml(&base), yaml(&head));
        let cmp = compare(&revision(&[("m.yaml", &by)]), &revision(&[("m.yaml", &hy)]), &open()).expect("valid");
        let reps = representatives(&cmp.head.analysis);
        let r = reps[pick.index(reps.len())];
        let rid = cmp.head.analysis.workloads[r].id();
        // The probe's class is decided by the labels the head gives it.
        let (extra, probe_id) = probe_yaml(&cmp.head.analysis, r);
        // A known namespace's class is named by the namespace, a fresh
        // namespace's by its labels: the probe is in the class on both sides.
        let with = compare(
            &revision(&[("m.yaml", &by), ("probe.yaml", &extra)]),
            &revision(&[("m.yaml", &hy), ("probe.yaml", &extra)]),
            &open(),
        ).expect("valid probe");
        let rows = |d: &reachdiff::diff::ReachDiff, me: &str| -> BTreeMap<(bool, bool, String), ConnSet> {
            let eps = &d.endpoints;
            let mut out = BTreeMap::new();
            for (opened, list) in [(true, &d.opened), (false, &d.closed)] {
                for row in list.iter() {
                    let (s, t) = (&eps[row.src].id, &eps[row.dst].id);
                    let key = if s == me && t == me { Some((opened, true, "self".to_string())) }
                        else if s == me && *t != rid && !t.starts_with("fresh-ns/") { Some((opened, true, t.clone())) }
                        else if t == me && *s != rid && !s.starts_with("fresh-ns/") { Some((opened, false, s.clone())) }
                        else { None };
                    if let Some(k) = key { out.entry(k).or_insert_with(ConnSet::empty).union_with(&row.conn); }
                }
            }
            out
        };
        let want = rows(&cmp.diff, &rid);
        let got = rows(&with.diff, &probe_id);
        prop_assert_eq!(got, want, "representative {} vs {}\nbase:\n{}\nhead:\n{}\n{}", rid, probe_id, by, hy, extra);
    }

    /// OW-2: base and head share their representatives (the union of their
    /// selectors), so a revision compared with itself changes nothing and
    /// an unchanged representative is never "new".
    #[test]
    fn both_sides_share_representatives(base in cluster(), head in cluster()) {
        let cmp = compare(&revision(&[("m.yaml", &yaml(&base))]), &revision(&[("m.yaml", &yaml(&head))]), &open()).expect("valid");
        let ids = |a: &Analysis| -> Vec<String> { representatives(a).into_iter().map(|w| a.workloads[w].id()).collect() };
        prop_assert_eq!(ids(&cmp.base.analysis), ids(&cmp.head.analysis));
    }
}

const DNS_RULE: &str = "---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports:
    - {protocol: UDP, port: PORT}
    - {protocol: TCP, port: PORT}
";

fn dns_warnings(port: u16, opts: &Options) -> Vec<String> {
    let text = DNS_RULE.replace("PORT", &port.to_string());
    let a = analyze(&revision(&[("m.yaml", &text)]), opts).expect("valid");
    a.diagnostics
        .iter()
        .filter(|d| d.code == reachdiff::diag::Code::EgressWithoutDns)
        .map(|d| d.to_string())
        .collect()
}

/// OW-7, OW-8 (and E-10 closed world): the canonical DNS egress rule.
#[test]
fn egress_without_dns_only_when_dns_is_really_denied() {
    let builtin = Options {
        open_world: Some(ClusterSpec {
            builtin_dns: true,
            ..ClusterSpec::default()
        }),
        ..Options::default()
    };
    // The built-in kube-dns answers on 53: no finding.
    assert_eq!(dns_warnings(53, &builtin), Vec::<String>::new());
    // DNS on the wrong port really is denied.
    assert_eq!(dns_warnings(5353, &builtin).len(), 1);
    // A declared CoreDNS instead of the built-in one (cluster: workloads).
    let declared = Options {
        open_world: Some(ClusterSpec {
            builtin_dns: false,
            workloads: vec![reachdiff::reach::open_world::DeclaredWorkload::kube_dns()],
            ..ClusterSpec::default()
        }),
        ..Options::default()
    };
    assert_eq!(dns_warnings(53, &declared), Vec::<String>::new());
    assert_eq!(dns_warnings(5353, &declared).len(), 1);
    // Closed world: no kube-dns in the repository, so the rule's peer
    // matches nothing and the old rule (E-10) warns, as before.
    let closed = dns_warnings(53, &Options::default());
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert!(
        closed[0].contains("name resolution will fail"),
        "{closed:?}"
    );
}

/// OW-6: `cluster:` in `.reachdiff.yaml`; one way to declare a namespace.
#[test]
fn cluster_config_declares_and_refuses_duplicates() {
    use reachdiff::config::Config;
    let cfg = Config::parse(
        ".reachdiff.yaml",
        "cluster:\n  namespaces:\n    monitoring: {labels: {team: monitoring}}\n  workloads:\n  - {name: prometheus, namespace: monitoring, labels: {app: prometheus}, ports: [{name: metrics, port: 9090}]}\n  kube-dns: false\n",
    )
    .expect("valid");
    let mut opts = Options {
        open_world: Some(ClusterSpec {
            builtin_dns: true,
            ..ClusterSpec::default()
        }),
        ..Options::default()
    };
    cfg.apply_cluster(&mut opts).expect("applies");
    let spec = opts.open_world.expect("open world");
    assert!(!spec.builtin_dns);
    assert_eq!(spec.namespaces["monitoring"]["team"], "monitoring");
    assert_eq!(spec.workloads.len(), 1);
    assert_eq!(spec.workloads[0].ports[0].port, 9090);

    let twice = Config::parse(
        ".reachdiff.yaml",
        "namespaces:\n  monitoring: {labels: {team: a}}\ncluster:\n  namespaces:\n    monitoring: {labels: {team: b}}\n",
    )
    .expect("parses");
    let mut opts = Options {
        open_world: Some(ClusterSpec::default()),
        ..Options::default()
    };
    let err = twice.apply_cluster(&mut opts).expect_err("declared twice");
    assert!(err.to_string().contains("declared twice"), "{err}");

    let closed = Config::parse(".reachdiff.yaml", "closed-world: true\n").expect("valid");
    let mut opts = Options {
        open_world: Some(ClusterSpec::default()),
        ..Options::default()
    };
    closed.apply_cluster(&mut opts).expect("applies");
    assert!(opts.open_world.is_none());
}

/// OW-8: a deny-all `podSelector: {}` in a namespace without workloads is
/// not "selects nothing" in the open world (closed world: as before).
#[test]
fn deny_all_in_an_empty_namespace_selects_future_pods() {
    let text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: empty}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n";
    let codes = |opts: &Options| -> usize {
        analyze(&revision(&[("m.yaml", text)]), opts)
            .expect("valid")
            .diagnostics
            .iter()
            .filter(|d| d.code == reachdiff::diag::Code::SelectsNothing)
            .count()
    };
    assert_eq!(codes(&open()), 0);
    assert_eq!(codes(&Options::default()), 1);
}

/// #15 item 4 (OW-6): a namespace declared under `cluster:` is known with
/// its labels, so neither `namespace-assumed` nor `namespace-label-unknown`
/// fires for it, in either world; undeclared, both fire in the closed
/// world. (In the open world an unknown label is no finding: the selector
/// admits the representative of namespaces created later, OW-2.)
#[test]
fn namespaces_declared_under_cluster_clear_assumed_and_label_unknown() {
    use reachdiff::config::Config;
    use reachdiff::diag::Code;
    let text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: from-monitoring, namespace: shop}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: monitoring}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: dns, namespace: monitoring}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n";
    let codes = |config: &str, open_world: bool| -> Vec<Code> {
        let cfg = Config::parse(".reachdiff.yaml", config).expect("valid");
        let mut opts = if open_world {
            open()
        } else {
            Options::default()
        };
        opts.load.external_namespaces = cfg.external_namespaces();
        if open_world {
            cfg.apply_cluster(&mut opts).expect("applies");
        }
        let a = analyze(&revision(&[("m.yaml", text)]), &opts).expect("valid");
        let mut codes: Vec<Code> = a.diagnostics.iter().map(|d| d.code).collect();
        codes.extend(reachdiff::findings::findings(&a).iter().map(|f| f.code()));
        codes
    };
    let undeclared = codes("{}\n", false);
    assert!(
        undeclared.contains(&Code::NamespaceAssumed),
        "{undeclared:?}"
    );
    assert!(
        undeclared.contains(&Code::NamespaceLabelUnknown),
        "{undeclared:?}"
    );
    let undeclared = codes("{}\n", true);
    assert!(
        undeclared.contains(&Code::NamespaceAssumed),
        "{undeclared:?}"
    );
    let declared = "cluster:\n  namespaces:\n    monitoring: {labels: {team: monitoring}}\n";
    for open_world in [false, true] {
        let declared = codes(declared, open_world);
        assert!(!declared.contains(&Code::NamespaceAssumed), "{declared:?}");
        assert!(
            !declared.contains(&Code::NamespaceLabelUnknown),
            "{declared:?}"
        );
    }
}

/// OW-9: a namespace label no Namespace of the repository carries is no
/// finding in the open world (the selector admits namespaces created
/// later, and their representative has the row); the closed world keeps
/// `namespace-label-unknown`. `peer-selects-nothing` says the peer matches
/// no workload of the repository in both.
#[test]
fn ow9_unknown_namespace_label_is_a_representative_not_a_finding() {
    use reachdiff::diag::Code;
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c}]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: from-monitoring, namespace: shop}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: monitoring}}\n";
    let rev = revision(&[("m.yaml", text)]);
    let codes = |opts: &Options| -> Vec<Code> {
        let a = analyze(&rev, opts).expect("valid");
        reachdiff::findings::findings(&a)
            .iter()
            .map(|f| f.code())
            .collect()
    };
    let closed = codes(&Options::default());
    assert!(closed.contains(&Code::NamespaceLabelUnknown), "{closed:?}");
    let open_codes = codes(&open());
    assert!(
        !open_codes.contains(&Code::NamespaceLabelUnknown),
        "{open_codes:?}"
    );
    assert!(
        open_codes.contains(&Code::PeerSelectsNothing),
        "{open_codes:?}"
    );
    let a = analyze(&rev, &open()).expect("valid").analysis;
    let rep = a
        .workload_index("{team=monitoring}/*[any]")
        .expect("the class the selector names");
    let web = a.workload_index("shop/web[Deployment]").expect("web");
    assert!(
        !a.reach(Endpoint::Workload(rep), Endpoint::Workload(web))
            .is_empty()
    );
}

/// OW-8/OW-9: "a label typo?" compares with the repository's labels only.
/// The witnesses of representatives carry the selector's own labels, so
/// counting them would make every typo find itself.
#[test]
fn ow8_typo_is_judged_against_the_repository_labels_only() {
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: shop}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: from-monitoring, namespace: shop}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {tean: monitoring}}\n";
    let a = analyze(&revision(&[("m.yaml", text)]), &open()).expect("valid");
    let messages: Vec<String> = reachdiff::findings::findings(&a)
        .iter()
        .filter(|f| f.code() == reachdiff::diag::Code::PeerSelectsNothing)
        .map(|f| f.diagnostic.message.clone())
        .collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("\"tean\" is close to \"team\": a label typo?"),
        "{messages:?}"
    );
}
