/*
 * agentpoke: a hostile (or merely odd) client of an SSH agent socket, for
 * the shell suites.  It sends raw bytes or one of a few canned misbehaviours
 * and reports, one line each on stdout, what the agent did:
 *
 *   reply TYPE LEN   a frame came back (LEN: its length field)
 *   closed           the agent closed the connection (EOF or reset)
 *   noreply          nothing within the wait time; the connection is open
 *
 * usage: agentpoke [-w SECONDS] SOCKET MODE [ARG...]
 *   hex HEX...       on one connection, send each HEX and read one answer
 *   lines            the same for each hex line read from stdin, until EOF
 *   garbage N [T]    a frame of type T (13) whose body is N random bytes
 *   oversized        a header announcing 256 KiB + 1, and no body
 *   maxframe         a frame of exactly 256 KiB of an unknown type
 *   truncated        a SIGN_REQUEST whose key string runs past the frame
 *   trailing         a REQUEST_IDENTITIES with one byte too many
 *   empty-frame      a frame of length 0
 *   drip [MS]        a REQUEST_IDENTITIES one byte per MS (200) ms; before
 *                    the last byte, prints "partial" and waits for a line
 *                    or EOF on stdin
 *   noread           REQUEST_IDENTITIES until the agent takes no more,
 *                    never reading; prints "stuffed N", holds the
 *                    connection until stdin closes
 *   hold N           N connections; prints "open N", holds them until
 *                    stdin closes, then sends a REQUEST_IDENTITIES on each
 *                    and prints "answered K of N"
 *   flood N          adds N fresh Ed25519 keys on one connection; prints
 *                    "added A refused R" (SUCCESS and FAILURE answers)
 *
 * Exit status: 0 the exchange ran (whatever the agent answered), 2 usage,
 * 3 no connection or a local failure.  The wait (-w, default 5 s) bounds
 * every read, so the tool never hangs on a silent agent.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hex.h"

#define MAX_FRAME (256 * 1024)
#define REQUEST_IDENTITIES 11
#define SIGN_REQUEST 13
#define ADD_IDENTITY 17
#define AGENT_FAILURE 5
#define AGENT_SUCCESS 6
/* How long the agent may stall us before noread calls the socket full. */
#define STUFF_IDLE_MS 1000
#define STUFF_MAX_MS 30000

static int wait_ms = 5000;

enum outcome { GOT_REPLY, GOT_CLOSED, GOT_NOTHING, GOT_ERROR };

static void
usage(void)
{
	fprintf(stderr,
	    "usage: agentpoke [-w seconds] socket mode [arg...]\n"
	    "modes: hex HEX..., lines, garbage N [TYPE], oversized, "
	    "maxframe,\n       truncated, trailing, empty-frame, drip [MS], "
	    "noread, hold N, flood N\n");
	exit(2);
}

static void
die(const char *what)
{
	fprintf(stderr, "agentpoke: %s: %s\n", what, strerror(errno));
	exit(3);
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "agentpoke: socket path too long\n");
		exit(3);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		die(path);
	return fd;
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * Sends all n bytes; 0, or -1 once the agent has closed its end (EPIPE,
 * ECONNRESET), which the callers report as "closed".
 */
static int
send_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
			return -1;
		if (w < 0)
			die("send");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Reads exactly n bytes by the deadline: 1 done, 0 EOF or reset, -1 the
 * deadline passed.
 */
static int
recv_all(int fd, uint8_t *buf, size_t n, long deadline)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t got = 0;
	ssize_t r;
	long left;

	while (got < n) {
		left = deadline - now_ms();
		if (left <= 0)
			return -1;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll");
		if (r == 0)
			return -1;
		r = recv(fd, buf + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECONNRESET)
			return 0;
		if (r < 0)
			die("recv");
		if (r == 0)
			return 0;
		got += (size_t)r;
	}
	return 1;
}

/* Waits for one answer frame; its type in *type. */
static enum outcome
read_reply(int fd, uint8_t *type, uint32_t *len)
{
	static uint8_t body[MAX_FRAME];
	uint8_t hdr[4];
	long deadline = now_ms() + wait_ms;
	int r;

	*type = 0;
	*len = 0;
	if ((r = recv_all(fd, hdr, 4, deadline)) <= 0)
		return r == 0 ? GOT_CLOSED : GOT_NOTHING;
	*len = get_u32(hdr);
	if (*len == 0 || *len > MAX_FRAME) {
		fprintf(stderr, "agentpoke: bad reply length %u\n", *len);
		return GOT_ERROR;
	}
	if ((r = recv_all(fd, body, *len, deadline)) <= 0)
		return r == 0 ? GOT_CLOSED : GOT_NOTHING;
	*type = body[0];
	return GOT_REPLY;
}

