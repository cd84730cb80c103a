/*
 * rtpaths: the paths rtpaths_init computes (XDG_RUNTIME_DIR, its absence,
 * an override) and the sun_path limit; the directory checks on symlinks,
 * loose modes and other owners; pid files at the edges of 2..INT_MAX;
 * atomic replacement that leaves the old file and no temp file behind on
 * failure; the start-up lock against a forked child, with and without a
 * live socket; listen/connect/alive; and rtpaths_helper finding a helper
 * beside a copy of this binary (the build tree is never written to).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rtpaths.h"
#include "sserr.h"
#include "runproc.h"
#include "unit.h"

/* The uid a chown'ed file gets: nobody on most systems. */
#define OTHER_UID 65534
#define SUN_LEN_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

static char tmpdir[64];
static const char *self_argv0;
static int as_root;

/* Paths built here hold tmpdir plus a name: PATHS_MAX is plenty. */
static struct rtpaths rp;

static int
subdir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
	if (mkdir(buf, 0700) != 0) {
		fprintf(stderr, "  mkdir %s: %s\n", buf, strerror(errno));
		return -1;
	}
	return 0;
}

static void
join(char *buf, size_t size, const char *dir, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static int
put_file(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd, ok;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	ok = write(fd, p, n) == (ssize_t)n;
	close(fd);
	/* open's mode went through the umask. */
	return ok && chmod(path, mode) == 0 ? 0 : -1;
}

/* 1 if the file at path holds exactly the n bytes at p. */
static int
holds(const char *path, const void *p, size_t n)
{
	char *buf;
	ssize_t got;
	size_t have = 0;
	int fd, same;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW)) < 0)
		return 0;
	if ((buf = malloc(n + 1)) == NULL) {
		close(fd);
		return 0;
	}
	/* One byte more than expected, to see a longer file. */
	while (have < n + 1 && (got = read(fd, buf + have, n + 1 - have)) > 0)
		have += (size_t)got;
	same = have == n && memcmp(buf, p, n) == 0;
	free(buf);
	close(fd);
	return same;
}

