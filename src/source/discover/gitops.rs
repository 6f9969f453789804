//! GitOps objects that deploy paths of this repository: Argo CD
//! `Application`s and the applications `ApplicationSet`s generate (list
//! and git-directory generators), Flux `Kustomization`s, and the clusters
//! their top-level objects make.

use super::{
    Chart, ChartValues, Covered, Discovery, Found, Index, KUSTOMIZATION_FILES, Root, Snapshot,
    file_name, is_below, is_manifest, join, parent, resolve, shown,
};
use crate::config::glob_match;
use crate::manifest::yaml;
use serde::Deserialize;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

/// An object that deploys paths of this repository.
#[derive(Clone, Debug)]
pub(super) struct Deployer {
    /// `Argo CD Application argocd/guestbook`.
    id: String,
    /// Its name, for cluster names.
    name: String,
    file: String,
    roots: Vec<Root>,
    /// What it deploys: `(path, recursive)`.
    covers: Vec<(String, bool)>,
    /// The cluster it deploys into (Argo CD destination; empty: the one
    /// it runs in).
    dest: String,
    flux: bool,
}

/// A Flux `GitRepository`: name, URL and the revision it follows.
struct GitSource {
    namespace: String,
    name: String,
    url: String,
    /// `spec.ref` (`branch: x`, `tag: y`, …) as one string; empty when
    /// none is set. The same URL at another branch is another tree.
    rev: String,
}

impl GitSource {
    fn identity(&self) -> (String, String) {
        (self.url.clone(), self.rev.clone())
    }
}

