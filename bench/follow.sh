#!/bin/sh
# bench/follow.sh BUILD-DIR: what the stable socket costs.  The same
# signing load straight at an agent and through an sshenv agent that
# serves it as an upstream (as a jump host's agent.sock serves the
# forwarded agent of the newest login), in one run, both with OpenSSH's
# ssh-agent and with sshenv's agent as the upstream; and the merged key
# list over three upstreams.  Goals (issue 12): p50 latency through the
# stable socket at most 10% over direct, 32-client throughput at least
# 0.9x direct, merged list p99 under 2 ms.
set -u
build=$1
sshenv=$build/sshenv
agentload=$build/bench/agentload
secs=${BENCH_SECS:-3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sshenv-benchf.XXXXXX") || exit 2
pids=""
trap 'kill $pids 2>/dev/null; rm -rf "$tmp"' EXIT

log() {
	echo "bench: $*" >&2
}

# start NAME CMD...: an agent in the foreground at $tmp/NAME.sock.
start() {
	n=$1
	shift
	rm -f "$tmp/$n.sock"
	"$@" -a "$tmp/$n.sock" </dev/null >/dev/null 2>&1 &
	pids="$pids $!"
	i=0
	while [ ! -S "$tmp/$n.sock" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$tmp/$n.sock" ]
}

for k in k1 k2 k3; do
	ssh-keygen -q -t ed25519 -N '' -C "follow-$k" -f "$tmp/$k" || exit 2
done
ok=1
start oa ssh-agent -D || ok=0
start sa "$sshenv" agent -D || ok=0
start u2 ssh-agent -D || ok=0
start u3 ssh-agent -D || ok=0
for a in oa sa; do
	SSH_AUTH_SOCK=$tmp/$a.sock ssh-add -q "$tmp/k1" 2>/dev/null || ok=0
done
SSH_AUTH_SOCK=$tmp/u2.sock ssh-add -q "$tmp/k2" 2>/dev/null || ok=0
SSH_AUTH_SOCK=$tmp/u3.sock ssh-add -q "$tmp/k3" 2>/dev/null || ok=0
start poa "$sshenv" agent -D -U "$tmp/oa.sock" || ok=0
start psa "$sshenv" agent -D -U "$tmp/sa.sock" || ok=0
start p3 "$sshenv" agent -D -U "$tmp/sa.sock" -U "$tmp/u2.sock" \
    -U "$tmp/u3.sock" || ok=0
if [ $ok = 0 ]; then
	log "follow: an agent did not start or take its key"
	exit 1
fi

# load SOCK ARGS...: one agentload run's key=value line.
load() {
	s=$1
	shift
	timeout 60 "$agentload" -s "$s" -d "$secs" "$@" 2>>"$tmp/err"
}

val() {	# LINE KEY
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

echo
echo "stable socket (an upstream served through sshenv's agent) vs direct," \
    "${secs} s per run"
printf "%-22s %10s %10s %7s %12s %12s %7s\n" "upstream" "p50 us" \
    "via us" "ratio" "32c ops/s" "via ops/s" "ratio"
for u in oa sa; do
	name=$([ $u = oa ] && echo "OpenSSH ssh-agent" || echo "sshenv agent")
	d1=$(load "$tmp/$u.sock" -o sign -k "$tmp/k1.pub" -c 1)
	p1=$(load "$tmp/p$u.sock" -o sign -k "$tmp/k1.pub" -c 1)
	d32=$(load "$tmp/$u.sock" -o sign -k "$tmp/k1.pub" -c 32)
	p32=$(load "$tmp/p$u.sock" -o sign -k "$tmp/k1.pub" -c 32)
	awk -v n="$name" -v a="$(val "$d1" p50_us)" -v b="$(val "$p1" p50_us)" \
	    -v c="$(val "$d32" ops_per_s)" -v d="$(val "$p32" ops_per_s)" \
	    'BEGIN {
		if (a == "" || b == "" || c == "" || d == "") {
			printf "%-22s (no result)\n", n
			exit
		}
		printf "%-22s %10.0f %10.0f %6.2fx %12.0f %12.0f %6.2fx\n",
		    n, a, b, (a > 0 ? b / a : 0), c, d, (c > 0 ? d / c : 0)
	    }'
done
l=$(load "$tmp/p3.sock" -o list -c 1)
echo "merged list over three upstreams (one client): p50 $(val "$l" p50_us)" \
    "us, p99 $(val "$l" p99_us) us"
exit 0
