//! Protocol: HTTP values, the two front doors (awsJson1_1 for both services, Smithy RPC v2
//! CBOR for the Entitlement Service) and their error encodings, the services and their
//! operations, SigV4 (scope and optional verification), JSON member reading, and namespace
//! routing by path. Pure: no runtime, no store.

pub mod awsjson;
pub mod cbor;
pub mod http;
pub mod json;
pub mod modeled;
pub mod operation;
pub mod route;
pub mod sigv4;
