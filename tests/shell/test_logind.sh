#!/bin/sh
# [session] on_suspend and on_screen_lock: the supervisor listens to
# logind on the system bus.  Here the bus is a private dbus-daemon the
# test starts (DBUS_SYSTEM_BUS_ADDRESS points the supervisor at it), on
# which a stand-in owns org.freedesktop.login1 and emits
# PrepareForSleep and Lock with logind's paths, interfaces and
# arguments (tests/shell/fake_logind.py).  Suspend forgets the keys;
# another user's session lock is ignored, the user's own forgets them,
# or locks them until the next `sshenv init`; with no logind on the bus,
# or no bus, status says so and logins work.  Needs dbus-daemon and
# python3-dbus; the portable build has no sd-bus and says so.

# shellcheck source=tests/shell/login.inc
. "$(dirname "$0")/login.inc"

fake=''
bus=''

setUp() {
	lib_setUp || return
	cat >"$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
EOF
	export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/bus.sock"
	lib_key k1
}

tearDown() {
	[ -n "$fake" ] && kill "$fake" 2>/dev/null
	[ -n "$bus" ] && kill "$bus" 2>/dev/null
	fake='' bus=''
	unset DBUS_SYSTEM_BUS_ADDRESS
	lib_tearDown
}

need() {
	if ! command -v dbus-daemon >/dev/null ||
	    ! "$PY" -c 'import dbus, dbus.mainloop.glib, gi' 2>/dev/null; then
		echo "SKIP: needs dbus-daemon and python3-dbus"
		startSkipping
		return 1
	fi
	return 0
}

start_bus() {
	dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile \
	    </dev/null >"$T/bus.out" 2>&1 &
	bus=$!
	lib_wait 10 test -S "$T/bus.sock"
}

# start_logind: the stand-in, taking commands from the fifo $T/cmd.
start_logind() {
	mkfifo "$T/cmd"
	"$PY" "$lib_top/tests/shell/fake_logind.py" "$(id -u)" "$T/ready" \
	    <>"$T/cmd" >"$T/logind.out" 2>&1 &
	fake=$!
	lib_wait 10 test -f "$T/ready"
}

say_logind() {
	echo "$1" >>"$T/cmd"
}

# status_logind: status's logind line.
status_logind() {
	sshenv status 2>/dev/null | sed -n 's/^logind: //p'
}

built_with_sdbus() {
	case $(status_logind) in
	*"built without sd-bus"*)
		echo "SKIP: built without sd-bus (the portable build)"
		startSkipping
		return 1 ;;
	esac
	return 0
}

# A login with k1 loaded, the supervisor listening (on a logind there).
login_with_key() {
	lib_login_init a || return 1
	assertEquals "init: $(cat "$T/a.ierr")" 0 "$rc" || return 1
	lib_sa "$HOME/.ssh/k1"
	assertEquals "ssh-add: $out" 0 "$rc" || return 1
	built_with_sdbus || return 1
	assertTrue "status: $(status_logind)" 'lib_wait 10 listening'
}

listening() {
	[ "$(status_logind)" = "listening to systemd-logind" ]
}

no_logind() {
	[ "$(status_logind)" = "listening, but systemd-logind does not run" ]
}

has_key() {
	lib_sa -l
	[ "$rc" -eq 0 ]
}

no_key() {
	lib_sa -l
	[ "$rc" -eq 1 ]
}

# last_was TEXT: status tells the last event as TEXT.
last_was() {
	case $(status_logind) in
	*"last: $1"*) return 0 ;;
	esac
	return 1
}

test_suspend_forgets_the_keys() {
	need || return
	lib_config '[session]' 'linger = 1' 'on_suspend = forget'
	start_bus && start_logind || { fail "no bus or logind stand-in"; return; }
	login_with_key || return 0
	say_logind wake
	say_logind sleep
	assertTrue "the keys are gone after PrepareForSleep(true)" \
	    'lib_wait 10 no_key'
	assertTrue "status tells it: $(status_logind)" \
	    'last_was "suspend: keys forgotten"'
	# The agent goes on: a key added after the resume stays.
	lib_sa "$HOME/.ssh/k1"
	assertEquals "ssh-add after: $out" 0 "$rc"
}

