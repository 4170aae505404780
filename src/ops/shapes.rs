//! Decoding of the shapes MeterUsage and BatchMeterUsage share: quantities (integer or
//! decimal) and usage allocations with their tags, plus the echo of a usage record.

use serde_json::{json, Map, Value};

use crate::domain::allocation::{
    Allocation, QuantityForm, Tag, MAX_ALLOCATIONS, MAX_TAGS_PER_ALLOCATION,
};
use crate::domain::constraints::{aws_len, is_product_code, Violations, PRODUCT_CODE_PATTERN};
use crate::domain::quantity::{Quantity, DECIMAL_PATTERN, MAX_INTEGER_QUANTITY};
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::protocol::json::{element_path, structure_element, Member, Structure};

/// Records in one BatchMeterUsage request (the model's maximum).
pub const MAX_BATCH_RECORDS: usize = 25;

/// Reads a quantity given as `int_member` or `decimal_member` (never both); range and
/// pattern violations are collected, and the quantity then reads as 0.
pub fn quantity(
    s: &Structure<'_>,
    int_member: &str,
    decimal_member: &str,
    v: &mut Violations,
) -> Result<(Quantity, QuantityForm), ServiceError> {
    let int = s.integer(int_member)?;
    let decimal = s.string(decimal_member)?;
    match (int, decimal) {
        (Some(_), Some(d)) => {
            v.rule(
                &d.path,
                &format!("Only one of {int_member} and {decimal_member} may be set"),
            );
            Ok((Quantity::ZERO, QuantityForm::Omitted))
        }
        (Some(i), None) => match Quantity::from_integer(i.value) {
            Some(q) => Ok((q, QuantityForm::Integer)),
            None => {
                v.range(i.value, &i.path, 0, MAX_INTEGER_QUANTITY);
                Ok((Quantity::ZERO, QuantityForm::Integer))
            }
        },
        (None, Some(d)) => {
            let parsed = Quantity::parse_decimal(d.value);
            if (1..=17).contains(&aws_len(d.value)) {
                v.pattern(d.value, &d.path, parsed.is_some(), DECIMAL_PATTERN);
            } else {
                v.length(d.value, &d.path, 1, Some(17));
            }
            Ok((parsed.unwrap_or_default(), QuantityForm::Decimal))
        }
        (None, None) => Ok((Quantity::ZERO, QuantityForm::Omitted)),
    }
}

/// Reads `UsageAllocations` (structure only; the allocation rules run later).
pub fn allocations(
    s: &Structure<'_>,
    v: &mut Violations,
) -> Result<Option<(Vec<Allocation>, String)>, ServiceError> {
    let Some(list) = s.list("UsageAllocations")? else {
        return Ok(None);
    };
    // One element past the limit is enough for the count rule to fire; the rest of an
    // oversized list is not read at all.
    let mut out = Vec::new();
    for (i, item) in list.value.iter().enumerate().take(MAX_ALLOCATIONS + 1) {
        let path = element_path(&list.path, i);
        let a = structure_element(item, &path)?;
        let (q, form) = quantity(
            &a,
            "AllocatedUsageQuantity",
            "AllocatedUsageQuantityAsDecimal",
            v,
        )?;
        let present = form != QuantityForm::Omitted;
        out.push(Allocation {
            quantity: present.then_some(q),
            form,
            tags: tags(&a, v)?,
        });
    }
    Ok(Some((out, list.path)))
}

fn tags(a: &Structure<'_>, v: &mut Violations) -> Result<Option<Vec<Tag>>, ServiceError> {
    let Some(list) = a.list("Tags")? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (i, item) in list
        .value
        .iter()
        .enumerate()
        .take(MAX_TAGS_PER_ALLOCATION + 1)
    {
        let path = element_path(&list.path, i);
        let t = structure_element(item, &path)?;
        let key = t.string("Key")?;
        let value = t.string("Value")?;
        if key.is_none() {
            v.missing(&t.path_of("Key"));
        }
        if value.is_none() {
            v.missing(&t.path_of("Value"));
        }
        out.push(Tag {
            key: key.map(|k| k.value.to_string()).unwrap_or_default(),
            value: value.map(|k| k.value.to_string()).unwrap_or_default(),
        });
    }
    Ok(Some(out))
}

