//! Dead selectors beyond `selects-nothing`: peers that match no workload,
//! and namespace labels that no Namespace carries. (Named ports no
//! destination declares are `named-port-unresolved`, emitted by the engine.)

use super::{Finding, list, peer_field};
use crate::analysis::Analyzed;
use crate::diag::{Code, Diagnostic, Span};
use crate::manifest::{AdminPeer, AdminSelect, NpPeerKind};
use crate::model::{Operator, Requirement, Selector};
use crate::reach::PeerSpec;
use crate::words::plural;
use std::collections::{BTreeMap, BTreeSet};

/// A requirement that needs a label to be present (In, Exists) and that no
/// namespace can satisfy. In the open world the witness namespaces of
/// representatives are namespaces too, and the one of each class a
/// selector names carries its labels, so no requirement is unknown there:
/// OW-9, by design (such a selector admits namespaces created later).
fn unknown_requirements<'s>(
    present: &NamespaceLabels<'_>,
    sel: &'s Selector,
) -> Vec<&'s Requirement> {
    sel.requirements
        .iter()
        .filter(|r| match (r.op, present.get(r.key.as_str())) {
            (Operator::Exists, values) => values.is_none(),
            (Operator::In, None) => true,
            (Operator::In, Some(values)) => !r.values.iter().any(|v| values.contains(v.as_str())),
            _ => false,
        })
        .collect()
}

/// Label key -> the values some namespace gives it: whether a single
/// `In` or `Exists` requirement matches some namespace, without a scan of
/// every namespace per requirement.
type NamespaceLabels<'a> = BTreeMap<&'a str, BTreeSet<&'a str>>;

fn namespace_labels(a: &Analyzed) -> NamespaceLabels<'_> {
    let mut present = NamespaceLabels::new();
    for n in a.analysis.namespaces.iter() {
        for (k, v) in &n.labels {
            present.entry(k.as_str()).or_default().insert(v.as_str());
        }
    }
    present
}

fn requirement_text(r: &Requirement) -> String {
    match (r.op, r.values.as_slice()) {
        (Operator::In, [v]) => format!("{}={v}", r.key),
        (Operator::In, vs) => format!("{} in ({})", r.key, vs.join(",")),
        _ => r.key.clone(),
    }
}

/// `team: payments` (the first value of an `In`, any value for `Exists`).
fn label_example(r: &Requirement) -> String {
    match r.values.first() {
        Some(v) if r.op == Operator::In => format!("{}: {v}", r.key),
        _ => format!("{}: VALUE", r.key),
    }
}

struct Use {
    namespace: String,
    object: String,
    span: Span,
}

pub(super) fn find(a: &Analyzed, out: &mut Vec<Finding>) {
    let mut scan = Scan {
        a,
        present: namespace_labels(a),
        unknown: BTreeMap::new(),
        explained: BTreeSet::new(),
        exposure: BTreeMap::new(),
    };
    scan.network_policies();
    scan.admin_policies();
    scan.exposure_findings(out);
    scan.unknown_label_findings(out);
    empty_peers(a, &scan.explained, out);
}

/// Label-based namespaceSelectors of one protected namespace's ingress
/// peers: the first one's span, the selectors, the rules.
type Exposure = (Span, BTreeSet<String>, BTreeSet<String>);

/// What the policies' namespace selectors say about namespaces.
struct Scan<'a> {
    a: &'a Analyzed,
    present: NamespaceLabels<'a>,
    /// Requirement -> where it is used.
    unknown: BTreeMap<Requirement, Vec<Use>>,
    /// Namespace selectors of peers with an unknown requirement: their
    /// emptiness is explained by `namespace-label-unknown`.
    explained: BTreeSet<(String, Span)>,
    /// Exposure to the unknown, per protected namespace.
    exposure: BTreeMap<&'a str, Exposure>,
}

impl<'a> Scan<'a> {
    /// Records the requirements of `sel` no namespace satisfies; whether
    /// there were any.
    fn note(&mut self, sel: &Selector, namespace: &str, object: &str, span: &Span) -> bool {
        let reqs = unknown_requirements(&self.present, sel);
        for r in &reqs {
            self.unknown.entry((*r).clone()).or_default().push(Use {
                namespace: namespace.to_string(),
                object: object.to_string(),
                span: span.clone(),
            });
        }
        !reqs.is_empty()
    }

