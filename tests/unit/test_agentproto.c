/*
 * agentproto: framing limits, and every request decoder on valid input,
 * on every truncation of it, with trailing bytes and with the values the
 * protocol says to refuse (FIDO keys and their provider, smartcard
 * adds, SSHSIG data included).  Reply framing by begin/finish.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agentproto.h"
#include "sserr.h"
#include "unit.h"
#include "wire.h"

#define MAX AGENTPROTO_MAX_FRAME

static int
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i] != 0)
			return 0;
	}
	return 1;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* agentproto_frame with outputs preset to garbage. */
static int
frame(const struct wire *in, uint8_t *type, struct wire *body, size_t *len)
{
	static const uint8_t junk[3] = { 1, 2, 3 };

	*type = 0xee;
	*len = 12345;
	wire_view(body, junk, sizeof(junk));
	return agentproto_frame(in, type, body, len);
}

static void
test_frame_incomplete_header(void)
{
	static const uint8_t hdr[4] = { 0, 0, 0, 5 };
	struct wire in, body;
	uint8_t type;
	size_t n, framelen;

	for (n = 0; n < sizeof(hdr); n++) {
		wire_view(&in, hdr, n);
		CHECK_EQ(frame(&in, &type, &body, &framelen), ERR_TRUNCATED);
		CHECK_EQ(type, 0);
		CHECK_EQ(framelen, 0);
		CHECK_EQ(wire_avail(&body), 0);
		CHECK_EQ(in.off, 0);
	}
}

static void
test_frame_incomplete_body(void)
{
	static const uint8_t msg[] = { 0, 0, 0, 6, 13, 'a', 'b', 'c', 'd',
		'e' };
	struct wire in, body;
	uint8_t type;
	size_t n, framelen;

	for (n = 4; n < sizeof(msg); n++) {
		wire_view(&in, msg, n);
		CHECK_EQ(frame(&in, &type, &body, &framelen), ERR_TRUNCATED);
		CHECK_EQ(type, 0);
		CHECK_EQ(framelen, 0);
		CHECK_EQ(wire_avail(&body), 0);
	}
	wire_view(&in, msg, sizeof(msg));
	CHECK_EQ(frame(&in, &type, &body, &framelen), 0);
	CHECK_EQ(type, 13);
	CHECK_EQ(framelen, sizeof(msg));
	CHECK_EQ(wire_avail(&body), 5);
	CHECK(memcmp(wire_ptr(&body), "abcde", 5) == 0);
	/* Framing looks; it does not consume. */
	CHECK_EQ(in.off, 0);
	CHECK_EQ(wire_avail(&in), sizeof(msg));
}

/* A frame of exactly the maximum is taken, arriving in a real store. */
static void
test_frame_exactly_max(void)
{
	struct wire in, body;
	uint8_t type, *p;
	size_t framelen;

	wire_init(&in, MAX + 4);
	CHECK_EQ(wire_reserve(&in, MAX + 4, &p), 0);
	if (p == NULL) {
		wire_free(&in);
		return;
	}
	memset(p, 'z', MAX + 4);
	put_be32(p, MAX);
	p[4] = AGENTC_EXTENSION;
	wire_commit(&in, 4);
	/* Header alone: wait for more, the size is acceptable. */
	CHECK_EQ(frame(&in, &type, &body, &framelen), ERR_TRUNCATED);
	wire_commit(&in, MAX - 1);
	CHECK_EQ(frame(&in, &type, &body, &framelen), ERR_TRUNCATED);
	wire_commit(&in, 1);
	CHECK_EQ(frame(&in, &type, &body, &framelen), 0);
	CHECK_EQ(type, AGENTC_EXTENSION);
	CHECK_EQ(framelen, MAX + 4);
	CHECK_EQ(wire_avail(&body), MAX - 1);
	CHECK(wire_ptr(&body) == wire_ptr(&in) + 5);
	CHECK_EQ(wire_consume(&in, framelen), 0);
	CHECK_EQ(wire_avail(&in), 0);
	wire_free(&in);
}

/* One byte over is refused from the header alone, before any body. */
static void
test_frame_too_long(void)
{
	static const uint32_t lens[] = { MAX + 1, MAX + 2, 2 * MAX, 0x7fffffff,
		0x80000000, 0xffffffff };
	uint8_t hdr[6];
	struct wire in, body;
	uint8_t type;
	size_t i, framelen;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		put_be32(hdr, lens[i]);
		hdr[4] = AGENTC_SIGN_REQUEST;
		hdr[5] = 0;
		wire_view(&in, hdr, 4);
		CHECK_EQ(frame(&in, &type, &body, &framelen), ERR_TOO_LONG);
		CHECK_EQ(type, 0);
		CHECK_EQ(framelen, 0);
		CHECK_EQ(wire_avail(&body), 0);
		wire_view(&in, hdr, sizeof(hdr));
		CHECK_EQ(frame(&in, &type, &body, &framelen), ERR_TOO_LONG);
	}
}

static void
test_frame_zero_length(void)
{
	static const uint8_t zero[] = { 0, 0, 0, 0, 11, 0, 0, 0, 1, 11 };
	struct wire in, body;
	uint8_t type;
	size_t framelen;

	wire_view(&in, zero, 4);
	CHECK_EQ(frame(&in, &type, &body, &framelen), ERR_FORMAT);
	CHECK_EQ(type, 0);
	CHECK_EQ(framelen, 0);
	CHECK_EQ(wire_avail(&body), 0);
	wire_view(&in, zero, sizeof(zero));
	CHECK_EQ(frame(&in, &type, &body, &framelen), ERR_FORMAT);
}

static void
test_frame_back_to_back(void)
{
	static const uint8_t two[] = {
		0, 0, 0, 1, AGENTC_REQUEST_IDENTITIES, 0, 0, 0, 9,
		AGENTC_REMOVE_IDENTITY, 0, 0, 0, 4, 'k', 'e', 'y', '!', 0, 0, 0,
		1 /* a third, not yet here */
	};
	struct wire in, body;
	uint8_t type, *p;
	size_t framelen;

	/* As a store, the way the agent reads: consume each frame. */
	wire_init(&in, MAX + 4);
	CHECK_EQ(wire_reserve(&in, sizeof(two), &p), 0);
	if (p == NULL) {
		wire_free(&in);
		return;
	}
	memcpy(p, two, sizeof(two));
	wire_commit(&in, sizeof(two));

	CHECK_EQ(frame(&in, &type, &body, &framelen), 0);
	CHECK_EQ(type, AGENTC_REQUEST_IDENTITIES);
	CHECK_EQ(framelen, 5);
	CHECK_EQ(wire_avail(&body), 0);
	CHECK_EQ(agentproto_empty(&body), 0);
	CHECK_EQ(wire_consume(&in, framelen), 0);

	CHECK_EQ(frame(&in, &type, &body, &framelen), 0);
	CHECK_EQ(type, AGENTC_REMOVE_IDENTITY);
	CHECK_EQ(framelen, 13);
	CHECK_EQ(wire_avail(&body), 8);
	CHECK(memcmp(wire_ptr(&body), "\0\0\0\4key!", 8) == 0);
	CHECK_EQ(wire_consume(&in, framelen), 0);

	CHECK_EQ(frame(&in, &type, &body, &framelen), ERR_TRUNCATED);
	CHECK_EQ(wire_avail(&in), 4);
	wire_free(&in);
}

