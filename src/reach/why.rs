//! Why a pair is denied: which side denies it (the source's egress, the
//! destination's ingress, or both, or they allow disjoint ports), what
//! isolates that side, and the NetworkPolicy rules nearest to admitting it
//! with what each lacks (a pod label, a namespace label, the policy's
//! namespace, an address, a port). Short and exact: every statement is
//! read off the same evaluator and selectors that decided the pair.

use super::{Action, Analysis, Direction, Endpoint, PeerSpec, Rule, RuleId, TierRank};
use crate::model::selector::Requirement;
use crate::model::{ConnSet, Labels};

/// What one side does with the pair.
#[derive(Clone, Debug)]
pub enum SideVerdict {
    /// It allows these ports (the other side denies them, or they are
    /// disjoint from what the other side allows).
    Allows(ConnSet),
    /// A deny rule decides (the first that did): an admin-tier Deny, or a
    /// Cilium `ingressDeny`/`egressDeny` that denies everything left.
    DeniedByAdmin(RuleId),
    /// Isolated by these policies (indices into `Analysis::policies`) and
    /// no rule of theirs admits the peer; the nearest rules, with what
    /// each lacks (empty when the peer or owner is a representative, whose
    /// labels are a class, not one pod's).
    Isolated {
        policies: Vec<usize>,
        nearest: Vec<Near>,
    },
}

/// A rule that would admit the peer if it had what it lacks.
#[derive(Clone, Debug)]
pub struct Near {
    pub rule: RuleId,
    /// The peer of the rule that comes closest (None: the rule has no peers,
    /// it matches every peer).
    pub peer: Option<usize>,
    pub lacks: Vec<Lack>,
}

/// One thing a rule lacks to admit the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lack {
    /// The peer pod's labels miss these requirements of `podSelector`.
    PodLabel(Requirement),
    /// The peer's namespace labels miss these of `namespaceSelector`.
    NamespaceLabel(Requirement),
    /// Without `namespaceSelector` a peer is of the policy's namespace only.
    Namespace(String),
    /// The peer is a pod; the rule's peer is an `ipBlock`.
    PodNotAddress,
    /// The peer is an external address; the rule's peer selects pods.
    AddressNotPod,
    /// The external address is outside this block (or in its `except`).
    Address(String),
    /// The rule's named ports do not resolve on the destination.
    NamedPort(Vec<String>),
    /// The peer is a Cilium pseudo-endpoint (CI-33) this peer does not name.
    Pseudo(crate::model::Pseudo),
}

/// Both sides of a denied pair.
#[derive(Clone, Debug)]
pub struct WhyNot {
    /// The source's egress (None: an external source, nothing to isolate).
    pub egress: Option<SideVerdict>,
    /// The destination's ingress (None: an external destination).
    pub ingress: Option<SideVerdict>,
}

/// Rules shown per side, nearest first.
const NEAREST: usize = 2;

/// Why `src` cannot reach `dst`; None when it can (some port is allowed).
pub fn why_not(a: &Analysis, src: Endpoint, dst: Endpoint) -> Option<WhyNot> {
    if !a.reach(src, dst).is_empty() {
        return None;
    }
    let egress = match src {
        Endpoint::Workload(s) => Some(side_verdict(a, Direction::Egress, s, dst)),
        Endpoint::Atom(_) => None,
    };
    let ingress = match dst {
        Endpoint::Workload(d) => Some(side_verdict(a, Direction::Ingress, d, src)),
        Endpoint::Atom(_) => None,
    };
    Some(WhyNot { egress, ingress })
}

fn side_verdict(a: &Analysis, dir: Direction, w: usize, peer: Endpoint) -> SideVerdict {
    let t = a.trace_side(dir, w, peer);
    if !t.allowed.is_empty() {
        return SideVerdict::Allows(t.allowed);
    }
    if let Some(step) = t.steps.iter().find(|s| s.action == Action::Deny) {
        // An admin-tier Deny, or a Cilium deny (CI-17) that left nothing
        // for isolation to deny.
        if a.rules[step.rule].tier != TierRank::NetworkPolicy || t.isolated_denied.is_empty() {
            return SideVerdict::DeniedByAdmin(step.rule);
        }
    }
    let side = &a.sides[w][dir as usize];
    let representative = a.workloads[w].representative.is_some()
        || matches!(peer, Endpoint::Workload(p) if a.workloads[p].representative.is_some());
    let nearest = if representative {
        Vec::new()
    } else {
        nearest(a, &side.network_policy, w, peer)
    };
    SideVerdict::Isolated {
        policies: side.isolated_by.clone(),
        nearest,
    }
}

