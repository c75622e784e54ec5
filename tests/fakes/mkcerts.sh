#!/bin/sh
# mkcerts.sh DIR -- test certificates for the stand-in servers.
#
# Creates in DIR (EC P-256 keys, quiet, idempotent):
#   ca.pem ca.key                  the test CA that clients trust (--cacert)
#   server.pem server.key          server cert signed by it, for
#                                  IP:127.0.0.1, IP:::1 and DNS:localhost
#   rogue-ca.pem rogue-ca.key      an unrelated CA that nobody trusts
#   rogue-server.pem rogue-server.key
#                                  a server cert for the same names signed by
#                                  the rogue CA: a client given ca.pem must
#                                  refuse it (and nothing else is wrong with it)
#
# Existing files are kept when they are complete, chain correctly and are
# valid for at least another day; otherwise everything is made anew.
# Concurrent runs on one DIR are serialised with flock when available.
set -eu

dir=${1:?usage: mkcerts.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

if command -v flock >/dev/null 2>&1; then
	exec 9>.mkcerts.lock
	flock -w 60 9
fi

files="ca.pem ca.key server.pem server.key rogue-ca.pem rogue-ca.key rogue-server.pem rogue-server.key"

valid() {
	for f in $files; do
		[ -s "$f" ] || return 1
	done
	openssl verify -CAfile ca.pem server.pem >/dev/null 2>&1 || return 1
	openssl verify -CAfile rogue-ca.pem rogue-server.pem >/dev/null 2>&1 || return 1
	for f in ca.pem server.pem rogue-ca.pem rogue-server.pem; do
		openssl x509 -noout -checkend 86400 -in "$f" >/dev/null 2>&1 || return 1
	done
	return 0
}

if valid; then
	exit 0
fi

tmp=$(mktemp -d .mkcerts.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

cat >"$tmp/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_srv]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF

newkey="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

# mk_ca NAME CN
mk_ca() {
	openssl req -config "$tmp/openssl.cnf" -x509 -new $newkey \
		-keyout "$tmp/$1.key" -out "$tmp/$1.pem" -days 3650 \
		-subj "/O=secretwatch tests/CN=$2" -extensions v3_ca 2>/dev/null
}

# mk_server NAME CA CN
mk_server() {
	openssl req -config "$tmp/openssl.cnf" -new $newkey \
		-keyout "$tmp/$1.key" -out "$tmp/$1.csr" \
		-subj "/O=secretwatch tests/CN=$3" 2>/dev/null
	openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/$2.pem" -CAkey "$tmp/$2.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 825 \
		-extfile "$tmp/openssl.cnf" -extensions v3_srv \
		-out "$tmp/$1.pem" 2>/dev/null
	rm -f "$tmp/$1.csr"
}

mk_ca ca "secretwatch test CA"
mk_server server ca localhost
mk_ca rogue-ca "rogue test CA"
mk_server rogue-server rogue-ca localhost

chmod 0644 "$tmp"/*.pem
chmod 0600 "$tmp"/*.key
for f in $files; do
	mv -f "$tmp/$f" "$f"
done

valid || { echo "mkcerts.sh: generated certificates do not verify" >&2; exit 1; }
