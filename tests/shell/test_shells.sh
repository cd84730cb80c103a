#!/bin/sh
# The profile snippets of shell/, unchanged, in every shell we claim:
# bash, dash, ksh, zsh, tcsh and fish.  For each shell, a login in a new
# session:
#   1. sources the login snippet: SSH_AUTH_SOCK is exported, is the stable
#      agent.sock, and ssh-add -l gets an answer from a fresh agent; the
#      session is registered; the logout snippet (where there is one)
#      ends it while the shell still runs;
#   2. runs the init line of that shell's syntax with a key named on it:
#      ssh-add -l lists that key;
#   3. with no sshenv on PATH, the snippet is silent and harmless.
# Arguments: none, or -- test_name... to run some tests only.
# shellcheck disable=SC2016 # scripts for other shells, in single quotes
# shellcheck disable=SC2317 # the tests are called by shunit2

LIB_INC=$(cd "$(dirname "$0")" && pwd)/login.inc
# shellcheck source=tests/shell/login.inc
. "$LIB_INC"

setUp() {
	lib_setUp
	lib_key id_test
	# An empty directory: PATH for "sshenv is not installed".
	mkdir "$T/nobin"
}

tearDown() {
	lib_tearDown
}

# ---------------------------------------------------------------- helpers

# check_login NAME: judges login 1 from its output ($T/NAME.out), which
# has RC=<ssh-add -l status>, the SSH_ variables of its environment and
# SID=<its session id>, and from the status JSON it saved before (.before)
# and after (.after, if any) its logout snippet.
check_login() {
	_o=$T/$1.out
	assertEquals "$1: ssh-add -l through the snippet's SSH_AUTH_SOCK" \
	    "RC=1" "$(grep '^RC=' "$_o")"
	assertEquals "$1: SSH_AUTH_SOCK exported, at the stable path" \
	    "SSH_AUTH_SOCK=$SOCK" "$(grep '^SSH_AUTH_SOCK=' "$_o")"
	# The agent may be gone by now (linger): the pid it had then.
	assertEquals "$1: SSH_AGENT_PID exported, the agent's" \
	    "SSH_AGENT_PID=$(lib_json "$T/$1.before" agent_pid)" \
	    "$(grep '^SSH_AGENT_PID=' "$_o")"
	_sid=$(sed -n 's/^SID=//p' "$_o")
	lib_sids="$lib_sids $_sid"
	assertTrue "$1: session $_sid registered: $(cat "$T/$1.before")" \
	    "lib_has '$_sid' '$(lib_json "$T/$1.before" sessions)'"
	if [ -f "$T/$1.after" ]; then
		assertFalse "$1: session $_sid still there after logout" \
		    "lib_has '$_sid' '$(lib_json "$T/$1.after" sessions)'"
	fi
}

# check_key NAME: judges login 2: ssh-add -l listed the key.
check_key() {
	_o=$T/$1.out
	assertEquals "$1: ssh-add -l status, key loaded by init" \
	    "RC=0" "$(grep '^RC=' "$_o")"
	assertTrue "$1: ssh-add -l lists $fp: $(cat "$_o" "$T/$1.err")" \
	    "grep -q ' $fp ' '$_o'"
	assertEquals "$1: SSH_AUTH_SOCK" \
	    "SSH_AUTH_SOCK=$SOCK" "$(grep '^SSH_AUTH_SOCK=' "$_o")"
}

# check_silent SHELL: with no sshenv, the snippet printed nothing, the
# shell went on ("OK") and nothing was started ($T/missing.*).
check_silent() {
	assertEquals "$1, sshenv missing: output" "OK" \
	    "$(cat "$T/missing.out")"
	assertEquals "$1, sshenv missing: errors" "" \
	    "$(cat "$T/missing.err")"
	assertTrue "$1, sshenv missing: nothing started" lib_none_left
}

