//! Environment discovery: a repository cut into clusters the way its
//! GitOps tool would deploy it, when `.reachdiff.yaml` names no
//! `environments:`.
//!
//! In order of precedence:
//!
//! 1. **GitOps objects.** Argo CD `Application`s (and the applications an
//!    `ApplicationSet` generates from list and git-directory generators)
//!    and Flux `Kustomization`s found in the tree name the paths they
//!    deploy. One that no other deploys is a *top-level* deployer (Flux's
//!    `flux-system`, which deploys its own folder, counts as top-level);
//!    everything it deploys, directly or through the objects it deploys
//!    (app of apps), is one cluster, split by Argo CD destination. Paths
//!    of other repositories (a Flux source with another URL, a Helm
//!    repository, a path this tree does not have) are left out, with a
//!    note.
//! 2. **Kustomizations and charts** outside those paths: every
//!    kustomization that no other kustomization includes is a cluster of
//!    its own (`overlays/prod`, `overlays/staging`); so is every Helm
//!    chart outside a kustomization, once per `values-ENV.yaml` it holds.
//! 3. **Everything else**: the plain manifests outside any of the above
//!    form one more cluster.
//!
//! Discovery never fails: what it cannot read or parse is left to the
//! analysis of the cluster it falls in, which reports it. It reads only
//! the tree it is given ([`Snapshot`]) and is pure otherwise.

use crate::config::glob_match;
use serde::Deserialize;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One revision's tree, as discovery reads it.
pub trait Snapshot {
    /// Every file, repository-relative, sorted; entries whose name starts
    /// with `.` (and everything below them) left out.
    fn files(&self) -> &[String];
    /// A file's text; `None` when it cannot be read as text (discovery then
    /// ignores it; the analysis reports it if it matters).
    fn text(&self, path: &str) -> Option<Arc<str>>;
}

/// A cluster found in one revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Identity across revisions: the same key on both sides is the same
    /// environment (its roots may differ).
    pub key: String,
    /// A name for reports and `--env`.
    pub name: String,
    /// Why it is a cluster, in one line.
    pub why: String,
    pub roots: Vec<Root>,
}

/// A path the cluster reads: a directory (walked as in the directory mode:
/// kustomizations and charts rendered) or a file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Root {
    pub path: String,
    /// How the chart at `path` is rendered, when the deploying object says.
    pub chart: Option<ChartValues>,
}

impl Root {
    fn dir(path: &str) -> Root {
        Root {
            path: path.to_string(),
            chart: None,
        }
    }
}

/// Release, namespace and values files of one chart deployment.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChartValues {
    pub release: Option<String>,
    pub namespace: Option<String>,
    /// Repository-relative values files, in order.
    pub values: Vec<String>,
}

/// What discovery found in one revision.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    pub found: Vec<Found>,
    /// What was seen but left out, and why (one line each).
    pub notes: Vec<String>,
}

/// The key of the cluster of plain manifests outside any other.
pub const REST_KEY: &str = "rest";
/// Its name.
pub const REST_NAME: &str = "other-manifests";

/// File names that make a directory a kustomization.
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Cuts one revision into clusters. `select` is the configuration's
/// include/exclude filter on repository paths: what it refuses is never
/// looked at.
pub fn discover(snap: &dyn Snapshot, select: &dyn Fn(&str) -> bool) -> Discovery {
    let idx = Index::new(snap.files());
    let mut out = Discovery::default();
    let kust = kustomizations(snap, &idx, select);
    let charts = charts(&idx, select, &kust);
    let deployers = deployers(snap, &idx, select, &charts, &mut out.notes);
    let mut covered = Covered::default();
    gitops_clusters(&deployers, &idx, &mut covered, &mut out);
    kustomize_clusters(&kust, &idx, &mut covered, &mut out);
    chart_clusters(&charts, &idx, &mut covered, &mut out);
    rest_cluster(&idx, select, &kust, &covered, &mut out);
    out.found
        .sort_by(|a, b| (a.key == REST_KEY, &a.name).cmp(&(b.key == REST_KEY, &b.name)));
    out
}

/// The files of a tree, and the directories they imply.
struct Index<'a> {
    files: &'a [String],
    dirs: BTreeSet<String>,
}

