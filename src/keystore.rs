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
use std::sync::{Arc, Mutex};

use keyring_core::api::{Credential, CredentialApi, CredentialStoreApi};
use keyring_core::{Entry, Error, Result};
use secret_service::blocking::{Item, SecretService};
use secret_service::{EncryptionType, Error as ServiceError};
use zvariant::OwnedObjectPath;

/// The attribute that names the program, beside `service` and `username`.
const APPLICATION: &str = "application";
/// `username` again under the name `secret-tool lookup service S account A` uses.
const ACCOUNT: &str = "account";
const CONTENT_TYPE: &str = "text/plain";

type Service = Arc<Mutex<SecretService<'static>>>;

pub struct Store {
    ss: Service,
}

impl Store {
    pub fn new() -> Result<Arc<Store>> {
        let ss = SecretService::connect(EncryptionType::Plain).map_err(failure)?;
        Ok(Arc::new(Store { ss: Arc::new(Mutex::new(ss)) }))
    }
}

fn failure(e: ServiceError) -> Error {
    match e {
        ServiceError::Locked | ServiceError::NoResult | ServiceError::Prompt => Error::NoStorageAccess(Box::new(e)),
        other => Error::PlatformFailure(Box::new(other)),
    }
}

/// Runs `f` with the connection (one call at a time, as the bus connection is shared).
fn with<T>(ss: &Service, f: impl FnOnce(&SecretService<'static>) -> Result<T>) -> Result<T> {
    let guard = ss.lock().map_err(|_| Error::PlatformFailure("the keyring connection is poisoned".into()))?;
    f(&guard)
}

/// The items matching `attributes`; locked ones are unlocked first (which
/// fails with `NoStorageAccess` where nobody can answer the prompt).
fn find<'a>(ss: &'a SecretService<'static>, attributes: &HashMap<&str, &str>) -> Result<Vec<Item<'a>>> {
    let found = ss.search_items(attributes.clone()).map_err(failure)?;
    if !found.locked.is_empty() {
        let locked: Vec<&Item> = found.locked.iter().collect();
        ss.unlock_all(&locked).map_err(failure)?;
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
        let spec = Specifier { ss: self.ss.clone(), service: service.to_string(), user: user.to_string() };
        Ok(Entry::new_with_credential(Arc::new(spec)))
    }

    fn search(&self, spec: &HashMap<&str, &str>) -> Result<Vec<Entry>> {
        let paths: Vec<OwnedObjectPath> =
            with(&self.ss, |ss| Ok(find(ss, spec)?.into_iter().map(|i| i.item_path.clone()).collect()))?;
        Ok(paths
            .into_iter()
            .map(|path| Entry::new_with_credential(Arc::new(Found { ss: self.ss.clone(), path })))
            .collect())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// An entry named by service and user: the one item with those attributes.
struct Specifier {
    ss: Service,
    service: String,
    user: String,
}

impl Specifier {
    fn attributes(&self) -> HashMap<&str, &str> {
        HashMap::from([("service", self.service.as_str()), ("username", self.user.as_str())])
    }

    /// Runs `f` on the one matching item; `NoEntry` when there is none.
    fn on_item<T>(&self, f: impl FnOnce(&Item<'_>) -> Result<T>) -> Result<T> {
        with(&self.ss, |ss| match find(ss, &self.attributes())?.as_slice() {
            [] => Err(Error::NoEntry),
            [item] => f(item),
            more => {
                let entries = more
                    .iter()
                    .map(|i| {
                        let found = Found { ss: self.ss.clone(), path: i.item_path.clone() };
                        Entry::new_with_credential(Arc::new(found))
                    })
                    .collect();
                Err(Error::Ambiguous(entries))
            }
        })
    }
}

impl CredentialApi for Specifier {
    /// One write: the secret of the existing item, or a new item created with
    /// every attribute at once.
    fn set_secret(&self, secret: &[u8]) -> Result<()> {
        with(&self.ss, |ss| {
            if let [item] = find(ss, &self.attributes())?.as_slice() {
                return item.set_secret(secret, CONTENT_TYPE).map_err(failure);
            }
            let collection = ss.get_default_collection().map_err(failure)?;
            if collection.is_locked().map_err(failure)? {
                collection.unlock().map_err(failure)?;
            }
            let mut attributes = self.attributes();
            attributes.insert(ACCOUNT, &self.user);
            attributes.insert(APPLICATION, &self.service);
            let label = format!("{}: {}", self.service, self.user);
            collection.create_item(&label, attributes, secret, true, CONTENT_TYPE).map_err(failure)?;
            Ok(())
        })
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        self.on_item(|item| item.get_secret().map_err(failure))
    }

    fn get_attributes(&self) -> Result<HashMap<String, String>> {
        self.on_item(|item| item.get_attributes().map_err(failure))
    }

    fn update_attributes(&self, attributes: &HashMap<&str, &str>) -> Result<()> {
        self.on_item(|item| update(item, attributes))
    }

    fn delete_credential(&self) -> Result<()> {
        self.on_item(|item| item.delete().map_err(failure))
    }

    fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
        let path = self.on_item(|item| Ok(item.item_path.clone()))?;
        Ok(Some(Arc::new(Found { ss: self.ss.clone(), path })))
    }

    fn get_specifiers(&self) -> Option<(String, String)> {
        Some((self.service.clone(), self.user.clone()))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// An item found by search, known by its D-Bus path.
struct Found {
    ss: Service,
    path: OwnedObjectPath,
}

impl Found {
    fn on_item<T>(&self, f: impl FnOnce(&Item<'_>) -> Result<T>) -> Result<T> {
        with(&self.ss, |ss| f(&ss.get_item_by_path(self.path.clone()).map_err(failure)?))
    }
}

fn update(item: &Item<'_>, attributes: &HashMap<&str, &str>) -> Result<()> {
    let mut all = item.get_attributes().map_err(failure)?;
    all.extend(attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    item.set_attributes(all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()).map_err(failure)
}

impl CredentialApi for Found {
    fn set_secret(&self, secret: &[u8]) -> Result<()> {
        self.on_item(|item| item.set_secret(secret, CONTENT_TYPE).map_err(failure))
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        self.on_item(|item| item.get_secret().map_err(failure))
    }

    fn get_attributes(&self) -> Result<HashMap<String, String>> {
        self.on_item(|item| item.get_attributes().map_err(failure))
    }

    fn update_attributes(&self, attributes: &HashMap<&str, &str>) -> Result<()> {
        self.on_item(|item| update(item, attributes))
    }

    fn delete_credential(&self) -> Result<()> {
        self.on_item(|item| item.delete().map_err(failure))
    }

    fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
        Ok(None)
    }

    fn get_specifiers(&self) -> Option<(String, String)> {
        let attributes = self.get_attributes().ok()?;
        Some((attributes.get("service")?.clone(), attributes.get("username")?.clone()))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
