//! Rendering kustomizations with `kubectl kustomize` or `kustomize build`,
//! safely: from a temporary export of one revision's tree, with the load
//! restrictor on, no plugins (`--enable-alpha-plugins` and `--enable-helm`
//! are never passed, and kustomizations that declare generators,
//! transformers, validators or Helm charts are refused before anything
//! runs), no remote bases (every `resources`/`bases`/`components` entry must
//! be a file or directory of the revision, inside it), a clean environment,
//! a time limit and an output size limit.

use crate::config::{KustomizeTool, RenderConfig};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// File names that make a directory a kustomization.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Fields that run code or fetch charts: refused outright.
const PLUGIN_FIELDS: [&str; 6] = [
    "generators",
    "transformers",
    "validators",
    "helmCharts",
    "helmGlobals",
    "helmChartInflationGenerator",
];

/// Fields whose entries name other files or kustomizations to load.
const RESOURCE_FIELDS: [&str; 3] = ["resources", "bases", "components"];

/// Fields whose entries name files to load: never remote.
const FILE_FIELDS: [&str; 2] = ["crds", "configurations"];

/// The rendering tool and its limits.
#[derive(Clone, Debug)]
pub struct Kustomize {
    /// The program and the arguments before the directory
    /// (`kubectl kustomize` or `kustomize build`).
    pub command: Vec<String>,
    pub timeout: Duration,
    pub max_output: usize,
}

impl Kustomize {
    /// `kubectl` (with its built-in kustomize) if on PATH, else `kustomize`.
    pub fn detect() -> Option<Kustomize> {
        Kustomize::with("kubectl").or_else(|| Kustomize::with("kustomize"))
    }

    /// `kubectl kustomize` or `kustomize build`, if that program is on PATH.
    pub fn with(program: &str) -> Option<Kustomize> {
        let command = match program {
            "kubectl" => ["kubectl", "kustomize"],
            "kustomize" => ["kustomize", "build"],
            _ => return None,
        };
        if !on_path(program) {
            return None;
        }
        Some(Kustomize {
            command: command.iter().map(|s| s.to_string()).collect(),
            timeout: Duration::from_secs(60),
            max_output: super::fs::MAX_FILE_BYTES as usize,
        })
    }

    /// Renders `dir` (relative to `root`, the export of one revision).
    /// Checks every kustomization the render would load first.
    pub fn render(&self, root: &Path, dir: &str) -> Result<String, String> {
        check_tree(root, dir, 0)?;
        let mut command = self.command.clone();
        command.push(if dir.is_empty() { "." } else { dir }.to_string());
        command.extend([
            "--load-restrictor".into(),
            "LoadRestrictionsRootOnly".into(),
        ]);
        run_limited(&command, root, self.timeout, self.max_output)
    }
}

/// `helm template` for chart directories (a `Chart.yaml`).
#[derive(Clone, Debug)]
pub struct Helm {
    pub program: String,
    pub timeout: Duration,
    pub max_output: usize,
}

/// How one chart is rendered.
#[derive(Clone, Debug, Default)]
pub struct ChartOptions {
    pub release: String,
    pub namespace: Option<String>,
    /// Values files, relative to the repository root.
    pub values: Vec<String>,
}

impl Helm {
    /// `helm` if on PATH.
    pub fn detect() -> Option<Helm> {
        on_path("helm").then(|| Helm {
            program: "helm".into(),
            timeout: Duration::from_secs(60),
            max_output: super::fs::MAX_FILE_BYTES as usize,
        })
    }

    /// Renders the chart in `dir` (relative to `root`, the export of one
    /// revision) with `helm template`: no cluster access, no dependency
    /// download (a chart must vendor its dependencies in `charts/`), no
    /// post-renderer, values files only from the revision.
    pub fn render(&self, root: &Path, dir: &str, opts: &ChartOptions) -> Result<String, String> {
        let mut command = vec![
            self.program.clone(),
            "template".into(),
            opts.release.clone(),
            if dir.is_empty() { "." } else { dir }.to_string(),
        ];
        if let Some(ns) = &opts.namespace {
            command.extend(["--namespace".into(), ns.clone()]);
        }
        for v in &opts.values {
            let p = resolve("", v)
                .filter(|p| !v.starts_with('/') && root.join(p).is_file())
                .ok_or_else(|| format!("values file {v:?} is not a file of this revision"))?;
            command.extend(["--values".into(), p]);
        }
        run_limited(&command, root, self.timeout, self.max_output)
    }
}

