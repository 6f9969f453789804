//! The pull-request comment: verdict first, the most dangerous change
//! first, every row with its cause and a link to the line, exact rows one
//! click away, and a hard size budget below GitHub's comment limit.

use super::escape::{code, md, md_message, mermaid_label, url_path};
use crate::comparison::Comparison;
use crate::diag::{Code, Diagnostic, Span};
use crate::manifest::{AckSource, Acknowledgement};
use crate::review::cause;
use crate::review::findings::{FindingGroup, FindingsView, Fold};
use crate::review::gate::GateOutcome;
use crate::review::view::{DiffView, Group, Part, Phrase};
use crate::words::plural;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The hidden marker that finds the comment again for updates.
pub const MARKER: &str = "<!-- reachdiff -->";
/// GitHub rejects comments above 65,536 characters; stay well below.
pub const DEFAULT_BUDGET: usize = 60_000;

#[derive(Clone, Debug)]
pub struct MarkdownOptions {
    /// URL prefixes for links to files (`https://github.com/o/r/blob/<sha>`).
    pub base_url: Option<String>,
    pub head_url: Option<String>,
    /// Shown in the footer, e.g. "`3f2a1c0` (merge-base of main)".
    pub base_label: String,
    pub head_label: String,
    pub elapsed: Option<f64>,
    pub budget: usize,
    /// Where the full report is, said when the comment had to be cut.
    pub full_report_hint: Option<String>,
    /// A heading for one environment of a multi-environment report.
    pub title: Option<String>,
    /// Said under the heading (Markdown, already escaped): why this
    /// report is not what it seems (a base that could not be analysed).
    pub notice: Option<String>,
    /// Where the configuration came from (`.reachdiff.yaml` of main
    /// (1a2b…)), said in the footer.
    pub config: Option<String>,
    /// The complete report (a job summary, a check run), not the comment:
    /// long lists are kept whole as far as the budget allows. The comment
    /// keeps a reviewer's size and says where the rest is.
    pub complete: bool,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        MarkdownOptions {
            base_url: None,
            head_url: None,
            base_label: "base".into(),
            head_label: "head".into(),
            elapsed: None,
            budget: DEFAULT_BUDGET,
            full_report_hint: None,
            title: None,
            notice: None,
            config: None,
            complete: false,
        }
    }
}

fn phrase_md(p: &Phrase) -> String {
    p.0.iter()
        .map(|part| match part {
            Part::Text(s) => md(s),
            Part::Code(s) => code(s),
            Part::Strong(s) => format!("**{}**", md(s)),
        })
        .collect()
}

fn link(span: &Span, on_base: bool, opts: &MarkdownOptions) -> String {
    let text = format!("{}:{}", span.file, span.line);
    let base = if on_base {
        &opts.base_url
    } else {
        &opts.head_url
    };
    let shown = match base {
        // A rendered stream's own line (no source line known) is shown,
        // never linked: no link rather than a broken one.
        Some(url) if !span.file.is_empty() && !crate::revision::is_rendered_name(&span.file) => {
            format!(
                "[{}]({}/{}#L{})",
                md(&text),
                url.trim_end_matches('/'),
                url_path(&span.file),
                span.line
            )
        }
        _ => code(&text),
    };
    if on_base {
        format!("{shown} (base)")
    } else {
        shown
    }
}

/// A cause's location: a link, marked when it is on the base, and when
/// it is a line the change removed.
fn location_md(loc: &cause::Location<'_>, opts: &MarkdownOptions) -> String {
    let shown = link(loc.span, loc.on_base, opts);
    match shown.strip_suffix(" (base)") {
        Some(at) if loc.removed => format!("{at} (removed, base)"),
        _ => shown,
    }
}

/// "now denied: no ingress rule of `NetworkPolicy shop/web` admits it —
/// [np.yaml:12](…)", the head's answer for a Closed group.
fn now_denied_md(nd: &crate::review::why_not::NowDenied, opts: &MarkdownOptions) -> String {
    let clauses: Vec<String> = crate::review::why_not::clauses(nd)
        .into_iter()
        .map(|(p, span)| match span {
            Some(s) => format!("{} — {}", phrase_md(&p), link(s, false, opts)),
            None => phrase_md(&p),
        })
        .collect();
    format!("now denied: {}", clauses.join("; "))
}

fn ports_md(g: &Group) -> String {
    md(&crate::words::conn_text(&g.conn))
}

