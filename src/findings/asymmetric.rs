//! Asymmetric paths: a NetworkPolicy peer that names workloads explicitly
//! (a selector peer) but none of whose paths can work, because the other
//! end's policies deny them. Computed exactly with the evaluator, only for
//! the pairs a peer names, stopping at the first pair that works; one
//! finding per (rule, peer), with examples, never one per pair.

use super::{Finding, peer_field};
use crate::analysis::Analyzed;
use crate::diag::{Code, Diagnostic};
use crate::model::{BitSet, ConnSet};
use crate::reach::{Analysis, Direction, Endpoint, PeerSpec, Side, TierRank};
use crate::words::plural;
use rayon::prelude::*;

/// Pairs evaluated per (rule, peer) before giving up on it (no finding):
/// keeps the cost bounded on peers that name thousands of workloads.
const PAIR_BUDGET: usize = 200_000;

fn allows_everything(s: &Side) -> bool {
    !s.is_isolated() && s.allows_only()
}

pub(super) fn find(a: &Analyzed, out: &mut Vec<Finding>) {
    let an = &a.analysis;
    let mut subjects: Vec<Vec<usize>> = vec![Vec::new(); an.rules.len()];
    for (w, sides) in an.sides.iter().enumerate() {
        for side in sides {
            for &r in &side.network_policy {
                subjects[r].push(w);
            }
        }
    }
    let bounds: Vec<[Option<ConnSet>; 2]> = (0..an.workloads.len())
        .into_par_iter()
        .map(|x| {
            [
                bound(an, x, Direction::Ingress),
                bound(an, x, Direction::Egress),
            ]
        })
        .collect();
    let found: Vec<Finding> = (0..an.rules.len())
        .into_par_iter()
        .flat_map_iter(|r| rule_findings(a, r, &subjects[r], &bounds))
        .collect();
    out.extend(found);
}

/// For a side `bound` accepts: what it allows towards any of `peers` (the
/// union of the ports of its rules that match one of them), a superset of
/// what it allows towards each.
fn bound_towards(an: &Analysis, x: usize, dir: Direction, peers: &[usize]) -> ConnSet {
    let mut u = ConnSet::empty();
    for &r in &an.sides[x][dir as usize].network_policy {
        let rule = &an.rules[r];
        if peers.iter().any(|&w| rule.peers.workloads.contains(w)) {
            match dir {
                Direction::Ingress => u.union_with(&an.rule_ports(rule, Some(x))),
                Direction::Egress => u.union_with(&rule.ports.fixed),
            }
        }
    }
    u
}

/// A superset of everything direction `dir` of workload `x` allows towards
/// any peer, when cheap to know exactly that way: an isolated side with
/// NetworkPolicy rules only and (for egress, whose named ports resolve per
/// destination) no named port. Used to prove whole columns dead at once.
fn bound(an: &Analysis, x: usize, dir: Direction) -> Option<ConnSet> {
    let side = &an.sides[x][dir as usize];
    if !side.is_isolated() || !side.allows_only() {
        return None;
    }
    let mut u = ConnSet::empty();
    for &r in &side.network_policy {
        let rule = &an.rules[r];
        match dir {
            Direction::Ingress => u.union_with(&an.rule_ports(rule, Some(x))),
            Direction::Egress if rule.ports.has_named() => return None,
            Direction::Egress => u.union_with(&rule.ports.fixed),
        }
    }
    Some(u)
}

struct Dead {
    pairs: usize,
    examples: Vec<(usize, usize, ConnSet)>,
}

