//! The SDK interceptor that records and checks each operation, installed on every client
//! [`crate::Aws`] builds when it has an [`Access`].
//!
//! It runs once per operation, before anything is sent (`read_before_serialization`: the
//! typed input and the operation's metadata are both available; `read_before_execution`
//! runs before a client interceptor can see the operation's metadata). A call that must be refused is marked on its request
//! (`modify_before_transmit`, every attempt); the HTTP layer (`super::http`) answers a
//! marked request with AWS's error and never sends it, so a denied call has no effect.
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use super::guard::Access;
use super::http::DENIED_HEADER;
use super::requests::requests;

/// Records and checks the calls of one function's clients.
#[derive(Debug, Clone)]
pub(crate) struct AccessInterceptor(pub Access);

/// The id of the response a refused call gets, kept for the operation's attempts.
#[derive(Debug, Clone, Copy)]
struct Refused(u64);

impl Storable for Refused {
    type Storer = StoreReplace<Self>;
}

impl Intercept for AccessInterceptor {
    fn name(&self) -> &'static str {
        "CordonAccessGuard"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(metadata) = cfg.load::<Metadata>().cloned() else {
            return Err("the SDK gave the access guard no operation metadata".into());
        };
        let requests = requests(
            &self.0,
            metadata.service(),
            metadata.name(),
            context.input(),
        );
        if let Some(denied) = self.0.check(metadata.service(), metadata.name(), requests) {
            let id = self.0.park_denial(denied);
            cfg.interceptor_state().store_put(Refused(id));
        }
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Refused(id)) = cfg.load::<Refused>() {
            context
                .request_mut()
                .headers_mut()
                .insert(DENIED_HEADER, id.to_string());
        }
        Ok(())
    }
}
