#!/bin/sh
# Forwarded use of sshenv's agent over real hops: host A is here (the
# agent), B and C are interop.inc's two sshds with host keys of their own,
# named hostb and hostc in the user's known_hosts.  The forwarding policy
# (-F allow|confirm|deny), the prompts that name the route, the record
# that `sshenv log` shows, and a policy changed by reloading the
# supervisor with no key lost.
# Arguments: none, or -- test_name... to run some tests only.
# SSHENV_BIN: the binary under test (tests/run.sh exports it).

SSHENV_BIN=${SSHENV_BIN:-$(dirname "$0")/../../build/sshenv}
TOOLS=${SSHENV_BUILD:-$(dirname "$SSHENV_BIN")}/tools

# interop_agent_exec SOCK: the agent, with the policy the test asked for.
interop_agent_exec() {
	exec "$SSHENV_BIN" agent -D -F "$(cat "$it_tmp/policy" 2>/dev/null ||
	    echo allow)" -W "$(cat "$it_tmp/wait" 2>/dev/null || echo 60)" \
	    -I "$(cat "$it_tmp/idle" 2>/dev/null || echo 0)" \
	    $(cat "$it_tmp/upflag" 2>/dev/null) -a "$1"
}

fw_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
INTEROP_INC=$fw_dir/interop.inc
INTEROP_TESTS=$fw_dir/test_forwarding.sh

# fw_policy POLICY [WAIT]: the agent, restarted now, runs with it (and
# waits WAIT seconds, 60 if not given, for a confirmation).
fw_policy() {
	echo "$1" >"$it_tmp/policy"
	echo "${2:-60}" >"$it_tmp/wait"
	if [ -n "$it_agent_pid" ]; then
		it_stop "$it_agent_pid" 'the agent under test'
		it_agent_pid=''
	fi
	it_agent_start
	assertTrue "the agent with -F $1 answers" $? || return 1
	# The hosts by name, where the agent looks them up.
	mkdir -p "$HOME/.ssh"
	cp "$it_tmp/hosts_bc" "$HOME/.ssh/known_hosts"
}

# fw_log: the agent's record, as `sshenv log` prints it.
fw_log() {
	timeout -k 2 15 "$SSHENV_BIN" log -a "$SOCK" "$@"
}

