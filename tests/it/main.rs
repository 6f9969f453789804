//! The one integration-test binary. Each module names what it covers.

/// Acknowledged findings: `.reachdiff.yaml` from the base, annotations,
/// proposed by the pull request, `--strict`, stale acknowledgements.
mod acknowledge;
/// `reachdiff action` end to end: a local git origin, pull_request payloads,
/// the fake GitHub API of app_fake (sticky comment, retries, rate limits,
/// read-only tokens, smart HTTP), annotations, outputs, gates, command
/// escaping; action.yml's structure.
mod action;
/// ClusterNetworkPolicy and AdminNetworkPolicy tiers, written from the spec.
mod admin_tiers;
/// `reachdiff serve` end to end: signed deliveries, a fake GitHub API that
/// verifies JWTs and tokens, check runs, comments, coalescing, retries,
/// reconciliation after a crash, graceful shutdown.
mod app;
/// The one fake GitHub REST API: the App tests, the Action tests and
/// examples/fake_github use it.
mod app_fake;
/// Several App replicas on one PostgreSQL queue: redeliveries, late
/// pushes, a replica killed mid-job, every replica killed.
mod app_fleet;
// The App's per-job budget and its limits on unauthenticated traffic.
mod app_limits;
/// Bad input: exit 2, `error: FILE:LINE:COL: ...`, no panic, nothing on stdout.
mod bad_input;
/// The pull-request comment's size budget on the largest generated diff.
mod budget;
/// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, written from
/// semantics-cilium.md (CI-*, CC-*, EC-*).
mod calico;
/// Calico evaluation (tiers, order, actions, entity rules), written from
/// semantics-calico.md (CA-30…CA-77, C-CA-*), with a naive oracle.
mod calico_eval;
mod cilium;
/// The shared conformance corpus from an independent analyser.
mod conformance;
/// deploy/: the App's own manifests, analysed by reachdiff.
mod deploy;
/// Real-shaped GitOps repositories with no configuration: discovered
/// environments, failures local to their environment (issue 14).
mod environments;
/// Findings (`lint`): one fixture per code with a golden, a clean fixture
/// with none, `--strict` and the diff's introduced findings.
mod findings;
/// Realistic base/head scenarios in fixtures/scenarios: JSON goldens, Markdown and text snapshots.
mod fixtures;
/// Git revisions (`--repo`): real repositories, renames, deleted directories,
/// merge-bases, bare and shallow clones; every fixture scenario equals its folder diff;
/// `.reachdiff.yaml` from the base only, environments, kustomize rendering and refusals.
mod git;
/// The rest of the cluster (OW-*): a concrete pod of a representative's
/// class gets exactly the representative's rows; closed world unchanged.
mod open_world;
/// A throwaway PostgreSQL server for the App's shared-queue tests.
mod pg;
/// Generated clusters: the diff equals reach(head) minus reach(base) and
/// the reverse, every changed row has a cause, analysis never panics.
mod properties;
/// `reach` listings: streamed rows and the grouped answer.
mod reach_listing;
/// README's example comments equal what reachdiff prints for their fixtures.
mod readme;
/// Rendering: kustomize overlays, built-in transformers and Helm charts;
/// citations followed into the commit; refusals with remedies; what a
/// render exports; no network.
mod render;
/// Shared helpers: in-memory revisions, running the built binary.
mod support;
/// The synthetic-tree generator (tests/synth), shared with the examples
/// and benches.
#[path = "../synth/mod.rs"]
mod synth;
/// Generated trees: deterministic, laid out, and valid for the loader
/// without leniency (no unknown field, no missing field, no error).
mod synth_trees;
/// Architecture invariants and fixture hygiene, checked by machine.
mod tidy;
/// The Kubernetes e2e NetworkPolicy model (namespaces x, y, z; pods a, b, c)
/// as full truth tables written from the semantics.
mod truth_table;
/// `reach --from A --to B` says why a denied pair is denied.
mod why_not;
/// The shipped and documented workflows through actionlint, zizmor and
/// GitHub's schemas; the release commit of `.ci/release.sh`.
mod workflows;
