//! `reachdiff serve`: the GitHub App. An edge like the Action: webhooks in,
//! check runs and comments out, the same analysis as `reachdiff diff
//! --repo` in between.
//!
//! - [`signature`]: `X-Hub-Signature-256`, checked before anything else;
//! - [`events`]: deliveries → jobs (pure);
//! - [`store`]: the queue ([`crate::ops::queue`]: in the process, or shared
//!   in PostgreSQL) as handlers and workers use it;
//! - [`auth`]: App JWT and cached installation tokens;
//! - [`cache`]: bare repositories with only the needed commits;
//! - [`job`]: one analysis from check run to comment;
//! - [`contain`]: the analysis in a child process within the job budget;
//! - [`reconcile`]: queues open pull requests that lack a completed check;
//! - [`metrics`]: Prometheus text;
//! - [`server`]: axum routes, workers, shutdown.

pub mod auth;
pub mod cache;
pub mod contain;
pub mod events;
pub mod job;
pub mod metrics;
pub mod reconcile;
pub mod server;
pub mod signature;
pub mod store;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Validated settings of the service.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: String,
    pub app_id: u64,
    pub private_key: PathBuf,
    pub api_url: String,
    /// The server whose clone URLs are accepted (`scheme://host[:port]`).
    pub web_url: String,
    pub cache_dir: PathBuf,
    pub cache_max_bytes: u64,
    pub workers: usize,
    pub queue_capacity: usize,
    pub shutdown_timeout: Duration,
    pub reconcile_interval: Duration,
    pub max_body: usize,
    /// Webhook bytes being received at once, all deliveries together.
    pub max_bytes_in_flight: usize,
    /// Webhook deliveries being received or handled at once.
    pub max_deliveries: usize,
    /// Attempts and time limits of GitHub calls.
    pub policy: crate::github::Policy,
    /// Also fetch from `file://` clone URLs (tests, benchmarks, mirrors).
    pub allow_local_clone_urls: bool,
    /// Memory and time of one analysis.
    pub budget: contain::Budget,
    /// `postgres://…`: the queue shared by several replicas; none: the
    /// process's own (one replica).
    pub queue_url: Option<String>,
    /// How long a job's lease outlives its replica's last heartbeat: the
    /// time after which another replica takes a dead replica's job over.
    pub queue_recovery: Duration,
    /// This replica's name in the shared queue (host name and process).
    pub replica: String,
}

/// Where repositories may be fetched from: the GitHub server whose clone
/// URLs are accepted (`--github-web-url`, by default the one the API URL
/// implies; a payload naming another server is refused, even when signed),
/// and `file://` only when allowed.
#[derive(Clone, Debug)]
pub struct ClonePolicy {
    prefixes: Vec<String>,
}

/// The web (and git) server an API URL implies: `https://api.github.com` →
/// `https://github.com`; `https://api.X` → `https://X` (GitHub Enterprise
/// Cloud with data residency, `api.SUBDOMAIN.ghe.com`); a GitHub Enterprise
/// Server API `https://HOST/api/v3` → `https://HOST`; anything else → its
/// own `scheme://host[:port]`.
pub fn web_url_for(api_url: &str) -> String {
    let (scheme, rest) = api_url.split_once("://").unwrap_or(("https", api_url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    let host = match host.strip_prefix("api.") {
        // An API at the root of an `api.` host (github.com, GHE.com) is
        // served beside the web host its name continues with; one with a
        // path (GHES's /api/v3) lives on the web host itself.
        Some(web) if !web.is_empty() && rest.trim_end_matches('/') == host => web,
        _ => host,
    };
    format!("{scheme}://{host}")
}

/// `--github-web-url` checked: http(s), a host, no credentials, no path
/// beyond `/`, no query; returned as `scheme://host[:port]`.
pub fn check_web_url(url: &str) -> Result<String, String> {
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(s, _)| *s == "https" || *s == "http")
        .ok_or_else(|| format!("{url:?} is not an http(s) URL"))?;
    let rest = rest.trim_end_matches('/');
    if rest.is_empty()
        || rest.contains(['/', '?', '#', '@'])
        || rest.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "{url:?} must be scheme://host[:port] only (no path, query or credentials)"
        ));
    }
    Ok(format!("{scheme}://{}", rest.to_ascii_lowercase()))
}

