//! YAML nodes to typed objects. Strict where a field can change a verdict
//! (NP-31): such an object becomes an error diagnostic. Lenient where it
//! cannot (C9): a warning, and the object is kept.

use super::objects::*;
use super::yaml::{Entries, Items, Node, Pos, Value};
use crate::diag::{Code, Diagnostic, Severity, Span};
use crate::model::selector::{NAMESPACE_NAME_LABEL, valid_label_key, valid_label_value};
use crate::model::{Cidr, Labels, Operator, Protocol, Requirement, Selector};
use std::collections::BTreeMap;

/// Marks that an error diagnostic was recorded and the object is rejected.
#[derive(Debug)]
pub(crate) struct Invalid;

type R<T> = Result<T, Invalid>;

pub(crate) mod calico;
mod calico_rule;
pub(crate) mod cilium;

pub(crate) struct Ctx<'a> {
    /// Spans come from here: a rendered file maps its lines to origins.
    pub file: &'a crate::revision::SourceFile,
    pub object: String,
    pub diags: &'a mut Vec<Diagnostic>,
    /// Warnings and notes given so far, per code: an object repeats one
    /// warning at most [`MAX_PER_CODE`] times, then says how many more.
    given: BTreeMap<Code, usize>,
    /// Selector keys may carry a Cilium source prefix (`k8s:app`, CI-10).
    cilium_keys: bool,
}

/// How often one object repeats a warning before it is summarised.
const MAX_PER_CODE: usize = 10;

impl<'a> Ctx<'a> {
    pub fn new(
        file: &'a crate::revision::SourceFile,
        object: String,
        diags: &'a mut Vec<Diagnostic>,
    ) -> Self {
        Ctx {
            file,
            object,
            diags,
            given: BTreeMap::new(),
            cilium_keys: false,
        }
    }

    /// Says how many repeated warnings were left out.
    pub fn finish(self, pos: Pos) {
        for (code, n) in &self.given {
            if *n > MAX_PER_CODE {
                let more = n - MAX_PER_CODE;
                let d = Diagnostic::new(*code, format!("{more} more like this in this object"))
                    .at(self.span(pos))
                    .object(self.object.clone());
                self.diags.push(d);
            }
        }
    }

    pub fn span(&self, pos: Pos) -> Span {
        self.file.span(pos.line, pos.col)
    }

    fn report(&mut self, code: Code, pos: Pos, field: &str, message: impl Into<String>) {
        if code.severity() != Severity::Error {
            let n = self.given.entry(code).or_default();
            *n += 1;
            if *n > MAX_PER_CODE {
                return;
            }
        }
        let mut d = Diagnostic::new(code, message)
            .at(self.span(pos))
            .object(self.object.clone());
        if !field.is_empty() {
            d = d.field(field);
        }
        self.diags.push(d);
    }

    fn error(&mut self, pos: Pos, field: &str, message: impl Into<String>) -> Invalid {
        self.report(Code::InvalidObject, pos, field, message);
        Invalid
    }

    pub fn warn(&mut self, code: Code, pos: Pos, field: &str, message: impl Into<String>) {
        self.report(code, pos, field, message);
    }

    /// Warns about keys the API does not define: with strict field validation
    /// (kubectl's default) such an object is rejected, and a typo such as
    /// `podSelecter` would otherwise silently change the meaning.
    fn check_fields(&mut self, node: Node<'_>, path: &str, known: &[&str]) {
        if let Some(entries) = node.entries() {
            for (k, _) in entries {
                if !known.contains(&k.text) {
                    let field = join(path, k.text);
                    self.warn(Code::UnknownField, k.pos, &field, "unknown field");
                }
            }
        }
    }

