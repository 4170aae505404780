//! Protocol: HTTP values, the awsJson1_1 front door and error encoding, SigV4 (scope and
//! optional verification),
//! JSON member reading, and namespace routing by path. Pure: no runtime, no store.

pub mod awsjson;
pub mod http;
pub mod json;
pub mod route;
pub mod sigv4;
