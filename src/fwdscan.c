#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fwdscan.h"
#include "rtpaths.h"

/* A directory of ours (or root's) that no one else may write to. */
static int
safe_dir(const char *path, int root_ok)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_uid == geteuid() || (root_ok && st.st_uid == 0)) &&
	    (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

int64_t
fwdscan_mtime(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* Keeps out[] sorted newest first, the oldest falling off when full. */
static void
insert(struct fwdsock *out, int *n, int max, const char *path, int64_t mtime)
{
	int i;

	if (*n == max && (max == 0 || out[max - 1].mtime_ns >= mtime))
		return;
	i = *n < max ? (*n)++ : max - 1;
	for (; i > 0 && out[i - 1].mtime_ns < mtime; i--)
		out[i] = out[i - 1];
	memcpy(out[i].path, path, strlen(path) + 1); /* (it fits: scan_dir) */
	out[i].mtime_ns = mtime;
}

/*
 * Whether the process named by the socket agent.PID is sshd's (its
 * session process: "sshd", or "sshd-session" from OpenSSH 9.8), so that
 * an ssh-agent the user started (agent.PPID, named after its parent) is
 * not taken for a login's forwarded agent.  Where /proc tells no process
 * names, the name cannot be checked and is taken.
 */
static int
made_by_sshd(const char *name)
{
	char path[64], comm[32];
	const char *pid = strchr(name, '.');
	size_t n;
	FILE *f;

	if (pid == NULL || pid[1] == '\0' ||
	    strspn(pid + 1, "0123456789") != strlen(pid + 1) ||
	    strlen(pid + 1) > 12)
		return 0;
	snprintf(path, sizeof(path), "/proc/%.12s/comm", pid + 1);
	if ((f = fopen(path, "re")) == NULL)
		return access("/proc/self/comm", F_OK) != 0;
	n = fread(comm, 1, sizeof(comm) - 1, f);
	fclose(f);
	comm[n] = '\0';
	return strncmp(comm, "sshd", 4) == 0;
}

/* prefix* (and, if infix is not NULL, *infix*) in dir: sockets of ours. */
static void
scan_dir(const char *dir, const char *prefix, const char *infix,
    struct fwdsock *out, int *n, int max)
{
	char path[FWDSCAN_PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
		    (infix != NULL &&
			strstr(e->d_name + strlen(prefix), infix) == NULL) ||
		    (infix == NULL && !made_by_sshd(e->d_name)))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
			(int)sizeof(path) ||
		    lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode) ||
		    st.st_uid != geteuid())
			continue;
		insert(out, n, max, path,
		    (int64_t)st.st_mtim.tv_sec * 1000000000 +
			st.st_mtim.tv_nsec);
	}
	closedir(d);
}

int
fwdscan(const char *tmpdir, const char *home, struct fwdsock *out, int max)
{
	char dir[PATHS_MAX];
	struct dirent *e;
	int n = 0;
	DIR *d;

	if (max > FWDSCAN_MAX)
		max = FWDSCAN_MAX;
	if ((d = opendir(tmpdir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strncmp(e->d_name, "ssh-", 4) != 0 ||
			    snprintf(dir, sizeof(dir), "%s/%s", tmpdir,
				e->d_name) >= (int)sizeof(dir) ||
			    !safe_dir(dir, 0))
				continue;
			scan_dir(dir, "agent.", NULL, out, &n, max);
		}
		closedir(d);
	}
	if (home != NULL && home[0] == '/' &&
	    snprintf(dir, sizeof(dir), "%s/.ssh/agent", home) <
		(int)sizeof(dir) &&
	    safe_dir(dir, 1))
		scan_dir(dir, "s.", ".sshd.", out, &n, max);
	return n;
}
