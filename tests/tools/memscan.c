/*
 * memscan: looks for secret bytes in another process's memory, the way an
 * attacker with ptrace rights would: every readable mapping listed in
 * /proc/PID/maps, read through /proc/PID/mem.
 *
 * usage: memscan PID HEX...     prints how many times each byte string
 *                               occurs: one line, the counts in order
 *        memscan -x PID HEX...  the same, at the moment PID exits: traces
 *                               it (PTRACE_O_TRACEEXIT), prints "ready",
 *                               and scans when it stops at its exit, once
 *                               its own clean-up has run but before the
 *                               kernel has released its memory
 *        memscan -p PID         tries to ptrace-attach: prints "attached"
 *                               (and detaches) or "denied: REASON"
 *        memscan -u PID HEX...  counts only what lies outside memory
 *                               locked in RAM (mappings without the
 *                               "lo" flag in smaps): where a secret may
 *                               reach swap
 *
 * Exit status: 0 done (whatever the count), 1 access denied (the reason on
 * stderr, or stdout for -p), 2 usage, 3 another failure or -x timed out
 * (-w SECONDS, default 60).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hex.h"

#define CHUNK (1024 * 1024)
#define MAX_PATTERNS 16
/*
 * Mappings larger than this are skipped (and counted on stderr): in our
 * processes only AddressSanitizer's shadow is that big, terabytes of
 * mostly untouched pages that hold metadata, never data, and would take
 * hours to read.
 */
#define HUGE_MAPPING (64ULL << 30)

struct pattern {
	uint8_t *bytes;
	size_t len;
};

static struct pattern pats[MAX_PATTERNS];
static int npats;
static size_t maxlen;
static int unlocked_only; /* -u */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: memscan [-u] [-w seconds] [-x] pid hex...\n"
	    "       memscan -p pid\n");
	exit(2);
}

static void
add_pattern(const char *hex)
{
	size_t n = strlen(hex), i;
	int hi, lo;

	/* Short patterns would match by chance: secrets are 16+ bytes. */
	if (npats == MAX_PATTERNS || n % 2 != 0 || n < 32)
		usage();
	if ((pats[npats].bytes = malloc(n / 2)) == NULL)
		exit(3);
	for (i = 0; i < n / 2; i++) {
		if ((hi = hexval((unsigned char)hex[2 * i])) < 0 ||
		    (lo = hexval((unsigned char)hex[2 * i + 1])) < 0)
			usage();
		pats[npats].bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	pats[npats].len = n / 2;
	if (n / 2 > maxlen)
		maxlen = n / 2;
	npats++;
}

/* Adds to counts[i] the matches of pattern i that lie wholly in buf. */
static void
count_in(const uint8_t *buf, size_t n, long *counts, long sign)
{
	const uint8_t *p, *end = buf + n;
	int i;

	for (i = 0; i < npats; i++) {
		p = buf;
		while (p < end &&
		    (p = memmem(p, (size_t)(end - p), pats[i].bytes,
			 pats[i].len)) != NULL) {
			counts[i] += sign;
			p++;
		}
	}
}

/*
 * Scans one mapping in chunks; each chunk starts with the last maxlen-1
 * bytes of the one before, so no match is lost at a boundary.  A page
 * that cannot be read ([vvar], device memory) is stepped over.
 */
static void
scan_range(int fd, uint64_t start, uint64_t end, uint8_t *buf, long *counts)
{
	uint64_t at = start, page = (uint64_t)sysconf(_SC_PAGESIZE);
	size_t keep = 0, want;
	ssize_t r;

	while (at < end) {
		want = CHUNK - keep;
		if (want > end - at)
			want = (size_t)(end - at);
		r = pread(fd, buf + keep, want, (off_t)at);
		if (r <= 0) {
			at = (at / page + 1) * page;
			keep = 0;
			continue;
		}
		/* Matches within the carried bytes were counted before. */
		count_in(buf, keep + (size_t)r, counts, 1);
		count_in(buf, keep, counts, -1);
		at += (uint64_t)r;
		keep += (size_t)r;
		if (keep >= maxlen) {
			memmove(buf, buf + keep - (maxlen - 1), maxlen - 1);
			keep = maxlen - 1;
		}
	}
}

/*
 * -u: whether the mapping that starts at start is locked in RAM: its
 * smaps VmFlags has "lo" (mlock, and OpenSSL's mlock2 with
 * MLOCK_ONFAULT, which locks each page as it is first touched).  0 if
 * it cannot be told.
 */
static int
locked(pid_t pid, unsigned long long start)
{
	char path[64], line[512];
	unsigned long long s, e;
	int in = 0, yes = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/smaps", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%llx-%llx ", &s, &e) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (in)
				break;
			in = s == start;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			yes = strstr(line, " lo") != NULL;
			break;
		}
	}
	fclose(f);
	return yes;
}

