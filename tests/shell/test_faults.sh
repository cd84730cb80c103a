#!/bin/sh
# Faults and attacks around the supervisor and its agent, as a user (or an
# attacker) would cause them: the agent or the supervisor killed with
# SIGKILL, ~/.ssh/environment that cannot be written, runtime files that
# are not safely ours, private keys looked for in the agent's memory after
# they should be gone (removed, locked, expired, at exit, and while a
# confirmation is pending), another process of the agent's user trying to
# read that memory, a hundred supervisor crashes and two hundred login
# cycles.
# Every test starts from nothing in its own directory, with logins in
# their own sessions (setsid) and `[session] linger = 1`.
# Arguments: none, or -- test_name... to run some tests only.
# SSHENV_BIN, SSHENV_BUILD: the binary and build dir under test
# (tests/run.sh exports them).  Some tests need root (mounts, chown,
# another uid); as another user they print SKIP and pass.
#
# Every assertion is followed by '|| return 0' where later steps depend on
# it: one fault costs one failure, not a cascade.

# shellcheck disable=SC2034 # read by shunit2
SHUNIT_COLOR=none

f_top=$(cd "$(dirname "$0")/../.." && pwd)
: "${SSHENV_BIN:=$f_top/build/sshenv}"
: "${SSHENV_BUILD:=$(dirname "$SSHENV_BIN")}"
case $SSHENV_BIN in /*) ;; *) SSHENV_BIN=$f_top/$SSHENV_BIN ;; esac
case $SSHENV_BUILD in /*) ;; *) SSHENV_BUILD=$f_top/$SSHENV_BUILD ;; esac
TOOLS=$SSHENV_BUILD/tools
# shellcheck source=tests/shell/bins.inc
. "$f_top/tests/shell/bins.inc"

K=''		# keys made once for the suite
T=''		# the current test's directory: $T/bin/sshenv is its binary
P=''		# the current test's directory that other uids may enter
f_path0=''
f_sids=''	# session leaders started by the test
f_pids=''	# other processes started by the test
f_mounts=''	# mount points to undo

# ---------------------------------------------------------------- helpers

f_alive() {
	case $(ps -o stat= -p "$1" 2>/dev/null) in
	'' | Z*) return 1 ;;
	esac
	return 0
}

f_gone() {
	! f_alive "$1"
}

# f_wait TENTHS CMD...: runs CMD every 0.1 s until it succeeds; 1 if it
# has not within TENTHS tenths of a second.
f_wait() {
	_fw_n=$1
	shift
	until "$@"; do
		_fw_n=$((_fw_n - 1))
		[ "$_fw_n" -gt 0 ] || return 1
		sleep 0.1
	done
	return 0
}

# f_kill PID...: SIGTERM, then SIGKILL after 5 s, each by its pid.
f_kill() {
	for _fk_p in "$@"; do
		[ -n "$_fk_p" ] || continue
		kill -TERM "$_fk_p" 2>/dev/null
		if ! f_wait 50 f_gone "$_fk_p"; then
			kill -KILL "$_fk_p" 2>/dev/null
			f_wait 20 f_gone "$_fk_p"
		fi
		wait "$_fk_p" 2>/dev/null
	done
}

# f_pids WHAT: this test's "sshenv WHAT" processes ('' for all), one line.
f_pids() {
	pgrep -f "$(sshenv_re "$T/bin" "$1")" | tr '\n' ' ' | sed 's/ $//'
}

f_count() {
	pgrep -cf "$(sshenv_re "$T/bin" "$1")"
}

f_none_left() {
	! pgrep -f "$(sshenv_re "$T/bin" "")" >/dev/null
}

# f_heap_locked PID: PID has its 2 MiB secure heap locked in memory.
f_heap_locked() {
	_hl=$(awk '/^VmLck:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
	[ "${_hl:-0}" -ge 2048 ]
}

# f_pidfile NAME: the pid in $RUNDIR/NAME.pid, or nothing.
f_pidfile() {
	cat "$RUNDIR/$1.pid" 2>/dev/null
}

# f_var FILE NAME: NAME's value in an `init -s` snippet.
f_var() {
	sed -n "s/^$2=\\([^;]*\\); export $2;\$/\\1/p" "$1"
}

# f_json KEY: a number of `sshenv status --json` (nothing if none).
f_json() {
	timeout -k 2 15 sshenv status --json 2>/dev/null |
	    sed -n "s/.*\"$1\": \\([0-9][0-9]*\\).*/\\1/p"
}

# sa ARGS...: a bounded ssh-add on $SOCK; $rc, $out (stdout and stderr).
sa() {
	SSH_AUTH_SOCK=${SA_SOCK:-$SOCK} timeout -k 2 15 ssh-add "$@" \
	    </dev/null >"$T/sa.out" 2>&1
	rc=$?
	out=$(cat "$T/sa.out")
}

# f_answers: ssh-add -l gets an answer (0: keys, 1: none; 2: no agent).
f_answers() {
	sa -l
	[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]
}

# f_askpass PASS ARGS...: ssh-add reading PASS through SSH_ASKPASS.
f_askpass() {
	printf '%s\n' "$1" >"$T/askpass.pass"
	shift
	SSH_AUTH_SOCK=${SA_SOCK:-$SOCK} SSH_ASKPASS=$T/bin/askpass \
	    SSH_ASKPASS_REQUIRE=force DISPLAY=:faults \
	    setsid -w timeout -k 2 15 ssh-add "$@" </dev/null \
	    >"$T/sa.out" 2>&1
	rc=$?
	out=$(cat "$T/sa.out")
}

