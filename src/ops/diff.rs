//! A change between two revisions, reviewed: folders, or two commits of a
//! repository (merge-base or exact base; environments of the
//! configuration), gates, links; one [`Review`] per environment.
//!
//! SECURITY: configuration and rules files come from the tip of the base
//! as given (`--base REV`; the event's `base.sha` in the Action and the
//! App), never from the head and never from the merge-base, whose age the
//! author of a pull request chooses by branching from an old commit. The
//! comparison itself still starts from the merge-base.

use super::environments::{self, Plan, Planned, SideRoots};
use super::{AnalysisSettings, InputFailure, Observer, OpsError, configure, errors_of, git_error};
use crate::analysis::{Options, Phase};
use crate::comparison;
use crate::config::{Config, FILE_NAME, ReportConfig};
use crate::review::gate::{FailOn, RulesFile, parse_rules};
use crate::review::{EnvironmentReview, GateSettings, Review, Side, SideError, Status};
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
    /// One per environment (one without a name when there are none), in
    /// the order of the configuration or of discovery.
    pub environments: Vec<EnvironmentReview>,
    /// What environment discovery saw and left out, one line each.
    pub notes: Vec<String>,
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

/// One cluster to compare: each side's revision, or the errors that
/// stopped reading it.
struct Job {
    name: Option<String>,
    why: Option<String>,
    base: Result<Revision, Vec<SideError>>,
    head: Result<Revision, Vec<SideError>>,
    /// The environment's own `cluster:` (added to the top-level one).
    cluster: Option<crate::config::ClusterConfig>,
    /// The base's roots read at the configuration commit, when that is not
    /// the compared base (a merge-base): its acknowledgement annotations
    /// are the ones that count. A tip that cannot be read counts none.
    tip: Option<Option<Revision>>,
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
///
/// An environment that cannot be read, rendered or loaded on a side does
/// not stop the others: its review says what failed (see
/// [`EnvironmentReview`] and the contract's outcome table). The result is
/// an error only when nothing could be analysed: one cluster without
/// environments that failed, or every environment failed on both sides.
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
        if let Some(tip) = &job.tip {
            let at_tip = tip
                .as_ref()
                .map(|t| comparison::annotations_at(t, &opts.load));
            opts.tip_annotations = Some(at_tip.unwrap_or_default());
        }
        let env = review_job(job, &opts, &gates, observe);
        if let Some(r) = &env.review {
            outcome.pairs_evaluated += r.comparison.diff.stats.pairs_evaluated;
        }
        outcome.environments.push(env);
    }
    let single = matches!(outcome.environments.as_slice(), [e] if e.name.is_none());
    let nothing = outcome
        .environments
        .iter()
        .all(|e| e.status == Status::Failed);
    let any_failed = outcome.environments.iter().any(|e| e.status != Status::Ok);
    if (single && any_failed) || (nothing && !outcome.environments.is_empty()) {
        let mut f = InputFailure::default();
        for e in &outcome.environments {
            for side in [Side::Base, Side::Head] {
                let errors: Vec<SideError> = e
                    .errors
                    .iter()
                    .filter(|x| x.side == side)
                    .cloned()
                    .collect();
                f.add(e.name.as_deref(), Some(side), &errors);
            }
        }
        return Err(OpsError::Input(f));
    }
    Ok(outcome)
}

/// The empty cluster a side that does not exist (or failed) stands for.
fn empty(label: &str) -> Revision {
    Revision::new(label, Vec::new())
}

/// Compares one cluster as far as its sides allow (the contract's outcome
/// table).
fn review_job(
    job: Job,
    opts: &Options,
    gates: &GateSettings,
    observe: Observer<'_>,
) -> EnvironmentReview {
    let (status, errors, cmp) = compare_sides(job.base, job.head, opts, observe);
    EnvironmentReview {
        review: cmp.map(|c| Review::new(job.name.clone(), c, gates)),
        name: job.name,
        why: job.why,
        status,
        errors,
    }
}

