//! `dead-policy`: a NetworkPolicy whose removal changes no row, because
//! other policies already isolate every pod it selects and allow all it
//! allows (`web-deny-all` next to `web-allow-all`), or because its own
//! rules allow everything its isolation would deny.
//!
//! Exact by construction: every row the policy could touch (each side it
//! takes part in, towards every endpoint) is evaluated with and without
//! it by the one evaluator. Judged only with representatives of the rest
//! of the cluster (docs/open-world.md): a namespace deny-all that still
//! denies pods outside the repository is not dead, and without
//! representatives that cannot be known, so nothing is reported then.

use super::{Finding, list};
use crate::analysis::Analyzed;
use crate::diag::{Code, Diagnostic};
use crate::model::ConnSet;
use crate::reach::{Analysis, Direction, Endpoint, Side, TierRank};
use std::collections::{BTreeMap, BTreeSet};

/// Rows one policy may cost to judge; a larger one is left out.
const ROWS_PER_POLICY: usize = 250_000;
/// Rows all policies of a revision may cost together.
const ROWS_IN_ALL: usize = 1_000_000;

/// A policy's sides (workload, direction) as its removal would leave them.
type Without = BTreeMap<(usize, usize), Side>;

pub(super) fn find(a: &Analyzed, out: &mut Vec<Finding>) {
    let an = &a.analysis;
    if !an.workloads.iter().any(|w| w.representative.is_some()) {
        return;
    }
    let endpoints: Vec<Endpoint> = (0..an.workloads.len())
        .map(Endpoint::Workload)
        .chain((0..an.atoms.len()).map(Endpoint::Atom))
        .collect();
    let isolating = sides_isolated_by(an);
    let mut budget = ROWS_IN_ALL;
    for (pi, info) in an.policies.iter().enumerate() {
        // Kubernetes NetworkPolicies only: a Calico policy's title ends in
        // its API group.
        let Some(qualified) = info
            .name
            .strip_prefix("NetworkPolicy ")
            .filter(|_| !info.name.ends_with("(projectcalico.org)"))
        else {
            continue;
        };
        let Some(sides) = isolating.get(&pi) else {
            continue;
        };
        // A side with a Calico chain holds the policy's rules in its tier
        // runs, which `without_policy` does not edit: no claim there.
        if sides
            .iter()
            .any(|&(w, d)| !an.sides[w][d].calico.is_empty())
        {
            continue;
        }
        // Priced before the sides are copied: one row per side and endpoint.
        let rows = sides.len().saturating_mul(endpoints.len());
        if rows > ROWS_PER_POLICY || rows > budget {
            continue;
        }
        let without = without_policy(an, pi, &info.name, sides);
        let (dead, evaluated) = changes_nothing(an, &without, &endpoints);
        budget -= evaluated;
        if dead {
            let namespace = qualified.split_once('/').map_or("", |(ns, _)| ns);
            out.push(Finding::new(namespace, finding(an, pi, &without)));
        }
    }
}

/// For each policy, the sides (workload, direction) it isolates, in one
/// pass over the sides: asking every side about every policy would be
/// quadratic in a large tree.
fn sides_isolated_by(an: &Analysis) -> BTreeMap<usize, Vec<(usize, usize)>> {
    let mut by_policy: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
    for (w, sides) in an.sides.iter().enumerate() {
        for (d, s) in sides.iter().enumerate() {
            for &pi in &s.isolated_by {
                by_policy.entry(pi).or_default().push((w, d));
            }
        }
    }
    by_policy
}

/// The sides policy `pi` takes part in (`sides`, the ones it isolates),
/// without it: neither its isolation nor its rules.
fn without_policy(an: &Analysis, pi: usize, name: &str, sides: &[(usize, usize)]) -> Without {
    let mut out = Without::new();
    for &(w, d) in sides {
        let mut m = an.sides[w][d].clone();
        m.isolated_by.retain(|&x| x != pi);
        m.network_policy.retain(|&r| {
            let rule = &an.rules[r];
            rule.tier != TierRank::NetworkPolicy || rule.origin.policy != name
        });
        out.insert((w, d), m);
    }
    out
}

/// Whether every row through a changed side is the same without the
/// policy; stops at the first difference. Also returns the rows evaluated.
fn changes_nothing(an: &Analysis, without: &Without, endpoints: &[Endpoint]) -> (bool, usize) {
    let side = |dir: Direction, w: usize, peer: Endpoint| -> ConnSet {
        match without.get(&(w, dir as usize)) {
            Some(s) => an.side_as(s, dir, w, peer),
            None => an.side(dir, w, peer),
        }
    };
    let mut evaluated = 0;
    for &(w, d) in without.keys() {
        for &p in endpoints {
            let (src, dst) = if d == Direction::Ingress as usize {
                (p, Endpoint::Workload(w))
            } else {
                (Endpoint::Workload(w), p)
            };
            evaluated += 1;
            if an.reach(src, dst) != an.reach_by(src, dst, side) {
                return (false, evaluated);
            }
        }
    }
    (true, evaluated)
}

fn finding(an: &Analysis, pi: usize, without: &Without) -> Diagnostic {
    let info = &an.policies[pi];
    let others: BTreeSet<usize> = without
        .keys()
        .flat_map(|&(w, d)| an.sides[w][d].isolated_by.iter().copied())
        .filter(|&x| x != pi)
        .collect();
    let pods: BTreeSet<usize> = without.keys().map(|&(w, _)| w).collect();
    let real = pods
        .iter()
        .filter(|&&w| an.workloads[w].representative.is_none())
        .count();
    let selects = match real {
        0 => "the pods it selects (none in the repository)".to_string(),
        1 => "the pods it selects (1 workload of the repository)".to_string(),
        n => format!("the pods it selects ({n} workloads of the repository)"),
    };
    let message = if others.is_empty() {
        format!(
            "removing this policy changes no path: it isolates {selects}, but its own rules allow everything that isolation would deny"
        )
    } else {
        let names: Vec<String> = others
            .iter()
            .map(|&x| an.policies[x].name.clone())
            .collect();
        let (who, s) = match names.as_slice() {
            [one] => (one.clone(), "s"),
            [a, b] => (format!("{a} and {b}"), ""),
            _ => (list(&names, 3), ""),
        };
        format!(
            "removing this policy changes no path: {who} also isolate{s} {selects} and already allow{s} everything this policy allows, so its isolation denies nothing"
        )
    };
    Diagnostic::new(Code::DeadPolicy, message)
        .at(info.span.clone())
        .object(info.name.clone())
}
