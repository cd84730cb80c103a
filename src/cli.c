#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "rtpaths.h"
#include "sserr.h"
#include "version.h"

struct command {
	const char *name;
	const char *args;
	const char *what;
	int (*run)(int argc, char **argv);
};

static int run_agent(int argc, char **argv);
static int run_daemon(int argc, char **argv);

static const struct command commands[] = {
	{ "init", "[-s|-c|-f] [-q] [--all-users] [-F config] [key ...]",
	    "register this login, start or reuse the agent, print the snippet",
	    client_init },
	{ "env", "[-s|-c|-f] [-F config]",
	    "print the snippet only (scripts, cron); starts nothing",
	    client_env },
	{ "logout", "[-q] [-F config]", "end this session now", client_logout },
	{ "status", "[--json] [-F config]",
	    "supervisor, agent, keys, sessions and policy", client_status },
	{ "doctor", "[-F config]",
	    "check the setup and name the remedy for each fault",
	    client_doctor },
	{ "stop", "[-s|-c|-f] [-q] [-F config]",
	    "stop the agent and the supervisor, wipe the keys", client_stop },
	{ "config", "[-F config]",
	    "the settings in force and where each came from", client_config },
	{ "log", "[-f|--follow] [-n count] [--json] [-a socket] [-F config]",
	    "what the agent's keys were used for, and what was refused",
	    client_log },
	{ "daemon", "[-D] [-F config]",
	    "the supervisor itself (started for you)", run_daemon },
	{ "agent", "[-cDdks] [-a socket] [-F allow|confirm|deny] [-t life]",
	    "the agent alone, with the flags of ssh-agent", run_agent },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *
find(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

void
cli_usage(const char *cmd, FILE *f)
{
	const struct command *c = find(cmd);

	if (c != NULL)
		fprintf(f, "usage: sshenv %s %s\n", c->name, c->args);
}

static void
help(FILE *f)
{
	size_t i;

	fprintf(f, "usage:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  sshenv %s %s\n      %s\n", commands[i].name,
		    commands[i].args, commands[i].what);
	fprintf(f,
	    "  sshenv --version\n      the version of sshenv and of "
	    "its helpers\n");
}

int
cli_exec_helper(const char *name, char **argv)
{
	char path[PATHS_MAX];
	int r;

	if ((r = rtpaths_helper(name, path, sizeof(path))) != 0) {
		fprintf(stderr,
		    "sshenv: cannot find the helper %s: %s (looked "
		    "beside %s and in its ../libexec/sshenv)\n",
		    name, sserr_str(r), rtpaths_progname);
		return EXIT_ERROR;
	}
	version_export();
	argv[0] = path;
	execv(path, argv);
	fprintf(stderr, "sshenv: cannot run %s: %s\n", path, strerror(errno));
	return EXIT_ERROR;
}

static int
run_agent(int argc, char **argv)
{
	(void)argc;
	return cli_exec_helper("sshenv-agent", argv);
}

static int
run_daemon(int argc, char **argv)
{
	(void)argc;
	return cli_exec_helper("sshenv-supervisor", argv);
}

/* The client's version, then each helper's as it reports it. */
static int
print_versions(void)
{
	static const char *const helpers[] = { "sshenv-supervisor",
		"sshenv-agent", "sshenv-token" };
	char path[PATHS_MAX], *args[3];
	size_t i;

	version_print("sshenv");
	fflush(stdout);
	for (i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		if (rtpaths_helper(helpers[i], path, sizeof(path)) != 0) {
			printf("%s not found\n", helpers[i]);
			continue;
		}
		args[0] = (char *)helpers[i];
		args[1] = "--version";
		args[2] = NULL;
		fflush(stdout);
		if (client_run_wait(path, args) != 0)
			printf("%s at %s did not answer\n", helpers[i], path);
	}
	return EXIT_OK;
}

int
cli_main(int argc, char **argv)
{
	const struct command *c;

	rtpaths_progname = argv[0];
	if (argc < 2) {
		help(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		help(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return print_versions();
	if ((c = find(argv[1])) == NULL) {
		fprintf(stderr, "sshenv: unknown command '%s'\n", argv[1]);
		help(stderr);
		return EXIT_USAGE;
	}
	/* The helpers answer --help themselves. */
	if (argc == 3 && c->run != run_agent && c->run != run_daemon &&
	    (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		cli_usage(c->name, stdout);
		printf("%s\n", c->what);
		return EXIT_OK;
	}
	return c->run(argc - 1, argv + 1);
}