/* The number of entries in dir besides . and .., or -1. */
static int
entries(const char *dir)
{
	struct dirent *e;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int
mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Saves and restores the variables rtpaths_init reads. */
static char *saved_xdg, *saved_home;

static void
env_save(void)
{
	const char *x = getenv("XDG_RUNTIME_DIR"), *h = getenv("HOME");

	saved_xdg = x != NULL ? strdup(x) : NULL;
	saved_home = h != NULL ? strdup(h) : NULL;
}

static void
env_restore(void)
{
	if (saved_xdg != NULL)
		setenv("XDG_RUNTIME_DIR", saved_xdg, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	if (saved_home != NULL)
		setenv("HOME", saved_home, 1);
	else
		unsetenv("HOME");
	free(saved_xdg);
	free(saved_home);
	saved_xdg = saved_home = NULL;
}

/* A path of n characters: "/" then n - 1 'd's. */
static char *
long_path(size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	memset(s, 'd', n);
	s[0] = '/';
	s[n] = '\0';
	return s;
}

/* ---- rtpaths_init ---- */

static void
test_init_xdg(void)
{
	env_save();
	setenv("XDG_RUNTIME_DIR", "/run/user/1234", 1);
	setenv("HOME", "/home/u", 1);
	CHECK_EQ(rtpaths_init(&rp, NULL, NULL), 0);
	CHECK(strcmp(rp.rundir, "/run/user/1234/sshenv") == 0);
	CHECK(strcmp(rp.ctl_sock, "/run/user/1234/sshenv/control.sock") == 0);
	CHECK(strcmp(rp.agent_sock, "/run/user/1234/sshenv/agent.sock") == 0);
	CHECK(strcmp(rp.start_lock, "/run/user/1234/sshenv/start.lock") == 0);
	CHECK(strcmp(rp.daemon_lock, "/run/user/1234/sshenv/daemon.lock") == 0);
	CHECK(strcmp(rp.agent_pid, "/run/user/1234/sshenv/agent.pid") == 0);
	CHECK(strcmp(rp.daemon_pid, "/run/user/1234/sshenv/daemon.pid") == 0);
	CHECK(strcmp(rp.sessions, "/run/user/1234/sshenv/sessions") == 0);
	CHECK(strcmp(rp.envfile, "/home/u/.ssh/environment") == 0);
	env_restore();
}

/* No usable XDG_RUNTIME_DIR: a per-uid directory under /tmp. */
/*
 * Without a usable XDG_RUNTIME_DIR (and with no /run/user/UID of ours,
 * as in this test's sandbox): the per-host dir in the user's ~/.ssh, as
 * OpenSSH 10.1 does, never a guessable /tmp path; /tmp/sshenv-UID only
 * without a home, or with one too long for a socket path.
 */
static void
test_init_no_xdg(void)
{
	static const char *const bad[] = { NULL, "", "run/user/1234", "~" };
	char want[300], sock[320], host[256], run[64], longhome[200];
	size_t i;

	snprintf(run, sizeof(run), "/run/user/%ld", (long)getuid());
	if (access(run, F_OK) == 0) {
		printf("     (%s exists: its sshenv dir comes first)\n", run);
		return;
	}
	CHECK_EQ(gethostname(host, sizeof(host) - 1), 0);
	host[sizeof(host) - 1] = '\0';
	snprintf(want, sizeof(want), "/home/u/.ssh/agent/sshenv-%s", host);
	snprintf(sock, sizeof(sock), "%s/agent.sock", want);
	env_save();
	setenv("HOME", "/home/u", 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bad[i] == NULL)
			unsetenv("XDG_RUNTIME_DIR");
		else
			setenv("XDG_RUNTIME_DIR", bad[i], 1);
		CHECK_EQ(rtpaths_init(&rp, NULL, NULL), 0);
		if (strcmp(rp.rundir, want) != 0)
			fprintf(stderr, "  XDG_RUNTIME_DIR=%s: %s\n",
			    bad[i] != NULL ? bad[i] : "(unset)", rp.rundir);
		CHECK(strcmp(rp.rundir, want) == 0);
		CHECK(strcmp(rp.agent_sock, sock) == 0);
	}
	/* No home, or one whose socket path would not fit: /tmp. */
	snprintf(want, sizeof(want), "/tmp/sshenv-%ld", (long)getuid());
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("HOME");
	CHECK_EQ(rtpaths_init(&rp, NULL, NULL), 0);
	CHECK(strcmp(rp.rundir, want) == 0);
	memset(longhome, 'h', sizeof(longhome) - 1);
	longhome[0] = '/';
	longhome[sizeof(longhome) - 1] = '\0';
	setenv("HOME", longhome, 1);
	CHECK_EQ(rtpaths_init(&rp, NULL, NULL), 0);
	CHECK(strcmp(rp.rundir, want) == 0);
	env_restore();
}

static void
test_init_override(void)
{
	env_save();
	setenv("XDG_RUNTIME_DIR", "/run/user/1234", 1);
	setenv("HOME", "/home/u", 1);
	/* The override wins over XDG_RUNTIME_DIR and is taken as it is. */
	CHECK_EQ(rtpaths_init(&rp, "/o/dir", "/e/env"), 0);
	CHECK(strcmp(rp.rundir, "/o/dir") == 0);
	CHECK(strcmp(rp.ctl_sock, "/o/dir/control.sock") == 0);
	CHECK(strcmp(rp.sessions, "/o/dir/sessions") == 0);
	CHECK(strcmp(rp.envfile, "/e/env") == 0);
	/* Empty means none. */
	CHECK_EQ(rtpaths_init(&rp, "", ""), 0);
	CHECK(strcmp(rp.rundir, "/run/user/1234/sshenv") == 0);
	CHECK(strcmp(rp.envfile, "/home/u/.ssh/environment") == 0);
	/* No usable HOME: no environment file, and no error. */
	unsetenv("HOME");
	CHECK_EQ(rtpaths_init(&rp, "/o/dir", NULL), 0);
	CHECK(strcmp(rp.envfile, "") == 0);
	setenv("HOME", "home/u", 1);
	CHECK_EQ(rtpaths_init(&rp, "/o/dir", NULL), 0);
	CHECK(strcmp(rp.envfile, "") == 0);
	env_restore();
}

/* The longest socket path must fit sun_path with its NUL. */
static void
test_init_too_long(void)
{
	/* control.sock is the longer of the two socket names. */
	size_t fit = SUN_LEN_MAX - 1 - strlen("/control.sock");
	size_t xfit = fit - strlen("/sshenv");
	char *s;

	env_save();
	setenv("HOME", "/home/u", 1);
	if ((s = long_path(fit)) != NULL) {
		CHECK_EQ(rtpaths_init(&rp, s, NULL), 0);
		CHECK_EQ(strlen(rp.ctl_sock), SUN_LEN_MAX - 1);
		free(s);
	}
	if ((s = long_path(fit + 1)) != NULL) {
		CHECK_EQ(rtpaths_init(&rp, s, NULL), ERR_PATH_TOO_LONG);
		free(s);
	}
	if ((s = long_path(xfit)) != NULL) {
		setenv("XDG_RUNTIME_DIR", s, 1);
		CHECK_EQ(rtpaths_init(&rp, NULL, NULL), 0);
		CHECK_EQ(strlen(rp.ctl_sock), SUN_LEN_MAX - 1);
		free(s);
	}
	if ((s = long_path(xfit + 1)) != NULL) {
		setenv("XDG_RUNTIME_DIR", s, 1);
		CHECK_EQ(rtpaths_init(&rp, NULL, NULL), ERR_PATH_TOO_LONG);
		free(s);
	}
	/* Past PATHS_MAX itself: the run dir, the env file, HOME. */
	if ((s = long_path(PATHS_MAX + 10)) != NULL) {
		CHECK_EQ(rtpaths_init(&rp, s, NULL), ERR_PATH_TOO_LONG);
		CHECK_EQ(rtpaths_init(&rp, "/o", s), ERR_PATH_TOO_LONG);
		setenv("HOME", s, 1);
		CHECK_EQ(rtpaths_init(&rp, "/o", NULL), ERR_PATH_TOO_LONG);
		free(s);
	}
	env_restore();
}

/* ---- directories ---- */

static void
test_dir_missing(void)
{
	char dir[128], sub[160], deep[192];
	mode_t old;

	if (subdir(dir, sizeof(dir), "dir_missing") != 0) {
		CHECK(0);
		return;
	}
	join(sub, sizeof(sub), dir, "run");
	errno = 0;
	CHECK_EQ(rtpaths_check_dir(sub), ERR_SYSTEM);
	CHECK_EQ(errno, ENOENT);
	CHECK(access(sub, F_OK) != 0);
	/* Whatever the umask, the new directory is 0700. */
	old = umask(0);
	CHECK_EQ(rtpaths_ensure_dir(sub), 0);
	umask(old);
	CHECK_EQ(mode_of(sub), 0700);
	CHECK_EQ(rtpaths_check_dir(sub), 0);
	CHECK_EQ(rtpaths_ensure_dir(sub), 0);
	/* Parents are never made. */
	join(deep, sizeof(deep), dir, "no/such");
	CHECK_EQ(rtpaths_ensure_dir(deep), ERR_SYSTEM);
	join(deep, sizeof(deep), dir, "no");
	CHECK(access(deep, F_OK) != 0);
}

static void
test_dir_unsafe(void)
{
	static const mode_t loose[] = { 0755, 0750, 0710, 0701, 0707, 0770 };
	char dir[128], real[160], link[160], file[160];
	struct stat st;
	size_t i;

	if (subdir(dir, sizeof(dir), "dir_unsafe") != 0) {
		CHECK(0);
		return;
	}
	join(real, sizeof(real), dir, "real");
	join(link, sizeof(link), dir, "link");
	join(file, sizeof(file), dir, "file");
	CHECK_EQ(mkdir(real, 0700), 0);
	CHECK_EQ(chmod(real, 0700), 0);
	CHECK_EQ(rtpaths_check_dir(real), 0);

	/* A symlink to a good directory is still a symlink. */
	CHECK_EQ(symlink(real, link), 0);
	CHECK_EQ(rtpaths_check_dir(link), ERR_SYMLINK);
	CHECK_EQ(rtpaths_ensure_dir(link), ERR_SYMLINK);
	CHECK_EQ(lstat(link, &st), 0);
	CHECK(S_ISLNK(st.st_mode));

	/* Loose modes are refused and left as they are. */
	for (i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		CHECK_EQ(chmod(real, loose[i]), 0);
		CHECK_EQ(rtpaths_check_dir(real), ERR_BAD_MODE);
		CHECK_EQ(rtpaths_ensure_dir(real), ERR_BAD_MODE);
		CHECK_EQ(mode_of(real), loose[i]);
	}
	CHECK_EQ(chmod(real, 0700), 0);

	/* Something that is not a directory. */
	CHECK_EQ(put_file(file, "x", 1, 0600), 0);
	CHECK_EQ(rtpaths_check_dir(file), ERR_EXISTS);
	CHECK_EQ(rtpaths_ensure_dir(file), ERR_EXISTS);

	if (!as_root) {
		printf("  skip: a directory of uid %d needs root\n", OTHER_UID);
		return;
	}
	CHECK_EQ(chown(real, OTHER_UID, OTHER_UID), 0);
	CHECK_EQ(rtpaths_check_dir(real), ERR_BAD_OWNER);
	CHECK_EQ(rtpaths_ensure_dir(real), ERR_BAD_OWNER);
	CHECK_EQ(lstat(real, &st), 0);
	CHECK_EQ(st.st_uid, OTHER_UID);
	CHECK_EQ(st.st_mode & 07777, 0700);
}

/* ---- pid files ---- */

static void
test_read_pid(void)
{
	static const struct {
		const char *text;
		int want;
		long pid;
	} cases[] = {
		{ "0", ERR_FORMAT, 0 },
		{ "1", ERR_FORMAT, 0 },
		{ "-1", ERR_FORMAT, 0 },
		{ "0\n", ERR_FORMAT, 0 },
		{ "1\n", ERR_FORMAT, 0 },
		{ "-2", ERR_FORMAT, 0 },
		{ "4294967295", ERR_FORMAT, 0 },
		{ "2147483648", ERR_FORMAT, 0 },
		{ "99999999999999999999999", ERR_FORMAT, 0 },
		{ "12abc", ERR_FORMAT, 0 },
		{ " 5", ERR_FORMAT, 0 },
		{ "+5", ERR_FORMAT, 0 },
		{ "5\nxyz", ERR_FORMAT, 0 },
		{ "5\n\n", ERR_FORMAT, 0 },
		{ "12 ", ERR_FORMAT, 0 },
		{ "abc", ERR_FORMAT, 0 },
		{ "", ERR_FORMAT, 0 },
		{ "\n", ERR_FORMAT, 0 },
		{ "2", 0, 2 },
		{ "2\n", 0, 2 },
		{ "12345\n", 0, 12345 },
		{ "2147483647", 0, 2147483647L },
		{ "2147483647\n", 0, 2147483647L },
	};
	char dir[128], path[160], link[160];
	long pid;
	size_t i;
	int r;

	if (subdir(dir, sizeof(dir), "pid") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "x.pid");
	join(link, sizeof(link), dir, "link.pid");
	pid = 777;
	CHECK_EQ(rtpaths_read_pid(path, &pid), ERR_NOT_FOUND);
	CHECK_EQ(pid, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ(put_file(path, cases[i].text, strlen(cases[i].text),
			     0600),
		    0);
		pid = 777;
		r = rtpaths_read_pid(path, &pid);
		if (r != cases[i].want || pid != cases[i].pid)
			fprintf(stderr, "  \"%s\": %d, %ld\n", cases[i].text, r,
			    pid);
		CHECK_EQ(r, cases[i].want);
		CHECK_EQ(pid, cases[i].pid);
	}

	/* A good pid file behind a symlink, or of another owner. */
	CHECK_EQ(put_file(path, "42\n", 3, 0600), 0);
	CHECK_EQ(symlink(path, link), 0);
	pid = 777;
	CHECK_EQ(rtpaths_read_pid(link, &pid), ERR_SYMLINK);
	CHECK_EQ(pid, 0);
	if (!as_root) {
		printf("  skip: a pid file of uid %d needs root\n", OTHER_UID);
		return;
	}
	CHECK_EQ(chown(path, OTHER_UID, OTHER_UID), 0);
	pid = 777;
	CHECK_EQ(rtpaths_read_pid(path, &pid), ERR_BAD_OWNER);
	CHECK_EQ(pid, 0);
}

/* The one parser every pid goes through (pid files, SSH_AGENT_PID). */
static void
test_parse_pid(void)
{
	static const char *const bad[] = {
		"",
		"0",
		"1",
		"-1",
		"00",
		"01",
		"4294967295",
		"2147483648",
		"18446744073709551615",
		" 5",
		"+5",
		"5 ",
		"5\n",
		"0x10",
		"1e3",
	};
	long pid;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pid = 777;
		CHECK_EQ(rtpaths_parse_pid(bad[i], &pid), ERR_FORMAT);
		CHECK_EQ(pid, 0);
	}
	CHECK_EQ(rtpaths_parse_pid("2", &pid), 0);
	CHECK_EQ(pid, 2);
	CHECK_EQ(rtpaths_parse_pid("002", &pid), 0);
	CHECK_EQ(pid, 2);
	CHECK_EQ(rtpaths_parse_pid("2147483647", &pid), 0);
	CHECK_EQ(pid, 2147483647L);
}

