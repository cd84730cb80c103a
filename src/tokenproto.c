#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "compat.h"
#include "sserr.h"
#include "tokenproto.h"
#include "wire.h"

int
tokenproto_send(int fd, uint8_t type, const uint8_t *body, size_t len)
{
	uint8_t head[5];
	const uint8_t *p;
	size_t left;
	ssize_t n;
	int part;

	if (len + 1 > TOKENPROTO_MAX_FRAME)
		return ERR_TOO_LONG;
	head[0] = (uint8_t)((len + 1) >> 24);
	head[1] = (uint8_t)((len + 1) >> 16);
	head[2] = (uint8_t)((len + 1) >> 8);
	head[3] = (uint8_t)(len + 1);
	head[4] = type;
	for (part = 0; part < 2; part++) {
		p = part == 0 ? head : body;
		left = part == 0 ? sizeof(head) : len;
		while (left > 0) {
			/* MSG_NOSIGNAL: a helper gone is an error, not a
			 * SIGPIPE for the whole agent. */
			n = send(fd, p, left, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return ERR_SYSTEM;
			p += n;
			left -= (size_t)n;
		}
	}
	return 0;
}

int
tokenproto_recv(int fd, int timeout_ms, struct wire *in, uint8_t *type,
    struct wire *body)
{
	struct pollfd pfd;
	uint64_t deadline = 0, now;
	size_t framelen, want;
	uint8_t *p;
	ssize_t n;
	int r, wait;

	wire_reset(in);
	if (timeout_ms >= 0)
		deadline = (uint64_t)compat_boottime_ms() +
		    (uint64_t)timeout_ms;
	for (;;) {
		r = wire_get_frame(in, TOKENPROTO_MAX_FRAME, type, body,
		    &framelen);
		if (r != ERR_TRUNCATED)
			return r;
		wait = -1;
		if (timeout_ms >= 0) {
			now = (uint64_t)compat_boottime_ms();
			if (now >= deadline)
				return ERR_TIMEOUT;
			wait = (int)(deadline - now);
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ERR_SYSTEM;
		if (r == 0)
			continue; /* the deadline is checked above */
		/* No more than the room left: a frame of the largest size
		 * fills in exactly. */
		if ((want = in->max - wire_avail(in)) > 4096)
			want = 4096;
		if (want == 0)
			return ERR_TOO_LONG;
		if ((r = wire_reserve(in, want, &p)) != 0)
			return r;
		n = read(fd, p, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ERR_SYSTEM;
		if (n == 0)
			return ERR_NO_SERVER;
		wire_commit(in, (size_t)n);
	}
}

int
tokenproto_fail(struct wire *body, char *msg, size_t size)
{
	const uint8_t *p;
	uint32_t code;
	size_t n;

	msg[0] = '\0';
	if (wire_get_u32(body, &code) != 0 ||
	    wire_get_string(body, &p, &n) != 0)
		return ERR_PROTOCOL;
	if (n >= size)
		n = size - 1;
	memcpy(msg, p, n);
	msg[n] = '\0';
	/* Only a code the table knows: anything else is the helper's bug. */
	if (code == 0 || code > (uint32_t)-ERR_LAST)
		return ERR_PROTOCOL;
	return -(int)code;
}
