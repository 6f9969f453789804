//! One parsed document to objects: what it is (apiVersion, kind, name), how
//! the analysis treats it (its [`Class`]), its decoding, and the keys written
//! twice in it.

use super::decode::{self, Ctx};
use super::relevance::{Class, ObjectKey};
use super::yaml::{Document, Node, Pos, Value};
use super::{Declared, DupKeyFinding, DupWhy, FileObjects, LoadOptions};
use crate::diag::{Code, Diagnostic, Severity, Span};
use crate::revision::SourceFile;

/// Kinds that are workloads whatever their apiVersion (M-1).
const WORKLOAD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// Policy kinds and the apiVersion that serves each.
const POLICY_KINDS: [(&str, &str); 4] = [
    ("NetworkPolicy", "networking.k8s.io/v1"),
    ("AdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1"),
    (
        "BaselineAdminNetworkPolicy",
        "policy.networking.k8s.io/v1alpha1",
    ),
    ("ClusterNetworkPolicy", "policy.networking.k8s.io/v1alpha2"),
];

/// API versions that Kubernetes no longer serves, for the kinds reachdiff
/// models: (apiVersion, kinds, removed in, what replaces it).
const REMOVED_VERSIONS: &[(&str, &[&str], &str, &str)] = &[
    (
        "extensions/v1beta1",
        &["Deployment", "DaemonSet", "ReplicaSet"],
        "1.16",
        "apps/v1",
    ),
    (
        "extensions/v1beta1",
        &["NetworkPolicy"],
        "1.16",
        "networking.k8s.io/v1",
    ),
    (
        "apps/v1beta1",
        &["Deployment", "StatefulSet"],
        "1.16",
        "apps/v1",
    ),
    (
        "apps/v1beta2",
        &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"],
        "1.16",
        "apps/v1",
    ),
    ("batch/v1beta1", &["CronJob"], "1.25", "batch/v1"),
    ("batch/v2alpha1", &["CronJob"], "1.21", "batch/v1"),
];

fn removed_version(kind: &str, api_version: &str) -> Option<(&'static str, &'static str)> {
    REMOVED_VERSIONS
        .iter()
        .find(|(v, kinds, _, _)| *v == api_version && kinds.contains(&kind))
        .map(|(_, _, removed, replacement)| (*removed, *replacement))
}

/// An object of the document, for attributing keys written twice.
struct Seen<'d> {
    node: Node<'d>,
    owner: Option<(Class, ObjectKey)>,
}

/// How an object is named.
enum Naming<'d> {
    Name(&'d str),
    /// `metadata.generateName`: the API server appends a random suffix.
    Prefix(&'d str),
    Unnamed,
}

/// The identity of an object of a modelled kind.
struct Ident<'d> {
    kind: &'d str,
    api_version: &'d str,
    namespace: String,
    naming: Naming<'d>,
}

struct Loader<'a, 'd> {
    file: &'a SourceFile,
    doc: &'d Document,
    opts: &'a LoadOptions,
    out: &'a mut FileObjects,
    /// Objects by depth (0: the document, then items of Lists).
    seen: Vec<Vec<Seen<'d>>>,
}

/// Loads one document into `out`.
pub(super) fn load(file: &SourceFile, doc: &Document, opts: &LoadOptions, out: &mut FileObjects) {
    let mut l = Loader {
        file,
        doc,
        opts,
        out,
        seen: Vec::new(),
    };
    let root = doc.root();
    match root.value() {
        Value::Map(_) => l.object(root, 0, None),
        Value::Seq(items) if items.iter().any(looks_like_object) => l.error(
            root.pos,
            None,
            "",
            "a YAML list of Kubernetes objects: kubectl applies a list only as `kind: List` with `items:`".into(),
        ),
        Value::Seq(_) => l.skip(
            root,
            "(list)",
            "a YAML list is not a Kubernetes object (an Ansible playbook?); skipped".into(),
        ),
        _ => l.error(
            root.pos,
            None,
            "",
            format!(
                "expected a Kubernetes object (a mapping), found {}",
                root.type_name()
            ),
        ),
    }
    l.dup_keys();
}

