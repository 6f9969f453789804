//! Git revisions: the manifests in the tree of a commit, read straight from
//! the object database. Nothing is checked out, the work tree (if any) is
//! never touched, and bare repositories work the same way.
//!
//! Files are selected as in the directory mode (`.yaml`, `.yml`, `.json`;
//! entries whose name starts with `.` skipped) and named by their path
//! relative to the repository root, so reports and links match what a
//! hosting service shows for that commit.
//!
//! A blob is read once per [`GitRepo`]: the same blob id on both sides of a
//! diff (an unchanged file) yields the same shared text, which the loader
//! then parses once.

use super::kustomize::{self, Closure, KUSTOMIZATION_FILES, Node, TreeView};
use super::render::{ChartOptions, Export, HelmSetup, Kustomize};
use crate::revision::{LineMap, Revision, SourceFile};
use git2::{ErrorCode, ObjectType, Oid, Repository, Tree};
use rayon::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::fs::MAX_FILE_BYTES;

mod roots;
pub use roots::GitSnapshot;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{repo}: not a git repository ({message})")]
    NotARepo { repo: String, message: String },
    #[error("{repo}: revision {rev:?} not found{hint}")]
    UnknownRev {
        repo: String,
        rev: String,
        hint: String,
    },
    #[error("{repo}: no merge base between {base:?} and {head:?}{hint}")]
    NoMergeBase {
        repo: String,
        base: String,
        head: String,
        hint: String,
    },
    #[error("{repo}: {what}: object {oid} is missing from the repository{hint}")]
    MissingObject {
        repo: String,
        what: String,
        oid: String,
        hint: String,
    },
    #[error("{rev}: {path}: no such file or directory in this revision")]
    MissingPath { rev: String, path: String },
    #[error("{path}: invalid path inside a repository (use a relative path without `..`)")]
    BadPath { path: String },
    #[error("{rev}: {path}: not valid UTF-8 text")]
    NotUtf8 { rev: String, path: String },
    #[error("{rev}: {path}: larger than {limit} bytes")]
    TooLarge {
        rev: String,
        path: String,
        limit: u64,
    },
    #[error("{rev}: {path}: symbolic link {target:?} {problem}")]
    BadLink {
        rev: String,
        path: String,
        target: String,
        problem: &'static str,
    },
    #[error("{repo}: {message}")]
    Other { repo: String, message: String },
    #[error("{dir} at {rev}: cannot render: {message}")]
    Render {
        dir: String,
        rev: String,
        message: String,
    },
    #[error("{error} (configuration read from {rev})")]
    Config {
        rev: String,
        error: crate::config::ConfigError,
    },
}

/// How a shallow clone can fetch what it lacks.
const SHALLOW_HINT: &str = "; this is a shallow clone that lacks the commit or its history: \
run `git fetch --deepen=100` (or `git fetch --unshallow`), or check out with full history \
(for example `fetch-depth: 0` in GitHub Actions)";

/// A resolved commit: what the user wrote and the commit it names.
#[derive(Clone, Debug)]
pub struct Commit {
    pub rev: String,
    pub oid: Oid,
}

impl Commit {
    /// `main (1a2b3c4d)`, or the short id alone when the user gave an id.
    pub fn describe(&self) -> String {
        let short = self.short();
        if self
            .oid
            .to_string()
            .starts_with(&self.rev.to_ascii_lowercase())
        {
            short
        } else {
            format!("{} ({short})", self.rev)
        }
    }

    pub fn short(&self) -> String {
        self.oid.to_string()[..12].to_string()
    }
}

/// Accepts or refuses a repository path.
type PathFilter = Box<dyn Fn(&str) -> bool>;

/// An opened repository and the blobs read from it so far.
pub struct GitRepo {
    repo: Repository,
    name: String,
    blobs: RefCell<HashMap<Oid, Arc<str>>>,
    /// Which repository paths found by walking a tree are read (include and
    /// exclude globs); paths named explicitly are always read.
    select: Option<PathFilter>,
    /// Kustomizations are rendered when set (`Some(None)`: rendering wanted
    /// but no tool installed, an error when a kustomization is found).
    kustomize: Option<Option<Kustomize>>,
    /// `helm template`, if installed, and how named charts are rendered
    /// (`None`: charts are read as plain files).
    helm: Option<HelmSetup>,
}

