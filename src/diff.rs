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
    /// The rule is in its policy on both sides; the policy selects the
    /// workload on one side only (its selector or the workload's labels
    /// changed).
    Selection,
}

/// Why a policy named by an isolation cause selects a workload on one side
/// only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Why {
    /// The policy changed (its subject selector or policy types).
    Changed,
    /// The policy was deleted (its span is the base's).
    Deleted,
    /// The workload's labels (or its namespace's) changed; the label
    /// change is the cause to cite, not the policy.
    Labels,
}

/// Where the changed line behind a cited position may be: inside the
/// field it starts, then (`Within`) inside an enclosing field, or anywhere
/// in the object whose first line it is (`Document`).
#[derive(Clone, Debug)]
pub enum Scope {
    Field,
    Within(Span),
    Document,
}

/// One label of a workload whose value differs between the revisions.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabelDelta {
    pub key: String,
    pub base: Option<String>,
    pub head: Option<String>,
}

/// A policy named by a cause, with the line to link and its revision.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyRef {
    pub name: String,
    pub span: Span,
    pub on_base: bool,
    pub why: Why,
}

/// Where a cause whose head field changed only by deleted lines (a peer,
/// a `podSelector` or a port taken out of a rule) is cited instead of its
/// head position: the first removed line inside that field in the base
/// (issue 17); for a cause citing the base, its position when that is a
/// removed line. Set by [`crate::changes::LineChanges::cite`]. None: the
/// cause is cited where it points.
pub type Removed = Option<Span>;

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
        /// For [`Novelty::Selection`]: the head's subject selector of the
        /// policy when the policy changed (None: the labels did).
        selector: Option<Span>,
        removed: Removed,
    },
    /// A base rule allowed the closed traffic and no longer does.
    RuleNoLongerAllows {
        rule: RuleRef,
        peer: Option<(usize, Span)>,
        novelty: Novelty,
        selector: Option<Span>,
        removed: Removed,
    },
    /// No NetworkPolicy isolates the workload in this direction any more;
    /// `policies` are those that isolated it before.
    NoLongerIsolated {
        workload: String,
        direction: Direction,
        policies: Vec<PolicyRef>,
        removed: Removed,
    },
    /// NetworkPolicies now isolate the workload in this direction.
    NewlyIsolated {
        workload: String,
        direction: Direction,
        policies: Vec<PolicyRef>,
        removed: Removed,
    },
    /// An admin-tier rule now denies it.
    DeniedBy {
        rule: RuleRef,
        removed: Removed,
    },
    /// An admin-tier rule that denied it is gone or no longer matches.
    NoLongerDenied {
        rule: RuleRef,
    },
    /// A Pass now hands the decision down to NetworkPolicy / Baseline.
    PassedDown {
        rule: RuleRef,
        removed: Removed,
    },
    /// Labels or namespace labels of a workload changed, and that changed
    /// which rules select or match it here.
    LabelChange {
        workload: String,
        span: Span,
        /// Whether `span` is in the base (a label the change removed).
        on_base: bool,
        what: String,
        /// The pod labels that differ (empty for namespace labels).
        changes: Vec<LabelDelta>,
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
    /// A rule's position and its peer's. A peer whose own lines did not
    /// change was changed by an edit elsewhere in its rule (a `-` that
    /// split an AND peer in two).
    fn rule_spans<'a>(
        rule: &'a mut RuleRef,
        peer: &'a mut Option<(usize, Span)>,
        on_base: bool,
    ) -> Vec<(&'a mut Span, bool, Scope)> {
        let outer = Scope::Within(rule.span.clone());
        let mut v = vec![(&mut rule.span, on_base, Scope::Field)];
        v.extend(peer.as_mut().map(|(_, s)| (s, on_base, outer)));
        v
    }

    /// Every position a cause holds, with whether it is in the base and
    /// where else its changed line may be ([`Scope`]).
    pub fn spans_mut(&mut self) -> Vec<(&mut Span, bool, Scope)> {
        match self {
            Cause::NewWorkload { span, .. } => vec![(span, false, Scope::Field)],
            Cause::RemovedWorkload { span, .. } => vec![(span, true, Scope::Field)],
            Cause::RuleAllows {
                rule,
                peer,
                selector,
                ..
            } => {
                // The peer first: it is what the cause is cited at, so a
                // deletion inside it is the one to cite.
                let mut v = Self::rule_spans(rule, peer, false);
                v.rotate_left(1);
                v.extend(selector.as_mut().map(|s| (s, false, Scope::Field)));
                v
            }
            Cause::RuleNoLongerAllows {
                rule,
                peer,
                selector,
                ..
            } => {
                let mut v = Self::rule_spans(rule, peer, true);
                v.rotate_left(1);
                v.extend(selector.as_mut().map(|s| (s, false, Scope::Field)));
                v
            }
            Cause::NoLongerIsolated { policies, .. } | Cause::NewlyIsolated { policies, .. } => {
                policies
                    .iter_mut()
                    .map(|p| (&mut p.span, p.on_base, Scope::Field))
                    .collect()
            }
            Cause::DeniedBy { rule, .. } | Cause::PassedDown { rule, .. } => {
                vec![(&mut rule.span, false, Scope::Field)]
            }
            Cause::NoLongerDenied { rule } => vec![(&mut rule.span, true, Scope::Field)],
            Cause::LabelChange {
                span,
                on_base,
                changes,
                ..
            } => {
                // Pod labels are cited at their own line; namespace labels
                // at the Namespace object, whose changed line is inside.
                let scope = if changes.is_empty() {
                    Scope::Document
                } else {
                    Scope::Field
                };
                vec![(span, *on_base, scope)]
            }
            Cause::NamedPortChange { span, .. } => vec![(span, false, Scope::Document)],
        }
    }

    /// The slot for where the cause is cited when its head field changed
    /// only by deleted lines ([`Removed`]); None for causes that cite the
    /// base or a label already.
    pub fn removed_mut(&mut self) -> Option<&mut Removed> {
        match self {
            Cause::RuleAllows { removed, .. }
            | Cause::RuleNoLongerAllows { removed, .. }
            | Cause::NoLongerIsolated { removed, .. }
            | Cause::NewlyIsolated { removed, .. }
            | Cause::DeniedBy { removed, .. }
            | Cause::PassedDown { removed, .. } => Some(removed),
            _ => None,
        }
    }

    /// The removed base line the cause is cited at, if [`Removed`] is set.
    pub fn removed(&self) -> Option<&Span> {
        match self {
            Cause::RuleAllows { removed, .. }
            | Cause::RuleNoLongerAllows { removed, .. }
            | Cause::NoLongerIsolated { removed, .. }
            | Cause::NewlyIsolated { removed, .. }
            | Cause::DeniedBy { removed, .. }
            | Cause::PassedDown { removed, .. } => removed.as_ref(),
            _ => None,
        }
    }

    /// A coarser key for very large diffs: isolation changes without the
    /// policies involved.
    pub fn coarse_key(&self) -> Cause {
        match self.group_key() {
            Cause::NoLongerIsolated { direction, .. } => Cause::NoLongerIsolated {
                workload: String::new(),
                direction,
                policies: Vec::new(),
                removed: None,
            },
            Cause::NewlyIsolated { direction, .. } => Cause::NewlyIsolated {
                workload: String::new(),
                direction,
                policies: Vec::new(),
                removed: None,
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
                removed,
                ..
            } => Cause::NoLongerIsolated {
                workload: String::new(),
                direction: *direction,
                policies: policies.iter().take(1).cloned().collect(),
                removed: removed.clone(),
            },
            Cause::NewlyIsolated {
                direction,
                policies,
                removed,
                ..
            } => Cause::NewlyIsolated {
                workload: String::new(),
                direction: *direction,
                policies: policies.iter().take(1).cloned().collect(),
                removed: removed.clone(),
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
    /// Calico selectors see it (CA-21, CA-23).
    service_account: Option<&'a str>,
}

impl PartialEq for Profile<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.ns_labels == o.ns_labels
            && self.labels == o.labels
            && self.ports == o.ports
            && self.host_network == o.host_network
            && self.service_account == o.service_account
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
        service_account: wl.service_account.as_deref(),
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
        && eq(&sa.deny, &sb.deny)
        && eq(&sa.baseline, &sb.baseline)
        && (!sa.is_isolated() || eq(&sa.network_policy, &sb.network_policy))
        && sa.calico.len() == sb.calico.len()
        && sa
            .calico
            .iter()
            .zip(&sb.calico)
            .all(|(x, y)| x.pass == y.pass && eq(&x.rules, &y.rules))
}

/// Compares two analysed revisions that share one atom table.
pub fn compare(base: &Analyzed, head: &Analyzed) -> ReachDiff {
    let (ba, ha) = (&base.analysis, &head.analysis);
    let endpoints = merge_endpoints(ba, ha);
    let changed = Changed::find(ba, ha, &endpoints);
    let (mut opened, mut closed, evaluated) = changed_rows(ba, ha, &endpoints, &changed);
    let mut explainer = Explainer {
        base: ba,
        head: ha,
        endpoints: &endpoints,
        identity_changed: &changed.identity,
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
        changed_egress: changed.egress.len(),
        changed_ingress: changed.ingress.len(),
        changed_endpoints: changed.identity.len(),
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

/// The endpoints of both revisions merged by id: workloads of either,
/// then the common atoms, sorted by id.
fn merge_endpoints(ba: &Analysis, ha: &Analysis) -> Vec<UnionEndpoint> {
    let mut endpoints: Vec<UnionEndpoint> = Vec::new();
    let (mut i, mut j) = (0, 0);
    let bid: Vec<String> = ba.workloads.iter().map(Workload::id).collect();
    let hid: Vec<String> = ha.workloads.iter().map(Workload::id).collect();
    while i < bid.len() || j < hid.len() {
        let ord = match (bid.get(i), hid.get(j)) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (base, head) = match ord {
            std::cmp::Ordering::Less => (Some(i), None),
            std::cmp::Ordering::Greater => (None, Some(j)),
            std::cmp::Ordering::Equal => (Some(i), Some(j)),
        };
        endpoints.push(UnionEndpoint {
            id: base.map_or_else(|| hid[j].clone(), |i| bid[i].clone()),
            base: base.map(Endpoint::Workload),
            head: head.map(Endpoint::Workload),
        });
        i += usize::from(base.is_some());
        j += usize::from(head.is_some());
    }
    for (k, atom) in ba.atoms.atoms().iter().enumerate() {
        endpoints.push(UnionEndpoint {
            id: atom.id(),
            base: Some(Endpoint::Atom(k)),
            head: Some(Endpoint::Atom(k)),
        });
    }
    endpoints.sort_by(|x, y| x.id.cmp(&y.id));
    endpoints
}

/// Which endpoints changed, and how (positions in the merged endpoints).
struct Changed {
    egress: BTreeSet<usize>,
    ingress: BTreeSet<usize>,
    /// Labels, namespace labels, ports, host network, or existence.
    identity: BTreeSet<usize>,
}

impl Changed {
    fn find(ba: &Analysis, ha: &Analysis, endpoints: &[UnionEndpoint]) -> Changed {
        let mut c = Changed {
            egress: BTreeSet::new(),
            ingress: BTreeSet::new(),
            identity: BTreeSet::new(),
        };
        for (u, e) in endpoints.iter().enumerate() {
            match (e.base, e.head) {
                (Some(Endpoint::Workload(b)), Some(Endpoint::Workload(h))) => {
                    if profile(ba, b) != profile(ha, h) {
                        c.identity.insert(u);
                    }
                    if !same_side(ba, &ba.sides[b][1], ha, &ha.sides[h][1]) {
                        c.egress.insert(u);
                    }
                    if !same_side(ba, &ba.sides[b][0], ha, &ha.sides[h][0]) {
                        c.ingress.insert(u);
                    }
                }
                (Some(Endpoint::Workload(_)), None) | (None, Some(Endpoint::Workload(_))) => {
                    c.identity.insert(u);
                }
                _ => {}
            }
        }
        c
    }

    /// The (src, dst) pairs whose verdict may have changed: rows of
    /// changed sources, columns of changed destinations (less the rows).
    /// Each source's pairs and each destination's are produced on demand,
    /// in parallel: a list of every pair would hold millions of them.
    fn pairs(&self, n: usize) -> ChangedPairs {
        let sources: BTreeSet<usize> = self.egress.union(&self.identity).copied().collect();
        let dests: Vec<usize> = self.ingress.union(&self.identity).copied().collect();
        ChangedPairs {
            rows: sources.iter().copied().collect(),
            sources,
            dests,
            n,
        }
    }
}

/// The pairs of [`Changed::pairs`]: every column of each row in `rows`,
/// then every other row of each column in `dests`.
struct ChangedPairs {
    rows: Vec<usize>,
    sources: BTreeSet<usize>,
    dests: Vec<usize>,
    n: usize,
}

impl ChangedPairs {
    fn len(&self) -> usize {
        self.rows.len() * self.n + self.dests.len() * (self.n - self.sources.len())
    }

    /// `f` of every pair, in parallel; the pairs it keeps.
    fn filter_map<T: Send>(&self, f: impl Fn(usize, usize) -> Option<T> + Sync) -> Vec<T> {
        let rows = self
            .rows
            .par_iter()
            .flat_map_iter(|&s| (0..self.n).filter_map(|d| f(s, d)).collect::<Vec<_>>());
        let cols = self.dests.par_iter().flat_map_iter(|&d| {
            (0..self.n)
                .filter(|s| !self.sources.contains(s))
                .filter_map(|s| f(s, d))
                .collect::<Vec<_>>()
        });
        rows.chain(cols).collect()
    }
}

/// The opened and closed rows (causes not yet explained), sorted, and the
/// number of pairs evaluated.
fn changed_rows(
    ba: &Analysis,
    ha: &Analysis,
    endpoints: &[UnionEndpoint],
    changed: &Changed,
) -> (Vec<DiffRow>, Vec<DiffRow>, usize) {
    let reach = |a: &Analysis, s: Option<Endpoint>, d: Option<Endpoint>| -> ConnSet {
        match (s, d) {
            (Some(s), Some(d)) => a.reach(s, d),
            _ => ConnSet::empty(),
        }
    };
    let pairs = changed.pairs(endpoints.len());
    let changes: Vec<(usize, usize, ConnSet, ConnSet)> = pairs.filter_map(|s, d| {
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
    });
    let row = |src, dst, conn| DiffRow {
        src,
        dst,
        conn,
        causes: Arc::from(Vec::new()),
    };
    let mut opened = Vec::new();
    let mut closed = Vec::new();
    for (s, d, o, c) in changes {
        if !o.is_empty() {
            opened.push(row(s, d, o));
        }
        if !c.is_empty() {
            closed.push(row(s, d, c));
        }
    }
    let order = |r: &DiffRow| (r.src, r.dst);
    opened.sort_by_key(order);
    closed.sort_by_key(order);
    (opened, closed, pairs.len())
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
        side.rules_in_order()
            .map(|r| {
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
        if let Some(ids) = self.existence(row, opened) {
            return ids;
        }
        // Both endpoints exist on both sides: look at each side.
        let mut ids = Vec::new();
        let sides = [
            (Direction::Egress, row.src, row.dst),
            (Direction::Ingress, row.dst, row.src),
        ];
        for (dir, owner, peer) in sides {
            if let Some(side) = self.explain_side(row, opened, dir, (owner, peer)) {
                ids.extend(side.iter().copied());
            }
        }
        self.shared(ids)
    }

    /// (now, before): where the row's traffic is allowed, and where not.
    fn revisions(&self, opened: bool) -> (&Analysis, &Analysis) {
        if opened {
            (self.head, self.base)
        } else {
            (self.base, self.head)
        }
    }

    /// An endpoint in the revision where the traffic is allowed (`now`)
    /// or in the other.
    fn pick(e: &UnionEndpoint, opened: bool, now: bool) -> Option<Endpoint> {
        if opened == now { e.head } else { e.base }
    }

    /// A row with a new (or removed) workload is explained by that alone.
    fn existence(&mut self, row: &DiffRow, opened: bool) -> Option<Arc<[u32]>> {
        let (now, _) = self.revisions(opened);
        let mut existence = BTreeSet::new();
        for e in [&self.endpoints[row.src], &self.endpoints[row.dst]] {
            if let (Some(Endpoint::Workload(w)), None) =
                (Self::pick(e, opened, true), Self::pick(e, opened, false))
            {
                let span = now.workloads[w].span.clone();
                let id = e.id.clone();
                existence.insert(if opened {
                    Cause::NewWorkload { id, span }
                } else {
                    Cause::RemovedWorkload { id, span }
                });
            }
        }
        if existence.is_empty() {
            return None;
        }
        let ids = self.intern(existence);
        Some(self.shared(ids))
    }

    /// The causes of one side (`dir` of `owner`, towards `peer`) of a row,
    /// shared by every row of the same shape; none when this side did not
    /// change the row.
    fn explain_side(
        &mut self,
        row: &DiffRow,
        opened: bool,
        dir: Direction,
        (owner_u, peer_u): (usize, usize),
    ) -> Option<Arc<[u32]>> {
        let (now, before) = self.revisions(opened);
        let (owner, peer) = (&self.endpoints[owner_u], &self.endpoints[peer_u]);
        let (Some(Endpoint::Workload(wn)), Some(Endpoint::Workload(wb))) = (
            Self::pick(owner, opened, true),
            Self::pick(owner, opened, false),
        ) else {
            return None;
        };
        let (pn, pb) = (
            Self::pick(peer, opened, true)?,
            Self::pick(peer, opened, false)?,
        );
        let changed = row.conn.difference(&before.side(dir, wb, pb));
        if changed.is_empty() {
            return None;
        }
        let (side_now, side_before) = (
            &now.sides[wn][dir as usize],
            &before.sides[wb][dir as usize],
        );
        let resolves_named_ports = dir == Direction::Egress
            && matches!(pn, Endpoint::Workload(_))
            && chain(side_now).any(|r| now.rules[r].ports.needs_target());
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
            return Some(found.clone());
        }
        let (tn, tb) = (now.trace_side(dir, wn, pn), before.trace_side(dir, wb, pb));
        let case = SideCase {
            opened,
            dir,
            owner,
            peer,
            now: Seen::new(now, dir, wn, pn, &tn),
            before: Seen::new(before, dir, wb, pb, &tb),
            changed: &key.changed,
            base: self.base,
            head: self.head,
        };
        let causes = case.causes();
        let side_ids: Arc<[u32]> = Arc::from(self.intern(causes));
        self.side_memo.insert(key, side_ids.clone());
        Some(side_ids)
    }
}

/// The rules of a side in evaluation order: admin tiers, NetworkPolicy,
/// baseline.
fn chain(s: &Side) -> impl Iterator<Item = usize> + '_ {
    s.rules_in_order()
}

/// A side of a row in one revision: the owner, the peer, the owner's side
/// and its trace for that peer.
struct Seen<'a> {
    a: &'a Analysis,
    owner: usize,
    peer: Endpoint,
    trace: &'a SideTrace,
    side: &'a Side,
    chain: Vec<usize>,
}

impl<'a> Seen<'a> {
    fn new(
        a: &'a Analysis,
        dir: Direction,
        owner: usize,
        peer: Endpoint,
        trace: &'a SideTrace,
    ) -> Seen<'a> {
        let side = &a.sides[owner][dir as usize];
        Seen {
            a,
            owner,
            peer,
            trace,
            side,
            chain: chain(side).collect(),
        }
    }
}

