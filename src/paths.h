/*
 * paths: where sshenv keeps its runtime state, and the checks that make a
 * directory or socket safe to use: owned by us, not a symlink, not open to
 * others, short enough for sun_path.
 */
#ifndef SSHENV_PATHS_H
#define SSHENV_PATHS_H

#include <stddef.h>

#define PATHS_MAX 4096

struct paths {
	char rundir[PATHS_MAX];		/* 0700, ours */
	char ctl_sock[PATHS_MAX];	/* supervisor control socket */
	char agent_sock[PATHS_MAX];	/* the stable agent socket */
	char start_lock[PATHS_MAX];	/* serializes supervisor start-up */
	char daemon_lock[PATHS_MAX];	/* held by the running supervisor */
	char agent_pid[PATHS_MAX];	/* pid file of the agent */
	char daemon_pid[PATHS_MAX];	/* pid file of the supervisor */
	char sessions[PATHS_MAX];	/* registered sessions, for restarts */
	char envfile[PATHS_MAX];	/* ~/.ssh/environment */
};

/*
 * Computes every path: the runtime dir is override if non-NULL, else
 * $XDG_RUNTIME_DIR/sshenv, else /tmp/sshenv-UID; the environment file is
 * envfile if non-NULL, else $HOME/.ssh/environment.  Creates nothing.
 * ERR_PATH_TOO_LONG if a socket path would not fit sun_path.
 */
int paths_init(struct paths *p, const char *override, const char *envfile);

/*
 * Makes sure dir exists as a real directory owned by us with no access for
 * group or others, creating it (and, for the default, its parent under
 * /tmp never) with mode 0700.  ERR_SYMLINK, ERR_BAD_OWNER, ERR_BAD_MODE
 * when it is not safe; nothing is followed or chmod'ed behind the user.
 */
int paths_ensure_dir(const char *dir);

/*
 * Checks, without creating it, that dir is a real directory of ours with
 * no access for others (ERR_SYSTEM with errno ENOENT if it is missing).
 */
int paths_check_dir(const char *dir);

/* Checks a path that must be ours and not a symlink, if it exists. */
int paths_check_file(const char *path);

/* Binds a listening unix socket, mode 0600; a dead socket of ours there is
 * replaced, a live one is ERR_BUSY, anything else ERR_EXISTS. */
int paths_listen(const char *path, int *fd);
/* Connects to a unix socket; ERR_NO_SERVER if nothing answers. */
int paths_connect(const char *path, int *fd);
/* 1 if something accepts connections at path. */
int paths_alive(const char *path);

/* Reads a pid file of ours: 0 and *pid, or an error. */
int paths_read_pid(const char *path, long *pid);
/* Writes a pid file atomically (temp file, rename), mode 0600. */
int paths_write_pid(const char *path, long pid);

/* argv[0] of the process, set once at start, for paths_self_exe. */
extern const char *paths_progname;

/*
 * The absolute path of our own binary, to start the supervisor or the
 * agent with: /proc/self/exe where there is one, else argv0 resolved
 * directly or through $PATH.  0 or ERR_NOT_FOUND.
 */
int paths_self_exe(const char *argv0, char *buf, size_t size);

/*
 * A listening socket passed by systemd socket activation (LISTEN_PID,
 * LISTEN_FDS, LISTEN_FDNAMES): the one named name, or the index-th when
 * no names were given.  -1 if there is none.
 */
int paths_inherited_fd(const char *name, int index);
/* The path a listening unix socket is bound to, into buf; 0 or an error
 * (buf is left unchanged then). */
int paths_sock_name(int fd, char *buf, size_t size);
/* Clears those variables, so that children do not take them for theirs. */
void paths_forget_inherited(void);

#endif
