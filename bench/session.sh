#!/bin/sh
# bench/session.sh BUILD-DIR: what a login shell pays for its agent, sshenv
# beside keychain, timed with BUILD/bench/cmdtime (wall time of fork, exec
# and wait, as the shell pays it).
#
#   warm init   `sshenv init -q` once everything runs, against
#               `keychain --eval --quiet` once its ssh-agent runs (no keys);
#   warm env    `sshenv env`;
#   all users   `sshenv init --all-users`, what the system-wide login
#               files run, with [login] all_users on and off;
#   cold start  from nothing running to an agent that answers: `sshenv
#               init` then `ssh-add -l`, each run after `sshenv stop` and
#               after the supervisor and agent are gone; the same for
#               keychain after its ssh-agent was killed (by its pid: never
#               `keychain -k all`, which kills every agent of the user);
#   memory      VmRSS of the supervisor and the agent after the warm runs,
#               beside keychain's ssh-agent.
# It checks the targets of the issue: warm init at least 20x faster than
# keychain and under 5 ms (median).
#
# Everything runs in a fresh HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME and
# TMPDIR under one temp dir, in a session of its own (setsid), with
# [session] linger = 1.  Every process started is stopped on exit, the temp
# dir removed.  Raw result lines are kept in BUILD/bench-session-last.txt.
#
# Environment:
#   SESSION_RUNS           timed warm sshenv runs (default 300)
#   SESSION_KEYCHAIN_RUNS  timed warm keychain runs (default 50)
#   SESSION_COLD_RUNS      timed cold starts of each (default 10)
#
# Exit codes: 0 done (keychain may be n/a; targets missed are reported, not
# failed), 1 sshenv could not be measured or left something behind, 2 a
# tool is missing, 64 bad command line.
set -u

# ---- helpers usable from cmdtime's prepare step ---------------------------

