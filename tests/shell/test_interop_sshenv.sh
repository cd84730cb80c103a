#!/bin/sh
# The interoperability suite (interop.inc) against the built-in agent,
# "sshenv agent", used alone with the flags of ssh-agent.
# Arguments: none, or -- test_name... to run some tests only.
# SSHENV_BIN: the binary under test (tests/run.sh exports it).

SSHENV_BIN=${SSHENV_BIN:-$(dirname "$0")/../../build/sshenv}

# interop_agent_exec SOCK: the agent under test, in the foreground.
interop_agent_exec() {
	exec "$SSHENV_BIN" agent -D -a "$1"
}

INTEROP_INC=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)/interop.inc
# shellcheck source=tests/shell/interop.inc
. "$INTEROP_INC"
if [ -r /usr/bin/shunit2 ]; then
	. /usr/bin/shunit2
else
	. /usr/share/shunit2/shunit2
fi
