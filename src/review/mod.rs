//! The review of a change, before any format: the reader's view (rows
//! folded into groups, endpoint sets described in words), the phrases that
//! explain causes, and the gates. Renderers in [`crate::report`] turn a
//! [`Review`] into Markdown, text or JSON; front ends take counts, gate
//! outcomes and responsible lines from it directly, never from rendered
//! output.

pub mod cause;
pub mod findings;
pub mod gate;
pub mod lines;
pub mod phrase;
pub mod pods;
pub mod policies;
pub mod view;
pub mod why_not;

use crate::comparison::Comparison;
use gate::{FailOn, GateOutcome, RulesFile};
use view::DiffView;

/// The gates a change must pass: `--fail-on`, `--strict`, a rules file
/// (configuration's `gates:` and the file given, joined).
#[derive(Clone, Debug, Default)]
pub struct GateSettings {
    pub fail_on: Vec<FailOn>,
    pub strict: bool,
    pub rules: Option<RulesFile>,
}

/// One cluster's comparison, with its view and the outcome of its gates.
#[derive(Debug)]
pub struct Review {
    /// The environment of `.reachdiff.yaml` (none: the one cluster).
    pub environment: Option<String>,
    pub comparison: Comparison,
    pub view: DiffView,
    pub gates: Vec<GateOutcome>,
}

impl Review {
    /// Builds the view and evaluates the gates.
    pub fn new(
        environment: Option<String>,
        comparison: Comparison,
        gates: &GateSettings,
    ) -> Review {
        let view = view::build(&comparison);
        let mut outcomes = gate::evaluate(&comparison, &view, &gates.fail_on, gates.rules.as_ref());
        if gates.strict {
            outcomes.push(gate::strict_gate(&comparison, "strict"));
        }
        Review {
            environment,
            comparison,
            view,
            gates: outcomes,
        }
    }

    /// Whether reachability changed.
    pub fn changed(&self) -> bool {
        let d = &self.comparison.diff;
        !d.opened.is_empty() || !d.closed.is_empty()
    }

    /// Whether a gate tripped.
    pub fn tripped(&self) -> bool {
        self.gates.iter().any(|g| !g.passed)
    }

    /// Opened and closed rows (a row: one source, one destination).
    pub fn rows(&self) -> (usize, usize) {
        let d = &self.comparison.diff;
        (d.opened.len(), d.closed.len())
    }
}

/// Which side of a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    Base,
    Head,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Base => "base",
            Side::Head => "head",
        }
    }
}

/// Something that stopped one side of an environment from being analysed:
/// a file that could not be read or rendered, or an error in a manifest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SideError {
    pub side: Side,
    /// The file or directory, repository-relative, when there is one.
    pub file: Option<String>,
    pub line: Option<u32>,
    pub col: Option<u32>,
    /// The revision, for a directory that could not be read or rendered.
    pub revision: Option<String>,
    /// The message (for a render, the tool's own), without the revision,
    /// so the same problem on both sides reads the same.
    pub message: String,
}

impl std::fmt::Display for SideError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, self.line, self.col) {
            (Some(file), Some(line), Some(col)) => write!(f, "{file}:{line}:{col}")?,
            (Some(file), Some(line), None) => write!(f, "{file}:{line}")?,
            (Some(file), None, _) => write!(f, "{file}")?,
            (None, _, _) => {}
        }
        match (&self.revision, &self.file) {
            (Some(rev), Some(_)) => write!(f, " at {rev}: ")?,
            (Some(rev), None) => write!(f, "{rev}: ")?,
            (None, Some(_)) => f.write_str(": ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

/// How far an environment could be analysed (the contract's `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Both sides analysed.
    Ok,
    /// The head could not be analysed: no report, the built-in gate
    /// `analysis-incomplete` trips.
    HeadFailed,
    /// The base could not be analysed: the head is compared against an
    /// empty cluster, so every head row counts as opened.
    BaseFailed,
    /// Neither side could be analysed.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::HeadFailed => "head-failed",
            Status::BaseFailed => "base-failed",
            Status::Failed => "failed",
        }
    }
}

