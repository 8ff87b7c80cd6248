//! The fields of each state type: what `Parser::state` reads after the common fields, in the
//! state's query language.
use serde_json::Value;

use super::choice_rules::parse_rule;
use super::model::{
    ChoiceBranch, Condition, ErrorHandling, Items, Kind, MapSpec, TaskSpec, WaitSpec,
};
use super::parser::Parser;
use super::reader::Obj;
use super::retry_catch::error_handling;
use crate::choice;
use crate::dataflow::{
    DataFlow, Expr, FixedOrPath, JsonataScope, OptPath, QueryLanguage, Template,
};
use crate::resource::Resource;

impl Parser {
    pub(super) fn pass(&mut self, o: &mut Obj<'_>, flow: &mut DataFlow) -> Option<Kind> {
        let mut result = None;
        if let DataFlow::JsonPath(f) = flow {
            f.parameters = o.template("Parameters");
            result = o.raw("Result").cloned();
            f.result_path = o.opt_path("ResultPath", true);
        }
        Some(Kind::Pass { result })
    }

    pub(super) fn task(&mut self, o: &mut Obj<'_>, flow: &mut DataFlow) -> Option<Kind> {
        let resource = o.required::<String>("Resource");
        let errors = results_and_errors(o, flow, true);
        let timeout = o.seconds_or_path("TimeoutSeconds", true);
        let heartbeat = o.seconds_or_path("HeartbeatSeconds", true);
        if let (Some(FixedOrPath::Fixed(t)), Some(FixedOrPath::Fixed(h))) = (&timeout, &heartbeat)
            && h >= t
        {
            o.err(
                "HeartbeatSeconds",
                &format!("must be smaller than TimeoutSeconds ({h} >= {t})"),
            );
        }
        if o.raw("Credentials").is_some_and(|c| !c.is_object()) {
            o.err("Credentials", "must be a JSON object");
        }
        Some(Kind::Task(Box::new(TaskSpec {
            resource: Resource::parse(&resource?),
            timeout,
            heartbeat,
            errors,
        })))
    }

