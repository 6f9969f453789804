//! Calico objects (shared/design/semantics-calico.md, CA-1 … CA-83):
//! NetworkPolicy, GlobalNetworkPolicy, their Staged* twins, Tier,
//! NetworkSet, GlobalNetworkSet and Profile, in `projectcalico.org/v3` and
//! `crd.projectcalico.org/v1`. Strict where Calico's validator rejects and
//! the field can change a verdict (CA-80, CA-81, C-CA-13): such an object is
//! an input error, because Calico would refuse or mis-render it.

use super::{Ctx, R, join};
use crate::diag::Code;
use crate::manifest::calico_objects::*;
use crate::manifest::yaml::{Node, Value};
use crate::model::Cidr;
use crate::model::calico_selector::{self, Expr};

/// Where a Calico object came from and what it is called.
pub(crate) struct Head<'a> {
    pub kind: &'a str,
    pub crd_form: bool,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
}

/// The kinds this module reads (CA-1); other Calico kinds are skipped
/// (CA-8).
pub(crate) const KINDS: &[&str] = &[
    "NetworkPolicy",
    "GlobalNetworkPolicy",
    "StagedNetworkPolicy",
    "StagedGlobalNetworkPolicy",
    "StagedKubernetesNetworkPolicy",
    "Tier",
    "NetworkSet",
    "GlobalNetworkSet",
    "Profile",
];

/// Whether a kind of [`KINDS`] lives in a namespace.
pub(crate) fn namespaced(kind: &str) -> bool {
    matches!(
        kind,
        "NetworkPolicy" | "StagedNetworkPolicy" | "StagedKubernetesNetworkPolicy" | "NetworkSet"
    )
}

pub(crate) fn object(cx: &mut Ctx<'_>, root: Node<'_>, head: &Head<'_>) -> R<CalicoObject> {
    let body = match head.kind {
        "Tier" => CalicoBody::Tier(tier(cx, root, head.name)?),
        "NetworkSet" | "GlobalNetworkSet" => CalicoBody::NetworkSet(network_set(cx, root)?),
        "Profile" => {
            cx.warn(
                Code::CalicoProfileIgnored,
                root.pos,
                "",
                "a Profile never applies to pods (they only get the generated kns.*/ksa.* profiles), so it changes no verdict (CA-36, C-CA-12)",
            );
            CalicoBody::Inert
        }
        "StagedKubernetesNetworkPolicy" => {
            staged_notice(cx, root, head.kind);
            CalicoBody::Inert
        }
        _ => CalicoBody::Policy(Box::new(policy(cx, root, head)?)),
    };
    Ok(CalicoObject {
        kind: head.kind.to_string(),
        crd_form: head.crd_form,
        namespace: head.namespace.map(str::to_string),
        name: head.name.to_string(),
        span: cx.span(root.pos),
        body,
    })
}

fn staged_notice(cx: &mut Ctx<'_>, root: Node<'_>, kind: &str) {
    cx.warn(
        Code::CalicoStaged,
        root.pos,
        "",
        format!("{kind} is staged: Calico only logs what it would do, so it changes no verdict (CA-3, C-CA-14)"),
    );
}

/// Unknown fields in a policy are input errors (CA-9 [conv]): `type:` for
/// `types:` silently changes what a policy governs.
fn strict_fields(cx: &mut Ctx<'_>, node: Node<'_>, path: &str, known: &[&str]) -> R<()> {
    cx.mapping(node, path)?;
    if let Some(entries) = node.entries() {
        for (k, _) in entries {
            if !known.contains(&k.text) {
                let field = join(path, k.text);
                return Err(cx.error(
                    k.pos,
                    &field,
                    format!("unknown field {:?} (Calico refuses it, CA-9)", k.text),
                ));
            }
        }
    }
    Ok(())
}

/// A DNS-1123 label: 1–63 of `[a-z0-9-]`, alphanumeric at both ends.
fn dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| alnum(c) || *c == b'-')
        && b.first().is_some_and(alnum)
        && b.last().is_some_and(alnum)
}

/// CA-5: a label, or two labels joined by one dot (`knp.default.<x>` and
/// `ossg.default.<x>` too), at most 253 characters.
fn valid_policy_name(name: &str) -> bool {
    let generated = ["knp.default.", "ossg.default."]
        .iter()
        .find_map(|p| name.strip_prefix(p));
    if let Some(rest) = generated {
        return rest.split('.').all(dns_label);
    }
    let parts: Vec<&str> = name.split('.').collect();
    name.len() <= 253 && parts.len() <= 2 && parts.iter().all(|p| dns_label(p))
}

