//! The lines a change touched, as a pull request's "Files changed" shows
//! them: per file, the head lines it added and the base lines it removed.
//! Causes are cited at a changed line when one inside the cited field is
//! responsible, so a review comment can sit on it (issue 17).

use crate::diag::Span;
use crate::diff::Scope;
use crate::revision::Revision;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One file's changed lines and the texts they index.
#[derive(Debug, Default)]
struct FileChange {
    /// Head lines added or changed (1-based), and the head text.
    added: BTreeSet<u32>,
    head: Option<Arc<str>>,
    /// Base lines removed or changed, and the base text.
    removed: BTreeSet<u32>,
    base: Option<Arc<str>>,
    /// Lines the change left alone: (head line, base line), by head line.
    kept: Vec<(u32, u32)>,
}

/// The changed lines of every file that differs between two revisions.
/// Rendered streams are left out: their lines are cited through the files
/// they come from, which a render may combine in ways lines cannot show.
#[derive(Debug, Default)]
pub struct LineChanges {
    files: BTreeMap<String, FileChange>,
}

impl LineChanges {
    pub fn between(base: &Revision, head: &Revision) -> LineChanges {
        let plain = |r: &Revision| -> BTreeMap<String, Arc<str>> {
            r.files
                .iter()
                .filter(|f| f.origins.is_none())
                .map(|f| (f.path.clone(), f.text.clone()))
                .collect()
        };
        let (b, h) = (plain(base), plain(head));
        let mut files = BTreeMap::new();
        let paths: BTreeSet<&String> = b.keys().chain(h.keys()).collect();
        for path in paths {
            let (bt, ht) = (b.get(path), h.get(path));
            if let (Some(x), Some(y)) = (bt, ht) {
                if Arc::ptr_eq(x, y) || x == y {
                    continue;
                }
            }
            let mut fc = FileChange {
                head: ht.cloned(),
                base: bt.cloned(),
                ..FileChange::default()
            };
            let (old, new) = (bt.map_or("", |t| t), ht.map_or("", |t| t));
            let diff = similar::TextDiff::from_lines(old, new);
            for op in diff.ops() {
                for c in diff.iter_changes(op) {
                    match c.tag() {
                        similar::ChangeTag::Insert => {
                            if let Some(i) = c.new_index() {
                                fc.added.insert(i as u32 + 1);
                            }
                        }
                        similar::ChangeTag::Delete => {
                            if let Some(i) = c.old_index() {
                                fc.removed.insert(i as u32 + 1);
                            }
                        }
                        similar::ChangeTag::Equal => {
                            if let (Some(n), Some(o)) = (c.new_index(), c.old_index()) {
                                fc.kept.push((n as u32 + 1, o as u32 + 1));
                            }
                        }
                    }
                }
            }
            files.insert(path.clone(), fc);
        }
        LineChanges { files }
    }

    /// Whether `line` of `file` (of the base when `on_base`) is a changed
    /// line: added in the head, or removed from the base.
    pub fn is_changed(&self, file: &str, line: u32, on_base: bool) -> bool {
        self.files.get(file).is_some_and(|f| {
            if on_base {
                f.removed.contains(&line)
            } else {
                f.added.contains(&line)
            }
        })
    }

    /// The first changed line inside the YAML node that starts at `span`
    /// (the line itself, then the lines indented below it), if any.
    pub fn changed_within(&self, span: &Span, on_base: bool) -> Option<u32> {
        let f = self.files.get(&span.file)?;
        let (lines, text) = if on_base {
            (&f.removed, f.base.as_deref()?)
        } else {
            (&f.added, f.head.as_deref()?)
        };
        let (first, last) = extent(text, span.line)?;
        lines.range(first..=last).next().copied()
    }

    /// The first changed line of the YAML document that starts at `span`
    /// (an object written at the top level of its file), if any.
    pub fn changed_in_document(&self, span: &Span, on_base: bool) -> Option<u32> {
        if span.col != 1 {
            return None;
        }
        let f = self.files.get(&span.file)?;
        let (lines, text) = if on_base {
            (&f.removed, f.base.as_deref()?)
        } else {
            (&f.added, f.head.as_deref()?)
        };
        let end = text
            .lines()
            .enumerate()
            .skip(span.line as usize)
            .find(|(_, l)| l.starts_with("---"))
            .map_or(u32::MAX, |(i, _)| i as u32);
        lines.range(span.line..=end).next().copied()
    }

    /// The first changed line inside what `span` starts, by `scope`.
    fn changed_in(&self, span: &Span, on_base: bool, scope: &Scope) -> Option<u32> {
        // A field with no changed line inside may sit in an enclosing one
        // that has (Scope::Within).
        match scope {
            Scope::Document => self.changed_in_document(span, on_base),
            Scope::Field => self.changed_within(span, on_base),
            Scope::Within(outer) => self
                .changed_within(span, on_base)
                .or_else(|| self.changed_within(outer, on_base)),
        }
    }

    /// The base position of a head line the change left alone (None: the
    /// file did not change, or the head added the line).
    fn in_base(&self, span: &Span) -> Option<Span> {
        let f = self.files.get(&span.file)?;
        let i = f.kept.binary_search_by_key(&span.line, |&(h, _)| h).ok()?;
        Some(Span {
            line: f.kept[i].1,
            ..span.clone()
        })
    }

    /// For a head position with no added line inside: the first line the
    /// change removed inside the same field in the base (a peer or a
    /// `podSelector` deleted from a rule), as a base position.
    fn removed_in(&self, span: &Span, scope: &Scope) -> Option<Span> {
        let at = self.in_base(span)?;
        let scope = match scope {
            Scope::Within(outer) => Scope::Within(self.in_base(outer)?),
            s => s.clone(),
        };
        let line = self.changed_in(&at, true, &scope)?;
        Some(Span { line, col: 1, ..at })
    }