    pub(super) fn choice(&mut self, o: &mut Obj<'_>) -> Option<Kind> {
        let default = o.get::<String>("Default");
        let items = o.non_empty_array("Choices", "choice rules")?;
        let mut choices = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("Choices[{i}]");
            let mut problems = Vec::new();
            let branch = match o.language {
                QueryLanguage::JsonPath => jsonpath_branch(item, &at, &mut problems),
                QueryLanguage::JsonAta => jsonata_branch(item, i, &mut problems),
            };
            o.problems(problems);
            choices.extend(branch);
        }
        Some(Kind::Choice { choices, default })
    }

    fn branch(&mut self, o: &mut Obj<'_>, v: &Value, owner: &str, prefix: &str) -> Option<usize> {
        let Some(m) = v.as_object() else {
            o.err(prefix.trim_end_matches('.'), "must be a JSON object");
            return None;
        };
        let allowed = ["StartAt", "States", "Comment", "ProcessorConfig"];
        for k in m.keys() {
            if !allowed.contains(&k.as_str()) {
                o.err(&format!("{prefix}{k}"), "is not supported (unknown field)");
            }
        }
        Some(self.machine(m, Some(owner), prefix))
    }

    pub(super) fn parallel(
        &mut self,
        o: &mut Obj<'_>,
        flow: &mut DataFlow,
        name: &str,
    ) -> Option<Kind> {
        let errors = results_and_errors(o, flow, true);
        let items = o.non_empty_array("Branches", "branches")?;
        let mut branches = Vec::new();
        for (i, b) in items.iter().enumerate() {
            if let Some(idx) = self.branch(o, b, name, &format!("Branches[{i}].")) {
                branches.push(idx);
            }
        }
        Some(Kind::Parallel { branches, errors })
    }

    pub(super) fn map(&mut self, o: &mut Obj<'_>, flow: &mut DataFlow, name: &str) -> Option<Kind> {
        o.exclusive("Parameters", "ItemSelector");
        let selector_key = if o.raw("ItemSelector").is_some() {
            "ItemSelector"
        } else {
            "Parameters"
        };
        let errors = results_and_errors(o, flow, false);
        let item_selector = o.template(selector_key);
        let items = match o.language {
            QueryLanguage::JsonPath => Items::Path(match o.opt_path("ItemsPath", false) {
                OptPath::Null => {
                    o.err("ItemsPath", "must be a path, not null");
                    OptPath::Default
                }
                p => p,
            }),
            QueryLanguage::JsonAta => {
                let items = o.template("Items");
                if let Some(Template::Const(v)) = &items
                    && !v.is_array()
                {
                    o.err("Items", "must be a JSON array or a JSONata expression");
                }
                Items::Jsonata(items)
            }
        };
        let processor_key = match (o.raw("ItemProcessor"), o.raw("Iterator")) {
            (Some(_), Some(_)) => {
                o.err("Iterator", "cannot be used together with 'ItemProcessor'");
                return None;
            }
            (Some(_), None) => "ItemProcessor",
            (None, Some(_)) => "Iterator",
            (None, None) => {
                o.err("ItemProcessor", "is required");
                return None;
            }
        };
        let proc_value = o.raw(processor_key)?;
        let mut distributed = false;
        if let Some(cfg) = proc_value.get("ProcessorConfig") {
            distributed = check_processor_config(o, cfg, processor_key);
        }
        let processor = self.branch(o, proc_value, name, &format!("{processor_key}."))?;
        let max_concurrency = o
            .seconds_or_path("MaxConcurrency", false)
            .unwrap_or(FixedOrPath::Fixed(0));
        let tolerated_percentage = tolerance(o, "ToleratedFailurePercentage", Some(100.0));
        let tolerated_count = tolerance(o, "ToleratedFailureCount", None);
        let (mut max_items_per_batch, mut batch_input) = (None, None);
        if let Some(b) = o.raw("ItemBatcher") {
            match b.as_object() {
                Some(bm) => {
                    let mut bo = Obj::new(
                        bm,
                        o.state.as_deref(),
                        "ItemBatcher.",
                        &[
                            "MaxItemsPerBatch",
                            "BatchInput",
                            "MaxInputBytesPerBatch",
                            "MaxItemsPerBatchPath",
                            "MaxInputBytesPerBatchPath",
                        ],
                        o.language,
                    );
                    max_items_per_batch = bo.positive_int("MaxItemsPerBatch").or(Some(u64::MAX));
                    batch_input = bo.template("BatchInput");
                    bo.positive_int("MaxInputBytesPerBatch");
                    o.errs.append(&mut bo.errs);
                }
                None => o.err("ItemBatcher", "must be a JSON object"),
            }
        }
        if o.raw("ResultWriter").is_some_and(|w| !w.is_object()) {
            o.err("ResultWriter", "must be a JSON object");
        }
        if let Some(l) = o.get::<String>("Label")
            && l.chars().count() > 40
        {
            o.err("Label", "must be at most 40 characters");
        }
        Some(Kind::Map(Box::new(MapSpec {
            processor,
            items,
            item_selector,
            max_concurrency,
            tolerated_percentage,
            tolerated_count,
            max_items_per_batch,
            batch_input,
            has_item_reader: o.raw("ItemReader").is_some(),
            distributed,
            errors,
        })))
    }

    pub(super) fn wait(&mut self, o: &mut Obj<'_>) -> Option<Kind> {
        let keys = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"];
        let present: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| o.raw(k).is_some())
            .collect();
        if present.len() != 1 {
            o.err(
                "Seconds",
                "exactly one of 'Seconds', 'SecondsPath', 'Timestamp' or 'TimestampPath' is required",
            );
            return None;
        }
        match present[0] {
            "Seconds" | "SecondsPath" => o.seconds_or_path("Seconds", false).map(WaitSpec::Seconds),
            "Timestamp" => {
                if o.language == QueryLanguage::JsonAta
                    && let Some(j) = o.jsonata("Timestamp")
                {
                    return Some(Kind::Wait(WaitSpec::TimestampExpr(j)));
                }
                let s = o.get::<String>("Timestamp")?;
                match choice::parse_timestamp(&s) {
                    Some(t) => Some(WaitSpec::Timestamp(t)),
                    None => {
                        o.err(
                            "Timestamp",
                            "must be an RFC 3339 timestamp, such as 2016-03-14T01:59:00Z",
                        );
                        None
                    }
                }
            }
            _ => o.ref_path("TimestampPath").map(WaitSpec::TimestampPath),
        }
        .map(Kind::Wait)
    }

    pub(super) fn fail(&mut self, o: &mut Obj<'_>) -> Option<Kind> {
        Some(Kind::Fail {
            error: fail_field(o, "Error"),
            cause: fail_field(o, "Cause"),
        })
    }
}

