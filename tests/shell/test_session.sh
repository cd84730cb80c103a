#!/bin/sh
# Sessions and the life cycle of the supervisor and its agent, as a user
# sees them: logins (each the leader of a new session) share one agent;
# the last one to end, however it ends, takes everything with it after
# the linger time (or keeps, or locks the agent, by policy); 50 logins
# racing start one of each; a killed agent or supervisor is replaced
# without changing the socket path; runtime directories that are not
# safely ours are refused; a ~/.ssh/environment that is not ours is never
# touched.  Every test starts from nothing in its own directory.
# Arguments: none, or -- test_name... to run some tests only.
# shellcheck disable=SC2016 # scripts for other shells, in single quotes
# shellcheck disable=SC2317 # the tests are called by shunit2

LIB_INC=$(cd "$(dirname "$0")" && pwd)/login.inc
# shellcheck source=tests/shell/login.inc
. "$LIB_INC"

setUp() {
	lib_setUp
}

tearDown() {
	ru_cleanup
	lib_tearDown
}

# ---------------------------------------------------------------- helpers

# Everything the supervisor must remove when it stops; the lock files
# stay, by design.
all_clean() {
	lib_none_left && [ ! -e "$SOCK" ] && [ ! -e "$CTL" ] &&
	    [ ! -e "$RUNDIR/agent.pid" ] && [ ! -e "$RUNDIR/daemon.pid" ] &&
	    [ ! -e "$RUNDIR/sessions" ] && [ ! -e "$ENVFILE" ]
}

# assert_clean WHAT: after all_clean was polled for, says what is left.
assert_clean() {
	assertTrue "$1: sshenv processes left: $(lib_pids '')" lib_none_left
	for _f in "$SOCK" "$CTL" "$RUNDIR/agent.pid" "$RUNDIR/daemon.pid" \
	    "$RUNDIR/sessions" "$ENVFILE"; do
		assertFalse "$1: $_f left" "[ -e '$_f' ]"
	done
	assertEquals "$1: only the lock files stay in $RUNDIR" \
	    "daemon.lock start.lock" "$(find "$RUNDIR" -mindepth 1 -printf '%f\n' |
	    sort | tr '\n' ' ' | sed 's/ $//')"
}

# assert_running WHAT: one supervisor, one agent, all files in place.
assert_running() {
	assertEquals "$1: supervisors" 1 "$(lib_count daemon)"
	assertEquals "$1: agents" 1 "$(lib_count agent)"
	for _f in "$SOCK" "$CTL" "$RUNDIR/agent.pid" "$RUNDIR/daemon.pid" \
	    "$RUNDIR/sessions" "$ENVFILE"; do
		assertTrue "$1: $_f missing" "[ -e '$_f' ]"
	done
}

# agent_changed OLD: the supervisor reports a ready agent other than OLD
# and it answers at the stable path.
agent_changed() {
	_p=$(lib_status agent_pid) || return 1
	[ -n "$_p" ] && [ "$_p" != 0 ] && [ "$_p" != "$1" ] && lib_answers
}

# refused WHAT: init was refused for an unsafe runtime directory ($rc,
# $out, $err of lib_login_fg) and nothing was started.  PATTERN: what
# stderr must name (the reason).
refused() {
	assertNotEquals "$1: init exit status" 0 "$rc"
	assertEquals "$1: nothing on stdout" "" "$out"
	assertContains "$1: the error names the directory: $err" "$err" \
	    "refusing runtime directory $RUNDIR"
	assertContains "$1: the error gives the reason: $err" "$err" "$2"
	assertTrue "$1: processes started: $(lib_pids '')" lib_none_left
	assertFalse "$1: $ENVFILE written" "[ -e '$ENVFILE' ]"
}

# ------------------------------------------------------------------ tests

test_second_login_reuses_agent() {
	lib_login_init a || return 0
	assertEquals "first init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	sid_a=$sid
	lib_login_init b || return 0
	assertEquals "second init exit status: $(cat "$T/b.ierr")" 0 "$rc"
	sid_b=$sid
	assertEquals "first login's socket" "$SOCK" "$(lib_var "$T/a.env" \
	    SSH_AUTH_SOCK)"
	assertEquals "second login's socket" "$SOCK" "$(lib_var "$T/b.env" \
	    SSH_AUTH_SOCK)"
	pid_a=$(lib_var "$T/a.env" SSH_AGENT_PID)
	assertNotEquals "first login's agent pid" "" "$pid_a"
	assertEquals "second login's agent pid" "$pid_a" \
	    "$(lib_var "$T/b.env" SSH_AGENT_PID)"
	assertEquals "status: agent pid" "$pid_a" "$(lib_status agent_pid)"
	assertEquals "status: socket" "$SOCK" "$(lib_status socket)"
	assertEquals "the agent process" "$pid_a" "$(lib_pids agent)"
	assert_running "two logins"
	sessions=$(lib_status sessions)
	assertTrue "session $sid_a in [$sessions]" "lib_has $sid_a '$sessions'"
	assertTrue "session $sid_b in [$sessions]" "lib_has $sid_b '$sessions'"
	lib_answers
	assertEquals "ssh-add -l: $out" 1 "$rc"
}

test_killed_leaders_end_everything() {
	lib_login_init a || return 0
	sid_a=$sid
	lib_login_init b || return 0
	sid_b=$sid
	assert_running "two logins"
	kill -KILL "$sid_a" "$sid_b"
	lib_wait 10 all_clean
	assert_clean "both leaders killed"
	# What made the sessions end is their leaders: the rest of each
	# session (the sleep) is still there.
	assertTrue "the rest of session $sid_a runs" "pgrep -s $sid_a >/dev/null"
}

test_logout_then_linger_stops() {
	lib_login a 'eval "$(sshenv init -s)"
ssh-add -l >/dev/null 2>&1
echo $? >"$0.sa"
sshenv logout
echo $? >"$0.rc"
sleep 300' || return 0
	lib_wait 30 test -s "$T/a.rc"
	assertEquals "ssh-add -l in the login" 1 "$(cat "$T/a.sa")"
	assertEquals "logout exit status: $(cat "$T/a.err")" 0 \
	    "$(cat "$T/a.rc")"
	lib_wait 10 all_clean
	assert_clean "logout"
	assertTrue "the login itself still runs" "lib_alive $sid"
}

test_fifty_racing_inits() {
	i=1
	while [ "$i" -le 50 ]; do
		setsid sh -c 'echo $$ >"$0.sid"
sshenv init -s >"$0.env" 2>"$0.ierr"
echo $? >"$0.rc"
sleep 60' "$T/r$i" </dev/null >/dev/null 2>&1 &
		i=$((i + 1))
	done
	lib_wait 60 all_done
	assertEquals "inits finished" 50 "$(count_rc)"
	for f in "$T"/r*.sid; do
		lib_sids="$lib_sids $(cat "$f")"
	done
	assertEquals "supervisors: $(lib_pids daemon)" 1 "$(lib_count daemon)"
	assertEquals "agents: $(lib_pids agent)" 1 "$(lib_count agent)"
	assertEquals "exit statuses" "0" "$(cat "$T"/r*.rc | sort -u)"
	assertEquals "errors" "" "$(cat "$T"/r*.ierr)"
	assertEquals "distinct agent pids printed" "$(lib_pids agent)" \
	    "$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$T"/r*.env |
	    sort -u | tr '\n' ' ' | sed 's/ $//')"
	assertEquals "how many printed it" 50 \
	    "$(grep -c "^SSH_AGENT_PID=$(lib_pids agent);" "$T"/r*.env |
	    grep -c ':1$')"
	assertEquals "sockets printed" "$SOCK" \
	    "$(sed -n 's/^SSH_AUTH_SOCK=\([^;]*\);.*/\1/p' "$T"/r*.env |
	    sort -u)"
	assertEquals "sessions registered" 50 \
	    "$(lib_status sessions | wc -w)"
}

count_rc() {
	_n=0
	for _f in "$T"/r*.rc; do
		[ -s "$_f" ] && _n=$((_n + 1))
	done
	echo "$_n"
}

all_done() {
	[ "$(count_rc)" -eq 50 ]
}

test_foreign_environment_file_untouched() {
	mkdir -m 0700 "$HOME/.ssh"
	printf '%s\n' '# my own settings' 'FOO=bar; export FOO;' \
	    'SSH_AUTH_SOCK=/elsewhere; export SSH_AUTH_SOCK;' >"$ENVFILE"
	chmod 0644 "$ENVFILE"
	cp -p "$ENVFILE" "$T/env.orig"
	before=$(stat -c '%i %a %s %Y' "$ENVFILE")
	lib_login_init a || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	assertEquals "the snippet's socket" "$SOCK" \
	    "$(lib_var "$T/a.env" SSH_AUTH_SOCK)"
	assertContains "init says why it leaves the file alone" \
	    "$(cat "$T/a.ierr")" "$ENVFILE: not written by sshenv"
	assertTrue "file changed by init" "cmp -s '$T/env.orig' '$ENVFILE'"
	assertEquals "inode, mode, size, mtime" "$before" \
	    "$(stat -c '%i %a %s %Y' "$ENVFILE")"
	# And when everything stops, it is not removed either.
	kill -KILL "$sid"
	lib_wait 10 lib_none_left
	assertTrue "stopped" lib_none_left
	assertTrue "file changed at stop" "cmp -s '$T/env.orig' '$ENVFILE'"
	# init -q says nothing about it.
	lib_login_init q -q || return 0
	assertEquals "init -q exit status: $(cat "$T/q.ierr")" 0 "$rc"
	assertEquals "init -q is quiet" "" "$(cat "$T/q.ierr")"
}

