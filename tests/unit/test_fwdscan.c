/*
 * fwdscan: which sockets under a tmp directory and a home count as sshd's
 * forwarded agents, and in what order.  The tree is built in a temporary
 * directory standing in for /tmp, with each socket's time set so that
 * the order is known: what is found is the user's sockets with the right
 * names in directories no one else may write to, named (under tmp) after
 * a live process called sshd, newest first.  The "sshd" processes are
 * children of this test that renamed themselves.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fwdscan.h"
#include "runproc.h"
#include "unit.h"

static struct rp_tmp tmp;
static pid_t sshd1, sshd2, shell; /* children named sshd, sshd, bash */

/* A child that calls itself name and waits to be killed. */
static pid_t
named(const char *name)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_NAME, name, 0, 0, 0);
		for (;;)
			pause();
	}
	return pid;
}

/* Its comm is set once /proc says so. */
static void
wait_named(pid_t pid, const char *name)
{
	char path[64], comm[32] = "";
	size_t n;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	for (i = 0; i < 500 && strncmp(comm, name, strlen(name)) != 0; i++) {
		if ((f = fopen(path, "r")) != NULL) {
			n = fread(comm, 1, sizeof(comm) - 1, f);
			comm[n] = '\0';
			fclose(f);
		}
		if (strncmp(comm, name, strlen(name)) != 0)
			usleep(10000);
	}
	CHECK(strncmp(comm, name, strlen(name)) == 0);
}

/* A socket file at dir/name (relative to the temp dir), made at t. */
static void
sock_at(const char *name, time_t t)
{
	struct sockaddr_un sun;
	struct timespec ts[2];
	const char *path = rp_tmp_path(&tmp, name);
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CHECK(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strnlen(path, sizeof(sun.sun_path) - 1));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	close(fd);
	ts[0].tv_sec = ts[1].tv_sec = t;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	CHECK(utimensat(AT_FDCWD, sun.sun_path, ts, AT_SYMLINK_NOFOLLOW) == 0);
}

static void
dir_at(const char *name, mode_t mode)
{
	CHECK(mkdir(rp_tmp_path(&tmp, name), mode) == 0);
	CHECK(chmod(rp_tmp_path(&tmp, name), mode) == 0);
}

static const char *
tail(const char *path)
{
	size_t n = strlen(tmp.dir);

	return strncmp(path, tmp.dir, n) == 0 ? path + n + 1 : path;
}

static void
build(void)
{
	char home[PATH_MAX + 64], name[64];

	dir_at("t", 0700);
	dir_at("t/ssh-a", 0700);
	snprintf(name, sizeof(name), "t/ssh-a/agent.%ld", (long)sshd1);
	sock_at(name, 1000);
	dir_at("t/ssh-b", 0700);
	snprintf(name, sizeof(name), "t/ssh-b/agent.%ld", (long)sshd2);
	sock_at(name, 3000);
	/* Others could have put these here, or they are not sshd's. */
	dir_at("t/ssh-open", 0777);
	snprintf(name, sizeof(name), "t/ssh-open/agent.%ld", (long)sshd1);
	sock_at(name, 5000);
	dir_at("t/ssh-agent", 0700);
	snprintf(name, sizeof(name), "t/ssh-agent/agent.%ld", (long)shell);
	sock_at(name, 5000);
	sock_at("t/ssh-agent/agent.notapid", 5000);
	dir_at("t/ssh-c", 0700);
	CHECK(close(open(rp_tmp_path(&tmp, "t/ssh-c/agent.9"),
		  O_CREAT | O_WRONLY, 0600)) == 0);
	sock_at("t/ssh-c/other.1", 5000);
	dir_at("t/notssh", 0700);
	sock_at("t/notssh/agent.4", 5000);
	snprintf(home, sizeof(home), "%s", rp_tmp_path(&tmp, "t/ssh-a"));
	CHECK(symlink(home, rp_tmp_path(&tmp, "t/ssh-link")) == 0);
	/* OpenSSH 10.1's place, beside sshenv's own runtime directory. */
	dir_at("h", 0700);
	dir_at("h/.ssh", 0700);
	dir_at("h/.ssh/agent", 0700);
	sock_at("h/.ssh/agent/s.abc.sshd.def", 2000);
	sock_at("h/.ssh/agent/s.abc.other", 5000);
	dir_at("h/.ssh/agent/sshenv-host", 0700);
	sock_at("h/.ssh/agent/sshenv-host/agent.sock", 5000);
}

