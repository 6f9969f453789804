//! Unisolated workloads and namespaces without a default deny, one finding
//! per namespace and direction.

use super::{Finding, list};
use crate::analysis::Analyzed;
use crate::diag::{Code, Diagnostic};
use crate::reach::Direction;
use crate::words::plural;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn find(a: &Analyzed, out: &mut Vec<Finding>) {
    let an = &a.analysis;
    // Namespace -> workloads, in id order (workloads are sorted by id).
    let mut by_ns: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, w) in an.workloads.iter().enumerate() {
        // Findings are about the repository's workloads (OW-8).
        if w.representative.is_some() {
            continue;
        }
        by_ns.entry(w.namespace.as_str()).or_default().push(i);
    }
    let default_deny = default_denies(a);
    for (ns, ws) in &by_ns {
        for dir in [Direction::Ingress, Direction::Egress] {
            let d = dir as usize;
            // Open by default (NP-6) only when no tier decides anything:
            // an admin or baseline rule may deny, so such workloads are
            // left out rather than called open.
            let open: Vec<usize> = ws
                .iter()
                .copied()
                .filter(|&w| {
                    let s = &an.sides[w][d];
                    !s.is_isolated() && s.allows_only()
                })
                .collect();
            if !open.is_empty() {
                let ids: Vec<String> = open.iter().map(|&w| an.workloads[w].id()).collect();
                let one = open.len() == 1;
                let (them, they) = if one { ("it", "it") } else { ("them", "they") };
                let (code, what) = match dir {
                    Direction::Ingress => (
                        Code::UnisolatedIngress,
                        format!(
                            "no NetworkPolicy selects {them} for ingress, so every pod in the cluster and every external address may reach {them} on every port"
                        ),
                    ),
                    Direction::Egress => (
                        Code::UnisolatedEgress,
                        format!(
                            "no NetworkPolicy selects {them} for egress, so {they} may reach every pod and every external address on every port"
                        ),
                    ),
                };
                let msg = format!(
                    "{} ({}): {what}",
                    plural(open.len(), "workload", "workloads"),
                    list(&ids, 5)
                );
                let d = Diagnostic::new(code, msg).at(an.workloads[open[0]].span.clone());
                let f = Finding::new(*ns, d.object(format!("Namespace {ns}")));
                out.push(Finding {
                    workloads: Some(open.len()),
                    ..f
                });
                continue;
            }
            // Every workload is isolated today; is there a policy selecting
            // every pod (a default deny), so that a new workload is too?
            let governed_by_admin = ws.iter().any(|&w| {
                let s = &an.sides[w][d];
                !s.allows_only()
            });
            if governed_by_admin {
                continue;
            }
            if default_deny.contains(&(*ns, d)) {
                continue;
            }
            let span = an
                .namespaces
                .iter()
                .find(|n| n.name == *ns)
                .and_then(|n| n.span.clone())
                .or_else(|| {
                    an.sides[ws[0]][d]
                        .isolated_by
                        .first()
                        .map(|&p| an.policies[p].selector_span.clone())
                });
            let mut diag = Diagnostic::new(
                Code::NoDefaultDeny,
                format!(
                    "no NetworkPolicy in namespace {ns} selects every pod (podSelector: {{}}) for {}; today's workloads are isolated by their own policies, but a new workload there starts open",
                    dir.as_str(),
                ),
            )
            .object(format!("Namespace {ns}"));
            if let Some(span) = span {
                diag = diag.at(span);
            }
            out.push(Finding::new(*ns, diag));
        }
    }
}

/// (namespace, direction) with a policy selecting every pod there that
/// isolates that direction: a default deny. One pass, not one per
/// namespace (thousands of each in a large tree).
fn default_denies(a: &Analyzed) -> BTreeSet<(&str, usize)> {
    let mut out = BTreeSet::new();
    for p in a.inventory.policies.iter() {
        if !p.pod_selector.is_everything() {
            continue;
        }
        for (dir, isolates) in [
            (Direction::Ingress, p.ingress_isolates),
            (Direction::Egress, p.egress_isolates),
        ] {
            if isolates {
                out.insert((p.namespace.as_str(), dir as usize));
            }
        }
    }
    out
}
