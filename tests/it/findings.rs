//! Findings (`reachdiff lint`, and the diff's introduced/resolved findings).
//!
//! `fixtures/findings/clean/` is a well-written repository (default deny in
//! both directions, DNS allowed, precise rules): it must have no finding.
//! Every other directory is named after one finding code and holds files
//! laid over the clean ones (same name replaces): its findings must be
//! exactly that code, and its `expected.txt` is the golden `lint` text
//! (`UPDATE_EXPECT=1` rewrites it). A directory with `base/` and `head/`
//! is a diff; its golden is the text diff report.

use crate::support::{repo_root, revision, run};
use reachdiff::analysis::{Analyzed, Options, analyze};
use reachdiff::comparison::compare;
use reachdiff::diag::{Code, Severity};
use reachdiff::findings::{CODES, Finding, findings};
use reachdiff::report;
use reachdiff::report::style::Style;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    repo_root().join("fixtures/findings")
}

/// File name -> text of the YAML files directly in `d`.
fn yaml_files(d: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(d).expect("fixture dir") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            out.insert(name, std::fs::read_to_string(&p).expect("read fixture"));
        }
    }
    out
}

/// The clean files with `overlay`'s laid over them.
fn overlaid(overlay: &Path) -> BTreeMap<String, String> {
    let mut files = yaml_files(&dir().join("clean"));
    files.extend(yaml_files(overlay));
    files
}

fn analyze_files(files: &BTreeMap<String, String>) -> Analyzed {
    analyze_with(files, &Options::default())
}

fn analyze_with(files: &BTreeMap<String, String>, opts: &Options) -> Analyzed {
    let pairs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    analyze(&revision(&pairs), opts).expect("fixture loads")
}

/// The options of a fixture: with the rest of the cluster when it holds a
/// file `OPEN_WORLD` (findings judged with representatives).
fn options_of(overlay: &Path) -> Options {
    let mut opts = Options::default();
    if overlay.join("OPEN_WORLD").is_file() {
        opts.open_world = Some(reachdiff::reach::open_world::ClusterSpec {
            builtin_dns: true,
            ..Default::default()
        });
    }
    opts
}

fn cases() -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(dir())
        .expect("fixtures/findings")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .filter(|(n, _)| n != "clean")
        .collect();
    v.sort();
    v
}

fn code_named(name: &str) -> Code {
    *Code::ALL
        .iter()
        .find(|c| c.as_str() == name)
        .unwrap_or_else(|| panic!("fixtures/findings/{name}: not a code"))
}

fn assert_no_duplicates(name: &str, fs: &[Finding]) {
    let mut seen = BTreeSet::new();
    for f in fs {
        let d = &f.diagnostic;
        assert!(
            seen.insert((d.code, d.object.clone(), d.field.clone(), d.message.clone())),
            "{name}: finding reported twice: {d}"
        );
    }
}

fn check_golden(path: &Path, actual: &str) {
    if std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1") {
        std::fs::write(path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{}: missing (UPDATE_EXPECT=1 creates it)", path.display()));
    assert_eq!(
        expected,
        actual,
        "{} differs (check by hand, then UPDATE_EXPECT=1)",
        path.display()
    );
}

#[test]
fn findings_clean_fixture_has_none() {
    let a = analyze_files(&yaml_files(&dir().join("clean")));
    let fs = findings(&a);
    assert!(
        fs.is_empty(),
        "false positives on the clean fixture: {fs:#?}"
    );
    let warnings: Vec<String> = a
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .map(ToString::to_string)
        .collect();
    assert!(warnings.is_empty(), "clean fixture warns: {warnings:#?}");
}

#[test]
fn findings_every_code_has_a_fixture() {
    let names: BTreeSet<String> = cases().into_iter().map(|(n, _)| n).collect();
    for c in CODES {
        assert!(
            names.contains(c.as_str()),
            "no fixtures/findings/{c}/ for finding code {c}"
        );
    }
}

#[test]
fn findings_fixtures_match_goldens() {
    for (name, path) in cases() {
        let code = code_named(&name);
        let (found, text) = if path.join("base").is_dir() {
            let to_rev = |files: &BTreeMap<String, String>| {
                let pairs: Vec<(&str, &str)> = files
                    .iter()
                    .map(|(p, t)| (p.as_str(), t.as_str()))
                    .collect();
                revision(&pairs)
            };
            let (b, h) = (overlaid(&path.join("base")), overlaid(&path.join("head")));
            let cmp = compare(&to_rev(&b), &to_rev(&h), &Options::default()).expect("loads");
            assert!(cmp.base_findings.is_empty(), "{name}: base has findings");
            let view = reachdiff::review::view::build(&cmp);
            let text = report::text::render_diff(&cmp, &view, &[], Style::default());
            (cmp.head_findings, text)
        } else {
            let a = analyze_with(&overlaid(&path), &options_of(&path));
            let fs = findings(&a);
            let text = report::lint::render_text(
                &fs,
                a.analysis
                    .workloads
                    .iter()
                    .filter(|w| w.representative.is_none())
                    .count(),
                a.analysis.policies.len(),
                Style::default(),
            );
            (fs, text)
        };
        assert_no_duplicates(&name, &found);
        let codes: BTreeSet<Code> = found.iter().map(Finding::code).collect();
        assert_eq!(
            codes,
            BTreeSet::from([code]),
            "{name}: expected exactly that finding code; got:\n{text}"
        );
        check_golden(&path.join("expected.txt"), &text);
    }
}

#[test]
fn findings_lint_cli_strict_and_json() {
    let root = repo_root();
    let clean = root.join("fixtures/findings/clean");
    let open = root.join("fixtures/findings/ingress-from-anywhere");
    let (c, o) = (clean.to_str().unwrap(), open.to_str().unwrap());
    let out = run(&["lint", c, o]);
    assert_eq!(out.status.code(), Some(0), "lint without --strict exits 0");
    let out = run(&["lint", "--strict", c, o]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an error-severity finding trips --strict"
    );
    let out = run(&["lint", "--strict", c]);
    assert_eq!(out.status.code(), Some(0), "clean passes --strict");
    let out = run(&["lint", "--format", "json", c, o]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["schema"], "reachdiff/lint/v1");
    assert_eq!(v["summary"]["findings"], 1);
    assert_eq!(v["summary"]["errors"], 1);
    let f = &v["findings"][0];
    assert_eq!(f["code"], "ingress-from-anywhere");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["namespace"], "shop");
    assert_eq!(f["object"], "NetworkPolicy shop/web-public");
    assert!(f["file"].as_str().unwrap().ends_with("web-public.yaml"));
    assert!(f["line"].as_u64().unwrap() > 0);
}

