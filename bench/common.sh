# Sourced by bench/session.sh and bench/cycles.sh (with $build set): the
# log helper, and the tools both need, made absolute in $cmdtime and
# $sshenv.  Exits 2 when something is missing.

log() {
	echo "bench: $*" >&2
}

for t in setsid pgrep ssh-add; do
	if ! command -v "$t" >/dev/null 2>&1; then
		log "$t is needed"
		exit 2
	fi
done
cmdtime=$build/bench/cmdtime
sshenv=$build/sshenv
for t in "$cmdtime" "$sshenv"; do
	if [ ! -x "$t" ]; then
		log "$t is missing: run 'make all' first"
		exit 2
	fi
done
cmdtime=$(cd "$(dirname "$cmdtime")" && pwd)/cmdtime
sshenv=$(cd "$(dirname "$sshenv")" && pwd)/sshenv
