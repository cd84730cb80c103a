/*
 * client: the short-lived subcommands that talk to the supervisor
 * (init, env, logout, status, stop, doctor, config).  Each takes its
 * subcommand's argv (argv[0] is the subcommand) and returns an exit code
 * from cli.h.
 */
#ifndef SSHENV_CLIENT_H
#define SSHENV_CLIENT_H

int client_init(int argc, char **argv);
int client_env(int argc, char **argv);
int client_logout(int argc, char **argv);
int client_status(int argc, char **argv);
int client_stop(int argc, char **argv);
int client_doctor(int argc, char **argv);
int client_config(int argc, char **argv);
int client_log(int argc, char **argv);

/* Runs path with argv and waits: 0 if it exited 0, else an error. */
int client_run_wait(const char *path, char **argv);

#endif
