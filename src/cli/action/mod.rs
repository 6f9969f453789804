//! `reachdiff action`: the GitHub Action's entry point.
//!
//! Reads the Actions environment once ([`env::ActionEnv`]), finds (or
//! fetches) the pull request's base and head commits in the workspace
//! repository, runs the same operation as `reachdiff diff --repo`
//! ([`crate::ops::diff`]), then writes the job summary, workflow-command
//! annotations, the one sticky comment and the step outputs (and, with
//! `review-comments`, one pull-request review with inline comments on the
//! diff lines responsible), all through [`crate::github::publish`]. It
//! also leaves the artifact of the fork-safe two-job pattern
//! (`.reachdiff/report.json`, `report.md`, `publish.json`). `--publish`, in
//! a `workflow_run` job, takes only the pull-request number from that
//! artifact, has GitHub confirm it, and analyses base and head itself
//! before posting ([`fork::run_publish`]). Exit 1 when a gate trips, 2 on
//! errors, 0 otherwise.
//!
//! - [`env`]: the environment and the event;
//! - [`commands`]: workflow commands and outputs, with command escaping;
//! - [`driver`]: fetch, review, report;
//! - [`fork`]: the publisher of the fork-safe pattern.
//!
//! SECURITY: nothing from the pull request head is executed. Commits are
//! read from the object database; configuration and the rules file come
//! from the base commit; the work tree (the merge commit a checkout leaves)
//! is never read. The token reaches git only through environment
//! configuration and never appears on a command line or in a log. Text
//! from the repository or an artifact reaches stdout and stderr only with
//! command escaping (see [`commands`]).

pub mod commands;
pub mod driver;
pub mod env;
pub mod fork;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ActionArgs {
    /// Publisher mode of the fork-safe two-job pattern (on `workflow_run`):
    /// the artifact of the analysis run (a directory holding report.json
    /// and publish.json, or one of those files) names the pull request; the
    /// publisher checks it with GitHub, analyses base and head itself and
    /// posts the comment (and review). Nothing from the artifact is posted.
    #[arg(long, value_name = "DIR_OR_FILE")]
    pub publish: Option<PathBuf>,
}

pub(super) fn run(args: ActionArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut log = std::io::stderr().lock();
    let result = env::ActionEnv::from_env().and_then(|env| match &args.publish {
        Some(p) => fork::run_publish(&env, p, None, &mut out, &mut log),
        None => driver::run_action(&env, None, &mut out, &mut log),
    });
    Ok(result.unwrap_or_else(|e| report_error(&e, &mut log)))
}

/// The error that ended the run, as one escaped workflow command: it may
/// quote a path of the repository or a key of a forged artifact.
pub fn report_error(e: &anyhow::Error, log: &mut dyn Write) -> ExitCode {
    let _ = writeln!(log, "{}", commands::error(&format!("{e:#}")));
    ExitCode::from(2)
}
