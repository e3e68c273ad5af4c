//! The internal, validated configuration model.
//!
//! Every source of configuration (the MOSN JSON file today, xDS later) produces this model,
//! and the server builds its runtime state only from it. Values here are already checked:
//! addresses parse, regexes compile, names referenced across sections exist.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod balancing;
mod routing;
mod server;
pub use balancing::*;
pub use routing::*;
pub use server::*;

pub use mosn_tls::{PemSource, TlsContextConfig, TlsVersion};

/// The whole validated configuration of one `mosn` process.
#[derive(Debug, Clone)]
pub struct Config {
    /// `servers[]`: MOSN allows a list but runs one; all listeners and routers are kept.
    pub servers: Vec<ServerConfig>,
    /// `cluster_manager.clusters[]`.
    pub clusters: Vec<ClusterConfig>,
    /// `admin.address.socket_address`; `None` disables the admin API.
    pub admin: Option<SocketAddr>,
    /// `pid`: file the process writes its PID into, used by `mosn stop`.
    pub pid_file: Option<PathBuf>,
    /// `certificates[]` (a mosn-rs key), by name: the pairs `tls_context.certificate`
    /// names. Contexts already carry the files they resolved to, so a changed
    /// certificate changes every listener and cluster that uses it.
    pub certificates: Vec<CertificateConfig>,
    /// The JSON the model came from, with private keys redacted, for `/api/v1/config_dump`.
    pub redacted_json: serde_json::Value,
}

/// One entry of `certificates[]`: a certificate/key pair by name, its sources as written
/// (paths or inline PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateConfig {
    /// `name`.
    pub name: String,
    /// `cert_chain`.
    pub cert_chain: String,
    /// `private_key`.
    pub private_key: String,
    /// `ca_cert`: roots for verifying peers, used when a context names none itself.
    pub ca_cert: Option<String>,
}

/// Where a listener or an upstream host lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A TCP socket address, IPv4 or IPv6.
    Tcp(SocketAddr),
    /// A Unix domain socket path (`"unix:/path"` in MOSN's syntax).
    Unix(PathBuf),
}

/// One entry of `listeners[]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerConfig {
    /// `name`: unique per process; stats and hot upgrade key on it.
    pub name: String,
    /// `address`.
    pub address: Address,
    /// `bind_port`: MOSN only opens the socket when true (false is a virtual listener).
    pub bind_port: bool,
    /// `connection_idle_timeout`: idle downstream connections close after it (default 90s).
    pub connection_idle_timeout: Option<Duration>,
    /// `filter_chains[]`: each connection is served by the one whose
    /// `filter_chain_match` fits it best (Envoy's rules, see `mosn_net::FilterChains`).
    pub filter_chains: Vec<FilterChainConfig>,
    /// `inspector`: TLS and plaintext on the same port (the first byte decides). Also on
    /// whenever the listener has both TLS and plaintext chains.
    pub inspector: bool,
    /// `use_original_dst: "redirect"` (or `true`): each connection's destination before an
    /// iptables REDIRECT (`SO_ORIGINAL_DST`) is what `ORIGINAL_DST` clusters connect to.
    pub use_original_dst: bool,
    /// `stream_filters[]`, run in order on every request of the listener's `proxy` filter.
    pub stream_filters: Vec<StreamFilterConfig>,
}

/// A stream filter from `stream_filters[]`, by its `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamFilterConfig {
    /// `"type": "ip_access"`: allow or deny requests by client IP.
    IpAccess(IpAccessConfig),
    /// `"type": "transcoder"`: HTTP requests go upstream as Bolt requests.
    Transcoder(TranscoderConfig),
}

/// MOSN's `transcoder` stream filter with `"type": "http2bolt_simple"`: every HTTP
/// request of the listener becomes a Bolt request (HTTP headers → Bolt headers, the body
/// → the Bolt content, passed through untouched) and the Bolt response an HTTP one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscoderConfig {
    /// `class` (a mosn-rs key): the Bolt request's class name. MOSN sends none, which
    /// SOFARPC servers cannot decode; the default is SOFARPC's request class.
    pub class: String,
    /// `codec` (a mosn-rs key): the serializer byte the Bolt request announces for its
    /// content: `hessian2` (1, the default) or `protobuf` (11).
    pub codec: u8,
}

