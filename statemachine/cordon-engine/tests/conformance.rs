//! Runs every case of the ASL conformance corpora (executions recorded on AWS) on the engine,
//! on a virtual clock, and compares the result structurally as the corpus README specifies.
//!
//! Two corpora: JSONPath (`../../../shared/conformance/asl`, or `$CORDON_CONFORMANCE_DIR`)
//! and JSONata or mixed (`../../../shared/conformance/asl-jsonata`, or
//! `$CORDON_JSONATA_CONFORMANCE_DIR`). A missing corpus fails the test. Cases that are known to
//! fail are listed, with a reason, in `tests/conformance-expected-failures.txt` and
//! `tests/conformance-jsonata-expected-failures.txt`; a test fails when a case fails that is
//! not listed, and when a listed case passes (so the lists stay honest).
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cordon_engine::{
    Definition, Execution, ExecutionStatus, Randomness, Runtime, StartOptions,
    UnresolvedDispatcher, VirtualClock,
};
use serde_json::{Map, Value, json};

/// One corpus: where it is, its expected failures, and the pass rate it must keep.
struct Corpus {
    env_var: &'static str,
    default_dir: &'static str,
    expected_failures: &'static str,
    min_pass_rate: f64,
}

const JSONPATH: Corpus = Corpus {
    env_var: "CORDON_CONFORMANCE_DIR",
    default_dir: "../../../shared/conformance/asl",
    expected_failures: "tests/conformance-expected-failures.txt",
    min_pass_rate: 0.95,
};

/// The issue that brought JSONata asks for at least 44 of its 46 cases.
const JSONATA: Corpus = Corpus {
    env_var: "CORDON_JSONATA_CONFORMANCE_DIR",
    default_dir: "../../../shared/conformance/asl-jsonata",
    expected_failures: "tests/conformance-jsonata-expected-failures.txt",
    min_pass_rate: 44.0 / 46.0,
};

impl Corpus {
    fn dir(&self) -> PathBuf {
        if let Ok(d) = std::env::var(self.env_var) {
            return PathBuf::from(d);
        }
        Path::new(env!("CARGO_MANIFEST_DIR")).join(self.default_dir)
    }
}

struct Case {
    name: String,
    dir: PathBuf,
}