/* Prints what came back; returns the outcome. */
static enum outcome
report(int fd)
{
	enum outcome o;
	uint8_t type;
	uint32_t len;

	switch ((o = read_reply(fd, &type, &len))) {
	case GOT_REPLY: printf("reply %u %u\n", type, len); break;
	case GOT_CLOSED: printf("closed\n"); break;
	case GOT_NOTHING: printf("noreply\n"); break;
	case GOT_ERROR: exit(3);
	}
	fflush(stdout);
	return o;
}

/* Sends buf and reports the answer; "closed" if the send already fails. */
static enum outcome
exchange(int fd, const uint8_t *buf, size_t n)
{
	if (send_all(fd, buf, n) != 0) {
		printf("closed\n");
		fflush(stdout);
		return GOT_CLOSED;
	}
	return report(fd);
}

/* Decodes hex (spaces ignored) into a fresh buffer; NULL if malformed. */
static uint8_t *
unhex(const char *s, size_t *n)
{
	uint8_t *out;
	size_t o = 0;
	int hi = -1, v;

	if ((out = malloc(strlen(s) / 2 + 1)) == NULL)
		die("malloc");
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			continue;
		if ((v = hexval((unsigned char)*s)) < 0)
			goto bad;
		if (hi < 0) {
			hi = v;
		} else {
			out[o++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		goto bad;
	*n = o;
	return out;
bad:
	free(out);
	return NULL;
}

static void
random_bytes(uint8_t *p, size_t n)
{
	ssize_t r;
	int fd;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0)
		die("/dev/urandom");
	while (n > 0) {
		if ((r = read(fd, p, n)) <= 0)
			die("/dev/urandom");
		p += r;
		n -= (size_t)r;
	}
	close(fd);
}

/* Blocks until stdin has a line or is at its end (or fails). */
static void
wait_stdin_line(void)
{
	char c;
	ssize_t r;

	do {
		r = read(0, &c, 1);
	} while ((r > 0 && c != '\n') || (r < 0 && errno == EINTR));
}

static void
wait_stdin_eof(void)
{
	char buf[256];
	ssize_t r;

	do {
		r = read(0, buf, sizeof(buf));
	} while (r > 0 || (r < 0 && errno == EINTR));
}

static int
mode_hex(int fd, int argc, char **argv)
{
	uint8_t *buf;
	size_t n;
	int i;

	for (i = 0; i < argc; i++) {
		if ((buf = unhex(argv[i], &n)) == NULL || n == 0)
			usage();
		if (exchange(fd, buf, n) == GOT_CLOSED) {
			free(buf);
			break;
		}
		free(buf);
	}
	return 0;
}

static int
mode_lines(int fd)
{
	static char line[4 * MAX_FRAME];
	uint8_t *buf;
	size_t n;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if ((buf = unhex(line, &n)) == NULL) {
			fprintf(stderr, "agentpoke: bad hex line\n");
			return 3;
		}
		if (n == 0) {
			free(buf);
			continue;
		}
		if (exchange(fd, buf, n) == GOT_CLOSED) {
			free(buf);
			break;
		}
		free(buf);
	}
	return 0;
}

static int
mode_garbage(int fd, int argc, char **argv)
{
	uint8_t *buf;
	long n, type = SIGN_REQUEST;

	if (argc < 1 || argc > 2)
		usage();
	n = atol(argv[0]);
	if (argc == 2)
		type = atol(argv[1]);
	if (n < 0 || n > MAX_FRAME - 1 || type < 0 || type > 255)
		usage();
	if ((buf = malloc((size_t)n + 5)) == NULL)
		die("malloc");
	put_u32(buf, (uint32_t)n + 1);
	buf[4] = (uint8_t)type;
	random_bytes(buf + 5, (size_t)n);
	exchange(fd, buf, (size_t)n + 5);
	free(buf);
	return 0;
}

/*
 * Only the header of a frame one byte over the cap: the agent must judge
 * the length before any body arrives, so it closes while we send nothing.
 */
static int
mode_oversized(int fd)
{
	uint8_t hdr[5];

	put_u32(hdr, MAX_FRAME + 1);
	hdr[4] = REQUEST_IDENTITIES;
	exchange(fd, hdr, sizeof(hdr));
	return 0;
}

/* The largest frame allowed, of a type nobody knows: FAILURE, not a close. */
static int
mode_maxframe(int fd)
{
	uint8_t *buf;

	if ((buf = calloc(1, MAX_FRAME + 4)) == NULL)
		die("calloc");
	put_u32(buf, MAX_FRAME);
	buf[4] = 0xf0;
	exchange(fd, buf, MAX_FRAME + 4);
	free(buf);
	return 0;
}