/// The rules of a side with the fewest lacks towards `peer`.
fn nearest(a: &Analysis, rules: &[RuleId], owner: usize, peer: Endpoint) -> Vec<Near> {
    let mut all: Vec<Near> = rules
        .iter()
        .filter_map(|&r| near(a, &a.rules[r], r, owner, peer))
        .collect();
    all.sort_by_key(|n| (cost(&n.lacks), n.rule));
    let best = all.first().map_or(0, |n| cost(&n.lacks));
    all.retain(|n| cost(&n.lacks) == best);
    all.truncate(NEAREST);
    all
}

fn near(a: &Analysis, rule: &Rule, r: RuleId, owner: usize, peer: Endpoint) -> Option<Near> {
    // The destination resolves named ports (NP-18).
    let target = match (rule.direction, peer) {
        (Direction::Ingress, _) => Some(owner),
        (Direction::Egress, Endpoint::Workload(d)) => Some(d),
        (Direction::Egress, Endpoint::Atom(_)) => None,
    };
    let mut port_lack = Vec::new();
    if a.rule_ports(rule, target).is_empty() {
        let names = rule.ports.named.iter().map(|(_, n)| n.clone()).collect();
        port_lack.push(Lack::NamedPort(names));
    }
    let Some(peers) = &rule.spec.peers else {
        return Some(Near {
            rule: r,
            peer: None,
            lacks: port_lack,
        });
    };
    peers
        .iter()
        .enumerate()
        .filter_map(|(k, p)| {
            let mut lacks = peer_lacks(a, p, peer)?;
            // An address the block holds (a pseudo-endpoint the peer
            // names) lacks nothing but (maybe) a port.
            if let Endpoint::Atom(x) = peer {
                let named =
                    matches!(p, PeerSpec::IpBlock { .. }) || a.atoms.atoms()[x].pseudo.is_some();
                if named
                    && rule
                        .peer_sets
                        .get(k)
                        .is_some_and(|(set, _)| set.atoms.contains(x))
                {
                    lacks.clear();
                }
            }
            lacks.extend(port_lack.iter().cloned());
            Some(Near {
                rule: r,
                peer: Some(k),
                lacks,
            })
        })
        .min_by_key(|n| cost(&n.lacks))
}

/// How far a rule is from admitting the peer: a label or a port is one
/// edit; a peer of the wrong kind (a pod for an address) is a rewrite.
fn cost(lacks: &[Lack]) -> usize {
    lacks
        .iter()
        .map(|l| match l {
            Lack::PodNotAddress | Lack::AddressNotPod => 3,
            _ => 1,
        })
        .sum()
}

/// What peer spec `p` lacks to match `peer`; None for kinds this does not
/// explain (admin peers).
fn peer_lacks(a: &Analysis, p: &PeerSpec, peer: Endpoint) -> Option<Vec<Lack>> {
    if let Endpoint::Atom(x) = peer {
        if let Some(pseudo) = &a.atoms.atoms()[x].pseudo {
            return Some(vec![Lack::Pseudo(pseudo.clone())]);
        }
    }
    match (p, peer) {
        (
            PeerSpec::Selectors {
                namespace,
                namespaces,
                pods,
            },
            Endpoint::Workload(x),
        ) => {
            let wl = &a.workloads[x];
            let mut lacks = Vec::new();
            match namespaces {
                None if wl.namespace != *namespace => {
                    lacks.push(Lack::Namespace(namespace.clone()))
                }
                None => {}
                Some(sel) => {
                    let empty = Labels::new();
                    let labels = a
                        .namespaces
                        .iter()
                        .find(|n| n.name == wl.namespace)
                        .map_or(&empty, |n| &n.labels);
                    lacks.extend(unmet(&sel.requirements, labels).map(Lack::NamespaceLabel));
                }
            }
            if let Some(sel) = pods {
                lacks.extend(unmet(&sel.requirements, &wl.labels).map(Lack::PodLabel));
            }
            Some(lacks)
        }
        (PeerSpec::Selectors { .. }, Endpoint::Atom(_)) => Some(vec![Lack::AddressNotPod]),
        (PeerSpec::IpBlock { .. }, Endpoint::Workload(_)) => Some(vec![Lack::PodNotAddress]),
        (PeerSpec::IpBlock { cidr, .. }, Endpoint::Atom(_)) => {
            Some(vec![Lack::Address(cidr.to_string())])
        }
        _ => None,
    }
}

fn unmet<'r>(
    reqs: &'r [Requirement],
    labels: &'r Labels,
) -> impl Iterator<Item = Requirement> + 'r {
    reqs.iter().filter(|r| !r.matches(labels)).cloned()
}

