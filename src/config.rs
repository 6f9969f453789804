//! `.reachdiff.yaml`: repository configuration (environments, file globs,
//! namespaces that live outside the repository, gates, report options).
//!
//! Front ends read it from the BASE revision only, never from the head of a
//! pull request, so a change cannot alter how it is judged. This module only
//! parses and validates text; it reads nothing itself.

use crate::model::selector::Labels;
use crate::review::gate::{GateRule, RulesFile};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The file name, at the repository root.
pub const FILE_NAME: &str = ".reachdiff.yaml";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Roots analysed each as its own cluster (none: the whole tree).
    #[serde(default)]
    pub environments: Vec<Environment>,
    /// Globs on repository-relative paths; a manifest must match one (none:
    /// every manifest).
    #[serde(default)]
    pub include: Vec<String>,
    /// Globs on repository-relative paths; a manifest matching one is skipped.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Namespaces that live outside the repository, and their labels.
    #[serde(default)]
    pub namespaces: BTreeMap<String, NamespaceConfig>,
    /// Gate rules, as in a `--rules` file.
    #[serde(default)]
    pub gates: Vec<GateRule>,
    /// Introduced findings of severity error fail the diff (as `--strict`).
    #[serde(default)]
    pub strict: bool,
    /// Findings marked as intended, with a reason: they are listed apart
    /// and never trip `--strict`.
    #[serde(default)]
    pub acknowledge: Vec<AcknowledgeConfig>,
    /// Known external address blocks by name (`partner-bank: [203.0.113.0/24]`);
    /// reports call a block by its name when it is exactly that set.
    #[serde(default)]
    pub external_peers: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub report: ReportConfig,
    #[serde(default)]
    pub render: RenderConfig,
    /// What exists in the cluster but not in the repository (OW-6).
    #[serde(default)]
    pub cluster: ClusterConfig,
    /// Only the workloads of the repository, no representatives of the rest
    /// of the cluster (as `--closed-world`). `false` or absent: the open
    /// world, the default, unless the command line says `--closed-world`.
    #[serde(default)]
    pub closed_world: Option<bool>,
    /// The CNI the clusters run (CC-17): `cilium`, `calico` or `none`;
    /// `--cni` wins. Absent: decided from the objects of the revisions.
    #[serde(default)]
    pub cni: Option<CniConfig>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CniConfig {
    Cilium,
    Calico,
    None,
}

impl CniConfig {
    pub fn cni(self) -> crate::analysis::Cni {
        match self {
            CniConfig::Cilium => crate::analysis::Cni::Cilium,
            CniConfig::Calico => crate::analysis::Cni::Calico,
            CniConfig::None => crate::analysis::Cni::Other,
        }
    }
}