/// MOSN's `ip_access` filter config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpAccessConfig {
    /// `header`: take the client IP from this request header (e.g. `x-forwarded-for`'s
    /// single value) instead of the connection's peer address; lower-cased.
    pub header: Option<String>,
    /// `default_action`: `"deny"` denies what no rule decides; anything else allows.
    pub default_allow: bool,
    /// `ips[]`: the first rule whose addresses contain the client IP decides.
    pub rules: Vec<IpAccessRule>,
}

/// One `ips[]` entry of `ip_access`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpAccessRule {
    /// `action`: `"deny"` denies; anything else allows (MOSN's rule).
    pub allow: bool,
    /// `addrs[]`: IPs and CIDR ranges.
    pub addrs: Vec<CidrRange>,
}

/// One entry of `filter_chains[]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterChainConfig {
    /// `filter_chain_match` (Envoy's key; MOSN has only an unused `match` string).
    pub filter_chain_match: FilterChainMatch,
    /// `tls_context` (one) or `tls_context_set` (several, chosen by SNI then ALPN) with
    /// `status: true`; empty for a plaintext chain.
    pub tls: Vec<TlsContextConfig>,
    /// `filters[]` in order; the last one owns the connection (`proxy` or `tcp_proxy`).
    pub filters: Vec<NetworkFilterConfig>,
}

/// `filter_chain_match`: what a connection must look like to use a chain. An empty list
/// or `None` matches anything; among matching chains the most specific wins, criterion
/// by criterion in this field order (Envoy's semantics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterChainMatch {
    /// `destination_port`: the port the client connected to.
    pub destination_port: Option<u16>,
    /// `prefix_ranges`: the address the client connected to.
    pub prefix_ranges: Vec<CidrRange>,
    /// `server_names`: SNI, exact (`a.example.com`) or wildcard (`*.example.com`),
    /// lower-case.
    pub server_names: Vec<String>,
    /// `transport_protocol`: `"tls"` or `"raw_buffer"`.
    pub transport_protocol: Option<TransportProtocol>,
    /// `application_protocols`: ALPN protocols the client offered (`h2`, `http/1.1`).
    pub application_protocols: Vec<String>,
    /// `source_prefix_ranges`: the client's address.
    pub source_prefix_ranges: Vec<CidrRange>,
    /// `source_ports`: the client's port.
    pub source_ports: Vec<u16>,
}

/// A connection's transport as the listener sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportProtocol {
    /// A TLS ClientHello came first.
    Tls,
    /// Anything else.
    RawBuffer,
}

/// A network filter from `filters[]`, by its `type`.
#[derive(Debug, Clone, PartialEq)]
pub enum NetworkFilterConfig {
    /// `"type": "proxy"`: the L7 proxy.
    Proxy(ProxyConfig),
    /// `"type": "tcp_proxy"`: the L4 proxy.
    TcpProxy(TcpProxyConfig),
}

/// Application protocols the `proxy` filter speaks, by MOSN's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `"Http1"`.
    Http1,
    /// `"Http2"`: h2c downstream, or h2 via ALPN behind TLS.
    Http2,
    /// `"Auto"`: downstream, detect the protocol from the first bytes; upstream, the same
    /// protocol as downstream.
    Auto,
    /// `"bolt"` (or `"X"` with `sub_protocol: "bolt"`): SOFA Bolt v1.
    Bolt,
    /// `"boltv2"`: SOFA Bolt v2.
    BoltV2,
    /// `"dubbo"`: Dubbo 2.
    Dubbo,
}

impl Protocol {
    /// MOSN's name of an RPC (xprotocol) protocol, by which its codec is registered;
    /// `None` for the HTTP ones.
    pub fn rpc_name(self) -> Option<&'static str> {
        match self {
            Self::Bolt => Some("bolt"),
            Self::BoltV2 => Some("boltv2"),
            Self::Dubbo => Some("dubbo"),
            Self::Http1 | Self::Http2 | Self::Auto => None,
        }
    }
}

