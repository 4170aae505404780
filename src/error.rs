//! The one error type of the AWS-facing API and its one encoding.
//!
//! Layer: shared by `protocol` (which raises the wire errors and encodes every error) and
//! `ops` (which raise the modeled ones). Variant names are the error shape names of the
//! service models (Metering and Entitlement), or the protocol errors of `docs/decisions.md`,
//! so the encoders can use them verbatim as `__type` and `x-amzn-ErrorType`.

use std::fmt;

macro_rules! error_kinds {
    ($($(#[$doc:meta])* $name:ident => $status:expr,)*) => {
        /// Every error the AWS-facing API can answer with; the doc of each says when.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $($(#[$doc])* $name,)*
        }

        impl ErrorKind {
            /// The wire name: the shape name, as `__type` and `x-amzn-ErrorType`.
            pub fn name(self) -> &'static str {
                match self { $(ErrorKind::$name => stringify!($name),)* }
            }

            /// The HTTP status (Smithy defaults: client errors 400, server faults 500).
            pub fn status(self) -> u16 {
                match self { $(ErrorKind::$name => $status,)* }
            }

            /// Every kind, for tests that compare against the service model.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$name,)*];
        }
    };
}

error_kinds! {
    // Modeled errors of the Metering service.
    /// A buyer call from an account that is not a subscribed customer of the product.
    CustomerNotEntitledException => 400,
    /// The API is disabled in the Region.
    DisabledApiException => 400,
    /// MeterUsage: the same hour and dimension was already metered with another quantity.
    DuplicateRequestException => 400,
    /// A registration token past its TTL or resubmitted.
    ExpiredTokenException => 400,
    /// MeterUsage: a `ClientToken` reused with other parameters.
    IdempotencyConflictException => 400,
    /// An infrastructure failure; never carries internal detail.
    InternalServiceErrorException => 500,
    /// BatchMeterUsage: a record's customer identification is not acceptable.
    InvalidCustomerIdentifierException => 400,
    /// MeterUsage: called in a Region the product does not run in.
    InvalidEndpointRegionException => 400,
    /// BatchMeterUsage: a `LicenseArn` that belongs to no subscription of that account.
    InvalidLicenseException => 400,
    /// Unknown product, or a seller call from an account that does not own it.
    InvalidProductCodeException => 400,
    /// RegisterUsage: unknown public key version.
    InvalidPublicKeyVersionException => 400,
    /// RegisterUsage: Region not allowed.
    InvalidRegionException => 400,
    /// A tag that breaks the charset, length or count rules.
    InvalidTagException => 400,
    /// A registration token that was never minted.
    InvalidTokenException => 400,
    /// Allocations that do not add up, repeat a tag set, or mix quantity types.
    InvalidUsageAllocationsException => 400,
    /// A dimension the product does not define.
    InvalidUsageDimensionException => 400,
    /// RegisterUsage: unsupported platform.
    PlatformNotSupportedException => 400,
    /// Rate exceeded.
    ThrottlingException => 400,
    /// A timestamp outside the accepted window.
    TimestampOutOfBoundsException => 400,
    // Modeled errors of the Entitlement service (ThrottlingException and
    // InternalServiceErrorException are shared with Metering).
    /// GetEntitlements: any invalid input, broken constraints included (its model lists no
    /// other client error).
    InvalidParameterException => 400,
    // Protocol errors (docs/decisions.md): not in the model, as a real AWS front end sends them.
    /// Malformed JSON or a member of the wrong JSON type.
    SerializationException => 400,
    /// Missing, unknown or wrongly prefixed `X-Amz-Target`.
    UnknownOperationException => 400,
    /// A constraint of the model that no modeled error covers.
    ValidationException => 400,
    /// No `Authorization` header and no presigned query.
    MissingAuthenticationTokenException => 400,
    /// An `Authorization` header that is not a well-formed SigV4 header.
    IncompleteSignatureException => 400,
    /// A signature that does not match the secret the namespace configured for its key.
    InvalidSignatureException => 403,
    /// An access key the namespace's configured credentials do not know.
    UnrecognizedClientException => 403,
    /// `DryRun: true` on a call that would have succeeded (status is a namespace setting).
    DryRunOperation => 400,
}