# run_login NAME SHELL ARGS...: SHELL ARGS as the leader of a new session
# (setsid execs the shell in its own place, so the shell's pid is the
# session id), bounded; output in $T/NAME.out and .err.
run_login() {
	_name=$1
	shift
	timeout -k 2 60 setsid -w "$@" </dev/null >"$T/$_name.out" \
	    2>"$T/$_name.err"
}

# sh_family SHELL SNIPPET LOGOUT-SNIPPET ARGS...: the three runs for a
# Bourne-like shell, which all share one syntax.
sh_family() {
	_sh=$1 _in=$2 _outs=$3
	shift 3
	# A login that finds no sshenv: the snippet must keep quiet.
	run_login missing env PATH="$T/nobin" "$(command -v "$_sh")" "$@" \
	    -c '. "$1"; echo OK' sh "$SHDIR/$_in"
	check_silent "$_sh"
	run_login login "$_sh" "$@" -c '. "$1"
ssh-add -l
echo "RC=$?"
env | grep "^SSH_"
echo "SID=$$"
sshenv status --json >"$2.before"
if [ -n "$3" ]; then
	. "$3"
	sshenv status --json >"$2.after"
fi' sh "$SHDIR/$_in" "$T/login" "${_outs:+$SHDIR/$_outs}"
	check_login login
	run_login key "$_sh" "$@" -c 'eval "$(sshenv init -s id_test)"
ssh-add -l
echo "RC=$?"
env | grep "^SSH_"'
	check_key key
}

# ------------------------------------------------------------------ tests

test_bash() {
	sh_family bash profile.sh bash_logout --norc --noprofile
}

test_dash() {
	sh_family dash profile.sh ''
}

test_ksh() {
	sh_family ksh profile.sh ''
}

test_zsh() {
	# -f: no rc files of the system; the snippets are sourced by hand.
	sh_family zsh zprofile.zsh zlogout.zsh -f
}

test_tcsh() {
	# csh has no positional parameters with -c: the paths are inlined,
	# single-quoted (they hold no quote).
	run_login missing env PATH="$T/nobin" "$(command -v tcsh)" -f -c \
	    "source '$SHDIR/login.csh'; echo OK"
	check_silent tcsh
	run_login login tcsh -f -c "source '$SHDIR/login.csh'
ssh-add -l
echo \"RC=\$status\"
env | grep '^SSH_'
echo \"SID=\$\$\"
sshenv status --json > '$T/login.before'
source '$SHDIR/logout.csh'
sshenv status --json > '$T/login.after'"
	check_login login
	run_login key tcsh -f -c 'eval `sshenv init -c id_test`
ssh-add -l
echo "RC=$status"
env | grep "^SSH_"'
	check_key key
}

test_fish() {
	# Where the snippet belongs: conf.d, which fish reads for every
	# shell, login or not.  HOME and XDG_CONFIG_HOME are the test's.
	mkdir -p "$XDG_CONFIG_HOME/fish/conf.d"
	cp "$SHDIR/sshenv.fish" "$XDG_CONFIG_HOME/fish/conf.d/"
	run_login missing env PATH="$T/nobin" "$(command -v fish)" -l \
	    -c 'echo OK'
	check_silent fish
	# Not a login shell: the snippet must do nothing at all.
	run_login plain fish -c 'echo OK; env | grep "^SSH_"'
	assertEquals "fish non-login: no agent settings" "OK" \
	    "$(cat "$T/plain.out")"
	assertTrue "fish non-login: nothing started" lib_none_left
	run_login login fish -l -c 'ssh-add -l
echo "RC=$status"
env | grep "^SSH_"
echo "SID=$fish_pid"
sshenv status --json >"$argv[1].before"' "$T/login"
	check_login login
	run_login key fish -c 'sshenv init -f id_test | source
ssh-add -l
echo "RC=$status"
env | grep "^SSH_"'
	check_key key
}

# shellcheck disable=SC1091
. /usr/bin/shunit2
