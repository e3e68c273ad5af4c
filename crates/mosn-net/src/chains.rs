//! A listener's filter chains and how a connection gets one: the transport is detected
//! (TLS when the first byte opens a handshake record, TLCP when that record carries
//! version 0x0101; detection runs when `inspector` is on, the listener mixes TLS and
//! plaintext chains, or a chain speaks TLCP), the ClientHello's SNI and ALPN are read by
//! rustls, then the chain is chosen with Envoy's `filter_chain_match` rules and, for TLS,
//! its certificate by SNI then ALPN before the handshake completes.

use crate::filter::{ConnectionInfo, TlsInfo};
use crate::socket::Socket;
use mosn_config::{CidrRange, FilterChainMatch, TransportProtocol};
use mosn_tls::rustls::server::Acceptor;
use mosn_tls::tokio_rustls::LazyConfigAcceptor;
use mosn_tls::{tlcp, ListenerTls, TLS_HANDSHAKE_BYTE};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// One filter chain: its match, its TLS contexts (`None`: plaintext) and what serves it.
pub struct Chain<T> {
    /// `filter_chain_match`.
    pub matcher: FilterChainMatch,
    /// The chain's certificates, hot-swapped when their files change.
    pub tls: Option<Arc<ListenerTls>>,
    /// What serves the connection (the chain's network filter).
    pub value: T,
}

/// The chains of one listener.
pub struct FilterChains<T> {
    chains: Vec<Chain<T>>,
    inspect: bool,
    handshake_timeout: Duration,
}

/// Where [`FilterChains::settle_now`] leaves a connection.
pub enum Settled<'a, T> {
    /// The chain is picked (or no chain matches).
    Now(Result<(Socket, &'a T), EstablishError>),
    /// A TCP connection to a TLS listener: it needs [`FilterChains::establish`].
    Handshake(TcpStream),
}

/// Why a connection got no chain or no TLS session.
#[derive(Debug, thiserror::Error)]
pub enum EstablishError {
    /// The connection matched no chain.
    #[error("no filter chain matches the connection")]
    NoChain,
    /// The TLS handshake failed or timed out.
    #[error("TLS handshake failed: {0}")]
    Handshake(io::Error),
    /// The client went away (or was too slow) before sending its first byte.
    #[error("client sent nothing: {0}")]
    Silent(io::Error),
}

/// What chain selection sees of a connection.
struct Facts<'a> {
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
    tls: bool,
    /// A TLCP ClientHello (with `tls`).
    tlcp: bool,
    sni: Option<&'a str>,
    alpn: Vec<&'a [u8]>,
}

impl<T> FilterChains<T> {
    /// `inspector` asks for TLS and plaintext on one port; it is implied when the chains
    /// mix both. `handshake_timeout` bounds the first byte plus the TLS handshake.
    pub fn new(chains: Vec<Chain<T>>, inspector: bool, handshake_timeout: Duration) -> Self {
        let tls = chains.iter().filter(|c| c.tls.is_some()).count();
        // TLCP contexts come from the config's `type`, which reloads never change.
        let tlcp = chains
            .iter()
            .any(|c| c.tls.as_ref().is_some_and(|t| t.load().tlcp().is_some()));
        let inspect = tls > 0 && (inspector || tls < chains.len() || tlcp);
        FilterChains {
            chains,
            inspect,
            handshake_timeout,
        }
    }

    /// True when no chain uses TLS (connections are served as accepted).
    fn plaintext_only(&self) -> bool {
        self.chains.iter().all(|c| c.tls.is_none())
    }