test_only_the_users_own_screen_lock_counts() {
	need || return
	lib_config '[session]' 'linger = 1' 'on_screen_lock = forget'
	start_bus && start_logind || { fail "no bus or logind stand-in"; return; }
	login_with_key || return 0
	say_logind 'lock other'
	assertTrue "another user's lock is looked into and ignored: \
$(status_logind)" 'lib_wait 10 last_was "another user'"'"'s session lock: ignored"'
	assertTrue "logind was asked whose session it is: $(cat "$T/logind.out")" \
	    "grep -q 'Get /org/freedesktop/login1/session/other' '$T/logind.out'"
	assertTrue "the keys stay" has_key
	say_logind 'lock mine'
	assertTrue "the user's own lock forgets them" 'lib_wait 10 no_key'
	assertTrue "status: $(status_logind)" \
	    'last_was "screen lock: keys forgotten"'
}

test_screen_lock_locks_until_the_next_init() {
	need || return
	lib_config '[session]' 'linger = 1' 'on_screen_lock = lock'
	start_bus && start_logind || { fail "no bus or logind stand-in"; return; }
	login_with_key || return 0
	say_logind 'lock mine'
	assertTrue "locked: nothing listed" 'lib_wait 10 no_key'
	assertTrue "status says locked: $(sshenv status 2>&1)" \
	    "sshenv status | grep -q 'keys hidden (locked)'"
	# Not opened again by itself, though the login is there.
	lib_sa -T "$HOME/.ssh/k1.pub"
	assertNotEquals "no signature while locked" 0 "$rc"
	lib_login_init b
	assertEquals "the next init: $(cat "$T/b.ierr")" 0 "$rc"
	assertTrue "the key is back" 'lib_wait 10 has_key'
}

test_without_logind_or_a_bus_logins_work_and_status_says_so() {
	need || return
	lib_config '[session]' 'linger = 1' 'on_suspend = forget'
	start_bus || { fail "no bus"; return; }
	lib_login_init a
	assertEquals "init without logind: $(cat "$T/a.ierr")" 0 "$rc"
	built_with_sdbus || return 0
	assertTrue "status: $(status_logind)" 'lib_wait 10 no_logind'
	sshenv status >/dev/null
	sshenv stop -q >/dev/null 2>&1
	lib_wait 10 lib_none_left
	export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/no-such-bus"
	lib_login_init b
	assertEquals "init without a bus: $(cat "$T/b.ierr")" 0 "$rc"
	assertTrue "the agent answers" lib_answers
	case $(status_logind) in
	"not listening: no system bus"*) ok=1 ;;
	*) ok=0 ;;
	esac
	assertEquals "status: $(status_logind)" 1 "$ok"
}

# A signal sent to the supervisor's own connection passes no match rule
# (anyone on the bus may send one): it is not logind's, and ignored.
test_a_signal_sent_to_the_supervisor_alone_is_ignored() {
	need || return
	lib_config '[session]' 'linger = 1' 'on_suspend = forget' \
	    'on_screen_lock = forget'
	start_bus && start_logind || { fail "no bus or logind stand-in"; return; }
	login_with_key || return 0
	spid=$(lib_status supervisor_pid)
	# The supervisor's unique name on the bus, by its pid.
	name=$("$PY" - "$spid" <<'EOF'
import dbus, os, sys
bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
d = bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus")
for n in d.ListNames(dbus_interface="org.freedesktop.DBus"):
    if n.startswith(":"):
        try:
            p = d.GetConnectionUnixProcessID(n,
                dbus_interface="org.freedesktop.DBus")
        except dbus.exceptions.DBusException:
            continue
        if int(p) == int(sys.argv[1]):
            print(n)
EOF
)
	assertNotEquals "the supervisor is on the bus" "" "$name"
	dbus-send --bus="$DBUS_SYSTEM_BUS_ADDRESS" --type=signal \
	    --dest="$name" /org/freedesktop/login1 \
	    org.freedesktop.login1.Manager.PrepareForSleep boolean:true
	assertTrue "ignored: $(status_logind)" \
	    'lib_wait 10 last_was "a signal sent to this supervisor alone"'
	assertTrue "the keys stay" has_key
	dbus-send --bus="$DBUS_SYSTEM_BUS_ADDRESS" --type=signal \
	    --dest="$name" /org/freedesktop/login1/session/mine \
	    org.freedesktop.login1.Session.Lock
	say_logind 'lock other'
	assertTrue "logind's own comes after: $(status_logind)" \
	    'lib_wait 10 last_was "another user"'
	assertTrue "the keys stay" has_key
}

# shellcheck disable=SC1091 # shunit2 is found on PATH
. shunit2