impl std::fmt::Debug for GitRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitRepo").field("name", &self.name).finish()
    }
}

/// What walking a tree found: manifests and directories to render, and the
/// hidden entries it left out.
#[derive(Default)]
struct Found {
    entries: Vec<Entry>,
    hidden: Vec<String>,
}

/// One manifest found in a tree: its repository path and blob.
struct Entry {
    path: String,
    oid: Oid,
    /// A directory to render (`oid` is its tree), or a file to read.
    render: Option<RenderKind>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RenderKind {
    Kustomize,
    Helm,
}

impl GitRepo {
    /// Opens the repository at `dir` (a work tree, its `.git`, or a bare
    /// repository). Parent directories are not searched: the path given is
    /// the repository.
    pub fn open(dir: &Path) -> Result<GitRepo, GitError> {
        let name = dir.display().to_string();
        let repo = Repository::open(dir).map_err(|e| {
            let mut message = e.message().to_string();
            if e.code() == ErrorCode::Owner {
                message.push_str(&format!(
                    "; if you trust it, run `git config --global --add safe.directory {}`",
                    dir.display()
                ));
            }
            GitError::NotARepo {
                repo: name.clone(),
                message,
            }
        })?;
        Ok(GitRepo {
            repo,
            name,
            blobs: RefCell::new(HashMap::new()),
            select: None,
            kustomize: None,
            helm: None,
        })
    }

    /// Renders directories that hold a `kustomization.yaml` with `tool`
    /// (`None`: none installed; finding a kustomization is then an error).
    pub fn set_kustomize(&mut self, tool: Option<Kustomize>) {
        self.kustomize = Some(tool);
    }

    /// Renders chart directories (a `Chart.yaml`) with `setup.helm`
    /// (`None`: not installed; finding a chart is then an error).
    /// `setup.charts` gives release, namespace and values per chart
    /// directory; others are released under their directory's name.
    pub fn set_helm(&mut self, setup: HelmSetup) {
        self.helm = Some(setup);
    }

    /// Renders the chart in `dir` as of `commit`: its directory and values
    /// files exported, `helm template` run on them.
    fn render_chart(&self, commit: &Commit, dir: &str) -> Result<SourceFile, GitError> {
        let fail = |message: String| render_error(commit, dir, message);
        let Some(HelmSetup {
            helm: Some(helm),
            charts,
        }) = &self.helm
        else {
            return Err(fail(
                "this directory is a Helm chart, but helm is not installed \
                 (install helm, or set `render: {helm: false}` in .reachdiff.yaml to read its files as they are)"
                    .into(),
            ));
        };
        let opts = charts
            .get(dir)
            .cloned()
            .unwrap_or_else(|| ChartOptions::for_dir(dir));
        opts.validate().map_err(fail)?;
        let view = self.view(commit)?;
        let mut closure = Closure::default();
        kustomize::directory_closure(&view, dir, &mut closure).map_err(fail)?;
        for v in &opts.values {
            match view.node(v) {
                Node::File(size) => closure.add(v, size).map_err(fail)?,
                _ => {
                    return Err(fail(format!(
                        "values file {v:?} is not a file of this revision"
                    )));
                }
            }
        }
        let export = self.export_closure(commit, &view, &closure)?;
        let text = helm.render(&export, dir, &opts).map_err(fail)?;
        let origins = super::origin::helm(&text, dir, &view);
        Ok(rendered(dir, "helm template", text, origins))
    }

