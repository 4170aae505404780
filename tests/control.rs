//! The control API and the namespace life cycle (seed, reset), driven natively.

mod common;

use common::{secs, Mock, NOW};
use serde_json::{json, Value};

#[test]
fn the_default_namespace_starts_with_the_demo_seed_and_others_start_empty() {
    let mut default = Mock::named("default");
    let products = default.control("GET", "/products", None);
    let codes: Vec<_> = products.body["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["productCode"].clone())
        .collect();
    assert_eq!(
        codes,
        [
            json!("demo-ami-product"),
            json!("demo-ca-product"),
            json!("demo-container-product"),
            json!("demo-saas-product")
        ]
    );
    let input = json!({"ProductCode": "demo-ami-product", "Timestamp": secs(NOW), "UsageDimension": "hosts", "UsageQuantity": 1});
    assert_eq!(default.call("MeterUsage", input).status, 200);
    let mut other = Mock::named("team-a");
    assert_eq!(
        other.control("GET", "/products", None).body["products"],
        json!([])
    );
}

#[test]
fn reset_empties_a_namespace_and_restores_the_seed_of_default() {
    let mut m = Mock::named("default");
    m.add_product(json!({"productCode": "extra", "dimensions": ["d"]}));
    m.call(
        "MeterUsage",
        json!({"ProductCode": "extra", "Timestamp": secs(NOW), "UsageDimension": "d"}),
    );
    m.set(json!({"maxFutureSeconds": 0}));
    assert_eq!(m.control("POST", "/reset", None).status, 200);
    assert_eq!(
        m.control("GET", "/products", None).body["products"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert!(m.usage("").is_empty());
    assert_eq!(
        m.control("GET", "/settings", None).body["maxFutureSeconds"],
        300
    );
}

#[test]
fn products_are_created_replaced_read_and_deleted() {
    let mut m = Mock::new();
    let doc = json!({"productCode": "p", "dimensions": ["d"]});
    assert_eq!(
        m.control("POST", "/products", Some(doc.clone())).status,
        201
    );
    assert_eq!(
        m.control(
            "POST",
            "/products",
            Some(json!({"productCode": "p", "dimensions": ["d", "e"]}))
        )
        .status,
        200
    );
    assert_eq!(
        m.control("GET", "/products/p", None).body["product"]["dimensions"],
        json!(["d", "e"])
    );
    assert_eq!(m.control("DELETE", "/products/p", None).status, 200);
    assert_eq!(m.control("GET", "/products/p", None).status, 404);
    assert_eq!(m.control("DELETE", "/products/p", None).status, 404);
}

#[test]
fn bad_control_input_is_a_400_with_a_message() {
    let mut m = Mock::new();
    m.add_product(json!({"productCode": "a", "dimensions": ["d"], "customers": [{"customerAWSAccountId": "1", "licenseArn": "arn:aws:license-manager::1:license:l-1"}]}));
    for (method, path, body) in [
        ("POST", "/products", Some(json!({"productCode": "p"}))),
        (
            "POST",
            "/products",
            Some(json!({"productCode": "p", "dimensions": []})),
        ),
        (
            "POST",
            "/products",
            Some(
                json!({"productCode": "b", "dimensions": ["d"], "customers": [{"customerAWSAccountId": "1", "licenseArn": "arn:aws:license-manager::1:license:l-1"}]}),
            ),
        ),
        ("PATCH", "/settings", Some(json!({"nope": 1}))),
        ("PATCH", "/settings", Some(json!({"dryRunStatus": 200}))),
        (
            "PATCH",
            "/settings",
            Some(json!({"tagCharset": "anything"})),
        ),
        ("PATCH", "/settings", Some(json!([1]))),
        (
            "PUT",
            "/clock",
            Some(json!({"offsetSeconds": 1, "frozenAt": 5})),
        ),
        ("PUT", "/clock", Some(json!({"frozenAt": "tomorrow"}))),
        ("PUT", "/clock", Some(json!({"frozenAt": 8.64e12}))),
        ("PUT", "/clock", Some(json!({"frozenAt": -1e15}))),
        ("PUT", "/clock", Some(json!({"speed": 2}))),
        ("GET", "/usage?limit=0", None),
        ("GET", "/usage?from=yesterday", None),
        ("GET", "/usage?colour=red", None),
    ] {
        let a = m.control(method, path, body.clone());
        assert_eq!(a.status, 400, "{method} {path} {body:?}: {:?}", a.body);
        assert!(a.body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    let not_json = m.send(metering_mock::protocol::http::HttpRequest {
        method: "POST".into(),
        path: "/_mock/products".into(),
        body: b"{".to_vec(),
        ..Default::default()
    });
    assert_eq!(not_json.status, 400);
    assert_eq!(m.control("GET", "/nothing", None).status, 404);
    assert_eq!(m.control("DELETE", "/settings", None).status, 405);
}

/// Control input is parsed once, where it enters: a refused field is named by its path,
/// with what the value must look like, and nothing is written.
#[test]
fn a_refused_field_is_named_by_its_path() {
    let mut m = Mock::new();
    m.add_product(json!({"productCode": "a", "dimensions": ["d"], "customers": [{"customerIdentifier": "c1"}]}));
    for (method, path, body, expected) in [
        (
            "POST",
            "/products",
            json!({"productCode": "b", "dimensions": ["d"], "customers": [{"customerIdentifier": "c"}, {"customerAWSAccountId": "1", "licenseArn": "arn:nope"}]}),
            "customers[1].licenseArn: 'arn:nope' is not a license ARN",
        ),
        (
            "POST",
            "/products",
            json!({"productCode": "b c", "dimensions": ["d"]}),
            "productCode: 'b c' must be 1-255 characters",
        ),
        (
            "POST",
            "/products",
            json!({"productCode": "b", "dimensions": ["d"], "sellerAccountId": "123"}),
            "sellerAccountId: '123' must be 12 digits",
        ),
        (
            "POST",
            "/products",
            json!({"productCode": "b", "dimensions": ["d", ""]}),
            "dimensions[1]: '' must be 1-255 characters",
        ),
        (
            "POST",
            "/products",
            json!({"productCode": "b", "dimensions": ["d"], "webhooks": [{"url": "ftp://x"}]}),
            "webhooks[0].url: 'ftp://x' must be an http:// or https:// URL",
        ),
        (
            "POST",
            "/registration-tokens",
            json!({"productCode": "a", "customerAWSAccountId": "12ab"}),
            "customerAWSAccountId: '12ab' must be digits",
        ),
        (
            "POST",
            "/registration-tokens",
            json!({"productCode": "a", "customerIdentifier": "c1", "colour": "red"}),
            "unknown field 'colour'",
        ),
        (
            "POST",
            "/subscriptions",
            json!({"productCode": "a", "customerIdentifier": "c1", "action": "subscribe-maybe"}),
            "action: unknown variant `subscribe-maybe`",
        ),
        (
            "POST",
            "/subscriptions",
            json!({"productCode": "a", "customerIdentifier": "c1"}),
            "missing field `action`",
        ),
        (
            "PUT",
            "/entitlements",
            json!({"productCode": "a", "customerIdentifier": "c1", "entitlements": [{"dimension": "d", "value": {"integerValue": "x"}}]}),
            "entitlements[0].value.integerValue",
        ),
        (
            "POST",
            "/marketplace/subscribe?format=json",
            json!({"productCode": "a", "fulfillmentUrl": "javascript:alert(1)"}),
            "fulfillmentUrl: 'javascript:alert(1)' must be an http:// or https:// URL",
        ),
    ] {
        let before = m.control("GET", "/products", None).body;
        let a = m.control(method, path, Some(body.clone()));
        assert_eq!(a.status, 400, "{method} {path} {body}: {:?}", a.body);
        let error = a.body["error"].as_str().unwrap_or_default();
        assert!(error.contains(expected), "{method} {path} {body}: {error}");
        assert_eq!(m.control("GET", "/products", None).body, before);
    }
}

/// `POST /_mock/seed` loads products (with customers and entitlements) and settings in one
/// step; a bad document names the path of what is wrong and loads nothing.
#[test]
fn a_seed_document_loads_whole_or_not_at_all() {
    let mut m = Mock::new();
    m.add_product(json!({"productCode": "kept", "dimensions": ["d"], "customers": [{"customerAWSAccountId": "1", "licenseArn": "arn:aws:license-manager::1:license:l-kept"}]}));
    let seed = json!({
        "products": [
            {"productCode": "a", "dimensions": ["users"], "customers": [
                {"customerIdentifier": "c1", "entitlements": [{"dimension": "users", "value": {"integerValue": 5}}]}
            ]},
            {"productCode": "b", "dimensions": ["gb"]}
        ],
        "settings": {"maxFutureSeconds": 120}
    });
    let a = m.control("POST", "/seed", Some(seed));
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["products"], json!(["a", "b"]));
    let products = m.control("GET", "/products", None).body["products"].clone();
    assert_eq!(products.as_array().map(Vec::len), Some(3));
    assert_eq!(
        m.control("GET", "/products/a", None).body["product"]["customers"][0]["entitlements"][0]
            ["value"]["integerValue"],
        5
    );
    assert_eq!(
        m.control("GET", "/settings", None).body["maxFutureSeconds"],
        120
    );

    for (bad, expected) in [
        (
            json!({"products": [{"productCode": "x", "dimensions": ["d"]}, {"productCode": "y", "dimensions": ["d"], "customers": [{"customerIdentifier": "c", "licenseArn": "nope"}]}]}),
            "products[1].customers[0].licenseArn: 'nope' is not a license ARN",
        ),
        (
            json!({"products": [{"productCode": "x", "dimensions": ["d"]}, {"productCode": "x", "dimensions": ["d"]}]}),
            "products[1]: productCode 'x' is listed twice",
        ),
        (
            json!({"products": [{"productCode": "x", "dimensions": ["d"], "customers": [{"customerAWSAccountId": "1", "licenseArn": "arn:aws:license-manager::1:license:l-kept"}]}]}),
            "products[0]: licenseArn 'arn:aws:license-manager::1:license:l-kept' already belongs to product kept",
        ),
        (
            json!({"products": [{"productCode": "x", "dimensions": ["d"], "customers": [{"customerIdentifier": "c", "entitlements": [{"dimension": "other", "value": {"integerValue": 1}}]}]}]}),
            "products[0]: customer 1: entitlement dimension 'other'",
        ),
        (
            json!({"products": [{"productCode": "x", "dimensions": ["d"]}], "settings": {"maxFutureSeconds": "soon"}}),
            "seed: settings: maxFutureSeconds",
        ),
        (json!({"products": [], "colour": "red"}), "unknown field `colour`"),
    ] {
        let before = m.control("GET", "/products", None).body;
        let settings = m.control("GET", "/settings", None).body;
        let a = m.control("POST", "/seed", Some(bad.clone()));
        assert_eq!(a.status, 400, "{bad}: {:?}", a.body);
        let error = a.body["error"].as_str().unwrap_or_default();
        assert!(error.contains(expected), "{bad}: {error}");
        assert_eq!(m.control("GET", "/products", None).body, before);
        assert_eq!(m.control("GET", "/settings", None).body, settings);
    }
}

/// `POST /_mock/reset {"seed": {<document>}}` leaves exactly the document's state; a bad
/// document is refused before anything is cleared.
#[test]
fn a_reset_to_a_seed_document_leaves_exactly_that_document() {
    let mut m = Mock::new();
    m.add_product(json!({"productCode": "old", "dimensions": ["d"]}));
    m.control("PATCH", "/settings", Some(json!({"maxFutureSeconds": 10})));
    let bad = m.control(
        "POST",
        "/reset",
        Some(json!({"seed": {"products": [{"productCode": "new", "dimensions": []}]}})),
    );
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert!(bad.body["error"]
        .as_str()
        .unwrap_or_default()
        .contains("products[0]"));
    assert!(
        m.control("GET", "/products/old", None).status == 200,
        "nothing cleared"
    );

    let a = m.control(
        "POST",
        "/reset",
        Some(json!({"seed": {"products": [{"productCode": "new", "dimensions": ["d"]}], "settings": {"maxFutureSeconds": 30}}})),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    let codes: Vec<Value> = m.control("GET", "/products", None).body["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["productCode"].clone())
        .collect();
    assert_eq!(codes, vec![json!("new")]);
    let settings = m.control("GET", "/settings", None).body;
    assert_eq!(settings["maxFutureSeconds"], 30);
    assert_eq!(
        m.control("POST", "/reset", Some(json!({"seed": "sometimes"})))
            .status,
        400
    );
}

#[test]
fn settings_patches_merge_with_the_current_settings() {
    let mut m = Mock::new();
    m.set(json!({"maxFutureSeconds": 0}));
    m.set(json!({"monthEndGraceSeconds": null}));
    let s = m.control("GET", "/settings", None).body;
    assert_eq!(
        (
            s["maxFutureSeconds"].clone(),
            s["monthEndGraceSeconds"].clone()
        ),
        (json!(0), json!(null))
    );
    assert_eq!(s["meterUsageMaxAgeSeconds"], 21600);
}

#[test]
fn the_clock_can_be_offset_frozen_and_released() {
    let mut m = Mock::new();
    let a = m.control(
        "PUT",
        "/clock",
        Some(json!({"frozenAt": "2030-01-01T00:00:00Z"})),
    );
    assert_eq!(
        (a.body["now"].clone(), a.body["frozen"].clone()),
        (json!("2030-01-01T00:00:00Z"), json!(true))
    );
    let a = m.control("PUT", "/clock", Some(json!({"frozenAt": 1767225600})));
    assert_eq!(a.body["now"], "2026-01-01T00:00:00Z");
    let a = m.control("PUT", "/clock", Some(json!({"offsetSeconds": -3600})));
    assert_eq!(a.body["now"], "2026-03-10T11:30:00Z");
    let a = m.control("PUT", "/clock", Some(json!({})));
    assert_eq!(a.body["now"], NOW);
    assert_eq!(m.control("GET", "/health", None).body["now"], NOW);
}

#[test]
fn usage_can_be_filtered() {
    let mut m = Mock::new();
    common::with_catalogue(&mut m);
    let rec = |c: &str, d: &str, t: &str| json!({"Timestamp": secs(t), "CustomerIdentifier": c, "Dimension": d, "Quantity": 1});
    m.call("BatchMeterUsage", json!({"ProductCode": "saas", "UsageRecords": [
        rec("c1", "users", "2026-03-10T10:00:00Z"), rec("c2", "users", "2026-03-10T11:00:00Z"), rec("c1", "gb", "2026-03-10T12:00:00Z")]}));
    m.call(
        "MeterUsage",
        json!({"ProductCode": "ami", "Timestamp": secs(NOW), "UsageDimension": "hosts"}),
    );
    assert_eq!(m.usage("").len(), 4);
    assert_eq!(m.usage("product=saas").len(), 3);
    assert_eq!(m.usage("customer=c1").len(), 2);
    assert_eq!(m.usage("customer=444455556666").len(), 1);
    assert_eq!(m.usage("dimension=users").len(), 2);
    assert_eq!(
        m.usage("from=2026-03-10T11:00:00Z&to=2026-03-10T12:00:00Z")
            .len(),
        1
    );
    assert_eq!(
        m.usage(&format!("from={}", secs("2026-03-10T11:00:00Z")))
            .len(),
        3
    );
    assert_eq!(m.usage("limit=2").len(), 2);
    let mut dimensions = |query: &str| -> Vec<String> {
        m.usage(query)
            .iter()
            .map(|r| r["dimension"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(dimensions("order=oldest&limit=2"), ["users", "users"]);
    assert_eq!(dimensions("order=newest&limit=2"), ["hosts", "gb"]);
    assert_eq!(m.control("GET", "/usage?order=sideways", None).status, 400);
}

#[test]
fn every_response_carries_a_request_id_and_unknown_paths_are_404() {
    let mut m = Mock::new();
    for a in [
        m.control("GET", "/health", None),
        m.control("GET", "/nothing", None),
        m.call("Nope", json!({})),
    ] {
        assert!(a.response.header("x-amzn-RequestId").is_some());
    }
    let a = m.send(metering_mock::protocol::http::HttpRequest {
        method: "POST".into(),
        path: "/elsewhere".into(),
        ..Default::default()
    });
    assert_eq!(a.status, 404);
    assert!(a.response.header("x-amzn-RequestId").is_some());
}

#[test]
fn the_store_contract_runs_only_in_tests_and_on_an_empty_namespace() {
    let mut m = Mock::new();
    // A deployment, even an open one, does not serve test code.
    assert_eq!(m.control("POST", "/store-contract", None).status, 404);
    m.deployment = common::test_deployment();
    let a = m.control("POST", "/store-contract", None);
    assert_eq!(a.body, json!({"passed": true, "failures": []}));
    // A journal is state too: the contract would clear it.
    m.call("MeterUsage", json!({"ProductCode": "nope"}));
    assert_eq!(m.control("POST", "/store-contract", None).status, 409);
    let mut m = Mock::new();
    m.deployment = common::test_deployment();
    m.add_product(json!({"productCode": "p", "dimensions": ["d"]}));
    assert_eq!(m.control("POST", "/store-contract", None).status, 409);
}

#[test]
fn any_namespace_can_be_reset_to_the_demo_seed_and_default_to_empty() {
    let mut m = Mock::named("team");
    let seeded = m.control("POST", "/reset", Some(json!({"seed": "demo"})));
    assert_eq!(seeded.status, 200, "{:?}", seeded.body);
    assert_eq!(m.control("GET", "/health", None).body["products"], 4);
    // The answer says what the namespace starts from.
    assert_eq!(seeded.body["seed"], "demo");
    assert_eq!(
        seeded.body["seeded"]["products"].as_array().map(Vec::len),
        Some(4)
    );
    let emptied = m.control("POST", "/reset", None);
    assert_eq!(m.control("GET", "/health", None).body["products"], 0);
    assert_eq!(emptied.body["seed"], "empty");
    assert_eq!(emptied.body["seeded"]["products"], json!([]));
    let mut d = Mock::named("default");
    d.control("POST", "/reset", Some(json!({"seed": "empty"})));
    assert_eq!(d.control("GET", "/health", None).body["products"], 0);
    assert_eq!(
        d.control("POST", "/reset", Some(json!({"seed": "other"})))
            .status,
        400
    );
}

#[test]
fn every_time_the_control_api_takes_lies_where_every_sdk_reads_it_back() {
    // Python's datetime starts at year 1: a year-0 time would reach boto3 as a 200 it cannot
    // parse. Each field refuses it, in either spelling, and takes the first and last instants.
    let mut m = Mock::new();
    m.add_product(json!({"productCode": "a", "dimensions": ["d"], "customers": [{"customerIdentifier": "c1"}]}));
    let entitle = |at: &str| {
        json!({"productCode": "a", "customerIdentifier": "c1",
               "entitlements": [{"dimension": "d", "value": {"integerValue": 1}, "expirationDate": at}]})
    };
    for year_zero in ["0000-01-01T00:00:00Z", "0001-01-01T00:00:00+00:01"] {
        let cases = [
            ("PUT", "/entitlements", entitle(year_zero)),
            ("PUT", "/clock", json!({ "frozenAt": year_zero })),
            ("POST", "/keys/1/retire", json!({ "at": year_zero })),
        ];
        for (method, path, body) in cases {
            let a = m.control(method, path, Some(body));
            assert_eq!(a.status, 400, "{path} {year_zero}: {:?}", a.body);
            assert!(
                a.body["error"].as_str().unwrap().contains("0001"),
                "{:?}",
                a.body
            );
        }
    }
    let epoch_year_zero = m.control(
        "PUT",
        "/clock",
        Some(json!({"frozenAt": -62_167_219_200i64})),
    );
    assert_eq!(epoch_year_zero.status, 400, "{:?}", epoch_year_zero.body);
    for edge in ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
        assert_eq!(
            m.control("PUT", "/entitlements", Some(entitle(edge)))
                .status,
            200,
            "{edge}"
        );
        assert_eq!(
            m.control("PUT", "/clock", Some(json!({ "frozenAt": edge })))
                .status,
            200,
            "{edge}"
        );
        let retire = m.control("POST", "/keys/1/retire", Some(json!({ "at": edge })));
        assert_eq!(retire.status, 200, "{edge}: {:?}", retire.body);
    }
}

#[test]
fn head_is_answered_where_get_is_and_a_405_names_the_allowed_methods() {
    let mut m = Mock::new();
    let request = |method: &str, path: &str| metering_mock::protocol::http::HttpRequest {
        method: method.into(),
        path: path.into(),
        ..Default::default()
    };
    let get = m.send(request("GET", "/_mock/products"));
    let head = m.send(request("HEAD", "/_mock/products"));
    assert_eq!((get.status, head.status), (200, 200));
    assert!(head.response.body.is_empty(), "a HEAD answer has no body");
    assert_eq!(
        head.response.header("content-type"),
        Some("application/json")
    );
    assert_eq!(
        get.response.header("content-type"),
        Some("application/json")
    );
    let refused = m.send(request("PUT", "/_mock/products"));
    assert_eq!(refused.status, 405);
    assert_eq!(refused.response.header("allow"), Some("GET, HEAD, POST"));
    let refused = m.send(request("DELETE", "/_mock/settings"));
    assert_eq!(refused.response.header("allow"), Some("GET, HEAD, PATCH"));
}

/// A local (open) namespace takes a test suite's products: two per test for hundreds of tests
/// (a shared deployment's limit of 100 is for locked mode; `tests/locked.rs` holds it there).
#[test]
fn an_open_namespace_takes_more_than_a_hundred_products() {
    let mut m = Mock::new();
    for i in 0..250 {
        let product = json!({"productCode": format!("p{i}"), "dimensions": ["d"]});
        let a = m.control("POST", "/products", Some(product));
        assert_eq!(a.status, 201, "product {i}: {:?}", a.body);
    }
    let listed = m.control("GET", "/products", None);
    assert_eq!(listed.body["products"].as_array().map(Vec::len), Some(250));
}

/// Control answers may carry secrets (a registration token, a sign-up page holding one): each
/// says `Cache-Control: no-store`, errors too.
#[test]
fn control_answers_are_never_cached() {
    let mut m = Mock::new();
    m.add_product(json!({"productCode": "p", "dimensions": ["d"], "customers": [{"customerIdentifier": "c"}]}));
    let minted = m.control(
        "POST",
        "/registration-tokens",
        Some(json!({"productCode": "p", "customerIdentifier": "c"})),
    );
    let refused = m.control("GET", "/products/nope", None);
    for a in [&minted, &refused] {
        assert_eq!(
            a.response.header("Cache-Control"),
            Some("no-store"),
            "{:?}",
            a.body
        );
    }
    assert!(minted.body["registrationToken"].is_string());
}
