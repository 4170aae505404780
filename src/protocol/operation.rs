//! The AWS services the mock serves and their operations, shared by both front doors
//! (awsJson1_1 and Smithy RPC v2 CBOR).
//!
//! Layer: protocol. Names are the model's: the service shape name is the awsJson target
//! prefix and the rpc-v2-cbor service path segment; operation names are unique across the
//! two services, which is what lets faults and tests name an operation without its service.

use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;

/// A service of AWS Marketplace that the mock speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// `AWSMPMeteringService` (awsJson1_1 only).
    Metering,
    /// `AWSMPEntitlementService` (awsJson1_1 and rpc-v2-cbor).
    Entitlement,
}

impl Service {
    pub const ALL: [Service; 2] = [Service::Metering, Service::Entitlement];

    /// The service shape name: the `X-Amz-Target` prefix and the rpc-v2-cbor path segment.
    pub fn shape_name(self) -> &'static str {
        match self {
            Service::Metering => "AWSMPMeteringService",
            Service::Entitlement => "AWSMPEntitlementService",
        }
    }

    /// The Smithy namespace of the service's shapes (the part of a shape id before `#`).
    pub fn namespace(self) -> &'static str {
        match self {
            Service::Metering => "com.amazonaws.marketplacemetering",
            Service::Entitlement => "com.amazonaws.marketplaceentitlementservice",
        }
    }

    /// The error for input that breaks a rule: the Metering front end answers the protocol's
    /// `ValidationException`, while the Entitlement Service's model only lists
    /// `InvalidParameterException` for bad input, so that is what its callers can name.
    pub fn invalid_input(self) -> ErrorKind {
        match self {
            Service::Metering => ErrorKind::ValidationException,
            Service::Entitlement => ErrorKind::InvalidParameterException,
        }
    }

    /// The service whose shape name is `name`.
    pub fn from_shape_name(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.shape_name() == name)
    }
}

/// The operations of both services; kept by their names (a usage entry's `operation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    BatchMeterUsage,
    MeterUsage,
    RegisterUsage,
    ResolveCustomer,
    GetEntitlements,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::BatchMeterUsage => "BatchMeterUsage",
            Operation::MeterUsage => "MeterUsage",
            Operation::RegisterUsage => "RegisterUsage",
            Operation::ResolveCustomer => "ResolveCustomer",
            Operation::GetEntitlements => "GetEntitlements",
        }
    }

    pub fn service(self) -> Service {
        match self {
            Operation::GetEntitlements => Service::Entitlement,
            _ => Service::Metering,
        }
    }

    /// The operation with this name, in whichever service has it.
    pub fn named(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The operation `name` of `service`; `None` when that service has no such operation.
    pub fn of(service: Service, name: &str) -> Option<Operation> {
        Operation::named(name).filter(|op| op.service() == service)
    }

    pub const ALL: [Operation; 5] = [
        Operation::BatchMeterUsage,
        Operation::MeterUsage,
        Operation::RegisterUsage,
        Operation::ResolveCustomer,
        Operation::GetEntitlements,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_belong_to_exactly_one_service() {
        assert_eq!(
            Operation::of(Service::Entitlement, "GetEntitlements"),
            Some(Operation::GetEntitlements)
        );
        assert_eq!(Operation::of(Service::Metering, "GetEntitlements"), None);
        assert_eq!(Operation::of(Service::Entitlement, "MeterUsage"), None);
        for op in Operation::ALL {
            assert_eq!(Operation::of(op.service(), op.name()), Some(op));
        }
    }

    #[test]
    fn services_are_found_by_their_shape_names_only() {
        assert_eq!(
            Service::from_shape_name("AWSMPEntitlementService"),
            Some(Service::Entitlement)
        );
        assert_eq!(
            Service::from_shape_name("AWSMPMeteringService"),
            Some(Service::Metering)
        );
        assert_eq!(Service::from_shape_name("awsmpentitlementservice"), None);
    }
}
