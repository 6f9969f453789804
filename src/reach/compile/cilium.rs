//! CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy
//! (semantics-cilium.md): every item of `ingress`, `ingressDeny`, `egress`,
//! `egressDeny` becomes one rule of the NetworkPolicy tier (CI-14, CI-18);
//! deny items go to the sides' deny chains, which beat every allow of the
//! tier, Kubernetes NetworkPolicy allows included (CI-17).
//!
//! Only in Cilium mode (CC-17): the inventory says so.

use super::super::PolicyInfo;
use super::super::rules::*;
use super::{Builder, PolicyCompiler};
use crate::diag::{Code, Diagnostic, Span};
use crate::manifest::{
    CidrSource, CiliumCidr, CiliumItem, CiliumPeerKind, CiliumPolicy, CiliumRule, CiliumSection,
    CiliumServiceRef, Inventory, Workload,
};
use crate::model::{
    BitSet, Cidr, ConnSet, Labels, Operator, PSEUDO_ENTITIES, PortSet, Protocol, Pseudo,
    Requirement, Selector,
};
use std::sync::Arc;

pub(super) struct CiliumPolicies;

/// CI-8 label keys.
pub const NAMESPACE_KEY: &str = "io.kubernetes.pod.namespace";
pub const NAMESPACE_LABELS_PREFIX: &str = "io.cilium.k8s.namespace.labels.";
pub const SERVICE_ACCOUNT_KEY: &str = "io.cilium.k8s.policy.serviceaccount";
pub const CLUSTER_KEY: &str = "io.cilium.k8s.policy.cluster";
/// QC-11: Cilium's default `cluster-name`.
const CLUSTER_NAME: &str = "default";

/// CI-9: whether the default identity-label filter keeps a pod label key.
pub fn identity_key_kept(key: &str) -> bool {
    const DROPPED_PREFIXES: &[&str] = &[
        "io.kubernetes",
        "kubernetes.io",
        "k8s.io",
        "topology.kubernetes.io",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "batch.kubernetes.io/job-completion-index",
        "batch.kubernetes.io/controller-uid",
        "pod-template-generation",
        "pod-template-hash",
        "controller-revision-hash",
        "controller-uid",
        "annotation",
        "etcd_node",
    ];
    if key.starts_with("app.kubernetes.io") || key.starts_with("io.cilium.k8s") {
        return true;
    }
    !DROPPED_PREFIXES.iter().any(|p| key.starts_with(p)) && !key.contains("beta.kubernetes.io")
}

/// CI-8: the identity labels of one workload (source `k8s`, keys without
/// prefix), given its namespace's labels.
pub fn identity(w: &Workload, ns_labels: Option<&Labels>) -> Labels {
    let mut out = Labels::new();
    for (k, v) in &w.labels {
        // Pods cannot spoof Cilium's own keys (CI-8); a representative's
        // witness carries them only as the class's constraints (OW-4).
        let own = k.starts_with("io.cilium.k8s");
        if (own && w.representative.is_some()) || (!own && identity_key_kept(k)) {
            out.insert(k.clone(), v.clone());
        }
    }
    out.insert(NAMESPACE_KEY.into(), w.namespace.clone());
    for (k, v) in ns_labels.into_iter().flatten() {
        out.insert(format!("{NAMESPACE_LABELS_PREFIX}{k}"), v.clone());
    }
    if w.representative.is_none() {
        let sa = w.service_account.as_deref().unwrap_or("default");
        out.insert(SERVICE_ACCOUNT_KEY.into(), sa.into());
    }
    out.insert(CLUSTER_KEY.into(), CLUSTER_NAME.into());
    out
}

/// Identity labels of every workload of the inventory, by index.
pub(super) fn identities(inv: &Inventory) -> Vec<Labels> {
    inv.workloads
        .iter()
        .map(|w| {
            let ns = inv
                .namespaces
                .binary_search_by(|n| n.name.as_str().cmp(&w.namespace))
                .ok()
                .map(|i| &inv.namespaces[i].labels)
                .or_else(|| {
                    inv.namespaces
                        .iter()
                        .find(|n| n.name == w.namespace)
                        .map(|n| &n.labels)
                });
            identity(w, ns)
        })
        .collect()
}

