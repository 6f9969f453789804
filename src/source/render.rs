//! Rendering kustomizations (`kubectl kustomize` or `kustomize build`) and
//! Helm charts (`helm template`), safely.
//!
//! What may run is decided before anything runs: `super::kustomize`
//! checks every field of every kustomization a render loads (no plugins
//! but kustomize's built-ins, nothing remote, nothing outside the
//! revision) and yields the files the render reads, and only those are
//! exported to a private temporary directory. The tools then run there
//! under `super::sandbox`: no network, no `PATH`, an empty home, their
//! own process group, a time limit and an output limit.
//!
//! No repository text ever becomes an option of a tool: directories are
//! passed as `./DIR` after `--`, values files as `--values=./FILE`, and a
//! release name or namespace must be a DNS-1123 name (a default release
//! name derived from a directory is made into one). `--enable-helm`,
//! `--enable-alpha-plugins`, `--post-renderer` and `--dependency-update`
//! are never passed.

use super::sandbox::{self, Isolation, Limits, ToolRun};
use crate::config::{KustomizeTool, RenderConfig};
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use super::kustomize::KUSTOMIZATION_FILES;

/// A temporary export of the files one render reads, with a private home
/// for the tool beside it.
#[derive(Debug)]
pub struct Export {
    dir: TempDir,
}

impl Export {
    /// SECURITY: a private repository's files are nobody else's to read on
    /// a shared machine: directories 0700, files 0600.
    pub fn new() -> std::io::Result<Export> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = TempDir::new("reachdiff-export")?;
        for sub in ["tree", "home"] {
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(dir.path.join(sub))?;
        }
        Ok(Export { dir })
    }

    /// Where the revision's files go.
    pub fn root(&self) -> PathBuf {
        self.dir.path.join("tree")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path.join("home")
    }

    /// Writes one repository file.
    pub fn write(&self, path: &str, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let target = self.root().join(path);
        if let Some(parent) = target.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(target)?
            .write_all(bytes)
    }

    /// A tool's message without the export's own location.
    fn scrub(&self, message: &str) -> String {
        let root = self.root();
        message
            .replace(&format!("{}/", root.display()), "")
            .replace(&root.display().to_string(), ".")
    }
}

/// `./DIR`: never read as an option, whatever the directory is called.
fn dot_path(dir: &str) -> OsString {
    if dir.is_empty() {
        ".".into()
    } else {
        format!("./{dir}").into()
    }
}

/// The rendering tool and its limits.
#[derive(Clone, Debug)]
pub struct Kustomize {
    /// The program, by absolute path (nothing is looked up at render time).
    pub program: PathBuf,
    /// Arguments before the options (`kustomize` or `build`).
    pub subcommand: Vec<OsString>,
    pub timeout: Duration,
    pub max_output: usize,
    pub isolation: Isolation,
}

impl Kustomize {
    /// `kubectl` (with its built-in kustomize) if on PATH, else `kustomize`.
    pub fn detect() -> Option<Kustomize> {
        Kustomize::with("kubectl").or_else(|| Kustomize::with("kustomize"))
    }

    /// `kubectl kustomize` or `kustomize build`, if that program is on PATH.
    pub fn with(program: &str) -> Option<Kustomize> {
        let subcommand = match program {
            "kubectl" => "kustomize",
            "kustomize" => "build",
            _ => return None,
        };
        Some(Kustomize {
            program: sandbox::find_program(program)?,
            subcommand: vec![subcommand.into()],
            timeout: Duration::from_secs(60),
            max_output: super::fs::MAX_FILE_BYTES as usize,
            isolation: Isolation::detect(),
        })
    }

    /// The arguments that render `dir` (relative to the export's root).
    pub fn args(&self, dir: &str) -> Vec<OsString> {
        let mut args = self.subcommand.clone();
        args.extend([
            "--load-restrictor".into(),
            "LoadRestrictionsRootOnly".into(),
            "--".into(),
            dot_path(dir),
        ]);
        args
    }

