#!/bin/sh
# [agent] load = first-use: no question at login (no terminal anywhere);
# the agent lists the key from its .pub at once; the first signature runs
# the real ssh-add for it, the passphrase asked through an askpass that
# records each question and answers from a file; the next signature asks
# nothing; a wrong passphrase or a cancel refuses that use only and the
# next one asks again; uses that come together ask once; after the idle
# timeout it asks again; a key without passphrase loads without a
# question; a key whose file is gone is refused; ssh-add -D unlists it.
# Signatures are made with `ssh-add -T`, which checks them.

# shellcheck source=tests/shell/login.inc
. "$(dirname "$0")/login.inc"

setUp() {
	lib_setUp || return
	mkdir -p "$HOME/.ssh"
	chmod 0700 "$HOME/.ssh"
	ssh-keygen -q -t ed25519 -N 'right pass' -C pp@sshenv-test \
	    -f "$HOME/.ssh/pp" </dev/null >/dev/null
	# Each question's first line into prompts; the answer is the first
	# line of answers (taken), "cancel" a cancel; askdelay: a slow user.
	cat >"$T/askpass" <<'EOF'
#!/bin/sh
d=__T__
printf '%s\n' "$1" | head -n 1 >>"$d/prompts"
[ -f "$d/askdelay" ] && sleep "$(cat "$d/askdelay")"
a=$(head -n 1 "$d/answers" 2>/dev/null)
sed -i 1d "$d/answers" 2>/dev/null
[ "$a" = cancel ] && exit 1
printf '%s\n' "$a"
EOF
	sed -i "s|__T__|$T|" "$T/askpass"
	chmod +x "$T/askpass"
	: >"$T/answers"
	export SSH_ASKPASS="$T/askpass"
	unset DISPLAY WAYLAND_DISPLAY SSH_ASKPASS_REQUIRE
	lib_config '[agent]' 'keys = pp' 'load = first-use'
}

tearDown() {
	lib_tearDown
}

# questions: how many questions askpass was asked.
questions() {
	if [ -f "$T/prompts" ]; then wc -l <"$T/prompts"; else echo 0; fi
}

# answer LINE...: what askpass answers next, in order.
answer() {
	printf '%s\n' "$@" >"$T/answers"
}

# login: a login without a terminal runs init; it must succeed.
login() {
	lib_login_init a || return 1
	assertEquals "init: $(cat "$T/a.ierr")" 0 "$rc"
}

# sign_pp: ssh-add -T for pp, checked; $rc.
sign_pp() {
	lib_sa -T "$HOME/.ssh/pp.pub"
}

# held: how many keys the agent holds loaded (status's key_list).
held() {
	sshenv status --json >"$T/st.json" 2>/dev/null &&
	    "$PY" -c 'import json,sys
print(sum(1 for k in json.load(sys.stdin)["key_list"] if k["loaded"]))' \
		<"$T/st.json"
}

none_held() {
	[ "$(held)" = 0 ]
}

test_no_question_at_login_the_key_listed() {
	login || return
	assertEquals "questions at login" 0 "$(questions)"
	lib_sa -L
	assertEquals "ssh-add -L: $out" 0 "$rc"
	assertEquals "listed from its .pub" \
	    "$(cut -d' ' -f1,2 "$HOME/.ssh/pp.pub")" \
	    "$(echo "$out" | cut -d' ' -f1,2)"
	assertEquals "none held yet" 0 "$(held)"
	# status tells it listed only, with its file.
	sshenv status >"$T/st.txt" 2>&1
	assertTrue "status: $(cat "$T/st.txt")" \
	    "grep -q 'pp@sshenv-test \[~/.ssh/pp\] listed only' '$T/st.txt'"
	assertEquals "status --json: listed, not loaded" \
	    "False $HOME/.ssh/pp" \
	    "$("$PY" -c 'import json,sys
k=json.load(sys.stdin)["key_list"][0]; print(k["loaded"], k["file"])' \
		<"$T/st.json")"
	# A second login lists nothing again and asks nothing.
	lib_login_init b
	assertEquals "second init" 0 "$rc"
	lib_sa -L
	assertEquals "listed once" 1 "$(echo "$out" | grep -c .)"
	assertEquals "questions" 0 "$(questions)"
}

