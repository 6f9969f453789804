//! The synthetic-tree generator (tests/synth): deterministic, laid out as
//! a GitOps repository, and valid: built-in objects come from the API's
//! own types, CRD kinds from typed structs, and the loader accepts every
//! generated tree without any of its leniencies.

use crate::support;
use crate::synth::{SYSTEM_WORKLOADS, SynthOptions, generate, generate_head};
use reachdiff::analysis::{self, Options};
use reachdiff::diag::{Code, Severity};
use reachdiff::manifest::{LoadOptions, load};
use reachdiff::revision::Revision;
use std::collections::BTreeSet;

fn revision(files: &[(String, String)]) -> Revision {
    let pairs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    support::revision(&pairs)
}

fn opts(seed: u64, workloads: usize) -> SynthOptions {
    SynthOptions {
        seed,
        workloads,
        ..SynthOptions::default()
    }
}

/// What the loader forgives or reports about an object the API server
/// would not accept as written (with strict field validation): none of
/// these may appear for a generated tree.
const LENIENCIES: [Code; 7] = [
    Code::UnknownField,
    Code::LenientWorkload,
    Code::MissingRequiredField,
    Code::BooleanLikeLabel,
    Code::CidrHostBits,
    Code::TabIndentation,
    Code::SkippedKind,
];

/// Generated trees (base and head, with admin tiers too) load with no
/// error and none of the loader's leniencies: the objects are what the
/// API's types say, by construction.
#[test]
fn generated_trees_pass_the_loader_strictly() {
    for (seed, n, admin) in [(1, 600, 0), (2, 95, 20), (3, 6, 5), (4, 1, 0)] {
        let o = SynthOptions {
            admin_policies: admin,
            ..opts(seed, n)
        };
        for files in [generate(&o), generate_head(&o)] {
            let (inv, diags) = load(&revision(&files), &LoadOptions::default());
            let bad: Vec<String> = diags
                .iter()
                .filter(|d| d.severity == Severity::Error || LENIENCIES.contains(&d.code))
                .map(|d| format!("{}: {d}", d.code))
                .collect();
            assert!(bad.is_empty(), "seed {seed}: {}", bad.join("\n"));
            assert_eq!(inv.admin_policies.len(), admin, "seed {seed}");
        }
    }
}

#[test]
fn deterministic_for_a_seed() {
    let o = opts(7, 400);
    assert_eq!(generate(&o), generate(&o));
    assert_eq!(generate_head(&o), generate_head(&o));
}

#[test]
fn seeds_differ() {
    assert_ne!(generate(&opts(1, 400)), generate(&opts(2, 400)));
}

#[test]
fn paths_are_unique_and_laid_out() {
    for o in [opts(3, 400), opts(3, 3), opts(4, 0)] {
        for files in [generate(&o), generate_head(&o)] {
            let paths: BTreeSet<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
            assert_eq!(paths.len(), files.len());
            for p in paths {
                assert!(
                    p.starts_with("clusters/prod/") && p.ends_with(".yaml"),
                    "{p}"
                );
                assert_eq!(p.matches('/').count(), 3, "{p}");
            }
        }
    }
}

#[test]
fn admin_policies_load_and_select_across_namespaces() {
    let o = SynthOptions {
        admin_policies: 20,
        ..opts(5, 400)
    };
    let a = analysis::analyze(&revision(&generate(&o)), &Options::default()).unwrap_or_else(|f| {
        panic!("{:?}", f.errors().take(5).collect::<Vec<_>>());
    });
    assert_eq!(a.inventory.admin_policies.len(), 20);
    let with_admin = a
        .analysis
        .sides
        .iter()
        .filter(|s| !s[0].admin.is_empty() || !s[1].admin.is_empty())
        .count();
    assert!(with_admin > 20, "{with_admin} workloads carry admin rules");
    assert!(!a.diagnostics.iter().any(|d| d.code == Code::EqualPriority));
}

#[test]
fn loads_cleanly_with_the_requested_workloads() {
    for (seed, n) in [(1, 500), (2, 95), (3, 6), (4, 1)] {
        let o = opts(seed, n);
        let files = generate(&o);
        let a = analysis::analyze(&revision(&files), &Options::default()).unwrap_or_else(|f| {
            panic!("seed {seed}: {:?}", f.errors().take(5).collect::<Vec<_>>());
        });
        assert_eq!(a.analysis.workloads.len(), n.max(SYSTEM_WORKLOADS));
        // Nothing worth a warning except the documented ipBlock caveat.
        let unexpected: Vec<_> = a
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Info && d.code != Code::IpBlockClusterRange)
            // Tiny trees leave some tier policies without a workload.
            .filter(|d| !(n < 50 && d.code == Code::SelectsNothing))
            .collect();
        assert!(unexpected.is_empty(), "seed {seed}: {unexpected:?}");
        if n == 500 {
            let ns = a.inventory.namespaces.len();
            let np = a.analysis.policies.len();
            assert!(ns >= 55 && np > 9 * ns, "{ns} namespaces, {np} policies");
        }
    }
}

#[test]
fn head_differs_and_loads() {
    for (seed, n) in [(1, 500), (9, 300), (5, 12)] {
        let o = opts(seed, n);
        let base = generate(&o);
        let head = generate_head(&o);
        let changed = head.iter().filter(|f| !base.contains(f)).count();
        assert!(changed >= 4, "seed {seed}: {changed} files changed");
        let c =
            reachdiff::comparison::compare(&revision(&base), &revision(&head), &Options::default())
                .unwrap_or_else(|f| {
                    let (side, failed) = f.first();
                    panic!("seed {seed}: {side} side: {:?}", failed.errors().next())
                });
        assert_eq!(c.head.analysis.workloads.len(), n.max(SYSTEM_WORKLOADS) + 1);
        assert!(
            !c.diff.opened.is_empty() && !c.diff.closed.is_empty(),
            "seed {seed}"
        );
        let names = |a: &reachdiff::reach::Analysis| -> Vec<String> {
            a.policies.iter().map(|p| p.name.clone()).collect()
        };
        assert_ne!(names(&c.base.analysis), names(&c.head.analysis));
    }
}

/// Values YAML would read as another type (`true`, `4711`) are written as
/// strings, as the API requires of label values.
#[test]
fn label_values_stay_strings() {
    let files = generate(&SynthOptions {
        restricted_percent: 100,
        ..opts(6, 60)
    });
    let a = analysis::analyze(&revision(&files), &Options::default()).expect("loads");
    let restricted = a
        .analysis
        .namespaces
        .iter()
        .find(|n| n.labels.contains_key("pci"))
        .expect("a restricted namespace");
    assert_eq!(
        restricted.labels.get("pci").map(String::as_str),
        Some("true")
    );
    assert!(
        restricted
            .labels
            .get("cost-center")
            .is_some_and(|c| c.parse::<u32>().is_ok())
    );
}
