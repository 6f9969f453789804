//! Broad NetworkPolicy rules: every external address, every namespace,
//! every port. Only sections that take effect (NP-5) are looked at; admin
//! tiers are left out (a broad Deny is the usual way to write a guard rail).

use super::Finding;
use crate::analysis::Analyzed;
use crate::diag::{Code, Diagnostic};
use crate::manifest::NpPeerKind;
use crate::reach::Direction;

pub(super) fn find(a: &Analyzed, out: &mut Vec<Finding>) {
    for p in &a.inventory.policies {
        let object = format!("NetworkPolicy {}/{}", p.namespace, p.name);
        for (dir, isolates, rules) in [
            (Direction::Ingress, p.ingress_isolates, &p.ingress),
            (Direction::Egress, p.egress_isolates, &p.egress),
        ] {
            if !isolates {
                continue;
            }
            let (anywhere, from_to) = match dir {
                Direction::Ingress => (Code::IngressFromAnywhere, "from"),
                Direction::Egress => (Code::EgressToAnywhere, "to"),
            };
            for (i, r) in rules.iter().enumerate() {
                let field = format!("spec.{}[{i}]", dir.as_str());
                let ports = if r.ports.is_none() {
                    " on every port"
                } else {
                    ""
                };
                let Some(peers) = &r.peers else {
                    let msg = match dir {
                        Direction::Ingress => format!(
                            "the rule has no `from`, so it admits every pod of every namespace and every external address{ports}"
                        ),
                        Direction::Egress => format!(
                            "the rule has no `to`, so it allows every pod of every namespace and every external address{ports}"
                        ),
                    };
                    out.push(Finding::new(
                        &p.namespace,
                        Diagnostic::new(anywhere, msg)
                            .at(r.span.clone())
                            .object(object.clone())
                            .field(field),
                    ));
                    continue;
                };
                let world: Vec<String> = peers
                    .iter()
                    .filter_map(|peer| match &peer.kind {
                        NpPeerKind::IpBlock { cidr, except }
                            if cidr.prefix == 0 && except.is_empty() =>
                        {
                            Some(cidr.to_string())
                        }
                        _ => None,
                    })
                    .collect();
                if !world.is_empty() {
                    out.push(Finding::new(
                        &p.namespace,
                        Diagnostic::new(
                            anywhere,
                            format!(
                                "ipBlock {} without except: {} every external address{ports}",
                                world.join(" and "),
                                match dir {
                                    Direction::Ingress => "admits",
                                    Direction::Egress => "allows",
                                }
                            ),
                        )
                        .at(r.span.clone())
                        .object(object.clone())
                        .field(format!("{field}.{from_to}")),
                    ));
                } else if r.ports.is_none() {
                    out.push(Finding::new(
                        &p.namespace,
                        Diagnostic::new(
                            Code::AllPortsRule,
                            "the rule has no `ports`, so it allows every protocol and port to the peers it names",
                        )
                        .at(r.span.clone())
                        .object(object.clone())
                        .field(field.clone()),
                    ));
                }
                for (k, peer) in peers.iter().enumerate() {
                    if let NpPeerKind::Selectors {
                        namespaces: Some(ns),
                        pods,
                    } = &peer.kind
                    {
                        if !ns.is_everything() {
                            continue;
                        }
                        let which = match pods.as_ref().filter(|s| !s.is_everything()) {
                            Some(s) => format!("every pod labelled {s} in every namespace"),
                            None => "every pod in every namespace".to_string(),
                        };
                        out.push(Finding::new(
                            &p.namespace,
                            Diagnostic::new(
                                Code::AnyNamespacePeer,
                                format!(
                                    "namespaceSelector {{}} matches {which}, including namespaces created later"
                                ),
                            )
                            .at(peer.span.clone())
                            .object(object.clone())
                            .field(format!("{field}.{from_to}[{k}]")),
                        ));
                    }
                }
            }
        }
    }
}
