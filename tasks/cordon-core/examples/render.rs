//! Prints the classification, assessment and notification for one event file, classified
//! for the stack of the account `HOME_ACCOUNT` (the shared fixtures' is 111122223333).
//! `HOME_ACCOUNT=111122223333 cargo run -p cordon-core --example render -- path/to/event.json`
use cordon_core::ResponsePolicy;
use cordon_core::classify::{Classification, classify};
use cordon_core::notify::{NotificationContext, NotificationKind, render};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: render EVENT.json");
        std::process::exit(2);
    };
    let raw: serde_json::Value = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let account = std::env::var("HOME_ACCOUNT").unwrap_or_default();
    let home = match cordon_core::model::AccountId::parse(&account) {
        Ok(home) => home,
        Err(e) => {
            eprintln!("HOME_ACCOUNT: {e}");
            std::process::exit(2);
        }
    };
    match classify(&raw, &home) {
        Ok(Classification::Incident(d)) => {
            let a = ResponsePolicy::default().assess(
                &d,
                None,
                &cordon_core::policy::TrustedIds::none(),
            );
            let kind = match a.disposition {
                cordon_core::model::Disposition::Auto => NotificationKind::Contained,
                cordon_core::model::Disposition::Approve => NotificationKind::ApprovalRequest,
                _ => NotificationKind::Alert,
            };
            let n = render(
                kind,
                &NotificationContext {
                    incident_id: d.incident_id.clone(),
                    detection: Some(d),
                    assessment: Some(a),
                    approval_url: Some(
                        "https://example.invalid/approve/0123456789abcdef0123456789abcdef".into(),
                    ),
                    ..Default::default()
                },
            );
            println!("Subject: {}\n{:?}\n\n{}", n.subject, n.attributes, n.body);
        }
        other => println!("{other:?}"),
    }
}
