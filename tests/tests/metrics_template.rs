//! The template's alarms and dashboard name only metrics Cordon emits (the names in
//! `cordon_core::metrics`, in the dimension sets its lines use), and the Lambda errors
//! alarm covers every function the template deploys. A renamed metric would otherwise
//! leave an alarm that can never fire.
use cordon_core::metrics::{NAMESPACE, dimension, metric};
use cordon_template::{Call, Expr, Template};

fn template() -> Template {
    Template::load(&cordon_tests::workspace_root().join("infra/template.yaml"))
        .expect("infra/template.yaml")
}

fn text(expr: Option<&Expr>) -> Option<&str> {
    expr.and_then(Expr::as_str)
}

#[test]
fn alarms_on_cordon_metrics_name_emitted_metrics() {
    let template = template();
    let mut seen = 0;
    for alarm in template.resources_of_kind("AWS::CloudWatch::Alarm") {
        if text(alarm.property("Namespace")) == Some(NAMESPACE) {
            let name = text(alarm.property("MetricName")).expect("a metric name");
            assert!(
                metric::ALL.contains(&name),
                "{} alarms on {name}, which Cordon never emits",
                alarm.logical_id
            );
            assert!(
                alarm.property("Dimensions").is_none(),
                "{}: the totals have no dimensions",
                alarm.logical_id
            );
            seen += 1;
        }
    }
    assert!(seen >= 1, "no alarm on Cordon's own metrics");
}

#[test]
fn the_lambda_errors_alarm_covers_every_function() {
    let template = template();
    let alarm = template
        .resource("LambdaErrorsAlarm")
        .expect("LambdaErrorsAlarm");
    let watched: Vec<String> = alarm
        .property("Metrics")
        .and_then(Expr::as_list)
        .expect("metric math")
        .iter()
        .filter_map(|m| m.path(&["MetricStat", "Metric", "Dimensions"]))
        .filter_map(Expr::as_list)
        .flatten()
        .filter_map(|d| d.get("Value"))
        .filter_map(|v| match &v.as_intrinsic()?.call {
            Call::Ref(target) => Some(target.clone()),
            _ => None,
        })
        .collect();
    for function in template.functions() {
        assert!(
            watched.contains(&function.logical_id),
            "LambdaErrorsAlarm does not watch {}: {watched:?}",
            function.logical_id
        );
    }
}

#[test]
fn the_dashboard_shows_emitted_metrics_in_emitted_dimension_sets() {
    let template = template();
    let dashboard = template
        .resource("OperationsDashboard")
        .expect("OperationsDashboard");
    let body = dashboard
        .property("DashboardBody")
        .and_then(Expr::as_intrinsic)
        .and_then(|i| match &i.call {
            Call::Sub { template, .. } => Some(template.clone()),
            _ => None,
        })
        .expect("a !Sub body");
    // Literal metrics: ["Cordon", "Name", ...].
    let literal = format!("[\"{NAMESPACE}\", \"");
    let mut shown = 0;
    for (at, _) in body.match_indices(&literal) {
        let name = body[at + literal.len()..]
            .split('"')
            .next()
            .unwrap_or_default();
        assert!(
            metric::ALL.contains(&name),
            "the dashboard shows {name}, never emitted"
        );
        shown += 1;
    }
    // SEARCH('{Cordon,Dim,...} MetricName="Name"', ...).
    for (at, _) in body.match_indices(&format!("{{{NAMESPACE},")) {
        let rest = &body[at + 1..];
        let set: Vec<&str> = rest
            .split('}')
            .next()
            .unwrap_or_default()
            .split(',')
            .skip(1)
            .collect();
        assert!(
            dimension::SETS.contains(&set.as_slice()),
            "the dashboard searches the dimension set {set:?}, which no line uses"
        );
        let name = rest
            .split("MetricName=")
            .nth(1)
            .map(|n| n.trim_start_matches(['\\', '"']))
            .and_then(|n| n.split(['\\', '"']).next())
            .unwrap_or_default();
        assert!(
            metric::ALL.contains(&name),
            "the dashboard searches {name}, never emitted"
        );
        shown += 1;
    }
    assert!(shown >= 5, "{body}");
}
