#!/bin/sh
# `sshenv agent` used alone, as people use ssh-agent: -s/-c snippets, the
# daemon it leaves behind, -k, -t, -a, and its usage errors.

SHUNIT_COLOR=none
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${SSHENV_BIN:=$top/build/sshenv}"

setUp() {
	T=$(mktemp -d /tmp/sshenv-ac.XXXXXX)
	export TMPDIR="$T"
	unset SSH_AUTH_SOCK SSH_AGENT_PID
	pids=''
}

tearDown() {
	for p in $pids ${SSH_AGENT_PID:-}; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$T"
	unset TMPDIR SSH_AUTH_SOCK SSH_AGENT_PID
}

# wait_gone PID: up to 5 s for the process to exit.
wait_gone() {
	_n=100
	while kill -0 "$1" 2>/dev/null; do
		_n=$((_n - 1))
		[ "$_n" -gt 0 ] || return 1
		sleep 0.05
	done
}

sa() {
	timeout -k 2 15 ssh-add "$@" </dev/null >"$T/sa.out" 2>&1
	rc=$?
}

test_sh_snippet_daemon_and_kill() {
	out=$(timeout 10 "$SSHENV_BIN" agent -s)
	assertEquals "agent -s exit status" 0 $?
	eval "$out"
	assertNotNull "no SSH_AUTH_SOCK in: $out" "$SSH_AUTH_SOCK"
	assertNotNull "no SSH_AGENT_PID in: $out" "$SSH_AGENT_PID"
	pids=$SSH_AGENT_PID
	case $SSH_AUTH_SOCK in
	"$T"/sshenv-*/agent.*) ;;
	*) fail "socket not in a private dir under TMPDIR: $SSH_AUTH_SOCK" ;;
	esac
	assertTrue "socket dir not 0700" \
	    "[ \"\$(stat -c %a \"\$(dirname '$SSH_AUTH_SOCK')\")\" = 700 ]"
	# The parent has exited; the daemon serves on.
	sa -l
	assertEquals "ssh-add -l: $(cat "$T/sa.out")" 1 "$rc"
	sock=$SSH_AUTH_SOCK
	pid=$SSH_AGENT_PID
	out=$(timeout 10 "$SSHENV_BIN" agent -k -s)
	assertEquals "agent -k exit status" 0 $?
	eval "$out"
	assertNull "SSH_AUTH_SOCK still set" "${SSH_AUTH_SOCK:-}"
	assertNull "SSH_AGENT_PID still set" "${SSH_AGENT_PID:-}"
	assertTrue "agent $pid still runs" "wait_gone $pid"
	assertFalse "socket left behind" "[ -e '$sock' ]"
	assertFalse "socket dir left behind" "[ -e \"\$(dirname '$sock')\" ]"
}

test_csh_snippet_and_socket_path() {
	out=$(timeout 10 "$SSHENV_BIN" agent -c -a "$T/a.sock")
	assertEquals "agent -c exit status" 0 $?
	pid=$(printf '%s\n' "$out" | sed -n 's/^setenv SSH_AGENT_PID \([0-9]*\);$/\1/p')
	pids=$pid
	assertNotNull "no setenv SSH_AGENT_PID in: $out" "$pid"
	assertTrue "no setenv SSH_AUTH_SOCK in: $out" \
	    "printf '%s\n' \"\$out\" | grep -qx 'setenv SSH_AUTH_SOCK $T/a.sock;'"
	assertEquals "socket mode" 600 "$(stat -c %a "$T/a.sock")"
	# A second agent at a live socket is refused.
	timeout 10 "$SSHENV_BIN" agent -D -a "$T/a.sock" >/dev/null \
	    2>"$T/second.err"
	assertNotEquals "second agent at a live socket" 0 $?
	assertTrue "no reason: $(cat "$T/second.err")" \
	    "grep -q 'already listens' '$T/second.err'"
}

