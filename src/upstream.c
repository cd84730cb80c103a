/*
 * Calls to other agents on the agent's loop.  Each upstream is a small
 * state machine over one connection; a call starts on each upstream it
 * concerns and ends when none of them is still owed an answer, a write
 * or a close.  The first call on a fresh connection does not wait for
 * the greeting's answer: agents serve a connection's requests in order,
 * so the greeting and the call go out together and their answers come
 * back in that order.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agentproto.h"
#include "compat.h"
#include "rtpaths.h"
#include "sserr.h"
#include "upstream.h"
#include "wire.h"

/* Read by this much at a time: answers are small. */
#define UP_READ_CHUNK 4096

enum up_state {
	UP_NEW,	       /* nothing opened yet */
	UP_CONNECTING, /* the connect is under way */
	UP_HELLO,      /* greeted (and asked): the greeting's answer due */
	UP_ASKED,      /* the call's answer due */
	UP_READY,      /* connected, nothing due */
	UP_CLOSING,    /* dropped: its pipe is closing */
	UP_GONE,       /* dropped for good, closed (or never opened) */
};

struct up {
	struct upset *set;
	uv_pipe_t pipe; /* data is this up; live from CONNECTING to GONE */
	uv_connect_t creq;
	uv_write_t hreq, wreq; /* the greeting, the call */
	char *path;
	enum up_state state;
	int in_call;	   /* takes part in the running call */
	int writing;	   /* writes not completed yet */
	int answered;	   /* the call's answer is in reply */
	int timed_out;	   /* it was silent past a deadline */
	struct wire in;	   /* read, until a frame is whole */
	struct wire out;   /* the call's frame, while it is written */
	struct wire reply; /* the call's answer: type byte, then body */
};

struct upset {
	uv_loop_t *loop;
	uv_timer_t timer; /* the running call's deadlines */
	upset_done_cb done;
	void *arg;
	int handles; /* initialised, not closed yet: the timer, pipes */
	int running;
	int interrupted; /* no more connections */
	int freeing;	 /* freed when the last handle has closed */
	uint64_t deadline, connect_deadline;
	int n;
	struct up u[UPSTREAM_MAX];
};

/* EXTENSION "proxy@sshenv", framed. */
static const uint8_t proxy_frame[] = { 0, 0, 0, 17, 27, 0, 0, 0, 12, 'p', 'r',
	'o', 'x', 'y', '@', 's', 's', 'h', 'e', 'n', 'v' };
_Static_assert(sizeof(proxy_frame) == 4 + 17, "the frame's length");

static void arm(struct upset *s);

int
upset_new(uv_loop_t *loop, const char *const *paths, int n, upset_done_cb done,
    void *arg, struct upset **out)
{
	struct upset *s;
	int i;

	*out = NULL;
	if (n > UPSTREAM_MAX)
		n = UPSTREAM_MAX;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ERR_ALLOC;
	for (i = 0; i < n; i++) {
		if ((s->u[i].path = strdup(paths[i])) == NULL) {
			while (i-- > 0)
				free(s->u[i].path);
			free(s);
			return ERR_ALLOC;
		}
		s->u[i].set = s;
		wire_init(&s->u[i].in, AGENTPROTO_MAX_FRAME + 4);
		wire_init(&s->u[i].out, AGENTPROTO_MAX_FRAME + 4);
		wire_init(&s->u[i].reply, AGENTPROTO_MAX_FRAME + 1);
	}
	s->n = n;
	s->loop = loop;
	s->done = done;
	s->arg = arg;
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	s->handles = 1;
	*out = s;
	return 0;
}

static void
set_release(struct upset *s)
{
	int i;

	for (i = 0; i < s->n; i++) {
		wire_free(&s->u[i].in);
		wire_free(&s->u[i].out);
		wire_free(&s->u[i].reply);
		free(s->u[i].path);
	}
	free(s);
}

static void
on_timer_closed(uv_handle_t *h)
{
	struct upset *s = h->data;

	if (--s->handles == 0)
		set_release(s);
}

