//! Escaping for Markdown and Mermaid. Everything that comes from manifests
//! (names, labels, paths, messages) is attacker-controlled in a pull request
//! from a fork, so it must not inject Markdown, HTML or @mentions.

/// Plain text in Markdown: special characters backslash-escaped, HTML
/// characters as entities, `@` broken so it cannot mention anyone, and line
/// breaks flattened.
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            // Inline markup anywhere in a line; `$` starts math on GitHub,
            // `#` an issue reference, `|` a table cell.
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '@' => out.push_str("&#64;"),
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
        assert_eq!(md("@admin"), "&#64;admin");
        assert_eq!(
            md("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(md("[x](http://evil)"), "\\[x\\](http\\://evil)");
        assert_eq!(md("see www.evil.com"), "see www\\.evil.com");
        assert_eq!(md("a_b *c* $x$ #1"), "a\\_b \\*c\\* \\$x\\$ \\#1");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }

    proptest! {
        #[test]
        fn md_never_leaves_live_markup(s in ".{0,40}") {
            let e = md(&s);
            prop_assert!(!e.contains('<'));
            prop_assert!(!e.contains('@'));
            prop_assert!(!e.contains('\n'));
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
