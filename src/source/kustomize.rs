//! kustomize, checked before it runs.
//!
//! kustomize loads files through many fields, and most of them also accept
//! a URL: it fetches `http(s)://` with Go's HTTP client, and clones with
//! the `git` program any directory entry that parses as a repository
//! (`github.com/o/r`, `x@host:path`, `https://…//dir?ref=v1`), before it
//! even looks for a local directory of that name. A pull request must not
//! make reachdiff fetch, so every kustomization a render would load is
//! walked here, field by field, before anything runs. The result is the
//! render's *closure*: the files kustomize may read. Only those are
//! exported for the render (`GitRepo::export_closure`), so kustomize
//! cannot read any other file of the repository either.
//!
//! Fail closed: a field this module does not know is refused (kustomize
//! itself rejects unknown kustomization fields, so nothing that renders is
//! lost), keys are matched case-insensitively as Go's `encoding/json`
//! does, and a YAML merge key is applied before checking.
//!
//! # Every field kustomize resolves as a path or URL
//!
//! Read from kubernetes-sigs/kustomize at tag `kustomize/v5.5.0` (the
//! kustomize in kubectl 1.31 and 1.32): `api/types/kustomization.go` (the
//! fields), `api/internal/target/kusttarget.go` (how each is loaded),
//! `api/internal/loader/fileloader.go` (`Load` fetches when
//! `IsRemoteFile`; `New` clones when `git.NewRepoSpecFromURL` parses),
//! `api/internal/git/repospec.go` (what parses as a repository),
//! `api/kv/kv.go` and `api/internal/generators/utils.go`
//! (`ParseFileSource`), `api/internal/builtins/*.go` (the built-in
//! plugins' configuration), `api/internal/plugins/loader/loader.go`
//! (`isBuiltinPlugin`: `apiVersion: builtin`).
//!
//! | field | loaded by | here |
//! |---|---|---|
//! | `resources`, `bases` | `accumulateResources`: `Load` (file, URL), else `New` (directory, git) | a file, or a directory with a kustomization (checked in turn) |
//! | `components` | `accumulateComponents`: `New` | a directory with a kustomization |
//! | `crds` | `LoadConfigFromCRDs`: `Load` | files |
//! | `configurations` | `MakeTransformerConfig`: `Load` | files |
//! | `openapi.path` | `accumulateDirectory`: `Load` | a file |
//! | `patchesStrategicMerge[]` | `PatchStrategicMergeTransformer`: inline, else `Load` | inline patch or file |
//! | `patches[].path`, `patchesJson6902[].path` | `PatchTransformer`: `Load` | files |
//! | `replacements[].path` | `ReplacementTransformer`: `Load` | files |
//! | `configMapGenerator[]`, `secretGenerator[]` `.files` (`[key=]path`), `.envs`, `.env` | `kv.loader`: `Load` | files |
//! | `generators`, `transformers`, `validators` | `configureExternal*`: inline, else `accumulateResources` | inline or file configurations of built-in plugins (below); directories refused |
//! | `helmCharts`, `helmGlobals`, `helmChartInflationGenerator` | runs helm, may pull charts | refused |
//!
//! Fields that load nothing: `apiVersion`, `kind`, `metadata`,
//! `namePrefix`, `nameSuffix`, `namespace`, `commonLabels`, `labels`,
//! `commonAnnotations`, `images`, `imageTags`, `replicas`, `vars`,
//! `sortOptions`, `generatorOptions`, `buildMetadata`, `openapi.version`.
//!
//! Built-in plugins (`apiVersion: builtin`, from `builtinhelpers`), with
//! the fields their `Config` reads through the kustomization's loader:
//! `PatchTransformer.path`, `PatchJson6902Transformer.path`,
//! `PatchStrategicMergeTransformer.paths[]` (inline or file),
//! `ReplacementTransformer.replacements[].path`,
//! `ValueAddTransformer.targetFilePath`, `ConfigMapGenerator` and
//! `SecretGenerator` `files`/`envs`/`env`; `HelmChartInflationGenerator`
//! is refused; the others (`AnnotationsTransformer`, `LabelTransformer`,
//! `NamespaceTransformer`, `ImageTagTransformer`, `PrefixSuffixTransformer`,
//! `PrefixTransformer`, `SuffixTransformer`, `ReplicaCountTransformer`,
//! `HashTransformer`, `IAMPolicyGenerator`) load nothing. Any other kind,
//! or another `apiVersion`, is an exec, container or Go plugin: refused.

