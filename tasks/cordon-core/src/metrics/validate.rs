//! The Embedded Metric Format specification's rules, checked on a rendered line, as
//! CloudWatch Logs applies them before it extracts a metric (a line that breaks one is
//! kept as a log line and yields no metric, silently):
//!
//! - the root is an object with `_aws`, an object holding `Timestamp` (a non-negative
//!   integer of milliseconds since the epoch) and `CloudWatchMetrics` (an array of
//!   directives);
//! - a directive has `Namespace` (1 to 1024 characters), `Dimensions` (an array of
//!   dimension sets, each an array of at most 30 dimension names) and `Metrics` (an array
//!   of at most 100 `{Name, Unit?, StorageResolution?}`, `Name` 1 to 1024 characters, `Unit`
//!   one of CloudWatch's standard units, `StorageResolution` 1 or 60);
//! - every dimension a set names is a top-level member whose value is a string;
//! - every metric a directive declares is a top-level member whose value is a number or
//!   an array of at most 100 numbers.
use serde_json::Value;

/// CloudWatch's `StandardUnit` values.
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// The first rule a line breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not valid Embedded Metric Format: {0}")]
pub struct EmfViolation(pub String);

fn violation<T>(message: impl Into<String>) -> Result<T, EmfViolation> {
    Err(EmfViolation(message.into()))
}

fn name_ok(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| !s.is_empty() && s.chars().count() <= 1024)
}

/// Checks one line against the specification.
pub fn validate(line: &str) -> Result<(), EmfViolation> {
    let Ok(Value::Object(root)) = serde_json::from_str::<Value>(line) else {
        return violation("the line is not a JSON object");
    };
    let Some(Value::Object(aws)) = root.get("_aws") else {
        return violation("`_aws` is missing or not an object");
    };
    if aws.get("Timestamp").is_none_or(|t| t.as_u64().is_none()) {
        return violation("`_aws.Timestamp` must be milliseconds since the epoch (an integer)");
    }
    let Some(Value::Array(directives)) = aws.get("CloudWatchMetrics") else {
        return violation("`_aws.CloudWatchMetrics` must be an array");
    };
    for directive in directives {
        if !name_ok(&directive["Namespace"]) {
            return violation("a directive's `Namespace` must be 1 to 1024 characters");
        }
        let Some(sets) = directive["Dimensions"].as_array() else {
            return violation("a directive's `Dimensions` must be an array of arrays");
        };
        for set in sets {
            let Some(set) = set.as_array() else {
                return violation("a dimension set must be an array of names");
            };
            if set.len() > 30 {
                return violation(format!(
                    "a dimension set has {} dimensions (at most 30)",
                    set.len()
                ));
            }
            for dimension in set {
                let Some(name) = dimension.as_str() else {
                    return violation("a dimension name must be a string");
                };
                if !root.get(name).is_some_and(Value::is_string) {
                    return violation(format!(
                        "dimension {name:?} has no string value at the top level"
                    ));
                }
            }
        }
        let Some(metrics) = directive["Metrics"].as_array() else {
            return violation("a directive's `Metrics` must be an array");
        };
        if metrics.len() > 100 {
            return violation(format!(
                "a directive declares {} metrics (at most 100)",
                metrics.len()
            ));
        }
        for metric in metrics {
            if !name_ok(&metric["Name"]) {
                return violation("a metric's `Name` must be 1 to 1024 characters");
            }
            let name = metric["Name"].as_str().unwrap_or_default();
            if let Some(unit) = metric.get("Unit")
                && !unit.as_str().is_some_and(|u| UNITS.contains(&u))
            {
                return violation(format!(
                    "metric {name:?} has unit {unit}, not a standard unit"
                ));
            }
            if let Some(resolution) = metric.get("StorageResolution")
                && !matches!(resolution.as_u64(), Some(1 | 60))
            {
                return violation(format!(
                    "metric {name:?}: StorageResolution must be 1 or 60"
                ));
            }
            match root.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values))
                    if values.len() <= 100 && values.iter().all(Value::is_number) => {}
                Some(Value::Array(values)) if values.len() > 100 => {
                    return violation(format!(
                        "metric {name:?} has {} values (at most 100)",
                        values.len()
                    ));
                }
                _ => {
                    return violation(format!(
                        "metric {name:?} has no numeric value at the top level"
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"{"_aws":{"Timestamp":1574109732004,"CloudWatchMetrics":[{"Namespace":"lambda-function-metrics","Dimensions":[["functionVersion"]],"Metrics":[{"Name":"time","Unit":"Milliseconds","StorageResolution":60}]}]},"functionVersion":"$LATEST","time":100,"requestId":"989ffbf8-9ace-4817-a57c-e4dd734019ee"}"#;

    #[test]
    fn the_specifications_example_is_valid() {
        validate(VALID).unwrap();
    }

    #[test]
    fn each_rule_is_checked() {
        let broken = |from: &str, to: &str| {
            let line = VALID.replacen(from, to, 1);
            assert_ne!(line, VALID, "{from} not in the example");
            validate(&line).expect_err(&line)
        };
        broken("1574109732004", "\"2019-11-18\"");
        broken("\"lambda-function-metrics\"", "\"\"");
        broken("\"functionVersion\":\"$LATEST\",", "");
        broken("\"functionVersion\":\"$LATEST\"", "\"functionVersion\":1");
        broken("\"time\":100", "\"time\":\"100\"");
        broken("\"Milliseconds\"", "\"Millis\"");
        broken("\"StorageResolution\":60", "\"StorageResolution\":5");
        broken("{\"_aws\"", "{\"_aws_\"");
        assert!(validate("[]").is_err());
        let many: Vec<String> = (0..101).map(|i| format!("{{\"Name\":\"m{i}\"}}")).collect();
        let line = VALID.replacen(
            r#"{"Name":"time","Unit":"Milliseconds","StorageResolution":60}"#,
            &many.join(","),
            1,
        );
        assert!(validate(&line).unwrap_err().0.contains("101 metrics"));
        let values: Vec<String> = (0..101).map(|i| i.to_string()).collect();
        let line = VALID.replacen(
            "\"time\":100",
            &format!("\"time\":[{}]", values.join(",")),
            1,
        );
        assert!(validate(&line).unwrap_err().0.contains("101 values"));
    }
}
