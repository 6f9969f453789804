//! `reachdiff diff`: what a change opens and closes, and why.

use super::{Common, Timer, emit, options, print_diagnostics, report_failure, stdout_style};
use crate::analysis;
use crate::report;
use crate::source::fs::{PathStyle, read_paths};
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

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// Manifests at the base revision (file or directory).
    pub base: PathBuf,
    /// Manifests at the head revision (file or directory).
    pub head: PathBuf,
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Exit 1 when the change opens, closes or exposes anything (repeatable).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub fail_on: Vec<crate::gate::FailOn>,
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

pub(super) fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let DiffArgs {
        base,
        head,
        format,
        fail_on,
        rules,
        base_url,
        head_url,
        common,
    } = args;
    let opts = options(&common);
    let rules = match &rules {
        None => None,
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            Some(crate::gate::parse_rules(&p.display().to_string(), &text)?)
        }
    };
    let mut timer = Timer::new();
    let base_rev = read_paths(
        "base",
        std::slice::from_ref(&base),
        PathStyle::RelativeToRoot,
    )?;
    let head_rev = read_paths(
        "head",
        std::slice::from_ref(&head),
        PathStyle::RelativeToRoot,
    )?;
    timer.mark("read");
    let cmp = match analysis::compare_observed(&base_rev, &head_rev, &opts, &mut |p| timer.phase(p))
    {
        Ok(c) => c,
        Err(f) => return Ok(report_failure(&f.failed, Some(f.side))),
    };
    print_diagnostics(&cmp.head.diagnostics, common.verbose);
    let view = report::view::build(&cmp);
    let gates = crate::gate::evaluate(&cmp, &view, &fail_on, rules.as_ref());
    let tripped = gates.iter().any(|g| !g.passed);
    let text = match format {
        DiffFormat::Json => {
            let gates_json: Vec<report::json::GateJson> = gates
                .iter()
                .map(|g| report::json::GateJson {
                    name: g.name.clone(),
                    passed: g.passed,
                    message: g.message.clone(),
                    violations: g.violations.clone(),
                })
                .collect();
            report::json::render_diff(&cmp, &gates_json)
        }
        DiffFormat::Md => {
            let md_opts = report::markdown::MarkdownOptions {
                base_url,
                head_url,
                base_label: base.display().to_string(),
                head_label: head.display().to_string(),
                ..Default::default()
            };
            report::markdown::render(&cmp, &view, &gates, &md_opts)
        }
        DiffFormat::Text => report::text::render_diff(&cmp, &view, &gates, stdout_style()),
    };
    emit(common.output.as_ref(), &text)?;
    timer.mark("render+write");
    if common.timings {
        timer.print(&format!(
            "{} pairs evaluated",
            cmp.diff.stats.pairs_evaluated
        ));
    }
    Ok(if tripped {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
