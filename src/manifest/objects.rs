//! The typed objects reachdiff understands, decoded from YAML with their
//! positions. Nothing here knows about reachability.

use crate::diag::Span;
use crate::model::{Cidr, Labels, Protocol, Selector};

#[derive(Clone, Debug)]
pub struct Namespace {
    pub name: String,
    /// Labels with `kubernetes.io/metadata.name` forced to the name (M-7).
    pub labels: Labels,
    /// None when the namespace is assumed (M-9).
    pub span: Option<Span>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
}

#[derive(Clone, Debug)]
pub struct Workload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Pod template labels (M-2); the object's own labels are never used.
    pub labels: Labels,
    /// Ports of containers and restartable init containers (M-5).
    pub ports: Vec<ContainerPort>,
    /// Ports of init containers that are not restartable sidecars: Calico
    /// reads them too (CA-26, C-CA-9), so Calico mode adds them to `ports`.
    pub init_ports: Vec<ContainerPort>,
    pub host_network: bool,
    /// `serviceAccountName` of the pod template (None: not written, the
    /// admission controller's `default`); read for Cilium identities (CI-8).
    pub service_account: Option<String>,
    pub span: Span,
    /// Where each pod template label is written (its key), so a cause can
    /// cite the label that changed.
    pub label_spans: Vec<(String, Span)>,
    /// Set on the witness of a representative class (pods the repository
    /// does not hold, `reach::open_world`); None for objects of the input.
    pub representative: Option<std::sync::Arc<Representative>>,
}

impl Workload {
    /// The contract id: `ns/name[Kind]` (`ns/prefix*[Kind]` for an object
    /// named by `generateName`), or the representative's id.
    pub fn id(&self) -> String {
        match &self.representative {
            Some(r) => r.id.clone(),
            None => format!("{}/{}[{}]", self.namespace, self.name, self.kind),
        }
    }
}

/// What a representative endpoint stands for (contract class
/// `representative`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Representative {
    /// Contains `*` or `{`: `*/*[any]`, `monitoring/{app=prometheus}[any]`.
    pub id: String,
    /// The namespace's name, `*` for any other namespace, or `{labels}`.
    pub namespace: String,
    /// The class's namespace constraints in selector syntax (`""`: any
    /// namespace the repository does not name); None: the namespace is a
    /// known one, named by `namespace`.
    pub namespace_selector: Option<String>,
    /// The class's pod label constraints in selector syntax (`""`: any pod).
    pub pod_selector: String,
    /// Declared in `.reachdiff.yaml` `cluster:` or the built-in kube-dns.
    pub declared: bool,
    /// The class's constraints on its namespace's labels (the name is the
    /// label `kubernetes.io/metadata.name`); None: a known namespace.
    pub namespace_cells: Option<Vec<(String, LabelCells)>>,
    /// The class's constraints on pod labels; a key not listed may carry
    /// anything (or nothing). A declared endpoint lists each of its labels.
    pub pod_cells: Vec<(String, LabelCells)>,
}

impl Representative {
    /// Stands for pods of every namespace the repository does not name
    /// (only names excluded, no namespace label required): a path from it
    /// is a new exposure (docs/open-world.md, "Gates and exposure").
    pub fn is_any_other_namespace(&self) -> bool {
        self.namespace_cells.as_ref().is_some_and(|cells| {
            cells.iter().all(|(k, c)| {
                k == crate::model::selector::NAMESPACE_NAME_LABEL
                    && matches!(c, LabelCells::AllBut(_))
            })
        })
    }
}

/// The values a class allows for one label key (`None`: the key absent).
/// The lists are shared: every class of "a namespace no one names"
/// excludes every known name (thousands on a large cluster).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelCells {
    Only(std::sync::Arc<[Option<String>]>),
    AllBut(std::sync::Arc<[Option<String>]>),
}

impl LabelCells {
    /// Whether some pod of the class may carry `value` under this key.
    pub fn allows(&self, value: Option<&str>) -> bool {
        let has = |s: &[Option<String>]| s.iter().any(|x| x.as_deref() == value);
        match self {
            LabelCells::Only(s) => has(s),
            LabelCells::AllBut(s) => !has(s),
        }
    }

