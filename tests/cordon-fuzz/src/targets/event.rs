//! An event, as the record and classify steps read it: the EventBridge envelope, the
//! CloudTrail record, the classification for the event's own account (and for another
//! one), the essentials a person is told about an event that never became a detection,
//! and the incident ids derived from it.
use cordon_core::event::{EventEssentials, parse_envelope};
use cordon_core::incident::{incident_id_for_raw_event, rejected_incident_id};
use cordon_core::model::AccountId;
use serde_json::Value;

pub(crate) fn run(data: &[u8]) {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let fixtures_home = AccountId::parse("111122223333").expect("an account id");
    let own = event["account"]
        .as_str()
        .and_then(|a| AccountId::parse(a).ok())
        .unwrap_or_else(|| fixtures_home.clone());
    let _ = parse_envelope(&event);
    let _ = cordon_core::classify(&event, &own);
    let _ = cordon_core::classify(&event, &fixtures_home);
    let _ = EventEssentials::from_event(&event);
    let _ = incident_id_for_raw_event(&event);
    let _ = rejected_incident_id(&event);
}