    /// Renders the kustomization in `dir` as of `commit`: every
    /// kustomization it loads is checked and only the files it reads are
    /// exported, with `buildMetadata: [originAnnotations]` added to the
    /// exported root kustomization so each object names its source file.
    fn render_dir(&self, commit: &Commit, dir: &str) -> Result<SourceFile, GitError> {
        let fail = |message: String| render_error(commit, dir, message);
        let Some(Some(tool)) = &self.kustomize else {
            return Err(fail(
                "this directory is a kustomization, but neither kubectl nor kustomize is installed \
                 (install one, or set `render: {kustomize: false}` in .reachdiff.yaml to read its files as they are)"
                    .into(),
            ));
        };
        let view = self.view(commit)?;
        let closure = kustomize::check(&view, dir).map_err(fail)?;
        let export = self.export_closure(commit, &view, &closure)?;
        let root = view.bytes(&closure.root_file).map_err(fail)?;
        let annotated = super::origin::with_origin_annotations(&root).map_err(fail)?;
        export
            .write(&closure.root_file, annotated.as_bytes())
            .map_err(|e| self.export_error(commit, e))?;
        let text = tool.render(&export, dir).map_err(fail)?;
        let origins = super::origin::kustomize(&text, dir, &view, &closure.patches);
        Ok(rendered(dir, "kustomize build", text, origins))
    }

    /// The tree of `commit` as a [`TreeView`] for the render checks.
    fn view<'a>(&'a self, commit: &'a Commit) -> Result<GitTree<'a>, GitError> {
        Ok(GitTree {
            repo: self,
            commit,
            tree: self.tree(commit)?,
        })
    }

    fn export_error(&self, commit: &Commit, e: std::io::Error) -> GitError {
        GitError::Other {
            repo: self.name.clone(),
            message: format!("exporting {} for rendering: {e}", commit.describe()),
        }
    }

    /// Writes the files of `closure` (links to files written as the file
    /// they point to) to a private temporary directory, removed when the
    /// export is dropped.
    fn export_closure(
        &self,
        commit: &Commit,
        view: &GitTree<'_>,
        closure: &Closure,
    ) -> Result<Export, GitError> {
        let export = Export::new().map_err(|e| self.export_error(commit, e))?;
        for path in &closure.files {
            let bytes = view
                .bytes(path)
                .map_err(|message| render_error(commit, path, message))?;
            export
                .write(path, &bytes)
                .map_err(|e| self.export_error(commit, e))?;
        }
        Ok(export)
    }

    /// Applies a repository configuration (read from the base commit):
    /// its include/exclude globs and its rendering settings.
    pub fn apply_config(&mut self, cfg: &crate::config::Config) {
        let filter = cfg.clone();
        self.set_filter(move |p| filter.selects(p));
        if let Some(setup) = super::render::helm_from_config(&cfg.render) {
            self.set_helm(setup);
        }
        if let Some(tool) = super::render::from_config(&cfg.render) {
            self.set_kustomize(tool);
        }
    }

    /// Restricts the manifests found below directories to paths `select`
    /// accepts (configuration's include and exclude globs).
    pub fn set_filter(&mut self, select: impl Fn(&str) -> bool + 'static) {
        self.select = Some(Box::new(select));
    }

    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    fn hint(&self) -> String {
        if self.is_shallow() {
            SHALLOW_HINT.to_string()
        } else {
            String::new()
        }
    }

    /// Resolves anything `git rev-parse` understands to a commit.
    pub fn resolve(&self, rev: &str) -> Result<Commit, GitError> {
        let unknown = |hint: String| GitError::UnknownRev {
            repo: self.name.clone(),
            rev: rev.to_string(),
            hint,
        };
        let obj = self.repo.revparse_single(rev).map_err(|e| match e.code() {
            ErrorCode::NotFound | ErrorCode::Ambiguous | ErrorCode::InvalidSpec => {
                let hint = if self.is_shallow() {
                    SHALLOW_HINT.to_string()
                } else if rev.len() >= 7 && rev.chars().all(|c| c.is_ascii_hexdigit()) {
                    "; if the commit exists elsewhere, fetch it first (`git fetch origin <sha>`)"
                        .to_string()
                } else {
                    String::new()
                };
                unknown(hint)
            }
            _ => unknown(format!(" ({})", e.message())),
        })?;
        let commit = obj.peel_to_commit().map_err(|e| {
            if e.code() == ErrorCode::NotFound {
                unknown(self.hint())
            } else {
                unknown(format!(" ({})", e.message()))
            }
        })?;
        Ok(Commit {
            rev: rev.to_string(),
            oid: commit.id(),
        })
    }

