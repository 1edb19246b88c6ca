//! text rendering (being written).
