//! Bad input through the built binary: exit status 2, `error: ` on stderr
//! naming the file (and line:col where there is one), nothing on stdout,
//! no panic, no half-written output file. Hostile inputs (YAML bombs, deep
//! nesting, huge files, binary garbage) must end by design; every run has a
//! watchdog so a regression fails the test instead of hanging the suite.
//!
//! `fixtures/errors/<case>/` holds a corpus of bad inputs with the exact
//! first stderr line; `UPDATE_EXPECT=1` rewrites those files.

use crate::support;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Generous: only a hang (or an accidental quadratic blow-up) trips it.
const WATCHDOG: Duration = Duration::from_secs(300);

struct Run {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs `cmd` to completion, feeding `stdin`, killing it after [`WATCHDOG`].
fn run_bounded(mut cmd: Command, stdin: Option<Vec<u8>>) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn reachdiff");
    let feeder = child.stdin.take().map(|mut pipe| {
        let data = stdin.unwrap_or_default();
        // The binary may stop reading early (size limit): ignore EPIPE.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("reachdiff did not finish within {WATCHDOG:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if let Some(f) = feeder {
        let _ = f.join();
    }
    Run {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: String::from_utf8_lossy(&err_reader.join().expect("stderr reader")).into_owned(),
    }
}

fn reach(args: &[&str]) -> Run {
    let mut cmd = support::bin();
    cmd.arg("reach").args(args);
    run_bounded(cmd, None)
}

/// `reachdiff reach PATH --format json`.
fn reach_json(path: &Path) -> Run {
    reach(&[path.to_str().expect("utf-8 temp path"), "--format", "json"])
}

/// The contract for bad input; returns stderr.
#[track_caller]
fn assert_rejected(run: &Run) -> &str {
    let stderr = run.stderr.as_str();
    assert_eq!(run.status.code(), Some(2), "exit status; stderr:\n{stderr}");
    assert!(
        run.stdout.is_empty(),
        "stdout must be empty on bad input, got:\n{}",
        String::from_utf8_lossy(&run.stdout)
    );
    assert!(stderr.starts_with("error: "), "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "panic:\n{stderr}");
    stderr
}

/// Asserts the first stderr line is `error: FILE:LINE:COL: ...` with
/// positive LINE and COL, and returns (line, col).
#[track_caller]
fn assert_located(run: &Run, file: &Path) -> (u32, u32) {
    let stderr = assert_rejected(run);
    let prefix = format!("error: {}:", file.display());
    let first = stderr.lines().next().unwrap_or_default();
    let rest = first
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("expected `{prefix}LINE:COL: ...`, got:\n{stderr}"));
    let mut parts = rest.splitn(3, ':');
    let mut number = || -> u32 {
        parts
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no LINE:COL after the file name:\n{stderr}"))
    };
    let (line, col) = (number(), number());
    assert!(line >= 1 && col >= 1, "{stderr}");
    (line, col)
}

/// Asserts the first stderr line names `file` (inputs without a line, such
/// as a file that cannot be read at all).
#[track_caller]
fn assert_names_file<'a>(run: &'a Run, file: &Path) -> &'a str {
    let stderr = assert_rejected(run);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("error: {}", file.display())),
        "first line should name {}:\n{stderr}",
        file.display()
    );
    first
}

fn temp_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path
}

/// Deterministic pseudo-random bytes (xorshift), so a failure reproduces.
fn garbage(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

const GOOD_POLICY: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api
  namespace: shop
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - ports: [{port: 8080}]
";

#[test]
fn invalid_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(
        &dir,
        "bad.yaml",
        b"apiVersion: v1\nkind: Namespace\nmetadata: {name: [shop}\n",
    );
    let (line, _) = assert_located(&reach_json(&path), &path);
    assert_eq!(line, 3);
}

#[test]
fn wrong_types() {
    let dir = tempfile::tempdir().unwrap();
    let text = GOOD_POLICY.replace("{port: 8080}", "{port: [8080]}");
    let path = temp_file(&dir, "np.yaml", text.as_bytes());
    let run = reach_json(&path);
    assert_eq!(assert_located(&run, &path), (9, 20));
    assert!(
        run.stderr
            .contains("NetworkPolicy shop/api: spec.ingress[0].ports[0].port: "),
        "{}",
        run.stderr
    );
    // A spec that is a string, a port that is a mapping, a list where a
    // mapping belongs: all input errors, never panics.
    for (name, text) in [
        (
            "spec.yaml",
            GOOD_POLICY.replace("spec:\n", "spec: nope\nx:\n"),
        ),
        (
            "map.yaml",
            GOOD_POLICY.replace("{port: 8080}", "{port: {n: 1}}"),
        ),
        (
            "meta.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: [a]\n".to_string(),
        ),
    ] {
        let path = temp_file(&dir, name, text.as_bytes());
        assert_located(&reach_json(&path), &path);
    }
}

