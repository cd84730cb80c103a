/*
 * Blocking, bounded calls to other agents (agentclient does the framing),
 * for one client connection at a time: the agent serves each connection's
 * requests in order, so a set is never used by two threads at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentclient.h"
#include "agentproto.h"
#include "compat.h"
#include "rtpaths.h"
#include "sserr.h"
#include "upstream.h"
#include "wire.h"

struct up {
	char *path;
	atomic_int fd;	  /* -1 until first need (upset_interrupt reads it) */
	int dropped;	  /* failed once: not used again by this set */
	int timed_out;	  /* it was silent past a deadline */
	struct wire keys; /* the last identities answer's body */
	int have_keys;
};

struct upset {
	int n;
	atomic_int interrupted; /* stopping: no more calls, none waits */
	struct up u[UPSTREAM_MAX];
};

int
upset_new(const char *const *paths, int n, struct upset **out)
{
	struct upset *s;
	int i;

	*out = NULL;
	if (n > UPSTREAM_MAX)
		n = UPSTREAM_MAX;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ERR_ALLOC;
	atomic_init(&s->interrupted, 0);
	for (i = 0; i < n; i++) {
		atomic_init(&s->u[i].fd, -1);
		wire_init(&s->u[i].keys, AGENTPROTO_MAX_FRAME);
		if ((s->u[i].path = strdup(paths[i])) == NULL) {
			s->n = i;
			upset_free(s);
			return ERR_ALLOC;
		}
	}
	s->n = n;
	*out = s;
	return 0;
}

void
upset_free(struct upset *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		if (atomic_load(&s->u[i].fd) >= 0)
			close(atomic_load(&s->u[i].fd));
		wire_free(&s->u[i].keys);
		free(s->u[i].path);
	}
	free(s);
}

void
upset_interrupt(struct upset *s)
{
	int i, fd;

	if (s == NULL)
		return;
	atomic_store(&s->interrupted, 1);
	/* (A worker closes an fd only after exchanging it for -1: the
	 * number read here is still that connection, or already -1.) */
	for (i = 0; i < s->n; i++)
		if ((fd = atomic_load(&s->u[i].fd)) >= 0)
			shutdown(fd, SHUT_RDWR);
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

int
upset_count(const struct upset *s)
{
	return s == NULL ? 0 : s->n;
}

static void
drop(struct up *u)
{
	int fd = atomic_exchange(&u->fd, -1);

	if (fd >= 0)
		close(fd);
	u->dropped = 1;
	u->have_keys = 0;
}

/*
 * A connection to path within timeout_ms: a listener that does not
 * accept (a full backlog, a stopped process) must not hold a thread.
 */
static int
connect_within(const char *path, int timeout_ms, int *out)
{
	struct sockaddr_un sun;
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int fd, err = 0;

	*out = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return ERR_TOO_LONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ERR_SYSTEM;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			close(fd);
			return ERR_NO_SERVER;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, timeout_ms) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
		    err != 0) {
			close(fd);
			return ERR_NO_SERVER;
		}
	}
	*out = fd;
	return 0;
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
	if (strlen(path) >= sizeof(dir))
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

/* The connection to u, made on first need; 0 or an error (dropped). */
/* EXTENSION "proxy@sshenv", framed. */
static const uint8_t proxy_frame[] = { 0, 0, 0, 17, 27, 0, 0, 0, 12, 'p', 'r',
	'o', 'x', 'y', '@', 's', 's', 'h', 'e', 'n', 'v' };
_Static_assert(sizeof(proxy_frame) == 4 + 17, "the frame's length");

/* One exchange on u's open connection; on failure u is dropped. */
static int
raw_exchange(struct up *u, const uint8_t *frame, size_t len, int timeout_ms,
    uint8_t *type, struct wire *reply)
{
	struct wire out;
	int r;

	wire_init(&out, AGENTPROTO_MAX_FRAME + 4);
	wire_reset(reply);
	if ((r = wire_put(&out, frame, len)) == 0)
		r = agentclient_exchange(atomic_load(&u->fd), &out,
		    AGENTPROTO_MAX_FRAME, timeout_ms, type, reply);
	wire_free(&out);
	/* Out of step, or gone: of no more use to this connection. */
	if (r == ERR_BUSY)
		u->timed_out = 1;
	if (r != 0)
		drop(u);
	return r;
}

