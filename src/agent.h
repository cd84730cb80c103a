/*
 * agent: the built-in SSH agent daemon (`sshenv agent`).
 */
#ifndef SSHENV_AGENT_H
#define SSHENV_AGENT_H

/* The `sshenv agent` subcommand; argv[0] is "agent".  Returns exit code. */
int agent_main(int argc, char **argv);

#endif