const POLICY_FIELDS: &[&str] = &[
    "tier",
    "order",
    "selector",
    "namespaceSelector",
    "serviceAccountSelector",
    "types",
    "ingress",
    "egress",
    "doNotTrack",
    "preDNAT",
    "applyOnForward",
    "performanceHints",
    "stagedAction",
];

fn policy(cx: &mut Ctx<'_>, root: Node<'_>, head: &Head<'_>) -> R<CalicoPolicy> {
    let global = head.kind.contains("Global");
    let staged = head.kind.starts_with("Staged");
    if !valid_policy_name(head.name) {
        let message = format!(
            "invalid policy name {:?}: a lower-case DNS label, or two joined by one dot (CA-5)",
            head.name
        );
        return Err(cx.error(root.pos, "metadata.name", message));
    }
    if staged {
        staged_notice(cx, root, head.kind);
    }
    let Some(spec) = root.field("spec") else {
        return Err(cx.error(root.pos, "spec", "spec is required"));
    };
    let mut known = POLICY_FIELDS.to_vec();
    known.retain(|f| {
        global
            || !matches!(
                *f,
                "namespaceSelector" | "doNotTrack" | "preDNAT" | "applyOnForward"
            )
    });
    known.retain(|f| staged || *f != "stagedAction");
    strict_fields(cx, spec, "spec", &known)?;
    let tier = tier_name(cx, spec)?;
    let order = order(cx, spec.field("order"), "spec.order")?;
    let selector = Spanned {
        span: cx.span(spec.field("selector").map_or(spec.pos, |n| n.pos)),
        value: selector_field(cx, spec.field("selector"), "spec.selector", false)?
            .unwrap_or(Expr::All),
    };
    let namespace_selector = selector_field(
        cx,
        spec.field("namespaceSelector"),
        "spec.namespaceSelector",
        false,
    )?;
    let service_account_selector = selector_field(
        cx,
        spec.field("serviceAccountSelector"),
        "spec.serviceAccountSelector",
        false,
    )?;
    let ingress = rules(cx, spec, true)?;
    let egress = rules(cx, spec, false)?;
    let governs = types(
        cx,
        spec,
        head.crd_form,
        [!ingress.is_empty(), !egress.is_empty()],
    )?;
    let host_only = host_switches(cx, spec, &egress, governs)?;
    Ok(CalicoPolicy {
        global,
        staged,
        host_only,
        tier,
        order,
        selector,
        namespace_selector,
        service_account_selector,
        governs,
        ingress,
        egress,
    })
}

fn tier_name(cx: &mut Ctx<'_>, spec: Node<'_>) -> R<String> {
    let Some(node) = spec.field("tier") else {
        return Ok("default".to_string());
    };
    let name = cx.string(node, "spec.tier")?;
    if name.is_empty() {
        return Ok("default".to_string());
    }
    if !dns_label(name) {
        let message =
            format!("invalid tier name {name:?}: a lower-case DNS label without dots (CA-4)");
        return Err(cx.error(node.pos, "spec.tier", message));
    }
    Ok(name.to_string())
}

/// `order`: any number, negative allowed; absent is not 0 (CA-83).
fn order(cx: &mut Ctx<'_>, node: Option<Node<'_>>, path: &str) -> R<Option<f64>> {
    match node.map(Node::value) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Int(i)) => Ok(Some(i as f64)),
        Some(Value::Float(f)) if f.is_finite() => Ok(Some(f)),
        Some(_) => {
            let n = node.map_or(crate::manifest::yaml::Pos::default(), |n| n.pos);
            Err(cx.error(n, path, "order must be a number (CA-83)"))
        }
    }
}

