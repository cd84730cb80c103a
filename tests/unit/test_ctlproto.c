/*
 * ctlproto: every request and reply type survives encode then decode, field
 * by field; the frame bytes of one request and one reply are pinned; a
 * wrong version, an unknown type, every truncation, trailing bytes, strings
 * that do not fit their field or hold a NUL, too many sessions and flag
 * bytes other than 0 and 1 are refused, and a refused reply leaves *rp
 * zeroed (the decoder clears it on every failure path).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "sserr.h"
#include "unit.h"
#include "wire.h"

/* Large enough for the biggest STATUS body plus a few extra bytes. */
#define BODY_MAX (CTLPROTO_MAX_FRAME + 16)

static const uint8_t req_types[] = { CTL_INIT, CTL_ENV, CTL_LOGOUT, CTL_STATUS,
	CTL_STOP };
static const uint8_t reply_types[] = { CTL_R_OK, CTL_R_ERROR, CTL_R_ENV,
	CTL_R_STATUS };

/* Decoded structs live here: ctl_reply is several KiB. */
static struct ctl_reply got_rp;
static uint8_t bodybuf[BODY_MAX];

static int
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* A string of n 'a's (n < sizeof(long_str)), in a static buffer. */
static char long_str[1024];

static const char *
a_string(size_t n)
{
	memset(long_str, 'a', n);
	long_str[n] = '\0';
	return long_str;
}

/*
 * Encodes rq, takes the frame apart the way the supervisor does and copies
 * its body into bodybuf; returns the body length, or (size_t)-1 with a
 * failed check if the frame is not exactly what was appended.
 */
static size_t
request_body(const struct ctl_request *rq)
{
	struct wire out, body;
	size_t framelen, n = (size_t)-1;
	uint8_t type = 0;

	wire_init(&out, CTLPROTO_MAX_FRAME + 4);
	CHECK_EQ(ctlproto_put_request(&out, rq), 0);
	CHECK_EQ(wire_get_frame(&out, CTLPROTO_MAX_FRAME, &type, &body,
		     &framelen),
	    0);
	CHECK_EQ(framelen, wire_avail(&out));
	CHECK_EQ(type, rq->type);
	if (framelen == wire_avail(&out) && type == rq->type) {
		n = wire_avail(&body);
		memcpy(bodybuf, wire_ptr(&body), n);
	}
	wire_free(&out);
	return n;
}

/* As request_body, for a reply. */
static size_t
reply_body(const struct ctl_reply *rp)
{
	struct wire out, body;
	size_t framelen, n = (size_t)-1;
	uint8_t type = 0;

	wire_init(&out, CTLPROTO_MAX_FRAME + 4);
	CHECK_EQ(ctlproto_put_reply(&out, rp), 0);
	CHECK_EQ(wire_get_frame(&out, CTLPROTO_MAX_FRAME, &type, &body,
		     &framelen),
	    0);
	CHECK_EQ(framelen, wire_avail(&out));
	CHECK_EQ(type, rp->type);
	if (framelen == wire_avail(&out) && type == rp->type) {
		n = wire_avail(&body);
		memcpy(bodybuf, wire_ptr(&body), n);
	}
	wire_free(&out);
	return n;
}

/* Decodes n bytes of bodybuf as a request, its output preset to garbage. */
static int
decode_request(uint8_t type, size_t n, struct ctl_request *rq)
{
	struct wire w;

	memset(rq, 0xa5, sizeof(*rq));
	wire_view(&w, bodybuf, n);
	return ctlproto_get_request(type, &w, rq);
}

/* Decodes n bytes of bodybuf as a reply into got_rp, preset to garbage. */
static int
decode_reply(uint8_t type, size_t n)
{
	struct wire w;

	memset(&got_rp, 0xa5, sizeof(got_rp));
	wire_view(&w, bodybuf, n);
	return ctlproto_get_reply(type, &w, &got_rp);
}

/*
 * Compares every field of a decoded reply with what was sent, for the
 * fields its type carries, and with zero for the others (the decoder
 * invents nothing).  Returns the number of differences.
 */
