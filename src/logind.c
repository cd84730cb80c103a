#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logind.h"

#ifdef SSHENV_SDBUS
#include <dlfcn.h>
#include <systemd/sd-bus.h>

/*
 * libsystemd is loaded when logind is first wanted, not linked: with
 * on_suspend and on_screen_lock at none (the default) the supervisor
 * never talks to the bus, and libsystemd with what it loads (libgcrypt,
 * libgpg-error, liblzma, libzstd, liblz4, libcap) cost every supervisor
 * about 120 kB of private relocated data and 600 kB of text where no
 * other process maps them (bench/footprint.sh).  Once loaded it stays.
 */
#define SDBUS_FNS(X) \
	X(sd_bus_open_system) \
	X(sd_bus_set_method_call_timeout) \
	X(sd_bus_add_match_async) \
	X(sd_bus_call_method_async) \
	X(sd_bus_get_fd) \
	X(sd_bus_get_events) \
	X(sd_bus_get_timeout) \
	X(sd_bus_process) \
	X(sd_bus_flush_close_unref) \
	X(sd_bus_message_get_destination) \
	X(sd_bus_message_get_path) \
	X(sd_bus_message_is_method_error) \
	X(sd_bus_message_enter_container) \
	X(sd_bus_message_read)

#define X(f) static __typeof__(f) *p_##f;
SDBUS_FNS(X)
#undef X

/* 0, or -1 with why saying what is missing. */
static int
sdbus_load(char *why, size_t n)
{
	static void *lib;
	const char *name;
	void *h;

	if (lib != NULL)
		return 0;
	if ((h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL)) == NULL) {
		name = dlerror();
		snprintf(why, n, "not listening: no libsystemd (%s)",
		    name != NULL ? name : "?");
		return -1;
	}