    /// Picks the chain of a connection that needs no I/O for it (a listener without TLS,
    /// or a Unix socket) at once, so the accept loop hands plaintext connections over
    /// without a task of their own; a TCP connection to a TLS listener goes on to
    /// [`Self::establish`].
    pub fn settle_now(&self, socket: Socket, info: &ConnectionInfo) -> Settled<'_, T> {
        match socket {
            Socket::Tcp(tcp) if !self.plaintext_only() => Settled::Handshake(tcp),
            other => Settled::Now(self.plain_chain(info).map(|chain| (other, &chain.value))),
        }
    }

    /// Detects the transport of a connection [`Self::settle_now`] could not settle,
    /// handshakes when TLS, and picks the chain; fills `info`'s TLS facts.
    pub async fn establish(
        &self,
        tcp: TcpStream,
        info: &mut ConnectionInfo,
    ) -> Result<(Socket, &T), EstablishError> {
        let deadline = tokio::time::Instant::now() + self.handshake_timeout;
        if self.inspect {
            let head = tokio::time::timeout_at(deadline, peek_record_head(&tcp))
                .await
                .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
                .map_err(EstablishError::Silent)?;
            if head.first() != Some(&TLS_HANDSHAKE_BYTE) {
                let chain = self.plain_chain(info)?;
                return Ok((Socket::Tcp(tcp), &chain.value));
            }
            if tlcp::is_tlcp_hello(&head) {
                return tokio::time::timeout_at(deadline, Box::pin(self.handshake_tlcp(tcp, info)))
                    .await
                    .unwrap_or_else(|_| {
                        Err(EstablishError::Handshake(io::ErrorKind::TimedOut.into()))
                    });
            }
        }
        // Boxed: the handshake's state is large and lives only while it runs; inline, it
        // would size every connection's task, plaintext ones included, for its lifetime.
        tokio::time::timeout_at(deadline, Box::pin(self.handshake(tcp, info)))
            .await
            .unwrap_or_else(|_| Err(EstablishError::Handshake(io::ErrorKind::TimedOut.into())))
    }

    fn plain_chain(&self, info: &ConnectionInfo) -> Result<&Chain<T>, EstablishError> {
        self.select(&Facts {
            local: info.local,
            remote: info.remote,
            tls: false,
            tlcp: false,
            sni: None,
            alpn: Vec::new(),
        })
        .ok_or(EstablishError::NoChain)
    }

    async fn handshake(
        &self,
        tcp: TcpStream,
        info: &mut ConnectionInfo,
    ) -> Result<(Socket, &T), EstablishError> {
        let start = LazyConfigAcceptor::new(Acceptor::default(), tcp)
            .await
            .map_err(EstablishError::Handshake)?;
        let hello = start.client_hello();
        let sni = hello.server_name().map(str::to_ascii_lowercase);
        let offered: Vec<Vec<u8>> = hello
            .alpn()
            .map(|a| a.map(<[u8]>::to_vec).collect())
            .unwrap_or_default();
        let suites = hello.cipher_suites().to_vec();
        let chain = self
            .select(&Facts {
                local: info.local,
                remote: info.remote,
                tls: true,
                tlcp: false,
                sni: sni.as_deref(),
                alpn: offered.iter().map(Vec::as_slice).collect(),
            })
            .ok_or(EstablishError::NoChain)?;
        let config = chain
            .tls
            .as_ref()
            .and_then(|t| {
                t.load()
                    .select(sni.as_deref(), offered.iter().map(Vec::as_slice), &suites)
            })
            .ok_or(EstablishError::NoChain)?;
        let stream = start
            .into_stream(config)
            .await
            .map_err(EstablishError::Handshake)?;
        let peer_identity = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(mosn_tls::peer_identity)
            .map(Arc::from);
        let socket = Socket::TlsServer(Box::new(stream));
        info.tls = Some(Arc::new(TlsInfo {
            sni: sni.map(Arc::from),
            alpn: socket.alpn().map(Arc::from),
            peer_identity,
        }));
        Ok((socket, &chain.value))
    }

    /// Accepts a TLCP connection on the chain that speaks TLCP. TLCP hellos carry no
    /// SNI or ALPN this implementation reads, so the chain is chosen by addresses.
    async fn handshake_tlcp(
        &self,
        tcp: TcpStream,
        info: &mut ConnectionInfo,
    ) -> Result<(Socket, &T), EstablishError> {
        let chain = self
            .select(&Facts {
                local: info.local,
                remote: info.remote,
                tls: true,
                tlcp: true,
                sni: None,
                alpn: Vec::new(),
            })
            .ok_or(EstablishError::NoChain)?;
        let config = chain
            .tls
            .as_ref()
            .and_then(|t| t.load().tlcp())
            .ok_or(EstablishError::NoChain)?;
        let stream = tlcp::accept(config, tcp)
            .await
            .map_err(|e| EstablishError::Handshake(e.into()))?;
        let peer_identity = stream
            .peer_certificates()
            .first()
            .and_then(mosn_tls::peer_identity)
            .map(Arc::from);
        info.tls = Some(Arc::new(TlsInfo {
            sni: None,
            alpn: None,
            peer_identity,
        }));
        Ok((Socket::Tlcp(Box::new(stream)), &chain.value))
    }

    /// Envoy's selection: criterion by criterion, keep the chains that name the
    /// connection's value (the most specific of them), else those that name none.
    fn select(&self, facts: &Facts<'_>) -> Option<&Chain<T>> {
        let mut candidates: Vec<&Chain<T>> = self.chains.iter().collect();
        let transport = if facts.tls {
            TransportProtocol::Tls
        } else {
            TransportProtocol::RawBuffer
        };
        // A chain with TLS contexts serves TLS only, one without plaintext only, unless
        // its match says otherwise.
        candidates.retain(|c| {
            let implied = if c.tls.is_some() {
                TransportProtocol::Tls
            } else {
                TransportProtocol::RawBuffer
            };
            c.matcher.transport_protocol.unwrap_or(implied) == transport
        });
        // A TLCP hello needs a chain with a TLCP context, a TLS one a chain with a TLS
        // context (chains without contexts are left to their match).
        if facts.tls {
            candidates.retain(|c| {
                c.tls.as_ref().is_none_or(|t| {
                    let t = t.load();
                    if facts.tlcp {
                        t.tlcp().is_some()
                    } else {
                        t.serves_tls()
                    }
                })
            });
        }
        let port = facts.local.map(|a| a.port());
        narrow(&mut candidates, |m| {
            m.destination_port.map(|p| u32::from(Some(p) == port))
        });
        narrow(&mut candidates, |m| {
            longest_prefix(&m.prefix_ranges, facts.local)
        });
        narrow(&mut candidates, |m| {
            server_name_rank(&m.server_names, facts.sni)
        });
        narrow(&mut candidates, |m| {
            (!m.application_protocols.is_empty()).then(|| {
                u32::from(
                    m.application_protocols
                        .iter()
                        .any(|p| facts.alpn.contains(&p.as_bytes())),
                )
            })
        });
        narrow(&mut candidates, |m| {
            longest_prefix(&m.source_prefix_ranges, facts.remote)
        });
        narrow(&mut candidates, |m| {
            (!m.source_ports.is_empty()).then(|| {
                u32::from(
                    facts
                        .remote
                        .is_some_and(|r| m.source_ports.contains(&r.port())),
                )
            })
        });
        candidates.first().copied()
    }
}

