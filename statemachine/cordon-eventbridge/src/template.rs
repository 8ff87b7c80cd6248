//! Reading EventBridge rules out of the SAM / CloudFormation template, through the one
//! template reader ([`cordon_template`]).
//!
//! Collected:
//! - every `AWS::Events::Rule` resource;
//! - the rules SAM generates from `Events` entries of type `EventBridgeRule`,
//!   `CloudWatchEvent`, `Schedule` or `ScheduleV2` on `AWS::Serverless::Function`
//!   and `AWS::Serverless::StateMachine` resources (logical id
//!   `<Resource><EventName>`, as SAM names them).
//!
//! Rules with an event pattern become [`Rule`]s; rules with only a
//! `ScheduleExpression` become [`ScheduleRule`]s. CloudFormation intrinsics
//! (`!Ref`, `!Sub`, `!GetAtt`, `!If`, ...) parse anywhere. Inside an event pattern they
//! are resolved against the stack's [`Values`] (the rules pin `account` to
//! `!Ref AWS::AccountId`), as CloudFormation would before `PutRule`; one that cannot be
//! resolved (an unknown name, `!If`, ...) is an error naming the resource and the field,
//! never a pattern that silently matches something else.

use std::path::Path;

use cordon_template::{Call, Expr, ResolveError, Resource, Template, Values};
use serde_json::Value as Json;

use crate::pattern::{EventPattern, PatternError};

