//! reachdiff: what a Kubernetes NetworkPolicy change really opens and closes.
//!
//! See ARCHITECTURE.md for the map of modules and the invariants they keep.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod changes;
pub mod comparison;
pub mod config;
pub mod diag;
pub mod diff;
pub mod findings;
pub mod manifest;
pub mod model;
pub mod reach;
pub mod report;
pub mod review;
pub mod revision;
pub mod shapes;
pub mod words;

pub mod app;
pub mod cli;
pub mod github;
pub mod ops;
pub mod source;
