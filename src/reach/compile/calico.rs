//! Calico NetworkPolicy and GlobalNetworkPolicy (shared/design/
//! semantics-calico.md): rules in the one IR, and per workload side the
//! chain of tiers that apply (CA-30), into which the Kubernetes
//! NetworkPolicies (default tier, order 1000, CA-37) and the admin and
//! baseline tiers (CA-38) already compiled for that side are merged.
//!
//! Only sides governed by some Calico policy get a chain; every other side
//! keeps the Kubernetes evaluation, which is what Calico does for them
//! (CA-37, CA-38 with no Calico policy), so NetworkPolicy-only analyses pay
//! nothing.

use super::super::PolicyInfo;
use super::super::rules::*;
use super::{Builder, PolicyCompiler};
use crate::diag::{Code, Diagnostic, Span};
use crate::manifest::{
    CalicoAction, CalicoBody, CalicoObject, CalicoPolicy, CalicoPort, CalicoRule, EntityRule,
    Inventory,
};
use crate::model::calico_selector::Expr;
use crate::model::selector::{Operator, Requirement};
use crate::model::{BitSet, Cidr, ConnSet, LabelIndex, Labels, PortSet, Protocol, Selector};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub(super) struct CalicoPolicies;

impl PolicyCompiler for CalicoPolicies {
    fn cidrs(&self, inv: &Inventory, out: &mut Vec<Cidr>) {
        if inv.calico_mode.is_none() {
            return;
        }
        for o in &inv.calico {
            match &o.body {
                // C-CA-5: network sets are labelled blocks of addresses.
                CalicoBody::NetworkSet(s) => out.extend(s.nets.iter().copied()),
                CalicoBody::Policy(p) if o.enforced_policy().is_some() => {
                    for r in p.ingress.iter().chain(&p.egress) {
                        for e in [&r.value.source, &r.value.destination] {
                            out.extend(e.nets.iter().chain(&e.not_nets).copied());
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn compile(&self, inv: &Inventory, b: &mut Builder<'_>) {
        if inv.calico_mode.is_none() {
            return;
        }
        let policies: Vec<(&CalicoObject, &CalicoPolicy)> = inv
            .calico
            .iter()
            .filter_map(|o| o.enforced_policy().map(|p| (o, p)))
            .collect();
        if policies.is_empty() {
            return;
        }
        let mut cx = Calico::new(inv, b.atoms);
        let mut entries: HashMap<(usize, usize), Vec<Entry>> = HashMap::new();
        for (o, p) in policies {
            cx.compile_policy(o, p, b, &mut entries);
        }
        let mut keys: Vec<(usize, usize)> = entries.keys().copied().collect();
        keys.sort_unstable();
        for k in keys {
            let list = entries.remove(&k).unwrap_or_default();
            cx.build_chain(k, list, b);
        }
    }
}

/// What a Calico construct reachdiff does not evaluate yet, with where it
/// is written, for the `calico-not-evaluated` error: the first such
/// construct of the policy, if any.
pub fn unsupported(inv: &Inventory, p: &CalicoPolicy) -> Option<(String, Span)> {
    let sa_keys_known = |e: &Expr| {
        let mut keys = Vec::new();
        e.keys(&mut keys);
        keys.iter().all(|k| k == "projectcalico.org/name")
    };
    if p.service_account_selector
        .as_ref()
        .is_some_and(|e| !sa_keys_known(e))
    {
        return Some((
            "serviceAccountSelector on ServiceAccount labels (ServiceAccount manifests are not read)".into(),
            p.selector.span.clone(),
        ));
    }
    if matches!(p.tier.as_str(), "kube-admin" | "kube-baseline") && !inv.admin_policies.is_empty() {
        return Some((
            format!(
                "a Calico policy in tier {} next to admin policies (CA-38)",
                p.tier
            ),
            p.selector.span.clone(),
        ));
    }
    for r in p.ingress.iter().chain(&p.egress) {
        if let Some(what) = unsupported_rule(&r.value, &sa_keys_known) {
            return Some((what.into(), r.span.clone()));
        }
    }
    None
}

fn unsupported_rule(r: &CalicoRule, sa_keys_known: &dyn Fn(&Expr) -> bool) -> Option<&'static str> {
    if r.ip_version.is_some() {
        return Some("ipVersion");
    }
    for e in [&r.source, &r.destination] {
        if e.service.is_some() {
            return Some("services (C-CA-7)");
        }
        if e.service_accounts
            .as_ref()
            .is_some_and(|(_, s)| s.as_ref().is_some_and(|s| !sa_keys_known(s)))
        {
            return Some(
                "serviceAccounts.selector on ServiceAccount labels (ServiceAccount manifests are not read)",
            );
        }
    }
    if !r.source.ports.is_empty() || !r.source.not_ports.is_empty() {
        return Some("source ports (C-CA-6)");
    }
    if r.destination
        .not_ports
        .iter()
        .any(|p| matches!(p, CalicoPort::Named(_)))
    {
        return Some("named notPorts");
    }
    None
}

/// One governing policy's rules on one side, with its place (CA-31, CA-32).
struct Entry {
    tier: String,
    /// Absent orders sort last (CA-32).
    order: Option<f64>,
    /// `<name>/<namespace>/<kind>` (CA-32, v3.32).
    key: String,
    rules: Vec<RuleId>,
    /// The Calico policy's index (for `Side::isolated_by`); None for the
    /// Kubernetes, admin and baseline entries.
    policy: Option<usize>,
}

/// A tier as the chain sorts it (CA-31, C-CA-4).
#[derive(Clone)]
struct TierInfo {
    known: bool,
    order: Option<f64>,
    pass: bool,
}

fn cmp_order(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

const NAMESPACE: &str = "projectcalico.org/namespace";
const ADMIN_TIER: &str = "kube-admin";
const BASELINE_TIER: &str = "kube-baseline";
const DEFAULT_TIER: &str = "default";

/// Calico's labels of every workload (CA-21…CA-24) and network set
/// (CA-28), in one index: workloads first, then sets.
struct Calico<'a> {
    inv: &'a Inventory,
    atoms: &'a crate::model::AtomTable,
    index: LabelIndex,
    nworkloads: usize,
    natoms: usize,
    /// Per network set, the atoms of its CIDRs.
    set_atoms: Vec<BitSet>,
    host_network: BitSet,
    tiers: BTreeMap<String, TierInfo>,
    cache: HashMap<Expr, Arc<EndpointSet>>,
}

fn workload_labels(inv: &Inventory, w: &crate::manifest::Workload) -> Labels {
    let mut l = Labels::new();
    let ns = inherit_namespace(inv, &w.namespace, &mut l);
    let sa = w.service_account.as_deref().unwrap_or("default");
    l.insert("pcsa.projectcalico.org/name".into(), sa.into());
    // CA-24: own labels win over inherited ones...
    l.extend(w.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    // ...and the three of CA-21 overwrite them.
    l.insert(NAMESPACE.into(), ns);
    l.insert("projectcalico.org/orchestrator".into(), "k8s".into());
    if sa.chars().count() < 63 {
        l.insert("projectcalico.org/serviceaccount".into(), sa.into());
    } else {
        l.remove("projectcalico.org/serviceaccount");
    }
    l
}

/// CA-22: the namespace's labels as `pcns.*`, and its name, which it
/// returns: the name label's value, so a representative's witness
/// namespace (OW-2) answers with the name its class stands for.
fn inherit_namespace(inv: &Inventory, ns: &str, l: &mut Labels) -> String {
    let found = match inv.namespaces.binary_search_by(|n| n.name.as_str().cmp(ns)) {
        Ok(i) => Some(&inv.namespaces[i]),
        Err(_) => inv.namespaces.iter().find(|n| n.name == ns),
    };
    let mut name = ns.to_string();
    if let Some(n) = found {
        for (k, v) in &n.labels {
            l.insert(format!("pcns.{k}"), v.clone());
        }
        if let Some(v) = n.labels.get(crate::model::selector::NAMESPACE_NAME_LABEL) {
            name = v.clone();
        }
    }
    l.insert("pcns.projectcalico.org/name".into(), name.clone());
    name
}

impl<'a> Calico<'a> {
    fn new(inv: &'a Inventory, atoms: &'a crate::model::AtomTable) -> Self {
        let mut cx = Calico {
            inv,
            atoms,
            index: LabelIndex::new(Vec::new().iter()),
            nworkloads: inv.workloads.len(),
            natoms: atoms.len(),
            set_atoms: Vec::new(),
            host_network: BitSet::new(inv.workloads.len()),
            tiers: builtin_tiers(inv),
            cache: HashMap::new(),
        };
        cx.prepare();
        cx
    }

    /// Builds the label index and the sets' atoms.
    fn prepare(&mut self) {
        let (inv, atoms) = (self.inv, self.atoms);
        let mut labels: Vec<Labels> = inv
            .workloads
            .iter()
            .map(|w| workload_labels(inv, w))
            .collect();
        for (i, w) in inv.workloads.iter().enumerate() {
            if w.host_network {
                self.host_network.insert(i);
            }
        }
        for o in &inv.calico {
            let CalicoBody::NetworkSet(s) = &o.body else {
                continue;
            };
            // CA-28: a NetworkSet also carries its namespace's labels.
            let mut l = Labels::new();
            let ns = o
                .namespace
                .as_ref()
                .map(|ns| inherit_namespace(inv, ns, &mut l));
            l.extend(s.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            if let Some(ns) = ns {
                l.insert(NAMESPACE.into(), ns);
            }
            labels.push(l);
            let mut bits = BitSet::new(self.natoms);
            for c in &s.nets {
                for &a in atoms.atoms_in(c) {
                    bits.insert(a);
                }
            }
            self.set_atoms.push(bits);
        }
        self.index = LabelIndex::new(labels.iter());
    }

    /// Workloads (never host-network ones, C-CA-8) and set atoms (CA-28)
    /// whose Calico labels satisfy `e`.
    fn select(&mut self, e: &Expr) -> Arc<EndpointSet> {
        if let Some(s) = self.cache.get(e) {
            return s.clone();
        }
        let bits = self.index.select_calico(e);
        let mut set = EndpointSet {
            workloads: BitSet::new(self.nworkloads),
            atoms: BitSet::new(self.natoms),
        };
        for i in bits.iter() {
            if i < self.nworkloads {
                if !self.host_network.contains(i) {
                    set.workloads.insert(i);
                }
            } else if let Some(a) = self.set_atoms.get(i - self.nworkloads) {
                set.atoms.union_with(a);
            }
        }
        let set = Arc::new(set);
        self.cache.insert(e.clone(), set.clone());
        set
    }

    fn everything(&self) -> EndpointSet {
        EndpointSet {
            workloads: BitSet::full(self.nworkloads),
            atoms: BitSet::full(self.natoms),
        }
    }
}

/// The built-in tiers (CA-4), then the Tier manifests.
fn builtin_tiers(inv: &Inventory) -> BTreeMap<String, TierInfo> {
    let mut t = BTreeMap::new();
    for (name, order, pass) in [
        (DEFAULT_TIER, 1_000_000.0, false),
        (ADMIN_TIER, 1_000.0, true),
        (BASELINE_TIER, 10_000_000.0, true),
    ] {
        t.insert(
            name.to_string(),
            TierInfo {
                known: true,
                order: Some(order),
                pass,
            },
        );
    }
    for o in &inv.calico {
        if let CalicoBody::Tier(tier) = &o.body {
            t.insert(
                o.name.clone(),
                TierInfo {
                    known: true,
                    order: tier.order,
                    pass: tier.pass,
                },
            );
        }
    }
    t
}

/// `namespaceSelector` as Calico evaluates it (CA-65, CA-47): `all()` is
/// every namespaced object, `global()` every other one, anything else
/// the expression on `pcns.*` labels.
fn namespace_expr(e: &Expr) -> Expr {
    match e {
        Expr::All => Expr::Has(NAMESPACE.into()),
        Expr::Global => Expr::Global,
        e => e.prefixed("pcns."),
    }
}

fn in_namespace(ns: &str) -> Expr {
    Expr::Eq {
        key: NAMESPACE.into(),
        value: ns.into(),
        negated: false,
    }
}

fn and(parts: Vec<Expr>) -> Expr {
    match parts.len() {
        0 => Expr::All,
        _ => Expr::And(parts).normalized(),
    }
}

impl Calico<'_> {
    /// The endpoints an entity rule matches (CA-62…CA-68, C-CA-1), for a
    /// policy of namespace `ns` (None: global).
    fn entity(&mut self, er: &EntityRule, ns: Option<&str>) -> EndpointSet {
        let mut set = self.everything();
        let has_selector = er.selector.is_some()
            || er.not_selector.is_some()
            || er.namespace_selector.is_some()
            || er.service_accounts.is_some();
        if has_selector {
            let mut parts = Vec::new();
            match (&er.namespace_selector, ns) {
                (Some(nsel), _) => parts.push(namespace_expr(nsel)),
                (None, Some(ns)) => parts.push(in_namespace(ns)),
                (None, None) => {}
            }
            parts.extend(er.selector.iter().cloned());
            if let Some((names, sel)) = &er.service_accounts {
                if !names.is_empty() {
                    parts.push(Expr::In {
                        key: "projectcalico.org/serviceaccount".into(),
                        values: names.clone(),
                        negated: false,
                    });
                }
                parts.extend(sel.iter().map(|s| s.prefixed("pcsa.")));
            }
            // CA-64: a global `notSelector` alone keeps everything else,
            // external addresses included.
            if !parts.is_empty() {
                set = (*self.select(&and(parts))).clone();
            }
            if let Some(not) = &er.not_selector {
                let not = self.select(not);
                set.workloads.subtract(&not.workloads);
                set.atoms.subtract(&not.atoms);
            }
        }
        if !er.nets.is_empty() || !er.not_nets.is_empty() {
            // C-CA-1: addresses only, never a workload.
            set.workloads = BitSet::new(self.nworkloads);
            if !er.nets.is_empty() {
                set.atoms.intersect_with(&self.atoms_of(&er.nets));
            }
            set.atoms.subtract(&self.atoms_of(&er.not_nets));
        }
        set
    }

    fn atoms_of(&self, nets: &[Cidr]) -> BitSet {
        let mut bits = BitSet::new(self.natoms);
        for c in nets {
            for &a in self.atoms.atoms_in(c) {
                bits.insert(a);
            }
        }
        bits
    }
}

/// One policy being compiled: its name, scope and place.
struct PolicyCtx<'p> {
    obj: &'p CalicoObject,
    policy: &'p CalicoPolicy,
    title: String,
    place: String,
    /// The namespace of a Calico NetworkPolicy (CA-10, CA-63); None for a
    /// GlobalNetworkPolicy.
    ns: Option<&'p str>,
}

impl PolicyCtx<'_> {
    /// `<name>/<namespace>/<kind>` (CA-32, v3.32).
    fn key(&self) -> String {
        let kind = if self.policy.global {
            "GlobalNetworkPolicy"
        } else {
            "NetworkPolicy"
        };
        format!("{}/{}/{kind}", self.obj.name, self.ns.unwrap_or(""))
    }
}

fn order_text(order: Option<f64>) -> String {
    order.map_or("no order".into(), |o| format!("order {o}"))
}

impl Calico<'_> {
    /// The workloads a policy selects (CA-10, CA-11; never host-network
    /// ones, CA-20).
    fn subjects(&mut self, cx: &PolicyCtx<'_>) -> Vec<usize> {
        let p = cx.policy;
        let mut parts = vec![p.selector.value.clone()];
        match cx.ns {
            Some(ns) => parts.push(in_namespace(ns)),
            None => parts.extend(p.namespace_selector.iter().map(namespace_expr)),
        }
        parts.extend(
            p.service_account_selector
                .iter()
                .map(|s| s.prefixed("pcsa.")),
        );
        self.select(&and(parts)).workloads.iter().collect()
    }

    fn compile_policy(
        &mut self,
        obj: &CalicoObject,
        policy: &CalicoPolicy,
        b: &mut Builder<'_>,
        entries: &mut HashMap<(usize, usize), Vec<Entry>>,
    ) {
        let cx = PolicyCtx {
            obj,
            policy,
            title: obj.title(),
            place: format!("tier {}, {}", policy.tier, order_text(policy.order)),
            ns: if policy.global {
                None
            } else {
                obj.namespace.as_deref()
            },
        };
        if !self.tiers.contains_key(&policy.tier) {
            // C-CA-4: after every known tier, default action Deny.
            self.tiers.insert(
                policy.tier.clone(),
                TierInfo {
                    known: false,
                    order: None,
                    pass: false,
                },
            );
            b.diags.push(
                Diagnostic::new(
                    Code::CalicoTierMissing,
                    format!("tier {:?} has no Tier manifest: Calico evaluates it after every known tier, with default action Deny (CA-31, C-CA-4)", policy.tier),
                )
                .at(obj.span.clone())
                .object(cx.title.clone()),
            );
        }
        let subjects = self.subjects(&cx);
        let rule_counts = [policy.ingress.len(), policy.egress.len()];
        let policy_id = b.add_policy(PolicyInfo {
            name: cx.title.clone(),
            span: obj.span.clone(),
            selector_span: policy.selector.span.clone(),
            rules: [0, 1].map(|d| if policy.governs[d] { rule_counts[d] } else { 0 }),
        });
        // OW-8: only workloads of the repository count; in the open world
        // `all()` selects every pod that will ever exist.
        let selects_real = subjects.iter().any(|&w| b.sel.real.contains(w));
        if !(selects_real || b.open_world && policy.selector.value == Expr::All) {
            b.diags.push(
                Diagnostic::new(
                    Code::SelectsNothing,
                    format!(
                        "spec.selector {} selects no workload, so the policy has no effect (CA-18)",
                        policy.selector.value
                    ),
                )
                .at(policy.selector.span.clone())
                .object(cx.title.clone()),
            );
        }
        for (d, list) in [
            (Direction::Ingress, &policy.ingress),
            (Direction::Egress, &policy.egress),
        ] {
            if !policy.governs[d as usize] {
                continue;
            }
            let mut out = SubjectRules {
                subjects: &subjects,
                rules: vec![Vec::new(); subjects.len()],
            };
            for (i, r) in list.iter().enumerate() {
                self.compile_rule(&cx, (d, i), r, &mut out, b);
            }
            // CA-15: governing with no rule still makes the tier apply.
            for (&w, rules) in subjects.iter().zip(out.rules) {
                entries.entry((w, d as usize)).or_default().push(Entry {
                    tier: policy.tier.clone(),
                    order: policy.order,
                    key: cx.key(),
                    rules,
                    policy: Some(policy_id),
                });
            }
        }
    }
}

/// The subjects of a policy and, per subject, the rules of one direction
/// that apply to it (a subject-side entity rule narrows them, CA-62).
struct SubjectRules<'s> {
    subjects: &'s [usize],
    rules: Vec<Vec<RuleId>>,
}

impl Calico<'_> {
    fn compile_rule(
        &mut self,
        cx: &PolicyCtx<'_>,
        (d, index): (Direction, usize),
        r: &crate::manifest::Spanned<CalicoRule>,
        out: &mut SubjectRules<'_>,
        b: &mut Builder<'_>,
    ) {
        let rule = &r.value;
        let action = match rule.action {
            CalicoAction::Allow => Action::Allow,
            CalicoAction::Deny => Action::Deny,
            CalicoAction::Pass => Action::Pass,
            // CA-33: logged, then the next rule decides.
            CalicoAction::Log => return,
        };
        let (peer_side, own_side) = match d {
            Direction::Ingress => (&rule.source, &rule.destination),
            Direction::Egress => (&rule.destination, &rule.source),
        };
        let own = self.entity(own_side, cx.ns);
        let applies: Vec<usize> = (0..out.subjects.len())
            .filter(|&i| own.workloads.contains(out.subjects[i]))
            .collect();
        if applies.is_empty() {
            return;
        }
        let peers = Arc::new(self.entity(peer_side, cx.ns));
        let set_atoms = if self.set_atoms.is_empty() || !has_selector(peer_side) {
            Vec::new()
        } else {
            peers.atoms.iter().collect()
        };
        let criteria = format!("{}|{:?}", cx.ns.unwrap_or("*"), rule);
        let id = b.rules.len();
        b.rules.push(Rule {
            spec: Arc::new(RuleSpec {
                tier: TierRank::Calico,
                action,
                direction: d,
                peers: Some(vec![PeerSpec::Calico {
                    criteria,
                    set_atoms,
                }]),
                ports: None,
            }),
            action,
            direction: d,
            tier: TierRank::Calico,
            peers,
            peer_sets: Vec::new(),
            ports: port_match(rule),
            origin: RuleRef {
                policy: cx.title.clone(),
                tier: TierRank::Calico,
                priority: None,
                direction: d,
                index,
                name: None,
                path: None,
                place: Some(cx.place.clone()),
                span: r.span.clone(),
            },
        });
        for i in applies {
            out.rules[i].push(id);
        }
    }
}

fn has_selector(er: &EntityRule) -> bool {
    er.selector.is_some()
        || er.not_selector.is_some()
        || er.namespace_selector.is_some()
        || er.service_accounts.is_some()
}

fn protocol_of(p: crate::manifest::CalicoProtocol) -> Option<Protocol> {
    match p.0 {
        6 => Some(Protocol::Tcp),
        17 => Some(Protocol::Udp),
        132 => Some(Protocol::Sctp),
        _ => None,
    }
}

/// The destination ports a rule matches (CA-72…CA-77): `protocol`,
/// `notProtocol`, `ports` (numbers, ranges, names) minus `notPorts`.
/// A protocol other than TCP, UDP and SCTP, or ICMP criteria, match none
/// of reachdiff's connections (CA-72, CA-73).
fn port_match(r: &CalicoRule) -> PortMatch {
    let protos: Vec<Protocol> = match r.protocol {
        _ if r.icmp => Vec::new(),
        None => vec![Protocol::Tcp, Protocol::Udp, Protocol::Sctp],
        Some(p) => protocol_of(p).into_iter().collect(),
    };
    let mut m = PortMatch {
        fixed: ConnSet::empty(),
        named: Vec::new(),
        except: ConnSet::empty(),
    };
    let dst = &r.destination;
    for &proto in &protos {
        if dst.ports.is_empty() {
            m.fixed.add(proto, &PortSet::all());
        }
        for port in &dst.ports {
            if let CalicoPort::Range(lo, hi) = port {
                m.fixed.add(proto, &PortSet::range(*lo, *hi));
            }
        }
        for port in &dst.not_ports {
            if let CalicoPort::Range(lo, hi) = port {
                m.except.add(proto, &PortSet::range(*lo, *hi));
            }
        }
    }
    if !protos.is_empty() {
        let named_proto = r.protocol.and_then(protocol_of);
        for port in &dst.ports {
            if let CalicoPort::Named(n) = port {
                m.named.push((named_proto, n.clone()));
            }
        }
    }
    if let Some(p) = r.not_protocol.and_then(protocol_of) {
        m.except.add(p, &PortSet::all());
    }
    m.named.sort();
    m.named.dedup();
    if m.named.is_empty() && !m.except.is_empty() {
        m.fixed = m.fixed.difference(&m.except);
        m.except = ConnSet::empty();
    }
    m
}

/// `<name>/<namespace>/KubernetesNetworkPolicy` from `NetworkPolicy ns/name`
/// (CA-32, CA-37).
fn kubernetes_key(title: &str) -> String {
    let rest = title.strip_prefix("NetworkPolicy ").unwrap_or(title);
    let (ns, name) = rest.split_once('/').unwrap_or(("", rest));
    format!("{name}/{ns}/KubernetesNetworkPolicy")
}

impl Calico<'_> {
    fn tier_cmp(&self, a: &str, b: &str) -> Ordering {
        let key = |n: &str| {
            let t = self.tiers.get(n);
            (!t.is_some_and(|t| t.known), t.and_then(|t| t.order))
        };
        let ((ua, oa), (ub, ob)) = (key(a), key(b));
        ua.cmp(&ub)
            .then_with(|| cmp_order(oa, ob))
            .then_with(|| a.cmp(b))
    }

