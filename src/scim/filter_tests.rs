//! How filters lower to store predicates: which attributes use indexes.

use super::UserFilters;
use crate::scim::schema::Registry;
use crate::store::predicate::{Column, Operand, Predicate, ValuesColumn};

fn lower(f: &str) -> Predicate {
    let registry = Registry::load();
    UserFilters::new(&registry)
        .predicate(Some(f), &crate::scim::compat::Compat::new(true))
        .unwrap_or_else(|e| panic!("{f}: {e}"))
}

#[test]
fn hot_attributes_lower_to_indexed_columns() {
    let column = |p: &Predicate| match p {
        Predicate::Compare { operand: Operand::Column(c), .. }
        | Predicate::Present { operand: Operand::Column(c), .. } => Some(*c),
        _ => None,
    };
    for (f, c) in [
        (r#"userName eq "x""#, Column::UserNameNorm),
        (r#"externalId eq "x""#, Column::ExternalId),
        (r#"displayName eq "x""#, Column::DisplayNameNorm),
        (r#"id eq "x""#, Column::Id),
        ("active eq true", Column::Active),
        (r#"meta.lastModified gt "2026-01-01T00:00:00Z""#, Column::LastModified),
        (r#"meta.created le "2026-01-01T00:00:00Z""#, Column::Created),
        (r#"meta.version eq "W/\"3\"""#, Column::Version),
    ] {
        assert_eq!(column(&lower(f)), Some(c), "{f}");
    }
}

#[test]
fn emails_value_and_type_use_the_values_index_and_the_rest_json() {
    match lower(r#"emails[type eq "work" and value eq "X@Y.COM"]"#) {
        Predicate::ValuesAny { attr: "emails", pred } => {
            let Predicate::And(items) = *pred else { panic!("{pred:?}") };
            assert!(matches!(&items[0], Predicate::Compare { operand: Operand::Values(ValuesColumn::TypeNorm), .. }));
            assert!(
                matches!(&items[1], Predicate::Compare { operand: Operand::Values(ValuesColumn::ValueNorm), value: crate::store::predicate::Literal::Text(v), .. } if v == "x@y.com")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(lower(r#"emails.display eq "x""#), Predicate::JsonAny { .. }));
    assert!(matches!(lower(r#"title eq "x""#), Predicate::Compare { operand: Operand::Doc(_), .. }));
}

#[test]
fn a_users_groups_are_read_from_the_memberships_not_the_document() {
    use crate::store::predicate::{CmpOp, Literal, UserGroupColumn};
    let sub = |p: &Predicate| match p {
        Predicate::Compare { operand: Operand::UserGroup(c), op, value: Literal::Text(v), .. } => (*c, *op, v.clone()),
        other => panic!("{other:?}"),
    };
    for (f, want) in [
        (r#"groups eq "AB-1""#, (UserGroupColumn::Value, CmpOp::Eq, "ab-1")),
        (r#"groups.value sw "ab""#, (UserGroupColumn::Value, CmpOp::StartsWith, "ab")),
        (r#"groups.display eq "Sales""#, (UserGroupColumn::Display, CmpOp::Eq, "sales")),
        (r#"groups[type eq "Indirect"]"#, (UserGroupColumn::Type, CmpOp::Eq, "indirect")),
    ] {
        let Predicate::GroupsAny { pred } = lower(f) else { panic!("{f}") };
        let (c, op, v) = sub(&pred);
        assert_eq!((c, op, v.as_str()), want, "{f}");
    }
    // `ne`: no group of the user has it.
    assert!(
        matches!(lower(r#"groups.value ne "x""#), Predicate::Not(inner) if matches!(*inner, Predicate::GroupsAny { .. }))
    );
}

#[test]
fn only_equality_on_user_name_or_id_selects_one_row_by_a_unique_key() {
    use crate::store::predicate::UserKey;
    assert_eq!(lower(r#"userName eq "Jane@X.com""#).user_key(), Some(UserKey::UserNameNorm("jane@x.com")));
    assert_eq!(lower(r#"id eq "Ab-1""#).user_key(), Some(UserKey::Id("Ab-1")));
    for (f, one) in [
        (r#"userName eq "Jane@X.com""#, true),
        (r#"id eq "x""#, true),
        (r#"userName sw "j""#, false),
        (r#"userName eq "a" or userName eq "b""#, false),
        (r#"userName eq "a" and active eq true"#, false),
        (r#"not (userName eq "a")"#, false),
        (r#"externalId eq "x""#, false),
        (r#"displayName eq "x""#, false),
        (r#"emails.value eq "x""#, false),
        ("userName pr", false),
    ] {
        assert_eq!(lower(f).user_key().is_some(), one, "{f}");
    }
}

#[test]
fn a_location_of_the_endpoint_is_sought_as_its_id_and_any_other_is_no_user() {
    let registry = Registry::load();
    let filters = UserFilters::new(&registry).at("https://h/scim/v2/acme");
    let lower = |f: &str| filters.predicate(Some(f), &crate::scim::compat::Compat::new(true)).unwrap();
    match lower(r#"meta.location eq "https://h/scim/v2/acme/Users/u-1""#) {
        Predicate::Compare { operand: Operand::Column(Column::Id), value, .. } => {
            assert_eq!(value, crate::store::predicate::Literal::Text("u-1".into()))
        }
        other => panic!("{other:?}"),
    }
    for other in ["https://h/scim/v2/acme/Groups/u-1", "https://h/scim/v2/other/Users/u-1", "u-1"] {
        assert_eq!(lower(&format!("meta.location eq \"{other}\"")), Predicate::Const(false), "{other}");
    }
    assert!(matches!(
        lower(r#"meta.location sw "https://h/""#),
        Predicate::Compare { operand: Operand::Location(_), .. }
    ));
    // Without the Base URL (no request), there is nothing to compare with.
    let without =
        UserFilters::new(&registry).predicate(Some("meta.location pr"), &crate::scim::compat::Compat::new(true));
    assert!(without.is_err());
}