# When the supervisor cannot start, init says why (the reason comes back
# on the readiness pipe), not "no supervisor is running".
test_failed_autostart_says_why() {
	rm -f "$T/bin/sshenv-agent"
	lib_login_init a || return 0
	assertEquals "init exit status" 2 "$rc"
	assertContains "the reason: $(cat "$T/a.ierr")" "$(cat "$T/a.ierr")" \
	    "cannot start the supervisor: cannot find sshenv-agent"
	assertNotContains "not the usual advice" "$(cat "$T/a.ierr")" \
	    "start one with"
	assertTrue "nothing left running" "lib_wait 5 lib_none_left"
}

test_classic_environment_recipe() {
	lib_login_init a || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	assertTrue "$ENVFILE written" "[ -s '$ENVFILE' ]"
	# Another login, with no sshenv on PATH: only the file to go by.
	lib_login_fg b "PATH='$lib_path0'; export PATH"'
command -v sshenv || echo "no sshenv"
. "'"$SHDIR/environment-recipe.sh"'"
ssh-add -l
echo "RC=$?"
env | grep "^SSH_" | sort'
	assertEquals "recipe login: $err" "no sshenv
The agent has no identities.
RC=1
SSH_AGENT_PID=$(lib_pids agent)
SSH_AUTH_SOCK=$SOCK" "$out"
}

test_env_without_supervisor() {
	run_env
	assertEquals "exit status" 2 "$rc"
	assertEquals "stdout" "" "$out"
	assertContains "stderr: $err" "$err" "no supervisor"
	assertTrue "env started something: $(lib_pids '')" lib_none_left
	assertFalse "control socket made" "[ -e '$CTL' ]"
}

run_env() {
	timeout -k 2 15 sshenv env "$@" </dev/null >"$T/env.out" \
	    2>"$T/env.err"
	rc=$?
	out=$(cat "$T/env.out")
	err=$(cat "$T/env.err")
}

test_env_matches_init() {
	lib_login_init a || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	run_env -s
	assertEquals "env exit status: $err" 0 "$rc"
	assertEquals "env and init print the same" "$(cat "$T/a.env")" "$out"
	assertEquals "env registers no session" "$sid" \
	    "$(lib_status sessions)"
	run_env -c
	assertContains "csh form" "$out" "setenv SSH_AUTH_SOCK $SOCK;"
	run_env -f
	assertContains "fish form" "$out" "set -gx SSH_AUTH_SOCK $SOCK;"
}

test_refuses_symlinked_runtime_dir() {
	mkdir -m 0700 "$T/real"
	ln -s "$T/real" "$RUNDIR"
	lib_login_fg a 'sshenv init -s'
	refused "symlink" "symbolic link"
	assertEquals "files made through the symlink" "" "$(ls -A "$T/real")"
}

test_refuses_foreign_runtime_dir() {
	if [ "$(id -u)" -ne 0 ] || ! id -u nobody >/dev/null 2>&1; then
		startSkipping
		echo "skipped: needs root (and a user nobody) to chown"
	fi
	mkdir -m 0700 "$RUNDIR"
	chown nobody "$RUNDIR" 2>/dev/null
	lib_login_fg a 'sshenv init -s'
	refused "owned by nobody" "owned by another user"
	assertEquals "files made in it" "" "$(ls -A "$RUNDIR")"
}

test_refuses_open_runtime_dir() {
	mkdir -m 0755 "$RUNDIR"
	chmod 0755 "$RUNDIR"
	lib_login_fg a 'sshenv init -s'
	refused "mode 0755" "permissions too open"
	assertEquals "files made in it" "" "$(ls -A "$RUNDIR")"
	assertEquals "mode changed" 755 "$(stat -c %a "$RUNDIR")"
}

# The lock policy cannot be starved: wrong UNLOCK attempts from any
# client (25 of them, each adding 0.1 s to the wait of the next) do not
# delay the supervisor's own unlock at the next login past its timeout,
# so the new login gets its keys and status tells the truth.
test_policy_lock_not_starved_by_wrong_unlocks() {
	lib_config '[session]' 'on_last_logout = lock'
	lib_key id_test
	lib_login_fg a 'eval "$(sshenv init -s id_test)"'
	assertEquals "login exit status: $err" 0 "$rc"
	lib_wait 10 locked
	assertTrue "locked after the last logout" locked || return 0
	# 25 wrong guesses, each on its own connection; the first answer
	# (FAILURE) shows the pacing has begun.
	"$PY" - "$SOCK" >"$T/guess.out" 2>&1 <<'EOF' &
import socket, struct, sys, time
conns = []
for i in range(25):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    body = struct.pack(">I", 5) + b"wrong"
    s.sendall(struct.pack(">IB", len(body) + 1, 23) + body)
    conns.append(s)
conns[0].settimeout(30)
print("first answer type", conns[0].recv(5)[4], flush=True)
time.sleep(60)
EOF
	guess=$!
	lib_track "$guess"
	lib_wait 10 grep -q 'first answer type 5' "$T/guess.out"
	assertTrue "the guesses are paced: $(cat "$T/guess.out")" \
	    "grep -q 'first answer type 5' '$T/guess.out'" || return 0
	lib_login_init b || return 0
	assertEquals "second init: $(cat "$T/b.ierr")" 0 "$rc"
	assertEquals "status: unlocked" false "$(lib_status locked)"
	lib_sa -l
	assertEquals "the key is there for the new login: $out" 0 "$rc"
}

test_policy_keep() {
	lib_config '[session]' 'on_last_logout = keep'
	lib_login_fg a 'sshenv init -s'
	assertEquals "init exit status: $err" 0 "$rc"
	agent=$(lib_var "$T/a.out" SSH_AGENT_PID)
	# The session has ended; once the linger time (1 s) is over the
	# policy has been applied (status stops saying lingering), and keep
	# means nothing was stopped.
	lib_wait 5 no_sessions
	assertTrue "the linger time ended" "lib_wait 10 not_lingering"
	assertEquals "the same agent" "$agent" "$(lib_pids agent)"
	assertEquals "supervisors" 1 "$(lib_count daemon)"
	lib_answers
	assertEquals "ssh-add -l: $out" 1 "$rc"
	assertTrue "$ENVFILE kept" "[ -s '$ENVFILE' ]"
}

no_sessions() {
	[ "$(lib_status sessions)" = "" ]
}

# Status says, in words too, that the linger time runs and what follows.
test_status_says_lingering() {
	lib_config '[session]' 'linger = 600'
	lib_login_fg a 'sshenv init -s'
	assertEquals "init exit status: $err" 0 "$rc"
	lib_wait 5 no_sessions
	out=$(timeout -k 2 15 sshenv status 2>&1)
	assertContains "status: $out" "$out" \
	    "no session left: the agent stops when the linger time ends"
	lib_login_init b || return 0
	out=$(timeout -k 2 15 sshenv status 2>&1)
	assertNotContains "not once a login came: $out" "$out" \
	    "no session left"
}

not_lingering() {
	[ "$(lib_status lingering)" = false ]
}

test_policy_lock() {
	lib_config '[session]' 'on_last_logout = lock'
	lib_key id_test
	mkdir "$T/pub"
	cp "$HOME/.ssh/id_test.pub" "$T/pub/"
	echo "me $(cat "$T/pub/id_test.pub")" >"$T/allowed"
	echo "signed data" >"$T/data"
	# The key is checked in the login: once it ends, the agent may be
	# locked at any moment.
	lib_login_fg a 'eval "$(sshenv init -s id_test)"
echo "PID=$SSH_AGENT_PID"
ssh-add -l'
	assertEquals "login exit status: $err" 0 "$rc"
	agent=$(echo "$out" | sed -n 's/^PID=//p')
	assertContains "key loaded: $out" "$out" " $fp "
	# The session is over: after linger, the agent is locked.
	lib_wait 10 locked
	lib_sa -l
	assertEquals "ssh-add -l when locked: $out" 1 "$rc"
	assertEquals "status: locked" true "$(lib_status locked)"
	assertFalse "signs when locked" sign
	assertEquals "the same agent" "$agent" "$(lib_pids agent)"
	# A new login unlocks it.
	lib_login_init b || return 0
	assertEquals "second init exit status: $(cat "$T/b.ierr")" 0 "$rc"
	lib_sa -l
	assertContains "key back after a new login: $out" "$out" " $fp "
	assertTrue "signs after a new login" sign
	assertEquals "status: locked" false "$(lib_status locked)"
}

locked() {
	lib_sa -l
	[ "$rc" -eq 1 ] && [ "$(lib_status locked)" = true ]
}

# sign: an sshsig signature by the agent (ssh-keygen sees only the
# public key), checked against the allowed signers file.
sign() {
	rm -f "$T/data.sig"
	SSH_AUTH_SOCK=$SOCK timeout -k 2 15 ssh-keygen -q -Y sign -n test \
	    -f "$T/pub/id_test.pub" "$T/data" </dev/null >/dev/null 2>&1 &&
	    timeout -k 2 15 ssh-keygen -Y verify -f "$T/allowed" -I me \
	    -n test -s "$T/data.sig" <"$T/data" >/dev/null 2>&1
}

