//! Route tables and matching: virtual hosts, path and header matches, actions.
#![forbid(unsafe_code)]