static int
mode_truncated(int fd)
{
	uint8_t buf[4 + 1 + 4 + 8];

	/* The key string claims 64 bytes; the frame ends after 8. */
	put_u32(buf, sizeof(buf) - 4);
	buf[4] = SIGN_REQUEST;
	put_u32(buf + 5, 64);
	memset(buf + 9, 0x41, 8);
	exchange(fd, buf, sizeof(buf));
	return 0;
}

static int
mode_trailing(int fd)
{
	static const uint8_t buf[] = { 0, 0, 0, 2, REQUEST_IDENTITIES, 0 };

	exchange(fd, buf, sizeof(buf));
	return 0;
}

/* Appends an SSH string (length, bytes) at *p, moving *p on. */
static void
put_string(uint8_t **p, const void *s, size_t n)
{
	put_u32(*p, (uint32_t)n);
	memcpy(*p + 4, s, n);
	*p += 4 + n;
}

static int
mode_flood(int fd, int argc, char **argv)
{
	uint8_t buf[512], pub[32], priv[64], *p, type;
	unsigned long added = 0, refused = 0;
	long n = argc == 1 ? atol(argv[0]) : 0, i;
	size_t len;
	char comment[32];
	EVP_PKEY *k;
	uint32_t rlen;

	if (n < 1 || n > 100000)
		usage();
	for (i = 0; i < n; i++) {
		if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL) {
			fprintf(stderr, "agentpoke: keygen failed\n");
			exit(3);
		}
		len = 32;
		if (EVP_PKEY_get_raw_private_key(k, priv, &len) != 1 ||
		    len != 32 ||
		    EVP_PKEY_get_raw_public_key(k, pub, &len) != 1 ||
		    len != 32) {
			fprintf(stderr, "agentpoke: raw key failed\n");
			exit(3);
		}
		EVP_PKEY_free(k);
		/* OpenSSH's form: the 64-byte secret is seed then public. */
		memcpy(priv + 32, pub, 32);
		snprintf(comment, sizeof(comment), "flood-%ld", i);
		p = buf + 4;
		*p++ = ADD_IDENTITY;
		put_string(&p, "ssh-ed25519", 11);
		put_string(&p, pub, 32);
		put_string(&p, priv, 64);
		put_string(&p, comment, strlen(comment));
		put_u32(buf, (uint32_t)(p - buf - 4));
		if (send_all(fd, buf, (size_t)(p - buf)) != 0 ||
		    read_reply(fd, &type, &rlen) != GOT_REPLY) {
			printf("closed after %lu\n", added + refused);
			return 0;
		}
		added += type == AGENT_SUCCESS;
		refused += type == AGENT_FAILURE;
	}
	printf("added %lu refused %lu\n", added, refused);
	return 0;
}

static int
mode_empty(int fd)
{
	static const uint8_t buf[] = { 0, 0, 0, 0 };

	exchange(fd, buf, sizeof(buf));
	return 0;
}

static int
mode_drip(int fd, int argc, char **argv)
{
	static const uint8_t req[] = { 0, 0, 0, 1, REQUEST_IDENTITIES };
	long gap = argc > 0 ? atol(argv[0]) : 200;
	size_t i;

	if (gap < 1 || gap > 10000)
		usage();
	for (i = 0; i < sizeof(req); i++) {
		if (i > 0)
			sleep_ms(gap);
		if (i == sizeof(req) - 1) {
			printf("partial\n");
			fflush(stdout);
			wait_stdin_line();
		}
		if (send_all(fd, req + i, 1) != 0) {
			printf("closed\n");
			return 0;
		}
	}
	report(fd);
	return 0;
}

/*
 * Requests until the agent stops taking them: it answers in order and
 * reads no further while an answer cannot be written, so once our receive
 * buffer is full its reads stop and then our sends block.
 */
static int
mode_noread(int fd)
{
	static const uint8_t req[] = { 0, 0, 0, 1, REQUEST_IDENTITIES };
	uint8_t batch[512 * sizeof(req)];
	struct pollfd pfd = { fd, POLLOUT, 0 };
	long start = now_ms(), sent = 0, r;
	size_t i, off = 0;

	for (i = 0; i < sizeof(batch); i += sizeof(req))
		memcpy(batch + i, req, sizeof(req));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
		die("fcntl");
	while (now_ms() - start < STUFF_MAX_MS) {
		r = send(fd, batch + off, sizeof(batch) - off, MSG_NOSIGNAL);
		if (r > 0) {
			off = (off + (size_t)r) % sizeof(batch);
			sent += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			printf("closed\n");
			return 0;
		}
		if (r < 0 && errno != EAGAIN)
			die("send");
		r = poll(&pfd, 1, STUFF_IDLE_MS);
		if (r == 0)
			break; /* the agent has stopped reading us */
	}
	printf("stuffed %ld\n", sent / (long)sizeof(req));
	fflush(stdout);
	wait_stdin_eof();
	return 0;
}

