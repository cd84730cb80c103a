/*
 * agentload: a load generator for SSH agents (ours and OpenSSH's).
 *
 * N clients, each on its own connection to the agent socket, send one
 * request, wait for the reply and send the next, for a fixed time.  All N
 * connections are driven by one epoll loop in one thread, so the generator
 * costs two system calls per operation and no context switches of its own;
 * on a 2-core machine shared with the agent that keeps it out of the way.
 * With -l a separate thread plays an interactive user: one connection
 * asking for the key list every millisecond or so, its latencies kept
 * apart, to show how long a `ssh-add -l` waits behind a signing storm.
 *
 * Only completions before the deadline count; the requests in flight at
 * the deadline are dropped.  When a probe is running the storm goes on
 * until the probe's last request has come back, so that request sees the
 * same load as the others.
 *
 * Output is one line of key=value pairs on stdout; diagnostics go to
 * stderr.  Exit codes: 0 all replies good, 1 some replies were FAILURE or
 * malformed (the line is still printed), 2 no agent to talk to, 3 any
 * other failure, 64 bad command line.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

enum {
	EXIT_OK = 0,
	EXIT_NEGATIVE = 1,
	EXIT_NO_SERVER = 2,
	EXIT_ERROR = 3,
	EXIT_USAGE = 64
};

/* Agent protocol message numbers (draft-miller-ssh-agent). */
enum {
	MSG_FAILURE = 5,
	MSG_REQUEST_IDENTITIES = 11,
	MSG_IDENTITIES_ANSWER = 12,
	MSG_SIGN_REQUEST = 13,
	MSG_SIGN_RESPONSE = 14
};

#define FRAME_MAX (256 * 1024) /* OpenSSH's AGENT_MAX_LEN */
#define READ_CHUNK 16384
#define MAX_CLIENTS 4096
#define CONNECT_TIMEOUT_S 5
#define PROBE_REPLY_TIMEOUT_MS 30000
#define PUBFILE_MAX (64 * 1024)
#define STALL_MIN_NS 1000000000u

enum op { OP_SIGN, OP_LIST };

/* How one reply was judged. */
enum verdict { REPLY_OK, REPLY_FAILURE, REPLY_BAD };

/*
 * Latency histogram in nanoseconds, log-linear: values below 128 ns have
 * a bucket each, above that every power of two is split into 64 buckets,
 * so a percentile is off by at most 1/64 (1.6 %).  Fixed size, no
 * allocation while the clock runs.
 */
#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_NS ((UINT64_C(1) << 40) - 1) /* ~18 minutes */
#define HIST_BUCKETS (HIST_SUB * 36)

struct hist {
	uint64_t n[HIST_BUCKETS];
	uint64_t count;
	uint64_t max;
};

struct bench {
	const char *sock;
	enum op op;
	int nclients;
	double secs;
	uint32_t flags;
	size_t datalen;
	int probe;
	long probe_pause_us;

	char *keytype;	       /* from the .pub file */
	const char *sigalg;    /* expected signature name, NULL: not checked */
	struct wire req;       /* the one request every client sends */
	struct wire probe_req; /* REQUEST_IDENTITIES */

	uint64_t start_ns;
	uint64_t deadline_ns;

	/* Storm results, touched only by the epoll thread. */
	struct hist lat;
	uint64_t ops, failures, bad, disconnects, stalled;

	/* Probe results, touched only by the probe thread until it ends. */
	struct hist probe_lat;
	uint64_t probe_ops, probe_failures, probe_bad;
	int probe_fd;
	atomic_int probe_done;
};

struct client {
	int fd;
	size_t woff;  /* bytes of the request already sent */
	int want_out; /* EPOLLOUT armed */
	uint64_t t0;
	struct wire rx;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t
hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v > HIST_MAX_NS)
		v = HIST_MAX_NS;
	if (v < 2 * HIST_SUB)
		return (size_t)v;
	msb = 63 - (unsigned)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	/* v >> shift lies in [64, 128): the 64 sub-buckets of this octave. */
	return ((size_t)shift << HIST_SUB_BITS) + (size_t)(v >> shift);
}

