//! Admin-tier findings (AP-3 … AP-6): rules that can never decide anything.
//!
//! - `admin-rule-shadowed`: for every workload the rule applies to and every
//!   peer it names, earlier rules of the Admin tier already decide every
//!   port it matches (first match per port, AP-3), so it is dead.
//! - `baseline-unreachable`: every workload a Baseline rule applies to is
//!   isolated by NetworkPolicy in that direction, and NetworkPolicy decides
//!   before Baseline is consulted (AP-6).
//!
//! Both are exact; a rule whose subjects × peers exceed a budget is not
//! judged rather than judged wrongly.

use super::Finding;
use crate::analysis::Analyzed;
use crate::diag::{Code, Diagnostic};
use crate::model::ConnSet;
use crate::reach::{Analysis, Direction, Endpoint, RuleId, TierRank};
use std::collections::BTreeSet;

/// Subject × peer pairs checked per rule at most.
const BUDGET: usize = 200_000;

fn rule_words(an: &Analysis, r: RuleId) -> String {
    let o = &an.rules[r].origin;
    let mut s = format!("spec.{}[{}]", o.direction.as_str(), o.index);
    if let Some(n) = &o.name {
        s.push_str(&format!(" ({n:?})"));
    }
    format!("{s} of {}", o.policy)
}

pub(super) fn find(a: &Analyzed, out: &mut Vec<Finding>) {
    let an = &a.analysis;
    // Rule → the workloads whose chains hold it, and in which direction.
    let mut subjects: Vec<Vec<usize>> = vec![Vec::new(); an.rules.len()];
    for (w, sides) in an.sides.iter().enumerate() {
        for side in sides {
            for &r in side.admin.iter().chain(&side.baseline) {
                subjects[r].push(w);
            }
        }
    }
    for (r, ws) in subjects.iter().enumerate() {
        if ws.is_empty() {
            continue;
        }
        let rule = &an.rules[r];
        let d = rule.direction as usize;
        match rule.tier {
            TierRank::Baseline => {
                if ws.iter().all(|&w| an.sides[w][d].is_isolated()) {
                    out.push(Finding::new(
                        "",
                        Diagnostic::new(
                            Code::BaselineUnreachable,
                            format!(
                                "{} never applies: every workload it selects ({}) is isolated for {} by NetworkPolicy, which decides before the Baseline tier (AP-6)",
                                rule_words(an, r),
                                ws.len(),
                                rule.direction.as_str()
                            ),
                        )
                        .at(rule.origin.span.clone())
                        .object(rule.origin.policy.clone()),
                    ));
                }
            }
            TierRank::Admin => {
                if let Some(by) = shadowed(an, r, ws) {
                    let names: Vec<String> =
                        by.iter().take(3).map(|&e| rule_words(an, e)).collect();
                    let more = if by.len() > 3 {
                        format!(" and {} more", by.len() - 3)
                    } else {
                        String::new()
                    };
                    out.push(Finding::new(
                        "",
                        Diagnostic::new(
                            Code::AdminRuleShadowed,
                            format!(
                                "{} never decides anything: for every workload and peer it matches, {}{more} already decide{} every port it covers (first match wins, AP-3)",
                                rule_words(an, r),
                                names.join(", "),
                                if by.len() == 1 { "s" } else { "" }
                            ),
                        )
                        .at(rule.origin.span.clone())
                        .object(rule.origin.policy.clone()),
                    ));
                }
            }
            TierRank::NetworkPolicy | TierRank::Calico => {}
        }
    }
}

/// The earlier rules that decide everything `r` could, or None if `r`
/// decides something somewhere (or the check is over budget).
fn shadowed(an: &Analysis, r: RuleId, ws: &[usize]) -> Option<BTreeSet<RuleId>> {
    let rule = &an.rules[r];
    let peers: Vec<Endpoint> = rule
        .peers
        .workloads
        .iter()
        .map(Endpoint::Workload)
        .chain(rule.peers.atoms.iter().map(Endpoint::Atom))
        .collect();
    if peers.is_empty() || ws.len().saturating_mul(peers.len()) > BUDGET {
        return None;
    }
    let mut by = BTreeSet::new();
    for &w in ws {
        let chain = &an.sides[w][rule.direction as usize].admin;
        let earlier = &chain[..chain.iter().position(|&x| x == r)?];
        for &x in &peers {
            let target = match (rule.direction, x) {
                (Direction::Ingress, _) => Some(w),
                (Direction::Egress, Endpoint::Workload(t)) => Some(t),
                (Direction::Egress, Endpoint::Atom(_)) => None,
            };
            let mut undecided = ConnSet::all();
            for &e in earlier {
                let er = &an.rules[e];
                if Analysis::peer_matches(er, x) {
                    let m = an.rule_ports(er, target).intersection(&undecided);
                    if !m.is_empty() {
                        by.insert(e);
                        undecided = undecided.difference(&m);
                    }
                }
            }
            if !an
                .rule_ports(rule, target)
                .intersection(&undecided)
                .is_empty()
            {
                return None;
            }
        }
    }
    Some(by)
}