    /// The side's chain: its Calico entries, its admin and baseline rules
    /// in their tiers (CA-38) and the NetworkPolicies isolating it in the
    /// default tier at order 1000 (CA-37), sorted by tier (CA-31) and
    /// policy (CA-32), one run per tier.
    fn build_chain(&self, (w, d): (usize, usize), mut list: Vec<Entry>, b: &mut Builder<'_>) {
        let side = &mut b.sides[w][d];
        for (tier, rules) in [
            (ADMIN_TIER, std::mem::take(&mut side.admin)),
            (BASELINE_TIER, std::mem::take(&mut side.baseline)),
        ] {
            if !rules.is_empty() {
                list.push(Entry {
                    tier: tier.into(),
                    order: None,
                    key: String::new(),
                    rules,
                    policy: None,
                });
            }
        }
        let np = std::mem::take(&mut side.network_policy);
        for &pi in &side.isolated_by {
            let name = &b.policies[pi].name;
            list.push(Entry {
                tier: DEFAULT_TIER.into(),
                order: Some(1000.0),
                key: kubernetes_key(name),
                rules: np
                    .iter()
                    .copied()
                    .filter(|&r| b.rules[r].origin.policy == *name)
                    .collect(),
                policy: None,
            });
        }
        list.sort_by(|x, y| {
            self.tier_cmp(&x.tier, &y.tier)
                .then_with(|| cmp_order(x.order, y.order))
                .then_with(|| x.key.cmp(&y.key))
        });
        // A Calico policy in a tier whose default is Deny isolates the side
        // as a NetworkPolicy does (the default tier's end is NP-7, CA-37):
        // the diff names it when a path closes or opens that way.
        let isolating: Vec<usize> = list
            .iter()
            .filter(|e| !self.tiers.get(&e.tier).is_some_and(|t| t.pass))
            .filter_map(|e| e.policy)
            .collect();
        side.isolated_by.extend(isolating);
        let mut runs: Vec<CalicoTierRun> = Vec::new();
        for e in list {
            match runs.last_mut() {
                Some(run) if run.name == e.tier => run.rules.extend(e.rules),
                _ => runs.push(CalicoTierRun {
                    pass: self.tiers.get(&e.tier).is_some_and(|t| t.pass),
                    name: e.tier,
                    rules: e.rules,
                }),
            }
        }
        side.calico = runs;
    }
}

