//! The learned secrets as one Aho–Corasick automaton: masking a text costs
//! its length, whatever the secrets are (shared prefixes, many lengths,
//! secrets inside secrets), and the automaton's size is capped.
//!
//! The `aho-corasick` crate was the first choice, but its standard (overlapping)
//! automaton copies every suffix-pattern's match into each state: secrets
//! nested as suffixes of each other (`aaa`, `aaaa`, …, `baaaa…`) make its build
//! quadratic. Masking needs only the longest secret ending at each position
//! (the union of those ranges is the union of all occurrences), which one
//! number per state gives.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The most automaton states (≈ bytes of distinct secret text) one process
/// learns: about 40 bytes each, so the index stays under ~100 MiB however many
/// secrets a server sends. Past it, values are masked by name only.
pub const MAX_STATES: usize = 2_000_000;

#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        let x = (self.0 ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = x ^ (x >> 29);
    }
}

pub struct Index {
    /// `(state << 8) | byte` → next state; the root's edges also in `root`.
    edges: HashMap<u64, u32, BuildHasherDefault<Fx>>,
    root: Box<[u32; 256]>,
    parent: Vec<u32>,
    byte: Vec<u8>,
    depth: Vec<u32>,
    /// Whether a secret ends at this state (its length is the state's depth).
    end: Vec<bool>,
    fail: Vec<u32>,
    /// The length of the longest secret that is a suffix of this state's text (0: none).
    best: Vec<u32>,
    /// Secrets were added since `fail`/`best` were computed.
    dirty: bool,
    count: usize,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            edges: HashMap::default(),
            root: Box::new([0; 256]),
            parent: vec![0],
            byte: vec![0],
            depth: vec![0],
            end: vec![false],
            fail: vec![0],
            best: vec![0],
            dirty: false,
            count: 0,
        }
    }
}

impl Index {
    fn next(&self, state: u32, b: u8) -> Option<u32> {
        if state == 0 {
            Some(self.root[usize::from(b)]).filter(|&s| s != 0)
        } else {
            self.edges.get(&((u64::from(state) << 8) | u64::from(b))).copied()
        }
    }

    /// Automaton states held (about the bytes of distinct secret text).
    pub fn states(&self) -> usize {
        self.parent.len()
    }

    pub fn contains(&self, value: &[u8]) -> bool {
        let mut state = 0;
        for &b in value {
            match self.next(state, b) {
                Some(s) => state = s,
                None => return false,
            }
        }
        state != 0 && self.end[state as usize]
    }

    /// Adds `value`; `false` when the index is full (it is then left as it was).
    pub fn insert(&mut self, value: &[u8]) -> bool {
        let mut state = 0u32;
        let mut at = 0;
        while at < value.len() {
            match self.next(state, value[at]) {
                Some(s) => state = s,
                None => break,
            }
            at += 1;
        }
        if self.parent.len() + (value.len() - at) > MAX_STATES {
            return false;
        }
        for &b in &value[at..] {
            let new = self.parent.len() as u32;
            self.parent.push(state);
            self.byte.push(b);
            self.depth.push(self.depth[state as usize] + 1);
            self.end.push(false);
            if state == 0 {
                self.root[usize::from(b)] = new;
            } else {
                self.edges.insert((u64::from(state) << 8) | u64::from(b), new);
            }
            state = new;
        }
        if state != 0 && !self.end[state as usize] {
            self.end[state as usize] = true;
            self.count += 1;
            self.dirty = true;
        }
        true
    }

    /// Failure links and longest suffix-secrets, shallow states first: linear in the states.
    fn build(&mut self) {
        let n = self.parent.len();
        let max_depth = self.depth.iter().copied().max().unwrap_or(0) as usize;
        let mut starts = vec![0usize; max_depth + 2];
        for &d in &self.depth {
            starts[d as usize + 1] += 1;
        }
        for d in 1..starts.len() {
            starts[d] += starts[d - 1];
        }
        let mut order = vec![0u32; n];
        for (s, &d) in self.depth.iter().enumerate() {
            order[starts[d as usize]] = s as u32;
            starts[d as usize] += 1;
        }
        self.fail = vec![0; n];
        self.best = vec![0; n];
        for &v in order.iter().skip(1) {
            let (v, u, b) = (v as usize, self.parent[v as usize], self.byte[v as usize]);
            let fail = if u == 0 {
                0
            } else {
                let mut f = self.fail[u as usize];
                loop {
                    if let Some(next) = self.next(f, b) {
                        break next;
                    }
                    if f == 0 {
                        break 0;
                    }
                    f = self.fail[f as usize];
                }
            };
            self.fail[v] = fail;
            self.best[v] = if self.end[v] { self.depth[v] } else { self.best[fail as usize] };
        }
        self.dirty = false;
    }

    /// Brings the automaton up to date with what was inserted.
    pub fn prepare(&mut self) {
        if self.dirty || self.fail.len() != self.parent.len() {
            self.build();
        }
    }

