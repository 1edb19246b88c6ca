//! Cross-process scenarios: a writer in a child process, readers in the test process.

mod live_writer;
