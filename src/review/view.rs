//! What a reviewer reads, independent of format: thousands of rows folded
//! into a few true sentences. Rows with the same ports and causes are
//! grouped into (sources × destinations) blocks, and each endpoint set is
//! described as widely as is still exact ("any pod in namespace `shop`").
//! The exact rows stay available to every renderer.

use crate::comparison::Comparison;
use crate::diff::{Cause, DiffRow, UnionEndpoint};
use crate::manifest::TargetPort;
use crate::model::{ConnSet, Family, IpRange, range_to_cidrs};
use crate::reach::{Analysis, Endpoint};
use std::collections::{BTreeMap, BTreeSet};

pub use super::phrase::{Part, Phrase};

/// A block of changed rows: every source in `from` to every destination in
/// `to`, on `conn`, for the same causes.
#[derive(Clone, Debug)]
pub struct Group {
    pub from: Vec<usize>,
    pub to: Vec<usize>,
    pub conn: ConnSet,
    pub causes: Vec<Cause>,
    pub rows: usize,
    pub from_text: Phrase,
    pub to_text: Phrase,
    /// The destination without the Services in front of it (graph nodes).
    pub to_node: Phrase,
    /// Destinations include public external addresses (egress to the internet).
    pub to_internet: bool,
    /// Destinations include a Cilium FQDN, the API server or a node (CI-33).
    pub to_sensitive: bool,
    /// Sources include external addresses / every workload of the cluster.
    pub from_external: bool,
    pub from_internet: bool,
    pub from_whole_cluster: bool,
    /// For a Closed group: what denies its pairs in the head (the answer
    /// of `reach --from --to`, issue 17 item 7).
    pub now_denied: Option<super::why_not::NowDenied>,
}

impl Group {
    pub fn is_exposure(&self) -> bool {
        self.from_external || self.from_whole_cluster || self.to_internet || self.to_sensitive
    }
}

#[derive(Debug)]
pub struct DiffView {
    pub exposures: Vec<Group>,
    pub opened: Vec<Group>,
    pub closed: Vec<Group>,
    pub opened_rows: usize,
    pub closed_rows: usize,
    /// Policies added, removed or changed in meaning ([`super::policies`]).
    pub policies_changed: usize,
}

impl DiffView {
    /// "3 policies changed, no path changed": policies changed and no row
    /// did, often a policy that does not apply where its author thinks.
    pub fn policies_without_effect(&self) -> Option<String> {
        (self.opened_rows == 0 && self.closed_rows == 0 && self.policies_changed > 0).then(|| {
            format!(
                "{} changed, no path changed",
                crate::words::plural(self.policies_changed, "policy", "policies")
            )
        })
    }
}

/// Builds the reader's view of a comparison.
/// Above this many groups a table is no longer read; rows are then grouped
/// by coarser causes (isolation changes without the policy names, which
/// stay in the JSON report).
const FINE_GROUPS: usize = 200;

pub fn build(cmp: &Comparison) -> DiffView {
    let side = |rows: &[DiffRow], a: &Analysis, head: bool| {
        let fine = groups(cmp, rows, a, head, false);
        if fine.len() > FINE_GROUPS {
            groups(cmp, rows, a, head, true)
        } else {
            fine
        }
    };
    let opened = side(&cmp.diff.opened, &cmp.head.analysis, true);
    let mut closed = side(&cmp.diff.closed, &cmp.base.analysis, false);
    let mut budget = super::why_not::BUDGET;
    for g in &mut closed {
        let (a, eps) = (&cmp.head.analysis, &cmp.diff.endpoints);
        g.now_denied = super::why_not::now_denied(a, eps, (&g.from, &g.to), &mut budget)
            .and_then(|nd| super::why_not::beyond(nd, &g.causes));
    }
    let (exposures, opened): (Vec<Group>, Vec<Group>) =
        opened.into_iter().partition(Group::is_exposure);
    DiffView {
        exposures,
        opened,
        closed,
        opened_rows: cmp.diff.opened.len(),
        closed_rows: cmp.diff.closed.len(),
        policies_changed: super::policies::changed(cmp),
    }
}

