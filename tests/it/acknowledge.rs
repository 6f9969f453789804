//! Acknowledged findings (issue 17): `.reachdiff.yaml` `acknowledge:` read
//! from the base tip, `reachdiff.io/acknowledge` annotations, "proposed by
//! this pull request", `--strict` and `lint --strict`, stale ones.

use crate::support::{self, git, run};
use serde_json::Value;
use std::path::Path;

const SCENARIO: &str = "public-front-end-acknowledged";

fn json(out: &std::process::Output) -> Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("error:"), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

fn side(s: &str) -> String {
    support::scenario(SCENARIO, s).display().to_string()
}

/// `lint` judges a revision by its own annotations: the storefront's
/// ingress-from-anywhere is intended, so `lint --strict` passes; without
/// the annotation it fails.
#[test]
fn acknowledge_lint_strict_passes_only_acknowledged_errors() {
    let out = run(&["lint", "--strict", &side("base")]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = run(&["lint", "--format", "json", &side("base")]);
    let v = json(&out);
    assert_eq!(v["summary"]["errors"], 1, "{v}");
    assert_eq!(v["summary"]["acknowledged"], 1, "{v}");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "ingress-from-anywhere")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(
        f["acknowledged"]["reason"],
        "the storefront is the public web site"
    );
    assert!(
        f["acknowledged"]["file"]
            .as_str()
            .unwrap()
            .ends_with("shop.yaml")
    );
    assert_eq!(f["acknowledged"]["line"], 65);

    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(support::scenario(SCENARIO, "base").join("shop.yaml"))
        .unwrap()
        .replace("    reachdiff.io/acknowledge:", "    other.example/note:");
    std::fs::write(tmp.path().join("shop.yaml"), text).unwrap();
    let out = run(&["lint", "--strict", tmp.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "unacknowledged error trips --strict"
    );
}

/// Several entries in one annotation (`;` or one per line); an entry
/// without a reason acknowledges nothing and is a warning (never an
/// error: it cannot change a verdict); an entry matching nothing is an
/// `acknowledgement-unused` finding.
#[test]
fn acknowledge_annotation_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(support::scenario(SCENARIO, "base").join("shop.yaml"))
        .unwrap()
        .replace(
            "\"ingress-from-anywhere: the storefront is the public web site\"",
            "|\n      all-ports-rule: never matches here; ingress-from-anywhere: public\n      redundant-rule",
        );
    std::fs::write(tmp.path().join("shop.yaml"), text).unwrap();
    let out = run(&[
        "lint",
        "--strict",
        "--format",
        "json",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: acknowledgement-unused: ")
            && stderr.contains("\"redundant-rule\" is not `code: reason`"),
        "{stderr}"
    );
    let v = json(&out);
    let fs = v["findings"].as_array().unwrap();
    let acked: Vec<&Value> = fs
        .iter()
        .filter(|f| f["acknowledged"].is_object())
        .collect();
    assert_eq!(acked.len(), 1, "{v}");
    assert_eq!(acked[0]["acknowledged"]["reason"], "public");
    let unused: Vec<&Value> = fs
        .iter()
        .filter(|f| f["code"] == "acknowledgement-unused")
        .collect();
    assert_eq!(unused.len(), 1, "{v}");
    assert_eq!(unused[0]["object"], "NetworkPolicy shop/storefront-public");
    assert!(
        unused[0]["message"]
            .as_str()
            .unwrap()
            .contains("`all-ports-rule`"),
        "{v}"
    );
}

fn repo_with(t: &Path, base_cfg: &str, head_cfg: &str) -> std::path::PathBuf {
    let repo = t.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    support::commit(
        &repo,
        &support::scenario(SCENARIO, "base"),
        &[(".reachdiff.yaml", base_cfg)],
        "base",
    );
    git(&repo, &["checkout", "-q", "-b", "pr"]);
    support::commit(
        &repo,
        &support::scenario(SCENARIO, "head"),
        &[(".reachdiff.yaml", head_cfg)],
        "pr",
    );
    repo
}

fn diff(repo: &Path) -> (Value, i32) {
    let out = run(&[
        "diff",
        "--repo",
        repo.to_str().unwrap(),
        "--base",
        "main",
        "--head",
        "pr",
        "--format",
        "json",
    ]);
    (json(&out), out.status.code().unwrap())
}

const ORDERS_ACK: &str = "\
acknowledge:
- code: ingress-from-anywhere
  object: NetworkPolicy shop/orders-public
  reason: partners call the orders API directly
";

/// An entry of the base's `.reachdiff.yaml` acknowledges what the pull
/// request introduces: `--strict` (from the configuration) passes.
#[test]
fn acknowledge_configuration_of_the_base_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = format!("strict: true\n{ORDERS_ACK}");
    let repo = repo_with(tmp.path(), &cfg, &cfg);
    let (v, code) = diff(&repo);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["summary"]["findings_acknowledged"], 2, "{v}");
    let acked: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["acknowledged"].is_object())
        .collect();
    assert_eq!(acked.len(), 2, "{v}");
    assert!(
        acked
            .iter()
            .any(|f| f["object"] == "NetworkPolicy shop/orders-public"
                && f["acknowledged"]["config_index"] == 0),
        "{v}"
    );
}

