#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentclient.h"
#include "agentproto.h"
#include "compat.h"
#include "sserr.h"
#include "rtpaths.h"
#include "wire.h"

/* Waits for fd to be ready for events before the deadline. */
static int
wait_fd(int fd, short events, long deadline)
{
	struct pollfd pfd = { fd, events, 0 };
	long left;
	int n;

	for (;;) {
		left = deadline - compat_now_ms();
		if (left <= 0)
			return ERR_BUSY;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return ERR_BUSY;
		if (errno != EINTR)
			return ERR_SYSTEM;
	}
}

int
agentclient_exchange(int fd, struct wire *out, size_t max, int timeout_ms,
    uint8_t *rtype, struct wire *reply)
{
	struct wire in, rbody;
	long deadline = compat_now_ms() + timeout_ms;
	size_t framelen;
	uint8_t *p;
	ssize_t n;
	int r;

	*rtype = 0;
	wire_init(&in, max + 4);
	while (wire_avail(out) > 0) {
		if ((r = wait_fd(fd, POLLOUT, deadline)) != 0)
			goto out;
		n = send(fd, wire_ptr(out), wire_avail(out), MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			r = ERR_NO_SERVER; /* the peer went away */
			goto out;
		}
		wire_consume(out, (size_t)n);
	}
	for (;;) {
		r = wire_get_frame(&in, max, rtype, &rbody, &framelen);
		if (r == 0)
			break;
		if (r != ERR_TRUNCATED) {
			r = ERR_PROTOCOL;
			goto out;
		}
		if ((r = wait_fd(fd, POLLIN, deadline)) != 0 ||
		    (r = wire_reserve(&in, 4096, &p)) != 0)
			goto out;
		n = read(fd, p, 4096);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			r = n == 0 ? ERR_NO_SERVER : ERR_SYSTEM;
			goto out;
		}
		wire_commit(&in, (size_t)n);
	}
	wire_reset(reply);
	r = wire_put(reply, wire_ptr(&rbody), wire_avail(&rbody));
out:
	wire_free(&in);
	return r;
}

int
agentclient_call(const char *sock, int timeout_ms, uint8_t type,
    const void *body, size_t len, uint8_t *rtype, struct wire *reply)
{
	struct wire out;
	int fd = -1, r;

	*rtype = 0;
	wire_init(&out, AGENTPROTO_MAX_FRAME + 4);
	if ((r = agentproto_begin(&out, type)) ||
	    (r = wire_put(&out, body, len)) || (r = agentproto_finish(&out, 0)))
		goto out;
	if ((r = rtpaths_connect(sock, &fd)) != 0)
		goto out;
	r = agentclient_exchange(fd, &out, AGENTPROTO_MAX_FRAME, timeout_ms,
	    rtype, reply);
out:
	if (fd >= 0)
		close(fd);
	wire_free(&out);
	return r;
}

int
agentclient_list(const char *sock, int timeout_ms, struct wire *reply,
    uint32_t *count)
{
	uint8_t type;
	int r;

	*count = 0;
	if ((r = agentclient_call(sock, timeout_ms, AGENTC_REQUEST_IDENTITIES,
		 NULL, 0, &type, reply)) != 0)
		return r;
	if (type != AGENT_IDENTITIES_ANSWER)
		return ERR_PROTOCOL;
	return wire_get_u32(reply, count) == 0 ? 0 : ERR_PROTOCOL;
}

int
agentclient_count(const char *sock, int timeout_ms, uint32_t *count)
{
	struct wire reply;
	int r;

	wire_init(&reply, AGENTPROTO_MAX_FRAME);
	r = agentclient_list(sock, timeout_ms, &reply, count);
	wire_free(&reply);
	return r;
}

int
agentclient_listed(const struct wire *list, uint32_t count, const uint8_t *blob,
    size_t len)
{
	struct wire w;
	const uint8_t *k, *c;
	size_t kl, cl;
	uint32_t i;

	/* A view: the caller's list is read again for the next key. */
	wire_view(&w, wire_ptr(list), wire_avail(list));
	for (i = 0; i < count; i++) {
		if (wire_get_string(&w, &k, &kl) != 0 ||
		    wire_get_string(&w, &c, &cl) != 0)
			return ERR_PROTOCOL;
		if (kl == len && memcmp(k, blob, len) == 0)
			return 1;
	}
	return 0;
}

int
agentclient_lock(const char *sock, int fd, int timeout_ms, int lock,
    const uint8_t *pass, size_t len)
{
	struct wire body, reply, out;
	uint8_t type = 0, t = lock ? AGENTC_LOCK : AGENTC_UNLOCK;
	int r;

	wire_init(&body, AGENTPROTO_MAX_FRAME);
	wire_init(&reply, AGENTPROTO_MAX_FRAME);
	wire_init(&out, AGENTPROTO_MAX_FRAME + 4);
	if ((r = wire_put_string(&body, pass, len)) != 0)
		;
	else if (fd < 0)
		r = agentclient_call(sock, timeout_ms, t, wire_ptr(&body),
		    wire_avail(&body), &type, &reply);
	else if ((r = agentproto_begin(&out, t)) == 0 &&
	    (r = wire_put(&out, wire_ptr(&body), wire_avail(&body))) == 0 &&
	    (r = agentproto_finish(&out, 0)) == 0)
		r = agentclient_exchange(fd, &out, AGENTPROTO_MAX_FRAME,
		    timeout_ms, &type, &reply);
	wire_free(&out);
	if (r == 0 && type != AGENT_SUCCESS)
		r = ERR_DENIED;
	wire_free(&body);
	wire_free(&reply);
	return r;
}

int
agentclient_line_call(int fd, int timeout_ms, const char *name,
    const uint8_t *body, size_t len)
{
	struct wire out, reply;
	uint8_t type = 0;
	int r;

	wire_init(&out, AGENTPROTO_MAX_FRAME + 4);
	wire_init(&reply, AGENTPROTO_MAX_FRAME);
	if ((r = agentproto_begin(&out, AGENTC_EXTENSION)) == 0 &&
	    (r = wire_put_cstring(&out, name)) == 0 &&
	    (r = wire_put(&out, body, len)) == 0 &&
	    (r = agentproto_finish(&out, 0)) == 0)
		r = agentclient_exchange(fd, &out, AGENTPROTO_MAX_FRAME,
		    timeout_ms, &type, &reply);
	if (r == 0 && type != AGENT_SUCCESS)
		r = ERR_DENIED;
	wire_free(&out);
	wire_free(&reply);
	return r;
}
