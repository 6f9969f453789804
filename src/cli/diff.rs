//! `reachdiff diff`: what a change opens and closes, and why.

use super::{Common, Timer, emit, options, print_diagnostics, stdout_style};
use crate::analysis;
use crate::report;
use crate::source::fs::{PathStyle, read_paths};
use crate::source::git::GitRepo;
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
    pub fail_on: Vec<crate::gate::FailOn>,
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

pub(super) fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let format = args.format;
    let output = args.common.output.clone();
    let timings = args.common.timings;
    let mut done = match compute(args)? {
        Ok(d) => d,
        Err(lines) => return Ok(super::print_failure(&lines)),
    };
    let text = done.render(format, None, None);
    emit(output.as_ref(), &text)?;
    done.timer.mark("render+write");
    if timings {
        done.timer.print(&format!("{} pairs evaluated", done.pairs));
    }
    Ok(if done.tripped() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A finished diff, ready to render in any format: one result per
/// environment (one unnamed result without environments).
pub(crate) struct Computed {
    pub results: Vec<EnvResult>,
    pub base_label: String,
    pub head_label: String,
    pub base_url: Option<String>,
    pub head_url: Option<String>,
    pub budget: Option<usize>,
    pub pairs: usize,
    timer: Timer,
    /// Colours in the text format (on when stdout is a terminal).
    pub style: crate::report::style::Style,
    /// The `report:` settings of the base's `.reachdiff.yaml` (defaults
    /// outside a repository).
    pub report_config: crate::config::ReportConfig,
}

impl Computed {
    /// Whether any gate of any environment tripped.
    pub fn tripped(&self) -> bool {
        self.results
            .iter()
            .any(|(_, _, _, gates)| gates.iter().any(|g| !g.passed))
    }

    /// Whether any environment's reachability changed.
    pub fn changed(&self) -> bool {
        self.results
            .iter()
            .any(|r| !r.1.diff.opened.is_empty() || !r.1.diff.closed.is_empty())
    }

    /// The report, as `reachdiff diff --format FORMAT` prints it; a budget
    /// overrides the configured one, and the hint says where the full
    /// report is when the Markdown had to be cut.
    pub fn render(
        &self,
        format: DiffFormat,
        budget: Option<usize>,
        full_report_hint: Option<String>,
    ) -> String {
        let several = self.results.len() > 1 || self.results.iter().any(|j| j.0.is_some());
        let md_opts = |title: Option<String>, share: usize| report::markdown::MarkdownOptions {
            base_url: self.base_url.clone(),
            head_url: self.head_url.clone(),
            base_label: self.base_label.clone(),
            head_label: self.head_label.clone(),
            budget: budget
                .or(self.budget)
                .unwrap_or(report::markdown::DEFAULT_BUDGET)
                / share.max(1),
            full_report_hint: full_report_hint.clone(),
            title,
            ..Default::default()
        };
        let render_one =
            |cmp: &analysis::Comparison,
             view: &report::view::DiffView,
             gates: &[crate::gate::GateOutcome],
             md: &report::markdown::MarkdownOptions| match format {
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
                    report::json::render_diff(cmp, &gates_json)
                }
                DiffFormat::Md => report::markdown::render(cmp, view, gates, md),
                DiffFormat::Text => report::text::render_diff(cmp, view, gates, self.style),
            };
        if !several {
            let (_, cmp, view, gates) = &self.results[0];
            render_one(cmp, view, gates, &md_opts(None, 1))
        } else {
            render_environments(format, &self.results, &|cmp, view, gates, title, share| {
                render_one(cmp, view, gates, &md_opts(title, share))
            })
        }
    }
}

