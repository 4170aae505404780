//! SigV4: who is calling, and (when the namespace asks for it) whether the signature is
//! right. The `Authorization` header (or a presigned query) is read for its credential
//! scope: a missing one is `MissingAuthenticationTokenException`, a malformed one
//! `IncompleteSignatureException`; `X-Amz-Security-Token` names the caller's credential
//! session (kept only as a digest). Verification is off unless the namespace configures
//! credentials (docs/decisions.md): then an unknown access key is
//! `UnrecognizedClientException` and a wrong signature `InvalidSignatureException`, both 403.
//! A verified signature must cover what AWS requires it to (`host`, the scope's date and
//! service) and the header that names the operation (`X-Amz-Target`), so a signed request
//! cannot be pointed at another operation.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::http::HttpRequest;
use crate::domain::names::{is_region, quoted, MAX_REGION_CHARS};
use crate::error::{ErrorKind, ServiceError};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The caller of an AWS operation, from the credential scope and the security token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub access_key_id: String,
    /// The AWS account, when the access key id is exactly 12 digits (LocalStack convention);
    /// `None` is the wildcard caller.
    pub account: Option<String>,
    pub region: String,
    /// The credential session, when the request carries `X-Amz-Security-Token`: a digest of
    /// the token (never the token, a secret). Instance profiles, task roles and IRSA give each
    /// EC2 instance, ECS task and EKS pod a session of its own.
    pub session: Option<String>,
}

impl Caller {
    /// The account, or the access key id of a wildcard caller.
    pub fn identity(&self) -> &str {
        self.account.as_deref().unwrap_or(&self.access_key_id)
    }

    /// Who "the same instance, task or pod" is (docs/decisions.md): the identity, plus the
    /// session when there is one. Without a session this is the identity alone, so keys kept
    /// before sessions counted keep their meaning; with one it holds a `/`, which no access
    /// key id does.
    pub fn instance(&self) -> String {
        match &self.session {
            None => self.identity().to_string(),
            Some(session) => format!("{}/{session}", self.identity()),
        }
    }
}

/// The session of a security token: 128 bits of its SHA-256 in hex, enough to tell sessions
/// apart and short enough to key every usage record by.
pub fn session_of(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..16])
}

/// A request's SigV4 signature, as far as it could be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    pub caller: Caller,
    /// `yyyymmdd/region/service/aws4_request`.
    pub scope: String,
    /// `X-Amz-Date` (or `Date`) of the request.
    pub amz_date: String,
    /// Lower-case header names, as listed by the signer.
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// Signed in the query string rather than the `Authorization` header.
    pub presigned: bool,
}

fn incomplete(message: String) -> ServiceError {
    ServiceError::new(ErrorKind::IncompleteSignatureException, message)
}

/// Reads the whole signature (header or presigned query) and the caller's credential
/// session (`X-Amz-Security-Token`, a header or, presigned, a query parameter).
pub fn read(req: &HttpRequest) -> Result<Signed, ServiceError> {
    let mut signed = read_signature(req)?;
    let token = req
        .header("x-amz-security-token")
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .or_else(|| {
            signed
                .presigned
                .then(|| query_param(req, "X-Amz-Security-Token"))
                .flatten()
        });
    signed.caller.session = token.filter(|t| !t.is_empty()).map(|t| session_of(&t));
    Ok(signed)
}

fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    req.query_pairs()
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn read_signature(req: &HttpRequest) -> Result<Signed, ServiceError> {
    if let Some(header) = req.header("authorization") {
        return from_header(header.trim(), req);
    }
    let param = |name: &str| query_param(req, name);
    let Some(credential) = param("X-Amz-Credential") else {
        return Err(ServiceError::new(
            ErrorKind::MissingAuthenticationTokenException,
            "Missing Authentication Token",
        ));
    };
    let (caller, scope) = parse_credential(&credential)?;
    Ok(Signed {
        caller,
        scope,
        amz_date: param("X-Amz-Date").unwrap_or_default(),
        signed_headers: split_signed_headers(&param("X-Amz-SignedHeaders").unwrap_or_default()),
        signature: param("X-Amz-Signature").unwrap_or_default(),
        presigned: true,
    })
}

