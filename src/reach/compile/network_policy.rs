//! NetworkPolicy (`networking.k8s.io/v1`): allow rules plus isolation of
//! the pods it selects (NP-*).

use super::super::PolicyInfo;
use super::super::rules::*;
use super::{Builder, PolicyCompiler};
use crate::diag::{Code, Diagnostic, Span};
use crate::manifest::{Inventory, NetworkPolicy, NpPeerKind, NpRule};
use crate::model::Cidr;
use std::sync::Arc;

pub(super) struct NetworkPolicies;

impl PolicyCompiler for NetworkPolicies {
    fn cidrs(&self, inv: &Inventory, out: &mut Vec<Cidr>) {
        for p in &inv.policies {
            for r in p.ingress.iter().chain(&p.egress) {
                for peer in r.peers.iter().flatten() {
                    if let NpPeerKind::IpBlock { cidr, except } = &peer.kind {
                        out.push(*cidr);
                        out.extend(except.iter().copied());
                    }
                }
            }
        }
    }

    fn compile(&self, inv: &Inventory, b: &mut Builder<'_>) {
        let mut nps: Vec<&NetworkPolicy> = inv.policies.iter().collect();
        nps.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        for p in nps {
            compile_policy(inv, p, b);
        }
    }
}

fn compile_policy(inv: &Inventory, p: &NetworkPolicy, b: &mut Builder<'_>) {
    let policy_name = format!("NetworkPolicy {}/{}", p.namespace, p.name);
    let policy_id = b.add_policy(PolicyInfo {
        name: policy_name.clone(),
        span: p.span.clone(),
        selector_span: p.selector_span.clone(),
        rules: [
            if p.ingress_isolates {
                p.ingress.len()
            } else {
                0
            },
            if p.egress_isolates { p.egress.len() } else { 0 },
        ],
    });
    let subjects: Vec<usize> = {
        let spec = PeerSpec::Selectors {
            namespace: p.namespace.clone(),
            namespaces: None,
            pods: Some(p.pod_selector.clone()),
        };
        b.sel.peer(&spec).workloads.iter().collect()
    };
    // OW-8: only workloads of the repository count, and in the open world
    // `podSelector: {}` selects every pod that will ever exist there.
    let selects_real = subjects.iter().any(|&w| b.sel.real.contains(w));
    if !(selects_real || b.open_world && p.pod_selector.is_everything()) {
        b.diags.push(
            Diagnostic::new(
                Code::SelectsNothing,
                format!(
                    "spec.podSelector {} matches no workload in namespace {}, so the policy has no effect",
                    p.pod_selector, p.namespace
                ),
            )
            .at(p.selector_span.clone())
            .object(policy_name.clone()),
        );
    }
    for (d, isolates, list) in [
        (Direction::Ingress, p.ingress_isolates, &p.ingress),
        (Direction::Egress, p.egress_isolates, &p.egress),
    ] {
        // NP-5: sections of a direction not in policyTypes are dead.
        if !isolates {
            if b.sel.cilium && !list.is_empty() {
                b.diags.push(
                    Diagnostic::new(
                        Code::CiliumPolicyTypesIgnored,
                        format!(
                            "spec.{} is outside policyTypes: Kubernetes ignores it and so does reachdiff, but current Cilium enforces it (CC-13, cilium#48703)",
                            d.as_str()
                        ),
                    )
                    .at(p.span.clone())
                    .object(policy_name.clone()),
                );
            }
            continue;
        }
        for &w in &subjects {
            b.sides[w][d as usize].isolated_by.push(policy_id);
        }
        for (i, r) in list.iter().enumerate() {
            let ctx = RuleCtx {
                inv,
                policy: p,
                name: &policy_name,
                subjects: &subjects,
                direction: d,
                index: i,
            };
            compile_rule(&ctx, r, b);
        }
    }
}

struct RuleCtx<'p> {
    inv: &'p Inventory,
    policy: &'p NetworkPolicy,
    name: &'p str,
    subjects: &'p [usize],
    direction: Direction,
    index: usize,
}

