//! Base versus head: the connections a change opens and closes, each with
//! the causes that explain it.
//!
//! Output-sensitive: a pair's verdict can change only if the source's
//! egress side, the destination's ingress side, or either endpoint itself
//! (labels, namespace labels, ports, existence) changed. Sides are compared
//! by canonical rule content, so only the rows and columns of changed
//! workloads are evaluated, never the whole matrix.

use crate::analysis::Analyzed;
use crate::diag::Span;
use crate::manifest::{ContainerPort, Workload};
use crate::model::{ConnSet, Labels};
use crate::reach::{Action, Analysis, Direction, Endpoint, RuleRef, Side, SideTrace};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// An endpoint of either revision, by position in the merged id order.
#[derive(Clone, Debug)]
pub struct UnionEndpoint {
    pub id: String,
    pub base: Option<Endpoint>,
    pub head: Option<Endpoint>,
}

impl UnionEndpoint {
    pub fn is_workload(&self) -> bool {
        matches!(self.base.or(self.head), Some(Endpoint::Workload(_)))
    }
}

/// Whether a rule that explains a change is new, or was already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Novelty {
    /// No rule with the same content applied to this workload before
    /// (new, changed, or newly selecting it).
    New,
    /// The same rule applied before; something else changed.
    Unchanged,
    /// The rule no longer applies to this workload (removed or changed).
    Gone,
    /// The whole policy was deleted.
    PolicyDeleted,
}

/// A policy named by a cause, with the line to link and its revision.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyRef {
    pub name: String,
    pub span: Span,
    pub on_base: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cause {
    NewWorkload {
        id: String,
        span: Span,
    },
    RemovedWorkload {
        id: String,
        span: Span,
    },
    /// A head rule allows the opened traffic; `peer` is the matching peer's
    /// index and line.
    RuleAllows {
        rule: RuleRef,
        peer: Option<(usize, Span)>,
        novelty: Novelty,
    },
    /// A base rule allowed the closed traffic and no longer does.
    RuleNoLongerAllows {
        rule: RuleRef,
        peer: Option<(usize, Span)>,
        novelty: Novelty,
    },
    /// No NetworkPolicy isolates the workload in this direction any more;
    /// `policies` are those that isolated it before.
    NoLongerIsolated {
        workload: String,
        direction: Direction,
        policies: Vec<PolicyRef>,
    },
    /// NetworkPolicies now isolate the workload in this direction.
    NewlyIsolated {
        workload: String,
        direction: Direction,
        policies: Vec<PolicyRef>,
    },
    /// An admin-tier rule now denies it.
    DeniedBy {
        rule: RuleRef,
    },
    /// An admin-tier rule that denied it is gone or no longer matches.
    NoLongerDenied {
        rule: RuleRef,
    },
    /// A Pass now hands the decision down to NetworkPolicy / Baseline.
    PassedDown {
        rule: RuleRef,
    },
    /// Labels or namespace labels of a workload changed, and that changed
    /// which rules select or match it here.
    LabelChange {
        workload: String,
        span: Span,
        what: String,
    },
    /// Container ports of a workload changed, so named ports resolve
    /// differently.
    NamedPortChange {
        workload: String,
        names: Vec<String>,
        span: Span,
    },
}

impl Cause {
    /// A coarser key for very large diffs: isolation changes without the
    /// policies involved.
    pub fn coarse_key(&self) -> Cause {
        match self.group_key() {
            Cause::NoLongerIsolated { direction, .. } => Cause::NoLongerIsolated {
                workload: String::new(),
                direction,
                policies: Vec::new(),
            },
            Cause::NewlyIsolated { direction, .. } => Cause::NewlyIsolated {
                workload: String::new(),
                direction,
                policies: Vec::new(),
            },
            c => c,
        }
    }

