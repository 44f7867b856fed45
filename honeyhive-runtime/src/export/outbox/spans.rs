//! The spans' side of the outbox: the HoneyHive destination sends a batch's spans only
//! once their sessions' starts are settled, keeps the spans of sessions whose start was
//! kept, and keeps a batch it could not deliver within the retry budget.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::{KeyValue, Value as Otel};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::{Outbox, Verdict};
use crate::attributes;
use crate::export::buffer_pool;
use crate::export::local::record;
use crate::export::otlp::OtlpExporter;

/// OTLP/HTTP to HoneyHive through the outbox: the exporter of the pipeline's HoneyHive
/// destination.
#[derive(Debug)]
pub(crate) struct HoneyHiveExporter {
    otlp: OtlpExporter,
    outbox: Arc<Outbox>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("url", &self.client.base_url())
            .field("kept_in", &self.store.dir())
            .finish_non_exhaustive()
    }
}

impl HoneyHiveExporter {
    pub(crate) fn new(otlp: OtlpExporter, outbox: Arc<Outbox>) -> Self {
        HoneyHiveExporter { otlp, outbox }
    }

    /// Sends `spans` (split if the backend finds a request too large) and keeps on disk
    /// those it did not accept within the retry budget.
    async fn send_or_keep(&self, spans: &[SpanData]) {
        if let Err(failed) = self.otlp.deliver(spans).await {
            let kept = failed.spans.iter().map(|&i| record(&spans[i])).collect();
            self.outbox
                .keep_spans(kept, Some(failed.into_error().to_string()));
        }
    }
}

impl SpanExporter for HoneyHiveExporter {
    /// Exports `batch`: each span once its session's start is settled, under the session
    /// id the backend knows; the spans of sessions whose start was kept, and a batch the
    /// backend did not accept within the retry budget, are kept on disk. `Err` only when
    /// spans could not be kept either.
    async fn export(&self, mut batch: Vec<SpanData>) -> OTelSdkResult {
        // The verdict of each session of the batch (a batch holds a few sessions' spans,
        // so a list beats a map), and each span's session in it.
        let mut verdicts: Vec<(String, Verdict)> = Vec::new();
        let mut of_span = Vec::with_capacity(batch.len());
        for span in &batch {
            let Some(session) = session_of(span) else {
                of_span.push(None);
                continue;
            };
            let at = match verdicts.iter().position(|(s, _)| *s == *session) {
                Some(at) => at,
                None => {
                    let verdict = self.outbox.verdict(&session).await;
                    verdicts.push((session.into_owned(), verdict));
                    verdicts.len() - 1
                }
            };
            of_span.push(Some(at));
        }
        let verdict = |i: usize| of_span[i].map(|at: usize| &verdicts[at].1);
        let plain =
            (0..batch.len()).all(|i| matches!(verdict(i), None | Some(Verdict::Send(None))));
        if plain {
            // The usual case: the whole batch goes as it is, and its buffers come back for
            // reuse once it is sent (or kept).
            self.send_or_keep(&batch).await;
            buffer_pool::recycle(batch);
            return Ok(());
        }
        let mut send = Vec::new();
        let mut keep = Vec::new();
        for (i, mut span) in batch.drain(..).enumerate() {
            match verdict(i) {
                Some(Verdict::Keep) => keep.push(span),
                Some(Verdict::Send(Some(backend_id))) => {
                    rename_session(&mut span, backend_id);
                    send.push(span);
                }
                _ => send.push(span),
            }
        }
        self.outbox
            .keep_spans(keep.iter().map(record).collect(), None);
        if !send.is_empty() {
            self.send_or_keep(&send).await;
        }
        Ok(())
    }
}

/// The session id a span carries, if it carries one.
fn session_of(span: &SpanData) -> Option<Cow<'_, str>> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == attributes::SESSION_ID)
        .map(|kv| kv.value.as_str())
}

/// Puts `backend_id` where the span names its session.
fn rename_session(span: &mut SpanData, backend_id: &str) {
    for kv in &mut span.attributes {
        let key = kv.key.as_str();
        if key == attributes::SESSION_ID || key == attributes::TRACELOOP_SESSION_ID {
            *kv = KeyValue::new(kv.key.clone(), Otel::from(backend_id.to_owned()));
        }
    }
}
