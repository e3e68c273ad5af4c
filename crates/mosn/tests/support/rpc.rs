//! RPC (xprotocol) helpers: a one-listener RPC proxy config, captured frames as request
//! templates, and a blocking client on mosn-rs's own codecs for what no Node.js client
//! does on demand (a thousand calls in flight on one connection, chosen ids, oneway).

use super::*;
use bytes::BytesMut;
use mosn_protocol::xprotocol::{Frame, XCodec, DEFAULT_MAX_FRAME};

/// A one-listener RPC proxy config: `protocol` downstream and upstream, `routes` as the
/// catch-all virtual host's `routers`.
pub fn rpc_config(
    listen: SocketAddr,
    admin_port: u16,
    protocol: &str,
    routes: Value,
    clusters: Value,
) -> Value {
    let vhosts = json!([{ "name": "rpc", "domains": ["*"], "routers": routes }]);
    http_config(
        listen,
        Some(admin_port),
        vhosts,
        clusters,
        json!({ "downstream_protocol": protocol, "upstream_protocol": protocol }),
        json!({}),
    )
}

/// A route sending requests whose header `name` equals `value` to `cluster`.
pub fn rpc_route(name: &str, value: &str, cluster: &str) -> Value {
    json!({
        "match": { "headers": [{ "name": name, "value": value }] },
        "route": { "cluster_name": cluster }
    })
}

/// A captured frame from `shared/testdata/<dir>/`, by a part of its file name.
pub fn captured_frame(dir: &str, name_part: &str) -> Vec<u8> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ))
    .join(dir);
    let entry = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .find(|p| p.to_string_lossy().contains(name_part))
        .unwrap_or_else(|| panic!("no frame matching {name_part} in {}", dir.display()));
    fs::read(entry).expect("read frame")
}

/// A blocking RPC client speaking one codec over one TCP connection.
pub struct RpcClient {
    stream: TcpStream,
    codec: &'static dyn XCodec,
    buf: BytesMut,
}

impl RpcClient {
    pub fn connect(addr: SocketAddr, codec: &'static dyn XCodec) -> RpcClient {
        let stream = connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        RpcClient {
            stream,
            codec,
            buf: BytesMut::new(),
        }
    }

    /// Decodes `bytes` as one frame and gives it request id `id`.
    pub fn frame_with_id(&self, bytes: &[u8], id: u64) -> Frame {
        let mut buf = BytesMut::from(bytes);
        let mut frame = self
            .codec
            .decode(&mut buf, DEFAULT_MAX_FRAME)
            .expect("valid frame")
            .expect("whole frame");
        self.codec.set_request_id(&mut frame, id);
        frame
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send frame");
    }

    /// The next frame; panics on timeout (IO_TIMEOUT) or close.
    pub fn recv(&mut self) -> Frame {
        self.try_recv().expect("a frame before close")
    }

    /// The next frame, or `None` when the connection closed.
    pub fn try_recv(&mut self) -> Option<Frame> {
        loop {
            if let Some(f) = self
                .codec
                .decode(&mut self.buf, DEFAULT_MAX_FRAME)
                .expect("valid frame from mosn")
            {
                return Some(f);
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read from mosn: {e}"),
            }
        }
    }

    /// Sends one request with id `id` and returns the next frame.
    pub fn call(&mut self, template: &[u8], id: u64) -> Frame {
        let frame = self.frame_with_id(template, id);
        self.send(&frame.bytes);
        self.recv()
    }
}
