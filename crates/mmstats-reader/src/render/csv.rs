//! csv rendering (being written).
