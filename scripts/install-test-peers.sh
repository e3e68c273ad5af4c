#!/usr/bin/env bash
# Installs the real peers the tests talk to: curl, wrk, socat, iperf3, nginx, python3 and
# dnsmasq from Debian's packages when any is missing (needs root or sudo on a fresh
# machine), then the Node.js peers listed in peers/package.json (exact versions) into
# peers/node_modules with npm (needs Node.js 20 and npm).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
install_node_peers() {
  command -v npm >/dev/null 2>&1 || { echo "npm is missing: install Node.js 20 and npm" >&2; exit 1; }
  (cd "$root/peers" && npm install --no-audit --no-fund --no-package-lock --loglevel=error)
}
need=()
for tool in curl wrk socat iperf3 nginx python3 dnsmasq; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -eq 0 ]; then
  install_node_peers
  exit 0
fi
pkgs=()
for tool in "${need[@]}"; do
  case "$tool" in
    nginx) pkgs+=(nginx-light) ;;
    dnsmasq) pkgs+=(dnsmasq-base) ;;
    *) pkgs+=("$tool") ;;
  esac
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
install_node_peers