fn side_endpoint(e: &UnionEndpoint, head: bool) -> Option<Endpoint> {
    if head { e.head } else { e.base }
}

fn groups(
    cmp: &Comparison,
    rows: &[DiffRow],
    a: &Analysis,
    head: bool,
    coarse: bool,
) -> Vec<Group> {
    let seen = Seen {
        a,
        eps: &cmp.diff.endpoints,
        census: Census::new(a, &cmp.external_peers),
        head,
    };
    let mut out = Vec::new();
    for ((conn, causes), pairs) in buckets(cmp, rows, coarse) {
        // Biclusters two ways; keep the one with fewer blocks.
        let by_dst = bicluster(&pairs, false);
        let by_src = bicluster(&pairs, true);
        let blocks = if by_src.len() < by_dst.len() {
            by_src
        } else {
            by_dst
        };
        for (from, to) in blocks {
            out.push(seen.group(&conn, &causes, from, to));
        }
    }
    out.sort_by(|x, y| {
        y.rows
            .cmp(&x.rows)
            .then_with(|| x.to_text.plain().cmp(&y.to_text.plain()))
    });
    out
}

/// Rows of the same ports and causes, with their (src, dst) pairs.
type Block = ((ConnSet, Vec<Cause>), Vec<(usize, usize)>);

/// Buckets rows by (ports, causes as they group rows), in order.
fn buckets(cmp: &Comparison, rows: &[DiffRow], coarse: bool) -> Vec<Block> {
    // Causes as they group rows (isolation causes without the workload),
    // interned so a million rows cost a million small keys, not clones.
    let mut key_of_cause: Vec<u32> = Vec::with_capacity(cmp.diff.causes.len());
    let mut keys: Vec<Cause> = Vec::new();
    let mut key_index: std::collections::HashMap<Cause, u32> = Default::default();
    for c in &cmp.diff.causes {
        let k = if coarse {
            c.coarse_key()
        } else {
            c.group_key()
        };
        let id = *key_index.entry(k.clone()).or_insert_with(|| {
            keys.push(k);
            (keys.len() - 1) as u32
        });
        key_of_cause.push(id);
    }
    type Bucket = (ConnSet, Vec<u32>);
    let mut buckets: BTreeMap<Bucket, Vec<(usize, usize)>> = BTreeMap::new();
    let mut memo: std::collections::HashMap<*const [u32], Vec<u32>> = Default::default();
    for r in rows {
        let ids = memo
            .entry(std::sync::Arc::as_ptr(&r.causes))
            .or_insert_with(|| {
                let mut v: Vec<u32> = r.causes.iter().map(|&c| key_of_cause[c as usize]).collect();
                v.sort_unstable();
                v.dedup();
                v
            })
            .clone();
        buckets
            .entry((r.conn.clone(), ids))
            .or_default()
            .push((r.src, r.dst));
    }
    let mut blocks: Vec<Block> = buckets
        .into_iter()
        .map(|((conn, ids), pairs)| {
            let mut causes: Vec<Cause> = ids.iter().map(|&i| keys[i as usize].clone()).collect();
            causes.sort();
            ((conn, causes), pairs)
        })
        .collect();
    blocks.sort_by(|x, y| x.0.cmp(&y.0));
    blocks
}

/// One revision's side of the groups: its analysis and how it names
/// endpoints.
struct Seen<'a> {
    a: &'a Analysis,
    eps: &'a [UnionEndpoint],
    census: Census<'a>,
    head: bool,
}

