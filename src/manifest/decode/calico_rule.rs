//! One rule of a Calico policy and its entity rules (CA-60 … CA-77),
//! validated as Calico's validator does (CA-81).

use super::calico::net;
use super::{Ctx, R, join, valid_port_name};
use crate::manifest::calico_objects::*;
use crate::manifest::yaml::{Items, Node, Value};
use crate::model::{Cidr, Family};

const RULE_FIELDS: &[&str] = &[
    "action",
    "protocol",
    "notProtocol",
    "ipVersion",
    "icmp",
    "notICMP",
    "source",
    "destination",
    "http",
    "metadata",
];

const ENTITY_FIELDS: &[&str] = &[
    "selector",
    "notSelector",
    "namespaceSelector",
    "serviceAccounts",
    "services",
    "nets",
    "notNets",
    "ports",
    "notPorts",
];

fn strict(cx: &mut Ctx<'_>, node: Node<'_>, path: &str, known: &[&str]) -> R<()> {
    cx.mapping(node, path)?;
    for (k, _) in node.entries().into_iter().flatten() {
        if !known.contains(&k.text) {
            let message = format!("unknown field {:?} (Calico refuses it, CA-9)", k.text);
            return Err(cx.error(k.pos, &join(path, k.text), message));
        }
    }
    Ok(())
}

pub(super) fn rule(cx: &mut Ctx<'_>, node: Node<'_>, path: &str, ingress: bool) -> R<CalicoRule> {
    strict(cx, node, path, RULE_FIELDS)?;
    let apath = join(path, "action");
    let Some(a) = node.field("action") else {
        return Err(cx.error(
            node.pos,
            &apath,
            "action is required (Allow, Deny, Log or Pass)",
        ));
    };
    let text = cx.string(a, &apath)?;
    let Some(action) = CalicoAction::parse(text) else {
        let message =
            format!("unknown action {text:?} (Allow, Deny, Log or Pass, case-sensitive; CA-81)");
        return Err(cx.error(a.pos, &apath, message));
    };
    let not_protocol = protocol(cx, node.field("notProtocol"), &join(path, "notProtocol"))?;
    let protocol = protocol(cx, node.field("protocol"), &join(path, "protocol"))?;
    let ip_version = ip_version(cx, node, path)?;
    let icmp = icmp(cx, node, path, protocol)?;
    let http = node.field("http").is_some_and(|n| !n.is_null());
    if http
        && (action != CalicoAction::Allow
            || !ingress
            || protocol.is_some_and(|p| p.0 != CalicoProtocol::TCP))
    {
        let message =
            "http is allowed only on Allow rules of ingress, with protocol TCP or none (CA-70)";
        return Err(cx.error(node.pos, &join(path, "http"), message));
    }
    let source = entity(cx, node.field("source"), &join(path, "source"))?;
    let destination = entity(cx, node.field("destination"), &join(path, "destination"))?;
    let r = CalicoRule {
        action,
        protocol,
        not_protocol,
        ip_version,
        icmp,
        http,
        source,
        destination,
    };
    check_rule(cx, node, path, &r, ingress)?;
    Ok(r)
}

fn protocol(cx: &mut Ctx<'_>, node: Option<Node<'_>>, path: &str) -> R<Option<CalicoProtocol>> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(None);
    };
    let text = match node.value() {
        Value::Int(i) => i.to_string(),
        Value::Str { text, .. } => text.to_string(),
        _ => return Err(cx.error(node.pos, path, "expected a protocol name or number")),
    };
    CalicoProtocol::parse(&text).map(Some).ok_or_else(|| {
        let message = format!("invalid protocol {text:?} (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255, case-sensitive; CA-73)");
        cx.error(node.pos, path, message)
    })
}

fn ip_version(cx: &mut Ctx<'_>, node: Node<'_>, path: &str) -> R<Option<u8>> {
    match node.field("ipVersion").map(|n| (n, n.value())) {
        None | Some((_, Value::Null)) => Ok(None),
        Some((_, Value::Int(4))) => Ok(Some(4)),
        Some((_, Value::Int(6))) => Ok(Some(6)),
        Some((n, _)) => Err(cx.error(
            n.pos,
            &join(path, "ipVersion"),
            "ipVersion must be 4 or 6 (CA-71)",
        )),
    }
}