/// A selector key split into its source and its key (CI-10); no prefix is
/// `any`.
fn source_of(key: &str) -> (&str, &str) {
    match key.split_once(':') {
        Some((src, rest)) => (src, rest),
        None => ("any", key),
    }
}

/// The key as a pod's identity sees it: `k8s:` and `any:` keys are pod
/// label keys; any other source never matches a pod (kept with its prefix,
/// which no label key can carry).
fn pod_key(key: &str) -> String {
    match source_of(key) {
        ("k8s" | "any", k) => k.to_string(),
        _ => key.to_string(),
    }
}

/// The reserved identities (`reserved:world` and the entities of CI-33)
/// that satisfy every requirement of a raw selector (CI-25): a key of
/// source `reserved` or `any` names them, a negative requirement on any
/// other key holds for them.
fn reserved_matches(sel: &Selector) -> Vec<String> {
    std::iter::once("world")
        .chain(PSEUDO_ENTITIES)
        .filter(|name| matches_reserved(sel, name))
        .map(str::to_string)
        .collect()
}

fn matches_reserved(sel: &Selector, name: &str) -> bool {
    let world: Labels = [(name.to_string(), String::new())].into();
    sel.requirements.iter().all(|r| {
        let key = match source_of(&r.key) {
            ("any" | "reserved", k) if k == name => name,
            _ => "\u{0}absent",
        };
        Requirement {
            key: key.to_string(),
            op: r.op,
            values: r.values.clone(),
        }
        .matches(&world)
    })
}

fn base_key(key: &str) -> Option<&str> {
    match source_of(key) {
        ("k8s" | "any", k) => Some(k),
        _ => None,
    }
}

/// A raw selector scoped and turned into a peer spec (CI-22).
fn endpoints_spec(raw: &Selector) -> PeerSpec {
    let selector = Selector::new(
        raw.requirements
            .iter()
            .map(|r| Requirement {
                key: pod_key(&r.key),
                op: r.op,
                values: r.values.clone(),
            })
            .collect(),
    );
    PeerSpec::CiliumEndpoints {
        selector,
        reserved: reserved_matches(raw),
    }
}

fn ns_requirement(op: Operator, values: Vec<String>) -> Requirement {
    Requirement {
        key: format!("k8s:{NAMESPACE_KEY}"),
        op,
        values,
    }
}

/// What scoping did to a peer selector, for warnings.
#[derive(PartialEq, Eq)]
enum Scoped {
    Unchanged,
    NamespaceLabels,
    Added,
}

/// CI-22: the namespace scope of a `fromEndpoints`/`toEndpoints` selector.
fn scope_peer(sel: &Selector, namespace: Option<&str>) -> (Selector, Scoped) {
    let keys: Vec<&str> = sel.requirements.iter().map(|r| r.key.as_str()).collect();
    if keys.iter().any(|k| source_of(k).0 == "reserved")
        || keys.iter().any(|k| base_key(k) == Some(NAMESPACE_KEY))
    {
        return (sel.clone(), Scoped::Unchanged);
    }
    let mut reqs = sel.requirements.clone();
    match namespace {
        Some(_)
            if keys
                .iter()
                .any(|k| base_key(k).is_some_and(|b| b.starts_with(NAMESPACE_LABELS_PREFIX))) =>
        {
            return (sel.clone(), Scoped::NamespaceLabels);
        }
        Some(ns) => reqs.push(ns_requirement(Operator::In, vec![ns.to_string()])),
        None => reqs.push(ns_requirement(Operator::Exists, Vec::new())),
    }
    (Selector::new(reqs), Scoped::Added)
}

/// CI-11, CI-12: the subject of a rule.
fn scope_subject(sel: &Selector, namespace: Option<&str>) -> (Selector, bool) {
    let Some(ns) = namespace else {
        return (sel.clone(), false);
    };
    let names_ns = sel
        .requirements
        .iter()
        .any(|r| base_key(&r.key) == Some(NAMESPACE_KEY));
    // `k8s:io.kubernetes.pod.namespace` is overwritten by the policy's
    // namespace; the unprefixed key stays as an extra requirement (EC-10).
    let mut reqs: Vec<Requirement> = sel
        .requirements
        .iter()
        .filter(|r| r.key != format!("k8s:{NAMESPACE_KEY}"))
        .cloned()
        .collect();
    reqs.push(ns_requirement(Operator::In, vec![ns.to_string()]));
    (Selector::new(reqs), names_ns)
}

