//! Human text for terminals: grouped, aligned, optionally coloured.

use super::style::{Style, sanitize};
use crate::model::ConnSet;
use crate::reach::{Analysis, Endpoint};
use std::fmt::Write;

/// `TCP 80,443 · UDP 53`, or `all ports`.
pub fn conn_text(c: &ConnSet) -> String {
    if c.is_all() {
        return "all ports".into();
    }
    c.iter()
        .map(|(p, ports)| format!("{p} {}", if ports.is_all() { "all".to_string() } else { ports.to_string() }))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn group_of(a: &Analysis, e: Endpoint) -> String {
    match e {
        Endpoint::Workload(w) => format!("namespace {}", a.workloads[w].namespace),
        Endpoint::Atom(_) => "external addresses".to_string(),
    }
}

/// The `reach` listing grouped by source namespace.
pub fn render_reach(a: &Analysis, conns: &[(Endpoint, Endpoint, ConnSet)], style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} workloads, {} external blocks, {} policies, {} allowed connections",
        a.workloads.len(),
        a.atoms.len(),
        a.policies.len(),
        conns.len()
    );
    let mut groups: std::collections::BTreeMap<String, Vec<(String, String, String)>> = Default::default();
    for (s, d, c) in conns {
        groups
            .entry(group_of(a, *s))
            .or_default()
            .push((sanitize(&a.endpoint_id(*s)), sanitize(&a.endpoint_id(*d)), conn_text(c)));
    }
    for (group, rows) in groups {
        let _ = writeln!(out, "\n{}", style.bold(&sanitize(&group)));
        let ws = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let wd = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
        for (s, d, c) in rows {
            let _ = writeln!(out, "  {s:<ws$}  →  {d:<wd$}  {}", style.cyan(&c));
        }
    }
    out
}
