#!/bin/sh
# mkcerts.sh DIR: the certificates the TLS tests use, made at test time
# (no key is ever committed). Everything is signed by a throw-away CA:
#
#   ca.pem                 the test CA (ECDSA P-256)
#   server-ec.pem/.key     ECDSA P-256 for localhost, a.test, 127.0.0.1, ::1
#   server-rsa.pem/.key    RSA 2048, the same names
#   b.pem/.key             ECDSA for b.test only (SNI tests)
#   chain.pem/.key         leaf for c.test signed by an intermediate; the
#                          file holds the leaf, then the intermediate
#   badchain.pem           the same two certificates in the wrong order
#   client.pem/.key        a client certificate from the CA, CN=alice
#   rogue-ca.pem, rogue.pem/.key  another CA and a client (CN=mallory) from it
#   soon.pem/.key          localhost, valid 10 more days
#   expired.pem/.key       localhost, expired in 2020
#   mismatch.key           a key that belongs to no certificate here
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
export OPENSSL_CONF=/dev/null
q() { "$@" >/dev/null 2>&1 || { echo "mkcerts: failed: $*" >&2; exit 1; }; }

eckey() { q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
rsakey() { q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }

# ca NAME CN: a self-signed CA
ca() {
	eckey "$1.key"
	q openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 3650 -subj "/CN=$2" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}

# leaf NAME KEYFILE CANAME CN SAN [openssl x509 date options...]
leaf() {
	name=$1 key=$2 caname=$3 cn=$4 san=$5
	shift 5
	q openssl req -new -key "$key" -out "$name.csr" -subj "/CN=$cn"
	printf 'basicConstraints=CA:FALSE\nsubjectAltName=%s\n' "$san" > "$name.ext"
	q openssl x509 -req -in "$name.csr" -CA "$caname.pem" -CAkey "$caname.key" \
		-CAcreateserial -out "$name.pem" -extfile "$name.ext" "$@"
	rm -f "$name.csr" "$name.ext"
}

NAMES='DNS:localhost,DNS:a.test,IP:127.0.0.1,IP:::1'
ca ca "porter test CA"
ca rogue-ca "rogue test CA"
eckey server-ec.key
leaf server-ec server-ec.key ca localhost "$NAMES" -days 365
rsakey server-rsa.key
leaf server-rsa server-rsa.key ca localhost "$NAMES" -days 365
eckey b.key
leaf b b.key ca b.test DNS:b.test -days 365
eckey client.key
leaf client client.key ca alice email:alice@a.test -days 365
eckey rogue.key
leaf rogue rogue.key rogue-ca mallory email:mallory@a.test -days 365
eckey soon.key
leaf soon soon.key ca localhost "$NAMES" -days 10
eckey mismatch.key

# An intermediate CA, a leaf under it, the chain in order and reversed.
eckey inter.key
q openssl req -new -key inter.key -out inter.csr -subj "/CN=porter test intermediate"
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > inter.ext
q openssl x509 -req -in inter.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out inter.pem \
	-extfile inter.ext -days 365
rm -f inter.csr inter.ext
eckey leaf.key
leaf leaf leaf.key inter c.test DNS:c.test -days 365
cat leaf.pem inter.pem > chain.pem
cp leaf.key chain.key
cat inter.pem leaf.pem > badchain.pem

# Expired: openssl ca takes explicit dates.
eckey expired.key
q openssl req -new -key expired.key -out expired.csr -subj "/CN=localhost"
mkdir -p cadb
: > cadb/index.txt
echo 01 > cadb/serial
cat > cadb/ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
dir = cadb
database = cadb/index.txt
serial = cadb/serial
new_certs_dir = cadb
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
[ ext ]
subjectAltName = DNS:localhost,IP:127.0.0.1
CNF
q openssl ca -batch -config cadb/ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
	-out expired.pem -startdate 20190101000000Z -enddate 20200101000000Z -extensions ext -notext
rm -rf cadb expired.csr ./*.srl
chmod 600 ./*.key
