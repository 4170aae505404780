//! Who is calling: the SigV4 `Authorization` header (or a presigned query) read for its
//! credential scope. Signatures are not verified (08-decisions.md: off by default); a
//! missing header is `MissingAuthenticationTokenException`, a malformed one
//! `IncompleteSignatureException`.

use super::http::HttpRequest;
use crate::error::{ErrorKind, ServiceError};

/// The caller of an AWS operation, from the credential scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub access_key_id: String,
    /// The AWS account, when the access key id is exactly 12 digits (LocalStack convention);
    /// `None` is the wildcard caller.
    pub account: Option<String>,
    pub region: String,
}

impl Caller {
    /// The identity usage and client tokens are keyed by.
    pub fn identity(&self) -> &str {
        self.account.as_deref().unwrap_or(&self.access_key_id)
    }
}

fn incomplete(message: String) -> ServiceError {
    ServiceError::new(ErrorKind::IncompleteSignatureException, message)
}

/// Reads the caller from the request's SigV4 credential.
pub fn caller(req: &HttpRequest) -> Result<Caller, ServiceError> {
    if let Some(header) = req.header("authorization") {
        return from_header(header.trim(), req);
    }
    let query = req.query_pairs();
    let presigned = query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("X-Amz-Credential"))
        .map(|(_, v)| v.clone());
    match presigned {
        Some(credential) => parse_credential(&credential),
        None => Err(ServiceError::new(
            ErrorKind::MissingAuthenticationTokenException,
            "Missing Authentication Token",
        )),
    }
}

fn from_header(header: &str, req: &HttpRequest) -> Result<Caller, ServiceError> {
    let Some(params) = header.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(incomplete(format!(
            "Authorization header must use the AWS4-HMAC-SHA256 algorithm. Authorization={header}"
        )));
    };
    let mut credential = None;
    let (mut signed_headers, mut signature) = (false, false);
    for part in params.split(',') {
        let (name, value) = part.trim().split_once('=').unwrap_or((part.trim(), ""));
        match name {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = !value.is_empty(),
            "Signature" => signature = !value.is_empty(),
            _ => {}
        }
    }
    let mut missing = Vec::new();
    if credential.is_none_or(str::is_empty) {
        missing.push("Authorization header requires 'Credential' parameter.");
    }
    if !signature {
        missing.push("Authorization header requires 'Signature' parameter.");
    }
    if !signed_headers {
        missing.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    if req.header("x-amz-date").is_none() && req.header("date").is_none() {
        missing.push(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        );
    }
    if !missing.is_empty() {
        return Err(incomplete(format!(
            "{} Authorization={header}",
            missing.join(" ")
        )));
    }
    parse_credential(credential.unwrap_or_default())
}

/// `AKID/yyyymmdd/region/service/aws4_request`.
fn parse_credential(credential: &str) -> Result<Caller, ServiceError> {
    let parts: Vec<&str> = credential.split('/').collect();
    let well_formed = parts.len() == 5
        && !parts[0].is_empty()
        && parts[1].len() == 8
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && !parts[2].is_empty()
        && !parts[3].is_empty()
        && parts[4] == "aws4_request";
    if !well_formed {
        return Err(incomplete(format!(
            "Credential must have the form <access key id>/<yyyymmdd>/<region>/<service>/aws4_request, got '{credential}'"
        )));
    }
    let access_key_id = parts[0].to_string();
    let account = (access_key_id.len() == 12 && access_key_id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| access_key_id.clone());
    Ok(Caller {
        access_key_id,
        account,
        region: parts[2].to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(auth: Option<&str>, date: bool) -> HttpRequest {
        let mut headers = vec![];
        if let Some(a) = auth {
            headers.push(("Authorization".to_string(), a.to_string()));
        }
        if date {
            headers.push(("X-Amz-Date".to_string(), "20261128T013854Z".to_string()));
        }
        HttpRequest {
            headers,
            ..Default::default()
        }
    }

    const BOTO: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/aws-marketplace/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abc";

    #[test]
    fn any_key_is_the_wildcard_caller_and_region_comes_from_the_scope() {
        let c = caller(&req(Some(BOTO), true)).unwrap();
        assert_eq!(c.access_key_id, "AKIDEXAMPLE");
        assert_eq!(c.account, None);
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.identity(), "AKIDEXAMPLE");
    }

    #[test]
    fn a_twelve_digit_key_is_that_account() {
        let h = BOTO
            .replace("AKIDEXAMPLE", "111122223333")
            .replace("us-east-1", "eu-west-1");
        let c = caller(&req(Some(&h), true)).unwrap();
        assert_eq!(c.account.as_deref(), Some("111122223333"));
        assert_eq!(c.region, "eu-west-1");
        let h = BOTO.replace("AKIDEXAMPLE", "1111222233334");
        assert_eq!(caller(&req(Some(&h), true)).unwrap().account, None);
    }

    #[test]
    fn no_authorization_is_missing_token() {
        let e = caller(&req(None, true)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::MissingAuthenticationTokenException);
    }

    #[test]
    fn presigned_queries_carry_the_credential() {
        let r = HttpRequest {
            query: "X-Amz-Credential=123456789012%2F20261128%2Fus-west-2%2Faws-marketplace%2Faws4_request".into(),
            ..Default::default()
        };
        let c = caller(&r).unwrap();
        assert_eq!(c.account.as_deref(), Some("123456789012"));
        assert_eq!(c.region, "us-west-2");
    }

    #[test]
    fn malformed_authorization_is_incomplete_signature() {
        for bad in [
            "Bearer abc",
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc",
            "AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/aws-marketplace/aws4_request, Signature=abc",
            "AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host",
            "AWS4-HMAC-SHA256 Credential=AKID/us-east-1/aws4_request, SignedHeaders=host, Signature=abc",
            "AWS4-HMAC-SHA256 Credential=AKID/2026112/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host, Signature=abc",
            "AWS4-HMAC-SHA256 Credential=/20261128/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host, Signature=abc",
            "",
        ] {
            let e = caller(&req(Some(bad), true)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::IncompleteSignatureException, "{bad}");
        }
        let e = caller(&req(Some(BOTO), false)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::IncompleteSignatureException);
        assert!(e.message.contains("X-Amz-Date"));
    }
}
