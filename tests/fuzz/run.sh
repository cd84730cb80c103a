#!/bin/sh
# Runs each fuzzer in build-fuzz/ for $FUZZ_SECS seconds on a scratch copy
# of its seed corpus (the repository's corpus is never written), and prints
# how many executions ran clean.  Exits non-zero on the first crash.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECS:-60}
status=0
for bin in "$top"/build-fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin" | sed 's/^fuzz_//')
	work=$(mktemp -d "${TMPDIR:-/tmp}/sshenv-fuzz.XXXXXX") || exit 2
	if [ -d "$top/tests/fuzz/corpus/$name" ]; then
		cp "$top/tests/fuzz/corpus/$name"/* "$work/" 2>/dev/null
	fi
	log=$work.log
	(cd "$work" && "$bin" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 "$work") >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ "$rc" -ne 0 ]; then
		echo "FAIL fuzz_$name (exit $rc); log: $log"
		tail -n 40 "$log"
		status=1
	else
		echo "ok   fuzz_$name: ${runs:-?} executions in ${secs}s, no crash"
		rm -f "$log"
	fi
	rm -rf "$work"
done
exit $status
