//! Sentences for causes, shared by every human format.

use super::phrase::Phrase;
use crate::diag::Span;
use crate::diff::{Cause, Novelty, PolicyRef};
use crate::reach::{RuleRef, TierRank};

/// Where a cause points, and on which side (base for removed lines).
pub struct Location<'a> {
    pub span: &'a Span,
    pub on_base: bool,
}

/// `spec.ingress[1].from[0]` of `NetworkPolicy shop/db` [Admin tier, priority 10]
pub fn rule_phrase(rule: &RuleRef, peer: Option<usize>) -> Phrase {
    let peers_key = match (rule.tier, rule.direction) {
        (_, crate::reach::Direction::Ingress) => "from",
        (_, crate::reach::Direction::Egress) => "to",
    };
    let mut field = format!("spec.{}[{}]", rule.direction.as_str(), rule.index);
    if let Some(p) = peer {
        field.push_str(&format!(".{peers_key}[{p}]"));
    }
    let mut phrase = Phrase::new().code(field);
    if let Some(n) = &rule.name {
        phrase = phrase.text(" (").code(n.clone()).text(")");
    }
    phrase = phrase.text(" of ").code(rule.policy.clone());
    if rule.tier != TierRank::NetworkPolicy {
        let mut tier = format!(" ({} tier", rule.tier.as_str());
        if let Some(p) = rule.priority {
            tier.push_str(&format!(", priority {p}"));
        }
        tier.push(')');
        phrase = phrase.text(tier);
    }
    phrase
}

fn policies_phrase(policies: &[PolicyRef]) -> Phrase {
    Phrase::new().code_list(policies.iter().map(|p| p.name.clone()))
}

fn peer_index(peer: &Option<(usize, Span)>) -> Option<usize> {
    peer.as_ref().map(|(i, _)| *i)
}

/// One sentence, without the location.
pub fn phrase(c: &Cause) -> Phrase {
    match c {
        Cause::NewWorkload { id, .. } => Phrase::new().text("new workload ").code(id.clone()),
        Cause::RemovedWorkload { id, .. } => Phrase::new()
            .text("workload ")
            .code(id.clone())
            .text(" removed"),
        Cause::RuleAllows {
            rule,
            peer,
            novelty,
        } => match novelty {
            Novelty::New => Phrase::new()
                .text("new or changed ")
                .append(rule_phrase(rule, peer_index(peer))),
            _ => Phrase::new()
                .text("allowed by ")
                .append(rule_phrase(rule, peer_index(peer))),
        },
        Cause::RuleNoLongerAllows {
            rule,
            peer,
            novelty,
        } => match novelty {
            Novelty::PolicyDeleted => Phrase::new().code(rule.policy.clone()).text(" was deleted"),
            Novelty::Unchanged => {
                rule_phrase(rule, peer_index(peer)).text(" no longer allows this")
            }
            _ => rule_phrase(rule, peer_index(peer)).text(" was removed or changed"),
        },
        Cause::NoLongerIsolated {
            direction,
            policies,
            ..
        } => {
            let mut p = Phrase::new().text(format!(
                "no NetworkPolicy isolates it for {} any more",
                direction.as_str()
            ));
            if !policies.is_empty() {
                p = p.text(" (").append(policies_phrase(policies)).text(format!(
                    " no longer select{} it)",
                    if policies.len() == 1 { "s" } else { "" }
                ));
            }
            // `policies` may be cut to one for grouping; the sentence stays true.
            p.text(format!(
                ", so all {} is allowed by default",
                direction.as_str()
            ))
        }
        Cause::NewlyIsolated {
            direction,
            policies,
            ..
        } => {
            let mut p = Phrase::new().text(format!("now isolated for {} by ", direction.as_str()));
            match policies.first() {
                Some(first) => p = p.code(first.name.clone()),
                None => p = p.text("NetworkPolicies"),
            }
            if policies.len() > 1 {
                p = p.text(format!(" (and {} more)", policies.len() - 1));
            }
            p.text(" and no rule allows this")
        }
        Cause::DeniedBy { rule } => Phrase::new()
            .text("denied by ")
            .append(rule_phrase(rule, None)),
        Cause::NoLongerDenied { rule } => Phrase::new()
            .text("no longer denied by ")
            .append(rule_phrase(rule, None)),
        Cause::PassedDown { rule } => Phrase::new()
            .text("a Pass in ")
            .append(rule_phrase(rule, None))
            .text(" hands the decision down to NetworkPolicy and Baseline"),
        Cause::LabelChange { workload, what, .. } => Phrase::new()
            .text(format!("{what} of "))
            .code(workload.clone())
            .text(" changed"),
        Cause::NamedPortChange {
            workload, names, ..
        } => Phrase::new()
            .text("container ports of ")
            .code(workload.clone())
            .text(" changed, so named port ")
            .code_list(names.iter().cloned())
            .text(" resolves differently"),
    }
}

/// Plain text of a cause.
pub fn sentence(c: &Cause) -> String {
    phrase(c).plain()
}

/// The location a cause points at, if any.
pub fn location(c: &Cause) -> Option<Location<'_>> {
    match c {
        Cause::NewWorkload { span, .. }
        | Cause::LabelChange { span, .. }
        | Cause::NamedPortChange { span, .. } => Some(Location {
            span,
            on_base: false,
        }),
        Cause::RemovedWorkload { span, .. } => Some(Location {
            span,
            on_base: true,
        }),
        Cause::RuleAllows { rule, peer, .. } => Some(Location {
            span: peer.as_ref().map_or(&rule.span, |(_, s)| s),
            on_base: false,
        }),
        Cause::DeniedBy { rule } | Cause::PassedDown { rule } => Some(Location {
            span: &rule.span,
            on_base: false,
        }),
        Cause::RuleNoLongerAllows { rule, peer, .. } => Some(Location {
            span: peer.as_ref().map_or(&rule.span, |(_, s)| s),
            on_base: true,
        }),
        Cause::NoLongerDenied { rule } => Some(Location {
            span: &rule.span,
            on_base: true,
        }),
        Cause::NoLongerIsolated { policies, .. } | Cause::NewlyIsolated { policies, .. } => {
            policies.first().map(|p| Location {
                span: &p.span,
                on_base: p.on_base,
            })
        }
    }
}

/// Stable kebab-case kind for JSON.
pub fn kind(c: &Cause) -> &'static str {
    match c {
        Cause::NewWorkload { .. } => "new-workload",
        Cause::RemovedWorkload { .. } => "removed-workload",
        Cause::RuleAllows { .. } => "rule-allows",
        Cause::RuleNoLongerAllows { .. } => "rule-no-longer-allows",
        Cause::NoLongerIsolated { .. } => "no-longer-isolated",
        Cause::NewlyIsolated { .. } => "newly-isolated",
        Cause::DeniedBy { .. } => "denied-by",
        Cause::NoLongerDenied { .. } => "no-longer-denied",
        Cause::PassedDown { .. } => "passed-down",
        Cause::LabelChange { .. } => "label-change",
        Cause::NamedPortChange { .. } => "named-port-change",
    }
}
