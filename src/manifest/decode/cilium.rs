//! CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and CiliumCIDRGroup
//! (semantics-cilium.md CI-1 … CI-44). Strict (CC-10): what the CRD schema
//! (CI-4) or the agent's sanitiser (CI-5) rejects is an input error, because
//! the agent then applies none of the object's rules (CI-5, EC-36) and a
//! report that assumed otherwise would be wrong.

use super::{Ctx, R, join};
use crate::diag::Code;
use crate::manifest::objects::*;
use crate::manifest::yaml::{Node, Value};
use crate::model::selector::valid_label_key;
use crate::model::{Protocol, Selector};

/// Source prefixes a selector key may carry (CI-10).
const SOURCES: &[&str] = &[
    "k8s",
    "any",
    "reserved",
    "container",
    "cidr",
    "fqdn",
    "node",
    "unspec",
    "cilium-generated",
];

/// A selector key, with or without a source prefix.
pub(crate) fn valid_selector_key(key: &str) -> bool {
    let rest = match key.split_once(':') {
        Some((src, rest)) if SOURCES.contains(&src) => rest,
        Some(_) => return false,
        None => key,
    };
    valid_label_key(rest)
}

/// Entities the CRD enum admits (CI-4, CI-27; `cluster-mesh` since 1.20).
pub const ENTITIES: &[&str] = &[
    "all",
    "world",
    "cluster",
    "host",
    "init",
    "ingress",
    "unmanaged",
    "remote-node",
    "health",
    "none",
    "kube-apiserver",
    "cluster-mesh",
];

/// Extended protocols accepted behind an agent flag; they carry no TCP, UDP
/// or SCTP traffic.
const EXTENDED_PROTOCOLS: &[&str] = &["VRRP", "IGMP", "GRE", "IPIP", "IPV6", "ESP", "AH"];

/// A CiliumNetworkPolicy (`namespace` Some) or a
/// CiliumClusterwideNetworkPolicy (None).
pub(crate) fn policy(
    cx: &mut Ctx<'_>,
    root: Node<'_>,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> R<CiliumPolicy> {
    let spec = root.field("spec");
    let specs = root.field("specs");
    if spec.is_none() && specs.is_none() {
        // CI-2: the CRD requires one of them.
        return Err(cx.error(
            root.pos,
            "spec",
            "spec or specs is required (the CRD rejects an object with neither)",
        ));
    }
    let mut rules = Vec::new();
    if let Some(s) = spec {
        if let Some(r) = rule(cx, s, "spec", namespace.is_some())? {
            rules.push(r);
        }
    }
    let items = cx.list(specs, "specs")?;
    for (i, s) in items.iter().enumerate() {
        if let Some(r) = rule(cx, s, &format!("specs[{i}]"), namespace.is_some())? {
            rules.push(r);
        }
    }
    Ok(CiliumPolicy {
        kind: kind.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
        span: cx.span(root.pos),
        rules,
    })
}

/// A CiliumCIDRGroup (CI-31).
pub(crate) fn cidr_group(cx: &mut Ctx<'_>, root: Node<'_>, name: &str) -> R<CidrGroup> {
    let labels = cx.labels(
        root.get("metadata").and_then(|m| m.get("labels")),
        "metadata.labels",
    )?;
    let spec = root.field("spec");
    let mut cidrs = Vec::new();
    if let Some(spec) = spec {
        cx.mapping(spec, "spec")?;
        cx.check_fields(spec, "spec", &["externalCIDRs"]);
        let items = cx.list(spec.get("externalCIDRs"), "spec.externalCIDRs")?;
        for (i, c) in items.iter().enumerate() {
            cidrs.push(cx.cidr(c, &format!("spec.externalCIDRs[{i}]"))?);
        }
    }
    cidrs.sort();
    cidrs.dedup();
    Ok(CidrGroup {
        name: name.to_string(),
        labels,
        cidrs,
        span: cx.span(root.pos),
    })
}

/// A Cilium label selector: keys may carry a source prefix (CI-10).
fn selector(cx: &mut Ctx<'_>, node: Node<'_>, path: &str) -> R<Selector> {
    cx.cilium_keys = true;
    let s = cx.selector(node, path);
    cx.cilium_keys = false;
    s
}