/// Runs `command` in `root` with a clean environment (PATH only; HOME and
/// tool caches inside `root`), no input, its own process group, a time
/// limit and an output limit. Returns stdout, or the tool's message.
fn run_limited(
    command: &[String],
    root: &Path,
    timeout: Duration,
    max_output: usize,
) -> Result<String, String> {
    let shown = command.join(" ");
    {
        let (program, args) = command.split_first().ok_or("no command")?;
        let mut child = Command::new(program)
            .args(args)
            .current_dir(root)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", root)
            .env("XDG_CACHE_HOME", root.join(".cache"))
            .env("XDG_CONFIG_HOME", root.join(".config"))
            .env("XDG_DATA_HOME", root.join(".data"))
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout ends whatever it started.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run {shown}: {e}"))?;
        let limit = max_output as u64;
        let mut stdout = child.stdout.take().ok_or("no stdout")?;
        let mut stderr = child.stderr.take().ok_or("no stderr")?;
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
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if start.elapsed() > timeout => {
                    // The whole group: the tool and anything it started
                    // (which would otherwise hold the pipes open).
                    let _ = Command::new("kill")
                        .args(["-KILL", "--", &format!("-{}", child.id())])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status();
                    let _ = child.kill();
                    let _ = child.wait();
                    // The readers are left to finish on their own: a
                    // survivor holding the pipes must not hang reachdiff.
                    drop((out, err));
                    return Err(format!(
                        "{shown} did not finish within {:.1} s",
                        timeout.as_secs_f64()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(e.to_string()),
            }
        };
        let stdout = out
            .join()
            .map_err(|_| "reading output failed".to_string())?
            .map_err(|e| e.to_string())?;
        let stderr = err.join().unwrap_or_default();
        if !status.success() {
            let msg = String::from_utf8_lossy(&stderr);
            let msg = msg.trim();
            return Err(format!(
                "{shown} failed ({status}): {}",
                if msg.is_empty() { "no message" } else { msg }
            ));
        }
        if stdout.len() as u64 > limit {
            return Err(format!("output larger than {limit} bytes"));
        }
        String::from_utf8(stdout).map_err(|_| "output is not UTF-8".to_string())
    }
}

/// The tool to render with per configuration: `None` when rendering is
/// off, `Some(None)` when it is on but no tool is installed.
pub fn from_config(cfg: &RenderConfig) -> Option<Option<Kustomize>> {
    if cfg.kustomize == Some(false) {
        return None;
    }
    let found = match cfg.tool {
        None => Kustomize::detect(),
        Some(KustomizeTool::Kubectl) => Kustomize::with("kubectl"),
        Some(KustomizeTool::Kustomize) => Kustomize::with("kustomize"),
    };
    Some(found.map(|mut k| {
        if let Some(t) = cfg.timeout_seconds {
            k.timeout = Duration::from_secs(t);
        }
        k
    }))
}

/// Helm rendering per configuration: `None` when off; otherwise the tool
/// (if installed) and the options of each configured chart, keyed by its
/// normalised directory.
#[allow(clippy::type_complexity)]
pub fn helm_from_config(
    cfg: &RenderConfig,
) -> Option<(
    Option<Helm>,
    std::collections::HashMap<String, ChartOptions>,
)> {
    if cfg.helm == Some(false) {
        return None;
    }
    let helm = Helm::detect().map(|mut h| {
        if let Some(t) = cfg.timeout_seconds {
            h.timeout = Duration::from_secs(t);
        }
        h
    });
    let charts = cfg
        .charts
        .iter()
        .map(|c| {
            let dir = resolve("", &c.path).unwrap_or_default();
            let release = c
                .release
                .clone()
                .unwrap_or_else(|| dir.rsplit('/').next().unwrap_or("release").to_string());
            (
                dir,
                ChartOptions {
                    release,
                    namespace: c.namespace.clone(),
                    values: c.values.clone(),
                },
            )
        })
        .collect();
    Some((helm, charts))
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            let p = d.join(name);
            p.is_file()
        })
    })
}

/// Checks the kustomization in `dir` and, recursively, every local
/// kustomization it loads. `dir` is relative to `root`.
fn check_tree(root: &Path, dir: &str, depth: usize) -> Result<(), String> {
    if depth > 32 {
        return Err(format!("{dir}: kustomizations nested too deeply"));
    }
    let Some((file, text)) = KUSTOMIZATION_FILES.iter().find_map(|f| {
        let p = root.join(dir).join(f);
        std::fs::read_to_string(&p).ok().map(|t| (join(dir, f), t))
    }) else {
        return Ok(()); // a plain directory of resources
    };
    let entries = check_kustomization(&file, &text)?;
    for e in entries {
        let target = resolve(dir, &e).ok_or_else(|| {
            format!(
                "{file}: {e:?} leaves the repository; only paths inside the revision are loaded"
            )
        })?;
        let p = root.join(&target);
        if p.is_dir() {
            check_tree(root, &target, depth + 1)?;
        } else if !p.is_file() {
            return Err(format!(
                "{file}: {e:?} is neither a file nor a directory of this revision; remote resources and bases are refused"
            ));
        }
    }
    Ok(())
}

