//! Renderers: one per output format, each returning a `String`; front ends
//! decide where the bytes go.

pub mod escape;
pub mod json;
pub mod lint;
pub mod markdown;
pub mod style;
pub mod text;

use crate::review::Review;
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
        markdown::MarkdownOptions {
            base_url: self.base_url.clone(),
            head_url: self.head_url.clone(),
            base_label: self.base_label.clone(),
            head_label: self.head_label.clone(),
            budget: self.budget / share.max(1),
            full_report_hint: self.full_report_hint.clone(),
            title,
            config: self.config.clone(),
            ..Default::default()
        }
    }
}

/// Whether an environment gets a section of its own: its reachability
/// changed or one of its gates tripped.
pub(crate) fn worth_a_section(r: &Review) -> bool {
    r.changed() || r.tripped()
}

/// The diff report of one change: the plain document for one cluster, a
/// document of environments when the repository defines them.
pub fn render_diff(reviews: &[Review], format: Format, p: &Presentation) -> String {
    let several = reviews.len() != 1 || reviews.iter().any(|r| r.environment.is_some());
    match (several, format, reviews.first()) {
        (false, Format::Json, Some(r)) => json::render_review(r),
        (false, Format::Markdown, Some(r)) => markdown::render_review(r, &p.markdown(None, 1)),
        (false, Format::Text, Some(r)) => text::render_review(r, p),
        (_, Format::Json, _) => json::render_environments(reviews),
        (_, Format::Markdown, _) => markdown::render_environments(reviews, p),
        (_, Format::Text, _) => text::render_environments(reviews, p),
    }
}