fn rule_findings(
    a: &Analyzed,
    r: usize,
    subjects: &[usize],
    bounds: &[[Option<ConnSet>; 2]],
) -> Vec<Finding> {
    let an = &a.analysis;
    let rule = &an.rules[r];
    let mut out = Vec::new();
    if rule.tier != TierRank::NetworkPolicy || subjects.is_empty() {
        return out;
    }
    let Some(specs) = &rule.spec.peers else {
        return out;
    };
    let dir = rule.direction;
    for (k, (spec, (set, span))) in specs.iter().zip(&rule.peer_sets).enumerate() {
        if !matches!(spec, PeerSpec::Selectors { .. }) || set.workloads.is_empty() {
            continue;
        }
        let Some(dead) = dead_peer(an, r, dir, subjects, &set.workloads, bounds) else {
            continue;
        };
        let examples: Vec<String> = dead
            .examples
            .iter()
            .map(|&(s, d, ref c)| {
                format!("{} → {} ({c})", an.workloads[s].id(), an.workloads[d].id())
            })
            .collect();
        let (code, msg) = match dir {
            Direction::Egress => (
                Code::EgressDeniedByIngress,
                format!(
                    "peer {k} allows egress from the selected workloads, but the ingress policies of every destination it matches deny those connections: {} dead, e.g. {}",
                    plural(dead.pairs, "path", "paths"),
                    examples.join("; ")
                ),
            ),
            Direction::Ingress => (
                Code::IngressDeniedByEgress,
                format!(
                    "peer {k} admits ingress to the selected workloads, but the egress policies of every source it matches deny those connections: {} dead, e.g. {}",
                    plural(dead.pairs, "path", "paths"),
                    examples.join("; ")
                ),
            ),
        };
        let ns = an.workloads[subjects[0]].namespace.clone();
        out.push(Finding::new(
            ns,
            Diagnostic::new(code, msg)
                .at(span.clone())
                .object(rule.origin.policy.clone())
                .field(peer_field(&rule.origin, k)),
        ));
    }
    out
}

/// Some(..) when at least one named pair is allowed by this rule's own
/// side and every such pair is denied by the other end; None otherwise (or
/// when the budget runs out).
fn dead_peer(
    an: &Analysis,
    r: usize,
    dir: Direction,
    subjects: &[usize],
    peers: &BitSet,
    bounds: &[[Option<ConnSet>; 2]],
) -> Option<Dead> {
    let rule = &an.rules[r];
    let other_dir = dir.opposite();
    // A peer whose other end allows everything has a working pair, so the
    // peer is not dead: a cheap look at every peer before any pair is
    // evaluated (in the open world a peer often matches a representative
    // no policy isolates).
    if peers
        .iter()
        .any(|x| allows_everything(&an.sides[x][other_dir as usize]))
    {
        return None;
    }
    let mut dead = Dead {
        pairs: 0,
        examples: Vec::new(),
    };
    // When every subject's side is NetworkPolicy-only, the rule's own side
    // allows exactly its ports towards any peer it matches (NP-7).
    let np_only = subjects.iter().all(|&w| {
        let s = &an.sides[w][dir as usize];
        s.allows_only()
    });
    let mut evaluated = 0usize;
    for x in peers.iter() {
        // Whole column at once: nothing the other end could ever allow
        // meets what this rule allows, so every pair with `x` is dead.
        let need = match dir {
            Direction::Egress => Some(an.rule_ports(rule, Some(x))),
            Direction::Ingress if !rule.ports.has_named() => Some(rule.ports.fixed.clone()),
            Direction::Ingress => None,
        };
        if let (true, Some(need), Some(bound)) = (np_only, need, &bounds[x][other_dir as usize]) {
            evaluated += 1;
            if evaluated > PAIR_BUDGET {
                return None;
            }
            if need.is_empty() {
                continue;
            }
            if need.intersection(bound).is_empty()
                || need
                    .intersection(&bound_towards(an, x, other_dir, subjects))
                    .is_empty()
            {
                dead.pairs += subjects.len();
                for &w in subjects {
                    if dead.examples.len() >= 2 {
                        break;
                    }
                    let (src, dst) = match dir {
                        Direction::Egress => (w, x),
                        Direction::Ingress => (x, w),
                    };
                    dead.examples.push((src, dst, need.clone()));
                }
                continue;
            }
        }
        for &w in subjects {
            evaluated += 1;
            if evaluated > PAIR_BUDGET {
                return None;
            }
            // (src, dst) of the connection.
            let (src, dst) = match dir {
                Direction::Egress => (w, x),
                Direction::Ingress => (x, w),
            };
            let own = an
                .side(dir, w, Endpoint::Workload(x))
                .intersection(&an.rule_ports(rule, Some(dst)));
            if own.is_empty() {
                continue;
            }
            let other = an.side(other_dir, x, Endpoint::Workload(w));
            if !own.intersection(&other).is_empty() {
                return None;
            }
            dead.pairs += 1;
            if dead.examples.len() < 2 {
                dead.examples.push((src, dst, own));
            }
        }
    }
    (dead.pairs > 0).then_some(dead)
}
