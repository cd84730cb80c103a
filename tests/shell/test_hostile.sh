#!/bin/sh
# The agent (`sshenv agent -D -a SOCK`, one key loaded) against hostile
# clients, with tests/tools/agentpoke as the hostile one: another uid,
# malformed frames, a client that drips its request a byte at a time, a
# thousand idle connections, a client that never reads its answers, and
# message types nobody knows.  What must hold each time: the bad
# connection alone is closed (or refused, or slow), and an honest client
# (ssh-add -l, or a connection kept open across the attacks) gets its
# answers all along.
# Arguments: none, or -- test_name... to run some tests only.
# SSHENV_BIN, SSHENV_BUILD: the binary and build dir under test
# (tests/run.sh exports them).
#
# Every assertion is followed by '|| return 0': a test stops at its first
# failure, so that one fault costs one failure, not a cascade.

# shellcheck disable=SC2034 # read by shunit2
SHUNIT_COLOR=none

h_top=$(cd "$(dirname "$0")/../.." && pwd)
: "${SSHENV_BIN:=$h_top/build/sshenv}"
: "${SSHENV_BUILD:=$(dirname "$SSHENV_BIN")}"
case $SSHENV_BIN in /*) ;; *) SSHENV_BIN=$h_top/$SSHENV_BIN ;; esac
case $SSHENV_BUILD in /*) ;; *) SSHENV_BUILD=$h_top/$SSHENV_BUILD ;; esac

H=''		# the suite's private temp dir (0700)
PUB=''		# a dir that other uids may enter, for the uid tests
SOCK=''		# the agent under test, in $H
h_agent_pid=''	# its pid
h_bg=''		# pids of helpers started by the current test
h_fds=''	# the fds the current test holds open on fifos
h_npids=''	# pids of processes run as another uid
POKE=''		# agentpoke, in a place every uid may run it from

# ---------------------------------------------------------------- helpers

# h_alive PID: PID runs (a zombie has exited: it does not count).
h_alive() {
	case $(ps -o stat= -p "$1" 2>/dev/null) in
	'' | Z*) return 1 ;;
	esac
	return 0
}

# h_wait TENTHS CMD...: runs CMD every 0.1 s until it succeeds; 1 if it
# has not within TENTHS tenths of a second.
h_wait() {
	_hw_n=$1
	shift
	until "$@"; do
		_hw_n=$((_hw_n - 1))
		[ "$_hw_n" -gt 0 ] || return 1
		sleep 0.1
	done
	return 0
}

h_gone() {
	! h_alive "$1"
}

# h_kill PID...: SIGTERM, then SIGKILL after 5 s, each by its pid; reaps
# our own children.
h_kill() {
	for _hk_p in "$@"; do
		[ -n "$_hk_p" ] || continue
		kill -TERM "$_hk_p" 2>/dev/null
		if ! h_wait 50 h_gone "$_hk_p"; then
			kill -KILL "$_hk_p" 2>/dev/null
			h_wait 20 h_gone "$_hk_p"
		fi
		wait "$_hk_p" 2>/dev/null
	done
}

# sa ARGS...: a bounded ssh-add on $SOCK; $rc, $out (stdout and stderr).
sa() {
	SSH_AUTH_SOCK=$SOCK timeout -k 2 15 ssh-add "$@" </dev/null \
	    >"$H/sa.out" 2>&1
	rc=$?
	out=$(cat "$H/sa.out")
}

# h_lists: ssh-add -l on $SOCK answers with our key, and only it.
h_lists() {
	sa -l
	[ "$rc" -eq 0 ] && [ "$out" = "$FP_LINE" ]
}

# assert_lists WHAT: h_lists, as an assertion.
assert_lists() {
	h_lists
	assertTrue "$1: ssh-add -l must list our key (exit $rc): $out" $?
}

# poke ARGS...: a bounded agentpoke as root; its output in $out.
poke() {
	out=$(timeout -k 2 60 "$POKE" "$@" </dev/null 2>"$H/poke.err")
	rc=$?
}

# as_uid UID GID CMD...: CMD as another user, no supplementary groups.
as_uid() {
	_au_u=$1 _au_g=$2
	shift 2
	HOME=$PUB timeout -k 2 30 setpriv --reuid="$_au_u" --regid="$_au_g" \
	    --clear-groups "$@"
}

as_nobody() {
	as_uid nobody nogroup "$@"
}

# h_need_root WHY: true as root; otherwise the test skips (prints SKIP).
h_need_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	echo "SKIP: $1 needs root"
	return 1
}

# h_need_agent: setUp started the agent under test (it has failed the
# test otherwise).
h_need_agent() {
	[ -n "$h_agent_pid" ]
}

# h_hex: stdin as lower-case hex, one line.
h_hex() {
	od -An -v -tx1 | tr -d ' \n'
}

# h_str HEX: an SSH string (uint32 length, bytes) of HEX, in hex.
h_str() {
	printf '%08x%s' $((${#1} / 2)) "$1"
}

# h_frame TYPE BODYHEX: a whole agent frame, in hex.
h_frame() {
	printf '%08x%02x%s' $((${#2} / 2 + 1)) "$1" "$2"
}

# h_start_agent SOCK [LOG]: `sshenv agent -D -a SOCK` in the background,
# its pid in $h_last; waits (10 s at most) until it answers.  Room for
# well over a thousand descriptors: the agent raises its soft limit to
# the hard one, which root may raise first.
h_start_agent() {
	rm -f "$1"
	(
		# shellcheck disable=SC3045 # every shell we run under has -n
		ulimit -n 8192 2>/dev/null
		exec "$SSHENV_BIN" agent -D -a "$1"
	) </dev/null >"${2:-$H/agent.log}" 2>&1 &
	h_last=$!
	_hs_i=0
	while [ $_hs_i -lt 100 ]; do
		if [ -S "$1" ]; then
			SSH_AUTH_SOCK=$1 timeout -k 1 2 ssh-add -l \
			    >/dev/null 2>&1
			case $? in 0 | 1) return 0 ;; esac
		fi
		h_alive "$h_last" || return 1
		sleep 0.1
		_hs_i=$((_hs_i + 1))
	done
	return 1
}

# h_fifo NAME: makes $H/NAME.in, a fifo.  The caller starts its reader in
# the background (which waits in open), then opens the writing end on a
# descriptor of its own (exec 7>...), listed in h_fds for tearDown.
h_fifo() {
	rm -f "$H/$1.in"
	mkfifo "$H/$1.in"
}

# h_lines_count FILE: how many lines FILE has.
h_lines_count() {
	if [ -f "$1" ]; then
		wc -l <"$1" | tr -d ' '
	else
		echo 0
	fi
}

# h_has_lines FILE N: FILE has at least N lines.
h_has_lines() {
	[ "$(h_lines_count "$1")" -ge "$2" ]
}

# h_grep FILE PATTERN: FILE has a line matching PATTERN.
h_grep() {
	grep -q -- "$2" "$1" 2>/dev/null
}

# h_agent_fds PID: how many sockets PID has open.
h_agent_fds() {
	find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l | tr -d ' '
}

# h_agent_holds N / h_agent_holds_fewer N: the agent under test has at
# least N / fewer than N sockets open.
h_agent_holds() {
	[ "$(h_agent_fds "$h_agent_pid")" -ge "$1" ]
}

h_agent_holds_fewer() {
	[ "$(h_agent_fds "$h_agent_pid")" -lt "$1" ]
}

# ------------------------------------------------------------- fixtures

oneTimeSetUp() {
	H=$(mktemp -d /tmp/sshenv-h.XXXXXX) || return 1
	PUB=$(mktemp -d /tmp/sshenv-hp.XXXXXX) || return 1
	chmod 0755 "$PUB"
	mkdir "$H/keys" "$PUB/bin"
	ssh-keygen -q -t ed25519 -N '' -C hostile-key -f "$H/keys/id" \
	    </dev/null || return 1
	FP_LINE=$(ssh-keygen -lf "$H/keys/id.pub")
	BLOB=$(cut -d' ' -f2 "$H/keys/id.pub" | base64 -d | h_hex)
	# A sign request for our key over "hello", flags 0.
	SIGN_REQ=$(h_frame 13 "$(h_str "$BLOB")$(h_str 68656c6c6f)00000000")
	LIST_REQ=000000010b
	# The answer to it: type, count, key blob, comment "hostile-key".
	LIST_LEN=$((1 + 4 + 4 + ${#BLOB} / 2 + 4 + 11))
	# The tools run as other uids too: copies they may execute.
	cp "$SSHENV_BUILD/tools/agentpoke" "$PUB/bin/agentpoke" || return 1
	chmod 0755 "$PUB/bin/agentpoke"
	POKE=$PUB/bin/agentpoke
	return 0
}

oneTimeTearDown() {
	[ -n "$H" ] || return 0	# shunit2 calls it twice
	# Last check: nothing that names our dirs may still run.
	left=$(pgrep -f -- "$H/|$PUB/" | tr '\n' ' ')
	assertEquals 'processes left behind' '' "$left"
	# shellcheck disable=SC2086 # a list of pids
	[ -z "$left" ] || kill -KILL $left 2>/dev/null
	rm -rf "$H" "$PUB"
	H=''
}

setUp() {
	h_bg=''
	h_fds=''
	h_npids=''
	h_agent_pid=''
	SOCK=$H/agent.sock
	if ! h_start_agent "$SOCK"; then
		fail "the agent did not answer on $SOCK: $(tail -n 5 \
		    "$H/agent.log")"
		return 0
	fi
	h_agent_pid=$h_last
	sa "$H/keys/id"
	assertEquals "ssh-add of the test key: $out" 0 "$rc"
}

tearDown() {
	for _td_fd in $h_fds; do
		eval "exec $_td_fd>&-"
	done
	# shellcheck disable=SC2086 # lists of pids
	h_kill $h_bg $h_npids
	if [ -n "$h_agent_pid" ]; then
		h_kill "$h_agent_pid"
		if [ "${__shunit_testSuccess:-0}" != 0 ]; then
			echo "--- the agent's log:"
			tail -n 30 "$H/agent.log"
		fi
	fi
	rm -rf "$SOCK" "$H"/*.in "$H"/*.out "$PUB"/*.sock "$PUB/nobody"
	return 0
}

# ------------------------------------------------------------------ tests

# (a) Another uid may not use our agent.  The socket is 0600 in a 0700
# dir, which already keeps others out; to test the agent's own check
# (SO_PEERCRED) alone, a second agent listens in a dir everyone may
# enter, on a socket chmod 0777.
test_other_uid_refused_by_agent() {
	h_need_agent || return 0
	h_need_root 'running a client as nobody' || return 0
	pubsock=$PUB/agent.sock
	h_start_agent "$pubsock" "$H/agent2.log"
	assertTrue "a second agent on $pubsock: $(tail -n 5 \
	    "$H/agent2.log")" $? || return 0
	h_bg="$h_bg $h_last"
	chmod 0777 "$pubsock"
	SSH_AUTH_SOCK=$pubsock timeout -k 2 15 ssh-add "$H/keys/id" \
	    </dev/null >/dev/null 2>&1
	assertEquals 'ssh-add to the second agent' 0 $? || return 0
	cp "$H/keys/id.pub" "$PUB/id.pub"
	chmod 0644 "$PUB/id.pub"

	# Controls: root reaches it, and the requests themselves are good.
	poke "$pubsock" hex "$LIST_REQ" "$SIGN_REQ"
	assertEquals 'root lists and signs through the open socket' \
	    "reply 12 $LIST_LEN
reply 14" "$(printf '%s\n' "$out" | sed 's/^\(reply 14\) .*/\1/')" ||
		return 0

	out=$(as_nobody "$POKE" "$pubsock" hex "$LIST_REQ" 2>&1)
	assertEquals "nobody's REQUEST_IDENTITIES: closed unanswered" \
	    closed "$out" || return 0
	out=$(as_nobody "$POKE" "$pubsock" hex "$SIGN_REQ" 2>&1)
	assertEquals "nobody's SIGN_REQUEST: closed unanswered" \
	    closed "$out" || return 0
	out=$(as_nobody env SSH_AUTH_SOCK="$pubsock" ssh-add -l 2>&1)
	rc=$?
	assertNotEquals "ssh-add -l as nobody fails: $out" 0 "$rc" ||
		return 0
	assertNotContains 'ssh-add -l as nobody shows no key' "$out" \
	    "$(echo "$FP_LINE" | cut -d' ' -f2)" || return 0
	out=$(cd "$PUB" && as_nobody env SSH_AUTH_SOCK="$pubsock" \
	    ssh-keygen -Y sign -n file -f "$PUB/id.pub" </dev/null 2>&1)
	assertNotEquals "ssh-keygen -Y sign as nobody fails: $out" 0 $? ||
		return 0
	assertNotContains 'no signature for nobody' "$out" \
	    'BEGIN SSH SIGNATURE' || return 0

	# The private socket cannot even be reached.
	out=$(as_nobody "$POKE" "$SOCK" hex "$LIST_REQ" 2>&1)
	assertEquals "nobody cannot connect to $SOCK: $out" 3 $? || return 0

	# Both agents still serve root, and the refusals were logged.
	assert_lists 'root after the refusals' || return 0
	poke "$pubsock" hex "$LIST_REQ"
	assertContains 'the second agent still answers root' "$out" \
	    'reply 12 ' || return 0
	assertContains 'the agent logged the refusal' \
	    "$(cat "$H/agent2.log")" 'refused a peer of another uid'
}