/// The `proxy` network filter's `config`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    /// `downstream_protocol`.
    pub downstream_protocol: Protocol,
    /// `upstream_protocol` (defaults to the downstream protocol).
    pub upstream_protocol: Protocol,
    /// `router_config_name`: must name an entry of `servers[].routers[]`.
    pub router_config_name: String,
    /// `request_header_timeout` (mosn-rs extension, default 60s): a request whose head has
    /// started but not finished by then is answered 408.
    pub request_header_timeout: Duration,
    /// `max_request_header_bytes` (mosn-rs extension, default 60 KiB): larger heads get 431.
    pub max_request_header_bytes: usize,
    /// `max_request_headers` (mosn-rs extension, default 100): more header lines get 431.
    pub max_request_headers: usize,
    /// `max_concurrent_streams` (mosn-rs extension, default 1024): the HTTP/2
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` offered to clients.
    pub max_concurrent_streams: u32,
    /// `fallback_for_unknown_protocol`: with `Auto`, a connection no codec recognises is
    /// handed (bytes read so far included) to the chain's next filter, `tcp_proxy`,
    /// instead of being closed.
    pub fallback_for_unknown_protocol: bool,
    /// The status of the reply to a request whose upstream could not be connected to, or
    /// closed or reset the connection before a response: `None` is MOSN's (502, 504 for a
    /// connect timeout); Envoy's configurations answer 503 for all three.
    pub upstream_failure_status: Option<u16>,
    /// MOSN's: a request without a body whose upstream closed or reset the connection
    /// before any response byte is sent once more, outside the retry policy (the
    /// connection may have been a pooled one the upstream had just closed). Envoy's
    /// configurations retry such a request only under their retry policy.
    pub free_reset_retry: bool,
    /// What Envoy does with its own `x-envoy-*` request headers (Envoy's configurations;
    /// MOSN's do neither).
    pub envoy_headers: EnvoyHeaders,
    /// The `server` header every response gets, replacing the upstream's (Envoy's
    /// `server_name`, `envoy` unless set); `None`, MOSN's: responses keep the upstream's.
    pub server_name: Option<String>,
}

/// Envoy's handling of its `x-envoy-*` request headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EnvoyHeaders {
    /// The connection manager removes the ones a client must not set
    /// (`x-envoy-retry-on`, `x-envoy-upstream-rq-timeout-ms`, ...): Envoy takes every
    /// request for external without an `internal_address_config`.
    pub strip_internal: bool,
    /// The router tells the upstream `x-envoy-expected-rq-timeout-ms` and, after a path
    /// rewrite, `x-envoy-original-path` or `x-envoy-original-host`, and the client
    /// `x-envoy-upstream-service-time` (unless its `suppress_envoy_headers`).
    pub add: bool,
}

/// The `tcp_proxy` network filter's `config`.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpProxyConfig {
    /// `cluster`: used when no route matches (MOSN semantics).
    pub cluster: Option<String>,
    /// `routes[]`, first match wins.
    pub routes: Vec<TcpRouteConfig>,
    /// `idle_timeout`: close both sides after this long without bytes either way.
    pub idle_timeout: Option<Duration>,
    /// `max_connect_attempts` (default 1).
    pub max_connect_attempts: u32,
}

/// One `tcp_proxy` route: every non-empty criterion must match.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpRouteConfig {
    /// `cluster`.
    pub cluster: String,
    /// `source_addrs[]` as CIDR ranges (`"10.0.0.0/8"`, a bare IP is a /32 or /128).
    pub source_addrs: Vec<CidrRange>,
    /// `destination_addrs[]`.
    pub destination_addrs: Vec<CidrRange>,
    /// `source_port`: `"8080"` or `"8000-9000"`.
    pub source_port: Option<PortRange>,
    /// `destination_port`.
    pub destination_port: Option<PortRange>,
}

/// An IP prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CidrRange {
    /// Network address.
    pub address: IpAddr,
    /// Prefix length in bits.
    pub prefix_len: u8,
}

impl CidrRange {
    /// True when `ip` is inside this range; an IPv4-mapped IPv6 address matches IPv4 ranges.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.address, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            _ => ip,
        };
        let (net, ip, bits) = match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => (net.to_bits().into(), ip.to_bits().into(), 32),
            (IpAddr::V6(net), IpAddr::V6(ip)) => (net.to_bits(), ip.to_bits(), 128),
            _ => return false,
        };
        let len = u32::from(self.prefix_len.min(bits));
        if len == 0 {
            return true;
        }
        let shift = u32::from(bits) - len;
        (net >> shift) == (ip >> shift)
    }
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port (equal to `start` for a single port).
    pub end: u16,
}

/// One entry of `cluster_manager.clusters[]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// `name` (MOSN samples also write `"Name"`).
    pub name: String,
    /// `type`.
    pub cluster_type: ClusterType,
    /// `lb_type`.
    pub lb_type: LbType,
    /// `hosts[]`.
    pub hosts: Vec<HostConfig>,
    /// `connect_timeout` (default 3s).
    pub connect_timeout: Duration,
    /// `idle_timeout`: pooled upstream connections idle this long are closed (default 60s).
    pub idle_timeout: Duration,
    /// `max_request_per_conn`: 0 means unlimited.
    pub max_request_per_conn: u32,
    /// `conn_buffer_limit_bytes`: per-connection buffer cap (default 32 KiB).
    pub conn_buffer_limit_bytes: u32,
    /// Balancer tuning: `lbconfig`, `ring_hash_lb_config`, `maglev_lb_config`.
    pub lb_config: LbConfig,
    /// `health_check`: active health checking of the hosts; `None` when absent or when it
    /// names no `service_name` (MOSN then runs no checker either).
    pub health_check: Option<Box<HealthCheckConfig>>,
    /// `circuit_breakers`: caps on connections, pending requests, requests and retries.
    pub circuit_breakers: CircuitBreakersConfig,
    /// `outlier_detection` (Envoy's key and semantics): passive ejection of hosts that
    /// fail; `None` when absent.
    pub outlier_detection: Option<Box<OutlierDetectionConfig>>,
    /// `STRICT_DNS`/`LOGICAL_DNS` clusters: the names to resolve and how (`hosts` is then
    /// empty; the resolved hosts replace the cluster's host set at runtime).
    pub dns: Option<Box<crate::dns::DnsConfig>>,
    /// `tls_context` with `status: true`: upstream connections use TLS (hosts with
    /// `tls_disable` excepted).
    pub tls: Option<Arc<TlsContextConfig>>,
    /// `slow_start` (MOSN's `SlowStartConfig`): a host's weight ramps up over a window
    /// after it joins or returns to rotation; `None` when absent or off (no `mode`).
    pub slow_start: Option<SlowStartConfig>,
    /// `lb_subset_config`, when it has selectors.
    pub lb_subset: Option<LbSubsetConfig>,
    /// `original_dst_lb_config`, for `ORIGINAL_DST` clusters (defaults when absent).
    pub original_dst: Option<OriginalDstConfig>,
    /// The HTTP protocol upstream connections speak, when the cluster says (Envoy's
    /// `HttpProtocolOptions`: `Http1`, `Http2`, or `Auto` for the downstream's); it
    /// overrides the `proxy` filter's `upstream_protocol`, a route's own overrides it.
    /// MOSN's JSON has no such key (`None`): the filter decides.
    pub http_protocol: Option<Protocol>,
    /// TCP keepalive on the cluster's upstream TCP connections (Envoy's
    /// `upstream_connection_options.tcp_keepalive`), so a peer that vanished without a
    /// FIN or RST is noticed on an idle pooled or long-lived connection. MOSN's JSON has
    /// no such key (`None`: the kernel's default, no keepalive).
    pub tcp_keepalive: Option<TcpKeepalive>,
}

