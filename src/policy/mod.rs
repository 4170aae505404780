//! The deployment's policy: the one route table with each route's access class
//! (`routes`), its variables and limits (`deployment`), browser and outbound (webhook)
//! protections, the rate bucket and the secrets of locked deployments; and `admit`, the
//! check every request passes at the worker's entry before anything with state runs (its
//! route, a body over the route's limit before the body is read, state changes a web page
//! could send cross-site, and in a locked deployment the credential its access class
//! needs). What needs a namespace's own secrets is checked by `namespace_access` inside
//! that namespace's Durable Object, where they live, so rotation and deletion take effect
//! at once.
//!
//! Pure rules: imports the error type, the protocol (to answer in a request's wire) and
//! the store's retention type, never the runtime or a store; the entry, the namespace, the service,
//! control, admin and delivery use it.

pub mod browser;
pub mod deployment;
pub mod guesses;
pub mod outbound;
pub mod rate;
pub mod routes;
pub mod secrets;

use serde_json::json;

use crate::error::{ErrorKind, ServiceError};
use crate::model::error::ModelError;
use crate::protocol::http::HttpResponse;
use crate::protocol::{awsjson, cbor, modeled};
use browser::Origins;
use deployment::{Deployment, ADMIN_MAX_BODY_BYTES};
use routes::{Access, Body, Found};
use secrets::{bearer, Provision};

/// What `admit` reads of a request before its body.
pub struct Head<'a> {
    pub method: &'a str,
    /// The whole path, namespace prefix included.
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(String, String)],
    /// `scheme://host[:port]` the request was addressed to.
    pub origin: &'a str,
    /// The body's length when `Content-Length` tells it.
    pub content_length: Option<usize>,
}

impl Head<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request `admit` let through, and where it goes.
#[derive(Debug)]
pub struct Admitted<'p> {
    pub found: Found<'p>,
    /// The largest body the route accepts; a body of unknown length is read up to it.
    pub body_limit: usize,
}

/// A JSON error of the control or admin API.
pub fn json_error(status: u16, message: impl Into<String>) -> HttpResponse {
    HttpResponse::json(status, &json!({ "error": message.into() }))
}

/// The answer to a path the worker does not serve.
pub fn no_route(method: &str, path: &str) -> HttpResponse {
    json_error(
        404,
        format!("no route {method} {path}: AWS requests go to / (or /ns/<name>/) or, in rpc-v2-cbor, to /service/<Service>/operation/<Operation>, Discovery's to /2026-02-05/<operation> and the Deployment Service's to /catalogs/… and /tags/…; the control API is under /_mock/"),
    )
}

/// An AWS error in the protocol of the request's path and `X-Amz-Target`; a service served
/// from its model answers with its model's names (`InternalServerException`) and statuses.
pub fn aws_error(
    path: &str,
    target: Option<&str>,
    error: &ServiceError,
    request_id: &str,
) -> HttpResponse {
    if let Some((service, wire)) = modeled::door_of(path, target) {
        let error = ModelError::of_service(service, error);
        return modeled::error(service, wire, &error, request_id);
    }
    if cbor::is_rpc_path(path) {
        cbor::error(error, request_id)
    } else {
        awsjson::error(error, request_id)
    }
}

/// The answer to a body of `len` bytes over its route's `limit`.
pub fn too_large(
    head: &Head<'_>,
    found: &Found<'_>,
    len: usize,
    limit: usize,
    request_id: &str,
) -> HttpResponse {
    let target = head.header("x-amz-target");
    match found.access {
        Access::Aws => {
            if let Some((service, wire)) = modeled::door_of(&found.path, target) {
                let error = modeled::too_large(service, len, limit);
                return modeled::error(service, wire, &error, request_id);
            }
            // An rpc-v2-cbor request names its service in the path, not in X-Amz-Target.
            let service = if cbor::is_rpc_path(&found.path) {
                cbor::service_of_path(&found.path)
            } else {
                awsjson::service_of(target)
            };
            aws_error(
                &found.path,
                target,
                &awsjson::body_too_large(len, service),
                request_id,
            )
        }
        Access::Public => json_error(413, "this route takes no request body"),
        _ => json_error(
            413,
            format!("the request body has {len} bytes; this route accepts at most {limit}"),
        ),
    }
}

fn limit_of(access: Access, deployment: &Deployment) -> usize {
    match access {
        Access::Aws => awsjson::MAX_BODY_BYTES - 1,
        Access::Admin => ADMIN_MAX_BODY_BYTES,
        Access::Namespace => deployment.limits.control_body_bytes,
        Access::Public => 0,
    }
}