test_default_lifetime() {
	ssh-keygen -q -t ed25519 -N '' -f "$T/k" </dev/null
	eval "$(timeout 10 "$SSHENV_BIN" agent -s -t 1)"
	pids=$SSH_AGENT_PID
	sa "$T/k"
	assertEquals "ssh-add: $(cat "$T/sa.out")" 0 "$rc"
	sa -l
	assertEquals "key listed" 0 "$rc"
	n=100
	while sa -l && [ "$rc" -eq 0 ] && [ "$n" -gt 0 ]; do
		n=$((n - 1))
		sleep 0.1
	done
	assertEquals "key not removed after its 1 s lifetime" 1 "$rc"
}

# SIGUSR1 removes every key and the agent serves on, as ssh-agent does
# since OpenSSH 10.0; SIGTERM then stops it.
test_sigusr1_removes_every_key() {
	ssh-keygen -q -t ed25519 -N '' -f "$T/k" </dev/null
	eval "$(timeout 10 "$SSHENV_BIN" agent -s)"
	pids=$SSH_AGENT_PID
	sa "$T/k"
	assertEquals "ssh-add: $(cat "$T/sa.out")" 0 "$rc"
	kill -USR1 "$SSH_AGENT_PID"
	n=100
	while sa -l && [ "$rc" -eq 0 ] && [ "$n" -gt 0 ]; do
		n=$((n - 1))
		sleep 0.05
	done
	assertEquals "no identities after SIGUSR1: $(cat "$T/sa.out")" 1 "$rc"
	assertTrue "the agent still runs" "kill -0 $SSH_AGENT_PID"
	sa "$T/k"
	assertEquals "keys can be added again: $(cat "$T/sa.out")" 0 "$rc"
	kill -TERM "$SSH_AGENT_PID"
	assertTrue "SIGTERM stops it" "wait_gone $SSH_AGENT_PID"
}

# UNLOCK on an agent that is not locked fails at once and is no wrong
# guess: it must not add to the delay that paces real guesses (a client,
# a forwarded one too, could otherwise push the owner's unlock out).
test_unlock_when_not_locked_is_no_failure() {
	printf '#!/bin/sh\necho guess\n' >"$T/askpass"
	chmod 0700 "$T/askpass"
	"$SSHENV_BIN" agent -d -a "$T/a.sock" </dev/null \
	    >/dev/null 2>"$T/agent.log" &
	pids=$!	# the agent itself (exec'd): tearDown kills it
	n=100
	while [ ! -S "$T/a.sock" ] && [ $n -gt 0 ]; do
		n=$((n - 1))
		sleep 0.05
	done
	for i in 1 2 3; do
		SSH_AUTH_SOCK=$T/a.sock SSH_ASKPASS=$T/askpass \
		    SSH_ASKPASS_REQUIRE=force DISPLAY=:t setsid -w \
		    timeout 15 ssh-add -X </dev/null >/dev/null 2>&1
		assertEquals "unlock $i of an unlocked agent fails" 1 $?
	done
	assertNotContains "counted as wrong guesses: $(cat "$T/agent.log")" \
	    "$(cat "$T/agent.log")" "unlock failed"
}

test_usage_errors() {
	timeout 10 "$SSHENV_BIN" agent -t 0 >/dev/null 2>&1
	assertEquals "-t 0" 64 $?
	timeout 10 "$SSHENV_BIN" agent -t 5x >/dev/null 2>&1
	assertEquals "-t 5x" 64 $?
	timeout 10 "$SSHENV_BIN" agent -Z >/dev/null 2>&1
	assertEquals "-Z" 64 $?
	timeout 10 "$SSHENV_BIN" agent -D extra >/dev/null 2>&1
	assertEquals "a command with -D" 64 $?
	timeout 10 "$SSHENV_BIN" agent -k extra >/dev/null 2>&1
	assertEquals "a command with -k" 64 $?
	timeout 10 "$SSHENV_BIN" agent "$T/no-such-command" >/dev/null \
	    2>"$T/cmd.err"
	assertNotEquals "a command that cannot run" 0 $?
	assertContains "says why: $(cat "$T/cmd.err")" "$(cat "$T/cmd.err")" \
	    "$T/no-such-command"
	timeout 10 "$SSHENV_BIN" agent -k >/dev/null 2>&1
	assertEquals "-k without SSH_AGENT_PID" 2 $?
	# Never kill(0), kill(-1) or a pid that wraps to either.
	for _p in 0 1 -1 4294967295 2147483648 12x; do
		SSH_AGENT_PID=$_p timeout 10 "$SSHENV_BIN" agent -k \
		    >/dev/null 2>"$T/k.err"
		assertEquals "-k with SSH_AGENT_PID=$_p" 64 $?
		assertContains "-k with SSH_AGENT_PID=$_p: says why" \
		    "$(cat "$T/k.err")" "bad SSH_AGENT_PID"
	done
	timeout 10 "$SSHENV_BIN" agent --help >"$T/help.out" 2>&1
	assertEquals "--help" 0 $?
	assertContains "--help prints the usage" "$(cat "$T/help.out")" \
	    "usage: sshenv agent"
	# ... and nothing more: no agent left behind.
	assertNotContains "--help started an agent" "$(cat "$T/help.out")" \
	    "SSH_AUTH_SOCK"
}

