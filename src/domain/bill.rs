//! The bill preview: what a month's metered usage would cost each buyer, per product,
//! customer and dimension, in exact decimals. A dimension's price is per unit (USD); a
//! customer's contract entitlement of a dimension covers that many units of the month; a
//! free-trial customer's usage is covered whole. Amounts are exact, and also rounded half up
//! to the cent per line, as an invoice shows them. An agreement's charges made in the month
//! (upfront prices, approved payment requests) are added, and the credit memos against the
//! month's invoices taken off, so a customer's `charge` is what its month's invoices come to.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Serialize;

use super::catalogue::{Customer, Integration, PrivateOffer, Product};
pub use super::decimal::Decimal;
use super::entitlement::EntitlementValue;
use super::invoice::{period_of, Invoice, Invoices};
use super::quantity::{Price, Quantity};
use super::time::Instant;

/// Millionths of a unit (quantities and prices alike have six fraction digits).
const MICROS: u128 = 1_000_000;

/// The metered total of one (product, customer, dimension) over a time range, as a store
/// sums its ledger.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageTotal {
    pub product_code: String,
    pub customer_identifier: Option<String>,
    pub customer_aws_account_id: Option<String>,
    pub license_arn: Option<String>,
    pub dimension: String,
    /// The exact sum, in millionths of a unit.
    pub micros: u128,
    pub records: usize,
}

/// One dimension of one customer's month.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillLine {
    pub dimension: String,
    pub metered: Decimal,
    /// Covered by the customer's contract entitlement (or its free trial).
    pub covered: Decimal,
    pub billable: Decimal,
    /// `None`: the product has no price for the dimension (the line has no amount).
    pub unit_price: Option<String>,
    pub amount: Option<Decimal>,
    /// `amount` rounded half up to the cent.
    pub charge: Option<Decimal>,
    /// How many ledger records the metered quantity sums.
    pub records: usize,
}

/// One customer of one product in the month.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerBill {
    pub product_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_identifier: Option<String>,
    #[serde(
        rename = "customerAWSAccountId",
        skip_serializing_if = "Option::is_none"
    )]
    pub customer_aws_account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_arn: Option<String>,
    /// Whether the product lists this customer (usage of a wildcard caller is nobody's).
    pub known_customer: bool,
    pub free_trial: bool,
    /// The agreement the usage is invoiced to (a concurrent-agreements customer's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement_id: Option<String>,
    pub lines: Vec<BillLine>,
    /// The sum of the lines' charges; in a month whose usage is invoiced, the agreement's
    /// usage invoice's amount.
    pub usage_charge: Decimal,
    /// The agreement's usage invoice of the month, once issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_invoice_id: Option<String>,
    /// The agreement's charges made in the month, each invoiced when it was made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub charges: Vec<BillCharge>,
    /// The credit memos against the month's invoices.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub credits: Vec<BillCredit>,
    /// The usage charge and the charges, less the credits.
    pub charge: Decimal,
}

/// A charge of an agreement in the month (`ListAgreementCharges`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillCharge {
    pub agreement_id: String,
    pub charge_id: String,
    pub at: String,
    pub amount: Decimal,
    pub invoice_id: String,
}

/// A credit memo against one of the month's invoices.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillCredit {
    pub agreement_id: String,
    pub credit_memo_id: String,
    pub invoice_id: String,
    pub amount: Decimal,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bill {
    /// `YYYY-MM`.
    pub month: String,
    pub currency: &'static str,
    pub customers: Vec<CustomerBill>,
    /// The sum of every customer's charge.
    pub charge: Decimal,
}

/// The usage prices of `customer`: those of the private offer it accepted, else the
/// product's (its public offer's).
fn prices_of<'a>(product: &'a Product, customer: Option<&Customer>) -> &'a BTreeMap<String, Price> {
    let private = customer
        .and_then(|c| c.offer_identifier.as_deref())
        .and_then(|id| PrivateOffer::find(product, id));
    private.map_or(&product.prices, |offer| &offer.prices)
}

