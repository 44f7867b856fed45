//! `#[trace]` on functions returning `impl Stream`: sync and async, items of any
//! serialisable type or `Result`s of them, `skip_output` for items that are not, and the
//! stream's own bounds (`Send`, `Unpin`) kept.
#![deny(warnings)]

use futures_util::{Stream, StreamExt as _};
use honeyhive::trace;

#[trace]
fn numbers(to: u32) -> impl Stream<Item = u32> {
    futures_util::stream::iter(0..to)
}

#[trace(name = "deltas")]
async fn deltas() -> impl Stream<Item = Result<String, std::io::Error>> + Send {
    futures_util::stream::iter(vec![Ok("a".to_owned()), Ok("b".to_owned())])
}

struct Opaque;

#[trace(skip_output)]
fn opaque() -> impl futures_util::Stream<Item = Opaque> + Send + Unpin {
    futures_util::stream::iter(vec![Opaque])
}

fn sendable<T: Send>(_: &T) {}
fn unpin<T: Unpin>(_: &T) {}

fn main() {
    let stream = opaque();
    sendable(&stream);
    unpin(&stream);
    let _ = numbers(3).map(|n| n + 1);
    let _ = deltas();
}