impl Seen<'_> {
    fn group(&self, conn: &ConnSet, causes: &[Cause], from: Vec<usize>, to: Vec<usize>) -> Group {
        let (a, eps, head) = (self.a, self.eps, self.head);
        // A Cilium entity (the node, the API server) is in the cluster: a
        // path from it alone is no external exposure (CI-33).
        let has_atom = from.iter().any(|&u| {
            matches!(side_endpoint(&eps[u], head),
                Some(Endpoint::Atom(k)) if !matches!(a.atoms.atoms()[k].pseudo, Some(crate::model::Pseudo::Entity(_))))
        });
        let public = |set: &[usize]| {
            set.iter().any(|&u| match side_endpoint(&eps[u], head) {
                Some(Endpoint::Atom(k)) => a.atoms.atoms()[k].ranges.iter().any(is_public),
                _ => false,
            })
        };
        // CI-33: a new path to an FQDN, the API server or a node.
        let sensitive = to.iter().any(|&u| match side_endpoint(&eps[u], head) {
            Some(Endpoint::Atom(k)) => a.atoms.atoms()[k]
                .pseudo
                .as_ref()
                .is_some_and(crate::words::pseudo_is_sensitive),
            _ => false,
        });
        let workloads_in_from = from.iter().filter(|&&u| eps[u].is_workload()).count();
        // A path from any namespace the repository does not name (a
        // representative of an unknown namespace, OW-1) is as exposed as
        // one from every workload.
        let any_namespace = from.iter().any(|&u| match side_endpoint(&eps[u], head) {
            Some(Endpoint::Workload(w)) => a.workloads[w]
                .representative
                .as_ref()
                .is_some_and(|r| r.is_any_other_namespace()),
            _ => false,
        });
        let whole_cluster =
            any_namespace || a.workloads.len() > 1 && workloads_in_from == a.workloads.len();
        Group {
            from_text: describe(&from, eps, &self.census, head),
            to_text: describe_destination(&to, eps, &self.census, head, conn),
            to_node: describe(&to, eps, &self.census, head),
            to_internet: head && public(&to),
            to_sensitive: head && sensitive,
            rows: from.len() * to.len(),
            from_external: has_atom,
            from_internet: public(&from),
            from_whole_cluster: whole_cluster,
            now_denied: None,
            from,
            to,
            conn: conn.clone(),
            causes: causes.to_vec(),
        }
    }
}

/// Groups pairs into blocks (sources × destinations) that cover them exactly.
fn bicluster(pairs: &[(usize, usize)], by_src: bool) -> Vec<(Vec<usize>, Vec<usize>)> {
    let mut sorted: Vec<(usize, usize)> = pairs
        .iter()
        .map(|&(s, d)| if by_src { (s, d) } else { (d, s) })
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    // key -> its set of values, then keys grouped by identical sets.
    let mut by_set: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
    for chunk in sorted.chunk_by(|a, b| a.0 == b.0) {
        let set: Vec<usize> = chunk.iter().map(|&(_, v)| v).collect();
        by_set.entry(set).or_default().push(chunk[0].0);
    }
    by_set
        .into_iter()
        .map(|(set, keys)| if by_src { (keys, set) } else { (set, keys) })
        .collect()
}

fn is_public(r: &IpRange) -> bool {
    if r.family == Family::V6 {
        return true;
    }
    // Any address of the range outside the private, shared and loopback blocks.
    let private: [(u128, u128); 5] = [
        (0x0A00_0000, 0x0AFF_FFFF),
        (0xAC10_0000, 0xAC1F_FFFF),
        (0xC0A8_0000, 0xC0A8_FFFF),
        (0x6440_0000, 0x647F_FFFF),
        (0x7F00_0000, 0x7FFF_FFFF),
    ];
    let mut cur = r.first;
    for (lo, hi) in private {
        if cur > r.last {
            return false;
        }
        if cur < lo {
            return true;
        }
        if cur <= hi {
            cur = hi + 1;
        }
    }
    cur <= r.last
}

pub use super::pods::describe_representative;
use super::pods::{LIST_CAP, Pods};

/// Per-revision facts that every description needs, computed once.
pub struct Census<'a> {
    a: &'a Analysis,
    /// Known external blocks by name, as merged ranges.
    named: Vec<(String, Vec<crate::model::IpRange>)>,
    pods: Pods<'a>,
}

