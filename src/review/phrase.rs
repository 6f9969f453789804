//! Phrases: human text made of plain words, code (names from manifests)
//! and emphasis, rendered per format. Keeping manifest-derived names in
//! code parts lets Markdown put them in code spans, where nothing they
//! contain can act as markup, and keeps our own words free of escapes.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Phrase(pub Vec<Part>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Code(String),
    Strong(String),
}

impl Phrase {
    pub fn new() -> Self {
        Phrase::default()
    }

    pub fn text(mut self, s: impl Into<String>) -> Self {
        self.0.push(Part::Text(s.into()));
        self
    }

    pub fn code(mut self, s: impl Into<String>) -> Self {
        self.0.push(Part::Code(s.into()));
        self
    }

    pub fn strong(mut self, s: impl Into<String>) -> Self {
        self.0.push(Part::Strong(s.into()));
        self
    }

    pub fn append(mut self, other: Phrase) -> Self {
        self.0.extend(other.0);
        self
    }

    /// `a`, `b` and `c` as code, comma-joined.
    pub fn code_list<I, S>(mut self, items: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self = self.text(", ");
            }
            self = self.code(item);
        }
        self
    }

    pub fn plain(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Part::Text(s) | Part::Code(s) | Part::Strong(s) => s.as_str(),
            })
            .collect()
    }
}