# f_login NAME: a login in the background: the leader of a new session
# runs `sshenv init -s` (snippet in $T/NAME.env, stderr in .ierr, status
# in .rc) and stays (sleep 300).  Waits (30 s) for init; $rc its status,
# $sid the session.
f_login() {
	sid=''
	rc=''
	# shellcheck disable=SC2016 # for the login's shell to expand
	setsid sh -c 'echo $$ >"$0.sid"
sshenv init -s >"$0.env" 2>"$0.ierr"
echo $? >"$0.rc"
exec sleep 300' "$T/$1" </dev/null >/dev/null 2>&1 &
	if ! f_wait 300 test -s "$T/$1.rc"; then
		[ -s "$T/$1.sid" ] && f_sids="$f_sids $(cat "$T/$1.sid")"
		fail "login $1: init did not finish"
		return 1
	fi
	sid=$(cat "$T/$1.sid")
	f_sids="$f_sids $sid"
	rc=$(cat "$T/$1.rc")
}

# f_login_fg NAME SCRIPT: a login that runs SCRIPT (sh) to its end, 60 s
# at most; $rc, $out, $err.
f_login_fg() {
	timeout -k 2 60 setsid -w sh -c "$2" "$T/$1" </dev/null \
	    >"$T/$1.out" 2>"$T/$1.err"
	rc=$?
	out=$(cat "$T/$1.out")
	err=$(cat "$T/$1.err")
}

# f_clean: nothing of the supervisor's is left: no process, socket, pid
# file, session list or environment file (the lock files stay by design).
f_clean() {
	f_none_left && [ ! -e "$SOCK" ] && [ ! -e "$CTL" ] &&
	    [ ! -e "$RUNDIR/agent.pid" ] && [ ! -e "$RUNDIR/daemon.pid" ] &&
	    [ ! -e "$RUNDIR/sessions" ] && [ ! -e "$ENVFILE" ]
}

# assert_clean WHAT: after f_clean was waited for, says what is left.
assert_clean() {
	assertTrue "$1: processes left: $(f_pids '')" f_none_left
	for _ac_f in "$SOCK" "$CTL" "$RUNDIR/agent.pid" \
	    "$RUNDIR/daemon.pid" "$RUNDIR/sessions" "$ENVFILE"; do
		assertFalse "$1: $_ac_f left" "[ -e '$_ac_f' ]"
	done
}

# f_hex: stdin as lower-case hex, one line.
f_hex() {
	od -An -v -tx1 | tr -d ' \n'
}

# f_starttime PID: when PID started, in clock ticks since boot.
f_starttime() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# f_new_agent OLD: the supervisor has a live agent other than OLD, which
# answers at the stable path.
f_new_agent() {
	_fn_p=$(f_pidfile agent)
	[ -n "$_fn_p" ] && [ "$_fn_p" != "$1" ] && f_alive "$_fn_p" &&
	    f_answers
}

# f_need_root WHY: true as root; otherwise the test skips (prints SKIP).
f_need_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	echo "SKIP: $1 needs root"
	return 1
}

# f_public: $P, a directory under /tmp that every uid may enter, with the
# binary and tools copied in for them.
f_public() {
	P=$(mktemp -d /tmp/sshenv-fp.XXXXXX) || return 1
	chmod 0755 "$P"
	mkdir "$P/bin"
	sshenv_copy "$P/bin" || return 1
	cp "$TOOLS/memscan" "$P/bin/memscan"
	chmod 0755 "$P/bin/sshenv" "$P/bin/memscan"
}

# ------------------------------------------------------------- fixtures

oneTimeSetUp() {
	K=$(mktemp -d /tmp/sshenv-fk.XXXXXX) || return 1
	ssh-keygen -q -t ed25519 -N '' -C faults-ed25519 -f "$K/ed25519" \
	    </dev/null || return 1
	ssh-keygen -q -t rsa -b 2048 -N '' -C faults-rsa -f "$K/rsa" \
	    </dev/null || return 1
	FP_ED=$(ssh-keygen -lf "$K/ed25519.pub")
	FP_RSA=$(ssh-keygen -lf "$K/rsa.pub")
	# What to look for in memory: the ed25519 seed as it is; RSA's d
	# either way round (a BIGNUM is little-endian words).
	SEED=$("$TOOLS/keysecret" "$K/ed25519") || return 1
	D_BE=$("$TOOLS/keysecret" "$K/rsa") || return 1
	D_LE=$("$TOOLS/keysecret" -r "$K/rsa") || return 1
	return 0
}

oneTimeTearDown() {
	[ -n "$K" ] || return 0
	rm -rf "$K"
	K=''
}

setUp() {
	T=$(mktemp -d /tmp/sshenv-f.XXXXXX) || return 1
	P=''
	mkdir "$T/bin" "$T/home" "$T/run" "$T/cfg" "$T/cfg/sshenv"
	chmod 0700 "$T/run"
	sshenv_copy "$T/bin" || return 1
	cat >"$T/bin/askpass" <<EOF
#!/bin/sh
cat $T/askpass.pass
EOF
	chmod 0700 "$T/bin/askpass"
	[ -n "$f_path0" ] || f_path0=$PATH
	export HOME="$T/home" XDG_RUNTIME_DIR="$T/run" \
	    XDG_CONFIG_HOME="$T/cfg" PATH="$T/bin:$f_path0" SHELL=/bin/sh
	unset SSH_AUTH_SOCK SSH_AGENT_PID SSH_CONNECTION SSH_CLIENT SSH_TTY \
	    SSH_ASKPASS SSH_ASKPASS_REQUIRE BASH_ENV ENV SA_SOCK
	RUNDIR=$T/run/sshenv
	SOCK=$RUNDIR/agent.sock
	CTL=$RUNDIR/control.sock
	ENVFILE=$HOME/.ssh/environment
	printf '[session]\nlinger = 1\n' >"$T/cfg/sshenv/config"
	f_sids=''
	f_pids=''
	f_mounts=''
}

