//! Metrics an operator can alarm on, as CloudWatch Embedded Metric Format (EMF) log lines:
//! a function prints one JSON line per invocation and CloudWatch Logs extracts the
//! metrics from it, with no API call and no extra permission.
//!
//! - `emf.rs`: one EMF document ([`MetricsLine`]): namespace, dimensions, metrics and
//!   their values, rendered within the format's limits;
//! - `validate.rs`: [`validate`], the specification's rules checked on a rendered line (the
//!   tests hold every line Cordon prints to it);
//! - `names.rs`: the namespace, dimension and metric names Cordon emits, the one list the
//!   template's alarms and dashboard refer to.
mod emf;
mod names;
mod validate;

pub use emf::{Metric, MetricsError, MetricsLine, Unit};
pub use names::{NAMESPACE, dimension, metric};
pub use validate::{EmfViolation, validate};
