use serde_json::{Value, json};

use super::*;

fn sel(path: &str, input: &Value) -> Option<Value> {
    let ctx = json!({"Execution": {"Id": "exec-1"}});
    select(path, &Roots::new(input, &ctx)).expect("valid path")
}

#[test]
fn definite_paths_select_one_node() {
    let input = json!({"a": {"b": [10, 20, 30]}, "n": null});
    assert_eq!(sel("$", &input), Some(input.clone()));
    assert_eq!(sel("$.a.b", &input), Some(json!([10, 20, 30])));
    assert_eq!(sel("$.a.b[1]", &input), Some(json!(20)));
    assert_eq!(sel("$.a.b[-1]", &input), Some(json!(30)));
    assert_eq!(sel("$['a']['b'][0]", &input), Some(json!(10)));
    assert_eq!(sel("$.n", &input), Some(Value::Null));
    assert!(Path::parse("$.a.b[1]").expect("valid").is_definite());
}

#[test]
fn definite_paths_that_do_not_match_yield_none() {
    let input = json!({"a": {"b": [1]}, "s": "text"});
    assert_eq!(sel("$.missing", &input), None);
    assert_eq!(sel("$.a.b[5]", &input), None);
    assert_eq!(sel("$.s.x", &input), None);
    assert_eq!(sel("$.a.b.c", &input), None);
}

#[test]
fn context_paths_use_the_context_object() {
    let input = json!({"Execution": "not me"});
    let ctx = json!({"Execution": {"Id": "arn:exec", "Input": {"k": 1}}});
    assert_eq!(
        select("$$.Execution.Id", &Roots::new(&input, &ctx)).expect("valid"),
        Some(json!("arn:exec"))
    );
    assert_eq!(
        select("$$", &Roots::new(&input, &ctx)).expect("valid"),
        Some(ctx.clone())
    );
    assert_eq!(
        select("$.Execution", &Roots::new(&input, &ctx)).expect("valid"),
        Some(json!("not me"))
    );
    assert_eq!(
        Path::parse("$$.Execution.Input.k").expect("valid").root(),
        &Root::Context
    );
}

/// `$name` starts at the workflow variable `name` (AWS Step Functions developer guide,
/// "Passing data between states with variables": "To reference a variable, prepend the
/// name with a dollar sign").
#[test]
fn variable_paths_start_at_the_variable() {
    let mut vars = Map::new();
    vars.insert(
        "order".into(),
        json!({"items": [{"sku": "a"}, {"sku": "b"}]}),
    );
    vars.insert("x".into(), json!(42));
    let input = json!({"x": "input"});
    let ctx = json!({});
    let roots = Roots {
        document: &input,
        context: &ctx,
        variables: &vars,
    };
    assert_eq!(select("$x", &roots).expect("valid"), Some(json!(42)));
    assert_eq!(select("$.x", &roots).expect("valid"), Some(json!("input")));
    assert_eq!(
        select("$order.items[1].sku", &roots).expect("valid"),
        Some(json!("b"))
    );
    assert_eq!(
        select("$order.items[*].sku", &roots).expect("valid"),
        Some(json!(["a", "b"]))
    );
    assert_eq!(select("$nosuch", &roots).expect("valid"), None);
    assert_eq!(
        Path::parse("$order.items").expect("valid").root(),
        &Root::Variable("order".into())
    );
    let r = ReferencePath::parse("$order.items[0].sku").expect("valid");
    assert_eq!(r.get(&roots), Some(&json!("a")));
    assert!(r.clone().put(json!({}), json!(1)).is_err());
}

#[test]
fn jayway_dot_names_with_any_characters() {
    let input = json!({"detail-type": "AWS API Call", "1st": true, "a:b": 2});
    assert_eq!(sel("$.detail-type", &input), Some(json!("AWS API Call")));
    assert_eq!(sel("$.1st", &input), Some(json!(true)));
    assert_eq!(sel("$.a:b", &input), Some(json!(2)));
    assert_eq!(sel("$['detail-type']", &input), Some(json!("AWS API Call")));
}

#[test]
fn bracket_names_with_spaces_and_quotes() {
    let input = json!({"a b": {"it's": 1}, "x\"y": 2});
    assert_eq!(sel("$['a b']", &input), Some(json!({"it's": 1})));
    assert_eq!(sel("$['a b']['it\\'s']", &input), Some(json!(1)));
    assert_eq!(sel("$[\"x\\\"y\"]", &input), Some(json!(2)));
}

