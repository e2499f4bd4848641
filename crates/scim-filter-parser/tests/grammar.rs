//! Every filter and path example of RFC 7644 §3.4.2.2 and §3.5.2, the client variants seen in
//! the wild, and the inputs that must fail without crashing.

use scim_filter_parser::{parse_filter, parse_path, AttrPath, CompValue, CompareOp, ErrorKind, Filter, PatchPath};

const RFC_FILTERS: &[&str] = &[
    r#"userName eq "bjensen""#,
    r#"name.familyName co "O'Malley""#,
    r#"userName sw "J""#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
    "title pr",
    r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
    r#"title pr and userType eq "Employee""#,
    r#"title pr or userType eq "Intern""#,
    r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
    r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType eq "Employee" and (emails.type eq "work")"#,
    r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
];

fn cmp(name: &str, op: CompareOp, v: &str) -> Filter {
    Filter::Compare(AttrPath::new(name), op, CompValue::String(v.into()))
}

#[test]
fn every_rfc_filter_example_parses_and_round_trips() {
    for text in RFC_FILTERS {
        let f = parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parse_filter(&f.to_string()), Ok(f.clone()), "{text} -> {f}");
    }
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let f = parse_filter(r#"a eq "1" or b eq "2" and not (c eq "3")"#).unwrap();
    let want = Filter::Or(vec![
        cmp("a", CompareOp::Eq, "1"),
        Filter::And(vec![cmp("b", CompareOp::Eq, "2"), Filter::Not(Box::new(cmp("c", CompareOp::Eq, "3")))]),
    ]);
    assert_eq!(f, want);
}

#[test]
fn keywords_operators_and_literals_are_case_insensitive() {
    let f = parse_filter(r#"userName Eq "x" AND active EQ True Or title PR"#).unwrap();
    assert_eq!(f.to_string(), r#"userName eq "x" and active eq true or title pr"#);
}

#[test]
fn literals_follow_json() {
    let cases: &[(&str, CompValue)] = &[
        ("a eq null", CompValue::Null),
        ("a eq false", CompValue::Bool(false)),
        ("a eq -1.5e+3", CompValue::Number("-1.5e+3".into())),
        ("a eq 0", CompValue::Number("0".into())),
        (r#"a eq "q\"\\\/\n\u00e9\ud83d\ude00""#, CompValue::String("q\"\\/\né😀".into())),
    ];
    for (text, want) in cases {
        match parse_filter(text) {
            Ok(Filter::Compare(_, _, v)) => assert_eq!(&v, want, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn entra_sub_attribute_after_brackets_becomes_one_value_path() {
    let f = parse_filter(r#"emails[type eq "work"].value eq "x@y.com""#).unwrap();
    assert_eq!(
        f,
        Filter::ValuePath(
            AttrPath::new("emails"),
            Box::new(Filter::And(vec![cmp("type", CompareOp::Eq, "work"), cmp("value", CompareOp::Eq, "x@y.com")]))
        )
    );
}

#[test]
fn whitespace_variants_are_accepted() {
    for text in [r#"  userName   eq   "x"  "#, "userName eq \"x\"\t", r#"( userName eq "x" )"#, r#"not(a pr)"#] {
        assert!(parse_filter(text).is_ok(), "{text}");
    }
}

#[test]
fn patch_paths_of_rfc_7644() {
    let attr = |s: &str| parse_path(s).unwrap();
    assert_eq!(attr("members"), PatchPath::Attr(AttrPath::new("members")));
    assert_eq!(
        attr("name.familyName"),
        PatchPath::Attr(AttrPath { urn: None, name: "name".into(), sub: Some("familyName".into()) })
    );
    assert_eq!(
        attr("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"),
        PatchPath::Attr(AttrPath {
            urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
            name: "employeeNumber".into(),
            sub: None
        })
    );
    assert_eq!(
        attr("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
        PatchPath::Attr(AttrPath {
            urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
            name: "manager".into(),
            sub: Some("value".into())
        })
    );
    for text in [
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName"#,
        r#"emails[type eq "work" and value ew "example.com"]"#,
        r#"addresses[type eq "work"].streetAddress"#,
        r#"emails[primary eq true].value"#,
    ] {
        let p = parse_path(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parse_path(&p.to_string()), Ok(p), "{text}");
    }
}

#[test]
fn bad_input_is_an_error_with_an_offset() {
    let cases: &[(&str, usize)] = &[
        ("", 0),
        ("userName", 8),
        ("userName eq", 11),
        (r#"userName eq "x"#, 14),
        (r#"userName xx "x""#, 9),
        (r#"(userName eq "x""#, 16),
        (r#"userName eq "x")"#, 15),
        (r#"emails[type eq "work""#, 21),
        (r#"emails[type[value eq "x"]]"#, 11),
        (r#"userName eq "x" and"#, 16),
        (r#"userName eq "\q""#, 14),
        (r#"userName eq "a\u0000b""#, 15),
        ("userName eq \"a\0b\"", 14),
        ("a eq 01", 5),
        ("1abc pr", 0),
    ];
    for (text, offset) in cases {
        let e = parse_filter(text).expect_err(text);
        assert_eq!((e.kind, e.offset), (ErrorKind::Syntax, *offset), "{text}: {e}");
    }
    assert!(parse_path("members[").is_err());
    assert!(parse_path("name.givenName[value eq \"x\"]").is_err());
}

#[test]
fn deep_nesting_and_huge_input_fail_cleanly() {
    let deep = format!("{}a pr{}", "(".repeat(10_000), ")".repeat(10_000));
    let e = parse_filter(&deep).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLong);
    let deep = format!("{}a pr{}", "not (".repeat(2_000), ")".repeat(2_000));
    assert_eq!(parse_filter(&deep).unwrap_err().kind, ErrorKind::TooDeep);
    let ok = format!("{}a pr{}", "(".repeat(30), ")".repeat(30));
    assert!(parse_filter(&ok).is_ok());
    let huge = format!("userName eq \"{}\"", "x".repeat(100_000));
    assert_eq!(parse_filter(&huge).unwrap_err().kind, ErrorKind::TooLong);
}

#[test]
fn multi_digit_numbers_parse_whole() {
    for (text, n) in [("a eq 10", "10"), ("a pr and a eq 10", "10"), ("a eq 105.5e2", "105.5e2"), ("a eq -0.5", "-0.5")]
    {
        let f = parse_filter(text).unwrap();
        let found = match &f {
            Filter::Compare(_, _, CompValue::Number(v)) => v.clone(),
            Filter::And(items) => match &items[1] {
                Filter::Compare(_, _, CompValue::Number(v)) => v.clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        assert_eq!(found, n, "{text}");
    }
}

#[test]
fn non_ascii_input_is_an_error_not_a_panic() {
    for text in [".𐫱ଆ", "𐫱", "é eq 1", "urn𐫱", "a eq \"é\" and 𐫱 pr"] {
        assert!(parse_filter(text).is_err(), "{text}");
        assert!(parse_path(text).is_err(), "{text}");
    }
}