/// Lets a request through or answers it. `request_id` goes on AWS-style refusals.
pub fn admit<'p>(
    head: &Head<'p>,
    deployment: &Deployment,
    request_id: &str,
) -> Result<Admitted<'p>, HttpResponse> {
    let found = routes::find(head.method, head.path).map_err(|message| {
        // An SDK pointed at a malformed namespace URL must still read the answer.
        let aws = ServiceError::new(ErrorKind::UnknownOperationException, message.clone());
        if head.header("x-amz-target").is_some() {
            awsjson::error(&aws, request_id)
        } else if head.path.contains(cbor::SERVICE_PREFIX) {
            cbor::error(&aws, request_id)
        } else {
            json_error(400, message)
        }
    })?;
    if found.access == Access::Public && found.route().is_none() {
        return Err(no_route(head.method, &found.path));
    }
    check_rebinding(head, deployment)?;
    let body_limit = limit_of(found.access, deployment);
    if let Some(len) = head.content_length.filter(|&len| len > body_limit) {
        return Err(too_large(head, &found, len, body_limit, request_id));
    }
    // The AWS rest-json paths need no header a page could not send (a presigned query
    // carries the credential), so their state changes are checked as the control API's.
    let rest_json = found.access == Access::Aws
        && matches!(
            modeled::door_of(&found.path, head.header("x-amz-target")),
            Some((_, modeled::Wire::RestJson))
        );
    if (matches!(found.access, Access::Namespace | Access::Admin) || rest_json)
        && found.changes_state(head.method)
    {
        check_browser(head, &found, deployment)?;
    }
    check_credential_present(head, &found, deployment, request_id)?;
    Ok(Admitted { found, body_limit })
}

/// An open deployment answers only under a name that cannot be a stranger's (DNS
/// rebinding: a page at `http://evil.example:8787` whose name now resolves to 127.0.0.1 would
/// read the mock as its own origin, and browsers send no `Sec-Fetch-*` to plain-http names):
/// loopback names, IP addresses, single-label names (a container's `mock`) and the reserved
/// local suffixes, or an origin of `ALLOWED_ORIGINS`. Anything else is 403.
fn check_rebinding(head: &Head<'_>, deployment: &Deployment) -> Result<(), HttpResponse> {
    let own = head.origin.trim_end_matches('/').to_ascii_lowercase();
    if deployment.locked()
        || addressed_as(head, is_local_name)
        || deployment.allowed_origins.contains(&own)
    {
        return Ok(());
    }
    Err(json_error(
        403,
        format!("this open mock answers only at a local name (localhost, an IP address, a name without dots such as a container's, or .localhost, .internal, .local, .home.arpa), which a web page cannot rebind; to reach it as {own}, add that origin to ALLOWED_ORIGINS (or lock the deployment with ADMIN_TOKEN)"),
    ))
}

/// Whether both the URL the request addressed and its `Host` header (when it has one) pass
/// `local`: the package runner's Miniflare takes the URL from an `MF-Original-URL` header a
/// same-origin page may send, while the `Host` is the browser's own.
fn addressed_as(head: &Head<'_>, local: fn(&str) -> bool) -> bool {
    local(head.origin) && head.header("host").is_none_or(local)
}

/// The host of `scheme://host[:port]` (or of `host[:port]`), lowercased, without brackets.
fn host_of(origin: &str) -> String {
    let host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    }
    .trim_end_matches('.')
    .to_ascii_lowercase()
}

/// Whether `origin` names this machine or its local network in a way no public DNS name can.
fn is_local_name(origin: &str) -> bool {
    let host = host_of(origin);
    const LOCAL_SUFFIXES: [&str; 4] = [".localhost", ".internal", ".local", ".home.arpa"];
    host.parse::<std::net::IpAddr>().is_ok()
        || !host.contains('.')
        || LOCAL_SUFFIXES.iter().any(|s| host.ends_with(s))
}

/// A state change from a browser must come from the mock's own origin (or an allowed one).
fn check_browser(
    head: &Head<'_>,
    found: &Found<'_>,
    deployment: &Deployment,
) -> Result<(), HttpResponse> {
    let accepts = found.route().map_or(Body::Json, |r| r.body);
    // An open deployment is for loopback: a page reached under another name (DNS
    // rebinding) is not its own origin, whatever its Host says.
    let own = if deployment.locked() || addressed_as(head, is_loopback_origin) {
        head.origin
    } else {
        ""
    };
    let origins = Origins {
        own,
        allowed: &deployment.allowed_origins,
    };
    browser::check_state_change(|n| head.header(n), head.content_length, accepts, &origins)
        .map_err(|browser::Refused(status, message)| json_error(status, message))
}

