//! `reachdiff envs`: the environments a repository is analysed as, and
//! why (configured, or what discovery found), one line each.

use crate::ops::environments::{ListRequest, Planned, list};
use crate::report::style::sanitize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct EnvsArgs {
    /// The git repository (work tree or bare).
    #[arg(long, value_name = "DIR")]
    pub repo: PathBuf,
    /// The revision (with --base: the head of a change).
    #[arg(long, value_name = "REV", default_value = "HEAD", alias = "head")]
    pub rev: String,
    /// List the environments of a change instead: discovered on the
    /// merge-base of REV and this base, and on REV, united.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// With --base: that commit itself, not the merge-base.
    #[arg(long, requires = "base")]
    pub base_exact: bool,
}

pub(super) fn run(args: EnvsArgs) -> anyhow::Result<ExitCode> {
    let req = ListRequest {
        repo: args.repo,
        head: args.rev,
        base: args.base,
        base_exact: args.base_exact,
    };
    let (plan, commits) = match list(&req) {
        Ok(p) => p,
        Err(e) => return super::report_error(e),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} of {}:",
        if plan.is_single() {
            "one cluster (no environments)".to_string()
        } else {
            format!(
                "{} environment(s), {}",
                plan.environments.len(),
                if plan.discovered {
                    "discovered"
                } else {
                    "configured"
                }
            )
        },
        commits.join(" and ")
    );
    let two = commits.len() == 2;
    for e in &plan.environments {
        line(&mut out, e, two);
    }
    for n in &plan.notes {
        let _ = writeln!(out, "left out: {}", sanitize(n));
    }
    super::emit(None, &out)?;
    Ok(ExitCode::SUCCESS)
}

fn line(out: &mut String, e: &Planned, two: bool) {
    let name = e.name.as_deref().unwrap_or(".");
    let _ = writeln!(
        out,
        "{}: {}",
        sanitize(name),
        sanitize(e.why.as_deref().unwrap_or("the whole tree"))
    );
    let roots = |r: &Option<crate::ops::environments::SideRoots>| match r {
        None => "(absent)".to_string(),
        Some(r) => r
            .paths
            .iter()
            .map(|p| if p.is_empty() { "." } else { p.as_str() })
            .collect::<Vec<_>>()
            .join(" "),
    };
    if two && roots(&e.base) != roots(&e.head) {
        let _ = writeln!(out, "  base: {}", sanitize(&roots(&e.base)));
        let _ = writeln!(out, "  head: {}", sanitize(&roots(&e.head)));
    } else {
        let _ = writeln!(out, "  roots: {}", sanitize(&roots(&e.head)));
    }
    if let Some(p) = &e.problem {
        let _ = writeln!(out, "  error: {}", sanitize(p));
    }
}
