#!/bin/sh
# shellcheck disable=SC2016 # scripts for sh -c, in single quotes
# `sshenv doctor`: each check gives the verdict a user would want, with a
# remedy, and the exit status says whether any check failed.

. "$(dirname "$0")/login.inc"

setUp() { lib_setUp; }
tearDown() { lib_tearDown; }

# doctor [VAR=value...]: runs `sshenv doctor` with those variables in a
# clean environment of this test; output in $out, status in $rc.
doctor() {
	env "$@" timeout -k 2 30 sshenv doctor >"$T/doctor.out" 2>&1
	rc=$?
	out=$(cat "$T/doctor.out")
}

# has_line PREFIX TEXT: a line of the output starts with PREFIX and
# contains TEXT.
has_line() {
	printf '%s\n' "$out" | grep -F -- "$2" | grep -q "^$1"
}

test_no_supervisor_fails_with_a_remedy() {
	doctor
	assertEquals "exit status: $out" 1 "$rc"
	assertTrue "no FAIL for the supervisor: $out" \
	    "has_line FAIL 'no sshenv supervisor answers'"
	assertTrue "no remedy: $out" \
	    "printf '%s\n' \"\$out\" | grep -q -- '-> put .eval'"
	assertTrue "no FAIL for SSH_AUTH_SOCK: $out" \
	    "has_line FAIL 'SSH_AUTH_SOCK is not set'"
}

# The remedies are in the user's shell's syntax: a csh user gets csh.
test_remedies_in_the_users_shell() {
	doctor SHELL=/bin/tcsh
	assertContains "csh profile line: $out" "$out" \
	    "eval \`sshenv init -c\`' in ~/.login"
	assertContains "csh env line: $out" "$out" "eval \`sshenv env -c\`"
	assertNotContains "no sh syntax for csh: $out" "$out" '$(sshenv'
	doctor SHELL=/usr/bin/fish
	assertContains "fish env line: $out" "$out" "sshenv env -f | source"
}

# Faults set up on purpose, each named with the remedy that fixes it.
test_faults_named_with_their_remedy() {
	# A runtime directory others may enter: the real cause, with chmod,
	# not "add the line to your profile".
	mkdir -m 0777 "$RUNDIR"
	chmod 0777 "$RUNDIR"
	doctor
	assertContains "mode named: $out" "$out" "has mode 0777"
	assertContains "the exact chmod: $out" "$out" "-> chmod 700 $RUNDIR"
	assertNotContains "no profile advice: $out" "$out" "login profile"
	chmod 0700 "$RUNDIR"
	lib_login_init a || return 0
	# An environment file the classic recipe wrote.
	mkdir -p "$HOME/.ssh"
	printf 'SSH_AUTH_SOCK=/tmp/x; export SSH_AUTH_SOCK;\n' >"$ENVFILE"
	# A stale SSH_AGENT_PID, an ssh-agent left by keychain, and keys
	# that ask for confirmation with no askpass to ask with.
	ssh-agent -a "$T/kc.sock" >"$T/kc.out" 2>&1
	kc=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$T/kc.out")
	lib_track "$kc"
	lib_config '[agent]' 'confirm = yes'
	doctor SSH_AUTH_SOCK="$SOCK" SSH_AGENT_PID=999999999
	assertContains "foreign environment file: $out" "$out" \
	    "$ENVFILE was not written by sshenv"
	assertContains "its remedy: $out" "$out" "-> remove it once (rm $ENVFILE)"
	assertContains "stale SSH_AGENT_PID: $out" "$out" \
	    "SSH_AGENT_PID=999999999 names no running process"
	# (The portable build reads no /proc, as on the BSDs.)
	case ${SSHENV_BUILD:-} in
	*portable*) ;;
	*)
		assertContains "keychain's agent: $out" "$out" \
		    "an ssh-agent of yours runs (pid $kc)"
		assertContains "its remedy: $out" "$out" "-> kill $kc"
		;;
	esac
	assertContains "confirm without askpass: $out" "$out" \
	    "the agent cannot ask"
}

test_healthy_local_agent() {
	lib_login_init a || return 0
	assertEquals "init: $(cat "$T/a.ierr")" 0 "$rc"
	doctor SSH_AUTH_SOCK="$SOCK"
	assertEquals "exit status: $out" 0 "$rc"
	assertTrue "supervisor: $out" "has_line ok 'supervisor'"
	assertTrue "agent answers: $out" "has_line ok 'answers at $SOCK'"
	assertTrue "no keys is a warning: $out" \
	    "has_line warn 'the agent holds no keys'"
	assertTrue "ours: $out" "has_line ok \"sshenv's local agent\""
	# With a key loaded the warning goes.
	lib_key k1
	lib_sa "$HOME/.ssh/k1"
	assertEquals "ssh-add: $out" 0 "$rc"
	doctor SSH_AUTH_SOCK="$SOCK"
	assertTrue "1 key: $out" "has_line ok '1 key loaded'"
	assertFalse "still warns: $out" "has_line warn 'no keys'"
}

test_dead_socket_fails() {
	lib_login_init a || return 0
	doctor SSH_AUTH_SOCK="$T/nothing.sock"
	assertEquals "exit status: $out" 1 "$rc"
	assertTrue "dead socket: $out" \
	    "has_line FAIL 'SSH_AUTH_SOCK=$T/nothing.sock does not answer'"
}

