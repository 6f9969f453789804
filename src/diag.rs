//! Diagnostics: every warning, assumption and input error, with a stable
//! code and a location. The core never fails on bad input; it returns
//! diagnostics and the front end decides the exit status from their severity.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

macro_rules! codes {
    ($($variant:ident => $text:literal, $sev:ident, $doc:literal;)*) => {
        /// Stable diagnostic codes, rendered kebab-case. Documented in
        /// README.md; a test keeps them unique.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }

            /// The severity a diagnostic of this code normally has.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// One line of documentation, used for the README table test.
            pub fn doc(self) -> &'static str {
                match self { $(Code::$variant => $doc,)* }
            }
        }
    };
}

codes! {
    YamlSyntax => "yaml-syntax", Error, "the file is not valid YAML or JSON";
    InputLimit => "input-limit", Error, "a file is too large, too deeply nested or expands too many aliases";
    InvalidObject => "invalid-object", Error, "an object the API server would reject (bad port, CIDR, selector, peer shape, protocol, label value)";
    DuplicateObject => "duplicate-object", Error, "an object is declared twice with different content that can change a verdict (a warning when it cannot)";
    DuplicateKey => "duplicate-key", Error, "a key is written twice in one mapping and the verdict depends on which value is kept (a warning when it cannot)";
    ApiVersionRemoved => "api-version-removed", Warning, "an apiVersion Kubernetes no longer serves: a workload is analysed as its replacement, a policy is refused (error)";
    ReadError => "read-error", Error, "a file or directory could not be read";
    SkippedKind => "skipped-kind", Info, "an object kind that does not affect reachability was skipped";
    NamespaceAssumed => "namespace-assumed", Warning, "a namespace is used but not declared; assumed to carry only kubernetes.io/metadata.name (M-9)";
    PolicyTypesDefaulted => "policy-types-defaulted", Info, "spec.policyTypes was absent or empty and was defaulted as the API server does (NP-3)";
    ProtocolDefaulted => "protocol-defaulted", Info, "port entries without protocol were defaulted to TCP as the API server does (NP-16)";
    NamedPortUnresolved => "named-port-unresolved", Warning, "a named port matches no container port of a destination; it allows nothing there (NP-19)";
    NamedPortExternal => "named-port-external", Warning, "a named port in a rule towards external addresses never matches (C4)";
    CidrHostBits => "cidr-host-bits", Warning, "a CIDR has host bits set; it is used as its masked network (NP-13)";
    IpBlockClusterRange => "ipblock-cluster-range", Warning, "an ipBlock covers typical pod ranges; IP-matching CNIs may also admit in-cluster traffic (NP-14)";
    HostNetwork => "host-network", Warning, "a hostNetwork workload is treated like any pod; most CNIs treat its traffic as node traffic (NP-27)";
    ControllerLabel => "controller-label", Warning, "a selector uses a label that controllers add per pod; template labels cannot show it (M-4)";
    BooleanLikeLabel => "boolean-like-label", Warning, "an unquoted label value such as yes/no/on/off may be read as a boolean by kubectl (E-37)";
    UnknownField => "unknown-field", Warning, "a field the API does not define; kubectl with strict validation would reject the object";
    LenientWorkload => "lenient-workload", Warning, "a workload misses a field that cannot change reachability (container name, serviceName, ownerReferences)";
    TabIndentation => "tab-indentation", Info, "a tab starts a line inside a flow collection; accepted as libyaml does";
    SelectsNothing => "selects-nothing", Warning, "a policy's subject selector matches no workload, so it has no effect (often a label typo, E-20)";
    EgressWithoutDns => "egress-without-dns", Warning, "egress-isolated workloads have no egress on port 53; name resolution will fail (E-10)";
    UnisolatedIngress => "unisolated-ingress", Warning, "workloads no policy isolates for ingress: every pod and address may reach them (NP-6)";
    UnisolatedEgress => "unisolated-egress", Info, "workloads no policy isolates for egress: they may reach every pod and address (NP-6)";
    NoDefaultDeny => "no-default-deny", Warning, "a namespace has no policy selecting every pod for a direction; a new workload there starts open";
    IngressFromAnywhere => "ingress-from-anywhere", Error, "an ingress rule admits every external address (no from, or 0.0.0.0/0 or ::/0 without except)";
    EgressToAnywhere => "egress-to-anywhere", Warning, "an egress rule allows every external address (no to, or 0.0.0.0/0 or ::/0 without except)";
    AnyNamespacePeer => "any-namespace-peer", Warning, "a peer with namespaceSelector {} matches pods in every namespace, present and future";
    AllPortsRule => "all-ports-rule", Info, "a rule with peers but no ports allows every protocol and port";
    PeerSelectsNothing => "peer-selects-nothing", Warning, "a peer's selectors match no workload in the repository; it allows nothing today";
    NamespaceLabelUnknown => "namespace-label-unknown", Warning, "a namespaceSelector requires a label no Namespace in the repository carries";
    EgressDeniedByIngress => "egress-denied-by-ingress", Warning, "an egress peer allows paths that every destination's ingress denies";
    IngressDeniedByEgress => "ingress-denied-by-egress", Warning, "an ingress peer admits sources whose own egress denies every such path";
    PeerShapeChanged => "peer-shape-changed", Warning, "a peer turned from AND (one element) into OR (two elements) or back";
    RedundantRule => "redundant-rule", Info, "a rule allows nothing that other rules of the same workloads do not already allow";
    ExposureToUnknown => "exposure-to-unknown", Info, "ingress admitted by namespace labels also admits namespaces created later with those labels";
    AdminRuleShadowed => "admin-rule-shadowed", Warning, "an Admin-tier rule never decides anything: earlier rules already decide every port it matches for every subject and peer";
    BaselineUnreachable => "baseline-unreachable", Info, "a Baseline rule never applies: NetworkPolicy isolates every workload it selects, and decides first";
    DeadPolicy => "dead-policy", Warning, "removing a NetworkPolicy changes no path: other policies already isolate the pods it selects and allow all it allows (judged with the rest of the cluster)";
    AcknowledgementUnused => "acknowledgement-unused", Warning, "an acknowledgement (`.reachdiff.yaml` `acknowledge:` or a `reachdiff.io/acknowledge` annotation) matches no finding";
    EqualPriority => "equal-priority", Warning, "two admin-tier policies share a priority; they are ordered by name (AP-4)";
    MissingRequiredField => "missing-required-field", Warning, "a field the CRD requires is missing; it is read as its empty value, as the API's Go types do";
    UnsupportedPeer => "unsupported-peer", Warning, "a peer kind reachdiff cannot model (nodes, domain names); it matches no endpoint";
    OpenWorldLimit => "open-world-limit", Warning, "too many representative classes; the rest of the cluster is left out of the analysis (OW-4)";
    CiliumMode => "cilium-mode", Info, "Cilium mode is on (CC-17): Cilium policies are analysed and NetworkPolicies are evaluated as Cilium enforces them; says why";
    CniConflict => "cni-conflict", Error, "Cilium and Calico objects in one environment without `cni:` in .reachdiff.yaml or `--cni` (CC-17)";
    CiliumIgnored => "cilium-ignored", Warning, "Cilium policies in an environment whose CNI is set to another one (`--cni`, `cni:`); they are not enforced there and are ignored";
    CiliumHostPolicyIgnored => "cilium-host-policy-ignored", Warning, "a Cilium host policy (nodeSelector) is ignored; it never changes pod verdicts of non-hostNetwork pods (CC-12)";
    CiliumNotModelled => "cilium-not-modelled", Warning, "a Cilium peer, port or condition reachdiff does not show (L7 and TLS conditions, ICMP, node and group peers); rows it would add or annotate are missing";
    CiliumFqdnWithoutDnsProxy => "cilium-fqdn-without-dns-proxy", Warning, "a toFQDNs rule whose pods have no egress rule allowing DNS on port 53 with an L7 dns rule: Cilium learns no address for the names (CI-34, EC-29)";
    CiliumHostNetwork => "cilium-host-network", Warning, "a hostNetwork workload under Cilium: never a policy subject, and as a peer it is node traffic, matched only by remote-node, cluster and all (CC-14)";
    CiliumSubjectNamespace => "cilium-cnp-subject-namespace", Warning, "a CiliumNetworkPolicy's endpointSelector names a namespace; it is overwritten (k8s:) or must equal the policy's (CI-11, EC-10)";
    CiliumNslabelPeer => "cilium-nslabel-peer-in-cnp", Warning, "a CiliumNetworkPolicy peer selects by namespace labels: not confined to the policy's namespace since Cilium 1.16 (CC-3, EC-32)";
    CiliumNegativeNamespacePeer => "cilium-negative-namespace-peer", Warning, "a peer's namespace requirement is negative, so it also matches external addresses and Cilium's entities (CI-25, EC-12)";
    CiliumLabelNotInIdentity => "cilium-label-not-in-identity", Warning, "a selector under Cilium names a label Cilium's identity filter drops; no pod carries it for policy (CI-9)";
    CiliumCidrGroupMissing => "cilium-cidrgroup-missing", Warning, "a CIDR group reference resolves to no CiliumCIDRGroup of the input; it matches nothing (CI-31)";
    CiliumServiceUnresolved => "cilium-service-unresolved", Warning, "a toServices peer names a Service that is missing or has no selector; it matches no workload (CC-15)";
    CiliumPortLeadingZero => "cilium-port-leading-zero", Warning, "a Cilium port with a leading zero is read by the agent as an octal number (EC-14)";
    CiliumPolicyTypesIgnored => "cilium-policytypes-ignored", Warning, "a NetworkPolicy section outside its policyTypes, which current Cilium enforces anyway (CC-13, cilium#48703); reachdiff follows Kubernetes";
    CalicoMode => "calico-mode", Info, "Calico mode is on (settled in issue 19, as CC-17): Calico objects are read and NetworkPolicies are evaluated as Calico enforces them; says why";
    CalicoNotEvaluated => "calico-not-evaluated", Error, "Calico policies that reachdiff validates but does not evaluate yet; the environment's answer would be wrong without them, so it fails";
    CalicoIgnored => "calico-ignored", Warning, "Calico objects in an environment whose CNI is set to another one (`--cni`, `cni:`); they are not enforced there and are ignored";
    CalicoHostNetwork => "calico-host-network", Warning, "a hostNetwork workload under Calico is not an endpoint: no policy selects it and no selector matches it (CA-20, C-CA-8)";
    CalicoProfileIgnored => "calico-profile-ignored", Warning, "a Calico Profile never applies to pods and changes no verdict (CA-36, C-CA-12)";
    CalicoStaged => "calico-staged", Warning, "a staged Calico policy is validated but never enforced (CA-3, C-CA-14)";
    CalicoDeadSection => "calico-dead-section", Warning, "Calico rules of a direction outside the policy's types, never evaluated (CA-14)";
    CalicoTypesDefaulted => "calico-types-defaulted", Warning, "a Calico policy without types whose defaulting depends on how it is installed (CA-13, C-CA-3)";
    CalicoTierMissing => "calico-tier-missing", Warning, "a Calico policy names a tier with no Tier manifest: evaluated after every known tier, default action Deny (CA-31, C-CA-4)";
    CalicoHostOnly => "calico-host-only", Warning, "a doNotTrack or preDNAT GlobalNetworkPolicy applies only to host endpoints and changes no pod verdict (CA-16)";
    IpFamilies => "ip-families", Info, "which IP families the external address space covers (Q-3)";
    Skipped => "skipped", Info, "what was not analysed, counted once per kind (hidden entries, documents of kinds that cannot change reachability); printed without -v, which lists each";
    HiddenSkipped => "hidden-skipped", Info, "a hidden file or directory (its name starts with `.`) was not read";
    NotRendered => "not-rendered", Info, "the directory mode read a kustomization's files as they are, without kustomize (patches, namespaces and generators not applied); printed without -v";
}

