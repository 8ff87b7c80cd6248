//! `Parameters`: what a deploy may set, and the defaults it otherwise gets.
use serde_yaml_ng::Value as Yaml;

use crate::error::Error;

/// One entry of `Parameters`.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    /// `Type`, e.g. `String`, `Number`, `CommaDelimitedList`.
    pub kind: String,
    /// `Default`, as CloudFormation passes it: a string (a list's items comma-separated).
    pub default: Option<String>,
}

impl Parameter {
    /// Whether `Ref` gives a list (`CommaDelimitedList`, `List<...>`) rather than a string.
    pub fn is_list(&self) -> bool {
        self.kind == "CommaDelimitedList" || self.kind.starts_with("List<")
    }
}

pub(crate) fn parameters(section: Option<&Yaml>) -> Result<Vec<Parameter>, Error> {
    let Some(section) = section.and_then(Yaml::as_mapping) else {
        return Ok(Vec::new());
    };
    section
        .iter()
        .filter_map(|(name, body)| Some((name.as_str()?, body)))
        .map(|(name, body)| {
            let at = format!("Parameters.{name}");
            let kind = body
                .get("Type")
                .and_then(Yaml::as_str)
                .ok_or_else(|| Error::Section {
                    at: at.clone(),
                    message: "every parameter needs a Type string".into(),
                })?
                .to_owned();
            let default = match body.get("Default") {
                None | Some(Yaml::Null) => None,
                Some(Yaml::String(s)) => Some(s.clone()),
                Some(Yaml::Number(n)) => Some(n.to_string()),
                Some(Yaml::Bool(b)) => Some(b.to_string()),
                Some(Yaml::Sequence(items)) => Some(
                    items
                        .iter()
                        .map(|i| i.as_str().map(str::to_owned).unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                Some(_) => {
                    return Err(Error::Section {
                        at: format!("{at}.Default"),
                        message: "a default must be a scalar".into(),
                    });
                }
            };
            Ok(Parameter {
                name: name.to_owned(),
                kind,
                default,
            })
        })
        .collect()
}
