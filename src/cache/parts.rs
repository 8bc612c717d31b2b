//! How an entry too large for one keyring item is split: the part header,
//! and the split itself.

use std::sync::atomic::Ordering;

pub(super) const MAGIC: &str = "conntest-cache";

/// The first line of a split entry's items: `MAGIC GEN PART/TOTAL`, and on the
/// head (part 1) also `FIRST`, the account number that holds part 2.
pub(super) fn header(generation: &str, part: usize, total: usize, first: Option<usize>) -> String {
    match first {
        Some(first) => format!("{MAGIC} {generation} {part}/{total} {first}\n"),
        None => format!("{MAGIC} {generation} {part}/{total}\n"),
    }
}

/// One item of a split entry, parsed.
#[derive(Debug, PartialEq)]
pub(super) struct Item<'a> {
    pub(super) generation: &'a str,
    pub(super) part: usize,
    pub(super) total: usize,
    /// Account number of part 2 (head only; entries saved before it existed use 2).
    pub(super) first: usize,
    pub(super) data: &'a str,
}

impl Item<'_> {
    /// The account numbers of parts 2..=total.
    pub(super) fn parts(&self) -> std::ops::Range<usize> {
        self.first..self.first + self.total.saturating_sub(1)
    }
}

pub(super) fn parse_header(text: &str) -> Option<Item<'_>> {
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
pub(super) const MAX_PARTS: usize = 1_000_000;

pub(super) fn split(text: &str, size: usize) -> Vec<&str> {
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

/// A save's own generation tag: unique across processes and within one.
pub(super) fn new_generation() -> String {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}-{nanos}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::store::part_number;

    #[test]
    pub(super) fn split_keeps_every_char() {
        let text = "héllo wörld ✔ ".repeat(50);
        let parts = split(&text, 7);
        assert!(parts.iter().all(|p| p.chars().count() <= 7));
        assert_eq!(parts.concat(), text);
    }

    #[test]
    pub(super) fn part_numbers_follow_spec_accounts_only() {
        assert_eq!(part_number("acme", "acme"), Some(1));
        assert_eq!(part_number("acme", "acme#2"), Some(2));
        assert_eq!(part_number("acme", "acme#40"), Some(40));
        for other in ["acme2", "acme#", "acme#1", "acme#x", "acme#+3", "acme-b#2", "acm", "acme#2#3"] {
            assert_eq!(part_number("acme", other), None, "{other}");
        }
    }

    #[test]
    pub(super) fn headers_round_trip() {
        let h = format!("{}data\nmore", header("g1", 2, 3, None));
        let item = Item { generation: "g1", part: 2, total: 3, first: 2, data: "data\nmore" };
        assert_eq!(parse_header(&h), Some(item));
        let head = format!("{}{{", header("g2", 1, 4, Some(9)));
        assert_eq!(parse_header(&head).map(|h| h.parts()), Some(9..12));
        for bad in ["garbage", "conntest-cache g 3/2\n", "conntest-cache g 0/2\n", "conntest-cache g 1/2 1\n"] {
            assert_eq!(parse_header(bad), None, "{bad}");
        }
    }
}
