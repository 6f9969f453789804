//! What now denies a closed path: the answer of `reach --from --to`
//! ([`crate::reach::why`]) for the pairs of a Closed group, read from the
//! head, in the diff's words ("now denied: no ingress rule of
//! `NetworkPolicy shop/web` admits it").

use super::cause::rule_phrase;
use super::phrase::Phrase;
use crate::diag::Span;
use crate::diff::UnionEndpoint;
use crate::model::ConnSet;
use crate::reach::why::{self, SideVerdict, WhyNot};
use crate::reach::{Analysis, Direction, RuleRef};

/// One side's reason a closed pair is denied in the head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    /// A deny rule decides (an admin-tier Deny, a Cilium deny).
    DeniedBy(RuleRef),
    /// The side is isolated and no rule of these policies (names and
    /// lines) admits the peer; `others`: for some pairs of the group more
    /// policies isolate it (these are the ones common to all).
    NoRuleAdmits {
        direction: Direction,
        policies: Vec<(String, Span)>,
        others: bool,
    },
    /// Both sides allow ports, none in common.
    NoCommonPort { egress: ConnSet, ingress: ConnSet },
}

/// What denies the pairs of a Closed group in the head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NowDenied {
    pub denials: Vec<Denial>,
    /// The pair the answer was read for, when the group's pairs have no
    /// reason in common.
    pub example: Option<(String, String)>,
    /// (pairs the answer holds for, pairs of the group) when it is not
    /// read for all (past the budget, or pairs whose other ports stay
    /// allowed).
    pub read: Option<(usize, usize)>,
}

/// Pairs read per group, and for all groups of a diff: past them the
/// answer is read for one pair and says which.
const PER_GROUP: usize = 256;
pub const BUDGET: usize = 20_000;

/// What denies the closed pairs `from` × `to` in the head, each pair read
/// (within `budget`, which it spends); None when no pair is denied there
/// (a narrowed row whose other ports stay allowed, an endpoint the change
/// removed: the causes say what happened).
pub fn now_denied(
    head: &Analysis,
    eps: &[UnionEndpoint],
    (from, to): (&[usize], &[usize]),
    budget: &mut usize,
) -> Option<NowDenied> {
    let total = from.len() * to.len();
    let read = total.min(PER_GROUP).min(*budget).max(1);
    *budget = budget.saturating_sub(read);
    let mut answers: Vec<Vec<Denial>> = Vec::new();
    let mut first: Option<(usize, usize)> = None;
    let pairs = from
        .iter()
        .flat_map(|&s| to.iter().map(move |&d| (s, d)))
        .take(read);
    for (s, d) in pairs {
        let answer = match (eps[s].head, eps[d].head) {
            (Some(src), Some(dst)) => why::why_not(head, src, dst),
            _ => None,
        };
        if let Some(w) = answer {
            answers.push(denials(head, &w));
            first.get_or_insert((s, d));
        }
    }
    let (s, d) = first?;
    let held = answers.len();
    let common = common(&answers);
    let (denials, example) = if common.is_empty() {
        let pair = (eps[s].id.clone(), eps[d].id.clone());
        (answers.swap_remove(0), Some(pair))
    } else {
        (common, None)
    };
    Some(NowDenied {
        denials,
        example,
        read: (held < total).then_some((held, total)),
    })
}

/// The answer without what the group's causes already say (a side newly
/// isolated by the same policies); None when nothing is left.
pub fn beyond(mut nd: NowDenied, causes: &[crate::diff::Cause]) -> Option<NowDenied> {
    let said = |dir: Direction, name: &str| {
        causes.iter().any(|c| {
            matches!(c, crate::diff::Cause::NewlyIsolated { direction, policies, .. }
                if *direction == dir && policies.iter().any(|p| p.name == name))
        })
    };
    nd.denials.retain(|d| match d {
        Denial::NoRuleAdmits {
            direction,
            policies,
            ..
        } => policies.is_empty() || !policies.iter().all(|(n, _)| said(*direction, n)),
        _ => true,
    });
    (!nd.denials.is_empty()).then_some(nd)
}