impl<'d> Loader<'_, 'd> {
    fn span(&self, pos: Pos) -> Span {
        self.file.span(pos.line, pos.col)
    }

    fn error(&mut self, pos: Pos, object: Option<String>, field: &str, message: String) {
        self.diag(Code::InvalidObject, pos, object, field, message);
    }

    fn diag(&mut self, code: Code, pos: Pos, object: Option<String>, field: &str, message: String) {
        let mut d = Diagnostic::new(code, message).at(self.span(pos));
        if let Some(o) = object {
            d = d.object(o);
        }
        if !field.is_empty() {
            d = d.field(field);
        }
        self.out.diags.push(d);
    }

    /// Notes an object (its owner is set once known); returns where.
    fn remember(&mut self, depth: usize, node: Node<'d>) -> (usize, usize) {
        if self.seen.len() <= depth {
            self.seen.resize_with(depth + 1, Vec::new);
        }
        self.seen[depth].push(Seen { node, owner: None });
        (depth, self.seen[depth].len() - 1)
    }

    fn set_owner(&mut self, at: (usize, usize), owner: (Class, ObjectKey)) {
        if let Some(seen) = self.seen.get_mut(at.0).and_then(|l| l.get_mut(at.1)) {
            seen.owner = Some(owner);
        }
    }

    /// A document that is not an object: counted and said at `-v`.
    fn skip(&mut self, node: Node<'d>, what: &str, message: String) {
        *self.out.skipped.entry(what.into()).or_default() += 1;
        self.diag(Code::SkippedKind, node.pos, None, "", message);
    }

    /// `kind` or `apiVersion`: absent, null and "" read as missing (as the
    /// API machinery does); anything but a string is an error (Err).
    fn text_field(&mut self, node: Node<'d>, key: &str) -> Result<Option<&'d str>, ()> {
        match node.get(key).map(Node::value) {
            None | Some(Value::Null) | Some(Value::Str { text: "", .. }) => Ok(None),
            Some(Value::Str { text, .. }) => Ok(Some(text)),
            Some(_) => {
                let v = node.get(key).map_or(node.pos, |v| v.pos);
                let found = node.get(key).map_or("null", Node::type_name);
                self.error(v, None, key, format!("expected a string, found {found}"));
                Err(())
            }
        }
    }

    /// An object, or a List of them. `implied` is the (kind, apiVersion)
    /// that items of a typed list such as `PodList` carry implicitly.
    fn object(&mut self, node: Node<'d>, depth: usize, implied: Option<(&'d str, &'d str)>) {
        if node.entries().is_none() {
            let found = node.type_name();
            self.error(
                node.pos,
                None,
                "",
                format!("a List item must be an object (a mapping), found {found}"),
            );
            return;
        }
        if depth == 0 && implied.is_none() && foreign_config(node) {
            return self.skip(
                node,
                "(no kind)",
                "a document with a numeric apiVersion and no kind is another tool's configuration (Grafana provisioning, for one), not a Kubernetes object; skipped"
                    .into(),
            );
        }
        let at = self.remember(depth, node);
        let (Ok(kind), Ok(api_version)) = (
            self.text_field(node, "kind"),
            self.text_field(node, "apiVersion"),
        ) else {
            return;
        };
        let kind = kind.or(implied.map(|i| i.0));
        let api_version = api_version.or(implied.map(|i| i.1));
        let (kind, api_version) = match (kind, api_version) {
            (Some(k), Some(v)) => (k, v),
            (None, None) if depth == 0 => {
                // Not a Kubernetes object (values files, compose files,
                // kustomize configuration, ...).
                return self.skip(
                    node,
                    "(no kind)",
                    "a document without apiVersion and kind is not a Kubernetes object; skipped"
                        .into(),
                );
            }
            (None, v) => {
                let (field, message) = match (v, depth) {
                    (None, _) => (
                        "",
                        "a List item needs apiVersion and kind (only typed lists such as PodList imply them)",
                    ),
                    (Some(_), 0) => ("kind", "an object with an apiVersion needs a kind"),
                    (Some(_), _) => ("kind", "a List item with an apiVersion needs a kind"),
                };
                return self.error(node.pos, None, field, message.to_string());
            }
            (Some(k), None) => {
                return self.error(
                    node.pos,
                    Some(k.to_string()),
                    "apiVersion",
                    "missing (kubectl refuses an object without one)".to_string(),
                );
            }
        };
        if kind == "List" || (kind.ends_with("List") && node.get("items").is_some()) {
            return self.list(node, kind, api_version, depth);
        }
        let class = classify(kind, api_version, node);
        if class == Class::Other {
            return self.other(node, kind, api_version, at);
        }
        let Some(ident) = self.ident(node, kind, api_version) else {
            return;
        };
        self.modelled(node, class, ident, at);
    }

    /// `List` and typed lists (`PodList`, `NetworkPolicyList`, ...).
    fn list(&mut self, node: Node<'d>, kind: &'d str, api_version: &'d str, depth: usize) {
        if depth > 4 {
            let message = "lists nested too deeply".to_string();
            return self.diag(Code::InputLimit, node.pos, None, "", message);
        }
        let Some(items) = node.get("items").filter(|i| !i.is_null()) else {
            return;
        };
        let Some(list) = items.items() else {
            let found = items.type_name();
            return self.error(
                items.pos,
                Some(kind.to_string()),
                "items",
                format!("expected a list, found {found}"),
            );
        };
        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
        let implied = item_kind.map(|k| (k, api_version));
        for item in list {
            self.object(item, depth + 1, implied);
        }
    }

    /// A kind the analysis skips: counted, remembered for second
    /// declarations, said at `-v` (a warning when it may be a policy).
    fn other(&mut self, node: Node<'d>, kind: &'d str, api_version: &'d str, at: (usize, usize)) {
        let cni_group = ["projectcalico.org", "crd.projectcalico.org", "cilium.io"]
            .contains(&api_version.split('/').next().unwrap_or(""));
        if matches!(
            kind,
            "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy"
        ) && api_version.starts_with("cilium.io/")
        {
            return self.policy_version_refused(node, kind, api_version, "cilium.io/v2");
        }
        if let Some((_, expected)) = POLICY_KINDS.iter().find(|(k, _)| *k == kind) {
            if !cni_group {
                return self.policy_version_refused(node, kind, api_version, expected);
            }
        }
        let meta = node.get("metadata");
        let text = |key: &str| meta.and_then(|m| m.get(key)).and_then(Node::as_str);
        if let Some(name) = text("name").filter(|n| !n.is_empty()) {
            let key = ObjectKey {
                group: api_version
                    .rsplit_once('/')
                    .map_or("", |(g, _)| g)
                    .to_string(),
                kind: kind.to_string(),
                namespace: text("namespace").unwrap_or("").to_string(),
                name: name.to_string(),
            };
            self.out.others.push(Declared {
                key: key.clone(),
                span: self.span(node.pos),
                fingerprint: self.doc.fingerprint(node.id()),
            });
            self.set_owner(at, (Class::Other, key));
        }
        *self.out.skipped.entry(kind.to_string()).or_default() += 1;
        let policy_like = cni_group && kind.contains("Polic");
        let looks_mistyped = !policy_like && looks_like_policy_typo(kind);
        let message = if policy_like {
            format!("{kind} of {api_version} is not supported yet; its rules are ignored")
        } else if looks_mistyped {
            format!(
                "unknown kind {kind:?} looks like a misspelt policy kind; skipped, so its rules are ignored"
            )
        } else {
            format!("{kind} does not affect reachability; skipped")
        };
        let mut d = Diagnostic::new(Code::SkippedKind, message).at(self.span(node.pos));
        if policy_like || looks_mistyped {
            d.severity = Severity::Warning;
        }
        self.out.diags.push(d);
    }

    /// A policy kind under an apiVersion that does not serve it. Dropping it
    /// would show every path it closes as open: the API server refuses it,
    /// so do we (a workload under a removed version is only a warning: its
    /// pod template means the same, and no path depends on it being kept).
    fn policy_version_refused(
        &mut self,
        node: Node<'d>,
        kind: &str,
        api_version: &str,
        expected: &str,
    ) {
        let name = node
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Node::as_str)
            .unwrap_or("?");
        let object = Some(format!("{kind} {name}"));
        if let Some((removed, replacement)) = removed_version(kind, api_version) {
            let message = format!(
                "{api_version} no longer serves {kind} (removed in Kubernetes {removed}; the API server refuses it, so it would isolate nothing): use {replacement}, whose fields mean the same"
            );
            let mut d = Diagnostic::new(Code::ApiVersionRemoved, message)
                .at(self.span(node.pos))
                .field("apiVersion");
            d.object = object;
            d.severity = Severity::Error;
            self.out.diags.push(d);
            return;
        }
        let message =
            format!("apiVersion {api_version:?} does not serve {kind}; expected {expected}");
        self.error(node.pos, object, "apiVersion", message);
    }

    /// Kind, namespace and name of an object the analysis models; None after
    /// an error.
    fn ident(&mut self, node: Node<'d>, kind: &'d str, api_version: &'d str) -> Option<Ident<'d>> {
        let meta = node.get("metadata").filter(|m| !m.is_null());
        if let Some(m) = meta.filter(|m| m.entries().is_none()) {
            let found = m.type_name();
            let message = format!("expected a mapping, found {found}");
            self.error(m.pos, Some(kind.to_string()), "metadata", message);
            return None;
        }
        // For messages only: the name as written, if it is text.
        let label = match meta.and_then(|m| m.get("name")).and_then(Node::as_str) {
            Some(name) => format!("{kind} {name}"),
            None => kind.to_string(),
        };
        let mut text = |key: &str| -> Result<Option<&'d str>, ()> {
            let Some(v) = meta.and_then(|m| m.get(key)).filter(|v| !v.is_null()) else {
                return Ok(None);
            };
            match v.as_str() {
                Some(s) => Ok(Some(s).filter(|s| !s.is_empty())),
                None => {
                    let found = v.type_name();
                    let field = format!("metadata.{key}");
                    let message = format!("expected a string, found {found}");
                    self.error(v.pos, Some(label.clone()), &field, message);
                    Err(())
                }
            }
        };
        let (name, prefix, namespace) = (text("name"), text("generateName"), text("namespace"));
        let (Ok(name), Ok(prefix), Ok(namespace)) = (name, prefix, namespace) else {
            return None;
        };
        let naming = match (name, prefix) {
            (Some(n), _) => Naming::Name(n),
            (None, Some(p)) => Naming::Prefix(p),
            (None, None) => Naming::Unnamed,
        };
        Some(Ident {
            kind,
            api_version,
            namespace: namespace
                .unwrap_or(&self.opts.default_namespace)
                .to_string(),
            naming,
        })
    }

    /// An object of a modelled class: named, decoded, kept.
    fn modelled(&mut self, node: Node<'d>, class: Class, ident: Ident<'d>, at: (usize, usize)) {
        let Ident {
            kind,
            api_version,
            namespace,
            naming,
        } = ident;
        let name = match naming {
            Naming::Name(n) => n.to_string(),
            Naming::Prefix(p) => format!("{p}*"),
            Naming::Unnamed if class == Class::Workload => {
                self.synthetic_name(node, kind, &namespace)
            }
            Naming::Unnamed => {
                let message = "metadata.name (or metadata.generateName) is required".to_string();
                return self.error(node.pos, Some(kind.to_string()), "", message);
            }
        };
        let cluster_scoped = matches!(class, Class::Namespace | Class::Admin)
            || (class == Class::Cilium && kind != "CiliumNetworkPolicy")
            || (class == Class::Calico && !decode::calico::namespaced(kind));
        let key = ObjectKey {
            group: class.group().to_string(),
            kind: kind.to_string(),
            namespace: if cluster_scoped {
                String::new()
            } else {
                namespace.clone()
            },
            name: name.clone(),
        };
        let limit = self.opts.limits.max_object_bytes;
        if let Some(len) = node.text_len().filter(|&len| len > limit) {
            let message = format!(
                "{:.1} MiB of text, more than the {} MiB an object can have: the API server refuses requests over 3 MiB, so it can never be applied",
                len as f64 / f64::from(1 << 20),
                limit >> 20
            );
            return self.diag(
                Code::InputLimit,
                node.pos,
                Some(key.to_string()),
                "",
                message,
            );
        }
        self.set_owner(at, (class, key.clone()));
        // The file's diagnostics, taken while the object is decoded into
        // the file's other lists.
        let mut diags = std::mem::take(&mut self.out.diags);
        let mut cx = Ctx::new(self.file, key.to_string(), &mut diags);
        if let Some((removed, replacement)) = removed_version(kind, api_version) {
            cx.warn(
                Code::ApiVersionRemoved,
                node.pos,
                "apiVersion",
                format!("{api_version} {kind} is no longer served (removed in Kubernetes {removed}); analysed as {replacement}, whose pod template means the same"),
            );
        }
        let head = decode::calico::Head {
            kind,
            crd_form: api_version.starts_with("crd."),
            namespace: (!cluster_scoped).then_some(namespace.as_str()),
            name: &name,
        };
        decode_into(&mut cx, node, class, (&head, &key), self.out);
        // The objects findings name: their annotation may acknowledge one.
        if matches!(
            class,
            Class::Namespace | Class::NetworkPolicy | Class::Admin
        ) {
            let acks = decode::acknowledgements(&mut cx, node);
            self.out.acknowledgements.push((key, acks));
        }
        cx.finish(node.pos);
        self.out.diags = diags;
    }

    /// A stable name for a workload without `name` or `generateName`: its
    /// file and its rank among such workloads of its kind there, so editing
    /// it keeps its identity (kubectl refuses it; a renderer may name it).
    fn synthetic_name(&mut self, node: Node<'d>, kind: &str, namespace: &str) -> String {
        let n = self.out.unnamed.entry(kind.to_string()).or_default();
        *n += 1;
        let name = format!("~{}#{n}", self.file.path);
        let message = format!(
            "workload without metadata.name or generateName (kubectl refuses it); identified as {namespace}/{name}[{kind}]"
        );
        self.diag(
            Code::LenientWorkload,
            node.pos,
            Some(kind.to_string()),
            "metadata.name",
            message,
        );
        name
    }

    /// The innermost object written around node `id`.
    fn owner_of(&self, id: u32) -> Option<&Seen<'d>> {
        self.seen.iter().rev().find_map(|level| {
            let i = level.partition_point(|s| s.node.id() < id);
            level.get(i).filter(|s| s.node.contains(id))
        })
    }

    /// Keys written twice: the later value is the one kubectl keeps. Whether
    /// that matters is settled in the merge, once relevance is known.
    fn dup_keys(&mut self) {
        for level in &mut self.seen {
            level.sort_by_key(|s| s.node.id());
        }
        let doc = self.doc;
        let mut found = Vec::with_capacity(doc.dups.len());
        for dup in &doc.dups {
            let owner = self.owner_of(dup.map);
            let at_root = owner.is_some_and(|o| o.node.id() == dup.map);
            let identity = at_root && matches!(dup.key.as_str(), "kind" | "apiVersion" | "items");
            let why = if doc.same(dup.first_value, dup.second_value) {
                DupWhy::Same
            } else if identity {
                DupWhy::Identity
            } else if !doc.was_read(dup.second_value) {
                DupWhy::Unread
            } else {
                DupWhy::Differs
            };
            found.push(DupKeyFinding {
                object: owner.and_then(|o| o.owner.clone()),
                key: dup.key.clone(),
                first: self.span(dup.first),
                second: self.span(dup.second),
                why,
            });
        }
        self.out.dup_keys.extend(found);
    }
}

