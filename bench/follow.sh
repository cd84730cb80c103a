#!/bin/sh
# bench/follow.sh BUILD-DIR: what the stable socket costs.  The same
# signing load straight at an agent and through an sshenv agent that
# serves it as an upstream (as a jump host's agent.sock serves the
# forwarded agent of the newest login), in one run, both with OpenSSH's
# ssh-agent and with sshenv's agent as the upstream; and the merged key
# list over three upstreams.  Then, as root with sshd installed, the
# case the stable socket is for: the upstream is an agent forwarded by a
# real `ssh -A` login through a real sshd on 127.0.0.1 (A and B are the
# same machine, so the hop is loopback, not a network), signing directly
# at sshd's forwarded socket against through the stable socket.  Each row
# also goes through bench/relay.c, a bare byte relay: what one more
# process in the path costs on this machine, whatever it does.  Goals
# (issue 12): p50 latency through the stable socket at most 10% over
# direct, 32-client throughput at least 0.9x direct, merged list p99
# under 2 ms.
set -u
build=$1
sshenv=$build/sshenv
agentload=$build/bench/agentload
relay=$build/bench/relay
secs=${BENCH_SECS:-1}
rounds=${BENCH_ROUNDS:-3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sshenv-benchf.XXXXXX") || exit 2
pids=""
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

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
start roa "$relay" -U "$tmp/oa.sock" || ok=0
start rsa "$relay" -U "$tmp/sa.sock" || ok=0
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
    "medians of $rounds rounds of ${secs} s runs"
# row NAME DIRECT THROUGH RELAY: one line of the table, signing with k1
# straight at the agent, through the stable socket and through the bare
# relay (bench/relay.c).  The machine is shared and noisy, so the three
# take turns, $rounds rounds of $secs s each, and each figure is the
# median over the rounds; each ratio is the median of the rounds' own
# ratios (each round's three runs are close in time).
row() {
	: >"$tmp/row"
	r=0
	while [ $r -lt "$rounds" ]; do
		for c in 1 32; do
			for w in 2 3 4; do
				eval "sock=\${$w}"
				l=$(load "$sock" -o sign -k "$tmp/k1.pub" -c $c)
				echo "$r $c $w $(val "$l" p50_us)" \
				    "$(val "$l" ops_per_s)" >>"$tmp/row"
			done
		done
		r=$((r + 1))
	done
	awk -v n="$1" -v rounds="$rounds" '
	function med(a, k,   i, j, t) {	# median of a[1..k], sorts a
		for (i = 2; i <= k; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	NF == 5 { x[$1, $2, $3] = ($2 == 1 ? $4 : $5); got[$1, $2, $3] = 1 }
	END {
		for (c = 1; c <= 32; c += 31)
			for (w = 2; w <= 4; w++) {
				k = 0; kr = 0
				for (r = 0; r < rounds; r++) {
					if (!got[r, c, w] || x[r, c, w] == "")
						continue
					v[++k] = x[r, c, w]
					if (w > 2 && got[r, c, 2] && x[r, c, 2] > 0)
						q[++kr] = x[r, c, w] / x[r, c, 2]
				}
				if (k == 0) {
					printf "%-28s (no result)\n", n
					exit
				}
				m[c, w] = med(v, k)
				if (w > 2)
					rt[c, w] = (kr ? med(q, kr) : 0)
				delete v; delete q
			}
		printf "%-28s %6.0f %6.0f %5.2fx %6.0f %5.2fx" \
		    " %7.0f %7.0f %5.2fx %7.0f %5.2fx\n", n,
		    m[1, 2], m[1, 3], rt[1, 3], m[1, 4], rt[1, 4],
		    m[32, 2], m[32, 3], rt[32, 3], m[32, 4], rt[32, 4]
	}' "$tmp/row"
}

# forwarded NAME AGENT: an `ssh -A` login to the sshd at $port with AGENT
# as the agent on A; sets fsock to sshd's socket for it on B.
forwarded() {
	rm -f "$tmp/fwd-$1"
	SSH_AUTH_SOCK=$2 ssh -A -F /dev/null -i "$tmp/login" \
	    -o IdentitiesOnly=yes -o BatchMode=yes \
	    -o UserKnownHostsFile="$tmp/known_hosts" \
	    -o StrictHostKeyChecking=accept-new -p "$port" root@127.0.0.1 \
	    'echo "$SSH_AUTH_SOCK"; exec sleep 3600' </dev/null \
	    >"$tmp/fwd-$1" 2>>"$tmp/err" &
	pids="$pids $!"
	i=0
	while [ ! -s "$tmp/fwd-$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	fsock=$(head -n 1 "$tmp/fwd-$1")
	[ -S "$fsock" ]
}

# An sshd on 127.0.0.1 at a free high port, root's key only, in $tmp.
start_sshd() {
	mkdir -p /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$tmp/host" || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$tmp/login" || return 1
	cp "$tmp/login.pub" "$tmp/authorized_keys"
	port=$((40000 + $$ % 20000))
	for try in 1 2 3 4 5 6 7 8 9 10; do
		cat >"$tmp/sshd.conf" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $tmp/host
PidFile none
AuthorizedKeysFile $tmp/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowAgentForwarding yes
UseDNS no
EOF
		: >"$tmp/sshd.log"
		/usr/sbin/sshd -D -e -f "$tmp/sshd.conf" </dev/null \
		    >"$tmp/sshd.log" 2>&1 &
		spid=$!
		i=0
		while [ $i -lt 50 ] && kill -0 $spid 2>/dev/null &&
		    ! grep -q "listening on 127.0.0.1 port $port\." \
		    "$tmp/sshd.log"; do
			sleep 0.1
			i=$((i + 1))
		done
		if grep -q "listening on 127.0.0.1 port $port\." \
		    "$tmp/sshd.log"; then
			pids="$pids $spid"
			return 0
		fi
		kill $spid 2>/dev/null
		port=$((port + 1))
	done
	return 1
}

echo "(p50 of one client and ops/s of 32: direct, through the stable" \
    "socket, through the bare relay; ratios to direct)"
printf "%-28s %6s %6s %6s %6s %6s %7s %7s %6s %7s %6s\n" "upstream" \
    "p50" "stable" "ratio" "relay" "ratio" "32c/s" "stable" "ratio" \
    "relay" "ratio"
row "OpenSSH ssh-agent" "$tmp/oa.sock" "$tmp/poa.sock" "$tmp/roa.sock"
row "sshenv agent" "$tmp/sa.sock" "$tmp/psa.sock" "$tmp/rsa.sock"
l=$(load "$tmp/p3.sock" -o list -c 1)
echo "merged list over three upstreams (one client): p50 $(val "$l" p50_us)" \
    "us, p99 $(val "$l" p99_us) us"

if [ "$(id -u)" -ne 0 ] || [ ! -x /usr/sbin/sshd ]; then
	log "follow: forwarded rows need root and sshd (openssh-server)"
	exit 0
fi
if ! start_sshd; then
	log "follow: sshd did not start: $(tail -n 3 "$tmp/sshd.log")"
	exit 0
fi
echo
echo "an agent forwarded by ssh -A through a real sshd (127.0.0.1): sshd's" \
    "socket vs the stable socket in front of it"
for u in oa sa; do
	name=$([ $u = oa ] && echo "OpenSSH ssh-agent" || echo "sshenv agent")
	if ! forwarded $u "$tmp/$u.sock"; then
		printf "%-30s (no forwarded socket)\n" "$name, forwarded"
		continue
	fi
	start pf$u "$sshenv" agent -D -U "$fsock" || continue
	start rf$u "$relay" -U "$fsock" || continue
	row "$name, forwarded" "$fsock" "$tmp/pf$u.sock" "$tmp/rf$u.sock"
done
exit 0