use crate::manifest::yaml;
use serde_yaml::{Mapping, Value};
use std::collections::BTreeSet;

/// File names that make a directory a kustomization.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The most one render may export, in bytes and in files.
pub const MAX_CLOSURE_BYTES: u64 = 64 << 20;
pub const MAX_CLOSURE_FILES: usize = 10_000;

/// How deep kustomizations may nest.
const MAX_DEPTH: usize = 32;

/// What is at a path of the revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// A file (or a link to one) of this many bytes.
    File(u64),
    Dir,
    Missing,
    /// Something a render does not follow, and why.
    Unsupported(&'static str),
}

/// Read access to one revision's tree, by repository-relative path.
pub trait TreeView {
    fn node(&self, path: &str) -> Node;
    /// The bytes of a file (links followed).
    fn bytes(&self, path: &str) -> Result<Vec<u8>, String>;
    /// The names of a directory's entries.
    fn list(&self, dir: &str) -> Vec<String>;
}

/// Where a patch comes from, for citing patched fields.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchSource {
    /// The file holding it: the patch file, or the kustomization for an
    /// inline patch.
    pub file: String,
    /// The inline patch text, if not a file of its own.
    pub inline: Option<String>,
    /// A JSON 6902 patch (operations), not a strategic merge patch.
    pub json6902: bool,
    /// The patch's `target` selector, if any.
    pub target: Option<Value>,
}

/// What one render may read.
#[derive(Clone, Debug, Default)]
pub struct Closure {
    /// Repository-relative files to export.
    pub files: BTreeSet<String>,
    pub bytes: u64,
    /// The root kustomization file (to which reachdiff adds
    /// `buildMetadata: [originAnnotations]` in the export).
    pub root_file: String,
    pub patches: Vec<PatchSource>,
}

impl Closure {
    /// Adds a file of `size` bytes, within the export limits.
    pub fn add(&mut self, path: &str, size: u64) -> Result<(), String> {
        if self.files.insert(path.to_string()) {
            self.bytes += size;
            if self.bytes > MAX_CLOSURE_BYTES {
                return Err(format!(
                    "the files this render reads exceed {MAX_CLOSURE_BYTES} bytes"
                ));
            }
            if self.files.len() > MAX_CLOSURE_FILES {
                return Err(format!(
                    "this render reads more than {MAX_CLOSURE_FILES} files"
                ));
            }
        }
        Ok(())
    }
}

/// What a directory entry is expected to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// `resources`: a file or a kustomization directory.
    FileOrKustomization,
    /// `components`: a kustomization directory.
    Kustomization,
    File,
}

/// Checks the kustomization in `dir` and everything it loads; returns the
/// closure of the render.
pub fn check(tree: &dyn TreeView, dir: &str) -> Result<Closure, String> {
    let mut c = Checker {
        tree,
        closure: Closure::default(),
        visited: BTreeSet::new(),
    };
    c.closure.root_file = c.kustomization(dir, 0)?;
    Ok(c.closure)
}

/// The kustomization file in `dir`, if any.
pub fn kustomization_file(tree: &dyn TreeView, dir: &str) -> Option<String> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|f| join(dir, f))
        .find(|p| matches!(tree.node(p), Node::File(_)))
}

struct Checker<'a> {
    tree: &'a dyn TreeView,
    closure: Closure,
    /// Kustomization directories already checked.
    visited: BTreeSet<String>,
}

/// Where in which file a value sits, for messages.
#[derive(Clone)]
struct At<'a> {
    file: &'a str,
    /// The kustomization directory that paths are relative to.
    dir: &'a str,
    field: String,
}