# (a) The other way round: an agent run by nobody serves root and nobody,
# and refuses a third uid (1, "daemon").
test_agent_of_another_user_serves_only_it_and_root() {
	h_need_agent || return 0
	h_need_root 'running processes as other users' || return 0
	mkdir -p "$PUB/nobody"
	chown nobody:nogroup "$PUB/nobody"
	nsock=$PUB/nobody/agent.sock
	# Not through as_nobody: $! must be the agent itself.
	HOME=$PUB setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$SSHENV_BIN" agent -D -a "$nsock" </dev/null >"$H/agent3.log" \
	    2>&1 &
	h_npids="$h_npids $!"
	h_wait 100 test -S "$nsock"
	assertTrue "nobody's agent listens: $(tail -n 5 "$H/agent3.log")" \
	    "[ -S '$nsock' ]" || return 0
	chmod 0777 "$nsock"
	poke "$nsock" hex "$LIST_REQ"
	assertEquals 'root is served by the agent of nobody' 'reply 12 5' \
	    "$out" || return 0
	out=$(as_nobody "$POKE" "$nsock" hex "$LIST_REQ" 2>&1)
	assertEquals 'nobody is served by its own agent' 'reply 12 5' \
	    "$out" || return 0
	out=$(as_uid 1 1 "$POKE" "$nsock" hex "$LIST_REQ" 2>&1)
	assertEquals 'uid 1 is refused by the agent of nobody' closed \
	    "$out" || return 0
}