# alive PID: the process exists and is not a zombie (an orphan's zombie
# waits for PID 1, which may reap late).
alive() {
	[ -r "/proc/$1/status" ] &&
	    ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# wait_gone SECS PID...: 0 once none of them is alive, 1 at the deadline.
wait_gone() {
	wg_n=$(($1 * 20))
	shift
	while [ "$wg_n" -gt 0 ]; do
		wg_left=""
		for wg_p in "$@"; do
			alive "$wg_p" && wg_left="$wg_left $wg_p"
		done
		[ -z "$wg_left" ] && return 0
		sleep 0.05
		wg_n=$((wg_n - 1))
	done
	return 1
}

# json_num KEY: a number from `sshenv status --json` on stdin.
json_num() {
	sed -n "s/.*\"$1\": \\([0-9][0-9]*\\).*/\\1/p"
}

# Our live processes: the agents and clients whose environment has our
# HOME (the supervisor and agent inherit it from the first `sshenv init`).
our_pids() {
	for op in $(pgrep -x 'sshenv|ssh-agent|ssh-add|keychain'); do
		alive "$op" || continue
		grep -qxzF "HOME=$HOME" "/proc/$op/environ" 2>/dev/null &&
		    echo "$op"
	done
}

# Stops sshenv and waits, at most 10 s, until its supervisor and agent are
# gone: `sshenv stop` returns when the control socket is removed, which is
# before the processes have exited.
stop_sshenv() {
	st=$("$BENCH_SSHENV" status --json 2>/dev/null)
	sp=$(echo "$st" | json_num supervisor_pid)
	ap=$(echo "$st" | json_num agent_pid)
	[ -z "$sp" ] && return 0
	"$BENCH_SSHENV" stop -q >/dev/null 2>&1
	# shellcheck disable=SC2086	# the pids, one word each
	wait_gone 10 $sp $ap
}

# keychain's agent, from the file it keeps.
keychain_pid() {
	sed -n 's/^SSH_AGENT_PID=\([0-9][0-9]*\).*/\1/p' \
	    "$HOME"/.keychain/*-sh 2>/dev/null | head -n 1
}

stop_keychain() {
	kp=$(keychain_pid)
	[ -z "$kp" ] && return 0
	kill "$kp" 2>/dev/null
	wait_gone 10 "$kp"
}

case ${1:-} in
--stop-sshenv)
	stop_sshenv
	exit
	;;
--stop-keychain)
	stop_keychain
	exit
	;;
esac

# ---- set-up -----------------------------------------------------------------

if [ $# -gt 1 ]; then
	echo "usage: bench/session.sh [build-dir]" >&2
	exit 64
fi
build=${1:-build}
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
warm_runs=${SESSION_RUNS:-300}
kc_runs=${SESSION_KEYCHAIN_RUNS:-50}
cold_runs=${SESSION_COLD_RUNS:-10}

# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

# A session of our own: what `sshenv init` registers is ours alone, and
# it ends with us.  setsid forks only when we lead a process group (run
# from an interactive shell); -w then waits and passes our exit status on.
if [ "${SSHENV_BENCH_SESSION:-}" != 1 ]; then
	SSHENV_BENCH_SESSION=1 exec setsid -w sh "$self" "$@"
fi
unset SSHENV_BENCH_SESSION
# Our session has no terminal, so ^C does not reach us: we stop when the
# process that started us goes.
parent=$PPID
check_parent() {
	now=$(sed 's/.*) //' "/proc/$$/stat" | cut -d ' ' -f 2)
	if [ "$now" != "$parent" ]; then
		log "the process that started us has gone: stopping"
		exit 130
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sshenv-sess.XXXXXX") || exit 2
mkdir -m 700 "$tmp/home" "$tmp/run" "$tmp/config" "$tmp/config/sshenv" \
    "$tmp/tmp" || exit 2
printf '[session]\nlinger = 1\n' >"$tmp/config/sshenv/config"
export HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" \
    XDG_CONFIG_HOME="$tmp/config" TMPDIR="$tmp/tmp" BENCH_SSHENV="$sshenv"
# Nothing inherited may point either tool at another agent.
unset SSH_AUTH_SOCK SSH_AGENT_PID SSH_CONNECTION SSH_CLIENT DISPLAY \
    SSH_ASKPASS GPG_AGENT_INFO
export SSH_ASKPASS_REQUIRE=never
rundir=$XDG_RUNTIME_DIR/sshenv
results=$tmp/results
: >"$results"
status=0

# shellcheck disable=SC2317
cleanup() {
	stop_sshenv || log "sshenv did not stop within 10 s"
	stop_keychain || log "keychain's ssh-agent did not stop within 10 s"
	left=$(our_pids)
	if [ -n "$left" ]; then
		log "killing what is left: $(echo "$left" | tr '\n' ' ')"
		# shellcheck disable=SC2086
		kill $left 2>/dev/null
		# shellcheck disable=SC2086
		wait_gone 3 $left || kill -9 $left 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

rss_kib() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null
}

hwm_kib() {
	awk '$1 == "VmHWM:" { print $2 }' "/proc/$1/status" 2>/dev/null
}

# measure ID CMDTIME-ARGS...: one cmdtime line into $results as "ID ...",
# or "ID na" if cmdtime could not run the command at all.
measure() {
	mid=$1
	shift
	check_parent
	out=$("$cmdtime" "$@" 2>"$tmp/cmdtime.err")
	rc=$?
	if [ $rc -gt 1 ] || [ -z "$out" ]; then
		log "$mid: no result: $(cat "$tmp/cmdtime.err")"
		echo "$mid na" >>"$results"
		return 1
	fi
	[ $rc = 1 ] && log "$mid: some runs failed: $(sort -u \
	    "$tmp/cmdtime.err")"
	echo "$mid $out" >>"$results"
	log "$mid: $out"
}

# An agent answers on SSH_AUTH_SOCK: ssh-add -l says 0 (keys) or 1 (none).
answers() {
	timeout 10 ssh-add -l >/dev/null 2>&1 </dev/null
	[ $? -le 1 ]
}

# What the shell of a login runs, timed as a whole by the cold starts.
# shellcheck disable=SC2016	# expanded by that sh
login_sshenv='out=$("$0" init -q) || exit 2; eval "$out"
ssh-add -l >/dev/null 2>&1; [ $? -le 1 ]'
# shellcheck disable=SC2016
login_keychain='out=$(keychain --eval --quiet) || exit 2; eval "$out"
ssh-add -l >/dev/null 2>&1; [ $? -le 1 ]'
# The same with bench/askids, which asks what ssh-add -l asks without
# ssh-add's own start: sshenv's share of a cold start.
askids=$(cd "$(dirname "$cmdtime")" && pwd)/askids
# shellcheck disable=SC2016
login_sshenv_ask='out=$("$0" init -q) || exit 2; eval "$out"; exec "$1"'

measure floor -n 200 -w 5 -- true

# ---- sshenv, warm -------------------------------------------------------------

log "sshenv: warm init and env ($warm_runs runs each)"
sshenv_ok=0
if out=$(timeout 30 "$sshenv" init -q 2>"$tmp/init.err") &&
    eval "$out" && answers; then
	sshenv_ok=1
else
	log "sshenv init did not give a usable agent:" \
	    "$(cat "$tmp/init.err")"
	status=1
fi
# A new login has no SSH_AUTH_SOCK yet.
unset SSH_AUTH_SOCK SSH_AGENT_PID
if [ $sshenv_ok = 1 ]; then
	measure init-warm -n "$warm_runs" -w 10 -t 30 -- "$sshenv" init -q
	measure env-warm -n "$warm_runs" -w 10 -t 30 -- "$sshenv" env
	# What the system-wide login files run for every user: init
	# --all-users, with the switch on, then off (the user's file wins).
	printf '[login]\nall_users = yes\n' >>"$tmp/config/sshenv/config"
	measure allusers-on -n "$warm_runs" -w 10 -t 30 -- "$sshenv" init \
	    --all-users
	printf 'all_users = no\n' >>"$tmp/config/sshenv/config"
	measure allusers-off -n "$warm_runs" -w 10 -t 30 -- "$sshenv" init \
	    --all-users
	printf '[session]\nlinger = 1\n' >"$tmp/config/sshenv/config"
	st=$("$sshenv" status --json 2>/dev/null)
	sp=$(echo "$st" | json_num supervisor_pid)
	ap=$(echo "$st" | json_num agent_pid)
	echo "mem sshenv-supervisor rss_kib=$(rss_kib "$sp")" \
	    "hwm_kib=$(hwm_kib "$sp")" >>"$results"
	echo "mem sshenv-agent rss_kib=$(rss_kib "$ap")" \
	    "hwm_kib=$(hwm_kib "$ap")" >>"$results"
fi

# ---- keychain, warm -----------------------------------------------------------

kc_ok=0
if ! command -v keychain >/dev/null 2>&1; then
	log "keychain is not installed: its columns are n/a"
elif out=$(timeout 30 keychain --eval --quiet 2>"$tmp/kc.err") &&
    eval "$out" && answers; then
	kc_ok=1
else
	log "keychain did not give a usable agent: $(cat "$tmp/kc.err")"
fi
unset SSH_AUTH_SOCK SSH_AGENT_PID
if [ $kc_ok = 1 ]; then
	log "keychain: warm runs ($kc_runs)"
	measure keychain-warm -n "$kc_runs" -w 3 -t 30 -- \
	    keychain --eval --quiet
	kp=$(keychain_pid)
	echo "mem keychain-ssh-agent rss_kib=$(rss_kib "$kp")" \
	    "hwm_kib=$(hwm_kib "$kp")" >>"$results"
fi

# ---- cold starts --------------------------------------------------------------

if [ $sshenv_ok = 1 ]; then
	log "sshenv: cold starts ($cold_runs)"
	measure init-cold -n "$cold_runs" -w 1 -t 30 \
	    -b "sh '$self' --stop-sshenv" -- sh -c "$login_sshenv" "$sshenv"
	measure init-cold-ask -n "$cold_runs" -w 1 -t 30 \
	    -b "sh '$self' --stop-sshenv" -- sh -c "$login_sshenv_ask" \
	    "$sshenv" "$askids"
	# What ssh-add -l alone costs (in its sh -c), the agent running.
	out=$("$sshenv" init -q) && eval "$out"
	measure sshadd-warm -n 50 -w 3 -t 30 -- sh -c \
	    'ssh-add -l >/dev/null 2>&1; [ $? -le 1 ]'
	unset SSH_AUTH_SOCK SSH_AGENT_PID
fi
if [ $kc_ok = 1 ]; then
	log "keychain: cold starts ($cold_runs)"
	measure keychain-cold -n "$cold_runs" -w 1 -t 30 \
	    -b "sh '$self' --stop-keychain" -- sh -c "$login_keychain"
fi

# ---- after `sshenv stop`, nothing of sshenv may be left ------------------------

check_parent
if [ $sshenv_ok = 1 ]; then
	stop_sshenv || log "sshenv: supervisor or agent still alive 10 s" \
	    "after 'sshenv stop'"
	left=""
	for p in $(our_pids); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sshenv ] &&
		    left="$left pid:$p"
	done
	for f in "$rundir"/* "$HOME/.ssh/environment"; do
		[ -e "$f" ] || continue
		case ${f##*/} in daemon.lock | start.lock) continue ;; esac
		left="$left $f"
	done
	# shellcheck disable=SC2086	# one word per thing left
	set -- $left
	echo "after-stop left=$#" >>"$results"
	if [ -n "$left" ]; then
		log "left behind after 'sshenv stop':$left"
		status=1
	fi
