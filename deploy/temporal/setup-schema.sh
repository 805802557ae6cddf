#!/bin/sh
# One-shot: create Temporal's two databases on PostgreSQL and bring their schemas to the version of
# the admin-tools image (which must match the server image). Safe to run on every `up`: existing
# databases are kept, setup-schema does nothing once a schema exists, update-schema applies only
# newer versions. Runs in temporalio/admin-tools (temporal-sql-tool, schema files under
# /etc/temporal/schema). The password comes in as SQL_PASSWORD, never on the command line.
set -eu
. "$(dirname "$0")/wait-until.sh"

: "${POSTGRES_SEEDS:=postgresql}"
: "${DB_PORT:=5432}"
: "${POSTGRES_USER:?POSTGRES_USER is not set}"
: "${SQL_PASSWORD:?SQL_PASSWORD is not set (the PostgreSQL password)}"
: "${DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
: "${SCHEMA_ROOT:=/etc/temporal/schema/postgresql/v12}"
export SQL_PASSWORD

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}"
wait_until "PostgreSQL did not come up" 60 nc -z -w 2 "$POSTGRES_SEEDS" "$DB_PORT"

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

setup_database() {
  db="$1"
  schema_dir="$2"
  echo "database ${db}: create"
  # Older temporal-sql-tool versions fail on an existing database; setup-schema below fails
  # loudly if the database really is missing, so a failed create is not fatal here.
  sql_tool --db "$db" create || echo "database ${db}: create failed, assuming it exists"
  echo "database ${db}: setup-schema"
  sql_tool --db "$db" setup-schema -v 0.0
  echo "database ${db}: update-schema from ${schema_dir}"
  sql_tool --db "$db" update-schema -d "$schema_dir"
}

setup_database "$DBNAME" "${SCHEMA_ROOT}/temporal/versioned"
setup_database "$VISIBILITY_DBNAME" "${SCHEMA_ROOT}/visibility/versioned"
echo "Temporal schemas are up to date"
