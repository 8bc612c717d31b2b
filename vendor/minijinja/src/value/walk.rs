//! A bound on the items that comparing and hashing containers may visit
//! (conntest patch, see PATCHED.md).
//!
//! `==`, `<` and hashing walk containers nested in containers, and the fuel
//! only charged for the outer items: `[big] == [big]` visited 10^8 items for
//! the price of one.  While a template runs with fuel, the VM allows each
//! instruction the items the fuel left can pay for ([`arm`]); every item a
//! walk visits is counted ([`tick`]), and past the allowance the walk stops
//! at once with a meaningless result.  Before the next instruction (and when
//! the evaluation ends) the VM charges what was visited and fails with
//! `OutOfFuel` if the allowance ran out ([`settle`]), so that result is never
//! used.  Outside a template, or without fuel, nothing is counted.
use std::cell::Cell;
use std::cmp::Ordering;

#[derive(Clone, Copy)]
struct Walk {
    budget: Option<u64>,
    visited: u64,
    exceeded: bool,
}

const UNBOUNDED: Walk = Walk {
    budget: None,
    visited: 0,
    exceeded: false,
};

thread_local! {
    static WALK: Cell<Walk> = const { Cell::new(UNBOUNDED) };
}

/// Counts one visited item; `false` once the allowance is spent.
#[inline]
pub(crate) fn tick() -> bool {
    WALK.with(|w| {
        let mut walk = w.get();
        match walk.budget {
            None => true,
            Some(budget) if walk.visited >= budget => {
                walk.exceeded = true;
                w.set(walk);
                false
            }
            Some(_) => {
                walk.visited += 1;
                w.set(walk);
                true
            }
        }
    })
}

/// Allows walks `budget` items until the next [`settle`].
#[inline]
pub(crate) fn arm(budget: u64) {
    WALK.with(|w| {
        w.set(Walk {
            budget: Some(budget),
            visited: 0,
            exceeded: false,
        })
    });
}

/// The items visited since [`arm`], and whether the allowance ran out; ends
/// the bound.
#[inline]
pub(crate) fn settle() -> (u64, bool) {
    WALK.with(|w| {
        let walk = w.replace(UNBOUNDED);
        (walk.visited, walk.exceeded)
    })
}

/// One evaluation's bound, so that a nested evaluation (a macro, an include)
/// starts unbounded and hands back to the enclosing one, on any exit, the
/// bound it had plus what the nested one left unsettled.
pub(crate) struct Scope(Walk);

impl Scope {
    pub(crate) fn enter() -> Scope {
        Scope(WALK.with(|w| w.replace(UNBOUNDED)))
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        WALK.with(|w| {
            let inner = w.get();
            let mut outer = self.0;
            outer.visited = outer.visited.saturating_add(inner.visited);
            outer.exceeded |= inner.exceeded;
            w.set(outer);
        });
    }
}

/// `Iterator::eq`, counting each pair compared.
pub(crate) fn eq_iter<T: PartialEq>(
    mut a: impl Iterator<Item = T>,
    mut b: impl Iterator<Item = T>,
) -> bool {
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) => {
                if !tick() || x != y {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// `Iterator::cmp`, counting each pair compared.
pub(crate) fn cmp_iter<T: Ord>(
    mut a: impl Iterator<Item = T>,
    mut b: impl Iterator<Item = T>,
) -> Ordering {
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                if !tick() {
                    return Ordering::Equal;
                }
                match x.cmp(&y) {
                    Ordering::Equal => {}
                    other => return other,
                }
            }
        }
    }
}