/// `icmp`/`notICMP` (CA-72): type 0–254, code 0–255 and only with a type;
/// `icmp` needs an ICMP protocol.
fn icmp(cx: &mut Ctx<'_>, node: Node<'_>, path: &str, protocol: Option<CalicoProtocol>) -> R<bool> {
    let mut any = false;
    for key in ["icmp", "notICMP"] {
        let Some(n) = node.field(key).filter(|n| !n.is_null()) else {
            continue;
        };
        let ipath = join(path, key);
        strict(cx, n, &ipath, &["type", "code"])?;
        let number = |cx: &mut Ctx<'_>, k: &str, max: i64| -> R<Option<i64>> {
            match n.field(k) {
                None => Ok(None),
                Some(v) => match cx.integer(v, &join(&ipath, k))? {
                    x if (0..=max).contains(&x) => Ok(Some(x)),
                    x => Err(cx.error(
                        v.pos,
                        &join(&ipath, k),
                        format!("{x} is outside 0-{max} (CA-72)"),
                    )),
                },
            }
        };
        let t = number(cx, "type", 254)?;
        let c = number(cx, "code", 255)?;
        if c.is_some() && t.is_none() {
            return Err(cx.error(n.pos, &ipath, "an ICMP code needs a type (CA-72)"));
        }
        if key == "icmp" && !protocol.is_some_and(CalicoProtocol::is_icmp) {
            return Err(cx.error(n.pos, &ipath, "icmp needs protocol ICMP or ICMPv6 (CA-72)"));
        }
        any = true;
    }
    Ok(any)
}

fn entity(cx: &mut Ctx<'_>, node: Option<Node<'_>>, path: &str) -> R<EntityRule> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(EntityRule::default());
    };
    strict(cx, node, path, ENTITY_FIELDS)?;
    let sel = |cx: &mut Ctx<'_>, key: &str, global: bool| {
        super::calico::selector_field(cx, node.field(key), &join(path, key), global)
    };
    let selector = sel(cx, "selector", false)?;
    let not_selector = sel(cx, "notSelector", false)?;
    let namespace_selector = sel(cx, "namespaceSelector", true)?;
    let service_accounts = service_accounts(
        cx,
        node.field("serviceAccounts"),
        &join(path, "serviceAccounts"),
    )?;
    let service = services(cx, node.field("services"), &join(path, "services"))?;
    let nets = nets(cx, node.field("nets"), &join(path, "nets"))?;
    let not_nets = nets_checked(cx, node.field("notNets"), &join(path, "notNets"))?;
    let not_ports = ports(cx, node.field("notPorts"), &join(path, "notPorts"))?;
    let ports = ports(cx, node.field("ports"), &join(path, "ports"))?;
    Ok(EntityRule {
        selector,
        not_selector,
        namespace_selector,
        service_accounts,
        service,
        nets,
        not_nets,
        ports,
        not_ports,
    })
}

fn service_accounts(
    cx: &mut Ctx<'_>,
    node: Option<Node<'_>>,
    path: &str,
) -> R<Option<(Vec<String>, Option<crate::model::calico_selector::Expr>)>> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(None);
    };
    strict(cx, node, path, &["names", "selector"])?;
    let mut names = Vec::new();
    let npath = join(path, "names");
    for (i, n) in cx.list(node.field("names"), &npath)?.iter().enumerate() {
        names.push(cx.string(n, &format!("{npath}[{i}]"))?.to_string());
    }
    names.sort();
    names.dedup();
    let selector =
        super::calico::selector_field(cx, node.field("selector"), &join(path, "selector"), false)?;
    if names.is_empty() && selector.is_none() {
        return Ok(None);
    }
    Ok(Some((names, selector)))
}

fn services(
    cx: &mut Ctx<'_>,
    node: Option<Node<'_>>,
    path: &str,
) -> R<Option<(String, Option<String>)>> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(None);
    };
    strict(cx, node, path, &["name", "namespace"])?;
    let name = cx.opt_string(node, "name", path)?.unwrap_or("");
    if name.is_empty() {
        return Err(cx.error(
            node.pos,
            &join(path, "name"),
            "services needs a name (CA-69)",
        ));
    }
    let ns = cx
        .opt_string(node, "namespace", path)?
        .filter(|n| !n.is_empty());
    Ok(Some((name.to_string(), ns.map(str::to_string))))
}

/// The items of a list Calico caps at `max` (CA-81).
fn capped<'n>(
    cx: &mut Ctx<'_>,
    node: Option<Node<'n>>,
    path: &str,
    (max, what): (usize, &str),
) -> R<Items<'n>> {
    let items = cx.list(node, path)?;
    if items.len() > max {
        let pos = node.map_or(Default::default(), |n| n.pos);
        return Err(cx.error(pos, path, format!("more than {max} {what} (CA-81)")));
    }
    Ok(items)
}