test_first_use_asks_once_then_signs_without_asking() {
	login || return
	answer 'right pass'
	sign_pp
	assertEquals "first use: ssh-add -T: $out" 0 "$rc"
	assertEquals "one question" 1 "$(questions)"
	assertTrue "the question names the key file: $(cat "$T/prompts")" \
	    "grep -q '$HOME/.ssh/pp' '$T/prompts'"
	assertEquals "held now" 1 "$(held)"
	sshenv status >"$T/st.txt" 2>&1
	assertFalse "loaded, not listed only: $(cat "$T/st.txt")" \
	    "grep -q 'listed only' '$T/st.txt'"
	sign_pp
	assertEquals "second use: $out" 0 "$rc"
	assertEquals "no second question" 1 "$(questions)"
}

test_a_wrong_passphrase_or_cancel_refuses_that_use_only() {
	login || return
	answer 'wrong pass' 'right pass'
	sign_pp
	assertNotEquals "a wrong passphrase refuses: $out" 0 "$rc"
	assertEquals "asked once: $(cat "$T/prompts")" 1 "$(questions)"
	assertFalse "ssh-add's 'try again' never reached askpass" \
	    "grep -q 'Bad passphrase' '$T/prompts'"
	assertEquals "still listed" 1 "$(SSH_AUTH_SOCK=$SOCK ssh-add -L |
	    grep -c .)"
	sign_pp
	assertEquals "the next use asks again and signs: $out" 0 "$rc"
	assertEquals "asked twice" 2 "$(questions)"
}

test_a_cancel_refuses_then_a_retry_signs() {
	login || return
	answer cancel 'right pass'
	sign_pp
	assertNotEquals "a cancel refuses: $out" 0 "$rc"
	assertEquals "asked once" 1 "$(questions)"
	sign_pp
	assertEquals "the retry signs: $out" 0 "$rc"
	assertEquals "asked twice" 2 "$(questions)"
}

test_uses_that_come_together_ask_once() {
	login || return
	answer 'right pass'
	echo 1 >"$T/askdelay"
	for i in 1 2 3; do
		SSH_AUTH_SOCK=$SOCK timeout -k 2 30 ssh-add -T \
		    "$HOME/.ssh/pp.pub" </dev/null >"$T/t$i.out" 2>&1 &
		eval "p$i=\$!"
	done
	# shellcheck disable=SC2154 # set by the eval above
	for p in "$p1" "$p2" "$p3"; do
		wait "$p"
		rc=$?
		assertEquals "a use that waited signs: $(cat "$T"/t*.out)" 0 "$rc"
	done
	assertEquals "one question for three uses" 1 "$(questions)"
}

test_after_the_idle_timeout_it_asks_again() {
	lib_config '[agent]' 'keys = pp' 'load = first-use' 'idle_timeout = 2'
	login || return
	answer 'right pass' 'right pass'
	sign_pp
	assertEquals "first use: $out" 0 "$rc"
	assertEquals "held" 1 "$(held)"
	assertTrue "forgotten after 2 s unused" 'lib_wait 10 none_held'
	lib_sa -L
	assertEquals "listed still: $out" 0 "$rc"
	sign_pp
	assertEquals "asked again, signs: $out" 0 "$rc"
	assertEquals "two questions" 2 "$(questions)"
}

test_a_key_without_passphrase_loads_without_a_question() {
	lib_key np
	lib_config '[agent]' 'keys = np' 'load = first-use'
	login || return
	assertEquals "none held at login" 0 "$(held)"
	lib_sa -T "$HOME/.ssh/np.pub"
	assertEquals "signs: $out" 0 "$rc"
	assertEquals "no question" 0 "$(questions)"
	assertEquals "held" 1 "$(held)"
}

