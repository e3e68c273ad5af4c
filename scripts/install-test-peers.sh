#!/usr/bin/env bash
# Installs the real peers the tests talk to (curl, wrk, socat, iperf3, nginx, python3,
# dnsmasq),
# from Debian's packages, when any is missing. Needs root (or sudo) on a fresh machine.
set -euo pipefail
need=()
for tool in curl wrk socat iperf3 nginx python3 dnsmasq; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -eq 0 ]; then
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
