//! Per-job containment: each analysis runs in a child process (this same
//! binary, re-executed as the hidden `__analyse-job` command) whose memory
//! and time are bounded by the kernel, so one pull request cannot take the
//! server down.
//!
//! Why a child and not a budget inside the engine: the engine's own limits
//! (the parser's byte budget, rendering's output limit) bound what they know
//! about, but a job's peak memory comes from every layer at once (YAML
//! trees, rule sets, diff rows, three rendered reports, kustomize and helm
//! output) and a missed case kills every job of the process with it. A
//! kernel limit on a separate address space bounds them all, including code
//! written later, and a job that goes over it dies alone.
//!
//! - The parent spawns the child with pipes and no secrets in its
//!   environment (`REACHDIFF_*` removed: the child needs no token, key or
//!   webhook secret; it reads git objects from the cache and nothing else).
//! - Before the request is written to its stdin, the parent sets the
//!   child's `RLIMIT_AS` (the memory budget), `RLIMIT_CPU` (a backstop of
//!   the time budget) and `RLIMIT_CORE` (0) with `prlimit(2)` through
//!   rustix (no `unsafe`, no `pre_exec`). Renderers the child starts
//!   (kustomize, helm) inherit the limits.
//! - The parent kills the child when the wall-clock budget is over, and
//!   reads its peak resident memory (`VmHWM`) while it runs.
//! - The child asks the kernel to kill it when the parent dies
//!   (`PR_SET_PDEATHSIG`), so a killed server leaves no orphan analysing.
//!
//! An allocation over `RLIMIT_AS` fails; Rust's allocation-failure handler
//! aborts with "memory allocation of N bytes failed", which the parent
//! reads as "over the memory budget".
//!
//! The request and the answer cross the pipe as JSON of private types:
//! both ends are the same binary, so this is no contract (report::json keeps
//! the only stable serialised types).

use super::job::{Analysed, AnalysisRequest, LoggedDiagnostic, Outcome, Reviewed};
use crate::review::lines::{Annotation, Level, LineSide, ResponsibleLine};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// The hidden subcommand the child runs.
pub const CHILD_COMMAND: &str = "__analyse-job";

/// The most a child may answer (its reports are cut to GitHub's limits
/// before they are sent; the comment has its own budget).
const MAX_ANSWER: u64 = 64 << 20;

pub use crate::ops::queue::Budget;

/// What the child used, as far as the parent could see.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// Peak resident memory (`VmHWM`) last read, bytes.
    pub peak_bytes: u64,
    pub elapsed: Duration,
}

/// How a contained analysis ended.
#[derive(Debug)]
pub enum Contained {
    Done(Analysed),
    OverMemory,
    OverTime,
    /// The child died otherwise (a signal, a bad answer): said plainly.
    Crashed(String),
}

/// Runs `analyse(req)` in a child process within `budget`.
pub fn run(req: &AnalysisRequest, budget: Budget) -> (Contained, Usage) {
    let started = Instant::now();
    let mut usage = Usage::default();
    let contained = match run_child(req, budget, &mut usage) {
        Ok(c) => c,
        Err(e) => Contained::Crashed(e),
    };
    usage.elapsed = started.elapsed();
    (contained, usage)
}

fn run_child(
    req: &AnalysisRequest,
    budget: Budget,
    usage: &mut Usage,
) -> Result<Contained, String> {
    let mut child = spawn_limited(budget)?;
    let request = serde_json::to_vec(&WireRequest::from(req)).map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        // A child that died at once is reported by its status below.
        let _ = stdin.write_all(&request);
    }
    let outputs = Outputs::read(&mut child);
    let ended = watch(&mut child, budget, usage)?;
    let (out, err) = outputs.join();
    Ok(match ended {
        Ended::OverTime => Contained::OverTime,
        Ended::Exited(status) => judge(status, &out, &err, budget, usage),
    })
}

/// Starts the child and limits it. The request is not sent before every
/// limit holds: the child waits on its stdin until then, so it never
/// analyses unbounded.
fn spawn_limited(budget: Budget) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| format!("the reachdiff binary: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg(CHILD_COMMAND)
        // glibc reserves 64 MiB of address space per malloc arena (up to
        // eight per core): two keep the budget for the data.
        .env("MALLOC_ARENA_MAX", "2")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("REACHDIFF_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting the analysis process: {e}"))?;
    let pid = rustix::process::Pid::from_child(&child);
    let limit = |resource, value: u64| {
        rustix::process::prlimit(
            Some(pid),
            resource,
            rustix::process::Rlimit {
                current: Some(value),
                maximum: Some(value),
            },
        )
    };
    use rustix::process::Resource;
    let limited = limit(Resource::As, budget.memory)
        .and_then(|_| limit(Resource::Cpu, budget.time.as_secs().max(1) + 5))
        .and_then(|_| limit(Resource::Core, 0));
    if let Err(e) = limited {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("limiting the analysis process: {e}"));
    }
    Ok(child)
}

