//! The operations layer: what a front end asks for, in plain types, and
//! what it gets back, typed. The command line, the GitHub Action and the
//! GitHub App all run the product through here (as cargo's `ops` serves
//! its commands), so a new option is added once and reaches all three.
//!
//! - [`one`]: one revision from paths or a commit, loaded and analysed
//!   (`reach`, `lint`);
//! - [`diff`]: a [`diff::DiffRequest`] (folders, or commits of a
//!   repository; environments, gates, links) → one
//!   [`crate::review::Review`] per environment;
//! - [`queue`]: the App's jobs behind one interface ([`queue::JobQueue`]),
//!   in the process or shared by replicas in PostgreSQL.
//!
//! Nothing here prints, probes a terminal or reads the environment:
//! diagnostics travel in the results and each front end shows them its own
//! way (the CLI on stderr, the Action as workflow commands, the App as
//! structured log fields). Phase times are reported to an observer, so the
//! clock stays with the caller. Reading files and git objects happens here
//! (through [`crate::source`]); everything below is pure.

pub mod diff;
pub mod environments;
pub mod one;
pub mod queue;

use crate::analysis::{Failed, Options, Phase};
use crate::diag::Diagnostic;
use crate::manifest::LoadOptions;
use crate::review::{Side, SideError};

/// Settings every analysis takes from its front end.
#[derive(Clone, Debug)]
pub struct AnalysisSettings {
    /// Namespace of objects that carry none.
    pub namespace: String,
    /// Partition the IPv6 space even when no IPv6 block appears.
    pub dual_stack: bool,
    /// Only the workloads of the input: no representatives of the rest of
    /// the cluster (docs/open-world.md). The front end's word is final:
    /// `closed-world: false` in the configuration does not reopen it;
    /// `closed-world: true` there closes the default open world.
    pub closed_world: bool,
    /// `--cni`: the CNI every environment runs (CC-17); None: the
    /// configuration's `cni:`, else decided from the objects.
    pub cni: Option<crate::analysis::Cni>,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        AnalysisSettings {
            namespace: "default".into(),
            dual_stack: false,
            // The open world by default: the closed one reports "no
            // change" for a pull request that opens an application to
            // every namespace (docs/open-world.md).
            closed_world: false,
            cni: None,
        }
    }
}

impl AnalysisSettings {
    /// The analysis options before a configuration adds to them.
    fn options(&self) -> Options {
        Options {
            load: LoadOptions {
                default_namespace: self.namespace.clone(),
                ..LoadOptions::default()
            },
            dual_stack: self.dual_stack,
            external_peers: Vec::new(),
            open_world: (!self.closed_world).then(|| crate::reach::open_world::ClusterSpec {
                builtin_dns: true,
                ..Default::default()
            }),
            proposed_acknowledgements: Vec::new(),
            tip_annotations: None,
            cni: self.cni.map(|c| (c, "--cni".to_string())),
        }
    }
}

/// Configuration that joins the analysis options.
fn configure(opts: &mut Options, cfg: &crate::config::Config) -> Result<(), OpsError> {
    opts.load.external_namespaces = cfg.external_namespaces();
    opts.load.acknowledgements = cfg.acknowledgements();
    opts.external_peers = cfg.external_peers()?;
    cfg.apply_cluster(opts)?;
    if let (None, Some(c)) = (&opts.cni, cfg.cni) {
        opts.cni = Some((c.cni(), "`cni:` in .reachdiff.yaml".to_string()));
    }
    Ok(())
}

/// Observes phases (the CLI's `--timings`); `&mut |_| {}` ignores them.
pub type Observer<'a> = &'a mut dyn FnMut(Phase);

/// One error that stopped an analysis, with where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// The environment, when the repository has several.
    pub environment: Option<String>,
    /// `base` or `head` of a diff; none for one revision.
    pub side: Option<Side>,
    pub error: SideError,
}

/// Manifests that could not be analysed: every error of every side and
/// environment that failed.
#[derive(Debug, Default)]
pub struct InputFailure {
    pub errors: Vec<InputError>,
}

impl InputFailure {
    /// Adds errors; `side` says whether they belong to a side of a diff.
    fn add(&mut self, environment: Option<&str>, side: Option<Side>, errors: &[SideError]) {
        self.errors.extend(errors.iter().map(|e| InputError {
            environment: environment.map(str::to_string),
            side,
            error: e.clone(),
        }));
    }

