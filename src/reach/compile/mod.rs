//! Inventory → rules and per-workload sides.
//!
//! Each policy kind has its own compiler (one file) behind
//! [`PolicyCompiler`]; all of them fill the same [`Builder`], so a new kind
//! adds a compiler and a line in [`COMPILERS`], never an engine.

mod admin;
pub(crate) mod calico;
pub(crate) mod cilium;
mod dns;
mod network_policy;
mod selection;

use super::rules::*;
use super::{Analysis, PolicyInfo};
use crate::diag::{Diagnostic, Span};
use crate::manifest::Inventory;
use crate::model::{AtomTable, BitSet, Cidr};
use selection::Selection;
use std::sync::Arc;

/// One policy kind: what it contributes to the address atoms and to the
/// rule chains of the workloads it selects.
trait PolicyCompiler: Sync {
    /// Every CIDR of this kind's rules (they induce atoms, M-10).
    fn cidrs(&self, inv: &Inventory, out: &mut Vec<Cidr>);
    /// Appends this kind's policies and rules to `b`.
    fn compile(&self, inv: &Inventory, b: &mut Builder<'_>);
}

/// In evaluation-independent but output-visible order: rule and policy
/// indices follow this order (admin tiers first, as before the split).
const COMPILERS: &[&dyn PolicyCompiler] = &[
    &admin::AdminTiers,
    &network_policy::NetworkPolicies,
    &cilium::CiliumPolicies,
    // Last: it merges what the others put on a side into its tier chain.
    &calico::CalicoPolicies,
];

/// Every CIDR that induces atoms, sorted and deduplicated.
pub fn cidrs(inv: &Inventory) -> Vec<Cidr> {
    let mut out = Vec::new();
    for c in COMPILERS {
        c.cidrs(inv, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// What the compilers fill: rules, the sides that reference them, and the
/// policies they come from.
struct Builder<'a> {
    sel: Selection<'a>,
    atoms: &'a AtomTable,
    natoms: usize,
    nworkloads: usize,
    /// The inventory holds representatives (OW-*), not only the input.
    open_world: bool,
    rules: Vec<Rule>,
    sides: Vec<[Side; 2]>,
    policies: Vec<PolicyInfo>,
    diags: &'a mut Vec<Diagnostic>,
}

impl<'a> Builder<'a> {
    /// Registers a policy; returns its index (for `Side::isolated_by`).
    fn add_policy(&mut self, info: PolicyInfo) -> usize {
        self.policies.push(info);
        self.policies.len() - 1
    }

    /// Adds a rule and appends it to the chain of its tier on the
    /// `subjects`' side of its direction.
    fn add_rule(&mut self, rule: Rule, subjects: &[usize]) -> RuleId {
        let id = self.rules.len();
        let (tier, d) = (rule.tier, rule.direction as usize);
        self.rules.push(rule);
        for &w in subjects {
            let side = &mut self.sides[w][d];
            match tier {
                TierRank::Admin => side.admin.push(id),
                TierRank::NetworkPolicy if self.rules[id].action == Action::Deny => {
                    side.deny.push(id)
                }
                TierRank::NetworkPolicy => side.network_policy.push(id),
                TierRank::Baseline => side.baseline.push(id),
                // Placed by the Calico compiler, which knows the order.
                TierRank::Calico => {}
            }
        }
        id
    }

    /// The union of a rule's peers (shared when there is one).
    fn union_peers(&self, sets: &[(Arc<EndpointSet>, Span)]) -> Arc<EndpointSet> {
        if let [(one, _)] = sets {
            return one.clone();
        }
        let mut set = EndpointSet {
            workloads: BitSet::new(self.nworkloads),
            atoms: BitSet::new(self.natoms),
        };
        for (p, _) in sets {
            set.workloads.union_with(&p.workloads);
            set.atoms.union_with(&p.atoms);
        }
        Arc::new(set)
    }
}

pub(super) fn compile(inv: &Inventory, atoms: AtomTable, diags: &mut Vec<Diagnostic>) -> Analysis {
    let n = inv.workloads.len();
    let (rules, sides, policies) = {
        let mut b = Builder {
            sel: Selection::new(inv, &atoms),
            atoms: &atoms,
            natoms: atoms.len(),
            nworkloads: n,
            open_world: inv.workloads.iter().any(|w| w.representative.is_some()),
            rules: Vec::new(),
            sides: (0..n).map(|_| [Side::default(), Side::default()]).collect(),
            policies: Vec::new(),
            diags,
        };
        for c in COMPILERS {
            c.compile(inv, &mut b);
        }
        (b.rules, b.sides, b.policies)
    };
    let analysis = Analysis {
        workloads: std::sync::Arc::clone(&inv.workloads),
        namespaces: inv.namespaces.clone(),
        services: inv.services.clone(),
        atoms,
        rules,
        sides,
        policies,
    };
    dns::warn_egress_without_dns(&analysis, diags);
    analysis
}
