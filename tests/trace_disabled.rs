//! With no tracer in context, or tracing disabled (`HH_DISABLED`), a `#[trace]` function
//! runs with no allocation and no serialisation from the macro: allocations are counted
//! per thread by this binary's global allocator, serialisations by the argument type.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use honeyhive::{Environment, HoneyHiveTracer, trace};
use serde::{Serialize, Serializer};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: delegates to `System`; counting touches only a const-initialised thread local
// without destructor, which never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> usize {
    ALLOCATIONS.with(|n| n.get())
}

/// Counts how often it is serialised.
struct Probe<'a>(&'a AtomicUsize, u32);

impl Serialize for Probe<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.fetch_add(1, Ordering::Relaxed);
        s.serialize_u32(self.1)
    }
}

fn metadata_value(evaluated: &AtomicUsize) -> u32 {
    evaluated.fetch_add(1, Ordering::Relaxed);
    1
}

#[trace(event_type = "tool", metadata(k = metadata_value(evaluated)), config(c = 2))]
fn sync_call<'a>(probe: Probe<'a>, evaluated: &AtomicUsize) -> Result<Probe<'a>, u32> {
    let _ = evaluated;
    if probe.1 == 0 { Err(0) } else { Ok(probe) }
}

#[trace(metadata(k = metadata_value(evaluated)))]
async fn async_call<'a>(probe: Probe<'a>, evaluated: &AtomicUsize) -> Probe<'a> {
    let _ = evaluated;
    probe
}

/// Runs both traced fns on this thread; returns (allocations, serialisations, metadata
/// evaluations) made during the calls.
fn measure() -> (usize, usize, usize) {
    let serialised = AtomicUsize::new(0);
    let evaluated = AtomicUsize::new(0);
    let mut cx = Context::from_waker(Waker::noop());
    let before = allocations();
    for n in [0, 1] {
        let _ = sync_call(Probe(&serialised, n), &evaluated);
    }
    let mut future = pin!(async_call(Probe(&serialised, 3), &evaluated));
    assert!(matches!(future.as_mut().poll(&mut cx), Poll::Ready(_)));
    let made = allocations() - before;
    (
        made,
        serialised.load(Ordering::Relaxed),
        evaluated.load(Ordering::Relaxed),
    )
}

fn local_dir(test: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "honeyhive-trace-disabled-{test}-{}",
        std::process::id()
    ))
}

#[test]
fn without_a_tracer_nothing_is_allocated_or_serialised() {
    // OpenTelemetry allocates its thread-local context stack on a thread's first context
    // access; that happens once per thread, whoever touches it first.
    honeyhive::opentelemetry::Context::map_current(|_| ());
    assert_eq!(measure(), (0, 0, 0));
    assert_eq!(measure(), (0, 0, 0));
}

#[test]
fn with_tracing_disabled_nothing_is_allocated_or_serialised() {
    let dir = local_dir("disabled");
    let tracer = HoneyHiveTracer::builder()
        .environment(Environment::empty())
        .local_dir(&dir)
        .disabled(true)
        .build()
        .unwrap();
    assert_eq!(tracer.in_scope(measure), (0, 0, 0));
    tracer.flush().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// The counters above would pass trivially if they counted nothing: with a tracer, the
/// same calls allocate, serialise each probe once and evaluate metadata per call.
#[test]
fn with_a_tracer_the_same_calls_are_recorded() {
    let dir = local_dir("enabled");
    let _ = std::fs::remove_dir_all(&dir);
    let tracer = HoneyHiveTracer::builder()
        .environment(Environment::empty())
        .local_dir(&dir)
        .build()
        .unwrap();
    let (allocated, serialised, evaluated) = tracer.in_scope(measure);
    assert!(allocated > 0);
    // Inputs of 3 calls, plus the `Ok` output of the second sync call and the async output.
    assert_eq!(serialised, 5);
    assert_eq!(evaluated, 3);
    tracer.flush().unwrap();
    let spans = honeyhive::local_store::read_spans(&dir).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(spans.len(), 3);
    assert_eq!(spans[0].attributes["honeyhive_error"], "0");
    assert_eq!(spans[1].attributes["honeyhive_outputs.result"], 1);
    assert_eq!(spans[2].attributes["honeyhive_outputs.result"], 3);
}
