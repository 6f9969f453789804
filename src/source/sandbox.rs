//! Running the external tools reachdiff depends on (`kubectl kustomize`,
//! `kustomize build`, `helm template`, `git fetch`) with bounds: a time
//! limit, an output limit, their own process group, no input, and for the
//! render tools no network at all.
//!
//! # No network for renders, in layers
//!
//! A render reads a temporary export of the repository and must never
//! fetch. Three layers hold wherever reachdiff runs, including the
//! shipped image (non-root, no capabilities, default seccomp):
//!
//! 1. the kustomization is checked field by field before anything runs
//!    (`super::kustomize`; an unknown field is refused), and only the
//!    files it loads are exported, so nothing else is on disk;
//! 2. the environment is empty except for what is set here: no `PATH`
//!    (kustomize finds no `git` to clone with, helm no plugin), git's
//!    transports disabled (`GIT_ALLOW_PROTOCOL`, `protocol.allow=never`)
//!    in case a git is found anyway, and `HTTP_PROXY`/`HTTPS_PROXY`/
//!    `ALL_PROXY` pointing at a closed port, so Go's HTTP client (what
//!    kustomize and helm fetch with) cannot reach any host; Go never
//!    proxies loopback addresses, which this layer therefore does not
//!    cover;
//! 3. where the kernel lets an unprivileged process create a user and a
//!    network namespace (`unshare -Un`), the tool runs inside one, where
//!    no interface is up, loopback included;
//! 4. otherwise, where Landlock can restrict networking (Linux 6.7 or
//!    newer, and a seccomp profile that allows its system calls), the
//!    tool is started through reachdiff itself (`reachdiff
//!    __render-sandbox PROGRAM ARGS...`), which denies itself every TCP
//!    connection and bind, loopback included, then executes the tool,
//!    which inherits the restriction. This needs no privilege, so it is
//!    what closes loopback in the shipped image when its kernel allows.
//!
//! [`Isolation::detect`] probes 3 and 4 once; where neither is available,
//! layers 1 and 2 are what hold (and loopback is covered only by layer 1).

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A proxy nobody listens on: port 9 (discard) of loopback. Connections
/// are refused at once (inside a network namespace: unreachable).
pub const DEAD_PROXY: &str = "http://127.0.0.1:9";

/// How a render tool is kept off the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// Layers 1 and 2 only (see the module documentation).
    Environment,
    /// Also a fresh user and network namespace, entered with this
    /// `unshare` program.
    Namespace(PathBuf),
    /// Also Landlock: the tool is started through this reachdiff binary's
    /// `__render-sandbox`, which denies TCP before it executes the tool.
    Landlock(PathBuf),
}

/// The reachdiff binary that can act as the Landlock trampoline, recorded
/// by the front end when the program starts ([`set_trampoline`]).
static TRAMPOLINE: OnceLock<PathBuf> = OnceLock::new();

/// The argument that makes reachdiff a trampoline.
pub const TRAMPOLINE_ARG: &str = "__render-sandbox";

/// What the trampoline prints for `--probe` when TCP is denied.
pub const PROBE_OK: &str = "landlock-net-denied";

/// Records the binary that renders may be started through under Landlock
/// (`main` passes its own executable). Without it, Landlock is not used.
pub fn set_trampoline(exe: PathBuf) {
    let _ = TRAMPOLINE.set(exe);
}

/// Whether TCP is denied to this process: a connection to loopback must be
/// refused by Landlock, not by the absence of a listener.
pub fn tcp_is_denied() -> bool {
    std::net::TcpStream::connect(("127.0.0.1", 9))
        .is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
}

/// Denies this process and what it starts every TCP connect and bind.
pub fn deny_tcp() -> Result<(), String> {
    use landlock::{ABI, Access, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr};
    Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessNet::from_all(ABI::V4))
        .and_then(|r| r.create())
        .and_then(|r| r.restrict_self())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

impl Isolation {
    /// The strongest isolation this machine allows, probed once per
    /// process. `REACHDIFF_NO_NETNS=1` skips the namespace (tests use it to
    /// check what holds without one).
    pub fn detect() -> Isolation {
        static PROBED: OnceLock<Isolation> = OnceLock::new();
        PROBED
            .get_or_init(|| {
                let skip_netns = std::env::var_os("REACHDIFF_NO_NETNS").is_some_and(|v| v == "1");
                let namespace = find_program("unshare")
                    .filter(|_| !skip_netns)
                    .filter(|unshare| {
                        Command::new(unshare)
                            .args(["-Un", "--", "true"])
                            .env_clear()
                            .stdin(Stdio::null())
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .status()
                            .is_ok_and(|s| s.success())
                    });
                if let Some(unshare) = namespace {
                    return Isolation::Namespace(unshare);
                }
                match TRAMPOLINE.get() {
                    Some(t) if landlock_works(t) => Isolation::Landlock(t.clone()),
                    _ => Isolation::Environment,
                }
            })
            .clone()
    }

