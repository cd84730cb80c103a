/*
 * destcons: the restrict-destination constraint as ssh-add -h sends it,
 * every rule its parser enforces, and the path check against session
 * bindings: first hop, forwarded hops, the user on the last hop, keys
 * hidden beyond their hop, host certificates by CA (principal patterns,
 * expiry), and what a refused session-bind leaves.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "destcons.h"
#include "keyfile.h"
#include "sserr.h"
#include "unit.h"
#include "wire.h"

/* Host keys as fake blobs: destcons compares plain keys byte for byte. */
static const uint8_t kb[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2',
	'5', '5', '1', '9', 0, 0, 0, 1, 'B' };
static const uint8_t kc[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2',
	'5', '5', '1', '9', 0, 0, 0, 1, 'C' };

/* A time inside the fixtures' host certificate (2024..2124). */
#define NOW 1800000000u

struct keyspec {
	const uint8_t *blob;
	size_t len;
	int is_ca;
};

/* One hop: user, host, reserved (reserved: its contents), keys. */
static void
put_hop(struct wire *w, const char *user, const char *host,
    const char *reserved, const struct keyspec *keys, int nkeys)
{
	size_t at;
	int i;

	CHECK_EQ(wire_len_open(w, &at), 0);
	CHECK_EQ(wire_put_cstring(w, user), 0);
	CHECK_EQ(wire_put_cstring(w, host), 0);
	CHECK_EQ(wire_put_cstring(w, reserved), 0);
	for (i = 0; i < nkeys; i++) {
		CHECK_EQ(wire_put_string(w, keys[i].blob, keys[i].len), 0);
		CHECK_EQ(wire_put_u8(w, (uint8_t)keys[i].is_ca), 0);
	}
	CHECK_EQ(wire_len_close(w, at), 0);
}

/* One constraint: from-hop (no host: this host) to to-hop. */
static void
put_constraint(struct wire *w, const char *fhost, const struct keyspec *fkey,
    const char *tuser, const char *thost, const struct keyspec *tkey)
{
	size_t at;

	CHECK_EQ(wire_len_open(w, &at), 0);
	put_hop(w, "", fhost, "", fkey, fkey != NULL);
	put_hop(w, tuser, thost, "", tkey, tkey != NULL);
	CHECK_EQ(wire_put_cstring(w, ""), 0);
	CHECK_EQ(wire_len_close(w, at), 0);
}

static int
parse(const struct wire *w, struct destcons **dc)
{
	return destcons_parse(wire_ptr(w), wire_avail(w), dc);
}

static const struct keyspec spec_b = { kb, sizeof(kb), 0 };
static const struct keyspec spec_c = { kc, sizeof(kc), 0 };

/* As `ssh-add -h hostb -h 'hostb>USER@hostc'` (USER "" for none). */
static struct destcons *
b_then_c(const char *user)
{
	struct destcons *dc = NULL;
	struct wire w;

	wire_init(&w, 4096);
	put_constraint(&w, "", NULL, "", "hostb", &spec_b);
	put_constraint(&w, "hostb", &spec_b, user, "hostc", &spec_c);
	CHECK_EQ(parse(&w, &dc), 0);
	CHECK_EQ(destcons_count(dc), 2);
	wire_free(&w);
	return dc;
}

static struct destcons *
b_only(void)
{
	struct destcons *dc = NULL;
	struct wire w;

	wire_init(&w, 4096);
	put_constraint(&w, "", NULL, "", "hostb", &spec_b);
	CHECK_EQ(parse(&w, &dc), 0);
	wire_free(&w);
	return dc;
}