impl Code {
    /// Informational codes printed even without `-v`: what was left out
    /// or read differently, said once.
    pub fn always_shown(self) -> bool {
        matches!(
            self,
            Code::Skipped | Code::NotRendered | Code::CiliumMode | Code::CalicoMode
        )
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A position in a source file (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: String,
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub span: Option<Span>,
    /// `NetworkPolicy shop/allow-web`
    pub object: Option<String>,
    /// `spec.ingress[0].ports[0].port`
    pub field: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: code.severity(),
            code,
            span: None,
            object: None,
            field: None,
            message: message.into(),
        }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn object(mut self, object: impl Into<String>) -> Self {
        self.object = Some(object.into());
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `k8s/web.yaml:14:3: NetworkPolicy web/allow-db: spec.ingress[0].ports[0].port: expected integer or string`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(span) = &self.span {
            write!(f, "{span}: ")?;
        }
        if let Some(object) = &self.object {
            write!(f, "{object}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = BTreeSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {c}");
            assert!(
                c.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-')
            );
        }
    }

    #[test]
    fn every_code_is_documented_in_the_readme() {
        let readme = include_str!("../README.md");
        for c in Code::ALL {
            let row = format!("| `{}` | {} |", c.as_str(), c.severity().as_str());
            assert!(
                readme.contains(&row),
                "README.md lacks the row for {c}: {row}"
            );
        }
    }

    #[test]
    fn display_matches_contract_shape() {
        let d = Diagnostic::new(Code::InvalidObject, "expected integer or string")
            .at(Span {
                file: "k8s/web.yaml".into(),
                line: 14,
                col: 3,
            })
            .object("NetworkPolicy web/allow-db")
            .field("spec.ingress[0].ports[0].port");
        assert_eq!(
            d.to_string(),
            "k8s/web.yaml:14:3: NetworkPolicy web/allow-db: spec.ingress[0].ports[0].port: expected integer or string"
        );
    }
}