# (a) The supervisor's control socket: `sshenv status` as nobody fails,
# and so does a well-formed STATUS request sent by nobody through a link
# to the socket that nobody may reach.
test_other_uid_refused_by_supervisor() {
	h_need_agent || return 0
	h_need_root 'running a client as nobody' || return 0
	run=$H/run
	mkdir -p "$run" "$H/home" "$H/cfg/sshenv"
	chmod 0700 "$run"
	# No session ever registers: linger keeps it up for the test.
	printf '[session]\nlinger = 600\n' >"$H/cfg/sshenv/config"
	HOME=$H/home XDG_RUNTIME_DIR=$run XDG_CONFIG_HOME=$H/cfg \
	    "$SSHENV_BIN" daemon -D </dev/null >"$H/daemon.log" 2>&1 &
	h_bg="$h_bg $!"
	ctl=$run/sshenv/control.sock
	h_wait 100 test -S "$ctl"
	assertTrue "the supervisor listens: $(tail -n 5 "$H/daemon.log")" \
	    "[ -S '$ctl' ]" || return 0

	out=$(HOME=$H/home XDG_RUNTIME_DIR=$run XDG_CONFIG_HOME=$H/cfg \
	    timeout -k 2 15 "$SSHENV_BIN" status 2>&1)
	assertEquals "sshenv status as root: $out" 0 $? || return 0
	out=$(as_nobody env XDG_RUNTIME_DIR="$run" "$SSHENV_BIN" status 2>&1)
	rc=$?
	assertNotEquals "sshenv status as nobody fails: $out" 0 "$rc" ||
		return 0
	assertNotContains "sshenv status as nobody learns nothing" "$out" \
	    'supervisor pid' || return 0

	# A hard link puts the same listening socket where nobody can
	# connect (0666 for the test, on the inode: both names).
	if ! ln "$ctl" "$PUB/ctl.sock"; then
		fail "cannot link $ctl into $PUB"
		return 0
	fi
	chmod 0666 "$ctl"
	status_req=000000050400000006	# STATUS, protocol version 6
	poke "$PUB/ctl.sock" hex "$status_req"
	assertContains 'root gets a status reply through the link' "$out" \
	    'reply 66 ' || return 0
	out=$(as_nobody "$POKE" "$PUB/ctl.sock" hex "$status_req" 2>&1)
	chmod 0600 "$ctl"
	assertEquals 'nobody is closed unanswered by the supervisor' \
	    closed "$out" || return 0
	out=$(HOME=$H/home XDG_RUNTIME_DIR=$run XDG_CONFIG_HOME=$H/cfg \
	    timeout -k 2 15 "$SSHENV_BIN" stop 2>&1)
	assertEquals "sshenv stop: $out" 0 $? || return 0
}

