#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sserr.h"
#include "session.h"

#define POLL_INTERVAL_MS 1000

struct session {
	uv_poll_t poll; /* on the pidfd, when there is one */
	struct session_set *set;
	struct session *next, **prevp;
	long sid;
	int pidfd;
};

struct session_set {
	uv_loop_t *loop;
	uv_timer_t timer; /* polls the sessions without a pidfd */
	session_gone_fn gone;
	void *arg;
	struct session *head;
	size_t count;
	size_t npolled;
	int refs; /* the set, the timer, each open poll handle */
	int closing;
};

static void
set_unref(struct session_set *set)
{
	if (--set->refs == 0)
		free(set);
}

static void
on_timer_closed(uv_handle_t *h)
{
	set_unref(h->data);
}

int
session_set_new(uv_loop_t *loop, session_gone_fn gone, void *arg,
    struct session_set **out)
{
	struct session_set *set;

	*out = NULL;
	if ((set = calloc(1, sizeof(*set))) == NULL)
		return ERR_ALLOC;
	set->loop = loop;
	set->gone = gone;
	set->arg = arg;
	set->refs = 2;
	uv_timer_init(loop, &set->timer);
	set->timer.data = set;
	*out = set;
	return 0;
}

static int
alive(long pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static void
on_poll_closed(uv_handle_t *h)
{
	struct session *s = h->data;
	struct session_set *set = s->set;

	close(s->pidfd);
	free(s);
	set_unref(set);
}

/* Unlinks s and frees it, through the close callback if it has a handle. */
static void
drop(struct session *s)
{
	struct session_set *set = s->set;

	if ((*s->prevp = s->next) != NULL)
		s->next->prevp = s->prevp;
	set->count--;
	if (s->pidfd >= 0) {
		uv_close((uv_handle_t *)&s->poll, on_poll_closed);
	} else {
		set->npolled--;
		if (set->npolled == 0)
			uv_timer_stop(&set->timer);
		free(s);
	}
}

static void
on_pidfd(uv_poll_t *p, int status, int events)
{
	struct session *s = p->data;
	struct session_set *set = s->set;
	long sid = s->sid;

	(void)status;
	(void)events;
	/* Readable (or an error) means the process has exited. */
	drop(s);
	set->gone(set->arg, sid);
}

static void
on_poll_timer(uv_timer_t *t)
{
	struct session_set *set = t->data;
	struct session *s, *next;
	long sid;

	for (s = set->head; s != NULL; s = next) {
		next = s->next;
		if (s->pidfd >= 0 || alive(s->sid))
			continue;
		sid = s->sid;
		drop(s);
		set->gone(set->arg, sid);
		/* The callback may have removed others or closed the set:
		 * nothing saved before it is to be trusted. */
		if (set->closing)
			return;
		next = set->head;
	}
}

static int
open_pidfd(long pid)
{
#if defined(SYS_pidfd_open) && !defined(SSHENV_PORTABLE)
	return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

int
session_add(struct session_set *set, long sid)
{
	struct session *s;

	if (set->closing)
		return ERR_INTERNAL;
	if (set->count >= SESSION_MAX)
		return ERR_TOO_LONG;
	for (s = set->head; s != NULL; s = s->next) {
		if (s->sid == sid)
			return ERR_EXISTS;
	}
	/* A pid_t: anything else would reach kill() as another pid, or as
	 * -1 (every process). */
	if (sid < 2 || sid > INT_MAX || !alive(sid))
		return ERR_NOT_FOUND;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ERR_ALLOC;
	s->set = set;
	s->sid = sid;
	s->pidfd = open_pidfd(sid);
	if (s->pidfd >= 0) {
		if (uv_poll_init(set->loop, &s->poll, s->pidfd) != 0) {
			close(s->pidfd);
			s->pidfd = -1;
		} else {
			s->poll.data = s;
			set->refs++;
			uv_poll_start(&s->poll, UV_READABLE, on_pidfd);
		}
	}
	if (s->pidfd < 0) {
		if (set->npolled++ == 0)
			uv_timer_start(&set->timer, on_poll_timer,
			    POLL_INTERVAL_MS, POLL_INTERVAL_MS);
	}
	if ((s->next = set->head) != NULL)
		s->next->prevp = &s->next;
	set->head = s;
	s->prevp = &set->head;
	set->count++;
	return 0;
}

int
session_remove(struct session_set *set, long sid)
{
	struct session *s;

	for (s = set->head; s != NULL; s = s->next) {
		if (s->sid == sid) {
			drop(s);
			return 0;
		}
	}
	return ERR_NOT_FOUND;
}

size_t
session_count(const struct session_set *set)
{
	return set->count;
}

size_t
session_list(const struct session_set *set, uint32_t *out, size_t max)
{
	const struct session *s;
	size_t n = 0;

	for (s = set->head; s != NULL && n < max; s = s->next)
		out[n++] = (uint32_t)s->sid;
	return n;
}

void
session_set_close(struct session_set *set)
{
	if (set == NULL || set->closing)
		return;
	set->closing = 1;
	while (set->head != NULL)
		drop(set->head);
	uv_close((uv_handle_t *)&set->timer, on_timer_closed);
	set_unref(set);
}
