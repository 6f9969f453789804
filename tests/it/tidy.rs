//! Architecture and hygiene rules, checked by machine (ARCHITECTURE.md,
//! "Invariants").

use crate::support::repo_root;
use std::path::{Path, PathBuf};

/// The pure core: no I/O, no environment, no printing, no front ends.
const CORE: &[&str] = &[
    "src/analysis.rs",
    "src/changes.rs",
    "src/comparison.rs",
    "src/config.rs",
    "src/diag.rs",
    "src/diff.rs",
    "src/revision.rs",
    "src/words.rs",
    "src/shapes.rs",
    "src/model",
    "src/manifest",
    "src/reach",
    "src/report",
    "src/review",
    "src/findings",
];

const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::env",
    "std::process",
    "std::net::Tcp",
    "std::net::Udp",
    "std::thread::sleep",
    "Instant::now",
    "SystemTime",
    "println!",
    "eprintln!",
    "print!(",
    "eprint!(",
    "dbg!(",
    "tokio",
    "git2",
    "octocrab",
    "axum",
    "crate::cli",
    "crate::source",
    "crate::ops",
    "crate::app",
    "crate::github",
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
    } else if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            rust_files(&e.path(), out);
        }
    }
}

/// An architecture rule: in the files it applies to, none of `forbidden`
/// may appear outside comments and the unit tests at the end of a file,
/// except on a line that contains an `allowed` text of that file.
struct Rule {
    what: &'static str,
    applies: fn(&str) -> bool,
    forbidden: &'static [&'static str],
    allowed: &'static [(&'static str, &'static str)],
}

/// Every `.rs` file under `src/`, as (repository path, text).
fn sources() -> Vec<(String, String)> {
    let root = repo_root();
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        .map(|f| {
            let rel = f.strip_prefix(&root).unwrap_or(&f).display().to_string();
            (rel, std::fs::read_to_string(&f).expect("read source"))
        })
        .collect()
}

/// Where `rule` is broken in `files`: `path:line: text`.
fn violations(rule: &Rule, files: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, text) in files.iter().filter(|(p, _)| (rule.applies)(p)) {
        if path.ends_with("/tests.rs") {
            continue;
        }
        // Unit tests at the end of a file may do what the code may not.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in code.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            let excused = rule
                .allowed
                .iter()
                .any(|(p, l)| p == path && line.contains(l));
            for bad in rule.forbidden {
                if line.contains(bad) && !excused {
                    problems.push(format!("{path}:{}: {bad}", i + 1));
                }
            }
        }
    }
    problems
}

fn under(path: &str, dirs: &[&str]) -> bool {
    dirs.iter()
        .any(|d| path == *d || path.starts_with(&format!("{d}/")))
}

/// The pure core: no I/O, no environment, no printing, no front end.
const PURE_CORE: Rule = Rule {
    what: "the core must stay pure",
    applies: |p| under(p, CORE) || CORE.contains(&p),
    forbidden: FORBIDDEN,
    allowed: &[],
};

/// Only the command line knows the command line.
const ONLY_THE_CLI_IMPORTS_IT: Rule = Rule {
    what: "nothing outside src/cli and src/main.rs imports cli",
    applies: |p| !under(p, &["src/cli"]) && p != "src/main.rs",
    forbidden: &["crate::cli", "super::cli", "reachdiff::cli"],
    allowed: &[],
};

/// The App knows nothing of the Action.
const THE_APP_KNOWS_NO_ACTION: Rule = Rule {
    what: "the App does not import the Action",
    applies: |p| under(p, &["src/app"]) || p == "src/cli/serve.rs",
    forbidden: &["cli::action", "super::action", "action::"],
    allowed: &[],
};

/// The Action knows nothing of the App.
const THE_ACTION_KNOWS_NO_APP: Rule = Rule {
    what: "the Action does not import the App",
    applies: |p| under(p, &["src/cli/action"]),
    forbidden: &["crate::app", "super::serve", "serve::"],
    allowed: &[],
};

/// Below the front ends (the command line, the Action, the App) nothing
/// prints, probes a terminal or reads the environment: the operations
/// layer returns diagnostics and each front end shows them its way.
const NOTHING_BELOW_THE_FRONT_ENDS_PRINTS: Rule = Rule {
    what: "nothing below the front ends prints, reads the environment or touches a terminal",
    applies: |p| !under(p, &["src/cli", "src/app"]) && p != "src/main.rs",
    forbidden: &[
        "println!",
        "eprintln!",
        "print!(",
        "eprint!(",
        "dbg!(",
        "io::stdout",
        "io::stderr",
        "IsTerminal",
        "is_terminal",
        "std::env::",
        "process::exit",
    ],
    // Rendering runs programs: it finds them on PATH, exports into the
    // temporary directory, and may be told that network namespaces are
    // unavailable. Those are the only reads.
    allowed: &[
        ("src/source/sandbox.rs", "std::env::var_os(\"PATH\")"),
        ("src/source/sandbox.rs", "std::env::split_paths("),
        (
            "src/source/sandbox.rs",
            "std::env::var_os(\"REACHDIFF_NO_NETNS\")",
        ),
        ("src/source/render.rs", "std::env::temp_dir()"),
    ],
};