/* SIGN_REQUEST: string key, string data, uint32 flags. */
static size_t
sign_body(uint8_t *b)
{
	static const uint8_t body[] = { 0, 0, 0, 3, 'K', 'E', 'Y', 0, 0, 0, 5,
		'd', 'a', 't', 'a', '!', 0, 0, 0, 6 };

	memcpy(b, body, sizeof(body));
	return sizeof(body);
}

static void
test_sign(void)
{
	uint8_t b[64];
	struct agentproto_sign s;
	struct wire w;
	size_t len, n;
	int r;

	len = sign_body(b);
	wire_view(&w, b, len);
	CHECK_EQ(agentproto_sign(&w, &s), 0);
	CHECK(s.key == b + 4 && s.keylen == 3);
	CHECK(s.data == b + 11 && s.datalen == 5);
	CHECK_EQ(s.flags, 6);

	for (n = 0; n < len; n++) {
		memset(&s, 0xaa, sizeof(s));
		wire_view(&w, b, n);
		r = agentproto_sign(&w, &s);
		if (r != ERR_TRUNCATED)
			fprintf(stderr, "  sign truncated to %zu: %d\n", n, r);
		CHECK_EQ(r, ERR_TRUNCATED);
		CHECK(all_zero(&s, sizeof(s)));
	}

	b[len] = 0;
	memset(&s, 0xaa, sizeof(s));
	wire_view(&w, b, len + 1);
	CHECK_EQ(agentproto_sign(&w, &s), ERR_TRAILING);
	CHECK(all_zero(&s, sizeof(s)));

	/* Empty key and data are the agent's to refuse, not the decoder's. */
	{
		static const uint8_t empty[12] = { 0 };

		wire_view(&w, empty, sizeof(empty));
		CHECK_EQ(agentproto_sign(&w, &s), 0);
		CHECK(s.keylen == 0 && s.datalen == 0 && s.flags == 0);
	}
}

/* The private fields after each type name, from PROTOCOL.agent. */
static const struct {
	const char *name;
	const char *fields; /* s: string, m: mpint, b: byte */
} shapes[] = {
	{ "ssh-ed25519", "ss" },
	{ "ecdsa-sha2-nistp256", "ssm" },
	{ "ecdsa-sha2-nistp384", "ssm" },
	{ "ecdsa-sha2-nistp521", "ssm" },
	{ "ssh-rsa", "mmmmmm" },
	{ "ssh-ed25519-cert-v01@openssh.com", "sss" },
	{ "ecdsa-sha2-nistp256-cert-v01@openssh.com", "sm" },
	{ "ecdsa-sha2-nistp384-cert-v01@openssh.com", "sm" },
	{ "ecdsa-sha2-nistp521-cert-v01@openssh.com", "sm" },
	{ "ssh-rsa-cert-v01@openssh.com", "smmmm" },
	/* PROTOCOL.u2f: no private key, a key handle instead. */
	{ "sk-ssh-ed25519@openssh.com", "ssbss" },
	{ "sk-ecdsa-sha2-nistp256@openssh.com", "sssbss" },
	{ "sk-ssh-ed25519-cert-v01@openssh.com", "sssbss" },
	{ "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "ssbss" },
};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* A key of the given shape with made-up contents; returns its length. */
static size_t
put_fake_key(struct wire *w, const char *name, const char *fields)
{
	static const uint8_t mp[] = { 0x00, 0x9a, 0x01, 0x02 };
	size_t start = wire_mark(w);
	int i = 0;

	CHECK_EQ(wire_put_cstring(w, name), 0);
	for (; *fields != '\0'; fields++, i++) {
		if (*fields == 's')
			CHECK_EQ(wire_put_string(w, "field-bytes", 5 + i), 0);
		else if (*fields == 'b')
			CHECK_EQ(wire_put_u8(w, 0x05), 0);
		else
			CHECK_EQ(wire_put_mpint(w, mp, sizeof(mp) - i % 2), 0);
	}
	return wire_mark(w) - start;
}

static void
check_add_zero(const struct agentproto_add *a)
{
	CHECK(a->key == NULL && a->keylen == 0);
	CHECK(a->comment == NULL && a->commentlen == 0);
	CHECK(a->lifetime == 0 && a->confirm == 0);
	CHECK(a->dest == NULL && a->destlen == 0);
	CHECK(a->provider == NULL && a->providerlen == 0);
	CHECK(a->certs == NULL && a->certslen == 0 && a->certs_only == 0);
}

static void
test_add_each_type(void)
{
	struct agentproto_add a;
	struct wire body, v;
	size_t i, keylen, n;
	int r;

	for (i = 0; i < NSHAPES; i++) {
		wire_init(&body, 4096);
		keylen = put_fake_key(&body, shapes[i].name, shapes[i].fields);
		CHECK_EQ(wire_put_cstring(&body, "my comment"), 0);

		wire_view(&v, wire_ptr(&body), wire_avail(&body));
		r = agentproto_add(&v, 0, &a);
		if (r != 0)
			fprintf(stderr, "  add %s: %d\n", shapes[i].name, r);
		CHECK_EQ(r, 0);
		CHECK(a.key == wire_ptr(&body));
		CHECK_EQ(a.keylen, keylen);
		CHECK(a.commentlen == 10 &&
		    memcmp(a.comment, "my comment", 10) == 0);
		CHECK(a.lifetime == 0 && a.confirm == 0);

		/* The same as ADD_ID_CONSTRAINED with no constraints. */
		wire_view(&v, wire_ptr(&body), wire_avail(&body));
		CHECK_EQ(agentproto_add(&v, 1, &a), 0);
		CHECK_EQ(a.keylen, keylen);

		for (n = 0; n < wire_avail(&body); n++) {
			memset(&a, 0xaa, sizeof(a));
			wire_view(&v, wire_ptr(&body), n);
			r = agentproto_add(&v, 0, &a);
			if (r != ERR_TRUNCATED)
				fprintf(stderr,
				    "  add %s truncated to %zu: "
				    "%d\n",
				    shapes[i].name, n, r);
			CHECK_EQ(r, ERR_TRUNCATED);
			check_add_zero(&a);
		}

		CHECK_EQ(wire_put_u8(&body, 0), 0);
		memset(&a, 0xaa, sizeof(a));
		wire_view(&v, wire_ptr(&body), wire_avail(&body));
		CHECK_EQ(agentproto_add(&v, 0, &a), ERR_TRAILING);
		check_add_zero(&a);
		wire_free(&body);
	}
}

/* A constrained add: key, comment, lifetime 3600, confirm. */
static void
test_add_constrained(void)
{
	struct agentproto_add a;
	struct wire body, v;
	size_t keyend, n;
	int r;

	wire_init(&body, 4096);
	put_fake_key(&body, "ssh-ed25519", "ss");
	CHECK_EQ(wire_put_cstring(&body, "c"), 0);
	keyend = wire_mark(&body);
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_LIFETIME), 0);
	CHECK_EQ(wire_put_u32(&body, 3600), 0);
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_CONFIRM), 0);

	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), 0);
	CHECK_EQ(a.lifetime, 3600);
	CHECK_EQ(a.confirm, 1);
	CHECK(a.commentlen == 1 && a.comment[0] == 'c');

	/* Without the constrained flag the constraints are trailing bytes. */
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 0, &a), ERR_TRAILING);
	check_add_zero(&a);

	/*
	 * Truncations: inside the key or comment, or inside the lifetime's
	 * u32, fail; ending between two constraints is a shorter, valid add.
	 */
	for (n = 0; n < wire_avail(&body); n++) {
		memset(&a, 0xaa, sizeof(a));
		wire_view(&v, wire_ptr(&body), n);
		r = agentproto_add(&v, 1, &a);
		if (n == keyend) {
			CHECK_EQ(r, 0);
			CHECK(a.lifetime == 0 && a.confirm == 0);
		} else if (n == keyend + 5) {
			CHECK_EQ(r, 0);
			CHECK(a.lifetime == 3600 && a.confirm == 0);
		} else {
			if (r != ERR_TRUNCATED)
				fprintf(stderr,
				    "  constrained add truncated "
				    "to %zu: %d\n",
				    n, r);
			CHECK_EQ(r, ERR_TRUNCATED);
			check_add_zero(&a);
		}
	}

	/* Confirm alone, and confirm first. */
	wire_reset(&body);
	put_fake_key(&body, "ssh-rsa", "mmmmmm");
	CHECK_EQ(wire_put_cstring(&body, ""), 0);
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_CONFIRM), 0);
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), 0);
	CHECK(a.confirm == 1 && a.lifetime == 0 && a.commentlen == 0);
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_LIFETIME), 0);
	CHECK_EQ(wire_put_u32(&body, 1), 0);
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), 0);
	CHECK(a.confirm == 1 && a.lifetime == 1);
	wire_free(&body);
}