fn peer_spec(p: &NetworkPolicy, kind: &NpPeerKind) -> PeerSpec {
    match kind {
        NpPeerKind::Selectors { namespaces, pods } => PeerSpec::Selectors {
            // The policy's namespace matters only when no namespaceSelector
            // is given (NP-11); leaving it out otherwise lets equal peers of
            // different namespaces share one evaluation.
            namespace: if namespaces.is_some() {
                String::new()
            } else {
                p.namespace.clone()
            },
            namespaces: namespaces.clone(),
            pods: pods.clone(),
        },
        NpPeerKind::IpBlock { cidr, except } => PeerSpec::IpBlock {
            cidr: *cidr,
            except: except.clone(),
        },
    }
}

fn compile_rule(ctx: &RuleCtx<'_>, r: &NpRule, b: &mut Builder<'_>) {
    let d = ctx.direction;
    let peer_specs: Option<Vec<PeerSpec>> = r.peers.as_ref().map(|peers| {
        peers
            .iter()
            .map(|peer| peer_spec(ctx.policy, &peer.kind))
            .collect()
    });
    let peer_sets: Vec<(Arc<EndpointSet>, Span)> = match (&peer_specs, &r.peers) {
        (Some(specs), Some(peers)) => specs
            .iter()
            .zip(peers)
            .map(|(spec, peer)| (b.sel.peer(spec), peer.span.clone()))
            .collect(),
        _ => Vec::new(),
    };
    let peers = match &peer_specs {
        None => b.sel.all_endpoints(),
        Some(_) => b.union_peers(&peer_sets),
    };
    let ports = PortMatch::from_specs(r.ports.as_deref());
    if ports.has_named() {
        warn_named_ports(ctx, &ports, &peers, r, b.diags);
    }
    let rule = Rule {
        spec: Arc::new(RuleSpec {
            tier: TierRank::NetworkPolicy,
            action: Action::Allow,
            direction: d,
            peers: peer_specs,
            ports: r.ports.clone(),
        }),
        action: Action::Allow,
        direction: d,
        tier: TierRank::NetworkPolicy,
        peers,
        peer_sets,
        ports,
        origin: RuleRef {
            policy: ctx.name.to_string(),
            tier: TierRank::NetworkPolicy,
            priority: None,
            direction: d,
            index: ctx.index,
            name: None,
            path: None,
            place: None,
            span: r.span.clone(),
        },
    };
    b.add_rule(rule, ctx.subjects);
}

/// NP-19 / C4: one warning per (rule, name), listing the destinations that
/// lack the named port, instead of one line per destination.
fn warn_named_ports(
    ctx: &RuleCtx<'_>,
    ports: &PortMatch,
    peers: &EndpointSet,
    rule: &NpRule,
    diags: &mut Vec<Diagnostic>,
) {
    let d = ctx.direction;
    let field = format!("spec.{}[{}]", d.as_str(), ctx.index);
    let destinations: Vec<usize> = match d {
        Direction::Ingress => ctx.subjects.to_vec(),
        Direction::Egress => peers.workloads.iter().collect(),
    };
    for (proto, name) in &ports.named {
        let missing: Vec<String> = destinations
            .iter()
            .map(|&w| &ctx.inv.workloads[w])
            // Representatives declare no ports by nature (OW-5).
            .filter(|w| w.representative.is_none())
            .filter(|w| {
                !w.ports.iter().any(|cp| {
                    cp.name.as_deref() == Some(name) && proto.is_none_or(|p| p == cp.protocol)
                })
            })
            .map(|w| w.id())
            .collect();
        let proto_text = proto.map_or(String::new(), |p| format!("{p} "));
        if !missing.is_empty() {
            let shown: Vec<&str> = missing.iter().take(3).map(String::as_str).collect();
            let more = if missing.len() > 3 {
                format!(" and {} more", missing.len() - 3)
            } else {
                String::new()
            };
            diags.push(
                Diagnostic::new(
                    Code::NamedPortUnresolved,
                    format!(
                        "named port {proto_text}{name:?} is not declared by {}{more}; it allows nothing there",
                        shown.join(", ")
                    ),
                )
                .at(rule.span.clone())
                .object(ctx.name.to_string())
                .field(field.clone()),
            );
        }
        if d == Direction::Egress && !peers.atoms.is_empty() {
            diags.push(
                Diagnostic::new(
                    Code::NamedPortExternal,
                    format!("named port {name:?} never matches external addresses (C4)"),
                )
                .at(rule.span.clone())
                .object(ctx.name.to_string())
                .field(field.clone()),
            );
        }
    }
}