    /// Renders `dir` of an export whose closure was checked.
    pub fn render(&self, export: &Export, dir: &str) -> Result<String, String> {
        let args = self.args(dir);
        run_tool(&self.program, &args, export, self.limits(), &self.isolation)
    }

    fn limits(&self) -> Limits {
        Limits {
            timeout: self.timeout,
            max_output: self.max_output,
        }
    }
}

/// `helm template` for chart directories (a `Chart.yaml`).
#[derive(Clone, Debug)]
pub struct Helm {
    pub program: PathBuf,
    pub timeout: Duration,
    pub max_output: usize,
    pub isolation: Isolation,
}

/// How one chart is rendered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChartOptions {
    pub release: String,
    pub namespace: Option<String>,
    /// Values files, relative to the repository root.
    pub values: Vec<String>,
}

impl ChartOptions {
    /// The options of a chart in `dir` that configuration does not name:
    /// released under its directory's name, made a valid release name.
    pub fn for_dir(dir: &str) -> ChartOptions {
        ChartOptions {
            release: default_release(dir.rsplit('/').next().unwrap_or("")),
            ..ChartOptions::default()
        }
    }

    /// Refuses a release name or namespace that is not a DNS-1123 name, and
    /// values files that are not normalised repository paths.
    pub fn validate(&self) -> Result<(), String> {
        if !valid_release(&self.release) {
            return Err(format!(
                "release name {:?} is not a valid Helm release name (lowercase letters, digits, \
                 `-` and `.`, starting and ending with a letter or digit, at most 53 characters)",
                self.release
            ));
        }
        if let Some(ns) = &self.namespace
            && !valid_label(ns, 63)
        {
            return Err(format!(
                "namespace {ns:?} is not a valid namespace name (lowercase letters, digits and `-`, \
                 at most 63 characters)"
            ));
        }
        for v in &self.values {
            if v.is_empty() || v.starts_with('/') || resolve("", v).as_deref() != Some(v) {
                return Err(format!(
                    "values file {v:?} must be a repository path such as `envs/prod.yaml`"
                ));
            }
        }
        Ok(())
    }
}

/// A Helm release name: a DNS-1123 subdomain of at most 53 characters
/// (what helm itself accepts).
pub fn valid_release(name: &str) -> bool {
    name.len() <= 53 && !name.is_empty() && name.split('.').all(|l| valid_label(l, 63))
}

/// A DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn valid_label(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A valid release name made from a directory name: lowercased, other
/// characters turned into `-`, trimmed; `release` if nothing is left.
pub fn default_release(dir_name: &str) -> String {
    let mut out = String::new();
    for c in dir_name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(53);
    let out = out.trim_matches('-');
    if out.is_empty() {
        "release".into()
    } else {
        out.to_string()
    }
}

impl Helm {
    /// `helm` if on PATH.
    pub fn detect() -> Option<Helm> {
        Some(Helm {
            program: sandbox::find_program("helm")?,
            timeout: Duration::from_secs(60),
            max_output: super::fs::MAX_FILE_BYTES as usize,
            isolation: Isolation::detect(),
        })
    }

    /// The arguments that render the chart in `dir` (relative to the
    /// export's root): no cluster access, no dependency download (a chart
    /// vendors its dependencies in `charts/`), no post-renderer, values
    /// files only from the revision.
    pub fn args(dir: &str, opts: &ChartOptions) -> Result<Vec<OsString>, String> {
        opts.validate()?;
        // Test hooks are run by `helm test`, never deployed by a GitOps
        // tool, and their names are often random.
        let mut args: Vec<OsString> = vec!["template".into(), "--skip-tests".into()];
        if let Some(ns) = &opts.namespace {
            args.push(format!("--namespace={ns}").into());
        }
        for v in &opts.values {
            args.push(format!("--values=./{v}").into());
        }
        args.extend(["--".into(), opts.release.clone().into(), dot_path(dir)]);
        Ok(args)
    }

