//! The Calico selector language (CA-40…CA-52): a parser with error columns,
//! a canonical AST, an evaluator over one label map and the same expression
//! as bit-set operations over a [`LabelIndex`].
//!
//! Lexical rules and grammar follow libcalico-go's tokenizer and parser as
//! the semantics describe them (CA-41, CA-42): only space and tab separate
//! tokens, `has(`/`all(`/`global(` take no space before `(`, `!` binds to
//! the next primary, `&&` before `||`.

use super::bitset::BitSet;
use super::label_index::LabelIndex;
use super::selector::Labels;
use std::fmt;

/// The label Calico gives every namespaced endpoint and network set
/// (CA-21, CA-28); `global()` is its absence (CA-47).
pub const NAMESPACE_LABEL: &str = "projectcalico.org/namespace";

/// Longest label key the tokenizer accepts (CA-41).
const MAX_KEY: usize = 512;

/// How deeply `!` and parentheses may nest. The parser and every walk of
/// the tree recurse, and a selector is text a pull request controls: a
/// million `(` would overflow the stack. No real selector comes close.
const MAX_DEPTH: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
}

impl StrOp {
    fn holds(self, value: &str, operand: &str) -> bool {
        match self {
            StrOp::Contains => value.contains(operand),
            StrOp::StartsWith => value.starts_with(operand),
            StrOp::EndsWith => value.ends_with(operand),
        }
    }

    fn word(self) -> &'static str {
        match self {
            StrOp::Contains => "contains",
            StrOp::StartsWith => "starts with",
            StrOp::EndsWith => "ends with",
        }
    }
}

/// A selector expression. Built only by [`parse`] or [`Expr::normalized`]
/// forms, so equal meanings written alike compare equal (the diff uses it
/// to recognise unchanged rules).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Expr {
    All,
    Global,
    Has(String),
    /// `k == v` (`negated`: `k != v`, true when `k` is absent, CA-44).
    Eq {
        key: String,
        value: String,
        negated: bool,
    },
    /// `k in {..}` (`negated`: `not in`); values sorted and deduplicated
    /// (CA-48).
    In {
        key: String,
        values: Vec<String>,
        negated: bool,
    },
    Str {
        key: String,
        op: StrOp,
        operand: String,
    },
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

/// A syntax error at a 1-based character column of the selector (CA-50).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for SelectorError {}

/// Parses a selector; empty or blank means `all()` (CA-46).
pub fn parse(text: &str) -> Result<Expr, SelectorError> {
    let mut p = Parser {
        text,
        pos: 0,
        depth: 0,
    };
    p.skip_blanks();
    if p.at_end() {
        return Ok(Expr::All);
    }
    let e = p.or()?;
    p.skip_blanks();
    if !p.at_end() {
        return Err(p.error("unexpected text after the expression"));
    }
    Ok(e.normalized())
}

