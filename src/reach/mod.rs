//! The reachability engine: compiled rules per workload and direction, and
//! the evaluator that answers "what may `src` open to `dst`?".
//!
//! No per-pair matrix is stored. A side (one direction of one workload) is
//! an ordered chain of rules whose peers are bit sets, so any pair is
//! answered by walking two short chains; full listings and diffs iterate
//! only the rows and columns they need.

pub mod classes;
mod compile;
pub mod open_world;
pub mod rules;
pub mod why;

use crate::diag::{Diagnostic, Span};
use crate::manifest::{Inventory, Namespace, Service, Workload};
use crate::model::{AtomTable, ConnSet, PortSet};
pub use compile::calico::open_world_unsupported as calico_open_world_unsupported;
pub use compile::calico::unsupported as calico_unsupported;
pub use compile::cidrs;
pub use compile::cilium::pseudo_endpoints;
use rayon::prelude::*;
pub use rules::*;

/// An endpoint of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    Workload(usize),
    Atom(usize),
}

#[derive(Clone, Debug)]
pub struct PolicyInfo {
    pub name: String,
    pub span: Span,
    /// Where its subject selector is written (`spec.podSelector`).
    pub selector_span: Span,
    /// Rules per direction [ingress, egress] that take effect.
    pub rules: [usize; 2],
}

/// The analysed state of one revision.
#[derive(Debug)]
pub struct Analysis {
    /// Sorted by id; the inventory's own list, shared.
    pub workloads: std::sync::Arc<Vec<Workload>>,
    pub namespaces: Vec<Namespace>,
    pub services: Vec<Service>,
    pub atoms: AtomTable,
    pub rules: Vec<Rule>,
    /// Per workload: [ingress, egress].
    pub sides: Vec<[Side; 2]>,
    pub policies: Vec<PolicyInfo>,
}

/// One step of an explanation: a rule that matched part of the traffic.
#[derive(Clone, Debug)]
pub struct Step {
    pub rule: RuleId,
    pub action: Action,
    /// The part of the traffic this rule decided.
    pub decided: ConnSet,
}

/// Why one side allows what it allows.
#[derive(Clone, Debug, Default)]
pub struct SideTrace {
    pub allowed: ConnSet,
    pub steps: Vec<Step>,
    /// Traffic that reached the NetworkPolicy tier for an isolated workload
    /// and no rule allowed (denied by isolation).
    pub isolated_denied: ConnSet,
    /// Traffic allowed because nothing decided it (the cluster default).
    pub default_allowed: ConnSet,
}

impl Analysis {
    /// Builds the engine for one inventory. `atoms` must cover every CIDR of
    /// the inventory (see [`cidrs`]); the diff passes the common refinement
    /// of both revisions.
    pub fn new(inv: &Inventory, atoms: AtomTable, diags: &mut Vec<Diagnostic>) -> Analysis {
        compile::compile(inv, atoms, diags)
    }

    pub fn endpoint_id(&self, e: Endpoint) -> String {
        match e {
            Endpoint::Workload(w) => self.workloads[w].id(),
            Endpoint::Atom(a) => self.atoms.atoms()[a].id(),
        }
    }

    /// A representative (pods the input does not hold, OW-1), not a
    /// workload of the input.
    pub fn is_representative(&self, w: usize) -> bool {
        self.workloads[w].representative.is_some()
    }

    pub fn workload_index(&self, id: &str) -> Option<usize> {
        self.workloads
            .binary_search_by(|w| w.id().as_str().cmp(id))
            .ok()
    }

    /// The ports a rule matches when `target` resolves named ports (the
    /// destination pod, NP-18); external destinations resolve none (C4).
    pub fn rule_ports(&self, rule: &Rule, target: Option<usize>) -> ConnSet {
        if !rule.ports.needs_target() {
            return rule.ports.fixed.clone();
        }
        let mut c = rule.ports.fixed.clone();
        if let Some(w) = target {
            for (proto, name) in &rule.ports.named {
                for cp in &self.workloads[w].ports {
                    if cp.name.as_deref() == Some(name.as_str())
                        && proto.is_none_or(|p| p == cp.protocol)
                    {
                        c.add(cp.protocol, &PortSet::single(cp.port));
                    }
                }
            }
        }
        if rule.ports.except.is_empty() {
            c
        } else {
            c.difference(&rule.ports.except)
        }
    }