fn nets(cx: &mut Ctx<'_>, node: Option<Node<'_>>, path: &str) -> R<Vec<Cidr>> {
    let items = capped(cx, node, path, (256, "networks"))?;
    let mut out = Vec::new();
    for (i, n) in items.iter().enumerate() {
        out.push(net(cx, n, &format!("{path}[{i}]"))?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `notNets` may not hold `0.0.0.0/0` or `::/0` (CA-67).
fn nets_checked(cx: &mut Ctx<'_>, node: Option<Node<'_>>, path: &str) -> R<Vec<Cidr>> {
    let out = nets(cx, node, path)?;
    if out.iter().any(|c| c.prefix == 0) {
        let pos = node.map_or(Default::default(), |n| n.pos);
        return Err(cx.error(
            pos,
            path,
            "notNets cannot contain 0.0.0.0/0 or ::/0 (CA-67)",
        ));
    }
    Ok(out)
}

/// `ports`/`notPorts` (CA-75): numbers, digit strings, `"a:b"` ranges and
/// port names, at most 50.
fn ports(cx: &mut Ctx<'_>, node: Option<Node<'_>>, path: &str) -> R<Vec<CalicoPort>> {
    let items = capped(cx, node, path, (50, "ports"))?;
    let mut out = Vec::new();
    for (i, p) in items.iter().enumerate() {
        let ppath = format!("{path}[{i}]");
        out.push(port(cx, p, &ppath)?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn port(cx: &mut Ctx<'_>, p: Node<'_>, path: &str) -> R<CalicoPort> {
    let number = |cx: &mut Ctx<'_>, text: &str| -> R<u16> {
        match text.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
            _ => Err(cx.error(
                p.pos,
                path,
                format!("port {text:?} is outside 1-65535 (CA-75)"),
            )),
        }
    };
    let text = match p.value() {
        Value::Int(i) => i.to_string(),
        Value::Str { text, .. } => text.to_string(),
        _ => return Err(cx.error(p.pos, path, "expected a port number, range or name")),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(&text) {
        let n = number(cx, &text)?;
        return Ok(CalicoPort::Range(n, n));
    }
    if let Some((a, b)) = text.split_once(':').filter(|(a, b)| digits(a) && digits(b)) {
        let (lo, hi) = (number(cx, a)?, number(cx, b)?);
        if lo > hi {
            return Err(cx.error(p.pos, path, format!("reversed port range {text:?} (CA-75)")));
        }
        return Ok(CalicoPort::Range(lo, hi));
    }
    if !valid_port_name(&text) {
        let message = format!("invalid port {text:?}: a number, \"a:b\" or a port name (CA-75)");
        return Err(cx.error(p.pos, path, message));
    }
    Ok(CalicoPort::Named(text))
}

/// Rule-level constraints across fields (CA-67, CA-69, CA-71, CA-75).
fn check_rule(
    cx: &mut Ctx<'_>,
    node: Node<'_>,
    path: &str,
    r: &CalicoRule,
    ingress: bool,
) -> R<()> {
    let fail = |cx: &mut Ctx<'_>, m: String| Err(cx.error(node.pos, path, m));
    for (e, side) in [(&r.source, "source"), (&r.destination, "destination")] {
        let numeric = e
            .ports
            .iter()
            .chain(&e.not_ports)
            .any(|p| matches!(p, CalicoPort::Range(..)));
        let any = !e.ports.is_empty() || !e.not_ports.is_empty();
        match r.protocol {
            None if numeric => {
                return fail(
                    cx,
                    format!(
                        "{side}: numeric ports need protocol TCP, UDP or SCTP (CA-75, E-CA-23)"
                    ),
                );
            }
            Some(p) if any && !p.has_ports() => {
                return fail(
                    cx,
                    format!("{side}: ports need protocol TCP, UDP or SCTP (CA-75, E-CA-23)"),
                );
            }
            _ => {}
        }
        if let Some(_svc) = &e.service {
            let peer_side = if ingress { "source" } else { "destination" };
            let combined = e.selector.is_some()
                || e.not_selector.is_some()
                || e.namespace_selector.is_some()
                || e.service_accounts.is_some()
                || !e.nets.is_empty()
                || !e.not_ports.is_empty()
                || (side == "destination" && !e.ports.is_empty());
            if side != peer_side || combined {
                return fail(
                    cx,
                    format!(
                        "{side}.services: only in an ingress source or egress destination, and not with selectors, serviceAccounts, nets, notPorts (or ports in a destination) (CA-69)"
                    ),
                );
            }
        }
    }
    let families: Vec<Family> = [&r.source, &r.destination]
        .iter()
        .flat_map(|e| e.nets.iter().chain(&e.not_nets))
        .map(|c| c.family)
        .collect();
    if families.windows(2).any(|w| w[0] != w[1]) {
        return fail(
            cx,
            "IPv4 and IPv6 networks mixed in one rule (CA-67)".into(),
        );
    }
    let want = r
        .ip_version
        .map(|v| if v == 4 { Family::V4 } else { Family::V6 });
    if want.is_some_and(|f| families.iter().any(|g| *g != f)) {
        return fail(
            cx,
            "ipVersion disagrees with the rule's networks (CA-67, CA-71)".into(),
        );
    }
    if r.icmp && r.ip_version == Some(6) && r.protocol.is_some_and(|p| p.0 == 1) {
        return fail(cx, "ICMP with ipVersion 6 (CA-81)".into());
    }
    Ok(())
}
