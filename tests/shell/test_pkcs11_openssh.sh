#!/bin/sh
# The PKCS#11 suite (pkcs11.inc, with a SoftHSM2 token) against OpenSSH's
# own ssh-agent: the reference for how an agent loads a module, holds and
# uses its keys, and refuses the adds it must refuse.
# Arguments: none, or -- test_name... to run some tests only.

# p11_agent_exec SOCK: the agent under test, in the foreground, allowing
# the modules in $P11_ALLOW.  The only line a suite for another agent
# changes.
p11_agent_exec() {
	exec ssh-agent -D -P "$P11_ALLOW" -a "$1"
}

P11_INC=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)/pkcs11.inc
# shellcheck source=tests/shell/pkcs11.inc
. "$P11_INC"
if [ -r /usr/bin/shunit2 ]; then
	. /usr/bin/shunit2
else
	. /usr/share/shunit2/shunit2
fi