impl PolicyCompiler for CiliumPolicies {
    fn cidrs(&self, inv: &Inventory, out: &mut Vec<Cidr>) {
        if inv.cilium_mode.is_none() {
            return;
        }
        for item in items(inv) {
            if let Some(CiliumPeerKind::Cidrs(v)) = item.peers.as_ref().map(|p| &p.kind) {
                for c in v {
                    out.extend(resolve_cidrs(inv, c).0);
                    out.extend(c.except.iter().copied());
                }
            }
        }
    }

    fn compile(&self, inv: &Inventory, b: &mut Builder<'_>) {
        if inv.cilium_mode.is_none() {
            return;
        }
        let mut policies: Vec<&CiliumPolicy> = inv.cilium_policies.iter().collect();
        policies.sort_by(|x, y| {
            (&x.kind, &x.namespace, &x.name).cmp(&(&y.kind, &y.namespace, &y.name))
        });
        let dns = dns_proxied(&policies, b);
        for p in policies {
            for r in &p.rules {
                compile_rule(inv, p, r, &dns, b);
            }
        }
    }
}

/// The subjects of one rule (CI-11, CI-12), and whether its selector names
/// the namespace key.
fn rule_subjects(p: &CiliumPolicy, r: &CiliumRule, b: &mut Builder<'_>) -> (Vec<usize>, bool) {
    let (subject, names_ns) = scope_subject(&r.subject, p.namespace.as_deref());
    let subjects = b
        .sel
        .peer(&endpoints_spec(&subject))
        .workloads
        .iter()
        .collect();
    (subjects, names_ns)
}

/// CI-34: the workloads whose DNS goes through Cilium's proxy, i.e. some
/// egress allow of theirs has an L7 `dns` rule on TCP or UDP port 53.
fn dns_proxied(policies: &[&CiliumPolicy], b: &mut Builder<'_>) -> BitSet {
    let mut port53 = ConnSet::empty();
    for proto in [Protocol::Tcp, Protocol::Udp] {
        port53.add(proto, &PortSet::single(53));
    }
    let mut out = BitSet::new(b.nworkloads);
    for p in policies {
        for r in &p.rules {
            let proxies = r.lists[CiliumSection::Egress as usize].iter().any(|item| {
                item.conditions.iter().any(|c| c == "l7-dns")
                    && !PortMatch::from_specs(item.ports.as_deref())
                        .fixed
                        .intersection(&port53)
                        .is_empty()
            });
            if proxies {
                rule_subjects(p, r, b)
                    .0
                    .into_iter()
                    .for_each(|w| out.insert(w));
            }
        }
    }
    out
}

/// CI-33: the pseudo-endpoints one inventory brings: every entity and each
/// `toFQDNs` name once it holds a Cilium policy (none in a NetworkPolicy-only
/// analysis, whose output stays as it was, QC-1).
pub fn pseudo_endpoints(inv: &Inventory) -> Vec<Pseudo> {
    if inv.cilium_mode.is_none() || inv.cilium_policies.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<Pseudo> = PSEUDO_ENTITIES
        .iter()
        .map(|e| Pseudo::Entity((*e).to_string()))
        .collect();
    for item in items(inv) {
        if let Some(CiliumPeerKind::Fqdns(names)) = item.peers.as_ref().map(|p| &p.kind) {
            out.extend(names.iter().cloned().map(Pseudo::Fqdn));
        }
    }
    out
}

fn items(inv: &Inventory) -> impl Iterator<Item = &CiliumItem> {
    inv.cilium_policies
        .iter()
        .flat_map(|p| &p.rules)
        .flat_map(|r| r.lists.iter().flatten())
}

/// CI-31: a CIDR-set entry's CIDRs, its groups resolved from the input;
/// whether a reference resolved to no group.
fn resolve_cidrs(inv: &Inventory, c: &CiliumCidr) -> (Vec<Cidr>, bool) {
    match &c.source {
        CidrSource::Cidr(x) => (vec![*x], false),
        CidrSource::GroupRef(name) => match inv.cidr_groups.iter().find(|g| &g.name == name) {
            Some(g) => (g.cidrs.clone(), false),
            None => (Vec::new(), true),
        },
        CidrSource::GroupSelector(sel) => {
            let groups: Vec<_> = inv
                .cidr_groups
                .iter()
                .filter(|g| sel.matches(&g.labels))
                .collect();
            let missing = groups.is_empty();
            (
                groups.into_iter().flat_map(|g| g.cidrs.clone()).collect(),
                missing,
            )
        }
    }
}

