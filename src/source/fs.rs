//! Files and directories (recursive; `.yaml`, `.yml`, `.json`) and stdin.

use crate::diag::{Code, Diagnostic};
use crate::revision::{Revision, SourceFile};
use rayon::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not valid UTF-8 text")]
    NotUtf8 { path: String },
    #[error("{path}: no such file or directory")]
    Missing { path: String },
    #[error("{path}: larger than {limit} bytes")]
    TooLarge { path: String, limit: u64 },
    #[error(
        "{path}: a Helm chart (Chart.yaml): its templates are manifests only once helm renders \
         them; analyse it from git with `reachdiff reach --repo REPO {path}` (reachdiff renders \
         it), or with `helm template RELEASE {path} | reachdiff reach -`"
    )]
    Chart { path: String },
}

/// How displayed paths are formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathStyle {
    /// As given on the command line, plus the path below a directory.
    AsGiven,
    /// Relative to the directory given (so both sides of a diff name a file
    /// the same way).
    RelativeToRoot,
}

pub const MAX_FILE_BYTES: u64 = 64 << 20;

fn is_manifest(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml") | Some("yml") | Some("json")
    )
}

fn read(path: &Path, shown: String) -> Result<SourceFile, SourceError> {
    let meta = std::fs::metadata(path).map_err(|source| SourceError::Io {
        path: shown.clone(),
        source,
    })?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(SourceError::TooLarge {
            path: shown,
            limit: MAX_FILE_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(|source| SourceError::Io {
        path: shown.clone(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| SourceError::NotUtf8 {
        path: shown.clone(),
    })?;
    Ok(SourceFile::new(shown, text))
}

/// Reads every manifest under `paths` into one revision.
pub fn read_paths(
    label: &str,
    paths: &[PathBuf],
    style: PathStyle,
) -> Result<Revision, SourceError> {
    let mut files = Vec::new();
    let mut hidden: Vec<String> = Vec::new();
    let mut notes: Vec<Diagnostic> = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .take(MAX_FILE_BYTES + 1)
                .read_to_string(&mut text)
                .map_err(|source| SourceError::Io {
                    path: "<stdin>".into(),
                    source,
                })?;
            if text.len() as u64 > MAX_FILE_BYTES {
                return Err(SourceError::TooLarge {
                    path: "<stdin>".into(),
                    limit: MAX_FILE_BYTES,
                });
            }
            files.push(SourceFile::new("<stdin>", text));
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|_| SourceError::Missing {
            path: p.display().to_string(),
        })?;
        if meta.is_file() {
            let shown = match style {
                PathStyle::AsGiven => p.display().to_string(),
                PathStyle::RelativeToRoot => p.file_name().map_or_else(
                    || p.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                ),
            };
            files.push(read(p, shown)?);
            continue;
        }
        let mut found = Walk::default();
        walk(p, &mut found)?;
        found.files.sort();
        let shown = |f: &Path| {
            let rel = f.strip_prefix(p).unwrap_or(f);
            match style {
                PathStyle::AsGiven if rel.as_os_str().is_empty() => p.display().to_string(),
                PathStyle::AsGiven => p.join(rel).display().to_string(),
                PathStyle::RelativeToRoot => rel.display().to_string(),
            }
        };
        // Reading thousands of small files is syscall-bound: do it in parallel.
        let read_all: Vec<Result<SourceFile, SourceError>> =
            found.files.par_iter().map(|f| read(f, shown(f))).collect();
        for r in read_all {
            files.push(r?);
        }
        hidden.extend(found.hidden.iter().map(|h| shown(h)));
        for k in &found.kustomizations {
            let dir = shown(k);
            let dir = if dir.is_empty() { ".".to_string() } else { dir };
            notes.push(Diagnostic::new(
                Code::NotRendered,
                format!(
                    "{dir}: holds a kustomization, read here file by file without kustomize \
                     (patches, namespaces and generators are not applied); to analyse what \
                     kustomize renders: `reachdiff reach --repo REPO {dir}`, or \
                     `kubectl kustomize {dir} | reachdiff reach -`"
                ),
            ));
        }
    }
    hidden.sort();
    hidden.dedup();
    notes.extend(super::hidden_notes(&hidden));
    let mut rev = Revision::new(label, files);
    rev.notes = notes;
    Ok(rev)
}

/// What walking a directory found.
#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    /// Hidden entries worth saying that were left out.
    hidden: Vec<PathBuf>,
    /// Directories holding a kustomization, read without rendering.
    kustomizations: Vec<PathBuf>,
}

fn walk(dir: &Path, out: &mut Walk) -> Result<(), SourceError> {
    if dir.join("Chart.yaml").is_file() {
        return Err(SourceError::Chart {
            path: dir.display().to_string(),
        });
    }
    if super::kustomize::KUSTOMIZATION_FILES
        .iter()
        .any(|k| dir.join(k).is_file())
    {
        out.kustomizations.push(dir.to_path_buf());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| SourceError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| SourceError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if super::hidden_worth_saying(&name, is_dir) {
                out.hidden.push(path);
            }
            continue;
        }
        // Follow symlinks to files and directories alike (the conformance
        // corpus uses them), but never loop: only real directories recurse.
        let meta = std::fs::metadata(&path).map_err(|source| SourceError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let is_link = entry.file_type().map(|t| t.is_symlink()).unwrap_or(false);
        if meta.is_dir() {
            if !is_link {
                walk(&path, out)?;
            }
        } else if meta.is_file() && is_manifest(&path) {
            out.files.push(path);
        }
    }
    Ok(())
}