impl At<'_> {
    fn at(&self, field: impl std::fmt::Display) -> At<'_> {
        At {
            file: self.file,
            dir: self.dir,
            field: if self.field.is_empty() {
                field.to_string()
            } else {
                format!("{}.{field}", self.field)
            },
        }
    }

    fn index(&self, i: usize) -> At<'_> {
        At {
            file: self.file,
            dir: self.dir,
            field: format!("{}[{i}]", self.field),
        }
    }

    fn err(&self, message: impl std::fmt::Display) -> String {
        let message = message.to_string();
        let message = clip(&message);
        if self.field.is_empty() {
            format!("{}: {message}", self.file)
        } else {
            format!("{}: {}: {message}", self.file, self.field)
        }
    }
}

/// Messages quote entries of the kustomization, which a pull request can
/// make megabytes long; an error line stays readable and small.
fn clip(message: &str) -> std::borrow::Cow<'_, str> {
    const KEEP: usize = 240;
    if message.chars().count() <= 2 * KEEP {
        return message.into();
    }
    let head: String = message.chars().take(KEEP).collect();
    let tail: Vec<char> = message.chars().rev().take(KEEP).collect();
    let tail: String = tail.into_iter().rev().collect();
    let cut = message.chars().count() - 2 * KEEP;
    format!("{head}…({cut} characters left out)…{tail}").into()
}

/// How reachdiff asks people to deal with what it refuses.
const REMEDY_REMOTE: &str = "reachdiff never fetches: vendor it into the repository, \
or exclude this directory (`exclude:` in .reachdiff.yaml)";
const REMEDY_PLUGIN: &str = "reachdiff runs only kustomize's built-in plugins \
(`apiVersion: builtin`): commit the rendered output instead, or exclude this directory \
(`exclude:` in .reachdiff.yaml)";
const REMEDY_HELM: &str = "kustomize would run helm and may download the chart; \
vendor the chart into the repository and let reachdiff render it (a directory with \
Chart.yaml, options under `render: charts:` in .reachdiff.yaml), or commit the rendered \
output, or exclude this directory";

