#!/bin/sh
# Socket activation as systemd does it, with systemd-socket-activate
# standing in for the user manager: it listens on the sockets of
# contrib/systemd/sshenv.socket and execs the command (in place: the pid
# it had becomes the activated process) on the first connection, with
# LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES set.
#
#  - `sshenv agent -D` alone: nothing runs until a client connects; the
#    first ssh-add starts it and gets its answer; keys can be added and
#    listed; it serves the inherited socket, prints no snippet and leaves
#    the socket file to the service manager.
#  - `sshenv daemon -D` with both sockets (names control:agent, as the
#    socket unit gives them): the first `sshenv init` starts it, it starts
#    the agent on the inherited agent socket, and status names the
#    activated process as the supervisor.  Being handed its control
#    socket puts it in systemd mode, NOTIFY_SOCKET or not: after the last
#    session and the linger time it stops only the agent and stays, and
#    the next login gets a new agent on the same socket (sshenv(1),
#    SYSTEMD).  With NOTIFY_SOCKET it reports READY=1 (Type=notify).
#
# systemd-socket-activate passes on only a few variables: HOME,
# XDG_RUNTIME_DIR, XDG_CONFIG_HOME and NOTIFY_SOCKET are handed over with
# -E, as the user manager would have them.
# Arguments: none, or -- test_name... to run some tests only.

# shellcheck disable=SC2034 # read by shunit2
SHUNIT_COLOR=none

