use serde_json::{Value, json};

use super::*;

fn ctx() -> Value {
    json!({
        "Execution": {"Id": "arn:aws:states:us-east-1:1:execution:sm:ex", "Name": "ex"},
        "StateMachine": {"Name": "my-state-machine"}
    })
}

fn eval(expr: &str, input: Value) -> Value {
    evaluate(expr, &Roots::new(&input, &ctx())).unwrap_or_else(|e| panic!("{expr}: {e:?}"))
}

/// Asserts a run-time failure and returns its cause.
fn eval_err(expr: &str, input: Value) -> (String, String) {
    match evaluate(expr, &Roots::new(&input, &ctx())) {
        Err(IntrinsicError::Failed { error, cause }) => (error, cause),
        other => panic!("{expr}: expected a run-time failure, got {other:?}"),
    }
}

fn intrinsic_failure(expr: &str, input: Value, needle: &str) {
    let (error, cause) = eval_err(expr, input);
    assert_eq!(error, ERROR_INTRINSIC_FAILURE, "{expr}");
    assert!(
        cause.contains(needle),
        "{expr}: cause {cause:?} lacks {needle:?}"
    );
}

fn invalid(expr: &str) {
    assert!(
        matches!(validate(expr), Err(IntrinsicError::Invalid(_))),
        "{expr:?} should be rejected at definition time"
    );
}

// ---------- parsing ----------

#[test]
fn is_intrinsic_detects_calls() {
    assert!(is_intrinsic("States.Format('x')"));
    assert!(is_intrinsic("  States.UUID()"));
    assert!(!is_intrinsic("$.States"));
}

#[test]
fn literals_of_every_type() {
    assert_eq!(
        eval(
            "States.Array('s', 1, -2.5, 1e2, true, false, null)",
            json!({})
        ),
        json!(["s", 1, -2.5, 100.0, true, false, null])
    );
    assert_eq!(eval("States.Array()", json!({})), json!([]));
}

#[test]
fn whitespace_between_tokens() {
    assert_eq!(
        eval("States.Array(  1 ,2,\n3  )", json!({})),
        json!([1, 2, 3])
    );
}

#[test]
fn string_escapes() {
    assert_eq!(
        eval(
            r"States.Array('it\'s', 'a\\b', '\{\}', 'new\nline')",
            json!({})
        ),
        json!(["it's", "a\\b", "{}", "new\\nline"])
    );
    // A real newline inside the literal (as JSON "\n" produces) is kept.
    assert_eq!(
        eval("States.StringSplit('Hello\nWorld', '\n')", json!({})),
        json!(["Hello", "World"])
    );
}

#[test]
fn path_arguments() {
    let input = json!({"a": {"b c": [1, 2, 3]}, "list": [{"v": 1}, {"v": 2}]});
    assert_eq!(
        eval("States.Array($.a['b c'][0])", input.clone()),
        json!([1])
    );
    assert_eq!(
        eval("States.ArrayLength($.list[*].v)", input.clone()),
        json!(2)
    );
    assert_eq!(
        eval(
            "States.Array($['a']['b c'][1], $.list[?(@.v > 1)].v)",
            input
        ),
        json!([2, [2]])
    );
    assert_eq!(
        eval("States.Array($$.Execution.Name)", json!({})),
        json!(["ex"])
    );
    assert_eq!(eval("States.Array($)", json!(7)), json!([7]));
}

#[test]
fn unresolvable_path_argument_is_a_runtime_error() {
    let (error, cause) = eval_err("States.Array($.missing)", json!({"a": 1}));
    assert_eq!(error, ERROR_RUNTIME);
    assert_eq!(
        cause,
        "The JsonPath argument for the field '$.missing' could not be found in the input '{\"a\":1}'"
    );
}

#[test]
fn nested_calls() {
    assert_eq!(
        eval(
            "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))",
            json!({})
        ),
        json!("machine")
    );
    assert_eq!(
        eval(
            "States.JsonToString(States.StringToJson('{\"a\": [1]}'))",
            json!({})
        ),
        json!("{\"a\":[1]}")
    );
}

