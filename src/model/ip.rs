//! IP address blocks and the atoms of the external address space (M-10).
//!
//! Addresses of both families live in one `u128` space tagged by family, so
//! one set of interval routines serves IPv4 and IPv6.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn max(self) -> u128 {
        match self {
            Family::V4 => u128::from(u32::MAX),
            Family::V6 => u128::MAX,
        }
    }

    fn bits(self) -> u32 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

/// An inclusive range of addresses of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpRange {
    pub family: Family,
    pub first: u128,
    pub last: u128,
}

impl IpRange {
    pub fn whole(family: Family) -> Self {
        IpRange {
            family,
            first: 0,
            last: family.max(),
        }
    }

    pub fn contains_range(&self, other: &IpRange) -> bool {
        self.family == other.family && self.first <= other.first && other.last <= self.last
    }
}

fn fmt_addr(f: &mut fmt::Formatter<'_>, family: Family, a: u128) -> fmt::Result {
    match family {
        // `a` is at most u32::MAX for V4 by construction.
        Family::V4 => write!(f, "{}", Ipv4Addr::from(a as u32)),
        Family::V6 => write!(f, "{}", Ipv6Addr::from(a)),
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_addr(f, self.family, self.first)?;
        f.write_str("-")?;
        fmt_addr(f, self.family, self.last)
    }
}

/// A parsed CIDR, already masked to its network address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    pub family: Family,
    pub network: u128,
    pub prefix: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CidrError {
    Syntax,
    Prefix,
}

impl Cidr {
    /// Parses `a.b.c.d/n` or `x::y/n`. Returns the CIDR and whether host bits
    /// were set (accepted and masked, as the API server does by default, NP-13).
    pub fn parse(text: &str) -> Result<(Cidr, bool), CidrError> {
        let (addr, prefix) = text.split_once('/').ok_or(CidrError::Syntax)?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
            return Err(CidrError::Syntax);
        }
        let prefix: u32 = prefix.parse().map_err(|_| CidrError::Syntax)?;
        let (family, value) = if let Ok(v4) = addr.parse::<Ipv4Addr>() {
            (Family::V4, u128::from(u32::from(v4)))
        } else if let Ok(v6) = addr.parse::<Ipv6Addr>() {
            (Family::V6, u128::from(v6))
        } else {
            return Err(CidrError::Syntax);
        };
        if prefix > family.bits() {
            return Err(CidrError::Prefix);
        }
        let host_bits = family.bits() - prefix;
        let mask = if host_bits == 0 {
            0
        } else if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let network = value & !mask;
        Ok((
            Cidr {
                family,
                network,
                prefix: prefix as u8,
            },
            network != value,
        ))
    }

    pub fn range(&self) -> IpRange {
        let host_bits = self.family.bits() - u32::from(self.prefix);
        let span = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        IpRange {
            family: self.family,
            first: self.network,
            last: self.network | span,
        }
    }

    /// Strict subset (NP-13: an except must be inside the cidr and longer).
    pub fn strictly_inside(&self, outer: &Cidr) -> bool {
        self.prefix > outer.prefix && outer.range().contains_range(&self.range())
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_addr(f, self.family, self.network)?;
        write!(f, "/{}", self.prefix)
    }
}

/// The fewest CIDRs covering exactly `first..=last`.
pub fn range_to_cidrs(family: Family, first: u128, last: u128) -> Vec<Cidr> {
    let bits = family.bits();
    let mut out = Vec::new();
    let mut cur = first;
    loop {
        // Largest block aligned at `cur` that does not pass `last`.
        let mut size_bits = if cur == 0 {
            bits
        } else {
            cur.trailing_zeros().min(bits)
        };
        loop {
            let span = if size_bits >= 128 {
                u128::MAX
            } else {
                (1u128 << size_bits) - 1
            };
            if cur.checked_add(span).is_some_and(|end| end <= last) {
                break;
            }
            size_bits -= 1;
        }
        out.push(Cidr {
            family,
            network: cur,
            prefix: (bits - size_bits) as u8,
        });
        let span = if size_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << size_bits) - 1
        };
        match cur.checked_add(span).and_then(|e| e.checked_add(1)) {
            Some(next) if next <= last => cur = next,
            _ => break,
        }
    }
    out
}

/// One atom: a set of addresses on which every policy decision is constant,
/// or (Cilium, CI-33) a pseudo-endpoint outside the address space.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Atom {
    /// Sorted, merged ranges (all of one family); empty for a pseudo-endpoint.
    pub ranges: Vec<IpRange>,
    pub pseudo: Option<Pseudo>,
}