/// A JSONPath Choice rule: a comparison or And/Or/Not, `Next`, and an optional `Assign`.
fn jsonpath_branch(
    item: &Value,
    at: &str,
    problems: &mut Vec<(String, String)>,
) -> Option<ChoiceBranch> {
    let rule = parse_rule(item, at, true, problems);
    let next = item.get("Next").and_then(Value::as_str).map(str::to_owned);
    let assign = item.get("Assign").and_then(|a| {
        crate::dataflow::Assign::compile(
            a,
            QueryLanguage::JsonPath,
            &format!("{at}.Assign"),
            JsonataScope {
                error_output: false,
            },
            problems,
        )
    });
    Some(ChoiceBranch {
        condition: Condition::Rule(rule?),
        next: next?,
        assign,
        output: None,
    })
}

/// A JSONata Choice rule: `Condition`, `Next`, and optional `Assign` and `Output`.
fn jsonata_branch(
    item: &Value,
    i: usize,
    problems: &mut Vec<(String, String)>,
) -> Option<ChoiceBranch> {
    let at = format!("Choices[{i}]");
    let Some(m) = item.as_object() else {
        problems.push((at, "must be a JSON object".into()));
        return None;
    };
    for k in m.keys() {
        if !matches!(
            k.as_str(),
            "Condition" | "Next" | "Comment" | "Assign" | "Output"
        ) {
            let message = if choice::Operator::from_name(k).is_some()
                || matches!(k.as_str(), "Variable" | "And" | "Or" | "Not")
            {
                format!(
                    "is refused: The QueryLanguage is set to 'JSONata', but field '{k}' is only supported for the 'JSONPath' QueryLanguage"
                )
            } else {
                "is not supported (unknown field)".into()
            };
            problems.push((format!("{at}.{k}"), message));
        }
    }
    let scope = JsonataScope {
        error_output: false,
    };
    let condition = match m.get("Condition") {
        None => {
            problems.push((format!("{at}.Condition"), "is required".into()));
            None
        }
        Some(c @ (Value::Bool(_) | Value::String(_))) => {
            let t = Template::compile(
                c,
                QueryLanguage::JsonAta,
                &format!("{at}/Condition"),
                scope,
                problems,
            );
            if let Template::Const(Value::String(_)) = t {
                problems.push((
                    format!("{at}.Condition"),
                    "must be a boolean or a JSONata expression ('{% ... %}')".into(),
                ));
            }
            Some(t)
        }
        Some(_) => {
            problems.push((
                format!("{at}.Condition"),
                "must be a boolean or a JSONata expression ('{% ... %}')".into(),
            ));
            None
        }
    };
    let next = match m.get("Next") {
        Some(Value::String(n)) => Some(n.clone()),
        _ => {
            problems.push((
                format!("{at}.Next"),
                "is required in a top-level choice rule".into(),
            ));
            None
        }
    };
    let assign = m.get("Assign").and_then(|a| {
        crate::dataflow::Assign::compile(
            a,
            QueryLanguage::JsonAta,
            &format!("{at}/Assign"),
            scope,
            problems,
        )
    });
    let output = m.get("Output").map(|v| {
        Template::compile(
            v,
            QueryLanguage::JsonAta,
            &format!("{at}/Output"),
            scope,
            problems,
        )
    });
    Some(ChoiceBranch {
        condition: Condition::Jsonata(condition?),
        next: next?,
        assign,
        output,
    })
}

