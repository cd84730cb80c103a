#!/bin/sh
# shellcheck disable=SC2016 # lines for the user's shell, in single quotes
# The Debian package: `make deb` builds it from the tree with
# dpkg-buildpackage (the unit tests run at build time) and lintian finds
# no error and no warning in it; dpkg -i puts what make install installs
# in Debian's places, /etc/sshenv.conf a conffile that sets nothing.
# Real accounts log in through a real sshd with a pty, with no command,
# so that sshd starts each one's login shell as for a person.  Then the
# system-wide switch: with [login] all_users = yes in /etc/sshenv.conf,
# users of bash, tcsh, fish and zsh (zsh with the line sshenv(1) gives
# for /etc/zsh/zprofile) get the agent, their profiles as useradd made
# them; a user who opted out gets none; one with the line in their own
# profile gets one agent and one session; a missing or crashing binary
# costs a login nothing.  Last, purge leaves no file, unit or process.
# The tests build on each other, in this order.
# Needs root, sshd and dpkg-buildpackage; runs once, with the plain
# build's pass; skipped where sshenv is installed in /usr already.

# shellcheck disable=SC2034 # read by shunit2
SHUNIT_COLOR=none
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/shell/bins.inc
. "$top/tests/shell/bins.inc"

D=''		# everything: the package, sshd's files, the homes, outputs
P=''		# the sshd's port
DEB=''		# the package built
sshd_pid=''
hold=''		# the sleeper that keeps a held login's input open
users=''	# the accounts made, to remove
zprofile=/etc/zsh/zprofile
PY=/usr/bin/python3
LIBEXEC=/usr/libexec/sshenv

plain_pass() {
	case ${SSHENV_BUILD:-build} in
	*-san* | *-portable*) return 1 ;;
	esac
}

# Root, sshd, the tools, and no sshenv of the host's own in the way.
runnable() {
	[ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/sshd ] &&
	    command -v dpkg-buildpackage >/dev/null &&
	    command -v lintian >/dev/null &&
	    ! dpkg-query -W -f='${Status}' sshenv 2>/dev/null |
	    grep -q 'ok installed' &&
	    [ ! -e /usr/bin/sshenv ] && [ ! -e /etc/sshenv.conf ]
}

start_sshd() {
	mkdir -p /run/sshd # sshd's privilege separation directory
	_port=$((30000 + ($$ * 13) % 20000))
	_try=0
	while [ $_try -lt 10 ]; do
		cat >"$D/sshd.conf" <<EOF
Port $_port
ListenAddress 127.0.0.1
AddressFamily inet
HostKey $D/host
PidFile $D/sshd.pid
AuthorizedKeysFile $D/auth/%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowAgentForwarding no
PermitTTY yes
PrintMotd no
PrintLastLog no
UseDNS no
EOF
		: >"$D/sshd.log"
		/usr/sbin/sshd -D -e -f "$D/sshd.conf" </dev/null \
		    >>"$D/sshd.log" 2>&1 &
		sshd_pid=$!
		if wait_for 5 grep -q "listening on 127.0.0.1 port $_port\." \
		    "$D/sshd.log"; then
			P=$_port
			printf '[127.0.0.1]:%s %s\n' "$P" \
			    "$(cut -d' ' -f1,2 "$D/host.pub")" >"$D/known_hosts"
			return 0
		fi
		kill "$sshd_pid" 2>/dev/null
		wait "$sshd_pid" 2>/dev/null
		sshd_pid=''
		_port=$((_port + 1))
		_try=$((_try + 1))
	done
	return 1
}

oneTimeSetUp() {
	plain_pass && runnable || return 0
	D=$(mktemp -d /tmp/sshenv-deb.XXXXXX) || return 1
	chmod 0755 "$D"
	mkdir "$D/auth" "$D/home" "$D/out"
	chmod 0777 "$D/out"
	# make deb, as a user runs it; variables of an outer make stay out.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	    timeout -k 5 600 make --no-print-directory -C "$top" deb \
	    DEBDIR="$D/deb" >"$D/build.log" 2>&1
	for DEB in "$D"/deb/sshenv_*.deb; do break; done
	ssh-keygen -q -t ed25519 -N '' -f "$D/key" &&
	    ssh-keygen -q -t ed25519 -N '' -f "$D/host" || return 1
	start_sshd
	return 0
}