/// One side of one changed row, in the revision where its traffic is
/// allowed (`now`) and in the other (`before`), and the ports that changed.
struct SideCase<'a> {
    opened: bool,
    dir: Direction,
    owner: &'a UnionEndpoint,
    peer: &'a UnionEndpoint,
    now: Seen<'a>,
    before: Seen<'a>,
    changed: &'a ConnSet,
    base: &'a Analysis,
    head: &'a Analysis,
}

impl SideCase<'_> {
    fn causes(&self) -> BTreeSet<Cause> {
        let mut causes = BTreeSet::new();
        self.isolation(&mut causes);
        self.deciding_rules(&mut causes);
        self.denials(&mut causes);
        self.label_changes(&mut causes);
        self.named_port_changes(&mut causes);
        causes
    }

    fn touches(&self, c: &ConnSet) -> bool {
        !c.intersection(self.changed).is_empty()
    }

    /// The same-content rule of the other revision, if any.
    fn counterpart(&self, r: usize) -> Option<usize> {
        let (now, before) = (self.now.a, self.before.a);
        self.before
            .chain
            .iter()
            .copied()
            .find(|&x| before.rules[x].spec == now.rules[r].spec)
    }

    /// Whether the side's rules are the same in both revisions.
    fn same_chain(&self) -> bool {
        let (n, b) = (&self.now, &self.before);
        n.side.is_isolated() == b.side.is_isolated()
            && n.chain.len() == b.chain.len()
            && n.chain
                .iter()
                .zip(&b.chain)
                .all(|(&x, &y)| n.a.rules[x].spec == b.a.rules[y].spec)
    }

    /// The head's span of a workload known as `w_now` and `w_before`.
    fn head_span(&self, w_now: usize, w_before: usize) -> Span {
        let w = if self.opened { w_now } else { w_before };
        self.head.workloads[w].span.clone()
    }

    /// The policies that isolate a workload, the most telling first: a
    /// pure default-deny (no rules in this direction), then policies new
    /// in head, then by name. Links point at their subject selectors.
    fn isolating(&self, a: &Analysis, s: &Side, a_is_base: bool) -> Vec<PolicyRef> {
        let relabelled = self.owner_relabelled();
        let mut v: Vec<(bool, bool, PolicyRef)> = s
            .isolated_by
            .iter()
            .map(|&p| {
                let info = &a.policies[p];
                let in_base = self.base.policies.iter().any(|b| b.name == info.name);
                (
                    info.rules[self.dir as usize] != 0,
                    in_base,
                    PolicyRef {
                        name: info.name.clone(),
                        span: info.selector_span.clone(),
                        on_base: a_is_base,
                        why: if relabelled && in_base {
                            Why::Labels
                        } else {
                            Why::Changed
                        },
                    },
                )
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, _, p)| p).collect()
    }

    /// Isolation flips (the silent default).
    fn isolation(&self, causes: &mut BTreeSet<Cause>) {
        let (now, before) = (&self.now, &self.before);
        if !before.side.is_isolated() || now.side.is_isolated() {
            return;
        }
        if self.opened && self.touches(&now.trace.default_allowed) {
            // Point at the head version of each policy that stopped
            // selecting the workload (its podSelector changed), or at the
            // base version if it was deleted.
            let relabelled = self.owner_relabelled();
            let policies = before
                .side
                .isolated_by
                .iter()
                .map(|&p| {
                    let name = &before.a.policies[p].name;
                    match now.a.policies.iter().find(|x| &x.name == name) {
                        Some(h) => PolicyRef {
                            name: name.clone(),
                            span: h.selector_span.clone(),
                            on_base: false,
                            why: if relabelled {
                                Why::Labels
                            } else {
                                Why::Changed
                            },
                        },
                        None => PolicyRef {
                            name: name.clone(),
                            span: before.a.policies[p].selector_span.clone(),
                            on_base: true,
                            why: Why::Deleted,
                        },
                    }
                })
                .collect();
            causes.insert(Cause::NoLongerIsolated {
                workload: self.owner.id.clone(),
                direction: self.dir,
                policies,
                removed: None,
            });
        }
        if !self.opened {
            // `before` is head here: head isolates, base did not.
            causes.insert(Cause::NewlyIsolated {
                workload: self.owner.id.clone(),
                direction: self.dir,
                policies: self.isolating(before.a, before.side, false),
                removed: None,
            });
        }
    }

    /// Rules that decide the changed ports where the traffic is allowed.
    fn deciding_rules(&self, causes: &mut BTreeSet<Cause>) {
        let now = &self.now;
        for step in &now.trace.steps {
            if !self.touches(&step.decided) {
                continue;
            }
            let rule = &now.a.rules[step.rule];
            match step.action {
                Action::Allow => {
                    let novelty = self.novelty(step.rule);
                    let peer = rule
                        .peer_sets
                        .iter()
                        .position(|(set, _)| match now.peer {
                            Endpoint::Workload(w) => set.workloads.contains(w),
                            Endpoint::Atom(a) => set.atoms.contains(a),
                        })
                        .map(|i| (i, rule.peer_sets[i].1.clone()));
                    let selector = self.changed_selector(novelty, &rule.origin.policy);
                    let rule = rule.origin.clone();
                    causes.insert(if self.opened {
                        Cause::RuleAllows {
                            rule,
                            peer,
                            novelty,
                            selector,
                            removed: None,
                        }
                    } else {
                        Cause::RuleNoLongerAllows {
                            rule,
                            peer,
                            novelty,
                            selector,
                            removed: None,
                        }
                    });
                }
                Action::Pass if self.opened => {
                    causes.insert(Cause::PassedDown {
                        rule: rule.origin.clone(),
                        removed: None,
                    });
                }
                _ => {}
            }
        }
    }

    /// Whether an allowing rule is new, was there before, or went away.
    fn novelty(&self, r: usize) -> Novelty {
        let rule = &self.now.a.rules[r];
        // The same rule in the same policy of the other revision, whatever
        // it selects there.
        let kept = || {
            self.before.a.rules.iter().any(|x| {
                x.origin.policy == rule.origin.policy
                    && x.origin.direction == rule.origin.direction
                    && x.spec == rule.spec
            })
        };
        if self.counterpart(r).is_some() {
            Novelty::Unchanged
        } else if kept() {
            Novelty::Selection
        } else if self.opened {
            Novelty::New
        } else if !self
            .head
            .policies
            .iter()
            .any(|p| p.name == rule.origin.policy)
        {
            Novelty::PolicyDeleted
        } else {
            Novelty::Gone
        }
    }

    /// Whether the owner's labels or its namespace's labels differ.
    fn owner_relabelled(&self) -> bool {
        let (po, pob) = (
            profile(self.now.a, self.now.owner),
            profile(self.before.a, self.before.owner),
        );
        po.labels != pob.labels || po.ns_labels != pob.ns_labels
    }

    /// For a rule that applies on one side only because its policy selects
    /// the owner there: the head's subject selector of the policy, unless
    /// the owner's labels changed (then the label change is the cause).
    fn changed_selector(&self, novelty: Novelty, policy: &str) -> Option<Span> {
        if novelty != Novelty::Selection || self.owner_relabelled() {
            return None;
        }
        self.head
            .policies
            .iter()
            .find(|p| p.name == policy)
            .map(|p| p.selector_span.clone())
    }

    /// A label change of workload `e` (known as `w_now` and `w_before`),
    /// with the labels that differ, cited at the first changed label's
    /// line (the head's; the base's for a label the change removed).
    fn label_change(&self, e: &UnionEndpoint, w_now: usize, w_before: usize) -> Cause {
        let (wh, wb) = if self.opened {
            (w_now, w_before)
        } else {
            (w_before, w_now)
        };
        let (h, b) = (&self.head.workloads[wh], &self.base.workloads[wb]);
        let mut changes = Vec::new();
        let keys: BTreeSet<&String> = h.labels.keys().chain(b.labels.keys()).collect();
        for k in keys {
            let (hv, bv) = (h.labels.get(k), b.labels.get(k));
            if hv != bv {
                changes.push(LabelDelta {
                    key: k.clone(),
                    base: bv.cloned(),
                    head: hv.cloned(),
                });
            }
        }
        let at = |w: &Workload, key: &str| {
            w.label_spans
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, s)| s.clone())
        };
        let (span, on_base) = changes
            .iter()
            .find_map(|d| at(h, &d.key).map(|s| (s, false)))
            .or_else(|| {
                changes
                    .iter()
                    .find_map(|d| at(b, &d.key).map(|s| (s, true)))
            })
            .unwrap_or_else(|| {
                // Namespace labels: the Namespace object, when declared.
                let ns = self
                    .head
                    .namespaces
                    .iter()
                    .find(|n| n.name == h.namespace)
                    .and_then(|n| n.span.clone());
                (ns.unwrap_or_else(|| h.span.clone()), false)
            });
        Cause::LabelChange {
            workload: e.id.clone(),
            span,
            on_base,
            what: if changes.is_empty() {
                "namespace labels".into()
            } else {
                "labels".into()
            },
            changes,
        }
    }

    /// Admin Deny where the traffic is not allowed.
    fn denials(&self, causes: &mut BTreeSet<Cause>) {
        let before = &self.before;
        for step in &before.trace.steps {
            if step.action == Action::Deny && self.touches(&step.decided) {
                let r = &before.a.rules[step.rule];
                let mut rule = r.origin.clone();
                // A Cilium deny names the peer that matched
                // (`ingressDeny[0].fromEndpoints[1]`) and its line.
                if let Some((path, key)) = &mut rule.path {
                    let peer = before.peer;
                    let hit = r.peer_sets.iter().position(|(set, _)| match peer {
                        Endpoint::Workload(w) => set.workloads.contains(w),
                        Endpoint::Atom(x) => set.atoms.contains(x),
                    });
                    if let Some(k) = hit {
                        *path = format!("{path}.{key}[{k}]");
                        rule.span = r.peer_sets[k].1.clone();
                    }
                }
                causes.insert(if self.opened {
                    Cause::NoLongerDenied { rule }
                } else {
                    Cause::DeniedBy {
                        rule,
                        removed: None,
                    }
                });
            }
        }
    }

    /// Changes of the endpoints' labels, only where they matter here.
    fn label_changes(&self, causes: &mut BTreeSet<Cause>) {
        let (now, before) = (&self.now, &self.before);
        if self.owner_relabelled() && !self.same_chain() {
            causes.insert(self.label_change(self.owner, now.owner, before.owner));
        }
        if let (Endpoint::Workload(xn), Endpoint::Workload(xb)) = (now.peer, before.peer) {
            let (pp, ppb) = (profile(now.a, xn), profile(before.a, xb));
            if pp.labels != ppb.labels || pp.ns_labels != ppb.ns_labels {
                let membership_changed = now.chain.iter().any(|&r| {
                    self.counterpart(r).is_some_and(|r2| {
                        Analysis::peer_matches(&now.a.rules[r], now.peer)
                            != Analysis::peer_matches(&before.a.rules[r2], before.peer)
                    })
                });
                if membership_changed {
                    causes.insert(self.label_change(self.peer, xn, xb));
                }
            }
        }
    }

    /// Named ports resolve on the destination: the owner for ingress, the
    /// peer for egress (NP-18).
    fn named_port_changes(&self, causes: &mut BTreeSet<Cause>) {
        let (now, before) = (&self.now, &self.before);
        let targets = match (self.dir, now.peer, before.peer) {
            (Direction::Ingress, _, _) => Some((now.owner, before.owner, self.owner)),
            (Direction::Egress, Endpoint::Workload(xn), Endpoint::Workload(xb)) => {
                Some((xn, xb, self.peer))
            }
            _ => None,
        };
        let Some((tnow, tbefore, target)) = targets else {
            return;
        };
        if now.a.workloads[tnow].ports == before.a.workloads[tbefore].ports {
            return;
        }
        let mut names = BTreeSet::new();
        for &r in &now.chain {
            if let Some(r2) = self.counterpart(r) {
                let (a, b) = (&now.a.rules[r], &before.a.rules[r2]);
                if a.ports.has_named()
                    && now.a.rule_ports(a, Some(tnow)) != before.a.rule_ports(b, Some(tbefore))
                {
                    names.extend(a.ports.named.iter().map(|(_, n)| n.clone()));
                }
            }
        }
        if !names.is_empty() {
            causes.insert(Cause::NamedPortChange {
                workload: target.id.clone(),
                names: names.into_iter().collect(),
                span: self.head_span(tnow, tbefore),
            });
        }
    }
}