static void
test_add_unknown_type(void)
{
	static const char *const names[] = {
		"ssh-dss",
		"sk-ssh-ed448@openssh.com",
		"sk-ecdsa-sha2-nistp384@openssh.com",
		"ssh-ed448",
		"ecdsa-sha2-nistp192",
		"ssh-ed25519-cert-v00@openssh.com",
		"SSH-RSA",
		"ssh-rsa ",
		"ssh-ed2551",
		"",
	};
	struct agentproto_add a;
	struct wire body, v;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		wire_init(&body, 1024);
		put_fake_key(&body, names[i], "ss");
		CHECK_EQ(wire_put_cstring(&body, "comment"), 0);
		memset(&a, 0xaa, sizeof(a));
		wire_view(&v, wire_ptr(&body), wire_avail(&body));
		CHECK_EQ(agentproto_add(&v, 0, &a), ERR_KEY_TYPE);
		check_add_zero(&a);
		wire_view(&v, wire_ptr(&body), wire_avail(&body));
		CHECK_EQ(agentproto_add(&v, 1, &a), ERR_KEY_TYPE);
		wire_free(&body);
	}

	/* A NUL inside the name does not make it "ssh-ed25519". */
	wire_init(&body, 1024);
	CHECK_EQ(wire_put_string(&body, "ssh-ed25519\0", 12), 0);
	CHECK_EQ(wire_put_string(&body, "x", 1), 0);
	CHECK_EQ(wire_put_string(&body, "y", 1), 0);
	CHECK_EQ(wire_put_cstring(&body, "comment"), 0);
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 0, &a), ERR_KEY_TYPE);
	wire_free(&body);
}

/* A key field that is not a valid mpint is malformed. */
static void
test_add_bad_mpint(void)
{
	static const uint8_t neg[] = { 0x80, 0x01 };
	struct agentproto_add a;
	struct wire body, v;

	wire_init(&body, 1024);
	CHECK_EQ(wire_put_cstring(&body, "ssh-rsa"), 0);
	CHECK_EQ(wire_put_mpint(&body, neg, 2), 0);
	CHECK_EQ(wire_put_mpint(&body, neg, 2), 0);
	CHECK_EQ(wire_put_string(&body, neg, 2), 0); /* negative */
	CHECK_EQ(wire_put_mpint(&body, neg, 2), 0);
	CHECK_EQ(wire_put_mpint(&body, neg, 2), 0);
	CHECK_EQ(wire_put_mpint(&body, neg, 2), 0);
	CHECK_EQ(wire_put_cstring(&body, "comment"), 0);
	memset(&a, 0xaa, sizeof(a));
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 0, &a), ERR_FORMAT);
	check_add_zero(&a);
	wire_free(&body);
}

