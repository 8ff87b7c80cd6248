//! What the proxy injects: a [`FaultPlan`] of [`Rule`]s, each naming the calls it applies to
//! (a service, optionally one operation), how often it fires and which [`Fault`]s it picks
//! from, plus IAM's rate limit. Draws come from one seeded generator, so a run that fails
//! can be repeated with the same seed (the order of concurrent calls aside).
use std::time::Duration;

use crate::bucket::RateLimit;
use crate::call::Call;

/// One way a call can go wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service's throttling error: IAM and STS `Throttling` (400), SNS `Throttled`
    /// (429), DynamoDB and other JSON services `ThrottlingException` (400). The call does
    /// not reach the service.
    Throttle,
    /// DynamoDB's `ProvisionedThroughputExceededException` (400); other services answer
    /// their [`Fault::Throttle`] error.
    ProvisionedThroughputExceeded,
    /// `500` with the service's internal-failure code; the call does not reach the service.
    InternalError,
    /// `503 ServiceUnavailable`; the call does not reach the service.
    ServiceUnavailable,
    /// The connection is reset before the call is forwarded.
    Reset,
    /// The call is held this long (past the caller's timeout), never forwarded, then the
    /// connection is reset.
    Stall(Duration),
    /// The call is forwarded and takes effect, then the connection is reset: the caller
    /// sees a failure for something that happened, and must be idempotent.
    ResponseLost,
}

impl Fault {
    /// A stable name, for [`crate::Stats`].
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Throttle => "Throttle",
            Fault::ProvisionedThroughputExceeded => "ProvisionedThroughputExceeded",
            Fault::InternalError => "InternalError",
            Fault::ServiceUnavailable => "ServiceUnavailable",
            Fault::Reset => "Reset",
            Fault::Stall(_) => "Stall",
            Fault::ResponseLost => "ResponseLost",
        }
    }
}

/// Which calls a rule applies to, how often it fires, and what it injects.
#[derive(Debug, Clone)]
pub struct Rule {
    service: Option<String>,
    operation: Option<String>,
    probability: f64,
    faults: Vec<(Fault, u32)>,
    /// At most this many faults from this rule (then calls pass).
    limit: Option<u64>,
    fired: u64,
    /// The first this many matching calls pass untouched.
    skip: u64,
    seen: u64,
}

impl Rule {
    /// Every call of every service.
    pub fn any() -> Rule {
        Rule {
            service: None,
            operation: None,
            probability: 1.0,
            faults: Vec::new(),
            limit: None,
            fired: 0,
            skip: 0,
            seen: 0,
        }
    }

    /// Every call of `service` (its SigV4 signing name: `iam`, `dynamodb`, `sns`).
    pub fn service(service: &str) -> Rule {
        Rule {
            service: Some(service.to_owned()),
            ..Rule::any()
        }
    }

    /// Only `operation` of the rule's service.
    pub fn operation(mut self, operation: &str) -> Rule {
        self.operation = Some(operation.to_owned());
        self
    }

    /// Fires on this fraction of matching calls (default: every one).
    pub fn probability(mut self, probability: f64) -> Rule {
        self.probability = probability.clamp(0.0, 1.0);
        self
    }

    /// Injects `fault` (added to the rule's choices with weight 1).
    pub fn fault(self, fault: Fault) -> Rule {
        self.weighted(fault, 1)
    }

    /// Injects `fault` with relative `weight` among the rule's choices.
    pub fn weighted(mut self, fault: Fault, weight: u32) -> Rule {
        self.faults.push((fault, weight));
        self
    }

    /// Fires at most `times` times, then lets calls through.
    pub fn times(mut self, times: u64) -> Rule {
        self.limit = Some(times);
        self
    }

    /// Lets the first `calls` matching calls through before the rule applies (to aim a
    /// fault at the n-th write of an operation).
    pub fn after(mut self, calls: u64) -> Rule {
        self.skip = calls;
        self
    }

    fn matches(&self, call: &Call) -> bool {
        self.service.as_ref().is_none_or(|s| *s == call.service)
            && self.operation.as_ref().is_none_or(|o| *o == call.operation)
    }

    fn exhausted(&self) -> bool {
        self.limit.is_some_and(|limit| self.fired >= limit)
    }
}

/// Everything the proxy injects.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub(crate) rules: Vec<Rule>,
    pub(crate) iam_rate_limit: Option<RateLimit>,
    pub(crate) seed: u64,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan::none()
    }
}

impl FaultPlan {
    /// Forward everything.
    pub fn none() -> FaultPlan {
        FaultPlan {
            rules: Vec::new(),
            iam_rate_limit: None,
            seed: 0,
        }
    }

    /// Adds a rule; the first rule that matches a call decides for it.
    pub fn rule(mut self, rule: Rule) -> FaultPlan {
        self.rules.push(rule);
        self
    }

    /// Throttles IAM's mutating calls beyond `limit` (checked before the rules).
    pub fn iam_rate_limit(mut self, limit: RateLimit) -> FaultPlan {
        self.iam_rate_limit = Some(limit);
        self
    }

    /// Seeds the draws.
    pub fn seed(mut self, seed: u64) -> FaultPlan {
        self.seed = seed;
        self
    }

