#!/bin/sh
# bench/cycles.sh BUILD-DIR [N]: N login/logout cycles (default 1000), then
# a check that the last logout took everything with it.
#
# Each cycle is a new session, timed as a whole with BUILD/bench/cmdtime:
#   setsid sh -c 'eval "$(sshenv init -q)"; ssh-add -l; sshenv logout'
# With [session] linger = 1 (the default here) the cycles of one group
# reuse the supervisor that the first of them started; between groups the
# script waits until the supervisor and agent have gone, so every group
# starts from nothing.  After the last cycle, and the linger time, nothing
# may be left: no sshenv process started for this runtime dir, no socket,
# no pid file, no sessions file, no ~/.ssh/environment; only the two lock
# files daemon.lock and start.lock stay, by design.
#
# Environment:
#   CYCLES_LINGER  [session] linger in seconds (default 1; 0 makes every
#                  cycle start from nothing)
#   CYCLES_GROUP   cycles per group (default 20)
#
# Runs in a fresh HOME, XDG_RUNTIME_DIR and XDG_CONFIG_HOME under one temp
# dir, removed on exit with anything still running.  Progress goes to
# stderr every 100 cycles; the result to stdout, and its raw line to
# BUILD/bench-cycles-last.txt.
# Exit codes: 0 every cycle worked and nothing was left, 1 a cycle failed or
# something was left, 2 a tool is missing, 64 bad command line.
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: bench/cycles.sh build-dir [cycles]" >&2
	exit 64
fi
build=$1
cycles=${2:-1000}
linger=${CYCLES_LINGER:-1}
group=${CYCLES_GROUP:-20}
for v in "$cycles" "$linger" "$group"; do
	case $v in
	'' | *[!0-9]*)
		echo "bench/cycles.sh: not a number: '$v'" >&2
		exit 64
		;;
	esac
done
if [ "$cycles" -lt 1 ] || [ "$group" -lt 1 ]; then
	echo "bench/cycles.sh: cycles and CYCLES_GROUP must be at least 1" >&2
	exit 64
fi

# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sshenv-cyc.XXXXXX") || exit 2
mkdir -m 700 "$tmp/home" "$tmp/run" "$tmp/config" "$tmp/config/sshenv" ||
    exit 2
printf '[session]\nlinger = %s\n' "$linger" >"$tmp/config/sshenv/config"
export HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" \
    XDG_CONFIG_HOME="$tmp/config"
unset SSH_AUTH_SOCK SSH_AGENT_PID SSH_CONNECTION SSH_CLIENT DISPLAY \
    SSH_ASKPASS
export SSH_ASKPASS_REQUIRE=never
rundir=$XDG_RUNTIME_DIR/sshenv

