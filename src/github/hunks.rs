//! The lines of a pull request's diff a review may comment on, from the
//! patches GitHub gives with the pull request's files.

use super::Side;

/// The lines of one file GitHub lets a review comment on, from its patch:
/// every line of a hunk, on the side(s) it exists on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Commentable {
    pub left: std::collections::BTreeSet<u64>,
    pub right: std::collections::BTreeSet<u64>,
    /// The left lines the patch removes (the rest of `left` is context).
    pub removed: std::collections::BTreeSet<u64>,
}

impl Commentable {
    pub fn contains(&self, side: Side, line: u64) -> bool {
        match side {
            Side::Left => self.left.contains(&line),
            Side::Right => self.right.contains(&line),
        }
    }
}

/// Parses the hunks of a unified-diff patch (as GitHub gives it: no file
/// header, hunks starting `@@ -a,b +c,d @@`).
pub fn commentable_lines(patch: &str) -> Commentable {
    let mut out = Commentable::default();
    let (mut old, mut new) = (0u64, 0u64);
    let mut in_hunk = false;
    for l in patch.lines() {
        if let Some(rest) = l.strip_prefix("@@ ") {
            let mut it = rest.split_whitespace();
            let start = |t: Option<&str>, sign: char| {
                t.and_then(|t| t.strip_prefix(sign))
                    .and_then(|t| t.split(',').next())
                    .and_then(|n| n.parse::<u64>().ok())
            };
            match (start(it.next(), '-'), start(it.next(), '+')) {
                (Some(o), Some(n)) => {
                    (old, new) = (o, n);
                    in_hunk = true;
                }
                _ => in_hunk = false,
            }
            continue;
        }
        if !in_hunk {
            continue;
        }
        match l.chars().next() {
            Some('+') => {
                out.right.insert(new);
                new += 1;
            }
            Some('-') => {
                out.left.insert(old);
                out.removed.insert(old);
                old += 1;
            }
            Some('\\') => {}
            _ => {
                out.left.insert(old);
                out.right.insert(new);
                old += 1;
                new += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks() {
        let p = "@@ -2,4 +2,5 @@ kind: Pod\n metadata:\n-  name: a\n+  name: b\n+  x: y\n   ns: s\n\\ No newline at end of file\n@@ -20 +21 @@\n-q\n+r";
        let c = commentable_lines(p);
        assert_eq!(
            c.left.iter().copied().collect::<Vec<_>>(),
            vec![2, 3, 4, 20]
        );
        assert_eq!(
            c.right.iter().copied().collect::<Vec<_>>(),
            vec![2, 3, 4, 5, 21]
        );
        assert!(c.contains(Side::Right, 4) && !c.contains(Side::Right, 6));
        assert_eq!(c.removed.iter().copied().collect::<Vec<_>>(), vec![3, 20]);
    }
}