# gone PID: PID has exited (a zombie not yet reaped by whoever inherited
# it counts as gone).
gone() {
	case $(ps -o stat= -p "$1" 2>/dev/null) in
	'' | Z*) return 0 ;;
	esac
	return 1
}

# As ssh-agent: `sshenv agent COMMAND` runs COMMAND with the agent in
# its environment, and the agent goes (socket and all) when it exits.
# -P, ssh-agent's provider allowlist, is taken.
test_command_mode() {
	ssh-keygen -q -t ed25519 -N '' -f "$T/k" </dev/null
	# shellcheck disable=SC2016 # for the command's shell
	timeout 20 "$SSHENV_BIN" agent -P '/usr/lib/*' sh -c \
	    'echo "$SSH_AUTH_SOCK $SSH_AGENT_PID" >"$0/env"
ssh-add "$0/k" 2>/dev/null; ssh-add -l >"$0/list"; echo $? >"$0/rc"' \
	    "$T" </dev/null
	assertEquals "the command's exit status is ours" 0 $?
	read -r sock pid <"$T/env"
	assertNotNull "SSH_AUTH_SOCK in the command" "$sock"
	assertNotNull "SSH_AGENT_PID in the command" "$pid"
	pids=$pid
	assertEquals "ssh-add -l in the command" 0 "$(cat "$T/rc")"
	assertEquals "the key, there" 1 "$(wc -l <"$T/list")"
	# At once on Linux (a parent-death signal); within the 10 s look
	# elsewhere (the portable build).
	n=300
	while ! gone "$pid" && [ "$n" -gt 0 ]; do
		n=$((n - 1))
		sleep 0.05
	done
	assertTrue "the agent went with the command" "gone $pid"
	assertFalse "its socket too" "[ -e '$sock' ]"
	# The command's status is passed on.
	# shellcheck disable=SC2016 # for the command's shell
	timeout 20 "$SSHENV_BIN" agent sh -c 'echo $SSH_AGENT_PID >"$0"
exit 3' "$T/pid3" </dev/null
	assertEquals "exit status 3 passed on" 3 $?
	pids="$pids $(cat "$T/pid3")"
}

# The agent that -s leaves behind (a forked child) holds its keys in
# locked memory: locks are not inherited across fork, so the secure heap
# must be set up in the child.
test_forked_agent_has_locked_memory() {
	if [ "$(id -u)" -ne 0 ] && [ "$(ulimit -l)" != unlimited ] &&
	    [ "$(ulimit -l)" -lt 2100 ]; then
		echo "SKIP: RLIMIT_MEMLOCK $(ulimit -l) kB is below the 2 MiB heap"
		return 0
	fi
	eval "$(timeout 10 "$SSHENV_BIN" agent -s)"
	pids=$SSH_AGENT_PID
	assertNotNull "no SSH_AGENT_PID" "$SSH_AGENT_PID" || return 0
	# Made once the generators are seeded, just after start.
	n=100
	while [ "$n" -gt 0 ]; do
		locked=$(awk '/^VmLck:/ { print $2 }' \
		    "/proc/$SSH_AGENT_PID/status")
		[ "${locked:-0}" -ge 2048 ] && break
		n=$((n - 1))
		sleep 0.05
	done
	assertTrue "the forked agent's secure heap is locked (VmLck \
${locked:-?} kB)" "[ '${locked:-0}' -ge 2048 ]"
}

. /usr/bin/shunit2