# A login that arrives while the supervisor exits (the last session has
# ended and the agent is on its way out) starts the next supervisor, which
# waits for the old one, and gets a working agent.
test_init_while_the_supervisor_exits() {
	lib_login_init a || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	d=$(lib_pids daemon)
	apid=$(lib_pids agent)
	# Held stopped, the agent cannot act on its SIGTERM: the supervisor
	# stays in its exiting state until the grace ends in SIGKILL.
	kill -STOP "$apid"
	kill -KILL "$sid"
	# Exiting, it takes no new clients: its control socket goes first.
	assertTrue "the control socket closes" \
	    "lib_wait 15 test ! -e '$CTL'"
	assertTrue "the old supervisor still waits for its agent" \
	    "lib_alive $d"
	lib_login_init b || return 0
	assertEquals "init while exiting: $(cat "$T/b.ierr")" 0 "$rc"
	assertTrue "the stuck agent was killed" "lib_gone $apid"
	assertTrue "the old supervisor is gone" "lib_gone $d"
	apid2=$(lib_pids agent)
	assertEquals "one agent" 1 "$(lib_count agent)"
	assertEquals "one supervisor" 1 "$(lib_count daemon)"
	assertEquals "init names the new agent" "$apid2" \
	    "$(lib_var "$T/b.env" SSH_AGENT_PID)"
	SSH_AUTH_SOCK=$SOCK timeout -k 2 10 ssh-add -l >/dev/null 2>&1
	assertEquals "ssh-add -l answers (no keys)" 1 $?
	assertTrue "the environment file names the new agent" \
	    "grep -q 'SSH_AGENT_PID=$apid2;' '$ENVFILE'"
}

# fds_to PID FILE: how many of PID's descriptors are open on FILE.
fds_to() {
	_n=0
	for _f in /proc/"$1"/fd/*; do
		[ "$(readlink "$_f" 2>/dev/null)" = "$2" ] && _n=$((_n + 1))
	done
	echo "$_n"
}

# A login shell's open descriptors (here fd 7 on a file) do not end up
# in the supervisor or the agent it starts.
test_login_descriptors_not_inherited() {
	: >"$T/a.marker.ro"
	lib_login a 'exec 7<"$0.marker.ro"
sshenv init -s >"$0.env" 2>"$0.ierr"
echo $? >"$0.rc"
sleep 300' || return 0
	lib_wait 30 test -s "$T/a.rc"
	assertEquals "init: $(cat "$T/a.ierr")" 0 "$(cat "$T/a.rc")" ||
		return 0
	assertEquals "the login holds it" 1 "$(fds_to "$sid" "$T/a.marker.ro")"
	assertEquals "the supervisor does not" 0 \
	    "$(fds_to "$(lib_pids daemon)" "$T/a.marker.ro")"
	assertEquals "the agent does not" 0 \
	    "$(fds_to "$(lib_pids agent)" "$T/a.marker.ro")"
}

# One user on one host reaches one supervisor whatever the environment
# says: a login without XDG_RUNTIME_DIR (its runtime dir then under
# ~/.ssh/agent/) and a job with it find the same one; the job's shell is
# not told that sshenv's own agent is "forwarded"; and the environment
# file keeps naming the live agent.
test_one_supervisor_whatever_the_environment() {
	lib_login_init_noxdg a || return 0
	assertEquals "init without XDG_RUNTIME_DIR: $(cat "$T/a.ierr")" 0 \
	    "$rc" || return 0
	sock=$(lib_var "$T/a.env" SSH_AUTH_SOCK)
	case $sock in
	"$HOME"/.ssh/agent/sshenv-*/agent.sock) ;;
	*) fail "not under ~/.ssh/agent: $sock"; return 0 ;;
	esac
	assertEquals "mode of ~/.ssh/agent" 700 "$(stat -c %a "$HOME/.ssh/agent")"
	# A job with XDG_RUNTIME_DIR set ($T/run, where nothing runs).
	timeout -k 2 15 sshenv env -s >"$T/j.env" 2>"$T/j.err"
	assertEquals "sshenv env from the other environment: $(cat "$T/j.err")" \
	    0 $?
	assertEquals "the same agent" "$sock" "$(lib_var "$T/j.env" SSH_AUTH_SOCK)"
	lib_login_fg b "SSH_AUTH_SOCK='$sock' \
SSH_CONNECTION='127.0.0.1 50000 127.0.0.1 22' sshenv init -s"
	assertEquals "init from the other environment: $err" 0 "$rc"
	assertEquals "init names the same agent" "$sock" \
	    "$(lib_var "$T/b.out" SSH_AUTH_SOCK)"
	assertNotContains "sshenv's own agent is not 'forwarded': $err" \
	    "$err" "forwarded"
	assertEquals "one supervisor" 1 "$(lib_count daemon)"
	assertEquals "one agent" 1 "$(lib_count agent)"
	assertTrue "the environment file names it" \
	    "grep -q 'SSH_AUTH_SOCK=$sock;' '$ENVFILE'"
}

# The session is the one the kernel names for the client, not the one it
# says: from another pid namespace (a container sharing home and runtime
# dir) init's own getsid() names some other process here (in a new
# namespace with --fork, pid 1's session: here pid 1, which never ends).
# The login must still end everything when it ends.
test_session_from_another_pid_namespace() {
	if [ "$(id -u)" -ne 0 ] ||
	    ! unshare --pid --fork --mount-proc true 2>/dev/null
	then
		echo "SKIP: needs root and pid namespaces"
		return 0
	fi
	lib_login_init a || return 0
	# A login in a pid namespace of its own, as in a container that
	# shares home and runtime dir: its leader is pid 2 in there, which
	# is someone else here (kthreadd, say, which never ends).
	# Its own /proc too: ASan's leak check reads /proc/<its pid>.
	unshare --pid --fork --mount-proc --kill-child setsid sh -c \
	    'sshenv init -s >"$0.env" 2>"$0.ierr"; echo $? >"$0.rc"
exec sleep 301' "$T/b" </dev/null >/dev/null 2>&1 &
	lib_track $!
	lib_wait 30 test -s "$T/b.rc"
	# The portable build has no SO_PEERCRED: it cannot tell, and says so
	# rather than watch pid 1 of the namespace or someone else here; the
	# login gets its agent all the same.
	case ${SSHENV_BUILD:-} in
	*portable*)
		assertEquals "served: $(cat "$T/b.ierr")" 0 "$(cat "$T/b.rc")"
		assertEquals "the agent" "$SOCK" \
		    "$(lib_var "$T/b.env" SSH_AUTH_SOCK)"
		assertContains "and told why it is not watched" \
		    "$(cat "$T/b.ierr")" "cannot tell your login session"
		kill -KILL "$sid"
		assertTrue "the login's end ends everything" \
		    "lib_wait 15 lib_none_left"
		return 0
		;;
	esac
	assertEquals "init in a pid namespace: $(cat "$T/b.ierr")" 0 \
	    "$(cat "$T/b.rc")" || return 0
	inner=$(pgrep -f '^sleep 301$' | head -n 1)
	assertNotEquals "the inner login" "" "$inner" || return 0
	assertTrue "its real session is watched: $(lib_status sessions)" \
	    "lib_has $inner '$(lib_status sessions)'"
	# Both logins end: so does everything.
	kill -KILL "$sid" "$inner"
	assertTrue "the logins' end ends everything" \
	    "lib_wait 15 lib_none_left"
}

# A login whose session the supervisor cannot tell at all (supervisor and
# login in a pid namespace whose session leader is outside it, as in a
# container or a CI job started without a session of its own): it still
# gets its agent, is told it is not watched, and its logout succeeds
# without ending the agent under it.
test_login_whose_session_cannot_be_told() {
	if [ "$(id -u)" -ne 0 ] ||
	    ! unshare --pid --fork --mount-proc true 2>/dev/null
	then
		echo "SKIP: needs root and pid namespaces"
		return 0
	fi
	timeout -k 2 60 unshare --pid --fork --mount-proc --kill-child \
	    sh -c '
sshenv init -s >"$0.env" 2>"$0.ierr"; echo $? >"$0.rc"
. "$0.env"
ssh-add -l >/dev/null 2>&1; echo $? >"$0.l1"
sshenv logout 2>"$0.lerr"; echo $? >"$0.lrc"
ssh-add -l >/dev/null 2>&1; echo $? >"$0.l2"
sshenv stop -q; echo $? >"$0.src"' "$T/b" </dev/null >/dev/null 2>&1
	assertEquals "init: $(cat "$T/b.ierr")" 0 "$(cat "$T/b.rc")"
	assertEquals "the agent" "$SOCK" "$(lib_var "$T/b.env" SSH_AUTH_SOCK)"
	assertContains "told why it is not watched" "$(cat "$T/b.ierr")" \
	    "cannot tell your login session"
	assertEquals "the agent answers (no keys)" 1 "$(cat "$T/b.l1")"
	assertEquals "logout: $(cat "$T/b.lerr")" 0 "$(cat "$T/b.lrc")"
	assertEquals "the agent still answers after it" 1 "$(cat "$T/b.l2")"
	assertEquals "stop" 0 "$(cat "$T/b.src")"
	assertTrue "stop ended everything" "lib_wait 15 lib_none_left"
}

