//! E-10: egress isolation that leaves no way to resolve names.

use super::super::rules::*;
use super::super::{Analysis, Endpoint};
use crate::diag::{Code, Diagnostic};
use crate::model::{PortSet, Protocol};
use std::collections::BTreeMap;

/// The cluster's DNS: workloads (of the input or declared, OW-6/OW-7) in
/// `kube-system` labelled `k8s-app=kube-dns`.
fn dns_endpoints(a: &Analysis) -> Vec<usize> {
    (0..a.workloads.len())
        .filter(|&w| {
            let wl = &a.workloads[w];
            wl.namespace == "kube-system"
                && wl.labels.get("k8s-app").map(String::as_str) == Some("kube-dns")
                && wl.representative.as_ref().is_none_or(|r| r.declared)
        })
        .collect()
}

/// OW-8: whether `w` reaches some DNS endpoint on UDP or TCP 53.
fn reaches_dns(a: &Analysis, w: usize, dns: &[usize]) -> bool {
    let port = PortSet::single(53);
    dns.iter().any(|&d| {
        let c = a.reach(Endpoint::Workload(w), Endpoint::Workload(d));
        [Protocol::Udp, Protocol::Tcp]
            .into_iter()
            .any(|p| !c.ports(p).intersection(&port).is_empty())
    })
}

/// E-10: egress-isolated workloads of the input with no way to resolve
/// names, one warning per namespace. With a DNS endpoint in the analysis
/// (OW-8) that means "reaches none on port 53"; without one (closed world),
/// "no rule could allow port 53 to any peer".
pub(super) fn warn_egress_without_dns(a: &Analysis, diags: &mut Vec<Diagnostic>) {
    let (inv, rules, sides, policies) = (a, &a.rules, &a.sides, &a.policies);
    // Closed world: the E-10 rule as it always was, byte for byte.
    let open_world = a.workloads.iter().any(|w| w.representative.is_some());
    let dns = if open_world {
        dns_endpoints(a)
    } else {
        Vec::new()
    };
    let dns_ports = PortSet::single(53);
    let allows_dns = |r: &Rule| -> bool {
        if r.action != Action::Allow || (r.peers.workloads.is_empty() && r.peers.atoms.is_empty()) {
            return false;
        }
        let fixed = |p| !r.ports.fixed.ports(p).intersection(&dns_ports).is_empty();
        if fixed(Protocol::Udp) || fixed(Protocol::Tcp) {
            return true;
        }
        // A named port that resolves to 53 on some peer workload.
        r.ports.named.iter().any(|(_, name)| {
            r.peers.workloads.iter().any(|w| {
                inv.workloads[w]
                    .ports
                    .iter()
                    .any(|cp| cp.port == 53 && cp.name.as_deref() == Some(name.as_str()))
            })
        })
    };
    let mut by_ns: BTreeMap<&str, (Vec<String>, Option<crate::diag::Span>)> = BTreeMap::new();
    for (w, side) in sides.iter().enumerate() {
        let egress = &side[Direction::Egress as usize];
        if !egress.is_isolated() {
            continue;
        }
        let wl = &inv.workloads[w];
        // A DNS server resolves upstream, not through itself (OW-8).
        if wl.representative.is_some() || dns.contains(&w) {
            continue;
        }
        if dns.is_empty() {
            let mut chain = egress
                .admin
                .iter()
                .chain(&egress.network_policy)
                .chain(egress.calico.iter().flat_map(|t| &t.rules));
            if chain.any(|&r| allows_dns(&rules[r])) {
                continue;
            }
        } else if reaches_dns(a, w, &dns) {
            continue;
        }
        let entry = by_ns.entry(wl.namespace.as_str()).or_default();
        entry.0.push(wl.id());
        if entry.1.is_none() {
            // Point at a pure egress default-deny when there is one.
            let pure = egress
                .isolated_by
                .iter()
                .find(|&&p| policies[p].rules[Direction::Egress as usize] == 0);
            entry.1 = pure
                .or(egress.isolated_by.first())
                .map(|&p| policies[p].selector_span.clone());
        }
    }
    for (ns, (ids, span)) in by_ns {
        let shown: Vec<&str> = ids.iter().take(3).map(String::as_str).collect();
        let more = if ids.len() > 3 {
            format!(" and {} more", ids.len() - 3)
        } else {
            String::new()
        };
        let mut d = Diagnostic::new(
            Code::EgressWithoutDns,
            format!(
                "{} egress-isolated workload{} in namespace {ns} ({}{more}) cannot reach port 53 on UDP or TCP; name resolution will fail",
                ids.len(),
                if ids.len() == 1 { "" } else { "s" },
                shown.join(", ")
            ),
        );
        if let Some(span) = span {
            d = d.at(span);
        }
        diags.push(d);
    }
}
