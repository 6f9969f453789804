//! A change between two revisions, reviewed: folders, or two commits of a
//! repository (merge-base or exact base; environments of the
//! configuration), gates, links; one [`Review`] per environment.
//!
//! SECURITY: configuration and rules files come from the tip of the base
//! as given (`--base REV`; the event's `base.sha` in the Action and the
//! App), never from the head and never from the merge-base, whose age the
//! author of a pull request chooses by branching from an old commit. The
//! comparison itself still starts from the merge-base.

use super::{AnalysisSettings, InputFailure, Observer, OpsError, configure};
use crate::analysis::{Options, Phase};
use crate::comparison;
use crate::config::{Config, FILE_NAME, ReportConfig};
use crate::review::gate::{FailOn, RulesFile, parse_rules};
use crate::review::{GateSettings, Review};
use crate::revision::Revision;
use crate::source::fs::{PathStyle, read_paths};
use crate::source::git::{Commit, GitRepo};
use std::path::PathBuf;

/// Two commits of a repository.
#[derive(Clone, Debug)]
pub struct CommitRange {
    /// The repository (work tree or bare; nothing is checked out).
    pub repo: PathBuf,
    /// The base revision (anything git understands).
    pub base: String,
    pub head: String,
    /// Compare `base` itself, not the merge-base of `base` and `head`.
    pub base_exact: bool,
    /// Paths inside the repository (none: the whole tree, or each
    /// environment of the configuration).
    pub paths: Vec<String>,
    /// The commit configuration and rules files are read from (none:
    /// `base` as given, the tip of the base branch).
    pub config_rev: Option<String>,
}

/// Where the two revisions come from.
#[derive(Clone, Debug)]
pub enum DiffSource {
    /// Two files or directories; paths are named relative to each.
    Folders {
        base: PathBuf,
        head: PathBuf,
    },
    Commits(CommitRange),
}

/// A rules file of gates.
#[derive(Clone, Debug)]
pub enum RulesRef {
    /// On disk (`--rules FILE`).
    File(PathBuf),
    /// A path inside the repository, read from the configuration's commit
    /// (the Action's `config` input).
    InRepository(String),
}

/// The gates to evaluate, besides the configuration's own.
#[derive(Clone, Debug, Default)]
pub struct GateRequest {
    pub fail_on: Vec<FailOn>,
    pub strict: bool,
    pub rules: Option<RulesRef>,
}

/// URL prefixes for links to files (`…/blob/<sha>`).
#[derive(Clone, Debug, Default)]
pub struct LinkRequest {
    pub base_url: Option<String>,
    pub head_url: Option<String>,
    /// `{sha}` becomes each side's commit id; used where a URL is not
    /// given, before the configuration's `report.link-template`.
    pub template: Option<String>,
}

/// Everything a diff needs; no front end's types.
#[derive(Clone, Debug)]
pub struct DiffRequest {
    pub source: DiffSource,
    /// Only these environments of the configuration (none: all).
    pub environments: Vec<String>,
    pub gates: GateRequest,
    pub links: LinkRequest,
    pub analysis: AnalysisSettings,
}

/// The commit configuration was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigOrigin {
    /// `main (1a2b3c4d5e6f)`.
    pub commit: String,
    /// Whether that commit has a `.reachdiff.yaml` (else the defaults).
    pub found: bool,
}

impl ConfigOrigin {
    /// For reports: "`.reachdiff.yaml` of main (1a2b3c4d5e6f)".
    pub fn describe(&self) -> String {
        if self.found {
            format!("{FILE_NAME} of {}", self.commit)
        } else {
            format!("defaults (no {FILE_NAME} in {})", self.commit)
        }
    }
}

/// A reviewed change.
#[derive(Debug)]
pub struct DiffOutcome {
    /// One per environment (one without a name when there are none).
    pub reviews: Vec<Review>,
    /// The sides as a reader knows them (`main (1a2b…)`, a folder).
    pub base_label: String,
    pub head_label: String,
    pub base_url: Option<String>,
    pub head_url: Option<String>,
    /// The configuration's `report:` settings (defaults for folders).
    pub report: ReportConfig,
    /// Where configuration came from (none for folders).
    pub config: Option<ConfigOrigin>,
    /// (src, dst) pairs evaluated, for `--timings`.
    pub pairs_evaluated: usize,
}