    /// Whether every pod of the class carries `value` under this key.
    pub fn forces(&self, value: Option<&str>) -> bool {
        matches!(self, LabelCells::Only(s) if s.len() == 1 && s[0].as_deref() == value)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetPort {
    Number(u16),
    Name(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: u16,
    pub target: TargetPort,
    pub protocol: Protocol,
}

#[derive(Clone, Debug)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    /// None for selector-less Services (out of scope, NP-29).
    pub selector: Option<Labels>,
    pub ports: Vec<ServicePort>,
    pub span: Span,
}

/// A port entry of a policy rule, after defaulting.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PortSpec {
    /// Every port of the protocol (`port` absent).
    Any(Protocol),
    /// Inclusive range of one protocol.
    Range(Protocol, u16, u16),
    /// A named port; `None` protocol means "the container port's own"
    /// (ClusterNetworkPolicy, AP-11).
    Named(Option<Protocol>, String),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NpPeerKind {
    /// `podSelector` and/or `namespaceSelector` (at least one present).
    Selectors {
        namespaces: Option<Selector>,
        pods: Option<Selector>,
    },
    IpBlock {
        cidr: Cidr,
        except: Vec<Cidr>,
    },
}

#[derive(Clone, Debug)]
pub struct NpPeer {
    pub kind: NpPeerKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct NpRule {
    pub span: Span,
    /// None: `from`/`to` absent, null or empty: every endpoint (NP-9).
    pub peers: Option<Vec<NpPeer>>,
    /// None: `ports` absent, null or empty: every port (NP-16).
    pub ports: Option<Vec<PortSpec>>,
}

#[derive(Clone, Debug)]
pub struct NetworkPolicy {
    pub namespace: String,
    pub name: String,
    pub span: Span,
    /// `spec.podSelector` (or `spec`, or the object, when absent).
    pub selector_span: Span,
    pub pod_selector: Selector,
    /// Effective policyTypes after defaulting (NP-3).
    pub ingress_isolates: bool,
    pub egress_isolates: bool,
    pub ingress: Vec<NpRule>,
    pub egress: Vec<NpRule>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Admin,
    Baseline,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AdminAction {
    Accept,
    Deny,
    Pass,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AdminSelect {
    /// All pods of matching namespaces.
    Namespaces(Selector),
    /// Matching pods in matching namespaces.
    Pods {
        namespaces: Selector,
        pods: Selector,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AdminPeer {
    Select(AdminSelect),
    Networks(Vec<Cidr>),
    /// `nodes`, `domainNames` or a field this version does not know (AP-10).
    Unsupported(String),
}

#[derive(Clone, Debug)]
pub struct AdminRule {
    pub name: Option<String>,
    pub action: AdminAction,
    pub peers: Vec<(AdminPeer, Span)>,
    /// None: every protocol and port.
    pub ports: Option<Vec<PortSpec>>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct AdminPolicy {
    /// AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy.
    pub kind: String,
    pub name: String,
    pub tier: Tier,
    /// None for BaselineAdminNetworkPolicy, which has no priority.
    pub priority: Option<u32>,
    pub subject: AdminSelect,
    pub ingress: Vec<AdminRule>,
    pub egress: Vec<AdminRule>,
    pub span: Span,
    /// `spec.subject`.
    pub subject_span: Span,
}

/// A finding marked as intended, with its reason: an entry of
/// `.reachdiff.yaml` `acknowledge:` or of a `reachdiff.io/acknowledge`
/// annotation on the object the finding names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Acknowledgement {
    /// The finding code as written (`ingress-from-anywhere`).
    pub code: String,
    /// The object the finding names (`NetworkPolicy shop/web`,
    /// `Namespace shop`).
    pub object: String,
    /// Only findings at this field or inside it (none: any field).
    pub field: Option<String>,
    pub reason: String,
    pub source: AckSource,
}

/// Where an acknowledgement is written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AckSource {
    /// `.reachdiff.yaml` `acknowledge[index]`.
    Config { index: usize },
    /// The annotation on the object, at this place.
    Annotation(Span),
}

impl std::fmt::Display for AckSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AckSource::Config { index } => write!(f, ".reachdiff.yaml acknowledge[{index}]"),
            AckSource::Annotation(s) => write!(f, "{}:{}", s.file, s.line),
        }
    }
}

/// The annotation that acknowledges findings of the object it is on.
pub const ACKNOWLEDGE_ANNOTATION: &str = "reachdiff.io/acknowledge";

/// Everything loaded from one revision.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub namespaces: Vec<Namespace>,
    /// Shared with the revision's `Analysis` (the largest part of a large
    /// revision, once per revision instead of twice); written only while
    /// loading, through `Arc::make_mut`, before anything shares it.
    pub workloads: std::sync::Arc<Vec<Workload>>,
    pub services: Vec<Service>,
    pub policies: Vec<NetworkPolicy>,
    pub admin_policies: Vec<AdminPolicy>,
    /// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (CI-1).
    pub cilium_policies: Vec<CiliumPolicy>,
    /// CiliumCIDRGroup objects (CI-31).
    pub cidr_groups: Vec<CidrGroup>,
    /// Objects that say which CNI the cluster runs (CC-17).
    pub cni_marks: CniMarks,
    /// Cilium mode (CC-17), decided once for the revisions analysed
    /// together: why it is on; None: off.
    pub cilium_mode: Option<String>,
    /// Calico objects (CA-1), kept in Calico mode only.
    pub calico: Vec<super::calico_objects::CalicoObject>,
    /// Calico mode (C-CA-8, issue 19's settlement), decided like Cilium
    /// mode: why it is on; None: off.
    pub calico_mode: Option<String>,
    /// Kind → count of skipped objects.
    pub skipped: std::collections::BTreeMap<String, usize>,
    /// The configuration's acknowledgements, then the annotations' (of the
    /// declaration kept), in object order.
    pub acknowledgements: Vec<Acknowledgement>,
}

/// Two declarations of one object compared on what the analysis reads of
/// them (positions aside): when they agree, which one the cluster keeps
/// cannot change a verdict.
pub trait VerdictInputs {
    fn same_verdict_inputs(&self, other: &Self) -> bool;
}

impl VerdictInputs for Namespace {
    fn same_verdict_inputs(&self, other: &Self) -> bool {
        self.labels == other.labels
    }
}

impl VerdictInputs for Workload {
    fn same_verdict_inputs(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.labels == other.labels
            && self.ports == other.ports
            && self.init_ports == other.init_ports
            && self.host_network == other.host_network
    }
}

impl VerdictInputs for Service {
    fn same_verdict_inputs(&self, other: &Self) -> bool {
        self.selector == other.selector && self.ports == other.ports
    }
}

fn same_np_rules(a: &[NpRule], b: &[NpRule]) -> bool {
    let peers = |r: &NpRule| -> Option<Vec<NpPeerKind>> {
        r.peers
            .as_ref()
            .map(|v| v.iter().map(|p| p.kind.clone()).collect())
    };
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.ports == y.ports && peers(x) == peers(y))
}

impl VerdictInputs for NetworkPolicy {
    fn same_verdict_inputs(&self, other: &Self) -> bool {
        self.pod_selector == other.pod_selector
            && self.ingress_isolates == other.ingress_isolates
            && self.egress_isolates == other.egress_isolates
            && same_np_rules(&self.ingress, &other.ingress)
            && same_np_rules(&self.egress, &other.egress)
    }
}

fn same_admin_rules(a: &[AdminRule], b: &[AdminRule]) -> bool {
    let peers =
        |r: &AdminRule| -> Vec<AdminPeer> { r.peers.iter().map(|(p, _)| p.clone()).collect() };
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.action == y.action && x.ports == y.ports && peers(x) == peers(y))
}