/// One rule; None for a host policy (ignored, CC-12).
fn rule(cx: &mut Ctx<'_>, node: Node<'_>, path: &str, namespaced: bool) -> R<Option<CiliumRule>> {
    cx.mapping(node, path)?;
    cx.check_fields(
        node,
        path,
        &[
            "endpointSelector",
            "nodeSelector",
            "ingress",
            "ingressDeny",
            "egress",
            "egressDeny",
            "enableDefaultDeny",
            "description",
            "labels",
            "log",
        ],
    );
    let (endpoints, nodes) = (node.field("endpointSelector"), node.field("nodeSelector"));
    let subject_node = match (endpoints, nodes) {
        (Some(e), None) => e,
        (None, Some(n)) if namespaced => {
            return Err(cx.error(
                n.pos,
                &join(path, "nodeSelector"),
                "nodeSelector is only allowed in a CiliumClusterwideNetworkPolicy (CI-5)",
            ));
        }
        (None, Some(n)) => {
            cx.warn(
                Code::CiliumHostPolicyIgnored,
                n.pos,
                &join(path, "nodeSelector"),
                "a host policy (nodeSelector) applies to nodes and host-network pods only; reachdiff ignores it (CC-12)",
            );
            return Ok(None);
        }
        _ => {
            return Err(cx.error(
                node.pos,
                path,
                "exactly one of endpointSelector or nodeSelector is required (CI-4)",
            ));
        }
    };
    let subject = selector(cx, subject_node, &join(path, "endpointSelector"))?;
    let keys = CiliumSection::ALL.map(|s| s.key());
    if !keys.iter().any(|k| node.get(k).is_some()) {
        return Err(cx.error(
            node.pos,
            path,
            "a rule needs at least one of ingress, ingressDeny, egress or egressDeny (CI-4)",
        ));
    }
    let mut lists: [Vec<CiliumItem>; 4] = Default::default();
    for (k, section) in CiliumSection::ALL.into_iter().enumerate() {
        let lpath = join(path, section.key());
        let items = cx.list(node.get(section.key()), &lpath)?;
        for (i, it) in items.iter().enumerate() {
            lists[k].push(item(cx, it, &format!("{lpath}[{i}]"), section)?);
        }
    }
    if lists.iter().all(Vec::is_empty) {
        // CI-5 (DC-12): the agent refuses the whole object.
        return Err(cx.error(
            node.pos,
            path,
            "every rule list is empty; the agent rejects such a rule, and with it the whole object (CI-5)",
        ));
    }
    let mut default_deny = [None, None];
    if let Some(dd) = node.field("enableDefaultDeny") {
        let dpath = join(path, "enableDefaultDeny");
        cx.mapping(dd, &dpath)?;
        cx.check_fields(dd, &dpath, &["ingress", "egress"]);
        for (d, key) in ["ingress", "egress"].into_iter().enumerate() {
            if let Some(v) = dd.field(key) {
                match v.value() {
                    Value::Bool(b) => default_deny[d] = Some(b),
                    _ => {
                        return Err(cx.error(
                            v.pos,
                            &join(&dpath, key),
                            format!("expected a boolean, found {}", v.type_name()),
                        ));
                    }
                }
            }
        }
    }
    Ok(Some(CiliumRule {
        path: path.to_string(),
        span: cx.span(node.pos),
        subject,
        subject_span: cx.span(subject_node.pos),
        default_deny,
        lists,
    }))
}

/// The peer fields of each section (CI-3, CI-44).
fn peer_fields(section: CiliumSection) -> &'static [&'static str] {
    match section {
        CiliumSection::Ingress | CiliumSection::IngressDeny => &[
            "fromEndpoints",
            "fromCIDR",
            "fromCIDRSet",
            "fromEntities",
            "fromNodes",
            "fromGroups",
        ],
        CiliumSection::Egress => &[
            "toEndpoints",
            "toCIDR",
            "toCIDRSet",
            "toEntities",
            "toServices",
            "toFQDNs",
            "toNodes",
            "toGroups",
        ],
        CiliumSection::EgressDeny => &[
            "toEndpoints",
            "toCIDR",
            "toCIDRSet",
            "toEntities",
            "toServices",
            "toNodes",
            "toGroups",
        ],
    }
}