test_a_key_whose_file_is_gone_is_refused() {
	login || return
	rm -f "$HOME/.ssh/pp"
	answer 'right pass'
	sign_pp
	assertNotEquals "refused: $out" 0 "$rc"
	assertEquals "nothing to ask for" 0 "$(questions)"
	# The agent goes on serving.
	lib_sa -L
	assertEquals "still answers" 0 "$rc"
}

test_ssh_add_D_unlists_it() {
	login || return
	lib_sa -D
	assertEquals "ssh-add -D: $out" 0 "$rc"
	lib_sa -L
	assertEquals "nothing listed: $out" 1 "$rc"
}

# raw HEX-FRAMES...: sends the frames (hex) at once on one connection to
# the agent, prints the type of each answer, one a line.
raw() {
	"$PY" - "$SOCK" "$@" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
s.sendall(b"".join(bytes.fromhex(f) for f in sys.argv[2:]))
buf = b""
for _ in sys.argv[2:]:
    while True:
        if len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
            n = struct.unpack(">I", buf[:4])[0]
            print(buf[4])
            buf = buf[4 + n:]
            break
        d = s.recv(65536)
        if not d:
            print("closed")
            sys.exit(0)
        buf += d
EOF
}

# frame TYPE HEX-BODY: a frame in hex.
frame() {
	printf '%08x%02x%s' $((${#2} / 2 + 1)) "$1" "$2"
}

# str TEXT | str -x HEX: an SSH string in hex.
str() {
	if [ "$1" = -x ]; then
		printf '%08x%s' $((${#2} / 2)) "$2"
	else
		_h=$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')
		printf '%08x%s' $((${#_h} / 2)) "$_h"
	fi
}

# The blob of pp.pub, in hex.
pp_blob() {
	cut -d' ' -f2 "$HOME/.ssh/pp.pub" | base64 -d | od -An -tx1 |
	    tr -d ' \n'
}

sign_frame() {
	frame 13 "$(str -x "$(pp_blob)")$(str data)00000000"
}

# A use, then a removal of every key, in one write, the load failing:
# the removal is served while the failed load's requests are answered.
test_a_removal_right_behind_a_failed_load() {
	login || return
	answer cancel
	_apid=$(lib_status agent_pid)
	assertEquals "SIGN refused, then REMOVE_ALL done" "5
6" "$(raw "$(sign_frame)" "$(frame 19 '')")"
	assertTrue "the agent goes on" lib_answers
	assertEquals "the same agent (it did not crash)" "$_apid" \
	    "$(lib_status agent_pid)"
	lib_sa -L
	assertEquals "nothing listed after the removal: $out" 1 "$rc"
}

# Two uses in one write, the first load failing: the second asks again
# (its own question), and neither waits for ever.
test_two_uses_in_one_write_after_a_failure() {
	login || return
	answer cancel cancel
	assertEquals "both refused" "5
5" "$(raw "$(sign_frame)" "$(sign_frame)")"
	assertEquals "a question each" 2 "$(questions)"
	answer 'right pass'
	sign_pp
	assertEquals "then a use signs: $out" 0 "$rc"
}

# conns "HEX-FRAME..." ...: one connection per argument, all opened, then
# each sends its frames at once; prints each connection's answer types,
# a line each ("closed" if it was closed, "timeout" after 60 s).
conns() {
	"$PY" - "$SOCK" "$@" <<'EOF'
import socket, struct, sys, time
socks = []
for arg in sys.argv[2:]:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append((s, arg.split()))
for s, frames in socks:
    s.sendall(b"".join(bytes.fromhex(f) for f in frames))
for s, frames in socks:
    s.settimeout(60)
    got, buf = [], b""
    try:
        while len(got) < len(frames):
            if len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
                n = struct.unpack(">I", buf[:4])[0]
                got.append(str(buf[4]))
                buf = buf[4 + n:]
                continue
            d = s.recv(65536)
            if not d:
                got.append("closed")
                break
            buf += d
    except socket.timeout:
        got.append("timeout")
    print(" ".join(got))
EOF
}

# Three connections behind a slow failed load: one uses the key twice,
# one uses it and then removes it, one uses it twice.  Resuming them
# starts a new load and unlists the key at once: every request is
# answered and the agent lives on.
test_a_new_load_and_a_removal_while_requests_resume() {
	login || return
	answer cancel cancel cancel cancel
	echo 1 >"$T/askdelay"
	_apid=$(lib_status agent_pid)
	_rm=$(frame 18 "$(str -x "$(pp_blob)")")
	conns "$(sign_frame) $(sign_frame)" "$(sign_frame) $_rm" \
	    "$(sign_frame) $(sign_frame)" >"$T/conns.out"
	assertEquals "every request answered" "5 5
5 6
5 5" "$(cat "$T/conns.out")"
	assertTrue "the agent goes on" lib_answers
	assertEquals "the same agent (it did not crash)" "$_apid" \
	    "$(lib_status agent_pid)"
}

# SSH_ASKPASS as a bare name is found on PATH, as ssh-add finds it.
test_an_askpass_named_without_a_path() {
	cp "$T/askpass" "$T/bin/sshenv-test-askpass"
	export SSH_ASKPASS=sshenv-test-askpass
	login || return
	answer 'right pass'
	sign_pp
	assertEquals "signs: $out" 0 "$rc"
	assertEquals "asked once" 1 "$(questions)"
}

# A stop while the question is on the screen: the agent does not wait
# for it, and nothing is left.
test_stop_during_the_question() {
	login || return
	answer 'right pass'
	echo 30 >"$T/askdelay"
	SSH_AUTH_SOCK=$SOCK timeout -k 2 60 ssh-add -T "$HOME/.ssh/pp.pub" \
	    </dev/null >"$T/t.out" 2>&1 &
	tp=$!
	assertTrue "asked" 'lib_wait 10 test -s "$T/prompts"'
	timeout -k 2 20 sshenv stop -q >/dev/null 2>&1
	rc=$?
	assertEquals "sshenv stop" 0 "$rc"
	assertTrue "nothing left: $(lib_pids '')" 'lib_wait 10 lib_none_left'
	wait "$tp"
	rc=$?
	assertNotEquals "the use was refused" 0 "$rc"
	pkill -f "$T/askpass" 2>/dev/null || :
}

# first-use@sshenv takes a full path and ssh-add's -c, -t, -H, -h only.
test_first_use_requests_are_checked() {
	login || return
	_pub=$(str -x "$(pp_blob)")
	ext() {
		frame 27 "$(str first-use@sshenv)$(str "$1")$_pub$(str c)$2"
	}
	assertEquals "a good one" 6 "$(raw "$(ext "$HOME/.ssh/pp" \
	    "00000002$(str -t)$(str 60)")")"
	assertEquals "a relative path" 5 "$(raw "$(ext .ssh/pp 00000000)")"
	assertEquals "-s (a PKCS#11 module)" 5 "$(raw "$(ext "$HOME/.ssh/pp" \
	    "00000002$(str -s)$(str /tmp/x.so)")")"
	assertEquals "-t without its value" 5 "$(raw "$(ext "$HOME/.ssh/pp" \
	    "00000001$(str -t)")")"
	assertEquals "a value that is an option" 5 \
	    "$(raw "$(ext "$HOME/.ssh/pp" "00000002$(str -h)$(str -D)")")"
	assertEquals "a count past the options" 5 \
	    "$(raw "$(ext "$HOME/.ssh/pp" "00000009$(str -c)")")"
}

# shellcheck disable=SC1091 # shunit2 is found on PATH
. shunit2