/// Refuses plugin fields and remote entries; returns the local entries of
/// `resources`, `bases` and `components`.
pub fn check_kustomization(file: &str, text: &str) -> Result<Vec<String>, String> {
    let v: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("{file}: not valid YAML: {e}"))?;
    let Some(map) = v.as_mapping() else {
        return Ok(Vec::new());
    };
    for f in PLUGIN_FIELDS {
        if map.get(f).is_some_and(|x| !x.is_null()) {
            return Err(format!(
                "{file}: `{f}` is refused: reachdiff never runs kustomize plugins or Helm (render it in CI and commit the output instead)"
            ));
        }
    }
    let remote = |s: &str| {
        s.contains("://")
            || s.starts_with("git@")
            || s.starts_with("ssh:")
            || s.contains("?ref=")
            || s.contains("?version=")
            || s.starts_with('/')
    };
    for f in FILE_FIELDS {
        for item in map
            .get(f)
            .and_then(|v| v.as_sequence())
            .into_iter()
            .flatten()
        {
            if item.as_str().is_some_and(remote) {
                return Err(format!(
                    "{file}: {f} entry {item:?} is remote or absolute; only files of the revision are loaded"
                ));
            }
        }
    }
    if let Some(p) = map
        .get("openapi")
        .and_then(|o| o.get("path"))
        .and_then(|p| p.as_str())
        .filter(|p| remote(p))
    {
        return Err(format!(
            "{file}: openapi.path {p:?} is remote or absolute; only files of the revision are loaded"
        ));
    }
    let mut out = Vec::new();
    for f in RESOURCE_FIELDS {
        let Some(list) = map.get(f) else { continue };
        let Some(items) = list.as_sequence() else {
            return Err(format!("{file}: `{f}` must be a list"));
        };
        for item in items {
            let Some(s) = item.as_str() else {
                return Err(format!("{file}: `{f}` entries must be strings"));
            };
            if remote(s) {
                return Err(format!(
                    "{file}: {f} entry {s:?} is remote or absolute; remote resources and bases are refused"
                ));
            }
            out.push(s.to_string());
        }
    }
    Ok(out)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// `dir/entry` normalised; `None` if it leaves the root.
pub(crate) fn resolve(dir: &str, entry: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for c in entry.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// A temporary directory removed when dropped.
#[derive(Debug)]
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&path)?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_plugins_and_remote_entries() {
        let ok = check_kustomization("k.yaml", "resources: [a.yaml, ../base]\nnamespace: x\n");
        assert_eq!(ok.unwrap(), ["a.yaml", "../base"]);
        for (text, needle) in [
            ("generators: [gen.yaml]\n", "`generators` is refused"),
            ("transformers: [t.yaml]\n", "`transformers` is refused"),
            ("helmCharts: [{name: x}]\n", "`helmCharts` is refused"),
            (
                "resources: [https://github.com/o/r//base?ref=v1]\n",
                "remote or absolute",
            ),
            (
                "bases: [github.com/o/r/base?ref=main]\n",
                "remote or absolute",
            ),
            (
                "components: [git@github.com:o/r.git]\n",
                "remote or absolute",
            ),
            ("resources: [/etc]\n", "remote or absolute"),
            (
                "crds: [https://example.com/crd.json]\n",
                "remote or absolute",
            ),
            (
                "openapi: {path: 'https://example.com/s.json'}\n",
                "remote or absolute",
            ),
        ] {
            let e = check_kustomization("k.yaml", text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
            assert!(e.starts_with("k.yaml: "), "{e}");
        }
    }

    #[test]
    fn time_and_output_limits() {
        let dir = TempDir::new("reachdiff-render-test").unwrap();
        let slow = Kustomize {
            command: vec!["sh".into(), "-c".into(), "sleep 5".into()],
            timeout: Duration::from_millis(200),
            max_output: 1000,
        };
        let start = Instant::now();
        let e = slow.render(&dir.path, "").unwrap_err();
        assert!(e.contains("did not finish within 0.2 s"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(4));
        let big = Kustomize {
            command: vec!["sh".into(), "-c".into(), "yes | head -c 100000".into()],
            timeout: Duration::from_secs(20),
            max_output: 1000,
        };
        let e = big.render(&dir.path, "").unwrap_err();
        assert!(e.contains("output larger than 1000 bytes"), "{e}");
        let failing = Kustomize {
            command: vec!["sh".into(), "-c".into(), "echo boom >&2; exit 3".into()],
            timeout: Duration::from_secs(20),
            max_output: 1000,
        };
        let e = failing.render(&dir.path, "").unwrap_err();
        assert!(e.ends_with(": boom"), "{e}");
    }

    #[test]
    fn resolve_stays_inside() {
        assert_eq!(resolve("o/p", "../../b").as_deref(), Some("b"));
        assert_eq!(resolve("o", "../../b"), None);
    }
}
