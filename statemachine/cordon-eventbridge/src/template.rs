//! Reading EventBridge rules out of the SAM / CloudFormation template.
//!
//! Collected:
//! - every `AWS::Events::Rule` resource;
//! - the rules SAM generates from `Events` entries of type `EventBridgeRule`,
//!   `CloudWatchEvent`, `Schedule` or `ScheduleV2` on `AWS::Serverless::Function`
//!   and `AWS::Serverless::StateMachine` resources (logical id
//!   `<Resource><EventName>`, as SAM names them).
//!
//! Rules with an event pattern become [`Rule`]s; rules with only a
//! `ScheduleExpression` become [`ScheduleRule`]s. CloudFormation short-form
//! tags (`!Ref`, `!Sub`, `!GetAtt`, `!If`, ...) parse anywhere, but an
//! intrinsic *inside an event pattern* cannot be evaluated locally and is
//! reported as an error naming the resource and field.

use std::path::{Path, PathBuf};

use serde_json::{Map, Number, Value as Json};
use serde_yaml_ng::Value as Yaml;

use crate::pattern::{EventPattern, PatternError};

/// Why the rules could not be read from a template.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read template {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("template has no `Resources` mapping")]
    NoResources,
    #[error("resource `{resource}`, field `{field}`: {message}")]
    Field {
        resource: String,
        field: String,
        message: String,
    },
    #[error("resource `{resource}`, field `{field}`: {source}")]
    Pattern {
        resource: String,
        field: String,
        #[source]
        source: PatternError,
    },
}

fn field_err(resource: &str, field: &str, message: impl Into<String>) -> Error {
    Error::Field {
        resource: resource.to_owned(),
        field: field.to_owned(),
        message: message.into(),
    }
}

/// `State` of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleState {
    Enabled,
    Disabled,
    /// `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`: enabled, and also
    /// receives read-only management events.
    EnabledWithAllCloudTrailManagementEvents,
}

impl RuleState {
    pub fn is_enabled(self) -> bool {
        !matches!(self, RuleState::Disabled)
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "ENABLED" => Some(Self::Enabled),
            "DISABLED" => Some(Self::Disabled),
            "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" => {
                Some(Self::EnabledWithAllCloudTrailManagementEvents)
            }
            _ => None,
        }
    }
}

/// Where a target's `Arn` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetArn {
    /// `!Ref X` (a resource or a parameter).
    Ref(String),
    /// `!GetAtt X.Attr` / `!GetAtt [X, Attr]`.
    GetAtt {
        logical_id: String,
        attribute: String,
    },
    /// A literal ARN string.
    Literal(String),
    /// Any other intrinsic (`!Sub`, `!If`, ...), by tag name.
    Unresolved(String),
}

/// One entry of a rule's `Targets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `Targets[].Id`, when it is a plain string.
    pub id: Option<String>,
    pub arn: TargetArn,
}

impl Target {
    /// The logical id the target refers to, for `!Ref` and `!GetAtt` ARNs.
    pub fn logical_id(&self) -> Option<&str> {
        match &self.arn {
            TargetArn::Ref(id) | TargetArn::GetAtt { logical_id: id, .. } => Some(id),
            _ => None,
        }
    }
}

/// An EventBridge rule with an event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub logical_id: String,
    pub description: Option<String>,
    pub state: RuleState,
    pub pattern: EventPattern,
    /// Set when the rule has both a pattern and a schedule.
    pub schedule_expression: Option<String>,
    pub targets: Vec<Target>,
}

impl Rule {
    pub fn is_enabled(&self) -> bool {
        self.state.is_enabled()
    }

    /// Logical ids of the targets written as `!Ref X` or `!GetAtt X.Arn`.
    pub fn target_logical_ids(&self) -> Vec<&str> {
        self.targets.iter().filter_map(Target::logical_id).collect()
    }
}

/// A rule that only runs on a schedule (no event pattern).
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRule {
    pub logical_id: String,
    pub description: Option<String>,
    pub state: RuleState,
    pub schedule_expression: String,
    pub targets: Vec<Target>,
}

/// Every EventBridge rule a template defines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    /// Rules with an event pattern, in template order.
    pub rules: Vec<Rule>,
    /// Schedule-only rules, in template order.
    pub schedules: Vec<ScheduleRule>,
}

impl Rules {
    /// Reads and parses the template at `path`.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses template text.
    pub fn parse(yaml: &str) -> Result<Self, Error> {
        let doc: Yaml = serde_yaml_ng::from_str(yaml)?;
        let resources = doc
            .get("Resources")
            .and_then(Yaml::as_mapping)
            .ok_or(Error::NoResources)?;
        let mut out = Rules::default();
        for (key, resource) in resources {
            let Some(logical_id) = key.as_str() else {
                continue;
            };
            match resource.get("Type").and_then(Yaml::as_str) {
                Some("AWS::Events::Rule") => {
                    let props = resource.get("Properties").unwrap_or(&Yaml::Null);
                    out.add_events_rule(logical_id, props)?;
                }
                Some("AWS::Serverless::Function" | "AWS::Serverless::StateMachine") => {
                    out.add_sam_events(logical_id, resource)?;
                }
                _ => {}
            }
        }
        Ok(out)
    }