// ---------------------------------------------------------------------------
// Open world (docs/open-world.md, OW-3): representatives are split so that
// every leaf of every Calico selector matches all or none of a class; any
// expression over the leaves is then constant on it too.
// ---------------------------------------------------------------------------

/// Every expression a policy evaluates, with how its keys are read: on
/// Calico's endpoint labels (`false`) or on namespace labels (`true`, a
/// `namespaceSelector`).
fn expressions(p: &CalicoPolicy) -> Vec<(&Expr, bool)> {
    let mut v = vec![(&p.selector.value, false)];
    v.extend(p.namespace_selector.iter().map(|e| (e, true)));
    v.extend(p.service_account_selector.iter().map(|e| (e, false)));
    for r in p.ingress.iter().chain(&p.egress) {
        for e in [&r.value.source, &r.value.destination] {
            v.extend(e.selector.iter().map(|x| (x, false)));
            v.extend(e.not_selector.iter().map(|x| (x, false)));
            v.extend(e.namespace_selector.iter().map(|x| (x, true)));
        }
    }
    v
}

fn leaves<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::Not(x) => leaves(x, out),
        Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| leaves(x, out)),
        leaf => out.push(leaf),
    }
}

/// Why a policy cannot be evaluated exactly for representatives, if so.
pub fn open_world_unsupported(p: &CalicoPolicy) -> Option<&'static str> {
    let sa = p.service_account_selector.is_some()
        || p.ingress.iter().chain(&p.egress).any(|r| {
            r.value.source.service_accounts.is_some()
                || r.value.destination.service_accounts.is_some()
        });
    if sa {
        return Some("service accounts, which the representatives of other pods do not fix");
    }
    for (e, _) in expressions(p) {
        let mut ls = Vec::new();
        leaves(e, &mut ls);
        for l in ls {
            match l {
                Expr::Str { .. } => {
                    return Some(
                        "contains, starts with or ends with, which cannot split the representatives of other pods exactly",
                    );
                }
                Expr::Has(k) | Expr::Eq { key: k, .. } | Expr::In { key: k, .. }
                    if k == "projectcalico.org/serviceaccount" || k.starts_with("pcsa.") =>
                {
                    return Some(
                        "service-account labels, which the representatives of other pods do not fix",
                    );
                }
                _ => {}
            }
        }
    }
    None
}

