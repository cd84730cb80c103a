#!/bin/sh
# `make install` and `make uninstall`, and what they install: every file
# at its place with its mode and the content it was made from, @BINDIR@
# in the service unit replaced by the real BINDIR, the man pages rendering
# without a single warning and covering every command, exit code,
# variable and configuration key, the installed units passing
# `systemd-analyze --user verify` (which also runs `man` for their
# Documentation=), and uninstall taking away exactly what install put.
# Directories that uninstall leaves on purpose: BINDIR, MANDIR/man1,
# MANDIR/man5 and SYSTEMDUSERDIR (shared with other packages); DATADIR
# (share/sshenv) is sshenv's own and goes once empty.
#
# The binary installed is $SSHENV_BIN (SSHENV_BINARY=...), so nothing is
# rebuilt and a sanitizer build installs its own binary.
# Arguments: none, or -- test_name... to run some tests only.

# shellcheck disable=SC2034 # read by shunit2
SHUNIT_COLOR=none

top=$(cd "$(dirname "$0")/../.." && pwd)
: "${SSHENV_BIN:=build/sshenv}"
case $SSHENV_BIN in
/*) ;;
*) SSHENV_BIN=$top/$SSHENV_BIN ;;
esac
T=''

setUp() {
	T=$(mktemp -d /tmp/sshenv-inst.XXXXXX) || return 1
}

tearDown() {
	[ -n "$T" ] && rm -rf "$T"
	T=''
}

# ---------------------------------------------------------------- helpers

# mk TARGET VAR=VALUE...: runs `make TARGET` at the top of the tree with
# the binary under test; output in $T/make.out, status in $rc.  Variables
# of an outer make (`make check PREFIX=...`) must not leak in.
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	    timeout -k 2 60 make --no-print-directory -C "$top" "$@" \
	    SSHENV_BINARY="$SSHENV_BIN" >"$T/make.out" 2>&1
	rc=$?
}

# expected PREFIX-RELATIVE-ROOT: "path mode" for every file install must
# put under ROOT (the tree at PREFIX, as paths relative to it), sorted.
expected() {
	{
		echo "bin/sshenv 755"
		echo "libexec/sshenv/sshenv-agent 755"
		echo "libexec/sshenv/sshenv-supervisor 755"
		echo "libexec/sshenv/sshenv-token 755"
		echo "share/man/man1/sshenv.1 644"
		echo "share/man/man5/sshenv.conf.5 644"
		echo "share/sshenv/sshenv.conf 644"
		echo "share/sshenv/installed-dirs 644"
		for _f in "$top"/shell/*; do
			echo "share/sshenv/shell/$(basename "$_f") 644"
		done
		echo "lib/systemd/user/sshenv.socket 644"
		echo "lib/systemd/user/sshenv.service 644"
	} | LC_ALL=C sort
}

# tree DIR: "path mode" of every non-directory under DIR, sorted.
tree() {
	(cd "$1" && find . ! -type d -printf '%P %m\n') | LC_ALL=C sort
}

# dir_list DIR: every directory under DIR, sorted, one line.
dir_list() {
	(cd "$1" && find . -mindepth 1 -type d -printf '%P\n') |
	    LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}

# render PAGE: man -l at 80 columns; text in $T/man.out, stderr in
# $T/man.err, status in $rc.
render() {
	MANWIDTH=80 MAN_DISABLE_SECCOMP=1 timeout -k 2 30 man -l "$1" \
	    >"$T/man.out" 2>"$T/man.err" </dev/null
	rc=$?
}

# ------------------------------------------------------------------ tests

test_install_puts_every_file_with_its_mode() {
	mk install DESTDIR="$T/dest"
	assertEquals "make install: $(cat "$T/make.out")" 0 "$rc"
	expected >"$T/want"
	tree "$T/dest/usr/local" >"$T/got"
	assertEquals "files and modes under DESTDIR/usr/local" \
	    "$(cat "$T/want")" "$(cat "$T/got")"
	assertEquals "nothing outside DESTDIR/usr/local" "usr" \
	    "$(ls -A "$T/dest")"
	assertEquals "nothing else under DESTDIR/usr" "local" \
	    "$(ls -A "$T/dest/usr")"
	_r=$T/dest/usr/local
	assertTrue "the binary is the one under test" \
	    "cmp -s '$SSHENV_BIN' '$_r/bin/sshenv'"
	for _h in sshenv-supervisor sshenv-agent sshenv-token; do
		assertTrue "$_h is the one under test" \
		    "cmp -s '$(dirname "$SSHENV_BIN")/$_h' \
		    '$_r/libexec/sshenv/$_h'"
	done
	assertEquals "no shared object installed" "" \
	    "$(find "$T/dest" -name '*.so' -o -name '*.so.*')"
	assertTrue "sshenv.1 as in contrib/man" \
	    "cmp -s '$top/contrib/man/sshenv.1' '$_r/share/man/man1/sshenv.1'"
	assertTrue "sshenv.conf.5 as in contrib/man" \
	    "cmp -s '$top/contrib/man/sshenv.conf.5' \
	    '$_r/share/man/man5/sshenv.conf.5'"
	assertTrue "the example configuration as in conf/" \
	    "cmp -s '$top/conf/sshenv.conf' '$_r/share/sshenv/sshenv.conf'"
	for _f in "$top"/shell/*; do
		_n=$(basename "$_f")
		assertTrue "snippet $_n as in shell/" \
		    "cmp -s '$_f' '$_r/share/sshenv/shell/$_n'"
	done
	assertTrue "sshenv.socket as in contrib/systemd" \
	    "cmp -s '$top/contrib/systemd/sshenv.socket' \
	    '$_r/lib/systemd/user/sshenv.socket'"
	assertTrue "the installed binary runs" \
	    "'$_r/bin/sshenv' --help >/dev/null"
}

test_service_names_the_real_helperdir() {
	mk install DESTDIR="$T/dest"
	assertEquals "make install: $(cat "$T/make.out")" 0 "$rc"
	_s=$T/dest/usr/local/lib/systemd/user/sshenv.service
	assertFalse "@HELPERDIR@ left in $_s" "grep -q '@' '$_s'"
	assertEquals "ExecStart, without DESTDIR" \
	    "ExecStart=/usr/local/libexec/sshenv/sshenv-supervisor -D" \
	    "$(grep '^ExecStart=' "$_s")"
	# Nothing but that substitution.
	sed 's|@HELPERDIR@|/usr/local/libexec/sshenv|g' \
	    "$top/contrib/systemd/sshenv.service" >"$T/want.service"
	assertTrue "the rest of the unit unchanged" \
	    "cmp -s '$T/want.service' '$_s'"

	# PREFIX moves everything; LIBEXECDIR alone moves the helpers and
	# the unit's ExecStart with them.
	mk install DESTDIR="$T/d2" PREFIX=/opt/sshenv LIBEXECDIR=/usr/libexec/x
	assertEquals "make install PREFIX LIBEXECDIR: $(cat "$T/make.out")" \
	    0 "$rc"
	assertTrue "binary under PREFIX" "[ -x '$T/d2/opt/sshenv/bin/sshenv' ]"
	assertTrue "helpers in LIBEXECDIR/sshenv" \
	    "[ -x '$T/d2/usr/libexec/x/sshenv/sshenv-agent' ]"
	assertTrue "man page under PREFIX" \
	    "[ -f '$T/d2/opt/sshenv/share/man/man1/sshenv.1' ]"
	assertEquals "ExecStart follows LIBEXECDIR" \
	    "ExecStart=/usr/libexec/x/sshenv/sshenv-supervisor -D" \
	    "$(grep '^ExecStart=' \
	    "$T/d2/opt/sshenv/lib/systemd/user/sshenv.service")"
	assertEquals "no temporary file left" \
	    "sshenv.service 644
sshenv.socket 644" "$(tree "$T/d2/opt/sshenv/lib/systemd/user")"
}

# The installed client finds the installed helpers (../libexec/sshenv
# relative to itself), and all three are one build.
test_installed_client_runs_its_helpers() {
	mk install DESTDIR="$T/dest"
	assertEquals "make install: $(cat "$T/make.out")" 0 "$rc"
	_r=$T/dest/usr/local
	"$_r/bin/sshenv" --version >"$T/ver" 2>&1
	assertEquals "sshenv --version status: $(cat "$T/ver")" 0 $?
	assertEquals "four programs, one build: $(cat "$T/ver")" 1 \
	    "$(sed -n 's/.*(build \([0-9a-f]*\))$/\1/p' "$T/ver" |
	    sort -u | wc -l)"
	assertEquals "each named: $(cat "$T/ver")" \
	    "sshenv sshenv-supervisor sshenv-agent sshenv-token" \
	    "$(awk '{ print $1 }' "$T/ver" | tr '\n' ' ' | sed 's/ $//')"
	# `sshenv agent` is the helper: its own answer to -k without a pid.
	env -u SSH_AGENT_PID "$_r/bin/sshenv" agent -k >"$T/k.out" 2>&1
	assertEquals "sshenv agent -k: $(cat "$T/k.out")" 2 $?
	assertContains "the agent's message" "$(cat "$T/k.out")" \
	    "SSH_AGENT_PID not set"
}

# A helper of another build refuses to run, and says what to do.
test_helper_of_another_build_is_refused() {
	_b=$(dirname "$SSHENV_BIN")
	SSHENV_BUILD_ID=0123456789abcdef "$_b/sshenv-agent" -k \
	    >"$T/o" 2>&1
	assertEquals "mismatched agent status: $(cat "$T/o")" 3 $?
	assertContains "says why" "$(cat "$T/o")" "install sshenv and its helpers"
	SSHENV_BUILD_ID=0123456789abcdef "$_b/sshenv-supervisor" -D \
	    >"$T/o" 2>&1
	assertEquals "mismatched supervisor status: $(cat "$T/o")" 3 $?
	# A real pair from two builds, when make check built another one.
	_mine=$("$_b/sshenv-agent" --version | sed 's/.*(build \(.*\))/\1/')
	for _o in "$top"/build "$top"/build-san "$top"/build-portable; do
		[ -x "$_o/sshenv-agent" ] || continue
		_id=$("$_o/sshenv-agent" --version 2>/dev/null |
		    sed 's/.*(build \(.*\))/\1/')
		[ -n "$_id" ] && [ "$_id" != "$_mine" ] || continue
		mkdir -p "$T/mix"
		cp "$SSHENV_BIN" "$T/mix/sshenv"
		cp "$_o/sshenv-agent" "$T/mix/"
		env -u SSH_AGENT_PID "$T/mix/sshenv" agent -k >"$T/o" 2>&1
		assertEquals "agent of $_o under $SSHENV_BIN: $(cat "$T/o")" \
		    3 $?
		assertContains "names both builds" "$(cat "$T/o")" "$_id"
		break
	done
}

test_man_pages_render_without_warnings() {
	mk install DESTDIR="$T/dest"
	assertEquals "make install: $(cat "$T/make.out")" 0 "$rc"
	for _p in man1/sshenv.1 man5/sshenv.conf.5; do
		_f=$T/dest/usr/local/share/man/$_p
		render "$_f"
		assertEquals "man -l $_p status: $(cat "$T/man.err")" 0 "$rc"
		assertEquals "man -l $_p stderr" "" "$(cat "$T/man.err")"
		assertContains "man -l $_p has a NAME section" \
		    "$(cat "$T/man.out")" "NAME"
		_w=$(awk 'length($0) > 80' "$T/man.out")
		assertEquals "man -l $_p: lines over 80 columns" "" "$_w"
		groff -man -Tutf8 -ww -z "$_f" >"$T/groff.out" 2>&1
		rc=$?
		assertEquals "groff -ww $_p status" 0 "$rc"
		assertEquals "groff -ww $_p warnings" "" "$(cat "$T/groff.out")"
		groff -man -Tascii -ww -z "$_f" >"$T/groff.out" 2>&1
		assertEquals "groff -Tascii -ww $_p warnings" "" \
		    "$(cat "$T/groff.out")"
	done
}

test_man_page_covers_the_commands() {
	render "$top/contrib/man/sshenv.1"
	assertEquals "man -l sshenv.1: $(cat "$T/man.err")" 0 "$rc"
	_txt=$(cat "$T/man.out")
	# Every command of the usage the binary prints has an entry.
	"$SSHENV_BIN" --help >"$T/usage"
	rc=$?
	assertEquals "sshenv --help status" 0 "$rc"
	# shellcheck disable=SC2013 # one word a line
	for _c in $(sed -n 's/^  sshenv \([a-z]*\).*/\1/p' "$T/usage"); do
		assertTrue "COMMANDS has no entry for '$_c'" \
		    "grep -q '^\\\\fB$_c\\\\fR' '$top/contrib/man/sshenv.1'"
	done
	# ... and every option that usage lists for it.  (No pipe into the
	# loop: a fail in a subshell would not count.)
	sed -n 's/^  sshenv //p' "$T/usage" >"$T/cmds"
	while read -r _c _opts; do
		for _o in $(printf '%s\n' "$_opts" | grep -o -- '-[a-zA-Z-]*'); do
			case $_o in
			-cDdks) _o='-c -D -d -k -s' ;;
			esac
			for _x in $_o; do
				case $_txt in
				*"$_x"*) ;;
				*) fail "option $_x of $_c not in sshenv(1)" ;;
				esac
			done
		done
	done <"$T/cmds"
	for _code in 0 1 2 3 64; do
		assertTrue "EXIT STATUS lacks $_code" \
		    "sed -n '/^EXIT STATUS/,/^ENVIRONMENT/p' '$T/man.out' |
		    grep -q '^       $_code  *[A-Z]'"
	done
	for _v in SSH_AUTH_SOCK SSH_CONNECTION SSH_ASKPASS SHELL \
	    XDG_RUNTIME_DIR XDG_CONFIG_HOME HOME LISTEN_FDS LISTEN_PID \
	    LISTEN_FDNAMES NOTIFY_SOCKET; do
		assertTrue "ENVIRONMENT lacks $_v" \
		    "sed -n '/^ENVIRONMENT/,/^FILES/p' '$T/man.out' |
		    grep -q '^       \\([A-Z_]*, \\)*$_v\\(,\\| \\|\$\\)'"
	done
	for _s in NAME SYNOPSIS DESCRIPTION COMMANDS 'EXIT STATUS' \
	    ENVIRONMENT FILES 'LOGIN PROFILES' SYSTEMD SECURITY 'SEE ALSO'; do
		assertTrue "no section $_s" "grep -q '^$_s\$' '$T/man.out'"
	done
	for _f in control.sock agent.sock start.lock daemon.lock daemon.pid \
	    agent.pid sessions .ssh/environment; do
		assertTrue "FILES lacks $_f" \
		    "sed -n '/^FILES/,/^LOGIN PROFILES/p' '$T/man.out' |
		    grep -q -- '$_f'"
	done
	for _r in 'ssh-agent(1)' 'ssh-add(1)' 'sshenv.conf(5)'; do
		assertContains "SEE ALSO lacks $_r" \
		    "$(sed -n '/^SEE ALSO/,$p' "$T/man.out")" "$_r"
	done
}

