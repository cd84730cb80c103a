#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "compat.h"
#include "sserr.h"
#include "rtpaths.h"

const char *rtpaths_progname;

static int
join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, RTPATHS_RUN_MAX, "%s/%s", dir, name);

	return n < 0 || n >= RTPATHS_RUN_MAX ? ERR_PATH_TOO_LONG : 0;
}

int
rtpaths_init(struct rtpaths *p, const char *override, const char *envfile)
{
	struct sockaddr_un sun;
	const char *xdg = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME");
	int r, n;

	char cand[RTPATHS_MAX_CANDIDATES][RTPATHS_RUN_MAX];

	/* All but the environment file's buffer, which is written below. */
	memset(p, 0, offsetof(struct rtpaths, envfile));
	p->envfile[0] = '\0';
	(void)xdg;
	if (override != NULL && *override != '\0')
		n = snprintf(p->rundir, sizeof(p->rundir), "%s", override);
	else if (rtpaths_candidates(cand, RTPATHS_MAX_CANDIDATES) > 0)
		n = snprintf(p->rundir, sizeof(p->rundir), "%s", cand[0]);
	else
		n = -1;
	if (n < 0 || (size_t)n >= sizeof(p->rundir))
		return ERR_PATH_TOO_LONG;
	if ((r = join(p->ctl_sock, p->rundir, "control.sock")) ||
	    (r = join(p->agent_sock, p->rundir, "agent.sock")) ||
	    (r = join(p->start_lock, p->rundir, "start.lock")) ||
	    (r = join(p->daemon_lock, p->rundir, "daemon.lock")) ||
	    (r = join(p->agent_pid, p->rundir, "agent.pid")) ||
	    (r = join(p->daemon_pid, p->rundir, "daemon.pid")) ||
	    (r = join(p->sessions, p->rundir, "sessions")))
		return r;
	if (strlen(p->ctl_sock) >= sizeof(sun.sun_path) ||
	    strlen(p->agent_sock) >= sizeof(sun.sun_path))
		return ERR_PATH_TOO_LONG;
	if (envfile != NULL && *envfile != '\0')
		n = snprintf(p->envfile, PATHS_MAX, "%s", envfile);
	else if (home != NULL && *home == '/')
		n = snprintf(p->envfile, PATHS_MAX, "%s/.ssh/environment",
		    home);
	else
		n = 0; /* no home: no environment file */
	if (n < 0 || n >= PATHS_MAX)
		return ERR_PATH_TOO_LONG;
	return 0;
}

int
rtpaths_check_dir(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) != 0)
		return ERR_SYSTEM;
	if (S_ISLNK(st.st_mode))
		return ERR_SYMLINK;
	if (!S_ISDIR(st.st_mode))
		return ERR_EXISTS;
	if (st.st_uid != getuid())
		return ERR_BAD_OWNER;
	if (st.st_mode & 077)
		return ERR_BAD_MODE;
	return 0;
}

/*
 * The fallback under ~/.ssh/agent/ needs its parents: made 0700 when
 * missing (never chmod'ed when there).  Any other dir's parents are the
 * system's or the user's business.
 */
static void
ensure_agent_parents(const char *dir)
{
	const char *home = getenv("HOME");
	char buf[PATHS_MAX];

	if (home == NULL || *home != '/')
		return;
	snprintf(buf, sizeof(buf), "%s/.ssh/agent/", home);
	if (strncmp(dir, buf, strlen(buf)) != 0)
		return;
	snprintf(buf, sizeof(buf), "%s/.ssh", home);
	(void)mkdir(buf, 0700);
	snprintf(buf, sizeof(buf), "%s/.ssh/agent", home);
	(void)mkdir(buf, 0700);
}

/* dir is a real directory of ours (not a symlink): a place to use. */
static int
ours(const char *dir)
{
	struct stat st;

	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == getuid();
}

/* Adds "fmt..." to the list if it fits and is not there yet. */
static void
add_candidate(char (*out)[RTPATHS_RUN_MAX], int max, int *n, const char *path)
{
	int i;

	if (*n >= max || strlen(path) >= RTPATHS_RUN_MAX - 16)
		return; /* its sockets would not fit sun_path */
	for (i = 0; i < *n; i++)
		if (strcmp(out[i], path) == 0)
			return;
	snprintf(out[*n], RTPATHS_RUN_MAX, "%s", path);
	(*n)++;
}