static void
hist_add(struct hist *h, uint64_t v)
{
	h->n[hist_index(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

/* The value at quantile q (0..1), as the middle of its bucket; 0 if empty. */
static uint64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0, low, width, mid;
	size_t i;
	unsigned shift;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)(q * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->n[i];
		if (seen >= rank)
			break;
	}
	if (i < 2 * HIST_SUB)
		return i;
	shift = (unsigned)(i >> HIST_SUB_BITS) - 1;
	low = (uint64_t)(i - ((size_t)shift << HIST_SUB_BITS)) << shift;
	width = UINT64_C(1) << shift;
	mid = low + width / 2;
	return mid > h->max ? h->max : mid;
}

static double
us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: agentload -s socket [-o sign|list] [-k key.pub]\n"
	    "                 [-f flags] [-c clients] [-d seconds]\n"
	    "                 [-n databytes] [-l] [-p probe-pause-us]\n"
	    "  -o sign   SIGN_REQUEST with the key of -k (default)\n"
	    "  -o list   REQUEST_IDENTITIES\n"
	    "  -f flags  sign flags: 2 rsa-sha2-256, 4 rsa-sha2-512\n"
	    "  -l        also run one REQUEST_IDENTITIES probe client and\n"
	    "            report its latencies as probe_*\n");
}

/* Decodes standard base64 (padding optional); returns 0 or -1. */
static int
b64_decode(const char *s, size_t slen, struct wire *out)
{
	uint32_t acc = 0;
	int bits = 0, pad = 0;
	size_t i;
	int v;
	char c;

	for (i = 0; i < slen; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else if (c == '=') {
			pad++;
			continue;
		} else
			return -1;
		if (pad)
			return -1; /* data after padding */
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (wire_put_u8(out, (uint8_t)(acc >> bits)) != 0)
				return -1;
		}
	}
	/* Leftover bits must be zero padding, and at most two '='. */
	if (bits >= 6 || pad > 2 || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return 0;
}

/*
 * Reads an OpenSSH public key line ("type base64 [comment]") into blob and
 * *type (malloc'd); checks that the blob names the same type.
 */
static int
load_pubkey(const char *path, struct wire *blob, char **type)
{
	char *buf = NULL, *p, *t, *b;
	size_t n = 0, tlen, blen;
	struct wire v;
	FILE *f = NULL;
	int ret = -1;

	*type = NULL;
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "agentload: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if ((buf = malloc(PUBFILE_MAX + 1)) == NULL)
		goto out;
	n = fread(buf, 1, PUBFILE_MAX, f);
	buf[n] = '\0';
	p = buf + strspn(buf, " \t");
	t = p;
	tlen = strcspn(t, " \t\r\n");
	p = t + tlen;
	p += strspn(p, " \t");
	b = p;
	blen = strcspn(b, " \t\r\n");
	if (tlen == 0 || blen == 0 || b64_decode(b, blen, blob) != 0) {
		fprintf(stderr, "agentload: %s: not an OpenSSH public key\n",
		    path);
		goto out;
	}
	t[tlen] = '\0';
	wire_view(&v, wire_ptr(blob), wire_avail(blob));
	if (wire_get_string_eq(&v, t) != 0) {
		fprintf(stderr, "agentload: %s: key blob is not a %s key\n",
		    path, t);
		goto out;
	}
	if ((*type = strdup(t)) == NULL)
		goto out;
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	return ret;
}

/* The signature algorithm an agent must answer with, if we can tell. */
static const char *
expected_sigalg(const char *keytype, uint32_t flags)
{
	static const char *const plain[] = {
		"ssh-ed25519",
		"ecdsa-sha2-nistp256",
		"ecdsa-sha2-nistp384",
		"ecdsa-sha2-nistp521",
	};
	size_t i;

	if (strcmp(keytype, "ssh-rsa") == 0 ||
	    strcmp(keytype, "ssh-rsa-cert-v01@openssh.com") == 0) {
		if (flags & 4)
			return "rsa-sha2-512";
		if (flags & 2)
			return "rsa-sha2-256";
		return "ssh-rsa";
	}
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (strcmp(keytype, plain[i]) == 0)
			return plain[i];
	}
	return NULL;
}