fn split_signed_headers(list: &str) -> Vec<String> {
    list.split(';')
        .filter(|h| !h.is_empty())
        .map(|h| h.to_ascii_lowercase())
        .collect()
}

fn from_header(header: &str, req: &HttpRequest) -> Result<Signed, ServiceError> {
    let Some(params) = header.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(incomplete(format!(
            "Authorization header must use the AWS4-HMAC-SHA256 algorithm. Authorization={}",
            quoted(header)
        )));
    };
    let (mut credential, mut signed_headers, mut signature) = ("", "", "");
    for part in params.split(',') {
        let (name, value) = part.trim().split_once('=').unwrap_or((part.trim(), ""));
        match name {
            "Credential" => credential = value,
            "SignedHeaders" => signed_headers = value,
            "Signature" => signature = value,
            _ => {}
        }
    }
    let amz_date = req.header("x-amz-date").or_else(|| req.header("date"));
    let mut missing = Vec::new();
    if credential.is_empty() {
        missing.push("Authorization header requires 'Credential' parameter.");
    }
    if signature.is_empty() {
        missing.push("Authorization header requires 'Signature' parameter.");
    }
    if signed_headers.is_empty() {
        missing.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    if amz_date.is_none() {
        missing.push(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        );
    }
    if !missing.is_empty() {
        return Err(incomplete(format!(
            "{} Authorization={}",
            missing.join(" "),
            quoted(header)
        )));
    }
    let (caller, scope) = parse_credential(credential)?;
    Ok(Signed {
        caller,
        scope,
        amz_date: amz_date.unwrap_or_default().to_string(),
        signed_headers: split_signed_headers(signed_headers),
        signature: signature.to_string(),
        presigned: false,
    })
}

/// The longest access key id taken (IAM's limit).
const MAX_ACCESS_KEY_CHARS: usize = 128;

/// `AKID/yyyymmdd/region/service/aws4_request` → the caller and the scope after the key.
fn parse_credential(credential: &str) -> Result<(Caller, String), ServiceError> {
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
            "Credential must have the form <access key id>/<yyyymmdd>/<region>/<service>/aws4_request, got '{}'",
            quoted(credential)
        )));
    }
    // The caller's Region and key are kept with what it writes: they must look like AWS's,
    // so a hostile scope cannot grow a namespace's storage.
    if !is_region(parts[2]) {
        return Err(ServiceError::new(
            ErrorKind::InvalidSignatureException,
            format!(
                "Credential should be scoped to a valid region, not '{}': 1-{MAX_REGION_CHARS} lowercase letters, digits and '-'.",
                quoted(parts[2])
            ),
        ));
    }
    if parts[0].len() > MAX_ACCESS_KEY_CHARS {
        return Err(ServiceError::new(
            ErrorKind::UnrecognizedClientException,
            format!("The security token included in the request is invalid: an access key id has at most {MAX_ACCESS_KEY_CHARS} characters."),
        ));
    }
    let access_key_id = parts[0].to_string();
    let account = (access_key_id.len() == 12 && access_key_id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| access_key_id.clone());
    let caller = Caller {
        access_key_id,
        account,
        region: parts[2].to_string(),
        session: None,
    };
    Ok((caller, parts[1..].join("/")))
}

/// Checks the signature against the secret of its access key. `path` is the request path as
/// the client sent it (with any `/ns/<name>` prefix).
pub fn verify(
    req: &HttpRequest,
    path: &str,
    signed: &Signed,
    secret: &str,
) -> Result<(), ServiceError> {
    check_coverage(req, signed)?;
    matches(req, path, signed, secret)
}

/// Whether the signature is the one SigV4 gives the request with `secret` (and its
/// `x-amz-content-sha256`, if any, the body's).
fn matches(
    req: &HttpRequest,
    path: &str,
    signed: &Signed,
    secret: &str,
) -> Result<(), ServiceError> {
    let body_hash = hex::encode(Sha256::digest(&req.body));
    if req
        .header("x-amz-content-sha256")
        .is_some_and(|claimed| !signed.presigned && claimed != body_hash)
    {
        return Err(ServiceError::new(
            ErrorKind::InvalidSignatureException,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ));
    }
    let expected = signature(req, path, signed, secret);
    if bool::from(expected.as_bytes().ct_eq(signed.signature.as_bytes())) {
        Ok(())
    } else {
        Err(ServiceError::new(
            ErrorKind::InvalidSignatureException,
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ))
    }
}

