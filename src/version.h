/*
 * version: what this build is, and the check that the three programs of
 * one installation (the sshenv client and its helpers sshenv-supervisor
 * and sshenv-agent) come from the same build.  The client and the
 * supervisor put their build id in the environment of each helper they
 * exec; a helper of another build refuses to run with a message that
 * says what to do, instead of misreading a protocol that changed.
 */
#ifndef SSHENV_VERSION_H
#define SSHENV_VERSION_H

#define SSHENV_VERSION "0.6.0"

/* The variable that carries the parent's build id to a helper. */
#define VERSION_ENV "SSHENV_BUILD_ID"

/* This build's id: a hash of the sources and the flags they were built
 * with, set by the Makefile. */
extern const char version_build_id[];

/* Prints "PROG VERSION (build ID)" on stdout. */
void version_print(const char *prog);

/*
 * In a helper, before anything else: if the parent named a build and it
 * is not ours, prints why on stderr and returns -1; else 0.  Clears the
 * variable either way, so that it never leaks to other programs.
 */
int version_check_parent(const char *prog);

/*
 * A helper's main: answers --version, checks the parent's build, then
 * runs fn(argc, argv).  Returns the exit code (3 on a build mismatch).
 */
int version_helper_main(const char *prog, int argc, char **argv,
    int (*fn)(int argc, char **argv));

/* Before exec'ing a helper: names our build in the environment. */
void version_export(void);

#endif
