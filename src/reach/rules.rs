//! The rule IR: every policy kind compiles into ordered rules with an
//! action, so NetworkPolicy (allow + isolation), the Admin tier (Accept,
//! Deny, Pass by priority) and the Baseline tier share one evaluator.

use crate::diag::Span;
use crate::manifest::{AdminSelect, PortSpec};
use crate::model::{BitSet, Cidr, ConnSet, PortSet, Protocol, Selector};
use std::fmt;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    /// The other end's direction: a connection needs `self` at one end and
    /// this at the other (NP-1).
    pub fn opposite(self) -> Direction {
        match self {
            Direction::Ingress => Direction::Egress,
            Direction::Egress => Direction::Ingress,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Allow,
    Deny,
    Pass,
}

/// Evaluation order of tiers (AP-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TierRank {
    Admin,
    NetworkPolicy,
    Baseline,
    /// A Calico policy's rule (CA-30…CA-34): its place is the side's
    /// Calico chain, ordered by tier and policy order.
    Calico,
}

impl TierRank {
    pub fn as_str(self) -> &'static str {
        match self {
            TierRank::Admin => "Admin",
            TierRank::NetworkPolicy => "NetworkPolicy",
            TierRank::Baseline => "Baseline",
            TierRank::Calico => "Calico",
        }
    }
}

/// Where a rule comes from: enough to name it and link to its line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleRef {
    /// `NetworkPolicy shop/allow-web`, `AdminNetworkPolicy deny-x`.
    pub policy: String,
    pub tier: TierRank,
    pub priority: Option<u32>,
    pub direction: Direction,
    pub index: usize,
    pub name: Option<String>,
    /// Where the rule is written when it is not `spec.<direction>[index]`
    /// (a Cilium item: `specs[1].ingressDeny[0]`), with the key of its
    /// peer list (`fromEndpoints`).
    pub path: Option<(String, String)>,
    /// A Calico rule's place in the evaluation order: `tier security,
    /// order 100` (CA-31, CA-32).
    pub place: Option<String>,
    pub span: Span,
}

impl RuleRef {
    /// The field path of the rule, or of its peer `k`:
    /// `spec.ingress[1].from[0]`, `specs[1].ingressDeny[0].fromEndpoints[1]`.
    pub fn field(&self, peer: Option<usize>) -> String {
        let (mut field, key) = match &self.path {
            Some((path, key)) => (path.clone(), key.as_str()),
            None => (
                format!("spec.{}[{}]", self.direction.as_str(), self.index),
                match self.direction {
                    Direction::Ingress => "from",
                    Direction::Egress => "to",
                },
            ),
        };
        if let Some(p) = peer {
            field.push_str(&format!(".{key}[{p}]"));
        }
        field
    }
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rule {} of {}",
            self.direction.as_str(),
            self.index,
            self.policy
        )?;
        if let Some(n) = &self.name {
            write!(f, " ({n:?})")?;
        }
        Ok(())
    }
}

/// The meaning of a peer, independent of which workloads exist: the diff
/// compares these to find rules that did not change.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerSpec {
    /// NetworkPolicy selector peer; `namespace` is the policy's (NP-11),
    /// empty when `namespaces` is given (then it does not matter).
    Selectors {
        namespace: String,
        namespaces: Option<Selector>,
        pods: Option<Selector>,
    },
    IpBlock {
        cidr: Cidr,
        except: Vec<Cidr>,
    },
    Admin(AdminSelect),
    Networks(Vec<Cidr>),
    /// A Cilium endpoint selector after namespace scoping (CI-22), its keys
    /// without source prefix, matched against identity labels (CC-1);
    /// `reserved`: the reserved identities (`world`, `host`, …) it also
    /// matches (CI-25, CI-33): `world` is every external atom and FQDN,
    /// an entity its pseudo-endpoint.
    CiliumEndpoints {
        selector: Selector,
        reserved: Vec<String>,
    },
    /// Cilium entities (CI-27).
    Entities(Vec<String>),
    /// Cilium CIDRs (a group resolved to its CIDRs) minus one entry's
    /// excepts; never workloads (CC-4).
    CidrSet {
        cidrs: Vec<Cidr>,
        except: Vec<Cidr>,
    },
    /// A `toFQDNs` name or pattern: its own pseudo-endpoint (CI-34).
    Fqdn(String),
    /// The union of several (a `toServices` element naming several Services).
    AnyOf(Vec<PeerSpec>),
    /// Matches no endpoint (nodes, domain names).
    Nothing,
    /// Matches every endpoint (an unknown peer in a Deny/Pass rule, AP-10).
    Everything,
    /// A Calico rule's criteria in canonical text (both entity rules, the
    /// policy's namespace scope, protocols and ports), and the external
    /// atoms its selectors reach through network sets (CA-28), which
    /// depend on the revision's sets.
    Calico {
        criteria: String,
        set_atoms: Vec<usize>,
    },
}

