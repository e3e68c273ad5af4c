//! Runtime: workers, lifecycle, signals, building runtime state from config.
#![forbid(unsafe_code)]
