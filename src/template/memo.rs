//! A thread's memo of template analyses, by source.

/// What a thread learned of each template source it analysed: connector files
/// repeat their templates (the base URL, a token in every header), and
/// analysing one compiles it twice (half of `validate`'s template work).
/// Bounded: past [`Memo::MAX`] sources it starts over.
pub(super) struct Memo<T>(std::cell::RefCell<std::collections::HashMap<String, T>>);

impl<T: Clone> Memo<T> {
    const MAX: usize = 4096;
    pub(super) fn new() -> Self {
        Memo(Default::default())
    }
    pub(super) fn get(&self, src: &str, analyse: fn(&str) -> T) -> T {
        if let Some(known) = self.0.borrow().get(src) {
            return known.clone();
        }
        let found = analyse(src);
        let mut seen = self.0.borrow_mut();
        if seen.len() >= Self::MAX {
            seen.clear();
        }
        seen.insert(src.to_string(), found.clone());
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memo_keeps_4096_sources_then_starts_over() {
        let memo: Memo<usize> = Memo::new();
        for i in 0..4096 {
            assert_eq!(memo.get(&i.to_string(), str::len), i.to_string().len());
        }
        assert_eq!(memo.0.borrow().len(), 4096);
        memo.get("one more", str::len);
        assert_eq!(memo.0.borrow().len(), 1);
        // A known source is answered from the memo, not analysed again.
        assert_eq!(memo.get("one more", |_| 0), 8);
    }
}
