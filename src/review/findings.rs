//! Findings and warnings as a reviewer reads them next to the path tables:
//! a finding whose every path is already a row of the Closed table is
//! folded into those rows (the row says it), the rest are grouped per
//! object and code, one line each, never one per peer.

use super::view::{DiffView, WarningChanges, warning_changes};
use crate::comparison::Comparison;
use crate::diag::{Code, Diagnostic};
use crate::diff::Cause;
use crate::manifest::Acknowledgement;
use crate::model::ConnSet;
use crate::reach::{Analysis, Direction, Endpoint, TierRank};
use std::collections::{BTreeMap, HashMap};

/// Findings (or warnings) of one code on one object: one line of the list.
#[derive(Debug)]
pub struct FindingGroup<'a> {
    pub code: Code,
    pub object: Option<String>,
    /// One per field (peer, rule), in position order.
    pub items: Vec<&'a Diagnostic>,
}

impl FindingGroup<'_> {
    pub fn is_error(&self) -> bool {
        self.items.iter().any(|d| d.is_error())
    }
}

/// A finding folded into a table row: the row's paths are the finding's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fold {
    pub code: Code,
    /// The policy (`NetworkPolicy shop/cart-ingress`).
    pub object: String,
    /// Its fields (`spec.ingress[0].from[1]`).
    pub fields: Vec<String>,
}

/// The findings part of a review.
#[derive(Debug)]
pub struct FindingsView<'a> {
    /// Introduced and not already said by a table row, grouped.
    pub introduced: Vec<FindingGroup<'a>>,
    /// Introduced findings folded into the rows of the tables (a row's
    /// cause says them).
    pub folded: usize,
    /// The same findings, for the JSON report.
    pub folded_items: Vec<&'a Diagnostic>,
    /// Per group of `DiffView::closed`, the findings folded into it.
    pub closed_notes: Vec<Vec<Fold>>,
    /// Resolved by the change, grouped.
    pub resolved: Vec<FindingGroup<'a>>,
    /// Isolation the change improves without completing it: (base, head)
    /// of a namespace's finding with fewer workloads open, or none open
    /// but no default deny yet. Said as an improvement, never as a new
    /// warning.
    pub improved: Vec<(&'a Diagnostic, &'a Diagnostic)>,
    /// Warnings and findings on both revisions.
    pub unchanged_warnings: usize,
    pub unchanged_findings: usize,
    /// Introduced findings the base's acknowledgements mark as intended.
    pub acknowledged: Vec<(&'a Diagnostic, &'a Acknowledgement)>,
    /// Every acknowledged finding of the head.
    pub acknowledged_total: usize,
    /// Acknowledgements the change adds, with how many head findings
    /// each would acknowledge: listed, never applied.
    pub proposed: Vec<(&'a Acknowledgement, usize)>,
}

impl FindingsView<'_> {
    /// Introduced findings and warnings, folded ones included.
    pub fn introduced_count(&self) -> usize {
        self.introduced.iter().map(|g| g.items.len()).sum::<usize>() + self.folded
    }
}

/// Groups diagnostics per (code, object), keeping the first one's order.
fn group<'a>(ds: &[&'a Diagnostic]) -> Vec<FindingGroup<'a>> {
    let mut out: Vec<FindingGroup<'a>> = Vec::new();
    let mut at: BTreeMap<(Code, Option<String>), usize> = BTreeMap::new();
    for d in ds {
        let key = (d.code, d.object.clone());
        match at.get(&key) {
            Some(&i) => out[i].items.push(d),
            None => {
                at.insert(key, out.len());
                out.push(FindingGroup {
                    code: d.code,
                    object: d.object.clone(),
                    items: vec![d],
                });
            }
        }
    }
    out
}

/// Pairs of a finding above this many are not checked against the table
/// (the finding is then listed, never folded by guess).
const FOLD_PAIR_CAP: usize = 20_000;

pub fn build<'a>(cmp: &'a Comparison, view: &DiffView) -> FindingsView<'a> {
    let WarningChanges {
        introduced,
        resolved,
        unchanged,
        unchanged_findings,
        acknowledged,
        acknowledged_total,
    } = warning_changes(cmp);
    let proposed = cmp
        .proposed_acknowledgements
        .iter()
        .map(|a| {
            let n = cmp
                .head_findings
                .iter()
                .filter(|f| crate::findings::acknowledges(a, &f.diagnostic))
                .count();
            (a, n)
        })
        .collect();
    let folder = Folder::new(cmp, view);
    let mut closed_notes: Vec<BTreeMap<(Code, String), Vec<String>>> =
        vec![BTreeMap::new(); view.closed.len()];
    let mut listed = Vec::new();
    let mut folded = 0;
    let mut folded_items = Vec::new();
    let mut improved = Vec::new();
    for d in introduced {
        if let Some(b) = improvement(cmp, d) {
            improved.push((b, d));
            continue;
        }
        if folder.said_by_opened_rows(d) {
            folded += 1;
            folded_items.push(d);
            continue;
        }
        match folder.closed_groups(d) {
            Some(groups) => {
                folded += 1;
                folded_items.push(d);
                for g in groups {
                    closed_notes[g]
                        .entry((d.code, d.object.clone().unwrap_or_default()))
                        .or_default()
                        .push(d.field.clone().unwrap_or_default());
                }
            }
            None => listed.push(d),
        }
    }
    let closed_notes = closed_notes
        .into_iter()
        .map(|m| {
            m.into_iter()
                .map(|((code, object), fields)| Fold {
                    code,
                    object,
                    fields,
                })
                .collect()
        })
        .collect();
    FindingsView {
        introduced: group(&listed),
        folded,
        folded_items,
        closed_notes,
        resolved: group(&resolved),
        improved,
        unchanged_warnings: unchanged,
        unchanged_findings,
        acknowledged,
        acknowledged_total,
        proposed,
    }
}

