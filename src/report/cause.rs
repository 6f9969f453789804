//! Sentences for causes, shared by every human format.

use crate::diag::Span;
use crate::diff::{Cause, Novelty};
use crate::reach::{RuleRef, TierRank};

/// Where a cause points, and on which side (base for removed lines).
pub struct Location<'a> {
    pub span: &'a Span,
    pub on_base: bool,
}

pub fn rule_words(rule: &RuleRef, peer: Option<usize>) -> String {
    let mut s = format!("{} rule {}", rule.direction.as_str(), rule.index);
    if let Some(n) = &rule.name {
        s.push_str(&format!(" ({n:?})"));
    }
    if let Some(p) = peer {
        s = format!("peer {p} of {s}");
    }
    s.push_str(&format!(" of {}", rule.policy));
    if rule.tier != TierRank::NetworkPolicy {
        s.push_str(&format!(" [{} tier", rule.tier.as_str()));
        if let Some(p) = rule.priority {
            s.push_str(&format!(", priority {p}"));
        }
        s.push(']');
    }
    s
}

/// One sentence, without the location.
pub fn sentence(c: &Cause) -> String {
    match c {
        Cause::NewWorkload { id, .. } => format!("new workload {id}"),
        Cause::RemovedWorkload { id, .. } => format!("workload {id} removed"),
        Cause::RuleAllows {
            rule,
            peer,
            novelty,
        } => match novelty {
            Novelty::New => format!("new or changed {}", rule_words(rule, *peer)),
            _ => format!("allowed by {}", rule_words(rule, *peer)),
        },
        Cause::RuleNoLongerAllows {
            rule,
            peer,
            novelty,
        } => match novelty {
            Novelty::Unchanged => format!("{} no longer matches", rule_words(rule, *peer)),
            _ => format!("{} was removed or narrowed", rule_words(rule, *peer)),
        },
        Cause::NoLongerIsolated {
            workload,
            direction,
            ..
        } => format!(
            "no policy isolates {workload} for {} any more, so everything is allowed by default",
            direction.as_str()
        ),
        Cause::NewlyIsolated {
            workload,
            direction,
            policies,
        } => {
            let names: Vec<&str> = policies.iter().map(|(n, _)| n.as_str()).collect();
            format!(
                "{} now isolate{} {workload} for {} and allow{} nothing for this",
                names.join(", "),
                if names.len() == 1 { "s" } else { "" },
                direction.as_str(),
                if names.len() == 1 { "s" } else { "" },
            )
        }
        Cause::DeniedBy { rule } => format!("denied by {}", rule_words(rule, None)),
        Cause::NoLongerDenied { rule } => format!("no longer denied by {}", rule_words(rule, None)),
        Cause::PassedDown { rule } => format!(
            "Pass in {} hands the decision down to NetworkPolicy and Baseline",
            rule_words(rule, None)
        ),
        Cause::LabelChange { workload, what, .. } => format!("{what} of {workload} changed"),
    }
}

/// The location a cause points at, if any.
pub fn location(c: &Cause) -> Option<Location<'_>> {
    match c {
        Cause::NewWorkload { span, .. } | Cause::LabelChange { span, .. } => Some(Location {
            span,
            on_base: false,
        }),
        Cause::RemovedWorkload { span, .. } => Some(Location {
            span,
            on_base: true,
        }),
        Cause::RuleAllows { rule, .. } | Cause::DeniedBy { rule } | Cause::PassedDown { rule } => {
            Some(Location {
                span: &rule.span,
                on_base: false,
            })
        }
        Cause::RuleNoLongerAllows { rule, .. } | Cause::NoLongerDenied { rule } => Some(Location {
            span: &rule.span,
            on_base: true,
        }),
        Cause::NoLongerIsolated { span, .. } => Some(Location {
            span,
            on_base: false,
        }),
        Cause::NewlyIsolated { policies, .. } => policies.first().map(|(_, span)| Location {
            span,
            on_base: false,
        }),
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
    }
}
