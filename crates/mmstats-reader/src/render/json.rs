//! json rendering (being written).