/// The name of the built-in gate a head that cannot be analysed trips.
pub const ANALYSIS_INCOMPLETE: &str = "analysis-incomplete";

/// One environment of a change: its review, or what stopped it.
#[derive(Debug)]
pub struct EnvironmentReview {
    /// The environment (none: the one cluster of a repository without
    /// environments, or of two folders).
    pub name: Option<String>,
    /// Why it is an environment (configured, or what discovery found).
    pub why: Option<String>,
    pub status: Status,
    /// Every error of both sides, base first.
    pub errors: Vec<SideError>,
    /// Absent when the head could not be analysed.
    pub review: Option<Review>,
}

impl EnvironmentReview {
    /// An environment whose both sides were analysed.
    pub fn analysed(name: Option<String>, why: Option<String>, review: Review) -> Self {
        EnvironmentReview {
            name,
            why,
            status: Status::Ok,
            errors: Vec::new(),
            review: Some(review),
        }
    }

    /// Whether both sides failed with the very same errors: the change did
    /// not touch them, so they do not trip the gate by themselves.
    pub fn failed_alike(&self) -> bool {
        if self.status != Status::Failed {
            return false;
        }
        let of = |side: Side| -> Vec<(&Option<String>, Option<u32>, &str)> {
            let mut v: Vec<_> = self
                .errors
                .iter()
                .filter(|e| e.side == side)
                .map(|e| (&e.file, e.line, e.message.as_str()))
                .collect();
            v.sort();
            v
        };
        of(Side::Base) == of(Side::Head)
    }

    /// The built-in gate `analysis-incomplete`, when this environment has
    /// one: tripped when the head could not be analysed (unless both sides
    /// failed alike, which passes with a warning).
    pub fn incomplete_gate(&self) -> Option<GateOutcome> {
        let head_errors = self.errors.iter().filter(|e| e.side == Side::Head).count();
        match self.status {
            Status::Ok | Status::BaseFailed => None,
            Status::Failed if self.failed_alike() => Some(GateOutcome {
                name: ANALYSIS_INCOMPLETE.into(),
                passed: true,
                message: format!(
                    "neither side could be analysed, with the same {} on both: this change did not cause them",
                    crate::words::plural(head_errors, "error", "errors")
                ),
                violations: Vec::new(),
            }),
            Status::HeadFailed | Status::Failed => Some(GateOutcome {
                name: ANALYSIS_INCOMPLETE.into(),
                passed: false,
                message: format!(
                    "the head could not be analysed ({})",
                    crate::words::plural(head_errors, "error", "errors")
                ),
                violations: Vec::new(),
            }),
        }
    }

    /// Whether a gate of this environment tripped (the built-in one
    /// included).
    pub fn tripped(&self) -> bool {
        self.review.as_ref().is_some_and(Review::tripped)
            || self.incomplete_gate().is_some_and(|g| !g.passed)
    }

    pub fn changed(&self) -> bool {
        self.review.as_ref().is_some_and(Review::changed)
    }
}

/// The reviews of one change, one per environment.
pub trait Reviews {
    /// Whether any gate of any environment tripped.
    fn tripped(&self) -> bool;
    /// Whether any environment's reachability changed.
    fn changed(&self) -> bool;
    /// Opened and closed rows of all environments.
    fn rows(&self) -> (usize, usize);
    /// New exposures of all environments.
    fn exposures(&self) -> usize;
    /// The reviews of the environments whose head was analysed.
    fn reviews(&self) -> Vec<&Review>;
}

impl Reviews for [EnvironmentReview] {
    fn tripped(&self) -> bool {
        self.iter().any(EnvironmentReview::tripped)
    }

    fn changed(&self) -> bool {
        self.iter().any(EnvironmentReview::changed)
    }

    fn rows(&self) -> (usize, usize) {
        self.reviews().iter().fold((0, 0), |(o, c), r| {
            let (ro, rc) = r.rows();
            (o + ro, c + rc)
        })
    }

    fn exposures(&self) -> usize {
        self.reviews().iter().map(|r| r.view.exposures.len()).sum()
    }

    fn reviews(&self) -> Vec<&Review> {
        self.iter().filter_map(|e| e.review.as_ref()).collect()
    }
}
