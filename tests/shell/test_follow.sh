#!/bin/sh
# shellcheck disable=SC2016 # remote scripts, in single quotes
# One SSH_AUTH_SOCK that always works on a jump host: a real user account
# with the README's line in its ~/.bash_profile, logging in through a
# real sshd (host B, 127.0.0.1) with a pty and `ssh -A` from agents on
# the test's side (host A) that hold different keys, logins coming and
# going, and a real tmux pane started in the first login and asked
# after each change: it follows the newest live login, falls back to an
# older live one, then to B's own sshenv agent.  A second sshd (host C)
# checks that a key restricted with `ssh-add -h` on A is usable through
# B's stable socket for the permitted hop, and not for another.
# Needs root (sshd, useradd); skipped otherwise.

SSHENV_BIN=${SSHENV_BIN:-$(dirname "$0")/../../build/sshenv}
case $SSHENV_BIN in /*) ;; *) SSHENV_BIN=$(pwd)/$SSHENV_BIN ;; esac
# shellcheck disable=SC2034 # read by shunit2
SHUNIT_COLOR=none
. "$(dirname "$0")/bins.inc"

D=''		# everything: keys, sshd files, the user's home, binaries
U=''		# the throwaway account
PB='' PC=''	# the two sshds' ports
sshd_pids=''
bg_pids=''

# as_user CMD...: CMD as the account, in its home.
as_user() {
	(cd "$D/home" && runuser -u "$U" -- env HOME="$D/home" \
	    PATH="$D/bin:/usr/bin:/bin" "$@")
}

# start_sshd NAME PORTVAR: an sshd on 127.0.0.1 with host key NAME.
start_sshd() {
	mkdir -p /run/sshd	# sshd's privilege separation directory
	_port=$((30000 + ($$ + ${#1} * 7) % 20000))
	_try=0
	while [ $_try -lt 10 ]; do
		cat >"$D/sshd/$1.conf" <<EOF
Port $_port
ListenAddress 127.0.0.1
AddressFamily inet
HostKey $D/sshd/host_$1
PidFile $D/sshd/$1.pid
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowAgentForwarding yes
AllowTcpForwarding no
X11Forwarding no
PermitTTY yes
PrintMotd no
PrintLastLog no
UseDNS no
LogLevel INFO
EOF
		: >"$D/sshd/$1.log"
		/usr/sbin/sshd -D -e -f "$D/sshd/$1.conf" </dev/null \
		    >>"$D/sshd/$1.log" 2>&1 &
		_pid=$!
		if wait_for 5 grep -q "listening on 127.0.0.1 port $_port\." \
		    "$D/sshd/$1.log"; then
			sshd_pids="$sshd_pids $_pid"
			eval "$2=$_port"
			return 0
		fi
		kill "$_pid" 2>/dev/null
		wait "$_pid" 2>/dev/null
		_port=$((_port + 1))
		_try=$((_try + 1))
	done
	return 1
}

oneTimeSetUp() {
	[ "$(id -u)" -eq 0 ] && command -v tmux >/dev/null &&
	    [ -x /usr/sbin/sshd ] || return 0
	D=$(mktemp -d /tmp/sshenv-follow.XXXXXX) || return 1
	chmod 0755 "$D"
	mkdir "$D/bin" "$D/keys" "$D/sshd" "$D/out"
	sshenv_copy "$D/bin" || return 1
	chmod -R a+rX "$D/bin"
	U=sshenvf$$
	useradd -M -d "$D/home" -s /bin/bash "$U" || {
		U=''
		return 1
	}
	usermod -p '*' "$U"	# no password, not locked: keys only
	mkdir -m 0700 "$D/home" "$D/home/.ssh"
	mkdir -p "$D/home/.config/sshenv"
	chmod 0777 "$D/out"
	for k in k1 k2 k3; do
		ssh-keygen -q -t ed25519 -N '' -C "follow-$k" -f "$D/keys/$k" ||
			return 1
	done
	cat "$D/keys/k1.pub" "$D/keys/k2.pub" >"$D/home/.ssh/authorized_keys"
	# k3 lives on B, in its own agent, loaded by the profile's init.
	cp "$D/keys/k3" "$D/keys/k3.pub" "$D/home/.ssh/"
	printf '[agent]\nkeys = k3\n[session]\non_last_logout = keep\n' \
	    >"$D/home/.config/sshenv/config"
	# The README's line, as a user puts it in a profile (after the
	# PATH line an install in a private directory needs).
	printf 'PATH=%s:$PATH\neval "$(sshenv init)"\n' "$D/bin" \
	    >"$D/home/.bash_profile"
	chown -R "$U:" "$D/home"
	ssh-keygen -q -t ed25519 -N '' -f "$D/sshd/host_b" || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$D/sshd/host_c" || return 1
	start_sshd b PB || return 1
	start_sshd c PC || return 1
	# Both hosts as A knows them (by name, for ssh-add -h), and C as
	# B's ssh knows it.
	printf 'hostb %s\nhostc %s\n[127.0.0.1]:%s %s\n[127.0.0.1]:%s %s\n' \
	    "$(cut -d' ' -f1,2 "$D/sshd/host_b.pub")" \
	    "$(cut -d' ' -f1,2 "$D/sshd/host_c.pub")" \
	    "$PB" "$(cut -d' ' -f1,2 "$D/sshd/host_b.pub")" \
	    "$PC" "$(cut -d' ' -f1,2 "$D/sshd/host_c.pub")" \
	    >"$D/known_hosts"
	cp "$D/known_hosts" "$D/home/.ssh/known_hosts"
	chown "$U:" "$D/home/.ssh/known_hosts"
	for a in a1 a2 a3; do
		ssh-agent -D -a "$D/$a.sock" </dev/null >/dev/null 2>&1 &
		bg_pids="$bg_pids $!"
	done
	wait_for 5 test -S "$D/a3.sock"
	SSH_AUTH_SOCK=$D/a1.sock ssh-add -q "$D/keys/k1" 2>/dev/null
	SSH_AUTH_SOCK=$D/a2.sock ssh-add -q "$D/keys/k2" 2>/dev/null
	# a3: k1 only for B, and from B on to C.
	SSH_AUTH_SOCK=$D/a3.sock ssh-add -q -H "$D/known_hosts" -h hostb \
	    -h 'hostb>hostc' "$D/keys/k1" 2>/dev/null
	return 0
}

oneTimeTearDown() {
	[ -n "$D" ] || return 0
	# shellcheck disable=SC2086 # lists of pids
	kill $bg_pids $sshd_pids 2>/dev/null
	if [ -n "$U" ]; then
		pkill -KILL -u "$U" 2>/dev/null
		wait_for 5 eval '! pgrep -u "$U" >/dev/null'
		userdel "$U" 2>/dev/null
	fi
	rm -rf "$D"
	D=''
}

need() {
	if [ "$(id -u)" -ne 0 ] || ! command -v tmux >/dev/null ||
	    [ ! -x /usr/sbin/sshd ]; then
		echo "SKIP: needs root, sshd and tmux"
		startSkipping
		return 1
	fi
	# Root with sshd and tmux: a setup that did not work is a failure.
	assertTrue "the sshds run (setup: $(cat "$D/setup.err" 2>/dev/null) \
$(tail -n 3 "$D/sshd/b.log" "$D/sshd/c.log" 2>/dev/null))" \
	    "[ -n '$PB' ] && [ -n '$PC' ]"
}

# login NAME AGENT SCRIPT: a login to B as the account, with a pty, the
# agent at AGENT forwarded, running SCRIPT in a login bash (so the
# profile runs first), until it is ended (end NAME).
login() {
	SSH_AUTH_SOCK=$2 setsid ssh -tt -A -F /dev/null -p "$PB" \
	    -o UserKnownHostsFile="$D/known_hosts" \
	    -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes \
	    -o IdentitiesOnly=no -o IdentityFile="$D/none" \
	    -o ControlMaster=no -o ControlPath=none -o LogLevel=ERROR \
	    "$U@127.0.0.1" "exec bash -l -c '$3'" \
	    </dev/null >"$D/out/$1.ssh" 2>&1 &
	eval "login_$1=$!"
	bg_pids="$bg_pids $!"
}

# end NAME: the connection goes, as when the user closes a terminal.
end() {
	eval "kill -TERM \$login_$1"
}

# pane_keys: the fingerprints the tmux pane's ssh-add -l gives, in order
# ("none" when it reaches no agent or one with no keys).  Called in $(),
# a subshell: each answer's file is numbered by a count kept on disk.
pane_keys() {
	_n=$(($(cat "$D/out/pane.n" 2>/dev/null || echo 0) + 1))
	echo "$_n" >"$D/out/pane.n"
	_f=$D/out/pane.$_n
	as_user tmux -S "$D/home/tmux.sock" send-keys -t pane \
	    "ssh-add -l >$_f.tmp 2>&1; mv $_f.tmp $_f" Enter
	wait_for 10 test -e "$_f" || {
		echo timeout
		return
	}
	if grep -q SHA256 "$_f"; then
		cut -d' ' -f2 "$_f" | tr '\n' ' ' | sed 's/ $//'
	else
		echo none
	fi
}

fp() {
	ssh-keygen -lf "$D/keys/$1.pub" | cut -d' ' -f2
}

# The tmux pane started in the first login follows the logins.
test_pane_follows_the_newest_login() {
	need || return 0
	login l1 "$D/a1.sock" 'tmux -S ~/tmux.sock new-session -d -s pane;
echo ok >'"$D"'/out/l1.ready; exec sleep 600'
	assertTrue "login 1 ran its profile: $(cat "$D/out/l1.ssh")" \
	    "wait_for 20 test -s '$D/out/l1.ready'" || return 0
	assertEquals "after login 1: its key, then B's own" \
	    "$(fp k1) $(fp k3)" "$(pane_keys)"
	login l2 "$D/a2.sock" 'echo ok >'"$D"'/out/l2.ready; exec sleep 600'
	assertTrue "login 2: $(cat "$D/out/l2.ssh")" \
	    "wait_for 20 test -s '$D/out/l2.ready'" || return 0
	assertEquals "the newest login's key first" \
	    "$(fp k2) $(fp k1) $(fp k3)" "$(pane_keys)"
	end l2
	assertTrue "the pane falls back to login 1" \
	    "wait_for 10 eval '[ \"\$(pane_keys)\" = \"$(fp k1) $(fp k3)\" ]'"
	end l1
	assertTrue "then to B's own agent" \
	    "wait_for 10 eval '[ \"\$(pane_keys)\" = \"$(fp k3)\" ]'"
}

# A key that A's agent allows for B, and from B for C only: through B's
# stable socket it logs in to C, and not back to B itself.
test_constrained_key_through_the_stable_socket() {
	need || return 0
	hop="ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=no \
-o IdentityFile=~/none -o ControlMaster=no -o ControlPath=none \
-o LogLevel=ERROR"
	login l3 "$D/a3.sock" 'echo "sock=$SSH_AUTH_SOCK" >'"$D"'/out/l3.env;
'"$hop"' -p '"$PC"' 127.0.0.1 true; echo c=$? >'"$D"'/out/l3.c;
'"$hop"' -p '"$PB"' 127.0.0.1 true; echo b=$? >'"$D"'/out/l3.b;
exec sleep 600'
	assertTrue "login 3: $(cat "$D/out/l3.ssh")" \
	    "wait_for 30 test -s '$D/out/l3.b'" || return 0
	assertContains "the stable socket: $(cat "$D/out/l3.env")" \
	    "$(cat "$D/out/l3.env")" "sock=$D/home/.ssh/agent/"
	assertEquals "B -> C, as A's constraint allows" "c=0" \
	    "$(cat "$D/out/l3.c")"
	assertEquals "B -> B, no hop A allowed" "b=255" \
	    "$(cat "$D/out/l3.b")"
	end l3
}

# A login that never runs the profile (`ssh -A host cmd`, as `ssh -A -t
# host tmux attach` is): nothing registers its agent, and the pane
# follows it all the same, found where sshd put its socket; `sshenv
# status` says so; when it ends the pane is back on B's own agent.
test_login_without_profile_is_followed() {
	need || return 0
	login l5 "$D/a1.sock" 'tmux -S ~/tmux.sock new-session -d -s pane \
2>/dev/null; echo ok >'"$D"'/out/l5.ready; exec sleep 600'
	assertTrue "login 5 ran its profile: $(cat "$D/out/l5.ssh")" \
	    "wait_for 20 test -s '$D/out/l5.ready'" || return 0
	end l5
	assertTrue "the pane is on B's own agent" \
	    "wait_for 10 eval '[ \"\$(pane_keys)\" = \"$(fp k3)\" ]'" ||
		return 0
	SSH_AUTH_SOCK=$D/a2.sock setsid ssh -A -F /dev/null -p "$PB" \
	    -o UserKnownHostsFile="$D/known_hosts" \
	    -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes \
	    -o IdentitiesOnly=no -o IdentityFile="$D/none" \
	    -o ControlMaster=no -o ControlPath=none -o LogLevel=ERROR \
	    "$U@127.0.0.1" 'echo "$SSH_AUTH_SOCK" >'"$D"'/out/l6.sock;
exec sleep 600' </dev/null >"$D/out/l6.ssh" 2>&1 &
	l6=$!
	bg_pids="$bg_pids $l6"
	assertTrue "login 6: $(cat "$D/out/l6.ssh")" \
	    "wait_for 20 test -s '$D/out/l6.sock'" || return 0
	assertTrue "the pane reaches login 6's agent: $(pane_keys)" \
	    "wait_for 10 eval '[ \"\$(pane_keys)\" = \"$(fp k2) $(fp k3)\" ]'"
	as_user env PATH="$D/bin:/usr/bin:/bin" sshenv status \
	    >"$D/out/l6.status" 2>&1
	assertContains "status names it: $(cat "$D/out/l6.status")" \
	    "$(cat "$D/out/l6.status")" \
	    "forwarded to a login without sshenv init: $(cat "$D/out/l6.sock")"
	kill -TERM "$l6"
	assertTrue "then back on B's own agent" \
	    "wait_for 10 eval '[ \"\$(pane_keys)\" = \"$(fp k3)\" ]'"
}

. /usr/bin/shunit2
