//! Identity providers: a SAML or OpenID Connect provider created or changed. Whoever
//! controls the provider's keys (SAML metadata, OIDC thumbprints and client ids) can
//! federate into every role that trusts it, which makes a new or changed provider a
//! persistence technique.
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::call::{Call, Verdict};
use super::detector::{Detector, sources};
use super::rules;
use crate::event::{excerpt, str_at, value_at};

pub(super) const IDENTITY_PROVIDERS: Detector = Detector {
    event_source: sources::IAM,
    event_names: &[
        "CreateSAMLProvider",
        "UpdateSAMLProvider",
        "CreateOpenIDConnectProvider",
        "UpdateOpenIDConnectProviderThumbprint",
        "AddClientIDToOpenIDConnectProvider",
    ],
    rules: &[rules::IDENTITY_PROVIDER_CHANGED],
    examines_failed_calls: false,
    detect: identity_provider,
};

/// The first of `keys` present in `v` as a string (CloudTrail lower-cases the first letter
/// of request fields: `SAMLProviderArn` is recorded as `sAMLProviderArn`).
fn first_str<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| str_at(v, &[k]))
}

fn identity_provider(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    let req = &rec.request_parameters;
    let resp = &rec.response_elements;
    let saml = rec.event_name.contains("SAML");
    let provider = if saml {
        first_str(
            req,
            &["sAMLProviderArn", "SAMLProviderArn", "samlProviderArn"],
        )
        .or_else(|| first_str(resp, &["sAMLProviderArn", "SAMLProviderArn"]))
        .or_else(|| first_str(req, &["name"]))
    } else {
        first_str(
            req,
            &["openIDConnectProviderArn", "OpenIDConnectProviderArn"],
        )
        .or_else(|| first_str(resp, &["openIDConnectProviderArn"]))
        .or_else(|| first_str(req, &["url"]))
    };
    let mut ev = BTreeMap::new();
    ev.insert(
        "providerType".to_string(),
        json!(if saml { "SAML" } else { "OIDC" }),
    );
    ev.insert("provider".to_string(), json!(provider));
    if let Some(url) = first_str(req, &["url"]) {
        ev.insert("url".into(), json!(excerpt(url)));
    }
    for key in ["clientIDList", "thumbprintList"] {
        if let Some(list) = value_at(req, &[key]).filter(|v| v.is_array()) {
            ev.insert(key.into(), list.clone());
        }
    }
    if let Some(id) = first_str(req, &["clientID"]) {
        ev.insert("clientID".into(), json!(id));
    }
    // The metadata document is large and only its presence matters here.
    ev.insert(
        "samlMetadataChanged".into(),
        json!(first_str(req, &["sAMLMetadataDocument", "SAMLMetadataDocument"]).is_some()),
    );
    let verb = if rec.event_name.starts_with("Create") {
        "created"
    } else {
        "changed"
    };
    let title = format!(
        "{} identity provider {} {verb} by {}",
        if saml { "SAML" } else { "OpenID Connect" },
        excerpt(
            provider
                .map(|p| p.rsplit('/').next().unwrap_or(p))
                .unwrap_or("(unknown)")
        ),
        call.actor_name()
    );
    call.incident(
        rules::IDENTITY_PROVIDER_CHANGED,
        title,
        Some(call.actor_principal()),
        ev,
    )
}
