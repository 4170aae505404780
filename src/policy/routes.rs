//! The one route table: every path the worker answers, with the access class that guards
//! it. `admit` enforces the class before anything runs, the namespace and the registry
//! dispatch on the endpoint found here, and `GET /_admin/routes` lists the table so tests
//! can walk every route with every wrong credential: a new route cannot skip the check.

use serde::Serialize;

use crate::model::ModelService;
use crate::protocol::cbor;
use crate::protocol::route::{self, DEFAULT_NAMESPACE};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Anyone: answers that hold no namespace data.
    Public,
    /// The namespace's control token (or the admin token) in locked deployments.
    Namespace,
    /// A SigV4 signature by the namespace's credentials in locked deployments.
    Aws,
    /// The admin token; the admin API exists only in locked deployments.
    Admin,
}

/// The control API's endpoints (`/_mock/…` of a namespace).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Health,
    ListProducts,
    PutProduct,
    GetProduct,
    DeleteProduct,
    Usage,
    Requests,
    ClearRequests,
    Bill,
    GetSettings,
    PatchSettings,
    GetClock,
    PutClock,
    ListFaults,
    AddFault,
    ClearFaults,
    Reset,
    Seed,
    MintToken,
    SignupLink,
    SignupPage,
    Signup,
    Lifecycle,
    PutEntitlements,
    Events,
    Keys,
    CreateKeys,
    Jwks,
    KeyPem,
    RotateKeys,
    RetireKey,
    ReinstateKey,
    Registrations,
    Offers,
    Agreements,
    AgreementRequests,
    AgreementActivity,
    ActAsBuyer,
    StoreContract,
}

/// The admin API's endpoints (`/_admin/…`, locked deployments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admin {
    ListNamespaces,
    CreateNamespace,
    DeleteNamespace,
    RotateNamespace,
    Routes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /_mock/ping`: answered by the worker alone (the benchmark's baseline).
    Ping,
    /// `GET /` of a namespace: what the endpoint is.
    Banner,
    /// `GET /_mock/ui/…`: the dashboard's files (no data; answered by the worker alone).
    Dashboard,
    AwsJson,
    RpcV2Cbor,
    Control(Control),
    Admin(Admin),
}

/// What a state-changing route accepts as its body's `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Body {
    Json,
    /// JSON, or the form the simulated sign-up page posts to itself.
    JsonOrForm,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub method: &'static str,
    /// Inside a namespace (`/_mock/…`, `/`) or, for admin routes, from the root; `{x}`
    /// matches one path segment.
    pub path: &'static str,
    pub access: Access,
    #[serde(skip)]
    pub endpoint: Endpoint,
    pub body: Body,
}

const fn r(method: &'static str, path: &'static str, access: Access, endpoint: Endpoint) -> Route {
    Route {
        method,
        path,
        access,
        endpoint,
        body: Body::Json,
    }
}

const fn c(method: &'static str, path: &'static str, control: Control) -> Route {
    r(method, path, Access::Namespace, Endpoint::Control(control))
}

const fn a(method: &'static str, path: &'static str, admin: Admin) -> Route {
    r(method, path, Access::Admin, Endpoint::Admin(admin))
}

use Control as C;

