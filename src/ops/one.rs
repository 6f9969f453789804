//! One revision from paths or a commit, loaded and analysed (`reach`,
//! `lint`).

use super::{
    AnalysisSettings, InputFailure, Observer, OpsError, configure, environments, errors_of,
    git_error,
};
use crate::analysis::{self, Analyzed, Options, Phase};
use crate::review::{Side, SideError};
use crate::revision::Revision;
use crate::source::fs::{PathStyle, read_paths};
use crate::source::git::GitRepo;
use std::path::PathBuf;

/// Where one revision comes from.
#[derive(Clone, Debug)]
pub enum RevisionSource {
    /// Files or directories (`-`: stdin), named as given.
    Paths(Vec<PathBuf>),
    /// A commit's tree (nothing is checked out), narrowed to paths inside
    /// the repository or to an environment of that commit's
    /// `.reachdiff.yaml` (none of either: the whole tree).
    Commit {
        repo: PathBuf,
        rev: String,
        paths: Vec<String>,
        environment: Option<String>,
    },
}

/// One revision to read and analyse.
#[derive(Clone, Debug)]
pub struct RevisionRequest {
    /// The revision's label (`reach`, `lint`).
    pub label: String,
    pub source: RevisionSource,
    pub analysis: AnalysisSettings,
}

/// One environment of one revision: analysed, or what stopped it.
#[derive(Debug)]
pub struct OneEnvironment {
    /// None: the one cluster of a repository without environments.
    pub name: Option<String>,
    pub why: Option<String>,
    pub result: Result<Analyzed, Vec<SideError>>,
}

/// Every environment of one revision.
#[derive(Debug)]
pub struct OneOutcome {
    pub environments: Vec<OneEnvironment>,
    /// What environment discovery saw and left out.
    pub notes: Vec<String>,
}

impl OneOutcome {
    /// Whether this is one cluster without environments.
    pub fn is_single(&self) -> bool {
        matches!(self.environments.as_slice(), [e] if e.name.is_none())
    }
}

/// One environment of the revision, read (or what stopped it).
struct ReadEnvironment {
    name: Option<String>,
    why: Option<String>,
    revision: Result<Revision, Vec<SideError>>,
    /// The environment's own `cluster:` (added to the top-level one).
    cluster: Option<crate::config::ClusterConfig>,
}

/// The revision's configuration and environments, read.
struct Read {
    opts: Options,
    environments: Vec<ReadEnvironment>,
    notes: Vec<String>,
}

/// Reads the revision; with a commit, that commit's configuration joins
/// the options (its namespaces, external peers, globs and rendering) and
/// each environment (configured, discovered or chosen with `--env`) is
/// read on its own.
fn read_all(req: &RevisionRequest) -> Result<Read, OpsError> {
    let mut opts = req.analysis.options();
    match &req.source {
        RevisionSource::Paths(paths) => {
            let revision = read_paths(&req.label, paths, PathStyle::AsGiven)?;
            Ok(Read {
                opts,
                environments: vec![ReadEnvironment {
                    name: None,
                    why: None,
                    revision: Ok(revision),
                    cluster: None,
                }],
                notes: Vec::new(),
            })
        }
        RevisionSource::Commit {
            repo,
            rev,
            paths,
            environment,
        } => {
            let mut git = GitRepo::open(repo)?;
            let commit = git.resolve(rev)?;
            let cfg = git.config(&commit)?;
            configure(&mut opts, &cfg)?;
            git.apply_config(&cfg);
            let mut plan = environments::plan(&git, &cfg, &[&commit], paths)?;
            if let Some(e) = environment {
                plan.keep(std::slice::from_ref(e))?;
            }
            let mut environments = Vec::new();
            for env in plan.environments {
                let result = match (&env.problem, &env.head) {
                    (Some(p), _) => Err(vec![SideError {
                        side: Side::Head,
                        file: None,
                        line: None,
                        col: None,
                        revision: None,
                        message: p.clone(),
                    }]),
                    (None, None) => Ok(Revision::new(req.label.clone(), Vec::new())),
                    (None, Some(roots)) => {
                        let (rev, errors) =
                            git.read_roots(&req.label, &commit, &roots.paths, &roots.charts);
                        if errors.is_empty() {
                            Ok(rev)
                        } else {
                            Err(errors.iter().map(|e| git_error(Side::Head, e)).collect())
                        }
                    }
                };
                environments.push(ReadEnvironment {
                    name: env.name,
                    why: env.why,
                    revision: result,
                    cluster: env.cluster,
                });
            }
            Ok(Read {
                opts,
                environments,
                notes: plan.notes,
            })
        }
    }
}

/// Reads and analyses every environment of the revision. An environment
/// that fails does not stop the others; the result is an error only when
/// none could be analysed, or when the one cluster of a repository
/// without environments failed.
pub fn analyze_all(req: &RevisionRequest, observe: Observer<'_>) -> Result<OneOutcome, OpsError> {
    let read = read_all(req)?;
    observe(Phase::Read);
    let mut environments = Vec::new();
    for ReadEnvironment {
        name,
        why,
        revision,
        cluster,
    } in read.environments
    {
        let mut opts = read.opts.clone();
        if let (Some(c), Some(spec)) = (&cluster, &mut opts.open_world) {
            c.add_to(spec)?;
        }
        let result = revision.and_then(|r| {
            analysis::analyze_observed(&r, &opts, observe).map_err(|f| errors_of(Side::Head, &f))
        });
        environments.push(OneEnvironment { name, why, result });
    }
    let single = matches!(environments.as_slice(), [e] if e.name.is_none());
    let none = environments.iter().all(|e| e.result.is_err());
    let any = environments.iter().any(|e| e.result.is_err());
    if (single && any) || (none && !environments.is_empty()) {
        let mut f = InputFailure::default();
        for e in &environments {
            if let Err(errors) = &e.result {
                f.add(e.name.as_deref(), None, errors);
            }
        }
        return Err(OpsError::Input(f));
    }
    Ok(OneOutcome {
        environments,
        notes: read.notes,
    })
}

/// Reads and analyses the revision as one cluster (`lint`): a repository
/// with several environments needs one chosen. The analysis keeps its
/// diagnostics for the caller to show.
pub fn analyze(req: &RevisionRequest, observe: Observer<'_>) -> Result<Analyzed, OpsError> {
    let mut out = analyze_all(req, observe)?;
    if out.environments.len() != 1 {
        let names: Vec<String> = out
            .environments
            .iter()
            .filter_map(|e| e.name.clone())
            .collect();
        return Err(OpsError::Usage(format!(
            "this repository has {} environments ({}), each its own cluster: choose one with --env NAME",
            names.len(),
            names.join(", ")
        )));
    }
    match out.environments.pop().map(|e| e.result) {
        Some(Ok(a)) => Ok(a),
        Some(Err(errors)) => {
            let mut f = InputFailure::default();
            f.add(None, None, &errors);
            Err(OpsError::Input(f))
        }
        None => Err(OpsError::Usage("no environment to analyse".into())),
    }
}