/// The child's answer (at most one byte over the cap, to see it was
/// over) and the tail of its stderr, read on their own threads so that
/// neither pipe can fill and stall the child.
struct Outputs {
    answer: std::thread::JoinHandle<Vec<u8>>,
    stderr_tail: std::thread::JoinHandle<String>,
}

impl Outputs {
    fn read(child: &mut Child) -> Outputs {
        let stdout = child.stdout.take();
        let answer = std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(s) = stdout {
                let _ = s.take(MAX_ANSWER + 1).read_to_end(&mut out);
            }
            out
        });
        let stderr = child.stderr.take();
        let stderr_tail = std::thread::spawn(move || {
            let mut tail = Vec::new();
            if let Some(mut s) = stderr {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > 16 << 10 {
                        tail.drain(..tail.len() - (8 << 10));
                    }
                }
            }
            String::from_utf8_lossy(&tail).into_owned()
        });
        Outputs {
            answer,
            stderr_tail,
        }
    }

    fn join(self) -> (Vec<u8>, String) {
        (
            self.answer.join().unwrap_or_default(),
            self.stderr_tail.join().unwrap_or_default(),
        )
    }
}

enum Ended {
    Exited(std::process::ExitStatus),
    /// Killed at the wall-clock deadline.
    OverTime,
}

/// Waits for the child until the wall clock runs out, sampling its peak
/// memory on the way.
fn watch(child: &mut Child, budget: Budget, usage: &mut Usage) -> Result<Ended, String> {
    let deadline = Instant::now() + budget.time;
    loop {
        if let Some(peak) = peak_rss(child.id()) {
            usage.peak_bytes = usage.peak_bytes.max(peak);
        }
        match child.try_wait() {
            Ok(Some(s)) => return Ok(Ended::Exited(s)),
            Ok(None) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("waiting for the analysis process: {e}"));
            }
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            child.wait().map_err(|e| e.to_string())?;
            return Ok(Ended::OverTime);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What an exited child's status, answer and stderr mean.
fn judge(
    status: std::process::ExitStatus,
    out: &[u8],
    err: &str,
    budget: Budget,
    usage: &Usage,
) -> Contained {
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = status.signal() {
        const SIGXCPU: i32 = 24;
        if signal == SIGXCPU {
            return Contained::OverTime;
        }
        // An allocation the limit refused, or a thread whose stack could
        // not be mapped, with the budget nearly used.
        if err.contains("memory allocation of") || usage.peak_bytes >= budget.memory / 10 * 9 {
            return Contained::OverMemory;
        }
        return Contained::Crashed(format!(
            "the analysis process was killed by signal {signal}{}",
            last_line(err)
        ));
    }
    if out.len() as u64 > MAX_ANSWER {
        return Contained::Crashed("the analysis answered too much".into());
    }
    match serde_json::from_slice::<WireAnalysed>(out) {
        Ok(w) => Contained::Done(w.into()),
        Err(_) if err.contains("memory allocation of") => Contained::OverMemory,
        Err(e) => Contained::Crashed(format!(
            "the analysis process ended with {status} and no answer ({e}){}",
            last_line(err)
        )),
    }
}

fn last_line(err: &str) -> String {
    match err.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(l) => format!(": {}", crate::report::style::sanitize(l.trim())),
        None => String::new(),
    }
}

