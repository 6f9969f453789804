//! `reachdiff serve`: flags (each with an environment variable) → validated
//! [`crate::app::Settings`] → the GitHub App service.

use crate::app::{Secret, Settings};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port and prints it).
    #[arg(long, env = "REACHDIFF_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: String,
    /// The GitHub App's numeric id.
    #[arg(long, env = "REACHDIFF_APP_ID", value_name = "ID")]
    pub app_id: u64,
    /// The App's private key (PEM, PKCS#1 or PKCS#8).
    #[arg(long, env = "REACHDIFF_PRIVATE_KEY_PATH", value_name = "FILE")]
    pub private_key: PathBuf,
    /// A file holding the webhook secret (or set REACHDIFF_WEBHOOK_SECRET).
    #[arg(long, env = "REACHDIFF_WEBHOOK_SECRET_PATH", value_name = "FILE")]
    pub webhook_secret: Option<PathBuf>,
    /// GitHub's REST API (GitHub Enterprise Server: https://HOST/api/v3).
    #[arg(
        long,
        env = "REACHDIFF_GITHUB_API_URL",
        default_value = "https://api.github.com"
    )]
    pub github_api_url: String,
    /// The GitHub server whose clone URLs are accepted (default: the one
    /// the API URL implies: github.com for api.github.com, X for api.X,
    /// HOST for HOST/api/v3).
    #[arg(long, env = "REACHDIFF_GITHUB_WEB_URL", value_name = "URL")]
    pub github_web_url: Option<String>,
    /// Bare repositories fetched for analysis.
    #[arg(
        long,
        env = "REACHDIFF_CACHE_DIR",
        default_value = "/var/cache/reachdiff"
    )]
    pub cache_dir: PathBuf,
    /// Least recently used repositories are removed past this size.
    #[arg(
        long,
        env = "REACHDIFF_CACHE_MAX_BYTES",
        default_value_t = 8 << 30,
        value_name = "BYTES"
    )]
    pub cache_max_bytes: u64,
    /// Analyses run at once (default: the number of CPUs).
    #[arg(long, env = "REACHDIFF_WORKERS")]
    pub workers: Option<usize>,
    /// Pull requests waiting at most; beyond, deliveries get 503.
    #[arg(long, env = "REACHDIFF_QUEUE_CAPACITY", default_value_t = 10_000)]
    pub queue_capacity: usize,
    /// Seconds in-flight analyses get to finish after SIGTERM.
    #[arg(long, env = "REACHDIFF_SHUTDOWN_TIMEOUT", default_value_t = 25)]
    pub shutdown_timeout: u64,
    /// Seconds between reconciliations (open pull requests without a
    /// completed check run are queued; also at start).
    #[arg(long, env = "REACHDIFF_RECONCILE_INTERVAL", default_value_t = 600)]
    pub reconcile_interval: u64,
    /// Largest webhook body accepted (GitHub sends at most 25 MB).
    #[arg(long, env = "REACHDIFF_MAX_BODY", default_value_t = 25 << 20)]
    pub max_body: usize,
    /// Webhook bytes received at once, all deliveries together; beyond,
    /// 503 (at least --max-body).
    #[arg(long, env = "REACHDIFF_MAX_BYTES_IN_FLIGHT", default_value = "64MiB", value_parser = parse_size)]
    pub max_bytes_in_flight: u64,
    /// Webhook deliveries received or handled at once; beyond, 503.
    #[arg(long, env = "REACHDIFF_MAX_DELIVERIES", default_value_t = 64)]
    pub max_deliveries: usize,
    #[arg(long, env = "REACHDIFF_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Also fetch from file:// clone URLs (tests, benchmarks, local
    /// mirrors); otherwise only from the API's own GitHub server.
    #[arg(long, env = "REACHDIFF_ALLOW_LOCAL_CLONE_URLS")]
    pub allow_local_clone_urls: bool,
    /// Seconds each GitHub API request may take.
    #[arg(long, env = "REACHDIFF_GITHUB_TIMEOUT", default_value_t = 30)]
    pub github_timeout: u64,
    /// Memory one analysis may use (address space of its process:
    /// `768MiB`, `1GiB`, or bytes).
    #[arg(long, env = "REACHDIFF_JOB_MEMORY", default_value = "768MiB", value_parser = parse_size)]
    pub job_memory: u64,
    /// Seconds one analysis may take.
    #[arg(long, env = "REACHDIFF_JOB_TIMEOUT", default_value_t = 300)]
    pub job_timeout: u64,
    /// `postgres://USER:PASSWORD@HOST/DB`: several replicas share one job
    /// queue in PostgreSQL (default: this process's own; run one replica).
    /// The value (it may hold a password) is never shown.
    #[arg(
        long,
        env = "REACHDIFF_QUEUE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub queue_url: Option<String>,
    /// Seconds after which another replica takes over the job of a replica
    /// that stopped renewing its lease (must exceed --github-timeout).
    #[arg(long, env = "REACHDIFF_QUEUE_RECOVERY_SECONDS", default_value_t = 60)]
    pub queue_recovery_seconds: u64,
}