#[test]
fn indefinite_paths_yield_arrays() {
    let input = json!({"items": [{"v": 1}, {"v": 2}, {"w": 3}, {"v": 4}]});
    assert_eq!(sel("$.items[*].v", &input), Some(json!([1, 2, 4])));
    assert_eq!(
        sel("$.items[1:3]", &input),
        Some(json!([{"v": 2}, {"w": 3}]))
    );
    assert_eq!(sel("$.items[:1].v", &input), Some(json!([1])));
    assert_eq!(sel("$.items[0,3].v", &input), Some(json!([1, 4])));
    assert_eq!(sel("$..w", &input), Some(json!([3])));
    assert_eq!(sel("$.items.*.v", &input), Some(json!([1, 2, 4])));
    assert!(!Path::parse("$.items[*]").expect("valid").is_definite());
}

#[test]
fn indefinite_paths_without_matches_yield_empty_arrays() {
    // As recorded from AWS: `$.items[*]` on `{}` gives `[]`, not a failure.
    let input = json!({});
    for p in [
        "$.items[*]",
        "$[*]",
        "$.item.items[1:5].itemValue",
        "$..x",
        "$.a[?(@.x)]",
    ] {
        assert_eq!(sel(p, &input), Some(json!([])), "{p}");
    }
}

#[test]
fn jayway_filters_with_parentheses_are_translated() {
    let input = json!({"users": [
        {"name": "a", "status": 0, "age": 30},
        {"name": "b)", "status": 1, "age": 17},
        {"name": "c", "status": 0, "age": 12}
    ]});
    assert_eq!(
        sel("$.users[?(@.status == 0)].name", &input),
        Some(json!(["a", "c"]))
    );
    assert_eq!(
        sel("$.users[?(@.status == 0 && @.age > 18)].name", &input),
        Some(json!(["a"]))
    );
    assert_eq!(
        sel("$.users[?(@.name == 'b)')].age", &input),
        Some(json!([17]))
    );
    // RFC 9535 syntax is accepted as well.
    assert_eq!(sel("$.users[?@.age < 13].name", &input), Some(json!(["c"])));
    // Embedded paths in filters get the same bracket rewriting.
    assert_eq!(
        sel("$.users[?(@['name'] == 'a')].age", &input),
        Some(json!([30]))
    );
}

#[test]
fn trailing_functions_parse_but_never_match() {
    // AWS accepts `$.list.length()` in a definition and then fails to find it at run time.
    assert!(validate_path("$.list.length()").is_ok());
    assert_eq!(sel("$.list.length()", &json!({"list": [1, 2]})), None);
    assert!(validate_path("$.list.length().x").is_err());
}

#[test]
fn invalid_paths_are_rejected() {
    for p in [
        "",
        "a.b",
        "$.",
        "$..",
        "$[",
        "$['a'",
        "$.a b",
        "$1a",
        "$.a[?(@.x ==)]",
        "$.a[]",
        "$.a[1:2:3:4]",
    ] {
        assert!(validate_path(p).is_err(), "{p:?} should be invalid");
        assert!(matches!(
            select(p, &Roots::new(&json!({}), &json!({}))),
            Err(PathError::Invalid { .. })
        ));
    }
}

#[test]
fn reference_paths_accept_only_single_nodes() {
    for p in [
        "$",
        "$$",
        "$.a",
        "$.a.b",
        "$['a b'].c",
        "$.a[0]",
        "$$.Execution.Input",
        "$.detail-type",
    ] {
        assert!(validate_reference_path(p).is_ok(), "{p:?} should be valid");
    }
    for p in [
        "",
        "a",
        "$.a[*]",
        "$..a",
        "$.a[?(@.x)]",
        "$.a[1:2]",
        "$.a[-1]",
        "$.a[0,1]",
        "$.*",
        "$.a.",
        "$['a'",
        "$.a.length()",
        "$.a b",
    ] {
        assert!(
            validate_reference_path(p).is_err(),
            "{p:?} should be invalid"
        );
    }
}

#[test]
fn reference_path_get() {
    let input = json!({"a": {"b c": [1, {"d": true}]}});
    let ctx = json!({"State": {"Name": "S"}});
    let get = |p: &str| {
        ReferencePath::parse(p)
            .expect("valid")
            .get(&Roots::new(&input, &ctx))
            .cloned()
    };
    assert_eq!(get("$.a['b c'][1].d"), Some(json!(true)));
    assert_eq!(get("$$.State.Name"), Some(json!("S")));
    assert_eq!(get("$.a.x"), None);
    assert_eq!(get("$.a['b c'][7]"), None);
}

#[test]
fn put_dollar_replaces_the_document() {
    assert_eq!(
        put(json!({"a": 1}), "$", json!("x")).expect("ok"),
        json!("x")
    );
    assert_eq!(
        put(json!("s"), "$", json!({"k": 1})).expect("ok"),
        json!({"k": 1})
    );
}

