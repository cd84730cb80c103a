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
	dirs=''
	ssh-keygen -q -t ed25519 -N '' -C up-local -f "$T/local"
	ssh-keygen -q -t ed25519 -N '' -C up-far -f "$T/far"
}

tearDown() {
	# shellcheck disable=SC2086 # a list of pids
	[ -z "$pids" ] || kill $pids 2>/dev/null
	# shellcheck disable=SC2086
	[ -z "$pids" ] || wait $pids 2>/dev/null
	# shellcheck disable=SC2086 # a list of directories
	[ -z "$dirs" ] || rm -rf $dirs
	rm -rf "$T"
}

# wait_sock PATH, wait_gone PATH: until a socket is there, or gone (10 s).
wait_sock() {
	_i=0
	while [ ! -S "$1" ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

wait_gone() {
	_i=0
	while [ -e "$1" ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

# agent NAME ARGS...: `sshenv agent -d` at $T/NAME.sock, its log in
# $T/NAME.log; waits until it answers.
agent() {
	_n=$1
	shift
	"$SSHENV_BIN" agent -d "$@" -a "$T/$_n.sock" </dev/null \
	    >"$T/$_n.log" 2>&1 &
	pids="$pids $!"
	wait_sock "$T/$_n.sock"
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
	fake_agent short "$T/fake.sock" local
	agent p -U "$T/fake.sock"
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

# fake_agent MODE [SOCKET [KEY]]: a small agent in Python at SOCKET
# ($T/fake.sock), one thread a connection; it lists far.pub (or
# KEY.pub) and logs each event to
# $T/fake.log (accept, sign, closed).  MODE: short (says it lists three
# keys and sends one), stall (a SIGN waits until $T/release exists, then
# FAILURE), hangup (a SIGN closes the connection), silent (accepts and
# never answers), greeted (answers the first request, the greeting, and
# no other), twice (every answer twice, out of step), huge (a frame
# header of 2 GiB for any request).
fake_agent() {
	cat >"$T/fake.py" <<'EOF'
import os, socket, struct, sys, threading, time
path, mode, blob, log, release = sys.argv[1:6]
blob = bytes.fromhex(blob)
lock = threading.Lock()
def note(what):
    with lock:
        with open(log, "a") as f:
            f.write(what + "\n")
def frame(c, r):
    c.sendall((struct.pack(">I", len(r)) + r) * (2 if mode == "twice" else 1))
def serve(c):
    note("accept")
    seen = 0
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
        if mode == "silent" or (mode == "greeted" and seen):
            continue
        seen += 1
        if mode == "huge":
            c.sendall(struct.pack(">I", 0x7fffffff) + b"\x0c")
            continue
        if body[:1] == b"\x0b":
            frame(c, b"\x0c" + struct.pack(">I", 3 if mode == "short" else 1)
                + struct.pack(">I", len(blob)) + blob + struct.pack(">I", 3)
                + b"far")
        elif body[:1] == b"\x0d":
            note("sign")
            if mode == "hangup":
                break
            gone = False
            while not gone and not os.path.exists(release):
                c.settimeout(0.05)
                try:
                    gone = c.recv(1, socket.MSG_PEEK) == b""
                except socket.timeout:
                    pass
                c.settimeout(None)
            if gone:
                break
            frame(c, b"\x05")
        else:
            frame(c, b"\x05")
    note("closed")
    c.close()
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
	hex=$(cut -d' ' -f2 "$T/${3:-far}.pub" | base64 -d |
	    od -An -v -tx1 | tr -d ' \n')
	: >"$T/fake.log"
	"$PY" "$T/fake.py" "${2:-$T/fake.sock}" "$1" "$hex" "$T/fake.log" \
	    "$T/release" </dev/null >"$T/fake.err" 2>&1 &
	pids="$pids $!"
	wait_sock "${2:-$T/fake.sock}"
}

# until_log WHAT N: waits (at most 20 s) for the fake agent to have
# logged WHAT N times.
until_log() {
	_i=0
	while [ "$(grep -c "^$1\$" "$T/fake.log")" -lt "$2" ] &&
	    [ $_i -lt 200 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ "$(grep -c "^$1\$" "$T/fake.log")" -ge "$2" ]
}

# A signature waiting far away holds no one else up: another client of
# the same socket lists (through its own connection to the same agent)
# and adds meanwhile; the waiting one gets its answer when it comes.
test_waiting_upstream_holds_no_one_else() {
	fake_agent stall
	agent p -U "$T/fake.sock"
	SSH_AUTH_SOCK=$T/p.sock timeout -k 2 60 ssh-add -T "$T/far.pub" \
	    </dev/null >"$T/bg.out" 2>&1 &
	bg=$!
	until_log sign 1
	assertTrue "the SIGN reached the far agent" $? || return 0
	sa "$T/p.sock" -l
	assertEquals "listed meanwhile: $out" 0 "$rc"
	assertContains "the far key: $out" "$out" "$(fp far)"
	sa "$T/p.sock" "$T/local"
	assertEquals "added meanwhile: $out" 0 "$rc"
	kill -0 "$bg" 2>/dev/null
	assertTrue "the first still waits for its answer" $?
	: >"$T/release"
	wait "$bg"
	bgrc=$?
	assertNotEquals "answered (FAILURE, as the far agent said)" 124 "$bgrc"
	assertNotEquals "and it failed: $(cat "$T/bg.out")" 0 "$bgrc"
}

# A client that goes away while its signature waits far away: the
# agent closes its connection to the far agent at once (which is still
# waiting, so the close is the agent's doing).
test_client_gone_closes_its_upstream() {
	fake_agent stall
	agent p -U "$T/fake.sock"
	# (ssh-add itself, not a timeout in front of it: tearDown kills it.)
	SSH_AUTH_SOCK=$T/p.sock ssh-add -T "$T/far.pub" </dev/null \
	    >/dev/null 2>&1 &
	bg=$!
	pids="$pids $bg"
	until_log sign 1
	assertTrue "the SIGN reached the far agent" $? || return 0
	assertEquals "nothing closed yet" 0 "$(grep -c '^closed$' "$T/fake.log")"
	kill -9 "$bg"
	until_log closed 1
	assertTrue "the upstream connection closed: $(cat "$T/fake.log")" $?
	assertFalse "before its answer came" "[ -e '$T/release' ]"
}

# A far agent that hangs up on a SIGN: FAILURE for that request, at once
# (not at the 120 s deadline), and the next connection lists again.
test_upstream_hangs_up_mid_sign() {
	fake_agent hangup
	agent p -U "$T/fake.sock"
	sa "$T/p.sock" -T "$T/far.pub"
	assertNotEquals "answered, not timed out: $out" 124 "$rc"
	assertNotEquals "refused: $out" 0 "$rc"
	sa "$T/p.sock" -l
	assertEquals "a new connection lists: $out" 0 "$rc"
	assertContains "the far key again: $out" "$out" "$(fp far)"
}

# A far agent that accepts and never answers: each list is given what
# the others answered, and once one has waited on it, new connections
# leave it out for a while instead of waiting again.
test_silent_upstream_left_out() {
	fake_agent silent
	agent far
	sa "$T/far.sock" "$T/far"
	assertEquals "far agent loaded: $out" 0 "$rc"
	agent p -U "$T/fake.sock" -U "$T/far.sock"
	sa "$T/p.sock" -l
	assertEquals "listed: $out" 0 "$rc"
	assertContains "the answering agent's key: $out" "$out" "$(fp far)"
	assertEquals "the silent one was tried once" 1 \
	    "$(grep -c '^accept$' "$T/fake.log")"
	sa "$T/p.sock" -l
	assertEquals "listed again: $out" 0 "$rc"
	assertContains "the key again: $out" "$out" "$(fp far)"
	assertEquals "the silent one was left out this time" 1 \
	    "$(grep -c '^accept$' "$T/fake.log")"
	assertContains "the log says why" "$(cat "$T/p.log")" "was silent"
}

# A client that sends its requests and shuts its sending half
# (shutdown(SHUT_WR), as socat or nc -N do) gets every answer, the far
# agent's included, and then the end of the connection; one that goes
# away altogether still ends the call at once
# (test_client_gone_closes_its_upstream).
test_half_closed_client_answered() {
	fake_agent plain
	: >"$T/release"
	agent p -U "$T/fake.sock"
	hex=$(cut -d' ' -f2 "$T/far.pub" | base64 -d | od -An -v -tx1 |
	    tr -d ' \n')
	cat >"$T/half.py" <<'EOF'
import socket, struct, sys
def frame(b):
    return struct.pack(">I", len(b)) + b
blob = bytes.fromhex(sys.argv[2])
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
s.sendall(frame(b"\x0b") + frame(b"\x0d" + frame(blob) + frame(b"data") +
                                 b"\0\0\0\0"))
s.shutdown(socket.SHUT_WR)
data = b""
try:
    while True:
        more = s.recv(65536)
        if not more:
            break
        data += more
    end = "eof"
except socket.timeout:
    end = "timeout"
out = []
while len(data) >= 5:
    n = struct.unpack(">I", data[:4])[0]
    out.append(str(data[4]))
    data = data[4 + n:]
print(" ".join(out + [end]))
EOF
	got=$(timeout -k 2 30 "$PY" "$T/half.py" "$T/p.sock" "$hex")
	# 12: the list (with the far key), 5: the far agent's FAILURE for
	# the SIGN, passed on as it came; then the agent closes.
	assertEquals "both answered, then closed" "12 5 eof" "$got"
	assertEquals "the SIGN reached the far agent" 1 \
	    "$(grep -c '^sign$' "$T/fake.log")"
}

# A far agent that answers everything twice (out of step), or sends a
# frame header of 2 GiB: dropped for what it sent, not waited on till a
# deadline (which the log would call silent); our own keys listed, the
# agent still serving after.
test_out_of_step_upstreams() {
	for mode in twice huge; do
		fake_agent "$mode"
		agent "p$mode" -U "$T/fake.sock"
		sa "$T/p$mode.sock" "$T/local"
		assertEquals "$mode: ssh-add: $out" 0 "$rc"
		sa "$T/p$mode.sock" -l
		assertEquals "$mode: listed: $out" 0 "$rc"
		assertContains "$mode: our key: $out" "$out" "$(fp local)"
		assertNotContains "$mode: dropped, not waited on" \
		    "$(cat "$T/p$mode.log")" "was silent"
		sa "$T/p$mode.sock" -l
		assertEquals "$mode: and again: $out" 0 "$rc"
		kill -0 "$(echo "$pids" | awk '{ print $NF }')"
		assertTrue "$mode: the agent still runs" $?
		kill "$(echo "$pids" | awk '{ print $(NF - 1) }')" 2>/dev/null
		rm -f "$T/fake.sock"
	done
}

# A far agent that answers the greeting and nothing after: the list is
# given at its deadline, not never; the far agent is left out after.
test_greeted_then_silent_upstream() {
	fake_agent greeted
	agent p -U "$T/fake.sock"
	sa "$T/p.sock" -L
	assertNotEquals "answered, not timed out: $out" 124 "$rc"
	assertContains "the log says why" "$(cat "$T/p.log")" "was silent"
	sa "$T/p.sock" -L
	assertNotEquals "answered again: $out" 124 "$rc"
	assertEquals "left out next time: one connection to it" 1 \
	    "$(grep -c '^accept$' "$T/fake.log")"
}

# The agent stops while a list waits on a silent far agent: it exits
# cleanly (its loop closes), and the waiting client is let go.
test_stop_during_upstream_call() {
	fake_agent silent
	agent p -U "$T/fake.sock"
	ppid=$(echo "$pids" | awk '{ print $NF }')
	SSH_AUTH_SOCK=$T/p.sock timeout -k 2 20 ssh-add -l </dev/null \
	    >/dev/null 2>&1 &
	bg=$!
	until_log accept 1
	assertTrue "the far agent was reached" $? || return 0
	kill -TERM "$ppid"
	wait "$ppid"
	prc=$?
	assertEquals "the agent exits cleanly: $(cat "$T/p.log")" 0 "$prc"
	wait "$bg"
	assertNotEquals "the client is let go" 124 $?
	assertNotContains "no loop left open" "$(cat "$T/p.log")" \
	    "did not close"
}

# ssh_agent_tmp NAME KEY: OpenSSH's ssh-agent holding KEY at a socket
# named as sshd names a login's forwarded agent before OpenSSH 10.1,
# /tmp/ssh-*/agent.PID, PID a live process called sshd (a copy of sleep);
# the socket's path in $T/NAME.path, the agent's pid in $T/NAME.pid.
ssh_agent_tmp() {
	[ -x "$T/sshd" ] || cp "$(command -v sleep)" "$T/sshd"
	"$T/sshd" 600 &
	pids="$pids $!"
	_d=$(mktemp -d /tmp/ssh-sshenvtestXXXXXX)
	dirs="$dirs $_d"
	echo "$_d/agent.$!" >"$T/$1.path"
	ssh-agent -D -a "$(cat "$T/$1.path")" </dev/null >/dev/null 2>&1 &
	echo $! >"$T/$1.pid"
	pids="$pids $!"
	wait_sock "$(cat "$T/$1.path")"
	sa "$(cat "$T/$1.path")" "$T/$2"
}

# ours LIST: the fingerprints of ssh-add -l's LIST that are this test's
# keys, in order (root's other agents on the machine may be followed
# too).
ours() {
	for _l in newer far local open mine; do
		printf '%s\n' "$(fp $_l)"
	done >"$T/ours"
	printf '%s\n' "$1" | cut -d' ' -f2 | grep -Fx -f "$T/ours" |
	    tr '\n' ' ' | sed 's/ $//'
}

# -O discover-forwarded: agents whose sockets sshd would have made for
# logins that never registered are followed too, the newest first; a
# socket in a directory others may write to is not; one that goes is
# dropped.
test_discovered_sockets() {
	ssh_agent_tmp older far
	assertEquals "the older agent: $out" 0 "$rc" || return 0
	ssh-keygen -q -t ed25519 -N '' -C up-newer -f "$T/newer"
	ssh_agent_tmp newer newer
	assertEquals "the newer agent: $out" 0 "$rc" || return 0
	# An agent where anyone could have put it: never asked.
	ssh-keygen -q -t ed25519 -N '' -C up-open -f "$T/open"
	open=$(dirname "$(cat "$T/newer.path")")-open
	mkdir -m 0777 "$open"
	dirs="$dirs $open"
	osock=$open/$(basename "$(cat "$T/newer.path")")
	ssh-agent -D -a "$osock" </dev/null >/dev/null 2>&1 &
	pids="$pids $!"
	wait_sock "$osock"
	sa "$osock" "$T/open"
	assertEquals "the open agent: $out" 0 "$rc"
	# One named after a process that is not sshd (as ssh-agent names
	# its own socket after its parent): not a login's.
	ssh-keygen -q -t ed25519 -N '' -C up-mine -f "$T/mine"
	mine=$(mktemp -d /tmp/ssh-sshenvtestXXXXXX)
	dirs="$dirs $mine"
	ssh-agent -D -a "$mine/agent.$$" </dev/null >/dev/null 2>&1 &
	pids="$pids $!"
	wait_sock "$mine/agent.$$"
	sa "$mine/agent.$$" "$T/mine"
	assertEquals "the user's own agent: $out" 0 "$rc"
	agent p -O discover-forwarded
	sa "$T/p.sock" "$T/local"
	sa "$T/p.sock" -l
	assertEquals "listed: $out" 0 "$rc" || return 0
	assertEquals "newest first, then older, then ours" \
	    "$(fp newer) $(fp far) $(fp local)" "$(ours "$out")"
	assertNotContains "not the one in an open directory" "$out" \
	    "$(fp open)"
	assertNotContains "not the user's own ssh-agent" "$out" "$(fp mine)"
	kill "$(cat "$T/newer.pid")"
	wait_gone "$(cat "$T/newer.path")"
	sa "$T/p.sock" -l
	assertEquals "after the newer went: $out" "$(fp far) $(fp local)" \
	    "$(ours "$out")"
}

# A socket both named with -U and found as a login's: one connection to
# it, not two.
test_configured_and_discovered_once() {
	[ -x "$T/sshd" ] || cp "$(command -v sleep)" "$T/sshd"
	"$T/sshd" 600 &
	pids="$pids $!"
	_d=$(mktemp -d /tmp/ssh-sshenvtestXXXXXX)
	dirs="$dirs $_d"
	_s=$_d/agent.$!
	fake_agent answer "$_s"
	agent p -O discover-forwarded -U "$_s"
	sa "$T/p.sock" -l
	assertEquals "listed: $out" 0 "$rc"
	assertContains "the far key: $out" "$out" "$(fp far)"
	assertEquals "one connection to it: $(cat "$T/fake.log")" 1 \
	    "$(grep -c '^accept$' "$T/fake.log")"
}

# Without -O discover-forwarded, such sockets are left alone.
test_not_discovered_unasked() {
	ssh_agent_tmp older far
	assertEquals "the agent: $out" 0 "$rc" || return 0
	agent p
	sa "$T/p.sock" -L
	assertNotContains "not followed: $out" "$out" "$(cut -d' ' -f2 \
	    "$T/far.pub")"
}

. /usr/bin/shunit2
