/*
 * libFuzzer harness: control protocol frames, decoded as requests and as
 * replies, with what the decoders mean checked, not only that they do not
 * crash:
 *  - an accepted frame is the canonical encoding of what it decoded to:
 *    encoding the result gives back the very same bytes, and decoding
 *    those gives the same value;
 *  - an accepted value keeps the protocol's promises (flags 0 or 1, the
 *    session count within its bound, strings NUL-terminated in their
 *    fields);
 *  - an accepted body cut short, or with a byte more, is rejected;
 *  - a rejected body stays rejected, with the same code, when decoded
 *    again (no state leaks from one decode to the next).
 * abort() marks a broken promise.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "sserr.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MUST(cond) \
	do { \
		if (!(cond)) \
			abort(); \
	} while (0)

static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* Decodes body as a request (as_reply 0) or a reply; the result code. */
static int
decode(int as_reply, uint8_t type, const uint8_t *p, size_t n,
    struct ctl_request *rq, struct ctl_reply *rp)
{
	struct wire w;

	wire_view(&w, p, n);
	return as_reply ? ctlproto_get_reply(type, &w, rp) :
			  ctlproto_get_request(type, &w, rq);
}

static void
check_reply(const struct ctl_reply *rp)
{
	MUST(terminated(rp->message, sizeof(rp->message)));
	MUST(terminated(rp->sock, sizeof(rp->sock)));
	MUST(terminated(rp->warning, sizeof(rp->warning)));
	MUST(terminated(rp->policy, sizeof(rp->policy)));
	MUST(terminated(rp->agent_state, sizeof(rp->agent_state)));
	MUST(rp->locked <= 1 && rp->systemd <= 1 && rp->lingering <= 1);
	MUST(rp->nsessions <= CTLPROTO_MAX_SESSIONS);
}

static void
one(int as_reply, uint8_t type, const uint8_t *frame, size_t framelen,
    const uint8_t *body, size_t bodylen, struct wire *out)
{
	static struct ctl_reply rp, rp2;
	static uint8_t longer[CTLPROTO_MAX_FRAME + 1];
	struct ctl_request rq, rq2;
	struct wire b2;
	size_t fl2;
	uint8_t t2;
	int r, r2;

	r = decode(as_reply, type, body, bodylen, &rq, &rp);
	if (r != 0) {
		r2 = decode(as_reply, type, body, bodylen, &rq2, &rp2);
		MUST(r2 == r);
		return;
	}
	if (as_reply)
		check_reply(&rp);
	/* Canonical: the same bytes again, and the same value from them. */
	wire_reset(out);
	MUST((as_reply ? ctlproto_put_reply(out, &rp) :
			 ctlproto_put_request(out, &rq)) == 0);
	MUST(wire_avail(out) == framelen &&
	    memcmp(wire_ptr(out), frame, framelen) == 0);
	MUST(wire_get_frame(out, CTLPROTO_MAX_FRAME, &t2, &b2, &fl2) == 0);
	if (as_reply) {
		MUST(ctlproto_get_reply(t2, &b2, &rp2) == 0);
		MUST(memcmp(&rp, &rp2, sizeof(rp)) == 0);
	} else {
		MUST(ctlproto_get_request(t2, &b2, &rq2) == 0);
		MUST(memcmp(&rq, &rq2, sizeof(rq)) == 0);
	}
	/* Cut short anywhere cheap to try, or one byte more: rejected. */
	if (bodylen > 0) {
		MUST(
		    decode(as_reply, type, body, bodylen - 1, &rq2, &rp2) != 0);
		MUST(
		    decode(as_reply, type, body, bodylen / 2, &rq2, &rp2) != 0);
	}
	if (bodylen < sizeof(longer)) {
		memcpy(longer, body, bodylen);
		longer[bodylen] = 0;
		MUST(decode(as_reply, type, longer, bodylen + 1, &rq2, &rp2) !=
		    0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire in, body, out;
	size_t framelen;
	uint8_t type;

	wire_view(&in, data, size);
	wire_init(&out, CTLPROTO_MAX_FRAME + 4);
	while (wire_get_frame(&in, CTLPROTO_MAX_FRAME, &type, &body,
		   &framelen) == 0) {
		one(0, type, wire_ptr(&in), framelen, wire_ptr(&body),
		    wire_avail(&body), &out);
		one(1, type, wire_ptr(&in), framelen, wire_ptr(&body),
		    wire_avail(&body), &out);
		wire_consume(&in, framelen);
	}
	wire_free(&out);
	return 0;
}
