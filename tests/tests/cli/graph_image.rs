//! The graph of a real execution as an image: `cordon graph <incident> --format svg` must
//! be an SVG that parses (as XML, and as an image resvg can draw) and that names every
//! state on the path the execution took, each with the status its history gives it; a
//! `.png` must be a PNG of the same picture.
use std::collections::BTreeMap;

use super::fixture::fixture;

/// State → status for every state on the path, from the execution's own history.
fn expected_statuses(execution: &str) -> BTreeMap<String, &'static str> {
    let f = fixture();
    let history = f.block_on(async {
        f.stack
            .sfn_client
            .get_execution_history()
            .execution_arn(execution)
            .max_results(1000)
            .send()
            .await
    });
    let events = history.expect("GetExecutionHistory").events;
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut failed = false;
    for e in &events {
        if let Some(d) = &e.state_entered_event_details {
            if let Some(prev) = current.take() {
                out.insert(prev, if failed { "caught" } else { "succeeded" });
            }
            current = Some(d.name.clone());
            failed = false;
        } else if e.task_failed_event_details.is_some()
            || e.lambda_function_failed_event_details.is_some()
        {
            failed = true;
        } else if e.task_scheduled_event_details.is_some()
            || e.lambda_function_scheduled_event_details.is_some()
        {
            failed = false;
        } else if let Some(d) = &e.state_exited_event_details {
            out.insert(d.name.clone(), if failed { "caught" } else { "succeeded" });
            if current.as_deref() == Some(d.name.as_str()) {
                current = None;
            }
        } else if e.execution_failed_event_details.is_some()
            && let Some(prev) = current.take()
        {
            out.insert(prev, "failed");
        } else if e.r#type == aws_sdk_sfn::types::HistoryEventType::ExecutionSucceeded
            && let Some(prev) = current.take()
        {
            out.insert(prev, "succeeded");
        }
    }
    if let Some(prev) = current {
        out.insert(prev, "in progress");
    }
    out
}

fn check_svg(incident: &str) {
    let f = fixture();
    let detail = f.json(&["incidents", "show", incident]);
    let execution = detail["execution"]["arn"]
        .as_str()
        .expect("an execution")
        .to_string();
    let svg = f.ok(&["graph", incident, "--format", "svg"]);
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("not XML ({e}):\n{svg}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default())
        .unwrap_or_else(|e| panic!("resvg cannot draw it: {e}"));

    let expected = expected_statuses(&execution);
    assert!(expected.len() >= 4, "{expected:?}");
    for (state, status) in &expected {
        let node = doc
            .descendants()
            .find(|n| n.attribute("data-state") == Some(state.as_str()))
            .unwrap_or_else(|| panic!("no box for {state} in the SVG"));
        assert_eq!(node.attribute("data-status"), Some(*status), "{state}");
        // The label a person reads: the name, then the status.
        let label = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|t| {
                t.children()
                    .filter(|c| c.has_tag_name("tspan"))
                    .filter_map(|c| c.text())
                    .collect::<Vec<_>>()
            })
            .find(|lines| lines.first() == Some(&state.as_str()))
            .unwrap_or_else(|| panic!("no label for {state}"));
        assert!(
            label.get(1).is_some_and(|l| l.starts_with(status)),
            "{state}: label {label:?} does not say {status}"
        );
    }
    // States off the path are drawn too, as not run.
    assert!(
        doc.descendants()
            .any(|n| n.attribute("data-status") == Some("not run")),
        "no state off the path"
    );
}

#[test]
fn the_graph_of_a_contained_incident_is_an_svg_naming_every_state_on_its_path() {
    check_svg(&fixture().incidents.contained);
}

#[test]
fn the_graph_of_a_failed_execution_shows_the_caught_step() {
    let f = fixture();
    let id = &f.incidents.stopped;
    let svg = f.ok(&["graph", &f.incidents.stopped_execution, "--format", "svg"]);
    let doc = roxmltree::Document::parse(&svg).expect("XML");
    let status = |name: &str| {
        doc.descendants()
            .find(|n| n.attribute("data-state") == Some(name))
            .and_then(|n| n.attribute("data-status"))
            .map(str::to_string)
    };
    assert_eq!(status("Quarantine").as_deref(), Some("caught"), "{id}");
    assert_eq!(status("NotifyFailure").as_deref(), Some("succeeded"));
    assert!(
        matches!(
            status("RecordFailure").as_deref(),
            Some("failed") | Some("succeeded")
        ),
        "{:?}",
        status("RecordFailure")
    );
    assert_eq!(status("Tag").as_deref(), Some("not run"));
}

#[test]
fn the_graph_is_written_as_png_when_asked() {
    let f = fixture();
    let path = std::env::temp_dir().join(format!(
        "{}.png",
        cordon_aws::testing::unique("cordon-graph")
    ));
    f.ok(&[
        "graph",
        &f.incidents.contained,
        "--out",
        path.to_str().expect("UTF-8 path"),
    ]);
    let bytes = std::fs::read(&path).expect("the PNG");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // IHDR: width and height, big-endian, after the signature and chunk header.
    let width = u32::from_be_bytes(bytes[16..20].try_into().expect("width"));
    let height = u32::from_be_bytes(bytes[20..24].try_into().expect("height"));
    assert!(width >= 640 && height > 200, "{width}x{height}");
    let _ = std::fs::remove_file(path);
}
