//! The proxy's behaviours, met by the real SDK clients: each fault arrives as the SDK
//! would meet it on AWS (the error code it parses, whether its retry classifier retries it,
//! how Cordon's error mapping names it), in front of moto.
//!
//! Needs moto (`AWS_ENDPOINT_URL`, see `cordon_aws::testing::moto`); fails, never skips,
//! without it.
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_iam::error::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use cordon_aws::error::map_sdk_error;
use cordon_aws::testing::{Moto, unique};
use cordon_core::TaskError;
use cordon_faults::{Fault, FaultPlan, FaultProxy, RateLimit, Rule};

struct Setup {
    moto: Moto,
    proxy: FaultProxy,
}

async fn setup(plan: FaultPlan) -> Setup {
    let moto = cordon_aws::testing::moto().await;
    let proxy = FaultProxy::start(&moto.endpoint, 0)
        .await
        .expect("starting the proxy");
    proxy.set_plan(plan);
    Setup { moto, proxy }
}

/// The SDK configuration of clients through the proxy: `attempts` 1 turns the SDK's
/// retries off; retries back off for milliseconds, not seconds. (The endpoint is set on
/// each service's own configuration, which the environment's `AWS_ENDPOINT_URL` would
/// otherwise override.)
struct Through {
    config: SdkConfig,
    url: String,
}

fn through(setup: &Setup, attempts: u32) -> Through {
    Through {
        config: setup
            .moto
            .config
            .to_builder()
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(Duration::from_millis(5)),
            )
            .build(),
        url: setup.proxy.url(),
    }
}

impl Through {
    fn timeout(mut self, attempt: Duration) -> Through {
        self.config = self
            .config
            .to_builder()
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(attempt)
                    .build(),
            )
            .build();
        self
    }
}

fn iam(through: &Through) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&through.config)
            .endpoint_url(&through.url)
            .build(),
    )
}

fn dynamodb(through: &Through) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&through.config)
            .endpoint_url(&through.url)
            .build(),
    )
}

fn sns(through: &Through) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&through.config)
            .endpoint_url(&through.url)
            .build(),
    )
}

fn is_transient(error: &TaskError) -> bool {
    matches!(error, TaskError::Transient { .. })
}

#[tokio::test]
async fn iam_throttling_is_query_xml_the_sdk_retries() {
    let s = setup(
        FaultPlan::none().rule(
            Rule::service("iam")
                .operation("GetUser")
                .fault(Fault::Throttle)
                .times(2),
        ),
    )
    .await;
    let user = unique("faults-throttle");
    s.moto.create_user(&user).await;

    // Two throttles, then through: the SDK's standard retry absorbs them.
    let out = iam(&through(&s, 3))
        .get_user()
        .user_name(&user)
        .send()
        .await
        .expect("retried past two throttles");
    assert_eq!(out.user.map(|u| u.user_name), Some(user.clone()));
    let stats = s.proxy.stats().call("iam", "GetUser");
    assert_eq!(
        (stats.requests, stats.forwarded, stats.faulted()),
        (3, 1, 2),
        "{stats:?}"
    );

    // Without retries the caller sees IAM's own error, parsed by the SDK.
    s.proxy.set_plan(
        FaultPlan::none().rule(
            Rule::service("iam")
                .operation("GetUser")
                .fault(Fault::Throttle),
        ),
    );
    let err = iam(&through(&s, 1))
        .get_user()
        .user_name(&user)
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(err.code(), Some("Throttling"), "{err:?}");
    assert_eq!(err.message(), Some("Rate exceeded"));
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    assert!(is_transient(&map_sdk_error("iam:GetUser", err)));
}

