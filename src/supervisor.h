/*
 * supervisor: the per-user daemon (`sshenv daemon`).  It owns the runtime
 * directory, runs (or adopts) the agent at its stable socket and restarts
 * it if it dies, keeps ~/.ssh/environment true, tracks login sessions and
 * applies the logout policy when the last one ends.
 */
#ifndef SSHENV_SUPERVISOR_H
#define SSHENV_SUPERVISOR_H

/* The `sshenv daemon` subcommand; argv[0] is "daemon".  Returns exit code. */
int supervisor_main(int argc, char **argv);

#endif