struct RuleCtx<'p> {
    inv: &'p Inventory,
    policy: &'p CiliumPolicy,
    rule: &'p CiliumRule,
    title: String,
    subjects: Vec<usize>,
    /// Workloads whose DNS Cilium's proxy sees (CI-34).
    dns: &'p BitSet,
}

impl RuleCtx<'_> {
    fn warn(&self, b: &mut Builder<'_>, code: Code, span: &Span, field: String, message: String) {
        b.diags.push(
            Diagnostic::new(code, message)
                .at(span.clone())
                .object(self.title.clone())
                .field(field),
        );
    }
}

fn compile_rule(
    inv: &Inventory,
    p: &CiliumPolicy,
    r: &CiliumRule,
    dns: &BitSet,
    b: &mut Builder<'_>,
) {
    let (subjects, names_ns) = rule_subjects(p, r, b);
    let ctx = RuleCtx {
        inv,
        policy: p,
        rule: r,
        title: p.title(),
        subjects,
        dns,
    };
    if names_ns {
        ctx.warn(
            b,
            Code::CiliumSubjectNamespace,
            &r.subject_span,
            format!("{}.endpointSelector", r.path),
            "the subject of a CiliumNetworkPolicy is always confined to the policy's namespace: a k8s: namespace key is overwritten, an unprefixed one must equal it (CI-11, EC-10)".into(),
        );
    }
    warn_filtered_keys(
        &ctx,
        &r.subject,
        &r.subject_span,
        &format!("{}.endpointSelector", r.path),
        b,
    );
    let selects_real = ctx.subjects.iter().any(|&w| b.sel.real.contains(w));
    if !(selects_real || b.open_world && r.subject.is_everything()) {
        ctx.warn(
            b,
            Code::SelectsNothing,
            &r.subject_span,
            format!("{}.endpointSelector", r.path),
            format!(
                "endpointSelector {} matches no workload{}, so this rule has no effect",
                r.subject,
                p.namespace
                    .as_ref()
                    .map_or(String::new(), |ns| format!(" in namespace {ns}"))
            ),
        );
    }
    let allow_count = |s: CiliumSection| r.lists[s as usize].len();
    let policy_id = b.add_policy(PolicyInfo {
        name: ctx.title.clone(),
        span: p.span.clone(),
        selector_span: r.subject_span.clone(),
        rules: [
            allow_count(CiliumSection::Ingress),
            allow_count(CiliumSection::Egress),
        ],
    });
    for (d, allow, deny) in [
        (
            Direction::Ingress,
            CiliumSection::Ingress,
            CiliumSection::IngressDeny,
        ),
        (
            Direction::Egress,
            CiliumSection::Egress,
            CiliumSection::EgressDeny,
        ),
    ] {
        // CI-15: entries of this direction isolate unless enableDefaultDeny
        // says false.
        let has_entries = !r.lists[allow as usize].is_empty() || !r.lists[deny as usize].is_empty();
        if has_entries && r.default_deny[d as usize] != Some(false) {
            for &w in &ctx.subjects {
                b.sides[w][d as usize].isolated_by.push(policy_id);
            }
        }
        for section in [deny, allow] {
            for (i, item) in r.lists[section as usize].iter().enumerate() {
                compile_item(&ctx, d, section, i, item, b);
            }
        }
    }
}

/// CI-9: a selector key that Cilium's identity filter drops selects no pod.
fn warn_filtered_keys(
    ctx: &RuleCtx<'_>,
    sel: &Selector,
    span: &Span,
    field: &str,
    b: &mut Builder<'_>,
) {
    for r in &sel.requirements {
        if let Some(k) = base_key(&r.key) {
            let special = k == NAMESPACE_KEY;
            if !special && !identity_key_kept(k) {
                ctx.warn(
                    b,
                    Code::CiliumLabelNotInIdentity,
                    span,
                    field.to_string(),
                    format!("{k} is dropped by Cilium's default identity-label filter, so no pod carries it for policy (CI-9)"),
                );
            }
        }
    }
}

