//! What happened to the calls that went through the proxy: per service and operation, how
//! many arrived, how many reached the emulator, and which faults met the others.
use std::collections::BTreeMap;

/// One operation's calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallStats {
    pub service: String,
    pub operation: String,
    /// Calls that arrived.
    pub requests: u64,
    /// Calls forwarded to the emulator (a [`crate::Fault::ResponseLost`] call counts: it
    /// took effect).
    pub forwarded: u64,
    /// Faults injected, by [`crate::Fault::name`] (`RateLimited` for IAM's rate limit).
    pub faults: BTreeMap<&'static str, u64>,
}

impl CallStats {
    pub fn faulted(&self) -> u64 {
        self.faults.values().sum()
    }
}

/// Every operation's calls, in service and operation order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub calls: Vec<CallStats>,
}

impl Stats {
    /// One operation's calls (zeros if none arrived).
    pub fn call(&self, service: &str, operation: &str) -> CallStats {
        self.calls
            .iter()
            .find(|c| c.service == service && c.operation == operation)
            .cloned()
            .unwrap_or_else(|| CallStats {
                service: service.to_owned(),
                operation: operation.to_owned(),
                ..CallStats::default()
            })
    }

    pub fn requests(&self) -> u64 {
        self.calls.iter().map(|c| c.requests).sum()
    }

    pub fn faulted(&self) -> u64 {
        self.calls.iter().map(CallStats::faulted).sum()
    }

    /// Faults of one kind, over every operation.
    pub fn faults_named(&self, name: &str) -> u64 {
        self.calls.iter().filter_map(|c| c.faults.get(name)).sum()
    }
}

/// The proxy's running tally.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    by_call: BTreeMap<(String, String), CallStats>,
}

impl Tally {
    fn entry(&mut self, service: &str, operation: &str) -> &mut CallStats {
        self.by_call
            .entry((service.to_owned(), operation.to_owned()))
            .or_insert_with(|| CallStats {
                service: service.to_owned(),
                operation: operation.to_owned(),
                ..CallStats::default()
            })
    }

    pub(crate) fn arrived(&mut self, service: &str, operation: &str) {
        self.entry(service, operation).requests += 1;
    }

    pub(crate) fn forwarded(&mut self, service: &str, operation: &str) {
        self.entry(service, operation).forwarded += 1;
    }

    pub(crate) fn faulted(&mut self, service: &str, operation: &str, fault: &'static str) {
        *self
            .entry(service, operation)
            .faults
            .entry(fault)
            .or_insert(0) += 1;
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            calls: self.by_call.values().cloned().collect(),
        }
    }
}
