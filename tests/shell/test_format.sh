#!/bin/sh
# The tree is formatted by its .clang-format: every C file under src/,
# tests/ and bench/ is as clang-format leaves it.  Formatting differs
# between clang-format versions, so the check runs with the one the
# project formats with (Debian 12's, 14) and skips with any other.

top=$(cd "$(dirname "$0")/../.." && pwd)

test_tree_is_formatted() {
	if ! command -v clang-format >/dev/null 2>&1; then
		echo "SKIP: no clang-format (scripts/deps.sh test installs it)"
		return 0
	fi
	v=$(clang-format --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
	if [ "$v" != 14 ]; then
		echo "SKIP: clang-format $v formats differently from 14"
		return 0
	fi
	cd "$top" || return 1
	files=$(ls src/*.[ch] tests/unit/*.[ch] tests/tools/*.[ch] \
	    tests/fuzz/*.c tests/sk/*.c bench/*.c)
	# shellcheck disable=SC2086 # a list of file names without spaces
	out=$(clang-format --dry-run -Werror $files 2>&1)
	assertEquals "files not formatted (run clang-format -i on them): \
$(printf '%s\n' "$out" | sed -n 's/^\([^:]*\):.*error.*/\1/p' | sort -u)" \
	    0 $?
}

SHUNIT_COLOR=none
. /usr/bin/shunit2
