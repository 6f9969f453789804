//! Files and directories (recursive; `.yaml`, `.yml`, `.json`) and stdin.

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
        let mut found = Vec::new();
        walk(p, &mut found)?;
        found.sort();
        // Reading thousands of small files is syscall-bound: do it in parallel.
        let read_all: Vec<Result<SourceFile, SourceError>> = found
            .par_iter()
            .map(|f| {
                let rel = f.strip_prefix(p).unwrap_or(f);
                let shown = match style {
                    PathStyle::AsGiven => p.join(rel).display().to_string(),
                    PathStyle::RelativeToRoot => rel.display().to_string(),
                };
                read(f, shown)
            })
            .collect();
        for r in read_all {
            files.push(r?);
        }
    }
    Ok(Revision {
        label: label.to_string(),
        files,
    })
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SourceError> {
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
        if name.to_string_lossy().starts_with('.') {
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
            out.push(path);
        }
    }
    Ok(())
}
