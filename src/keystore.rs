//! conntest's Linux keyring store for keyring-core: the Secret Service over
//! D-Bus (the `secret-service` crate), with a plain session and the item
//! attributes written when an item is created.
//!
//! Why not `zbus-secret-service-keyring-store`: it always negotiates an
//! encrypted (Diffie-Hellman) session, and its 1024-bit modular
//! exponentiation (a square-and-multiply over `num-bigint` division) is 31 of
//! the 39 million instructions `conntest test api` spends with a cached
//! entry: slower than a whole `secret-tool lookup`. The transport encryption
//! protects nothing here: the session bus is private to the user, and any
//! program of that user may ask the Secret Service for the same secret.
//! It also writes the item, then its attributes — two writes, each of which
//! makes the keyring daemon persist its file — where one `CreateItem` with the
//! attributes does both.
//!
//! Only what `cache` uses is implemented: entries by service and user,
//! search by attributes, get/set/delete, attributes. A locked keyring shows
//! its unlock prompt (the caller bounds the wait); where nobody can answer
//! it, that is `NoStorageAccess`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use keyring_core::api::{Credential, CredentialApi, CredentialStoreApi};
use keyring_core::{Entry, Error, Result};
use secret_service::{EncryptionType, Error as ServiceError, Item, SecretService};
use tokio::runtime::Handle;
use zvariant::OwnedObjectPath;

/// The attribute that names the program, beside `service` and `username`.
const APPLICATION: &str = "application";
/// `username` again under the name `secret-tool lookup service S account A` uses.
const ACCOUNT: &str = "account";
const CONTENT_TYPE: &str = "text/plain";

/// The connection, and the D-Bus path of each named item this process has
/// found: the next call on it (a save's write after its read) goes straight to
/// the item instead of searching again (`SearchItems` is the daemon's slowest
/// call). A path that no longer answers is forgotten and searched for.
///
/// After a daemon restart gnome-keyring 42 hands out the numbers of deleted
/// items again (seen here: a new item took the path of one deleted before the
/// restart), so a remembered path may then name another program's item. It is
/// never written all the same: the session opened with the old daemon died
/// with it, and every call carrying it fails with `NoSession` — upon which
/// [`with`] opens a new session and forgets every remembered path.
type Service = Arc<Mutex<Connection>>;

struct Connection {
    ss: SecretService<'static>,
    found: HashMap<(String, String), OwnedObjectPath>,
    /// The keyring's own runtime ([`runtime`]), whose worker drives the D-Bus
    /// connection.
    runtime: Handle,
}

/// Waits for `f` on this (blocking-pool) thread while the keyring runtime's
/// worker drives the connection.
fn wait<F: Future>(runtime: &Handle, f: F) -> F::Output {
    runtime.block_on(f)
}

/// A runtime of the keyring's own, one worker thread, kept for the process:
/// the D-Bus connection's reader is one of its tasks (zbus on tokio).
///
/// Not the command's runtime: that one is single-threaded
/// (`commands::block_on`), so it would drive the connection only while the
/// command waits, and the keyring, opened in the background at the start,
/// would make no progress while the command loads and checks the connector
/// files. One thread where the async-io build started three.
fn runtime() -> Result<Handle> {
    static RUNTIME: std::sync::OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("keyring")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map(|runtime| runtime.handle().clone())
        .map_err(|e| Error::PlatformFailure(format!("cannot start the keyring's runtime: {e}").into()))
}

pub struct Store {
    ss: Service,
}

impl Store {
    /// Connects; called on a blocking-pool thread (never on a runtime's worker).
    pub fn new() -> Result<Arc<Store>> {
        let runtime = runtime()?;
        let ss = wait(&runtime, SecretService::connect(EncryptionType::Plain)).map_err(unreachable)?;
        Ok(Arc::new(Store { ss: Arc::new(Mutex::new(Connection { ss, found: HashMap::new(), runtime })) }))
    }
}

fn failure(e: ServiceError) -> Error {
    match e {
        ServiceError::Locked | ServiceError::NoResult | ServiceError::Prompt => Error::NoStorageAccess(Box::new(e)),
        other => Error::PlatformFailure(Box::new(other)),
    }
}

/// Why connecting failed, in words and with what to do: the bus and the
/// provider are set-up problems a user can fix, not library errors.
fn unreachable(e: ServiceError) -> Error {
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_default();
    let at = if address.is_empty() { String::new() } else { format!(" at {address}") };
    let why = match e {
        // The bus answered for the provider: nothing owns org.freedesktop.secrets.
        ServiceError::Unavailable | ServiceError::Zbus(zbus::Error::MethodError(..)) => format!(
            "no Secret Service provider on the session bus{at} — start gnome-keyring-daemon, or \
             KeePassXC with its Secret Service integration"
        ),
        ServiceError::Zbus(_) if address.is_empty() => "DBUS_SESSION_BUS_ADDRESS is unset and no default \
             session bus answers — run in a desktop session or under `dbus-run-session`"
            .to_string(),
        ServiceError::Zbus(_) => {
            format!("no D-Bus session bus answers{at} — run in a desktop session or under `dbus-run-session`")
        }
        other => return failure(other),
    };
    Error::PlatformFailure(why.into())
}

