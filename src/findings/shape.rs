//! Peer shape changes between two revisions (E-01, E-02, NP-12): a peer
//! `namespaceSelector` + `podSelector` in one element (AND) that became two
//! elements (OR), or back — usually an indentation change.

use super::Finding;
use crate::diag::{Code, Diagnostic};
use crate::manifest::{Inventory, NetworkPolicy, NpPeer, NpPeerKind, NpRule};
use crate::model::Selector;
use std::collections::BTreeMap;

fn selectors(p: &NpPeer) -> Option<(Option<&Selector>, Option<&Selector>)> {
    match &p.kind {
        NpPeerKind::Selectors { namespaces, pods } => Some((namespaces.as_ref(), pods.as_ref())),
        NpPeerKind::IpBlock { .. } => None,
    }
}

/// Each combined peer (AND: namespaceSelector + podSelector) of `and_rule`
/// that `or_rule` no longer has as one element but as two separate ones
/// (OR), with the first of those.
fn and_to_or<'r>(and_rule: &'r NpRule, or_rule: &'r NpRule) -> Vec<(&'r NpPeer, &'r NpPeer)> {
    let (Some(and_peers), Some(or_peers)) = (&and_rule.peers, &or_rule.peers) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for peer in and_peers {
        let Some((Some(ns), Some(pods))) = selectors(peer) else {
            continue;
        };
        // Still present as one element: not a shape change.
        if or_peers
            .iter()
            .any(|o| selectors(o) == Some((Some(ns), Some(pods))))
        {
            continue;
        }
        let ns_alone = or_peers
            .iter()
            .find(|o| selectors(o) == Some((Some(ns), None)));
        let pods_alone = or_peers
            .iter()
            .any(|o| selectors(o) == Some((None, Some(pods))));
        if let (Some(first), true) = (ns_alone, pods_alone) {
            out.push((peer, first));
        }
    }
    out
}

/// Findings on the head revision for every NetworkPolicy of the same
/// name and rule index whose peers changed shape.
pub fn peer_shape_changes(base: &Inventory, head: &Inventory) -> Vec<Finding> {
    let key = |p: &NetworkPolicy| (p.namespace.clone(), p.name.clone());
    let base_by: BTreeMap<_, &NetworkPolicy> = base.policies.iter().map(|p| (key(p), p)).collect();
    let mut out = Vec::new();
    for h in &head.policies {
        let Some(b) = base_by.get(&key(h)) else {
            continue;
        };
        let object = format!("NetworkPolicy {}/{}", h.namespace, h.name);
        for (dir, from_to, brules, hrules) in [
            ("ingress", "from", &b.ingress, &h.ingress),
            ("egress", "to", &b.egress, &h.egress),
        ] {
            for (i, (br, hr)) in brules.iter().zip(hrules).enumerate() {
                let field = format!("spec.{dir}[{i}].{from_to}");
                for (and_peer, or_peer) in and_to_or(br, hr) {
                    let (ns, pods) = selectors(and_peer).unwrap_or((None, None));
                    out.push(Finding::new(
                        &h.namespace,
                        Diagnostic::new(
                            Code::PeerShapeChanged,
                            format!(
                                "namespaceSelector {} and podSelector {} were one peer (AND: only those pods in those namespaces) and are now two peers (OR: every pod of those namespaces, or those pods of namespace {}); check the indentation of the `-`",
                                fmt(ns),
                                fmt(pods),
                                h.namespace
                            ),
                        )
                        .at(or_peer.span.clone())
                        .object(object.clone())
                        .field(field.clone()),
                    ));
                }
                for (and_peer, _) in and_to_or(hr, br) {
                    let (ns, pods) = selectors(and_peer).unwrap_or((None, None));
                    out.push(Finding::new(
                        &h.namespace,
                        Diagnostic::new(
                            Code::PeerShapeChanged,
                            format!(
                                "namespaceSelector {} and podSelector {} were two peers (OR) and are now one peer (AND: only those pods in those namespaces); check the indentation of the `-`",
                                fmt(ns),
                                fmt(pods),
                            ),
                        )
                        .at(and_peer.span.clone())
                        .object(object.clone())
                        .field(field.clone()),
                    ));
                }
            }
        }
    }
    super::sort(&mut out);
    out
}

fn fmt(s: Option<&Selector>) -> String {
    s.map_or_else(String::new, ToString::to_string)
}