impl Checker<'_> {
    /// Checks the kustomization of `dir`; returns its file.
    fn kustomization(&mut self, dir: &str, depth: usize) -> Result<String, String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "{dir}: kustomizations nested more than {MAX_DEPTH} deep"
            ));
        }
        let present: Vec<String> = KUSTOMIZATION_FILES
            .iter()
            .map(|f| join(dir, f))
            .filter(|p| matches!(self.tree.node(p), Node::File(_)))
            .collect();
        let Some(file) = present.first().cloned() else {
            return Err(format!(
                "{}: no kustomization.yaml in this directory",
                shown_dir(dir)
            ));
        };
        if !self.visited.insert(dir.to_string()) {
            return Ok(file);
        }
        // All of them, so kustomize sees what the repository holds (and
        // complains about several as it would).
        for p in &present {
            self.add_file(p)?;
        }
        let map = self.read_mapping(&file)?;
        let at = At {
            file: &file,
            dir,
            field: String::new(),
        };
        for (key, value) in fields(&map, &at)? {
            self.kustomization_field(key.as_str(), value, &at.at(&key), depth)?;
        }
        Ok(file)
    }

    fn kustomization_field(
        &mut self,
        key: &str,
        value: &Value,
        at: &At<'_>,
        depth: usize,
    ) -> Result<(), String> {
        match key {
            "apiversion" | "kind" | "metadata" | "nameprefix" | "namesuffix" | "namespace"
            | "commonlabels" | "labels" | "commonannotations" | "images" | "imagetags"
            | "replicas" | "vars" | "sortoptions" | "generatoroptions" | "buildmetadata" => Ok(()),
            "openapi" => {
                for (k, v) in fields(mapping(value, at)?, at)? {
                    match k.as_str() {
                        "path" => {
                            self.entry(
                                string(v, &at.at("path"))?,
                                Expect::File,
                                &at.at("path"),
                                depth,
                            )?;
                        }
                        "version" => {}
                        _ => return Err(unknown(&at.at(&k))),
                    }
                }
                Ok(())
            }
            "resources" | "bases" => self.entries(value, Expect::FileOrKustomization, at, depth),
            "components" => self.entries(value, Expect::Kustomization, at, depth),
            "crds" | "configurations" => self.entries(value, Expect::File, at, depth),
            "patchesstrategicmerge" => {
                for (i, v) in list(value, at)?.iter().enumerate() {
                    self.smp_entry(string(v, &at.index(i))?, &at.index(i), depth)?;
                }
                Ok(())
            }
            "patches" | "patchesjson6902" => {
                let json = key == "patchesjson6902";
                for (i, v) in list(value, at)?.iter().enumerate() {
                    self.patch(mapping(v, &at.index(i))?, json, &at.index(i), depth)?;
                }
                Ok(())
            }
            "replacements" => self.replacements(value, at, depth),
            "configmapgenerator" | "secretgenerator" => {
                for (i, v) in list(value, at)?.iter().enumerate() {
                    let at = at.index(i);
                    for (k, v) in fields(mapping(v, &at)?, &at)? {
                        self.generator_field(k.as_str(), v, &at.at(&k), depth)?;
                    }
                }
                Ok(())
            }
            "generators" | "transformers" | "validators" => {
                for (i, v) in list(value, at)?.iter().enumerate() {
                    self.plugin_entry(string(v, &at.index(i))?, &at.index(i), depth)?;
                }
                Ok(())
            }
            "helmcharts" | "helmglobals" | "helmchartinflationgenerator" => {
                Err(at.err(format!("refused: {REMEDY_HELM}")))
            }
            _ => Err(unknown(at)),
        }
    }

    /// A list of path entries.
    fn entries(
        &mut self,
        value: &Value,
        expect: Expect,
        at: &At<'_>,
        depth: usize,
    ) -> Result<(), String> {
        for (i, v) in list(value, at)?.iter().enumerate() {
            let at = at.index(i);
            self.entry(string(v, &at)?, expect, &at, depth)?;
        }
        Ok(())
    }

    /// One path entry, relative to the kustomization's directory.
    fn entry(
        &mut self,
        entry: &str,
        expect: Expect,
        at: &At<'_>,
        depth: usize,
    ) -> Result<(), String> {
        let path = local_path(entry, at)?;
        match (self.tree.node(&path), expect) {
            (Node::File(_), Expect::File | Expect::FileOrKustomization) => self.add_file(&path),
            (Node::Dir, Expect::Kustomization | Expect::FileOrKustomization) => {
                if kustomization_file(self.tree, &path).is_none() {
                    return Err(at.err(format!(
                        "{entry:?} is a directory without a kustomization.yaml"
                    )));
                }
                self.kustomization(&path, depth + 1).map(|_| ())
            }
            (Node::File(_), Expect::Kustomization) => Err(at.err(format!(
                "{entry:?} is a file; components are directories with a kustomization.yaml"
            ))),
            (Node::Dir, Expect::File) => Err(at.err(format!(
                "{entry:?} is a directory, where a file is expected"
            ))),
            (Node::Missing, _) => Err(at.err(format!(
                "{entry:?} is missing: no such file or directory {path:?} in this revision"
            ))),
            (Node::Unsupported(why), _) => Err(at.err(format!("{entry:?} is {why}"))),
        }
    }

    /// A `patchesStrategicMerge` entry: an inline patch, else a file.
    fn smp_entry(&mut self, entry: &str, at: &At<'_>, depth: usize) -> Result<(), String> {
        if is_inline_object(entry) {
            self.closure.patches.push(PatchSource {
                file: at.file.to_string(),
                inline: Some(entry.to_string()),
                json6902: false,
                target: None,
            });
            return Ok(());
        }
        self.entry(entry, Expect::File, at, depth)?;
        self.closure.patches.push(PatchSource {
            file: local_path(entry, at)?,
            inline: None,
            json6902: false,
            target: None,
        });
        Ok(())
    }

    /// A `patches` or `patchesJson6902` entry (or a `PatchTransformer` or
    /// `PatchJson6902Transformer` configuration).
    fn patch(
        &mut self,
        map: &Mapping,
        json: bool,
        at: &At<'_>,
        depth: usize,
    ) -> Result<(), String> {
        let mut source = PatchSource {
            file: at.file.to_string(),
            inline: None,
            json6902: json,
            target: None,
        };
        for (k, v) in fields(map, at)? {
            let at = at.at(&k);
            match k.as_str() {
                "path" => {
                    let entry = string(v, &at)?;
                    self.entry(entry, Expect::File, &at, depth)?;
                    source.file = local_path(entry, &at)?;
                }
                "patch" | "jsonop" => {
                    let text = string(v, &at)?;
                    // A JSON 6902 patch is a list of operations.
                    source.json6902 |= k.as_str() == "jsonop"
                        || text.trim_start().starts_with('-')
                        || text.trim_start().starts_with('[');
                    source.inline = Some(text.to_string());
                }
                "target" => source.target = Some(v.clone()),
                "options" => {}
                _ => return Err(unknown(&at)),
            }
        }
        self.closure.patches.push(source);
        Ok(())
    }

    /// `replacements` (of a kustomization or a `ReplacementTransformer`).
    fn replacements(&mut self, value: &Value, at: &At<'_>, depth: usize) -> Result<(), String> {
        for (i, v) in list(value, at)?.iter().enumerate() {
            let at = at.index(i);
            for (k, v) in fields(mapping(v, &at)?, &at)? {
                match k.as_str() {
                    "path" => self.entry(
                        string(v, &at.at("path"))?,
                        Expect::File,
                        &at.at("path"),
                        depth,
                    )?,
                    "source" | "targets" => {}
                    _ => return Err(unknown(&at.at(&k))),
                }
            }
        }
        Ok(())
    }

    /// A field of a `configMapGenerator`/`secretGenerator` entry or of a
    /// `ConfigMapGenerator`/`SecretGenerator` configuration.
    fn generator_field(
        &mut self,
        key: &str,
        value: &Value,
        at: &At<'_>,
        depth: usize,
    ) -> Result<(), String> {
        match key {
            "name" | "namespace" | "behavior" | "literals" | "options" | "type" => Ok(()),
            "files" => {
                for (i, v) in list(value, at)?.iter().enumerate() {
                    let at = at.index(i);
                    let source = string(v, &at)?;
                    if let Some(why) = remote_reason(source) {
                        return Err(
                            at.err(format!("{source:?} is remote ({why}): {REMEDY_REMOTE}"))
                        );
                    }
                    // `[key=]path`, as ParseFileSource splits it.
                    let path = match source.split_once('=') {
                        Some((_, p)) => p,
                        None => source,
                    };
                    self.entry(path, Expect::File, &at, depth)?;
                }
                Ok(())
            }
            "envs" => self.entries(value, Expect::File, at, depth),
            "env" => match value {
                Value::Null => Ok(()),
                v => self.entry(string(v, at)?, Expect::File, at, depth),
            },
            _ => Err(unknown(at)),
        }
    }

    /// A `generators`/`transformers`/`validators` entry: inline
    /// configuration, else a file of configurations.
    fn plugin_entry(&mut self, entry: &str, at: &At<'_>, depth: usize) -> Result<(), String> {
        if is_inline_object(entry) {
            return self.plugin_configs(entry, at.file, at, depth);
        }
        let path = local_path(entry, at)?;
        if self.tree.node(&path) == Node::Dir {
            return Err(at.err(format!(
                "{entry:?} is a directory; reachdiff checks plugin configurations listed as files \
                 or inline, so list the files themselves"
            )));
        }
        self.entry(entry, Expect::File, at, depth)?;
        let text = self.read_text(&path)?;
        let config_at = At {
            file: &path,
            dir: at.dir,
            field: String::new(),
        };
        self.plugin_configs(&text, &path, &config_at, depth)
    }

    /// Every configuration document in `text`; paths in them are relative
    /// to the kustomization that lists them (`at.dir`).
    fn plugin_configs(
        &mut self,
        text: &str,
        file: &str,
        at: &At<'_>,
        depth: usize,
    ) -> Result<(), String> {
        for (n, doc) in documents(text, file)?.into_iter().enumerate() {
            let map = match &doc {
                Value::Null => continue,
                Value::Mapping(m) => m,
                _ => return Err(at.err("a plugin configuration must be a mapping")),
            };
            let at = if at.field.is_empty() {
                At {
                    file: at.file,
                    dir: at.dir,
                    field: format!("document {}", n + 1),
                }
            } else {
                at.clone()
            };
            self.plugin_config(map, &at, depth)?;
        }
        Ok(())
    }

    fn plugin_config(&mut self, map: &Mapping, at: &At<'_>, depth: usize) -> Result<(), String> {
        let fields = fields(map, at)?;
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k.as_str() == name)
                .and_then(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let (api_version, kind) = (get("apiversion"), get("kind"));
        if api_version != "builtin" {
            return Err(at.err(format!(
                "{kind} (apiVersion {api_version:?}) is a plugin, not one of kustomize's built-ins: {REMEDY_PLUGIN}"
            )));
        }
        let Some(builtin) = BUILTINS.iter().find(|b| b.kind == kind) else {
            return Err(at.err(format!(
                "{kind:?} is not one of kustomize's built-in plugins: {REMEDY_PLUGIN}"
            )));
        };
        if kind == "HelmChartInflationGenerator" {
            return Err(at.err(format!("{kind} is refused: {REMEDY_HELM}")));
        }
        let mut patch = Mapping::new();
        for (k, v) in &fields {
            let at = at.at(k);
            if ["apiversion", "kind", "metadata"].contains(&k.as_str()) {
                continue;
            }
            if !builtin.fields.contains(&k.as_str()) {
                return Err(unknown(&at));
            }
            match (builtin.kind, k.as_str()) {
                ("PatchTransformer" | "PatchJson6902Transformer", _) => {
                    patch.insert(Value::String(k.lower.clone()), (*v).clone());
                }
                ("PatchStrategicMergeTransformer", "paths") => {
                    for (i, v) in list(v, &at)?.iter().enumerate() {
                        self.smp_entry(string(v, &at.index(i))?, &at.index(i), depth)?;
                    }
                }
                ("PatchStrategicMergeTransformer", "patches") => {
                    self.closure.patches.push(PatchSource {
                        file: at.file.to_string(),
                        inline: Some(string(v, &at)?.to_string()),
                        json6902: false,
                        target: None,
                    });
                }
                ("ReplacementTransformer", "replacements") => self.replacements(v, &at, depth)?,
                ("ValueAddTransformer", "targetfilepath") => {
                    self.entry(string(v, &at)?, Expect::File, &at, depth)?;
                }
                ("ConfigMapGenerator" | "SecretGenerator", k) => {
                    self.generator_field(k, v, &at, depth)?;
                }
                _ => {}
            }
        }
        if !patch.is_empty() {
            self.patch(&patch, kind == "PatchJson6902Transformer", at, depth)?;
        }
        Ok(())
    }

    fn add_file(&mut self, path: &str) -> Result<(), String> {
        match self.tree.node(path) {
            Node::File(size) => self.closure.add(path, size),
            _ => Err(format!("{path}: not a file of this revision")),
        }
    }

    fn read_text(&self, path: &str) -> Result<String, String> {
        let bytes = self.tree.bytes(path)?;
        String::from_utf8(bytes).map_err(|_| format!("{path}: not valid UTF-8 text"))
    }

    fn read_mapping(&self, file: &str) -> Result<Mapping, String> {
        let text = self.read_text(file)?;
        match documents(&text, file)?.into_iter().next() {
            None | Some(Value::Null) => Ok(Mapping::new()),
            Some(Value::Mapping(m)) => Ok(m),
            Some(_) => Err(format!("{file}: a kustomization must be a mapping")),
        }
    }
}

