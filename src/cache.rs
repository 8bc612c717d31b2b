//! The only keyring user: one logical entry per connector in the OS keyring
//! (service `conntest`, account = connector name): plain JSON when it fits in one
//! item, else split when larger than the platform allows — the head `NAME` holds
//! the first part and says where the others are (`NAME#k`… for a range of k that
//! alternates between saves), each part tagged with the save's generation. A save
//! writes a new generation beside the old one and switches the head last, so an
//! entry is always the previous complete one or the new complete one, whatever
//! stops the save; writers are ordered by a per-user lock file, readers need no
//! lock. Every keyring call has a timeout and runs off the async runtime's
//! worker threads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
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
    /// SHA-256 of the connector file when this was saved (absent in older entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
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
        let store = crate::keystore::Store::new();
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
///
/// `f` gets a flag that is set when the caller gave up (the call timed out), so
/// that a save stops at its next step instead of finishing for nobody.
async fn call<T: Send + 'static>(
    f: impl FnOnce(&AtomicBool) -> Result<T, CacheError> + Send + 'static,
) -> Result<T, CacheError> {
    // The store answers one call at a time anyway; queueing here instead of on its
    // mutex keeps the timeout for the call's own work, not for the calls before it
    // (20 connectors saving at once must not time each other out).
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = TURN.lock().await;
    let abandoned = Arc::new(AtomicBool::new(false));
    let flag = abandoned.clone();
    let task = tokio::task::spawn_blocking(move || {
        init_store().map_err(CacheError::Unavailable)?;
        f(&flag)
    });
    let limit = call_timeout();
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(CacheError::Unavailable(format!("keyring call failed: {join}"))),
        Err(_) => {
            abandoned.store(true, Ordering::SeqCst);
            Err(CacheError::Unavailable(format!(
                "the keyring did not answer within {} s (is it locked, or waiting on a prompt?)",
                limit.as_secs_f64()
            )))
        }
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

/// One write to the store. On Linux a new item gets its `account` and
/// `application` attributes (for `secret-tool lookup service conntest account
/// NAME`) in the same call ([`crate::keystore`]); the other platforms' stores
/// have no attributes.
fn write_item(name: &str, part: usize, text: &str) -> Result<(), CacheError> {
    entry(name, part)?.set_password(text).map_err(|e| CacheError::Unavailable(describe(&e)))
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

/// Waits for the lock that serialises writers (saves and `clear`) of one
/// connector's entry across processes; held until the returned file is dropped.
///
/// Waiting for another conntest is not a keyring call, so it has its own,
/// longer limit; and it happens before the keyring call's clock starts.
async fn lock(name: &str) -> Result<std::fs::File, CacheError> {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let path = lock_dir()?.join(format!("{safe}.lock"));
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).read(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let cannot = |e: std::io::Error| CacheError::Lock(format!("cannot lock {}: {e}", path.display()));
    let file = options.open(&path).map_err(cannot)?;
    let limit = (call_timeout() * 3).max(Duration::from_secs(30));
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(cannot(e)),
        }
        if started.elapsed() >= limit {
            return Err(CacheError::Unavailable(format!(
                "another conntest process held the cache lock for `{name}` for {} s",
                limit.as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// The first line of a split entry's items: `MAGIC GEN PART/TOTAL`, and on the
/// head (part 1) also `FIRST`, the account number that holds part 2.
fn header(generation: &str, part: usize, total: usize, first: Option<usize>) -> String {
    match first {
        Some(first) => format!("{MAGIC} {generation} {part}/{total} {first}\n"),
        None => format!("{MAGIC} {generation} {part}/{total}\n"),
    }
}

/// One item of a split entry, parsed.
#[derive(Debug, PartialEq)]
struct Item<'a> {
    generation: &'a str,
    part: usize,
    total: usize,
    /// Account number of part 2 (head only; entries saved before it existed use 2).
    first: usize,
    data: &'a str,
}

impl Item<'_> {
    /// The account numbers of parts 2..=total.
    fn parts(&self) -> std::ops::Range<usize> {
        self.first..self.first + self.total.saturating_sub(1)
    }
}

fn parse_header(text: &str) -> Option<Item<'_>> {
    let (head, data) = text.split_once('\n')?;
    let mut it = head.split(' ');
    if it.next()? != MAGIC {
        return None;
    }
    let generation = it.next()?;
    let (part, total) = it.next()?.split_once('/')?;
    let number = |s: &str| s.parse::<usize>().ok().filter(|n| *n <= MAX_PARTS);
    let first = match it.next() {
        Some(f) => number(f).filter(|f| *f >= 2)?,
        None => 2,
    };
    let (part, total) = (number(part)?, number(total)?);
    (it.next().is_none() && part >= 1 && part <= total).then_some(Item { generation, part, total, first, data })
}

/// No entry has more parts (or part numbers) than this; a header that says
/// otherwise was edited by hand, and its numbers must not overflow.
const MAX_PARTS: usize = 1_000_000;

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

/// Where a new generation of `count` parts goes: account numbers disjoint from
/// `current` (the parts the head points to now), as low as that allows — so
/// successive generations alternate between two ranges instead of growing.
fn next_parts(current: std::ops::Range<usize>, count: usize) -> std::ops::Range<usize> {
    let first = if current.is_empty() || 2 + count <= current.start { 2 } else { current.end.max(2) };
    first..first + count
}

/// A save's own generation tag: unique across processes and within one.
fn new_generation() -> String {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}-{nanos}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed))
}

