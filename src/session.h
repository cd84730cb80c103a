/*
 * session: the set of login sessions the supervisor serves, each named by
 * its session leader's pid (getsid), and the watch that notices when a
 * leader is gone: a pidfd in the loop on Linux, a once-a-second poll where
 * there are no pidfds (Cygwin, BSD, macOS, or a PORTABLE build).
 */
#ifndef SSHENV_SESSION_H
#define SSHENV_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct session_set;

/* Called from the loop when a watched session's leader has gone. */
typedef void (*session_gone_fn)(void *arg, long sid);

/* A new empty set on loop; 0 or ERR_ALLOC. */
int session_set_new(uv_loop_t *loop, session_gone_fn gone, void *arg,
    struct session_set **out);
/*
 * Closes every handle; the set frees itself once libuv has closed them,
 * so the loop must run on.  Accepts NULL.
 */
void session_set_close(struct session_set *set);

/* At most this many sessions are watched (each costs a descriptor). */
#define SESSION_MAX 1024

/*
 * Starts watching sid.  ERR_EXISTS if already watched, ERR_NOT_FOUND if
 * no such process runs or sid is no pid (outside 2..INT_MAX), ERR_TOO_LONG
 * when SESSION_MAX are watched.
 */
int session_add(struct session_set *set, long sid);
/* Stops watching sid (no callback); ERR_NOT_FOUND if unknown. */
int session_remove(struct session_set *set, long sid);
size_t session_count(const struct session_set *set);
/* Copies up to max session ids into out; returns how many were copied. */
size_t session_list(const struct session_set *set, uint32_t *out, size_t max);

#endif