static void
test_write_pid(void)
{
	char dir[128], path[160];
	long pid = 0;

	if (subdir(dir, sizeof(dir), "write_pid") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "a.pid");
	CHECK_EQ(rtpaths_write_pid(path, 31337), 0);
	CHECK(holds(path, "31337\n", 6));
	CHECK_EQ(rtpaths_read_pid(path, &pid), 0);
	CHECK_EQ(pid, 31337);
}

/* ---- rtpaths_write_file ---- */

static void
test_write_file_replaces(void)
{
	static const char old_text[] = "old contents\n";
	char dir[128], path[160], got[64], *big;
	struct stat before, after;
	size_t i, bigsize = 1024 * 1024 + 3;
	ssize_t n;
	int fd;

	if (subdir(dir, sizeof(dir), "write_file") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "state");

	/* A new file. */
	CHECK_EQ(rtpaths_write_file(path, "abc", 3), 0);
	CHECK(holds(path, "abc", 3));
	CHECK_EQ(mode_of(path), 0600);

	/* An existing 0644 file, held open by a reader. */
	CHECK_EQ(put_file(path, old_text, strlen(old_text), 0644), 0);
	CHECK_EQ(lstat(path, &before), 0);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(rtpaths_write_file(path, "new\n", 4), 0);
	CHECK(holds(path, "new\n", 4));
	CHECK_EQ(mode_of(path), 0600);
	CHECK_EQ(lstat(path, &after), 0);
	/* Renamed over, not rewritten: the reader still has the old file. */
	CHECK(after.st_ino != before.st_ino);
	if (fd >= 0) {
		n = read(fd, got, sizeof(got));
		CHECK_EQ(n, (ssize_t)strlen(old_text));
		CHECK(n > 0 && memcmp(got, old_text, (size_t)n) == 0);
		close(fd);
	}
	CHECK_EQ(entries(dir), 1);

	/* Empty, then large. */
	CHECK_EQ(rtpaths_write_file(path, "", 0), 0);
	CHECK(holds(path, "", 0));
	if ((big = malloc(bigsize)) != NULL) {
		for (i = 0; i < bigsize; i++)
			big[i] = (char)(i * 31 + i / 7);
		CHECK_EQ(rtpaths_write_file(path, big, bigsize), 0);
		CHECK(holds(path, big, bigsize));
		free(big);
	}
	CHECK_EQ(entries(dir), 1);
}