static void
test_add_bad_constraints(void)
{
	static const uint8_t unknown[] = { 0, 3, 4, 100, 254 };
	struct agentproto_add a;
	struct wire body, v;
	size_t keyend, i;

	wire_init(&body, 4096);
	put_fake_key(&body, "ecdsa-sha2-nistp256", "ssm");
	CHECK_EQ(wire_put_cstring(&body, "comment"), 0);
	keyend = wire_mark(&body);

	for (i = 0; i < sizeof(unknown); i++) {
		body.len = keyend;
		CHECK_EQ(wire_put_u8(&body, unknown[i]), 0);
		CHECK_EQ(wire_put_u32(&body, 60), 0);
		memset(&a, 0xaa, sizeof(a));
		wire_view(&v, wire_ptr(&body), wire_avail(&body));
		CHECK_EQ(agentproto_add(&v, 1, &a), ERR_UNSUPPORTED);
		check_add_zero(&a);
	}

	/* restrict-destination: its constraints are handed on as a view
	 * (destcons parses them), with the other constraints around it. */
	body.len = keyend;
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_CONFIRM), 0);
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_EXTENSION), 0);
	CHECK_EQ(wire_put_cstring(&body,
		     "restrict-destination-v00@openssh.com"),
	    0);
	CHECK_EQ(wire_put_string(&body, "cons", 4), 0);
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_LIFETIME), 0);
	CHECK_EQ(wire_put_u32(&body, 60), 0);
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), 0);
	CHECK(a.confirm == 1 && a.lifetime == 60);
	CHECK(
	    a.destlen == 4 && a.dest != NULL && memcmp(a.dest, "cons", 4) == 0);
	/* Given twice: which would hold?  Refused. */
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_EXTENSION), 0);
	CHECK_EQ(wire_put_cstring(&body,
		     "restrict-destination-v00@openssh.com"),
	    0);
	CHECK_EQ(wire_put_string(&body, "cons", 4), 0);
	memset(&a, 0xaa, sizeof(a));
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), ERR_FORMAT);
	check_add_zero(&a);
	/* Without its string: truncated. */
	body.len = keyend;
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_EXTENSION), 0);
	CHECK_EQ(wire_put_cstring(&body,
		     "restrict-destination-v00@openssh.com"),
	    0);
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), ERR_TRUNCATED);
	check_add_zero(&a);

	/* A known constraint first does not save a later unknown one. */
	body.len = keyend;
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_LIFETIME), 0);
	CHECK_EQ(wire_put_u32(&body, 60), 0);
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_CONFIRM), 0);
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_EXTENSION), 0);
	CHECK_EQ(wire_put_cstring(&body, "x@example.com"), 0);
	memset(&a, 0xaa, sizeof(a));
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), ERR_UNSUPPORTED);
	check_add_zero(&a);

	/* A lifetime of zero means nothing and is refused. */
	body.len = keyend;
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_LIFETIME), 0);
	CHECK_EQ(wire_put_u32(&body, 0), 0);
	memset(&a, 0xaa, sizeof(a));
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), ERR_FORMAT);
	check_add_zero(&a);

	/* The largest lifetime is just a number. */
	body.len = keyend;
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_LIFETIME), 0);
	CHECK_EQ(wire_put_u32(&body, 0xffffffff), 0);
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), 0);
	CHECK_EQ(a.lifetime, 0xffffffff);
	wire_free(&body);
}

/* A FIDO key's add with its provider and the constraints around it. */
static void
put_sk_add(struct wire *body, const char *path, size_t pathlen)
{
	put_fake_key(body, "sk-ssh-ed25519@openssh.com", "ssbss");
	CHECK_EQ(wire_put_cstring(body, "sk key"), 0);
	CHECK_EQ(wire_put_u8(body, AGENT_CONSTRAIN_CONFIRM), 0);
	CHECK_EQ(wire_put_u8(body, AGENT_CONSTRAIN_EXTENSION), 0);
	CHECK_EQ(wire_put_cstring(body, "sk-provider@openssh.com"), 0);
	CHECK_EQ(wire_put_string(body, path, pathlen), 0);
}

static void
test_add_sk_provider(void)
{
	struct agentproto_add a;
	struct wire body, v;
	size_t n, keyend, end;
	int r;

	/* The key ends where its five fields do: the comment follows. */
	wire_init(&body, 4096);
	put_sk_add(&body, "/usr/lib/sk.so", 14);
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), 0);
	CHECK(a.key == wire_ptr(&body));
	CHECK(a.commentlen == 6 && memcmp(a.comment, "sk key", 6) == 0);
	CHECK_EQ(a.confirm, 1);
	CHECK(a.providerlen == 14 && a.provider != NULL &&
	    memcmp(a.provider, "/usr/lib/sk.so", 14) == 0);
	CHECK(a.dest == NULL && a.certs == NULL);
	/* Not a constrained add: the constraints are trailing bytes. */
	memset(&a, 0xaa, sizeof(a));
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 0, &a), ERR_TRAILING);
	check_add_zero(&a);

	/* Every cut: truncated, or a shorter add at a constraint's end. */
	keyend = 4 + 26 + 4 + 5 + 4 + 6 + 1 + 4 + 8 + 4 + 9 + 4 + 6;
	end = wire_avail(&body);
	for (n = 0; n < end; n++) {
		memset(&a, 0xaa, sizeof(a));
		wire_view(&v, wire_ptr(&body), n);
		r = agentproto_add(&v, 1, &a);
		if (n == keyend || n == keyend + 1) {
			CHECK_EQ(r, 0);
			CHECK(a.provider == NULL);
			continue;
		}
		if (r != ERR_TRUNCATED)
			fprintf(stderr, "  sk add cut to %zu: %d\n", n, r);
		CHECK_EQ(r, ERR_TRUNCATED);
		check_add_zero(&a);
	}

	/* Given twice: refused. */
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_EXTENSION), 0);
	CHECK_EQ(wire_put_cstring(&body, "sk-provider@openssh.com"), 0);
	CHECK_EQ(wire_put_cstring(&body, "internal"), 0);
	memset(&a, 0xaa, sizeof(a));
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), ERR_FORMAT);
	check_add_zero(&a);

	/* A path C could not read as given: empty, or with a NUL. */
	wire_reset(&body);
	put_sk_add(&body, "", 0);
	memset(&a, 0xaa, sizeof(a));
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), ERR_FORMAT);
	check_add_zero(&a);
	wire_reset(&body);
	put_sk_add(&body, "/usr/lib/sk.so\0/tmp/evil.so", 27);
	memset(&a, 0xaa, sizeof(a));
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), ERR_FORMAT);
	check_add_zero(&a);
	wire_reset(&body);
	put_sk_add(&body, "/x\0", 3);
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), ERR_FORMAT);
	wire_reset(&body);
	put_sk_add(&body, "internal", 8);
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), 0);
	CHECK(a.providerlen == 8 && memcmp(a.provider, "internal", 8) == 0);

	/* Certificates go with a token's keys only (ADD_SMARTCARD_KEY). */
	wire_reset(&body);
	put_fake_key(&body, "ssh-ed25519", "ss");
	CHECK_EQ(wire_put_cstring(&body, "c"), 0);
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_EXTENSION), 0);
	CHECK_EQ(wire_put_cstring(&body, "associated-certs-v00@openssh.com"),
	    0);
	CHECK_EQ(wire_put_u8(&body, 0), 0);
	CHECK_EQ(wire_put_string(&body, "", 0), 0);
	memset(&a, 0xaa, sizeof(a));
	wire_view(&v, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_add(&v, 1, &a), ERR_UNSUPPORTED);
	check_add_zero(&a);
	wire_free(&body);
}

/* ADD_SMARTCARD_KEY: string id, string pin. */
static void
put_smartcard(struct wire *w, const char *id, size_t idlen, const char *pin,
    size_t pinlen)
{
	CHECK_EQ(wire_put_string(w, id, idlen), 0);
	CHECK_EQ(wire_put_string(w, pin, pinlen), 0);
}

