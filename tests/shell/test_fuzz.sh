#!/bin/sh
# A short smoke run of each libFuzzer harness (make fuzz runs them longer):
# each must run FUZZ_SMOKE_SECS seconds from its seed corpus without a
# crash, a sanitizer report or a leak.  The harnesses are built by
# `make check` into build-fuzz/; they run once, with the plain build.

top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SMOKE_SECS:-10}

smoke() {
	bin=$top/build-fuzz/fuzz_$1
	case ${SSHENV_BUILD:-build} in
	*-san*|*-portable*)
		echo "SKIP: fuzzers run once, with the plain build's pass"
		return 0 ;;
	esac
	assertTrue "fuzz_$1 is built (make fuzz-build)" "[ -x '$bin' ]" ||
		return
	work=$(mktemp -d "${TMPDIR:-/tmp}/sshenv-fuzz.XXXXXX")
	cp "$top/tests/fuzz/corpus/$1"/* "$work/" 2>/dev/null
	(cd "$work" && "$bin" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 "$work") \
	    >"$work.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
	echo "fuzz_$1: ${runs:-0} executions in ${secs}s"
	[ "$rc" -eq 0 ] || tail -n 40 "$work.log"
	assertEquals "fuzz_$1 exit status" 0 "$rc"
	assertTrue "fuzz_$1 ran inputs" "[ '${runs:-0}' -gt 100 ]"
	rm -rf "$work" "$work.log"
}

test_fuzz_agent() { smoke agent; }
test_fuzz_ctl() { smoke ctl; }
test_fuzz_config() { smoke config; }

. /usr/bin/shunit2
