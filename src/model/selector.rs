//! Kubernetes label selectors (NP-10): matchLabels and matchExpressions, ANDed.

use std::collections::BTreeMap;
use std::fmt;

pub type Labels = BTreeMap<String, String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Operator {
    /// Exact, case-sensitive names (E-15).
    pub fn parse(s: &str) -> Option<Operator> {
        match s {
            "In" => Some(Operator::In),
            "NotIn" => Some(Operator::NotIn),
            "Exists" => Some(Operator::Exists),
            "DoesNotExist" => Some(Operator::DoesNotExist),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Requirement {
    pub key: String,
    pub op: Operator,
    /// Sorted and deduplicated, so equal requirements compare equal.
    pub values: Vec<String>,
}

impl Requirement {
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match self.op {
            Operator::In => value.is_some_and(|v| self.values.binary_search(v).is_ok()),
            Operator::NotIn => value.is_none_or(|v| self.values.binary_search(v).is_err()),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

/// A canonical selector: requirements sorted, `matchLabels` folded into `In`
/// requirements. Two selectors with the same meaning by construction compare
/// equal, which the diff uses to recognise unchanged rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Selector {
    pub requirements: Vec<Requirement>,
}

impl Selector {
    pub fn everything() -> Self {
        Selector::default()
    }

    pub fn new(mut requirements: Vec<Requirement>) -> Self {
        for r in &mut requirements {
            r.values.sort();
            r.values.dedup();
        }
        requirements.sort();
        requirements.dedup();
        Selector { requirements }
    }

    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Keys the selector mentions (for warnings about controller-added labels).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.requirements.iter().map(|r| r.key.as_str())
    }

    /// When the selector is exactly `kubernetes.io/metadata.name In [one]`.
    pub fn single_namespace_name(&self) -> Option<&str> {
        match self.requirements.as_slice() {
            [r] if r.key == NAMESPACE_NAME_LABEL && r.op == Operator::In && r.values.len() == 1 => {
                Some(&r.values[0])
            }
            _ => None,
        }
    }
}

pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

impl fmt::Display for Selector {
    /// Compact, kubectl-like: `app=web,tier in (a,b),!legacy`; `{}` for everything.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.requirements.is_empty() {
            return f.write_str("{}");
        }
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match r.op {
                Operator::In if r.values.len() == 1 => write!(f, "{}={}", r.key, r.values[0])?,
                Operator::In => write!(f, "{} in ({})", r.key, r.values.join(","))?,
                Operator::NotIn => write!(f, "{} notin ({})", r.key, r.values.join(","))?,
                Operator::Exists => write!(f, "{}", r.key)?,
                Operator::DoesNotExist => write!(f, "!{}", r.key)?,
            }
        }
        Ok(())
    }
}

/// Syntax of label keys and values as the API server validates them (NP-10).
pub fn valid_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() || p.len() > 253 || !valid_dns_subdomain(p) {
            return false;
        }
    }
    !name.is_empty() && name.len() <= 63 && valid_label_name_chars(name)
}

pub fn valid_label_value(value: &str) -> bool {
    value.is_empty() || (value.len() <= 63 && valid_label_name_chars(value))
}

fn valid_label_name_chars(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    b.first().copied().is_some_and(alnum)
        && b.last().copied().is_some_and(alnum)
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
}

fn valid_dns_subdomain(s: &str) -> bool {
    s.split('.').all(|part| {
        let b = part.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b[0].is_ascii_lowercase() | b[0].is_ascii_digit()
            && b[b.len() - 1].is_ascii_lowercase() | b[b.len() - 1].is_ascii_digit()
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req(key: &str, op: Operator, values: &[&str]) -> Requirement {
        Requirement {
            key: key.into(),
            op,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn e14_notin_and_doesnotexist_match_missing_keys() {
        let pod = labels(&[("app", "web")]);
        assert!(Selector::new(vec![req("tier", Operator::NotIn, &["frontend"])]).matches(&pod));
        assert!(Selector::new(vec![req("tier", Operator::DoesNotExist, &[])]).matches(&pod));
        assert!(!Selector::new(vec![req("tier", Operator::In, &["frontend"])]).matches(&pod));
        assert!(!Selector::new(vec![req("tier", Operator::Exists, &[])]).matches(&pod));
        let fe = labels(&[("tier", "frontend")]);
        assert!(!Selector::new(vec![req("tier", Operator::NotIn, &["frontend"])]).matches(&fe));
    }

    #[test]
    fn empty_selector_matches_everything_and_values_match_literally() {
        assert!(Selector::everything().matches(&labels(&[])));
        let s = Selector::new(vec![req("k", Operator::In, &[""])]);
        assert!(s.matches(&labels(&[("k", "")])));
        assert!(!s.matches(&labels(&[])));
        assert!(!s.matches(&labels(&[("k", "x")])));
    }

    #[test]
    fn requirements_are_anded() {
        let s = Selector::new(vec![
            req("a", Operator::In, &["1"]),
            req("b", Operator::Exists, &[]),
        ]);
        assert!(s.matches(&labels(&[("a", "1"), ("b", "")])));
        assert!(!s.matches(&labels(&[("a", "1")])));
    }

    #[test]
    fn canonical_form_ignores_order() {
        let a = Selector::new(vec![
            req("b", Operator::In, &["y", "x"]),
            req("a", Operator::Exists, &[]),
        ]);
        let b = Selector::new(vec![
            req("a", Operator::Exists, &[]),
            req("b", Operator::In, &["x", "y", "x"]),
        ]);
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "a,b in (x,y)");
    }

    #[test]
    fn label_syntax() {
        assert!(valid_label_key("app"));
        assert!(valid_label_key("kubernetes.io/metadata.name"));
        assert!(valid_label_key("app.kubernetes.io/name"));
        assert!(!valid_label_key("-app"));
        assert!(!valid_label_key("/app"));
        assert!(!valid_label_key("Example.com/app"));
        assert!(!valid_label_key(&"a".repeat(64)));
        assert!(valid_label_value(""));
        assert!(valid_label_value("v1.2_3-x"));
        assert!(!valid_label_value("a b"));
        assert!(!valid_label_value("-x"));
    }
}