/* agentproto_smartcard with its output preset to garbage. */
static int
smartcard(const struct wire *body, int constrained,
    struct agentproto_smartcard *sc)
{
	struct wire v;
	int r;

	memset(sc, 0xaa, sizeof(*sc));
	wire_view(&v, wire_ptr(body), wire_avail(body));
	r = agentproto_smartcard(&v, constrained, sc);
	if (r != 0)
		CHECK(all_zero(sc, sizeof(*sc)));
	return r;
}

static void
test_smartcard(void)
{
	static const char id[] = "/usr/lib/x86_64-linux-gnu/p11.so";
	struct agentproto_smartcard sc;
	struct wire body, v;
	size_t n, end;
	int r;

	wire_init(&body, 4096);
	put_smartcard(&body, id, strlen(id), "1234", 4);
	CHECK_EQ(smartcard(&body, 0, &sc), 0);
	CHECK(sc.id == wire_ptr(&body) + 4 && sc.idlen == strlen(id));
	CHECK(sc.pinlen == 4 && memcmp(sc.pin, "1234", 4) == 0);
	CHECK(sc.cons.lifetime == 0 && sc.cons.confirm == 0);
	CHECK(sc.cons.key == NULL && sc.cons.dest == NULL &&
	    sc.cons.certs == NULL && sc.cons.provider == NULL);
	/* Constrained, with no constraints: the same. */
	CHECK_EQ(smartcard(&body, 1, &sc), 0);
	CHECK(sc.idlen == strlen(id) && sc.pinlen == 4);
	end = wire_avail(&body);
	for (n = 0; n < end; n++) {
		memset(&sc, 0xaa, sizeof(sc));
		wire_view(&v, wire_ptr(&body), n);
		r = agentproto_smartcard(&v, 0, &sc);
		CHECK_EQ(r, ERR_TRUNCATED);
		CHECK(all_zero(&sc, sizeof(sc)));
	}
	/* REMOVE_SMARTCARD_KEY sends the same; an empty PIN is a PIN. */
	wire_reset(&body);
	put_smartcard(&body, id, strlen(id), "", 0);
	CHECK_EQ(smartcard(&body, 0, &sc), 0);
	CHECK_EQ(sc.pinlen, 0);
	/* A trailing byte, unconstrained. */
	CHECK_EQ(wire_put_u8(&body, 0), 0);
	CHECK_EQ(smartcard(&body, 0, &sc), ERR_TRAILING);

	/* An empty id, or one with a NUL; a PIN with a NUL. */
	wire_reset(&body);
	put_smartcard(&body, "", 0, "1234", 4);
	CHECK_EQ(smartcard(&body, 0, &sc), ERR_FORMAT);
	CHECK_EQ(smartcard(&body, 1, &sc), ERR_FORMAT);
	wire_reset(&body);
	put_smartcard(&body, "/usr/lib/p.so\0x", 15, "1234", 4);
	CHECK_EQ(smartcard(&body, 0, &sc), ERR_FORMAT);
	wire_reset(&body);
	put_smartcard(&body, id, strlen(id), "12\0004", 4);
	CHECK_EQ(smartcard(&body, 0, &sc), ERR_FORMAT);

	/* Constrained: every constraint an add takes but sk-provider. */
	wire_reset(&body);
	put_smartcard(&body, id, strlen(id), "1234", 4);
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_LIFETIME), 0);
	CHECK_EQ(wire_put_u32(&body, 60), 0);
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_CONFIRM), 0);
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_EXTENSION), 0);
	CHECK_EQ(wire_put_cstring(&body,
		     "restrict-destination-v00@openssh.com"),
	    0);
	CHECK_EQ(wire_put_string(&body, "cons", 4), 0);
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_EXTENSION), 0);
	CHECK_EQ(wire_put_cstring(&body, "associated-certs-v00@openssh.com"),
	    0);
	CHECK_EQ(wire_put_u8(&body, 1), 0);
	CHECK_EQ(wire_put_string(&body, "certs", 5), 0);
	CHECK_EQ(smartcard(&body, 1, &sc), 0);
	CHECK(sc.idlen == strlen(id) && sc.pinlen == 4);
	CHECK(sc.cons.lifetime == 60 && sc.cons.confirm == 1);
	CHECK(sc.cons.destlen == 4 && sc.cons.dest != NULL &&
	    memcmp(sc.cons.dest, "cons", 4) == 0);
	CHECK_EQ(sc.cons.certs_only, 1);
	CHECK(sc.cons.certslen == 5 && sc.cons.certs != NULL &&
	    memcmp(sc.cons.certs, "certs", 5) == 0);
	CHECK(sc.cons.provider == NULL);
	/* Unconstrained, the constraints are trailing bytes. */
	CHECK_EQ(smartcard(&body, 0, &sc), ERR_TRAILING);
	end = wire_avail(&body);
	/* The certificates given twice: refused. */
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_EXTENSION), 0);
	CHECK_EQ(wire_put_cstring(&body, "associated-certs-v00@openssh.com"),
	    0);
	CHECK_EQ(wire_put_u8(&body, 0), 0);
	CHECK_EQ(wire_put_string(&body, "", 0), 0);
	CHECK_EQ(smartcard(&body, 1, &sc), ERR_FORMAT);
	/* Only the certificates, given as 0: not certs_only. */
	body.len = end - 4 - 5 - 1;
	CHECK_EQ(wire_put_u8(&body, 0), 0);
	CHECK_EQ(wire_put_string(&body, "certs", 5), 0);
	CHECK_EQ(smartcard(&body, 1, &sc), 0);
	CHECK_EQ(sc.cons.certs_only, 0);
	/* Cut inside the certificates' string. */
	body.len -= 1;
	CHECK_EQ(smartcard(&body, 1, &sc), ERR_TRUNCATED);
	/* A FIDO provider is for FIDO keys. */
	body.len = end;
	CHECK_EQ(wire_put_u8(&body, AGENT_CONSTRAIN_EXTENSION), 0);
	CHECK_EQ(wire_put_cstring(&body, "sk-provider@openssh.com"), 0);
	CHECK_EQ(wire_put_cstring(&body, "internal"), 0);
	CHECK_EQ(smartcard(&body, 1, &sc), ERR_UNSUPPORTED);
	/* A constraint we do not know. */
	body.len = end;
	CHECK_EQ(wire_put_u8(&body, 3), 0);
	CHECK_EQ(smartcard(&body, 1, &sc), ERR_UNSUPPORTED);
	wire_free(&body);
}