# fw_sign_hex PUB: a SIGN_REQUEST frame, in hex, for the key in PUB over
# a few bytes that are no login: what a hostile client on B might send.
fw_sign_hex() {
	blob=$(cut -d' ' -f2 "$1" | base64 -d | od -An -v -tx1 | tr -d ' \n')
	bl=$((${#blob} / 2))
	printf '%08x0d%08x%s%08x%s%08x\n' $((1 + 4 + bl + 4 + 5 + 4)) \
	    "$bl" "$blob" 5 "68656c6c6f" 0
}

# Allowed by default: both logins sign, and the record says which came
# from B, and by which route, naming the hosts as known_hosts does.
test_allow_records_every_use() {
	it_need_agent || return 0
	it_need_two_hosts || return 0
	fw_policy allow || return 0
	run sa "$it_tmp/keys/ed25519"
	assertEquals "ssh-add: $err" 0 "$rc" || return 0
	run it_ssh -A "$(it_to_c) echo c-ok"
	assertEquals "A -> B -> C: $err" 0 "$rc" || return 0
	run fw_log
	assertEquals "sshenv log: $err" 0 "$rc" || return 0
	fp=$(fp_of "$it_tmp/keys/ed25519.pub")
	assertContains "the login to B, from here: $out" "$out" \
	    "allowed  local  interop-ed25519 $fp  ssh login as root@hostb  via root@hostb"
	assertContains "the login to C, through B: $out" "$out" \
	    "allowed  forwarded  interop-ed25519 $fp  ssh login as root@hostc  via hostb > root@hostc"
	run fw_log -n 1 --json
	assertEquals "one entry as JSON: $out" 1 "$(printf '%s\n' "$out" | wc -l)"
	assertContains "$out" "$out" '"verdict": "allowed", "forwarded": true'
	assertContains "$out" "$out" '"route": "hostb > root@hostc"'
	# The record is not for another host to read.
	run it_ssh -A "SSHENV_CONFIG_HOME=/nonexistent $SSHENV_BIN log -a \"\$SSH_AUTH_SOCK\"; echo log=\$?"
	has_line "$out" log=3
	assertTrue "B cannot read it: $out $err" $? || return 0
}

# confirm: a forwarded use asks, naming the key, the login and the route;
# a local one never asks.  A no refuses, and is recorded.
test_confirm_asks_for_forwarded_use_only() {
	it_need_agent || return 0
	it_need_two_hosts || return 0
	fw_policy confirm || return 0
	run sa "$it_tmp/keys/ed25519"
	assertEquals "ssh-add: $err" 0 "$rc" || return 0
	echo 0 >"$it_tmp/confirm.answer"
	: >"$it_tmp/confirm.log"
	run it_ssh -a "echo b-ok"
	assertEquals "A -> B: $err" 0 "$rc" || return 0
	assertEquals "a local use is not asked" "" \
	    "$(cat "$it_tmp/confirm.log")" || return 0
	run it_ssh -A "$(it_to_c) echo c-ok"
	assertEquals "A -> B -> C, said yes: $err" 0 "$rc" || return 0
	asked=$(cat "$it_tmp/confirm.log")
	assertEquals "asked once: $asked" 1 "$(printf '%s\n' "$asked" | wc -l)"
	assertContains "names the key: $asked" "$asked" \
	    "key interop-ed25519 from another host"
	assertContains "the fingerprint: $asked" "$asked" \
	    "$(fp_of "$it_tmp/keys/ed25519.pub")"
	assertContains "the login: $asked" "$asked" \
	    "For: ssh login as root@hostc"
	assertContains "the route: $asked" "$asked" \
	    "Route: this host > hostb > root@hostc"
	echo 1 >"$it_tmp/confirm.answer"
	run it_ssh -A "$(it_to_c) true; echo c=\$?"
	has_line "$out" c=255
	assertTrue "said no: C refused: $out" $? || return 0
	run fw_log
	assertContains "$out" "$out" \
	    "confirmed  forwarded  interop-ed25519"
	assertContains "$out" "$out" \
	    "refused by the user  forwarded  interop-ed25519"
}

# No answer in time is a no: askpass goes, the request is refused and
# recorded so, and the agent goes on.
test_confirm_without_answer_refuses() {
	it_need_agent || return 0
	it_need_two_hosts || return 0
	fw_policy confirm 1 || return 0
	run sa "$it_tmp/keys/ed25519"
	assertEquals "ssh-add: $err" 0 "$rc" || return 0
	echo 0 >"$it_tmp/confirm.answer"
	echo 30 >"$it_tmp/confirm.sleep"
	: >"$it_tmp/confirm.log"
	run it_ssh -A "$(it_to_c) true; echo c=\$?"
	has_line "$out" c=255
	assertTrue "not answered: refused: $out" $? || return 0
	assertNotEquals "it was asked" "" "$(cat "$it_tmp/confirm.log")"
	assertEquals "no askpass left waiting" "" \
	    "$(pgrep -f "$it_tmp/bin/confirm")"
	run fw_log
	assertContains "$out" "$out" \
	    "refused by the user  forwarded  interop-ed25519"
	rm -f "$it_tmp/confirm.sleep"
	run it_ssh -A "$(it_to_c) echo c-ok"
	assertEquals "answered now: $err" 0 "$rc"
}

# sshenv log --follow prints each new entry as it comes.
test_log_follows() {
	it_need_agent || return 0
	run sa "$it_tmp/keys/ed25519"
	assertEquals "ssh-add: $err" 0 "$rc" || return 0
	"$SSHENV_BIN" log -a "$SOCK" --follow >"$it_tmp/follow.out" 2>&1 &
	fpid=$!
	i=1
	while [ $i -le 3 ]; do
		it_sign "$it_tmp/pub/ed25519.pub" "$it_tmp/data/msg" \
		    "$it_tmp/data/f$i.sig" || break
		n=0
		while [ "$(grep -c 'sshsig (namespace file)' \
		    "$it_tmp/follow.out")" -lt $i ] && [ $n -lt 50 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		i=$((i + 1))
	done
	assertEquals "three signatures, three lines: $(cat "$it_tmp/follow.out")" \
	    3 "$(grep -c 'allowed  local  interop-ed25519 .*  sshsig (namespace file)' \
	    "$it_tmp/follow.out")"
	kill "$fpid"
	wait "$fpid" || :
}

# deny: B sees no key and gets no signature; here all is as before.
test_deny_hides_and_refuses_forwarded_use() {
	it_need_agent || return 0
	it_need_two_hosts || return 0
	fw_policy deny || return 0
	run sa "$it_tmp/keys/ed25519"
	assertEquals "ssh-add: $err" 0 "$rc" || return 0
	run sa -l
	assertEquals "listed here" 0 "$rc" || return 0
	hex=$(fw_sign_hex "$it_tmp/keys/ed25519.pub")
	# key-info@sshenv: what status shows, not for another host.
	ki=000000141b0000000f$(printf 'key-info@sshenv' | od -An -v -tx1 |
	    tr -d ' \n')
	run it_ssh -A "ssh-add -l; echo list=\$?; $(it_to_c) true; \
echo c=\$?; $TOOLS/agentpoke \"\$SSH_AUTH_SOCK\" hex $hex; \
$TOOLS/agentpoke \"\$SSH_AUTH_SOCK\" hex $ki; ssh-add -D; echo d=\$?"
	assertEquals "A -> B: $err" 0 "$rc" || return 0
	has_line "$out" list=1
	assertTrue "B sees no key: $out" $? || return 0
	has_line "$out" c=255
	assertTrue "B cannot log in to C: $out" $? || return 0
	has_line "$out" "reply 5 1"
	assertTrue "a signature asked for blind gets FAILURE: $out" $? ||
		return 0
	assertEquals "key-info refused there too: $out" 2 \
	    "$(printf '%s\n' "$out" | grep -c '^reply 5 1$')"
	has_line "$out" d=1
	assertTrue "ssh-add -D from B refused: $out" $? || return 0
	run sa -l
	assertEquals "the key is still here" 0 "$rc" || return 0
	run fw_log
	assertContains "$out" "$out" \
	    "denied by policy  forwarded  interop-ed25519"
	assertContains "$out" "$out" "other data  via hostb"
	# The same request from here is signed.
	run "$TOOLS/agentpoke" "$SOCK" hex "$hex"
	assertContains "signed here: $out" "$out" "reply 14"
}

# fw_listed_on_b: what `ssh-add -l` exits with on B, forwarded there.
fw_listed_on_b() {
	it_ssh -A 'ssh-add -l >/dev/null; echo list=$?' 2>/dev/null |
	    sed -n 's/^list=//p'
}

# The forwarding policy covers the keys of agents served behind ours
# (-U, as [agent] upstream): under deny, B is not offered them either.
test_deny_covers_upstream_keys() {
	it_need_agent || return 0
	it_need_two_hosts || return 0
	ssh-agent -D -a "$it_tmp/up.sock" </dev/null >/dev/null 2>&1 &
	uppid=$!
	wait_rc 5 1 env SSH_AUTH_SOCK="$it_tmp/up.sock" ssh-add -l
	SSH_AUTH_SOCK=$it_tmp/up.sock ssh-add -q "$it_tmp/keys/ecdsa256" \
	    </dev/null >/dev/null 2>&1
	echo "-U $it_tmp/up.sock" >"$it_tmp/upflag"
	fw_policy deny || { kill "$uppid"; return 0; }
	run sa -l
	assertContains "here: the upstream's key: $out" "$out" \
	    "$(fp_of "$it_tmp/keys/ecdsa256.pub")"
	out=$(it_ssh -A 'ssh-add -l; echo list=$?' 2>&1)
	rm -f "$it_tmp/upflag"
	kill "$uppid"
	wait "$uppid" 2>/dev/null
	has_line "$out" list=1
	assertTrue "B is offered no key, not even the upstream's: $out" $?
}

# Through the supervisor: [forwarding] use from the configuration, and a
# reload (SIGHUP) that changes it in the running agent, no key lost.
test_reload_changes_the_policy_in_force() {
	it_need_agent || return 0
	it_need_two_hosts || return 0
	cfg=$it_tmp/sshenv.conf
	printf '[session]\nlinger = 600\n[forwarding]\nuse = deny\n' >"$cfg"
	run timeout -k 2 30 setsid "$SSHENV_BIN" init -s -F "$cfg"
	assertEquals "sshenv init: $err" 0 "$rc" || return 0
	sock=$(printf '%s\n' "$out" |
	    sed -n 's/^SSH_AUTH_SOCK=\([^;]*\);.*/\1/p')
	assertNotEquals "a socket: $out" "" "$sock" || return 0
	SSH_AUTH_SOCK=$sock
	run sa "$it_tmp/keys/ed25519"
	assertEquals "ssh-add: $err" 0 "$rc"
	assertEquals "use = deny: B sees no key" 1 "$(fw_listed_on_b)"
	printf '[session]\nlinger = 600\n[forwarding]\nuse = allow\n' \
	    >"$cfg"
	pid=$(timeout -k 2 15 "$SSHENV_BIN" status --json -F "$cfg" |
	    sed -n 's/.*"supervisor_pid": \([0-9]*\).*/\1/p')
	assertNotEquals "the supervisor's pid" "" "$pid"
	kill -HUP "$pid"
	# Applied in the background: give it a few seconds, no more.
	n=0
	while [ "$(fw_listed_on_b)" != 0 ] && [ $n -lt 20 ]; do
		sleep 0.5
		n=$((n + 1))
	done
	assertEquals "use = allow after the reload: B sees the key" 0 \
	    "$(fw_listed_on_b)"
	run sa -l
	assertEquals "the key is still here" 0 "$rc"
	# And again: each reload is told.
	printf '[session]\nlinger = 600\n[forwarding]\nuse = deny\n' \
	    >"$cfg"
	kill -HUP "$pid"
	n=0
	while [ "$(fw_listed_on_b)" != 1 ] && [ $n -lt 20 ]; do
		sleep 0.5
		n=$((n + 1))
	done
	assertEquals "use = deny after the second reload" 1 \
	    "$(fw_listed_on_b)"
	run timeout -k 2 15 "$SSHENV_BIN" stop -q -F "$cfg"
	assertEquals "sshenv stop: $err" 0 "$rc"
	SSH_AUTH_SOCK=$SOCK
}

# [key NAME] sections: one key's own forwarding policy (told to the
# agent by the supervisor, by its .pub) and destinations (ssh-add -h).
test_key_sections() {
	it_need_agent || return 0
	it_need_two_hosts || return 0
	mkdir -p "$HOME/.ssh"
	cp "$it_tmp/hosts_bc" "$HOME/.ssh/known_hosts"
	cfg=$it_tmp/sshenv.conf
	k1=$it_tmp/keys/ed25519
	k2=$it_tmp/keys/ecdsa256
	printf '[session]\nlinger = 600\n[key %s]\nforwarding = deny\n[key %s]\ndestinations = hostb hostb>hostc\n' \
	    "$k1" "$k2" >"$cfg"
	run timeout -k 2 15 "$SSHENV_BIN" config -F "$cfg"
	assertContains "config shows it: $out" "$out" \
	    "key $k2.destinations = hostb hostb>hostc"
	# k2 first: ssh offers it first wherever it goes.
	run timeout -k 2 30 setsid "$SSHENV_BIN" init -s -F "$cfg" "$k2" "$k1"
	assertEquals "sshenv init: $err" 0 "$rc" || return 0
	ierr=$err
	sock=$(printf '%s\n' "$out" |
	    sed -n 's/^SSH_AUTH_SOCK=\([^;]*\);.*/\1/p')
	SSH_AUTH_SOCK=$sock
	run sa -l
	assertEquals "both loaded: $out; init said: $ierr" 2 "$(printf '%s\n' "$out" | wc -l)"
	# The keys' own settings are told just after the agent starts.
	n=0
	while [ $n -lt 20 ]; do
		out=$(it_ssh -A 'ssh-add -l' 2>/dev/null)
		[ "$(printf '%s\n' "$out" | grep -c SHA256)" = 1 ] && break
		sleep 0.5
		n=$((n + 1))
	done
	assertEquals "B sees one key: $out" 1 \
	    "$(printf '%s\n' "$out" | grep -c SHA256)"
	assertContains "the other one: $out" "$out" "$(fp_of "$k2.pub")"
	# status tells each key's settings as the agent holds them.
	run timeout -k 2 15 "$SSHENV_BIN" status -F "$cfg"
	assertContains "k1 denied there: $out" "$out" \
	    "interop-ed25519 forwarded: deny never used"
	assertContains "k2's two destinations: $out" "$out" \
	    "interop-ecdsa256 2 destinations used "

	run it_ssh -A "$(it_to_c) echo c-ok"
	assertEquals "B -> C with it, as its destinations allow: $err" 0 "$rc"
	# A -> C: ssh binds the agent to C's host key before it asks for
	# the keys, and k2, not for C from here, is not even listed.
	run sh -c "$(it_to_c) -v true"
	assertEquals "A -> C (with k1): $err" 0 "$rc"
	assertContains "one key offered for C: $err" "$err" \
	    "agent returned 1 keys"
	assertNotContains "not k2: $err" "$err" "interop-ecdsa256"
	run timeout -k 2 15 "$SSHENV_BIN" log -a "$sock"
	assertContains "k2 went B -> C: $out" "$out" \
	    "allowed  forwarded  interop-ecdsa256"
	run timeout -k 2 15 "$SSHENV_BIN" stop -q -F "$cfg"
	assertEquals "sshenv stop: $err" 0 "$rc"
	SSH_AUTH_SOCK=$SOCK
}

# A forwarding set up while the agent is locked is still known as one
# once it is unlocked: session-bind is processed during the lock.
test_bind_during_lock_still_counts() {
	it_need_agent || return 0
	it_need_two_hosts || return 0
	fw_policy deny || return 0
	run sa "$it_tmp/keys/ed25519"
	assertEquals "ssh-add: $err" 0 "$rc" || return 0
	run sa_askpass 'lock words' -x
	assertEquals "locked: $err" 0 "$rc" || return 0
	f=$it_tmp/fwdconn
	rm -f "$f".*
	# On B: open the forwarded agent now (ssh on A connects to the
	# agent and binds it), ask for the keys only once told to.
	cat >"$it_tmp/late.py" <<EOF
import os, socket, struct, time
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["SSH_AUTH_SOCK"])
open("$f.connected", "w").close()
for _ in range(200):
    if os.path.exists("$f.go"):
        break
    time.sleep(0.05)
s.sendall(struct.pack(">IB", 1, 11))
data = b""
while len(data) < 9:
    more = s.recv(4096)
    if not more:
        break
    data += more
print("type", data[4], "count", struct.unpack(">I", data[5:9])[0])
EOF
	# The login itself with a key file: the locked agent has none.
	# shellcheck disable=SC2086 # it_ssh_opts is a list of words
	timeout -k 2 30 ssh -n $it_ssh_opts -i "$it_tmp/keys/ecdsa256" -A \
	    root@127.0.0.1 "python3 $it_tmp/late.py" >"$f.out" 2>&1 &
	sshpid=$!
	n=0
	while [ ! -e "$f.connected" ] && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	assertTrue "B connected to the forwarded agent" "[ -e '$f.connected' ]"
	run sa_askpass 'lock words' -X
	assertEquals "unlocked: $err" 0 "$rc"
	touch "$f.go"
	wait "$sshpid"
	assertEquals "that connection is still a forwarded one: no key" \
	    "type 12 count 0" "$(cat "$f.out")"
	run sa -l
	assertEquals "here the key is listed" 0 "$rc"
}

# -I: after so long with no signature the keys are forgotten, never in
# the middle of one (here a question that outlasts the idle time).
test_idle_forgets_keys() {
	it_need_agent || return 0
	echo 2 >"$it_tmp/idle"
	fw_policy allow || return 0
	run sa "$it_tmp/keys/ed25519"
	assertEquals "ssh-add: $err" 0 "$rc" || return 0
	run it_sign "$it_tmp/pub/ed25519.pub" "$it_tmp/data/msg" \
	    "$it_tmp/data/i1.sig"
	assertEquals "signed: $err" 0 "$rc" || return 0
	assertTrue "forgotten after 2 s unused" \
	    "wait_rc 10 1 timeout -k 1 5 ssh-add -l"
	run sa -c "$it_tmp/keys/ed25519"
	assertEquals "ssh-add -c: $err" 0 "$rc" || return 0
	echo 0 >"$it_tmp/confirm.answer"
	echo 4 >"$it_tmp/confirm.sleep"
	run it_sign "$it_tmp/pub/ed25519.pub" "$it_tmp/data/msg" \
	    "$it_tmp/data/i2.sig"
	assertEquals "a 4 s question outlasts the idle time: still signed" \
	    0 "$rc"
	rm -f "$it_tmp/confirm.sleep" "$it_tmp/idle"
	assertTrue "and forgotten after it" \
	    "wait_rc 10 1 timeout -k 1 5 ssh-add -l"
}

# wait_rc SECONDS RC CMD...: until CMD exits with RC (polled).
wait_rc() {
	_t=$(($1 * 10))
	_want=$2
	shift 2
	while [ "$_t" -gt 0 ]; do
		"$@" >/dev/null 2>&1
		[ $? -eq "$_want" ] && return 0
		sleep 0.1
		_t=$((_t - 1))
	done
	return 1
}

# shellcheck source=tests/shell/interop.inc
. "$INTEROP_INC"
if [ -r /usr/bin/shunit2 ]; then
	. /usr/bin/shunit2
else
	. /usr/share/shunit2/shunit2
fi
