//! Selector evaluation over one inventory: each distinct selector once
//! (cached), over namespaces first and then over the workloads of matching
//! namespaces, so the cost follows the number of distinct selectors rather
//! than policies × workloads.

use super::super::rules::{EndpointSet, PeerSpec};
use crate::manifest::{AdminSelect, Inventory};
use crate::model::selector::NAMESPACE_NAME_LABEL;
use crate::model::{AtomTable, BitSet, Cidr, LabelIndex, Pseudo, Selector};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub(super) struct Selection<'a> {
    inv: &'a Inventory,
    atoms: &'a AtomTable,
    ns_index: BTreeMap<&'a str, usize>,
    /// By the `kubernetes.io/metadata.name` label, which is the name for
    /// every namespace of the input (M-7) but not for the witness
    /// namespaces of representatives (several may carry one name label).
    ns_by_name_label: BTreeMap<&'a str, Vec<usize>>,
    ns_workloads: Vec<Vec<usize>>,
    // Lookup-only caches: never iterated, so hash order cannot leak into
    // output. Ordered maps here cost a tenth of the whole diff in string
    // comparisons on large clusters.
    ns_cache: HashMap<Selector, Arc<BitSet>>,
    peer_cache: HashMap<PeerSpec, Arc<EndpointSet>>,
    pod_cache: HashMap<Selector, Arc<BitSet>>,
    /// Inverted label indexes: a selector over many objects becomes a few
    /// bit-set operations (cost grows with the index, not with policies ×
    /// objects).
    namespace_labels: LabelIndex,
    workload_labels: LabelIndex,
    host_network: BitSet,
    /// Cilium mode (CC-17): pod selectors see identity labels (CC-1) and
    /// host-network workloads are node traffic (CC-14).
    pub(super) cilium: bool,
    /// Calico mode: host-network workloads are not endpoints (C-CA-8).
    calico: bool,
    /// Per workload, the labels pod selectors match: identity labels in
    /// Cilium mode, template labels otherwise (None).
    identity: Option<Vec<crate::model::Labels>>,
    /// Workloads of the input (not representatives, OW-8).
    pub(super) real: BitSet,
    /// Cilium pseudo-endpoints among the atoms (CI-33); both empty without
    /// a Cilium policy.
    entities: BitSet,
    fqdns: BitSet,
    /// Pseudo-endpoint id (`entity:host`, `fqdn:x`) → atom.
    pseudo_ids: HashMap<String, usize>,
}

/// The entity and the FQDN pseudo-endpoints among the atoms.
fn pseudo_sets(atoms: &AtomTable) -> (BitSet, BitSet) {
    let mut entities = BitSet::new(atoms.len());
    let mut fqdns = BitSet::new(atoms.len());
    for i in atoms.pseudo() {
        match &atoms.atoms()[i].pseudo {
            Some(Pseudo::Entity(_)) => entities.insert(i),
            Some(Pseudo::Fqdn(_)) => fqdns.insert(i),
            None => {}
        }
    }
    (entities, fqdns)
}