top=$(cd "$(dirname "$0")/../.." && pwd)
: "${SSHENV_BIN:=build/sshenv}"
case $SSHENV_BIN in
/*) ;;
*) SSHENV_BIN=$top/$SSHENV_BIN ;;
esac
# shellcheck source=tests/shell/bins.inc
. "$top/tests/shell/bins.inc"
T=''
sa_pid=''
sids=''
# The PATH to extend, taken at the first setUp: shunit2 puts its own
# directory (stand-ins for oneTimeTearDown and the like) on PATH after
# this file is read.
path0=''

setUp() {
	sa_pid='' sids=''
	if ! command -v systemd-socket-activate >/dev/null 2>&1; then
		fail "systemd-socket-activate missing: scripts/deps.sh test"
		return 1
	fi
	# /tmp, not $TMPDIR: socket paths must fit in sun_path.
	T=$(mktemp -d /tmp/sshenv-sd.XXXXXX) || return 1
	[ -n "$path0" ] || path0=$PATH
	mkdir "$T/bin" "$T/home" "$T/run" "$T/cfg" "$T/cfg/sshenv"
	chmod 0700 "$T/run"
	# Copies: the helpers run under their full path, so "^$T/bin/"
	# finds this test's processes and no others.
	sshenv_copy "$T/bin" || return 1
	export HOME="$T/home" XDG_RUNTIME_DIR="$T/run" \
	    XDG_CONFIG_HOME="$T/cfg" PATH="$T/bin:$path0" SHELL=/bin/sh
	unset SSH_AUTH_SOCK SSH_AGENT_PID SSH_CONNECTION SSH_CLIENT SSH_TTY \
	    SSH_ASKPASS NOTIFY_SOCKET LISTEN_PID LISTEN_FDS LISTEN_FDNAMES
	RUNDIR=$T/run/sshenv
	CTL=$RUNDIR/control.sock
	SOCK=$RUNDIR/agent.sock
	printf '[session]\nlinger = 1\n' >"$XDG_CONFIG_HOME/sshenv/config"
}

tearDown() {
	[ -n "$T" ] && [ -d "$T" ] || return 0
	for _s in $sids; do
		pkill -KILL -s "$_s" 2>/dev/null
	done
	[ -n "$sa_pid" ] && kill -TERM "$sa_pid" 2>/dev/null
	if ! wait_for 5 none_left; then
		echo "tearDown: killing what is left: $(pids)" >&2
		for _p in $(pids) $sa_pid; do
			kill -KILL "$_p" 2>/dev/null
		done
		wait_for 2 none_left
	fi
	[ -n "$sa_pid" ] && wait "$sa_pid" 2>/dev/null
	# The activated processes log to $T/sa.err, and so would a sanitizer
	# build about any fault of theirs.
	if grep -q 'Sanitizer\|runtime error:' "$T/sa.err" 2>/dev/null; then
		fail "sanitizer report: $(cat "$T/sa.err")"
	fi
	rm -rf "$T"
	T=''
}

# ---------------------------------------------------------------- helpers

# pids [WHAT]: this test's "sshenv WHAT" processes, on one line.
pids() {
	pgrep -f "$(sshenv_re "$T/bin" "${1:-}")" | tr '\n' ' ' | sed 's/ $//'
}

# The activator and everything activated from it, by their command lines
# (the activator's names $T, the activated ones start with $T/bin/).
none_left() {
	! pgrep -f "$(sshenv_re "$T/bin" "")" >/dev/null && ! alive "$sa_pid"
}

# alive PID: the process exists and is no zombie.
alive() {
	[ -n "$1" ] && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ] \
	    && kill -0 "$1" 2>/dev/null
}

gone() {
	! alive "$1"
}

exists() {
	[ -e "$1" ]
}

# activate CMD...: systemd-socket-activate with the given -l/--fdname/-E
# options and command, in the background, output in $T/sa.out and
# $T/sa.err; its pid in $sa_pid.
activate() {
	systemd-socket-activate "$@" >"$T/sa.out" 2>"$T/sa.err" </dev/null &
	sa_pid=$!
}

# activate_supervisor [-E NAME...]: the two sockets of sshenv.socket in
# the runtime directory (0700, as DirectoryMode= makes it), the
# supervisor as the command; returns once both sockets listen.
activate_supervisor() {
	mkdir -m 0700 "$RUNDIR"
	activate -l "$CTL" -l "$SOCK" --fdname=control:agent \
	    -E HOME -E XDG_RUNTIME_DIR -E XDG_CONFIG_HOME "$@" \
	    "$T/bin/sshenv" daemon -D
	if ! wait_for 10 exists "$SOCK" || ! wait_for 10 exists "$CTL"; then
		fail "systemd-socket-activate did not listen: $(cat "$T/sa.err")"
		return 1
	fi
}

# cmd_of PID: the command line of PID, spaces between the words.
cmd_of() {
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | sed 's/ $//'
}

# activated: the activator has exec'd its command.
activated() {
	case $(cmd_of "$sa_pid") in
	"$T/bin/sshenv"*) return 0 ;;
	esac
	return 1
}

# sa ARGS...: a bounded ssh-add against $1's socket ($SOCK unless
# AGENT_SOCK is set); status in $rc, output in $out.
sa() {
	SSH_AUTH_SOCK=${AGENT_SOCK:-$SOCK} timeout -k 2 15 ssh-add "$@" \
	    </dev/null >"$T/sa-add.out" 2>&1
	rc=$?
	out=$(cat "$T/sa-add.out")
}

# answers: ssh-add -l gets an answer: 0 (keys) or 1 (none); 2 is none.
answers() {
	sa -l
	[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]
}

# key NAME: an ed25519 key $T/NAME without passphrase; fingerprint in $fp.
key() {
	ssh-keygen -q -t ed25519 -N '' -C "$1@sshenv-test" -f "$T/$1" \
	    </dev/null >/dev/null
	fp=$(ssh-keygen -lf "$T/$1.pub" | cut -d' ' -f2)
}

# login NAME: a login (leader of a new session) that runs `sshenv init
# -s` and then stays until killed; returns once init has finished, with
# its status in $rc and the leader's pid (its session id) in $sid.
login() {
	sid=''
	# shellcheck disable=SC2016 # expanded by the login's shell
	setsid sh -c 'echo $$ >"$0.sid.tmp" && mv "$0.sid.tmp" "$0.sid"
sshenv init -s >"$0.env" 2>"$0.err"
echo $? >"$0.rc"
exec sleep 300' "$T/$1" </dev/null >/dev/null 2>&1 &
	if ! wait_for 10 test -s "$T/$1.sid"; then
		fail "login $1 did not start"
		return 1
	fi
	read -r sid <"$T/$1.sid"
	sids="$sids $sid"
	if ! wait_for 30 test -s "$T/$1.rc"; then
		fail "login $1: init did not finish"
		return 1
	fi
	rc=$(cat "$T/$1.rc")
}

# logout_by_kill SID: the session ends as a dropped connection ends it.
logout_by_kill() {
	pkill -KILL -s "$1" 2>/dev/null
	wait_for 5 gone "$1"
}

# var FILE NAME: NAME's value in an `sshenv init -s` snippet.
var() {
	sed -n "s/^$2=\\([^;]*\\); export $2;\$/\\1/p" "$1"
}

# status_json [-F FILE]: `sshenv status --json` into $T/status.json,
# status in $strc; st KEY: one plain member (a number, true/false, a
# quoted string, or the items of a list).
status_json() {
	timeout -k 2 20 sshenv status --json "$@" >"$T/status.json" \
	    2>"$T/status.err"
	strc=$?
}

st() {
	sed -n "s/.*\"$1\": \\(\\[[^]]*\\]\\|[^,}]*\\).*/\\1/p" \
	    "$T/status.json" | tr -d '[],'
}

