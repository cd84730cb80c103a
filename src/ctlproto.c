#include <string.h>

#include "ctlproto.h"
#include "sserr.h"

static int
put_request(struct wire *out, const struct ctl_request *rq)
{
	size_t start;
	int r;

	if ((r = wire_len_open(out, &start)) ||
	    (r = wire_put_u8(out, rq->type)) ||
	    (r = wire_put_u32(out, CTLPROTO_VERSION)))
		return r;
	switch (rq->type) {
	case CTL_INIT:
		if ((r = wire_put_u32(out, rq->sid)) != 0 ||
		    (r = wire_put_cstring(out, rq->fwd)) != 0)
			return r;
		break;
	case CTL_LOGOUT:
		if ((r = wire_put_u32(out, rq->sid)) != 0)
			return r;
		break;
	case CTL_ENV:
	case CTL_STATUS:
	case CTL_STOP: break;
	default: return ERR_INTERNAL;
	}
	return wire_len_close(out, start);
}

/* A socket path: absolute or empty, no NUL, fits. */
static int
get_path(struct wire *w, char *out, size_t size)
{
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = wire_get_string(w, &p, &n)) != 0)
		return r;
	if (n >= size || memchr(p, '\0', n) != NULL || (n > 0 && p[0] != '/'))
		return ERR_FORMAT;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
ctlproto_get_request(uint8_t type, struct wire *body, struct ctl_request *rq)
{
	uint32_t version;
	int r;

	memset(rq, 0, sizeof(*rq));
	if ((r = wire_get_u32(body, &version)) != 0)
		goto out;
	r = ERR_PROTOCOL;
	if (version != CTLPROTO_VERSION)
		goto out;
	switch (type) {
	case CTL_INIT:
	case CTL_LOGOUT:
		if ((r = wire_get_u32(body, &rq->sid)) != 0)
			goto out;
		r = ERR_FORMAT;
		/* 0: the client cannot tell (another pid namespace). */
		if (rq->sid > INT32_MAX)
			goto out;
		if (type == CTL_INIT &&
		    (r = get_path(body, rq->fwd, sizeof(rq->fwd))) != 0)
			goto out;
		break;
	case CTL_ENV:
	case CTL_STATUS:
	case CTL_STOP: break;
	default: r = ERR_UNSUPPORTED; goto out;
	}
	if ((r = wire_end(body)) != 0)
		goto out;
	rq->type = type;
	return 0;
out:
	/* A failed decode leaves nothing half-filled. */
	memset(rq, 0, sizeof(*rq));
	return r;
}

