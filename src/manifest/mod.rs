//! Manifests: a [`Revision`]'s text to an [`Inventory`] of typed objects and
//! diagnostics. Parsing is parallel per file; merging is in path order so the
//! result never depends on thread timing.

pub mod decode;
pub mod objects;
pub mod yaml;

use crate::diag::{Code, Diagnostic, Span};
use crate::revision::{Revision, SourceFile};
use decode::Ctx;
pub use objects::*;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use yaml::{Limits, Node};

#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Namespace of objects that carry none (M-3).
    pub default_namespace: String,
    pub limits: Limits,
    /// Namespaces that live outside the revision (kube-system, an ingress
    /// controller's, ...) and their labels, from configuration. A namespace
    /// used but not declared takes these labels (plus
    /// `kubernetes.io/metadata.name`) instead of the M-9 assumption; a
    /// Namespace declared in the revision wins.
    pub external_namespaces: BTreeMap<String, crate::model::selector::Labels>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            default_namespace: "default".into(),
            limits: Limits::default(),
            external_namespaces: BTreeMap::new(),
        }
    }
}

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

#[derive(Default, Clone)]
struct FileObjects {
    namespaces: Vec<Namespace>,
    workloads: Vec<Workload>,
    services: Vec<Service>,
    policies: Vec<NetworkPolicy>,
    admin_policies: Vec<AdminPolicy>,
    skipped: BTreeMap<String, usize>,
    diags: Vec<Diagnostic>,
}

/// Loads every file of the revision. Never fails: problems are diagnostics,
/// and the caller treats any error-severity diagnostic as fatal.
pub fn load(rev: &Revision, opts: &LoadOptions) -> (Inventory, Vec<Diagnostic>) {
    let mut files: Vec<&SourceFile> = rev.files.iter().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let results: Vec<FileObjects> = files.par_iter().map(|f| load_file(f, opts)).collect();
    with_notes(rev, merge(results, opts))
}

/// The source's own notes first, then the loader's diagnostics and the
/// count of skipped documents.
fn with_notes(
    rev: &Revision,
    (inv, diags): (Inventory, Vec<Diagnostic>),
) -> (Inventory, Vec<Diagnostic>) {
    let mut all = rev.notes.clone();
    all.extend(diags);
    let skipped: usize = inv.skipped.values().sum();
    if skipped > 0 {
        let kinds: Vec<String> = inv
            .skipped
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        all.push(Diagnostic::new(
            Code::Skipped,
            format!(
                "{} not analysed, of kinds reachdiff does not read ({}; -v lists them)",
                crate::words::plural(skipped, "document", "documents"),
                kinds.join(", ")
            ),
        ));
    }
    (inv, all)
}