/// A Cilium pseudo-endpoint (CI-33): like an external atom it has no policy
/// of its own, but no address either, so no CIDR names it (except a whole
/// address family naming an FQDN) and the address views skip it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pseudo {
    /// An entity other than world/cluster/all (`host`, `kube-apiserver`, …).
    Entity(String),
    /// A `toFQDNs` name or pattern (lower case, no trailing dot).
    Fqdn(String),
}

/// The entities that become endpoints (CI-27, CI-33), in id order.
pub const PSEUDO_ENTITIES: [&str; 7] = [
    "health",
    "host",
    "ingress",
    "init",
    "kube-apiserver",
    "remote-node",
    "unmanaged",
];

impl Pseudo {
    /// The contract id: `entity:<name>` or `fqdn:<name>`.
    pub fn id(&self) -> String {
        match self {
            Pseudo::Entity(n) => format!("entity:{n}"),
            Pseudo::Fqdn(n) => format!("fqdn:{n}"),
        }
    }
}

impl Atom {
    /// The contract id: comma-joined `first-last` ranges, or the
    /// pseudo-endpoint's id.
    pub fn id(&self) -> String {
        if let Some(p) = &self.pseudo {
            return p.id();
        }
        self.ranges
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn family(&self) -> Family {
        self.ranges.first().map_or(Family::V4, |r| r.family)
    }

    pub fn size(&self) -> u128 {
        self.ranges
            .iter()
            .map(|r| (r.last - r.first).saturating_add(1))
            .fold(0u128, u128::saturating_add)
    }
}

/// The partition of the external address space induced by a set of CIDRs.
#[derive(Clone, Debug, Default)]
pub struct AtomTable {
    /// Address atoms sorted by id, then pseudo-endpoints (CI-33) by id.
    atoms: Vec<Atom>,
    /// How many of `atoms` are address atoms (the rest are pseudo).
    addresses: usize,
    /// The index of `entity:host` (CI-19), when pseudo-endpoints exist.
    host: Option<usize>,
    /// For each CIDR given to `build`, the indices of the atoms inside it.
    cidr_atoms: BTreeMap<Cidr, Vec<usize>>,
}

impl AtomTable {
    /// Coarsest partition in which every CIDR is a union of atoms. The IPv4
    /// space is always present; IPv6 only when an IPv6 CIDR appears or
    /// `dual_stack` is set. Atoms are sorted by id.
    pub fn build(cidrs: impl IntoIterator<Item = Cidr>, dual_stack: bool) -> AtomTable {
        let cidrs: Vec<Cidr> = {
            let mut v: Vec<Cidr> = cidrs.into_iter().collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut families = vec![Family::V4];
        if dual_stack || cidrs.iter().any(|c| c.family == Family::V6) {
            families.push(Family::V6);
        }
        // Sweep over boundaries per family; the signature of an elementary
        // interval is the set of CIDRs covering it.
        let mut by_signature: BTreeMap<(Family, Vec<usize>), Vec<IpRange>> = BTreeMap::new();
        for &family in &families {
            let members: Vec<(usize, IpRange)> = cidrs
                .iter()
                .enumerate()
                .filter(|(_, c)| c.family == family)
                .map(|(i, c)| (i, c.range()))
                .collect();
            // Boundary points where membership can change: starts and last+1.
            let mut points: Vec<u128> = vec![0];
            for (_, r) in &members {
                points.push(r.first);
                if r.last < family.max() {
                    points.push(r.last + 1);
                }
            }
            points.sort_unstable();
            points.dedup();
            // CIDRs either nest or are disjoint, so an active stack suffices,
            // but a plain scan over the (few) members per interval is simpler
            // and still linear in practice: sort members by start.
            let mut sorted = members.clone();
            sorted.sort_by_key(|(_, r)| (r.first, std::cmp::Reverse(r.last)));
            let mut active: Vec<(usize, IpRange)> = Vec::new();
            let mut next = 0;
            for (k, &start) in points.iter().enumerate() {
                let end = points.get(k + 1).map_or(family.max(), |p| p - 1);
                active.retain(|(_, r)| r.last >= start);
                while next < sorted.len() && sorted[next].1.first <= start {
                    if sorted[next].1.last >= start {
                        active.push(sorted[next]);
                    }
                    next += 1;
                }
                let mut sig: Vec<usize> = active.iter().map(|(i, _)| *i).collect();
                sig.sort_unstable();
                by_signature
                    .entry((family, sig))
                    .or_default()
                    .push(IpRange {
                        family,
                        first: start,
                        last: end,
                    });
            }
        }
        let mut atoms: Vec<(Atom, Vec<usize>)> = by_signature
            .into_iter()
            .map(|((_, sig), mut ranges)| {
                ranges.sort_unstable();
                (
                    Atom {
                        ranges: merge(ranges),
                        pseudo: None,
                    },
                    sig,
                )
            })
            .collect();
        atoms.sort_by_cached_key(|(a, _)| a.id());
        let mut cidr_atoms: BTreeMap<Cidr, Vec<usize>> = BTreeMap::new();
        for (ai, (_, sig)) in atoms.iter().enumerate() {
            for &ci in sig {
                cidr_atoms.entry(cidrs[ci]).or_default().push(ai);
            }
        }
        let atoms: Vec<Atom> = atoms.into_iter().map(|(a, _)| a).collect();
        AtomTable {
            addresses: atoms.len(),
            atoms,
            cidr_atoms,
            host: None,
        }
    }

    /// Appends Cilium pseudo-endpoints (CI-33), sorted and deduplicated.
    /// Without them the table is exactly what [`AtomTable::build`] made.
    pub fn with_pseudo(mut self, pseudo: impl IntoIterator<Item = Pseudo>) -> AtomTable {
        let mut v: Vec<Pseudo> = pseudo.into_iter().collect();
        v.sort_by_cached_key(Pseudo::id);
        v.dedup();
        for p in v {
            if p == Pseudo::Entity("host".into()) {
                self.host = Some(self.atoms.len());
            }
            self.atoms.push(Atom {
                ranges: Vec::new(),
                pseudo: Some(p),
            });
        }
        self
    }

    /// The address atoms' indices (every atom but the pseudo-endpoints).
    pub fn addresses(&self) -> std::ops::Range<usize> {
        0..self.addresses
    }

    /// The pseudo-endpoints' indices.
    pub fn pseudo(&self) -> std::ops::Range<usize> {
        self.addresses..self.atoms.len()
    }

    /// Whether atom `i` is `entity:host` (CI-19).
    pub fn is_host(&self, i: usize) -> bool {
        self.host == Some(i)
    }

    /// The atom whose id is `id` (a pseudo-endpoint or an address atom).
    pub fn by_id(&self, id: &str) -> Option<usize> {
        self.atoms.iter().position(|a| a.id() == id)
    }

    /// The atom holding one address.
    pub fn atom_of(&self, addr: std::net::IpAddr) -> Option<usize> {
        let (family, value) = match addr {
            std::net::IpAddr::V4(a) => (Family::V4, u128::from(u32::from(a))),
            std::net::IpAddr::V6(a) => (Family::V6, u128::from(a)),
        };
        self.atoms.iter().position(|atom| {
            atom.ranges
                .iter()
                .any(|r| r.family == family && r.first <= value && value <= r.last)
        })
    }

    pub fn atoms(&self) -> &[Atom] {
        &self.atoms
    }

    pub fn len(&self) -> usize {
        self.atoms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.atoms.is_empty()
    }

    /// Atoms inside `cidr`; empty if the CIDR was not part of the build.
    pub fn atoms_in(&self, cidr: &Cidr) -> &[usize] {
        self.cidr_atoms.get(cidr).map_or(&[], Vec::as_slice)
    }
}

fn merge(ranges: Vec<IpRange>) -> Vec<IpRange> {
    let mut out: Vec<IpRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(l) if l.family == r.family && l.last.checked_add(1) == Some(r.first) => {
                l.last = r.last
            }
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap().0
    }

