//! A fixed-size bit set over endpoint indices.

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BitSet {
    words: Vec<u64>,
    len: usize,
}

impl BitSet {
    pub fn new(len: usize) -> Self {
        BitSet {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    pub fn full(len: usize) -> Self {
        let mut words = vec![u64::MAX; len.div_ceil(64)];
        if len % 64 != 0 {
            if let Some(last) = words.last_mut() {
                *last = (1u64 << (len % 64)) - 1;
            }
        }
        BitSet { words, len }
    }

    pub fn capacity(&self) -> usize {
        self.len
    }

    pub fn insert(&mut self, i: usize) {
        if i < self.len {
            self.words[i / 64] |= 1 << (i % 64);
        }
    }

    pub fn contains(&self, i: usize) -> bool {
        i < self.len && self.words[i / 64] & (1 << (i % 64)) != 0
    }

    pub fn union_with(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= *b;
        }
    }

    pub fn intersect_with(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= *b;
        }
    }

    /// Removes every element of `other`.
    pub fn subtract(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !*b;
        }
    }

    /// The elements of `0..capacity` not in the set.
    pub fn complement(&self) -> BitSet {
        let mut full = BitSet::full(self.len);
        full.subtract(self);
        full
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut word = w;
            std::iter::from_fn(move || {
                if word == 0 {
                    return None;
                }
                let bit = word.trailing_zeros() as usize;
                word &= word - 1;
                Some(wi * 64 + bit)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        #[test]
        fn matches_btreeset(len in 0usize..300, xs in proptest::collection::vec(0usize..300, 0..40), ys in proptest::collection::vec(0usize..300, 0..40)) {
            let mut a = BitSet::new(len);
            let mut b = BitSet::new(len);
            xs.iter().for_each(|&x| a.insert(x));
            ys.iter().for_each(|&y| b.insert(y));
            let na: BTreeSet<usize> = xs.iter().copied().filter(|&x| x < len).collect();
            let nb: BTreeSet<usize> = ys.iter().copied().filter(|&y| y < len).collect();
            prop_assert_eq!(a.iter().collect::<BTreeSet<_>>(), na.clone());
            prop_assert_eq!(a.count(), na.len());
            a.union_with(&b);
            prop_assert_eq!(a.iter().collect::<BTreeSet<_>>(), na.union(&nb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(BitSet::full(len).count(), len);
            let mut i = a.clone();
            i.intersect_with(&b);
            let mut d = a.clone();
            d.subtract(&b);
            let c = b.complement();
            prop_assert_eq!(c.count(), len - nb.len());
            for x in 0..len {
                prop_assert_eq!(i.contains(x), a.contains(x) && b.contains(x));
                prop_assert_eq!(d.contains(x), a.contains(x) && !b.contains(x));
                prop_assert_eq!(c.contains(x), !nb.contains(&x));
            }
        }
    }
}
