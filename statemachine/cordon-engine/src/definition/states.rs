//! The fields of each state type: what `Parser::state` reads after the common fields.
use serde_json::Value;

use super::choice_rules::parse_rule;
use super::model::{ErrorHandling, Expr, Kind, MapSpec, TaskSpec, WaitSpec};
use super::parser::Parser;
use super::reader::Obj;
use super::retry_catch::error_handling;
use crate::choice;
use crate::dataflow::{DataFlow, FixedOrPath, OptPath};
use crate::resource::Resource;
use crate::{intrinsics, paths};

impl Parser {
    pub(super) fn pass(&mut self, o: &mut Obj<'_>, flow: &mut DataFlow) -> Option<Kind> {
        flow.parameters = o.template("Parameters");
        let result = o.raw("Result").cloned();
        flow.result_path = o.opt_path("ResultPath", true);
        Some(Kind::Pass { result })
    }

    pub(super) fn task(&mut self, o: &mut Obj<'_>, flow: &mut DataFlow) -> Option<Kind> {
        let resource = o.required::<String>("Resource");
        let errors = results_and_errors(o, flow, Some("Parameters"));
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
            let rule = parse_rule(item, &at, true, &mut problems);
            let next = item.get("Next").and_then(Value::as_str).map(str::to_owned);
            o.problems(problems);
            if let (Some(rule), Some(next)) = (rule, next) {
                choices.push((rule, next));
            }
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
        let errors = results_and_errors(o, flow, Some("Parameters"));
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
        let errors = results_and_errors(o, flow, None);
        let item_selector = o.template(selector_key);
        let items_path = match o.opt_path("ItemsPath", false) {
            OptPath::Null => {
                o.err("ItemsPath", "must be a path, not null");
                OptPath::Default
            }
            p => p,
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
        if let Some(cfg) = proc_value.get("ProcessorConfig") {
            check_processor_config(o, cfg, processor_key);
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
            items_path,
            item_selector,
            max_concurrency,
            tolerated_percentage,
            tolerated_count,
            max_items_per_batch,
            batch_input,
            has_item_reader: o.raw("ItemReader").is_some(),
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
            "Seconds" => o.non_negative_int("Seconds").map(WaitSpec::Seconds),
            "SecondsPath" => o.ref_path("SecondsPath").map(WaitSpec::SecondsPath),
            "Timestamp" => {
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
            error: fail_expr(o, "Error"),
            cause: fail_expr(o, "Cause"),
        })
    }
}

fn check_processor_config(o: &mut Obj<'_>, cfg: &Value, processor_key: &str) {
    let Some(m) = cfg.as_object() else {
        o.err(
            &format!("{processor_key}.ProcessorConfig"),
            "must be a JSON object",
        );
        return;
    };
    for (k, v) in m {
        let field = format!("{processor_key}.ProcessorConfig.{k}");
        match (k.as_str(), v.as_str()) {
            ("Mode", Some("INLINE" | "DISTRIBUTED")) => {}
            ("Mode", _) => o.err(&field, "must be \"INLINE\" or \"DISTRIBUTED\""),
            ("ExecutionType", Some("STANDARD" | "EXPRESS")) => {}
            ("ExecutionType", _) => o.err(&field, "must be \"STANDARD\" or \"EXPRESS\""),
            _ => o.err(&field, "is not supported (unknown field)"),
        }
    }
}

fn tolerance(o: &mut Obj<'_>, key: &str, max: Option<f64>) -> Option<FixedOrPath<f64>> {
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

fn fail_expr(o: &mut Obj<'_>, key: &str) -> Option<Expr> {
    let path_key = format!("{key}Path");
    o.exclusive(key, &path_key);
    if let Some(s) = o.get::<String>(key) {
        return Some(Expr::Literal(s));
    }
    let s = o.get::<String>(&path_key)?;
    if intrinsics::is_intrinsic(&s) {
        match intrinsics::validate(&s) {
            Ok(()) => Some(Expr::Intrinsic(s)),
            Err(e) => {
                o.err(
                    &path_key,
                    &format!("is not a valid intrinsic function call: {e}"),
                );
                None
            }
        }
    } else {
        match paths::validate_reference_path(&s) {
            Ok(()) => Some(Expr::Path(s)),
            Err(e) => {
                o.err(&path_key, &format!("is not a valid reference path: {e}"));
                None
            }
        }
    }
}

/// Parameters (under `parameters_key`), ResultSelector and ResultPath into `flow`; then
/// Retry and Catch.
fn results_and_errors(
    o: &mut Obj<'_>,
    flow: &mut DataFlow,
    parameters_key: Option<&str>,
) -> ErrorHandling {
    flow.parameters = parameters_key.and_then(|k| o.template(k));
    flow.result_selector = o.template("ResultSelector");
    flow.result_path = o.opt_path("ResultPath", true);
    error_handling(o)
}