fi
cp "$results" "$build/bench-session-last.txt" 2>/dev/null

# ---- the report ----------------------------------------------------------------

awk -v warm="$warm_runs" -v kcr="$kc_runs" -v cold="$cold_runs" '
function has(id) {
	return (id, "median_us") in v
}
function ms(us) {
	us /= 1000
	if (us < 10)
		return sprintf("%.2f ms", us)
	if (us < 100)
		return sprintf("%.1f ms", us)
	return sprintf("%.0f ms", us)
}
function cell(id) {
	if (!has(id))
		return "n/a"
	return ms(v[id, "median_us"]) " / " ms(v[id, "p90_us"]) \
	    (v[id, "failed"] > 0 ? "!" : "")
}
function ratio(a, b) {
	if (!has(a) || !has(b) || v[b, "median_us"] == 0)
		return "n/a"
	return sprintf("%.1fx", v[a, "median_us"] / v[b, "median_us"])
}
function mib(id) {
	if (!((id, "rss_kib") in v) || v[id, "rss_kib"] == "")
		return "n/a"
	return sprintf("%.1f MiB", v[id, "rss_kib"] / 1024)
}
$2 == "na" {
	next
}
$1 == "mem" {
	for (i = 3; i <= NF; i++) {
		eq = index($i, "=")
		v[$2, substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	next
}
{
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		# A number: substr() gives a string, which compares as one
		# ("889" > "5000").
		v[$1, substr($i, 1, eq - 1)] = substr($i, eq + 1) + 0
	}
}
END {
	printf "\nlogin cost: sshenv vs keychain, wall time median / p90 " \
	    "(fork+exec+wait)\n\n"
	printf "%-34s %21s %21s %9s\n", "", "sshenv", "keychain",
	    "keychain/"
	printf "%-34s %21s %21s %9s\n", "", "", "", "sshenv"
	printf "%-34s %21s %21s %9s\n", "warm init (" warm "/" kcr " runs)",
	    cell("init-warm"), cell("keychain-warm"),
	    ratio("keychain-warm", "init-warm")
	printf "%-34s %21s %21s %9s\n", "warm sshenv env (" warm " runs)",
	    cell("env-warm"), "", ratio("keychain-warm", "env-warm")
	printf "%-34s %21s %21s %9s\n", "all users on (init --all-users)",
	    cell("allusers-on"), "",
	    ratio("keychain-warm", "allusers-on")
	printf "%-34s %21s %21s %9s\n", "all users off (the same)",
	    cell("allusers-off"), "", ratio("keychain-warm", "allusers-off")
	printf "%-34s %21s %21s %9s\n", "cold start, answering (" cold \
	    " runs)", cell("init-cold"), cell("keychain-cold"),
	    ratio("keychain-cold", "init-cold")
	printf "%-34s %21s\n", "cold start, answering askids",
	    cell("init-cold-ask")
	printf "%-34s %21s\n", "sh -c ssh-add -l alone, warm",
	    cell("sshadd-warm")
	printf "%-34s %21s\n", "floor: fork+exec of true", cell("floor")
	printf "  (cold: init or keychain, eval, ssh-add -l in one sh -c, " \
	    "from nothing running)\n"
	if (v["init-warm", "failed"] + v["env-warm", "failed"] + \
	    v["init-cold", "failed"] + v["init-cold-ask", "failed"] + \
	    v["sshadd-warm", "failed"] + v["keychain-warm", "failed"] + \
	    v["keychain-cold", "failed"] > 0)
		printf "  ! = some runs failed (exit status not 0)\n"

	printf "\n%-34s %12s %12s\n", "memory after the warm runs", "VmRSS",
	    "VmHWM"
	printf "%-34s %12s %12s\n", "sshenv supervisor",
	    mib("sshenv-supervisor"),
	    (("sshenv-supervisor", "hwm_kib") in v ? sprintf("%.1f MiB",
	    v["sshenv-supervisor", "hwm_kib"] / 1024) : "n/a")
	printf "%-34s %12s %12s\n", "sshenv agent", mib("sshenv-agent"),
	    (("sshenv-agent", "hwm_kib") in v ? sprintf("%.1f MiB",
	    v["sshenv-agent", "hwm_kib"] / 1024) : "n/a")
	if (("sshenv-supervisor", "rss_kib") in v &&
	    ("sshenv-agent", "rss_kib") in v)
		printf "%-34s %12s\n", "sshenv total", sprintf("%.1f MiB",
		    (v["sshenv-supervisor", "rss_kib"] + \
		    v["sshenv-agent", "rss_kib"]) / 1024)
	printf "%-34s %12s %12s\n", "ssh-agent of keychain",
	    mib("keychain-ssh-agent"),
	    (("keychain-ssh-agent", "hwm_kib") in v ? sprintf("%.1f MiB",
	    v["keychain-ssh-agent", "hwm_kib"] / 1024) : "n/a")

	printf "\ntargets (issue): "
	if (!has("init-warm") || !has("keychain-warm")) {
		printf "warm init vs keychain: not measured\n"
	} else {
		r = v["keychain-warm", "median_us"] / v["init-warm", "median_us"]
		printf "warm init >= 20x faster than keychain: %s (%.1fx)\n",
		    (r >= 20 ? "MET" : "NOT MET"), r
	}
	if (has("init-warm"))
		printf "                 warm init median < 5 ms: %s (%s)\n",
		    (v["init-warm", "median_us"] < 5000 ? "MET" : "NOT MET"),
		    ms(v["init-warm", "median_us"])
	# Issue 9, for a shared jump host.
	if (has("init-warm") && has("keychain-warm"))
		printf "  issue 9: warm init <= 1.0 ms and >= 30x keychain: " \
		    "%s (%s, %.1fx)\n", (v["init-warm", "median_us"] <= 1000 &&
		    r >= 30 ? "MET" : "NOT MET"),
		    ms(v["init-warm", "median_us"]), r
	if (has("init-cold"))
		printf "  issue 9: cold start to an answer <= 6 ms: %s " \
		    "(%s with ssh-add -l, %s with askids)\n",
		    (v["init-cold", "median_us"] <= 6000 ? "MET" : "NOT MET"),
		    ms(v["init-cold", "median_us"]),
		    (has("init-cold-ask") ? ms(v["init-cold-ask", \
		    "median_us"]) : "n/a")
	if (("after-stop", "left") in v && v["after-stop", "left"] == 0)
		printf "after sshenv stop: nothing left (only the two lock " \
		    "files)\n"
	else if (("after-stop", "left") in v)
		printf "after sshenv stop: %d things left: see above\n",
		    v["after-stop", "left"]
}' "$results"
exit $status