/// One cluster to compare.
struct Job {
    environment: Option<String>,
    base: Revision,
    head: Revision,
    /// The environment's own `cluster:` (added to the top-level one).
    cluster: Option<crate::config::ClusterConfig>,
}

/// What reading produced: the clusters and everything the configuration
/// decided.
struct Prepared {
    jobs: Vec<Job>,
    opts: Options,
    gates: GateSettings,
    outcome: DiffOutcome,
}

/// Reads both revisions, compares each cluster and evaluates the gates.
pub fn run(req: &DiffRequest, observe: Observer<'_>) -> Result<DiffOutcome, OpsError> {
    // A rules file on disk is read first, as the command line names it.
    let file_rules = match &req.gates.rules {
        Some(RulesRef::File(p)) => Some(rules_file(p)?),
        _ => None,
    };
    let Prepared {
        jobs,
        opts,
        gates,
        mut outcome,
    } = match &req.source {
        DiffSource::Folders { base, head } => folders(req, file_rules, base, head)?,
        DiffSource::Commits(range) => commits(req, file_rules, range)?,
    };
    observe(Phase::Read);
    for job in jobs {
        let mut opts = opts.clone();
        if let (Some(c), Some(spec)) = (&job.cluster, &mut opts.open_world) {
            c.add_to(spec)?;
        }
        let cmp =
            comparison::compare_observed(&job.base, &job.head, &opts, observe).map_err(|f| {
                OpsError::Input(InputFailure::new(
                    job.environment.clone(),
                    Some(f.side),
                    f.failed,
                ))
            })?;
        outcome.pairs_evaluated += cmp.diff.stats.pairs_evaluated;
        outcome
            .reviews
            .push(Review::new(job.environment, cmp, &gates));
    }
    Ok(outcome)
}

fn folders(
    req: &DiffRequest,
    rules: Option<RulesFile>,
    base: &PathBuf,
    head: &PathBuf,
) -> Result<Prepared, OpsError> {
    if let Some(RulesRef::InRepository(_)) = &req.gates.rules {
        return Err(OpsError::Usage(
            "a rules file inside a repository needs a repository".into(),
        ));
    }
    let b = read_paths(
        "base",
        std::slice::from_ref(base),
        PathStyle::RelativeToRoot,
    )?;
    let h = read_paths(
        "head",
        std::slice::from_ref(head),
        PathStyle::RelativeToRoot,
    )?;
    Ok(Prepared {
        jobs: vec![Job {
            environment: None,
            base: b,
            head: h,
            cluster: None,
        }],
        opts: req.analysis.options(),
        gates: GateSettings {
            fail_on: req.gates.fail_on.clone(),
            strict: req.gates.strict,
            rules,
        },
        outcome: DiffOutcome {
            reviews: Vec::new(),
            base_label: base.display().to_string(),
            head_label: head.display().to_string(),
            base_url: req.links.base_url.clone(),
            head_url: req.links.head_url.clone(),
            report: ReportConfig::default(),
            config: None,
            pairs_evaluated: 0,
        },
    })
}