static void
raise_fd_limit(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
			(long)rl.rlim_max >= want ?
		    (rlim_t)want :
		    rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Many connections at once.  The answers are collected with one poll over
 * all of them, so a slow agent makes this slow, never wrong.
 */
static int
mode_hold(const char *path, int argc, char **argv)
{
	static const uint8_t req[] = { 0, 0, 0, 1, REQUEST_IDENTITIES };
	struct pollfd *pfd;
	uint8_t(*hdr)[4];
	size_t *got;
	long n, i, answered = 0, closed = 0, deadline;
	ssize_t k;
	int r;

	if (argc != 1 || (n = atol(argv[0])) < 1 || n > 100000)
		usage();
	raise_fd_limit(n + 64);
	if ((pfd = calloc((size_t)n, sizeof(*pfd))) == NULL ||
	    (hdr = calloc((size_t)n, sizeof(*hdr))) == NULL ||
	    (got = calloc((size_t)n, sizeof(*got))) == NULL)
		die("calloc");
	for (i = 0; i < n; i++) {
		pfd[i].fd = connect_to(path);
		pfd[i].events = POLLIN;
	}
	printf("open %ld\n", n);
	fflush(stdout);
	wait_stdin_eof();
	for (i = 0; i < n; i++) {
		if (send_all(pfd[i].fd, req, sizeof(req)) != 0) {
			close(pfd[i].fd);
			pfd[i].fd = -1;
			closed++;
		}
	}
	/* Only the header is needed to count an answer; wait_ms in all. */
	deadline = now_ms() + wait_ms;
	while (answered + closed < n && now_ms() < deadline) {
		r = poll(pfd, (nfds_t)n, (int)(deadline - now_ms()));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll");
		for (i = 0; i < n && r > 0; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			r--;
			k = recv(pfd[i].fd, hdr[i] + got[i], 4 - got[i], 0);
			if (k < 0 && errno == EINTR)
				continue;
			if (k > 0 && (got[i] += (size_t)k) < 4)
				continue;
			if (k > 0 && hdr[i][0] == 0) /* a sane length */
				answered++;
			else
				closed++;
			close(pfd[i].fd);
			pfd[i].fd = -1;
		}
	}
	printf("answered %ld of %ld\n", answered, n);
	if (closed > 0)
		printf("closed %ld\n", closed);
	for (i = 0; i < n; i++) {
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	}
	free(pfd);
	free(hdr);
	free(got);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path, *mode;
	int opt, fd, rc;

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "+w:")) != -1) {
		switch (opt) {
		case 'w':
			wait_ms = atoi(optarg) * 1000;
			if (wait_ms <= 0 || wait_ms > 600000)
				usage();
			break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		usage();
	path = argv[0];
	mode = argv[1];
	argc -= 2;
	argv += 2;
	if (strcmp(mode, "hold") == 0)
		return mode_hold(path, argc, argv);
	fd = connect_to(path);
	if (strcmp(mode, "hex") == 0 && argc > 0)
		rc = mode_hex(fd, argc, argv);
	else if (strcmp(mode, "lines") == 0 && argc == 0)
		rc = mode_lines(fd);
	else if (strcmp(mode, "garbage") == 0)
		rc = mode_garbage(fd, argc, argv);
	else if (strcmp(mode, "oversized") == 0 && argc == 0)
		rc = mode_oversized(fd);
	else if (strcmp(mode, "maxframe") == 0 && argc == 0)
		rc = mode_maxframe(fd);
	else if (strcmp(mode, "truncated") == 0 && argc == 0)
		rc = mode_truncated(fd);
	else if (strcmp(mode, "trailing") == 0 && argc == 0)
		rc = mode_trailing(fd);
	else if (strcmp(mode, "empty-frame") == 0 && argc == 0)
		rc = mode_empty(fd);
	else if (strcmp(mode, "drip") == 0 && argc <= 1)
		rc = mode_drip(fd, argc, argv);
	else if (strcmp(mode, "noread") == 0 && argc == 0)
		rc = mode_noread(fd);
	else if (strcmp(mode, "flood") == 0)
		rc = mode_flood(fd, argc, argv);
	else
		usage();
	close(fd);
	return rc;
}