impl<'a> Census<'a> {
    pub fn new(a: &'a Analysis, external_peers: &[(String, Vec<crate::model::Cidr>)]) -> Self {
        let named = external_peers
            .iter()
            .map(|(name, cidrs)| {
                let mut r: Vec<IpRange> = cidrs.iter().map(|c| c.range()).collect();
                r.sort();
                (name.clone(), merge_ranges(r))
            })
            .collect();
        Census {
            a,
            named,
            pods: Pods::new(&a.workloads, &a.namespaces),
        }
    }
}

fn list_phrase(items: &[String], noun_more: &str) -> Phrase {
    super::pods::list(items.iter().cloned(), items.len(), noun_more)
}

/// The widest exact description of a set of endpoints of one revision.
pub fn describe(set: &[usize], eps: &[UnionEndpoint], census: &Census<'_>, head: bool) -> Phrase {
    let mut workloads = Vec::new();
    let mut atoms = Vec::new();
    let mut pseudo = Vec::new();
    for &u in set {
        match side_endpoint(&eps[u], head) {
            Some(Endpoint::Workload(w)) => workloads.push(w),
            Some(Endpoint::Atom(k)) => match &census.a.atoms.atoms()[k].pseudo {
                Some(p) => pseudo.push(p),
                None => atoms.push(k),
            },
            None => {}
        }
    }
    let mut parts: Vec<Phrase> = Vec::new();
    if !workloads.is_empty() {
        parts.extend(census.pods.describe(&workloads));
    }
    if !atoms.is_empty() {
        parts.push(describe_atoms(&atoms, census));
    }
    for p in pseudo.iter().take(LIST_CAP) {
        parts.push(Phrase::default().strong(crate::words::pseudo_text(p)));
    }
    if pseudo.len() > LIST_CAP {
        parts.push(Phrase::default().text(format!(
            "{} more Cilium entities and names",
            pseudo.len() - LIST_CAP
        )));
    }
    let mut p = Phrase::default();
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            p = p.text("; ");
        }
        p = p.append(part);
    }
    p
}

fn merge_ranges(ranges: Vec<IpRange>) -> Vec<IpRange> {
    let mut merged: Vec<IpRange> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(l) if l.family == r.family && r.first <= l.last.saturating_add(1) => {
                l.last = l.last.max(r.last)
            }
            _ => merged.push(r),
        }
    }
    merged
}

fn describe_atoms(atoms: &[usize], census: &Census<'_>) -> Phrase {
    let a = census.a;
    // A set that is exactly a known external peer is called by its name.
    if !census.named.is_empty() {
        let mut ranges: Vec<IpRange> = atoms
            .iter()
            .flat_map(|&k| a.atoms.atoms()[k].ranges.clone())
            .collect();
        ranges.sort();
        let set = merge_ranges(ranges);
        if let Some((name, _)) = census.named.iter().find(|(_, r)| *r == set) {
            return Phrase::default().strong(name.clone());
        }
    }
    if atoms.len() == a.atoms.addresses().len() {
        let fams = a.atoms.atoms().iter().any(|x| x.family() == Family::V6);
        return Phrase::default().strong(if fams {
            "any external address (IPv4 and IPv6)".to_string()
        } else {
            "any external address".to_string()
        });
    }
    let mut ranges: Vec<IpRange> = atoms
        .iter()
        .flat_map(|&k| a.atoms.atoms()[k].ranges.clone())
        .collect();
    ranges.sort();
    let mut merged: Vec<IpRange> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(l) if l.family == r.family && l.last.checked_add(1) == Some(r.first) => {
                l.last = r.last
            }
            _ => merged.push(r),
        }
    }
    let mut out = Phrase::default();
    for (i, fam) in [Family::V4, Family::V6].into_iter().enumerate() {
        let fam_ranges: Vec<&IpRange> = merged.iter().filter(|r| r.family == fam).collect();
        if fam_ranges.is_empty() {
            continue;
        }
        if i > 0 && !out.0.is_empty() {
            out = out.text("; ");
        }
        let cidrs: Vec<String> = fam_ranges
            .iter()
            .flat_map(|r| range_to_cidrs(fam, r.first, r.last))
            .map(|c| c.to_string())
            .collect();
        // Complement within the family's whole space, when shorter.
        let mut gaps = Vec::new();
        let mut cur: u128 = 0;
        let mut reached_end = false;
        for r in &fam_ranges {
            if r.first > cur {
                gaps.extend(range_to_cidrs(fam, cur, r.first - 1));
            }
            match r.last.checked_add(1) {
                Some(n) if r.last < fam.max() => cur = n,
                _ => reached_end = true,
            }
        }
        if !reached_end {
            gaps.extend(range_to_cidrs(fam, cur, fam.max()));
        }
        let whole = if fam == Family::V4 {
            "0.0.0.0/0"
        } else {
            "::/0"
        };
        if !gaps.is_empty() && gaps.len() < cidrs.len() {
            let names: Vec<String> = gaps.iter().map(ToString::to_string).collect();
            out = out
                .code(whole)
                .text(" except ")
                .append(list_phrase(&names, "blocks"));
        } else {
            out = out.append(list_phrase(&cidrs, "blocks"));
        }
    }
    out
}

