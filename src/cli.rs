//! Command-line front end: arguments → analysis → report → stdout.
//! Exit status: 0 done, 1 gate tripped, 2 bad usage or input.

use crate::analysis::{self, Failed, Options};
use crate::diag::{Diagnostic, Severity};
use crate::manifest::LoadOptions;
use crate::report::{self, style::Style};
use crate::source::fs::{PathStyle, read_paths};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(
    name = "reachdiff",
    version,
    about = "What a NetworkPolicy change really opens and closes, before merge"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReachFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Markdown for a pull-request comment.
    Md,
    Text,
    Json,
}

#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// Namespace for objects that carry none.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Partition the IPv6 address space even when no IPv6 block appears.
    #[arg(long)]
    pub dual_stack: bool,
    /// Also print informational diagnostics (skipped kinds, defaulting).
    #[arg(short, long)]
    pub verbose: bool,
    /// Print load and analysis times to stderr.
    #[arg(long)]
    pub timings: bool,
    /// Write the report to FILE instead of stdout (written whole or not at all).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Which workload can reach which workload or address block, on which ports.
    Reach {
        /// Files or directories of manifests (`-` reads stdin).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = ReachFormat::Text)]
        format: ReachFormat,
        /// Only rows from these sources: `ns/name[Kind]`, `ns/name`, a namespace, or an IP address (repeatable).
        #[arg(long, value_name = "ENDPOINT")]
        from: Vec<String>,
        /// Only rows to these destinations (same forms as --from; repeatable).
        #[arg(long, value_name = "ENDPOINT")]
        to: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Connections a change opens and closes between two revisions, and why.
    Diff {
        /// Manifests at the base revision (file or directory).
        base: PathBuf,
        /// Manifests at the head revision (file or directory).
        head: PathBuf,
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
        /// Exit 1 when the change opens, closes or exposes anything (repeatable).
        #[arg(long, value_enum, value_name = "WHAT")]
        fail_on: Vec<crate::gate::FailOn>,
        /// A rules file of gates (see README, "Gates").
        #[arg(long, value_name = "FILE")]
        rules: Option<PathBuf>,
        /// URL prefix for links to base files in Markdown (…/blob/<base-sha>).
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        /// URL prefix for links to head files in Markdown (…/blob/<head-sha>).
        #[arg(long, value_name = "URL")]
        head_url: Option<String>,
        #[command(flatten)]
        common: Common,
    },
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn options(common: &Common) -> Options {
    Options {
        load: LoadOptions {
            default_namespace: common.namespace.clone(),
            ..LoadOptions::default()
        },
        dual_stack: common.dual_stack,
    }
}

fn stdout_style() -> Style {
    Style {
        color: std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Prints warnings (and infos with --verbose) to stderr. Without --verbose
/// at most a few per code are shown, then a count, so a large repository
/// does not bury the report under thousands of identical lines.
fn print_diagnostics(diags: &[Diagnostic], verbose: bool) {
    const PER_CODE: usize = 5;
    let mut err = std::io::stderr().lock();
    let mut shown: std::collections::BTreeMap<crate::diag::Code, usize> = Default::default();
    for d in diags {
        if d.severity == Severity::Info && !verbose {
            continue;
        }
        let n = shown.entry(d.code).or_default();
        *n += 1;
        if verbose || *n <= PER_CODE {
            let _ = writeln!(
                err,
                "{}: {}: {}",
                d.severity.as_str(),
                d.code,
                crate::report::style::sanitize(&d.to_string())
            );
        }
    }
    if !verbose {
        for (code, n) in shown {
            if n > PER_CODE {
                let _ = writeln!(
                    err,
                    "warning: {code}: {} more like this (-v shows all)",
                    n - PER_CODE
                );
            }
        }
    }
}

fn report_failure(f: &Failed, side: Option<&str>) -> ExitCode {
    let mut err = std::io::stderr().lock();
    for d in f.errors() {
        let prefix = side.map(|s| format!("{s}: ")).unwrap_or_default();
        let _ = writeln!(
            err,
            "error: {prefix}{}",
            crate::report::style::sanitize(&d.to_string())
        );
    }
    ExitCode::from(2)
}

/// Writes the report to the chosen place; a file is written to a temporary
/// sibling and renamed, so it is never left half-written.
fn emit(output: Option<&PathBuf>, text: &str) -> anyhow::Result<()> {
    match output {
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Ok(()) => Ok(()),
                // A closed pipe (`| head`) is not an error worth a message.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let tmp = dir.join(format!(
                ".{}.reachdiff-tmp",
                path.file_name()
                    .map_or("out".into(), |n| n.to_string_lossy())
            ));
            std::fs::write(&tmp, text).map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?;
            std::fs::rename(&tmp, path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok(())
        }
    }
}

/// Phase times for `--timings`, printed to stderr.
struct Timer {
    start: Instant,
    last: Instant,
    phases: Vec<(&'static str, f64)>,
}

impl Timer {
    fn new() -> Self {
        let now = Instant::now();
        Timer {
            start: now,
            last: now,
            phases: Vec::new(),
        }
    }

    fn mark(&mut self, name: &'static str) {
        let now = Instant::now();
        self.phases.push((name, (now - self.last).as_secs_f64()));
        self.last = now;
    }

    fn phase(&mut self, p: analysis::Phase) {
        self.mark(match p {
            analysis::Phase::Loaded => "load",
            analysis::Phase::Analysed => "analysis",
            analysis::Phase::Compared => "diff",
        });
    }

    fn print(&self, extra: &str) {
        let parts: Vec<String> = self
            .phases
            .iter()
            .map(|(n, t)| format!("{n} {t:.3}s"))
            .collect();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "timings: {} · total {:.3}s ({extra})",
            parts.join(", "),
            self.start.elapsed().as_secs_f64()
        );
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Reach {
            paths,
            format,
            from,
            to,
            common,
        } => {
            let opts = options(&common);
            let mut timer = Timer::new();
            let rev = read_paths("reach", &paths, PathStyle::AsGiven)?;
            timer.mark("read");
            let analyzed = match analysis::analyze_observed(&rev, &opts, &mut |p| timer.phase(p)) {
                Ok(a) => a,
                Err(f) => return Ok(report_failure(&f, None)),
            };
            print_diagnostics(&analyzed.diagnostics, common.verbose);
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
                ReachFormat::Text => {
                    report::text::render_reach(&analyzed.analysis, &conns, stdout_style())
                }
            };
            emit(common.output.as_ref(), &text)?;
            timer.mark("render+write");
            if common.timings {
                timer.print(&format!("{} rows", conns.len()));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff {
            base,
            head,
            format,
            fail_on,
            rules,
            base_url,
            head_url,
            common,
        } => {
            let opts = options(&common);
            let rules = match &rules {
                None => None,
                Some(p) => {
                    let text = std::fs::read_to_string(p)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
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
            let cmp = match analysis::compare_observed(&base_rev, &head_rev, &opts, &mut |p| {
                timer.phase(p)
            }) {
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
    }
}