oneTimeTearDown() {
	[ -n "$D" ] || return 0
	# Whatever state a test left it in (none when it went as it should).
	dpkg --purge --force-remove-reinstreq sshenv >/dev/null 2>&1
	[ -n "$hold" ] && kill "$hold" 2>/dev/null
	[ -f "$D/zprofile" ] && cat "$D/zprofile" >"$zprofile"
	[ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null
	for _u in $users; do
		pkill -KILL -u "$_u" 2>/dev/null
	done
	for _u in $users; do
		wait_for 5 eval '! pgrep -u "$_u" >/dev/null'
		userdel -f "$_u" 2>/dev/null
	done
	rm -rf "$D"
	D=''
}

need() {
	if [ -z "$D" ]; then
		echo "SKIP: needs root, sshd, dpkg-buildpackage and lintian," \
		    "and no sshenv installed in /usr or /etc"
		startSkipping
		return 1
	fi
	return 0
}

installed() {
	dpkg-query -W -f='${Status}' sshenv 2>/dev/null | grep -q 'ok installed'
}

# mkuser NAME SHELL: an account whose home is what useradd -m makes of
# /etc/skel, logging in with the test's key (kept outside the home).
mkuser() {
	useradd -m -d "$D/home/$1" -s "$2" "$1" || return 1
	users="$users $1"
	usermod -p '*' "$1" # no password, not locked: keys only
	cp "$D/key.pub" "$D/auth/$1"
}

# login USER [LINE...]: a login of USER with a pty and no command: sshd
# starts the account's shell as a login shell, which reads the system's
# and the user's login files, then the LINEs typed (after each of the
# defaults: where SSH_AUTH_SOCK leads, what ssh-add -l says, how many
# agents and sessions the user has), then exit.  Outputs in
# $D/out/USER.*.  Every line works in sh, csh and fish alike.
login() {
	_lu=$1
	shift
	_o=$D/out/$_lu
	rm -f "$_o".*
	case $(getent passwd "$_lu" | cut -d: -f7) in
	*csh) _keys="ssh-add -l >& $_o.keys" ;;	# csh has no 2>&1
	*) _keys="ssh-add -l >$_o.keys 2>&1" ;;
	esac
	{
		echo "printenv SSH_AUTH_SOCK >$_o.sock"
		echo "$_keys"
		echo "pgrep -u $_lu -f $LIBEXEC/sshenv-agent >$_o.agents"
		echo "sshenv status --json >$_o.status"
		for _l in "$@"; do
			echo "$_l"
		done
		echo "echo done >$_o.done"
		echo "exit"
	} >"$D/in.$_lu"
	timeout -k 2 60 ssh -tt -F /dev/null -p "$P" -i "$D/key" \
	    -o UserKnownHostsFile="$D/known_hosts" \
	    -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes \
	    -o IdentitiesOnly=yes -o LogLevel=ERROR -o ControlMaster=no \
	    -o ControlPath=none "$_lu@127.0.0.1" <"$D/in.$_lu" \
	    >"$_o.tty" 2>&1
}

# got_agent USER: that login's shell reached an agent (with no keys).
got_agent() {
	assertTrue "$1's login ran its commands: $(tail -c 600 "$D/out/$1.tty")" \
	    "[ -f '$D/out/$1.done' ]"
	assertNotEquals "$1: SSH_AUTH_SOCK set" "" \
	    "$(cat "$D/out/$1.sock" 2>/dev/null)"
	assertEquals "$1: ssh-add -l" "The agent has no identities." \
	    "$(cat "$D/out/$1.keys" 2>/dev/null)"
}

# got_none USER: that login ran, and no sshenv is there for it.
got_none() {
	assertTrue "$1's login ran its commands: $(tail -c 600 "$D/out/$1.tty")" \
	    "[ -f '$D/out/$1.done' ]"
	assertEquals "$1: SSH_AUTH_SOCK" "" \
	    "$(cat "$D/out/$1.sock" 2>/dev/null)"
	assertEquals "$1: agents" "" "$(cat "$D/out/$1.agents" 2>/dev/null)"
}

# profiles_as_made USER: the profile files in the home are /etc/skel's,
# and no shell's login file was added.
profiles_as_made() {
	for _f in /etc/skel/.[!.]*; do
		[ -f "$_f" ] || continue
		assertTrue "$1: $(basename "$_f") as useradd made it" \
		    "cmp -s '$_f' '$D/home/$1/$(basename "$_f")'"
	done
	for _f in .bash_profile .login .zprofile .zlogin \
	    .config/fish/conf.d/sshenv.fish; do
		assertFalse "$1: no $_f" "[ -e '$D/home/$1/$_f' ]"
	done
	assertEquals "$1: no file of the home but sshenv's own names it" "" \
	    "$(grep -rl sshenv "$D/home/$1" --exclude-dir=.ssh --exclude='*history')"
}

