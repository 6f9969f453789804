//! The lines a change traces to, for publishers: review comments sit on
//! them and annotations point at them. Computed from the typed reviews;
//! nothing here is parsed back from a rendered report.

use super::cause;
use super::{EnvironmentReview, Side};
use crate::words::plural;
use std::collections::BTreeMap;

/// Which revision a line belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LineSide {
    /// The base (a line the change removed or that stayed).
    Base,
    /// The head (the pull request's files as they are now).
    Head,
}

/// A line (of `side`) that changed paths trace to, with the number of
/// opened and closed rows it causes. Texts are raw: each publisher escapes
/// them for where they go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponsibleLine {
    /// The file, as the report names it (repository-relative for commits).
    pub file: String,
    pub line: u64,
    pub side: LineSide,
    /// Rows counted per protocol, as the JSON report lists them.
    pub opened: usize,
    pub closed: usize,
    pub environment: Option<String>,
    /// The first cause's sentence and the first row it explains.
    pub text: String,
    pub example: String,
    /// The lines of the object the line is in (first, last), on its side:
    /// when the line is outside the pull request's diff, a review comment
    /// goes on the nearest changed line of this object instead.
    pub object: Option<(u64, u64)>,
    /// For a line the change removed from a field that is still in the
    /// head (a peer deleted from a rule): that field's head line, where an
    /// annotation, which points into the head's files, goes.
    pub head_line: Option<u64>,
}

impl ResponsibleLine {
    /// "opens 2 paths", "closes 1 path".
    pub fn what(&self) -> Vec<String> {
        let mut what = Vec::new();
        if self.opened > 0 {
            what.push(format!("opens {}", plural(self.opened, "path", "paths")));
        }
        if self.closed > 0 {
            what.push(format!("closes {}", plural(self.closed, "path", "paths")));
        }
        what
    }
}

/// A cause's side, file, line and sentence, and the head line of a
/// removed one.
type Sentence = (LineSide, String, u64, String, Option<u64>);

/// Every line of every review that a changed row traces to, in the order
/// of first mention (environments, then opened before closed rows, then
/// each row's causes).
pub fn responsible_lines(envs: &[EnvironmentReview]) -> Vec<ResponsibleLine> {
    let mut out: Vec<ResponsibleLine> = Vec::new();
    let mut index: BTreeMap<(String, u64, LineSide, Option<String>), usize> = BTreeMap::new();
    for r in envs.iter().filter_map(|e| e.review.as_ref()) {
        let d = &r.comparison.diff;
        let starts = [
            object_starts(&r.comparison.base.inventory),
            object_starts(&r.comparison.head.inventory),
        ];
        let sentences: Vec<Option<Sentence>> = d
            .causes
            .iter()
            .map(|c| {
                let loc = cause::location(c)?;
                // A rendered stream's own line is in no file to point at.
                if crate::revision::is_rendered_name(&loc.span.file) {
                    return None;
                }
                let side = if loc.on_base {
                    LineSide::Base
                } else {
                    LineSide::Head
                };
                let head_line = cause::head_location(c).map(|h| u64::from(h.span.line));
                Some((
                    side,
                    loc.span.file.clone(),
                    u64::from(loc.span.line),
                    cause::sentence(c),
                    head_line,
                ))
            })
            .collect();
        for (rows, opened) in [(&d.opened, true), (&d.closed, false)] {
            for row in rows {
                let (src, dst) = (&d.endpoints[row.src].id, &d.endpoints[row.dst].id);
                // One entry per protocol, as the JSON report has them.
                for (protocol, _) in row.conn.iter() {
                    let example = format!("{src} → {dst} {}", protocol.as_str());
                    for &i in row.causes.iter() {
                        let Some(Some((side, file, line, text, head_line))) =
                            sentences.get(i as usize)
                        else {
                            continue;
                        };
                        let key = (file.clone(), *line, *side, r.environment.clone());
                        let at = *index.entry(key).or_insert_with(|| {
                            out.push(ResponsibleLine {
                                file: file.clone(),
                                line: *line,
                                side: *side,
                                opened: 0,
                                closed: 0,
                                environment: r.environment.clone(),
                                text: text.clone(),
                                example: example.clone(),
                                object: object_around(
                                    &starts[usize::from(*side == LineSide::Head)],
                                    file,
                                    *line,
                                ),
                                head_line: *head_line,
                            });
                            out.len() - 1
                        });
                        if opened {
                            out[at].opened += 1;
                        } else {
                            out[at].closed += 1;
                        }
                    }
                }
            }
        }
    }
    out
}

