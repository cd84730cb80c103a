/*
 * ctlproto: the protocol between the sshenv client commands and the
 * supervisor on its control socket.  Frames as in the agent protocol
 * (uint32 length, type byte, body), at most CTLPROTO_MAX_FRAME bytes; each
 * request starts with the protocol version so a stale supervisor can be
 * told apart.  Pure encode/decode; decoders check every size and refuse
 * trailing bytes.
 */
#ifndef SSHENV_CTLPROTO_H
#define SSHENV_CTLPROTO_H

#include <stdint.h>

#include "wire.h"

#define CTLPROTO_VERSION 6
#define CTLPROTO_MAX_FRAME (64 * 1024)
#define CTLPROTO_MAX_SESSIONS 1024
#define CTLPROTO_SOCK_MAX 108
#define CTLPROTO_MAX_UPSTREAMS 32

enum ctl_type {
	CTL_INIT = 1,	/* register a session, want the agent */
	CTL_ENV = 2,	/* want the agent, no session */
	CTL_LOGOUT = 3, /* this session ends now */
	CTL_STATUS = 4,
	CTL_STOP = 5, /* stop agent and supervisor */
	CTL_R_OK = 64,
	CTL_R_ENV = 65,
	CTL_R_STATUS = 66,
	CTL_R_ERROR = 67
};

struct ctl_request {
	uint8_t type;
	uint32_t sid; /* INIT, LOGOUT: the session leader */
	/* INIT: the agent sshd forwarded to this login, to follow, or "" */
	char fwd[CTLPROTO_SOCK_MAX];
};

struct ctl_reply {
	uint8_t type;
	/* R_ERROR */
	int32_t code;
	char message[256];
	/* R_ENV and R_STATUS */
	char sock[CTLPROTO_SOCK_MAX];
	uint32_t agent_pid;
	/* R_ENV: what went wrong with the environment file, or "" */
	char warning[256];
	/* R_ENV: the forwarded agent this login brought is followed */
	uint8_t followed;
	/* R_STATUS */
	uint32_t supervisor_pid;
	int32_t keys; /* -1: unknown */
	uint8_t locked;
	uint8_t systemd;
	char policy[16];
	char agent_state[16]; /* the supervisor's table state */
	uint8_t lingering;    /* no session left: the linger timer runs */
	uint32_t nsessions;
	uint32_t sessions[CTLPROTO_MAX_SESSIONS];
	/* When and why the last agent was lost with its keys, or "". */
	char agent_lost[128];
	/* A bad line in the configuration, or a reload refused, or "". */
	char config_error[512];
	/* The other agents the stable socket serves, newest first: sid 0
	 * for one named in [agent] upstream.  found is the client's own
	 * (never on the wire): an sshd socket of a login that did not
	 * register, which the agent follows too (fwdscan). */
	uint32_t nups;
	struct {
		uint32_t sid;
		uint8_t found;
		char path[CTLPROTO_SOCK_MAX];
	} ups[CTLPROTO_MAX_UPSTREAMS];
	/* What the supervisor hears of logind (suspend, screen lock). */
	char logind[200];
};

/* Appends a whole request frame to out, or nothing (an error). */
int ctlproto_put_request(struct wire *out, const struct ctl_request *rq);
/* Decodes a request body of the given type; ERR_PROTOCOL for a version
 * mismatch, ERR_UNSUPPORTED for an unknown type.  *rq is zeroed on any
 * failure. */
int
ctlproto_get_request(uint8_t type, struct wire *body, struct ctl_request *rq);
/* Appends a whole reply frame to out, or nothing (an error). */
int ctlproto_put_reply(struct wire *out, const struct ctl_reply *rp);
/* Decodes a reply body of the given type into *rp. */
int ctlproto_get_reply(uint8_t type, struct wire *body, struct ctl_reply *rp);

#endif