/// Canonical rule content. Equal specs on both sides of a diff mean the rule
/// allows or denies exactly the same things, given the same endpoints.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleSpec {
    pub tier: TierRank,
    pub action: Action,
    pub direction: Direction,
    /// None: every endpoint.
    pub peers: Option<Vec<PeerSpec>>,
    /// None: every protocol and port.
    pub ports: Option<Vec<PortSpec>>,
}

/// Set of endpoints: workloads and external atoms, by index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EndpointSet {
    pub workloads: BitSet,
    pub atoms: BitSet,
}

/// The ports a rule matches, given the workload whose container ports
/// resolve named ports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortMatch {
    pub fixed: ConnSet,
    pub named: Vec<(Option<Protocol>, String)>,
    /// Taken out after named ports are resolved: Calico `notPorts` and
    /// `notProtocol` (CA-74, CA-77); empty for every other kind.
    pub except: ConnSet,
}

impl PortMatch {
    pub fn from_specs(specs: Option<&[PortSpec]>) -> PortMatch {
        let Some(specs) = specs else {
            return PortMatch {
                fixed: ConnSet::all(),
                named: Vec::new(),
                except: ConnSet::empty(),
            };
        };
        let mut m = PortMatch::default();
        for s in specs {
            match s {
                PortSpec::Any(p) => m.fixed.add(*p, &PortSet::all()),
                PortSpec::Range(p, lo, hi) => m.fixed.add(*p, &PortSet::range(*lo, *hi)),
                PortSpec::Named(p, name) => m.named.push((*p, name.clone())),
            }
        }
        m.named.sort();
        m.named.dedup();
        m
    }

    pub fn has_named(&self) -> bool {
        !self.named.is_empty()
    }

    /// Whether the ports depend on the workload that resolves names.
    pub fn needs_target(&self) -> bool {
        !self.named.is_empty() || !self.except.is_empty()
    }
}

pub type RuleId = usize;

#[derive(Clone, Debug)]
pub struct Rule {
    /// Canonical content, compared across revisions by the diff.
    pub spec: Arc<RuleSpec>,
    pub action: Action,
    pub direction: Direction,
    pub tier: TierRank,
    pub peers: Arc<EndpointSet>,
    /// Each peer's own set and position, for explanations ("peer 1");
    /// empty when the rule has no peer list (every endpoint).
    pub peer_sets: Vec<(Arc<EndpointSet>, Span)>,
    pub ports: PortMatch,
    pub origin: RuleRef,
}

/// What decides one direction for one workload, in evaluation order.
#[derive(Clone, Debug, Default)]
pub struct Side {
    pub admin: Vec<RuleId>,
    /// Deny rules of the NetworkPolicy tier (Cilium `ingressDeny` and
    /// `egressDeny`): they take precedence over every allow of the tier,
    /// isolated or not (CI-16, CI-17).
    pub deny: Vec<RuleId>,
    pub network_policy: Vec<RuleId>,
    /// NetworkPolicies that isolate the workload in this direction (NP-4);
    /// empty means not isolated.
    pub isolated_by: Vec<usize>,
    pub baseline: Vec<RuleId>,
    /// Calico mode, a workload governed by a Calico policy: every tier
    /// that applies (CA-30), in order, with every rule of the side (the
    /// admin, NetworkPolicy and baseline ones among them, CA-37, CA-38);
    /// the lists above are then empty. Empty otherwise, so other sides pay
    /// nothing.
    pub calico: Vec<CalicoTierRun>,
}

/// One Calico tier that applies to a side: its rules in evaluation order
/// (Log rules left out: they decide nothing, CA-33) and what happens to
/// traffic none of them decides (CA-31).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CalicoTierRun {
    pub name: String,
    pub rules: Vec<RuleId>,
    /// `defaultAction: Pass`: undecided traffic goes on to the next tier;
    /// else it is denied.
    pub pass: bool,
}

impl Side {
    pub fn is_isolated(&self) -> bool {
        !self.isolated_by.is_empty()
    }

    /// Whether the NetworkPolicy tier's allows alone decide this side: no
    /// admin, baseline or deny rule (NP-6 holds as written).
    pub fn allows_only(&self) -> bool {
        self.admin.is_empty()
            && self.baseline.is_empty()
            && self.deny.is_empty()
            && self.calico.is_empty()
    }

    /// Every rule of the side in evaluation order.
    pub fn rules_in_order(&self) -> impl Iterator<Item = RuleId> + '_ {
        self.admin
            .iter()
            .chain(&self.deny)
            .chain(&self.network_policy)
            .chain(&self.baseline)
            .chain(self.calico.iter().flat_map(|t| &t.rules))
            .copied()
    }
}