/// Destination description, with the Service in front of a single workload.
fn describe_destination(
    set: &[usize],
    eps: &[UnionEndpoint],
    census: &Census<'_>,
    head: bool,
    conn: &ConnSet,
) -> Phrase {
    let a = census.a;
    let mut p = describe(set, eps, census, head);
    if let [u] = set {
        if let Some(Endpoint::Workload(w)) = side_endpoint(&eps[*u], head) {
            let via = services_via(a, w, conn);
            if !via.is_empty() {
                p = p.text(" via ").append(list_phrase(&via, "services"));
            }
        }
    }
    p
}

/// Services selecting workload `w` whose target port lies in `conn`:
/// `svc/cart:80→8080`. Named target ports resolve by name and protocol on
/// the workload's containers (NP-29, E-30).
pub fn services_via(a: &Analysis, w: usize, conn: &ConnSet) -> Vec<String> {
    let wl = &a.workloads[w];
    // (service, port, target) → protocols, so TCP and UDP 53 show once.
    let mut found: BTreeMap<(String, u16, u16), Vec<&'static str>> = BTreeMap::new();
    for svc in &a.services {
        let Some(sel) = &svc.selector else { continue };
        if svc.namespace != wl.namespace
            || sel.is_empty()
            || !sel.iter().all(|(k, v)| wl.labels.get(k) == Some(v))
        {
            continue;
        }
        for sp in &svc.ports {
            let target = match &sp.target {
                TargetPort::Number(n) => Some(*n),
                TargetPort::Name(name) => wl
                    .ports
                    .iter()
                    .find(|cp| {
                        cp.name.as_deref() == Some(name.as_str()) && cp.protocol == sp.protocol
                    })
                    .map(|cp| cp.port),
            };
            if let Some(t) = target {
                if conn.ports(sp.protocol).contains(t) {
                    found
                        .entry((svc.name.clone(), sp.port, t))
                        .or_default()
                        .push(sp.protocol.as_str());
                }
            }
        }
    }
    let only_tcp = found.values().all(|p| p == &["TCP"]);
    found
        .into_iter()
        .map(|((name, port, target), protos)| {
            let mut s = if target == port {
                format!("svc/{name}:{port}")
            } else {
                format!("svc/{name}:{port}→{target}")
            };
            if !only_tcp {
                s.push_str(&format!(" ({})", protos.join("+")));
            }
            s
        })
        .collect()
}

