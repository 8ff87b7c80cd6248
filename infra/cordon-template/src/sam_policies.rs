//! SAM policy templates (`LambdaInvokePolicy: {FunctionName: !Ref X}`), expanded as the
//! SAM transform expands them.
//!
//! The definitions are copied verbatim from the SAM translator's
//! `samtranslator/policy_templates_data/policy_templates.json` (aws-sam-translator
//! 1.115.0), only for the templates Cordon's template uses; `tests/tests/iam_catalogue.rs`
//! compares each with the translator's file (`cargo xtask lint` and `cargo xtask test`
//! install it). A template not listed here is an error, never an empty policy.
use serde_yaml_ng::Value as Yaml;

use crate::expr::{Call, Expr, Intrinsic};
use crate::yaml::to_expr;

/// The SAM policy templates this reader expands: name and the translator's definition
/// (its `Definition` object, as JSON text).
pub const SAM_POLICY_TEMPLATES: &[(&str, &str)] = &[(
    "LambdaInvokePolicy",
    r#"{
  "Statement": [
    {
      "Action": [
        "lambda:InvokeFunction"
      ],
      "Effect": "Allow",
      "Resource": {
        "Fn::Sub": [
          "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${functionName}*",
          {
            "functionName": {
              "Ref": "FunctionName"
            }
          }
        ]
      }
    }
  ]
}"#,
)];

/// The statements of SAM policy template `name` with `parameters` (the mapping written
/// in `Policies`) put in for its `Ref`s. `Err` says what is wrong.
pub(crate) fn sam_policy_template(name: &str, parameters: &Expr) -> Result<Expr, String> {
    let (_, definition) = SAM_POLICY_TEMPLATES
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| {
            format!(
                "SAM policy template {name} is not one this reader expands ({}); write the \
                 statements inline or add its definition to cordon-template's sam_policies.rs",
                SAM_POLICY_TEMPLATES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    let yaml: Yaml = serde_yaml_ng::from_str(definition)
        .map_err(|e| format!("the definition of {name} is not JSON: {e}"))?;
    let definition = to_expr(&yaml, name).map_err(|(at, message)| format!("{at}: {message}"))?;
    let given = parameters.as_map().ok_or_else(|| {
        format!(
            "{name} takes a mapping of parameters, got {}",
            parameters.describe()
        )
    })?;
    let mut used = Vec::new();
    let statements = substitute(
        definition.get("Statement").cloned().unwrap_or(Expr::Null),
        given,
        &mut used,
    )?;
    if let Some((unknown, _)) = given.iter().find(|(k, _)| !used.contains(k)) {
        return Err(format!("{name} has no parameter {unknown}"));
    }
    Ok(statements)
}

/// `expr` with every `Ref <Parameter>` replaced by the given parameter.
fn substitute(
    expr: Expr,
    given: &[(String, Expr)],
    used: &mut Vec<String>,
) -> Result<Expr, String> {
    Ok(match expr {
        Expr::List(items) => Expr::List(
            items
                .into_iter()
                .map(|i| substitute(i, given, used))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Map(entries) => Expr::Map(
            entries
                .into_iter()
                .map(|(k, v)| Ok((k, substitute(v, given, used)?)))
                .collect::<Result<_, String>>()?,
        ),
        Expr::Intrinsic(intrinsic) => {
            let Intrinsic { form, call } = *intrinsic;
            match call {
                Call::Ref(name) if !name.contains("::") => {
                    let (key, value) = given
                        .iter()
                        .find(|(k, _)| *k == name)
                        .ok_or_else(|| format!("missing parameter {name}"))?;
                    used.push(key.clone());
                    value.clone()
                }
                Call::Sub {
                    template,
                    variables,
                } => Expr::Intrinsic(Box::new(Intrinsic {
                    form,
                    call: Call::Sub {
                        template,
                        variables: variables
                            .into_iter()
                            .map(|(k, v)| Ok((k, substitute(v, given, used)?)))
                            .collect::<Result<_, String>>()?,
                    },
                })),
                other => Expr::Intrinsic(Box::new(Intrinsic { form, call: other })),
            }
        }
        scalar => scalar,
    })
}
