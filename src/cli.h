/*
 * cli: the subcommand table of the sshenv binary and its exit codes.
 */
#ifndef SSHENV_CLI_H
#define SSHENV_CLI_H

/* Exit codes are interface: see sshenv(1). */
enum {
	EXIT_OK = 0,
	EXIT_NEGATIVE = 1,	/* a negative answer, e.g. no keys */
	EXIT_NO_SERVER = 2,	/* nothing to talk to */
	EXIT_ERROR = 3,		/* an operation failed */
	EXIT_USAGE = 64		/* bad command line (sysexits EX_USAGE) */
};

/* Runs the subcommand named by argv[1]; returns the process exit code. */
int cli_main(int argc, char **argv);

#endif
