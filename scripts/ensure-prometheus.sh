#!/usr/bin/env bash
# Makes sure Debian's `prometheus` package (prometheus + promtool) and
# `prometheus-alertmanager` (Alertmanager 0.25) are installed: the demo and the real-Prometheus
# tests (test/realprom, test/e2e) run them. Installs with apt-get when
# running as root, otherwise prints the command to run and exits 1.
#
# Usage: bash scripts/ensure-prometheus.sh        (exit 0 when both binaries are there)
# Honors PROMETHEUS_BIN / PROMTOOL_BIN / ALERTMANAGER_BIN (default /usr/bin/prometheus,
# /usr/bin/promtool, /usr/bin/prometheus-alertmanager).
set -euo pipefail

PROMETHEUS_BIN="${PROMETHEUS_BIN:-/usr/bin/prometheus}"
PROMTOOL_BIN="${PROMTOOL_BIN:-/usr/bin/promtool}"
ALERTMANAGER_BIN="${ALERTMANAGER_BIN:-/usr/bin/prometheus-alertmanager}"

have_both() { [ -x "$PROMETHEUS_BIN" ] && [ -x "$PROMTOOL_BIN" ] && [ -x "$ALERTMANAGER_BIN" ]; }

if have_both; then
  echo "ensure-prometheus: found $("$PROMETHEUS_BIN" --version 2>&1 | head -n1); $("$ALERTMANAGER_BIN" --version 2>&1 | head -n1)"
  exit 0
fi

echo "ensure-prometheus: prometheus/promtool/alertmanager not found ($PROMETHEUS_BIN, $PROMTOOL_BIN, $ALERTMANAGER_BIN)" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-prometheus: install Debian's package, then run again:" >&2
  echo "    sudo apt-get update && sudo apt-get install -y prometheus prometheus-alertmanager" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-prometheus: no apt-get here; install Prometheus 2.x (prometheus + promtool) and set PROMETHEUS_BIN / PROMTOOL_BIN" >&2
  exit 1
fi

echo "ensure-prometheus: installing with apt-get (prometheus)…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: the package's recommends (node exporter etc.) are not needed.
# policy-rc.d keeps Debian from starting the packaged systemd/init service in containers;
# the demo and tests run their own Prometheus on their own port and data dir.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$POLICY" && chmod +x "$POLICY" && CREATED_POLICY=1
fi
status=0
apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager || status=$?
if [ "$CREATED_POLICY" = 1 ]; then rm -f "$POLICY"; fi
if [ "$status" -ne 0 ]; then
  echo "ensure-prometheus: apt-get install prometheus failed (exit $status)" >&2
  exit 1
fi
if ! have_both; then
  echo "ensure-prometheus: installed, but $PROMETHEUS_BIN, $PROMTOOL_BIN or $ALERTMANAGER_BIN is still missing" >&2
  exit 1
fi
echo "ensure-prometheus: installed $("$PROMETHEUS_BIN" --version 2>&1 | head -n1)"
