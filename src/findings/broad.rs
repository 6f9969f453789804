//! Broad NetworkPolicy rules: every external address, every namespace,
//! every port. Only sections that take effect (NP-5) are looked at; admin
//! tiers are left out (a broad Deny is the usual way to write a guard rail).

use super::Finding;
use crate::analysis::Analyzed;
use crate::diag::{Code, Diagnostic};
use crate::manifest::{NpPeer, NpPeerKind, NpRule};
use crate::reach::Direction;

pub(super) fn find(a: &Analyzed, out: &mut Vec<Finding>) {
    for p in &a.inventory.policies {
        for (dir, isolates, rules) in [
            (Direction::Ingress, p.ingress_isolates, &p.ingress),
            (Direction::Egress, p.egress_isolates, &p.egress),
        ] {
            if !isolates {
                continue;
            }
            let section = Section {
                namespace: &p.namespace,
                object: format!("NetworkPolicy {}/{}", p.namespace, p.name),
                dir,
            };
            for (i, r) in rules.iter().enumerate() {
                section.rule(i, r, out);
            }
        }
    }
}

/// One direction of one policy that takes effect.
struct Section<'a> {
    namespace: &'a str,
    object: String,
    dir: Direction,
}

impl Section<'_> {
    fn finding(&self, d: Diagnostic) -> Finding {
        Finding::new(self.namespace, d.object(self.object.clone()))
    }

    /// `from` or `to`, and the code of a peer that is everything.
    fn words(&self) -> (Code, &'static str) {
        match self.dir {
            Direction::Ingress => (Code::IngressFromAnywhere, "from"),
            Direction::Egress => (Code::EgressToAnywhere, "to"),
        }
    }

    fn rule(&self, i: usize, r: &NpRule, out: &mut Vec<Finding>) {
        let (anywhere, from_to) = self.words();
        let field = format!("spec.{}[{i}]", self.dir.as_str());
        let ports = if r.ports.is_none() {
            " on every port"
        } else {
            ""
        };
        let Some(peers) = &r.peers else {
            let msg = match self.dir {
                Direction::Ingress => format!(
                    "the rule has no `from`, so it admits every pod of every namespace and every external address{ports}"
                ),
                Direction::Egress => format!(
                    "the rule has no `to`, so it allows every pod of every namespace and every external address{ports}"
                ),
            };
            out.push(
                self.finding(
                    Diagnostic::new(anywhere, msg)
                        .at(r.span.clone())
                        .field(field),
                ),
            );
            return;
        };
        let world: Vec<String> = peers
            .iter()
            .filter_map(|peer| match &peer.kind {
                NpPeerKind::IpBlock { cidr, except } if cidr.prefix == 0 && except.is_empty() => {
                    Some(cidr.to_string())
                }
                _ => None,
            })
            .collect();
        if !world.is_empty() {
            out.push(
                self.finding(
                    Diagnostic::new(
                        anywhere,
                        format!(
                            "ipBlock {} without except: {} every external address{ports}",
                            world.join(" and "),
                            match self.dir {
                                Direction::Ingress => "admits",
                                Direction::Egress => "allows",
                            }
                        ),
                    )
                    .at(r.span.clone())
                    .field(format!("{field}.{from_to}")),
                ),
            );
        } else if r.ports.is_none() {
            out.push(self.finding(
                Diagnostic::new(
                    Code::AllPortsRule,
                    "the rule has no `ports`, so it allows every protocol and port to the peers it names",
                )
                .at(r.span.clone())
                .field(field.clone()),
            ));
        }
        self.any_namespace_peers(&field, peers, out);
    }

    /// `namespaceSelector: {}` peers.
    fn any_namespace_peers(&self, field: &str, peers: &[NpPeer], out: &mut Vec<Finding>) {
        let (_, from_to) = self.words();
        for (k, peer) in peers.iter().enumerate() {
            let NpPeerKind::Selectors {
                namespaces: Some(ns),
                pods,
            } = &peer.kind
            else {
                continue;
            };
            if !ns.is_everything() {
                continue;
            }
            let which = match pods.as_ref().filter(|s| !s.is_everything()) {
                Some(s) => format!("every pod labelled {s} in every namespace"),
                None => "every pod in every namespace".to_string(),
            };
            out.push(self.finding(
                Diagnostic::new(
                    Code::AnyNamespacePeer,
                    format!(
                        "namespaceSelector {{}} matches {which}, including namespaces created later"
                    ),
                )
                .at(peer.span.clone())
                .field(format!("{field}.{from_to}[{k}]")),
            ));
        }
    }
}
