//! Signature verification: off by default (any key goes); on when the namespace configures
//! credentials, and then only those keys with correct SigV4 signatures get through.

mod common;

use common::{secs, signed_meter_usage, with_catalogue, Mock, NOW};
use metering_mock::protocol::http::HttpRequest;
use serde_json::json;

fn signed_request(key: &str, secret: &str) -> HttpRequest {
    signed_meter_usage(key, secret, "/ns/team/")
}

fn mock() -> Mock {
    let mut m = Mock::named("team");
    with_catalogue(&mut m);
    m
}

#[test]
fn without_configured_credentials_any_signature_is_accepted() {
    let mut m = mock();
    assert_eq!(m.send(signed_request("anything", "whatever")).status, 200);
    let mut wrong = signed_request("anything", "whatever");
    wrong.body = json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantity": 2}).to_string().into_bytes();
    assert_eq!(m.send(wrong).error_name(), "DuplicateRequestException");
}

#[test]
fn configured_credentials_admit_only_their_keys_with_correct_signatures() {
    let mut m = mock();
    m.set(json!({"signatureCredentials": {"AKIDTEAM": "team-secret"}}));
    assert_eq!(
        m.send(signed_request("AKIDTEAM", "team-secret")).status,
        200
    );
    let wrong_secret = m.send(signed_request("AKIDTEAM", "guess"));
    assert_eq!(
        (wrong_secret.status, wrong_secret.error_name()),
        (403, "InvalidSignatureException")
    );
    let unknown = m.send(signed_request("AKIDOTHER", "team-secret"));
    assert_eq!(
        (unknown.status, unknown.error_name()),
        (403, "UnrecognizedClientException")
    );
    let mut tampered = signed_request("AKIDTEAM", "team-secret");
    tampered.body.push(b' ');
    assert_eq!(m.send(tampered).error_name(), "InvalidSignatureException");
    m.set(json!({"signatureCredentials": {}}));
    assert_eq!(m.send(signed_request("AKIDOTHER", "guess")).status, 200);
}

#[test]
fn bad_credential_settings_are_refused() {
    let mut m = mock();
    for bad in [
        json!({"": "s"}),
        json!({"k": ""}),
        json!({"a/b": "s"}),
        json!(["k"]),
    ] {
        let a = m.control(
            "PATCH",
            "/settings",
            Some(json!({"signatureCredentials": bad})),
        );
        assert_eq!(a.status, 400, "{bad}");
    }
}

#[test]
fn the_signature_is_checked_before_the_target_and_the_body() {
    let mut m = mock();
    m.set(json!({"signatureCredentials": {"AKIDTEAM": "team-secret"}}));
    let mut bad_json = signed_request("AKIDTEAM", "guess");
    bad_json.body = b"{".to_vec();
    assert_eq!(m.send(bad_json).error_name(), "InvalidSignatureException");
    let mut bad_target = signed_request("AKIDTEAM", "guess");
    bad_target.headers[2].1 = "Nope.Nope".into();
    assert_eq!(m.send(bad_target).error_name(), "InvalidSignatureException");
}

/// Requests signed by botocore's own signer (`scripts/sigv4-vectors.py` wrote them): the
/// verifier accepts each, and refuses it once its signed content or the secret changes.
#[test]
fn requests_signed_by_botocore_verify_and_tampered_ones_do_not() {
    use metering_mock::protocol::sigv4;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sigv4-botocore.json"
    ))
    .unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let vectors = fixture["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 10);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let text = |key: &str| v[key].as_str().unwrap().to_string();
        let req = HttpRequest {
            method: text("method"),
            path: text("path"),
            full_path: String::new(),
            query: text("query"),
            headers: v["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap().into(), h[1].as_str().unwrap().into()))
                .collect(),
            body: text("body").into_bytes(),
        };
        let secret = text("secret");
        let signed = sigv4::read(&req).unwrap_or_else(|e| panic!("{name}: {}", e.message));
        assert_eq!(signed.caller.access_key_id, "AKIDEXAMPLE", "{name}");
        let verify =
            |req: &HttpRequest, secret: &str| sigv4::verify(req, &req.path, &signed, secret);
        assert!(
            verify(&req, &secret).is_ok(),
            "{name}: botocore's signature is refused"
        );
        assert!(
            verify(&req, "not-the-secret").is_err(),
            "{name}: any secret verifies"
        );
        let mut changed_body = req.clone();
        changed_body.body.push(b' ');
        let mut changed_query = req.clone();
        changed_query.query = format!("{}&z=1", req.query);
        for changed in [changed_body, changed_query] {
            assert!(
                verify(&changed, &secret).is_err(),
                "{name}: a changed request verifies"
            );
        }
    }
}