/// Saves an entry so that, whatever stops it (kill -9, a timeout, an error),
/// the stored entry is the previous complete one or the new complete one.
///
/// The head (`NAME`) is the only item a reader starts from, and replacing one
/// item is atomic. A split entry's parts go to accounts the current head does
/// not point to (see [`next_parts`]); only then is the head replaced, which
/// switches readers to the new generation in one step; only after that are
/// the old generation's parts deleted. A save that fails or is abandoned
/// before the switch deletes the parts it wrote. One that is killed cannot,
/// so each save marks the lock file until it is done ([`Unfinished`]), and
/// the save after a marked one looks for every leftover part by search.
pub async fn save(entry: Entry) -> Result<(), CacheError> {
    let name = entry.connector.clone();
    let json = serde_json::to_string(&entry).map_err(|e| CacheError::Corrupt(e.to_string()))?;
    let lock = lock(&name).await?;
    call(move |abandoned| write_entry(&name, &json, Unfinished(lock), abandoned)).await
}

fn write_entry(name: &str, json: &str, mut mark: Unfinished, abandoned: &AtomicBool) -> Result<(), CacheError> {
    let chunks = split(json, chunk_chars());
    // Not knowing where the current parts are would risk writing over them: only a
    // head that is there but unreadable (so no reader can use it either) counts as none.
    let head = match read_item(name, 1) {
        Ok(head) => head,
        Err(CacheError::Corrupt(_)) => None,
        Err(e) => return Err(e),
    };
    let current = head.as_deref().and_then(parse_header).map(|h| h.parts()).unwrap_or(0..0);
    let leftovers = mark.is_set();
    mark.set(true);
    let keep = if chunks.len() == 1 {
        // Fits in one item: stored as plain JSON, readable with `secret-tool`.
        write_item(name, 1, json)?;
        0..0
    } else {
        let parts = next_parts(current.clone(), chunks.len() - 1);
        let generation = new_generation();
        let total = chunks.len();
        let mut written = Vec::new();
        let mut switch = || {
            for (account, data) in parts.clone().zip(&chunks[1..]) {
                if abandoned.load(Ordering::SeqCst) {
                    return Err(CacheError::Unavailable("the save was abandoned after a timeout".into()));
                }
                let part = account - parts.start + 2;
                write_item(name, account, &format!("{}{data}", header(&generation, part, total, None)))?;
                written.push(account);
            }
            if abandoned.load(Ordering::SeqCst) {
                return Err(CacheError::Unavailable("the save was abandoned after a timeout".into()));
            }
            write_item(name, 1, &format!("{}{}", header(&generation, 1, total, Some(parts.start)), chunks[0]))
        };
        if let Err(e) = switch() {
            // An error can come back after the head was replaced after all; then these parts are the entry.
            let switched = read_item(name, 1)
                .ok()
                .flatten()
                .is_some_and(|t| parse_header(&t).is_some_and(|h| h.generation == generation));
            if !switched {
                let mut clean = true;
                for account in written {
                    clean &= delete_item(name, account).is_ok();
                }
                // Nothing of ours is left behind (and nothing else was touched): the mark
                // can go back to what it was.
                if clean && !leftovers {
                    mark.set(false);
                }
                return Err(e);
            }
        }
        parts
    };
    // The head points to the new generation now: nothing below can lose the entry,
    // and what fails to be deleted is left for the next save or `cache clear`.
    let mut clean = true;
    // Stops at the first part already gone, so that a hand-edited count is not a delete per number.
    for account in current.filter(|a| !keep.contains(a)) {
        match delete_item(name, account) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => clean = false,
        }
    }
    if leftovers {
        match items_of(name) {
            Ok(items) => {
                for (_, item) in items.into_iter().filter(|(part, _)| *part >= 2 && !keep.contains(part)) {
                    clean &= matches!(item.delete_credential(), Ok(()) | Err(keyring_core::Error::NoEntry));
                }
            }
            Err(_) => clean = false,
        }
    }
    if clean {
        mark.set(false);
    }
    Ok(())
}

/// The connector's lock file, held, doubling as a mark that a save began and
/// has not finished cleaning up: a save killed at any point leaves it set, and
/// the next save then searches for the parts it left. The lock orders every
/// writer, and the file is private to the user. Best effort: without the mark,
/// leftovers wait for `cache clear`.
struct Unfinished(std::fs::File);

impl Unfinished {
    const MARK: &'static [u8] = b"unfinished save\n";

    fn is_set(&mut self) -> bool {
        use std::io::{Read as _, Seek as _};
        let mut text = Vec::new();
        let read = self.0.seek(std::io::SeekFrom::Start(0)).and_then(|_| (&self.0).take(64).read_to_end(&mut text));
        read.is_ok() && text == Self::MARK
    }

