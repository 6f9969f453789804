//! Command-line front end: arguments → analysis → report → stdout.
//! Exit status: 0 done, 1 gate tripped, 2 bad usage or input.
//!
//! One file per command; this one holds the argument types shared by all,
//! the dispatch and the helpers every command uses.

pub(crate) mod action;
pub(crate) mod diff;
mod envs;
mod lint;
mod reach;
mod serve;
pub mod trampoline;

use crate::analysis::{self, Analyzed};
use crate::diag::{Diagnostic, Severity};
use crate::ops::one::{RevisionRequest, RevisionSource};
use crate::ops::{AnalysisSettings, InputFailure, OpsError};
use crate::report::style::Style;
use clap::{Parser, Subcommand};
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

/// Where one revision comes from: paths on disk, or a commit of a git
/// repository (`reach`, `lint`).
#[derive(clap::Args, Debug, Clone)]
pub struct RevisionArgs {
    /// Files or directories of manifests (`-` reads stdin). With --repo:
    /// paths inside the repository (default: the whole tree).
    #[arg(required_unless_present = "repo")]
    pub paths: Vec<PathBuf>,
    /// Read the revision from this git repository (work tree or bare; nothing is checked out).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// With --repo: the revision to read (anything git understands).
    #[arg(long, value_name = "REV", default_value = "HEAD", requires = "repo")]
    pub rev: String,
    /// With --repo: the environment of `.reachdiff.yaml` to read (its roots).
    #[arg(long, value_name = "NAME", requires = "repo", conflicts_with = "paths")]
    pub env: Option<String>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// Namespace for objects that carry none.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Partition the IPv6 address space even when no IPv6 block appears.
    #[arg(long)]
    pub dual_stack: bool,
    /// Only the workloads of the input: no representatives for the rest of
    /// the cluster, no built-in kube-dns (also `closed-world: true` in
    /// `.reachdiff.yaml`; the command line wins).
    #[arg(long, conflicts_with = "open_world")]
    pub closed_world: bool,
    /// The default (representatives of the pods the input does not hold
    /// and the built-in kube-dns, docs/open-world.md); accepted so that
    /// scripts written when it was opt-in keep working.
    #[arg(long)]
    pub open_world: bool,
    /// The CNI the cluster runs: `cilium` analyses Cilium policies and
    /// evaluates NetworkPolicies as Cilium enforces them; `calico` and
    /// `none` ignore Cilium policies. Default: `cni:` in `.reachdiff.yaml`,
    /// else the dialect whose objects the revisions hold.
    #[arg(long, value_parser = ["cilium", "calico", "none"])]
    pub cni: Option<String>,
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
    Reach(reach::ReachArgs),
    /// Connections a change opens and closes between two revisions, and why.
    Diff(diff::DiffArgs),
    /// Findings: unisolated workloads, broad rules, dead selectors, asymmetric paths.
    Lint(lint::LintArgs),
    /// The environments a repository is analysed as, and why.
    Envs(envs::EnvsArgs),
    /// The GitHub Action: reads the Actions environment, diffs the pull
    /// request, writes summary, annotations, outputs and one sticky comment.
    Action(action::ActionArgs),
    /// The GitHub App: a webhook server that reports a check run and one
    /// sticky comment on every pull request of the installed repositories.
    Serve(serve::ServeArgs),
    /// This program's version; with --tools, the render tools it would use.
    Version(VersionArgs),
    /// Internal: one analysis of `reachdiff serve`, in a process of its
    /// own with the job's limits (request on stdin, answer on stdout).
    #[command(name = "__analyse-job", hide = true)]
    AnalyseJob,
}

#[derive(clap::Args, Debug)]
pub struct VersionArgs {
    /// Also the kubectl, kustomize and helm found on PATH, and how renders
    /// are isolated from the network.
    #[arg(long)]
    pub tools: bool,
}

fn version(args: VersionArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "reachdiff {}", env!("CARGO_PKG_VERSION"))?;
    if args.tools {
        for line in crate::source::render::tool_versions() {
            writeln!(out, "{}", crate::report::style::sanitize(&line))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Reach(args) => reach::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Envs(args) => envs::run(args),
        Command::Action(args) => action::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Version(args) => version(args),
        Command::AnalyseJob => Ok(crate::app::contain::child_main()),
    }
}