fn causes_md(g: &Group, opts: &MarkdownOptions) -> String {
    let mut parts: Vec<String> = g
        .causes
        .iter()
        .take(3)
        .map(|c| {
            let mut s = phrase_md(&cause::phrase(c));
            if let Some(loc) = cause::location(c) {
                s.push_str(" — ");
                s.push_str(&location_md(&loc, opts));
            }
            s
        })
        .collect();
    if g.causes.len() > 3 {
        parts.push(format!(
            "and {} more causes (the JSON report lists every cause)",
            g.causes.len() - 3
        ));
    }
    if parts.is_empty() {
        parts.push("unexplained (please report)".into());
    }
    parts.join("<br>")
}

/// The findings folded into a row: the policy whose rule still expects
/// the closed traffic, and the finding's code.
fn folds_md(folds: &[Fold]) -> String {
    folds
        .iter()
        .map(|f| {
            let what = match f.code {
                Code::IngressDeniedByEgress => "still admitted by",
                _ => "still allowed by",
            };
            format!(
                "{what} {} of {} ({})",
                code(&crate::review::findings::fields_text(&f.fields)),
                code(&f.object),
                code(f.code.as_str())
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// "`unisolated-ingress` `Namespace billing`: 3 workloads open before, 2
/// now (…)".
fn improvement_md(b: &Diagnostic, h: &Diagnostic) -> String {
    let object = h.object.as_deref().map(code).unwrap_or_default();
    let before = b.message.split(':').next().unwrap_or_default();
    if h.code == Code::NoDefaultDeny {
        return format!(
            "{} {object}: no workload is open any more (before: {}); {}",
            code(b.code.as_str()),
            md_message(before),
            md_message(&h.message)
        );
    }
    let now = h.message.split(':').next().unwrap_or_default();
    format!(
        "{} {object}: open before: {}; now: {}",
        code(h.code.as_str()),
        md_message(before),
        md_message(now)
    )
}

/// How much detail survives the budget, from richest to leanest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Detail {
    graph: bool,
    diff_lines: usize,
    groups_per_table: usize,
    assumptions: bool,
}

/// Tables longer than this are not read; the JSON report has every row.
const MAX_GROUPS: usize = 300;
/// Changed pairs listed in the `diff` block at most.
const MAX_DIFF_PAIRS: usize = 1_000;

const LEVELS: [Detail; 7] = [
    Detail {
        graph: true,
        diff_lines: usize::MAX,
        groups_per_table: MAX_GROUPS,
        assumptions: true,
    },
    Detail {
        graph: false,
        diff_lines: usize::MAX,
        groups_per_table: MAX_GROUPS,
        assumptions: true,
    },
    Detail {
        graph: false,
        diff_lines: 200,
        groups_per_table: MAX_GROUPS,
        assumptions: true,
    },
    Detail {
        graph: false,
        diff_lines: 0,
        groups_per_table: 100,
        assumptions: true,
    },
    Detail {
        graph: false,
        diff_lines: 0,
        groups_per_table: 30,
        assumptions: true,
    },
    Detail {
        graph: false,
        diff_lines: 0,
        groups_per_table: 10,
        assumptions: false,
    },
    Detail {
        graph: false,
        diff_lines: 0,
        groups_per_table: 3,
        assumptions: false,
    },
];

pub fn render(
    cmp: &Comparison,
    view: &DiffView,
    gates: &[GateOutcome],
    opts: &MarkdownOptions,
) -> String {
    let (diff_lines, pairs_left) = changed_lines(cmp, MAX_DIFF_PAIRS);
    let page = Page {
        cmp,
        view,
        gates,
        opts,
        findings: crate::review::findings::build(cmp, view),
        diff_lines: &diff_lines,
        pairs_left,
    };
    let mut last = String::new();
    for level in LEVELS {
        let out = page.render(level);
        if out.len() <= opts.budget {
            return out;
        }
        last = out;
    }
    // Even the leanest form is too long (thousands of gate violations, say):
    // cut at a character boundary and say so. The verdict line comes first.
    let note = "\n\n_…cut to fit GitHub's comment size limit._\n";
    let mut end = opts.budget.saturating_sub(note.len()).min(last.len());
    while !last.is_char_boundary(end) {
        end -= 1;
    }
    last.truncate(end);
    last.push_str(note);
    last
}

/// The comment for one review.
pub fn render_review(r: &crate::review::Review, opts: &MarkdownOptions) -> String {
    render(&r.comparison, &r.view, &r.gates, opts)
}

/// One comment for several environments: a section per environment that
/// changed or could not be fully analysed (sharing the budget), the names
/// of those that did not change, and why each environment is one.
pub fn render_environments(
    envs: &[crate::review::EnvironmentReview],
    p: &super::Presentation,
) -> String {
    use crate::review::Status;
    let sections: Vec<&crate::review::EnvironmentReview> =
        envs.iter().filter(|e| super::worth_a_section(e)).collect();
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    for e in &sections {
        let name = super::env_name(e);
        let part = match (&e.review, e.status) {
            (Some(r), Status::BaseFailed) => {
                let notice = format!(
                    "⚠️ **The base could not be analysed**, so the head is compared against an \
                     empty cluster: every path counts as opened.\n{}",
                    error_list(&e.errors, 10)
                );
                render_review(
                    r,
                    &p.markdown_with(Some(name), sections.len(), Some(notice)),
                )
            }
            (Some(r), _) => render_review(r, &p.markdown(Some(name), sections.len())),
            (None, _) => failed_section(e, p),
        };
        let part = part.strip_prefix(MARKER).unwrap_or(&part);
        out.push_str(part.trim_start_matches('\n'));
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    if sections.is_empty() {
        let _ = writeln!(
            out,
            "### reachdiff · no change in reachability in any environment\n"
        );
    }
    let unchanged: Vec<String> = envs
        .iter()
        .filter(|e| !super::worth_a_section(e))
        .map(|e| code(&super::env_name(e)))
        .collect();
    if !unchanged.is_empty() {
        let _ = writeln!(
            out,
            "**Unchanged environments:** {}\n",
            unchanged.join(", ")
        );
    }
    environments_details(&mut out, envs, &p.environment_notes);
    out
}

/// The section of an environment whose head could not be analysed.
fn failed_section(e: &crate::review::EnvironmentReview, p: &super::Presentation) -> String {
    let mut out = String::new();
    let gate = e.incomplete_gate();
    let tripped = gate.as_ref().is_some_and(|g| !g.passed);
    let _ = writeln!(
        out,
        "### reachdiff · {} · {}\n",
        md(&super::env_name(e)),
        if tripped {
            "⛔ not analysed"
        } else {
            "⚠️ not analysed on either side"
        }
    );
    let what = match e.status {
        crate::review::Status::HeadFailed => format!(
            "The head ({}) could not be analysed, so this environment has no report.",
            md(&p.head_label)
        ),
        _ if !tripped => "Neither side could be analysed, with the same errors on both: \
                          this change did not cause them."
            .to_string(),
        _ => format!(
            "Neither the base ({}) nor the head ({}) could be analysed.",
            md(&p.base_label),
            md(&p.head_label)
        ),
    };
    let _ = writeln!(out, "{what}");
    if let Some(g) = gate.filter(|g| !g.passed) {
        let _ = writeln!(
            out,
            "**Gate failed:** {} — {}",
            code(&g.name),
            md_message(&g.message)
        );
    }
    out.push('\n');
    out.push_str(&error_list(&e.errors, 20));
    out
}

/// Errors as a Markdown list, each with its side; at most `cap`.
fn error_list(errors: &[crate::review::SideError], cap: usize) -> String {
    let mut out = String::new();
    for err in errors.iter().take(cap) {
        let _ = writeln!(out, "- {}: {}", err.side.as_str(), code(&err.to_string()));
    }
    if errors.len() > cap {
        let _ = writeln!(
            out,
            "- …and {} more (every error is in the JSON report)",
            errors.len() - cap
        );
    }
    out
}

/// Which environments there are and why, one line each, folded away.
fn environments_details(
    out: &mut String,
    envs: &[crate::review::EnvironmentReview],
    notes: &[String],
) {
    let lines: Vec<String> = envs
        .iter()
        .filter_map(|e| {
            e.why
                .as_ref()
                .map(|w| format!("- {}: {}", code(&super::env_name(e)), md(w)))
        })
        .collect();
    if lines.is_empty() && notes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<details><summary>Environments ({})</summary>\n",
        envs.len()
    );
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "\nLeft out:");
        for n in notes.iter().take(20) {
            let _ = writeln!(out, "- {}", md(n));
        }
        if notes.len() > 20 {
            let _ = writeln!(out, "- …and {} more", notes.len() - 20);
        }
    }
    let _ = writeln!(out, "</details>");
}

/// The headline: the risk first (new exposures), then what may break
/// (closed paths), then what is newly allowed.
fn verdict(view: &DiffView) -> String {
    let opened = view.exposures.len() + view.opened.len();
    if opened == 0 && view.closed.is_empty() {
        return match view.policies_without_effect() {
            Some(line) => format!("✅ no change in reachability · ⚠️ {line}"),
            None => "✅ no change in reachability".into(),
        };
    }
    let mut parts = Vec::new();
    let count = |f: fn(&Group) -> bool| view.exposures.iter().filter(|g| f(g)).count();
    let from_internet = count(|g| g.from_internet);
    let to_internet = count(|g| g.to_internet && !g.from_internet);
    let sensitive = count(|g| g.to_sensitive && !g.to_internet && !g.from_internet);
    let cluster = count(|g| !g.from_internet && !g.to_internet && !g.to_sensitive);
    if from_internet > 0 {
        parts.push(format!(
            "⚠️ {} from the internet",
            plural(from_internet, "new exposure", "new exposures")
        ));
    }
    if to_internet > 0 {
        parts.push(format!(
            "⚠️ {} to the internet",
            plural(to_internet, "new path", "new paths")
        ));
    }
    if sensitive > 0 {
        parts.push(format!(
            "⚠️ {} to the API server, a node or a DNS name",
            plural(sensitive, "new path", "new paths")
        ));
    }
    if cluster > 0 {
        parts.push(format!(
            "⚠️ {} to the whole cluster or external addresses",
            plural(cluster, "new exposure", "new exposures")
        ));
    }
    if !view.closed.is_empty() {
        parts.push(format!(
            "🔒 {} closed (may break)",
            plural(view.closed.len(), "path", "paths")
        ));
    }
    parts.push(if opened == 0 {
        "nothing opened".to_string()
    } else {
        format!("🔓 {} opened", plural(opened, "path", "paths"))
    });
    parts.join(" · ")
}

fn table(
    out: &mut String,
    groups: &[Group],
    notes: Option<&[Vec<Fold>]>,
    cap: usize,
    opts: &MarkdownOptions,
) -> usize {
    if groups.is_empty() {
        return 0;
    }
    let _ = writeln!(out, "| to | ports | from | cause |\n|---|---|---|---|");
    let mut previous = String::new();
    let mut previous_denied = None;
    for (i, g) in groups.iter().take(cap).enumerate() {
        let causes = causes_md(g, opts);
        let denied = g.now_denied.as_ref().map(|nd| now_denied_md(nd, opts));
        // A cause said in full once: a table of ten rows with one cause is
        // read as one change.
        let same = i > 0 && causes == previous;
        let mut cell = if same {
            "same as above".to_string()
        } else {
            causes.clone()
        };
        if let Some(d) = denied
            .as_ref()
            .filter(|d| !same || previous_denied.as_ref() != Some(*d))
        {
            cell.push_str("<br>");
            cell.push_str(d);
        }
        previous_denied = denied;
        if let Some(folds) = notes.and_then(|n| n.get(i)).filter(|f| !f.is_empty()) {
            cell.push_str("<br>");
            cell.push_str(&folds_md(folds));
        }
        previous = causes;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            phrase_md(&g.to_text),
            ports_md(g),
            phrase_md(&g.from_text),
            cell
        );
    }
    groups.len().saturating_sub(cap)
}

