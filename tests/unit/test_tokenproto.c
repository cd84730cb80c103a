/*
 * tokenproto: frames between the agent and a token helper, over a
 * socketpair: a round trip, a frame that arrives in pieces, the
 * timeout, the peer gone, lengths refused from the header alone, and
 * TOKEN_FAIL's body.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sserr.h"
#include "tokenproto.h"
#include "unit.h"
#include "wire.h"

#define INMAX (TOKENPROTO_MAX_FRAME + 4)

static int
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
		perror("  socketpair");
		sv[0] = sv[1] = -1;
		return -1;
	}
	return 0;
}

static void
unpair(int sv[2])
{
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void
test_round_trip(void)
{
	static const uint8_t body[] = "a signature request";
	struct wire in, b;
	uint8_t type;
	int sv[2];

	if (pair(sv) != 0) {
		CHECK(0);
		return;
	}
	wire_init(&in, INMAX);
	CHECK_EQ(tokenproto_send(sv[0], TOKEN_SIGN, body, sizeof(body)), 0);
	CHECK_EQ(tokenproto_recv(sv[1], 1000, &in, &type, &b), 0);
	CHECK_EQ(type, TOKEN_SIGN);
	CHECK(wire_avail(&b) == sizeof(body) &&
	    memcmp(wire_ptr(&b), body, sizeof(body)) == 0);
	/* An empty body; the other way round. */
	CHECK_EQ(tokenproto_send(sv[1], TOKEN_LOAD, NULL, 0), 0);
	CHECK_EQ(tokenproto_recv(sv[0], -1, &in, &type, &b), 0);
	CHECK_EQ(type, TOKEN_LOAD);
	CHECK_EQ(wire_avail(&b), 0);
	/* Over the cap: refused before a byte is written. */
	{
		uint8_t *big = calloc(1, TOKENPROTO_MAX_FRAME);

		if (big != NULL) {
			CHECK_EQ(tokenproto_send(sv[0], TOKEN_SIG, big,
				     TOKENPROTO_MAX_FRAME),
			    ERR_TOO_LONG);
			free(big);
		}
		CHECK_EQ(tokenproto_recv(sv[1], 0, &in, &type, &b),
		    ERR_TIMEOUT);
	}
	wire_free(&in);
	unpair(sv);
}

/* The largest frame, sent from another thread (it does not fit the
 * socket's buffer), arrives whole. */
struct bigsend {
	int fd;
	uint8_t *body;
	size_t len;
	int r;
};

static void *
bigsend_run(void *arg)
{
	struct bigsend *bs = arg;

	bs->r = tokenproto_send(bs->fd, TOKEN_KEYS, bs->body, bs->len);
	return NULL;
}

static void
test_largest_frame(void)
{
	struct bigsend bs;
	struct wire in, b;
	pthread_t th;
	uint8_t type;
	size_t i;
	int sv[2];

	if (pair(sv) != 0) {
		CHECK(0);
		return;
	}
	bs.fd = sv[0];
	bs.len = TOKENPROTO_MAX_FRAME - 1;
	bs.r = 1;
	if ((bs.body = malloc(bs.len)) == NULL) {
		unpair(sv);
		return;
	}
	for (i = 0; i < bs.len; i++)
		bs.body[i] = (uint8_t)(i * 7);
	wire_init(&in, INMAX);
	CHECK_EQ(pthread_create(&th, NULL, bigsend_run, &bs), 0);
	CHECK_EQ(tokenproto_recv(sv[1], 10000, &in, &type, &b), 0);
	pthread_join(th, NULL);
	CHECK_EQ(bs.r, 0);
	CHECK_EQ(type, TOKEN_KEYS);
	CHECK(wire_avail(&b) == bs.len &&
	    memcmp(wire_ptr(&b), bs.body, bs.len) == 0);
	free(bs.body);
	wire_free(&in);
	unpair(sv);
}

/* A frame written a byte at a time by another thread. */
struct trickle {
	int fd;
	const uint8_t *p;
	size_t n;
	long gap_ms;
};

static void *
trickle_run(void *arg)
{
	struct trickle *t = arg;
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (write(t->fd, t->p + i, 1) != 1)
			break;
		sleep_ms(t->gap_ms);
	}
	return NULL;
}

