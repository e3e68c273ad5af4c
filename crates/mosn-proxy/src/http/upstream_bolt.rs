//! HTTP requests answered by a Bolt server: MOSN's `transcoder` stream filter with
//! `http2bolt_simple`. The request's headers become Bolt headers (so a `service` header
//! routes on the server as it would from a SOFARPC client), its body the Bolt content,
//! passed through as the serialized call; the Bolt response's headers and content come
//! back as the HTTP response, its status mapped as for stats (success 200, server busy
//! 503, timeout 504, connection closed 502, anything else 500; MOSN answers 500 for
//! every failure). The request goes over the worker's multiplexed RPC connections, the
//! same ones Bolt clients' requests use.

use super::attempt::{connect_error_kind, AttemptError};
use super::upstream_h2::AttemptResult;
use crate::state::WorkerContext;
use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, TE, TRAILER};
use http::header::{PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TRANSFER_ENCODING, UPGRADE};
use http::{request, HeaderMap, Response, StatusCode};
use http_body_util::BodyExt;
use mosn_api::error::ProxyErrorKind;
use mosn_config::{Protocol, TranscoderConfig};
use mosn_protocol::xprotocol::bolt::{Bolt, BoltFrame, BOLT_V1, BOLT_V2};
use mosn_protocol::xprotocol::{Frame, FrameError, RpcHeaders, XCodec, DEFAULT_MAX_FRAME};
use mosn_stream::{full_body, MuxError, PoolKey, ProxyBody};
use mosn_upstream::{Cluster, Host};
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::time::{timeout_at, Instant};

/// A listener's `transcoder`: the Bolt version, class and serializer its requests carry.
#[derive(Debug)]
pub(crate) struct BoltTranscoder {
    codec: &'static Bolt,
    class: Vec<u8>,
    serializer: u8,
}

impl BoltTranscoder {
    /// The transcoder of a listener whose proxy sends `upstream` (`boltv2` picks Bolt v2
    /// with CRC32; anything else v1, as `http2bolt_simple` always sends in MOSN).
    pub(crate) fn new(cfg: &TranscoderConfig, upstream: Protocol) -> Self {
        Self {
            codec: if upstream == Protocol::BoltV2 {
                &BOLT_V2
            } else {
                &BOLT_V1
            },
            class: cfg.class.as_bytes().to_vec(),
            serializer: cfg.codec,
        }
    }
}

/// Headers that describe one HTTP hop or its framing, not the call: never sent as Bolt
/// headers nor taken from them.
fn is_hop_header(name: &HeaderName) -> bool {
    [
        CONNECTION,
        CONTENT_LENGTH,
        TE,
        TRAILER,
        TRANSFER_ENCODING,
        UPGRADE,
        PROXY_AUTHENTICATE,
        PROXY_AUTHORIZATION,
    ]
    .contains(name)
        || name == "keep-alive"
        || name == "proxy-connection"
}

/// Reads the whole request body (a Bolt frame carries its content whole), by `deadline`
/// and within the largest frame the codecs accept.
pub(super) async fn buffer_body(
    mut body: ProxyBody,
    deadline: Instant,
) -> Result<Bytes, ProxyErrorKind> {
    // By hand rather than `Limited::collect`: its error bound makes the compiler refuse
    // the request future as `Send` ("not general enough").
    let collect = async {
        let mut content = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| ProxyErrorKind::BadRequest)?;
            if let Ok(data) = frame.into_data() {
                if content.len() + data.len() > DEFAULT_MAX_FRAME {
                    return Err(ProxyErrorKind::PayloadTooLarge);
                }
                content.extend_from_slice(&data);
            }
        }
        Ok(content.freeze())
    };
    timeout_at(deadline, collect)
        .await
        .unwrap_or(Err(ProxyErrorKind::UpstreamTimeout))
}