static void
test_found_newest_first(void)
{
	struct fwdsock out[FWDSCAN_MAX];
	char t[PATH_MAX + 64], h[PATH_MAX + 64];
	int n;

	snprintf(t, sizeof(t), "%s", rp_tmp_path(&tmp, "t"));
	snprintf(h, sizeof(h), "%s", rp_tmp_path(&tmp, "h"));
	n = fwdscan(t, h, out, FWDSCAN_MAX);
	CHECK_EQ(n, 3);
	if (n != 3)
		return;
	CHECK(strncmp(tail(out[0].path), "t/ssh-b/agent.", 14) == 0);
	CHECK(strcmp(tail(out[1].path), "h/.ssh/agent/s.abc.sshd.def") == 0);
	CHECK(strncmp(tail(out[2].path), "t/ssh-a/agent.", 14) == 0);
	CHECK_EQ(out[0].mtime_ns, 3000LL * 1000000000);
	CHECK_EQ(fwdscan_mtime(out[1].path), 2000LL * 1000000000);
}

static void
test_at_most_max(void)
{
	struct fwdsock out[FWDSCAN_MAX];
	char t[PATH_MAX + 64], h[PATH_MAX + 64];
	int n;

	snprintf(t, sizeof(t), "%s", rp_tmp_path(&tmp, "t"));
	snprintf(h, sizeof(h), "%s", rp_tmp_path(&tmp, "h"));
	/* The newest two, whatever order they were read in. */
	n = fwdscan(t, h, out, 2);
	CHECK_EQ(n, 2);
	CHECK(n == 2 && strncmp(tail(out[0].path), "t/ssh-b/agent.", 14) == 0);
	CHECK(n == 2 &&
	    strcmp(tail(out[1].path), "h/.ssh/agent/s.abc.sshd.def") == 0);
	CHECK_EQ(fwdscan(t, h, out, 0), 0);
}

static void
test_home_optional_and_open_home(void)
{
	struct fwdsock out[FWDSCAN_MAX];
	char t[PATH_MAX + 64], h[PATH_MAX + 64];

	snprintf(t, sizeof(t), "%s", rp_tmp_path(&tmp, "t"));
	snprintf(h, sizeof(h), "%s", rp_tmp_path(&tmp, "h"));
	CHECK_EQ(fwdscan(t, NULL, out, FWDSCAN_MAX), 2);
	CHECK_EQ(fwdscan(t, "relative", out, FWDSCAN_MAX), 2);
	/* ~/.ssh/agent open to others: not looked in. */
	CHECK(chmod(rp_tmp_path(&tmp, "h/.ssh/agent"), 0777) == 0);
	CHECK_EQ(fwdscan(t, h, out, FWDSCAN_MAX), 2);
	CHECK(chmod(rp_tmp_path(&tmp, "h/.ssh/agent"), 0700) == 0);
	CHECK_EQ(fwdscan(rp_tmp_path(&tmp, "none"), NULL, out, FWDSCAN_MAX), 0);
	CHECK_EQ(fwdscan_mtime(rp_tmp_path(&tmp, "t/ssh-a/agent.none")), -1);
}

/* An sshd that is gone: its socket is not taken for a live login's. */
static void
test_gone_sshd(void)
{
	struct fwdsock out[FWDSCAN_MAX];
	char t[PATH_MAX + 64];

	snprintf(t, sizeof(t), "%s", rp_tmp_path(&tmp, "t"));
	kill(sshd2, SIGKILL);
	waitpid(sshd2, NULL, 0);
	CHECK_EQ(fwdscan(t, NULL, out, FWDSCAN_MAX), 1);
	CHECK(strncmp(tail(out[0].path), "t/ssh-a/agent.", 14) == 0);
}

int
main(void)
{
	if (rp_tmp_make(&tmp) != 0)
		return 1;
	sshd1 = named("sshd");
	sshd2 = named("sshd-session");
	shell = named("bash");
	wait_named(sshd1, "sshd");
	wait_named(sshd2, "sshd-session");
	wait_named(shell, "bash");
	build();
	RUN(test_found_newest_first);
	RUN(test_at_most_max);
	RUN(test_home_optional_and_open_home);
	RUN(test_gone_sshd);
	kill(sshd1, SIGKILL);
	kill(shell, SIGKILL);
	waitpid(sshd1, NULL, 0);
	waitpid(shell, NULL, 0);
	rp_tmp_remove(&tmp);
	UNIT_DONE();
}
