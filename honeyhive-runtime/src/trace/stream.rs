//! `#[trace]` on a function returning `impl Stream`: the call's span stays open until the
//! stream ends, fails or is dropped, with the stream's items folded into its output.
//!
//! The function body only builds the stream; the work happens as it is polled, so the span
//! ends with the stream, not with the body: on the last item (`honeyhive_outputs.result`
//! is the folded items), on the first `Err` item of a stream of `Result`s (the span fails
//! there, with what came before as its output), or when the stream is dropped before its
//! end (the span ends `cancelled`, with the partial output). The first item sets
//! `honeyhive_metrics.time_to_first_token_ms`; the span is current on every poll, so spans
//! made while producing an item are its children.
//!
//! Folding: text items (strings, and chat completion chunks whose `choices[0].delta.content`
//! carries text, as `async-openai` streams them) are concatenated; any other items are
//! kept as a list (up to [`MAX_ITEMS`]).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use futures_util::Stream;
use serde_json::Value;

use super::call::{Call, Recorder};

/// Items of a returned stream that `#[trace]` folds into the output. Implemented for every
/// `serde::Serialize` type.
#[diagnostic::on_unimplemented(
    message = "`#[trace]` cannot capture the items of the returned stream: `{Self}` does not implement `serde::Serialize`",
    label = "the stream's items are folded into the span output",
    note = "derive or implement `serde::Serialize` for `{Self}`, or count the items without recording them with `#[trace(skip_output)]`"
)]
pub trait CaptureItem: serde::Serialize {}
impl<T: serde::Serialize + ?Sized> CaptureItem for T {}

/// Errors of a returned stream of `Result`s: an `Err` item fails the span with its text.
/// Implemented for every `Display` type.
#[diagnostic::on_unimplemented(
    message = "`#[trace]` cannot record the errors of the returned stream: `{Self}` does not implement `std::fmt::Display`",
    label = "an `Err` item fails the span with its text",
    note = "implement `Display` for `{Self}`, or do not record the items with `#[trace(skip_output)]`"
)]
pub trait ItemError: std::fmt::Display {}
impl<E: std::fmt::Display + ?Sized> ItemError for E {}

/// Most items a folded list keeps; the count goes on regardless.
pub const MAX_ITEMS: usize = 1000;

/// `honeyhive_metrics.time_to_first_token_ms` of a traced stream.
const TIME_TO_FIRST_ITEM: &str = "honeyhive_metrics.time_to_first_token_ms";
/// `honeyhive_metrics.stream_items`: how many items the stream yielded.
const ITEMS: &str = "honeyhive_metrics.stream_items";

/// The items of a traced stream so far, folded.
#[derive(Debug, Default)]
pub struct Folded {
    /// Concatenated text while every item was text.
    text: String,
    /// The items as JSON, once one was not text (the text so far becomes the first).
    list: Option<Vec<Value>>,
    count: u64,
    /// The first error item's text.
    error: Option<String>,
    /// Items are counted, not recorded (`skip_output`).
    skip: bool,
}

impl Folded {
    fn push(&mut self, item: Value) {
        self.count += 1;
        if let Some(list) = &mut self.list {
            if list.len() < MAX_ITEMS {
                list.push(item);
            }
            return;
        }
        match text_of(&item) {
            Some(text) => self.text.push_str(text),
            None => {
                let mut list = Vec::new();
                if !self.text.is_empty() {
                    list.push(Value::String(std::mem::take(&mut self.text)));
                }
                list.push(item);
                self.list = Some(list);
            }
        }
    }

    fn output(&self) -> Value {
        match &self.list {
            Some(list) => Value::Array(list.clone()),
            None => Value::String(self.text.clone()),
        }
    }
}

/// The text an item carries: itself when a string; the first choice's delta content of a
/// chat completion chunk (also with no text yet: an empty piece).
fn text_of(item: &Value) -> Option<&str> {
    match item {
        Value::String(text) => Some(text),
        Value::Object(chunk) => {
            let choices = chunk.get("choices")?.as_array()?;
            match choices.first() {
                // A usage or keep-alive chunk: no text, but still a chunk.
                None => Some(""),
                Some(choice) => {
                    let delta = choice.get("delta")?;
                    Some(delta.get("content").and_then(Value::as_str).unwrap_or(""))
                }
            }
        }
        _ => None,
    }
}

