//! The stream filter: the Stream layer's extension point, seeing each request and response
//! independent of the protocol that carried it.
//!
//! A filter implements only the phases it cares about; the others default to
//! [`FilterStatus::Continue`]. Filters are built once per listener from config and shared
//! by that listener's connections on a worker, so per-request state lives in the request.

use std::net::SocketAddr;

/// What the proxy knows about a request besides its headers.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The client's address (`None` on Unix sockets).
    pub remote: Option<SocketAddr>,
    /// The request method.
    pub method: &'a http::Method,
    /// The request path without its query.
    pub path: &'a str,
}

/// A filter's verdict on a phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterStatus {
    /// Go on to the next filter, then routing (or the client, for responses).
    Continue,
    /// Stop here and answer the client locally with this status and one-line reason.
    LocalReply {
        /// HTTP status of the reply.
        status: u16,
        /// One-line body saying why.
        reason: String,
    },
}

/// A stream filter; see the module docs.
pub trait StreamFilter: Send + Sync {
    /// The filter's config `type`, for logs.
    fn name(&self) -> &'static str;

    /// Request headers arrived; runs before routing (MOSN's `BeforeRoute` phase), so a
    /// filter may change headers that routing reads, or answer locally.
    fn on_request_headers(
        &self,
        _headers: &mut http::HeaderMap,
        _info: &RequestInfo<'_>,
    ) -> FilterStatus {
        FilterStatus::Continue
    }

    /// Response headers arrived from upstream, before they are sent to the client.
    fn on_response_headers(&self, _status: u16, _headers: &mut http::HeaderMap) {}
}