/* Owes the running call nothing more. */
static int
finished(const struct up *u)
{
	return !u->in_call || u->state == UP_GONE ||
	    (u->answered && u->writing == 0);
}

/* The call ends once no upstream in it is owed anything. */
static void
settle(struct upset *s)
{
	int i;

	if (!s->running || s->freeing)
		return;
	for (i = 0; i < s->n; i++)
		if (!finished(&s->u[i]))
			return;
	s->running = 0;
	uv_timer_stop(&s->timer);
	s->done(s, s->arg);
}

static void
on_pipe_closed(uv_handle_t *h)
{
	struct up *u = h->data;
	struct upset *s = u->set;

	u->state = UP_GONE;
	if (--s->handles == 0 && s->freeing) {
		set_release(s);
		return;
	}
	settle(s);
}

/* Not used again by this set; a call waiting on it hears in the close
 * callback. */
static void
drop(struct up *u)
{
	u->answered = 0;
	switch (u->state) {
	case UP_NEW: u->state = UP_GONE; break;
	case UP_CLOSING:
	case UP_GONE: break;
	default:
		u->state = UP_CLOSING;
		uv_close((uv_handle_t *)&u->pipe, on_pipe_closed);
	}
}

void
upset_free(struct upset *s)
{
	int i;

	if (s == NULL)
		return;
	s->freeing = 1;
	s->running = 0;
	for (i = 0; i < s->n; i++)
		drop(&s->u[i]);
	uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}

void
upset_interrupt(struct upset *s)
{
	int i;

	if (s == NULL)
		return;
	s->interrupted = 1;
	for (i = 0; i < s->n; i++)
		drop(&s->u[i]);
	if (s->running)
		arm(s);
}

int
upset_count(const struct upset *s)
{
	return s == NULL ? 0 : s->n;
}

int
upset_timed_out(const struct upset *s, int i)
{
	return i >= 0 && i < s->n && s->u[i].timed_out;
}

const char *
upset_path(const struct upset *s, int i)
{
	return i >= 0 && i < s->n ? s->u[i].path : NULL;
}

/*
 * A socket of ours in a directory of ours (or root's) that no one else
 * may write to: no one else could have put it there.
 */
static int
trusted(const char *path)
{
	char dir[PATHS_MAX], *slash;
	struct stat st;

	if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    st.st_uid != geteuid())
		return ERR_DENIED;
	if (strlen(path) >= sizeof(dir) ||
	    strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return ERR_TOO_LONG;
	strcpy(dir, path);
	if ((slash = strrchr(dir, '/')) == NULL)
		return ERR_DENIED;
	*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(dir, &st) != 0 || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return ERR_DENIED;
	return 0;
}

static void
up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct up *u = h->data;
	size_t want = UP_READ_CHUNK, room = u->in.max - wire_avail(&u->in);
	uint8_t *p;

	(void)suggested;
	if (want > room)
		want = room;
	/* No room: libuv reports UV_ENOBUFS, and the upstream goes. */
	if (want == 0 || wire_reserve(&u->in, want, &p) != 0) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init((char *)p, (unsigned int)want);
}

static void
on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct up *u = st->data;
	struct wire body;
	size_t len;
	uint8_t type;
	int r;

	(void)buf;
	if (nread < 0) {
		drop(u);
		return;
	}
	wire_commit(&u->in, (size_t)nread);
	for (;;) {
		r = wire_get_frame(&u->in, AGENTPROTO_MAX_FRAME, &type, &body,
		    &len);
		if (r == ERR_TRUNCATED)
			return;
		/* A broken frame, or one nobody asked for: out of step. */
		if (r != 0 || (u->state != UP_HELLO && u->state != UP_ASKED)) {
			drop(u);
			return;
		}
		if (u->state == UP_HELLO) {
			/* The greeting's answer, whatever it says. */
			(void)wire_consume(&u->in, len);
			u->state = UP_ASKED;
			continue;
		}
		wire_reset(&u->reply);
		if (wire_put_u8(&u->reply, type) != 0 ||
		    wire_put(&u->reply, wire_ptr(&body), wire_avail(&body)) !=
			0 ||
		    wire_consume(&u->in, len) != 0 || wire_avail(&u->in) != 0) {
			drop(u);
			return;
		}
		wire_compact(&u->in);
		u->state = UP_READY;
		u->answered = 1;
		settle(u->set);
		return;
	}
}