static int
reply_differs(const struct ctl_reply *got, const struct ctl_reply *sent)
{
	struct ctl_reply want;
	int bad = 0;
	uint32_t i;

	memset(&want, 0, sizeof(want));
	want.type = sent->type;
	switch (sent->type) {
	case CTL_R_ERROR:
		want.code = sent->code;
		memcpy(want.message, sent->message, sizeof(want.message));
		break;
	case CTL_R_ENV:
		memcpy(want.sock, sent->sock, sizeof(want.sock));
		want.agent_pid = sent->agent_pid;
		memcpy(want.warning, sent->warning, sizeof(want.warning));
		break;
	case CTL_R_STATUS:
		memcpy(want.sock, sent->sock, sizeof(want.sock));
		want.agent_pid = sent->agent_pid;
		want.supervisor_pid = sent->supervisor_pid;
		want.keys = sent->keys;
		want.locked = sent->locked;
		want.systemd = sent->systemd;
		want.lingering = sent->lingering;
		memcpy(want.policy, sent->policy, sizeof(want.policy));
		memcpy(want.agent_state, sent->agent_state,
		    sizeof(want.agent_state));
		want.nsessions = sent->nsessions;
		memcpy(want.sessions, sent->sessions,
		    sizeof(want.sessions[0]) * sent->nsessions);
		memcpy(want.agent_lost, sent->agent_lost,
		    sizeof(want.agent_lost));
		memcpy(want.config_error, sent->config_error,
		    sizeof(want.config_error));
		break;
	}
	bad += got->type != want.type;
	bad += got->code != want.code;
	bad += strcmp(got->message, want.message) != 0;
	bad += strcmp(got->sock, want.sock) != 0;
	bad += got->agent_pid != want.agent_pid;
	bad += strcmp(got->warning, want.warning) != 0;
	bad += got->supervisor_pid != want.supervisor_pid;
	bad += got->keys != want.keys;
	bad += got->locked != want.locked;
	bad += got->systemd != want.systemd;
	bad += got->lingering != want.lingering;
	bad += strcmp(got->policy, want.policy) != 0;
	bad += strcmp(got->agent_state, want.agent_state) != 0;
	bad += got->nsessions != want.nsessions;
	bad += strcmp(got->agent_lost, want.agent_lost) != 0;
	bad += strcmp(got->config_error, want.config_error) != 0;
	for (i = 0; i < CTLPROTO_MAX_SESSIONS; i++)
		bad += got->sessions[i] != want.sessions[i];
	return bad;
}

/* ---- requests ---- */

static void
test_request_roundtrip(void)
{
	static const struct ctl_request cases[] = {
		{ CTL_INIT, 1, "" },
		{ CTL_INIT, 4242, "/tmp/ssh-XXXXabc/agent.4241" },
		{ CTL_INIT, INT32_MAX, "" },
		{ CTL_LOGOUT, 2, "" },
		{ CTL_LOGOUT, INT32_MAX, "" },
		{ CTL_ENV, 0, "" },
		{ CTL_STATUS, 0, "" },
		{ CTL_STOP, 0, "" },
	};
	struct ctl_request rq;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = request_body(&cases[i]);
		CHECK_EQ(decode_request(cases[i].type, n, &rq), 0);
		if (rq.type != cases[i].type || rq.sid != cases[i].sid)
			fprintf(stderr, "  request case %zu\n", i);
		CHECK_EQ(rq.type, cases[i].type);
		CHECK_EQ(rq.sid, cases[i].sid);
		CHECK(strcmp(rq.fwd, cases[i].fwd) == 0);
	}
}

/* INIT's forwarded agent: an absolute path that fits, or nothing. */
static void
test_request_fwd_path(void)
{
	static const char *const bad[] = { "relative/agent.1", "/x\0y" };
	uint8_t body[256];
	struct ctl_request rq;
	struct wire in;
	size_t i, n;
	char longp[CTLPROTO_SOCK_MAX + 1];

	for (i = 0; i < 3; i++) {
		const char *p = i < 2 ? bad[i] : longp;

		if (i == 2) {
			memset(longp, 'a', sizeof(longp) - 1);
			longp[0] = '/';
			longp[sizeof(longp) - 1] = '\0';
		}
		n = i == 1 ? 5 : strlen(p);
		body[0] = 0;
		body[1] = 0;
		body[2] = 0;
		body[3] = CTLPROTO_VERSION;
		memcpy(body + 4, "\0\0\0\x07", 4);
		body[8] = 0;
		body[9] = 0;
		body[10] = (uint8_t)(n >> 8);
		body[11] = (uint8_t)n;
		memcpy(body + 12, p, n);
		wire_view(&in, body, 12 + n);
		CHECK_EQ(ctlproto_get_request(CTL_INIT, &in, &rq), ERR_FORMAT);
		CHECK_EQ(rq.fwd[0], 0);
	}
}

