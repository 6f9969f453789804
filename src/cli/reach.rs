//! `reachdiff reach`: the reachability of one revision.

use super::{Common, RevisionArgs, Timer, print_diagnostics, stdout_style, stream};
use crate::analysis::Analyzed;
use crate::reach::Endpoint;
use crate::report;
use crate::report::style::sanitize;
use crate::review::SideError;
use clap::ValueEnum;
use std::io::Write;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReachFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Grouping {
    Auto,
    Always,
    Never,
}

/// Above this many endpoints, `reach` in text groups by default: a flat
/// listing of millions of rows is for machines, not for a person.
const GROUP_ABOVE: usize = 2_000;

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
    /// Print endpoints that every policy treats alike once, as a class with
    /// its members, and the rows between classes (JSON: reachdiff/reach-groups/v1).
    /// `auto`: grouped for text above 2,000 endpoints.
    #[arg(long, value_enum, default_value_t = Grouping::Auto, value_name = "WHEN")]
    pub group: Grouping,
    #[command(flatten)]
    pub common: Common,
}

/// One environment analysed, with the endpoints to list.
struct Chosen {
    analyzed: Analyzed,
    srcs: Vec<Endpoint>,
    dsts: Vec<Endpoint>,
    /// Explain denied pairs after the rows (text, `--from` and `--to`).
    explain: bool,
}

/// One environment's part of the report: what to list, or the errors that
/// stopped it.
struct Section {
    name: String,
    why: Option<String>,
    report: Result<Chosen, Vec<SideError>>,
}

/// How to write one environment's listing.
#[derive(Clone, Copy)]
struct Style {
    format: ReachFormat,
    group: Grouping,
}

impl Style {
    /// Writes one environment's document as its rows are computed.
    fn write(self, c: &Chosen, out: &mut dyn Write) -> std::io::Result<()> {
        let listing = report::reach::Listing {
            analysis: &c.analyzed.analysis,
            srcs: &c.srcs,
            dsts: &c.dsts,
        };
        let grouped = match self.group {
            Grouping::Always => true,
            Grouping::Never => false,
            Grouping::Auto => {
                self.format == ReachFormat::Text && c.srcs.len().max(c.dsts.len()) > GROUP_ABOVE
            }
        };
        let diags = &c.analyzed.diagnostics;
        let groups = grouped.then(|| report::reach::Groups::new(&listing));
        match (self.format, &groups) {
            (ReachFormat::Json, None) => report::reach::write_json(&listing, diags, out),
            (ReachFormat::Json, Some(g)) => {
                report::reach::write_groups_json(&listing, g, diags, out)
            }
            (ReachFormat::Text, None) => {
                report::reach::write_text(&listing, stdout_style(), out)?;
                if c.explain {
                    report::reach::write_why_not(&listing, stdout_style(), out)?;
                }
                Ok(())
            }
            (ReachFormat::Text, Some(g)) => {
                report::reach::write_groups_text(&listing, g, stdout_style(), out)
            }
        }
    }