tearDown() {
	[ -n "$T" ] && [ -d "$T" ] || return 0
	timeout -k 2 10 "$T/bin/sshenv" stop -q >/dev/null 2>&1
	for _td_s in $f_sids; do
		# shellcheck disable=SC2046 # pids
		kill -KILL $(pgrep -s "$_td_s") 2>/dev/null
	done
	# shellcheck disable=SC2086 # a list of pids
	f_kill $f_pids
	if ! f_wait 50 f_none_left; then
		echo "tearDown: killing what is left: $(f_pids '')" >&2
		# shellcheck disable=SC2046 # pids
		kill -KILL $(pgrep -f "$(sshenv_re "$T/bin" "")") 2>/dev/null
		f_wait 20 f_none_left
	fi
	for _td_m in $f_mounts; do
		umount "$_td_m" 2>/dev/null || umount -l "$_td_m"
	done
	# On failure, what the logins and the processes we ran said.
	if [ "${__shunit_testSuccess:-0}" != 0 ]; then
		for _td_l in "$T"/*.ierr "$T"/*.err "$T"/*.log; do
			[ -s "$_td_l" ] || continue
			echo "----- $_td_l"
			tail -n 20 "$_td_l"
		done
	fi
	rm -rf "$T"
	[ -z "$P" ] || rm -rf "$P"
	T=''
	P=''
}

# ------------------------------------------------------------------ tests

# (a) The agent killed: the supervisor starts another at the same path
# (the shells' SSH_AUTH_SOCK stays right), with a new pid and no keys;
# they can be added again.  Restarts are at least a second apart.
test_killed_agent_is_restarted_at_same_path() {
	f_login a || return 0
	assertEquals "init: $(cat "$T/a.ierr")" 0 "$rc" || return 0
	shell_sock=$(f_var "$T/a.env" SSH_AUTH_SOCK)
	assertEquals "the shell's SSH_AUTH_SOCK" "$SOCK" "$shell_sock" ||
		return 0
	SA_SOCK=$shell_sock
	sa "$K/ed25519"
	assertEquals "ssh-add: $out" 0 "$rc" || return 0
	apid=$(f_pidfile agent)
	assertEquals 'the agent pid file names the agent' "$(f_pids agent)" \
	    "$apid" || return 0

	kill -KILL "$apid"
	f_wait 150 f_new_agent "$apid"
	assertTrue "a new agent answers at $SOCK (pid file: \
$(f_pidfile agent))" $? || return 0
	apid2=$(f_pidfile agent)
	start2=$(f_starttime "$apid2")
	assertEquals 'one agent' 1 "$(f_count agent)" || return 0
	assertEquals 'the status names it' "$apid2" "$(f_json agent_pid)" ||
		return 0
	sa -l
	assertEquals "the keys died with the old agent: $out" 1 "$rc" ||
		return 0
	sa "$K/ed25519"
	assertEquals "ssh-add to the new agent: $out" 0 "$rc" || return 0
	sa -l
	assertEquals 'the new agent lists the key' "$FP_ED" "$out" ||
		return 0

	# Killed again at once: the next start waits out the second.
	kill -KILL "$apid2"
	f_wait 150 f_new_agent "$apid2"
	assertTrue 'a third agent answers' $? || return 0
	start3=$(f_starttime "$(f_pidfile agent)")
	hz=$(getconf CLK_TCK)
	assertTrue "restarts are >= 1 s apart (ticks $start2 -> $start3 at \
$hz Hz)" "[ $((start3 - start2)) -ge $((hz * 9 / 10)) ]" || return 0
	assertEquals 'still one agent' 1 "$(f_count agent)" || return 0
	assertEquals 'one supervisor' 1 "$(f_count daemon)" || return 0
}

# (b) The supervisor killed: the agent lives on with its keys; the next
# init starts a supervisor that adopts it (same pid, never a second
# agent) and the sessions the first one watched.  If the adopted agent
# then dies, the new supervisor notices and starts another.
test_killed_supervisor_is_replaced_and_adopts_agent() {
	f_login a || return 0
	assertEquals "init: $(cat "$T/a.ierr")" 0 "$rc" || return 0
	sid_a=$sid
	sa "$K/ed25519"
	assertEquals "ssh-add: $out" 0 "$rc" || return 0
	apid=$(f_pidfile agent)
	spid=$(f_pidfile daemon)
	assertEquals 'one supervisor, named in its pid file' \
	    "$(f_pids daemon)" "$spid" || return 0

	kill -KILL "$spid"
	f_wait 50 f_gone "$spid"
	assertTrue 'the supervisor is gone' "f_gone $spid" || return 0
	assertTrue 'the agent outlives it' "f_alive $apid" || return 0
	sa -l
	assertEquals 'and keeps its key' "$FP_ED" "$out" || return 0

	f_login b || return 0
	assertEquals "init after the crash: $(cat "$T/b.ierr")" 0 "$rc" ||
		return 0
	spid2=$(f_pidfile daemon)
	assertNotEquals 'a new supervisor' "$spid" "$spid2" || return 0
	assertEquals 'one supervisor' 1 "$(f_count daemon)" || return 0
	assertEquals 'one agent' 1 "$(f_count agent)" || return 0
	assertEquals 'the same agent, adopted' "$apid" "$(f_pids agent)" ||
		return 0
	assertEquals "the new login's snippet names it" "$apid" \
	    "$(f_var "$T/b.env" SSH_AGENT_PID)" || return 0
	assertEquals 'the status names it' "$apid" "$(f_json agent_pid)" ||
		return 0
	sa -l
	assertEquals 'the key is still there' "$FP_ED" "$out" || return 0
	sessions=$(timeout -k 2 15 sshenv status 2>/dev/null |
	    sed -n 's/^sessions [0-9]*://p')
	assertContains "the first login's session is still watched" \
	    " $sessions " " $sid_a " || return 0

	kill -KILL "$apid"
	f_wait 150 f_new_agent "$apid"
	assertTrue 'the adopted agent, killed, is replaced' $? || return 0
	assertEquals 'one agent again' 1 "$(f_count agent)" || return 0
}

# f_env_file_fails HOW REASON: the common part of (c).  ~/.ssh/environment
# holds an earlier file of ours; $HOME/.ssh has been made unwritable by
# the caller (HOW says how).  A supervisor in the foreground (its log
# visible in $T/daemon.log) serves a login: the login gets its snippet
# and an agent, the old file stays byte for byte, no temporary file is
# left, and the reason is in the log or on init's stderr.  REASON: the
# strerror text expected.
f_env_file_fails() {
	sshenv daemon -D </dev/null >"$T/daemon.log" 2>&1 &
	f_pids="$f_pids $!"
	f_wait 100 test -S "$CTL"
	assertTrue "the supervisor runs: $(cat "$T/daemon.log")" \
	    "[ -S '$CTL' ]" || return 0
	f_login a || return 0
	assertEquals "init ($1): $(cat "$T/a.ierr")" 0 "$rc" || return 0
	assertEquals "the snippet still comes ($1)" "$SOCK" \
	    "$(f_var "$T/a.env" SSH_AUTH_SOCK)" || return 0
	f_answers
	assertEquals "the agent answers ($1): $out" 1 "$rc" || return 0
	f_wait 50 grep -q "$ENVFILE" "$T/daemon.log" "$T/a.ierr"
	assertTrue "the old file is unchanged ($1)" \
	    "cmp -s '$T/env.orig' '$ENVFILE'" || return 0
	left=''
	for _ef_f in "$HOME/.ssh"/* "$HOME/.ssh"/.[!.]*; do
		[ -e "$_ef_f" ] || continue
		case ${_ef_f##*/} in
		environment | fill) ;;
		*) left="$left ${_ef_f##*/}" ;;
		esac
	done
	assertEquals "no temporary file is left ($1)" '' "$left" || return 0
	said=$(cat "$T/a.ierr" "$T/daemon.log")
	assertContains "the error names the file ($1): $said" "$said" \
	    "$ENVFILE" || return 0
	assertContains "the error says why ($1): $said" "$said" "$2" ||
		return 0
}

