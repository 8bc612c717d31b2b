//! The only keyring user: one logical entry per connector in the OS keyring
//! (service `conntest`, account = connector name): plain JSON when it fits in one
//! item, else split when larger than the platform allows — the head `NAME` holds
//! the first part and says where the others are (`NAME#k`… for a range of k that
//! no other save is using), each part tagged with the save's generation. A save
//! writes a new generation beside the old one and switches the head last, so an
//! entry is always the previous complete one or the new complete one, whatever
//! stops the save; a per-user lock file orders the head switches, readers need
//! no lock. Every keyring call has a timeout and runs off the async runtime's
//! worker threads.

use keyring_core::Entry as KeyringEntry;

pub mod claims;
pub mod entry;
pub mod lock;
pub mod parts;
pub mod save;
pub mod store;

pub use entry::{CacheError, Entry, FORMAT_VERSION, SERVICE, check_env};
pub use lock::check_locking;
use lock::{Unfinished, lock};
use parts::*;
use store::*;
pub use store::{locate, prewarm};

/// Saves an entry so that, whatever stops it (kill -9, a timeout, an error),
/// the stored entry is the previous complete one or the new complete one.
///
/// The head (`NAME`) is the only item a reader starts from, and replacing one
/// item is atomic. A split entry's parts go to accounts that neither the
/// current head nor another save in progress uses ([`claims`]); only then is
/// the head replaced, which switches readers to the new generation in one
/// step; only after that are the old generation's parts deleted. Writers hold
/// the lock only to pick accounts and to switch the head, so fifty processes
/// saving at once wait for each other's switch, not for each other's parts;
/// and the save has succeeded once the head is switched, whatever happens to
/// the clean-up. A save that fails before the switch deletes the parts it
/// wrote; one that is killed leaves its claim, and the next save deletes what
/// it lists (see [`save`]).
pub async fn save(entry: Entry) -> Result<(), CacheError> {
    let name = entry.connector.clone();
    let json = serde_json::to_string(&entry).map_err(|e| CacheError::Corrupt(e.to_string()))?;
    save::save(name, json).await
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

/// Removes every item of one connector (`NAME` and every `NAME#k`, found by
/// searching the keyring rather than trusting the head's part count, which a
/// killed save or a hand edit can get wrong); returns how many were removed.
pub async fn clear(name: &str) -> Result<usize, CacheError> {
    let name = name.to_string();
    let mut mark = Unfinished(lock(&name).await?);
    call(move |_| {
        // Set until every item is gone: a clear killed halfway leaves the mark,
        // and the next save searches for what it left.
        mark.set(true);
        // Parts that saves in progress are writing are theirs: such a save ends
        // after the clear, and its entry is then the one cached.
        let live = claims::others(&name, None, true)?.live;
        let mut items = items_of(&name)?;
        items.retain(|(part, _)| !live.iter().any(|r| r.contains(part)));
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

/// What to do when cache writers cannot be serialised (no private lock directory).
pub const LOCK_HINT: &str = "set XDG_RUNTIME_DIR (or HOME) to a directory of your own, or pass --no-cache";

/// A keyring warning, said once per process, not once per connector.
pub fn warn_once(message: &str) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        crate::output::warn(message);
    }
}