test_killed_agent_restarts() {
	lib_login_init a || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	old=$(lib_status agent_pid)
	assertEquals "agent pid" "$(lib_pids agent)" "$old"
	kill -KILL "$old"
	lib_wait 5 agent_changed "$old"
	new=$(lib_status agent_pid)
	assertNotEquals "a new agent" "$old" "$new"
	assertEquals "agents" "$new" "$(lib_pids agent)"
	assertEquals "socket path" "$SOCK" "$(lib_status socket)"
	lib_answers
	assertEquals "ssh-add -l at the old SSH_AUTH_SOCK: $out" 1 "$rc"
	# ~/.ssh/environment follows the new agent.
	lib_wait 5 env_pid_is "$new"
	assertEquals "$ENVFILE pid" "$new" "$(lib_var "$ENVFILE" \
	    SSH_AGENT_PID)"
	assertEquals "agent.pid" "$new" "$(cat "$RUNDIR/agent.pid")"
	# Status, and doctor, say when and why the keys were lost.
	assertContains "status: the loss" "$(lib_status agent_lost)" \
	    "killed by signal 9"
	timeout -k 2 15 sshenv doctor >"$T/doctor.out" 2>&1
	assertContains "doctor: the loss: $(cat "$T/doctor.out")" \
	    "$(cat "$T/doctor.out")" "killed by signal 9"
}

env_pid_is() {
	[ "$(lib_var "$ENVFILE" SSH_AGENT_PID)" = "$1" ]
}

test_killed_supervisor_agent_adopted() {
	lib_login_init a || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	sid_a=$sid
	agent=$(lib_status agent_pid)
	sv=$(lib_status supervisor_pid)
	assertEquals "supervisor pid" "$(lib_pids daemon)" "$sv"
	kill -KILL "$sv"
	lib_wait 5 lib_gone "$sv"
	assertEquals "the agent outlives its supervisor" "$agent" \
	    "$(lib_pids agent)"
	lib_login_init b || return 0
	assertEquals "init after the kill: $(cat "$T/b.ierr")" 0 "$rc"
	assertEquals "printed agent pid" "$agent" \
	    "$(lib_var "$T/b.env" SSH_AGENT_PID)"
	assertEquals "status agent pid" "$agent" "$(lib_status agent_pid)"
	assertNotEquals "a new supervisor" "$sv" \
	    "$(lib_status supervisor_pid)"
	assertEquals "agents" "$agent" "$(lib_pids agent)"
	assertEquals "supervisors" 1 "$(lib_count daemon)"
	lib_answers
	assertEquals "ssh-add -l: $out" 1 "$rc"
	sessions=$(lib_status sessions)
	assertTrue "the first session is still known: [$sessions]" \
	    "lib_has $sid_a '$sessions'"
	assertTrue "the second session: [$sessions]" \
	    "lib_has $sid '$sessions'"
	assertEquals "status: adopted" adopted "$(lib_status agent_state)"
	# The last session ends: the adopted agent (not our child, so only
	# polled) is stopped, not taken for dead and started again, and
	# everything goes.
	kill -KILL "$sid_a" "$sid"
	assertTrue "all gone after the last logout" "lib_wait 15 lib_none_left"
	assertFalse "the environment file stays" "[ -e '$ENVFILE' ]"
	assertFalse "the agent socket stays" "[ -e '$SOCK' ]"
}

test_new_login_within_linger_keeps_agent() {
	# A longer linger, so that "within" does not depend on timing.
	lib_config '[session]' 'linger = 3'
	lib_login_fg a 'sshenv init -s'
	assertEquals "first init exit status: $err" 0 "$rc"
	agent=$(lib_var "$T/a.out" SSH_AGENT_PID)
	lib_wait 5 no_sessions
	assertTrue "the first session has ended" no_sessions
	lib_login_init b || return 0
	assertEquals "second init exit status: $(cat "$T/b.ierr")" 0 "$rc"
	assertEquals "the same agent" "$agent" \
	    "$(lib_var "$T/b.env" SSH_AGENT_PID)"
	# The linger timer of the first session is cancelled: it cannot
	# fire later.
	assertTrue "linger stopped by the new login" not_lingering
	assertEquals "agent after the new login" "$agent" "$(lib_pids agent)"
	lib_answers
	assertEquals "ssh-add -l: $out" 1 "$rc"
}

test_stop_ends_everything_now() {
	lib_login_init a || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	assert_running "one login"
	timeout -k 2 15 sshenv stop -s </dev/null >"$T/stop.out" \
	    2>"$T/stop.err"
	assertEquals "stop exit status: $(cat "$T/stop.err")" 0 "$?"
	assertEquals "stop prints the unset snippet" "unset SSH_AUTH_SOCK;
unset SSH_AGENT_PID;" "$(cat "$T/stop.out")"
	lib_wait 5 all_clean
	assert_clean "stop"
	assertTrue "the login still runs" "lib_alive $sid"
}

test_stale_state_after_crash() {
	lib_login_init a || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	sv=$(lib_status supervisor_pid)
	agent=$(lib_status agent_pid)
	# A crash: supervisor first (or it would restart the agent), then
	# the agent and the login.  Their files stay behind.
	kill -KILL "$sv"
	lib_wait 5 lib_gone "$sv"
	kill -KILL "$agent" "$sid"
	lib_wait 5 lib_gone "$agent"
	assertTrue "stale sockets" "[ -S '$SOCK' ] && [ -S '$CTL' ]"
	assertEquals "stale $ENVFILE" "$agent" \
	    "$(lib_var "$ENVFILE" SSH_AGENT_PID)"
	lib_login_init b || return 0
	assertEquals "init over stale state: $(cat "$T/b.ierr")" 0 "$rc"
	new=$(lib_var "$T/b.env" SSH_AGENT_PID)
	assertNotEquals "a new agent" "$agent" "$new"
	assertEquals "the agent process" "$new" "$(lib_pids agent)"
	assertEquals "supervisors" 1 "$(lib_count daemon)"
	lib_answers
	assertEquals "ssh-add -l: $out" 1 "$rc"
	assertEquals "$ENVFILE rewritten" "$new" \
	    "$(lib_var "$ENVFILE" SSH_AGENT_PID)"
	assertEquals "agent.pid" "$new" "$(cat "$RUNDIR/agent.pid")"
	assertEquals "sessions: the dead one dropped" "$sid" \
	    "$(lib_status sessions)"
}

test_other_hosts_environment_file_kept() {
	lib_login_init a || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	# A shared home: another host's supervisor has rewritten the file.
	printf '%s\n' '# sshenv environment file for host elsewhere.example' \
	    "SSH_AUTH_SOCK=$SOCK; export SSH_AUTH_SOCK;" \
	    'SSH_AGENT_PID=4242; export SSH_AGENT_PID;' >"$T/other"
	cp "$T/other" "$ENVFILE"
	kill -KILL "$sid"
	lib_wait 10 lib_none_left
	assertTrue "stopped" lib_none_left
	assertTrue "the other host's file removed or changed" \
	    "cmp -s '$T/other' '$ENVFILE'"
}

# forwarded_agent: an OpenSSH agent standing for the one sshd forwards.
forwarded_agent() {
	ssh-agent -D -a "$T/fwd.sock" </dev/null >/dev/null 2>&1 &
	lib_track $!
	lib_wait 5 test -S "$T/fwd.sock"
}

# init_from_ssh SOCK: `sshenv init -s` in a login as sshd starts it,
# with SSH_AUTH_SOCK=SOCK.
init_from_ssh() {
	lib_login_fg a "SSH_AUTH_SOCK='$1' \
SSH_CONNECTION='127.0.0.1 50000 127.0.0.1 22' sshenv init -s"
}

test_forwarded_agent_kept() {
	lib_config '[agent]' 'forwarded = keep'
	forwarded_agent
	init_from_ssh "$T/fwd.sock"
	assertEquals "init exit status: $err" 0 "$rc"
	# ... and names no pid: the shell's agent is not our process.
	assertEquals "the snippet leaves SSH_AUTH_SOCK alone" \
	    "unset SSH_AGENT_PID;" "$out"
	assertContains "init says so: $err" "$err" "$T/fwd.sock"
	assertEquals "our agent runs all the same" 1 "$(lib_count agent)"
}

