#include <stdio.h>

#include "agent.h"
#include "cli.h"

int
agent_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "sshenv agent: not yet\n");
	return EXIT_ERROR;
}
