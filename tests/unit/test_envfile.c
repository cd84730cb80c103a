/*
 * envfile: what envfile_write puts on disk (exact bytes, modes, no temp
 * file left) reads back, also through sh with shell metacharacters in the
 * value; the reader on hostile files (missing, empty, not ours, symlink,
 * another owner, over-long lines, huge, binary, malformed lines);
 * envfile_write leaves a file it may not replace byte-identical, and
 * envfile_remove removes our own host's file and keeps any other.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envfile.h"
#include "sserr.h"
#include "runproc.h"
#include "unit.h"

#define HDR "# sshenv environment file for host "
#define SOCK_LINE "SSH_AUTH_SOCK=/r/a.sock; export SSH_AUTH_SOCK;\n"
#define PID_LINE "SSH_AGENT_PID=4242; export SSH_AGENT_PID;\n"
#define GOOD HDR "box\n" SOCK_LINE PID_LINE

/* The uid a chown'ed file gets: nobody on most systems. */
#define OTHER_UID 65534

static char tmpdir[64];
static int as_root;

/* A fresh directory tmpdir/name for one test; its path in buf. */
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

/* dir/name into buf; an empty buf (and a failed test) if it is cut. */
static void
join(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size) {
		buf[0] = '\0';
		CHECK(0);
	}
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

static int
put_str(const char *path, const char *s)
{
	return put_file(path, s, strlen(s), 0600);
}

/* 1 if the file at path holds exactly the n bytes at p. */
static int
holds(const char *path, const void *p, size_t n)
{
	char *buf;
	ssize_t got;
	int fd, same;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW)) < 0)
		return 0;
	if ((buf = malloc(n + 1)) == NULL) {
		close(fd);
		return 0;
	}
	/* One byte more than expected, to see a longer file. */
	got = read(fd, buf, n + 1);
	same = got == (ssize_t)n && memcmp(buf, p, n) == 0;
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

/* Reads path with *d preset to garbage. */
static int
read_env(const char *path, struct envfile_data *d)
{
	memset(d, 0xa5, sizeof(*d));
	return envfile_read(path, d);
}

static void
test_write_read(void)
{
	static const char want1[] = HDR
	    "host-a\n"
	    "SSH_AUTH_SOCK=/run/user/1000/sshenv/agent.sock; "
	    "export SSH_AUTH_SOCK;\n"
	    "SSH_AGENT_PID=4242; export SSH_AGENT_PID;\n";
	char dir[128], ssh[160], path[192];
	struct envfile_data d;

	if (subdir(dir, sizeof(dir), "write_read") != 0) {
		CHECK(0);
		return;
	}
	join(ssh, sizeof(ssh), dir, ".ssh");
	join(path, sizeof(path), ssh, "environment");
	/* .ssh is missing: envfile_write makes it, 0700. */
	CHECK_EQ(envfile_write(path, "host-a",
		     "/run/user/1000/sshenv/agent.sock", 4242),
	    0);
	CHECK_EQ(mode_of(ssh), 0700);
	CHECK_EQ(mode_of(path), 0600);
	/* The exact text the profile recipes source. */
	CHECK(holds(path, want1, sizeof(want1) - 1));
	CHECK_EQ(read_env(path, &d), 0);
	CHECK(strcmp(d.host, "host-a") == 0);
	CHECK(strcmp(d.sock, "/run/user/1000/sshenv/agent.sock") == 0);
	CHECK_EQ(d.pid, 4242);

	/* Our own file is replaced, with nothing left beside it. */
	CHECK_EQ(envfile_write(path, "host-a", "/x/y.sock", 2), 0);
	CHECK_EQ(read_env(path, &d), 0);
	CHECK(strcmp(d.host, "host-a") == 0);
	CHECK(strcmp(d.sock, "/x/y.sock") == 0);
	CHECK_EQ(d.pid, 2);
	CHECK_EQ(entries(ssh), 1);
	CHECK_EQ(mode_of(path), 0600);
}

/*
 * A socket path full of what sh would interpret is quoted on the way out
 * and unquoted on the way in; sh reading the file gets the same bytes and
 * runs none of them.
 */
