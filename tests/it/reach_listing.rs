//! `reach` listings: the streamed rows and the grouped answer (#16 item 3).

use crate::properties::{cluster, yaml};
use crate::support::{self, revision, scenario};
use proptest::prelude::*;
use reachdiff::analysis::{Options, analyze};
use reachdiff::reach::classes::EndpointClasses;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    /// M-14: endpoints of one class are interchangeable in every row and
    /// column, so any pair of members answers like the classes' witnesses;
    /// and the classes partition the endpoints.
    #[test]
    fn every_member_answers_like_its_classes_witness(c in cluster()) {
        for (world, opts) in crate::properties::worlds() {
            members_answer_like_witnesses(&c, &opts).map_err(|e| TestCaseError::fail(format!("{world}: {e}")))?;
        }
    }
}

fn members_answer_like_witnesses(
    c: &crate::properties::Cluster,
    opts: &Options,
) -> Result<(), TestCaseError> {
    let y = yaml(c);
    let analyzed = analyze(&revision(&[("m.yaml", &y)]), opts).expect("valid");
    let a = &analyzed.analysis;
    let all = a.endpoints();
    let classes = EndpointClasses::of(a, &all);
    let mut class_of = BTreeMap::new();
    for (i, m) in classes.members.iter().enumerate() {
        for &e in m {
            prop_assert!(class_of.insert(e, i).is_none(), "{e:?} in two classes");
        }
    }
    prop_assert_eq!(class_of.len(), all.len());
    for &s in &all {
        for &d in &all {
            let (cs, cd) = (classes.witness(class_of[&s]), classes.witness(class_of[&d]));
            prop_assert_eq!(a.reach(s, d), a.reach(cs, cd), "{:?} -> {:?}", s, d);
        }
    }
    Ok(())
}

fn reach_json(dir: &std::path::Path, extra: &[&str]) -> Value {
    let out = support::bin()
        .arg("reach")
        .arg(dir)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one valid JSON document")
}

type Row = (String, String, String, String);

fn row(src: &str, dst: &str, c: &Value) -> Row {
    (
        src.into(),
        dst.into(),
        c["protocol"].to_string(),
        c["ports"].to_string(),
    )
}

/// The grouped document (`reachdiff/reach-groups/v1`), expanded to its
/// members, is the flat document (`reachdiff/reach/v1`) row for row.
#[test]
fn grouped_json_expands_to_the_flat_rows() {
    for name in [
        "shop-multi-namespace",
        "anp-to-cnp-migration",
        "egress-to-internet",
    ] {
        let dir = scenario(name, "head");
        let flat = reach_json(&dir, &["--group", "never"]);
        assert_eq!(flat["schema"], "reachdiff/reach/v1");
        let flat: BTreeSet<Row> = flat["connections"]
            .as_array()
            .expect("connections")
            .iter()
            .map(|c| row(c["src"].as_str().unwrap(), c["dst"].as_str().unwrap(), c))
            .collect();
        let grouped = reach_json(&dir, &["--group", "always"]);
        assert_eq!(grouped["schema"], "reachdiff/reach-groups/v1");
        let members: BTreeMap<&str, Vec<&str>> = grouped["classes"]
            .as_array()
            .expect("classes")
            .iter()
            .map(|c| {
                let m = c["members"].as_array().expect("members");
                (
                    c["id"].as_str().unwrap(),
                    m.iter().map(|x| x.as_str().unwrap()).collect(),
                )
            })
            .collect();
        assert!(members.len() < flat.len().max(2), "{name}: grouping groups");
        let mut expanded = BTreeSet::new();
        for c in grouped["connections"].as_array().expect("connections") {
            for s in &members[c["src"].as_str().unwrap()] {
                for d in &members[c["dst"].as_str().unwrap()] {
                    assert!(expanded.insert(row(s, d, c)), "{name}: {s} -> {d} twice");
                }
            }
        }
        assert_eq!(expanded, flat, "{name}");
    }
}

/// The text listing ends with the count of what it listed, and the
/// grouped text names every endpoint once.
#[test]
fn text_listings_count_and_name_everything() {
    let dir = scenario("shop-multi-namespace", "head");
    let text = |group: &str| {
        let out = support::bin()
            .arg("reach")
            .arg(&dir)
            .args(["--group", group])
            .output()
            .expect("runs");
        assert!(out.status.success());
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let flat = text("never");
    let rows = flat.lines().filter(|l| l.contains("  →  ")).count();
    let last = flat.lines().last().expect("lines");
    assert_eq!(last, format!("{rows} allowed connections"), "{flat}");
    let grouped = text("always");
    let json = reach_json(&dir, &["--group", "never"]);
    for e in json["endpoints"].as_array().expect("endpoints") {
        let id = e["id"].as_str().unwrap();
        let named = grouped.lines().filter(|l| l.trim() == id).count();
        assert_eq!(named, 1, "{id} in\n{grouped}");
    }
}
