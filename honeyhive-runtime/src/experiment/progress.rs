//! Progress of a run on stderr: a bar on a terminal, plain lines otherwise (CI logs),
//! nothing when the experiment is quiet.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) enum Progress {
    Quiet,
    /// The bar and the failures so far.
    Bar(ProgressBar, AtomicUsize),
    Lines(Mutex<Lines>),
}

pub(crate) struct Lines {
    name: String,
    total: usize,
    done: usize,
    failed: usize,
    /// The next tenth of the run at which a line is printed.
    next_tenth: usize,
}

impl Progress {
    pub(crate) fn new(name: &str, total: usize, quiet: bool) -> Progress {
        if quiet || total == 0 {
            return Progress::Quiet;
        }
        if std::io::stderr().is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} datapoints {msg} ({elapsed}, eta {eta})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(name.to_owned());
            Progress::Bar(bar, AtomicUsize::new(0))
        } else {
            Progress::Lines(Mutex::new(Lines {
                name: name.to_owned(),
                total,
                done: 0,
                failed: 0,
                next_tenth: 1,
            }))
        }
    }

    pub(crate) fn advance(&self, failed: bool) {
        match self {
            Progress::Quiet => {}
            Progress::Bar(bar, failures) => {
                if failed {
                    let n = failures.fetch_add(1, Ordering::Relaxed) + 1;
                    bar.set_message(format!("{n} failed"));
                }
                bar.inc(1);
            }
            Progress::Lines(lines) => {
                let mut l = lines.lock().unwrap_or_else(|p| p.into_inner());
                l.done += 1;
                l.failed += usize::from(failed);
                // A line per tenth of the run, and one at the end.
                if l.done * 10 >= l.next_tenth * l.total || l.done == l.total {
                    while l.done * 10 >= l.next_tenth * l.total && l.next_tenth <= 10 {
                        l.next_tenth += 1;
                    }
                    let line = format!(
                        "{}: {}/{} datapoints done, {} failed\n",
                        l.name, l.done, l.total, l.failed
                    );
                    let _ = std::io::stderr().lock().write_all(line.as_bytes());
                }
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Progress::Bar(bar, _) = self {
            bar.finish();
        }
    }
}
