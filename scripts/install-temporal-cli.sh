#!/usr/bin/env bash
# Installs the Temporal CLI (dev server with embedded Web UI) once, into a cache outside the repo.
# It is not on npm; v1.5.1 is the newest tag whose go.mod has no `replace` directive, which
# `go install pkg@version` refuses. Prints the binary's path.
set -euo pipefail
cache="${IMV_CACHE_DIR:-$HOME/.cache/imv-import}"
bin="$cache/bin/temporal"
if [ -n "${TEMPORAL_CLI:-}" ] && [ -x "${TEMPORAL_CLI}" ]; then echo "$TEMPORAL_CLI"; exit 0; fi
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "go is needed to build the Temporal CLI (not on npm)" >&2; exit 1; }
  mkdir -p "$cache/bin"
  echo "building the Temporal CLI v1.5.1 into $cache/bin (once, ~3 min)" >&2
  GOBIN="$cache/bin" GOFLAGS=-mod=mod go install github.com/temporalio/cli/cmd/temporal@v1.5.1 >&2
fi
echo "$bin"
