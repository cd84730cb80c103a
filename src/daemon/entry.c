/*
 * The entry of sshenv-daemon.so (see plugin.h): the only symbol it
 * exports.
 */
#include <string.h>

#include "agent.h"
#include "cli.h"
#include "paths.h"
#include "plugin.h"
#include "supervisor.h"

__attribute__((visibility("default"))) int
sshenv_daemon_run(const char *progname, int argc, char **argv)
{
	paths_progname = progname;
	if (strcmp(argv[0], "agent") == 0)
		return agent_main(argc, argv);
	if (strcmp(argv[0], "daemon") == 0)
		return supervisor_main(argc, argv);
	return EXIT_USAGE;
}
