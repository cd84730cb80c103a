/*
 * logind: what systemd-logind says that concerns the user's keys, heard
 * on the system bus (DBUS_SYSTEM_BUS_ADDRESS when set) with sd-bus and
 * driven by the caller's libuv loop: the machine is about to sleep
 * (org.freedesktop.login1.Manager.PrepareForSleep(true)), or one of the
 * user's sessions is to be locked (org.freedesktop.login1.Session.Lock,
 * from logind itself, for a session whose User is our uid).  Without a
 * bus, without logind, or in a build without sd-bus, it says so and
 * hears nothing.  libsystemd is dlopen()ed by the first logind_start, so a
 * supervisor that never listens does not load it.
 */
#ifndef SSHENV_LOGIND_H
#define SSHENV_LOGIND_H

#include <uv.h>

enum logind_event { LOGIND_SLEEP, LOGIND_LOCK };

typedef void logind_fn(void *arg, enum logind_event ev);

struct logind {
	uv_poll_t poll;	  /* the bus connection's fd */
	uv_timer_t timer; /* sd-bus's own timeouts */
	void *bus;	  /* sd_bus *, or NULL */
	logind_fn *fn;
	void *arg;
	int handles;   /* poll and timer were initialised */
	char base[96]; /* listening, or why not */
	char last[96]; /* the last event and what came of it, or "" */
	char state[200];
};

/*
 * Starts listening, calling fn(arg, ev) for each event; always returns
 * 0: l->state says "listening" or why not (logind_state).
 */
int logind_start(uv_loop_t *loop, struct logind *l, logind_fn *fn, void *arg);
/* Stops: closes the bus and the handles (closed with the loop's run). */
void logind_stop(struct logind *l);
/* What status shows: "listening to systemd-logind", or why not. */
const char *logind_state(struct logind *l);
/* Not started, for this reason (status says so). */
void logind_off(struct logind *l, const char *why);
/* Notes the last event and what came of it, for status. */
void logind_note(struct logind *l, const char *what);

#endif