# f_old_envfile: an environment file left by an earlier run of ours, on
# this host, for an agent long gone; kept in $T/env.orig to compare.
f_old_envfile() {
	printf '# sshenv environment file for host %s\n%s\n%s\n' \
	    "$(uname -n)" "SSH_AUTH_SOCK=$SOCK; export SSH_AUTH_SOCK;" \
	    'SSH_AGENT_PID=4194303; export SSH_AGENT_PID;' >"$ENVFILE"
	chmod 0600 "$ENVFILE"
	cp -p "$ENVFILE" "$T/env.orig"
}

# (c) ~/.ssh on a full file system: writing the new file fails midway.
test_env_file_write_fails_disk_full() {
	f_need_root 'mounting a small tmpfs' || return 0
	mkdir -m 0700 "$HOME/.ssh"
	if ! mount -t tmpfs -o size=4k,mode=0700 tmpfs "$HOME/.ssh" \
	    2>"$T/mount.err"; then
		echo "SKIP: cannot mount a tmpfs here: $(cat "$T/mount.err")"
		return 0
	fi
	f_mounts="$f_mounts $HOME/.ssh"
	f_old_envfile
	# Fill what is left (a tmpfs of 4 KiB holds one page).
	dd if=/dev/zero of="$HOME/.ssh/fill" bs=512 count=64 2>/dev/null
	if printf x >>"$HOME/.ssh/fill" 2>/dev/null; then
		fail 'the tmpfs did not fill up'
		return 0
	fi
	f_env_file_fails 'disk full' 'No space left on device'
}

# (c) ~/.ssh read-only: no temporary file can even be made.  Root
# ignores permissions, so for root a read-only bind mount.
test_env_file_write_fails_read_only() {
	mkdir -m 0700 "$HOME/.ssh"
	f_old_envfile
	if [ "$(id -u)" -eq 0 ]; then
		if ! { mount --bind "$HOME/.ssh" "$HOME/.ssh" &&
		    mount -o remount,bind,ro "$HOME/.ssh"; } \
		    2>"$T/mount.err"; then
			mountpoint -q "$HOME/.ssh" && umount "$HOME/.ssh"
			echo "SKIP: no read-only bind mount here: \
$(cat "$T/mount.err")"
			return 0
		fi
		f_mounts="$f_mounts $HOME/.ssh"
		why='Read-only file system'
	else
		chmod 0500 "$HOME/.ssh"
		why='Permission denied'
	fi
	f_env_file_fails 'read-only' "$why"
	[ "$(id -u)" -eq 0 ] || chmod 0700 "$HOME/.ssh"
}

# (d) ~/.ssh/environment is a symlink: neither it nor its target is
# touched, init says so, and the login works.
test_env_file_symlink_refused() {
	mkdir -m 0700 "$HOME/.ssh"
	printf 'precious, not ours\n' >"$T/target"
	cp -p "$T/target" "$T/target.orig"
	ln -s "$T/target" "$ENVFILE"
	f_login a || return 0
	assertEquals "init: $(cat "$T/a.ierr")" 0 "$rc" || return 0
	assertEquals 'the snippet still comes' "$SOCK" \
	    "$(f_var "$T/a.env" SSH_AUTH_SOCK)" || return 0
	assertContains 'init says why it leaves the file alone' \
	    "$(cat "$T/a.ierr")" "$ENVFILE: is a symbolic link" || return 0
	assertTrue 'the target is untouched' \
	    "cmp -s '$T/target' '$T/target.orig'" || return 0
	assertEquals 'the symlink is still there' "$T/target" \
	    "$(readlink "$ENVFILE")" || return 0
	# Nor at the end, when the supervisor cleans up.
	kill -KILL "$sid"
	f_wait 100 f_none_left
	assertTrue 'everything stopped' f_none_left || return 0
	assertTrue 'the target is untouched at stop' \
	    "cmp -s '$T/target' '$T/target.orig'" || return 0
	assertEquals 'the symlink is still there at stop' "$T/target" \
	    "$(readlink "$ENVFILE")" || return 0
}

# f_refused WHAT REASON: init (in f_login_fg) was refused because of the
# runtime directory, said so, and started nothing.
f_refused() {
	assertNotEquals "$1: init's exit status" 0 "$rc" || return 1
	assertEquals "$1: no snippet" '' "$out" || return 1
	assertContains "$1: the error names the directory: $err" "$err" \
	    "refusing runtime directory $RUNDIR" || return 1
	assertContains "$1: the error says why: $err" "$err" "$2" ||
		return 1
	assertTrue "$1: processes started: $(f_pids '')" f_none_left ||
		return 1
	assertFalse "$1: $ENVFILE written" "[ -e '$ENVFILE' ]" || return 1
}

