//! What runs on the caller's thread: tracers and their scopes, the span processor that
//! stamps every span, the `#[trace]` call and its span, value capture, enrichment.

pub mod baggage;
pub(crate) mod call;
pub(crate) mod call_span;
pub(crate) mod capture;
pub(crate) mod enrichment;
pub(crate) mod span_processor;
pub(crate) mod spawn;
pub(crate) mod stream;
pub(crate) mod tracer;