/// A leaf as a label requirement on `key`.
fn requirement(leaf: &Expr, key: String) -> Option<Requirement> {
    let (op, values) = match leaf {
        Expr::Has(_) => (Operator::Exists, Vec::new()),
        Expr::Eq { value, negated, .. } => (
            if *negated {
                Operator::NotIn
            } else {
                Operator::In
            },
            vec![value.clone()],
        ),
        Expr::In {
            values, negated, ..
        } => (
            if *negated {
                Operator::NotIn
            } else {
                Operator::In
            },
            values.clone(),
        ),
        _ => return None,
    };
    Some(Requirement { key, op, values })
}

fn leaf_key(leaf: &Expr) -> Option<&str> {
    match leaf {
        Expr::Has(k) | Expr::Eq { key: k, .. } | Expr::In { key: k, .. } => Some(k),
        _ => None,
    }
}

/// The selector pairs (namespace, pods) that split representatives by
/// every Calico selector leaf of the inventory's enforced policies: a
/// pod-label requirement in every namespace for the key as written (own
/// labels may carry any key, `pcns.*` too, CA-24), and a namespace-label
/// requirement where the key reads the namespace (`pcns.*`,
/// `projectcalico.org/namespace`, or any key of a `namespaceSelector`).
pub(crate) fn selector_pairs(inv: &Inventory) -> Vec<(Selector, Option<Selector>)> {
    let mut out = Vec::new();
    if inv.calico_mode.is_none() {
        return out;
    }
    let one = |r: Requirement| Selector {
        requirements: vec![r],
    };
    for o in &inv.calico {
        let Some(p) = o.enforced_policy() else {
            continue;
        };
        for (e, on_namespace) in expressions(p) {
            let mut ls = Vec::new();
            leaves(e, &mut ls);
            for l in ls {
                let Some(key) = leaf_key(l) else { continue };
                let (pod_key, ns_key) = if on_namespace {
                    (format!("pcns.{key}"), Some(key.to_string()))
                } else if key == NAMESPACE {
                    (key.to_string(), Some("projectcalico.org/name".to_string()))
                } else {
                    (
                        key.to_string(),
                        key.strip_prefix("pcns.").map(str::to_string),
                    )
                };
                let ns_key = ns_key.map(|k| {
                    if k == "projectcalico.org/name" {
                        crate::model::selector::NAMESPACE_NAME_LABEL.to_string()
                    } else {
                        k
                    }
                });
                if let Some(r) = requirement(l, pod_key.clone()) {
                    out.push((Selector::everything(), Some(one(r))));
                }
                if let Some(r) = ns_key.and_then(|k| requirement(l, k)) {
                    out.push((one(r), None));
                    // CA-24: a pod's own `pcns.*` label hides its
                    // namespace's, so whether it has one splits too.
                    out.push((
                        Selector::everything(),
                        Some(one(Requirement {
                            key: pod_key.clone(),
                            op: Operator::Exists,
                            values: Vec::new(),
                        })),
                    ));
                }
            }
        }
    }
    out
}