# Every key the binary knows (its own `sshenv config` table) and every
# section of the example file has an entry in sshenv.conf(5), and the
# default given there is the binary's.
test_conf_page_covers_every_key() {
	_src=$top/contrib/man/sshenv.conf.5
	"$SSHENV_BIN" config -F /dev/null >"$T/config" 2>"$T/config.err"
	rc=$?
	assertEquals "sshenv config -F /dev/null: $(cat "$T/config.err")" \
	    0 "$rc"
	assertNotEquals "sshenv config printed nothing" "" \
	    "$(cat "$T/config")"
	# shellcheck disable=SC2013 # one word a line
	for _s in $(sed -n 's/^\[\([a-z]*\)\]$/\1/p' "$top/conf/sshenv.conf"); do
		assertTrue "no SECTION [$_s]" \
		    "grep -q '^\\.SH SECTION \\[$_s\\]\$' '$_src'"
	done
	# "agent.lifetime = 0<TAB># default": section, key, default value.
	tab=$(printf '\t')
	while IFS= read -r _l; do
		_sk=${_l%% = *}
		_s=${_sk%%.*} _k=${_sk#*.}
		_v=${_l#* = }
		_v=${_v%%"$tab"*}
		[ -n "$_v" ] || _v=empty
		# A path left empty is shown as the one computed in its place.
		case $_l in *"# default (empty: this path computed)") _v=empty ;;
		esac
		# The key's entry: from its tag line to the next key or section.
		awk -v s="$_s" -v k="$_k" '
			/^\.SH / { in_s = ($0 == ".SH SECTION [" s "]"); on = 0 }
			/^\.B[IR] [a-z_]+ " = / {
				on = in_s && $2 == k
			}
			on { print }
		' "$_src" >"$T/entry"
		assertTrue "sshenv.conf(5) has no entry for $_s.$_k" \
		    "[ -s '$T/entry' ]"
		assertTrue "$_s.$_k: default '$_v' not in its entry" \
		    "grep -q '^Default: $_v\\( (seconds)\\)*\\.\$' '$T/entry'"
		assertTrue "$_s.$_k not in the example file" \
		    "grep -q '^#$_k =\\( \\|\$\\)' '$top/conf/sshenv.conf'"
	done <"$T/config"
	render "$_src"
	assertEquals "man -l sshenv.conf.5: $(cat "$T/man.err")" 0 "$rc"
	for _s in 'LOAD ORDER' ERRORS RELOADING 'TIME FORMAT'; do
		assertTrue "no section $_s" "grep -q '^$_s\$' '$T/man.out'"
	done
	assertContains "RELOADING names SIGHUP" "$(cat "$T/man.out")" SIGHUP
}