agent_down() {
	[ -z "$(pids agent)" ]
}

# ------------------------------------------------------------------ tests

test_agent_starts_on_first_connection() {
	activate -l "$T/agent.sock" "$T/bin/sshenv" agent -D
	if ! wait_for 10 exists "$T/agent.sock"; then
		fail "no socket: $(cat "$T/sa.err")"
		return 0
	fi
	# systemd-socket-activate execs only on a connection: nothing of
	# ours may run yet.
	assertEquals "an agent runs before any client came" "" "$(pids agent)"
	assertFalse "activated before any client came" activated

	AGENT_SOCK=$T/agent.sock sa -l
	assertEquals "first ssh-add -l (1: no identities): $out" 1 "$rc"
	assertContains "the agent answered" "$out" "no identities"
	assertTrue "the activator became the agent: $(cmd_of "$sa_pid")" \
	    activated
	assertEquals "one agent, the activated process" "$sa_pid" \
	    "$(pids agent)"

	key k1
	AGENT_SOCK=$T/agent.sock sa "$T/k1"
	assertEquals "ssh-add k1: $out" 0 "$rc"
	AGENT_SOCK=$T/agent.sock sa -l
	assertEquals "ssh-add -l: $out" 0 "$rc"
	assertContains "k1 listed" "$out" "$fp"
	AGENT_SOCK=$T/agent.sock sa -d "$T/k1.pub"
	assertEquals "ssh-add -d k1: $out" 0 "$rc"
	AGENT_SOCK=$T/agent.sock sa -l
	assertEquals "ssh-add -l after -d: $out" 1 "$rc"

	# Serving an inherited socket: no snippet, and the socket file
	# belongs to the service manager even after the agent is gone.
	assertEquals "stdout of the activated agent" "" "$(cat "$T/sa.out")"
	kill -TERM "$sa_pid"
	assertTrue "the agent did not stop on SIGTERM" \
	    "wait_for 5 gone $sa_pid"
	wait "$sa_pid" 2>/dev/null
	assertTrue "socket file removed by the agent" \
	    "[ -S '$T/agent.sock' ]"
}

test_agent_activated_by_name() {
	# Named as sshenv.socket names it, and second: the name wins over
	# the position.
	activate -l "$T/other.sock" -l "$T/agent.sock" --fdname=other:agent \
	    "$T/bin/sshenv" agent -D
	if ! wait_for 10 exists "$T/agent.sock"; then
		fail "no socket: $(cat "$T/sa.err")"
		return 0
	fi
	AGENT_SOCK=$T/agent.sock sa -l
	assertEquals "ssh-add -l on the socket named agent: $out" 1 "$rc"
	assertEquals "the activated process is the agent" "$sa_pid" \
	    "$(pids agent)"
}

test_supervisor_starts_on_first_init() {
	activate_supervisor || return 0
	assertEquals "sshenv runs before any client came" "" "$(pids)"

	login a || return 0
	assertEquals "init exit status: $(cat "$T/a.err")" 0 "$rc"
	assertTrue "the activator became the supervisor: $(cmd_of "$sa_pid")" \
	    activated
	assertEquals "one supervisor, the activated process" "$sa_pid" \
	    "$(pids daemon)"
	apid=$(pids agent)
	assertNotEquals "no agent started" "" "$apid"
	assertEquals "the agent is the supervisor's child" "$sa_pid" \
	    "$(ps -o ppid= -p "${apid:-0}" | tr -d ' ')"
	assertEquals "SSH_AUTH_SOCK: the inherited socket" "$SOCK" \
	    "$(var "$T/a.env" SSH_AUTH_SOCK)"
	assertEquals "SSH_AGENT_PID" "$apid" "$(var "$T/a.env" SSH_AGENT_PID)"

	assertTrue "ssh-add -l did not answer" answers
	key k1
	sa "$T/k1"
	assertEquals "ssh-add k1: $out" 0 "$rc"
	sa -l
	assertContains "k1 listed" "$out" "$fp"

	status_json
	assertEquals "status --json: $(cat "$T/status.err")" 0 "$strc"
	assertEquals "supervisor_pid" "$sa_pid" "$(st supervisor_pid)"
	assertEquals "agent_pid" "$apid" "$(st agent_pid)"
	assertEquals "socket" "\"$SOCK\"" "$(st socket)"
	assertEquals "keys" 1 "$(st keys)"
	assertEquals "systemd mode: the control socket was handed over" \
	    true "$(st systemd)"
	assertEquals "sessions" "$sid" "$(st sessions)"

	# An agent that dies is replaced on the same, inherited socket.
	kill -KILL "$apid"
	assertTrue "agent $apid survived SIGKILL" "wait_for 5 gone $apid"
	assertTrue "no new agent answers" "wait_for 10 answers"
	assertNotEquals "the same agent" "$apid" "$(pids agent)"
	# (assertTrue ran that in a subshell: ask again for $rc.)
	sa -l
	assertEquals "a new agent holds no keys: $out" 1 "$rc"
	assertEquals "the same supervisor" "$sa_pid" "$(pids daemon)"
}

