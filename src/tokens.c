#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"
#include "sserr.h"
#include "tokenproto.h"
#include "tokens.h"
#include "version.h"
#include "wire.h"

/* How long a helper may take: to log in and list, to sign (a FIDO key
 * waits for a touch, and maybe a PIN). */
#define LOAD_MS 30000
#define SIGN_MS 30000
#define SK_SIGN_MS 120000
/* A FIDO helper that ends by itself is started again at most this many
 * times a minute. */
#define RESPAWN_MAX 3
#define RESPAWN_WINDOW_MS 60000
/* A helper asked to stop (its socket shut) gets this long to end by
 * itself (C_Finalize: a token logs out) before SIGKILL. */
#define STOP_GRACE_MS 1000
/* Signatures one token may have waiting or under way: the rest are
 * refused, so that one slow token (a touch nobody gives) cannot hold
 * all of libuv's pool. */
#define TOKEN_MAX_PENDING 4

struct token {
	uv_process_t proc; /* first: the handle's data is the token */
	struct token *next;
	struct tokens *set;
	enum token_kind kind;
	char *path;
	int fd;		 /* our end of the socketpair */
	uv_mutex_t lock; /* one call at a time */
	int holds;
	int running;	 /* the process has not exited */
	int proc_closed; /* its handle is closed */
	int stopped;
	int respawn; /* to start again once its handle is closed */
	uint64_t respawned[RESPAWN_MAX]; /* when, the oldest first */
	uint64_t stop_at; /* stopped while running: SIGKILL after grace */
	int pending;	  /* signatures queued or under way (loop) */
	int hung;	  /* a call timed out (pool thread; atomic) */
};

struct tokens {
	uv_loop_t *loop;
	uv_timer_t reaper; /* SIGKILL for a helper past its grace */
	uv_async_t wake;   /* from a pool thread: a helper hung */
	int handles;	   /* of those two, not closed yet */
	char *helper;
	struct token *head;
	int closing;
	void (*dead)(void *arg, struct token *t);
	void *arg;
};

static void set_maybe_free(struct tokens *ts);
static void on_wake(uv_async_t *a);