    fn set(&mut self, on: bool) {
        use std::io::{Seek as _, Write as _};
        let text = if on { Self::MARK } else { b"" };
        let _ = self
            .0
            .set_len(0)
            .and_then(|_| self.0.seek(std::io::SeekFrom::Start(0)))
            .and_then(|_| self.0.write_all(text));
    }
}

/// The cached entry; `Ok(None)` on a miss, `Corrupt` when it cannot be read back.
///
/// Takes no lock: a save never touches the parts the head points to until a new
/// head is in place, so a part that is missing or of another generation means a
/// save switched heads meanwhile — the head is read again.
pub async fn load(name: &str) -> Result<Option<Entry>, CacheError> {
    let name = name.to_string();
    call(move |_| {
        let corrupt = |why: &str| CacheError::Corrupt(format!("cached entry for `{name}` cannot be read ({why})"));
        let mut attempts = 0;
        let json = loop {
            let head = match read_item(&name, 1) {
                Err(e) if vanished(&e) => None,
                other => other?,
            };
            let Some(head) = head else { return Ok(None) };
            match assemble(&name, &head)? {
                Ok(json) => break json,
                Err(why) => {
                    attempts += 1;
                    if attempts >= 5 || read_item(&name, 1)?.as_deref() == Some(head.as_str()) {
                        return Err(corrupt(&why));
                    }
                }
            }
        };
        let entry: Entry = serde_json::from_str(&json).map_err(|e| corrupt(&e.to_string()))?;
        if entry.version != FORMAT_VERSION {
            return Err(corrupt(&format!("format version {}, expected {FORMAT_VERSION}", entry.version)));
        }
        Ok(Some(entry))
    })
    .await
}

/// The JSON of the entry whose head is `head`, or why its parts do not make one.
fn assemble(name: &str, head: &str) -> Result<Result<String, String>, CacheError> {
    if head.starts_with('{') {
        return Ok(Ok(head.to_string()));
    }
    let Some(h) = parse_header(head).filter(|h| h.part == 1) else { return Ok(Err("unknown format".into())) };
    let mut json = h.data.to_string();
    for (account, part) in h.parts().zip(2..) {
        let missing = || Ok(Err(format!("part {part} of {} is missing", h.total)));
        let text = match read_item(name, account) {
            Ok(Some(text)) => text,
            Ok(None) => return missing(),
            // Found, then deleted before its secret was read: a save switched heads meanwhile.
            Err(e) if vanished(&e) => return missing(),
            Err(e) => return Err(e),
        };
        match parse_header(&text) {
            Some(p) if p.generation == h.generation && p.part == part && p.total == h.total => json.push_str(p.data),
            Some(_) => return Ok(Err(format!("part {part} belongs to another save"))),
            None => return Ok(Err(format!("part {part} is damaged"))),
        }
    }
    Ok(Ok(json))
}

/// Whether a read failed because the item went away between the search that
/// found it and the call that read it (the Secret Service then answers that
/// the object has no such interface): to a reader, the same as missing.
fn vanished(e: &CacheError) -> bool {
    matches!(e, CacheError::Unavailable(why)
        if ["No such interface", "UnknownObject", "No such object"].iter().any(|m| why.contains(m)))
}

/// Removes every item of one connector (`NAME` and every `NAME#k`, found by
/// searching the keyring rather than trusting the head's part count, which a
/// killed save or a hand edit can get wrong); returns how many were removed.
pub async fn clear(name: &str) -> Result<usize, CacheError> {
    let name = name.to_string();
    let mut mark = Unfinished(lock(&name).await?);
    call(move |_| {
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
        // Nothing of this connector is left for a later save to clean up.
        mark.set(false);
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
    call(|_| {
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
    call(|_| {
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
        let h = format!("{}data\nmore", header("g1", 2, 3, None));
        let item = Item { generation: "g1", part: 2, total: 3, first: 2, data: "data\nmore" };
        assert_eq!(parse_header(&h), Some(item));
        let head = format!("{}{{", header("g2", 1, 4, Some(9)));
        assert_eq!(parse_header(&head).map(|h| h.parts()), Some(9..12));
        for bad in ["garbage", "conntest-cache g 3/2\n", "conntest-cache g 0/2\n", "conntest-cache g 1/2 1\n"] {
            assert_eq!(parse_header(bad), None, "{bad}");
        }
    }

    #[test]
    fn generations_alternate_between_disjoint_ranges() {
        assert_eq!(next_parts(0..0, 3), 2..5);
        assert_eq!(next_parts(2..5, 3), 5..8);
        assert_eq!(next_parts(5..8, 3), 2..5);
        // A larger entry that would overlap the low range goes above the current one.
        assert_eq!(next_parts(5..8, 4), 8..12);
        assert_eq!(next_parts(8..12, 6), 2..8);
        for (current, count) in [(2..5, 3), (5..8, 4), (8..12, 6), (3..4, 1), (2..40, 39)] {
            let next = next_parts(current.clone(), count);
            assert!(next.start >= 2 && next.len() == count);
            assert!(next.end <= current.start || next.start >= current.end, "{current:?} vs {next:?}");
        }
    }
}
