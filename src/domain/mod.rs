//! Domain: the newtypes and pure rules of Marketplace metering (constraints, quantities,
//! allocations, time windows, the catalogue, settings). Never imports the runtime, the
//! protocol or a store.

pub mod allocation;
pub mod catalogue;
pub mod constraints;
pub mod ids;
pub mod quantity;
pub mod settings;
pub mod time;
pub mod window;
