//! Realistic base/head scenarios in `fixtures/scenarios/<name>/`, run through
//! the built binary exactly as a CI job would.
//!
//! Each scenario holds `base/`, `head/`, `case.toml` (`description`, `source`,
//! optional `args`) and `expected/diff.json`, the JSON golden: the contract
//! (output-contract.md). The JSON must match it byte for byte; run with
//! `UPDATE_EXPECT=1` to rewrite the goldens after checking them by hand
//! against semantics.md. The Markdown and text reports are insta snapshots in
//! `tests/it/snapshots/`. Paths passed to the binary are relative to the
//! repository root, so every path in the output is stable.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SCENARIOS: &str = "fixtures/scenarios";
const MIN_SCENARIOS: usize = 9;
const MARKER: &str = "<!-- reachdiff -->";

struct Case {
    name: String,
    /// Relative to the repository root.
    dir: String,
    description: String,
    args: Vec<String>,
}

impl Case {
    fn golden(&self) -> PathBuf {
        root().join(&self.dir).join("expected/diff.json")
    }

    /// Runs `reachdiff diff BASE HEAD --format FORMAT ARGS...` from the
    /// repository root.
    fn run(&self, format: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_reachdiff"))
            .current_dir(root())
            .env_remove("NO_COLOR")
            .arg("diff")
            .arg(format!("{}/base", self.dir))
            .arg(format!("{}/head", self.dir))
            .args(["--format", format])
            .args(&self.args)
            .output()
            .expect("run reachdiff")
    }

    /// Runs one format and checks the basics every run must satisfy.
    fn stdout(&self, format: &str) -> (String, i32) {
        let out = self.run(format);
        let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code().expect("exit status");
        assert!(
            code == 0 || code == 1,
            "{}: --format {format} exited {code}\nstderr:\n{stderr}",
            self.name
        );
        assert!(
            !stdout.is_empty(),
            "{}: --format {format} printed nothing",
            self.name
        );
        assert!(
            !stderr.contains("error:"),
            "{}: --format {format}: {stderr}",
            self.name
        );
        (stdout, code)
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every scenario, sorted by name; panics if one is incomplete.
fn cases() -> Vec<Case> {
    let dir = root().join(SCENARIOS);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("read_dir entry"))
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    assert!(
        names.len() >= MIN_SCENARIOS,
        "expected at least {MIN_SCENARIOS} scenarios in {SCENARIOS}, found {}: {names:?}",
        names.len()
    );
    names
        .into_iter()
        .map(|name| {
            let rel = format!("{SCENARIOS}/{name}");
            let abs = root().join(&rel);
            for part in ["base", "head"] {
                assert!(abs.join(part).is_dir(), "{name}: missing {part}/");
            }
            assert!(
                abs.join("expected/diff.json").is_file() || update_expect(),
                "{name}: missing expected/diff.json (UPDATE_EXPECT=1 creates it)"
            );
            let toml = std::fs::read_to_string(abs.join("case.toml"))
                .unwrap_or_else(|e| panic!("{name}: case.toml: {e}"));
            let (description, args) =
                parse_case(&toml).unwrap_or_else(|e| panic!("{name}: case.toml: {e}"));
            Case {
                name,
                dir: rel,
                description,
                args,
            }
        })
        .collect()
}

fn update_expect() -> bool {
    std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1")
}

/// The small TOML subset `case.toml` uses: `key = "string"`,
/// `key = """multi-line string"""` and `key = ["string", ...]`.
/// Returns the description and the extra CLI arguments.
fn parse_case(text: &str) -> Result<(String, Vec<String>), String> {
    let mut description = None;
    let mut source = None;
    let mut args = Vec::new();
    let mut rest = text;
    loop {
        rest = skip_blank(rest);
        if rest.is_empty() {
            break;
        }
        let (key, after) = rest.split_once('=').ok_or("expected `key = value`")?;
        let key = key.trim();
        let after = after.trim_start_matches([' ', '\t']);
        let (value, after) = if let Some(body) = after.strip_prefix("\"\"\"") {
            let end = body.find("\"\"\"").ok_or("unterminated \"\"\" string")?;
            (
                vec![unescape(
                    body[..end].strip_prefix('\n').unwrap_or(&body[..end]),
                )?],
                &body[end + 3..],
            )
        } else if let Some(body) = after.strip_prefix('[') {
            let end = body.find(']').ok_or("unterminated array")?;
            let mut items = Vec::new();
            let mut inner = &body[..end];
            loop {
                inner = skip_blank(inner).trim_start_matches(',');
                inner = skip_blank(inner);
                if inner.is_empty() {
                    break;
                }
                let (s, next) = basic_string(inner)?;
                items.push(s);
                inner = next;
            }
            (items, &body[end + 1..])
        } else {
            let (s, next) = basic_string(after)?;
            (vec![s], next)
        };
        match key {
            "description" => description = value.into_iter().next(),
            "source" => source = value.into_iter().next(),
            "args" => args = value,
            other => return Err(format!("unknown key `{other}`")),
        }
        rest = after;
    }
    let description = description
        .filter(|d| !d.trim().is_empty())
        .ok_or("missing description")?;
    source.filter(|s| !s.is_empty()).ok_or("missing source")?;
    Ok((description, args))
}

/// Skips whitespace and `#` comments.
fn skip_blank(mut s: &str) -> &str {
    loop {
        s = s.trim_start();
        match s.strip_prefix('#') {
            Some(c) => s = c.split_once('\n').map_or("", |(_, r)| r),
            None => return s,
        }
    }
}

fn basic_string(s: &str) -> Result<(String, &str), String> {
    let body = s
        .strip_prefix('"')
        .ok_or_else(|| format!("expected a string at {:?}", s.lines().next()))?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Ok((unescape(&body[..i])?, &body[i + 1..])),
            '\n' => return Err("newline in a one-line string".into()),
            _ => escaped = false,
        }
    }
    Err("unterminated string".into())
}