/// The bill of the month starting at `month_start` from the ledger's totals of that month;
/// an error when an amount is beyond exact arithmetic (a quantity near 10^16 units at a
/// price near 10^10 dollars, many times over).
pub fn bill(
    month: &str,
    totals: &[UsageTotal],
    products: &[Rc<Product>],
    month_start: Instant,
) -> Result<Bill, String> {
    let by_code: BTreeMap<&str, &Product> =
        products.iter().map(|p| (&*p.product_code, &**p)).collect();
    let mut customers = Vec::new();
    for ((product_code, who), lines) in grouped(totals, &by_code) {
        let product = by_code.get(product_code.as_str()).copied();
        let customer = match who {
            Who::Known(i) => product.and_then(|p| p.customers.get(i)),
            Who::Unknown(..) => None,
        };
        let (identifier, account, license) = who.names(customer);
        let free_trial = customer.is_some_and(|c| c.free_trial);
        let mut bill_lines = Vec::new();
        for (dimension, (metered, records)) in lines {
            let entitled = match customer {
                Some(c) if trial_frees_all(product, c, &dimension, month_start) => metered,
                Some(c) => entitled_micros(c, &dimension, month_start),
                None => 0,
            };
            let price = product.and_then(|p| prices_of(p, customer).get(dimension.as_str()));
            let line = bill_line(
                &product_code,
                dimension,
                (metered, records),
                entitled,
                price,
            )?;
            bill_lines.push(line);
        }
        let charge = bill_lines
            .iter()
            .filter_map(|l| l.charge)
            .fold(Decimal::zero_cents(), Decimal::plus);
        let concurrent =
            product.is_some_and(|p| p.integration == Integration::ConcurrentAgreements);
        customers.push(CustomerBill {
            product_code,
            customer_identifier: identifier,
            customer_aws_account_id: account,
            license_arn: license,
            known_customer: customer.is_some(),
            free_trial,
            agreement_id: customer
                .filter(|_| concurrent)
                .and_then(super::agreement::agreement_id),
            lines: bill_lines,
            usage_charge: charge,
            usage_invoice_id: None,
            charges: Vec::new(),
            credits: Vec::new(),
            charge,
        });
    }
    let charge = customers
        .iter()
        .map(|c| c.charge)
        .fold(Decimal::zero_cents(), Decimal::plus);
    Ok(Bill {
        month: month.to_string(),
        currency: "USD",
        customers,
        charge,
    })
}