/* Fills counts (one per pattern); -1 (errno set) if memory is closed. */
static int
scan(pid_t pid, long *counts)
{
	char path[64], line[512], perms[8];
	unsigned long long start, end;
	uint8_t *buf;
	FILE *maps;
	int fd, e, skipped = 0;

	/* mem first: its refusal is the one that says "no ptrace rights". */
	snprintf(path, sizeof(path), "/proc/%ld/mem", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
	if ((maps = fopen(path, "re")) == NULL) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if ((buf = malloc(CHUNK)) == NULL)
		exit(3);
	while (fgets(line, sizeof(line), maps) != NULL) {
		if (sscanf(line, "%llx-%llx %7s", &start, &end, perms) != 3 ||
		    perms[0] != 'r')
			continue;
		if (end - start > HUGE_MAPPING) {
			skipped++;
			continue;
		}
		if (unlocked_only && locked(pid, start))
			continue;
		scan_range(fd, start, end, buf, counts);
	}
	if (skipped > 0)
		fprintf(stderr, "memscan: skipped %d mapping%s over %llu GiB\n",
		    skipped, skipped > 1 ? "s" : "", HUGE_MAPPING >> 30);
	free(buf);
	fclose(maps);
	close(fd);
	return 0;
}

static int
report(pid_t pid)
{
	long counts[MAX_PATTERNS] = { 0 };
	int i;

	if (scan(pid, counts) != 0) {
		fprintf(stderr, "memscan: /proc/%ld/mem: %s\n", (long)pid,
		    strerror(errno));
		return errno == EACCES || errno == EPERM ? 1 : 3;
	}
	for (i = 0; i < npats; i++)
		printf("%s%ld", i > 0 ? " " : "", counts[i]);
	printf("\n");
	fflush(stdout);
	return 0;
}

static int
try_attach(pid_t pid)
{
	int st;

	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) != 0) {
		printf("denied: %s\n", strerror(errno));
		return errno == EACCES || errno == EPERM ? 1 : 3;
	}
	waitpid(pid, &st, __WALL);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	printf("attached\n");
	return 0;
}

static void
on_alarm(int sig)
{
	(void)sig;
	/* Our exit detaches the tracee: it goes on as if never traced. */
	_exit(3);
}

/*
 * Follows PID (its main thread) until its exit: signals it receives are
 * passed on unchanged, other stops resumed.  At PTRACE_EVENT_EXIT the
 * process's user code is done but its memory is still there to read.
 */
static int
at_exit(pid_t pid)
{
	int st, sig, rc;

	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)PTRACE_O_TRACEEXIT) !=
	    0) {
		fprintf(stderr, "memscan: ptrace %ld: %s\n", (long)pid,
		    strerror(errno));
		return errno == EACCES || errno == EPERM ? 1 : 3;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (waitpid(pid, &st, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "memscan: waitpid: %s\n",
			    strerror(errno));
			return 3;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			fprintf(stderr,
			    "memscan: %ld ended without an exit "
			    "stop\n",
			    (long)pid);
			return 3;
		}
		if (!WIFSTOPPED(st))
			continue;
		if (st >> 8 == (SIGTRAP | PTRACE_EVENT_EXIT << 8))
			break;
		sig = WSTOPSIG(st);
		/* Event stops (group stops under SEIZE) carry no signal. */
		if (st >> 16 != 0 || sig == SIGTRAP)
			sig = 0;
		ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
	}
	rc = report(pid);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return rc;
}

int
main(int argc, char **argv)
{
	int opt, exit_mode = 0, attach = 0, secs = 60, rc;
	long pid;

	while ((opt = getopt(argc, argv, "puw:x")) != -1) {
		switch (opt) {
		case 'p': attach = 1; break;
		case 'u': unlocked_only = 1; break;
		case 'w':
			if ((secs = atoi(optarg)) <= 0)
				usage();
			break;
		case 'x': exit_mode = 1; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || (pid = atol(argv[0])) < 2)
		usage();
	if (attach) {
		if (argc != 1 || exit_mode)
			usage();
		return try_attach((pid_t)pid);
	}
	if (argc < 2)
		usage();
	for (opt = 1; opt < argc; opt++)
		add_pattern(argv[opt]);
	if (exit_mode) {
		signal(SIGALRM, on_alarm);
		alarm((unsigned)secs);
		rc = at_exit((pid_t)pid);
	} else {
		rc = report((pid_t)pid);
	}
	while (npats > 0)
		free(pats[--npats].bytes);
	return rc;
}
