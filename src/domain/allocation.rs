//! Usage allocations and their tags: the rules that tie a record's quantity to its
//! allocations (exact sums, one quantity type, unique tag sets) and the tag rules.
//!
//! Layer: domain. Tag problems are `InvalidTagException`, allocation problems
//! `InvalidUsageAllocationsException`, as the model documents them.

use std::collections::BTreeSet;

use super::constraints::{aws_len, TagCharset};
use super::quantity::Quantity;
use crate::error::{err, ErrorKind, ServiceError};

/// Model limits of `UsageAllocations`, `TagList`, `TagKey` and `TagValue`.
pub const MAX_ALLOCATIONS: usize = 2500;
pub const MAX_TAGS_PER_ALLOCATION: usize = 5;
const TAG_KEY_MAX: usize = 100;
const TAG_VALUE_MAX: usize = 256;

/// Which member carried a quantity: the deprecated integer one or the decimal string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantityForm {
    Integer,
    Decimal,
    /// Neither member was sent: the quantity defaults to 0.
    Omitted,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// One allocation as received (structure already valid; rules not yet checked).
#[derive(Clone, Debug, PartialEq)]
pub struct Allocation {
    /// `None` when the allocation names neither quantity member.
    pub quantity: Option<Quantity>,
    pub form: QuantityForm,
    /// `None` when the `Tags` member is absent.
    pub tags: Option<Vec<Tag>>,
}

/// The namespace settings that shape the tag rules.
#[derive(Clone, Copy, Debug)]
pub struct TagRules {
    pub charset: TagCharset,
    pub max_distinct_keys_per_record: usize,
}

/// Checks every allocation rule of one record; `path` names the allocations list.
pub fn check_allocations(
    record_quantity: Quantity,
    record_form: QuantityForm,
    allocations: &[Allocation],
    path: &str,
    rules: TagRules,
) -> Result<(), ServiceError> {
    if allocations.is_empty() || allocations.len() > MAX_ALLOCATIONS {
        return err(
            ErrorKind::InvalidUsageAllocationsException,
            format!(
                "{path} must have between 1 and {MAX_ALLOCATIONS} allocations, got {}",
                allocations.len()
            ),
        );
    }
    check_tags(allocations, path, rules)?;
    check_quantities(record_form, allocations, path)?;
    check_unique_tag_sets(allocations, path)?;
    let total = Quantity::sum(allocations.iter().filter_map(|a| a.quantity));
    if total != record_quantity.micros() as u128 {
        let shown_total = u64::try_from(total)
            .map(|t| Quantity::from_micros(t).to_string())
            .unwrap_or_else(|_| "more than the maximum".into());
        return Err(ServiceError::phrased(
            ErrorKind::InvalidUsageAllocationsException,
            format!(
                "the allocations in {path} add up to {shown_total}, the usage quantity is {record_quantity}"
            ),
        ));
    }
    Ok(())
}

