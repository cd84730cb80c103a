#!/bin/sh
# The one test runner: every unit binary and every shell suite, for each
# build directory named on the command line.  Prints a line per suite, the
# log of each failing suite, and last "N passed, M failed[, K skipped]".
# TESTS=glob limits the suites (matched against the suite's file name).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
logdir=${TEST_LOGDIR:-$top/build/test-logs}
mkdir -p "$logdir"
pass=0 fail=0 skip=0
# shunit2 colours its output whenever TERM is set, even into a log file.
export SHUNIT_COLOR=none
failed_suites=""

# shellcheck disable=SC2317
count() {	# suite-name logfile exit-status
	name=$1 log=$2 rc=$3
	p=0 f=0 s=0
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -n "$last" ]; then
		p=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/')
		f=$(echo "$last" | sed -E 's/.*, ([0-9]+) failed.*/\1/')
		case $last in *skipped*)
			s=$(echo "$last" | sed -E 's/.*, ([0-9]+) skipped.*/\1/');;
		esac
	elif grep -q '^Ran [0-9]* test' "$log"; then
		# shunit2 counts failed assertions, not tests: count the tests
		# (a line with just the test's name starts each) that printed
		# an ASSERT line, or a "SKIP:" line of our suites' own.
		set -- $(awk '
			/^test[A-Za-z0-9_]*$/ { n++; cur = n; next }
			/^Ran [0-9]+ tests?\./ { cur = 0; next }
			cur && /^ASSERT:/ { bad[cur] = 1 }
			cur && /^SKIP:/ { sk[cur] = 1 }
			END {
				f = 0; s = 0
				for (i = 1; i <= n; i++) {
					if (bad[i]) f++; else if (sk[i]) s++
				}
				print n - f - s, f, s
			}' "$log")
		p=$1 f=$2 s=$3
		if grep -q '^FAILED' "$log" && [ "$f" -eq 0 ]; then
			f=1	# a failure outside any test (setUp, oneTime*)
		fi
	fi
	# A suite that died without reporting, or reported success but exited
	# non-zero, counts as one failure.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	if [ $((p + f + s)) -eq 0 ]; then
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $name ($p passed, $f failed)"
		failed_suites="$failed_suites $log"
	else
		if [ "$s" -gt 0 ]; then
			echo "ok   $name ($p passed, $s skipped)"
		else
			echo "ok   $name ($p passed)"
		fi
	fi
}

for build in "$@"; do
	bdir=$top/$build
	[ -x "$bdir/sshenv" ] || { echo "no $bdir/sshenv: build first" >&2; exit 2; }
	export SSHENV_BIN="$bdir/sshenv" SSHENV_BUILD="$bdir"
	tag=$(basename "$build")
	for t in "$bdir"/tests/test_*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		case $n in ${TESTS:-*}) ;; *) continue;; esac
		log=$logdir/$tag-$n.log
		"$t" >"$log" 2>&1
		count "$tag/$n" "$log" $?
	done
	for t in "$top"/tests/shell/test_*.sh; do
		[ -f "$t" ] || continue
		n=$(basename "$t" .sh)
		case $n in ${TESTS:-*}) ;; *) continue;; esac
		log=$logdir/$tag-$n.log
		timeout 900 "$t" >"$log" 2>&1
		count "$tag/$n" "$log" $?
	done
done

for log in $failed_suites; do
	echo "----- $log"
	tail -n 200 "$log"
done
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