static void
test_parse_rules(void)
{
	static const struct keyspec bad_ca = { kb, sizeof(kb), 2 };
	static const struct keyspec no_name = { (const uint8_t *)"\0\0\0\0x", 5,
		0 };
	struct destcons *dc;
	struct wire w;
	char user[DESTCONS_MAX_USER + 2];
	size_t i, first, full;

	wire_init(&w, 1 << 20);
	/* What ssh-add sends parses, and every truncation of it fails but
	 * the one that leaves the first constraint whole. */
	put_constraint(&w, "", NULL, "", "hostb", &spec_b);
	first = wire_avail(&w);
	put_constraint(&w, "hostb", &spec_b, "root", "hostc", &spec_c);
	full = wire_avail(&w);
	for (i = 1; i < full; i++) {
		if (i == first)
			continue;
		dc = (struct destcons *)&w; /* must be reset on failure */
		CHECK(destcons_parse(wire_ptr(&w), i, &dc) != 0);
		CHECK(dc == NULL);
	}
	CHECK_EQ(parse(&w, &dc), 0);
	CHECK_EQ(destcons_count(dc), 2);
	destcons_free(dc);

#define REFUSED(what, err) \
	do { \
		wire_reset(&w); \
		what; \
		CHECK_EQ(parse(&w, &dc), err); \
		CHECK(dc == NULL); \
	} while (0)

	/* No constraint at all would constrain nothing. */
	REFUSED((void)0, ERR_FORMAT);
	/* A from-hop names both host and keys, or neither. */
	REFUSED(put_constraint(&w, "hostb", NULL, "", "hostc", &spec_c),
	    ERR_FORMAT);
	REFUSED(put_constraint(&w, "", &spec_b, "", "hostc", &spec_c),
	    ERR_FORMAT);
	/* The to-hop needs both. */
	REFUSED(put_constraint(&w, "", NULL, "", "", &spec_b), ERR_FORMAT);
	REFUSED(put_constraint(&w, "", NULL, "", "hostb", NULL), ERR_FORMAT);
	/* No user on a from-hop. */
	REFUSED(
	    {
		    size_t at;
		    CHECK_EQ(wire_len_open(&w, &at), 0);
		    put_hop(&w, "root", "", "", NULL, 0);
		    put_hop(&w, "", "hostb", "", &spec_b, 1);
		    CHECK_EQ(wire_put_cstring(&w, ""), 0);
		    CHECK_EQ(wire_len_close(&w, at), 0);
	    },
	    ERR_FORMAT);
	/* Reserved fields stay empty: the hop's, and the constraint's. */
	REFUSED(
	    {
		    size_t at;
		    CHECK_EQ(wire_len_open(&w, &at), 0);
		    put_hop(&w, "", "", "", NULL, 0);
		    put_hop(&w, "", "hostb", "x", &spec_b, 1);
		    CHECK_EQ(wire_put_cstring(&w, ""), 0);
		    CHECK_EQ(wire_len_close(&w, at), 0);
	    },
	    ERR_FORMAT);
	REFUSED(
	    {
		    size_t at;
		    CHECK_EQ(wire_len_open(&w, &at), 0);
		    put_hop(&w, "", "", "", NULL, 0);
		    put_hop(&w, "", "hostb", "", &spec_b, 1);
		    CHECK_EQ(wire_put_cstring(&w, "x"), 0);
		    CHECK_EQ(wire_len_close(&w, at), 0);
	    },
	    ERR_FORMAT);
	/* is_ca is a boolean; a key blob starts with its type name. */
	REFUSED(put_constraint(&w, "", NULL, "", "hostb", &bad_ca), ERR_FORMAT);
	REFUSED(put_constraint(&w, "", NULL, "", "hostb", &no_name),
	    ERR_FORMAT);
	/* A user pattern of 256 characters is the most. */
	memset(user, 'u', sizeof(user) - 1);
	user[DESTCONS_MAX_USER] = '\0';
	wire_reset(&w);
	put_constraint(&w, "", NULL, user, "hostb", &spec_b);
	CHECK_EQ(parse(&w, &dc), 0);
	destcons_free(dc);
	user[DESTCONS_MAX_USER] = 'u';
	user[DESTCONS_MAX_USER + 1] = '\0';
	REFUSED(put_constraint(&w, "", NULL, user, "hostb", &spec_b),
	    ERR_FORMAT);
	/* 1024 constraints, not one more. */
	wire_reset(&w);
	for (i = 0; i < DESTCONS_MAX; i++)
		put_constraint(&w, "", NULL, "", "hostb", &spec_b);
	CHECK_EQ(parse(&w, &dc), 0);
	CHECK_EQ(destcons_count(dc), DESTCONS_MAX);
	destcons_free(dc);
	put_constraint(&w, "", NULL, "", "hostb", &spec_b);
	CHECK_EQ(parse(&w, &dc), ERR_TOO_LONG);
	CHECK(dc == NULL);
#undef REFUSED
	wire_free(&w);
}