/// Reads, analyses and compares both revisions and evaluates the gates.
/// `Ok(Err(lines))`: manifests that could not be analysed, one `error: …`
/// line per problem (file:line included), for the caller to show.
pub(crate) fn compute(args: DiffArgs) -> anyhow::Result<Result<Computed, Vec<String>>> {
    let DiffArgs {
        base,
        head,
        more_paths,
        repo,
        base_rev,
        head_rev,
        base_exact,
        env,
        format: _,
        fail_on,
        strict,
        rules,
        base_url,
        head_url,
        common,
    } = args;
    let mut strict = strict;
    let mut opts = options(&common);
    let mut rules = match &rules {
        None => None,
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            Some(crate::gate::parse_rules(&p.display().to_string(), &text)?)
        }
    };
    let mut budget = None;
    let mut report_config = crate::config::ReportConfig::default();
    let (mut base_url, mut head_url) = (base_url, head_url);
    let mut timer = Timer::new();
    let (jobs, base_label, head_label) = match &repo {
        Some(dir) => {
            let mut git = GitRepo::open(dir)?;
            let base_spec = base_rev.as_deref().unwrap_or("HEAD");
            let (b, h) = git.diff_commits(base_spec, &head_rev, base_exact)?;
            // SECURITY: configuration comes from the base commit only; the
            // head of a pull request cannot change how it is judged.
            let cfg = git.config(&b)?;
            opts.load.external_namespaces = cfg.external_namespaces();
            opts.external_peers = cfg.external_peers()?;
            strict |= cfg.strict;
            rules = match (cfg.rules(), rules) {
                (Some(mut c), Some(f)) => {
                    c.gates.extend(f.gates);
                    Some(c)
                }
                (c, f) => c.or(f),
            };
            budget = cfg.report.budget;
            report_config = cfg.report.clone();
            if let Some(t) = &cfg.report.link_template {
                base_url = base_url.or_else(|| Some(t.replace("{sha}", &b.oid.to_string())));
                head_url = head_url.or_else(|| Some(t.replace("{sha}", &h.oid.to_string())));
            }
            git.apply_config(&cfg);
            let in_repo: Vec<String> = base
                .iter()
                .chain(head.iter())
                .chain(more_paths.iter())
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            let mut jobs = Vec::new();
            if !env.is_empty() && cfg.environments.is_empty() {
                anyhow::bail!(
                    "--env: {} at the base defines no environments",
                    crate::config::FILE_NAME
                );
            }
            if !in_repo.is_empty() || cfg.environments.is_empty() {
                let (br, hr) = git.revision_pair(&b, &h, &in_repo)?;
                jobs.push((None, br, hr));
            } else {
                if let Some(unknown) = env
                    .iter()
                    .find(|n| !cfg.environments.iter().any(|e| &e.name == *n))
                {
                    let names: Vec<&str> =
                        cfg.environments.iter().map(|e| e.name.as_str()).collect();
                    anyhow::bail!(
                        "no environment {unknown:?} in {} (environments: {})",
                        crate::config::FILE_NAME,
                        names.join(", ")
                    );
                }
                for env in cfg
                    .environments
                    .iter()
                    .filter(|e| env.is_empty() || env.contains(&e.name))
                {
                    let (br, hr) = git.revision_pair(&b, &h, &env.roots)?;
                    jobs.push((Some(env.name.clone()), br, hr));
                }
            }
            (jobs, b.describe(), h.describe())
        }
        None => {
            let (Some(base), Some(head)) = (base, head) else {
                anyhow::bail!("diff needs BASE and HEAD, or --repo DIR --base REV");
            };
            let br = read_paths(
                "base",
                std::slice::from_ref(&base),
                PathStyle::RelativeToRoot,
            )?;
            let hr = read_paths(
                "head",
                std::slice::from_ref(&head),
                PathStyle::RelativeToRoot,
            )?;
            (
                vec![(None, br, hr)],
                base.display().to_string(),
                head.display().to_string(),
            )
        }
    };
    timer.mark("read");
    let mut results = Vec::new();
    let mut pairs = 0;
    for (env, base_rev, head_rev) in &jobs {
        let cmp =
            match analysis::compare_observed(base_rev, head_rev, &opts, &mut |p| timer.phase(p)) {
                Ok(c) => c,
                Err(f) => {
                    let side = match env {
                        Some(e) => format!("environment {e}: {}", f.side),
                        None => f.side.to_string(),
                    };
                    return Ok(Err(super::failure_lines(&f.failed, Some(&side))));
                }
            };
        print_diagnostics(&cmp.head.diagnostics, common.verbose);
        let view = report::view::build(&cmp);
        let mut gates = crate::gate::evaluate(&cmp, &view, &fail_on, rules.as_ref());
        if strict {
            gates.push(crate::gate::strict_gate(&cmp, "strict"));
        }
        pairs += cmp.diff.stats.pairs_evaluated;
        results.push((env.clone(), cmp, view, gates));
    }
    Ok(Ok(Computed {
        results,
        base_label,
        head_label,
        base_url,
        head_url,
        budget,
        pairs,
        timer,
        style: stdout_style(),
        report_config,
    }))
}

