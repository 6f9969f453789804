//! Redundant NetworkPolicy rules: a rule that allows nothing, for any
//! workload it applies to, that other NetworkPolicy rules of the same
//! workload do not already allow (NP-7 is a plain union, so removing such a
//! rule alone changes no verdict). Exact per (workload, peer endpoint),
//! with a bit-set prefilter so most rules are dismissed in a few word
//! operations, and a budget past which a rule is left out.

use super::Finding;
use crate::analysis::Analyzed;
use crate::diag::{Code, Diagnostic};
use crate::model::ConnSet;
use crate::reach::{Analysis, Direction, Endpoint, RuleId, TierRank};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashSet};

/// (workload, endpoint) checks per rule before giving up on it.
const BUDGET: usize = 200_000;

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
    let found: Vec<Finding> = (0..an.rules.len())
        .into_par_iter()
        .filter_map(|r| {
            let cover = covered(an, r, &subjects[r])?;
            let rule = &an.rules[r];
            let by: Vec<String> = cover
                .iter()
                .take(3)
                .map(|&o| {
                    let o = &an.rules[o].origin;
                    format!("{} rule {} of {}", o.direction.as_str(), o.index, o.policy)
                })
                .collect();
            let more = if cover.len() > 3 {
                format!(" and {} more", cover.len() - 3)
            } else {
                String::new()
            };
            let n = subjects[r].len();
            Some(Finding::new(
                an.workloads[subjects[r][0]].namespace.clone(),
                Diagnostic::new(
                    Code::RedundantRule,
                    format!(
                        "for {}, everything this rule allows is already allowed by {}{more}; removing it alone changes nothing",
                        if n == 1 {
                            "the workload it applies to".to_string()
                        } else {
                            format!("each of the {n} workloads it applies to")
                        },
                        by.join(", ")
                    ),
                )
                .at(rule.origin.span.clone())
                .object(rule.origin.policy.clone())
                .field(rule.origin.field(None)),
            ))
        })
        .collect();
    out.extend(found);
}

/// The rules that cover rule `r` for every subject and peer, or None.
fn covered(an: &Analysis, r: RuleId, subjects: &[usize]) -> Option<BTreeSet<RuleId>> {
    let rule = &an.rules[r];
    if rule.tier != TierRank::NetworkPolicy
        || subjects.is_empty()
        || (rule.peers.workloads.is_empty() && rule.peers.atoms.is_empty())
    {
        return None;
    }
    let dir = rule.direction;
    let d = dir as usize;
    let mut cover = BTreeSet::new();
    let mut seen: HashSet<&[RuleId]> = HashSet::new();
    let mut spent = 0usize;
    for &w in subjects {
        let chain = an.sides[w][d].network_policy.as_slice();
        // Ingress named ports resolve against the subject; otherwise equal
        // chains give equal answers.
        let per_subject =
            dir == Direction::Ingress && chain.iter().any(|&x| an.rules[x].ports.has_named());
        if !per_subject && !seen.insert(chain) {
            continue;
        }
        let others: Vec<RuleId> = chain.iter().copied().filter(|&x| x != r).collect();
        // Prefilter: every peer endpoint must lie in some other rule.
        let mut left_w = rule.peers.workloads.clone();
        let mut left_a = rule.peers.atoms.clone();
        for &o in &others {
            left_w.subtract(&an.rules[o].peers.workloads);
            left_a.subtract(&an.rules[o].peers.atoms);
        }
        if !left_w.is_empty() || !left_a.is_empty() {
            return None;
        }
        let endpoints = rule
            .peers
            .workloads
            .iter()
            .map(Endpoint::Workload)
            .chain(rule.peers.atoms.iter().map(Endpoint::Atom));
        for e in endpoints {
            spent += 1;
            if spent > BUDGET {
                return None;
            }
            let target = match (dir, e) {
                (Direction::Ingress, _) => Some(w),
                (Direction::Egress, Endpoint::Workload(x)) => Some(x),
                (Direction::Egress, Endpoint::Atom(_)) => None,
            };
            let need = an.rule_ports(rule, target);
            if need.is_empty() {
                continue;
            }
            let mut got = ConnSet::empty();
            for &o in &others {
                let other = &an.rules[o];
                if !Analysis::peer_matches(other, e) {
                    continue;
                }
                let p = an.rule_ports(other, target);
                if p.intersection(&need).is_empty() {
                    continue;
                }
                got.union_with(&p);
                cover.insert(o);
                if need.difference(&got).is_empty() {
                    break;
                }
            }
            if !need.difference(&got).is_empty() {
                return None;
            }
        }
    }
    (!cover.is_empty()).then_some(cover)
}