#[test]
fn yaml_bomb() {
    // Billion laughs: ten levels of ten aliases each, 10^10 nodes expanded.
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str("kind: Pod\n");
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "bomb.yaml", text.as_bytes());
    let run = reach_json(&path);
    assert_located(&run, &path);
    assert!(run.stderr.contains("alias"), "{}", run.stderr);
}

#[test]
fn yaml_bomb_wide_fan_out() {
    // Many aliases to one large list (the shape that defeats a pure
    // repetition limit): 20,000 items, referenced 100,000 times.
    let mut text = String::from("base: &b [");
    text.push_str(&vec!["x"; 20_000].join(","));
    text.push_str("]\nrefs: [");
    text.push_str(&vec!["*b"; 100_000].join(","));
    text.push_str("]\n");
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "fan.yaml", text.as_bytes());
    assert_located(&reach_json(&path), &path);
}

#[test]
fn deep_flow_nesting() {
    let text = format!("{}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "flow.yaml", text.as_bytes());
    assert_eq!(assert_located(&reach_json(&path), &path).0, 1);
    let text = format!("{}{}\n", "{a: ".repeat(100_000), "}".repeat(100_000));
    let path = temp_file(&dir, "flow-map.yaml", text.as_bytes());
    assert_located(&reach_json(&path), &path);
}

#[test]
fn deep_block_nesting() {
    // 100,000 nested block sequences on one line (`- - - ... x`).
    let text = format!("{}x\n", "- ".repeat(100_000));
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "block.yaml", text.as_bytes());
    assert_located(&reach_json(&path), &path);
    // Nested block mappings, one more space per level.
    let text: String = (0..3000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    let path = temp_file(&dir, "block-map.yaml", text.as_bytes());
    assert_located(&reach_json(&path), &path);
}

/// More than the 64 MiB limit, in YAML that would be slow to parse if the
/// size were not checked first.
fn oversized() -> Vec<u8> {
    let mut text = GOOD_POLICY.as_bytes().to_vec();
    let line = format!("# {}\n", "padding ".repeat(16));
    while text.len() < 70 << 20 {
        text.extend_from_slice(line.as_bytes());
    }
    text
}

#[test]
fn file_over_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, "huge.yaml", &oversized());
    let run = reach_json(&path);
    let first = assert_names_file(&run, &path);
    assert!(
        first.contains("larger") || first.contains("limit") || first.contains("too large"),
        "expected a size error:\n{}",
        run.stderr
    );
}

#[test]
fn stdin_over_the_size_limit() {
    let mut cmd = support::bin();
    cmd.args(["reach", "-", "--format", "json"]);
    let run = run_bounded(cmd, Some(oversized()));
    let stderr = assert_rejected(&run);
    assert!(stderr.starts_with("error: <stdin>"), "{stderr}");
}

#[test]
fn binary_garbage() {
    let dir = tempfile::tempdir().unwrap();
    // Random bytes, NULs included: rejected as a whole file (not UTF-8).
    for seed in 1..=4 {
        let mut bytes = garbage(4096, seed);
        bytes[100] = 0;
        let path = temp_file(&dir, &format!("garbage-{seed}.yaml"), &bytes);
        assert_names_file(&reach_json(&path), &path);
    }
    // Valid UTF-8 with control bytes and a NUL after a valid start: the
    // loader sees it and names the line.
    let mut bytes = b"apiVersion: v1\nkind: Pod\n".to_vec();
    bytes.extend(garbage(512, 9).into_iter().map(|b| b & 0x7f));
    bytes.push(0);
    let path = temp_file(&dir, "nul.yaml", &bytes);
    assert_located(&reach_json(&path), &path);
}

#[test]
fn invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(
        &dir,
        "latin1.yaml",
        b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: caf\xe9\n",
    );
    let first = assert_names_file(&reach_json(&path), &path).to_string();
    assert!(first.contains("UTF-8"), "{first}");
}

#[test]
fn nonexistent_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.yaml");
    assert_names_file(&reach_json(&path), &path);
    let path = dir.path().join("no/such/dir");
    assert_names_file(&reach_json(&path), &path);
}

