//! Integration tests of the reader: files built with the format crate's `Plan` in temporary
//! directories, the golden vectors, hostile inputs, concurrent changes, scanning, liveness and
//! combining.

mod aggregate;
mod concurrent;
mod hostile;
mod image;
mod intervals;
mod jvm;
mod liveness;
mod open;
mod resources;
mod scan;
mod snapshot;
mod vectors;