int
tokens_allowed(const char *patterns, const char *path)
{
	char pat[4096];
	const char *p = patterns, *end;
	size_t n;
	int yes = 0, neg;

	while (*p != '\0') {
		end = strchr(p, ',');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		neg = n > 0 && *p == '!';
		if (n - (size_t)neg < sizeof(pat)) {
			memcpy(pat, p + neg, n - (size_t)neg);
			pat[n - (size_t)neg] = '\0';
			if (pat[0] != '\0' && fnmatch(pat, path, 0) == 0) {
				if (neg)
					return 0;
				yes = 1;
			}
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return yes;
}

int
tokens_new(uv_loop_t *loop, const char *helper,
    void (*dead)(void *arg, struct token *t), void *arg, struct tokens **out)
{
	struct tokens *ts;

	*out = NULL;
	if ((ts = calloc(1, sizeof(*ts))) == NULL ||
	    (ts->helper = strdup(helper)) == NULL) {
		free(ts);
		return ERR_ALLOC;
	}
	ts->loop = loop;
	ts->dead = dead;
	ts->arg = arg;
	if (uv_async_init(loop, &ts->wake, on_wake) != 0) {
		free(ts->helper);
		free(ts);
		return ERR_SYSTEM;
	}
	uv_timer_init(loop, &ts->reaper);
	ts->wake.data = ts->reaper.data = ts;
	ts->handles = 2;
	*out = ts;
	return 0;
}

static void
on_set_closed(uv_handle_t *h)
{
	struct tokens *ts = h->data;

	ts->handles--;
	set_maybe_free(ts);
}

/* Once closed with no token left, the reaper goes; then the set. */
static void
set_maybe_free(struct tokens *ts)
{
	if (!ts->closing || ts->head != NULL)
		return;
	if (!uv_is_closing((uv_handle_t *)&ts->reaper)) {
		uv_close((uv_handle_t *)&ts->reaper, on_set_closed);
		return;
	}
	if (ts->handles > 0)
		return;
	free(ts->helper);
	free(ts);
}

static void
unlink_token(struct token *t)
{
	struct token **pp;

	for (pp = &t->set->head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			return;
		}
}

/* Freed once nothing holds it and its handle is closed. */
static void
maybe_free(struct token *t)
{
	struct tokens *ts = t->set;

	if (t->holds > 0 || !t->proc_closed)
		return;
	unlink_token(t);
	if (t->fd >= 0)
		close(t->fd);
	uv_mutex_destroy(&t->lock);
	free(t->path);
	free(t);
	set_maybe_free(ts);
}

/* SIGKILL for each helper stopped more than its grace ago. */
static void
on_reaper(uv_timer_t *timer)
{
	struct tokens *ts = timer->data;
	uint64_t now = uv_now(ts->loop), next = 0;
	struct token *t;

	for (t = ts->head; t != NULL; t = t->next) {
		if (!t->running || t->stop_at == 0)
			continue;
		if (now - t->stop_at >= STOP_GRACE_MS) {
			log_error("token helper for %s did not stop: killed",
			    t->path);
			uv_process_kill(&t->proc, SIGKILL);
			t->stop_at = 0;
		} else if (next == 0 || t->stop_at + STOP_GRACE_MS < next) {
			next = t->stop_at + STOP_GRACE_MS;
		}
	}
	if (next != 0 && !uv_is_closing((uv_handle_t *)timer))
		uv_timer_start(&ts->reaper, on_reaper, next - now, 0);
}

/* A call on a pool thread timed out: that helper is killed now, and
 * taken for dead (its keys go, or a FIDO one starts again). */
static void
on_wake(uv_async_t *a)
{
	struct tokens *ts = a->data;
	struct token *t;

	for (t = ts->head; t != NULL; t = t->next)
		if (__atomic_exchange_n(&t->hung, 0, __ATOMIC_ACQ_REL) &&
		    t->running && !t->stopped) {
			log_error("token helper for %s is not answering: "
				  "killed",
			    t->path);
			uv_process_kill(&t->proc, SIGKILL);
		}
}

static int spawn(struct token *t);

static void
on_closed(uv_handle_t *h)
{
	struct token *t = h->data;

	t->proc_closed = 1;
	if (t->respawn) {
		t->respawn = 0;
		/* Not if it was stopped meanwhile. */
		if (!t->stopped && t->holds > 0 && !t->set->closing &&
		    spawn(t) == 0) {
			log_info("token helper for %s started again", t->path);
			return;
		}
		/* Never started again: as if it had died for good. */
		if (!t->stopped && t->set->dead != NULL) {
			t->stopped = 1;
			t->holds++;
			t->set->dead(t->set->arg, t);
			t->holds--;
		}
		t->stopped = 1;
	}
	maybe_free(t);
}

/* Whether a FIDO helper may start again: not too often. */
static int
may_respawn(struct token *t)
{
	uint64_t now = uv_now(t->set->loop);
	int i;

	if (t->kind != TOKEN_SK || t->set->closing || t->holds == 0 ||
	    (t->respawned[0] != 0 && now - t->respawned[0] < RESPAWN_WINDOW_MS))
		return 0;
	for (i = 0; i + 1 < RESPAWN_MAX; i++)
		t->respawned[i] = t->respawned[i + 1];
	t->respawned[RESPAWN_MAX - 1] = now;
	return 1;
}

static void
on_helper_exit(uv_process_t *p, int64_t status, int signo)
{
	struct token *t = p->data;
	int unexpected = !t->stopped;

	t->running = 0;
	t->stop_at = 0;
	/* A call in progress returns now (its read sees the end). */
	shutdown(t->fd, SHUT_RDWR);
	if (unexpected)
		log_error("token helper for %s ended (status %d, signal %d)",
		    t->path, (int)status, signo);
	if (unexpected && may_respawn(t)) {
		t->respawn = 1;
	} else {
		t->stopped = 1;
		if (unexpected && t->set->dead != NULL) {
			t->holds++;
			t->set->dead(t->set->arg, t);
			t->holds--;
		}
	}
	uv_close((uv_handle_t *)p, on_closed);
}

void
token_stop(struct token *t)
{
	if (t->stopped)
		return;
	t->stopped = 1;
	/* The helper reads the end and exits; a call in progress fails.
	 * One that does not (a module stuck in a call) is killed. */
	shutdown(t->fd, SHUT_RDWR);
	if (t->running) {
		uv_process_kill(&t->proc, SIGTERM);
		t->stop_at = uv_now(t->set->loop);
		if (!uv_is_active((uv_handle_t *)&t->set->reaper) &&
		    !uv_is_closing((uv_handle_t *)&t->set->reaper))
			uv_timer_start(&t->set->reaper, on_reaper,
			    STOP_GRACE_MS, 0);
	}
}

void
tokens_close(struct tokens *ts)
{
	struct token *t;

	if (ts == NULL)
		return;
	for (t = ts->head; t != NULL; t = t->next)
		token_stop(t);
	/* The reaper still runs, for those: closed once they are gone
	 * (the keys that hold them must be gone first: keystore_clear). */
	ts->closing = 1;
	uv_close((uv_handle_t *)&ts->wake, on_set_closed);
	set_maybe_free(ts);
}

struct token *
tokens_find(struct tokens *ts, enum token_kind kind, const char *path)
{
	struct token *t;

	for (t = ts->head; t != NULL; t = t->next)
		if (!t->stopped && t->kind == kind &&
		    strcmp(t->path, path) == 0)
			return t;
	return NULL;
}

/*
 * Starts t's process, on a new socketpair (which replaces the old one
 * under the lock, a call in progress having failed already).  0, or an
 * error (ERR_SYSTEM: the handle is being closed).
 */
static int
spawn(struct token *t)
{
	extern char **environ;
	struct tokens *ts = t->set;
	uv_process_options_t opts;
	uv_stdio_container_t stdio[3];
	char *args[4], **env = NULL, idvar[128];
	int sv[2] = { -1, -1 }, r;
	size_t i, n = 0;

	for (i = 0; environ[i] != NULL; i++)
		;
	if ((env = calloc(i + 2, sizeof(*env))) == NULL)
		return ERR_ALLOC;
	/* The helper checks that it is of our build (version.h). */
	snprintf(idvar, sizeof(idvar), "%s=%s", VERSION_ENV, version_build_id);
	for (i = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], VERSION_ENV "=", sizeof(VERSION_ENV)) !=
		    0)
			env[n++] = environ[i];
	env[n] = idvar;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		free(env);
		return ERR_ALLOC; /* no handle to close */
	}
	memset(&opts, 0, sizeof(opts));
	memset(stdio, 0, sizeof(stdio));
	stdio[0].flags = UV_INHERIT_FD;
	stdio[0].data.fd = sv[1];
	stdio[1].flags = UV_IGNORE;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = 2;
	args[0] = ts->helper;
	args[1] = t->kind == TOKEN_PKCS11 ? "pkcs11" : "sk";
	args[2] = t->path;
	args[3] = NULL;
	opts.file = ts->helper;
	opts.args = args;
	opts.env = env;
	opts.stdio = stdio;
	opts.stdio_count = 3;
	opts.exit_cb = on_helper_exit;
	t->proc.data = t;
	r = uv_spawn(ts->loop, &t->proc, &opts);
	close(sv[1]);
	free(env);
	uv_mutex_lock(&t->lock);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = sv[0];
	uv_mutex_unlock(&t->lock);
	t->proc_closed = 0;
	if (r != 0) {
		log_error("cannot start %s: %s", ts->helper, uv_strerror(r));
		/* The handle is to be closed all the same. */
		t->stopped = 1;
		uv_close((uv_handle_t *)&t->proc, on_closed);
		return ERR_SYSTEM;
	}
	t->running = 1;
	t->stopped = 0;
	return 0;
}

