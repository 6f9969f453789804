//! A revision: the manifests of one side of a comparison, as (path, text)
//! pairs. Files and git are two producers of it; the core never reads disks.

use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Path as shown to users (relative to the root given on the command line
    /// or to the repository).
    pub path: String,
    pub text: Arc<str>,
}

#[derive(Clone, Debug, Default)]
pub struct Revision {
    /// `base`, `head`, or the path given; used in messages.
    pub label: String,
    pub files: Vec<SourceFile>,
}