test_uninstall_removes_what_install_put() {
	mk install DESTDIR="$T/dest"
	assertEquals "make install: $(cat "$T/make.out")" 0 "$rc"
	# Someone else's files in the shared directories stay.
	echo other >"$T/dest/usr/local/bin/other"
	echo other >"$T/dest/usr/local/share/man/man1/other.1"
	mk uninstall DESTDIR="$T/dest"
	assertEquals "make uninstall: $(cat "$T/make.out")" 0 "$rc"
	assertEquals "files left" "bin/other 644
share/man/man1/other.1 644" "$(tree "$T/dest/usr/local")"
	# Every directory install made goes once empty: only those holding
	# someone else's files stay.
	assertEquals "directories left: those not empty" \
	    "bin share share/man share/man/man1" \
	    "$(dir_list "$T/dest/usr/local")"
	# And directories that were there before install stay, empty or not.
	mkdir -p "$T/pre/usr/local/bin" "$T/pre/usr/local/share/man/man5"
	mk install DESTDIR="$T/pre"
	assertEquals "make install (pre): $(cat "$T/make.out")" 0 "$rc"
	mk uninstall DESTDIR="$T/pre"
	assertEquals "make uninstall (pre): $(cat "$T/make.out")" 0 "$rc"
	assertEquals "the directories that were there stay" \
	    "bin share share/man share/man/man5" \
	    "$(dir_list "$T/pre/usr/local")"
	# Twice, or with nothing installed, is no error.
	mk uninstall DESTDIR="$T/dest"
	assertEquals "second make uninstall: $(cat "$T/make.out")" 0 "$rc"
	mk uninstall DESTDIR="$T/empty"
	assertEquals "make uninstall of nothing: $(cat "$T/make.out")" 0 "$rc"
}

