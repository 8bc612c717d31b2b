//! The only keyring-core user: the platform store, one item per call, every
//! call on the blocking pool with a timeout; items found by search.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use keyring_core::Entry as KeyringEntry;

use super::entry::*;

pub(super) fn init_store() -> Result<(), String> {
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

pub(super) fn describe(e: &keyring_core::Error) -> String {
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

/// Finds `name`'s head item in the background while its sign-in runs, so that
/// the save at the end goes straight to it: `SearchItems` is the slowest call
/// the Secret Service answers, and this takes it off the save's path. The
/// save searches again if the item went away meanwhile ([`crate::keystore`]).
pub fn locate(name: &str) {
    #[cfg(target_os = "linux")]
    {
        let name = name.to_string();
        tokio::task::spawn_blocking(move || {
            if init_store().is_ok()
                && let Ok(head) = entry(&name, 1)
            {
                let _ = head.get_credential();
            }
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = name;
}

/// Runs a blocking keyring call on the blocking pool with a timeout.
///
/// `f` gets a flag that is set when the caller gave up (the call timed out), so
/// that a save stops at its next step instead of finishing for nobody.
pub(super) async fn call<T: Send + 'static>(
    f: impl FnOnce(&AtomicBool) -> Result<T, CacheError> + Send + 'static,
) -> Result<T, CacheError> {
    // The store answers one call at a time anyway; queueing here instead of on its
    // mutex keeps the timeout for the call's own work, not for the calls before it
    // (20 connectors saving at once must not time each other out).
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = TURN.lock().await;
    let limit = call_timeout();
    let silent = || {
        CacheError::Unavailable(format!(
            "the keyring did not answer within {} s (is it locked, or waiting on a prompt?)",
            limit.as_secs_f64()
        ))
    };
    let failed = |join| CacheError::Unavailable(format!("keyring call failed: {join}"));
    // Connecting (once per process) has a limit of its own: fifty processes
    // starting at once queue up at the daemon, and that is not this call's time.
    match tokio::time::timeout(limit, tokio::task::spawn_blocking(init_store)).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => return Err(CacheError::Unavailable(e)),
        Ok(Err(join)) => return Err(failed(join)),
        Err(_) => return Err(silent()),
    }
    let abandoned = Arc::new(AtomicBool::new(false));
    let flag = abandoned.clone();
    let task = tokio::task::spawn_blocking(move || f(&flag));
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(failed(join)),
        Err(_) => {
            abandoned.store(true, Ordering::SeqCst);
            Err(silent())
        }
    }
}

pub(super) fn account(name: &str, part: usize) -> String {
    if part == 1 { name.to_string() } else { format!("{name}#{part}") }
}

pub(super) fn entry(name: &str, part: usize) -> Result<KeyringEntry, CacheError> {
    KeyringEntry::new(SERVICE, &account(name, part)).map_err(|e| CacheError::Unavailable(describe(&e)))
}

/// Reads one item; `Ok(None)` when it does not exist.
pub(super) fn read_item(name: &str, part: usize) -> Result<Option<String>, CacheError> {
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
pub(super) fn write_item(name: &str, part: usize, text: &str) -> Result<(), CacheError> {
    entry(name, part)?.set_password(text).map_err(|e| CacheError::Unavailable(describe(&e)))
}

/// Whether a read failed because the item went away between the search that
/// found it and the call that read it (the Secret Service then answers that
/// the object has no such interface): to a reader, the same as missing.
pub(super) fn vanished(e: &CacheError) -> bool {
    matches!(e, CacheError::Unavailable(why)
        if ["No such interface", "UnknownObject", "No such object"].iter().any(|m| why.contains(m)))
}

/// The part number of `account` in `name`'s entry: 1 for `NAME`, k for `NAME#k`.
pub(super) fn part_number(name: &str, account: &str) -> Option<usize> {
    if account == name {
        return Some(1);
    }
    let k = account.strip_prefix(name)?.strip_prefix('#')?;
    k.bytes().all(|b| b.is_ascii_digit()).then(|| k.parse().ok()).flatten().filter(|k| *k >= 2)
}

/// Every item stored for `name`, by part number, found by searching the keyring.
pub(super) fn items_of(name: &str) -> Result<Vec<(usize, KeyringEntry)>, CacheError> {
    let found = KeyringEntry::search(&search_spec()).map_err(|e| CacheError::Unavailable(describe(&e)))?;
    Ok(found.into_iter().filter_map(|e| Some((part_number(name, &account_of(&e)?)?, e))).collect())
}

/// The account (keyring user) of a found item.
pub(super) fn account_of(e: &KeyringEntry) -> Option<String> {
    e.get_specifiers().map(|(_, user)| user).or_else(|| e.get_attributes().ok()?.get("username").cloned())
}

/// What to search for: every item with service `conntest` (Windows searches target names).
pub(super) fn search_spec() -> HashMap<&'static str, &'static str> {
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
