/*
 * cmdtime: the wall time of a short command, run many times.
 *
 *	cmdtime [-n runs] [-w warmups] [-t secs] [-b prepare] [-o] [-e]
 *	    [-R file] [-P every] -- command [arg ...]
 *
 * Each run is fork + execvp + waitpid, timed with CLOCK_MONOTONIC from
 * just before the fork to just after the child is reaped: what a shell
 * pays to run the command.  stdin is /dev/null; stdout and stderr go to
 * /dev/null unless -o / -e keep them.  The warm-up runs (default 1) are
 * run first and not counted.
 *
 *	-n runs     timed runs (default 10)
 *	-w warmups  untimed runs before them (default 1)
 *	-t secs     a run (or prepare step) still going after secs is killed
 *	            (SIGKILL) and counted as failed (default 0: no limit)
 *	-b prepare  an sh command run, untimed, before every run and
 *	            warm-up (its stdout is dropped); if it fails, cmdtime
 *	            stops with exit 2
 *	-R file     appends each timed run's microseconds to file, one a line
 *	-P every    a progress line on stderr every that many timed runs
 *
 * Output, one line on stdout:
 *	runs=N median_us=.. p90_us=.. min_us=.. max_us=.. mean_us=.. failed=K
 * where failed counts the timed runs that did not exit 0; they are in the
 * figures all the same.  p90 is the nearest-rank percentile.
 * Exit codes: 0 every timed run exited 0, 1 some did not, 2 the command or
 * the prepare step could not be run, 64 bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_CANNOT = 2, EXIT_USAGE = 64 };

#define MAX_RUNS 10000000L

struct opts {
	long runs;
	long warmups;
	long timeout_s;
	long every;
	const char *prepare;
	const char *record;
	int keep_out;
	int keep_err;
	char **argv;
};

/* What one child did. */
enum outcome { RUN_OK, RUN_FAILED, RUN_NOEXEC };

static sigset_t oldmask;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: cmdtime [-n runs] [-w warmups] [-t secs] "
	    "[-b prepare] [-o] [-e]\n"
	    "               [-R file] [-P every] -- command [arg ...]\n");
}

static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* In the child: stdin from /dev/null, stdout and stderr as asked. */
static void
child_stdio(int keep_out, int keep_err)
{
	int nul;

	if ((nul = open("/dev/null", O_RDWR)) < 0)
		_exit(127);
	dup2(nul, 0);
	if (!keep_out)
		dup2(nul, 1);
	if (!keep_err)
		dup2(nul, 2);
	if (nul > 2)
		close(nul);
}

/*
 * Waits for pid, killing it once timeout_s have passed (0: never).
 * SIGCHLD is blocked by main, so sigtimedwait wakes as soon as a child
 * changes state; a stale pending SIGCHLD only costs one more waitpid.
 * Returns the wait status, with *killed set if we killed it.
 */
static int
reap(pid_t pid, long timeout_s, int *killed)
{
	long long deadline = now_ns() + timeout_s * 1000000000LL, left;
	struct timespec ts;
	sigset_t chld;
	pid_t r;
	int st = 0;

	*killed = 0;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		if (timeout_s == 0) {
			r = waitpid(pid, &st, 0);
		} else {
			r = waitpid(pid, &st, WNOHANG);
			if (r == 0) {
				left = deadline - now_ns();
				if (left <= 0) {
					kill(pid, SIGKILL);
					*killed = 1;
					timeout_s = 0;
					continue;
				}
				ts.tv_sec = (time_t)(left / 1000000000LL);
				ts.tv_nsec = (long)(left % 1000000000LL);
				sigtimedwait(&chld, NULL, &ts);
				continue;
			}
		}
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR) {
			/* Cannot happen for our own child; do not spin. */
			perror("cmdtime: waitpid");
			exit(EXIT_CANNOT);
		}
	}
}

/*
 * Runs argv once.  An exec failure comes back over a close-on-exec pipe,
 * read after the timed section, so it is told apart from a command that
 * exits 127.  *ns gets the wall time from fork to reaping.
 */
