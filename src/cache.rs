//! The only keyring user: one logical entry per connector in the OS keyring
//! (service `conntest`, account = connector name): plain JSON when it fits in one
//! item, else split into `NAME#2`, `NAME#3`… (each part framed with the save's
//! generation) when larger than the platform allows, written under a lock so concurrent
//! runs never leave a half-written entry. Every call has a timeout and runs
//! off the async runtime's worker threads.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use keyring_core::Entry as KeyringEntry;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::http::CookieRecord;

pub const SERVICE: &str = "conntest";
pub const FORMAT_VERSION: u32 = 1;
/// The longest `CONNTEST_KEYRING_TIMEOUT` accepted: an hour is already "never".
const MAX_TIMEOUT_SECS: f64 = 3600.0;

/// The cache's settings from the environment, read and checked once.
struct Settings {
    /// How long one keyring call may take (env `CONNTEST_KEYRING_TIMEOUT`, seconds).
    timeout: Duration,
    /// Parts of at most this many characters (env `CONNTEST_CACHE_CHUNK_CHARS`).
    chunk_chars: Option<usize>,
}

fn settings() -> &'static Result<Settings, String> {
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

fn call_timeout() -> Duration {
    settings().as_ref().map(|s| s.timeout).unwrap_or(Duration::from_secs(10))
}
const MAGIC: &str = "conntest-cache";

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
fn chunk_chars() -> usize {
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

fn init_store() -> Result<(), String> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        #[cfg(target_os = "linux")]
        let store = zbus_secret_service_keyring_store::Store::new();
        #[cfg(target_os = "macos")]
        let store = apple_native_keyring_store::keychain::Store::new();
        #[cfg(target_os = "windows")]
        let store = windows_native_keyring_store::Store::new();
        #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
        let store: Result<std::sync::Arc<keyring_core::api::CredentialStore>, keyring_core::Error> =
            Err(keyring_core::Error::NoDefaultStore);
        let store = store.map_err(|e| describe(&e))?;
        keyring_core::set_default_store(store);
        Ok(())
    })
    .clone()
}

fn describe(e: &keyring_core::Error) -> String {
    match e {
        keyring_core::Error::NoStorageAccess(inner) => format!("the keyring is locked or refused access ({inner})"),
        keyring_core::Error::PlatformFailure(inner) => format!("the keyring cannot be reached ({inner})"),
        keyring_core::Error::NoDefaultStore => "no keyring is available on this platform".into(),
        other => format!("keyring error: {other}"),
    }
}

/// Opens the keyring in the background (a D-Bus connection and an encrypted
/// session cost ~6 ms) while the flow runs; later calls wait for it.
pub fn prewarm() {
    tokio::task::spawn_blocking(|| {
        let _ = init_store();
    });
}

/// Runs a blocking keyring call on the blocking pool with a timeout.
async fn call<T: Send + 'static>(f: impl FnOnce() -> Result<T, CacheError> + Send + 'static) -> Result<T, CacheError> {
    let task = tokio::task::spawn_blocking(move || {
        init_store().map_err(CacheError::Unavailable)?;
        f()
    });
    let limit = call_timeout();
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(CacheError::Unavailable(format!("keyring call failed: {join}"))),
        Err(_) => Err(CacheError::Unavailable(format!(
            "the keyring did not answer within {} s (is it locked, or waiting on a prompt?)",
            limit.as_secs_f64()
        ))),
    }
}

fn account(name: &str, part: usize) -> String {
    if part == 1 { name.to_string() } else { format!("{name}#{part}") }
}

fn entry(name: &str, part: usize) -> Result<KeyringEntry, CacheError> {
    KeyringEntry::new(SERVICE, &account(name, part)).map_err(|e| CacheError::Unavailable(describe(&e)))
}

/// Reads one item; `Ok(None)` when it does not exist.
fn read_item(name: &str, part: usize) -> Result<Option<String>, CacheError> {
    match entry(name, part)?.get_password() {
        Ok(s) => Ok(Some(s)),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(keyring_core::Error::BadEncoding(_)) => {
            Err(CacheError::Corrupt(format!("item `{}` is not text", account(name, part))))
        }
        Err(e) => Err(CacheError::Unavailable(describe(&e))),
    }
}

fn write_item(name: &str, part: usize, text: &str) -> Result<(), CacheError> {
    let e = entry(name, part)?;
    e.set_password(text).map_err(|e| CacheError::Unavailable(describe(&e)))?;
    // Lets `secret-tool lookup service conntest account NAME` find it; not every store has attributes.
    let acct = account(name, part);
    let _ = e.update_attributes(&HashMap::from([("account", acct.as_str()), ("application", SERVICE)]));
    Ok(())
}

fn delete_item(name: &str, part: usize) -> Result<bool, CacheError> {
    match entry(name, part)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring_core::Error::NoEntry) => Ok(false),
        Err(e) => Err(CacheError::Unavailable(describe(&e))),
    }
}