# follow (the default): the shell gets the stable socket, where the
# forwarded agent's keys come first, then ours; its login's end drops it.
test_forwarded_agent_followed() {
	forwarded_agent
	lib_key fk
	SSH_AUTH_SOCK=$T/fwd.sock timeout -k 2 15 ssh-add -q "$HOME/.ssh/fk" \
	    </dev/null >/dev/null 2>&1
	lib_key own
	lib_login a "SSH_AUTH_SOCK='$T/fwd.sock' \
SSH_CONNECTION='127.0.0.1 50000 127.0.0.1 22' \
sshenv init -s \"\$HOME/.ssh/own\" >\"\$0.env\" 2>\"\$0.ierr\"
echo \$? >\"\$0.rc\"
. \"\$0.env\"
ssh-add -l >\"\$0.list\" 2>&1
exec sleep 300" || return 0
	lib_wait 30 test -s "$T/a.list"
	assertEquals "init: $(cat "$T/a.ierr")" 0 "$(cat "$T/a.rc")"
	assertEquals "the stable socket" "$SOCK" \
	    "$(lib_var "$T/a.env" SSH_AUTH_SOCK)"
	fk=$(ssh-keygen -lf "$HOME/.ssh/fk.pub" | cut -d' ' -f2)
	own=$(ssh-keygen -lf "$HOME/.ssh/own.pub" | cut -d' ' -f2)
	assertEquals "the forwarded agent's key first, then ours: \
$(cat "$T/a.list")" "$fk $own" \
	    "$(cut -d' ' -f2 "$T/a.list" | tr '\n' ' ' | sed 's/ $//')"
	# status names it, with what it holds.
	out=$(sshenv status 2>&1)
	assertContains "status lists it: $out" "$out" \
	    "forwarded to session $sid: $T/fwd.sock, 1 key"
	# doctor says which agent each key comes from.
	out=$(sshenv doctor 2>&1)
	assertContains "doctor names the source: $out" "$out" \
	    "ok   the forwarded agent of session $sid at $T/fwd.sock brings 1 key: fk@sshenv-test"
	# The login ends: its agent is no longer followed.
	kill -KILL "$sid"
	lib_wait 10 eval '[ "$(SSH_AUTH_SOCK=$SOCK ssh-add -l 2>/dev/null |
	    cut -d" " -f2)" = "$own" ]'
	assertEquals "ours alone after the login's end" "$own" \
	    "$(SSH_AUTH_SOCK=$SOCK ssh-add -l 2>/dev/null | cut -d' ' -f2)"
}

# [agent] upstream: an agent the user already runs joins the view, after
# forwarded ones and before ours; one in a directory others may write to
# is not used.
test_configured_upstream() {
	mkdir -m 0700 "$T/mine"
	mkdir -m 0777 "$T/open"
	for d in mine open; do
		ssh-agent -D -a "$T/$d/agent.sock" </dev/null >/dev/null 2>&1 &
		lib_track $!
	done
	lib_wait 5 test -S "$T/open/agent.sock"
	lib_key up1
	lib_key up2
	SSH_AUTH_SOCK=$T/mine/agent.sock ssh-add -q "$HOME/.ssh/up1" \
	    </dev/null >/dev/null 2>&1
	SSH_AUTH_SOCK=$T/open/agent.sock ssh-add -q "$HOME/.ssh/up2" \
	    </dev/null >/dev/null 2>&1
	lib_config '[agent]' \
	    "upstream = $T/open/agent.sock $T/mine/agent.sock"
	lib_login_init a || return 0
	assertEquals "init: $(cat "$T/a.ierr")" 0 "$rc"
	up1=$(ssh-keygen -lf "$HOME/.ssh/up1.pub" | cut -d' ' -f2)
	lib_wait 10 eval '[ "$(SSH_AUTH_SOCK=$SOCK ssh-add -l 2>/dev/null |
	    cut -d" " -f2)" = "$up1" ]'
	assertEquals "the user's own agent, not the open one" "$up1" \
	    "$(SSH_AUTH_SOCK=$SOCK ssh-add -l 2>/dev/null | cut -d' ' -f2)"
	out=$(sshenv status 2>&1)
	assertContains "status lists it: $out" "$out" \
	    "configured: $T/mine/agent.sock, 1 key"
}

# [agent] providers and allow_remote_providers reach the agent the
# supervisor starts (-P, -O allow-remote-pkcs11); what the agent does with
# them is test_pkcs11_sshenv's and test_tokens'.
test_providers_reach_the_agent() {
	lib_config '[agent]' 'providers = /nonexistent/*.so' \
	    'allow_remote_providers = yes'
	lib_login_init a || return 0
	assertEquals "init: $(cat "$T/a.ierr")" 0 "$rc"
	agent=$(lib_pids agent)
	args=$(tr '\0' ' ' <"/proc/$agent/cmdline")
	assertContains "the allowlist: $args" "$args" ' -P /nonexistent/*.so '
	assertContains "remote adds allowed: $args" "$args" \
	    ' -O allow-remote-pkcs11'
	lib_config ''
	sshenv reload >/dev/null 2>&1
	sshenv stop -q >/dev/null 2>&1
	lib_login_init b || return 0
	agent=$(lib_pids agent)
	args=$(tr '\0' ' ' <"/proc/$agent/cmdline")
	assertNotContains "by default no -P: the agent's own list: $args" \
	    "$args" ' -P '
	assertNotContains "nor remote adds: $args" "$args" \
	    ' -O allow-remote-pkcs11'
	assertContains "forwarded = follow: sshd's sockets too: $args" \
	    "$args" ' -O discover-forwarded'
}

test_forwarded_agent_ignored() {
	lib_config '[agent]' 'forwarded = ignore'
	forwarded_agent
	init_from_ssh "$T/fwd.sock"
	assertEquals "init exit status: $err" 0 "$rc"
	assertEquals "the snippet's socket" "$SOCK" \
	    "$(lib_var "$T/a.out" SSH_AUTH_SOCK)"
}

test_dead_forwarded_agent_replaced() {
	init_from_ssh "$T/gone.sock"
	assertEquals "init exit status: $err" 0 "$rc"
	assertEquals "the snippet's socket" "$SOCK" \
	    "$(lib_var "$T/a.out" SSH_AUTH_SOCK)"
}

test_config_keys_loaded() {
	lib_key id_test
	lib_config '[agent]' 'keys = id_test'
	lib_login_init a || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	lib_sa -l
	assertEquals "ssh-add -l status: $out" 0 "$rc"
	assertContains "key from the config: $out" "$out" " $fp "
	assertEquals "status: keys" 1 "$(lib_status keys)"
}

# Ctrl-C at init's passphrase prompt, in a real login on a terminal: a
# wrong passphrase, then Ctrl-C (SIGINT to the foreground process group,
# sent by the terminal).  That key is skipped, with a word, and the shell
# still gets its snippet and goes on with its profile.
test_ctrl_c_at_the_passphrase_prompt() {
	mkdir -m 0700 "$HOME/.ssh"
	ssh-keygen -q -t ed25519 -N 'open sesame' -C enc@sshenv-test \
	    -f "$HOME/.ssh/id_enc" </dev/null >/dev/null
	# shellcheck disable=SC2016 # for the login shell
	# (/etc/profile sets PATH afresh: ours first again.)
	printf '%s\n' "PATH=$T/bin:\$PATH" \
	    'eval "$(sshenv init -s id_enc)"' \
	    'echo "SOCK=$SSH_AUTH_SOCK END"' 'exit 0' >"$HOME/.bash_profile"
	# Ctrl-C once ssh-add is in read(2): between its prompt and the read
	# a SIGINT is only noted (readpassphrase), and the read waits on.
	timeout -k 2 90 "$PY" "$lib_top/tests/shell/ptylogin.py" "$T/pty.out" \
	    'expect:Enter passphrase' 'send:wrong\n' \
	    'expect:try again' 'reading:' 'send:\x03' 'expect:END' \
	    >"$T/pty.err" 2>&1
	assertEquals "the login ran to its end: $(cat "$T/pty.err") \
$(cat "$T/pty.out")" 0 $?
	assertContains "init says the key was skipped: $(cat "$T/pty.out")" \
	    "$(cat "$T/pty.out")" "id_enc skipped (interrupted)"
	assertContains "the shell got its snippet: $(cat "$T/pty.out")" \
	    "$(cat "$T/pty.out")" "SOCK=$SOCK END"
}

# pty_login NAME PRELUDE: `bash --login` on a real terminal whose profile
# runs PRELUDE, then the init line, then prints what the shell got; the
# transcript in $T/NAME.pty.  $rc: 0 when the login ran to its end.
pty_login() {
	# shellcheck disable=SC2016 # for the login shell
	# (/etc/profile sets PATH afresh: ours first again.)
	printf '%s\n' "PATH=$T/bin:\$PATH" "$2" \
	    'eval "$(sshenv init -s)"' \
	    'echo "XDG=${XDG_RUNTIME_DIR:-unset}."' \
	    'echo "GOT SOCK=$SSH_AUTH_SOCK PID=${SSH_AGENT_PID:-none} END"' \
	    'exit 0' >"$HOME/.bash_profile"
	timeout -k 2 90 "$PY" "$lib_top/tests/shell/ptylogin.py" \
	    "$T/$1.pty" 'expect:END' >"$T/$1.ptyerr" 2>&1
	rc=$?
	out=$(tr -d '\r' <"$T/$1.pty")
}

