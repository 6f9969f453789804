//! `reachdiff lint`: findings of one revision (unisolated workloads, broad
//! rules, dead selectors, asymmetric paths). Exit 0, or 1 with `--strict`
//! when an error-severity finding exists.

use super::{Common, RevisionArgs, Timer, emit, stdout_style};
use crate::diag::Severity;
use crate::findings;
use crate::report;
use clap::ValueEnum;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct LintArgs {
    #[command(flatten)]
    pub source: RevisionArgs,
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
    /// Exit 1 when a finding of severity error exists that no
    /// acknowledgement marks as intended.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub common: Common,
}

pub(super) fn run(args: LintArgs) -> anyhow::Result<ExitCode> {
    let LintArgs {
        source,
        format,
        strict,
        common,
    } = args;
    let mut timer = Timer::new();
    let analyzed = match super::analyze_one("lint", &source, &common, &mut timer)? {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    let found = findings::findings(&analyzed);
    timer.mark("findings");
    let a = &analyzed.analysis;
    let text = match format {
        LintFormat::Json => report::json::render_lint(&found, a, &analyzed.diagnostics),
        LintFormat::Text => report::lint::render_text(
            &found,
            a.workloads
                .iter()
                .filter(|w| w.representative.is_none())
                .count(),
            a.policies.len(),
            stdout_style(),
        ),
    };
    emit(common.output.as_ref(), &text)?;
    timer.mark("render+write");
    if common.timings {
        timer.print(&format!("{} findings", found.len()));
    }
    let failed = strict
        && found
            .iter()
            .any(|f| f.diagnostic.severity == Severity::Error && f.acknowledged.is_none());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
