#!/bin/sh
# bench/run.sh BUILD-DIR: OpenSSH's ssh-agent and `sshenv agent` side by
# side under the same load, then the raw libcrypto ceiling.
#
# Both agents get the same keys (ed25519, ecdsa-256, rsa-3072, rsa-4096,
# made fresh with ssh-keygen) and the same runs of BUILD/bench/agentload:
# signing at 1, 4 and 32 clients per key type, listing at 32 clients, and a
# REQUEST_IDENTITIES latency probe behind a 32-client rsa-4096 signing
# storm.  Then each agent's VmRSS when idle and with 100 keys loaded (the
# 100-key sets are made once and kept in BUILD/bench-keys/).
#
# Environment:
#   BENCH_SECS         seconds per run (default 3)
#   BENCH_PROBE_SECS   seconds of the storm+probe run (default 2 x BENCH_SECS;
#                      the probe gets one sample per storm round)
#   BENCH_CRYPTO_SECS  seconds per cryptorate measurement (default 2)
#   BENCH_RSA_KEYS     0 skips the 100 rsa-3072 keys memory row (their
#                      first generation takes about 30 s on 2 cores)
#
# An agent that does not start, does not answer or does not take the keys
# is shown as n/a; every wait is bounded.  Both agents are stopped on exit.
# Raw result lines are kept in BUILD/bench-last.txt.
# Exit codes: 0 done (even with n/a columns), 2 the benchmark tools or
# ssh-keygen are missing, 64 bad command line.
set -u

if [ $# -gt 1 ]; then
	echo "usage: bench/run.sh [build-dir]" >&2
	exit 64
fi
build=${1:-build}
secs=${BENCH_SECS:-3}
probe_secs=${BENCH_PROBE_SECS:-$(awk -v s="$secs" 'BEGIN { print 2 * s }')}
crypto_secs=${BENCH_CRYPTO_SECS:-2}
rsa_keys=${BENCH_RSA_KEYS:-1}

agentload=$build/bench/agentload
cryptorate=$build/bench/cryptorate
sshenv=$build/sshenv
for t in "$agentload" "$cryptorate"; do
	if [ ! -x "$t" ]; then
		echo "bench: $t is missing: run 'make all' first" >&2
		exit 2
	fi
done
if ! command -v ssh-keygen >/dev/null 2>&1 ||
    ! command -v ssh-add >/dev/null 2>&1; then
	echo "bench: ssh-keygen and ssh-add are needed (openssh-client)" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sshenv-bench.XXXXXX") || exit 2
results=$tmp/results
: >"$results"
pids=""
hz=$(getconf CLK_TCK)
# Keys are unencrypted: never ask anyone for a passphrase.
export SSH_ASKPASS_REQUIRE=never
unset DISPLAY SSH_ASKPASS

# Stops one agent we started: TERM, up to 3 s, then KILL.
stop_pid() {
	sp=$1
	kill "$sp" 2>/dev/null
	n=0
	while kill -0 "$sp" 2>/dev/null && [ $n -lt 30 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	kill -9 "$sp" 2>/dev/null
	wait "$sp" 2>/dev/null
	rest=""
	for p in $pids; do
		[ "$p" = "$sp" ] || rest="$rest $p"
	done
	pids=$rest
}

# shellcheck disable=SC2317
cleanup() {
	for p in $pids; do
		stop_pid "$p"
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# A bounded wait that still lets ^C reach the command.
tmo() {
	timeout --foreground "$@"
}

log() {
	echo "bench: $*" >&2
}

# start_agent NAME SOCK: starts the agent in the foreground mode of both
# (-D), waits at most 5 s for it to answer on SOCK.  Sets agent_pid; returns
# non-zero (and leaves nothing running) if the agent is not usable.
start_agent() {
	name=$1 sock=$2
	agent_pid=""
	rm -f "$sock"
	case $name in
	ssh-agent)
		command -v ssh-agent >/dev/null 2>&1 || return 1
		ssh-agent -D -a "$sock" >"$tmp/$name.log" 2>&1 </dev/null &
		;;
	sshenv)
		[ -x "$sshenv" ] || return 1
		# With a forwarding policy in force (local clients are never
		# asked) and, as always, every signature recorded.
		"$sshenv" agent -D -F confirm -a "$sock" >"$tmp/$name.log" 2>&1 \
		    </dev/null &
		;;
	esac
	agent_pid=$!
	pids="$pids $agent_pid"
	n=0
	while [ ! -S "$sock" ] && [ $n -lt 50 ] &&
	    kill -0 "$agent_pid" 2>/dev/null; do
		sleep 0.1
		n=$((n + 1))
	done
	if ! kill -0 "$agent_pid" 2>/dev/null; then
		why="it exited"
	elif [ ! -S "$sock" ]; then
		why="no socket after 5 s"
	else
		# ssh-add -l: 0 keys listed, 1 no keys; 2 means no agent.
		SSH_AUTH_SOCK=$sock tmo 10 ssh-add -l >/dev/null 2>&1 \
		    </dev/null
		case $? in 0 | 1) return 0 ;; esac
		why="ssh-add -l got no answer"
	fi
	log "$name did not come up on $sock ($why):"
	sed 's/^/    /' "$tmp/$name.log" >&2
	stop_pid "$agent_pid"
	agent_pid=""
	return 1
}