impl<'a> Selection<'a> {
    pub(super) fn new(inv: &'a Inventory, atoms: &'a AtomTable) -> Self {
        let ns_index: BTreeMap<&str, usize> = inv
            .namespaces
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect();
        let mut ns_by_name_label: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, n) in inv.namespaces.iter().enumerate() {
            if let Some(name) = n.labels.get(NAMESPACE_NAME_LABEL) {
                ns_by_name_label.entry(name.as_str()).or_default().push(i);
            }
        }
        let mut ns_workloads = vec![Vec::new(); inv.namespaces.len()];
        for (i, w) in inv.workloads.iter().enumerate() {
            if let Some(&n) = ns_index.get(w.namespace.as_str()) {
                ns_workloads[n].push(i);
            }
        }
        let mut host_network = BitSet::new(inv.workloads.len());
        for (i, w) in inv.workloads.iter().enumerate() {
            if w.host_network {
                host_network.insert(i);
            }
        }
        let mut real = BitSet::new(inv.workloads.len());
        for (i, w) in inv.workloads.iter().enumerate() {
            if w.representative.is_none() {
                real.insert(i);
            }
        }
        let cilium = inv.cilium_mode.is_some();
        let identity = cilium.then(|| super::cilium::identities(inv));
        let workload_labels = match &identity {
            Some(ids) => LabelIndex::new(ids.iter()),
            None => LabelIndex::new(inv.workloads.iter().map(|w| &w.labels)),
        };
        let (entities, fqdns) = pseudo_sets(atoms);
        let pseudo_ids = atoms.pseudo().map(|i| (atoms.atoms()[i].id(), i)).collect();
        Selection {
            pseudo_ids,
            entities,
            fqdns,
            cilium,
            calico: inv.calico_mode.is_some(),
            identity,
            real,
            inv,
            atoms,
            ns_index,
            ns_by_name_label,
            ns_workloads,
            ns_cache: HashMap::new(),
            peer_cache: HashMap::new(),
            pod_cache: HashMap::new(),
            namespace_labels: LabelIndex::new(inv.namespaces.iter().map(|n| &n.labels)),
            workload_labels,
            host_network,
        }
    }

    fn namespaces(&mut self, sel: &Selector) -> Arc<BitSet> {
        if let Some(b) = self.ns_cache.get(sel) {
            return b.clone();
        }
        let mut b = BitSet::new(self.inv.namespaces.len());
        if let Some(name) = sel.single_namespace_name() {
            // The common "namespace by name" selector needs no scan.
            for &i in self.ns_by_name_label.get(name).into_iter().flatten() {
                b.insert(i);
            }
        } else {
            b = self.namespace_labels.select(sel);
        }
        let b = Arc::new(b);
        self.ns_cache.insert(sel.clone(), b.clone());
        b
    }

    /// Workloads (all namespaces) whose labels match `sel`.
    fn pods(&mut self, sel: &Selector) -> Arc<BitSet> {
        if let Some(b) = self.pod_cache.get(sel) {
            return b.clone();
        }
        let b = Arc::new(self.workload_labels.select(sel));
        self.pod_cache.insert(sel.clone(), b.clone());
        b
    }

    /// Workloads of the namespaces in `ns` whose labels match `pods`.
    fn workloads_in(
        &mut self,
        ns: &BitSet,
        pods: Option<&Selector>,
        skip_host_network: bool,
        out: &mut BitSet,
    ) {
        // Across many namespaces, intersect index bit sets; within one or
        // two, matching their few workloads directly is cheaper.
        if ns.count() > 2 {
            let mut set = BitSet::new(self.inv.workloads.len());
            for n in ns.iter() {
                for &w in &self.ns_workloads[n] {
                    set.insert(w);
                }
            }
            if let Some(sel) = pods.filter(|s| !s.is_everything()) {
                set.intersect_with(&self.pods(sel));
            }
            if skip_host_network {
                set.subtract(&self.host_network);
            }
            out.union_with(&set);
            return;
        }
        for n in ns.iter() {
            for &w in &self.ns_workloads[n] {
                let wl = &self.inv.workloads[w];
                if skip_host_network && wl.host_network {
                    continue;
                }
                let labels = match &self.identity {
                    Some(ids) => &ids[w],
                    None => &wl.labels,
                };
                if pods.is_none_or(|s| s.matches(labels)) {
                    out.insert(w);
                }
            }
        }
    }

    pub(super) fn peer(&mut self, spec: &PeerSpec) -> Arc<EndpointSet> {
        if let Some(s) = self.peer_cache.get(spec) {
            return s.clone();
        }
        let nw = self.inv.workloads.len();
        let mut set = EndpointSet {
            workloads: BitSet::new(nw),
            atoms: BitSet::new(self.atoms.len()),
        };
        match spec {
            PeerSpec::Selectors {
                namespace,
                namespaces,
                pods,
            } => {
                let ns = match namespaces {
                    Some(sel) => self.namespaces(sel),
                    None => {
                        let mut b = BitSet::new(self.inv.namespaces.len());
                        if let Some(&i) = self.ns_index.get(namespace.as_str()) {
                            b.insert(i);
                        }
                        Arc::new(b)
                    }
                };
                // CC-14: under Cilium, pod selectors never match host-network
                // workloads (node traffic); under Calico they are not
                // endpoints (C-CA-8).
                let skip = self.cilium || self.calico;
                self.workloads_in(&ns, pods.as_ref(), skip, &mut set.workloads);
            }
            PeerSpec::IpBlock { cidr, except } => {
                self.whole_family(std::slice::from_ref(cidr), &mut set.atoms);
                for &a in self.atoms.atoms_in(cidr) {
                    set.atoms.insert(a);
                }
                let mut excluded = BitSet::new(self.atoms.len());
                for e in except {
                    for &a in self.atoms.atoms_in(e) {
                        excluded.insert(a);
                    }
                }
                set.atoms.subtract(&excluded);
            }
            PeerSpec::Admin(sel) => {
                let (nsel, psel) = match sel {
                    AdminSelect::Namespaces(n) => (n, None),
                    AdminSelect::Pods { namespaces, pods } => (namespaces, Some(pods)),
                };
                let ns = self.namespaces(nsel);
                // AP-7: host-network pods are never admin-tier subjects or peers.
                self.workloads_in(&ns, psel, true, &mut set.workloads);
            }
            PeerSpec::Networks(cidrs) => {
                self.whole_family(cidrs, &mut set.atoms);
                for c in cidrs {
                    for &a in self.atoms.atoms_in(c) {
                        set.atoms.insert(a);
                    }
                }
            }
            PeerSpec::CiliumEndpoints { .. }
            | PeerSpec::Entities(_)
            | PeerSpec::CidrSet { .. }
            | PeerSpec::Fqdn(_)
            | PeerSpec::AnyOf(_) => self.cilium_peer(spec, &mut set),
            // Compiled by the Calico compiler, never looked up here.
            PeerSpec::Nothing | PeerSpec::Calico { .. } => {}
            PeerSpec::Everything => {
                for (i, w) in self.inv.workloads.iter().enumerate() {
                    if !w.host_network {
                        set.workloads.insert(i);
                    }
                }
                set.atoms = BitSet::full(self.atoms.len());
            }
        }
        let set = Arc::new(set);
        self.peer_cache.insert(spec.clone(), set.clone());
        set
    }

    /// The Cilium peer kinds (CI-22 … CI-31, CC-4, CC-6, CC-14).
    fn cilium_peer(&mut self, spec: &PeerSpec, set: &mut EndpointSet) {
        match spec {
            PeerSpec::CiliumEndpoints { selector, reserved } => {
                set.workloads = (*self.pods(selector)).clone();
                set.workloads.subtract(&self.host_network);
                // The reserved identities' endpoints only: host-network
                // workloads are never matched by a selector (CC-14).
                for name in reserved {
                    match name.as_str() {
                        "world" => self.entity(name, set),
                        _ => self.pseudo(&Pseudo::Entity(name.clone()), set),
                    }
                }
            }
            PeerSpec::Entities(names) => {
                for e in names {
                    self.entity(e, set);
                }
            }
            PeerSpec::CidrSet { cidrs, except } => {
                self.whole_family(cidrs, &mut set.atoms);
                let mut excluded = BitSet::new(self.atoms.len());
                for e in except {
                    for &a in self.atoms.atoms_in(e) {
                        excluded.insert(a);
                    }
                }
                for c in cidrs {
                    for &a in self.atoms.atoms_in(c) {
                        if !excluded.contains(a) {
                            set.atoms.insert(a);
                        }
                    }
                }
            }
            // CI-34: the endpoint of that very name or pattern.
            PeerSpec::Fqdn(name) => self.pseudo(&Pseudo::Fqdn(name.clone()), set),
            PeerSpec::AnyOf(specs) => {
                for spec in specs {
                    let one = self.peer(spec);
                    set.workloads.union_with(&one.workloads);
                    set.atoms.union_with(&one.atoms);
                }
            }
            _ => {}
        }
    }

    /// One entity (CI-27, CC-6): `world` is every address atom and FQDN,
    /// `cluster` every workload (host-network ones too, CC-14) and entity,
    /// a named entity its pseudo-endpoint.
    fn entity(&self, name: &str, set: &mut EndpointSet) {
        let nw = self.inv.workloads.len();
        match name {
            "world" => {
                let mut world = BitSet::full(self.atoms.len());
                world.subtract(&self.entities);
                set.atoms.union_with(&world);
            }
            "cluster" | "cluster-mesh" => {
                set.workloads = BitSet::full(nw);
                set.atoms.union_with(&self.entities);
            }
            "all" => {
                set.workloads = BitSet::full(nw);
                set.atoms = BitSet::full(self.atoms.len());
            }
            _ => {
                if name == "remote-node" {
                    set.workloads.union_with(&self.host_network);
                }
                self.pseudo(&Pseudo::Entity(name.to_string()), set);
            }
        }
    }

    fn pseudo(&self, p: &Pseudo, set: &mut EndpointSet) {
        if let Some(&i) = self.pseudo_ids.get(&p.id()) {
            set.atoms.insert(i);
        }
    }

    /// CI-33: a CIDR of a whole address family (`0.0.0.0/0`, `::/0`) also
    /// names every FQDN endpoint, whose addresses are unknown (QC-2).
    fn whole_family(&self, cidrs: &[Cidr], atoms: &mut BitSet) {
        if cidrs.iter().any(|c| c.prefix == 0) {
            atoms.union_with(&self.fqdns);
        }
    }

    /// NetworkPolicy's "every endpoint" (NP-9): unlike the admin tier's
    /// `Everything`, it includes host-network workloads (C2).
    pub(super) fn all_endpoints(&self) -> Arc<EndpointSet> {
        Arc::new(EndpointSet {
            workloads: BitSet::full(self.inv.workloads.len()),
            atoms: BitSet::full(self.atoms.len()),
        })
    }

    pub(super) fn subject(&mut self, sel: &AdminSelect) -> Vec<usize> {
        let set = self.peer(&PeerSpec::Admin(sel.clone()));
        set.workloads.iter().collect()
    }
}
