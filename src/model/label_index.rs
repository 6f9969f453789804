//! An inverted index from labels to the objects carrying them, so a
//! selector over thousands of objects is a few bit-set operations instead
//! of a map lookup per object and requirement.

use super::bitset::BitSet;
use super::selector::{Labels, Operator, Selector};
use std::collections::HashMap;

pub struct LabelIndex {
    len: usize,
    // Lookup-only maps (iterated only to union into a bit set), so hash
    // order cannot leak out.
    by_pair: HashMap<(String, String), Vec<usize>>,
    by_key: HashMap<String, Vec<usize>>,
}

impl LabelIndex {
    /// Indexes objects `0..n` by their labels.
    pub fn new<'a>(labels: impl IntoIterator<Item = &'a Labels>) -> LabelIndex {
        let mut by_pair: HashMap<(String, String), Vec<usize>> = HashMap::new();
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        let mut len = 0;
        for (i, l) in labels.into_iter().enumerate() {
            len = i + 1;
            for (k, v) in l {
                by_pair.entry((k.clone(), v.clone())).or_default().push(i);
                by_key.entry(k.clone()).or_default().push(i);
            }
        }
        LabelIndex {
            len,
            by_pair,
            by_key,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn set_of(&self, items: impl IntoIterator<Item = usize>) -> BitSet {
        let mut b = BitSet::new(self.len);
        for i in items {
            b.insert(i);
        }
        b
    }

    /// The objects whose labels satisfy `sel` (NP-10).
    pub fn select(&self, sel: &Selector) -> BitSet {
        let mut acc = BitSet::full(self.len);
        for r in &sel.requirements {
            let set = match r.op {
                Operator::In => self.with_values(&r.key, &r.values),
                Operator::NotIn => self.with_values(&r.key, &r.values).complement(),
                Operator::Exists => self.with_key(&r.key),
                Operator::DoesNotExist => self.with_key(&r.key).complement(),
            };
            acc.intersect_with(&set);
        }
        acc
    }

    /// The objects carrying `key` with one of `values`.
    pub fn with_values(&self, key: &str, values: &[String]) -> BitSet {
        self.set_of(values.iter().flat_map(|v| {
            self.by_pair
                .get(&(key.to_string(), v.clone()))
                .into_iter()
                .flatten()
                .copied()
        }))
    }

    /// The objects carrying `key`, whatever its value.
    pub fn with_key(&self, key: &str) -> BitSet {
        self.set_of(self.by_key.get(key).into_iter().flatten().copied())
    }

    /// The objects carrying `key` with a value `keep` accepts (Calico's
    /// `contains`, `starts with`, `ends with`). Rare, so it scans the pairs
    /// rather than making every index pay for a per-key value list; the
    /// scan only unions into a bit set, so hash order cannot leak out.
    pub fn with_value_where(&self, key: &str, keep: impl Fn(&str) -> bool) -> BitSet {
        self.set_of(
            self.by_pair
                .iter()
                .filter(|((k, v), _)| k == key && keep(v))
                .flat_map(|(_, objs)| objs.iter().copied()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::selector::Requirement;
    use proptest::prelude::*;

    fn labels() -> impl Strategy<Value = Labels> {
        proptest::collection::btree_map("[ab]", "[xy]", 0..3)
    }

    fn requirement() -> impl Strategy<Value = Requirement> {
        (
            "[abc]",
            prop_oneof![
                Just(Operator::In),
                Just(Operator::NotIn),
                Just(Operator::Exists),
                Just(Operator::DoesNotExist)
            ],
            proptest::collection::vec("[xyz]", 1..3),
        )
            .prop_map(|(key, op, values)| Requirement {
                key,
                op,
                values: match op {
                    Operator::In | Operator::NotIn => values,
                    _ => Vec::new(),
                },
            })
    }

    proptest! {
        /// The index answers exactly what matching each object would.
        #[test]
        fn index_agrees_with_matching(objs in proptest::collection::vec(labels(), 0..20),
                                      reqs in proptest::collection::vec(requirement(), 0..3)) {
            let sel = Selector::new(reqs);
            let index = LabelIndex::new(&objs);
            let got = index.select(&sel);
            for (i, l) in objs.iter().enumerate() {
                prop_assert_eq!(got.contains(i), sel.matches(l), "object {} {:?} {}", i, l, sel);
            }
            prop_assert_eq!(got.capacity(), objs.len());
        }
    }
}