/// A built-in plugin and the fields of its configuration (lowercase),
/// besides `apiVersion`, `kind` and `metadata`.
struct Builtin {
    kind: &'static str,
    fields: &'static [&'static str],
}

const GENERATOR_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "behavior",
    "literals",
    "files",
    "envs",
    "env",
    "options",
];
const SECRET_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "behavior",
    "literals",
    "files",
    "envs",
    "env",
    "options",
    "type",
];

const BUILTINS: &[Builtin] = &[
    Builtin {
        kind: "AnnotationsTransformer",
        fields: &["annotations", "fieldspecs"],
    },
    Builtin {
        kind: "ConfigMapGenerator",
        fields: GENERATOR_FIELDS,
    },
    Builtin {
        kind: "HashTransformer",
        fields: &[],
    },
    Builtin {
        kind: "HelmChartInflationGenerator",
        fields: &[],
    },
    Builtin {
        kind: "IAMPolicyGenerator",
        fields: &["cloud", "kubernetesservice", "serviceaccount"],
    },
    Builtin {
        kind: "ImageTagTransformer",
        fields: &["imagetag", "fieldspecs"],
    },
    Builtin {
        kind: "LabelTransformer",
        fields: &["labels", "fieldspecs"],
    },
    Builtin {
        kind: "NamespaceTransformer",
        fields: &["fieldspecs", "unsetonly", "setrolebindingsubjects"],
    },
    Builtin {
        kind: "PatchJson6902Transformer",
        fields: &["target", "path", "jsonop"],
    },
    Builtin {
        kind: "PatchStrategicMergeTransformer",
        fields: &["paths", "patches"],
    },
    Builtin {
        kind: "PatchTransformer",
        fields: &["path", "patch", "target", "options"],
    },
    Builtin {
        kind: "PrefixSuffixTransformer",
        fields: &["prefix", "suffix", "fieldspecs"],
    },
    Builtin {
        kind: "PrefixTransformer",
        fields: &["prefix", "fieldspecs"],
    },
    Builtin {
        kind: "SuffixTransformer",
        fields: &["suffix", "fieldspecs"],
    },
    Builtin {
        kind: "ReplicaCountTransformer",
        fields: &["replica", "fieldspecs"],
    },
    Builtin {
        kind: "SecretGenerator",
        fields: SECRET_FIELDS,
    },
    Builtin {
        kind: "ValueAddTransformer",
        fields: &["value", "targets", "targetfilepath"],
    },
    Builtin {
        kind: "ReplacementTransformer",
        fields: &["replacements"],
    },
];

