//! How an execution's history is stored: one chunk per save, holding the events that save
//! added, as one deflated JSON array in which the execution's input (and, once it
//! SUCCEEDED, its output) is not repeated but referenced.
//!
//! History events carry whole payloads (`ExecutionStarted` the input, each state's entered
//! and exited events its input and output, each task its parameters and result), and a
//! workflow that threads its input through every state repeats that input in most of them.
//! Stored one row per event, the Cordon-shaped execution took about 40 KiB of text (and
//! over 100 KiB of pages). A chunk instead:
//! - replaces each occurrence of the input text (as it appears escaped inside an event's
//!   JSON) with a control character, [`INPUT`], and of the output with [`OUTPUT`]. Neither
//!   can occur in serde_json's output (it escapes every control character), so the
//!   substitution is undone exactly. The input is the row's `input` column; the output is
//!   the DescribeExecution view's, final once an execution SUCCEEDED (it cannot be
//!   redriven), and only a chunk saved in that status references it;
//! - deflates the rest ([`crate::packed`]), which removes the remaining repeats: a state's
//!   input is the previous state's output.
//!
//! Chunks are keyed by their first event id and read in that order; an event already read
//! (a save retried after a failed commit writes its events again) is skipped.
use cordon_engine::HistoryEvent;

use crate::error::StoreError;
use crate::packed;

/// Stands for the execution input's text.
const INPUT: char = '\u{1}';
/// Stands for the execution output's text.
const OUTPUT: char = '\u{2}';

/// Header flags: which texts the chunk references.
const HAS_INPUT: u8 = 1;
const HAS_OUTPUT: u8 = 2;

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A JSON text as it appears inside a JSON string (escaped, without the quotes).
fn escaped(text: &str) -> Result<String, StoreError> {
    let quoted = serde_json::to_string(text).map_err(corrupt)?;
    Ok(quoted[1..quoted.len() - 1].to_owned())
}

/// The stored chunk of `events`. `input` is the execution input's text; `output` the
/// output's, given only for a SUCCEEDED execution.
pub(crate) fn encode(
    events: &[HistoryEvent],
    input: &str,
    output: Option<&str>,
) -> Result<Vec<u8>, StoreError> {
    let mut text = serde_json::to_string(events).map_err(corrupt)?;
    let mut flags = 0;
    // serde_json never writes a raw control character; checked all the same, since the
    // substitution is only reversible if that holds.
    if !text.contains([INPUT, OUTPUT]) {
        // The output first: it often embeds the input, and would no longer match whole.
        for (source, marker, flag) in [
            (output, OUTPUT, HAS_OUTPUT),
            (Some(input), INPUT, HAS_INPUT),
        ] {
            let Some(source) = source.filter(|s| s.len() > 8) else {
                continue;
            };
            // One pass: a replacement that shortened the text found the pattern.
            let replaced = text.replace(&escaped(source)?, marker.encode_utf8(&mut [0; 4]));
            if replaced.len() != text.len() {
                text = replaced;
                flags |= flag;
            }
        }
    }
    let mut blob = vec![flags];
    blob.extend(packed::pack(text.as_bytes()));
    Ok(blob)
}

/// The events of a stored chunk; `output` is the execution's output text, if it has one.
pub(crate) fn decode(
    blob: &[u8],
    input: &str,
    output: Option<&str>,
) -> Result<Vec<HistoryEvent>, StoreError> {
    let (&flags, deflated) = blob
        .split_first()
        .ok_or_else(|| corrupt("an empty history chunk"))?;
    let mut text = packed::inflate(deflated)?;
    // Undone in the reverse order of `encode`.
    if flags & HAS_INPUT != 0 {
        text = text.replace(INPUT, &escaped(input)?);
    }
    if flags & HAS_OUTPUT != 0 {
        let output =
            output.ok_or_else(|| corrupt("a history chunk names an output the execution lacks"))?;
        text = text.replace(OUTPUT, &escaped(output)?);
    }
    serde_json::from_str(&text).map_err(corrupt)
}

#[cfg(test)]
mod tests {
    use cordon_engine::EventType;
    use cordon_engine::history::EventDetails;

    use super::*;

    fn event(id: u64, event_type: EventType, details: EventDetails) -> HistoryEvent {
        HistoryEvent {
            timestamp: chrono::Utc::now(),
            event_type,
            id,
            previous_event_id: id.saturating_sub(1),
            details: Box::new(details),
        }
    }

    #[test]
    fn a_chunk_references_the_input_and_output_and_reads_back_whole() {
        let input = r#"{"big":"a \"quoted\" value\n","n":[1,2.5]}"#;
        let output = r#"{"result":{"big":"a \"quoted\" value\n","n":[1,2.5]},"ok":true}"#;
        let events = vec![
            event(
                1,
                EventType::PassStateEntered,
                EventDetails::state_entered("S", input.to_owned()),
            ),
            event(
                2,
                EventType::PassStateExited,
                EventDetails::state_exited("S", output.to_owned(), None),
            ),
        ];
        let blob = encode(&events, input, Some(output)).expect("encodes");
        assert_eq!(blob[0], HAS_INPUT | HAS_OUTPUT);
        assert_eq!(decode(&blob, input, Some(output)).expect("decodes"), events);
        // Without the output (a running execution), only the input is referenced.
        let blob = encode(&events, input, None).expect("encodes");
        assert_eq!(blob[0], HAS_INPUT);
        assert_eq!(decode(&blob, input, None).expect("decodes"), events);
        // A chunk that names an output cannot be read without it.
        let blob = encode(&events, input, Some(output)).expect("encodes");
        assert!(decode(&blob, input, None).is_err());
    }

    #[test]
    fn control_characters_in_payloads_survive() {
        let input = "{\"s\":\"\\u0001\\u0002 x\"}";
        let events = vec![event(
            1,
            EventType::PassStateEntered,
            EventDetails::state_entered("S\u{1}\u{2}", format!("[{input},\"\u{1}\"]")),
        )];
        let blob = encode(&events, input, None).expect("encodes");
        assert_eq!(decode(&blob, input, None).expect("decodes"), events);
    }
}