/// Peeks the first bytes of a connection, up to a record header's type and version (3
/// bytes), waiting briefly when a client sent fewer; an empty result is EOF.
async fn peek_record_head(tcp: &TcpStream) -> io::Result<Vec<u8>> {
    let mut head = [0u8; 3];
    loop {
        let n = tcp.peek(&mut head).await?;
        // Only a handshake record needs the version; anything else is known at once.
        if n == 0 || n == head.len() || head[0] != TLS_HANDSHAKE_BYTE {
            return Ok(head[..n].to_vec());
        }
        // The rest of a split header is a round trip away at most; the caller's
        // deadline bounds the wait.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Keeps the candidates that set the criterion with the best non-zero rank, else those
/// that do not set it. `rank` is `None` when a chain does not set the criterion, `Some(0)`
/// when it sets it and the connection does not match.
fn narrow<T>(candidates: &mut Vec<&Chain<T>>, rank: impl Fn(&FilterChainMatch) -> Option<u32>) {
    let best = candidates
        .iter()
        .filter_map(|c| rank(&c.matcher))
        .max()
        .unwrap_or(0);
    if best > 0 {
        candidates.retain(|c| rank(&c.matcher) == Some(best));
    } else {
        candidates.retain(|c| rank(&c.matcher).is_none());
    }
}

/// 1 + the longest prefix of `ranges` containing `addr` (0: none does).
fn longest_prefix(ranges: &[CidrRange], addr: Option<SocketAddr>) -> Option<u32> {
    if ranges.is_empty() {
        return None;
    }
    let ip = addr.map(|a| a.ip());
    Some(
        ranges
            .iter()
            .filter(|r| ip.is_some_and(|ip| r.contains(ip)))
            .map(|r| 1 + u32::from(r.prefix_len))
            .max()
            .unwrap_or(0),
    )
}

/// An exact SNI match ranks above a wildcard one, a longer wildcard above a shorter one.
fn server_name_rank(names: &[String], sni: Option<&str>) -> Option<u32> {
    if names.is_empty() {
        return None;
    }
    let Some(sni) = sni else { return Some(0) };
    Some(
        names
            .iter()
            .filter_map(|n| match n.strip_prefix('*') {
                None if n == sni => Some(u32::MAX),
                Some(suffix) if sni.ends_with(suffix) && sni.len() > suffix.len() => {
                    u32::try_from(suffix.len()).ok()
                }
                _ => None,
            })
            .max()
            .unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(name: &'static str, m: FilterChainMatch) -> Chain<&'static str> {
        Chain {
            matcher: m,
            tls: None,
            value: name,
        }
    }

    fn pick(
        chains: &FilterChains<&'static str>,
        local: &str,
        remote: &str,
    ) -> Option<&'static str> {
        chains
            .select(&Facts {
                local: Some(local.parse().unwrap()),
                remote: Some(remote.parse().unwrap()),
                tls: false,
                tlcp: false,
                sni: None,
                alpn: Vec::new(),
            })
            .map(|c| c.value)
    }

    #[test]
    fn most_specific_chain_wins_by_port_then_source() {
        let chains = FilterChains::new(
            vec![
                chain("any", FilterChainMatch::default()),
                chain(
                    "port",
                    FilterChainMatch {
                        destination_port: Some(80),
                        ..Default::default()
                    },
                ),
                chain(
                    "port+lan",
                    FilterChainMatch {
                        destination_port: Some(80),
                        source_prefix_ranges: vec![CidrRange {
                            address: "10.0.0.0".parse().unwrap(),
                            prefix_len: 8,
                        }],
                        ..Default::default()
                    },
                ),
            ],
            false,
            Duration::from_secs(1),
        );
        assert_eq!(pick(&chains, "1.1.1.1:80", "10.1.1.1:5"), Some("port+lan"));
        assert_eq!(pick(&chains, "1.1.1.1:80", "11.1.1.1:5"), Some("port"));
        assert_eq!(pick(&chains, "1.1.1.1:81", "10.1.1.1:5"), Some("any"));
    }

    #[test]
    fn exact_server_name_beats_wildcard() {
        assert_eq!(
            server_name_rank(&["*.a.com".into()], Some("x.a.com")),
            Some(6)
        );
        assert_eq!(
            server_name_rank(&["x.a.com".into()], Some("x.a.com")),
            Some(u32::MAX)
        );
        assert_eq!(
            server_name_rank(&["*.a.com".into()], Some("a.com")),
            Some(0)
        );
        assert_eq!(server_name_rank(&[], Some("a.com")), None);
    }
}