int
rtpaths_candidates(char (*out)[RTPATHS_RUN_MAX], int max)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME");
	char buf[PATHS_MAX], host[256];
	int n = 0;

	/*
	 * The same choice from every environment: a login (with
	 * XDG_RUNTIME_DIR) and a cron job (without) of one user must find
	 * one supervisor.  The session's own runtime dir when it names one;
	 * else the user's /run/user/UID, which is the same dir without the
	 * variable; else a per-host directory in the user's own ~/.ssh (a
	 * home shared by several hosts holds one per host), as OpenSSH 10.1
	 * does; a guessable /tmp path only when that would not fit a socket
	 * path.
	 */
	if (xdg != NULL && *xdg == '/') {
		snprintf(buf, sizeof(buf), "%s/sshenv", xdg);
		add_candidate(out, max, &n, buf);
	}
	snprintf(buf, sizeof(buf), "/run/user/%ld", (long)getuid());
	if (ours(buf)) {
		snprintf(buf, sizeof(buf), "/run/user/%ld/sshenv",
		    (long)getuid());
		add_candidate(out, max, &n, buf);
	}
	if (home != NULL && *home == '/') {
		if (gethostname(host, sizeof(host) - 1) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, "/")] = '\0';
		snprintf(buf, sizeof(buf), "%s/.ssh/agent/sshenv-%s", home,
		    host);
		add_candidate(out, max, &n, buf);
	}
	snprintf(buf, sizeof(buf), "/tmp/sshenv-%ld", (long)getuid());
	add_candidate(out, max, &n, buf);
	return n;
}

int
rtpaths_ensure_dir(const char *dir)
{
	int r;

	if ((r = rtpaths_check_dir(dir)) != ERR_SYSTEM || errno != ENOENT)
		return r;
	ensure_agent_parents(dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ERR_SYSTEM;
	/* Whoever made it, it must pass the same checks now. */
	return rtpaths_check_dir(dir);
}

int
rtpaths_check_file(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : ERR_SYSTEM;
	if (S_ISLNK(st.st_mode))
		return ERR_SYMLINK;
	if (st.st_uid != getuid())
		return ERR_BAD_OWNER;
	return 0;
}

static int
fill_sun(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return ERR_PATH_TOO_LONG;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

int
rtpaths_connect(const char *path, int *fdp)
{
	struct sockaddr_un sun;
	int fd, r;

	*fdp = -1;
	if ((r = fill_sun(&sun, path)) != 0)
		return r;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ERR_SYSTEM;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return ERR_NO_SERVER;
	}
	*fdp = fd;
	return 0;
}

int
rtpaths_alive(const char *path)
{
	int fd;

	if (rtpaths_connect(path, &fd) != 0)
		return 0;
	close(fd);
	return 1;
}

int
rtpaths_listen(const char *path, int *fdp)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd, r, e;

	*fdp = -1;
	if ((r = fill_sun(&sun, path)) != 0)
		return r;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode) || st.st_uid != getuid())
			return ERR_EXISTS;
		if (rtpaths_alive(path))
			return ERR_BUSY;
		if (unlink(path) != 0)
			return ERR_SYSTEM;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ERR_SYSTEM;
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r != 0 || listen(fd, SOMAXCONN) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return e == EADDRINUSE ? ERR_BUSY : ERR_SYSTEM;
	}
	*fdp = fd;
	return 0;
}

int
rtpaths_read_pid(const char *path, long *pid)
{
	char buf[32];
	ssize_t n;
	int fd, r;

	*pid = 0;
	if ((r = rtpaths_check_file(path)) != 0)
		return r;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_SYSTEM;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return ERR_FORMAT;
	buf[n] = '\0';
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return rtpaths_parse_pid(buf, pid);
}

int
rtpaths_parse_pid(const char *s, long *pid)
{
	long v = 0;

	*pid = 0;
	if (*s == '\0')
		return ERR_FORMAT;
	/* Digits only: no sign, no space, no wrap to 0, 1 or -1, which
	 * kill() takes for a process group or every process. */
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return ERR_FORMAT;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return ERR_FORMAT;
	}
	if (v < 2)
		return ERR_FORMAT;
	*pid = v;
	return 0;
}

/*
 * The temp name is on the heap, sized to the path: a PATHS_MAX array here
 * was the supervisor's deepest stack page (save_sessions calls us from
 * the loop), private memory for the rest of its life.
 */
int
rtpaths_write_file(const char *path, const void *buf, size_t len)
{
	char *tmp = NULL;
	const char *p = buf;
	size_t plen = strlen(path);
	ssize_t n;
	int fd = -1, r = ERR_SYSTEM, e;

	if (plen + sizeof(".XXXXXX") > PATHS_MAX + 16)
		return ERR_PATH_TOO_LONG;
	if ((tmp = malloc(plen + sizeof(".XXXXXX"))) == NULL)
		return ERR_ALLOC;
	snprintf(tmp, plen + sizeof(".XXXXXX"), "%s.XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		tmp[0] = '\0';
		goto out;
	}
	if (fchmod(fd, 0600) != 0)
		goto out;
	for (; len > 0; p += n, len -= (size_t)n)
		if ((n = write(fd, p, len)) < 0)
			goto out;
	/* On disk before it is in place: a crash leaves old or new. */
	if (fsync(fd) != 0)
		goto out;
	e = close(fd);
	fd = -1;
	if (e != 0 || rename(tmp, path) != 0)
		goto out;
	tmp[0] = '\0';
	r = 0;
out:
	e = errno;
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	free(tmp);
	errno = e;
	return r;
}

