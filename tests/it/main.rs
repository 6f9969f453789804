//! The one integration-test binary. Each module names what it covers.

/// ClusterNetworkPolicy and AdminNetworkPolicy tiers, written from the spec.
mod admin_tiers;
/// Bad input: exit 2, `error: FILE:LINE:COL: ...`, no panic, nothing on stdout.
mod bad_input;
/// The pull-request comment's size budget on the largest generated diff.
mod budget;
/// The shared conformance corpus from an independent analyser.
mod conformance;
/// Realistic base/head scenarios in fixtures/scenarios: JSON goldens, Markdown and text snapshots.
mod fixtures;
/// Generated clusters: the diff equals reach(head) minus reach(base) and
/// the reverse, every changed row has a cause, analysis never panics.
mod properties;
/// Shared helpers: in-memory revisions, running the built binary.
mod support;
/// The Kubernetes e2e NetworkPolicy model (namespaces x, y, z; pods a, b, c)
/// as full truth tables written from the semantics.
mod truth_table;