#define X(f) \
	if ((*(void **)&p_##f = dlsym(h, name = #f)) == NULL) \
		goto missing;
	SDBUS_FNS(X)
#undef X
	lib = h;
	return 0;
missing:
	snprintf(why, n, "not listening: libsystemd has no %s", name);
	dlclose(h);
	return -1;
}

#define LOGIN1 "org.freedesktop.login1"
/* A call to the bus (only at start, and logind's answer to a Lock's
 * owner) is never worth a login's wait. */
#define BUS_CALL_USEC 2000000

static void update(struct logind *l);

static void
lost(struct logind *l, const char *why)
{
	snprintf(l->base, sizeof(l->base), "not listening: %s", why);
	/* The fd leaves the loop's poll set before it is closed. */
	if (l->handles) {
		uv_close((uv_handle_t *)&l->poll, NULL);
		uv_close((uv_handle_t *)&l->timer, NULL);
		l->handles = 0;
	}
	p_sd_bus_flush_close_unref(l->bus);
	l->bus = NULL;
}

static void
process(struct logind *l)
{
	int r;

	while (l->bus != NULL && (r = p_sd_bus_process(l->bus, NULL)) > 0)
		;
	if (l->bus == NULL)
		return;
	if (r < 0) {
		lost(l, "the system bus went away");
		return;
	}
	update(l);
}

static void
on_poll(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	process(p->data);
}

static void
on_timer(uv_timer_t *t)
{
	process(t->data);
}

/* Waits for what sd-bus waits for: its fd's events, its next timeout. */
static void
update(struct logind *l)
{
	struct timespec ts;
	uint64_t usec, now;
	int ev = p_sd_bus_get_events(l->bus), uvev = 0;

	if (ev < 0) {
		lost(l, "the system bus went away");
		return;
	}
	if (ev & POLLIN)
		uvev |= UV_READABLE;
	if (ev & POLLOUT)
		uvev |= UV_WRITABLE;
	uv_poll_start(&l->poll, uvev, on_poll);
	if (p_sd_bus_get_timeout(l->bus, &usec) < 0 || usec == UINT64_MAX) {
		uv_timer_stop(&l->timer);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	uv_timer_start(&l->timer, on_timer,
	    usec > now ? (usec - now + 999) / 1000 : 0, 0);
}

/*
 * logind broadcasts its signals, and the bus delivers a broadcast to us
 * only from the owner of org.freedesktop.login1 (the match's sender).  A
 * signal addressed to us alone passes no match rule: anyone on the bus
 * may send one.  Such a signal is not logind's.
 */
static int
spoofed(struct logind *l, sd_bus_message *m)
{
	if (p_sd_bus_message_get_destination(m) == NULL)
		return 0;
	logind_note(l,
	    "a signal sent to this supervisor alone, not "
	    "logind's: ignored");
	return 1;
}

static int
on_sleep(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	struct logind *l = arg;
	int start = 0;

	(void)err;
	if (spoofed(l, m))
		return 0;
	if (p_sd_bus_message_read(m, "b", &start) < 0 || !start)
		return 0;
	l->fn(l->arg, LOGIND_SLEEP);
	return 0;
}

/* logind's answer: whose session is to be locked. */
static int
on_owner(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	struct logind *l = arg;
	const char *upath;
	uint32_t uid;

	(void)err;
	if (p_sd_bus_message_is_method_error(m, NULL) ||
	    p_sd_bus_message_enter_container(m, 'v', "(uo)") < 0 ||
	    p_sd_bus_message_read(m, "(uo)", &uid, &upath) < 0) {
		logind_note(l,
		    "a session lock, whose owner logind did not "
		    "tell: ignored");
		return 0;
	}
	if (uid != (uint32_t)getuid()) {
		logind_note(l, "another user's session lock: ignored");
		return 0;
	}
	l->fn(l->arg, LOGIND_LOCK);
	return 0;
}

static int
on_lock(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	struct logind *l = arg;
	const char *path = p_sd_bus_message_get_path(m);

	(void)err;
	if (spoofed(l, m))
		return 0;
	if (path == NULL ||
	    p_sd_bus_call_method_async(l->bus, NULL, LOGIN1, path,
		"org.freedesktop.DBus.Properties", "Get", on_owner, l, "ss",
		LOGIN1 ".Session", "User") < 0)
		logind_note(l,
		    "a session lock that could not be looked "
		    "into: ignored");
	return 0;
}

/* Whether logind runs, to say so: its signals are heard once it does,
 * whenever that is. */
static int
on_has_owner(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	struct logind *l = arg;
	int has = 0;

	(void)err;
	if (!p_sd_bus_message_is_method_error(m, NULL))
		(void)p_sd_bus_message_read(m, "b", &has);
	snprintf(l->base, sizeof(l->base), "%s",
	    has ? "listening to systemd-logind" :
		  "listening, but systemd-logind does not run");
	return 0;
}

int
logind_start(uv_loop_t *loop, struct logind *l, logind_fn *fn, void *arg)
{
	int r;

	memset(l, 0, sizeof(*l));
	l->fn = fn;
	l->arg = arg;
	if (sdbus_load(l->base, sizeof(l->base)) != 0)
		return 0;
	if ((r = p_sd_bus_open_system((sd_bus **)&l->bus)) < 0) {
		l->bus = NULL;
		snprintf(l->base, sizeof(l->base),
		    "not listening: no system bus (%s)", strerror(-r));
		return 0;
	}
	p_sd_bus_set_method_call_timeout(l->bus, BUS_CALL_USEC);
	if (p_sd_bus_add_match_async(l->bus, NULL,
		"type='signal',sender='" LOGIN1 "',path='/org/freedesktop/"
		"login1',interface='" LOGIN1
		".Manager',member='PrepareForSleep'",
		on_sleep, NULL, l) < 0 ||
	    p_sd_bus_add_match_async(l->bus, NULL,
		"type='signal',sender='" LOGIN1 "',interface='" LOGIN1
		".Session',member='Lock'",
		on_lock, NULL, l) < 0) {
		lost(l, "cannot ask the system bus for logind's signals");
		return 0;
	}
	snprintf(l->base, sizeof(l->base), "listening (asking the bus)");
	if (p_sd_bus_call_method_async(l->bus, NULL, "org.freedesktop.DBus",
		"/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
		on_has_owner, l, "s", LOGIN1) < 0) {
		lost(l, "cannot ask the system bus whether logind runs");
		return 0;
	}
	if (uv_poll_init(loop, &l->poll, p_sd_bus_get_fd(l->bus)) != 0) {
		lost(l, "cannot watch the system bus connection");
		return 0;
	}
	uv_timer_init(loop, &l->timer);
	l->poll.data = l;
	l->timer.data = l;
	l->handles = 1;
	process(l);
	return 0;
}

void
logind_stop(struct logind *l)
{
	/* The fd leaves the loop's poll set before it is closed. */
	if (l->handles) {
		uv_close((uv_handle_t *)&l->poll, NULL);
		uv_close((uv_handle_t *)&l->timer, NULL);
		l->handles = 0;
	}
	if (l->bus != NULL) {
		p_sd_bus_flush_close_unref(l->bus);
		l->bus = NULL;
	}
}

#else /* !SSHENV_SDBUS */

int
logind_start(uv_loop_t *loop, struct logind *l, logind_fn *fn, void *arg)
{
	(void)loop;
	memset(l, 0, sizeof(*l));
	l->fn = fn;
	l->arg = arg;
	snprintf(l->base, sizeof(l->base),
	    "not listening: built without sd-bus");
	return 0;
}

void
logind_stop(struct logind *l)
{
	(void)l;
}

#endif

void
logind_off(struct logind *l, const char *why)
{
	snprintf(l->base, sizeof(l->base), "%s", why);
	l->last[0] = '\0';
}

void
logind_note(struct logind *l, const char *what)
{
	char when[16];
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%H:%M:%S", &tm) == 0)
		when[0] = '\0';
	snprintf(l->last, sizeof(l->last), "%s at %s", what, when);
}

const char *
logind_state(struct logind *l)
{
	if (l->last[0] != '\0')
		snprintf(l->state, sizeof(l->state), "%s; last: %s", l->base,
		    l->last);
	else
		snprintf(l->state, sizeof(l->state), "%s", l->base);
	return l->state;
}
