//! One save, in four steps of which only two hold the writers' lock, each
//! for a few keyring calls: claim a free range of part accounts (locked),
//! write the parts (unlocked), switch the head (locked: the save has
//! succeeded once it is done), delete what the head no longer points to
//! (unlocked, best effort: what is left stays claimed for the next save).

// Claims are lists of account ranges, and a list of one range is not a mistake.
#![allow(clippy::single_range_in_vec_init)]

use std::ops::Range;
use std::sync::Arc;

use super::claims::{Slot, free_range};
use super::entry::*;
use super::lock::{Unfinished, lock};
use super::parts::*;
use super::store::*;

pub(super) async fn save(name: String, json: String) -> Result<(), CacheError> {
    let chunks: Vec<String> = split(&json, chunk_chars()).into_iter().map(str::to_string).collect();
    let total = chunks.len();
    let slot = Arc::new(Slot::take(&name).await?);
    let generation = new_generation();
    let (head, parts) = if total == 1 {
        // Fits in one item: stored as plain JSON, readable with `secret-tool`.
        (json, 0..0)
    } else {
        let parts = claim(&name, &slot, total - 1).await?;
        for (account, (part, data)) in parts.clone().zip((2..).zip(&chunks[1..])) {
            let text = format!("{}{data}", header(&generation, part, total, None));
            let n = name.clone();
            if let Err(e) = call(move |_| write_item(&n, account, &text)).await {
                // The part that failed may have been written all the same.
                delete(&name, &slot, [parts.start..account + 1].to_vec(), true).await;
                return Err(e);
            }
        }
        (format!("{}{}", header(&generation, 1, total, Some(parts.start)), chunks[0]), parts)
    };
    let switched = match lock(&name).await {
        Ok(lock) => {
            let (n, s, p, h) = (name.clone(), slot.clone(), parts.clone(), head.clone());
            call(move |abandoned| {
                if abandoned.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err(CacheError::Unavailable("the save was abandoned after a timeout".into()));
                }
                switch(&n, &h, p, &s, Unfinished(lock))
            })
            .await
        }
        Err(e) => Err(e),
    };
    match switched {
        Ok(garbage) => {
            delete(&name, &slot, garbage, false).await;
            Ok(())
        }
        Err(e) => {
            // A call that timed out may have switched the head all the same: then
            // the save is done, and its parts are the entry.
            let n = name.clone();
            match call(move |_| Ok(read_item(&n, 1)?.as_deref() == Some(head.as_str()))).await {
                Ok(true) => Ok(()),
                Ok(false) => {
                    delete(&name, &slot, [parts].to_vec(), true).await;
                    Err(e)
                }
                // Unknown: the parts stay claimed, and the next save deletes them if unused.
                Err(_) => Err(e),
            }
        }
    }
}

/// Claims `count` accounts that neither the head nor a live save uses.
async fn claim(name: &str, slot: &Arc<Slot>, count: usize) -> Result<Range<usize>, CacheError> {
    let _lock = lock(name).await?;
    let (n, s) = (name.to_string(), slot.clone());
    call(move |_| {
        let mut taken = s.others(&n, false)?.live;
        // What the slot inherited is garbage (but for the head, which is avoided):
        // written over rather than avoided, so that kills in a row do not push
        // the accounts ever higher.
        taken.push(head_parts(&n)?.0);
        let parts = free_range(&taken, count);
        s.set(&[std::slice::from_ref(&parts), &s.inherited[..]].concat())?;
        Ok(parts)
    })
    .await
}

/// The part accounts the head points to, and whether there is a readable head.
/// Not knowing where the current parts are would risk writing over them: only a
/// head that is there but unreadable (so no reader can use it either) counts as none.
fn head_parts(name: &str) -> Result<(Range<usize>, bool), CacheError> {
    let head = match read_item(name, 1) {
        Ok(head) => head,
        Err(CacheError::Corrupt(_)) => None,
        Err(e) => return Err(e),
    };
    Ok((head.as_deref().and_then(parse_header).map(|h| h.parts()).unwrap_or(0..0), head.is_some()))
}