static void
on_write(uv_write_t *req, int status)
{
	struct up *u = req->data;

	u->writing--;
	/* Closing: the close callback settles. */
	if (u->state == UP_CLOSING || u->state == UP_GONE)
		return;
	if (status != 0) {
		drop(u);
		return;
	}
	settle(u->set);
}

/* Writes at once what the socket takes (a call is small), queues the
 * rest. */
static int
write_frame(struct up *u, uv_write_t *req, const uint8_t *p, size_t len)
{
	uv_buf_t b;
	int n;

	b = uv_buf_init((char *)(uintptr_t)p, (unsigned int)len);
	n = uv_try_write((uv_stream_t *)&u->pipe, &b, 1);
	if (n == UV_EAGAIN)
		n = 0;
	if (n < 0)
		return ERR_SYSTEM;
	if ((size_t)n == len)
		return 0;
	b = uv_buf_init((char *)(uintptr_t)(p + n), (unsigned int)(len - n));
	req->data = u;
	if (uv_write(req, (uv_stream_t *)&u->pipe, &b, 1, on_write) != 0)
		return ERR_SYSTEM;
	u->writing++;
	return 0;
}

static void
on_connect(uv_connect_t *req, int status)
{
	struct up *u = req->data;
	uv_os_fd_t fd;
	uid_t uid;

	if (u->state != UP_CONNECTING)
		return; /* dropped meanwhile */
	/*
	 * The one listening there must be us too: no one else gets our
	 * requests, or answers them.  Then say we are a proxy: an sshenv
	 * agent there (this one, reached through ssh -A to this very host,
	 * or one on the far side of a loop of hosts) serves that connection
	 * from its own keys alone, so that requests never go round in
	 * circles.  Other agents answer FAILURE, which is fine.
	 */
	if (status != 0 || uv_fileno((uv_handle_t *)&u->pipe, &fd) != 0 ||
	    compat_peer_uid(fd, &uid) != 0 || uid != geteuid() ||
	    uv_read_start((uv_stream_t *)&u->pipe, up_alloc, on_read) != 0 ||
	    write_frame(u, &u->hreq, proxy_frame, sizeof(proxy_frame)) != 0 ||
	    write_frame(u, &u->wreq, wire_ptr(&u->out), wire_avail(&u->out)) !=
		0) {
		drop(u);
		return;
	}
	u->state = UP_HELLO;
	arm(u->set);
}

/* Puts u in the call whose frame is in u->out. */
static void
start_one(struct upset *s, struct up *u)
{
	u->answered = 0;
	u->in_call = 0;
	if (u->state == UP_NEW) {
		if (s->interrupted || trusted(u->path) != 0) {
			drop(u);
			return;
		}
		uv_pipe_init(s->loop, &u->pipe, 0);
		u->pipe.data = u;
		s->handles++;
		u->creq.data = u;
		u->state = UP_CONNECTING;
		u->in_call = 1;
		uv_pipe_connect(&u->creq, &u->pipe, u->path, on_connect);
		return;
	}
	if (u->state != UP_READY)
		return;
	u->in_call = 1;
	if (write_frame(u, &u->wreq, wire_ptr(&u->out), wire_avail(&u->out)) !=
	    0) {
		drop(u);
		return;
	}
	u->state = UP_ASKED;
}

static void
on_timer(uv_timer_t *t)
{
	struct upset *s = t->data;
	uint64_t now = uv_now(s->loop);
	struct up *u;
	int i;

	for (i = 0; i < s->n; i++) {
		u = &s->u[i];
		if (finished(u) || u->state == UP_CLOSING)
			continue;
		if (now >= s->deadline ||
		    ((u->state == UP_CONNECTING || u->state == UP_HELLO) &&
			now >= s->connect_deadline)) {
			u->timed_out = 1;
			drop(u);
		}
	}
	settle(s);
	if (s->running)
		arm(s);
}

