//! Calico objects (`projectcalico.org/v3`, `crd.projectcalico.org/v1`), as
//! shared/design/semantics-calico.md describes them (CA-*, C-CA-*).

use crate::diag::Span;
use crate::model::calico_selector::Expr;
use crate::model::{Cidr, Labels};

/// A value and where it is written; two are equal when their values are,
/// so comparing declarations ignores positions.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    pub span: Span,
    pub value: T,
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

/// Any Calico object the loader reads (CA-1).
#[derive(Clone, Debug)]
pub struct CalicoObject {
    /// As written: `GlobalNetworkPolicy`, `StagedNetworkPolicy`, `Tier`, …
    pub kind: String,
    /// `crd.projectcalico.org/v1` (the storage form, CA-2): `types` is not
    /// defaulted (CA-13).
    pub crd_form: bool,
    /// Namespaced kinds only.
    pub namespace: Option<String>,
    pub name: String,
    pub span: Span,
    pub body: CalicoBody,
}

impl CalicoObject {
    /// `GlobalNetworkPolicy deny-all`, `NetworkPolicy a/web` (Calico's).
    pub fn title(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{} (projectcalico.org)", self.kind, self.name),
            None => format!("{} {} (projectcalico.org)", self.kind, self.name),
        }
    }

    /// A policy that Calico enforces on pods: not staged (CA-3), not
    /// host-only (CA-16).
    pub fn enforced_policy(&self) -> Option<&CalicoPolicy> {
        match &self.body {
            CalicoBody::Policy(p) if !p.staged && !p.host_only => Some(p),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum CalicoBody {
    /// NetworkPolicy, GlobalNetworkPolicy and their staged twins.
    Policy(Box<CalicoPolicy>),
    Tier(CalicoTier),
    NetworkSet(NetworkSet),
    /// A Profile (never applies to pods, CA-36) or a
    /// StagedKubernetesNetworkPolicy (never enforced, CA-3): validated and
    /// kept only for second declarations.
    Inert,
}

/// A Calico NetworkPolicy or GlobalNetworkPolicy (CA-9).
#[derive(Clone, Debug, PartialEq)]
pub struct CalicoPolicy {
    pub global: bool,
    /// A Staged* kind: validated, never enforced (CA-3, C-CA-14).
    pub staged: bool,
    /// `doNotTrack` or `preDNAT`: only host endpoints (CA-16).
    pub host_only: bool,
    /// `spec.tier`, `default` when absent (CA-5).
    pub tier: String,
    /// `spec.order`; None runs last (CA-32, CA-83).
    pub order: Option<f64>,
    pub selector: Spanned<Expr>,
    /// GlobalNetworkPolicy only (CA-11).
    pub namespace_selector: Option<Expr>,
    pub service_account_selector: Option<Expr>,
    /// The effective `types` after defaulting (CA-13): [ingress, egress].
    pub governs: [bool; 2],
    pub ingress: Vec<Spanned<CalicoRule>>,
    pub egress: Vec<Spanned<CalicoRule>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CalicoAction {
    Allow,
    Deny,
    Log,
    Pass,
}

impl CalicoAction {
    pub fn parse(s: &str) -> Option<CalicoAction> {
        match s {
            "Allow" => Some(CalicoAction::Allow),
            "Deny" => Some(CalicoAction::Deny),
            "Log" => Some(CalicoAction::Log),
            "Pass" => Some(CalicoAction::Pass),
            _ => None,
        }
    }
}

/// A protocol of a rule (CA-73): a name Calico knows or a number 1–255.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalicoProtocol(pub u8);

impl CalicoProtocol {
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const SCTP: u8 = 132;

    /// Names are case-sensitive; a number (or a quoted one) is the number.
    pub fn parse(s: &str) -> Option<CalicoProtocol> {
        let n = match s {
            "TCP" => 6,
            "UDP" => 17,
            "ICMP" => 1,
            "ICMPv6" => 58,
            "SCTP" => 132,
            "UDPLite" => 136,
            digits if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.parse::<u8>().ok().filter(|n| *n >= 1)?
            }
            _ => return None,
        };
        Some(CalicoProtocol(n))
    }

    /// Whether numeric ports are allowed with it (TCP, UDP, SCTP).
    pub fn has_ports(self) -> bool {
        matches!(self.0, Self::TCP | Self::UDP | Self::SCTP)
    }

    pub fn is_icmp(self) -> bool {
        matches!(self.0, 1 | 58)
    }
}

/// One item of `ports`/`notPorts` (CA-75).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CalicoPort {
    Range(u16, u16),
    Named(String),
}

/// One rule (CA-60).
#[derive(Clone, Debug, PartialEq)]
pub struct CalicoRule {
    pub action: CalicoAction,
    pub protocol: Option<CalicoProtocol>,
    pub not_protocol: Option<CalicoProtocol>,
    pub ip_version: Option<u8>,
    /// `icmp` or `notICMP` present: the rule never matches TCP, UDP or SCTP
    /// (CA-72, C-CA-7).
    pub icmp: bool,
    /// `http` present: ignored at L4 (CA-70).
    pub http: bool,
    pub source: EntityRule,
    pub destination: EntityRule,
}

/// `source` or `destination` of a rule (CA-62…CA-69).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EntityRule {
    /// A non-empty `selector` (CA-46: an empty one adds no criterion).
    pub selector: Option<Expr>,
    pub not_selector: Option<Expr>,
    pub namespace_selector: Option<Expr>,
    /// `serviceAccounts`: names (sorted) and selector (CA-68).
    pub service_accounts: Option<(Vec<String>, Option<Expr>)>,
    /// `services`: name and namespace (CA-69).
    pub service: Option<(String, Option<String>)>,
    pub nets: Vec<Cidr>,
    pub not_nets: Vec<Cidr>,
    pub ports: Vec<CalicoPort>,
    pub not_ports: Vec<CalicoPort>,
}

/// A Tier (CA-4).
#[derive(Clone, Debug, PartialEq)]
pub struct CalicoTier {
    pub order: Option<f64>,
    /// `defaultAction: Pass` (else Deny, CA-31).
    pub pass: bool,
}

/// A NetworkSet (namespaced) or GlobalNetworkSet (CA-7, C-CA-5).
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSet {
    pub labels: Labels,
    pub nets: Vec<Cidr>,
}