# The three other bugs of the "one line, every shell" promise, each
# through a real login on a terminal: (1) a login with XDG_RUNTIME_DIR
# reaches the supervisor a login without it started; (3) a bad line in
# the configuration costs the login nothing but a word; (4) under a
# forwarded agent the shell gets no SSH_AGENT_PID of ours.
test_pty_logins_get_their_agent() {
	mkdir -m 0700 "$HOME/.ssh"
	lib_login_init_noxdg a || return 0
	assertEquals "init without XDG_RUNTIME_DIR: $(cat "$T/a.ierr")" 0 \
	    "$rc" || return 0
	sock=$(lib_var "$T/a.env" SSH_AUTH_SOCK)
	pid=$(lib_var "$T/a.env" SSH_AGENT_PID)
	pty_login one ''
	assertEquals "(1) the login ran: $(cat "$T/one.ptyerr") $out" 0 "$rc"
	assertContains "(1) the same agent: $out" "$out" \
	    "GOT SOCK=$sock PID=$pid END"
	assertContains "(1) the login had XDG_RUNTIME_DIR" "$out" \
	    "XDG=$XDG_RUNTIME_DIR."
	assertEquals "(1) one supervisor" 1 "$(lib_count daemon)"

	printf '[session]\nlinger = 5x\n' >"$XDG_CONFIG_HOME/sshenv/config"
	pty_login three ''
	assertEquals "(3) the login ran: $(cat "$T/three.ptyerr") $out" 0 \
	    "$rc"
	assertContains "(3) its agent: $out" "$out" "GOT SOCK=$sock PID=$pid END"
	assertEquals "(3) the line named once: $out" 1 \
	    "$(printf '%s\n' "$out" |
	    grep -c "$XDG_CONFIG_HOME/sshenv/config:2:")"
	# (4) as it was met, with forwarded agents kept for the shell.
	printf '[agent]\nforwarded = keep\n' >"$XDG_CONFIG_HOME/sshenv/config"

	forwarded_agent
	pty_login four "SSH_AUTH_SOCK=$T/fwd.sock SSH_AGENT_PID=$pid \
SSH_CONNECTION='127.0.0.1 50000 127.0.0.1 22'; \
export SSH_AUTH_SOCK SSH_AGENT_PID SSH_CONNECTION"
	assertEquals "(4) the login ran: $(cat "$T/four.ptyerr") $out" 0 "$rc"
	assertContains "(4) the forwarded agent, no pid of ours: $out" \
	    "$out" "GOT SOCK=$T/fwd.sock PID=none END"
}

# ---- a throwaway user account, for what depends on /run/user/UID

RU_USER=''	# the account, while a test has one
RU_DIR=''	# its files: home, a copy of sshenv, the logins' output
RU_RUN=''	# its /run/user/UID
RU_MADE=''	# /run/user, when the test made it

# ru_setup: a new user whose /run/user/UID is its own, as pam_systemd
# makes it; 1 (the test skips) without root or useradd.
ru_setup() {
	[ "$(id -u)" -eq 0 ] && command -v useradd >/dev/null &&
	    command -v runuser >/dev/null || return 1
	RU_DIR=$(mktemp -d /tmp/sshenv-u.XXXXXX) || return 1
	chmod 0755 "$RU_DIR"
	mkdir "$RU_DIR/bin" "$RU_DIR/out"
	sshenv_copy "$RU_DIR/bin" || return 1
	chmod -R a+rX "$RU_DIR/bin"
	RU_USER=sshenvt$$
	useradd -M -d "$RU_DIR/home" -s /bin/sh "$RU_USER" || {
		RU_USER=''
		return 1
	}
	mkdir -m 0700 "$RU_DIR/home"
	chown "$RU_USER:" "$RU_DIR/home" "$RU_DIR/out"
	RU_RUN=/run/user/$(id -u "$RU_USER")
	[ ! -e "$RU_RUN" ] || return 1
	RU_MADE=''
	if [ ! -d /run/user ]; then
		mkdir -m 0755 /run/user && RU_MADE=/run/user
	fi
	mkdir -m 0700 "$RU_RUN"
	chown "$RU_USER:" "$RU_RUN"
}

# ru VAR=value... -- CMD...: CMD as the user, in a clean environment
# (HOME, PATH with our copy first, and the VARs given).
ru() {
	_env="HOME=$RU_DIR/home PATH=$RU_DIR/bin:/usr/bin:/bin SHELL=/bin/sh"
	while [ "$1" != -- ]; do
		_env="$_env $1"
		shift
	done
	shift
	# shellcheck disable=SC2086 # a list of VAR=value words
	runuser -u "$RU_USER" -- env -i $_env "$@"
}

ru_cleanup() {
	[ -n "$RU_USER" ] || return 0
	pkill -KILL -u "$RU_USER" 2>/dev/null
	lib_wait 5 eval '! pgrep -u "$RU_USER" >/dev/null'
	userdel "$RU_USER" 2>/dev/null
	rm -rf "$RU_RUN" "$RU_DIR"
	[ -z "$RU_MADE" ] || rmdir "$RU_MADE" 2>/dev/null
	RU_USER=''
}

# Issue 10's first bug as it was met: logins with XDG_RUNTIME_DIR set to
# /run/user/UID, and a job (cron) without it.  The job must reach the
# login's supervisor, not start a second one, and doctor must see one.
test_job_without_xdg_reaches_the_logins_agent() {
	if ! ru_setup; then
		echo "SKIP: needs root, useradd and a free /run/user/UID"
		return 0
	fi
	ru XDG_RUNTIME_DIR="$RU_RUN" -- setsid sh -c \
	    'sshenv init -s >"$0.env" 2>"$0.err"; echo $? >"$0.rc"
exec sleep 300' "$RU_DIR/out/a" </dev/null >/dev/null 2>&1 &
	lib_track $!
	lib_wait 30 test -s "$RU_DIR/out/a.rc"
	assertEquals "the login's init: $(cat "$RU_DIR/out/a.err")" 0 \
	    "$(cat "$RU_DIR/out/a.rc")" || return 0
	sock=$(lib_var "$RU_DIR/out/a.env" SSH_AUTH_SOCK)
	assertEquals "the login's agent is in /run/user/UID" \
	    "$RU_RUN/sshenv/agent.sock" "$sock" || return 0
	# The job: no XDG_RUNTIME_DIR, no session of its own to register.
	out=$(ru -- sshenv env -s 2>&1)
	assertEquals "sshenv env in the job: $out" 0 $?
	assertContains "the job reaches the same agent: $out" "$out" \
	    "SSH_AUTH_SOCK=$sock;"
	out=$(ru -- setsid -w sshenv init -s 2>&1)
	assertEquals "sshenv init in the job: $out" 0 $?
	assertContains "init too: $out" "$out" "SSH_AUTH_SOCK=$sock;"
	assertNotContains "not called forwarded: $out" "$out" "forwarded"
	assertEquals "one supervisor for the user" 1 \
	    "$(pgrep -c -u "$RU_USER" -f "$RU_DIR/bin/sshenv-supervisor")"
	out=$(ru SSH_AUTH_SOCK="$sock" -- sshenv doctor 2>&1)
	assertNotContains "doctor sees one: $out" "$out" "second sshenv"
	assertTrue "the environment file names it" \
	    "grep -q 'SSH_AUTH_SOCK=$sock;' '$RU_DIR/home/.ssh/environment'"
	ru -- sshenv stop -q >/dev/null 2>&1
}

test_key_with_passphrase() {
	mkdir -m 0700 "$HOME/.ssh"
	ssh-keygen -q -t ed25519 -N 'open sesame' -C enc@sshenv-test \
	    -f "$HOME/.ssh/id_enc" </dev/null >/dev/null
	fp=$(ssh-keygen -lf "$HOME/.ssh/id_enc.pub" | cut -d' ' -f2)
	# No terminal in a setsid login: init must not wait for a
	# passphrase, and must still print the snippet.
	lib_login_init a id_enc || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	assertEquals "the snippet's socket" "$SOCK" \
	    "$(lib_var "$T/a.env" SSH_AUTH_SOCK)"
	assertContains "init says why the key is missing" \
	    "$(cat "$T/a.ierr")" "no terminal to ask for its passphrase"
	assertNotContains "no stray prompt without a terminal" \
	    "$(cat "$T/a.ierr")" "Enter passphrase"
	lib_sa -l
	assertEquals "ssh-add -l: $out" 1 "$rc"
	# The user adds it once, by hand (here through SSH_ASKPASS).
	printf '#!/bin/sh\necho "open sesame"\n' >"$T/askpass"
	chmod 0755 "$T/askpass"
	SSH_AUTH_SOCK=$SOCK SSH_ASKPASS=$T/askpass SSH_ASKPASS_REQUIRE=force \
	    DISPLAY=:sshenv-test timeout -k 2 15 setsid -w ssh-add \
	    "$HOME/.ssh/id_enc" </dev/null >/dev/null 2>&1
	assertEquals "ssh-add with the passphrase" 0 "$?"
	# A later login that names the key: the agent has it, so nothing
	# is asked and nothing is said.
	lib_login_init b id_enc || return 0
	assertEquals "second init exit status: $(cat "$T/b.ierr")" 0 "$rc"
	assertEquals "second init's errors" "" "$(cat "$T/b.ierr")"
	lib_sa -l
	assertEquals "keys listed" 1 "$(echo "$out" | grep -c " $fp ")"
}