/// Replaces the head (under the writers' lock); then claims, and returns, what
/// no reader can reach any more: the old head's parts, what saves that died
/// claimed, and — after a killed `cache clear` or with no head — every other
/// part found by search. Live saves' parts are never among them.
fn switch(
    name: &str,
    head: &str,
    parts: Range<usize>,
    slot: &Slot,
    mut mark: Unfinished,
) -> Result<Vec<Range<usize>>, CacheError> {
    let (old, had_head) = head_parts(name)?;
    let search = mark.is_set() || !had_head;
    // Killed from here on, the old parts would be nobody's: claimed first, they
    // are deleted by the save after the next switch (whichever head is then current).
    slot.set(&[&[parts.clone(), old.clone()], &slot.inherited[..]].concat())?;
    if let Err(e) = write_item(name, 1, head) {
        // An error can come back after the head was replaced after all; then the save is done.
        if read_item(name, 1).ok().flatten().as_deref() != Some(head) {
            return Err(e);
        }
    }
    // The head points to the new entry: nothing below can lose it, and what is
    // not deleted stays claimed (by this slot, or as a dead one) for the next save.
    let Ok(others) = slot.others(name, true) else { return Ok(Vec::new()) };
    let mut garbage = vec![old];
    garbage.extend(others.dead);
    garbage.extend(slot.inherited.iter().cloned());
    if search && let Ok(items) = items_of(name) {
        garbage.extend(items.into_iter().map(|(part, _)| part).filter(|p| *p >= 2).map(|p| p..p + 1));
        mark.set(false);
    }
    let mut keep = others.live;
    keep.push(parts);
    let garbage = subtract(garbage, &keep);
    match slot.set(&garbage) {
        Ok(()) => Ok(garbage),
        // Unclaimed accounts are not deleted outside the lock.
        Err(_) => Ok(Vec::new()),
    }
}

/// `ranges` without any account in `keep`.
pub(super) fn subtract(ranges: Vec<Range<usize>>, keep: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut out = ranges;
    for k in keep.iter().filter(|k| !k.is_empty()) {
        out = out
            .into_iter()
            .flat_map(|r| [r.start..r.end.min(k.start), r.start.max(k.end)..r.end])
            .filter(|r| !r.is_empty())
            .collect();
    }
    out
}

/// Deletes the claimed accounts that exist (found by one search, so that a
/// hand-edited part count or a range with holes costs nothing per number;
/// best effort, each a keyring call of its own); the claim is dropped once
/// all are gone (but for what the slot `inherited`, when `keep_inherited`: a
/// save that did not switch leaves those to the next).
async fn delete(name: &str, slot: &Arc<Slot>, ranges: Vec<Range<usize>>, keep_inherited: bool) {
    let rest = if keep_inherited { slot.inherited.clone() } else { Vec::new() };
    if !ranges.iter().all(Range::is_empty) {
        let n = name.to_string();
        let found = call(move |_| {
            Ok(items_of(&n)?
                .into_iter()
                .filter(|(part, _)| ranges.iter().any(|r| r.contains(part)))
                .collect::<Vec<_>>())
        })
        .await;
        // Left claimed: the next save deletes them.
        let Ok(found) = found else { return };
        for (_, item) in found {
            if call(move |_| match item.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(e) => Err(CacheError::Unavailable(describe(&e))),
            })
            .await
            .is_err()
            {
                return;
            }
        }
    }
    let _ = slot.set(&rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtract_splits_around_kept_ranges() {
        assert_eq!(subtract(vec![2..10], &[4..6]), vec![2..4, 6..10]);
        assert_eq!(subtract(vec![2..10, 20..30], &[0..0, 5..25]), vec![2..5, 25..30]);
        assert_eq!(subtract(vec![2..5], &[2..5]), Vec::<Range<usize>>::new());
        assert_eq!(subtract(vec![2..5], &[7..9]), vec![2..5]);
    }
}
