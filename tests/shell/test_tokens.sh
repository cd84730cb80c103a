#!/bin/sh
# sshenv's own promises about token keys, beyond what any agent must do
# (pkcs11.inc, fido.inc): a PKCS#11 module or FIDO provider is loaded only
# in a helper process (sshenv-token), never in the agent, and a library
# that is not one is refused before any of its code runs; a locked agent
# signs with no token key; a helper that dies costs its keys (PKCS#11:
# the login went with it) or is started again (FIDO); the "internal"
# provider with no authenticator fails the request, and says why; the
# agent's end ends its helpers.
# Arguments: none, or -- test_name... to run some tests only.
# SSHENV_BIN, SSHENV_BUILD: the build under test (tests/run.sh exports
# them).

tk_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
SSHENV_BUILD=${SSHENV_BUILD:-$tk_dir/../../build}
SSHENV_BIN=${SSHENV_BIN:-$SSHENV_BUILD/sshenv}
fido_allow=$(realpath -- "$SSHENV_BUILD/tools")/'*'

# p11_agent_exec SOCK: sshenv's agent; its allowlist takes the token's
# module, the build's FIDO middleware and the test's own libraries.
p11_agent_exec() {
	# tk_presence_agent: the middleware waits for the touch notice.
	if [ -f "$it_tmp/tk.wait" ]; then
		SK_SOFT_WAIT=$it_tmp/confirm.log
		export SK_SOFT_WAIT
	fi
	fido_env_exec "$SSHENV_BIN" agent -D \
	    -P "$P11_ALLOW,$fido_allow,$it_tmp/lib/*" -a "$1"
}

P11_INC=$tk_dir/pkcs11.inc
# shellcheck source=tests/shell/pkcs11.inc
. "$P11_INC"
# shellcheck source=tests/shell/fido.inc
. "$tk_dir/fido.inc"
# The tests are this file's.
INTEROP_TESTS=$tk_dir/test_tokens.sh

# ---------------------------------------------------------------- helpers

# tk_helpers: the pids of the agent's sshenv-token children.
tk_helpers() {
	for tk_p in $(pgrep -P "$it_agent_pid" 2>/dev/null); do
		[ "$(cat "/proc/$tk_p/comm" 2>/dev/null)" = sshenv-token ] &&
			echo "$tk_p"
	done
}

# tk_maps PID LIB: how many of PID's mappings are of the library LIB.
tk_maps() {
	grep -c -F -- "$2" "/proc/$1/maps" 2>/dev/null
}

