//! ASL's JSONPath: a path (then, after the separator, the document) parsed as a `Path`,
//! selected against the document with the context object beside it, and parsed as a
//! reference path that `put`s a value into the document.
use cordon_engine::paths::{Path, ReferencePath, Roots};
use serde_json::{Value, json};

use crate::input::split;

pub(crate) fn run(data: &[u8]) {
    let (path, document) = split(data);
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    let document: Value = serde_json::from_slice(document).unwrap_or_else(|_| json!({}));
    let context = json!({"Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:m:e", "Input": document}, "State": {"Name": "S"}});
    if let Ok(parsed) = Path::parse(path) {
        let _ = parsed.select(&Roots::new(&document, &context));
    }
    if let Ok(reference) = ReferencePath::parse(path) {
        let _ = reference.get(&Roots::new(&document, &context));
        let _ = reference.put(document.clone(), json!({"put": true}));
    }
}
