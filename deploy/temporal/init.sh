#!/bin/sh
# One-shot, after the Temporal server is up: the namespace the importer runs in, and the custom
# search attributes its workflows set (common/search-attributes.ts), so that "all failed files of
# tenant X" is one query in the UI. Idempotent: creates only what is missing. Runs in
# temporalio/admin-tools (Temporal CLI).
set -eu
. "$(dirname "$0")/wait-until.sh"

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${NAMESPACE_RETENTION:=720h}"

# name:type pairs; keep in step with common/search-attributes.ts
SEARCH_ATTRIBUTES="ImportTenant:Keyword ImportFile:Keyword ImportOutcome:Keyword ImportObjects:Int"

host="${TEMPORAL_ADDRESS%:*}"
port="${TEMPORAL_ADDRESS##*:}"
# The CLI sometimes tries the service name over IPv6 first; use the IPv4 address the server binds.
ip="$(getent ahostsv4 "$host" 2>/dev/null | awk 'NR == 1 { print $1 }')"
address="${ip:-$host}:${port}"

echo "waiting for the Temporal server at ${TEMPORAL_ADDRESS}"
wait_until "the Temporal server did not become healthy" 90 temporal operator cluster health --address "$address"

if temporal operator namespace describe --address "$address" --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "namespace ${TEMPORAL_NAMESPACE}: exists"
else
  echo "namespace ${TEMPORAL_NAMESPACE}: creating (retention ${NAMESPACE_RETENTION})"
  temporal operator namespace create --address "$address" --namespace "$TEMPORAL_NAMESPACE" --retention "$NAMESPACE_RETENTION"
  # A new namespace takes a moment to reach every service.
  tries=0
  until temporal operator namespace describe --address "$address" --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -ge 30 ] && { echo "namespace ${TEMPORAL_NAMESPACE} did not appear" >&2; exit 1; }
    sleep 1
  done
fi

# A new namespace reaches the search-attribute API only once every service's namespace cache has
# it (up to ~10 s after describe answers).
wait_until "namespace ${TEMPORAL_NAMESPACE} did not reach the search-attribute API" 30 \
  temporal operator search-attribute list --address "$address" --namespace "$TEMPORAL_NAMESPACE"
existing="$(temporal operator search-attribute list --address "$address" --namespace "$TEMPORAL_NAMESPACE")"
for pair in $SEARCH_ATTRIBUTES; do
  name="${pair%%:*}"
  type="${pair##*:}"
  if printf '%s\n' "$existing" | grep -qw -- "$name"; then
    echo "search attribute ${name}: exists"
    continue
  fi
  echo "search attribute ${name} (${type}): creating"
  if ! temporal operator search-attribute create --address "$address" --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "$type"; then
    # Another init run may have created it meanwhile; only a still-missing attribute is an error.
    temporal operator search-attribute list --address "$address" --namespace "$TEMPORAL_NAMESPACE" | grep -qw -- "$name" || exit 1
  fi
done
echo "Temporal namespace ${TEMPORAL_NAMESPACE} and search attributes are ready"