fn item(cx: &mut Ctx<'_>, node: Node<'_>, path: &str, section: CiliumSection) -> R<CiliumItem> {
    cx.mapping(node, path)?;
    let peers_list = peer_fields(section);
    let requires = if section.is_ingress() {
        "fromRequires"
    } else {
        "toRequires"
    };
    let mut known: Vec<&str> = peers_list.to_vec();
    known.extend([requires, "toPorts", "icmps"]);
    if !section.is_deny() {
        known.push("authentication");
    }
    cx.check_fields(node, path, &known);
    if let Some(r) = node.field(requires) {
        if r.items().is_none_or(|i| !i.is_empty()) {
            return Err(cx.error(
                r.pos,
                &join(path, requires),
                format!("{requires} was removed in Cilium 1.19 (the CRD allows no items, CI-26)"),
            ));
        }
    }
    // CI-20 / CI-5: at most one non-empty peer kind.
    let present: Vec<(&str, Node<'_>)> = peers_list
        .iter()
        .filter_map(|k| node.field(k).map(|n| (*k, n)))
        .collect();
    let non_empty: Vec<&(&str, Node<'_>)> = present
        .iter()
        .filter(|(_, n)| n.items().is_none_or(|i| !i.is_empty()))
        .collect();
    if let [first, second, ..] = non_empty[..] {
        return Err(cx.error(
            second.1.pos,
            &join(path, second.0),
            format!(
                "combining {} and {} in one item is not supported; the agent rejects the whole object (CI-5, EC-27): write two items",
                first.0, second.0
            ),
        ));
    }
    let peers = match (non_empty.first(), present.first()) {
        (Some((field, n)), _) => Some(peer_list(cx, *n, &join(path, field), field)?),
        // Only empty lists: they select nothing (CI-21).
        (None, Some((field, n))) => Some(CiliumPeers {
            field: field.to_string(),
            kind: CiliumPeerKind::Endpoints(Vec::new()),
            spans: vec![cx.span(n.pos)],
        }),
        (None, None) => None,
    };
    let mut conditions = Vec::new();
    let to_ports = cx.list(node.get("toPorts"), &join(path, "toPorts"))?;
    let icmps = cx.list(node.get("icmps"), &join(path, "icmps"))?;
    if !to_ports.is_empty() && !icmps.is_empty() {
        return Err(cx.error(
            node.pos,
            path,
            "icmps and toPorts cannot share an item; the agent rejects the whole object (CI-5)",
        ));
    }
    let ports = if !icmps.is_empty() {
        cx.warn(
            Code::CiliumNotModelled,
            node.pos,
            &join(path, "icmps"),
            "ICMP is not modelled (CC-9): this item allows no TCP, UDP or SCTP (CI-40); needs the agent flag enable-icmp-rules",
        );
        Some(Vec::new())
    } else if to_ports.is_empty() {
        None
    } else {
        let mut v = Vec::new();
        for (i, e) in to_ports.iter().enumerate() {
            let epath = format!("{path}.toPorts[{i}]");
            port_rule(cx, e, &epath, section, &mut v, &mut conditions)?;
        }
        v.sort();
        v.dedup();
        Some(v)
    };
    if !section.is_deny() {
        authentication(cx, node, path, &mut conditions)?;
    }
    conditions.sort();
    conditions.dedup();
    Ok(CiliumItem {
        span: cx.span(node.pos),
        peers,
        ports,
        conditions,
    })
}

fn peer_list(cx: &mut Ctx<'_>, node: Node<'_>, path: &str, field: &str) -> R<CiliumPeers> {
    let items = cx.list(Some(node), path)?;
    let mut spans = Vec::new();
    let kind = match field {
        "fromEndpoints" | "toEndpoints" => {
            let mut v = Vec::new();
            for (i, s) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                v.push(selector(cx, s, &p)?);
                spans.push(cx.span(s.pos));
            }
            CiliumPeerKind::Endpoints(v)
        }
        "fromCIDR" | "toCIDR" => {
            let mut v = Vec::new();
            for (i, s) in items.iter().enumerate() {
                let c = cx.cidr(s, &format!("{path}[{i}]"))?;
                v.push(CiliumCidr {
                    source: CidrSource::Cidr(c),
                    except: Vec::new(),
                });
                spans.push(cx.span(s.pos));
            }
            CiliumPeerKind::Cidrs(v)
        }
        "fromCIDRSet" | "toCIDRSet" => {
            let mut v = Vec::new();
            for (i, s) in items.iter().enumerate() {
                v.push(cidr_rule(cx, s, &format!("{path}[{i}]"))?);
                spans.push(cx.span(s.pos));
            }
            CiliumPeerKind::Cidrs(v)
        }
        "fromEntities" | "toEntities" => {
            CiliumPeerKind::Entities(entity_list(cx, items, path, &mut spans)?)
        }
        "toFQDNs" => CiliumPeerKind::Fqdns(fqdn_list(cx, items, path, &mut spans)?),
        "toServices" => {
            let mut v = Vec::new();
            for (i, s) in items.iter().enumerate() {
                v.push(service_ref(cx, s, &format!("{path}[{i}]"))?);
                spans.push(cx.span(s.pos));
            }
            CiliumPeerKind::Services(v)
        }
        "fromNodes" | "toNodes" => {
            for (i, s) in items.iter().enumerate() {
                selector(cx, s, &format!("{path}[{i}]"))?;
                spans.push(cx.span(s.pos));
            }
            CiliumPeerKind::Nodes
        }
        _ => {
            spans.extend(items.iter().map(|s| cx.span(s.pos)));
            CiliumPeerKind::Groups
        }
    };
    Ok(CiliumPeers {
        field: field.to_string(),
        kind,
        spans,
    })
}

/// `fromEntities`/`toEntities` (CI-4, CI-27).
fn entity_list(
    cx: &mut Ctx<'_>,
    items: crate::manifest::yaml::Items<'_>,
    path: &str,
    spans: &mut Vec<crate::diag::Span>,
) -> R<Vec<String>> {
    let mut v = Vec::new();
    for (i, s) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let e = cx.string(s, &p)?;
        if !ENTITIES.contains(&e) {
            let hint = if e.starts_with("world-") {
                " (world-ipv4 and world-ipv6 are not in the CRD enum, DC-11)"
            } else {
                ""
            };
            return Err(cx.error(
                s.pos,
                &p,
                format!(
                    "unknown entity {e:?}{hint}; expected one of {}",
                    ENTITIES.join(", ")
                ),
            ));
        }
        v.push(e.to_string());
        spans.push(cx.span(s.pos));
    }
    Ok(v)
}