/// One attempt: the request as a Bolt frame on the host's multiplexed connection,
/// its answer by `deadline`. `body` is the buffered body ([`buffer_body`]).
pub(super) async fn exchange(
    worker: &WorkerContext,
    transcoder: &BoltTranscoder,
    cluster: &Arc<Cluster>,
    host: &Arc<Host>,
    parts: &request::Parts,
    body: ProxyBody,
    deadline: Instant,
) -> AttemptResult {
    let content = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => return Err((AttemptError::Downstream, None)),
    };
    let unsent = |e: AttemptError, content: &Bytes| Err((e, Some(full_body(content.clone()))));
    let frame = match request_frame(transcoder, parts, &content, deadline) {
        Ok(f) => f,
        Err(kind) => return unsent(AttemptError::Fatal(kind), &content),
    };
    let codec: &'static dyn XCodec = transcoder.codec;
    let conn = match worker.mux.live(&PoolKey::new(cluster, host), codec) {
        Some(c) => c,
        None => match worker.mux.get(cluster, host, codec).await {
            Ok(c) => c,
            Err(MuxError::Overflow) => {
                return unsent(AttemptError::Fatal(ProxyErrorKind::Overflow), &content)
            }
            Err(MuxError::Connect(e)) => {
                return unsent(AttemptError::Retryable(connect_error_kind(&e)), &content)
            }
        },
    };
    let (tx, rx) = oneshot::channel();
    conn.send(
        frame,
        deadline,
        Some(Box::new(move |r| {
            let _ = tx.send(r);
        })),
    );
    match rx.await {
        Ok(Ok(resp)) => {
            response(transcoder, resp).map_err(|kind| (AttemptError::Fatal(kind), None))
        }
        Ok(Err(ProxyErrorKind::UpstreamTimeout)) => {
            Err((AttemptError::Fatal(ProxyErrorKind::UpstreamTimeout), None))
        }
        Ok(Err(kind)) => Err((AttemptError::Retryable(kind), None)),
        Err(_) => Err((AttemptError::Retryable(ProxyErrorKind::UpstreamReset), None)),
    }
}

/// The Bolt request for an HTTP request: its end-to-end headers, lower-cased, and the
/// time left until `deadline` as the Bolt timeout.
fn request_frame(
    transcoder: &BoltTranscoder,
    parts: &request::Parts,
    content: &[u8],
    deadline: Instant,
) -> Result<Frame, ProxyErrorKind> {
    let mut headers = RpcHeaders::default();
    for (name, value) in &parts.headers {
        if is_hop_header(name) {
            continue;
        }
        if let Ok(value) = value.to_str() {
            headers.push(name.as_str(), value);
        }
    }
    let timeout = deadline.saturating_duration_since(Instant::now());
    transcoder
        .codec
        .request(
            &transcoder.class,
            transcoder.serializer,
            headers,
            content,
            timeout,
        )
        .map_err(|e| match e {
            FrameError::TooLarge { .. } => ProxyErrorKind::PayloadTooLarge,
            _ => ProxyErrorKind::HeadersTooLarge,
        })
}

/// The HTTP response for a Bolt response: its headers (those valid in HTTP) and content
/// (a slice of the frame, not a copy).
fn response(
    transcoder: &BoltTranscoder,
    frame: Frame,
) -> Result<Response<ProxyBody>, ProxyErrorKind> {
    let parsed =
        BoltFrame::parse(&frame.bytes).map_err(|_| ProxyErrorKind::UpstreamProtocolError)?;
    let status = transcoder.codec.http_status(&frame.head);
    let mut headers = HeaderMap::with_capacity(parsed.headers.as_slice().len());
    for (name, value) in parsed.headers.as_slice() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            continue;
        };
        if !is_hop_header(&name) {
            headers.append(name, value);
        }
    }
    let start = parsed.content.as_ptr() as usize - frame.bytes.as_ptr() as usize;
    let content = start..start + parsed.content.len();
    let mut resp = Response::new(full_body(frame.bytes.freeze().slice(content)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *resp.headers_mut() = headers;
    Ok(resp)
}
