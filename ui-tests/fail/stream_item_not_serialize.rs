use futures_util::Stream;
use honeyhive::trace;

struct Opaque;

#[trace]
fn opaque() -> impl Stream<Item = Opaque> {
    futures_util::stream::iter(vec![Opaque])
}

#[trace]
fn failing() -> impl Stream<Item = Result<u32, Opaque>> {
    futures_util::stream::iter(vec![Ok(1)])
}

fn main() {}