/// Adds to `bill` (of `month`, `YYYY-MM`) each agreement's charges made in the month and
/// the credit memos (of `invoices`) against the month's invoices, each on its customer's
/// bill (a customer without usage that month gets one), and totals it again. In a month whose
/// usage is invoiced, an agreement's usage charge is its usage invoice's: what the month's
/// invoices come to, whatever changed since.
pub fn add_agreement_charges(bill: &mut Bill, products: &[Rc<Product>], invoices: &Invoices) {
    let month = bill.month.clone();
    if invoices.is_invoiced(&month) {
        for b in bill
            .customers
            .iter_mut()
            .filter(|b| b.agreement_id.is_some())
        {
            // The usage invoice of any agreement of the license (a renewal or replacement
            // since moved it on); none issued (0.00 then, or forgotten): nothing.
            let customer = products
                .iter()
                .find(|p| *p.product_code == *b.product_code)
                .and_then(|p| {
                    p.customers
                        .iter()
                        .find(|c| super::agreement::agreement_id(c) == b.agreement_id)
                });
            let chain: Vec<String> = customer
                .map(|c| {
                    c.previous_agreements
                        .iter()
                        .map(|p| p.agreement_id.to_string())
                        .collect()
                })
                .unwrap_or_default();
            let invoiced = b
                .agreement_id
                .iter()
                .chain(&chain)
                .find_map(|id| invoices.usage_of(id, &month));
            b.usage_charge = Decimal::of_cents(invoiced.map_or(0, Invoice::cents));
            b.charge = b.usage_charge;
            b.usage_invoice_id = invoiced.map(|i| i.id.clone());
        }
    }
    for product in products {
        if product.integration != Integration::ConcurrentAgreements {
            continue;
        }
        for customer in product.customers.iter() {
            let Some(current) = super::agreement::agreement_id(customer) else {
                continue;
            };
            // The license's agreements: those it renewed or replaced, and the current one.
            let agreements: Vec<(String, &[super::contract::Charge])> = customer
                .previous_agreements
                .iter()
                .map(|p| (p.agreement_id.to_string(), p.charges.as_slice()))
                .chain(std::iter::once((
                    current.clone(),
                    customer.charges.as_slice(),
                )))
                .collect();
            let mut charges = Vec::new();
            for (agreement_id, list) in &agreements {
                for charge in list.iter().filter(|c| period_of(c.at) == month) {
                    let invoice = Invoice::of_charge(agreement_id, charge);
                    charges.push(BillCharge {
                        agreement_id: agreement_id.clone(),
                        charge_id: charge.id.clone(),
                        at: charge.at.to_rfc3339(),
                        amount: Decimal::of_cents(charge.cents().unwrap_or_default()),
                        invoice_id: invoice.id,
                    });
                }
            }
            let credits: Vec<BillCredit> = invoices
                .credit_memos
                .iter()
                .filter(|i| i.period == month)
                .filter(|i| agreements.iter().any(|(id, _)| *id == i.agreement_id))
                .map(|i| BillCredit {
                    agreement_id: i.agreement_id.clone(),
                    credit_memo_id: i.id.clone(),
                    invoice_id: i.original_invoice_id.clone().unwrap_or_default(),
                    amount: Decimal::of_cents(i.cents()),
                })
                .collect();
            if charges.is_empty() && credits.is_empty() {
                continue;
            }
            let license = customer.license_arn.as_ref().map(|l| l.to_string());
            let found = bill.customers.iter().position(|b| {
                b.product_code == *product.product_code
                    && b.known_customer
                    && b.agreement_id.as_deref() == Some(current.as_str())
                    && b.license_arn == license
            });
            let i = match found {
                Some(i) => i,
                None => {
                    bill.customers.push(CustomerBill {
                        product_code: product.product_code.to_string(),
                        customer_identifier: customer
                            .customer_identifier
                            .as_ref()
                            .map(|x| x.to_string()),
                        customer_aws_account_id: customer
                            .customer_aws_account_id
                            .as_ref()
                            .map(|x| x.to_string()),
                        license_arn: license,
                        known_customer: true,
                        free_trial: customer.free_trial,
                        agreement_id: Some(current.clone()),
                        lines: Vec::new(),
                        usage_charge: Decimal::zero_cents(),
                        usage_invoice_id: None,
                        charges: Vec::new(),
                        credits: Vec::new(),
                        charge: Decimal::zero_cents(),
                    });
                    bill.customers.len() - 1
                }
            };
            let b = &mut bill.customers[i];
            b.charges = charges;
            b.credits = credits;
            let charged = b
                .charges
                .iter()
                .map(|c| c.amount)
                .fold(b.usage_charge, Decimal::plus);
            let credited = b
                .credits
                .iter()
                .map(|c| c.amount)
                .fold(Decimal::zero_cents(), Decimal::plus);
            b.charge = charged.minus(credited);
        }
    }
    bill.charge = bill
        .customers
        .iter()
        .map(|c| c.charge)
        .fold(Decimal::zero_cents(), Decimal::plus);
}