/// The built-in kinds reachdiff lets kustomize run.
pub fn builtin_kinds() -> impl Iterator<Item = &'static str> {
    BUILTINS
        .iter()
        .map(|b| b.kind)
        .filter(|k| *k != "HelmChartInflationGenerator")
}

fn unknown(at: &At<'_>) -> String {
    at.err(
        "unknown field: reachdiff does not know whether kustomize loads files through it, \
         so it does not render this kustomization (commit the rendered output instead, or \
         exclude this directory)",
    )
}

/// A field name: matched lowercased (Go's `encoding/json` matches field
/// names case-insensitively), shown as written.
struct Key {
    lower: String,
    written: String,
}

impl Key {
    fn as_str(&self) -> &str {
        &self.lower
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.written)
    }
}

/// The entries of a mapping.
fn fields<'v>(map: &'v Mapping, at: &At<'_>) -> Result<Vec<(Key, &'v Value)>, String> {
    map.iter()
        .map(|(k, v)| match k.as_str() {
            Some(k) => Ok((
                Key {
                    lower: k.to_ascii_lowercase(),
                    written: k.to_string(),
                },
                v,
            )),
            None => Err(at.err("a key that is not a string")),
        })
        .collect()
}

fn mapping<'v>(v: &'v Value, at: &At<'_>) -> Result<&'v Mapping, String> {
    v.as_mapping().ok_or_else(|| at.err("expected a mapping"))
}