    fn mapping<'n>(&mut self, node: Node<'n>, path: &str) -> R<Entries<'n>> {
        node.entries().ok_or_else(|| {
            self.error(
                node.pos,
                path,
                format!("expected a mapping, found {}", node.type_name()),
            )
        })
    }

    /// A list; null counts as empty.
    fn list<'n>(&mut self, node: Option<Node<'n>>, path: &str) -> R<Items<'n>> {
        match node {
            None => Ok(Items::EMPTY),
            Some(n) if n.is_null() => Ok(Items::EMPTY),
            Some(n) => n.items().ok_or_else(|| {
                self.error(
                    n.pos,
                    path,
                    format!("expected a list, found {}", n.type_name()),
                )
            }),
        }
    }

    fn string<'n>(&mut self, node: Node<'n>, path: &str) -> R<&'n str> {
        node.as_str().ok_or_else(|| {
            self.error(
                node.pos,
                path,
                format!("expected a string, found {}", node.type_name()),
            )
        })
    }

    fn opt_string<'n>(&mut self, node: Node<'n>, key: &str, path: &str) -> R<Option<&'n str>> {
        match node.field(key) {
            None => Ok(None),
            Some(n) => self.string(n, &join(path, key)).map(Some),
        }
    }

    fn integer(&mut self, node: Node<'_>, path: &str) -> R<i64> {
        match node.value() {
            Value::Int(i) => Ok(i),
            _ => Err(self.error(
                node.pos,
                path,
                format!("expected an integer, found {}", node.type_name()),
            )),
        }
    }

    /// Labels (metadata.labels, matchLabels): values must be strings (E-37).
    fn labels(&mut self, node: Option<Node<'_>>, path: &str) -> R<Labels> {
        let mut labels = Labels::new();
        let Some(node) = node.filter(|n| !n.is_null()) else {
            return Ok(labels);
        };
        let entries = self.mapping(node, path)?;
        for (k, v) in entries {
            let field = join(path, k.text);
            if !self.valid_key(k.text) {
                return Err(self.error(k.pos, &field, "invalid label key"));
            }
            let value = match v.value() {
                Value::Str { text, plain } => {
                    if plain && is_yaml11_bool(text) {
                        self.warn(
                            Code::BooleanLikeLabel,
                            v.pos,
                            &field,
                            format!("unquoted {text:?} may be read as a boolean by YAML 1.1 parsers; quote it"),
                        );
                    }
                    text.to_string()
                }
                _ => {
                    return Err(self.error(
                        v.pos,
                        &field,
                        format!(
                            "label values must be strings, found {} (quote it)",
                            v.type_name()
                        ),
                    ));
                }
            };
            if !valid_label_value(&value) {
                return Err(self.error(v.pos, &field, format!("invalid label value {value:?}")));
            }
            labels.insert(k.text.to_string(), value);
        }
        Ok(labels)
    }

    /// A LabelSelector (NP-10). Null or absent is handled by the caller,
    /// because its meaning differs by field (NP-11).
    fn selector(&mut self, node: Node<'_>, path: &str) -> R<Selector> {
        self.mapping(node, path)?;
        self.check_fields(node, path, &["matchLabels", "matchExpressions"]);
        let mut reqs = Vec::new();
        let ml_path = join(path, "matchLabels");
        for (k, v) in self.labels(node.get("matchLabels"), &ml_path)? {
            reqs.push(Requirement {
                key: k,
                op: Operator::In,
                values: vec![v],
            });
        }
        let me_path = join(path, "matchExpressions");
        for (i, expr) in self
            .list(node.get("matchExpressions"), &me_path)?
            .iter()
            .enumerate()
        {
            let p = format!("{me_path}[{i}]");
            self.mapping(expr, &p)?;
            self.check_fields(expr, &p, &["key", "operator", "values"]);
            let key = self
                .opt_string(expr, "key", &p)?
                .ok_or_else(|| self.error(expr.pos, &p, "key is required"))?;
            if !self.valid_key(key) {
                return Err(self.error(
                    expr.get("key").map_or(expr.pos, |n| n.pos),
                    &join(&p, "key"),
                    format!("invalid label key {key:?}"),
                ));
            }
            let op_text = self
                .opt_string(expr, "operator", &p)?
                .ok_or_else(|| self.error(expr.pos, &p, "operator is required"))?;
            let op = Operator::parse(op_text).ok_or_else(|| {
                self.error(
                    expr.get("operator").map_or(expr.pos, |n| n.pos),
                    &join(&p, "operator"),
                    format!(
                        "unknown operator {op_text:?} (expected In, NotIn, Exists or DoesNotExist)"
                    ),
                )
            })?;
            let vpath = join(&p, "values");
            let mut values = Vec::new();
            for (j, v) in self.list(expr.get("values"), &vpath)?.iter().enumerate() {
                let vp = format!("{vpath}[{j}]");
                let s = match v.value() {
                    Value::Str { text, .. } => text.to_string(),
                    _ => {
                        return Err(self.error(
                            v.pos,
                            &vp,
                            format!("values must be strings, found {}", v.type_name()),
                        ));
                    }
                };
                if !valid_label_value(&s) {
                    return Err(self.error(v.pos, &vp, format!("invalid label value {s:?}")));
                }
                values.push(s);
            }
            let values_pos = expr.get("values").map_or(expr.pos, |n| n.pos);
            match op {
                Operator::In | Operator::NotIn if values.is_empty() => {
                    return Err(self.error(
                        values_pos,
                        &vpath,
                        format!("{op_text} needs at least one value"),
                    ));
                }
                Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                    return Err(self.error(
                        values_pos,
                        &vpath,
                        format!("{op_text} takes no values"),
                    ));
                }
                _ => {}
            }
            reqs.push(Requirement {
                key: key.to_string(),
                op,
                values,
            });
        }
        let selector = Selector::new(reqs);
        self.warn_controller_labels(&selector, node.pos, path);
        Ok(selector)
    }

    fn valid_key(&self, key: &str) -> bool {
        if self.cilium_keys {
            cilium::valid_selector_key(key)
        } else {
            valid_label_key(key)
        }
    }

    fn warn_controller_labels(&mut self, selector: &Selector, pos: Pos, path: &str) {
        for key in selector.keys() {
            if CONTROLLER_LABELS.contains(&key) {
                self.warn(
                    Code::ControllerLabel,
                    pos,
                    path,
                    format!("{key} is set by a controller per pod; template labels do not carry it, so this selector is evaluated as if no pod had it"),
                );
            }
        }
    }

    fn cidr(&mut self, node: Node<'_>, path: &str) -> R<Cidr> {
        let text = self.string(node, path)?;
        match Cidr::parse(text) {
            Ok((cidr, host_bits)) => {
                if host_bits {
                    self.warn(
                        Code::CidrHostBits,
                        node.pos,
                        path,
                        format!("{text} has host bits set; it means {cidr}"),
                    );
                }
                Ok(cidr)
            }
            Err(_) => Err(self.error(node.pos, path, format!("invalid CIDR {text:?}"))),
        }
    }

    fn protocol(&mut self, node: Option<Node<'_>>, path: &str) -> R<Protocol> {
        match node.filter(|n| !n.is_null()) {
            None => Ok(Protocol::Tcp),
            Some(n) => {
                let text = self.string(n, path)?;
                Protocol::parse(text).ok_or_else(|| {
                    self.error(
                        n.pos,
                        path,
                        format!(
                            "unsupported protocol {text:?} (expected TCP, UDP or SCTP, upper case)"
                        ),
                    )
                })
            }
        }
    }

    fn port_number(&mut self, node: Node<'_>, path: &str) -> R<u16> {
        let n = self.integer(node, path)?;
        if !(1..=65535).contains(&n) {
            return Err(self.error(node.pos, path, format!("port {n} is outside 1-65535")));
        }
        Ok(n as u16)
    }

    fn port_name(&mut self, node: Node<'_>, name: &str, path: &str) -> R<String> {
        if !valid_port_name(name) {
            let hint = if name.bytes().all(|b| b.is_ascii_digit()) {
                " (a quoted number is a port name, and names need a letter; write it unquoted)"
            } else {
                ""
            };
            return Err(self.error(node.pos, path, format!("invalid port name {name:?}{hint}")));
        }
        Ok(name.to_string())
    }
}

/// Typical pod and service ranges (NP-14).
const CLUSTER_RANGES: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];

