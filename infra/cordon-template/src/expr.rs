//! A template value: YAML data in which CloudFormation's intrinsic functions are typed
//! nodes, whichever form the template wrote them in (`!Ref X` or `{Ref: X}`).
//!
//! Reading a value never resolves anything; resolving is [`crate::Values`]'s job, so the
//! same parsed template answers both "what does this field say" (the EventBridge rules,
//! which must be literal) and "what will this be once deployed" (a function's environment).
use serde_json::{Map, Value as Json};

/// One value of the template.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    List(Vec<Expr>),
    /// A mapping, in template order. Scalar keys are read as strings, as CloudFormation
    /// reads them.
    Map(Vec<(String, Expr)>),
    Intrinsic(Box<Intrinsic>),
}

/// How the template spelled an intrinsic function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `!Ref X`, `!GetAtt X.Arn`, ...
    Short,
    /// `{Ref: X}`, `{Fn::GetAtt: [X, Arn]}`, ...
    Long,
}

/// An intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    pub form: Form,
    pub call: Call,
}

/// The intrinsic functions Cordon resolves, and every other one by name.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `Ref`: a parameter, a pseudo parameter (`AWS::AccountId`) or a resource.
    Ref(String),
    /// `Fn::GetAtt`: an attribute of a resource.
    GetAtt {
        logical_id: String,
        attribute: String,
    },
    /// `Fn::Sub`: a string with `${Name}` / `${Resource.Attribute}` placeholders, and the
    /// variables of the list form.
    Sub {
        template: String,
        variables: Vec<(String, Expr)>,
    },
    /// `Fn::Join`: the items (a list, or an expression giving one) joined by a delimiter.
    Join { delimiter: String, items: Expr },
    /// Any other function (`If`, `Select`, `Split`, `FindInMap`, ...), by its canonical
    /// name (`Fn::If`), with its argument as written.
    Other { name: String, argument: Expr },
}

impl Call {
    /// The canonical name: `Ref`, `Fn::GetAtt`, ...
    pub fn name(&self) -> &str {
        match self {
            Call::Ref(_) => "Ref",
            Call::GetAtt { .. } => "Fn::GetAtt",
            Call::Sub { .. } => "Fn::Sub",
            Call::Join { .. } => "Fn::Join",
            Call::Other { name, .. } => name,
        }
    }
}

impl Intrinsic {
    /// The function's name as the template wrote it: `!Ref` or `Ref`, `!If` or `Fn::If`.
    pub fn written_name(&self) -> String {
        let name = self.call.name();
        match self.form {
            Form::Long => name.to_owned(),
            Form::Short => format!("!{}", name.strip_prefix("Fn::").unwrap_or(name)),
        }
    }
}

/// Where a value could not be taken literally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotLiteral {
    /// The path of the intrinsic, e.g. `Properties.EventPattern.account[0]`.
    pub at: String,
    /// The function as written, e.g. `!Ref`.
    pub function: String,
}

impl Expr {
    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Expr> {
        match self {
            Expr::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows `keys` through nested mappings.
    pub fn path(&self, keys: &[&str]) -> Option<&Expr> {
        keys.iter().try_fold(self, |v, k| v.get(k))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Expr::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Expr]> {
        match self {
            Expr::List(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(String, Expr)]> {
        match self {
            Expr::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_intrinsic(&self) -> Option<&Intrinsic> {
        match self {
            Expr::Intrinsic(i) => Some(i),
            _ => None,
        }
    }

    /// A short description for error messages: `"text"`, `a list`, `the intrinsic !If`.
    pub fn describe(&self) -> String {
        match self {
            Expr::Intrinsic(i) => format!("the intrinsic {}", i.written_name()),
            Expr::String(s) => format!("{s:?}"),
            Expr::Null => "null".to_owned(),
            Expr::Bool(b) => b.to_string(),
            Expr::Number(n) => n.to_string(),
            Expr::List(_) => "a list".to_owned(),
            Expr::Map(_) => "a mapping".to_owned(),
        }
    }

    /// The value as plain JSON, when it contains no intrinsic function. `at` names this
    /// value's path, so the error can name the intrinsic's.
    pub fn to_literal_json(&self, at: &str) -> Result<Json, NotLiteral> {
        Ok(match self {
            Expr::Null => Json::Null,
            Expr::Bool(b) => Json::Bool(*b),
            Expr::Number(n) => Json::Number(n.clone()),
            Expr::String(s) => Json::String(s.clone()),
            Expr::List(items) => Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| item.to_literal_json(&format!("{at}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Map(entries) => {
                let mut object = Map::new();
                for (key, value) in entries {
                    object.insert(key.clone(), value.to_literal_json(&format!("{at}.{key}"))?);
                }
                Json::Object(object)
            }
            Expr::Intrinsic(i) => {
                return Err(NotLiteral {
                    at: at.to_owned(),
                    function: i.written_name(),
                });
            }
        })
    }
}
