//! Human text for terminals: grouped, aligned, optionally coloured.

use super::style::{Style, sanitize};
use crate::comparison::Comparison;
use crate::review::cause;
use crate::review::gate::GateOutcome;
use crate::review::view::{DiffView, Group, Part, Phrase};
use crate::words::plural;
use std::fmt::Write;

fn phrase_text(p: &Phrase, style: Style) -> String {
    p.0.iter()
        .map(|part| match part {
            Part::Text(s) => sanitize(s),
            Part::Code(s) => sanitize(s),
            Part::Strong(s) => style.bold(&sanitize(s)),
        })
        .collect()
}

fn groups_text(
    out: &mut String,
    title: &str,
    groups: &[Group],
    style: Style,
    color: fn(&Style, &str) -> String,
) {
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        style.bold(&format!(
            "{title} ({}){}",
            groups.len(),
            if title == "Closed" {
                " — what may break"
            } else {
                ""
            }
        ))
    );
    for g in groups {
        let _ = writeln!(
            out,
            "  {} · {}\n      from {}",
            color(&style, &phrase_text(&g.to_text, style)),
            style.cyan(&crate::words::conn_text(&g.conn)),
            phrase_text(&g.from_text, style)
        );
        for c in &g.causes {
            let loc = cause::location(c)
                .map(|l| {
                    format!(
                        "  ({}:{}{})",
                        sanitize(&l.span.file),
                        l.span.line,
                        if l.on_base { ", base" } else { "" }
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "      because {}{}",
                sanitize(&cause::sentence(c)),
                style.dim(&loc)
            );
        }
    }
}

/// The diff report for a terminal: the same content as the Markdown.
pub fn render_diff(
    cmp: &Comparison,
    view: &DiffView,
    gates: &[GateOutcome],
    style: Style,
) -> String {
    let mut out = String::new();
    let opened = view.exposures.len() + view.opened.len();
    if opened == 0 && view.closed.is_empty() {
        let _ = writeln!(out, "{}", style.green("no change in reachability"));
        if let Some(line) = view.policies_without_effect() {
            let _ = writeln!(out, "{}", style.yellow(&line));
        }
    } else {
        let _ = writeln!(
            out,
            "{} opened ({}) · {} closed ({}) · {}",
            plural(opened, "path", "paths"),
            plural(view.opened_rows, "row", "rows"),
            plural(view.closed.len(), "path", "paths"),
            plural(view.closed_rows, "row", "rows"),
            plural(view.exposures.len(), "new exposure", "new exposures")
        );
    }
    for g in gates {
        if g.passed {
            let _ = writeln!(out, "{} {}", style.green("gate passed:"), sanitize(&g.name));
        } else {
            let _ = writeln!(
                out,
                "{} {} — {}",
                style.red("gate FAILED:"),
                sanitize(&g.name),
                sanitize(&g.message)
            );
            for v in g.violations.iter().take(20) {
                let _ = writeln!(out, "    {}", sanitize(v));
            }
            if g.violations.len() > 20 {
                let _ = writeln!(out, "    …and {} more", g.violations.len() - 20);
            }
        }
    }
    let changes = crate::review::view::warning_changes(cmp);
    if !changes.introduced.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.bold(&format!(
                "New findings and warnings ({})",
                changes.introduced.len()
            ))
        );
        for d in changes.introduced.iter().take(20) {
            let _ = writeln!(
                out,
                "  {}: {}: {}",
                d.severity.as_str(),
                d.code,
                sanitize(&d.to_string())
            );
        }
        if changes.introduced.len() > 20 {
            let _ = writeln!(out, "  …and {} more", changes.introduced.len() - 20);
        }
    }
    if !changes.resolved.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.green(&format!(
                "resolves {}",
                plural(
                    changes.resolved.len(),
                    "finding or warning",
                    "findings and warnings"
                )
            ))
        );
    }
    groups_text(
        &mut out,
        "New exposure",
        &view.exposures,
        style,
        Style::yellow,
    );
    groups_text(&mut out, "Opened", &view.opened, style, Style::red);
    groups_text(&mut out, "Closed", &view.closed, style, Style::green);
    let s = &cmp.diff.stats;
    let _ = writeln!(
        out,
        "\n{}",
        style.dim(&format!(
            "{} → {} workloads, {} → {} policies",
            s.workloads_base, s.workloads_head, s.policies_base, s.policies_head
        ))
    );
    out
}

/// The configuration's origin, the last line of a report from commits.
fn config_line(out: &mut String, p: &super::Presentation) {
    if let Some(c) = &p.config {
        let _ = writeln!(
            out,
            "{}",
            p.style.dim(&format!("configuration: {}", sanitize(c)))
        );
    }
}

/// The text report of one review.
pub fn render_review(r: &crate::review::Review, p: &super::Presentation) -> String {
    let mut out = render_diff(&r.comparison, &r.view, &r.gates, p.style);
    config_line(&mut out, p);
    out
}

/// One text report for several environments: a section per environment
/// that changed or could not be fully analysed, the names of those that
/// did not change, and why each environment is one.
pub fn render_environments(
    envs: &[crate::review::EnvironmentReview],
    p: &super::Presentation,
) -> String {
    use crate::review::Status;
    let mut out = String::new();
    for e in envs.iter().filter(|e| super::worth_a_section(e)) {
        let _ = writeln!(out, "=== environment {} ===", sanitize(&super::env_name(e)));
        let gate = e.incomplete_gate();
        match (e.status, gate.as_ref()) {
            (Status::Ok, _) => {}
            (Status::BaseFailed, _) => {
                let _ = writeln!(
                    out,
                    "{} the base could not be analysed; the head is compared against an empty cluster (every path counts as opened)",
                    p.style.yellow("warning:")
                );
            }
            (_, Some(g)) if g.passed => {
                let _ = writeln!(
                    out,
                    "{} not analysed on either side, with the same errors on both (this change did not cause them)",
                    p.style.yellow("warning:")
                );
            }
            (_, Some(g)) => {
                let _ = writeln!(
                    out,
                    "{} {} — {}",
                    p.style.red("gate FAILED:"),
                    sanitize(&g.name),
                    sanitize(&g.message)
                );
            }
            (_, None) => {}
        }
        for err in &e.errors {
            let _ = writeln!(
                out,
                "  {} error: {}",
                err.side.as_str(),
                sanitize(&err.to_string())
            );
        }
        if let Some(r) = &e.review {
            out.push_str(&render_diff(&r.comparison, &r.view, &r.gates, p.style));
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    let unchanged: Vec<String> = envs
        .iter()
        .filter(|e| !super::worth_a_section(e))
        .map(|e| sanitize(&super::env_name(e)))
        .collect();
    if !unchanged.is_empty() {
        let _ = writeln!(out, "unchanged environments: {}", unchanged.join(", "));
    }
    environments_lines(&mut out, envs, p);
    config_line(&mut out, p);
    out
}

/// Which environments there are and why, one line each.
pub fn environments_lines(
    out: &mut String,
    envs: &[crate::review::EnvironmentReview],
    p: &super::Presentation,
) {
    for e in envs {
        if let Some(w) = &e.why {
            let _ = writeln!(
                out,
                "{}",
                p.style.dim(&format!(
                    "environment {}: {}",
                    sanitize(&super::env_name(e)),
                    sanitize(w)
                ))
            );
        }
    }
    for n in &p.environment_notes {
        let _ = writeln!(
            out,
            "{}",
            p.style.dim(&format!("left out: {}", sanitize(n)))
        );
    }
}