/// Folds one item of a stream of values.
pub fn fold_value<T: CaptureItem + ?Sized>(item: &T, folded: &mut Folded) {
    match serde_json::to_value(item) {
        Ok(value) => folded.push(value),
        Err(e) => folded.push(Value::String(format!(
            "<item could not be serialised: {e}>"
        ))),
    }
}

/// Folds one item of a stream of `Result`s: an `Ok` value as [`fold_value`], an `Err` as
/// the failure of the stream.
pub fn fold_result<T: CaptureItem, E: ItemError>(item: &Result<T, E>, folded: &mut Folded) {
    match item {
        Ok(value) => fold_value(value, folded),
        Err(e) => {
            if folded.error.is_none() {
                folded.error = Some(e.to_string());
            }
        }
    }
}

/// Counts an item without recording it (`skip_output`).
pub fn fold_nothing<T: ?Sized>(_: &T, folded: &mut Folded) {
    folded.skip = true;
    folded.count += 1;
}

pin_project_lite::pin_project! {
    /// A stream whose items are folded into a `#[trace]` call's span, which ends with the
    /// stream; see the [module docs](self). Yields the inner stream's items unchanged.
    #[must_use = "streams do nothing unless polled"]
    //
    // `call` is taken (and dropped: the span ends) when the stream ends or fails.
    pub struct TracedStream<S: Stream> {
        #[pin]
        inner: S,
        call: Option<Call>,
        fold: fn(&S::Item, &mut Folded),
        folded: Folded,
        first_item_at: Option<SystemTime>,
    }

    impl<S: Stream> PinnedDrop for TracedStream<S> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(mut call) = this.call.take() {
                // Dropped before its end: cancelled, with what came so far.
                if let Some(recorder) = call.recorder() {
                    record(recorder, this.folded, *this.first_item_at);
                    recorder.cancel();
                }
            }
        }
    }
}

impl<S: Stream> TracedStream<S> {
    /// Wraps `inner`, the stream a traced function returned, with its `call`, folding each
    /// item with `fold` ([`fold_value`], [`fold_result`] or [`fold_nothing`]).
    pub fn new(inner: S, mut call: Call, fold: fn(&S::Item, &mut Folded)) -> TracedStream<S> {
        if let Some(recorder) = call.recorder() {
            recorder.keep_clock_running();
        }
        let call = call.is_recording().then_some(call);
        TracedStream {
            inner,
            call,
            fold,
            folded: Folded::default(),
            first_item_at: None,
        }
    }
}

/// The folded output, the item count and the time to the first item, on the call's span.
fn record(recorder: &mut Recorder, folded: &Folded, first: Option<SystemTime>) {
    if folded.count > 0 && !folded.skip {
        recorder.output(&folded.output());
    }
    recorder.entry(ITEMS, &folded.count);
    if let (Some(first), Some(start)) = (first, recorder.started_at()) {
        let ms = first
            .duration_since(start)
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0;
        recorder.entry(TIME_TO_FIRST_ITEM, &ms);
    }
}

impl<S: Stream> Stream for TracedStream<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let Some(call) = this.call.as_mut() else {
            return this.inner.poll_next(cx);
        };
        let span = call.recorder().map(|r| r.span_context().clone());
        let guard = span.map(opentelemetry::Context::attach);
        let polled = this.inner.poll_next(cx);
        drop(guard);
        match &polled {
            Poll::Pending => {}
            Poll::Ready(Some(item)) => {
                this.first_item_at.get_or_insert_with(SystemTime::now);
                (this.fold)(item, this.folded);
                if let Some(error) = this.folded.error.take() {
                    // The stream failed: the span ends here, with what came before.
                    let mut call = this.call.take();
                    if let Some(recorder) = call.as_mut().and_then(Call::recorder) {
                        record(recorder, this.folded, *this.first_item_at);
                        recorder.error("stream", error);
                    }
                }
            }
            Poll::Ready(None) => {
                let mut call = this.call.take();
                if let Some(recorder) = call.as_mut().and_then(Call::recorder) {
                    record(recorder, this.folded, *this.first_item_at);
                }
            }
        }
        polled
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<S: Stream> std::fmt::Debug for TracedStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedStream")
            .field("recording", &self.call.is_some())
            .field("items", &self.folded.count)
            .finish_non_exhaustive()
    }
}
