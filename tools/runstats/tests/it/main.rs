//! runstats end to end: recording real processes, faults, export and reports.

mod browser;
mod export;
mod faults;
mod record;
mod report;
mod support;
