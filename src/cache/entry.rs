//! What one cache entry holds (its JSON format) and the cache's settings
//! from the environment, read and checked once.

use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::http::CookieRecord;

pub const SERVICE: &str = "conntest";

pub const FORMAT_VERSION: u32 = 1;

/// The longest `CONNTEST_KEYRING_TIMEOUT` accepted: an hour is already "never".
pub(super) const MAX_TIMEOUT_SECS: f64 = 3600.0;

/// The cache's settings from the environment, read and checked once.
pub(super) struct Settings {
    /// How long one keyring call may take (env `CONNTEST_KEYRING_TIMEOUT`, seconds).
    pub(super) timeout: Duration,
    /// Parts of at most this many characters (env `CONNTEST_CACHE_CHUNK_CHARS`).
    pub(super) chunk_chars: Option<usize>,
}

pub(super) fn settings() -> &'static Result<Settings, String> {
    static SETTINGS: OnceLock<Result<Settings, String>> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let var = |name: &str| match std::env::var(name) {
            Ok(v) => Ok(Some(v)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid Unicode")),
        };
        let timeout = match var("CONNTEST_KEYRING_TIMEOUT")? {
            None => Duration::from_secs(10),
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| *s > 0.0 && *s <= MAX_TIMEOUT_SECS)
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| {
                    format!("CONNTEST_KEYRING_TIMEOUT `{v}` is not a number of seconds above 0 and at most 3600")
                })?,
        };
        let chunk_chars = match var("CONNTEST_CACHE_CHUNK_CHARS")? {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("CONNTEST_CACHE_CHUNK_CHARS `{v}` is not a positive whole number"))?,
            ),
        };
        Ok(Settings { timeout, chunk_chars })
    })
}

/// Checks the cache's environment variables before anything runs.
pub fn check_env() -> Result<(), String> {
    settings().as_ref().map(|_| ()).map_err(Clone::clone)
}

pub(super) fn call_timeout() -> Duration {
    settings().as_ref().map(|s| s.timeout).unwrap_or(Duration::from_secs(10))
}

/// What is cached for one connector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub version: u32,
    pub connector: String,
    /// RFC 3339.
    pub saved_at: String,
    pub outputs: Map<String, Value>,
    /// Form values by step id.
    pub inputs: Map<String, Value>,
    pub cookies: Vec<CookieRecord>,
    /// SHA-256 of the connector file when this was saved (absent in older entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// One-way fingerprints of the secrets this entry dropped, so later runs
    /// still mask them (never the values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masks: Option<crate::secret::Fingerprints>,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The keyring cannot be reached or used (no bus, no provider, locked, timed out).
    #[error("{0}")]
    Unavailable(String),
    /// An entry exists but cannot be read back.
    #[error("{0}")]
    Corrupt(String),
    /// Writers cannot be serialised (no private lock directory, no file locking).
    #[error("{0}")]
    Lock(String),
}

/// Largest text stored in one keyring item on this platform.
pub(super) fn chunk_chars() -> usize {
    if let Some(n) = settings().as_ref().ok().and_then(|s| s.chunk_chars) {
        return n.max(64);
    }
    if cfg!(target_os = "windows") {
        // 2,560-byte credential blob holding UTF-16: 1,280 chars, minus the part header.
        1_200
    } else if cfg!(target_os = "macos") {
        64 * 1024
    } else {
        256 * 1024
    }
}
