//! The pull-request comment stays under GitHub's size limit on huge diffs,
//! still states the totals, and says what it left out.

use crate::support::revision;
use crate::synth::{SynthOptions, generate};
use reachdiff::analysis::Options;
use reachdiff::comparison::compare;
use reachdiff::report::markdown::{self, MarkdownOptions};
use reachdiff::review::view;

/// Base: a generated cluster. Head: every NetworkPolicy deleted, so nearly
/// every pair opens: the largest diff a generated tree can produce.
fn huge_comparison() -> reachdiff::comparison::Comparison {
    let opts = SynthOptions {
        seed: 3,
        workloads: 400,
        ..SynthOptions::default()
    };
    let base = generate(&opts);
    let head: Vec<(String, String)> = base
        .iter()
        .filter(|(p, _)| !p.ends_with("networkpolicies.yaml"))
        .cloned()
        .collect();
    let as_refs = |v: &[(String, String)]| -> Vec<(String, String)> { v.to_vec() };
    let (b, h) = (as_refs(&base), as_refs(&head));
    let b: Vec<(&str, &str)> = b.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let h: Vec<(&str, &str)> = h.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    compare(&revision(&b), &revision(&h), &Options::default()).expect("generated trees are valid")
}

#[test]
fn largest_generated_diff_fits_the_comment_limit_and_states_totals() {
    let cmp = huge_comparison();
    let v = view::build(&cmp);
    assert!(
        cmp.diff.opened.len() > 50_000,
        "not huge: {}",
        cmp.diff.opened.len()
    );
    let md = markdown::render(&cmp, &v, &[], &MarkdownOptions::default());
    assert!(md.len() <= markdown::DEFAULT_BUDGET, "{} bytes", md.len());
    assert!(md.starts_with(markdown::MARKER));
    let opened_paths = v.exposures.len() + v.opened.len();
    assert!(
        md.contains(&format!("🔓 {opened_paths} paths opened")),
        "verdict must state the total: {}",
        md.lines().nth(1).unwrap_or("")
    );
    assert!(md.contains("left out"), "must say what was cut");
}

#[test]
fn a_tiny_budget_still_keeps_the_verdict_and_says_what_is_missing() {
    let cmp = huge_comparison();
    let v = view::build(&cmp);
    let opts = MarkdownOptions {
        budget: 6_000,
        full_report_hint: Some("the job summary".into()),
        ..MarkdownOptions::default()
    };
    let md = markdown::render(&cmp, &v, &[], &opts);
    assert!(md.len() <= 6_000, "{} bytes", md.len());
    assert!(
        md.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("### reachdiff"))
    );
    assert!(md.contains("left out") || md.contains("cut to fit"));
}
