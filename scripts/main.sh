#!/usr/bin/env bash
# The README's main-job command: installs what is missing (npm packages, the Temporal CLI), builds,
# and runs `imv-import dev` on embedded defaults (Temporal dev server + Web UI, database, a local
# FTP inbox with the demo transfers, worker, schedule, a first import). Extra args go to `dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/install-temporal-cli.sh >/dev/null
npm run build --silent
exec node bin/imv-import.js dev "$@"