/// `VmHWM` of a process, in bytes.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The child: reads one request on stdin, analyses it, answers on stdout.
/// Started only by [`run`].
pub fn child_main() -> ExitCode {
    // Die with the server: an orphan would go on using the budget of a
    // job nobody waits for. (A parent that died before this line closed
    // the pipe: the read below ends at once.)
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let mut input = Vec::new();
    if std::io::stdin()
        .take(1 << 20)
        .read_to_end(&mut input)
        .is_err()
    {
        return ExitCode::from(2);
    }
    let Ok(req) = serde_json::from_slice::<WireRequest>(&input) else {
        return ExitCode::from(2);
    };
    let analysed = super::job::analyse(&req.into());
    let answer = match serde_json::to_vec(&WireAnalysed::from(analysed)) {
        Ok(a) => a,
        Err(_) => return ExitCode::from(2),
    };
    let mut out = std::io::stdout().lock();
    if out.write_all(&answer).and_then(|_| out.flush()).is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

// ------------------------------------------------------------------ wire

#[derive(Serialize, Deserialize)]
struct WireRequest {
    repo: std::path::PathBuf,
    base_sha: String,
    head_sha: String,
    html_base: Option<String>,
    check_url: Option<String>,
}

impl From<&AnalysisRequest> for WireRequest {
    fn from(r: &AnalysisRequest) -> WireRequest {
        WireRequest {
            repo: r.repo.clone(),
            base_sha: r.base_sha.clone(),
            head_sha: r.head_sha.clone(),
            html_base: r.html_base.clone(),
            check_url: r.check_url.clone(),
        }
    }
}

impl From<WireRequest> for AnalysisRequest {
    fn from(r: WireRequest) -> AnalysisRequest {
        AnalysisRequest {
            repo: r.repo,
            base_sha: r.base_sha,
            head_sha: r.head_sha,
            html_base: r.html_base,
            check_url: r.check_url,
        }
    }
}

#[derive(Serialize, Deserialize)]
enum WireAnalysed {
    Reviewed(Box<WireReviewed>),
    Input(Vec<String>),
    Setup(String),
    Refused { title: String, summary: String },
}

#[derive(Serialize, Deserialize)]
struct WireReviewed {
    conclusion: String,
    outcome: WireOutcome,
    title: String,
    summary: String,
    text: Option<String>,
    annotations: Vec<WireAnnotation>,
    comment: String,
    changed_or_tripped: bool,
    review: Option<Vec<WireLine>>,
    diagnostics: Vec<LoggedDiagnostic>,
}

#[derive(Serialize, Deserialize)]
enum WireOutcome {
    Success,
    GateTripped,
    Other,
}

#[derive(Serialize, Deserialize)]
struct WireAnnotation {
    error: bool,
    file: Option<String>,
    line: Option<u64>,
    title: String,
    message: String,
}

#[derive(Serialize, Deserialize)]
struct WireLine {
    file: String,
    line: u64,
    head: bool,
    opened: usize,
    closed: usize,
    environment: Option<String>,
    text: String,
    example: String,
    #[serde(default)]
    object: Option<(u64, u64)>,
}

impl From<Analysed> for WireAnalysed {
    fn from(a: Analysed) -> WireAnalysed {
        match a {
            Analysed::Input(l) => WireAnalysed::Input(l),
            Analysed::Setup(m) | Analysed::Unrecorded(m) => WireAnalysed::Setup(m),
            Analysed::Refused(r) => WireAnalysed::Refused {
                title: r.title,
                summary: r.summary,
            },
            Analysed::Reviewed(r) => WireAnalysed::Reviewed(Box::new(WireReviewed {
                conclusion: r.conclusion.to_string(),
                outcome: match r.outcome {
                    Outcome::Success => WireOutcome::Success,
                    Outcome::GateTripped => WireOutcome::GateTripped,
                    _ => WireOutcome::Other,
                },
                title: r.check.title,
                summary: r.check.summary,
                text: r.check.text,
                annotations: r
                    .annotations
                    .into_iter()
                    .map(|a| WireAnnotation {
                        error: a.level == Level::Error,
                        file: a.file,
                        line: a.line,
                        title: a.title,
                        message: a.message,
                    })
                    .collect(),
                comment: r.comment,
                changed_or_tripped: r.changed_or_tripped,
                review: r.review.map(|lines| {
                    lines
                        .into_iter()
                        .map(|l| WireLine {
                            file: l.file,
                            line: l.line,
                            head: l.side == LineSide::Head,
                            opened: l.opened,
                            closed: l.closed,
                            environment: l.environment,
                            text: l.text,
                            example: l.example,
                            object: l.object,
                        })
                        .collect()
                }),
                diagnostics: r.diagnostics,
            })),
        }
    }
}

impl From<WireAnalysed> for Analysed {
    fn from(w: WireAnalysed) -> Analysed {
        match w {
            WireAnalysed::Input(l) => Analysed::Input(l),
            WireAnalysed::Setup(m) => Analysed::Setup(m),
            WireAnalysed::Refused { title, summary } => {
                Analysed::Refused(super::job::Refused { title, summary })
            }
            WireAnalysed::Reviewed(r) => {
                let r = *r;
                Analysed::Reviewed(Box::new(Reviewed {
                    // Only GitHub's conclusions cross; anything else is a
                    // failure rather than a value GitHub would refuse.
                    conclusion: match r.conclusion.as_str() {
                        "success" => "success",
                        "neutral" => "neutral",
                        _ => "failure",
                    },
                    outcome: match r.outcome {
                        WireOutcome::Success => Outcome::Success,
                        WireOutcome::GateTripped => Outcome::GateTripped,
                        WireOutcome::Other => Outcome::Error,
                    },
                    check: crate::github::CheckOutput {
                        title: r.title,
                        summary: r.summary,
                        text: r.text,
                    },
                    annotations: r
                        .annotations
                        .into_iter()
                        .map(|a| Annotation {
                            level: if a.error {
                                Level::Error
                            } else {
                                Level::Warning
                            },
                            file: a.file,
                            line: a.line,
                            title: a.title,
                            message: a.message,
                        })
                        .collect(),
                    comment: r.comment,
                    changed_or_tripped: r.changed_or_tripped,
                    review: r.review.map(|lines| {
                        lines
                            .into_iter()
                            .map(|l| ResponsibleLine {
                                file: l.file,
                                line: l.line,
                                side: if l.head {
                                    LineSide::Head
                                } else {
                                    LineSide::Base
                                },
                                opened: l.opened,
                                closed: l.closed,
                                environment: l.environment,
                                text: l.text,
                                example: l.example,
                                object: l.object,
                                head_line: None,
                            })
                            .collect()
                    }),
                    diagnostics: r.diagnostics,
                }))
            }
        }
    }
}

// ------------------------------------------------------------------ job

/// The analysis of `req` (a commit of `repo`) within `budget`, recorded in
/// `attempts` so that a commit that went over budget, or was being analysed
/// when the process died twice, is concluded instead of tried again.
pub fn analyse_recorded(
    attempts: &super::store::Attempts<'_>,
    budget: Budget,
    repo: &str,
    req: &AnalysisRequest,
) -> Analysed {
    use crate::ops::queue::Ended;
    let head = req.head_sha.as_str();
    match attempts.begin(repo, head, budget) {
        Ok(Ok(())) => {}
        Ok(Err(refusal)) => {
            tracing::warn!(?refusal, "not analysed again");
            return Analysed::Refused(refused_again(&refusal));
        }
        // Without the record the crash-loop guard is gone: better no
        // analysis than an unguarded one, and no conclusion either (the
        // pull request is not at fault; the job is taken again).
        Err(e) => return Analysed::Unrecorded(format!("the no-retry record: {e}")),
    }
    let (contained, usage) = run(req, budget);
    tracing::info!(
        peak_mib = usage.peak_bytes >> 20,
        seconds = usage.elapsed.as_secs_f64(),
        "analysis process ended"
    );
    let (ended, analysed) = match contained {
        Contained::Done(a) => (Ended::Finished, a),
        Contained::OverMemory => (Ended::OverMemory, Analysed::Refused(over_memory(budget))),
        Contained::OverTime => (Ended::OverTime, Analysed::Refused(over_time(budget))),
        Contained::Crashed(m) => (Ended::Finished, Analysed::Setup(m)),
    };
    if let Err(e) = attempts.end(repo, head, ended, budget) {
        tracing::error!(error = %e, "could not update the no-retry record");
    }
    analysed
}

const SPLIT: &str = "Split the change into smaller pull requests, or ask the App's operator to raise the budget (`--job-memory`, `--job-timeout`).";

pub fn over_memory(budget: Budget) -> super::job::Refused {
    super::job::Refused {
        title: format!(
            "Not analysed: over the per-job budget of {}",
            budget.memory_text()
        ),
        summary: format!(
            "Analysing this commit needed more than the {} reachdiff gives one job, so nothing about its reachability is known. The commit will not be analysed again with this budget.\n\n{SPLIT}",
            budget.memory_text()
        ),
    }
}

pub fn over_time(budget: Budget) -> super::job::Refused {
    super::job::Refused {
        title: format!(
            "Not analysed: over the per-job time budget of {}",
            budget.time_text()
        ),
        summary: format!(
            "Analysing this commit took longer than the {} reachdiff gives one job, so nothing about its reachability is known. The commit will not be analysed again with this budget.\n\n{SPLIT}",
            budget.time_text()
        ),
    }
}

fn refused_again(r: &crate::ops::queue::Refusal) -> super::job::Refused {
    use crate::ops::queue::Refusal;
    match r {
        Refusal::OverMemory { memory } => over_memory(Budget {
            memory: *memory,
            time: Budget::DEFAULT_TIME,
        }),
        Refusal::OverTime { seconds } => over_time(Budget {
            memory: Budget::DEFAULT_MEMORY,
            time: Duration::from_secs(*seconds),
        }),
        Refusal::Unfinished { attempts } => super::job::Refused {
            title: "Not analysed: reachdiff stopped while analysing this commit".into(),
            summary: format!(
                "reachdiff was analysing this commit when its process stopped, {attempts} times, so it is not analysed again (a commit must not stop the App in a loop). Nothing about its reachability is known.\n\n{SPLIT}"
            ),
        },
    }
}