/*
 * Runs rtpaths_write_file(path, "new", 3) in a child with uid OTHER_UID
 * (dir must be reachable and owned by it); 1 and its result in *r and
 * errno in *e, or 0 if the child could not drop root.
 */
static int
write_file_as_other(const char *path, int *r, int *e)
{
	int fds[2], res[3] = { 0, 0, 0 }, ws;
	pid_t pid;

	if (pipe(fds) != 0)
		return 0;
	fflush(NULL);
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	if (pid == 0) {
		close(fds[0]);
		if (setgid(OTHER_UID) == 0 && setuid(OTHER_UID) == 0 &&
		    getuid() == OTHER_UID) {
			res[0] = 1;
			res[1] = rtpaths_write_file(path, "new", 3);
			res[2] = errno;
		}
		if (write(fds[1], res, sizeof(res)) != sizeof(res))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], res, sizeof(res)) != sizeof(res))
		res[0] = 0;
	close(fds[0]);
	waitpid(pid, &ws, 0);
	*r = res[1];
	*e = res[2];
	return res[0];
}

/*
 * A directory we may not write to: the call fails before anything
 * changes.  Root writes anywhere, so as root the call is made from a
 * child that has given up root for uid OTHER_UID.
 */
static void
test_write_file_unwritable_dir(void)
{
	char dir[128], path[160], probe[160];
	int r = 0, e = 0, fd;

	if (subdir(dir, sizeof(dir), "ro_dir") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "state");
	join(probe, sizeof(probe), dir, "probe");
	CHECK_EQ(put_file(path, "old", 3, 0600), 0);
	CHECK_EQ(chmod(dir, 0500), 0);
	if (!as_root) {
		/* Make sure the directory really refuses us. */
		fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd >= 0) {
			close(fd);
			unlink(probe);
			printf("  skip: a 0500 directory is writable here\n");
			chmod(dir, 0700);
			return;
		}
		errno = 0;
		r = rtpaths_write_file(path, "new", 3);
		e = errno;
	} else {
		/* The child must reach dir and own it (0500: r-x only). */
		if (chmod(tmpdir, 0711) != 0 ||
		    chown(dir, OTHER_UID, OTHER_UID) != 0 ||
		    !write_file_as_other(path, &r, &e)) {
			printf("  skip: as root, and no child could run as "
			       "uid %d to meet a 0500 directory\n",
			    OTHER_UID);
			chmod(tmpdir, 0700);
			chmod(dir, 0700);
			return;
		}
		CHECK_EQ(chmod(tmpdir, 0700), 0);
	}
	CHECK_EQ(r, ERR_SYSTEM);
	CHECK_EQ(e, EACCES);
	CHECK(holds(path, "old", 3));
	CHECK_EQ(entries(dir), 1);
	CHECK_EQ(chmod(dir, 0700), 0);
}

