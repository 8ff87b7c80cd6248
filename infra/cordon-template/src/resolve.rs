//! Resolving `Ref`, `Fn::GetAtt`, `Fn::Sub` and `Fn::Join` against known values: the
//! stack's parameters, the pseudo parameters (`AWS::AccountId`, `AWS::Region`,
//! `AWS::Partition`, `AWS::StackName`, `AWS::URLSuffix`) and the resources' physical ids and
//! attributes, which the caller supplies (the local stack knows its table's name; AWS would
//! know the deployed one).
use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::error::{Error, ResolveError};
use crate::expr::{Call, Expr, Intrinsic};
use crate::parameter::Parameter;

/// What a `Ref` to a parameter gives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ParameterValue {
    String(String),
    List(Vec<String>),
}

/// The values intrinsic functions resolve to.
#[derive(Debug, Clone, Default)]
pub struct Values {
    pseudo: BTreeMap<&'static str, String>,
    parameters: BTreeMap<String, ParameterValue>,
    refs: BTreeMap<String, String>,
    attributes: BTreeMap<(String, String), String>,
}

impl Values {
    /// The pseudo parameters of a stack named `stack_name` in `account_id` / `region`.
    pub fn new(account_id: &str, region: &str, partition: &str, stack_name: &str) -> Values {
        let url_suffix = if partition == "aws-cn" {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        let pseudo = BTreeMap::from([
            ("AWS::AccountId", account_id.to_owned()),
            ("AWS::Region", region.to_owned()),
            ("AWS::Partition", partition.to_owned()),
            ("AWS::StackName", stack_name.to_owned()),
            ("AWS::URLSuffix", url_suffix.to_owned()),
        ]);
        Values {
            pseudo,
            ..Values::default()
        }
    }

    /// Sets every one of `parameters` (a template's, see [`crate::Template::parameters`]) to
    /// its value in `overrides`, else its `Default` (a parameter with neither stays unknown).
    /// An override the template does not declare is an error, as a deploy would refuse it.
    pub fn with_parameters(
        mut self,
        parameters: &[Parameter],
        overrides: &BTreeMap<String, String>,
    ) -> Result<Values, Error> {
        if let Some(unknown) = overrides
            .keys()
            .find(|n| !parameters.iter().any(|p| &p.name == *n))
        {
            return Err(Error::Section {
                at: format!("Parameters.{unknown}"),
                message: "the template declares no such parameter".into(),
            });
        }
        for parameter in parameters {
            let Some(raw) = overrides
                .get(&parameter.name)
                .or(parameter.default.as_ref())
            else {
                continue;
            };
            let value = if parameter.is_list() {
                ParameterValue::List(raw.split(',').map(|s| s.trim().to_owned()).collect())
            } else {
                ParameterValue::String(raw.clone())
            };
            self.parameters.insert(parameter.name.clone(), value);
        }
        Ok(self)
    }

    /// What `Ref <logical_id>` gives for a resource (its physical id, or its ARN for the
    /// types whose `Ref` is one).
    pub fn set_ref(&mut self, logical_id: impl Into<String>, value: impl Into<String>) {
        self.refs.insert(logical_id.into(), value.into());
    }

    /// What `Fn::GetAtt <logical_id>.<attribute>` gives.
    pub fn set_attribute(
        &mut self,
        logical_id: impl Into<String>,
        attribute: impl Into<String>,
        value: impl Into<String>,
    ) {
        self.attributes
            .insert((logical_id.into(), attribute.into()), value.into());
    }

    /// What `Ref <logical_id>` gives for a resource, if it is known.
    pub fn ref_of(&self, logical_id: &str) -> Option<&str> {
        self.refs.get(logical_id).map(String::as_str)
    }

    /// What `Fn::GetAtt <logical_id>.<attribute>` gives, if it is known.
    pub fn attribute_of(&self, logical_id: &str, attribute: &str) -> Option<&str> {
        self.attributes
            .get(&(logical_id.to_owned(), attribute.to_owned()))
            .map(String::as_str)
    }

    /// `expr` with every intrinsic resolved, as JSON.
    pub fn resolve(&self, expr: &Expr) -> Result<Json, ResolveError> {
        Ok(match expr {
            Expr::Null => Json::Null,
            Expr::Bool(b) => Json::Bool(*b),
            Expr::Number(n) => Json::Number(n.clone()),
            Expr::String(s) => Json::String(s.clone()),
            Expr::List(items) => Json::Array(
                items
                    .iter()
                    .map(|i| self.resolve(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
                    .collect::<Result<_, ResolveError>>()?,
            ),
            Expr::Intrinsic(i) => self.call(i)?,
        })
    }

    /// `expr` resolved to a string, as CloudFormation passes scalars (environment
    /// variables, substitutions): numbers and booleans become their text.
    pub fn resolve_string(&self, expr: &Expr) -> Result<String, ResolveError> {
        scalar_text(self.resolve(expr)?)
    }

    fn call(&self, intrinsic: &Intrinsic) -> Result<Json, ResolveError> {
        let function = intrinsic.written_name();
        match &intrinsic.call {
            Call::Ref(name) => self.reference(&function, name),
            Call::GetAtt {
                logical_id,
                attribute,
            } => self
                .attribute(&function, logical_id, attribute)
                .map(Json::String),
            Call::Sub {
                template,
                variables,
            } => self.sub(&function, template, variables).map(Json::String),
            Call::Join { delimiter, items } => {
                let Json::Array(items) = self.resolve(items)? else {
                    return Err(ResolveError::Invalid {
                        function,
                        message: "the items are not a list".into(),
                    });
                };
                let texts = items
                    .into_iter()
                    .map(scalar_text)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Json::String(texts.join(delimiter)))
            }
            Call::Other { .. } => Err(ResolveError::Unsupported { function }),
        }
    }

    fn reference(&self, function: &str, name: &str) -> Result<Json, ResolveError> {
        if let Some(value) = self.pseudo.get(name) {
            return Ok(Json::String(value.clone()));
        }
        match self.parameters.get(name) {
            Some(ParameterValue::String(s)) => return Ok(Json::String(s.clone())),
            Some(ParameterValue::List(items)) => {
                return Ok(Json::Array(
                    items.iter().cloned().map(Json::String).collect(),
                ));
            }
            None => {}
        }
        self.refs
            .get(name)
            .map(|v| Json::String(v.clone()))
            .ok_or_else(|| ResolveError::Unknown {
                function: function.to_owned(),
                name: name.to_owned(),
            })
    }

    fn attribute(
        &self,
        function: &str,
        logical_id: &str,
        attribute: &str,
    ) -> Result<String, ResolveError> {
        self.attributes
            .get(&(logical_id.to_owned(), attribute.to_owned()))
            .cloned()
            .ok_or_else(|| ResolveError::Unknown {
                function: function.to_owned(),
                name: format!("{logical_id}.{attribute}"),
            })
    }

    /// `Fn::Sub`: `${Name}` is a variable of the list form, else a `Ref`; `${Id.Attr}` is a
    /// `GetAtt`; `${!Literal}` is the text `${Literal}`.
    fn sub(
        &self,
        function: &str,
        template: &str,
        variables: &[(String, Expr)],
    ) -> Result<String, ResolveError> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| ResolveError::Invalid {
                function: function.to_owned(),
                message: format!("unterminated placeholder in {template:?}"),
            })?;
            let name = after[..end].trim();
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some((_, value)) = variables.iter().find(|(k, _)| k == name) {
                out.push_str(&self.resolve_string(value)?);
            } else if let Some((id, attribute)) =
                name.split_once('.').filter(|_| !name.contains("::"))
            {
                out.push_str(&self.attribute(function, id, attribute)?);
            } else {
                out.push_str(&scalar_text(self.reference(function, name)?)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn scalar_text(value: Json) -> Result<String, ResolveError> {
    match value {
        Json::String(s) => Ok(s),
        Json::Number(n) => Ok(n.to_string()),
        Json::Bool(b) => Ok(b.to_string()),
        other => Err(ResolveError::NotAString {
            got: match other {
                Json::Array(_) => "a list".into(),
                Json::Object(_) => "a mapping".into(),
                _ => "null".into(),
            },
        }),
    }
}
