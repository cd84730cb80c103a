/*
 * The client side of sshenv.  A command that needs the agent reaches the
 * supervisor on its control socket, and starts one if none answers: under
 * a lock, so that of many logins racing exactly one starts it, and with a
 * readiness pipe, so that the command returns only once it can be served.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentclient.h"
#include "agentproto.h"
#include "cli.h"
#include "client.h"
#include "config.h"
#include "ctlproto.h"
#include "envfile.h"
#include "fwdscan.h"
#include "keyname.h"
#include "compat.h"
#include "sserr.h"
#include "rtpaths.h"
#include "shellenv.h"
#include "uselog.h"
#include "version.h"
#include "wire.h"

#define CALL_TIMEOUT_MS 15000
#define START_TIMEOUT_MS 10000
#define LOCK_TIMEOUT_MS 15000
#define AGENT_TIMEOUT_MS 3000

struct client {
	struct config cfg;
	struct rtpaths paths;
	const char *config_file;
	enum shell_kind kind;
	int quiet;
	int json;
	int all_users;	       /* init --all-users: only if [login] all_users */
	char start_error[512]; /* why an autostart failed, or "" */
	char config_error[PATHS_MAX + 256]; /* the first bad line, or "" */
};

/* The subcommand running, for the prefix of its messages. */
static const char *cmdname = "sshenv";

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A message on stderr, prefixed "sshenv CMD: ". */
static void
say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sshenv %s: ", cmdname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define ARGS_NONE 0
#define ARGS_KEYS 1 /* operands allowed: init's key names */
#define GO_ON (-1)
/* setup(): init --all-users, and [login] all_users is off. */
#define NOT_ON (-2)

/*
 * The options every client command shares, each allowed only where its
 * letter is in allowed: -s -c -f (shell, one of them), -q, -F file,
 * --json ('j'), --all-users ('A'); --help everywhere.  Leaves optind at the first operand.
 * GO_ON, or the exit code to return at once: EXIT_OK after
 * --help, EXIT_USAGE (the usage printed) for a bad command line.
 */
static int
parse_common(struct client *cl, int argc, char **argv, const char *allowed,
    int operands)
{
	static const struct option longopts[] = { { "json", no_argument, NULL,
						      'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "all-users", no_argument, NULL, 'A' }, { NULL, 0, NULL, 0 } };
	int opt, shells = 0;

	memset(cl, 0, sizeof(*cl));
	cmdname = argv[0];
	cl->kind = shellenv_guess(getenv("SHELL"));
	optind = 1;
	opterr = 0; /* our own words, prefixed "sshenv CMD:" */
	for (;;) {
		opt = getopt_long(argc, argv, "+scfqF:", longopts, NULL);
		if (opt == -1)
			break;
		if (opt == 'h') {
			cli_usage(cmdname, stdout);
			return EXIT_OK;
		}
		if (opt == '?' || strchr(allowed, opt) == NULL) {
			if (opt != '?')
				say("-%c is not an option of %s", opt, cmdname);
			else if (optopt != 0)
				say("unknown option '-%c'", optopt);
			else
				say("unknown option '%s'", argv[optind - 1]);
			goto usage;
		}
		switch (opt) {
		case 's':
			cl->kind = SHELL_SH;
			shells++;
			break;
		case 'c':
			cl->kind = SHELL_CSH;
			shells++;
			break;
		case 'f':
			cl->kind = SHELL_FISH;
			shells++;
			break;
		case 'q': cl->quiet = 1; break;
		case 'F': cl->config_file = optarg; break;
		case 'j': cl->json = 1; break;
		case 'A': cl->all_users = 1; break;
		}
	}
	if (shells > 1) {
		say("-s, -c and -f name one shell: give one of them");
		goto usage;
	}
	if (operands == ARGS_NONE && optind != argc)
		goto usage;
	return GO_ON;
usage:
	cli_usage(cmdname, stderr);
	return EXIT_USAGE;
}

/* Loads the configuration and computes the paths; prints what failed. */
static int
setup(struct client *cl)
{
	int r;

	config_defaults(&cl->cfg);
	r = config_load(&cl->cfg, cl->config_file, cl->config_error,
	    sizeof(cl->config_error));
	/*
	 * A broken file must never cost a login its agent, nor lock the
	 * user out of stop, status or doctor: what could be read applies,
	 * the rest keeps its default, and the user is told once.  Only a
	 * file named with -F that cannot be read at all is an error.
	 */
	if (r == ERR_SYSTEM && cl->config_file != NULL) {
		say("%s", cl->config_error);
		return EXIT_ERROR;
	}
	/*
	 * init --all-users, from the system-wide login snippets, for every
	 * user: nothing happens (not even a runtime directory, or a word of a
	 * config error to users who never chose sshenv) unless the
	 * admin turned it on and the user did not turn it off ([login]
	 * all_users, the user's file winning as for every key).
	 */
	if (cl->all_users && !cl->cfg.all_users)
		return NOT_ON;
	if (r != 0 && !cl->quiet)
		say("%s (ignored: the default applies there)",
		    cl->config_error);
	r = rtpaths_init(&cl->paths, cl->cfg.rundir, cl->cfg.envfile);
	if (r != 0) {
		say("runtime directory: %s", sserr_str(r));
		return EXIT_ERROR;
	}
	return 0;
}

/*
 * Starts the supervisor detached (fork, setsid, fork, exec) and waits for
 * it to say on a pipe that it serves ("R"), or why it cannot ("E" and a
 * message, copied to why).
 */
static int
spawn_daemon(const struct client *cl, char *why, size_t whylen)
{
	char exe[PATHS_MAX], fdarg[16], msg[512];
	char *args[8];
	struct pollfd pfd;
	pid_t pid, pid2;
	int p[2], n = 0, st, r;
	ssize_t got = 0, k;
	long deadline;

	if ((r = rtpaths_helper("sshenv-supervisor", exe, sizeof(exe))) != 0)
		return r;
	if (pipe2(p, O_CLOEXEC) != 0)
		return ERR_SYSTEM;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return ERR_SYSTEM;
	}
	if (pid == 0) {
		setsid();
		if ((pid2 = fork()) != 0)
			_exit(pid2 < 0 ? 1 : 0);
		/* Never hold the stdout of `eval "$(sshenv init)"`; stderr
		 * stays for what goes wrong before the supervisor detaches. */
		compat_stdio_to_null(0);
		/* Nothing of the login's but the pipe goes along. */
		compat_close_inherited(&p[1], 1);
		fcntl(p[1], F_SETFD, 0);
		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		args[n++] = exe;
		args[n++] = "-R";
		args[n++] = fdarg;
		if (cl->config_file != NULL) {
			args[n++] = "-F";
			args[n++] = (char *)cl->config_file;
		}
		args[n] = NULL;
		version_export();
		execv(exe, args);
		_exit(127);
	}
	close(p[1]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	/* The supervisor writes its answer and closes the pipe. */
	pfd.fd = p[0];
	pfd.events = POLLIN;
	deadline = compat_now_ms() + START_TIMEOUT_MS;
	while (got < (ssize_t)sizeof(msg) - 1 &&
	    poll(&pfd, 1, (int)(deadline - compat_now_ms())) == 1) {
		if ((k = read(p[0], msg + got,
			 sizeof(msg) - 1 - (size_t)got)) <= 0)
			break;
		got += k;
		if (msg[0] == 'R')
			break;
	}
	close(p[0]);
	msg[got] = '\0';
	if (got > 0 && msg[0] == 'R')
		return 0;
	snprintf(why, whylen, "%s",
	    got > 1 && msg[0] == 'E' ? msg + 1 :
		got == 0 ? "it exited without a word (see the system log)" :
			   "it did not answer in time");
	return ERR_NO_SERVER;
}

/* Writes all of out to fd and reads one reply frame into *rp. */
static int
exchange(int fd, struct wire *out, struct ctl_reply *rp)
{
	struct wire body;
	uint8_t type;
	int r;

	wire_init(&body, CTLPROTO_MAX_FRAME);
	r = agentclient_exchange(fd, out, CTLPROTO_MAX_FRAME, CALL_TIMEOUT_MS,
	    &type, &body);
	if (r == 0 && ctlproto_get_reply(type, &body, rp) != 0)
		r = ERR_PROTOCOL;
	wire_free(&body);
	return r;
}

/*
 * One request to the supervisor, starting it first if autostart and none
 * answers.  Prints nothing; returns 0, ERR_NO_SERVER, or another code.
 */
/*
 * Nothing answers in our runtime dir: one user on one host has one
 * supervisor, so look where another environment of the same user would
 * have started it (rtpaths_candidates) before starting a second.  On
 * success cl->paths name that dir.  0, or ERR_NOT_FOUND.
 */
static int
other_supervisor(struct client *cl)
{
	char cand[RTPATHS_MAX_CANDIDATES][RTPATHS_RUN_MAX];
	struct rtpaths p;
	int n, i;

	if (cl->cfg.rundir[0] != '\0')
		return ERR_NOT_FOUND; /* the user named one: only that */
	n = rtpaths_candidates(cand, RTPATHS_MAX_CANDIDATES);
	for (i = 0; i < n; i++) {
		if (strcmp(cand[i], cl->paths.rundir) == 0 ||
		    rtpaths_check_dir(cand[i]) != 0 ||
		    rtpaths_init(&p, cand[i], cl->cfg.envfile) != 0 ||
		    !rtpaths_alive(p.ctl_sock))
			continue;
		cl->paths = p;
		return 0;
	}
	return ERR_NOT_FOUND;
}

static int
ctl_call(struct client *cl, const struct ctl_request *rq, struct ctl_reply *rp,
    int autostart)
{
	struct wire out;
	int fd = -1, lockfd = -1, r, again = autostart;
	long deadline;

	wire_init(&out, CTLPROTO_MAX_FRAME + 4);
	if ((r = ctlproto_put_request(&out, rq)) != 0)
		goto out;
retry:
	memset(rp, 0, sizeof(*rp));
	/*
	 * Whether or not we may start a supervisor, never trust a socket in
	 * a directory that is not ours: another user could have made it
	 * first (a cron job without XDG_RUNTIME_DIR uses /tmp).
	 */
	r = autostart ? rtpaths_ensure_dir(cl->paths.rundir) :
			rtpaths_check_dir(cl->paths.rundir);
	if (r == ERR_SYSTEM && !autostart && errno == ENOENT)
		r = ERR_NO_SERVER;
	if (r == ERR_NO_SERVER && other_supervisor(cl) == 0)
		r = 0;
	if (r != 0)
		goto out;
	r = rtpaths_connect(cl->paths.ctl_sock, &fd);
	if (r != 0 && other_supervisor(cl) == 0)
		r = rtpaths_connect(cl->paths.ctl_sock, &fd);
	if (r != 0 && autostart) {
		if ((r = rtpaths_lock(cl->paths.start_lock, LOCK_TIMEOUT_MS,
			 NULL, &lockfd)) != 0)
			goto out;
		/* Someone may have started it while we waited for the lock. */
		if ((r = rtpaths_connect(cl->paths.ctl_sock, &fd)) != 0 &&
		    (r = spawn_daemon(cl, cl->start_error,
			 sizeof(cl->start_error))) == 0)
			r = rtpaths_connect(cl->paths.ctl_sock, &fd);
		close(lockfd);
	}
	if (r != 0)
		goto out;
	/* And the supervisor must be us (or root). */
	if ((r = compat_peer_uid_ok(fd)) != 0)
		goto out;
	r = exchange(fd, &out, rp);
	/*
	 * A supervisor on its way out closes its socket at once; once it
	 * is gone, start the next (which waits for the old one's lock).
	 */
	if (r == 0 && again && rp->type == CTL_R_ERROR &&
	    rp->code == ERR_BUSY) {
		again = 0;
		close(fd);
		fd = -1;
		deadline = compat_now_ms() + LOCK_TIMEOUT_MS;
		while (rtpaths_alive(cl->paths.ctl_sock) &&
		    compat_now_ms() < deadline)
			compat_sleep_ms(5);
		goto retry;
	}
out:
	if (fd >= 0)
		close(fd);
	wire_free(&out);
	return r;
}

static void
explain(const struct client *cl, int r)
{
	if (r == ERR_NO_SERVER && cl->start_error[0] != '\0')
		say("cannot start the supervisor: %s", cl->start_error);
	else if (r == ERR_NO_SERVER)
		say("no supervisor is running "
		    "(start one with 'sshenv init')");
	else if (r == ERR_DENIED)
		say("refusing %s: its server runs as "
		    "another user",
		    cl->paths.ctl_sock);
	else if (r == ERR_SYMLINK || r == ERR_BAD_OWNER || r == ERR_BAD_MODE)
		say("refusing runtime directory %s: %s", cl->paths.rundir,
		    sserr_str(r));
	else
		say("%s", sserr_str(r));
}

static int
exit_for(int r)
{
	return r == ERR_NO_SERVER ? EXIT_NO_SERVER : EXIT_ERROR;
}

/* Prints the snippet that points this shell at the agent. */
static int
print_env(const struct client *cl, const struct ctl_reply *rp, int keep_sock)
{
	struct wire out;
	char num[16];
	int r = 0;

	wire_init(&out, 16 * 1024);
	snprintf(num, sizeof(num), "%u", rp->agent_pid);
	if (!keep_sock)
		r = shellenv_set(&out, cl->kind, "SSH_AUTH_SOCK", rp->sock);
	/* A kept forwarded agent is not ours: no pid of ours names it. */
	if (r == 0 && keep_sock)
		r = shellenv_unset(&out, cl->kind, "SSH_AGENT_PID");
	else if (r == 0)
		r = shellenv_set(&out, cl->kind, "SSH_AGENT_PID", num);
	if (r == 0)
		fwrite(wire_ptr(&out), 1, wire_avail(&out), stdout);
	else
		say("cannot print the environment: %s", sserr_str(r));
	wire_free(&out);
	return r == 0 ? EXIT_OK : EXIT_ERROR;
}

/* A login through sshd: how init and doctor tell a forwarded agent. */
static int
ssh_login(void)
{
	return getenv("SSH_CONNECTION") != NULL || getenv("SSH_CLIENT") != NULL;
}

/* sock is the agent socket of one of this user's runtime dirs. */
static int
is_ours(const char *sock)
{
	char cand[RTPATHS_MAX_CANDIDATES][RTPATHS_RUN_MAX], p[PATHS_MAX];
	int n, i;

	n = rtpaths_candidates(cand, RTPATHS_MAX_CANDIDATES);
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/agent.sock", cand[i]);
		if (strcmp(p, sock) == 0)
			return 1;
	}
	return 0;
}

/* A forwarded agent: sshd set SSH_AUTH_SOCK, not us, and it answers. */
static const char *
forwarded_agent(const struct client *cl)
{
	const char *s = getenv("SSH_AUTH_SOCK");

	if (s == NULL || *s == '\0' || strcmp(s, cl->paths.agent_sock) == 0 ||
	    is_ours(s))
		return NULL;
	if (!ssh_login())
		return NULL;
	return rtpaths_alive(s) ? s : NULL;
}

static int
have_terminal(void)
{
	int fd;

	if (isatty(0))
		return 1;
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) < 0)
		return 0;
	close(fd);
	return 1;
}