/// How many workloads a finding of `findings` is about, read from the
/// finding itself (found by identity: `d` is one of theirs).
fn open_count(findings: &[crate::findings::Finding], d: &Diagnostic) -> Option<usize> {
    findings
        .iter()
        .find(|f| std::ptr::eq(&f.diagnostic, d))?
        .workloads
}

/// The base finding an introduced isolation finding improves on: the same
/// namespace and direction with more workloads open (`unisolated-*`), or
/// `no-default-deny` where workloads were open before.
fn improvement<'a>(cmp: &'a Comparison, d: &Diagnostic) -> Option<&'a Diagnostic> {
    let base = cmp.base_findings.iter().map(|f| &f.diagnostic);
    let same_place = |b: &&Diagnostic| b.object == d.object && b.object.is_some();
    match d.code {
        Code::UnisolatedIngress | Code::UnisolatedEgress => {
            let now = open_count(&cmp.head_findings, d)?;
            base.filter(same_place).find(|b| {
                b.code == d.code && open_count(&cmp.base_findings, b).is_some_and(|was| was > now)
            })
        }
        Code::NoDefaultDeny => {
            let was = if d.message.contains(" for ingress") {
                Code::UnisolatedIngress
            } else if d.message.contains(" for egress") {
                Code::UnisolatedEgress
            } else {
                return None;
            };
            base.filter(same_place).find(|b| b.code == was)
        }
        _ => None,
    }
}

/// Decides whether a finding's paths are rows of the Closed table.
struct Folder<'a> {
    head: &'a Analysis,
    view: &'a DiffView,
    /// Head workload → position in the diff's endpoints.
    union_of: HashMap<usize, usize>,
    /// Closed rows by (src, dst): their ports and group.
    closed: HashMap<(usize, usize), (&'a ConnSet, usize)>,
}