pub const ROUTES: &[Route] = &[
    r("GET", "/_mock/ping", Access::Public, Endpoint::Ping),
    r("GET", "/", Access::Public, Endpoint::Banner),
    r("GET", "/_mock/ui", Access::Public, Endpoint::Dashboard),
    r(
        "GET",
        "/_mock/ui/{file}",
        Access::Public,
        Endpoint::Dashboard,
    ),
    r("POST", "/", Access::Aws, Endpoint::AwsJson),
    r(
        "POST",
        "/service/{service}/operation/{operation}",
        Access::Aws,
        Endpoint::RpcV2Cbor,
    ),
    c("GET", "/_mock/health", C::Health),
    c("GET", "/_mock/products", C::ListProducts),
    c("POST", "/_mock/products", C::PutProduct),
    c("GET", "/_mock/products/{code}", C::GetProduct),
    c("DELETE", "/_mock/products/{code}", C::DeleteProduct),
    c("GET", "/_mock/usage", C::Usage),
    c("GET", "/_mock/requests", C::Requests),
    c("DELETE", "/_mock/requests", C::ClearRequests),
    c("GET", "/_mock/bill", C::Bill),
    c("GET", "/_mock/settings", C::GetSettings),
    c("PATCH", "/_mock/settings", C::PatchSettings),
    c("GET", "/_mock/clock", C::GetClock),
    c("PUT", "/_mock/clock", C::PutClock),
    c("GET", "/_mock/faults", C::ListFaults),
    c("POST", "/_mock/faults", C::AddFault),
    c("DELETE", "/_mock/faults", C::ClearFaults),
    c("POST", "/_mock/reset", C::Reset),
    c("POST", "/_mock/seed", C::Seed),
    c("POST", "/_mock/registration-tokens", C::MintToken),
    c("POST", "/_mock/marketplace/signup-links", C::SignupLink),
    c("GET", "/_mock/marketplace/subscribe", C::SignupPage),
    Route {
        body: Body::JsonOrForm,
        ..c("POST", "/_mock/marketplace/subscribe", C::Signup)
    },
    c("POST", "/_mock/subscriptions", C::Lifecycle),
    c("PUT", "/_mock/entitlements", C::PutEntitlements),
    c("GET", "/_mock/events", C::Events),
    c("GET", "/_mock/keys", C::Keys),
    c("POST", "/_mock/keys", C::CreateKeys),
    c("GET", "/_mock/keys/jwks.json", C::Jwks),
    c("POST", "/_mock/keys/rotate", C::RotateKeys),
    c("GET", "/_mock/keys/{version}", C::KeyPem),
    c("POST", "/_mock/keys/{version}/retire", C::RetireKey),
    c("POST", "/_mock/keys/{version}/reinstate", C::ReinstateKey),
    c("GET", "/_mock/registrations", C::Registrations),
    c("GET", "/_mock/offers", C::Offers),
    c("GET", "/_mock/agreements", C::Agreements),
    c("GET", "/_mock/agreement-requests", C::AgreementRequests),
    c("GET", "/_mock/agreement-activity", C::AgreementActivity),
    c("POST", "/_mock/agreement-activity/buyer", C::ActAsBuyer),
    c("POST", "/_mock/store-contract", C::StoreContract),
    a("GET", "/_admin/namespaces", Admin::ListNamespaces),
    a("POST", "/_admin/namespaces", Admin::CreateNamespace),
    a(
        "DELETE",
        "/_admin/namespaces/{name}",
        Admin::DeleteNamespace,
    ),
    a(
        "POST",
        "/_admin/namespaces/{name}/rotate",
        Admin::RotateNamespace,
    ),
    a("GET", "/_admin/routes", Admin::Routes),
];

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
pub struct Found<'a> {
    /// The namespace it addresses (`None` for admin routes).
    pub namespace: Option<&'a str>,
    /// The path inside the namespace (admin routes: the whole path).
    pub path: String,
    pub access: Access,
    pub outcome: Outcome,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Route(&'static Route, Vec<String>),
    /// The path exists with other methods: these (the `Allow` of a 405).
    MethodNotAllowed(Vec<&'static str>),
    NotFound,
}

impl Outcome {
    /// The `Allow` header's value of a 405, e.g. `GET, HEAD, POST`.
    pub fn allow(&self) -> Option<String> {
        match self {
            Outcome::MethodNotAllowed(methods) => Some(methods.join(", ")),
            _ => None,
        }
    }
}

impl Found<'_> {
    pub fn route(&self) -> Option<&'static Route> {
        match self.outcome {
            Outcome::Route(route, _) => Some(route),
            _ => None,
        }
    }

    pub fn endpoint(&self) -> Option<Endpoint> {
        self.route().map(|r| r.endpoint)
    }

    /// Whether the request is the sign-up page or its POST by a sign-up link (`?link=`),
    /// whose id is its credential: the namespace judges the link, not a control token.
    pub fn by_signup_link(&self, query: &str) -> bool {
        matches!(
            self.endpoint(),
            Some(Endpoint::Control(Control::SignupPage | Control::Signup))
        ) && url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "link")
    }

    /// The value of the route's `{…}` segments, in order.
    pub fn params(&self) -> &[String] {
        match &self.outcome {
            Outcome::Route(_, params) => params,
            _ => &[],
        }
    }

    /// Whether the request changes state (every route that is not a GET does).
    pub fn changes_state(&self, method: &str) -> bool {
        !matches!(method, "GET" | "HEAD" | "OPTIONS")
    }
}

