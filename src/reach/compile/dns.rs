//! E-10: egress isolation that leaves no way to resolve names.

use super::super::PolicyInfo;
use super::super::rules::*;
use crate::diag::{Code, Diagnostic};
use crate::manifest::Inventory;
use std::collections::BTreeMap;

/// E-10: egress-isolated workloads with no rule that could allow port 53
/// (UDP or TCP) to any peer, one warning per namespace.
pub(super) fn warn_egress_without_dns(
    inv: &Inventory,
    rules: &[Rule],
    sides: &[[Side; 2]],
    policies: &[PolicyInfo],
    diags: &mut Vec<Diagnostic>,
) {
    let dns_ports = crate::model::PortSet::single(53);
    let allows_dns = |r: &Rule| -> bool {
        if r.action != Action::Allow || (r.peers.workloads.is_empty() && r.peers.atoms.is_empty()) {
            return false;
        }
        let fixed = |p| !r.ports.fixed.ports(p).intersection(&dns_ports).is_empty();
        if fixed(crate::model::Protocol::Udp) || fixed(crate::model::Protocol::Tcp) {
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
        let chain = egress.admin.iter().chain(&egress.network_policy);
        if chain.clone().any(|&r| allows_dns(&rules[r])) {
            continue;
        }
        let wl = &inv.workloads[w];
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
