#!/usr/bin/env bash
# Makes sure Debian's `prometheus-alertmanager` package (Alertmanager 0.25) is installed: the
# Alertmanager tests (test/e2e/alertmanager.test.ts) start it. Installs with apt-get when
# running as root, otherwise prints the command to run and exits 1.
#
# Usage: bash scripts/ensure-alertmanager.sh     (exit 0 when the binary is there)
# Honors ALERTMANAGER_BIN (default /usr/bin/prometheus-alertmanager).
set -euo pipefail

ALERTMANAGER_BIN="${ALERTMANAGER_BIN:-/usr/bin/prometheus-alertmanager}"

if [ -x "$ALERTMANAGER_BIN" ]; then
  echo "ensure-alertmanager: found $("$ALERTMANAGER_BIN" --version 2>&1 | head -n1)"
  exit 0
fi

echo "ensure-alertmanager: $ALERTMANAGER_BIN not found" >&2
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-alertmanager: install Debian's package, then run again:" >&2
  echo "    sudo apt-get update && sudo apt-get install -y prometheus-alertmanager" >&2
  exit 1
fi

echo "ensure-alertmanager: installing with apt-get (prometheus-alertmanager)…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps Debian from starting the packaged service; the tests run their own.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$POLICY" && chmod +x "$POLICY" && CREATED_POLICY=1
fi
status=0
apt-get install -y -qq --no-install-recommends prometheus-alertmanager || status=$?
if [ "$CREATED_POLICY" = 1 ]; then rm -f "$POLICY"; fi
if [ "$status" -ne 0 ] || [ ! -x "$ALERTMANAGER_BIN" ]; then
  echo "ensure-alertmanager: apt-get install prometheus-alertmanager failed (exit $status)" >&2
  exit 1
fi
echo "ensure-alertmanager: installed $("$ALERTMANAGER_BIN" --version 2>&1 | head -n1)"