/// The `ProductCode` shape's constraints.
pub fn check_product_code(p: &Member<&str>, v: &mut Violations) {
    v.length(p.value, &p.path, 0, Some(255));
    v.pattern(
        p.value,
        &p.path,
        is_product_code(p.value),
        PRODUCT_CODE_PATTERN,
    );
}

/// Reads the required `ProductCode` member and checks its constraints.
pub fn required_product_code<'a>(
    s: &Structure<'a>,
    v: &mut Violations,
) -> Result<Option<Member<&'a str>>, ServiceError> {
    let product = required_string(s, "ProductCode", v)?;
    if let Some(p) = &product {
        check_product_code(p, v);
    }
    Ok(product)
}

/// Reads a required string member, collecting "must not be null" when it is absent.
pub fn required_string<'a>(
    s: &Structure<'a>,
    member: &str,
    v: &mut Violations,
) -> Result<Option<Member<&'a str>>, ServiceError> {
    let value = s.string(member)?;
    if value.is_none() {
        v.missing(&s.path_of(member));
    }
    Ok(value)
}

/// The members of a `UsageRecord`, `UsageAllocation` and `Tag`, in model order.
const RECORD_MEMBERS: [&str; 8] = [
    "Timestamp",
    "CustomerIdentifier",
    "Dimension",
    "Quantity",
    "QuantityAsDecimal",
    "UsageAllocations",
    "CustomerAWSAccountId",
    "LicenseArn",
];
const ALLOCATION_MEMBERS: [&str; 3] = [
    "AllocatedUsageQuantity",
    "AllocatedUsageQuantityAsDecimal",
    "Tags",
];
const TAG_MEMBERS: [&str; 2] = ["Key", "Value"];

fn keep(
    map: &Map<String, Value>,
    members: &[&str],
    nested: impl Fn(&str, &Value) -> Value,
) -> Value {
    let mut out = Map::new();
    for &m in members {
        if let Some(value) = map.get(m).filter(|v| !v.is_null()) {
            out.insert(m.to_string(), nested(m, value));
        }
    }
    Value::Object(out)
}

fn each(value: &Value, f: impl Fn(&Map<String, Value>) -> Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| i.as_object().map(&f).unwrap_or(Value::Null))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A usage record as the client sent it (timestamps as the same number), limited to the
/// model's members, for `Results[].UsageRecord`.
pub fn echo_record(record: &Map<String, Value>) -> Value {
    keep(record, &RECORD_MEMBERS, |m, v| match m {
        "UsageAllocations" => each(v, |a| {
            keep(a, &ALLOCATION_MEMBERS, |m, v| match m {
                "Tags" => each(v, |t| keep(t, &TAG_MEMBERS, |_, v| v.clone())),
                _ => v.clone(),
            })
        }),
        _ => v.clone(),
    })
}

/// A customer as the outputs name it (ResolveCustomer's answer, an `Entitlement`): each of
/// its names only when it has that name. Flattened into the output that carries it.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomerNames<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_identifier: Option<&'a str>,
    #[serde(
        rename = "CustomerAWSAccountId",
        skip_serializing_if = "Option::is_none"
    )]
    pub customer_aws_account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_arn: Option<&'a str>,
}

/// An operation's answer as the JSON the front doors encode (the outputs are `Serialize`
/// structs named after the model's shapes; tests/model_outputs.rs holds them to the models).
pub fn output(result: impl serde::Serialize) -> Result<Value, ServiceError> {
    serde_json::to_value(result).map_err(ServiceError::internal)
}

/// A timestamp of an output as awsJson1_1 writes it: epoch seconds, whole when it can be.
pub fn epoch_seconds(at: Instant) -> Value {
    if at.millis() % 1000 == 0 {
        json!(at.millis() / 1000)
    } else {
        json!(at.epoch_seconds())
    }
}
