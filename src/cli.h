/*
 * cli: the subcommand table of the sshenv binary and its exit codes.
 * `sshenv agent` and `sshenv daemon` exec the helper programs
 * sshenv-agent and sshenv-supervisor (found with rtpaths_helper); every
 * other command runs in this process, which loads only libc and inih.
 */
#ifndef SSHENV_CLI_H
#define SSHENV_CLI_H

#include <stdio.h>

/* Exit codes are interface: see sshenv(1). */
enum {
	EXIT_OK = 0,
	EXIT_NEGATIVE = 1,  /* a negative answer, e.g. no keys */
	EXIT_NO_SERVER = 2, /* nothing to talk to */
	EXIT_ERROR = 3,	    /* an operation failed */
	EXIT_USAGE = 64	    /* bad command line (sysexits EX_USAGE) */
};

/* Runs the subcommand named by argv[1]; returns the process exit code. */
int cli_main(int argc, char **argv);

/* Prints "usage: sshenv CMD ..." for the named subcommand on f. */
void cli_usage(const char *cmd, FILE *f);

/*
 * Replaces this process with helper name ("sshenv-agent"), passing
 * argv[1..] and our build id; returns (EXIT_ERROR, with a message) only
 * if it cannot.
 */
int cli_exec_helper(const char *name, char **argv);

#endif