    fn network_policies(&mut self) {
        let a = self.a;
        for p in &a.inventory.policies {
            let object = format!("NetworkPolicy {}/{}", p.namespace, p.name);
            for (ingress, isolates, rules) in [
                (true, p.ingress_isolates, &p.ingress),
                (false, p.egress_isolates, &p.egress),
            ] {
                if !isolates {
                    continue;
                }
                for (i, r) in rules.iter().enumerate() {
                    for peer in r.peers.iter().flatten() {
                        let NpPeerKind::Selectors {
                            namespaces: Some(ns),
                            pods,
                        } = &peer.kind
                        else {
                            continue;
                        };
                        if self.note(ns, &p.namespace, &object, &peer.span) {
                            self.explained.insert((object.clone(), peer.span.clone()));
                        } else if ingress && !ns.is_everything() && !pinned_by_name(ns) {
                            // `namespaceSelector: {}` is `any-namespace-peer`.
                            let e =
                                self.exposure
                                    .entry(p.namespace.as_str())
                                    .or_insert_with(|| {
                                        (peer.span.clone(), BTreeSet::new(), BTreeSet::new())
                                    });
                            e.1.insert(selector_text(Some(ns), pods.as_ref()));
                            e.2.insert(format!("{object} ingress[{i}]"));
                        }
                    }
                }
            }
        }
    }

    fn admin_policies(&mut self) {
        let ns_of = |s: &AdminSelect| -> Selector {
            match s {
                AdminSelect::Namespaces(n) => n.clone(),
                AdminSelect::Pods { namespaces, .. } => namespaces.clone(),
            }
        };
        for p in &self.a.inventory.admin_policies {
            let object = format!("{} {}", p.kind, p.name);
            self.note(&ns_of(&p.subject), "", &object, &p.subject_span);
            for r in p.ingress.iter().chain(&p.egress) {
                for (peer, span) in &r.peers {
                    if let AdminPeer::Select(s) = peer {
                        if self.note(&ns_of(s), "", &object, span) {
                            self.explained.insert((object.clone(), span.clone()));
                        }
                    }
                }
            }
        }
    }

    fn exposure_findings(&self, out: &mut Vec<Finding>) {
        for (ns, (span, selectors, rules)) in &self.exposure {
            let selectors: Vec<String> = selectors.iter().cloned().collect();
            let rules: Vec<String> = rules.iter().cloned().collect();
            out.push(Finding::new(
                *ns,
                Diagnostic::new(
                    Code::ExposureToUnknown,
                    format!(
                        "ingress is admitted by namespaceSelectors that choose namespaces by label, so a namespace created later with matching labels is admitted too: {} ({})",
                        list(&selectors, 3),
                        list(&rules, 3)
                    ),
                )
                .at(span.clone())
                .object(format!("Namespace {ns}")),
            ));
        }
    }

    fn unknown_label_findings(&self, out: &mut Vec<Finding>) {
        for (req, uses) in &self.unknown {
            let mut objects: Vec<String> = uses.iter().map(|u| u.object.clone()).collect();
            objects.dedup();
            let first = &uses[0];
            out.push(Finding::new(
                first.namespace.clone(),
                Diagnostic::new(
                    Code::NamespaceLabelUnknown,
                    format!(
                        "no Namespace in the repository carries label {}, required by {} ({}); if that namespace exists outside the repository, declare its labels (a Namespace manifest, or in .reachdiff.yaml: `namespaces: {{NAME: {{labels: {{{}}}}}}}`); until then {} nothing",
                        requirement_text(req),
                        plural(uses.len(), "namespaceSelector", "namespaceSelectors"),
                        list(&objects, 3),
                        label_example(req),
                        if uses.len() == 1 { "it matches" } else { "they match" },
                    ),
                )
                .at(first.span.clone())
                .object(first.object.clone()),
            ));
        }
    }
}