impl VerdictInputs for AdminPolicy {
    fn same_verdict_inputs(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.tier == other.tier
            && self.priority == other.priority
            && self.subject == other.subject
            && same_admin_rules(&self.ingress, &other.ingress)
            && same_admin_rules(&self.egress, &other.egress)
    }
}

// ---------------------------------------------------------------------------
// Cilium (docs: shared/design/semantics-cilium.md, CI-*)
// ---------------------------------------------------------------------------

/// A CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy (CI-1): a
/// container of rules (`spec` and `specs`, CI-2), each with its own subject.
#[derive(Clone, Debug)]
pub struct CiliumPolicy {
    /// `CiliumNetworkPolicy` or `CiliumClusterwideNetworkPolicy`.
    pub kind: String,
    /// The policy's namespace (CNP); None for a CCNP (cluster-scoped).
    pub namespace: Option<String>,
    pub name: String,
    pub span: Span,
    pub rules: Vec<CiliumRule>,
}

impl CiliumPolicy {
    /// `CiliumNetworkPolicy a/name`, `CiliumClusterwideNetworkPolicy name`.
    pub fn title(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// The four rule lists of a Cilium rule, in the order of [`CiliumRule::lists`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CiliumSection {
    Ingress,
    IngressDeny,
    Egress,
    EgressDeny,
}

impl CiliumSection {
    pub const ALL: [CiliumSection; 4] = [
        CiliumSection::Ingress,
        CiliumSection::IngressDeny,
        CiliumSection::Egress,
        CiliumSection::EgressDeny,
    ];

    pub fn key(self) -> &'static str {
        match self {
            CiliumSection::Ingress => "ingress",
            CiliumSection::IngressDeny => "ingressDeny",
            CiliumSection::Egress => "egress",
            CiliumSection::EgressDeny => "egressDeny",
        }
    }

