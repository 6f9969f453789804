//! The clusters a repository is analysed as: the environments of
//! `.reachdiff.yaml`, or those discovered in the tree
//! ([`crate::source::discover`]), each with the roots it reads on each
//! side of a change.
//!
//! Discovery runs on both sides and the union is analysed: an environment
//! found on one side only is empty on the other (a pull request that adds
//! an overlay opens everything in it). A configured root or glob that
//! matches nothing on either side makes its environment fail; it is never
//! analysed as an empty cluster.

use super::OpsError;
use crate::config::{Config, FILE_NAME, glob_match};
use crate::source::discover::{self, Discovery, REST_KEY, Snapshot};
use crate::source::git::{Commit, GitRepo, normalize};
use crate::source::render::ChartOptions;
use std::collections::{BTreeMap, HashMap};

/// The roots one side of an environment reads.
#[derive(Clone, Debug, Default)]
pub struct SideRoots {
    /// Repository paths (empty string: the whole tree).
    pub paths: Vec<String>,
    /// Options of charts this environment renders its own way (values
    /// per environment), by chart directory.
    pub charts: HashMap<String, ChartOptions>,
}

/// One environment to analyse.
#[derive(Clone, Debug)]
pub struct Planned {
    /// None: the one cluster of a repository without environments.
    pub name: Option<String>,
    /// Why it is an environment.
    pub why: Option<String>,
    /// The roots on each side; `None`: it does not exist on that side
    /// (empty there).
    pub base: Option<SideRoots>,
    pub head: Option<SideRoots>,
    /// Why it cannot be analysed at all (a configured root that matches
    /// nothing on either side).
    pub problem: Option<String>,
    /// The environment's own `cluster:` (configured environments).
    pub cluster: Option<crate::config::ClusterConfig>,
}

/// The environments of a change or of one revision.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub environments: Vec<Planned>,
    /// What discovery saw and left out, one line each.
    pub notes: Vec<String>,
    /// Whether the environments were discovered (not configured).
    pub discovered: bool,
}

impl Plan {
    /// Whether this is one cluster without a name (no environments).
    pub fn is_single(&self) -> bool {
        matches!(self.environments.as_slice(), [e] if e.name.is_none())
    }

    pub fn names(&self) -> Vec<&str> {
        self.environments
            .iter()
            .filter_map(|e| e.name.as_deref())
            .collect()
    }

    /// Keeps only the environments `wanted` names (none: all).
    pub fn keep(&mut self, wanted: &[String]) -> Result<(), OpsError> {
        if wanted.is_empty() {
            return Ok(());
        }
        if self.is_single() {
            return Err(OpsError::Usage(format!(
                "--env: this repository has no environments ({FILE_NAME} names none and none were discovered)"
            )));
        }
        if let Some(unknown) = wanted
            .iter()
            .find(|w| !self.environments.iter().any(|e| e.name.as_ref() == Some(w)))
        {
            return Err(OpsError::Usage(format!(
                "no environment {unknown:?} (environments: {})",
                self.names().join(", ")
            )));
        }
        self.environments
            .retain(|e| e.name.as_ref().is_some_and(|n| wanted.contains(n)));
        Ok(())
    }
}

/// The environments of `commits` (one for `reach`, base and head for a
/// diff): the paths given as one cluster, else the configured
/// environments, else those discovered.
pub fn plan(
    git: &GitRepo,
    cfg: &Config,
    commits: &[&Commit],
    paths: &[String],
) -> Result<Plan, OpsError> {
    if !paths.is_empty() {
        return given_paths(git, commits, paths);
    }
    if !cfg.environments.is_empty() {
        return configured(git, cfg, commits);
    }
    discovered(git, cfg, commits)
}

/// Paths given on the command line: one cluster; a path neither side has
/// is an error of the request.
fn given_paths(git: &GitRepo, commits: &[&Commit], paths: &[String]) -> Result<Plan, OpsError> {
    for p in paths {
        let p = normalize(p)?;
        let mut found = false;
        for c in commits {
            found |= git.exists(c, &p)?;
        }
        if !found {
            let revs: Vec<String> = commits.iter().map(|c| c.describe()).collect();
            return Err(crate::source::git::GitError::MissingPath {
                rev: revs.join(" and "),
                path: p,
            }
            .into());
        }
    }
    let roots = SideRoots {
        paths: paths.to_vec(),
        charts: HashMap::new(),
    };
    Ok(Plan {
        environments: vec![Planned {
            name: None,
            why: None,
            base: Some(roots.clone()),
            head: Some(roots),
            problem: None,
            cluster: None,
        }],
        ..Plan::default()
    })
}

