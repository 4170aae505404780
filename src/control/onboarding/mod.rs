//! Buyer onboarding in the control API: minting registration tokens, the simulated
//! Marketplace "Set up your account" step (an HTML page that POSTs the token to the seller's
//! fulfillment URL, as a buyer's browser does), subscription lifecycle actions, entitlements,
//! and the log of notifications they produce. One file per concern.
//!
//! Layer: control. Every change to a subscription or its entitlements appends its
//! notifications to the event log in the same step; the worker delivers them afterwards.

mod customers;
mod events;
mod lifecycle;
mod links;
mod pages;
mod signup;
mod tokens;

pub use events::{event_view, events};
pub use lifecycle::{lifecycle, put_entitlements};
pub use links::signup_link;
pub use signup::{signup, signup_page};
pub use tokens::mint_token;
