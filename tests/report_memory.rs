//! Writing a run's reports holds one datapoint at a time (issue 16's memory figure): the
//! heap that writing `report.html`, `junit.xml` and `summary.md` takes at its peak is a
//! small part of what it writes. The rows of the page and the cases of the JUnit file
//! wait in files beside them, not in memory; what stays in memory until the run's spans are
//! read through is each span's skeleton.
//!
//! A test binary of its own with one test: the allocator below counts every allocation of
//! the process, so nothing may run beside the measured part.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use honeyhive::dataset::Dataset;
use honeyhive::experiment::Experiment;
use honeyhive::{Environment, evaluator, evaluators};
use serde::Deserialize;

/// The system allocator, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is forwarded as it is to the system allocator, which upholds the
// contract; the counters only observe the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc` requires.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation is).
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`, and the caller's new size.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size > layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[derive(Deserialize)]
struct Question {
    k: u64,
}

#[evaluator]
fn long(output: &String) -> bool {
    output.len() > 8_000
}

/// Each datapoint's output: 8 kB, so the reports are megabytes.
fn answer(k: u64) -> String {
    format!("answer {k}: {}", "lorem ipsum ".repeat(700))
}

#[test]
fn writing_the_reports_holds_one_datapoint_at_a_time() {
    let dir = std::env::temp_dir().join(format!("honeyhive-report-memory-{}", std::process::id()));
    let datapoints: usize = 1_000;
    let lines: Vec<String> = (0..datapoints)
        .map(|k| format!(r#"{{"inputs": {{"k": {k}}}}}"#))
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime
        .block_on(
            Experiment::<Question, String>::new("report memory")
                .environment(Environment::empty())
                .local_dir(&dir)
                .dataset(Dataset::from_json(&lines.join("\n")).unwrap())
                .evaluators(evaluators![long])
                .quiet()
                .run(|q: Question| async move { answer(q.k) }),
        )
        .unwrap();
    assert_eq!(
        (report.datapoint_count, report.failed_count),
        (datapoints, 0)
    );
    let folder = report.report_dir.clone().unwrap();

    // Written again, the heap's peak over what was live before.
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    report.write_reports().unwrap();
    let held = PEAK.load(Ordering::Relaxed) - before;

    let size = |name: &str| std::fs::metadata(folder.join(name)).unwrap().len() as usize;
    let written = size(honeyhive::report::REPORT_HTML) + size(honeyhive::report::JUNIT_XML);
    let page = std::fs::read_to_string(folder.join(honeyhive::report::REPORT_HTML)).unwrap();
    assert_eq!(page.matches(": lorem ipsum").count(), datapoints);
    // Holding every row (as the page's data, then the page) would take twice the page;
    // a datapoint at a time, its spans' skeletons and the files' buffers, well under a
    // fifth of the reports.
    assert!(
        held < written / 5,
        "writing {written} bytes of reports for {datapoints} datapoints held {held} bytes \
         of heap at its peak"
    );
    // Nothing is left beside the reports.
    let names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    drop(report);
    std::fs::remove_dir_all(&dir).ok();
}