test_uninstall_keeps_a_foreign_file_in_datadir() {
	mk install DESTDIR="$T/dest"
	assertEquals "make install: $(cat "$T/make.out")" 0 "$rc"
	echo mine >"$T/dest/usr/local/share/sshenv/shell/mine.sh"
	mk uninstall DESTDIR="$T/dest"
	assertEquals "make uninstall: $(cat "$T/make.out")" 0 "$rc"
	assertEquals "only the foreign file is left" \
	    "share/sshenv/shell/mine.sh 644" "$(tree "$T/dest/usr/local")"
}

# A real PREFIX (no DESTDIR), so that ExecStart names an existing binary
# and `man sshenv(1)` (Documentation=) resolves through MANPATH.
test_installed_units_verify() {
	if ! command -v systemd-analyze >/dev/null 2>&1; then
		startSkipping
		fail "systemd-analyze missing: scripts/deps.sh test"
		return 0
	fi
	_p=$T/prefix
	mk install PREFIX="$_p"
	assertEquals "make install PREFIX: $(cat "$T/make.out")" 0 "$rc"
	mkdir -m 0700 "$T/xdg"
	_u=$_p/lib/systemd/user
	(cd "$T" && XDG_RUNTIME_DIR=$T/xdg MANPATH=$_p/share/man \
	    timeout -k 2 60 systemd-analyze --user verify \
	    "$_u/sshenv.socket" "$_u/sshenv.service") >"$T/verify" 2>&1
	rc=$?
	assertEquals "systemd-analyze --user verify: $(cat "$T/verify")" 0 "$rc"
	assertEquals "systemd-analyze output" "" "$(cat "$T/verify")"

	# The check has teeth: without the man page, Documentation= fails.
	(cd "$T" && XDG_RUNTIME_DIR=$T/xdg MANPATH=$T/nowhere \
	    timeout -k 2 60 systemd-analyze --user verify \
	    "$_u/sshenv.socket" "$_u/sshenv.service") >"$T/verify" 2>&1
	assertNotEquals "verify passed without the man page" 0 "$?"
	assertContains "what failed" "$(cat "$T/verify")" "man sshenv(1)"

	mk uninstall PREFIX="$_p"
	assertEquals "make uninstall PREFIX: $(cat "$T/make.out")" 0 "$rc"
	assertEquals "files left under PREFIX" "" "$(tree "$_p")"
}

# shellcheck disable=SC1091
. /usr/bin/shunit2