/// `768MiB`, `1GiB`, `512M`, `1G` or bytes.
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{s:?} is not a size"))?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "K" | "KiB" | "k" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        other => return Err(format!("unknown size unit {other:?} (B, KiB, MiB, GiB)")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Logs go to stderr; `REACHDIFF_LOG` filters (default `info`).
pub(super) fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("REACHDIFF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = match format {
        LogFormat::Json => b.json().try_init(),
        LogFormat::Text => b.try_init(),
    };
}

pub(super) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_tracing(args.log_format);
    let secret = match (
        &args.webhook_secret,
        std::env::var("REACHDIFF_WEBHOOK_SECRET").ok(),
    ) {
        (Some(p), _) => Secret::File(p.clone()),
        (None, Some(v)) if !v.is_empty() => Secret::Value(v),
        _ => anyhow::bail!(
            "the webhook secret is required: --webhook-secret FILE, REACHDIFF_WEBHOOK_SECRET_PATH or REACHDIFF_WEBHOOK_SECRET"
        ),
    };
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    if args.queue_capacity == 0 {
        anyhow::bail!("--queue-capacity must be at least 1");
    }
    let settings = Settings {
        listen: args.listen,
        app_id: args.app_id,
        private_key: args.private_key,
        web_url: match &args.github_web_url {
            Some(u) => {
                crate::app::check_web_url(u).map_err(|e| anyhow::anyhow!("--github-web-url {e}"))?
            }
            None => crate::app::web_url_for(args.github_api_url.trim_end_matches('/')),
        },
        api_url: args.github_api_url.trim_end_matches('/').to_string(),
        cache_dir: args.cache_dir,
        cache_max_bytes: args.cache_max_bytes,
        workers,
        queue_capacity: args.queue_capacity,
        shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
        reconcile_interval: Duration::from_secs(args.reconcile_interval.max(10)),
        max_body: args.max_body,
        max_bytes_in_flight: usize::try_from(args.max_bytes_in_flight).unwrap_or(usize::MAX),
        max_deliveries: args.max_deliveries,
        policy: crate::github::Policy {
            timeout: Duration::from_secs(args.github_timeout.max(1)),
            ..crate::github::Policy::default()
        },
        allow_local_clone_urls: args.allow_local_clone_urls,
        budget: crate::app::contain::Budget {
            memory: args.job_memory,
            time: Duration::from_secs(args.job_timeout),
        },
        queue_url: args.queue_url.filter(|u| !u.is_empty()),
        queue_recovery: Duration::from_secs(args.queue_recovery_seconds),
        replica: format!(
            "{}-{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "replica".into()),
            std::process::id()
        ),
    };
    crate::app::serve(settings, secret)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("768MiB"), Ok(768 << 20));
        assert_eq!(super::parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(super::parse_size("2G"), Ok(2 << 30));
        assert_eq!(super::parse_size("4096"), Ok(4096));
        assert!(super::parse_size("1TB").is_err());
        assert!(super::parse_size("MiB").is_err());
        assert!(super::parse_size("99999999999999GiB").is_err());
    }
}
