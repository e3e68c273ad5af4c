//! Errors that say where they came from and whether a retry is safe.

use std::fmt;

/// Which side of the proxy an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    /// The client connection: malformed request, timeout, reset.
    Downstream,
    /// The upstream host: refused, reset, timed out, malformed response.
    Upstream,
    /// The proxy itself: no route, no healthy host, configuration.
    Internal,
}

/// What went wrong while proxying one request, mapped to a local reply when no response
/// bytes have reached the client yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyErrorKind {
    /// The request could not be parsed (400).
    BadRequest,
    /// The request head did not arrive in time (408).
    RequestHeaderTimeout,
    /// The request body is larger than allowed (413).
    PayloadTooLarge,
    /// The request head is larger than allowed (431).
    HeadersTooLarge,
    /// A feature the request needs is not supported (501).
    NotImplemented,
    /// The request's HTTP version is not 1.0 or 1.1 (505).
    VersionNotSupported,
    /// No route matched (404).
    NoRoute,
    /// The route names a cluster that does not exist (503 as Envoy does).
    NoCluster,
    /// The cluster has no host to pick (503).
    NoHealthyUpstream,
    /// A circuit breaker of the cluster is open (503, answered at once).
    Overflow,
    /// Connecting to the upstream failed or was refused (502).
    ConnectFailure,
    /// Connecting took longer than `connect_timeout` (504).
    ConnectTimeout,
    /// The upstream closed or reset the connection before a full response (502).
    UpstreamReset,
    /// The upstream sent bytes that are not a valid response (502).
    UpstreamProtocolError,
    /// The upstream did not answer within the route timeout (504).
    UpstreamTimeout,
}

impl ProxyErrorKind {
    /// HTTP status of the local reply for this error.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::RequestHeaderTimeout => 408,
            Self::PayloadTooLarge => 413,
            Self::HeadersTooLarge => 431,
            Self::NotImplemented => 501,
            Self::VersionNotSupported => 505,
            Self::NoRoute => 404,
            Self::NoCluster | Self::NoHealthyUpstream | Self::Overflow => 503,
            Self::ConnectFailure | Self::UpstreamReset | Self::UpstreamProtocolError => 502,
            Self::ConnectTimeout | Self::UpstreamTimeout => 504,
        }
    }

    /// Where the error came from.
    pub fn source(self) -> ErrorSource {
        match self {
            Self::BadRequest
            | Self::RequestHeaderTimeout
            | Self::PayloadTooLarge
            | Self::HeadersTooLarge
            | Self::NotImplemented
            | Self::VersionNotSupported => ErrorSource::Downstream,
            Self::NoRoute | Self::NoCluster | Self::NoHealthyUpstream | Self::Overflow => {
                ErrorSource::Internal
            }
            Self::ConnectFailure
            | Self::ConnectTimeout
            | Self::UpstreamReset
            | Self::UpstreamProtocolError
            | Self::UpstreamTimeout => ErrorSource::Upstream,
        }
    }

    /// The one-line body of the local reply, saying why.
    pub fn reason(self) -> &'static str {
        match self {
            Self::BadRequest => "malformed request",
            Self::RequestHeaderTimeout => "request header timeout",
            Self::PayloadTooLarge => "request body too large",
            Self::HeadersTooLarge => "request header fields too large",
            Self::NotImplemented => "not implemented",
            Self::VersionNotSupported => "HTTP version not supported",
            Self::NoRoute => "no route matched",
            Self::NoCluster => "route names an unknown cluster",
            Self::NoHealthyUpstream => "no healthy upstream host",
            Self::Overflow => "upstream overflow: circuit breaker open",
            Self::ConnectFailure => "upstream connect failure",
            Self::ConnectTimeout => "upstream connect timeout",
            Self::UpstreamReset => "upstream reset before response completed",
            Self::UpstreamProtocolError => "upstream sent a malformed response",
            Self::UpstreamTimeout => "upstream request timeout",
        }
    }
}

impl fmt::Display for ProxyErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}