/*
 * A failure after the temporary file exists (rename onto a non-empty
 * directory): the target stays and the temporary file goes.  This one
 * fails for root too.
 */
static void
test_write_file_rename_fails(void)
{
	char dir[128], path[160], inner[192];

	if (subdir(dir, sizeof(dir), "rename_fails") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "state");
	join(inner, sizeof(inner), path, "keep");
	CHECK_EQ(mkdir(path, 0700), 0);
	CHECK_EQ(put_file(inner, "k", 1, 0600), 0);
	CHECK_EQ(rtpaths_write_file(path, "new", 3), ERR_SYSTEM);
	CHECK(holds(inner, "k", 1));
	CHECK_EQ(entries(dir), 1);
	CHECK_EQ(entries(path), 1);
}

static void
test_write_file_too_long(void)
{
	char *s = long_path(PATHS_MAX + 10);

	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK_EQ(rtpaths_write_file(s, "x", 1), ERR_PATH_TOO_LONG);
	free(s);
}

/* ---- sockets ---- */

/* dir/ppp...p, exactly n characters long, in buf. */
static int
sock_path(char *buf, size_t size, const char *dir, size_t n)
{
	size_t dl = strlen(dir);

	if (n <= dl + 1 || n >= size)
		return -1;
	snprintf(buf, size, "%s/", dir);
	memset(buf + dl + 1, 'p', n - dl - 1);
	buf[n] = '\0';
	return 0;
}

