/*
 * fwdscan: the agent sockets sshd made for the user's logins that never
 * registered with the supervisor (`ssh -A host cmd`, `ssh -A -t host
 * tmux attach`, an editor's remote session: no login profile runs), as
 * the stable socket may follow them too.  OpenSSH before 10.1 puts them
 * at /tmp/ssh-XXXXXXXXXX/agent.PID, 10.1 and later at
 * ~/.ssh/agent/s.NAME.sshd.NAME.  libc only: the client lists them in
 * `sshenv status`, the agent serves them.
 */
#ifndef SSHENV_FWDSCAN_H
#define SSHENV_FWDSCAN_H

#include <stdint.h>

/* Sockets returned at most; their paths' size (a sockaddr_un's). */
#define FWDSCAN_MAX 32
#define FWDSCAN_PATH_MAX 108

struct fwdsock {
	char path[FWDSCAN_PATH_MAX];
	int64_t mtime_ns; /* when sshd made it */
};

/*
 * The sockets found under tmpdir (normally "/tmp") and home (NULL: not
 * looked at), newest first, at most max: each a socket owned by the
 * effective uid in a directory owned by it (or, for ~/.ssh/agent, by
 * root) that no one else may write to, and under tmpdir named after a
 * live sshd process (ssh-agent's own sockets look the same, but are
 * named after the agent's parent).  Whether anything listens there is
 * not checked, and a path too long to connect to is left out.  Returns
 * how many.
 */
int fwdscan(const char *tmpdir, const char *home, struct fwdsock *out, int max);

/* When the socket at path was made (ns since the epoch), or -1: gone. */
int64_t fwdscan_mtime(const char *path);

#endif