/// `toFQDNs` (CI-4, CI-34).
fn fqdn_list(
    cx: &mut Ctx<'_>,
    items: crate::manifest::yaml::Items<'_>,
    path: &str,
    spans: &mut Vec<crate::diag::Span>,
) -> R<Vec<String>> {
    let mut v = Vec::new();
    for (i, s) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        cx.mapping(s, &p)?;
        cx.check_fields(s, &p, &["matchName", "matchPattern"]);
        let name = match (s.field("matchName"), s.field("matchPattern")) {
            (Some(n), None) => cx.string(n, &join(&p, "matchName"))?,
            (None, Some(n)) => cx.string(n, &join(&p, "matchPattern"))?,
            _ => {
                return Err(cx.error(
                    s.pos,
                    &p,
                    "exactly one of matchName or matchPattern is required (CI-4)",
                ));
            }
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._*".contains(&b))
        {
            return Err(cx.error(s.pos, &p, format!("invalid DNS name {name:?} (CI-4)")));
        }
        // Cilium makes every name fully qualified (a trailing dot added):
        // `x` and `x.` are one name (CI-34).
        let name = name.to_ascii_lowercase();
        let name = match name.strip_suffix('.') {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => name,
        };
        v.push(name);
        spans.push(cx.span(s.pos));
    }
    Ok(v)
}

fn cidr_rule(cx: &mut Ctx<'_>, node: Node<'_>, path: &str) -> R<CiliumCidr> {
    cx.mapping(node, path)?;
    cx.check_fields(
        node,
        path,
        &["cidr", "cidrGroupRef", "cidrGroupSelector", "except"],
    );
    let source = match (
        node.field("cidr"),
        node.field("cidrGroupRef"),
        node.field("cidrGroupSelector"),
    ) {
        (Some(c), None, None) => CidrSource::Cidr(cx.cidr(c, &join(path, "cidr"))?),
        (None, Some(g), None) => {
            CidrSource::GroupRef(cx.string(g, &join(path, "cidrGroupRef"))?.to_string())
        }
        (None, None, Some(s)) => {
            CidrSource::GroupSelector(cx.selector(s, &join(path, "cidrGroupSelector"))?)
        }
        _ => {
            return Err(cx.error(
                node.pos,
                path,
                "exactly one of cidr, cidrGroupRef or cidrGroupSelector is required (CI-4)",
            ));
        }
    };
    let epath = join(path, "except");
    let mut except = Vec::new();
    for (i, e) in cx.list(node.get("except"), &epath)?.iter().enumerate() {
        let p = format!("{epath}[{i}]");
        let ex = cx.cidr(e, &p)?;
        if let CidrSource::Cidr(c) = &source {
            // CI-5: inside the cidr; an equal prefix is accepted (EC-26).
            if !c.range().contains_range(&ex.range()) {
                return Err(cx.error(
                    e.pos,
                    &p,
                    format!(
                        "except {ex} is not inside cidr {c}; the agent rejects the object (CI-5)"
                    ),
                ));
            }
        }
        except.push(ex);
    }
    except.sort();
    except.dedup();
    Ok(CiliumCidr { source, except })
}