/// A selector field; None when absent or empty (CA-46). `global()` only
/// where `allow_global` (a rule's namespaceSelector, alone, CA-47).
pub(super) fn selector_field(
    cx: &mut Ctx<'_>,
    node: Option<Node<'_>>,
    path: &str,
    allow_global: bool,
) -> R<Option<Expr>> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(None);
    };
    let text = cx.string(node, path)?;
    if text.trim_matches([' ', '\t']).is_empty() {
        return Ok(None);
    }
    if text.len() > 1024 {
        return Err(cx.error(
            node.pos,
            path,
            "selector longer than 1024 characters (CA-40)",
        ));
    }
    let expr = calico_selector::parse(text).map_err(|e| {
        let message = format!(
            "invalid selector {text:?} at column {}: {} (CA-41, CA-42)",
            e.column, e.message
        );
        cx.error(node.pos, path, message)
    })?;
    if expr.mentions_global() && !(allow_global && expr == Expr::Global) {
        let message = "global() is allowed only alone, in a rule's namespaceSelector (CA-47)";
        return Err(cx.error(node.pos, path, message));
    }
    Ok(Some(expr))
}

/// `types` (CA-13, C-CA-3): explicit, else defaulted by the API server's
/// rule (`projectcalico.org/v3`) or read by felix as both directions
/// (`crd.projectcalico.org/v1`).
fn types(cx: &mut Ctx<'_>, spec: Node<'_>, crd_form: bool, has_rules: [bool; 2]) -> R<[bool; 2]> {
    let items = cx.list(spec.field("types"), "spec.types")?;
    let mut governs = [false; 2];
    for (i, t) in items.iter().enumerate() {
        let path = format!("spec.types[{i}]");
        let d = match cx.string(t, &path)? {
            "Ingress" => 0,
            "Egress" => 1,
            other => {
                let message = format!("unknown type {other:?} (expected Ingress or Egress, CA-13)");
                return Err(cx.error(t.pos, &path, message));
            }
        };
        if governs[d] {
            return Err(cx.error(t.pos, &path, "type listed twice (CA-13)"));
        }
        governs[d] = true;
    }
    if governs != [false, false] {
        for (d, key) in [(0, "ingress"), (1, "egress")] {
            if !governs[d] && has_rules[d] {
                let message = format!(
                    "spec.{key} is outside spec.types: Calico keeps the rules but never evaluates them (CA-14)"
                );
                cx.warn(
                    Code::CalicoDeadSection,
                    spec.pos,
                    &format!("spec.{key}"),
                    message,
                );
            }
        }
        return Ok(governs);
    }
    if crd_form {
        cx.warn(
            Code::CalicoTypesDefaulted,
            spec.pos,
            "spec.types",
            "crd.projectcalico.org/v1 without types: felix reads it as Ingress and Egress (CA-13, C-CA-3)",
        );
        return Ok([true, true]);
    }
    let empty_list = |key| spec.field(key).is_some();
    if (empty_list("ingress") && !has_rules[0]) || (empty_list("egress") && !has_rules[1]) {
        cx.warn(
            Code::CalicoTypesDefaulted,
            spec.pos,
            "spec.types",
            "an empty rule list without types: the API server, native v3 CRDs and crd.projectcalico.org/v1 default types differently; read as the API server does (CA-13, C-CA-3, E-CA-2)",
        );
    }
    Ok(match has_rules {
        [_, false] => [true, false],
        [false, true] => [false, true],
        [true, true] => [true, true],
    })
}

/// `doNotTrack`, `preDNAT`, `applyOnForward` (CA-16): whether the policy
/// only affects host endpoints.
fn host_switches(
    cx: &mut Ctx<'_>,
    spec: Node<'_>,
    egress: &[Spanned<CalicoRule>],
    governs: [bool; 2],
) -> R<bool> {
    let flag = |cx: &mut Ctx<'_>, key: &str| -> R<bool> {
        match spec.field(key).map(|n| (n, n.value())) {
            None | Some((_, Value::Null)) => Ok(false),
            Some((_, Value::Bool(b))) => Ok(b),
            Some((n, _)) => Err(cx.error(n.pos, &join("spec", key), "expected true or false")),
        }
    };
    let no_track = flag(cx, "doNotTrack")?;
    let pre_dnat = flag(cx, "preDNAT")?;
    let forward = flag(cx, "applyOnForward")?;
    let fail = |cx: &mut Ctx<'_>, m: &str| Err(cx.error(spec.pos, "spec", format!("{m} (CA-16)")));
    if no_track && pre_dnat {
        return fail(cx, "doNotTrack and preDNAT cannot both be true");
    }
    if (no_track || pre_dnat) && !forward {
        return fail(cx, "doNotTrack and preDNAT require applyOnForward: true");
    }
    if pre_dnat && (!egress.is_empty() || governs[1]) {
        return fail(
            cx,
            "a preDNAT policy cannot have egress rules or the Egress type",
        );
    }
    if no_track || pre_dnat {
        cx.warn(
            Code::CalicoHostOnly,
            spec.pos,
            "spec",
            "a doNotTrack or preDNAT policy applies only to host endpoints and never changes a pod verdict (CA-16)",
        );
    }
    Ok(no_track || pre_dnat)
}