/* Frames a request: uint32 length, then the message built by the caller. */
static int
build_sign_request(struct bench *b, const struct wire *blob)
{
	uint8_t *data = NULL;
	size_t got = 0, at;
	ssize_t r;
	int ret = -1;

	if ((data = malloc(b->datalen)) == NULL)
		goto out;
	while (got < b->datalen) {
		r = getrandom(data + got, b->datalen - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		got += (size_t)r;
	}
	if (wire_len_open(&b->req, &at) != 0 ||
	    wire_put_u8(&b->req, MSG_SIGN_REQUEST) != 0 ||
	    wire_put_string(&b->req, wire_ptr(blob), wire_avail(blob)) != 0 ||
	    wire_put_string(&b->req, data, b->datalen) != 0 ||
	    wire_put_u32(&b->req, b->flags) != 0 ||
	    wire_len_close(&b->req, at) != 0)
		goto out;
	ret = 0;
out:
	free(data);
	return ret;
}

static int
build_list_request(struct wire *w)
{
	if (wire_put_u32(w, 1) != 0 ||
	    wire_put_u8(w, MSG_REQUEST_IDENTITIES) != 0)
		return -1;
	return 0;
}

/* Judges one reply body (the frame without its length). */
static enum verdict
check_reply(const struct bench *b, enum op op, const uint8_t *p, size_t n)
{
	struct wire w, sig;
	const uint8_t *s;
	size_t slen;
	uint32_t nkeys, i;
	uint8_t type;

	wire_view(&w, p, n);
	if (wire_get_u8(&w, &type) != 0)
		return REPLY_BAD;
	if (type == MSG_FAILURE)
		return wire_end(&w) == 0 ? REPLY_FAILURE : REPLY_BAD;
	if (op == OP_LIST) {
		if (type != MSG_IDENTITIES_ANSWER ||
		    wire_get_u32(&w, &nkeys) != 0)
			return REPLY_BAD;
		for (i = 0; i < nkeys; i++) {
			if (wire_get_string(&w, &s, &slen) != 0 ||
			    wire_get_string(&w, &s, &slen) != 0)
				return REPLY_BAD;
		}
		return wire_end(&w) == 0 ? REPLY_OK : REPLY_BAD;
	}
	if (type != MSG_SIGN_RESPONSE || wire_get_string_wire(&w, &sig) != 0 ||
	    wire_end(&w) != 0)
		return REPLY_BAD;
	if (b->sigalg != NULL && wire_get_string_eq(&sig, b->sigalg) != 0)
		return REPLY_BAD;
	if (b->sigalg == NULL && wire_get_string(&sig, &s, &slen) != 0)
		return REPLY_BAD;
	if (wire_get_string(&sig, &s, &slen) != 0 || slen == 0 ||
	    wire_end(&sig) != 0)
		return REPLY_BAD;
	return REPLY_OK;
}

/*
 * Connects to the agent socket; a full listen backlog would make a plain
 * connect wait forever, so SO_SNDTIMEO (which Linux applies to unix
 * connects) bounds it.  Returns the fd or -1.
 */
static int
dial(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { CONNECT_TIMEOUT_S, 0 };
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/*
 * If rx holds a whole frame, points *body and *n at it and returns 1; 0 if
 * more bytes are needed; -1 if the peer broke framing (too long, or more
 * than the one reply we asked for).
 */
static int
frame_ready(const struct wire *rx, const uint8_t **body, size_t *n)
{
	uint32_t len;

	if (wire_peek_u32(rx, &len) != 0)
		return 0;
	if (len == 0 || len > FRAME_MAX)
		return -1;
	if (wire_avail(rx) - 4 < len)
		return 0;
	if (wire_avail(rx) - 4 > len)
		return -1;
	*body = wire_ptr(rx) + 4;
	*n = len;
	return 1;
}

/* ---- the probe thread ---------------------------------------------- */

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = send(fd, p, n, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads one whole frame into rx within timeout_ms; 0 or -1. */
static int
read_frame(int fd, struct wire *rx, int timeout_ms, const uint8_t **body,
    size_t *n)
{
	uint64_t until = now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct pollfd pfd = { fd, POLLIN, 0 };
	uint8_t *p;
	ssize_t r;
	int ready, left;

	for (;;) {
		if ((ready = frame_ready(rx, body, n)) != 0)
			return ready > 0 ? 0 : -1;
		left = (int)(((int64_t)until - (int64_t)now_ns()) / 1000000);
		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			return -1;
		if (wire_reserve(rx, READ_CHUNK, &p) != 0)
			return -1;
		r = recv(fd, p, READ_CHUNK, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			return -1;
		wire_commit(rx, (size_t)r);
	}
}

static void *
probe_main(void *arg)
{
	struct bench *b = arg;
	struct timespec pause = { b->probe_pause_us / 1000000,
		(b->probe_pause_us % 1000000) * 1000 };
	struct wire rx;
	const uint8_t *body;
	size_t n;
	uint64_t t0, t1;

	wire_init(&rx, FRAME_MAX + 4);
	while ((t0 = now_ns()) < b->deadline_ns) {
		if (write_all(b->probe_fd, wire_ptr(&b->probe_req),
			wire_avail(&b->probe_req)) != 0 ||
		    read_frame(b->probe_fd, &rx, PROBE_REPLY_TIMEOUT_MS, &body,
			&n) != 0) {
			fprintf(stderr, "agentload: probe connection failed\n");
			b->probe_bad++;
			break;
		}
		t1 = now_ns();
		switch (check_reply(b, OP_LIST, body, n)) {
		case REPLY_OK:
			hist_add(&b->probe_lat, t1 - t0);
			b->probe_ops++;
			break;
		case REPLY_FAILURE: b->probe_failures++; break;
		case REPLY_BAD: b->probe_bad++; break;
		}
		wire_reset(&rx);
		if (b->probe_pause_us > 0)
			nanosleep(&pause, NULL);
	}
	wire_free(&rx);
	atomic_store(&b->probe_done, 1);
	return NULL;
}

/* ---- the storm: N connections in one epoll loop --------------------- */

static void
client_drop(struct bench *b, int ep, struct client *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	b->disconnects++;
}

static int
client_arm(int ep, struct client *c, int want_out)
{
	struct epoll_event ev;

	if (c->want_out == want_out)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0);
	ev.data.ptr = c;
	c->want_out = want_out;
	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Sends what is left of the request; arms EPOLLOUT if the socket is full. */
static int
client_flush(const struct bench *b, int ep, struct client *c)
{
	size_t len = wire_avail(&b->req);
	ssize_t r;

	while (c->woff < len) {
		r = send(c->fd, wire_ptr(&b->req) + c->woff, len - c->woff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return client_arm(ep, c, 1);
		if (r <= 0)
			return -1;
		c->woff += (size_t)r;
	}
	return client_arm(ep, c, 0);
}

static int
client_send(const struct bench *b, int ep, struct client *c)
{
	c->woff = 0;
	c->t0 = now_ns();
	return client_flush(b, ep, c);
}

/* Reads what has arrived; on a whole reply, scores it and sends again. */
static int
client_read(struct bench *b, int ep, struct client *c)
{
	const uint8_t *body;
	uint8_t *p;
	size_t n;
	ssize_t r;
	uint64_t t1;
	int ready;

	if (wire_reserve(&c->rx, READ_CHUNK, &p) != 0)
		return -1;
	r = recv(c->fd, p, READ_CHUNK, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0)
		return -1;
	wire_commit(&c->rx, (size_t)r);
	if ((ready = frame_ready(&c->rx, &body, &n)) <= 0)
		return ready;
	if (c->woff < wire_avail(&b->req))
		return -1; /* a reply before the whole request */
	t1 = now_ns();
	/* Past the deadline the storm only keeps the probe company. */
	if (t1 < b->deadline_ns) {
		switch (check_reply(b, b->op, body, n)) {
		case REPLY_OK:
			hist_add(&b->lat, t1 - c->t0);
			b->ops++;
			break;
		case REPLY_FAILURE: b->failures++; break;
		case REPLY_BAD: b->bad++; break;
		}
	}
	wire_reset(&c->rx);
	return client_send(b, ep, c);
}

static int
storm(struct bench *b, struct client *cl)
{
	struct epoll_event evs[64];
	struct epoll_event ev;
	pthread_t probe_thread;
	int probe_started = 0, ep = -1, alive, i, n, timeout, ret = -1;
	uint64_t now, stall;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto out;
	for (i = 0; i < b->nclients; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &cl[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cl[i].fd, &ev) != 0)
			goto out;
	}
	b->start_ns = now_ns();
	b->deadline_ns = b->start_ns + (uint64_t)(b->secs * 1e9);
	if (b->probe) {
		if (pthread_create(&probe_thread, NULL, probe_main, b) != 0)
			goto out;
		probe_started = 1;
	}
	for (i = 0; i < b->nclients; i++) {
		if (client_send(b, ep, &cl[i]) != 0)
			client_drop(b, ep, &cl[i]);
	}
	alive = b->nclients - (int)b->disconnects;
	while (alive > 0) {
		now = now_ns();
		if (now >= b->deadline_ns) {
			if (!probe_started || atomic_load(&b->probe_done))
				break;
			timeout = 10; /* poll for the probe's end */
		} else
			timeout = (int)((b->deadline_ns - now + 999999) /
			    1000000);
		n = epoll_wait(ep, evs, 64, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		for (i = 0; i < n; i++) {
			struct client *c = evs[i].data.ptr;
			int r = 0;

			if (c->fd < 0)
				continue;
			if (evs[i].events & EPOLLOUT)
				r = client_flush(b, ep, c);
			if (r == 0 &&
			    (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				r = client_read(b, ep, c);
			if (r != 0) {
				client_drop(b, ep, c);
				alive--;
			}
		}
	}
	/*
	 * A client still waiting at the deadline for a request sent over half
	 * the run (and at least a second) earlier is stuck, not slow: an agent
	 * that stops answering a connection must not pass as a slow one.
	 */
	stall = (uint64_t)(b->secs * 1e9 / 2);
	if (stall < STALL_MIN_NS)
		stall = STALL_MIN_NS;
	for (i = 0; i < b->nclients; i++) {
		if (cl[i].fd >= 0 && cl[i].t0 + stall < b->deadline_ns)
			b->stalled++;
	}
	ret = 0;
out:
	if (ret != 0)
		fprintf(stderr, "agentload: %s\n", strerror(errno));
	if (probe_started)
		pthread_join(probe_thread, NULL);
	if (ep >= 0)
		close(ep);
	return ret;
}

static int
parse_long(const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 0);
	return errno == 0 && end != s && *end == '\0' && *v >= lo && *v <= hi;
}

int
main(int argc, char **argv)
{
	struct bench *b = NULL;
	struct client *cl = NULL;
	struct wire blob;
	struct rusage ru;
	const char *keyfile = NULL;
	char *end;
	double cpu, wall;
	long v;
	int ch, i, ret = EXIT_ERROR;

	wire_init(&blob, 64 * 1024);
	if ((b = calloc(1, sizeof(*b))) == NULL)
		goto out;
	b->op = OP_SIGN;
	b->nclients = 1;
	b->secs = 3.0;
	b->datalen = 200;
	b->probe_pause_us = 1000;
	b->probe_fd = -1;
	wire_init(&b->req, FRAME_MAX);
	wire_init(&b->probe_req, 16);
	while ((ch = getopt(argc, argv, "c:d:f:k:ln:o:p:s:")) != -1) {
		switch (ch) {
		case 'c':
			if (!parse_long(optarg, 1, MAX_CLIENTS, &v))
				goto usage;
			b->nclients = (int)v;
			break;
		case 'd':
			b->secs = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || !(b->secs > 0) ||
			    b->secs > 86400)
				goto usage;
			break;
		case 'f':
			if (!parse_long(optarg, 0, UINT32_MAX, &v))
				goto usage;
			b->flags = (uint32_t)v;
			break;
		case 'k': keyfile = optarg; break;
		case 'l': b->probe = 1; break;
		case 'n':
			if (!parse_long(optarg, 1, 65536, &v))
				goto usage;
			b->datalen = (size_t)v;
			break;
		case 'o':
			if (strcmp(optarg, "sign") == 0)
				b->op = OP_SIGN;
			else if (strcmp(optarg, "list") == 0)
				b->op = OP_LIST;
			else
				goto usage;
			break;
		case 'p':
			if (!parse_long(optarg, 0, 1000000, &v))
				goto usage;
			b->probe_pause_us = v;
			break;
		case 's': b->sock = optarg; break;
		default: goto usage;
		}
	}
	if (optind != argc || b->sock == NULL ||
	    (b->op == OP_SIGN && keyfile == NULL))
		goto usage;

	if (build_list_request(&b->probe_req) != 0)
		goto out;
	if (b->op == OP_LIST) {
		if (build_list_request(&b->req) != 0)
			goto out;
	} else {
		if (load_pubkey(keyfile, &blob, &b->keytype) != 0)
			goto out;
		b->sigalg = expected_sigalg(b->keytype, b->flags);
		if (build_sign_request(b, &blob) != 0)
			goto out;
	}

	if ((cl = calloc((size_t)b->nclients, sizeof(*cl))) == NULL)
		goto out;
	for (i = 0; i < b->nclients; i++)
		cl[i].fd = -1;
	/* Every connection is up before the clock starts. */
	for (i = 0; i < b->nclients; i++) {
		wire_init(&cl[i].rx, FRAME_MAX + 4);
		if ((cl[i].fd = dial(b->sock)) < 0) {
			fprintf(stderr,
			    "agentload: connect %s (client %d): "
			    "%s\n",
			    b->sock, i, strerror(errno));
			ret = EXIT_NO_SERVER;
			goto out;
		}
	}
	if (b->probe && (b->probe_fd = dial(b->sock)) < 0) {
		fprintf(stderr, "agentload: connect %s (probe): %s\n", b->sock,
		    strerror(errno));
		ret = EXIT_NO_SERVER;
		goto out;
	}

	if (storm(b, cl) != 0)
		goto out;
	wall = (double)(now_ns() - b->start_ns) / 1e9;
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;

	printf("op=%s clients=%d ops=%llu secs=%.2f ops_per_s=%.1f "
	       "p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f "
	       "errors=%llu failures=%llu bad=%llu disconnects=%llu "
	       "stalled=%llu gen_cpu_pct=%.0f",
	    b->op == OP_SIGN ? "sign" : "list", b->nclients,
	    (unsigned long long)b->ops, b->secs, (double)b->ops / b->secs,
	    us(hist_quantile(&b->lat, 0.50)), us(hist_quantile(&b->lat, 0.90)),
	    us(hist_quantile(&b->lat, 0.99)), us(b->lat.max),
	    (unsigned long long)(b->failures + b->bad + b->disconnects +
		b->stalled),
	    (unsigned long long)b->failures, (unsigned long long)b->bad,
	    (unsigned long long)b->disconnects, (unsigned long long)b->stalled,
	    100.0 * cpu / wall);
	if (b->probe)
		printf(" probe_ops=%llu probe_p50_us=%.0f probe_p99_us=%.0f "
		       "probe_max_us=%.0f probe_errors=%llu",
		    (unsigned long long)b->probe_ops,
		    us(hist_quantile(&b->probe_lat, 0.50)),
		    us(hist_quantile(&b->probe_lat, 0.99)),
		    us(b->probe_lat.max),
		    (unsigned long long)(b->probe_failures + b->probe_bad));
	printf("\n");
	fflush(stdout);
	ret = b->failures + b->bad + b->disconnects + b->stalled +
		    b->probe_failures + b->probe_bad ==
		0 ?
	    EXIT_OK :
	    EXIT_NEGATIVE;
	goto out;
usage:
	usage();
	ret = EXIT_USAGE;
out:
	if (cl != NULL) {
		for (i = 0; i < b->nclients; i++) {
			if (cl[i].fd >= 0)
				close(cl[i].fd);
			wire_free(&cl[i].rx);
		}
		free(cl);
	}
	if (b != NULL) {
		if (b->probe_fd >= 0)
			close(b->probe_fd);
		wire_free(&b->req);
		wire_free(&b->probe_req);
		free(b->keytype);
	}
	free(b);
	wire_free(&blob);
	return ret;
}