/* A sid set on a request type that has none is neither sent nor invented. */
static void
test_request_sid_not_carried(void)
{
	static const uint8_t types[] = { CTL_ENV, CTL_STATUS, CTL_STOP };
	struct ctl_request in, rq;
	size_t i, n;

	for (i = 0; i < sizeof(types); i++) {
		in.type = types[i];
		in.sid = 777;
		in.fwd[0] = '\0';
		n = request_body(&in);
		CHECK_EQ(n, 4);
		CHECK_EQ(decode_request(types[i], n, &rq), 0);
		CHECK_EQ(rq.type, types[i]);
		CHECK_EQ(rq.sid, 0);
	}
}

/* The bytes on the socket, so that a format change is a visible choice. */
static void
test_request_bytes(void)
{
	static const uint8_t want[] = {
		0, 0, 0, 15, /* length */
		CTL_INIT, 0, 0, 0, CTLPROTO_VERSION, 0x01, 0x02, 0x03,
		0x04,		      /* sid */
		0, 0, 0, 2, '/', 'f', /* the forwarded agent */
	};
	struct ctl_request rq = { CTL_INIT, 0x01020304, "/f" };
	struct wire out;

	wire_init(&out, 64);
	CHECK_EQ(ctlproto_put_request(&out, &rq), 0);
	CHECK_EQ(wire_avail(&out), sizeof(want));
	CHECK(memcmp(wire_ptr(&out), want, sizeof(want)) == 0);
	wire_free(&out);
}

/* A session leader is a pid: 0 and anything over INT32_MAX are refused. */
static void
test_request_sid_range(void)
{
	static const uint32_t bad[] = { 0x80000000u, 0xfffffffeu, 0xffffffffu };
	static const uint8_t types[] = { CTL_INIT, CTL_LOGOUT };
	struct ctl_request in, rq;
	size_t i, j, n;

	for (j = 0; j < sizeof(types); j++) {
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			in.type = types[j];
			in.sid = bad[i];
			n = request_body(&in);
			CHECK_EQ(decode_request(types[j], n, &rq), ERR_FORMAT);
			/* Nothing is left half-filled on failure. */
			CHECK_EQ(rq.type, 0);
			CHECK_EQ(rq.sid, 0);
		}
	}
}

static void
test_request_version(void)
{
	static const uint32_t versions[] = { 0, 1, CTLPROTO_VERSION + 1,
		0x00000200u, 0xffffffffu };
	struct ctl_request rq;
	size_t i, j, n;
	uint32_t v;

	for (j = 0; j < sizeof(req_types); j++) {
		for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
			rq.type = req_types[j];
			rq.sid = 1234;
			n = request_body(&rq);
			/* The version is the first u32 of every body. */
			v = versions[i];
			bodybuf[0] = (uint8_t)(v >> 24);
			bodybuf[1] = (uint8_t)(v >> 16);
			bodybuf[2] = (uint8_t)(v >> 8);
			bodybuf[3] = (uint8_t)v;
			CHECK_EQ(decode_request(req_types[j], n, &rq),
			    ERR_PROTOCOL);
			CHECK(all_zero(&rq, sizeof(rq)));
		}
	}
}

static void
test_request_unknown_type(void)
{
	static const uint8_t types[] = { 0, 6, 63, CTL_R_OK, CTL_R_ERROR,
		CTL_R_ENV, CTL_R_STATUS, 128, 255 };
	struct ctl_request in = { CTL_INIT, 99, "" }, rq;
	size_t i, n;

	/* A well-formed INIT body (version and sid) under each type. */
	n = request_body(&in);
	for (i = 0; i < sizeof(types); i++) {
		CHECK_EQ(decode_request(types[i], n, &rq), ERR_UNSUPPORTED);
		CHECK(all_zero(&rq, sizeof(rq)));
		/* ... and the bare version, as ENV would send it. */
		CHECK_EQ(decode_request(types[i], 4, &rq), ERR_UNSUPPORTED);
		CHECK_EQ(rq.type, 0);
	}
}

/* Every proper prefix of every valid request body. */
static void
test_request_truncated(void)
{
	struct ctl_request in, rq;
	size_t i, len, n;
	int r;

	for (i = 0; i < sizeof(req_types); i++) {
		in.type = req_types[i];
		in.sid = 0x7f010203;
		snprintf(in.fwd, sizeof(in.fwd), "/f");
		n = request_body(&in);
		CHECK(n == 4 || n == 8 || n == 14);
		for (len = 0; len < n; len++) {
			r = decode_request(req_types[i], len, &rq);
			if (r != ERR_TRUNCATED)
				fprintf(stderr, "  type %d, %zu of %zu bytes\n",
				    req_types[i], len, n);
			CHECK_EQ(r, ERR_TRUNCATED);
			CHECK(all_zero(&rq, sizeof(rq)));
		}
	}
}

