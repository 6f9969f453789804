//! `reachdiff __render-sandbox PROGRAM ARGS...`: the Landlock trampoline.
//!
//! Where no network namespace can be made (the shipped image), renders are
//! started through reachdiff itself, which denies itself every TCP connect
//! and bind and then becomes the render tool; the tool inherits the
//! restriction (src/source/sandbox.rs, layer 4). It is checked before the
//! command line is parsed so that it never shows in `--help`.

use crate::source::sandbox::{self, PROBE_OK, TRAMPOLINE_ARG};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode};

/// When started as the trampoline, confines itself and executes PROGRAM
/// (returning only on failure); otherwise records this binary as the
/// trampoline for renders and returns `None`.
pub fn run_if_requested() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next().is_none_or(|a| a != TRAMPOLINE_ARG) {
        if let Ok(exe) = std::env::current_exe() {
            sandbox::set_trampoline(exe);
        }
        return None;
    }
    Some(confine_and_exec(args.collect()))
}

fn confine_and_exec(args: Vec<OsString>) -> ExitCode {
    let fail = |what: String| {
        let _ = writeln!(std::io::stderr(), "reachdiff {TRAMPOLINE_ARG}: {what}");
        ExitCode::from(126)
    };
    if let Err(e) = sandbox::deny_tcp() {
        return fail(format!("cannot restrict networking: {e}"));
    }
    let Some((program, rest)) = args.split_first() else {
        return fail("no program".into());
    };
    if program == "--probe" {
        if sandbox::tcp_is_denied() {
            println!("{PROBE_OK}");
            return ExitCode::SUCCESS;
        }
        return fail("TCP is not denied".into());
    }
    let e = Command::new(program).args(rest).exec();
    fail(format!("cannot run {}: {e}", Path::new(program).display()))
}