/* The connection to u, made on first need; 0 or an error (dropped). */
static int
ready(struct upset *s, struct up *u)
{
	struct wire reply;
	uint8_t type;
	uid_t uid;
	int fd, r;

	if (u->dropped || atomic_load(&s->interrupted))
		return ERR_NO_SERVER;
	if (atomic_load(&u->fd) >= 0)
		return 0;
	if ((r = trusted(u->path)) != 0 ||
	    (r = connect_within(u->path, UPSTREAM_CONNECT_MS, &fd)) != 0) {
		drop(u);
		return r;
	}
	atomic_store(&u->fd, fd);
	/* upset_interrupt may have looked before the store: look again. */
	if (atomic_load(&s->interrupted)) {
		drop(u);
		return ERR_NO_SERVER;
	}
	/* The one listening there is us too: no one else gets our
	 * requests, or answers them. */
	if (compat_peer_uid(fd, &uid) != 0 || uid != geteuid()) {
		drop(u);
		return ERR_DENIED;
	}
	/*
	 * Say we are a proxy: an sshenv agent there (this one, reached
	 * through ssh -A to this very host, or one on the far side of a
	 * loop of hosts) then serves that connection from its own keys
	 * alone, so that requests never go round in circles.  Other agents
	 * answer FAILURE, which is fine.
	 */
	wire_init(&reply, AGENTPROTO_MAX_FRAME);
	r = raw_exchange(u, proxy_frame, sizeof(proxy_frame),
	    UPSTREAM_CONNECT_MS, &type, &reply);
	wire_free(&reply);
	return r;
}

/* One exchange with u, connecting first if need be. */
static int
exchange(struct upset *s, struct up *u, const uint8_t *frame, size_t len,
    int timeout_ms, uint8_t *type, struct wire *reply)
{
	int r;

	if ((r = ready(s, u)) != 0)
		return r;
	if (atomic_load(&s->interrupted)) {
		drop(u);
		return ERR_NO_SERVER;
	}
	return raw_exchange(u, frame, len, timeout_ms, type, reply);
}

void
upset_list(struct upset *s, int timeout_ms)
{
	static const uint8_t req[5] = { 0, 0, 0, 1, AGENTC_REQUEST_IDENTITIES };
	uint8_t type;
	int i;

	for (i = 0; i < s->n; i++) {
		s->u[i].have_keys = 0;
		if (exchange(s, &s->u[i], req, sizeof(req), timeout_ms, &type,
			&s->u[i].keys) == 0 &&
		    type == AGENT_IDENTITIES_ANSWER)
			s->u[i].have_keys = 1;
	}
}

int
upset_keys(const struct upset *s, int i, struct wire *view)
{
	if (i < 0 || i >= s->n || !s->u[i].have_keys)
		return ERR_NOT_FOUND;
	wire_view(view, wire_ptr(&s->u[i].keys), wire_avail(&s->u[i].keys));
	return 0;
}

void
upset_broadcast(struct upset *s, const uint8_t *frame, size_t len,
    int timeout_ms)
{
	struct wire reply;
	uint8_t type;
	int i;

	wire_init(&reply, AGENTPROTO_MAX_FRAME);
	for (i = 0; i < s->n; i++)
		(void)exchange(s, &s->u[i], frame, len, timeout_ms, &type,
		    &reply);
	wire_free(&reply);
}

int
upset_call(struct upset *s, int i, const uint8_t *frame, size_t len,
    int timeout_ms, struct wire *reply)
{
	struct wire body;
	uint8_t type;
	int r;

	if (i < 0 || i >= s->n)
		return ERR_NOT_FOUND;
	wire_init(&body, AGENTPROTO_MAX_FRAME);
	wire_reset(reply);
	if ((r = exchange(s, &s->u[i], frame, len, timeout_ms, &type, &body)) ==
		0 &&
	    (r = wire_put_u8(reply, type)) == 0)
		r = wire_put(reply, wire_ptr(&body), wire_avail(&body));
	wire_free(&body);
	return r;
}