struct Parser<'a> {
    text: &'a str,
    /// Byte offset into `text`.
    pos: usize,
    /// `!` and `(` open around the current position.
    depth: usize,
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// Enters one level of `!` or parentheses.
    fn descend(&mut self) -> Result<(), SelectorError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!(
                "nested more than {MAX_DEPTH} levels deep (`!` and parentheses)"
            )));
        }
        Ok(())
    }

    fn error(&self, message: &str) -> SelectorError {
        SelectorError {
            column: self.text[..self.pos].chars().count() + 1,
            message: message.to_string(),
        }
    }

    /// Only space and tab separate tokens (CA-41): a newline is an error
    /// where the next token is expected.
    fn skip_blanks(&mut self) {
        let n = self.rest().len() - self.rest().trim_start_matches([' ', '\t']).len();
        self.pos += n;
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_blanks();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    /// A keyword that must end at a word boundary (`in`, `contains`, …).
    fn eat_word(&mut self, word: &str) -> bool {
        self.skip_blanks();
        let rest = self.rest();
        let bounded = rest
            .strip_prefix(word)
            .is_some_and(|after| !after.starts_with(is_key_char));
        if bounded {
            self.pos += word.len();
        }
        bounded
    }

    /// `first` then optional blanks then `second` at a word boundary:
    /// `not in`/`notin`, `starts with`/`startswith` (CA-49).
    fn eat_two_words(&mut self, first: &str, second: &str) -> bool {
        let start = self.pos;
        self.skip_blanks();
        if self.rest().starts_with(first) {
            self.pos += first.len();
            if self.eat_word(second) {
                return true;
            }
        }
        self.pos = start;
        false
    }

    fn or(&mut self) -> Result<Expr, SelectorError> {
        let mut items = vec![self.and()?];
        while self.eat("||") {
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, SelectorError> {
        let mut items = vec![self.unary()?];
        while self.eat("&&") {
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    /// `!` applies to the next primary only (CA-45).
    fn unary(&mut self) -> Result<Expr, SelectorError> {
        self.skip_blanks();
        if self.rest().starts_with('!') && !self.rest().starts_with("!=") {
            self.pos += 1;
            self.descend()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SelectorError> {
        self.skip_blanks();
        if self.at_end() {
            return Err(self.error("expected an expression"));
        }
        if self.eat("(") {
            self.descend()?;
            let e = self.or()?;
            if !self.eat(")") {
                return Err(self.error("expected ')'"));
            }
            self.depth -= 1;
            return Ok(e);
        }
        for (word, make) in [("all(", Expr::All), ("global(", Expr::Global)] {
            if self.rest().starts_with(word) {
                self.pos += word.len();
                if !self.eat(")") {
                    return Err(self.error("expected ')'"));
                }
                return Ok(make);
            }
        }
        if self.rest().starts_with("has(") {
            self.pos += "has(".len();
            let key = self.key()?;
            if !self.eat(")") {
                return Err(self.error("expected ')' after the label in has()"));
            }
            return Ok(Expr::Has(key));
        }
        let key = self.key()?;
        self.comparison(key)
    }

    fn key(&mut self) -> Result<String, SelectorError> {
        self.skip_blanks();
        let len = self.rest().len() - self.rest().trim_start_matches(is_key_char).len();
        if len == 0 {
            return Err(self.error("expected a label key"));
        }
        if len > MAX_KEY {
            return Err(self.error("label key longer than 512 characters"));
        }
        let key = self.rest()[..len].to_string();
        self.pos += len;
        Ok(key)
    }

    fn comparison(&mut self, key: String) -> Result<Expr, SelectorError> {
        for (token, negated) in [("==", false), ("!=", true)] {
            if self.eat(token) {
                let value = self.string()?;
                return Ok(Expr::Eq {
                    key,
                    value,
                    negated,
                });
            }
        }
        if self.eat_word("in") {
            let values = self.set()?;
            return Ok(Expr::In {
                key,
                values,
                negated: false,
            });
        }
        if self.eat_two_words("not", "in") {
            let values = self.set()?;
            return Ok(Expr::In {
                key,
                values,
                negated: true,
            });
        }
        let ops = [
            (("contains", ""), StrOp::Contains),
            (("starts", "with"), StrOp::StartsWith),
            (("ends", "with"), StrOp::EndsWith),
        ];
        for ((first, second), op) in ops {
            let found = if second.is_empty() {
                self.eat_word(first)
            } else {
                self.eat_two_words(first, second)
            };
            if found {
                let operand = self.string()?;
                return Ok(Expr::Str { key, op, operand });
            }
        }
        self.skip_blanks();
        Err(self
            .error("expected an operator (==, !=, in, not in, contains, starts with, ends with)"))
    }

    /// `'…'` or `"…"`, no escapes (CA-41).
    fn string(&mut self) -> Result<String, SelectorError> {
        self.skip_blanks();
        let Some(quote) = self
            .rest()
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')
        else {
            return Err(self.error("expected a quoted string"));
        };
        let body = &self.rest()[1..];
        let Some(end) = body.find(quote) else {
            return Err(self.error("unterminated string"));
        };
        let value = body[..end].to_string();
        self.pos += end + 2;
        Ok(value)
    }

    /// `{ 'a', "b", }`: a trailing comma and the empty set are legal (CA-42).
    fn set(&mut self) -> Result<Vec<String>, SelectorError> {
        if !self.eat("{") {
            return Err(self.error("expected '{'"));
        }
        let mut values = Vec::new();
        loop {
            if self.eat("}") {
                return Ok(values);
            }
            values.push(self.string()?);
            if !self.eat(",") {
                if self.eat("}") {
                    return Ok(values);
                }
                return Err(self.error("expected ',' or '}'"));
            }
        }
    }
}

impl Expr {
    /// The canonical form: `!!e` collapsed (CA-45), nested `&&`/`||`
    /// flattened, operands and set values sorted and deduplicated. Meaning is
    /// unchanged; only the spelling is.
    pub fn normalized(self) -> Expr {
        match self {
            Expr::Not(inner) => match inner.normalized() {
                Expr::Not(e) => *e,
                e => Expr::Not(Box::new(e)),
            },
            Expr::And(items) => Expr::flat(items, true),
            Expr::Or(items) => Expr::flat(items, false),
            Expr::In {
                key,
                mut values,
                negated,
            } => {
                values.sort();
                values.dedup();
                Expr::In {
                    key,
                    values,
                    negated,
                }
            }
            e => e,
        }
    }

    fn flat(items: Vec<Expr>, and: bool) -> Expr {
        let mut out = Vec::new();
        for e in items {
            match (e.normalized(), and) {
                (Expr::And(inner), true) | (Expr::Or(inner), false) => out.extend(inner),
                (e, _) => out.push(e),
            }
        }
        out.sort();
        out.dedup();
        match (out.len(), and) {
            (1, _) => out.remove(0),
            (_, true) => Expr::And(out),
            (_, false) => Expr::Or(out),
        }
    }

    /// Whether an object with these Calico labels satisfies the expression
    /// (CA-44).
    pub fn matches(&self, labels: &Labels) -> bool {
        match self {
            Expr::All => true,
            Expr::Global => !labels.contains_key(NAMESPACE_LABEL),
            Expr::Has(k) => labels.contains_key(k),
            Expr::Eq {
                key,
                value,
                negated,
            } => (labels.get(key) == Some(value)) != *negated,
            Expr::In {
                key,
                values,
                negated,
            } => labels.get(key).is_some_and(|v| values.contains(v)) != *negated,
            Expr::Str { key, op, operand } => labels.get(key).is_some_and(|v| op.holds(v, operand)),
            Expr::Not(e) => !e.matches(labels),
            Expr::And(items) => items.iter().all(|e| e.matches(labels)),
            Expr::Or(items) => items.iter().any(|e| e.matches(labels)),
        }
    }

    /// The same expression with every label key prefixed, as Calico
    /// evaluates a namespaceSelector on `pcns.*` and a service-account
    /// selector on `pcsa.*` labels (CA-22, CA-23). `all()` and `global()`
    /// keep their meaning; the caller rewrites them where Calico does
    /// (CA-11, CA-47).
    pub fn prefixed(&self, prefix: &str) -> Expr {
        let p = |k: &String| format!("{prefix}{k}");
        match self {
            Expr::All | Expr::Global => self.clone(),
            Expr::Has(k) => Expr::Has(p(k)),
            Expr::Eq {
                key,
                value,
                negated,
            } => Expr::Eq {
                key: p(key),
                value: value.clone(),
                negated: *negated,
            },
            Expr::In {
                key,
                values,
                negated,
            } => Expr::In {
                key: p(key),
                values: values.clone(),
                negated: *negated,
            },
            Expr::Str { key, op, operand } => Expr::Str {
                key: p(key),
                op: *op,
                operand: operand.clone(),
            },
            Expr::Not(e) => Expr::Not(Box::new(e.prefixed(prefix))),
            Expr::And(items) => Expr::And(items.iter().map(|e| e.prefixed(prefix)).collect()),
            Expr::Or(items) => Expr::Or(items.iter().map(|e| e.prefixed(prefix)).collect()),
        }
    }

    /// Whether `global()` occurs anywhere (allowed only alone in a rule
    /// namespaceSelector, CA-47).
    pub fn mentions_global(&self) -> bool {
        match self {
            Expr::Global => true,
            Expr::Not(e) => e.mentions_global(),
            Expr::And(items) | Expr::Or(items) => items.iter().any(Expr::mentions_global),
            _ => false,
        }
    }

    /// Label keys the expression reads (for typo and spoofing warnings).
    pub fn keys(&self, out: &mut Vec<String>) {
        match self {
            Expr::All | Expr::Global => {}
            Expr::Has(key)
            | Expr::Eq { key, .. }
            | Expr::In { key, .. }
            | Expr::Str { key, .. } => out.push(key.clone()),
            Expr::Not(e) => e.keys(out),
            Expr::And(items) | Expr::Or(items) => items.iter().for_each(|e| e.keys(out)),
        }
    }
}

impl LabelIndex {
    /// The objects whose labels satisfy a Calico selector: the evaluator of
    /// [`Expr::matches`] as unions, intersections and complements of the
    /// index's bit sets.
    pub fn select_calico(&self, e: &Expr) -> BitSet {
        match e {
            Expr::All => BitSet::full(self.len()),
            Expr::Global => self.with_key(NAMESPACE_LABEL).complement(),
            Expr::Has(k) => self.with_key(k),
            Expr::Eq {
                key,
                value,
                negated,
            } => negate(self.with_values(key, std::slice::from_ref(value)), *negated),
            Expr::In {
                key,
                values,
                negated,
            } => negate(self.with_values(key, values), *negated),
            Expr::Str { key, op, operand } => self.with_value_where(key, |v| op.holds(v, operand)),
            Expr::Not(e) => self.select_calico(e).complement(),
            Expr::And(items) => {
                let mut acc = BitSet::full(self.len());
                for e in items {
                    acc.intersect_with(&self.select_calico(e));
                }
                acc
            }
            Expr::Or(items) => {
                let mut acc = BitSet::new(self.len());
                for e in items {
                    acc.union_with(&self.select_calico(e));
                }
                acc
            }
        }
    }
}

fn negate(set: BitSet, negated: bool) -> BitSet {
    if negated { set.complement() } else { set }
}

/// Quotes a value the way the tokenizer reads it back: single quotes unless
/// the value holds one (a value cannot hold both, CA-41).
fn quoted(value: &str) -> String {
    if value.contains('\'') {
        format!("\"{value}\"")
    } else {
        format!("'{value}'")
    }
}

impl Expr {
    fn write_operand(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(_) | Expr::Or(_) => write!(f, "({self})"),
            e => write!(f, "{e}"),
        }
    }
}

impl fmt::Display for Expr {
    /// Calico syntax that [`parse`] reads back to the same expression.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::All => f.write_str("all()"),
            Expr::Global => f.write_str("global()"),
            Expr::Has(k) => write!(f, "has({k})"),
            Expr::Eq {
                key,
                value,
                negated,
            } => {
                let op = if *negated { "!=" } else { "==" };
                write!(f, "{key} {op} {}", quoted(value))
            }
            Expr::In {
                key,
                values,
                negated,
            } => {
                let op = if *negated { "not in" } else { "in" };
                let items: Vec<String> = values.iter().map(|v| quoted(v)).collect();
                write!(f, "{key} {op} {{{}}}", items.join(", "))
            }
            Expr::Str { key, op, operand } => write!(f, "{key} {} {}", op.word(), quoted(operand)),
            Expr::Not(e) => {
                f.write_str("!")?;
                e.write_operand(f)
            }
            Expr::And(items) | Expr::Or(items) => {
                let sep = if matches!(self, Expr::And(_)) {
                    " && "
                } else {
                    " || "
                };
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    e.write_operand(f)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
#[path = "calico_selector_tests.rs"]
mod tests;