#[test]
fn put_adds_and_overwrites_fields() {
    let out = put(json!({"a": 1, "b": 2}), "$.b", json!({"new": true})).expect("ok");
    assert_eq!(out, json!({"a": 1, "b": {"new": true}}));
    let out = put(json!({"a": 1}), "$.result", json!([1])).expect("ok");
    assert_eq!(out, json!({"a": 1, "result": [1]}));
}

#[test]
fn put_creates_missing_intermediate_objects() {
    let out = put(json!({"keep": 0}), "$.x.y.z", json!(5)).expect("ok");
    assert_eq!(out, json!({"keep": 0, "x": {"y": {"z": 5}}}));
    let out = put(json!({"x": {"other": 1}}), "$.x['y z']", json!(null)).expect("ok");
    assert_eq!(out, json!({"x": {"other": 1, "y z": null}}));
}

#[test]
fn put_into_existing_array_elements() {
    let out = put(json!({"a": [1, {"b": 2}]}), "$.a[1].c", json!(3)).expect("ok");
    assert_eq!(out, json!({"a": [1, {"b": 2, "c": 3}]}));
    let out = put(json!({"a": [1, 2]}), "$.a[0]", json!("x")).expect("ok");
    assert_eq!(out, json!({"a": ["x", 2]}));
    assert!(matches!(
        put(json!({"a": [1]}), "$.a[3]", json!(0)),
        Err(PathError::Unappliable(_))
    ));
}

#[test]
fn put_through_a_non_object_is_unappliable() {
    for (target, path) in [
        (json!("a string"), "$.x"),
        (json!([1, 2]), "$.x"),
        (json!({"a": "text"}), "$.a.b"),
        (json!({"a": 5}), "$.a.b.c"),
        (json!({"a": [1]}), "$.a.b"),
        (json!(null), "$.x"),
    ] {
        let err = put(target.clone(), path, json!(1)).expect_err("must fail");
        let PathError::Unappliable(msg) = err else {
            panic!("expected Unappliable for {path} on {target}");
        };
        assert!(msg.contains(path), "{msg}");
        assert!(msg.contains(&jackson(&target)), "{msg}");
    }
}

#[test]
fn put_rejects_invalid_and_context_paths() {
    assert!(matches!(
        put(json!({}), "$.a[*]", json!(1)),
        Err(PathError::Invalid { .. })
    ));
    assert!(matches!(
        put(json!({}), "$$.Execution", json!(1)),
        Err(PathError::Invalid { .. })
    ));
}

/// A backslash in a quoted bracket name escapes the next character, as Jayway JsonPath (which
/// AWS uses) reads it: `$['Test\\"\"Name\"']` names the key `Test""Name"`.
#[test]
fn quoted_names_take_backslash_escapes() {
    let input = json!({"Test\"\"Name\"": "v", "it's": 1});
    assert_eq!(sel("$['Test\\\"\"Name\"']", &input), Some(json!("v")));
    assert_eq!(sel("$['it\\'s']", &input), Some(json!(1)));
    assert_eq!(sel("$[\"it's\"]", &input), Some(json!(1)));
}

/// A placement taken back leaves the target as it was, fields in their order, whether it
/// replaced a field, added one, created objects on the way or replaced an array element.
#[test]
fn an_undone_put_restores_the_target_exactly() {
    let target = json!({"a": 1, "b": {"c": [1, 2, 3]}, "z": true});
    for path in ["$.a", "$.new", "$.b.c[1]", "$.b.d.e.f", "$.x.y", "$", "$.b"] {
        let p = Path::parse(path).unwrap();
        let (out, undo) = p.put_undoable(target.clone(), json!("R")).unwrap();
        assert_eq!(out, p.put(target.clone(), json!("R")).unwrap(), "{path}");
        let back = p.undo_put(out, undo);
        assert_eq!(back, target, "{path}");
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&target).unwrap(),
            "{path}: the order of the fields"
        );
    }
}

/// A refused placement hands the target back untouched, with the error `put` gives.
#[test]
fn a_refused_undoable_put_returns_the_target() {
    let target = json!({"a": [1, 2]});
    for path in ["$.a.b", "$.a[5]", "$$.x", "$.a[?(@ > 1)]"] {
        let Ok(p) = Path::parse(path) else { continue };
        let (e, back) = p.put_undoable(target.clone(), json!(0)).unwrap_err();
        assert_eq!(back, target, "{path}");
        assert_eq!(
            e.to_string(),
            p.put(target.clone(), json!(0)).unwrap_err().to_string(),
            "{path}"
        );
    }
}
