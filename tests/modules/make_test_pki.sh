#!/bin/sh
# make_test_pki.sh DIR — a throwaway private CA in DIR with a server
# certificate for 127.0.0.1/localhost (server.pem/server.key), a client
# certificate CN=tunnel-test-client (client.pem/client.key), and ca.pem.
# Used by test_mcp_http_probe for the mTLS cases; nothing is kept.
set -eu
dir=$1
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout ca.key -out ca.pem -days 2 -subj "/CN=tunnel-test-ca" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
printf 'extendedKeyUsage=clientAuth\n' >client.ext
for who in server client; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$who.key" -out "$who.csr" -subj "/CN=tunnel-test-$who" 2>/dev/null
  openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 2 -extfile "$who.ext" -out "$who.pem" 2>/dev/null
done