fn rules_file(p: &PathBuf) -> Result<RulesFile, OpsError> {
    let text = std::fs::read_to_string(p).map_err(|e| OpsError::Read {
        path: p.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(parse_rules(&p.display().to_string(), &text)?)
}

fn commits(
    req: &DiffRequest,
    file_rules: Option<RulesFile>,
    range: &CommitRange,
) -> Result<Prepared, OpsError> {
    let mut git = GitRepo::open(&range.repo)?;
    let (b, h) = git.diff_commits(&range.base, &range.head, range.base_exact)?;
    let config_commit = git.resolve(range.config_rev.as_deref().unwrap_or(&range.base))?;
    let found = git.read_file(&config_commit, FILE_NAME)?.is_some();
    let cfg = git.config(&config_commit)?;
    let mut opts = req.analysis.options();
    configure(&mut opts, &cfg)?;
    let gates = gates(req, file_rules, &cfg, &git, &config_commit)?;
    let (base_url, head_url) = links(&req.links, &cfg, &b, &h);
    git.apply_config(&cfg);
    let jobs = clusters(req, range, &cfg, &git, &b, &h)?;
    Ok(Prepared {
        jobs,
        opts,
        gates,
        outcome: DiffOutcome {
            reviews: Vec::new(),
            base_label: b.describe(),
            head_label: h.describe(),
            base_url,
            head_url,
            report: cfg.report.clone(),
            config: Some(ConfigOrigin {
                commit: config_commit.describe(),
                found,
            }),
            pairs_evaluated: 0,
        },
    })
}

/// The request's gates joined with the configuration's (`strict`, and its
/// `gates:` before those of a rules file).
fn gates(
    req: &DiffRequest,
    file_rules: Option<RulesFile>,
    cfg: &Config,
    git: &GitRepo,
    config_commit: &Commit,
) -> Result<GateSettings, OpsError> {
    let file = match &req.gates.rules {
        None => None,
        Some(RulesRef::File(_)) => file_rules,
        Some(RulesRef::InRepository(path)) => {
            let text = git.read_file(config_commit, path)?.ok_or_else(|| {
                OpsError::Usage(format!(
                    "input config: {path} is not a file of the base commit"
                ))
            })?;
            Some(parse_rules(path, &text)?)
        }
    };
    let rules = match (cfg.rules(), file) {
        (Some(mut c), Some(f)) => {
            c.gates.extend(f.gates);
            Some(c)
        }
        (c, f) => c.or(f),
    };
    Ok(GateSettings {
        fail_on: req.gates.fail_on.clone(),
        strict: req.gates.strict || cfg.strict,
        rules,
    })
}

/// Link prefixes: given URLs, else the request's template, else the
/// configuration's, with each side's commit id.
fn links(
    req: &LinkRequest,
    cfg: &Config,
    b: &Commit,
    h: &Commit,
) -> (Option<String>, Option<String>) {
    let template = req.template.as_ref().or(cfg.report.link_template.as_ref());
    let fill = |c: &Commit| template.map(|t| t.replace("{sha}", &c.oid.to_string()));
    (
        req.base_url.clone().or_else(|| fill(b)),
        req.head_url.clone().or_else(|| fill(h)),
    )
}

/// The clusters to compare: the paths given (or the whole tree) as one,
/// or each chosen environment of the configuration.
fn clusters(
    req: &DiffRequest,
    range: &CommitRange,
    cfg: &Config,
    git: &GitRepo,
    b: &Commit,
    h: &Commit,
) -> Result<Vec<Job>, OpsError> {
    let wanted = &req.environments;
    if !wanted.is_empty() && cfg.environments.is_empty() {
        return Err(OpsError::Usage(format!(
            "--env: {FILE_NAME} at the base defines no environments"
        )));
    }
    if !range.paths.is_empty() || cfg.environments.is_empty() {
        let (base, head) = git.revision_pair(b, h, &range.paths)?;
        return Ok(vec![Job {
            environment: None,
            base,
            head,
            cluster: None,
        }]);
    }
    if let Some(unknown) = wanted
        .iter()
        .find(|n| !cfg.environments.iter().any(|e| &e.name == *n))
    {
        let names: Vec<&str> = cfg.environments.iter().map(|e| e.name.as_str()).collect();
        return Err(OpsError::Usage(format!(
            "no environment {unknown:?} in {FILE_NAME} (environments: {})",
            names.join(", ")
        )));
    }
    let mut jobs = Vec::new();
    for env in cfg
        .environments
        .iter()
        .filter(|e| wanted.is_empty() || wanted.contains(&e.name))
    {
        let (base, head) = git.revision_pair(b, h, &env.roots)?;
        jobs.push(Job {
            environment: Some(env.name.clone()),
            base,
            head,
            cluster: env.cluster.clone(),
        });
    }
    Ok(jobs)
}

impl DiffOutcome {
    /// The report's presentation: labels, links, the configured Markdown
    /// budget, where configuration came from; no colours. Front ends
    /// change what is theirs (colours, a hint, a smaller budget).
    pub fn presentation(&self) -> crate::report::Presentation {
        crate::report::Presentation {
            base_label: self.base_label.clone(),
            head_label: self.head_label.clone(),
            base_url: self.base_url.clone(),
            head_url: self.head_url.clone(),
            budget: self
                .report
                .budget
                .unwrap_or(crate::report::markdown::DEFAULT_BUDGET),
            full_report_hint: None,
            style: crate::report::style::Style::default(),
            config: self.config.as_ref().map(ConfigOrigin::describe),
        }
    }
}