# load_keys SOCK N FILE...: adds the keys, then checks the agent lists N.
load_keys() {
	lsock=$1 want=$2
	shift 2
	SSH_AUTH_SOCK=$lsock tmo 120 ssh-add -q "$@" </dev/null \
	    >/dev/null 2>"$tmp/ssh-add.err" || return 1
	got=$(SSH_AUTH_SOCK=$lsock tmo 30 ssh-add -l </dev/null \
	    2>/dev/null | wc -l)
	[ "$got" -eq "$want" ]
}

rss_kib() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null
}

hwm_kib() {
	awk '$1 == "VmHWM:" { print $2 }' "/proc/$1/status" 2>/dev/null
}

# CPU ticks used so far by every thread of the process.
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null |
	    awk '{ print $12 + $13 }'
}

now() {
	date +%s.%N
}

# run_one ID AGENT SOCK PID DURATION AGENTLOAD-ARGS...: one run, one line
# "ID AGENT key=value..." in $results, or "ID AGENT na".
run_one() {
	id=$1 name=$2 rsock=$3 rpid=$4 dur=$5
	shift 5
	limit=$(awk -v d="$dur" 'BEGIN { print d + 60 }')
	c0=$(cpu_ticks "$rpid")
	w0=$(now)
	out=$(tmo "$limit" "$agentload" -s "$rsock" -d "$dur" "$@" \
	    2>>"$tmp/agentload.err")
	rc=$?
	w1=$(now)
	c1=$(cpu_ticks "$rpid")
	case $rc in
	0 | 1) ;;
	*) out="" ;;
	esac
	if [ -z "$out" ]; then
		echo "$id $name na" >>"$results"
		log "$id $name: no result (agentload exit $rc)"
		return
	fi
	acpu=$(awk -v a="${c0:-0}" -v b="${c1:-0}" -v hz="$hz" -v w0="$w0" \
	    -v w1="$w1" 'BEGIN {
		printf "%.0f", 100 * (b - a) / hz / (w1 - w0)
	    }')
	echo "$id $name $out agent_cpu_pct=$acpu" >>"$results"
	log "$id $name: $out agent_cpu_pct=$acpu"
}

# ---- keys -----------------------------------------------------------------

keys=$tmp/keys
mkdir -m 700 "$keys"
log "generating keys"
if ! { ssh-keygen -q -t ed25519 -N '' -C bench-ed25519 -f "$keys/ed25519" &&
    ssh-keygen -q -t ecdsa -b 256 -N '' -C bench-ecdsa -f "$keys/ecdsa" &&
    ssh-keygen -q -t rsa -b 3072 -N '' -C bench-rsa3072 -f "$keys/rsa3072" &&
    ssh-keygen -q -t rsa -b 4096 -N '' -C bench-rsa4096 -f "$keys/rsa4096"
    }; then
	log "ssh-keygen failed"
	exit 2
fi

# make_keyset TYPE BITS: 100 keys in BUILD/bench-keys/TYPE-BITS, made once,
# two ssh-keygen at a time; the set appears by rename, so an interrupted run
# leaves no half set behind.
make_keyset() {
	dir=$build/bench-keys/$1-$2
	[ -d "$dir" ] && return 0
	log "generating 100 $1-$2 keys into $dir (once)"
	mkdir -p "$build/bench-keys" || return 1
	part=$(mktemp -d "$build/bench-keys/.part.XXXXXX") || return 1
	seq -w 1 100 | xargs -P 2 -I '{}' \
	    ssh-keygen -q -t "$1" -b "$2" -N '' -C "bench-$1-{}" \
	    -f "$part/k{}" || {
		rm -rf "$part"
		return 1
	}
	mv "$part" "$dir"
}

