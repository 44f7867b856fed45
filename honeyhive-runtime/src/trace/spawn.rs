//! Carrying the current context (tracer, baggage, parent span) across tasks and threads.
//!
//! Neither `tokio::spawn` nor `std::thread::spawn` carries the OpenTelemetry context; these
//! helpers do, so spans on the new task or thread belong to the same session and datapoint.

use std::future::Future;

use opentelemetry::Context;
use opentelemetry::context::FutureExt as _;

/// `tokio::spawn` with the current context current on every poll of `future`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let handle = honeyhive::spawn(async { 1 + 1 });
/// assert_eq!(handle.await.unwrap(), 2);
/// # }
/// ```
///
/// # Panics
/// Like `tokio::spawn`, outside a tokio runtime.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.with_current_context())
}

/// `tokio::task::spawn_blocking` with the current context attached while `f` runs.
pub fn spawn_blocking<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let cx = Context::current();
    tokio::task::spawn_blocking(move || {
        let _guard = cx.attach();
        f()
    })
}

/// Threads that carry the current context.
pub mod thread {
    use opentelemetry::Context;

    /// `std::thread::spawn` with the current context attached while `f` runs.
    ///
    /// ```
    /// let handle = honeyhive::thread::spawn(|| 6 * 7);
    /// assert_eq!(handle.join().unwrap(), 42);
    /// ```
    pub fn spawn<F, T>(f: F) -> std::thread::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let cx = Context::current();
        std::thread::spawn(move || {
            let _guard = cx.attach();
            f()
        })
    }

    /// `std::thread::Scope::spawn` with the current context attached while `f` runs.
    ///
    /// ```
    /// let total = std::thread::scope(|s| {
    ///     let h = honeyhive::thread::scoped(s, || 1);
    ///     h.join().unwrap()
    /// });
    /// assert_eq!(total, 1);
    /// ```
    pub fn scoped<'scope, F, T>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        f: F,
    ) -> std::thread::ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let cx = Context::current();
        scope.spawn(move || {
            let _guard = cx.attach();
            f()
        })
    }
}