    #[test]
    fn parse_and_mask() {
        assert_eq!(Cidr::parse("10.0.0.7/8").unwrap(), (c("10.0.0.0/8"), true));
        assert_eq!(c("0.0.0.0/0").range(), IpRange::whole(Family::V4));
        assert_eq!(c("::/0").range(), IpRange::whole(Family::V6));
        assert_eq!(c("1.2.3.4/32").range().to_string(), "1.2.3.4-1.2.3.4");
        assert_eq!(
            c("fd00::/8").range().to_string(),
            "fd00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert!(Cidr::parse("10.0.0.0").is_err());
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("10.0.0/8").is_err());
        assert!(Cidr::parse("10.0.0.0/+8").is_err());
        assert!(Cidr::parse("::/129").is_err());
        assert!(c("10.1.0.0/16").strictly_inside(&c("10.0.0.0/8")));
        assert!(!c("10.0.0.0/16").strictly_inside(&c("10.0.0.0/16")));
        assert!(!c("10.1.0.0/24").strictly_inside(&c("10.0.0.0/16")));
    }

    #[test]
    fn ranges_to_cidrs() {
        let r = |a: &str, b: &str| {
            let (x, y) = (
                a.parse::<Ipv4Addr>().unwrap(),
                b.parse::<Ipv4Addr>().unwrap(),
            );
            range_to_cidrs(
                Family::V4,
                u128::from(u32::from(x)),
                u128::from(u32::from(y)),
            )
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
        };
        assert_eq!(r("0.0.0.0", "255.255.255.255"), ["0.0.0.0/0"]);
        assert_eq!(r("10.0.0.0", "10.255.255.255"), ["10.0.0.0/8"]);
        assert_eq!(r("0.0.0.0", "9.255.255.255"), ["0.0.0.0/5", "8.0.0.0/7"]);
        assert_eq!(r("1.2.3.4", "1.2.3.4"), ["1.2.3.4/32"]);
        assert_eq!(range_to_cidrs(Family::V6, 0, u128::MAX).len(), 1);
    }

