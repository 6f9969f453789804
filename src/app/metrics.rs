//! Prometheus metrics in the text exposition format (version 0.0.4),
//! written by hand: a few counters with labels and two histograms do not
//! need a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds (seconds) of the duration histograms' buckets.
const BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += secs;
        self.count += 1;
    }
}

#[derive(Default)]
struct Inner {
    /// (metric name, rendered label set) → value.
    counters: BTreeMap<(&'static str, String), u64>,
    histograms: BTreeMap<&'static str, Histogram>,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Label values come from GitHub (event names) or from reachdiff; escape
/// them anyway, as the format requires.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    inner.join(",")
}

const HELP: &[(&str, &str, &str)] = &[
    (
        "reachdiff_webhook_deliveries_total",
        "counter",
        "Webhook deliveries by event and result.",
    ),
    (
        "reachdiff_jobs_total",
        "counter",
        "Analysis jobs by outcome.",
    ),
    (
        "reachdiff_github_requests_total",
        "counter",
        "GitHub API requests by method and status (0: no answer).",
    ),
    (
        "reachdiff_analysis_seconds",
        "histogram",
        "Fetching and analysing one pull request.",
    ),
    (
        "reachdiff_job_seconds",
        "histogram",
        "From the delivery to the completed check run.",
    ),
];

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn delivery(&self, event: &str, result: &str) {
        // Unknown events are counted under one name: a sender cannot grow
        // the label set without bound.
        let event = if super::events::KNOWN_EVENTS.contains(&event) {
            event
        } else {
            "other"
        };
        self.inc(
            "reachdiff_webhook_deliveries_total",
            &[("event", event), ("result", result)],
        );
    }

    pub fn job(&self, outcome: &str) {
        self.inc("reachdiff_jobs_total", &[("outcome", outcome)]);
    }

    pub fn github(&self, method: &str, status: u16) {
        self.inc(
            "reachdiff_github_requests_total",
            &[("method", method), ("status", &status.to_string())],
        );
    }

    pub fn analysis_seconds(&self, secs: f64) {
        self.observe("reachdiff_analysis_seconds", secs);
    }

    pub fn job_seconds(&self, secs: f64) {
        self.observe("reachdiff_job_seconds", secs);
    }

    fn inc(&self, name: &'static str, l: &[(&str, &str)]) {
        *self.lock().counters.entry((name, labels(l))).or_default() += 1;
    }

    fn observe(&self, name: &'static str, secs: f64) {
        self.lock()
            .histograms
            .entry(name)
            .or_default()
            .observe(secs);
    }

    /// A counter's value (tests and logs).
    pub fn counter(&self, name: &str, l: &[(&str, &str)]) -> u64 {
        let key = labels(l);
        self.lock()
            .counters
            .iter()
            .find(|((n, k), _)| *n == name && *k == key)
            .map_or(0, |(_, v)| *v)
    }

    /// The exposition text; gauges are read at scrape time.
    pub fn render(&self, queue_depth: usize, running: usize) -> String {
        let g = self.lock();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP reachdiff_queue_depth Jobs waiting for a worker.\n# TYPE reachdiff_queue_depth gauge\nreachdiff_queue_depth {queue_depth}"
        );
        let _ = writeln!(
            out,
            "# HELP reachdiff_jobs_running Jobs being analysed.\n# TYPE reachdiff_jobs_running gauge\nreachdiff_jobs_running {running}"
        );
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            if *kind == "counter" {
                for ((n, l), v) in g.counters.iter().filter(|((n, _), _)| n == name) {
                    let _ = writeln!(out, "{n}{{{l}}} {v}");
                }
            } else {
                let h = g.histograms.get(name).cloned().unwrap_or_default();
                for (b, c) in BUCKETS.iter().zip(h.counts) {
                    let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {c}");
                }
                let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "{name}_sum {}", h.sum);
                let _ = writeln!(out, "{name}_count {}", h.count);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition() {
        let m = Metrics::default();
        m.delivery("pull_request", "queued");
        m.delivery("pull_request", "queued");
        m.delivery("x\"\nevil", "ignored");
        m.job("success");
        m.github("POST", 201);
        m.job_seconds(0.7);
        m.job_seconds(4.0);
        let t = m.render(3, 1);
        assert!(t.contains(
            "reachdiff_webhook_deliveries_total{event=\"pull_request\",result=\"queued\"} 2"
        ));
        assert!(
            t.contains("reachdiff_webhook_deliveries_total{event=\"other\",result=\"ignored\"} 1")
        );
        assert!(t.contains("reachdiff_queue_depth 3"));
        assert!(t.contains("reachdiff_job_seconds_bucket{le=\"1\"} 1"));
        assert!(t.contains("reachdiff_job_seconds_bucket{le=\"5\"} 2"));
        assert!(t.contains("reachdiff_job_seconds_count 2"));
        assert!(t.contains("reachdiff_github_requests_total{method=\"POST\",status=\"201\"} 1"));
        assert_eq!(
            m.counter("reachdiff_jobs_total", &[("outcome", "success")]),
            1
        );
        // Every sample line is `name{labels} value` or `name value`.
        for l in t.lines().filter(|l| !l.starts_with('#')) {
            let (_, v) = l.rsplit_once(' ').unwrap();
            assert!(v.parse::<f64>().is_ok(), "{l}");
        }
    }
}
