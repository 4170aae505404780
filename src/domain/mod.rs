//! Domain: the newtypes and pure rules of Marketplace metering (constraints, quantities,
//! allocations, time windows, the catalogue, subscriptions, entitlements, page tokens,
//! settings, RegisterUsage signing keys, offers, contracts, free trials, agreements and their
//! cancellation and payment requests). Never imports the runtime, the protocol or a store.

pub mod agreement;
pub mod allocation;
pub mod approval;
pub mod bill;
pub mod cancellation;
pub mod catalogue;
pub mod constraints;
pub mod contract;
pub mod decimal;
pub mod deployment;
pub mod entitlement;
pub mod ids;
pub mod invoice;
pub mod kept;
pub mod names;
pub mod notification;
pub mod offer;
pub mod page_token;
pub mod payment;
pub mod quantity;
pub mod registration;
pub mod settings;
pub mod signing;
pub mod subscription;
pub mod time;
pub mod trial;
pub mod window;