#[tokio::test]
async fn dynamodb_throttles_with_both_of_its_codes() {
    let s = setup(
        FaultPlan::none()
            .rule(
                Rule::service("dynamodb")
                    .operation("ListTables")
                    .fault(Fault::Throttle)
                    .times(1),
            )
            .rule(
                Rule::service("dynamodb")
                    .operation("GetItem")
                    .fault(Fault::ProvisionedThroughputExceeded),
            ),
    )
    .await;
    let ddb = dynamodb(&through(&s, 1));
    let err = ddb.list_tables().send().await.expect_err("throttled");
    assert_eq!(err.code(), Some("ThrottlingException"), "{err:?}");
    assert!(is_transient(&map_sdk_error("dynamodb:ListTables", err)));
    ddb.list_tables().send().await.expect("the rule fired once");

    let err = ddb
        .get_item()
        .table_name("any")
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("k".into()))
        .send()
        .await
        .expect_err("throttled");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_provisioned_throughput_exceeded_exception()),
        "the SDK parses the modelled error: {err:?}"
    );
    assert!(is_transient(&map_sdk_error("dynamodb:GetItem", err)));
}

#[tokio::test]
async fn sns_throttled_is_429_which_the_sdk_does_not_retry_but_cordon_does() {
    let s = setup(
        FaultPlan::none().rule(
            Rule::service("sns")
                .operation("Publish")
                .fault(Fault::Throttle)
                .times(1),
        ),
    )
    .await;
    let topic = s.moto.create_topic().await;
    // `Throttled` is in neither Publish's model nor the SDK's throttling codes, so even
    // with retries on, the first answer is the caller's: Cordon's mapping (HTTP 429) makes
    // it transient, and the ASL's Retry tries the step again.
    let sns = sns(&through(&s, 3));
    let err = sns
        .publish()
        .topic_arn(&topic)
        .message("hello")
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(err.code(), Some("Throttled"), "{err:?}");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(429));
    assert!(is_transient(&map_sdk_error("sns:Publish", err)));
    assert_eq!(s.proxy.stats().call("sns", "Publish").requests, 1);
    sns.publish()
        .topic_arn(&topic)
        .message("hello")
        .send()
        .await
        .expect("the rule fired once");
}

#[tokio::test]
async fn server_errors_are_5xx_with_the_service_codes() {
    let s = setup(
        FaultPlan::none()
            .rule(
                Rule::service("iam")
                    .operation("ListUsers")
                    .fault(Fault::InternalError)
                    .fault(Fault::ServiceUnavailable)
                    .times(2),
            )
            .rule(
                Rule::service("iam")
                    .operation("GetUser")
                    .fault(Fault::InternalError),
            )
            .rule(
                Rule::service("iam")
                    .operation("ListRoles")
                    .fault(Fault::ServiceUnavailable),
            ),
    )
    .await;
    // Retried by the SDK.
    iam(&through(&s, 3))
        .list_users()
        .send()
        .await
        .expect("the SDK retries 500 and 503");
    assert_eq!(s.proxy.stats().call("iam", "ListUsers").forwarded, 1);

    let once = iam(&through(&s, 1));
    let err = once
        .get_user()
        .user_name("anyone")
        .send()
        .await
        .expect_err("500");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_service_failure_exception()),
        "IAM's modelled ServiceFailure: {err:?}"
    );
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
    assert!(is_transient(&map_sdk_error("iam:GetUser", err)));

    let err = once.list_roles().send().await.expect_err("503");
    assert_eq!(err.code(), Some("ServiceUnavailable"), "{err:?}");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(503));
    assert!(is_transient(&map_sdk_error("iam:ListRoles", err)));
}

