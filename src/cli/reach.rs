//! `reachdiff reach`: the reachability of one revision.

use super::{Common, RevisionArgs, Timer, emit, stdout_style};
use crate::report;
use clap::ValueEnum;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReachFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct ReachArgs {
    #[command(flatten)]
    pub source: RevisionArgs,
    #[arg(long, value_enum, default_value_t = ReachFormat::Text)]
    pub format: ReachFormat,
    /// Only rows from these sources: `ns/name[Kind]`, `ns/name`, a namespace, or an IP address (repeatable).
    #[arg(long, value_name = "ENDPOINT")]
    pub from: Vec<String>,
    /// Only rows to these destinations (same forms as --from; repeatable).
    #[arg(long, value_name = "ENDPOINT")]
    pub to: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

pub(super) fn run(args: ReachArgs) -> anyhow::Result<ExitCode> {
    let ReachArgs {
        source,
        format,
        from,
        to,
        common,
    } = args;
    let mut timer = Timer::new();
    let analyzed = match super::analyze_one("reach", &source, &common, &mut timer)? {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    let a = &analyzed.analysis;
    let pick = |patterns: &[String]| -> anyhow::Result<Vec<crate::reach::Endpoint>> {
        if patterns.is_empty() {
            return Ok(a.endpoints());
        }
        let mut v = Vec::new();
        for p in patterns {
            let found = a.select(p);
            if found.is_empty() {
                anyhow::bail!("no endpoint matches {p:?}");
            }
            v.extend(found);
        }
        v.sort_by_key(|&e| a.endpoint_id(e));
        v.dedup();
        Ok(v)
    };
    let (srcs, dsts) = (pick(&from)?, pick(&to)?);
    let conns = a.connections_between(&srcs, &dsts);
    timer.mark("listing");
    let text = match format {
        ReachFormat::Json => {
            report::json::render_reach(&analyzed.analysis, &conns, &analyzed.diagnostics)
        }
        ReachFormat::Text => report::text::render_reach(&analyzed.analysis, &conns, stdout_style()),
    };
    emit(common.output.as_ref(), &text)?;
    timer.mark("render+write");
    if common.timings {
        timer.print(&format!("{} rows", conns.len()));
    }
    Ok(ExitCode::SUCCESS)
}
