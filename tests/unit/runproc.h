/*
 * runproc: test helper to run a real program (a shell, ssh-keygen) with a
 * fixed, minimal environment and capture its standard output, plus a
 * private temporary directory to use as its HOME.  Nothing here reads the
 * machine's HOME or needs the network.  Header-only, like keyfile.h.
 */
#ifndef SSHENV_TEST_RUNPROC_H
#define SSHENV_TEST_RUNPROC_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define RP_FN static __attribute__((unused))

/* Room for the temporary directory plus a file name. */
#define RP_PATHLEN (PATH_MAX + 64)

/* Where programs are looked up: never the caller's PATH. */
#define RP_PATH "/usr/local/bin:/usr/bin:/bin"

struct rp_tmp {
	char dir[PATH_MAX];
	char env_home[PATH_MAX + 64];
	char env_config[PATH_MAX + 64];
	char env_data[PATH_MAX + 64];
	char env_cache[PATH_MAX + 64];
	char *envp[8];
};

/* Makes a private temporary directory and an environment that uses it. */
RP_FN int
rp_tmp_make(struct rp_tmp *t)
{
	const char *base = getenv("TMPDIR");

	memset(t, 0, sizeof(*t));
	if (base == NULL || *base != '/')
		base = "/tmp";
	snprintf(t->dir, sizeof(t->dir), "%s/sshenv-unit-XXXXXX", base);
	if (mkdtemp(t->dir) == NULL) {
		fprintf(stderr, "  mkdtemp %s: %s\n", t->dir, strerror(errno));
		t->dir[0] = '\0';
		return -1;
	}
	snprintf(t->env_home, sizeof(t->env_home), "HOME=%s", t->dir);
	snprintf(t->env_config, sizeof(t->env_config),
	    "XDG_CONFIG_HOME=%s/.config", t->dir);
	snprintf(t->env_data, sizeof(t->env_data),
	    "XDG_DATA_HOME=%s/.local/share", t->dir);
	snprintf(t->env_cache, sizeof(t->env_cache), "XDG_CACHE_HOME=%s/.cache",
	    t->dir);
	t->envp[0] = "PATH=" RP_PATH;
	t->envp[1] = t->env_home;
	t->envp[2] = t->env_config;
	t->envp[3] = t->env_data;
	t->envp[4] = t->env_cache;
	t->envp[5] = "LC_ALL=C.UTF-8";
	t->envp[6] = NULL;
	return 0;
}

static int
rp_rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* Removes the directory and everything the programs left in it. */
RP_FN void
rp_tmp_remove(struct rp_tmp *t)
{
	if (t->dir[0] != '\0')
		nftw(t->dir, rp_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	t->dir[0] = '\0';
}

/* A path inside the temporary directory, in a static buffer. */
RP_FN const char *
rp_tmp_path(const struct rp_tmp *t, const char *name)
{
	static char path[RP_PATHLEN];

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	return path;
}

/* The full path of program name in RP_PATH, or NULL. */
RP_FN const char *
rp_which(const char *name)
{
	static char path[PATH_MAX];
	const char *dirs = RP_PATH, *colon;
	size_t n;

	if (strchr(name, '/') != NULL)
		return access(name, X_OK) == 0 ? name : NULL;
	while (*dirs != '\0') {
		colon = strchr(dirs, ':');
		n = colon != NULL ? (size_t)(colon - dirs) : strlen(dirs);
		snprintf(path, sizeof(path), "%.*s/%s", (int)n, dirs, name);
		if (access(path, X_OK) == 0)
			return path;
		dirs += n;
		if (*dirs == ':')
			dirs++;
	}
	return NULL;
}

/*
 * Runs argv (argv[0] looked up in RP_PATH) with envp, standard input from
 * stdin_path (or /dev/null) and standard error inherited.  Returns 0 once
 * the program has run, with its whole output in *out (NUL-terminated,
 * caller frees) and its exit status in *status (-1 if killed by a
 * signal); -1 if it could not be run at all.
 */
RP_FN int
rp_run(char *const argv[], char *const envp[], const char *stdin_path,
    char **out, size_t *outlen, int *status)
{
	const char *prog;
	char *buf = NULL, *nbuf;
	size_t n = 0, cap = 0;
	ssize_t got;
	int fds[2], in, ws, oom = 0, r = -1;
	pid_t pid;

	*out = NULL;
	*outlen = 0;
	*status = -1;
	if ((prog = rp_which(argv[0])) == NULL) {
		fprintf(stderr, "  %s: not installed\n", argv[0]);
		return -1;
	}
	if (pipe(fds) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		in = open(stdin_path != NULL ? stdin_path : "/dev/null",
		    O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 || dup2(fds[1], 1) < 0)
			_exit(126);
		close(in);
		close(fds[0]);
		close(fds[1]);
		execve(prog, argv, envp);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		if (cap - n < 1024) {
			cap = cap ? cap * 2 : 4096;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				oom = 1;
				break;
			}
			buf = nbuf;
		}
		got = read(fds[0], buf + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fds[0]);
	while (waitpid(pid, &ws, 0) < 0) {
		if (errno != EINTR)
			goto out;
	}
	if (oom || buf == NULL)
		goto out;
	buf[n] = '\0';
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
	*out = buf;
	*outlen = n;
	buf = NULL;
	r = 0;
out:
	free(buf);
	return r;
}

#endif