    /// One environment's document as a string (several environments are
    /// one document around them).
    fn render(self, c: &Chosen) -> String {
        let mut buf = Vec::new();
        // Writing to memory cannot fail.
        let _ = self.write(c, &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// `--from` and `--to`, and which of them matched in some environment.
struct Patterns<'p> {
    from: &'p [String],
    to: &'p [String],
    matched: std::collections::BTreeSet<String>,
}

impl Patterns<'_> {
    /// The sources and destinations the patterns name in one analysed
    /// environment (every endpoint where none is given).
    fn choose(&mut self, analyzed: Analyzed) -> Chosen {
        let srcs = self.pick(&analyzed, self.from);
        let dsts = self.pick(&analyzed, self.to);
        Chosen {
            analyzed,
            srcs,
            dsts,
            // A narrow question (`--from A --to B`): say why a denied
            // pair is denied.
            explain: !self.from.is_empty() && !self.to.is_empty(),
        }
    }

    fn pick(&mut self, analyzed: &Analyzed, patterns: &[String]) -> Vec<Endpoint> {
        let a = &analyzed.analysis;
        if patterns.is_empty() {
            return a.endpoints();
        }
        let mut v = Vec::new();
        for p in patterns {
            let found = a.select(p);
            if !found.is_empty() {
                self.matched.insert(p.clone());
            }
            v.extend(found);
        }
        v.sort_by_key(|&e| a.endpoint_id(e));
        v.dedup();
        v
    }

    /// A pattern that matched in no environment.
    fn unmatched(&self) -> Option<&String> {
        self.from
            .iter()
            .chain(self.to)
            .find(|p| !self.matched.contains(*p))
    }
}

pub(super) fn run(args: ReachArgs) -> anyhow::Result<ExitCode> {
    let ReachArgs {
        source,
        format,
        from,
        to,
        group,
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
    let mut sections: Vec<Section> = Vec::new();
    let mut patterns = Patterns {
        from: &from,
        to: &to,
        matched: Default::default(),
    };
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
        sections.push(Section {
            name,
            why: env.why,
            report: Ok(patterns.choose(analyzed)),
        });
    }
    // A pattern that matches nothing anywhere is a mistake, not an empty
    // answer (with one cluster: exactly as before). Every input error is
    // decided here, before the first byte is written.
    if sections.iter().any(|s| s.report.is_ok())
        && let Some(p) = patterns.unmatched()
    {
        anyhow::bail!("no endpoint matches {p:?}");
    }
    timer.mark("listing");
    let failed = sections.iter().any(|s| s.report.is_err());
    let style = Style { format, group };
    if single {
        // One cluster: rows are written as they are computed (#16).
        match sections.first() {
            Some(Section { report: Ok(c), .. }) => {
                stream(common.output.as_ref(), |out| style.write(c, out))?
            }
            // What stopped it is on stderr; the report is empty, as before.
            _ => stream(common.output.as_ref(), |_| Ok(()))?,
        }
    } else {
        let text = environments_report(&sections, &done.notes, style);
        stream(common.output.as_ref(), |out| out.write_all(text.as_bytes()))?;
    }
    timer.mark("rows+write");
    if common.timings {
        let endpoints: usize = sections
            .iter()
            .filter_map(|s| s.report.as_ref().ok())
            .map(|c| c.srcs.len().max(c.dsts.len()))
            .sum();
        timer.print(&format!("{endpoints} endpoints"));
    }
    // An environment that could not be analysed trips the built-in gate
    // `analysis-incomplete`, as in `diff`.
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Several environments: one document with a section each (each section
/// rendered whole).
fn environments_report(sections: &[Section], notes: &[String], style: Style) -> String {
    if style.format == ReachFormat::Json {
        let rendered: Vec<Result<String, &[SideError]>> = sections
            .iter()
            .map(|s| match &s.report {
                Ok(c) => Ok(style.render(c)),
                Err(errors) => Err(errors.as_slice()),
            })
            .collect();
        return report::json::render_reach_environments(
            &sections
                .iter()
                .zip(rendered)
                .map(|(s, report)| report::json::ReachEnvironment {
                    name: &s.name,
                    why: s.why.as_deref(),
                    report,
                })
                .collect::<Vec<_>>(),
        );
    }
    let mut out = String::new();
    for s in sections {
        out.push_str(&format!("=== environment {} ===\n", sanitize(&s.name)));
        if let Some(w) = &s.why {
            out.push_str(&format!("({})\n", sanitize(w)));
        }
        match &s.report {
            Ok(c) => out.push_str(&style.render(c)),
            Err(errors) => {
                out.push_str("not analysed:\n");
                for e in errors {
                    out.push_str(&format!("  error: {}\n", sanitize(&e.to_string())));
                }
            }
        }
        out.push('\n');
    }
    for n in notes {
        out.push_str(&format!("left out: {}\n", sanitize(n)));
    }
    out
}