/// The App's handlers and workers use the queue through its one
/// interface (`ops::queue::JobQueue`); only `serve`'s start picks which.
const THE_APP_USES_ONE_QUEUE_INTERFACE: Rule = Rule {
    what: "the App names no queue implementation outside src/app/mod.rs",
    applies: |p| under(p, &["src/app"]) && p != "src/app/mod.rs",
    forbidden: &["queue::local", "queue::postgres", "Local::", "Postgres::"],
    allowed: &[],
};

const RULES: [&Rule; 6] = [
    &PURE_CORE,
    &ONLY_THE_CLI_IMPORTS_IT,
    &THE_APP_KNOWS_NO_ACTION,
    &THE_ACTION_KNOWS_NO_APP,
    &NOTHING_BELOW_THE_FRONT_ENDS_PRINTS,
    &THE_APP_USES_ONE_QUEUE_INTERFACE,
];

#[test]
fn the_core_does_no_io_and_knows_no_front_end() {
    let files = sources();
    let core = files.iter().filter(|(p, _)| (PURE_CORE.applies)(p)).count();
    assert!(
        core > 20,
        "core files not found under {}",
        repo_root().display()
    );
    let problems = violations(&PURE_CORE, &files);
    assert!(
        problems.is_empty(),
        "{}:\n{}",
        PURE_CORE.what,
        problems.join("\n")
    );
}