/// The credential the route needs is there (the admin token is checked here; a namespace's
/// token and signature by its object, which holds them).
fn check_credential_present(
    head: &Head<'_>,
    found: &Found<'_>,
    deployment: &Deployment,
    request_id: &str,
) -> Result<(), HttpResponse> {
    match found.access {
        Access::Admin if !deployment.locked() => Err(json_error(
            404,
            "the admin API exists only in a locked deployment (set the ADMIN_TOKEN secret)",
        )),
        Access::Admin
            if !bearer(head.header("authorization"))
                .is_some_and(|t| deployment.is_admin_token(t)) =>
        {
            Err(unauthorized(
                "the admin API needs Authorization: Bearer <ADMIN_TOKEN>",
            ))
        }
        Access::Namespace
            if deployment.locked()
                && bearer(head.header("authorization")).is_none()
                && !found.by_signup_link(head.query) =>
        {
            Err(unauthorized(
                "the control API of a namespace needs Authorization: Bearer <control token>",
            ))
        }
        Access::Aws if deployment.locked() && !is_signed(head) => Err(aws_error(
            &found.path,
            head.header("x-amz-target"),
            &ServiceError::new(
                ErrorKind::MissingAuthenticationTokenException,
                "Missing Authentication Token",
            ),
            request_id,
        )),
        _ => Ok(()),
    }
}