/// Peers that match no workload, from the compiled rules (those explained
/// by an unknown namespace label excepted).
fn empty_peers(a: &Analyzed, explained: &BTreeSet<(String, Span)>, out: &mut Vec<Finding>) {
    let np_namespace: BTreeMap<String, &str> = a
        .inventory
        .policies
        .iter()
        .map(|p| {
            (
                format!("NetworkPolicy {}/{}", p.namespace, p.name),
                p.namespace.as_str(),
            )
        })
        .collect();
    let open_world = open_world(a);
    // The labels of the repository, for "a typo?" (built once, on demand).
    let mut words: Option<BTreeSet<&str>> = None;
    for rule in &a.analysis.rules {
        let Some(specs) = &rule.spec.peers else {
            continue;
        };
        for (k, (spec, (set, span))) in specs.iter().zip(&rule.peer_sets).enumerate() {
            let shape = match spec {
                PeerSpec::Selectors {
                    namespaces, pods, ..
                } => selector_text(namespaces.as_ref(), pods.as_ref()),
                PeerSpec::Admin(AdminSelect::Namespaces(n)) => selector_text(Some(n), None),
                PeerSpec::Admin(AdminSelect::Pods { namespaces, pods }) => {
                    selector_text(Some(namespaces), Some(pods))
                }
                _ => continue,
            };
            // OW-8: only the repository's workloads count, and an empty
            // selector matches every pod that will ever exist.
            let open_everything = open_world
                && matches!(spec, PeerSpec::Selectors { namespaces: Some(n), pods, .. }
                    if n.is_everything() && pods.as_ref().is_none_or(|p| p.is_everything()));
            if set
                .workloads
                .iter()
                .any(|w| !a.analysis.is_representative(w))
                || open_everything
                || explained.contains(&(rule.origin.policy.clone(), span.clone()))
            {
                continue;
            }
            let ns = np_namespace
                .get(&rule.origin.policy)
                .copied()
                .unwrap_or_default();
            let scope = match spec {
                PeerSpec::Selectors {
                    namespaces: None, ..
                } => format!(" in namespace {ns}"),
                _ => String::new(),
            };
            // OW-8: "a typo" only where the open world cannot explain it: a
            // label key or value one or two edits from one that exists.
            let typo = if open_world {
                let words = words.get_or_insert_with(|| repository_words(a));
                near_miss(words, spec).map_or(String::new(), |(want, have)| {
                    format!(" ({want:?} is close to {have:?}: a label typo?)")
                })
            } else {
                " (often a label typo)".to_string()
            };
            out.push(Finding::new(
                ns,
                Diagnostic::new(
                    Code::PeerSelectsNothing,
                    format!(
                        "peer {k} ({shape}) matches no workload{scope} in the repository, so it allows nothing today{typo}"
                    ),
                )
                .at(span.clone())
                .object(rule.origin.policy.clone())
                .field(peer_field(&rule.origin, k)),
            ));
        }
    }
}

/// A namespaceSelector that names its namespaces (`kubernetes.io/metadata.name`
/// In ...) admits no namespace chosen by labels alone.
fn pinned_by_name(sel: &Selector) -> bool {
    sel.requirements
        .iter()
        .any(|r| r.key == "kubernetes.io/metadata.name" && r.op == Operator::In)
}

fn selector_text(namespaces: Option<&Selector>, pods: Option<&Selector>) -> String {
    let mut parts = Vec::new();
    if let Some(n) = namespaces {
        parts.push(format!("namespaceSelector {n}"));
    }
    if let Some(p) = pods {
        parts.push(format!("podSelector {p}"));
    }
    parts.join(", ")
}

fn open_world(a: &Analyzed) -> bool {
    a.analysis
        .workloads
        .iter()
        .any(|w| w.representative.is_some())
}

/// Label keys and values of the repository: its workloads and namespaces,
/// not the representatives (whose witnesses carry the very labels the
/// selectors name, OW-5, so a typo would always find itself).
fn repository_words(a: &Analyzed) -> BTreeSet<&str> {
    let workloads = a
        .inventory
        .workloads
        .iter()
        .filter(|w| w.representative.is_none())
        .map(|w| &w.labels);
    let namespaces = a
        .inventory
        .namespaces
        .iter()
        .filter(|n| !crate::reach::open_world::is_witness_namespace(&n.name))
        .map(|n| &n.labels);
    workloads
        .chain(namespaces)
        .flat_map(|l| l.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]))
        .collect()
}

/// A key or value of the peer's selectors that no label of the repository
/// has but one or two edits from one it has (OW-8), with that one.
fn near_miss(existing: &BTreeSet<&str>, spec: &PeerSpec) -> Option<(String, String)> {
    let (ns, pods) = match spec {
        PeerSpec::Selectors {
            namespaces, pods, ..
        } => (namespaces.as_ref(), pods.as_ref()),
        PeerSpec::Admin(AdminSelect::Namespaces(n)) => (Some(n), None),
        PeerSpec::Admin(AdminSelect::Pods { namespaces, pods }) => (Some(namespaces), Some(pods)),
        _ => return None,
    };
    let words = ns
        .into_iter()
        .chain(pods)
        .flat_map(|s| s.requirements.iter())
        .flat_map(|r| std::iter::once(r.key.as_str()).chain(r.values.iter().map(String::as_str)));
    for w in words {
        if existing.contains(w) {
            continue;
        }
        if let Some(have) = existing
            .iter()
            .find(|e| edit_distance(w, e) <= 2 && w.len() > 2)
        {
            return Some((w.to_string(), have.to_string()));
        }
    }
    None
}

/// Levenshtein distance, bounded input (label keys and values are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