/// TCP keepalive settings: `SO_KEEPALIVE` on, and each setting given replaces the
/// kernel's (`net.ipv4.tcp_keepalive_time`/`_intvl`/`_probes`, 7200s/75s/9 unless the host
/// changed them). An unset one keeps the kernel's, as Envoy leaves it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpKeepalive {
    /// Idle time before the first probe (`TCP_KEEPIDLE`), whole seconds.
    pub time: Option<Duration>,
    /// Time between unanswered probes (`TCP_KEEPINTVL`), whole seconds.
    pub interval: Option<Duration>,
    /// Unanswered probes before the connection is dropped (`TCP_KEEPCNT`).
    pub probes: Option<u32>,
}

/// A cluster's `slow_start`, defaults applied (MOSN's `types.SlowStart`, mode
/// `"duration"`, the only one MOSN registers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlowStartConfig {
    /// `slow_start_duration`: how long the ramp lasts (> 0).
    pub duration: Duration,
    /// `aggression` (default 1.0, linear): the ramp is `(time_in / duration)^(1/aggression)`.
    pub aggression: f64,
    /// `min_weight_percent` (default 0.1): floor of the ramp factor, in (0, 1].
    pub min_weight_percent: f64,
}

impl SlowStartConfig {
    /// MOSN's `SlowStartDefaultAggression`.
    pub const DEFAULT_AGGRESSION: f64 = 1.0;
    /// MOSN's `SlowStartDefaultMinWeightPercent`.
    pub const DEFAULT_MIN_WEIGHT_PERCENT: f64 = 0.1;
}