    fn add_events_rule(&mut self, id: &str, props: &Yaml) -> Result<(), Error> {
        let description = plain_string(props.get("Description"));
        let state = match props.get("State") {
            None => RuleState::Enabled,
            Some(v) => v
                .as_str()
                .and_then(RuleState::parse)
                .ok_or_else(|| {
                    field_err(
                        id,
                        "Properties.State",
                        format!(
                            "expected ENABLED, DISABLED or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, got {}",
                            describe(v)
                        ),
                    )
                })?,
        };
        let schedule = schedule_string(
            id,
            "Properties.ScheduleExpression",
            props.get("ScheduleExpression"),
        )?;
        let targets = targets(id, props.get("Targets"))?;
        self.push(
            id,
            description,
            state,
            props.get("EventPattern"),
            "Properties.EventPattern",
            schedule,
            targets,
        )
    }

    fn add_sam_events(&mut self, resource_id: &str, resource: &Yaml) -> Result<(), Error> {
        let Some(events) = resource
            .get("Properties")
            .and_then(|p| p.get("Events"))
            .and_then(Yaml::as_mapping)
        else {
            return Ok(());
        };
        for (name, event) in events {
            let Some(name) = name.as_str() else { continue };
            let kind = event.get("Type").and_then(Yaml::as_str);
            if !matches!(
                kind,
                Some("EventBridgeRule" | "CloudWatchEvent" | "Schedule" | "ScheduleV2")
            ) {
                continue;
            }
            let id = format!("{resource_id}{name}");
            let props = event.get("Properties").unwrap_or(&Yaml::Null);
            let base = format!("Properties.Events.{name}.Properties");
            let state = match (props.get("State"), props.get("Enabled")) {
                (Some(v), _) => v.as_str().and_then(RuleState::parse).ok_or_else(|| {
                    field_err(
                        resource_id,
                        &format!("{base}.State"),
                        format!("unsupported state {}", describe(v)),
                    )
                })?,
                (None, Some(Yaml::Bool(false))) => RuleState::Disabled,
                _ => RuleState::Enabled,
            };
            let schedule_field = if kind == Some("ScheduleV2") {
                "ScheduleExpression"
            } else {
                "Schedule"
            };
            let schedule = schedule_string(
                resource_id,
                &format!("{base}.{schedule_field}"),
                props.get(schedule_field),
            )?;
            let targets = vec![Target {
                id: None,
                arn: TargetArn::Ref(resource_id.to_owned()),
            }];
            let description = plain_string(props.get("Description"));
            let pattern_field = format!("{base}.Pattern");
            self.push_named(
                resource_id,
                id,
                description,
                state,
                props.get("Pattern"),
                &pattern_field,
                schedule,
                targets,
            )?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        id: &str,
        description: Option<String>,
        state: RuleState,
        pattern: Option<&Yaml>,
        pattern_field: &str,
        schedule: Option<String>,
        targets: Vec<Target>,
    ) -> Result<(), Error> {
        self.push_named(
            id,
            id.to_owned(),
            description,
            state,
            pattern,
            pattern_field,
            schedule,
            targets,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn push_named(
        &mut self,
        resource: &str,
        logical_id: String,
        description: Option<String>,
        state: RuleState,
        pattern: Option<&Yaml>,
        pattern_field: &str,
        schedule: Option<String>,
        targets: Vec<Target>,
    ) -> Result<(), Error> {
        match (pattern, schedule) {
            (Some(p), schedule_expression) => {
                let json = pattern_json(resource, pattern_field, p)?;
                let pattern = EventPattern::parse(&json).map_err(|source| Error::Pattern {
                    resource: resource.to_owned(),
                    field: pattern_field.to_owned(),
                    source,
                })?;
                self.rules.push(Rule {
                    logical_id,
                    description,
                    state,
                    pattern,
                    schedule_expression,
                    targets,
                });
            }
            (None, Some(schedule_expression)) => self.schedules.push(ScheduleRule {
                logical_id,
                description,
                state,
                schedule_expression,
                targets,
            }),
            (None, None) => {
                return Err(field_err(
                    resource,
                    pattern_field,
                    "the rule has neither an event pattern nor a schedule expression",
                ));
            }
        }
        Ok(())
    }
}

/// Reads the rules with an event pattern from the template at `template_path`.
pub fn load_rules(template_path: &Path) -> Result<Vec<Rule>, Error> {
    Rules::load(template_path).map(|r| r.rules)
}

/// Parses the rules with an event pattern from template text.
pub fn rules_from_str(yaml: &str) -> Result<Vec<Rule>, Error> {
    Rules::parse(yaml).map(|r| r.rules)
}

fn describe(v: &Yaml) -> String {
    match v {
        Yaml::Tagged(t) => format!("the intrinsic {}", t.tag),
        Yaml::String(s) => format!("{s:?}"),
        Yaml::Null => "null".to_owned(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Sequence(_) => "a list".to_owned(),
        Yaml::Mapping(_) => "a mapping".to_owned(),
    }
}

/// A plain string, or the string inside a `!Sub "..."` (descriptions only).
fn plain_string(v: Option<&Yaml>) -> Option<String> {
    match v? {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Tagged(t) => t.value.as_str().map(str::to_owned),
        _ => None,
    }
}

fn schedule_string(resource: &str, field: &str, v: Option<&Yaml>) -> Result<Option<String>, Error> {
    match v {
        None => Ok(None),
        Some(Yaml::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(field_err(
            resource,
            field,
            format!(
                "expected a schedule expression string, got {}",
                describe(other)
            ),
        )),
    }
}

fn targets(resource: &str, v: Option<&Yaml>) -> Result<Vec<Target>, Error> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let Some(list) = v.as_sequence() else {
        return Err(field_err(
            resource,
            "Properties.Targets",
            format!("expected a list, got {}", describe(v)),
        ));
    };
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            let field = format!("Properties.Targets[{i}].Arn");
            let arn = t
                .get("Arn")
                .ok_or_else(|| field_err(resource, &field, "missing"))?;
            Ok(Target {
                id: t.get("Id").and_then(Yaml::as_str).map(str::to_owned),
                arn: target_arn(arn).ok_or_else(|| {
                    field_err(resource, &field, format!("cannot read {}", describe(arn)))
                })?,
            })
        })
        .collect()
}

fn target_arn(v: &Yaml) -> Option<TargetArn> {
    let get_att = |v: &Yaml| -> Option<TargetArn> {
        let (id, attr) = match v {
            Yaml::String(s) => s
                .split_once('.')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))?,
            Yaml::Sequence(parts) => match parts.as_slice() {
                [a, b] => (a.as_str()?.to_owned(), b.as_str()?.to_owned()),
                _ => return None,
            },
            _ => return None,
        };
        Some(TargetArn::GetAtt {
            logical_id: id,
            attribute: attr,
        })
    };
    match v {
        Yaml::String(s) => Some(TargetArn::Literal(s.clone())),
        Yaml::Tagged(t) => match t.tag.to_string().as_str() {
            "!Ref" => t.value.as_str().map(|s| TargetArn::Ref(s.to_owned())),
            "!GetAtt" => get_att(&t.value),
            other => Some(TargetArn::Unresolved(other.to_owned())),
        },
        Yaml::Mapping(m) if m.len() == 1 => {
            if let Some(r) = m.get("Ref") {
                r.as_str().map(|s| TargetArn::Ref(s.to_owned()))
            } else if let Some(g) = m.get("Fn::GetAtt") {
                get_att(g)
            } else {
                m.keys()
                    .next()
                    .and_then(Yaml::as_str)
                    .map(|k| TargetArn::Unresolved(k.to_owned()))
            }
        }
        _ => None,
    }
}