    #[test]
    fn single_block_makes_two_atoms() {
        let t = AtomTable::build([c("10.0.0.0/8")], false);
        let ids: Vec<String> = t.atoms().iter().map(Atom::id).collect();
        assert_eq!(
            ids,
            [
                "0.0.0.0-9.255.255.255,11.0.0.0-255.255.255.255",
                "10.0.0.0-10.255.255.255"
            ]
        );
        assert_eq!(t.atoms_in(&c("10.0.0.0/8")), &[1]);
    }

    #[test]
    fn e16_internet_only_atoms() {
        let t = AtomTable::build(
            [
                c("0.0.0.0/0"),
                c("10.0.0.0/8"),
                c("172.16.0.0/12"),
                c("192.168.0.0/16"),
            ],
            false,
        );
        let ids: Vec<String> = t.atoms().iter().map(Atom::id).collect();
        assert!(ids.contains(&"0.0.0.0-9.255.255.255,11.0.0.0-172.15.255.255,172.32.0.0-192.167.255.255,192.169.0.0-255.255.255.255".to_string()));
        assert_eq!(t.len(), 4);
        assert_eq!(t.atoms_in(&c("0.0.0.0/0")).len(), 4);
    }

    #[test]
    fn ipv6_only_when_present() {
        assert_eq!(AtomTable::build([], false).len(), 1);
        assert_eq!(AtomTable::build([], true).len(), 2);
        assert_eq!(AtomTable::build([c("fd00::/8")], false).len(), 3);
    }

    proptest! {
        // Partition property on a scaled-down universe: atoms are disjoint,
        // cover the space, every CIDR is exactly a union of atoms, and two
        // atoms differ in membership of at least one CIDR (coarsest).
        #[test]
        fn atoms_partition_the_space(blocks in proptest::collection::vec((any::<u32>(), 20u8..=32), 0..8)) {
            let cidrs: Vec<Cidr> = blocks.iter().map(|&(a, p)| {
                c(&format!("{}/{}", Ipv4Addr::from(a), p))
            }).collect();
            let t = AtomTable::build(cidrs.clone(), false);
            let mut all: Vec<IpRange> = t.atoms().iter().flat_map(|a| a.ranges.clone()).collect();
            all.sort();
            prop_assert_eq!(all[0].first, 0);
            for w in all.windows(2) {
                prop_assert_eq!(w[0].last + 1, w[1].first);
            }
            prop_assert_eq!(all.last().unwrap().last, u128::from(u32::MAX));
            let mut signatures = std::collections::BTreeSet::new();
            for (ai, atom) in t.atoms().iter().enumerate() {
                let mut sig = Vec::new();
                for cidr in &cidrs {
                    let r = cidr.range();
                    let inside = atom.ranges.iter().all(|x| r.contains_range(x));
                    let outside = atom.ranges.iter().all(|x| x.last < r.first || x.first > r.last);
                    prop_assert!(inside || outside);
                    prop_assert_eq!(inside, t.atoms_in(cidr).contains(&ai));
                    sig.push(inside);
                }
                prop_assert!(signatures.insert(sig));
            }
        }
    }
}
