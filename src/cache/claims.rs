//! Which part accounts a save is using, so that parts can be written and old
//! ones deleted outside the writers' lock: each save holds a slot (a locked
//! file `NAME.K.slot` in the private lock directory) and lists the account
//! ranges it writes or deletes in `NAME.K.claim`. Claims are written only under
//! the writers' lock; a save picks accounts that neither the head nor a live
//! claim uses. A slot nobody holds is a save that died: its claim lists what
//! it may have left, for the next save to delete.

// Claims are lists of account ranges, and a list of one range is not a mistake.
#![allow(clippy::single_range_in_vec_init)]

use std::ops::Range;
use std::time::Duration;

use super::entry::*;
use super::lock::lock_dir;

/// At most this many saves of one connector write parts at once; the others
/// wait for a slot. The Secret Service writes one item at a time and rewrites
/// its whole file for each, so more writers at once only make every write
/// slower (50 savers of 25 parts each: 83 s with 128 slots, against ~20 s).
const SLOTS: usize = 2;
/// A claim file is only ever a few lines; more is not ours and is ignored.
const MAX_CLAIM_BYTES: u64 = 1 << 20;

fn paths(name: &str, k: usize) -> Result<(std::path::PathBuf, std::path::PathBuf), CacheError> {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let dir = lock_dir()?;
    Ok((dir.join(format!("{safe}.{k}.slot")), dir.join(format!("{safe}.{k}.claim"))))
}

fn open(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).read(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Replaces the text of a claim file, created readable by the user only.
fn write(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = open(path)?;
    file.set_len(0)?;
    file.write_all(text.as_bytes())
}

/// One save's slot, held until dropped; its claim says which accounts it uses.
pub(super) struct Slot {
    k: usize,
    _held: std::fs::File,
    claim: std::path::PathBuf,
    /// What the slot's previous holder claimed and did not finish: a save that
    /// died, whose leftovers this save deletes.
    pub(super) inherited: Vec<Range<usize>>,
}

impl Slot {
    /// Takes a free slot of `name`, waiting while the saves holding them make
    /// progress (their claims change): fifty saves queue up behind each other,
    /// a save that hangs makes the others give up after the limit.
    pub(super) async fn take(name: &str) -> Result<Slot, CacheError> {
        let limit = (call_timeout() * 3).max(Duration::from_secs(30));
        let mut progress = std::time::Instant::now();
        let mut seen = None;
        let mut pause = Duration::from_millis(2);
        loop {
            for k in 0..SLOTS {
                let (slot, claim) = paths(name, k)?;
                let file = open(&slot).map_err(|e| CacheError::Lock(format!("cannot open {}: {e}", slot.display())))?;
                match file.try_lock() {
                    Ok(()) => return Ok(Slot { k, _held: file, inherited: read(&claim), claim }),
                    Err(std::fs::TryLockError::WouldBlock) => {}
                    Err(std::fs::TryLockError::Error(e)) => {
                        return Err(CacheError::Lock(format!("cannot lock {}: {e}", slot.display())));
                    }
                }
            }
            let changed = (0..SLOTS)
                .filter_map(|k| paths(name, k).ok())
                .filter_map(|(_, claim)| std::fs::metadata(claim).and_then(|m| m.modified()).ok())
                .max();
            if changed != seen {
                (seen, progress) = (changed, std::time::Instant::now());
            } else if progress.elapsed() >= limit {
                return Err(CacheError::Unavailable(format!(
                    "another conntest process saving `{name}` made no progress for {} s",
                    limit.as_secs()
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Replaces this save's claim (only under the writers' lock, or to drop it).
    pub(super) fn set(&self, ranges: &[Range<usize>]) -> Result<(), CacheError> {
        let text: String =
            ranges.iter().filter(|r| !r.is_empty()).map(|r| format!("{} {}\n", r.start, r.end)).collect();
        write(&self.claim, &text).map_err(|e| CacheError::Lock(format!("cannot write {}: {e}", self.claim.display())))
    }

    /// The claims of the other slots (read under the writers' lock): those of
    /// live saves, and those of saves that died (which are emptied, as the
    /// caller now owns what they list).
    pub(super) fn others(&self, name: &str, take_dead: bool) -> Result<Claims, CacheError> {
        others(name, Some(self.k), take_dead)
    }
}

/// The claims of every slot but `own` (read under the writers' lock): those of
/// live saves, and those of saves that died (emptied when `take_dead`, as the
/// caller then owns what they list).
pub(super) fn others(name: &str, own: Option<usize>, take_dead: bool) -> Result<Claims, CacheError> {
    let mut claims = Claims::default();
    for k in (0..SLOTS).filter(|k| Some(*k) != own) {
        let (slot, claim) = paths(name, k)?;
        if !slot.exists() {
            continue;
        }
        let Ok(file) = open(&slot) else { continue };
        match file.try_lock() {
            Err(std::fs::TryLockError::WouldBlock) => claims.live.extend(read(&claim)),
            Ok(()) => {
                let dead = read(&claim);
                if take_dead && !dead.is_empty() {
                    let _ = write(&claim, "");
                    claims.dead.extend(dead);
                }
            }
            Err(_) => {}
        }
    }
    Ok(claims)
}

/// Account ranges other saves claim.
#[derive(Default)]
pub(super) struct Claims {
    /// Written or being deleted by a live save: not to be touched.
    pub(super) live: Vec<Range<usize>>,
    /// Listed by saves that died: possibly left over.
    pub(super) dead: Vec<Range<usize>>,
}

fn read(path: &std::path::Path) -> Vec<Range<usize>> {
    use std::io::Read as _;
    let mut text = String::new();
    let Ok(file) = std::fs::File::open(path) else { return Vec::new() };
    if file.take(MAX_CLAIM_BYTES).read_to_string(&mut text).is_err() {
        return Vec::new();
    }
    text.lines()
        .filter_map(|line| {
            let (a, b) = line.split_once(' ')?;
            let (a, b) = (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?);
            (a >= 2 && a < b && b <= 2 * super::parts::MAX_PARTS + 2).then_some(a..b)
        })
        .collect()
}

/// The lowest `count` accounts (from 2) that overlap none of `taken`.
pub(super) fn free_range(taken: &[Range<usize>], count: usize) -> Range<usize> {
    let overlaps = |r: &Range<usize>| taken.iter().any(|t| !t.is_empty() && t.start < r.end && r.start < t.end);
    let mut starts: Vec<usize> = std::iter::once(2).chain(taken.iter().map(|t| t.end.max(2))).collect();
    starts.sort_unstable();
    starts.into_iter().map(|s| s..s + count).find(|r| !overlaps(r)).unwrap_or_else(|| {
        // Unreachable (past the highest end nothing overlaps), but never a panic.
        let end = taken.iter().map(|t| t.end).max().unwrap_or(2).max(2);
        end..end + count
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ranges_avoid_every_claim_and_stay_low() {
        assert_eq!(free_range(&[], 3), 2..5);
        assert_eq!(free_range(&[2..5], 3), 5..8);
        assert_eq!(free_range(&[5..8], 3), 2..5);
        assert_eq!(free_range(&[5..8], 4), 8..12);
        assert_eq!(free_range(&[2..5, 5..8, 9..10], 1), 8..9);
        assert_eq!(free_range(&[2..5, 5..8, 9..10], 2), 10..12);
        assert_eq!(free_range(&[0..0, 3..4], 1), 2..3);
    }
}