# The switch: [login] all_users in /etc/sshenv.conf, by uncommenting or
# commenting the line the package ships.
switch() {
	sed -i "s/^#*all_users = .*/all_users = $1/" /etc/sshenv.conf
}

# ------------------------------------------------------------------ tests

test_make_deb_builds_a_lintian_clean_package() {
	need || return
	assertTrue "make deb built the package: $(tail -n 30 "$D/build.log")" \
	    "[ -n '$DEB' ] && [ -f '$DEB' ]"
	assertTrue "the unit tests ran at build time" \
	    "grep -q '^test_config: [0-9]* passed, 0 failed' '$D/build.log'"
	lintian "$DEB" >"$D/lintian.out" 2>&1
	assertEquals "lintian: no error or warning: $(cat "$D/lintian.out")" \
	    "" "$(grep -E '^[EW]: ' "$D/lintian.out")"
}

test_dpkg_installs_it_in_debians_places() {
	need || return
	dpkg -i "$DEB" >"$D/dpkg.out" 2>&1
	rc=$?
	assertEquals "dpkg -i: $(cat "$D/dpkg.out")" 0 "$rc"
	installed || return
	dpkg -L sshenv >"$D/files"
	for _f in /usr/bin/sshenv $LIBEXEC/sshenv-supervisor \
	    $LIBEXEC/sshenv-agent $LIBEXEC/sshenv-token \
	    /usr/share/man/man1/sshenv.1.gz \
	    /usr/share/man/man5/sshenv.conf.5.gz \
	    /usr/share/sshenv/sshenv.conf /usr/share/sshenv/shell/profile.sh \
	    /usr/lib/systemd/user/sshenv.socket \
	    /usr/lib/systemd/user/sshenv.service /etc/sshenv.conf \
	    /etc/profile.d/sshenv.sh /etc/csh/login.d/sshenv \
	    /usr/share/fish/vendor_conf.d/sshenv.fish \
	    /usr/share/doc/sshenv/copyright; do
		assertTrue "$_f installed" "grep -qx '$_f' '$D/files' && \
		    [ -f '$_f' ]"
	done
	assertEquals "no make uninstall record" "" \
	    "$(grep installed-dirs "$D/files")"
	assertEquals "the unit names the installed supervisor" \
	    "ExecStart=$LIBEXEC/sshenv-supervisor" \
	    "$(grep -o "^ExecStart=[^ ]*" /usr/lib/systemd/user/sshenv.service)"
	# The conffile sets nothing: every key commented out.
	assertEquals "conffiles" "/etc/csh/login.d/sshenv
/etc/profile.d/sshenv.sh
/etc/sshenv.conf" \
	    "$(dpkg-query -W -f='${Conffiles}' sshenv |
		awk 'NF { print $1 }' | LC_ALL=C sort)"
	assertEquals "/etc/sshenv.conf sets nothing" "" \
	    "$(grep -Ev '^(#|\[|$)' /etc/sshenv.conf)"
	_v=$(dpkg-query -W -f='${Version}' sshenv)
	/usr/bin/sshenv --version >"$D/version" 2>&1
	rc=$?
	assertEquals "sshenv --version: $(cat "$D/version")" 0 "$rc"
	assertEquals "the package's version, four programs of one build" \
	    "sshenv $_v
sshenv-supervisor $_v
sshenv-agent $_v
sshenv-token $_v" "$(sed 's/ (build [0-9a-f]*)$//' "$D/version")"
	assertEquals "one build" 1 \
	    "$(grep -o '(build [0-9a-f]*)' "$D/version" | sort -u | wc -l)"
	# What the package ships of the units is each user's to enable.
	assertFalse "no user unit enabled for all" \
	    "ls /etc/systemd/user/*.wants/sshenv* 2>/dev/null | grep -q ."
}

# Shipped inactive: the profile line works; without it, nothing runs.
test_off_by_default_the_profile_line_works() {
	need || return
	assertTrue "the package is installed" installed || return
	assertTrue "sshd runs: $(tail -n 3 "$D/sshd.log")" "[ -n '$P' ]"
	mkuser sshenvdl$$ /bin/bash
	mkuser sshenvdn$$ /bin/bash
	# The README's line, as a user puts it in ~/.profile.
	echo 'eval "$(sshenv init)"' >>"$D/home/sshenvdl$$/.profile"
	login sshenvdl$$
	got_agent sshenvdl$$
	login sshenvdn$$
	got_none sshenvdn$$
}