/// Metered millionths and record counts per (product, customer) and dimension. Rows are
/// grouped by the catalogue customer they resolve to, not by the names on them: one
/// customer's BatchMeterUsage rows carry its identifier and its MeterUsage rows only its
/// account, and its entitlements must cover their sum once.
#[allow(clippy::type_complexity)]
fn grouped(
    totals: &[UsageTotal],
    by_code: &BTreeMap<&str, &Product>,
) -> BTreeMap<(String, Who), BTreeMap<String, (u128, usize)>> {
    let mut grouped: BTreeMap<(String, Who), BTreeMap<String, (u128, usize)>> = BTreeMap::new();
    for t in totals {
        let product = by_code.get(t.product_code.as_str()).copied();
        let (identifier, account, license) = (
            t.customer_identifier.as_deref(),
            t.customer_aws_account_id.as_deref(),
            t.license_arn.as_deref(),
        );
        let who = product
            .and_then(|p| customer_index(p, identifier, account, license))
            .map_or_else(
                || {
                    Who::Unknown(
                        t.customer_identifier.clone(),
                        t.customer_aws_account_id.clone(),
                        t.license_arn.clone(),
                    )
                },
                Who::Known,
            );
        let line = grouped
            .entry((t.product_code.clone(), who))
            .or_default()
            .entry(t.dimension.clone())
            .or_default();
        line.0 += t.micros;
        line.1 += t.records;
    }
    grouped
}

/// One dimension's line: what the entitlements cover is free, the rest priced (when the
/// product has a price for it).
fn bill_line(
    product_code: &str,
    dimension: String,
    (metered, records): (u128, usize),
    entitled: u128,
    price: Option<&Price>,
) -> Result<BillLine, String> {
    let covered = metered.min(entitled);
    let billable = metered - covered;
    let amount = match price {
        Some(p) => Some(Decimal::amount(
            billable
                .checked_mul(u128::from(p.micros()))
                .ok_or_else(|| {
                    format!(
                    "{dimension} of {product_code}: {} units at {p} are too large to price exactly",
                    Decimal::quantity(billable)
                )
                })?,
        )),
        None => None,
    };
    Ok(BillLine {
        dimension,
        metered: Decimal::quantity(metered),
        covered: Decimal::quantity(covered),
        billable: Decimal::quantity(billable),
        unit_price: price.map(|p| p.to_string()),
        amount,
        charge: amount.map(Decimal::cents),
        records,
    })
}

/// Whom a ledger row's usage is billed to: a customer of the catalogue (by its place in the
/// product's list), or the names on the row when they are no customer's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Known(usize),
    Unknown(Option<String>, Option<String>, Option<String>),
}

impl Who {
    /// The names a customer's bill carries: the catalogue's, or the row's for one it lacks.
    fn names(
        &self,
        customer: Option<&Customer>,
    ) -> (Option<String>, Option<String>, Option<String>) {
        match (self, customer) {
            (_, Some(c)) => (
                c.customer_identifier.as_ref().map(|x| x.to_string()),
                c.customer_aws_account_id.as_ref().map(|x| x.to_string()),
                c.license_arn.as_ref().map(|x| x.to_string()),
            ),
            (Who::Unknown(i, a, l), None) => (i.clone(), a.clone(), l.clone()),
            (Who::Known(_), None) => (None, None, None),
        }
    }
}

/// The product's customer the ledger's names point at: by license, else identifier, else
/// account (the way each integration keys its usage).
fn customer_index(
    product: &Product,
    identifier: Option<&str>,
    account: Option<&str>,
    license: Option<&str>,
) -> Option<usize> {
    let customers = &product.customers;
    if let Some(license) = license {
        return customers
            .iter()
            .position(|c| c.license_arn.as_deref() == Some(license));
    }
    if let Some(identifier) = identifier {
        return customers
            .iter()
            .position(|c| c.customer_identifier.as_deref() == Some(identifier));
    }
    let account = account?;
    customers
        .iter()
        .position(|c| c.customer_aws_account_id.as_deref() == Some(account))
}

/// Whether a free trial leaves all of `dimension`'s usage in the month free: a sign-up's
/// free trial (no end) frees everything; an agreement's, the dimensions it grants without a
/// limit, in the months it touches (its limited grants are entitlements).
fn trial_frees_all(
    product: Option<&Product>,
    customer: &Customer,
    dimension: &str,
    month_start: Instant,
) -> bool {
    match customer.trial_ends_at {
        None => customer.free_trial,
        Some(end) => {
            end > month_start
                && product
                    .and_then(|p| p.free_trial.as_ref())
                    .is_some_and(|t| t.frees_all_of(dimension))
        }
    }
}