int
rtpaths_write_pid(const char *path, long pid)
{
	char buf[32];
	int n;

	n = snprintf(buf, sizeof(buf), "%ld\n", pid);
	return rtpaths_write_file(path, buf, (size_t)n);
}

int
rtpaths_lock(const char *path, long timeout_ms, const char *live_sock, int *fdp)
{
	long deadline = compat_now_ms() + timeout_ms;
	int fd;

	*fdp = -1;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ERR_SYSTEM;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK || compat_now_ms() > deadline ||
		    (live_sock != NULL && rtpaths_alive(live_sock))) {
			close(fd);
			return ERR_BUSY;
		}
		compat_sleep_ms(5);
	}
	*fdp = fd;
	return 0;
}

int
rtpaths_inherited_count(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long n;

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid())
		return 0;
	n = atol(fds);
	return n < 1 || n > 64 ? 0 : (int)n;
}

int
rtpaths_inherited_fd(const char *name, int index)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES"), *p;
	size_t nl = strlen(name);
	long n;
	int i;

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid())
		return -1;
	n = atol(fds);
	if (n < 1 || n > 64)
		return -1;
	if (names != NULL && *names != '\0') {
		/* A colon-separated list, one name per descriptor. */
		for (i = 0, p = names; i < n && p != NULL; i++) {
			if (strncmp(p, name, nl) == 0 &&
			    (p[nl] == ':' || p[nl] == '\0'))
				return 3 + i;
			if ((p = strchr(p, ':')) != NULL)
				p++;
		}
	}
	/* No name matched (or none given): go by position. */
	return index < n ? 3 + index : -1;
}

void
rtpaths_forget_inherited(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

int
rtpaths_self_exe(const char *argv0, char *buf, size_t size)
{
	char cand[PATHS_MAX], resolved[PATH_MAX];
	const char *path = getenv("PATH"), *p, *end;
	size_t n;

#ifndef SSHENV_PORTABLE
	ssize_t len = readlink("/proc/self/exe", buf, size - 1);

	if (len > 0) {
		buf[len] = '\0';
		return 0;
	}
#endif
	if (argv0 == NULL || *argv0 == '\0')
		return ERR_NOT_FOUND;
	if (strchr(argv0, '/') != NULL) {
		if (realpath(argv0, resolved) == NULL)
			return ERR_NOT_FOUND;
		goto found;
	}
	for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0'; p = end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if ((size_t)snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, p,
			argv0) < sizeof(cand) &&
		    n > 0 && access(cand, X_OK) == 0 &&
		    realpath(cand, resolved) != NULL)
			goto found;
		if (*end == ':')
			end++;
	}
	return ERR_NOT_FOUND;
found:
	if (strlen(resolved) >= size)
		return ERR_PATH_TOO_LONG;
	memcpy(buf, resolved, strlen(resolved) + 1);
	return 0;
}

#ifndef SSHENV_LIBEXECDIR
#define SSHENV_LIBEXECDIR "/usr/local/libexec"
#endif

int
rtpaths_helper(const char *name, char *buf, size_t size)
{
	char self[PATHS_MAX], *slash;
	const char *dirs[3];
	size_t i;
	int r, n;

	buf[0] = '\0';
	if ((r = rtpaths_self_exe(rtpaths_progname, self, sizeof(self))) != 0)
		return r;
	if ((slash = strrchr(self, '/')) == NULL)
		return ERR_NOT_FOUND;
	*slash = '\0';
	/*
	 * Beside us (a build tree, or the helpers themselves), then where
	 * an install tree puts them relative to us (so that a tree moved
	 * whole still works), then where this build was told to install
	 * them.
	 */
	dirs[0] = "";
	dirs[1] = "/../libexec/sshenv";
	dirs[2] = NULL;
	for (i = 0; i < 3; i++) {
		if (dirs[i] != NULL)
			n = snprintf(buf, size, "%s%s/%s", self, dirs[i], name);
		else
			n = snprintf(buf, size, "%s/sshenv/%s",
			    SSHENV_LIBEXECDIR, name);
		if (n < 0 || (size_t)n >= size) {
			buf[0] = '\0';
			return ERR_PATH_TOO_LONG;
		}
		if (access(buf, X_OK) == 0)
			return 0;
	}
	buf[0] = '\0';
	return ERR_NOT_FOUND;
}

int
rtpaths_sock_name(int fd, char *buf, size_t size)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	size_t n;

	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &len) != 0)
		return ERR_SYSTEM;
	if (sun.sun_family != AF_UNIX || sun.sun_path[0] != '/')
		return ERR_FORMAT;
	n = strnlen(sun.sun_path, sizeof(sun.sun_path));
	if (n >= size || n == sizeof(sun.sun_path))
		return ERR_PATH_TOO_LONG;
	memcpy(buf, sun.sun_path, n);
	buf[n] = '\0';
	return 0;
}