/// One `acknowledge:` entry: a finding (by code and object, optionally a
/// field) and why it is intended.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AcknowledgeConfig {
    pub code: String,
    /// As findings name it: `NetworkPolicy shop/web`, `Namespace shop`.
    pub object: String,
    #[serde(default)]
    pub field: Option<String>,
    pub reason: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClusterConfig {
    /// Namespaces with their labels (the same as top-level `namespaces:`;
    /// a namespace may be declared in one of the two only).
    #[serde(default)]
    pub namespaces: BTreeMap<String, NamespaceConfig>,
    #[serde(default)]
    pub workloads: Vec<ClusterWorkload>,
    /// The built-in kube-dns (OW-7; default true).
    #[serde(default)]
    pub kube_dns: Option<bool>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClusterWorkload {
    pub name: String,
    pub namespace: String,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub ports: Vec<ClusterPort>,
}

fn cluster_error(message: String) -> ConfigError {
    ConfigError {
        file: FILE_NAME.to_string(),
        pos: None,
        message,
    }
}

impl ClusterConfig {
    /// An environment's `cluster:` joins the top-level one; a namespace or
    /// workload declared in both is an error (one way to declare each).
    pub fn add_to(
        &self,
        spec: &mut crate::reach::open_world::ClusterSpec,
    ) -> Result<(), ConfigError> {
        for (name, ns) in &self.namespaces {
            if spec
                .namespaces
                .insert(name.clone(), ns.labels.clone())
                .is_some()
            {
                return Err(cluster_error(format!(
                    "namespace {name:?} is declared twice (top level and environment)"
                )));
            }
        }
        self.workloads_to(spec)
    }

    fn workloads_to(
        &self,
        spec: &mut crate::reach::open_world::ClusterSpec,
    ) -> Result<(), ConfigError> {
        for w in &self.workloads {
            if spec
                .workloads
                .iter()
                .any(|d| d.namespace == w.namespace && d.name == w.name)
            {
                return Err(cluster_error(format!(
                    "cluster workload {}/{} is declared twice",
                    w.namespace, w.name
                )));
            }
            spec.workloads.push(w.declared()?);
        }
        if let Some(dns) = self.kube_dns {
            spec.builtin_dns = dns;
        }
        Ok(())
    }
}

impl ClusterWorkload {
    fn declared(&self) -> Result<crate::reach::open_world::DeclaredWorkload, ConfigError> {
        use crate::model::Protocol;
        let ports = self
            .ports
            .iter()
            .map(|p| {
                let protocol = match p.protocol.as_deref().unwrap_or("TCP") {
                    "TCP" => Protocol::Tcp,
                    "UDP" => Protocol::Udp,
                    "SCTP" => Protocol::Sctp,
                    other => {
                        return Err(cluster_error(format!(
                            "cluster workload {}/{}: protocol {other:?} is not TCP, UDP or SCTP",
                            self.namespace, self.name
                        )));
                    }
                };
                if p.port == 0 {
                    return Err(cluster_error(format!(
                        "cluster workload {}/{}: port 0 is not a port",
                        self.namespace, self.name
                    )));
                }
                Ok(crate::manifest::ContainerPort {
                    name: p.name.clone(),
                    port: p.port,
                    protocol,
                })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        Ok(crate::reach::open_world::DeclaredWorkload {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            labels: self.labels.clone(),
            ports,
        })
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClusterPort {
    #[serde(default)]
    pub name: Option<String>,
    pub port: u16,
    /// TCP (default), UDP or SCTP.
    #[serde(default)]
    pub protocol: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RenderConfig {
    /// Render directories holding a `kustomization.yaml` (default true).
    #[serde(default)]
    pub kustomize: Option<bool>,
    /// Time limit for one render (default 60).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// `kubectl` (`kubectl kustomize`) or `kustomize` (`kustomize build`);
    /// default: kubectl when installed, else kustomize.
    #[serde(default)]
    pub tool: Option<KustomizeTool>,
    /// Render directories holding a `Chart.yaml` with `helm template`
    /// (default true; an error when helm is not installed).
    #[serde(default)]
    pub helm: Option<bool>,
    /// Release name, namespace and values files per chart directory.
    #[serde(default)]
    pub charts: Vec<ChartConfig>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ChartConfig {
    /// The chart directory, repository-relative.
    pub path: String,
    /// Release name (default: the directory's name).
    #[serde(default)]
    pub release: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// Values files, repository-relative, in order.
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KustomizeTool {
    Kubectl,
    Kustomize,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Environment {
    pub name: String,
    /// Directories or files, relative to the repository root.
    pub roots: Vec<String>,
    /// What this environment's cluster has beyond the top-level `cluster:`.
    #[serde(default)]
    pub cluster: Option<ClusterConfig>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NamespaceConfig {
    #[serde(default)]
    pub labels: Labels,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReportConfig {
    /// Largest Markdown comment, in characters (default 60,000).
    #[serde(default)]
    pub budget: Option<usize>,
    /// URL prefix for links to files; `{sha}` is replaced by the commit id of
    /// each side (e.g. `https://github.com/o/r/blob/{sha}`).
    #[serde(default)]
    pub link_template: Option<String>,
    /// The GitHub App also posts a review with inline comments on the lines
    /// responsible (the Action has its own `review-comments` input).
    #[serde(default)]
    pub review_comments: bool,
    /// The GitHub App's check run concludes `neutral` instead of `failure`
    /// when a gate trips: reported, never blocking.
    #[serde(default)]
    pub advisory: bool,
}

/// A configuration error: `file:line:col: message` where a position is known.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", .pos.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct ConfigError {
    pub file: String,
    pub pos: Option<(usize, usize)>,
    pub message: String,
}

impl Config {
    /// Parses and validates `text`; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
        let err = |message: String| ConfigError {
            file: file.to_string(),
            pos: None,
            message,
        };
        // An empty file (or one of comments only) is the empty configuration.
        if text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            return Ok(Config::default());
        }
        let cfg: Config = serde_yaml::from_str(text).map_err(|e| {
            let pos = e.location().map(|l| (l.line(), l.column()));
            let mut message = e.to_string();
            // serde_yaml appends " at line L column C"; the prefix says it.
            if let Some(i) = message.rfind(" at line ") {
                message.truncate(i);
            }
            ConfigError {
                file: file.to_string(),
                pos,
                message,
            }
        })?;
        cfg.check_environments()
            .and_then(|()| cfg.check_fields(file, text))
            .map_err(err)?;
        Ok(cfg)
    }

    /// Environments: named once each, with roots inside the repository.
    fn check_environments(&self) -> Result<(), String> {
        let mut names = BTreeSet::new();
        for (i, env) in self.environments.iter().enumerate() {
            if env.name.trim().is_empty() {
                return Err(format!("environments[{i}]: name must not be empty"));
            }
            if !names.insert(env.name.as_str()) {
                return Err(format!(
                    "environments[{i}]: environment {:?} is defined twice",
                    env.name
                ));
            }
            if env.roots.is_empty() {
                return Err(format!(
                    "environments[{i}] ({}): roots must name at least one path",
                    env.name
                ));
            }
            for r in &env.roots {
                inside_repo(r).map_err(|_| {
                    format!(
                        "environments[{i}] ({}): root {r:?} must be a relative path inside the repository",
                        env.name
                    )
                })?;
            }
        }
        Ok(())
    }

    /// Everything else a configuration says that the schema cannot:
    /// globs, names, gates, paths, acknowledgements, budgets.
    fn check_fields(&self, file: &str, text: &str) -> Result<(), String> {
        for (field, globs) in [("include", &self.include), ("exclude", &self.exclude)] {
            for g in globs {
                if g.is_empty() || g.starts_with('/') {
                    return Err(format!(
                        "{field}: glob {g:?} must be a non-empty relative pattern"
                    ));
                }
            }
        }
        for (name, ns) in &self.namespaces {
            if name.is_empty() {
                return Err("namespaces: a namespace name is empty".into());
            }
            if ns.labels.keys().any(|k| k.is_empty()) {
                return Err(format!("namespaces.{name}: a label key is empty"));
            }
        }
        if !self.gates.is_empty() {
            // Same checks as a --rules file (CIDRs, matcher combinations).
            let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
            let gates = value.get("gates").cloned().unwrap_or_default();
            let mut m = serde_yaml::Mapping::new();
            m.insert("gates".into(), gates);
            let again = serde_yaml::to_string(&m).map_err(|e| e.to_string())?;
            crate::review::gate::parse_rules(file, &again).map_err(|e| e.message)?;
        }
        for (i, c) in self.render.charts.iter().enumerate() {
            for p in std::iter::once(&c.path).chain(&c.values) {
                inside_repo(p).map_err(|_| {
                    format!(
                        "render.charts[{i}]: {p:?} must be a relative path inside the repository"
                    )
                })?;
            }
        }
        for (i, a) in self.acknowledge.iter().enumerate() {
            if !crate::findings::CODES.iter().any(|c| c.as_str() == a.code) {
                return Err(format!(
                    "acknowledge[{i}]: {:?} is not a finding code (`reachdiff lint` prints them)",
                    a.code
                ));
            }
            if a.object.trim().is_empty() || a.reason.trim().is_empty() {
                return Err(format!(
                    "acknowledge[{i}]: `object` and `reason` must not be empty"
                ));
            }
        }
        if self.render.timeout_seconds == Some(0) {
            return Err("render.timeout-seconds must be positive".into());
        }
        if self.report.budget == Some(0) {
            return Err("report.budget must be positive".into());
        }
        Ok(())
    }

    /// The gate rules, if any.
    pub fn rules(&self) -> Option<RulesFile> {
        if self.gates.is_empty() {
            None
        } else {
            Some(RulesFile {
                gates: self.gates.clone(),
            })
        }
    }

    /// The `acknowledge:` entries, for [`LoadOptions`](crate::manifest::LoadOptions).
    pub fn acknowledgements(&self) -> Vec<crate::manifest::Acknowledgement> {
        self.acknowledge
            .iter()
            .enumerate()
            .map(|(index, a)| crate::manifest::Acknowledgement {
                code: a.code.clone(),
                object: a.object.trim().to_string(),
                field: a.field.clone(),
                reason: a.reason.trim().to_string(),
                source: crate::manifest::AckSource::Config { index },
            })
            .collect()
    }

    /// The namespaces for [`LoadOptions`](crate::manifest::LoadOptions):
    /// top-level `namespaces:` and `cluster: namespaces:` alike.
    pub fn external_namespaces(&self) -> BTreeMap<String, Labels> {
        self.namespaces
            .iter()
            .chain(&self.cluster.namespaces)
            .map(|(k, v)| (k.clone(), v.labels.clone()))
            .collect()
    }

    /// Applies `cluster:` and `closed-world:` to the analysis options: the
    /// declared namespaces and workloads join the open world (OW-6), unless
    /// the closed world was asked for here or on the command line.
    pub fn apply_cluster(&self, opts: &mut crate::analysis::Options) -> Result<(), ConfigError> {
        // `false` is the default; it does not reopen a world the command
        // line closed (`--closed-world` wins).
        if self.closed_world == Some(true) {
            opts.open_world = None;
        }
        let Some(spec) = &mut opts.open_world else {
            return Ok(());
        };
        for name in self.cluster.namespaces.keys() {
            if self.namespaces.contains_key(name) {
                return Err(cluster_error(format!(
                    "namespace {name:?} is declared twice, in `namespaces:` and in `cluster: namespaces:`; keep one"
                )));
            }
        }
        spec.namespaces = self.external_namespaces();
        self.cluster.workloads_to(spec)
    }

    /// The named external peers with their CIDRs parsed.
    pub fn external_peers(&self) -> Result<Vec<(String, Vec<crate::model::Cidr>)>, ConfigError> {
        self.external_peers
            .iter()
            .map(|(name, cidrs)| {
                let parsed = cidrs
                    .iter()
                    .map(|c| {
                        crate::model::Cidr::parse(c)
                            .map(|(c, _)| c)
                            .map_err(|_| ConfigError {
                                file: FILE_NAME.to_string(),
                                pos: None,
                                message: format!("external-peers.{name}: invalid CIDR {c:?}"),
                            })
                    })
                    .collect::<Result<Vec<_>, ConfigError>>()?;
                Ok((name.clone(), parsed))
            })
            .collect()
    }

    /// Whether a repository-relative path passes include and exclude.
    pub fn selects(&self, path: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| glob_match(g, path)))
            && !self.exclude.iter().any(|g| glob_match(g, path))
    }
}

/// A repository-relative path: not absolute, no `..`, no backslash.
fn inside_repo(p: &str) -> Result<(), ()> {
    if p.starts_with('/') || p.contains('\\') || p.split('/').any(|c| c == "..") {
        Err(())
    } else {
        Ok(())
    }
}

/// Glob matching on `/`-separated paths: `*` matches within one segment,
/// `?` one character of a segment, `**` any number of whole segments
/// (`a/**/b` matches `a/b` and `a/x/y/b`; `dir/**` everything below `dir`).
/// A pattern without `/` matches the file name in any directory.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    if !pattern.contains('/') {
        let name = path.rsplit('/').next().unwrap_or(path);
        return segment_match(pattern.as_bytes(), name.as_bytes());
    }
    let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    segments_match(&pat, &segs)
}

fn segments_match(pat: &[&str], segs: &[&str]) -> bool {
    match pat.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|i| segments_match(rest, &segs[i..])),
        Some((p, rest)) => match segs.split_first() {
            Some((s, srest)) => {
                segment_match(p.as_bytes(), s.as_bytes()) && segments_match(rest, srest)
            }
            None => false,
        },
    }
}

fn segment_match(p: &[u8], s: &[u8]) -> bool {
    // Iterative wildcard matching with backtracking to the last `*`.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*.yaml", "a/b/c.yaml"));
        assert!(!glob_match("*.yaml", "a/b/c.json"));
        assert!(glob_match(
            "clusters/*/apps/*.yaml",
            "clusters/prod/apps/x.yaml"
        ));
        assert!(!glob_match(
            "clusters/*/apps/*.yaml",
            "clusters/prod/x/apps/x.yaml"
        ));
        assert!(glob_match("**/test/**", "a/test/b/c.yaml"));
        assert!(glob_match("**/test/**", "test/c.yaml"));
        assert!(!glob_match("**/test/**", "a/tests/c.yaml"));
        assert!(glob_match("legacy/**", "legacy/x/y.yaml"));
        assert!(glob_match("a/**/b.yaml", "a/b.yaml"));
        assert!(glob_match("a/**/b.yaml", "a/x/y/b.yaml"));
        assert!(glob_match("*-np?.yaml", "dir/web-np1.yaml"));
        assert!(!glob_match("*-np?.yaml", "dir/web-np12.yaml"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
    }

    #[test]
    fn parses_a_full_file() {
        let text = "\
environments:
- name: prod
  roots: [clusters/prod]
- name: staging
  roots: [clusters/staging, shared/]
include: ['**/*.yaml']
exclude: ['**/test/**']
namespaces:
  kube-system:
    labels: {tier: platform}
gates:
- name: no-internet
  forbid: opened
  from: {external: true}
report:
  budget: 30000
  link-template: https://example.com/o/r/blob/{sha}
render:
  kustomize: true
  tool: kustomize
  timeout-seconds: 5
  charts:
  - {path: charts/web, release: web, namespace: shop, values: [envs/prod.yaml]}
";
        let c = Config::parse(FILE_NAME, text).unwrap();
        assert_eq!(c.environments.len(), 2);
        assert!(c.selects("clusters/prod/a.yaml"));
        assert!(!c.selects("clusters/prod/test/a.yaml"));
        assert!(!c.selects("clusters/prod/a.json"));
        assert_eq!(c.external_namespaces()["kube-system"]["tier"], "platform");
        assert_eq!(c.rules().unwrap().gates.len(), 1);
        assert_eq!(c.report.budget, Some(30000));
        assert_eq!(c.render.tool, Some(KustomizeTool::Kustomize));
        assert_eq!(c.render.timeout_seconds, Some(5));
        assert_eq!(c.render.charts[0].values, ["envs/prod.yaml"]);
        assert!(
            Config::parse(
                FILE_NAME,
                "render: {charts: [{path: x, values: [../v.yaml]}]}\n"
            )
            .is_err()
        );
        assert!(Config::parse(FILE_NAME, "render: {tool: helm}\n").is_err());
        assert_eq!(
            Config::parse(FILE_NAME, "render: {kustomize: false}\n")
                .unwrap()
                .render
                .kustomize,
            Some(false)
        );
        assert!(
            Config::parse(FILE_NAME, "# nothing\n")
                .unwrap()
                .environments
                .is_empty()
        );
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = Config::parse(
            ".reachdiff.yaml",
            "environments:\n- name: prod\n  root: [x]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with(".reachdiff.yaml:3:3: "), "{e}");
        assert!(e.contains("unknown field `root`"), "{e}");
        let e = Config::parse(
            ".reachdiff.yaml",
            "namespaces:\n  kube-system:\n    lables: {}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with(".reachdiff.yaml:3:5: "), "{e}");
        let e = Config::parse(
            ".reachdiff.yaml",
            "environments:\n- name: a\n  roots: [../x]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("inside the repository"), "{e}");
        let e = Config::parse(
            ".reachdiff.yaml",
            "environments:\n- {name: a, roots: [x]}\n- {name: a, roots: [y]}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("defined twice"), "{e}");
        let e = Config::parse(
            ".reachdiff.yaml",
            "gates:\n- name: g\n  forbid: opened\n  to: {cidr: 10.0.0.0/33}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("invalid cidr"), "{e}");
        let e = Config::parse(
            ".reachdiff.yaml",
            "acknowledge:\n- {code: ingress-from-anwhere, object: Namespace a, reason: r}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("acknowledge[0]: \"ingress-from-anwhere\" is not a finding code"),
            "{e}"
        );
        let e = Config::parse(
            ".reachdiff.yaml",
            "acknowledge:\n- {code: no-default-deny, object: Namespace a}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("missing field `reason`"), "{e}");
        let c = Config::parse(
            ".reachdiff.yaml",
            "acknowledge:\n- {code: no-default-deny, object: ' Namespace a ', reason: legacy}\n",
        )
        .unwrap();
        let a = &c.acknowledgements()[0];
        assert_eq!(
            (a.object.as_str(), a.reason.as_str()),
            ("Namespace a", "legacy")
        );
    }
}
