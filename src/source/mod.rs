//! Producers of [`Revision`](crate::revision::Revision)s: the file system
//! (`fs`) and the object database of a git repository (`git`).

pub mod fetch;
pub mod fs;
pub mod git;
pub mod kustomize;
pub mod origin;
pub mod render;
pub mod sandbox;