/// A kind that is probably a misspelt policy kind: dropping it silently
/// would show every path it should have closed as open.
fn looks_like_policy_typo(kind: &str) -> bool {
    const POLICY_KINDS: [&str; 4] = [
        "NetworkPolicy",
        "AdminNetworkPolicy",
        "BaselineAdminNetworkPolicy",
        "ClusterNetworkPolicy",
    ];
    let lower = kind.to_ascii_lowercase();
    lower.contains("polic")
        || lower.contains("netpol")
        || POLICY_KINDS
            .iter()
            .any(|k| edit_distance(&lower, &k.to_ascii_lowercase()) <= 2)
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

/// Loads the two sides of a comparison. A file with the same path and text
/// on both sides is parsed once and its objects shared.
pub fn load_pair(
    base: &Revision,
    head: &Revision,
    opts: &LoadOptions,
) -> ((Inventory, Vec<Diagnostic>), (Inventory, Vec<Diagnostic>)) {
    let mut base_files: Vec<&SourceFile> = base.files.iter().collect();
    base_files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut head_files: Vec<&SourceFile> = head.files.iter().collect();
    head_files.sort_by(|a, b| a.path.cmp(&b.path));
    let base_by_path: BTreeMap<&str, &SourceFile> =
        base_files.iter().map(|f| (f.path.as_str(), *f)).collect();
    let shared = |f: &SourceFile| {
        base_by_path
            .get(f.path.as_str())
            .is_some_and(|b| b.text == f.text && b.origins == f.origins)
    };
    let base_results: Vec<FileObjects> =
        base_files.par_iter().map(|f| load_file(f, opts)).collect();
    let by_path: BTreeMap<&str, &FileObjects> = base_files
        .iter()
        .zip(&base_results)
        .map(|(f, r)| (f.path.as_str(), r))
        .collect();
    let head_results: Vec<FileObjects> = head_files
        .par_iter()
        .map(|f| match by_path.get(f.path.as_str()) {
            Some(r) if shared(f) => (*r).clone(),
            _ => load_file(f, opts),
        })
        .collect();
    (
        with_notes(base, merge(base_results, opts)),
        with_notes(head, merge(head_results, opts)),
    )
}

/// Loads one file on its own.
fn load_file(file: &SourceFile, opts: &LoadOptions) -> FileObjects {
    let mut out = FileObjects::default();
    let docs = match yaml::parse(&file.text, &opts.limits) {
        Ok((docs, tab_fixes)) => {
            for pos in tab_fixes {
                out.diags.push(
                    Diagnostic::new(
                        Code::TabIndentation,
                        "a tab starts this line inside a flow collection; accepted as kubectl does",
                    )
                    .at(file.span(pos.line, pos.col)),
                );
            }
            docs
        }
        Err(e) => {
            let code = if e.limit {
                Code::InputLimit
            } else {
                Code::YamlSyntax
            };
            out.diags
                .push(Diagnostic::new(code, e.message).at(file.span(e.pos.line, e.pos.col)));
            return out;
        }
    };
    for doc in &docs {
        object(file, &doc.root, opts, &mut out, 0, None);
    }
    out
}

/// `implied` is the (kind, apiVersion) that items of a typed list such as
/// `PodList` carry implicitly.
fn object(
    file: &SourceFile,
    root: &Node,
    opts: &LoadOptions,
    out: &mut FileObjects,
    depth: usize,
    implied: Option<(&str, &str)>,
) {
    let span = |pos: yaml::Pos| file.span(pos.line, pos.col);
    if root.entries().is_none() {
        out.diags.push(
            Diagnostic::new(
                Code::InvalidObject,
                format!(
                    "expected a Kubernetes object (a mapping), found {}",
                    root.type_name()
                ),
            )
            .at(span(root.pos)),
        );
        return;
    }
    let kind = root
        .get("kind")
        .and_then(Node::as_str)
        .or(implied.map(|i| i.0));
    let api_version = root
        .get("apiVersion")
        .and_then(Node::as_str)
        .or(implied.map(|i| i.1))
        .unwrap_or("");
    let Some(kind) = kind else {
        if depth > 0 {
            // An item of a generic `List` must say what it is.
            out.diags.push(
                Diagnostic::new(Code::InvalidObject, "list item without kind")
                    .at(span(root.pos))
                    .field("kind"),
            );
            return;
        }
        // Not a Kubernetes object (values files, kustomize configuration, ...).
        *out.skipped.entry("(no kind)".into()).or_default() += 1;
        out.diags.push(
            Diagnostic::new(Code::SkippedKind, "document without kind skipped").at(span(root.pos)),
        );
        return;
    };
    // `List` and typed lists (`PodList`, `NetworkPolicyList`, ...).
    if kind == "List" || (kind.ends_with("List") && root.get("items").is_some()) {
        if depth > 4 {
            out.diags.push(
                Diagnostic::new(Code::InputLimit, "lists nested too deeply").at(span(root.pos)),
            );
            return;
        }
        match root.get("items") {
            Some(items) if items.is_null() => {}
            Some(items) => match items.items() {
                Some(list) => {
                    let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
                    let implied = item_kind.map(|k| (k, api_version));
                    for item in list {
                        object(file, item, opts, out, depth + 1, implied);
                    }
                }
                None => out.diags.push(
                    Diagnostic::new(
                        Code::InvalidObject,
                        format!("items: expected a list, found {}", items.type_name()),
                    )
                    .at(span(items.pos))
                    .object(kind.to_string()),
                ),
            },
            None => {}
        }
        return;
    }
    let meta = root.get("metadata");
    let name = meta.and_then(|m| m.get("name")).and_then(Node::as_str);
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Node::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(&opts.default_namespace)
        .to_string();
    if let Some(ns) = meta
        .and_then(|m| m.get("namespace"))
        .filter(|n| !n.is_null())
    {
        if ns.as_str().is_none() {
            out.diags.push(
                Diagnostic::new(
                    Code::InvalidObject,
                    format!("expected a string, found {}", ns.type_name()),
                )
                .at(span(ns.pos))
                .object(format!("{kind} {}", name.unwrap_or("?")))
                .field("metadata.namespace"),
            );
            return;
        }
    }
    enum Class {
        Namespace,
        Workload,
        Service,
        NetworkPolicy,
        Admin,
        Skip,
    }
    let class = match kind {
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
        k if decode::has_pod_template(k, root) => Class::Workload,
        _ => Class::Skip,
    };
    const POLICY_KINDS: [(&str, &str); 4] = [
        ("NetworkPolicy", "networking.k8s.io/v1"),
        ("AdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1"),
        (
            "BaselineAdminNetworkPolicy",
            "policy.networking.k8s.io/v1alpha1",
        ),
        ("ClusterNetworkPolicy", "policy.networking.k8s.io/v1alpha2"),
    ];
    let cni_group = ["projectcalico.org", "crd.projectcalico.org", "cilium.io"]
        .contains(&api_version.split('/').next().unwrap_or(""));
    if let (Class::Skip, Some((_, expected))) =
        (&class, POLICY_KINDS.iter().find(|(k, _)| *k == kind))
    {
        if !cni_group {
            // Dropping a policy because of its apiVersion would show every
            // path it closes as open: the API server rejects it, so do we.
            out.diags.push(
                Diagnostic::new(
                    Code::InvalidObject,
                    format!(
                        "apiVersion {api_version:?} does not serve {kind}; expected {expected}"
                    ),
                )
                .at(span(root.pos))
                .object(format!("{kind} {}", name.unwrap_or("?")))
                .field("apiVersion"),
            );
            return;
        }
    }
    if let Class::Skip = class {
        *out.skipped.entry(kind.to_string()).or_default() += 1;
        let policy_like = cni_group && kind.contains("Polic");
        let looks_mistyped = !policy_like && looks_like_policy_typo(kind);
        let mut d = Diagnostic::new(
            Code::SkippedKind,
            if policy_like {
                format!("{kind} of {api_version} is not supported yet; its rules are ignored")
            } else if looks_mistyped {
                format!("unknown kind {kind:?} looks like a misspelt policy kind; skipped, so its rules are ignored")
            } else {
                format!("{kind} does not affect reachability; skipped")
            },
        )
        .at(span(root.pos));
        if policy_like || looks_mistyped {
            d.severity = crate::diag::Severity::Warning;
        }
        out.diags.push(d);
        return;
    }
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        out.diags.push(
            Diagnostic::new(Code::InvalidObject, "metadata.name is required")
                .at(span(root.pos))
                .object(kind.to_string()),
        );
        return;
    };
    let object_name = match class {
        Class::Namespace | Class::Admin => format!("{kind} {name}"),
        _ => format!("{kind} {namespace}/{name}"),
    };
    let mut cx = Ctx {
        file,
        object: object_name,
        diags: &mut out.diags,
    };
    match class {
        Class::Namespace => {
            if let Ok(ns) = decode::namespace(&mut cx, root, name) {
                out.namespaces.push(ns);
            }
        }
        Class::Workload => {
            if let Ok(w) = decode::workload(&mut cx, root, kind, &namespace, name) {
                out.workloads.push(w);
            }
        }
        Class::Service => {
            if let Ok(s) = decode::service(&mut cx, root, &namespace, name) {
                out.services.push(s);
            }
        }
        Class::NetworkPolicy => {
            if let Ok(p) = decode::network_policy(&mut cx, root, &namespace, name) {
                out.policies.push(p);
            }
        }
        Class::Admin => {
            if let Ok(p) = decode::admin_policy(&mut cx, root, kind, name) {
                out.admin_policies.push(p);
            }
        }
        Class::Skip => {}
    }
}