    /// The cause as it groups rows for people: which workload a policy now
    /// isolates is already said by the row, so it does not split groups.
    pub fn group_key(&self) -> Cause {
        match self {
            Cause::NoLongerIsolated {
                direction,
                policies,
                ..
            } => Cause::NoLongerIsolated {
                workload: String::new(),
                direction: *direction,
                policies: policies.iter().take(1).cloned().collect(),
            },
            Cause::NewlyIsolated {
                direction,
                policies,
                ..
            } => Cause::NewlyIsolated {
                workload: String::new(),
                direction: *direction,
                policies: policies.iter().take(1).cloned().collect(),
            },
            c => c.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct DiffRow {
    /// Indices into [`ReachDiff::endpoints`].
    pub src: usize,
    pub dst: usize,
    pub conn: ConnSet,
    /// Indices into [`ReachDiff::causes`], sorted. Rows with the same causes
    /// share one list: a change that opens a million rows has a handful of
    /// distinct causes.
    pub causes: Arc<[u32]>,
}

#[derive(Clone, Debug, Default)]
pub struct DiffStats {
    pub workloads_base: usize,
    pub workloads_head: usize,
    pub policies_base: usize,
    pub policies_head: usize,
    /// Workloads whose egress side / ingress side / identity changed.
    pub changed_egress: usize,
    pub changed_ingress: usize,
    pub changed_endpoints: usize,
    pub pairs_evaluated: usize,
}

#[derive(Clone, Debug)]
pub struct ReachDiff {
    /// Sorted by id: workloads of both revisions, then the common atoms
    /// interleaved by id.
    pub endpoints: Vec<UnionEndpoint>,
    pub opened: Vec<DiffRow>,
    pub closed: Vec<DiffRow>,
    /// Every distinct cause, referenced by index from rows.
    pub causes: Vec<Cause>,
    pub stats: DiffStats,
}

impl ReachDiff {
    /// The causes of one row.
    pub fn causes_of<'a>(&'a self, row: &'a DiffRow) -> impl Iterator<Item = &'a Cause> + 'a {
        row.causes.iter().map(|&i| &self.causes[i as usize])
    }
}

struct Profile<'a> {
    ns_labels: Option<&'a Labels>,
    labels: &'a Labels,
    ports: &'a [ContainerPort],
    host_network: bool,
}

impl PartialEq for Profile<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.ns_labels == o.ns_labels
            && self.labels == o.labels
            && self.ports == o.ports
            && self.host_network == o.host_network
    }
}

fn profile<'a>(a: &'a Analysis, w: usize) -> Profile<'a> {
    let wl = &a.workloads[w];
    let ns_labels = a
        .namespaces
        .binary_search_by(|n| n.name.as_str().cmp(&wl.namespace))
        .ok()
        .map(|i| &a.namespaces[i].labels);
    Profile {
        ns_labels,
        labels: &wl.labels,
        ports: &wl.ports,
        host_network: wl.host_network,
    }
}

fn same_side(a: &Analysis, sa: &Side, b: &Analysis, sb: &Side) -> bool {
    let eq = |x: &[usize], y: &[usize]| {
        x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|(&i, &j)| a.rules[i].spec == b.rules[j].spec)
    };
    sa.is_isolated() == sb.is_isolated()
        && eq(&sa.admin, &sb.admin)
        && eq(&sa.baseline, &sb.baseline)
        && (!sa.is_isolated() || eq(&sa.network_policy, &sb.network_policy))
}