fn cases(root: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    let categories = std::fs::read_dir(root).unwrap_or_else(|e| {
        panic!(
            "conformance corpus not found at {} ({e}); set CORDON_CONFORMANCE_DIR",
            root.display()
        )
    });
    for cat in categories.flatten() {
        if !cat.path().is_dir() {
            continue;
        }
        for case in std::fs::read_dir(cat.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if case.path().join("definition.json").is_file() {
                out.push(Case {
                    name: format!(
                        "{}/{}",
                        cat.file_name().to_string_lossy(),
                        case.file_name().to_string_lossy()
                    ),
                    dir: case.path(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Runs one case (an Express execution when `workflow_type` says so) and returns the actual
/// `{status, output?, error?, cause?}`.
async fn run_case(case: &Case, express: bool) -> Result<Value, String> {
    let def = Definition::parse(&read(&case.dir.join("definition.json")))
        .map_err(|e| format!("definition rejected: {e}"))?;
    let input: Value = serde_json::from_str(&read(&case.dir.join("input.json")))
        .map_err(|e| format!("input is not JSON: {e}"))?;
    let rt = Runtime::new(
        Arc::new(UnresolvedDispatcher),
        Arc::new(VirtualClock::at_epoch()),
    )
    .with_rng(Arc::new(Randomness::seeded(1)));
    let opts = StartOptions {
        name: Some("conformance".into()),
        express,
        ..StartOptions::default()
    };
    let mut ex = Execution::start(Arc::new(def), input, opts, &rt)
        .map_err(|e| format!("start failed: {e}"))?;
    ex.run_until_finished(&rt).await;
    let d = ex.describe();
    let mut m = Map::new();
    m.insert("status".into(), json!(d.status.as_str()));
    if d.status == ExecutionStatus::Succeeded
        && let Some(o) = d.output
    {
        m.insert("output".into(), o);
    }
    if let Some(e) = d.error {
        m.insert("error".into(), json!(e));
    }
    if let Some(c) = d.cause {
        m.insert("cause".into(), json!(c));
    }
    Ok(Value::Object(m))
}

fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x == y,
        _ => match (a.as_u64(), b.as_u64()) {
            (Some(x), Some(y)) => x == y,
            _ => a.as_f64() == b.as_f64(),
        },
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

struct Compare<'a> {
    unchecked: &'a BTreeSet<String>,
    soft: &'a BTreeSet<String>,
    errors: Vec<String>,
    warnings: Vec<String>,
}

impl Compare<'_> {
    fn mismatch(&mut self, at: &str, msg: String) {
        if self
            .soft
            .iter()
            .any(|s| at == s || at.starts_with(&format!("{s}/")))
        {
            self.warnings.push(format!("{at}: {msg}"));
        } else {
            self.errors.push(format!("{at}: {msg}"));
        }
    }

    fn value(&mut self, at: &str, expected: &Value, actual: Option<&Value>) {
        if self.unchecked.contains(at) {
            return;
        }
        let Some(actual) = actual else {
            self.mismatch(at, format!("missing, expected {expected}"));
            return;
        };
        match (expected, actual) {
            (Value::Object(e), Value::Object(a)) => {
                for (k, ev) in e {
                    self.value(&format!("{at}/{}", escape(k)), ev, a.get(k));
                }
                for k in a.keys() {
                    let p = format!("{at}/{}", escape(k));
                    if !e.contains_key(k) && !self.unchecked.contains(&p) {
                        self.mismatch(&p, format!("unexpected key with value {}", a[k]));
                    }
                }
            }
            (Value::Array(e), Value::Array(a)) => {
                if e.len() != a.len() {
                    self.mismatch(
                        at,
                        format!("expected {} items, got {}: {actual}", e.len(), a.len()),
                    );
                    return;
                }
                for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                    self.value(&format!("{at}/{i}"), ev, Some(av));
                }
            }
            (Value::Number(e), Value::Number(a)) if numbers_equal(e, a) => {}
            (e, a) if e == a => {}
            (e, a) => self.mismatch(at, format!("expected {e}, got {a}")),
        }
    }
}

/// Compares the fields AWS reported against the actual result; `Ok(warnings)` on a match.
fn compare(expected: &Value, actual: &Value) -> Result<Vec<String>, Vec<String>> {
    let set = |k: &str| -> BTreeSet<String> {
        expected
            .get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (unchecked, soft) = (set("unchecked"), set("soft"));
    let mut c = Compare {
        unchecked: &unchecked,
        soft: &soft,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    for key in ["status", "output", "error", "cause"] {
        let at = format!("/{key}");
        let actual_v = actual.get(key).cloned();
        match expected.get(key) {
            Some(Value::Object(_)) if key == "cause" => {
                // AWS returned JSON text here: compare it parsed.
                let parsed = actual_v
                    .as_ref()
                    .and_then(Value::as_str)
                    .and_then(|s| serde_json::from_str::<Value>(s).ok());
                c.value(&at, &expected[key], parsed.as_ref().or(actual_v.as_ref()));
            }
            Some(e) => c.value(&at, e, actual_v.as_ref()),
            None => {
                if let Some(a) = actual_v
                    && !unchecked.contains(&at)
                {
                    c.mismatch(&at, format!("AWS reported none, got {a}"));
                }
            }
        }
    }
    if c.errors.is_empty() {
        Ok(c.warnings)
    } else {
        Err(c.errors)
    }
}

fn expected_failures(file: &str) -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = read(&path);
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let reason = reason.trim();
        assert!(
            !reason.is_empty(),
            "{}:{}: case '{name}' is listed without a reason",
            path.display(),
            n + 1
        );
        out.insert(name.to_owned(), reason.to_owned());
    }
    out
}

#[tokio::test(flavor = "current_thread")]
async fn conformance_corpus() {
    run_corpus(&JSONPATH).await;
}

#[tokio::test(flavor = "current_thread")]
async fn jsonata_conformance_corpus() {
    run_corpus(&JSONATA).await;
}

async fn run_corpus(corpus: &Corpus) {
    let root = corpus.dir();
    let all = cases(&root);
    assert!(
        !all.is_empty(),
        "no conformance cases found under {}",
        root.display()
    );
    let allowed = expected_failures(corpus.expected_failures);
    let mut passed = 0usize;
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    let mut warnings = 0usize;
    let mut per_category: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for case in &all {
        let expected: Value = serde_json::from_str(&read(&case.dir.join("expected.json")))
            .unwrap_or_else(|e| panic!("{}: expected.json is not JSON: {e}", case.name));
        let category = case.name.split('/').next().unwrap_or_default().to_owned();
        let entry = per_category.entry(category).or_default();
        entry.1 += 1;
        let express = expected.get("workflow_type").and_then(Value::as_str) == Some("EXPRESS");
        let outcome = match run_case(case, express).await {
            Ok(actual) => compare(&expected, &actual),
            Err(e) => Err(vec![e]),
        };
        match outcome {
            Ok(w) => {
                passed += 1;
                entry.0 += 1;
                for msg in &w {
                    println!("warning: {}: {msg}", case.name);
                }
                warnings += w.len();
            }
            Err(errs) => {
                failed.insert(case.name.clone(), errs.join("; "));
            }
        }
    }
    let total = all.len();
    println!("ASL conformance ({}):", root.display());
    for (cat, (p, t)) in &per_category {
        println!("  {cat:<22} {p:>4}/{t:<4}");
    }
    println!(
        "  total                  {passed:>4}/{total:<4} passed, {} failed, {warnings} soft warnings",
        failed.len()
    );
    let names: BTreeSet<&String> = all.iter().map(|c| &c.name).collect();
    let mut problems = Vec::new();
    for (name, why) in &failed {
        match allowed.get(name) {
            Some(reason) => println!("  expected failure: {name} ({reason})"),
            None => problems.push(format!("UNEXPECTED FAILURE {name}: {why}")),
        }
    }
    for name in allowed.keys() {
        if !names.contains(name) {
            problems.push(format!("listed case {name} does not exist in the corpus"));
        } else if !failed.contains_key(name) {
            problems.push(format!(
                "listed case {name} now passes: remove it from {}",
                corpus.expected_failures
            ));
        }
    }
    let rate = passed as f64 / total as f64;
    if rate < corpus.min_pass_rate {
        problems.push(format!(
            "pass rate {:.1}% is below the required {:.1}%",
            rate * 100.0,
            corpus.min_pass_rate * 100.0
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