# (b) A malformed request gets FAILURE and its connection goes on, as
# with ssh-agent; a frame that breaks the framing (empty, or announcing
# more than 256 KiB) closes its own connection only.  A connection opened
# first stays open through all of them and keeps being answered, and
# ssh-add -l (a new connection) is answered after each.
test_malformed_requests_fail_and_bad_frames_close() {
	h_need_agent || return 0
	h_fifo keep
	"$POKE" -w 10 "$SOCK" lines <"$H/keep.in" >"$H/keep.out" 2>&1 &
	h_bg="$h_bg $!"
	exec 7>"$H/keep.in"
	h_fds="$h_fds 7"
	n=0
	junk=deadbeef$(head -c 60 /dev/urandom | h_hex)
	for attack in 'garbage 100' 'garbage 4000 17' 'garbage 300 25' \
	    'garbage 64 18' 'garbage 64 27' truncated trailing \
	    "hex $junk" empty-frame oversized; do
		case $attack in
		hex*|empty-frame|oversized) want=closed ;;
		*) want='reply 5 1' ;;
		esac
		# shellcheck disable=SC2086 # the mode and its arguments
		poke -w 10 "$SOCK" $attack
		assertEquals "$attack: $want ($(cat "$H/poke.err"))" "$want" \
		    "$out" || return 0
		assert_lists "after $attack" || return 0
		n=$((n + 1))
		echo "$LIST_REQ" >&7
		h_wait 100 h_has_lines "$H/keep.out" $n
		assertEquals "after $attack: the kept connection is answered" \
		    "reply 12 $LIST_LEN" "$(sed -n "${n}p" "$H/keep.out")" ||
			return 0
	done
	# A malformed request and then a good one on the same connection:
	# FAILURE, then the answer (the connection was not dropped).
	poke -w 10 "$SOCK" hex "$(h_frame 13 0000)" "$LIST_REQ"
	assertEquals "FAILURE, then the listing on the same connection" \
	    "reply 5 1
