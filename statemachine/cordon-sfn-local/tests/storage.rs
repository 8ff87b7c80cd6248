//! What the store writes of an execution: the input and the definition text once, never in
//! the state, the DescribeExecution view it rewrites at every save, or the history events;
//! and everything reads back as it was.
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use cordon_engine::{
    Definition, Execution, ExecutionStatus, Runtime, StartOptions, SystemClock,
    UnresolvedDispatcher,
};
use cordon_sfn_local::store::{Snapshot, Store};
use cordon_sfn_local::{StoreError, Synchronous};
use serde_json::{Value, json};

/// A marker that occurs once in the input and once in the definition.
const INPUT_MARKER: &str = "input-marker-7f3a";
const DEFINITION_MARKER: &str = "definition-marker-c21d";

fn db_path() -> PathBuf {
    std::env::temp_dir().join(format!(
        "cordon-sfn-storage-{}.sqlite",
        uuid::Uuid::new_v4()
    ))
}

async fn finished_execution(name: &str) -> Execution {
    let definition = json!({
        "Comment": DEFINITION_MARKER,
        "StartAt": "Shape",
        "States": {
            "Shape": {
                "Type": "Pass", "Parameters": {"kept.$": "$.keep"}, "ResultPath": "$.shaped",
                "OutputPath": "$.shaped", "Next": "Done"
            },
            "Done": {"Type": "Succeed"}
        }
    });
    let def = Arc::new(Definition::parse(&definition.to_string()).expect("valid"));
    let rt = Runtime::new(Arc::new(UnresolvedDispatcher), Arc::new(SystemClock));
    let input = json!({"keep": 1, "bulk": INPUT_MARKER});
    let opts = StartOptions {
        name: Some(name.into()),
        ..StartOptions::default()
    };
    let mut ex = Execution::start(def, input, opts, &rt).expect("starts");
    ex.run_until_finished(&rt).await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    ex
}

fn snapshot(ex: &Execution) -> Snapshot<'_> {
    Snapshot {
        state: ex.state(),
        description: ex.describe().to_aws_json(),
        pending_tokens: Vec::new(),
        retired_tokens: Vec::new(),
        next_wakeup: None,
        redrivable: false,
        redrive_date: None,
    }
}

/// A stored column as text: TEXT as is, a BLOB inflated (the store deflates large JSON; a
/// history chunk has one header byte before its deflate stream).
fn text_of(v: rusqlite::types::Value, header: usize) -> String {
    match v {
        rusqlite::types::Value::Text(t) => t,
        rusqlite::types::Value::Blob(b) => {
            let mut out = String::new();
            flate2::read::DeflateDecoder::new(&b[header..])
                .read_to_string(&mut out)
                .expect("a stored BLOB is deflated text");
            out
        }
        other => panic!("not a text column: {other:?}"),
    }
}

/// How often `needle` occurs in the columns of `table`, as stored (inflated, but with
/// nothing put back).
fn occurrences(db: &PathBuf, table: &str, columns: &[&str], needle: &str) -> usize {
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut total = 0;
    for column in columns {
        let header = usize::from(table == "history_chunks");
        let mut stmt = conn
            .prepare(&format!("SELECT {column} FROM {table}"))
            .expect("select");
        let texts = stmt
            .query_map([], |r| r.get::<_, rusqlite::types::Value>(0))
            .expect("rows")
            .map(|v| text_of(v.expect("a value"), header))
            .collect::<Vec<_>>();
        total += texts
            .iter()
            .map(|t| t.matches(needle).count())
            .sum::<usize>();
    }
    total
}