/// Logs go to stderr, off unless `REACHDIFF_LOG` asks (`debug`,
/// `reachdiff=trace`, ...): stdout carries only the report.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("REACHDIFF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
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
    // The server logs by default (and may log JSON); the other commands
    // keep stderr for diagnostics.
    if !matches!(cli.command, Command::Serve(_)) {
        init_tracing();
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Errors quote paths and manifest text: no escape sequence of
            // theirs reaches the terminal.
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "error: {}",
                crate::report::style::sanitize_lines(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}

impl Common {
    /// The settings every analysis takes from the command line.
    fn analysis(&self) -> AnalysisSettings {
        AnalysisSettings {
            namespace: self.namespace.clone(),
            dual_stack: self.dual_stack,
            // `--open-world` is the default, a no-op kept for old scripts.
            closed_world: self.closed_world,
            cni: self.cni.as_deref().and_then(crate::analysis::Cni::parse),
        }
    }
}

impl RevisionArgs {
    /// The one revision of `reach` and `lint`.
    fn request(&self, label: &str, common: &Common) -> RevisionRequest {
        let source = match &self.repo {
            Some(repo) => RevisionSource::Commit {
                repo: repo.clone(),
                rev: self.rev.clone(),
                paths: self
                    .paths
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect(),
                environment: self.env.clone(),
            },
            None => RevisionSource::Paths(self.paths.clone()),
        };
        RevisionRequest {
            label: label.to_string(),
            source,
            analysis: common.analysis(),
        }
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
        // What was skipped is said even without -v (which lists each).
        if d.severity == Severity::Info && !verbose && !d.code.always_shown() {
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

/// An operation's error: the manifests' errors one per line, or one
/// `error:` line; exit 2 either way.
fn report_error(e: OpsError) -> anyhow::Result<ExitCode> {
    match e {
        OpsError::Input(f) => Ok(print_failure(&f)),
        other => Err(other.into()),
    }
}

/// One `error: …` line on stderr.
fn print_error(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {}", crate::report::style::sanitize(message));
}

/// `error: …` lines, one per error of an analysis that could not run.
fn print_failure(f: &InputFailure) -> ExitCode {
    let mut err = std::io::stderr().lock();
    for m in f.messages() {
        let _ = writeln!(err, "error: {}", crate::report::style::sanitize(&m));
    }
    ExitCode::from(2)
}

/// Writes the report to the chosen place; a file is written to a temporary
/// sibling and renamed, so it is never left half-written.
fn emit(output: Option<&PathBuf>, text: &str) -> anyhow::Result<()> {
    stream(output, |out| out.write_all(text.as_bytes()))
}

/// Writes a report as it is produced: to stdout, or to `--output` through
/// a temporary sibling renamed at the end, so a failed run never leaves
/// half a document where the full one is expected.
fn stream(
    output: Option<&PathBuf>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let Some(path) = output else {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        return match write(&mut out).and_then(|()| out.flush()) {
            Ok(()) => Ok(()),
            // A closed pipe (`| head`) is not an error worth a message.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(e.into()),
        };
    };
    let named = |e: std::io::Error| anyhow::anyhow!("{}: {e}", path.display());
    // A device, pipe or socket (`/dev/null`, `/dev/stdout`, a FIFO) is
    // written in place: renaming over it would replace it.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(named)?;
        let mut out = std::io::BufWriter::new(f);
        return write(&mut out).and_then(|()| out.flush()).map_err(named);
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.reachdiff-tmp",
        path.file_name()
            .map_or("out".into(), |n| n.to_string_lossy())
    ));
    let written = std::fs::File::create(&tmp).and_then(|f| {
        let mut out = std::io::BufWriter::new(f);
        write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(named(e));
    }
    Ok(())
}

/// Reads and analyses the one revision of `reach` and `lint`, printing its
/// warnings; `Err(code)` when the input cannot be analysed (reported).
fn analyze_one(
    label: &str,
    source: &RevisionArgs,
    common: &Common,
    timer: &mut Timer,
) -> anyhow::Result<Result<Analyzed, ExitCode>> {
    let req = source.request(label, common);
    let analyzed = match crate::ops::one::analyze(&req, &mut |p| timer.phase(p)) {
        Ok(a) => a,
        Err(e) => return report_error(e).map(Err),
    };
    print_diagnostics(&analyzed.diagnostics, common.verbose);
    Ok(Ok(analyzed))
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
        tracing::debug!(
            phase = name,
            seconds = (now - self.last).as_secs_f64(),
            "phase done"
        );
        self.phases.push((name, (now - self.last).as_secs_f64()));
        self.last = now;
    }

    fn phase(&mut self, p: analysis::Phase) {
        self.mark(match p {
            analysis::Phase::Loaded => "load",
            analysis::Phase::Analysed => "analysis",
            analysis::Phase::Compared => "diff",
            analysis::Phase::Read => "read",
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
