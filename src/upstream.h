/*
 * upstream: the other agents one client connection of the stable socket
 * reaches through us: the forwarded agents of the user's live logins,
 * newest first.  Each client connection has a set of its own, opened on
 * first need and kept for its life (so that what ssh binds with
 * session-bind stays bound), never shared.
 *
 * The calls run on the agent's loop, without a thread: a call goes to
 * every upstream it concerns at once, and the set's callback runs once
 * each of them has answered, failed or run out of time.  One call at a
 * time per set (a client connection's requests are served in order).
 */
#ifndef SSHENV_UPSTREAM_H
#define SSHENV_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct wire;
struct upset;

/* Upstreams one connection may have (and the supervisor sends). */
#define UPSTREAM_MAX 32
/* How long a connection (and the hello that follows) may take. */
#define UPSTREAM_CONNECT_MS 2000
/* Keys taken from one upstream's list, at most. */
#define UPSTREAM_MAX_KEYS 256

/* Runs, from the loop, when a call of s has ended; arg is upset_new's. */
typedef void (*upset_done_cb)(struct upset *s, void *arg);

/*
 * A set over copies of paths[0..n-1] on loop, nothing opened yet; done
 * ends each call.  0 or ERR_ALLOC.
 */
int upset_new(uv_loop_t *loop, const char *const *paths, int n,
    upset_done_cb done, void *arg, struct upset **out);
/*
 * Closes every connection of the set and frees it once libuv is done
 * with its handles.  No call may be running.  Accepts NULL.
 */
void upset_free(struct upset *s);
int upset_count(const struct upset *s);

/*
 * The calls.  Each returns 0 (done runs later, never before the call
 * returns) or an error, ERR_BUSY while another call runs, ERR_NOT_FOUND
 * for no such upstream, ERR_ALLOC (done does not run).  An upstream is
 * connected to on first need; one that fails, or is silent past
 * timeout_ms (UPSTREAM_CONNECT_MS to connect and greet), is dropped for
 * the life of the set.
 *
 * upset_list: REQUEST_IDENTITIES to each upstream still usable; then
 * upset_keys gives each one's answer.
 */
int upset_list(struct upset *s, int timeout_ms);
/* upset_broadcast: the whole frame (a session-bind) to each upstream
 * still usable; their answers are not looked at: a refusal there is that
 * agent's to act on. */
int upset_broadcast(struct upset *s, const uint8_t *frame, size_t len,
    int timeout_ms);
/* upset_call: the whole frame to upstream i; then upset_reply. */
int upset_call(struct upset *s, int i, const uint8_t *frame, size_t len,
    int timeout_ms);

/*
 * After upset_list: a view of upstream i's identities answer (after its
 * type byte: count, then blob and comment for each), or ERR_NOT_FOUND if
 * it gave none.
 */
int upset_keys(const struct upset *s, int i, struct wire *view);
/* After upset_call: a view of upstream i's answer, its type byte first;
 * ERR_NO_SERVER if it gave none. */
int upset_reply(const struct upset *s, int i, struct wire *view);

/* The client went away, or the agent is stopping: every connection of
 * s is closed and no more are made; a running call ends soon (done). */
void upset_interrupt(struct upset *s);

/* Whether upstream i was silent past a deadline in the last call (and
 * was dropped for it); its path. */
int upset_timed_out(const struct upset *s, int i);
const char *upset_path(const struct upset *s, int i);

#endif