fn is_admin_path(path: &str) -> bool {
    path == "/_admin" || path.starts_with("/_admin/")
}

fn is_control_path(path: &str) -> bool {
    path == "/_mock" || path.starts_with("/_mock/")
}

/// Finds the route of a request path (namespace prefix included). `Err` explains a
/// malformed namespace name.
pub fn find<'p>(method: &str, full_path: &'p str) -> Result<Found<'p>, String> {
    if is_admin_path(full_path) {
        return Ok(Found {
            namespace: None,
            path: full_path.to_string(),
            access: Access::Admin,
            outcome: matching(method, full_path, |r| r.access == Access::Admin),
        });
    }
    let routed = route::split(full_path)?;
    let inner = routed.path.trim_end_matches('/');
    let inner = if inner.is_empty() { "/" } else { inner };
    let outcome = matching(method, inner, |r| r.access != Access::Admin);
    let access = match &outcome {
        Outcome::Route(route, _) => route.access,
        _ if is_control_path(inner) => Access::Namespace,
        _ if cbor::is_rpc_path(inner) => Access::Aws,
        _ if ModelService::of_rest_path(inner).is_some() => Access::Aws,
        _ if inner == "/" => Access::Aws,
        _ => Access::Public,
    };
    Ok(Found {
        namespace: Some(routed.namespace),
        path: routed.path,
        access,
        outcome,
    })
}

/// A route whose pattern matched, with its parameters.
type Candidate = (&'static Route, Vec<String>);

/// The route for `method` among those whose pattern matches `path`; patterns with more
/// literal segments win (`/_mock/keys/rotate` over `/_mock/keys/{version}`). `HEAD` is
/// served by the `GET` route (the answer's body is dropped where it is sent).
fn matching(method: &str, path: &str, eligible: impl Fn(&Route) -> bool) -> Outcome {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, Vec<Candidate>)> = None;
    for route in ROUTES.iter().filter(|r| eligible(r)) {
        let Some(params) = match_pattern(route.path, &segments) else {
            continue;
        };
        let literal = route
            .path
            .split('/')
            .filter(|s| !s.starts_with('{'))
            .count();
        match &mut best {
            Some((n, found)) if *n == literal => found.push((route, params)),
            Some((n, _)) if *n > literal => {}
            _ => best = Some((literal, vec![(route, params)])),
        }
    }
    match best {
        None => Outcome::NotFound,
        Some((_, found)) => {
            let serves = |r: &Route| r.method == method || (method == "HEAD" && r.method == "GET");
            let mut allowed: Vec<&'static str> = found.iter().map(|(r, _)| r.method).collect();
            match found.into_iter().find(|(r, _)| serves(r)) {
                Some((route, params)) => Outcome::Route(route, params),
                None => {
                    if allowed.contains(&"GET") {
                        allowed.push("HEAD");
                    }
                    allowed.sort_unstable();
                    allowed.dedup();
                    Outcome::MethodNotAllowed(allowed)
                }
            }
        }
    }
}

fn match_pattern(pattern: &str, segments: &[&str]) -> Option<Vec<String>> {
    // Walked without collecting the pattern's parts: every request tries every route.
    let mut params = Vec::new();
    let mut matched = 0;
    for part in pattern.split('/') {
        let segment = segments.get(matched)?;
        matched += 1;
        if part.starts_with('{') {
            if segment.is_empty() {
                return None;
            }
            params.push(segment.to_string());
        } else if part != *segment {
            return None;
        }
    }
    (matched == segments.len()).then_some(params)
}

