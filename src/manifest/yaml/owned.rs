//! An owned tree of one document, for code that keeps nodes after parsing
//! or walks two trees side by side (the origin map of rendered objects,
//! `source::origin`). Aliases are copied out here, so only small, trusted
//! files should take this form; the loader reads the arena ([`super::Node`]).

pub use super::{Limits, Pos, YamlError};

/// One document, owned.
#[derive(Debug)]
pub struct Document {
    pub root: Node,
}

/// Every document of `text` as owned trees, with the positions where a tab
/// inside a flow collection had to be accepted. The same limits as
/// [`super::parse_each`] apply while parsing.
pub fn parse(text: &str, limits: &Limits) -> Result<(Vec<Document>, Vec<Pos>), YamlError> {
    let mut docs = Vec::new();
    let mut keep = |f: super::Feed<'_>| match f {
        super::Feed::Document(d) => docs.push(Document {
            root: Node::from(d.root()),
        }),
        super::Feed::Restart => docs.clear(),
    };
    let fixes = super::parse_each(text, limits, &mut keep)?;
    Ok((docs, fixes))
}

impl From<super::Node<'_>> for Node {
    fn from(n: super::Node<'_>) -> Node {
        // Depth is bounded for the expanded tree (Limits::max_depth).
        let value = match n.value() {
            super::Value::Null => Value::Null,
            super::Value::Bool(b) => Value::Bool(b),
            super::Value::Int(i) => Value::Int(i),
            super::Value::Float(f) => Value::Float(f),
            super::Value::Str { text, plain } => Value::Str {
                text: text.to_string(),
                plain,
            },
            super::Value::Seq(items) => Value::Seq(items.iter().map(Node::from).collect()),
            super::Value::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                text: k.text.to_string(),
                                pos: k.pos,
                            },
                            Node::from(v),
                        )
                    })
                    .collect(),
            ),
        };
        Node { value, pos: n.pos }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string; `plain` when it was written without quotes (E-37 warnings).
    Str {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Entries in document order; keys are unique.
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub text: String,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A present, non-null field.
    pub fn field(&self, key: &str) -> Option<&Node> {
        self.get(key).filter(|n| !n.is_null())
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn entries(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(e) => Some(e),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(v) => Some(v),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str { .. } => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }
}