impl<'a> Folder<'a> {
    fn new(cmp: &'a Comparison, view: &'a DiffView) -> Folder<'a> {
        let d = &cmp.diff;
        let union_of = d
            .endpoints
            .iter()
            .enumerate()
            .filter_map(|(u, e)| match e.head {
                Some(Endpoint::Workload(w)) => Some((w, u)),
                _ => None,
            })
            .collect();
        let mut group_of: HashMap<(usize, usize), usize> = HashMap::new();
        for (i, g) in view.closed.iter().enumerate() {
            for &s in &g.from {
                for &t in &g.to {
                    group_of.entry((s, t)).or_insert(i);
                }
            }
        }
        let closed = d
            .closed
            .iter()
            .filter_map(|r| {
                let g = *group_of.get(&(r.src, r.dst))?;
                Some(((r.src, r.dst), (&r.conn, g)))
            })
            .collect();
        Folder {
            head: &cmp.head.analysis,
            view,
            union_of,
            closed,
        }
    }

    /// Whether an `unisolated-*` finding says only what the Opened and
    /// New exposure rows already say: every workload it names is open
    /// because the change took its isolation away (their rows' cause
    /// "no NetworkPolicy isolates it … any more").
    fn said_by_opened_rows(&self, d: &Diagnostic) -> bool {
        let dir = match d.code {
            Code::UnisolatedIngress => Direction::Ingress,
            Code::UnisolatedEgress => Direction::Egress,
            _ => return false,
        };
        let Some(ns) = d
            .object
            .as_deref()
            .and_then(|o| o.strip_prefix("Namespace "))
        else {
            return false;
        };
        let a = self.head;
        let open: Vec<usize> = (0..a.workloads.len())
            .filter(|&w| {
                let wl = &a.workloads[w];
                let s = &a.sides[w][dir as usize];
                wl.representative.is_none()
                    && wl.namespace == ns
                    && !s.is_isolated()
                    && s.allows_only()
            })
            .collect();
        let groups = || self.view.exposures.iter().chain(&self.view.opened);
        !open.is_empty()
            && open.iter().all(|w| {
                let Some(&u) = self.union_of.get(w) else {
                    return false;
                };
                groups().any(|g| {
                    let owner = match dir {
                        Direction::Ingress => &g.to,
                        Direction::Egress => &g.from,
                    };
                    owner.contains(&u)
                        && g.causes.iter().any(|c| {
                            matches!(c, Cause::NoLongerIsolated { direction, .. } if *direction == dir)
                        })
                })
            })
    }

    /// The Closed groups holding every path of an asymmetric finding
    /// (`ingress-denied-by-egress`, `egress-denied-by-ingress`), or None
    /// when some path is not a closed row (or the finding is another kind).
    fn closed_groups(&self, d: &Diagnostic) -> Option<Vec<usize>> {
        if !matches!(
            d.code,
            Code::IngressDeniedByEgress | Code::EgressDeniedByIngress
        ) {
            return None;
        }
        let (dir, index, peer) = parse_peer_field(d.field.as_deref()?)?;
        let a = self.head;
        let object = d.object.as_deref()?;
        let r = a.rules.iter().position(|r| {
            r.tier == TierRank::NetworkPolicy
                && r.origin.policy == object
                && r.origin.direction == dir
                && r.origin.index == index
        })?;
        let rule = &a.rules[r];
        let (set, _) = rule.peer_sets.get(peer)?;
        let subjects: Vec<usize> = (0..a.workloads.len())
            .filter(|&w| a.sides[w][dir as usize].network_policy.contains(&r))
            .collect();
        if subjects.len().saturating_mul(set.workloads.count()) > FOLD_PAIR_CAP {
            return None;
        }
        let mut groups = Vec::new();
        for x in set.workloads.iter() {
            for &w in &subjects {
                let (src, dst) = match dir {
                    Direction::Egress => (w, x),
                    Direction::Ingress => (x, w),
                };
                // The path the finding counts: what the rule's own side
                // allows towards the peer.
                let own = a
                    .side(dir, w, Endpoint::Workload(x))
                    .intersection(&a.rule_ports(rule, Some(dst)));
                if own.is_empty() {
                    continue;
                }
                let key = (*self.union_of.get(&src)?, *self.union_of.get(&dst)?);
                let (conn, g) = self.closed.get(&key)?;
                if !own.difference(conn).is_empty() {
                    return None;
                }
                groups.push(*g);
            }
        }
        groups.sort_unstable();
        groups.dedup();
        (!groups.is_empty()).then_some(groups)
    }
}

/// Peer fields in words: `spec.ingress[0]` (peers 0, 1) when they share a
/// rule, else the fields listed.
pub fn fields_text(fields: &[String]) -> String {
    let split: Option<Vec<(&str, &str)>> = fields
        .iter()
        .map(|f| {
            let at = f.rfind(".from[").or_else(|| f.rfind(".to["))?;
            let (rule, peer) = f.split_at(at);
            let k = peer.rsplit_once('[')?.1.strip_suffix(']')?;
            Some((rule, k))
        })
        .collect();
    match split {
        Some(s) if !s.is_empty() && s.iter().all(|(r, _)| *r == s[0].0) => {
            let ks: Vec<&str> = s.iter().map(|(_, k)| *k).collect();
            let noun = if ks.len() == 1 { "peer" } else { "peers" };
            format!("{} ({noun} {})", s[0].0, ks.join(", "))
        }
        _ => fields.join(", "),
    }
}

/// `spec.ingress[1].from[0]` → (Ingress, 1, 0).
fn parse_peer_field(f: &str) -> Option<(Direction, usize, usize)> {
    let rest = f.strip_prefix("spec.")?;
    let (dir, rest, key) = if let Some(r) = rest.strip_prefix("ingress[") {
        (Direction::Ingress, r, "].from[")
    } else {
        (Direction::Egress, rest.strip_prefix("egress[")?, "].to[")
    };
    let (i, rest) = rest.split_once(key)?;
    let k = rest.strip_suffix(']')?;
    Some((dir, i.parse().ok()?, k.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_fields_parse() {
        assert_eq!(
            parse_peer_field("spec.ingress[1].from[0]"),
            Some((Direction::Ingress, 1, 0))
        );
        assert_eq!(
            parse_peer_field("spec.egress[0].to[12]"),
            Some((Direction::Egress, 0, 12))
        );
        assert_eq!(parse_peer_field("spec.ingress[1]"), None);
        assert_eq!(parse_peer_field("spec.egress[x].to[0]"), None);
        let f = |v: &[&str]| fields_text(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            f(&["spec.ingress[0].from[0]", "spec.ingress[0].from[1]"]),
            "spec.ingress[0] (peers 0, 1)"
        );
        assert_eq!(
            f(&["spec.ingress[0].from[0]", "spec.ingress[1].from[0]"]),
            "spec.ingress[0].from[0], spec.ingress[1].from[0]"
        );
    }
}
