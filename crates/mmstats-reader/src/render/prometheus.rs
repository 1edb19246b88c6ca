//! prometheus rendering (being written).