# (d) The runtime directory a symlink (to a private dir of ours: the link
# itself is the fault), owned by another user, or open to others.
test_runtime_dir_symlink_refused() {
	mkdir -m 0700 "$T/elsewhere"
	ln -s "$T/elsewhere" "$RUNDIR"
	f_login_fg a 'sshenv init -s'
	f_refused 'symlink' 'is a symbolic link' || return 0
	assertEquals 'nothing made in the target' '' \
	    "$(ls -A "$T/elsewhere")" || return 0
}

test_runtime_dir_of_another_user_refused() {
	f_need_root 'chown to another user' || return 0
	mkdir -m 0700 "$RUNDIR"
	chown nobody "$RUNDIR"
	f_login_fg a 'sshenv init -s'
	f_refused 'owned by nobody' 'owned by another user' || return 0
	assertEquals 'nothing made in it' '' "$(ls -A "$RUNDIR")" || return 0
}

test_runtime_dir_open_mode_refused() {
	mkdir -m 0755 "$RUNDIR"
	f_login_fg a 'sshenv init -s'
	f_refused 'mode 0755' 'permissions too open' || return 0
	assertEquals 'nothing made in it' '' "$(ls -A "$RUNDIR")" || return 0
}

# f_scan PID: memscan of PID for the ed25519 seed and RSA's d (both byte
# orders); sets $seed and $d (the counts).
f_scan() {
	# shellcheck disable=SC2046 # three counts
	set -- $("$TOOLS/memscan" "$1" "$SEED" "$D_BE" "$D_LE" \
	    2>"$T/memscan.err")
	seed=${1:-x}
	d=$((${2:-0} + ${3:-0}))
	[ -n "${3:-}" ]
}

# f_agent [ASKPASS]: `sshenv agent -D -a $T/agent.sock` alone (our copy
# of the binary), its pid in $apid, answering; SA_SOCK set to it.  With
# ASKPASS, the agent asks it to confirm keys added with -c.
f_agent() {
	SA_SOCK=$T/agent.sock
	SSH_ASKPASS=${1:-} DISPLAY=${1:+:faults} \
	    "$T/bin/sshenv" agent -D -a "$SA_SOCK" </dev/null \
	    >"$T/agent.log" 2>&1 &
	apid=$!
	f_pids="$f_pids $apid"
	f_wait 100 f_answers
	assertTrue "the agent answers: $(cat "$T/agent.log")" $?
}

# f_load_keys: adds both keys, and checks that memscan does find their
# secrets while they are loaded: a scan that cannot find them proves
# nothing later.
f_load_keys() {
	sa "$K/ed25519" "$K/rsa"
	assertEquals "ssh-add of both keys: $out" 0 "$rc" || return 1
	f_scan "$apid"
	assertTrue "memscan ran: $(cat "$T/memscan.err")" $? || return 1
	assertTrue "the ed25519 seed is found while loaded ($seed)" \
	    "[ $seed -ge 1 ]" || return 1
	assertTrue "RSA's d is found while loaded ($d)" "[ $d -ge 1 ]" ||
		return 1
}

# (e) Keys gone from memory after ssh-add -D.  A signature first, so
# that whatever signing leaves behind is gone too.
test_keys_wiped_on_remove_all() {
	f_agent || return 0
	f_load_keys || return 0
	printf 'data\n' >"$T/data"
	cp "$K/rsa.pub" "$K/ed25519.pub" "$T/"
	for k in rsa ed25519; do
		SSH_AUTH_SOCK=$SA_SOCK timeout -k 2 15 ssh-keygen -Y sign \
		    -n file -f "$T/$k.pub" <"$T/data" >/dev/null 2>&1
		assertEquals "a $k signature" 0 $? || return 0
	done
	sa -D
	assertEquals "ssh-add -D: $out" 0 "$rc" || return 0
	f_scan "$apid"
	assertEquals 'no ed25519 seed after ssh-add -D' 0 "$seed" || return 0
	assertEquals "no RSA d after ssh-add -D" 0 "$d" || return 0
	# ssh-add -d of one key, likewise.
	f_load_keys || return 0
	sa -d "$K/ed25519.pub"
	assertEquals "ssh-add -d: $out" 0 "$rc" || return 0
	f_scan "$apid"
	assertEquals 'no ed25519 seed after ssh-add -d' 0 "$seed" || return 0
	assertTrue 'the other key stays' "[ $d -ge 1 ]" || return 0
}

# f_scan_unlocked PID: as f_scan, counting only what lies outside memory
# locked in RAM (memscan -u): $seed and $d.
f_scan_unlocked() {
	# shellcheck disable=SC2046 # three counts
	set -- $("$TOOLS/memscan" -u "$1" "$SEED" "$D_BE" "$D_LE" \
	    2>"$T/memscan.err")
	seed=${1:-x}
	d=$((${2:-0} + ${3:-0}))
	[ -n "${3:-}" ]
}

# f_none_unlocked: memscan -u finds neither secret.
f_none_unlocked() {
	f_scan_unlocked "$apid" && [ "$seed" = 0 ] && [ "$d" = 0 ]
}

