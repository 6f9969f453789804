//! Which declarations can change a verdict.
//!
//! A second declaration of an object, or a key written twice in one, stops
//! an analysis only when the answer depends on which one the cluster keeps.
//! That is decided here, from what the analysis reads, not from the kind
//! alone: NetworkPolicy and the admin tiers select by labels, so every
//! Namespace, workload and policy matters, while a Service or a ConfigMap
//! matters only when a rule names it. A policy kind that references objects
//! by name (Cilium `toServices`, Calico `services`, the `cilium-config`
//! ConfigMap) adds them in [`Relevance::of`]; nothing else changes.

use super::objects::Inventory;
use std::collections::BTreeSet;
use std::fmt;

/// What the loader made of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    Namespace,
    Workload,
    Service,
    NetworkPolicy,
    /// AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy.
    Admin,
    /// CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, CiliumCIDRGroup.
    Cilium,
    /// Calico's policies, tiers, network sets, profiles (CA-1).
    Calico,
    /// A kind the analysis skips (ConfigMap, Ingress, CRDs, …).
    Other,
}

impl Class {
    /// The group of the objects' keys: empty for the Kubernetes kinds
    /// (their API groups moved over the years); Calico's NetworkPolicy is
    /// not Kubernetes', and its two API groups name one object (CA-2).
    pub fn group(self) -> &'static str {
        match self {
            Class::Calico => "projectcalico.org",
            _ => "",
        }
    }
}

/// The identity `kubectl apply` keys an object on. `group` is empty for the
/// kinds reachdiff models, whose API groups moved over the years
/// (`extensions/v1beta1` and `apps/v1` Deployments are one object);
/// `namespace` is empty for cluster-scoped kinds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// The objects whose content can change a verdict, for one revision.
#[derive(Debug, Default)]
pub struct Relevance {
    /// Objects of a class that does not matter by itself (Services, skipped
    /// kinds) which a rule of the revision references by name.
    referenced: BTreeSet<ObjectKey>,
}

impl Relevance {
    /// What the analysis of `inv` reads. NetworkPolicy and the admin tiers
    /// reference no object by name (they select by labels, NP-10, AP-2), so
    /// nothing is referenced yet.
    /// Cilium `toServices` names Services (CC-15).
    pub fn of(inv: &Inventory) -> Relevance {
        use super::objects::{CiliumPeerKind, CiliumServiceRef};
        let mut rel = Relevance::default();
        let refs = inv
            .cilium_policies
            .iter()
            .flat_map(|p| &p.rules)
            .flat_map(|r| r.lists.iter().flatten())
            .filter_map(|i| match i.peers.as_ref().map(|p| &p.kind) {
                Some(CiliumPeerKind::Services(v)) => Some(v),
                _ => None,
            })
            .flatten();
        for r in refs {
            let (name, ns) = match r {
                CiliumServiceRef::Name { name, namespace } => (Some(name), namespace),
                CiliumServiceRef::Selector { namespace, .. } => (None, namespace),
            };
            for s in &inv.services {
                if name.is_none_or(|n| n == &s.name)
                    && ns.as_ref().is_none_or(|n| n == &s.namespace)
                {
                    rel.reference(ObjectKey {
                        group: String::new(),
                        kind: "Service".into(),
                        namespace: s.namespace.clone(),
                        name: s.name.clone(),
                    });
                }
            }
        }
        rel
    }

    /// Whether the content of object `key` of class `class` can change a
    /// verdict.
    pub fn matters(&self, class: Class, key: &ObjectKey) -> bool {
        match class {
            Class::Namespace
            | Class::Workload
            | Class::NetworkPolicy
            | Class::Admin
            | Class::Cilium
            | Class::Calico => true,
            // C8: a Service never changes a verdict unless a rule names it.
            Class::Service | Class::Other => self.referenced.contains(key),
        }
    }

    /// Marks an object as referenced by a rule (for policy kinds that name
    /// objects).
    pub fn reference(&mut self, key: ObjectKey) {
        self.referenced.insert(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: &str, name: &str) -> ObjectKey {
        ObjectKey {
            group: String::new(),
            kind: kind.into(),
            namespace: "shop".into(),
            name: name.into(),
        }
    }

    #[test]
    fn services_and_skipped_kinds_matter_only_when_referenced() {
        let mut rel = Relevance::of(&Inventory::default());
        let svc = key("Service", "cart");
        assert!(!rel.matters(Class::Service, &svc));
        assert!(!rel.matters(Class::Other, &key("ConfigMap", "cfg")));
        assert!(rel.matters(Class::Namespace, &key("Namespace", "shop")));
        assert!(rel.matters(Class::NetworkPolicy, &key("NetworkPolicy", "p")));
        rel.reference(svc.clone());
        assert!(rel.matters(Class::Service, &svc));
        assert_eq!(svc.to_string(), "Service shop/cart");
    }
}