/// Runs `f` with the connection (one call at a time, as the bus connection is shared).
///
/// When the Secret Service no longer knows this process's session (its daemon
/// was restarted: gnome-keyring 42 crashes when a client vanishes mid-call,
/// and the session bus starts it again), the connection is opened afresh and
/// `f` runs once more: the daemon refused before doing anything, so nothing
/// is done twice.
fn with<T>(ss: &Service, f: impl Fn(&mut Connection) -> Result<T>) -> Result<T> {
    let mut guard = ss.lock().map_err(|_| Error::PlatformFailure("the keyring connection is poisoned".into()))?;
    match f(&mut guard) {
        Err(e) if session_lost(&e) => {
            guard.ss = wait(&guard.runtime, SecretService::connect(EncryptionType::Plain)).map_err(unreachable)?;
            guard.found.clear();
            f(&mut guard)
        }
        done => done,
    }
}

/// Whether the daemon answered that the session this process opened does not exist.
fn session_lost(e: &Error) -> bool {
    match e {
        Error::PlatformFailure(inner) | Error::NoStorageAccess(inner) => {
            inner.to_string().contains("org.freedesktop.Secret.Error.NoSession")
        }
        _ => false,
    }
}

/// The items matching `attributes`; locked ones are unlocked first (which
/// fails with `NoStorageAccess` where nobody can answer the prompt).
fn find<'a>(rt: &Handle, ss: &'a SecretService<'static>, attributes: &HashMap<&str, &str>) -> Result<Vec<Item<'a>>> {
    let found = wait(rt, ss.search_items(attributes.clone())).map_err(failure)?;
    if !found.locked.is_empty() {
        let locked: Vec<&Item> = found.locked.iter().collect();
        wait(rt, ss.unlock_all(&locked)).map_err(failure)?;
    }
    Ok(found.unlocked.into_iter().chain(found.locked).collect())
}

impl CredentialStoreApi for Store {
    fn vendor(&self) -> String {
        "conntest's Secret Service store (plain session)".into()
    }

    fn id(&self) -> String {
        "conntest-secret-service".into()
    }

    fn build(&self, service: &str, user: &str, _modifiers: Option<&HashMap<&str, &str>>) -> Result<Entry> {
        let named = Target::Named { service: service.to_string(), user: user.to_string() };
        Ok(Cred::entry(&self.ss, named))
    }

    fn search(&self, spec: &HashMap<&str, &str>) -> Result<Vec<Entry>> {
        let paths: Vec<OwnedObjectPath> =
            with(&self.ss, |c| Ok(find(&c.runtime, &c.ss, spec)?.into_iter().map(|i| i.item_path.clone()).collect()))?;
        Ok(paths.into_iter().map(|path| Cred::entry(&self.ss, Target::Found(path))).collect())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Which item a credential is.
enum Target {
    /// The one item with these `service` and `username` attributes.
    Named { service: String, user: String },
    /// An item found by search, known by its D-Bus path.
    Found(OwnedObjectPath),
}

struct Cred {
    ss: Service,
    target: Target,
}

impl Cred {
    fn entry(ss: &Service, target: Target) -> Entry {
        Entry::new_with_credential(Arc::new(Cred { ss: ss.clone(), target }))
    }

    /// Runs `f` on the item; `NoEntry` when a named one does not exist.
    fn on_item<T>(&self, f: impl Fn(&Handle, &Item<'_>) -> Result<T>) -> Result<T> {
        with(&self.ss, |c| match &self.target {
            Target::Found(path) => {
                let item = wait(&c.runtime, c.ss.get_item_by_path(path.clone())).map_err(failure)?;
                f(&c.runtime, &item)
            }
            Target::Named { service, user } => {
                let key = (service.clone(), user.clone());
                if let Some(path) = c.found.get(&key).cloned() {
                    match wait(&c.runtime, c.ss.get_item_by_path(path))
                        .map_err(failure)
                        .and_then(|item| f(&c.runtime, &item))
                    {
                        Ok(done) => return Ok(done),
                        // Deleted or replaced meanwhile (or locked): search as if never found.
                        Err(_) => {
                            c.found.remove(&key);
                        }
                    }
                }
                match newest(&c.runtime, find(&c.runtime, &c.ss, &named(service, user))?, user) {
                    None => Err(Error::NoEntry),
                    Some(item) => {
                        c.found.insert(key, item.item_path.clone());
                        f(&c.runtime, &item)
                    }
                }
            }
        })
    }

    /// Forgets where the named item was (it was deleted).
    fn forget(&self) {
        if let Target::Named { service, user } = &self.target {
            let _ = with(&self.ss, |c| Ok(c.found.remove(&(service.clone(), user.clone()))));
        }
    }
}

/// The one item of an account. Two can exist (another program, or an old
/// version, stored one beside conntest's): the newest is kept, the others are
/// removed with a warning, so that reads and saves go on instead of failing
/// with "matched by 2 credentials" until `cache clear`.
fn newest<'a>(rt: &Handle, mut items: Vec<Item<'a>>, user: &str) -> Option<Item<'a>> {
    if items.len() > 1 {
        items.sort_by_cached_key(|i| std::cmp::Reverse(wait(rt, i.get_modified()).unwrap_or(0)));
        let extra = items.len() - 1;
        for item in items.drain(1..) {
            let _ = wait(rt, item.delete());
        }
        crate::output::warn(&format!(
            "the keyring held {} items for `{user}`; kept the newest and removed the other{}",
            extra + 1,
            if extra == 1 { "" } else { "s" }
        ));
    }
    items.into_iter().next()
}

fn named<'a>(service: &'a str, user: &'a str) -> HashMap<&'a str, &'a str> {
    HashMap::from([("service", service), ("username", user)])
}

