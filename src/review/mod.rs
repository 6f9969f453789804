//! The review of a change, before any format: the reader's view (rows
//! folded into groups, endpoint sets described in words), the phrases that
//! explain causes, and the gates. Renderers in [`crate::report`] turn a
//! [`Review`] into Markdown, text or JSON; front ends take counts, gate
//! outcomes and responsible lines from it directly, never from rendered
//! output.

pub mod cause;
pub mod gate;
pub mod lines;
pub mod phrase;
pub mod view;

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
}

impl Reviews for [Review] {
    fn tripped(&self) -> bool {
        self.iter().any(Review::tripped)
    }

    fn changed(&self) -> bool {
        self.iter().any(Review::changed)
    }

    fn rows(&self) -> (usize, usize) {
        self.iter().fold((0, 0), |(o, c), r| {
            let (ro, rc) = r.rows();
            (o + ro, c + rc)
        })
    }

    fn exposures(&self) -> usize {
        self.iter().map(|r| r.view.exposures.len()).sum()
    }
}
