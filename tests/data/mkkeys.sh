#!/bin/sh
# Regenerates the unit tests' key fixtures.  They were made once and are
# committed: test-only keys, unencrypted, never used for anything real.
# Run from this directory; it refuses to overwrite existing files.
set -eu
cd "$(dirname "$0")"
for f in id_* ca_*; do
	if [ -e "$f" ]; then
		echo "mkkeys: $f exists; remove the keys first" >&2
		exit 1
	fi
done

gen() {	# file type bits
	ssh-keygen -q -t "$2" ${3:+-b "$3"} -N '' -C "sshenv-test-$1" -f "$1"
}
gen id_ed25519 ed25519
gen id_ed25519_other ed25519
gen id_ecdsa256 ecdsa 256
gen id_ecdsa256_other ecdsa 256
gen id_ecdsa384 ecdsa 384
gen id_ecdsa521 ecdsa 521
gen id_rsa2048 rsa 2048
gen id_rsa1024 rsa 1024
gen ca_ed25519 ed25519

# User certificates signed by the test CA; the CA's signature is what the
# certificate tests alter.
for k in id_ed25519 id_ecdsa256 id_rsa2048; do
	ssh-keygen -q -s ca_ed25519 -I "sshenv-test-cert-$k" -n sshenv-test \
	    -V 20240101:21240101 "$k.pub"
done
