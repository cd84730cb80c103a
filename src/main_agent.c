/*
 * sshenv-agent: the built-in agent, exec'd by `sshenv agent` and by the
 * supervisor.  Links libuv and libcrypto, never inih.
 */
#include <string.h>

#include "agent.h"
#include "cli.h"
#include "rtpaths.h"
#include "version.h"

int
main(int argc, char **argv)
{
	rtpaths_progname = argv[0];
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		version_print("sshenv-agent");
		return EXIT_OK;
	}
	if (version_check_parent("sshenv-agent") != 0)
		return EXIT_ERROR;
	return agent_main(argc, argv);
}
