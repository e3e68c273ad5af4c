//! The internal, validated configuration model.
//!
//! Every source of configuration (the MOSN JSON file today, xDS later) produces this model,
//! and the server builds its runtime state only from it. Values here are already checked:
//! addresses parse, regexes compile, names referenced across sections exist.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

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
    /// The JSON the model came from, with private keys redacted, for `/api/v1/config_dump`.
    pub redacted_json: serde_json::Value,
}

/// One entry of `servers[]`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `default_log_path`: `"stdout"`, `"stderr"` or a file path.
    pub default_log_path: Option<String>,
    /// `default_log_level`: MOSN's level names (`DEBUG`, `INFO`, `WARN`, `ERROR`, ...).
    pub default_log_level: Option<LogLevel>,
    /// `processor`: number of worker threads; `None` means one per core.
    pub processor: Option<usize>,
    /// `graceful_timeout`: how long SIGTERM waits for in-flight requests (default 30s).
    pub graceful_timeout: Duration,
    /// `listeners[]`.
    pub listeners: Vec<ListenerConfig>,
    /// `routers[]`: route tables referenced by name from `proxy` filters.
    pub routers: Vec<RouterConfig>,
}

/// Log levels in MOSN's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Most verbose.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something odd but handled.
    Warn,
    /// Something failed (MOSN's `ERROR`, also used for its `FATAL`).
    Error,
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
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// `name`: unique per process; stats and hot upgrade key on it.
    pub name: String,
    /// `address`.
    pub address: Address,
    /// `bind_port`: MOSN only opens the socket when true (false is a virtual listener).
    pub bind_port: bool,
    /// `connection_idle_timeout`: idle downstream connections close after it (default 90s).
    pub connection_idle_timeout: Option<Duration>,
    /// `filter_chains[]`: exactly one chain for now.
    pub filter_chains: Vec<FilterChainConfig>,
    /// `stream_filters[]`, run in order on every request of the listener's `proxy` filter.
    pub stream_filters: Vec<StreamFilterConfig>,
}

/// A stream filter from `stream_filters[]`, by its `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamFilterConfig {
    /// `"type": "ip_access"`: allow or deny requests by client IP.
    IpAccess(IpAccessConfig),
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
#[derive(Debug, Clone)]
pub struct FilterChainConfig {
    /// `filters[]` in order; the last one owns the connection (`proxy` or `tcp_proxy`).
    pub filters: Vec<NetworkFilterConfig>,
}

/// A network filter from `filters[]`, by its `type`.
#[derive(Debug, Clone)]
pub enum NetworkFilterConfig {
    /// `"type": "proxy"`: the L7 proxy.
    Proxy(ProxyConfig),
    /// `"type": "tcp_proxy"`: the L4 proxy.
    TcpProxy(TcpProxyConfig),
}

/// Application protocols the `proxy` filter speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `"Http1"`.
    Http1,
}

/// The `proxy` network filter's `config`.
#[derive(Debug, Clone)]
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
}

/// The `tcp_proxy` network filter's `config`.
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
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

/// One entry of `servers[].routers[]`: a named route table.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// `router_config_name`.
    pub name: String,
    /// `virtual_hosts[]`.
    pub virtual_hosts: Vec<VirtualHostConfig>,
    /// Header edits applied to every route of this table.
    pub headers: HeaderEdits,
}

/// Header additions and removals, at router, virtual host or route level.
#[derive(Debug, Clone, Default)]
pub struct HeaderEdits {
    /// `request_headers_to_add[]`.
    pub request_headers_to_add: Vec<HeaderToAdd>,
    /// `request_headers_to_remove[]` (Envoy's key; MOSN lacks it).
    pub request_headers_to_remove: Vec<String>,
    /// `response_headers_to_add[]`.
    pub response_headers_to_add: Vec<HeaderToAdd>,
    /// `response_headers_to_remove[]`.
    pub response_headers_to_remove: Vec<String>,
}

/// One `{"header": {"key", "value"}, "append"}` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderToAdd {
    /// Header name, lower-cased.
    pub name: String,
    /// Header value.
    pub value: String,
    /// `append` (default true, as in MOSN and Envoy): add beside existing values instead of
    /// replacing them.
    pub append: bool,
}

