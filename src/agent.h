/*
 * agent: the built-in SSH agent daemon (`sshenv agent`).
 */
#ifndef SSHENV_AGENT_H
#define SSHENV_AGENT_H

/* The `sshenv agent` subcommand; argv[0] is "agent".  Returns exit code. */
int agent_main(int argc, char **argv);

/*
 * The askpass that the agent gives the ssh-add it runs to load a key on
 * its first use (SSHENV_ASKPASS_SHIM set): runs the user's askpass
 * (SSHENV_ASKPASS) for the first question, and answers no to ssh-add's
 * "Bad passphrase, try again", so that a wrong passphrase refuses that
 * one use.  Returns only on failure (1, a no).
 */
int agent_askpass_shim(int argc, char **argv);

#endif
