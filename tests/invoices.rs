//! Invoices and billing adjustments natively: a month with an upfront charge, an approved
//! payment request and metered usage is invoiced (the charges when they are made, the usage
//! once the month's metering windows close), the seller credits part of an invoice, and the
//! bill preview of the month comes to what its invoices and credit memos do, to the cent.

mod common;

use common::agreements::{agreement, buy_offer, contract_of, set_clock, BUYER, SELLER, STRANGER};
use common::{secs, Answer, Mock};
use serde_json::{json, Value};

const OFFER: &str = "offer-acmedeal01";

/// A product whose private offer for `BUYER` has a contract (seats), usage on top (users at
/// 0.25) and a variable payment term; the buyer has accepted it on 2026-03-05 with 2 seats
/// for a year. Returns the agreement id and its license.
fn world() -> (Mock, String, String) {
    let mut mock = Mock::new();
    mock.add_product(json!({
        "productCode": "saas", "dimensions": ["users", "seats"],
        "integration": "concurrent-agreements", "sellerAccountId": SELLER,
        "webhooks": [{"url": "http://127.0.0.1:9/eb", "format": "eventbridge"}],
        "privateOffers": [{"offerId": OFFER, "buyerAccounts": [BUYER], "prices": {"users": "0.25"},
                           "contract": {"P12M": {"seats": "100"}},
                           "variablePayment": {"maxTotalChargeAmount": "1000.00"}}],
    }));
    set_clock(&mut mock, "2026-03-05T00:00:00Z");
    let id = buy_offer(&mut mock, OFFER, Some(&contract_of("P12M", "seats", 2)));
    let listed = mock.control("GET", "/agreements", None).body;
    let license = listed["agreements"][0]["licenseArn"]
        .as_str()
        .unwrap()
        .to_string();
    (mock, id, license)
}

/// Meters `users` of the agreement's license at the namespace's time `at`.
fn meter(mock: &mut Mock, license: &str, users: i64, at: &str) {
    set_clock(mock, at);
    let answer = mock.call_as(
        SELLER,
        "us-east-1",
        "BatchMeterUsage",
        json!({"ProductCode": "saas", "UsageRecords": [{"Timestamp": secs(at),
            "CustomerAWSAccountId": BUYER, "LicenseArn": license, "Dimension": "users", "Quantity": users}]}),
    );
    assert_eq!(
        answer.body["Results"][0]["Status"], "Success",
        "{}",
        answer.body
    );
}

/// A payment request of `amount`, approved by the buyer.
fn paid(mock: &mut Mock, id: &str, amount: &str) {
    let terms = agreement(
        mock,
        SELLER,
        false,
        "GetAgreementTerms",
        json!({ "agreementId": id }),
    );
    let term = terms.body["acceptedTerms"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|t| t.get("variablePaymentTerm"))
        .unwrap()["id"]
        .clone();
    let sent = agreement(
        mock,
        SELLER,
        false,
        "SendAgreementPaymentRequest",
        json!({"agreementId": id, "termId": term, "name": "Migration work", "chargeAmount": amount}),
    );
    let approved = agreement(
        mock,
        BUYER,
        false,
        "AcceptAgreementPaymentRequest",
        json!({"agreementId": id, "paymentRequestId": sent.body["paymentRequestId"]}),
    );
    assert_eq!(approved.body["status"], "APPROVED", "{}", approved.body);
}

fn invoices(mock: &mut Mock, key: &str, input: Value) -> Answer {
    agreement(mock, key, false, "ListAgreementInvoiceLineItems", input)
}

/// The agreement's invoice groups: (type, amount, period month, maxAdjustmentAmount).
fn groups(mock: &mut Mock, id: &str, extra: Value) -> Vec<Value> {
    let mut input = json!({"agreementId": id, "groupBy": "INVOICE_ID"});
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    let listed = invoices(mock, SELLER, input);
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.body["agreementInvoiceLineItemGroupSummaries"]
        .as_array()
        .unwrap()
        .clone()
}

fn amount_of(group: &Value) -> &str {
    group["pricingCurrencyAmount"]["amount"].as_str().unwrap()
}

