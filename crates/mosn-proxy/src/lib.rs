//! Proxy layer: the HTTP proxy network filter and tcp_proxy, tying the layers together.
#![forbid(unsafe_code)]
