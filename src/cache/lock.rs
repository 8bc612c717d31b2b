//! The per-user lock that orders writers of one connector's entry, doubling as
//! the mark of a save that has not finished cleaning up.

use std::sync::OnceLock;
use std::time::Duration;

use super::entry::*;

/// The directory of lock files, private to the user: `$XDG_RUNTIME_DIR/conntest`,
/// else `conntest/locks` under the user's cache dir, created 0700.
///
/// A shared directory such as `/tmp/conntest-locks` let a second user fail to
/// lock (and run unlocked) and let anyone hold a lock file to block everyone.
pub(super) fn lock_dir() -> Result<&'static std::path::Path, CacheError> {
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
pub(super) fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
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
pub(super) async fn lock(name: &str) -> Result<std::fs::File, CacheError> {
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

/// The connector's lock file, held, doubling as a mark that a save began and
/// has not finished cleaning up: a save killed at any point leaves it set, and
/// the next save then searches for the parts it left. The lock orders every
/// writer, and the file is private to the user. Best effort: without the mark,
/// leftovers wait for `cache clear`.
pub(super) struct Unfinished(pub(super) std::fs::File);

impl Unfinished {
    const MARK: &'static [u8] = b"unfinished save\n";

    pub(super) fn is_set(&mut self) -> bool {
        use std::io::{Read as _, Seek as _};
        let mut text = Vec::new();
        let read = self.0.seek(std::io::SeekFrom::Start(0)).and_then(|_| (&self.0).take(64).read_to_end(&mut text));
        read.is_ok() && text == Self::MARK
    }

    pub(super) fn set(&mut self, on: bool) {
        use std::io::{Seek as _, Write as _};
        let text = if on { Self::MARK } else { b"" };
        let _ = self
            .0
            .set_len(0)
            .and_then(|_| self.0.seek(std::io::SeekFrom::Start(0)))
            .and_then(|_| self.0.write_all(text));
    }
}
