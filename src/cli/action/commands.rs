//! Workflow commands (`::warning file=…::…`) and step outputs.
//!
//! SECURITY: the runner reads commands from every line of stdout and
//! stderr, so text from the repository or an artifact (names, paths,
//! messages, errors that quote them) reaches those streams only through
//! command escaping: `%`, CR and LF in messages, and also `:` and `,` in
//! properties. An escaped text is one line that cannot start a command.

use crate::review::lines::Annotation;
use std::io::Write;

/// Escapes the message of a workflow command.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property (`file=`, `title=`) of a workflow command.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A token nobody can guess in advance (output delimiters): it only needs
/// to differ from text in the manifests.
pub fn nonce() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    format!("reachdiff{:016x}", h.finish())
}

/// One annotation as a workflow command.
pub fn command(a: &Annotation) -> String {
    let mut props = Vec::new();
    if let Some(f) = &a.file {
        props.push(format!("file={}", escape_property(f)));
    }
    if let Some(l) = a.line {
        props.push(format!("line={l}"));
    }
    props.push(format!("title={}", escape_property(&a.title)));
    format!(
        "::{} {}::{}",
        a.level.as_str(),
        props.join(","),
        escape_data(&a.message)
    )
}

/// A message of our own with text from elsewhere in it (a GitHub error,
/// an artifact's claim), as a `::warning title=reachdiff::` command.
pub fn warning(text: &str) -> String {
    format!("::warning title=reachdiff::{}", escape_data(text))
}

/// An error that ends the run: `::error title=reachdiff::` with the whole
/// message escaped onto one line (it may quote a path or an artifact).
pub fn error(text: &str) -> String {
    format!("::error title=reachdiff::{}", escape_data(text))
}

/// GitHub shows at most this many annotations of each level per step.
pub const ANNOTATION_LIMIT: usize = 10;

/// Prints annotations within GitHub's per-step limits; the rest are
/// counted in one notice.
pub fn print_annotations(out: &mut dyn Write, all: &[Annotation]) -> std::io::Result<()> {
    let mut extra = std::collections::BTreeMap::<&str, usize>::new();
    let mut shown = std::collections::BTreeMap::<&str, usize>::new();
    for a in all {
        let n = shown.entry(a.level.as_str()).or_default();
        if *n < ANNOTATION_LIMIT {
            *n += 1;
            writeln!(out, "{}", command(a))?;
        } else {
            *extra.entry(a.level.as_str()).or_default() += 1;
        }
    }
    if !extra.is_empty() {
        let parts: Vec<String> = extra
            .iter()
            .map(|(l, n)| format!("{n} more {l}(s)"))
            .collect();
        writeln!(
            out,
            "::notice title=reachdiff::{} not shown as annotations (GitHub shows {ANNOTATION_LIMIT} per level); see the job summary",
            parts.join(", ")
        )?;
    }
    Ok(())
}

/// `name<<DELIM` blocks for `$GITHUB_OUTPUT`, safe for any value.
pub fn output_block(pairs: &[(&str, String)]) -> String {
    let mut s = String::new();
    for (k, v) in pairs {
        let mut delim = format!("EOF_{}", nonce());
        while v.contains(&delim) {
            delim.push('_');
        }
        s.push_str(&format!("{k}<<{delim}\n{v}\n{delim}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::lines::Level;

    #[test]
    fn escaping_and_outputs() {
        assert_eq!(escape_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
        let b = output_block(&[("x", "1\n2".into())]);
        let mut lines = b.lines();
        let head = lines.next().unwrap();
        let delim = head.strip_prefix("x<<").unwrap();
        assert_eq!(lines.next(), Some("1"));
        assert_eq!(lines.next(), Some("2"));
        assert_eq!(lines.next(), Some(delim));
        assert_eq!(
            error("x\n::add-mask::y"),
            "::error title=reachdiff::x%0A::add-mask::y"
        );
    }

    #[test]
    fn annotation_limits() {
        let a = |level| Annotation {
            level,
            file: Some("a,b:c.yaml".into()),
            line: Some(3),
            title: "t".into(),
            message: "m\n::error::injected".into(),
        };
        let mut all: Vec<Annotation> = (0..15).map(|_| a(Level::Warning)).collect();
        all.extend((0..12).map(|_| a(Level::Error)));
        let mut out = Vec::new();
        print_annotations(&mut out, &all).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out.lines().filter(|l| l.starts_with("::warning ")).count(),
            10
        );
        assert_eq!(
            out.lines().filter(|l| l.starts_with("::error ")).count(),
            10
        );
        assert!(out.contains("2 more error(s), 5 more warning(s) not shown"));
        assert!(out.contains("file=a%2Cb%3Ac.yaml,line=3,title=t::m%0A::error::injected"));
        assert_eq!(out.lines().count(), 21);
    }
}
