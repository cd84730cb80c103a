/*
 * agentclient: a small blocking client of the SSH agent protocol, bounded
 * by a timeout, for the CLI and for the supervisor's thread-pool jobs.
 */
#ifndef SSHENV_AGENTCLIENT_H
#define SSHENV_AGENTCLIENT_H

#include <stddef.h>
#include <stdint.h>

struct wire;

/*
 * Sends one request (type and body) to the agent at sock and reads one
 * reply within timeout_ms: *type gets the reply type and reply (a store)
 * its body.  ERR_NO_SERVER if nothing answers, ERR_BUSY on timeout,
 * ERR_PROTOCOL for a malformed reply.
 */
int agentclient_call(const char *sock, int timeout_ms, uint8_t type,
    const void *body, size_t len, uint8_t *rtype, struct wire *reply);

/*
 * The blocking core, for any protocol framed as uint32 length, type byte,
 * body: writes all of out (a whole frame) to the connected fd and reads
 * one frame of at most max bytes, all within timeout_ms.  Same results as
 * agentclient_call; ERR_NO_SERVER also when the peer closes first.
 */
int agentclient_exchange(int fd, struct wire *out, size_t max, int timeout_ms,
    uint8_t *rtype, struct wire *reply);
/* (max is at least 4096: the reads go by that much.) */

/* The number of identities the agent lists (0 when locked). */
int agentclient_count(const char *sock, int timeout_ms, uint32_t *count);

/*
 * REQUEST_IDENTITIES: *count, and reply (a store of the caller's)
 * positioned at the first identity.
 */
int agentclient_list(const char *sock, int timeout_ms, struct wire *reply,
    uint32_t *count);

/*
 * 1 if a list from agentclient_list (not consumed) holds this public key
 * blob, 0 if not, ERR_PROTOCOL if the list is malformed.
 */
int agentclient_listed(const struct wire *list, uint32_t count,
    const uint8_t *blob, size_t len);

/*
 * LOCK (lock = 1) or UNLOCK with a passphrase, on fd (a connection of
 * ours, kept open) or, when fd is -1, on a new connection to sock:
 * 0 or ERR_DENIED.
 */
int agentclient_lock(const char *sock, int fd, int timeout_ms, int lock,
    const uint8_t *pass, size_t len);

/*
 * Sends one of sshenv's own extensions (name, then body) on fd, the
 * supervisor's line to its agent, the only place the agent takes them
 * from: forwarding-policy@sshenv, upstreams@sshenv.  0, ERR_DENIED if
 * refused.
 */
int agentclient_line_call(int fd, int timeout_ms, const char *name,
    const uint8_t *body, size_t len);

#endif