fn adjust(mock: &mut Mock, key: &str, entries: Value) -> Answer {
    agreement(
        mock,
        key,
        true,
        "BatchCreateBillingAdjustmentRequest",
        json!({ "billingAdjustmentRequestEntries": entries }),
    )
}

fn entry(id: &str, invoice: &Value, amount: &str, token: &str) -> Value {
    json!({"agreementId": id, "originalInvoiceId": invoice, "adjustmentAmount": amount,
           "currencyCode": "USD", "adjustmentReasonCode": "BUYER_DISSATISFACTION", "clientToken": token})
}

/// Cents of a dollars-and-cents amount.
fn cents(amount: &str) -> i64 {
    let (d, c) = amount.split_once('.').unwrap();
    d.parse::<i64>().unwrap() * 100 + c.parse::<i64>().unwrap()
}

#[test]
fn a_month_is_invoiced_adjusted_and_previewed_to_the_same_cent() {
    let (mut mock, id, license) = world();
    meter(&mut mock, &license, 7, "2026-03-10T10:00:00Z");
    paid(&mut mock, &id, "300.00");
    meter(&mut mock, &license, 3, "2026-03-31T23:30:00Z");

    // The charges are invoiced when they are made; the usage not before its windows close.
    set_clock(&mut mock, "2026-04-01T05:59:59Z");
    let listed = groups(&mut mock, &id, json!({}));
    let amounts: Vec<&str> = listed.iter().map(amount_of).collect();
    assert_eq!(amounts, ["300.00", "200.00"]);
    assert!(listed.iter().all(|g| g["invoiceType"] == "INVOICE"
        && g["invoiceBillingPeriod"] == json!({"month": 3, "year": 2026})));
    assert_eq!(
        listed[1]["invoicingEntity"]["legalName"],
        "Amazon Web Services, Inc."
    );
    set_clock(&mut mock, "2026-04-02T00:00:00Z");
    let listed = groups(&mut mock, &id, json!({}));
    assert_eq!(amount_of(&listed[0]), "2.50", "{listed:?}");
    assert_eq!(listed[0]["issuedTime"], secs("2026-04-01T06:00:00Z"));
    let upfront = listed.iter().find(|g| amount_of(g) == "200.00").unwrap()["invoiceId"].clone();
    let payment = listed.iter().find(|g| amount_of(g) == "300.00").unwrap()["invoiceId"].clone();

    // One batch: a credit, one beyond the invoice, a wrong currency, an unknown invoice, a
    // retry of the credit, and its token with another amount.
    let mut euro = entry(&id, &upfront, "1.00", "eur");
    euro["currencyCode"] = json!("EUR");
    let batch = json!([
        entry(&id, &upfront, "50", "credit-1"),
        entry(&id, &payment, "300.01", "too-much"),
        euro,
        entry(
            &id,
            &json!("inv-000000000000000000000000"),
            "1.00",
            "nowhere"
        ),
        entry(&id, &upfront, "50", "credit-1"),
        entry(&id, &upfront, "60", "credit-1"),
    ]);
    let refused = adjust(&mut mock, BUYER, batch.clone());
    assert_eq!(refused.error_name(), "AccessDeniedException");
    let answer = adjust(&mut mock, SELLER, batch);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let items = answer.body["items"].as_array().unwrap();
    let tokens: Vec<&str> = items
        .iter()
        .map(|i| i["clientToken"].as_str().unwrap())
        .collect();
    assert_eq!(tokens, ["credit-1", "too-much", "credit-1"]);
    assert_eq!(
        items[0]["billingAdjustmentRequestId"],
        items[2]["billingAdjustmentRequestId"]
    );
    let errors: Vec<(&str, &str)> = answer.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["clientToken"].as_str().unwrap(),
                e["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("eur", "VALIDATION_EXCEPTION"),
            ("nowhere", "RESOURCE_NOT_FOUND_EXCEPTION"),
            ("credit-1", "CONFLICT_EXCEPTION")
        ]
    );
    let get = |mock: &mut Mock, key: &str, item: &Value| {
        agreement(
            mock,
            key,
            false,
            "GetBillingAdjustmentRequest",
            json!({"agreementId": id, "billingAdjustmentRequestId": item["billingAdjustmentRequestId"]}),
        )
    };
    let credit = get(&mut mock, SELLER, &items[0]);
    assert_eq!(
        (&credit.body["status"], &credit.body["adjustmentAmount"]),
        (&json!("COMPLETED"), &json!("50.00"))
    );
    let failed = get(&mut mock, SELLER, &items[1]);
    assert_eq!(failed.body["status"], "VALIDATION_FAILED");
    assert!(failed.body["statusMessage"]
        .as_str()
        .unwrap()
        .contains("at most 300.00"));
    assert_eq!(
        get(&mut mock, BUYER, &items[0]).error_name(),
        "AccessDeniedException"
    );
    assert_eq!(
        get(&mut mock, STRANGER, &items[0]).error_name(),
        "ResourceNotFoundException"
    );
    let listed = agreement(
        &mut mock,
        SELLER,
        false,
        "ListBillingAdjustmentRequests",
        json!({"agreementId": id, "status": "COMPLETED"}),
    );
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let none = agreement(
        &mut mock,
        BUYER,
        false,
        "ListBillingAdjustmentRequests",
        json!({}),
    );
    assert!(none.body["items"].as_array().unwrap().is_empty());

    // The credit memo, and what the invoice may still be credited.
    let memos = groups(&mut mock, &id, json!({"invoiceType": "CREDIT_MEMO"}));
    assert_eq!(memos.len(), 1);
    assert_eq!(
        (amount_of(&memos[0]), &memos[0]["invoiceBillingPeriod"]),
        ("50.00", &json!({"month": 3, "year": 2026}))
    );
    assert!(memos[0]["pricingCurrencyAmount"]
        .get("maxAdjustmentAmount")
        .is_none());
    let original = groups(&mut mock, &id, json!({ "invoiceId": upfront }));
    assert_eq!(
        original[0]["pricingCurrencyAmount"]["maxAdjustmentAmount"],
        "150.00"
    );

    // The month's bill preview comes to its invoices less its credit memos.
    let march = groups(
        &mut mock,
        &id,
        json!({"invoiceBillingPeriod": {"month": 3, "year": 2026}}),
    );
    let invoiced: i64 = march
        .iter()
        .map(|g| match g["invoiceType"].as_str() {
            Some("CREDIT_MEMO") => -cents(amount_of(g)),
            _ => cents(amount_of(g)),
        })
        .sum();
    let bill = mock.control("GET", "/bill?month=2026-03", None).body;
    let customer = &bill["customers"][0];
    assert_eq!(customer["agreementId"], json!(id));
    assert_eq!(
        (&customer["usageCharge"], &customer["charge"]),
        (&json!("2.50"), &json!("452.50")),
        "{bill}"
    );
    assert_eq!(cents(bill["charge"].as_str().unwrap()), invoiced);
    assert_eq!(customer["charges"].as_array().unwrap().len(), 2);
    assert_eq!(customer["credits"][0]["invoiceId"], upfront);

    // The seller's webhooks hear of both adjustments.
    let events = mock.control("GET", "/events", None).body["events"].clone();
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("billing-adjustment"))
        .collect();
    assert_eq!(
        kinds,
        ["billing-adjustment-completed", "billing-adjustment-failed"]
    );
}