/// Units of `dimension` the customer's entitlements cover in a month (millionths): every
/// integer or double entitlement of it not expired before the month began, summed.
fn entitled_micros(customer: &Customer, dimension: &str, month_start: Instant) -> u128 {
    customer
        .entitlements
        .iter()
        .filter(|e| e.dimension == dimension)
        .filter(|e| e.expiration_date.is_none_or(|end| end > month_start))
        .map(|e| match e.value {
            EntitlementValue::IntegerValue(n) => u128::try_from(n).unwrap_or(0) * MICROS,
            EntitlementValue::DoubleValue(x) if x.is_finite() && x > 0.0 => {
                // Six decimals, as every quantity here; beyond u64 a contract covers all.
                Quantity::from_micros((x * 1e6).round().min(u64::MAX as f64) as u64).micros()
                    as u128
            }
            _ => 0,
        })
        .sum()
}

/// `YYYY-MM` → the instants its month starts and ends (UTC).
pub fn month_range(text: &str) -> Option<(Instant, Instant)> {
    let (year, month) = text.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    let start = Instant::parse_rfc3339(&format!("{year}-{month}-01T00:00:00Z"))?;
    Some((start, start.next_month_start()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn total(customer: &str, dimension: &str, quantity: &str, records: usize) -> UsageTotal {
        UsageTotal {
            product_code: "p".into(),
            customer_identifier: Some(customer.into()),
            dimension: dimension.into(),
            micros: u128::from(Quantity::parse_decimal(quantity).map_or(0, |q| q.micros())),
            records,
            ..Default::default()
        }
    }

    fn product(value: serde_json::Value) -> Product {
        serde_json::from_value(value).expect("a product")
    }

    /// The bill, which these cases can always compute.
    fn bill(month: &str, totals: &[UsageTotal], products: &[Rc<Product>], start: Instant) -> Bill {
        super::bill(month, totals, products, start).expect("a bill")
    }

    const MARCH: &str = "2026-03-01T00:00:00Z";

    fn march() -> Instant {
        Instant::parse_rfc3339(MARCH).unwrap_or(Instant(0))
    }

    #[test]
    fn amounts_are_exact_and_charges_round_half_up_to_the_cent() {
        let p = product(json!({
            "productCode": "p", "dimensions": ["users", "gb"],
            "prices": {"users": "0.125", "gb": "0.000001"},
            "customers": [{"customerIdentifier": "c1"}]
        }));
        let b = bill(
            "2026-03",
            &[total("c1", "users", "3", 3), total("c1", "gb", "2.5", 1)],
            &[p.into()],
            march(),
        );
        let lines = &b.customers[0].lines;
        // 3 × 0.125 = 0.375 → 0.38 (half up); 2.5 × 0.000001 = 0.0000025 → 0.
        let users = lines.iter().find(|l| l.dimension == "users").unwrap();
        assert_eq!(users.amount.unwrap().to_string(), "0.375");
        assert_eq!(users.charge.unwrap().to_string(), "0.38");
        let gb = lines.iter().find(|l| l.dimension == "gb").unwrap();
        assert_eq!(gb.amount.unwrap().to_string(), "0.0000025");
        assert_eq!(gb.charge.unwrap().to_string(), "0.00");
        assert_eq!(b.charge.to_string(), "0.38");
        assert_eq!(serde_json::to_value(&b).unwrap()["charge"], "0.38");
    }

    #[test]
    fn entitlements_cover_part_of_the_usage_and_expired_ones_none() {
        let p = product(json!({
            "productCode": "p", "dimensions": ["users", "gb"], "prices": {"users": "2", "gb": "1"},
            "customers": [{"customerIdentifier": "c1", "entitlements": [
                {"dimension": "users", "value": {"integerValue": 10}},
                {"dimension": "users", "value": {"doubleValue": 0.5}},
                {"dimension": "gb", "value": {"integerValue": 100}, "expirationDate": "2026-02-28T00:00:00Z"}
            ]}]
        }));
        let b = bill(
            "2026-03",
            &[total("c1", "users", "12", 12), total("c1", "gb", "3", 3)],
            &[p.into()],
            march(),
        );
        let line = |d: &str| {
            b.customers[0]
                .lines
                .iter()
                .find(|l| l.dimension == d)
                .cloned()
                .unwrap()
        };
        let users = line("users");
        assert_eq!(
            (users.covered.to_string(), users.billable.to_string()),
            ("10.5".into(), "1.5".into())
        );
        assert_eq!(users.charge.unwrap().to_string(), "3.00");
        let gb = line("gb");
        assert_eq!(gb.covered.to_string(), "0", "expired before the month");
        assert_eq!(gb.billable.to_string(), "3");
        assert_eq!(b.charge.to_string(), "6.00");
    }

    #[test]
    fn an_entitlement_larger_than_the_usage_covers_it_all_and_a_trial_is_free() {
        let p = product(json!({
            "productCode": "p", "dimensions": ["users"], "prices": {"users": "1"},
            "customers": [
                {"customerIdentifier": "c1", "entitlements": [{"dimension": "users", "value": {"integerValue": 50}}]},
                {"customerIdentifier": "c2", "freeTrial": true}
            ]
        }));
        let b = bill(
            "2026-03",
            &[total("c1", "users", "7", 7), total("c2", "users", "9", 9)],
            &[p.into()],
            march(),
        );
        for c in &b.customers {
            assert_eq!(c.lines[0].billable.to_string(), "0");
            assert_eq!(c.charge.to_string(), "0.00");
        }
        assert!(b.customers[1].free_trial);
    }

    #[test]
    fn unpriced_dimensions_and_unknown_customers_are_shown_without_amounts() {
        let p = product(json!({"productCode": "p", "dimensions": ["users"], "customers": []}));
        let b = bill(
            "2026-03",
            &[total("ghost", "users", "4", 2)],
            &[p.into()],
            march(),
        );
        let c = &b.customers[0];
        assert!(!c.known_customer);
        assert_eq!(c.lines[0].unit_price, None);
        assert_eq!(c.lines[0].amount, None);
        assert_eq!(c.lines[0].metered.to_string(), "4");
        assert_eq!(b.charge.to_string(), "0.00");
    }

    #[test]
    fn large_sums_stay_exact() {
        let p = product(json!({
            "productCode": "p", "dimensions": ["users"], "prices": {"users": "9999999999.999999"},
            "customers": [{"customerIdentifier": "c1"}]
        }));
        let mut t = total("c1", "users", "1", 1);
        t.micros = 200_000 * 2_147_483_647 * MICROS + 1;
        let b = bill("2026-03", &[t], &[p.into()], march());
        assert_eq!(
            b.customers[0].lines[0].metered.to_string(),
            "429496729400000.000001"
        );
        assert_eq!(
            b.customers[0].lines[0].amount.unwrap().to_string(),
            "4294967293999999570513270.599999999999"
        );
    }

    #[test]
    fn an_amount_beyond_exact_arithmetic_is_an_error_not_a_wrong_number() {
        let p = product(json!({
            "productCode": "p", "dimensions": ["users"], "prices": {"users": "9999999999.999999"},
            "customers": [{"customerIdentifier": "c1"}]
        }));
        let mut t = total("c1", "users", "1", 1);
        t.micros = u128::MAX / 1000;
        let refused = super::bill("2026-03", &[t], &[p.into()], march());
        assert!(refused.is_err_and(|e| e.contains("too large to price exactly")));
    }

    #[test]
    fn months_are_read_exactly() {
        let (start, end) = month_range("2024-02").unwrap();
        assert_eq!(start.to_rfc3339(), "2024-02-01T00:00:00Z");
        assert_eq!(end.to_rfc3339(), "2024-03-01T00:00:00Z");
        let (_, december_end) = month_range("2026-12").unwrap();
        assert_eq!(december_end.to_rfc3339(), "2027-01-01T00:00:00Z");
        for bad in [
            "2026-13", "2026-1", "26-01", "2026/01", "", "2026-00", "abcd-ef",
        ] {
            assert!(month_range(bad).is_none(), "{bad}");
        }
    }
}