    /// The best common ancestor of two commits: the base a pull request's
    /// "Files changed" compares against.
    pub fn merge_base(&self, base: &Commit, head: &Commit) -> Result<Commit, GitError> {
        match self.repo.merge_base(base.oid, head.oid) {
            Ok(oid) => Ok(Commit {
                rev: format!("merge-base of {} and {}", base.rev, head.rev),
                oid,
            }),
            Err(e) => {
                let hint = if self.is_shallow() {
                    SHALLOW_HINT.to_string()
                } else if e.code() == ErrorCode::NotFound {
                    "; the histories are unrelated: use --base-exact to compare the two commits as they are"
                        .to_string()
                } else {
                    format!(" ({})", e.message())
                };
                Err(GitError::NoMergeBase {
                    repo: self.name.clone(),
                    base: base.rev.clone(),
                    head: head.rev.clone(),
                    hint,
                })
            }
        }
    }

    /// The two commits of a diff: `head`, and either `base` itself
    /// (`exact`) or the merge-base of `base` and `head`.
    pub fn diff_commits(
        &self,
        base: &str,
        head: &str,
        exact: bool,
    ) -> Result<(Commit, Commit), GitError> {
        let b = self.resolve(base)?;
        let h = self.resolve(head)?;
        let b = if exact { b } else { self.merge_base(&b, &h)? };
        Ok((b, h))
    }

    fn tree(&self, commit: &Commit) -> Result<Tree<'_>, GitError> {
        let c = self
            .repo
            .find_commit(commit.oid)
            .map_err(|_| self.missing(commit, "commit", commit.oid))?;
        c.tree()
            .map_err(|_| self.missing(commit, "tree", c.tree_id()))
    }

    fn missing(&self, commit: &Commit, what: &str, oid: Oid) -> GitError {
        GitError::MissingObject {
            repo: self.name.clone(),
            what: format!("{} of {}", what, commit.describe()),
            oid: oid.to_string(),
            hint: if self.is_shallow() {
                SHALLOW_HINT.to_string()
            } else {
                "; a partial clone may need `git fetch` of the missing objects".to_string()
            },
        }
    }

    /// The manifests below `paths` (repository-relative; empty means the
    /// whole tree) in `commit`. A path absent from this commit is an error
    /// unless `allow_missing` (one side of a diff may lack a directory the
    /// other adds).
    pub fn revision(
        &self,
        label: &str,
        commit: &Commit,
        paths: &[String],
        allow_missing: bool,
    ) -> Result<Revision, GitError> {
        let found = self.entries(commit, paths, allow_missing)?;
        self.prefetch(&found.entries);
        self.build(label, commit, found)
    }

    /// The revision of already listed entries.
    fn build(&self, label: &str, commit: &Commit, found: Found) -> Result<Revision, GitError> {
        let mut files = Vec::with_capacity(found.entries.len());
        for e in found.entries {
            if let Some(kind) = e.render {
                files.push(match kind {
                    RenderKind::Kustomize => self.render_dir(commit, &e.path)?,
                    RenderKind::Helm => self.render_chart(commit, &e.path)?,
                });
                continue;
            }
            let text = self.blob_text(commit, &e.path, e.oid)?;
            files.push(SourceFile::new(e.path, text));
        }
        let mut rev = Revision::new(label, files);
        rev.notes = super::hidden_notes(&found.hidden);
        Ok(rev)
    }

    /// Both sides of a diff. Paths missing on one side are empty there; a
    /// path missing on both is an error.
    pub fn revision_pair(
        &self,
        base: &Commit,
        head: &Commit,
        paths: &[String],
    ) -> Result<(Revision, Revision), GitError> {
        for p in paths {
            let p = normalize(p)?;
            if p.is_empty() {
                continue;
            }
            let in_base = self.lookup(&self.tree(base)?, &p).is_some();
            let in_head = self.lookup(&self.tree(head)?, &p).is_some();
            if !in_base && !in_head {
                return Err(GitError::MissingPath {
                    rev: format!("{} and {}", base.describe(), head.describe()),
                    path: p,
                });
            }
        }
        let be = self.entries(base, paths, true)?;
        let he = self.entries(head, paths, true)?;
        // Blobs of both sides at once; an unchanged blob is read once.
        self.prefetch(be.entries.iter().chain(&he.entries));
        let b = self.build("base", base, be)?;
        let h = self.build("head", head, he)?;
        Ok((b, h))
    }