test_all_users_gives_every_shell_the_agent() {
	need || return
	assertTrue "the package is installed" installed || return
	switch yes
	cp "$zprofile" "$D/zprofile"
	# The line sshenv(1) gives the admin for zsh.
	_line=$(LC_ALL=C MANWIDTH=80 man -l /usr/share/man/man1/sshenv.1.gz \
	    2>/dev/null | sed -n '/^ *\[ -r \/etc\/profile.d\/sshenv.sh \] &&$/{
N
s/^ *//
s/\n */ /
p
}')
	assertEquals "sshenv(1) gives the zsh line" \
	    "[ -r /etc/profile.d/sshenv.sh ] && emulate sh -c '. /etc/profile.d/sshenv.sh'" \
	    "$_line"
	echo "$_line" >>"$zprofile"
	for _s in bash:/bin/bash tcsh:/usr/bin/tcsh fish:/usr/bin/fish \
	    zsh:/usr/bin/zsh; do
		_u=sshenvd${_s%%:*}$$
		mkuser "$_u" "${_s#*:}"
		# What zsh's own first-login menu makes with its key 0 (else
		# the menu takes the typed lines); no sshenv in it.
		[ "${_s%%:*}" = zsh ] && echo '# Created by newuser' \
		    >"$D/home/$_u/.zshrc" && chown "$_u:" "$D/home/$_u/.zshrc"
		login "$_u"
		got_agent "$_u"
		assertEquals "$_u: one agent" 1 \
		    "$(wc -l <"$D/out/$_u.agents")"
		profiles_as_made "$_u"
	done
}

test_a_user_opts_out() {
	need || return
	assertTrue "the package is installed" installed || return
	switch yes
	mkuser sshenvdo$$ /bin/bash
	mkdir -p "$D/home/sshenvdo$$/.config/sshenv"
	printf '[login]\nall_users = no\n' \
	    >"$D/home/sshenvdo$$/.config/sshenv/config"
	chown -R "sshenvdo$$:" "$D/home/sshenvdo$$/.config"
	login sshenvdo$$
	got_none sshenvdo$$
	assertFalse "no runtime directory made" \
	    "[ -e '$D/home/sshenvdo$$/.ssh/agent' ]"
}

# The switch on, and the README's line in the profile too: init runs
# twice in the login and finds it registered the second time.
test_the_line_in_a_profile_as_well_one_agent_one_session() {
	need || return
	assertTrue "the package is installed" installed || return
	switch yes
	_u=sshenvdp$$
	mkuser "$_u" /bin/bash
	echo 'eval "$(sshenv init)"' >>"$D/home/$_u/.profile"
	login "$_u"
	got_agent "$_u"
	assertEquals "one agent" 1 "$(wc -l <"$D/out/$_u.agents")"
	assertEquals "one session" 1 \
	    "$($PY -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))' \
		<"$D/out/$_u.status" 2>&1)"
}

test_a_missing_or_crashing_binary_costs_a_login_nothing() {
	need || return
	assertTrue "the package is installed" installed || return
	switch yes
	_u=sshenvdx$$
	mkuser "$_u" /bin/bash
	mkuser "${_u}c" /usr/bin/tcsh
	cp /usr/bin/sshenv "$D/sshenv.real"
	# A binary that dies of SIGSEGV.
	printf '#!/bin/sh\nkill -SEGV $$\n' >/usr/bin/sshenv
	login "$_u"
	got_none "$_u"
	login "${_u}c"
	got_none "${_u}c"
	rm -f /usr/bin/sshenv
	for _l in "$_u" "${_u}c"; do
		login "$_l"
		got_none "$_l"
		# The snippets look before they run it: not a word of it.
		assertEquals "$_l: what the login said of /usr/bin/sshenv" "" \
		    "$(grep /usr/bin/sshenv "$D/out/$_l.tty")"
	done
	cp "$D/sshenv.real" /usr/bin/sshenv
}

# hold_login USER: a login that stays while the package changes, its
# input a fifo held open (fd 3 and a sleeper) until release_login.
hold_login() {
	rm -f "$D/fifo"
	mkfifo "$D/fifo"
	timeout -k 2 120 ssh -tt -F /dev/null -p "$P" -i "$D/key" \
	    -o UserKnownHostsFile="$D/known_hosts" \
	    -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes \
	    -o IdentitiesOnly=yes -o LogLevel=ERROR "$1@127.0.0.1" \
	    <"$D/fifo" >"$D/out/$1.tty" 2>&1 &
	held_ssh=$!
	exec 3<>"$D/fifo"
	sleep 120 >"$D/fifo" &
	hold=$!
	rm -f "$D/out/$1.sock"
	echo "printenv SSH_AUTH_SOCK >$D/out/$1.sock" >&3
	wait_for 20 test -s "$D/out/$1.sock"
}