# Handed its control socket, the supervisor is in systemd mode even
# without NOTIFY_SOCKET: the stop policy stops the agent only.
test_last_logout_stops_only_the_agent() {
	activate_supervisor || return 0
	login a || return 0
	assertEquals "init exit status: $(cat "$T/a.err")" 0 "$rc"
	apid=$(pids agent)
	assertTrue "ssh-add -l did not answer" answers
	assertTrue "no environment file" "[ -f '$HOME/.ssh/environment' ]"

	logout_by_kill "$sid"
	# linger = 1
	assertTrue "the agent did not stop after the last logout" \
	    "wait_for 10 agent_down"
	assertTrue "agent $apid still running" "gone $apid"
	assertTrue "the environment file stays" \
	    "wait_for 5 test ! -e '$HOME/.ssh/environment'"
	assertTrue "control socket removed" "[ -S '$CTL' ]"
	assertTrue "agent socket removed" "[ -S '$SOCK' ]"
	status_json
	assertEquals "status --json while idle: $(cat "$T/status.err")" 0 \
	    "$strc"
	assertEquals "supervisor_pid while idle" "$sa_pid" \
	    "$(st supervisor_pid)"
	assertEquals "agent_pid while idle" 0 "$(st agent_pid)"
	assertEquals "sessions while idle" "" "$(st sessions)"
	assertEquals "systemd while idle" true "$(st systemd)"
	assertEquals "agent_state while idle" '"down"' "$(st agent_state)"
	assertTrue "the supervisor left" "alive $sa_pid"

	# A client at the agent socket meanwhile starts a fresh agent, as
	# socket activation would: it holds no keys (they were wiped).
	SSH_AUTH_SOCK=$SOCK timeout -k 2 30 ssh-add -l </dev/null \
	    >"$T/early.out" 2>&1
	rc=$?
	assertEquals "a client while idle is answered by a fresh agent: \
$(cat "$T/early.out")" 1 "$rc"
	apid2=$(pids agent)
	assertNotEquals "no agent started on demand" "" "$apid2"
	assertNotEquals "the old agent" "$apid" "$apid2"
	# `sshenv env` then names the same socket, with no session.
	timeout -k 2 20 sshenv env -s >"$T/env.out" 2>"$T/env.err"
	rc=$?
	assertEquals "sshenv env: $(cat "$T/env.err")" 0 "$rc"
	assertEquals "sshenv env names the socket" "$SOCK" \
	    "$(var "$T/env.out" SSH_AUTH_SOCK)"

	login b || return 0
	assertEquals "second init exit status: $(cat "$T/b.err")" 0 "$rc"
	assertEquals "the agent started on demand is kept" "$apid2" \
	    "$(pids agent)"
	assertEquals "the same supervisor" "$sa_pid" "$(pids daemon)"
	assertEquals "the same socket" "$SOCK" "$(var "$T/b.env" SSH_AUTH_SOCK)"
	assertTrue "ssh-add -l did not answer again" answers
}

