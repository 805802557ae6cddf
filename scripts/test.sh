#!/usr/bin/env bash
# The README's test command: installs what the suite needs (npm packages, vsftpd, chromium, promtool,
# the Temporal CLI — each only when missing), checks types (the whole tree, test/ included), lint and
# format, and runs all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run typecheck
npm run lint
npm run format:check
npm test
