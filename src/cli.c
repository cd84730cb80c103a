#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "paths.h"
#include "plugin.h"

struct command {
	const char *name;
	const char *usage;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "init", "init [-s|-c|-f] [-q] [-F config] [key ...]", client_init },
	{ "env", "env [-s|-c|-f] [-F config]", client_env },
	{ "logout", "logout [-q] [-F config]", client_logout },
	{ "status", "status [--json] [-F config]", client_status },
	{ "doctor", "doctor [-F config]", client_doctor },
	{ "stop", "stop [-s|-c|-f] [-q] [-F config]", client_stop },
	{ "config", "config [-F config]", client_config },
	{ "daemon", "daemon [-D] [-F config]", plugin_run },
	{ "agent", "agent [-cDdks] [-a socket] [-t life]", plugin_run },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  sshenv %s\n", commands[i].usage);
}

int
cli_main(int argc, char **argv)
{
	size_t i;

	paths_progname = argv[0];
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "sshenv: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