# `sshenv status` tells each key (type, fingerprint, comment, the file it
# came from, its constraints) and each session (terminal, where the login
# came from, age), in words and in JSON.
test_status_details() {
	mkdir -m 0700 "$HOME/.ssh"
	ssh-keygen -q -t ed25519 -N '' -C me@sshenv-test \
	    -f "$HOME/.ssh/id_ed25519" </dev/null >/dev/null
	ssh-keygen -q -t ecdsa -N '' -C other@sshenv-test -f "$T/other" \
	    </dev/null >/dev/null
	fp=$(ssh-keygen -lf "$HOME/.ssh/id_ed25519.pub" | cut -d' ' -f2)
	fp2=$(ssh-keygen -lf "$T/other.pub" | cut -d' ' -f2)
	SSH_CONNECTION='192.0.2.7 40000 127.0.0.1 22' lib_login_init a ||
		return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	lib_sa -c -t 600 "$HOME/.ssh/id_ed25519"
	assertEquals "ssh-add -c -t: $out" 0 "$rc"
	lib_sa "$T/other"
	assertEquals "ssh-add: $out" 0 "$rc"
	# A comment is whatever a client sent: an escape sequence and a byte
	# that is no UTF-8 are shown as '?', in words and in JSON.
	ssh-keygen -q -t ed25519 -N '' -C "$(printf 'esc\033[31m\377')" \
	    -f "$T/odd" </dev/null >/dev/null
	lib_sa "$T/odd"
	assertEquals "ssh-add odd: $out" 0 "$rc"
	# A fifo among the public keys must not hang status.
	mkfifo "$HOME/.ssh/fifo.pub"
	out=$(timeout -k 2 15 sshenv status 2>&1)
	assertEquals "status: $out" 0 $?
	assertContains "the first key: $out" "$out" \
	    "  ssh-ed25519 $fp me@sshenv-test [~/.ssh/id_ed25519] confirm "
	assertContains "its lifetime: $out" "$out" "m left"
	assertNotContains "no escape reaches the terminal" "$out" "$(printf '\033')"
	assertContains "the second key: $out" "$out" \
	    "  ecdsa-sha2-nistp256 $fp2 other@sshenv-test
"
	# (The portable build reads no /proc, as on the BSDs: unknowns.)
	case ${SSHENV_BUILD:-} in
	*portable*) tty='?' from='?' ;;
	*) tty='no tty' from='ssh from 192.0.2.7' ;;
	esac
	assertContains "the session: $out" "$out" "  $sid $tty, $from, "
	sshenv status --json >"$T/status.json"
	assertContains "the odd comment: $out" "$out" " esc?[31m?
"
	"$PY" - "$T/status.json" "$HOME/.ssh/id_ed25519" "$fp" "$fp2" \
	    "$sid" "$tty" "$from" >"$T/check.out" 2>&1 <<'EOF'
import json, sys
path, file, fp, fp2, sid, tty, frm = sys.argv[1:]
d = json.load(open(path, encoding="utf-8"))
k = d["key_list"]
want = [{"type": "ssh-ed25519", "fingerprint": fp,
         "comment": "me@sshenv-test", "file": file, "loaded": True,
         "confirm": True,
         "destinations": 0, "forwarding": "allow", "last_used_ago": None},
        {"type": "ecdsa-sha2-nistp256", "fingerprint": fp2,
         "comment": "other@sshenv-test", "file": None, "loaded": True,
         "confirm": False,
         "destinations": 0, "forwarding": "allow", "last_used_ago": None,
         "lifetime_left": None}]
got = [{x: y for x, y in e.items()
        if x != "lifetime_left" or w.get(x, 0) is None}
       for e, w in zip(k, want)]
odd = k[2:] and k[2]["comment"]
k = k[:2]
if odd != "esc?[31m?":
    print("odd comment", repr(odd))
    sys.exit(1)
if len(k) != 2 or got[0] != {x: y for x, y in want[0].items()} or \
        got[1] != want[1] or not 500 < k[0]["lifetime_left"] <= 600:
    print("key_list", k)
    sys.exit(1)
s = d["session_list"]
if len(s) != 1 or s[0]["id"] != int(sid) or s[0]["tty"] != tty or \
        s[0]["from"] != frm or \
        not (0 <= s[0]["age"] < 600 if tty != "?" else s[0]["age"] is None):
    print("session_list", s)
    sys.exit(1)
EOF
	assertEquals "status --json: $(cat "$T/check.out")" 0 "$?"
	# Locked: the agent tells nothing of its keys, not even how many.
	printf '#!/bin/sh\necho pw\n' >"$T/askpass"
	chmod 0755 "$T/askpass"
	SSH_AUTH_SOCK=$SOCK SSH_ASKPASS=$T/askpass SSH_ASKPASS_REQUIRE=force \
	    DISPLAY=:sshenv-test timeout -k 2 15 setsid -w ssh-add -x \
	    </dev/null >/dev/null 2>&1
	assertEquals "ssh-add -x" 0 "$?"
	out=$(timeout -k 2 15 sshenv status 2>&1)
	assertContains "locked: $out" "$out" "keys hidden (locked)"
	assertEquals "JSON: no count while locked" "" "$(lib_status keys)"
	assertEquals "JSON: locked" true "$(lib_status locked)"
	assertNotContains "no key shown while locked: $out" "$out" "$fp"
}

# A bad line in the configuration never costs a login its agent, nor
# locks the user out: the rest of the file applies (linger = 1 on line 2
# stays), the bad line's key keeps its default, every command works and
# says once which line is wrong.
test_bad_config_costs_only_its_line() {
	printf '[session]\nlinger = 1\non_last_logout = 5x\n' \
	    >"$XDG_CONFIG_HOME/sshenv/config"
	where="$XDG_CONFIG_HOME/sshenv/config:3:"
	lib_login_init a || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	assertEquals "the snippet: $(cat "$T/a.env")" "$SOCK" \
	    "$(lib_var "$T/a.env" SSH_AUTH_SOCK)"
	assertContains "init names the line" "$(cat "$T/a.ierr")" "$where"
	assertEquals "said once" 1 "$(grep -c "$where" "$T/a.ierr")"
	for c in status "status --json" config doctor logout; do
		# shellcheck disable=SC2086 # a command of plain words
		timeout -k 2 15 sshenv $c </dev/null >"$T/o" 2>"$T/e"
		rc=$?
		case $c in
		doctor) assertEquals "sshenv doctor fails" 1 "$rc"
			assertEquals "doctor names the line once: $(cat "$T/o")" \
			    1 "$(grep -c "$where" "$T/o")" ;;
		status) assertEquals "sshenv status: $(cat "$T/e")" 0 "$rc"
			# Once, though the supervisor read the same line.
			assertEquals "status names the line once" 1 \
			    "$(cat "$T/o" "$T/e" | grep -c "$where")" ;;
		config) assertEquals "sshenv config" 0 "$rc"
			assertContains "config names the line: $(cat "$T/o")" \
			    "$(cat "$T/o")" "$where" ;;
		*) assertEquals "sshenv $c: $(cat "$T/e")" 0 "$rc"
		   assertContains "sshenv $c names the line" \
			"$(cat "$T/e")" "$where" ;;
		esac
	done
	assertEquals "the good line applies" \
	    "session.linger = 1	# $XDG_CONFIG_HOME/sshenv/config:2" \
	    "$(sshenv config 2>/dev/null | grep '^session.linger')"
	timeout -k 2 15 sshenv stop -q >/dev/null 2>"$T/e"
	assertEquals "sshenv stop: $(cat "$T/e")" 0 $?
	assertTrue "stop stopped everything" "lib_wait 10 lib_none_left"
}

# A reload (SIGHUP) refused for a bad line keeps the old settings and is
# told where the user looks, status and doctor, not only in a syslog that
# may not exist; a good reload clears it.
test_reload_refused_is_visible() {
	printf '[session]\nlinger = 7\n' >"$XDG_CONFIG_HOME/sshenv/config"
	lib_login_init a || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	assertEquals "no config error at first" "" "$(lib_status config_error)"
	printf '[session]\nlinger = 9\nlinger = 5x\n' \
	    >"$XDG_CONFIG_HOME/sshenv/config"
	kill -HUP "$(lib_pids daemon)"
	lib_wait 10 eval '[ -n "$(lib_status config_error)" ]'
	err=$(lib_status config_error)
	assertContains "status says the reload was refused: $err" "$err" \
	    "reload refused"
	assertContains "and names the line: $err" "$err" \
	    "$XDG_CONFIG_HOME/sshenv/config:3:"
	out=$(timeout -k 2 15 sshenv status 2>/dev/null)
	assertContains "status in words: $out" "$out" \
	    "configuration: reload refused"
	out=$(timeout -k 2 15 sshenv doctor 2>&1)
	assertContains "doctor warns: $out" "$out" "reload refused"
	assertContains "with the remedy: $out" "$out" \
	    "kill -HUP $(lib_pids daemon)"
	# Fixed and reloaded: nothing to tell any more.
	printf '[session]\nlinger = 9\n' >"$XDG_CONFIG_HOME/sshenv/config"
	kill -HUP "$(lib_pids daemon)"
	lib_wait 10 eval '[ -z "$(lib_status config_error)" ]'
	assertEquals "cleared by a good reload" "" "$(lib_status config_error)"
}

