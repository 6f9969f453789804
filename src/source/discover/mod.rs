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

mod gitops;

#[cfg(test)]
use crate::config::glob_match;
use crate::manifest::yaml;
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
    let deployers = gitops::deployers(snap, &idx, select, &charts, &mut out.notes);
    let mut covered = Covered::default();
    gitops::clusters(&deployers, &mut covered, &mut out);
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
    /// `kind: Component`: kustomize renders it only as part of a
    /// kustomization that lists it (`kubectl kustomize` refuses it alone).
    component: bool,
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
            .filter(|t| yaml::guard(t, &yaml::Limits::default()).is_ok())
            .and_then(|t| serde_yaml::from_str::<Value>(&t).ok())
        {
            k.component = v.get("kind").and_then(Value::as_str) == Some("Component");
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
        if kust[dir].component {
            out.notes.push(format!(
                "{}: a kustomize Component that no kustomization lists; it renders only as part of one",
                shown(dir)
            ));
            continue;
        }
        out.found.push(Found {
            key: format!("kustomize:{dir}"),
            name: shown(dir).to_string(),
            why: "a kustomization that no other kustomization includes".into(),
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
                why: "a Helm chart, rendered with its default values".into(),
                roots: vec![Root::dir(&c.dir)],
            });
        }
        for (variant, values) in &c.variants {
            out.found.push(Found {
                key: format!("chart:{}:{values}", c.dir),
                name: format!("{}:{variant}", shown(&c.dir)),
                why: format!("a Helm chart, rendered with {}", file_name(values)),
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