/// Whether `scheme://host[:port]` names this machine (`localhost`, `*.localhost`,
/// `127.0.0.0/8`, `[::1]`).
fn is_loopback_origin(origin: &str) -> bool {
    let host = host_of(origin);
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn is_signed(head: &Head<'_>) -> bool {
    head.header("authorization").is_some()
        || head
            .query
            .split('&')
            .any(|p| p.to_ascii_lowercase().starts_with("x-amz-credential="))
}

pub fn unauthorized(message: &str) -> HttpResponse {
    json_error(401, message).with_header("WWW-Authenticate", "Bearer")
}

/// The namespace-side check of a control request in a locked deployment: the namespace
/// must be provisioned, and the bearer token must be its control token or the admin token.
pub fn namespace_access(
    authorization: Option<&str>,
    provision: Option<&Provision>,
    deployment: &Deployment,
    namespace: &str,
) -> Result<(), HttpResponse> {
    if !deployment.locked() {
        return Ok(());
    }
    let Some(provision) = provision else {
        return Err(json_error(404, format!("no namespace '{namespace}'")));
    };
    let token = bearer(authorization).unwrap_or_default();
    if provision.accepts_control_token(token) || deployment.is_admin_token(token) {
        Ok(())
    } else {
        Err(unauthorized(
            "the token is not this namespace's control token (nor the admin token)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrets::Issued;

    const ADMIN: &str = "admin-token-0123456789";

    fn head<'a>(
        method: &'a str,
        path: &'a str,
        headers: &'a [(String, String)],
        content_length: Option<usize>,
    ) -> Head<'a> {
        Head {
            method,
            path,
            query: "",
            headers,
            origin: "http://127.0.0.1:8787",
            content_length,
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn status(result: Result<Admitted<'_>, HttpResponse>) -> u16 {
        result.map_or_else(|r| r.status, |_| 200)
    }

    #[test]
    fn open_deployments_need_no_credentials_but_have_no_admin_api() {
        let open = Deployment::default();
        let none = headers(&[]);
        assert_eq!(
            status(admit(
                &head("PUT", "/_registry/provision", &none, Some(9)),
                &open,
                "r"
            )),
            404
        );
        assert_eq!(
            status(admit(&head("GET", "/_mock/usage", &none, None), &open, "r")),
            200
        );
        assert_eq!(
            status(admit(
                &head("POST", "/_mock/reset", &none, Some(0)),
                &open,
                "r"
            )),
            200
        );
        assert_eq!(
            status(admit(
                &head("GET", "/_admin/namespaces", &none, None),
                &open,
                "r"
            )),
            404
        );
    }

    #[test]
    fn locked_deployments_refuse_what_carries_no_credential() {
        let locked = Deployment::locked_with(ADMIN);
        let none = headers(&[]);
        assert_eq!(
            status(admit(
                &head("GET", "/_mock/usage", &none, None),
                &locked,
                "r"
            )),
            401
        );
        assert_eq!(
            status(admit(
                &head("GET", "/_mock/nope", &none, None),
                &locked,
                "r"
            )),
            401
        );
        let aws = admit(&head("POST", "/ns/a", &none, Some(2)), &locked, "r").unwrap_err();
        assert_eq!(
            aws.header("x-amzn-ErrorType"),
            Some("MissingAuthenticationTokenException")
        );
        assert_eq!(
            status(admit(
                &head("GET", "/_mock/ping", &none, None),
                &locked,
                "r"
            )),
            200
        );
        let wrong = headers(&[("authorization", "Bearer not-the-admin-token")]);
        assert_eq!(
            status(admit(
                &head("GET", "/_admin/namespaces", &wrong, None),
                &locked,
                "r"
            )),
            401
        );
        let admin = headers(&[("authorization", &format!("Bearer {ADMIN}"))]);
        assert_eq!(
            status(admit(
                &head("GET", "/_admin/namespaces", &admin, None),
                &locked,
                "r"
            )),
            200
        );
    }

    #[test]
    fn bodies_over_the_limit_are_refused_before_they_are_read() {
        let open = Deployment::default();
        let json = headers(&[("content-type", "application/json")]);
        let big = admit(
            &head("POST", "/_mock/products", &json, Some(2 * 1024 * 1024)),
            &open,
            "r",
        )
        .unwrap_err();
        assert_eq!(big.status, 413);
        let aws = admit(&head("POST", "/", &json, Some(1024 * 1024)), &open, "r").unwrap_err();
        assert_eq!(
            (aws.status, aws.header("x-amzn-ErrorType")),
            (400, Some("ValidationException"))
        );
        let ok = admit(&head("POST", "/", &json, Some(1024 * 1024 - 1)), &open, "r").unwrap();
        assert_eq!(ok.body_limit, 1024 * 1024 - 1);
        // A CBOR GetEntitlements of 1 MiB gets the Entitlement model's only client error.
        let cbor = headers(&[("content-type", "application/cbor")]);
        let path = "/service/AWSMPEntitlementService/operation/GetEntitlements";
        let big = admit(&head("POST", path, &cbor, Some(1024 * 1024)), &open, "r").unwrap_err();
        assert_eq!(big.status, 400);
        let error: ciborium::Value = ciborium::from_reader(big.body.as_slice()).unwrap();
        let error_type = error.as_map().unwrap()[0].1.as_text().unwrap().to_string();
        assert!(
            error_type.ends_with("#InvalidParameterException"),
            "{error_type}"
        );
    }

    #[test]
    fn an_open_deployment_reached_under_another_name_refuses_browser_state_changes() {
        let open = Deployment::default();
        let page = headers(&[
            ("content-type", "application/json"),
            ("origin", "http://rebound.example:8787"),
        ]);
        let mut rebound = head("POST", "/_mock/reset", &page, Some(2));
        rebound.origin = "http://rebound.example:8787";
        assert_eq!(status(admit(&rebound, &open, "r")), 403);
        let tool = headers(&[("content-type", "application/json")]);
        let mut from_tool = head("POST", "/_mock/reset", &tool, Some(2));
        from_tool.origin = "http://mock:8787";
        assert_eq!(status(admit(&from_tool, &open, "r")), 200);
        for own in [
            "http://localhost:8787",
            "http://[::1]:8787",
            "http://127.0.0.2:1",
        ] {
            let page = headers(&[("content-type", "application/json"), ("origin", own)]);
            let mut local = head("POST", "/_mock/reset", &page, Some(2));
            local.origin = own;
            assert_eq!(status(admit(&local, &open, "r")), 200, "{own}");
        }
    }

    #[test]
    fn an_open_deployment_answers_only_under_names_a_page_cannot_rebind() {
        let mut open = Deployment::default();
        let none = headers(&[]);
        let at = |origin: &'static str| {
            let mut h = head("GET", "/_mock/settings", &none, None);
            h.origin = origin;
            h
        };
        for public in [
            "http://rebound.example:8787",
            "https://x-8787.app.github.dev",
        ] {
            assert_eq!(status(admit(&at(public), &open, "r")), 403, "{public}");
        }
        for local in [
            "http://localhost:8787",
            "http://127.0.0.1:8787",
            "http://[::1]:8787",
            "http://10.0.0.5:8787",
            "http://mock:8787",
            "http://host.docker.internal:8787",
            "http://mock.local:8787",
            "http://api.localhost:8787",
        ] {
            assert_eq!(status(admit(&at(local), &open, "r")), 200, "{local}");
        }
        // A URL claimed local (Miniflare's MF-Original-URL) does not hide the Host sent.
        let rebound_host = headers(&[("host", "rebound.example:8787")]);
        let claimed = head("GET", "/_mock/settings", &rebound_host, None);
        assert_eq!(status(admit(&claimed, &open, "r")), 403);
        open.allowed_origins = vec!["http://rebound.example:8787".into()];
        assert_eq!(
            status(admit(&at("http://rebound.example:8787"), &open, "r")),
            200
        );
        // A locked deployment is reached under its public name (and asks for its token).
        let locked = Deployment::locked_with(ADMIN);
        let mut public = head("GET", "/_mock/health", &none, None);
        public.origin = "https://mock.example.workers.dev";
        assert_eq!(status(admit(&public, &locked, "r")), 401);
    }

    #[test]
    fn a_page_cannot_change_state_through_the_rest_json_apis() {
        let open = Deployment::default();
        let path = "/catalogs/AWSMarketplace/products/p/deployment-parameters";
        let form = headers(&[("content-type", "text/plain")]);
        assert_eq!(
            status(admit(&head("POST", path, &form, Some(2)), &open, "r")),
            415
        );
        let page = headers(&[
            ("content-type", "application/json"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert_eq!(
            status(admit(&head("POST", path, &page, Some(2)), &open, "r")),
            403
        );
        let elsewhere = headers(&[("origin", "https://evil.example")]);
        let untag = "/tags/arn%3Aaws%3Ax";
        assert_eq!(
            status(admit(
                &head("DELETE", untag, &elsewhere, Some(0)),
                &open,
                "r"
            )),
            403
        );
        // What the SDKs send passes; reads are not state changes.
        let sdk = headers(&[("content-type", "application/json")]);
        assert_eq!(
            status(admit(&head("POST", path, &sdk, Some(2)), &open, "r")),
            200
        );
        assert_eq!(
            status(admit(
                &head("DELETE", untag, &headers(&[]), Some(0)),
                &open,
                "r"
            )),
            200
        );
        assert_eq!(
            status(admit(&head("GET", untag, &elsewhere, None), &open, "r")),
            200
        );
    }

    #[test]
    fn a_malformed_namespace_name_is_answered_in_the_request_s_protocol() {
        let open = Deployment::default();
        let aws = headers(&[("x-amz-target", "AWSMPMeteringService.MeterUsage")]);
        let a = admit(&head("POST", "/ns/bad.name/", &aws, Some(2)), &open, "r").unwrap_err();
        assert_eq!(
            a.header("x-amzn-ErrorType"),
            Some("UnknownOperationException")
        );
        let none = headers(&[]);
        let c = admit(
            &head(
                "POST",
                "/ns/bad.name/service/AWSMPEntitlementService/operation/GetEntitlements",
                &none,
                Some(2),
            ),
            &open,
            "r",
        )
        .unwrap_err();
        assert_eq!(c.header("content-type"), Some("application/cbor"));
        let j = admit(
            &head("GET", "/ns/bad.name/_mock/health", &none, None),
            &open,
            "r",
        )
        .unwrap_err();
        assert_eq!(
            (j.status, j.header("content-type")),
            (400, Some("application/json"))
        );
    }

    #[test]
    fn the_namespace_checks_its_own_control_token() {
        let locked = Deployment::locked_with(ADMIN);
        let issued = Issued::from_random(&[3u8; 96]);
        let provision = Provision::new("team-a", &issued, 7, 0);
        let bearer_of = |t: &str| format!("Bearer {t}");
        let check = |auth: Option<&str>, p: Option<&Provision>| {
            namespace_access(auth, p, &locked, "team-a").map_err(|r| r.status)
        };
        assert_eq!(
            check(Some(&bearer_of(&issued.control_token)), Some(&provision)),
            Ok(())
        );
        assert_eq!(check(Some(&bearer_of(ADMIN)), Some(&provision)), Ok(()));
        assert_eq!(
            check(Some(&bearer_of("mmct_other")), Some(&provision)),
            Err(401)
        );
        assert_eq!(check(None, Some(&provision)), Err(401));
        assert_eq!(check(Some(&bearer_of(ADMIN)), None), Err(404));
        assert_eq!(
            namespace_access(None, None, &Deployment::default(), "x"),
            Ok(())
        );
    }
}