reply 12 $LIST_LEN" "$out" || return 0
	# The cap is on the frame's length alone: exactly 256 KiB is read
	# and answered (FAILURE: the type is unknown).
	poke -w 20 "$SOCK" maxframe
	assertEquals 'a frame of exactly 256 KiB is answered' 'reply 5 1' \
	    "$out" || return 0
	assertTrue 'the agent is still running' "h_alive $h_agent_pid"
}

# (c) A client that sends its request a byte at a time (200 ms apart)
# holds up nobody, and is answered once its request is whole.  agentpoke
# stops before the last byte until we say so: ssh-add is answered while
# that request is certainly incomplete.
test_slow_drip_blocks_nobody() {
	h_need_agent || return 0
	h_fifo drip
	"$POKE" -w 10 "$SOCK" drip 200 <"$H/drip.in" >"$H/drip.out" 2>&1 &
	drip_pid=$!
	h_bg="$h_bg $drip_pid"
	exec 7>"$H/drip.in"
	h_fds="$h_fds 7"
	h_wait 100 h_grep "$H/drip.out" '^partial$'
	assertTrue "the drip reached its last byte: $(cat "$H/drip.out")" \
	    $? || return 0
	assert_lists 'during the drip' || return 0
	poke "$SOCK" hex "$LIST_REQ"
	assertContains 'another connection is answered during the drip' \
	    "$out" 'reply 12 ' || return 0
	echo go >&7
	h_wait 100 h_gone "$drip_pid"
	assertTrue 'the drip client finished' "h_gone $drip_pid" || return 0
	assertEquals 'the drip client got its answer' 'partial
reply 12' "$(sed 's/^\(reply 12\) .*/\1/' "$H/drip.out")" || return 0
}