fn service_ref(cx: &mut Ctx<'_>, node: Node<'_>, path: &str) -> R<CiliumServiceRef> {
    cx.mapping(node, path)?;
    cx.check_fields(node, path, &["k8sService", "k8sServiceSelector"]);
    match (node.field("k8sService"), node.field("k8sServiceSelector")) {
        (Some(s), None) => {
            let p = join(path, "k8sService");
            cx.mapping(s, &p)?;
            cx.check_fields(s, &p, &["serviceName", "namespace"]);
            let name = cx
                .opt_string(s, "serviceName", &p)?
                .filter(|n| !n.is_empty())
                .ok_or_else(|| cx.error(s.pos, &p, "serviceName is required"))?;
            let namespace = cx.opt_string(s, "namespace", &p)?.filter(|n| !n.is_empty());
            Ok(CiliumServiceRef::Name {
                name: name.to_string(),
                namespace: namespace.map(str::to_string),
            })
        }
        (None, Some(s)) => {
            let p = join(path, "k8sServiceSelector");
            cx.mapping(s, &p)?;
            cx.check_fields(s, &p, &["selector", "namespace"]);
            let sel = s
                .field("selector")
                .ok_or_else(|| cx.error(s.pos, &p, "selector is required"))?;
            let selector = cx.selector(sel, &join(&p, "selector"))?;
            let namespace = cx.opt_string(s, "namespace", &p)?.filter(|n| !n.is_empty());
            Ok(CiliumServiceRef::Selector {
                selector,
                namespace: namespace.map(str::to_string),
            })
        }
        _ => Err(cx.error(
            node.pos,
            path,
            "exactly one of k8sService or k8sServiceSelector is required",
        )),
    }
}

/// The protocols of a port entry (CI-37): absent = ANY = TCP, UDP and SCTP.
/// Extended protocols carry none of them (empty).
fn protocols(cx: &mut Ctx<'_>, node: Node<'_>, path: &str) -> R<(Vec<Protocol>, bool)> {
    let all = vec![Protocol::Tcp, Protocol::Udp, Protocol::Sctp];
    let Some(p) = node.field("protocol") else {
        return Ok((all, false));
    };
    let ppath = join(path, "protocol");
    let text = cx.string(p, &ppath)?;
    Ok(match text {
        "TCP" => (vec![Protocol::Tcp], true),
        "UDP" => (vec![Protocol::Udp], true),
        "SCTP" => (vec![Protocol::Sctp], true),
        "ANY" | "" => (all, false),
        t if EXTENDED_PROTOCOLS.contains(&t) => {
            cx.warn(
                Code::CiliumNotModelled,
                p.pos,
                &ppath,
                format!("protocol {t} needs an agent flag and is not modelled; it allows no TCP, UDP or SCTP"),
            );
            (Vec::new(), true)
        }
        t => {
            return Err(cx.error(
                p.pos,
                &ppath,
                format!("unsupported protocol {t:?}; the CRD admits TCP, UDP, SCTP or ANY, upper case (CI-4, EC-35)"),
            ));
        }
    })
}

/// A port as the agent reads it (CI-37): an IANA service name, else a
/// number with Go's base prefixes (`010` is 8).
enum PortValue {
    Name(String),
    Number(u16),
}

fn iana_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

