#!/bin/sh
# The interoperability suite (interop.inc) against OpenSSH's own
# ssh-agent: the reference that the sshenv agent must match.
# Arguments: none, or -- test_name... to run some tests only.

# interop_agent_exec SOCK: the agent under test, in the foreground.
interop_agent_exec() {
	exec ssh-agent -D -a "$1"
}

INTEROP_INC=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)/interop.inc
# shellcheck source=tests/shell/interop.inc
. "$INTEROP_INC"
if [ -r /usr/bin/shunit2 ]; then
	. /usr/bin/shunit2
else
	. /usr/share/shunit2/shunit2
fi
