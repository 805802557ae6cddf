#!/usr/bin/env bash
# Installs the Temporal server and its SQL tool (temporal-sql-tool) at the version docker-compose.yml
# pins, built once with `go install` from the Go module proxy into the same cache as the CLI, with
# the server's schema files beside them. They are not on npm, and nothing downloads a binary at run
# time. The production rehearsal (test/production/) runs them natively. Prints the cache's bin folder.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${IMV_CACHE_DIR:-$HOME/.cache/imv-import}"
# The version docker-compose.yml pins (TEMPORAL_VERSION's default), so the two cannot drift apart.
version="$(sed -n 's/.*temporalio\/server:\${TEMPORAL_VERSION:-\([0-9.]*\)}.*/\1/p' "$root/docker-compose.yml" | head -n 1)"
[ -n "$version" ] || { echo "cannot read the Temporal server version from docker-compose.yml" >&2; exit 1; }
dir="$cache/temporal-server-$version"
if [ ! -x "$dir/temporal-server" ] || [ ! -x "$dir/temporal-sql-tool" ] || [ ! -d "$dir/schema/postgresql" ]; then
  command -v go >/dev/null || { echo "go is needed to build the Temporal server $version (not on npm)" >&2; exit 1; }
  mkdir -p "$dir/build"
  echo "building the Temporal server $version and temporal-sql-tool into $dir (once, ~4 min)" >&2
  GOBIN="$dir/build" GOFLAGS=-mod=mod go install "go.temporal.io/server/cmd/server@v$version" "go.temporal.io/server/cmd/tools/sql@v$version" >&2
  mv "$dir/build/server" "$dir/temporal-server"
  mv "$dir/build/sql" "$dir/temporal-sql-tool"
  src="$(GOFLAGS=-mod=mod go mod download -json "go.temporal.io/server@v$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  rm -rf "$dir/schema"
  cp -r "$src/schema" "$dir/schema"
  chmod -R u+w "$dir/schema"
  rmdir "$dir/build"
fi
echo "$dir"
