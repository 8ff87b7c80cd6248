//! One file per family of parsers; see the crate documentation.
pub(crate) mod api;
pub(crate) mod asl;
pub(crate) mod event;
pub(crate) mod jsonpath;
pub(crate) mod pattern;

/// A current-thread runtime for the targets that run async code, made once per thread.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
    }
    RUNTIME.with(|rt| rt.block_on(future))
}
