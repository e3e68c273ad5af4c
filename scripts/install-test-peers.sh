#!/usr/bin/env bash
# Installs the real peers the tests talk to, when any is missing: curl, wrk, socat,
# iperf3, nginx, python3, dnsmasq, openssl, h2load, iptables and Node.js from Debian's
# packages
# (needs root or sudo on a fresh machine); the Python peers (Envoy, grpcio, hypercorn,
# websockets; pinned in peers/requirements.txt) into the gitignored virtualenv
# peers/venv, which the tests also search for tools; and the Node.js peers
# (@grpc/grpc-js, sofa-rpc-node, dubbo clients; pinned in peers/package.json) into
# peers/node_modules; and Tongsuo (TLCP, TLS 1.3 ShangMi suites), built once into a
# cache outside the clone by scripts/build-tongsuo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

need=()
for tool in curl wrk socat iperf3 nginx python3 dnsmasq openssl h2load node npm iptables; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
# A venv needs python3-venv on Debian (ensurepip).
if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  need+=(python3-venv)
fi
if [ ${#need[@]} -gt 0 ]; then
  pkgs=()
  for tool in "${need[@]}"; do
    case "$tool" in
      nginx) pkgs+=(nginx-light) ;;
      dnsmasq) pkgs+=(dnsmasq-base) ;;
      h2load) pkgs+=(nghttp2-client) ;;
      node) pkgs+=(nodejs) ;;
      *) pkgs+=("$tool") ;;
    esac
  done
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

# The Python peers, reinstalled only when their pinned list changes.
venv=peers/venv
stamp="$venv/.requirements"
if ! cmp -s peers/requirements.txt "$stamp" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r peers/requirements.txt
  cp peers/requirements.txt "$stamp"
fi

# The Node.js peers, reinstalled only when their pinned list changes.
stamp=peers/node_modules/.package.json
if ! cmp -s peers/package.json "$stamp" 2>/dev/null; then
  (cd peers && npm install --no-audit --no-fund --silent)
  cp peers/package.json "$stamp"
fi

# Tongsuo, the national-cryptography peer: built from source once, then cached.
scripts/build-tongsuo.sh >/dev/null