    /// One message per error, prefixed with where it happened
    /// (`environment prod: head: k8s/web.yaml:3: …`), raw: a front end
    /// neutralises it for where it goes.
    pub fn messages(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|e| {
                let prefix = match (&e.environment, e.side) {
                    (Some(env), Some(s)) => format!("environment {env}: {}: ", s.as_str()),
                    (Some(env), None) => format!("environment {env}: "),
                    (None, Some(s)) => format!("{}: ", s.as_str()),
                    (None, None) => String::new(),
                };
                format!("{prefix}{}", e.error)
            })
            .collect()
    }
}

/// The error diagnostics of a failed analysis as errors of `side`.
pub(crate) fn errors_of(side: Side, f: &Failed) -> Vec<SideError> {
    f.errors().map(|d| diagnostic_error(side, d)).collect()
}

/// A diagnostic as an error of `side`: its file and line, the rest as the
/// message.
fn diagnostic_error(side: Side, d: &Diagnostic) -> SideError {
    let mut message = String::new();
    if let Some(o) = &d.object {
        message.push_str(&format!("{o}: "));
    }
    if let Some(f) = &d.field {
        message.push_str(&format!("{f}: "));
    }
    message.push_str(&d.message);
    SideError {
        side,
        file: d.span.as_ref().map(|s| s.file.clone()),
        line: d.span.as_ref().map(|s| s.line),
        col: d.span.as_ref().map(|s| s.col),
        revision: None,
        message,
    }
}

/// A read or render error of `side`: the directory or file it concerns,
/// the revision, and the message without them.
pub(crate) fn git_error(side: Side, e: &crate::source::git::GitError) -> SideError {
    use crate::source::git::GitError;
    let at = |path: &String, rev: &String, message: String| {
        (Some(path.clone()), Some(rev.clone()), message)
    };
    let (file, revision, message) = match e {
        GitError::Render { dir, rev, message } => at(
            dir,
            rev,
            format!("cannot render: {}", strip_log_headers(message)),
        ),
        GitError::MissingPath { path, rev } => at(
            path,
            rev,
            "no such file or directory in this revision".into(),
        ),
        GitError::NotUtf8 { path, rev } => at(path, rev, "not valid UTF-8 text".into()),
        GitError::TooLarge { path, rev, limit } => {
            at(path, rev, format!("larger than {limit} bytes"))
        }
        GitError::BadLink {
            path,
            rev,
            target,
            problem,
        } => at(path, rev, format!("symbolic link {target:?} {problem}")),
        other => (None, None, other.to_string()),
    };
    SideError {
        side,
        file,
        line: None,
        col: None,
        revision,
        message,
    }
}

/// A tool's message without the Go log headers kubectl prints
/// (`E1207 14:59:57.582118   20632 run.go:72] `): they hold a time and a
/// process id, so the same failure on both sides would never read the
/// same.
fn strip_log_headers(message: &str) -> String {
    fn header_len(line: &str) -> Option<usize> {
        let b = line.as_bytes();
        let digits = |from: usize, n: usize| {
            b.get(from..from + n)
                .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
        };
        if !matches!(b.first(), Some(b'I' | b'W' | b'E' | b'F'))
            || !digits(1, 4)
            || b.get(5) != Some(&b' ')
            || !digits(6, 2)
            || b.get(8) != Some(&b':')
        {
            return None;
        }
        let end = line.find("] ")?;
        // `file.go:NN` just before the bracket.
        line[..end]
            .rsplit(' ')
            .next()?
            .contains(".go:")
            .then_some(end + 2)
    }
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    let mut at_start = true;
    while let Some(c) = rest.chars().next() {
        if at_start && let Some(n) = header_len(rest) {
            rest = &rest[n..];
            continue;
        }
        at_start = c.is_whitespace();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Why an operation did not produce a result.
#[cfg(test)]
mod tests {
    #[test]
    fn log_headers_are_stripped() {
        let m = "kubectl kustomize app failed (exit status: 1): E1207 14:59:57.582118   20632 run.go:72] \"command failed\" err=\"x\"";
        assert_eq!(
            super::strip_log_headers(m),
            m.replace("E1207 14:59:57.582118   20632 run.go:72] ", "")
        );
        assert_eq!(
            super::strip_log_headers("E1207 nothing] x"),
            "E1207 nothing] x"
        );
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The manifests could not be analysed (not an error of the request).
    #[error("{}", .0.messages().join("; "))]
    Input(InputFailure),
    #[error(transparent)]
    Git(#[from] crate::source::git::GitError),
    #[error(transparent)]
    Source(#[from] crate::source::fs::SourceError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Rules(#[from] crate::review::gate::RulesError),
    /// A file named by the request could not be read.
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    /// The request does not fit the repository (an unknown environment, …).
    #[error("{0}")]
    Usage(String),
}
