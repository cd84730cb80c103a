#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "compat.h"
#include "sserr.h"

void
compat_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

#if defined(__linux__) && defined(SSHENV_PORTABLE)
/*
 * Linux has no getpeereid(); a portable build goes through this one, as
 * on the BSDs and Cygwin, so that the code path it tests is the same.
 */
static int
getpeereid(int fd, uid_t *uid, gid_t *gid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return -1;
	*uid = cred.uid;
	*gid = cred.gid;
	return 0;
}
#endif

#if defined(SO_PEERCRED) && !defined(SSHENV_PORTABLE)
static int
peer_cred(int fd, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) == 0 ?
	    0 :
	    ERR_SYSTEM;
}
#endif

int
compat_peer_uid(int fd, uid_t *uid)
{
#if defined(SO_PEERCRED) && !defined(SSHENV_PORTABLE)
	struct ucred cred;

	*uid = (uid_t)-1;
	if (peer_cred(fd, &cred) != 0)
		return ERR_SYSTEM;
	*uid = cred.uid;
	return 0;
#else
	gid_t gid;

	*uid = (uid_t)-1;
	if (getpeereid(fd, uid, &gid) != 0)
		return ERR_SYSTEM;
	return 0;
#endif
}

int
compat_peer_uid_ok(int fd)
{
	uid_t uid;

	if (compat_peer_uid(fd, &uid) != 0)
		return ERR_DENIED;
	return uid == 0 || uid == getuid() ? 0 : ERR_DENIED;
}

int
compat_harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		return ERR_SYSTEM;
#ifdef __linux__
	/* Not dumpable also means: no ptrace and no /proc/PID/mem for peers. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return ERR_SYSTEM;
#endif
	return 0;
}

int
compat_parent_death_signal(int signo)
{
#if defined(__linux__) && !defined(SSHENV_PORTABLE)
	return prctl(PR_SET_PDEATHSIG, signo, 0, 0, 0) == 0 ? 0 : ERR_SYSTEM;
#else
	(void)signo;
	return ERR_UNSUPPORTED;
#endif
}

void
compat_lower_thread_priority(void)
{
#if defined(__linux__) && defined(SYS_gettid)
	/* On Linux, nice is per thread when given a thread id. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
#endif
}

void
compat_sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t n;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	close(fd);
}

long
compat_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void
compat_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * getentropy is in glibc (2.25), the BSDs, macOS and Cygwin alike; it
 * gives at most 256 bytes a call and never a short read.
 */
int
compat_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t chunk;

	while (n > 0) {
		chunk = n > 256 ? 256 : n;
		if (getentropy(p, chunk) != 0)
			return ERR_SYSTEM;
		p += chunk;
		n -= chunk;
	}
	return 0;
}

void
compat_stdio_to_null(int with_stderr)
{
	int fd;

	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return;
	/* dup2 clears close-on-exec on the copies. */
	dup2(fd, 0);
	dup2(fd, 1);
	if (with_stderr)
		dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static int
kept(int fd, const int *keep, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (keep[i] == fd)
			return 1;
	return 0;
}

void
compat_close_inherited(const int *keep, int n)
{
	int fds[1024], nfds = 0, fd, i;
	struct dirent *e;
	DIR *d;

	/* The open descriptors, where the system lists them. */
	if ((d = opendir("/proc/self/fd")) != NULL ||
	    (d = opendir("/dev/fd")) != NULL) {
		while ((e = readdir(d)) != NULL && nfds < 1024) {
			fd = atoi(e->d_name);
			if (fd > 2 && fd != dirfd(d) && !kept(fd, keep, n))
				fds[nfds++] = fd;
		}
		closedir(d);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (nfds < 1024)
			return;
	}
	/* Else (or too many to list): every descriptor a login could
	 * plausibly hold. */
	for (fd = 3; fd < 1024; fd++)
		if (!kept(fd, keep, n))
			close(fd);
}

int
compat_peer_pid(int fd, long *pid)
{
#if defined(SO_PEERCRED) && !defined(SSHENV_PORTABLE)
	struct ucred cred;

	*pid = 0;
	if (peer_cred(fd, &cred) != 0)
		return ERR_SYSTEM;
	/* 0: a peer in a pid namespace we cannot see into. */
	*pid = cred.pid;
	return 0;
#else
	(void)fd;
	*pid = 0;
	return ERR_UNSUPPORTED;
#endif
}

long
compat_boottime_ms(void)
{
	struct timespec ts;

#ifdef CLOCK_BOOTTIME
	if (clock_gettime(CLOCK_BOOTTIME, &ts) == 0)
		return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
#endif
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}