/// The signing name of every service the mock serves.
const SERVICE: &str = "aws-marketplace";

/// What a signature must cover: `host` (AWS's rule), `X-Amz-Target` when the request has one
/// (it names the operation), the request's date and the services' signing name.
fn check_coverage(req: &HttpRequest, signed: &Signed) -> Result<(), ServiceError> {
    let signs = |name: &str| {
        signed
            .signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    };
    if !signs("host") && !signs(":authority") {
        return Err(incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    if req.header("x-amz-target").is_some() && !signs("x-amz-target") {
        return Err(incomplete(
            "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization: it names the operation.".into(),
        ));
    }
    // `yyyymmdd/region/service/aws4_request` (read_signature checked its shape).
    let parts: Vec<&str> = signed.scope.split('/').collect();
    let (date, service) = match parts.as_slice() {
        [date, _, service, _] => (*date, *service),
        _ => ("", ""),
    };
    let day = signed.amz_date.get(..8).unwrap_or_default();
    if date != day {
        return Err(ServiceError::new(
            ErrorKind::InvalidSignatureException,
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{day}', from '{}'.",
                signed.amz_date
            ),
        ));
    }
    if service != SERVICE {
        return Err(ServiceError::new(
            ErrorKind::InvalidSignatureException,
            format!("Credential should be scoped to correct service: '{SERVICE}'. "),
        ));
    }
    Ok(())
}

/// The hex signature SigV4 gives this request with this secret.
pub fn signature(req: &HttpRequest, path: &str, signed: &Signed, secret: &str) -> String {
    let canonical = canonical_request(req, path, signed);
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        signed.amz_date,
        signed.scope,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in signed.scope.split('/') {
        key = hmac(&key, part.as_bytes());
    }
    hex::encode(hmac(&key, string_to_sign.as_bytes()))
}

fn canonical_request(req: &HttpRequest, path: &str, signed: &Signed) -> String {
    let uri: Vec<String> = path.split('/').map(uri_encode).collect();
    let uri = if uri.len() <= 1 {
        "/".to_string()
    } else {
        uri.join("/")
    };

    let mut query: Vec<(String, String)> = url::form_urlencoded::parse(req.query.as_bytes())
        .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
        .filter(|(k, _)| !(signed.presigned && k == "X-Amz-Signature"))
        .collect();
    query.sort();
    let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();

    let mut headers = String::new();
    for name in &signed.signed_headers {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    // The body itself is hashed, presigned or not (only S3 presigns UNSIGNED-PAYLOAD): a
    // claimed `x-amz-content-sha256` is only ever compared.
    let payload = hex::encode(Sha256::digest(&req.body));
    format!(
        "{}\n{uri}\n{}\n{headers}\n{}\n{payload}",
        req.method,
        query.join("&"),
        signed.signed_headers.join(";")
    )
}

/// RFC 3986 encoding of everything but unreserved characters. Path segments are encoded as
/// sent (so `%` becomes `%25`), as the SDKs do for every service but S3.
fn uri_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this never yields the empty (never matching) value.
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(req: &HttpRequest) -> Result<Caller, ServiceError> {
        read(req).map(|s| s.caller)
    }

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

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn signed_request(
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        auth: &str,
    ) -> (HttpRequest, Signed) {
        let mut all: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        all.push(("Authorization".into(), auth.into()));
        let req = HttpRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: all,
            ..Default::default()
        };
        let signed = read(&req).unwrap();
        (req, signed)
    }

    #[test]
    fn signatures_match_the_aws_documentation_example() {
        // The IAM ListUsers example of the AWS General Reference (SigV4 signing process).
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
        let (req, signed) = signed_request(
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &[
                (
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                ),
                ("Host", "iam.amazonaws.com"),
                ("X-Amz-Date", "20150830T123600Z"),
            ],
            auth,
        );
        assert_eq!(signed.scope, "20150830/us-east-1/iam/aws4_request");
        assert_eq!(signature(&req, "/", &signed, SECRET), signed.signature);
        assert!(matches(&req, "/", &signed, SECRET).is_ok());
    }

    #[test]
    fn signatures_match_the_sigv4_test_suite_get_vanilla() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let (req, signed) = signed_request(
            "GET",
            "/",
            "",
            &[
                ("Host", "example.amazonaws.com"),
                ("X-Amz-Date", "20150830T123600Z"),
            ],
            auth,
        );
        assert!(matches(&req, "/", &signed, SECRET).is_ok());
    }

    #[test]
    fn any_change_to_what_was_signed_breaks_the_signature() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let base = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        let (req, signed) = signed_request("GET", "/", "", &base, auth);
        let e = matches(&req, "/", &signed, "another secret").unwrap_err();
        assert_eq!(
            (e.kind, e.status()),
            (ErrorKind::InvalidSignatureException, 403)
        );
        assert!(matches(&req, "/ns/a", &signed, SECRET).is_err());
        let (req, signed) = signed_request("POST", "/", "", &base, auth);
        assert!(matches(&req, "/", &signed, SECRET).is_err());
        let (req, signed) = signed_request("GET", "/", "a=b", &base, auth);
        assert!(matches(&req, "/", &signed, SECRET).is_err());
        let other_host = [
            ("Host", "example.amazonaws.org"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        let (req, signed) = signed_request("GET", "/", "", &other_host, auth);
        assert!(matches(&req, "/", &signed, SECRET).is_err());
        // Headers that were not signed may change.
        let extra = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("User-Agent", "x"),
        ];
        let (req, signed) = signed_request("GET", "/", "", &extra, auth);
        assert!(matches(&req, "/", &signed, SECRET).is_ok());
    }

    #[test]
    fn a_claimed_body_hash_must_be_the_real_one() {
        let headers = [("Host", "h"), ("X-Amz-Date", "20261128T000000Z")];
        let auth = "AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=00";
        let (mut req, mut signed) = signed_request("POST", "/", "", &headers, auth);
        req.body = b"{\"UsageQuantity\":1}".to_vec();
        let claimed = hex::encode(Sha256::digest(&req.body));
        req.headers.push(("x-amz-content-sha256".into(), claimed));
        signed.signature = signature(&req, "/", &signed, "s");
        assert!(verify(&req, "/", &signed, "s").is_ok());
        req.body = b"{\"UsageQuantity\":7}".to_vec();
        let e = verify(&req, "/", &signed, "s").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidSignatureException);
        assert!(e.message.contains("x-amz-content-sha256"));
    }

    #[test]
    fn a_region_and_a_key_must_look_like_aws_s() {
        let with = |key: &str, region: &str| {
            let auth = format!("AWS4-HMAC-SHA256 Credential={key}/20261128/{region}/aws-marketplace/aws4_request, SignedHeaders=host, Signature=00");
            caller(&req(Some(&auth), true)).map_err(|e| (e.kind, e.message))
        };
        assert!(with("AKID", "us-gov-west-1").is_ok());
        assert!(with("AKID", "local").is_ok());
        for bad in [
            "US-EAST-1",
            "us east 1",
            &"r".repeat(33),
            &"r".repeat(100_000),
        ] {
            let (kind, message) = with("AKID", bad).unwrap_err();
            assert_eq!(kind, ErrorKind::InvalidSignatureException, "{bad:.40}");
            assert!(message.len() < 400, "{message:.80}");
        }
        let (kind, _) = with(&"K".repeat(129), "us-east-1").unwrap_err();
        assert_eq!(kind, ErrorKind::UnrecognizedClientException);
    }

    #[test]
    fn a_verified_signature_covers_host_the_operation_the_date_and_the_service() {
        // Each request is signed correctly, over less than AWS requires.
        let refused = |headers: &[(&str, &str)], auth: &str| {
            let (req, mut signed) = signed_request("POST", "/", "", headers, auth);
            signed.signature = signature(&req, "/", &signed, "s");
            verify(&req, "/", &signed, "s").map_err(|e| (e.kind, e.message))
        };
        let scope = "Credential=AKID/20261128/us-east-1/aws-marketplace/aws4_request";
        let target = ("X-Amz-Target", "AWSMPMeteringService.MeterUsage");
        let base = [("Host", "h"), ("X-Amz-Date", "20261128T000000Z"), target];
        let ok = format!(
            "AWS4-HMAC-SHA256 {scope}, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00"
        );
        assert_eq!(refused(&base, &ok), Ok(()));
        let no_host = format!(
            "AWS4-HMAC-SHA256 {scope}, SignedHeaders=x-amz-date;x-amz-target, Signature=00"
        );
        let (kind, message) = refused(&base, &no_host).unwrap_err();
        assert_eq!(kind, ErrorKind::IncompleteSignatureException);
        assert!(message.starts_with("'Host' or ':authority' must be a 'SignedHeader'"));
        let no_target =
            format!("AWS4-HMAC-SHA256 {scope}, SignedHeaders=host;x-amz-date, Signature=00");
        let (kind, message) = refused(&base, &no_target).unwrap_err();
        assert_eq!(kind, ErrorKind::IncompleteSignatureException);
        assert!(message.contains("X-Amz-Target"), "{message}");
        // Without the header (rest-json, rpc-v2-cbor: the path names the operation), none needed.
        assert_eq!(refused(&base[..2], &no_target), Ok(()));
        let other_day = [("Host", "h"), ("X-Amz-Date", "20261129T000000Z"), target];
        let (kind, message) = refused(&other_day, &ok).unwrap_err();
        assert_eq!(kind, ErrorKind::InvalidSignatureException);
        assert!(message.contains("'20261128' != '20261129'"), "{message}");
        let iam = ok.replace("aws-marketplace", "iam");
        let (kind, message) = refused(&base, &iam).unwrap_err();
        assert_eq!(kind, ErrorKind::InvalidSignatureException);
        assert!(message.contains("'aws-marketplace'"), "{message}");
    }

    #[test]
    fn the_body_is_signed_through_its_hash() {
        let headers = [("Host", "h"), ("X-Amz-Date", "20261128T000000Z")];
        let auth = "AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";
        let (mut req, mut signed) = signed_request("POST", "/", "", &headers, auth);
        req.body = b"{}".to_vec();
        signed.signature = signature(&req, "/", &signed, "s");
        assert!(verify(&req, "/", &signed, "s").is_ok());
        req.body = b"{ }".to_vec();
        assert!(verify(&req, "/", &signed, "s").is_err());
    }

    #[test]
    fn the_session_is_a_digest_of_the_security_token_header_or_presigned_query() {
        let mut with_token = req(Some(BOTO), true);
        assert_eq!(caller(&with_token).unwrap().session, None);
        assert_eq!(caller(&with_token).unwrap().instance(), "AKIDEXAMPLE");
        with_token
            .headers
            .push(("X-Amz-Security-Token".into(), "token-a".into()));
        let c = caller(&with_token).unwrap();
        assert_eq!(c.session.as_deref(), Some(session_of("token-a").as_str()));
        assert_eq!(c.session.as_ref().unwrap().len(), 32);
        assert_eq!(
            c.instance(),
            format!("AKIDEXAMPLE/{}", session_of("token-a"))
        );
        assert_ne!(session_of("token-a"), session_of("token-b"));

        let mut empty = req(Some(BOTO), true);
        empty
            .headers
            .push(("X-Amz-Security-Token".into(), String::new()));
        assert_eq!(
            caller(&empty).unwrap().session,
            None,
            "an empty token is none"
        );

        let presigned = HttpRequest {
            query: "X-Amz-Credential=111122223333%2F20261128%2Fus-east-1%2Faws-marketplace%2Faws4_request&X-Amz-Security-Token=token-a".into(),
            ..Default::default()
        };
        let c = caller(&presigned).unwrap();
        assert_eq!(c.session.as_deref(), Some(session_of("token-a").as_str()));
        assert_eq!(
            c.instance(),
            format!("111122223333/{}", session_of("token-a"))
        );
    }
}
