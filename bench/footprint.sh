#!/bin/sh
# bench/footprint.sh BUILD-DIR: what sshenv costs a shared jump host, beside
# OpenSSH's ssh-agent, in one run.
#
#   one user     private memory (Private_Clean + Private_Dirty of
#                /proc/PID/smaps_rollup) of sshenv's supervisor and agent
#                together, against ssh-agent alone; with no keys and with
#                100 ed25519 keys; the ratio (goal: at most 1.0);
#   200 users    200 independent users (each a HOME and a runtime dir of
#                its own, as many accounts would have), each with `sshenv
#                init` run once: the total and per-user private memory of
#                the 400 daemons, against 200 ssh-agents; then the warm
#                `sshenv init` median of one of them at that scale.
#
# Private memory is what each process adds to the machine: a page mapped
# by one process only (its binary's text while it runs alone, its heap)
# counts, pages shared with others do not.  So the one-user rows charge
# each side its whole binary, and the 200-user rows show what scale
# shares.
#
# Environment:
#   FOOTPRINT_USERS   users in the scale run (default 200)
#   FOOTPRINT_RUNS    timed warm inits at that scale (default 200)
#
# Every process started is stopped on exit and the temp dir removed.  Raw
# lines are kept in BUILD/bench-footprint-last.txt.  Exit codes: 0 done
# (goals missed are reported, not failed), 1 sshenv could not be measured,
# 2 a tool is missing, 64 bad command line.
set -u