/// Decodes an object of a modelled class into the file's objects.
fn decode_into(
    cx: &mut Ctx<'_>,
    node: Node<'_>,
    class: Class,
    (head, key): (&decode::calico::Head<'_>, &ObjectKey),
    out: &mut FileObjects,
) {
    let (kind, name) = (head.kind, head.name);
    let namespace = key.namespace.clone();
    match class {
        Class::Namespace => {
            if let Ok(ns) = decode::namespace(cx, node, name) {
                out.namespaces.push(ns);
            }
        }
        Class::Workload => {
            if let Ok(w) = decode::workload(cx, node, kind, &namespace, name) {
                out.workloads.push(w);
            }
        }
        Class::Service => {
            if let Ok(s) = decode::service(cx, node, &namespace, name) {
                out.services.push(s);
            }
        }
        Class::NetworkPolicy => {
            if let Ok(p) = decode::network_policy(cx, node, &namespace, name) {
                out.policies.push(p);
            }
        }
        Class::Admin => {
            if let Ok(p) = decode::admin_policy(cx, node, kind, name) {
                out.admin_policies.push(p);
            }
        }
        Class::Cilium => cilium_object(
            cx,
            node,
            kind,
            key,
            (&mut out.cilium_policies, &mut out.cidr_groups),
        ),
        Class::Calico => out
            .calico
            .extend(decode::calico::object(cx, node, head).ok()),
        Class::Other => {}
    }
}

/// A Cilium policy or CIDR group (CI-1).
fn cilium_object(
    cx: &mut Ctx<'_>,
    node: Node<'_>,
    kind: &str,
    key: &ObjectKey,
    (policies, groups): (
        &mut Vec<crate::manifest::CiliumPolicy>,
        &mut Vec<crate::manifest::CidrGroup>,
    ),
) {
    use decode::cilium;
    let namespaced = kind == "CiliumNetworkPolicy";
    let written_ns = node
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .and_then(Node::as_str)
        .filter(|n| !n.is_empty());
    if let (false, Some(ns)) = (namespaced, written_ns) {
        cx.warn(
            Code::UnknownField,
            node.pos,
            "metadata.namespace",
            format!("{kind} is cluster-scoped; the API server drops namespace {ns:?} (CI-1)"),
        );
    }
    match kind {
        "CiliumCIDRGroup" => {
            if let Ok(g) = cilium::cidr_group(cx, node, &key.name) {
                groups.push(g);
            }
        }
        _ => {
            let ns = namespaced.then_some(key.namespace.as_str());
            if let Ok(p) = cilium::policy(cx, node, kind, ns, &key.name) {
                policies.push(p);
            }
        }
    }
}

/// A mapping with a string `apiVersion` and `kind`.
fn looks_like_object(node: Node<'_>) -> bool {
    let text = |key| node.get(key).and_then(Node::as_str).is_some();
    text("apiVersion") && text("kind")
}

/// How the analysis treats an object of `kind` and `api_version`.
/// Another tool's configuration file that shares the `apiVersion` key:
/// no `kind`, and an `apiVersion` that is a number or a boolean, which no
/// Kubernetes API version is (Grafana provisioning files say
/// `apiVersion: 1`). A Kubernetes object with a mistyped field always has
/// a kind or a textual apiVersion, and those stay errors.
fn foreign_config(node: Node<'_>) -> bool {
    let no_kind = node
        .get("kind")
        .is_none_or(|k| matches!(k.value(), Value::Null));
    let numeric_version = node
        .get("apiVersion")
        .is_some_and(|v| matches!(v.value(), Value::Int(_) | Value::Float(_) | Value::Bool(_)));
    no_kind && numeric_version
}

fn classify(kind: &str, api_version: &str, node: Node<'_>) -> Class {
    match kind {
        "Namespace" if api_version == "v1" => Class::Namespace,
        k if WORKLOAD_KINDS.contains(&k) => Class::Workload,
        "Service" if api_version == "v1" => Class::Service,
        "NetworkPolicy" if api_version == "networking.k8s.io/v1" => Class::NetworkPolicy,
        "AdminNetworkPolicy" | "BaselineAdminNetworkPolicy"
            if api_version == "policy.networking.k8s.io/v1alpha1" =>
        {
            Class::Admin
        }
        "ClusterNetworkPolicy" if api_version == "policy.networking.k8s.io/v1alpha2" => {
            Class::Admin
        }
        "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy"
            if api_version == "cilium.io/v2" =>
        {
            Class::Cilium
        }
        "CiliumCIDRGroup" if matches!(api_version, "cilium.io/v2" | "cilium.io/v2alpha1") => {
            Class::Cilium
        }
        k if decode::calico::KINDS.contains(&k)
            && matches!(
                api_version,
                "projectcalico.org/v3" | "crd.projectcalico.org/v1"
            ) =>
        {
            Class::Calico
        }
        k if decode::has_pod_template(k, node) => Class::Workload,
        _ => Class::Other,
    }
}

/// A kind that is probably a misspelt policy kind: dropping it silently
/// would show every path it should have closed as open.
fn looks_like_policy_typo(kind: &str) -> bool {
    let lower = kind.to_ascii_lowercase();
    lower.contains("polic")
        || lower.contains("netpol")
        // No policy kind is longer than 26 characters: a long kind is two
        // edits away from none of them.
        || (lower.len() <= 32
            && POLICY_KINDS
                .iter()
                .any(|(k, _)| edit_distance(&lower, &k.to_ascii_lowercase()) <= 2))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
