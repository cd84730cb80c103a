/*
 * sshenv-agent: the built-in agent, exec'd by `sshenv agent` and by the
 * supervisor.  Links libuv and libcrypto, never inih.
 */
#include "agent.h"
#include "version.h"

int
main(int argc, char **argv)
{
	return version_helper_main("sshenv-agent", argc, argv, agent_main);
}