#[tokio::test]
async fn the_input_and_definition_are_stored_once_and_read_back() -> Result<(), StoreError> {
    let db = db_path();
    let store = Store::open_with(&db, Synchronous::Full)?;
    let first = finished_execution("first").await;
    let second = finished_execution("second").await;
    for ex in [&first, &second] {
        store.insert_execution(&snapshot(ex))?;
        // A second save (as at every park) adds nothing new.
        store.save_execution(&snapshot(ex))?;
    }

    // The input: once per execution in its row, never in the state or the view.
    assert_eq!(occurrences(&db, "executions", &["input"], INPUT_MARKER), 2);
    assert_eq!(
        occurrences(&db, "executions", &["state", "description"], INPUT_MARKER),
        0
    );
    // The history references it (ExecutionStarted and the first state entered carry it).
    assert_eq!(
        occurrences(&db, "history_chunks", &["events"], INPUT_MARKER),
        0
    );
    // The definition: once, however many executions ran it.
    assert_eq!(
        occurrences(&db, "definitions", &["text"], DEFINITION_MARKER),
        1
    );
    assert_eq!(
        occurrences(
            &db,
            "executions",
            &["state", "description"],
            DEFINITION_MARKER
        ),
        0
    );

    for ex in [&first, &second] {
        let arn = &ex.state().identity.execution_arn;
        let loaded = store.load_state(arn)?.expect("stored");
        assert_eq!(&loaded, ex.state(), "the state reads back whole");
        let row = store.execution(arn)?.expect("row");
        assert_eq!(row.description, ex.describe().to_aws_json());
        assert_eq!(
            row.description["input"],
            Value::String(serde_json::to_string(&ex.state().input).expect("json"))
        );
    }
    // A reopened store (no cached definition ids) reads the same.
    drop(store);
    let store = Store::open(&db)?;
    let arn = &second.state().identity.execution_arn;
    assert_eq!(&store.load_state(arn)?.expect("stored"), second.state());
    let _ = std::fs::remove_file(&db);
    Ok(())
}

/// `n` characters no compressor can shrink much (a fixed-seed generator: the same every run).
fn incompressible(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// Bytes stored for one execution: its row's columns and its history chunks.
fn stored_bytes(db: &PathBuf, arn: &str) -> usize {
    let conn = rusqlite::Connection::open(db).expect("open");
    let row: i64 = conn
        .query_row(
            "SELECT length(input) + length(description) + length(state) FROM executions WHERE arn = ?1",
            [arn],
            |r| r.get(0),
        )
        .expect("the row");
    let chunks: i64 = conn
        .query_row(
            "SELECT coalesce(sum(length(events)), 0) FROM history_chunks WHERE execution_arn = ?1",
            [arn],
            |r| r.get(0),
        )
        .expect("the chunks");
    usize::try_from(row + chunks).expect("a size")
}

/// A large input threaded through every state is stored about once, not once per history
/// event that carries it (ExecutionStarted, and each state's entered and exited events:
/// eight copies here, too far apart for the compressor to fold them).
#[tokio::test]
async fn a_large_input_is_stored_once_with_its_history() -> Result<(), StoreError> {
    const BULK: usize = 120_000;
    let definition = json!({
        "StartAt": "One",
        "States": {
            "One": {"Type": "Pass", "Next": "Two"},
            "Two": {"Type": "Pass", "Next": "Three"},
            "Three": {"Type": "Pass", "Next": "Small"},
            "Small": {"Type": "Pass", "OutputPath": "$.keep", "End": true}
        }
    });
    let def = Arc::new(Definition::parse(&definition.to_string()).expect("valid"));
    let rt = Runtime::new(Arc::new(UnresolvedDispatcher), Arc::new(SystemClock));
    let input = json!({"keep": {"n": 1}, "bulk": incompressible(BULK)});
    let opts = StartOptions {
        name: Some("large".into()),
        ..StartOptions::default()
    };
    let db = db_path();
    let store = Store::open(&db)?;
    let mut ex = Execution::start(def, input.clone(), opts, &rt).expect("starts");
    // Saved as the service saves: at the start (ExecutionStarted), then when it finished.
    store.insert_execution(&snapshot(&ex))?;
    ex.run_until_finished(&rt).await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    store.save_execution(&snapshot(&ex))?;

    let arn = ex.state().identity.execution_arn.clone();
    let carrying = ex
        .state()
        .history
        .iter()
        .filter(|e| {
            serde_json::to_string(e)
                .is_ok_and(|t| t.contains(&input["bulk"].as_str().unwrap_or_default()[..64]))
        })
        .count();
    assert_eq!(carrying, 8, "the history carries the input in 8 events");
    let stored = stored_bytes(&db, &arn);
    assert!(
        stored < BULK,
        "{stored} bytes stored for an input of {BULK} carried by {carrying} events: \
         the input is stored more than once"
    );
    // Everything reads back as the engine has it.
    assert_eq!(store.history(&arn)?, ex.state().history);
    assert_eq!(&store.load_state(&arn)?.expect("stored"), ex.state());
    let row = store.execution(&arn)?.expect("row");
    assert_eq!(row.description, ex.describe().to_aws_json());
    drop(store);
    let _ = std::fs::remove_file(&db);
    Ok(())
}