# sigterm_pending PID: SIGTERM (15) waits in PID's process-wide pending
# set: sent, but not acted on (the process is held stopped).
sigterm_pending() {
	_m=$(sed -n 's/^ShdPnd:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
	[ -n "$_m" ] && [ $((0x$_m & 0x4000)) -ne 0 ]
}

# state_is STATE: `sshenv status --json` shows that agent_state.
state_is() {
	status_json
	[ "$(st agent_state)" = "\"$1\"" ]
}

# A login that arrives while the agent is being stopped (the last session
# has ended) waits for it to go and gets a new agent: never the dying
# one's pid.  An agent that ignores SIGTERM is killed after a grace.
test_init_while_the_agent_stops() {
	activate_supervisor || return 0
	login a || return 0
	assertEquals "init exit status: $(cat "$T/a.err")" 0 "$rc"
	apid=$(pids agent)
	# Held stopped, the agent cannot act on the SIGTERM that comes.
	kill -STOP "$apid"
	logout_by_kill "$sid"
	assertTrue "SIGTERM sent after the last logout" \
	    "wait_for 10 sigterm_pending $apid"
	assertTrue "status says stopping" "state_is stopping"
	# shellcheck disable=SC2016 # expanded by the login's shell
	setsid sh -c 'echo $$ >"$0.sid"; sshenv init -s >"$0.env" 2>"$0.err"
echo $? >"$0.rc"
exec sleep 300' "$T/b" </dev/null >/dev/null 2>&1 &
	assertTrue "init waits while the old agent stops" \
	    "wait_for 10 state_is restarting"
	assertFalse "init answered before the old agent went" \
	    "[ -s '$T/b.rc' ]"
	[ -s "$T/b.sid" ] && sids="$sids $(cat "$T/b.sid")"
	# The agent never acts on SIGTERM: the grace (5 s) ends in SIGKILL.
	assertTrue "the stuck agent is killed" "wait_for 15 gone $apid"
	assertTrue "init finished" "wait_for 15 test -s '$T/b.rc'"
	assertEquals "init exit status: $(cat "$T/b.err")" 0 "$(cat "$T/b.rc")"
	apid2=$(pids agent)
	assertNotEquals "a new agent" "" "$apid2"
	assertNotEquals "not the dying agent" "$apid" "$apid2"
	assertEquals "init names the new agent" "$apid2" \
	    "$(var "$T/b.env" SSH_AGENT_PID)"
	assertTrue "ssh-add -l answers" answers
	assertTrue "status says running" "state_is running"
}

test_notify_socket_gets_ready() {
	# A datagram socket that collects what is sent to it: activated on
	# the first datagram, cat reads them from fd 3.
	# shellcheck disable=SC2016 # expanded by the activated shell
	systemd-socket-activate -d -l "$T/notify.sock" \
	    sh -c 'exec cat <&3 >"$0"' "$T/notify.out" </dev/null \
	    >/dev/null 2>"$T/notify.err" &
	np=$!
	if ! wait_for 10 exists "$T/notify.sock"; then
		fail "no notify socket: $(cat "$T/notify.err")"
		kill "$np" 2>/dev/null
		return 0
	fi
	NOTIFY_SOCKET=$T/notify.sock
	export NOTIFY_SOCKET
	activate_supervisor -E NOTIFY_SOCKET
	_ok=$?
	unset NOTIFY_SOCKET
	if [ "$_ok" -ne 0 ]; then
		kill "$np" 2>/dev/null
		return 0
	fi
	assertFalse "READY=1 before activation" "[ -s '$T/notify.out' ]"
	login a || { kill "$np"; return 0; }
	assertEquals "init exit status: $(cat "$T/a.err")" 0 "$rc"
	assertTrue "no READY=1 from the supervisor" \
	    "wait_for 5 grep -q 'READY=1' '$T/notify.out'"
	status_json
	assertEquals "systemd" true "$(st systemd)"
	kill "$np" 2>/dev/null
	wait "$np" 2>/dev/null
	return 0
}

# ExecReload= sends SIGHUP: a bad file is refused and the old settings
# stay; a good one is taken; the supervisor serves throughout.
test_reload_under_activation() {
	activate_supervisor || return 0
	login a || return 0
	assertEquals "init exit status: $(cat "$T/a.err")" 0 "$rc"
	printf '[session]\nlinger = 1\non_last_logout = sideways\n' \
	    >"$XDG_CONFIG_HOME/sshenv/config"
	kill -HUP "$sa_pid"
	assertTrue "no refusal logged: $(cat "$T/sa.err")" \
	    "wait_for 5 grep -q 'reload refused' '$T/sa.err'"
	# The client itself refuses the bad file: ask with an empty one.
	status_json -F /dev/null
	assertEquals "status --json: $(cat "$T/status.err")" 0 "$strc"
	assertEquals "policy after a refused reload" '"stop"' "$(st policy)"
	printf '[session]\nlinger = 1\non_last_logout = keep\n' \
	    >"$XDG_CONFIG_HOME/sshenv/config"
	kill -HUP "$sa_pid"
	assertTrue "no reload logged: $(cat "$T/sa.err")" \
	    "wait_for 5 grep -q 'configuration reloaded' '$T/sa.err'"
	status_json
	assertEquals "policy after the reload" '"keep"' "$(st policy)"
	assertEquals "the same supervisor" "$sa_pid" "$(st supervisor_pid)"
	assertTrue "ssh-add -l did not answer" answers
	return 0
}

# shellcheck disable=SC1091
. /usr/bin/shunit2
