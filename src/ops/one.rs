//! One revision from paths or a commit, loaded and analysed (`reach`,
//! `lint`).

use super::{AnalysisSettings, InputFailure, Observer, OpsError, configure};
use crate::analysis::{self, Analyzed, Options, Phase};
use crate::config::{Config, FILE_NAME};
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

/// Reads the revision; with a commit, that commit's configuration joins
/// the options (its namespaces, external peers, globs and rendering).
pub fn read(req: &RevisionRequest) -> Result<(Revision, Options), OpsError> {
    let mut opts = req.analysis.options();
    let revision = match &req.source {
        RevisionSource::Paths(paths) => read_paths(&req.label, paths, PathStyle::AsGiven)?,
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
            let roots = roots(&cfg, paths, environment.as_deref())?;
            git.apply_config(&cfg);
            git.revision(&req.label, &commit, &roots, false)?
        }
    };
    Ok((revision, opts))
}

/// The paths to read: those given, or an environment's roots; a
/// configuration with environments needs one chosen.
fn roots(
    cfg: &Config,
    paths: &[String],
    environment: Option<&str>,
) -> Result<Vec<String>, OpsError> {
    let names = || -> Vec<&str> { cfg.environments.iter().map(|e| e.name.as_str()).collect() };
    match environment {
        Some(name) => match cfg.environments.iter().find(|e| e.name == name) {
            Some(e) => Ok(e.roots.clone()),
            None => Err(OpsError::Usage(format!(
                "no environment {name:?} in {FILE_NAME} (environments: {})",
                if cfg.environments.is_empty() {
                    "none".to_string()
                } else {
                    names().join(", ")
                }
            ))),
        },
        None if paths.is_empty() && !cfg.environments.is_empty() => Err(OpsError::Usage(format!(
            "{FILE_NAME} defines environments ({}); each is its own cluster: choose one with --env NAME",
            names().join(", ")
        ))),
        None => Ok(paths.to_vec()),
    }
}

/// Reads and analyses the revision. The analysis keeps its diagnostics
/// for the caller to show.
pub fn analyze(req: &RevisionRequest, observe: Observer<'_>) -> Result<Analyzed, OpsError> {
    let (revision, opts) = read(req)?;
    observe(Phase::Read);
    analysis::analyze_observed(&revision, &opts, observe)
        .map_err(|f| OpsError::Input(InputFailure::new(None, None, f)))
}