fn list<'v>(v: &'v Value, at: &At<'_>) -> Result<&'v [Value], String> {
    match v {
        Value::Null => Ok(&[]),
        Value::Sequence(s) => Ok(s),
        _ => Err(at.err("expected a list")),
    }
}

fn string<'v>(v: &'v Value, at: &At<'_>) -> Result<&'v str, String> {
    v.as_str().ok_or_else(|| at.err("expected a string"))
}

/// The YAML documents of `text`, merge keys applied.
fn documents(text: &str, file: &str) -> Result<Vec<Value>, String> {
    use serde::Deserialize;
    guard(text).map_err(|e| format!("{file}:{e}"))?;
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let mut v = Value::deserialize(doc).map_err(|e| format!("{file}: not valid YAML: {e}"))?;
        v.apply_merge()
            .map_err(|e| format!("{file}: not valid YAML: {e}"))?;
        out.push(v);
    }
    Ok(out)
}

/// [`yaml::guard`] with the loader's limits, as `line:column: message`.
pub(crate) fn guard(text: &str) -> Result<(), String> {
    yaml::guard(text, &yaml::Limits::default())
        .map_err(|e| format!("{}:{}: {}", e.pos.line, e.pos.col, e.message))
}

/// Whether a string entry is an inline object (kustomize tries to parse
/// entries as YAML objects before reading them as paths).
fn is_inline_object(entry: &str) -> bool {
    // A quoted entry of a file that passed the guard can still nest deeply.
    guard(entry).is_ok()
        && matches!(
            serde_yaml::from_str::<Value>(entry),
            Ok(Value::Mapping(_)) | Ok(Value::Sequence(_))
        )
}

