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
d=$(dirname "$0")
printf '%s\n' "$1" | head -n 1 >>"$d/prompts"
[ -f "$d/askdelay" ] && sleep "$(cat "$d/askdelay")"
a=$(head -n 1 "$d/answers" 2>/dev/null)
sed -i 1d "$d/answers" 2>/dev/null
[ "$a" = cancel ] && exit 1
printf '%s\n' "$a"
EOF
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
		assertEquals "a use that waited signs: $(cat "$T"/t*.out)" 0 $?
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

# shellcheck disable=SC1091 # shunit2 is found on PATH
. shunit2
