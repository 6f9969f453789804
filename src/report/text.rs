//! Human text for terminals: grouped, aligned, optionally coloured.

use super::style::{Style, sanitize};
use crate::comparison::Comparison;
use crate::review::cause;
use crate::review::findings::{FindingsView, Fold};
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

/// "no ingress rule of NetworkPolicy shop/web admits it (np.yaml:12)".
fn now_denied_text(nd: &crate::review::why_not::NowDenied, style: Style) -> String {
    let clauses: Vec<String> = crate::review::why_not::clauses(nd)
        .into_iter()
        .map(|(p, span)| match span {
            Some(s) => format!(
                "{} ({}:{})",
                phrase_text(&p, style),
                sanitize(&s.file),
                s.line
            ),
            None => phrase_text(&p, style),
        })
        .collect();
    clauses.join("; ")
}

fn groups_text(
    out: &mut String,
    title: &str,
    groups: &[Group],
    notes: Option<&[Vec<Fold>]>,
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
    for (i, g) in groups.iter().enumerate() {
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
                        match (l.on_base, l.removed) {
                            (true, true) => ", removed, base",
                            (true, false) => ", base",
                            _ => "",
                        }
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
        if let Some(nd) = &g.now_denied {
            let _ = writeln!(out, "      now denied: {}", now_denied_text(nd, style));
        }
        for f in notes.and_then(|n| n.get(i)).into_iter().flatten() {
            let _ = writeln!(
                out,
                "      still expected by {} of {} ({})",
                sanitize(&crate::review::findings::fields_text(&f.fields)),
                sanitize(&f.object),
                f.code
            );
        }
    }
}

/// The diff report for a terminal: the same content, in the same order,
/// as the Markdown (risk first, then the tables, then the findings that
/// no row already says).
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
        let mut parts = Vec::new();
        if !view.exposures.is_empty() {
            parts.push(plural(
                view.exposures.len(),
                "new exposure",
                "new exposures",
            ));
        }
        parts.push(format!(
            "{} closed ({})",
            plural(view.closed.len(), "path", "paths"),
            plural(view.closed_rows, "row", "rows")
        ));
        parts.push(format!(
            "{} opened ({})",
            plural(opened, "path", "paths"),
            plural(view.opened_rows, "row", "rows")
        ));
        let _ = writeln!(out, "{}", parts.join(" · "));
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
                let _ = writeln!(
                    out,
                    "    …and {} more (--format json lists every one)",
                    g.violations.len() - 20
                );
            }
        }
    }
    let findings = crate::review::findings::build(cmp, view);
    groups_text(
        &mut out,
        "New exposure",
        &view.exposures,
        None,
        style,
        Style::yellow,
    );
    groups_text(&mut out, "Opened", &view.opened, None, style, Style::red);
    groups_text(
        &mut out,
        "Closed",
        &view.closed,
        Some(&findings.closed_notes),
        style,
        Style::green,
    );
    findings_text(&mut out, &findings, style);
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

/// Introduced findings no row already says, one line per object and code;
/// then how many the change resolves.
fn findings_text(out: &mut String, f: &FindingsView<'_>, style: Style) {
    if !f.introduced.is_empty() {
        let n: usize = f.introduced.iter().map(|g| g.items.len()).sum();
        let _ = writeln!(
            out,
            "\n{}",
            style.bold(&format!("Findings this change introduces ({n})"))
        );
        for g in &f.introduced {
            let d = g.items[0];
            let mut line = format!(
                "  {}: {}: {}",
                d.severity.as_str(),
                d.code,
                sanitize(&d.to_string())
            );
            if g.items.len() > 1 {
                let more: Vec<String> = g.items[1..]
                    .iter()
                    .map(|x| sanitize(x.field.as_deref().unwrap_or("another place")))
                    .collect();
                line.push_str(&format!("; the same for {}", more.join(", ")));
            }
            let _ = writeln!(out, "{line}");
        }
    }
    for (b, h) in &f.improved {
        let before = b.message.split(':').next().unwrap_or_default();
        let _ = writeln!(
            out,
            "{}",
            style.green(&format!(
                "improves {} {}: open before: {}; now: {}",
                h.code,
                sanitize(h.object.as_deref().unwrap_or_default()),
                sanitize(before),
                sanitize(&h.message)
            ))
        );
    }
    if !f.resolved.is_empty() {
        let n: usize = f.resolved.iter().map(|g| g.items.len()).sum();
        let _ = writeln!(
            out,
            "{}",
            style.green(&format!(
                "resolves {}",
                plural(n, "finding or warning", "findings and warnings")
            ))
        );
    }
    for (a, n) in &f.proposed {
        let _ = writeln!(
            out,
            "proposed by this change (acknowledges nothing until merged): {} on {}: {} ({}) at {}",
            sanitize(&a.code),
            sanitize(&a.object),
            sanitize(&a.reason),
            if *n == 0 {
                "matches no finding".to_string()
            } else {
                format!("would acknowledge {}", plural(*n, "finding", "findings"))
            },
            sanitize(&a.source.to_string())
        );
    }
    for (d, a) in &f.acknowledged {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "acknowledged: {} {}: {} ({})",
                d.code,
                sanitize(d.object.as_deref().unwrap_or_default()),
                sanitize(&a.reason),
                sanitize(&a.source.to_string())
            ))
        );
    }
    let older = f.acknowledged_total.saturating_sub(f.acknowledged.len());
    if older > 0 {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&plural(
                older,
                "acknowledged finding on both revisions",
                "acknowledged findings on both revisions"
            ))
        );
    }
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
