#!/bin/sh
# Creates the FTP account from the environment and runs vsftpd in the foreground.
#   FTP_USER               account name (default openimmo)
#   FTP_PASSWORD           its password, or FTP_PASSWORD_FILE (a Docker secret); required
#   FTP_UID                uid of the account (default 1000), so a worker volume can share files
#   FTP_PASV_ADDRESS       address announced in PASV replies (the public host name or IP); clients
#                          using EPSV, like basic-ftp, do not need it
#   FTP_PASV_MIN_PORT/MAX  passive port range (default 21000-21010; publish the same range)
set -eu

FTP_USER="${FTP_USER:-openimmo}"
FTP_UID="${FTP_UID:-1000}"
if [ -n "${FTP_PASSWORD_FILE:-}" ]; then
  FTP_PASSWORD="$(cat "$FTP_PASSWORD_FILE")"
fi
if [ -z "${FTP_PASSWORD:-}" ]; then
  echo "ftp: set FTP_PASSWORD or FTP_PASSWORD_FILE (refusing to run an account without a password)" >&2
  exit 1
fi
home="/srv/ftp/${FTP_USER}"

if ! id "$FTP_USER" >/dev/null 2>&1; then
  useradd --uid "$FTP_UID" --home-dir "$home" --no-create-home --shell /usr/sbin/nologin "$FTP_USER"
fi
printf '%s:%s\n' "$FTP_USER" "$FTP_PASSWORD" | chpasswd
unset FTP_PASSWORD
printf '%s\n' "$FTP_USER" > /etc/vsftpd.user_list
mkdir -p "$home"
chown "$FTP_USER:" "$home"

set -- /usr/sbin/vsftpd \
  "-opasv_min_port=${FTP_PASV_MIN_PORT:-21000}" \
  "-opasv_max_port=${FTP_PASV_MAX_PORT:-21010}"
if [ -n "${FTP_PASV_ADDRESS:-}" ]; then
  set -- "$@" "-opasv_address=${FTP_PASV_ADDRESS}" -opasv_addr_resolve=YES
fi
exec "$@" /etc/vsftpd.conf