/// The first line of every object of a revision, per file, sorted.
fn object_starts(inv: &crate::manifest::Inventory) -> BTreeMap<&str, Vec<u64>> {
    let spans = inv
        .namespaces
        .iter()
        .filter_map(|n| n.span.as_ref())
        .chain(
            inv.workloads
                .iter()
                .filter(|w| w.representative.is_none())
                .map(|w| &w.span),
        )
        .chain(inv.services.iter().map(|s| &s.span))
        .chain(inv.policies.iter().map(|p| &p.span))
        .chain(inv.admin_policies.iter().map(|p| &p.span));
    let mut out: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for s in spans {
        out.entry(s.file.as_str())
            .or_default()
            .push(u64::from(s.line));
    }
    for v in out.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    out
}

/// The object around `line` of `file`: from its first line to the line
/// before the next object's (documents are written one after another).
fn object_around(starts: &BTreeMap<&str, Vec<u64>>, file: &str, line: u64) -> Option<(u64, u64)> {
    let v = starts.get(file)?;
    let i = v.partition_point(|&s| s <= line);
    let first = *v.get(i.checked_sub(1)?)?;
    let last = v.get(i).map_or(u64::MAX, |next| next - 1);
    Some((first, last))
}

/// How serious an annotation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// A note on a line of the pull request (or on the run, without a file),
/// in plain text: the Action prints it as a workflow command, the App
/// sends it with the check run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    pub file: Option<String>,
    pub line: Option<u64>,
    pub title: String,
    pub message: String,
}

/// A warning on each head-side line a changed path traces to (an
/// annotation points into the pull request's files as they are now; a
/// removed line at the head line of the field it left), then
/// an error per tripped gate, then an error per error that stopped a side
/// of an environment (on its line when it is a head line). `file` maps a
/// report path to the path the annotation names (the Action's working
/// directory prefix).
pub fn annotations(
    envs: &[EnvironmentReview],
    lines: &[ResponsibleLine],
    file: &dyn Fn(&str) -> String,
) -> Vec<Annotation> {
    let mut out: Vec<Annotation> = lines
        .iter()
        .filter_map(|l| match (l.side, l.head_line) {
            (LineSide::Head, _) => Some((l, l.line)),
            (LineSide::Base, Some(h)) => Some((l, h)),
            (LineSide::Base, None) => None,
        })
        .map(|(l, line)| Annotation {
            level: Level::Warning,
            title: format!(
                "reachdiff{}: {}",
                env_note(l.environment.as_deref()),
                l.what().join(", ")
            ),
            message: format!("{}; for example {}", l.text, l.example),
            file: Some(file(&l.file)),
            line: Some(line),
        })
        .collect();
    for e in envs {
        let gates = e.review.iter().flat_map(|r| r.gates.iter().cloned());
        for g in gates.chain(e.incomplete_gate()).filter(|g| !g.passed) {
            let mut message = g.message.clone();
            for v in g.violations.iter().take(5) {
                message.push('\n');
                message.push_str(v);
            }
            if g.violations.len() > 5 {
                message.push_str(&format!("\n… and {} more", g.violations.len() - 5));
            }
            out.push(Annotation {
                level: Level::Error,
                file: None,
                line: None,
                title: format!(
                    "reachdiff gate {}{} tripped",
                    g.name,
                    env_note(e.name.as_deref())
                ),
                message,
            });
        }
    }
    for e in envs {
        for err in &e.errors {
            let on_head_line = err.side == Side::Head && err.line.is_some();
            out.push(Annotation {
                level: Level::Error,
                file: err.file.as_deref().filter(|_| on_head_line).map(file),
                line: err.line.filter(|_| on_head_line).map(u64::from),
                title: format!(
                    "reachdiff{}: the {} could not be analysed",
                    env_note(e.name.as_deref()),
                    err.side.as_str()
                ),
                message: err.to_string(),
            });
        }
    }
    out
}

fn env_note(env: Option<&str>) -> String {
    env.map(|e| format!(" [{e}]")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_object_around_a_line_ends_where_the_next_begins() {
        let starts: BTreeMap<&str, Vec<u64>> = BTreeMap::from([("a.yaml", vec![2, 20, 41])]);
        assert_eq!(object_around(&starts, "a.yaml", 1), None);
        assert_eq!(object_around(&starts, "a.yaml", 2), Some((2, 19)));
        assert_eq!(object_around(&starts, "a.yaml", 19), Some((2, 19)));
        assert_eq!(object_around(&starts, "a.yaml", 20), Some((20, 40)));
        assert_eq!(object_around(&starts, "a.yaml", 90), Some((41, u64::MAX)));
        assert_eq!(object_around(&starts, "b.yaml", 3), None);
    }
}
