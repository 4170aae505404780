//! Bounded lists of requests a namespace keeps (cancellation and payment requests,
//! approvals): the settled ones make room for new ones, the pending ones are never forgotten.
//! (Agreement requests and billing adjustments keep their own rules: see their `add`.)
//!
//! Layer: domain. Pure.

/// A kept record that is pending (waiting for a decision) or settled.
pub trait Settles {
    fn is_pending(&self) -> bool;
}

/// Adds `new` to `list`, which keeps at most `max`: the oldest settled records are forgotten
/// to make room. `false` (nothing added) when the pending ones leave no room.
pub fn add_bounded<T: Settles>(list: &mut Vec<T>, new: Vec<T>, max: usize) -> bool {
    let excess = (list.len() + new.len()).saturating_sub(max);
    if excess > list.iter().filter(|r| !r.is_pending()).count() {
        return false;
    }
    for _ in 0..excess {
        forget_oldest_settled(list, |_| false);
    }
    list.extend(new);
    true
}

/// Forgets the oldest settled record of `list` but those `spare` keeps, and answers it;
/// `None` when there is none to forget.
pub fn forget_oldest_settled<T: Settles>(
    list: &mut Vec<T>,
    spare: impl Fn(&T) -> bool,
) -> Option<T> {
    let i = list.iter().position(|r| !r.is_pending() && !spare(r))?;
    Some(list.remove(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Settles for (u32, bool) {
        fn is_pending(&self) -> bool {
            self.1
        }
    }

    #[test]
    fn settled_records_make_room_and_pending_ones_stay() {
        let mut list = vec![(1, true), (2, false), (3, false)];
        assert!(add_bounded(&mut list, vec![(4, true), (5, true)], 3));
        assert_eq!(list, [(1, true), (4, true), (5, true)]);
        assert!(!add_bounded(&mut list, vec![(6, false)], 3));
        assert!(forget_oldest_settled(&mut list, |_| false).is_none());
        let mut list = vec![(1, false), (2, false)];
        assert_eq!(
            forget_oldest_settled(&mut list, |r| r.0 == 1),
            Some((2, false))
        );
    }
}
