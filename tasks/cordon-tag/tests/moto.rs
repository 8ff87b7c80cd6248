//! Emulator-backed: the tags land in IAM (read back with ListUserTags).
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use cordon_aws::IamIdentityStore;
use cordon_aws::testing::{moto, unique};
use cordon_tag::{Deps, Input, handle};

#[tokio::test]
async fn tag_values_land_in_iam() {
    let m = moto().await;
    let user = unique("tagged");
    m.create_user(&user).await;
    let deps = Deps {
        identity: Arc::new(IamIdentityStore::new(m.iam())),
    };
    let incident_id = unique("ct");
    let at = Utc
        .with_ymd_and_hms(2024, 9, 27, 14, 6, 0)
        .single()
        .expect("time");
    let input = Input {
        incident_id: incident_id.clone(),
        user_name: user.clone(),
        quarantined_at: at,
        principal_kind: None,
    };
    handle(input.clone(), &deps).await.expect("tag");
    handle(input, &deps).await.expect("tag again");

    let listed = m
        .iam()
        .list_user_tags()
        .user_name(&user)
        .send()
        .await
        .expect("ListUserTags");
    let tags: BTreeMap<String, String> = listed
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert_eq!(
        tags,
        BTreeMap::from([
            ("SecurityStatus".to_string(), "Quarantined".to_string()),
            ("CordonIncident".to_string(), incident_id),
            (
                "QuarantinedAt".to_string(),
                "2024-09-27T14:06:00Z".to_string()
            ),
        ])
    );
}
