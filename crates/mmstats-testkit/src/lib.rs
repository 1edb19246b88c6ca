//! What the workspace's tests share, so that no test includes another crate's files: a builder
//! of real mmstats files ([`file`](mod@file)), a builder of snapshots in memory ([`snapshot`]), a runner
//! of one test in a child process that checks the child really ran it ([`child`]), helpers for
//! servers and programs under test ([`http`], [`program`]), Java programs and their JVMs'
//! performance data files ([`jvm`]), a WebDriver client for pages in a headless browser
//! ([`webdriver`]), the benchmarks' files ([`mix`]) and a harness that reads a file while its
//! writer updates it and checks that no read is torn ([`torn`]).
//!
//! ```
//! use mmstats_testkit::file::FileBuilder;
//!
//! let image = FileBuilder::new(7, 8).counter("requests", "requests", 42).image();
//! let (header, fields) = mmstats_format::decode_file(&image)?;
//! assert_eq!(header.identity.pid, 7);
//! assert!(fields.iter().any(|f| f.meta.label == "requests"));
//! # Ok::<(), mmstats_format::FormatError>(())
//! ```

pub mod child;
pub mod file;
pub mod http;
pub mod jvm;
pub mod mix;
pub mod program;
pub mod snapshot;
pub mod torn;
pub mod webdriver;
