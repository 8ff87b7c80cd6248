//! Handler tests with the in-memory fake.
use std::sync::Arc;

use cordon_aws::fakes::FakeIdentityStore;
use cordon_core::{TaskError, tags};
use cordon_tag::{Deps, Input, handle};
use serde_json::json;

fn input() -> Input {
    serde_json::from_value(json!({
        "incidentId": "ct-8592029f-6c1e-4f5e-9a77-0a4d1c3b2e10",
        "userName": "support-admin",
        "quarantinedAt": "2024-09-27T14:06:00.123456Z"
    }))
    .expect("input shape")
}

#[tokio::test]
async fn tags_are_set_and_a_rerun_writes_the_same_values() {
    let iam = Arc::new(
        FakeIdentityStore::new().with_user(FakeIdentityStore::sample_user("support-admin")),
    );
    let deps = Deps {
        identity: iam.clone(),
    };
    let out = handle(input(), &deps).await.expect("tag");
    let again = handle(input(), &deps).await.expect("tag again");
    assert_eq!(out, again);
    assert_eq!(
        serde_json::to_value(&out).expect("json"),
        json!({
            "incidentId": "ct-8592029f-6c1e-4f5e-9a77-0a4d1c3b2e10",
            "userName": "support-admin",
            "tags": {
                "CordonIncident": "ct-8592029f-6c1e-4f5e-9a77-0a4d1c3b2e10",
                "QuarantinedAt": "2024-09-27T14:06:00Z",
                "SecurityStatus": "Quarantined"
            }
        })
    );
    let user = iam.user("support-admin").expect("user");
    assert_eq!(
        user.tags.get(tags::SECURITY_STATUS).map(String::as_str),
        Some(tags::QUARANTINED)
    );
}

#[tokio::test]
async fn a_missing_user_is_principal_not_found() {
    let deps = Deps {
        identity: Arc::new(FakeIdentityStore::new()),
    };
    let err = handle(input(), &deps).await.expect_err("missing");
    assert_eq!(err, TaskError::PrincipalNotFound("support-admin".into()));
}
