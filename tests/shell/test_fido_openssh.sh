#!/bin/sh
# The FIDO security key tests (fido.inc) against OpenSSH's own ssh-agent,
# with sk-soft (tests/sk) as the authenticator: the reference that the
# sshenv agent must match.
# Arguments: none, or -- test_name... to run some tests only.
# SSHENV_BUILD: the build tree whose tools/sk-soft.so is used (default
# build/ beside the sources).

fido_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
SSHENV_BUILD=${SSHENV_BUILD:-$fido_dir/../../build}
# ssh-agent judges a provider by its real path: so is the allowlist.
fido_allow=$(realpath -- "$SSHENV_BUILD/tools")/'*'
FIDO_PROVIDER=$SSHENV_BUILD/tools/sk-soft.so
# OpenSSH's ssh-agent asks for a security key's PIN through SSH_ASKPASS
# (ssh-agent.c, process_sign_request: retry_pin).
FIDO_AGENT_ASKS_PIN=yes

# interop_agent_exec SOCK: the agent under test, in the foreground, with
# the middleware's environment and the build's tools as its providers.
interop_agent_exec() {
	fido_env_exec ssh-agent -D -P "$fido_allow" -a "$1"
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
