//! Who may call a namespace: SigV4 signatures verified against its credentials (issued when
//! it was provisioned, or set in `signatureCredentials`), and whether a request carries them,
//! which decides the signing keys made ahead of a request's step.

use crate::domain::settings::Settings;
use crate::domain::signing::MAX_VERSIONS;
use crate::domain::time::Instant;
use crate::error::{ErrorKind, ServiceError};
use crate::namespace::load_settings;
use crate::policy;
use crate::policy::deployment::Deployment;
use crate::policy::routes::{self, Access, Control, Endpoint, Found};
use crate::policy::secrets::Provision;
use crate::protocol::http::HttpRequest;
use crate::protocol::sigv4::{self, Signed};
use crate::store::keys;
use crate::store::Store;

/// How many signing keys a request may make (a first use of the keys, a rotation, or both),
/// so the worker can have WebCrypto make them before the request's synchronous step: it is
/// asynchronous and much faster than generating keys in wasm. Decided from the route, and
/// 0 for a request without the namespace's credential, which will be refused anyway.
pub fn signing_keys_ahead<S: Store + ?Sized>(
    store: &S,
    name: &str,
    req: &HttpRequest,
    deployment: &Deployment,
    provision: Option<&Provision>,
    host_now: Instant,
) -> usize {
    let Ok(found) = routes::find(&req.method, req.signed_path()) else {
        return 0;
    };
    let (makes_keys, rotates) = match found.endpoint() {
        Some(Endpoint::AwsJson) => (
            req.header("x-amz-target").map(str::trim) == Some("AWSMPMeteringService.RegisterUsage"),
            false,
        ),
        Some(Endpoint::Control(
            Control::CreateKeys | Control::RetireKey | Control::ReinstateKey,
        )) => (true, false),
        Some(Endpoint::Control(Control::RotateKeys)) => (true, true),
        _ => (false, false),
    };
    if !makes_keys {
        return 0;
    }
    let ring = keys::key_ring(store).unwrap_or_default();
    // A rotation the ring has no room for is refused (409): no key is made for it.
    let wanted =
        usize::from(ring.is_empty()) + usize::from(rotates && ring.latest() < MAX_VERSIONS);
    if wanted > 0 && !carries_credential(store, name, req, &found, deployment, provision, host_now)
    {
        return 0;
    }
    wanted
}

/// How far a locked deployment lets a signature's date lie from its own time (AWS's rule).
const SIGNATURE_SKEW_MS: i64 = 15 * 60 * 1000;

/// What a signature is checked against: the namespace's credentials and, in a locked
/// deployment, the host's time.
pub(super) struct Verifier<'a> {
    pub(super) settings: &'a Settings,
    pub(super) provision: Option<&'a Provision>,
    /// `Some(host time)` in a locked deployment.
    pub(super) locked_at: Option<Instant>,
}

/// Verifies the signature against the namespace's credentials: those issued when it was
/// provisioned and those of the `signatureCredentials` setting. An open deployment checks
/// nothing while the setting is empty (any key goes). A locked one always checks, refuses
/// presigned requests (a credential in a URL leaks with the URL; the SDKs sign these APIs in
/// the header) and signatures dated more than 15 minutes from its clock, so a captured
/// request cannot be replayed for long.
pub(super) fn authenticate(
    req: &HttpRequest,
    signed: &Signed,
    v: &Verifier<'_>,
) -> Result<(), ServiceError> {
    let (settings, provision) = (v.settings, v.provision);
    if let Some(now) = v.locked_at {
        check_signature_date(signed, now)?;
    } else if settings.signature_credentials.is_empty() {
        return Ok(());
    }
    let key = &signed.caller.access_key_id;
    let issued = provision
        .filter(|p| &p.access_key_id == key)
        .map(|p| &p.secret_access_key);
    let Some(secret) = issued.or_else(|| settings.signature_credentials.get(key)) else {
        return Err(unrecognized_client());
    };
    sigv4::verify(req, req.signed_path(), signed, secret)
}