/// Why the rules could not be read from a template.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The template itself could not be read (file, YAML, resources, intrinsics).
    #[error(transparent)]
    Template(#[from] cordon_template::Error),
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

    /// Whether EventBridge matches `event` against a rule in this state at all. A
    /// disabled rule matches nothing; an `ENABLED` rule is not offered the read-only
    /// management events AWS services deliver through CloudTrail ("Receiving read-only
    /// management events from AWS services", EventBridge User Guide); only
    /// `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS` receives those too.
    pub fn receives(self, event: &Json) -> bool {
        match self {
            RuleState::Disabled => false,
            RuleState::Enabled => !is_read_only_management_event(event),
            RuleState::EnabledWithAllCloudTrailManagementEvents => true,
        }
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

/// An AWS service's event recorded by CloudTrail (`detail-type` `… via CloudTrail`, an
/// `aws.*` source) for a read-only management call (`detail.readOnly` is `true`, and it is
/// not a data, network activity or Insights event).
fn is_read_only_management_event(event: &Json) -> bool {
    fn text(v: Option<&Json>) -> Option<&str> {
        v.and_then(Json::as_str)
    }
    let detail = event.get("detail");
    let field = |key: &str| detail.and_then(|d| d.get(key));
    text(event.get("source")).is_some_and(|s| s.starts_with("aws."))
        && text(event.get("detail-type")).is_some_and(|t| t.ends_with("via CloudTrail"))
        && field("readOnly") == Some(&Json::Bool(true))
        && field("managementEvent") != Some(&Json::Bool(false))
        && text(field("eventCategory")).is_none_or(|c| c.eq_ignore_ascii_case("management"))
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
pub struct RuleTarget {
    /// `Targets[].Id`, when it is a plain string.
    pub id: Option<String>,
    pub arn: TargetArn,
}

impl RuleTarget {
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
    pub targets: Vec<RuleTarget>,
}

impl Rule {
    pub fn is_enabled(&self) -> bool {
        self.state.is_enabled()
    }

    /// Whether EventBridge would deliver `event` to this rule: its state lets the rule see
    /// the event, and its pattern matches.
    pub fn receives(&self, event: &Json) -> bool {
        self.state.receives(event) && self.pattern.matches(event)
    }

    /// Logical ids of the targets written as `!Ref X` or `!GetAtt X.Arn`.
    pub fn target_logical_ids(&self) -> Vec<&str> {
        self.targets
            .iter()
            .filter_map(RuleTarget::logical_id)
            .collect()
    }
}

/// A rule that only runs on a schedule (no event pattern).
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRule {
    pub logical_id: String,
    pub description: Option<String>,
    pub state: RuleState,
    pub schedule_expression: String,
    pub targets: Vec<RuleTarget>,
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
    /// Reads and parses the template at `path`; intrinsics in patterns resolve against
    /// `values`.
    pub fn load(path: &Path, values: &Values) -> Result<Self, Error> {
        Self::from_template(&Template::load(path)?, values)
    }

    /// Parses template text; intrinsics in patterns resolve against `values`.
    pub fn parse(yaml: &str, values: &Values) -> Result<Self, Error> {
        Self::from_template(&Template::parse(yaml)?, values)
    }

    /// The rules of a parsed template, in template order, with the intrinsics in their
    /// patterns resolved against `values` (the stack's account, region, parameters).
    pub fn from_template(template: &Template, values: &Values) -> Result<Self, Error> {
        let mut out = Rules::default();
        for resource in template.resources() {
            match resource.kind.as_str() {
                "AWS::Events::Rule" => out.add_events_rule(resource, values)?,
                "AWS::Serverless::Function" | "AWS::Serverless::StateMachine" => {
                    out.add_sam_events(resource, values)?
                }
                _ => {}
            }
        }
        Ok(out)
    }

    fn add_events_rule(&mut self, resource: &Resource, values: &Values) -> Result<(), Error> {
        let id = resource.logical_id.as_str();
        let props = &resource.properties;
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
                            v.describe()
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
            id.to_owned(),
            description,
            state,
            Pattern {
                resource: id,
                expr: props.get("EventPattern"),
                field: "Properties.EventPattern",
                values,
            },
            schedule,
            targets,
        )
    }

    fn add_sam_events(&mut self, resource: &Resource, values: &Values) -> Result<(), Error> {
        let resource_id = resource.logical_id.as_str();
        let events = match &resource.serverless {
            cordon_template::Serverless::Function(f) => &f.events,
            cordon_template::Serverless::StateMachine(m) => &m.events,
            cordon_template::Serverless::None => return Ok(()),
        };
        for event in events {
            let kind = event.kind.as_str();
            if !matches!(
                kind,
                "EventBridgeRule" | "CloudWatchEvent" | "Schedule" | "ScheduleV2"
            ) {
                continue;
            }
            let name = &event.name;
            let id = format!("{resource_id}{name}");
            let props = &event.properties;
            let base = format!("Properties.Events.{name}.Properties");
            let state = match (props.get("State"), props.get("Enabled")) {
                (Some(v), _) => v.as_str().and_then(RuleState::parse).ok_or_else(|| {
                    field_err(
                        resource_id,
                        &format!("{base}.State"),
                        format!("unsupported state {}", v.describe()),
                    )
                })?,
                (None, Some(Expr::Bool(false))) => RuleState::Disabled,
                _ => RuleState::Enabled,
            };
            let schedule_field = if kind == "ScheduleV2" {
                "ScheduleExpression"
            } else {
                "Schedule"
            };
            let schedule = schedule_string(
                resource_id,
                &format!("{base}.{schedule_field}"),
                props.get(schedule_field),
            )?;
            let targets = vec![RuleTarget {
                id: None,
                arn: TargetArn::Ref(resource_id.to_owned()),
            }];
            let description = plain_string(props.get("Description"));
            let pattern_field = format!("{base}.Pattern");
            self.push(
                id,
                description,
                state,
                Pattern {
                    resource: resource_id,
                    expr: props.get("Pattern"),
                    field: &pattern_field,
                    values,
                },
                schedule,
                targets,
            )?;
        }
        Ok(())
    }

    fn push(
        &mut self,
        logical_id: String,
        description: Option<String>,
        state: RuleState,
        pattern: Pattern<'_>,
        schedule: Option<String>,
        targets: Vec<RuleTarget>,
    ) -> Result<(), Error> {
        let (resource, pattern_field) = (pattern.resource, pattern.field);
        match (pattern.expr, schedule) {
            (Some(p), schedule_expression) => {
                let json = pattern_json(resource, pattern_field, p, pattern.values)?;
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

/// A rule's event pattern as written, where, and what its intrinsics resolve against.
struct Pattern<'a> {
    /// The resource that declares it (a SAM function or state machine for its events).
    resource: &'a str,
    expr: Option<&'a Expr>,
    field: &'a str,
    values: &'a Values,
}

/// Reads the rules with an event pattern from the template at `template_path`, resolved
/// against the stack's `values`.
pub fn load_rules(template_path: &Path, values: &Values) -> Result<Vec<Rule>, Error> {
    Rules::load(template_path, values).map(|r| r.rules)
}

/// Parses the rules with an event pattern from template text whose patterns are literal:
/// any intrinsic in a pattern is refused (nothing is known to resolve it against).
pub fn rules_from_str(yaml: &str) -> Result<Vec<Rule>, Error> {
    Rules::parse(yaml, &Values::default()).map(|r| r.rules)
}

/// A plain string, or the text of a `!Sub "..."` (descriptions only).
fn plain_string(v: Option<&Expr>) -> Option<String> {
    match v? {
        Expr::String(s) => Some(s.clone()),
        Expr::Intrinsic(i) => match &i.call {
            Call::Sub { template, .. } => Some(template.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn schedule_string(resource: &str, field: &str, v: Option<&Expr>) -> Result<Option<String>, Error> {
    match v {
        None => Ok(None),
        Some(Expr::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(field_err(
            resource,
            field,
            format!(
                "expected a schedule expression string, got {}",
                other.describe()
            ),
        )),
    }
}

fn targets(resource: &str, v: Option<&Expr>) -> Result<Vec<RuleTarget>, Error> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let Some(list) = v.as_list() else {
        return Err(field_err(
            resource,
            "Properties.Targets",
            format!("expected a list, got {}", v.describe()),
        ));
    };
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            let field = format!("Properties.Targets[{i}].Arn");
            let arn = t
                .get("Arn")
                .ok_or_else(|| field_err(resource, &field, "missing"))?;
            Ok(RuleTarget {
                id: t.get("Id").and_then(Expr::as_str).map(str::to_owned),
                arn: target_arn(arn).ok_or_else(|| {
                    field_err(resource, &field, format!("cannot read {}", arn.describe()))
                })?,
            })
        })
        .collect()
}

fn target_arn(v: &Expr) -> Option<TargetArn> {
    match v {
        Expr::String(s) => Some(TargetArn::Literal(s.clone())),
        Expr::Intrinsic(i) => Some(match &i.call {
            Call::Ref(id) => TargetArn::Ref(id.clone()),
            Call::GetAtt {
                logical_id,
                attribute,
            } => TargetArn::GetAtt {
                logical_id: logical_id.clone(),
                attribute: attribute.clone(),
            },
            _ => TargetArn::Unresolved(i.written_name()),
        }),
        _ => None,
    }
}

/// The event pattern as JSON: a mapping whose intrinsics resolve against `values`, or a
/// JSON string (the form CloudFormation needs for `null` match values).
fn pattern_json(resource: &str, field: &str, v: &Expr, values: &Values) -> Result<Json, Error> {
    match v {
        Expr::String(text) => serde_json::from_str(text).map_err(|e| {
            field_err(
                resource,
                field,
                format!("the pattern string is not valid JSON: {e}"),
            )
        }),
        other => resolve_in_pattern(other, field, values).map_err(|(at, e)| {
            field_err(
                resource,
                &at,
                format!(
                    "{e}; an event pattern may only use intrinsics the stack's values \
                     resolve (such as !Ref AWS::AccountId)"
                ),
            )
        }),
    }
}

/// `v` with every intrinsic resolved, or the path of the first one that cannot be.
fn resolve_in_pattern(v: &Expr, at: &str, values: &Values) -> Result<Json, (String, ResolveError)> {
    Ok(match v {
        Expr::List(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| resolve_in_pattern(item, &format!("{at}[{i}]"), values))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, item)| {
                    Ok((
                        k.clone(),
                        resolve_in_pattern(item, &format!("{at}.{k}"), values)?,
                    ))
                })
                .collect::<Result<_, _>>()?,
        ),
        Expr::Intrinsic(_) => values.resolve(v).map_err(|e| (at.to_owned(), e))?,
        scalar => values.resolve(scalar).map_err(|e| (at.to_owned(), e))?,
    })
}