    /// Reads one file of a commit (for configuration). `Ok(None)` when the
    /// commit has no such file.
    pub fn read_file(&self, commit: &Commit, path: &str) -> Result<Option<Arc<str>>, GitError> {
        let tree = self.tree(commit)?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(e) => e,
            Err(_) => return Ok(None),
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return Ok(None);
        }
        self.blob_text(commit, path, entry.id()).map(Some)
    }

    /// The repository configuration (`.reachdiff.yaml` at the root) as of
    /// `commit`; the empty configuration when the commit has none. Callers
    /// pass the BASE commit of a diff, never the head.
    pub fn config(&self, commit: &Commit) -> Result<crate::config::Config, GitError> {
        use crate::config::{Config, FILE_NAME};
        match self.read_file(commit, FILE_NAME)? {
            None => Ok(Config::default()),
            Some(text) => Config::parse(FILE_NAME, &text).map_err(|error| GitError::Config {
                rev: commit.describe(),
                error,
            }),
        }
    }

    fn lookup(&self, tree: &Tree<'_>, path: &str) -> Option<(ObjectType, Oid, i32)> {
        let e = tree.get_path(Path::new(path)).ok()?;
        Some((e.kind()?, e.id(), e.filemode()))
    }

    fn entries(
        &self,
        commit: &Commit,
        paths: &[String],
        allow_missing: bool,
    ) -> Result<Found, GitError> {
        let tree = self.tree(commit)?;
        let mut found = Found::default();
        let roots: Vec<String> = if paths.is_empty() {
            vec![String::new()]
        } else {
            paths
                .iter()
                .map(|p| normalize(p))
                .collect::<Result<_, _>>()?
        };
        for root in roots {
            if root.is_empty() {
                self.walk(commit, &tree, &tree, "", &mut found)?;
                continue;
            }
            match self.lookup(&tree, &root) {
                None if allow_missing => {}
                None => {
                    return Err(GitError::MissingPath {
                        rev: commit.describe(),
                        path: root,
                    });
                }
                Some((ObjectType::Tree, oid, _)) => {
                    let sub = self
                        .repo
                        .find_tree(oid)
                        .map_err(|_| self.missing(commit, "tree", oid))?;
                    self.walk(commit, &tree, &sub, &root, &mut found)?;
                }
                Some((ObjectType::Blob, oid, mode)) => {
                    // A file named explicitly is read whatever its extension,
                    // as in the directory mode.
                    let oid = if mode == 0o120000 {
                        self.follow_link(commit, &tree, &root, oid)?
                    } else {
                        Some(oid)
                    };
                    if let Some(oid) = oid {
                        found.entries.push(Entry {
                            path: root,
                            oid,
                            render: None,
                        });
                    }
                }
                Some(_) => {}
            }
        }
        found.entries.sort_by(|a, b| a.path.cmp(&b.path));
        found.entries.dedup_by(|a, b| a.path == b.path);
        found.hidden.sort();
        found.hidden.dedup();
        Ok(found)
    }

    /// Recursively collects manifests below `tree`, whose path is `prefix`.
    fn walk(
        &self,
        commit: &Commit,
        root: &Tree<'_>,
        tree: &Tree<'_>,
        prefix: &str,
        found: &mut Found,
    ) -> Result<(), GitError> {
        let has = |names: &[&str]| {
            tree.iter()
                .find_map(|e| e.name().filter(|n| names.contains(n)).map(str::to_string))
        };
        let (kind, file) = match (has(&KUSTOMIZATION_FILES), has(&["Chart.yaml"])) {
            (Some(f), _) if self.kustomize.is_some() => (Some(RenderKind::Kustomize), f),
            (_, Some(f)) if self.helm.is_some() => (Some(RenderKind::Helm), f),
            _ => (None, String::new()),
        };
        // include/exclude decide before anything renders: a kustomization
        // or chart whose file they refuse is left out whole.
        let file = if prefix.is_empty() {
            file
        } else {
            format!("{prefix}/{file}")
        };
        if kind.is_some() && !self.select.as_ref().is_none_or(|f| f(&file)) {
            return Ok(());
        }
        if let Some(kind) = kind {
            // Rendered as a whole; its files are inputs, not manifests.
            found.entries.push(Entry {
                path: prefix.to_string(),
                oid: tree.id(),
                render: Some(kind),
            });
            return Ok(());
        }
        for e in tree.iter() {
            let Some(name) = e.name() else {
                continue; // not UTF-8: cannot be named in a report
            };
            let path = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}/{name}")
            };
            if name.starts_with('.') {
                if super::hidden_worth_saying(name, e.kind() == Some(ObjectType::Tree)) {
                    found.hidden.push(path);
                }
                continue;
            }
            match e.kind() {
                Some(ObjectType::Tree) => {
                    let sub = self
                        .repo
                        .find_tree(e.id())
                        .map_err(|_| self.missing(commit, "tree", e.id()))?;
                    self.walk(commit, root, &sub, &path, found)?;
                }
                Some(ObjectType::Blob)
                    if is_manifest(name) && self.select.as_ref().is_none_or(|f| f(&path)) =>
                {
                    let oid = if e.filemode() == 0o120000 {
                        self.follow_link(commit, root, &path, e.id())?
                    } else {
                        Some(e.id())
                    };
                    if let Some(oid) = oid {
                        found.entries.push(Entry {
                            path,
                            oid,
                            render: None,
                        });
                    }
                }
                // Submodules (commits) and other files are not manifests.
                _ => {}
            }
        }
        Ok(())
    }

    /// Follows a symbolic link inside the tree, as the directory mode follows
    /// links on disk: a link to a file yields that file's blob, a link to a
    /// directory is skipped (never recursed, so no loops), and a link that
    /// leaves the repository or points nowhere is an error. Nothing outside
    /// the object database is ever read.
    fn follow_link(
        &self,
        commit: &Commit,
        root: &Tree<'_>,
        path: &str,
        mut oid: Oid,
    ) -> Result<Option<Oid>, GitError> {
        let mut at = path.to_string();
        for _ in 0..16 {
            let target = self.blob_text(commit, &at, oid)?.to_string();
            let bad = |problem| GitError::BadLink {
                rev: commit.describe(),
                path: path.to_string(),
                target: target.clone(),
                problem,
            };
            let dir = at.rsplit_once('/').map_or("", |(d, _)| d);
            let joined =
                resolve_relative(dir, &target).ok_or_else(|| bad("leaves the repository"))?;
            match self.lookup(root, &joined) {
                Some((ObjectType::Blob, next, 0o120000)) => {
                    at = joined;
                    oid = next;
                }
                Some((ObjectType::Blob, next, _)) => return Ok(Some(next)),
                Some((ObjectType::Tree, _, _)) => return Ok(None),
                _ => return Err(bad("points to nothing in this revision")),
            }
        }
        Err(GitError::BadLink {
            rev: commit.describe(),
            path: path.to_string(),
            target: String::new(),
            problem: "is part of a loop of links",
        })
    }

    /// Reads many blobs in parallel into the cache (each worker opens its
    /// own handle: libgit2 repositories are not shared across threads).
    /// Best effort: a blob that fails here is read again by
    /// [`Self::blob_text`], which reports the error with its path.
    fn prefetch<'a>(&self, entries: impl IntoIterator<Item = &'a Entry>) {
        let mut todo: Vec<Oid> = {
            let cache = self.blobs.borrow();
            entries
                .into_iter()
                .filter(|e| e.render.is_none() && !cache.contains_key(&e.oid))
                .map(|e| e.oid)
                .collect()
        };
        todo.sort_unstable();
        todo.dedup();
        if todo.len() < 256 {
            return;
        }
        let path = self.repo.path().to_path_buf();
        let per_worker = todo.len().div_ceil(rayon::current_num_threads().max(1) * 4);
        let read: Vec<(Oid, Arc<str>)> = todo
            .par_chunks(per_worker.max(64))
            .flat_map_iter(|chunk| {
                let Ok(repo) = Repository::open(&path) else {
                    return Vec::new();
                };
                let Ok(odb) = repo.odb() else {
                    return Vec::new();
                };
                chunk
                    .iter()
                    .filter_map(|&oid| {
                        let (size, kind) = odb.read_header(oid).ok()?;
                        if kind != ObjectType::Blob || size as u64 > MAX_FILE_BYTES {
                            return None;
                        }
                        let obj = odb.read(oid).ok()?;
                        let text = std::str::from_utf8(obj.data()).ok()?;
                        Some((oid, Arc::from(text)))
                    })
                    .collect()
            })
            .collect();
        self.blobs.borrow_mut().extend(read);
    }

    /// The text of a blob, read once per repository however often asked.
    fn blob_text(&self, commit: &Commit, path: &str, oid: Oid) -> Result<Arc<str>, GitError> {
        if let Some(t) = self.blobs.borrow().get(&oid) {
            return Ok(t.clone());
        }
        let odb = self.repo.odb().map_err(|e| GitError::Other {
            repo: self.name.clone(),
            message: e.message().to_string(),
        })?;
        let what = format!("{path} in {}", commit.describe());
        let (size, _) = odb.read_header(oid).map_err(|_| GitError::MissingObject {
            repo: self.name.clone(),
            what: what.clone(),
            oid: oid.to_string(),
            hint: self.hint(),
        })?;
        if size as u64 > MAX_FILE_BYTES {
            return Err(GitError::TooLarge {
                rev: commit.describe(),
                path: path.to_string(),
                limit: MAX_FILE_BYTES,
            });
        }
        let obj = odb.read(oid).map_err(|_| GitError::MissingObject {
            repo: self.name.clone(),
            what,
            oid: oid.to_string(),
            hint: self.hint(),
        })?;
        let text = std::str::from_utf8(obj.data()).map_err(|_| GitError::NotUtf8 {
            rev: commit.describe(),
            path: path.to_string(),
        })?;
        let text: Arc<str> = Arc::from(text);
        self.blobs.borrow_mut().insert(oid, text.clone());
        Ok(text)
    }
}

