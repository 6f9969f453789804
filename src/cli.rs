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
#[command(name = "reachdiff", version, about = "What a NetworkPolicy change really opens and closes, before merge")]
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
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Prints warnings (and infos with --verbose) to stderr.
fn print_diagnostics(diags: &[Diagnostic], verbose: bool) {
    let mut err = std::io::stderr().lock();
    for d in diags {
        if d.severity == Severity::Info && !verbose {
            continue;
        }
        let _ = writeln!(err, "{}: {}: {}", d.severity.as_str(), d.code, crate::report::style::sanitize(&d.to_string()));
    }
}

fn report_failure(f: &Failed, side: Option<&str>) -> ExitCode {
    let mut err = std::io::stderr().lock();
    for d in f.errors() {
        let prefix = side.map(|s| format!("{s}: ")).unwrap_or_default();
        let _ = writeln!(err, "error: {prefix}{}", crate::report::style::sanitize(&d.to_string()));
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
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            let tmp = dir.join(format!(".{}.reachdiff-tmp", path.file_name().map_or("out".into(), |n| n.to_string_lossy())));
            std::fs::write(&tmp, text).map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?;
            std::fs::rename(&tmp, path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok(())
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Reach { paths, format, common } => {
            let opts = options(&common);
            let t0 = Instant::now();
            let rev = read_paths("reach", &paths, PathStyle::AsGiven)?;
            let analyzed = match analysis::analyze(&rev, &opts) {
                Ok(a) => a,
                Err(f) => return Ok(report_failure(&f, None)),
            };
            let t1 = Instant::now();
            print_diagnostics(&analyzed.diagnostics, common.verbose);
            let conns = analyzed.analysis.connections();
            let t2 = Instant::now();
            let text = match format {
                ReachFormat::Json => report::json::render_reach(&analyzed.analysis, &conns, &analyzed.diagnostics),
                ReachFormat::Text => report::text::render_reach(&analyzed.analysis, &conns, stdout_style()),
            };
            emit(common.output.as_ref(), &text)?;
            if common.timings {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(
                    err,
                    "timings: load+analysis {:.3}s, listing {:.3}s ({} rows), render+write {:.3}s",
                    (t1 - t0).as_secs_f64(),
                    (t2 - t1).as_secs_f64(),
                    conns.len(),
                    t2.elapsed().as_secs_f64()
                );
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
                    let text = std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
                    Some(crate::gate::parse_rules(&p.display().to_string(), &text)?)
                }
            };
            let t0 = Instant::now();
            let base_rev = read_paths("base", std::slice::from_ref(&base), PathStyle::RelativeToRoot)?;
            let head_rev = read_paths("head", std::slice::from_ref(&head), PathStyle::RelativeToRoot)?;
            let t1 = Instant::now();
            let cmp = match analysis::compare(&base_rev, &head_rev, &opts) {
                Ok(c) => c,
                Err(f) => return Ok(report_failure(&f.failed, Some(f.side))),
            };
            let t2 = Instant::now();
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
            if common.timings {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(
                    err,
                    "timings: read {:.3}s, load+analysis+diff {:.3}s ({} pairs evaluated), render+write {:.3}s",
                    (t1 - t0).as_secs_f64(),
                    (t2 - t1).as_secs_f64(),
                    cmp.diff.stats.pairs_evaluated,
                    t2.elapsed().as_secs_f64()
                );
            }
            Ok(if tripped { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    }
}
