//! What the store writes of an execution: the input and the definition text once, never in
//! the state and the DescribeExecution view it rewrites at every save; and everything
//! reads back as it was.
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

/// How often `needle` occurs in the text columns of `table`.
fn occurrences(db: &PathBuf, table: &str, columns: &[&str], needle: &str) -> usize {
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut total = 0;
    for column in columns {
        let mut stmt = conn
            .prepare(&format!("SELECT {column} FROM {table}"))
            .expect("select");
        let texts = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .expect("rows")
            .collect::<Result<Vec<_>, _>>()
            .expect("texts");
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
