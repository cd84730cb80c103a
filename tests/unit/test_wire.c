/*
 * wire: every getter on exact, truncated and malformed input; a failed
 * get consumes nothing and zeroes its outputs; writers, growth, the size
 * limit, and the reserve/commit/consume/compact cycle of a stream buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sserr.h"
#include "unit.h"
#include "wire.h"

static const uint8_t junk[1] = { 0x5a };

enum getter {
	G_U8,
	G_U32,
	G_U64,
	G_PEEK,
	G_BYTES,
	G_STRING,
	G_SWIRE,
	G_CSTRING,
	G_EQ,
	G_MPINT,
	G_MPINT0,
	G_COUNT
};

static const char *const getter_name[G_COUNT] = { "u8", "u32", "u64",
	"peek_u32", "bytes", "string", "string_wire", "cstring", "string_eq",
	"mpint", "mpint(zero)" };

/* A valid encoding for each getter, and how much a success consumes. */
static const struct {
	uint8_t b[16];
	size_t len, consumed;
} valid[G_COUNT] = {
	[G_U8] = { { 0x81 }, 1, 1 },
	[G_U32] = { { 1, 2, 3, 4 }, 4, 4 },
	[G_U64] = { { 1, 2, 3, 4, 5, 6, 7, 8 }, 8, 8 },
	[G_PEEK] = { { 0xde, 0xad, 0xbe, 0xef }, 4, 0 },
	[G_BYTES] = { { 'a', 'b', 'c', 'd', 'e' }, 5, 5 },
	[G_STRING] = { { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' }, 9, 9 },
	[G_SWIRE] = { { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' }, 9, 9 },
	[G_CSTRING] = { { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' }, 9, 9 },
	[G_EQ] = { { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' }, 9, 9 },
	[G_MPINT] = { { 0, 0, 0, 3, 0x00, 0x80, 0x01 }, 7, 7 },
	[G_MPINT0] = { { 0, 0, 0, 0 }, 4, 4 },
};

/*
 * Calls getter g with its outputs preset to garbage; *zeroed says whether
 * a failed call left every output zeroed (NULL pointers, empty views).
 */
static int
call_getter(enum getter g, struct wire *w, int *zeroed)
{
	uint8_t u8 = 0xaa, bytes[5];
	uint32_t u32 = 0xaaaaaaaa;
	uint64_t u64 = 0xaaaaaaaaaaaaaaaaULL;
	const uint8_t *p = junk;
	size_t n = 77, i;
	struct wire sub;
	char *s = (char *)(uintptr_t)junk;
	int r = ERR_INTERNAL;

	memset(bytes, 0xaa, sizeof(bytes));
	wire_view(&sub, junk, sizeof(junk));
	*zeroed = 1;
	switch (g) {
	case G_U8:
		r = wire_get_u8(w, &u8);
		*zeroed = u8 == 0;
		break;
	case G_U32:
		r = wire_get_u32(w, &u32);
		*zeroed = u32 == 0;
		break;
	case G_U64:
		r = wire_get_u64(w, &u64);
		*zeroed = u64 == 0;
		break;
	case G_PEEK:
		r = wire_peek_u32(w, &u32);
		*zeroed = u32 == 0;
		break;
	case G_BYTES:
		r = wire_get_bytes(w, bytes, sizeof(bytes));
		for (i = 0; i < sizeof(bytes); i++)
			*zeroed &= bytes[i] == 0;
		break;
	case G_STRING:
		r = wire_get_string(w, &p, &n);
		*zeroed = p == NULL && n == 0;
		break;
	case G_SWIRE:
		r = wire_get_string_wire(w, &sub);
		*zeroed = wire_avail(&sub) == 0;
		break;
	case G_CSTRING:
		r = wire_get_cstring(w, &s);
		*zeroed = s == NULL;
		if (r == 0)
			free(s);
		break;
	case G_EQ: r = wire_get_string_eq(w, "hello"); break;
	case G_MPINT:
		r = wire_get_mpint(w, &p, &n, 0);
		*zeroed = p == NULL && n == 0;
		break;
	case G_MPINT0:
		r = wire_get_mpint(w, &p, &n, 1);
		/* Zero is an empty magnitude; p may point anywhere. */
		*zeroed = n == 0;
		break;
	case G_COUNT: break;
	}
	return r;
}

static void
test_getters_exact(void)
{
	struct wire w, sub;
	const uint8_t *p;
	uint8_t u8, bytes[5];
	uint32_t u32;
	uint64_t u64;
	size_t n;
	char *s;
	int g, zeroed;

	for (g = 0; g < G_COUNT; g++) {
		wire_view(&w, valid[g].b, valid[g].len);
		CHECK_EQ(call_getter(g, &w, &zeroed), 0);
		CHECK_EQ(w.off, valid[g].consumed);
	}

	/* The values themselves: big-endian, pointers into the buffer. */
	wire_view(&w, valid[G_U8].b, 1);
	CHECK_EQ(wire_get_u8(&w, &u8), 0);
	CHECK_EQ(u8, 0x81);
	wire_view(&w, valid[G_U32].b, 4);
	CHECK_EQ(wire_peek_u32(&w, &u32), 0);
	CHECK_EQ(u32, 0x01020304);
	CHECK_EQ(wire_avail(&w), 4);
	CHECK_EQ(wire_get_u32(&w, &u32), 0);
	CHECK_EQ(u32, 0x01020304);
	CHECK_EQ(wire_avail(&w), 0);
	wire_view(&w, valid[G_U64].b, 8);
	CHECK_EQ(wire_get_u64(&w, &u64), 0);
	CHECK(u64 == 0x0102030405060708ULL);
	wire_view(&w, valid[G_BYTES].b, 5);
	CHECK_EQ(wire_get_bytes(&w, bytes, 5), 0);
	CHECK(memcmp(bytes, "abcde", 5) == 0);
	wire_view(&w, valid[G_STRING].b, 9);
	CHECK_EQ(wire_get_string(&w, &p, &n), 0);
	CHECK(p == valid[G_STRING].b + 4);
	CHECK_EQ(n, 5);
	wire_view(&w, valid[G_SWIRE].b, 9);
	CHECK_EQ(wire_get_string_wire(&w, &sub), 0);
	CHECK_EQ(wire_avail(&sub), 5);
	CHECK(wire_ptr(&sub) == valid[G_SWIRE].b + 4);
	CHECK_EQ(wire_get_bytes(&sub, bytes, 5), 0);
	CHECK(memcmp(bytes, "hello", 5) == 0);
	CHECK_EQ(wire_end(&sub), 0);
	wire_view(&w, valid[G_CSTRING].b, 9);
	CHECK_EQ(wire_get_cstring(&w, &s), 0);
	CHECK(s != NULL && strcmp(s, "hello") == 0);
	free(s);
	wire_view(&w, valid[G_MPINT].b, valid[G_MPINT].len);
	CHECK_EQ(wire_get_mpint(&w, &p, &n, 0), 0);
	CHECK_EQ(n, 2);
	CHECK(p == valid[G_MPINT].b + 5);
	CHECK(p[0] == 0x80 && p[1] == 0x01);

	/* Two strings back to back, the second empty. */
	{
		static const uint8_t two[] = { 0, 0, 0, 1, 'x', 0, 0, 0, 0 };

		wire_view(&w, two, sizeof(two));
		CHECK_EQ(wire_get_string(&w, &p, &n), 0);
		CHECK(n == 1 && p[0] == 'x');
		CHECK_EQ(wire_get_string(&w, &p, &n), 0);
		CHECK_EQ(n, 0);
		CHECK_EQ(wire_end(&w), 0);
	}
}

/* Every proper prefix of every valid encoding, as a view and a store. */
static void
test_getters_truncated(void)
{
	struct wire w;
	size_t len, off;
	int g, zeroed, r;

	for (g = 0; g < G_COUNT; g++) {
		for (len = 0; len < valid[g].len; len++) {
			wire_view(&w, valid[g].b, len);
			r = call_getter(g, &w, &zeroed);
			if (r != ERR_TRUNCATED || w.off != 0 || !zeroed)
				fprintf(stderr, "  view %s, %zu of %zu bytes\n",
				    getter_name[g], len, valid[g].len);
			CHECK_EQ(r, ERR_TRUNCATED);
			CHECK_EQ(w.off, 0);
			CHECK(zeroed);

			wire_init(&w, 64);
			CHECK_EQ(wire_put_u8(&w, 0xee), 0);
			CHECK_EQ(wire_put(&w, valid[g].b, len), 0);
			CHECK_EQ(wire_consume(&w, 1), 0);
			off = w.off;
			r = call_getter(g, &w, &zeroed);
			if (r != ERR_TRUNCATED || w.off != off || !zeroed)
				fprintf(stderr,
				    "  store %s, %zu of %zu "
				    "bytes\n",
				    getter_name[g], len, valid[g].len);
			CHECK_EQ(r, ERR_TRUNCATED);
			CHECK_EQ(w.off, off);
			CHECK_EQ(wire_avail(&w), len);
			CHECK(zeroed);
			wire_free(&w);
		}
	}
}

/* A string length larger than what is left, up to the largest u32. */
static void
test_string_length_overflow(void)
{
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 'a', 'b' };
	static const uint8_t over[] = { 0, 0, 0, 3, 'a', 'b' };
	static const uint8_t big[] = { 0x80, 0, 0, 0, 'a' };
	const uint8_t *p = junk;
	struct wire w, sub;
	size_t n = 9;
	char *s;

	wire_view(&w, huge, sizeof(huge));
	CHECK_EQ(wire_get_string(&w, &p, &n), ERR_TRUNCATED);
	CHECK(p == NULL && n == 0);
	CHECK_EQ(w.off, 0);
	CHECK_EQ(wire_get_string_wire(&w, &sub), ERR_TRUNCATED);
	CHECK_EQ(wire_avail(&sub), 0);
	CHECK_EQ(wire_get_cstring(&w, &s), ERR_TRUNCATED);
	CHECK(s == NULL);
	CHECK_EQ(wire_get_mpint(&w, &p, &n, 1), ERR_TRUNCATED);
	CHECK_EQ(w.off, 0);

	wire_view(&w, over, sizeof(over));
	CHECK_EQ(wire_get_string(&w, &p, &n), ERR_TRUNCATED);
	CHECK_EQ(w.off, 0);
	wire_view(&w, big, sizeof(big));
	CHECK_EQ(wire_get_string(&w, &p, &n), ERR_TRUNCATED);
	CHECK_EQ(w.off, 0);
}

static void
test_cstring(void)
{
	static const uint8_t nul_mid[] = { 0, 0, 0, 3, 'a', 0, 'b' };
	static const uint8_t nul_end[] = { 0, 0, 0, 3, 'a', 'b', 0 };
	static const uint8_t nul_only[] = { 0, 0, 0, 1, 0 };
	static const uint8_t empty[] = { 0, 0, 0, 0 };
	static const uint8_t high[] = { 0, 0, 0, 2, 0xc3, 0xa9 };
	struct wire w;
	char *s;

	wire_view(&w, nul_mid, sizeof(nul_mid));
	CHECK_EQ(wire_get_cstring(&w, &s), ERR_FORMAT);
	CHECK(s == NULL);
	CHECK_EQ(w.off, 0);
	wire_view(&w, nul_end, sizeof(nul_end));
	CHECK_EQ(wire_get_cstring(&w, &s), ERR_FORMAT);
	CHECK(s == NULL);
	CHECK_EQ(w.off, 0);
	wire_view(&w, nul_only, sizeof(nul_only));
	CHECK_EQ(wire_get_cstring(&w, &s), ERR_FORMAT);
	CHECK_EQ(w.off, 0);

	wire_view(&w, empty, sizeof(empty));
	CHECK_EQ(wire_get_cstring(&w, &s), 0);
	CHECK(s != NULL && s[0] == '\0');
	free(s);
	CHECK_EQ(wire_end(&w), 0);

	wire_view(&w, high, sizeof(high));
	CHECK_EQ(wire_get_cstring(&w, &s), 0);
	CHECK(s != NULL && strcmp(s, "\xc3\xa9") == 0);
	free(s);
}

static void
test_string_eq(void)
{
	static const uint8_t hello[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
	static const uint8_t nul[] = { 0, 0, 0, 6, 'h', 'e', 'l', 'l', 'o', 0 };
	static const uint8_t empty[] = { 0, 0, 0, 0 };
	struct wire w;

	wire_view(&w, hello, sizeof(hello));
	CHECK_EQ(wire_get_string_eq(&w, "hellx"), ERR_FORMAT);
	CHECK_EQ(w.off, 0);
	CHECK_EQ(wire_get_string_eq(&w, "hell"), ERR_FORMAT);
	CHECK_EQ(w.off, 0);
	CHECK_EQ(wire_get_string_eq(&w, "hello!"), ERR_FORMAT);
	CHECK_EQ(w.off, 0);
	CHECK_EQ(wire_get_string_eq(&w, "HELLO"), ERR_FORMAT);
	CHECK_EQ(w.off, 0);
	CHECK_EQ(wire_get_string_eq(&w, ""), ERR_FORMAT);
	CHECK_EQ(w.off, 0);
	CHECK_EQ(wire_get_string_eq(&w, "hello"), 0);
	CHECK_EQ(wire_end(&w), 0);

	/* "hello\0" is not "hello". */
	wire_view(&w, nul, sizeof(nul));
	CHECK_EQ(wire_get_string_eq(&w, "hello"), ERR_FORMAT);
	CHECK_EQ(w.off, 0);

	wire_view(&w, empty, sizeof(empty));
	CHECK_EQ(wire_get_string_eq(&w, "x"), ERR_FORMAT);
	CHECK_EQ(wire_get_string_eq(&w, ""), 0);
	CHECK_EQ(wire_end(&w), 0);
}

static void
test_mpint_rules(void)
{
	static const struct {
		uint8_t b[12];
		size_t len;
		int allow_zero;
		int want;      /* the result */
		size_t mag;    /* magnitude bytes on success */
		uint8_t first; /* its first byte */
	} cases[] = {
		/* zero: the empty string, only when allowed */
		{ { 0, 0, 0, 0 }, 4, 1, 0, 0, 0 },
		{ { 0, 0, 0, 0 }, 4, 0, ERR_FORMAT, 0, 0 },
		/* zero written as 00 is not minimal */
		{ { 0, 0, 0, 1, 0x00 }, 5, 1, ERR_FORMAT, 0, 0 },
		{ { 0, 0, 0, 2, 0x00, 0x00 }, 6, 1, ERR_FORMAT, 0, 0 },
		/* negative */
		{ { 0, 0, 0, 1, 0x80 }, 5, 1, ERR_FORMAT, 0, 0 },
		{ { 0, 0, 0, 1, 0xff }, 5, 1, ERR_FORMAT, 0, 0 },
		{ { 0, 0, 0, 2, 0xff, 0x01 }, 6, 0, ERR_FORMAT, 0, 0 },
		/* a leading zero the sign bit does not need */
		{ { 0, 0, 0, 2, 0x00, 0x7f }, 6, 0, ERR_FORMAT, 0, 0 },
		{ { 0, 0, 0, 2, 0x00, 0x01 }, 6, 1, ERR_FORMAT, 0, 0 },
		{ { 0, 0, 0, 3, 0x00, 0x00, 0x80 }, 7, 0, ERR_FORMAT, 0, 0 },
		/* valid: the sign byte is stripped from the magnitude */
		{ { 0, 0, 0, 1, 0x7f }, 5, 0, 0, 1, 0x7f },
		{ { 0, 0, 0, 1, 0x01 }, 5, 1, 0, 1, 0x01 },
		{ { 0, 0, 0, 2, 0x00, 0x80 }, 6, 0, 0, 1, 0x80 },
		{ { 0, 0, 0, 2, 0x00, 0xff }, 6, 1, 0, 1, 0xff },
		{ { 0, 0, 0, 3, 0x01, 0x00, 0x00 }, 7, 0, 0, 3, 0x01 },
		{ { 0, 0, 0, 4, 0x00, 0x80, 0x00, 0x01 }, 8, 0, 0, 3, 0x80 },
	};
	const uint8_t *p;
	struct wire w;
	size_t i, n;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = junk;
		n = 99;
		wire_view(&w, cases[i].b, cases[i].len);
		r = wire_get_mpint(&w, &p, &n, cases[i].allow_zero);
		if (r != cases[i].want)
			fprintf(stderr, "  mpint case %zu\n", i);
		CHECK_EQ(r, cases[i].want);
		if (cases[i].want != 0) {
			CHECK_EQ(w.off, 0);
			CHECK(p == NULL);
			CHECK_EQ(n, 0);
			continue;
		}
		CHECK_EQ(wire_end(&w), 0);
		CHECK_EQ(n, cases[i].mag);
		if (n > 0) {
			CHECK(p == cases[i].b + cases[i].len - n);
			CHECK_EQ(p[0], cases[i].first);
		}
	}
}

static void
test_end_trailing(void)
{
	static const uint8_t b[] = { 1, 2, 3 };
	struct wire w;
	uint8_t v;

	wire_view(&w, b, 0);
	CHECK_EQ(wire_end(&w), 0);
	wire_view(&w, b, sizeof(b));
	CHECK_EQ(wire_end(&w), ERR_TRAILING);
	CHECK_EQ(wire_get_u8(&w, &v), 0);
	CHECK_EQ(wire_get_u8(&w, &v), 0);
	CHECK_EQ(wire_end(&w), ERR_TRAILING);
	CHECK_EQ(wire_avail(&w), 1);
	CHECK_EQ(wire_get_u8(&w, &v), 0);
	CHECK_EQ(wire_end(&w), 0);
	CHECK_EQ(wire_get_u8(&w, &v), ERR_TRUNCATED);
	CHECK_EQ(wire_end(&w), 0);

	/* wire_end reads nothing. */
	wire_init(&w, 16);
	CHECK_EQ(wire_end(&w), 0);
	CHECK_EQ(wire_put_u8(&w, 7), 0);
	CHECK_EQ(wire_end(&w), ERR_TRAILING);
	CHECK_EQ(wire_end(&w), ERR_TRAILING);
	CHECK_EQ(wire_avail(&w), 1);
	wire_free(&w);
}

static void
test_roundtrip(void)
{
	static const uint8_t want[] = {
		0x7e,						/* u8 */
		0xca, 0xfe, 0xba, 0xbe,				/* u32 */
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, /* u64 */
		0, 0, 0, 3, 'a', 0, 'b',			/* string */
		0, 0, 0, 0,		      /* empty string */
		0, 0, 0, 3, 'k', 'e', 'y',    /* cstring */
		0, 0, 0, 3, 0x00, 0x80, 0x01, /* mpint 0x8001 */
		0, 0, 0, 1, 0x7f,	      /* mpint 0x7f */
		0, 0, 0, 0,		      /* mpint 0 */
		0, 0, 0, 0,		      /* mpint 0 (0000) */
		0, 0, 0, 2, 0x01, 0x02,	      /* mpint 0,1,2 */
		'r', 'a', 'w',		      /* raw bytes */
	};
	static const uint8_t m1[] = { 0x80, 0x01 }, m2[] = { 0x7f };
	static const uint8_t m4[] = { 0x00, 0x00 }, m5[] = { 0, 1, 2 };
	struct wire w;
	const uint8_t *p;
	uint8_t u8, raw[3];
	uint32_t u32;
	uint64_t u64;
	size_t n;
	char *s;

	wire_init(&w, 1024);
	CHECK_EQ(wire_put_u8(&w, 0x7e), 0);
	CHECK_EQ(wire_put_u32(&w, 0xcafebabe), 0);
	CHECK_EQ(wire_put_u64(&w, 0x0123456789abcdefULL), 0);
	CHECK_EQ(wire_put_string(&w, "a\0b", 3), 0);
	CHECK_EQ(wire_put_string(&w, "", 0), 0);
	CHECK_EQ(wire_put_cstring(&w, "key"), 0);
	CHECK_EQ(wire_put_mpint(&w, m1, sizeof(m1)), 0);
	CHECK_EQ(wire_put_mpint(&w, m2, sizeof(m2)), 0);
	CHECK_EQ(wire_put_mpint(&w, m2, 0), 0);
	CHECK_EQ(wire_put_mpint(&w, m4, sizeof(m4)), 0);
	CHECK_EQ(wire_put_mpint(&w, m5, sizeof(m5)), 0);
	CHECK_EQ(wire_put(&w, "raw", 3), 0);
	CHECK_EQ(wire_mark(&w), sizeof(want));
	CHECK_EQ(wire_avail(&w), sizeof(want));
	CHECK(memcmp(wire_ptr(&w), want, sizeof(want)) == 0);

	CHECK_EQ(wire_get_u8(&w, &u8), 0);
	CHECK_EQ(u8, 0x7e);
	CHECK_EQ(wire_get_u32(&w, &u32), 0);
	CHECK_EQ(u32, 0xcafebabe);
	CHECK_EQ(wire_get_u64(&w, &u64), 0);
	CHECK(u64 == 0x0123456789abcdefULL);
	CHECK_EQ(wire_get_string(&w, &p, &n), 0);
	CHECK(n == 3 && memcmp(p, "a\0b", 3) == 0);
	CHECK_EQ(wire_get_string(&w, &p, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(wire_get_cstring(&w, &s), 0);
	CHECK(s != NULL && strcmp(s, "key") == 0);
	free(s);
	CHECK_EQ(wire_get_mpint(&w, &p, &n, 0), 0);
	CHECK(n == 2 && memcmp(p, m1, 2) == 0);
	CHECK_EQ(wire_get_mpint(&w, &p, &n, 0), 0);
	CHECK(n == 1 && p[0] == 0x7f);
	CHECK_EQ(wire_get_mpint(&w, &p, &n, 1), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(wire_get_mpint(&w, &p, &n, 0), ERR_FORMAT);
	CHECK_EQ(wire_get_mpint(&w, &p, &n, 1), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(wire_get_mpint(&w, &p, &n, 0), 0);
	CHECK(n == 2 && p[0] == 1 && p[1] == 2);
	CHECK_EQ(wire_end(&w), ERR_TRAILING);
	CHECK_EQ(wire_get_bytes(&w, raw, 3), 0);
	CHECK(memcmp(raw, "raw", 3) == 0);
	CHECK_EQ(wire_end(&w), 0);
	wire_free(&w);
}

/* Magnitudes of every length round-trip through put_mpint/get_mpint. */
static void
test_mpint_roundtrip(void)
{
	uint8_t mag[70];
	const uint8_t *p;
	struct wire w;
	size_t len, n;
	int top;

	for (len = 1; len <= sizeof(mag); len++) {
		for (top = 0; top < 3; top++) {
			memset(mag, 0x33, len);
			mag[0] = top == 0 ? 0x01 : top == 1 ? 0x7f : 0x80;
			wire_init(&w, 256);
			CHECK_EQ(wire_put_mpint(&w, mag, len), 0);
			CHECK_EQ(wire_mark(&w), 4 + len + (top == 2));
			CHECK_EQ(wire_get_mpint(&w, &p, &n, 0), 0);
			CHECK(n == len && memcmp(p, mag, len) == 0);
			CHECK_EQ(wire_end(&w), 0);
			wire_free(&w);
		}
	}
}

static void
test_growth(void)
{
	uint8_t big[3000];
	struct wire w;
	size_t i;
	int ok = 1;

	/* One byte at a time, past the first 256-byte allocation. */
	wire_init(&w, 4096);
	CHECK(w.buf == NULL);
	CHECK_EQ(w.cap, 0);
	for (i = 0; i < 1000; i++)
		CHECK_EQ(wire_put_u8(&w, (uint8_t)(i * 7)), 0);
	CHECK_EQ(wire_mark(&w), 1000);
	CHECK(w.cap >= 1000 && w.cap <= 4096);
	for (i = 0; i < 1000; i++)
		ok &= wire_ptr(&w)[i] == (uint8_t)(i * 7);
	CHECK(ok);
	wire_free(&w);
	CHECK(w.buf == NULL);
	CHECK_EQ(w.cap, 0);

	/* One large put, then another that needs the buffer doubled. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	wire_init(&w, 8192);
	CHECK_EQ(wire_put(&w, big, 257), 0);
	CHECK(w.cap >= 257);
	CHECK_EQ(wire_put(&w, big + 257, sizeof(big) - 257), 0);
	CHECK_EQ(wire_avail(&w), sizeof(big));
	CHECK(memcmp(wire_ptr(&w), big, sizeof(big)) == 0);
	CHECK(w.cap <= 8192);
	wire_free(&w);

	/* A store smaller than the first allocation never exceeds it. */
	wire_init(&w, 10);
	CHECK_EQ(wire_put(&w, big, 10), 0);
	CHECK(w.cap == 10);
	CHECK(memcmp(wire_ptr(&w), big, 10) == 0);
	wire_free(&w);
}

static void
test_max_limit(void)
{
	static const uint8_t m[] = { 0x80, 1, 2, 3 };
	uint8_t big[200], *p;
	struct wire w;

	memset(big, 'x', sizeof(big));
	wire_init(&w, 100);
	CHECK_EQ(wire_put(&w, big, 101), ERR_TOO_LONG);
	CHECK_EQ(wire_mark(&w), 0);
	CHECK_EQ(wire_put(&w, big, 100), 0);
	CHECK_EQ(wire_mark(&w), 100);
	CHECK_EQ(wire_put_u8(&w, 1), ERR_TOO_LONG);
	CHECK_EQ(wire_put(&w, big, 0), 0);
	CHECK_EQ(wire_mark(&w), 100);
	CHECK(w.cap <= 100);
	wire_free(&w);

	/* A string that does not fit leaves no length prefix behind. */
	wire_init(&w, 100);
	CHECK_EQ(wire_put(&w, "abcd", 4), 0);
	CHECK_EQ(wire_put_string(&w, big, 93), ERR_TOO_LONG);
	CHECK_EQ(wire_mark(&w), 4);
	CHECK(memcmp(wire_ptr(&w), "abcd", 4) == 0);
	CHECK_EQ(
	    wire_put_cstring(&w,
		"this will not fit, not even partly: "
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
	    ERR_TOO_LONG);
	CHECK_EQ(wire_mark(&w), 4);
	CHECK_EQ(wire_put_string(&w, big, 92), 0);
	CHECK_EQ(wire_mark(&w), 100);
	CHECK_EQ(wire_put_string(&w, big, 0), ERR_TOO_LONG);
	CHECK_EQ(wire_mark(&w), 100);
	wire_free(&w);

	/* Same for an mpint, whose sign byte counts. */
	wire_init(&w, 8);
	CHECK_EQ(wire_put_mpint(&w, m, sizeof(m)), ERR_TOO_LONG);
	CHECK_EQ(wire_mark(&w), 0);
	CHECK_EQ(wire_put_mpint(&w, m + 1, 3), 0);
	CHECK_EQ(wire_mark(&w), 7);
	wire_free(&w);

	/* reserve is bounded the same way. */
	wire_init(&w, 100);
	CHECK_EQ(wire_reserve(&w, 101, &p), ERR_TOO_LONG);
	CHECK(p == NULL);
	CHECK_EQ(wire_reserve(&w, 100, &p), 0);
	CHECK(p != NULL);
	wire_free(&w);

	/* u32 and u64 at the edge. */
	wire_init(&w, 11);
	CHECK_EQ(wire_put_u64(&w, 1), 0);
	CHECK_EQ(wire_put_u32(&w, 1), ERR_TOO_LONG);
	CHECK_EQ(wire_mark(&w), 8);
	CHECK_EQ(wire_put_u8(&w, 1), 0);
	CHECK_EQ(wire_put_u8(&w, 1), 0);
	CHECK_EQ(wire_put_u8(&w, 1), 0);
	CHECK_EQ(wire_put_u8(&w, 1), ERR_TOO_LONG);
	wire_free(&w);
}

/*
 * The way a connection's input buffer is used: reserve room, let the
 * socket fill part of it, commit what arrived, take whole messages off
 * the front, and make room again.
 */
static void
test_stream_cycle(void)
{
	uint8_t stream[600], got[600], *p;
	struct wire w;
	size_t sent = 0, recv = 0, chunk, i, room;
	uint32_t len;
	int steps = 0;

	/* A stream of messages: u32 length, then that many bytes. */
	for (i = 0; i < sizeof(stream); i += 4 + len) {
		len = (uint32_t)(i % 23) + 1;
		/* The last message takes up what would be too short. */
		if (sizeof(stream) - i < 4 + (size_t)len + 5)
			len = (uint32_t)(sizeof(stream) - i - 4);
		stream[i] = 0;
		stream[i + 1] = 0;
		stream[i + 2] = 0;
		stream[i + 3] = (uint8_t)len;
		memset(stream + i + 4, (int)(i & 0xff), len);
	}

	wire_init(&w, 64);
	while (recv < sizeof(stream) && steps++ < 10000) {
		/* Fill: at most what the limit leaves, in odd-sized bites. */
		room = w.max - wire_avail(&w);
		chunk = sizeof(stream) - sent;
		if (chunk > room)
			chunk = room;
		if (chunk > 13)
			chunk = 13;
		if (chunk > 0) {
			CHECK_EQ(wire_reserve(&w, chunk, &p), 0);
			if (p == NULL)
				break;
			memcpy(p, stream + sent, chunk);
			wire_commit(&w, chunk);
			sent += chunk;
		}
		/* Drain every complete message. */
		while (wire_peek_u32(&w, &len) == 0 &&
		    wire_avail(&w) >= 4 + (size_t)len) {
			memcpy(got + recv, wire_ptr(&w), 4 + len);
			recv += 4 + len;
			CHECK_EQ(wire_consume(&w, 4 + len), 0);
		}
		if (steps % 3 == 0)
			wire_compact(&w);
	}
	CHECK_EQ(recv, sizeof(stream));
	CHECK(memcmp(got, stream, sizeof(stream)) == 0);
	CHECK_EQ(wire_avail(&w), 0);
	CHECK(w.cap <= 64);
	wire_free(&w);
}

static void
test_reserve_commit_compact(void)
{
	uint8_t *p, v;
	struct wire w;
	const uint8_t *q;

	wire_init(&w, 16);
	CHECK_EQ(wire_reserve(&w, 16, &p), 0);
	memcpy(p, "0123456789abcdef", 16);
	/* Only what is committed becomes readable. */
	CHECK_EQ(wire_avail(&w), 0);
	wire_commit(&w, 10);
	CHECK_EQ(wire_avail(&w), 10);
	CHECK(memcmp(wire_ptr(&w), "0123456789", 10) == 0);

	/* The limit counts unread bytes: full now, room after a consume. */
	CHECK_EQ(wire_put(&w, "abcdef", 6), 0);
	CHECK_EQ(wire_reserve(&w, 1, &p), ERR_TOO_LONG);
	CHECK(p == NULL);
	CHECK_EQ(wire_consume(&w, 17), ERR_TRUNCATED);
	CHECK_EQ(wire_avail(&w), 16);
	CHECK_EQ(wire_consume(&w, 6), 0);
	CHECK_EQ(wire_avail(&w), 10);
	CHECK_EQ(wire_reserve(&w, 6, &p), 0);
	memcpy(p, "ghijkl", 6);
	wire_commit(&w, 6);
	CHECK_EQ(wire_avail(&w), 16);
	CHECK(memcmp(wire_ptr(&w), "6789abcdefghijkl", 16) == 0);

	/* compact moves the unread bytes to the front and wipes the rest. */
	CHECK_EQ(wire_consume(&w, 10), 0);
	wire_compact(&w);
	CHECK_EQ(w.off, 0);
	CHECK_EQ(wire_avail(&w), 6);
	q = wire_ptr(&w);
	CHECK(memcmp(q, "ghijkl", 6) == 0);
	CHECK(w.buf[6] == 0 && w.buf[15] == 0);
	CHECK_EQ(wire_get_u8(&w, &v), 0);
	CHECK_EQ(v, 'g');

	/* Consuming everything empties the store and wipes it. */
	CHECK_EQ(wire_consume(&w, 5), 0);
	CHECK_EQ(wire_avail(&w), 0);
	CHECK_EQ(w.off, 0);
	CHECK(w.buf != NULL && w.buf[0] == 0 && w.buf[5] == 0);
	CHECK_EQ(wire_consume(&w, 1), ERR_TRUNCATED);
	CHECK_EQ(wire_consume(&w, 0), 0);

	/* compact of an empty or already compact store changes nothing. */
	wire_compact(&w);
	CHECK_EQ(wire_avail(&w), 0);
	CHECK_EQ(wire_put(&w, "xy", 2), 0);
	wire_compact(&w);
	CHECK(memcmp(wire_ptr(&w), "xy", 2) == 0);

	/* reset keeps the allocation and wipes the contents. */
	p = w.buf;
	wire_reset(&w);
	CHECK(w.buf == p);
	CHECK_EQ(wire_avail(&w), 0);
	CHECK(p[0] == 0 && p[1] == 0);
	wire_free(&w);
	wire_free(&w);
	wire_free(NULL);
}

static void
test_len_placeholder(void)
{
	static const uint8_t want[] = { 0, 0, 0, 11, 'a', 'b', 'c', 0, 0, 0, 4,
		1, 2, 3, 4 };
	static const uint8_t ro[8];
	struct wire w;
	size_t outer, inner;

	wire_init(&w, 64);
	/* Nothing written there yet: nothing to close. */
	CHECK_EQ(wire_len_close(&w, 0), ERR_INTERNAL);
	CHECK_EQ(wire_len_open(&w, &outer), 0);
	CHECK_EQ(outer, 0);
	CHECK_EQ(wire_put(&w, "abc", 3), 0);
	CHECK_EQ(wire_len_open(&w, &inner), 0);
	CHECK_EQ(inner, 7);
	CHECK_EQ(wire_put_u32(&w, 0x01020304), 0);
	CHECK_EQ(wire_len_close(&w, inner), 0);
	CHECK_EQ(wire_len_close(&w, outer), 0);
	CHECK_EQ(wire_mark(&w), sizeof(want));
	CHECK(memcmp(wire_ptr(&w), want, sizeof(want)) == 0);
	/* A place with no room for the u32 before the end is refused. */
	CHECK_EQ(wire_len_close(&w, 12), ERR_INTERNAL);
	CHECK_EQ(wire_len_close(&w, 14), ERR_INTERNAL);
	CHECK_EQ(wire_len_close(&w, 16), ERR_INTERNAL);
	CHECK_EQ(wire_len_close(&w, (size_t)-1), ERR_INTERNAL);
	CHECK_EQ(wire_len_close(&w, (size_t)-3), ERR_INTERNAL);
	CHECK_EQ(wire_mark(&w), sizeof(want));
	CHECK(memcmp(wire_ptr(&w), want, sizeof(want)) == 0);
	wire_free(&w);

	wire_view(&w, ro, sizeof(ro));
	CHECK_EQ(wire_len_close(&w, 0), ERR_INTERNAL);
	CHECK(wire_len_open(&w, &outer) != 0);
	CHECK(ro[0] == 0 && ro[3] == 0);
}

/* Rollback drops what was written after the mark, and never what the
 * reader already took. */
static void
test_mark_and_rollback(void)
{
	struct wire w;
	size_t mark;
	uint8_t b;

	wire_init(&w, 64);
	CHECK_EQ(wire_put(&w, "keep", 4), 0);
	mark = wire_mark(&w);
	CHECK_EQ(wire_put(&w, "half a statement", 16), 0);
	wire_rollback(&w, mark);
	CHECK_EQ(wire_avail(&w), 4);
	CHECK(memcmp(wire_ptr(&w), "keep", 4) == 0);
	/* A mark past the end is no rollback. */
	wire_rollback(&w, 100);
	CHECK_EQ(wire_avail(&w), 4);
	/* Consumed bytes stay consumed, even for a mark before them. */
	CHECK_EQ(wire_get_u8(&w, &b), 0);
	CHECK_EQ(wire_put(&w, "xyz", 3), 0);
	wire_rollback(&w, 0);
	CHECK_EQ(wire_avail(&w), 0);
	CHECK_EQ(wire_put(&w, "z", 1), 0);
	CHECK_EQ(wire_avail(&w), 1);
	CHECK(*wire_ptr(&w) == 'z');
	wire_free(&w);
}

/* A view is read-only: writers fail and leave the bytes alone. */
static void
test_view_read_only(void)
{
	static const uint8_t b[4] = { 9, 8, 7, 6 };
	struct wire w;
	uint8_t *p;

	wire_view(&w, b, sizeof(b));
	CHECK(wire_put_u8(&w, 1) != 0);
	CHECK(wire_put_u32(&w, 1) != 0);
	CHECK(wire_put_string(&w, "x", 1) != 0);
	CHECK(wire_reserve(&w, 1, &p) != 0);
	CHECK(p == NULL);
	CHECK_EQ(wire_mark(&w), 4);
	CHECK_EQ(wire_consume(&w, 4), 0);
	/* A drained view is not reset like a store. */
	CHECK_EQ(w.off, 4);
	CHECK(w.buf == b);
	wire_reset(&w);
	wire_compact(&w);
	CHECK(w.buf == b);
	wire_free(&w);
	CHECK(b[0] == 9 && b[3] == 6);
}

/*
 * A length placeholder opened after part of the buffer was consumed (an
 * output buffer still draining to a socket) must come out right even when
 * appending makes the store grow.
 */
static void
test_placeholder_survives_growth(void)
{
	uint8_t payload[300];
	struct wire w;
	size_t start;
	uint32_t len;

	memset(payload, 0xab, sizeof(payload));
	wire_init(&w, 4096);
	CHECK_EQ(wire_put(&w, payload, 200), 0); /* pending output */
	CHECK_EQ(wire_consume(&w, 100), 0);	 /* half written */
	CHECK_EQ(wire_len_open(&w, &start), 0);	 /* placeholder */
	CHECK_EQ(start, 200);
	CHECK_EQ(wire_put(&w, payload, sizeof(payload)), 0);
	CHECK_EQ(wire_mark(&w), start + 4 + sizeof(payload));
	CHECK_EQ(wire_len_close(&w, start), 0);
	/* The rest of the pending output, then the patched length. */
	CHECK_EQ(wire_consume(&w, 100), 0);
	CHECK_EQ(wire_get_u32(&w, &len), 0);
	CHECK_EQ(len, sizeof(payload));
	CHECK_EQ(wire_avail(&w), sizeof(payload));
	wire_free(&w);
}

static void
test_base64_decode(void)
{
	uint8_t out[16];

	CHECK_EQ(wire_base64_decode("Zm9vYmFy", out, sizeof(out)), 6);
	CHECK(memcmp(out, "foobar", 6) == 0);
	CHECK_EQ(wire_base64_decode("Zm9vYg==", out, sizeof(out)), 4);
	CHECK(memcmp(out, "foob", 4) == 0);
	CHECK_EQ(wire_base64_decode("Zm9vYmE=", out, sizeof(out)), 5);
	CHECK(memcmp(out, "fooba", 5) == 0);
	CHECK_EQ(wire_base64_decode("AAEC/+8=", out, sizeof(out)), 5);
	CHECK(out[0] == 0 && out[1] == 1 && out[2] == 2 && out[3] == 0xff &&
	    out[4] == 0xef);
	/* Malformed: length, alphabet, padding in the middle, empty. */
	CHECK_EQ(wire_base64_decode("Zm9", out, sizeof(out)), ERR_FORMAT);
	CHECK_EQ(wire_base64_decode("Zm9v!mFy", out, sizeof(out)), ERR_FORMAT);
	CHECK_EQ(wire_base64_decode("Zm==YmFy", out, sizeof(out)), ERR_FORMAT);
	CHECK_EQ(wire_base64_decode("", out, sizeof(out)), ERR_FORMAT);
	/* Room for exactly what it decodes to, and one byte less. */
	CHECK_EQ(wire_base64_decode("Zm9vYmFy", out, 6), 6);
	CHECK_EQ(wire_base64_decode("Zm9vYmFy", out, 5), ERR_TOO_LONG);
}

int
main(void)
{
	RUN(test_getters_exact);
	RUN(test_getters_truncated);
	RUN(test_string_length_overflow);
	RUN(test_cstring);
	RUN(test_string_eq);
	RUN(test_mpint_rules);
	RUN(test_end_trailing);
	RUN(test_roundtrip);
	RUN(test_mpint_roundtrip);
	RUN(test_growth);
	RUN(test_max_limit);
	RUN(test_stream_cycle);
	RUN(test_reserve_commit_compact);
	RUN(test_len_placeholder);
	RUN(test_mark_and_rollback);
	RUN(test_view_read_only);
	RUN(test_placeholder_survives_growth);
	RUN(test_base64_decode);
	UNIT_DONE();
}
