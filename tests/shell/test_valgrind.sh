#!/bin/sh
# The agent and the supervisor under valgrind's memcheck, each driven
# through a whole life like the interop and session suites drive them,
# then stopped by their usual signal or command.  Each must exit 0: not 99,
# which is valgrind's status for a memory error or a definitely lost
# block.  The logs stay in the suite's temp dir while it runs and are
# printed when a test fails.
# Arguments: none, or -- test_name... to run some tests only.
# SSHENV_BIN, SSHENV_BUILD: the binary and build dir under test
# (tests/run.sh exports them).
#
# Everything is slow under valgrind (an RSA signature takes a second or
# more): waits here are generous, and still bounded.

# shellcheck disable=SC2034 # read by shunit2
SHUNIT_COLOR=none

v_top=$(cd "$(dirname "$0")/../.." && pwd)
: "${SSHENV_BIN:=$v_top/build/sshenv}"
: "${SSHENV_BUILD:=$(dirname "$SSHENV_BIN")}"
case $SSHENV_BIN in /*) ;; *) SSHENV_BIN=$v_top/$SSHENV_BIN ;; esac
case $SSHENV_BUILD in /*) ;; *) SSHENV_BUILD=$v_top/$SSHENV_BUILD ;; esac
POKE=$SSHENV_BUILD/tools/agentpoke

V=''		# the suite's temp dir: keys, logs
W=''		# the current test's directory
v_pid=''	# the process under valgrind
v_log=''	# its valgrind log
v_sids=''	# session leaders started by the test
v_pids=''	# other processes started by the test
v_path0=''
v_home0=''
# A key pair per type, and a certificate for one of them.
v_keys='ed25519 ecdsa rsa cert'

# ---------------------------------------------------------------- helpers

v_alive() {
	case $(ps -o stat= -p "$1" 2>/dev/null) in
	'' | Z*) return 1 ;;
	esac
	return 0
}

v_gone() {
	! v_alive "$1"
}

# v_wait TENTHS CMD...: runs CMD every 0.1 s until it succeeds; 1 if it
# has not within TENTHS tenths of a second.
v_wait() {
	_vw_n=$1
	shift
	until "$@"; do
		_vw_n=$((_vw_n - 1))
		[ "$_vw_n" -gt 0 ] || return 1
		sleep 0.1
	done
	return 0
}

# v_kill PID...: SIGTERM, then SIGKILL after 10 s, each by its pid.
v_kill() {
	for _vk_p in "$@"; do
		[ -n "$_vk_p" ] || continue
		kill -TERM "$_vk_p" 2>/dev/null
		if ! v_wait 100 v_gone "$_vk_p"; then
			kill -KILL "$_vk_p" 2>/dev/null
			v_wait 20 v_gone "$_vk_p"
		fi
		wait "$_vk_p" 2>/dev/null
	done
}

# v_can_run: the binary can run under valgrind; otherwise the test skips.
# A binary built with AddressSanitizer (the build-san suite run) cannot:
# both tools want to own the process's memory map.
v_can_run() {
	if grep -q __asan_init "$SSHENV_BIN"; then
		echo "SKIP: $SSHENV_BIN is built with AddressSanitizer, which \
cannot run under valgrind"
		return 1
	fi
	return 0
}

# v_start LOG CMD...: CMD under memcheck in the background, its pid (the
# same process once valgrind has loaded it) in $v_pid.
v_start() {
	v_log=$1
	shift
	valgrind --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite --track-fds=no \
	    --log-file="$v_log" "$@" </dev/null >"$v_log.out" 2>&1 &
	v_pid=$!
}

# v_finish WHAT: waits (120 s) for the process under valgrind to exit,
# then asserts a clean exit and a clean log.
v_finish() {
	v_wait 1200 v_gone "$v_pid"
	assertTrue "$1 exits" "v_gone $v_pid" || return 1
	wait "$v_pid"
	_vf_rc=$?
	v_pid=''
	assertEquals "$1: exit status (99: valgrind found errors)" \
	    0 "$_vf_rc" || return 1
	assertContains "$1: valgrind's error summary" "$(cat "$v_log")" \
	    'ERROR SUMMARY: 0 errors' || return 1
	assertFalse "$1: definitely lost blocks" \
	    "grep -Eq 'definitely lost: [1-9]|are definitely lost' '$v_log'"
}

# sa ARGS...: a bounded ssh-add on $SOCK; $rc, $out (stdout and stderr).
sa() {
	SSH_AUTH_SOCK=$SOCK timeout -k 2 60 ssh-add "$@" </dev/null \
	    >"$W/sa.out" 2>&1
	rc=$?
	out=$(cat "$W/sa.out")
}

# sa_askpass PASS ARGS...: ssh-add reading PASS from SSH_ASKPASS.
sa_askpass() {
	printf '%s\n' "$1" >"$V/askpass.pass"
	shift
	SSH_AUTH_SOCK=$SOCK SSH_ASKPASS=$V/bin/askpass \
	    SSH_ASKPASS_REQUIRE=force DISPLAY=:valgrind \
	    setsid -w timeout -k 2 60 ssh-add "$@" </dev/null \
	    >"$W/sa.out" 2>&1
	rc=$?
	out=$(cat "$W/sa.out")
}

# v_answers: ssh-add -l gets an answer (0 keys, 1 none).
v_answers() {
	sa -l
	[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]
}

v_no_keys() {
	sa -l
	[ "$rc" -eq 1 ]
}

# v_sign NAME: ssh-keygen -Y sign through the agent with NAME's public
# half (or certificate), then verify the signature without the agent.
v_sign() {
	if [ "$1" = cert ]; then
		_vs_pub=$V/pub/cert-cert.pub
	else
		_vs_pub=$V/pub/$1.pub
	fi
	SSH_AUTH_SOCK=$SOCK timeout -k 2 60 ssh-keygen -Y sign -n file \
	    -f "$_vs_pub" <"$V/msg" >"$W/$1.sig" 2>"$W/sign.err" || return 1
	timeout -k 2 30 ssh-keygen -Y verify -f "$V/allowed_signers" \
	    -I "$1" -n file -s "$W/$1.sig" <"$V/msg" >/dev/null 2>&1
}

# ------------------------------------------------------------- fixtures

oneTimeSetUp() {
	if ! command -v valgrind >/dev/null; then
		echo 'no valgrind: every test will fail' >&2
	fi
	V=$(mktemp -d /tmp/sshenv-v.XXXXXX) || return 1
	mkdir "$V/keys" "$V/pub" "$V/bin" "$V/home"
	v_home0=$V/home
	v_path0=$PATH
	for k in ed25519:ed25519 ecdsa:ecdsa rsa:rsa cert:ed25519 ca:ed25519
	do
		ssh-keygen -q -N '' -C "valgrind-${k%%:*}" -t "${k#*:}" \
		    -f "$V/keys/${k%%:*}" </dev/null || return 1
	done
	ssh-keygen -q -s "$V/keys/ca" -I valgrind-cert -n cert \
	    "$V/keys/cert.pub" || return 1
	cp "$V"/keys/*.pub "$V/pub/"
	: >"$V/allowed_signers"
	for k in ed25519 ecdsa rsa; do
		printf '%s namespaces="file" %s\n' "$k" \
		    "$(cut -d' ' -f1,2 "$V/keys/$k.pub")" >>"$V/allowed_signers"
	done
	printf 'cert cert-authority,namespaces="file" %s\n' \
	    "$(cut -d' ' -f1,2 "$V/keys/ca.pub")" >>"$V/allowed_signers"
	printf 'signed under valgrind\n' >"$V/msg"
	# ssh-add's askpass, and the agent's for keys added with -c (yes).
	cat >"$V/bin/askpass" <<EOF
#!/bin/sh
cat $V/askpass.pass
EOF
	printf '#!/bin/sh\nexit 0\n' >"$V/bin/confirm"
	chmod 0700 "$V/bin/askpass" "$V/bin/confirm"
	return 0
}

oneTimeTearDown() {
	[ -n "$V" ] || return 0
	rm -rf "$V"
	V=''
}

setUp() {
	W=$(mktemp -d "$V/t.XXXXXX") || return 1
	# The supervisor's test moves these; every test starts from the
	# suite's own.
	export HOME="$v_home0" PATH="$v_path0"
	unset XDG_RUNTIME_DIR XDG_CONFIG_HOME
	v_pid=''
	v_log=''
	v_sids=''
	v_pids=''
	unset SSH_AUTH_SOCK SSH_AGENT_PID SSH_ASKPASS SSH_ASKPASS_REQUIRE \
	    SSH_CONNECTION SSH_CLIENT SSH_TTY
}

tearDown() {
	# A supervisor left by a failed test: stop it the usual way first.
	if [ -n "$v_pid" ] && [ -n "${XDG_RUNTIME_DIR:-}" ]; then
		timeout -k 2 30 sshenv stop -q >/dev/null 2>&1
	fi
	for _td_s in $v_sids; do
		# shellcheck disable=SC2046 # pids
		kill -KILL $(pgrep -s "$_td_s") 2>/dev/null
	done
	# shellcheck disable=SC2086 # lists of pids
	v_kill $v_pid $v_pids
	if [ "${__shunit_testSuccess:-0}" != 0 ]; then
		for _td_l in "$W"/*.vg "$W"/*.vg.out "$W"/*.log; do
			[ -s "$_td_l" ] || continue
			echo "----- $_td_l"
			cat "$_td_l"
		done
	fi
	rm -rf "$W"
}

# ------------------------------------------------------------------ tests

# The agent alone: every key type and a certificate added, listed and
# used; locked and unlocked (a wrong password first); a key that asks for
# confirmation; one that expires; removal of one and of all; hostile
# clients (malformed frames, a drip, fifty idle connections, one that
# never reads); then SIGTERM.
test_agent_under_valgrind() {
	v_can_run || return 0
	SOCK=$W/agent.sock
	# For keys added with -c, the agent asks through SSH_ASKPASS.
	SSH_ASKPASS=$V/bin/confirm DISPLAY=:valgrind
	export SSH_ASKPASS DISPLAY
	v_start "$W/agent.vg" "$SSHENV_BUILD/sshenv-agent" -D -a "$SOCK"
	unset SSH_ASKPASS DISPLAY
	v_wait 600 v_answers
	assertTrue "the agent answers under valgrind: \
$(cat "$W/agent.vg.out")" $? || return 0

	for k in $v_keys; do
		sa "$V/keys/$k"
		assertEquals "ssh-add $k: $out" 0 "$rc" || return 0
	done
	sa -l
	assertEquals "ssh-add -l: $out" 0 "$rc" || return 0
	assertEquals 'keys listed (the certificate and its key)' 5 \
	    "$(printf '%s\n' "$out" | grep -c .)" || return 0
	for k in $v_keys; do
		v_sign "$k"
		assertTrue "sign and verify with $k: $(cat "$W/sign.err")" $? ||
			return 0
	done

	sa_askpass 'lock pass' -x
	assertEquals "ssh-add -x: $out" 0 "$rc" || return 0
	sa -l
	assertEquals 'locked: no keys listed' 1 "$rc" || return 0
	sa_askpass 'wrong pass' -X
	assertNotEquals 'a wrong password does not unlock' 0 "$rc" ||
		return 0
	sa_askpass 'lock pass' -X
	assertEquals "ssh-add -X: $out" 0 "$rc" || return 0
	v_sign ed25519
	assertTrue "signing after unlock: $(cat "$W/sign.err")" $? ||
		return 0

	sa -D
	assertEquals "ssh-add -D: $out" 0 "$rc" || return 0
	sa -c "$V/keys/ed25519"
	assertEquals "ssh-add -c: $out" 0 "$rc" || return 0
	v_sign ed25519
	assertTrue "signing with a confirmed key: $(cat "$W/sign.err")" $? ||
		return 0
	sa -t 2 "$V/keys/ecdsa"
	assertEquals "ssh-add -t 2: $out" 0 "$rc" || return 0
	sa -d "$V/keys/ed25519"
	assertEquals "ssh-add -d: $out" 0 "$rc" || return 0
	v_wait 300 v_no_keys
	assertTrue "the key with a lifetime expires: $out" $? || return 0

	# The error paths: each closes a connection, freeing its state.
	sa "$V/keys/rsa"
	for attack in 'garbage 200' 'garbage 100 17' 'garbage 100 25' \
	    truncated trailing empty-frame oversized maxframe; do
		# shellcheck disable=SC2086 # the mode and its arguments
		timeout -k 2 60 "$POKE" -w 30 "$SOCK" $attack >/dev/null 2>&1
	done
	timeout -k 2 60 "$POKE" -w 30 "$SOCK" drip 50 </dev/null >/dev/null
	echo | timeout -k 2 60 "$POKE" -w 30 "$SOCK" hold 50 >/dev/null
	sleep 1 | timeout -k 2 60 "$POKE" "$SOCK" noread >/dev/null
	sa -l
	assertEquals "the agent still answers after the abuse: $out" 0 "$rc" ||
		return 0

	kill -TERM "$v_pid"
	v_finish 'the agent'
}

# The agent as a stable socket in front of others (-U): one far agent
# holding ed25519 (a plain agent, not under valgrind), one path where
# nothing listens.  Lists merged, a signature routed to the far agent,
# the far agent killed (a list then goes on without it); then SIGTERM
# with a client connection still open.
test_stable_socket_under_valgrind() {
	v_can_run || return 0
	"$SSHENV_BUILD/sshenv-agent" -D -a "$W/far.sock" </dev/null \
	    >"$W/far.log" 2>&1 &
	far=$!
	v_pids="$v_pids $far"
	SOCK=$W/far.sock
	v_wait 100 v_answers
	assertTrue "the far agent answers" $? || return 0
	sa "$V/keys/ed25519"
	assertEquals "far: ssh-add: $out" 0 "$rc" || return 0
	SOCK=$W/agent.sock
	v_start "$W/agent.vg" "$SSHENV_BUILD/sshenv-agent" -D -a "$SOCK" \
	    -U "$W/far.sock" -U "$W/nothing.sock"
	v_wait 600 v_answers
	assertTrue "the agent answers under valgrind: \
$(cat "$W/agent.vg.out")" $? || return 0
	sa "$V/keys/ecdsa"
	assertEquals "ssh-add here: $out" 0 "$rc" || return 0
	sa -l
	assertEquals "ssh-add -l: $out" 0 "$rc" || return 0
	assertEquals "both keys listed: $out" 2 \
	    "$(printf '%s\n' "$out" | grep -c .)" || return 0
	v_sign ed25519
	assertTrue "signed by the far agent: $(cat "$W/sign.err")" $? ||
		return 0
	v_sign ecdsa
	assertTrue "signed here: $(cat "$W/sign.err")" $? || return 0
	kill -KILL "$far"
	wait "$far" 2>/dev/null
	sa -l
	assertEquals "without the far agent: $out" 0 "$rc" || return 0
	assertEquals "our key alone: $out" 1 \
	    "$(printf '%s\n' "$out" | grep -c .)" || return 0
	# One connection left open across the stop.
	echo | timeout -k 2 60 "$POKE" -w 30 "$SOCK" hold 1 >/dev/null 2>&1 &
	hold=$!
	v_wait 100 v_answers
	kill -TERM "$v_pid"
	v_finish 'the agent'
	kill "$hold" 2>/dev/null
	wait "$hold" 2>/dev/null
}

# v_login NAME: a login (session leader) running `sshenv init -s KEY`
# that stays; waits for init (60 s).  $rc its status.
v_login() {
	rc=''
	# shellcheck disable=SC2016 # for the login's shell to expand
	setsid sh -c 'echo $$ >"$0.sid"
sshenv init -s "$1" >"$0.env" 2>"$0.ierr"
echo $? >"$0.rc"
exec sleep 300' "$W/$1" "$V/keys/ed25519" </dev/null >/dev/null 2>&1 &
	if ! v_wait 600 test -s "$W/$1.rc"; then
		fail "login $1: init did not finish: $(cat "$W/$1.ierr")"
		return 1
	fi
	v_sids="$v_sids $(cat "$W/$1.sid")"
	rc=$(cat "$W/$1.rc")
}

# v_agent_pid: the agent's pid, from the supervisor's pid file.
v_agent_pid() {
	cat "$W/run/sshenv/agent.pid" 2>/dev/null
}

v_new_agent() {
	_vn_p=$(v_agent_pid)
	[ -n "$_vn_p" ] && [ "$_vn_p" != "$1" ] && v_answers
}

v_locked() {
	timeout -k 2 30 sshenv status --json 2>/dev/null |
	    grep -q "\"locked\": $1"
}

# The supervisor in the foreground: logins with a key to load, status,
# a reload, its agent killed and restarted, a login that logs out, the
# last session gone (policy lock) and a new one (unlock), then
# `sshenv stop`.
test_supervisor_under_valgrind() {
	v_can_run || return 0
	mkdir "$W/home" "$W/run" "$W/cfg" "$W/cfg/sshenv"
	chmod 0700 "$W/run"
	export HOME="$W/home" XDG_RUNTIME_DIR="$W/run" \
	    XDG_CONFIG_HOME="$W/cfg" PATH="$SSHENV_BUILD:$v_path0" \
	    SHELL=/bin/sh
	printf '[session]\nlinger = 1\non_last_logout = lock\n' \
	    >"$W/cfg/sshenv/config"
	SOCK=$W/run/sshenv/agent.sock
	v_start "$W/daemon.vg" "$SSHENV_BUILD/sshenv-supervisor" -D
	v_wait 600 test -S "$W/run/sshenv/control.sock"
	assertTrue "the supervisor listens under valgrind: \
$(cat "$W/daemon.vg.out")" $? || return 0

	v_login a
	assertEquals "init: $(cat "$W/a.ierr")" 0 "$rc" || return 0
	sa -l
	assertEquals "init loaded the key: $out" 0 "$rc" || return 0
	out=$(timeout -k 2 30 sshenv status 2>&1)
	assertEquals "sshenv status: $out" 0 $? || return 0
	out=$(timeout -k 2 30 sshenv status --json 2>&1)
	assertEquals "sshenv status --json: $out" 0 $? || return 0
	out=$(timeout -k 2 30 sshenv env 2>&1)
	assertEquals "sshenv env: $out" 0 $? || return 0

	kill -HUP "$v_pid"
	apid=$(v_agent_pid)
	kill -KILL "$apid"
	v_wait 600 v_new_agent "$apid"
	assertTrue 'the killed agent is replaced' $? || return 0

	timeout -k 2 60 setsid -w sh -c 'sshenv init -q -s >/dev/null &&
sshenv logout' </dev/null 2>"$W/b.err"
	assertEquals "a login that logs out: $(cat "$W/b.err")" 0 $? ||
		return 0

	sa "$V/keys/ed25519"
	# shellcheck disable=SC2046 # pids
	kill -KILL $(pgrep -s "$(cat "$W/a.sid")")
	v_wait 600 v_locked true
	assertTrue 'the last session gone, the agent is locked' $? ||
		return 0
	v_login c
	assertEquals "init after the lock: $(cat "$W/c.ierr")" 0 "$rc" ||
		return 0
	v_wait 600 v_locked false
	assertTrue 'a new login unlocks it' $? || return 0

	out=$(timeout -k 2 60 sshenv stop 2>&1)
	assertEquals "sshenv stop: $out" 0 $? || return 0
	v_finish 'the supervisor'
}

# shellcheck disable=SC1091 # shunit2 is not ours to check
if [ -r /usr/bin/shunit2 ]; then
	. /usr/bin/shunit2
else
	. /usr/share/shunit2/shunit2
fi