#[test]
fn definition_time_errors() {
    for expr in [
        "",
        "States.",
        "States.Nope()",
        "States.Format",
        "States.Format(",
        "States.Format('a'",
        "States.Format('unterminated)",
        "States.Array(1,)",
        "States.Array(,1)",
        "States.Array(1 2)",
        "States.Array(1) trailing",
        "States.Array(undefined)",
        "States.Array($.a[)",
        "States.Array(a.b)",
        "Format('x')",
        "States.Array(01x)",
    ] {
        invalid(expr);
    }
}

#[test]
fn arity_is_enforced_at_definition_time() {
    for expr in [
        "States.Format()",
        "States.StringToJson()",
        "States.StringToJson('a', 'b')",
        "States.JsonToString()",
        "States.ArrayPartition($.a)",
        "States.ArrayContains($.a)",
        "States.ArrayRange(1, 2)",
        "States.ArrayGetItem($.a)",
        "States.ArrayLength()",
        "States.ArrayUnique($.a, $.b)",
        "States.Base64Encode()",
        "States.Base64Decode('a', 'b')",
        "States.Hash('a')",
        "States.JsonMerge($.a, $.b)",
        "States.MathRandom(1)",
        "States.MathRandom(1, 2, 3, 4)",
        "States.MathAdd(1)",
        "States.StringSplit('a')",
        "States.UUID(1)",
    ] {
        invalid(expr);
    }
    assert!(validate("States.MathRandom(1, 2)").is_ok());
    assert!(validate("States.MathRandom(1, 2, 3)").is_ok());
}

#[test]
fn parsed_intrinsic_is_reusable() {
    let parsed = Intrinsic::parse("States.MathAdd($.n, 1)").expect("valid");
    assert_eq!(parsed.call().function, Function::MathAdd);
    assert_eq!(
        parsed.evaluate(&Roots::new(&json!({"n": 1}), &ctx())),
        Ok(json!(2))
    );
    assert_eq!(
        parsed.evaluate(&Roots::new(&json!({"n": 41}), &ctx())),
        Ok(json!(42))
    );
}

// ---------- States.Format ----------

#[test]
fn format_renders_values_like_the_jvm() {
    let input = json!({"s": "x", "n": null, "i": 1, "f": 1.1, "big": 1e20, "small": 0.0001,
        "o": {"Arg1": 1, "Arg2": [], "s": "t"}, "a": [1, "b", null], "b": true, "whole": 2.0});
    assert_eq!(
        eval(
            "States.Format('{}|{}|{}|{}|{}', $.s, $.n, $.i, $.f, $.b)",
            input.clone()
        ),
        json!("x|null|1|1.1|true")
    );
    assert_eq!(
        eval("States.Format('{} {}', $.o, $.a)", input.clone()),
        json!("{Arg1=1, Arg2=[], s=t} [1, b, null]")
    );
    assert_eq!(
        eval("States.Format('{} {} {}', $.big, $.small, $.whole)", input),
        json!("1.0E20 1.0E-4 2.0")
    );
}

#[test]
fn format_escaped_braces_are_not_placeholders() {
    assert_eq!(
        eval(r"States.Format('\{\} {} \\ \'q\'', 'v')", json!({})),
        json!("{} v \\ 'q'")
    );
}

#[test]
fn format_template_from_a_path() {
    assert_eq!(
        eval("States.Format($.t, 1, 2)", json!({"t": "{}+{}"})),
        json!("1+2")
    );
    intrinsic_failure("States.Format($.t)", json!({"t": 5}), "must be a string");
}

#[test]
fn format_placeholder_count_must_match() {
    intrinsic_failure(
        "States.Format('{} {}', 1)",
        json!({}),
        "2 placeholder(s) but 1",
    );
    intrinsic_failure(
        "States.Format('{}', 1, 2)",
        json!({}),
        "1 placeholder(s) but 2",
    );
    assert_eq!(eval("States.Format('plain')", json!({})), json!("plain"));
}

// ---------- JSON ----------