    /// Whether [`Index::ranges`] can run without [`Index::prepare`] first.
    pub fn ready(&self) -> bool {
        !self.dirty && self.fail.len() == self.parent.len()
    }

    /// Byte ranges of `text` covered by some secret, merged where they overlap;
    /// one automaton step per byte (amortized). Call [`Index::prepare`] first.
    pub fn ranges(&self, text: &[u8]) -> Vec<(usize, usize)> {
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        if self.count == 0 {
            return ranges;
        }
        let mut state = 0u32;
        for (j, &b) in text.iter().enumerate() {
            state = loop {
                if let Some(next) = self.next(state, b) {
                    break next;
                }
                if state == 0 {
                    break 0;
                }
                state = self.fail[state as usize];
            };
            let len = self.best[state as usize] as usize;
            if len == 0 {
                continue;
            }
            let (start, end) = (j + 1 - len, j + 1);
            // A longer secret ending here may cover earlier ranges whole.
            while ranges.last().is_some_and(|last| last.0 >= start) {
                ranges.pop();
            }
            match ranges.last_mut() {
                Some(last) if start < last.1 => last.1 = end,
                _ => ranges.push((start, end)),
            }
        }
        ranges
    }
}

/// How many bytes of secrets each tier but the last holds before it is merged
/// into the next. A tier's automaton is rebuilt when a mask follows a change
/// to it: every step line rebuilds the first tier (at most 2 KiB of secrets),
/// and a tier above only when one below spilled into it. With two tiers
/// (256 KiB before a merge) a 400-step flow rebuilt its growing recent
/// secrets at every step line: 81 % of its 749 M instructions.
pub const TIER_BYTES: [usize; 2] = [2 * 1024, 32 * 1024];

/// The learned secrets in three automata, smallest (most recent) first; each
/// is rebuilt only when a mask follows a change to it. A run that alternates
/// learning and masking (every exchange does) thus rebuilds little each time.
#[derive(Default)]
pub struct Tiers {
    tiers: [Tier; 3],
}

#[derive(Default)]
struct Tier {
    index: Index,
    /// The secrets themselves, for the merge into the next tier (the last keeps none).
    text: Vec<Box<[u8]>>,
    bytes: usize,
}

impl Tiers {
    pub fn contains(&self, value: &[u8]) -> bool {
        self.tiers.iter().any(|t| t.index.contains(value))
    }

    /// Adds `value`; `false` when the tiers together hold [`MAX_STATES`].
    pub fn insert(&mut self, value: &[u8]) -> bool {
        if self.contains(value) {
            return true;
        }
        let states: usize = self.tiers.iter().map(|t| t.index.states()).sum();
        if states + value.len() > MAX_STATES || !self.tiers[0].index.insert(value) {
            return false;
        }
        self.tiers[0].text.push(value.into());
        self.tiers[0].bytes += value.len();
        for (i, &cap) in TIER_BYTES.iter().enumerate() {
            if self.tiers[i].bytes <= cap {
                break;
            }
            let full = std::mem::take(&mut self.tiers[i]);
            let last = i + 1 == TIER_BYTES.len();
            let next = &mut self.tiers[i + 1];
            for text in full.text {
                next.index.insert(&text);
                next.bytes += text.len();
                if !last {
                    next.text.push(text);
                }
            }
        }
        true
    }

    /// How many bytes of secrets each tier holds (for tests).
    #[cfg(test)]
    fn bytes(&self) -> [usize; 3] {
        self.tiers.each_ref().map(|t| t.bytes)
    }

    pub fn ready(&self) -> bool {
        self.tiers.iter().all(|t| t.index.ready())
    }

    pub fn prepare(&mut self) {
        self.tiers.iter_mut().for_each(|t| t.index.prepare());
    }