/// Checks `ProcessorConfig`; true for `"Mode": "DISTRIBUTED"`.
fn check_processor_config(o: &mut Obj<'_>, cfg: &Value, processor_key: &str) -> bool {
    let Some(m) = cfg.as_object() else {
        o.err(
            &format!("{processor_key}.ProcessorConfig"),
            "must be a JSON object",
        );
        return false;
    };
    let mut distributed = false;
    for (k, v) in m {
        let field = format!("{processor_key}.ProcessorConfig.{k}");
        match (k.as_str(), v.as_str()) {
            ("Mode", Some("INLINE")) => {}
            ("Mode", Some("DISTRIBUTED")) => distributed = true,
            ("Mode", _) => o.err(&field, "must be \"INLINE\" or \"DISTRIBUTED\""),
            ("ExecutionType", Some("STANDARD" | "EXPRESS")) => {}
            ("ExecutionType", _) => o.err(&field, "must be \"STANDARD\" or \"EXPRESS\""),
            _ => o.err(&field, "is not supported (unknown field)"),
        }
    }
    distributed
}

fn tolerance(o: &mut Obj<'_>, key: &str, max: Option<f64>) -> Option<FixedOrPath<f64>> {
    if o.language == QueryLanguage::JsonAta
        && let Some(j) = o.jsonata(key)
    {
        return Some(FixedOrPath::Jsonata(j));
    }
    let path_key = format!("{key}Path");
    o.exclusive(key, &path_key);
    if let Some(v) = o.raw(key) {
        let ok = match max {
            Some(m) => v.as_f64().filter(|x| (0.0..=m).contains(x)),
            None => v.as_u64().map(|n| n as f64),
        };
        return match ok {
            Some(x) => Some(FixedOrPath::Fixed(x)),
            None => {
                let msg = match max {
                    Some(m) => format!("must be a number between 0 and {m}"),
                    None => "must be a non-negative integer".to_owned(),
                };
                o.err(key, &msg);
                None
            }
        };
    }
    o.ref_path(&path_key).map(FixedOrPath::Path)
}

/// A Fail state's `Error` or `Cause`: a literal string, a JSONata expression, or (JSONPath)
/// `ErrorPath`/`CausePath`, a reference path or an intrinsic function.
fn fail_field(o: &mut Obj<'_>, key: &str) -> Option<Template> {
    let path_key = format!("{key}Path");
    o.exclusive(key, &path_key);
    if o.raw(key).is_some() {
        if o.language == QueryLanguage::JsonAta
            && let Some(j) = o.jsonata(key)
        {
            return Some(Template::Dynamic {
                field: key.to_owned(),
                expr: Expr::Jsonata(j),
            });
        }
        return o
            .get::<String>(key)
            .map(|s| Template::Const(Value::String(s)));
    }
    let s = o.get::<String>(&path_key)?;
    let checked = if crate::intrinsics::is_intrinsic(&s) {
        Expr::jsonpath(&s)
    } else {
        crate::paths::validate_reference_path(&s)
            .map_err(|e| format!("is not a valid reference path: {e}"))
            .and_then(|()| Expr::jsonpath(&s))
    };
    match checked {
        Ok(expr) => Some(Template::Dynamic {
            field: path_key,
            expr,
        }),
        Err(e) => {
            o.err(&path_key, &e);
            None
        }
    }
}

/// Parameters (JSONPath, when `parameters` is set) or Arguments (JSONata), ResultSelector and
/// ResultPath into `flow`; then Retry and Catch.
fn results_and_errors(o: &mut Obj<'_>, flow: &mut DataFlow, parameters: bool) -> ErrorHandling {
    match flow {
        DataFlow::JsonPath(f) => {
            if parameters {
                f.parameters = o.template("Parameters");
            }
            f.result_selector = o.template("ResultSelector");
            f.result_selector_takes = f.result_selector.as_ref().is_some_and(|t| t.can_take());
            f.result_path = o.opt_path("ResultPath", true);
        }
        DataFlow::JsonAta(f) => {
            if parameters {
                f.arguments = o.template("Arguments");
            }
        }
    }
    error_handling(o)
}
