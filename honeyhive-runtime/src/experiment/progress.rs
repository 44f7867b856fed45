//! Progress of a run on stderr: a bar on a terminal, plain lines otherwise (CI logs),
//! nothing when the experiment is quiet.
//!
//! Every bar of the process is drawn by one [`Terminal`]. Experiments that run at once (the
//! tests of one binary) then each keep a line of their own instead of drawing over one
//! another; a bar is cleared as soon as its run is over; and a summary is written with the
//! bars still running lifted off the screen and drawn again below it. So no bar is left
//! behind, half drawn or stale, and no table is cut by one.

use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A terminal the process's progress bars share, with the text written between them.
pub(crate) struct Terminal {
    bars: MultiProgress,
    screen: Screen,
}

enum Screen {
    Stderr,
    /// A terminal in memory, for tests of what the bars leave on screen.
    #[cfg(test)]
    Memory(indicatif::InMemoryTerm),
}

impl Terminal {
    /// The process's stderr, when it is a terminal. One for the whole process: there is one
    /// stderr, and only one owner of its last lines can redraw them without garbling
    /// another's.
    pub(crate) fn stderr() -> Option<&'static Terminal> {
        static STDERR: OnceLock<Option<Terminal>> = OnceLock::new();
        STDERR
            .get_or_init(|| {
                std::io::stderr().is_terminal().then(|| Terminal {
                    bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                    screen: Screen::Stderr,
                })
            })
            .as_ref()
    }

    /// A terminal of `rows` x `columns` in memory, and its screen.
    #[cfg(test)]
    fn in_memory(rows: u16, columns: u16) -> (Terminal, indicatif::InMemoryTerm) {
        let screen = indicatif::InMemoryTerm::new(rows, columns);
        let terminal = Terminal {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::term_like(Box::new(
                screen.clone(),
            ))),
            screen: Screen::Memory(screen.clone()),
        };
        (terminal, screen)
    }

    /// Writes `text` (whole lines) above the bars: they are cleared while it is written and
    /// drawn again below it.
    pub(crate) fn write(&self, text: &str) {
        self.bars.suspend(|| match &self.screen {
            Screen::Stderr => {
                let _ = std::io::stderr().lock().write_all(text.as_bytes());
            }
            #[cfg(test)]
            Screen::Memory(screen) => {
                use indicatif::TermLike as _;
                for line in text.lines() {
                    let _ = screen.write_line(line);
                }
            }
        });
    }
}

pub(crate) enum Progress {
    Quiet,
    /// The bar (in its terminal's bars) and the failures so far.
    Bar {
        bar: ProgressBar,
        bars: MultiProgress,
        failures: AtomicUsize,
    },
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
    /// The progress of a run of `total` datapoints: a bar when stderr is a terminal, lines
    /// otherwise, nothing when `quiet`.
    pub(crate) fn new(name: &str, total: usize, quiet: bool) -> Progress {
        if quiet || total == 0 {
            return Progress::Quiet;
        }
        match Terminal::stderr() {
            Some(terminal) => Progress::bar(terminal, name, total),
            None => Progress::Lines(Mutex::new(Lines {
                name: name.to_owned(),
                total,
                done: 0,
                failed: 0,
                next_tenth: 1,
            })),
        }
    }

    fn bar(terminal: &Terminal, name: &str, total: usize) -> Progress {
        let bar = terminal.bars.add(ProgressBar::new(total as u64));
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} datapoints {msg} ({elapsed}, eta {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(name.to_owned());
        Progress::Bar {
            bar,
            bars: terminal.bars.clone(),
            failures: AtomicUsize::new(0),
        }
    }

    pub(crate) fn advance(&self, failed: bool) {
        match self {
            Progress::Quiet => {}
            Progress::Bar { bar, failures, .. } => {
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

    /// The run is over: its bar is cleared off the screen (the summary says the rest).
    pub(crate) fn finish(&self) {
        if let Progress::Bar { bar, bars, .. } = self {
            bar.finish_and_clear();
            bars.remove(bar);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two runs at once on one terminal, as two experiments of one test binary: both bars
    /// drawn while both run, then each run's summary written as it ends. What stays on
    /// screen is the two summaries, whole and in order, and no bar.
    #[test]
    fn runs_at_once_leave_their_summaries_and_no_bar() {
        let (terminal, screen) = Terminal::in_memory(40, 160);
        let first = Progress::bar(&terminal, "first", 3);
        let second = Progress::bar(&terminal, "second", 4);
        first.advance(false);
        second.advance(true);
        second.advance(false);
        first.advance(false);
        let drawn = screen.contents();
        assert!(
            drawn.contains("first [") && drawn.contains("second ["),
            "both bars are drawn while both run:\n{drawn}"
        );
        first.advance(false);
        first.finish();
        terminal.write("first: summary\n| table of first |\n");
        second.advance(false);
        second.advance(false);
        second.finish();
        terminal.write("second: summary\n| table of second |\n");
        assert_eq!(
            screen.contents(),
            "first: summary\n| table of first |\nsecond: summary\n| table of second |"
        );
    }

    /// While a run goes on, a summary written by another goes above its bar, whole.
    #[test]
    fn a_summary_goes_above_the_bars_still_running() {
        let (terminal, screen) = Terminal::in_memory(40, 160);
        let running = Progress::bar(&terminal, "running", 5);
        running.advance(false);
        terminal.write("done: summary\n| table |\n");
        running.advance(false);
        let lines: Vec<String> = screen.contents().lines().map(str::to_owned).collect();
        assert_eq!(lines[..2], ["done: summary", "| table |"], "{lines:?}");
        assert!(
            lines[2].starts_with("running [") && lines[2].contains("2/5 datapoints"),
            "{lines:?}"
        );
        assert_eq!(lines.len(), 3, "{lines:?}");
    }
}