static void
test_request_trailing(void)
{
	struct ctl_request in, rq;
	size_t i, n, extra;

	for (i = 0; i < sizeof(req_types); i++) {
		for (extra = 1; extra <= 5; extra += 4) {
			in.type = req_types[i];
			in.sid = 5;
			n = request_body(&in);
			memset(bodybuf + n, 0, extra);
			CHECK_EQ(decode_request(req_types[i], n + extra, &rq),
			    ERR_TRAILING);
			CHECK_EQ(rq.type, 0);
			/* The same body without the extra bytes is fine. */
			CHECK_EQ(decode_request(req_types[i], n, &rq), 0);
		}
	}
}

/* The encoder refuses what the decoder would refuse as unknown. */
static void
test_put_request_unknown(void)
{
	static const uint8_t types[] = { 0, 6, CTL_R_OK, 255 };
	struct ctl_request rq;
	struct wire out;
	size_t i;

	for (i = 0; i < sizeof(types); i++) {
		wire_init(&out, 64);
		CHECK_EQ(wire_put(&out, "before", 6), 0);
		rq.type = types[i];
		rq.sid = 1;
		CHECK_EQ(ctlproto_put_request(&out, &rq), ERR_INTERNAL);
		/* A failed encode appends nothing: no half frame. */
		CHECK_EQ(wire_avail(&out), 6);
		wire_free(&out);
	}
}

/* ---- replies ---- */

/* Fills a string field to the brim: size - 1 'a's and the NUL. */
static void
fill_full(char *field, size_t size)
{
	memset(field, 'a', size - 1);
	field[size - 1] = '\0';
}

/* A STATUS reply with n sessions, its sock and policy as long as can be. */
static void
fill_status(struct ctl_reply *rp, uint32_t n)
{
	uint32_t i;

	memset(rp, 0, sizeof(*rp));
	rp->type = CTL_R_STATUS;
	fill_full(rp->sock, sizeof(rp->sock));
	rp->sock[0] = '/';
	rp->agent_pid = 0x7ffffffe;
	rp->supervisor_pid = 31337;
	rp->keys = -1;
	rp->locked = 1;
	rp->systemd = 0;
	fill_full(rp->policy, sizeof(rp->policy));
	snprintf(rp->agent_state, sizeof(rp->agent_state), "running");
	rp->lingering = n == 0;
	rp->nsessions = n;
	for (i = 0; i < n; i++)
		rp->sessions[i] = 0x01000000u + i * 7919u;
	fill_full(rp->agent_lost, sizeof(rp->agent_lost));
	fill_full(rp->config_error, sizeof(rp->config_error));
}

/* The sample replies the round-trip, truncation and trailing tests use. */
static struct ctl_reply samples[12];
static size_t nsamples;

static void
make_samples(void)
{
	struct ctl_reply *rp;

	memset(samples, 0, sizeof(samples));
	nsamples = 0;

	rp = &samples[nsamples++];
	rp->type = CTL_R_OK;

	rp = &samples[nsamples++];
	rp->type = CTL_R_ERROR;
	rp->code = ERR_PROTOCOL;
	snprintf(rp->message, sizeof(rp->message), "version mismatch");

	rp = &samples[nsamples++];
	rp->type = CTL_R_ERROR;
	rp->code = INT32_MIN;
	fill_full(rp->message, sizeof(rp->message));

	rp = &samples[nsamples++];
	rp->type = CTL_R_ERROR;
	rp->code = INT32_MAX; /* an empty message */

	rp = &samples[nsamples++];
	rp->type = CTL_R_ENV;
	snprintf(rp->sock, sizeof(rp->sock), "/run/user/1000/sshenv/a.sock");
	rp->agent_pid = 4321;

	rp = &samples[nsamples++];
	rp->type = CTL_R_ENV;
	fill_full(rp->sock, sizeof(rp->sock));
	rp->agent_pid = 0xffffffffu;
	fill_full(rp->warning, sizeof(rp->warning));

	rp = &samples[nsamples++];
	fill_status(rp, 0);

	rp = &samples[nsamples++];
	fill_status(rp, 1);
	rp->keys = 3;
	rp->locked = 0;
	rp->systemd = 1;
	/* An empty sock and state: "" is a valid string. */
	rp->sock[0] = '\0';
	rp->agent_state[0] = '\0';

	rp = &samples[nsamples++];
	fill_status(rp, CTLPROTO_MAX_SESSIONS);
	rp->keys = INT32_MIN;
	rp->locked = 1;
	rp->systemd = 1;
}

