//! `reachdiff reach`: the reachability of one revision.

use super::{Common, RevisionArgs, Timer, emit, print_diagnostics, stdout_style};
use crate::report;
use crate::report::style::sanitize;
use crate::review::SideError;
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

/// One environment's part of the report: its rendered reach report, or
/// the errors that stopped it.
struct Section {
    name: String,
    why: Option<String>,
    report: Result<String, Vec<SideError>>,
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
    let req = source.request("reach", &common);
    let done = match crate::ops::one::analyze_all(&req, &mut |p| timer.phase(p)) {
        Ok(d) => d,
        Err(e) => return super::report_error(e),
    };
    // One environment chosen with --env is one cluster: the plain report.
    let single = done.is_single() || (source.env.is_some() && done.environments.len() == 1);
    let mut rows = 0;
    let mut sections: Vec<Section> = Vec::new();
    let mut matched: std::collections::BTreeSet<String> = Default::default();
    for env in done.environments {
        let name = env.name.clone().unwrap_or_default();
        let analyzed = match env.result {
            Ok(a) => a,
            Err(errors) => {
                for e in &errors {
                    super::print_error(&format!("environment {name}: {e}"));
                }
                sections.push(Section {
                    name,
                    why: env.why,
                    report: Err(errors),
                });
                continue;
            }
        };
        print_diagnostics(&analyzed.diagnostics, common.verbose);
        let a = &analyzed.analysis;
        let mut pick = |patterns: &[String]| -> Vec<crate::reach::Endpoint> {
            if patterns.is_empty() {
                return a.endpoints();
            }
            let mut v = Vec::new();
            for p in patterns {
                let found = a.select(p);
                if !found.is_empty() {
                    matched.insert(p.clone());
                }
                v.extend(found);
            }
            v.sort_by_key(|&e| a.endpoint_id(e));
            v.dedup();
            v
        };
        let srcs = pick(&from);
        let dsts = pick(&to);
        let conns = a.connections_between(&srcs, &dsts);
        rows += conns.len();
        let text = match format {
            ReachFormat::Json => {
                report::json::render_reach(&analyzed.analysis, &conns, &analyzed.diagnostics)
            }
            ReachFormat::Text => {
                report::text::render_reach(&analyzed.analysis, &conns, stdout_style())
            }
        };
        sections.push(Section {
            name,
            why: env.why,
            report: Ok(text),
        });
    }
    // A pattern that matches nothing anywhere is a mistake, not an empty
    // answer (with one cluster: exactly as before).
    let analysed = sections.iter().any(|s| s.report.is_ok());
    if let Some(p) = from
        .iter()
        .chain(&to)
        .find(|p| analysed && !matched.contains(*p))
    {
        anyhow::bail!("no endpoint matches {p:?}");
    }
    timer.mark("listing");
    let failed = sections.iter().any(|s| s.report.is_err());
    let text = match (single, format) {
        (true, _) => sections
            .pop()
            .and_then(|s| s.report.ok())
            .unwrap_or_default(),
        (false, ReachFormat::Json) => report::json::render_reach_environments(
            &sections
                .iter()
                .map(|s| report::json::ReachEnvironment {
                    name: &s.name,
                    why: s.why.as_deref(),
                    report: match &s.report {
                        Ok(text) => Ok(text.clone()),
                        Err(errors) => Err(errors.as_slice()),
                    },
                })
                .collect::<Vec<_>>(),
        ),
        (false, ReachFormat::Text) => {
            let mut out = String::new();
            for Section {
                name,
                why,
                report: r,
            } in &sections
            {
                out.push_str(&format!("=== environment {} ===\n", sanitize(name)));
                if let Some(w) = why {
                    out.push_str(&format!("({})\n", sanitize(w)));
                }
                match r {
                    Ok(t) => out.push_str(t),
                    Err(errors) => {
                        out.push_str("not analysed:\n");
                        for e in errors {
                            out.push_str(&format!("  error: {}\n", sanitize(&e.to_string())));
                        }
                    }
                }
                out.push('\n');
            }
            for n in &done.notes {
                out.push_str(&format!("left out: {}\n", sanitize(n)));
            }
            out
        }
    };
    emit(common.output.as_ref(), &text)?;
    timer.mark("render+write");
    if common.timings {
        timer.print(&format!("{rows} rows"));
    }
    // An environment that could not be analysed trips the built-in gate
    // `analysis-incomplete`, as in `diff`.
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
