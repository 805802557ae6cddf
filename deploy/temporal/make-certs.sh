#!/bin/sh
# Makes the certificates of the Temporal cluster's mTLS (server.env) with openssl, in DIR
# (default deploy/temporal/tls): a CA (ca.pem, ca.key), the server's certificate for the names
# clients dial (server.pem, server.key; also used between the server's own services), and a client
# certificate for imv-import's workers and CLI, temporal-init and the UI (client.pem, client.key).
# For a real cluster use your own PKI, or run this once and keep ca.key offline. SERVER_NAMES adds
# names to the server certificate (e.g. SERVER_NAMES="DNS:temporal.example.com"). Valid DAYS days.
# The production rehearsal (test/production/) makes its certificates with this script too.
set -eu
dir="${1:-$(dirname "$0")/tls}"
days="${DAYS:-825}"
names="DNS:temporal,DNS:localhost,IP:127.0.0.1${SERVER_NAMES:+,$SERVER_NAMES}"
mkdir -p "$dir"
cd "$dir"
if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days "$days" -subj "/CN=${CA_NAME:-imv-import Temporal CA}" -keyout ca.key -out ca.pem 2>/dev/null
fi
leaf() {
  name="$1" cn="$2" ext="$3"
  printf '%s\n' "$ext" > "$name.ext"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$name.key" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" -out "$name.pem" -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}
leaf server temporal "subjectAltName=$names
extendedKeyUsage=serverAuth,clientAuth"
leaf client imv-import "extendedKeyUsage=clientAuth"
# The server (uid 1000 in temporalio/server) and the workers (user node, uid 1000) read the keys.
chmod 0644 ./*.pem
chmod 0640 ./*.key
echo "certificates in $dir: ca.pem, server.pem/server.key, client.pem/client.key"
