//! Baggage: which keys cross process boundaries, and W3C `traceparent` + `baggage` headers.
//!
//! Only the keys of [`PROPAGATED_KEYS`] are written to or read from HTTP headers. Project,
//! source and API key are per tracer instance and never travel in baggage, so a caller
//! cannot relabel (or hijack) the spans of the service it calls.

use http::HeaderMap;
use opentelemetry::Context;
use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

/// Baggage key of the experiment run id.
pub const RUN_ID: &str = "run_id";
/// Baggage key of the dataset id.
pub const DATASET_ID: &str = "dataset_id";
/// Baggage key of the datapoint id.
pub const DATAPOINT_ID: &str = "datapoint_id";
/// Baggage key of the session id.
pub const SESSION_ID: &str = "session_id";
/// Baggage key of the tracer instance id.
pub const TRACER_ID: &str = "honeyhive_tracer_id";

/// The only baggage keys that cross process boundaries.
pub const PROPAGATED_KEYS: [&str; 5] = [RUN_ID, DATASET_ID, DATAPOINT_ID, SESSION_ID, TRACER_ID];

fn is_propagated(key: &str) -> bool {
    PROPAGATED_KEYS.contains(&key)
}

fn propagated_only(baggage: &Baggage) -> Baggage {
    baggage
        .iter()
        .filter(|(k, _)| is_propagated(k.as_str()))
        .map(|(k, (v, _))| opentelemetry::KeyValue::new(k.clone(), v.clone()))
        .collect()
}

/// Writes `traceparent` (and `tracestate`) and the propagated baggage of `cx` into
/// `headers`, so a downstream service's spans join the same trace, session and datapoint.
/// Ids missing from the baggage (user code may have replaced it) come from the tracer of
/// `cx`, with the same precedence the span processor uses.
///
/// ```
/// use honeyhive::baggage;
/// use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
///
/// let cx = Context::new().with_baggage([KeyValue::new("run_id", "r1"), KeyValue::new("secret", "x")]);
/// let mut headers = http::HeaderMap::new();
/// baggage::inject(&cx, &mut headers);
/// let sent = headers["baggage"].to_str().unwrap();
/// assert!(sent.contains("run_id=r1") && !sent.contains("secret"));
/// ```
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    let mut injector = HeaderInjector(headers);
    TraceContextPropagator::new().inject_context(cx, &mut injector);
    let mut outgoing = propagated_only(cx.baggage());
    if let Some(tracer) = crate::trace::tracer::entered(cx) {
        for (key, value) in tracer.own_baggage() {
            if outgoing.get(key).is_none() {
                outgoing.insert(*key, value.clone());
            }
        }
    }
    let filtered = Context::new().with_baggage(outgoing);
    BaggagePropagator::new().inject_context(&filtered, &mut injector);
}

/// [`inject`] with the current context.
pub fn inject_current(headers: &mut HeaderMap) {
    Context::map_current(|cx| inject(cx, headers))
}

/// Reads `traceparent` and the propagated baggage keys from incoming `headers`; every other
/// baggage key is ignored.
///
/// ```
/// use honeyhive::baggage;
/// use opentelemetry::baggage::BaggageExt;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("baggage", "datapoint_id=dp1,project=evil".parse().unwrap());
/// let cx = baggage::extract(&headers);
/// assert_eq!(cx.baggage().get("datapoint_id").unwrap().as_str(), "dp1");
/// assert!(cx.baggage().get("project").is_none());
/// ```
pub fn extract(headers: &HeaderMap) -> Context {
    let extractor = HeaderExtractor(headers);
    let with_baggage = BaggagePropagator::new().extract_with_context(&Context::new(), &extractor);
    let safe = Context::new().with_baggage(propagated_only(with_baggage.baggage()));
    TraceContextPropagator::new().extract_with_context(&safe, &extractor)
}