    pub fn peer_matches(rule: &Rule, peer: Endpoint) -> bool {
        match peer {
            Endpoint::Workload(w) => rule.peers.workloads.contains(w),
            Endpoint::Atom(a) => rule.peers.atoms.contains(a),
        }
    }

    /// What one side allows: direction `dir` of workload `w` towards `peer`
    /// (the source for ingress, the destination for egress), per AP-6.
    pub fn side(&self, dir: Direction, w: usize, peer: Endpoint) -> ConnSet {
        self.side_impl(&self.sides[w][dir as usize], dir, w, peer, None)
    }

    /// What `side`, standing in for direction `dir` of workload `w`, would
    /// allow towards `peer` (what-if questions: a policy removed).
    pub fn side_as(&self, side: &Side, dir: Direction, w: usize, peer: Endpoint) -> ConnSet {
        self.side_impl(side, dir, w, peer, None)
    }

    pub fn trace_side(&self, dir: Direction, w: usize, peer: Endpoint) -> SideTrace {
        let mut t = SideTrace::default();
        t.allowed = self.side_impl(&self.sides[w][dir as usize], dir, w, peer, Some(&mut t));
        t
    }

    fn side_impl(
        &self,
        side: &Side,
        dir: Direction,
        w: usize,
        peer: Endpoint,
        mut trace: Option<&mut SideTrace>,
    ) -> ConnSet {
        if self.host_in(dir, peer) {
            return ConnSet::all();
        }
        let target = match dir {
            Direction::Ingress => Some(w),
            Direction::Egress => match peer {
                Endpoint::Workload(d) => Some(d),
                Endpoint::Atom(_) => None,
            },
        };
        if !side.calico.is_empty() {
            return self.calico_chain(&side.calico, peer, target, trace);
        }
        // Fast path: NetworkPolicy allows only.
        if side.allows_only() && trace.is_none() {
            if !side.is_isolated() {
                return ConnSet::all();
            }
            let mut allowed = ConnSet::empty();
            for &r in &side.network_policy {
                let rule = &self.rules[r];
                if Self::peer_matches(rule, peer) {
                    allowed.union_with(&self.rule_ports(rule, target));
                    if allowed.is_all() {
                        break;
                    }
                }
            }
            return allowed;
        }

        let mut allowed = ConnSet::empty();
        // Admin tier: first match per port decides.
        let mut admin = Tally::new(ConnSet::all(), &mut allowed);
        self.first_match(&side.admin, peer, target, &mut admin, trace.as_deref_mut());
        let mut remaining = admin.undecided.union(&admin.passed);
        if remaining.is_empty() {
            return allowed;
        }
        // CI-17: deny rules of the NetworkPolicy tier beat every allow of it.
        self.deny_chain(
            &side.deny,
            peer,
            target,
            &mut remaining,
            trace.as_deref_mut(),
        );
        if remaining.is_empty() {
            return allowed;
        }
        // NetworkPolicy tier decides for isolated workloads.
        if side.is_isolated() {
            let mut np = ConnSet::empty();
            for &r in &side.network_policy {
                let rule = &self.rules[r];
                if Self::peer_matches(rule, peer) {
                    let m = self.rule_ports(rule, target).intersection(&remaining);
                    if !m.is_empty() {
                        np.union_with(&m);
                        if let Some(t) = trace.as_deref_mut() {
                            t.steps.push(Step {
                                rule: r,
                                action: Action::Allow,
                                decided: m,
                            });
                        }
                    }
                }
            }
            if let Some(t) = trace.as_deref_mut() {
                t.isolated_denied = remaining.difference(&np);
            }
            allowed.union_with(&np);
            return allowed;
        }
        // Baseline tier, then the default allow (a Baseline Pass also ends
        // in the default).
        let mut baseline = Tally::new(remaining, &mut allowed);
        self.first_match(
            &side.baseline,
            peer,
            target,
            &mut baseline,
            trace.as_deref_mut(),
        );
        let default = baseline.undecided.union(&baseline.passed);
        if let Some(t) = trace {
            t.default_allowed = default.clone();
        }
        allowed.union_with(&default);
        allowed
    }