/// One entry of `virtual_hosts[]`.
#[derive(Debug, Clone)]
pub struct VirtualHostConfig {
    /// `name`.
    pub name: String,
    /// `domains[]`: exact names, `"*"`, suffix wildcards `"*.example.com"` and prefix
    /// wildcards `"example.*"`; lower-cased.
    pub domains: Vec<String>,
    /// `routers[]`, first match wins.
    pub routes: Vec<RouteConfig>,
    /// Header edits for this virtual host.
    pub headers: HeaderEdits,
}

/// One entry of `virtual_hosts[].routers[]`.
#[derive(Debug, Clone)]
pub struct RouteConfig {
    /// `match`.
    pub matcher: RouteMatch,
    /// `route`, `direct_response` or `redirect`.
    pub action: RouteAction,
}

/// `match`: the path criterion and every header criterion must hold.
#[derive(Debug, Clone)]
pub struct RouteMatch {
    /// `prefix`, `path` or `regex`.
    pub path: PathMatch,
    /// `headers[]`.
    pub headers: Vec<HeaderMatch>,
}

/// How a route matches the request path (without the query string).
#[derive(Debug, Clone)]
pub enum PathMatch {
    /// No path criterion.
    Any,
    /// `prefix`.
    Prefix(String),
    /// `path`: exact.
    Exact(String),
    /// `regex`: MOSN's semantics (Go's `MatchString`): matches anywhere in the path unless
    /// the pattern anchors itself with `^...$`.
    Regex(regex::Regex),
}

/// One `headers[]` criterion.
#[derive(Debug, Clone)]
pub struct HeaderMatch {
    /// `name`, lower-cased.
    pub name: String,
    /// `value` with `regex: false` (exact) or `regex: true` (unanchored, as in MOSN).
    pub value: ValueMatch,
}

/// How a header value is compared.
#[derive(Debug, Clone)]
pub enum ValueMatch {
    /// Exact bytes.
    Exact(String),
    /// Regular expression, matching anywhere in the value unless anchored.
    Regex(regex::Regex),
}

/// What a matched route does.
#[derive(Debug, Clone)]
pub enum RouteAction {
    /// `route`: forward upstream.
    Forward(ForwardAction),
    /// `direct_response`.
    DirectResponse {
        /// `status`.
        status: u16,
        /// `body`.
        body: Option<String>,
    },
    /// `redirect`.
    Redirect(RedirectAction),
}

/// `route`: forward to a cluster.
#[derive(Debug, Clone)]
pub struct ForwardAction {
    /// `cluster_name` or `weighted_clusters`.
    pub target: ClusterTarget,
    /// `timeout`: from the end of the request to the response head; `None` is MOSN's
    /// default of 60s.
    pub timeout: Option<Duration>,
    /// `prefix_rewrite`: replaces the matched prefix (or the whole path for exact matches).
    pub prefix_rewrite: Option<String>,
    /// `host_rewrite`: new Host header.
    pub host_rewrite: Option<String>,
    /// Route-level header edits.
    pub headers: HeaderEdits,
}

/// Which cluster a forwarding route sends to.
#[derive(Debug, Clone)]
pub enum ClusterTarget {
    /// `cluster_name`.
    Single(String),
    /// `weighted_clusters[]{cluster{name, weight}}`; weights are > 0 in sum.
    Weighted(Vec<WeightedCluster>),
}

/// One weighted cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedCluster {
    /// Cluster name.
    pub name: String,
    /// Relative weight.
    pub weight: u32,
}

/// `redirect`.
#[derive(Debug, Clone, Default)]
pub struct RedirectAction {
    /// `response_code` (default 301).
    pub response_code: u16,
    /// `path_redirect`.
    pub path_redirect: Option<String>,
    /// `host_redirect`.
    pub host_redirect: Option<String>,
    /// `scheme_redirect`.
    pub scheme_redirect: Option<String>,
}

/// One entry of `cluster_manager.clusters[]`.
#[derive(Debug, Clone)]
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
}

/// Cluster types built so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterType {
    /// `SIMPLE` (and Envoy's `STATIC`): hosts listed in the config.
    Simple,
}

/// Load balancers built so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbType {
    /// `LB_ROUNDROBIN` (MOSN's default).
    RoundRobin,
    /// `LB_RANDOM`.
    Random,
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
}
