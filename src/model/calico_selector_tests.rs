use super::*;
use proptest::prelude::*;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sel(text: &str) -> Expr {
    match parse(text) {
        Ok(e) => e,
        Err(e) => panic!("{text:?} should parse: {e}"),
    }
}

fn err(text: &str) -> SelectorError {
    match parse(text) {
        Ok(e) => panic!("{text:?} should be refused, parsed as {e}"),
        Err(e) => e,
    }
}

#[test]
fn ca44_operators_and_absent_keys() {
    let web = labels(&[("app", "web"), ("tier", "frontend")]);
    let bare = labels(&[]);
    let cases: &[(&str, bool, bool)] = &[
        ("app == 'web'", true, false),
        ("app != 'web'", false, true),
        ("app != 'db'", true, true),
        ("app in {'web', 'db'}", true, false),
        ("app not in {'web'}", false, true),
        ("has(app)", true, false),
        ("!has(app)", false, true),
        ("tier contains 'ont'", true, false),
        ("tier starts with 'front'", true, false),
        ("tier ends with 'end'", true, false),
        ("tier ends with 'front'", false, false),
        ("all()", true, true),
    ];
    for (text, on_web, on_bare) in cases {
        assert_eq!(sel(text).matches(&web), *on_web, "{text} on web");
        assert_eq!(sel(text).matches(&bare), *on_bare, "{text} on no labels");
    }
    // Case-sensitive, and has() is true for an empty value.
    assert!(!sel("app == 'Web'").matches(&web));
    assert!(sel("has(k)").matches(&labels(&[("k", "")])));
    assert!(sel("k == ''").matches(&labels(&[("k", "")])));
}

#[test]
fn ca43_e_ca_12_precedence() {
    let e = sel("! has(x) || y starts with 'p' && z in {'a'}");
    let expected = sel("(!has(x)) || ((y starts with 'p') && (z in {'a'}))");
    assert_eq!(e, expected);
    // Without x, the left side alone decides.
    assert!(e.matches(&labels(&[])));
    assert!(!e.matches(&labels(&[("x", "1"), ("y", "prod")])));
    assert!(e.matches(&labels(&[("x", "1"), ("y", "prod"), ("z", "a")])));
}

#[test]
fn ca45_bang_binds_to_the_next_primary_and_collapses() {
    assert_eq!(
        sel("!a == 'x' && b == 'y'"),
        sel("(!(a == 'x')) && b == 'y'")
    );
    assert_eq!(sel("!!has(a)"), sel("has(a)"));
    assert_eq!(sel("!!!has(a)"), sel("!has(a)"));
    assert_eq!(sel("! ! has(a)"), sel("has(a)"));
}

#[test]
fn ca46_empty_and_blank_are_all() {
    assert_eq!(sel(""), Expr::All);
    assert_eq!(sel("  \t "), Expr::All);
}

#[test]
fn ca47_global_is_the_absence_of_the_namespace_label() {
    let pod = labels(&[(NAMESPACE_LABEL, "a"), ("app", "web")]);
    let global_set = labels(&[("zone", "partner")]);
    assert!(!sel("global()").matches(&pod));
    assert!(sel("global()").matches(&global_set));
    assert!(sel("global( )").mentions_global());
    assert!(!sel("all()").mentions_global());
    assert!(sel("!global() && has(a)").mentions_global());
}

#[test]
fn ca48_e_ca_10_empty_sets() {
    let any = labels(&[("k", "v")]);
    let bare = labels(&[]);
    assert!(!sel("k in {}").matches(&any));
    assert!(sel("k not in {}").matches(&any));
    assert!(sel("k not in {}").matches(&bare));
    assert!(!sel("k in { }").matches(&bare));
    assert_eq!(sel("k in {'a', 'a', 'b'}"), sel("k in {'b','a',}"));
}

#[test]
fn ca41_ca49_e_ca_11_valid_spellings() {
    for text in [
        "has( app )",
        "app notin {'x',}",
        "app not  in {'x'}",
        "app startswith 'd'",
        "app endswith 'd'",
        "app == \"db\"",
        "app==\"db\"&&tier!='x'||has(z)",
        "app\t==\t'db'",
        "a.b/c_d-e == 'x'",
        "all( )",
        "k == ''",
        "k == \"it's\"",
    ] {
        sel(text);
    }
    assert_eq!(sel("app notin {'x'}"), sel("app not in {'x'}"));
    assert_eq!(sel("app startswith 'd'"), sel("app starts with 'd'"));
    assert_eq!(sel("app == \"db\""), sel("app == 'db'"));
}

#[test]
fn ca41_ca49_e_ca_11_invalid_spellings_with_columns() {
    let cases: &[(&str, usize)] = &[
        ("has (app)", 5),
        ("app = 'db'", 5),
        ("app == db", 8),
        ("app == 'db'\n&& has(x)", 12),
        ("app == 'db' & b == 'x'", 13),
        ("app == 'db' | b == 'x'", 13),
        ("app =! 'db'", 5),
        ("a == 'x' == 'y'", 10),
        ("app", 4),
        ("app in {'x' 'y'}", 13),
        ("app in 'x'", 8),
        ("(app == 'x'", 12),
        ("app == 'x", 8),
        ("app inx {'a'}", 5),
        ("", 0),
    ];
    for (text, column) in cases.iter().filter(|(t, _)| !t.is_empty()) {
        let e = err(text);
        assert_eq!(e.column, *column, "{text:?}: {e}");
    }
    // The longest key the tokenizer accepts is 512 characters (CA-41).
    let long = "k".repeat(513);
    assert_eq!(err(&format!("has({long})")).column, 5);
    sel(&format!("has({})", "k".repeat(512)));
}

