//! AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy:
//! ordered Accept/Allow, Deny and Pass rules in the Admin and Baseline
//! tiers (AP-*).

use super::super::PolicyInfo;
use super::super::rules::*;
use super::{Builder, PolicyCompiler};
use crate::diag::{Code, Diagnostic, Span};
use crate::manifest::{AdminAction, AdminPeer, AdminPolicy, AdminRule, Inventory, Tier};
use crate::model::Cidr;
use std::sync::Arc;

pub(super) struct AdminTiers;

impl PolicyCompiler for AdminTiers {
    fn cidrs(&self, inv: &Inventory, out: &mut Vec<Cidr>) {
        for p in &inv.admin_policies {
            for r in p.ingress.iter().chain(&p.egress) {
                for (peer, _) in &r.peers {
                    if let AdminPeer::Networks(n) = peer {
                        out.extend(n.iter().copied());
                    }
                }
            }
        }
    }

    fn compile(&self, inv: &Inventory, b: &mut Builder<'_>) {
        // Admin and Baseline tiers: ordered by priority, then name (AP-3, AP-4).
        let mut admin: Vec<&AdminPolicy> = inv.admin_policies.iter().collect();
        admin.sort_by(|a, b| {
            (a.tier, a.priority.is_none(), a.priority, &a.name, &a.kind).cmp(&(
                b.tier,
                b.priority.is_none(),
                b.priority,
                &b.name,
                &b.kind,
            ))
        });
        warn_equal_priorities(&admin, b);
        for p in admin {
            compile_policy(p, b);
        }
    }
}

/// AP-4: equal priorities matter only when the policies could both match a
/// connection, i.e. when their subjects share a workload.
fn warn_equal_priorities(admin: &[&AdminPolicy], b: &mut Builder<'_>) {
    let subject_sets: Vec<Arc<EndpointSet>> = admin
        .iter()
        .map(|p| b.sel.peer(&PeerSpec::Admin(p.subject.clone())))
        .collect();
    for i in 0..admin.len() {
        for j in i + 1..admin.len() {
            let (x, y) = (admin[i], admin[j]);
            if x.tier != y.tier || x.priority.is_none() || x.priority != y.priority {
                continue;
            }
            let mut shared = subject_sets[i].workloads.clone();
            shared.intersect_with(&subject_sets[j].workloads);
            if shared.is_empty() {
                continue;
            }
            // Representatives (OW-1) are pods that may exist, not workloads
            // of the input: they are not counted, only said.
            let mut real = shared.clone();
            real.intersect_with(&b.sel.real);
            let common = match real.count() {
                0 => "no workload in common, but could both select pods outside the repository"
                    .to_string(),
                1 => "1 workload in common".to_string(),
                n => format!("{n} workloads in common"),
            };
            b.diags.push(
                Diagnostic::new(
                    Code::EqualPriority,
                    format!(
                        "{} {} and {} {} share priority {} and select {common}; evaluated in name order, which implementations need not follow",
                        x.kind,
                        x.name,
                        y.kind,
                        y.name,
                        x.priority.unwrap_or_default(),
                    ),
                )
                .at(y.span.clone())
                .object(format!("{} {}", y.kind, y.name)),
            );
        }
    }
}

fn compile_policy(p: &AdminPolicy, b: &mut Builder<'_>) {
    let tier = match p.tier {
        Tier::Admin => TierRank::Admin,
        Tier::Baseline => TierRank::Baseline,
    };
    let policy_name = format!("{} {}", p.kind, p.name);
    b.add_policy(PolicyInfo {
        name: policy_name.clone(),
        span: p.span.clone(),
        selector_span: p.subject_span.clone(),
        rules: [p.ingress.len(), p.egress.len()],
    });
    let subjects = b.sel.subject(&p.subject);
    if !subjects.iter().any(|&w| b.sel.real.contains(w)) {
        b.diags.push(
            Diagnostic::new(
                Code::SelectsNothing,
                "its subject matches no workload, so it has no effect",
            )
            .at(p.subject_span.clone())
            .object(policy_name.clone())
            .field("spec.subject"),
        );
    }
    let ctx = PolicyCtx {
        policy: p,
        name: &policy_name,
        tier,
        subjects: &subjects,
    };
    for (d, list) in [
        (Direction::Ingress, &p.ingress),
        (Direction::Egress, &p.egress),
    ] {
        for (i, r) in list.iter().enumerate() {
            compile_rule(&ctx, d, i, r, b);
        }
    }
}

struct PolicyCtx<'p> {
    policy: &'p AdminPolicy,
    name: &'p str,
    tier: TierRank,
    subjects: &'p [usize],
}

fn compile_rule(ctx: &PolicyCtx<'_>, d: Direction, i: usize, r: &AdminRule, b: &mut Builder<'_>) {
    let action = match r.action {
        AdminAction::Accept => Action::Allow,
        AdminAction::Deny => Action::Deny,
        AdminAction::Pass => Action::Pass,
    };
    let peer_specs: Vec<PeerSpec> = r
        .peers
        .iter()
        .map(|(peer, _)| match peer {
            AdminPeer::Select(s) => PeerSpec::Admin(s.clone()),
            AdminPeer::Networks(c) => PeerSpec::Networks(c.clone()),
            // AP-10: fail closed.
            AdminPeer::Unsupported(f)
                if f != "nodes" && f != "domainNames" && action != Action::Allow =>
            {
                PeerSpec::Everything
            }
            AdminPeer::Unsupported(_) => PeerSpec::Nothing,
        })
        .collect();
    let peer_sets: Vec<(Arc<EndpointSet>, Span)> = peer_specs
        .iter()
        .zip(&r.peers)
        .map(|(spec, (_, span))| (b.sel.peer(spec), span.clone()))
        .collect();
    let peers = b.union_peers(&peer_sets);
    let ports = PortMatch::from_specs(r.ports.as_deref());
    if ports.has_named() && !peers.atoms.is_empty() && d == Direction::Egress {
        b.diags.push(
            Diagnostic::new(
                Code::NamedPortExternal,
                "named ports never match external addresses; this entry allows nothing towards them",
            )
            .at(r.span.clone())
            .object(ctx.name.to_string())
            .field(format!("spec.{}[{i}]", d.as_str())),
        );
    }
    let tier = ctx.tier;
    let rule = Rule {
        spec: Arc::new(RuleSpec {
            tier,
            action,
            direction: d,
            peers: Some(peer_specs),
            ports: r.ports.clone(),
        }),
        action,
        direction: d,
        tier,
        peers,
        peer_sets,
        ports,
        origin: RuleRef {
            policy: ctx.name.to_string(),
            tier,
            priority: ctx.policy.priority,
            direction: d,
            index: i,
            name: r.name.clone(),
            path: None,
            place: None,
            span: r.span.clone(),
        },
    };
    b.add_rule(rule, ctx.subjects);
}