/// The directory of lock files, private to the user: `$XDG_RUNTIME_DIR/conntest`,
/// else `conntest/locks` under the user's cache dir, created 0700.
///
/// A shared directory such as `/tmp/conntest-locks` let a second user fail to
/// lock (and run unlocked) and let anyone hold a lock file to block everyone.
fn lock_dir() -> Result<&'static std::path::Path, CacheError> {
    static DIR: OnceLock<Result<std::path::PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let absolute = |var: &str| std::env::var_os(var).map(std::path::PathBuf::from).filter(|p| p.is_absolute());
        let dir = if let Some(run) = absolute("XDG_RUNTIME_DIR") {
            run.join("conntest")
        } else {
            let cache = if cfg!(target_os = "windows") {
                absolute("LOCALAPPDATA")
            } else if cfg!(target_os = "macos") {
                absolute("HOME").map(|h| h.join("Library/Caches"))
            } else {
                absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|h| h.join(".cache")))
            };
            cache
                .ok_or("no private directory for lock files (neither XDG_RUNTIME_DIR nor HOME is set)")?
                .join("conntest")
                .join("locks")
        };
        private_dir(&dir).map_err(|e| format!("cannot use {} for lock files: {e}", dir.display()))?;
        Ok(dir)
    })
    .as_ref()
    .map(|p| p.as_path())
    .map_err(|e| CacheError::Lock(e.clone()))
}

/// Creates `dir` (0700 on Unix) or makes an existing one private; fails when it cannot be.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        builder.mode(0o700);
        builder.create(dir)?;
        let meta = std::fs::symlink_metadata(dir)?;
        if !meta.is_dir() {
            return Err(std::io::Error::other("it is not a directory"));
        }
        // Only its owner (or root) can make it private again: anyone else fails here, loudly.
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    builder.create(dir)
}

/// Checks, before anything runs, that cache writers can be serialised.
pub fn check_locking() -> Result<(), CacheError> {
    lock_dir().map(|_| ())
}

/// Serialises writers (and readers) of one connector's entry across processes.
fn lock(name: &str, exclusive: bool) -> Result<std::fs::File, CacheError> {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let path = lock_dir()?.join(format!("{safe}.lock"));
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let cannot = |e: std::io::Error| CacheError::Lock(format!("cannot lock {}: {e}", path.display()));
    let file = options.open(&path).map_err(cannot)?;
    if exclusive { file.lock() } else { file.lock_shared() }.map_err(cannot)?;
    Ok(file)
}

/// `MAGIC gen part/total` then the data.
fn header(generation: &str, part: usize, total: usize) -> String {
    format!("{MAGIC} {generation} {part}/{total}\n")
}

fn parse_header(text: &str) -> Option<(&str, usize, usize, &str)> {
    let (head, data) = text.split_once('\n')?;
    let mut it = head.split(' ');
    if it.next()? != MAGIC {
        return None;
    }
    let generation = it.next()?;
    let (part, total) = it.next()?.split_once('/')?;
    Some((generation, part.parse().ok()?, total.parse().ok()?, data))
}

fn split(text: &str, size: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut count = 0;
    for (i, _) in text.char_indices() {
        if count == size {
            parts.push(&text[start..i]);
            start = i;
            count = 0;
        }
        count += 1;
    }
    parts.push(&text[start..]);
    parts
}

pub async fn save(entry: Entry) -> Result<(), CacheError> {
    call(move || {
        let name = entry.connector.clone();
        let json = serde_json::to_string(&entry).map_err(|e| CacheError::Corrupt(e.to_string()))?;
        let parts = split(&json, chunk_chars());
        let generation = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
        );
        let _guard = lock(&name, true)?;
        let previous = read_item(&name, 1).ok().flatten().and_then(|t| parse_header(&t).map(|h| h.2)).unwrap_or(1);
        // Later parts first: a reader that sees the new first part finds its parts complete.
        for (i, data) in parts.iter().enumerate().skip(1) {
            write_item(&name, i + 1, &format!("{}{data}", header(&generation, i + 1, parts.len())))?;
        }
        // An entry that fits in one item is stored as plain JSON, readable with `secret-tool`.
        let first = if parts.len() == 1 {
            json.clone()
        } else {
            format!("{}{}", header(&generation, 1, parts.len()), parts[0])
        };
        write_item(&name, 1, &first)?;
        for stale in parts.len() + 1..=previous.max(parts.len()) {
            delete_item(&name, stale)?;
        }
        Ok(())
    })
    .await
}

/// The cached entry; `Ok(None)` on a miss, `Corrupt` when it cannot be read back.
pub async fn load(name: &str) -> Result<Option<Entry>, CacheError> {
    let name = name.to_string();
    call(move || {
        let _guard = lock(&name, false)?;
        let Some(first) = read_item(&name, 1)? else { return Ok(None) };
        let corrupt = |why: &str| CacheError::Corrupt(format!("cached entry for `{name}` cannot be read ({why})"));
        let (generation, total, mut json) = if first.starts_with('{') {
            (String::new(), 1, first.clone())
        } else {
            let (g, _, t, data) = parse_header(&first).ok_or_else(|| corrupt("unknown format"))?;
            (g.to_string(), t, data.to_string())
        };
        for part in 2..=total {
            let text = read_item(&name, part)?.ok_or_else(|| corrupt(&format!("part {part} of {total} is missing")))?;
            let (g, p, t, d) = parse_header(&text).ok_or_else(|| corrupt(&format!("part {part} is damaged")))?;
            if g != generation.as_str() || p != part || t != total {
                return Err(corrupt(&format!("part {part} belongs to another save")));
            }
            json.push_str(d);
        }
        let entry: Entry = serde_json::from_str(&json).map_err(|e| corrupt(&e.to_string()))?;
        if entry.version != FORMAT_VERSION {
            return Err(corrupt(&format!("format version {}, expected {FORMAT_VERSION}", entry.version)));
        }
        Ok(Some(entry))
    })
    .await
}