    /// Renders the chart in `dir` of an export holding the chart and its
    /// values files. helm's message for dependencies it would download
    /// gets the remedy.
    pub fn render(
        &self,
        export: &Export,
        dir: &str,
        opts: &ChartOptions,
    ) -> Result<String, String> {
        for v in &opts.values {
            if !export.root().join(v).is_file() {
                return Err(format!("values file {v:?} is not a file of this revision"));
            }
        }
        let args = Helm::args(dir, opts)?;
        let limits = Limits {
            timeout: self.timeout,
            max_output: self.max_output,
        };
        run_tool(&self.program, &args, export, limits, &self.isolation).map_err(|e| {
            if e.contains("missing in charts/ directory") {
                format!(
                    "{e} (reachdiff never downloads chart dependencies: run `helm dependency build` \
                     and commit the charts/ directory, or exclude this chart)"
                )
            } else {
                e
            }
        })
    }
}

/// Runs a render tool in the export; returns its output, or its message.
fn run_tool(
    program: &Path,
    args: &[OsString],
    export: &Export,
    limits: Limits,
    isolation: &Isolation,
) -> Result<String, String> {
    let (root, home) = (export.root(), export.home());
    let tool = ToolRun {
        program,
        args,
        dir: &root,
        home: &home,
        isolation,
    };
    let name = program.file_name().map_or_else(
        || program.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let shown = std::iter::once(name)
        .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let done = sandbox::run(tool.command(), &shown, limits, &mut || Ok(()))
        .map_err(|e| export.scrub(&e.to_string()))?;
    if !done.status.success() {
        let msg = export.scrub(&done.stderr);
        return Err(format!(
            "{shown} failed ({}): {}",
            done.status,
            if msg.is_empty() { "no message" } else { &msg }
        ));
    }
    String::from_utf8(done.stdout).map_err(|_| "output is not UTF-8".to_string())
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

/// Helm rendering per configuration.
#[derive(Clone, Debug, Default)]
pub struct HelmSetup {
    /// `helm`, if installed.
    pub helm: Option<Helm>,
    /// Options of configured charts, by normalised directory. Checked when
    /// the chart is rendered, so a bad name fails that chart only.
    pub charts: HashMap<String, ChartOptions>,
}

/// Helm rendering per configuration: `None` when off.
pub fn helm_from_config(cfg: &RenderConfig) -> Option<HelmSetup> {
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
            let mut opts = ChartOptions::for_dir(&dir);
            if let Some(r) = &c.release {
                opts.release = r.clone();
            }
            opts.namespace = c.namespace.clone();
            opts.values = c
                .values
                .iter()
                .map(|v| resolve("", v).unwrap_or_else(|| v.clone()))
                .collect();
            (dir, opts)
        })
        .collect();
    Some(HelmSetup { helm, charts })
}

/// The versions of the render tools on this machine, one line each, for
/// `reachdiff version --tools`.
pub fn tool_versions() -> Vec<String> {
    let probe = |program: &str, args: &[&str]| -> String {
        let Some(path) = sandbox::find_program(program) else {
            return format!("{program}: not installed");
        };
        let mut c = std::process::Command::new(&path);
        c.args(args).env_clear();
        let limits = Limits {
            timeout: Duration::from_secs(20),
            max_output: 1 << 16,
        };
        match sandbox::run(c, program, limits, &mut || Ok(())) {
            Ok(done) if done.status.success() => {
                let out = String::from_utf8_lossy(&done.stdout);
                let text = out.split_whitespace().collect::<Vec<_>>().join(" ");
                format!("{program}: {text} ({})", path.display())
            }
            Ok(done) => format!("{program}: {} failed: {}", path.display(), done.stderr),
            Err(e) => format!("{program}: {e}"),
        }
    };
    vec![
        probe("kubectl", &["version", "--client"]),
        probe("kustomize", &["version"]),
        probe("helm", &["version", "--short"]),
        format!("isolation: {}", Isolation::detect().describe()),
    ]
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

/// A private temporary directory (mode 0700), removed when dropped.
#[derive(Debug)]
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        use std::os::unix::fs::DirBuilderExt;
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
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests;
