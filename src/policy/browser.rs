//! Protection against web pages: a page the developer visits must not be able to change a
//! mock's state, not even a local open one. Browsers send a form POST or a `no-cors` fetch
//! cross-site without asking first (no preflight) but only with a "simple" content type
//! (form, multipart, `text/plain`), and they say where the request comes from (`Origin`,
//! `Sec-Fetch-Site`). So every state-changing control or admin request, and every non-GET
//! call of the rest-json AWS APIs (which need no header a page could not send), must carry
//! its body as `application/json` (which a browser sends cross-site only after a preflight
//! this worker never grants), and must not come from another site or origin.
//!
//! The one exception is a page of an `ALLOWED_ORIGINS` origin (a dashboard served
//! elsewhere): its preflights are granted and the answers name it as allowed (CORS).

use super::routes::Body;
use crate::protocol::http::HttpResponse;

/// Why a request was refused: status and message.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused(pub u16, pub String);

/// The parts of a request this check reads.
pub struct Origins<'a> {
    /// `scheme://host[:port]` of the mock itself, as the request addressed it.
    pub own: &'a str,
    /// Further origins allowed to change state (a dashboard elsewhere).
    pub allowed: &'a [String],
}

fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Checks a state-changing request. `header` answers a request header.
pub fn check_state_change<'h>(
    header: impl Fn(&str) -> Option<&'h str>,
    body_len: Option<usize>,
    accepts: Body,
    origins: &Origins<'_>,
) -> Result<(), Refused> {
    let cross_site =
        header("sec-fetch-site").is_some_and(|s| s.trim().eq_ignore_ascii_case("cross-site"));
    match header("origin").map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase()) {
        Some(origin)
            if origin == origins.own.to_ascii_lowercase() || origins.allowed.contains(&origin) => {}
        Some(origin) => {
            return Err(Refused(
                403,
                format!("requests from the origin '{origin}' cannot change this mock's state (allowed: the mock's own origin and ALLOWED_ORIGINS)"),
            ))
        }
        None if cross_site => {
            return Err(Refused(
                403,
                "cross-site requests cannot change a mock's state".into(),
            ))
        }
        None => {}
    }
    let wanted = match accepts {
        Body::Json => "application/json",
        Body::JsonOrForm => "application/json or application/x-www-form-urlencoded",
    };
    match header("content-type").map(media_type) {
        Some(t) if t == "application/json" => Ok(()),
        Some(t) if t == "application/x-www-form-urlencoded" && accepts == Body::JsonOrForm => {
            Ok(())
        }
        Some(t) => Err(Refused(
            415,
            format!("Content-Type '{t}' is not accepted here: send {wanted}"),
        )),
        // No body, or one whose length is not known yet: without a type it is refused
        // unless it turns out to be empty (`body_len` is then known).
        None if body_len == Some(0) => Ok(()),
        None => Err(Refused(
            415,
            format!("a request body needs Content-Type: {wanted}"),
        )),
    }
}

/// The request's `Origin` when it is one of `allowed` (as listed: lower case, no trailing
/// `/`), which CORS then lets read the answers.
pub fn cors_origin(origin: Option<&str>, allowed: &[String]) -> Option<String> {
    let origin = origin?.trim().trim_end_matches('/').to_ascii_lowercase();
    allowed.contains(&origin).then_some(origin)
}