release_login() {
	echo exit >&3
	exec 3>&-
	kill "$hold" 2>/dev/null
	hold=''
	wait "$held_ssh" 2>/dev/null
}

# supervisor_of USER: the pid of the user's supervisor, or nothing.
supervisor_of() {
	pgrep -u "$1" -f "$LIBEXEC/sshenv-supervisor|/usr/bin/../libexec/sshenv/sshenv-supervisor" |
	    head -n 1
}

# An upgrade (here the same package again) stops the supervisors of the
# old files; the next login starts a new one.
test_an_upgrade_stops_the_old_supervisors() {
	need || return
	assertTrue "the package is installed" installed || return
	switch yes
	_u=sshenvdu$$
	mkuser "$_u" /bin/bash
	hold_login "$_u"
	_sv=$(supervisor_of "$_u")
	assertNotEquals "a supervisor for the login: $(cat "$D/out/$_u.tty")" \
	    "" "$_sv"
	dpkg -i "$DEB" >"$D/dpkg.out" 2>&1
	rc=$?
	assertEquals "dpkg -i again: $(cat "$D/dpkg.out")" 0 "$rc"
	assertFalse "the old supervisor stopped" "kill -0 '${_sv:-0}' 2>/dev/null"
	assertEquals "and its agent" "" \
	    "$(pgrep -u "$_u" -f 'sshenv-agent')"
	release_login
	login "$_u"
	got_agent "$_u"
}

test_purge_leaves_nothing() {
	need || return
	assertTrue "the package is installed" installed || return
	switch yes
	_u=sshenvdz$$
	mkuser "$_u" /bin/bash
	dpkg -L sshenv >"$D/files"
	# zsh logins outlive the package with the documented line in place.
	echo "[ -r /etc/profile.d/sshenv.sh ] &&" \
	    "emulate sh -c '. /etc/profile.d/sshenv.sh'" >>"$zprofile"
	hold_login "$_u"
	assertTrue "the open login has the agent: $(cat "$D/out/$_u.tty")" \
	    "pgrep -u '$_u' -f '$LIBEXEC/sshenv-agent' >/dev/null"
	dpkg --purge sshenv >"$D/purge.out" 2>&1
	rc=$?
	assertEquals "dpkg --purge: $(cat "$D/purge.out")" 0 "$rc"
	assertFalse "purged" installed
	# The removal stopped the user's supervisor and agent, at once.
	assertEquals "processes of $_u from the package" "" \
	    "$(pgrep -a -u "$_u" -f "$LIBEXEC/")"
	assertFalse "the environment file went with the agent" \
	    "[ -e '$D/home/$_u/.ssh/environment' ]"
	while read -r _f; do
		[ -d "$_f" ] && continue
		assertFalse "$_f left" "[ -e '$_f' ]"
	done <"$D/files"
	for _d in /usr/libexec/sshenv /usr/share/sshenv /usr/share/doc/sshenv \
	    /etc/sshenv.conf; do
		assertFalse "$_d left" "[ -e '$_d' ]"
	done
	assertEquals "no unit left" "" \
	    "$(find /usr/lib/systemd/user /etc/systemd/user -name 'sshenv*' \
		2>/dev/null)"
	release_login
	for _u in $users; do
		assertEquals "$_u: processes left" "" \
		    "$(pgrep -a -u "$_u" -f 'sshenv-(agent|supervisor)')"
	done
	_z=sshenvdzsh$$
	login "$_z"
	assertTrue "a zsh login after the purge: $(tail -c 600 "$D/out/$_z.tty")" \
	    "[ -f '$D/out/$_z.done' ]"
	assertEquals "it said nothing of sshenv" "" \
	    "$(grep -i 'profile.d/sshenv' "$D/out/$_z.tty" | grep -v printenv)"
	cat "$D/zprofile" >"$zprofile"
}

# Once, in the plain build's pass (the package builds its own binaries);
# the other passes run one test that says so.  The tests in file order.
test_not_in_this_pass() {
	echo "SKIP: the package is built and tried once, in the plain" \
	    "build's pass"
	startSkipping
}

suite() {
	if plain_pass; then
		# shellcheck disable=SC2013 # one name a line
		for _t in $(sed -n 's/^\(test_[a-z_]*\)() {$/\1/p' "$0"); do
			[ "$_t" = test_not_in_this_pass ] || suite_addTest "$_t"
		done
	else
		suite_addTest test_not_in_this_pass
	fi
}

# shellcheck disable=SC1091 # shunit2 is found on PATH
. shunit2
