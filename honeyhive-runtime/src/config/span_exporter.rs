//! Span exporters the user registers with
//! [`ConfigBuilder::span_exporter`](super::ConfigBuilder::span_exporter), and the
//! object-safe form of the SDK's `SpanExporter` trait that lets a pipeline hold exporters of
//! different types in one list.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::BoxFuture;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// `opentelemetry_sdk::trace::SpanExporter` as a trait object (the SDK's trait returns
/// `impl Future`, which a trait object cannot).
pub(crate) trait DynSpanExporter: Send + Sync + fmt::Debug {
    fn export(&self, batch: Vec<SpanData>) -> BoxFuture<'_, OTelSdkResult>;
    fn force_flush(&self) -> OTelSdkResult;
    fn shutdown(&self) -> OTelSdkResult;
    fn set_resource(&mut self, resource: &Resource);
}

impl<E: SpanExporter + 'static> DynSpanExporter for E {
    fn export(&self, batch: Vec<SpanData>) -> BoxFuture<'_, OTelSdkResult> {
        Box::pin(SpanExporter::export(self, batch))
    }

    fn force_flush(&self) -> OTelSdkResult {
        SpanExporter::force_flush(self)
    }

    fn shutdown(&self) -> OTelSdkResult {
        SpanExporter::shutdown(self)
    }

    fn set_resource(&mut self, resource: &Resource) {
        SpanExporter::set_resource(self, resource)
    }
}

/// A span exporter of the user's, shared by every clone of the [`Config`](super::Config)
/// that registered it (and so by the pipeline of that configuration's destination).
///
/// Calls into it are serialised: the SDK's contract is that `export` is never called
/// again before the previous call returned, and the pipeline has two exports in flight.
/// The exporter is shut down when the last configuration and pipeline holding it are gone.
#[derive(Clone)]
pub(crate) struct UserExporter(Arc<Registered>);

struct Registered {
    /// Tells this exporter from every other one registered in the process: configurations
    /// with different exporters never share a pipeline.
    id: u64,
    /// The exporter's type, for warnings.
    type_name: &'static str,
    exporter: tokio::sync::Mutex<Box<dyn DynSpanExporter>>,
}

impl UserExporter {
    pub(crate) fn new<E: SpanExporter + 'static>(exporter: E) -> UserExporter {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        UserExporter(Arc::new(Registered {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            type_name: std::any::type_name::<E>(),
            exporter: tokio::sync::Mutex::new(Box::new(exporter)),
        }))
    }

    pub(crate) fn id(&self) -> u64 {
        self.0.id
    }

    /// Blocks until the exporter is free (an export may be under way), then runs `f` on it.
    fn with<T>(&self, f: impl FnOnce(&mut dyn DynSpanExporter) -> T) -> T {
        let mut exporter = futures_executor::block_on(self.0.exporter.lock());
        f(&mut **exporter)
    }
}

impl fmt::Debug for UserExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanExporter({})", self.0.type_name)
    }
}

impl SpanExporter for UserExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let exporter = self.0.exporter.lock().await;
        exporter.export(batch).await.map_err(|e| {
            OTelSdkError::InternalFailure(format!("span exporter {}: {e}", self.0.type_name))
        })
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.with(|exporter| exporter.force_flush())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.with(|exporter| exporter.set_resource(resource))
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let exporter = self.exporter.get_mut();
        // A user's `shutdown` may block (flush what it buffered): not on an async worker.
        if tokio::runtime::Handle::try_current().is_ok() {
            let exporter = std::mem::replace(exporter, Box::new(Closed));
            let _ = std::thread::Builder::new()
                .name("honeyhive-shutdown".into())
                .spawn(move || exporter.shutdown());
        } else {
            let _ = exporter.shutdown();
        }
    }
}

/// What is left of an exporter whose shutdown was moved to another thread.
#[derive(Debug)]
struct Closed;

impl SpanExporter for Closed {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Err(OTelSdkError::AlreadyShutdown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Debug, Default, Clone)]
    struct Counting(Arc<Mutex<Vec<&'static str>>>);

    impl SpanExporter for Counting {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.0.lock().unwrap().push(if batch.is_empty() {
                "empty batch"
            } else {
                "batch"
            });
            Ok(())
        }

        fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
            self.0.lock().unwrap().push("shutdown");
            Ok(())
        }
    }

    #[test]
    fn clones_share_one_exporter_and_the_last_one_shuts_it_down() {
        let calls = Counting::default();
        let registered = UserExporter::new(calls.clone());
        let clone = registered.clone();
        assert_eq!(registered.id(), clone.id());
        assert_ne!(registered.id(), UserExporter::new(Counting::default()).id());
        assert!(format!("{registered:?}").contains("Counting"));
        futures_executor::block_on(SpanExporter::export(&clone, Vec::new())).unwrap();
        drop(registered);
        assert_eq!(*calls.0.lock().unwrap(), ["empty batch"]);
        drop(clone);
        assert_eq!(*calls.0.lock().unwrap(), ["empty batch", "shutdown"]);
    }
}