/// The first typical pod range that `cidr` minus `except` still overlaps.
fn cluster_range_overlap(cidr: &Cidr, except: &[Cidr]) -> Option<&'static str> {
    let r = cidr.range();
    CLUSTER_RANGES.iter().copied().find(|text| {
        let Ok((c, _)) = Cidr::parse(text) else {
            return false;
        };
        let cr = c.range();
        if cr.family != r.family || cr.last < r.first || r.last < cr.first {
            return false;
        }
        // Overlaps unless the excepts remove the whole intersection.
        let (lo, hi) = (cr.first.max(r.first), cr.last.min(r.last));
        !except.iter().any(|e| {
            let er = e.range();
            er.first <= lo && hi <= er.last
        })
    })
}

/// Labels that controllers add per pod (M-4).
const CONTROLLER_LABELS: &[&str] = &[
    "pod-template-hash",
    "controller-revision-hash",
    "pod-template-generation",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "controller-uid",
    "batch.kubernetes.io/job-completion-index",
];

fn is_yaml11_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// IANA_SVC_NAME: 1-15 of [a-z0-9-], a letter, no leading/trailing/double hyphen (NP-17).
pub(crate) fn valid_port_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

// ---------------------------------------------------------------------------
// Workloads, Namespaces, Services (lenient)
// ---------------------------------------------------------------------------

pub(crate) fn namespace(cx: &mut Ctx<'_>, root: Node<'_>, name: &str) -> R<Namespace> {
    let meta = root.get("metadata");
    let mut labels = cx.labels(meta.and_then(|m| m.get("labels")), "metadata.labels")?;
    // M-7: the API server forces this label to the name.
    labels.insert(NAMESPACE_NAME_LABEL.to_string(), name.to_string());
    Ok(Namespace {
        name: name.to_string(),
        labels,
        span: Some(cx.span(root.pos)),
    })
}