/// Every allocation has a quantity, of the record's own type (integer or decimal).
fn check_quantities(
    record_form: QuantityForm,
    allocations: &[Allocation],
    path: &str,
) -> Result<(), ServiceError> {
    for (i, allocation) in allocations.iter().enumerate() {
        let Some(_) = allocation.quantity else {
            return err(
                ErrorKind::InvalidUsageAllocationsException,
                format!(
                    "Allocation {} in {path} must set AllocatedUsageQuantity or AllocatedUsageQuantityAsDecimal",
                    i + 1
                ),
            );
        };
        let mixed = matches!(
            (record_form, allocation.form),
            (QuantityForm::Integer, QuantityForm::Decimal)
                | (QuantityForm::Decimal, QuantityForm::Integer)
        );
        if mixed {
            return Err(ServiceError::phrased(
                ErrorKind::InvalidUsageAllocationsException,
                format!(
                    "allocation {} in {path} uses a different quantity type than its record: use AllocatedUsageQuantityAsDecimal with a decimal quantity and AllocatedUsageQuantity with an integer one",
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

/// No two allocations have the same tag set (at most one has none).
fn check_unique_tag_sets(allocations: &[Allocation], path: &str) -> Result<(), ServiceError> {
    let mut tag_sets = BTreeSet::new();
    for (i, allocation) in allocations.iter().enumerate() {
        let set: BTreeSet<&Tag> = allocation.tags.iter().flatten().collect();
        if !tag_sets.insert(set) {
            let what = if allocation.tags.is_none() {
                "more than one allocation has no tags".to_string()
            } else {
                format!(
                    "allocation {} repeats the tag set of an earlier allocation",
                    i + 1
                )
            };
            return err(
                ErrorKind::InvalidUsageAllocationsException,
                format!("Each allocation in {path} must have a unique tag set: {what}"),
            );
        }
    }
    Ok(())
}

fn check_tags(allocations: &[Allocation], path: &str, rules: TagRules) -> Result<(), ServiceError> {
    let mut distinct_keys = BTreeSet::new();
    for (i, allocation) in allocations.iter().enumerate() {
        let Some(tags) = &allocation.tags else {
            continue;
        };
        let n = i + 1;
        if tags.is_empty() || tags.len() > MAX_TAGS_PER_ALLOCATION {
            return Err(ServiceError::phrased(
                ErrorKind::InvalidTagException,
                format!(
                    "allocation {n} in {path} has {} tags; an allocation's Tags must have 1 to {MAX_TAGS_PER_ALLOCATION}",
                    tags.len()
                ),
            ));
        }
        let mut keys = BTreeSet::new();
        for tag in tags {
            check_tag_text(&tag.key, "key", TAG_KEY_MAX, n, path, rules.charset)?;
            check_tag_text(&tag.value, "value", TAG_VALUE_MAX, n, path, rules.charset)?;
            if !keys.insert(tag.key.as_str()) {
                return Err(ServiceError::phrased(
                    ErrorKind::InvalidTagException,
                    format!("allocation {n} in {path} repeats the tag key '{}'", tag.key),
                ));
            }
            distinct_keys.insert(tag.key.as_str());
        }
    }
    if distinct_keys.len() > rules.max_distinct_keys_per_record {
        return Err(ServiceError::phrased(
            ErrorKind::InvalidTagException,
            format!(
                "the allocations in {path} use {} distinct tag keys; at most {} are allowed across a record's allocations",
                distinct_keys.len(),
                rules.max_distinct_keys_per_record
            ),
        ));
    }
    Ok(())
}

fn check_tag_text(
    text: &str,
    what: &str,
    max: usize,
    allocation: usize,
    path: &str,
    charset: TagCharset,
) -> Result<(), ServiceError> {
    let len = aws_len(text);
    if len == 0 || len > max {
        return Err(ServiceError::phrased(
            ErrorKind::InvalidTagException,
            format!("a tag {what} in allocation {allocation} of {path} must have 1 to {max} characters, got {len}"),
        ));
    }
    if let Some(bad) = text.chars().find(|&c| !charset.allows(c)) {
        return Err(ServiceError::phrased(
            ErrorKind::InvalidTagException,
            format!(
                "the tag {what} '{text}' in allocation {allocation} of {path} contains '{bad}', which is not allowed (allowed: {})",
                charset.description()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: TagRules = TagRules {
        charset: TagCharset::Documented,
        max_distinct_keys_per_record: 5,
    };

    fn q(n: i64) -> Quantity {
        Quantity::from_integer(n).unwrap()
    }

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    fn alloc(n: i64, tags: &[(&str, &str)]) -> Allocation {
        Allocation {
            quantity: Some(q(n)),
            form: QuantityForm::Integer,
            tags: (!tags.is_empty()).then(|| tags.iter().map(|(k, v)| tag(k, v)).collect()),
        }
    }

    fn kind(r: Result<(), ServiceError>) -> ErrorKind {
        r.unwrap_err().kind
    }

    #[test]
    fn allocations_must_add_up_exactly() {
        let allocs = [alloc(2, &[("team", "a")]), alloc(3, &[("team", "b")])];
        assert!(check_allocations(q(5), QuantityForm::Integer, &allocs, "p", RULES).is_ok());
        assert_eq!(
            kind(check_allocations(
                q(6),
                QuantityForm::Integer,
                &allocs,
                "p",
                RULES
            )),
            ErrorKind::InvalidUsageAllocationsException
        );
        let decimal = |s: &str, t: &str| Allocation {
            quantity: Quantity::parse_decimal(s),
            form: QuantityForm::Decimal,
            tags: Some(vec![tag("k", t)]),
        };
        let total = Quantity::parse_decimal("0.3").unwrap();
        let allocs = [decimal("0.1", "a"), decimal("0.2", "b")];
        assert!(check_allocations(total, QuantityForm::Decimal, &allocs, "p", RULES).is_ok());
    }

    #[test]
    fn omitted_quantity_means_allocations_must_sum_to_zero() {
        let allocs = [alloc(0, &[])];
        assert!(
            check_allocations(Quantity::ZERO, QuantityForm::Omitted, &allocs, "p", RULES).is_ok()
        );
        let allocs = [alloc(1, &[])];
        assert!(
            check_allocations(Quantity::ZERO, QuantityForm::Omitted, &allocs, "p", RULES).is_err()
        );
    }

    #[test]
    fn quantity_types_may_not_be_mixed() {
        let decimal = Allocation {
            quantity: Some(q(1)),
            form: QuantityForm::Decimal,
            tags: None,
        };
        assert_eq!(
            kind(check_allocations(
                q(1),
                QuantityForm::Integer,
                &[decimal],
                "p",
                RULES
            )),
            ErrorKind::InvalidUsageAllocationsException
        );
        let none = Allocation {
            quantity: None,
            form: QuantityForm::Omitted,
            tags: None,
        };
        assert_eq!(
            kind(check_allocations(
                q(0),
                QuantityForm::Integer,
                &[none],
                "p",
                RULES
            )),
            ErrorKind::InvalidUsageAllocationsException
        );
    }

    #[test]
    fn tag_sets_must_be_unique_and_only_one_allocation_may_be_untagged() {
        let same = [
            alloc(1, &[("a", "1"), ("b", "2")]),
            alloc(1, &[("b", "2"), ("a", "1")]),
        ];
        assert_eq!(
            kind(check_allocations(
                q(2),
                QuantityForm::Integer,
                &same,
                "p",
                RULES
            )),
            ErrorKind::InvalidUsageAllocationsException
        );
        let two_untagged = [alloc(1, &[]), alloc(1, &[])];
        assert_eq!(
            kind(check_allocations(
                q(2),
                QuantityForm::Integer,
                &two_untagged,
                "p",
                RULES
            )),
            ErrorKind::InvalidUsageAllocationsException
        );
        let one_untagged = [alloc(1, &[]), alloc(1, &[("a", "1")])];
        assert!(check_allocations(q(2), QuantityForm::Integer, &one_untagged, "p", RULES).is_ok());
    }

    #[test]
    fn allocation_count_is_1_to_2500() {
        assert_eq!(
            kind(check_allocations(
                q(0),
                QuantityForm::Integer,
                &[],
                "p",
                RULES
            )),
            ErrorKind::InvalidUsageAllocationsException
        );
        let many: Vec<_> = (0..2501)
            .map(|i| alloc(0, &[("n", &i.to_string())]))
            .collect();
        assert_eq!(
            kind(check_allocations(
                q(0),
                QuantityForm::Integer,
                &many,
                "p",
                RULES
            )),
            ErrorKind::InvalidUsageAllocationsException
        );
        assert!(check_allocations(q(0), QuantityForm::Integer, &many[..2500], "p", RULES).is_ok());
    }

    #[test]
    fn tag_count_length_charset_and_repeated_keys_are_tag_errors() {
        let six: Vec<(String, String)> = (0..6).map(|i| (format!("k{i}"), "v".into())).collect();
        let six: Vec<(&str, &str)> = six.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let loose = TagRules {
            max_distinct_keys_per_record: 100,
            ..RULES
        };
        for bad in [
            vec![alloc(1, &six)],
            vec![Allocation {
                tags: Some(vec![]),
                ..alloc(1, &[])
            }],
            vec![alloc(1, &[("", "v")])],
            vec![alloc(1, &[("k", "")])],
            vec![alloc(1, &[(&"k".repeat(101), "v")])],
            vec![alloc(1, &[("k", &"v".repeat(257))])],
            vec![alloc(1, &[("k!", "v")])],
            vec![alloc(1, &[("k", "v"), ("k", "w")])],
        ] {
            assert_eq!(
                kind(check_allocations(
                    q(1),
                    QuantityForm::Integer,
                    &bad,
                    "p",
                    loose
                )),
                ErrorKind::InvalidTagException,
                "{bad:?}"
            );
        }
        let edge = [alloc(1, &[(&"k".repeat(100), &"v".repeat(256))])];
        assert!(check_allocations(q(1), QuantityForm::Integer, &edge, "p", RULES).is_ok());
        let model = TagRules {
            charset: TagCharset::ModelRegex,
            ..RULES
        };
        let punct = [alloc(1, &[("k!", "v#")])];
        assert!(check_allocations(q(1), QuantityForm::Integer, &punct, "p", model).is_ok());
    }

    #[test]
    fn distinct_keys_across_a_record_are_limited_by_the_setting() {
        let allocs: Vec<_> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|k| alloc(1, &[(k, "v")]))
            .collect();
        assert_eq!(
            kind(check_allocations(
                q(6),
                QuantityForm::Integer,
                &allocs,
                "p",
                RULES
            )),
            ErrorKind::InvalidTagException
        );
        assert!(check_allocations(q(5), QuantityForm::Integer, &allocs[..5], "p", RULES).is_ok());
        let loose = TagRules {
            max_distinct_keys_per_record: 6,
            ..RULES
        };
        assert!(check_allocations(q(6), QuantityForm::Integer, &allocs, "p", loose).is_ok());
    }
}