#[test]
fn directory_with_one_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    temp_file(&dir, "a-good.yaml", GOOD_POLICY.as_bytes());
    let bad = temp_file(
        &dir,
        "b-bad.yaml",
        GOOD_POLICY.replace("port: 8080", "port: 0").as_bytes(),
    );
    temp_file(
        &dir,
        "c-good.yaml",
        b"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    );
    let run = reach_json(dir.path());
    assert_eq!(assert_located(&run, &bad), (9, 20));
    assert!(!run.stderr.contains("good.yaml"), "{}", run.stderr);
    // The same directory without the bad file analyses fine.
    std::fs::remove_file(&bad).unwrap();
    let run = reach_json(dir.path());
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with(b"{"));
}

#[test]
fn every_error_is_reported() {
    // Two bad files: both named, the run still fails once with exit 2.
    let dir = tempfile::tempdir().unwrap();
    let a = temp_file(
        &dir,
        "a.yaml",
        GOOD_POLICY.replace("port: 8080", "port: 0").as_bytes(),
    );
    let b = temp_file(&dir, "b.yaml", b"kind: [\n");
    let run = reach_json(dir.path());
    let stderr = assert_rejected(&run);
    for f in [&a, &b] {
        assert!(
            stderr.contains(&format!("error: {}:", f.display())),
            "{} not reported:\n{stderr}",
            f.display()
        );
    }
}

