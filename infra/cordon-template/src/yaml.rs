//! YAML (with CloudFormation's short-form tags) to [`Expr`].
use serde_yaml_ng::Value as Yaml;

use crate::expr::{Call, Expr, Form, Intrinsic};

/// Why a YAML value is not a template value: the path and the problem.
pub(crate) type Invalid = (String, String);

/// Converts `value` found at `at` (a dotted path, for errors).
pub(crate) fn to_expr(value: &Yaml, at: &str) -> Result<Expr, Invalid> {
    Ok(match value {
        Yaml::Null => Expr::Null,
        Yaml::Bool(b) => Expr::Bool(*b),
        Yaml::Number(n) => Expr::Number(number(n, at)?),
        Yaml::String(s) => Expr::String(s.clone()),
        Yaml::Sequence(items) => Expr::List(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_expr(item, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(m) => {
            if m.len() == 1
                && let Some((Yaml::String(key), argument)) = m.iter().next()
                && (key == "Ref" || key.starts_with("Fn::"))
            {
                return intrinsic(key, Form::Long, argument, at);
            }
            let mut entries = Vec::with_capacity(m.len());
            for (key, child) in m {
                let key = key_string(key, at)?;
                let child = to_expr(child, &format!("{at}.{key}"))?;
                entries.push((key, child));
            }
            Expr::Map(entries)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let canonical = match name {
                "Ref" | "Condition" => name.to_owned(),
                other => format!("Fn::{other}"),
            };
            return intrinsic(&canonical, Form::Short, &tagged.value, at);
        }
    })
}

fn number(n: &serde_yaml_ng::Number, at: &str) -> Result<serde_json::Number, Invalid> {
    if let Some(u) = n.as_u64() {
        Ok(u.into())
    } else if let Some(i) = n.as_i64() {
        Ok(i.into())
    } else {
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .ok_or_else(|| (at.to_owned(), format!("{n} is not a finite number")))
    }
}

fn key_string(key: &Yaml, at: &str) -> Result<String, Invalid> {
    match key {
        Yaml::String(s) => Ok(s.clone()),
        Yaml::Number(n) => Ok(n.to_string()),
        Yaml::Bool(b) => Ok(b.to_string()),
        _ => Err((at.to_owned(), "mapping keys must be strings".to_owned())),
    }
}

fn intrinsic(name: &str, form: Form, argument: &Yaml, at: &str) -> Result<Expr, Invalid> {
    let written = match form {
        Form::Short => format!("!{}", name.strip_prefix("Fn::").unwrap_or(name)),
        Form::Long => name.to_owned(),
    };
    let bad = |expected: &str| (at.to_owned(), format!("{written} takes {expected}"));
    let call = match name {
        "Ref" => Call::Ref(
            argument
                .as_str()
                .ok_or_else(|| bad("a logical id or parameter name"))?
                .to_owned(),
        ),
        "Fn::GetAtt" => {
            let (logical_id, attribute) = match argument {
                Yaml::String(s) => s.split_once('.').ok_or_else(|| bad("Resource.Attribute"))?,
                Yaml::Sequence(parts) => match parts.as_slice() {
                    [Yaml::String(id), Yaml::String(attribute)] => {
                        (id.as_str(), attribute.as_str())
                    }
                    _ => return Err(bad("[Resource, Attribute]")),
                },
                _ => return Err(bad("Resource.Attribute or [Resource, Attribute]")),
            };
            Call::GetAtt {
                logical_id: logical_id.to_owned(),
                attribute: attribute.to_owned(),
            }
        }
        "Fn::Sub" => match argument {
            Yaml::String(s) => Call::Sub {
                template: s.clone(),
                variables: Vec::new(),
            },
            Yaml::Sequence(parts) => match parts.as_slice() {
                [Yaml::String(s), Yaml::Mapping(vars)] => {
                    let mut variables = Vec::with_capacity(vars.len());
                    for (key, value) in vars {
                        let key = key_string(key, at)?;
                        let value = to_expr(value, &format!("{at}.{key}"))?;
                        variables.push((key, value));
                    }
                    Call::Sub {
                        template: s.clone(),
                        variables,
                    }
                }
                _ => return Err(bad("a string, or [string, {variables}]")),
            },
            _ => return Err(bad("a string, or [string, {variables}]")),
        },
        "Fn::Join" => match argument {
            Yaml::Sequence(parts) => match parts.as_slice() {
                [Yaml::String(delimiter), items] => Call::Join {
                    delimiter: delimiter.clone(),
                    items: to_expr(items, &format!("{at}[1]"))?,
                },
                _ => return Err(bad("[delimiter, [items]]")),
            },
            _ => return Err(bad("[delimiter, [items]]")),
        },
        other => Call::Other {
            name: other.to_owned(),
            argument: to_expr(argument, at)?,
        },
    };
    Ok(Expr::Intrinsic(Box::new(Intrinsic { form, call })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(yaml: &str) -> Expr {
        let value: Yaml = serde_yaml_ng::from_str(yaml).expect("yaml");
        to_expr(&value, "x").expect("expr")
    }

    fn call(yaml: &str) -> (Form, Call) {
        match expr(yaml) {
            Expr::Intrinsic(i) => (i.form, i.call),
            other => panic!("not an intrinsic: {other:?}"),
        }
    }

    #[test]
    fn get_att_in_every_form() {
        let fn_arn = Call::GetAtt {
            logical_id: "Fn".into(),
            attribute: "Arn".into(),
        };
        assert_eq!(call("!GetAtt Fn.Arn"), (Form::Short, fn_arn.clone()));
        assert_eq!(call("!GetAtt [Fn, Arn]"), (Form::Short, fn_arn.clone()));
        assert_eq!(call("{Fn::GetAtt: Fn.Arn}"), (Form::Long, fn_arn.clone()));
        assert_eq!(call("{Fn::GetAtt: [Fn, Arn]}"), (Form::Long, fn_arn));
        // The attribute is everything after the first dot.
        assert_eq!(
            call("!GetAtt Db.Endpoint.Address").1,
            Call::GetAtt {
                logical_id: "Db".into(),
                attribute: "Endpoint.Address".into()
            }
        );
        assert_eq!(call("!Ref Fn"), (Form::Short, Call::Ref("Fn".into())));
        assert_eq!(call("{Ref: Fn}"), (Form::Long, Call::Ref("Fn".into())));
    }

    #[test]
    fn sub_join_and_others() {
        assert_eq!(
            call("!Sub arn:${AWS::Partition}:x").1,
            Call::Sub {
                template: "arn:${AWS::Partition}:x".into(),
                variables: vec![]
            }
        );
        assert_eq!(
            call("{Fn::Sub: ['${A}-x', {A: !Ref B}]}").1,
            Call::Sub {
                template: "${A}-x".into(),
                variables: vec![("A".into(), expr("!Ref B"))]
            }
        );
        assert_eq!(
            call("!Join [',', !Ref L]").1,
            Call::Join {
                delimiter: ",".into(),
                items: expr("!Ref L")
            }
        );
        let Expr::Intrinsic(i) = expr("!If [C, a, b]") else {
            panic!("intrinsic")
        };
        assert_eq!(i.written_name(), "!If");
        assert_eq!(i.call.name(), "Fn::If");
        let Expr::Intrinsic(i) = expr("{Fn::If: [C, a, b]}") else {
            panic!("intrinsic")
        };
        assert_eq!(i.written_name(), "Fn::If");
    }

    #[test]
    fn malformed_intrinsics_name_the_path() {
        let value: Yaml = serde_yaml_ng::from_str("a: [!GetAtt NoDot]").expect("yaml");
        let (at, message) = to_expr(&value, "P").expect_err("malformed");
        assert_eq!(at, "P.a[0]");
        assert!(message.contains("!GetAtt"), "{message}");
    }

    #[test]
    fn literal_json_names_the_intrinsic_inside() {
        let e = expr("{source: [x], account: [1, !Ref AWS::AccountId]}");
        let err = e.to_literal_json("P").expect_err("intrinsic");
        assert_eq!(err.at, "P.account[1]");
        assert_eq!(err.function, "!Ref");
        assert_eq!(
            expr("{a: [1, 2.5, true, null]}")
                .to_literal_json("P")
                .expect("literal"),
            serde_json::json!({"a": [1, 2.5, true, null]})
        );
    }
}
