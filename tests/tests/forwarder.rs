//! The regional forwarder (infra/forwarder.yaml) must forward at least every event the main
//! stack's sign-in rule would act on; otherwise sign-ins in other Regions go unseen.
use std::path::PathBuf;

use cordon_tests::workspace_root;
use serde_json::Value;

fn fixtures() -> Vec<(String, Value)> {
    let dir = std::env::var_os("CORDON_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/fixtures/events"));
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "the shared fixtures are missing at {} ({e}); set CORDON_FIXTURES_DIR",
            dir.display()
        )
    });
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read fixture");
        let value: Value = serde_json::from_str(&text).expect("fixture is JSON");
        out.push((
            path.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            value,
        ));
    }
    assert!(out.len() >= 30, "expected the shared fixture corpus");
    out
}

#[test]
fn the_forwarder_forwards_every_sign_in_the_main_stack_acts_on() {
    let main = cordon_eventbridge::load_rules(&workspace_root().join("infra/template.yaml"))
        .expect("main template rules");
    let forwarder = cordon_eventbridge::load_rules(&workspace_root().join("infra/forwarder.yaml"))
        .expect("forwarder rules");
    let sign_in_rule = main
        .iter()
        .find(|r| r.logical_id == "ConsoleSignInRule")
        .expect("ConsoleSignInRule in template.yaml");
    let mut acted_on = 0;
    for (name, event) in fixtures() {
        if !sign_in_rule.pattern.matches(&event) {
            continue;
        }
        acted_on += 1;
        assert!(
            !cordon_eventbridge::route(&forwarder, &event).is_empty(),
            "{name} is matched by ConsoleSignInRule but the forwarder would not forward it"
        );
    }
    assert!(
        acted_on >= 4,
        "the sign-in fixtures should exercise the rule"
    );
}