    /// Moves each cited position to the changed line inside what it cites,
    /// when the position itself did not change and a line inside did: the
    /// `podSelector:` key of a selector whose label was fixed is cited at
    /// the fixed label. Positions already on a changed line, and fields
    /// with no changed line inside, stay. A head field changed only by
    /// deleted lines is cited at the first of them, in the base, and a
    /// base position on a removed line is marked as one
    /// ([`crate::diff::Removed`]).
    pub fn cite(&self, causes: &mut [crate::diff::Cause]) {
        for c in causes {
            // The first position that is (or moves to) a removed line.
            let mut removed = None;
            for (span, on_base, scope) in c.spans_mut() {
                if !self.is_changed(&span.file, span.line, on_base) {
                    match self.changed_in(span, on_base, &scope) {
                        Some(line) => {
                            span.line = line;
                            span.col = 1;
                        }
                        None => {
                            if !on_base && removed.is_none() {
                                removed = self.removed_in(span, &scope);
                            }
                            continue;
                        }
                    }
                }
                if on_base && removed.is_none() {
                    removed = Some(span.clone());
                }
            }
            if let (Some(slot), Some(r)) = (c.removed_mut(), removed) {
                *slot = Some(r);
            }
        }
    }
}

/// The lines of the YAML node whose key or item starts on `line`: that
/// line and the following lines indented deeper (blank lines and comments
/// do not end it; a block sequence written at its key's indentation,
/// `ingress:` then `- from:`, belongs to the key). A flow node or a JSON
/// file written on one line is that line.
fn extent(text: &str, line: u32) -> Option<(u32, u32)> {
    let lines: Vec<&str> = text.lines().collect();
    let start = usize::try_from(line).ok()?.checked_sub(1)?;
    let first = lines.get(start)?;
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let body = first.trim_start_matches(' ');
    // A sequence item `- key: v` owns the lines indented past its dash.
    let own = indent(first);
    let opens_block = body.trim_end().ends_with(':') && !body.starts_with("- ");
    let mut last = start;
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        let t = l.trim_start_matches(' ');
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let ind = indent(l);
        let deeper = ind > own || (opens_block && ind == own && t.starts_with("- "));
        if !deeper || t.starts_with("---") {
            break;
        }
        last = i;
    }
    Some((line, u32::try_from(last + 1).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::SourceFile;

    const BASE: &str = "kind: NetworkPolicy\nspec:\n  podSelector:\n    matchLabels:\n      app: order-db\n  ingress:\n  - from:\n    - podSelector: {}\n";

    fn rev(text: &str) -> Revision {
        Revision::new("r", vec![SourceFile::new("p.yaml", text)])
    }

    fn span(line: u32) -> Span {
        Span {
            file: "p.yaml".into(),
            line,
            col: 1,
        }
    }

    #[test]
    fn extents_follow_indentation() {
        assert_eq!(extent(BASE, 3), Some((3, 5)));
        // A block sequence at its key's indentation belongs to the key.
        assert_eq!(extent(BASE, 6), Some((6, 8)));
        assert_eq!(extent(BASE, 7), Some((7, 8)));
        assert_eq!(extent(BASE, 1), Some((1, 1)));
        assert_eq!(extent(BASE, 99), None);
    }

    #[test]
    fn the_changed_line_inside_a_field() {
        let head = BASE.replace("order-db", "orders-db");
        let c = LineChanges::between(&rev(BASE), &rev(&head));
        assert!(c.is_changed("p.yaml", 5, false) && c.is_changed("p.yaml", 5, true));
        assert!(!c.is_changed("p.yaml", 3, false));
        assert_eq!(c.changed_within(&span(3), false), Some(5));
        assert_eq!(c.changed_within(&span(3), true), Some(5));
        // Nothing changed under `ingress:`.
        assert_eq!(c.changed_within(&span(6), false), None);
        // Identical revisions: nothing changed anywhere.
        let same = LineChanges::between(&rev(BASE), &rev(BASE));
        assert_eq!(same.changed_within(&span(3), false), None);
    }

    /// Issue 17: a peer whose `podSelector` was deleted (an AND peer made
    /// a namespace-wide one) has no added line; it is cited at the first
    /// removed line of the peer, in the base.
    #[test]
    fn a_field_changed_only_by_deleted_lines_is_cited_at_the_removed_line() {
        let base = "kind: NetworkPolicy\nspec:\n  ingress:\n  - from:\n    - namespaceSelector: {}\n      podSelector:\n        matchLabels:\n          app: api\n  - from:\n    - podSelector: {}\n";
        let head = base.replace(
            "      podSelector:\n        matchLabels:\n          app: api\n",
            "",
        );
        let c = LineChanges::between(&rev(base), &rev(&head));
        // The head's peer (line 5) and rule (line 4) kept their lines.
        assert_eq!(c.changed_within(&span(5), false), None);
        assert_eq!(c.in_base(&span(5)).map(|s| s.line), Some(5));
        // The second rule moved up three lines.
        assert_eq!(c.in_base(&span(6)).map(|s| s.line), Some(9));
        let within = Scope::Within(span(4));
        assert_eq!(c.removed_in(&span(5), &within).map(|s| s.line), Some(6));
        // The second rule lost nothing.
        assert_eq!(c.removed_in(&span(6), &Scope::Field), None);
        // A line the head added has no base position.
        let added = LineChanges::between(&rev(&head), &rev(base));
        assert_eq!(added.in_base(&span(6)), None);
    }
}
