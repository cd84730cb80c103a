/*
 * The ring grows entry by entry up to USELOG_CAP, so that an agent that
 * signs nothing pays nothing for it.
 */
#include <stdlib.h>
#include <string.h>

#include "sserr.h"
#include "uselog.h"
#include "wire.h"

struct uselog {
	struct uselog_entry *ring;
	size_t len, cap, head; /* head: where the next entry goes, once full */
	uint64_t seq;
};

static const char *const verdicts[USE_NVERDICTS] = {
	[USE_ALLOWED] = "allowed",
	[USE_CONFIRMED] = "confirmed",
	[USE_DENIED] = "denied by policy",
	[USE_CONSTRAINT] = "refused by a constraint",
	[USE_REFUSED] = "refused by the user",
	[USE_FAILED] = "failed",
};

const char *
uselog_verdict_name(unsigned v)
{
	return v < USE_NVERDICTS ? verdicts[v] : "unknown";
}

int
uselog_new(struct uselog **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return ERR_ALLOC;
	return 0;
}

void
uselog_free(struct uselog *ul)
{
	if (ul == NULL)
		return;
	free(ul->ring);
	free(ul);
}

uint64_t
uselog_add(struct uselog *ul, const struct uselog_entry *e)
{
	struct uselog_entry *slot, *nr;
	size_t ncap;

	if (ul->len < USELOG_CAP && ul->len == ul->cap) {
		ncap = ul->cap == 0 ? 16 : ul->cap * 2;
		if (ncap > USELOG_CAP)
			ncap = USELOG_CAP;
		nr = realloc(ul->ring, ncap * sizeof(*nr));
		if (nr != NULL) {
			ul->ring = nr;
			ul->cap = ncap;
		}
	}
	if (ul->len < ul->cap) {
		slot = &ul->ring[ul->len++];
	} else if (ul->len > 0) {
		/* Full (or out of memory): the oldest goes. */
		slot = &ul->ring[ul->head];
		ul->head = (ul->head + 1) % ul->len;
	} else {
		return ++ul->seq;
	}
	*slot = *e;
	slot->seq = ++ul->seq;
	return slot->seq;
}

/* The i-th entry, oldest first. */
static const struct uselog_entry *
nth(const struct uselog *ul, size_t i)
{
	return &ul->ring[(ul->head + i) % ul->len];
}

int
uselog_encode(const struct uselog *ul, uint64_t since, uint32_t max,
    struct wire *out)
{
	const struct uselog_entry *e;
	size_t i, first, n = 0;
	int r;

	/* The newer ones: the ring is in seq order from head. */
	for (i = ul->len; i > 0 && nth(ul, i - 1)->seq > since && n < max; i--)
		n++;
	first = ul->len - n;
	if ((r = wire_put_u32(out, (uint32_t)n)) != 0)
		return r;
	for (i = first; i < ul->len; i++) {
		e = nth(ul, i);
		if ((r = wire_put_u64(out, e->seq)) != 0 ||
		    (r = wire_put_u64(out, (uint64_t)e->time)) != 0 ||
		    (r = wire_put_u8(out, e->verdict)) != 0 ||
		    (r = wire_put_u8(out, e->forwarded)) != 0 ||
		    (r = wire_put_cstring(out, e->key)) != 0 ||
		    (r = wire_put_cstring(out, e->fp)) != 0 ||
		    (r = wire_put_cstring(out, e->what)) != 0 ||
		    (r = wire_put_cstring(out, e->route)) != 0)
			return r;
	}
	return 0;
}

/* A string into a field: cut to fit, NULs and control bytes as '?'. */
static int
get_text(struct wire *in, char *buf, size_t size)
{
	const uint8_t *p;
	size_t n, i;
	int r;

	if ((r = wire_get_string(in, &p, &n)) != 0)
		return r;
	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		buf[i] = p[i] < 0x20 || p[i] == 0x7f ? '?' : (char)p[i];
	buf[n] = '\0';
	return 0;
}

int
uselog_decode(struct wire *in, struct uselog_entry *e)
{
	uint64_t t;
	int r;

	memset(e, 0, sizeof(*e));
	if ((r = wire_get_u64(in, &e->seq)) != 0 ||
	    (r = wire_get_u64(in, &t)) != 0 ||
	    (r = wire_get_u8(in, &e->verdict)) != 0 ||
	    (r = wire_get_u8(in, &e->forwarded)) != 0 ||
	    (r = get_text(in, e->key, sizeof(e->key))) != 0 ||
	    (r = get_text(in, e->fp, sizeof(e->fp))) != 0 ||
	    (r = get_text(in, e->what, sizeof(e->what))) != 0 ||
	    (r = get_text(in, e->route, sizeof(e->route))) != 0)
		return r;
	e->time = (int64_t)t;
	return 0;
}
