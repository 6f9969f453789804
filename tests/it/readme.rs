//! README's example comments are generated from fixtures, never written by
//! hand: each block marked `<!-- generated: reachdiff ARGS -->` and fenced
//! with ````markdown holds exactly what `reachdiff ARGS` prints from the
//! repository root. `UPDATE_EXPECT=1` rewrites the blocks.

use crate::support::{bin, repo_root};

const MARK: &str = "<!-- generated: reachdiff ";
const FENCE: &str = "````markdown\n";
const CLOSE: &str = "````\n";

fn generate(args: &[&str]) -> String {
    let out = bin()
        .current_dir(repo_root())
        .env_remove("NO_COLOR")
        .args(args)
        .output()
        .expect("run reachdiff");
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "reachdiff {}: exit {code:?}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn readme_example_comments_are_generated_from_fixtures() {
    let path = repo_root().join("README.md");
    let text = std::fs::read_to_string(&path).expect("README.md");
    let mut out = String::new();
    let mut rest = text.as_str();
    let mut stale = Vec::new();
    let mut blocks = 0;
    while let Some(i) = rest.find(MARK) {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let end = after
            .find(" -->\n")
            .expect("a generated marker ends with ` -->`");
        let args: Vec<&str> = after[MARK.len()..end].split_whitespace().collect();
        let marker = &after[..end + " -->\n".len()];
        let body = after[marker.len()..]
            .strip_prefix(FENCE)
            .unwrap_or_else(|| panic!("{marker}: must be followed by {FENCE:?}"));
        // An empty block (a new example) is just the closing fence.
        let close = if body.starts_with(CLOSE) {
            0
        } else {
            body.find(&format!("\n{CLOSE}"))
                .expect("the fence is closed")
                + 1
        };
        let current = &body[..close];
        let generated = generate(&args);
        if current != generated {
            stale.push(args.join(" "));
        }
        out.push_str(marker);
        out.push_str(FENCE);
        out.push_str(&generated);
        out.push_str(CLOSE);
        rest = &body[close + CLOSE.len()..];
        blocks += 1;
    }
    out.push_str(rest);
    assert!(
        blocks >= 5,
        "README.md has {blocks} generated example blocks"
    );
    if std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1") {
        std::fs::write(&path, out).expect("write README.md");
        return;
    }
    assert!(
        stale.is_empty(),
        "README.md examples differ from what reachdiff prints (UPDATE_EXPECT=1 regenerates): {stale:?}"
    );
}