static void
test_listen_connect(void)
{
	char dir[128], path[PATHS_MAX];
	int lfd = -1, cfd = -1, afd, fd2;
	struct stat st;
	char c = 0;

	if (subdir(dir, sizeof(dir), "sock") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "s");
	CHECK_EQ(rtpaths_alive(path), 0);
	cfd = 5;
	CHECK_EQ(rtpaths_connect(path, &cfd), ERR_NO_SERVER);
	CHECK_EQ(cfd, -1);

	CHECK_EQ(rtpaths_listen(path, &lfd), 0);
	CHECK(lfd >= 0);
	CHECK_EQ(lstat(path, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0600);

	/*
	 * A connection really reaches the listener (the first in its
	 * queue: rtpaths_alive's probe would queue one of its own).
	 */
	CHECK_EQ(rtpaths_connect(path, &cfd), 0);
	CHECK(cfd >= 0);
	afd = lfd >= 0 ? accept(lfd, NULL, NULL) : -1;
	CHECK(afd >= 0);
	if (cfd >= 0 && afd >= 0) {
		CHECK_EQ(write(cfd, "z", 1), 1);
		CHECK_EQ(read(afd, &c, 1), 1);
		CHECK_EQ(c, 'z');
	}
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	CHECK_EQ(rtpaths_alive(path), 1);

	/* A live socket is not taken over. */
	fd2 = 5;
	CHECK_EQ(rtpaths_listen(path, &fd2), ERR_BUSY);
	CHECK_EQ(fd2, -1);
	CHECK_EQ(rtpaths_alive(path), 1);

	/* A dead one (its listener gone, the file left) is replaced. */
	if (lfd >= 0)
		close(lfd);
	CHECK_EQ(lstat(path, &st), 0);
	CHECK_EQ(rtpaths_alive(path), 0);
	CHECK_EQ(rtpaths_connect(path, &cfd), ERR_NO_SERVER);
	CHECK_EQ(rtpaths_listen(path, &lfd), 0);
	CHECK_EQ(rtpaths_alive(path), 1);
	if (lfd >= 0)
		close(lfd);

	/* sun_path holds SUN_LEN_MAX - 1 characters and the NUL. */
	CHECK_EQ(sock_path(path, sizeof(path), dir, SUN_LEN_MAX - 1), 0);
	CHECK_EQ(rtpaths_listen(path, &lfd), 0);
	CHECK_EQ(rtpaths_alive(path), 1);
	if (lfd >= 0)
		close(lfd);
	CHECK_EQ(sock_path(path, sizeof(path), dir, SUN_LEN_MAX), 0);
	lfd = cfd = 5;
	CHECK_EQ(rtpaths_listen(path, &lfd), ERR_PATH_TOO_LONG);
	CHECK_EQ(lfd, -1);
	CHECK_EQ(rtpaths_connect(path, &cfd), ERR_PATH_TOO_LONG);
	CHECK_EQ(cfd, -1);
	CHECK_EQ(rtpaths_alive(path), 0);
	/* Nothing new in dir: "s" and the longest name that fits. */
	CHECK_EQ(entries(dir), 2);
}

static void
test_listen_refuses(void)
{
	char dir[128], path[160];
	struct stat st;
	int fd = 5, lfd;

	if (subdir(dir, sizeof(dir), "sock_refuse") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "s");

	/* A regular file stays. */
	CHECK_EQ(put_file(path, "data", 4, 0600), 0);
	CHECK_EQ(rtpaths_alive(path), 0);
	CHECK_EQ(rtpaths_listen(path, &fd), ERR_EXISTS);
	CHECK_EQ(fd, -1);
	CHECK(holds(path, "data", 4));
	CHECK_EQ(unlink(path), 0);

	if (!as_root) {
		printf("  skip: a socket of uid %d needs root\n", OTHER_UID);
		return;
	}
	/* A dead socket of someone else's stays too. */
	CHECK_EQ(rtpaths_listen(path, &lfd), 0);
	if (lfd >= 0)
		close(lfd);
	CHECK_EQ(chown(path, OTHER_UID, OTHER_UID), 0);
	fd = 5;
	CHECK_EQ(rtpaths_listen(path, &fd), ERR_EXISTS);
	CHECK_EQ(fd, -1);
	CHECK_EQ(lstat(path, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_uid, OTHER_UID);
}

/* ---- the lock ---- */

struct lock_result {
	int r, fd;
	long ms;
};

/*
 * Forks a child that drops its copy of held (flock belongs to the open
 * file, which the child shares until then), says it is about to try,
 * calls rtpaths_lock(path, timeout, live) and reports back.  Returns the
 * child's pid and the read end of its pipe in *rfd, after the child's
 * "about to try".
 */
static pid_t
lock_child(const char *path, long timeout, const char *live, int held, int *rfd)
{
	struct lock_result res;
	int fds[2];
	pid_t pid;
	long t0;
	char c;

	*rfd = -1;
	if (pipe(fds) != 0)
		return -1;
	fflush(NULL);
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		close(held);
		if (write(fds[1], "g", 1) != 1)
			_exit(1);
		t0 = now_ms();
		res.r = rtpaths_lock(path, timeout, live, &res.fd);
		res.ms = now_ms() - t0;
		if (write(fds[1], &res, sizeof(res)) != sizeof(res))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1) {
		close(fds[0]);
		waitpid(pid, NULL, 0);
		return -1;
	}
	*rfd = fds[0];
	return pid;
}

/* Waits for the child's report; 0 or -1. */
static int
lock_wait(pid_t pid, int rfd, struct lock_result *res)
{
	ssize_t n = read(rfd, res, sizeof(*res));
	int ws = 0;

	close(rfd);
	waitpid(pid, &ws, 0);
	return n == sizeof(*res) && WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? 0 :
									    -1;
}

static void
test_lock(void)
{
	char dir[128], path[160], sock[160], none[160], target[160];
	char link[160];
	struct lock_result res;
	int fd = -1, fd2, lfd = -1, rfd;
	pid_t pid;

	if (subdir(dir, sizeof(dir), "lock") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "start.lock");
	join(sock, sizeof(sock), dir, "control.sock");
	join(none, sizeof(none), dir, "nothing.sock");

	CHECK_EQ(rtpaths_lock(path, 100, NULL, &fd), 0);
	CHECK(fd >= 0);
	CHECK_EQ(mode_of(path), 0600);
	if (fd < 0)
		return;

	/* Held here: the child waits its whole timeout, then gives up. */
	pid = lock_child(path, 300, NULL, fd, &rfd);
	CHECK(pid > 0);
	if (pid > 0 && lock_wait(pid, rfd, &res) == 0) {
		CHECK_EQ(res.r, ERR_BUSY);
		CHECK_EQ(res.fd, -1);
		CHECK(res.ms >= 300);
		CHECK(res.ms < 5000);
	} else {
		CHECK(0);
	}

	/* A live_sock that names nothing changes nothing. */
	pid = lock_child(path, 300, none, fd, &rfd);
	CHECK(pid > 0);
	if (pid > 0 && lock_wait(pid, rfd, &res) == 0) {
		CHECK_EQ(res.r, ERR_BUSY);
		CHECK(res.ms >= 300);
	} else {
		CHECK(0);
	}

	/* Something answers on live_sock: the child gives up at once. */
	CHECK_EQ(rtpaths_listen(sock, &lfd), 0);
	pid = lock_child(path, 20000, sock, fd, &rfd);
	CHECK(pid > 0);
	if (pid > 0 && lock_wait(pid, rfd, &res) == 0) {
		CHECK_EQ(res.r, ERR_BUSY);
		CHECK_EQ(res.fd, -1);
		CHECK(res.ms < 2000);
	} else {
		CHECK(0);
	}
	if (lfd >= 0)
		close(lfd);

	/* Released while the child waits: the child gets it. */
	pid = lock_child(path, 20000, NULL, fd, &rfd);
	CHECK(pid > 0);
	usleep(200 * 1000);
	close(fd);
	if (pid > 0 && lock_wait(pid, rfd, &res) == 0) {
		CHECK_EQ(res.r, 0);
		CHECK(res.fd >= 0);
		CHECK(res.ms >= 100);
		CHECK(res.ms < 20000);
	} else {
		CHECK(0);
	}
	/* The child is gone, and its lock with it. */
	CHECK_EQ(rtpaths_lock(path, 0, NULL, &fd2), 0);
	if (fd2 >= 0)
		close(fd2);

	/* Never through a symlink, and never creating its target. */
	join(target, sizeof(target), dir, "target.lock");
	join(link, sizeof(link), dir, "link.lock");
	CHECK_EQ(symlink(target, link), 0);
	fd2 = 5;
	CHECK_EQ(rtpaths_lock(link, 100, NULL, &fd2), ERR_SYSTEM);
	CHECK_EQ(fd2, -1);
	CHECK(access(target, F_OK) != 0);
}

/* ---- rtpaths_helper ---- */

#define HELPER "sshenv-unit-probe"

/*
 * What a copy of this binary at exe says rtpaths_helper(HELPER) finds
 * with a buffer of size bytes: "<result>:<path>", in buf.
 */
static int
probe_helper(const char *exe, size_t size, char *buf, size_t bufsize)
{
	char sizearg[32], *out = NULL;
	char *argv[] = { (char *)exe, "--helper-probe", HELPER, sizearg, NULL };
	char *envp[] = { "PATH=" RP_PATH, NULL };
	size_t outlen;
	int status;

	buf[0] = '\0';
	snprintf(sizearg, sizeof(sizearg), "%zu", size);
	if (rp_run(argv, envp, NULL, &out, &outlen, &status) != 0)
		return -1;
	snprintf(buf, bufsize, "%s", out);
	free(out);
	return status == 0 ? 0 : -1;
}

/* The child side of probe_helper. */
static int
helper_main(char **argv)
{
	char buf[PATHS_MAX];
	size_t size = (size_t)strtoul(argv[3], NULL, 10);
	int r;

	if (size == 0 || size > sizeof(buf))
		return 2;
	rtpaths_progname = argv[0];
	r = rtpaths_helper(argv[2], buf, size);
	printf("%d:%s", r, buf);
	return 0;
}

static int
copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in, out, ok = 1;

	if ((in = open(from, O_RDONLY)) < 0)
		return -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL, mode)) < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			ok = 0;
	if (n < 0)
		ok = 0;
	close(in);
	close(out);
	return ok && chmod(to, mode) == 0 ? 0 : -1;
}