    /// The union of every tier's ranges, merged where they overlap.
    pub fn ranges(&self, text: &[u8]) -> Vec<(usize, usize)> {
        let mut all: Vec<(usize, usize)> = Vec::new();
        let mut parts = 0;
        for t in &self.tiers {
            let found = t.index.ranges(text);
            parts += usize::from(!found.is_empty());
            all.extend(found);
        }
        if parts <= 1 {
            return all;
        }
        all.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(all.len());
        for (start, end) in all {
            match merged.last_mut() {
                Some(last) if start < last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(secrets: &[&str]) -> Index {
        let mut i = Index::default();
        for s in secrets {
            assert!(i.insert(s.as_bytes()));
        }
        i.prepare();
        i
    }

    #[test]
    fn every_occurrence_is_covered() {
        let i = index(&["abc", "xab", "bcdef", "zzz"]);
        assert_eq!(i.ranges(b"--xabcdef--abc-zzzz"), vec![(2, 9), (11, 14), (15, 19)]);
        let i = index(&["overlap-abcdef", "xyz-overlap"]);
        assert_eq!(i.ranges(b"<xyz-overlap-abcdef>"), vec![(1, 19)]);
        // A secret inside another: the longer one counts.
        let i = index(&["bbb", "abbbc"]);
        assert_eq!(i.ranges(b"abbbc bbb"), vec![(0, 5), (6, 9)]);
        assert!(i.contains(b"bbb") && !i.contains(b"bb") && !i.contains(b"abbb"));
    }

    #[test]
    fn nested_suffix_secrets_stay_linear() {
        let mut i = Index::default();
        for n in 3..2_000 {
            i.insert("a".repeat(n).as_bytes());
            i.insert(format!("b{}", "a".repeat(n)).as_bytes());
        }
        i.prepare();
        let text = "a".repeat(1 << 20) + "b";
        let started = std::time::Instant::now();
        assert_eq!(i.ranges(text.as_bytes()), vec![(0, 1 << 20)]);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn tiers_merge_and_keep_every_secret() {
        let mut t = Tiers::default();
        for i in 0..20_000 {
            assert!(t.insert(format!("tier-secret-{i:05}-{}", "x".repeat(i % 40)).as_bytes()));
            if i % 1000 == 0 {
                t.prepare();
            }
        }
        assert!(t.insert(b"xyz-overlap") && t.insert(b"overlap-abcdef"));
        t.prepare();
        assert!(t.contains(b"tier-secret-00007-xxxxxxx") && t.contains(b"tier-secret-19960-"));
        assert_eq!(t.ranges(b"<xyz-overlap-abcdef> tier-secret-00000-!"), vec![(1, 19), (21, 39)]);
    }

    /// The first tier is merged into the second past 2 KiB, the second into
    /// the last past 32 KiB; every secret stays masked across the merges.
    #[test]
    fn tiers_merge_at_2_kib_and_32_kib() {
        let mut t = Tiers::default();
        let secret = |i: usize| format!("{i:07}{}", "s".repeat(121));
        for i in 0..16 {
            assert!(t.insert(secret(i).as_bytes()));
        }
        assert_eq!(t.bytes(), [2 * 1024, 0, 0], "2 KiB stay in the first tier");
        assert!(t.insert(secret(16).as_bytes()));
        assert_eq!(t.bytes(), [0, 17 * 128, 0], "past 2 KiB it moves up");
        for i in 17..=256 {
            assert!(t.insert(secret(i).as_bytes()));
        }
        let [first, second, last] = t.bytes();
        assert_eq!(last, 0);
        assert!(second <= 32 * 1024 && first <= 2 * 1024 && first + second == 257 * 128);
        for i in 257..300 {
            assert!(t.insert(secret(i).as_bytes()));
        }
        assert!(t.bytes()[2] > 32 * 1024, "past 32 KiB the second tier moves up: {:?}", t.bytes());
        t.prepare();
        for i in [0, 16, 17, 256, 299] {
            let text = format!("<{}>", secret(i));
            assert_eq!(t.ranges(text.as_bytes()), vec![(1, 129)], "secret {i}");
        }
    }

    /// Ranges found in different tiers come out in text order, overlapping
    /// ones merged: an old secret before a new one, and two that overlap.
    #[test]
    fn ranges_of_different_tiers_are_sorted_and_merged() {
        let mut t = Tiers::default();
        assert!(t.insert(b"old-secret") && t.insert(b"shared-tail"));
        for i in 0..20 {
            assert!(t.insert(format!("filler-{i:03}-{}", "f".repeat(120)).as_bytes()));
        }
        assert_eq!(t.bytes(), [4 * 131, 21 + 16 * 131, 0], "the two old secrets moved up");
        assert!(t.insert(b"new-secret") && t.insert(b"head-shared"));
        t.prepare();
        assert_eq!(t.ranges(b"<old-secret> <new-secret>"), vec![(1, 11), (14, 24)]);
        assert_eq!(t.ranges(b"<head-shared-tail>"), vec![(1, 17)]);
    }

    /// The cap counts the states of every tier together, up to exactly [`MAX_STATES`].
    #[test]
    fn the_tiers_together_are_capped_at_max_states() {
        let mut t = Tiers::default();
        // Merged up to the last tier; each tier's root is a state too.
        assert!(t.insert(&vec![b'a'; MAX_STATES - 100]));
        assert_eq!(t.tiers.iter().map(|t| t.index.states()).sum::<usize>(), MAX_STATES - 97);
        assert!(t.insert(&[b'b'; 97]), "exactly MAX_STATES is allowed");
        assert!(!t.insert(b"c"), "one more is not, though the first tier has room");
        assert!(t.contains(&[b'b'; 97]) && !t.contains(b"c"));
    }

    #[test]
    fn the_index_is_capped() {
        let mut i = Index::default();
        assert!(!i.insert(&vec![b'x'; MAX_STATES + 1]));
        assert!(!i.contains(b"xxx"));
        assert!(i.insert(&vec![b'x'; MAX_STATES - 1]));
    }
}