#[test]
fn ca22_prefixing_moves_every_key() {
    let ns = sel("team == 'a' && !has(x) || projectcalico.org/name in {'b'}").prefixed("pcns.");
    let labels_of_b = labels(&[("pcns.projectcalico.org/name", "b")]);
    assert!(ns.matches(&labels_of_b));
    assert!(!ns.matches(&labels(&[("team", "a")])));
    assert!(ns.matches(&labels(&[("pcns.team", "a")])));
    let mut keys = Vec::new();
    ns.keys(&mut keys);
    assert!(keys.iter().all(|k| k.starts_with("pcns.")), "{keys:?}");
}

#[test]
fn display_uses_double_quotes_only_for_values_with_a_single_quote() {
    assert_eq!(sel("a == \"x\"").to_string(), "a == 'x'");
    assert_eq!(sel("a == \"it's\"").to_string(), "a == \"it's\"");
    assert_eq!(
        sel("!(a == 'x' || b in {'q','p'})").to_string(),
        "!(a == 'x' || b in {'p', 'q'})"
    );
}

// Random ASTs over a small alphabet, so that random label maps hit them.

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[xy]{0,2}",
        Just("it's".to_string()),
        Just("say \"hi\"".to_string())
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just(NAMESPACE_LABEL.to_string())
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        Just(Expr::All),
        Just(Expr::Global),
        key().prop_map(Expr::Has),
        (key(), value(), any::<bool>()).prop_map(|(key, value, negated)| Expr::Eq {
            key,
            value,
            negated
        }),
        (
            key(),
            proptest::collection::vec(value(), 0..3),
            any::<bool>()
        )
            .prop_map(|(key, values, negated)| Expr::In {
                key,
                values,
                negated
            }),
        (
            key(),
            prop_oneof![
                Just(StrOp::Contains),
                Just(StrOp::StartsWith),
                Just(StrOp::EndsWith)
            ],
            value()
        )
            .prop_map(|(key, op, operand)| Expr::Str { key, op, operand }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Expr::And),
            proptest::collection::vec(inner, 1..4).prop_map(Expr::Or),
        ]
    })
}

fn label_map() -> impl Strategy<Value = Labels> {
    proptest::collection::btree_map(key(), "[xy]{0,2}", 0..3)
}

proptest! {
    /// Printing a random AST and parsing it back gives the same canonical
    /// expression, which means the same on every label map.
    #[test]
    fn print_then_parse_is_the_same_selector(e in expr(), maps in proptest::collection::vec(label_map(), 0..8)) {
        let printed = e.to_string();
        let back = parse(&printed).map_err(|err| TestCaseError::fail(format!("{printed:?}: {err}")))?;
        prop_assert_eq!(&back, &e.clone().normalized(), "{}", printed);
        for m in &maps {
            prop_assert_eq!(back.matches(m), e.matches(m), "{} on {:?}", printed, m);
        }
    }

    /// De Morgan (CA-44 booleans): `!(a && b)` and `!a || !b` agree.
    #[test]
    fn de_morgan_holds_on_random_label_maps(a in expr(), b in expr(), m in label_map()) {
        let left = parse(&format!("!(({a}) && ({b}))")).map_err(|err| TestCaseError::fail(err.to_string()))?;
        let right = parse(&format!("!({a}) || !({b})")).map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert_eq!(left.matches(&m), right.matches(&m));
    }

    /// The bit-set form over a label index selects exactly the objects the
    /// evaluator accepts.
    #[test]
    fn bit_sets_agree_with_the_evaluator(e in expr(), objs in proptest::collection::vec(label_map(), 0..16)) {
        let index = LabelIndex::new(&objs);
        let got = index.select_calico(&e);
        prop_assert_eq!(got.capacity(), objs.len());
        for (i, l) in objs.iter().enumerate() {
            prop_assert_eq!(got.contains(i), e.matches(l), "{} on {:?}", e, l);
        }
    }
}

#[test]
fn nesting_is_bounded_not_a_stack_overflow() {
    // Hostile depth ends with an error at the first level too many.
    for open in ["(", "!", "!("] {
        let text = format!("{}a == 'b'", open.repeat(1_000_000));
        let e = err(&text);
        assert!(e.message.contains("nested more than 100"), "{e}");
        assert!(e.column <= 101 * open.len() + 1, "{e}");
    }
    // The deepest legal selector still parses and means what it says.
    let deep = format!("{}a == 'b'{}", "(".repeat(100), ")".repeat(100));
    assert_eq!(sel(&deep), sel("a == 'b'"));
    let negated = format!("{}a == 'b'", "!".repeat(99));
    assert_eq!(sel(&negated), sel("!(a == 'b')"));
}
