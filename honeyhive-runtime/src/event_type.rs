//! Event type inference (`docs/span-attributes.md`) for spans that did not say.
//!
//! It runs in the export stage, on the pipeline's thread, before any exporter sees a span:
//! the attributes it reads (`gen_ai.operation.name`, `openinference.span.kind`) may be set
//! at any time until the span ends, by the user or by another crate's instrumentation. It
//! is a rule of the span-attributes contract, for every span, so it lives beside the
//! attribute names rather than in `trace/` or `export/`.

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use crate::attributes as attr;

/// The event type of a span that says nothing inference reads.
const DEFAULT: &str = "tool";

/// Sets `honeyhive_event_type` on `span` when it has none: from `gen_ai.operation.name`,
/// then `openinference.span.kind`, else [`DEFAULT`].
pub(crate) fn infer(span: &mut SpanData) {
    if span
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == attr::EVENT_TYPE)
    {
        return;
    }
    let event_type = inferred(&span.attributes);
    span.attributes
        .push(KeyValue::new(attr::EVENT_TYPE, event_type));
}

/// The event type inference gives a span with `attributes` (whatever
/// `honeyhive_event_type` it may already have).
pub(crate) fn inferred(attributes: &[KeyValue]) -> &'static str {
    let mut operation = None;
    let mut kind = None;
    for kv in attributes {
        match kv.key.as_str() {
            attr::GEN_AI_OPERATION_NAME => operation = Some(&kv.value),
            attr::OPENINFERENCE_SPAN_KIND => kind = Some(&kv.value),
            _ => {}
        }
    }
    operation
        .and_then(|v| from_operation(&as_text(v)))
        .or_else(|| kind.and_then(|v| from_span_kind(&as_text(v))))
        .unwrap_or(DEFAULT)
}

fn as_text(v: &Value) -> std::borrow::Cow<'_, str> {
    v.as_str()
}

fn from_operation(op: &str) -> Option<&'static str> {
    match op {
        // `embeddings` too: a call to a model, with tokens and a cost.
        "chat" | "text_completion" | "generate_content" | "embeddings" => Some("model"),
        "invoke_agent" | "create_agent" => Some("chain"),
        "execute_tool" => Some("tool"),
        _ => None,
    }
}

fn from_span_kind(kind: &str) -> Option<&'static str> {
    match kind.to_ascii_uppercase().as_str() {
        "LLM" => Some("model"),
        "CHAIN" | "AGENT" => Some("chain"),
        "TOOL" | "RETRIEVER" | "EMBEDDING" | "RERANKER" | "GUARDRAIL" => Some("tool"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inferred(attrs: Vec<KeyValue>) -> String {
        let mut span = crate::export::test_span(attrs);
        infer(&mut span);
        let found = span
            .attributes
            .iter()
            .filter(|kv| kv.key.as_str() == attr::EVENT_TYPE)
            .collect::<Vec<_>>();
        assert_eq!(found.len(), 1, "exactly one event type");
        found[0].value.as_str().into_owned()
    }

    #[test]
    fn inference_table() {
        let op = |v: &'static str| vec![KeyValue::new(attr::GEN_AI_OPERATION_NAME, v)];
        let kind = |v: &'static str| vec![KeyValue::new(attr::OPENINFERENCE_SPAN_KIND, v)];
        for (v, want) in [
            ("chat", "model"),
            ("text_completion", "model"),
            ("generate_content", "model"),
            ("embeddings", "model"),
        ] {
            assert_eq!(inferred(op(v)), want);
        }
        for (v, want) in [
            ("invoke_agent", "chain"),
            ("create_agent", "chain"),
            ("execute_tool", "tool"),
        ] {
            assert_eq!(inferred(op(v)), want);
        }
        for (v, want) in [
            ("LLM", "model"),
            ("CHAIN", "chain"),
            ("AGENT", "chain"),
            ("RETRIEVER", "tool"),
        ] {
            assert_eq!(inferred(kind(v)), want);
        }
        assert_eq!(inferred(vec![]), "tool");
        // The operation name comes first; an unknown one falls through to the span kind.
        let both = vec![
            KeyValue::new(attr::GEN_AI_OPERATION_NAME, "chat"),
            KeyValue::new(attr::OPENINFERENCE_SPAN_KIND, "TOOL"),
        ];
        assert_eq!(inferred(both), "model");
        let unknown = vec![
            KeyValue::new(attr::GEN_AI_OPERATION_NAME, "dance"),
            KeyValue::new(attr::OPENINFERENCE_SPAN_KIND, "AGENT"),
        ];
        assert_eq!(inferred(unknown), "chain");
        // An explicit event type is never overridden.
        assert_eq!(
            inferred(vec![
                KeyValue::new(attr::EVENT_TYPE, "chain"),
                KeyValue::new(attr::GEN_AI_OPERATION_NAME, "chat")
            ]),
            "chain"
        );
    }
}