/*
 * The timer at the next deadline of the running call; at once when it
 * waits for nothing (done then runs from the loop, not from the caller);
 * not at all when only closes are awaited (their callbacks settle).
 */
static void
arm(struct upset *s)
{
	uint64_t now = uv_now(s->loop), at = s->deadline;
	int i, waiting = 0, closing = 0;
	const struct up *u;

	for (i = 0; i < s->n; i++) {
		u = &s->u[i];
		if (finished(u))
			continue;
		if (u->state == UP_CLOSING) {
			closing = 1;
			continue;
		}
		waiting = 1;
		if ((u->state == UP_CONNECTING || u->state == UP_HELLO) &&
		    s->connect_deadline < at)
			at = s->connect_deadline;
	}
	if (!waiting && closing) {
		uv_timer_stop(&s->timer);
		return;
	}
	uv_timer_start(&s->timer, on_timer,
	    !waiting || at <= now ? 0 : at - now, 0);
}

/* Starts a call of frame on upstream only (or all, when only is -1). */
static int
call(struct upset *s, int only, const uint8_t *frame, size_t len,
    int timeout_ms)
{
	uint64_t now = uv_now(s->loop);
	int i;

	if (s->running)
		return ERR_BUSY;
	if (only >= s->n)
		return ERR_NOT_FOUND;
	for (i = 0; i < s->n; i++) {
		s->u[i].in_call = 0;
		s->u[i].answered = 0;
		s->u[i].timed_out = 0;
	}
	for (i = 0; i < s->n; i++) {
		if (only >= 0 && i != only)
			continue;
		if (s->u[i].state == UP_GONE || s->u[i].state == UP_CLOSING)
			continue;
		wire_reset(&s->u[i].out);
		if (wire_put(&s->u[i].out, frame, len) != 0)
			return ERR_ALLOC; /* before any is asked */
	}
	s->running = 1;
	s->deadline = now + (uint64_t)timeout_ms;
	s->connect_deadline = now + UPSTREAM_CONNECT_MS;
	for (i = 0; i < s->n; i++)
		if (only < 0 || i == only)
			start_one(s, &s->u[i]);
	arm(s);
	return 0;
}

int
upset_list(struct upset *s, int timeout_ms)
{
	static const uint8_t req[5] = { 0, 0, 0, 1, AGENTC_REQUEST_IDENTITIES };

	return call(s, -1, req, sizeof(req), timeout_ms);
}

int
upset_broadcast(struct upset *s, const uint8_t *frame, size_t len,
    int timeout_ms)
{
	return call(s, -1, frame, len, timeout_ms);
}

int
upset_call(struct upset *s, int i, const uint8_t *frame, size_t len,
    int timeout_ms)
{
	if (i < 0)
		return ERR_NOT_FOUND;
	return call(s, i, frame, len, timeout_ms);
}

int
upset_keys(const struct upset *s, int i, struct wire *view)
{
	const struct up *u;

	if (i < 0 || i >= s->n)
		return ERR_NOT_FOUND;
	u = &s->u[i];
	if (!u->answered || wire_avail(&u->reply) < 1 ||
	    wire_ptr(&u->reply)[0] != AGENT_IDENTITIES_ANSWER)
		return ERR_NOT_FOUND;
	wire_view(view, wire_ptr(&u->reply) + 1, wire_avail(&u->reply) - 1);
	return 0;
}

int
upset_reply(const struct upset *s, int i, struct wire *view)
{
	if (i < 0 || i >= s->n || !s->u[i].answered ||
	    wire_avail(&s->u[i].reply) < 1)
		return ERR_NO_SERVER;
	wire_view(view, wire_ptr(&s->u[i].reply), wire_avail(&s->u[i].reply));
	return 0;
}