fn compile_item(
    ctx: &RuleCtx<'_>,
    d: Direction,
    section: CiliumSection,
    i: usize,
    item: &CiliumItem,
    b: &mut Builder<'_>,
) {
    let path = format!("{}.{}[{i}]", ctx.rule.path, section.key());
    let action = if section.is_deny() {
        Action::Deny
    } else {
        Action::Allow
    };
    let peer_specs: Option<Vec<PeerSpec>> = match &item.peers {
        // CI-21: no peer field: every peer when ports are given, nothing
        // for `- {}`.
        None if item.ports.is_some() => None,
        None => Some(Vec::new()),
        Some(peers) => Some(peer_specs(ctx, &path, peers, b)),
    };
    let peer_sets: Vec<(Arc<EndpointSet>, Span)> = match (&peer_specs, &item.peers) {
        (Some(specs), Some(peers)) => specs
            .iter()
            .zip(&peers.spans)
            .map(|(spec, span)| (b.sel.peer(spec), span.clone()))
            .collect(),
        _ => Vec::new(),
    };
    let peers = match &peer_specs {
        None => b.sel.all_endpoints(),
        Some(_) => b.union_peers(&peer_sets),
    };
    if !item.conditions.is_empty() {
        ctx.warn(
            b,
            Code::CiliumNotModelled,
            &item.span,
            path.clone(),
            format!(
                "allowed only under {} (CC-8): reachdiff shows these paths as allowed, without the condition, and does not report a change of condition",
                item.conditions.join(", ")
            ),
        );
    }
    let rule = Rule {
        spec: Arc::new(RuleSpec {
            tier: TierRank::NetworkPolicy,
            action,
            direction: d,
            peers: peer_specs,
            ports: item.ports.clone(),
        }),
        action,
        direction: d,
        tier: TierRank::NetworkPolicy,
        peers,
        peer_sets,
        ports: PortMatch::from_specs(item.ports.as_deref()),
        origin: RuleRef {
            policy: ctx.title.clone(),
            tier: TierRank::NetworkPolicy,
            priority: None,
            direction: d,
            index: i,
            name: None,
            path: Some((
                path,
                item.peers
                    .as_ref()
                    .map_or_else(String::new, |p| p.field.clone()),
            )),
            place: None,
            span: item.span.clone(),
        },
    };
    b.add_rule(rule, &ctx.subjects);
}

fn peer_specs(
    ctx: &RuleCtx<'_>,
    path: &str,
    peers: &crate::manifest::CiliumPeers,
    b: &mut Builder<'_>,
) -> Vec<PeerSpec> {
    let field = format!("{path}.{}", peers.field);
    let at = |k: usize| {
        peers
            .spans
            .get(k)
            .cloned()
            .unwrap_or_else(|| ctx.rule.span.clone())
    };
    let namespace = ctx.policy.namespace.as_deref();
    match &peers.kind {
        CiliumPeerKind::Endpoints(sels) => sels
            .iter()
            .enumerate()
            .map(|(k, raw)| {
                let (scoped, how) = scope_peer(raw, namespace);
                let spec = endpoints_spec(&scoped);
                let f = format!("{field}[{k}]");
                if how == Scoped::NamespaceLabels {
                    ctx.warn(b, Code::CiliumNslabelPeer, &at(k), f.clone(),
                        "namespace labels in a CiliumNetworkPolicy peer select pods of every namespace with those labels (Cilium ≥ 1.16; before, only the policy's namespace) (CC-3, EC-32)".into());
                }
                if matches!(&spec, PeerSpec::CiliumEndpoints { reserved, .. } if reserved.iter().any(|r| r == "world"))
                    && !raw.requirements.iter().any(|r| source_of(&r.key).0 == "reserved")
                {
                    ctx.warn(b, Code::CiliumNegativeNamespacePeer, &at(k), f.clone(),
                        "this selector's namespace requirement is negative, so it also matches the world identity: every external address, and Cilium's entities (CI-25, EC-12)".into());
                }
                warn_filtered_keys(ctx, raw, &at(k), &f, b);
                spec
            })
            .collect(),
        CiliumPeerKind::Cidrs(v) => v
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let (cidrs, missing) = resolve_cidrs(ctx.inv, c);
                if missing {
                    ctx.warn(b, Code::CiliumCidrGroupMissing, &at(k), format!("{field}[{k}]"),
                        "the CIDR group reference resolves to no CiliumCIDRGroup of the input; it matches nothing (CI-31)".into());
                }
                PeerSpec::CidrSet {
                    cidrs,
                    except: c.except.clone(),
                }
            })
            .collect(),
        CiliumPeerKind::Entities(names) => names
            .iter()
            .map(|e| PeerSpec::Entities(vec![e.clone()]))
            .collect(),
        CiliumPeerKind::Fqdns(names) => {
            warn_fqdn_without_dns(ctx, &at(0), &field, b);
            names.iter().map(|n| PeerSpec::Fqdn(n.clone())).collect()
        }
        CiliumPeerKind::Services(refs) => refs
            .iter()
            .enumerate()
            .map(|(k, s)| service_spec(ctx, s, &at(k), format!("{field}[{k}]"), b))
            .collect(),
        CiliumPeerKind::Nodes => (0..peers.spans.len())
            .map(|k| {
                ctx.warn(b, Code::CiliumNotModelled, &at(k), format!("{field}[{k}]"),
                    "node selectors need the agent flag enable-node-selector-labels; matched as remote-node: entity:remote-node and the host-network workloads (CI-36)".into());
                PeerSpec::Entities(vec!["remote-node".into()])
            })
            .collect(),
        CiliumPeerKind::Groups => (0..peers.spans.len())
            .map(|k| {
                ctx.warn(b, Code::CiliumNotModelled, &at(k), format!("{field}[{k}]"),
                    "cloud security groups are resolved at run time; this peer matches nothing here (CI-35)".into());
                PeerSpec::Nothing
            })
            .collect(),
    }
}