/// Both sides analysed; or a failed base replaced by an empty one (every
/// head row then counts as opened); or a failed head, reported with every
/// error of both sides.
fn compare_sides(
    base: Result<Revision, Vec<SideError>>,
    head: Result<Revision, Vec<SideError>>,
    opts: &Options,
    observe: Observer<'_>,
) -> (Status, Vec<SideError>, Option<comparison::Comparison>) {
    let failed = |mut base_errors: Vec<SideError>, head_errors: Vec<SideError>| {
        let status = if base_errors.is_empty() {
            Status::HeadFailed
        } else {
            Status::Failed
        };
        base_errors.extend(head_errors);
        (status, base_errors, None)
    };
    let h = match head {
        Ok(h) => h,
        Err(head_errors) => {
            let base_errors = match base {
                // The base's own errors, reported too.
                Ok(b) => match comparison::compare(&b, &empty("head"), opts) {
                    Ok(_) => Vec::new(),
                    Err(f) => f
                        .base
                        .map(|x| errors_of(Side::Base, &x))
                        .unwrap_or_default(),
                },
                Err(e) => e,
            };
            return failed(base_errors, head_errors);
        }
    };
    let base_errors = match base {
        Ok(b) => match comparison::compare_observed(&b, &h, opts, observe) {
            Ok(cmp) => return (Status::Ok, Vec::new(), Some(cmp)),
            Err(f) => {
                let be = f
                    .base
                    .map(|x| errors_of(Side::Base, &x))
                    .unwrap_or_default();
                if let Some(hf) = f.head {
                    return failed(be, errors_of(Side::Head, &hf));
                }
                be
            }
        },
        Err(e) => e,
    };
    match comparison::compare_observed(&empty("base"), &h, opts, observe) {
        Ok(cmp) => (Status::BaseFailed, base_errors, Some(cmp)),
        Err(f) => {
            let he = f
                .head
                .map(|x| errors_of(Side::Head, &x))
                .unwrap_or_default();
            failed(base_errors, he)
        }
    }
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
            name: None,
            why: None,
            base: Ok(b),
            head: Ok(h),
            cluster: None,
            tip: None,
        }],
        opts: req.analysis.options(),
        gates: GateSettings {
            fail_on: req.gates.fail_on.clone(),
            strict: req.gates.strict,
            rules,
        },
        outcome: DiffOutcome {
            environments: Vec::new(),
            notes: Vec::new(),
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
    // What the head's configuration would acknowledge besides: listed as
    // proposed, never applied (a head whose configuration does not parse
    // proposes nothing; the base's is what judges it).
    if let Ok(head_cfg) = git.config(&h) {
        let settled = opts.load.acknowledgements.clone();
        opts.proposed_acknowledgements = head_cfg
            .acknowledgements()
            .into_iter()
            .filter(|a| !settled.iter().any(|s| same_acknowledgement(s, a)))
            .collect();
    }
    let gates = gates(req, file_rules, &cfg, &git, &config_commit)?;
    let (base_url, head_url) = links(&req.links, &cfg, &b, &h);
    git.apply_config(&cfg);
    let mut plan = environments::plan(&git, &cfg, &[&b, &h], &range.paths)?;
    plan.keep(&req.environments)?;
    let notes = plan.notes.clone();
    // Acknowledgement annotations count as the base branch's tip has them
    // (issue 17), like the configuration; the merge-base may be older.
    let tip = (config_commit.oid != b.oid)
        .then(|| names_acknowledgements(&git, &config_commit).then_some(&config_commit));
    let jobs = read_jobs(&mut git, plan, [&b, &h], tip);
    Ok(Prepared {
        jobs,
        opts,
        gates,
        outcome: DiffOutcome {
            environments: Vec::new(),
            notes,
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

/// The same acknowledgement wherever it is written.
fn same_acknowledgement(
    a: &crate::manifest::Acknowledgement,
    b: &crate::manifest::Acknowledgement,
) -> bool {
    (&a.code, &a.object, &a.field, &a.reason) == (&b.code, &b.object, &b.field, &b.reason)
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

/// Whether any file of `commit` that can hold or template an object names
/// the acknowledgement annotation. Most repositories never do, and then the
/// base tip's environments need not be read and rendered a third time. An
/// annotation spelt in pieces (a Helm template joining strings) is missed:
/// it then acknowledges nothing, so the finding is shown, never hidden.
fn names_acknowledgements(git: &GitRepo, commit: &Commit) -> bool {
    use crate::source::discover::Snapshot;
    let Ok(snap) = git.snapshot(commit) else {
        // Read as before; a tree that cannot be listed fails there.
        return true;
    };
    let templated = |f: &str| {
        [".yaml", ".yml", ".json", ".tpl"]
            .iter()
            .any(|e| f.ends_with(e))
            || f.ends_with("Kustomization")
    };
    snap.files().iter().filter(|f| templated(f)).any(|f| {
        snap.text(f)
            .is_some_and(|t| t.contains(crate::manifest::ACKNOWLEDGE_ANNOTATION))
    })
}

/// Reads each planned environment's sides; what cannot be read becomes
/// that side's errors. `tip`: None when the compared base is the
/// configuration commit; Some(None) when that commit names no
/// acknowledgement annotation (nothing to read there).
fn read_jobs(
    git: &mut GitRepo,
    plan: Plan,
    [b, h]: [&Commit; 2],
    tip: Option<Option<&Commit>>,
) -> Vec<Job> {
    let mut jobs = Vec::new();
    for env in plan.environments {
        let Planned {
            name,
            why,
            base,
            head,
            cluster,
            problem,
        } = env;
        if let Some(p) = problem {
            let err = |side| SideError {
                side,
                file: None,
                line: None,
                col: None,
                revision: None,
                message: p.clone(),
            };
            jobs.push(Job {
                name,
                why,
                base: Err(vec![err(Side::Base)]),
                head: Err(vec![err(Side::Head)]),
                cluster,
                tip: None,
            });
            continue;
        }
        let tip = tip.map(|t| t.and_then(|t| read_side(git, Side::Base, t, base.as_ref()).ok()));
        let base = read_side(git, Side::Base, b, base.as_ref());
        let head = read_side(git, Side::Head, h, head.as_ref());
        jobs.push(Job {
            name,
            why,
            base,
            head,
            cluster,
            tip,
        });
    }
    jobs
}

/// One side of an environment: its roots read and rendered (an absent
/// environment is empty), or every error met doing so.
fn read_side(
    git: &mut GitRepo,
    side: Side,
    commit: &Commit,
    roots: Option<&SideRoots>,
) -> Result<Revision, Vec<SideError>> {
    let Some(roots) = roots else {
        return Ok(empty(side.as_str()));
    };
    let (rev, errors) = git.read_roots(side.as_str(), commit, &roots.paths, &roots.charts);
    if errors.is_empty() {
        Ok(rev)
    } else {
        Err(errors.iter().map(|e| git_error(side, e)).collect())
    }
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
            environment_notes: self.notes.clone(),
            complete: false,
        }
    }
}