/* What ssh-keygen -Y sign has an agent sign: "SSHSIG" and 4 strings. */
static void
put_sshsig(struct wire *w, const char *magic, int nfields)
{
	static const char *const field[] = { "file", "", "sha512",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
		"ef" };
	int i;

	wire_reset(w);
	CHECK_EQ(wire_put(w, magic, 6), 0);
	for (i = 0; i < nfields && i < 4; i++)
		CHECK_EQ(wire_put_cstring(w, field[i]), 0);
}

static void
test_sshsig(void)
{
	struct wire w;
	size_t n, len;
	int r;

	wire_init(&w, 4096);
	put_sshsig(&w, "SSHSIG", 4);
	CHECK_EQ(agentproto_sshsig(wire_ptr(&w), wire_avail(&w)), 0);
	len = wire_avail(&w);
	for (n = 0; n < len; n++) {
		r = agentproto_sshsig(wire_ptr(&w), n);
		if (r == 0)
			fprintf(stderr, "  SSHSIG cut to %zu accepted\n", n);
		CHECK(r != 0);
	}
	CHECK_EQ(wire_put_u8(&w, 0), 0);
	CHECK_EQ(agentproto_sshsig(wire_ptr(&w), wire_avail(&w)), ERR_TRAILING);
	put_sshsig(&w, "SSHSIG", 3);
	CHECK_EQ(agentproto_sshsig(wire_ptr(&w), wire_avail(&w)),
	    ERR_TRUNCATED);
	/* A fifth string. */
	put_sshsig(&w, "SSHSIG", 4);
	CHECK_EQ(wire_put_cstring(&w, "more"), 0);
	CHECK_EQ(agentproto_sshsig(wire_ptr(&w), wire_avail(&w)), ERR_TRAILING);
	put_sshsig(&w, "SSHSIH", 4);
	CHECK_EQ(agentproto_sshsig(wire_ptr(&w), wire_avail(&w)), ERR_FORMAT);
	put_sshsig(&w, "sshsig", 4);
	CHECK_EQ(agentproto_sshsig(wire_ptr(&w), wire_avail(&w)), ERR_FORMAT);
	CHECK_EQ(agentproto_sshsig((const uint8_t *)"SSHSI", 5), ERR_FORMAT);
	CHECK_EQ(agentproto_sshsig((const uint8_t *)"", 0), ERR_FORMAT);
	wire_free(&w);
}

/* REMOVE_IDENTITY, LOCK and UNLOCK: exactly one string. */
static void
test_remove_and_passphrase(void)
{
	static const uint8_t msg[] = { 0, 0, 0, 4, 'b', 'l', 'o', 'b', 0 };
	static const uint8_t empty[] = { 0, 0, 0, 0 };
	int (*const fn[2])(struct wire *, const uint8_t **,
	    size_t *) = { agentproto_remove, agentproto_passphrase };
	const uint8_t *p;
	struct wire w;
	size_t n, len;
	int i, r;

	for (i = 0; i < 2; i++) {
		wire_view(&w, msg, 8);
		CHECK_EQ(fn[i](&w, &p, &len), 0);
		CHECK(p == msg + 4 && len == 4);

		for (n = 0; n < 8; n++) {
			p = msg;
			len = 99;
			wire_view(&w, msg, n);
			r = fn[i](&w, &p, &len);
			CHECK_EQ(r, ERR_TRUNCATED);
			CHECK(p == NULL && len == 0);
		}

		p = msg;
		len = 99;
		wire_view(&w, msg, sizeof(msg));
		CHECK_EQ(fn[i](&w, &p, &len), ERR_TRAILING);
		CHECK(p == NULL && len == 0);

		wire_view(&w, empty, sizeof(empty));
		CHECK_EQ(fn[i](&w, &p, &len), 0);
		CHECK_EQ(len, 0);
	}
}

static void
test_empty(void)
{
	static const uint8_t one[] = { 0 };
	struct wire w;

	wire_view(&w, one, 0);
	CHECK_EQ(agentproto_empty(&w), 0);
	wire_view(&w, one, 1);
	CHECK_EQ(agentproto_empty(&w), ERR_TRAILING);
}

static void
test_extension(void)
{
	static const uint8_t msg[] = { 0, 0, 0, 5, 'q', 'u', 'e', 'r', 'y', 1,
		2, 3 };
	static const uint8_t bare[] = { 0, 0, 0, 5, 'q', 'u', 'e', 'r', 'y' };
	static const uint8_t noname[] = { 0, 0, 0, 0, 1 };
	static const uint8_t nul[] = { 0, 0, 0, 3, 'a', 0, 'b', 7 };
	static const uint8_t junk[2] = { 4, 4 };
	const uint8_t *name;
	struct wire w, rest;
	size_t namelen, n;

	wire_view(&w, msg, sizeof(msg));
	CHECK_EQ(agentproto_extension(&w, &name, &namelen, &rest), 0);
	CHECK(name == msg + 4 && namelen == 5);
	CHECK_EQ(wire_avail(&rest), 3);
	CHECK(wire_ptr(&rest) == msg + 9);

	wire_view(&w, bare, sizeof(bare));
	CHECK_EQ(agentproto_extension(&w, &name, &namelen, &rest), 0);
	CHECK_EQ(namelen, 5);
	CHECK_EQ(wire_avail(&rest), 0);

	for (n = 0; n < sizeof(bare); n++) {
		wire_view(&rest, junk, sizeof(junk));
		name = junk;
		namelen = 9;
		wire_view(&w, bare, n);
		CHECK_EQ(agentproto_extension(&w, &name, &namelen, &rest),
		    ERR_TRUNCATED);
		CHECK(name == NULL && namelen == 0);
		CHECK_EQ(wire_avail(&rest), 0);
	}

	wire_view(&rest, junk, sizeof(junk));
	wire_view(&w, noname, sizeof(noname));
	CHECK_EQ(agentproto_extension(&w, &name, &namelen, &rest), ERR_FORMAT);
	CHECK(name == NULL && namelen == 0);
	CHECK_EQ(wire_avail(&rest), 0);

	wire_view(&rest, junk, sizeof(junk));
	wire_view(&w, nul, sizeof(nul));
	CHECK_EQ(agentproto_extension(&w, &name, &namelen, &rest), ERR_FORMAT);
	CHECK(name == NULL && namelen == 0);
	CHECK_EQ(wire_avail(&rest), 0);
}

/* session-bind@openssh.com: hostkey, session id, signature, forwarding. */
static void
put_bind(struct wire *w, uint8_t fwd)
{
	CHECK_EQ(wire_put_cstring(w, "session-bind@openssh.com"), 0);
	CHECK_EQ(wire_put_string(w, "HOSTKEY", 7), 0);
	CHECK_EQ(wire_put_string(w, "SESSIONID", 9), 0);
	CHECK_EQ(wire_put_string(w, "SIG", 3), 0);
	CHECK_EQ(wire_put_u8(w, fwd), 0);
}

