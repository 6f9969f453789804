//! Files' objects into one inventory, in path order: second declarations
//! (the later one is kept, as `kubectl apply` of the tree would leave it),
//! keys written twice, and namespaces used but not declared (M-9).

use super::calico_objects::CalicoObject;
use super::objects::*;
use super::relevance::{Class, ObjectKey, Relevance};
use super::{Declared, DupKeyFinding, DupWhy, FileObjects, LoadOptions};
use crate::diag::{Code, Diagnostic, Severity, Span};
use crate::model::selector::NAMESPACE_NAME_LABEL;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// An object as the merge sees it.
trait Declaration: VerdictInputs {
    const CLASS: Class;
    fn key(&self) -> ObjectKey;
    fn span(&self) -> Option<&Span>;
}

fn key(kind: &str, namespace: &str, name: &str) -> ObjectKey {
    ObjectKey {
        group: String::new(),
        kind: kind.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

impl Declaration for Namespace {
    const CLASS: Class = Class::Namespace;
    fn key(&self) -> ObjectKey {
        key("Namespace", "", &self.name)
    }
    fn span(&self) -> Option<&Span> {
        self.span.as_ref()
    }
}

impl Declaration for Workload {
    const CLASS: Class = Class::Workload;
    fn key(&self) -> ObjectKey {
        key(&self.kind, &self.namespace, &self.name)
    }
    fn span(&self) -> Option<&Span> {
        Some(&self.span)
    }
}

impl Declaration for Service {
    const CLASS: Class = Class::Service;
    fn key(&self) -> ObjectKey {
        key("Service", &self.namespace, &self.name)
    }
    fn span(&self) -> Option<&Span> {
        Some(&self.span)
    }
}

impl Declaration for NetworkPolicy {
    const CLASS: Class = Class::NetworkPolicy;
    fn key(&self) -> ObjectKey {
        key("NetworkPolicy", &self.namespace, &self.name)
    }
    fn span(&self) -> Option<&Span> {
        Some(&self.span)
    }
}

impl Declaration for AdminPolicy {
    const CLASS: Class = Class::Admin;
    fn key(&self) -> ObjectKey {
        // ANP and CNP share no namespace, but two CNPs of one name collide.
        key(&self.kind, "", &self.name)
    }
    fn span(&self) -> Option<&Span> {
        Some(&self.span)
    }
}

impl Declaration for CiliumPolicy {
    const CLASS: Class = Class::Cilium;
    fn key(&self) -> ObjectKey {
        key(
            &self.kind,
            self.namespace.as_deref().unwrap_or(""),
            &self.name,
        )
    }
    fn span(&self) -> Option<&Span> {
        Some(&self.span)
    }
}

impl Declaration for CidrGroup {
    const CLASS: Class = Class::Cilium;
    fn key(&self) -> ObjectKey {
        key("CiliumCIDRGroup", "", &self.name)
    }
    fn span(&self) -> Option<&Span> {
        Some(&self.span)
    }
}

impl Declaration for CalicoObject {
    const CLASS: Class = Class::Calico;
    fn key(&self) -> ObjectKey {
        calico_key(
            &self.kind,
            self.namespace.as_deref().unwrap_or(""),
            &self.name,
        )
    }
    fn span(&self) -> Option<&Span> {
        Some(&self.span)
    }
}

/// Calico's NetworkPolicy is not Kubernetes': the group keeps them apart.
/// Both API groups name one object (CA-2).
pub(super) fn calico_key(kind: &str, namespace: &str, name: &str) -> ObjectKey {
    ObjectKey {
        group: "projectcalico.org".to_string(),
        kind: kind.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

impl VerdictInputs for CalicoObject {
    fn same_verdict_inputs(&self, other: &Self) -> bool {
        self.kind == other.kind && self.crd_form == other.crd_form && self.body == other.body
    }
}

impl VerdictInputs for Declared {
    fn same_verdict_inputs(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl Declaration for Declared {
    const CLASS: Class = Class::Other;
    fn key(&self) -> ObjectKey {
        self.key.clone()
    }
    fn span(&self) -> Option<&Span> {
        Some(&self.span)
    }
}

/// An object declared a second time.
struct Redeclared {
    class: Class,
    key: ObjectKey,
    first: Span,
    second: Span,
    same: bool,
}

/// Objects of one class, by identity, in the order first declared.
struct Slot<T> {
    items: Vec<T>,
    index: HashMap<ObjectKey, usize>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            items: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T: Declaration> Slot<T> {
    fn add(&mut self, item: T, again: &mut Vec<Redeclared>) {
        let key = item.key();
        let Some(&i) = self.index.get(&key) else {
            self.index.insert(key, self.items.len());
            self.items.push(item);
            return;
        };
        let prev = &self.items[i];
        if let (Some(first), Some(second)) = (prev.span(), item.span()) {
            again.push(Redeclared {
                class: T::CLASS,
                key,
                first: first.clone(),
                second: second.clone(),
                same: prev.same_verdict_inputs(&item),
            });
        }
        self.items[i] = item;
    }

    fn extend(&mut self, items: Vec<T>, again: &mut Vec<Redeclared>) {
        for item in items {
            self.add(item, again);
        }
    }
}

#[derive(Default)]
struct Merger {
    namespaces: Slot<Namespace>,
    workloads: Slot<Workload>,
    services: Slot<Service>,
    policies: Slot<NetworkPolicy>,
    admin_policies: Slot<AdminPolicy>,
    cilium_policies: Slot<CiliumPolicy>,
    cidr_groups: Slot<CidrGroup>,
    calico: Slot<CalicoObject>,
    others: Slot<Declared>,
    acknowledgements: BTreeMap<ObjectKey, Vec<Acknowledgement>>,
    skipped: BTreeMap<String, usize>,
    again: Vec<Redeclared>,
    dup_keys: Vec<DupKeyFinding>,
    diags: Vec<Diagnostic>,
}

impl Merger {
    fn add(&mut self, r: FileObjects) {
        let again = &mut self.again;
        self.diags.extend(r.diags);
        self.namespaces.extend(r.namespaces, again);
        self.workloads.extend(r.workloads, again);
        self.services.extend(r.services, again);
        self.policies.extend(r.policies, again);
        self.admin_policies.extend(r.admin_policies, again);
        self.cilium_policies.extend(r.cilium_policies, again);
        self.cidr_groups.extend(r.cidr_groups, again);
        self.calico.extend(r.calico, again);
        self.others.extend(r.others, again);
        self.dup_keys.extend(r.dup_keys);
        // The later declaration is the one kept, annotations included.
        self.acknowledgements.extend(r.acknowledgements);
        for (k, n) in r.skipped {
            *self.skipped.entry(k).or_default() += n;
        }
    }
}

pub(super) fn merge(results: Vec<FileObjects>, opts: &LoadOptions) -> (Inventory, Vec<Diagnostic>) {
    let mut m = Merger::default();
    for r in results {
        m.add(r);
    }
    let mut inv = Inventory {
        namespaces: m.namespaces.items,
        workloads: m.workloads.items.into(),
        services: m.services.items,
        policies: m.policies.items,
        admin_policies: m.admin_policies.items,
        cni_marks: cni_marks(
            &m.cilium_policies.items,
            &m.cidr_groups.items,
            &m.calico.items,
            &m.others.items,
        ),
        cilium_policies: m.cilium_policies.items,
        cidr_groups: m.cidr_groups.items,
        cilium_mode: None,
        calico: m.calico.items,
        calico_mode: None,
        skipped: m.skipped,
        acknowledgements: opts
            .acknowledgements
            .iter()
            .cloned()
            .chain(m.acknowledgements.into_values().flatten())
            .collect(),
    };
    let mut diags = m.diags;
    let relevance = Relevance::of(&inv);
    diags.extend(m.again.iter().map(|r| redeclared(r, &relevance)));
    diags.extend(m.dup_keys.iter().map(|d| dup_key(d, &relevance)));
    assume_namespaces(&mut inv, &mut diags, opts);
    inv.namespaces.sort_by(|a, b| a.name.cmp(&b.name));
    std::sync::Arc::make_mut(&mut inv.workloads).sort_by_cached_key(Workload::id);
    (inv, diags)
}

/// CC-17: the first object of each CNI dialect, in path order.
fn cni_marks(
    cilium: &[CiliumPolicy],
    groups: &[CidrGroup],
    calico: &[CalicoObject],
    others: &[Declared],
) -> CniMarks {
    let mut marks = CniMarks::default();
    let mut seen: Vec<(String, Span, bool)> = cilium
        .iter()
        .map(|p| (p.title(), p.span.clone(), true))
        .chain(
            groups
                .iter()
                .map(|g| (format!("CiliumCIDRGroup {}", g.name), g.span.clone(), true)),
        )
        .chain(calico.iter().map(|o| (o.title(), o.span.clone(), false)))
        .collect();
    for o in others {
        let cilium = o.key.group == "cilium.io"
            || (o.key.kind == "ConfigMap"
                && o.key.namespace == "kube-system"
                && o.key.name == "cilium-config");
        let calico = matches!(
            o.key.group.as_str(),
            "projectcalico.org" | "crd.projectcalico.org"
        );
        if cilium || calico {
            seen.push((o.key.to_string(), o.span.clone(), cilium));
        }
    }
    seen.sort_by(|a, b| (&a.1.file, a.1.line).cmp(&(&b.1.file, b.1.line)));
    for (what, span, cilium) in seen {
        let slot = if cilium {
            &mut marks.cilium
        } else {
            &mut marks.calico
        };
        if slot.is_none() {
            *slot = Some((what, span));
        }
    }
    marks
}

fn directory(span: &Span) -> &str {
    span.file.rsplit_once('/').map_or("", |(dir, _)| dir)
}

const ENVIRONMENTS_HINT: &str = "; if these are separate environments (base and overlays, one folder per cluster), list them under `environments:` in .reachdiff.yaml";

/// A second declaration: an error only when the two differ in what the
/// analysis reads of an object that can change a verdict.
fn redeclared(r: &Redeclared, relevance: &Relevance) -> Diagnostic {
    let matters = relevance.matters(r.class, &r.key);
    let error = matters && !r.same;
    let hint = if error || directory(&r.first) != directory(&r.second) {
        ENVIRONMENTS_HINT
    } else {
        ""
    };
    let first = &r.first;
    let message = if error {
        format!(
            "declared twice with different content (first at {first}); which one the cluster keeps decides the verdict{hint}"
        )
    } else if matters {
        let what = if r.class == Class::Namespace {
            "labels"
        } else {
            "content"
        };
        format!(
            "declared again with the same {what} (first at {first}); the later declaration is used{hint}"
        )
    } else {
        format!(
            "declared again (first at {first}); the later declaration is used, and it cannot change a verdict{hint}"
        )
    };
    let mut d = Diagnostic::new(Code::DuplicateObject, message)
        .at(r.second.clone())
        .object(r.key.to_string());
    if !error {
        d.severity = Severity::Warning;
    }
    d
}

/// A key written twice: an error only when the analysis read the value kept,
/// the two values differ, and the object can change a verdict (or what the
/// object is depends on it).
fn dup_key(f: &DupKeyFinding, relevance: &Relevance) -> Diagnostic {
    let matters = f
        .object
        .as_ref()
        .is_some_and(|(class, key)| relevance.matters(*class, key));
    let (key, first) = (&f.key, f.first.line);
    let (error, reason) = match f.why {
        DupWhy::Identity => (
            true,
            "what this object is depends on which one the API server keeps",
        ),
        DupWhy::Differs if matters => (
            true,
            "the verdict depends on which one the API server keeps",
        ),
        DupWhy::Differs => (
            false,
            "the later value is kept, as kubectl does, and this object cannot change a verdict",
        ),
        DupWhy::Unread => (
            false,
            "the later value is kept, as kubectl does, and reachdiff does not read this field",
        ),
        DupWhy::Same => (false, "both values are the same"),
    };
    let different = if error { " with a different value" } else { "" };
    let message = format!("duplicate key {key:?}{different} (first at line {first}); {reason}");
    let mut d = Diagnostic::new(Code::DuplicateKey, message).at(f.second.clone());
    if let Some((_, k)) = &f.object {
        d = d.object(k.to_string());
    }
    if !error {
        d.severity = Severity::Warning;
    }
    d
}

/// M-9: namespaces used but not declared.
fn assume_namespaces(inv: &mut Inventory, diags: &mut Vec<Diagnostic>, opts: &LoadOptions) {
    let declared: BTreeSet<&str> = inv.namespaces.iter().map(|n| n.name.as_str()).collect();
    let mut used: BTreeMap<String, Span> = BTreeMap::new();
    for (ns, span) in inv
        .workloads
        .iter()
        .map(|w| (&w.namespace, &w.span))
        .chain(inv.policies.iter().map(|p| (&p.namespace, &p.span)))
        .chain(
            inv.cilium_policies
                .iter()
                .filter_map(|p| p.namespace.as_ref().map(|ns| (ns, &p.span))),
        )
    {
        if !declared.contains(ns.as_str()) {
            used.entry(ns.clone()).or_insert_with(|| span.clone());
        }
    }
    for (name, span) in used {
        let mut labels = match opts.external_namespaces.get(&name) {
            Some(labels) => labels.clone(),
            None => {
                diags.push(
                    Diagnostic::new(
                        Code::NamespaceAssumed,
                        format!("namespace {name:?} has no manifest; assumed to carry only kubernetes.io/metadata.name={name}"),
                    )
                    .at(span),
                );
                Default::default()
            }
        };
        labels.insert(NAMESPACE_NAME_LABEL.to_string(), name.clone());
        inv.namespaces.push(Namespace {
            labels,
            name,
            span: None,
        });
    }
}