impl ClonePolicy {
    /// Clone URLs below `web_url` (`scheme://host[:port]`), and `file://`
    /// when `allow_local`.
    pub fn new(web_url: &str, allow_local: bool) -> ClonePolicy {
        let mut prefixes = vec![format!("{}/", web_url.trim_end_matches('/'))];
        if allow_local {
            prefixes.push("file:///".into());
        }
        ClonePolicy { prefixes }
    }

    pub fn allows(&self, clone_url: &str) -> bool {
        self.prefixes.iter().any(|p| clone_url.starts_with(p))
    }

    pub fn describe(&self) -> String {
        self.prefixes.join(" or ")
    }
}

/// The webhook secret, from a file or the environment. Never printed.
pub enum Secret {
    File(PathBuf),
    Value(String),
}

impl Secret {
    fn load(&self) -> anyhow::Result<Vec<u8>> {
        let raw = match self {
            Secret::File(p) => std::fs::read(p)
                .map_err(|e| anyhow::anyhow!("--webhook-secret {}: {e}", p.display()))?,
            Secret::Value(v) => v.clone().into_bytes(),
        };
        // A file written by `echo` ends with a newline GitHub's secret
        // does not have.
        let trimmed = raw
            .strip_suffix(b"\r\n")
            .or_else(|| raw.strip_suffix(b"\n"))
            .unwrap_or(&raw)
            .to_vec();
        if trimmed.is_empty() {
            anyhow::bail!("the webhook secret is empty");
        }
        Ok(trimmed)
    }
}

/// The queue this replica uses: its own, or the fleet's in PostgreSQL
/// (`--queue-url`). The only place the App names an implementation.
fn open_queue(
    settings: &Settings,
    rt: &tokio::runtime::Runtime,
    attempts: crate::ops::queue::attempts::FileAttempts,
) -> anyhow::Result<Arc<dyn crate::ops::queue::JobQueue>> {
    use crate::ops::queue::{local::Local, postgres::Postgres};
    Ok(match &settings.queue_url {
        None => Arc::new(Local::new(settings.queue_capacity, attempts)),
        Some(url) => rt
            .block_on(Postgres::open(
                url,
                &settings.replica,
                settings.queue_recovery,
                settings.queue_capacity,
            ))
            .map_err(|e| anyhow::anyhow!("--queue-url: {e}"))?,
    })
}