# tk_wait N CMD...: until CMD succeeds, at most N tenths of a second.
tk_wait() {
	tk_n=$1
	shift
	while [ "$tk_n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		tk_n=$((tk_n - 1))
	done
	"$@"
}

tk_no_helper() {
	[ -z "$(tk_helpers)" ]
}

tk_no_keys() {
	timeout -k 2 10 ssh-add -l >/dev/null 2>&1
	[ $? -eq 1 ]
}

# tk_need_cc: the test may go on: a C compiler builds its libraries in
# $it_tmp/lib; else it is skipped.
tk_need_cc() {
	if ! command -v cc >/dev/null; then
		echo 'SKIP: no C compiler'
		startSkipping
		return 1
	fi
	mkdir -p "$it_tmp/lib"
}

tk_in_log() {
	grep -q -F -- "$1" "$it_agent_log"
}

# tk_restart: a fresh agent, in the environment the files now say.
tk_restart() {
	it_stop "$it_agent_pid" 'the agent under test' || return 1
	it_agent_pid=''
	it_agent_start
	assertEquals "the agent answers again: $(tail -n 5 "$it_agent_log")" \
	    0 $?
}

# tk_smartcard_hex CERTS_ONLY PUB...: an ADD_SMARTCARD_KEY_CONSTRAINED
# frame (26) for the token's module and PIN, its certificates those of
# the files PUB (associated-certs-v00@openssh.com), in hex.
tk_smartcard_hex() {
	tk_only=$1
	shift
	tk_certs=''
	for tk_c in "$@"; do
		tk_certs=$tk_certs$(str_hex "$(blob_hex "$tk_c")")
	done
	tk_body=1a$(str_hex "$(hex_of "$P11_MODULE")")$(str_hex \
	    "$(hex_of "$p11_pin")")ff$(str_hex \
	    "$(hex_of associated-certs-v00@openssh.com)")0$tk_only$(str_hex \
	    "$tk_certs")
	printf '%08x%s\n' $((${#tk_body} / 2)) "$tk_body"
}

# ------------------------------------------------------------- tests

# The module runs in sshenv-token, never in the agent: mapped there and
# not here, one helper for the module, gone with ssh-add -e.
test_tokens_module_only_in_helper() {
	it_need_agent || return 0
	p11_need_token || return 0
	p11_add
	assertEquals "ssh-add -s: $out $err" 0 "$rc" || return 0
	real=$(realpath "$P11_MODULE")
	helpers=$(tk_helpers)
	assertEquals "one sshenv-token for the module: $helpers" 1 \
	    "$(printf '%s\n' "$helpers" | grep -c .)" || return 0
	assertTrue "the helper maps $real" \
	    "[ $(tk_maps "$helpers" "$real") -gt 0 ]" || return 0
	assertEquals "the agent does not map $real" 0 \
	    "$(tk_maps "$it_agent_pid" "$real")" || return 0
	run sa -T "$it_tmp/p11/ecdsa256.pub"
	assertEquals "a token key signs: $out $err" 0 "$rc" || return 0
	assertEquals "the agent still does not map it" 0 \
	    "$(tk_maps "$it_agent_pid" "$real")" || return 0
	run sa -e "$P11_MODULE"
	assertEquals "ssh-add -e: $out $err" 0 "$rc" || return 0
	tk_wait 50 tk_no_helper
	assertTrue "the helper is gone after ssh-add -e: $(tk_helpers)" \
	    tk_no_helper || return 0
}

# A FIDO key signs through the provider in sshenv-token: the middleware's
# trace names it; the agent never maps the middleware.
test_tokens_fido_only_in_helper() {
	it_need_agent || return 0
	fido_need_keys || return 0
	run sa_sk "$it_tmp/keys/sk-ed25519"
	assertEquals "ssh-add -S: $out $err" 0 "$rc" || return 0
	run sa -T "$it_tmp/keys/sk-ed25519.pub"
	assertEquals "ssh-add -T: $out $err" 0 "$rc" || return 0
	assertEquals "the middleware signed in sshenv-token: \
$(tail -n 3 "$it_tmp/sk.log")" 1 \
	    "$(fido_log_count 'prog=sshenv-token .*result=ok')" || return 0
	assertEquals "the agent does not map the middleware" 0 \
	    "$(tk_maps "$it_agent_pid" "$(realpath "$fido_provider")")" ||
		return 0
}

# A library in the allowlist that is not a PKCS#11 module is refused
# before it is loaded: its constructor (which would leave a file) never
# runs, in the agent or in a helper.  One that is a module by its symbols
# is loaded (in the helper), proving the marker would show.
test_tokens_not_a_module_never_runs() {
	it_need_agent || return 0
	tk_need_cc || return 0
	cat >"$it_tmp/lib/ctor.c" <<EOC
#include <stdio.h>
__attribute__((constructor)) static void
mark(void)
{
	FILE *f = fopen("$it_tmp/lib/ran", "a");

	if (f != NULL)
		fclose(f);
}
#ifdef MODULE
int C_GetFunctionList(void **list) { *list = 0; return 5; }
#endif
EOC
	cc -shared -fPIC -o "$it_tmp/lib/plain.so" "$it_tmp/lib/ctor.c" &&
		cc -shared -fPIC -DMODULE -o "$it_tmp/lib/module.so" \
		    "$it_tmp/lib/ctor.c"
	assertEquals 'the test libraries build' 0 $? || return 0
	rm -f "$it_tmp/lib/ran"
	run sa_askpass "$p11_pin" -s "$it_tmp/lib/plain.so"
	assertNotEquals "ssh-add -s of a library with no C_GetFunctionList: \
$out $err" 0 "$rc" || return 0
	assertFalse 'its constructor never ran' "[ -e '$it_tmp/lib/ran' ]" ||
		return 0
	assertTrue 'the agent says why' "tk_in_log 'not a PKCS#11 module'" ||
		return 0
	run sa_askpass "$p11_pin" -s "$it_tmp/lib/module.so"
	assertNotEquals "ssh-add -s of a module that fails C_GetFunctionList: \
$out $err" 0 "$rc" || return 0
	assertTrue 'that one was loaded, in the helper' \
	    "[ -e '$it_tmp/lib/ran' ]" || return 0
	assertFalse 'and never in the agent' \
	    "grep -q -F '$it_tmp/lib/' /proc/$it_agent_pid/maps" || return 0
}

# Locked, the agent lists and signs with no token key; unlocked, it does
# again, through the same helper.
test_tokens_lock_unlock() {
	it_need_agent || return 0
	p11_need_token || return 0
	fido_need_keys || return 0
	p11_add
	assertEquals "ssh-add -s: $out $err" 0 "$rc" || return 0
	run sa_sk "$it_tmp/keys/sk-ecdsa"
	assertEquals "ssh-add -S: $out $err" 0 "$rc" || return 0
	run sa_askpass 'token lock' -x
	assertEquals "ssh-add -x: $out $err" 0 "$rc" || return 0
	assertTrue 'locked, no key is listed' tk_no_keys || return 0
	for pub in "$it_tmp/p11/rsa2048.pub" "$it_tmp/keys/sk-ecdsa.pub"; do
		run sa -T "$pub"
		assertNotEquals "locked, $pub signs nothing: $out" 0 "$rc" ||
			return 0
	done
	run sa_askpass 'token lock' -X
	assertEquals "ssh-add -X: $out $err" 0 "$rc" || return 0
	for pub in "$it_tmp/p11/rsa2048.pub" "$it_tmp/keys/sk-ecdsa.pub"; do
		run sa -T "$pub"
		assertEquals "unlocked, $pub signs: $out $err" 0 "$rc" ||
			return 0
	done
}

# A PKCS#11 helper killed takes its keys with it (its login is gone):
# they are unlisted, the agent says why, and ssh-add -s works again.
test_tokens_pkcs11_helper_dies() {
	it_need_agent || return 0
	p11_need_token || return 0
	p11_add
	assertEquals "ssh-add -s: $out $err" 0 "$rc" || return 0
	helper=$(tk_helpers)
	assertNotEquals 'a helper runs' '' "$helper" || return 0
	kill -KILL "$helper"
	tk_wait 50 tk_no_keys
	assertTrue 'its keys are gone' tk_no_keys || return 0
	assertTrue "the agent says why: $(tail -n 3 "$it_agent_log")" \
	    "tk_in_log 'its helper is gone'" || return 0
	p11_add
	assertEquals "ssh-add -s again: $out $err" 0 "$rc" || return 0
	run sa -T "$it_tmp/p11/rsa2048.pub"
	assertEquals "and its keys sign: $out $err" 0 "$rc" || return 0
}

# A FIDO helper killed is started again: the key stays and signs.
test_tokens_fido_helper_restarts() {
	it_need_agent || return 0
	fido_need_keys || return 0
	run sa_sk "$it_tmp/keys/sk-ed25519"
	assertEquals "ssh-add -S: $out $err" 0 "$rc" || return 0
	run sa -T "$it_tmp/keys/sk-ed25519.pub"
	assertEquals "ssh-add -T: $out $err" 0 "$rc" || return 0
	helper=$(tk_helpers)
	assertNotEquals 'a helper runs' '' "$helper" || return 0
	kill -KILL "$helper"
	tk_wait 50 tk_in_log 'started again'
	assertTrue "the agent starts it again: $(tail -n 3 "$it_agent_log")" \
	    "tk_in_log 'started again'" || return 0
	run sa -T "$it_tmp/keys/sk-ed25519.pub"
	assertEquals "the key signs again: $out $err" 0 "$rc" || return 0
	assertNotEquals 'through a new helper' "$helper" "$(tk_helpers)" ||
		return 0
}

# The "internal" provider (libfido2) with no authenticator plugged in:
# the key is added (as ssh-agent does), its signature fails, and the
# agent's log says why.
test_tokens_internal_without_device() {
	it_need_agent || return 0
	fido_need_keys || return 0
	run sa -S internal "$it_tmp/keys/sk-ecdsa"
	assertEquals "ssh-add -S internal: $out $err" 0 "$rc" || return 0
	run sa -T "$it_tmp/keys/sk-ecdsa.pub"
	assertNotEquals "no authenticator: no signature: $out" 0 "$rc" ||
		return 0
	assertTrue "the agent says why: $(tail -n 3 "$it_agent_log")" \
	    "tk_in_log 'no FIDO authenticator found' ||
	     tk_in_log 'built without libfido2'" || return 0
}

# The agent's end ends its helpers, the module's and the provider's.
test_tokens_stop_ends_helpers() {
	it_need_agent || return 0
	p11_need_token || return 0
	fido_need_keys || return 0
	p11_add
	assertEquals "ssh-add -s: $out $err" 0 "$rc" || return 0
	run sa_sk "$it_tmp/keys/sk-ed25519"
	assertEquals "ssh-add -S: $out $err" 0 "$rc" || return 0
	helpers=$(tk_helpers)
	assertEquals "two helpers: $helpers" 2 \
	    "$(printf '%s\n' "$helpers" | grep -c .)" || return 0
	it_stop "$it_agent_pid" 'the agent' || return 0
	it_agent_pid=''
	for p in $helpers; do
		assertFalse "helper $p is gone" "kill -0 $p 2>/dev/null" ||
			return 0
	done
}

# Before a FIDO key that wants a touch signs, the user is told so through
# SSH_ASKPASS (a notice, as ssh-agent gives), naming the key.
test_tokens_fido_presence_notice() {
	it_need_agent || return 0
	fido_need_keys || return 0
	: >"$it_tmp/tk.wait"
	tk_restart || return 0
	rm -f "$it_tmp/tk.wait"
	run sa_sk "$it_tmp/keys/sk-ed25519"
	assertEquals "ssh-add -S: $out $err" 0 "$rc" || return 0
	: >"$it_tmp/confirm.log"
	run sa -T "$it_tmp/keys/sk-ed25519.pub"
	assertEquals "ssh-add -T: $out $err" 0 "$rc" || return 0
	assertContains "the notice names the key: $(cat "$it_tmp/confirm.log")" \
	    "$(cat "$it_tmp/confirm.log")" \
	    "Confirm user presence for key ED25519-SK \
$(fp_of "$it_tmp/keys/sk-ed25519.pub")" || return 0
}

# Destination constraints hold for token keys as for others: a key for
# host B signs no SSHSIG here, while the same key added plainly does.
test_tokens_destination_constraint() {
	it_need_agent || return 0
	p11_need_token || return 0
	run sa_askpass "$p11_pin" -H "$it_tmp/hosts_bc" -h hostb \
	    -s "$P11_MODULE"
	assertEquals "ssh-add -h hostb -s: $out $err" 0 "$rc" || return 0
	run it_sign "$it_tmp/p11/ecdsa256.pub" "$it_tmp/data/msg" \
	    "$it_tmp/data/tk-dest.sig"
	assertNotEquals "SSHSIG with the constrained token key refused" 0 \
	    "$rc" || return 0
	run sa -e "$P11_MODULE"
	assertEquals "ssh-add -e: $out $err" 0 "$rc" || return 0
	p11_add
	assertEquals "ssh-add -s: $out $err" 0 "$rc" || return 0
	run it_sign "$it_tmp/p11/ecdsa256.pub" "$it_tmp/data/msg" \
	    "$it_tmp/data/tk-dest.sig"
	assertEquals "unconstrained, it signs: $err" 0 "$rc" || return 0
}

# Certificates for token keys (associated-certs-v00@openssh.com, which
# ssh-add sends from OpenSSH 9.6; here as a raw frame): listed beside the
# keys, or alone with certs_only; a login with the certificate alone
# works, through the CA.  A certificate for no key of the token is not
# added.
test_tokens_associated_certificates() {
	it_need_agent || return 0
	p11_need_token || return 0
	fido_need_keys || return 0
	run "$fido_build/tools/agentpoke" "$SOCK" hex "$(tk_smartcard_hex 0 \
	    "$it_tmp/p11/rsa2048-cert.pub" "$it_tmp/keys/cert-sk-ecdsa-cert.pub")"
	assertEquals "the add is answered SUCCESS: $out" 'reply 6 1' "$out" ||
		return 0
	run sa -L
	assertEquals "ssh-add -L: $err" 0 "$rc" || return 0
	assertEquals "the three keys and the one certificate: $out" 4 \
	    "$(printf '%s\n' "$out" | grep -c .)" || return 0
	assertTrue "the certificate is listed" "has_line '$(p11_blobs "$out")' \
'$(cut -d' ' -f1,2 "$it_tmp/p11/rsa2048-cert.pub")'" || return 0
	run sa -e "$P11_MODULE"
	assertEquals "ssh-add -e: $out $err" 0 "$rc" || return 0
	run "$fido_build/tools/agentpoke" "$SOCK" hex "$(tk_smartcard_hex 1 \
	    "$it_tmp/p11/rsa2048-cert.pub")"
	assertEquals "certs_only: SUCCESS: $out" 'reply 6 1' "$out" ||
		return 0
	run sa -L
	assertEquals "certs_only: the certificate alone: $out" \
	    "$(cut -d' ' -f1,2 "$it_tmp/p11/rsa2048-cert.pub")" \
	    "$(p11_blobs "$out")" || return 0
	it_need_sshd || return 0
	: >"$it_tmp/sshd.log"
	run p11_ssh rsa2048-cert 'rsa-sha2-256-cert-v01@openssh.com' \
	    'echo tk-cert-ok'
	assertEquals "login with the token key's certificate: $err; sshd: \
$(tail -n 3 "$it_tmp/sshd.log")" tk-cert-ok "$out" || return 0
	assertContains 'sshd took the certificate' \
	    "$(cat "$it_tmp/sshd.log")" 'ID p11-cert-rsa2048 ' || return 0
}

# Through a forwarded agent, another host may not have the agent load a
# FIDO middleware (CVE-2023-38408 was a PKCS#11 module loaded so); the
# "internal" provider, no library of anyone's, it may use.
test_tokens_remote_fido_provider_refused() {
	it_need_agent || return 0
	it_need_sshd || return 0
	fido_need_keys || return 0
	run sa "$it_tmp/keys/ed25519"
	assertEquals "ssh-add (the login's key): $err" 0 "$rc" || return 0
	run it_ssh -A "ssh-add -S '$fido_provider' '$it_tmp/keys/sk-ed25519' \
	    </dev/null; echo add=\$?; ssh-add -S internal \
	    '$it_tmp/keys/sk-ecdsa' </dev/null; echo internal=\$?"
	assertEquals "ssh -A: $err" 0 "$rc" || return 0
	has_line "$out" add=1
	assertTrue "a middleware from another host is refused: $out" $? ||
		return 0
	assertTrue "the agent says why: $(tail -n 3 "$it_agent_log")" \
	    "tk_in_log 'from another host refused'" || return 0
	has_line "$out" internal=0
	assertTrue "the internal provider is not a library: taken: $out" $? ||
		return 0
	run sa -l
	assertEquals "the login's key and the internal one are held: $out" \
	    2 "$(printf '%s\n' "$out" | grep -c .)" || return 0
}

# The largest request an agent takes (a SIGN_REQUEST of 256 KiB) goes
# to the helper and back: signed, and the module keeps its keys.
test_tokens_largest_request() {
	it_need_agent || return 0
	p11_need_token || return 0
	p11_add
	assertEquals "ssh-add -s: $out $err" 0 "$rc" || return 0
	# 256 KiB in all: the type, the key blob, the data and the flags.
	blob=$(blob_hex "$it_tmp/p11/rsa2048.pub")
	n=$((256 * 1024 - 1 - 4 - ${#blob} / 2 - 4 - 4))
	data=$(head -c "$n" /dev/zero | od -An -v -tx1 | tr -d ' \n')
	body=0d$(str_hex "$blob")$(str_hex "$data")00000004
	printf '%08x%s\n' $((${#body} / 2)) "$body" >"$it_tmp/big.hex"
	run sh -c "'$fido_build/tools/agentpoke' -w 30 '$SOCK' lines \
	    <'$it_tmp/big.hex'"
	assertContains "a 256 KiB request is signed: $out" "$out" 'reply 14 ' ||
		return 0
	assertEquals "the module's keys are still there" 3 \
	    "$(p11_listed "$(ssh-add -l 2>/dev/null)")" || return 0
}

# A module stuck in a call that ignores SIGTERM keeps neither its helper
# nor the agent alive once the agent is told to stop: it is killed.
test_tokens_stuck_module_does_not_keep_the_agent() {
	it_need_agent || return 0
	tk_need_cc || return 0
	cat >"$it_tmp/lib/stuck.c" <<'EOC'
#include <signal.h>
#include <unistd.h>
#include <p11-kit/pkcs11.h>

static CK_RV
init(void *args)
{
	(void)args;
	signal(SIGTERM, SIG_IGN);
	return CKR_OK;
}

static CK_RV
slots(unsigned char present, CK_SLOT_ID *list, CK_ULONG *n)
{
	(void)present;
	(void)list;
	(void)n;
	for (;;)
		pause();
}

static CK_FUNCTION_LIST fl;

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST **list)
{
	fl.version.major = 2;
	fl.version.minor = 40;
	fl.C_Initialize = init;
	fl.C_GetSlotList = slots;
	*list = &fl;
	return CKR_OK;
}
EOC
	cc -shared -fPIC $(pkg-config --cflags p11-kit-1) \
	    -o "$it_tmp/lib/stuck.so" "$it_tmp/lib/stuck.c"
	assertEquals 'the stuck module builds' 0 $? || return 0
	sa_askpass "$p11_pin" -s "$it_tmp/lib/stuck.so" \
	    >"$it_tmp/stuck.out" 2>&1 &
	add=$!
	tk_wait 50 eval '[ -n "$(tk_helpers)" ]'
	helper=$(tk_helpers)
	assertNotEquals 'its helper runs' '' "$helper" || return 0
	it_stop "$it_agent_pid" 'the agent, its module stuck' || return 0
	it_agent_pid=''
	assertFalse "the helper is gone too" "kill -0 $helper 2>/dev/null" ||
		return 0
	wait "$add" || :
}

# A label is the module's to choose: one with control characters is
# shown with '?' in their place (a client would print them, or refuse
# the whole list for a NUL).  The token made here is deleted again.
test_tokens_label_made_printable() {
	it_need_agent || return 0
	p11_need_token || return 0
	softhsm2-util --init-token --free --label tk-odd --pin "$p11_pin" \
	    --so-pin "$p11_so_pin" >"$it_tmp/odd.log" 2>&1 &&
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		    -out "$it_tmp/odd.pem" >>"$it_tmp/odd.log" 2>&1 &&
		softhsm2-util --import "$it_tmp/odd.pem" --token tk-odd \
		    --label "$(printf 'odd\tlabel\033[31m')" --id 09 \
		    --pin "$p11_pin" >>"$it_tmp/odd.log" 2>&1
	assertEquals "the odd token: $(cat "$it_tmp/odd.log")" 0 $? || return 0
	p11_add
	assertEquals "ssh-add -s: $out $err" 0 "$rc"
	run sa -l
	softhsm2-util --delete-token --token tk-odd >/dev/null 2>&1
	assertEquals "ssh-add -l: $err" 0 "$rc" || return 0
	assertContains "the label, printable: $out" "$out" 'odd?label?[31m' ||
		return 0
}

# One token cannot hold every thread: with its helper busy (a PIN
# question nobody answers), at most four signatures wait for it, and the
# next is refused at once, saying why.  Each attempt either waits (then
# counts) or is refused, so the refusal comes by the fifth.
test_tokens_busy_token_refuses() {
	it_need_agent || return 0
	fido_need_keys || return 0
	fido_agent_with_pin "$fido_pin" || return 0
	run sa_sk "$it_tmp/keys/sk-ed25519"
	assertEquals "ssh-add -S: $err" 0 "$rc" || return 0
	# The PIN question: askpass waits a minute before answering.
	echo 60 >"$it_tmp/confirm.sleep"
	frame=$(sign_frame "$it_tmp/keys/sk-ed25519.pub" \
	    "$(hex_of 'some data to sign')")
	n=0
	busy=''
	while [ "$n" -lt 8 ] && [ -z "$busy" ]; do
		n=$((n + 1))
		out=$("$fido_build/tools/agentpoke" -w 1 "$SOCK" hex "$frame")
		case $out in 'reply 5 1') busy=$n ;; esac
	done
	rm -f "$it_tmp/confirm.sleep"
	assertEquals "attempt 5 was refused at once (waiting: $((n - 1)))" \
	    5 "$busy" || return 0
	assertTrue "the agent says why: $(tail -n 3 "$it_agent_log")" \
	    "tk_in_log 'is busy: refused'" || return 0
}

if [ -r /usr/bin/shunit2 ]; then
	. /usr/bin/shunit2
else
	. /usr/share/shunit2/shunit2
fi
