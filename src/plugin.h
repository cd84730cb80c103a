/*
 * plugin: the agent and the supervisor live in sshenv-daemon.so, beside
 * the binary (or in PREFIX/lib/sshenv), which `sshenv agent` and `sshenv
 * daemon` load to run.  Why: `sshenv init` runs at every login, and
 * loading libcrypto and libuv was most of its time (1.9 ms of a 2 ms warm
 * init, against 1.1 ms without them); the short-lived client commands now
 * load neither.  It is still one command: the processes are `sshenv
 * agent` and `sshenv daemon`, as before.
 */
#ifndef SSHENV_PLUGIN_H
#define SSHENV_PLUGIN_H

#define PLUGIN_FILE "sshenv-daemon.so"
#define PLUGIN_ENTRY "sshenv_daemon_run"

/* The plugin's entry: runs the subcommand argv[0] ("agent", "daemon"). */
typedef int (*plugin_entry_fn)(const char *progname, int argc, char **argv);

/*
 * In the binary: finds and loads the plugin and runs argv[0] in it.
 * Returns the subcommand's exit code, or EXIT_ERROR (with a message on
 * stderr) if the plugin cannot be loaded.
 */
int plugin_run(int argc, char **argv);

#endif
