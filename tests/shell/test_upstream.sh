#!/bin/sh
# The agent serving other agents' keys (`sshenv agent -U`, as the stable
# socket serves forwarded agents): what a broken, empty or looping
# upstream must not do to it.  The upstreams are OpenSSH's ssh-agent,
# the agent itself, and a small Python agent that answers wrongly.

SSHENV_BIN=${SSHENV_BIN:-$(dirname "$0")/../../build/sshenv}
case $SSHENV_BIN in /*) ;; *) SSHENV_BIN=$(pwd)/$SSHENV_BIN ;; esac
# shellcheck disable=SC2034 # read by shunit2
SHUNIT_COLOR=none
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

T=''
pids=''

setUp() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/sshenv-up.XXXXXX")
	chmod 0700 "$T"
	pids=''
	ssh-keygen -q -t ed25519 -N '' -C up-local -f "$T/local"
	ssh-keygen -q -t ed25519 -N '' -C up-far -f "$T/far"
}

tearDown() {
	# shellcheck disable=SC2086 # a list of pids
	[ -z "$pids" ] || kill $pids 2>/dev/null
	# shellcheck disable=SC2086
	[ -z "$pids" ] || wait $pids 2>/dev/null
	rm -rf "$T"
}

# agent NAME ARGS...: `sshenv agent -d` at $T/NAME.sock, its log in
# $T/NAME.log; waits until it answers.
agent() {
	_n=$1
	shift
	"$SSHENV_BIN" agent -d "$@" -a "$T/$_n.sock" </dev/null \
	    >"$T/$_n.log" 2>&1 &
	pids="$pids $!"
	_i=0
	while [ ! -S "$T/$_n.sock" ] && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

sa() {
	_s=$1
	shift
	SSH_AUTH_SOCK=$_s timeout -k 2 20 ssh-add "$@" </dev/null \
	    >"$T/sa.out" 2>&1
	rc=$?
	out=$(cat "$T/sa.out")
}

fp() {
	ssh-keygen -lf "$T/$1.pub" | cut -d' ' -f2
}

# A SIGN for a key no one has, with upstreams that hold nothing: one
# FAILURE, not a loop of lists.
test_sign_with_nothing_anywhere() {
	agent empty
	agent p -U "$T/empty.sock"
	sa "$T/p.sock" -T "$T/far.pub"
	assertNotEquals "ssh-add -T came back: $out" 124 "$rc"
	assertNotEquals "and failed" 0 "$rc"
	assertEquals "one list asked upstream, not a loop" 1 \
	    "$(grep -c 'request type 11' "$T/empty.log")"
}

# An upstream that says it has three keys and sends one: left out; our
# own keys are still listed, and nothing is routed to it.
test_malformed_upstream_answer() {
	cat >"$T/bad.py" <<'EOF'
import os, socket, struct, sys
path, blob = sys.argv[1], bytes.fromhex(sys.argv[2])
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(8)
while True:
    c, _ = s.accept()
    while True:
        h = c.recv(4)
        if len(h) < 4:
            break
        n = struct.unpack(">I", h)[0]
        body = b""
        while len(body) < n:
            more = c.recv(n - len(body))
            if not more:
                break
            body += more
        if body[:1] == b"\x0b":
            k = struct.pack(">I", len(blob)) + blob + struct.pack(">I", 1) + b"x"
            r = b"\x0c" + struct.pack(">I", 3) + k
        else:
            r = b"\x05"
        c.sendall(struct.pack(">I", len(r)) + r)
    c.close()
EOF
	hex=$(cut -d' ' -f2 "$T/local.pub" | base64 -d | od -An -v -tx1 |
	    tr -d ' \n')
	"$PY" "$T/bad.py" "$T/bad.sock" "$hex" </dev/null >/dev/null 2>&1 &
	pids="$pids $!"
	agent p -U "$T/bad.sock"
	sa "$T/p.sock" "$T/local"
	assertEquals "ssh-add: $out" 0 "$rc"
	sa "$T/p.sock" -l
	assertEquals "listed: $out" 0 "$rc"
	assertContains "our own key: $out" "$out" "$(fp local)"
	# The key the broken one named is ours: signed here, not there.
	sa "$T/p.sock" -T "$T/local.pub"
	assertEquals "ssh-add -T signs with our own: $out" 0 "$rc"
}

# The agent named as its own upstream (as ssh -A to this very host makes
# it): the inner connection says it is a proxy and is served from the
# agent's own keys; no connections nest.
test_self_as_upstream() {
	agent p -U "$T/p.sock"
	sa "$T/p.sock" "$T/local"
	assertEquals "ssh-add: $out" 0 "$rc"
	: >"$T/p.log.mark"
	before=$(grep -c ': accepted' "$T/p.log")
	sa "$T/p.sock" -l
	assertEquals "listed: $out" 0 "$rc"
	assertEquals "the key once: $out" 1 \
	    "$(printf '%s\n' "$out" | grep -c "$(fp local)")"
	after=$(grep -c ': accepted' "$T/p.log")
	assertEquals "two connections: ssh-add's and ours to ourselves" 2 \
	    $((after - before))
}

. /usr/bin/shunit2