# Every byte of a loaded key lives in locked memory (OpenSSL's secure
# heap), not only where it was added but after signatures too: the
# signing form OpenSSL 3.0 copies to ordinary heap is kept only while
# signatures come, and wiped a second after the last.  (Locked memory
# is allowed here, as root; elsewhere the user's limit must allow 2 MiB.)
test_keys_only_in_locked_memory() {
	f_agent || return 0
	f_load_keys || return 0
	grep -q '^VmLck:[[:space:]]*[1-9]' "/proc/$apid/status"
	assertTrue "the agent has locked memory: \
$(grep VmLck "/proc/$apid/status")" $? || return 0
	f_scan_unlocked "$apid"
	assertTrue "memscan -u ran: $(cat "$T/memscan.err")" $? || return 0
	# What is not secret (the public modulus the key store lists) is
	# found outside locked memory: the scan does look there.
	pubn=$(cut -d' ' -f2 "$K/rsa.pub" | base64 -d | od -An -v -tx1 |
	    tr -d ' \n' | tail -c 64)
	assertTrue "memscan -u sees ordinary memory (the RSA modulus)" \
	    "[ $("$TOOLS/memscan" -u "$apid" "$pubn") -ge 1 ]" || return 0
	assertEquals 'no ed25519 seed outside locked memory' 0 "$seed" ||
		return 0
	assertEquals 'no RSA d outside locked memory' 0 "$d" || return 0
	printf 'data\n' >"$T/data"
	cp "$K/rsa.pub" "$K/ed25519.pub" "$T/"
	for k in rsa ed25519 rsa ed25519; do
		SSH_AUTH_SOCK=$SA_SOCK timeout -k 2 15 ssh-keygen -Y sign \
		    -n file -f "$T/$k.pub" <"$T/data" >/dev/null 2>&1
		assertEquals "a $k signature" 0 $? || return 0
	done
	f_wait 50 f_none_unlocked
	f_scan_unlocked "$apid"
	assertEquals 'once idle, no ed25519 seed outside locked memory' \
	    0 "$seed" || return 0
	assertEquals 'once idle, no RSA d outside locked memory' 0 "$d" ||
		return 0
	f_scan "$apid"
	assertTrue "while the keys are found in locked memory ($seed, $d)" \
	    "[ $seed -ge 1 ] && [ $d -ge 1 ]" || return 0
}

# (e) Locked: only sealed copies remain; unlocked, the keys are back.
test_keys_wiped_on_lock() {
	f_agent || return 0
	f_load_keys || return 0
	f_askpass 'lock pass' -x
	assertEquals "ssh-add -x: $out" 0 "$rc" || return 0
	f_scan "$apid"
	assertEquals 'no ed25519 seed while locked' 0 "$seed" || return 0
	assertEquals 'no RSA d while locked' 0 "$d" || return 0
	f_askpass 'lock pass' -X
	assertEquals "ssh-add -X: $out" 0 "$rc" || return 0
	sa -l
	assertContains 'the keys are back after unlock' "$out" "$FP_ED" ||
		return 0
	assertContains 'both of them' "$out" "$FP_RSA" || return 0
}

# f_no_keys: ssh-add -l says the agent holds no key.
f_no_keys() {
	sa -l
	[ "$rc" -eq 1 ]
}

# (e) Expired: a key added with a lifetime is wiped when it runs out.
test_keys_wiped_on_expiry() {
	f_agent || return 0
	sa -t 3 "$K/ed25519" "$K/rsa"
	assertEquals "ssh-add -t 3: $out" 0 "$rc" || return 0
	f_scan "$apid"
	assertTrue 'the seed is found before expiry' "[ $seed -ge 1 ]" ||
		return 0
	assertTrue 'RSA d is found before expiry' "[ $d -ge 1 ]" || return 0
	f_wait 150 f_no_keys
	assertTrue "the keys expire: $out" $? || return 0
	f_scan "$apid"
	assertEquals 'no ed25519 seed after expiry' 0 "$seed" || return 0
	assertEquals 'no RSA d after expiry' 0 "$d" || return 0
}

# f_pending_confirm HOW WORD: a key added with -c is asked for a
# signature; while the confirmation is pending (the askpass waits for
# our word), HOW (lock: ssh-add -x, remove: ssh-add -D) takes the key
# away.  Then its secret must be gone from memory at once, and the
# confirmation, once given, must not produce a signature: the key is
# WORD.
f_pending_confirm() {
	cat >"$T/bin/confirm" <<EOF
#!/bin/sh
: >$T/confirm.asked
i=0
while [ ! -e $T/confirm.go ] && [ \$i -lt 300 ]; do
	sleep 0.1
	i=\$((i + 1))
done
exit 0
EOF
	chmod 0700 "$T/bin/confirm"
	f_agent "$T/bin/confirm" || return 0
	sa -c "$K/ed25519"
	assertEquals "ssh-add -c: $out" 0 "$rc" || return 0
	cp "$K/ed25519.pub" "$T/"
	printf 'data\n' >"$T/data"
	SSH_AUTH_SOCK=$SA_SOCK timeout -k 2 60 ssh-keygen -Y sign -n file \
	    -f "$T/ed25519.pub" <"$T/data" >"$T/sig" 2>"$T/sig.err" &
	sign_pid=$!
	f_pids="$f_pids $sign_pid"
	f_wait 100 test -e "$T/confirm.asked"
	assertTrue 'the agent asks for a confirmation' $? || return 0
	if [ "$1" = lock ]; then
		f_askpass 'lock pass' -x
	else
		sa -D
	fi
	assertEquals "ssh-add ($1): $out" 0 "$rc" || return 0
	sa -l
	assertEquals "no key listed once $2: $out" 1 "$rc" || return 0
	f_scan "$apid"
	# No return here: whether it signs is the other half of the answer.
	assertEquals "no ed25519 seed in memory once $2, while a \
confirmation is pending" 0 "$seed"
	: >"$T/confirm.go"
	f_wait 300 f_gone "$sign_pid"
	assertTrue 'the signer finished' "f_gone $sign_pid" || return 0
	wait "$sign_pid"
	rc=$?
	assertNotEquals "no signature with a key $2 before the confirmation \
came: $(head -n 1 "$T/sig")" 0 "$rc" || return 0
}

# (e) Locked, and removed, while a confirmation is pending.
test_lock_during_pending_confirmation() {
	f_pending_confirm lock 'locked (ssh-add -x)'
}

test_remove_during_pending_confirmation() {
	f_pending_confirm remove 'removed (ssh-add -D)'
}