/// The event pattern as JSON: a YAML mapping, or a JSON string (the form
/// CloudFormation needs for `null` match values).
fn pattern_json(resource: &str, field: &str, v: &Yaml) -> Result<Json, Error> {
    match v {
        Yaml::String(text) => serde_json::from_str(text).map_err(|e| {
            field_err(
                resource,
                field,
                format!("the pattern string is not valid JSON: {e}"),
            )
        }),
        other => {
            yaml_to_json(other, field).map_err(|(at, message)| field_err(resource, &at, message))
        }
    }
}

fn yaml_to_json(v: &Yaml, at: &str) -> Result<Json, (String, String)> {
    Ok(match v {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Number(n) => {
            if let Some(u) = n.as_u64() {
                Json::Number(u.into())
            } else if let Some(i) = n.as_i64() {
                Json::Number(i.into())
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                Json::Number(
                    Number::from_f64(f)
                        .ok_or_else(|| (at.to_owned(), format!("{n} is not a finite number")))?,
                )
            }
        }
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Sequence(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| yaml_to_json(item, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(m) => {
            if let [(Yaml::String(k), _)] = m.iter().collect::<Vec<_>>().as_slice()
                && (k == "Ref" || k.starts_with("Fn::"))
            {
                return Err((at.to_owned(), intrinsic_message(k)));
            }
            let mut obj = Map::new();
            for (k, child) in m {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    other => {
                        return Err((
                            at.to_owned(),
                            format!("pattern keys must be strings, got {}", describe(other)),
                        ));
                    }
                };
                let child_at = format!("{at}.{key}");
                obj.insert(key, yaml_to_json(child, &child_at)?);
            }
            Json::Object(obj)
        }
        Yaml::Tagged(t) => return Err((at.to_owned(), intrinsic_message(&t.tag.to_string()))),
    })
}

fn intrinsic_message(tag: &str) -> String {
    format!(
        "the intrinsic function {tag} cannot be evaluated outside CloudFormation; \
         write the event pattern with literal values"
    )
}