impl ErrorKind {
    /// How AWS words the error: the live service's message where it is known, else the first
    /// sentence of the service model's documentation of the shape. Messages begin with it
    /// (docs/decisions.md), so seller code that matches on words of the message reads the
    /// mock's as it reads AWS's. `None` for the protocol errors, whose messages are the front
    /// end's.
    pub fn aws_phrase(self) -> Option<&'static str> {
        use ErrorKind::*;
        Some(match self {
            CustomerNotEntitledException => {
                "The customer does not have a valid subscription for the product"
            }
            DisabledApiException => "The API is disabled in the Region.",
            DuplicateRequestException => "A metering record has already been emitted by the same EC2 instance, ECS task, or EKS pod for the given {usageDimension, timestamp} with a different usageQuantity",
            ExpiredTokenException => "The submitted registration token has expired",
            IdempotencyConflictException => "The ClientToken is being used for multiple requests",
            InternalServiceErrorException => "An internal error has occurred. Retry your request.",
            InvalidCustomerIdentifierException => {
                "You have metered usage for a CustomerIdentifier that does not exist"
            }
            InvalidEndpointRegionException => "The endpoint being called is in a Amazon Web Services Region different from your EC2 instance, ECS task, or EKS pod",
            InvalidLicenseException => "Ensure the LicenseArn is valid, matches the customer, and usage is within the license activation period.",
            InvalidProductCodeException => "The product code passed does not match the product code used for publishing the product",
            InvalidPublicKeyVersionException => "Public Key version is invalid",
            InvalidRegionException => "RegisterUsage must be called in the same Amazon Web Services Region the ECS task was launched in",
            InvalidTagException => "The tag is invalid, or the number of tags is greater than 5",
            // The live service's (captured); the model adds a period.
            InvalidTokenException => "Registration token is invalid",
            InvalidUsageAllocationsException => "Sum of allocated usage quantities is not equal to the usage quantity, or the allocations don't use the same type of quantity (whole number or decimal) as the usage quantity",
            // The live service's form, as sellers' code matches it.
            InvalidUsageDimensionException => "UsageDimension is invalid for ProductCode",
            PlatformNotSupportedException => "Amazon Web Services Marketplace does not support metering usage from the underlying platform. Currently, Amazon ECS, Amazon EKS, and Fargate are supported.",
            ThrottlingException => "Rate exceeded",
            TimestampOutOfBoundsException => "The timestamp value passed in the UsageRecord is out of allowed range",
            InvalidParameterException => "One or more parameters in your request was invalid.",
            SerializationException
            | UnknownOperationException
            | ValidationException
            | MissingAuthenticationTokenException
            | IncompleteSignatureException
            | InvalidSignatureException
            | UnrecognizedClientException => return None,
            DryRunOperation => "Request would have succeeded, but DryRun flag is set.",
        })
    }
}

/// An error answer: its kind and a human message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    pub kind: ErrorKind,
    pub message: String,
    /// Overrides the kind's default status (only `DryRunOperation` uses it, via a setting).
    pub status_override: Option<u16>,
}

impl ServiceError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ServiceError {
            kind,
            message: message.into(),
            status_override: None,
        }
    }

    pub fn status(&self) -> u16 {
        self.status_override.unwrap_or_else(|| self.kind.status())
    }

    /// An infrastructure failure: the detail goes to the log, the client gets a generic message.
    pub fn internal(detail: impl fmt::Display) -> Self {
        log::error!("internal error: {detail}");
        ServiceError::new(
            ErrorKind::InternalServiceErrorException,
            "An internal error occurred.",
        )
    }

    /// An error whose message is AWS's phrase for its kind, then `detail` (": detail").
    pub fn phrased(kind: ErrorKind, detail: impl fmt::Display) -> Self {
        let phrase = kind.aws_phrase().unwrap_or(kind.name());
        let phrase = phrase.strip_suffix('.').unwrap_or(phrase);
        ServiceError::new(kind, format!("{phrase}: {detail}"))
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for ServiceError {}

/// Shorthand used by the operations.
pub fn err<T>(kind: ErrorKind, message: impl Into<String>) -> Result<T, ServiceError> {
    Err(ServiceError::new(kind, message))
}

/// `err` with AWS's phrase for the kind before `detail` (`ServiceError::phrased`).
pub fn phrased_err<T>(kind: ErrorKind, detail: impl fmt::Display) -> Result<T, ServiceError> {
    Err(ServiceError::phrased(kind, detail))
}