static void
test_reply_roundtrip(void)
{
	size_t i, n;
	int r;

	make_samples();
	for (i = 0; i < nsamples; i++) {
		/* Garbage in the fields the type does not carry. */
		if (samples[i].type != CTL_R_STATUS)
			samples[i].supervisor_pid = 99;
		if (samples[i].type == CTL_R_OK)
			samples[i].code = -5;
		n = reply_body(&samples[i]);
		r = decode_reply(samples[i].type, n);
		CHECK_EQ(r, 0);
		if (r != 0 || reply_differs(&got_rp, &samples[i]) != 0) {
			fprintf(stderr, "  reply sample %zu\n", i);
			CHECK(0);
		}
	}
}

/* The STATUS body with the most sessions fits in a frame. */
static void
test_reply_max_status_fits(void)
{
	static struct ctl_reply rp;
	size_t n;

	fill_status(&rp, CTLPROTO_MAX_SESSIONS);
	n = reply_body(&rp);
	CHECK(n != (size_t)-1);
	CHECK(n > 4 * CTLPROTO_MAX_SESSIONS);
	CHECK(n < CTLPROTO_MAX_FRAME);
	CHECK_EQ(decode_reply(CTL_R_STATUS, n), 0);
	CHECK_EQ(got_rp.nsessions, CTLPROTO_MAX_SESSIONS);
	CHECK_EQ(got_rp.sessions[CTLPROTO_MAX_SESSIONS - 1],
	    rp.sessions[CTLPROTO_MAX_SESSIONS - 1]);
}

static void
test_reply_bytes(void)
{
	static const uint8_t want[] = {
		0, 0, 0, 22, /* length */
		CTL_R_ENV, 0, 0, 0, 6, '/', 's', '/', 'a', '.', 's', 0, 0, 0x30,
		0x39,			 /* agent pid 12345 */
		0, 0, 0, 2, 'w', '!', 1, /* followed */
	};
	static struct ctl_reply rp;
	struct wire out;

	memset(&rp, 0, sizeof(rp));
	rp.type = CTL_R_ENV;
	snprintf(rp.sock, sizeof(rp.sock), "/s/a.s");
	rp.agent_pid = 12345;
	snprintf(rp.warning, sizeof(rp.warning), "w!");
	rp.followed = 1;
	wire_init(&out, 256);
	CHECK_EQ(ctlproto_put_reply(&out, &rp), 0);
	CHECK_EQ(wire_avail(&out), sizeof(want));
	CHECK(memcmp(wire_ptr(&out), want, sizeof(want)) == 0);
	wire_free(&out);
}

static void
test_reply_unknown_type(void)
{
	static const uint8_t types[] = { 0, CTL_INIT, CTL_ENV, CTL_LOGOUT,
		CTL_STATUS, CTL_STOP, 63, 68, 128, 255 };
	size_t i;

	for (i = 0; i < sizeof(types); i++) {
		CHECK_EQ(decode_reply(types[i], 0), ERR_UNSUPPORTED);
		CHECK(all_zero(&got_rp, sizeof(got_rp)));
	}
}

/* Every proper prefix of every sample body; *rp zeroed each time. */
static void
test_reply_truncated(void)
{
	size_t i, len, n;
	int r, bad;

	make_samples();
	for (i = 0; i < nsamples; i++) {
		n = reply_body(&samples[i]);
		if (n == (size_t)-1)
			continue;
		bad = 0;
		for (len = 0; len < n; len++) {
			r = decode_reply(samples[i].type, len);
			if (r != ERR_TRUNCATED ||
			    !all_zero(&got_rp, sizeof(got_rp))) {
				if (bad++ == 0)
					fprintf(stderr,
					    "  sample %zu, %zu of "
					    "%zu bytes: %d\n",
					    i, len, n, r);
				CHECK_EQ(r, ERR_TRUNCATED);
				CHECK(all_zero(&got_rp, sizeof(got_rp)));
			}
		}
	}
}

static void
test_reply_trailing(void)
{
	size_t i, n;

	make_samples();
	for (i = 0; i < nsamples; i++) {
		n = reply_body(&samples[i]);
		if (n == (size_t)-1)
			continue;
		bodybuf[n] = 0;
		CHECK_EQ(decode_reply(samples[i].type, n + 1), ERR_TRAILING);
		CHECK(all_zero(&got_rp, sizeof(got_rp)));
		/* Four zero bytes would also read as one more session. */
		memset(bodybuf + n, 0, 4);
		CHECK_EQ(decode_reply(samples[i].type, n + 4), ERR_TRAILING);
		CHECK(all_zero(&got_rp, sizeof(got_rp)));
	}
}