/// Removes every item of one connector (`NAME` and every `NAME#k`, found by
/// searching the keyring rather than trusting the head's part count, which a
/// killed save or a hand edit can get wrong); returns how many were removed.
pub async fn clear(name: &str) -> Result<usize, CacheError> {
    let name = name.to_string();
    call(move || {
        let _guard = lock(&name, true)?;
        let mut items = items_of(&name)?;
        // The head first: once it is gone the entry is a clean miss, even if this stops halfway.
        items.sort_by_key(|(part, _)| *part);
        let mut removed = 0;
        for (_, item) in items {
            match item.delete_credential() {
                Ok(()) => removed += 1,
                Err(keyring_core::Error::NoEntry) => {}
                Err(e) => return Err(CacheError::Unavailable(describe(&e))),
            }
        }
        Ok(removed)
    })
    .await
}

/// The part number of `account` in `name`'s entry: 1 for `NAME`, k for `NAME#k`.
fn part_number(name: &str, account: &str) -> Option<usize> {
    if account == name {
        return Some(1);
    }
    let k = account.strip_prefix(name)?.strip_prefix('#')?;
    k.bytes().all(|b| b.is_ascii_digit()).then(|| k.parse().ok()).flatten().filter(|k| *k >= 2)
}

/// Every item stored for `name`, by part number, found by searching the keyring.
fn items_of(name: &str) -> Result<Vec<(usize, KeyringEntry)>, CacheError> {
    let found = KeyringEntry::search(&search_spec()).map_err(|e| CacheError::Unavailable(describe(&e)))?;
    Ok(found.into_iter().filter_map(|e| Some((part_number(name, &account_of(&e)?)?, e))).collect())
}

/// The account (keyring user) of a found item.
fn account_of(e: &KeyringEntry) -> Option<String> {
    e.get_specifiers().map(|(_, user)| user).or_else(|| e.get_attributes().ok()?.get("username").cloned())
}

/// What to search for: every item with service `conntest` (Windows searches target names).
fn search_spec() -> HashMap<&'static str, &'static str> {
    if cfg!(target_os = "windows") {
        HashMap::from([("pattern", r"\.conntest$")])
    } else {
        HashMap::from([("service", SERVICE)])
    }
}

/// Every account conntest stored, found by searching the keyring.
pub async fn accounts() -> Result<Vec<String>, CacheError> {
    call(|| {
        let found = KeyringEntry::search(&search_spec()).map_err(|e| CacheError::Unavailable(describe(&e)))?;
        let mut names: Vec<String> = found.iter().filter_map(account_of).collect();
        names.sort();
        names.dedup();
        Ok(names)
    })
    .await
}

/// Removes every item conntest stored; returns how many.
pub async fn clear_all() -> Result<usize, CacheError> {
    call(|| {
        let found = KeyringEntry::search(&search_spec()).map_err(|e| CacheError::Unavailable(describe(&e)))?;
        let mut removed = 0;
        for e in found {
            match e.delete_credential() {
                Ok(()) => removed += 1,
                Err(keyring_core::Error::NoEntry) => {}
                Err(err) => return Err(CacheError::Unavailable(describe(&err))),
            }
        }
        Ok(removed)
    })
    .await
}

/// Connector names that have an entry (split parts folded into their entry).
pub async fn cached_names() -> Result<Vec<String>, CacheError> {
    let mut names: Vec<String> = accounts().await?.into_iter().filter(|a| !a.contains('#')).collect();
    names.dedup();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_every_char() {
        let text = "héllo wörld ✔ ".repeat(50);
        let parts = split(&text, 7);
        assert!(parts.iter().all(|p| p.chars().count() <= 7));
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn part_numbers_follow_spec_accounts_only() {
        assert_eq!(part_number("acme", "acme"), Some(1));
        assert_eq!(part_number("acme", "acme#2"), Some(2));
        assert_eq!(part_number("acme", "acme#40"), Some(40));
        for other in ["acme2", "acme#", "acme#1", "acme#x", "acme#+3", "acme-b#2", "acm", "acme#2#3"] {
            assert_eq!(part_number("acme", other), None, "{other}");
        }
    }

    #[test]
    fn headers_round_trip() {
        let h = format!("{}data\nmore", header("g1", 2, 3));
        assert_eq!(parse_header(&h), Some(("g1", 2, 3, "data\nmore")));
        assert_eq!(parse_header("garbage"), None);
    }
}