/// Load balancer tuning, with Envoy's defaults where MOSN has none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LbConfig {
    /// `lbconfig.choice_count` (default 2): hosts drawn at random per pick by
    /// `LB_LEAST_REQUEST`, `LB_LEAST_CONNECTION` and `LB_PEAK_EWMA`, the least loaded
    /// winning (power of two choices); ≥ 1.
    pub choice_count: u32,
    /// `lbconfig.active_request_bias` (default 1.0): with unequal host weights, a host's
    /// effective weight is `weight / (active + 1) ^ bias` (`LB_LEAST_REQUEST`,
    /// `LB_LEAST_CONNECTION`); `LB_PEAK_EWMA` raises `active + 1` to it. ≥ 0, finite.
    pub active_request_bias: f64,
    /// `maglev_lb_config.table_size` (Envoy's key, default 65537): a prime.
    pub maglev_table_size: u32,
    /// `ring_hash_lb_config.minimum_ring_size` (Envoy's key, default 1024).
    pub ring_hash_min_size: u64,
    /// `ring_hash_lb_config.maximum_ring_size` (Envoy's key; default and upper bound 8M).
    pub ring_hash_max_size: u64,
}

impl LbConfig {
    /// Envoy's default Maglev table size.
    pub const DEFAULT_MAGLEV_TABLE_SIZE: u32 = 65_537;
    /// Envoy's largest Maglev table.
    pub const MAX_MAGLEV_TABLE_SIZE: u32 = 5_000_011;
    /// Envoy's largest ring (and default maximum).
    pub const MAX_RING_SIZE: u64 = 8 * 1024 * 1024;
}

impl Default for LbConfig {
    fn default() -> Self {
        Self {
            choice_count: 2,
            active_request_bias: 1.0,
            maglev_table_size: Self::DEFAULT_MAGLEV_TABLE_SIZE,
            ring_hash_min_size: 1024,
            ring_hash_max_size: Self::MAX_RING_SIZE,
        }
    }
}

/// Cluster types built so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterType {
    /// `SIMPLE` (and Envoy's `STATIC`): hosts listed in the config.
    Simple,
    /// `STRICT_DNS`: every address every host name resolves to is a host.
    StrictDns,
    /// `LOGICAL_DNS`: the first address of each host name is its one host.
    LogicalDns,
    /// `ORIGINAL_DST`: no configured hosts; each request or connection goes to where the
    /// client meant to connect (the redirected connection's original destination, or a
    /// header), with `LB_ORIGINAL_DST`.
    OriginalDst,
}

/// Load balancers built so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbType {
    /// `LB_ROUNDROBIN` (MOSN's default).
    RoundRobin,
    /// `LB_RANDOM`.
    Random,
    /// `LB_WEIGHTED_ROUNDROBIN`: host weights honoured exactly over each cycle.
    WeightedRoundRobin,
    /// `LB_LEAST_REQUEST`: fewest active requests among `choice_count` random hosts.
    LeastRequest,
    /// `LB_LEAST_CONNECTION`: fewest open connections among `choice_count` random hosts.
    LeastConnection,
    /// `LB_MAGLEV`: consistent hashing of the route's hash policy key (Maglev table).
    Maglev,
    /// `LB_RING_HASH` (Envoy's `RING_HASH`; not in MOSN): ketama consistent hash ring.
    RingHash,
    /// `LB_PEAK_EWMA`: lowest peak-EWMA latency × load among `choice_count` random hosts.
    PeakEwma,
    /// `LB_ORIGINAL_DST`: the destination the client meant (`ORIGINAL_DST` clusters).
    OriginalDst,
    /// `LB_REQUEST_ROUNDROBIN`: each request starts at the first host, each retry moves
    /// to the next.
    RequestRoundRobin,
}

