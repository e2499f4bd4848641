//! How much reading a filter may cost: a filter that no index narrows is checked row by
//! row, every comparison on every row, so its comparisons are bounded; and every filter's,
//! for SQLite parses a chain of n `or`s as an expression n deep and refuses one over 1,000.

use crate::error::{Error, Result, ScimType};
use crate::store::predicate::{CmpOp, Column, Literal, Operand, Predicate, UserGroupColumn};

/// The most comparisons a filter may make when no index narrows it. 868 `title co` terms (a
/// 16 KB filter) took 2.4 s of CPU over 20,000 users, about 136 ns per term and row; at this
/// bound a scan of 100,000 users costs at most about as much again as one `co`. Real IdP
/// filters make one to three.
const MAX_SCANNED_COMPARISONS: usize = 32;

/// What one filter on a user's groups that names no group counts for: it walks every group
/// and reads every membership of the tenant. 32 `groups.type eq` terms joined by `or` took 150
/// ms over 20,000 users in 11,000 memberships, against 90 ms for 32 `title co`; at this
/// weight such a filter takes at most 8 of them.
const GROUP_WALK_COMPARISONS: usize = 4;

/// The most comparisons any filter may make. 1,029 `id eq` joined by `or` were a 500:
/// SQLite's expression tree may be at most 1,000 deep.
const MAX_COMPARISONS: usize = 500;

/// `predicate`, unless it makes more than `MAX_COMPARISONS` comparisons, or more than
/// `MAX_SCANNED_COMPARISONS` and no index narrows it: then 400 `tooMany` (RFC 7644 §3.12:
/// more than the service provider is willing to process). A batch of `userName eq` (or of
/// `id`, `externalId`, `displayName`) joined by `or` is read by its index.
pub(super) fn bounded(predicate: Predicate) -> Result<Predicate> {
    let comparisons = comparisons(&predicate);
    let refused = if comparisons > MAX_COMPARISONS {
        Some(format!("the filter makes {comparisons} comparisons; scimd takes at most {MAX_COMPARISONS}"))
    } else if comparisons > MAX_SCANNED_COMPARISONS && !narrowed(&predicate) {
        Some(format!(
            "the filter makes {comparisons} comparisons and no index narrows it; scimd checks at most \
             {MAX_SCANNED_COMPARISONS} on every resource"
        ))
    } else {
        None
    };
    match refused {
        Some(detail) => Err(Error::bad_request(ScimType::TooMany, detail)),
        None => Ok(predicate),
    }
}

fn comparisons(p: &Predicate) -> usize {
    match p {
        Predicate::Const(_) => 0,
        Predicate::And(items) | Predicate::Or(items) => items.iter().map(comparisons).sum(),
        Predicate::Not(inner) => comparisons(inner),
        Predicate::Compare { .. } | Predicate::Present { .. } => 1,
        Predicate::ValuesAny { pred, .. } | Predicate::JsonAny { pred, .. } | Predicate::MembersAny { pred } => {
            comparisons(pred).max(1)
        }
        Predicate::GroupsAny { pred } if selects_groups(pred) => comparisons(pred).max(1),
        Predicate::GroupsAny { pred } => comparisons(pred).max(1) * GROUP_WALK_COMPARISONS,
    }
}

/// Whether an index selects the rows `p` can match: one indexed column's equalities, a
/// prefix of one (read as a range of its index), or an `and` with such a term.
fn narrowed(p: &Predicate) -> bool {
    match p {
        Predicate::Const(_) => true,
        Predicate::And(items) => items.iter().any(narrowed),
        Predicate::Compare {
            operand: Operand::Column(column),
            op: CmpOp::StartsWith,
            value: Literal::Text(prefix),
            ..
        } => !prefix.is_empty() && column.is_text(),
        Predicate::GroupsAny { pred } => selects_groups(pred),
        _ => one_column(p).is_some(),
    }
}

/// Whether `p`, over a user's groups, selects its groups by their id or displayName: the
/// groups are then sought by index and only their memberships read.
fn selects_groups(p: &Predicate) -> bool {
    match p {
        Predicate::And(items) => items.iter().any(selects_groups),
        Predicate::Compare {
            operand: Operand::UserGroup(UserGroupColumn::Value | UserGroupColumn::Display),
            op,
            value: Literal::Text(text),
            ..
        } => *op == CmpOp::Eq || (*op == CmpOp::StartsWith && !text.is_empty()),
        _ => false,
    }
}