test_forwarded_and_other_agents_told_apart() {
	lib_login_init a || return 0
	# Another agent, as sshd's forwarding socket would be.
	ssh-agent -D -a "$T/fwd.sock" >/dev/null 2>&1 &
	lib_track $!
	lib_wait 5 test -S "$T/fwd.sock" || { fail "no ssh-agent"; return; }
	doctor SSH_AUTH_SOCK="$T/fwd.sock" SSH_CONNECTION='1.2.3.4 1 5.6.7.8 22'
	assertTrue "forwarded: $out" "has_line ok 'a forwarded agent'"
	doctor SSH_AUTH_SOCK="$T/fwd.sock"
	assertTrue "another agent is a warning: $out" \
	    "has_line warn 'another agent'"
}

# Two supervisors of one user (a login without XDG_RUNTIME_DIR cannot see
# the one in it, so it starts its own under ~/.ssh/agent): two agents, two
# sets of keys.  Doctor names the other one and how to stop it.
test_second_supervisor_named() {
	lib_login_init a || return 0
	doctor
	assertFalse "one supervisor is fine: $out" \
	    "has_line FAIL 'a second sshenv supervisor'"
	lib_login_init_noxdg b || return 0
	assertEquals "init without XDG_RUNTIME_DIR: $(cat "$T/b.ierr")" 0 \
	    "$rc" || return 0
	assertEquals "two supervisors" 2 "$(lib_count daemon)"
	other=$(dirname "$(lib_var "$T/b.env" SSH_AUTH_SOCK)")
	pid=$(cat "$other/daemon.pid" 2>/dev/null)
	assertNotEquals "its pid file" "" "$pid"
	doctor
	assertEquals "exit status: $out" 1 "$rc"
	assertTrue "the other one named: $out" \
	    "has_line FAIL 'a second sshenv supervisor of yours serves in $other'"
	assertContains "the remedy kills it: $out" "$out" "-> kill $pid "
	# Its agent too, as an agent that is not this supervisor's (the
	# portable build reads no /proc).
	case ${SSHENV_BUILD:-} in
	*portable*) ;;
	*) bagent=$(lib_var "$T/b.env" SSH_AGENT_PID)
	   assertContains "the other agent named: $out" "$out" \
	       "another sshenv-agent of yours runs (pid $bagent)" ;;
	esac
}

test_forward_agent_for_every_host_warns() {
	mkdir -p "$HOME/.ssh"
	printf 'Host build\n  ForwardAgent yes\n\nHost *\n  ForwardAgent yes\n' \
	    >"$HOME/.ssh/config"
	doctor
	assertTrue "Host * not warned about: $out" \
	    "has_line warn '.ssh/config:5: ForwardAgent yes for every host'"
	assertTrue "named host: $out" \
	    "has_line ok '.ssh/config:2: ForwardAgent yes for Host build'"
	# Before any Host line counts as every host too.
	printf 'ForwardAgent=yes\n' >"$HOME/.ssh/config"
	doctor
	assertTrue "top-level setting: $out" \
	    "has_line warn '.ssh/config:1: ForwardAgent yes for every host'"
	printf 'Host *\n  ForwardAgent no\n' >"$HOME/.ssh/config"
	doctor
	assertTrue "ForwardAgent no is fine: $out" \
	    "has_line ok '.ssh/config: no ForwardAgent setting'"
}

# For each host the agent is forwarded to: could the keys be used from
# there unchecked?  A plain key could; one that asks (-c), or whose
# forwarded use the policy denies (told to the agent on reload), not.
test_forwarded_keys_judged_per_host() {
	lib_login_init a || return 0
	assertEquals "init: $(cat "$T/a.ierr")" 0 "$rc"
	lib_key k1
	lib_sa "$HOME/.ssh/k1"
	assertEquals "ssh-add: $out" 0 "$rc"
	printf 'Host jump\n  ForwardAgent yes\n' >"$HOME/.ssh/config"
	doctor SSH_AUTH_SOCK="$SOCK"
	assertTrue "the policy in force: $out" \
	    "has_line ok 'forwarded use of the keys: allow'"
	assertTrue "k1 open from jump: $out" \
	    "has_line warn '.ssh/config:2: ForwardAgent yes for Host jump: from there anyone who holds your account (and root) can use k1@sshenv-test unchecked'"
	assertContains "with the remedy: $out" "$out" \
	    "-> limit where each key may go (ssh-add -h HOST"
	lib_sa -c "$HOME/.ssh/k1"
	doctor SSH_AUTH_SOCK="$SOCK"
	assertTrue "asks, so checked: $out" \
	    "has_line ok 'ForwardAgent yes for Host jump: every key loaded is checked there'"
	lib_sa "$HOME/.ssh/k1"
	printf '[forwarding]\nuse = deny\n' >"$XDG_CONFIG_HOME/sshenv/config"
	kill -HUP "$(lib_pids daemon)"
	lib_wait 10 eval 'doctor SSH_AUTH_SOCK="$SOCK"; has_line ok "every key loaded is checked there"'
	assertTrue "denied there after the reload: $out" \
	    "has_line ok 'ForwardAgent yes for Host jump: every key loaded is checked there'"
	assertTrue "the policy in force: $out" \
	    "has_line ok 'forwarded use of the keys: deny'"
}

. /usr/bin/shunit2