    /// `fraction` of every call to IAM, DynamoDB and SNS gets one of the faults a client
    /// meets on AWS, in proportions that favour throttling, as a bad day does. Stalls last
    /// `stall`.
    ///
    /// IAM and DynamoDB calls also lose their answers ([`Fault::ResponseLost`]): the call
    /// took effect and the caller saw a reset, so every write must be safe to send again.
    /// SNS calls do not: a standard topic has no deduplication (email cannot subscribe to a
    /// FIFO topic), so a publish whose answer is lost is sent again and mailed twice, on AWS
    /// as here. Cordon's notifications are at least once; a test that counts exactly one per
    /// incident cannot include that fault.
    pub fn aws_bad_day(fraction: f64, stall: Duration) -> FaultPlan {
        let mixed = |service: &str, throttles: &[Fault], lost: u32| {
            let mut rule = Rule::service(service).probability(fraction);
            for fault in throttles {
                rule = rule.weighted(*fault, 4);
            }
            rule = rule
                .weighted(Fault::InternalError, 2)
                .weighted(Fault::ServiceUnavailable, 2)
                .weighted(Fault::Reset, 1)
                .weighted(Fault::Stall(stall), 1);
            if lost > 0 {
                rule = rule.weighted(Fault::ResponseLost, lost);
            }
            rule
        };
        FaultPlan::none()
            .rule(mixed("iam", &[Fault::Throttle], 1))
            .rule(mixed(
                "dynamodb",
                &[Fault::Throttle, Fault::ProvisionedThroughputExceeded],
                1,
            ))
            .rule(mixed("sns", &[Fault::Throttle], 0))
    }

    /// What to do with `call`: `None` forwards it. `draw` gives uniform numbers in [0, 1).
    pub(crate) fn decide(&mut self, call: &Call, mut draw: impl FnMut() -> f64) -> Option<Fault> {
        let rule = self.rules.iter_mut().find(|r| r.matches(call))?;
        rule.seen += 1;
        if rule.seen <= rule.skip {
            return None;
        }
        if rule.exhausted() || rule.faults.is_empty() || draw() >= rule.probability {
            return None;
        }
        let total: u32 = rule.faults.iter().map(|(_, w)| *w).sum();
        let mut pick = draw() * f64::from(total);
        let fault = rule
            .faults
            .iter()
            .find(|(_, w)| {
                pick -= f64::from(*w);
                pick < 0.0
            })
            .or(rule.faults.last())
            .map(|(f, _)| *f)?;
        rule.fired += 1;
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::Protocol;

    fn call(service: &str, operation: &str) -> Call {
        Call {
            service: service.into(),
            operation: operation.into(),
            protocol: Protocol::Query,
        }
    }

    #[test]
    fn a_rule_can_wait_for_the_nth_call() {
        let mut plan = FaultPlan::none().rule(
            Rule::service("dynamodb")
                .operation("PutItem")
                .fault(Fault::ResponseLost)
                .after(2)
                .times(1),
        );
        let always = || 0.0;
        let put = call("dynamodb", "PutItem");
        assert_eq!(plan.decide(&put, always), None, "first passes");
        assert_eq!(
            plan.decide(&call("dynamodb", "GetItem"), always),
            None,
            "not counted"
        );
        assert_eq!(plan.decide(&put, always), None, "second passes");
        assert_eq!(
            plan.decide(&put, always),
            Some(Fault::ResponseLost),
            "third is hit"
        );
        assert_eq!(plan.decide(&put, always), None, "once");
    }

    #[test]
    fn the_first_matching_rule_decides_and_limits_hold() {
        let mut plan = FaultPlan::none()
            .rule(
                Rule::service("iam")
                    .operation("GetUser")
                    .fault(Fault::Throttle)
                    .times(2),
            )
            .rule(Rule::service("iam").fault(Fault::InternalError));
        let always = || 0.0;
        assert_eq!(
            plan.decide(&call("iam", "GetUser"), always),
            Some(Fault::Throttle)
        );
        assert_eq!(
            plan.decide(&call("iam", "GetUser"), always),
            Some(Fault::Throttle)
        );
        // The GetUser rule is spent; it still decides (first match), so GetUser passes.
        assert_eq!(plan.decide(&call("iam", "GetUser"), always), None);
        assert_eq!(
            plan.decide(&call("iam", "TagUser"), always),
            Some(Fault::InternalError)
        );
        assert_eq!(plan.decide(&call("sns", "Publish"), always), None);
    }

    #[test]
    fn probability_and_weights_shape_the_draws() {
        let mut plan = FaultPlan::aws_bad_day(0.2, Duration::from_secs(1));
        let mut rng = fastrand::Rng::with_seed(7);
        let n = 20_000;
        let mut faults = std::collections::BTreeMap::new();
        for _ in 0..n {
            if let Some(f) = plan.decide(&call("dynamodb", "PutItem"), || rng.f64()) {
                *faults.entry(f.name()).or_insert(0u32) += 1;
            }
        }
        let total: u32 = faults.values().sum();
        let rate = f64::from(total) / f64::from(n);
        assert!((0.18..0.22).contains(&rate), "{rate}: {faults:?}");
        // Weights 4, 4, 2, 2, 1, 1, 1 of 15.
        let share = |name: &str| f64::from(faults[name]) / f64::from(total);
        assert!((share("Throttle") - 4.0 / 15.0).abs() < 0.03, "{faults:?}");
        assert!((share("Stall") - 1.0 / 15.0).abs() < 0.02, "{faults:?}");
        assert!(
            (share("ResponseLost") - 1.0 / 15.0).abs() < 0.02,
            "{faults:?}"
        );
        // A publish is never answered-and-lost: that would be a second email.
        let mut sns = FaultPlan::aws_bad_day(1.0, Duration::from_secs(1));
        for _ in 0..2_000 {
            let f = sns.decide(&call("sns", "Publish"), || rng.f64());
            assert_ne!(f, Some(Fault::ResponseLost));
        }
    }
}
