#!/usr/bin/env bash
# promfence demo: `npm run demo` (interactive; Ctrl-C stops everything) or
# `bash scripts/demo.sh --check` / DEMO_EXIT_AFTER_READY=1 (exit 0 when isolation holds).
# Needs Node >= 20.6 and Debian's prometheus package (installed when running as root).
# The work is done by scripts/demo.ts; this wrapper checks the prerequisites.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> Checking Node.js"
if ! command -v node >/dev/null 2>&1; then
  echo "demo: node not found; install Node.js 20 or newer" >&2
  exit 1
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=6)?0:1)'; then
  echo "demo: Node.js >= 20.6 needed, found $(node --version)" >&2
  exit 1
fi
echo "    node $(node --version)"

echo "==> Checking node_modules"
# npm ci writes node_modules/.package-lock.json; older than package-lock.json = stale.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "    node_modules missing or stale: npm ci"
  npm ci --no-audit --no-fund
else
  echo "    up to date"
fi

echo "==> Building dist/ (npm run build)"
npm run build --silent

echo "==> Checking prometheus + promtool"
bash scripts/ensure-packages.sh | sed 's/^/    /'

exec node --import tsx scripts/demo.ts "$@"