/* A string into a fixed buffer: no NUL inside, must fit. */
static int
get_str(struct wire *w, char *buf, size_t size)
{
	const uint8_t *p;
	size_t n, off = w->off;
	int r;

	if ((r = wire_get_string(w, &p, &n)) != 0)
		return r;
	if (n >= size || memchr(p, '\0', n) != NULL) {
		w->off = off;
		return n >= size ? ERR_TOO_LONG : ERR_FORMAT;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

static int
put_reply(struct wire *out, const struct ctl_reply *rp)
{
	size_t start;
	uint32_t i;
	int r;

	if ((r = wire_len_open(out, &start)) ||
	    (r = wire_put_u8(out, rp->type)))
		return r;
	switch (rp->type) {
	case CTL_R_OK: break;
	case CTL_R_ERROR:
		if ((r = wire_put_u32(out, (uint32_t)rp->code)) ||
		    (r = wire_put_cstring(out, rp->message)))
			return r;
		break;
	case CTL_R_ENV:
		if ((r = wire_put_cstring(out, rp->sock)) ||
		    (r = wire_put_u32(out, rp->agent_pid)) ||
		    (r = wire_put_cstring(out, rp->warning)) ||
		    (r = wire_put_u8(out, rp->followed)))
			return r;
		break;
	case CTL_R_STATUS:
		if (rp->nsessions > CTLPROTO_MAX_SESSIONS)
			return ERR_TOO_LONG;
		if ((r = wire_put_cstring(out, rp->sock)) ||
		    (r = wire_put_u32(out, rp->agent_pid)) ||
		    (r = wire_put_u32(out, rp->supervisor_pid)) ||
		    (r = wire_put_u32(out, (uint32_t)rp->keys)) ||
		    (r = wire_put_u8(out, rp->locked)) ||
		    (r = wire_put_u8(out, rp->systemd)) ||
		    (r = wire_put_cstring(out, rp->policy)) ||
		    (r = wire_put_cstring(out, rp->agent_state)) ||
		    (r = wire_put_u8(out, rp->lingering)) ||
		    (r = wire_put_u32(out, rp->nsessions)))
			return r;
		for (i = 0; i < rp->nsessions; i++) {
			if ((r = wire_put_u32(out, rp->sessions[i])) != 0)
				return r;
		}
		if ((r = wire_put_cstring(out, rp->agent_lost)) != 0 ||
		    (r = wire_put_cstring(out, rp->config_error)) != 0)
			return r;
		if (rp->nups > CTLPROTO_MAX_UPSTREAMS)
			return ERR_TOO_LONG;
		if ((r = wire_put_u32(out, rp->nups)) != 0)
			return r;
		for (i = 0; i < rp->nups; i++)
			if ((r = wire_put_u32(out, rp->ups[i].sid)) != 0 ||
			    (r = wire_put_cstring(out, rp->ups[i].path)) != 0)
				return r;
		if ((r = wire_put_cstring(out, rp->logind)) != 0)
			return r;
		break;
	default: return ERR_INTERNAL;
	}
	return wire_len_close(out, start);
}

int
ctlproto_get_reply(uint8_t type, struct wire *body, struct ctl_reply *rp)
{
	uint32_t i, u;
	int r = 0;

	memset(rp, 0, sizeof(*rp));
	switch (type) {
	case CTL_R_OK: break;
	case CTL_R_ERROR:
		if ((r = wire_get_u32(body, &u)) ||
		    (r = get_str(body, rp->message, sizeof(rp->message))))
			goto out;
		rp->code = (int32_t)u;
		break;
	case CTL_R_ENV:
		if ((r = get_str(body, rp->sock, sizeof(rp->sock))) ||
		    (r = wire_get_u32(body, &rp->agent_pid)) ||
		    (r = get_str(body, rp->warning, sizeof(rp->warning))) ||
		    (r = wire_get_u8(body, &rp->followed)))
			goto out;
		if (rp->followed > 1) {
			r = ERR_FORMAT;
			goto out;
		}
		break;
	case CTL_R_STATUS:
		if ((r = get_str(body, rp->sock, sizeof(rp->sock))) ||
		    (r = wire_get_u32(body, &rp->agent_pid)) ||
		    (r = wire_get_u32(body, &rp->supervisor_pid)) ||
		    (r = wire_get_u32(body, &u)) ||
		    (r = wire_get_u8(body, &rp->locked)) ||
		    (r = wire_get_u8(body, &rp->systemd)) ||
		    (r = get_str(body, rp->policy, sizeof(rp->policy))) ||
		    (r = get_str(body, rp->agent_state,
			 sizeof(rp->agent_state))) ||
		    (r = wire_get_u8(body, &rp->lingering)) ||
		    (r = wire_get_u32(body, &rp->nsessions)))
			goto out;
		rp->keys = (int32_t)u;
		if (rp->locked > 1 || rp->systemd > 1 || rp->lingering > 1 ||
		    rp->nsessions > CTLPROTO_MAX_SESSIONS) {
			r = ERR_FORMAT;
			goto out;
		}
		for (i = 0; i < rp->nsessions; i++) {
			if ((r = wire_get_u32(body, &rp->sessions[i])) != 0)
				goto out;
		}
		if ((r = get_str(body, rp->agent_lost,
			 sizeof(rp->agent_lost))) != 0 ||
		    (r = get_str(body, rp->config_error,
			 sizeof(rp->config_error))) != 0 ||
		    (r = wire_get_u32(body, &rp->nups)) != 0)
			goto out;
		if (rp->nups > CTLPROTO_MAX_UPSTREAMS) {
			r = ERR_FORMAT;
			goto out;
		}
		for (i = 0; i < rp->nups; i++)
			if ((r = wire_get_u32(body, &rp->ups[i].sid)) != 0 ||
			    (r = get_str(body, rp->ups[i].path,
				 sizeof(rp->ups[i].path))) != 0)
				goto out;
		if ((r = get_str(body, rp->logind, sizeof(rp->logind))) != 0)
			goto out;
		break;
	default: r = ERR_UNSUPPORTED; goto out;
	}
	if ((r = wire_end(body)) != 0)
		goto out;
	rp->type = type;
out:
	if (r != 0)
		memset(rp, 0, sizeof(*rp));
	return r;
}

/* The encoders append a whole frame or, on failure, nothing. */
int
ctlproto_put_request(struct wire *out, const struct ctl_request *rq)
{
	size_t mark = wire_mark(out);
	int r;

	if ((r = put_request(out, rq)) != 0)
		wire_rollback(out, mark);
	return r;
}

int
ctlproto_put_reply(struct wire *out, const struct ctl_reply *rp)
{
	size_t mark = wire_mark(out);
	int r;

	if ((r = put_reply(out, rp)) != 0)
		wire_rollback(out, mark);
	return r;
}