/// Lists shorter than this are shown whole in the comment; a complete
/// report shows them whole as far as the budget allows.
const COMMENT_ROWS: usize = 12;
const COMMENT_FINDINGS: usize = 10;

/// Everything one comment is made of; rendered at a level of detail.
struct Page<'a> {
    cmp: &'a Comparison,
    view: &'a DiffView,
    gates: &'a [GateOutcome],
    opts: &'a MarkdownOptions,
    findings: FindingsView<'a>,
    /// The `diff` block's lines, and the changed pairs they leave out.
    diff_lines: &'a [String],
    pairs_left: usize,
}

/// A comment being written, and what had to be left out of it to fit.
struct Draft {
    out: String,
    left_out: Vec<String>,
}

impl Page<'_> {
    fn render(&self, d: Detail) -> String {
        let mut w = Draft {
            out: String::new(),
            left_out: Vec::new(),
        };
        self.heading(&mut w);
        self.gates(&mut w, d);
        self.tables(&mut w, d);
        self.findings(&mut w, d);
        self.graph_and_rows(&mut w, d);
        self.assumptions(&mut w, d);
        self.cut_note(&mut w);
        self.footer(&mut w);
        w.out
    }

    /// Where every item of a capped list can be read.
    fn elsewhere(&self, what: &str) -> String {
        let full = match (&self.opts.full_report_hint, self.opts.complete) {
            (Some(h), false) => format!("{}; ", md(h)),
            _ => String::new(),
        };
        format!("{full}{what}")
    }

    fn heading(&self, w: &mut Draft) {
        let _ = writeln!(w.out, "{MARKER}");
        let title = self
            .opts
            .title
            .as_deref()
            .map(|t| format!(" · {}", md(t)))
            .unwrap_or_default();
        let _ = writeln!(w.out, "### reachdiff{title} · {}\n", verdict(self.view));
        if let Some(n) = &self.opts.notice {
            let _ = writeln!(w.out, "{n}\n");
        }
    }

    fn gates(&self, w: &mut Draft, d: Detail) {
        for g in self.gates.iter().filter(|g| !g.passed) {
            let _ = writeln!(
                w.out,
                "**Gate failed:** {} — {}",
                code(&g.name),
                md_message(&g.message)
            );
            let shown = d.groups_per_table.min(10);
            for v in g.violations.iter().take(shown) {
                let _ = writeln!(w.out, "- {}", code(v));
            }
            if g.violations.len() > shown {
                let more = g.violations.len() - shown;
                let _ = writeln!(
                    w.out,
                    "- …and {more} more ({})",
                    self.elsewhere("the JSON report's `gates` lists every one")
                );
            }
            w.out.push('\n');
        }
        let passed: Vec<String> = self
            .gates
            .iter()
            .filter(|g| g.passed)
            .map(|g| code(&g.name))
            .collect();
        if !passed.is_empty() {
            let _ = writeln!(w.out, "Gates passed: {}\n", passed.join(", "));
        }
    }

    /// Findings and warnings the change introduces that no table row
    /// already says, one line per object and code; then what it resolves.
    fn findings(&self, w: &mut Draft, d: Detail) {
        let f = &self.findings;
        if !f.introduced.is_empty() {
            let n: usize = f.introduced.iter().map(|g| g.items.len()).sum();
            let _ = writeln!(w.out, "#### 🧭 Findings this pull request introduces ({n})");
            let cap = if self.opts.complete {
                d.groups_per_table.max(COMMENT_FINDINGS)
            } else {
                COMMENT_FINDINGS.min(d.groups_per_table.max(3))
            };
            for g in f.introduced.iter().take(cap) {
                let _ = writeln!(w.out, "- {}", self.finding_line(g));
            }
            if f.introduced.len() > cap {
                let more: usize = f.introduced[cap..].iter().map(|g| g.items.len()).sum();
                let _ = writeln!(
                    w.out,
                    "- …and {} more ({})",
                    plural(more, "finding", "findings"),
                    self.elsewhere(
                        "`reachdiff lint` and the JSON report's `findings` list every one"
                    )
                );
            }
            w.out.push('\n');
        }
        for (b, h) in &f.improved {
            let _ = writeln!(w.out, "✔️ Improves {}\n", improvement_md(b, h));
        }
        if !f.resolved.is_empty() {
            let n: usize = f.resolved.iter().map(|g| g.items.len()).sum();
            let shown: Vec<String> = f
                .resolved
                .iter()
                .take(5)
                .map(|g| {
                    format!(
                        "{} {}",
                        code(g.code.as_str()),
                        g.object.as_deref().map(code).unwrap_or_default()
                    )
                })
                .collect();
            let more = if f.resolved.len() > 5 {
                format!(
                    " and {} more (the JSON report's `findings` lists every one)",
                    f.resolved.len() - 5
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                w.out,
                "✔️ Resolves {}: {}{more}\n",
                plural(n, "finding or warning", "findings and warnings"),
                shown.join(", ")
            );
        }
        self.proposed(w);
        self.acknowledged(w);
    }

    /// Where an acknowledgement is written, linked when it is a line.
    fn ack_place(&self, a: &Acknowledgement) -> String {
        match &a.source {
            AckSource::Config { index } => {
                format!("`.reachdiff.yaml` `acknowledge[{index}]`")
            }
            AckSource::Annotation(span) => link(span, false, self.opts),
        }
    }

    /// Acknowledgements the change adds: in plain sight, since approving
    /// them is the reviewer's call; they acknowledge nothing yet.
    fn proposed(&self, w: &mut Draft) {
        let p = &self.findings.proposed;
        if p.is_empty() {
            return;
        }
        let _ = writeln!(
            w.out,
            "#### 📝 Acknowledgements proposed by this pull request ({})\nThey count once merged; until then they acknowledge nothing.",
            p.len()
        );
        for (a, n) in p {
            let _ = writeln!(
                w.out,
                "- {} on {}: {} ({}) — {}",
                code(&a.code),
                code(&a.object),
                md(&a.reason),
                if *n == 0 {
                    "matches no finding".to_string()
                } else {
                    format!("would acknowledge {}", plural(*n, "finding", "findings"))
                },
                self.ack_place(a)
            );
        }
        w.out.push('\n');
    }

    /// Introduced findings the base acknowledges, collapsed with their
    /// reasons; every acknowledged finding is counted.
    fn acknowledged(&self, w: &mut Draft) {
        let f = &self.findings;
        if f.acknowledged_total == 0 {
            return;
        }
        let n = f.acknowledged.len();
        let older = f.acknowledged_total.saturating_sub(n);
        let summary = match (n, older) {
            (0, _) => plural(older, "finding", "findings"),
            (_, 0) => format!("{n} introduced"),
            _ => format!("{n} introduced, {} in all", f.acknowledged_total),
        };
        let _ = writeln!(
            w.out,
            "<details><summary>✅ Acknowledged as intended: {summary} (never trips a gate)</summary>\n"
        );
        for (d, a) in &f.acknowledged {
            let _ = writeln!(
                w.out,
                "- {} {}: {} — {}",
                code(d.code.as_str()),
                d.object.as_deref().map(code).unwrap_or_default(),
                md(&a.reason),
                self.ack_place(a)
            );
        }
        if older > 0 {
            let _ = writeln!(
                w.out,
                "- {} on both revisions (`reachdiff lint` lists them)",
                plural(
                    older,
                    "acknowledged finding exists",
                    "acknowledged findings exist"
                )
            );
        }
        w.out.push_str("</details>\n\n");
    }

    /// One line for the findings of one code on one object.
    fn finding_line(&self, g: &FindingGroup<'_>) -> String {
        let first = g.items[0];
        let mut line = code(g.code.as_str());
        if g.is_error() {
            line.push_str(" (**error**)");
        }
        line.push(' ');
        if let Some(o) = &g.object {
            line.push_str(&format!("{}: ", code(o)));
        }
        line.push_str(&md_message(&first.message));
        if let Some(span) = &first.span {
            line.push_str(&format!(" — {}", link(span, false, self.opts)));
        }
        if g.items.len() > 1 {
            let fields: Vec<String> = g.items[1..]
                .iter()
                .map(|d| match (&d.field, &d.span) {
                    (Some(f), Some(s)) => format!("{} ({})", code(f), link(s, false, self.opts)),
                    (Some(f), None) => code(f),
                    (None, Some(s)) => link(s, false, self.opts),
                    (None, None) => "another place".into(),
                })
                .collect();
            line.push_str(&format!("; the same for {}", fields.join(", ")));
        }
        line
    }

    /// One table of groups under `heading`, cut at `cap`.
    fn table(
        &self,
        w: &mut Draft,
        heading: &str,
        groups: &[Group],
        notes: Option<&[Vec<Fold>]>,
        cap: usize,
        what: &str,
    ) {
        if groups.is_empty() {
            return;
        }
        let _ = writeln!(w.out, "{heading}");
        let left = table(&mut w.out, groups, notes, cap, self.opts);
        if left > 0 {
            let _ = writeln!(
                w.out,
                "\n_…and {left} more {what} ({})._",
                self.elsewhere("the JSON report has every row")
            );
            w.left_out.push(format!("{left} {what}"));
        }
        w.out.push('\n');
    }

    fn tables(&self, w: &mut Draft, d: Detail) {
        let v = self.view;
        self.table(
            w,
            &format!("#### ⚠️ New exposure ({})", v.exposures.len()),
            &v.exposures,
            None,
            d.groups_per_table.max(10),
            "exposure groups",
        );
        let more = if v.exposures.is_empty() { "" } else { " more" };
        self.table(
            w,
            &format!("#### 🔓 Opened ({}{more})", v.opened.len()),
            &v.opened,
            None,
            d.groups_per_table,
            "opened groups",
        );
        self.table(
            w,
            &format!("#### 🔒 Closed ({}) — what may break", v.closed.len()),
            &v.closed,
            Some(&self.findings.closed_notes),
            d.groups_per_table,
            "closed groups",
        );
    }

    fn graph_and_rows(&self, w: &mut Draft, d: Detail) {
        let v = self.view;
        let all_groups: Vec<(&Group, bool)> = v
            .exposures
            .iter()
            .chain(&v.opened)
            .map(|g| (g, true))
            .chain(v.closed.iter().map(|g| (g, false)))
            .collect();
        if all_groups.is_empty() {
            return;
        }
        // A graph of more paths than a reader can follow is left out on
        // purpose, not for size, so it is not reported as cut; the tables
        // above say the same.
        if let Some(graph) = mermaid(&all_groups) {
            if d.graph {
                let _ = writeln!(
                    w.out,
                    "<details><summary>Picture of the changed paths</summary>\n\n```mermaid\n{graph}```\n</details>\n"
                );
            } else {
                w.left_out.push("the graph".into());
            }
        }
        self.changed_rows(w, d);
    }

    /// The `diff` block of every changed row, as far as the level allows.
    /// The comment lists a few; longer lists live in the complete report.
    fn changed_rows(&self, w: &mut Draft, d: Detail) {
        let lines = self.diff_lines;
        if lines.is_empty() {
            return;
        }
        let total = (self.view.opened_rows, self.view.closed_rows);
        if !self.opts.complete && lines.len() > COMMENT_ROWS {
            let _ = writeln!(
                w.out,
                "Every changed row ({} opened, {} closed): {}.\n",
                total.0,
                total.1,
                self.elsewhere(
                    "the JSON report (`reachdiff diff --format json`, the Action's `report-json`) lists each"
                )
            );
            return;
        }
        if d.diff_lines == 0 {
            w.left_out
                .push(format!("the list of {} changed rows", lines.len()));
            return;
        }
        let shown: Vec<&str> = lines
            .iter()
            .take(d.diff_lines)
            .map(String::as_str)
            .collect();
        let body = shown.join("\n");
        let fence = "`".repeat(3.max(longest_backtick_run(&body) + 1));
        let _ = writeln!(
            w.out,
            "<details><summary>Every changed row ({} opened, {} closed)</summary>\n\n{fence}diff\n{body}\n{fence}",
            total.0, total.1
        );
        if lines.len() > shown.len() {
            let more = lines.len() - shown.len();
            let _ = writeln!(w.out, "\n_…and {more} more lines._");
            w.left_out.push(format!("{more} changed-row lines"));
        }
        if self.pairs_left > 0 {
            let left = self.pairs_left;
            let _ = writeln!(
                w.out,
                "\n_…and {left} more changed pairs ({})._",
                self.elsewhere("the JSON report has every row")
            );
            w.left_out
                .push(format!("{left} more changed pairs in the row list"));
        }
        let _ = writeln!(w.out, "</details>\n");
    }

    fn assumptions(&self, w: &mut Draft, d: Detail) {
        if !d.assumptions {
            w.left_out.push("the assumptions".into());
            return;
        }
        let assumptions = assumptions(self.cmp);
        if assumptions.is_empty() {
            return;
        }
        let _ = writeln!(
            w.out,
            "<details><summary>Warnings and assumptions ({})</summary>\n",
            assumptions.len()
        );
        for a in assumptions {
            let _ = writeln!(w.out, "- {a}");
        }
        let _ = writeln!(w.out, "</details>\n");
    }

    fn cut_note(&self, w: &mut Draft) {
        if w.left_out.is_empty() {
            return;
        }
        let hint = self
            .opts
            .full_report_hint
            .as_deref()
            .map(|h| format!(" The full report: {}.", md(h)))
            .unwrap_or_else(|| " Run `reachdiff diff --format json` for every row.".into());
        let _ = writeln!(
            w.out,
            "> [!NOTE]\n> Cut to fit GitHub's comment size limit: {} left out.{hint}\n",
            w.left_out.join(", ")
        );
    }

    fn footer(&self, w: &mut Draft) {
        let s = &self.cmp.diff.stats;
        let opts = self.opts;
        let elapsed = opts
            .elapsed
            .map(|e| format!(" · analysed in {e:.2} s"))
            .unwrap_or_default();
        let config = opts
            .config
            .as_deref()
            .map(|c| format!(" · configuration: {}", md(c)))
            .unwrap_or_default();
        let _ = writeln!(
            w.out,
            "<sub>{} → {} · {} · {}{config}{elapsed}</sub>",
            md(&opts.base_label),
            md(&opts.head_label),
            plural(s.workloads_head, "workload", "workloads"),
            plural(s.policies_head, "policy", "policies"),
        );
    }
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// The picture earns its bytes only where it shows what the tables do not
/// (README, "The comment"): paths that meet at a set of endpoints (a
/// shared source or destination, or a chain through one), with at most
/// this many nodes, each label whole. One arrow, or arrows that share no
/// endpoint, are the table again; a larger picture, or one with cut
/// labels, is not read.
const MAX_GRAPH_NODES: usize = 8;
const MAX_GRAPH_LABEL: usize = 100;

fn mermaid(groups: &[(&Group, bool)]) -> Option<String> {
    let mut nodes: Vec<String> = Vec::new();
    let mut id = |label: String| match nodes.iter().position(|n| *n == label) {
        Some(i) => i,
        None => {
            nodes.push(label);
            nodes.len() - 1
        }
    };
    let edges: Vec<(usize, usize, &Group, bool)> = groups
        .iter()
        .map(|(g, opened)| (id(g.from_text.plain()), id(g.to_node.plain()), *g, *opened))
        .collect();
    if nodes.len() > MAX_GRAPH_NODES || nodes.iter().any(|l| l.chars().count() > MAX_GRAPH_LABEL) {
        return None;
    }
    let mut neighbours: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); nodes.len()];
    for &(a, b, _, _) in &edges {
        if a != b {
            neighbours[a].insert(b);
            neighbours[b].insert(a);
        }
    }
    if neighbours.iter().all(|n| n.len() < 2) {
        return None;
    }
    let mut out = String::from("flowchart LR\n");
    for (i, label) in nodes.iter().enumerate() {
        let _ = writeln!(out, "  n{i}[\"{}\"]", mermaid_label(label));
    }
    for (from, to, g, opened) in edges {
        let ports = mermaid_label(&crate::words::conn_text(&g.conn));
        if opened {
            let _ = writeln!(out, "  n{from} -- \"{ports}\" --> n{to}");
        } else {
            let _ = writeln!(out, "  n{from} -. \"{ports} closed\" .-> n{to}");
        }
    }
    Some(out)
}

