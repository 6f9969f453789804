//! Authenticating as the App (a JWT signed RS256 with its private key) and
//! as an installation (an access token minted with that JWT, cached until
//! shortly before it expires, and minted again after a 401).
//!
//! SECURITY: the private key, the JWTs and the tokens live in memory only;
//! none of these types implements `Debug`, and errors never quote them.

use crate::github::{Client, Credentials, GitHubError, Observer, Policy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A token is minted again this long before GitHub says it expires.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// The App's identity: its id and RSA private key.
pub struct AppKey {
    pub app_id: u64,
    key: octocrab::EncodingKey,
}

impl AppKey {
    /// From a PEM file's contents: PKCS#1 (`BEGIN RSA PRIVATE KEY`, what
    /// GitHub hands out) or PKCS#8 (`BEGIN PRIVATE KEY`).
    pub fn from_pem(app_id: u64, pem: &[u8]) -> Result<AppKey, String> {
        let key = octocrab::EncodingKey::from_rsa_pem(pem).map_err(|_| {
            "not an RSA private key in PEM format (PKCS#1 `BEGIN RSA PRIVATE KEY` or PKCS#8 `BEGIN PRIVATE KEY`)".to_string()
        })?;
        let k = AppKey { app_id, key };
        // Sign once now: a key that cannot sign fails at start, not at the
        // first pull request.
        k.jwt()
            .map_err(|e| format!("cannot sign with this key: {e}"))?;
        Ok(k)
    }

    /// A JWT for the App API, valid for nine minutes (GitHub allows ten)
    /// and issued a minute in the past against clock drift.
    pub fn jwt(&self) -> Result<String, GitHubError> {
        octocrab::auth::create_jwt(octocrab::models::AppId(self.app_id), &self.key)
            .map_err(|_| GitHubError::Setup("signing the App JWT failed".into()))
    }
}

/// Credentials of the App itself.
pub struct AppJwt(pub Arc<AppKey>);

impl Credentials for AppJwt {
    fn authorization(&self) -> Result<Option<String>, GitHubError> {
        Ok(Some(format!("Bearer {}", self.0.jwt()?)))
    }
}

struct Cached {
    token: String,
    renew_at: SystemTime,
}

/// Installation access tokens, per installation.
pub struct Tokens {
    key: Arc<AppKey>,
    api: String,
    octo: octocrab::Octocrab,
    handle: tokio::runtime::Handle,
    policy: Policy,
    observer: Option<Observer>,
    /// One lock per installation: jobs of one installation wait for one
    /// mint instead of minting one each; other installations go on.
    slots: Mutex<HashMap<u64, Arc<Mutex<Option<Cached>>>>>,
}

impl Tokens {
    pub fn new(
        key: Arc<AppKey>,
        api: &str,
        octo: octocrab::Octocrab,
        handle: tokio::runtime::Handle,
        policy: Policy,
        observer: Option<Observer>,
    ) -> Tokens {
        Tokens {
            key,
            api: api.to_string(),
            octo,
            handle,
            policy,
            observer,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// A client authenticated as the App (blocking; call from a blocking
    /// thread).
    pub fn app_client(&self) -> Client {
        Client::shared(
            &self.api,
            self.octo.clone(),
            self.handle.clone(),
            Arc::new(AppJwt(self.key.clone())),
            self.policy.clone(),
            self.observer.clone(),
        )
    }

    /// A client authenticated as `installation`.
    pub fn installation_client(self: &Arc<Self>, installation: u64) -> Client {
        Client::shared(
            &self.api,
            self.octo.clone(),
            self.handle.clone(),
            self.credentials(installation),
            self.policy.clone(),
            self.observer.clone(),
        )
    }

    pub fn credentials(self: &Arc<Self>, installation: u64) -> Arc<dyn Credentials> {
        Arc::new(InstallationCredentials {
            tokens: self.clone(),
            installation,
        })
    }

    fn slot(&self, installation: u64) -> Arc<Mutex<Option<Cached>>> {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(installation)
            .or_default()
            .clone()
    }

    /// A token for `installation`: the cached one unless it expires within
    /// [`REFRESH_BEFORE_EXPIRY`], else a new one.
    pub fn token(&self, installation: u64) -> Result<String, GitHubError> {
        let slot = self.slot(installation);
        let mut cached = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cached.as_ref() {
            if SystemTime::now() < c.renew_at {
                return Ok(c.token.clone());
            }
        }
        let path = format!("/app/installations/{installation}/access_tokens");
        let v = self.app_client().post_json(&path, &serde_json::json!({}))?;
        let token = v
            .get("token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| GitHubError::Setup(format!("POST {path}: no token in the answer")))?
            .to_string();
        let expires = v
            .get("expires_at")
            .and_then(|t| t.as_str())
            .and_then(parse_rfc3339)
            // GitHub documents one hour.
            .unwrap_or_else(|| SystemTime::now() + Duration::from_secs(3600));
        let renew_at = expires
            .checked_sub(REFRESH_BEFORE_EXPIRY)
            .unwrap_or(UNIX_EPOCH);
        tracing::debug!(installation, "minted an installation token");
        *cached = Some(Cached {
            token: token.clone(),
            renew_at,
        });
        Ok(token)
    }

    /// Drops the cached token of `installation` (GitHub answered 401).
    pub fn invalidate(&self, installation: u64) {
        *self
            .slot(installation)
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
    }
}

struct InstallationCredentials {
    tokens: Arc<Tokens>,
    installation: u64,
}

impl Credentials for InstallationCredentials {
    fn authorization(&self) -> Result<Option<String>, GitHubError> {
        Ok(Some(format!(
            "Bearer {}",
            self.tokens.token(self.installation)?
        )))
    }

    fn invalidate(&self) -> bool {
        self.tokens.invalidate(self.installation);
        true
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (GitHub's timestamps), fractions and offsets
/// other than `Z` refused.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y } as i64;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + (h * 3600 + mi * 60 + se) as i64;
    u64::try_from(secs)
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let t = parse_rfc3339("2026-11-26T12:00:00Z").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_795_694_400
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(UNIX_EPOCH));
        assert_eq!(
            parse_rfc3339("2000-03-01T00:00:00Z")
                .unwrap()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            951_868_800
        );
        for bad in [
            "2026-11-26 12:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-26T12:00:00+01:00",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_in_both_pem_forms_sign() {
        let root = env!("CARGO_MANIFEST_DIR");
        for f in ["test-app-key.pkcs1.pem", "test-app-key.pkcs8.pem"] {
            let pem = std::fs::read(format!("{root}/fixtures/app/{f}")).unwrap();
            let k = AppKey::from_pem(42, &pem).unwrap();
            let jwt = k.jwt().unwrap();
            assert_eq!(jwt.split('.').count(), 3, "{f}");
        }
        let e = AppKey::from_pem(
            42,
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        )
        .err()
        .unwrap();
        assert!(e.contains("not an RSA private key"), "{e}");
    }
}