    pub fn is_deny(self) -> bool {
        matches!(self, CiliumSection::IngressDeny | CiliumSection::EgressDeny)
    }

    pub fn is_ingress(self) -> bool {
        matches!(self, CiliumSection::Ingress | CiliumSection::IngressDeny)
    }
}

/// One rule of a Cilium policy (`spec`, or an element of `specs`).
#[derive(Clone, Debug)]
pub struct CiliumRule {
    /// `spec` or `specs[i]`.
    pub path: String,
    pub span: Span,
    /// `endpointSelector` as written (keys may carry a source prefix such
    /// as `k8s:`, CI-10); scoping is the compiler's (CI-11, CI-12).
    pub subject: Selector,
    pub subject_span: Span,
    /// `enableDefaultDeny.{ingress, egress}` when written (CI-15).
    pub default_deny: [Option<bool>; 2],
    /// Items per section, indexed like [`CiliumSection::ALL`].
    pub lists: [Vec<CiliumItem>; 4],
}

/// One element of a rule list (CI-14): one peer kind and a port part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiliumItem {
    pub span: Span,
    /// None: no peer field (CI-21).
    pub peers: Option<CiliumPeers>,
    /// None: no `toPorts` and no `icmps` (every protocol and port, CI-38);
    /// Some: the union of the entries' ports (empty: nothing, CI-21, CI-40).
    pub ports: Option<Vec<PortSpec>>,
    /// Conditions under which the ports are allowed (CC-8): `l7-http`,
    /// `l7-dns`, `tls-sni`, `listener`, `auth`, … Empty: none.
    pub conditions: Vec<String>,
}

/// The peer field of an item (at most one kind, CI-20), with each element's
/// position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiliumPeers {
    /// `fromEndpoints`, `toCIDRSet`, …
    pub field: String,
    pub kind: CiliumPeerKind,
    pub spans: Vec<Span>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CiliumPeerKind {
    /// `fromEndpoints`/`toEndpoints`: selectors as written (CI-22).
    Endpoints(Vec<Selector>),
    /// `fromCIDR`, `toCIDR`, `fromCIDRSet`, `toCIDRSet` (CI-29, CI-31).
    Cidrs(Vec<CiliumCidr>),
    /// `fromEntities`/`toEntities` (CI-27).
    Entities(Vec<String>),
    /// `toFQDNs`: `matchName` or `matchPattern` (CI-34).
    Fqdns(Vec<String>),
    /// `toServices` (CI-32).
    Services(Vec<CiliumServiceRef>),
    /// `fromNodes`/`toNodes` (CI-36).
    Nodes,
    /// `fromGroups`/`toGroups` (CI-35).
    Groups,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CidrSource {
    Cidr(Cidr),
    GroupRef(String),
    GroupSelector(Selector),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CiliumCidr {
    pub source: CidrSource,
    pub except: Vec<Cidr>,
}

/// `toServices` element: by name or by label selector; `namespace` None
/// matches Services of every namespace (CI-32).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CiliumServiceRef {
    Name {
        name: String,
        namespace: Option<String>,
    },
    Selector {
        selector: Selector,
        namespace: Option<String>,
    },
}

/// A CiliumCIDRGroup (CI-31).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CidrGroup {
    pub name: String,
    pub labels: Labels,
    pub cidrs: Vec<Cidr>,
    pub span: Span,
}

/// The first object of each CNI dialect in a revision (CC-17).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CniMarks {
    /// A `cilium.io` object or the `kube-system/cilium-config` ConfigMap.
    pub cilium: Option<(String, Span)>,
    /// A `projectcalico.org` or `crd.projectcalico.org` object.
    pub calico: Option<(String, Span)>,
}

impl CiliumItem {
    /// The same peers, ports and conditions, positions aside.
    fn same_meaning(&self, other: &CiliumItem) -> bool {
        self.peers.as_ref().map(|p| &p.kind) == other.peers.as_ref().map(|p| &p.kind)
            && self.ports == other.ports
            && self.conditions == other.conditions
    }
}

impl VerdictInputs for CiliumPolicy {
    fn same_verdict_inputs(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.rules.len() == other.rules.len()
            && self.rules.iter().zip(&other.rules).all(|(a, b)| {
                a.subject == b.subject
                    && a.default_deny == b.default_deny
                    && a.lists.iter().zip(&b.lists).all(|(x, y)| {
                        x.len() == y.len() && x.iter().zip(y).all(|(i, j)| i.same_meaning(j))
                    })
            })
    }
}

impl VerdictInputs for CidrGroup {
    fn same_verdict_inputs(&self, other: &Self) -> bool {
        self.labels == other.labels && self.cidrs == other.cidrs
    }
}