/// The entries of the object's `reachdiff.io/acknowledge` annotation:
/// `code: reason`, one per line or separated by `;`. An entry without a
/// reason acknowledges nothing and is said (it cannot change a verdict, so
/// it never stops the analysis).
pub(crate) fn acknowledgements(cx: &mut Ctx<'_>, root: Node<'_>) -> Vec<Acknowledgement> {
    let field = format!("metadata.annotations.{ACKNOWLEDGE_ANNOTATION}");
    let Some(v) = root
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(ACKNOWLEDGE_ANNOTATION))
    else {
        return Vec::new();
    };
    let Some(text) = v.as_str() else {
        let found = v.type_name();
        cx.warn(
            Code::AcknowledgementUnused,
            v.pos,
            &field,
            format!("expected a string of `code: reason` entries, found {found}; it acknowledges nothing"),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in text
        .split(['\n', ';'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        match entry.split_once(':') {
            Some((code, reason)) if !code.trim().is_empty() && !reason.trim().is_empty() => {
                out.push(Acknowledgement {
                    code: code.trim().to_string(),
                    object: cx.object.clone(),
                    field: None,
                    reason: reason.trim().to_string(),
                    source: AckSource::Annotation(cx.span(v.pos)),
                });
            }
            _ => cx.warn(
                Code::AcknowledgementUnused,
                v.pos,
                &field,
                format!("{entry:?} is not `code: reason` (a finding code and why it is intended); it acknowledges nothing"),
            ),
        }
    }
    out
}

/// The pod template of a workload kind, with the path used in messages.
fn pod_template<'n>(kind: &str, root: Node<'n>) -> Option<(Node<'n>, &'static str)> {
    match kind {
        "Pod" => Some((root, "")),
        "CronJob" => root
            .get("spec")?
            .get("jobTemplate")?
            .get("spec")?
            .get("template")
            .map(|t| (t, "spec.jobTemplate.spec.template")),
        _ => root
            .get("spec")?
            .get("template")
            .map(|t| (t, "spec.template")),
    }
}

pub(crate) fn has_pod_template(kind: &str, root: Node<'_>) -> bool {
    pod_template(kind, root)
        .is_some_and(|(t, _)| t.get("spec").and_then(|s| s.get("containers")).is_some())
}

pub(crate) fn workload(
    cx: &mut Ctx<'_>,
    root: Node<'_>,
    kind: &str,
    namespace: &str,
    name: &str,
) -> R<Workload> {
    let Some((template, tpath)) = pod_template(kind, root) else {
        return Err(cx.error(root.pos, "spec.template", "workload has no pod template"));
    };
    // The API server refuses a template, metadata or pod spec of the wrong
    // shape; reading them leniently would drop the labels every selector
    // matches against.
    cx.mapping(template, tpath)?;
    let meta_path = join(tpath, "metadata");
    let meta = template.field("metadata");
    if let Some(m) = meta {
        cx.mapping(m, &meta_path)?;
    }
    let labels_node = meta.and_then(|m| m.get("labels"));
    let labels = cx.labels(labels_node, &join(&meta_path, "labels"))?;
    // Where each label is written: a relabel is cited at its own line.
    let label_spans = match labels_node.map(|n| n.value()) {
        Some(Value::Map(entries)) => entries
            .into_iter()
            .map(|(k, _)| (k.text.to_string(), cx.span(k.pos)))
            .collect(),
        _ => Vec::new(),
    };
    let (ports, init_ports, host_network) = match template.field("spec") {
        Some(spec) => pod_spec(cx, spec, &join(tpath, "spec"))?,
        None => (Vec::new(), Vec::new(), false),
    };
    // CI-8: the service account is part of a Cilium identity; the
    // deprecated `serviceAccount` is its older spelling.
    let service_account = template.field("spec").and_then(|spec| {
        ["serviceAccountName", "serviceAccount"]
            .iter()
            .find_map(|k| spec.field(k).and_then(Node::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    });
    if kind == "StatefulSet"
        && root
            .get("spec")
            .and_then(|s| s.field("serviceName"))
            .is_none()
    {
        cx.warn(
            Code::LenientWorkload,
            root.pos,
            "spec.serviceName",
            "StatefulSet without serviceName (accepted; it cannot change reachability)",
        );
    }
    if host_network {
        cx.warn(
            Code::HostNetwork,
            root.pos,
            "",
            "hostNetwork workload: treated like any pod (selected and matched by labels); most CNIs treat its traffic as node traffic instead",
        );
    }
    Ok(Workload {
        kind: kind.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
        labels,
        ports,
        init_ports,
        host_network,
        service_account,
        span: cx.span(root.pos),
        label_spans,
        representative: None,
    })
}

/// Container ports (M-5) and hostNetwork of a pod spec.
/// Container ports (M-5), ports of the other init containers (C-CA-9)
/// and hostNetwork.
type PodPorts = (Vec<ContainerPort>, Vec<ContainerPort>, bool);

fn pod_spec(cx: &mut Ctx<'_>, spec: Node<'_>, spec_path: &str) -> R<PodPorts> {
    cx.mapping(spec, spec_path)?;
    let host_network = spec
        .get("hostNetwork")
        .is_some_and(|hn| matches!(hn.value(), Value::Bool(true)));
    let mut ports = Vec::new();
    let mut init_ports = Vec::new();
    for (list, sidecars_only) in [("containers", false), ("initContainers", true)] {
        let lpath = join(spec_path, list);
        for (i, c) in cx.list(spec.get(list), &lpath)?.iter().enumerate() {
            let cpath = format!("{lpath}[{i}]");
            cx.mapping(c, &cpath)?;
            if sidecars_only && c.get("restartPolicy").and_then(Node::as_str) != Some("Always") {
                container_ports(cx, c, &cpath, &mut init_ports);
                continue;
            }
            if c.field("name").is_none() {
                cx.warn(
                    Code::LenientWorkload,
                    c.pos,
                    &cpath,
                    "container without a name (accepted; it cannot change reachability)",
                );
            }
            container_ports(cx, c, &cpath, &mut ports);
        }
    }
    ports.sort();
    ports.dedup();
    init_ports.sort();
    init_ports.dedup();
    Ok((ports, init_ports, host_network))
}

/// A container's ports, leniently (C9): an entry that cannot name a port is
/// left out with a warning.
fn container_ports(cx: &mut Ctx<'_>, c: Node<'_>, cpath: &str, ports: &mut Vec<ContainerPort>) {
    let Some(items) = c.field("ports") else {
        return;
    };
    let Some(items) = items.items() else {
        let message = format!("ports must be a list, found {}; ignored", items.type_name());
        return cx.warn(
            Code::LenientWorkload,
            items.pos,
            &join(cpath, "ports"),
            message,
        );
    };
    for (j, p) in items.iter().enumerate() {
        let ppath = format!("{cpath}.ports[{j}]");
        let number = match p.get("containerPort").map(Node::value) {
            Some(Value::Int(n)) if (1..=65535).contains(&n) => n as u16,
            _ => {
                cx.warn(
                    Code::LenientWorkload,
                    p.pos,
                    &ppath,
                    "container port without a valid containerPort is ignored",
                );
                continue;
            }
        };
        let protocol = match p.field("protocol").and_then(Node::as_str) {
            None => Protocol::Tcp,
            Some(t) => match Protocol::parse(t) {
                Some(pr) => pr,
                None => {
                    cx.warn(
                        Code::LenientWorkload,
                        p.pos,
                        &ppath,
                        format!("container port with protocol {t:?} is ignored"),
                    );
                    continue;
                }
            },
        };
        let pname = p.field("name").and_then(Node::as_str).map(str::to_string);
        ports.push(ContainerPort {
            name: pname,
            port: number,
            protocol,
        });
    }
}

pub(crate) fn service(cx: &mut Ctx<'_>, root: Node<'_>, namespace: &str, name: &str) -> R<Service> {
    let spec = root.field("spec");
    let selector = match spec.and_then(|s| s.field("selector")) {
        None => None,
        Some(sel) => Some(cx.labels(Some(sel), "spec.selector")?),
    };
    let mut ports = Vec::new();
    if let Some(items) = spec.and_then(|s| s.field("ports")).and_then(Node::items) {
        for p in items {
            let Some(Value::Int(port)) = p.get("port").map(Node::value) else {
                continue;
            };
            let Ok(port) = u16::try_from(port) else {
                continue;
            };
            let protocol = p
                .field("protocol")
                .and_then(Node::as_str)
                .and_then(Protocol::parse)
                .unwrap_or(Protocol::Tcp);
            let target = match p.field("targetPort").map(Node::value) {
                Some(Value::Int(t)) => u16::try_from(t)
                    .map(TargetPort::Number)
                    .unwrap_or(TargetPort::Number(port)),
                Some(Value::Str { text, .. }) => match text.parse::<u16>() {
                    Ok(n) => TargetPort::Number(n),
                    Err(_) => TargetPort::Name(text.to_string()),
                },
                _ => TargetPort::Number(port),
            };
            ports.push(ServicePort {
                name: p.field("name").and_then(Node::as_str).map(str::to_string),
                port,
                target,
                protocol,
            });
        }
    }
    Ok(Service {
        namespace: namespace.to_string(),
        name: name.to_string(),
        selector,
        ports,
        span: cx.span(root.pos),
    })
}

// ---------------------------------------------------------------------------
// NetworkPolicy (strict)
// ---------------------------------------------------------------------------

pub(crate) fn network_policy(
    cx: &mut Ctx<'_>,
    root: Node<'_>,
    namespace: &str,
    name: &str,
) -> R<NetworkPolicy> {
    // An absent or null spec reads as an empty one.
    let spec_node = root.field("spec");
    if let Some(spec) = spec_node {
        cx.mapping(spec, "spec")?;
        cx.check_fields(
            spec,
            "spec",
            &["podSelector", "policyTypes", "ingress", "egress"],
        );
    }
    let get = |key: &str| spec_node.and_then(|s| s.get(key));
    // NP-2: absent, null and {} all select every pod of the namespace.
    let pod_selector = match get("podSelector").filter(|n| !n.is_null()) {
        None => Selector::everything(),
        Some(n) => cx.selector(n, "spec.podSelector")?,
    };
    let ingress_nodes = cx.list(get("ingress"), "spec.ingress")?;
    let egress_nodes = cx.list(get("egress"), "spec.egress")?;
    let types = cx.list(get("policyTypes"), "spec.policyTypes")?;
    let (ingress_isolates, egress_isolates) = if types.is_empty() {
        // NP-3: Ingress always, Egress when egress has at least one element.
        let egress = !egress_nodes.is_empty();
        cx.diags.push(
            Diagnostic::new(
                Code::PolicyTypesDefaulted,
                format!(
                    "policyTypes defaulted to [{}]",
                    if egress { "Ingress, Egress" } else { "Ingress" }
                ),
            )
            .at(cx.span(root.pos))
            .object(cx.object.clone()),
        );
        (true, egress)
    } else {
        if types.len() > 2 {
            return Err(cx.error(
                types.get(2).map_or(root.pos, |t| t.pos),
                "spec.policyTypes",
                "at most two policyTypes are allowed",
            ));
        }
        let (mut i, mut e) = (false, false);
        for (k, t) in types.iter().enumerate() {
            let p = format!("spec.policyTypes[{k}]");
            match cx.string(t, &p)? {
                "Ingress" => i = true,
                "Egress" => e = true,
                other => {
                    return Err(cx.error(
                        t.pos,
                        &p,
                        format!("unknown policy type {other:?} (expected Ingress or Egress)"),
                    ));
                }
            }
        }
        (i, e)
    };
    let defaulted_protocols = ingress_nodes
        .iter()
        .chain(egress_nodes)
        .filter_map(|r| r.get("ports").and_then(Node::items))
        .flatten()
        .filter(|p| p.field("protocol").is_none())
        .count();
    if defaulted_protocols > 0 {
        cx.diags.push(
            Diagnostic::new(
                Code::ProtocolDefaulted,
                format!(
                    "protocol defaulted to TCP for {defaulted_protocols} port entr{}",
                    if defaulted_protocols == 1 { "y" } else { "ies" }
                ),
            )
            .at(cx.span(root.pos))
            .object(cx.object.clone()),
        );
    }
    let mut ingress = Vec::new();
    for (i, r) in ingress_nodes.iter().enumerate() {
        ingress.push(np_rule(cx, r, &format!("spec.ingress[{i}]"), "from")?);
    }
    let mut egress = Vec::new();
    for (i, r) in egress_nodes.iter().enumerate() {
        egress.push(np_rule(cx, r, &format!("spec.egress[{i}]"), "to")?);
    }
    let selector_pos = get("podSelector").map_or(spec_node.map_or(root.pos, |n| n.pos), |n| n.pos);
    Ok(NetworkPolicy {
        namespace: namespace.to_string(),
        name: name.to_string(),
        span: cx.span(root.pos),
        selector_span: cx.span(selector_pos),
        pod_selector,
        ingress_isolates,
        egress_isolates,
        ingress,
        egress,
    })
}

fn np_rule(cx: &mut Ctx<'_>, node: Node<'_>, path: &str, peers_key: &str) -> R<NpRule> {
    if node.is_null() {
        // `- ` with nothing after it is an empty rule, as `- {}`.
        return Ok(NpRule {
            span: cx.span(node.pos),
            peers: None,
            ports: None,
        });
    }
    cx.mapping(node, path)?;
    cx.check_fields(node, path, &[peers_key, "ports"]);
    let ppath = join(path, peers_key);
    let peer_nodes = cx.list(node.get(peers_key), &ppath)?;
    let peers = if peer_nodes.is_empty() {
        None
    } else {
        let mut v = Vec::new();
        for (i, p) in peer_nodes.iter().enumerate() {
            v.push(np_peer(cx, p, &format!("{ppath}[{i}]"))?);
        }
        Some(v)
    };
    let port_path = join(path, "ports");
    let port_nodes = cx.list(node.get("ports"), &port_path)?;
    let ports = if port_nodes.is_empty() {
        None
    } else {
        let mut v = Vec::new();
        for (i, p) in port_nodes.iter().enumerate() {
            v.push(np_port(cx, p, &format!("{port_path}[{i}]"))?);
        }
        Some(v)
    };
    Ok(NpRule {
        span: cx.span(node.pos),
        peers,
        ports,
    })
}

fn np_peer(cx: &mut Ctx<'_>, node: Node<'_>, path: &str) -> R<NpPeer> {
    if node.is_null() {
        return Err(cx.error(
            node.pos,
            path,
            "a peer needs podSelector, namespaceSelector or ipBlock",
        ));
    }
    cx.mapping(node, path)?;
    cx.check_fields(node, path, &["podSelector", "namespaceSelector", "ipBlock"]);
    let pods = node.field("podSelector");
    let namespaces = node.field("namespaceSelector");
    let ip_block = node.field("ipBlock");
    let kind = match (pods, namespaces, ip_block) {
        (None, None, None) => {
            return Err(cx.error(
                node.pos,
                path,
                "a peer needs podSelector, namespaceSelector or ipBlock (a null selector counts as absent, NP-11)",
            ));
        }
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            return Err(cx.error(
                node.pos,
                path,
                "ipBlock cannot be combined with podSelector or namespaceSelector",
            ));
        }
        (None, None, Some(b)) => {
            let bpath = join(path, "ipBlock");
            cx.mapping(b, &bpath)?;
            cx.check_fields(b, &bpath, &["cidr", "except"]);
            let cidr_node = b
                .field("cidr")
                .ok_or_else(|| cx.error(b.pos, &bpath, "cidr is required"))?;
            let cidr = cx.cidr(cidr_node, &join(&bpath, "cidr"))?;
            let epath = join(&bpath, "except");
            let mut except = Vec::new();
            for (i, e) in cx.list(b.get("except"), &epath)?.iter().enumerate() {
                let p = format!("{epath}[{i}]");
                let ex = cx.cidr(e, &p)?;
                if !ex.strictly_inside(&cidr) {
                    return Err(cx.error(
                        e.pos,
                        &p,
                        format!("except {ex} is not a strict subset of cidr {cidr}"),
                    ));
                }
                except.push(ex);
            }
            except.sort();
            except.dedup();
            if let Some(range) = cluster_range_overlap(&cidr, &except) {
                cx.warn(
                    Code::IpBlockClusterRange,
                    b.pos,
                    &bpath,
                    format!("{cidr} covers {range}, a typical pod range; reachdiff matches ipBlocks against external addresses only, but IP-matching CNIs (Calico, the upstream e2e tests) also admit pods there (NP-14)"),
                );
            }
            NpPeerKind::IpBlock { cidr, except }
        }
        (pods, namespaces, None) => NpPeerKind::Selectors {
            namespaces: namespaces
                .map(|n| cx.selector(n, &join(path, "namespaceSelector")))
                .transpose()?,
            pods: pods
                .map(|n| cx.selector(n, &join(path, "podSelector")))
                .transpose()?,
        },
    };
    Ok(NpPeer {
        kind,
        span: cx.span(node.pos),
    })
}

fn np_port(cx: &mut Ctx<'_>, node: Node<'_>, path: &str) -> R<PortSpec> {
    cx.mapping(node, path)?;
    cx.check_fields(node, path, &["protocol", "port", "endPort"]);
    let protocol = cx.protocol(node.get("protocol"), &join(path, "protocol"))?;
    let end_port = node.field("endPort");
    let spec = match node.field("port") {
        None => {
            if let Some(e) = end_port {
                return Err(cx.error(e.pos, &join(path, "endPort"), "endPort requires port"));
            }
            PortSpec::Any(protocol)
        }
        Some(p) => match p.value() {
            Value::Int(_) => {
                let lo = cx.port_number(p, &join(path, "port"))?;
                let hi = match end_port {
                    None => lo,
                    Some(e) => {
                        let hi = cx.port_number(e, &join(path, "endPort"))?;
                        if hi < lo {
                            return Err(cx.error(
                                e.pos,
                                &join(path, "endPort"),
                                format!("endPort {hi} is below port {lo}"),
                            ));
                        }
                        hi
                    }
                };
                PortSpec::Range(protocol, lo, hi)
            }
            Value::Str { text, .. } => {
                let name = cx.port_name(p, text, &join(path, "port"))?;
                if let Some(e) = end_port {
                    return Err(cx.error(
                        e.pos,
                        &join(path, "endPort"),
                        "endPort cannot be used with a named port",
                    ));
                }
                PortSpec::Named(Some(protocol), name)
            }
            _ => {
                return Err(cx.error(
                    p.pos,
                    &join(path, "port"),
                    format!("expected integer or string, found {}", p.type_name()),
                ));
            }
        },
    };
    Ok(spec)
}

// ---------------------------------------------------------------------------
// AdminNetworkPolicy, BaselineAdminNetworkPolicy (v1alpha1) and
// ClusterNetworkPolicy (v1alpha2): one model (AP-1)
// ---------------------------------------------------------------------------

pub(crate) fn admin_policy(
    cx: &mut Ctx<'_>,
    root: Node<'_>,
    kind: &str,
    name: &str,
) -> R<AdminPolicy> {
    let spec = root
        .field("spec")
        .ok_or_else(|| cx.error(root.pos, "spec", "spec is required"))?;
    cx.mapping(spec, "spec")?;
    let v2 = kind == "ClusterNetworkPolicy";
    if kind == "BaselineAdminNetworkPolicy" && name != "default" {
        // AP-1: a singleton; the API server accepts only this name.
        let pos = root
            .get("metadata")
            .and_then(|m| m.get("name"))
            .map_or(root.pos, |n| n.pos);
        return Err(cx.error(
            pos,
            "metadata.name",
            format!("a BaselineAdminNetworkPolicy must be named \"default\", not {name:?}"),
        ));
    }
    let (tier, priority) = match kind {
        "BaselineAdminNetworkPolicy" => (Tier::Baseline, None),
        "AdminNetworkPolicy" => (Tier::Admin, Some(priority(cx, spec)?)),
        _ => {
            let tnode = spec
                .field("tier")
                .ok_or_else(|| cx.error(spec.pos, "spec.tier", "tier is required"))?;
            let tier = match cx.string(tnode, "spec.tier")? {
                "Admin" => Tier::Admin,
                "Baseline" => Tier::Baseline,
                other => {
                    return Err(cx.error(
                        tnode.pos,
                        "spec.tier",
                        format!("unknown tier {other:?} (expected Admin or Baseline)"),
                    ));
                }
            };
            (tier, Some(priority(cx, spec)?))
        }
    };
    let known: &[&str] = if v2 {
        &["tier", "priority", "subject", "ingress", "egress"]
    } else if tier == Tier::Admin {
        &["priority", "subject", "ingress", "egress"]
    } else {
        &["subject", "ingress", "egress"]
    };
    cx.check_fields(spec, "spec", known);
    let subject_node = spec
        .field("subject")
        .ok_or_else(|| cx.error(spec.pos, "spec.subject", "subject is required"))?;
    let subject = admin_select(cx, subject_node, "spec.subject", v2)?;
    let mut rules = [Vec::new(), Vec::new()];
    for (d, key) in ["ingress", "egress"].into_iter().enumerate() {
        let shape = AdminRuleShape {
            v2,
            tier,
            egress: d == 1,
        };
        let items = cx.list(spec.get(key), &join("spec", key))?;
        for (i, r) in items.iter().enumerate() {
            let path = format!("spec.{key}[{i}]");
            rules[d].push(admin_rule(cx, r, &path, shape)?);
        }
    }
    let [ingress, egress] = rules;
    Ok(AdminPolicy {
        kind: kind.to_string(),
        name: name.to_string(),
        tier,
        priority,
        subject,
        ingress,
        egress,
        span: cx.span(root.pos),
        subject_span: cx.span(subject_node.pos),
    })
}

fn priority(cx: &mut Ctx<'_>, spec: Node<'_>) -> R<u32> {
    let p = spec
        .field("priority")
        .ok_or_else(|| cx.error(spec.pos, "spec.priority", "priority is required"))?;
    let v = cx.integer(p, "spec.priority")?;
    if !(0..=1000).contains(&v) {
        return Err(cx.error(
            p.pos,
            "spec.priority",
            format!("priority {v} is outside 0-1000"),
        ));
    }
    Ok(v as u32)
}

fn admin_select(cx: &mut Ctx<'_>, node: Node<'_>, path: &str, v2: bool) -> R<AdminSelect> {
    cx.mapping(node, path)?;
    cx.check_fields(node, path, &["namespaces", "pods"]);
    match (node.field("namespaces"), node.field("pods")) {
        (Some(ns), None) => Ok(AdminSelect::Namespaces(
            cx.selector(ns, &join(path, "namespaces"))?,
        )),
        (None, Some(pods)) => admin_select_pods(cx, pods, &join(path, "pods"), v2),
        _ => Err(cx.error(
            node.pos,
            path,
            "exactly one of namespaces or pods is required",
        )),
    }
}

/// `pods: {namespaceSelector, podSelector}` of a subject or peer.
fn admin_select_pods(cx: &mut Ctx<'_>, pods: Node<'_>, ppath: &str, v2: bool) -> R<AdminSelect> {
    cx.mapping(pods, ppath)?;
    cx.check_fields(pods, ppath, &["namespaceSelector", "podSelector"]);
    // v1alpha1 requires both selectors, but its Go types read a
    // missing one as empty (everything); the reference analyser and
    // real manifests rely on that, so accept it and say so.
    let selector_or_empty = |cx: &mut Ctx<'_>, key: &str| -> R<Selector> {
        match pods.field(key) {
            Some(n) => cx.selector(n, &join(ppath, key)),
            None => {
                if !(v2 && key == "namespaceSelector") {
                    cx.warn(
                        Code::MissingRequiredField,
                        pods.pos,
                        &join(ppath, key),
                        format!(
                            "{key} is required by the CRD; read as empty, which selects everything"
                        ),
                    );
                }
                Ok(Selector::everything())
            }
        }
    };
    let namespaces = selector_or_empty(cx, "namespaceSelector")?;
    let pod_sel = selector_or_empty(cx, "podSelector")?;
    Ok(AdminSelect::Pods {
        namespaces,
        pods: pod_sel,
    })
}

/// What an admin rule may hold depends on where it sits: the API version
/// (v1alpha2 says `Accept` and `protocols`), the tier (only the admin
/// tier passes in v1alpha1) and the direction (only egress has networks).
#[derive(Clone, Copy)]
struct AdminRuleShape {
    v2: bool,
    tier: Tier,
    egress: bool,
}

impl AdminRuleShape {
    fn peers_key(self) -> &'static str {
        if self.egress { "to" } else { "from" }
    }

    fn ports_key(self) -> &'static str {
        if self.v2 { "protocols" } else { "ports" }
    }
}

