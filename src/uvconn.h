/*
 * uvconn: one accepted unix-socket connection of a daemon, embedded first
 * in the daemon's own connection struct (the agent's, the supervisor's):
 * the pipe, its input and output buffers, its place in the daemon's list,
 * the peer check, and the reference count that frees it once libuv has
 * closed every handle and finished every request that points at it.
 */
#ifndef SSHENV_UVCONN_H
#define SSHENV_UVCONN_H

#include <uv.h>

#include "wire.h"

/*
 * What a daemon's connections may hold in input buffers, all together,
 * past the first 16 KiB of each (which the connection cap bounds): one
 * client holding many half-sent frames must neither make the daemon use
 * memory without bound nor keep small requests out.
 */
struct uvconn_budget {
	size_t used, max;
};

struct uvconn {
	uv_pipe_t pipe; /* data points at the uvconn */
	struct uvconn *next, **prevp;
	struct wire in, out;
	int refs;
	int closing;
	void (*release)(struct uvconn *c); /* frees the owner */
	struct uvconn_budget *budget;	   /* the daemon's, or NULL */
};

/*
 * Accepts the next connection of server into c (zeroed, owned by the
 * caller), with buffers of at most max bytes, and links it at the head of
 * *list.  release runs once the last reference goes.  Returns 0, or
 * ERR_SYSTEM (accept failed) or ERR_DENIED (a peer of another uid than
 * ours or root); c must then be closed all the same.
 */
int uvconn_accept(struct uvconn *c, uv_stream_t *server, struct uvconn **list,
    size_t max, void (*release)(struct uvconn *c));

/*
 * As uvconn_accept, for a connected socket handed to us (fd, whose peer
 * is known): the daemon's end of a socketpair.  0 or ERR_SYSTEM (c must
 * be closed all the same).
 */
int uvconn_open(struct uvconn *c, uv_loop_t *loop, int fd, struct uvconn **list,
    size_t max, void (*release)(struct uvconn *c));

/* Unlinks c and closes its pipe; a no-op once closing. */
void uvconn_close(struct uvconn *c);

/* A reference for each pending request or other handle of the owner. */
void uvconn_ref(struct uvconn *c);
/* Drops one; the last wipes the buffers and calls release. */
void uvconn_unref(struct uvconn *c);
/* A close callback for any owner handle whose data is the uvconn. */
void uvconn_on_closed(uv_handle_t *h);

/*
 * A libuv alloc callback: room at the end of c->in, within its limit and
 * within c->budget (a connection whose growth passes it gets no room:
 * libuv reports UV_ENOBUFS, on which the owner closes that connection).
 */
void uvconn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

#endif