fn port_value(cx: &mut Ctx<'_>, node: Node<'_>, path: &str) -> R<PortValue> {
    let text = match node.value() {
        Value::Str { text, .. } => text,
        Value::Int(_) => {
            return Err(cx.error(
                node.pos,
                path,
                "port must be a string in a Cilium policy (the CRD rejects a number): quote it",
            ));
        }
        _ => {
            return Err(cx.error(
                node.pos,
                path,
                format!("expected a string, found {}", node.type_name()),
            ));
        }
    };
    if iana_name(text) {
        return Ok(PortValue::Name(text.to_ascii_lowercase()));
    }
    let bad = |cx: &mut Ctx<'_>| {
        cx.error(
            node.pos,
            path,
            format!("invalid port {text:?}: neither a number 0-65535 nor a port name; the agent rejects the object (CI-5, EC-14)"),
        )
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(cx));
    }
    let (digits, radix) = if text.len() > 1 && text.starts_with('0') {
        (&text[1..], 8)
    } else {
        (text, 10)
    };
    let n = u32::from_str_radix(digits, radix).map_err(|_| bad(cx))?;
    let n = u16::try_from(n).map_err(|_| bad(cx))?;
    if radix == 8 {
        cx.warn(
            Code::CiliumPortLeadingZero,
            node.pos,
            path,
            format!("{text:?} is read by the agent as an octal number, port {n} (EC-14)"),
        );
    }
    Ok(PortValue::Number(n))
}

/// One `toPorts` entry: its ports into `out`, its L7/TLS settings into
/// `conditions`.
fn port_rule(
    cx: &mut Ctx<'_>,
    node: Node<'_>,
    path: &str,
    section: CiliumSection,
    out: &mut Vec<PortSpec>,
    conditions: &mut Vec<String>,
) -> R<()> {
    cx.mapping(node, path)?;
    if section.is_deny() {
        cx.check_fields(node, path, &["ports"]);
    } else {
        cx.check_fields(
            node,
            path,
            &[
                "ports",
                "rules",
                "terminatingTLS",
                "originatingTLS",
                "serverNames",
                "listener",
            ],
        );
    }
    let shape = port_list(cx, node, path, out)?;
    if section.is_deny() {
        return Ok(());
    }
    l7_rules(cx, node, path, section, shape, conditions)
}

/// `authentication` of an allow item (CI-43): `required` is a condition.
fn authentication(
    cx: &mut Ctx<'_>,
    node: Node<'_>,
    path: &str,
    conditions: &mut Vec<String>,
) -> R<()> {
    let Some(a) = node.field("authentication") else {
        return Ok(());
    };
    let apath = join(path, "authentication");
    cx.mapping(a, &apath)?;
    cx.check_fields(a, &apath, &["mode"]);
    match a.field("mode").and_then(Node::as_str) {
        Some("disabled") => Ok(()),
        Some("required" | "test-always-fail") => {
            conditions.push("auth".to_string());
            Ok(())
        }
        _ => Err(cx.error(
            a.pos,
            &join(&apath, "mode"),
            "mode must be disabled, required or test-always-fail (CI-4)",
        )),
    }
}

/// What the ports of a `toPorts` entry allow L7 rules to say (CI-5).
#[derive(Clone, Copy)]
struct PortsShape {
    /// Every port says `protocol: TCP` (HTTP rules need it).
    explicit_tcp: bool,
    /// Every port is one numbered port (DNS rules need it).
    dns_port_ok: bool,
}