fn merge(results: Vec<FileObjects>, opts: &LoadOptions) -> (Inventory, Vec<Diagnostic>) {
    let mut inv = Inventory::default();
    let mut diags = Vec::new();
    let mut seen: BTreeMap<String, Span> = BTreeMap::new();
    let mut check_dup =
        |key: String, span: &Span, what: &str, diags: &mut Vec<Diagnostic>| -> bool {
            if let Some(first) = seen.get(&key) {
                diags.push(
                    Diagnostic::new(
                        Code::DuplicateObject,
                        format!("defined twice; first at {first}"),
                    )
                    .at(span.clone())
                    .object(what.to_string()),
                );
                false
            } else {
                seen.insert(key, span.clone());
                true
            }
        };
    for r in results {
        diags.extend(r.diags);
        for ns in r.namespaces {
            let span = ns.span.clone().unwrap_or_else(|| Span {
                file: String::new(),
                line: 0,
                col: 0,
            });
            if check_dup(
                format!("Namespace {}", ns.name),
                &span,
                &format!("Namespace {}", ns.name),
                &mut diags,
            ) {
                inv.namespaces.push(ns);
            }
        }
        for w in r.workloads {
            let what = format!("{} {}/{}", w.kind, w.namespace, w.name);
            if check_dup(what.clone(), &w.span, &what, &mut diags) {
                inv.workloads.push(w);
            }
        }
        for s in r.services {
            // Services never change a verdict (C8), so a duplicate is only a
            // warning: the later definition wins, as `kubectl apply` would.
            let what = format!("Service {}/{}", s.namespace, s.name);
            let before = diags.len();
            if check_dup(what.clone(), &s.span, &what, &mut diags) {
                inv.services.push(s);
            } else {
                if let Some(d) = diags.get_mut(before) {
                    d.severity = crate::diag::Severity::Warning;
                }
                if let Some(prev) = inv
                    .services
                    .iter_mut()
                    .find(|x| x.namespace == s.namespace && x.name == s.name)
                {
                    *prev = s;
                }
            }
        }
        for p in r.policies {
            let what = format!("NetworkPolicy {}/{}", p.namespace, p.name);
            if check_dup(what.clone(), &p.span, &what, &mut diags) {
                inv.policies.push(p);
            }
        }
        for p in r.admin_policies {
            // ANP and CNP share no namespace, but two CNPs of one name collide.
            let what = format!("{} {}", p.kind, p.name);
            if check_dup(what.clone(), &p.span, &what, &mut diags) {
                inv.admin_policies.push(p);
            }
        }
        for (k, n) in r.skipped {
            *inv.skipped.entry(k).or_default() += n;
        }
    }
    // M-9: namespaces used but not declared.
    let declared: BTreeSet<&str> = inv.namespaces.iter().map(|n| n.name.as_str()).collect();
    let mut used: BTreeMap<String, Span> = BTreeMap::new();
    for w in &inv.workloads {
        used.entry(w.namespace.clone())
            .or_insert_with(|| w.span.clone());
    }
    for p in &inv.policies {
        used.entry(p.namespace.clone())
            .or_insert_with(|| p.span.clone());
    }
    let mut assumed = Vec::new();
    for (name, span) in used {
        if declared.contains(name.as_str()) {
            continue;
        }
        if let Some(labels) = opts.external_namespaces.get(&name) {
            let mut labels = labels.clone();
            labels.insert(
                crate::model::selector::NAMESPACE_NAME_LABEL.to_string(),
                name.clone(),
            );
            assumed.push(Namespace {
                labels,
                name,
                span: None,
            });
            continue;
        }
        {
            diags.push(
                Diagnostic::new(
                    Code::NamespaceAssumed,
                    format!("namespace {name:?} has no manifest; assumed to carry only kubernetes.io/metadata.name={name}"),
                )
                .at(span),
            );
            assumed.push(Namespace {
                labels: [(
                    crate::model::selector::NAMESPACE_NAME_LABEL.to_string(),
                    name.clone(),
                )]
                .into(),
                name,
                span: None,
            });
        }
    }
    inv.namespaces.extend(assumed);
    inv.namespaces.sort_by(|a, b| a.name.cmp(&b.name));
    inv.workloads.sort_by_cached_key(Workload::id);
    (inv, diags)
}

#[cfg(test)]
mod tests;
