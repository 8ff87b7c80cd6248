//! The names Cordon's metrics go by: the one list `infra/template.yaml`'s alarms and
//! `infra/dashboard.json` may name (`tests/tests/metrics_template.rs`).

/// The CloudWatch namespace of every Cordon metric.
pub const NAMESPACE: &str = "Cordon";

/// Dimension names.
pub mod dimension {
    /// The function (`cordon-record`…): every invocation metric.
    pub const FUNCTION: &str = "Function";
    /// The detection rule id (`iam.user-created`).
    pub const RULE: &str = "Rule";
    /// The assessed severity (`low` … `critical`).
    pub const SEVERITY: &str = "Severity";
    /// A `Cordon.*` / `States.*` error name.
    pub const ERROR: &str = "Error";

    /// The dimension sets Cordon's lines use (none, for the totals).
    pub const SETS: &[&[&str]] = &[
        &[],
        &[FUNCTION],
        &[FUNCTION, ERROR],
        &[RULE],
        &[RULE, SEVERITY],
    ];
}

/// Metric names.
pub mod metric {
    /// Every invocation of a function (dimension `Function`).
    pub const INVOCATIONS: &str = "Invocations";
    /// Invocations that ended in an error (dimensions `Function`, `Error`).
    pub const ERRORS: &str = "Errors";
    /// Invocations that ended in `Cordon.Transient`: each one is an attempt the
    /// workflow's Retry spends (dimension `Function`).
    pub const RETRYABLE_ERRORS: &str = "RetryableErrors";
    /// How long an invocation took, in milliseconds (dimension `Function`).
    pub const DURATION: &str = "Duration";
    /// Incidents opened (dimension `Rule`; and none, for the total).
    pub const INCIDENTS_OPENED: &str = "IncidentsOpened";
    /// Principals contained (the incident closed `CONTAINED`; also per `Rule` and
    /// `Severity`, as are the two below).
    pub const CONTAINMENTS: &str = "Containments";
    /// Containments a human approved (the decision recorded `approve`).
    pub const APPROVALS: &str = "Approvals";
    /// Containments a human rejected (the decision recorded `reject`; the incident is
    /// then dismissed).
    pub const REJECTIONS: &str = "Rejections";
    /// Approval requests nobody decided in time (the response policy's default applied).
    pub const APPROVAL_TIMEOUTS: &str = "ApprovalTimeouts";
    /// Quarantines released (the release function's first release of an incident).
    pub const RELEASES: &str = "Releases";
    /// Responses that failed and were recorded `FAILED`.
    pub const RESPONSE_FAILURES: &str = "ResponseFailures";
    /// Seconds from the event to containment (with `Containments`).
    pub const TIME_TO_CONTAIN: &str = "TimeToContain";

    /// Every metric above.
    pub const ALL: &[&str] = &[
        INVOCATIONS,
        ERRORS,
        RETRYABLE_ERRORS,
        DURATION,
        INCIDENTS_OPENED,
        CONTAINMENTS,
        APPROVALS,
        REJECTIONS,
        APPROVAL_TIMEOUTS,
        RELEASES,
        RESPONSE_FAILURES,
        TIME_TO_CONTAIN,
    ];
}
