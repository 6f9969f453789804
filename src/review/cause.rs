//! Sentences for causes, shared by every human format.

use super::phrase::Phrase;
use crate::diag::Span;
use crate::diff::{Cause, LabelDelta, Novelty, PolicyRef, Why};
use crate::reach::{RuleRef, TierRank};

/// Where a cause points, and on which side (base for removed lines).
pub struct Location<'a> {
    pub span: &'a Span,
    pub on_base: bool,
    /// The line is one the change removed from the base, cited instead of
    /// the head's field that changed only by deleted lines.
    pub removed: bool,
}

/// `spec.ingress[1].from[0]` of `NetworkPolicy shop/db` [Admin tier, priority 10]
pub fn rule_phrase(rule: &RuleRef, peer: Option<usize>) -> Phrase {
    let mut phrase = Phrase::new().code(rule.field(peer));
    if let Some(n) = &rule.name {
        phrase = phrase.text(" (").code(n.clone()).text(")");
    }
    phrase = phrase.text(" of ").code(rule.policy.clone());
    if let Some(place) = &rule.place {
        phrase = phrase.text(format!(" ({place})"));
    } else if rule.tier != TierRank::NetworkPolicy {
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
            ..
        } => match novelty {
            Novelty::New => Phrase::new()
                .text("new or changed ")
                .append(rule_phrase(rule, peer_index(peer))),
            Novelty::Selection => Phrase::new()
                .text("allowed by ")
                .append(rule_phrase(rule, peer_index(peer)))
                .text(", whose policy now selects it"),
            _ => Phrase::new()
                .text("allowed by ")
                .append(rule_phrase(rule, peer_index(peer))),
        },
        Cause::RuleNoLongerAllows {
            rule,
            peer,
            novelty,
            ..
        } => match novelty {
            Novelty::PolicyDeleted => Phrase::new().code(rule.policy.clone()).text(" was deleted"),
            // The rule is as it was: something else (a label, the other
            // end) changed, and that cause says what.
            Novelty::Unchanged => {
                rule_phrase(rule, peer_index(peer)).text(", unchanged, no longer allows this")
            }
            Novelty::Selection => rule_phrase(rule, peer_index(peer))
                .text(" no longer applies: its policy no longer selects it"),
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
                let deleted = policies.iter().all(|p| p.why == Why::Deleted);
                p = p.text(" (").append(policies_phrase(policies)).text(
                    match (deleted, policies.len()) {
                        (true, 1) => " was deleted)",
                        (true, _) => " were deleted)",
                        (false, 1) => " no longer selects it)",
                        (false, _) => " no longer select it)",
                    },
                );
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
        Cause::DeniedBy { rule, .. } => Phrase::new()
            .text("denied by ")
            .append(rule_phrase(rule, None)),
        Cause::NoLongerDenied { rule } => Phrase::new()
            .text("no longer denied by ")
            .append(rule_phrase(rule, None)),
        Cause::PassedDown { rule, .. } => Phrase::new()
            .text("a Pass in ")
            .append(rule_phrase(rule, None))
            .text(" hands the decision down to NetworkPolicy and Baseline"),
        Cause::LabelChange {
            workload,
            what,
            changes,
            ..
        } => label_phrase(workload, what, changes),
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

/// "label `app` of `shop/web` changed from `web` to `frontend`".
fn label_phrase(workload: &str, what: &str, changes: &[LabelDelta]) -> Phrase {
    let [d] = changes else {
        let keys: Vec<String> = changes.iter().map(|d| d.key.clone()).collect();
        let p = Phrase::new().text(format!("{what} of ")).code(workload);
        return if keys.is_empty() {
            p.text(" changed")
        } else {
            p.text(" changed (").code_list(keys).text(")")
        };
    };
    let p = Phrase::new()
        .text("label ")
        .code(d.key.clone())
        .text(" of ")
        .code(workload);
    match (&d.base, &d.head) {
        (Some(b), Some(h)) => p
            .text(" changed from ")
            .code(b.clone())
            .text(" to ")
            .code(h.clone()),
        (None, Some(h)) => p.text(" added (").code(h.clone()).text(")"),
        (Some(b), None) => p.text(" removed (was ").code(b.clone()).text(")"),
        (None, None) => p.text(" changed"),
    }
}

/// Plain text of a cause.
pub fn sentence(c: &Cause) -> String {
    phrase(c).plain()
}

/// The location a cause points at, if any: a removed base line when the
/// field it names changed only by deleted lines.
pub fn location(c: &Cause) -> Option<Location<'_>> {
    let at = located(c)?;
    Some(match c.removed() {
        Some(span) => Location {
            span,
            on_base: true,
            removed: true,
        },
        None => at,
    })
}

/// For a cause cited at a removed base line: where the field it was
/// removed from is in the head (annotations point into the head's files).
pub fn head_location(c: &Cause) -> Option<Location<'_>> {
    c.removed()?;
    located(c).filter(|l| !l.on_base)
}

fn located(c: &Cause) -> Option<Location<'_>> {
    match c {
        Cause::NewWorkload { span, .. } | Cause::NamedPortChange { span, .. } => Some(Location {
            span,
            on_base: false,
            removed: false,
        }),
        Cause::LabelChange { span, on_base, .. } => Some(Location {
            span,
            on_base: *on_base,
            removed: false,
        }),
        Cause::RemovedWorkload { span, .. } => Some(Location {
            span,
            on_base: true,
            removed: false,
        }),
        // An unchanged rule is not what changed: the row's other causes
        // (a label, a selector) are cited instead.
        Cause::RuleAllows {
            novelty: Novelty::Unchanged,
            ..
        }
        | Cause::RuleNoLongerAllows {
            novelty: Novelty::Unchanged,
            ..
        } => None,
        Cause::RuleAllows {
            novelty: Novelty::Selection,
            selector,
            ..
        }
        | Cause::RuleNoLongerAllows {
            novelty: Novelty::Selection,
            selector,
            ..
        } => selector.as_ref().map(|span| Location {
            span,
            on_base: false,
            removed: false,
        }),
        Cause::RuleAllows { rule, peer, .. } => Some(Location {
            span: peer.as_ref().map_or(&rule.span, |(_, s)| s),
            on_base: false,
            removed: false,
        }),
        Cause::DeniedBy { rule, .. } | Cause::PassedDown { rule, .. } => Some(Location {
            span: &rule.span,
            on_base: false,
            removed: false,
        }),
        Cause::RuleNoLongerAllows { rule, peer, .. } => Some(Location {
            span: peer.as_ref().map_or(&rule.span, |(_, s)| s),
            on_base: true,
            removed: false,
        }),
        Cause::NoLongerDenied { rule } => Some(Location {
            span: &rule.span,
            on_base: true,
            removed: false,
        }),
        // A policy that selects the workload on one side only because the
        // workload's labels changed is not cited: the label change is.
        Cause::NoLongerIsolated { policies, .. } | Cause::NewlyIsolated { policies, .. } => {
            policies
                .iter()
                .find(|p| p.why != Why::Labels)
                .map(|p| Location {
                    span: &p.span,
                    on_base: p.on_base,
                    removed: false,
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