fn admin_rule(cx: &mut Ctx<'_>, node: Node<'_>, path: &str, shape: AdminRuleShape) -> R<AdminRule> {
    cx.mapping(node, path)?;
    let (peers_key, ports_key) = (shape.peers_key(), shape.ports_key());
    cx.check_fields(node, path, &["name", "action", peers_key, ports_key]);
    let name = cx.opt_string(node, "name", path)?.map(str::to_string);
    let action = admin_action(cx, node, path, shape)?;
    let ppath = join(path, peers_key);
    let peer_nodes = cx.list(node.get(peers_key), &ppath)?;
    if peer_nodes.is_empty() {
        return Err(cx.error(node.pos, &ppath, "at least one peer is required"));
    }
    let mut peers = Vec::new();
    for (i, p) in peer_nodes.iter().enumerate() {
        let pp = format!("{ppath}[{i}]");
        peers.push((admin_peer(cx, p, &pp, shape)?, cx.span(p.pos)));
    }
    let ports = match node.field(ports_key) {
        None => None,
        Some(pn) => {
            let path = join(path, ports_key);
            let items = cx.list(Some(pn), &path)?;
            let mut v = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let ip = format!("{path}[{i}]");
                v.push(if shape.v2 {
                    cnp_protocol(cx, item, &ip)?
                } else {
                    anp_port(cx, item, &ip)?
                });
            }
            if v.is_empty() { None } else { Some(v) }
        }
    };
    Ok(AdminRule {
        name,
        action,
        peers,
        ports,
        span: cx.span(node.pos),
    })
}

