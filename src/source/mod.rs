//! Producers of [`Revision`](crate::revision::Revision)s: the file system
//! (`fs`) and the object database of a git repository (`git`).

pub mod discover;
pub mod fetch;
pub mod fs;
pub mod git;
pub mod kustomize;
pub mod origin;
pub mod render;
pub mod sandbox;

use crate::diag::{Code, Diagnostic};

/// Whether a hidden entry a walk skips is worth saying: a directory (but
/// `.git`) or a file that would otherwise be read as a manifest (but the
/// configuration, `.reachdiff.yaml`).
pub(crate) fn hidden_worth_saying(name: &str, is_dir: bool) -> bool {
    if is_dir {
        name != ".git"
    } else {
        name != crate::config::FILE_NAME
            && [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e))
    }
}

/// One diagnostic that counts the hidden entries left out, and one per
/// entry (listed with `-v`).
pub(crate) fn hidden_notes(hidden: &[String]) -> Vec<Diagnostic> {
    if hidden.is_empty() {
        return Vec::new();
    }
    let mut shown: Vec<&str> = hidden.iter().take(5).map(String::as_str).collect();
    if hidden.len() > 5 {
        shown.push("…");
    }
    let mut notes = vec![Diagnostic::new(
        Code::Skipped,
        format!(
            "{} not read: names starting with `.` are skipped ({}; -v lists them)",
            crate::words::plural(hidden.len(), "hidden entry", "hidden entries"),
            shown.join(", ")
        ),
    )];
    notes.extend(
        hidden
            .iter()
            .map(|p| Diagnostic::new(Code::HiddenSkipped, format!("{p}: hidden, not read"))),
    );
    notes
}
