//! Reading an environment's roots without stopping at the first problem,
//! and the tree of a commit as environment discovery sees it.

use super::{Commit, Entry, GitError, GitRepo, normalize};
use crate::revision::Revision;
use crate::source::discover::Snapshot;
use crate::source::render::ChartOptions;
use git2::{ObjectType, Oid, Tree};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Every file of a commit (entries under a name starting with `.`
/// skipped), for environment discovery.
pub struct GitSnapshot<'a> {
    repo: &'a GitRepo,
    commit: Commit,
    files: Vec<String>,
    oids: BTreeMap<String, Oid>,
    /// Texts read so far; `None`: unreadable (discovery ignores it).
    texts: RefCell<HashMap<String, Option<Arc<str>>>>,
}

impl Snapshot for GitSnapshot<'_> {
    fn files(&self) -> &[String] {
        &self.files
    }

    fn text(&self, path: &str) -> Option<Arc<str>> {
        if let Some(t) = self.texts.borrow().get(path) {
            return t.clone();
        }
        let t = self
            .oids
            .get(path)
            .and_then(|&oid| self.repo.blob_text(&self.commit, path, oid).ok());
        self.texts.borrow_mut().insert(path.to_string(), t.clone());
        t
    }
}

impl GitRepo {
    /// The files of `commit` as environment discovery reads them. Manifest
    /// blobs are read ahead in parallel: most are read again by the
    /// analysis, from the same cache.
    pub fn snapshot(&self, commit: &Commit) -> Result<GitSnapshot<'_>, GitError> {
        let tree = self.tree(commit)?;
        let mut oids = BTreeMap::new();
        let mut stack: Vec<(Tree<'_>, String)> = vec![(tree, String::new())];
        while let Some((tree, prefix)) = stack.pop() {
            for e in tree.iter() {
                let Some(name) = e.name() else { continue };
                if name.starts_with('.') {
                    continue;
                }
                let path = if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}/{name}")
                };
                match e.kind() {
                    Some(ObjectType::Tree) => {
                        let sub = self
                            .repo
                            .find_tree(e.id())
                            .map_err(|_| self.missing(commit, "tree", e.id()))?;
                        stack.push((sub, path));
                    }
                    // Links are not followed here: discovery reads the
                    // files themselves, the analysis follows links.
                    Some(ObjectType::Blob) if e.filemode() != 0o120000 => {
                        oids.insert(path, e.id());
                    }
                    _ => {}
                }
            }
        }
        let ahead: Vec<Entry> = oids
            .iter()
            .filter(|(p, _)| super::is_manifest(p))
            .map(|(p, &oid)| Entry {
                path: p.clone(),
                oid,
                render: None,
            })
            .collect();
        self.prefetch(&ahead);
        Ok(GitSnapshot {
            repo: self,
            commit: commit.clone(),
            files: oids.keys().cloned().collect(),
            oids,
            texts: RefCell::new(HashMap::new()),
        })
    }

    /// Whether `path` (normalised) is a file or directory of `commit`.
    pub fn exists(&self, commit: &Commit, path: &str) -> Result<bool, GitError> {
        if path.is_empty() {
            return Ok(true);
        }
        Ok(self.lookup(&self.tree(commit)?, path).is_some())
    }

    /// The manifests below `roots` in `commit`, read and rendered one by
    /// one: a root, file or render that fails is left out and its error
    /// kept, so every problem of a side is reported at once. A root this
    /// commit lacks is empty here. `charts` renders the charts it names
    /// with these options instead of the configured ones.
    pub fn read_roots(
        &mut self,
        label: &str,
        commit: &Commit,
        roots: &[String],
        charts: &HashMap<String, ChartOptions>,
    ) -> (Revision, Vec<GitError>) {
        let saved = self.helm.clone();
        if let Some(setup) = &mut self.helm {
            setup
                .charts
                .extend(charts.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let mut errors = Vec::new();
        let mut entries = Vec::new();
        let mut hidden = Vec::new();
        for root in roots {
            match normalize(root).and_then(|r| self.entries(commit, &[r], true)) {
                Ok(found) => {
                    entries.extend(found.entries);
                    hidden.extend(found.hidden);
                }
                Err(e) => errors.push(e),
            }
        }
        hidden.sort();
        hidden.dedup();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.dedup_by(|a, b| a.path == b.path);
        self.prefetch(&entries);
        let mut files = Vec::with_capacity(entries.len());
        for e in entries {
            let one = super::Found {
                entries: vec![e],
                hidden: Vec::new(),
            };
            match self.build(label, commit, one) {
                Ok(r) => files.extend(r.files),
                Err(err) => errors.push(err),
            }
        }
        self.helm = saved;
        let mut rev = Revision::new(label, files);
        rev.notes = crate::source::hidden_notes(&hidden);
        (rev, errors)
    }
}