#[test]
fn output_file_is_not_written_on_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = temp_file(&dir, "in.yaml", b"kind: NetworkPolicy\nspec: [\n");
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("report.json");
    let run = reach(&[
        input.to_str().unwrap(),
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_located(&run, &input);
    let left: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
    // An existing report is left untouched, not truncated.
    std::fs::write(&out, "previous").unwrap();
    let run = reach(&[input.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert_rejected(&run);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
}

#[test]
fn diff_names_the_bad_side() {
    let base = tempfile::tempdir().unwrap();
    let head = tempfile::tempdir().unwrap();
    temp_file(&base, "np.yaml", GOOD_POLICY.as_bytes());
    temp_file(
        &head,
        "np.yaml",
        GOOD_POLICY
            .replace("port: 8080", "port: \"8080\"")
            .as_bytes(),
    );
    let mut cmd = support::bin();
    cmd.arg("diff")
        .arg(base.path())
        .arg(head.path())
        .args(["--format", "json"]);
    let run = run_bounded(cmd, None);
    let stderr = assert_rejected(&run);
    assert!(
        stderr.starts_with("error: head: np.yaml:9:20: "),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------
// fixtures/errors corpus
// ---------------------------------------------------------------------------

/// Reads `key = "value"` from a flat TOML file.
fn toml_string(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        if k.trim() != key {
            return None;
        }
        let v = v.trim();
        Some(v.strip_prefix('"')?.strip_suffix('"')?.to_string())
    })
}

#[test]
fn error_corpus() {
    let root = support::repo_root();
    let corpus = root.join("fixtures/errors");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("fixtures/errors")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "only {} cases", cases.len());
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let meta = std::fs::read_to_string(case.join("case.toml"))
            .unwrap_or_else(|e| panic!("{name}/case.toml: {e}"));
        assert!(
            toml_string(&meta, "description").is_some_and(|d| !d.is_empty()),
            "{name}/case.toml: description missing"
        );
        assert!(
            toml_string(&meta, "source").is_some(),
            "{name}/case.toml: source missing"
        );
        let input = format!("fixtures/errors/{name}/input.yaml");
        let mut cmd = support::bin();
        cmd.current_dir(&root)
            .args(["reach", &input, "--format", "json"]);
        let run = run_bounded(cmd, None);
        let stderr = assert_rejected(&run);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("error: {input}")),
            "{name}: the error must name the input:\n{stderr}"
        );
        let expected_path = case.join("expected-stderr.txt");
        if update {
            std::fs::write(&expected_path, format!("{first}\n")).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| {
            panic!("{name}/expected-stderr.txt: {e} (run with UPDATE_EXPECT=1)")
        });
        if expected.trim_end_matches('\n') != first {
            failures.push(format!(
                "{name}:\n  expected: {}\n  actual:   {first}",
                expected.trim_end_matches('\n')
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ (UPDATE_EXPECT=1 rewrites them):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// `--output` onto something that is not a regular file (a FIFO here; the
/// same path serves `/dev/null`) writes into it instead of renaming a temp
/// file over it, which would replace the device or pipe with a file.
#[cfg(unix)]
#[test]
fn output_to_a_fifo_keeps_the_fifo() {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("out.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        crate::support::skip("output_to_a_fifo_keeps_the_fifo", "mkfifo is not available");
        return;
    }
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::fs::File::open(&reader_path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map(|_| text)
    });
    let manifests =
        crate::support::repo_root().join("fixtures/scenarios/shop-multi-namespace/head");
    let out = crate::support::run(&[
        "reach",
        manifests.to_str().expect("utf-8 path"),
        "--format",
        "json",
        "--output",
        fifo.to_str().expect("utf-8 path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Checked before joining: had the FIFO been replaced, the reader would
    // wait forever for a writer.
    let kind = std::fs::symlink_metadata(&fifo)
        .expect("still there")
        .file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced by a regular file");
    let text = reader.join().expect("reader").expect("read fifo");
    assert!(text.contains("reachdiff/reach/v1"));
}

/// Security issue 12, item 9: an error that quotes a path (or any text of
/// the input) never sends its terminal escape sequences to the terminal.
#[test]
fn errors_print_no_terminal_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = dir.path().join("a\x1b]0;owned\x07\x1b[2J.yaml");
    let run = reach(&[hostile.to_str().unwrap()]);
    let stderr = assert_rejected(&run);
    assert!(stderr.contains("no such file or directory"), "{stderr}");
    assert!(
        !stderr.chars().any(|c| c.is_control() && c != '\n'),
        "{stderr:?}"
    );
    // The same in a manifest's error (the file exists, its YAML is bad).
    std::fs::write(&hostile, "kind: [").unwrap();
    let run = reach(&[hostile.to_str().unwrap()]);
    let stderr = assert_rejected(&run);
    assert!(
        !stderr.chars().any(|c| c.is_control() && c != '\n'),
        "{stderr:?}"
    );
}

// ---------------------------------------------------------------------------
// Every shape of the budget harness (`reachdiff::shapes`), about 1 MB of it,
// with one defect near the end: refused as a whole, at the defect's line,
// with nothing on stdout. The hostile shapes are refused as they are.
// ---------------------------------------------------------------------------

use reachdiff::shapes::Shape;

/// Writes `text` and checks that the first error names `line` (1-based).
#[track_caller]
fn assert_refused_at(name: &str, text: &str, line: usize, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir, name, text.as_bytes());
    let run = reach_json(&path);
    let (at, _) = assert_located(&run, &path);
    assert_eq!(at as usize, line, "{name}: {}", run.stderr);
    assert!(run.stderr.contains(needle), "{name}: {}", run.stderr);
}

fn lines(text: &str) -> usize {
    text.lines().count()
}

#[test]
fn shape_many_keys_with_an_unclosed_quote() {
    let mut text = Shape::ManyKeys.generate(1_000_000);
    let line = lines(&text) + 1;
    text.push_str("  broken: \"no end\n");
    assert_refused_at("many-keys.yaml", &text, line, "");
}

#[test]
fn shape_huge_labels_with_an_invalid_label() {
    let text = Shape::HugeLabels.generate(1_000_000);
    let tail = text.find("spec:\n").expect("the Pod's spec");
    let line = lines(&text[..tail]) + 1;
    let text = format!(
        "{}    bad: \"not valid!\"\n{}",
        &text[..tail],
        &text[tail..]
    );
    assert_refused_at("labels.yaml", &text, line, "invalid label value");
}

#[test]
fn shape_long_list_with_a_tab_indented_item() {
    let mut text = Shape::LongList.generate(1_000_000);
    let line = lines(&text) + 1;
    text.push_str("\t- --tab\n");
    assert_refused_at("list.yaml", &text, line, "tab");
}

#[test]
fn shape_deep_nesting_one_level_too_deep() {
    let mut text = Shape::DeepNesting.generate(1_000_000);
    let first = lines(&text) + 1;
    for level in 0..130 {
        let indent = if level == 0 {
            "- ".to_string()
        } else {
            " ".repeat(2 * level + 2)
        };
        text.push_str(&format!("{indent}k{level}:\n"));
    }
    text.push_str(&format!("{}leaf\n", " ".repeat(264)));
    // The 128th level of the appended item (the List items are level 2).
    assert_refused_at("deep.yaml", &text, first + 126, "nesting deeper than 128");
}

#[test]
fn shape_deep_flow_left_open() {
    let mut text = Shape::DeepFlow.generate(1_000_000);
    let line = lines(&text) + 1;
    text.push_str("- [[[x]]\nnext: 1\n");
    assert_refused_at("flow.yaml", &text, line + 1, "");
}

#[test]
fn shape_long_strings_with_a_nul_byte() {
    let mut text = Shape::LongStrings.generate(1_000_000);
    let line = lines(&text) + 1;
    text.push_str("  nul: \"\0\"\n");
    assert_refused_at("strings.yaml", &text, line, "NUL");
}

#[test]
fn shape_many_documents_with_one_bad_policy() {
    let mut text = Shape::ManyDocuments.generate(1_000_000);
    // The ninth appended line, `    - port: 0`.
    let line = lines(&text) + 9;
    text.push_str("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: ns-1}\nspec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 0\n");
    assert_refused_at("docs.yaml", &text, line, "port 0 is outside 1-65535");
}

#[test]
fn shape_huge_selectors_with_a_lowercase_operator() {
    let mut text = Shape::HugeSelectors.generate(1_000_000);
    let line = lines(&text) + 7;
    text.push_str("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: shapes}\nspec:\n  podSelector:\n    matchExpressions: [{key: app, operator: in, values: [a]}]\n");
    assert_refused_at("selectors.yaml", &text, line, "unknown operator");
}

#[test]
fn shape_policies_selecting_everything_with_a_conflicting_second_declaration() {
    let mut text = Shape::PoliciesSelectingEverything.generate(1_000_000);
    let line = lines(&text) + 2;
    text.push_str("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: all-0, namespace: ns-0}\nspec: {podSelector: {}}\n");
    assert_refused_at(
        "policies.yaml",
        &text,
        line,
        "declared twice with different content",
    );
}

#[test]
fn hostile_shapes_are_refused_as_input_limits() {
    for shape in Shape::ALL.into_iter().filter(|s| s.refused()) {
        let dir = tempfile::tempdir().unwrap();
        let path = temp_file(&dir, "hostile.yaml", shape.generate(1_000_000).as_bytes());
        let run = reach_json(&path);
        assert_located(&run, &path);
        assert!(
            run.stderr.contains("expand") || run.stderr.contains("nest"),
            "{}: {}",
            shape.name(),
            run.stderr
        );
    }
}

/// Repository text that discovery and the kustomize reader parse before the
/// loader sees it (kustomization files, Argo CD and Flux objects, string
/// entries of a kustomization) goes through the bounded parser first.
/// libyaml, under serde_yaml, is quadratic in flow nesting: at 300,000
/// levels these shapes took many minutes each, so the watchdog trips on a
/// regression. Each is refused at its file and line, and the rest of the
/// repository is still analysed.
#[test]
fn deep_nesting_that_discovery_reads() {
    if reachdiff::source::render::Kustomize::detect().is_none() {
        support::skip(
            "deep_nesting_that_discovery_reads",
            "neither kubectl nor kustomize is installed",
        );
        return;
    }
    let deep = format!("{}{}", "[".repeat(300_000), "]".repeat(300_000));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |path: &str, text: &str| {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("good/kustomization.yaml", "resources: [ns.yaml]\n");
    write(
        "good/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    );
    write(
        "nested/kustomization.yaml",
        &format!("resources: [ns.yaml]\nx: {deep}\n"),
    );
    write(
        "nested/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    );
    write(
        "quoted/kustomization.yaml",
        &format!("resources:\n- ns.yaml\n- '{deep}'\n"),
    );
    write(
        "quoted/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
    );
    write(
        "argo/app.yaml",
        &format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: a}}\nspec:\n  x: {deep}\n"
        ),
    );
    support::git(root, &["init", "-q"]);
    support::git(root, &["add", "-A"]);
    support::git(root, &["commit", "-q", "-m", "deep"]);
    let run = reach(&[
        "--repo",
        root.to_str().expect("utf-8 temp path"),
        "--format",
        "json",
    ]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let doc: serde_json::Value =
        serde_json::from_slice(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
    let envs = doc["environments"].as_array().expect("environments");
    let status = |name: &str| {
        envs.iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no environment {name}: {doc}"))
    };
    let nested = status("nested");
    assert_eq!(nested["status"], "failed", "{nested}");
    assert!(
        nested["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nested/kustomization.yaml:2:") && m.contains("nesting")),
        "{nested}"
    );
    assert_eq!(status("good")["status"], "ok");
    // The quoted entry is not an inline object kustomize could read: a path
    // that does not exist, quoted in a message of bounded size.
    let quoted = status("quoted");
    assert_eq!(quoted["status"], "failed");
    let message = quoted["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("characters left out"), "{message}");
    assert!(message.len() < 2000, "{}", message.len());
    // The Application is passed over by discovery and refused, with its
    // line, by the analysis of the files it lies among.
    let rest = status("other-manifests");
    assert_eq!(rest["status"], "failed", "{rest}");
    assert_eq!(rest["errors"][0]["file"], "argo/app.yaml", "{rest}");
    assert_eq!(rest["errors"][0]["line"], 5, "{rest}");
}
