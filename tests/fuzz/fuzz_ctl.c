/*
 * libFuzzer harness: control protocol frames, decoded as requests and as
 * replies; whatever decodes must encode again to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "sserr.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_reply rp, rp2;
	struct ctl_request rq, rq2;
	struct wire in, body, b2, out;
	size_t framelen;
	uint8_t type, t2;

	wire_view(&in, data, size);
	wire_init(&out, CTLPROTO_MAX_FRAME + 4);
	while (wire_get_frame(&in, CTLPROTO_MAX_FRAME, &type, &body,
	    &framelen) == 0) {
		struct wire copy = body;

		if (ctlproto_get_request(type, &body, &rq) == 0) {
			wire_reset(&out);
			if (ctlproto_put_request(&out, &rq) != 0 ||
			    wire_get_frame(&out, CTLPROTO_MAX_FRAME, &t2, &b2,
			    &framelen) != 0 ||
			    ctlproto_get_request(t2, &b2, &rq2) != 0 ||
			    memcmp(&rq, &rq2, sizeof(rq)) != 0)
				abort();
		}
		if (ctlproto_get_reply(type, &copy, &rp) == 0) {
			wire_reset(&out);
			if (ctlproto_put_reply(&out, &rp) != 0 ||
			    wire_get_frame(&out, CTLPROTO_MAX_FRAME, &t2, &b2,
			    &framelen) != 0 ||
			    ctlproto_get_reply(t2, &b2, &rp2) != 0 ||
			    memcmp(&rp, &rp2, sizeof(rp)) != 0)
				abort();
		}
		wire_consume(&in, framelen);
	}
	wire_free(&out);
	return 0;
}
