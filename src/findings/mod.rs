//! Findings: what the policies of one revision leave open, dead or
//! lopsided, computed from an analysed revision. Pure: an [`Analyzed`] in,
//! sorted findings out. Findings are [`Diagnostic`]s with finding codes, each
//! tagged with the namespace it is grouped under; they are not part of
//! `analysis::analyze`'s diagnostics (they would flood `reach`), and are
//! printed by `reachdiff lint` and compared by the diff.
//!
//! Every finding is exact: it states a fact about the revision as the engine
//! evaluates it, never a guess. Where a fact cannot be established cheaply
//! (an admin-tier policy that may decide the traffic, a pair budget
//! exceeded), the finding is left out rather than reported wrongly.

mod acknowledge;
mod admin;
mod asymmetric;
mod broad;
mod dead;
mod dead_policy;
mod isolation;
mod redundant;
mod shape;

use crate::analysis::Analyzed;
use crate::diag::{Code, Diagnostic};
pub use acknowledge::{acknowledge, matches as acknowledges};
pub use shape::peer_shape_changes;

/// One finding, grouped under a namespace (empty for cluster-scoped
/// objects).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub namespace: String,
    pub diagnostic: Diagnostic,
    /// The acknowledgement that marks it as intended (it never trips
    /// `--strict` then).
    pub acknowledged: Option<crate::manifest::Acknowledgement>,
    /// How many workloads a namespace-wide finding is about (the open ones
    /// of `unisolated-*`), so a diff can tell a narrowing from a widening
    /// without reading the message.
    pub workloads: Option<usize>,
}

impl Finding {
    fn new(namespace: impl Into<String>, diagnostic: Diagnostic) -> Self {
        Finding {
            namespace: namespace.into(),
            diagnostic,
            acknowledged: None,
            workloads: None,
        }
    }

    pub fn code(&self) -> Code {
        self.diagnostic.code
    }
}

/// The codes this module produces, in the order `lint` documents them.
pub const CODES: &[Code] = &[
    Code::UnisolatedIngress,
    Code::UnisolatedEgress,
    Code::NoDefaultDeny,
    Code::IngressFromAnywhere,
    Code::EgressToAnywhere,
    Code::AnyNamespacePeer,
    Code::AllPortsRule,
    Code::PeerSelectsNothing,
    Code::NamespaceLabelUnknown,
    Code::EgressDeniedByIngress,
    Code::IngressDeniedByEgress,
    Code::PeerShapeChanged,
    Code::RedundantRule,
    Code::ExposureToUnknown,
    Code::AdminRuleShadowed,
    Code::BaselineUnreachable,
    Code::DeadPolicy,
    Code::AcknowledgementUnused,
];

/// Every finding of one revision, sorted by (namespace, code, position),
/// without duplicates, acknowledged by the revision's own
/// acknowledgements (its configuration's and its annotations').
pub fn findings(a: &Analyzed) -> Vec<Finding> {
    let mut out = unacknowledged(a);
    acknowledge(&mut out, &a.inventory.acknowledgements);
    out
}

/// Every finding of one revision, none acknowledged yet (the diff decides
/// which of the head's acknowledgements count).
pub fn unacknowledged(a: &Analyzed) -> Vec<Finding> {
    let mut out = Vec::new();
    isolation::find(a, &mut out);
    broad::find(a, &mut out);
    dead::find(a, &mut out);
    dead_policy::find(a, &mut out);
    asymmetric::find(a, &mut out);
    redundant::find(a, &mut out);
    admin::find(a, &mut out);
    sort(&mut out);
    out
}

/// Sorts findings by (namespace, code, position) and drops duplicates.
pub fn sort_findings(out: &mut Vec<Finding>) {
    sort(out);
}

fn sort(out: &mut Vec<Finding>) {
    out.sort_by(|x, y| {
        (
            &x.namespace,
            x.diagnostic.code,
            &x.diagnostic.span,
            &x.diagnostic,
        )
            .cmp(&(
                &y.namespace,
                y.diagnostic.code,
                &y.diagnostic.span,
                &y.diagnostic,
            ))
    });
    out.dedup();
}

/// `a, b, c and 4 more`.
/// The field path of peer `k` of a NetworkPolicy rule:
/// `spec.ingress[1].from[0]`, `spec.egress[0].to[2]`.
fn peer_field(rule: &crate::reach::RuleRef, k: usize) -> String {
    rule.field(Some(k))
}

fn list(items: &[String], shown: usize) -> String {
    let head: Vec<&str> = items.iter().take(shown).map(String::as_str).collect();
    if items.len() > shown {
        format!("{} and {} more", head.join(", "), items.len() - shown)
    } else {
        head.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_codes_are_distinct() {
        let mut v = CODES.to_vec();
        v.sort();
        v.dedup();
        assert_eq!(v.len(), CODES.len());
    }
}
