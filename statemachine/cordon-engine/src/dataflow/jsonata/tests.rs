//! JSONata in Step Functions, from the AWS Step Functions developer guide pages "Transforming
//! data with JSONata in Step Functions" (the `{% %}` syntax, `$states`, the functions Step
//! Functions provides and the missing `$eval`) and "Passing data between states with
//! variables" (`$name` in expressions).
use serde_json::{Map, Value, json};

use super::*;

fn eval_with(expr: &str, input: Value, vars: &Map<String, Value>) -> Result<Value, JsonataFailure> {
    let ctx = json!({"Execution": {"Id": "arn:aws:states:us-east-1:1:execution:sm:ex"}});
    let j = JsonataExpr::parse(expr, true).unwrap_or_else(|e| panic!("{expr}: {e}"));
    j.eval(&States {
        input: &input,
        context: &ctx,
        result: Some(&json!({"r": 1})),
        error_output: None,
        variables: vars,
    })
}

fn eval(expr: &str, input: Value) -> Result<Value, JsonataFailure> {
    eval_with(expr, input, &Map::new())
}

fn ok(expr: &str) -> Value {
    eval(expr, json!({})).unwrap_or_else(|e| panic!("{expr}: {e:?}"))
}

/// "JSONata syntax: `{% <JSONata expression> %}`": the delimiters open and close the string.
#[test]
fn only_a_whole_string_in_delimiters_is_an_expression() {
    assert_eq!(
        expression_text("{% $states.input %}"),
        Some("$states.input")
    );
    assert_eq!(expression_text("{%$x%}"), Some("$x"));
    assert_eq!(expression_text(" {% states.input %} "), None);
    assert_eq!(expression_text("$states.input"), None);
}

/// `$states.input`, `$states.context`, `$states.result` and variables by name.
#[test]
fn reads_states_and_variables() {
    let mut vars = Map::new();
    vars.insert("price".into(), json!(10));
    assert_eq!(
        eval_with("$states.input.n * $price", json!({"n": 3}), &vars),
        Ok(json!(30))
    );
    assert_eq!(
        eval("$states.context.Execution.Id", json!({})),
        Ok(json!("arn:aws:states:us-east-1:1:execution:sm:ex"))
    );
    assert_eq!(eval("$states.result.r", json!({})), Ok(json!(1)));
    assert_eq!(
        eval("$sum($states.input.v) + 1", json!({"v": [1, 2, 3]})),
        Ok(json!(7))
    );
}

/// An expression that produces nothing fails the field it is in.
#[test]
fn undefined_is_a_failure_with_aws_cause() {
    let e = eval("$states.input.absent", json!({})).unwrap_err();
    assert_eq!(e, JsonataFailure::Undefined);
    assert_eq!(
        e.cause("$states.input.absent", "Output/v"),
        "The JSONata expression '$states.input.absent' specified for the field 'Output/v' returned nothing (undefined)."
    );
    assert_eq!(
        eval("$nosuchvar", json!({})),
        Err(JsonataFailure::Undefined)
    );
}

/// "$eval is not available; use $parse": calling it, or any unknown function, is T1006.
#[test]
fn eval_and_unknown_functions_are_not_functions() {
    let t1006 = JsonataFailure::Threw("T1006: Attempted to invoke a non-function".into());
    assert_eq!(eval("$eval('1+1')", json!({})), Err(t1006.clone()));
    assert_eq!(eval("$randomSeeded(1)", json!({})), Err(t1006.clone()));
    assert_eq!(
        t1006.cause("$eval('1+1')", "Output"),
        "The JSONata expression '$eval('1+1')' specified for the field 'Output' threw an error during evaluation. T1006: Attempted to invoke a non-function"
    );
}

/// `$partition(array, chunkSize)`: chunks, the last one holding the rest.
#[test]
fn partition() {
    assert_eq!(
        ok("$partition([1,2,3,4,5], 2)"),
        json!([[1, 2], [3, 4], [5]])
    );
    assert_eq!(ok("$partition([0], 5)"), json!([[0]]));
    assert_eq!(ok("$partition([1,2,3], 2.9)"), json!([[1, 2], [3]]));
    assert_eq!(
        eval("$partition([1], 0)", json!({})),
        Err(JsonataFailure::Undefined)
    );
    assert_eq!(
        eval("$partition([], 2)", json!({})),
        Err(JsonataFailure::Undefined)
    );
}

