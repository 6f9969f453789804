//! Inventory → rules and per-workload sides. Selectors are evaluated once
//! per distinct selector (cached), over namespaces first and then over the
//! workloads of matching namespaces, so the cost follows the number of
//! distinct selectors rather than policies × workloads.

use super::rules::*;
use super::{Analysis, PolicyInfo};
use crate::diag::{Code, Diagnostic};
use crate::manifest::{
    AdminAction, AdminPeer, AdminPolicy, AdminSelect, Inventory, NpPeerKind, Tier,
};
use crate::model::{AtomTable, BitSet, Cidr, LabelIndex, Selector};
use crate::reach::rules::Side;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Every CIDR that induces atoms: ipBlock cidr and except, admin networks.
pub fn cidrs(inv: &Inventory) -> Vec<Cidr> {
    let mut out = Vec::new();
    for p in &inv.policies {
        for r in p.ingress.iter().chain(&p.egress) {
            for peer in r.peers.iter().flatten() {
                if let NpPeerKind::IpBlock { cidr, except } = &peer.kind {
                    out.push(*cidr);
                    out.extend(except.iter().copied());
                }
            }
        }
    }
    for p in &inv.admin_policies {
        for r in p.ingress.iter().chain(&p.egress) {
            for (peer, _) in &r.peers {
                if let AdminPeer::Networks(n) = peer {
                    out.extend(n.iter().copied());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

struct Selection<'a> {
    inv: &'a Inventory,
    atoms: &'a AtomTable,
    ns_index: BTreeMap<&'a str, usize>,
    ns_workloads: Vec<Vec<usize>>,
    // Lookup-only caches: never iterated, so hash order cannot leak into
    // output. Ordered maps here cost a tenth of the whole diff in string
    // comparisons on large clusters.
    ns_cache: HashMap<Selector, Arc<BitSet>>,
    peer_cache: HashMap<PeerSpec, Arc<EndpointSet>>,
    pod_cache: HashMap<Selector, Arc<BitSet>>,
    /// Inverted label indexes: a selector over many objects becomes a few
    /// bit-set operations (cost grows with the index, not with policies ×
    /// objects).
    namespace_labels: LabelIndex,
    workload_labels: LabelIndex,
    host_network: BitSet,
}

impl<'a> Selection<'a> {
    fn new(inv: &'a Inventory, atoms: &'a AtomTable) -> Self {
        let ns_index: BTreeMap<&str, usize> = inv
            .namespaces
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect();
        let mut ns_workloads = vec![Vec::new(); inv.namespaces.len()];
        for (i, w) in inv.workloads.iter().enumerate() {
            if let Some(&n) = ns_index.get(w.namespace.as_str()) {
                ns_workloads[n].push(i);
            }
        }
        let mut host_network = BitSet::new(inv.workloads.len());
        for (i, w) in inv.workloads.iter().enumerate() {
            if w.host_network {
                host_network.insert(i);
            }
        }
        Selection {
            inv,
            atoms,
            ns_index,
            ns_workloads,
            ns_cache: HashMap::new(),
            peer_cache: HashMap::new(),
            pod_cache: HashMap::new(),
            namespace_labels: LabelIndex::new(inv.namespaces.iter().map(|n| &n.labels)),
            workload_labels: LabelIndex::new(inv.workloads.iter().map(|w| &w.labels)),
            host_network,
        }
    }

    fn namespaces(&mut self, sel: &Selector) -> Arc<BitSet> {
        if let Some(b) = self.ns_cache.get(sel) {
            return b.clone();
        }
        let mut b = BitSet::new(self.inv.namespaces.len());
        if let Some(name) = sel.single_namespace_name() {
            // The common "namespace by name" selector needs no scan.
            if let Some(&i) = self.ns_index.get(name) {
                b.insert(i);
            }
        } else {
            b = self.namespace_labels.select(sel);
        }
        let b = Arc::new(b);
        self.ns_cache.insert(sel.clone(), b.clone());
        b
    }

    /// Workloads (all namespaces) whose labels match `sel`.
    fn pods(&mut self, sel: &Selector) -> Arc<BitSet> {
        if let Some(b) = self.pod_cache.get(sel) {
            return b.clone();
        }
        let b = Arc::new(self.workload_labels.select(sel));
        self.pod_cache.insert(sel.clone(), b.clone());
        b
    }

    /// Workloads of the namespaces in `ns` whose labels match `pods`.
    fn workloads_in(
        &mut self,
        ns: &BitSet,
        pods: Option<&Selector>,
        skip_host_network: bool,
        out: &mut BitSet,
    ) {
        // Across many namespaces, intersect index bit sets; within one or
        // two, matching their few workloads directly is cheaper.
        if ns.count() > 2 {
            let mut set = BitSet::new(self.inv.workloads.len());
            for n in ns.iter() {
                for &w in &self.ns_workloads[n] {
                    set.insert(w);
                }
            }
            if let Some(sel) = pods.filter(|s| !s.is_everything()) {
                set.intersect_with(&self.pods(sel));
            }
            if skip_host_network {
                set.subtract(&self.host_network);
            }
            out.union_with(&set);
            return;
        }
        for n in ns.iter() {
            for &w in &self.ns_workloads[n] {
                let wl = &self.inv.workloads[w];
                if skip_host_network && wl.host_network {
                    continue;
                }
                if pods.is_none_or(|s| s.matches(&wl.labels)) {
                    out.insert(w);
                }
            }
        }
    }

    fn peer(&mut self, spec: &PeerSpec) -> Arc<EndpointSet> {
        if let Some(s) = self.peer_cache.get(spec) {
            return s.clone();
        }
        let nw = self.inv.workloads.len();
        let mut set = EndpointSet {
            workloads: BitSet::new(nw),
            atoms: BitSet::new(self.atoms.len()),
        };
        match spec {
            PeerSpec::Selectors {
                namespace,
                namespaces,
                pods,
            } => {
                let ns = match namespaces {
                    Some(sel) => self.namespaces(sel),
                    None => {
                        let mut b = BitSet::new(self.inv.namespaces.len());
                        if let Some(&i) = self.ns_index.get(namespace.as_str()) {
                            b.insert(i);
                        }
                        Arc::new(b)
                    }
                };
                self.workloads_in(&ns, pods.as_ref(), false, &mut set.workloads);
            }
            PeerSpec::IpBlock { cidr, except } => {
                for &a in self.atoms.atoms_in(cidr) {
                    set.atoms.insert(a);
                }
                let mut excluded = BitSet::new(self.atoms.len());
                for e in except {
                    for &a in self.atoms.atoms_in(e) {
                        excluded.insert(a);
                    }
                }
                let kept: Vec<usize> = set
                    .atoms
                    .iter()
                    .filter(|&a| !excluded.contains(a))
                    .collect();
                set.atoms = BitSet::new(self.atoms.len());
                kept.into_iter().for_each(|a| set.atoms.insert(a));
            }
            PeerSpec::Admin(sel) => {
                let (nsel, psel) = match sel {
                    AdminSelect::Namespaces(n) => (n, None),
                    AdminSelect::Pods { namespaces, pods } => (namespaces, Some(pods)),
                };
                let ns = self.namespaces(nsel);
                // AP-7: host-network pods are never admin-tier subjects or peers.
                self.workloads_in(&ns, psel, true, &mut set.workloads);
            }
            PeerSpec::Networks(cidrs) => {
                for c in cidrs {
                    for &a in self.atoms.atoms_in(c) {
                        set.atoms.insert(a);
                    }
                }
            }
            PeerSpec::Nothing => {}
            PeerSpec::Everything => {
                for (i, w) in self.inv.workloads.iter().enumerate() {
                    if !w.host_network {
                        set.workloads.insert(i);
                    }
                }
                set.atoms = BitSet::full(self.atoms.len());
            }
        }
        let set = Arc::new(set);
        self.peer_cache.insert(spec.clone(), set.clone());
        set
    }

    /// NetworkPolicy's "every endpoint" (NP-9): unlike the admin tier's
    /// `Everything`, it includes host-network workloads (C2).
    fn all_endpoints(&self) -> Arc<EndpointSet> {
        Arc::new(EndpointSet {
            workloads: BitSet::full(self.inv.workloads.len()),
            atoms: BitSet::full(self.atoms.len()),
        })
    }

    fn subject(&mut self, sel: &AdminSelect) -> Vec<usize> {
        let set = self.peer(&PeerSpec::Admin(sel.clone()));
        set.workloads.iter().collect()
    }
}

pub(super) fn compile(inv: &Inventory, atoms: AtomTable, diags: &mut Vec<Diagnostic>) -> Analysis {
    let mut sel = Selection::new(inv, &atoms);
    let n = inv.workloads.len();
    let mut sides: Vec<[Side; 2]> = (0..n).map(|_| [Side::default(), Side::default()]).collect();
    let mut rules: Vec<Rule> = Vec::new();
    let mut policies: Vec<PolicyInfo> = Vec::new();
    let everything = sel.all_endpoints();

    // Admin and Baseline tiers: ordered by priority, then name (AP-3, AP-4).
    let mut admin: Vec<&AdminPolicy> = inv.admin_policies.iter().collect();
    admin.sort_by(|a, b| {
        (a.tier, a.priority.is_none(), a.priority, &a.name, &a.kind).cmp(&(
            b.tier,
            b.priority.is_none(),
            b.priority,
            &b.name,
            &b.kind,
        ))
    });
    // AP-4: equal priorities matter only when the policies could both
    // match a connection, i.e. when their subjects share a workload.
    let subject_sets: Vec<Arc<EndpointSet>> = admin
        .iter()
        .map(|p| sel.peer(&PeerSpec::Admin(p.subject.clone())))
        .collect();
    for i in 0..admin.len() {
        for j in i + 1..admin.len() {
            let (x, y) = (admin[i], admin[j]);
            if x.tier != y.tier || x.priority.is_none() || x.priority != y.priority {
                continue;
            }
            let mut shared = subject_sets[i].workloads.clone();
            shared.intersect_with(&subject_sets[j].workloads);
            if shared.is_empty() {
                continue;
            }
            diags.push(
                Diagnostic::new(
                    Code::EqualPriority,
                    format!(
                        "{} {} and {} {} share priority {} and select {} workload{} in common; evaluated in name order, which implementations need not follow",
                        x.kind,
                        x.name,
                        y.kind,
                        y.name,
                        x.priority.unwrap_or_default(),
                        shared.count(),
                        if shared.count() == 1 { "" } else { "s" }
                    ),
                )
                .at(y.span.clone())
                .object(format!("{} {}", y.kind, y.name)),
            );
        }
    }
    for p in admin {
        let tier = match p.tier {
            Tier::Admin => TierRank::Admin,
            Tier::Baseline => TierRank::Baseline,
        };
        let policy_name = format!("{} {}", p.kind, p.name);
        policies.push(PolicyInfo {
            name: policy_name.clone(),
            span: p.span.clone(),
            selector_span: p.subject_span.clone(),
            rules: [p.ingress.len(), p.egress.len()],
        });
        let subjects = sel.subject(&p.subject);
        if subjects.is_empty() {
            diags.push(
                Diagnostic::new(
                    Code::SelectsNothing,
                    "its subject matches no workload, so it has no effect",
                )
                .at(p.subject_span.clone())
                .object(policy_name.clone())
                .field("spec.subject"),
            );
        }
        for (d, list) in [
            (Direction::Ingress, &p.ingress),
            (Direction::Egress, &p.egress),
        ] {
            for (i, r) in list.iter().enumerate() {
                let action = match r.action {
                    AdminAction::Accept => Action::Allow,
                    AdminAction::Deny => Action::Deny,
                    AdminAction::Pass => Action::Pass,
                };
                let peer_specs: Vec<PeerSpec> = r
                    .peers
                    .iter()
                    .map(|(peer, _)| match peer {
                        AdminPeer::Select(s) => PeerSpec::Admin(s.clone()),
                        AdminPeer::Networks(c) => PeerSpec::Networks(c.clone()),
                        // AP-10: fail closed.
                        AdminPeer::Unsupported(f)
                            if f != "nodes" && f != "domainNames" && action != Action::Allow =>
                        {
                            PeerSpec::Everything
                        }
                        AdminPeer::Unsupported(_) => PeerSpec::Nothing,
                    })
                    .collect();
                let peer_sets: Vec<(Arc<EndpointSet>, crate::diag::Span)> = peer_specs
                    .iter()
                    .zip(&r.peers)
                    .map(|(spec, (_, span))| (sel.peer(spec), span.clone()))
                    .collect();
                let peers = union_peers(&peer_sets, n, atoms.len());
                let ports = PortMatch::from_specs(r.ports.as_deref());
                if ports.has_named() && !peers.atoms.is_empty() && d == Direction::Egress {
                    diags.push(
                        Diagnostic::new(Code::NamedPortExternal, "named ports never match external addresses; this entry allows nothing towards them")
                            .at(r.span.clone())
                            .object(policy_name.clone())
                            .field(format!("spec.{}[{i}]", if d == Direction::Ingress { "ingress" } else { "egress" })),
                    );
                }
                let spec = Arc::new(RuleSpec {
                    tier,
                    action,
                    direction: d,
                    peers: Some(peer_specs),
                    ports: r.ports.clone(),
                });
                let id = rules.len();
                rules.push(Rule {
                    spec,
                    action,
                    direction: d,
                    tier,
                    peers,
                    peer_sets,
                    ports,
                    origin: RuleRef {
                        policy: policy_name.clone(),
                        tier,
                        priority: p.priority,
                        direction: d,
                        index: i,
                        name: r.name.clone(),
                        span: r.span.clone(),
                    },
                });
                for &w in &subjects {
                    let side = &mut sides[w][d as usize];
                    match tier {
                        TierRank::Admin => side.admin.push(id),
                        _ => side.baseline.push(id),
                    }
                }
            }
        }
    }

    // NetworkPolicy tier.
    let mut nps: Vec<&crate::manifest::NetworkPolicy> = inv.policies.iter().collect();
    nps.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    for p in nps {
        let policy_id = policies.len();
        let policy_name = format!("NetworkPolicy {}/{}", p.namespace, p.name);
        policies.push(PolicyInfo {
            name: policy_name.clone(),
            span: p.span.clone(),
            selector_span: p.selector_span.clone(),
            rules: [
                if p.ingress_isolates {
                    p.ingress.len()
                } else {
                    0
                },
                if p.egress_isolates { p.egress.len() } else { 0 },
            ],
        });
        let subjects: Vec<usize> = {
            let spec = PeerSpec::Selectors {
                namespace: p.namespace.clone(),
                namespaces: None,
                pods: Some(p.pod_selector.clone()),
            };
            sel.peer(&spec).workloads.iter().collect()
        };
        if subjects.is_empty() {
            diags.push(
                Diagnostic::new(
                    Code::SelectsNothing,
                    format!(
                        "spec.podSelector {} matches no workload in namespace {}, so the policy has no effect",
                        p.pod_selector, p.namespace
                    ),
                )
                .at(p.selector_span.clone())
                .object(policy_name.clone()),
            );
        }
        for (d, isolates, list) in [
            (Direction::Ingress, p.ingress_isolates, &p.ingress),
            (Direction::Egress, p.egress_isolates, &p.egress),
        ] {
            // NP-5: sections of a direction not in policyTypes are dead.
            if !isolates {
                continue;
            }
            for &w in &subjects {
                sides[w][d as usize].isolated_by.push(policy_id);
            }
            for (i, r) in list.iter().enumerate() {
                let peer_specs: Option<Vec<PeerSpec>> = r.peers.as_ref().map(|peers| {
                    peers
                        .iter()
                        .map(|peer| match &peer.kind {
                            NpPeerKind::Selectors { namespaces, pods } => PeerSpec::Selectors {
                                // The policy's namespace matters only when no
                                // namespaceSelector is given (NP-11); leaving it
                                // out otherwise lets equal peers of different
                                // namespaces share one evaluation.
                                namespace: if namespaces.is_some() {
                                    String::new()
                                } else {
                                    p.namespace.clone()
                                },
                                namespaces: namespaces.clone(),
                                pods: pods.clone(),
                            },
                            NpPeerKind::IpBlock { cidr, except } => PeerSpec::IpBlock {
                                cidr: *cidr,
                                except: except.clone(),
                            },
                        })
                        .collect()
                });
                let peer_sets: Vec<(Arc<EndpointSet>, crate::diag::Span)> =
                    match (&peer_specs, &r.peers) {
                        (Some(specs), Some(peers)) => specs
                            .iter()
                            .zip(peers)
                            .map(|(spec, peer)| (sel.peer(spec), peer.span.clone()))
                            .collect(),
                        _ => Vec::new(),
                    };
                let peers = match &peer_specs {
                    None => everything.clone(),
                    Some(_) => union_peers(&peer_sets, n, atoms.len()),
                };
                let ports = PortMatch::from_specs(r.ports.as_deref());
                let field = format!("spec.{}[{i}]", d.as_str());
                if ports.has_named() {
                    warn_named_ports(
                        inv,
                        &ports,
                        d,
                        &subjects,
                        &peers,
                        &policy_name,
                        &field,
                        r,
                        diags,
                    );
                }
                let id = rules.len();
                rules.push(Rule {
                    spec: Arc::new(RuleSpec {
                        tier: TierRank::NetworkPolicy,
                        action: Action::Allow,
                        direction: d,
                        peers: peer_specs,
                        ports: r.ports.clone(),
                    }),
                    action: Action::Allow,
                    direction: d,
                    tier: TierRank::NetworkPolicy,
                    peers,
                    peer_sets,
                    ports,
                    origin: RuleRef {
                        policy: policy_name.clone(),
                        tier: TierRank::NetworkPolicy,
                        priority: None,
                        direction: d,
                        index: i,
                        name: None,
                        span: r.span.clone(),
                    },
                });
                for &w in &subjects {
                    sides[w][d as usize].network_policy.push(id);
                }
            }
        }
    }

    warn_egress_without_dns(inv, &rules, &sides, &policies, diags);
    Analysis {
        workloads: inv.workloads.clone(),
        namespaces: inv.namespaces.clone(),
        services: inv.services.clone(),
        atoms,
        rules,
        sides,
        policies,
    }
}

/// E-10: egress-isolated workloads with no rule that could allow port 53
/// (UDP or TCP) to any peer, one warning per namespace.
fn warn_egress_without_dns(
    inv: &Inventory,
    rules: &[Rule],
    sides: &[[Side; 2]],
    policies: &[PolicyInfo],
    diags: &mut Vec<Diagnostic>,
) {
    let dns_ports = crate::model::PortSet::single(53);
    let allows_dns = |r: &Rule| -> bool {
        if r.action != Action::Allow || (r.peers.workloads.is_empty() && r.peers.atoms.is_empty()) {
            return false;
        }
        let fixed = |p| !r.ports.fixed.ports(p).intersection(&dns_ports).is_empty();
        if fixed(crate::model::Protocol::Udp) || fixed(crate::model::Protocol::Tcp) {
            return true;
        }
        // A named port that resolves to 53 on some peer workload.
        r.ports.named.iter().any(|(_, name)| {
            r.peers.workloads.iter().any(|w| {
                inv.workloads[w]
                    .ports
                    .iter()
                    .any(|cp| cp.port == 53 && cp.name.as_deref() == Some(name.as_str()))
            })
        })
    };
    let mut by_ns: BTreeMap<&str, (Vec<String>, Option<crate::diag::Span>)> = BTreeMap::new();
    for (w, side) in sides.iter().enumerate() {
        let egress = &side[Direction::Egress as usize];
        if !egress.is_isolated() {
            continue;
        }
        let chain = egress.admin.iter().chain(&egress.network_policy);
        if chain.clone().any(|&r| allows_dns(&rules[r])) {
            continue;
        }
        let wl = &inv.workloads[w];
        let entry = by_ns.entry(wl.namespace.as_str()).or_default();
        entry.0.push(wl.id());
        if entry.1.is_none() {
            // Point at a pure egress default-deny when there is one.
            let pure = egress
                .isolated_by
                .iter()
                .find(|&&p| policies[p].rules[Direction::Egress as usize] == 0);
            entry.1 = pure
                .or(egress.isolated_by.first())
                .map(|&p| policies[p].selector_span.clone());
        }
    }
    for (ns, (ids, span)) in by_ns {
        let shown: Vec<&str> = ids.iter().take(3).map(String::as_str).collect();
        let more = if ids.len() > 3 {
            format!(" and {} more", ids.len() - 3)
        } else {
            String::new()
        };
        let mut d = Diagnostic::new(
            Code::EgressWithoutDns,
            format!(
                "{} egress-isolated workload{} in namespace {ns} ({}{more}) cannot reach port 53 on UDP or TCP; name resolution will fail",
                ids.len(),
                if ids.len() == 1 { "" } else { "s" },
                shown.join(", ")
            ),
        );
        if let Some(span) = span {
            d = d.at(span);
        }
        diags.push(d);
    }
}

fn union_peers(
    sets: &[(Arc<EndpointSet>, crate::diag::Span)],
    n: usize,
    natoms: usize,
) -> Arc<EndpointSet> {
    if let [(one, _)] = sets {
        return one.clone();
    }
    let mut set = EndpointSet {
        workloads: BitSet::new(n),
        atoms: BitSet::new(natoms),
    };
    for (p, _) in sets {
        set.workloads.union_with(&p.workloads);
        set.atoms.union_with(&p.atoms);
    }
    Arc::new(set)
}

/// NP-19 / C4: one warning per (rule, name), listing the destinations that
/// lack the named port, instead of one line per destination.
#[allow(clippy::too_many_arguments)]
fn warn_named_ports(
    inv: &Inventory,
    ports: &PortMatch,
    d: Direction,
    subjects: &[usize],
    peers: &EndpointSet,
    policy: &str,
    field: &str,
    rule: &crate::manifest::NpRule,
    diags: &mut Vec<Diagnostic>,
) {
    let destinations: Vec<usize> = match d {
        Direction::Ingress => subjects.to_vec(),
        Direction::Egress => peers.workloads.iter().collect(),
    };
    for (proto, name) in &ports.named {
        let missing: Vec<String> = destinations
            .iter()
            .map(|&w| &inv.workloads[w])
            .filter(|w| {
                !w.ports.iter().any(|cp| {
                    cp.name.as_deref() == Some(name) && proto.is_none_or(|p| p == cp.protocol)
                })
            })
            .map(|w| w.id())
            .collect();
        let proto_text = proto.map_or(String::new(), |p| format!("{p} "));
        if !missing.is_empty() {
            let shown: Vec<&str> = missing.iter().take(3).map(String::as_str).collect();
            let more = if missing.len() > 3 {
                format!(" and {} more", missing.len() - 3)
            } else {
                String::new()
            };
            diags.push(
                Diagnostic::new(
                    Code::NamedPortUnresolved,
                    format!(
                        "named port {proto_text}{name:?} is not declared by {}{more}; it allows nothing there",
                        shown.join(", ")
                    ),
                )
                .at(rule.span.clone())
                .object(policy.to_string())
                .field(field.to_string()),
            );
        }
        if d == Direction::Egress && !peers.atoms.is_empty() {
            diags.push(
                Diagnostic::new(
                    Code::NamedPortExternal,
                    format!("named port {name:?} never matches external addresses (C4)"),
                )
                .at(rule.span.clone())
                .object(policy.to_string())
                .field(field.to_string()),
            );
        }
    }
}
