//! A part of a report file that is written before what precedes it in the file is known:
//! the datapoints' rows of `report.html` come after the metric charts (drawn from every
//! value), and the cases of `junit.xml` after their suite's counts. The part goes to a file
//! of its own (unnamed, in the run's folder) while the datapoints are read, one at a time,
//! and is copied into the report once what comes before it is written. Writing a run's
//! reports then holds one datapoint at a time in memory, not all its rows (a
//! 10,000-datapoint run's page and JUnit file are megabytes each).

use std::fs::File;
use std::io::{self, BufWriter, Seek as _, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A file being appended to, with no name: the system deletes it when it is closed, copied
/// into its report or not, even when the process is killed while writing.
///
/// Why `tempfile`: an unnamed file (`O_TMPFILE` on Linux, unlinked at once elsewhere) is
/// what the part needs, and a named file deleted by `Drop` stayed behind on a crash.
pub(crate) struct Spill {
    /// The report it is part of, for errors.
    report: PathBuf,
    out: Option<BufWriter<File>>,
}

impl Spill {
    /// A new unnamed file in `dir` (the run's folder), part of the report `report`.
    pub(crate) fn create(dir: &Path, report: &str) -> Result<Spill> {
        let report = dir.join(report);
        let file = tempfile::tempfile_in(dir).map_err(|source| Error::LocalStore {
            path: report.clone(),
            source,
        })?;
        Ok(Spill {
            report,
            out: Some(BufWriter::with_capacity(1 << 16, file)),
        })
    }

    /// Appends `bytes`.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.write_with(|out| out.write_all(bytes))
    }

    /// Appends what `write` writes.
    pub(crate) fn write_with(
        &mut self,
        write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
    ) -> Result<()> {
        let written = match self.out.as_mut() {
            Some(out) => write(out),
            None => Err(io::Error::other("the file was already copied")),
        };
        written.map_err(|source| self.error(source))
    }

    /// Copies everything appended into `to`; the file goes when this returns.
    pub(crate) fn copy_to(mut self, to: &mut impl Write) -> Result<()> {
        let out = self
            .out
            .take()
            .ok_or_else(|| self.error(io::Error::other("the file was already copied")))?;
        let mut file = out.into_inner().map_err(|e| self.error(e.into_error()))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|source| self.error(source))?;
        io::copy(&mut file, to).map_err(|source| self.error(source))?;
        Ok(())
    }

    fn error(&self, source: io::Error) -> Error {
        Error::LocalStore {
            path: self.report.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spill_gives_back_what_was_appended_and_leaves_no_file() {
        let dir = std::env::temp_dir().join(format!("honeyhive-spill-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let listing = || std::fs::read_dir(&dir).unwrap().count();
        let mut spill = Spill::create(&dir, "report.html").unwrap();
        let line = vec![b'x'; 1000];
        for _ in 0..200 {
            spill.write(&line).unwrap();
        }
        spill.write_with(|out| out.write_all(b"end")).unwrap();
        assert_eq!(listing(), 0, "the part has no name in the run's folder");
        let mut copied = Vec::new();
        spill.copy_to(&mut copied).unwrap();
        assert_eq!(copied.len(), 200_003);
        assert!(copied.ends_with(b"xend"));
        // Dropped without being copied (an error while writing the report): nothing left.
        let mut spill = Spill::create(&dir, "junit.xml").unwrap();
        spill.write(b"<testcase/>").unwrap();
        drop(spill);
        assert_eq!(listing(), 0);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_folder_that_is_not_there_is_an_error_naming_the_report() {
        let dir = std::env::temp_dir().join(format!("honeyhive-spill-{}", uuid::Uuid::new_v4()));
        let Err(e) = Spill::create(&dir, "report.html") else {
            panic!("no folder, no part");
        };
        assert!(e.to_string().contains("report.html"), "{e}");
    }
}