#[test]
fn string_to_json() {
    assert_eq!(
        eval(
            "States.StringToJson($.s)",
            json!({"s": "{\"a\": [1, 2.5]}"})
        ),
        json!({"a": [1, 2.5]})
    );
    assert_eq!(eval("States.StringToJson('')", json!({})), Value::Null);
    assert_eq!(eval("States.StringToJson('  ')", json!({})), Value::Null);
    assert_eq!(eval("States.StringToJson('-0')", json!({})), json!(0));
    assert_eq!(eval("States.StringToJson('[-0]')", json!({})), json!([0]));
    let neg = eval("States.StringToJson('-0.0')", json!({}));
    assert!(
        neg.as_f64()
            .is_some_and(|x| x == 0.0 && x.is_sign_negative())
    );
    assert_eq!(eval("States.StringToJson('\"x\"')", json!({})), json!("x"));
    intrinsic_failure("States.StringToJson('{bad')", json!({}), "not valid JSON");
    intrinsic_failure(
        "States.StringToJson($.n)",
        json!({"n": 1}),
        "must be a string",
    );
}

#[test]
fn json_to_string() {
    let input = json!({"o": {"b": 1, "a": [true, null, "x\"y"]}, "f": 1.5, "big": 1e20});
    assert_eq!(
        eval("States.JsonToString($.o)", input.clone()),
        json!("{\"b\":1,\"a\":[true,null,\"x\\\"y\"]}")
    );
    assert_eq!(
        eval("States.JsonToString($.f)", input.clone()),
        json!("1.5")
    );
    assert_eq!(eval("States.JsonToString($.big)", input), json!("1.0E20"));
    assert_eq!(eval("States.JsonToString('s')", json!({})), json!("\"s\""));
}

#[test]
fn json_merge_is_shallow() {
    let input = json!({"a": {"x": {"p": 1}, "k": 1}, "b": {"x": {"q": 2}, "z": 3}});
    assert_eq!(
        eval("States.JsonMerge($.a, $.b, false)", input.clone()),
        json!({"x": {"q": 2}, "k": 1, "z": 3})
    );
    intrinsic_failure(
        "States.JsonMerge($.a, $.b, true)",
        input.clone(),
        "deep merge",
    );
    intrinsic_failure("States.JsonMerge($.a, $.b, 'no')", input.clone(), "boolean");
    intrinsic_failure(
        "States.JsonMerge($.a, 1, false)",
        input,
        "must be an object",
    );
}

// ---------- arrays ----------

#[test]
fn array_partition() {
    let input = json!({"a": [1, 2, 3, 4, 5]});
    assert_eq!(
        eval("States.ArrayPartition($.a, 2)", input.clone()),
        json!([[1, 2], [3, 4], [5]])
    );
    assert_eq!(
        eval("States.ArrayPartition($.a, 9)", input.clone()),
        json!([[1, 2, 3, 4, 5]])
    );
    assert_eq!(
        eval("States.ArrayPartition($.e, 3)", json!({"e": []})),
        json!([])
    );
    intrinsic_failure(
        "States.ArrayPartition($.a, 0)",
        input.clone(),
        "greater than 0",
    );
    intrinsic_failure(
        "States.ArrayPartition($.a, -1)",
        input.clone(),
        "greater than 0",
    );
    intrinsic_failure("States.ArrayPartition($.a, 1.5)", input.clone(), "integer");
    intrinsic_failure("States.ArrayPartition('x', 1)", input, "must be an array");
}

#[test]
fn array_contains() {
    let input = json!({"a": [1, "two", [3], {"four": 4}, null]});
    for (needle, found) in [
        ("1", true),
        ("1.0", true),
        ("'two'", true),
        ("$.a[2]", true),
        ("$.a[3]", true),
        ("null", true),
        ("2", false),
        ("'one'", false),
    ] {
        assert_eq!(
            eval(
                &format!("States.ArrayContains($.a, {needle})"),
                input.clone()
            ),
            json!(found),
            "{needle}"
        );
    }
    intrinsic_failure("States.ArrayContains('a', 'a')", input, "must be an array");
}