    /// The Calico evaluation of one side (semantics-calico.md section 8):
    /// tiers in order, each a first-match chain; what a tier leaves
    /// undecided is denied, or carried on when its default action is Pass
    /// (CA-31), as is what its Pass rules passed (CA-34); what the last
    /// tier carries the profiles allow (CA-35).
    fn calico_chain(
        &self,
        tiers: &[CalicoTierRun],
        peer: Endpoint,
        target: Option<usize>,
        mut trace: Option<&mut SideTrace>,
    ) -> ConnSet {
        let mut allowed = ConnSet::empty();
        let mut carried = ConnSet::all();
        for tier in tiers {
            if carried.is_empty() {
                break;
            }
            let mut tally = Tally::new(carried, &mut allowed);
            self.first_match(&tier.rules, peer, target, &mut tally, trace.as_deref_mut());
            carried = if tier.pass {
                tally.undecided.union(&tally.passed)
            } else {
                if let Some(t) = trace.as_deref_mut() {
                    t.isolated_denied.union_with(&tally.undecided);
                }
                tally.passed
            };
        }
        if let Some(t) = trace {
            t.default_allowed = carried.clone();
        }
        allowed.union_with(&carried);
        allowed
    }

    /// CI-19: Cilium always lets the node in (kubelet probes), whatever the
    /// policies say.
    fn host_in(&self, dir: Direction, peer: Endpoint) -> bool {
        matches!((dir, peer), (Direction::Ingress, Endpoint::Atom(a)) if self.atoms.is_host(a))
    }

    /// Removes from `remaining` what the deny rules of `chain` match
    /// (Cilium `ingressDeny`/`egressDeny`: all of them apply, no order).
    fn deny_chain(
        &self,
        chain: &[RuleId],
        peer: Endpoint,
        target: Option<usize>,
        remaining: &mut ConnSet,
        mut trace: Option<&mut SideTrace>,
    ) {
        for &r in chain {
            let rule = &self.rules[r];
            if !Self::peer_matches(rule, peer) {
                continue;
            }
            let m = self.rule_ports(rule, target).intersection(remaining);
            if m.is_empty() {
                continue;
            }
            *remaining = remaining.difference(&m);
            if let Some(t) = trace.as_deref_mut() {
                t.steps.push(Step {
                    rule: r,
                    action: Action::Deny,
                    decided: m,
                });
            }
        }
    }

    /// Walks a first-match chain (an admin tier): each connection is
    /// decided by the first rule that matches it.
    fn first_match(
        &self,
        chain: &[RuleId],
        peer: Endpoint,
        target: Option<usize>,
        tally: &mut Tally<'_>,
        mut trace: Option<&mut SideTrace>,
    ) {
        for &r in chain {
            if tally.undecided.is_empty() {
                break;
            }
            let rule = &self.rules[r];
            if !Self::peer_matches(rule, peer) {
                continue;
            }
            let m = self.rule_ports(rule, target).intersection(&tally.undecided);
            if m.is_empty() {
                continue;
            }
            tally.undecided = tally.undecided.difference(&m);
            match rule.action {
                Action::Allow => tally.allowed.union_with(&m),
                Action::Pass => tally.passed.union_with(&m),
                Action::Deny => {}
            }
            if let Some(t) = trace.as_deref_mut() {
                t.steps.push(Step {
                    rule: r,
                    action: rule.action,
                    decided: m,
                });
            }
        }
    }

    /// M-14: egress side of the source ∧ ingress side of the destination.
    pub fn reach(&self, src: Endpoint, dst: Endpoint) -> ConnSet {
        self.reach_by(src, dst, |dir, w, peer| self.side(dir, w, peer))
    }

    /// [`Analysis::reach`] with each workload side answered by `side`
    /// (what-if questions: the sides a policy's removal would leave).
    pub fn reach_by(
        &self,
        src: Endpoint,
        dst: Endpoint,
        side: impl Fn(Direction, usize, Endpoint) -> ConnSet,
    ) -> ConnSet {
        let egress = match src {
            Endpoint::Workload(s) => side(Direction::Egress, s, dst),
            Endpoint::Atom(_) => ConnSet::all(),
        };
        if egress.is_empty() {
            return egress;
        }
        match dst {
            Endpoint::Workload(d) => egress.intersection(&side(Direction::Ingress, d, src)),
            Endpoint::Atom(_) if matches!(src, Endpoint::Atom(_)) => ConnSet::empty(),
            Endpoint::Atom(_) => egress,
        }
    }