/*
 * Reply bodies built by hand from a list of fields, to send what the
 * encoder never would: strings of any length or content, any count.
 */
enum fkind { F_END, F_U8, F_U32, F_STR, F_U32S };

struct field {
	enum fkind kind;
	uint32_t v;    /* F_U8, F_U32; F_U32S: how many */
	const char *s; /* F_STR */
	size_t n;
};

#define STR(lit) \
	{ \
		F_STR, 0, lit, sizeof(lit) - 1 \
	}

/* Field indexes in the templates below, for the tests that change one. */
enum { ERR_MSG = 1 };
enum { ENV_SOCK = 0, ENV_WARN = 2 };
enum {
	ST_SOCK = 0,
	ST_LOCKED = 4,
	ST_SYSTEMD = 5,
	ST_POLICY = 6,
	ST_STATE = 7,
	ST_LINGER = 8,
	ST_NSESS = 9,
	ST_SESS = 10,
	ST_LOST = 11,
	ST_CONFIG = 12,
	ST_LOGIND = 16
};

static const struct field error_tpl[] = { { F_U32, 5, NULL, 0 }, STR("oops"),
	{ F_END, 0, NULL, 0 } };
static const struct field env_tpl[] = { STR("/r/a.sock"),
	{ F_U32, 77, NULL, 0 }, STR(""), { F_U8, 0, NULL, 0 },
	{ F_END, 0, NULL, 0 } };
static const struct field status_tpl[] = { STR("/r/a.sock"),
	{ F_U32, 77, NULL, 0 }, { F_U32, 78, NULL, 0 }, { F_U32, 2, NULL, 0 },
	{ F_U8, 0, NULL, 0 }, { F_U8, 1, NULL, 0 }, STR("stop"), STR("running"),
	{ F_U8, 1, NULL, 0 }, { F_U32, 2, NULL, 0 }, { F_U32S, 2, NULL, 0 },
	STR(""), STR(""), { F_U32, 1, NULL, 0 }, { F_U32, 42, NULL, 0 },
	STR("/tmp/ssh-x/agent.41"), STR("listening to systemd-logind"),
	{ F_END, 0, NULL, 0 } };

/* Writes the fields into bodybuf; returns the length. */
static size_t
build(const struct field *f)
{
	struct wire w;
	size_t n;
	uint32_t i;

	wire_init(&w, sizeof(bodybuf));
	for (; f->kind != F_END; f++) {
		switch (f->kind) {
		case F_U8: CHECK_EQ(wire_put_u8(&w, (uint8_t)f->v), 0); break;
		case F_U32: CHECK_EQ(wire_put_u32(&w, f->v), 0); break;
		case F_STR: CHECK_EQ(wire_put_string(&w, f->s, f->n), 0); break;
		case F_U32S:
			for (i = 0; i < f->v; i++)
				CHECK_EQ(wire_put_u32(&w, i + 1), 0);
			break;
		case F_END: break;
		}
	}
	n = wire_avail(&w);
	memcpy(bodybuf, wire_ptr(&w), n);
	wire_free(&w);
	return n;
}

/* A copy of a template with field idx replaced. */
static struct field tpl_copy[24];

static struct field *
with(const struct field *tpl, int idx, struct field repl)
{
	int i;

	for (i = 0; tpl[i].kind != F_END; i++)
		tpl_copy[i] = tpl[i];
	tpl_copy[i] = tpl[i];
	tpl_copy[idx] = repl;
	return tpl_copy;
}

/* The templates themselves decode, so a refusal below has one cause. */
static void
test_templates_decode(void)
{
	CHECK_EQ(decode_reply(CTL_R_ERROR, build(error_tpl)), 0);
	CHECK_EQ(got_rp.code, 5);
	CHECK(strcmp(got_rp.message, "oops") == 0);
	CHECK_EQ(decode_reply(CTL_R_ENV, build(env_tpl)), 0);
	CHECK(strcmp(got_rp.sock, "/r/a.sock") == 0);
	CHECK_EQ(got_rp.agent_pid, 77);
	CHECK_EQ(decode_reply(CTL_R_STATUS, build(status_tpl)), 0);
	CHECK_EQ(got_rp.supervisor_pid, 78);
	CHECK_EQ(got_rp.keys, 2);
	CHECK_EQ(got_rp.systemd, 1);
	CHECK(strcmp(got_rp.policy, "stop") == 0);
	CHECK(strcmp(got_rp.agent_state, "running") == 0);
	CHECK_EQ(got_rp.lingering, 1);
	CHECK_EQ(got_rp.nsessions, 2);
	CHECK_EQ(got_rp.sessions[1], 2);
}

