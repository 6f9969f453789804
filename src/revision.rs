//! A revision: the manifests of one side of a comparison, as (path, text)
//! pairs. Files and git are two producers of it; the core never reads disks.

use crate::diag::{Diagnostic, Span};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Path as shown to users (relative to the root given on the command line
    /// or to the repository). A rendered kustomization or chart is named by
    /// its directory and the tool ([`is_rendered_name`]).
    pub path: String,
    pub text: Arc<str>,
    /// For rendered text: where its lines come from in the repository.
    pub origins: Option<Arc<LineMap>>,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<Arc<str>>) -> SourceFile {
        SourceFile {
            path: path.into(),
            text: text.into(),
            origins: None,
        }
    }

    /// The position of `line:col` of this file's text, as cited to users:
    /// for rendered text, the repository file and line it came from when
    /// known, else the rendered stream's own line (never linked).
    pub fn span(&self, line: u32, col: u32) -> Span {
        match self.origins.as_deref().and_then(|m| m.get(line)) {
            Some(o) => Span {
                file: o.file.to_string(),
                line: o.line,
                col: o.col,
            },
            None => Span {
                file: self.path.clone(),
                line,
                col,
            },
        }
    }
}

/// How reachdiff names the output of a render: `DIR (kustomize build)` or
/// `DIR (helm template)`.
pub fn rendered_name(dir: &str, tool: &str) -> String {
    format!("{} ({tool})", if dir.is_empty() { "." } else { dir })
}

/// Whether `path` names a rendered stream rather than a file: such a path
/// is shown, never linked.
pub fn is_rendered_name(path: &str) -> bool {
    path.ends_with(" (kustomize build)") || path.ends_with(" (helm template)")
}

/// One line's origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin<'a> {
    pub file: &'a str,
    pub line: u32,
    pub col: u32,
}

/// Where the lines of a rendered text come from: per rendered line, a
/// repository file and a line (and column) in it, where known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineMap {
    files: Vec<String>,
    /// Index: rendered line − 1; `(file index, line, col)`.
    lines: Vec<Option<(u32, u32, u32)>>,
}

impl LineMap {
    /// Records that rendered `line` comes from `file:at_line:col` (a line
    /// already mapped to that same line keeps its column).
    pub fn set(&mut self, line: u32, file: &str, at_line: u32, col: u32) {
        let Some(i) = (line as usize).checked_sub(1) else {
            return;
        };
        let f = match self.files.iter().position(|f| f == file) {
            Some(f) => f,
            None => {
                self.files.push(file.to_string());
                self.files.len() - 1
            }
        };
        if self.lines.len() <= i {
            self.lines.resize(i + 1, None);
        }
        // A key and its value share a line: the line starts at the key.
        if matches!(self.lines[i], Some((f0, l0, _)) if f0 == f as u32 && l0 == at_line) {
            return;
        }
        self.lines[i] = Some((f as u32, at_line, col.max(1)));
    }

    pub fn get(&self, line: u32) -> Option<Origin<'_>> {
        let i = (line as usize).checked_sub(1)?;
        let (f, line, col) = (*self.lines.get(i)?)?;
        Some(Origin {
            file: self.files.get(f as usize)?,
            line,
            col,
        })
    }

    /// Whether no line has an origin.
    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(Option::is_none)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Revision {
    /// `base`, `head`, or the path given; used in messages.
    pub label: String,
    pub files: Vec<SourceFile>,
    /// What the producer has to say about what it read and left out
    /// (hidden entries, directories read without rendering); the loader
    /// passes them on with its own diagnostics.
    pub notes: Vec<Diagnostic>,
}

impl Revision {
    pub fn new(label: impl Into<String>, files: Vec<SourceFile>) -> Revision {
        Revision {
            label: label.into(),
            files,
            notes: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_of_rendered_lines_map_to_their_origin() {
        let mut map = LineMap::default();
        map.set(3, "base/web.yaml", 7, 5);
        map.set(4, "base/np.yaml", 2, 0);
        let mut f = SourceFile::new(rendered_name("prod", "kustomize build"), "x");
        f.origins = Some(Arc::new(map));
        assert_eq!(f.span(3, 9).to_string(), "base/web.yaml:7:5");
        assert_eq!(f.span(4, 1).to_string(), "base/np.yaml:2:1");
        // Unknown: the rendered stream itself, which is never linked.
        let s = f.span(5, 1);
        assert_eq!(s.to_string(), "prod (kustomize build):5:1");
        assert!(is_rendered_name(&s.file));
        assert!(!is_rendered_name("base/web.yaml"));
        assert_eq!(rendered_name("", "helm template"), ". (helm template)");
    }
}
