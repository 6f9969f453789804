//! `reachdiff diff`: what a change opens and closes, and why.

use super::{Common, Timer, emit, print_diagnostics, stdout_style};
use crate::ops::diff::{
    CommitRange, DiffOutcome, DiffRequest, DiffSource, GateRequest, LinkRequest, RulesRef,
};
use crate::report::{self, Format, Presentation};
use crate::review::Reviews;
use crate::review::gate::FailOn;
use clap::ValueEnum;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Markdown for a pull-request comment.
    Md,
    Text,
    Json,
}

impl From<DiffFormat> for Format {
    fn from(f: DiffFormat) -> Format {
        match f {
            DiffFormat::Md => Format::Markdown,
            DiffFormat::Text => Format::Text,
            DiffFormat::Json => Format::Json,
        }
    }
}

/// `--fail-on` values (the gates' own type knows nothing of clap).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    /// Any opened path.
    Opened,
    /// Any closed path.
    Closed,
    /// Any new exposure to external addresses or to every workload.
    Exposure,
    /// Any opened or closed path.
    Any,
    /// Any error-severity finding the change introduces (what `--strict` means).
    Findings,
}

impl From<FailOnArg> for FailOn {
    fn from(f: FailOnArg) -> FailOn {
        match f {
            FailOnArg::Opened => FailOn::Opened,
            FailOnArg::Closed => FailOn::Closed,
            FailOnArg::Exposure => FailOn::Exposure,
            FailOnArg::Any => FailOn::Any,
            FailOnArg::Findings => FailOn::Findings,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// Manifests at the base revision (file or directory). With --repo:
    /// a path inside the repository to compare (default: the whole tree).
    #[arg(value_name = "BASE", required_unless_present = "repo")]
    pub base: Option<PathBuf>,
    /// Manifests at the head revision (file or directory). With --repo:
    /// another path inside the repository.
    #[arg(value_name = "HEAD", required_unless_present = "repo")]
    pub head: Option<PathBuf>,
    /// With --repo: more paths inside the repository.
    #[arg(value_name = "PATH-IN-REPO", requires = "repo")]
    pub more_paths: Vec<PathBuf>,
    /// Read both revisions from this git repository (work tree or bare; nothing is checked out).
    #[arg(long, value_name = "DIR", requires = "base_rev")]
    pub repo: Option<PathBuf>,
    /// With --repo: the base revision (anything git understands: branch, tag, sha, `main~2`).
    /// The diff starts from the merge-base of BASE and HEAD unless --base-exact.
    #[arg(long = "base", value_name = "REV", requires = "repo")]
    pub base_rev: Option<String>,
    /// With --repo: the head revision.
    #[arg(
        long = "head",
        value_name = "REV",
        default_value = "HEAD",
        requires = "repo"
    )]
    pub head_rev: String,
    /// With --repo: compare the tip of --base itself, not the merge-base.
    #[arg(long, requires = "repo")]
    pub base_exact: bool,
    /// With --repo: only this environment of `.reachdiff.yaml` (repeatable).
    #[arg(long, value_name = "NAME", requires = "repo", conflicts_with = "base")]
    pub env: Vec<String>,
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Exit 1 when the change opens, closes or exposes anything (repeatable).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub fail_on: Vec<FailOnArg>,
    /// Exit 1 when the change introduces a finding of severity error
    /// (also `strict: true` in `.reachdiff.yaml`).
    #[arg(long)]
    pub strict: bool,
    /// A rules file of gates (see README, "Gates").
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// URL prefix for links to base files in Markdown (…/blob/<base-sha>).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// URL prefix for links to head files in Markdown (…/blob/<head-sha>).
    #[arg(long, value_name = "URL")]
    pub head_url: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

impl DiffArgs {
    /// The operation these arguments ask for.
    fn request(&self) -> anyhow::Result<DiffRequest> {
        let source = match &self.repo {
            Some(repo) => DiffSource::Commits(CommitRange {
                repo: repo.clone(),
                base: self.base_rev.clone().unwrap_or_else(|| "HEAD".into()),
                head: self.head_rev.clone(),
                base_exact: self.base_exact,
                paths: self
                    .base
                    .iter()
                    .chain(self.head.iter())
                    .chain(self.more_paths.iter())
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect(),
                config_rev: None,
            }),
            None => match (&self.base, &self.head) {
                (Some(base), Some(head)) => DiffSource::Folders {
                    base: base.clone(),
                    head: head.clone(),
                },
                _ => anyhow::bail!("diff needs BASE and HEAD, or --repo DIR --base REV"),
            },
        };
        Ok(DiffRequest {
            source,
            environments: self.env.clone(),
            gates: GateRequest {
                fail_on: self.fail_on.iter().map(|&f| f.into()).collect(),
                strict: self.strict,
                rules: self.rules.clone().map(RulesRef::File),
            },
            links: LinkRequest {
                base_url: self.base_url.clone(),
                head_url: self.head_url.clone(),
                template: None,
            },
            analysis: self.common.analysis(),
        })
    }
}

pub(super) fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let mut timer = Timer::new();
    let req = args.request()?;
    let done = match crate::ops::diff::run(&req, &mut |p| timer.phase(p)) {
        Ok(d) => d,
        Err(e) => return super::report_error(e),
    };
    for r in done.environments.reviews() {
        print_diagnostics(&r.comparison.head.diagnostics, args.common.verbose);
    }
    // What stopped a side of an environment, on stderr too (the report
    // has its section).
    for e in &done.environments {
        for err in &e.errors {
            super::print_error(&format!(
                "environment {}: {}: {err}",
                e.name.as_deref().unwrap_or("."),
                err.side.as_str()
            ));
        }
    }
    let text = report::render_diff(&done.environments, args.format.into(), &presentation(&done));
    emit(args.common.output.as_ref(), &text)?;
    timer.mark("render+write");
    if args.common.timings {
        timer.print(&format!("{} pairs evaluated", done.pairs_evaluated));
    }
    let code = if done.environments.tripped() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends here: freeing two analyses allocation by allocation
    // is about 5% of a large diff's time, and the operating system takes
    // the memory back at exit anyway. Nothing in an outcome owns a file, a
    // directory or a child (renders' exports are gone by now).
    std::mem::forget(done);
    Ok(code)
}

/// How the command line presents a diff: colours when stdout is a
/// terminal, the configured Markdown budget.
fn presentation(done: &DiffOutcome) -> Presentation {
    Presentation {
        style: stdout_style(),
        ..done.presentation()
    }
}