/* Each string field: size - 1 bytes fit, size and more do not. */
static void
test_reply_long_strings(void)
{
	static const struct {
		uint8_t type;
		const struct field *tpl;
		int idx;
		size_t size;
	} cases[] = {
		{ CTL_R_ERROR, error_tpl, ERR_MSG, sizeof(got_rp.message) },
		{ CTL_R_ENV, env_tpl, ENV_SOCK, sizeof(got_rp.sock) },
		{ CTL_R_ENV, env_tpl, ENV_WARN, sizeof(got_rp.warning) },
		{ CTL_R_STATUS, status_tpl, ST_SOCK, sizeof(got_rp.sock) },
		{ CTL_R_STATUS, status_tpl, ST_POLICY, sizeof(got_rp.policy) },
		{ CTL_R_STATUS, status_tpl, ST_STATE,
		    sizeof(got_rp.agent_state) },
		{ CTL_R_STATUS, status_tpl, ST_LOST,
		    sizeof(got_rp.agent_lost) },
		{ CTL_R_STATUS, status_tpl, ST_CONFIG,
		    sizeof(got_rp.config_error) },
		{ CTL_R_STATUS, status_tpl, ST_LOGIND, sizeof(got_rp.logind) },
	};
	static const size_t over[] = { 0, 1, 100 };
	struct field f = { F_STR, 0, NULL, 0 };
	size_t i, j, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f.s = a_string(cases[i].size + 100);
		f.n = cases[i].size - 1;
		n = build(with(cases[i].tpl, cases[i].idx, f));
		CHECK_EQ(decode_reply(cases[i].type, n), 0);
		for (j = 0; j < sizeof(over) / sizeof(over[0]); j++) {
			f.n = cases[i].size + over[j];
			n = build(with(cases[i].tpl, cases[i].idx, f));
			if (decode_reply(cases[i].type, n) != ERR_TOO_LONG)
				fprintf(stderr, "  case %zu, %zu bytes\n", i,
				    f.n);
			CHECK_EQ(decode_reply(cases[i].type, n), ERR_TOO_LONG);
			CHECK(all_zero(&got_rp, sizeof(got_rp)));
		}
	}
}

/* ctlproto.c's get_str: "no NUL inside". */
static void
test_reply_nul_in_string(void)
{
	static const struct {
		uint8_t type;
		const struct field *tpl;
		int idx;
	} cases[] = {
		{ CTL_R_ERROR, error_tpl, ERR_MSG },
		{ CTL_R_ENV, env_tpl, ENV_SOCK },
		{ CTL_R_ENV, env_tpl, ENV_WARN },
		{ CTL_R_STATUS, status_tpl, ST_SOCK },
		{ CTL_R_STATUS, status_tpl, ST_POLICY },
		{ CTL_R_STATUS, status_tpl, ST_STATE },
		{ CTL_R_STATUS, status_tpl, ST_LOST },
		{ CTL_R_STATUS, status_tpl, ST_CONFIG },
	};
	static const struct field nuls[] = {
		STR("a\0b"),
		STR("ab\0"),
		STR("\0"),
		STR("\0ab"),
	};
	size_t i, j, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (j = 0; j < sizeof(nuls) / sizeof(nuls[0]); j++) {
			n = build(with(cases[i].tpl, cases[i].idx, nuls[j]));
			CHECK_EQ(decode_reply(cases[i].type, n), ERR_FORMAT);
			CHECK(all_zero(&got_rp, sizeof(got_rp)));
		}
	}
}