/// An example path of a route (its parameters filled in), for tests that walk the table.
pub fn example_path(route: &Route) -> String {
    route
        .path
        .split('/')
        .map(|s| match s {
            "{code}" => "demo-saas-product",
            "{version}" => "1",
            "{name}" => "example",
            "{service}" => "AWSMPEntitlementService",
            "{operation}" => "GetEntitlements",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `name` is the default namespace (the bare URL).
pub fn is_default(name: &str) -> bool {
    name == DEFAULT_NAMESPACE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(method: &str, path: &str) -> Option<Endpoint> {
        find(method, path).unwrap().endpoint()
    }

    #[test]
    fn control_routes_are_found_in_any_namespace() {
        assert_eq!(
            endpoint("GET", "/_mock/products"),
            Some(Endpoint::Control(C::ListProducts))
        );
        let f = find("DELETE", "/ns/team-a/_mock/products/p%2F1").unwrap();
        assert_eq!(f.namespace, Some("team-a"));
        assert_eq!(f.endpoint(), Some(Endpoint::Control(C::DeleteProduct)));
        assert_eq!(f.params(), ["p%2F1"]);
        assert_eq!(
            endpoint("GET", "/ns/x/_mock/usage/"),
            Some(Endpoint::Control(C::Usage))
        );
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        assert_eq!(
            endpoint("POST", "/_mock/keys/rotate"),
            Some(Endpoint::Control(C::RotateKeys))
        );
        assert_eq!(
            find("GET", "/_mock/keys/rotate").unwrap().outcome,
            Outcome::MethodNotAllowed(vec!["POST"])
        );
        assert_eq!(
            endpoint("GET", "/_mock/keys/2.pem"),
            Some(Endpoint::Control(C::KeyPem))
        );
        assert_eq!(
            endpoint("GET", "/_mock/keys/jwks.json"),
            Some(Endpoint::Control(C::Jwks))
        );
    }

    #[test]
    fn unknown_control_paths_still_need_the_namespace_token() {
        let f = find("GET", "/_mock/nothing-here").unwrap();
        assert_eq!(f.outcome, Outcome::NotFound);
        assert_eq!(f.access, Access::Namespace);
        let f = find("PUT", "/_mock/products").unwrap();
        assert_eq!(f.outcome.allow().as_deref(), Some("GET, HEAD, POST"));
        assert_eq!(f.access, Access::Namespace);
        // HEAD is served where GET is.
        assert_eq!(
            endpoint("HEAD", "/_mock/keys/jwks.json"),
            Some(Endpoint::Control(C::Jwks))
        );
    }

    #[test]
    fn admin_routes_live_at_the_root_only() {
        let f = find("POST", "/_admin/namespaces/team-a/rotate").unwrap();
        assert_eq!(f.namespace, None);
        assert_eq!(f.access, Access::Admin);
        assert_eq!(f.params(), ["team-a"]);
        let f = find("GET", "/_admin/unknown").unwrap();
        assert_eq!((f.access, f.outcome), (Access::Admin, Outcome::NotFound));
        let f = find("GET", "/ns/x/_admin/namespaces").unwrap();
        assert_eq!((f.access, f.outcome), (Access::Public, Outcome::NotFound));
    }

    #[test]
    fn aws_calls_and_public_routes() {
        assert_eq!(endpoint("POST", "/"), Some(Endpoint::AwsJson));
        assert_eq!(endpoint("POST", "/ns/a"), Some(Endpoint::AwsJson));
        assert_eq!(endpoint("GET", "/ns/a/"), Some(Endpoint::Banner));
        assert_eq!(
            endpoint(
                "POST",
                "/service/AWSMPEntitlementService/operation/GetEntitlements"
            ),
            Some(Endpoint::RpcV2Cbor)
        );
        let f = find("GET", "/service/x").unwrap();
        assert_eq!(f.access, Access::Aws);
        assert_eq!(find("PUT", "/").unwrap().access, Access::Aws);
        // Discovery's rest-json paths, under its API version.
        assert_eq!(
            find("POST", "/ns/a/2026-02-05/getOffer").unwrap().access,
            Access::Aws
        );
        // The Deployment Service's, by their first segment, whatever the method.
        for (method, path) in [
            ("DELETE", "/ns/a/tags/arn%3Aaws%3Ax"),
            (
                "GET",
                "/catalogs/AWSMarketplace/products/p/deployment-parameters",
            ),
        ] {
            assert_eq!(find(method, path).unwrap().access, Access::Aws, "{path}");
        }
        assert_eq!(find("GET", "/favicon.ico").unwrap().access, Access::Public);
        assert!(find("GET", "/ns/bad.name/").is_err());
    }

    #[test]
    fn every_example_path_finds_its_own_route() {
        for route in ROUTES {
            let path = example_path(route);
            let found = find(route.method, &path).unwrap();
            assert_eq!(found.route(), Some(route), "{} {path}", route.method);
            assert_eq!(found.access, route.access);
        }
    }
}
