//! Shared helpers for the workspace integration tests.
use std::path::PathBuf;

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `statemachine/incident.asl.json`, parsed.
pub fn incident_asl() -> serde_json::Value {
    let path = workspace_root().join("statemachine/incident.asl.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Every state object in a definition, including those inside Parallel branches and
/// Map processors, with its name.
pub fn all_states(definition: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    collect_states(definition, &mut out);
    out
}

fn collect_states(machine: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    let Some(states) = machine.get("States").and_then(|s| s.as_object()) else {
        return;
    };
    for (name, state) in states {
        out.push((name.clone(), state.clone()));
        if let Some(branches) = state.get("Branches").and_then(|b| b.as_array()) {
            for branch in branches {
                collect_states(branch, out);
            }
        }
        for key in ["ItemProcessor", "Iterator"] {
            if let Some(processor) = state.get(key) {
                collect_states(processor, out);
            }
        }
    }
}

/// `infra/template.yaml`, read by the one template reader.
pub fn template() -> cordon_template::Template {
    let path = workspace_root().join("infra/template.yaml");
    cordon_template::Template::load(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The `${Name}` placeholders in a text, in order of appearance.
pub fn substitution_placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// The names of the states an execution entered, in order, read from its history events
/// (as JSON, the shape GetExecutionHistory returns).
pub fn states_entered<'a>(events: impl IntoIterator<Item = &'a serde_json::Value>) -> Vec<String> {
    events
        .into_iter()
        .filter(|e| {
            e["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("StateEntered"))
        })
        .filter_map(|e| {
            e["stateEnteredEventDetails"]["name"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

/// The home account of the fixture events (`../shared/fixtures/events/README.md`); the
/// attacker's account there is `444455556666`.
pub const FIXTURE_ACCOUNT: &str = "111122223333";

/// What the template's intrinsics resolve to for a stack named `cordon` in `account` and
/// `region`, with every parameter at its default: what a deploy there would give.
pub fn stack_values(
    template: &cordon_template::Template,
    account: &str,
    region: &str,
) -> cordon_template::Values {
    cordon_template::Values::new(account, region, "aws", "cordon")
        .with_parameters(template.parameters(), &Default::default())
        .unwrap_or_else(|e| panic!("the template's parameters: {e}"))
}

/// Every fixture event, by file name: the shared corpus (`$CORDON_FIXTURES_DIR`, else
/// `../shared/fixtures/events`) and cordon-core's own (`tasks/cordon-core/tests/fixtures`).
/// Panics, naming the folder, when the shared corpus is missing: never passes by skipping.
pub fn fixture_events() -> Vec<(String, serde_json::Value)> {
    let shared = std::env::var_os("CORDON_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/fixtures/events"));
    let own = workspace_root().join("tasks/cordon-core/tests/fixtures");
    let mut out = Vec::new();
    for dir in [shared, own] {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!(
                "the fixture events are missing at {} ({e}); set CORDON_FIXTURES_DIR",
                dir.display()
            )
        });
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            out.push((name, value));
        }
    }
    out
}