    /// Endpoints named by a pattern: a workload id (`ns/name[Kind]`),
    /// `ns/name` (any kind), a namespace `ns`, an IP address (its atom), or
    /// a Cilium pseudo-endpoint's id (`entity:host`, `fqdn:api.example.com`).
    pub fn select(&self, pattern: &str) -> Vec<Endpoint> {
        if pattern.starts_with("entity:") || pattern.starts_with("fqdn:") {
            let pseudo = self.atoms.pseudo();
            return pseudo
                .filter(|&i| self.atoms.atoms()[i].id() == pattern)
                .map(Endpoint::Atom)
                .collect();
        }
        if let Ok(ip) = pattern.parse::<std::net::IpAddr>() {
            return self
                .atoms
                .atom_of(ip)
                .map(Endpoint::Atom)
                .into_iter()
                .collect();
        }
        let mut out: Vec<Endpoint> = self
            .workloads
            .iter()
            .enumerate()
            .filter(|(_, w)| {
                let id = w.id();
                id == pattern
                    || format!("{}/{}", w.namespace, w.name) == pattern
                    || w.namespace == pattern
            })
            .map(|(i, _)| Endpoint::Workload(i))
            .collect();
        out.sort_by_key(|&e| self.endpoint_id(e));
        out
    }

    /// Allowed connections from `srcs` to `dsts` (each in id order).
    pub fn connections_between(
        &self,
        srcs: &[Endpoint],
        dsts: &[Endpoint],
    ) -> Vec<(Endpoint, Endpoint, ConnSet)> {
        srcs.par_iter()
            .map(|&src| {
                self.row(src, dsts)
                    .into_iter()
                    .map(|(dst, c)| (src, dst, c))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
            .into_iter()
            .flatten()
            .collect()
    }

    /// Every endpoint, sorted by id.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let mut v: Vec<(String, Endpoint)> = (0..self.workloads.len())
            .map(Endpoint::Workload)
            .chain((0..self.atoms.len()).map(Endpoint::Atom))
            .map(|e| (self.endpoint_id(e), e))
            .collect();
        v.sort();
        v.into_iter().map(|(_, e)| e).collect()
    }

    /// The row of one source: every destination it may reach, in id order.
    pub fn row(&self, src: Endpoint, order: &[Endpoint]) -> Vec<(Endpoint, ConnSet)> {
        order
            .iter()
            .filter_map(|&dst| {
                let c = self.reach(src, dst);
                (!c.is_empty()).then_some((dst, c))
            })
            .collect()
    }

    /// Every allowed connection from `srcs` to `dsts`, in that order (all
    /// destinations of the first source, then of the second, ...), handed
    /// to `sink` as they are computed: a block of sources at a time, in
    /// parallel, so memory holds one block of rows, never the whole answer
    /// (which is quadratic in the endpoints). Stops at the sink's first
    /// error. Returns the number of rows.
    pub fn each_row<E>(
        &self,
        srcs: &[Endpoint],
        dsts: &[Endpoint],
        mut sink: impl FnMut(Endpoint, Endpoint, &ConnSet) -> Result<(), E>,
    ) -> Result<usize, E> {
        // About 2^16 pairs per block: enough work to share between threads,
        // little enough that the first rows come out at once.
        let block = ((1usize << 16) / dsts.len().max(1)).clamp(1, 1024);
        let mut n = 0;
        for chunk in srcs.chunks(block) {
            let rows: Vec<Vec<(Endpoint, ConnSet)>> = match chunk {
                // One long row: share its destinations between threads.
                [s] => vec![
                    dsts.par_chunks(4096)
                        .flat_map_iter(|ds| self.row(*s, ds))
                        .collect(),
                ],
                _ => chunk.par_iter().map(|&s| self.row(s, dsts)).collect(),
            };
            for (&s, row) in chunk.iter().zip(rows) {
                for (d, c) in row {
                    sink(s, d, &c)?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// All allowed connections, sorted by (src id, dst id). Quadratic in the
    /// number of endpoints by nature; rows are computed in parallel.
    pub fn connections(&self) -> Vec<(Endpoint, Endpoint, ConnSet)> {
        let order = self.endpoints();
        self.connections_between(&order, &order)
    }
}

/// Where a first-match tier leaves the connections of one pair: still
/// undecided, allowed (into the side's running total) or passed on.
struct Tally<'a> {
    undecided: ConnSet,
    allowed: &'a mut ConnSet,
    passed: ConnSet,
}

impl<'a> Tally<'a> {
    fn new(undecided: ConnSet, allowed: &'a mut ConnSet) -> Self {
        Tally {
            undecided,
            allowed,
            passed: ConnSet::empty(),
        }
    }
}
