#!/bin/sh
# The PKCS#11 suite (pkcs11.inc) against the built-in agent, "sshenv
# agent" with ssh-agent's flags: the same tests OpenSSH's agent passes
# (test_pkcs11_openssh.sh), with the module loaded in sshenv-token.
# Arguments: none, or -- test_name... to run some tests only.
# SSHENV_BIN: the binary under test (tests/run.sh exports it).

SSHENV_BIN=${SSHENV_BIN:-$(dirname "$0")/../../build/sshenv}

# p11_agent_exec SOCK: the agent under test, in the foreground.
p11_agent_exec() {
	exec "$SSHENV_BIN" agent -D -P "$P11_ALLOW" -a "$1"
}

P11_INC=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)/pkcs11.inc
# shellcheck source=tests/shell/pkcs11.inc
. "$P11_INC"
if [ -r /usr/bin/shunit2 ]; then
	. /usr/bin/shunit2
else
	. /usr/share/shunit2/shunit2
fi
