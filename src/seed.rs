//! The embedded demo seed of the `default` namespace (`seed.json`), so the README's first
//! call succeeds with no set-up.
//!
//! Layer: below the namespace; imports the domain and the store only.

use serde::Deserialize;

use crate::domain::catalogue::Product;
use crate::store::{Store, StoreResult};

const SEED: &str = include_str!("seed.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    products: Vec<Product>,
}

/// Writes the demo products into the store.
pub fn apply<S: Store + ?Sized>(store: &mut S) -> StoreResult<()> {
    let seed: Seed = serde_json::from_str(SEED)
        .map_err(|e| crate::store::StoreError(format!("embedded seed: {e}")))?;
    for product in &seed.products {
        store.put_product(product)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    #[test]
    fn the_embedded_seed_is_a_valid_catalogue() {
        let mut store = MemoryStore::new();
        apply(&mut store).unwrap();
        let products = store.products().unwrap();
        assert_eq!(products.len(), 4);
        for p in &products {
            p.check()
                .unwrap_or_else(|e| panic!("{}: {e}", p.product_code));
        }
    }
}