/// `+`/`-` lines of the changed pairs, from `similar` over the base and head
/// listings of exactly those pairs.
/// Returns the lines of at most `max_pairs` changed pairs and how many
/// pairs were not listed.
pub fn changed_lines(cmp: &Comparison, max_pairs: usize) -> (Vec<String>, usize) {
    let eps = &cmp.diff.endpoints;
    let mut pairs: Vec<(usize, usize)> = cmp
        .diff
        .opened
        .iter()
        .chain(&cmp.diff.closed)
        .map(|r| (r.src, r.dst))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let left = pairs.len().saturating_sub(max_pairs);
    pairs.truncate(max_pairs);
    let line = |a: &crate::reach::Analysis, head: bool, s: usize, d: usize| -> Option<String> {
        let pick = |u: usize| if head { eps[u].head } else { eps[u].base };
        let c = match (pick(s), pick(d)) {
            (Some(x), Some(y)) => a.reach(x, y),
            _ => return None,
        };
        (!c.is_empty()).then(|| {
            format!(
                "{} -> {}  {}\n",
                eps[s].id,
                eps[d].id,
                crate::words::conn_text(&c)
            )
        })
    };
    // Each changed pair is its own hunk, so a partly closed path shows its
    // old and its remaining ports side by side.
    let mut out = Vec::new();
    for &(s, d) in &pairs {
        let before = line(&cmp.base.analysis, false, s, d).unwrap_or_default();
        let after = line(&cmp.head.analysis, true, s, d).unwrap_or_default();
        let diff = similar::TextDiff::from_lines(&before, &after);
        for c in diff.iter_all_changes() {
            let sign = match c.tag() {
                similar::ChangeTag::Insert => "+",
                similar::ChangeTag::Delete => "-",
                similar::ChangeTag::Equal => continue,
            };
            out.push(format!("{sign} {}", c.value().trim_end()));
        }
    }
    (out, left)
}

