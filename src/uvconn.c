#include <string.h>

#include "compat.h"
#include "sserr.h"
#include "uvconn.h"

/*
 * Room offered to each read: requests are small (a listing, a signature
 * over a few hundred bytes), and a big one (an RSA key being added) grows
 * the buffer as it comes.  64 KiB here cost every connection, and so
 * every supervisor and agent, 64 KiB of dirty heap.
 */
#define READ_CHUNK 4096
/*
 * What every connection may buffer outside the budget: a request of this
 * size or less (listing, signing, adding most keys) is read even while
 * hostile clients hold the whole budget in half-sent frames.
 */
#define UNCHARGED (16 * 1024)

static size_t
charged(size_t cap)
{
	return cap > UNCHARGED ? cap - UNCHARGED : 0;
}

/* The part accepting and opening share: buffers, pipe, list. */
static void
setup(struct uvconn *c, uv_loop_t *loop, struct uvconn **list, size_t max,
    void (*release)(struct uvconn *c))
{
	c->refs = 1;
	c->release = release;
	wire_init(&c->in, max);
	wire_init(&c->out, max);
	uv_pipe_init(loop, &c->pipe, 0);
	c->pipe.data = c;
	if ((c->next = *list) != NULL)
		c->next->prevp = &c->next;
	*list = c;
	c->prevp = list;
}

int
uvconn_open(struct uvconn *c, uv_loop_t *loop, int fd, struct uvconn **list,
    size_t max, void (*release)(struct uvconn *c))
{
	setup(c, loop, list, max, release);
	return uv_pipe_open(&c->pipe, fd) == 0 ? 0 : ERR_SYSTEM;
}

int
uvconn_accept(struct uvconn *c, uv_stream_t *server, struct uvconn **list,
    size_t max, void (*release)(struct uvconn *c))
{
	uv_os_fd_t fd;

	setup(c, server->loop, list, max, release);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 ||
	    uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0)
		return ERR_SYSTEM;
	/* Only our own uid, and root, may talk to us. */
	return compat_peer_uid_ok(fd);
}

void
uvconn_ref(struct uvconn *c)
{
	c->refs++;
}

void
uvconn_unref(struct uvconn *c)
{
	if (--c->refs > 0)
		return;
	if (c->budget != NULL)
		c->budget->used -= charged(c->in.cap);
	wire_free(&c->in);
	wire_free(&c->out);
	c->release(c);
}

void
uvconn_on_closed(uv_handle_t *h)
{
	uvconn_unref(h->data);
}

void
uvconn_close(struct uvconn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	if ((*c->prevp = c->next) != NULL)
		c->next->prevp = c->prevp;
	uv_close((uv_handle_t *)&c->pipe, uvconn_on_closed);
}

void
uvconn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct uvconn *c = h->data;
	size_t want = READ_CHUNK, room = c->in.max - wire_avail(&c->in);
	size_t before = charged(c->in.cap);
	uint8_t *p;

	(void)suggested;
	if (want > room)
		want = room;
	/* A full buffer gives libuv no room: it reports UV_ENOBUFS. */
	if (want == 0 || wire_reserve(&c->in, want, &p) != 0) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	if (c->budget != NULL) {
		c->budget->used += charged(c->in.cap) - before;
		/* This growth took the daemon past its budget: this
		 * connection, the one growing, goes (unref gives it back). */
		if (c->budget->used > c->budget->max) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
	}
	*buf = uv_buf_init((char *)p, (unsigned int)want);
}