static void
test_in_pieces(void)
{
	static const uint8_t frame[] = { 0, 0, 0, 6, TOKEN_SIG, 'p', 'i', 'e',
		'c', 'e' };
	struct trickle t;
	struct wire in, b;
	pthread_t th;
	uint8_t type;
	size_t split;
	int sv[2];

	wire_init(&in, INMAX);
	/* Split before the call: part written, the rest a moment later. */
	for (split = 1; split < sizeof(frame); split++) {
		if (pair(sv) != 0) {
			CHECK(0);
			break;
		}
		CHECK_EQ(write(sv[0], frame, split), (ssize_t)split);
		t.fd = sv[0];
		t.p = frame + split;
		t.n = sizeof(frame) - split;
		t.gap_ms = 0;
		CHECK_EQ(pthread_create(&th, NULL, trickle_run, &t), 0);
		CHECK_EQ(tokenproto_recv(sv[1], 5000, &in, &type, &b), 0);
		pthread_join(th, NULL);
		CHECK_EQ(type, TOKEN_SIG);
		CHECK(wire_avail(&b) == 5 &&
		    memcmp(wire_ptr(&b), "piece", 5) == 0);
		unpair(sv);
	}
	/* A byte at a time, with gaps, within a bound. */
	if (pair(sv) == 0) {
		t.fd = sv[0];
		t.p = frame;
		t.n = sizeof(frame);
		t.gap_ms = 5;
		CHECK_EQ(pthread_create(&th, NULL, trickle_run, &t), 0);
		CHECK_EQ(tokenproto_recv(sv[1], 5000, &in, &type, &b), 0);
		pthread_join(th, NULL);
		CHECK_EQ(type, TOKEN_SIG);
		CHECK_EQ(wire_avail(&b), 5);
		unpair(sv);
	}
	wire_free(&in);
}

static void
test_timeout_and_peer_gone(void)
{
	static const uint8_t frame[] = { 0, 0, 0, 3, TOKEN_SIG, 'a', 'b' };
	struct wire in, b;
	uint8_t type;
	size_t n;
	int sv[2];

	wire_init(&in, INMAX);
	if (pair(sv) != 0) {
		CHECK(0);
		wire_free(&in);
		return;
	}
	/* Nothing at all, then all but the last byte. */
	CHECK_EQ(tokenproto_recv(sv[1], 0, &in, &type, &b), ERR_TIMEOUT);
	CHECK_EQ(tokenproto_recv(sv[1], 50, &in, &type, &b), ERR_TIMEOUT);
	CHECK_EQ(write(sv[0], frame, sizeof(frame) - 1),
	    (ssize_t)sizeof(frame) - 1);
	CHECK_EQ(tokenproto_recv(sv[1], 50, &in, &type, &b), ERR_TIMEOUT);
	CHECK_EQ(wire_avail(&b), 0);
	unpair(sv);

	/* The other side closes: before a frame, and inside one. */
	for (n = 0; n < sizeof(frame); n++) {
		if (pair(sv) != 0) {
			CHECK(0);
			break;
		}
		if (n > 0)
			CHECK_EQ(write(sv[0], frame, n), (ssize_t)n);
		close(sv[0]);
		sv[0] = -1;
		CHECK_EQ(tokenproto_recv(sv[1], 1000, &in, &type, &b),
		    ERR_NO_SERVER);
		CHECK_EQ(tokenproto_recv(sv[1], -1, &in, &type, &b),
		    ERR_NO_SERVER);
		unpair(sv);
	}
	/* Sending to a side that is gone: an error, not SIGPIPE. */
	if (pair(sv) == 0) {
		close(sv[1]);
		sv[1] = -1;
		CHECK_EQ(tokenproto_send(sv[0], TOKEN_LOAD, NULL, 0),
		    ERR_SYSTEM);
		unpair(sv);
	}
	wire_free(&in);
}

/* Lengths refused from the header alone: no body is waited for. */
static void
test_bad_lengths(void)
{
	static const uint32_t lens[] = { TOKENPROTO_MAX_FRAME + 1, 0x7fffffff,
		0xffffffff };
	struct wire in, b;
	uint8_t hdr[5], type;
	size_t i;
	int sv[2];

	wire_init(&in, INMAX);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		if (pair(sv) != 0) {
			CHECK(0);
			break;
		}
		put_be32(hdr, lens[i]);
		hdr[4] = TOKEN_SIG;
		CHECK_EQ(write(sv[0], hdr, 5), 5);
		CHECK_EQ(tokenproto_recv(sv[1], 1000, &in, &type, &b),
		    ERR_TOO_LONG);
		unpair(sv);
	}
	/* A frame bigger than the caller's buffer, though under the cap. */
	if (pair(sv) == 0) {
		struct wire small;
		uint8_t body[100] = { 0 };

		wire_init(&small, 64);
		CHECK_EQ(tokenproto_send(sv[0], TOKEN_SIG, body, sizeof(body)),
		    0);
		CHECK_EQ(tokenproto_recv(sv[1], 1000, &small, &type, &b),
		    ERR_TOO_LONG);
		wire_free(&small);
		unpair(sv);
	}
	/* An empty frame (no type): malformed. */
	if (pair(sv) == 0) {
		put_be32(hdr, 0);
		CHECK_EQ(write(sv[0], hdr, 4), 4);
		CHECK(tokenproto_recv(sv[1], 1000, &in, &type, &b) < 0);
		unpair(sv);
	}
	wire_free(&in);
}