# alive PID: exists and is not a zombie (an orphan's zombie waits for PID
# 1, which may reap late; it holds nothing but its pid).
alive() {
	[ -r "/proc/$1/status" ] &&
	    ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# Live sshenv (and ssh-add) processes of ours: their environment has our
# HOME, which the supervisor and agent inherit from `sshenv init`.
our_pids() {
	for op in $(pgrep -x 'sshenv|ssh-add'); do
		alive "$op" || continue
		grep -qxzF "HOME=$HOME" "/proc/$op/environ" 2>/dev/null &&
		    echo "$op"
	done
}

# What must not outlive the last session: every entry of the runtime dir
# but the two lock files, and anything in ~/.ssh (the environment file or
# a temp file of its atomic write).
left_files() {
	for f in "$rundir"/* "$rundir"/.[!.]* "$HOME"/.ssh/* \
	    "$HOME"/.ssh/.[!.]*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		case $f in
		"$rundir/daemon.lock" | "$rundir/start.lock") continue ;;
		esac
		echo "$f"
	done
}

# idle SECS: waits until no process of ours is alive and no control
# socket is left; 1 if that did not happen within SECS.
idle() {
	n=$(($1 * 10))
	while [ $n -gt 0 ]; do
		[ -z "$(our_pids)" ] && [ ! -e "$rundir/control.sock" ] &&
		    return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# shellcheck disable=SC2317
cleanup() {
	"$sshenv" stop -q >/dev/null 2>&1
	left=$(our_pids)
	if [ -n "$left" ]; then
		# shellcheck disable=SC2086	# pids
		kill $left 2>/dev/null
		sleep 1
		for p in $left; do
			alive "$p" && kill -9 "$p" 2>/dev/null
		done
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# One login: its own session, the profile line, a use of the agent, and
# the logout line.  Exit 2: init failed, 3: no agent, 4: logout failed.
# shellcheck disable=SC2016	# expanded by that sh
login='out=$("$0" init -q) || exit 2; eval "$out"
ssh-add -l >/dev/null 2>&1; [ $? -le 1 ] || exit 3
"$0" logout -q || exit 4'

times=$tmp/times
errs=$tmp/errs
: >"$times"
: >"$errs"
log "$cycles login/logout cycles, linger $linger s, groups of $group" \
    "each starting from nothing"
done_=0
mark=100
stuck=0
failed=0
t0=$(date +%s.%N)
while [ $done_ -lt "$cycles" ]; do
	k=$group
	[ $((cycles - done_)) -lt "$k" ] && k=$((cycles - done_))
	# Each group starts from nothing: wait out the linger time.
	if ! idle $((linger + 15)); then
		log "after $done_ cycles the supervisor did not go within" \
		    "$((linger + 15)) s"
		stuck=1
		break
	fi
	out=$("$cmdtime" -n "$k" -w 0 -t 30 -e -R "$times" -- \
	    setsid -w sh -c "$login" "$sshenv" 2>>"$errs")
	if [ $? -gt 1 ]; then
		log "cmdtime could not run the cycles: $(tail -n 1 "$errs")"
		break
	fi
	f=$(echo "$out" | sed -n 's/.*failed=\([0-9]*\).*/\1/p')
	failed=$((failed + ${f:-0}))
	done_=$((done_ + k))
	if [ $done_ -ge $mark ] || [ $done_ -ge "$cycles" ]; then
		log "$done_/$cycles cycles, $failed failed"
		while [ $mark -le $done_ ]; do
			mark=$((mark + 100))
		done
	fi
done
t1=$(date +%s.%N)

# After the last logout: linger, then the supervisor stops the agent and
# removes its files.  Give it linger + 15 s.
idle $((linger + 15)) || log "the supervisor or agent is still running" \
    "$((linger + 15)) s after the last logout"
procs=$(our_pids)
files=$(left_files)
nprocs=$(echo "$procs" | grep -c .)
nfiles=$(echo "$files" | grep -c .)
for p in $procs; do
	log "left running: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
done
echo "$files" | while IFS= read -r f; do
	[ -n "$f" ] && log "left behind: $f"
done

ran=$(grep -c . "$times")
if [ -s "$errs" ]; then
	log "errors printed by the cycles (count, message):"
	sort "$errs" | uniq -c | sort -rn | head -n 10 | sed 's/^/    /' >&2
fi

result=$(awk -v n="$ran" -v want="$cycles" -v g="$group" -v l="$linger" \
    -v t0="$t0" -v t1="$t1" -v procs="$nprocs" -v files="$nfiles" \
    -v stuck="$stuck" '
{
	us[NR] = $1
	sum += $1
	if (g == 1 || NR % g == 1)
		cold[++nc] = $1
	else
		warm[++nw] = $1
}
function sortn(a, m,    i, j, x) {
	for (i = 2; i <= m; i++) {
		x = a[i]
		for (j = i - 1; j >= 1 && a[j] > x; j--)
			a[j + 1] = a[j]
		a[j + 1] = x
	}
}
function med(a, m) {
	if (m == 0)
		return "n/a"
	return sprintf("%.2f", (m % 2 ? a[(m + 1) / 2] : \
	    (a[m / 2] + a[m / 2 + 1]) / 2) / 1000)
}
END {
	sortn(us, n)
	sortn(cold, nc)
	sortn(warm, nw)
	p90 = n ? us[int((n * 90 + 99) / 100)] / 1000 : 0
	printf "cycles=%d of=%d linger_s=%d group=%d median_ms=%s " \
	    "p90_ms=%.2f max_ms=%.2f cold_median_ms=%s warm_median_ms=%s " \
	    "mean_ms=%.2f wall_s=%.1f left_procs=%d left_files=%d " \
	    "stuck=%d\n", n, want, l, g, med(us, n), p90,
	    n ? us[n] / 1000 : 0, med(cold, nc), med(warm, nw),
	    n ? sum / n / 1000 : 0, t1 - t0, procs, files, stuck
}' "$times")
result="$result failed=$failed"
echo "$result" >"$build/bench-cycles-last.txt" 2>/dev/null

echo "$result" | awk '
{
	for (i = 1; i <= NF; i++) {
		eq = index($i, "=")
		v[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
}
END {
	printf "\nlogin/logout cycles: %d of %d, linger %d s, groups of %d " \
	    "(each group from nothing running)\n", v["cycles"], v["of"],
	    v["linger_s"], v["group"]
	printf "  per cycle (setsid sh: init, ssh-add -l, logout): median " \
	    "%s ms, p90 %s ms, max %s ms, mean %s ms\n", v["median_ms"],
	    v["p90_ms"], v["max_ms"], v["mean_ms"]
	if (v["group"] > 1 && v["linger_s"] > 0)
		printf "  first cycle of a group (starts supervisor+agent): " \
		    "median %s ms; the others: median %s ms\n",
		    v["cold_median_ms"], v["warm_median_ms"]
	else
		printf "  (every cycle starts supervisor+agent)\n"
	printf "  wall time %s s, waits for the linger time included\n",
	    v["wall_s"]
	printf "  left after the last logout: %d processes, %d files" \
	    " (the two lock files do not count)\n", v["left_procs"],
	    v["left_files"]
	printf "  failed cycles (exit status not 0): %d\n", v["failed"]
}'
if [ "$nprocs" -gt 0 ] || [ "$nfiles" -gt 0 ] || [ "$stuck" = 1 ] ||
    [ "$ran" -lt "$cycles" ] || [ "$failed" -gt 0 ]; then
	echo "  FAILED: see the lines above"
	exit 1
fi
echo "  ok: every cycle worked and nothing was left"
exit 0