static void
test_shell_metachars(void)
{
	char dir[128], path[192], flag[192], sock[512], want[600];
	char script[] = "set -e; . \"$0\"; "
			"printf '%s|%s' \"$SSH_AUTH_SOCK\" \"$SSH_AGENT_PID\"";
	char *argv[] = { "sh", "-c", script, path, NULL };
	char *envp[] = { "PATH=" RP_PATH, "LC_ALL=C", NULL };
	struct envfile_data d;
	char *out = NULL;
	size_t outlen;
	int status;

	if (subdir(dir, sizeof(dir), "metachars") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	join(flag, sizeof(flag), dir, "ran");
	snprintf(sock, sizeof(sock),
	    "/tmp/a b/$(touch %s)`touch %s`;"
	    "'q'\\'\"x\"|&<>(){}*?[]#~! %%s.sock",
	    flag, flag);
	CHECK_EQ(envfile_write(path, "h", sock, 77), 0);
	CHECK_EQ(read_env(path, &d), 0);
	CHECK(strcmp(d.sock, sock) == 0);
	CHECK_EQ(d.pid, 77);

	if (rp_which("sh") == NULL) {
		printf("  skip: no sh to source the file with\n");
		return;
	}
	CHECK_EQ(rp_run(argv, envp, NULL, &out, &outlen, &status), 0);
	CHECK_EQ(status, 0);
	snprintf(want, sizeof(want), "%s|77", sock);
	CHECK(out != NULL && strcmp(out, want) == 0);
	CHECK(access(flag, F_OK) != 0);
	free(out);
}

/* No quoting makes a newline safe: refused, and nothing written. */
static void
test_write_unsafe(void)
{
	char dir[128], path[192];

	if (subdir(dir, sizeof(dir), "unsafe") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	CHECK_EQ(envfile_write(path, "h", "/a\nb", 5), ERR_UNSAFE_VALUE);
	CHECK_EQ(envfile_write(path, "h\nSSH_AUTH_SOCK=/x", "/a", 5),
	    ERR_UNSAFE_VALUE);
	CHECK_EQ(entries(dir), 0);
	/* ... and an existing file of ours stays as it was. */
	CHECK_EQ(put_str(path, GOOD), 0);
	CHECK_EQ(envfile_write(path, "box", "/a\nb", 5), ERR_UNSAFE_VALUE);
	CHECK(holds(path, GOOD, strlen(GOOD)));
	CHECK_EQ(entries(dir), 1);
}

static void
test_read_missing(void)
{
	char dir[128], path[192];
	struct envfile_data d;

	if (subdir(dir, sizeof(dir), "missing") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	CHECK_EQ(read_env(path, &d), ERR_NOT_FOUND);
	CHECK(d.host[0] == '\0' && d.sock[0] == '\0' && d.pid == 0);
	join(path, sizeof(path), dir, "nodir/environment");
	CHECK_EQ(read_env(path, &d), ERR_NOT_FOUND);
}

/* Files sshenv did not write, the empty one included. */
static void
test_read_not_ours(void)
{
	static const char *const texts[] = {
		"",
		"\n",
		/* What `ssh-agent -s` prints: valid, but not ours. */
		"SSH_AUTH_SOCK=/tmp/ssh-x/agent.1; export SSH_AUTH_SOCK;\n"
		"SSH_AGENT_PID=2; export SSH_AGENT_PID;\n"
		"echo Agent pid 2;\n",
		"# sshenv environment file for host\n" SOCK_LINE PID_LINE,
		"# SSHENV environment file for host box\n" SOCK_LINE PID_LINE,
		"\n" GOOD,
		" " GOOD,
		"#",
	};
	char dir[128], path[192];
	struct envfile_data d;
	size_t i;

	if (subdir(dir, sizeof(dir), "not_ours") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		CHECK_EQ(put_str(path, texts[i]), 0);
		if (read_env(path, &d) != ERR_NOT_OURS)
			fprintf(stderr, "  text %zu\n", i);
		CHECK_EQ(read_env(path, &d), ERR_NOT_OURS);
	}
	/* The same directory and name with our text: the control. */
	CHECK_EQ(put_str(path, GOOD), 0);
	CHECK_EQ(read_env(path, &d), 0);
	CHECK(strcmp(d.host, "box") == 0);
}

static void
test_read_symlink(void)
{
	char dir[128], path[192], target[192];
	struct envfile_data d;

	if (subdir(dir, sizeof(dir), "symlink") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	join(target, sizeof(target), dir, "real");
	CHECK_EQ(put_str(target, GOOD), 0);
	CHECK_EQ(read_env(target, &d), 0);
	CHECK_EQ(symlink(target, path), 0);
	CHECK_EQ(read_env(path, &d), ERR_SYMLINK);
	/* A dangling link too: nothing is followed. */
	CHECK_EQ(unlink(target), 0);
	CHECK_EQ(read_env(path, &d), ERR_SYMLINK);
}

static void
test_read_other_owner(void)
{
	char dir[128], path[192];
	struct envfile_data d;

	if (!as_root) {
		printf("  skip: only root can give a file to uid %d\n",
		    OTHER_UID);
		return;
	}
	if (subdir(dir, sizeof(dir), "owner") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	CHECK_EQ(put_str(path, GOOD), 0);
	CHECK_EQ(read_env(path, &d), 0);
	CHECK_EQ(chown(path, OTHER_UID, OTHER_UID), 0);
	CHECK_EQ(read_env(path, &d), ERR_BAD_OWNER);
}

/* Builds HDR host \n SOCK=... \n PID=... with fields of chosen lengths. */
static char *
env_text(size_t hostlen, size_t socklen, size_t pidlen)
{
	size_t n = 256 + hostlen + socklen + pidlen;
	char *s = malloc(n), *host, *sock, *pid;

	host = malloc(hostlen + 1);
	sock = malloc(socklen + 1);
	pid = malloc(pidlen + 1);
	if (s == NULL || host == NULL || sock == NULL || pid == NULL) {
		free(host);
		free(sock);
		free(pid);
		free(s);
		return NULL;
	}
	memset(host, 'h', hostlen);
	host[hostlen] = '\0';
	memset(sock, 's', socklen);
	sock[socklen] = '\0';
	if (socklen > 0)
		sock[0] = '/';
	memset(pid, '1', pidlen);
	pid[pidlen] = '\0';
	snprintf(s, n,
	    HDR "%s\nSSH_AUTH_SOCK=%s; export SSH_AUTH_SOCK;\n"
		"SSH_AGENT_PID=%s; export SSH_AGENT_PID;\n",
	    host, sock, pid);
	free(host);
	free(sock);
	free(pid);
	return s;
}

static void
test_read_long_lines(void)
{
	/* Each field at the most it may hold, then one byte more. */
	static const struct {
		size_t host, sock, pid;
		int want;
	} cases[] = {
		{ sizeof(((struct envfile_data *)0)->host) - 1, 5, 4, 0 },
		{ sizeof(((struct envfile_data *)0)->host), 5, 4, ERR_FORMAT },
		{ 1000, 5, 4, ERR_FORMAT },
		{ 3, PATHS_MAX - 1, 4, 0 },
		{ 3, PATHS_MAX, 4, ERR_FORMAT },
		{ 3, 10000, 4, ERR_FORMAT },
		{ 3, 5, 40, ERR_FORMAT },
		{ 3, 5, 1000, ERR_FORMAT },
	};
	char dir[128], path[192], *text, *junk;
	struct envfile_data d;
	size_t i;

	if (subdir(dir, sizeof(dir), "long_lines") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text = env_text(cases[i].host, cases[i].sock, cases[i].pid);
		CHECK(text != NULL);
		if (text == NULL)
			continue;
		CHECK_EQ(put_str(path, text), 0);
		if (read_env(path, &d) != cases[i].want)
			fprintf(stderr, "  case %zu\n", i);
		CHECK_EQ(read_env(path, &d), cases[i].want);
		if (cases[i].want == 0) {
			CHECK_EQ(strlen(d.host), cases[i].host);
			CHECK_EQ(strlen(d.sock), cases[i].sock);
		}
		free(text);
	}

	/* A line of 10000 letters among valid ones. */
	junk = malloc(10002);
	CHECK(junk != NULL);
	if (junk == NULL)
		return;
	memset(junk, 'x', 10000);
	junk[10000] = '\n';
	junk[10001] = '\0';
	text = malloc(strlen(GOOD) + 10002);
	if (text != NULL) {
		snprintf(text, strlen(GOOD) + 10002, "%s%s", GOOD, junk);
		CHECK_EQ(put_str(path, text), 0);
		CHECK_EQ(read_env(path, &d), ERR_FORMAT);
	}
	free(text);
	free(junk);
}

/* A megabyte: the reader neither takes it as ours nor chokes. */
static void
test_read_huge(void)
{
	size_t big = 1024 * 1024, n, hl = strlen(HDR "box\n");
	char dir[128], path[192], *buf;
	struct envfile_data d;

	if (subdir(dir, sizeof(dir), "huge") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	if ((buf = malloc(big)) == NULL) {
		CHECK(0);
		return;
	}
	/* Without the header. */
	memset(buf, 'x', big);
	CHECK_EQ(put_file(path, buf, big, 0600), 0);
	CHECK_EQ(read_env(path, &d), ERR_NOT_OURS);
	/* The header, then junk lines. */
	memcpy(buf, HDR "box\n", hl);
	for (n = hl + 63; n < big; n += 64)
		buf[n] = '\n';
	CHECK_EQ(put_file(path, buf, big, 0600), 0);
	CHECK_EQ(read_env(path, &d), ERR_FORMAT);
	/* Our lines first, then junk. */
	memcpy(buf, GOOD, strlen(GOOD));
	CHECK_EQ(put_file(path, buf, big, 0600), 0);
	CHECK_EQ(read_env(path, &d), ERR_FORMAT);
	/* Comments, with our lines only at the very end. */
	memset(buf, '#', big);
	memcpy(buf, HDR "box\n", hl);
	for (n = hl + 63; n < big; n += 64)
		buf[n] = '\n';
	n = strlen(SOCK_LINE PID_LINE);
	memcpy(buf + big - n, SOCK_LINE PID_LINE, n);
	buf[big - n - 1] = '\n';
	CHECK_EQ(put_file(path, buf, big, 0600), 0);
	CHECK_EQ(read_env(path, &d), ERR_FORMAT);
	free(buf);
}

/* Fixed pseudo-random bytes (xorshift32), the same on every run. */
static void
junk_bytes(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		p[i] = (uint8_t)seed;
	}
}

static void
test_read_binary(void)
{
	static const char nul_sock[] = HDR
	    "box\n"
	    "SSH_AUTH_SOCK=/r/a\0b.sock; export SSH_AUTH_SOCK;\n" PID_LINE;
	static const char nul_host[] = HDR "b\0x\n" SOCK_LINE PID_LINE;
	uint8_t buf[4096];
	char dir[128], path[192];
	struct envfile_data d;
	size_t hl = strlen(HDR "box\n");
	uint32_t seed;

	if (subdir(dir, sizeof(dir), "binary") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	for (seed = 1; seed <= 20; seed++) {
		junk_bytes(buf, sizeof(buf), seed * 2654435761u);
		/* No header: not ours, whatever follows. */
		buf[0] = 0xff;
		CHECK_EQ(put_file(path, buf, sizeof(buf), 0600), 0);
		CHECK_EQ(read_env(path, &d), ERR_NOT_OURS);
		/* The header, then binary: damaged. */
		memcpy(buf, HDR "box\n", hl);
		buf[hl] = 0x01;
		CHECK_EQ(put_file(path, buf, sizeof(buf), 0600), 0);
		CHECK_EQ(read_env(path, &d), ERR_FORMAT);
	}
	/* A NUL inside a value or the host line. */
	CHECK_EQ(put_file(path, nul_sock, sizeof(nul_sock) - 1, 0600), 0);
	CHECK_EQ(read_env(path, &d), ERR_FORMAT);
	CHECK_EQ(put_file(path, nul_host, sizeof(nul_host) - 1, 0600), 0);
	CHECK_EQ(read_env(path, &d), ERR_FORMAT);
}

/* Our header, then lines the writer never produces. */
static void
test_read_malformed(void)
{
	static const char *const bodies[] = {
		"",
		SOCK_LINE,
		PID_LINE,
		SOCK_LINE "SSH_AGENT_PID=4242; export SSH_AGENT_PID\n",
		SOCK_LINE "SSH_AGENT_PID=4242;export SSH_AGENT_PID;\n",
		SOCK_LINE "SSH_AGENT_PID=4242; export SSH_AUTH_SOCK;\n",
		SOCK_LINE "SSH_AGENT_PID=12a; export SSH_AGENT_PID;\n",
		SOCK_LINE "SSH_AGENT_PID=-5; export SSH_AGENT_PID;\n",
		SOCK_LINE "SSH_AGENT_PID=4242\n",
		"SSH_AUTH_SOCK=$HOME/a; export SSH_AUTH_SOCK;\n" PID_LINE,
		"SSH_AUTH_SOCK=`id`; export SSH_AUTH_SOCK;\n" PID_LINE,
		"SSH_AUTH_SOCK=/a b; export SSH_AUTH_SOCK;\n" PID_LINE,
		"SSH_AUTH_SOCK=/a; rm -rf ~; export SSH_AUTH_SOCK;\n" PID_LINE,
		"SSH_AUTH_SOCK='/a; export SSH_AUTH_SOCK;\n" PID_LINE,
		"SSH_AUTH_SOCK=/a\\b; export SSH_AUTH_SOCK;\n" PID_LINE,
		"SSH_AUTH_SOCK=\"/a\"; export SSH_AUTH_SOCK;\n" PID_LINE,
		"SSH_AUTH_SOCK=/a*; export SSH_AUTH_SOCK;\n" PID_LINE,
		"SSH_AUTH_SOCKX=/a; export SSH_AUTH_SOCKX;\n" PID_LINE,
		"ssh_auth_sock=/a; export ssh_auth_sock;\n" PID_LINE,
		" SSH_AUTH_SOCK=/a; export SSH_AUTH_SOCK;\n" PID_LINE,
		"export SSH_AUTH_SOCK=/a;\n" PID_LINE,
		"SSH_AUTH_SOCK=/a; export SSH_AUTH_SOCK;\r\n" PID_LINE,
		SOCK_LINE PID_LINE "echo hi\n",
		SOCK_LINE PID_LINE "=\n",
		SOCK_LINE PID_LINE " \n",
	};
	char dir[128], path[192], text[512];
	struct envfile_data d;
	size_t i;

	if (subdir(dir, sizeof(dir), "malformed") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		snprintf(text, sizeof(text), HDR "box\n%s", bodies[i]);
		CHECK_EQ(put_str(path, text), 0);
		if (read_env(path, &d) != ERR_FORMAT)
			fprintf(stderr, "  body %zu\n", i);
		CHECK_EQ(read_env(path, &d), ERR_FORMAT);
	}
	/* A header naming no host. */
	CHECK_EQ(put_str(path, HDR "\n" SOCK_LINE PID_LINE), 0);
	CHECK_EQ(read_env(path, &d), ERR_FORMAT);
}

/* What the reader takes besides the writer's own output. */
static void
test_read_accepts(void)
{
	static const char text[] = HDR
	    "box.example.org\n"
	    "# a comment\n"
	    "\n"
	    "SSH_AGENT_PID=2; export SSH_AGENT_PID;\n"
	    "SSH_AUTH_SOCK='/a b/it'\\''s;$x'; export SSH_AUTH_SOCK;\n";
	char dir[128], path[192];
	struct envfile_data d;

	if (subdir(dir, sizeof(dir), "accepts") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	CHECK_EQ(put_str(path, text), 0);
	CHECK_EQ(read_env(path, &d), 0);
	CHECK(strcmp(d.host, "box.example.org") == 0);
	CHECK(strcmp(d.sock, "/a b/it's;$x") == 0);
	CHECK_EQ(d.pid, 2);
}

/* envfile_write on a file it may not replace changes nothing at all. */
static void
test_write_refuses(void)
{
	static const char mine[] = "export SSH_AUTH_SOCK=$HOME/.agent\n";
	char dir[128], path[192], target[192];
	struct stat before, after;

	if (subdir(dir, sizeof(dir), "refuses") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	join(target, sizeof(target), dir, "target");

	/* The user's own file, 0644. */
	CHECK_EQ(put_file(path, mine, strlen(mine), 0644), 0);
	CHECK_EQ(lstat(path, &before), 0);
	CHECK_EQ(envfile_write(path, "box", "/r/a.sock", 5), ERR_NOT_OURS);
	CHECK(holds(path, mine, strlen(mine)));
	CHECK_EQ(lstat(path, &after), 0);
	CHECK(after.st_ino == before.st_ino);
	CHECK_EQ(after.st_mode & 07777, 0644);
	CHECK_EQ(entries(dir), 1);

	/* An empty file is not ours either. */
	CHECK_EQ(put_file(path, "", 0, 0600), 0);
	CHECK_EQ(envfile_write(path, "box", "/r/a.sock", 5), ERR_NOT_OURS);
	CHECK(holds(path, "", 0));
	CHECK_EQ(entries(dir), 1);

	/* A symlink, even to a file of ours: neither is touched. */
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(put_str(target, GOOD), 0);
	CHECK_EQ(symlink(target, path), 0);
	CHECK_EQ(envfile_write(path, "box", "/r/a.sock", 5), ERR_SYMLINK);
	CHECK(holds(target, GOOD, strlen(GOOD)));
	CHECK_EQ(lstat(path, &after), 0);
	CHECK(S_ISLNK(after.st_mode));
	CHECK_EQ(entries(dir), 2);
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(unlink(target), 0);

	if (!as_root) {
		printf("  skip: another owner's file needs root\n");
		return;
	}
	CHECK_EQ(put_str(path, GOOD), 0);
	CHECK_EQ(chown(path, OTHER_UID, OTHER_UID), 0);
	CHECK_EQ(envfile_write(path, "box", "/r/a.sock", 5), ERR_BAD_OWNER);
	CHECK(holds(path, GOOD, strlen(GOOD)));
	CHECK_EQ(lstat(path, &after), 0);
	CHECK_EQ(after.st_uid, OTHER_UID);
	CHECK_EQ(entries(dir), 1);
}

static void
test_remove(void)
{
	static const char mine[] =
	    "SSH_AUTH_SOCK=/mine; export SSH_AUTH_SOCK;\n";
	static const char damaged[] = HDR "box\n" SOCK_LINE;
	char dir[128], path[192], target[192];
	struct stat st;

	if (subdir(dir, sizeof(dir), "remove") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	join(target, sizeof(target), dir, "target");

	/* Nothing there is nothing to do. */
	CHECK_EQ(envfile_remove(path, "box"), 0);

	/* Another host's file stays, byte for byte. */
	CHECK_EQ(envfile_write(path, "other", "/r/a.sock", 5), 0);
	CHECK_EQ(envfile_remove(path, "box"), ERR_NOT_OURS);
	CHECK_EQ(envfile_remove(path, "othe"), ERR_NOT_OURS);
	CHECK_EQ(envfile_remove(path, "other2"), ERR_NOT_OURS);
	CHECK_EQ(envfile_remove(path, ""), ERR_NOT_OURS);
	CHECK_EQ(access(path, F_OK), 0);
	CHECK_EQ(put_str(path, HDR "other\n" SOCK_LINE PID_LINE), 0);
	CHECK_EQ(envfile_remove(path, "box"), ERR_NOT_OURS);
	CHECK(holds(path, HDR "other\n" SOCK_LINE PID_LINE,
	    strlen(HDR "other\n" SOCK_LINE PID_LINE)));

	/* Ours goes. */
	CHECK_EQ(envfile_write(path, "box", "/r/a.sock", 5), 0);
	CHECK_EQ(envfile_remove(path, "box"), 0);
	CHECK(access(path, F_OK) != 0 && errno == ENOENT);
	CHECK_EQ(envfile_remove(path, "box"), 0);

	/* Ours, damaged (no pid line): still ours to remove. */
	CHECK_EQ(put_str(path, damaged), 0);
	CHECK_EQ(envfile_remove(path, "box"), 0);
	CHECK(access(path, F_OK) != 0);

	/* Not ours. */
	CHECK_EQ(put_str(path, mine), 0);
	CHECK_EQ(envfile_remove(path, "box"), ERR_NOT_OURS);
	CHECK(holds(path, mine, strlen(mine)));
	CHECK_EQ(unlink(path), 0);

	/* A symlink to our file: the link and the file stay. */
	CHECK_EQ(put_str(target, GOOD), 0);
	CHECK_EQ(symlink(target, path), 0);
	CHECK_EQ(envfile_remove(path, "box"), ERR_SYMLINK);
	CHECK_EQ(lstat(path, &st), 0);
	CHECK(S_ISLNK(st.st_mode));
	CHECK(holds(target, GOOD, strlen(GOOD)));
	CHECK_EQ(entries(dir), 2);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/*
 * Found in review, each failed before its fix: what follows a NUL or lies
 * past the size limit must not be taken for a valid file (a shell that
 * sources it would run it); a damaged file of another host is not ours to
 * remove; a pid is a pid; ~/.ssh may be a symlink to a directory.
 */
static void
test_review_findings(void)
{
	static const char nul_tail[] = GOOD "\0rm -rf ~\n";
	static const char no_pid_other[] = HDR "hb\n" SOCK_LINE;
	static const char crlf_other[] = HDR
	    "hb\r\n"
	    "SSH_AUTH_SOCK=/r/a.sock; export SSH_AUTH_SOCK;\r\n"
	    "SSH_AGENT_PID=4242; export SSH_AGENT_PID;\r\n";
	static const char *const bad_pids[] = {
		"",
		"0",
		"1",
		"99999999999999999999999",
		"-5",
		"+5",
	};
	char dir[128], path[192], real[192], link[192], line[128];
	struct envfile_data d;
	size_t n, len;
	char *buf;

	if (subdir(dir, sizeof(dir), "review") != 0) {
		CHECK(0);
		return;
	}
	join(path, sizeof(path), dir, "environment");
	/* 1: a NUL, then a command. */
	CHECK_EQ(put_file(path, nul_tail, sizeof(nul_tail) - 1, 0600), 0);
	CHECK_EQ(read_env(path, &d), ERR_FORMAT);
	/* 2: a valid start, comments past 16 KiB, then a command. */
	len = 20000 + 64;
	if ((buf = malloc(len)) != NULL) {
		n = strlen(GOOD);
		memcpy(buf, GOOD, n);
		for (; n + 64 < 20000; n += 64) {
			memset(buf + n, '#', 63);
			buf[n + 63] = '\n';
		}
		memcpy(buf + n, "rm -rf ~\n", 9);
		n += 9;
		CHECK_EQ(put_file(path, buf, n, 0600), 0);
		CHECK_EQ(read_env(path, &d), ERR_FORMAT);
		free(buf);
	} else {
		CHECK(0);
	}
	/* 3: another host's damaged files stay. */
	CHECK_EQ(put_str(path, no_pid_other), 0);
	CHECK_EQ(envfile_remove(path, "ha"), ERR_NOT_OURS);
	CHECK(holds(path, no_pid_other, strlen(no_pid_other)));
	CHECK_EQ(put_str(path, crlf_other), 0);
	CHECK_EQ(envfile_remove(path, "ha"), ERR_NOT_OURS);
	CHECK(holds(path, crlf_other, strlen(crlf_other)));
	/* ... and this host's damaged file goes. */
	CHECK_EQ(put_str(path, HDR "ha\n" SOCK_LINE), 0);
	CHECK_EQ(envfile_remove(path, "ha"), 0);
	CHECK(access(path, F_OK) != 0);
	/* 4: no empty, small, huge or signed pid. */
	for (n = 0; n < sizeof(bad_pids) / sizeof(bad_pids[0]); n++) {
		snprintf(line, sizeof(line),
		    HDR "box\n" SOCK_LINE
			"SSH_AGENT_PID=%s; export SSH_AGENT_PID;\n",
		    bad_pids[n]);
		CHECK_EQ(put_str(path, line), 0);
		CHECK_EQ(read_env(path, &d), ERR_FORMAT);
	}
	/* 5: ~/.ssh a symlink to a real directory: written through it. */
	join(real, sizeof(real), dir, "dotfiles-ssh");
	join(link, sizeof(link), dir, "dotssh");
	CHECK_EQ(mkdir(real, 0700), 0);
	CHECK_EQ(symlink(real, link), 0);
	join(path, sizeof(path), link, "environment");
	CHECK_EQ(envfile_write(path, "box", "/r/a.sock", 5), 0);
	CHECK_EQ(read_env(path, &d), 0);
	CHECK_EQ(d.pid, 5);
}

int
main(void)
{
	as_root = geteuid() == 0;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sshenv-unit-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	RUN(test_write_read);
	RUN(test_shell_metachars);
	RUN(test_write_unsafe);
	RUN(test_read_missing);
	RUN(test_read_not_ours);
	RUN(test_read_symlink);
	RUN(test_read_other_owner);
	RUN(test_read_long_lines);
	RUN(test_read_huge);
	RUN(test_read_binary);
	RUN(test_read_malformed);
	RUN(test_read_accepts);
	RUN(test_write_refuses);
	RUN(test_remove);
	RUN(test_review_findings);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	UNIT_DONE();
}