static enum outcome
run_once(char **argv, int keep_out, int keep_err, long timeout_s, long long *ns,
    int *err)
{
	long long t0, t1;
	pid_t pid;
	ssize_t n;
	int p[2], st, killed, e;

	*ns = 0;
	*err = 0;
	if (pipe2(p, O_CLOEXEC) != 0) {
		*err = errno;
		return RUN_NOEXEC;
	}
	fflush(NULL);
	t0 = now_ns();
	if ((pid = fork()) < 0) {
		*err = errno;
		close(p[0]);
		close(p[1]);
		return RUN_NOEXEC;
	}
	if (pid == 0) {
		close(p[0]);
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		child_stdio(keep_out, keep_err);
		execvp(argv[0], argv);
		e = errno;
		if (write(p[1], &e, sizeof(e)) < 0)
			_exit(126);
		_exit(127);
	}
	close(p[1]);
	st = reap(pid, timeout_s, &killed);
	t1 = now_ns();
	*ns = t1 - t0;
	while ((n = read(p[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (n == (ssize_t)sizeof(e)) {
		*err = e;
		return RUN_NOEXEC;
	}
	if (killed)
		fprintf(stderr, "cmdtime: %s: killed after %ld s\n", argv[0],
		    timeout_s);
	if (!killed && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return RUN_OK;
	return RUN_FAILED;
}

/* The prepare step: sh -c CMD, stdout dropped, stderr kept. */
static int
prepare(const struct opts *o)
{
	char *argv[] = { "sh", "-c", (char *)o->prepare, NULL };
	long long ns;
	int err;

	if (run_once(argv, 0, 1, o->timeout_s, &ns, &err) == RUN_OK)
		return 0;
	if (err != 0)
		fprintf(stderr, "cmdtime: cannot run sh: %s\n", strerror(err));
	else
		fprintf(stderr, "cmdtime: the prepare step failed: %s\n",
		    o->prepare);
	return -1;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static void
report(long long *us, long n, long failed)
{
	long long sum = 0, median;
	long i, rank;

	qsort(us, (size_t)n, sizeof(*us), cmp_ll);
	for (i = 0; i < n; i++)
		sum += us[i];
	median = n % 2 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2;
	/* Nearest rank: the smallest value with at least 90% at or below. */
	rank = (n * 90 + 99) / 100;
	printf("runs=%ld median_us=%lld p90_us=%lld min_us=%lld max_us=%lld "
	       "mean_us=%lld failed=%ld\n",
	    n, median, us[rank - 1], us[0], us[n - 1], sum / n, failed);
}

static int
parse(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->runs = 10;
	o->warmups = 1;
	while ((c = getopt(argc, argv, "+n:w:t:b:oeR:P:")) != -1) {
		switch (c) {
		case 'n':
			if (parse_long(optarg, 1, MAX_RUNS, &o->runs) != 0)
				return -1;
			break;
		case 'w':
			if (parse_long(optarg, 0, MAX_RUNS, &o->warmups) != 0)
				return -1;
			break;
		case 't':
			if (parse_long(optarg, 0, 86400, &o->timeout_s) != 0)
				return -1;
			break;
		case 'b': o->prepare = optarg; break;
		case 'o': o->keep_out = 1; break;
		case 'e': o->keep_err = 1; break;
		case 'R': o->record = optarg; break;
		case 'P':
			if (parse_long(optarg, 1, MAX_RUNS, &o->every) != 0)
				return -1;
			break;
		default: return -1;
		}
	}
	if (optind >= argc)
		return -1;
	o->argv = argv + optind;
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct sigaction sa;
	sigset_t chld;
	long long *us = NULL, ns;
	FILE *rec = NULL;
	long i, failed = 0;
	int rc = EXIT_CANNOT, err;
	enum outcome out;

	if (parse(argc, argv, &o) != 0) {
		usage();
		return EXIT_USAGE;
	}
	if ((us = calloc((size_t)o.runs, sizeof(*us))) == NULL) {
		perror("cmdtime");
		return EXIT_CANNOT;
	}
	if (o.record != NULL && (rec = fopen(o.record, "ae")) == NULL) {
		fprintf(stderr, "cmdtime: %s: %s\n", o.record, strerror(errno));
		goto out;
	}
	/* An inherited SIG_IGN would make the kernel reap our children. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &oldmask);

	for (i = -o.warmups; i < o.runs; i++) {
		if (o.prepare != NULL && prepare(&o) != 0)
			goto out;
		out = run_once(o.argv, o.keep_out, o.keep_err, o.timeout_s, &ns,
		    &err);
		if (out == RUN_NOEXEC) {
			fprintf(stderr, "cmdtime: cannot run %s: %s\n",
			    o.argv[0], strerror(err));
			goto out;
		}
		if (i < 0)
			continue;
		us[i] = ns / 1000;
		if (out == RUN_FAILED)
			failed++;
		if (rec != NULL)
			fprintf(rec, "%lld\n", us[i]);
		if (o.every > 0 && (i + 1) % o.every == 0)
			fprintf(stderr, "cmdtime: %ld/%ld runs, %ld failed\n",
			    i + 1, o.runs, failed);
	}
	report(us, o.runs, failed);
	rc = failed > 0 ? EXIT_FAILED : EXIT_OK;
out:
	if (rec != NULL && fclose(rec) != 0) {
		fprintf(stderr, "cmdtime: %s: %s\n", o.record, strerror(errno));
		rc = EXIT_CANNOT;
	}
	free(us);
	return rc;
}