# (d) Half-sent frames on 400 connections (200 KiB of a 256 KiB frame
# each, 80 MB in all): the agent holds at most its 64 MiB budget (past
# the first 16 KiB of each), closes
# the connections past it, and answers ssh-add meanwhile.
test_half_frames_bounded_in_memory() {
	h_need_agent || return 0
	rm -f "$H/half.done"
	/usr/bin/python3 - "$SOCK" "$H/half.done" >"$H/half.out" 2>&1 <<'EOF' &
import os, socket, struct, sys, time
conns, closed = [], set()
chunk = b"\0" * (200 * 1024)
for i in range(400):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.setblocking(False)
    try:
        s.send(struct.pack(">I", 256 * 1024) + b"\x0d")
        sent = 0
        deadline = time.time() + 5
        while sent < len(chunk) and time.time() < deadline:
            try:
                sent += s.send(chunk[sent:])
            except BlockingIOError:
                time.sleep(0.001)
    except OSError:
        closed.add(i)
    conns.append(s)
time.sleep(1)
for i, s in enumerate(conns):
    try:
        if s.recv(1) == b"":
            closed.add(i)
    except BlockingIOError:
        pass
    except OSError:
        closed.add(i)
print("closed", len(closed), flush=True)
# Held (the rest stay open) until the test has looked.
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
EOF
	hold=$!
	h_bg="$h_bg $hold"
	h_wait 600 grep -q '^closed' "$H/half.out"
	assertTrue "the client ran: $(cat "$H/half.out")" \
	    "grep -q '^closed' '$H/half.out'" || return 0
	closed=$(sed -n 's/^closed //p' "$H/half.out")
	assertTrue "connections past the budget closed ($closed)" \
	    "[ '$closed' -gt 0 ]"
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$h_agent_pid/status")
	# Under AddressSanitizer freed buffers sit in its quarantine (256 MB)
	# and count in RSS: the figure means something only without it.
	case $SSHENV_BUILD in
	*-san*) echo "(VmRSS $rss kB under ASan: not checked)" ;;
	*) assertTrue "the agent holds at most its budget and change \
(VmRSS $rss kB)" "[ '$rss' -lt $((100 * 1024)) ]" ;;
	esac
	assertTrue "the holder still holds them" "kill -0 $hold"
	assert_lists "with 400 half-sent frames held" || return 0
	touch "$H/half.done"
	return 0
}