test_exit_codes() {
	for c in "logout 2" "stop 2" "status 2" "env 2" "nosuch 64" \
	    "init --bogus 64" "env extra 64" "status --json extra 64" \
	    "init -s -c 64" "stop -c -f 64" "env -q 64" "doctor --json 64" \
	    "init --help 0" "status --help 0" "logout --help 0" "--help 0" \
	    "--version 0"; do
		code=${c##* }
		# shellcheck disable=SC2086 # a command line of plain words
		timeout -k 2 15 sshenv ${c% *} </dev/null >/dev/null 2>&1
		assertEquals "sshenv ${c% *}" "$code" "$?"
	done
	# Messages name the command, and usage errors show its usage.
	timeout -k 2 15 sshenv init -s -c </dev/null >/dev/null 2>"$T/e"
	assertContains "prefix: $(cat "$T/e")" "$(cat "$T/e")" "sshenv init: "
	assertContains "usage: $(cat "$T/e")" "$(cat "$T/e")" \
	    "usage: sshenv init"
	timeout -k 2 15 sshenv status --help </dev/null >"$T/o" 2>&1
	assertContains "status --help: $(cat "$T/o")" "$(cat "$T/o")" \
	    "usage: sshenv status [--json]"
	assertTrue "started something: $(lib_pids '')" lib_none_left
}

test_status_json() {
	lib_login_init a || return 0
	assertEquals "init exit status: $(cat "$T/a.ierr")" 0 "$rc"
	sshenv status --json >"$T/status.json"
	assertEquals "status exit status" 0 "$?"
	"$PY" - "$T/status.json" "$(lib_pids daemon)" "$(lib_pids agent)" \
	    "$SOCK" "$sid" "$ENVFILE" "${SSHENV_BUILD:-}" >"$T/check.out" \
	    2>&1 <<'EOF'
import json, sys
path, sv, agent, sock, sid, envfile, build = sys.argv[1:]
d = json.load(open(path))
want = {"running": True, "supervisor_pid": int(sv),
        "agent_pid": int(agent), "socket": sock, "keys": 0,
        "locked": False, "lingering": False, "agent_state": "running",
        "policy": "stop",
        "systemd": False,
        "sessions": [int(sid)], "environment_file": envfile,
        "agent_lost": None, "config_error": None, "key_list": [],
        "logind": "off (on_suspend and on_screen_lock are none)"}
bad = [k for k in want if k not in d or d[k] != want[k]
       or type(d[k]) is not type(want[k])]
if bad or set(d) != set(want) | {"session_list", "upstream_list"}:
    print("got", d, "want", want, "wrong:", bad)
    sys.exit(1)
# The session: its id; the rest is what the system tells of it.
s = d["session_list"]
tty = "?" if "portable" in build else "no tty"
if len(s) != 1 or s[0]["id"] != int(sid) or s[0]["tty"] != tty:
    print("session_list", s)
    sys.exit(1)
EOF
	assertEquals "status --json: $(cat "$T/check.out")" 0 "$?"
}

test_status_json_without_supervisor() {
	sshenv status --json >"$T/status.json" 2>"$T/status.err"
	assertEquals "status exit status" 2 "$?"
	# The same keys as with a supervisor: a script reads d["locked"]
	# whether or not anything runs.
	"$PY" - "$T/status.json" >"$T/check.out" 2>&1 <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
keys = {"running", "supervisor_pid", "agent_pid", "socket", "keys",
        "locked", "lingering", "agent_state", "policy", "systemd",
        "sessions", "environment_file", "agent_lost", "config_error",
        "key_list", "session_list", "upstream_list", "logind"}
if d.get("running") is not False or set(d) != keys:
    print("got", d, "missing:", sorted(keys - set(d)),
          "extra:", sorted(set(d) - keys))
    sys.exit(1)
EOF
	assertEquals "status --json: $(cat "$T/check.out")" 0 "$?"
	assertTrue "status started something" lib_none_left
}

# raw SOCKET HEXBYTES [HOLD]: sends bytes to a unix socket and prints what
# comes back (hex) until the peer closes or 5 s pass; with HOLD, first
# connects, creates HOLD.up, and waits for HOLD to exist before sending.
raw() {
	"$PY" - "$@" <<'PYEOF'
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
if len(sys.argv) > 3:
    open(sys.argv[3] + ".up", "w").close()
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.02)
try:
    s.sendall(bytes.fromhex(sys.argv[2]))
except OSError:
    pass
s.settimeout(5)
got = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
except (socket.timeout, OSError):
    pass
print(got.hex())
PYEOF
}

# A bad control request gets one answer and closes that connection only;
# a long one, arriving in several reads, once crashed the supervisor.
test_control_garbage_does_not_kill_supervisor() {
	lib_login_init a || return 0
	d=$(lib_pids daemon)
	junk=$(printf '%06000d' 0)
	got=$(raw "$CTL" "000f424004$junk")
	# One frame: R_ERROR (67 = 0x43) and nothing after it.
	case $got in
	????????43*) ;;
	*) fail "no error reply: $got" ;;
	esac
	n=$(printf '%s' "$got" | cut -c1-8)
	assertEquals "exactly one reply" $((2 * (0x$n + 4))) "${#got}"
	assertEquals "the supervisor survived" "$d" "$(lib_pids daemon)"
	sshenv status >/dev/null 2>&1
	assertEquals "still served" 0 $?
}

# `stop` with another client connected and silent: that client gets an
# answer (once, a request it sent after the stop crashed the supervisor),
# and the supervisor still goes.
test_stop_with_an_idle_client() {
	lib_login_init a || return 0
	d=$(lib_pids daemon)
	# A STATUS request (type 4, version 5), sent only after the stop.
	raw "$CTL" 000000050400000006 "$T/go" >"$T/held.out" &
	held=$!
	lib_track "$held"
	lib_wait 5 test -e "$T/go.up" || { fail "no held client"; return; }
	timeout -k 2 20 sshenv stop -q >/dev/null 2>&1
	assertEquals "stop" 0 $?
	touch "$T/go"
	assertTrue "the supervisor did not stop" "lib_wait 5 lib_gone $d"
	lib_wait 10 lib_gone "$held"
	# Answered with an error (R_ERROR, 0x43) at the stop: not left
	# hanging, and not dropped by a crash.
	case $(cat "$T/held.out") in
	????????43*) ;;
	*) fail "the held client got: '$(cat "$T/held.out")'" ;;
	esac
}

# The supervisor bounds its control clients: one that says nothing is let
# go (10 s), and past 256 at once new ones are closed at once; once the
# idle ones are gone, logins are served as ever.
test_control_clients_bounded() {
	lib_login_init a || return 0
	"$PY" - "$CTL" >"$T/ctl.out" 2>&1 <<'EOF' &
import socket, sys, time
conns = []
for i in range(300):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    conns.append(s)
start = time.time()
closed_early = 0
for s in conns[256:]:
    s.settimeout(5)
    try:
        if s.recv(1) == b"":
            closed_early += 1
    except socket.timeout:
        pass
print("past the cap closed:", closed_early, flush=True)
conns[0].settimeout(30)
print("idle one closed:", conns[0].recv(1) == b"",
      "after %d s" % (time.time() - start), flush=True)
EOF
	held=$!
	lib_track "$held"
	lib_wait 20 grep -q '^past the cap' "$T/ctl.out"
	assertContains "past 256: closed at once: $(cat "$T/ctl.out")" \
	    "$(cat "$T/ctl.out")" "past the cap closed: "
	early=$(sed -n 's/^past the cap closed: //p' "$T/ctl.out")
	assertTrue "most of the 44 past the cap closed ($early)" \
	    "[ '${early:-0}' -ge 40 ]"
	lib_wait 40 grep -q '^idle one closed' "$T/ctl.out"
	assertContains "an idle client is let go: $(cat "$T/ctl.out")" \
	    "$(cat "$T/ctl.out")" "idle one closed: True"
	# Let go for its silence, not at once: a lower bound only.
	after=$(sed -n 's/^idle one closed: .* after \([0-9]*\) s$/\1/p' \
	    "$T/ctl.out")
	assertTrue "not before its 10 s (after ${after:-?} s)" \
	    "[ '${after:-0}' -ge 9 ]"
	lib_login_init b || return 0
	assertEquals "a login after: $(cat "$T/b.ierr")" 0 "$rc"
}

# A runtime dir someone else made (as /tmp/sshenv-UID could be) is not
# trusted even by commands that start nothing.
test_env_refuses_foreign_runtime_dir() {
	mkdir -m 0777 "$RUNDIR"
	chown nobody "$RUNDIR"
	"$PY" -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
time.sleep(30)' "$CTL" &
	lib_track $!
	lib_wait 5 test -S "$CTL" || { fail "no fake socket"; return; }
	timeout -k 2 20 sshenv env -s >"$T/env.out" 2>"$T/env.err"
	rc=$?
	assertNotEquals "env trusted a foreign directory" 0 "$rc"
	assertEquals "env printed a snippet" "" "$(cat "$T/env.out")"
	assertTrue "no reason given: $(cat "$T/env.err")" \
	    "grep -q 'refusing runtime directory' '$T/env.err'"
}

# init --all-users (what the system-wide login files run): nothing at
# all, not a word, with [login] all_users off (the default), even with a
# bad line elsewhere in the file; a login as any other with it on.
test_init_all_users_follows_the_switch() {
	lib_config '[agent]' 'linger = 5x'
	lib_login_init a --all-users
	assertEquals "exit status, switch off" 0 "$rc"
	assertEquals "snippet" "" "$(cat "$T/a.env")"
	assertEquals "messages" "" "$(cat "$T/a.ierr")"
	assertTrue "no supervisor" lib_none_left
	assertFalse "no runtime directory" "[ -e '$RUNDIR' ]"
	lib_config '[login]' 'all_users = yes'
	lib_login_init b --all-users
	assertEquals "exit status, switch on: $(cat "$T/b.ierr")" 0 "$rc"
	assertEquals "the login's agent" "$SOCK" \
	    "$(lib_var "$T/b.env" SSH_AUTH_SOCK)"
	assertTrue "it answers" lib_answers
}

# shellcheck disable=SC1091
. /usr/bin/shunit2
