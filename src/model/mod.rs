//! Domain values shared by every layer: ports, addresses, selectors, sets.
//! Leaves of the dependency graph: std only, no Kubernetes types, no I/O.

pub mod bitset;
pub mod calico_selector;
pub mod ip;
pub mod label_index;
pub mod ports;
pub mod selector;

pub use bitset::BitSet;
pub use ip::{Atom, AtomTable, Cidr, Family, IpRange, PSEUDO_ENTITIES, Pseudo, range_to_cidrs};
pub use label_index::LabelIndex;
pub use ports::{ConnSet, PortSet, Protocol};
pub use selector::{Labels, Operator, Requirement, Selector};