int
tokens_start(struct tokens *ts, enum token_kind kind, const char *path,
    struct token **out)
{
	struct token *t;
	int r;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->path = strdup(path)) == NULL) {
		free(t);
		return ERR_ALLOC;
	}
	t->set = ts;
	t->kind = kind;
	t->fd = -1;
	t->holds = 1;
	uv_mutex_init(&t->lock);
	t->next = ts->head;
	ts->head = t;
	if ((r = spawn(t)) != 0) {
		/* Freed now, or when its handle is closed. */
		t->holds = 0;
		t->stopped = 1;
		if (r != ERR_SYSTEM) {
			t->proc_closed = 1;
			maybe_free(t);
		}
		return r;
	}
	*out = t;
	return 0;
}

void
token_hold(void *arg, int delta)
{
	struct token *t = arg;

	t->holds += delta;
	if (t->holds > 0)
		return;
	token_stop(t);
	maybe_free(t);
}

int
token_stopped(const struct token *t)
{
	return t->stopped;
}

int
token_begin(struct token *t)
{
	if (t->stopped || t->pending >= TOKEN_MAX_PENDING)
		return ERR_BUSY;
	t->pending++;
	return 0;
}

void
token_end(struct token *t)
{
	t->pending--;
}

const char *
token_path(const struct token *t)
{
	return t->path;
}