/// Compares two analysed revisions that share one atom table.
pub fn compare(base: &Analyzed, head: &Analyzed) -> ReachDiff {
    let (ba, ha) = (&base.analysis, &head.analysis);
    // Merge endpoints by id.
    let mut endpoints: Vec<UnionEndpoint> = Vec::new();
    {
        let (mut i, mut j) = (0, 0);
        let (bw, hw) = (&ba.workloads, &ha.workloads);
        let bid: Vec<String> = bw.iter().map(Workload::id).collect();
        let hid: Vec<String> = hw.iter().map(Workload::id).collect();
        while i < bid.len() || j < hid.len() {
            let ord = match (bid.get(i), hid.get(j)) {
                (Some(x), Some(y)) => x.cmp(y),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match ord {
                std::cmp::Ordering::Less => {
                    endpoints.push(UnionEndpoint {
                        id: bid[i].clone(),
                        base: Some(Endpoint::Workload(i)),
                        head: None,
                    });
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    endpoints.push(UnionEndpoint {
                        id: hid[j].clone(),
                        base: None,
                        head: Some(Endpoint::Workload(j)),
                    });
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    endpoints.push(UnionEndpoint {
                        id: bid[i].clone(),
                        base: Some(Endpoint::Workload(i)),
                        head: Some(Endpoint::Workload(j)),
                    });
                    i += 1;
                    j += 1;
                }
            }
        }
        for (k, atom) in ba.atoms.atoms().iter().enumerate() {
            endpoints.push(UnionEndpoint {
                id: atom.id(),
                base: Some(Endpoint::Atom(k)),
                head: Some(Endpoint::Atom(k)),
            });
        }
        endpoints.sort_by(|x, y| x.id.cmp(&y.id));
    }

    // Which endpoints changed, and how.
    let mut egress_changed = BTreeSet::new();
    let mut ingress_changed = BTreeSet::new();
    let mut identity_changed = BTreeSet::new();
    for (u, e) in endpoints.iter().enumerate() {
        match (e.base, e.head) {
            (Some(Endpoint::Workload(b)), Some(Endpoint::Workload(h))) => {
                if profile(ba, b) != profile(ha, h) {
                    identity_changed.insert(u);
                }
                if !same_side(ba, &ba.sides[b][1], ha, &ha.sides[h][1]) {
                    egress_changed.insert(u);
                }
                if !same_side(ba, &ba.sides[b][0], ha, &ha.sides[h][0]) {
                    ingress_changed.insert(u);
                }
            }
            (Some(Endpoint::Workload(_)), None) | (None, Some(Endpoint::Workload(_))) => {
                identity_changed.insert(u);
            }
            _ => {}
        }
    }
    let sources: BTreeSet<usize> = egress_changed.union(&identity_changed).copied().collect();
    let dests: BTreeSet<usize> = ingress_changed.union(&identity_changed).copied().collect();

    let reach = |a: &Analysis, s: Option<Endpoint>, d: Option<Endpoint>| -> ConnSet {
        match (s, d) {
            (Some(s), Some(d)) => a.reach(s, d),
            _ => ConnSet::empty(),
        }
    };
    let n = endpoints.len();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for &s in &sources {
        pairs.extend((0..n).map(|d| (s, d)));
    }
    for &d in &dests {
        pairs.extend((0..n).filter(|s| !sources.contains(s)).map(|s| (s, d)));
    }
    let evaluated = pairs.len();
    let changes: Vec<(usize, usize, ConnSet, ConnSet)> = pairs
        .par_iter()
        .filter_map(|&(s, d)| {
            let (es, ed) = (&endpoints[s], &endpoints[d]);
            if !es.is_workload() && !ed.is_workload() {
                return None;
            }
            let b = reach(ba, es.base, ed.base);
            let h = reach(ha, es.head, ed.head);
            if b == h {
                return None;
            }
            Some((s, d, h.difference(&b), b.difference(&h)))
        })
        .collect();
    let mut opened = Vec::new();
    let mut closed = Vec::new();
    for (s, d, o, c) in changes {
        if !o.is_empty() {
            opened.push(DiffRow {
                src: s,
                dst: d,
                conn: o,
                causes: Arc::from(Vec::new()),
            });
        }
        if !c.is_empty() {
            closed.push(DiffRow {
                src: s,
                dst: d,
                conn: c,
                causes: Arc::from(Vec::new()),
            });
        }
    }
    let order = |r: &DiffRow| (r.src, r.dst);
    opened.sort_by_key(order);
    closed.sort_by_key(order);
    let mut explainer = Explainer {
        base: ba,
        head: ha,
        endpoints: &endpoints,
        identity_changed: &identity_changed,
        table: Vec::new(),
        interned: HashMap::new(),
        side_memo: HashMap::new(),
        row_memo: HashMap::new(),
    };
    for r in &mut opened {
        r.causes = explainer.explain(r, true);
    }
    for r in &mut closed {
        r.causes = explainer.explain(r, false);
    }
    let causes = explainer.table;
    let stats = DiffStats {
        // Workloads of the input; representatives are not counted (OW-1).
        workloads_base: ba
            .workloads
            .iter()
            .filter(|w| w.representative.is_none())
            .count(),
        workloads_head: ha
            .workloads
            .iter()
            .filter(|w| w.representative.is_none())
            .count(),
        policies_base: ba.policies.len(),
        policies_head: ha.policies.len(),
        changed_egress: egress_changed.len(),
        changed_ingress: ingress_changed.len(),
        changed_endpoints: identity_changed.len(),
        pairs_evaluated: evaluated,
    };
    ReachDiff {
        endpoints,
        opened,
        closed,
        causes,
        stats,
    }
}

/// What a side's causes depend on besides its owner: which rules the peer
/// matches (and by which peer entry) on both sides, unless the peer itself
/// changed or resolves named ports, in which case the peer's identity.
#[derive(Clone, PartialEq, Eq, Hash)]
enum PeerKey {
    Exact(usize),
    Shape(Vec<Option<u16>>, Vec<Option<u16>>),
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct SideKey {
    opened: bool,
    dir: Direction,
    owner: usize,
    changed: ConnSet,
    peer: PeerKey,
}

// Lookup-only memo tables (never iterated): explanations are shared by all
// rows with the same shape, so a huge diff costs a hash lookup per row.
struct Explainer<'a> {
    base: &'a Analysis,
    head: &'a Analysis,
    endpoints: &'a [UnionEndpoint],
    identity_changed: &'a BTreeSet<usize>,
    table: Vec<Cause>,
    interned: HashMap<Cause, u32>,
    side_memo: HashMap<SideKey, Arc<[u32]>>,
    row_memo: HashMap<Vec<u32>, Arc<[u32]>>,
}

impl Explainer<'_> {
    fn intern(&mut self, causes: BTreeSet<Cause>) -> Vec<u32> {
        let mut ids: Vec<u32> = causes
            .into_iter()
            .map(|c| {
                if let Some(&i) = self.interned.get(&c) {
                    return i;
                }
                let i = self.table.len() as u32;
                self.table.push(c.clone());
                self.interned.insert(c, i);
                i
            })
            .collect();
        ids.sort_unstable();
        ids
    }

    fn shared(&mut self, mut ids: Vec<u32>) -> Arc<[u32]> {
        ids.sort_unstable();
        ids.dedup();
        if let Some(a) = self.row_memo.get(&ids) {
            return a.clone();
        }
        let a: Arc<[u32]> = Arc::from(ids.clone());
        self.row_memo.insert(ids, a.clone());
        a
    }

    /// Which rules of a side's chain a peer matches, by first matching peer
    /// entry (`u16::MAX` for a rule without a peer list).
    fn shape(a: &Analysis, side: &Side, peer: Endpoint) -> Vec<Option<u16>> {
        side.admin
            .iter()
            .chain(&side.network_policy)
            .chain(&side.baseline)
            .map(|&r| {
                let rule = &a.rules[r];
                if !Analysis::peer_matches(rule, peer) {
                    None
                } else if rule.peer_sets.is_empty() {
                    Some(u16::MAX)
                } else {
                    let i = rule.peer_sets.iter().position(|(set, _)| match peer {
                        Endpoint::Workload(w) => set.workloads.contains(w),
                        Endpoint::Atom(x) => set.atoms.contains(x),
                    });
                    i.map(|i| i.min(usize::from(u16::MAX - 1)) as u16)
                }
            })
            .collect()
    }

    /// Causes for one opened (or closed) row. `now` is the revision where
    /// the traffic is allowed, `before` the one where it was not.
    fn explain(&mut self, row: &DiffRow, opened: bool) -> Arc<[u32]> {
        let (now, before) = if opened {
            (self.head, self.base)
        } else {
            (self.base, self.head)
        };
        let pick = |e: &UnionEndpoint, a_is_head: bool| if a_is_head { e.head } else { e.base };
        let now_is_head = opened;
        let (src, dst) = (&self.endpoints[row.src], &self.endpoints[row.dst]);
        // Existence.
        let mut existence = BTreeSet::new();
        for e in [src, dst] {
            if let (Some(Endpoint::Workload(w)), None) =
                (pick(e, now_is_head), pick(e, !now_is_head))
            {
                let wl = &now.workloads[w];
                existence.insert(if opened {
                    Cause::NewWorkload {
                        id: e.id.clone(),
                        span: wl.span.clone(),
                    }
                } else {
                    Cause::RemovedWorkload {
                        id: e.id.clone(),
                        span: wl.span.clone(),
                    }
                });
            }
        }
        if !existence.is_empty() {
            let ids = self.intern(existence);
            return self.shared(ids);
        }
        // Both endpoints exist on both sides: look at each side.
        let mut ids = Vec::new();
        let sides = [
            (Direction::Egress, row.src, row.dst),
            (Direction::Ingress, row.dst, row.src),
        ];
        for (dir, owner_u, peer_u) in sides {
            let (owner, peer) = (&self.endpoints[owner_u], &self.endpoints[peer_u]);
            let (Some(Endpoint::Workload(wn)), Some(Endpoint::Workload(wb))) =
                (pick(owner, now_is_head), pick(owner, !now_is_head))
            else {
                continue;
            };
            let (Some(pn), Some(pb)) = (pick(peer, now_is_head), pick(peer, !now_is_head)) else {
                continue;
            };
            let before_allowed = before.side(dir, wb, pb);
            let changed = row.conn.difference(&before_allowed);
            if changed.is_empty() {
                continue;
            }
            let (side_now, side_before) = (
                &now.sides[wn][dir as usize],
                &before.sides[wb][dir as usize],
            );
            let resolves_named_ports = dir == Direction::Egress
                && matches!(pn, Endpoint::Workload(_))
                && side_now
                    .admin
                    .iter()
                    .chain(&side_now.network_policy)
                    .chain(&side_now.baseline)
                    .any(|&r| now.rules[r].ports.has_named());
            let peer_key = if self.identity_changed.contains(&peer_u) || resolves_named_ports {
                PeerKey::Exact(peer_u)
            } else {
                PeerKey::Shape(
                    Self::shape(now, side_now, pn),
                    Self::shape(before, side_before, pb),
                )
            };
            let key = SideKey {
                opened,
                dir,
                owner: owner_u,
                changed,
                peer: peer_key,
            };
            if let Some(found) = self.side_memo.get(&key) {
                ids.extend(found.iter().copied());
                continue;
            }
            let tn = now.trace_side(dir, wn, pn);
            let tb = before.trace_side(dir, wb, pb);
            let mut causes = BTreeSet::new();
            self.side_causes(
                &mut causes,
                opened,
                dir,
                owner,
                peer,
                (wn, pn, &tn),
                (wb, pb, &tb),
                &key.changed,
            );
            let side_ids: Arc<[u32]> = Arc::from(self.intern(causes));
            ids.extend(side_ids.iter().copied());
            self.side_memo.insert(key, side_ids);
        }
        self.shared(ids)
    }

    #[allow(clippy::too_many_arguments)]
    fn side_causes(
        &self,
        causes: &mut BTreeSet<Cause>,
        opened: bool,
        dir: Direction,
        owner: &UnionEndpoint,
        peer: &UnionEndpoint,
        (wn, pn, tn): (usize, Endpoint, &SideTrace),
        (wb, pb, tb): (usize, Endpoint, &SideTrace),
        changed: &ConnSet,
    ) {
        let (now, before) = if opened {
            (self.head, self.base)
        } else {
            (self.base, self.head)
        };
        let side_now = &now.sides[wn][dir as usize];
        let side_before = &before.sides[wb][dir as usize];
        let touches = |c: &ConnSet| !c.intersection(changed).is_empty();
        let chain = |s: &Side| -> Vec<usize> {
            s.admin
                .iter()
                .chain(&s.network_policy)
                .chain(&s.baseline)
                .copied()
                .collect()
        };
        let (chain_now, chain_before) = (chain(side_now), chain(side_before));
        // The same-content rule of the other revision, if any.
        let counterpart = |r: usize| -> Option<usize> {
            chain_before
                .iter()
                .copied()
                .find(|&x| before.rules[x].spec == now.rules[r].spec)
        };
        let same_chain = side_now.is_isolated() == side_before.is_isolated()
            && chain_now.len() == chain_before.len()
            && chain_now
                .iter()
                .zip(&chain_before)
                .all(|(&x, &y)| now.rules[x].spec == before.rules[y].spec);
        let head_has_policy = |name: &str| self.head.policies.iter().any(|p| p.name == name);
        // The policies that isolate a workload, the most telling first: a
        // pure default-deny (no rules in this direction), then policies new
        // in head, then by name. Links point at their subject selectors.
        let policy_refs = |a: &Analysis, s: &Side, a_is_base: bool| -> Vec<PolicyRef> {
            let mut v: Vec<(bool, bool, PolicyRef)> = s
                .isolated_by
                .iter()
                .map(|&p| {
                    let info = &a.policies[p];
                    (
                        info.rules[dir as usize] != 0,
                        self.base.policies.iter().any(|b| b.name == info.name),
                        PolicyRef {
                            name: info.name.clone(),
                            span: info.selector_span.clone(),
                            on_base: a_is_base,
                        },
                    )
                })
                .collect();
            v.sort();
            v.into_iter().map(|(_, _, p)| p).collect()
        };
        // Isolation flips (the silent default).
        if opened
            && side_before.is_isolated()
            && !side_now.is_isolated()
            && touches(&tn.default_allowed)
        {
            // Point at the head version of each policy that stopped
            // selecting the workload (its podSelector changed), or at the
            // base version if it was deleted.
            let policies = side_before
                .isolated_by
                .iter()
                .map(|&p| {
                    let name = &before.policies[p].name;
                    match now.policies.iter().find(|x| &x.name == name) {
                        Some(h) => PolicyRef {
                            name: name.clone(),
                            span: h.selector_span.clone(),
                            on_base: false,
                        },
                        None => PolicyRef {
                            name: name.clone(),
                            span: before.policies[p].selector_span.clone(),
                            on_base: true,
                        },
                    }
                })
                .collect();
            causes.insert(Cause::NoLongerIsolated {
                workload: owner.id.clone(),
                direction: dir,
                policies,
            });
        }
        if !opened && side_before.is_isolated() && !side_now.is_isolated() {
            // `before` is head here: head isolates, base did not.
            causes.insert(Cause::NewlyIsolated {
                workload: owner.id.clone(),
                direction: dir,
                policies: policy_refs(before, side_before, false),
            });
        }
        // Rules that decide the changed ports where the traffic is allowed.
        for step in &tn.steps {
            if !touches(&step.decided) {
                continue;
            }
            let rule = &now.rules[step.rule];
            match step.action {
                Action::Allow => {
                    let novelty = if counterpart(step.rule).is_some() {
                        Novelty::Unchanged
                    } else if opened {
                        Novelty::New
                    } else if !head_has_policy(&rule.origin.policy) {
                        Novelty::PolicyDeleted
                    } else {
                        Novelty::Gone
                    };
                    let peer_ref = rule
                        .peer_sets
                        .iter()
                        .position(|(set, _)| match pn {
                            Endpoint::Workload(w) => set.workloads.contains(w),
                            Endpoint::Atom(a) => set.atoms.contains(a),
                        })
                        .map(|i| (i, rule.peer_sets[i].1.clone()));
                    let rule_ref = rule.origin.clone();
                    causes.insert(if opened {
                        Cause::RuleAllows {
                            rule: rule_ref,
                            peer: peer_ref,
                            novelty,
                        }
                    } else {
                        Cause::RuleNoLongerAllows {
                            rule: rule_ref,
                            peer: peer_ref,
                            novelty,
                        }
                    });
                }
                Action::Pass if opened => {
                    causes.insert(Cause::PassedDown {
                        rule: rule.origin.clone(),
                    });
                }
                _ => {}
            }
        }
        // Admin Deny where the traffic is not allowed.
        for step in &tb.steps {
            if step.action == Action::Deny && touches(&step.decided) {
                let rule = before.rules[step.rule].origin.clone();
                causes.insert(if opened {
                    Cause::NoLongerDenied { rule }
                } else {
                    Cause::DeniedBy { rule }
                });
            }
        }

        // Changes of the endpoints themselves, only where they matter here.
        let head_span = |a_now: usize, a_before: usize| {
            let w = if opened { a_now } else { a_before };
            self.head.workloads[w].span.clone()
        };
        let (po, pob) = (profile(now, wn), profile(before, wb));
        if (po.labels != pob.labels || po.ns_labels != pob.ns_labels) && !same_chain {
            causes.insert(Cause::LabelChange {
                workload: owner.id.clone(),
                span: head_span(wn, wb),
                what: if po.labels != pob.labels {
                    "labels".into()
                } else {
                    "namespace labels".into()
                },
            });
        }
        if let (Endpoint::Workload(xn), Endpoint::Workload(xb)) = (pn, pb) {
            let (pp, ppb) = (profile(now, xn), profile(before, xb));
            if pp.labels != ppb.labels || pp.ns_labels != ppb.ns_labels {
                let membership_changed = chain_now.iter().any(|&r| {
                    counterpart(r).is_some_and(|r2| {
                        Analysis::peer_matches(&now.rules[r], pn)
                            != Analysis::peer_matches(&before.rules[r2], pb)
                    })
                });
                if membership_changed {
                    causes.insert(Cause::LabelChange {
                        workload: peer.id.clone(),
                        span: head_span(xn, xb),
                        what: if pp.labels != ppb.labels {
                            "labels".into()
                        } else {
                            "namespace labels".into()
                        },
                    });
                }
            }
        }
        // Named ports resolve on the destination: the owner for ingress, the
        // peer for egress (NP-18).
        let targets = match (dir, pn, pb) {
            (Direction::Ingress, _, _) => Some((wn, wb, owner)),
            (Direction::Egress, Endpoint::Workload(xn), Endpoint::Workload(xb)) => {
                Some((xn, xb, peer))
            }
            _ => None,
        };
        if let Some((tnow, tbefore, target)) = targets {
            if now.workloads[tnow].ports != before.workloads[tbefore].ports {
                let mut names = BTreeSet::new();
                for &r in &chain_now {
                    if let Some(r2) = counterpart(r) {
                        let (a, b) = (&now.rules[r], &before.rules[r2]);
                        if a.ports.has_named()
                            && now.rule_ports(a, Some(tnow)) != before.rule_ports(b, Some(tbefore))
                        {
                            names.extend(a.ports.named.iter().map(|(_, n)| n.clone()));
                        }
                    }
                }
                if !names.is_empty() {
                    causes.insert(Cause::NamedPortChange {
                        workload: target.id.clone(),
                        names: names.into_iter().collect(),
                        span: head_span(tnow, tbefore),
                    });
                }
            }
        }
    }
}