fn rules(cx: &mut Ctx<'_>, spec: Node<'_>, ingress: bool) -> R<Vec<Spanned<CalicoRule>>> {
    let key = if ingress { "ingress" } else { "egress" };
    let path = join("spec", key);
    let items = cx.list(spec.field(key), &path)?;
    if items.len() > 1024 {
        return Err(cx.error(spec.pos, &path, "more than 1024 rules (CA-81)"));
    }
    let mut out = Vec::new();
    for (i, r) in items.iter().enumerate() {
        let rpath = format!("{path}[{i}]");
        out.push(Spanned {
            span: cx.span(r.pos),
            value: super::calico_rule::rule(cx, r, &rpath, ingress)?,
        });
    }
    Ok(out)
}

/// A Tier (CA-4): built-in tiers keep their fixed order and action.
fn tier(cx: &mut Ctx<'_>, root: Node<'_>, name: &str) -> R<CalicoTier> {
    if !dns_label(name) {
        let message =
            format!("invalid tier name {name:?}: a lower-case DNS label without dots (CA-4)");
        return Err(cx.error(root.pos, "metadata.name", message));
    }
    let spec = root.field("spec");
    if let Some(spec) = spec {
        strict_fields(cx, spec, "spec", &["order", "defaultAction"])?;
    }
    let order = order(cx, spec.and_then(|s| s.field("order")), "spec.order")?;
    let pass = match spec.and_then(|s| s.field("defaultAction")) {
        None => false,
        Some(n) => match cx.string(n, "spec.defaultAction")? {
            "Deny" => false,
            "Pass" => true,
            other => {
                let message =
                    format!("unknown defaultAction {other:?} (expected Deny or Pass, CA-4)");
                return Err(cx.error(n.pos, "spec.defaultAction", message));
            }
        },
    };
    let fixed = match name {
        "default" => Some((1_000_000.0, false)),
        "kube-admin" => Some((1_000.0, true)),
        "kube-baseline" => Some((10_000_000.0, true)),
        _ => None,
    };
    if let Some((o, p)) = fixed {
        if order.is_some_and(|x| x != o) || pass != p {
            let message = format!(
                "tier {name} is built in: order {o}, defaultAction {} (CA-4)",
                if p { "Pass" } else { "Deny" }
            );
            return Err(cx.error(root.pos, "spec", message));
        }
    }
    Ok(CalicoTier { order, pass })
}

fn network_set(cx: &mut Ctx<'_>, root: Node<'_>) -> R<NetworkSet> {
    let labels = cx.labels(
        root.get("metadata").and_then(|m| m.get("labels")),
        "metadata.labels",
    )?;
    let mut nets = Vec::new();
    if let Some(spec) = root.field("spec") {
        strict_fields(cx, spec, "spec", &["nets", "allowedEgressDomains"])?;
        let items = cx.list(spec.field("nets"), "spec.nets")?;
        for (i, n) in items.iter().enumerate() {
            nets.push(net(cx, n, &format!("spec.nets[{i}]"))?);
        }
    }
    nets.sort();
    nets.dedup();
    Ok(NetworkSet { labels, nets })
}

/// A CIDR or a bare address (/32, /128), strictly masked (CA-82, C-CA-13).
pub(super) fn net(cx: &mut Ctx<'_>, node: Node<'_>, path: &str) -> R<Cidr> {
    let text = cx.string(node, path)?;
    let full;
    let written = if text.contains('/') {
        text
    } else {
        full = format!("{text}/{}", if text.contains(':') { 128 } else { 32 });
        &full
    };
    match Cidr::parse(written) {
        Ok((cidr, false)) => Ok(cidr),
        Ok((cidr, true)) => {
            let message = format!(
                "{text} has host bits set; Calico requires a strictly masked network such as {cidr} (CA-82, E-CA-37)"
            );
            Err(cx.error(node.pos, path, message))
        }
        Err(_) => Err(cx.error(node.pos, path, format!("invalid CIDR {text:?}"))),
    }
}