/// The same entry added by the pull request itself is proposed: it
/// acknowledges nothing, and `--strict` trips on the finding.
#[test]
fn acknowledge_configuration_added_by_the_pull_request_is_proposed() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with(
        tmp.path(),
        "strict: true\n",
        &format!("strict: true\n{ORDERS_ACK}"),
    );
    let (v, code) = diff(&repo);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["summary"]["findings_acknowledged"], 1, "{v}");
    assert_eq!(v["summary"]["acknowledgements_proposed"], 2, "{v}");
    let proposed = v["acknowledgements_proposed"].as_array().unwrap();
    assert!(
        proposed
            .iter()
            .any(|a| a["config_index"] == 0 && a["matches"] == 1),
        "{v}"
    );
    assert!(
        proposed.iter().any(|a| a["file"] == "orders-public.yaml"),
        "{v}"
    );
    assert_eq!(v["gates"][0]["passed"], false, "{v}");
}

/// A repository whose pull request branched from the scenario's base and
/// whose base branch then moved on: `main` gets `tip` (the scenario's
/// base with `edit` applied to its files, plus `extra`) after `pr` was
/// cut, so the merge-base is the scenario's base and the tip differs.
fn repo_with_moved_tip(
    t: &Path,
    edit: &dyn Fn(&str) -> String,
    extra: &[(&str, &str)],
) -> std::path::PathBuf {
    let repo = repo_with(t, "strict: true\n", "strict: true\n");
    git(&repo, &["checkout", "-q", "main"]);
    let tip = t.join("tip");
    std::fs::create_dir_all(&tip).unwrap();
    for e in std::fs::read_dir(support::scenario(SCENARIO, "base")).unwrap() {
        let e = e.unwrap();
        let text = std::fs::read_to_string(e.path()).unwrap();
        std::fs::write(tip.join(e.file_name()), edit(&text)).unwrap();
    }
    let mut files: Vec<(&str, &str)> = vec![(".reachdiff.yaml", "strict: true\n")];
    files.extend_from_slice(extra);
    support::commit(&repo, &tip, &files, "main moves on");
    git(&repo, &["checkout", "-q", "pr"]);
    repo
}

fn acknowledged_objects(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["acknowledged"].is_object())
        .map(|f| f["object"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Issue 17 (settled): an annotation counts when the base branch's tip
/// carries it, even if the merge-base (the compared base) does not: the
/// orders policy reached `main` with its annotation after the pull request
/// branched, so the pull request's own copy proposes nothing new and
/// `--strict` passes.
#[test]
fn acknowledge_annotation_at_the_base_tip_counts_not_at_the_merge_base() {
    let tmp = tempfile::tempdir().unwrap();
    let orders =
        std::fs::read_to_string(support::scenario(SCENARIO, "head").join("orders-public.yaml"))
            .unwrap();
    let repo = repo_with_moved_tip(
        tmp.path(),
        &|t: &str| t.to_string(),
        &[("orders-public.yaml", &orders)],
    );
    let (v, code) = diff(&repo);
    assert_eq!(code, 0, "{v}");
    let acked = acknowledged_objects(&v);
    assert!(
        acked
            .iter()
            .any(|o| o == "NetworkPolicy shop/orders-public"),
        "{v}"
    );
    assert_eq!(v["summary"]["acknowledgements_proposed"], 0, "{v}");
}

/// The reverse: the merge-base carries the storefront's annotation, the
/// base branch's tip no longer does. The pull request's copy is then
/// proposed, acknowledges nothing, and `--strict` trips.
#[test]
fn acknowledge_annotation_only_at_the_merge_base_is_proposed() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with_moved_tip(
        tmp.path(),
        &|t: &str| t.replace("    reachdiff.io/acknowledge:", "    other.example/note:"),
        &[],
    );
    let (v, code) = diff(&repo);
    assert_eq!(code, 1, "{v}");
    let acked = acknowledged_objects(&v);
    assert!(
        !acked
            .iter()
            .any(|o| o == "NetworkPolicy shop/storefront-public"),
        "{v}"
    );
    let proposed = v["acknowledgements_proposed"].as_array().unwrap();
    assert!(
        proposed
            .iter()
            .any(|a| a["file"] == "shop.yaml"
                && a["reason"] == "the storefront is the public web site"),
        "{v}"
    );
}