#[test]
fn the_front_ends_import_only_downwards_and_the_rest_prints_nothing() {
    let files = sources();
    let mut problems = Vec::new();
    for rule in RULES.iter().skip(1) {
        for p in violations(rule, &files) {
            problems.push(format!("{}: {p}", rule.what));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Each rule catches what it forbids: a deliberate violation of each, in
/// a file it applies to, is reported (and one in a comment or a unit test
/// is not).
#[test]
fn every_rule_fails_on_a_deliberate_violation() {
    let cases: [(&Rule, &str, &str); 7] = [
        (
            &PURE_CORE,
            "src/review/gate.rs",
            "let t = std::fs::read_to_string(p);",
        ),
        (
            &ONLY_THE_CLI_IMPORTS_IT,
            "src/ops/diff.rs",
            "use crate::cli::diff::DiffArgs;",
        ),
        (
            &THE_APP_KNOWS_NO_ACTION,
            "src/app/job.rs",
            "use crate::cli::action::driver;",
        ),
        (
            &THE_ACTION_KNOWS_NO_APP,
            "src/cli/action/driver.rs",
            "use crate::app::job::Ctx;",
        ),
        (
            &NOTHING_BELOW_THE_FRONT_ENDS_PRINTS,
            "src/ops/diff.rs",
            "eprintln!(\"warning: {d}\");",
        ),
        (
            &NOTHING_BELOW_THE_FRONT_ENDS_PRINTS,
            "src/github/publish.rs",
            "let v = std::env::var(\"X\");",
        ),
        (
            &THE_APP_USES_ONE_QUEUE_INTERFACE,
            "src/app/server.rs",
            "use crate::ops::queue::postgres::Postgres;",
        ),
    ];
    for (rule, path, line) in cases {
        let bad = vec![(path.to_string(), format!("fn f() {{\n    {line}\n}}\n"))];
        assert!(
            !violations(rule, &bad).is_empty(),
            "{}: not caught in {path}: {line}",
            rule.what
        );
        let excused = vec![(
            path.to_string(),
            format!("// {line}\n#[cfg(test)]\nmod tests {{ {line} }}\n"),
        )];
        assert!(violations(rule, &excused).is_empty(), "{}", rule.what);
    }
    // And the real tree passes only because it keeps the rules: the
    // allowances are used.
    let files = sources();
    for (path, line) in NOTHING_BELOW_THE_FRONT_ENDS_PRINTS.allowed {
        assert!(
            files.iter().any(|(p, t)| p == path && t.contains(line)),
            "unused allowance {path}: {line}"
        );
    }
}

#[test]
fn every_fixture_scenario_says_where_it_comes_from() {
    let dir = repo_root().join("fixtures/scenarios");
    let mut missing = Vec::new();
    for e in std::fs::read_dir(&dir)
        .expect("fixtures/scenarios")
        .flatten()
    {
        let case = e.path().join("case.toml");
        let text = std::fs::read_to_string(&case).unwrap_or_default();
        let has = |key: &str| text.lines().any(|l| l.trim_start().starts_with(key));
        if !has("description") || !has("source") || !e.path().join("expected/diff.json").is_file() {
            missing.push(e.path().display().to_string());
        }
    }
    assert!(missing.is_empty(), "incomplete fixtures: {missing:?}");
}

#[test]
fn the_library_forbids_unsafe_code() {
    let lib = std::fs::read_to_string(repo_root().join("src/lib.rs")).expect("lib.rs");
    assert!(lib.contains("#![forbid(unsafe_code)]"));
}

/// A function that does not fit on a screen is missing a type
/// (ARCHITECTURE.md, "Invariants"). A screen is 100 lines here.
const SCREEN: usize = 100;

/// Functions that were longer than a screen when the rule came in, with
/// the length they had: each may shrink (then lower its number or drop
/// it), never grow. The list only gets shorter.
const LONG_FUNCTIONS: &[(&str, &str, usize)] = &[
    ("src/review/cause.rs", "phrase", 107),
    ("src/manifest/decode.rs", "network_policy", 106),
    ("src/review/gate.rs", "evaluate", 101),
];

/// Every `fn` of `text` outside the unit tests, as (name, first line,
/// length in lines), measured from the `fn` line to the closing brace
/// at the same indentation (rustfmt's layout).
fn function_lengths(text: &str) -> Vec<(String, usize, usize)> {
    let code = text.split("\n#[cfg(test)]").next().unwrap_or("");
    let lines: Vec<&str> = code.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let after_fn = ["pub(crate) ", "pub(super) ", "pub ", "const ", "async ", ""]
            .iter()
            .filter_map(|p| trimmed.strip_prefix(p))
            .find_map(|rest| {
                rest.strip_prefix("async ")
                    .unwrap_or(rest)
                    .strip_prefix("fn ")
            });
        let Some(after_fn) = after_fn else { continue };
        let name: String = after_fn
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // A declaration without a body (a trait method) ends at `;`
        // before any brace opens.
        let opens = lines[i..]
            .iter()
            .position(|l| l.contains('{') || l.trim_end().ends_with(';'));
        let Some(opens) = opens.filter(|&o| lines[i + o].contains('{')) else {
            continue;
        };
        // A body on one line (`fn id(&self) -> u32 { self.0 }`).
        if lines[i + opens].trim_end().ends_with('}') {
            found.push((name, i + 1, opens + 1));
            continue;
        }
        let close = format!("{indent}}}");
        if let Some(end) = lines[i..].iter().position(|l| l.trim_end() == close) {
            found.push((name, i + 1, end + 1));
        }
    }
    found
}

/// Functions of `files` longer than a screen and not allowed to be.
fn long_functions(files: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, text) in files {
        if path.ends_with("/tests.rs") || path.contains("/tests/") {
            continue;
        }
        for (name, line, len) in function_lengths(text) {
            let allowed = LONG_FUNCTIONS
                .iter()
                .find(|(p, n, _)| p == path && *n == name)
                .map_or(SCREEN, |&(_, _, max)| max);
            if len > allowed {
                problems.push(format!(
                    "{path}:{line}: fn {name} is {len} lines (at most {allowed})"
                ));
            }
        }
    }
    problems
}

#[test]
fn functions_fit_on_a_screen_and_take_few_arguments() {
    let files = sources();
    let mut problems = long_functions(&files);
    for (path, text) in &files {
        for (i, line) in text.lines().enumerate() {
            if line.contains("clippy::too_many_arguments") {
                problems.push(format!("{path}:{}: too_many_arguments allowed", i + 1));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "a function that does not fit on a screen or needs too many arguments is missing a type:\n{}",
        problems.join("\n")
    );
    // The allowances are still needed: each names a function that exists
    // and is still longer than a screen (else lower or drop it).
    for (path, name, max) in LONG_FUNCTIONS {
        let text = files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, t)| t.as_str())
            .unwrap_or("");
        let len = function_lengths(text)
            .into_iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, len)| len);
        assert!(
            len.is_some_and(|l| l > SCREEN),
            "{path}: fn {name} is {len:?} lines now: drop its allowance ({max})"
        );
    }
}

#[test]
fn the_screen_rule_fails_on_a_deliberate_violation() {
    let body = "        x += 1;\n".repeat(SCREEN);
    let long = format!("impl A {{\n    pub(crate) fn grown(&self) {{\n{body}    }}\n}}\n");
    let files = vec![("src/diff.rs".to_string(), long.clone())];
    assert_eq!(
        long_functions(&files),
        vec![format!(
            "src/diff.rs:2: fn grown is {} lines (at most {SCREEN})",
            SCREEN + 2
        )]
    );
    // A body-less declaration is no function; a test module is exempt.
    let declared = format!(
        "trait T {{\n    fn f(&self);\n    fn one(&self) -> u8 {{ 1 }}\n}}\nfn g() {{\n}}\n#[cfg(test)]\n{long}"
    );
    assert_eq!(
        function_lengths(&declared),
        vec![("one".to_string(), 3, 1), ("g".to_string(), 5, 2)]
    );
    // An allowance holds its function to the length it had, not more.
    let allowed = format!("pub fn evaluate() {{\n{}}}\n", "    x += 1;\n".repeat(100));
    let files = vec![("src/review/gate.rs".to_string(), allowed)];
    assert_eq!(
        long_functions(&files),
        vec!["src/review/gate.rs:1: fn evaluate is 102 lines (at most 101)".to_string()]
    );
}