# (e) Stopped while a confirmation is pending, with an askpass that
# ignores SIGTERM: the agent still ends (askpass killed after a short
# grace), and no signature comes out.
test_stop_during_pending_confirmation() {
	cat >"$T/bin/confirm" <<EOF
#!/bin/sh
trap '' TERM
echo \$\$ >$T/confirm.pid.tmp && mv $T/confirm.pid.tmp $T/confirm.pid
while :; do sleep 0.1; done
EOF
	chmod 0700 "$T/bin/confirm"
	f_agent "$T/bin/confirm" || return 0
	sa -c "$K/ed25519"
	assertEquals "ssh-add -c: $out" 0 "$rc" || return 0
	cp "$K/ed25519.pub" "$T/"
	printf 'data\n' >"$T/data"
	SSH_AUTH_SOCK=$SA_SOCK timeout -k 2 60 ssh-keygen -Y sign -n file \
	    -f "$T/ed25519.pub" <"$T/data" >"$T/sig" 2>"$T/sig.err" &
	sign_pid=$!
	f_pids="$f_pids $sign_pid"
	f_wait 100 test -s "$T/confirm.pid"
	assertTrue 'the agent asks for a confirmation' $? || return 0
	askpid=$(cat "$T/confirm.pid")
	f_pids="$f_pids $askpid"
	kill -TERM "$apid"
	f_wait 100 f_gone "$apid"
	assertTrue "the agent ends though its askpass ignores SIGTERM: \
$(cat "$T/agent.log")" "f_gone $apid" || return 0
	assertTrue 'the askpass was killed' "f_gone $askpid"
	f_wait 100 f_gone "$sign_pid"
	wait "$sign_pid"
	assertNotEquals "no signature: $(head -n 1 "$T/sig")" 0 $?
}

# (e) The agent's process itself: no core file, ever (RLIMIT_CORE 0, soft
# and hard), and its secure heap (2 MiB) locked in memory, which root can
# always do (CAP_IPC_LOCK).
test_agent_process_hardening() {
	f_agent || return 0
	assertEquals 'RLIMIT_CORE, soft and hard' '0 0' \
	    "$(awk '/^Max core file size/ { print $5, $6 }' \
	    "/proc/$apid/limits")" || return 0
	if [ "$(id -u)" -eq 0 ]; then
		# Made once the generators are seeded, just after start.
		f_wait 100 f_heap_locked "$apid"
		locked=$(awk '/^VmLck:/ { print $2 }' "/proc/$apid/status")
		assertTrue "the secure heap is locked (VmLck $locked kB)" \
		    "[ '${locked:-0}' -ge 1024 ]" || return 0
	fi
}

# f_exit_scan PID: starts memscan -x on PID (results in $T/exit.scan),
# waits until it traces PID.  The exe path, which every process holds,
# is the control: the scan must find it, or it read nothing.
f_exit_scan() {
	exe_hex=$(printf '%s' "$T/bin/sshenv-agent" | f_hex)
	"$TOOLS/memscan" -w 60 -x "$1" "$SEED" "$D_BE" "$D_LE" "$exe_hex" \
	    >"$T/exit.scan" 2>"$T/exit.err" &
	scan_pid=$!
	f_pids="$f_pids $scan_pid"
	f_wait 100 grep -q '^ready$' "$T/exit.scan"
	assertTrue "memscan traces $1: $(cat "$T/exit.err")" $?
}

# f_exit_counts: waits for f_exit_scan's result; asserts it is clean.
f_exit_counts() {
	f_wait 300 f_gone "$scan_pid"
	assertTrue 'memscan -x finished' "f_gone $scan_pid" || return 0
	# shellcheck disable=SC2046 # four counts
	set -- $(sed 1d "$T/exit.scan")
	assertTrue "memscan read the memory at exit: $* \
$(cat "$T/exit.err")" "[ '${4:-0}' -ge 1 ]" || return 0
	assertEquals 'no ed25519 seed at exit' 0 "$1" || return 0
	assertEquals 'no RSA d at exit' 0 "$(($2 + $3))" || return 0
}

# (e) At exit (SIGTERM to an agent run alone), caught at the last moment
# before the kernel frees the memory.
test_keys_wiped_at_agent_exit() {
	f_agent || return 0
	f_load_keys || return 0
	f_exit_scan "$apid" || return 0
	kill -TERM "$apid"
	f_exit_counts
}

# (e) `sshenv stop` of the agent the supervisor runs.
test_keys_wiped_at_sshenv_stop() {
	f_login a || return 0
	assertEquals "init: $(cat "$T/a.ierr")" 0 "$rc" || return 0
	apid=$(f_pidfile agent)
	f_load_keys || return 0
	f_exit_scan "$apid" || return 0
	out=$(timeout -k 2 30 sshenv stop 2>&1)
	assertEquals "sshenv stop: $out" 0 $? || return 0
	f_exit_counts
}

