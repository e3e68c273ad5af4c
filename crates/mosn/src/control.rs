//! `mosn reload` and `mosn stop`: commands that act on a running mosn, found through the
//! config file it was started with (its admin address, its `pid` file).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// How long `mosn reload` waits for the running mosn to answer.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Asks the mosn whose admin API `config` names to re-read its file: prints the report;
/// exit 0 when everything applied. The running mosn validates the file (and counts a
/// refusal); only the admin address is read here, even from a file that is not valid.
pub(crate) fn reload(config: &Path) -> ExitCode {
    let Some(admin) = admin_address(config) else {
        eprintln!("mosn reload: {} names no admin address", config.display());
        return ExitCode::FAILURE;
    };
    match post(reachable(admin), "/api/v1/reload") {
        Ok((status, body)) => {
            println!("{}", body.trim_end());
            if status == 200 {
                ExitCode::SUCCESS
            } else {
                eprintln!("mosn reload: the running mosn answered {status}");
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("mosn reload: admin API at {admin}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sends SIGTERM to the PID in `config`'s `pid` file (a graceful stop).
pub(crate) fn stop(config: &Path) -> ExitCode {
    let Some(cfg) = crate::load(config) else {
        return ExitCode::FAILURE;
    };
    let Some(pid_file) = cfg.pid_file else {
        eprintln!("mosn stop: {} has no pid file", config.display());
        return ExitCode::FAILURE;
    };
    let pid = std::fs::read_to_string(&pid_file)
        .map_err(|e| e.to_string())
        .and_then(|text| text.trim().parse::<i32>().map_err(|e| e.to_string()));
    let pid = match pid {
        Ok(pid) if pid > 0 => pid,
        Ok(pid) => {
            eprintln!("mosn stop: {}: invalid PID {pid}", pid_file.display());
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("mosn stop: {}: {e}", pid_file.display());
            return ExitCode::FAILURE;
        }
    };
    match nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mosn stop: PID {pid}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `admin.address.socket_address` of the file: from the validated model when the file is
/// valid, else read from the JSON as it is (keys matched case-insensitively, as MOSN).
fn admin_address(config: &Path) -> Option<SocketAddr> {
    if let Ok(parsed) = mosn_config::load_file(config) {
        return parsed.config.admin;
    }
    let text = std::fs::read_to_string(config).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let key = |v: &serde_json::Value, name: &str| -> Option<serde_json::Value> {
        v.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let socket = key(&key(&key(&json, "admin")?, "address")?, "socket_address")?;
    let ip: IpAddr = match key(&socket, "address") {
        Some(serde_json::Value::String(ip)) if !ip.is_empty() => ip.parse().ok()?,
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let port = u16::try_from(key(&socket, "port_value")?.as_u64()?).ok()?;
    Some(SocketAddr::new(ip, port))
}

/// The admin address to connect to: a wildcard bind address is reached on loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// A bodiless HTTP/1.1 POST; the status and the body.
fn post(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, RELOAD_TIMEOUT)?;
    stream.set_read_timeout(Some(RELOAD_TIMEOUT))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {head:?}")))?;
    Ok((status, body.to_owned()))
}