/// What every answer to a listed origin carries: that origin may read it, and the headers
/// the SDKs and the dashboard read.
pub fn cors_headers(origin: &str) -> [(&'static str, String); 3] {
    [
        ("Access-Control-Allow-Origin", origin.to_string()),
        ("Vary", "Origin".to_string()),
        (
            "Access-Control-Expose-Headers",
            "x-amzn-RequestId, x-amzn-ErrorType, Retry-After".to_string(),
        ),
    ]
}

/// `response` with `cors_headers`.
pub fn with_cors(response: HttpResponse, origin: &str) -> HttpResponse {
    cors_headers(origin)
        .iter()
        .fold(response, |r, (name, value)| r.with_header(name, value))
}

/// A listed origin's preflight: granted for the methods the mock serves and the headers
/// asked for (names only), kept by the browser for ten minutes.
pub fn preflight(origin: &str, requested_headers: Option<&str>) -> HttpResponse {
    let headers: Vec<&str> = requested_headers
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .collect();
    let empty = HttpResponse {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
    };
    let response = with_cors(empty, origin)
        .with_header(
            "Access-Control-Allow-Methods",
            "GET, HEAD, POST, PUT, PATCH, DELETE",
        )
        .with_header("Access-Control-Max-Age", "600");
    if headers.is_empty() {
        response
    } else {
        response.with_header("Access-Control-Allow-Headers", &headers.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "http://127.0.0.1:8787";

    fn check(headers: &[(&str, &str)], body_len: Option<usize>, accepts: Body) -> Option<u16> {
        let allowed = vec!["https://dash.example.com".to_string()];
        let origins = Origins {
            own: OWN,
            allowed: &allowed,
        };
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        check_state_change(header, body_len, accepts, &origins)
            .err()
            .map(|Refused(status, _)| status)
    }

    #[test]
    fn tools_without_browser_headers_pass_with_json_or_no_body() {
        assert_eq!(
            check(&[("content-type", "application/json")], Some(9), Body::Json),
            None
        );
        assert_eq!(
            check(
                &[("Content-Type", "application/json; charset=utf-8")],
                None,
                Body::Json
            ),
            None
        );
        assert_eq!(check(&[], Some(0), Body::Json), None);
    }

    #[test]
    fn simple_cross_site_requests_are_refused() {
        // <form method=post> from another site
        let form = [
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", "http://localhost:3000"),
            ("sec-fetch-site", "cross-site"),
        ];
        assert_eq!(check(&form, Some(0), Body::Json), Some(403));
        // fetch(url, {mode: "no-cors", method: "POST", body: "{}"}) from another origin
        let no_cors = [
            ("content-type", "text/plain;charset=UTF-8"),
            ("origin", "http://127.0.0.1:3000"),
            ("sec-fetch-site", "same-site"),
        ];
        assert_eq!(check(&no_cors, Some(2), Body::Json), Some(403));
        // the same without the browser's origin headers still lacks the JSON type
        assert_eq!(check(&no_cors[..1], Some(2), Body::Json), Some(415));
        assert_eq!(check(&[], Some(2), Body::Json), Some(415));
        assert_eq!(check(&[], None, Body::Json), Some(415));
        assert_eq!(check(&[("origin", "null")], Some(0), Body::Json), Some(403));
        assert_eq!(
            check(&[("sec-fetch-site", "cross-site")], Some(0), Body::Json),
            Some(403)
        );
    }

    #[test]
    fn the_mock_s_own_pages_and_allowed_origins_pass() {
        let own_form = [
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", OWN),
            ("sec-fetch-site", "same-origin"),
        ];
        assert_eq!(check(&own_form, Some(10), Body::JsonOrForm), None);
        assert_eq!(check(&own_form, Some(10), Body::Json), Some(415));
        let dashboard = [
            ("content-type", "application/json"),
            ("origin", "https://dash.example.com"),
            ("sec-fetch-site", "cross-site"),
        ];
        assert_eq!(check(&dashboard, Some(2), Body::Json), None);
    }

    #[test]
    fn a_listed_origin_gets_cors_and_its_preflights_others_nothing() {
        let allowed = vec!["https://dash.example.com".to_string()];
        assert_eq!(
            cors_origin(Some("https://DASH.example.com/"), &allowed).as_deref(),
            Some("https://dash.example.com")
        );
        assert_eq!(cors_origin(Some("https://evil.example"), &allowed), None);
        assert_eq!(cors_origin(None, &allowed), None);
        let granted = preflight(
            "https://dash.example.com",
            Some("authorization, content-type, x-amz-target, bad header"),
        );
        assert_eq!(granted.status, 204);
        assert_eq!(
            granted.header("access-control-allow-origin"),
            Some("https://dash.example.com")
        );
        assert_eq!(
            granted.header("access-control-allow-headers"),
            Some("authorization, content-type, x-amz-target")
        );
        assert!(granted
            .header("access-control-allow-methods")
            .unwrap()
            .contains("PATCH"));
        let answer = with_cors(
            HttpResponse::json(200, &serde_json::json!({})),
            "https://dash.example.com",
        );
        assert_eq!(answer.header("vary"), Some("Origin"));
        assert!(answer
            .header("access-control-expose-headers")
            .unwrap()
            .contains("x-amzn-RequestId"));
    }
}