/// The `ports` of a `toPorts` entry into `out`.
fn port_list(
    cx: &mut Ctx<'_>,
    node: Node<'_>,
    path: &str,
    out: &mut Vec<PortSpec>,
) -> R<PortsShape> {
    let ppath = join(path, "ports");
    let ports = cx.list(node.get("ports"), &ppath)?;
    if ports.len() > 40 {
        return Err(cx.error(
            node.pos,
            &ppath,
            "more than 40 ports in one toPorts entry; the agent rejects the object (CI-5)",
        ));
    }
    let mut explicit_tcp = !ports.is_empty();
    let mut dns_port_ok = !ports.is_empty();
    for (i, p) in ports.iter().enumerate() {
        let path = format!("{ppath}[{i}]");
        cx.mapping(p, &path)?;
        cx.check_fields(p, &path, &["port", "endPort", "protocol"]);
        let (protos, written) = protocols(cx, p, &path)?;
        explicit_tcp &= written && protos == [Protocol::Tcp];
        let port_node = p.field("port").ok_or_else(|| {
            cx.error(
                p.pos,
                &path,
                "port is required; the agent rejects an empty port (CI-5)",
            )
        })?;
        let value = port_value(cx, port_node, &join(&path, "port"))?;
        let end = match p.field("endPort") {
            None => None,
            Some(e) => {
                let n = cx.integer(e, &join(&path, "endPort"))?;
                if !(0..=65535).contains(&n) {
                    return Err(cx.error(
                        e.pos,
                        &join(&path, "endPort"),
                        format!("endPort {n} is outside 0-65535 (CI-4)"),
                    ));
                }
                Some(n as u16)
            }
        };
        match value {
            PortValue::Name(name) => {
                // CI-37: endPort is ignored for named ports; ANY resolves
                // each protocol separately (CI-39), which is "any protocol".
                if protos.len() == 3 {
                    out.push(PortSpec::Named(None, name));
                } else {
                    out.extend(
                        protos
                            .iter()
                            .map(|&pr| PortSpec::Named(Some(pr), name.clone())),
                    );
                }
                dns_port_ok = false;
            }
            PortValue::Number(0) => {
                out.extend(protos.iter().map(|&pr| PortSpec::Any(pr)));
                dns_port_ok = false;
            }
            PortValue::Number(n) => {
                // CI-37: an endPort at or below port yields just port.
                let hi = end.filter(|&e| e > n).unwrap_or(n);
                if hi != n {
                    dns_port_ok = false;
                }
                out.extend(protos.iter().map(|&pr| PortSpec::Range(pr, n, hi)));
            }
        }
    }
    Ok(PortsShape {
        explicit_tcp,
        dns_port_ok,
    })
}

/// `rules`, TLS, SNI and `listener` of an allow entry: validated (CI-5)
/// and turned into conditions (CC-8).
fn l7_rules(
    cx: &mut Ctx<'_>,
    node: Node<'_>,
    path: &str,
    section: CiliumSection,
    shape: PortsShape,
    conditions: &mut Vec<String>,
) -> R<()> {
    let PortsShape {
        explicit_tcp,
        dns_port_ok,
    } = shape;
    if let Some(rules) = node.field("rules") {
        let rpath = join(path, "rules");
        cx.mapping(rules, &rpath)?;
        cx.check_fields(rules, &rpath, &["http", "dns", "kafka", "l7proto", "l7"]);
        let present: Vec<&str> = ["http", "dns", "kafka", "l7proto"]
            .into_iter()
            .filter(|k| rules.field(k).is_some())
            .collect();
        let [kind] = present[..] else {
            return Err(cx.error(
                rules.pos,
                &rpath,
                "rules needs exactly one of http or dns (CI-4)",
            ));
        };
        let non_empty = rules
            .field(kind)
            .is_some_and(|n| n.items().is_none_or(|i| !i.is_empty()));
        match kind {
            "http" if !explicit_tcp => {
                return Err(cx.error(
                    rules.pos,
                    &rpath,
                    "HTTP rules need every port of the entry to say protocol: TCP; the agent rejects the object (CI-5)",
                ));
            }
            "dns" if section.is_ingress() => {
                return Err(cx.error(
                    rules.pos,
                    &rpath,
                    "DNS rules are egress only; the agent rejects the object (CI-5)",
                ));
            }
            "dns" if !dns_port_ok => {
                return Err(cx.error(
                    rules.pos,
                    &rpath,
                    "DNS rules need a numbered port, not a range, not 0; the agent rejects the object (CI-5)",
                ));
            }
            _ => {}
        }
        if node.field("listener").is_some() {
            return Err(cx.error(
                rules.pos,
                &rpath,
                "a listener cannot be combined with L7 rules (CI-5)",
            ));
        }
        // CI-42: an empty rule list filters nothing.
        if non_empty {
            let kind = match kind {
                "http" => "l7-http",
                "dns" => "l7-dns",
                "kafka" => "l7-kafka",
                _ => "l7-generic",
            };
            conditions.push(kind.to_string());
        }
    }
    if node
        .field("serverNames")
        .is_some_and(|n| n.items().is_some_and(|i| !i.is_empty()))
    {
        conditions.push("tls-sni".to_string());
    }
    if node.field("terminatingTLS").is_some() || node.field("originatingTLS").is_some() {
        conditions.push("tls".to_string());
    }
    if let Some(l) = node.field("listener") {
        if section.is_ingress() {
            return Err(cx.error(
                l.pos,
                &join(path, "listener"),
                "a listener is egress only; the agent rejects the object (CI-5)",
            ));
        }
        conditions.push("listener".to_string());
    }
    Ok(())
}