/// Whether a configured root is a glob.
fn is_glob(root: &str) -> bool {
    root.contains(['*', '?'])
}

/// The configured environments; globs in roots are matched against each
/// side's files and directories.
fn configured(git: &GitRepo, cfg: &Config, commits: &[&Commit]) -> Result<Plan, OpsError> {
    let snaps: Vec<Option<crate::source::git::GitSnapshot<'_>>> = if cfg
        .environments
        .iter()
        .flat_map(|e| &e.roots)
        .any(|r| is_glob(r))
    {
        commits
            .iter()
            .map(|c| git.snapshot(c).map(Some))
            .collect::<Result<_, _>>()?
    } else {
        commits.iter().map(|_| None).collect()
    };
    let mut environments = Vec::new();
    for env in &cfg.environments {
        let mut sides: Vec<Vec<String>> = vec![Vec::new(); commits.len()];
        let mut unmatched = Vec::new();
        for root in &env.roots {
            let mut any = false;
            for (i, c) in commits.iter().enumerate() {
                let matched = match &snaps[i] {
                    Some(s) if is_glob(root) => expand_glob(s, root),
                    _ => {
                        let p = normalize(root)?;
                        if git.exists(c, &p)? {
                            vec![p]
                        } else {
                            Vec::new()
                        }
                    }
                };
                any |= !matched.is_empty();
                sides[i].extend(matched);
            }
            if !any {
                unmatched.push(root.as_str());
            }
        }
        let problem = (!unmatched.is_empty()).then(|| {
            let revs: Vec<String> = commits.iter().map(|c| c.describe()).collect();
            format!(
                "{FILE_NAME}: environment {:?}: {} {} nothing in {}",
                env.name,
                unmatched
                    .iter()
                    .map(|r| format!("root {r:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if unmatched.len() == 1 {
                    "matches"
                } else {
                    "match"
                },
                revs.join(" or ")
            )
        });
        let side = |i: usize| {
            Some(SideRoots {
                paths: sides.get(i).cloned().unwrap_or_default(),
                charts: HashMap::new(),
            })
        };
        let (base, head) = if commits.len() == 2 {
            (side(0), side(1))
        } else {
            (None, side(0))
        };
        environments.push(Planned {
            name: Some(env.name.clone()),
            why: Some(format!(
                "configured in {FILE_NAME}: {}",
                env.roots.join(", ")
            )),
            base,
            head,
            problem,
            cluster: env.cluster.clone(),
        });
    }
    Ok(Plan {
        environments,
        notes: Vec::new(),
        discovered: false,
    })
}

/// The files and directories of a snapshot a glob matches (directories
/// that hold a match are not repeated below it).
fn expand_glob(s: &dyn Snapshot, glob: &str) -> Vec<String> {
    let mut dirs: Vec<String> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for f in s.files() {
        let mut at = f.as_str();
        while let Some((d, _)) = at.rsplit_once('/') {
            dirs.push(d.to_string());
            at = d;
        }
    }
    dirs.sort();
    dirs.dedup();
    let glob = glob.trim_start_matches("./").trim_end_matches('/');
    for d in &dirs {
        if glob_match(glob, d) && !out.iter().any(|o| d.starts_with(&format!("{o}/"))) {
            out.push(d.clone());
        }
    }
    for f in s.files() {
        if glob_match(glob, f) && !out.iter().any(|o| f.starts_with(&format!("{o}/"))) {
            out.push(f.clone());
        }
    }
    out.sort();
    out
}

/// The environments discovered on each commit, united by identity.
fn discovered(git: &GitRepo, cfg: &Config, commits: &[&Commit]) -> Result<Plan, OpsError> {
    let select = |p: &str| cfg.selects(p);
    let mut found: Vec<Discovery> = Vec::new();
    for c in commits {
        let snap = git.snapshot(c)?;
        found.push(discover::discover(&snap, &select));
    }
    // Only plain manifests everywhere: the whole tree is the one cluster,
    // as in the directory mode.
    if found.iter().all(|d| {
        d.found
            .iter()
            .all(|f| f.key == REST_KEY && f.roots.len() == 1 && f.roots[0].path.is_empty())
    }) {
        let whole = SideRoots {
            paths: vec![String::new()],
            charts: HashMap::new(),
        };
        let notes = found.into_iter().flat_map(|d| d.notes).collect();
        return Ok(Plan {
            environments: vec![Planned {
                name: None,
                why: None,
                base: Some(whole.clone()),
                head: Some(whole),
                problem: None,
                cluster: None,
            }],
            notes: dedup(notes),
            discovered: true,
        });
    }
    // Union by key, in the order of the last side (the head) then the
    // rest of the first.
    let mut order: Vec<String> = Vec::new();
    let mut by_key: BTreeMap<String, Vec<Option<&discover::Found>>> = BTreeMap::new();
    for (i, d) in found.iter().enumerate().rev() {
        for f in &d.found {
            let slot = by_key.entry(f.key.clone()).or_insert_with(|| {
                order.push(f.key.clone());
                vec![None; found.len()]
            });
            slot[i] = Some(f);
        }
    }
    // Discovery sorts by name with the rest last; keep that across sides.
    let name_of = |k: &String| {
        let f = by_key[k].iter().rev().flatten().next();
        (k == REST_KEY, f.map(|f| f.name.clone()).unwrap_or_default())
    };
    order.sort_by_key(name_of);
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    let mut environments = Vec::new();
    for key in &order {
        let sides = &by_key[key];
        let Some(latest) = sides.iter().rev().flatten().next() else {
            continue;
        };
        let n = used.entry(latest.name.clone()).or_default();
        *n += 1;
        let name = if *n == 1 {
            latest.name.clone()
        } else {
            format!("{}#{n}", latest.name)
        };
        let roots = |f: &Option<&discover::Found>| f.map(|f| side_roots(cfg, f));
        let (base, head) = if sides.len() == 2 {
            (roots(&sides[0]), roots(&sides[1]))
        } else {
            (None, roots(&sides[0]))
        };
        environments.push(Planned {
            name: Some(name),
            why: Some(latest.why.clone()),
            base,
            head,
            problem: None,
            cluster: None,
        });
    }
    let notes = found.into_iter().flat_map(|d| d.notes).collect();
    Ok(Plan {
        environments,
        notes: dedup(notes),
        discovered: true,
    })
}

fn dedup(mut notes: Vec<String>) -> Vec<String> {
    notes.sort();
    notes.dedup();
    notes
}

/// A discovered cluster's roots on one side; chart options from the
/// deploying object, unless configuration names the chart.
fn side_roots(cfg: &Config, f: &discover::Found) -> SideRoots {
    let configured: Vec<String> = cfg
        .render
        .charts
        .iter()
        .filter_map(|c| normalize(&c.path).ok())
        .collect();
    let mut charts = HashMap::new();
    for r in &f.roots {
        if let Some(c) = &r.chart
            && !configured.contains(&r.path)
        {
            let release = c.release.clone().unwrap_or_else(|| {
                r.path
                    .rsplit('/')
                    .next()
                    .filter(|n| !n.is_empty())
                    .unwrap_or("release")
                    .to_string()
            });
            charts.insert(
                r.path.clone(),
                ChartOptions {
                    release,
                    namespace: c.namespace.clone(),
                    values: c.values.clone(),
                },
            );
        }
    }
    let mut paths: Vec<String> = f.roots.iter().map(|r| r.path.clone()).collect();
    paths.dedup();
    SideRoots { paths, charts }
}

/// The environments `reachdiff envs` lists: of one revision, or of a
/// change (merge-base, or `base` itself when `exact`, and `head`), with
/// configuration from `config_rev` (the tip of the base) as `diff` reads
/// it.
pub struct ListRequest {
    pub repo: std::path::PathBuf,
    pub head: String,
    pub base: Option<String>,
    pub base_exact: bool,
}

/// The plan of a revision or change, and the commits it was made from
/// (described).
pub fn list(req: &ListRequest) -> Result<(Plan, Vec<String>), OpsError> {
    let mut git = GitRepo::open(&req.repo)?;
    let (commits, config_commit) = match &req.base {
        Some(base) => {
            let (b, h) = git.diff_commits(base, &req.head, req.base_exact)?;
            let tip = git.resolve(base)?;
            (vec![b, h], tip)
        }
        None => {
            let h = git.resolve(&req.head)?;
            (vec![h.clone()], h)
        }
    };
    let cfg = git.config(&config_commit)?;
    git.apply_config(&cfg);
    let refs: Vec<&Commit> = commits.iter().collect();
    let plan = plan(&git, &cfg, &refs, &[])?;
    Ok((plan, commits.iter().map(Commit::describe).collect()))
}