make_keyset ed25519 256 || log "could not make the ed25519 key set"
if [ "$rsa_keys" != 0 ]; then
	make_keyset rsa 3072 || log "could not make the rsa-3072 key set"
fi

# ---- the load runs ----------------------------------------------------------

agents="ssh-agent sshenv"
up=""
nostart=""	# not tried again for the memory rows
for a in $agents; do
	if ! start_agent "$a" "$tmp/$a.sock"; then
		nostart="$nostart $a"
	elif load_keys "$tmp/$a.sock" 4 "$keys/ed25519" "$keys/ecdsa" \
	    "$keys/rsa3072" "$keys/rsa4096"; then
		up="$up $a"
		eval "pid_$(echo "$a" | tr - _)=$agent_pid"
	else
		log "$a did not take the keys:"
		sed 's/^/    /' "$tmp/ssh-add.err" >&2
		stop_pid "$agent_pid"
	fi
done
log "agents up:${up:- none}; ${secs} s per run"

pid_of() {
	eval "echo \${pid_$(echo "$1" | tr - _):-}"
}

# Runs one test on every agent that is up, agents interleaved.
bench() {	# ID DURATION AGENTLOAD-ARGS...
	bid=$1 bdur=$2
	shift 2
	for a in $agents; do
		case " $up " in
		*" $a "*)
			run_one "$bid" "$a" "$tmp/$a.sock" "$(pid_of "$a")" \
			    "$bdur" "$@"
			;;
		*)
			echo "$bid $a na" >>"$results"
			;;
		esac
	done
}

for k in ed25519 ecdsa rsa3072; do
	flags=0
	[ "$k" = rsa3072 ] && flags=2
	for c in 1 4 32; do
		bench "sign-$k-c$c" "$secs" -o sign -k "$keys/$k.pub" \
		    -f "$flags" -c "$c"
	done
done
bench list-c32 "$secs" -o list -c 32
bench storm-rsa4096-c32 "$probe_secs" -o sign -k "$keys/rsa4096.pub" -f 2 \
    -c 32 -l

# Memory of the agents that served all the above.
for a in $agents; do
	p=$(pid_of "$a")
	if [ -n "$p" ]; then
		echo "mem-after-runs $a rss_kib=$(rss_kib "$p")" \
		    "hwm_kib=$(hwm_kib "$p")" >>"$results"
		stop_pid "$p"
	else
		echo "mem-after-runs $a na" >>"$results"
	fi
done

# ---- memory: fresh agents, idle and with 100 keys --------------------------

# mem_row ID KEYSET-DIR: per agent, a fresh instance, VmRSS with the keys.
mem_row() {
	mid=$1 mdir=$2
	for a in $agents; do
		msock=$tmp/mem-$a.sock
		case " $nostart " in *" $a "*)
			echo "$mid $a na" >>"$results"
			continue
			;;
		esac
		if [ -n "$mdir" ] && [ ! -d "$mdir" ]; then
			echo "$mid $a na" >>"$results"
			continue
		fi
		if ! start_agent "$a" "$msock"; then
			echo "$mid $a na" >>"$results"
			continue
		fi
		ok=1
		if [ -n "$mdir" ]; then
			load_keys "$msock" 100 "$mdir"/k[0-9][0-9][0-9] ||
			    ok=0
		fi
		sleep 0.2
		if [ $ok = 1 ]; then
			echo "$mid $a rss_kib=$(rss_kib "$agent_pid")" \
			    >>"$results"
		else
			log "$a did not take the keys of $mdir"
			echo "$mid $a na" >>"$results"
		fi
		stop_pid "$agent_pid"
	done
}

log "measuring memory"
mem_row mem-idle ""
mem_row mem-ed25519-100 "$build/bench-keys/ed25519-256"
if [ "$rsa_keys" != 0 ]; then
	mem_row mem-rsa3072-100 "$build/bench-keys/rsa-3072"
fi

# ---- the ceiling -----------------------------------------------------------

log "measuring raw libcrypto signing (${crypto_secs} s each)"
"$cryptorate" -d "$crypto_secs" >"$tmp/crypto" 2>>"$tmp/crypto.err" ||
    log "cryptorate failed: $(cat "$tmp/crypto.err")"

sed 's/^/crypto /' "$tmp/crypto" >>"$results"
cp "$results" "$build/bench-last.txt" 2>/dev/null

# ---- the report --------------------------------------------------------------

