#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "paths.h"

const char *paths_progname;

static int
join(char *out, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, PATHS_MAX, "%s/%s", dir, name) >= PATHS_MAX)
		return ERR_PATH_TOO_LONG;
	return 0;
}

int
paths_init(struct paths *p, const char *override, const char *envfile)
{
	struct sockaddr_un sun;
	const char *xdg = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME");
	int r, n;

	memset(p, 0, sizeof(*p));
	if (override != NULL && *override != '\0')
		n = snprintf(p->rundir, PATHS_MAX, "%s", override);
	else if (xdg != NULL && *xdg == '/')
		n = snprintf(p->rundir, PATHS_MAX, "%s/sshenv", xdg);
	else
		n = snprintf(p->rundir, PATHS_MAX, "/tmp/sshenv-%ld",
		    (long)getuid());
	if (n < 0 || n >= PATHS_MAX)
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
		n = 0;	/* no home: no environment file */
	if (n < 0 || n >= PATHS_MAX)
		return ERR_PATH_TOO_LONG;
	return 0;
}

int
paths_check_dir(const char *dir)
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

int
paths_ensure_dir(const char *dir)
{
	int r;

	if ((r = paths_check_dir(dir)) != ERR_SYSTEM || errno != ENOENT)
		return r;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ERR_SYSTEM;
	/* Whoever made it, it must pass the same checks now. */
	return paths_check_dir(dir);
}

int
paths_check_file(const char *path)
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
paths_connect(const char *path, int *fdp)
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
paths_alive(const char *path)
{
	int fd;

	if (paths_connect(path, &fd) != 0)
		return 0;
	close(fd);
	return 1;
}

int
paths_listen(const char *path, int *fdp)
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
		if (paths_alive(path))
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
paths_read_pid(const char *path, long *pid)
{
	char buf[32], *end;
	ssize_t n;
	int fd, r;

	*pid = 0;
	if ((r = paths_check_file(path)) != 0)
		return r;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_SYSTEM;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return ERR_FORMAT;
	buf[n] = '\0';
	*pid = strtol(buf, &end, 10);
	if (*pid < 2 || (*end != '\n' && *end != '\0')) {
		*pid = 0;
		return ERR_FORMAT;
	}
	return 0;
}

int
paths_write_pid(const char *path, long pid)
{
	char tmp[PATHS_MAX + 16], buf[32];
	int fd, n, r = ERR_SYSTEM;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return ERR_PATH_TOO_LONG;
	n = snprintf(buf, sizeof(buf), "%ld\n", pid);
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0)
		return ERR_SYSTEM;
	if (write(fd, buf, (size_t)n) == n && close(fd) == 0) {
		fd = -1;
		if (rename(tmp, path) == 0)
			r = 0;
	}
	if (fd >= 0)
		close(fd);
	if (r != 0)
		unlink(tmp);
	return r;
}

int
paths_inherited_fd(const char *name, int index)
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
paths_forget_inherited(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

int
paths_self_exe(const char *argv0, char *buf, size_t size)
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
		    argv0) < sizeof(cand) && n > 0 &&
		    access(cand, X_OK) == 0 && realpath(cand, resolved) != NULL)
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

int
paths_sock_name(int fd, char *buf, size_t size)
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