/// What every answer says: the sides that deny every pair, with the
/// isolating policies common to all (`others` when some pairs have more).
fn common(answers: &[Vec<Denial>]) -> Vec<Denial> {
    let Some((first, rest)) = answers.split_first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter_map(|d| match d {
            Denial::NoRuleAdmits {
                direction,
                policies,
                ..
            } => {
                let mut all = true;
                let mut kept = policies.clone();
                let mut others = false;
                for a in rest {
                    let theirs = a.iter().find_map(|x| match x {
                        Denial::NoRuleAdmits {
                            direction: dir,
                            policies,
                            ..
                        } if dir == direction => Some(policies),
                        _ => None,
                    });
                    let Some(theirs) = theirs else {
                        all = false;
                        break;
                    };
                    others |= theirs.iter().any(|p| !kept.contains(p));
                    let before = kept.len();
                    kept.retain(|p| theirs.contains(p));
                    others |= kept.len() < before;
                }
                all.then_some(Denial::NoRuleAdmits {
                    direction: *direction,
                    policies: kept,
                    others,
                })
            }
            other => rest
                .iter()
                .all(|a| a.contains(other))
                .then(|| other.clone()),
        })
        .collect()
}

fn denials(a: &Analysis, w: &WhyNot) -> Vec<Denial> {
    let mut out = Vec::new();
    for (direction, verdict) in [
        (Direction::Egress, &w.egress),
        (Direction::Ingress, &w.ingress),
    ] {
        match verdict {
            Some(SideVerdict::DeniedByAdmin(r)) => {
                out.push(Denial::DeniedBy(a.rules[*r].origin.clone()))
            }
            Some(SideVerdict::Isolated { policies, .. }) => out.push(Denial::NoRuleAdmits {
                direction,
                policies: policies
                    .iter()
                    .map(|&p| (a.policies[p].name.clone(), a.policies[p].span.clone()))
                    .collect(),
                others: false,
            }),
            _ => {}
        }
    }
    if let (Some(SideVerdict::Allows(e)), Some(SideVerdict::Allows(i))) = (&w.egress, &w.ingress) {
        out.push(Denial::NoCommonPort {
            egress: e.clone(),
            ingress: i.clone(),
        });
    }
    out
}

/// The answer as clauses, each with the line it points at: renderers
/// join them after "now denied: ".
pub fn clauses(nd: &NowDenied) -> Vec<(Phrase, Option<&Span>)> {
    let mut out: Vec<(Phrase, Option<&Span>)> = nd
        .denials
        .iter()
        .map(|d| match d {
            Denial::DeniedBy(rule) => (
                Phrase::new().text("by ").append(rule_phrase(rule, None)),
                Some(&rule.span),
            ),
            Denial::NoRuleAdmits {
                direction,
                policies,
                others,
            } => {
                let dir = direction.as_str();
                let p = if policies.is_empty() {
                    Phrase::new().text(format!(
                        "no {dir} rule of the policies isolating each row admits it"
                    ))
                } else {
                    Phrase::new()
                        .text(format!("no {dir} rule of "))
                        .code_list(policies.iter().map(|(n, _)| n.clone()))
                        .text(if *others {
                            " (and others for some rows)"
                        } else {
                            ""
                        })
                        .text(" admits it")
                };
                (p, policies.first().map(|(_, s)| s))
            }
            Denial::NoCommonPort { egress, ingress } => (
                Phrase::new().text(format!(
                    "egress allows {}, ingress {}: no port in common",
                    crate::words::conn_text(egress),
                    crate::words::conn_text(ingress)
                )),
                None,
            ),
        })
        .collect();
    if let Some((s, d)) = &nd.example {
        out.push((
            Phrase::new()
                .text("for ")
                .code(format!("{s} → {d}"))
                .text("; other rows differ"),
            None,
        ));
    }
    if let Some((n, total)) = nd.read {
        out.push((
            Phrase::new().text(format!("read for {n} of its {total} pairs")),
            None,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admits(direction: Direction, names: &[&str]) -> Denial {
        let span = |n: &str| Span {
            file: format!("{n}.yaml"),
            line: 1,
            col: 1,
        };
        Denial::NoRuleAdmits {
            direction,
            policies: names.iter().map(|n| (n.to_string(), span(n))).collect(),
            others: false,
        }
    }

    /// A group's answer is what holds for every pair: the isolating
    /// policies common to all, `others` when some pairs have more; a side
    /// that denies only some pairs is not said.
    #[test]
    fn the_answer_of_a_group_holds_for_every_pair() {
        let a = vec![
            admits(Direction::Egress, &["A", "B"]),
            admits(Direction::Ingress, &["C"]),
        ];
        let b = vec![admits(Direction::Egress, &["A"])];
        let got = common(&[a.clone(), b.clone()]);
        let mut want = admits(Direction::Egress, &["A"]);
        if let Denial::NoRuleAdmits { others, .. } = &mut want {
            *others = true;
        }
        assert_eq!(got, vec![want]);
        // Alike pairs: the answer as it is.
        assert_eq!(common(&[a.clone(), a.clone()]), a);
        // Nothing in common.
        let c = vec![admits(Direction::Ingress, &["C"])];
        assert_eq!(common(&[b, c]), Vec::<Denial>::new());
    }
}