static void
test_fail_body(void)
{
	struct wire w;
	char msg[16];
	uint32_t codes[] = { 0, (uint32_t)-ERR_LAST + 1, 1000, 0xffffffff };
	size_t i;

	wire_init(&w, 1024);
	CHECK_EQ(wire_put_u32(&w, (uint32_t)-ERR_PIN), 0);
	CHECK_EQ(wire_put_cstring(&w, "wrong PIN"), 0);
	memset(msg, 'x', sizeof(msg));
	CHECK_EQ(tokenproto_fail(&w, msg, sizeof(msg)), ERR_PIN);
	CHECK(strcmp(msg, "wrong PIN") == 0);
	/* Every code of the table, the last one included. */
	wire_reset(&w);
	CHECK_EQ(wire_put_u32(&w, (uint32_t)-ERR_LAST), 0);
	CHECK_EQ(wire_put_cstring(&w, ""), 0);
	CHECK_EQ(tokenproto_fail(&w, msg, sizeof(msg)), ERR_LAST);
	CHECK_EQ(msg[0], '\0');
	wire_reset(&w);
	CHECK_EQ(wire_put_u32(&w, 1), 0);
	CHECK_EQ(wire_put_cstring(&w, "x"), 0);
	CHECK_EQ(tokenproto_fail(&w, msg, sizeof(msg)), -1);
	/* A long message is cut, NUL-terminated. */
	wire_reset(&w);
	CHECK_EQ(wire_put_u32(&w, (uint32_t)-ERR_DENIED), 0);
	CHECK_EQ(wire_put_cstring(&w, "0123456789abcdefghijklmnop"), 0);
	CHECK_EQ(tokenproto_fail(&w, msg, sizeof(msg)), ERR_DENIED);
	CHECK(strcmp(msg, "0123456789abcde") == 0);
	/* One exactly as long as the buffer: cut by one, nothing past it. */
	{
		char buf[32];

		memset(buf, 'x', sizeof(buf));
		wire_reset(&w);
		CHECK_EQ(wire_put_u32(&w, (uint32_t)-ERR_DENIED), 0);
		CHECK_EQ(wire_put_cstring(&w, "0123456789abcdef"), 0);
		CHECK_EQ(tokenproto_fail(&w, buf, 16), ERR_DENIED);
		CHECK(strcmp(buf, "0123456789abcde") == 0);
		CHECK_EQ(buf[16], 'x');
	}
	/* A code outside the table is the helper's bug. */
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		wire_reset(&w);
		CHECK_EQ(wire_put_u32(&w, codes[i]), 0);
		CHECK_EQ(wire_put_cstring(&w, "odd"), 0);
		CHECK_EQ(tokenproto_fail(&w, msg, sizeof(msg)), ERR_PROTOCOL);
	}
	/* A body cut short. */
	wire_reset(&w);
	CHECK_EQ(wire_put_u32(&w, (uint32_t)-ERR_PIN), 0);
	CHECK_EQ(tokenproto_fail(&w, msg, sizeof(msg)), ERR_PROTOCOL);
	CHECK_EQ(msg[0], '\0');
	wire_reset(&w);
	CHECK_EQ(wire_put_u8(&w, 0), 0);
	CHECK_EQ(tokenproto_fail(&w, msg, sizeof(msg)), ERR_PROTOCOL);
	wire_free(&w);
}

int
main(void)
{
	/* A send to a closed peer must not kill the test either. */
	signal(SIGPIPE, SIG_IGN);
	RUN(test_round_trip);
	RUN(test_largest_frame);
	RUN(test_in_pieces);
	RUN(test_timeout_and_peer_gone);
	RUN(test_bad_lengths);
	RUN(test_fail_body);
	UNIT_DONE();
}
