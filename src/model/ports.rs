//! Port sets and connection sets: canonical inclusive ranges over 1..=65535.
//!
//! Canonical means sorted, non-overlapping and non-adjacent, which is exactly
//! the "sorted, merged, inclusive" shape of the JSON contract, so equality of
//! values is equality of sets.

use std::fmt;

pub const MIN_PORT: u16 = 1;
pub const MAX_PORT: u16 = 65535;

/// A set of ports as canonical inclusive ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortSet {
    ranges: Vec<(u16, u16)>,
}

impl PortSet {
    pub fn empty() -> Self {
        PortSet { ranges: Vec::new() }
    }

    pub fn all() -> Self {
        PortSet {
            ranges: vec![(MIN_PORT, MAX_PORT)],
        }
    }

    /// The inclusive range `lo..=hi`, clamped to valid ports; empty when `lo > hi`.
    pub fn range(lo: u16, hi: u16) -> Self {
        let lo = lo.max(MIN_PORT);
        if lo > hi {
            return Self::empty();
        }
        PortSet {
            ranges: vec![(lo, hi)],
        }
    }

    pub fn single(port: u16) -> Self {
        Self::range(port, port)
    }

    /// Builds a canonical set from arbitrary (possibly overlapping) ranges.
    pub fn from_ranges(mut ranges: Vec<(u16, u16)>) -> Self {
        ranges.retain(|&(lo, hi)| lo <= hi && hi >= MIN_PORT);
        for r in &mut ranges {
            r.0 = r.0.max(MIN_PORT);
        }
        ranges.sort_unstable();
        let mut out: Vec<(u16, u16)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match out.last_mut() {
                Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => {
                    last.1 = last.1.max(hi);
                }
                _ => out.push((lo, hi)),
            }
        }
        PortSet { ranges: out }
    }

    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn is_all(&self) -> bool {
        self.ranges == [(MIN_PORT, MAX_PORT)]
    }

    pub fn contains(&self, port: u16) -> bool {
        self.ranges
            .binary_search_by(|&(lo, hi)| {
                if hi < port {
                    std::cmp::Ordering::Less
                } else if lo > port {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
    }

    /// Number of ports in the set.
    pub fn len(&self) -> u32 {
        self.ranges
            .iter()
            .map(|&(lo, hi)| u32::from(hi) - u32::from(lo) + 1)
            .sum()
    }

    pub fn union(&self, other: &PortSet) -> PortSet {
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        let mut all = Vec::with_capacity(self.ranges.len() + other.ranges.len());
        all.extend_from_slice(&self.ranges);
        all.extend_from_slice(&other.ranges);
        PortSet::from_ranges(all)
    }

    pub fn union_with(&mut self, other: &PortSet) {
        if other.is_empty() || self.is_all() {
            return;
        }
        *self = self.union(other);
    }

    pub fn intersection(&self, other: &PortSet) -> PortSet {
        let (a, b) = (&self.ranges, &other.ranges);
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < a.len() && j < b.len() {
            let lo = a[i].0.max(b[j].0);
            let hi = a[i].1.min(b[j].1);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a[i].1 < b[j].1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        // Intersections of canonical sets are canonical: pieces come from
        // disjoint, non-adjacent ranges of one side or the other.
        PortSet { ranges: out }
    }

    pub fn difference(&self, other: &PortSet) -> PortSet {
        let mut out = Vec::new();
        let mut j = 0;
        for &(lo, hi) in &self.ranges {
            let mut cur = u32::from(lo);
            let hi32 = u32::from(hi);
            while j < other.ranges.len() && u32::from(other.ranges[j].1) < cur {
                j += 1;
            }
            let mut k = j;
            while k < other.ranges.len() && u32::from(other.ranges[k].0) <= hi32 {
                let (blo, bhi) = (u32::from(other.ranges[k].0), u32::from(other.ranges[k].1));
                if blo > cur {
                    out.push((cur as u16, (blo - 1) as u16));
                }
                cur = cur.max(bhi + 1);
                if cur > hi32 {
                    break;
                }
                k += 1;
            }
            if cur <= hi32 {
                out.push((cur as u16, hi));
            }
        }
        PortSet { ranges: out }
    }

    pub fn complement(&self) -> PortSet {
        PortSet::all().difference(self)
    }
}

impl fmt::Display for PortSet {
    /// `80`, `8080-8090`, `80,443`; "all" for the whole range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("all");
        }
        for (i, &(lo, hi)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

/// The three protocols NetworkPolicy is defined for (NP-20).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// Exact, case-sensitive spelling as the API server validates it (E-28).
    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Allowed destination ports per protocol.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnSet {
    by_proto: [PortSet; 3],
}

impl ConnSet {
    pub fn empty() -> Self {
        ConnSet::default()
    }

    pub fn all() -> Self {
        ConnSet {
            by_proto: [PortSet::all(), PortSet::all(), PortSet::all()],
        }
    }

    pub fn of(proto: Protocol, ports: PortSet) -> Self {
        let mut c = ConnSet::empty();
        c.by_proto[proto.index()] = ports;
        c
    }

    pub fn ports(&self, proto: Protocol) -> &PortSet {
        &self.by_proto[proto.index()]
    }

    pub fn is_empty(&self) -> bool {
        self.by_proto.iter().all(PortSet::is_empty)
    }

    pub fn is_all(&self) -> bool {
        self.by_proto.iter().all(PortSet::is_all)
    }

    pub fn add(&mut self, proto: Protocol, ports: &PortSet) {
        self.by_proto[proto.index()].union_with(ports);
    }

    pub fn union_with(&mut self, other: &ConnSet) {
        for p in Protocol::ALL {
            self.by_proto[p.index()].union_with(&other.by_proto[p.index()]);
        }
    }

    pub fn union(&self, other: &ConnSet) -> ConnSet {
        let mut c = self.clone();
        c.union_with(other);
        c
    }

    pub fn intersection(&self, other: &ConnSet) -> ConnSet {
        if other.is_all() {
            return self.clone();
        }
        if self.is_all() {
            return other.clone();
        }
        ConnSet {
            by_proto: Protocol::ALL.map(|p| self.ports(p).intersection(other.ports(p))),
        }
    }

    pub fn difference(&self, other: &ConnSet) -> ConnSet {
        ConnSet {
            by_proto: Protocol::ALL.map(|p| self.ports(p).difference(other.ports(p))),
        }
    }

    /// Non-empty (protocol, ports) pairs in protocol order.
    pub fn iter(&self) -> impl Iterator<Item = (Protocol, &PortSet)> {
        Protocol::ALL
            .into_iter()
            .map(|p| (p, self.ports(p)))
            .filter(|(_, ps)| !ps.is_empty())
    }
}

impl fmt::Display for ConnSet {
    /// `TCP 80,443 · UDP 53`, or `all ports`: the one text form every
    /// report, gate and finding uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("all ports");
        }
        if self.is_empty() {
            return f.write_str("nothing");
        }
        for (i, (p, ports)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" · ")?;
            }
            write!(f, "{p} {ports}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    // A small universe keeps the naive model cheap while still exercising the
    // boundaries; the edge cases at 1 and 65535 are tested by hand below.
    fn naive(ps: &PortSet) -> BTreeSet<u16> {
        ps.ranges().iter().flat_map(|&(lo, hi)| lo..=hi).collect()
    }

    fn arb_set() -> impl Strategy<Value = PortSet> {
        proptest::collection::vec((1u16..60, 0u16..8), 0..6)
            .prop_map(|v| PortSet::from_ranges(v.into_iter().map(|(lo, w)| (lo, lo + w)).collect()))
    }

    fn is_canonical(ps: &PortSet) -> bool {
        ps.ranges().iter().all(|&(lo, hi)| lo >= 1 && lo <= hi)
            && ps
                .ranges()
                .windows(2)
                .all(|w| u32::from(w[0].1) + 1 < u32::from(w[1].0))
    }

    proptest! {
        #[test]
        fn algebra_matches_naive_sets(a in arb_set(), b in arb_set()) {
            let (na, nb) = (naive(&a), naive(&b));
            let u = a.union(&b);
            let i = a.intersection(&b);
            let d = a.difference(&b);
            prop_assert!(is_canonical(&u) && is_canonical(&i) && is_canonical(&d));
            prop_assert_eq!(naive(&u), na.union(&nb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(naive(&i), na.intersection(&nb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(naive(&d), na.difference(&nb).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(a.len() as usize, na.len());
            for p in 1u16..70 {
                prop_assert_eq!(a.contains(p), na.contains(&p));
            }
        }

        #[test]
        fn from_ranges_is_canonical(v in proptest::collection::vec((0u16..100, 0u16..100), 0..10)) {
            let ps = PortSet::from_ranges(v.clone());
            prop_assert!(is_canonical(&ps));
            let expect: BTreeSet<u16> = v.iter().filter(|r| r.0 <= r.1).flat_map(|&(lo, hi)| lo.max(1)..=hi).collect();
            prop_assert_eq!(naive(&ps), expect);
        }
    }

    #[test]
    fn edges_at_1_and_65535() {
        let all = PortSet::all();
        assert!(all.contains(1) && all.contains(65535) && !all.contains(0));
        assert_eq!(all.difference(&PortSet::single(1)).ranges(), &[(2, 65535)]);
        assert_eq!(
            all.difference(&PortSet::single(65535)).ranges(),
            &[(1, 65534)]
        );
        assert_eq!(
            PortSet::single(65535)
                .union(&PortSet::single(65534))
                .ranges(),
            &[(65534, 65535)]
        );
        assert!(PortSet::from_ranges(vec![(1, 100), (101, 65535)]).is_all());
        assert!(PortSet::range(0, 0).is_empty());
        assert_eq!(PortSet::all().len(), 65535);
        assert!(all.complement().is_empty());
    }

    #[test]
    fn display() {
        assert_eq!(
            PortSet::from_ranges(vec![(80, 80), (8080, 8090)]).to_string(),
            "80,8080-8090"
        );
        let mut c = ConnSet::of(Protocol::Udp, PortSet::single(53));
        c.add(Protocol::Tcp, &PortSet::single(53));
        assert_eq!(c.to_string(), "TCP 53 · UDP 53");
        assert_eq!(ConnSet::all().to_string(), "all ports");
    }
}
