//! Escaping for Markdown and Mermaid: the one escaper of everything
//! reachdiff writes where GitHub renders Markdown (comments, reviews, check
//! runs). Everything that comes from manifests (names, labels, paths,
//! messages) is attacker-controlled in a pull request from a fork, so it
//! must not inject Markdown, HTML, links, @mentions or issue references.

/// Breaks a mention or a reference without changing what a reader sees.
/// Entities and backslash escapes do not: GitHub decodes them before its
/// mention and reference filters run.
const ZWJ: char = '\u{200D}';

/// Plain text in Markdown: special characters backslash-escaped, HTML
/// characters as entities, `@` and `#` followed by a zero-width joiner so
/// they cannot mention anyone (`@user`, `@org/team`) or reference an issue
/// (`#123`), `scheme://` and `www.` broken so they are not autolinked, and
/// line breaks flattened.
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            // Inline markup anywhere in a line; `$` starts math on GitHub,
            // `|` a table cell.
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            // A heading at the start of a line; an issue reference.
            '#' => {
                out.push_str("\\#");
                out.push(ZWJ);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '@' => {
                out.push('@');
                out.push(ZWJ);
            }
            // Autolinks: `scheme://` and `www.`.
            ':' if chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/') => {
                out.push_str("\\:")
            }
            '.' if i >= 3
                && chars[i - 3..i]
                    .iter()
                    .collect::<String>()
                    .eq_ignore_ascii_case("www") =>
            {
                out.push_str("\\.")
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// An inline code span that cannot be broken out of: the fence is longer
/// than any backtick run inside, pipes are escaped for table cells, and
/// line breaks are flattened. Mentions and HTML are inert inside code.
pub fn code(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('|', "\\|");
    let longest = clean.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if clean.starts_with('`') || clean.ends_with('`') || clean.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{clean}{pad}{fence}")
}

/// A message reachdiff wrote (a finding's, a warning's, a gate's) in
/// Markdown: its own code spans (`` `from` ``) as code, the rest as [`md`]
/// text. Names interpolated into the message stay inert either way: every
/// piece is escaped text or a [`code`] span that cannot be broken out of,
/// so a name holding backticks can at worst change which words show as
/// code, never inject markup. An odd number of backticks: all text.
pub fn md_message(s: &str) -> String {
    let pieces: Vec<&str> = s.split('`').collect();
    if pieces.len() % 2 == 0 {
        return md(s);
    }
    pieces
        .iter()
        .enumerate()
        .map(|(i, p)| match (i % 2, p.is_empty()) {
            (1, false) => code(p),
            (1, true) => md("``"),
            _ => md(p),
        })
        .collect()
}

/// A fenced code block around text that may itself contain backticks:
/// nothing inside is Markdown (no link, no HTML, no mention), whatever the
/// text holds. For reports that must reach GitHub verbatim (a check run's
/// text report, error messages).
pub fn fenced(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    let longest = clean.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{clean}\n{fence}")
}

/// A Mermaid node label inside double quotes.
pub fn mermaid_label(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => "#quot;".to_string(),
            '<' => "#lt;".to_string(),
            '>' => "#gt;".to_string(),
            '`' => "#96;".to_string(),
            '@' => "#64;".to_string(),
            c if c.is_control() => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// A Mermaid node id: only `[A-Za-z0-9_]`.
pub fn mermaid_id(prefix: &str, n: usize) -> String {
    format!("{prefix}{n}")
}

/// Percent-encodes a repository path for a URL.
pub fn url_path(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hostile_names_are_inert() {
        assert_eq!(md("@admin"), "@\u{200d}admin");
        assert_eq!(md("cc @org/team"), "cc @\u{200d}org/team");
        assert_eq!(md("fixes #123"), "fixes \\#\u{200d}123");
        assert_eq!(
            md("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(md("[x](http://evil)"), "\\[x\\](http\\://evil)");
        assert_eq!(md("see www.evil.com"), "see www\\.evil.com");
        assert_eq!(md("a_b *c* $x$ #1"), "a\\_b \\*c\\* \\$x\\$ \\#\u{200d}1");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        let block = fenced("a ``` b\n\x1b[31m");
        assert!(block.starts_with("````text\n") && block.ends_with("\n````"));
        assert!(!block.contains('\x1b'));
    }

    #[test]
    fn own_code_spans_render_and_names_stay_inert() {
        assert_eq!(
            md_message("the rule has no `from`, so it admits every pod"),
            "the rule has no `from`, so it admits every pod"
        );
        assert_eq!(
            md_message("indentation of the `-`"),
            "indentation of the `-`"
        );
        // Text around the spans is escaped as ever.
        assert_eq!(
            md_message("@admin <b> `x|y` [l](http://e)"),
            "@\u{200d}admin &lt;b&gt; `x\\|y` \\[l\\](http\\://e)"
        );
        // A name with backticks moves the spans at worst: HTML lands in a
        // code span (inert), never in the text.
        let hostile = md_message("NetworkPolicy a`<img src=x>`b: no `from`");
        assert_eq!(hostile, "NetworkPolicy a`<img src=x>`b: no `from`");
        // Unpaired: all text, escaped.
        assert_eq!(md_message("a `b"), "a \\`b");
        assert_eq!(md_message("a `` b"), "a \\`\\` b");
    }

    proptest! {
        #[test]
        fn messages_never_leave_live_markup(s in "(.|`|@|<|\\||\n){0,40}") {
            let e = md_message(&s);
            prop_assert!(!e.contains('\n'));
            // Outside code spans (split at the fences code() writes, which
            // are single backticks here only when the span has none) every
            // '<' is an entity and every '@' carries the joiner.
            if !s.contains("``") {
                for (i, piece) in e.split('`').enumerate() {
                    if i % 2 == 0 {
                        prop_assert!(!piece.contains('<'), "{}", e);
                        let chars: Vec<char> = piece.chars().collect();
                        for (j, &c) in chars.iter().enumerate() {
                            if c == '@' {
                                prop_assert_eq!(chars.get(j + 1), Some(&ZWJ));
                            }
                        }
                    }
                }
            }
        }

        #[test]
        fn md_never_leaves_live_markup(s in "(.|@|#|www\\.|://){0,40}") {
            let e = md(&s);
            prop_assert!(!e.contains('<'));
            prop_assert!(!e.contains('\n'));
            // Every `@` and `#` is followed by a zero-width joiner: no
            // mention, no issue reference, whatever GitHub decodes first.
            let chars: Vec<char> = e.chars().collect();
            for (i, &c) in chars.iter().enumerate() {
                if c == '@' || c == '#' {
                    prop_assert_eq!(chars.get(i + 1), Some(&ZWJ));
                }
            }
            // Every pipe is escaped, so table cells cannot be split.
            let bytes = e.as_bytes();
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'|' {
                    prop_assert!(i > 0 && bytes[i - 1] == b'\\');
                }
            }
        }

        #[test]
        fn code_spans_cannot_be_closed_early(s in "[a-z`|@<>]{0,20}") {
            let c = code(&s);
            let fence_len = c.chars().take_while(|&ch| ch == '`').count();
            let inner = &c[fence_len..c.len() - fence_len];
            let longest_inner = inner.split(|ch| ch != '`').map(str::len).max().unwrap_or(0);
            prop_assert!(longest_inner < fence_len);
            prop_assert!(!c.contains('\n'));
        }
    }
}