static void
test_match(void)
{
	CHECK(destcons_match("root", "root"));
	CHECK(destcons_match("root", "r*t"));
	CHECK(destcons_match("root", "*"));
	CHECK(destcons_match("root", "ro?t"));
	CHECK(destcons_match("", "*"));
	CHECK(destcons_match("a.example.org", "*.example.org"));
	CHECK(!destcons_match("root", "roo"));
	CHECK(!destcons_match("roo", "root"));
	CHECK(!destcons_match("root", "r?t"));
	CHECK(!destcons_match("example.org", "*.example.org"));
	CHECK(!destcons_match("", "?"));
	CHECK(destcons_match("abcabd", "*ab?"));
	CHECK(destcons_match("aaab", "*a*b"));
	CHECK(!destcons_match("aaaa", "*a*b"));
	CHECK(destcons_match("x", "**x**"));
	{
		/* Where plain backtracking takes years: one pass here. */
		char user[1025];

		memset(user, 'a', 1024);
		user[1024] = '\0';
		CHECK(!destcons_match(user, "*a*a*a*a*a*b"));
		user[1023] = 'b';
		CHECK(destcons_match(user, "*a*a*a*a*a*b"));
	}
}

#define BIND(k, fwd) \
	{ \
		k, sizeof(k), fwd, NULL \
	}

static void
test_local_and_first_hop(void)
{
	struct destcons *dc = b_only();
	const struct destcons_bind to_b[] = { BIND(kb, 0) };
	const struct destcons_bind to_c[] = { BIND(kc, 0) };

	/* No constraints: anything goes. */
	CHECK_EQ(destcons_permitted(NULL, to_c, 1, 0, "root", NOW), 0);
	/* Here, on a connection no ssh bound: visible. */
	CHECK_EQ(destcons_permitted(dc, NULL, 0, 0, NULL, NOW), 0);
	/* A refused session-bind: where it leads is unknown. */
	CHECK_EQ(destcons_permitted(dc, NULL, 0, 1, NULL, NOW), ERR_DENIED);
	CHECK_EQ(destcons_permitted(dc, to_b, 1, 1, "root", NOW), 0);
	/* Logging in to B, any user; not to C. */
	CHECK_EQ(destcons_permitted(dc, to_b, 1, 0, "root", NOW), 0);
	CHECK_EQ(destcons_permitted(dc, to_b, 1, 0, "anyone", NOW), 0);
	CHECK_EQ(destcons_permitted(dc, to_c, 1, 0, "root", NOW), ERR_DENIED);
	destcons_free(dc);
}

static void
test_forwarded_hops(void)
{
	struct destcons *only = b_only(), *both = b_then_c("");
	struct destcons *user = b_then_c("r*t");
	const struct destcons_bind at_b[] = { BIND(kb, 1) };
	const struct destcons_bind b_c[] = { BIND(kb, 1), BIND(kc, 0) };
	const struct destcons_bind b_c_fwd[] = { BIND(kb, 1), BIND(kc, 1) };
	const struct destcons_bind b_auth_c[] = { BIND(kb, 0), BIND(kc, 0) };
	const struct destcons_bind c_b[] = { BIND(kc, 1), BIND(kb, 0) };

	/* On B (forwarded there): hidden unless it may go on from B. */
	CHECK_EQ(destcons_permitted(only, at_b, 1, 0, NULL, NOW), ERR_DENIED);
	CHECK_EQ(destcons_permitted(both, at_b, 1, 0, NULL, NOW), 0);
	/* From B to C. */
	CHECK_EQ(destcons_permitted(only, b_c, 2, 0, "root", NOW), ERR_DENIED);
	CHECK_EQ(destcons_permitted(both, b_c, 2, 0, "root", NOW), 0);
	CHECK_EQ(destcons_permitted(both, b_c, 2, 0, NULL, NOW), 0);
	/* The user is matched on the last hop. */
	CHECK_EQ(destcons_permitted(user, b_c, 2, 0, "root", NOW), 0);
	CHECK_EQ(destcons_permitted(user, b_c, 2, 0, "admin", NOW), ERR_DENIED);
	/* A signature is never made on a hop bound for forwarding, and
	 * nothing goes on through one bound for authentication. */
	CHECK_EQ(destcons_permitted(both, b_c_fwd, 2, 0, "root", NOW),
	    ERR_DENIED);
	CHECK_EQ(destcons_permitted(both, b_auth_c, 2, 0, "root", NOW),
	    ERR_DENIED);
	/* Hops in the wrong order are not the permitted path. */
	CHECK_EQ(destcons_permitted(both, c_b, 2, 0, "root", NOW), ERR_DENIED);
	destcons_free(only);
	destcons_free(both);
	destcons_free(user);
}