/// The answer in words, one line per statement (sides first, then the
/// nearest rules under the side they belong to).
pub fn lines(a: &Analysis, src: Endpoint, dst: Endpoint, w: &WhyNot) -> Vec<String> {
    let mut out = Vec::new();
    let sides = [
        (Direction::Egress, src, dst, &w.egress),
        (Direction::Ingress, dst, src, &w.ingress),
    ];
    for (dir, owner, peer, verdict) in sides {
        let Some(v) = verdict else { continue };
        let Endpoint::Workload(o) = owner else {
            continue;
        };
        let head = format!("{} of {}", dir.as_str(), a.workloads[o].id());
        match v {
            SideVerdict::Allows(c) => {
                out.push(format!("{head}: allows {}", crate::words::conn_text(c)));
            }
            SideVerdict::DeniedByAdmin(r) => {
                let rule = &a.rules[*r];
                out.push(format!(
                    "{head}: denied by {} ({}:{})",
                    rule.origin, rule.origin.span.file, rule.origin.span.line
                ));
            }
            SideVerdict::Isolated { policies, nearest } => {
                let by: Vec<String> = policies
                    .iter()
                    .map(|&p| {
                        let info = &a.policies[p];
                        format!("{} ({}:{})", info.name, info.span.file, info.span.line)
                    })
                    .collect();
                out.push(format!(
                    "{head}: isolated by {}; no rule of theirs admits {}",
                    by.join(", "),
                    a.endpoint_id(peer)
                ));
                for n in nearest {
                    out.push(format!("  nearest: {}", near_text(a, n, peer)));
                }
            }
        }
    }
    if let (Some(SideVerdict::Allows(_)), Some(SideVerdict::Allows(_))) = (&w.egress, &w.ingress) {
        out.push("the two sides allow no port in common".to_string());
    }
    out
}

fn near_text(a: &Analysis, n: &Near, peer: Endpoint) -> String {
    let rule = &a.rules[n.rule];
    let o = &rule.origin;
    // Cilium rules name their section and peer kind (RuleRef::field).
    let field = o.field(n.peer);
    let span = match n.peer {
        Some(k) => rule.peer_sets.get(k).map_or(&o.span, |(_, s)| s),
        None => &o.span,
    };
    let lacks: Vec<String> = n.lacks.iter().map(|l| lack_text(a, l, peer)).collect();
    let what = if lacks.is_empty() {
        "matches".to_string()
    } else {
        format!("lacks {}", lacks.join("; "))
    };
    format!(
        "{field} of {} ({}:{}) {what}",
        o.policy, span.file, span.line
    )
}

fn lack_text(a: &Analysis, l: &Lack, peer: Endpoint) -> String {
    let peer_wl = match peer {
        Endpoint::Workload(x) => Some(&a.workloads[x]),
        Endpoint::Atom(_) => None,
    };
    let has = |labels: &Labels, key: &str| match labels.get(key) {
        Some(v) => format!("{key}={v}"),
        None => format!("no {key} label"),
    };
    let req = |r: &Requirement| crate::model::Selector::new(vec![r.clone()]).to_string();
    match l {
        Lack::PodLabel(r) => match peer_wl {
            Some(w) => format!("pod label {} (it has {})", req(r), has(&w.labels, &r.key)),
            None => format!("pod label {}", req(r)),
        },
        Lack::NamespaceLabel(r) => {
            let ns = peer_wl.map(|w| w.namespace.as_str()).unwrap_or_default();
            let labels = a
                .namespaces
                .iter()
                .find(|n| n.name == ns)
                .map(|n| &n.labels);
            match labels {
                Some(ls) => format!(
                    "namespace label {} (namespace {ns} has {})",
                    req(r),
                    has(ls, &r.key)
                ),
                None => format!("namespace label {} (namespace {ns})", req(r)),
            }
        }
        Lack::Namespace(ns) => {
            format!(
                "namespace {ns} (without namespaceSelector a peer is in the policy's namespace)"
            )
        }
        Lack::PodNotAddress => "an external address (an ipBlock matches no pod)".into(),
        Lack::AddressNotPod => "a pod (selectors match no external address)".into(),
        Lack::Address(c) => format!("an address in {c}, outside its except blocks"),
        Lack::NamedPort(names) => format!(
            "a container port named {} on the destination",
            names.join(", ")
        ),
        Lack::Pseudo(crate::model::Pseudo::Entity(e)) => format!(
            "entity {e} (toEntities/fromEntities {e}, cluster or all, or a reserved:{e} selector key)"
        ),
        Lack::Pseudo(crate::model::Pseudo::Fqdn(n)) => format!(
            "fqdn {n} (toFQDNs with this very name or pattern, toEntities world or all, or a /0 CIDR)"
        ),
    }
}