impl LbType {
    /// True for balancers that pick by the request's hash key, so the proxy only computes
    /// the key for them.
    pub fn uses_hash_key(self) -> bool {
        matches!(self, LbType::Maglev | LbType::RingHash)
    }
}

/// One entry of `hosts[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// `address`: `ip:port` or `unix:/path`.
    pub address: Address,
    /// `hostname`, informational.
    pub hostname: Option<String>,
    /// `weight` (default 1; MOSN clamps to 1..=128).
    pub weight: u32,
    /// `tls_disable`: this host is reached without TLS even when its cluster has a
    /// `tls_context`.
    pub tls_disable: bool,
    /// `metadata.filter_metadata["mosn.lb"]`: the labels subsets select on.
    pub metadata: Metadata,
}

/// A cluster's `health_check` (MOSN's `v2.HealthCheckConfig`), MOSN's defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckConfig {
    /// What one check does, from `protocol` and `check_config.http_check_config`.
    pub check: HealthCheckKind,
    /// `timeout` (default 1s): a check not finished by then has failed.
    pub timeout: Duration,
    /// `interval` (default 15s): from the end of one check of a host to the next.
    pub interval: Duration,
    /// `interval_jitter` (default 5ms): a random extra in `[0, jitter)` per interval.
    pub interval_jitter: Duration,
    /// `initial_delay_seconds`, a duration string despite its name (default 1s): before
    /// a host's first check.
    pub initial_delay: Duration,
    /// `healthy_threshold` (default 1): consecutive successes that bring a failed host back.
    pub healthy_threshold: u32,
    /// `unhealthy_threshold` (default 1): consecutive failures that take a host out.
    pub unhealthy_threshold: u32,
    /// `service_name`: required by MOSN to run any check; names the checker in logs.
    pub service_name: String,
    /// `event_log_path`: file (or `stdout`/`stderr`) that gets one line per check result.
    pub event_log_path: Option<String>,
}

/// The kind of active health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheckKind {
    /// A TCP (or Unix socket) connect: MOSN's default for every protocol but `Http1`.
    Tcp,
    /// One HTTP/1.1 request per check (`protocol: "Http1"`).
    Http(HttpHealthCheck),
    /// One `grpc.health.v1.Health/Check` call per check (`protocol: "Grpc"`, mosn-rs's
    /// addition; Envoy's `grpc_health_check`).
    Grpc(GrpcHealthCheck),
    /// One RPC heartbeat per check, healthy on a successful heartbeat reply
    /// (`protocol: "bolt"`, `"boltv2"`, `"dubbo"`, or MOSN's `"SofaRpc"` for Bolt). MOSN
    /// falls back to a TCP connect for these; a heartbeat also proves the server serves.
    Heartbeat(Protocol),
}

/// `check_config.grpc_check_config` (Envoy's `grpc_health_check` keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcHealthCheck {
    /// `service_name`: the gRPC service whose status is asked (default `""`: the server
    /// as a whole).
    pub service_name: String,
    /// `authority`: the `:authority` of the call (default the address checked).
    pub authority: Option<String>,
}

/// `check_config.http_check_config` (MOSN's `HttpCheckConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpHealthCheck {
    /// `port`: checked on the host's IP instead of the host's port (0 or absent: the
    /// host's own port).
    pub port: Option<u16>,
    /// `method` (default `GET`).
    pub method: String,
    /// `path` with its query as a request-target (default `/`).
    pub target: String,
    /// `domain`: the `Host` header (default the address checked).
    pub domain: Option<String>,
    /// `timeout` (default 30s): the request's own limit, under the check's `timeout`.
    pub timeout: Duration,
    /// `codes[]{start, end}`: inclusive status ranges counted healthy (default 200 only,
    /// as in MOSN).
    pub codes: Vec<StatusRange>,
    /// `scheme: "https"`: the check handshakes with the cluster's `tls_context` (required
    /// then) before sending its request.
    pub tls: bool,
}

/// An inclusive range of HTTP status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    /// First status.
    pub start: u16,
    /// Last status.
    pub end: u16,
}

