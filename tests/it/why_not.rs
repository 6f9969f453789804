//! `reach --from A --to B` on a denied pair says why (issue 17, item 7):
//! which side denies it, what isolates that side, and the nearest rules
//! with what they lack. Exactness is checked on generated clusters.

use crate::support::{repo_root, revision, run};
use proptest::prelude::*;
use reachdiff::analysis::{Options, analyze};
use reachdiff::reach::why::{SideVerdict, why_not};
use reachdiff::reach::{Direction, Endpoint};

fn reach_text(args: &[&str]) -> String {
    let out = crate::support::bin()
        .current_dir(repo_root())
        .env_remove("NO_COLOR")
        .env("NO_COLOR", "1")
        .arg("reach")
        .args(args)
        .output()
        .expect("run reachdiff");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The relabelled front end: the ingress controller cannot reach the
/// catalogue, whose only rule admits `name=front-end` pods of its own
/// namespace (NP-11): two lacks, each named.
#[test]
fn why_not_names_the_side_the_policies_and_what_the_rule_lacks() {
    let text = reach_text(&[
        "fixtures/scenarios/pod-relabel/head",
        "--from",
        "ingress",
        "--to",
        "sock-shop/catalogue",
    ]);
    insta::assert_snapshot!("why_not_pod_relabel", text);
    // An allowed pair has no explanation.
    let text = reach_text(&[
        "fixtures/scenarios/pod-relabel/head",
        "--from",
        "ingress",
        "--to",
        "sock-shop/front-end",
    ]);
    assert!(!text.contains("why "), "{text}");
    // Without both --from and --to, nothing is explained.
    let text = reach_text(&["fixtures/scenarios/pod-relabel/head", "--from", "ingress"]);
    assert!(!text.contains("why "), "{text}");
}

/// Both sides: web's egress admits only db on 5432 and db's ingress only
/// api; a named port the destination does not declare; an external
/// address outside the block.
#[test]
fn why_not_egress_ingress_ports_and_addresses() {
    let m = "\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-out, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: db}}}]
    ports: [{port: 5432}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-in, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 5432}]
  - from: [{ipBlock: {cidr: 10.0.0.0/8}}]
    ports: [{port: postgres}]
";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), m).unwrap();
    let d = dir.path().to_str().unwrap();
    let out = run(&["reach", d, "--from", "shop/web", "--to", "shop/db"]);
    let text = String::from_utf8(out.stdout).unwrap().replace(d, "DIR");
    insta::assert_snapshot!("why_not_both_sides", text);
    let out = run(&["reach", d, "--from", "192.168.0.1", "--to", "shop/db"]);
    let text = String::from_utf8(out.stdout).unwrap().replace(d, "DIR");
    insta::assert_snapshot!("why_not_external_source", text);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    /// On generated clusters, for every pair: an explanation exactly for
    /// the denied ones; a side said to allow allows exactly that; a side
    /// said isolated allows nothing and is isolated by exactly those
    /// policies; a nearest rule always lacks something (else it admits).
    #[test]
    fn why_not_agrees_with_the_evaluator(c in crate::properties::cluster()) {
        for (world, opts) in crate::properties::worlds() {
            why_not_agrees(&c, &opts).map_err(|e| TestCaseError::fail(format!("{world}: {e}")))?;
        }
    }
}

fn why_not_agrees(c: &crate::properties::Cluster, opts: &Options) -> Result<(), TestCaseError> {
    let y = crate::properties::yaml(c);
    let a = analyze(&revision(&[("m.yaml", &y)]), opts).expect("valid");
    let an = &a.analysis;
    let eps = an.endpoints();
    for &s in &eps {
        for &d in &eps {
            let w = why_not(an, s, d);
            prop_assert_eq!(w.is_some(), an.reach(s, d).is_empty());
            let Some(w) = w else { continue };
            for (dir, owner, peer, v) in [
                (Direction::Egress, s, d, &w.egress),
                (Direction::Ingress, d, s, &w.ingress),
            ] {
                let Endpoint::Workload(o) = owner else {
                    prop_assert!(v.is_none());
                    continue;
                };
                let allowed = an.side(dir, o, peer);
                match v {
                    Some(SideVerdict::Allows(c)) => prop_assert_eq!(c, &allowed),
                    Some(SideVerdict::Isolated { policies, nearest }) => {
                        prop_assert!(allowed.is_empty());
                        prop_assert_eq!(policies, &an.sides[o][dir as usize].isolated_by);
                        for n in nearest {
                            prop_assert!(!n.lacks.is_empty(), "{:?}\n{}", n, y);
                        }
                    }
                    Some(SideVerdict::DeniedByAdmin(_)) => prop_assert!(allowed.is_empty()),
                    None => prop_assert!(false, "a workload side without a verdict"),
                }
            }
        }
    }
    Ok(())
}
