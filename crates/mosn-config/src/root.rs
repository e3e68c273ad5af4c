//! The top level of a MOSN config (MOSN's `v2.MOSNConfig`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use crate::cluster::parse_cluster_manager;
use crate::json::{Field, Obj};
use crate::model::{CertificateConfig, Config};
use crate::redact::redacted_value;
use crate::server::{parse_server, ProcessNames};

/// Parses the whole document.
pub(crate) fn parse_root(root: &Field<'_>) -> Option<Config> {
    let obj = root.as_object()?;
    let diag = obj.diag();
    let named = crate::certificates::parse_certificates(&obj);
    let mut certificates: Vec<CertificateConfig> = named
        .iter()
        .map(|(name, c)| CertificateConfig {
            name: name.clone(),
            cert_chain: c.cert_chain.clone(),
            private_key: c.private_key.clone(),
            ca_cert: c.ca_cert.clone(),
        })
        .collect();
    certificates.sort_by(|a, b| a.name.cmp(&b.name));
    diag.set_certificates(named);

    // Clusters are parsed first so routes can be checked against them, but their
    // messages are moved after those of `servers`, which comes first in MOSN's files.
    let before_clusters = diag.mark();
    let (clusters, cluster_names) = parse_cluster_manager(obj.get("cluster_manager"));
    let after_clusters = diag.mark();
    let mut names = ProcessNames::new();
    let servers: Vec<_> = obj
        .items("servers")
        .iter()
        .map(|s| parse_server(s, &cluster_names, &mut names))
        .collect();
    diag.move_before(before_clusters, after_clusters);

    let admin = obj.get("admin").map(|f| parse_admin(&f));
    let pid_file = obj.non_empty_str("pid").map(PathBuf::from);
    refuse_and_ignore_top_level(&obj);
    Some(Config {
        servers: servers.into_iter().collect::<Option<_>>()?,
        clusters,
        admin: admin.unwrap_or(Some(None))?,
        pid_file,
        certificates,
        redacted_json: redacted_value(root.value),
    })
}

/// Top-level keys MOSN knows besides servers, clusters, admin and pid.
fn refuse_and_ignore_top_level(obj: &Obj<'_>) {
    // Configuration from a control plane replaces the static one.
    obj.refuse("dynamic_resources", "xDS is not supported yet");
    obj.refuse("static_resources", "xDS is not supported yet");
    // Observability and extension points: none changes how traffic is proxied (the
    // codecs and plugins they load are only used by refused protocols and filters).
    obj.ignore("tracing", "tracing is");
    obj.ignore("metrics", "metrics sinks are");
    obj.ignore("pprof", "pprof is");
    obj.ignore("third_part_codec", "third-party codecs are");
    obj.ignore("extends", "extends are");
    obj.ignore("wasm_global_plugins", "wasm plugins are");
    // Hot-upgrade switches, the xDS node identity, the UDS directory for hot upgrade and
    // the plugin log directory: nothing to do without those features.
    obj.tolerate(&[
        "disable_upgrade",
        "close_graceful",
        "inherit_old_mosnconfig",
        "node",
        "uds_dir",
        "plugin",
    ]);
}

/// `admin.address.socket_address{address, port_value}`. An admin object without an
/// address disables the API (with a warning). As in Go, an empty address means all
/// interfaces (`0.0.0.0` here). `Some(None)` = disabled, `None` = error.
fn parse_admin(field: &Field<'_>) -> Option<Option<SocketAddr>> {
    let admin = field.as_object()?;
    let Some(address) = admin.object("address") else {
        if admin.get("address").is_none() {
            field.warn("no address, the admin API is disabled");
            return Some(None);
        }
        return None;
    };
    let socket = address.required_object("socket_address")?;
    let ip = match socket.str("address") {
        None | Some("") => Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        Some(text) => {
            let ip = text.parse::<IpAddr>().ok();
            if ip.is_none() {
                socket.key_error("address", format!("invalid IP address {text:?}"));
            }
            ip
        }
    };
    let port = match socket.get("port_value") {
        None => {
            socket.key_error("port_value", "required key is missing");
            None
        }
        Some(f) => match f.as_uint::<u16>()? {
            0 => {
                f.error("must be between 1 and 65535");
                None
            }
            port => Some(port),
        },
    };
    Some(Some(SocketAddr::new(ip?, port?)))
}