/// What the analysis had to assume about the head revision, and how many
/// warnings the change leaves as they were.
pub fn assumptions(cmp: &Comparison) -> Vec<String> {
    const ASSUMPTIONS: [Code; 7] = [
        Code::IpFamilies,
        Code::NamespaceAssumed,
        Code::HostNetwork,
        Code::ControllerLabel,
        Code::IpBlockClusterRange,
        Code::MissingRequiredField,
        Code::UnsupportedPeer,
    ];
    let changes = crate::review::view::warning_changes(cmp);
    let key = |d: &crate::diag::Diagnostic| (d.code, d.object.clone(), d.message.clone());
    let introduced: std::collections::BTreeSet<_> =
        changes.introduced.iter().map(|d| key(d)).collect();
    let mut by_code: BTreeMap<Code, Vec<String>> = BTreeMap::new();
    for d in cmp.head.diagnostics.iter() {
        // Warnings the change introduces are listed above, not here.
        if ASSUMPTIONS.contains(&d.code) && !introduced.contains(&key(d)) {
            by_code.entry(d.code).or_default().push(d.message.clone());
        }
    }
    let mut out = Vec::new();
    for (c, mut msgs) in by_code {
        msgs.sort();
        msgs.dedup();
        let shown: Vec<String> = msgs.iter().take(3).map(|m| md_message(m)).collect();
        let more = if msgs.len() > 3 {
            format!(" (and {} more)", msgs.len() - 3)
        } else {
            String::new()
        };
        out.push(format!("{} {}{more}", code(c.as_str()), shown.join("; ")));
    }
    let skipped = &cmp.head.inventory.skipped;
    if !skipped.is_empty() {
        let list: Vec<String> = skipped
            .iter()
            .map(|(k, n)| format!("{} ×{n}", md(k)))
            .collect();
        out.push(format!(
            "Skipped kinds that do not change reachability: {}",
            list.join(", ")
        ));
    }
    let unchanged = changes.unchanged;
    if unchanged > 0 {
        out.push(format!(
            "{} on both revisions (`reachdiff reach -v` lists them)",
            plural(unchanged, "warning exists", "warnings exist")
        ));
    }
    if changes.unchanged_findings > 0 {
        out.push(format!(
            "{} on both revisions (`reachdiff lint` lists them)",
            plural(
                changes.unchanged_findings,
                "finding exists",
                "findings exist"
            )
        ));
    }
    out
}