/// CI-34, EC-29: a `toFQDNs` rule learns addresses only from DNS answers
/// Cilium's proxy sees; a subject without an L7 `dns` rule on port 53
/// reaches none of the names at run time.
fn warn_fqdn_without_dns(ctx: &RuleCtx<'_>, span: &Span, field: &str, b: &mut Builder<'_>) {
    let blind: Vec<usize> = ctx
        .subjects
        .iter()
        .copied()
        .filter(|&w| b.sel.real.contains(w) && !ctx.dns.contains(w))
        .collect();
    let Some(&first) = blind.first() else {
        return;
    };
    let more = match blind.len() {
        1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    ctx.warn(b, Code::CiliumFqdnWithoutDnsProxy, span, field.to_string(),
        format!("{}{more} has no egress rule allowing DNS (port 53) with an L7 dns rule, so Cilium learns no address for these names and the paths shown to them do not work at run time (CI-34, EC-29)",
            ctx.inv.workloads[first].id()));
}

/// The pods behind a selector Service: its selector's labels, in its
/// namespace (CC-15).
fn service_backends(labels: &Labels, namespace: &str) -> Selector {
    let mut reqs: Vec<Requirement> = labels
        .iter()
        .map(|(k, v)| Requirement {
            key: k.clone(),
            op: Operator::In,
            values: vec![v.clone()],
        })
        .collect();
    reqs.push(Requirement {
        key: NAMESPACE_KEY.into(),
        op: Operator::In,
        values: vec![namespace.to_string()],
    });
    Selector::new(reqs)
}

/// CC-15, CI-32: a `toServices` element as the backends of the Services it
/// names in the input (a selector Service's selector in its namespace).
fn service_spec(
    ctx: &RuleCtx<'_>,
    s: &CiliumServiceRef,
    span: &Span,
    field: String,
    b: &mut Builder<'_>,
) -> PeerSpec {
    let (namespace, by_name, by_sel) = match s {
        CiliumServiceRef::Name { name, namespace } => (namespace, Some(name), None),
        CiliumServiceRef::Selector {
            selector,
            namespace,
        } => (namespace, None, Some(selector)),
    };
    let mut specs = Vec::new();
    let mut selectorless = Vec::new();
    for svc in &ctx.inv.services {
        let ns_ok = namespace.as_ref().is_none_or(|n| n == &svc.namespace);
        let name_ok = by_name.is_none_or(|n| n == &svc.name);
        let sel_ok = by_sel.is_none_or(|sel| {
            // Service labels are not read; a selector reference matches
            // Services by name label only when it names none.
            sel.is_everything()
        });
        if !(ns_ok && name_ok && sel_ok) {
            continue;
        }
        match &svc.selector {
            Some(labels) => {
                specs.push(PeerSpec::CiliumEndpoints {
                    selector: service_backends(labels, &svc.namespace),
                    reserved: Vec::new(),
                });
            }
            None => selectorless.push(format!("{}/{}", svc.namespace, svc.name)),
        }
    }
    if by_sel.is_some_and(|s| !s.is_everything()) {
        ctx.warn(b, Code::CiliumNotModelled, span, field.clone(),
            "k8sServiceSelector with labels: reachdiff does not read Service labels, so this peer matches nothing here; the paths it allows are missing (CC-15)".into());
    } else if specs.is_empty() && selectorless.is_empty() {
        ctx.warn(
            b,
            Code::CiliumServiceUnresolved,
            span,
            field.clone(),
            "no Service of the input matches; this peer matches nothing (CC-15)".into(),
        );
    }
    if !selectorless.is_empty() {
        ctx.warn(b, Code::CiliumServiceUnresolved, span, field.clone(),
            format!("{} has no selector; its endpoints are not read, so it matches nothing here (CC-15)", selectorless.join(", ")));
    }
    if namespace.is_none() {
        ctx.warn(
            b,
            Code::CiliumServiceUnresolved,
            span,
            field,
            "no namespace: Services of every namespace match (EC-28)".into(),
        );
    }
    specs.sort();
    specs.dedup();
    match specs.len() {
        0 => PeerSpec::Nothing,
        1 => specs.remove(0),
        _ => PeerSpec::AnyOf(specs),
    }
}

/// The pod selectors of every Cilium rule of `inv` (subjects, endpoint
/// peers, Services' selectors), each as a namespace-label selector and a
/// pod-label selector, for the open world's splitting (OW-4): a class is
/// matched only when every pod it stands for is. Selectors with keys no pod
/// carries (`reserved:` and other sources) match no pod and split nothing.
pub(crate) fn selector_pairs(inv: &Inventory) -> Vec<(Selector, Selector)> {
    let mut out = Vec::new();
    if inv.cilium_mode.is_none() {
        return out;
    }
    let mut push = |raw: &Selector| {
        let mut ns = Vec::new();
        let mut pods = Vec::new();
        for r in &raw.requirements {
            let Some(k) = base_key(&r.key) else {
                return;
            };
            let (target, key) = if k == NAMESPACE_KEY {
                (
                    &mut ns,
                    crate::model::selector::NAMESPACE_NAME_LABEL.to_string(),
                )
            } else if let Some(rest) = k.strip_prefix(NAMESPACE_LABELS_PREFIX) {
                (&mut ns, rest.to_string())
            } else if k == CLUSTER_KEY {
                // The same for every pod (QC-11): splits nothing.
                continue;
            } else {
                (&mut pods, k.to_string())
            };
            target.push(Requirement {
                key,
                op: r.op,
                values: r.values.clone(),
            });
        }
        out.push((Selector::new(ns), Selector::new(pods)));
    };
    for p in &inv.cilium_policies {
        let namespace = p.namespace.as_deref();
        for r in &p.rules {
            push(&scope_subject(&r.subject, namespace).0);
            for item in r.lists.iter().flatten() {
                match item.peers.as_ref().map(|x| &x.kind) {
                    Some(CiliumPeerKind::Endpoints(sels)) => {
                        for s in sels {
                            push(&scope_peer(s, namespace).0);
                        }
                    }
                    Some(CiliumPeerKind::Services(refs)) => {
                        for svc in &inv.services {
                            let named = refs.iter().any(|s| match s {
                                CiliumServiceRef::Name { name, namespace } => {
                                    name == &svc.name
                                        && namespace.as_ref().is_none_or(|n| n == &svc.namespace)
                                }
                                CiliumServiceRef::Selector {
                                    selector,
                                    namespace,
                                } => {
                                    selector.is_everything()
                                        && namespace.as_ref().is_none_or(|n| n == &svc.namespace)
                                }
                            });
                            if let (true, Some(labels)) = (named, &svc.selector) {
                                push(&service_backends(labels, &svc.namespace));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}
