//! The gRPC channel to the control plane, over TCP or a Unix socket (Istio's agent
//! serves xDS on `./etc/istio/proxy/XDS`).

use mosn_config::model::Address;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint, Uri};

/// Connects to `address` (HTTP/2 without TLS), failing after `timeout`.
pub async fn channel(address: &Address, timeout: Duration) -> Result<Channel, String> {
    match address {
        Address::Tcp(addr) => Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| e.to_string())?
            .connect_timeout(timeout)
            .tcp_nodelay(true)
            .connect()
            .await
            .map_err(|e| format!("{addr}: {}", error_chain(&e))),
        Address::Unix(path) => {
            let path = path.clone();
            let shown = path.display().to_string();
            Endpoint::from_static("http://xds.unix")
                .connect_timeout(timeout)
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        let stream = tokio::net::UnixStream::connect(path).await?;
                        Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
                    }
                }))
                .await
                .map_err(|e| format!("unix:{shown}: {}", error_chain(&e)))
        }
    }
}

/// An error with its causes, which is where tonic puts the useful part.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
