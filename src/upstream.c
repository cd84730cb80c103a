/*
 * Blocking, bounded calls to other agents (agentclient does the framing),
 * for one client connection at a time: the agent serves each connection's
 * requests in order, so a set is never used by two threads at once.
 */
#include <stdlib.h>
#include <string.h>
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
	int fd;		  /* -1 until first need */
	int dropped;	  /* failed once: not used again by this set */
	struct wire keys; /* the last identities answer's body */
	int have_keys;
};

struct upset {
	int n;
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
	for (i = 0; i < n; i++) {
		s->u[i].fd = -1;
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
		if (s->u[i].fd >= 0)
			close(s->u[i].fd);
		wire_free(&s->u[i].keys);
		free(s->u[i].path);
	}
	free(s);
}

void
upset_interrupt(struct upset *s)
{
	int i, fd;

	for (i = 0; s != NULL && i < s->n; i++)
		if ((fd = s->u[i].fd) >= 0)
			shutdown(fd, SHUT_RDWR);
}

int
upset_count(const struct upset *s)
{
	return s == NULL ? 0 : s->n;
}

static void
drop(struct up *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	u->dropped = 1;
	u->have_keys = 0;
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
static int
ready(struct up *u)
{
	uid_t uid;
	int r;

	if (u->dropped)
		return ERR_NO_SERVER;
	if (u->fd >= 0)
		return 0;
	if ((r = trusted(u->path)) != 0 ||
	    (r = rtpaths_connect(u->path, &u->fd)) != 0) {
		u->fd = -1;
		drop(u);
		return r;
	}
	/* The one listening there is us too: no one else gets our
	 * requests, or answers them. */
	if (compat_peer_uid(u->fd, &uid) != 0 || uid != geteuid()) {
		drop(u);
		return ERR_DENIED;
	}
	return 0;
}

/* One exchange with u: the type and body of its answer. */
static int
exchange(struct up *u, const uint8_t *frame, size_t len, int timeout_ms,
    uint8_t *type, struct wire *reply)
{
	struct wire out;
	int r;

	if ((r = ready(u)) != 0)
		return r;
	wire_init(&out, AGENTPROTO_MAX_FRAME + 4);
	wire_reset(reply);
	if ((r = wire_put(&out, frame, len)) == 0)
		r = agentclient_exchange(u->fd, &out, AGENTPROTO_MAX_FRAME,
		    timeout_ms, type, reply);
	wire_free(&out);
	/* Out of step, or gone: of no more use to this connection. */
	if (r != 0)
		drop(u);
	return r;
}

void
upset_list(struct upset *s, int timeout_ms)
{
	static const uint8_t req[5] = { 0, 0, 0, 1, AGENTC_REQUEST_IDENTITIES };
	uint8_t type;
	int i;

	for (i = 0; i < s->n; i++) {
		s->u[i].have_keys = 0;
		if (exchange(&s->u[i], req, sizeof(req), timeout_ms, &type,
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
		(void)exchange(&s->u[i], frame, len, timeout_ms, &type, &reply);
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
	if ((r = exchange(&s->u[i], frame, len, timeout_ms, &type, &body)) ==
		0 &&
	    (r = wire_put_u8(reply, type)) == 0)
		r = wire_put(reply, wire_ptr(&body), wire_avail(&body));
	wire_free(&body);
	return r;
}