/// Why kustomize would read `entry` as something remote, if it would.
/// Mirrors `IsRemoteFile` and `NewRepoSpecFromURL` (see the module
/// documentation), stricter where cheap: a local name that merely looks
/// like a URL is refused too.
pub fn remote_reason(entry: &str) -> Option<&'static str> {
    let lower = entry.to_ascii_lowercase();
    if lower.contains("://") {
        return Some("a URL");
    }
    if lower.starts_with("git::") {
        return Some("a git URL");
    }
    if lower.starts_with("github.com/") || lower.starts_with("github.com:") {
        return Some("a GitHub repository, as kustomize reads it");
    }
    if entry.contains('@') {
        return Some("a git URL (user@host:path), as kustomize reads it");
    }
    if entry.contains('?') {
        return Some("a URL with a query (?ref=)");
    }
    // `scheme:rest`: a URL scheme before any `/` (`http:x`, `ssh:x`).
    if let Some((scheme, _)) = entry.split_once(':')
        && !scheme.contains('/')
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    {
        return Some("a URL");
    }
    None
}

/// A path entry of a kustomization in `at.dir`, resolved inside the
/// repository; refused when remote, absolute or escaping.
fn local_path(entry: &str, at: &At<'_>) -> Result<String, String> {
    if entry.is_empty() {
        return Err(at.err("an empty path"));
    }
    if let Some(why) = remote_reason(entry) {
        return Err(at.err(format!("{entry:?} is remote ({why}): {REMEDY_REMOTE}")));
    }
    if entry.starts_with('/') {
        return Err(at.err(format!(
            "{entry:?} is an absolute path; only files of the revision are read"
        )));
    }
    super::render::resolve(at.dir, entry).ok_or_else(|| {
        at.err(format!(
            "{entry:?} leaves the repository; only files of the revision are read"
        ))
    })
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn shown_dir(dir: &str) -> &str {
    if dir.is_empty() { "." } else { dir }
}

/// Every file below `dir` (links to files followed; links to directories
/// and submodules refused), for a Helm chart's closure.
pub fn directory_closure(
    tree: &dyn TreeView,
    dir: &str,
    closure: &mut Closure,
) -> Result<(), String> {
    let mut stack = vec![(dir.to_string(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(format!(
                "{d}: directories nested more than {MAX_DEPTH} deep"
            ));
        }
        for name in tree.list(&d) {
            let path = join(&d, &name);
            match tree.node(&path) {
                Node::File(size) => closure.add(&path, size)?,
                Node::Dir => stack.push((path, depth + 1)),
                Node::Missing => {}
                Node::Unsupported(why) => return Err(format!("{path}: {why}")),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