/*
 * This binary is copied into a temporary bin directory, so that "beside
 * our own binary" is a place the test may write to.
 */
static void
test_helper(void)
{
	char dir[128], real[PATH_MAX], me[PATH_MAX], bin[PATH_MAX + 8];
	char exe[PATH_MAX + 64], beside[PATH_MAX + 64];
	char libexec[PATH_MAX + 64], inst[PATH_MAX + 64];
	char want[PATH_MAX * 2], got[PATH_MAX * 2], installed[256];
	ssize_t n;

	if (subdir(dir, sizeof(dir), "helper") != 0 ||
	    realpath(dir, real) == NULL) {
		CHECK(0);
		return;
	}
	n = readlink("/proc/self/exe", me, sizeof(me) - 1);
	if (n > 0)
		me[n] = '\0';
	else
		snprintf(me, sizeof(me), "%s", self_argv0);
	snprintf(bin, sizeof(bin), "%s/bin", real);
	snprintf(exe, sizeof(exe), "%s/test_rtpaths", bin);
	snprintf(beside, sizeof(beside), "%s/" HELPER, bin);
	snprintf(libexec, sizeof(libexec), "%s/libexec", real);
	snprintf(inst, sizeof(inst), "%s/libexec/sshenv/" HELPER, real);
	CHECK_EQ(mkdir(bin, 0700), 0);
	CHECK_EQ(mkdir(libexec, 0700), 0);
	strcat(libexec, "/sshenv");
	CHECK_EQ(mkdir(libexec, 0700), 0);
	if (copy_file(me, exe, 0700) != 0) {
		fprintf(stderr, "  cannot copy %s to %s\n", me, exe);
		CHECK(0);
		return;
	}

	/* Nowhere (unless this machine has installed one). */
	snprintf(installed, sizeof(installed),
	    "/usr/local/libexec/sshenv/" HELPER);
	CHECK_EQ(probe_helper(exe, PATHS_MAX, got, sizeof(got)), 0);
	if (access(installed, X_OK) != 0) {
		snprintf(want, sizeof(want), "%d:", ERR_NOT_FOUND);
		CHECK(strcmp(got, want) == 0);
	}

	/* In ../libexec/sshenv, the install layout. */
	CHECK_EQ(put_file(inst, "#!/bin/sh\n", 10, 0755), 0);
	CHECK_EQ(probe_helper(exe, PATHS_MAX, got, sizeof(got)), 0);
	snprintf(want, sizeof(want), "0:%s/../libexec/sshenv/" HELPER, bin);
	CHECK(strcmp(got, want) == 0);

	/* Beside us but not executable: passed over. */
	CHECK_EQ(put_file(beside, "#!/bin/sh\n", 10, 0644), 0);
	CHECK_EQ(probe_helper(exe, PATHS_MAX, got, sizeof(got)), 0);
	CHECK(strcmp(got, want) == 0);

	/* Beside us and executable: found first. */
	CHECK_EQ(chmod(beside, 0755), 0);
	CHECK_EQ(probe_helper(exe, PATHS_MAX, got, sizeof(got)), 0);
	snprintf(want, sizeof(want), "0:%s", beside);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "  got \"%s\", want \"%s\"\n", got, want);
	CHECK(strcmp(got, want) == 0);

	/* A buffer one byte short of the path and its NUL. */
	CHECK_EQ(probe_helper(exe, strlen(beside), got, sizeof(got)), 0);
	snprintf(want, sizeof(want), "%d:", ERR_PATH_TOO_LONG);
	CHECK(strcmp(got, want) == 0);
	CHECK_EQ(probe_helper(exe, strlen(beside) + 1, got, sizeof(got)), 0);
	snprintf(want, sizeof(want), "0:%s", beside);
	CHECK(strcmp(got, want) == 0);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--helper-probe") == 0)
		return helper_main(argv);
	self_argv0 = argv[0];
	as_root = geteuid() == 0;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sshenv-unit-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	RUN(test_init_xdg);
	RUN(test_init_no_xdg);
	RUN(test_init_override);
	RUN(test_init_too_long);
	RUN(test_dir_missing);
	RUN(test_dir_unsafe);
	RUN(test_read_pid);
	RUN(test_parse_pid);
	RUN(test_write_pid);
	RUN(test_write_file_replaces);
	RUN(test_write_file_unwritable_dir);
	RUN(test_write_file_rename_fails);
	RUN(test_write_file_too_long);
	RUN(test_listen_connect);
	RUN(test_listen_refuses);
	RUN(test_lock);
	RUN(test_helper);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	UNIT_DONE();
}