/// One commit's tree, read for the render checks and exports.
struct GitTree<'a> {
    repo: &'a GitRepo,
    commit: &'a Commit,
    tree: Tree<'a>,
}

impl GitTree<'_> {
    /// The blob at `path`, links to files followed; `Err` says why there
    /// is none.
    fn blob(&self, path: &str) -> Result<Oid, Node> {
        let Some((kind, oid, mode)) = self.repo.lookup(&self.tree, path) else {
            return Err(Node::Missing);
        };
        match kind {
            ObjectType::Tree => Err(Node::Dir),
            ObjectType::Blob if mode == 0o120000 => {
                match self.repo.follow_link(self.commit, &self.tree, path, oid) {
                    Ok(Some(target)) => Ok(target),
                    Ok(None) => Err(Node::Unsupported(
                        "a symbolic link to a directory, which renders do not follow \
                         (name the directory itself)",
                    )),
                    Err(_) => Err(Node::Unsupported(
                        "a symbolic link that leaves the repository or points nowhere",
                    )),
                }
            }
            ObjectType::Blob => Ok(oid),
            _ => Err(Node::Unsupported(
                "a submodule, whose files are not part of this repository",
            )),
        }
    }
}

impl TreeView for GitTree<'_> {
    fn node(&self, path: &str) -> Node {
        if path.is_empty() {
            return Node::Dir;
        }
        match self.blob(path) {
            Ok(oid) => match self.repo.repo.odb().and_then(|o| o.read_header(oid)) {
                Ok((size, _)) => Node::File(size as u64),
                Err(_) => Node::Unsupported("an object missing from the repository"),
            },
            Err(node) => node,
        }
    }

    fn bytes(&self, path: &str) -> Result<Vec<u8>, String> {
        let oid = self.blob(path).map_err(|n| match n {
            Node::Unsupported(why) => format!("{path}: {why}"),
            _ => format!("{path}: not a file of this revision"),
        })?;
        let odb = self.repo.repo.odb().map_err(|e| e.message().to_string())?;
        let (size, _) = odb
            .read_header(oid)
            .map_err(|_| format!("{path}: object {oid} is missing from the repository"))?;
        if size as u64 > MAX_FILE_BYTES {
            return Err(format!("{path}: larger than {MAX_FILE_BYTES} bytes"));
        }
        let obj = odb
            .read(oid)
            .map_err(|_| format!("{path}: object {oid} is missing from the repository"))?;
        Ok(obj.data().to_vec())
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let sub = if dir.is_empty() {
            Some(self.tree.clone())
        } else {
            self.tree
                .get_path(Path::new(dir))
                .ok()
                .filter(|e| e.kind() == Some(ObjectType::Tree))
                .and_then(|e| self.repo.repo.find_tree(e.id()).ok())
        };
        sub.map(|t| {
            t.iter()
                .filter_map(|e| e.name().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
    }
}

/// A rendered directory as a source file: named by its directory and the
/// tool, its lines mapped to their origins where known.
fn rendered(dir: &str, tool: &str, text: String, origins: LineMap) -> SourceFile {
    let mut f = SourceFile::new(crate::revision::rendered_name(dir, tool), text);
    if !origins.is_empty() {
        f.origins = Some(Arc::new(origins));
    }
    f
}

fn is_manifest(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json")
}

/// A user-given path inside the repository, as `a/b/c` (empty for the
/// root). Absolute paths and `..` are refused.
pub fn normalize(p: &str) -> Result<String, GitError> {
    let bad = || GitError::BadPath {
        path: p.to_string(),
    };
    if p.starts_with('/') || p.contains('\\') {
        return Err(bad());
    }
    let mut parts = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(bad()),
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

/// A rendering failure of directory `dir` (`.` for the root) at `commit`.
fn render_error(commit: &Commit, dir: &str, message: String) -> GitError {
    GitError::Render {
        dir: if dir.is_empty() {
            ".".into()
        } else {
            dir.to_string()
        },
        rev: commit.describe(),
        message,
    }
}

/// `dir` joined with a link target, normalised; `None` when it leaves the
/// repository or is absolute.
fn resolve_relative(dir: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    super::render::resolve(dir, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Security issue 12, item 9: exports for rendering are not readable
    /// by other users.
    #[test]
    fn exports_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path();
        crate::source::fetch::test_git(repo, &["init", "-q", "-b", "main"]);
        std::fs::create_dir_all(repo.join("k/base")).unwrap();
        std::fs::write(repo.join("k/base/a.yaml"), "kind: Pod\n").unwrap();
        crate::source::fetch::test_git(repo, &["add", "-A"]);
        crate::source::fetch::test_git(repo, &["commit", "-q", "-m", "x"]);
        let git = GitRepo::open(repo).unwrap();
        let commit = git.resolve("main").unwrap();
        let view = git.view(&commit).unwrap();
        let mut closure = Closure::default();
        closure.add("k/base/a.yaml", 10).unwrap();
        let export = git.export_closure(&commit, &view, &closure).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let root = export.root();
        assert_eq!(mode(root.parent().unwrap()), 0o700);
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("k/base")), 0o700);
        assert_eq!(mode(&root.join("k/base/a.yaml")), 0o600);
        assert_eq!(mode(&export.home()), 0o700);
    }

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize("").unwrap(), "");
        assert_eq!(normalize(".").unwrap(), "");
        assert_eq!(normalize("./clusters//prod/").unwrap(), "clusters/prod");
        assert!(normalize("../x").is_err());
        assert!(normalize("a/../../x").is_err());
        assert!(normalize("/etc").is_err());
    }

    #[test]
    fn link_targets_stay_inside() {
        assert_eq!(
            resolve_relative("a/b", "../c.yaml").as_deref(),
            Some("a/c.yaml")
        );
        assert_eq!(resolve_relative("", "c.yaml").as_deref(), Some("c.yaml"));
        assert_eq!(resolve_relative("a", "../../c.yaml"), None);
        assert_eq!(resolve_relative("a", "/etc/passwd"), None);
    }
}
