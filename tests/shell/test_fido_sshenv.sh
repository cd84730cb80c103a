#!/bin/sh
# The FIDO security key tests (fido.inc) against the built-in agent,
# "sshenv agent" with ssh-agent's flags, and sk-soft (tests/sk) as the
# authenticator: the same tests OpenSSH's agent passes
# (test_fido_openssh.sh), signed through sshenv-token.
# Arguments: none, or -- test_name... to run some tests only.
# SSHENV_BIN, SSHENV_BUILD: the build under test (tests/run.sh exports
# them).

fido_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
SSHENV_BUILD=${SSHENV_BUILD:-$fido_dir/../../build}
SSHENV_BIN=${SSHENV_BIN:-$SSHENV_BUILD/sshenv}
# The agent judges a provider by its real path: so is the allowlist.
fido_allow=$(realpath -- "$SSHENV_BUILD/tools")/'*'
FIDO_PROVIDER=$SSHENV_BUILD/tools/sk-soft.so
# It asks for a key's PIN through askpass, as ssh-agent does.
FIDO_AGENT_ASKS_PIN=yes

interop_agent_exec() {
	fido_env_exec "$SSHENV_BIN" agent -D -P "$fido_allow" -a "$1"
}

INTEROP_INC=$fido_dir/interop.inc
INTEROP_TESTS=$fido_dir/fido.inc
# shellcheck source=tests/shell/interop.inc
. "$INTEROP_INC"
# shellcheck source=tests/shell/fido.inc
. "$INTEROP_TESTS"
if [ -r /usr/bin/shunit2 ]; then
	. /usr/bin/shunit2
else
	. /usr/share/shunit2/shunit2
fi