#[tokio::test]
async fn a_reset_connection_is_a_dispatch_failure() {
    let s = setup(
        FaultPlan::none().rule(
            Rule::service("iam")
                .operation("ListUsers")
                .fault(Fault::Reset)
                .times(1),
        ),
    )
    .await;
    let err = iam(&through(&s, 1))
        .list_users()
        .send()
        .await
        .expect_err("reset");
    match &err {
        SdkError::DispatchFailure(dispatch) => assert!(dispatch.is_io(), "{err:?}"),
        other => panic!("not a dispatch failure: {other:?}"),
    }
    assert!(is_transient(&map_sdk_error("iam:ListUsers", err)));
    let stats = s.proxy.stats().call("iam", "ListUsers");
    assert_eq!((stats.forwarded, stats.faults.get("Reset")), (0, Some(&1)));

    // The SDK retries an IO failure.
    s.proxy.set_plan(
        FaultPlan::none().rule(
            Rule::service("iam")
                .operation("ListUsers")
                .fault(Fault::Reset)
                .times(1),
        ),
    );
    iam(&through(&s, 3))
        .list_users()
        .send()
        .await
        .expect("retried past the reset");
}

#[tokio::test]
async fn a_stall_outlasts_the_sdk_timeout() {
    let s = setup(
        FaultPlan::none().rule(
            Rule::service("iam")
                .operation("ListUsers")
                .fault(Fault::Stall(Duration::from_secs(5))),
        ),
    )
    .await;
    let config = through(&s, 1).timeout(Duration::from_millis(400));
    let started = Instant::now();
    let err = iam(&config).list_users().send().await.expect_err("stalled");
    let waited = started.elapsed();
    assert!(matches!(err, SdkError::TimeoutError(_)), "{err:?}");
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(4),
        "the SDK gave up at its timeout, not the stall's end: {waited:?}"
    );
    assert!(is_transient(&map_sdk_error("iam:ListUsers", err)));
    assert_eq!(s.proxy.stats().call("iam", "ListUsers").forwarded, 0);
}

#[tokio::test]
async fn a_lost_response_hides_a_call_that_took_effect() {
    let s = setup(
        FaultPlan::none().rule(
            Rule::service("iam")
                .operation("CreateUser")
                .fault(Fault::ResponseLost)
                .times(1),
        ),
    )
    .await;
    let user = unique("faults-lost");
    let err = iam(&through(&s, 1))
        .create_user()
        .user_name(&user)
        .send()
        .await
        .expect_err("the answer was lost");
    assert!(matches!(err, SdkError::DispatchFailure(_)), "{err:?}");
    // ... but the user exists: a retry must expect EntityAlreadyExists.
    s.moto
        .iam()
        .get_user()
        .user_name(&user)
        .send()
        .await
        .expect("the call took effect");
    let err = iam(&through(&s, 1))
        .create_user()
        .user_name(&user)
        .send()
        .await
        .expect_err("a retry meets the first call's effect");
    assert_eq!(err.code(), Some("EntityAlreadyExists"));
}

#[tokio::test]
async fn iams_rate_limit_throttles_mutating_calls_only() {
    let s = setup(FaultPlan::none().iam_rate_limit(RateLimit {
        per_second: 0.5,
        burst: 3,
    }))
    .await;
    let user = unique("faults-bucket");
    s.moto.create_user(&user).await;
    let client = iam(&through(&s, 1));
    let mut outcomes = Vec::new();
    for i in 0..5 {
        let tagged = client
            .tag_user()
            .user_name(&user)
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(format!("k{i}"))
                    .value("v")
                    .build()
                    .expect("a tag"),
            )
            .send()
            .await;
        outcomes.push(tagged.map(|_| ()).map_err(|e| e.code().map(str::to_owned)));
    }
    assert_eq!(
        outcomes,
        [
            Ok(()),
            Ok(()),
            Ok(()),
            Err(Some("Throttling".to_owned())),
            Err(Some("Throttling".to_owned()))
        ]
    );
    // Reads are not counted.
    for _ in 0..5 {
        client
            .get_user()
            .user_name(&user)
            .send()
            .await
            .expect("reads pass the rate limit");
    }
    let stats = s.proxy.stats();
    assert_eq!(stats.faults_named("RateLimited"), 2, "{stats:?}");
    assert_eq!(stats.call("iam", "GetUser").faulted(), 0);
}