static void
check_bind_zero(const struct agentproto_bind *b)
{
	CHECK(b->hostkey == NULL && b->hostkeylen == 0);
	CHECK(b->session_id == NULL && b->session_idlen == 0);
	CHECK(b->signature == NULL && b->signaturelen == 0);
	CHECK_EQ(b->forwarding, 0);
}

static void
test_session_bind(void)
{
	static const uint8_t bad[] = { 2, 3, 0x80, 0xff };
	struct agentproto_bind b;
	struct wire body, w, rest;
	const uint8_t *name;
	size_t namelen, n, full, i;
	int fwd, r;

	for (fwd = 0; fwd <= 1; fwd++) {
		wire_init(&body, 1024);
		put_bind(&body, (uint8_t)fwd);
		wire_view(&w, wire_ptr(&body), wire_avail(&body));
		CHECK_EQ(agentproto_extension(&w, &name, &namelen, &rest), 0);
		CHECK(namelen == 24 &&
		    memcmp(name, "session-bind@openssh.com", 24) == 0);
		CHECK_EQ(agentproto_session_bind(&rest, &b), 0);
		CHECK(
		    b.hostkeylen == 7 && memcmp(b.hostkey, "HOSTKEY", 7) == 0);
		CHECK(b.session_idlen == 9 &&
		    memcmp(b.session_id, "SESSIONID", 9) == 0);
		CHECK(
		    b.signaturelen == 3 && memcmp(b.signature, "SIG", 3) == 0);
		CHECK_EQ(b.forwarding, fwd);
		wire_free(&body);
	}

	/* The extension's contents alone, cut at every length. */
	wire_init(&body, 1024);
	put_bind(&body, 1);
	CHECK_EQ(wire_consume(&body, 4 + 24), 0);
	full = wire_avail(&body);
	for (n = 0; n < full; n++) {
		memset(&b, 0xaa, sizeof(b));
		wire_view(&rest, wire_ptr(&body), n);
		r = agentproto_session_bind(&rest, &b);
		if (r != ERR_TRUNCATED)
			fprintf(stderr, "  session-bind truncated to %zu: %d\n",
			    n, r);
		CHECK_EQ(r, ERR_TRUNCATED);
		check_bind_zero(&b);
	}

	CHECK_EQ(wire_put_u8(&body, 0), 0);
	memset(&b, 0xaa, sizeof(b));
	wire_view(&rest, wire_ptr(&body), wire_avail(&body));
	CHECK_EQ(agentproto_session_bind(&rest, &b), ERR_TRAILING);
	check_bind_zero(&b);
	wire_free(&body);

	/* The forwarding flag is a boolean: anything above 1 is refused. */
	for (i = 0; i < sizeof(bad); i++) {
		wire_init(&body, 1024);
		put_bind(&body, bad[i]);
		CHECK_EQ(wire_consume(&body, 4 + 24), 0);
		memset(&b, 0xaa, sizeof(b));
		wire_view(&rest, wire_ptr(&body), wire_avail(&body));
		CHECK_EQ(agentproto_session_bind(&rest, &b), ERR_FORMAT);
		check_bind_zero(&b);
		wire_free(&body);
	}
}

static void
test_begin_finish(void)
{
	static const uint8_t want[] = {
		0,
		0,
		0,
		1,
		AGENT_SUCCESS,
		0,
		0,
		0,
		9,
		AGENT_IDENTITIES_ANSWER,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
	};
	struct wire out, body;
	uint8_t type;
	size_t start, framelen;
	uint32_t count;

	wire_init(&out, MAX + 4);
	start = wire_mark(&out);
	CHECK_EQ(agentproto_begin(&out, AGENT_SUCCESS), 0);
	CHECK_EQ(agentproto_finish(&out, start), 0);
	start = wire_mark(&out);
	CHECK_EQ(start, 5);
	CHECK_EQ(agentproto_begin(&out, AGENT_IDENTITIES_ANSWER), 0);
	CHECK_EQ(wire_put_u32(&out, 0), 0);
	CHECK_EQ(wire_put_u32(&out, 0), 0);
	CHECK_EQ(agentproto_finish(&out, start), 0);
	CHECK_EQ(wire_avail(&out), sizeof(want));
	CHECK(memcmp(wire_ptr(&out), want, sizeof(want)) == 0);

	/* What begin/finish build, frame reads back. */
	CHECK_EQ(frame(&out, &type, &body, &framelen), 0);
	CHECK_EQ(type, AGENT_SUCCESS);
	CHECK_EQ(framelen, 5);
	CHECK_EQ(wire_consume(&out, framelen), 0);
	CHECK_EQ(frame(&out, &type, &body, &framelen), 0);
	CHECK_EQ(type, AGENT_IDENTITIES_ANSWER);
	CHECK_EQ(wire_get_u32(&body, &count), 0);
	CHECK_EQ(count, 0);
	wire_free(&out);

	/* A reply of the largest size frame accepts. */
	wire_init(&out, MAX + 4);
	CHECK_EQ(agentproto_begin(&out, AGENT_SIGN_RESPONSE), 0);
	CHECK_EQ(wire_put_string(&out, NULL, 0), 0);
	while (wire_mark(&out) < MAX + 4)
		CHECK_EQ(wire_put_u8(&out, 'x'), 0);
	CHECK_EQ(agentproto_finish(&out, 0), 0);
	CHECK_EQ(frame(&out, &type, &body, &framelen), 0);
	CHECK_EQ(framelen, MAX + 4);
	CHECK_EQ(wire_put_u8(&out, 'x'), ERR_TOO_LONG);
	wire_free(&out);

	/* No room for the header, or nothing to patch: errors. */
	wire_init(&out, 4);
	CHECK_EQ(agentproto_begin(&out, AGENT_FAILURE), ERR_TOO_LONG);
	wire_free(&out);
	wire_init(&out, 64);
	CHECK(agentproto_finish(&out, 0) != 0);
	CHECK_EQ(wire_put_u8(&out, 1), 0);
	CHECK(agentproto_finish(&out, 0) != 0);
	wire_free(&out);
}

/* A userauth request as ssh signs it: method "publickey", or the
 * hostbound one with hostkey. */
static void
put_userauth(struct wire *w, uint8_t type, const char *service,
    const char *method, uint8_t follows, const char *alg, const uint8_t *key,
    size_t keylen, const char *hostkey)
{
	wire_reset(w);
	CHECK_EQ(wire_put_string(w, "session-id", 10), 0);
	CHECK_EQ(wire_put_u8(w, type), 0);
	CHECK_EQ(wire_put_cstring(w, "root"), 0);
	CHECK_EQ(wire_put_cstring(w, service), 0);
	CHECK_EQ(wire_put_cstring(w, method), 0);
	CHECK_EQ(wire_put_u8(w, follows), 0);
	CHECK_EQ(wire_put_cstring(w, alg), 0);
	CHECK_EQ(wire_put_string(w, key, keylen), 0);
	if (hostkey != NULL)
		CHECK_EQ(wire_put_cstring(w, hostkey), 0);
}