impl CredentialApi for Cred {
    /// One write: the secret of the existing item, or a new item created with
    /// every attribute at once.
    fn set_secret(&self, secret: &[u8]) -> Result<()> {
        let Target::Named { service, user } = &self.target else {
            return self.on_item(|rt, item| wait(rt, item.set_secret(secret, CONTENT_TYPE)).map_err(failure));
        };
        match self.on_item(|rt, item| wait(rt, item.set_secret(secret, CONTENT_TYPE)).map_err(failure)) {
            Err(Error::NoEntry) => {}
            done => return done,
        }
        with(&self.ss, |c| {
            let rt = &c.runtime;
            let collection = wait(rt, c.ss.get_default_collection()).map_err(failure)?;
            if wait(rt, collection.is_locked()).map_err(failure)? {
                wait(rt, collection.unlock()).map_err(failure)?;
            }
            let mut attributes = named(service, user);
            attributes.insert(ACCOUNT, user);
            attributes.insert(APPLICATION, service);
            let label = format!("{service}: {user}");
            let item =
                wait(rt, collection.create_item(&label, attributes, secret, true, CONTENT_TYPE)).map_err(failure)?;
            c.found.insert((service.clone(), user.clone()), item.item_path.clone());
            Ok(())
        })
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        self.on_item(|rt, item| wait(rt, item.get_secret()).map_err(failure))
    }

    fn get_attributes(&self) -> Result<HashMap<String, String>> {
        self.on_item(|rt, item| wait(rt, item.get_attributes()).map_err(failure))
    }

    fn update_attributes(&self, attributes: &HashMap<&str, &str>) -> Result<()> {
        self.on_item(|rt, item| {
            let mut all = wait(rt, item.get_attributes()).map_err(failure)?;
            all.extend(attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            wait(rt, item.set_attributes(all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())).map_err(failure)
        })
    }

    fn delete_credential(&self) -> Result<()> {
        let deleted = self.on_item(|rt, item| wait(rt, item.delete()).map_err(failure));
        self.forget();
        deleted
    }

    fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
        match &self.target {
            Target::Found(_) => Ok(None),
            Target::Named { .. } => {
                let path = self.on_item(|_, item| Ok(item.item_path.clone()))?;
                Ok(Some(Arc::new(Cred { ss: self.ss.clone(), target: Target::Found(path) })))
            }
        }
    }

    fn get_specifiers(&self) -> Option<(String, String)> {
        match &self.target {
            Target::Named { service, user } => Some((service.clone(), user.clone())),
            Target::Found(_) => {
                let attributes = self.get_attributes().ok()?;
                Some((attributes.get("service")?.clone(), attributes.get("username")?.clone()))
            }
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the daemon's "no such session" opens a new session; a miss, a
    /// locked keyring or a missing provider are answers, not a lost session.
    #[test]
    fn only_a_lost_session_reconnects() {
        let failure = |text: &str| Error::PlatformFailure(text.to_string().into());
        // What the Secret Service answered after a daemon restart (seen in the restart test).
        let lost = "zbus error: org.freedesktop.Secret.Error.NoSession: The session wrapping the secret does not exist";
        assert!(session_lost(&failure(lost)));
        assert!(session_lost(&Error::NoStorageAccess(lost.to_string().into())));
        assert!(!session_lost(&Error::NoEntry));
        assert!(!session_lost(&failure("zbus error: org.freedesktop.DBus.Error.ServiceUnknown")));
        assert!(!session_lost(&Error::NoStorageAccess("the collection is locked".to_string().into())));
    }
}
