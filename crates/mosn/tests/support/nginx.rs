//! nginx.

use super::*;

/// The 100-byte body of nginx's `/small`.
pub const SMALL_BODY: &str =
    "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqr";

/// Size of nginx's static `/large.bin`.
pub const LARGE_LEN: usize = 16 * 1024;

/// The standard nginx server block: `/small` (100 bytes), `/large.bin` (16 KiB static
/// file), `/echo...` (request facts as `key=value` lines), anything else: `uri=$uri`.
/// Every response carries `X-Upstream-Drop: drop` for the response-header tests.
pub fn echo_server_block() -> String {
    let echo = [
        "uri=$request_uri",
        "host=$host",
        "http_host=$http_host",
        "xff=$http_x_forwarded_for",
        "xfp=$http_x_forwarded_proto",
        "rid=$http_x_request_id",
        "secret=$http_x_secret",
        "keepalive=$http_keep_alive",
        "proxyconn=$http_proxy_connection",
        "connection=$http_connection",
        "upgrade=$http_upgrade",
        "added=$http_x_added",
        "removeme=$http_x_remove_me",
        "method=$request_method",
        "",
    ]
    .join("\\n");
    format!(
        r#"
        add_header X-Upstream-Drop drop always;
        location = /small {{ return 200 "{SMALL_BODY}"; }}
        location = /large.bin {{ }}
        location /echo {{ return 200 "{echo}"; }}
        location / {{ return 200 "uri=$uri\n"; }}
"#
    )
}

/// nginx serving `servers` (port, server-block body) in the foreground, one process, all
/// paths in a temp dir. Killed by PID on drop.
pub struct Nginx {
    peer: Peer,
    dir: TempDir,
    pub ports: Vec<u16>,
}

impl Nginx {
    /// nginx with the standard echo server on `port`.
    pub fn echo(port: u16) -> Nginx {
        Nginx::start(&[(port, echo_server_block())])
    }

    /// nginx serving `servers` (port, server-block body) on 127.0.0.1.
    pub fn start(servers: &[(u16, String)]) -> Nginx {
        let at: Vec<(SocketAddr, String)> = servers
            .iter()
            .map(|(p, b)| (local(*p), b.clone()))
            .collect();
        Nginx::start_at(&at)
    }

    /// nginx serving `servers` (listen address, server-block body); any 127.0.0.0/8
    /// address works, so tests can tell hosts apart by IP.
    pub fn start_at(servers: &[(SocketAddr, String)]) -> Nginx {
        let listens: Vec<(SocketAddr, &str, String)> =
            servers.iter().map(|(a, b)| (*a, "", b.clone())).collect();
        Nginx::start_listening(&listens)
    }

    /// nginx speaking h2c (HTTP/2 with prior knowledge) with the standard echo server on
    /// `port`.
    pub fn echo_h2c(port: u16) -> Nginx {
        Nginx::start_listening(&[(local(port), " http2", echo_server_block())])
    }

    /// nginx serving `servers` (listen address, extra `listen` parameters, server-block
    /// body).
    pub fn start_listening(servers: &[(SocketAddr, &str, String)]) -> Nginx {
        let nginx = tool("nginx");
        let dir = TempDir::new("nginx");
        let d = dir.path().display().to_string();
        dir.write("www/large.bin", random_bytes(LARGE_LEN, 0x5eed));
        let mut server_blocks = String::new();
        for (addr, params, body) in servers {
            server_blocks.push_str(&format!(
                "    server {{\n        listen {addr}{params};\n        server_name _;\n        root {d}/www;\n{body}\n    }}\n"
            ));
        }
        let conf = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    default_type text/plain;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{server_blocks}}}
"#
        );
        let conf_path = dir.write("nginx.conf", conf);
        let mut peer = Peer::spawn(
            "nginx",
            Command::new(nginx)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(dir.file("error.log")),
            dir.file("nginx.out"),
        );
        let ports: Vec<u16> = servers.iter().map(|(a, _, _)| a.port()).collect();
        peer.wait_ready("listening", || {
            servers
                .iter()
                .all(|(a, _, _)| wait_for_port(*a, START_TIMEOUT))
        });
        Nginx { peer, dir, ports }
    }

    /// The nginx process's PID, to kill it in failure tests.
    pub fn pid(&self) -> u32 {
        self.peer.pid()
    }

    /// Waits for the process to exit (after a signal the test sent).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.peer.wait_exit(timeout)
    }

    pub fn error_log(&self) -> String {
        fs::read_to_string(self.dir.file("error.log")).unwrap_or_default() + &self.peer.log()
    }
}
