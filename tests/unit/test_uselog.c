/*
 * uselog: the ring keeps the newest USELOG_CAP entries in order, hands
 * out those after a sequence number (at most max, the newest), and its
 * wire form decodes to what went in, control characters made harmless.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sserr.h"
#include "unit.h"
#include "uselog.h"
#include "wire.h"

static void
entry(struct uselog_entry *e, int i)
{
	memset(e, 0, sizeof(*e));
	e->time = 1000 + i;
	e->verdict = (uint8_t)(i % USE_NVERDICTS);
	e->forwarded = (uint8_t)(i & 1);
	snprintf(e->key, sizeof(e->key), "key-%d", i);
	snprintf(e->fp, sizeof(e->fp), "SHA256:%d", i);
	snprintf(e->what, sizeof(e->what), "ssh login as u%d@h", i);
	snprintf(e->route, sizeof(e->route), "hostb > u%d@hostc", i);
}

/* Decodes a whole answer; checks it holds entries first..last (seq). */
static void
check_answer(struct wire *w, uint64_t first, uint64_t last)
{
	struct uselog_entry e, want;
	uint32_t n, i;

	CHECK_EQ(wire_get_u32(w, &n), 0);
	CHECK_EQ(n, last >= first ? last - first + 1 : 0);
	for (i = 0; i < n; i++) {
		CHECK_EQ(uselog_decode(w, &e), 0);
		entry(&want, (int)(first + i));
		CHECK_EQ(e.seq, first + i);
		CHECK_EQ(e.time, want.time);
		CHECK_EQ(e.verdict, want.verdict);
		CHECK_EQ(e.forwarded, want.forwarded);
		CHECK(strcmp(e.key, want.key) == 0);
		CHECK(strcmp(e.fp, want.fp) == 0);
		CHECK(strcmp(e.what, want.what) == 0);
		CHECK(strcmp(e.route, want.route) == 0);
	}
	CHECK_EQ(wire_end(w), 0);
}

static void
test_ring(void)
{
	struct uselog *ul;
	struct uselog_entry e;
	struct wire w;
	int i;

	CHECK_EQ(uselog_new(&ul), 0);
	wire_init(&w, 4 << 20);
	CHECK_EQ(uselog_encode(ul, 0, USELOG_CAP, &w), 0);
	check_answer(&w, 1, 0);
	for (i = 1; i <= 10; i++) {
		entry(&e, i);
		CHECK_EQ(uselog_add(ul, &e), (uint64_t)i);
	}
	wire_reset(&w);
	CHECK_EQ(uselog_encode(ul, 0, USELOG_CAP, &w), 0);
	check_answer(&w, 1, 10);
	/* After seq 7; the newest 2 of all. */
	wire_reset(&w);
	CHECK_EQ(uselog_encode(ul, 7, USELOG_CAP, &w), 0);
	check_answer(&w, 8, 10);
	wire_reset(&w);
	CHECK_EQ(uselog_encode(ul, 0, 2, &w), 0);
	check_answer(&w, 9, 10);
	wire_reset(&w);
	CHECK_EQ(uselog_encode(ul, 10, USELOG_CAP, &w), 0);
	check_answer(&w, 1, 0);
	/* Past the bound the oldest go, and order holds across the wrap. */
	for (i = 11; i <= USELOG_CAP + 37; i++) {
		entry(&e, i);
		CHECK_EQ(uselog_add(ul, &e), (uint64_t)i);
	}
	wire_reset(&w);
	CHECK_EQ(uselog_encode(ul, 0, USELOG_CAP, &w), 0);
	check_answer(&w, 38, USELOG_CAP + 37);
	wire_reset(&w);
	CHECK_EQ(uselog_encode(ul, USELOG_CAP + 30, 5, &w), 0);
	check_answer(&w, USELOG_CAP + 33, USELOG_CAP + 37);
	wire_free(&w);
	uselog_free(ul);
}

static void
test_decode_defends(void)
{
	struct uselog_entry e;
	struct wire w, v;
	size_t i, n;

	wire_init(&w, 4096);
	CHECK_EQ(wire_put_u64(&w, 5), 0);
	CHECK_EQ(wire_put_u64(&w, 6), 0);
	CHECK_EQ(wire_put_u8(&w, 200), 0);
	CHECK_EQ(wire_put_u8(&w, 1), 0);
	CHECK_EQ(wire_put_cstring(&w, "a\033[2Jb\n"), 0);
	CHECK_EQ(wire_put_cstring(&w, "fp"), 0);
	CHECK_EQ(wire_put_string(&w, "x\0y", 3), 0);
	{
		char big[600];

		memset(big, 'r', sizeof(big));
		CHECK_EQ(wire_put_string(&w, big, sizeof(big)), 0);
	}
	n = wire_avail(&w);
	wire_view(&v, wire_ptr(&w), n);
	CHECK_EQ(uselog_decode(&v, &e), 0);
	/* Escapes and NULs cannot reach a terminal; long text is cut. */
	CHECK(strcmp(e.key, "a?[2Jb?") == 0);
	CHECK(strcmp(e.what, "x?y") == 0);
	CHECK_EQ(strlen(e.route), sizeof(e.route) - 1);
	CHECK(strcmp(uselog_verdict_name(e.verdict), "unknown") == 0);
	for (i = 0; i < n; i++) {
		wire_view(&v, wire_ptr(&w), i);
		CHECK(uselog_decode(&v, &e) != 0);
	}
	wire_free(&w);
}

int
main(void)
{
	RUN(test_ring);
	RUN(test_decode_defends);
	UNIT_DONE();
}