fn admin_action(
    cx: &mut Ctx<'_>,
    node: Node<'_>,
    path: &str,
    shape: AdminRuleShape,
) -> R<AdminAction> {
    let anode = node
        .field("action")
        .ok_or_else(|| cx.error(node.pos, &join(path, "action"), "action is required"))?;
    let atext = cx.string(anode, &join(path, "action"))?;
    Ok(match (atext, shape.v2, shape.tier) {
        ("Accept", true, _) | ("Allow", false, _) => AdminAction::Accept,
        ("Deny", _, _) => AdminAction::Deny,
        ("Pass", true, _) | ("Pass", false, Tier::Admin) => AdminAction::Pass,
        _ => {
            let expected = match (shape.v2, shape.tier) {
                (true, _) => "Accept, Deny or Pass",
                (false, Tier::Admin) => "Allow, Deny or Pass",
                (false, Tier::Baseline) => "Allow or Deny",
            };
            return Err(cx.error(
                anode.pos,
                &join(path, "action"),
                format!("unknown action {atext:?} (expected {expected})"),
            ));
        }
    })
}

fn admin_peer(cx: &mut Ctx<'_>, p: Node<'_>, pp: &str, shape: AdminRuleShape) -> R<AdminPeer> {
    let entries = cx.mapping(p, pp)?;
    let present: Vec<_> = entries.iter().filter(|(_, v)| !v.is_null()).collect();
    let [(k, v)] = present[..] else {
        return Err(cx.error(p.pos, pp, "a peer needs exactly one field"));
    };
    Ok(match k.text {
        "namespaces" => AdminPeer::Select(AdminSelect::Namespaces(
            cx.selector(v, &join(pp, "namespaces"))?,
        )),
        "pods" => AdminPeer::Select(admin_select_pods(cx, v, &join(pp, "pods"), shape.v2)?),
        "networks" if shape.egress => {
            AdminPeer::Networks(admin_networks(cx, v, &join(pp, "networks"))?)
        }
        "networks" | "nodes" | "domainNames" if !shape.egress => {
            // Only egress rules have these peers; strict validation
            // rejects them elsewhere (C9).
            return Err(cx.error(
                k.pos,
                &join(pp, k.text),
                format!("{} peers exist only in egress rules", k.text),
            ));
        }
        "nodes" | "domainNames" => {
            cx.warn(
                Code::UnsupportedPeer,
                k.pos,
                &join(pp, k.text),
                format!("{} peers match no endpoint reachdiff models", k.text),
            );
            AdminPeer::Unsupported(k.text.to_string())
        }
        other => {
            // AP-10: an unknown peer fails closed.
            cx.warn(
                Code::UnsupportedPeer,
                k.pos,
                &join(pp, other),
                format!("unknown peer field {other:?}: matches nothing in an Accept rule, everything in Deny or Pass (AP-10)"),
            );
            AdminPeer::Unsupported(other.to_string())
        }
    })
}