fn check_signature_date(signed: &Signed, now: Instant) -> Result<(), ServiceError> {
    let invalid =
        |message: String| ServiceError::new(ErrorKind::InvalidSignatureException, message);
    if signed.presigned {
        return Err(invalid(
            "This deployment does not accept presigned requests: sign the Authorization header."
                .into(),
        ));
    }
    let d = &signed.amz_date;
    let when = (d.len() == 16 && d.is_ascii())
        .then(|| {
            format!(
                "{}-{}-{}T{}:{}:{}Z",
                &d[0..4],
                &d[4..6],
                &d[6..8],
                &d[9..11],
                &d[11..13],
                &d[13..15]
            )
        })
        .and_then(|text| Instant::parse_rfc3339(&text));
    let Some(when) = when else {
        return Err(invalid(format!(
            "The X-Amz-Date '{d}' is not of the form yyyyMMddTHHmmssZ."
        )));
    };
    if (when.millis() - now.millis()).abs() > SIGNATURE_SKEW_MS {
        return Err(invalid(format!(
            "Signature expired: {d} is more than 15 minutes from the server's time {}.",
            now.to_rfc3339()
        )));
    }
    Ok(())
}

/// Whether a request carries the namespace's credential (always true in an open
/// deployment), checked ahead of the step only where that saves costly work.
fn carries_credential<S: Store + ?Sized>(
    store: &S,
    name: &str,
    req: &HttpRequest,
    found: &Found<'_>,
    deployment: &Deployment,
    provision: Option<&Provision>,
    host_now: Instant,
) -> bool {
    if !deployment.locked() {
        return true;
    }
    match found.access {
        Access::Namespace => {
            policy::namespace_access(req.header("authorization"), provision, deployment, name)
                .is_ok()
        }
        Access::Aws if provision.is_some() => load_settings(store).is_ok_and(|settings| {
            let verifier = Verifier {
                settings: &settings,
                provision,
                locked_at: Some(host_now),
            };
            sigv4::read(req).is_ok_and(|signed| authenticate(req, &signed, &verifier).is_ok())
        }),
        _ => false,
    }
}

pub(super) fn unrecognized_client() -> ServiceError {
    ServiceError::new(
        ErrorKind::UnrecognizedClientException,
        "The security token included in the request is invalid.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::SequentialIds;
    use crate::store::memory::MemoryStore;

    fn request(method: &str, path: &str, target: Option<&str>) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            path: path.into(),
            headers: target
                .map(|t| vec![("X-Amz-Target".to_string(), t.to_string())])
                .unwrap_or_default(),
            ..Default::default()
        }
    }

    #[test]
    fn keys_are_made_ahead_for_rotations_and_for_first_uses_only() {
        let mut store = MemoryStore::new();
        let open = Deployment::default();
        let keys_of = |store: &MemoryStore, req: &HttpRequest| {
            signing_keys_ahead(store, "ns", req, &open, None, Instant(0))
        };
        let register = request("POST", "/", Some("AWSMPMeteringService.RegisterUsage"));
        let meter = request("POST", "/", Some("AWSMPMeteringService.MeterUsage"));
        let read = request("GET", "/_mock/keys/jwks.json", None);
        let create = request("POST", "/_mock/keys", None);
        let rotate = request("POST", "/_mock/keys/rotate/", None);
        let usage = request("GET", "/_mock/usage", None);
        assert_eq!(keys_of(&store, &register), 1);
        assert_eq!(keys_of(&store, &create), 1);
        assert_eq!(keys_of(&store, &read), 0, "reading makes no key");
        assert_eq!(keys_of(&store, &rotate), 2, "version 1, then 2");
        assert_eq!(keys_of(&store, &meter), 0);
        assert_eq!(keys_of(&store, &usage), 0);
        let mut ids = SequentialIds::default();
        let empty = keys::key_ring(&store).unwrap();
        keys::rotate_key(&mut store, empty, &mut ids, Instant(0), false).unwrap();
        assert_eq!(keys_of(&store, &register), 0);
        assert_eq!(keys_of(&store, &create), 0);
        assert_eq!(keys_of(&store, &rotate), 1);
    }

    #[test]
    fn a_locked_deployment_makes_no_key_ahead_for_a_request_without_the_credential() {
        let store = MemoryStore::new();
        let locked = Deployment::locked_with("admin-token-for-the-plan-test");
        for req in [
            request("POST", "/_mock/keys/rotate", None),
            request("POST", "/", Some("AWSMPMeteringService.RegisterUsage")),
        ] {
            assert_eq!(
                signing_keys_ahead(&store, "ns", &req, &locked, None, Instant(0)),
                0,
                "{}",
                req.path
            );
        }
    }
}