impl<'a> Index<'a> {
    fn new(files: &'a [String]) -> Index<'a> {
        let mut dirs = BTreeSet::new();
        dirs.insert(String::new());
        for f in files {
            let mut at = f.as_str();
            while let Some((d, _)) = at.rsplit_once('/') {
                if !dirs.insert(d.to_string()) {
                    break;
                }
                at = d;
            }
        }
        Index { files, dirs }
    }

    fn is_file(&self, p: &str) -> bool {
        self.files.binary_search_by(|f| f.as_str().cmp(p)).is_ok()
    }

    fn is_dir(&self, p: &str) -> bool {
        self.dirs.contains(p)
    }

    /// Files below `dir` (all files for the root).
    fn under(&self, dir: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        let start = self.files.partition_point(|f| f.as_str() < dir);
        self.files[start..]
            .iter()
            .take_while(move |f| dir.is_empty() || f.starts_with(dir))
            .filter(move |f| is_below(f, dir))
    }

    /// Files directly in `dir`.
    fn children(&self, dir: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.under(dir)
            .filter(move |f| !f[prefix_len(dir)..].contains('/'))
    }
}

fn prefix_len(dir: &str) -> usize {
    if dir.is_empty() { 0 } else { dir.len() + 1 }
}

/// Whether `path` is `dir` itself or inside it.
fn is_below(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || (path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/')
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// `dir` joined with a relative path, normalised; `None` when it leaves
/// the repository, is absolute or is a URL.
fn resolve(dir: &str, rel: &str) -> Option<String> {
    let rel = rel.trim();
    if rel.starts_with('/') || rel.contains("://") || rel.contains('\\') {
        return None;
    }
    let mut parts: Vec<&str> = if dir.is_empty() {
        Vec::new()
    } else {
        dir.split('/').collect()
    };
    for c in rel.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

fn is_manifest(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml") || path.ends_with(".json")
}

fn shown(dir: &str) -> &str {
    if dir.is_empty() { "." } else { dir }
}

// ---------------------------------------------------------------------
// Kustomizations

/// One kustomization directory: what it includes.
#[derive(Default)]
struct Kust {
    /// Kustomization directories it includes (`resources`, `bases`,
    /// `components`).
    includes: Vec<String>,
    /// Files outside its directory it reads (resources, patches, …).
    reads: Vec<String>,
}

/// Every kustomization directory whose kustomization file `select`
/// accepts, with what it includes.
fn kustomizations(
    snap: &dyn Snapshot,
    idx: &Index<'_>,
    select: &dyn Fn(&str) -> bool,
) -> BTreeMap<String, Kust> {
    let mut dirs = BTreeMap::new();
    for f in idx.files {
        if KUSTOMIZATION_FILES.contains(&file_name(f)) && select(f) {
            dirs.entry(parent(f).to_string())
                .or_insert_with(|| f.clone());
        }
    }
    let mut out = BTreeMap::new();
    for (dir, file) in &dirs {
        let mut k = Kust::default();
        if let Some(v) = snap
            .text(file)
            .and_then(|t| serde_yaml::from_str::<Value>(&t).ok())
        {
            let mut refs = Vec::new();
            path_fields(&v, &mut refs);
            for r in refs {
                let Some(p) = resolve(dir, &r) else { continue };
                if dirs.contains_key(&p) {
                    if &p != dir {
                        k.includes.push(p);
                    }
                } else if idx.is_file(&p) && !is_below(&p, dir) {
                    k.reads.push(p);
                } else if idx.is_dir(&p) && !is_below(&p, dir) {
                    // A plain directory as a resource does not render, but
                    // its files are this kustomization's, not plain ones.
                    k.reads.extend(idx.under(&p).cloned());
                }
            }
        }
        out.insert(dir.clone(), k);
    }
    out
}

/// The strings of a kustomization's fields that name files or
/// directories (entries of `KEY=path` generators included).
fn path_fields(v: &Value, out: &mut Vec<String>) {
    const LISTS: [&str; 10] = [
        "resources",
        "bases",
        "components",
        "crds",
        "configurations",
        "patchesStrategicMerge",
        "paths",
        "files",
        "envs",
        "transformers",
    ];
    const SCALARS: [&str; 3] = ["path", "env", "targetFilePath"];
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                let Some(k) = k.as_str() else { continue };
                match val {
                    Value::Sequence(items) if LISTS.contains(&k) => {
                        for i in items {
                            match i {
                                Value::String(s) => {
                                    let s = s.rsplit_once('=').map_or(s.as_str(), |(_, p)| p);
                                    out.push(s.to_string());
                                }
                                other => path_fields(other, out),
                            }
                        }
                    }
                    Value::String(s) if SCALARS.contains(&k) => out.push(s.clone()),
                    other => path_fields(other, out),
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| path_fields(i, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------------
// Charts

/// A chart directory and its per-environment values files.
struct Chart {
    dir: String,
    /// `(variant, values file)`, e.g. `("prod", "charts/web/values-prod.yaml")`.
    variants: Vec<(String, String)>,
}

/// Chart directories (a `Chart.yaml` `select` accepts) that are neither a
/// subchart of another nor inside a kustomization.
fn charts(
    idx: &Index<'_>,
    select: &dyn Fn(&str) -> bool,
    kust: &BTreeMap<String, Kust>,
) -> Vec<Chart> {
    let dirs: Vec<String> = idx
        .files
        .iter()
        .filter(|f| file_name(f) == "Chart.yaml" && select(f))
        .map(|f| parent(f).to_string())
        .collect();
    let mut out = Vec::new();
    for dir in &dirs {
        let nested = dirs.iter().any(|a| a != dir && is_below(dir, a));
        let in_kust = kust.keys().any(|k| is_below(dir, k));
        if nested || in_kust {
            continue;
        }
        let mut variants = Vec::new();
        for f in idx.children(dir) {
            if let Some(v) = values_variant(file_name(f)) {
                variants.push((v.to_string(), f.clone()));
            }
        }
        let values_dir = join(dir, "values");
        if idx.is_dir(&values_dir) {
            for f in idx.children(&values_dir) {
                let n = file_name(f);
                if let Some(v) = n.strip_suffix(".yaml").or_else(|| n.strip_suffix(".yml")) {
                    variants.push((v.to_string(), f.clone()));
                }
            }
        }
        variants.sort();
        out.push(Chart {
            dir: dir.clone(),
            variants,
        });
    }
    out
}

/// `values-prod.yaml`, `values.prod.yaml`, `values_prod.yml` → `prod`.
fn values_variant(name: &str) -> Option<&str> {
    let stem = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))?;
    let rest = stem.strip_prefix("values")?;
    let v = rest
        .strip_prefix('-')
        .or_else(|| rest.strip_prefix('.'))
        .or_else(|| rest.strip_prefix('_'))?;
    (!v.is_empty() && v != "schema").then_some(v)
}

// ---------------------------------------------------------------------
// GitOps objects

/// An object that deploys paths of this repository.
#[derive(Clone, Debug)]
struct Deployer {
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

/// A Flux `GitRepository`: name and URL.
struct GitSource {
    namespace: String,
    name: String,
    url: String,
}

/// Every Argo CD application and Flux Kustomization found in the tree
/// that deploys a path of this repository.
fn deployers(
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
fn normalize_url(u: &str) -> String {
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

fn argo_application(
    v: &Value,
    file: &str,
    idx: &Index<'_>,
    out: &mut Vec<Deployer>,
    notes: &mut Vec<String>,
) {
    let (ns, name) = object_name(v);
    let id = format!(
        "Argo CD Application {}{name}",
        if ns.is_empty() {
            String::new()
        } else {
            format!("{ns}/")
        }
    );
    let spec = v.get("spec");
    let mut sources: Vec<&Value> = Vec::new();
    if let Some(s) = spec.and_then(|s| s.get("source")) {
        sources.push(s);
    }
    if let Some(Value::Sequence(s)) = spec.and_then(|s| s.get("sources")) {
        sources.extend(s.iter());
    }
    let dest = spec.and_then(|s| s.get("destination"));
    let dest_ns = dest
        .and_then(|d| d.get("namespace"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let dest_key = match (
        dest.and_then(|d| d.get("name")).and_then(Value::as_str),
        dest.and_then(|d| d.get("server")).and_then(Value::as_str),
    ) {
        (Some(n), _) if n != "in-cluster" => n.to_string(),
        (_, Some(s)) if s.trim_end_matches('/') != "https://kubernetes.default.svc" => s
            .split_once("://")
            .map_or(s, |(_, h)| h)
            .trim_end_matches('/')
            .to_string(),
        _ => String::new(),
    };
    let mut d = Deployer {
        id: id.clone(),
        name: name.clone(),
        file: file.to_string(),
        roots: Vec::new(),
        covers: Vec::new(),
        dest: dest_key,
        flux: false,
    };
    for s in sources {
        if s.get("chart").is_some() {
            notes.push(format!(
                "{id} ({file}): a chart from a Helm repository is not part of this repository"
            ));
            continue;
        }
        let Some(raw) = s.get("path").and_then(Value::as_str) else {
            continue; // a `ref` source (values for another source)
        };
        if raw.contains("{{") {
            notes.push(format!("{id} ({file}): path {raw:?} is a template"));
            continue;
        }
        let Some(path) = repo_path(raw) else {
            notes.push(format!("{id} ({file}): path {raw:?} leaves the repository"));
            continue;
        };
        if !idx.is_dir(&path) {
            notes.push(format!(
                "{id} ({file}): path {raw:?} is not a directory of this revision \
                 (another repository, or a path still to be added)"
            ));
            continue;
        }
        if s.get("plugin").is_some() {
            notes.push(format!(
                "{id} ({file}): path {path} is rendered by a config management plugin, \
                 which reachdiff does not run"
            ));
            continue;
        }
        let is_kust = KUSTOMIZATION_FILES
            .iter()
            .any(|k| idx.is_file(&join(&path, k)));
        let is_chart = !is_kust && idx.is_file(&join(&path, "Chart.yaml"));
        if is_chart {
            let helm = s.get("helm");
            let mut values = Vec::new();
            if let Some(Value::Sequence(files)) = helm.and_then(|h| h.get("valueFiles")) {
                for f in files.iter().filter_map(Value::as_str) {
                    match resolve(&path, f).filter(|p| idx.is_file(p)) {
                        Some(p) => values.push(p),
                        None => notes.push(format!(
                            "{id} ({file}): values file {f:?} is not a file of this revision; left out"
                        )),
                    }
                }
            }
            if helm.is_some_and(|h| {
                h.get("values").is_some()
                    || h.get("valuesObject").is_some()
                    || h.get("parameters").is_some()
            }) {
                notes.push(format!(
                    "{id} ({file}): inline Helm values and parameters are not applied; \
                     put them in a values file of the repository"
                ));
            }
            d.roots.push(Root {
                path: path.clone(),
                chart: Some(ChartValues {
                    release: helm
                        .and_then(|h| h.get("releaseName"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .or_else(|| Some(name.clone()).filter(|n| !n.is_empty())),
                    namespace: dest_ns.clone(),
                    values,
                }),
            });
            d.covers.push((path, true));
        } else if is_kust
            || s.get("directory")
                .and_then(|x| x.get("recurse"))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        {
            d.roots.push(Root::dir(&path));
            d.covers.push((path, true));
        } else {
            // A directory application reads only its own files unless
            // `directory.recurse` is set.
            for f in idx.children(&path).filter(|f| is_manifest(f)) {
                d.roots.push(Root::dir(f));
            }
            d.covers.push((path, false));
        }
    }
    if !d.covers.is_empty() {
        out.push(d);
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

/// Drops Flux Kustomizations whose `GitRepository` has another URL than
/// the repository's own (the source of a Kustomization that deploys its
/// own file: `flux-system`).
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
    let mut home: BTreeSet<String> = BTreeSet::new();
    for (f, v) in &flux_docs {
        let Some(p) = repo_path(str_at(v, &["spec", "path"]).unwrap_or("./")) else {
            continue;
        };
        if is_below(f, &p)
            && let Some(s) = source_of(v)
        {
            home.insert(s.url.clone());
        }
    }
    if home.is_empty() {
        return;
    }
    let mut foreign: BTreeSet<(String, String)> = BTreeSet::new();
    for (f, v) in &flux_docs {
        if let Some(s) = source_of(v)
            && !home.contains(&s.url)
        {
            let (ns, name) = object_name(v);
            let ns = if ns.is_empty() {
                "default".to_string()
            } else {
                ns
            };
            foreign.insert((format!("Flux Kustomization {ns}/{name}"), (*f).clone()));
            notes.push(format!(
                "Flux Kustomization {ns}/{name} ({f}): its GitRepository {} is another repository",
                s.url
            ));
        }
    }
    out.retain(|d| !foreign.contains(&(d.id.clone(), d.file.clone())));
}

// ---------------------------------------------------------------------
// Clusters

/// What the clusters found so far read.
#[derive(Default)]
struct Covered {
    /// Directories read recursively.
    trees: Vec<String>,
    /// Directories whose own files are read.
    flat: Vec<String>,
}

impl Covered {
    fn covers(&self, path: &str) -> bool {
        self.trees.iter().any(|d| is_below(path, d)) || self.flat.iter().any(|d| parent(path) == d)
    }
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

/// One cluster per top-level deployer (and Argo CD destination).
fn gitops_clusters(ds: &[Deployer], _idx: &Index<'_>, covered: &mut Covered, out: &mut Discovery) {
    if ds.is_empty() {
        return;
    }
    // children[i]: deployers that deployer i deploys (its paths hold their
    // files).
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
    // Top-level: every deployer that deploys it is one it deploys too (a
    // cycle, or none at all).
    let mut clusters: BTreeMap<Vec<usize>, usize> = BTreeMap::new();
    for i in 0..ds.len() {
        let parents: Vec<usize> = (0..ds.len())
            .filter(|&p| children[p].contains(&i))
            .collect();
        if parents.iter().all(|p| reaches[i].contains(p)) {
            let members: Vec<usize> = reaches[i].iter().copied().collect();
            clusters.entry(members).or_insert(i);
        }
    }
    for (members, top) in clusters {
        let t = &ds[top];
        let mut by_dest: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for &m in &members {
            by_dest.entry(ds[m].dest.as_str()).or_default().push(m);
        }
        let split = by_dest.len() > 1;
        for (dest, ms) in by_dest {
            let mut roots: Vec<Root> = ms.iter().flat_map(|&m| ds[m].roots.clone()).collect();
            roots.sort();
            roots.dedup();
            for &m in &ms {
                for (p, recursive) in &ds[m].covers {
                    if *recursive {
                        covered.trees.push(p.clone());
                    } else {
                        covered.flat.push(p.clone());
                    }
                }
            }
            let base_name = if t.flux {
                // Every Flux cluster's bootstrap is `flux-system`: its
                // folder names the cluster.
                t.roots
                    .first()
                    .map_or(t.name.clone(), |r| shown(&r.path).to_string())
            } else {
                t.name.clone()
            };
            let name = if split {
                format!(
                    "{base_name}@{}",
                    if dest.is_empty() { "in-cluster" } else { dest }
                )
            } else {
                base_name
            };
            let others = ms.len() - usize::from(ms.contains(&top));
            let dest_note = if split {
                format!(
                    ", destination {}",
                    if dest.is_empty() { "in-cluster" } else { dest }
                )
            } else {
                String::new()
            };
            let paths: Vec<&str> = {
                let mut p: Vec<&str> = ms
                    .iter()
                    .flat_map(|&m| ds[m].covers.iter().map(|(p, _)| shown(p)))
                    .collect();
                p.sort();
                p.dedup();
                p
            };
            let why = format!(
                "{} ({}){}{}: {}",
                t.id,
                t.file,
                if others > 0 {
                    format!(
                        " and {others} {} it deploys",
                        if t.flux {
                            "Kustomization(s)"
                        } else {
                            "application(s)"
                        }
                    )
                } else {
                    String::new()
                },
                dest_note,
                paths.join(", ")
            );
            out.found.push(Found {
                key: format!("gitops:{}:{}@{dest}", t.id, t.file),
                name,
                why,
                roots,
            });
        }
    }
}

/// One cluster per kustomization that no other includes, outside the
/// GitOps clusters.
fn kustomize_clusters(
    kust: &BTreeMap<String, Kust>,
    _idx: &Index<'_>,
    covered: &mut Covered,
    out: &mut Discovery,
) {
    // Kustomizations a GitOps cluster reads, and all they include.
    let mut inside: BTreeSet<&str> = kust
        .keys()
        .filter(|k| covered.covers(&join(k, "kustomization.yaml")))
        .map(String::as_str)
        .collect();
    let mut stack: Vec<&str> = inside.iter().copied().collect();
    while let Some(k) = stack.pop() {
        for i in &kust[k].includes {
            if inside.insert(i.as_str()) {
                stack.push(i.as_str());
            }
        }
    }
    let included: BTreeSet<&str> = kust
        .values()
        .flat_map(|k| k.includes.iter().map(String::as_str))
        .collect();
    for dir in kust.keys() {
        if inside.contains(dir.as_str()) || included.contains(dir.as_str()) {
            continue;
        }
        out.found.push(Found {
            key: format!("kustomize:{dir}"),
            name: shown(dir).to_string(),
            why: format!(
                "{}: a kustomization no other kustomization includes",
                shown(dir)
            ),
            roots: vec![Root::dir(dir)],
        });
    }
    // Every kustomization's directory is read by the one that renders it.
    covered.trees.extend(kust.keys().cloned());
}

/// One cluster per chart outside the clusters found so far, or one per
/// values variant it holds.
fn chart_clusters(charts: &[Chart], _idx: &Index<'_>, covered: &mut Covered, out: &mut Discovery) {
    for c in charts {
        if covered.covers(&join(&c.dir, "Chart.yaml")) {
            continue;
        }
        if c.variants.is_empty() {
            out.found.push(Found {
                key: format!("chart:{}", c.dir),
                name: shown(&c.dir).to_string(),
                why: format!(
                    "{}: a Helm chart, rendered with its default values",
                    shown(&c.dir)
                ),
                roots: vec![Root::dir(&c.dir)],
            });
        }
        for (variant, values) in &c.variants {
            out.found.push(Found {
                key: format!("chart:{}:{values}", c.dir),
                name: format!("{}:{variant}", shown(&c.dir)),
                why: format!(
                    "{}: a Helm chart, rendered with {}",
                    shown(&c.dir),
                    file_name(values)
                ),
                roots: vec![Root {
                    path: c.dir.clone(),
                    chart: Some(ChartValues {
                        values: vec![values.clone()],
                        ..ChartValues::default()
                    }),
                }],
            });
        }
    }
    covered.trees.extend(charts.iter().map(|c| c.dir.clone()));
}

/// The plain manifests outside every cluster found.
fn rest_cluster(
    idx: &Index<'_>,
    select: &dyn Fn(&str) -> bool,
    kust: &BTreeMap<String, Kust>,
    covered: &Covered,
    out: &mut Discovery,
) {
    let read_by_kust: BTreeSet<&str> = kust
        .values()
        .flat_map(|k| k.reads.iter().map(String::as_str))
        .collect();
    let rest: Vec<&String> = idx
        .files
        .iter()
        .filter(|f| is_manifest(f) && select(f))
        .filter(|f| !covered.covers(f) && !read_by_kust.contains(f.as_str()))
        .collect();
    if rest.is_empty() {
        return;
    }
    if out.found.is_empty() {
        // Nothing else: the whole tree is one cluster, as in the directory
        // mode.
        out.found.push(Found {
            key: REST_KEY.into(),
            name: REST_NAME.into(),
            why: "the whole tree: no kustomization, chart or GitOps object found".into(),
            roots: vec![Root::dir("")],
        });
        return;
    }
    let mut dirs: Vec<&str> = rest.iter().map(|f| shown(parent(f))).collect();
    dirs.dedup();
    let shown_dirs = if dirs.len() > 4 {
        format!("{}, … ({} folders)", dirs[..3].join(", "), dirs.len())
    } else {
        dirs.join(", ")
    };
    out.found.push(Found {
        key: REST_KEY.into(),
        name: REST_NAME.into(),
        why: format!(
            "{} manifest file(s) outside every other environment: {shown_dirs}",
            rest.len()
        ),
        roots: rest.iter().map(|f| Root::dir(f)).collect(),
    });
}

#[cfg(test)]
mod tests;