#[test]
fn array_range() {
    assert_eq!(
        eval("States.ArrayRange(1, 9, 2)", json!({})),
        json!([1, 3, 5, 7, 9])
    );
    assert_eq!(
        eval("States.ArrayRange(0, 10, 3)", json!({})),
        json!([0, 3, 6, 9])
    );
    assert_eq!(
        eval("States.ArrayRange(5, 1, -2)", json!({})),
        json!([5, 3, 1])
    );
    assert_eq!(eval("States.ArrayRange(1, 5, -1)", json!({})), json!([]));
    assert_eq!(
        eval("States.ArrayRange(1.4, 2.5, 1)", json!({})),
        json!([1, 2, 3])
    );
    assert_eq!(
        eval("States.ArrayRange(1, 1000, 1)", json!({}))
            .as_array()
            .map(Vec::len),
        Some(1000)
    );
    intrinsic_failure("States.ArrayRange(0, 1000, 1)", json!({}), "at most 1000");
    intrinsic_failure("States.ArrayRange(1, 5, 0)", json!({}), "must not be 0");
    intrinsic_failure(
        "States.ArrayRange('1', 5, 1)",
        json!({}),
        "must be a number",
    );
}

#[test]
fn array_get_item() {
    let input = json!({"a": [10, 20, 30]});
    assert_eq!(
        eval("States.ArrayGetItem($.a, 0)", input.clone()),
        json!(10)
    );
    assert_eq!(
        eval("States.ArrayGetItem($.a, 2)", input.clone()),
        json!(30)
    );
    intrinsic_failure(
        "States.ArrayGetItem($.a, 3)",
        input.clone(),
        "out of bounds",
    );
    intrinsic_failure(
        "States.ArrayGetItem($.a, -1)",
        input.clone(),
        "out of bounds",
    );
    intrinsic_failure("States.ArrayGetItem($.a, 'x')", input.clone(), "integer");
    intrinsic_failure("States.ArrayGetItem($.a, 1.5)", input, "integer");
}

#[test]
fn array_length_and_unique() {
    let input = json!({"a": [1, 1, 1.0, "1", [1], [1], {"k": 1}, {"k": 1}, null, null]});
    assert_eq!(eval("States.ArrayLength($.a)", input.clone()), json!(10));
    assert_eq!(
        eval("States.ArrayUnique($.a)", input.clone()),
        json!([1, "1", [1], {"k": 1}, null])
    );
    intrinsic_failure("States.ArrayLength('x')", input.clone(), "must be an array");
    intrinsic_failure("States.ArrayUnique(1)", input, "must be an array");
}

// ---------- encoding and hashing ----------

#[test]
fn base64_round_trip() {
    assert_eq!(
        eval("States.Base64Encode('Data to encode')", json!({})),
        json!("RGF0YSB0byBlbmNvZGU=")
    );
    assert_eq!(
        eval("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", json!({})),
        json!("Data to encode")
    );
    assert_eq!(
        eval(
            "States.Base64Decode(States.Base64Encode('héllo ✓'))",
            json!({})
        ),
        json!("héllo ✓")
    );
    intrinsic_failure(
        "States.Base64Decode('not base64!')",
        json!({}),
        "not valid Base64",
    );
    intrinsic_failure("States.Base64Encode(1)", json!({}), "must be a string");
}

#[test]
fn base64_input_limit() {
    let ok = json!({"s": "a".repeat(10_000)});
    assert!(evaluate("States.Base64Encode($.s)", &Roots::new(&ok, &ctx())).is_ok());
    let too_long = json!({"s": "a".repeat(10_001)});
    intrinsic_failure(
        "States.Base64Encode($.s)",
        too_long.clone(),
        "at most 10000",
    );
    intrinsic_failure("States.Base64Decode($.s)", too_long, "at most 10000");
}

#[test]
fn hash_algorithms() {
    let cases = [
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        (
            "SHA-256",
            "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
        ),
    ];
    for (algorithm, digest) in cases {
        assert_eq!(
            eval(
                &format!("States.Hash('input data', '{algorithm}')"),
                json!({})
            ),
            json!(digest)
        );
    }
    let sha384 = eval("States.Hash('input data', 'SHA-384')", json!({}));
    assert_eq!(sha384.as_str().map(str::len), Some(96));
    let sha512 = eval("States.Hash('input data', 'SHA-512')", json!({}));
    assert_eq!(sha512.as_str().map(str::len), Some(128));
    intrinsic_failure("States.Hash('x', 'SHA-3')", json!({}), "not supported");
    intrinsic_failure("States.Hash('x', 'sha-256')", json!({}), "not supported");
    intrinsic_failure("States.Hash('x', 1)", json!({}), "must be a string");
    intrinsic_failure(
        "States.Hash($.s, 'MD5')",
        json!({"s": "a".repeat(10_001)}),
        "at most 10000",
    );
}

