use serde_json::{Value, json};

use super::*;
use crate::model::Pos;

fn ex(text: &str, usage: Usage) -> Result<Expression, Diagnostic> {
    Expression::compile(
        &Expr {
            text: text.into(),
            language: None,
            pos: Pos { line: 3, col: 7 },
        },
        usage,
    )
}

fn cond(text: &str) -> Expression {
    ex(text, Usage::Condition).unwrap_or_else(|d| panic!("{text}: {d}"))
}

fn vars(v: Value) -> Vars {
    match v {
        Value::Object(m) => m,
        _ => Vars::new(),
    }
}

fn eval(text: &str, v: Value) -> Result<Value, ExprError> {
    cond(text).eval(&vars(v))
}

fn ok(text: &str, v: Value) -> Value {
    eval(text, v).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn err_msg(text: &str, usage: Usage) -> String {
    match ex(text, usage) {
        Ok(e) => panic!("{text} compiled: {e:?}"),
        Err(d) => {
            assert_eq!(d.code, DiagnosticCode::InvalidExpression);
            assert_eq!(d.pos, Pos { line: 3, col: 7 });
            d.message
        }
    }
}

#[test]
fn feel_arithmetic_and_comparison() {
    assert_eq!(ok("= 1 + 2 * 3", json!({})), json!(7));
    assert_eq!(ok("= 7 / 2", json!({})), json!(3.5));
    assert_eq!(
        ok(
            "= amount > 1000 and dpd >= 30",
            json!({"amount": 1500, "dpd": 30})
        ),
        json!(true)
    );
    assert_eq!(
        ok(
            "= amount > 1000 and dpd >= 30",
            json!({"amount": 999.5, "dpd": 30})
        ),
        json!(false)
    );
    assert_eq!(ok("= 0.1 + 0.2", json!({})), json!(0.3));
    assert_eq!(ok("= balance * 2", json!({"balance": 12.25})), json!(24.5));
    assert_eq!(ok("=-5", json!({})), json!(-5));
    assert_eq!(
        ok(
            "= a+b-c*d/e",
            json!({"a": 1, "b": 2, "c": 3, "d": 4, "e": 2})
        ),
        json!(-3)
    );
    assert_eq!(ok("= x instance of string", json!({"x": "s"})), json!(true));
    assert_eq!(ok("= x in [1..10]", json!({"x": 3})), json!(true));
    assert_eq!(ok("= x between 1 and 10", json!({"x": 30})), json!(false));
}

#[test]
fn feel_strings_lists_contexts_functions() {
    assert_eq!(ok(r#"= "a" + name"#, json!({"name": "b"})), json!("ab"));
    assert_eq!(
        ok("= string length(name)", json!({"name": "héllo"})),
        json!(5)
    );
    assert_eq!(
        ok(r#"= contains(name, "ll")"#, json!({"name": "hello"})),
        json!(true)
    );
    assert_eq!(ok("= count(items)", json!({"items": [1, 2, 3]})), json!(3));
    assert_eq!(
        ok("= sum(items)", json!({"items": [1, 2, 3.5]})),
        json!(6.5)
    );
    assert_eq!(ok("= [1, 2, x]", json!({"x": "y"})), json!([1, 2, "y"]));
    assert_eq!(
        ok("= {a: 1, b: [true, null]}", json!({})),
        json!({"a": 1, "b": [true, null]})
    );
    assert_eq!(
        ok(r#"= date("2026-01-01")"#, json!({})),
        json!("2026-01-01")
    );
    assert_eq!(ok(r#"= duration("P1D")"#, json!({})), json!("P1D"));
    assert_eq!(
        ok(r#"= date("2026-01-01") + duration("P1D")"#, json!({})),
        json!("2026-01-02")
    );
    assert_eq!(
        ok("= if x > 1 then \"big\" else \"small\"", json!({"x": 2})),
        json!("big")
    );
    assert_eq!(
        ok(
            "= some i in items satisfies i > 2",
            json!({"items": [1, 3]})
        ),
        json!(true)
    );
    assert_eq!(
        ok("= for i in items return i * 2", json!({"items": [1, 3]})),
        json!([2, 6])
    );
    assert_eq!(
        ok("= items[item > 1]", json!({"items": [1, 3]})),
        json!([3])
    );
    assert_eq!(
        ok(
            r#"= upper case(name) + string(count(items))"#,
            json!({"name": "ab", "items": []})
        ),
        json!("AB0")
    );
    assert_eq!(
        ok(r#"= date and time("2026-01-01T10:00:00Z")"#, json!({})),
        json!("2026-01-01T10:00:00Z")
    );
}

#[test]
fn camel_case_and_nested_objects() {
    assert_eq!(
        ok("= daysPastDue >= 30", json!({"daysPastDue": 31})),
        json!(true)
    );
    assert_eq!(
        ok("= customer.dpd > 30", json!({"customer": {"dpd": 45}})),
        json!(true)
    );
    assert_eq!(
        ok(
            "= customer.address.city",
            json!({"customer": {"address": {"city": "Lyon"}}})
        ),
        json!("Lyon")
    );
    // A missing entry is null, as in Camunda 8.
    assert_eq!(
        ok("= customer.middleName", json!({"customer": {}})),
        Value::Null
    );
}

#[test]
fn camunda8_corpus_conditions() {
    assert!(
        cond(r#"= reviewResult = "approved""#)
            .eval_bool(&vars(json!({"reviewResult": "approved"})))
            .unwrap()
    );
    assert!(
        !cond("=fraud")
            .eval_bool(&vars(json!({"fraud": false})))
            .unwrap()
    );
    let e = ex("= documentReferenceId", Usage::Value).unwrap();
    assert_eq!(
        e.eval(&vars(json!({"documentReferenceId": "doc-1"})))
            .unwrap(),
        json!("doc-1")
    );
}

#[test]
fn missing_variables() {
    // A missing variable is null; comparing null fails; a null condition is an incident.
    assert_eq!(ok("= x", json!({})), Value::Null);
    assert_eq!(ok("= x = null", json!({})), json!(true));
    assert!(eval("= x > 5", json!({})).is_err());
    let e = cond("= x > 5").eval_bool(&Vars::new()).unwrap_err();
    assert!(e.to_string().contains("x > 5"), "{e}");
    let e = cond("= x").eval_bool(&Vars::new()).unwrap_err();
    assert!(e.message.contains("expected a boolean"), "{e}");
    // A variable named like a built-in stays the variable; an absent one stays the function.
    assert_eq!(ok("= count", json!({"count": 4})), json!(4));
    assert_eq!(ok("= count([1])", json!({})), json!(1));
}

#[test]
fn null_equals_only_null_as_in_camunda_8() {
    assert_eq!(ok("= paid = true", json!({})), json!(false));
    assert_eq!(ok("= true = paid", json!({})), json!(false));
    assert_eq!(ok("= paid != true", json!({})), json!(true));
    assert_eq!(ok("= paid = null", json!({})), json!(true));
    assert_eq!(ok("= paid = null", json!({"paid": 1})), json!(false));
    assert_eq!(ok("= paid = true", json!({"paid": true})), json!(true));
    assert_eq!(ok("= a = 1 and b != \"x\"", json!({"a": 1})), json!(true));
    assert_eq!(ok("= if paid = true then 1 else 2", json!({})), json!(2));
    assert_eq!(ok("= not(paid = true)", json!({})), json!(true));
}

#[test]
fn wall_clock_and_external_functions_refused() {
    assert!(err_msg("= now() > due", Usage::Condition).contains("wall clock"));
    assert!(err_msg("= today()", Usage::Value).contains("pass the date in a process variable"));
    assert!(err_msg("= date(today())", Usage::Value).contains("wall clock"));
    // The engine-provided `now` variable is fine.
    assert_eq!(ok("= now", json!({"now": "x"})), json!("x"));
    let m = err_msg(
        r#"= {f: function(a) external {java: {class: "X", method signature: "m()"}}}"#,
        Usage::Value,
    );
    assert!(
        m.contains("external") || m.contains("not valid FEEL"),
        "{m}"
    );
}

#[test]
fn feel_parse_error_quotes_the_expression() {
    let m = err_msg("= amount >", Usage::Condition);
    assert!(m.contains("`= amount >`") && m.contains("FEEL"), "{m}");
    assert!(err_msg("=", Usage::Condition).contains("empty"));
}

#[test]
fn juel_translations() {
    let v = json!({"amount": 1500, "dpd": 10, "name": "it's", "customer": {"vip": true}, "list": [], "s": ""});
    let t = |text: &str| ok(text, v.clone());
    assert_eq!(t("${amount > 1000}"), json!(true));
    assert_eq!(t("#{amount > 1000}"), json!(true));
    assert_eq!(t("${customer.vip}"), json!(true));
    assert_eq!(t("${amount == 1500 && dpd != 3}"), json!(true));
    assert_eq!(t("${amount eq 1500 and dpd ne 3}"), json!(true));
    assert_eq!(t("${amount lt 1 || dpd le 10}"), json!(true));
    assert_eq!(t("${amount gt 1 or dpd ge 11}"), json!(true));
    assert_eq!(t("${amount < 1 or dpd >= 11}"), json!(false));
    assert_eq!(t("${!customer.vip}"), json!(false));
    assert_eq!(t("${not (amount > 1 && false)}"), json!(true));
    assert_eq!(t("${(amount + 500) * 2 - 1 == 3999}"), json!(true));
    assert_eq!(
        t("${amount / 3 > 499 && amount % 7 == 2 && amount mod 7 == 2 && amount div 2 == 750}"),
        json!(true)
    );
    assert_eq!(t("${-dpd}"), json!(-10));
    assert_eq!(t("${name == 'it\\'s'}"), json!(true));
    assert_eq!(t(r#"${name == "it's"}"#), json!(true));
    assert_eq!(t("${'a\"b'}"), json!("a\"b"));
    assert_eq!(t("${null == missing}"), json!(true));
    assert_eq!(t("${1.5 + 1}"), json!(2.5));
    assert_eq!(
        t("${empty missing && empty list && empty s && !empty name && !empty customer}"),
        json!(true)
    );
}

#[test]
fn juel_refusals() {
    let m = err_msg("${execution.getVariable('x')}", Usage::Condition);
    assert!(m.contains("execution"), "{m}");
    assert!(
        err_msg("${bean.method()}", Usage::Condition)
            .contains("JUEL method calls are not supported")
    );
    assert!(err_msg("${ok()}", Usage::Condition).contains("JUEL method calls are not supported"));
    assert!(err_msg("${a ? b : c}", Usage::Condition).contains("ternary"));
    assert!(err_msg("${a > }", Usage::Condition).contains("${a > }"));
    assert!(err_msg("${'open}", Usage::Condition).contains("unterminated"));
    assert!(err_msg("Hello ${name}", Usage::Value).contains("mixes text and JUEL"));
    assert!(err_msg("${a}${b}", Usage::Value).contains("single"));
}

#[test]
fn javascript_refused() {
    let js = Expr {
        text: "x > 1".into(),
        language: Some("JavaScript".into()),
        pos: Pos::default(),
    };
    let d = Expression::compile(&js, Usage::Condition).unwrap_err();
    assert!(
        d.message
            .contains("conditions in JavaScript are not supported"),
        "{}",
        d.message
    );
    for lang in ["js", "groovy", "python", "ECMAScript"] {
        let e = Expr {
            text: "x".into(),
            language: Some(lang.into()),
            pos: Pos::default(),
        };
        assert!(Expression::compile(&e, Usage::Value).is_err(), "{lang}");
    }
    for text in [
        "next(null, this.environment.variables.ok)",
        "return amount > 5;",
        "environment.variables.x",
    ] {
        assert!(
            err_msg(text, Usage::Condition).contains("JavaScript"),
            "{text}"
        );
    }
}

#[test]
fn unprefixed_conditions() {
    assert!(err_msg("amount > 5", Usage::Condition).contains("is not an expression"));
    assert_eq!(err_msg("  ", Usage::Condition), "empty condition");
    for lang in [
        "feel",
        "FEEL",
        "https://www.omg.org/spec/DMN/20191111/FEEL/",
    ] {
        let e = Expr {
            text: "amount > 5".into(),
            language: Some(lang.into()),
            pos: Pos::default(),
        };
        let e = Expression::compile(&e, Usage::Condition).unwrap();
        assert!(e.eval_bool(&vars(json!({"amount": 6}))).unwrap());
    }
}

#[test]
fn static_values() {
    for text in ["alice", "clerks, managers", "P7D", "50"] {
        let e = ex(text, Usage::Value).unwrap();
        assert!(e.is_static());
        assert_eq!(e.static_value(), Some(&json!(text)));
        assert_eq!(e.eval(&Vars::new()).unwrap(), json!(text));
    }
    let e = ex("= 50", Usage::Value).unwrap();
    assert!(!e.is_static() && e.static_value().is_none());
    assert_eq!(e.source(), "= 50");
}

#[test]
fn expression_is_send_sync_clone() {
    fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_traits::<Expression>();
}

fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn compile_never_panics(text in ".{0,40}", prefix in proptest::sample::select(vec!["", "=", "${", "#{"])) {
        let text = format!("{prefix}{text}");
        let _ = ex(&text, Usage::Condition);
        let _ = ex(&text, Usage::Value);
    }

    #[test]
    fn eval_never_panics(
        text in proptest::sample::select(vec![
            "= a", "= a + b", "= a > b", "= a.b", "= count(a)", "= sum(a)", "= a = b",
            "= string length(a)", "= a * 2", "= [a, b]", "= {x: a}", "= a[1]", "= a / b",
            "${a > b}", "${empty a}", "${a.b}", "= not(a)", "= date(a)", "= duration(a)",
        ]),
        a in arb_json(), b in arb_json(),
    ) {
        let e = cond(text);
        let v = vars(serde_json::json!({"a": a, "b": b}));
        let _ = e.eval(&v);
        let _ = e.eval_bool(&v);
    }
}