/// Starts the service and runs it until SIGTERM/SIGINT.
pub fn serve(settings: Settings, secret: Secret) -> anyhow::Result<()> {
    if settings.app_id == 0 {
        anyhow::bail!("--app-id (REACHDIFF_APP_ID) is required: the App's numeric id");
    }
    let pem = std::fs::read(&settings.private_key)
        .map_err(|e| anyhow::anyhow!("--private-key {}: {e}", settings.private_key.display()))?;
    let key = auth::AppKey::from_pem(settings.app_id, &pem)
        .map_err(|e| anyhow::anyhow!("--private-key {}: {e}", settings.private_key.display()))?;
    drop(pem);
    let secret = secret.load()?;
    if !(settings.api_url.starts_with("https://") || settings.api_url.starts_with("http://")) {
        anyhow::bail!(
            "--github-api-url {:?} is not an http(s) URL",
            settings.api_url
        );
    }
    if settings.max_bytes_in_flight < settings.max_body {
        anyhow::bail!(
            "--max-bytes-in-flight ({}) must be at least --max-body ({})",
            settings.max_bytes_in_flight,
            settings.max_body
        );
    }
    if settings.max_deliveries == 0 {
        anyhow::bail!("--max-deliveries must be at least 1");
    }
    check_web_url(&settings.web_url).map_err(|e| anyhow::anyhow!("--github-web-url {e}"))?;
    if settings.workers == 0 || settings.workers > 256 {
        anyhow::bail!("--workers must be between 1 and 256");
    }
    let cache = cache::RepoCache::open(&settings.cache_dir, settings.cache_max_bytes)
        .map_err(|e| anyhow::anyhow!("--cache-dir: {e}"))?;
    let attempts = crate::ops::queue::attempts::FileAttempts::open(&settings.cache_dir)
        .map_err(|e| anyhow::anyhow!("--cache-dir: {e}"))?;
    if settings.budget.memory < 64 << 20 {
        anyhow::bail!("--job-memory must be at least 64 MiB");
    }
    if settings.budget.time.is_zero() {
        anyhow::bail!("--job-timeout must be at least 1 second");
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(settings.workers + 8)
        .enable_all()
        .build()?;
    if settings.queue_url.is_some() && settings.queue_recovery <= settings.policy.timeout {
        anyhow::bail!(
            "REACHDIFF_QUEUE_RECOVERY_SECONDS ({}) must exceed --github-timeout ({}): a replica waiting on GitHub must not lose its job",
            settings.queue_recovery.as_secs(),
            settings.policy.timeout.as_secs()
        );
    }
    let queue = open_queue(&settings, &rt, attempts)?;
    let store = store::Store::new(queue);
    let metrics = Arc::new(metrics::Metrics::default());
    let octo = {
        let _g = rt.enter();
        crate::github::transport(&settings.api_url, &settings.policy)?
    };
    let observer: crate::github::Observer = {
        let m = metrics.clone();
        Arc::new(move |method, status| m.github(method, status))
    };
    let tokens = Arc::new(auth::Tokens::new(
        Arc::new(key),
        &settings.api_url,
        octo,
        rt.handle().clone(),
        settings.policy.clone(),
        Some(observer),
    ));
    let ctx = job::Ctx {
        tokens,
        cache,
        store: Arc::new(store),
        rt: rt.handle().clone(),
        metrics,
        app_id: settings.app_id,
        clone_policy: ClonePolicy::new(&settings.web_url, settings.allow_local_clone_urls),
        bot: std::sync::OnceLock::new(),
        budget: settings.budget,
    };
    let result = rt.block_on(server::run(settings.clone(), ctx, secret));
    // Blocking jobs past the drain deadline are abandoned, not awaited:
    // reconciliation redoes them on the next start.
    rt.shutdown_timeout(Duration::from_secs(1));
    result
}

#[cfg(test)]
mod tests {
    use super::{ClonePolicy, check_web_url, web_url_for};

    #[test]
    fn clone_urls_must_be_on_the_web_server() {
        let dotcom = ClonePolicy::new(&web_url_for("https://api.github.com"), false);
        assert!(dotcom.allows("https://github.com/acme/gitops.git"));
        assert!(!dotcom.allows("https://github.com.evil.example/acme/gitops.git"));
        assert!(!dotcom.allows("https://evil.example/acme/gitops.git"));
        assert!(!dotcom.allows("file:///var/cache/reachdiff/other/repo.git"));
        let ghes = ClonePolicy::new(&web_url_for("https://ghe.example:8443/api/v3"), true);
        assert!(ghes.allows("https://ghe.example:8443/acme/gitops.git"));
        assert!(!ghes.allows("https://ghe.example/acme/gitops.git"));
        assert!(ghes.allows("file:///srv/mirror/acme/gitops"));
    }

    #[test]
    fn the_web_url_of_githubcom() {
        assert_eq!(web_url_for("https://api.github.com"), "https://github.com");
        assert_eq!(web_url_for("https://api.github.com/"), "https://github.com");
    }

    #[test]
    fn the_web_url_of_enterprise_cloud_with_data_residency() {
        assert_eq!(
            web_url_for("https://api.octocorp.ghe.com"),
            "https://octocorp.ghe.com"
        );
    }

    #[test]
    fn the_web_url_of_enterprise_server() {
        assert_eq!(
            web_url_for("https://ghe.example:8443/api/v3"),
            "https://ghe.example:8443"
        );
        assert_eq!(web_url_for("http://10.1.2.3/api/v3/"), "http://10.1.2.3");
        // An `api.` host with a path is a server of its own, not GHE.com.
        assert_eq!(
            web_url_for("https://api.corp.example/api/v3"),
            "https://api.corp.example"
        );
        // Anything else: the API's own server (test setups).
        assert_eq!(
            web_url_for("http://127.0.0.1:9000"),
            "http://127.0.0.1:9000"
        );
    }

    #[test]
    fn web_urls_are_checked() {
        assert_eq!(
            check_web_url("https://GHE.example:8443/").as_deref(),
            Ok("https://ghe.example:8443")
        );
        for bad in [
            "ftp://x",
            "github.com",
            "https://",
            "https://x/path",
            "https://u:p@x",
            "https://x?q",
            "https://x y",
        ] {
            assert!(check_web_url(bad).is_err(), "{bad}");
        }
    }
}
