/*
 * sshenv-agent: the built-in agent, exec'd by `sshenv agent` and by the
 * supervisor.  Links libuv and libcrypto, never inih.
 */
#include <stdlib.h>

#include "agent.h"
#include "version.h"

int
main(int argc, char **argv)
{
	/* Run by ssh-add as its askpass, for a key's first use. */
	if (getenv("SSHENV_ASKPASS_SHIM") != NULL)
		return agent_askpass_shim(argc, argv);
	return version_helper_main("sshenv-agent", argc, argv, agent_main);
}