/// The indexed column `p` selects by equality: one such comparison, or an `or` of them on that
/// one column, which SQLite reads from the index (749 `userName eq` over 20,000 users: 3 ms).
/// An `or` across columns it scanned: 361 `userName eq … or externalId eq …` pairs took 287
/// ms. Elements' and members' values are read by a subquery per resource, so they do not
/// narrow either.
fn one_column(p: &Predicate) -> Option<Column> {
    match p {
        Predicate::Compare { operand: Operand::Column(column), op: CmpOp::Eq, .. } => {
            column.is_text().then_some(*column)
        }
        Predicate::Or(items) => {
            let first = one_column(items.first()?)?;
            items.iter().all(|i| one_column(i) == Some(first)).then_some(first)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::error::{Error, ScimType};
    use crate::scim::compat::Compat;
    use crate::scim::filter::UserFilters;
    use crate::scim::group_filter;
    use crate::scim::schema::Registry;

    fn joined(n: usize, term: impl Fn(usize) -> String, with: &str) -> String {
        (0..n).map(term).collect::<Vec<_>>().join(with)
    }

    #[test]
    fn scanning_filters_are_bounded_and_narrowed_ones_are_not() {
        let registry = Registry::load();
        let users = UserFilters::new(&registry);
        let compat = Compat::new(false);
        let many_co = |n| joined(n, |i| format!("title co \"t{i}\""), " or ");
        // (filter, on groups, refused)
        let cases: Vec<(String, bool, bool)> = vec![
            (many_co(32), false, false),
            (many_co(33), false, true),
            (joined(500, |i| format!("userName eq \"u{i}@x.io\""), " or "), false, false),
            (joined(501, |i| format!("userName eq \"u{i}@x.io\""), " or "), false, true),
            (joined(1_029, |i| format!("id eq \"{i}\""), " or "), false, true),
            (joined(300, |i| format!("externalId eq \"{i}\""), " or "), false, false),
            (joined(20, |i| format!("id eq \"{i}\" or externalId eq \"{i}\""), " or "), false, true),
            (format!("userName eq \"u@x.io\" and ({})", many_co(200)), false, false),
            (format!("({}) and userName eq \"u@x.io\"", many_co(200)), false, false),
            (joined(17, |i| format!("emails[type eq \"work\" and value eq \"e{i}@x.io\"]"), " or "), false, true),
            (joined(40, |i| format!("emails.value eq \"e{i}@x.io\""), " or "), false, true),
            (joined(40, |i| format!("not (userName eq \"u{i}\")"), " or "), false, true),
            (format!("{} or title co \"x\"", joined(40, |i| format!("userName eq \"u{i}\""), " or ")), false, true),
            (joined(40, |i| format!("userName sw \"u{i}\""), " or "), false, true),
            (format!("userName sw \"u\" and ({})", many_co(100)), false, false),
            (format!("userName sw \"\" and ({})", many_co(100)), false, true),
            (format!("title sw \"u\" and ({})", many_co(100)), false, true),
            (
                format!("displayName sw \"g\" and ({})", joined(40, |i| format!("displayName co \"g{i}\""), " or ")),
                true,
                false,
            ),
            (joined(40, |i| format!("members.value eq \"m{i}\""), " or "), true, true),
            (format!("groups[value eq \"g\" and type eq \"direct\"] and ({})", many_co(100)), false, false),
            (format!("groups.display sw \"eng\" and ({})", many_co(100)), false, false),
            (format!("groups.display co \"eng\" and ({})", many_co(100)), false, true),
            (format!("groups.type eq \"direct\" and ({})", many_co(100)), false, true),
            (joined(40, |i| format!("groups.value eq \"g{i}\""), " or "), false, true),
            (joined(32, |i| format!("groups.value eq \"g{i}\""), " or "), false, false),
            (joined(8, |i| format!("groups.type eq \"t{i}\""), " or "), false, false),
            (joined(9, |i| format!("groups.type eq \"t{i}\""), " or "), false, true),
            (joined(5, |i| format!("groups[display co \"d\" and type eq \"t{i}\"]"), " or "), false, true),
            (joined(100, |i| format!("displayName eq \"g{i}\""), " or "), true, false),
            (joined(40, |i| format!("displayName co \"g{i}\""), " or "), true, true),
        ];
        for (filter, on_groups, refused) in cases {
            let lowered = if on_groups {
                group_filter::predicate(Some(&filter), &compat, "https://h/scim/v2/acme")
            } else {
                users.predicate(Some(&filter), &compat)
            };
            match lowered {
                Err(Error::BadRequest { scim_type: ScimType::TooMany, .. }) => {
                    assert!(refused, "refused: {}", &filter[..80.min(filter.len())])
                }
                Ok(_) => assert!(!refused, "taken: {}", &filter[..80.min(filter.len())]),
                Err(e) => panic!("{e}: {}", &filter[..80.min(filter.len())]),
            }
        }
    }
}
