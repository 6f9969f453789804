//! The shared conformance corpus (../shared/conformance): every case must
//! pass with the binary under test.

use crate::support::repo_root;
use std::process::Command;

#[test]
fn shared_conformance_corpus_passes() {
    let runner = repo_root().join("../shared/conformance/run");
    if !runner.exists() {
        // Outside the project workspace (e.g. a crates.io checkout) the corpus
        // is not there; say so loudly instead of passing silently.
        crate::support::skip(
            "shared_conformance_corpus_passes",
            &format!("{} not found", runner.display()),
        );
        return;
    }
    let out = Command::new("python3")
        .arg(&runner)
        .arg(env!("CARGO_BIN_EXE_reachdiff"))
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failures: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(
        out.status.success() && failures.is_empty(),
        "conformance failures:\n{}\n{}",
        failures.join("\n"),
        stdout.lines().last().unwrap_or("")
    );
    let summary = stdout.lines().last().unwrap_or("");
    assert!(summary.ends_with(" 0 failed"), "{summary}");
}
