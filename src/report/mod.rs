//! Renderers: one per output format, each returning a `String`; front ends
//! decide where the bytes go.

pub mod escape;
pub mod json;
pub mod lint;
pub mod markdown;
pub mod reach;
pub mod style;
pub mod text;

use crate::review::{EnvironmentReview, Status};
use style::Style;

/// The formats of the diff report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    /// The pull-request comment.
    Markdown,
    Json,
}

/// How a diff report is presented: the sides' names and links, the
/// Markdown budget, colours.
#[derive(Clone, Debug)]
pub struct Presentation {
    /// The sides as a reader knows them (`main (1a2b…)`, a folder).
    pub base_label: String,
    pub head_label: String,
    /// URL prefixes for links to files.
    pub base_url: Option<String>,
    pub head_url: Option<String>,
    /// The largest Markdown document, in characters (shared between
    /// environments).
    pub budget: usize,
    /// Where the full report is, said when the Markdown had to be cut.
    pub full_report_hint: Option<String>,
    /// Colours in the text format.
    pub style: Style,
    /// Where the configuration came from (repositories), for the footer.
    pub config: Option<String>,
    /// What environment discovery saw and left out, one line each.
    pub environment_notes: Vec<String>,
    /// The complete Markdown report (job summary, check run) rather than
    /// the comment (see `MarkdownOptions::complete`).
    pub complete: bool,
}

impl Default for Presentation {
    fn default() -> Self {
        Presentation {
            base_label: "base".into(),
            head_label: "head".into(),
            base_url: None,
            head_url: None,
            budget: markdown::DEFAULT_BUDGET,
            full_report_hint: None,
            style: Style::default(),
            config: None,
            environment_notes: Vec::new(),
            complete: false,
        }
    }
}

impl Presentation {
    /// Markdown options for one review (`title`: an environment's name;
    /// `share`: how many sections split the budget).
    pub(crate) fn markdown(
        &self,
        title: Option<String>,
        share: usize,
    ) -> markdown::MarkdownOptions {
        self.markdown_with(title, share, None)
    }

    /// As [`Self::markdown`], with a notice (Markdown) under the heading.
    pub(crate) fn markdown_with(
        &self,
        title: Option<String>,
        share: usize,
        notice: Option<String>,
    ) -> markdown::MarkdownOptions {
        markdown::MarkdownOptions {
            base_url: self.base_url.clone(),
            head_url: self.head_url.clone(),
            base_label: self.base_label.clone(),
            head_label: self.head_label.clone(),
            budget: self.budget / share.max(1),
            full_report_hint: self.full_report_hint.clone(),
            title,
            notice,
            config: self.config.clone(),
            complete: self.complete,
            ..Default::default()
        }
    }
}

/// Whether an environment gets a section of its own: it could not be
/// fully analysed, its reachability changed or one of its gates tripped.
pub(crate) fn worth_a_section(e: &EnvironmentReview) -> bool {
    e.status != Status::Ok || e.changed() || e.tripped()
}

/// An environment's name as reports show it.
pub(crate) fn env_name(e: &EnvironmentReview) -> String {
    e.name.clone().unwrap_or_default()
}

/// The diff report of one change: the plain document for one cluster, a
/// document of environments when the repository has several (configured
/// or discovered) or when a side could not be analysed.
pub fn render_diff(envs: &[EnvironmentReview], format: Format, p: &Presentation) -> String {
    let single = match envs {
        [e] if e.name.is_none() && e.status == Status::Ok => e.review.as_ref(),
        _ => None,
    };
    match (single, format) {
        (Some(r), Format::Json) => json::render_review(r),
        (Some(r), Format::Markdown) => markdown::render_review(r, &p.markdown(None, 1)),
        (Some(r), Format::Text) => text::render_review(r, p),
        (None, Format::Json) => json::render_environments(envs),
        (None, Format::Markdown) => markdown::render_environments(envs, p),
        (None, Format::Text) => text::render_environments(envs, p),
    }
}
