//! Manifests: a [`Revision`]'s text to an [`Inventory`] of typed objects and
//! diagnostics. Parsing is parallel per file, and within a file each document
//! is decoded as soon as it is parsed; merging is in path order so the result
//! never depends on thread timing.

pub mod calico_objects;
pub mod decode;
mod document;
mod merge;
pub mod objects;
pub mod relevance;
pub mod yaml;

use crate::diag::{Code, Diagnostic, Span};
use crate::revision::{Revision, SourceFile};
pub use calico_objects::*;
pub use objects::*;
use rayon::prelude::*;
use relevance::{Class, ObjectKey};
use std::collections::BTreeMap;
use yaml::Limits;

#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Namespace of objects that carry none (M-3).
    pub default_namespace: String,
    pub limits: Limits,
    /// Namespaces that live outside the revision (kube-system, an ingress
    /// controller's, ...) and their labels, from configuration. A namespace
    /// used but not declared takes these labels (plus
    /// `kubernetes.io/metadata.name`) instead of the M-9 assumption; a
    /// Namespace declared in the revision wins.
    pub external_namespaces: BTreeMap<String, crate::model::selector::Labels>,
    /// The configuration's `acknowledge:` entries (the inventory starts
    /// with them).
    pub acknowledgements: Vec<Acknowledgement>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            default_namespace: "default".into(),
            limits: Limits::default(),
            external_namespaces: BTreeMap::new(),
            acknowledgements: Vec::new(),
        }
    }
}

/// An object of a kind the analysis skips, kept only to find second
/// declarations of it.
#[derive(Clone, Debug)]
struct Declared {
    key: ObjectKey,
    span: Span,
    /// A hash of its content, positions aside.
    fingerprint: u64,
}

/// A key written twice in one object; whether it is an error depends on the
/// object's relevance, which is known only once every file is loaded.
#[derive(Clone, Debug)]
struct DupKeyFinding {
    /// The object holding the key, when the key is inside one.
    object: Option<(Class, ObjectKey)>,
    key: String,
    first: Span,
    /// Where the value that is kept (the later one) is written.
    second: Span,
    why: DupWhy,
}

/// What two values of one key mean for the analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DupWhy {
    /// Both values are the same.
    Same,
    /// The values differ, but the analysis never looked at the key.
    Unread,
    /// The values differ and the analysis read the one kept.
    Differs,
    /// Two kinds, apiVersions or item lists: what the object is depends on
    /// which one is kept.
    Identity,
}

#[derive(Default, Clone)]
struct FileObjects {
    namespaces: Vec<Namespace>,
    workloads: Vec<Workload>,
    services: Vec<Service>,
    policies: Vec<NetworkPolicy>,
    admin_policies: Vec<AdminPolicy>,
    cilium_policies: Vec<CiliumPolicy>,
    cidr_groups: Vec<CidrGroup>,
    calico: Vec<CalicoObject>,
    others: Vec<Declared>,
    /// Each modelled object's acknowledgement annotation entries (empty
    /// lists too: a later declaration without them replaces an earlier).
    acknowledgements: Vec<(ObjectKey, Vec<Acknowledgement>)>,
    skipped: BTreeMap<String, usize>,
    diags: Vec<Diagnostic>,
    dup_keys: Vec<DupKeyFinding>,
    /// Workloads without any name so far, per kind (synthetic ids).
    unnamed: BTreeMap<String, usize>,
}

/// Loads every file of the revision. Never fails: problems are diagnostics,
/// and the caller treats any error-severity diagnostic as fatal.
pub fn load(rev: &Revision, opts: &LoadOptions) -> (Inventory, Vec<Diagnostic>) {
    let mut files: Vec<&SourceFile> = rev.files.iter().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let results: Vec<FileObjects> = files.par_iter().map(|f| load_file(f, opts)).collect();
    with_notes(rev, merge::merge(results, opts))
}

/// The source's own notes first, then the loader's diagnostics and the
/// count of skipped documents.
fn with_notes(
    rev: &Revision,
    (inv, diags): (Inventory, Vec<Diagnostic>),
) -> (Inventory, Vec<Diagnostic>) {
    let mut all = rev.notes.clone();
    all.extend(diags);
    let skipped: usize = inv.skipped.values().sum();
    if skipped > 0 {
        let kinds: Vec<String> = inv
            .skipped
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        all.push(Diagnostic::new(
            Code::Skipped,
            format!(
                "{} not analysed, of kinds reachdiff does not read ({}; -v lists them)",
                crate::words::plural(skipped, "document", "documents"),
                kinds.join(", ")
            ),
        ));
    }
    (inv, all)
}

/// Loads the two sides of a comparison. A file with the same path and text
/// on both sides is parsed once and its objects shared.
pub fn load_pair(
    base: &Revision,
    head: &Revision,
    opts: &LoadOptions,
) -> ((Inventory, Vec<Diagnostic>), (Inventory, Vec<Diagnostic>)) {
    let mut base_files: Vec<&SourceFile> = base.files.iter().collect();
    base_files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut head_files: Vec<&SourceFile> = head.files.iter().collect();
    head_files.sort_by(|a, b| a.path.cmp(&b.path));
    let base_by_path: BTreeMap<&str, &SourceFile> =
        base_files.iter().map(|f| (f.path.as_str(), *f)).collect();
    let shared = |f: &SourceFile| {
        base_by_path
            .get(f.path.as_str())
            .is_some_and(|b| b.text == f.text && b.origins == f.origins)
    };
    let base_results: Vec<FileObjects> =
        base_files.par_iter().map(|f| load_file(f, opts)).collect();
    let by_path: BTreeMap<&str, &FileObjects> = base_files
        .iter()
        .zip(&base_results)
        .map(|(f, r)| (f.path.as_str(), r))
        .collect();
    let head_results: Vec<FileObjects> = head_files
        .par_iter()
        .map(|f| match by_path.get(f.path.as_str()) {
            Some(r) if shared(f) => (*r).clone(),
            _ => load_file(f, opts),
        })
        .collect();
    (
        with_notes(base, merge::merge(base_results, opts)),
        with_notes(head, merge::merge(head_results, opts)),
    )
}

/// Loads one file on its own, decoding each document as soon as it is
/// parsed, so memory follows the largest document rather than the file.
fn load_file(file: &SourceFile, opts: &LoadOptions) -> FileObjects {
    let mut out = FileObjects::default();
    let parsed = yaml::parse_each(&file.text, &opts.limits, &mut |feed| match feed {
        yaml::Feed::Restart => out = FileObjects::default(),
        yaml::Feed::Document(doc) => document::load(file, doc, opts, &mut out),
    });
    let span = |pos: yaml::Pos| file.span(pos.line, pos.col);
    match parsed {
        Ok(tab_fixes) => {
            let fixes = tab_fixes.into_iter().map(|pos| {
                Diagnostic::new(
                    Code::TabIndentation,
                    "a tab starts this line inside a flow collection; accepted as kubectl does",
                )
                .at(span(pos))
            });
            out.diags.splice(0..0, fixes);
        }
        Err(e) => {
            // The file is refused as a whole: nothing it declared is kept.
            out = FileObjects::default();
            let code = if e.limit {
                Code::InputLimit
            } else {
                Code::YamlSyntax
            };
            out.diags
                .push(Diagnostic::new(code, e.message).at(span(e.pos)));
        }
    }
    out
}

#[cfg(test)]
mod tests;
