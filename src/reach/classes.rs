//! Endpoints that every policy treats alike.
//!
//! What `reach(s, d)` answers depends on `s` only through its egress side,
//! the rules whose peers contain it, and (as a destination) its ingress
//! side and the container ports named ports resolve on; the same holds for
//! `d`. Endpoints equal in all of these are interchangeable in every row
//! and column, so one of them answers for all (M-14, NP-18). `reach
//! --group` prints the answer per class, and large listings stay readable.

use super::{Analysis, Endpoint, Side};
use crate::manifest::ContainerPort;
use std::collections::HashMap;
use std::sync::Arc;

/// A partition of the endpoints of one analysis into classes of endpoints
/// that every policy treats alike. Classes are numbered in the order of
/// their first member in the order given, members keep that order.
#[derive(Clone, Debug)]
pub struct EndpointClasses {
    pub members: Vec<Vec<Endpoint>>,
}

/// Everything a verdict can depend on, for one endpoint (exact, see the
/// module comment). Rule ids are of one analysis, so keys compare only
/// within it.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Workload {
        sides: Box<[SideKey; 2]>,
        /// Distinct peer sets (by position) that contain the workload.
        member_of: Vec<u32>,
        /// Container ports, when some rule names a port (NP-18).
        ports: Option<Vec<ContainerPort>>,
    },
    Atom {
        member_of: Vec<u32>,
        /// 0 an address, 1 an entity, 2 an FQDN (CI-33: classes never mix
        /// them), 3 `entity:host`, which CI-19 always lets in.
        kind: u8,
    },
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct SideKey {
    isolated: bool,
    admin: Vec<usize>,
    deny: Vec<usize>,
    network_policy: Vec<usize>,
    baseline: Vec<usize>,
    calico: Vec<super::CalicoTierRun>,
}

impl SideKey {
    fn of(s: &Side) -> SideKey {
        SideKey {
            isolated: s.is_isolated(),
            admin: s.admin.clone(),
            deny: s.deny.clone(),
            // Rules of a side that is not isolated never decide (NP-6).
            network_policy: if s.is_isolated() {
                s.network_policy.clone()
            } else {
                Vec::new()
            },
            baseline: s.baseline.clone(),
            calico: s.calico.clone(),
        }
    }
}

impl EndpointClasses {
    /// Classes of `order` (each endpoint once).
    pub fn of(a: &Analysis, order: &[Endpoint]) -> EndpointClasses {
        let nw = a.workloads.len();
        // Each distinct peer set once: rules share them by `Arc`.
        let mut sets: HashMap<*const super::EndpointSet, u32> = HashMap::new();
        let mut workload_sets: Vec<Vec<u32>> = vec![Vec::new(); nw];
        let mut atom_sets: Vec<Vec<u32>> = vec![Vec::new(); a.atoms.len()];
        for rule in &a.rules {
            let ptr = Arc::as_ptr(&rule.peers);
            if sets.contains_key(&ptr) {
                continue;
            }
            let id = sets.len() as u32;
            sets.insert(ptr, id);
            for w in rule.peers.workloads.iter() {
                workload_sets[w].push(id);
            }
            for x in rule.peers.atoms.iter() {
                atom_sets[x].push(id);
            }
        }
        let named = a.rules.iter().any(|r| r.ports.has_named());
        let key = |e: Endpoint| match e {
            Endpoint::Workload(w) => Key::Workload {
                sides: Box::new([SideKey::of(&a.sides[w][0]), SideKey::of(&a.sides[w][1])]),
                member_of: workload_sets[w].clone(),
                ports: named.then(|| a.workloads[w].ports.clone()),
            },
            Endpoint::Atom(x) => Key::Atom {
                member_of: atom_sets[x].clone(),
                kind: match &a.atoms.atoms()[x].pseudo {
                    _ if a.atoms.is_host(x) => 3,
                    None => 0,
                    Some(crate::model::Pseudo::Entity(_)) => 1,
                    Some(crate::model::Pseudo::Fqdn(_)) => 2,
                },
            },
        };
        let mut index: HashMap<Key, usize> = HashMap::new();
        let mut members: Vec<Vec<Endpoint>> = Vec::new();
        for &e in order {
            let k = key(e);
            let c = *index.entry(k).or_insert_with(|| {
                members.push(Vec::new());
                members.len() - 1
            });
            members[c].push(e);
        }
        EndpointClasses { members }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The endpoint that answers for class `c`.
    pub fn witness(&self, c: usize) -> Endpoint {
        self.members[c][0]
    }
}