# (f) Another process of the agent's own user may not read its memory nor
# trace it.  The agent makes itself non-dumpable (PR_SET_DUMPABLE 0):
# the kernel's ptrace_may_access() then refuses any caller that lacks
# CAP_SYS_PTRACE, even one of the same uid, and both PTRACE_ATTACH and
# opening /proc/PID/mem go through that check (the /proc/PID files of a
# non-dumpable process also belong to root).  Controls: the same uid may
# read and trace a dumpable process of its own, and root (with
# CAP_SYS_PTRACE) may read the agent.  The reader is the parent of its
# target where it can be, so that Yama's ptrace_scope=1 does not stand in
# for what is tested.
test_same_user_cannot_read_agent_memory() {
	f_need_root 'running processes as nobody' || return 0
	scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
	if [ "$scope" -ge 2 ]; then
		echo "SKIP: Yama ptrace_scope=$scope forbids ptrace to all \
non-root users: nothing to tell apart"
		return 0
	fi
	f_public || return 0
	mkdir "$P/n"
	chown nobody:nogroup "$P/n"
	nsock=$P/n/agent.sock
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$P/bin/sshenv" agent -D -a "$nsock" </dev/null \
	    >"$T/agent.log" 2>&1 &
	apid=$!
	f_pids="$f_pids $apid"
	SA_SOCK=$nsock
	f_wait 100 f_answers
	assertTrue "nobody's agent answers: $(cat "$T/agent.log")" $? ||
		return 0
	sa "$K/ed25519"
	assertEquals "ssh-add to nobody's agent: $out" 0 "$rc" || return 0
	f_scan "$apid"
	assertTrue "root reads the agent and finds the seed ($seed)" \
	    "[ $seed -ge 1 ]" || return 0

	nob() {
		timeout -k 2 30 setpriv --reuid=nobody --regid=nogroup \
		    --clear-groups "$@" </dev/null 2>&1
	}
	# Controls: a dumpable process of nobody's, its child.
	# shellcheck disable=SC2016 # for nobody's shell to expand
	out=$(nob sh -c 'sleep 30 >/dev/null 2>&1 &
echo $! >"$2"
exec "$0" $! "$1"' "$P/bin/memscan" "$SEED" "$P/n/sleep1")
	rc=$?
	f_pids="$f_pids $(cat "$P/n/sleep1" 2>/dev/null)"
	assertEquals "nobody reads its own dumpable child: $out" 0 "$rc" ||
		return 0
	# shellcheck disable=SC2016
	out=$(nob sh -c 'sleep 30 >/dev/null 2>&1 &
echo $! >"$1"
exec "$0" -p $!' "$P/bin/memscan" "$P/n/sleep2")
	f_pids="$f_pids $(cat "$P/n/sleep2" 2>/dev/null)"
	assertEquals "nobody traces its own dumpable child: $out" attached \
	    "$out" || return 0

	# The agent, from a sibling process of nobody's.
	out=$(nob "$P/bin/memscan" "$apid" "$SEED")
	assertEquals "nobody cannot read /proc/$apid/mem: $out" 1 $? ||
		return 0
	assertContains 'refused for lack of rights' "$out" \
	    'Permission denied' || return 0
	out=$(nob cat "/proc/$apid/mem")
	assertNotEquals "cat /proc/$apid/mem as nobody fails: $out" 0 $? ||
		return 0
	assertContains 'cat is refused too' "$out" 'Permission denied' ||
		return 0
	out=$(nob "$P/bin/memscan" -p "$apid")
	assertContains "nobody cannot ptrace the agent: $out" "$out" \
	    'denied: ' || return 0

	# And from its parent: Yama would allow that; non-dumpable does not.
	# The agent is started, waited for (10 s at most), then the shell
	# becomes memscan, the agent's parent.
	mkdir "$P/n2"
	chown nobody:nogroup "$P/n2"
	# shellcheck disable=SC2016
	out=$(nob sh -c '"$0" agent -D -a "$1" >/dev/null 2>&1 &
echo $! >"$2"
i=0
while [ ! -S "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
exec "$3" $! "$4"' "$P/bin/sshenv" "$P/n2/agent.sock" "$P/n2/pid" \
	    "$P/bin/memscan" "$SEED")
	rc=$?
	[ -s "$P/n2/pid" ] && f_pids="$f_pids $(cat "$P/n2/pid")"
	assertEquals "nobody cannot read its own child agent: $out" 1 "$rc" ||
		return 0
	assertContains 'refused for lack of rights' "$out" \
	    'Permission denied' || return 0
}

# (g) A hundred supervisor crashes, each followed by a login: one agent
# all along (the first one, adopted each time, keys and all), and after
# `sshenv stop` nothing at all.
test_hundred_supervisor_crashes() {
	f_login a || return 0
	assertEquals "init: $(cat "$T/a.ierr")" 0 "$rc" || return 0
	sa "$K/ed25519"
	assertEquals "ssh-add: $out" 0 "$rc" || return 0
	apid=$(f_pidfile agent)
	bad=''
	i=1
	while [ $i -le 100 ]; do
		spid=$(f_pidfile daemon)
		if [ -z "$spid" ]; then
			bad="$bad $i:no-daemon.pid"
			break
		fi
		kill -KILL "$spid"
		f_wait 50 f_gone "$spid" || { bad="$bad $i:unkillable"; break; }
		timeout -k 2 30 setsid -w sh -c 'sshenv init -q -s >/dev/null' \
		    </dev/null 2>>"$T/crash.err"
		r=$?
		[ "$r" -eq 0 ] || bad="$bad $i:init=$r"
		[ "$(f_pidfile agent)" = "$apid" ] ||
			bad="$bad $i:agent=$(f_pidfile agent)"
		i=$((i + 1))
	done
	assertEquals "every crash recovered: $(tail -n 3 "$T/crash.err")" \
	    '' "$bad" || return 0
	assertEquals 'one supervisor' 1 "$(f_count daemon)" || return 0
	assertEquals 'the same single agent' "$apid" "$(f_pids agent)" ||
		return 0
	sa -l
	assertEquals 'with its key' "$FP_ED" "$out" || return 0
	out=$(timeout -k 2 30 sshenv stop 2>&1)
	assertEquals "sshenv stop: $out" 0 $? || return 0
	f_wait 100 f_clean
	assert_clean 'after 100 crashes and a stop'
}

# (h) 200 logins, each ending with `sshenv logout` (1000 would be long):
# each gets the agent; after the last, linger, and nothing is left.
test_two_hundred_login_cycles() {
	bad=''
	i=1
	while [ $i -le 200 ]; do
		# shellcheck disable=SC2016 # for the login's shell
		timeout -k 2 30 setsid -w sh -c 'eval "$(sshenv init -q -s)" ||
exit 10
[ "$SSH_AUTH_SOCK" = "$0" ] || exit 11
sshenv logout || exit 12' "$SOCK" </dev/null >/dev/null 2>>"$T/cycle.err"
		r=$?
		[ "$r" -eq 0 ] || bad="$bad $i:$r"
		i=$((i + 1))
	done
	assertEquals "every cycle ran (cycle:status): \
$(tail -n 3 "$T/cycle.err")" '' "$bad"
	f_wait 150 f_clean
	assert_clean 'after 200 login cycles'
}

# shellcheck disable=SC1091 # shunit2 is not ours to check
if [ -r /usr/bin/shunit2 ]; then
	. /usr/bin/shunit2
else
	. /usr/share/shunit2/shunit2
fi