static void
test_userauth(void)
{
	static const char hb[] = "publickey-hostbound-v00@openssh.com";
	struct agentproto_userauth ua;
	struct wire ed, rsa, w;
	size_t i, n;

	wire_init(&ed, 256);
	wire_init(&rsa, 256);
	wire_init(&w, 1024);
	put_fake_key(&ed, "ssh-ed25519", "s");
	put_fake_key(&rsa, "ssh-rsa", "mm");
	put_userauth(&w, 50, "ssh-connection", "publickey", 1, "ssh-ed25519",
	    wire_ptr(&ed), wire_avail(&ed), NULL);
	CHECK_EQ(agentproto_userauth(wire_ptr(&w), wire_avail(&w),
		     wire_ptr(&ed), wire_avail(&ed), &ua),
	    0);
	CHECK(ua.session_idlen == 10 &&
	    memcmp(ua.session_id, "session-id", 10) == 0);
	CHECK(ua.userlen == 4 && memcmp(ua.user, "root", 4) == 0);
	CHECK(ua.hostkey == NULL && ua.hostkeylen == 0);
	/* Every truncation is some other signature. */
	n = wire_avail(&w);
	for (i = 0; i < n; i++)
		CHECK(agentproto_userauth(wire_ptr(&w), i, wire_ptr(&ed),
			  wire_avail(&ed), &ua) != 0);
	/* The hostbound method carries the server's host key. */
	put_userauth(&w, 50, "ssh-connection", hb, 1, "ssh-ed25519",
	    wire_ptr(&ed), wire_avail(&ed), "the-host-key");
	CHECK_EQ(agentproto_userauth(wire_ptr(&w), wire_avail(&w),
		     wire_ptr(&ed), wire_avail(&ed), &ua),
	    0);
	CHECK(
	    ua.hostkeylen == 12 && memcmp(ua.hostkey, "the-host-key", 12) == 0);
	CHECK_EQ(wire_put_u8(&w, 0), 0); /* trailing */
	CHECK_EQ(agentproto_userauth(wire_ptr(&w), wire_avail(&w),
		     wire_ptr(&ed), wire_avail(&ed), &ua),
	    ERR_TRAILING);
	CHECK(ua.user == NULL && ua.session_id == NULL);
	/* RSA keys sign under the SHA-2 algorithms too; not under another
	 * key type's name. */
	put_userauth(&w, 50, "ssh-connection", "publickey", 1, "rsa-sha2-512",
	    wire_ptr(&rsa), wire_avail(&rsa), NULL);
	CHECK_EQ(agentproto_userauth(wire_ptr(&w), wire_avail(&w),
		     wire_ptr(&rsa), wire_avail(&rsa), &ua),
	    0);
	put_userauth(&w, 50, "ssh-connection", "publickey", 1, "ssh-ed25519",
	    wire_ptr(&rsa), wire_avail(&rsa), NULL);
	CHECK_EQ(agentproto_userauth(wire_ptr(&w), wire_avail(&w),
		     wire_ptr(&rsa), wire_avail(&rsa), &ua),
	    ERR_FORMAT);
	/* Not this key; not a userauth request; not for ssh-connection; no
	 * signature following; another method. */
	put_userauth(&w, 50, "ssh-connection", "publickey", 1, "ssh-ed25519",
	    wire_ptr(&ed), wire_avail(&ed), NULL);
	CHECK_EQ(agentproto_userauth(wire_ptr(&w), wire_avail(&w),
		     wire_ptr(&rsa), wire_avail(&rsa), &ua),
	    ERR_FORMAT);
	put_userauth(&w, 51, "ssh-connection", "publickey", 1, "ssh-ed25519",
	    wire_ptr(&ed), wire_avail(&ed), NULL);
	CHECK_EQ(agentproto_userauth(wire_ptr(&w), wire_avail(&w),
		     wire_ptr(&ed), wire_avail(&ed), &ua),
	    ERR_FORMAT);
	put_userauth(&w, 50, "ssh-userauth", "publickey", 1, "ssh-ed25519",
	    wire_ptr(&ed), wire_avail(&ed), NULL);
	CHECK(agentproto_userauth(wire_ptr(&w), wire_avail(&w), wire_ptr(&ed),
		  wire_avail(&ed), &ua) != 0);
	put_userauth(&w, 50, "ssh-connection", "publickey", 0, "ssh-ed25519",
	    wire_ptr(&ed), wire_avail(&ed), NULL);
	CHECK_EQ(agentproto_userauth(wire_ptr(&w), wire_avail(&w),
		     wire_ptr(&ed), wire_avail(&ed), &ua),
	    ERR_FORMAT);
	put_userauth(&w, 50, "ssh-connection", "hostbased", 1, "ssh-ed25519",
	    wire_ptr(&ed), wire_avail(&ed), NULL);
	CHECK_EQ(agentproto_userauth(wire_ptr(&w), wire_avail(&w),
		     wire_ptr(&ed), wire_avail(&ed), &ua),
	    ERR_FORMAT);
	/* An SSHSIG blob is not a login. */
	wire_reset(&w);
	CHECK_EQ(wire_put(&w, "SSHSIG", 6), 0);
	CHECK_EQ(wire_put_cstring(&w, "file"), 0);
	CHECK(agentproto_userauth(wire_ptr(&w), wire_avail(&w), wire_ptr(&ed),
		  wire_avail(&ed), &ua) != 0);
	wire_free(&ed);
	wire_free(&rsa);
	wire_free(&w);
}

int
main(void)
{
	RUN(test_frame_incomplete_header);
	RUN(test_frame_incomplete_body);
	RUN(test_frame_exactly_max);
	RUN(test_frame_too_long);
	RUN(test_frame_zero_length);
	RUN(test_frame_back_to_back);
	RUN(test_sign);
	RUN(test_add_each_type);
	RUN(test_add_constrained);
	RUN(test_add_unknown_type);
	RUN(test_add_bad_mpint);
	RUN(test_add_bad_constraints);
	RUN(test_add_sk_provider);
	RUN(test_smartcard);
	RUN(test_sshsig);
	RUN(test_remove_and_passphrase);
	RUN(test_empty);
	RUN(test_extension);
	RUN(test_session_bind);
	RUN(test_userauth);
	RUN(test_begin_finish);
	UNIT_DONE();
}
