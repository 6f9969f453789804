//! Deterministic synthetic GitOps trees for benchmarks and tests; not part
//! of the shipped library (the examples, benches and tests include this
//! directory by path, as they do the fake GitHub).
//!
//! [`generate`] lays out a realistic `clusters/<cluster>/<namespace>/...`
//! tree of Namespaces, workloads (Deployment, StatefulSet or DaemonSet plus
//! a Service, one multi-document file each) and NetworkPolicies, and
//! optionally ClusterNetworkPolicies. [`generate_head`] is the same tree
//! after a handful of typical pull-request changes.
//!
//! - [`plan`]: what exists, decided by a SplitMix64 stream from the seed;
//! - [`objects`]: built-in objects built with the API's types
//!   (`k8s-openapi`), valid by construction;
//! - [`crd`]: typed structs of our own for CRD kinds;
//! - [`files`]: the tree.
// Each user (tests, examples, benches) takes what it needs.
#![allow(dead_code, unused_imports)]

pub mod crd;
pub mod files;
pub mod objects;
pub mod plan;

pub use plan::{SYSTEM_WORKLOADS, TEAMS};

/// Knobs of the generator. Only `seed` and `workloads` usually matter.
#[derive(Clone, Debug)]
pub struct SynthOptions {
    pub seed: u64,
    /// Total workloads in the base tree, including the
    /// [`SYSTEM_WORKLOADS`] of `kube-system`, `monitoring` and
    /// `ingress-nginx` (never fewer than those).
    pub workloads: usize,
    /// Application workloads per namespace (the last namespace takes the rest).
    pub workloads_per_namespace: usize,
    /// Number of distinct `team` label values (at most [`TEAMS`]`.len()`).
    pub teams: usize,
    /// Share of application namespaces without any NetworkPolicy.
    pub unprotected_percent: u32,
    /// Share of application namespaces labelled `tier=restricted`.
    pub restricted_percent: u32,
    /// Size of the pool of partner CIDRs that namespaces allow egress to.
    pub partner_cidrs: usize,
    /// The `<cluster>` directory under `clusters/`.
    pub cluster: String,
    /// Cluster-wide ClusterNetworkPolicies (Admin and Baseline tier) whose
    /// subjects span all namespaces, in `cluster-policies/admin.yaml`.
    pub admin_policies: usize,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            seed: 1,
            workloads: 1000,
            workloads_per_namespace: 9,
            teams: 40,
            unprotected_percent: 5,
            restricted_percent: 4,
            partner_cidrs: 200,
            cluster: "prod".into(),
            admin_policies: 0,
        }
    }
}

/// The base tree: `(relative path, YAML text)` pairs, deterministic for
/// `opts`. It holds `max(opts.workloads, SYSTEM_WORKLOADS)` workloads.
pub fn generate(opts: &SynthOptions) -> Vec<(String, String)> {
    let plan = plan::plan(opts);
    files::render(opts, &plan, &plan::Changes::default())
}

/// The base tree after a handful of realistic pull-request changes, chosen by
/// the seed: one cross-team `namespaceSelector` widened to every team, one
/// ingress rule added, the metrics policy of one namespace removed, a
/// default-deny egress (with DNS) added to one namespace that had no policy,
/// one new namespace with one workload and no policy, one workload's `tier`
/// label changed, and one workload's egress opened to `0.0.0.0/0`.
/// Files not touched by a change are byte-identical to [`generate`]'s.
pub fn generate_head(opts: &SynthOptions) -> Vec<(String, String)> {
    let plan = plan::plan(opts);
    let changes = plan::head_changes(opts, &plan);
    files::render(opts, &plan, &changes)
}
