#!/bin/sh
# Installs the Debian packages sshenv needs to build (and, with "test",
# "bench" or "deb", to test, benchmark or build the Debian package).
# Idempotent and silent when all is there.
set -eu
want="make gcc pkg-config libuv1-dev libinih-dev libssl-dev libsystemd-dev \
	libp11-kit-dev libfido2-dev"
case "${1:-build}" in
test)  want="$want clang libclang-rt-14-dev shunit2 openssh-client openssh-server procps util-linux \
	bash dash zsh ksh tcsh fish tmux valgrind systemd python3 man-db groff-base \
	clang-format build-essential dpkg-dev debhelper lintian dbus-daemon \
	python3-dbus python3-gi softhsm2 openssl" ;;
deb)   want="$want build-essential dpkg-dev debhelper lintian" ;;
bench) want="$want openssh-client openssh-server keychain procps" ;;
esac
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "sshenv: missing Debian packages:$missing" >&2
	echo "sshenv: run as root: apt-get install$missing" >&2
	exit 1
fi
echo "sshenv: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