#[test]
fn adjustments_and_invoice_lists_are_checked() {
    let (mut mock, id, _) = world();
    let none = adjust(&mut mock, SELLER, json!([]));
    assert_eq!(none.body["reason"], "MISSING_BILLING_ADJUSTMENTS");
    let upfront = groups(&mut mock, &id, json!({}))[0]["invoiceId"].clone();
    let two = adjust(
        &mut mock,
        SELLER,
        json!([
            entry(&id, &upfront, "1", "a"),
            entry("agmt-other", &upfront, "1", "b")
        ]),
    );
    assert_eq!(two.body["reason"], "MULTIPLE_AGREEMENT_IDS");
    let many: Vec<Value> = (0..26)
        .map(|n| entry(&id, &upfront, "1", &format!("t{n}")))
        .collect();
    assert_eq!(
        adjust(&mut mock, SELLER, json!(many)).body["reason"],
        "BILLING_ADJUSTMENTS_LIMIT_EXCEEDED"
    );
    // An agreement the caller is no party to: each entry is not found.
    let strange = adjust(&mut mock, STRANGER, json!([entry(&id, &upfront, "1", "s")]));
    assert_eq!(
        strange.body["errors"][0]["code"],
        "RESOURCE_NOT_FOUND_EXCEPTION"
    );
    // A credit memo is not adjusted again.
    set_clock(&mut mock, "2026-03-06T00:00:00Z");
    let first = adjust(&mut mock, SELLER, json!([entry(&id, &upfront, "1", "m")]));
    assert_eq!(first.body["items"].as_array().unwrap().len(), 1);
    let memo =
        groups(&mut mock, &id, json!({"invoiceType": "CREDIT_MEMO"}))[0]["invoiceId"].clone();
    let again = adjust(&mut mock, SELLER, json!([entry(&id, &memo, "1", "m2")]));
    assert_eq!(again.body["errors"][0]["code"], "VALIDATION_EXCEPTION");

    // Only the proposer lists invoices; a stranger finds no agreement.
    let input = json!({"agreementId": id, "groupBy": "INVOICE_ID"});
    assert_eq!(
        invoices(&mut mock, BUYER, input.clone()).error_name(),
        "AccessDeniedException"
    );
    assert_eq!(
        invoices(&mut mock, STRANGER, input).error_name(),
        "ResourceNotFoundException"
    );
    // Issued-time filters and a period with nothing.
    assert!(groups(
        &mut mock,
        &id,
        json!({"invoiceBillingPeriod": {"month": 4, "year": 2026}})
    )
    .is_empty());
    let after = groups(
        &mut mock,
        &id,
        json!({ "afterIssuedTime": secs("2026-03-05T00:00:00Z") }),
    );
    assert_eq!(after.len(), 1, "{after:?}");
    let before = groups(
        &mut mock,
        &id,
        json!({ "beforeIssuedTime": secs("2026-03-05T00:00:01Z") }),
    );
    assert_eq!(before.len(), 1, "{before:?}");
}

