#!/usr/bin/env bash
# Makes sure the Debian packages the test suite and the demo run are installed:
#   prometheus (prometheus, promtool 2.42), prometheus-alertmanager (Alertmanager 0.25),
#   caddy (Caddy 2.6), redis-server, openssl (test certificates), wrk (npm run bench).
# Installs the missing ones with apt-get when running as root; otherwise prints the one
# command to run and exits 1.
#
# Usage: bash scripts/ensure-packages.sh        (exit 0 when every binary is there)
# Honors PROMETHEUS_BIN, PROMTOOL_BIN, ALERTMANAGER_BIN, CADDY_BIN, REDIS_SERVER_BIN.
set -euo pipefail

# binary path, then the Debian package that provides it
NEEDED=(
  "${PROMETHEUS_BIN:-/usr/bin/prometheus}" prometheus
  "${PROMTOOL_BIN:-/usr/bin/promtool}" prometheus
  "${ALERTMANAGER_BIN:-/usr/bin/prometheus-alertmanager}" prometheus-alertmanager
  "${CADDY_BIN:-/usr/bin/caddy}" caddy
  "${REDIS_SERVER_BIN:-/usr/bin/redis-server}" redis-server
  /usr/bin/openssl openssl
  /usr/bin/wrk wrk
)

missing_packages() {
  local out=() i
  for ((i = 0; i < ${#NEEDED[@]}; i += 2)); do
    if [ ! -x "${NEEDED[i]}" ]; then out+=("${NEEDED[i + 1]}"); fi
  done
  printf '%s\n' "${out[@]}" | sort -u | tr '\n' ' '
}

missing="$(missing_packages)"
if [ -z "${missing// /}" ]; then
  echo "ensure-packages: found $("${PROMETHEUS_BIN:-/usr/bin/prometheus}" --version 2>&1 | head -n1); alertmanager, caddy, redis-server, openssl, wrk"
  exit 0
fi

echo "ensure-packages: missing Debian packages: $missing" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-packages: install them, then run again:" >&2
  echo "    sudo apt-get update && sudo apt-get install -y $missing" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-packages: no apt-get here; install $missing and set the *_BIN variables above" >&2
  exit 1
fi

echo "ensure-packages: installing with apt-get: $missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: recommends (node exporter etc.) are not needed.
# policy-rc.d keeps Debian from starting the packaged services (prometheus, redis, caddy):
# the demo and tests run their own, on their own ports and data dirs.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$POLICY" && chmod +x "$POLICY" && CREATED_POLICY=1
fi
status=0
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing || status=$?
if [ "$CREATED_POLICY" = 1 ]; then rm -f "$POLICY"; fi
if [ "$status" -ne 0 ]; then
  echo "ensure-packages: apt-get install $missing failed (exit $status)" >&2
  exit 1
fi
still="$(missing_packages)"
if [ -n "${still// /}" ]; then
  echo "ensure-packages: installed, but these are still missing: $still" >&2
  exit 1
fi
echo "ensure-packages: installed $missing"