enum token_kind
token_kind(const struct token *t)
{
	return t->kind;
}

/*
 * One request and its answer, under the token's lock: the answer's
 * type and a view of its body in *body (valid while in is).  A
 * TOKEN_FAIL becomes its code, logged with the helper's words.
 */
static int
call(struct token *t, uint8_t type, const struct wire *req, uint8_t want,
    int timeout_ms, struct wire *in, struct wire *body)
{
	char msg[256];
	uint8_t got;
	int r;

	uv_mutex_lock(&t->lock);
	r = tokenproto_send(t->fd, type, wire_ptr(req), wire_avail(req));
	if (r == 0)
		r = tokenproto_recv(t->fd, timeout_ms, in, &got, body);
	uv_mutex_unlock(&t->lock);
	if (r != 0) {
		log_error("token helper for %s: %s", t->path,
		    r == ERR_NO_SERVER || r == ERR_SYSTEM ? "gone" :
							    sserr_str(r));
		/* A helper that fell silent (or out of step) is killed, on
		 * the loop: its next answer would be this one's. */
		if (r != ERR_NO_SERVER && r != ERR_SYSTEM) {
			__atomic_store_n(&t->hung, 1, __ATOMIC_RELEASE);
			uv_async_send(&t->set->wake);
		}
		return r == ERR_TIMEOUT ? r : ERR_NO_SERVER;
	}
	if (got == TOKEN_FAIL) {
		r = tokenproto_fail(body, msg, sizeof(msg));
		log_info("%s: %s", t->path, msg);
		return r;
	}
	return got == want ? 0 : ERR_PROTOCOL;
}

int
token_load(struct token *t, const uint8_t *pin, size_t pinlen,
    struct wire *keys)
{
	struct wire req, in, body;
	int r;

	wire_init(&req, 4096);
	wire_init(&in, TOKENPROTO_MAX_FRAME + 4);
	if ((r = wire_put_string(&req, pin, pinlen)) == 0)
		r = call(t, TOKEN_LOAD, &req, TOKEN_KEYS, LOAD_MS, &in, &body);
	if (r == 0)
		r = wire_put(keys, wire_ptr(&body), wire_avail(&body));
	wire_free(&req); /* wire_free wipes */
	wire_free(&in);
	return r;
}

/* crypto_signer's sign: on a thread of libuv's pool. */
static int
token_sign(void *arg, const struct crypto_key *k, const uint8_t *data,
    size_t dlen, uint32_t flags, struct wire *out)
{
	struct token *t = arg;
	struct wire req, in, body;
	struct crypto_sk sk;
	const uint8_t *blob;
	size_t bloblen;
	char fp[64], desc[128];
	int r;

	blob = crypto_key_plain(k, &bloblen);
	wire_init(&req, TOKENPROTO_MAX_FRAME - 1);
	wire_init(&in, TOKENPROTO_MAX_FRAME + 4);
	r = wire_put_string(&req, blob, bloblen);
	if (r == 0)
		r = wire_put_string(&req, data, dlen);
	if (r == 0)
		r = wire_put_u32(&req, flags);
	if (r == 0 && crypto_key_sk(k, &sk)) {
		if (crypto_fingerprint(blob, bloblen, fp, sizeof(fp)) != 0)
			fp[0] = '\0';
		snprintf(desc, sizeof(desc), "%s %s",
		    sk.ecdsa ? "ECDSA-SK" : "ED25519-SK", fp);
		if ((r = wire_put_string(&req, sk.app, sk.applen)) == 0 &&
		    (r = wire_put_u8(&req, sk.flags)) == 0 &&
		    (r = wire_put_string(&req, sk.handle, sk.handlelen)) == 0)
			r = wire_put_cstring(&req, desc);
	}
	if (r == 0)
		r = call(t, TOKEN_SIGN, &req, TOKEN_SIG,
		    t->kind == TOKEN_SK ? SK_SIGN_MS : SIGN_MS, &in, &body);
	/* The body is the signature blob (crypto_sign's form). */
	if (r == 0)
		r = wire_avail(&body) > 0 ?
		    wire_put(out, wire_ptr(&body), wire_avail(&body)) :
		    ERR_PROTOCOL;
	wire_free(&req);
	wire_free(&in);
	return r;
}

void
token_signer(struct token *t, struct crypto_signer *out)
{
	out->sign = token_sign;
	out->hold = token_hold;
	out->arg = t;
}
