#!/bin/sh
# Runs once, when the postgres image initialises an empty data volume (docker-entrypoint-initdb.d):
# the importer's own role and database, so the worker does not connect as the superuser that
# Temporal's schema tool uses. On an already initialised volume create them by hand (see README).
# No `set -u`: the image may source this file instead of executing it.
set -e
if [ -z "${IMV_DB_PASSWORD:-}" ]; then
  echo "IMV_DB_PASSWORD is not set: cannot create the imv_import role" >&2
  exit 1
fi
# The password travels as a psql variable (quoted by psql), never inside the SQL text.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres --set=imv_password="$IMV_DB_PASSWORD" <<'SQL'
CREATE ROLE imv_import LOGIN PASSWORD :'imv_password';
CREATE DATABASE imv_import OWNER imv_import;
SQL