/// `route.retry_policy`: when and how often a failed upstream attempt is retried.
///
/// MOSN's form is `{"retry_on": true|false, "retry_timeout", "num_retries",
/// "status_codes"}`; Envoy's `retry_on` string form is accepted too. MOSN retries
/// connection failures even without a policy, up to 3 times; that is the default here too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The failures that are retried.
    pub retry_on: RetryOn,
    /// Retries after the first attempt (MOSN: at least 3).
    pub num_retries: u32,
    /// `retry_timeout` (MOSN) / `per_try_timeout` (Envoy): each attempt's own timeout.
    pub per_try_timeout: Option<Duration>,
    /// `status_codes` / `retriable_status_codes`: statuses retried with `retry_on`; empty
    /// means every 5xx under `five_xx`.
    pub status_codes: Vec<u16>,
    /// First backoff interval before a retry (Envoy's default 25ms); doubles per retry
    /// up to `backoff_max`, with full jitter.
    pub backoff_base: Duration,
    /// Largest backoff interval (default 10 × `backoff_base`).
    pub backoff_max: Duration,
    /// How many times a retry re-picks a host when the balancer picked the one the last
    /// attempt failed on (Envoy's `previous_hosts` predicate with
    /// `host_selection_retry_max_attempts`); 0 never re-picks. MOSN's default is 3.
    pub host_reselect_attempts: u32,
}

/// Which failures a [`RetryPolicy`] retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetryOn {
    /// The connection to the upstream could not be made.
    pub connect_failure: bool,
    /// The upstream reset or closed the connection before a full response head.
    pub reset: bool,
    /// Any 5xx response (or, with `status_codes` set, only those).
    pub five_xx: bool,
    /// 502, 503 and 504 responses (Envoy's `gateway-error`).
    pub gateway_error: bool,
    /// An attempt exceeded its per-try timeout.
    pub per_try_timeout: bool,
    /// Responses whose status is in `status_codes` (Envoy's `retriable-status-codes`).
    pub retriable_status_codes: bool,
    /// The HTTP/2 upstream reset the stream with `REFUSED_STREAM` (Envoy's
    /// `refused-stream`): it provably did not process the request.
    pub refused_stream: bool,
    /// gRPC status codes in a trailers-only response's head that are retried (Envoy's
    /// `cancelled`, `deadline-exceeded`, `internal`, `resource-exhausted`, `unavailable`).
    pub grpc: GrpcRetryOn,
}

/// The gRPC statuses a [`RetryPolicy`] retries, read from the `grpc-status` header of a
/// trailers-only response (one that ends in its HEADERS frame), as Envoy's router does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GrpcRetryOn {
    /// `CANCELLED` (1).
    pub cancelled: bool,
    /// `DEADLINE_EXCEEDED` (4).
    pub deadline_exceeded: bool,
    /// `RESOURCE_EXHAUSTED` (8).
    pub resource_exhausted: bool,
    /// `INTERNAL` (13).
    pub internal: bool,
    /// `UNAVAILABLE` (14).
    pub unavailable: bool,
}

impl GrpcRetryOn {
    /// True when any status is retried: the proxy reads `grpc-status` only then.
    pub fn any(&self) -> bool {
        self.cancelled
            || self.deadline_exceeded
            || self.resource_exhausted
            || self.internal
            || self.unavailable
    }

    /// True when gRPC status `code` is retried.
    pub fn retries(&self, code: u32) -> bool {
        match code {
            1 => self.cancelled,
            4 => self.deadline_exceeded,
            8 => self.resource_exhausted,
            13 => self.internal,
            14 => self.unavailable,
            _ => false,
        }
    }

    /// Sets the condition Envoy's `retry_on` names `name`; false for any other name.
    pub fn set(&mut self, name: &str) -> bool {
        let flag = match name {
            "cancelled" => &mut self.cancelled,
            "deadline-exceeded" => &mut self.deadline_exceeded,
            "resource-exhausted" => &mut self.resource_exhausted,
            "internal" => &mut self.internal,
            "unavailable" => &mut self.unavailable,
            _ => return false,
        };
        *flag = true;
        true
    }
}

/// MOSN's re-picks of a host on a retry when the balancer picks the failed one again.
pub const DEFAULT_HOST_RESELECT_ATTEMPTS: u32 = 3;