    /// One line for `reachdiff version --tools` and logs.
    pub fn describe(&self) -> &'static str {
        match self {
            Isolation::Namespace(_) => {
                "renders run in a network namespace, with no PATH and a dead proxy"
            }
            Isolation::Landlock(_) => {
                "renders run with TCP denied by Landlock, no PATH and a dead proxy (no network namespace available here)"
            }
            Isolation::Environment => {
                "renders run with no PATH and a dead proxy (neither a network namespace nor Landlock networking available here; loopback is covered by the field checks only)"
            }
        }
    }
}

/// Whether `trampoline --probe` confines itself (Landlock with network
/// rules, allowed by the seccomp profile).
pub fn landlock_works(trampoline: &Path) -> bool {
    Command::new(trampoline)
        .args([TRAMPOLINE_ARG, "--probe"])
        .env_clear()
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == PROBE_OK)
}

/// Limits of one child process.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub timeout: Duration,
    /// Largest stdout accepted, in bytes.
    pub max_output: usize,
}

/// A render tool's invocation: an absolute program, its arguments, the
/// directory it runs in and a private, empty home.
#[derive(Debug)]
pub struct ToolRun<'a> {
    pub program: &'a Path,
    pub args: &'a [OsString],
    pub dir: &'a Path,
    pub home: &'a Path,
    pub isolation: &'a Isolation,
}

impl ToolRun<'_> {
    /// The command with the render environment (see the module
    /// documentation), nothing inherited.
    pub fn command(&self) -> Command {
        let mut c = match self.isolation {
            Isolation::Namespace(unshare) => {
                let mut c = Command::new(unshare);
                c.args(["-Un", "--"]).arg(self.program);
                c
            }
            Isolation::Landlock(trampoline) => {
                let mut c = Command::new(trampoline);
                c.arg(TRAMPOLINE_ARG).arg(self.program);
                c
            }
            Isolation::Environment => Command::new(self.program),
        };
        c.args(self.args).current_dir(self.dir).env_clear();
        for (k, v) in render_env(self.home) {
            c.env(k, v);
        }
        c
    }
}

/// The whole environment of a render tool. No `PATH`: the tool is started
/// by absolute path and must find nothing else to run.
pub fn render_env(home: &Path) -> Vec<(String, OsString)> {
    let mut env: Vec<(String, OsString)> = vec![
        ("HOME".into(), home.into()),
        ("XDG_CACHE_HOME".into(), home.join(".cache").into()),
        ("XDG_CONFIG_HOME".into(), home.join(".config").into()),
        ("XDG_DATA_HOME".into(), home.join(".data").into()),
        // helm keeps its repositories and plugins here: empty.
        ("HELM_CACHE_HOME".into(), home.join(".cache/helm").into()),
        ("HELM_CONFIG_HOME".into(), home.join(".config/helm").into()),
        ("HELM_DATA_HOME".into(), home.join(".data/helm").into()),
        (
            "HELM_PLUGINS".into(),
            home.join(".data/helm/plugins").into(),
        ),
        ("KUBECONFIG".into(), home.join(".kube/config").into()),
        ("NO_PROXY".into(), "".into()),
        ("no_proxy".into(), "".into()),
        ("GIT_TERMINAL_PROMPT".into(), "0".into()),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()),
        // Not a protocol: every transport is refused.
        ("GIT_ALLOW_PROTOCOL".into(), "none".into()),
        ("GIT_PROTOCOL_FROM_USER".into(), "0".into()),
        ("GIT_CONFIG_COUNT".into(), "1".into()),
        ("GIT_CONFIG_KEY_0".into(), "protocol.allow".into()),
        ("GIT_CONFIG_VALUE_0".into(), "never".into()),
        ("GIT_SSH_COMMAND".into(), "false".into()),
    ];
    for k in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        env.push((k.into(), DEAD_PROXY.into()));
    }
    env
}

/// `name` in one of the directories of this process's `PATH`, as an
/// absolute path.
pub fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then(|| std::path::absolute(&p).unwrap_or(p));
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// What a finished child left.
#[derive(Debug)]
pub struct Finished {
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub status: std::process::ExitStatus,
}

/// Why a child did not finish normally.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot run {shown}: {source}")]
    Spawn {
        shown: String,
        source: std::io::Error,
    },
    #[error("{shown} did not finish within {:.1} s", .timeout.as_secs_f64())]
    Timeout { shown: String, timeout: Duration },
    #[error("{shown}: output larger than {limit} bytes")]
    TooLarge { shown: String, limit: usize },
    #[error("{shown}: stopped: {why}")]
    Stopped { shown: String, why: String },
    #[error("{shown}: {message}")]
    Io { shown: String, message: String },
}