#[test]
fn usage_is_invoiced_for_each_month_a_clock_jump_passes() {
    let (mut mock, id, license) = world();
    meter(&mut mock, &license, 4, "2026-03-20T00:00:00Z");
    meter(&mut mock, &license, 8, "2026-04-20T00:00:00Z");
    set_clock(&mut mock, "2026-07-15T00:00:00Z");
    let usage: Vec<(String, Value)> = groups(&mut mock, &id, json!({}))
        .iter()
        .filter(|g| amount_of(g) != "200.00")
        .map(|g| {
            (
                amount_of(g).to_string(),
                g["invoiceBillingPeriod"]["month"].clone(),
            )
        })
        .collect();
    // April's 2.00 and March's 1.00; May and June had no usage, so no invoice.
    assert_eq!(
        usage,
        [
            ("2.00".to_string(), json!(4)),
            ("1.00".to_string(), json!(3))
        ]
    );
}

#[test]
fn usage_is_invoiced_when_the_windows_the_settings_give_close() {
    let (mut mock, id, license) = world();
    // Without the month-end rule, BatchMeterUsage takes March's usage for 24 hours more.
    let patched = mock.control(
        "PATCH",
        "/settings",
        Some(json!({ "monthEndGraceSeconds": null })),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    set_clock(&mut mock, "2026-04-01T20:00:00Z");
    let late = mock.call_as(
        SELLER,
        "us-east-1",
        "BatchMeterUsage",
        json!({"ProductCode": "saas", "UsageRecords": [{"Timestamp": secs("2026-03-31T23:00:00Z"),
            "CustomerAWSAccountId": BUYER, "LicenseArn": license, "Dimension": "users", "Quantity": 4}]}),
    );
    assert_eq!(
        late.body["Results"][0]["Status"], "Success",
        "{}",
        late.body
    );
    assert_eq!(groups(&mut mock, &id, json!({})).len(), 1);
    set_clock(&mut mock, "2026-04-02T00:00:00Z");
    let listed = groups(&mut mock, &id, json!({}));
    assert_eq!(amount_of(&listed[0]), "1.00", "{listed:?}");
    assert_eq!(listed[0]["issuedTime"], secs("2026-04-02T00:00:00Z"));
}

#[test]
fn an_invoiced_month_previews_its_invoice_and_agreements_listed_by_hand_are_invoiced_too() {
    let (mut mock, id, license) = world();
    meter(&mut mock, &license, 10, "2026-03-20T00:00:00Z");
    set_clock(&mut mock, "2026-04-02T00:00:00Z");
    // The private offer's price doubles after March was invoiced: the preview of March keeps
    // what its invoice billed, its lines show today's arithmetic.
    let mut product = mock.control("GET", "/products/saas", None).body["product"].clone();
    product["privateOffers"][0]["prices"] = json!({"users": "0.50"});
    let put = mock.control("POST", "/products", Some(product));
    assert_eq!(put.status, 200, "{}", put.body);
    let bill = mock.control("GET", "/bill?month=2026-03", None).body;
    let customer = &bill["customers"][0];
    assert_eq!(customer["lines"][0]["charge"], "5.00", "{bill}");
    assert_eq!(customer["usageCharge"], "2.50", "{bill}");
    let usage = groups(&mut mock, &id, json!({"invoiceType": "INVOICE"}))
        .into_iter()
        .find(|g| amount_of(g) == "2.50")
        .unwrap();
    assert_eq!(customer["usageInvoiceId"], usage["invoiceId"]);

    // A customer listed without an acceptance is an agreement invoiced from the current month.
    let mut mock = Mock::new();
    mock.add_product(json!({
        "productCode": "listed", "dimensions": ["users"], "prices": {"users": "1"},
        "integration": "concurrent-agreements", "sellerAccountId": SELLER,
        "customers": [{"customerAWSAccountId": BUYER,
                       "licenseArn": "arn:aws:license-manager::999988887777:license:l-00000000000000000000000000000001"}],
    }));
    let listed = mock.control("GET", "/agreements", None).body;
    let agreement_id = listed["agreements"][0]["agreementId"]
        .as_str()
        .unwrap()
        .to_string();
    set_clock(&mut mock, "2026-05-10T00:00:00Z");
    let answer = mock.call_as(
        SELLER,
        "us-east-1",
        "BatchMeterUsage",
        json!({"ProductCode": "listed", "UsageRecords": [{"Timestamp": secs("2026-05-10T00:00:00Z"),
            "CustomerAWSAccountId": BUYER, "LicenseArn": "arn:aws:license-manager::999988887777:license:l-00000000000000000000000000000001",
            "Dimension": "users", "Quantity": 3}]}),
    );
    assert_eq!(
        answer.body["Results"][0]["Status"], "Success",
        "{}",
        answer.body
    );
    set_clock(&mut mock, "2026-06-01T06:00:00Z");
    let listed = groups(&mut mock, &agreement_id, json!({}));
    assert_eq!(
        listed.iter().map(amount_of).collect::<Vec<_>>(),
        ["3.00"],
        "{listed:?}"
    );
}

#[test]
fn a_whole_batch_retried_answers_the_same_requests_and_credits_once() {
    let (mut mock, id, _) = world();
    let upfront = groups(&mut mock, &id, json!({}))[0]["invoiceId"].clone();
    let entries = json!([
        entry(&id, &upfront, "5.00", "retry-a"),
        entry(&id, &upfront, "7.00", "retry-b")
    ]);
    let first = adjust(&mut mock, SELLER, entries.clone());
    assert_eq!(first.status, 200, "{}", first.body);
    let ids = |a: &Answer| -> Vec<String> {
        a.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                i["billingAdjustmentRequestId"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(ids(&first).len(), 2);
    let again = adjust(&mut mock, SELLER, entries);
    assert_eq!(ids(&again), ids(&first));
    assert!(again.body["errors"].as_array().is_none_or(Vec::is_empty));
    let memos = groups(&mut mock, &id, json!({"invoiceType": "CREDIT_MEMO"}));
    assert_eq!(memos.len(), 2, "{memos:?}");
    // One entry changed under its token: that entry conflicts, the other is a retry.
    let changed = adjust(
        &mut mock,
        SELLER,
        json!([
            entry(&id, &upfront, "5.00", "retry-a"),
            entry(&id, &upfront, "9.00", "retry-b")
        ]),
    );
    assert_eq!(changed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(changed.body["errors"][0]["code"], "CONFLICT_EXCEPTION");
    assert_eq!(
        groups(&mut mock, &id, json!({"invoiceType": "CREDIT_MEMO"})).len(),
        2
    );
}