pub(super) type EnvResult = (
    Option<String>,
    analysis::Comparison,
    report::view::DiffView,
    Vec<crate::gate::GateOutcome>,
);

type RenderOne<'a> = dyn Fn(
        &analysis::Comparison,
        &report::view::DiffView,
        &[crate::gate::GateOutcome],
        Option<String>,
        usize,
    ) -> String
    + 'a;

/// Whether an environment's reachability changed (or a gate tripped).
fn changed(r: &EnvResult) -> bool {
    !r.1.diff.opened.is_empty() || !r.1.diff.closed.is_empty() || r.3.iter().any(|g| !g.passed)
}

/// One report for several environments: a section per environment that
/// changed, and the names of those that did not.
fn render_environments(format: DiffFormat, results: &[EnvResult], one: &RenderOne<'_>) -> String {
    use std::fmt::Write;
    let name = |r: &EnvResult| r.0.clone().unwrap_or_default();
    let unchanged: Vec<String> = results.iter().filter(|r| !changed(r)).map(name).collect();
    let changed_n = results.iter().filter(|r| changed(r)).count();
    let mut out = String::new();
    match format {
        DiffFormat::Json => {
            let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
            out.push_str("{\"schema\":\"reachdiff/diff-environments/v1\",\"environments\":[");
            for (i, r) in results.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let doc = one(&r.1, &r.2, &r.3, None, 1);
                let _ = write!(
                    out,
                    "\n{{\"name\":{},\"changed\":{},\"report\":{}}}",
                    q(&name(r)),
                    changed(r),
                    doc.trim_end()
                );
            }
            let list: Vec<String> = unchanged.iter().map(|u| q(u)).collect();
            let _ = writeln!(out, "\n],\"unchanged\":[{}]}}", list.join(","));
        }
        DiffFormat::Md => {
            let marker = report::markdown::MARKER;
            let _ = writeln!(out, "{marker}");
            for r in results.iter().filter(|r| changed(r)) {
                let part = one(&r.1, &r.2, &r.3, Some(name(r)), changed_n);
                let part = part.strip_prefix(marker).unwrap_or(&part);
                out.push_str(part.trim_start_matches('\n'));
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push('\n');
            }
            if changed_n == 0 {
                let _ = writeln!(
                    out,
                    "### reachdiff · no change in reachability in any environment\n"
                );
            }
            if !unchanged.is_empty() {
                let names: Vec<String> =
                    unchanged.iter().map(|u| report::escape::code(u)).collect();
                let _ = writeln!(out, "**Unchanged environments:** {}", names.join(", "));
            }
        }
        DiffFormat::Text => {
            for r in results.iter().filter(|r| changed(r)) {
                let _ = writeln!(
                    out,
                    "=== environment {} ===",
                    report::style::sanitize(&name(r))
                );
                out.push_str(&one(&r.1, &r.2, &r.3, None, 1));
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push('\n');
            }
            if !unchanged.is_empty() {
                let names: Vec<String> = unchanged
                    .iter()
                    .map(|u| report::style::sanitize(u))
                    .collect();
                let _ = writeln!(out, "unchanged environments: {}", names.join(", "));
            }
        }
    }
    out
}
