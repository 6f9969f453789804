//! Which policies a change touches, by meaning: a policy added, removed, or
//! whose subject, isolation or rules compile differently. A pull request
//! that changes policies but no row ("3 policies changed, no path
//! changed") often holds a policy that does not apply where its author
//! thinks, so the review says so.
//!
//! Policies are matched by meaning, not by name: a rename, or a migration
//! that says the same thing in another kind (AdminNetworkPolicy to
//! ClusterNetworkPolicy, AP-1), changes nothing; a policy edited in place
//! counts once.

use crate::comparison::Comparison;
use crate::manifest::{Inventory, Tier};
use crate::reach::{Analysis, RuleSpec};
use std::collections::{BTreeMap, BTreeSet};

/// What a policy means, independent of its name and of which workloads
/// exist: its subject and isolation (in canonical form, as text), and its
/// rules' canonical content in order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Meaning<'a> {
    subject: String,
    rules: Vec<&'a RuleSpec>,
}

/// Policy name (as rules cite it) → meaning.
fn meanings<'a>(inv: &Inventory, a: &'a Analysis) -> BTreeMap<String, Meaning<'a>> {
    let mut out: BTreeMap<String, Meaning<'a>> = BTreeMap::new();
    for p in &inv.policies {
        out.insert(
            format!("NetworkPolicy {}/{}", p.namespace, p.name),
            Meaning {
                subject: format!(
                    "NetworkPolicy {} {:?} {} {}",
                    p.namespace, p.pod_selector, p.ingress_isolates, p.egress_isolates
                ),
                rules: Vec::new(),
            },
        );
    }
    for p in &inv.admin_policies {
        // A BaselineAdminNetworkPolicy has no priority (it is the only one
        // of its tier); a baseline ClusterNetworkPolicy's priority orders it
        // among others of its tier, which a BANP never meets.
        let priority = match p.tier {
            Tier::Baseline => None,
            Tier::Admin => p.priority,
        };
        out.insert(
            format!("{} {}", p.kind, p.name),
            Meaning {
                subject: format!("{:?} {:?} {:?}", p.tier, priority, p.subject),
                rules: Vec::new(),
            },
        );
    }
    for r in &a.rules {
        if let Some(m) = out.get_mut(&r.origin.policy) {
            m.rules.push(&r.spec);
        }
    }
    out
}

/// Names of the policies of `of` whose meaning `other` does not hold (as a
/// multiset: two equal policies need two equal counterparts).
fn unmatched<'x>(
    of: &'x BTreeMap<String, Meaning<'_>>,
    other: &BTreeMap<String, Meaning<'_>>,
) -> BTreeSet<&'x str> {
    let mut left: BTreeMap<&Meaning<'_>, usize> = BTreeMap::new();
    for m in other.values() {
        *left.entry(m).or_default() += 1;
    }
    of.iter()
        .filter(|(_, m)| match left.get_mut(m) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .map(|(k, _)| k.as_str())
        .collect()
}

/// The number of policies added, removed or changed in meaning between
/// the two revisions of a comparison.
pub fn changed(cmp: &Comparison) -> usize {
    let base = meanings(&cmp.base.inventory, &cmp.base.analysis);
    let head = meanings(&cmp.head.inventory, &cmp.head.analysis);
    let added_or_changed = unmatched(&head, &base);
    let removed = unmatched(&base, &head);
    added_or_changed.len() + removed.difference(&added_or_changed).count()
}