static void
test_reply_nsessions(void)
{
	struct field count = { F_U32, 0, NULL, 0 };
	struct field list = { F_U32S, 0, NULL, 0 };
	struct field *f;
	size_t n;

	/* Exactly the maximum, then one more with every session present. */
	count.v = list.v = CTLPROTO_MAX_SESSIONS;
	f = with(status_tpl, ST_NSESS, count);
	f[ST_SESS] = list;
	n = build(f);
	CHECK_EQ(decode_reply(CTL_R_STATUS, n), 0);
	CHECK_EQ(got_rp.nsessions, CTLPROTO_MAX_SESSIONS);

	count.v = list.v = CTLPROTO_MAX_SESSIONS + 1;
	f = with(status_tpl, ST_NSESS, count);
	f[ST_SESS] = list;
	n = build(f);
	CHECK_EQ(decode_reply(CTL_R_STATUS, n), ERR_FORMAT);
	CHECK(all_zero(&got_rp, sizeof(got_rp)));

	/* A huge count is judged before any session is read. */
	count.v = 0xffffffffu;
	list.v = 0;
	f = with(status_tpl, ST_NSESS, count);
	f[ST_SESS] = list;
	n = build(f);
	CHECK_EQ(decode_reply(CTL_R_STATUS, n), ERR_FORMAT);
	CHECK(all_zero(&got_rp, sizeof(got_rp)));

	/* Fewer sessions than the count says. */
	count.v = 3;
	list.v = 2;
	f = with(status_tpl, ST_NSESS, count);
	f[ST_SESS] = list;
	n = build(f);
	/* (What follows is read as sessions: it fails somewhere.) */
	CHECK(decode_reply(CTL_R_STATUS, n) != 0);
}

static void
test_put_reply_too_many_sessions(void)
{
	static struct ctl_reply rp;
	struct wire out;

	fill_status(&rp, CTLPROTO_MAX_SESSIONS);
	rp.nsessions = CTLPROTO_MAX_SESSIONS + 1;
	wire_init(&out, CTLPROTO_MAX_FRAME + 4);
	CHECK_EQ(ctlproto_put_reply(&out, &rp), ERR_TOO_LONG);
	CHECK_EQ(wire_avail(&out), 0);
	wire_free(&out);
}

/* locked, systemd and lingering are booleans: 0 and 1 only. */
static uint8_t
flag_of(int idx)
{
	return idx == ST_LOCKED ? got_rp.locked :
	    idx == ST_SYSTEMD	? got_rp.systemd :
				  got_rp.lingering;
}

static void
test_reply_flags(void)
{
	static const int idx[] = { ST_LOCKED, ST_SYSTEMD, ST_LINGER };
	static const uint32_t bad[] = { 2, 3, 0x80, 0xff };
	struct field f = { F_U8, 0, NULL, 0 };
	size_t i, j;
	uint32_t v;

	for (j = 0; j < sizeof(idx) / sizeof(idx[0]); j++) {
		for (v = 0; v <= 1; v++) {
			f.v = v;
			CHECK_EQ(decode_reply(CTL_R_STATUS,
				     build(with(status_tpl, idx[j], f))),
			    0);
			CHECK_EQ(flag_of(idx[j]), v);
		}
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			f.v = bad[i];
			CHECK_EQ(decode_reply(CTL_R_STATUS,
				     build(with(status_tpl, idx[j], f))),
			    ERR_FORMAT);
			CHECK(all_zero(&got_rp, sizeof(got_rp)));
		}
	}
}

static void
test_put_reply_unknown(void)
{
	static const uint8_t types[] = { 0, CTL_INIT, 63, 68, 255 };
	static struct ctl_reply rp;
	struct wire out;
	size_t i;

	memset(&rp, 0, sizeof(rp));
	for (i = 0; i < sizeof(types); i++) {
		wire_init(&out, 64);
		rp.type = types[i];
		CHECK_EQ(ctlproto_put_reply(&out, &rp), ERR_INTERNAL);
		wire_free(&out);
	}
	/* Each known reply type encodes from an all-zero struct. */
	for (i = 0; i < sizeof(reply_types); i++) {
		wire_init(&out, 64);
		rp.type = reply_types[i];
		CHECK_EQ(ctlproto_put_reply(&out, &rp), 0);
		wire_free(&out);
	}
}

int
main(void)
{
	RUN(test_request_roundtrip);
	RUN(test_request_fwd_path);
	RUN(test_request_sid_not_carried);
	RUN(test_request_bytes);
	RUN(test_request_sid_range);
	RUN(test_request_version);
	RUN(test_request_unknown_type);
	RUN(test_request_truncated);
	RUN(test_request_trailing);
	RUN(test_put_request_unknown);
	RUN(test_reply_roundtrip);
	RUN(test_reply_max_status_fits);
	RUN(test_reply_bytes);
	RUN(test_reply_unknown_type);
	RUN(test_reply_truncated);
	RUN(test_reply_trailing);
	RUN(test_templates_decode);
	RUN(test_reply_long_strings);
	RUN(test_reply_nul_in_string);
	RUN(test_reply_nsessions);
	RUN(test_put_reply_too_many_sessions);
	RUN(test_reply_flags);
	RUN(test_put_reply_unknown);
	UNIT_DONE();
}