/// Warnings and findings a change introduces and resolves; those on both
/// sides are only counted. Two are the same when code, object and message
/// match (positions move with unrelated edits). Findings come first, by
/// severity, then in their (namespace, code, position) order; then warnings.
pub struct WarningChanges<'a> {
    pub introduced: Vec<&'a crate::diag::Diagnostic>,
    pub resolved: Vec<&'a crate::diag::Diagnostic>,
    /// Warnings on both revisions.
    pub unchanged: usize,
    /// Findings on both revisions.
    pub unchanged_findings: usize,
    /// Findings the change introduces that an acknowledgement of the base
    /// marks as intended (not in `introduced`: they never trip a gate).
    pub acknowledged: Vec<(
        &'a crate::diag::Diagnostic,
        &'a crate::manifest::Acknowledgement,
    )>,
    /// Every acknowledged finding of the head.
    pub acknowledged_total: usize,
}

pub fn warning_changes(cmp: &Comparison) -> WarningChanges<'_> {
    use crate::diag::{Diagnostic, Severity};
    let key = |d: &Diagnostic| (d.code, d.object.clone(), d.message.clone());
    let warnings = |ds: &'_ [Diagnostic]| -> Vec<usize> {
        (0..ds.len())
            .filter(|&i| ds[i].severity == Severity::Warning)
            .collect()
    };
    let (b, h) = (&cmp.base.diagnostics, &cmp.head.diagnostics);
    let base_keys: BTreeSet<_> = warnings(b).into_iter().map(|i| key(&b[i])).collect();
    let head_keys: BTreeSet<_> = warnings(h).into_iter().map(|i| key(&h[i])).collect();
    let introduced: Vec<&Diagnostic> = warnings(h)
        .into_iter()
        .map(|i| &h[i])
        .filter(|d| !base_keys.contains(&key(d)))
        .collect();
    let resolved: Vec<&Diagnostic> = warnings(b)
        .into_iter()
        .map(|i| &b[i])
        .filter(|d| !head_keys.contains(&key(d)))
        .collect();
    let unchanged = head_keys.intersection(&base_keys).count();
    let (bf, hf) = (&cmp.base_findings, &cmp.head_findings);
    // Two rules of one policy may have the same finding: the field tells
    // them apart.
    let fkey = |d: &Diagnostic| (d.code, d.object.clone(), d.field.clone(), d.message.clone());
    let base_found: BTreeSet<_> = bf.iter().map(|f| fkey(&f.diagnostic)).collect();
    let head_found: BTreeSet<_> = hf.iter().map(|f| fkey(&f.diagnostic)).collect();
    let (acked, fresh): (
        Vec<&crate::findings::Finding>,
        Vec<&crate::findings::Finding>,
    ) = hf
        .iter()
        .filter(|f| !base_found.contains(&fkey(&f.diagnostic)))
        .partition(|f| f.acknowledged.is_some());
    let acknowledged = acked
        .into_iter()
        .filter_map(|f| Some((&f.diagnostic, f.acknowledged.as_ref()?)))
        .collect();
    let mut introduced_all: Vec<&Diagnostic> = fresh.into_iter().map(|f| &f.diagnostic).collect();
    // Errors first, then warnings, then infos (stable: position order within).
    introduced_all.sort_by_key(|d| d.severity);
    introduced_all.extend(introduced);
    // A finding whose code, object and field are still there with another
    // message (a namespace's list of open workloads grew) changed: it is
    // listed as introduced, with its new text, not also as resolved.
    let place = |d: &Diagnostic| (d.code, d.object.clone(), d.field.clone());
    let head_places: BTreeSet<_> = hf.iter().map(|f| place(&f.diagnostic)).collect();
    let mut resolved_all: Vec<&Diagnostic> = bf
        .iter()
        .map(|f| &f.diagnostic)
        .filter(|d| !head_found.contains(&fkey(d)) && !head_places.contains(&place(d)))
        .collect();
    resolved_all.extend(resolved);
    WarningChanges {
        introduced: introduced_all,
        resolved: resolved_all,
        unchanged,
        unchanged_findings: head_found.intersection(&base_found).count(),
        acknowledged,
        acknowledged_total: hf.iter().filter(|f| f.acknowledged.is_some()).count(),
    }
}
