//! When the namespace's next timed moment is due (an agreement milestone, a cancellation or
//! payment request's automatic approval, a buyer approval's expiry, a month's usage
//! invoicing): one small document, brought forward as moments are scheduled, so the clock
//! and the alarm ask with one read.

use crate::domain::agreement::NextMilestone;
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::store::{documents, Store};

/// Brings the next-moment time forward to `at`, if earlier.
pub fn note_at<S: Store + ?Sized>(store: &mut S, at: Instant) -> Result<(), ServiceError> {
    let NextMilestone(current) = documents::load(store)?;
    if current.is_none_or(|c| at < c) {
        documents::save(store, &NextMilestone(Some(at)))?;
    }
    Ok(())
}