fn admin_networks(cx: &mut Ctx<'_>, v: Node<'_>, npath: &str) -> R<Vec<Cidr>> {
    let mut cidrs = Vec::new();
    for (j, c) in cx.list(Some(v), npath)?.iter().enumerate() {
        cidrs.push(cx.cidr(c, &format!("{npath}[{j}]"))?);
    }
    if cidrs.is_empty() {
        return Err(cx.error(v.pos, npath, "at least one network is required"));
    }
    cidrs.sort();
    cidrs.dedup();
    for c in &cidrs {
        if let Some(range) = cluster_range_overlap(c, &[]) {
            cx.warn(
                Code::IpBlockClusterRange,
                v.pos,
                npath,
                format!("{c} covers {range}, a typical pod range; the API applies networks to pod traffic too, reachdiff only to external addresses (AP-9)"),
            );
        }
    }
    Ok(cidrs)
}

fn anp_port(cx: &mut Ctx<'_>, node: Node<'_>, path: &str) -> R<PortSpec> {
    cx.mapping(node, path)?;
    cx.check_fields(node, path, &["portNumber", "portRange", "namedPort"]);
    match (
        node.field("portNumber"),
        node.field("portRange"),
        node.field("namedPort"),
    ) {
        (Some(n), None, None) => {
            let p = join(path, "portNumber");
            cx.mapping(n, &p)?;
            let protocol = cx.protocol(n.get("protocol"), &join(&p, "protocol"))?;
            let port_node = n
                .field("port")
                .ok_or_else(|| cx.error(n.pos, &p, "port is required"))?;
            let port = cx.port_number(port_node, &join(&p, "port"))?;
            Ok(PortSpec::Range(protocol, port, port))
        }
        (None, Some(r), None) => {
            let p = join(path, "portRange");
            cx.mapping(r, &p)?;
            let protocol = cx.protocol(r.get("protocol"), &join(&p, "protocol"))?;
            let s = r
                .field("start")
                .ok_or_else(|| cx.error(r.pos, &p, "start is required"))?;
            let e = r
                .field("end")
                .ok_or_else(|| cx.error(r.pos, &p, "end is required"))?;
            let start = cx.port_number(s, &join(&p, "start"))?;
            let end = cx.port_number(e, &join(&p, "end"))?;
            if start >= end {
                return Err(cx.error(
                    e.pos,
                    &join(&p, "end"),
                    format!("end {end} must be above start {start}"),
                ));
            }
            Ok(PortSpec::Range(protocol, start, end))
        }
        (None, None, Some(n)) => {
            let p = join(path, "namedPort");
            let name = cx.string(n, &p)?.to_string();
            let name = cx.port_name(n, &name, &p)?;
            // AP-12: v1alpha1 named ports carry no protocol; the container
            // port's own protocol applies.
            Ok(PortSpec::Named(None, name))
        }
        _ => Err(cx.error(
            node.pos,
            path,
            "exactly one of portNumber, portRange or namedPort is required",
        )),
    }
}