awk -v secs="$secs" -v psecs="$probe_secs" '
function ms(us) {
	if (us == "")
		return "?"
	us /= 1000
	if (us < 10)
		return sprintf("%.2f", us)
	if (us < 100)
		return sprintf("%.1f", us)
	return sprintf("%.0f", us)
}
function lat(id, a, pre) {
	if (!((id, a, pre "p50_us") in v))
		return "n/a"
	return ms(v[id, a, pre "p50_us"]) "/" ms(v[id, a, pre "p99_us"])
}
function rate(id, a) {
	if (!((id, a, "ops_per_s") in v))
		return "n/a"
	return sprintf("%.0f%s", v[id, a, "ops_per_s"],
	    v[id, a, "errors"] + v[id, a, "probe_errors"] > 0 ? "!" : "")
}
function cpu(id, a) {
	if (!((id, a, "agent_cpu_pct") in v))
		return "n/a"
	return v[id, a, "agent_cpu_pct"] "%"
}
function ratio(id) {
	if (!((id, "ssh-agent", "ops_per_s") in v) ||
	    !((id, "sshenv", "ops_per_s") in v) ||
	    v[id, "ssh-agent", "ops_per_s"] == 0)
		return "n/a"
	return sprintf("%.2fx", v[id, "sshenv", "ops_per_s"] / \
	    v[id, "ssh-agent", "ops_per_s"])
}
function mib(id, a, key) {
	if (!((id, a, key) in v) || v[id, a, key] == "")
		return "n/a"
	return sprintf("%.1f MiB", v[id, a, key] / 1024)
}
function row(label, id) {
	printf "%-28s %9s %13s %5s  %9s %13s %5s  %7s\n", label,
	    rate(id, "ssh-agent"), lat(id, "ssh-agent", ""),
	    cpu(id, "ssh-agent"), rate(id, "sshenv"), lat(id, "sshenv", ""),
	    cpu(id, "sshenv"), ratio(id)
}
function samples(id, a) {
	if (!((id, a, "probe_ops") in v))
		return "n/a"
	return "n=" v[id, a, "probe_ops"]
}
$1 == "crypto" {
	delete f
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		if (eq > 0)
			f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	if (!(f["alg"] in seen)) {
		seen[f["alg"]] = 1
		calg[++ncalg] = f["alg"]
	}
	crate[f["alg"], f["threads"]] = f["ops_per_s"]
	if (f["threads"] > 1)
		cmulti = f["threads"]
	next
}
{
	id = $1; a = $2
	for (i = 3; i <= NF; i++) {
		eq = index($i, "=")
		if (eq > 0)
			v[id, a, substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	perr = ((id, a, "probe_errors") in v) ? v[id, a, "probe_errors"] : 0
	if ((id, a, "errors") in v && v[id, a, "errors"] + perr > 0)
		bad[++nbad] = id " " a ": errors=" v[id, a, "errors"] \
		    " (failures=" v[id, a, "failures"] " bad=" v[id, a, "bad"] \
		    " disconnects=" v[id, a, "disconnects"] \
		    " stalled=" v[id, a, "stalled"] ") probe_errors=" perr
	# One thread drives the load: near a full core it may be the limit.
	if ((id, a, "gen_cpu_pct") in v && v[id, a, "gen_cpu_pct"] > 90)
		hot[++nhot] = id " " a ": generator at " \
		    v[id, a, "gen_cpu_pct"] "% CPU"
}
END {
	printf "\nsshenv agent vs OpenSSH ssh-agent, %s s per run, " \
	    "latencies p50/p99 in ms, cpu = agent CPU\n\n", secs
	printf "%-28s %9s %13s %5s  %9s %13s %5s  %7s\n", "test",
	    "ssh-agent", "p50/p99", "cpu", "sshenv", "p50/p99", "cpu",
	    "ratio"
	printf "%-28s %9s %13s %5s  %9s %13s %5s  %7s\n", "",
	    "ops/s", "ms", "", "ops/s", "ms", "", ""
	split("ed25519 ecdsa rsa3072", ks, " ")
	split("ed25519 ecdsa-p256 rsa-3072/sha256", kl, " ")
	split("1 4 32", cs, " ")
	for (k = 1; k <= 3; k++)
		for (c = 1; c <= 3; c++)
			row("sign " kl[k] " c=" cs[c], "sign-" ks[k] "-c" cs[c])
	row("list c=32", "list-c32")
	row("sign rsa-4096 c=32 (storm)", "storm-rsa4096-c32")
	id = "storm-rsa4096-c32"
	printf "%-28s %9s %13s %5s  %9s %13s %5s  %7s\n",
	    "  list probe in the storm", samples(id, "ssh-agent"),
	    lat(id, "ssh-agent", "probe_"), "", samples(id, "sshenv"),
	    lat(id, "sshenv", "probe_"), "", ""
	printf "  (storm and probe ran %s s; the probe pauses 1 ms between" \
	    " requests)\n", psecs
	if (nbad > 0)
		printf "  ! = errors in that run: see ERRORS below\n"

	printf "\n%-36s %12s %12s\n", "memory (VmRSS)", "ssh-agent", "sshenv"
	printf "%-36s %12s %12s\n", "idle, fresh agent",
	    mib("mem-idle", "ssh-agent", "rss_kib"),
	    mib("mem-idle", "sshenv", "rss_kib")
	printf "%-36s %12s %12s\n", "100 ed25519 keys, fresh agent",
	    mib("mem-ed25519-100", "ssh-agent", "rss_kib"),
	    mib("mem-ed25519-100", "sshenv", "rss_kib")
	if (("mem-rsa3072-100", "ssh-agent", "rss_kib") in v ||
	    ("mem-rsa3072-100", "sshenv", "rss_kib") in v)
		printf "%-36s %12s %12s\n", "100 rsa-3072 keys, fresh agent",
		    mib("mem-rsa3072-100", "ssh-agent", "rss_kib"),
		    mib("mem-rsa3072-100", "sshenv", "rss_kib")
	printf "%-36s %12s %12s\n", "4 keys, after the runs",
	    mib("mem-after-runs", "ssh-agent", "rss_kib"),
	    mib("mem-after-runs", "sshenv", "rss_kib")
	printf "%-36s %12s %12s\n", "4 keys, peak during the runs (VmHWM)",
	    mib("mem-after-runs", "ssh-agent", "hwm_kib"),
	    mib("mem-after-runs", "sshenv", "hwm_kib")

	printf "\nceiling: raw libcrypto signing of 200 bytes " \
	    "(bench/cryptorate), ops/s\n"
	printf "%-22s %10s %10s\n", "algorithm", "1 thread",
	    (cmulti ? cmulti " threads" : "")
	for (k = 1; k <= ncalg; k++)
		printf "%-22s %10.0f %10s\n", calg[k], crate[calg[k], 1],
		    (cmulti ? sprintf("%.0f", crate[calg[k], cmulti]) : "")
	if (ncalg == 0)
		printf "  n/a\n"

	for (k = 1; k <= nbad; k++)
		printf "%sERRORS %s\n", (k == 1 ? "\n" : ""), bad[k]
	for (k = 1; k <= nhot; k++)
		printf "%snote: %s (the numbers may be the generator'"'"'s)\n",
		    (k == 1 && nbad == 0 ? "\n" : ""), hot[k]
}' "$results"

# ---- login cost and login/logout cycles --------------------------------------

# sshenv init/env against keychain, cold starts, memory: bench/session.sh.
sh "$(dirname "$0")/session.sh" "$build"
session_rc=$?
[ $session_rc = 0 ] || log "bench/session.sh exited $session_rc"

# What the stable socket (agents followed behind ours) costs:
# bench/follow.sh.
sh "$(dirname "$0")/follow.sh" "$build"
follow_rc=$?
[ $follow_rc = 0 ] || log "bench/follow.sh exited $follow_rc"

# Private memory per user beside ssh-agent, and 200 users at once:
# bench/footprint.sh.
sh "$(dirname "$0")/footprint.sh" "$build"
footprint_rc=$?
[ $footprint_rc = 0 ] || log "bench/footprint.sh exited $footprint_rc"

# bench/cycles.sh runs 1000 cycles when run alone; here BENCH_CYCLES
# (default 200) keeps `make bench` short, and 0 skips them.
cycles_n=${BENCH_CYCLES:-200}
if [ "$cycles_n" != 0 ]; then
	echo
	echo "login/logout cycles: $cycles_n here (BENCH_CYCLES; default 200" \
	    "in make bench, 1000 with bench/cycles.sh alone)"
	sh "$(dirname "$0")/cycles.sh" "$build" "$cycles_n"
	cycles_rc=$?
	[ $cycles_rc = 0 ] || log "bench/cycles.sh exited $cycles_rc:" \
	    "a login/logout cycle failed or left something behind"
fi
exit 0