/// `$range(start, end, step)`: inclusive of `end` when a step lands on it; one value bare.
#[test]
fn range() {
    assert_eq!(ok("$range(0, 10, 2)"), json!([0, 2, 4, 6, 8, 10]));
    assert_eq!(ok("$range(0, 10, 3)"), json!([0, 3, 6, 9]));
    assert_eq!(ok("$range(10, 0, -5)"), json!([10, 5, 0]));
    assert_eq!(ok("$range(1, 9, 9)"), json!(1));
    assert_eq!(
        eval("$range(0, 10, 0)", json!({})),
        Err(JsonataFailure::Undefined)
    );
    assert_eq!(
        eval("$range(0, 10, -1)", json!({})),
        Err(JsonataFailure::Undefined)
    );
}

/// `$hash(value, algorithm)` with MD5, SHA-1, SHA-256, SHA-384 or SHA-512.
#[test]
fn hash() {
    assert_eq!(
        ok("$hash('abc', 'SHA-256')"),
        json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(
        ok("$hash('abc', 'MD5')"),
        json!("900150983cd24fb0d6963f7d28e17f72")
    );
    assert!(matches!(
        eval("$hash('abc', 'SHA-3')", json!({})),
        Err(JsonataFailure::Threw(_))
    ));
}

/// `$random([seed])`: in [0, 1), the same for the same seed.
#[test]
fn random_is_seedable() {
    let a = ok("$random(42)");
    assert_eq!(a, ok("$random(42)"));
    let x = a.as_f64().unwrap();
    assert!((0.0..1.0).contains(&x));
    assert!(
        ok("$random()")
            .as_f64()
            .is_some_and(|x| (0.0..1.0).contains(&x))
    );
}

/// `$uuid()`: a version 4 UUID.
#[test]
fn uuid_is_v4() {
    let u = ok("$uuid()");
    let u = u.as_str().unwrap();
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4");
}

/// `$parse(text)`: the JSON value a string holds.
#[test]
fn parse() {
    assert_eq!(
        eval("$parse($states.input.s)", json!({"s": "{\"a\": [1, 2]}"})),
        Ok(json!({"a": [1, 2]}))
    );
    assert_eq!(ok("$parse('-0')"), json!(0));
    assert_eq!(ok("$parse('\"x\"')"), json!("x"));
}

/// The JSONata function library is there (string, numeric, array, object, higher-order).
#[test]
fn function_library() {
    assert_eq!(ok("$uppercase('a') & $string(12)"), json!("A12"));
    assert_eq!(
        ok("$formatNumber(1234.5678, '#,##0.00')"),
        json!("1,234.57")
    );
    assert_eq!(ok("$map([1,2,3], function($v){$v*2})"), json!([2, 4, 6]));
    assert_eq!(ok("$merge([{'a':1},{'b':2}])"), json!({"a": 1, "b": 2}));
    assert_eq!(ok("[1..5][$ % 2 = 1]"), json!([1, 3, 5]));
    assert_eq!(ok("($x := 5; $x * 2)"), json!(10));
}

/// AWS refuses, when the state machine is created, a path that reads the (absent) context
/// item at the top level, and `$$`.
#[test]
fn top_level_context_references_are_refused() {
    let e = JsonataExpr::parse("phone", false).unwrap_err();
    assert!(
        e.contains("Reference to 'phone' at the top level is not supported."),
        "{e}"
    );
    assert!(JsonataExpr::parse("states.input", false).is_err());
    assert!(JsonataExpr::parse("$$.a", false).is_err());
    assert!(JsonataExpr::parse("$states.input.items[value > 3]", false).is_ok());
    assert!(JsonataExpr::parse("$states.errorOutput", false).is_err());
    assert!(JsonataExpr::parse("$states.errorOutput", true).is_ok());
    assert!(JsonataExpr::parse("a[1,2)", false).is_err());
}

/// A variable or `$states` part named inside a string is not a reference.
#[test]
fn references_skip_literals() {
    let r = refs::References::scan("'$notavar' & $real & $states.input.x & \"$states.context\"");
    assert_eq!(r.variables, vec!["real".to_owned()]);
    assert!(r.input);
    assert!(!r.context);
}
