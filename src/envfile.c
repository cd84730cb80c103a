#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envfile.h"
#include "sserr.h"
#include "shellenv.h"
#include "wire.h"

#define HEADER "# sshenv environment file for host "
#define FILE_MAX (16 * 1024)

/*
 * Reads the whole (small) file; ERR_NOT_FOUND if absent.  *damaged is set
 * when the file holds a NUL (which would end a parse early and hide what
 * follows) or does not fit size - 1 bytes (never judge a prefix).
 */
static int
slurp(const char *path, char *buf, size_t size, size_t *len, int *damaged)
{
	ssize_t n;
	size_t got = 0;
	char extra;
	int fd, r;

	*len = 0;
	*damaged = 0;
	if ((r = rtpaths_check_file(path)) != 0)
		return r;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : ERR_SYSTEM;
	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	if (got == size - 1 && read(fd, &extra, 1) > 0)
		*damaged = 1;
	close(fd);
	buf[got] = '\0';
	*len = got;
	if (memchr(buf, '\0', got) != NULL)
		*damaged = 1;
	return 0;
}

/* Undoes shellenv's sh quoting of one value: plain, or '...' with '\''. */
static int
unquote(const char *s, const char *end, char *out, size_t size)
{
	size_t o = 0;
	int inq = 0;

	for (; s < end; s++) {
		if (*s == '\'') {
			inq = !inq;
			continue;
		}
		if (!inq && *s == '\\' && s + 1 < end && s[1] == '\'') {
			s++;
		} else if (!inq && strchr(" \t;$`\"\\|&<>(){}*?[]#~", *s)) {
			return ERR_FORMAT;
		}
		if (o + 1 >= size)
			return ERR_TOO_LONG;
		out[o++] = *s;
	}
	if (inq)
		return ERR_FORMAT;
	out[o] = '\0';
	return 0;
}

/* Parses "NAME=value; export NAME;" for the given name. */
static int
parse_line(const char *line, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name);
	const char *v, *end;
	char tail[128];

	if (strncmp(line, name, nl) != 0 || line[nl] != '=')
		return ERR_NOT_FOUND;
	v = line + nl + 1;
	snprintf(tail, sizeof(tail), "; export %s;", name);
	end = v + strlen(v);
	if ((size_t)(end - v) < strlen(tail) ||
	    strcmp(end - strlen(tail), tail) != 0)
		return ERR_FORMAT;
	return unquote(v, end - strlen(tail), out, size);
}

int
envfile_read(const char *path, struct envfile_data *out)
{
	char buf[FILE_MAX], num[32], *line, *next;
	size_t len, hl = strlen(HEADER);
	int r, have_sock = 0, have_pid = 0, damaged;

	memset(out, 0, sizeof(*out));
	if ((r = slurp(path, buf, sizeof(buf), &len, &damaged)) != 0)
		return r;
	if (strncmp(buf, HEADER, hl) != 0)
		return ERR_NOT_OURS;
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line == buf) {
			if (snprintf(out->host, sizeof(out->host), "%s",
				line + hl) >= (int)sizeof(out->host)) {
				out->host[0] = '\0'; /* not a name */
				return ERR_FORMAT;
			}
			continue;
		}
		if (*line == '#' || *line == '\0')
			continue;
		if ((r = parse_line(line, "SSH_AUTH_SOCK", out->sock,
			 sizeof(out->sock))) == 0) {
			have_sock = 1;
		} else if (r != ERR_NOT_FOUND) {
			return ERR_FORMAT;
		} else if ((r = parse_line(line, "SSH_AGENT_PID", num,
				sizeof(num))) == 0) {
			if (rtpaths_parse_pid(num, &out->pid) != 0)
				return ERR_FORMAT;
			have_pid = 1;
		} else {
			return ERR_FORMAT;
		}
	}
	if (damaged || !have_sock || !have_pid || out->host[0] == '\0')
		return ERR_FORMAT;
	return 0;
}

/* May we replace or remove what is at path? */
static int
replaceable(const char *path)
{
	char buf[FILE_MAX];
	size_t len;
	int r, damaged;

	/* Ours, damaged or not, is ours to replace. */
	r = slurp(path, buf, sizeof(buf), &len, &damaged);
	if (r == ERR_NOT_FOUND)
		return 0;
	if (r != 0)
		return r;
	if (strncmp(buf, HEADER, strlen(HEADER)) != 0)
		return ERR_NOT_OURS;
	return 0;
}

static int
ensure_parent(const char *path)
{
	char dir[PATHS_MAX], *slash;
	struct stat st;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return ERR_PATH_TOO_LONG;
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	/* ~/.ssh may be a symlink to a directory (dotfile managers). */
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : ERR_EXISTS;
	if (errno != ENOENT)
		return ERR_SYSTEM;
	return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : ERR_SYSTEM;
}

int
envfile_write(const char *path, const char *host, const char *sock, long pid)
{
	struct wire w;
	char num[32];
	int r, e;

	wire_init(&w, FILE_MAX);
	if ((r = replaceable(path)) != 0 || (r = ensure_parent(path)) != 0)
		goto out;
	snprintf(num, sizeof(num), "%ld", pid);
	if (strchr(host, '\n') != NULL) {
		r = ERR_UNSAFE_VALUE;
		goto out;
	}
	if ((r = wire_put(&w, HEADER, strlen(HEADER))) ||
	    (r = wire_put(&w, host, strlen(host))) ||
	    (r = wire_put(&w, "\n", 1)) ||
	    (r = shellenv_set(&w, SHELL_SH, "SSH_AUTH_SOCK", sock)) ||
	    (r = shellenv_set(&w, SHELL_SH, "SSH_AGENT_PID", num)))
		goto out;
	r = rtpaths_write_file(path, wire_ptr(&w), wire_avail(&w));
out:
	e = errno;
	wire_free(&w);
	errno = e;
	return r;
}

int
envfile_remove(const char *path, const char *host)
{
	struct envfile_data d;
	int r;

	r = envfile_read(path, &d);
	if (r == ERR_NOT_FOUND)
		return 0;
	if (r != 0 && r != ERR_FORMAT)
		return r;
	/*
	 * Ours but damaged is still ours to remove, if this host wrote it:
	 * on a shared home another host's file is never ours to delete.
	 */
	if (strcmp(d.host, host) != 0)
		return ERR_NOT_OURS;
	if (unlink(path) != 0 && errno != ENOENT)
		return ERR_SYSTEM;
	return 0;
}