if [ $# -ne 1 ]; then
	echo "usage: bench/footprint.sh build-dir" >&2
	exit 64
fi
build=$1
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
users=${FOOTPRINT_USERS:-200}
runs=${FOOTPRINT_RUNS:-200}
if ! command -v ssh-agent >/dev/null 2>&1; then
	log "ssh-agent is needed (openssh-client)"
	exit 2
fi

tmp=$(mktemp -d /tmp/sshenv-fp.XXXXXX) || exit 2
results=$tmp/results
: >"$results"
agents=""	# ssh-agent pids to stop
homes=""	# sshenv users to stop
export SSH_ASKPASS_REQUIRE=never
unset DISPLAY SSH_ASKPASS SSH_AUTH_SOCK SSH_AGENT_PID

cleanup() {
	for h in $homes; do
		HOME=$h/home XDG_RUNTIME_DIR=$h/run XDG_CONFIG_HOME=$h/cfg \
		    timeout -k 2 10 "$sshenv" stop -q >/dev/null 2>&1
	done
	for p in $agents; do
		kill "$p" 2>/dev/null
	done
	cp "$results" "$build/bench-footprint-last.txt" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# private_kib PID...: Private_Clean + Private_Dirty of them all, in KiB.
private_kib() {
	for p in "$@"; do
		cat "/proc/$p/smaps_rollup" 2>/dev/null
	done | awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }'
}

# new_user DIR: a HOME, runtime dir and config for one user; the agent is
# kept after the init exits (no session stays open in a benchmark).
new_user() {
	mkdir -p "$1/home" "$1/run" "$1/cfg/sshenv" || return 1
	chmod 0700 "$1/run"
	printf '[session]\non_last_logout = keep\n[files]\n' \
	    >"$1/cfg/sshenv/config"
	printf 'write_environment = no\n' >>"$1/cfg/sshenv/config"
	homes="$homes $1"
}

# as_user DIR CMD...: CMD in that user's environment.
as_user() {
	_d=$1
	shift
	HOME=$_d/home XDG_RUNTIME_DIR=$_d/run XDG_CONFIG_HOME=$_d/cfg \
	    SHELL=/bin/sh "$@"
}

# sshenv_pids DIR: the supervisor's and the agent's pids of that user.
sshenv_pids() {
	echo "$(cat "$1/run/sshenv/daemon.pid" 2>/dev/null)" \
	    "$(cat "$1/run/sshenv/agent.pid" 2>/dev/null)"
}

# start_ssh_agent SOCK: sets ssh_agent_pid.
start_ssh_agent() {
	ssh-agent -D -a "$1" >/dev/null 2>&1 </dev/null &
	ssh_agent_pid=$!
	agents="$agents $ssh_agent_pid"
	_n=100
	while [ ! -S "$1" ] && [ $_n -gt 0 ]; do
		sleep 0.02
		_n=$((_n - 1))
	done
	[ -S "$1" ]
}

# Keys: the 100 ed25519 keys make bench/run.sh keeps, or our own.
keydir=$build/bench-keys/ed25519-256
if [ ! -f "$keydir/k099" ]; then
	keydir=$tmp/keys
	mkdir -p "$keydir"
	i=0
	while [ $i -lt 100 ]; do
		ssh-keygen -q -t ed25519 -N '' -C "fp$i" \
		    -f "$keydir/k$(printf %03d $i)" </dev/null || exit 2
		i=$((i + 1))
	done
fi

# load SOCK: the 100 keys.
load() {
	SSH_AUTH_SOCK=$1 ssh-add -q "$keydir"/k[0-9][0-9][0-9] \
	    </dev/null >/dev/null 2>&1
}

# ---- one user ---------------------------------------------------------

log "footprint: one user"
start_ssh_agent "$tmp/ssh-agent.sock" || { log "ssh-agent did not start"; exit 1; }
sleep 0.2
echo "one-idle ssh-agent kib=$(private_kib "$ssh_agent_pid")" >>"$results"
u=$tmp/one
new_user "$u"
as_user "$u" setsid "$sshenv" init -q -s >/dev/null 2>&1 </dev/null
set -- $(sshenv_pids "$u")
if [ $# -ne 2 ]; then
	log "sshenv did not start"
	exit 1
fi
sleep 0.2
echo "one-idle sshenv kib=$(private_kib "$1" "$2")" >>"$results"
echo "one-idle sshenv-supervisor kib=$(private_kib "$1")" >>"$results"
echo "one-idle sshenv-agent kib=$(private_kib "$2")" >>"$results"
if load "$tmp/ssh-agent.sock" && load "$u/run/sshenv/agent.sock"; then
	sleep 0.2
	echo "one-keys ssh-agent kib=$(private_kib "$ssh_agent_pid")" \
	    >>"$results"
	echo "one-keys sshenv kib=$(private_kib "$1" "$2")" >>"$results"
else
	log "the 100 keys did not load"
fi
kill "$ssh_agent_pid" 2>/dev/null
as_user "$u" timeout -k 2 10 "$sshenv" stop -q >/dev/null 2>&1

# ---- many users -------------------------------------------------------

log "footprint: $users users"
pids=""
spids=""
i=0
while [ $i -lt "$users" ]; do
	u=$tmp/u$i
	new_user "$u"
	as_user "$u" setsid "$sshenv" init -q -s >/dev/null 2>&1 </dev/null
	pids="$pids $(sshenv_pids "$u")"
	start_ssh_agent "$tmp/a$i.sock" || break
	spids="$spids $ssh_agent_pid"
	i=$((i + 1))
done
sleep 0.5
# shellcheck disable=SC2086 # lists of pids
{
	echo "many sshenv n=$(echo $pids | wc -w) kib=$(private_kib $pids)"
	echo "many ssh-agent n=$(echo $spids | wc -w) kib=$(private_kib $spids)"
} >>"$results"
u=$tmp/u$((users / 2))
# shellcheck disable=SC2046 # the timing line's words
as_user "$u" "$cmdtime" -n "$runs" -w 5 -t 10 -- \
    "$sshenv" init -q -s >"$tmp/init.out" 2>/dev/null
echo "many-init sshenv $(cat "$tmp/init.out")" >>"$results"

# ---- report -----------------------------------------------------------

awk -v users="$users" '
function val(line, key,   i, n, f) {
	n = split(line, f, " ")
	for (i = 1; i <= n; i++)
		if (index(f[i], key "=") == 1)
			return substr(f[i], length(key) + 2)
	return ""
}
{ v[$1, $2] = $0 }
function row(label, id,   a, b) {
	a = val(v[id, "ssh-agent"], "kib")
	b = val(v[id, "sshenv"], "kib")
	if (a == "" || b == "")
		printf "%-40s %12s %12s %8s\n", label, "n/a", "n/a", ""
	else
		printf "%-40s %9d kB %9d kB %7.2fx\n", label, a, b, b / a
}
END {
	printf "\n%-40s %12s %12s %8s\n", "private memory (smaps_rollup)",
	    "ssh-agent", "sshenv", "ratio"
	row("one user, no keys (sshenv: sup.+agent)", "one-idle")
	row("one user, 100 ed25519 keys", "one-keys")
	printf "%-40s %12s %9d kB\n", "  of which the supervisor", "",
	    val(v["one-idle", "sshenv-supervisor"], "kib")
	printf "%-40s %12s %9d kB\n", "  of which the agent", "",
	    val(v["one-idle", "sshenv-agent"], "kib")
	a = val(v["many", "ssh-agent"], "kib")
	b = val(v["many", "sshenv"], "kib")
	na = val(v["many", "ssh-agent"], "n")
	nb = val(v["many", "sshenv"], "n")
	printf "%-40s %9d kB %9d kB %7.2fx\n", users " users, total", a, b,
	    (a > 0 ? b / a : 0)
	printf "%-40s %9d kB %9d kB\n", "  per user", na ? a / na : 0,
	    nb ? b / (nb / 2) : 0
	printf "  (%d ssh-agents; %d sshenv daemons)\n", na, nb
	m = val(v["many-init", "sshenv"], "median_us")
	printf "%-40s %12s %9.2f ms\n", "warm sshenv init at that scale",
	    "", m / 1000
	ok = val(v["one-idle", "sshenv"], "kib") <= \
	    val(v["one-idle", "ssh-agent"], "kib") && \
	    val(v["one-keys", "sshenv"], "kib") <= \
	    val(v["one-keys", "ssh-agent"], "kib")
	printf "goal (sshenv at most ssh-agent, both rows): %s\n",
	    ok ? "met" : "MISSED"
}' "$results"
exit 0
