/*
 * upstream: the other agents one client connection of the stable socket
 * reaches through us: the forwarded agents of the user's live logins,
 * newest first.  Each client connection has a set of its own, opened on
 * first need and kept for its life (so that what ssh binds with
 * session-bind stays bound), never shared.  The calls block, with a
 * timeout: the agent runs them off its loop.
 */
#ifndef SSHENV_UPSTREAM_H
#define SSHENV_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

struct wire;
struct upset;

/* Upstreams one connection may have (and the supervisor sends). */
#define UPSTREAM_MAX 32
/* How long a connection (and the hello that follows) may take. */
#define UPSTREAM_CONNECT_MS 2000
/* Keys taken from one upstream's list, at most. */
#define UPSTREAM_MAX_KEYS 256

/* A set over copies of paths[0..n-1], nothing opened yet.  ERR_ALLOC. */
int upset_new(const char *const *paths, int n, struct upset **out);
/* Closes every connection of the set and frees it.  Accepts NULL. */
void upset_free(struct upset *s);
int upset_count(const struct upset *s);

/*
 * REQUEST_IDENTITIES to each upstream still usable (connecting first if
 * need be), each within timeout_ms.  One that fails is dropped for the
 * life of the set.  Then upset_keys gives each one's answer.
 */
void upset_list(struct upset *s, int timeout_ms);
/*
 * A view of upstream i's last identities answer (after its type byte:
 * count, then blob and comment for each), or ERR_NOT_FOUND if it gave
 * none.
 */
int upset_keys(const struct upset *s, int i, struct wire *view);

/* Sends the whole frame (a session-bind) to every usable upstream and
 * reads each answer, which is not looked at: a refusal there is that
 * agent's to act on. */
void upset_broadcast(struct upset *s, const uint8_t *frame, size_t len,
    int timeout_ms);

/*
 * Sends the whole frame to upstream i and reads its answer into reply (a
 * store of the caller's: the type byte, then the body).  0, or an error
 * (then upstream i is dropped).
 */
int upset_call(struct upset *s, int i, const uint8_t *frame, size_t len,
    int timeout_ms, struct wire *reply);

/* From the loop, while a call runs on another thread: its connections
 * are shut down and no more are made, so that it returns now (the
 * client went away, or the agent is stopping). */
void upset_interrupt(struct upset *s);

/* Whether upstream i was silent past a deadline; its path. */
int upset_timed_out(const struct upset *s, int i);
const char *upset_path(const struct upset *s, int i);

#endif