/// `--fail-on findings` (what `diff --strict` means): trips on an
/// error-severity finding the change introduces, not on one both sides have.
#[test]
fn findings_diff_gate_trips_on_introduced_errors_only() {
    let root = repo_root();
    let tmp = std::env::temp_dir().join(format!("reachdiff-findings-{}", std::process::id()));
    let head = tmp.join("head");
    std::fs::create_dir_all(&head).unwrap();
    for (name, text) in overlaid(&root.join("fixtures/findings/ingress-from-anywhere")) {
        std::fs::write(head.join(name), text).unwrap();
    }
    let clean = root.join("fixtures/findings/clean");
    let (c, h) = (clean.to_str().unwrap(), head.to_str().unwrap());
    let tripped = run(&["diff", "--fail-on", "findings", c, h]);
    let same = run(&["diff", "--fail-on", "findings", h, h]);
    let json = run(&["diff", "--format", "json", c, h]);
    let md = run(&["diff", "--format", "md", c, h]);
    let _ = std::fs::remove_dir_all(&tmp);
    assert_eq!(tripped.status.code(), Some(1), "introduced error trips");
    assert_eq!(
        same.status.code(),
        Some(0),
        "a finding on both sides does not"
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["summary"]["findings_introduced"], 1);
    assert_eq!(v["findings"][0]["change"], "introduced");
    assert_eq!(v["findings"][0]["code"], "ingress-from-anywhere");
    let md = String::from_utf8(md.stdout).unwrap();
    // Issue 17: the reviewer's order, the risk and the path tables first,
    // then the findings the tables do not already say.
    let findings_at = md
        .find("Findings this pull request introduces (1)")
        .expect("section");
    let opened_at = md.find("| to | ports |").expect("a path table");
    assert!(
        opened_at < findings_at,
        "findings come below the path tables"
    );
}

/// OR back into AND is called out too, by name.
#[test]
fn findings_peer_shape_or_to_and() {
    let path = dir().join("peer-shape-changed");
    let to_rev = |files: &BTreeMap<String, String>| {
        let pairs: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        revision(&pairs)
    };
    // Head and base swapped: two peers become one.
    let (b, h) = (overlaid(&path.join("head")), overlaid(&path.join("base")));
    let cmp = compare(&to_rev(&b), &to_rev(&h), &Options::default()).expect("loads");
    let shapes: Vec<String> = cmp
        .head_findings
        .iter()
        .filter(|f| f.code() == Code::PeerShapeChanged)
        .map(|f| f.diagnostic.to_string())
        .collect();
    assert_eq!(shapes.len(), 1, "{shapes:#?}");
    assert!(
        shapes[0].contains("were two peers (OR) and are now one peer (AND")
            && shapes[0].contains("NetworkPolicy shop/db-from-shop"),
        "{}",
        shapes[0]
    );
}

/// No finding is reported twice on any scenario revision.
#[test]
fn findings_never_twice_on_scenarios() {
    let root = repo_root().join("fixtures/scenarios");
    for e in std::fs::read_dir(&root).expect("scenarios") {
        let scenario = e.expect("entry").path();
        for side in ["base", "head"] {
            let d = scenario.join(side);
            if !d.is_dir() {
                continue;
            }
            let rev = reachdiff::source::fs::read_paths(
                side,
                std::slice::from_ref(&d),
                reachdiff::source::fs::PathStyle::RelativeToRoot,
            )
            .expect("read");
            let a = analyze(&rev, &Options::default()).expect("loads");
            assert_no_duplicates(&d.display().to_string(), &findings(&a));
        }
    }
}