int
client_run_wait(const char *path, char **argv)
{
	pid_t pid;
	int st;

	if ((pid = fork()) < 0)
		return ERR_SYSTEM;
	if (pid == 0) {
		execv(path, argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return ERR_SYSTEM;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : ERR_DENIED;
}

/*
 * 1 if the private key at path opens without a passphrase: asked of the
 * real ssh-keygen, quietly.  Without a terminal, a key that needs one is
 * not handed to ssh-add, which would print its prompt all the same.
 */
static int
opens_without_passphrase(const char *path)
{
	char *args[] = { "ssh-keygen", "-y", "-P", "", "-f", (char *)path,
		NULL };
	pid_t pid, r;
	int st, nul;

	if ((pid = fork()) < 0)
		return 1; /* let ssh-add decide */
	if (pid == 0) {
		if ((nul = open("/dev/null", O_RDWR)) >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execvp("ssh-keygen", args);
		_exit(127);
	}
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	/* Unknown (no status to read): let ssh-add try, as before. */
	if (r < 0)
		return 1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/*
 * The options of ssh-add for one key: its [key NAME] settings (k, or
 * NULL) over the general ones.  Pointers into a, valid while a is.
 */
struct add_opts {
	char *v[10 + 2 * CONFIG_MAXDEST];
	int n;
	char life[16], khosts[PATHS_MAX];
	char dest[sizeof(((struct config_key *)0)->destinations)];
};

static void
add_options(const struct client *cl, const struct config_key *k,
    struct add_opts *a)
{
	const char *home = getenv("HOME");
	char *tok, *save = NULL;

	a->n = 0;
	if (k != NULL && k->confirm >= 0 ? k->confirm : cl->cfg.confirm)
		a->v[a->n++] = "-c";
	if (k != NULL && k->lifetime != 0) {
		snprintf(a->life, sizeof(a->life), "%u", k->lifetime);
		a->v[a->n++] = "-t";
		a->v[a->n++] = a->life;
	}
	/*
	 * Destination constraints: ssh-add finds each host's keys in the
	 * known_hosts files, the user's as $HOME has it (ssh-add alone
	 * would take the home of the passwd entry).
	 */
	if (k != NULL && k->destinations[0] != '\0') {
		if (home != NULL && *home == '/' &&
		    snprintf(a->khosts, sizeof(a->khosts),
			"%s/.ssh/known_hosts", home) < (int)sizeof(a->khosts) &&
		    access(a->khosts, R_OK) == 0) {
			a->v[a->n++] = "-H";
			a->v[a->n++] = a->khosts;
		}
		if (access("/etc/ssh/ssh_known_hosts", R_OK) == 0) {
			a->v[a->n++] = "-H";
			a->v[a->n++] = "/etc/ssh/ssh_known_hosts";
		}
		memcpy(a->dest, k->destinations, sizeof(a->dest));
		for (tok = strtok_r(a->dest, " \t", &save);
		     tok != NULL && a->n < 7 + 2 * CONFIG_MAXDEST;
		     tok = strtok_r(NULL, " \t", &save)) {
			a->v[a->n++] = "-h";
			a->v[a->n++] = tok;
		}
	}
}

/*
 * Runs the real ssh-add for one key, with its [key NAME] settings (k, or
 * NULL) over the general ones; its chatter goes to stderr.
 */
static int
ssh_add(const struct client *cl, const char *sock, const char *path,
    const struct config_key *k)
{
	char *args[14 + 2 * CONFIG_MAXDEST];
	struct add_opts ao;
	pid_t pid, ours = getpgrp();
	int i, n = 0, st, nul, tty = have_terminal(), ttyfd = -1;

	args[n++] = "ssh-add";
	add_options(cl, k, &ao);
	for (i = 0; i < ao.n; i++)
		args[n++] = ao.v[i];
	if (cl->quiet)
		args[n++] = "-q";
	args[n++] = (char *)path;
	args[n] = NULL;
	if (!tty && getenv("SSH_ASKPASS") == NULL &&
	    !opens_without_passphrase(path))
		return ERR_DENIED; /* no one to ask, and no stray prompt */
	/*
	 * On a terminal, ssh-add asks in a process group of its own that
	 * holds the terminal meanwhile, as a job shell would run it: Ctrl-C
	 * at its prompt then reaches it alone, not the login shell that
	 * waits for our snippet (which would give up its profile).
	 */
	if (tty && (ttyfd = open("/dev/tty", O_RDWR | O_CLOEXEC)) >= 0 &&
	    tcgetpgrp(ttyfd) != ours) {
		close(ttyfd); /* not the foreground: leave the terminal be */
		ttyfd = -1;
	}
	fflush(stdout);
	if ((pid = fork()) < 0) {
		if (ttyfd >= 0)
			close(ttyfd);
		return ERR_SYSTEM;
	}
	if (pid == 0) {
		/* Ours are ignored (below); ssh-add must die of Ctrl-C. */
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		if (ttyfd >= 0) {
			setpgid(0, 0);
			signal(SIGTTOU, SIG_IGN);
			tcsetpgrp(ttyfd, getpid());
			signal(SIGTTOU, SIG_DFL);
		}
		dup2(2, 1);
		if (!tty) {
			/* No terminal: never prompt, never hang. */
			if ((nul = open("/dev/null", O_RDONLY)) >= 0)
				dup2(nul, 0);
			if (getenv("SSH_ASKPASS") == NULL)
				setenv("SSH_ASKPASS_REQUIRE", "never", 1);
		}
		setenv("SSH_AUTH_SOCK", sock, 1);
		execvp("ssh-add", args);
		_exit(127);
	}
	if (ttyfd >= 0) {
		/* Both sides, whichever runs first. */
		setpgid(pid, pid);
		signal(SIGTTOU, SIG_IGN);
		tcsetpgrp(ttyfd, pid);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (ttyfd >= 0) {
		/* The terminal back to the login, before it reads again. */
		tcsetpgrp(ttyfd, ours);
		signal(SIGTTOU, SIG_DFL);
		close(ttyfd);
	}
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGINT)
		return ERR_BUSY; /* interrupted: the user skipped it */
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : ERR_DENIED;
}

/*
 * [agent] load = first-use: the agent lists the key from its .pub at once
 * and runs ssh-add for path (with these options) when a signature first
 * needs it.  0, or an error: then the key is loaded now, as at login.
 */
static int
list_for_first_use(const struct client *cl, const char *sock, const char *path,
    const char *pub, const struct config_key *k)
{
	struct wire body, blob, reply;
	struct add_opts ao;
	char comment[1024];
	uint8_t type;
	int i, r;

	if (path[0] != '/')
		return ERR_FORMAT;
	wire_init(&blob, 64 * 1024);
	wire_init(&body, 128 * 1024);
	wire_init(&reply, 4096);
	if ((r = keyname_read_pub_comment(pub, &blob, comment,
		 sizeof(comment))) != 0)
		goto out;
	add_options(cl, k, &ao);
	if ((r = wire_put_cstring(&body, "first-use@sshenv")) != 0 ||
	    (r = wire_put_cstring(&body, path)) != 0 ||
	    (r = wire_put_string(&body, wire_ptr(&blob), wire_avail(&blob))) !=
		0 ||
	    (r = wire_put_cstring(&body, comment)) != 0 ||
	    (r = wire_put_u32(&body, (uint32_t)ao.n)) != 0)
		goto out;
	for (i = 0; i < ao.n && r == 0; i++)
		r = wire_put_cstring(&body, ao.v[i]);
	if (r == 0)
		r = agentclient_call(sock, AGENT_TIMEOUT_MS, AGENTC_EXTENSION,
		    wire_ptr(&body), wire_avail(&body), &type, &reply);
	if (r == 0 && type != AGENT_SUCCESS)
		r = ERR_UNSUPPORTED; /* an agent of ours from before */
out:
	wire_free(&reply);
	wire_free(&body);
	wire_free(&blob);
	return r;
}

/* Loads each key the agent does not hold yet. */
static void
load_keys(const struct client *cl, const char *sock, char **names, int n)
{
	char list[sizeof(cl->cfg.keys)], *tok, *save = NULL;
	char path[PATHS_MAX], pub[PATHS_MAX + 8];
	struct wire blob, ids;
	uint32_t count = 0;
	int i, have, listed = 0, r;

	memcpy(list, cl->cfg.keys, sizeof(list));
	wire_init(&blob, 64 * 1024);
	wire_init(&ids, AGENTPROTO_MAX_FRAME);
	tok = strtok_r(list, " \t", &save);
	for (i = 0; tok != NULL || i < n;) {
		const char *name = tok != NULL ? tok : names[i++];

		if (tok != NULL)
			tok = strtok_r(NULL, " \t", &save);
		if (keyname_path(name, path, sizeof(path)) != 0)
			continue;
		/* What the agent holds, asked once for all the keys. */
		if (!listed &&
		    agentclient_list(sock, AGENT_TIMEOUT_MS, &ids, &count) != 0)
			count = 0;
		listed = 1;
		snprintf(pub, sizeof(pub), "%s.pub", path);
		wire_reset(&blob);
		have = 0;
		if (keyname_read_pub(pub, &blob) == 0)
			have = agentclient_listed(&ids, count, wire_ptr(&blob),
			    wire_avail(&blob));
		if (have == 1)
			continue;
		if (access(path, R_OK) != 0) {
			say("key %s: %s", path, strerror(errno));
			continue;
		}
		if (cl->cfg.load == LOAD_FIRST_USE && have != -1) {
			r = list_for_first_use(cl, sock, path, pub,
			    config_key_for(&cl->cfg, path));
			if (r == 0)
				continue;
			say("key %s: cannot list it until its first use (%s): "
			    "loading it now",
			    path, sserr_str(r));
		}
		r = ssh_add(cl, sock, path, config_key_for(&cl->cfg, path));
		if (r == ERR_BUSY)
			say("key %s skipped (interrupted)", path);
		else if (r != 0 && have_terminal())
			say("key %s was not loaded", path);
		else if (r != 0)
			say("key %s was not loaded (no terminal to ask for its "
			    "passphrase)",
			    path);
	}
	wire_free(&ids);
	wire_free(&blob);
}

static void
check_envfile(const struct client *cl)
{
	struct envfile_data d;
	int r;

	if (!cl->cfg.write_env || cl->paths.envfile[0] == '\0')
		return;
	r = envfile_read(cl->paths.envfile, &d);
	if (r == ERR_NOT_OURS || r == ERR_SYMLINK || r == ERR_BAD_OWNER)
		say("%s: %s; left untouched", cl->paths.envfile,
		    r == ERR_NOT_OURS ? "not written by sshenv" : sserr_str(r));
}

int
client_init(int argc, char **argv)
{
	struct client cl;
	struct ctl_request rq;
	struct ctl_reply rp;
	const char *fwd;
	int r;

	if ((r = parse_common(&cl, argc, argv, "scfqFA", ARGS_KEYS)) != GO_ON)
		return r;
	if ((r = setup(&cl)) != 0)
		return r == NOT_ON ? EXIT_OK : r;
	memset(&rq, 0, sizeof(rq));
	rq.type = CTL_INIT;
	rq.sid = (uint32_t)getsid(0);
	/*
	 * follow: the agent sshd forwarded to this login joins what the
	 * stable socket serves, for as long as the login lasts; the shell
	 * (and every tmux pane it starts) gets the stable socket.
	 */
	if (cl.cfg.forwarded == FWD_FOLLOW &&
	    (fwd = forwarded_agent(&cl)) != NULL)
		snprintf(rq.fwd, sizeof(rq.fwd), "%s", fwd);
	if ((r = ctl_call(&cl, &rq, &rp, 1)) != 0) {
		explain(&cl, r);
		return exit_for(r);
	}
	if (rp.type == CTL_R_ERROR) {
		say("supervisor: %s", rp.message);
		return EXIT_ERROR;
	}
	if (rp.type != CTL_R_ENV) {
		say("unexpected reply");
		return EXIT_ERROR;
	}
	if (rp.warning[0] != '\0' && !cl.quiet)
		say("warning: %s", rp.warning);
	else if (!cl.quiet)
		check_envfile(&cl);
	/*
	 * Ctrl-C at a passphrase prompt is for ssh-add (it skips that key),
	 * not for us: the login must still get its snippet.  The shell
	 * running `eval "$(sshenv init)"` sees us exit normally and goes on.
	 */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	load_keys(&cl, rp.sock, argv + optind, argc - optind);
	fwd = cl.cfg.forwarded == FWD_KEEP ? forwarded_agent(&cl) : NULL;
	if (fwd != NULL && !cl.quiet)
		say("keeping the forwarded agent %s for this shell", fwd);
	/* An agent that cannot follow it (one an earlier supervisor
	 * started): the shell keeps sshd's socket rather than lose its
	 * keys. */
	if (fwd == NULL && rq.fwd[0] != '\0' && !rp.followed) {
		fwd = rq.fwd;
		if (!cl.quiet)
			say("the agent cannot follow the forwarded one until it "
			    "restarts ('sshenv stop'): keeping %s for this shell",
			    fwd);
	}
	return print_env(&cl, &rp, fwd != NULL);
}

int
client_env(int argc, char **argv)
{
	struct client cl;
	struct ctl_request rq;
	struct ctl_reply rp;
	int r;

	if ((r = parse_common(&cl, argc, argv, "scfF", ARGS_NONE)) != GO_ON)
		return r;
	if ((r = setup(&cl)) != 0)
		return r;
	memset(&rq, 0, sizeof(rq));
	rq.type = CTL_ENV;
	if ((r = ctl_call(&cl, &rq, &rp, 0)) != 0) {
		explain(&cl, r);
		return exit_for(r);
	}
	if (rp.type != CTL_R_ENV) {
		say("%s",
		    rp.type == CTL_R_ERROR ? rp.message : "unexpected reply");
		return EXIT_ERROR;
	}
	return print_env(&cl, &rp, 0);
}

int
client_logout(int argc, char **argv)
{
	struct client cl;
	struct ctl_request rq;
	struct ctl_reply rp;
	int r;

	if ((r = parse_common(&cl, argc, argv, "qF", ARGS_NONE)) != GO_ON)
		return r;
	if ((r = setup(&cl)) != 0)
		return r;
	memset(&rq, 0, sizeof(rq));
	rq.type = CTL_LOGOUT;
	rq.sid = (uint32_t)getsid(0);
	if ((r = ctl_call(&cl, &rq, &rp, 0)) != 0) {
		if (!cl.quiet)
			explain(&cl, r);
		return exit_for(r);
	}
	if (rp.type != CTL_R_OK) {
		say("%s",
		    rp.type == CTL_R_ERROR ? rp.message : "unexpected reply");
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

static int
get_status(struct client *cl, struct ctl_reply *rp)
{
	struct ctl_request rq;
	int r;

	memset(&rq, 0, sizeof(rq));
	rq.type = CTL_STATUS;
	if ((r = ctl_call(cl, &rq, rp, 0)) != 0)
		return r;
	if (rp->type != CTL_R_STATUS)
		return ERR_PROTOCOL;
	return 0;
}

/*
 * With [agent] forwarded = follow the agent also follows sshd's sockets
 * of logins that never ran `sshenv init` (fwdscan): they join the list,
 * among the forwarded agents by when sshd made them, as the agent orders
 * them.  Only for status and doctor: init does not look.
 */
static void
add_found(const struct client *cl, struct ctl_reply *rp)
{
	struct fwdsock found[FWDSCAN_MAX];
	uint32_t j, k;
	int i, n;

	if (cl->cfg.forwarded != FWD_FOLLOW)
		return;
	n = fwdscan("/tmp", getenv("HOME"), found, FWDSCAN_MAX);
	for (i = 0; i < n && rp->nups < CTLPROTO_MAX_UPSTREAMS; i++) {
		for (j = 0; j < rp->nups; j++)
			if (strcmp(rp->ups[j].path, found[i].path) == 0)
				break;
		if (j < rp->nups ||
		    strlen(found[i].path) >= sizeof(rp->ups[0].path))
			continue;
		/* After the forwarded ones made later (found[] is newest
		 * first: an earlier one is already placed before it). */
		for (k = 0; k < rp->nups &&
		     (rp->ups[k].sid != 0 || rp->ups[k].found) &&
		     fwdscan_mtime(rp->ups[k].path) >= found[i].mtime_ns;
		     k++)
			;
		memmove(&rp->ups[k + 1], &rp->ups[k],
		    (rp->nups - k) * sizeof(rp->ups[0]));
		memset(&rp->ups[k], 0, sizeof(rp->ups[k]));
		rp->ups[k].found = 1;
		memcpy(rp->ups[k].path, found[i].path,
		    strlen(found[i].path) + 1);
		rp->nups++;
	}
}

/* ---- status: each key and each session ---- */

struct keyinfo {
	char type[64];
	char comment[256];
	char fp[64];
	char file[PATHS_MAX];
	int confirm;
	uint32_t left;	/* seconds of lifetime left, 0: none */
	uint32_t ndest; /* destination constraints */
	uint32_t used;	/* seconds since it last signed; UINT32_MAX never */
	int fwd;	/* its forwarding policy, enum fwd_use */
	int listed;	/* listed only: loaded at its first use */
};

/*
 * Makes s safe to print and valid in JSON, in place: control characters
 * and bytes that are not well-formed UTF-8 (a comment is whatever a
 * client sent; a truncation may split a character) become '?'.
 */
static void
printable(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t i, n;

	while (*p != '\0') {
		n = *p < 0x80			      ? 1 :
		    (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 2 :
		    (*p & 0xf0) == 0xe0		      ? 3 :
		    (*p & 0xf8) == 0xf0 && *p <= 0xf4 ? 4 :
							0;
		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = 0; /* also stops at the NUL */
		if (n == 1 && (*p < 0x20 || *p == 0x7f))
			n = 0;
		if (n == 0) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

/* The ~/.ssh/NAME.pub whose blob is this one, into file ("" if none). */
static void
key_file(const uint8_t *blob, size_t len, char *file, size_t size)
{
	const char *home = getenv("HOME");
	char dir[PATHS_MAX], path[PATHS_MAX * 2];
	struct dirent *e;
	struct stat st;
	struct wire w;
	size_t n;
	DIR *d;

	file[0] = '\0';
	if (home == NULL || *home != '/')
		return;
	snprintf(dir, sizeof(dir), "%s/.ssh", home);
	if ((d = opendir(dir)) == NULL)
		return;
	wire_init(&w, 64 * 1024);
	while ((e = readdir(d)) != NULL && file[0] == '\0') {
		n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".pub") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		/* A fifo named *.pub would hang us: plain files only. */
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		wire_reset(&w);
		if (keyname_read_pub(path, &w) == 0 && wire_avail(&w) == len &&
		    memcmp(wire_ptr(&w), blob, len) == 0)
			snprintf(file, size, "%.*s", (int)(strlen(path) - 4),
			    path);
	}
	wire_free(&w);
	closedir(d);
}

/*
 * The agent's key-info@sshenv answer, decoded: up to max keys into
 * keys; returns how many, or -1 if the agent cannot tell (not ours, say).
 */
static int
key_infos(const char *sock, struct keyinfo *keys, int max, int *locked,
    int *total)
{
	struct wire req, reply, blob;
	const uint8_t *b, *cm, *t;
	size_t bl, cl, tl;
	uint32_t count, i, left, ndest, used;
	uint8_t type, confirm, lk, fwd;
	char *fp = NULL;
	int n = -1;

	wire_init(&req, 64);
	wire_init(&reply, AGENTPROTO_MAX_FRAME);
	if (wire_put_cstring(&req, "key-info@sshenv") != 0 ||
	    agentclient_call(sock, AGENT_TIMEOUT_MS, AGENTC_EXTENSION,
		wire_ptr(&req), wire_avail(&req), &type, &reply) != 0 ||
	    type != AGENT_EXTENSION_RESPONSE || wire_get_u8(&reply, &lk) != 0 ||
	    wire_get_u32(&reply, &count) != 0 || count > INT32_MAX)
		goto out;
	*locked = lk != 0;
	*total = (int)count;
	for (i = 0, n = 0; i < count && !*locked; i++) {
		if (wire_get_string(&reply, &b, &bl) != 0 ||
		    wire_get_string(&reply, &cm, &cl) != 0 ||
		    wire_get_cstring(&reply, &fp) != 0 ||
		    wire_get_u8(&reply, &confirm) != 0 ||
		    wire_get_u32(&reply, &left) != 0 ||
		    wire_get_u32(&reply, &ndest) != 0 ||
		    wire_get_u8(&reply, &fwd) != 0 ||
		    wire_get_u32(&reply, &used) != 0) {
			n = -1;
			goto out;
		}
		if (n < max) {
			wire_view(&blob, b, bl);
			keys[n].type[0] = '\0';
			if (wire_get_string(&blob, &t, &tl) == 0)
				snprintf(keys[n].type, sizeof(keys[n].type),
				    "%.*s", (int)tl, (const char *)t);
			snprintf(keys[n].comment, sizeof(keys[n].comment),
			    "%.*s", (int)cl, (const char *)cm);
			printable(keys[n].comment);
			snprintf(keys[n].fp, sizeof(keys[n].fp), "%s", fp);
			keys[n].confirm = confirm != 0;
			keys[n].left = left;
			keys[n].ndest = ndest;
			keys[n].used = used;
			keys[n].fwd = fwd <= FWD_USE_DENY ? fwd : FWD_USE_ALLOW;
			key_file(b, bl, keys[n].file, sizeof(keys[n].file));
			n++;
		}
		free(fp);
		fp = NULL;
	}
	/* Then the keys listed until their first use (none from an older
	 * agent): each with its file. */
	if (wire_avail(&reply) > 0 && n >= 0 && !*locked &&
	    wire_get_u32(&reply, &count) == 0) {
		for (i = 0; i < count; i++) {
			char *file = NULL;

			if (wire_get_string(&reply, &b, &bl) != 0 ||
			    wire_get_string(&reply, &cm, &cl) != 0 ||
			    wire_get_cstring(&reply, &fp) != 0 ||
			    wire_get_cstring(&reply, &file) != 0) {
				free(file);
				n = -1;
				goto out;
			}
			if (n < max) {
				memset(&keys[n], 0, sizeof(keys[n]));
				wire_view(&blob, b, bl);
				if (wire_get_string(&blob, &t, &tl) == 0)
					snprintf(keys[n].type,
					    sizeof(keys[n].type), "%.*s",
					    (int)tl, (const char *)t);
				snprintf(keys[n].comment,
				    sizeof(keys[n].comment), "%.*s", (int)cl,
				    (const char *)cm);
				printable(keys[n].comment);
				snprintf(keys[n].fp, sizeof(keys[n].fp), "%s",
				    fp);
				snprintf(keys[n].file, sizeof(keys[n].file),
				    "%s", file);
				printable(keys[n].file);
				keys[n].used = UINT32_MAX;
				keys[n].fwd = FWD_USE_ALLOW;
				keys[n].listed = 1;
				n++;
			}
			free(file);
			free(fp);
			fp = NULL;
		}
	}
out:
	free(fp);
	wire_free(&req);
	wire_free(&reply);
	return n;
}

struct sessinfo {
	uint32_t sid;
	char tty[32];
	char from[128];
	long age; /* seconds, -1 unknown */
};

/*
 * What Linux tells of a session leader: its terminal, where its login
 * came from (SSH_CONNECTION in its environment; ours to read, it is our
 * own process) and its age.  Elsewhere, unknown.
 */
static void
session_info(uint32_t sid, struct sessinfo *si)
{
#if defined(__linux__) && !defined(SSHENV_PORTABLE)
	char path[64], buf[4096], *p;
	unsigned long long start = 0;
	long tty = 0, btime = 0, hz = sysconf(_SC_CLK_TCK), major, minor;
	char *var = NULL;
	size_t n, varsize = 0;
	FILE *f;
#endif

	memset(si, 0, sizeof(*si));
	si->sid = sid;
	si->age = -1;
	snprintf(si->tty, sizeof(si->tty), "?");
	snprintf(si->from, sizeof(si->from), "?");
#if defined(__linux__) && !defined(SSHENV_PORTABLE)
	snprintf(path, sizeof(path), "/proc/%u/stat", sid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name, in parentheses, may hold anything: fields 3 on
	 * (state) follow its last ')'; tty_nr is field 7, starttime 22. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1,
		" %*c %*d %*d %*d %ld %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
		"%*d %*d %*d %*d %llu",
		&tty, &start) != 2)
		return;
	/* Device numbers: major in bits 8-19, minor in 0-7 and 20-31. */
	major = (tty >> 8) & 0xfff;
	minor = (tty & 0xff) | ((tty >> 12) & 0xfff00);
	if (tty == 0)
		snprintf(si->tty, sizeof(si->tty), "no tty");
	else if (major >= 136 && major <= 143) /* Unix98 pseudo-terminals */
		snprintf(si->tty, sizeof(si->tty), "pts/%ld",
		    (major - 136) * 256 + minor);
	else
		snprintf(si->tty, sizeof(si->tty), "tty %ld:%ld", major, minor);
	if ((f = fopen("/proc/stat", "re")) != NULL) {
		while (fgets(buf, sizeof(buf), f) != NULL)
			if (strncmp(buf, "btime ", 6) == 0)
				btime = strtol(buf + 6, NULL, 10);
		fclose(f);
	}
	if (btime > 0 && hz > 0)
		si->age = (long)time(NULL) - btime -
		    (long)(start / (unsigned long)hz);
	snprintf(path, sizeof(path), "/proc/%u/environ", sid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	snprintf(si->from, sizeof(si->from), "local");
	/* NUL-separated, and as long as the login's environment was. */
	while (getdelim(&var, &varsize, '\0', f) > 0)
		if (strncmp(var, "SSH_CONNECTION=", 15) == 0) {
			/* "client port server port": from the client's. */
			snprintf(si->from, sizeof(si->from), "ssh from %.*s",
			    (int)strcspn(var + 15, " "), var + 15);
			printable(si->from);
			break;
		}
	free(var);
	fclose(f);
#endif
}

/* "1h2m", "5m", "30s": an age or a lifetime, as people read them. */
static void
span(long s, char *buf, size_t size)
{
	if (s < 0)
		snprintf(buf, size, "?");
	else if (s >= 86400)
		snprintf(buf, size, "%ldd%ldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, size, "%ldh%ldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, size, "%ldm", s / 60);
	else
		snprintf(buf, size, "%lds", s);
}

#define STATUS_KEYS_SHOWN 64

/* What `status` adds to the supervisor's answer; filled by details(). */
struct details {
	struct keyinfo keys[STATUS_KEYS_SHOWN];
	int nkeys;  /* shown in keys; -1: the agent could not tell */
	int locked; /* by the user (ssh-add -x) or by us */
	int total;  /* keys held, -1 unknown */
	struct sessinfo *sess;
	uint32_t nsess;
};

static void
details(const struct ctl_reply *rp, struct details *d)
{
	uint32_t i;

	d->locked = rp->locked;
	d->total = rp->keys;
	d->nkeys = rp->agent_pid != 0 ?
	    key_infos(rp->sock, d->keys, STATUS_KEYS_SHOWN, &d->locked,
		&d->total) :
	    -1;
	if (d->locked) /* the agent tells nothing of them */
		d->total = -1;
	d->nsess = 0;
	d->sess = calloc(rp->nsessions ? rp->nsessions : 1, sizeof(*d->sess));
	for (i = 0; d->sess != NULL && i < rp->nsessions; i++)
		session_info(rp->sessions[i], &d->sess[d->nsess++]);
}

/* path with $HOME shown as "~", as people write it. */
static const char *
tilde(const char *path, char *buf, size_t size)
{
	const char *home = getenv("HOME");
	size_t n = home != NULL ? strlen(home) : 0;

	if (n > 1 && strncmp(path, home, n) == 0 && path[n] == '/') {
		snprintf(buf, size, "~%s", path + n);
		return buf;
	}
	return path;
}

/*
 * The supervisor's config message, unless it is the bad line this client
 * has already named (once per command is enough): "" then.
 */
static const char *
sv_config_news(const struct client *cl, const struct ctl_reply *rp)
{
	size_t n = strlen(cl->config_error);

	if (n > 0 && strncmp(rp->config_error, cl->config_error, n) == 0)
		return "";
	return rp->config_error;
}

/* A JSON string: our paths hold no control characters, but be safe. */
static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/*
 * `status --json`: one object with the same keys whether a supervisor
 * runs (rp) or not (rp NULL: nulls and the configured values).
 */
static void
print_status_json(const struct client *cl, const struct ctl_reply *rp,
    const struct details *d)
{
	uint32_t i;
	int k;

	printf("{\"running\": %s, \"supervisor_pid\": ", rp ? "true" : "false");
	if (rp != NULL)
		printf("%u, \"agent_pid\": %u, \"socket\": ",
		    rp->supervisor_pid, rp->agent_pid);
	else
		printf("null, \"agent_pid\": null, \"socket\": ");
	if (rp != NULL)
		json_str(stdout, rp->sock);
	else
		printf("null");
	if (d != NULL && d->total >= 0)
		printf(", \"keys\": %d", d->total);
	else
		printf(", \"keys\": null");
	printf(", \"locked\": %s, \"lingering\": %s, \"agent_state\": ",
	    d != NULL && d->locked ? "true" : "false",
	    rp != NULL && rp->lingering ? "true" : "false");
	if (rp != NULL)
		json_str(stdout, rp->agent_state);
	else
		printf("null");
	printf(", \"policy\": ");
	json_str(stdout,
	    rp != NULL ? rp->policy : config_policy_name(cl->cfg.policy));
	printf(", \"systemd\": %s, \"sessions\": [",
	    rp != NULL && rp->systemd ? "true" : "false");
	for (i = 0; rp != NULL && i < rp->nsessions; i++)
		printf("%s%u", i ? ", " : "", rp->sessions[i]);
	printf("], \"environment_file\": ");
	json_str(stdout, cl->cfg.write_env ? cl->paths.envfile : "");
	printf(", \"agent_lost\": ");
	if (rp != NULL && rp->agent_lost[0] != '\0')
		json_str(stdout, rp->agent_lost);
	else
		printf("null");
	printf(", \"logind\": ");
	if (rp != NULL && rp->logind[0] != '\0')
		json_str(stdout, rp->logind);
	else
		printf("null");
	printf(", \"config_error\": ");
	if (rp != NULL && rp->config_error[0] != '\0')
		json_str(stdout, rp->config_error);
	else
		printf("null");
	printf(", \"key_list\": [");
	for (k = 0; d != NULL && k < d->nkeys; k++) {
		printf("%s{\"type\": ", k ? ", " : "");
		json_str(stdout, d->keys[k].type);
		printf(", \"fingerprint\": ");
		json_str(stdout, d->keys[k].fp);
		printf(", \"comment\": ");
		json_str(stdout, d->keys[k].comment);
		printf(", \"file\": ");
		if (d->keys[k].file[0] != '\0')
			json_str(stdout, d->keys[k].file);
		else
			printf("null");
		printf(", \"loaded\": %s, \"confirm\": %s, "
		       "\"destinations\": %u, \"forwarding\": ",
		    d->keys[k].listed ? "false" : "true",
		    d->keys[k].confirm ? "true" : "false", d->keys[k].ndest);
		json_str(stdout, config_fwd_use_name(d->keys[k].fwd));
		printf(", \"last_used_ago\": ");
		if (d->keys[k].used == UINT32_MAX)
			printf("null");
		else
			printf("%u", d->keys[k].used);
		printf(", \"lifetime_left\": ");
		if (d->keys[k].left != 0)
			printf("%u}", d->keys[k].left);
		else
			printf("null}");
	}
	printf("], \"session_list\": [");
	for (i = 0; d != NULL && i < d->nsess; i++) {
		printf("%s{\"id\": %u, \"tty\": ", i ? ", " : "",
		    d->sess[i].sid);
		json_str(stdout, d->sess[i].tty);
		printf(", \"from\": ");
		json_str(stdout, d->sess[i].from);
		if (d->sess[i].age >= 0)
			printf(", \"age\": %ld}", d->sess[i].age);
		else
			printf(", \"age\": null}");
	}
	printf("], \"upstream_list\": [");
	for (i = 0; rp != NULL && i < rp->nups; i++) {
		uint32_t n = 0;

		printf("%s{\"path\": ", i ? ", " : "");
		json_str(stdout, rp->ups[i].path);
		printf(", \"found\": %s", rp->ups[i].found ? "true" : "false");
		if (rp->ups[i].sid != 0)
			printf(", \"session\": %u, \"keys\": ", rp->ups[i].sid);
		else
			printf(", \"session\": null, \"keys\": ");
		if (agentclient_count(rp->ups[i].path, AGENT_TIMEOUT_MS, &n) ==
		    0)
			printf("%u}", n);
		else
			printf("null}");
	}
	printf("]}\n");
}

/* The other agents the stable socket serves, in order, each asked. */
static void
print_upstreams(const struct ctl_reply *rp)
{
	uint32_t i, n;

	if (rp->nups == 0)
		return;
	printf("upstreams %u (served first, in this order):\n", rp->nups);
	for (i = 0; i < rp->nups; i++) {
		if (rp->ups[i].sid != 0)
			printf("  forwarded to session %u: %s", rp->ups[i].sid,
			    rp->ups[i].path);
		else if (rp->ups[i].found)
			printf("  forwarded to a login without sshenv init: %s",
			    rp->ups[i].path);
		else
			printf("  configured: %s", rp->ups[i].path);
		if (agentclient_count(rp->ups[i].path, AGENT_TIMEOUT_MS, &n) ==
		    0)
			printf(", %u key%s\n", n, n == 1 ? "" : "s");
		else
			printf(", not answering\n");
	}
}

int
client_status(int argc, char **argv)
{
	struct client cl;
	struct ctl_reply rp;
	struct details d;
	char path[PATHS_MAX + 2], when[32];
	uint32_t i;
	int r, k;

	if ((r = parse_common(&cl, argc, argv, "jF", ARGS_NONE)) != GO_ON)
		return r;
	if ((r = setup(&cl)) != 0)
		return r;
	if ((r = get_status(&cl, &rp)) != 0) {
		/* The same keys as when running, for scripts. */
		if (cl.json && r == ERR_NO_SERVER)
			print_status_json(&cl, NULL, NULL);
		else
			explain(&cl, r);
		return exit_for(r);
	}
	printable(rp.agent_lost);
	printable(rp.config_error);
	add_found(&cl, &rp);
	details(&rp, &d);
	if (cl.json) {
		print_status_json(&cl, &rp, &d);
		free(d.sess);
		return EXIT_OK;
	}
	printf("supervisor pid %u%s\n", rp.supervisor_pid,
	    rp.systemd ? " (systemd)" : "");
	if (rp.agent_pid != 0)
		printf("agent pid %u (%s)\n", rp.agent_pid, rp.agent_state);
	else
		printf("agent not running (%s)\n", rp.agent_state);
	printf("socket %s\n", rp.sock);
	if (d.locked)
		printf("keys hidden (locked)\n");
	else if (d.total < 0)
		printf("keys unknown\n");
	else
		printf("keys %d%s\n", d.total, d.locked ? " (locked)" : "");
	for (k = 0; k < d.nkeys; k++) {
		printf("  %s %s %s", d.keys[k].type, d.keys[k].fp,
		    d.keys[k].comment[0] ? d.keys[k].comment : "(no comment)");
		if (d.keys[k].file[0] != '\0')
			printf(" [%s]",
			    tilde(d.keys[k].file, path, sizeof(path)));
		if (d.keys[k].listed)
			printf(" listed only: loaded at its first use");
		if (d.keys[k].confirm)
			printf(" confirm");
		if (d.keys[k].ndest != 0)
			printf(" %u destination%s", d.keys[k].ndest,
			    d.keys[k].ndest == 1 ? "" : "s");
		if (d.keys[k].fwd != FWD_USE_ALLOW)
			printf(" forwarded: %s",
			    config_fwd_use_name(d.keys[k].fwd));
		if (d.keys[k].listed) {
			/* nothing to tell of its use yet */
		} else if (d.keys[k].used == UINT32_MAX) {
			printf(" never used");
		} else {
			span(d.keys[k].used, when, sizeof(when));
			printf(" used %s ago", when);
		}
		if (d.keys[k].left != 0) {
			span(d.keys[k].left, when, sizeof(when));
			printf(" %s left", when);
		}
		printf("\n");
	}
	print_upstreams(&rp);
	if (rp.logind[0] != '\0')
		printf("logind: %s\n", rp.logind);
	printf("sessions %u:", rp.nsessions);
	for (i = 0; i < rp.nsessions; i++)
		printf(" %u", rp.sessions[i]);
	printf("\n");
	for (i = 0; i < d.nsess; i++) {
		span(d.sess[i].age, when, sizeof(when));
		printf("  %u %s, %s, %s\n", d.sess[i].sid, d.sess[i].tty,
		    d.sess[i].from, when);
	}
	free(d.sess);
	printf("on last logout: %s\n", rp.policy);
	if (rp.agent_lost[0] != '\0')
		printf("an agent was lost with its keys %s\n", rp.agent_lost);
	if (*sv_config_news(&cl, &rp) != '\0')
		printf("configuration: %s\n", rp.config_error);
	if (rp.lingering)
		printf("no session left: the agent %s when the linger time "
		       "ends\n",
		    strcmp(rp.policy, "keep") == 0     ? "stays" :
			strcmp(rp.policy, "lock") == 0 ? "is locked" :
							 "stops");
	return EXIT_OK;
}

int
client_stop(int argc, char **argv)
{
	struct client cl;
	struct ctl_request rq;
	struct ctl_reply rp;
	struct wire out;
	long deadline;
	int r;

	if ((r = parse_common(&cl, argc, argv, "scfqF", ARGS_NONE)) != GO_ON)
		return r;
	if ((r = setup(&cl)) != 0)
		return r;
	memset(&rq, 0, sizeof(rq));
	rq.type = CTL_STOP;
	if ((r = ctl_call(&cl, &rq, &rp, 0)) != 0) {
		if (!cl.quiet)
			explain(&cl, r);
		return exit_for(r);
	}
	/* Done when the supervisor (which waits for its agent) has exited. */
	deadline = compat_now_ms() + 10000;
	while (compat_now_ms() < deadline &&
	    (access(cl.paths.ctl_sock, F_OK) == 0 ||
		access(cl.paths.daemon_pid, F_OK) == 0))
		compat_sleep_ms(5);
	wire_init(&out, 4096);
	if (shellenv_unset(&out, cl.kind, "SSH_AUTH_SOCK") == 0 &&
	    shellenv_unset(&out, cl.kind, "SSH_AGENT_PID") == 0)
		fwrite(wire_ptr(&out), 1, wire_avail(&out), stdout);
	wire_free(&out);
	return EXIT_OK;
}

int
client_config(int argc, char **argv)
{
	struct client cl;
	int r;

	if ((r = parse_common(&cl, argc, argv, "F", ARGS_NONE)) != GO_ON)
		return r;
	cl.quiet = 1; /* a bad line is shown below, where it belongs */
	if ((r = setup(&cl)) != 0)
		return r;
	if (cl.config_error[0] != '\0')
		printf("# %s (ignored: the default applies there)\n",
		    cl.config_error);
	/* The paths in use, not the empty settings that mean "default". */
	if (cl.cfg.rundir[0] == '\0')
		snprintf(cl.cfg.rundir, sizeof(cl.cfg.rundir), "%s",
		    cl.paths.rundir);
	if (cl.cfg.envfile[0] == '\0')
		snprintf(cl.cfg.envfile, sizeof(cl.cfg.envfile), "%s",
		    cl.paths.envfile);
	config_print(&cl.cfg, stdout);
	return EXIT_OK;
}

/* ---- doctor ---- */

static int doctor_fails;

static void
verdict(const char *level, const char *what, const char *remedy)
{
	printf("%-4s %s\n", level, what);
	if (remedy != NULL)
		printf("     -> %s\n", remedy);
	if (strcmp(level, "FAIL") == 0)
		doctor_fails++;
}

/*
 * The loaded keys that a host the agent is forwarded to could use with
 * no check: no destination constraint, forwarded use allowed, no
 * confirm.  Their comments (or fingerprints) into out; how many.
 */
#define DOCTOR_MAXKEYS 64

static int
unchecked_keys(const struct keyinfo *keys, int n, char *out, size_t size)
{
	size_t at = 0;
	int i, count = 0, w;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (keys[i].ndest != 0 || keys[i].fwd != FWD_USE_ALLOW ||
		    keys[i].confirm)
			continue;
		count++;
		w = snprintf(out + at, size - at, "%s%s", at ? ", " : "",
		    keys[i].comment[0] ? keys[i].comment : keys[i].fp);
		if (w < 0 || (size_t)w >= size - at)
			break;
		at += (size_t)w;
	}
	return count;
}

/*
 * Reads an ssh_config for ForwardAgent: a "yes" under "Host *" (or
 * before any Host line) forwards the agent to every server.  Each host
 * it goes to is judged with the keys loaded (nkeys < 0: unknown): from
 * there, can root (or whoever holds the account) use them unchecked?
 */
static void
check_forward_config(const char *path, const struct keyinfo *keys, int nkeys)
{
	char line[1024], host[256] = "*", msg[2400], names[512], *p, *k, *v;
	char *save = NULL;
	FILE *f;
	int lineno = 0, found = 0, open;

	if ((f = fopen(path, "re")) == NULL)
		return;
	open = nkeys > 0 ? unchecked_keys(keys, nkeys, names, sizeof(names)) :
			   0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		p = line + strspn(line, " \t");
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		k = strtok_r(p, " \t=\n", &save);
		v = strtok_r(NULL, " \t=\n", &save);
		if (k == NULL || v == NULL)
			continue;
		if (strcasecmp(k, "Host") == 0 || strcasecmp(k, "Match") == 0) {
			snprintf(host, sizeof(host), "%s%s",
			    strcasecmp(k, "Match") == 0 ? "match " : "", v);
			continue;
		}
		if (strcasecmp(k, "ForwardAgent") != 0 ||
		    strcasecmp(v, "no") == 0)
			continue;
		found = 1;
		if (strcmp(host, "*") == 0) {
			snprintf(msg, sizeof(msg),
			    "%s:%d: ForwardAgent %s "
			    "for every host",
			    path, lineno, v);
			verdict("warn", msg,
			    "forward only to hosts you trust: "
			    "move it under 'Host name'");
		}
		if (open > 0) {
			snprintf(msg, sizeof(msg),
			    "%s:%d: ForwardAgent %s for %s%s: from there "
			    "anyone who holds your account (and root) can "
			    "use %s unchecked",
			    path, lineno, v,
			    strcmp(host, "*") == 0 ? "" : "Host ",
			    strcmp(host, "*") == 0 ? "every host" : host,
			    names);
			verdict("warn", msg,
			    "limit where each key may go (ssh-add -h HOST, or "
			    "destinations in a [key NAME] section), or set "
			    "[forwarding] use = confirm (or deny)");
		} else if (strcmp(host, "*") != 0) {
			snprintf(msg, sizeof(msg),
			    "%s:%d: ForwardAgent %s for Host %s%s", path,
			    lineno, v, host,
			    nkeys > 0 ? ": every key loaded is checked there "
					"(constrained, confirmed or denied)" :
					"");
			verdict("ok", msg, NULL);
		}
	}
	fclose(f);
	if (!found) {
		snprintf(msg, sizeof(msg), "%s: no ForwardAgent setting", path);
		verdict("ok", msg, NULL);
	}
}

/*
 * The agents the stable socket serves besides ours: for each, whether it
 * answers and which keys it brings (so that a key in `ssh-add -l` can be
 * traced to the login whose agent holds it).  A key that an earlier one
 * brings already is served by that one.
 */
static void
doctor_upstreams(const struct ctl_reply *rp)
{
	char msg[PATHS_MAX + 1200], who[64], names[1024];
	const uint8_t *blob, *comment;
	struct wire list, prev[CTLPROTO_MAX_UPSTREAMS];
	uint32_t counts[CTLPROTO_MAX_UPSTREAMS], i, k, j;
	size_t bl, cl, at;
	int dup;

	for (i = 0; i < rp->nups; i++) {
		wire_init(&prev[i], AGENTPROTO_MAX_FRAME);
		counts[i] = 0;
		if (agentclient_list(rp->ups[i].path, AGENT_TIMEOUT_MS,
			&prev[i], &counts[i]) != 0) {
			snprintf(msg, sizeof(msg),
			    "%s %s does not answer: its keys are not served",
			    rp->ups[i].sid != 0 || rp->ups[i].found ?
				"the forwarded agent" :
				"the configured agent",
			    rp->ups[i].path);
			verdict("warn", msg,
			    rp->ups[i].sid != 0 || rp->ups[i].found ?
				"nothing to do: it goes when that login ends" :
				"start that agent, or take it out of [agent] "
				"upstream");
			counts[i] = 0;
			continue;
		}
		names[0] = '\0';
		at = 0;
		list = prev[i];
		for (k = 0; k < counts[i]; k++) {
			if (wire_get_string(&list, &blob, &bl) != 0 ||
			    wire_get_string(&list, &comment, &cl) != 0)
				break;
			for (dup = 0, j = 0; j < i && !dup; j++)
				dup = counts[j] > 0 &&
				    agentclient_listed(&prev[j], counts[j],
					blob, bl) == 1;
			at += (size_t)snprintf(names + at,
			    at < sizeof(names) ? sizeof(names) - at : 0,
			    "%s%.*s%s", at ? ", " : "",
			    (int)(cl > 60 ? 60 : cl), (const char *)comment,
			    dup ? " (served by an earlier one)" : "");
			if (at >= sizeof(names))
				break;
		}
		if (rp->ups[i].sid != 0)
			snprintf(who, sizeof(who),
			    "the forwarded agent of session %u",
			    rp->ups[i].sid);
		else if (rp->ups[i].found)
			snprintf(who, sizeof(who),
			    "the forwarded agent of a login without sshenv "
			    "init");
		else
			snprintf(who, sizeof(who), "the configured agent");
		snprintf(msg, sizeof(msg), "%s at %s brings %u key%s%s%s", who,
		    rp->ups[i].path, counts[i], counts[i] == 1 ? "" : "s",
		    counts[i] ? ": " : "", names);
		verdict("ok", msg, NULL);
	}
	for (i = 0; i < rp->nups; i++)
		wire_free(&prev[i]);
}

/* The commands doctor suggests, in the syntax of the user's shell. */
static const char *
cmd_env(enum shell_kind kind)
{
	switch (kind) {
	case SHELL_CSH: return "eval `sshenv env -c`";
	case SHELL_FISH: return "sshenv env -f | source";
	default: return "eval \"$(sshenv env)\"";
	}
}

static const char *
cmd_profile(enum shell_kind kind)
{
	switch (kind) {
	case SHELL_CSH: return "put 'eval `sshenv init -c`' in ~/.login";
	case SHELL_FISH:
		return "put 'status is-login; and sshenv init -f | source' in "
		       "~/.config/fish/conf.d/sshenv.fish";
	default:
		return "put 'eval \"$(sshenv init)\"' in your login profile "
		       "(~/.bash_profile, ~/.profile or ~/.zprofile)";
	}
}

/*
 * The runtime directory: a supervisor cannot run in one that is not
 * safe, and "no supervisor answers" would send the user the wrong way.
 * Returns 0 if it is usable (or not made yet).
 */
static int
doctor_rundir(const struct client *cl)
{
	char msg[PATHS_MAX + 128], fix[PATHS_MAX + 128];
	struct stat st;
	int r = rtpaths_check_dir(cl->paths.rundir);

	if (r == ERR_SYSTEM && errno == ENOENT)
		return 0;
	if (r == 0) {
		snprintf(msg, sizeof(msg),
		    "runtime directory %s is yours, "
		    "mode 0700",
		    cl->paths.rundir);
		verdict("ok", msg, NULL);
		return 0;
	}
	if (lstat(cl->paths.rundir, &st) != 0)
		st.st_mode = 0, st.st_uid = 0;
	if (r == ERR_BAD_MODE) {
		snprintf(msg, sizeof(msg),
		    "runtime directory %s has mode "
		    "%04o: others may enter it, so no supervisor starts there",
		    cl->paths.rundir, (unsigned)(st.st_mode & 07777));
		snprintf(fix, sizeof(fix), "chmod 700 %s", cl->paths.rundir);
	} else if (r == ERR_BAD_OWNER) {
		snprintf(msg, sizeof(msg),
		    "runtime directory %s belongs to "
		    "uid %ld, not you",
		    cl->paths.rundir, (long)st.st_uid);
		snprintf(fix, sizeof(fix),
		    "have root remove it (someone "
		    "else made it), or set [files] runtime_dir");
	} else if (r == ERR_SYMLINK) {
		snprintf(msg, sizeof(msg),
		    "runtime directory %s is a "
		    "symbolic link",
		    cl->paths.rundir);
		snprintf(fix, sizeof(fix), "rm %s (sshenv makes a real one)",
		    cl->paths.rundir);
	} else {
		snprintf(msg, sizeof(msg), "runtime directory %s: %s",
		    cl->paths.rundir, sserr_str(r));
		snprintf(fix, sizeof(fix),
		    "remove it, or set [files] "
		    "runtime_dir");
	}
	verdict("FAIL", msg, fix);
	return r;
}

/* ~/.ssh/environment: ours, or left by something else that scripts read. */
static void
doctor_envfile(const struct client *cl)
{
	char msg[PATHS_MAX + 256], fix[PATHS_MAX + 128];
	struct envfile_data d;
	int r;

	if (!cl->cfg.write_env || cl->paths.envfile[0] == '\0')
		return;
	r = envfile_read(cl->paths.envfile, &d);
	if (r == 0 || r == ERR_NOT_FOUND)
		return;
	if (r == ERR_NOT_OURS) {
		snprintf(msg, sizeof(msg),
		    "%s was not written by sshenv (the "
		    "classic recipe or keychain?): sshenv leaves it alone, "
		    "and scripts that read it may reach another agent",
		    cl->paths.envfile);
		snprintf(fix, sizeof(fix),
		    "remove it once (rm %s); sshenv "
		    "then keeps it true",
		    cl->paths.envfile);
	} else if (r == ERR_SYMLINK) {
		snprintf(msg, sizeof(msg),
		    "%s is a symbolic link: sshenv "
		    "does not write through it",
		    cl->paths.envfile);
		snprintf(fix, sizeof(fix), "rm %s", cl->paths.envfile);
	} else {
		snprintf(msg, sizeof(msg), "%s: %s", cl->paths.envfile,
		    sserr_str(r));
		snprintf(fix, sizeof(fix),
		    "rm %s; sshenv writes it again at "
		    "the next login",
		    cl->paths.envfile);
	}
	verdict("warn", msg, fix);
}

/* Keys loaded with confirm = yes need an askpass the agent can run. */
static void
doctor_askpass(const struct client *cl)
{
	const char *ap = getenv("SSH_ASKPASS"), *req;
	const char *why = NULL;

	if (!cl->cfg.confirm)
		return;
	req = getenv("SSH_ASKPASS_REQUIRE");
	if (ap == NULL || *ap == '\0')
		why = "SSH_ASKPASS is not set";
	else if (access(ap, X_OK) != 0)
		why = "SSH_ASKPASS names no program that runs";
	else if (req != NULL && strcmp(req, "never") == 0)
		why = "SSH_ASKPASS_REQUIRE=never";
	else if (getenv("DISPLAY") == NULL &&
	    getenv("WAYLAND_DISPLAY") == NULL &&
	    (req == NULL || strcmp(req, "force") != 0))
		why = "there is no display to ask on";
	if (why == NULL)
		return;
	verdict("warn",
	    "keys are loaded with confirm = yes, but the agent "
	    "cannot ask: signing with them will fail",
	    why);
}

/* SSH_AGENT_PID names a process that is gone, or not our agent. */
static void
doctor_agent_pid(const struct ctl_reply *rp, int have_status)
{
	const char *s = getenv("SSH_AGENT_PID"), *sock;
	char msg[128];
	long pid;

	if (s == NULL || *s == '\0')
		return;
	sock = getenv("SSH_AUTH_SOCK");
	if (rtpaths_parse_pid(s, &pid) != 0 || kill((pid_t)pid, 0) != 0) {
		snprintf(msg, sizeof(msg),
		    "SSH_AGENT_PID=%.20s names no "
		    "running process (ssh-agent -k would fail)",
		    s);
		verdict("warn", msg, NULL);
	} else if (have_status && sock != NULL && strcmp(sock, rp->sock) == 0 &&
	    (uint32_t)pid != rp->agent_pid) {
		snprintf(msg, sizeof(msg),
		    "SSH_AGENT_PID=%ld is not the "
		    "agent at SSH_AUTH_SOCK (%u)",
		    pid, rp->agent_pid);
		verdict("warn", msg, NULL);
	}
}

/* Another supervisor of this user, in another runtime dir. */
static void
doctor_other_supervisors(const struct client *cl)
{
	char cand[RTPATHS_MAX_CANDIDATES][RTPATHS_RUN_MAX];
	char msg[PATHS_MAX + 128], fix[PATHS_MAX + 128];
	struct rtpaths p;
	long pid;
	int n, i;

	n = rtpaths_candidates(cand, RTPATHS_MAX_CANDIDATES);
	for (i = 0; i < n; i++) {
		if (strcmp(cand[i], cl->paths.rundir) == 0 ||
		    rtpaths_check_dir(cand[i]) != 0 ||
		    rtpaths_init(&p, cand[i], NULL) != 0 ||
		    !rtpaths_alive(p.ctl_sock))
			continue;
		snprintf(msg, sizeof(msg),
		    "a second sshenv supervisor of "
		    "yours serves in %s",
		    cand[i]);
		if (rtpaths_read_pid(p.daemon_pid, &pid) == 0)
			snprintf(fix, sizeof(fix),
			    "kill %ld (it stops its "
			    "agent and cleans up after itself)",
			    pid);
		else
			snprintf(fix, sizeof(fix),
			    "stop it where it was "
			    "started");
		verdict("FAIL", msg, fix);
	}
}

#ifndef SSHENV_PORTABLE
/*
 * Agents of this user that sshenv did not start: an ssh-agent left by
 * keychain or the classic recipe keeps its keys after every logout.
 */
static void
doctor_other_agents(const struct ctl_reply *rp, int have_status)
{
	char path[64], comm[64], msg[160];
	struct dirent *e;
	struct stat st;
	FILE *f;
	DIR *d;
	long pid;

	if ((d = opendir("/proc")) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (rtpaths_parse_pid(e->d_name, &pid) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld", pid);
		if (stat(path, &st) != 0 || st.st_uid != getuid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, "ssh-agent") == 0) {
			snprintf(msg, sizeof(msg),
			    "an ssh-agent of yours "
			    "runs (pid %ld): from keychain or the classic "
			    "recipe?",
			    pid);
			snprintf(path, sizeof(path), "kill %ld", pid);
			verdict("warn", msg, path);
		} else if (strcmp(comm, "sshenv-agent") == 0 && have_status &&
		    (uint32_t)pid != rp->agent_pid) {
			snprintf(msg, sizeof(msg),
			    "another sshenv-agent of "
			    "yours runs (pid %ld), not the supervisor's",
			    pid);
			verdict("warn", msg, NULL);
		}
	}
	closedir(d);
}
#else
static void
doctor_other_agents(const struct ctl_reply *rp, int have_status)
{
	(void)rp;
	(void)have_status;
}
#endif

int
client_doctor(int argc, char **argv)
{
	struct client cl;
	struct ctl_reply rp;
	char msg[PATHS_MAX * 2], path[PATHS_MAX];
	const char *sock = getenv("SSH_AUTH_SOCK"), *home = getenv("HOME");
	const char *kind;
	static struct keyinfo keys[DOCTOR_MAXKEYS];
	uint32_t n;
	int r, fwd, have_status, nkeys, locked = 0, total = 0;

	if ((r = parse_common(&cl, argc, argv, "scfF", ARGS_NONE)) != GO_ON)
		return r;
	cl.quiet = 1; /* a bad line is a verdict below */
	if ((r = setup(&cl)) != 0)
		return r;
	doctor_fails = 0;
	if (cl.config_error[0] != '\0')
		verdict("FAIL", cl.config_error,
		    "fix that line ('sshenv config' shows what applies); a "
		    "running supervisor reads it again on SIGHUP");
	r = get_status(&cl, &rp);
	have_status = r == 0;
	if (have_status)
		add_found(&cl, &rp);
	if (r != 0) {
		/* The real cause first: a directory no supervisor may use. */
		if (doctor_rundir(&cl) == 0)
			verdict("FAIL", "no sshenv supervisor answers",
			    cmd_profile(cl.kind));
	} else {
		(void)doctor_rundir(&cl);
		snprintf(msg, sizeof(msg), "supervisor %u running",
		    rp.supervisor_pid);
		verdict("ok", msg, NULL);
		if (rp.agent_pid == 0 || !rtpaths_alive(rp.sock)) {
			verdict("FAIL", "the agent does not answer",
			    "run 'sshenv stop' and then 'sshenv init'");
		} else {
			snprintf(msg, sizeof(msg), "agent %u answers at %s",
			    rp.agent_pid, rp.sock);
			verdict("ok", msg, NULL);
			if (rp.locked)
				verdict("warn", "the agent is locked",
				    "log in again, or 'ssh-add -X'");
			else if (rp.keys <= 0 && sock != NULL &&
			    strcmp(sock, rp.sock) != 0)
				/* This shell uses another agent (forwarded,
				 * most likely): judged below, not this one. */
				verdict("ok",
				    "sshenv's local agent holds no "
				    "keys (this shell uses another agent)",
				    NULL);
			else if (rp.keys <= 0)
				verdict("warn", "the agent holds no keys",
				    "ssh-add ~/.ssh/id_ed25519 (or name keys "
				    "in [agent] keys)");
			else {
				snprintf(msg, sizeof(msg), "%d key%s loaded",
				    rp.keys, rp.keys == 1 ? "" : "s");
				verdict("ok", msg, NULL);
			}
		}
		if (rp.agent_lost[0] != '\0') {
			snprintf(msg, sizeof(msg),
			    "an agent was lost with "
			    "its keys %s; another serves at the same socket",
			    rp.agent_lost);
			verdict("warn", msg,
			    "add your keys again: ssh-add, "
			    "or log in again with keys named in [agent] keys");
		}
	}
	/* What the supervisor read (the file may have changed since). */
	if (have_status && *sv_config_news(&cl, &rp) != '\0') {
		snprintf(msg, sizeof(msg),
		    "fix the line, then reload: kill -HUP %u",
		    rp.supervisor_pid);
		verdict("warn", rp.config_error, msg);
	}
	doctor_other_supervisors(&cl);
	doctor_other_agents(&rp, have_status);
	if (have_status)
		doctor_upstreams(&rp);
	kind = cmd_env(cl.kind);
	if (sock == NULL || *sock == '\0') {
		verdict("FAIL", "SSH_AUTH_SOCK is not set in this shell", kind);
	} else if (agentclient_count(sock, AGENT_TIMEOUT_MS, &n) != 0) {
		snprintf(msg, sizeof(msg), "SSH_AUTH_SOCK=%s does not answer",
		    sock);
		snprintf(path, sizeof(path),
		    "%s, to point this shell at the "
		    "live agent",
		    kind);
		verdict("FAIL", msg, path);
	} else {
		fwd = strcmp(sock, cl.paths.agent_sock) != 0 && !is_ours(sock);
		snprintf(msg, sizeof(msg),
		    "SSH_AUTH_SOCK=%s answers (%u "
		    "key%s): %s",
		    sock, n, n == 1 ? "" : "s",
		    !fwd	    ? "sshenv's local agent" :
			ssh_login() ? "a forwarded agent" :
				      "another agent");
		snprintf(path, sizeof(path), "%s, to use sshenv's agent", kind);
		verdict(fwd && !ssh_login() ? "warn" : "ok", msg,
		    fwd && !ssh_login() ? path : NULL);
	}
	doctor_agent_pid(&rp, have_status);
	doctor_envfile(&cl);
	doctor_askpass(&cl);
	/* Forwarding: the policy in force, and where the keys could go. */
	snprintf(msg, sizeof(msg),
	    "forwarded use of the keys: %s ([forwarding] use)",
	    config_fwd_use_name(cl.cfg.fwd_use));
	verdict("ok", msg, NULL);
	nkeys = -1;
	if (have_status && rp.agent_pid != 0 && !rp.locked)
		nkeys = key_infos(rp.sock, keys, DOCTOR_MAXKEYS, &locked,
		    &total);
	if (home != NULL) {
		snprintf(path, sizeof(path), "%s/.ssh/config", home);
		check_forward_config(path, keys, nkeys);
	}
	check_forward_config("/etc/ssh/ssh_config", keys, nkeys);
	return doctor_fails > 0 ? EXIT_NEGATIVE : EXIT_OK;
}

/* ---- log: what the agent's keys were used for ---- */

#define LOG_FOLLOW_MS 1000

/*
 * Fetches the entries after seq since (at most max, the newest) and
 * prints them; *last gets the newest seq seen.  0, or an error (printed
 * unless it is the agent going away while following).
 */
static int
print_uses(const char *sock, uint64_t since, uint32_t max, int json,
    uint64_t *last)
{
	struct uselog_entry e;
	struct wire req, reply;
	uint32_t count, i;
	uint8_t type;
	char when[32];
	time_t t;
	int r;

	wire_init(&req, 64);
	wire_init(&reply, AGENTPROTO_MAX_FRAME);
	if ((r = wire_put_cstring(&req, "use-log@sshenv")) != 0 ||
	    (r = wire_put_u64(&req, since)) != 0 ||
	    (r = wire_put_u32(&req, max)) != 0 ||
	    (r = agentclient_call(sock, AGENT_TIMEOUT_MS, AGENTC_EXTENSION,
		 wire_ptr(&req), wire_avail(&req), &type, &reply)) != 0)
		goto out;
	if (type != AGENT_EXTENSION_RESPONSE ||
	    wire_get_u32(&reply, &count) != 0) {
		r = ERR_UNSUPPORTED;
		goto out;
	}
	for (i = 0; i < count; i++) {
		if ((r = uselog_decode(&reply, &e)) != 0)
			goto out;
		*last = e.seq;
		t = (time_t)e.time;
		if (strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
			localtime(&t)) == 0)
			snprintf(when, sizeof(when), "%lld", (long long)e.time);
		if (json) {
			printf("{\"seq\": %llu, \"time\": %lld, \"verdict\": ",
			    (unsigned long long)e.seq, (long long)e.time);
			json_str(stdout, uselog_verdict_name(e.verdict));
			printf(", \"forwarded\": %s, \"key\": ",
			    e.forwarded ? "true" : "false");
			json_str(stdout, e.key);
			printf(", \"fingerprint\": ");
			json_str(stdout, e.fp);
			printf(", \"what\": ");
			json_str(stdout, e.what);
			printf(", \"route\": ");
			json_str(stdout, e.route);
			printf("}\n");
		} else {
			printf("%s  %s  %s  %s %s  %s%s%s\n", when,
			    uselog_verdict_name(e.verdict),
			    e.forwarded ? "forwarded" : "local", e.key, e.fp,
			    e.what, e.route[0] != '\0' ? "  via " : "",
			    e.route);
		}
	}
	fflush(stdout);
	r = 0;
out:
	wire_free(&req);
	wire_free(&reply);
	return r;
}

int
client_log(int argc, char **argv)
{
	static const struct option longopts[] = { { "json", no_argument, NULL,
						      'j' },
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct client cl;
	const char *sock = NULL;
	uint64_t last = 0;
	unsigned long n = USELOG_CAP;
	char *end;
	int opt, follow = 0, r;

	memset(&cl, 0, sizeof(cl));
	cmdname = argv[0];
	optind = 1;
	opterr = 0;
	while (
	    (opt = getopt_long(argc, argv, "+a:fn:F:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a': sock = optarg; break;
		case 'f': follow = 1; break;
		case 'j': cl.json = 1; break;
		case 'F': cl.config_file = optarg; break;
		case 'n':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || n == 0 ||
			    n > USELOG_CAP) {
				say("-n takes 1 to %d, not '%s'", USELOG_CAP,
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': cli_usage(cmdname, stdout); return EXIT_OK;
		default:
			say("unknown option '%s'", argv[optind - 1]);
			cli_usage(cmdname, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_usage(cmdname, stderr);
		return EXIT_USAGE;
	}
	if (sock == NULL) {
		if ((r = setup(&cl)) != 0)
			return r;
		sock = cl.paths.agent_sock;
	}
	if ((r = print_uses(sock, 0, (uint32_t)n, cl.json, &last)) != 0) {
		if (r == ERR_NO_SERVER)
			say("no agent answers on %s", sock);
		else
			say("the agent at %s keeps no use log (%s)", sock,
			    r == ERR_UNSUPPORTED ? "not sshenv's, or not "
						   "from this host" :
						   sserr_str(r));
		return exit_for(r);
	}
	/* Polled: the record is small, and the agent owes us nothing. */
	while (follow) {
		poll(NULL, 0, LOG_FOLLOW_MS);
		if ((r = print_uses(sock, last, USELOG_CAP, cl.json, &last)) !=
		    0) {
			say("the agent went away (%s)", sserr_str(r));
			return exit_for(r);
		}
	}
	return EXIT_OK;
}
