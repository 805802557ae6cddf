#!/usr/bin/env bash
# What the test suite needs beyond npm: vsftpd (a real FTP daemon) with a local FTP user,
# Debian's chromium for the UI browser test, promtool (Debian's prometheus package) for the alert
# rules' unit tests, tmux for the terminal tests (a pseudo-terminal whose screen they read), and the
# Temporal CLI. Idempotent; needs root.
set -euo pipefail
need=()
command -v vsftpd >/dev/null || need+=(vsftpd)
command -v chromium >/dev/null || need+=(chromium)
command -v promtool >/dev/null || need+=(prometheus)
command -v tmux >/dev/null || need+=(tmux)
command -v nc >/dev/null || need+=(netcat-openbsd)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The FTP user the tests log in as (vsftpd authenticates local system users through PAM).
if ! id imvftp >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash imvftp
fi
echo 'imvftp:imvftp-test-secret' | chpasswd
mkdir -p /var/run/vsftpd/empty
bash "$(dirname "$0")/install-temporal-cli.sh" >/dev/null
# The Temporal server and temporal-sql-tool at the version docker-compose.yml pins, for the
# production rehearsal (test/production/); built once, ~4 min.
bash "$(dirname "$0")/install-temporal-server.sh" >/dev/null