static void
test_host_certificates(void)
{
	uint8_t *ca, *cert, *old, *userc;
	size_t calen, certlen, oldlen, userclen;
	struct crypto_cert cci, oci, uci;
	struct destcons *dc;
	struct wire w;
	struct keyspec byca, plain;
	const char *hosts[] = { "hostb", "x.example.org", "hostc",
		"example.org" };
	const int ok[] = { 1, 1, 0, 0 };
	int i;

	if (kf_pubfile("ca_ed25519.pub", &ca, &calen, NULL) != 0 ||
	    kf_pubfile("host_b-cert.pub", &cert, &certlen, NULL) != 0 ||
	    kf_pubfile("host_old-cert.pub", &old, &oldlen, NULL) != 0 ||
	    kf_pubfile("id_ed25519-cert.pub", &userc, &userclen, NULL) != 0) {
		CHECK(!"fixtures");
		return;
	}
	/* As the agent does at bind time: each certificate parsed once. */
	CHECK_EQ(crypto_cert_info(cert, certlen, &cci), 0);
	CHECK_EQ(crypto_cert_info(old, oldlen, &oci), 0);
	CHECK_EQ(crypto_cert_info(userc, userclen, &uci), 0);
	byca.blob = ca;
	byca.len = calen;
	byca.is_ca = 1;
	wire_init(&w, 4096);
	for (i = 0; i < 4; i++) {
		const struct destcons_bind b[] = { { cert, certlen, 0, &cci } };

		wire_reset(&w);
		put_constraint(&w, "", NULL, "", hosts[i], &byca);
		CHECK_EQ(parse(&w, &dc), 0);
		/* The principals are patterns, matched to the hop's name. */
		CHECK_EQ(destcons_permitted(dc, b, 1, 0, "root", NOW),
		    ok[i] ? 0 : ERR_DENIED);
		/* Out of its validity, not at all. */
		CHECK_EQ(destcons_permitted(dc, b, 1, 0, "root", 1600000000u),
		    ERR_DENIED);
		destcons_free(dc);
	}
	wire_reset(&w);
	put_constraint(&w, "", NULL, "", "hostb", &byca);
	CHECK_EQ(parse(&w, &dc), 0);
	{
		const struct destcons_bind expired[] = { { old, oldlen, 0,
		    &oci } };
		const struct destcons_bind usercert[] = { { userc, userclen, 0,
		    &uci } };
		const struct destcons_bind plainkey[] = { BIND(kb, 0) };

		CHECK_EQ(destcons_permitted(dc, expired, 1, 0, "root", NOW),
		    ERR_DENIED);
		/* A user certificate from the same CA is no host's. */
		CHECK_EQ(destcons_permitted(dc, usercert, 1, 0, "root", NOW),
		    ERR_DENIED);
		/* A CA entry does not match a plain key. */
		CHECK_EQ(destcons_permitted(dc, plainkey, 1, 0, "root", NOW),
		    ERR_DENIED);
	}
	destcons_free(dc);
	/* Nor does a plain entry match a certificate, even of that key. */
	plain.blob = ca;
	plain.len = calen;
	plain.is_ca = 0;
	wire_reset(&w);
	put_constraint(&w, "", NULL, "", "hostb", &plain);
	CHECK_EQ(parse(&w, &dc), 0);
	{
		const struct destcons_bind b[] = { { cert, certlen, 0, &cci } };

		CHECK_EQ(destcons_permitted(dc, b, 1, 0, "root", NOW),
		    ERR_DENIED);
	}
	destcons_free(dc);
	wire_free(&w);
	free(ca);
	free(cert);
	free(old);
	free(userc);
}

int
main(void)
{
	RUN(test_parse_rules);
	RUN(test_match);
	RUN(test_local_and_first_hop);
	RUN(test_forwarded_hops);
	RUN(test_host_certificates);
	UNIT_DONE();
}
