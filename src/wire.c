#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "sserr.h"
#include "wire.h"

void
wire_init(struct wire *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void
wire_view(struct wire *w, const void *p, size_t n)
{
	memset(w, 0, sizeof(*w));
	w->buf = (uint8_t *)(uintptr_t)p;
	w->len = n;
	w->max = n;
	w->view = 1;
}

void
wire_free(struct wire *w)
{
	if (w == NULL)
		return;
	if (!w->view && w->buf != NULL) {
		compat_wipe(w->buf, w->cap);
		free(w->buf);
	}
	w->buf = NULL;
	w->off = w->len = w->cap = 0;
}

void
wire_reset(struct wire *w)
{
	if (w->view)
		return;
	if (w->buf != NULL)
		compat_wipe(w->buf, w->len);
	w->off = w->len = 0;
}

size_t
wire_avail(const struct wire *w)
{
	return w->len - w->off;
}

const uint8_t *
wire_ptr(const struct wire *w)
{
	return w->buf + w->off;
}

int
wire_consume(struct wire *w, size_t n)
{
	if (n > wire_avail(w))
		return ERR_TRUNCATED;
	w->off += n;
	if (w->off == w->len && !w->view)
		wire_reset(w);
	return 0;
}

void
wire_compact(struct wire *w)
{
	size_t n = wire_avail(w);

	if (w->view || w->off == 0)
		return;
	memmove(w->buf, w->buf + w->off, n);
	compat_wipe(w->buf + n, w->len - n);
	w->off = 0;
	w->len = n;
}

/*
 * Makes room for extra more bytes after the data, never moving it (so
 * offsets taken with wire_mark stay valid); max bounds the unread bytes.
 * Grows by copy-and-wipe, not realloc, so no stale secret is left behind.
 */
static int
grow(struct wire *w, size_t extra)
{
	size_t need, ncap;
	uint8_t *nbuf;

	if (w->view)
		return ERR_INTERNAL;
	if (extra > w->max - wire_avail(w))
		return ERR_TOO_LONG;
	if (extra <= w->cap - w->len)
		return 0;
	need = w->len + extra;
	ncap = w->cap < 256 ? 256 : w->cap;
	while (ncap < need)
		ncap *= 2;
	if (ncap > w->max + w->off)
		ncap = need > w->max + w->off ? need : w->max + w->off;
	if ((nbuf = malloc(ncap)) == NULL)
		return ERR_ALLOC;
	if (w->buf != NULL) {
		memcpy(nbuf, w->buf, w->len);
		compat_wipe(w->buf, w->cap);
		free(w->buf);
	}
	w->buf = nbuf;
	w->cap = ncap;
	return 0;
}

int
wire_reserve(struct wire *w, size_t n, uint8_t **p)
{
	int r;

	*p = NULL;
	/* A stream buffer reuses the room its consumed bytes leave. */
	if (w->off > 0 && n > w->cap - w->len)
		wire_compact(w);
	if ((r = grow(w, n)) != 0)
		return r;
	*p = w->buf + w->len;
	return 0;
}

void
wire_commit(struct wire *w, size_t n)
{
	w->len += n;
}

int
wire_get_bytes(struct wire *w, void *out, size_t n)
{
	if (n > wire_avail(w)) {
		memset(out, 0, n);
		return ERR_TRUNCATED;
	}
	memcpy(out, wire_ptr(w), n);
	w->off += n;
	return 0;
}

int
wire_get_u8(struct wire *w, uint8_t *v)
{
	return wire_get_bytes(w, v, 1);
}

static uint32_t
load32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int
wire_peek_u32(const struct wire *w, uint32_t *v)
{
	*v = 0;
	if (wire_avail(w) < 4)
		return ERR_TRUNCATED;
	*v = load32(wire_ptr(w));
	return 0;
}

int
wire_get_u32(struct wire *w, uint32_t *v)
{
	int r;

	if ((r = wire_peek_u32(w, v)) == 0)
		w->off += 4;
	return r;
}

int
wire_get_u64(struct wire *w, uint64_t *v)
{
	*v = 0;
	if (wire_avail(w) < 8)
		return ERR_TRUNCATED;
	*v = (uint64_t)load32(wire_ptr(w)) << 32 | load32(wire_ptr(w) + 4);
	w->off += 8;
	return 0;
}

int
wire_get_string(struct wire *w, const uint8_t **p, size_t *n)
{
	uint32_t len;

	*p = NULL;
	*n = 0;
	if (wire_peek_u32(w, &len) != 0)
		return ERR_TRUNCATED;
	if (len > wire_avail(w) - 4)
		return ERR_TRUNCATED;
	*p = wire_ptr(w) + 4;
	*n = len;
	w->off += 4 + (size_t)len;
	return 0;
}

int
wire_get_string_wire(struct wire *w, struct wire *sub)
{
	const uint8_t *p;
	size_t n;
	int r;

	wire_view(sub, NULL, 0);
	if ((r = wire_get_string(w, &p, &n)) != 0)
		return r;
	wire_view(sub, p, n);
	return 0;
}

int
wire_get_cstring(struct wire *w, char **out)
{
	const uint8_t *p;
	size_t n, off = w->off;
	char *s;
	int r;

	*out = NULL;
	if ((r = wire_get_string(w, &p, &n)) != 0)
		return r;
	if (memchr(p, '\0', n) != NULL) {
		w->off = off;
		return ERR_FORMAT;
	}
	if ((s = malloc(n + 1)) == NULL) {
		w->off = off;
		return ERR_ALLOC;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	*out = s;
	return 0;
}

int
wire_get_string_eq(struct wire *w, const char *s)
{
	const uint8_t *p;
	size_t n, off = w->off, slen = strlen(s);
	int r;

	if ((r = wire_get_string(w, &p, &n)) != 0)
		return r;
	if (n != slen || memcmp(p, s, n) != 0) {
		w->off = off;
		return ERR_FORMAT;
	}
	return 0;
}

int
wire_get_mpint(struct wire *w, const uint8_t **p, size_t *n, int allow_zero)
{
	const uint8_t *d;
	size_t len, off = w->off;
	int r;

	*p = NULL;
	*n = 0;
	if ((r = wire_get_string(w, &d, &len)) != 0)
		return r;
	r = ERR_FORMAT;
	if (len == 0) {
		if (!allow_zero)
			goto fail;
		*p = d;
		return 0;
	}
	if (d[0] & 0x80)
		goto fail; /* negative */
	if (d[0] == 0) {
		/* A leading zero is only there to clear the sign bit. */
		if (len == 1 || (d[1] & 0x80) == 0)
			goto fail;
		d++;
		len--;
	}
	*p = d;
	*n = len;
	return 0;
fail:
	w->off = off;
	return r;
}

int
wire_get_frame(const struct wire *in, size_t max, uint8_t *type,
    struct wire *body, size_t *framelen)
{
	uint32_t len;

	*type = 0;
	*framelen = 0;
	wire_view(body, NULL, 0);
	if (wire_peek_u32(in, &len) != 0)
		return ERR_TRUNCATED;
	if (len > max)
		return ERR_TOO_LONG;
	if (len == 0)
		return ERR_FORMAT;
	if (wire_avail(in) - 4 < len)
		return ERR_TRUNCATED;
	*type = wire_ptr(in)[4];
	wire_view(body, wire_ptr(in) + 5, len - 1);
	*framelen = (size_t)len + 4;
	return 0;
}

int
wire_end(const struct wire *w)
{
	return wire_avail(w) == 0 ? 0 : ERR_TRAILING;
}

int
wire_put(struct wire *w, const void *p, size_t n)
{
	int r;

	if ((r = grow(w, n)) != 0)
		return r;
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

int
wire_put_u8(struct wire *w, uint8_t v)
{
	return wire_put(w, &v, 1);
}

static void
store32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

int
wire_put_u32(struct wire *w, uint32_t v)
{
	uint8_t b[4];

	store32(b, v);
	return wire_put(w, b, 4);
}

int
wire_put_u64(struct wire *w, uint64_t v)
{
	uint8_t b[8];

	store32(b, v >> 32);
	store32(b + 4, (uint32_t)v);
	return wire_put(w, b, 8);
}

int
wire_len_open(struct wire *w, size_t *at)
{
	*at = w->len;
	return wire_put_u32(w, 0);
}

int
wire_len_close(struct wire *w, size_t at)
{
	if (w->view || at > w->len || w->len - at < 4 ||
	    w->len - at - 4 > UINT32_MAX)
		return ERR_INTERNAL;
	store32(w->buf + at, (uint32_t)(w->len - at - 4));
	return 0;
}

int
wire_patch_u32(struct wire *w, size_t at, uint32_t v)
{
	if (w->view || at > w->len || w->len - at < 4)
		return ERR_INTERNAL;
	store32(w->buf + at, v);
	return 0;
}

size_t
wire_mark(const struct wire *w)
{
	return w->len;
}

void
wire_rollback(struct wire *w, size_t mark)
{
	if (!w->view && mark < w->len)
		w->len = mark < w->off ? w->off : mark;
}

int
wire_put_string(struct wire *w, const void *p, size_t n)
{
	int r;

	if (n > UINT32_MAX)
		return ERR_TOO_LONG;
	if ((r = grow(w, n + 4)) != 0)
		return r;
	if ((r = wire_put_u32(w, (uint32_t)n)) != 0)
		return r;
	return wire_put(w, p, n);
}

int
wire_put_cstring(struct wire *w, const char *s)
{
	return wire_put_string(w, s, strlen(s));
}

int
wire_put_mpint(struct wire *w, const uint8_t *p, size_t n)
{
	int pad, r;

	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	pad = n > 0 && (p[0] & 0x80);
	if ((r = grow(w, n + pad + 4)) != 0)
		return r;
	if ((r = wire_put_u32(w, (uint32_t)(n + pad))) != 0)
		return r;
	if (pad && (r = wire_put_u8(w, 0)) != 0)
		return r;
	return wire_put(w, p, n);
}

int
wire_base64_decode(const char *in, uint8_t *out, size_t size)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(in), i, n = 0, pad = 0;
	uint32_t acc = 0;
	const char *p;
	int j;

	if (len == 0 || len % 4 != 0)
		return ERR_FORMAT;
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	if ((len / 4) * 3 - pad > size)
		return ERR_TOO_LONG;
	for (i = 0; i < len; i += 4) {
		acc = 0;
		for (j = 0; j < 4; j++) {
			if (in[i + j] == '=' && i + 4 == len &&
			    j >= 4 - (int)pad) {
				acc <<= 6;
				continue;
			}
			if (in[i + j] == '\0' ||
			    (p = strchr(alphabet, in[i + j])) == NULL)
				return ERR_FORMAT;
			acc = acc << 6 | (uint32_t)(p - alphabet);
		}
		out[n++] = (uint8_t)(acc >> 16);
		if (i + 4 < len || pad < 2)
			out[n++] = (uint8_t)(acc >> 8);
		if (i + 4 < len || pad < 1)
			out[n++] = (uint8_t)acc;
	}
	return (int)n;
}

int
wire_str_is(const uint8_t *p, size_t n, const char *s)
{
	return strlen(s) == n && (n == 0 || memcmp(p, s, n) == 0);
}
