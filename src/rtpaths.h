/*
 * rtpaths: where sshenv keeps its runtime state, and the checks that make a
 * directory or socket safe to use: owned by us, not a symlink, not open to
 * others, short enough for sun_path.
 */
#ifndef SSHENV_RTPATHS_H
#define SSHENV_RTPATHS_H

#include <stddef.h>

#define PATHS_MAX 4096
/*
 * Everything in the runtime directory: its sockets must fit sun_path
 * (108 bytes), so every path there fits this; small fields keep each
 * process's copy of them to a page, not nine.
 */
#define RTPATHS_RUN_MAX 128

struct rtpaths {
	char rundir[RTPATHS_RUN_MAX];	   /* 0700, ours */
	char ctl_sock[RTPATHS_RUN_MAX];	   /* supervisor control socket */
	char agent_sock[RTPATHS_RUN_MAX];  /* the stable agent socket */
	char start_lock[RTPATHS_RUN_MAX];  /* serializes supervisor start-up */
	char daemon_lock[RTPATHS_RUN_MAX]; /* held by the running supervisor */
	char agent_pid[RTPATHS_RUN_MAX];   /* pid file of the agent */
	char daemon_pid[RTPATHS_RUN_MAX];  /* pid file of the supervisor */
	char sessions[RTPATHS_RUN_MAX]; /* registered sessions, for restarts */
	char envfile[PATHS_MAX];	/* ~/.ssh/environment */
};

/*
 * Computes every path: the runtime dir is override if non-NULL, else the
 * first of rtpaths_candidates(); the environment file is envfile if
 * non-NULL, else $HOME/.ssh/environment.  Creates nothing.
 * ERR_PATH_TOO_LONG if a socket path would not fit sun_path (every path
 * in the runtime directory then fits RTPATHS_RUN_MAX).
 */
int rtpaths_init(struct rtpaths *p, const char *override, const char *envfile);

#define RTPATHS_MAX_CANDIDATES 4

/*
 * Where a runtime dir of this user may be, best first: the session's
 * $XDG_RUNTIME_DIR/sshenv, /run/user/UID/sshenv when /run/user/UID is the
 * user's (the same dir for a job without the variable), the per-host
 * ~/.ssh/agent/sshenv-HOST, and /tmp/sshenv-UID last; only those whose
 * sockets fit sun_path.  Fills out (max entries); returns how many.
 */
int rtpaths_candidates(char (*out)[RTPATHS_RUN_MAX], int max);

/*
 * Makes sure dir exists as a real directory owned by us with no access for
 * group or others, creating it (and, for the default, its parent under
 * /tmp never) with mode 0700.  ERR_SYMLINK, ERR_BAD_OWNER, ERR_BAD_MODE
 * when it is not safe; nothing is followed or chmod'ed behind the user.
 */
int rtpaths_ensure_dir(const char *dir);

/*
 * Checks, without creating it, that dir is a real directory of ours with
 * no access for others (ERR_SYSTEM with errno ENOENT if it is missing).
 */
int rtpaths_check_dir(const char *dir);

/* Checks a path that must be ours and not a symlink, if it exists. */
int rtpaths_check_file(const char *path);

/* Binds a listening unix socket, mode 0600; a dead socket of ours there is
 * replaced, a live one is ERR_BUSY, anything else ERR_EXISTS. */
int rtpaths_listen(const char *path, int *fd);
/* Connects to a unix socket; ERR_NO_SERVER if nothing answers. */
int rtpaths_connect(const char *path, int *fd);
/* 1 if something accepts connections at path. */
int rtpaths_alive(const char *path);

/* Reads a pid file of ours (one pid, a newline at most after it): 0 and
 * *pid (as rtpaths_parse_pid), or an error. */
int rtpaths_read_pid(const char *path, long *pid);
/*
 * A process id as sshenv accepts one from any source (pid file,
 * SSH_AGENT_PID, environment file): decimal digits only, 2..INT_MAX.
 * 0 and *pid, or ERR_FORMAT (*pid 0).
 */
int rtpaths_parse_pid(const char *s, long *pid);

/* Writes a pid file with rtpaths_write_file. */
int rtpaths_write_pid(const char *path, long pid);

/*
 * Replaces path with len bytes of buf atomically: a temporary file in the
 * same directory, mode 0600, written, fsynced and renamed over path; on
 * any failure path is untouched and the temporary file removed.  0,
 * ERR_PATH_TOO_LONG, ERR_ALLOC or ERR_SYSTEM (errno says why).
 */
int rtpaths_write_file(const char *path, const void *buf, size_t len);

/*
 * Opens (creating, 0600, never through a symlink) the lock file path and
 * takes an exclusive flock on it, waiting up to timeout_ms; gives up at
 * once, with ERR_BUSY, when live_sock is non-NULL and something answers
 * there.  0 and *fdp (close it to release), ERR_BUSY or ERR_SYSTEM.
 */
int rtpaths_lock(const char *path, long timeout_ms, const char *live_sock,
    int *fdp);

/* argv[0] of the process, set once at start, for rtpaths_self_exe. */
extern const char *rtpaths_progname;

/*
 * The absolute path of our own binary, to start the supervisor or the
 * agent with: /proc/self/exe where there is one, else argv0 resolved
 * directly or through $PATH.  0 or ERR_NOT_FOUND.
 */
int rtpaths_self_exe(const char *argv0, char *buf, size_t size);

/*
 * The path of helper name ("sshenv-agent", "sshenv-supervisor"): beside
 * our own binary, in ../libexec/sshenv relative to it, or in the
 * LIBEXECDIR/sshenv this build was configured with; the first that is
 * executable.  0, ERR_NOT_FOUND or ERR_PATH_TOO_LONG (buf is "" then).
 */
int rtpaths_helper(const char *name, char *buf, size_t size);

/*
 * A listening socket passed by systemd socket activation (LISTEN_PID,
 * LISTEN_FDS, LISTEN_FDNAMES): the one named name, or the index-th when
 * no names were given.  -1 if there is none.
 */
int rtpaths_inherited_fd(const char *name, int index);
/* How many sockets systemd passed us (fds 3 and on), or 0. */
int rtpaths_inherited_count(void);
/* The path a listening unix socket is bound to, into buf; 0 or an error
 * (buf is left unchanged then). */
int rtpaths_sock_name(int fd, char *buf, size_t size);
/* Clears those variables, so that children do not take them for theirs. */
void rtpaths_forget_inherited(void);

#endif