impl Default for RetryPolicy {
    /// MOSN's behaviour for a route without a policy: connection failures retried 3 times.
    fn default() -> Self {
        Self {
            retry_on: RetryOn {
                connect_failure: true,
                ..RetryOn::default()
            },
            num_retries: 3,
            per_try_timeout: None,
            status_codes: Vec::new(),
            backoff_base: Duration::from_millis(25),
            backoff_max: Duration::from_millis(250),
            host_reselect_attempts: DEFAULT_HOST_RESELECT_ATTEMPTS,
        }
    }
}

/// A cluster's circuit-breaker thresholds; 0 means unlimited (MOSN's default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CircuitBreakersConfig {
    /// `max_connections`: open upstream connections.
    pub max_connections: u32,
    /// `max_pending_requests`: requests waiting for a connection.
    pub max_pending_requests: u32,
    /// `max_requests`: requests in flight.
    pub max_requests: u32,
    /// `max_retries`: retries in flight.
    pub max_retries: u32,
    /// `retry_budget` (Envoy's): when set it replaces `max_retries` with a cap that
    /// follows the load, so retries cannot multiply traffic in an outage.
    pub retry_budget: Option<RetryBudgetConfig>,
}

/// A cluster's `outlier_detection` (Envoy's `OutlierDetection`), Envoy's defaults applied.
/// Percentages are `0..=100`; `success_rate_stdev_factor` is in thousandths (1900 = 1.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutlierDetectionConfig {
    /// `consecutive_5xx` (default 5): consecutive 5xx (or local failures) that eject.
    pub consecutive_5xx: u32,
    /// `consecutive_gateway_failure` (default 5): consecutive 502/503/504 (or local
    /// failures) that eject.
    pub consecutive_gateway_failure: u32,
    /// `interval` (default 10s): between success-rate/failure-percentage sweeps, which
    /// also return hosts whose ejection time elapsed.
    pub interval: Duration,
    /// `base_ejection_time` (default 30s): multiplied by the times a host was ejected.
    pub base_ejection_time: Duration,
    /// `max_ejection_time` (default 300s, at least `base_ejection_time`).
    pub max_ejection_time: Duration,
    /// `max_ejection_percent` (default 10): of the cluster's hosts ejected at once.
    pub max_ejection_percent: u32,
    /// `enforcing_consecutive_5xx` (default 100): % chance a consecutive-5xx ejection
    /// is enforced.
    pub enforcing_consecutive_5xx: u32,
    /// `enforcing_consecutive_gateway_failure` (default 0).
    pub enforcing_consecutive_gateway_failure: u32,
    /// `enforcing_success_rate` (default 100).
    pub enforcing_success_rate: u32,
    /// `success_rate_minimum_hosts` (default 5): hosts with enough requests needed.
    pub success_rate_minimum_hosts: u32,
    /// `success_rate_request_volume` (default 100): requests in one interval for a host
    /// to count.
    pub success_rate_request_volume: u32,
    /// `success_rate_stdev_factor` (default 1900): hosts below
    /// `mean - stdev * factor / 1000` are ejected.
    pub success_rate_stdev_factor: u32,
    /// `failure_percentage_threshold` (default 85).
    pub failure_percentage_threshold: u32,
    /// `enforcing_failure_percentage` (default 0).
    pub enforcing_failure_percentage: u32,
    /// `failure_percentage_minimum_hosts` (default 5).
    pub failure_percentage_minimum_hosts: u32,
    /// `failure_percentage_request_volume` (default 50).
    pub failure_percentage_request_volume: u32,
}

impl Default for OutlierDetectionConfig {
    /// Envoy's defaults.
    fn default() -> Self {
        Self {
            consecutive_5xx: 5,
            consecutive_gateway_failure: 5,
            interval: Duration::from_secs(10),
            base_ejection_time: Duration::from_secs(30),
            max_ejection_time: Duration::from_secs(300),
            max_ejection_percent: 10,
            enforcing_consecutive_5xx: 100,
            enforcing_consecutive_gateway_failure: 0,
            enforcing_success_rate: 100,
            success_rate_minimum_hosts: 5,
            success_rate_request_volume: 100,
            success_rate_stdev_factor: 1900,
            failure_percentage_threshold: 85,
            enforcing_failure_percentage: 0,
            failure_percentage_minimum_hosts: 5,
            failure_percentage_request_volume: 50,
        }
    }
}