fn cnp_protocol(cx: &mut Ctx<'_>, node: Node<'_>, path: &str) -> R<PortSpec> {
    cx.mapping(node, path)?;
    cx.check_fields(node, path, &["tcp", "udp", "sctp", "destinationNamedPort"]);
    let present: Vec<_> = cx
        .mapping(node, path)?
        .iter()
        .filter(|(_, v)| !v.is_null())
        .collect();
    let [(k, v)] = present[..] else {
        return Err(cx.error(
            node.pos,
            path,
            "exactly one of tcp, udp, sctp or destinationNamedPort is required",
        ));
    };
    let protocol = match k.text {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        "sctp" => Protocol::Sctp,
        "destinationNamedPort" => {
            let p = join(path, "destinationNamedPort");
            let name = cx.string(v, &p)?.to_string();
            return Ok(PortSpec::Named(None, cx.port_name(v, &name, &p)?));
        }
        _ => return Err(cx.error(k.pos, path, "unknown protocol field")),
    };
    let ppath = join(path, k.text);
    cx.mapping(v, &ppath)?;
    cx.check_fields(v, &ppath, &["destinationPort"]);
    let Some(dp) = v.field("destinationPort") else {
        return Ok(PortSpec::Any(protocol));
    };
    let dpath = join(&ppath, "destinationPort");
    cx.mapping(dp, &dpath)?;
    cx.check_fields(dp, &dpath, &["number", "range"]);
    match (dp.field("number"), dp.field("range")) {
        (Some(n), None) => {
            let port = cx.port_number(n, &join(&dpath, "number"))?;
            Ok(PortSpec::Range(protocol, port, port))
        }
        (None, Some(r)) => {
            let rp = join(&dpath, "range");
            cx.mapping(r, &rp)?;
            let s = r
                .field("start")
                .ok_or_else(|| cx.error(r.pos, &rp, "start is required"))?;
            let e = r
                .field("end")
                .ok_or_else(|| cx.error(r.pos, &rp, "end is required"))?;
            let start = cx.port_number(s, &join(&rp, "start"))?;
            let end = cx.port_number(e, &join(&rp, "end"))?;
            if start >= end {
                return Err(cx.error(
                    e.pos,
                    &join(&rp, "end"),
                    format!("end {end} must be above start {start}"),
                ));
            }
            Ok(PortSpec::Range(protocol, start, end))
        }
        _ => Err(cx.error(dp.pos, &dpath, "exactly one of number or range is required")),
    }
}