/// `spec.ref` of a `GitRepository` as one comparable string.
fn source_rev(v: &Value) -> String {
    ["branch", "tag", "semver", "name", "commit"]
        .iter()
        .filter_map(|k| str_at(v, &["spec", "ref", k]).map(|r| format!("{k}: {r}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every Argo CD application and Flux Kustomization found in the tree
/// that deploys a path of this repository.
pub(super) fn deployers(
    snap: &dyn Snapshot,
    idx: &Index<'_>,
    select: &dyn Fn(&str) -> bool,
    charts: &[Chart],
    notes: &mut Vec<String>,
) -> Vec<Deployer> {
    let mut docs: Vec<(String, Value)> = Vec::new();
    for f in idx.files {
        if !is_manifest(f) || !select(f) {
            continue;
        }
        // Templates of a chart are not objects until rendered.
        if charts.iter().any(|c| is_below(f, &c.dir)) {
            continue;
        }
        let Some(text) = snap.text(f) else { continue };
        if !text.contains("argoproj.io") && !text.contains("fluxcd.io") {
            continue;
        }
        // Refused here, reported by the analysis of the cluster it falls in.
        if yaml::guard(&text, &yaml::Limits::default()).is_err() {
            continue;
        }
        for d in serde_yaml::Deserializer::from_str(&text) {
            match Value::deserialize(d) {
                Ok(v) => docs.push((f.clone(), v)),
                // A document that does not parse here is reported by the
                // analysis of the cluster it falls in.
                Err(_) => break,
            }
        }
    }
    let sources: Vec<GitSource> = docs
        .iter()
        .filter(|(_, v)| is_kind(v, "source.toolkit.fluxcd.io", "GitRepository"))
        .map(|(_, v)| GitSource {
            namespace: str_at(v, &["metadata", "namespace"])
                .unwrap_or("default")
                .to_string(),
            name: str_at(v, &["metadata", "name"])
                .unwrap_or_default()
                .to_string(),
            url: normalize_url(str_at(v, &["spec", "url"]).unwrap_or_default()),
            rev: source_rev(v),
        })
        .collect();
    let mut out = Vec::new();
    for (file, v) in &docs {
        if is_kind(v, "argoproj.io", "Application") {
            argo_application(v, file, idx, &mut out, notes);
        } else if is_kind(v, "argoproj.io", "ApplicationSet") {
            for app in application_set(v, file, idx, notes) {
                argo_application(&app, file, idx, &mut out, notes);
            }
        } else if is_kind(v, "kustomize.toolkit.fluxcd.io", "Kustomization") {
            flux_kustomization(v, file, idx, &mut out, notes);
        }
    }
    flux_foreign_sources(&docs, &sources, &mut out, notes);
    out
}

fn is_kind(v: &Value, group: &str, kind: &str) -> bool {
    str_at(v, &["kind"]) == Some(kind)
        && str_at(v, &["apiVersion"]).is_some_and(|a| a.split('/').next() == Some(group))
}

fn at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    at(v, path).and_then(Value::as_str)
}

/// `https://github.com/o/r.git` and `git@github.com:o/r` and
/// `ssh://git@github.com/o/r` → `github.com/o/r`.
pub(super) fn normalize_url(u: &str) -> String {
    let u = u.trim().trim_end_matches('/').trim_end_matches(".git");
    let u = u.split_once("://").map_or(u, |(_, r)| r);
    let u = u.split_once('@').map_or(u, |(_, r)| r);
    u.replacen(':', "/", 1).to_ascii_lowercase()
}

/// The path of a deploying object, as a repository path: `./apps/prod/`
/// → `apps/prod`; `None` when it leaves the repository.
fn repo_path(p: &str) -> Option<String> {
    resolve("", p)
}

fn object_name(v: &Value) -> (String, String) {
    (
        str_at(v, &["metadata", "namespace"])
            .unwrap_or("")
            .to_string(),
        str_at(v, &["metadata", "name"]).unwrap_or("").to_string(),
    )
}

/// One Argo CD application: what it says, and where.
struct ArgoApp<'a> {
    /// `Argo CD Application argocd/guestbook`.
    id: String,
    name: String,
    file: &'a str,
    /// Namespace of objects that carry none (`destination.namespace`).
    namespace: Option<String>,
}

impl ArgoApp<'_> {
    fn note(&self, notes: &mut Vec<String>, what: impl std::fmt::Display) {
        notes.push(format!("{} ({}): {what}", self.id, self.file));
    }
}

/// The cluster an Argo CD destination names: empty for the one Argo CD
/// runs in, else its name or server host.
fn argo_destination(dest: Option<&Value>) -> String {
    let get = |k: &str| dest.and_then(|d| d.get(k)).and_then(Value::as_str);
    match (get("name"), get("server")) {
        (Some(n), _) if n != "in-cluster" => n.to_string(),
        (_, Some(s)) if s.trim_end_matches('/') != "https://kubernetes.default.svc" => s
            .split_once("://")
            .map_or(s, |(_, h)| h)
            .trim_end_matches('/')
            .to_string(),
        _ => String::new(),
    }
}

fn argo_application(
    v: &Value,
    file: &str,
    idx: &Index<'_>,
    out: &mut Vec<Deployer>,
    notes: &mut Vec<String>,
) {
    let (ns, name) = object_name(v);
    let spec = v.get("spec");
    let dest = spec.and_then(|s| s.get("destination"));
    let app = ArgoApp {
        id: format!(
            "Argo CD Application {}{name}",
            if ns.is_empty() {
                String::new()
            } else {
                format!("{ns}/")
            }
        ),
        name,
        file,
        namespace: dest
            .and_then(|d| d.get("namespace"))
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let mut sources: Vec<&Value> = spec.and_then(|s| s.get("source")).into_iter().collect();
    if let Some(Value::Sequence(s)) = spec.and_then(|s| s.get("sources")) {
        sources.extend(s.iter());
    }
    let mut d = Deployer {
        id: app.id.clone(),
        name: app.name.clone(),
        file: file.to_string(),
        roots: Vec::new(),
        covers: Vec::new(),
        dest: argo_destination(dest),
        flux: false,
    };
    for s in sources {
        if let Some(path) = argo_source_path(&app, s, idx, notes) {
            argo_source(&app, s, path, idx, &mut d, notes);
        }
    }
    if !d.covers.is_empty() {
        out.push(d);
    }
}

/// The directory of this repository a source deploys, if it is one.
fn argo_source_path(
    app: &ArgoApp<'_>,
    s: &Value,
    idx: &Index<'_>,
    notes: &mut Vec<String>,
) -> Option<String> {
    if s.get("chart").is_some() {
        app.note(
            notes,
            "a chart from a Helm repository is not part of this repository",
        );
        return None;
    }
    // A source without a path is a `ref` source (values for another).
    let raw = s.get("path").and_then(Value::as_str)?;
    if raw.contains("{{") {
        app.note(notes, format!("path {raw:?} is a template"));
        return None;
    }
    let Some(path) = repo_path(raw) else {
        app.note(notes, format!("path {raw:?} leaves the repository"));
        return None;
    };
    if !idx.is_dir(&path) {
        app.note(
            notes,
            format!(
                "path {raw:?} is not a directory of this revision \
                 (another repository, or a path still to be added)"
            ),
        );
        return None;
    }
    if s.get("plugin").is_some() {
        app.note(
            notes,
            format!("path {path} is rendered by a config management plugin, which reachdiff does not run"),
        );
        return None;
    }
    Some(path)
}

/// What one source of an application deploys, as Argo CD decides it: a
/// kustomization, a chart (with the application's values files), or a
/// directory (its own files unless `directory.recurse`).
fn argo_source(
    app: &ArgoApp<'_>,
    s: &Value,
    path: String,
    idx: &Index<'_>,
    d: &mut Deployer,
    notes: &mut Vec<String>,
) {
    let is_kust = KUSTOMIZATION_FILES
        .iter()
        .any(|k| idx.is_file(&join(&path, k)));
    let recurse = s
        .get("directory")
        .and_then(|x| x.get("recurse"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if !is_kust && idx.is_file(&join(&path, "Chart.yaml")) {
        d.roots.push(Root {
            path: path.clone(),
            chart: Some(argo_helm(app, s.get("helm"), &path, idx, notes)),
        });
        d.covers.push((path, true));
    } else if is_kust || recurse {
        d.roots.push(Root::dir(&path));
        d.covers.push((path, true));
    } else {
        for f in idx.children(&path).filter(|f| is_manifest(f)) {
            d.roots.push(Root::dir(f));
        }
        d.covers.push((path, false));
    }
}

/// Release, namespace and values files of a chart an application deploys.
fn argo_helm(
    app: &ArgoApp<'_>,
    helm: Option<&Value>,
    path: &str,
    idx: &Index<'_>,
    notes: &mut Vec<String>,
) -> ChartValues {
    let mut values = Vec::new();
    if let Some(Value::Sequence(files)) = helm.and_then(|h| h.get("valueFiles")) {
        for f in files.iter().filter_map(Value::as_str) {
            match resolve(path, f).filter(|p| idx.is_file(p)) {
                Some(p) => values.push(p),
                None => app.note(
                    notes,
                    format!("values file {f:?} is not a file of this revision; left out"),
                ),
            }
        }
    }
    if helm.is_some_and(|h| {
        ["values", "valuesObject", "parameters"]
            .iter()
            .any(|k| h.get(k).is_some())
    }) {
        app.note(
            notes,
            "inline Helm values and parameters are not applied; put them in a values file of the repository",
        );
    }
    ChartValues {
        release: helm
            .and_then(|h| h.get("releaseName"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| Some(app.name.clone()).filter(|n| !n.is_empty())),
        namespace: app.namespace.clone(),
        values,
    }
}

/// The applications an `ApplicationSet` generates from its list and
/// git-directory generators (others noted).
fn application_set(v: &Value, file: &str, idx: &Index<'_>, notes: &mut Vec<String>) -> Vec<Value> {
    let (ns, name) = object_name(v);
    let id = format!(
        "Argo CD ApplicationSet {}{name}",
        if ns.is_empty() {
            String::new()
        } else {
            format!("{ns}/")
        }
    );
    let Some(template) = at(v, &["spec", "template"]) else {
        return Vec::new();
    };
    let go = at(v, &["spec", "goTemplate"])
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut params: Vec<BTreeMap<String, String>> = Vec::new();
    let gens = match at(v, &["spec", "generators"]) {
        Some(Value::Sequence(g)) => g.clone(),
        _ => Vec::new(),
    };
    let mut unsupported = false;
    for g in &gens {
        if let Some(Value::Sequence(elements)) = at(g, &["list", "elements"]) {
            for e in elements {
                let mut p = BTreeMap::new();
                flatten(e, "", &mut p);
                params.push(p);
            }
        } else if let Some(Value::Sequence(dirs)) = at(g, &["git", "directories"]) {
            params.extend(git_directories(dirs, idx, go));
        } else {
            unsupported = true;
            let kind = g
                .as_mapping()
                .and_then(|m| m.keys().next())
                .and_then(Value::as_str)
                .unwrap_or("?");
            notes.push(format!(
                "{id} ({file}): the {kind} generator is not evaluated; \
                 applications whose path does not depend on it are still found"
            ));
        }
    }
    if unsupported && params.is_empty() {
        params.push(BTreeMap::new());
    }
    let mut apps = Vec::new();
    for p in params {
        let mut app = template.clone();
        if let Err(missing) = substitute(&mut app, &p, go) {
            notes.push(format!(
                "{id} ({file}): an application whose template uses {missing} is left out"
            ));
            continue;
        }
        if let Value::Mapping(m) = &mut app {
            m.insert("apiVersion".into(), "argoproj.io/v1alpha1".into());
            m.insert("kind".into(), "Application".into());
        }
        apps.push(app);
    }
    apps
}

/// Parameters of the git-directory generator: one set per directory of
/// this revision that a pattern matches and none excludes.
fn git_directories(dirs: &[Value], idx: &Index<'_>, go: bool) -> Vec<BTreeMap<String, String>> {
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    for d in dirs {
        let Some(p) = d.get("path").and_then(Value::as_str) else {
            continue;
        };
        let p = p.trim_start_matches("./").trim_end_matches('/').to_string();
        if d.get("exclude").and_then(Value::as_bool).unwrap_or(false) {
            exclude.push(p);
        } else {
            include.push(p);
        }
    }
    idx.dirs
        .iter()
        .filter(|d| !d.is_empty())
        .filter(|d| include.iter().any(|p| dir_glob(p, d)))
        .filter(|d| !exclude.iter().any(|p| dir_glob(p, d)))
        .map(|d| {
            let mut m = BTreeMap::new();
            let base = file_name(d).to_string();
            let normalized: String = base
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect();
            if go {
                m.insert("path.path".into(), d.clone());
                m.insert("path.basename".into(), base);
                m.insert("path.basenameNormalized".into(), normalized);
            } else {
                m.insert("path".into(), d.clone());
                m.insert("path.basename".into(), base);
                m.insert("path.basenameNormalized".into(), normalized);
            }
            for (i, s) in d.split('/').enumerate() {
                m.insert(format!("path[{i}]"), s.to_string());
            }
            m
        })
        .collect()
}

/// Whether a generator's directory pattern matches a directory: `*`
/// within one segment, `**` any depth, a pattern without `/` only at the
/// top.
fn dir_glob(pattern: &str, dir: &str) -> bool {
    if pattern.contains('/') {
        glob_match(pattern, dir)
    } else {
        !dir.contains('/') && glob_match(pattern, dir)
    }
}

/// A list element's fields as `a.b.c` → value.
fn flatten(v: &Value, prefix: &str, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                let Some(k) = k.as_str() else { continue };
                let key = if prefix.is_empty() {
                    k.to_string()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(val, &key, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        Value::Number(n) => {
            out.insert(prefix.to_string(), n.to_string());
        }
        Value::Bool(b) => {
            out.insert(prefix.to_string(), b.to_string());
        }
        _ => {}
    }
}

/// Replaces `{{key}}` (and `{{ .key }}` in Go templates) in every string
/// of `v`; `Err` names a placeholder no parameter fills.
fn substitute(v: &mut Value, p: &BTreeMap<String, String>, go: bool) -> Result<(), String> {
    match v {
        Value::String(s) => {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(i) = rest.find("{{") {
                out.push_str(&rest[..i]);
                let after = &rest[i + 2..];
                let Some(j) = after.find("}}") else {
                    return Err(format!("{{{{{after}"));
                };
                let key = after[..j].trim();
                let key = if go {
                    key.strip_prefix('.').unwrap_or(key)
                } else {
                    key
                };
                match p.get(key) {
                    Some(val) => out.push_str(val),
                    None => return Err(format!("{{{{{}}}}}", &after[..j])),
                }
                rest = &after[j + 2..];
            }
            out.push_str(rest);
            *s = out;
            Ok(())
        }
        Value::Mapping(m) => m.iter_mut().try_for_each(|(_, val)| substitute(val, p, go)),
        Value::Sequence(items) => items.iter_mut().try_for_each(|i| substitute(i, p, go)),
        _ => Ok(()),
    }
}

fn flux_kustomization(
    v: &Value,
    file: &str,
    idx: &Index<'_>,
    out: &mut Vec<Deployer>,
    notes: &mut Vec<String>,
) {
    let (ns, name) = object_name(v);
    let ns = if ns.is_empty() {
        "default".to_string()
    } else {
        ns
    };
    let id = format!("Flux Kustomization {ns}/{name}");
    let raw = str_at(v, &["spec", "path"]).unwrap_or("./");
    let Some(path) = repo_path(raw) else {
        notes.push(format!("{id} ({file}): path {raw:?} leaves the repository"));
        return;
    };
    let kind = str_at(v, &["spec", "sourceRef", "kind"]).unwrap_or("GitRepository");
    if kind != "GitRepository" {
        notes.push(format!(
            "{id} ({file}): its source is a {kind}, not this repository"
        ));
        return;
    }
    if !idx.is_dir(&path) {
        notes.push(format!(
            "{id} ({file}): path {raw:?} is not a directory of this revision \
             (another repository, or a path still to be added)"
        ));
        return;
    }
    let dest = match str_at(v, &["spec", "kubeConfig", "secretRef", "name"]) {
        Some(s) => format!("kubeconfig {s}"),
        None => String::new(),
    };
    out.push(Deployer {
        id,
        name,
        file: file.to_string(),
        roots: vec![Root::dir(&path)],
        covers: vec![(path, true)],
        dest,
        flux: true,
    });
}

/// Drops Flux Kustomizations whose `GitRepository` is another tree than
/// the repository's own: another URL, or the same URL at another `ref`
/// (the repository's own is the source of a Kustomization that deploys
/// its own file from a folder: `flux-system`). When nothing shows which
/// source is this repository, a declared `GitRepository` is not assumed
/// to be it (a tenant's source, often this URL at the tenant's branch,
/// deploys `./`, which holds every file); a Kustomization whose source the
/// tree does not declare (the bootstrap's `flux-system`) still is.
fn flux_foreign_sources(
    docs: &[(String, Value)],
    sources: &[GitSource],
    out: &mut Vec<Deployer>,
    notes: &mut Vec<String>,
) {
    let source_of = |v: &Value| -> Option<&GitSource> {
        let (ns, _) = object_name(v);
        let ns = if ns.is_empty() {
            "default"
        } else {
            ns.as_str()
        };
        let name = str_at(v, &["spec", "sourceRef", "name"])?;
        let sns = str_at(v, &["spec", "sourceRef", "namespace"]).unwrap_or(ns);
        sources
            .iter()
            .find(|s| s.name == name && s.namespace == sns)
    };
    let flux_docs: Vec<(&String, &Value)> = docs
        .iter()
        .filter(|(_, v)| is_kind(v, "kustomize.toolkit.fluxcd.io", "Kustomization"))
        .map(|(f, v)| (f, v))
        .collect();
    // The repository's own URLs: sources of Kustomizations that deploy the
    // file they are declared in.
    let mut home: BTreeSet<(String, String)> = BTreeSet::new();
    for (f, v) in &flux_docs {
        let Some(p) = repo_path(str_at(v, &["spec", "path"]).unwrap_or("./")) else {
            continue;
        };
        // The root holds every file: deploying it proves nothing.
        if !p.is_empty()
            && is_below(f, &p)
            && let Some(s) = source_of(v)
        {
            home.insert(s.identity());
        }
    }
    let mut foreign: BTreeSet<(String, String)> = BTreeSet::new();
    for (f, v) in &flux_docs {
        if let Some(s) = source_of(v)
            && !home.contains(&s.identity())
        {
            let (ns, name) = object_name(v);
            let ns = if ns.is_empty() {
                "default".to_string()
            } else {
                ns
            };
            foreign.insert((format!("Flux Kustomization {ns}/{name}"), (*f).clone()));
            let at = if s.rev.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.rev)
            };
            let why = if home.is_empty() {
                "is not known to be this repository (no Kustomization of this tree deploys its own folder from it)"
            } else {
                "is another repository or revision"
            };
            notes.push(format!(
                "Flux Kustomization {ns}/{name} ({f}): its GitRepository {}{at} {why}",
                s.url
            ));
        }
    }
    out.retain(|d| !foreign.contains(&(d.id.clone(), d.file.clone())));
}

fn covers(d: &Deployer, file: &str) -> bool {
    d.covers.iter().any(|(p, recursive)| {
        if *recursive {
            is_below(file, p)
        } else {
            parent(file) == p
        }
    })
}

/// Top-level deployers and everything each deploys, directly or through
/// the objects it deploys: `(members, top)`. A deployer is top-level when
/// every deployer that deploys it is one it deploys too (none at all, or
/// a cycle such as Flux's `flux-system` deploying its own folder).
fn top_levels(ds: &[Deployer]) -> BTreeMap<Vec<usize>, usize> {
    // children[i]: the deployers whose files deployer i's paths hold.
    let children: Vec<Vec<usize>> = ds
        .iter()
        .enumerate()
        .map(|(i, d)| {
            (0..ds.len())
                .filter(|&j| j != i && covers(d, &ds[j].file))
                .collect()
        })
        .collect();
    let reach = |start: usize| -> BTreeSet<usize> {
        let mut seen = BTreeSet::from([start]);
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            for &j in &children[i] {
                if seen.insert(j) {
                    stack.push(j);
                }
            }
        }
        seen
    };
    let reaches: Vec<BTreeSet<usize>> = (0..ds.len()).map(reach).collect();
    let mut out = BTreeMap::new();
    for (i, reached) in reaches.iter().enumerate() {
        let top = (0..ds.len())
            .filter(|&p| children[p].contains(&i))
            .all(|p| reached.contains(&p));
        if top {
            out.entry(reached.iter().copied().collect()).or_insert(i);
        }
    }
    out
}

/// One cluster per top-level deployer (and Argo CD destination).
pub(super) fn clusters(ds: &[Deployer], covered: &mut Covered, out: &mut Discovery) {
    for (members, top) in top_levels(ds) {
        let mut by_dest: BTreeMap<&str, Vec<&Deployer>> = BTreeMap::new();
        for &m in &members {
            by_dest.entry(ds[m].dest.as_str()).or_default().push(&ds[m]);
        }
        let split = by_dest.len() > 1;
        for (dest, ms) in by_dest {
            for m in &ms {
                for (p, recursive) in &m.covers {
                    if *recursive {
                        covered.trees.push(p.clone());
                    } else {
                        covered.flat.push(p.clone());
                    }
                }
            }
            out.found.push(cluster(&ds[top], &ms, dest, split));
        }
    }
}

/// The cluster of top-level deployer `t` and `members`, those of
/// destination `dest` (named when `split`: the top-level's cluster has
/// several destinations).
fn cluster(t: &Deployer, members: &[&Deployer], dest: &str, split: bool) -> Found {
    let mut roots: Vec<Root> = members.iter().flat_map(|m| m.roots.clone()).collect();
    roots.sort();
    roots.dedup();
    let mut paths: Vec<&str> = members
        .iter()
        .flat_map(|m| m.covers.iter().map(|(p, _)| shown(p)))
        .collect();
    paths.sort();
    paths.dedup();
    // Every Flux cluster's bootstrap is `flux-system`: its folder names the
    // cluster.
    let base_name = match (t.flux, t.roots.first()) {
        (true, Some(r)) => shown(&r.path).to_string(),
        _ => t.name.clone(),
    };
    let dest_name = split.then_some(if dest.is_empty() { "in-cluster" } else { dest });
    let others = members.iter().filter(|m| !std::ptr::eq(**m, t)).count();
    let deploys = match (others, t.flux) {
        (0, _) => String::new(),
        (n, true) => format!(" and {n} Kustomization(s) it deploys"),
        (n, false) => format!(" and {n} application(s) it deploys"),
    };
    Found {
        key: format!("gitops:{}:{}@{dest}", t.id, t.file),
        name: match dest_name {
            Some(d) => format!("{base_name}@{d}"),
            None => base_name,
        },
        why: format!(
            "{} ({}){deploys}{}: {}",
            t.id,
            t.file,
            dest_name
                .map(|d| format!(", destination {d}"))
                .unwrap_or_default(),
            paths.join(", ")
        ),
        roots,
    }
}
