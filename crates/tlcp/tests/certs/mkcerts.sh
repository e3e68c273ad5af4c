#!/bin/bash
# Extra certificates for the tlcp integration tests, made with Tongsuo 8.5.0 (rcgen cannot
# make SM2 certificates). The shared CA and double certificates stay in
# ../../../../../shared/testdata/gmtls/certs; this adds what those cannot show:
#   untrusted_ca.crt          a second SM2 root that signed none of the shared certificates
#   expired_server_sign.*     a signing certificate from the shared CA, valid 2020-2021 only
set -euo pipefail
cd "$(dirname "$0")"
T=${TONGSUO:-$HOME/.cache/mosn-rs/tongsuo-8.5.0/bin/tongsuo}
export OPENSSL_CONF=${OPENSSL_CONF:-$HOME/.cache/mosn-rs/tongsuo-8.5.0/openssl.cnf}
SHARED=../../../../../shared/testdata/gmtls/certs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/ext.cnf" <<'X'
[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[sign]
keyUsage=critical,digitalSignature
subjectAltName=DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
X
# A root nobody trusts for these peers (its key is thrown away).
$T ecparam -genkey -name SM2 -noout -out "$work/untrusted_ca.key"
$T req -new -key "$work/untrusted_ca.key" -sm3 -subj "/C=CN/O=tlcp-tests/CN=Untrusted SM2 Root CA" -out "$work/untrusted_ca.csr"
$T x509 -req -in "$work/untrusted_ca.csr" -signkey "$work/untrusted_ca.key" -sm3 -days 3650 \
  -extfile "$work/ext.cnf" -extensions ca -out untrusted_ca.crt
# A signing certificate from the shared CA that expired long ago.
$T ecparam -genkey -name SM2 -noout | $T pkcs8 -topk8 -nocrypt -out expired_server_sign.key
$T req -new -key expired_server_sign.key -sm3 -subj "/C=CN/O=tlcp-tests/CN=localhost server sign (expired)" -out "$work/expired.csr"
$T x509 -req -in "$work/expired.csr" -CA "$SHARED/ca.crt" -CAkey "$SHARED/ca.key" -set_serial 0x7e57 -sm3 \
  -not_before 20200101000000Z -not_after 20210101000000Z \
  -extfile "$work/ext.cnf" -extensions sign -out expired_server_sign.crt
$T x509 -in expired_server_sign.crt -noout -subject -dates -ext keyUsage
$T verify -CAfile "$SHARED/ca.crt" expired_server_sign.crt || true
