//! Going over every file: finding them, examining each, and the summary.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use mmstats_reader::{ErrorKind, discover};
use mmstats_render::text::escape;

use crate::cli::Cli;
use crate::removal::{Outcome, examine, skip_reason};

/// A path as shown on a terminal (control characters escaped).
fn shown(path: &std::path::Path) -> String {
    escape(&path.to_string_lossy()).into_owned()
}

/// Counts for the summary line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Files removed (or, in a dry run, that would be).
    pub removed: usize,
    /// Files whose writer is alive.
    pub alive: usize,
    /// Files left alone for another reason.
    pub skipped: usize,
    /// Files that could not be examined.
    pub failed: usize,
}

impl Tally {
    /// The summary line: `removed N, M alive, K skipped`.
    pub fn summary(&self, dry_run: bool) -> String {
        let verb = if dry_run { "would remove" } else { "removed" };
        let mut s = format!(
            "{verb} {}, {} alive, {} skipped",
            self.removed, self.alive, self.skipped
        );
        if self.failed > 0 {
            s.push_str(&format!(", {} failed", self.failed));
        }
        s
    }
}

/// The files to examine: existing files as they are (never followed), directories as their
/// `*.mmstats` files, the rest expanded as globs; no arguments means the default glob.
fn targets(cli: &Cli) -> (Vec<PathBuf>, Vec<mmstats_reader::ReadError>) {
    let (existing, patterns): (Vec<&String>, Vec<&String>) = cli
        .paths
        .iter()
        .partition(|p| std::fs::symlink_metadata(p).is_ok_and(|m| !m.is_dir()));
    let mut paths: Vec<PathBuf> = existing.into_iter().map(PathBuf::from).collect();
    let mut errors = Vec::new();
    if cli.paths.is_empty() || !patterns.is_empty() {
        let (found, errs) = discover(&patterns);
        paths.extend(found);
        errors = errs;
    }
    paths.sort();
    paths.dedup();
    (paths, errors)
}

/// Runs cleanstats: 0 if every file was examined, 1 if some could not be.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    cli.dirs.apply();
    let (paths, errors) = targets(cli);
    let mut tally = Tally::default();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let note_skip = |path: &std::path::Path, why: &str| {
        if !cli.quiet {
            eprintln!("cleanstats: skipped {}: {why}", shown(path));
        }
    };
    for e in &errors {
        if matches!(
            e.kind,
            ErrorKind::EmptyDir | ErrorKind::NoMatch | ErrorKind::NoDir
        ) {
            // Nothing to clean there: say so, but it is not a failure (cron runs us on
            // directories that are often empty).
            if !cli.quiet {
                eprintln!("cleanstats: {}", escape(&e.to_string()));
            }
            continue;
        }
        if matches!(e.kind, ErrorKind::NotFound) {
            // A path the user named that does not exist.
            tally.failed += 1;
            eprintln!("cleanstats: {}", escape(&e.to_string()));
            continue;
        }
        match skip_reason(e) {
            Some(why) => {
                tally.skipped += 1;
                note_skip(&e.path, &why);
            }
            None => {
                tally.failed += 1;
                eprintln!("cleanstats: {}", escape(&e.to_string()));
            }
        }
    }
    for path in &paths {
        match examine(path, cli.dry_run) {
            Ok(Outcome::Removed) => {
                tally.removed += 1;
                if !cli.quiet {
                    writeln!(out, "removed {}", shown(path)).context("writing output")?;
                }
            }
            Ok(Outcome::WouldRemove(why)) => {
                tally.removed += 1;
                if !cli.quiet {
                    writeln!(out, "would remove {} ({why})", shown(path))
                        .context("writing output")?;
                }
            }
            Ok(Outcome::Alive) => tally.alive += 1,
            Ok(Outcome::Skipped(why)) => {
                tally.skipped += 1;
                out.flush().context("writing output")?;
                note_skip(path, &why);
            }
            Err(e) => {
                tally.failed += 1;
                out.flush().context("writing output")?;
                eprintln!("cleanstats: {}: {e}", shown(path));
            }
        }
    }
    if !cli.quiet {
        writeln!(out, "{}", tally.summary(cli.dry_run)).context("writing output")?;
    }
    out.flush().context("writing output")?;
    Ok(if tally.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines() {
        let t = Tally {
            removed: 2,
            alive: 3,
            skipped: 1,
            failed: 0,
        };
        assert_eq!(t.summary(false), "removed 2, 3 alive, 1 skipped");
        assert_eq!(t.summary(true), "would remove 2, 3 alive, 1 skipped");
        let t = Tally { failed: 1, ..t };
        assert_eq!(t.summary(false), "removed 2, 3 alive, 1 skipped, 1 failed");
    }
}