/// Runs `command` with no input, in its own process group, under `limits`.
/// `watch` is asked every 50 ms whether to go on (`Err(why)` stops the
/// whole group: a fetch filling the disk). `shown` names the command in
/// errors.
pub fn run(
    mut command: Command,
    shown: &str,
    limits: Limits,
    watch: &mut dyn FnMut() -> Result<(), String>,
) -> Result<Finished, RunError> {
    let shown = shown.to_string();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout ends whatever it started.
        .process_group(0)
        .spawn()
        .map_err(|source| RunError::Spawn {
            shown: shown.clone(),
            source,
        })?;
    let io = |message: String| RunError::Io {
        shown: shown.clone(),
        message,
    };
    let limit = limits.max_output as u64;
    let mut stdout = child.stdout.take().ok_or_else(|| io("no stdout".into()))?;
    let mut stderr = child.stderr.take().ok_or_else(|| io("no stderr".into()))?;
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let r = (&mut stdout).take(limit + 1).read_to_end(&mut buf);
        // Drain the rest so the tool is never blocked on a full pipe.
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        r.map(|_| buf)
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stderr).take(64 << 10).read_to_end(&mut buf);
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        buf
    });
    let start = Instant::now();
    let mut last_watch = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > limits.timeout => {
                kill_group(&mut child);
                return Err(RunError::Timeout {
                    shown,
                    timeout: limits.timeout,
                });
            }
            Ok(None) => {
                if last_watch.elapsed() >= Duration::from_millis(50) {
                    last_watch = Instant::now();
                    if let Err(why) = watch() {
                        kill_group(&mut child);
                        return Err(RunError::Stopped { shown, why });
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(io(e.to_string())),
        }
    };
    let stdout = out
        .join()
        .map_err(|_| io("reading output failed".into()))?
        .map_err(|e| io(e.to_string()))?;
    let stderr = err.join().unwrap_or_default();
    if stdout.len() as u64 > limit {
        return Err(RunError::TooLarge {
            shown,
            limit: limits.max_output,
        });
    }
    Ok(Finished {
        stdout,
        stderr: String::from_utf8_lossy(&stderr).trim().to_string(),
        status,
    })
}

/// Ends the child's whole process group (the tool and anything it
/// started, which would otherwise hold the pipes open). The pipe readers
/// are left to finish on their own: a survivor must not hang reachdiff.
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(ms: u64, max_output: usize) -> Limits {
        Limits {
            timeout: Duration::from_millis(ms),
            max_output,
        }
    }

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn time_output_and_watch_limits() {
        let start = Instant::now();
        let e = run(sh("sleep 5"), "slow", limits(200, 1000), &mut || Ok(())).unwrap_err();
        assert!(e.to_string().contains("did not finish within 0.2 s"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(4));
        let e = run(
            sh("yes | head -c 100000"),
            "big",
            limits(20_000, 1000),
            &mut || Ok(()),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("output larger than 1000 bytes"),
            "{e}"
        );
        let mut calls = 0;
        let e = run(sh("sleep 5"), "watched", limits(20_000, 1000), &mut || {
            calls += 1;
            if calls > 2 {
                Err("enough".into())
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "watched: stopped: enough");
        let done = run(
            sh("echo out; echo boom >&2; exit 3"),
            "failing",
            limits(20_000, 1000),
            &mut || Ok(()),
        )
        .unwrap();
        assert_eq!(done.stdout, b"out\n");
        assert_eq!(done.stderr, "boom");
        assert_eq!(done.status.code(), Some(3));
    }

    #[test]
    fn render_environment_has_no_path_and_a_dead_proxy() {
        let home = Path::new("/nonexistent-home");
        let env = render_env(home);
        assert!(env.iter().all(|(k, _)| k != "PATH"));
        for k in ["HTTP_PROXY", "https_proxy", "ALL_PROXY"] {
            assert!(env.iter().any(|(n, v)| n == k && v == DEAD_PROXY), "{k}");
        }
        // What the child really sees: exactly this, nothing inherited.
        let sh = find_program("sh").unwrap();
        let tool = ToolRun {
            program: &sh,
            args: &["-c".into(), "env".into()],
            dir: Path::new("/"),
            home,
            isolation: &Isolation::Environment,
        };
        let out = run(tool.command(), "env", limits(20_000, 1 << 20), &mut || {
            Ok(())
        })
        .unwrap();
        let seen = String::from_utf8(out.stdout).unwrap();
        let mut names: Vec<&str> = seen
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            // The shell itself sets these.
            .filter(|k| !["PWD", "SHLVL", "_", "OLDPWD"].contains(k))
            .collect();
        names.sort_unstable();
        let mut expected: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        expected.sort_unstable();
        assert_eq!(names, expected);
    }
}