# (d) A thousand connections held open at once: the agent keeps them
# all (its descriptors say so), answers ssh-add meanwhile, and then
# answers a REQUEST_IDENTITIES on every one of them.
test_thousand_idle_connections() {
	h_need_agent || return 0
	# shellcheck disable=SC3045 # every shell we run under has -H
	hard=$(ulimit -Hn)
	if [ "$hard" != unlimited ] && [ "$hard" -lt 1100 ] &&
	    [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: 1000 connections need more descriptors than the \
hard limit ($hard) allows a non-root user"
		return 0
	fi
	h_fifo hold
	(
		# shellcheck disable=SC3045 # every shell we run under has -n
		ulimit -n 4096 2>/dev/null
		exec "$POKE" -w 60 "$SOCK" hold 1000
	) <"$H/hold.in" >"$H/hold.out" 2>&1 &
	hold_pid=$!
	h_bg="$h_bg $hold_pid"
	exec 7>"$H/hold.in"
	h_fds="$h_fds 7"
	h_wait 600 h_grep "$H/hold.out" '^open 1000$'
	assertTrue "1000 connections open: $(cat "$H/hold.out")" $? ||
		return 0
	# Accepted by the agent, not just queued in the backlog.
	h_wait 300 h_agent_holds 1000
	assertTrue "the agent holds them: $(h_agent_fds "$h_agent_pid") \
sockets" $? || return 0
	assert_lists 'with 1000 connections held' || return 0
	exec 7>&-
	h_fds=''
	h_wait 900 h_gone "$hold_pid"
	assertTrue 'the holder finished' "h_gone $hold_pid" || return 0
	assertEquals 'every held connection was answered' \
	    'answered 1000 of 1000' "$(sed 1d "$H/hold.out")" ||
		return 0
	assert_lists 'after the 1000 closed' || return 0
	h_wait 100 h_agent_holds_fewer 10
	assertTrue "the agent closed them: $(h_agent_fds "$h_agent_pid") \
sockets left" $? || return 0
}

# (e) A client that piles up requests and never reads the answers: the
# agent stops reading it (it answers in order, one at a time), and
# everyone else, signing included, goes on being served.
test_client_that_never_reads() {
	h_need_agent || return 0
	h_fifo noread
	"$POKE" "$SOCK" noread <"$H/noread.in" >"$H/noread.out" 2>&1 &
	nr_pid=$!
	h_bg="$h_bg $nr_pid"
	exec 7>"$H/noread.in"
	h_fds="$h_fds 7"
	h_wait 400 h_grep "$H/noread.out" '^stuffed '
	assertTrue "the client stuffed its requests: \
$(cat "$H/noread.out")" $? || return 0
	assert_lists 'beside a client that never reads' || return 0
	poke "$SOCK" hex "$SIGN_REQ"
	assertContains 'a signature beside a client that never reads' \
	    "$out" 'reply 14 ' || return 0
	# A second one: still nobody waits.
	"$POKE" "$SOCK" noread <"$H/noread.in" >"$H/noread2.out" 2>&1 7>&- &
	h_bg="$h_bg $!"
	h_wait 400 h_grep "$H/noread2.out" '^stuffed '
	assertTrue "a second stuffing client: $(cat "$H/noread2.out")" $? ||
		return 0
	assert_lists 'beside two clients that never read' || return 0
	exec 7>&-
	h_fds=''
	h_wait 100 h_gone "$nr_pid"
	assertTrue 'the client went away' "h_gone $nr_pid" || return 0
	assert_lists 'after they left' || return 0
	assertTrue 'the agent is still running' "h_alive $h_agent_pid"
}

# (f) Message types the agent does not know (some of them from protocol
# 1, smartcards, or answers sent as requests) get FAILURE, and the same
# connection goes on being served.
test_unknown_types_get_failure() {
	h_need_agent || return 0
	ext=$(h_frame 27 "$(h_str "$(printf 'nope@example.com' | h_hex)")")
	args=''
	want=''
	for t in 0 1 2 9 12 14 20 21 26 99 255; do
		args="$args $(h_frame "$t" '') $LIST_REQ"
		want="$want reply-5-1 reply-12"
	done
	args="$args $(h_frame 99 0000000000000000) $LIST_REQ $ext $LIST_REQ"
	want="$want reply-5-1 reply-12 reply-5-1 reply-12"
	# shellcheck disable=SC2086 # a list of hex frames
	poke "$SOCK" hex $args
	got=$(printf '%s\n' "$out" | sed 's/^reply 12 .*/reply 12/' |
	    tr ' ' '-' | tr '\n' ' ')
	assertEquals 'FAILURE for each unknown type, answers in between' \
	    "${want# } " "$got" || return 0
	assert_lists 'after the unknown types' || return 0
}

# (g) A client that adds keys until the agent is full: the agent refuses
# the 1025th with FAILURE and says why in its log, keeps every key it
# has, still signs with the user's, and takes the user's new key once
# one is removed.
test_keys_bounded() {
	h_need_agent || return 0
	poke "$SOCK" flood 1024
	assertEquals "the flood: $(cat "$H/poke.err")" \
	    "added 1023 refused 1" "$out" || return 0
	assertContains "the log says why: $(tail -n 3 "$H/agent.log")" \
	    "$(cat "$H/agent.log")" "the agent is full (1024 keys" || return 0
	sa -l
	assertEquals "all kept" 1024 "$(printf '%s\n' "$out" | wc -l)"
	assertEquals "ours among them" 1 \
	    "$(printf '%s\n' "$out" | grep -cxF "$FP_LINE")" || return 0
	poke "$SOCK" hex "$SIGN_REQ"
	assertEquals "still signs with our key" "reply 14" \
	    "$(printf '%s\n' "$out" | cut -d' ' -f1-2)" || return 0
	ssh-keygen -q -t ed25519 -N '' -C new-key -f "$H/keys/new" \
	    </dev/null
	sa "$H/keys/new"
	assertNotEquals "a new key while full: $out" 0 "$rc" || return 0
	sa -d "$H/keys/id.pub"
	assertEquals "ssh-add -d: $out" 0 "$rc"
	sa "$H/keys/new"
	assertEquals "room again after a removal: $out" 0 "$rc"
	rm -f "$H/keys/new" "$H/keys/new.pub"
}

# shellcheck disable=SC1091 # shunit2 is not ours to check
if [ -r /usr/bin/shunit2 ]; then
	. /usr/bin/shunit2
else
	. /usr/share/shunit2/shunit2
fi
