//! The namespace's RegisterUsage signing keys, kept as one document: read, saved, rotated
//! (the next version, from a key the id source makes) and made on first need.

use super::{documents, Store};
use crate::domain::ids::IdSource;
use crate::domain::signing::KeyRing;
use crate::domain::time::Instant;
use crate::error::ServiceError;

/// The namespace's signing keys (possibly none yet).
pub fn key_ring<S: Store + ?Sized>(store: &S) -> Result<KeyRing, ServiceError> {
    documents::load(store)
}

pub fn save_key_ring<S: Store + ?Sized>(store: &mut S, ring: &KeyRing) -> Result<(), ServiceError> {
    documents::save(store, ring)
}

/// Adds the next version to `ring` (the namespace's, as read), with a key from the id
/// source, and saves it.
pub fn rotate_key<S: Store + ?Sized>(
    store: &mut S,
    mut ring: KeyRing,
    ids: &mut dyn IdSource,
    now: Instant,
    retire_previous: bool,
) -> Result<KeyRing, ServiceError> {
    let der = ids.new_signing_key().map_err(ServiceError::internal)?;
    ring.rotate(&der, now, retire_previous)
        .map_err(ServiceError::internal)?;
    save_key_ring(store, &ring)?;
    Ok(ring)
}

/// The key ring, with version 1 made on first need: every namespace has a key 1.
pub fn key_ring_with_first<S: Store + ?Sized>(
    store: &mut S,
    ids: &mut dyn IdSource,
    now: Instant,
) -> Result<KeyRing, ServiceError> {
    let ring = key_ring(store)?;
    if !ring.is_empty() {
        return Ok(ring);
    }
    rotate_key(store, ring, ids, now, false)
}