// ---------- math ----------

#[test]
fn math_add_rounds_half_up_like_java() {
    for (a, b, sum) in [
        ("-9", "3", -6),
        ("1.49", "1.5", 3),
        ("-1.5", "0", -1),
        ("-2.5", "0", -2),
        ("2.5", "0", 3),
        ("-0.5", "0.5", 1),
        ("0.49999999999999994", "0", 0),
    ] {
        assert_eq!(
            eval(&format!("States.MathAdd({a}, {b})"), json!({})),
            json!(sum),
            "{a}+{b}"
        );
    }
    assert_eq!(
        eval("States.MathAdd(2147483647, 2147483647)", json!({})),
        json!(4_294_967_294_i64)
    );
    intrinsic_failure("States.MathAdd(2147483648, 0)", json!({}), "between");
    intrinsic_failure("States.MathAdd('1', 1)", json!({}), "must be a number");
    intrinsic_failure("States.MathAdd(null, 1)", json!({}), "must be a number");
}

#[test]
fn math_random_stays_in_range() {
    for _ in 0..200 {
        let v = eval("States.MathRandom(-3, 4)", json!({}));
        let n = v.as_i64().expect("integer");
        assert!((-3..4).contains(&n), "{n}");
    }
    intrinsic_failure(
        "States.MathRandom(5, 5)",
        json!({}),
        "greater than the start",
    );
    intrinsic_failure("States.MathRandom('a', 5)", json!({}), "must be a number");
    intrinsic_failure("States.MathRandom(1, 5, 'seed')", json!({}), "seed");
}

#[test]
fn math_random_seeded_is_java_util_random() {
    // Reference values from the JDK: new Random(0).nextInt(100) == 60,
    // new Random(42).nextInt(10) == 0.
    assert_eq!(functions::JavaRandom::new(0).next_int(100), 60);
    assert_eq!(functions::JavaRandom::new(42).next_int(10), 0);
    let a = eval("States.MathRandom(0, 999, 3)", json!({}));
    let b = eval("States.MathRandom(0, 999, 3)", json!({}));
    assert_eq!(a, b);
    let n = a.as_i64().expect("integer");
    assert!((0..999).contains(&n));
}

// ---------- strings and ids ----------

#[test]
fn string_split_on_any_delimiter_character() {
    assert_eq!(
        eval(
            "States.StringSplit('This.is+a,test=string', '.+,=')",
            json!({})
        ),
        json!(["This", "is", "a", "test", "string"])
    );
    assert_eq!(eval("States.StringSplit(',,,', ',')", json!({})), json!([]));
    assert_eq!(
        eval("States.StringSplit(', , ,', ',')", json!({})),
        json!([" ", " "])
    );
    assert_eq!(
        eval("States.StringSplit('abc', '')", json!({})),
        json!(["abc"])
    );
    intrinsic_failure("States.StringSplit(1, ',')", json!({}), "must be a string");
    intrinsic_failure("States.StringSplit('a', 1)", json!({}), "must be a string");
}

#[test]
fn uuid_is_a_random_v4() {
    let a = eval("States.UUID()", json!({}));
    let b = eval("States.UUID()", json!({}));
    assert_ne!(a, b);
    let parsed = uuid::Uuid::parse_str(a.as_str().expect("string")).expect("uuid");
    assert_eq!(parsed.get_version_num(), 4);
}

#[test]
fn java_double_formatting() {
    assert_eq!(crate::json_text::java_double(1.0), "1.0");
    assert_eq!(crate::json_text::java_double(-0.0), "-0.0");
    assert_eq!(crate::json_text::java_double(1234567.0), "1234567.0");
    assert_eq!(crate::json_text::java_double(12345678.0), "1.2345678E7");
    assert_eq!(crate::json_text::java_double(0.001), "0.001");
    assert_eq!(crate::json_text::java_double(0.0001), "1.0E-4");
    assert_eq!(crate::json_text::java_double(-2.5e-7), "-2.5E-7");
}
