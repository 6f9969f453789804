//! Producers of [`Revision`](crate::revision::Revision)s: the file system
//! here; git revisions live beside it.

pub mod fs;