/// TOML basic-string escapes, including the line-ending backslash.
fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('\n') => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            other => return Err(format!("unsupported escape \\{other:?}")),
        }
    }
    Ok(out)
}

/// Exit 1 exactly when a gate in the report failed.
fn expected_exit(json: &Value) -> i32 {
    let failed = json["gates"]
        .as_array()
        .is_some_and(|gates| gates.iter().any(|g| g["passed"] == Value::Bool(false)));
    i32::from(failed)
}

fn parse_json(name: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: invalid JSON: {e}"))
}

fn rows<'a>(json: &'a Value, key: &str) -> &'a [Value] {
    json[key]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("`{key}` is not an array"))
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("golden has a parent")).expect("create expected/");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

#[test]
fn fixtures_json_matches_golden() {
    let mut failures = Vec::new();
    for case in cases() {
        let (json, code) = case.stdout("json");
        let value = parse_json(&case.name, &json);
        assert_eq!(value["schema"], "reachdiff/diff/v1", "{}", case.name);
        assert_eq!(
            code,
            expected_exit(&value),
            "{}: exit status vs failed gates",
            case.name
        );
        let golden = case.golden();
        if update_expect() {
            write(&golden, &json);
            continue;
        }
        let expected = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
        if expected != json {
            let diff = similar::TextDiff::from_lines(&expected, &json)
                .unified_diff()
                .header("expected/diff.json", "actual")
                .to_string();
            failures.push(format!("{}:\n{diff}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "JSON differs from the golden (check against semantics.md, then UPDATE_EXPECT=1):\n{}",
        failures.join("\n")
    );
}

#[test]
fn fixtures_md_and_text_snapshots() {
    for case in cases() {
        let golden = parse_json(&case.name, &case.stdout("json").0);
        let want = expected_exit(&golden);
        let (md, md_code) = case.stdout("md");
        let (text, text_code) = case.stdout("text");
        assert_eq!(md_code, want, "{}: --format md exit status", case.name);
        assert_eq!(text_code, want, "{}: --format text exit status", case.name);
        assert!(
            md.starts_with(MARKER),
            "{}: Markdown must start with {MARKER}",
            case.name
        );
        assert!(
            !text.contains('\u{1b}'),
            "{}: text output is coloured although stdout is no tty",
            case.name
        );
        let name = &case.name;
        insta::with_settings!({description => case.description.as_str(), omit_expression => true}, {
            insta::assert_snapshot!(format!("{name}-md"), md);
            insta::assert_snapshot!(format!("{name}-text"), text);
        });
    }
}

#[test]
fn fixtures_every_changed_row_has_a_cause() {
    for case in cases() {
        let json = parse_json(&case.name, &case.stdout("json").0);
        for key in ["opened", "closed"] {
            for row in rows(&json, key) {
                let causes = row["causes"].as_array();
                assert!(
                    causes.is_some_and(|c| !c.is_empty()),
                    "{}: {key} row without a cause: {row}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn fixtures_no_change_is_empty() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "no-change")
        .expect("a no-change scenario");
    let (json, code) = case.stdout("json");
    let json = parse_json(&case.name, &json);
    assert_eq!(code, 0);
    assert!(
        rows(&json, "opened").is_empty(),
        "no-change opened: {}",
        json["opened"]
    );
    assert!(
        rows(&json, "closed").is_empty(),
        "no-change closed: {}",
        json["closed"]
    );
    assert_eq!(json["summary"]["opened"], 0);
    assert_eq!(json["summary"]["closed"], 0);
}

#[test]
fn fixtures_case_toml_parser() {
    let (d, a) = parse_case("description = \"\"\"\nline one \\\n   two\"\"\"\nsource = \"original\"\nargs = [\"--rules\", \"x.yaml\"]\n").unwrap();
    assert_eq!(d, "line one two");
    assert_eq!(a, ["--rules", "x.yaml"]);
    assert!(
        parse_case("description = \"x\"\n").is_err(),
        "source is required"
    );
    assert!(
        parse_case("description = \"x\"\nsource = \"original\"\narg = []\n").is_err(),
        "unknown key"
    );
}

/// The lines review comments and annotations sit on come from the typed
/// reviews; on every scenario they equal what the JSON report says (a
/// reference reading of `causes`, `opened` and `closed` written here), so
/// publishers lose nothing by not parsing the report.
#[test]
fn responsible_lines_agree_with_the_json_report() {
    use reachdiff::ops::diff::{DiffRequest, DiffSource};
    use reachdiff::review::lines::{LineSide, responsible_lines};
    for case in cases() {
        let req = DiffRequest {
            source: DiffSource::Folders {
                base: root().join(&case.dir).join("base"),
                head: root().join(&case.dir).join("head"),
            },
            environments: Vec::new(),
            gates: Default::default(),
            links: Default::default(),
            analysis: Default::default(),
        };
        let done = reachdiff::ops::diff::run(&req, &mut |_| {}).expect("analyses");
        let json = reachdiff::report::render_diff(
            &done.environments,
            reachdiff::report::Format::Json,
            &done.presentation(),
        );
        let doc: Value = serde_json::from_str(&json).unwrap();
        // (file, line, side, opened, closed, text, example), first mention first.
        let mut want: Vec<(String, u64, &str, usize, usize, String, String)> = Vec::new();
        let causes = doc["causes"].as_array().unwrap();
        for (key, opened) in [("opened", true), ("closed", false)] {
            for row in doc[key].as_array().unwrap() {
                let example = format!(
                    "{} → {} {}",
                    row["src"].as_str().unwrap(),
                    row["dst"].as_str().unwrap(),
                    row["protocol"].as_str().unwrap()
                );
                for i in row["causes"].as_array().unwrap() {
                    let c = &causes[i.as_u64().unwrap() as usize];
                    let (Some(side), Some(file), Some(line)) =
                        (c["side"].as_str(), c["file"].as_str(), c["line"].as_u64())
                    else {
                        continue;
                    };
                    let at = match want
                        .iter()
                        .position(|w| w.0 == file && w.1 == line && w.2 == side)
                    {
                        Some(at) => at,
                        None => {
                            let text = c["text"].as_str().unwrap().to_string();
                            want.push((file.into(), line, side, 0, 0, text, example.clone()));
                            want.len() - 1
                        }
                    };
                    if opened {
                        want[at].3 += 1;
                    } else {
                        want[at].4 += 1;
                    }
                }
            }
        }
        let got: Vec<(String, u64, &str, usize, usize, String, String)> =
            responsible_lines(&done.environments)
                .into_iter()
                .map(|l| {
                    let side = match l.side {
                        LineSide::Base => "base",
                        LineSide::Head => "head",
                    };
                    (l.file, l.line, side, l.opened, l.closed, l.text, l.example)
                })
                .collect();
        assert_eq!(got, want, "{}", case.name);
    }
}

/// The lines of `rel` (relative to a scenario's side folders) inside the
/// pull request's diff as GitHub shows it, where review comments can sit:
/// the hunks, with three lines of context, on the head and base sides.
fn changed_lines(dir: &Path, rel: &str) -> (Vec<u32>, Vec<u32>) {
    changed_lines_with(dir, rel, 3)
}

/// The lines of `rel` in the hunks with `context` lines of context.
fn changed_lines_with(dir: &Path, rel: &str, context: usize) -> (Vec<u32>, Vec<u32>) {
    let read = |side: &str| std::fs::read_to_string(dir.join(side).join(rel)).unwrap_or_default();
    let (base, head) = (read("base"), read("head"));
    let diff = similar::TextDiff::from_lines(&base, &head);
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for hunk in diff.grouped_ops(context) {
        for op in hunk {
            added.extend(op.new_range().map(|i| i as u32 + 1));
            removed.extend(op.old_range().map(|i| i as u32 + 1));
        }
    }
    (added, removed)
}

/// The lines of the YAML document of `text` that holds `line`.
fn document_of(text: &str, line: u32) -> std::ops::RangeInclusive<u32> {
    let lines: Vec<&str> = text.lines().collect();
    let at = (line as usize).saturating_sub(1);
    let start = (0..=at.min(lines.len().saturating_sub(1)))
        .rev()
        .find(|&i| lines[i].starts_with("---"))
        .map_or(1, |i| i as u32 + 2);
    let end = (at + 1..lines.len())
        .find(|&i| lines[i].starts_with("---"))
        .map_or(lines.len() as u32, |i| i as u32);
    start..=end
}

/// Issue 17: every cause is cited at a line inside the pull request's
/// diff (where a review comment can sit) whenever the object it cites has
/// such a line; a cause in an object the change left alone may cite it as
/// it is. A rule changed only by deleted lines (`peer-deleted`) is cited
/// at the removed line, on the base side, marked `removed`.
#[test]
fn fixtures_causes_cite_changed_lines() {
    let mut checked = 0;
    let mut removed = Vec::new();
    for case in cases() {
        let (stdout, _) = case.stdout("json");
        let json = parse_json(&case.name, &stdout);
        let dir = root().join(&case.dir);
        for c in json["causes"].as_array().into_iter().flatten() {
            let (Some(file), Some(line), Some(side)) =
                (c["file"].as_str(), c["line"].as_u64(), c["side"].as_str())
            else {
                continue;
            };
            let line = line as u32;
            // Paths are relative to the side's folder as given.
            let rel = file;
            let (added, removed_lines) = changed_lines(&dir, rel);
            let changed = if side == "head" {
                &added
            } else {
                &removed_lines
            };
            if c["removed"] == true {
                let (_, strictly) = changed_lines_with(&dir, rel, 0);
                assert!(
                    side == "base" && strictly.contains(&line),
                    "{}: cause {:?} is marked removed at {file}:{line} ({side}), not a removed line",
                    case.name,
                    c["text"]
                );
                removed.push((case.name.clone(), file.to_string(), line));
            }
            if changed.contains(&line) {
                checked += 1;
                continue;
            }
            let text = std::fs::read_to_string(dir.join(side).join(rel)).unwrap_or_default();
            let doc = document_of(&text, line);
            assert!(
                !changed.iter().any(|l| doc.contains(l)),
                "{}: cause {:?} is cited at {file}:{line}, outside the diff, but its object has diff lines {:?}",
                case.name,
                c["text"],
                changed
                    .iter()
                    .filter(|l| doc.contains(l))
                    .collect::<Vec<_>>()
            );
        }
    }
    assert!(checked > 20, "only {checked} causes cited at changed lines");
    // The deletion-only fixture: the removed peer (api-access) and the
    // removed podSelector of the AND peer (db-access), base side.
    for want in [17, 39] {
        assert!(
            removed.contains(&(
                "peer-deleted".to_string(),
                "policies.yaml".to_string(),
                want
            )),
            "peer-deleted: no cause cited at the removed line policies.yaml:{want}: {removed:?}"
        );
    }
}

/// Issue 17: the causes of a relabel and of a selector fix name the change
/// at the very line that changed, not the object's first line or the key
/// above it.
#[test]
fn fixtures_causes_name_the_changed_line() {
    let cite = |name: &str, kind: &str| -> Vec<(String, String, u64)> {
        let case = cases()
            .into_iter()
            .find(|c| c.name == name)
            .expect("scenario");
        let json = parse_json(name, &case.stdout("json").0);
        json["causes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["kind"] == kind)
            .map(|c| {
                (
                    c["text"].as_str().unwrap_or_default().to_string(),
                    c["file"].as_str().unwrap_or_default().to_string(),
                    c["line"].as_u64().unwrap_or_default(),
                )
            })
            .collect()
    };
    let relabel = cite("pod-relabel", "label-change");
    assert!(!relabel.is_empty());
    for (text, file, line) in &relabel {
        assert_eq!((file.as_str(), *line), ("front-end.yaml", 14), "{text}");
        assert!(
            text.contains(
                "label name of sock-shop/front-end[Deployment] changed from front-end to frontend"
            ),
            "{text}"
        );
    }
    // The unchanged policies are not blamed with a line of their own.
    for (text, file, _) in cite("pod-relabel", "no-longer-isolated") {
        assert!(file.is_empty(), "{text} cites {file}");
    }
    let fix = cite("pod-selector-fix", "newly-isolated");
    assert!(!fix.is_empty());
    for (text, file, line) in &fix {
        assert_eq!(
            (file.as_str(), *line),
            ("orders-db-policy.yaml", 10),
            "{text}"
        );
    }
}

/// Issue 17: the comment for a namespace default-deny egress with a DNS rule
/// and ten services is at most half the size of the comment of commit
/// 5627fe0 for the same input (9,579 bytes), with the default flags (the
/// open world): endpoint sets folded ("any pod in namespace `shop`",
/// "… and pods like them outside the repository"), no picture of 14 nodes.
#[test]
fn fixtures_default_deny_egress_comment_is_half_of_5627fe0() {
    const AT_5627FE0: usize = 9_579;
    let case = cases()
        .into_iter()
        .find(|c| c.name == "egress-default-deny-with-dns")
        .expect("scenario");
    assert!(case.args.is_empty(), "measured with the default flags");
    let (md, _) = case.stdout("md");
    assert!(
        md.len() <= AT_5627FE0 / 2,
        "{} bytes, budget {}:\n{md}",
        md.len(),
        AT_5627FE0 / 2
    );
}
