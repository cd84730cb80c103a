/*
 * The built-in agent: a libuv loop serving the SSH agent protocol on a unix
 * socket.  Each connection handles one request at a time, in order, as
 * clients expect; signatures run on our own signing threads (signpool.h
 * says why not libuv's pool) so that a slow RSA signature for one client
 * never holds up another.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "agent.h"
#include "agentproto.h"
#include "cli.h"
#include "compat.h"
#include "duration.h"
#include "fwdscan.h"
#include "crypto.h"
#include "destcons.h"
#include "sserr.h"
#include "keystore.h"
#include "keytype.h"
#include "knownhosts.h"
#include "log.h"
#include "rtpaths.h"
#include "shellenv.h"
#include "signpool.h"
#include "tokenproto.h"
#include "tokens.h"
#include "uvconn.h"
#include "uvsig.h"
#include "uselog.h"
#include "upstream.h"
#include "wire.h"

/*
 * Locked memory: half for the keys (each its secret and the private parts
 * it signs from: 256 RSA-3072 keys, or the 1024-key bound of Ed25519
 * ones), half kept free for signing.  Pages are locked as they are first
 * touched: what is not used costs nothing.
 */
#define SECURE_HEAP_SIZE (2 * 1024 * 1024)
/* As OpenSSH: how many session-bind records one connection may hold. */
#define MAX_BINDS 16
#define MAX_SESSION_ID 128
/* The longest user name a constrained key signs a login for. */
#define MAX_LOGIN_USER 1024
/* As ssh-agent: each wrong unlock in a row delays the answer 0.1 s more. */
#define UNLOCK_PENALTY_MS 100
#define UNLOCK_PENALTY_MAX_MS 10000
/* Client connections at once, and what their half-read frames may hold
 * all together past 16 KiB each (one frame alone is at most 256 KiB):
 * 4096 x 16 KiB + 64 MiB at most. */
#define AGENT_MAX_CONNS 4096
#define AGENT_BUFFER_BUDGET (64 * 1024 * 1024)
/* What OpenSSL made of a key to sign (its private parts, copied into
 * ordinary heap) goes once no signature has used it this long. */
#define SIGN_FORM_IDLE_MS 1000
/* At stop, an askpass still asking gets this long after SIGTERM. */
#define ASKPASS_GRACE_MS 1000
/* A question left unanswered this long is a no (-W changes it). */
#define CONFIRM_TIMEOUT_S 60

struct binding {
	uint8_t *hostkey;
	size_t hostkeylen;
	struct crypto_cert cert; /* for a host certificate: parsed once */
	int is_cert;
	uint8_t sid[MAX_SESSION_ID];
	size_t sidlen;
	int forwarding;
};

struct agent;

/*
 * Where a connection's current request stands.  Requests on one
 * connection are served one at a time, in order: the next is read only
 * in REQ_IDLE.  Every request ends in request_end(), which drops what it
 * held, sends its answer and goes back to REQ_IDLE (through REQ_WRITING
 * when the answer does not fit the socket at once).
 */
enum req_state {
	REQ_IDLE,
	REQ_SIGNING,	/* on a signing thread: c->job */
	REQ_CONFIRMING, /* askpass asks the user: c->proc */
	REQ_HELD, /* an unlock attempt, or its FAILURE, held back: c->delay */
	REQ_WRITING,  /* the answer is on its way: c->wreq */
	REQ_STARTING, /* needs crypto, not ready yet: seed_done resumes it */
	REQ_UPSTREAM, /* other agents asked: c->ups calls up_done */
	REQ_LOADING, /* its key is listed only: ssh-add loads it (c->loading) */
	REQ_TOKEN,   /* a token's helper logs in and lists: c->tokwork */
};

/* What a connection asks of its upstreams (upstream.h). */
enum up_op { UP_LIST, UP_BIND, UP_SIGN };
/* Bounds on their answers: a list, a bind; a signature may wait for
 * a person to say yes on the far side. */
#define UP_LIST_MS 5000
#define UP_SIGN_MS 120000

/*
 * A key listed before its first use ([agent] load = first-use): its
 * public half from its .pub file, the private file that the real
 * ssh-add loads (with the options the configuration gives, and its
 * passphrase asked through askpass) when a signature first needs it.
 * Loaded, it stays listed here: forgotten (idle), it is asked for again.
 */
#define LAZY_MAX 64
#define LAZY_MAX_ARGS 32
#define LAZY_MAX_BLOB (16 * 1024)
#define LAZY_MAX_COMMENT 1024

struct loader;

struct lazykey {
	struct lazykey *next;
	struct agent *agent;
	/* The ssh-add loading it, until its handles are closed: the key
	 * counts as loading till then, and is freed no earlier. */
	struct loader *loader;
	int resuming; /* its waiting requests are being served again */
	int removed;  /* unlisted meanwhile: freed once neither holds */
	uint8_t *blob;
	size_t bloblen;
	char *comment;
	char *path;
	char *args[LAZY_MAX_ARGS + 1];
	int nargs;
};

/* An upstream that was silent past a deadline: left out of new
 * connections till then (boot-time ms). */
struct silence {
	char *path;
	uint64_t until;
};

/* Where a key listed to this connection comes from. */
struct route {
	int src; /* an upstream's index, or -1: our own */
	size_t len;
	uint8_t *blob;
	char comment[128]; /* as the agent listed it, for the record */
};

/* A handler's answer: 0 (SUCCESS, or what it put in c->u.out), a
 * negative code (FAILURE), or REQ_PENDING (a callback ends it later). */
#define REQ_PENDING 1

struct conn {
	struct uvconn u; /* first: handles' data is the conn */
	uv_write_t wreq;
	struct signjob job;
	uv_process_t proc;
	uv_timer_t delay;
	struct agent *agent;
	unsigned long id;
	enum req_state state;
	int processing; /* in conn_process: no re-entry */
	/* The client shut its sending half only (shutdown(SHUT_WR), as
	 * socat and nc -N do): what it sent is answered, then we close. */
	int half_closed;
	/* What the current request holds, dropped by request_end. */
	struct crypto_key *key;
	uint8_t *data;
	size_t datalen;
	uint32_t flags;
	int sign_result;
	struct wire sig;
	uint8_t *pass;	       /* a held unlock attempt's passphrase */
	int askfd;	       /* askpass's answer, read when it exits; or -1 */
	struct conn *ask_next; /* in the agent's list of askpass runs */
	int line; /* the supervisor's private line (its unlock not paced) */
	size_t passlen;
	struct binding binds[MAX_BINDS];
	int nbinds;
	int bind_attempted; /* a session-bind came, refused or not */
	int bind_refused;   /* one was refused: where it leads is unknown */
	/* The current signature's record, filled as it goes; and whether
	 * the user was asked for it. */
	struct uselog_entry *use;
	int asked;
	/* The other agents this connection reaches (stable socket). */
	struct upset *ups;
	int ups_taken; /* decided at first need, for good */
	int listed;    /* the merged list was made: routes hold */
	enum up_op upop;
	int upidx;	     /* UP_SIGN: which upstream */
	int bind_result;     /* UP_BIND: our own answer to the bind */
	int sign_after_list; /* a SIGN waits for the list to route it */
	uint8_t *upbody;     /* the request's body, to send or redo */
	size_t upbodylen;
	uint8_t uptype;
	struct route *routes; /* from the last list, merged */
	size_t nroutes;
	int unanswered;		/* askpass timed out: SIGTERM sent, KILL next */
	struct loader *loading; /* REQ_LOADING: the ssh-add it waits for */
	/* A token's key signs, or a module loads, on libuv's pool (they
	 * may wait for a person: not on our signing threads). */
	uv_work_t tokwork;
	struct tokenadd *tokadd; /* REQ_TOKEN: the add under way */
	struct token *signtok;	 /* held while its key signs */
	int cancelled; /* closed while a token's signature waits (atomic) */
};

/* [forwarding] use: what forwarded requests may do. */
enum fwd_policy { FWD_ALLOW, FWD_CONFIRM, FWD_DENY };
static const char *const fwd_names[] = { "allow", "confirm", "deny", NULL };

/* [key NAME] forwarding: one key's own policy, by its public blob. */
struct keypolicy {
	struct keypolicy *next;
	enum fwd_policy fwd;
	size_t len;
	uint8_t blob[];
};

struct agent {
	uv_loop_t loop;
	uv_pipe_t listener;
	struct uvsig signals;
	uv_timer_t expiry;
	uv_timer_t idle;       /* -I: keys forgotten after so long unused */
	uv_timer_t signform;   /* keys' signing forms, wiped once idle */
	uint32_t idle_timeout; /* seconds; 0: never */
	struct signpool *pool;
	struct signjob seed; /* crypto_seed, first on the pool */
	int seed_result;
	int crypto_ready; /* seeded and the secure heap set up */
	int line;	  /* the supervisor's private line, to open */
	int line2;	  /* its second one (reloads' calls), or -1 */
	int debug;
	struct keystore *ks;
	struct uvconn *conns; /* each the head of a struct conn */
	unsigned long next_id;
	uint32_t lifetime;
	char *sockpath; /* ours to unlink at exit, or NULL */
	char *sockdir;	/* ours to rmdir at exit, or NULL */
	uint64_t unlock_after;
	unsigned unlock_failures;
	int stopping;
	struct conn *asking;	  /* connections whose askpass runs */
	uint64_t next_expiry;	  /* boot-time ms of the next lifetime end */
	uv_timer_t ask_grace;	  /* at stop: SIGTERM, then SIGKILL */
	uv_timer_t parent_check;  /* command mode: while it runs */
	long parent;		  /* command mode: its pid, else 0 */
	int nconns;		  /* client connections open */
	uint32_t confirm_timeout; /* seconds; 0: none */
	enum fwd_policy fwd;	  /* for forwarded requests */
	/* Other agents the stable socket serves, from the supervisor (or
	 * -U): the logins' forwarded agents, newest first (nupfwd of them),
	 * then those the configuration names. */
	char *upaths[UPSTREAM_MAX];
	int nupaths, nupfwd;
	int discover; /* also sshd's sockets of logins not registered */
	struct fwdsock *found; /* the last look for them (fwdscan) */
	int nfound;
	uint64_t found_at;		     /* boot-time ms of that look */
	struct silence silent[UPSTREAM_MAX]; /* upstreams left out a while */
	int pool_started;	  /* libuv's pool runs: its size is set */
	struct keypolicy *keypol; /* keys with a policy of their own */
	struct uselog *uses;	  /* what the keys were used for */
	struct lazykey *lazy;	  /* listed until first used */
	int nlazy;
	char *self;		     /* our binary (the askpass shim) */
	struct uvconn_budget budget; /* their input buffers, together */
	struct tokens *tokens;	     /* PKCS#11 modules, FIDO providers */
	char *providers;	     /* -P: the allowlist of their paths */
	int remote_providers;	     /* -O allow-remote-pkcs11: another host may
				 add them */
	int websafe_off;	     /* -O no-restrict-websafe */
};

static void conn_process(struct conn *c);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void start_reading(struct conn *c);
static void rearm_expiry(struct agent *a);

/* The longest label a token key is named by. */
#define TOKEN_LABEL_MAX 256

/* What an ADD_SMARTCARD_KEY holds while its module loads. */
struct tokenadd {
	struct token *token; /* held once */
	uint8_t *pin;	     /* secure heap */
	size_t pinlen;
	struct wire keys; /* TOKEN_KEYS' body */
	int result;
	uint32_t life;
	int confirm;
	uint8_t *dest, *certs; /* copies of the constraints, or NULL */
	size_t destlen, certslen;
	int certs_only;
};

static void
tokenadd_free(struct tokenadd *t)
{
	if (t == NULL)
		return;
	if (t->token != NULL)
		token_hold(t->token, -1);
	crypto_secure_free(t->pin, t->pinlen + 1);
	wire_free(&t->keys);
	free(t->dest);
	free(t->certs);
	free(t);
}

/* Drops what the current request holds: key, data, passphrase. */
static void
request_drop(struct conn *c)
{
	crypto_key_unref(c->key);
	c->key = NULL;
	if (c->data != NULL) {
		compat_wipe(c->data, c->datalen);
		free(c->data);
		c->data = NULL;
	}
	crypto_secure_free(c->pass, c->passlen);
	c->pass = NULL;
	c->passlen = 0;
	free(c->use);
	c->use = NULL;
	c->asked = 0;
	if (!c->sign_after_list) {
		free(c->upbody);
		c->upbody = NULL;
		c->upbodylen = 0;
	}
	wire_reset(&c->sig);
	if (c->askfd >= 0)
		close(c->askfd);
	c->askfd = -1;
	tokenadd_free(c->tokadd);
	c->tokadd = NULL;
}

static void
routes_free(struct conn *c)
{
	size_t i;

	for (i = 0; i < c->nroutes; i++)
		free(c->routes[i].blob);
	free(c->routes);
	c->routes = NULL;
	c->nroutes = 0;
}

/* The last reference is gone: free what the agent's conn adds. */
static void
conn_release(struct uvconn *u)
{
	struct conn *c = (struct conn *)u;
	int i;

	c->sign_after_list = 0;
	request_drop(c);
	wire_free(&c->sig);
	upset_free(c->ups);
	routes_free(c);
	for (i = 0; i < c->nbinds; i++)
		free(c->binds[i].hostkey);
	if (!c->line)
		c->agent->nconns--;
	free(c);
}

/* askpass and whatever it started (a dialog, a sleep): its group. */
static void
askpass_kill(struct conn *c, int sig)
{
	if (c->proc.pid <= 0 || kill(-c->proc.pid, sig) != 0)
		uv_process_kill(&c->proc, sig);
}

static void
conn_close(struct conn *c)
{
	if (c->u.closing)
		return;
	/* A token's signature not begun yet is not made (no touch asked
	 * for a client that is gone). */
	__atomic_store_n(&c->cancelled, 1, __ATOMIC_RELEASE);
	/* A call to another agent returns now, not at its timeout. */
	if (c->state == REQ_UPSTREAM)
		upset_interrupt(c->ups);
	if (c->state == REQ_CONFIRMING) {
		/* Its key goes now, not when askpass gets round to exiting. */
		crypto_key_unref(c->key);
		c->key = NULL;
		askpass_kill(c, SIGTERM);
	}
	uvconn_ref(&c->u);
	uv_close((uv_handle_t *)&c->delay, uvconn_on_closed);
	uvconn_close(&c->u);
}

static void
on_write(uv_write_t *req, int status)
{
	struct conn *c = req->data;

	wire_reset(&c->u.out);
	c->state = REQ_IDLE;
	if (status < 0)
		conn_close(c);
	else
		conn_process(c);
	uvconn_unref(&c->u);
}

/*
 * The one place a request ends: whatever it held is dropped, and its
 * answer goes out: c->u.out as the handler built it when r is 0 and
 * out is not empty, else SUCCESS (r 0) or FAILURE.  Then the next
 * buffered request, if any, is served.
 */
static void
request_end(struct conn *c, int r)
{
	uv_buf_t buf;
	int n;

	request_drop(c);
	c->state = REQ_IDLE;
	if (c->u.closing)
		return;
	if (r != 0)
		wire_reset(&c->u.out);
	if (wire_avail(&c->u.out) == 0 &&
	    (agentproto_begin(&c->u.out,
		 r == 0 ? AGENT_SUCCESS : AGENT_FAILURE) != 0 ||
		agentproto_finish(&c->u.out, 0) != 0)) {
		conn_close(c);
		return;
	}
	buf = uv_buf_init((char *)wire_ptr(&c->u.out),
	    (unsigned int)wire_avail(&c->u.out));
	/* Most answers fit the socket buffer at once: no callback. */
	n = uv_try_write((uv_stream_t *)&c->u.pipe, &buf, 1);
	if (n == (int)buf.len) {
		wire_reset(&c->u.out);
		conn_process(c);
		return;
	}
	if (n < 0 && n != UV_EAGAIN) {
		conn_close(c);
		return;
	}
	if (n > 0)
		wire_consume(&c->u.out, (size_t)n);
	buf = uv_buf_init((char *)wire_ptr(&c->u.out),
	    (unsigned int)wire_avail(&c->u.out));
	c->wreq.data = c;
	r = uv_write(&c->wreq, (uv_stream_t *)&c->u.pipe, &buf, 1, on_write);
	if (r != 0) {
		conn_close(c);
		return;
	}
	c->state = REQ_WRITING;
	uvconn_ref(&c->u);
}

/* ---- the record of every use ---- */

/*
 * A request came from another host: a binding says so (ssh binds the
 * connection it forwards with is_forwarding), or a binding was tried
 * and refused, so where it comes from cannot be told.
 */
static int
conn_forwarded(const struct conn *c)
{
	int i;

	for (i = 0; i < c->nbinds; i++)
		if (c->binds[i].forwarding)
			return 1;
	/* A refused bind stays: a good one after it proves nothing about
	 * the hops the refused one stood for. */
	return c->bind_refused || (c->bind_attempted && c->nbinds == 0);
}

static enum fwd_policy
key_fwd(const struct agent *a, const uint8_t *blob, size_t len);

/* key-info@sshenv's tag: each key's forwarding policy. */
static uint8_t
fwd_tag(const uint8_t *blob, size_t len, void *arg)
{
	return (uint8_t)key_fwd(arg, blob, len);
}

/* The forwarding policy for the key with this blob. */
static enum fwd_policy
key_fwd(const struct agent *a, const uint8_t *blob, size_t len)
{
	const struct keypolicy *k;

	for (k = a->keypol; k != NULL; k = k->next)
		if (k->len == len && memcmp(k->blob, blob, len) == 0)
			return k->fwd;
	return a->fwd;
}

static void
keypol_free(struct keypolicy *k)
{
	struct keypolicy *next;

	for (; k != NULL; k = next) {
		next = k->next;
		free(k);
	}
}

/*
 * A host by the name the user knows it by (their known_hosts, then the
 * system's, where names are stored in plain text), else by its key's
 * fingerprint.
 */
static void
host_name(const uint8_t *key, size_t len, char *name, size_t size)
{
	struct crypto_cert ci;
	const uint8_t *ca = NULL;
	const char *home = getenv("HOME");
	char path[PATHS_MAX];
	size_t calen = 0;

	if (crypto_cert_info(key, len, &ci) == 0) {
		ca = ci.ca;
		calen = ci.calen;
	}
	if (home != NULL && *home == '/' &&
	    snprintf(path, sizeof(path), "%s/.ssh/known_hosts", home) <
		(int)sizeof(path) &&
	    knownhosts_name(path, key, len, ca, calen, name, size) == 0)
		return;
	if (knownhosts_name("/etc/ssh/ssh_known_hosts", key, len, ca, calen,
		name, size) == 0)
		return;
	if (crypto_fingerprint(key, len, name, size) != 0)
		snprintf(name, size, "an unknown host");
}

/* The namespace of an SSHSIG signature request, or NULL if it is not. */
static int
sshsig_namespace(const uint8_t *data, size_t len, char *ns, size_t size)
{
	struct wire w;
	const uint8_t *p;
	size_t n;

	if (len < 6 || memcmp(data, "SSHSIG", 6) != 0)
		return 0;
	wire_view(&w, data + 6, len - 6);
	if (wire_get_string(&w, &p, &n) != 0 || n >= size ||
	    memchr(p, '\0', n) != NULL)
		return 0;
	memcpy(ns, p, n);
	ns[n] = '\0';
	return 1;
}

/*
 * Starts the record of a signature request for a key: which key, from
 * where, by which hops, to sign what.  NULL if out of memory (then the
 * request goes unrecorded, not refused).
 */
static struct uselog_entry *
use_begin(struct conn *c, const struct agentproto_sign *req,
    const char *comment)
{
	struct agentproto_userauth ua;
	struct uselog_entry *e;
	const struct binding *last;
	char name[128], user[64], ns[64];
	size_t at = 0;
	int i, n, login, verified;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->time = (int64_t)time(NULL);
	e->forwarded = (uint8_t)conn_forwarded(c);
	snprintf(e->key, sizeof(e->key), "%s", comment);
	if (crypto_fingerprint(req->key, req->keylen, e->fp, sizeof(e->fp)) !=
	    0)
		snprintf(e->fp, sizeof(e->fp), "?");
	login = agentproto_userauth(req->data, req->datalen, req->key,
		    req->keylen, &ua) == 0;
	user[0] = '\0';
	if (login)
		snprintf(user, sizeof(user), "%.*s",
		    ua.userlen > 63 ? 63 : (int)ua.userlen,
		    (const char *)ua.user);
	/*
	 * The login's host is named only if the request is for the session
	 * and host the connection last bound for authentication: else the
	 * name would be what the client says, not what ssh proved.
	 */
	last = c->nbinds > 0 ? &c->binds[c->nbinds - 1] : NULL;
	verified = login && last != NULL && !last->forwarding &&
	    ua.session_idlen == last->sidlen &&
	    memcmp(ua.session_id, last->sid, last->sidlen) == 0 &&
	    (ua.hostkey == NULL ||
		(ua.hostkeylen == last->hostkeylen &&
		    memcmp(ua.hostkey, last->hostkey, last->hostkeylen) == 0));
	for (i = 0; i < c->nbinds; i++) {
		host_name(c->binds[i].hostkey, c->binds[i].hostkeylen, name,
		    sizeof(name));
		n = snprintf(e->route + at, sizeof(e->route) - at, "%s%s%s%s",
		    i > 0 ? " > " : "",
		    verified && i == c->nbinds - 1 ? user : "",
		    verified && i == c->nbinds - 1 ? "@" : "", name);
		if (n < 0 || (size_t)n >= sizeof(e->route) - at)
			break; /* cut: what fits stays */
		at += (size_t)n;
	}
	if (verified)
		snprintf(e->what, sizeof(e->what), "ssh login as %.40s@%.70s",
		    user, name);
	else if (login && c->nbinds > 0)
		snprintf(e->what, sizeof(e->what),
		    "ssh login as %.40s, to a host not verified", user);
	else if (login)
		snprintf(e->what, sizeof(e->what), "ssh login as %s", user);
	else if (sshsig_namespace(req->data, req->datalen, ns, sizeof(ns)))
		snprintf(e->what, sizeof(e->what), "sshsig (namespace %s)", ns);
	else
		snprintf(e->what, sizeof(e->what), "other data");
	/* What clients sent goes to logs and prompts: no control bytes. */
	for (i = 0; e->what[i] != '\0'; i++)
		if ((unsigned char)e->what[i] < 0x20 || e->what[i] == 0x7f)
			e->what[i] = '?';
	for (i = 0; e->route[i] != '\0'; i++)
		if ((unsigned char)e->route[i] < 0x20 || e->route[i] == 0x7f)
			e->route[i] = '?';
	for (i = 0; e->key[i] != '\0'; i++)
		if ((unsigned char)e->key[i] < 0x20 || e->key[i] == 0x7f)
			e->key[i] = '?';
	return e;
}

/* The request's outcome goes on record, and to the log (never a
 * secret: the key by comment and fingerprint). */
static void
use_end(struct conn *c, enum uselog_verdict v)
{
	struct uselog_entry *e = c->use;

	if (e == NULL)
		return;
	e->verdict = (uint8_t)v;
	uselog_add(c->agent->uses, e);
	/* Every use, as sshd logs every login. */
	log_msg(LOG_LEVEL_INFO, "use: %s: %s key \"%s\" %s: %s%s%s",
	    uselog_verdict_name(v), e->forwarded ? "forwarded" : "local",
	    e->key, e->fp, e->what, e->route[0] != '\0' ? ", route " : "",
	    e->route);
	free(e);
	c->use = NULL;
}

/* ---- forget on idle ---- */

static void revalidate_confirms(struct agent *a);
static void idle_rearm(struct agent *a);

/* A request for a key is on its way: signing, or asking the user. */
static int
key_in_use(struct agent *a)
{
	struct conn *c;

	for (c = (struct conn *)a->conns; c != NULL;
	     c = (struct conn *)c->u.next)
		if (c->state == REQ_SIGNING || c->state == REQ_CONFIRMING)
			return 1;
	return 0;
}

static void
on_idle(uv_timer_t *t)
{
	struct agent *a = t->data;

	/* Never in the middle of a signature: a little later, then. */
	if (key_in_use(a)) {
		uv_timer_start(&a->idle, on_idle, 1000, 0);
		return;
	}
	if (keystore_count(a->ks) == 0)
		return;
	/* Locked: the keys are sealed; they go if still unused later. */
	if (keystore_locked(a->ks)) {
		idle_rearm(a);
		return;
	}
	log_info("no signature for %u s: %zu key%s forgotten", a->idle_timeout,
	    keystore_count(a->ks), keystore_count(a->ks) == 1 ? "" : "s");
	keystore_remove_all(a->ks);
	revalidate_confirms(a);
}

/* The idle time counts again from now: a signature, or a key added. */
static void
idle_rearm(struct agent *a)
{
	if (a->idle_timeout != 0 && !a->stopping)
		uv_timer_start(&a->idle, on_idle,
		    (uint64_t)a->idle_timeout * 1000, 0);
}

/* ---- signing ---- */

/* The connection a signing job is embedded in. */
static struct conn *
job_conn(struct signjob *job)
{
	char *p = (char *)job - offsetof(struct conn, job);

	return (struct conn *)(void *)p;
}

static void
sign_work(struct signjob *job)
{
	struct conn *c = job_conn(job);

	c->sign_result = crypto_sign(c->key, c->data, c->datalen, c->flags,
	    &c->sig);
}

/*
 * 0 if the store still holds c->key itself: not removed, locked (which
 * frees every usable key) or expired since the request took it.
 */
static int
key_still_held(struct conn *c)
{
	struct crypto_key *k = NULL;
	const uint8_t *blob;
	const char *comment;
	size_t len;
	int confirm, same, r;

	blob = crypto_key_blob(c->key, &len);
	r = keystore_find(c->agent->ks, blob, len, &k, &confirm, &comment);
	same = r == 0 && k == c->key;
	crypto_key_unref(k);
	return same ? 0 : ERR_NOT_FOUND;
}

/* Signing forms unused for a while go, until none is left. */
static void
on_signform(uv_timer_t *t)
{
	struct agent *a = t->data;

	if (keystore_forget(a->ks, SIGN_FORM_IDLE_MS) > 0)
		uv_timer_start(t, on_signform, SIGN_FORM_IDLE_MS, 0);
}

static void
sign_done(struct signjob *job)
{
	struct conn *c = job_conn(job);
	int r = c->sign_result;

	/*
	 * A lock, removal or expiry answered while this signed wins: the
	 * signature is wiped unsent.
	 */
	if (r == 0 && (r = key_still_held(c)) != 0)
		log_info("conn %lu: key gone while signing: refused", c->id);
	else if (r != 0)
		log_error("signature failed: %s", sserr_str(r));
	use_end(c,
	    r != 0	 ? USE_FAILED :
		c->asked ? USE_CONFIRMED :
			   USE_ALLOWED);
	if (r == 0) {
		const uint8_t *kb;
		size_t kl;

		kb = crypto_key_blob(c->key, &kl);
		keystore_touch(c->agent->ks, kb, kl,
		    (uint64_t)compat_boottime_ms());
		idle_rearm(c->agent);
	}
	/* Made for this signature, failed or not: it goes once idle. */
	if (!c->agent->stopping &&
	    !uv_is_active((uv_handle_t *)&c->agent->signform))
		uv_timer_start(&c->agent->signform, on_signform,
		    SIGN_FORM_IDLE_MS, 0);
	if (r == 0 && !c->u.closing) {
		wire_reset(&c->u.out);
		r = agentproto_begin(&c->u.out, AGENT_SIGN_RESPONSE);
		if (r == 0)
			r = wire_put_string(&c->u.out, wire_ptr(&c->sig),
			    wire_avail(&c->sig));
		if (r == 0)
			r = agentproto_finish(&c->u.out, 0);
	}
	request_end(c, r);
	uvconn_unref(&c->u);
}

static int pool_queue(struct conn *c, uv_work_t *w, uv_work_cb work,
    uv_after_work_cb done);

static struct conn *
tokwork_conn(uv_work_t *w)
{
	char *p = (char *)w - offsetof(struct conn, tokwork);

	return (struct conn *)(void *)p;
}

static void
tok_sign_work(uv_work_t *w)
{
	struct conn *c = tokwork_conn(w);

	if (__atomic_load_n(&c->cancelled, __ATOMIC_ACQUIRE))
		c->sign_result = ERR_DENIED;
	else
		sign_work(&c->job);
}

static void
tok_sign_done(uv_work_t *w, int status)
{
	struct conn *c = tokwork_conn(w);

	if (status != 0)
		c->sign_result = ERR_SYSTEM;
	token_end(c->signtok);
	token_hold(c->signtok, -1);
	c->signtok = NULL;
	sign_done(&c->job);
}

/* The key may be slow (RSA-4096): sign off the loop.  A token's key
 * signs on libuv's pool: its helper may wait for a touch or a PIN. */
static int
start_sign(struct conn *c)
{
	const struct crypto_signer *signer;

	c->state = REQ_SIGNING;
	uvconn_ref(&c->u);
	wire_reset(&c->sig);
	c->job.work = sign_work;
	c->job.done = sign_done;
	signer = crypto_key_signer(c->key);
	if (signer == NULL) {
		signpool_submit(c->agent->pool, &c->job);
		return REQ_PENDING;
	}
	/* A token with too much waiting already: refused, not queued. */
	if ((c->sign_result = token_begin(signer->arg)) != 0) {
		log_info("conn %lu: %s is busy: refused", c->id,
		    token_path(signer->arg));
		sign_done(&c->job);
		return REQ_PENDING;
	}
	c->signtok = signer->arg;
	token_hold(c->signtok, 1);
	if (pool_queue(c, &c->tokwork, tok_sign_work, tok_sign_done) != 0)
		tok_sign_done(&c->tokwork, UV_ECANCELED);
	return REQ_PENDING;
}

static void
on_proc_closed(uv_handle_t *h)
{
	uvconn_unref(h->data);
}

/*
 * As ssh-agent judges it: askpass said yes if it exited 0 and printed
 * nothing, an empty line, or "yes" (in any case); anything else is no.
 */
static int
askpass_said_yes(struct conn *c, int64_t status, int signo)
{
	char buf[64];
	ssize_t n;

	if (status != 0 || signo != 0 || c->askfd < 0)
		return 0;
	/* It has exited: what it wrote is in the pipe (never blocks). */
	n = read(c->askfd, buf, sizeof(buf) - 1);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n == 0 || strcasecmp(buf, "yes") == 0;
}

static void
on_askpass_exit(uv_process_t *proc, int64_t status, int signo)
{
	struct conn *c = proc->data;
	struct agent *a = c->agent;
	struct conn **pp;
	int r = askpass_said_yes(c, status, signo) ? 0 : ERR_DENIED;

	uv_close((uv_handle_t *)proc, on_proc_closed);
	uv_timer_stop(&c->delay);
	if (c->unanswered)
		log_info("conn %lu: no answer in %u s: refused", c->id,
		    a->confirm_timeout);
	c->unanswered = 0;
	for (pp = &a->asking; *pp != NULL; pp = &(*pp)->ask_next)
		if (*pp == c) {
			*pp = c->ask_next;
			break;
		}
	/* Stopping, with no askpass left: the grace is over early. */
	if (a->stopping && a->asking == NULL &&
	    !uv_is_closing((uv_handle_t *)&a->ask_grace))
		uv_close((uv_handle_t *)&a->ask_grace, NULL);
	if (c->key == NULL) {
		log_info("conn %lu: key removed or locked while asking", c->id);
		r = ERR_NOT_FOUND;
		use_end(c, USE_FAILED);
	} else if (r != 0) {
		log_info("conn %lu: confirmation refused", c->id);
		use_end(c, USE_REFUSED);
	}
	if (r == 0 && !c->u.closing)
		start_sign(c);
	else
		request_end(c, r);
}

/* The user did not answer in time: askpass goes (SIGKILL if it must). */
static void
on_confirm_timeout(uv_timer_t *t)
{
	struct conn *c = t->data;

	if (c->state != REQ_CONFIRMING)
		return;
	askpass_kill(c, c->unanswered ? SIGKILL : SIGTERM);
	c->unanswered = 1;
	uv_timer_start(&c->delay, on_confirm_timeout, ASKPASS_GRACE_MS, 0);
}

/*
 * Starts file with args and env in a process group of its own (so that
 * what it starts, a dialog, goes with it), stdin from nowhere, stdout to
 * out_fd (nowhere if -1), stderr ours.  uv_spawn's result: the handle is
 * to be closed either way.
 */
static int
spawn_detached(uv_loop_t *loop, uv_process_t *proc, const char *file,
    char **args, char **env, int out_fd, uv_exit_cb exit_cb)
{
	uv_process_options_t opts;
	uv_stdio_container_t stdio[3];

	memset(&opts, 0, sizeof(opts));
	memset(stdio, 0, sizeof(stdio));
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = out_fd >= 0 ? UV_INHERIT_FD : UV_IGNORE;
	stdio[1].data.fd = out_fd;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = 2;
	opts.file = file;
	opts.args = args;
	opts.env = env;
	opts.stdio = stdio;
	opts.stdio_count = 3;
	opts.exit_cb = exit_cb;
	opts.flags = UV_PROCESS_DETACHED;
	return uv_spawn(loop, proc, &opts);
}

/*
 * askpass is a graphical program: used, as ssh-agent uses it, only with a
 * display to show it on, or when SSH_ASKPASS_REQUIRE=force says so (and
 * never with SSH_ASKPASS_REQUIRE=never).
 */
static int
askpass_allowed(void)
{
	const char *req = getenv("SSH_ASKPASS_REQUIRE");

	if (req != NULL && strcmp(req, "never") == 0)
		return 0;
	if (req != NULL && strcmp(req, "force") == 0)
		return 1;
	return getenv("DISPLAY") != NULL || getenv("WAYLAND_DISPLAY") != NULL;
}

/*
 * Asks the user through $SSH_ASKPASS before a confirm-constrained key
 * signs.  REQ_PENDING, or an error when no question can be asked.
 */
static int
start_confirm(struct conn *c, const char *comment)
{
	extern char **environ;
	const uint8_t *blob;
	size_t bloblen, n = 0, i;
	char fp[64], prompt[768], *args[3], **env;
	const char *askpass = getenv("SSH_ASKPASS");
	int r, answer[2];

	blob = crypto_key_blob(c->key, &bloblen);
	if (askpass == NULL || *askpass == '\0' || !askpass_allowed() ||
	    crypto_fingerprint(blob, bloblen, fp, sizeof(fp)) != 0)
		return ERR_DENIED;
	if (c->use != NULL && c->use->forwarded)
		snprintf(prompt, sizeof(prompt),
		    "Allow use of key %.100s from another host?\n"
		    "Key fingerprint %s.\nFor: %.120s\nRoute: this host > "
		    "%.250s",
		    comment, fp, c->use->what,
		    c->use->route[0] != '\0' ? c->use->route : "(not told)");
	else
		snprintf(prompt, sizeof(prompt),
		    "Allow use of key %.200s?\nKey fingerprint %s.", comment,
		    fp);
	for (i = 0; environ[i] != NULL; i++)
		;
	if ((env = calloc(i + 2, sizeof(*env))) == NULL)
		return ERR_ALLOC;
	/* Ours replaces an inherited SSH_ASKPASS_PROMPT: askpass programs
	 * read the first one. */
	for (i = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], "SSH_ASKPASS_PROMPT=", 19) != 0)
			env[n++] = environ[i];
	env[n] = "SSH_ASKPASS_PROMPT=confirm";
	args[0] = (char *)askpass;
	args[1] = prompt;
	args[2] = NULL;
	/* Its answer comes on a pipe that never blocks it: a few bytes. */
	if (pipe2(answer, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(env);
		return ERR_SYSTEM;
	}
	c->proc.data = c;
	r = spawn_detached(&c->agent->loop, &c->proc, askpass, args, env,
	    answer[1], on_askpass_exit);
	free(env);
	close(answer[1]);
	c->askfd = answer[0];
	uvconn_ref(&c->u); /* released when the process handle closes */
	if (r != 0) {
		log_error("cannot run %s: %s", askpass, uv_strerror(r));
		uv_close((uv_handle_t *)&c->proc, on_proc_closed);
		return ERR_SYSTEM;
	}
	c->ask_next = c->agent->asking;
	c->agent->asking = c;
	c->state = REQ_CONFIRMING;
	/* A question left on a screen nobody watches is a no. */
	if (c->agent->confirm_timeout != 0)
		uv_timer_start(&c->delay, on_confirm_timeout,
		    (uint64_t)c->agent->confirm_timeout * 1000, 0);
	return REQ_PENDING;
}

/* ---- keys listed before their first use ---- */

static int handle_sign_local(struct conn *c, struct wire *body);
static int keep_body(struct conn *c, uint8_t type, const uint8_t *p, size_t n);
static int visible_here(const uint8_t *blob, size_t len,
    const struct destcons *dest, void *arg);

static void
lazy_free(struct lazykey *k)
{
	int i;

	free(k->blob);
	free(k->comment);
	free(k->path);
	for (i = 0; i < k->nargs; i++)
		free(k->args[i]);
	free(k);
}

static struct lazykey *
lazy_find(struct agent *a, const uint8_t *blob, size_t len)
{
	struct lazykey *k;

	for (k = a->lazy; k != NULL; k = k->next)
		if (k->bloblen == len && memcmp(k->blob, blob, len) == 0)
			return k;
	return NULL;
}

/*
 * One run of ssh-add for a key, and the timer that bounds it (the
 * question may be left unanswered): freed once both handles are closed.
 */
struct loader {
	uv_process_t proc;
	uv_timer_t timer;
	struct lazykey *k;
	int open; /* handles not closed yet */
	int status, signo;
};

/* Whether the key may be freed: neither loading nor being resumed. */
static int
lazy_idle(const struct lazykey *k)
{
	return k->loader == NULL && !k->resuming;
}

/* The group of the ssh-add (and of the askpass it runs) goes: loading
 * a key is never worth keeping a removal or a stop waiting. */
static void
loader_kill(struct loader *l)
{
	if (l->proc.pid <= 0 || kill(-l->proc.pid, SIGKILL) != 0)
		uv_process_kill(&l->proc, SIGKILL);
}

/* Unlisted: freed at once, or when its ssh-add is done (killed now). */
static void
lazy_unlist(struct agent *a, struct lazykey *k)
{
	struct lazykey **pp;

	for (pp = &a->lazy; *pp != NULL; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			a->nlazy--;
			break;
		}
	if (lazy_idle(k)) {
		lazy_free(k);
		return;
	}
	k->removed = 1;
	if (k->loader != NULL)
		loader_kill(k->loader);
}

static void
lazy_remove(struct agent *a, const uint8_t *blob, size_t len)
{
	struct lazykey *k = lazy_find(a, blob, len);

	if (k != NULL)
		lazy_unlist(a, k);
}

static void
lazy_remove_all(struct agent *a)
{
	while (a->lazy != NULL)
		lazy_unlist(a, a->lazy);
}

/*
 * What this connection is listed of our own keys: the store's, then each
 * key listed before its first use that the store does not hold (none
 * while locked), as one identities-answer body appended to out.
 */
static int
list_ours(struct conn *c, struct wire *out)
{
	struct agent *a = c->agent;
	struct lazykey *k;
	struct crypto_key *key;
	const char *comment;
	struct wire held;
	uint32_t n, extra = 0;
	size_t room, need;
	int confirm, pass, r;

	wire_init(&held, AGENTPROTO_MAX_FRAME);
	if ((r = keystore_list_if(a->ks, &held, visible_here, c)) != 0 ||
	    (r = wire_get_u32(&held, &n)) != 0)
		goto out;
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 &&
		    ((r = wire_put_u32(out, n + extra)) != 0 ||
			(r = wire_put(out, wire_ptr(&held),
			     wire_avail(&held))) != 0))
			goto out;
		/* What still fits one answer (the same keys both times). */
		room = wire_avail(&held) + 64 < AGENTPROTO_MAX_FRAME ?
		    AGENTPROTO_MAX_FRAME - 64 - wire_avail(&held) :
		    0;
		for (k = a->lazy; k != NULL && !keystore_locked(a->ks);
		     k = k->next) {
			need = 8 + k->bloblen + strlen(k->comment);
			if (need > room)
				break;
			if (keystore_find(a->ks, k->blob, k->bloblen, &key,
				&confirm, &comment) == 0) {
				crypto_key_unref(key);
				continue;
			}
			if (!visible_here(k->blob, k->bloblen, NULL, c))
				continue;
			room -= need;
			if (pass == 0)
				extra++;
			else if ((r = wire_put_string(out, k->blob,
				      k->bloblen)) != 0 ||
			    (r = wire_put_cstring(out, k->comment)) != 0)
				goto out;
		}
	}
out:
	wire_free(&held);
	return r;
}

/*
 * key-info@sshenv's last part: the count of keys listed and not loaded
 * (none while locked), then for each its blob, comment, fingerprint
 * ("SHA256:...") and file.
 */
static int
describe_lazy(struct agent *a, struct wire *out)
{
	struct lazykey *k;
	struct crypto_key *key;
	const char *comment;
	struct wire some;
	char fp[64];
	uint32_t n = 0;
	int confirm, r = 0;

	wire_init(&some, AGENTPROTO_MAX_FRAME);
	for (k = a->lazy; k != NULL && !keystore_locked(a->ks) && r == 0;
	     k = k->next) {
		if (keystore_find(a->ks, k->blob, k->bloblen, &key, &confirm,
			&comment) == 0) {
			crypto_key_unref(key);
			continue;
		}
		if ((r = crypto_fingerprint(k->blob, k->bloblen, fp,
			 sizeof(fp))) == 0 &&
		    (r = wire_put_string(&some, k->blob, k->bloblen)) == 0 &&
		    (r = wire_put_cstring(&some, k->comment)) == 0 &&
		    (r = wire_put_cstring(&some, fp)) == 0 &&
		    (r = wire_put_cstring(&some, k->path)) == 0)
			n++;
	}
	if (r == 0 && (r = wire_put_u32(out, n)) == 0)
		r = wire_put(out, wire_ptr(&some), wire_avail(&some));
	wire_free(&some);
	return r;
}

/*
 * ssh-add is done and its handles closed: the key is held now, or it is
 * not (a wrong passphrase, a cancel, no answer in time, no one to ask,
 * the file gone, the key unlisted meanwhile).  Each request that waited
 * is served again, or refused; the next use asks again.  Serving one
 * may serve that connection's next requests (a removal, another use):
 * the key is kept meanwhile.
 */
static void
lazy_resume(struct lazykey *k, const struct loader *l)
{
	struct agent *a = k->agent;
	struct conn *c, *next;
	struct crypto_key *key;
	const char *comment;
	struct wire body;
	int confirm, held, r;

	held = !k->removed &&
	    keystore_find(a->ks, k->blob, k->bloblen, &key, &confirm,
		&comment) == 0;
	if (held)
		crypto_key_unref(key);
	log_info("%s %s (ssh-add: %s %d)", k->path,
	    held ? "loaded on first use" : "not loaded",
	    l->signo != 0 ? "signal" : "exit",
	    l->signo != 0 ? l->signo : l->status);
	k->resuming = 1;
	for (c = (struct conn *)a->conns; c != NULL; c = next) {
		next = (struct conn *)c->u.next;
		/* Those that waited for this run (one that came meanwhile
		 * may wait for the next). */
		if (c->state != REQ_LOADING || c->loading != l)
			continue;
		uvconn_ref(&c->u);
		c->loading = NULL;
		c->state = REQ_IDLE;
		r = ERR_DENIED;
		if (held && !k->removed && !c->u.closing) {
			wire_view(&body, c->upbody, c->upbodylen);
			r = handle_sign_local(c, &body);
		}
		if (r != REQ_PENDING)
			request_end(c, r);
		next = (struct conn *)c->u.next;
		uvconn_unref(&c->u);
	}
	k->resuming = 0;
	/* Unlisted meanwhile, and not loading again (a use served above may
	 * have started another run: its close frees the key). */
	if (k->removed && k->loader == NULL)
		lazy_free(k);
}

static void
loader_closed(uv_handle_t *h)
{
	struct loader *l = h->data;
	struct lazykey *k = l->k;

	if (--l->open > 0)
		return;
	k->loader = NULL;
	lazy_resume(k, l);
	free(l);
}

static void
on_lazy_exit(uv_process_t *proc, int64_t status, int signo)
{
	struct loader *l = proc->data;

	l->status = (int)status;
	l->signo = signo;
	uv_close((uv_handle_t *)&l->proc, loader_closed);
	uv_close((uv_handle_t *)&l->timer, loader_closed);
}

/* No answer in time: a no, as for a confirmation. */
static void
on_lazy_timeout(uv_timer_t *t)
{
	struct loader *l = t->data;

	log_info("%s: no passphrase in %u s: refused", l->k->path,
	    l->k->agent->confirm_timeout);
	loader_kill(l);
}

/* The path of the socket we serve, for the ssh-add we run. */
static int
own_socket(struct agent *a, char *buf, size_t size)
{
	size_t len = size;

	if (uv_pipe_getsockname(&a->listener, buf, &len) != 0 || len == 0 ||
	    len >= size || buf[0] != '/')
		return ERR_NOT_FOUND;
	buf[len] = '\0';
	return 0;
}

/*
 * Runs the real ssh-add for k's file, adding it here: its passphrase,
 * if any, asked through askpass alone (never a terminal: we have none),
 * by way of our askpass shim, which turns ssh-add's "try again" into a
 * cancel so that a wrong passphrase refuses this use only.
 */
static int
lazy_spawn(struct agent *a, struct lazykey *k)
{
	extern char **environ;
	const char *askpass = getenv("SSH_ASKPASS"), *req;
	char sock[PATHS_MAX], *args[LAZY_MAX_ARGS + 4], **env;
	char *sockvar = NULL, *askvar = NULL, *realvar = NULL;
	struct loader *l;
	size_t i, n = 0;
	int j, r;

	if (own_socket(a, sock, sizeof(sock)) != 0)
		return ERR_NOT_FOUND;
	/* Asked whether or not there is a display (as gcr-ssh-agent does):
	 * the agent has no terminal, and the user wants the key now. */
	req = getenv("SSH_ASKPASS_REQUIRE");
	if (askpass != NULL &&
	    (*askpass == '\0' || (req != NULL && strcmp(req, "never") == 0)))
		askpass = NULL;
	for (i = 0; environ[i] != NULL; i++)
		;
	if ((env = calloc(i + 6, sizeof(*env))) == NULL)
		return ERR_ALLOC;
	for (i = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], "SSH_AUTH_SOCK=", 14) != 0 &&
		    strncmp(environ[i], "SSH_ASKPASS=", 12) != 0 &&
		    strncmp(environ[i], "SSH_ASKPASS_REQUIRE=", 20) != 0 &&
		    strncmp(environ[i], "SSHENV_ASKPASS", 14) != 0)
			env[n++] = environ[i];
	r = ERR_ALLOC;
	if (asprintf(&sockvar, "SSH_AUTH_SOCK=%s", sock) < 0) {
		sockvar = NULL;
		goto out;
	}
	env[n++] = sockvar;
	if (askpass == NULL) {
		env[n++] = "SSH_ASKPASS_REQUIRE=never";
	} else if (a->self != NULL) {
		if (asprintf(&askvar, "SSH_ASKPASS=%s", a->self) < 0 ||
		    asprintf(&realvar, "SSHENV_ASKPASS=%s", askpass) < 0)
			goto out;
		env[n++] = askvar;
		env[n++] = realvar;
		env[n++] = "SSHENV_ASKPASS_SHIM=1";
		env[n++] = "SSH_ASKPASS_REQUIRE=force";
	} else {
		if (asprintf(&askvar, "SSH_ASKPASS=%s", askpass) < 0)
			goto out;
		env[n++] = askvar;
		env[n++] = "SSH_ASKPASS_REQUIRE=force";
	}
	env[n] = NULL;
	n = 0;
	args[n++] = "ssh-add";
	args[n++] = "-q";
	for (j = 0; j < k->nargs; j++)
		args[n++] = k->args[j];
	args[n++] = k->path;
	args[n] = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto out;
	l->k = k;
	l->proc.data = l;
	l->timer.data = l;
	r = spawn_detached(&a->loop, &l->proc, "ssh-add", args, env, -1,
	    on_lazy_exit);
	if (r != 0) {
		log_error("cannot run ssh-add: %s", uv_strerror(r));
		/* A handle that failed to spawn is closed all the same: the
		 * key is loading (refused) until it is. */
		uv_timer_init(&a->loop, &l->timer);
		l->status = 127;
		l->open = 2;
		k->loader = l;
		uv_close((uv_handle_t *)&l->proc, loader_closed);
		uv_close((uv_handle_t *)&l->timer, loader_closed);
		r = 0;
		goto out;
	}
	uv_timer_init(&a->loop, &l->timer);
	l->open = 2;
	k->loader = l;
	if (a->confirm_timeout != 0)
		uv_timer_start(&l->timer, on_lazy_timeout,
		    (uint64_t)a->confirm_timeout * 1000, 0);
	log_info("%s: first use, loading it", k->path);
	r = 0;
out:
	free(sockvar);
	free(askvar);
	free(realvar);
	free(env);
	return r;
}

/*
 * A signature for a key listed only: it waits while ssh-add loads the
 * key (one ssh-add for every request that comes meanwhile).  Another
 * host may have it loaded only under [forwarding] use = allow, and only
 * for a key that no destination constraint will bind.
 */
static int
lazy_wait(struct conn *c, struct lazykey *k, const uint8_t *whole,
    size_t wholelen)
{
	int j, r;

	if (conn_forwarded(c)) {
		if (key_fwd(c->agent, k->blob, k->bloblen) != FWD_ALLOW)
			return ERR_DENIED;
		for (j = 0; j < k->nargs; j++)
			if (strcmp(k->args[j], "-h") == 0)
				return ERR_DENIED;
	}
	if (whole != c->upbody &&
	    (r = keep_body(c, AGENTC_SIGN_REQUEST, whole, wholelen)) != 0)
		return r;
	if (k->loader == NULL && (r = lazy_spawn(c->agent, k)) != 0)
		return r;
	c->loading = k->loader;
	c->state = REQ_LOADING;
	return REQ_PENDING;
}

/*
 * first-use@sshenv, from `sshenv init` on this host: string path (of
 * the private key file), string public key blob, string comment, uint32
 * count, then that many ssh-add options: -c, or -t, -H or -h followed
 * by its value.  Replaces a key listed with the same blob.
 */
static int
add_lazy(struct conn *c, struct wire *w)
{
	struct agent *a = c->agent;
	struct lazykey *k, *old;
	const uint8_t *blob;
	size_t bloblen;
	uint32_t n, i;
	int r;

	if (conn_forwarded(c) || c->nbinds > 0)
		return ERR_DENIED;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return ERR_ALLOC;
	k->agent = a;
	if ((r = wire_get_cstring(w, &k->path)) != 0 ||
	    (r = wire_get_string(w, &blob, &bloblen)) != 0 ||
	    (r = wire_get_cstring(w, &k->comment)) != 0 ||
	    (r = wire_get_u32(w, &n)) != 0)
		goto fail;
	r = ERR_FORMAT;
	if (k->path[0] != '/' || strlen(k->path) >= PATHS_MAX || bloblen == 0 ||
	    bloblen > LAZY_MAX_BLOB || strlen(k->comment) > LAZY_MAX_COMMENT ||
	    n > LAZY_MAX_ARGS)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((r = wire_get_cstring(w, &k->args[k->nargs])) != 0)
			goto fail;
		k->nargs++;
	}
	if ((r = wire_end(w)) != 0)
		goto fail;
	/* ssh-add's options this may pass, each whole. */
	r = ERR_FORMAT;
	for (i = 0; i < n; i++) {
		if (strcmp(k->args[i], "-c") == 0)
			continue;
		if ((strcmp(k->args[i], "-t") != 0 &&
			strcmp(k->args[i], "-H") != 0 &&
			strcmp(k->args[i], "-h") != 0) ||
		    i + 1 >= n || k->args[i + 1][0] == '-')
			goto fail;
		i++;
	}
	r = ERR_ALLOC;
	if ((k->blob = malloc(bloblen)) == NULL)
		goto fail;
	memcpy(k->blob, blob, bloblen);
	k->bloblen = bloblen;
	if ((old = lazy_find(a, blob, bloblen)) != NULL)
		lazy_unlist(a, old);
	r = ERR_FULL;
	if (a->nlazy >= LAZY_MAX)
		goto fail;
	k->next = a->lazy;
	a->lazy = k;
	a->nlazy++;
	log_debug("conn %lu: %s listed until its first use", c->id, k->path);
	return 0;
fail:
	lazy_free(k);
	return r;
}

/* ---- destination constraints ---- */

/* Whether the path c's requests came by permits a key under dest, for
 * user's login at its end (NULL: only to see the key). */
static int
path_permits(struct conn *c, const struct destcons *dest, const char *user)
{
	struct destcons_bind hops[MAX_BINDS];
	int i;

	for (i = 0; i < c->nbinds; i++) {
		hops[i].hostkey = c->binds[i].hostkey;
		hops[i].hostkeylen = c->binds[i].hostkeylen;
		hops[i].forwarding = c->binds[i].forwarding;
		hops[i].cert = c->binds[i].is_cert ? &c->binds[i].cert : NULL;
	}
	return destcons_permitted(dest, hops, (size_t)c->nbinds,
	    c->bind_attempted && (c->bind_refused || c->nbinds == 0) ? 1 : 0,
	    user, (uint64_t)time(NULL));
}

/* keystore_visible_fn: what this connection may see of the keys. */
static int
visible_here(const uint8_t *blob, size_t len, const struct destcons *dest,
    void *arg)
{
	struct conn *c = arg;

	if (conn_forwarded(c) && key_fwd(c->agent, blob, len) == FWD_DENY)
		return 0;
	return path_permits(c, dest, NULL) == 0;
}

/*
 * A destination-constrained key signs only an SSH login at the end of
 * the path the connection is bound to, and only if every hop of it is
 * permitted: for the session of the last binding, to its host.
 */
static int
check_destination(struct conn *c, const struct destcons *dest,
    const struct agentproto_sign *req)
{
	struct agentproto_userauth ua;
	const struct binding *last;
	char user[MAX_LOGIN_USER + 1];

	if (c->nbinds == 0) {
		log_info("conn %lu: constrained key: refused on a connection "
			 "not bound to a session",
		    c->id);
		return ERR_DENIED;
	}
	if (agentproto_userauth(req->data, req->datalen, req->key, req->keylen,
		&ua) != 0 ||
	    ua.userlen >= sizeof(user)) {
		log_info("conn %lu: constrained key: refused to sign what is "
			 "not an SSH login",
		    c->id);
		return ERR_DENIED;
	}
	memcpy(user, ua.user, ua.userlen);
	user[ua.userlen] = '\0';
	last = &c->binds[c->nbinds - 1];
	if (path_permits(c, dest, user) != 0) {
		log_info("conn %lu: constrained key: not permitted on this "
			 "path (%d hops) for that user",
		    c->id, c->nbinds);
		return ERR_DENIED;
	}
	/* The login is the one ssh bound right before it, on that host. */
	if (ua.session_idlen != last->sidlen ||
	    !crypto_equal(ua.session_id, last->sid, last->sidlen) ||
	    (c->nbinds > 1 && ua.hostkey == NULL) ||
	    (ua.hostkey != NULL &&
		(ua.hostkeylen != last->hostkeylen ||
		    memcmp(ua.hostkey, last->hostkey, last->hostkeylen) !=
			0))) {
		log_info("conn %lu: constrained key: the login is not for the "
			 "session and host last bound",
		    c->id);
		return ERR_DENIED;
	}
	return 0;
}

/* ---- the stable socket: other agents behind ours ---- */

/*
 * The upstreams of c, decided at its first request that needs them: the
 * forwarded agents of the live logins then, newest first; none for the
 * supervisor's lines.  NULL: c is served by this agent alone.
 */
static void up_done(struct upset *s, void *arg);

/* Upstreams silent past a deadline are left out of new connections for
 * a while (conn_upset). */
#define UP_SILENT_SKIP_MS 30000
/* A look for sshd's sockets serves the connections of the next second. */
#define UP_FOUND_FRESH_MS 1000

static int
silenced(const struct agent *a, const char *path, uint64_t now)
{
	int i;

	for (i = 0; i < UPSTREAM_MAX; i++)
		if (a->silent[i].path != NULL && a->silent[i].until > now &&
		    strcmp(a->silent[i].path, path) == 0)
			return 1;
	return 0;
}

/* path is left out till then; the entry that ends first makes room. */
static void
silence(struct agent *a, const char *path, uint64_t until)
{
	int i, k = 0;

	for (i = 0; i < UPSTREAM_MAX; i++) {
		if (a->silent[i].path != NULL &&
		    strcmp(a->silent[i].path, path) == 0) {
			a->silent[i].until = until;
			return;
		}
		if (a->silent[i].path == NULL ||
		    a->silent[i].until < a->silent[k].until)
			k = i;
	}
	free(a->silent[k].path);
	if ((a->silent[k].path = strdup(path)) != NULL)
		a->silent[k].until = until;
}

static void
silence_free(struct agent *a)
{
	int i;

	for (i = 0; i < UPSTREAM_MAX; i++)
		free(a->silent[i].path);
}

/*
 * The upstreams a new connection gets, in order: the forwarded agents,
 * newest first (those the supervisor registered and, with discover,
 * sshd's sockets of logins that never ran `sshenv init`, by when sshd
 * made them), then the configured ones; each once, none that was silent
 * lately (a sleeping laptop must not cost every new ssh a timeout).
 */
static int
upstream_paths(struct agent *a, const char *paths[UPSTREAM_MAX])
{
	int64_t when[UPSTREAM_MAX], t;
	uint64_t now = (uint64_t)compat_boottime_ms();
	const char *home = getenv("HOME"), *p;
	int i, j, k, n = 0;

	if (a->discover &&
	    (a->found == NULL || now - a->found_at >= UP_FOUND_FRESH_MS)) {
		if (a->found == NULL)
			a->found = calloc(FWDSCAN_MAX, sizeof(*a->found));
		if (a->found != NULL)
			a->nfound = fwdscan("/tmp", home, a->found,
			    FWDSCAN_MAX);
		a->found_at = now;
	}
	for (i = 0; i < a->nupfwd + (a->discover ? a->nfound : 0); i++) {
		p = i < a->nupfwd ? a->upaths[i] : a->found[i - a->nupfwd].path;
		if (silenced(a, p, now))
			continue;
		for (j = 0; j < n && strcmp(paths[j], p) != 0; j++)
			;
		/* Listed already, or gone (sshd removes it at logout). */
		if (j < n || (t = fwdscan_mtime(p)) < 0 || n == UPSTREAM_MAX)
			continue;
		for (k = n++; k > 0 && when[k - 1] < t; k--) {
			paths[k] = paths[k - 1];
			when[k] = when[k - 1];
		}
		paths[k] = p;
		when[k] = t;
	}
	/* A configured one found as a login's too (or named twice) is
	 * asked once. */
	for (i = a->nupfwd; i < a->nupaths && n < UPSTREAM_MAX; i++) {
		for (j = 0; j < n && strcmp(paths[j], a->upaths[i]) != 0; j++)
			;
		if (j == n && !silenced(a, a->upaths[i], now))
			paths[n++] = a->upaths[i];
	}
	return n;
}

static struct upset *
conn_upset(struct conn *c)
{
	struct agent *a = c->agent;
	const char *paths[UPSTREAM_MAX];
	int n;

	if (!c->ups_taken && !c->line && (a->nupaths > 0 || a->discover)) {
		n = upstream_paths(a, paths);
		if (n > 0 &&
		    upset_new(&a->loop, paths, n, up_done, c, &c->ups) != 0)
			c->ups = NULL;
	}
	c->ups_taken = 1;
	return c->ups;
}

static void
up_note_silent(struct conn *c)
{
	const char *p;
	int i;

	for (i = 0; i < upset_count(c->ups); i++) {
		if (!upset_timed_out(c->ups, i) ||
		    (p = upset_path(c->ups, i)) == NULL)
			continue;
		log_info("conn %lu: upstream %s was silent: left out of new "
			 "connections for %d s",
		    c->id, p, UP_SILENT_SKIP_MS / 1000);
		silence(c->agent, p,
		    (uint64_t)compat_boottime_ms() + UP_SILENT_SKIP_MS);
	}
}

/* Starts op on c's upstreams; the request ends in up_done. */
static int
up_start(struct conn *c, enum up_op op)
{
	struct wire frame;
	int r = 0;

	wire_init(&frame, AGENTPROTO_MAX_FRAME + 4);
	if (op != UP_LIST) {
		r = agentproto_begin(&frame, c->uptype);
		if (r == 0)
			r = wire_put(&frame, c->upbody, c->upbodylen);
		if (r == 0)
			r = agentproto_finish(&frame, 0);
	}
	if (r == 0) {
		switch (op) {
		case UP_LIST: r = upset_list(c->ups, UP_LIST_MS); break;
		case UP_BIND:
			r = upset_broadcast(c->ups, wire_ptr(&frame),
			    wire_avail(&frame), UP_LIST_MS);
			break;
		case UP_SIGN:
			r = upset_call(c->ups, c->upidx, wire_ptr(&frame),
			    wire_avail(&frame), UP_SIGN_MS);
			break;
		}
	}
	wire_free(&frame);
	if (r != 0)
		return r;
	c->upop = op;
	c->state = REQ_UPSTREAM;
	uvconn_ref(&c->u);
	return REQ_PENDING;
}

/* Queues work for c on libuv's pool.  0 or ERR_SYSTEM. */
static int
pool_queue(struct conn *c, uv_work_t *w, uv_work_cb work, uv_after_work_cb done)
{
	if (uv_queue_work(&c->agent->loop, w, work, done) != 0)
		return ERR_SYSTEM;
	/* The pool has read its size: askpass and a command of ours need
	 * not inherit it. */
	if (!c->agent->pool_started) {
		c->agent->pool_started = 1;
		unsetenv("UV_THREADPOOL_SIZE");
	}
	return 0;
}

/* Keeps a copy of the request's body (wiped once it is served). */
static int
keep_body(struct conn *c, uint8_t type, const uint8_t *p, size_t n)
{
	free(c->upbody);
	if ((c->upbody = malloc(n + 1)) == NULL)
		return ERR_ALLOC;
	memcpy(c->upbody, p, n);
	c->upbodylen = n;
	c->uptype = type;
	return 0;
}

static int
route_add(struct conn *c, int src, const uint8_t *blob, size_t len,
    const uint8_t *comment, size_t cl)
{
	struct route *r;

	r = realloc(c->routes, (c->nroutes + 1) * sizeof(*r));
	if (r == NULL)
		return ERR_ALLOC;
	c->routes = r;
	r += c->nroutes;
	if ((r->blob = malloc(len + 1)) == NULL)
		return ERR_ALLOC;
	memcpy(r->blob, blob, len);
	r->len = len;
	r->src = src;
	snprintf(r->comment, sizeof(r->comment), "%.*s",
	    (int)(cl < sizeof(r->comment) ? cl : sizeof(r->comment) - 1),
	    (const char *)comment);
	c->nroutes++;
	return 0;
}

/* The comment the key was listed with, for the record. */
static const char *
route_comment(const struct conn *c, const uint8_t *blob, size_t len)
{
	size_t i;

	for (i = 0; i < c->nroutes; i++)
		if (c->routes[i].len == len &&
		    memcmp(c->routes[i].blob, blob, len) == 0)
			return c->routes[i].comment;
	return "";
}

/* Which agent listed this key to c: an upstream's index, -1 for ours,
 * -2 for none. */
static int
route_of(const struct conn *c, const uint8_t *blob, size_t len)
{
	size_t i;

	for (i = 0; i < c->nroutes; i++)
		if (c->routes[i].len == len &&
		    memcmp(c->routes[i].blob, blob, len) == 0)
			return c->routes[i].src;
	return -2;
}

/*
 * Appends the keys of one identities answer body not listed yet (the
 * first UPSTREAM_MAX_KEYS of an upstream's).  An answer that does not
 * parse adds nothing; one that does not fit adds what fits.  0, or an
 * error for the list's own troubles (out of memory).
 */
static int
merge_one(struct conn *c, struct wire *list, int src, uint32_t *count)
{
	const uint8_t *blob, *comment;
	struct wire check = *list;
	size_t bl, cl, mark;
	uint32_t n, i;

	/* The whole answer first: a malformed one is left out whole. */
	if (wire_get_u32(&check, &n) != 0)
		return 0;
	for (i = 0; i < n; i++)
		if (wire_get_string(&check, &blob, &bl) != 0 ||
		    wire_get_string(&check, &comment, &cl) != 0)
			return 0;
	if (wire_end(&check) != 0)
		return 0;
	(void)wire_get_u32(list, &n);
	for (i = 0; i < n && (src < 0 || i < UPSTREAM_MAX_KEYS); i++) {
		(void)wire_get_string(list, &blob, &bl);
		(void)wire_get_string(list, &comment, &cl);
		if (route_of(c, blob, bl) != -2)
			continue; /* listed once, by the first that has it */
		mark = wire_mark(&c->u.out);
		if (wire_put_string(&c->u.out, blob, bl) != 0 ||
		    wire_put_string(&c->u.out, comment, cl) != 0) {
			wire_rollback(&c->u.out, mark);
			break; /* full: the answer goes with what fits */
		}
		if (route_add(c, src, blob, bl, comment, cl) != 0) {
			wire_rollback(&c->u.out, mark);
			return ERR_ALLOC;
		}
		(*count)++;
	}
	return 0;
}

/*
 * The merged view: the newest forwarded agent's keys first, then each
 * older one's, then our own; a key already listed is not listed again.
 * An upstream that gave a malformed answer adds nothing.
 */
static int
merge_lists(struct conn *c)
{
	struct wire view, ours;
	uint32_t count = 0;
	size_t at;
	int i, r = 0;

	routes_free(c);
	wire_reset(&c->u.out);
	if ((r = agentproto_begin(&c->u.out, AGENT_IDENTITIES_ANSWER)) != 0)
		return r;
	at = wire_mark(&c->u.out);
	if ((r = wire_put_u32(&c->u.out, 0)) != 0)
		return r;
	/* The forwarding policy covers the upstreams' keys too: a request
	 * from another host is offered them only under allow (their own
	 * agents may ask or refuse as they will, but we cannot ask here
	 * on their behalf). */
	for (i = 0; i < upset_count(c->ups) && r == 0 &&
	     !(conn_forwarded(c) && c->agent->fwd != FWD_ALLOW);
	     i++)
		if (upset_keys(c->ups, i, &view) == 0)
			r = merge_one(c, &view, i, &count);
	wire_init(&ours, AGENTPROTO_MAX_FRAME);
	if (r == 0)
		r = list_ours(c, &ours);
	if (r == 0)
		r = merge_one(c, &ours, -1, &count);
	wire_free(&ours);
	if (r == 0)
		r = wire_patch_u32(&c->u.out, at, count);
	if (r == 0)
		r = agentproto_finish(&c->u.out, 0);
	if (r == 0)
		c->listed = 1;
	return r;
}

static int sign_routed(struct conn *c, struct wire *body);

static void
up_done(struct upset *s, void *arg)
{
	struct conn *c = arg;
	struct wire body, reply;
	int r = 0;

	(void)s;
	c->state = REQ_IDLE;
	up_note_silent(c);
	if (c->u.closing) {
		c->sign_after_list = 0;
		request_end(c, ERR_SYSTEM);
		uvconn_unref(&c->u);
		return;
	}
	switch (c->upop) {
	case UP_LIST:
		r = merge_lists(c);
		if (r == 0 && c->sign_after_list) {
			/* Now the key's agent is known: the SIGN goes on. */
			c->sign_after_list = 0;
			wire_view(&body, c->upbody, c->upbodylen);
			r = sign_routed(c, &body);
			if (r == REQ_PENDING) {
				uvconn_unref(&c->u);
				return;
			}
		}
		c->sign_after_list = 0;
		break;
	case UP_BIND: r = c->bind_result; break;
	case UP_SIGN:
		if ((r = upset_reply(c->ups, c->upidx, &reply)) != 0) {
			log_info("conn %lu: upstream %d did not answer: "
				 "refused",
			    c->id, c->upidx);
			use_end(c, USE_FAILED);
			break;
		}
		use_end(c,
		    wire_ptr(&reply)[0] == AGENT_SIGN_RESPONSE ? USE_ALLOWED :
								 USE_FAILED);
		/* Its answer, whatever it is, goes back as it came. */
		wire_reset(&c->u.out);
		r = agentproto_begin(&c->u.out, wire_ptr(&reply)[0]);
		if (r == 0)
			r = wire_put(&c->u.out, wire_ptr(&reply) + 1,
			    wire_avail(&reply) - 1);
		if (r == 0)
			r = agentproto_finish(&c->u.out, 0);
		break;
	}
	request_end(c, r);
	uvconn_unref(&c->u);
}

/* ---- requests ---- */

static int handle_sign_local(struct conn *c, struct wire *body);

/*
 * A SIGN on a connection with upstreams goes to the agent that listed
 * the key to it; one that has not listed yet is listed first.
 */
static int
sign_routed(struct conn *c, struct wire *body)
{
	struct agentproto_sign req;
	struct wire copy = *body;
	int src, r;

	if (!c->listed) {
		/* Not started: nothing is left to redo it (a later list
		 * would sign this stale request as its answer). */
		c->sign_after_list = 1;
		if ((r = up_start(c, UP_LIST)) != REQ_PENDING)
			c->sign_after_list = 0;
		return r;
	}
	if (agentproto_sign(&copy, &req) != 0)
		return handle_sign_local(c, body); /* refused there */
	src = route_of(c, req.key, req.keylen);
	if (src >= 0) {
		/* On the record like our own: what, from where, by whom. */
		c->use = use_begin(c, &req,
		    route_comment(c, req.key, req.keylen));
		c->upidx = src;
		return up_start(c, UP_SIGN);
	}
	return handle_sign_local(c, body);
}

static int
handle_sign(struct conn *c, struct wire *body)
{
	int r;

	if (conn_upset(c) == NULL)
		return handle_sign_local(c, body);
	if ((r = keep_body(c, AGENTC_SIGN_REQUEST, wire_ptr(body),
		 wire_avail(body))) != 0)
		return r;
	return sign_routed(c, body);
}

static int websafe(const struct conn *c, const struct agentproto_sign *req);

static int
handle_sign_local(struct conn *c, struct wire *body)
{
	struct agentproto_sign req;
	const struct destcons *dest;
	const uint8_t *whole = wire_ptr(body);
	size_t wholelen = wire_avail(body);
	struct lazykey *k;
	enum fwd_policy fwd;
	const char *comment;
	int confirm, r;

	if ((r = agentproto_sign(body, &req)) != 0) {
		log_info("conn %lu: bad sign request: %s", c->id, sserr_str(r));
		return r;
	}
	if ((r = keystore_find(c->agent->ks, req.key, req.keylen, &c->key,
		 &confirm, &comment)) != 0) {
		/* Listed only, until now: loaded first. */
		if (r == ERR_NOT_FOUND &&
		    (k = lazy_find(c->agent, req.key, req.keylen)) != NULL)
			return lazy_wait(c, k, whole, wholelen);
		log_debug("conn %lu: sign: %s", c->id, sserr_str(r));
		return r;
	}
	c->use = use_begin(c, &req, comment);
	if (!websafe(c, &req)) {
		log_error("conn %lu: a FIDO key made for the web (not for "
			  "\"ssh:\") asked to sign what is not SSH's: refused",
		    c->id);
		use_end(c, USE_DENIED);
		return ERR_DENIED;
	}
	dest = keystore_dest(c->agent->ks, req.key, req.keylen);
	if (dest != NULL && (r = check_destination(c, dest, &req)) != 0) {
		use_end(c, USE_CONSTRAINT);
		return r;
	}
	/* The forwarding policy: deny refuses, confirm asks; local use is
	 * never its business. */
	fwd = key_fwd(c->agent, req.key, req.keylen);
	if (conn_forwarded(c) && fwd == FWD_DENY) {
		log_info("conn %lu: forwarded use denied by policy", c->id);
		use_end(c, USE_DENIED);
		return ERR_DENIED;
	}
	if (conn_forwarded(c) && fwd == FWD_CONFIRM)
		confirm = 1;
	if ((c->data = malloc(req.datalen + 1)) == NULL)
		return ERR_ALLOC;
	memcpy(c->data, req.data, req.datalen);
	c->datalen = req.datalen;
	c->flags = req.flags;
	if (!confirm)
		return start_sign(c);
	c->asked = 1;
	if ((r = start_confirm(c, comment)) != REQ_PENDING)
		use_end(c, USE_REFUSED); /* no one could be asked */
	return r;
}

/*
 * A signature waiting for the user's confirmation holds its key.  After
 * the key store changes (lock, remove, expiry), drop every such key the
 * store no longer holds as the same key: its memory goes now, and the
 * request fails when the question returns.  (A signature already on a
 * signing thread is checked when it comes back: sign_done.)
 */
static void
revalidate_confirms(struct agent *a)
{
	struct conn *c;

	for (c = (struct conn *)a->conns; c != NULL;
	     c = (struct conn *)c->u.next) {
		if (c->state != REQ_CONFIRMING || c->key == NULL ||
		    key_still_held(c) == 0)
			continue;
		crypto_key_unref(c->key);
		c->key = NULL;
		askpass_kill(c, SIGTERM);
	}
}

/* ---- tokens: PKCS#11 modules and FIDO providers (tokens.h) ---- */

/* A module's helper died, and its login with it: its keys go. */
static void
token_dead(void *arg, struct token *t)
{
	struct agent *a = arg;
	size_t n = keystore_remove_signer(a->ks, t);

	log_error("the keys of %s (%zu) are removed: its helper is gone",
	    token_path(t), n);
	revalidate_confirms(a);
}

/* The helpers' set, made at first need: sshenv-token, found as the
 * client finds us (beside us, first). */
static struct tokens *
agent_tokens(struct agent *a)
{
	char path[PATHS_MAX];

	if (a->tokens != NULL)
		return a->tokens;
	if (rtpaths_helper("sshenv-token", path, sizeof(path)) != 0 ||
	    tokens_new(&a->loop, path, token_dead, a, &a->tokens) != 0)
		a->tokens = NULL;
	return a->tokens;
}

/*
 * Whether a provider may be used: not on request of another host
 * (CVE-2023-38408: a forwarded agent had ssh-agent load any library)
 * unless -O allow-remote-pkcs11 says so, and only if its real path (in
 * real) is in the allowlist.
 */
static int
provider_check(struct conn *c, const uint8_t *given, size_t len,
    char real[PATH_MAX], const char *what)
{
	struct agent *a = c->agent;
	const char *allow = a->providers != NULL ? a->providers :
						   TOKENS_DEFAULT_ALLOW;
	char path[PATH_MAX];

	if (len >= sizeof(path))
		return ERR_TOO_LONG;
	memcpy(path, given, len);
	path[len] = '\0';
	if ((conn_forwarded(c) || c->nbinds > 0) && !a->remote_providers) {
		log_error("conn %lu: %s %s from another host refused "
			  "(-O allow-remote-pkcs11 allows it)",
		    c->id, what, path);
		return ERR_DENIED;
	}
	if (realpath(path, real) == NULL) {
		log_info("conn %lu: %s %s: %s", c->id, what, path,
		    strerror(errno));
		return ERR_NOT_FOUND;
	}
	if (!tokens_allowed(allow, real)) {
		log_error("conn %lu: %s %s refused: not in the allowlist (%s)",
		    c->id, what, real, allow);
		return ERR_DENIED;
	}
	if (agent_tokens(a) == NULL) {
		log_error("conn %lu: cannot find sshenv-token, the helper that "
			  "loads it",
		    c->id);
		return ERR_UNSUPPORTED;
	}
	return 0;
}

/* Whether an add-identity key is a FIDO key. */
static int
key_is_sk(const uint8_t *key, size_t len)
{
	struct wire w;
	const uint8_t *name;
	size_t n;
	int cert;

	wire_view(&w, key, len);
	return wire_get_string(&w, &name, &n) == 0 &&
	    keytype_is_sk(keytype_lookup(name, n, &cert));
}

/*
 * The helper of a FIDO key's provider (given, or "internal" when
 * none): *started says a new one was started, held once for the caller.
 */
static int
sk_token(struct conn *c, const uint8_t *given, size_t len, struct token **tok,
    int *started)
{
	struct agent *a = c->agent;
	char real[PATH_MAX];
	const char *path = "internal";
	int r;

	*tok = NULL;
	*started = 0;
	if (given != NULL &&
	    !(len == 8 &&
		strncasecmp((const char *)given, "internal", 8) == 0)) {
		if ((r = provider_check(c, given, len, real,
			 "FIDO provider")) != 0)
			return r;
		path = real;
	} else if (agent_tokens(a) == NULL) {
		return ERR_UNSUPPORTED;
	}
	if ((*tok = tokens_find(a->tokens, TOKEN_SK, path)) != NULL)
		return 0;
	r = tokens_start(a->tokens, TOKEN_SK, path, tok);
	*started = r == 0;
	return r;
}

/*
 * As ssh-agent: a FIDO key whose application is not SSH's ("ssh:...")
 * was made for the web, and signs only what SSH asks (a login, an
 * SSHSIG): a forwarded agent must not answer a web site's challenge.
 */
static int
websafe(const struct conn *c, const struct agentproto_sign *req)
{
	struct crypto_sk sk;

	if (c->agent->websafe_off || !crypto_key_sk(c->key, &sk) ||
	    (sk.applen >= 4 && memcmp(sk.app, "ssh:", 4) == 0))
		return 1;
	return agentproto_userauth(req->data, req->datalen, req->key,
		   req->keylen, &(struct agentproto_userauth){ 0 }) == 0 ||
	    agentproto_sshsig(req->data, req->datalen) == 0;
}

static void
tok_load_work(uv_work_t *w)
{
	struct tokenadd *t = tokwork_conn(w)->tokadd;

	t->result = token_load(t->token, t->pin, t->pinlen, &t->keys);
}

/* One key of a token into the store; 1 if added, 0 if already held. */
static int
tokenadd_one(struct conn *c, const uint8_t *blob, size_t len,
    const uint8_t *label, size_t labellen)
{
	struct agent *a = c->agent;
	struct tokenadd *t = c->tokadd;
	struct crypto_signer signer;
	struct crypto_key *k = NULL;
	struct destcons *dest = NULL;
	const char *path = token_path(t->token), *comment;
	uint64_t expires = 0;
	char name[TOKEN_LABEL_MAX + 1];
	size_t i;
	int confirm, r;

	/* As ssh-agent: a key held already keeps what it has. */
	if (keystore_find(a->ks, blob, len, &k, &confirm, &comment) == 0) {
		crypto_key_unref(k);
		return 0;
	}
	if (t->dest != NULL &&
	    (r = destcons_parse(t->dest, t->destlen, &dest)) != 0)
		return r;
	if (t->life != 0)
		expires = (uint64_t)compat_boottime_ms() +
		    (uint64_t)t->life * 1000;
	token_signer(t->token, &signer);
	/* Named by its label (the module's words: cut at a NUL, no
	 * control characters, which clients would refuse or print), or
	 * else by its module. */
	for (i = 0; i < labellen && i < TOKEN_LABEL_MAX && label[i] != '\0';
	     i++)
		name[i] = label[i] < 0x20 || label[i] == 0x7f ? '?' :
								(char)label[i];
	name[i] = '\0';
	if (i == 0)
		snprintf(name, sizeof(name), "%s", path);
	r = keystore_add_signed(a->ks, NULL, 0, blob, len, &signer,
	    (const uint8_t *)name, strlen(name), expires, t->confirm, dest,
	    visible_here, c);
	return r == 0 ? 1 : r;
}

/*
 * The keys the module listed (and the certificates given for them)
 * into the store.  0 if at least one was added, as ssh-agent answers.
 */
static int
tokenadd_finish(struct conn *c)
{
	struct tokenadd *t = c->tokadd;
	struct wire keys = t->keys, certs;
	struct crypto_key *ck;
	const uint8_t *blob, *label, *cert, *plain;
	size_t len, labellen, certlen, plainlen;
	uint32_t n, i;
	int added = 0, r;

	/* The whole answer and the certificates parse, or nothing is
	 * added. */
	if ((r = wire_get_u32(&keys, &n)) != 0)
		return r;
	for (i = 0; i < n; i++)
		if ((r = wire_get_string(&keys, &blob, &len)) != 0 ||
		    (r = wire_get_string(&keys, &label, &labellen)) != 0)
			return r;
	if ((r = wire_end(&keys)) != 0)
		return r;
	wire_view(&certs, t->certs, t->certs != NULL ? t->certslen : 0);
	while (wire_avail(&certs) > 0)
		if ((r = wire_get_string(&certs, &cert, &certlen)) != 0)
			return r;
	keys = t->keys;
	wire_get_u32(&keys, &n);
	for (i = 0; i < n; i++) {
		if ((r = wire_get_string(&keys, &blob, &len)) != 0 ||
		    (r = wire_get_string(&keys, &label, &labellen)) != 0)
			return r;
		if (t->certs_only)
			continue;
		if ((r = tokenadd_one(c, blob, len, label, labellen)) < 0)
			log_info("conn %lu: a key of %s: %s", c->id,
			    token_path(t->token), sserr_str(r));
		added += r > 0;
	}
	/* Each certificate goes with the token key it certifies. */
	wire_view(&certs, t->certs, t->certs != NULL ? t->certslen : 0);
	while (wire_avail(&certs) > 0) {
		if ((r = wire_get_string(&certs, &cert, &certlen)) != 0)
			return r;
		if (crypto_key_external(cert, certlen, NULL, &ck) != 0) {
			log_info("conn %lu: a bad certificate: skipped", c->id);
			continue;
		}
		plain = crypto_key_plain(ck, &plainlen);
		keys = t->keys;
		wire_get_u32(&keys, &n);
		for (i = 0; i < n; i++) {
			if (wire_get_string(&keys, &blob, &len) != 0 ||
			    wire_get_string(&keys, &label, &labellen) != 0)
				break;
			if (len != plainlen || memcmp(blob, plain, len) != 0)
				continue;
			r = tokenadd_one(c, cert, certlen, label, labellen);
			added += r > 0;
			break;
		}
		if (i == n)
			log_info("conn %lu: a certificate for no key of the "
				 "token: skipped",
			    c->id);
		crypto_key_unref(ck);
	}
	log_info("conn %lu: %s: %d key%s added", c->id, token_path(t->token),
	    added, added == 1 ? "" : "s");
	if (added > 0) {
		idle_rearm(c->agent);
		if (t->life != 0)
			rearm_expiry(c->agent);
	}
	return added > 0 ? 0 : ERR_NOT_FOUND;
}

static void
tok_load_done(uv_work_t *w, int status)
{
	struct conn *c = tokwork_conn(w);
	int r = status != 0 ? ERR_SYSTEM : c->tokadd->result;

	/* Stopping, locked, or the module removed (or its helper dead)
	 * meanwhile: nothing is added. */
	if (r == 0 && (c->agent->stopping || token_stopped(c->tokadd->token)))
		r = ERR_DENIED;
	if (r == 0 && keystore_locked(c->agent->ks))
		r = ERR_LOCKED;
	if (r == 0)
		r = tokenadd_finish(c);
	else
		log_info("conn %lu: %s not added: %s", c->id,
		    token_path(c->tokadd->token), sserr_str(r));
	request_end(c, r); /* drops the add, and with it our hold */
	uvconn_unref(&c->u);
}

static int
handle_add_smartcard(struct conn *c, struct wire *body, int constrained)
{
	struct agent *a = c->agent;
	struct agentproto_smartcard req;
	struct tokenadd *t;
	char real[PATH_MAX];
	int r;

	if ((r = agentproto_smartcard(body, constrained, &req)) != 0) {
		log_info("conn %lu: PKCS#11 add refused: %s", c->id,
		    sserr_str(r));
		return r;
	}
	if (keystore_locked(a->ks))
		return ERR_LOCKED;
	if ((r = provider_check(c, req.id, req.idlen, real,
		 "PKCS#11 module")) != 0)
		return r;
	if (tokens_find(a->tokens, TOKEN_PKCS11, real) != NULL) {
		log_info("conn %lu: %s is loaded already (ssh-add -e "
			 "removes it)",
		    c->id, real);
		return ERR_EXISTS;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return ERR_ALLOC;
	wire_init(&t->keys, TOKENPROTO_MAX_FRAME);
	t->life = req.cons.lifetime != 0 ? req.cons.lifetime : a->lifetime;
	t->confirm = req.cons.confirm;
	t->certs_only = req.cons.certs_only;
	r = ERR_ALLOC;
	if ((t->pin = crypto_secure_alloc(req.pinlen + 1)) == NULL ||
	    (req.cons.dest != NULL &&
		(t->dest = malloc(req.cons.destlen + 1)) == NULL) ||
	    (req.cons.certs != NULL &&
		(t->certs = malloc(req.cons.certslen + 1)) == NULL)) {
		tokenadd_free(t);
		return r;
	}
	memcpy(t->pin, req.pin, req.pinlen);
	t->pinlen = req.pinlen;
	if (t->dest != NULL)
		memcpy(t->dest, req.cons.dest, t->destlen = req.cons.destlen);
	if (t->certs != NULL)
		memcpy(t->certs, req.cons.certs,
		    t->certslen = req.cons.certslen);
	if ((r = tokens_start(a->tokens, TOKEN_PKCS11, real, &t->token)) != 0) {
		tokenadd_free(t);
		return r;
	}
	c->tokadd = t;
	c->state = REQ_TOKEN;
	uvconn_ref(&c->u);
	if (pool_queue(c, &c->tokwork, tok_load_work, tok_load_done) != 0) {
		c->state = REQ_IDLE;
		uvconn_unref(&c->u);
		return ERR_SYSTEM; /* request_end drops the add */
	}
	return REQ_PENDING;
}

static int
handle_remove_smartcard(struct conn *c, struct wire *body)
{
	struct agent *a = c->agent;
	struct agentproto_smartcard req;
	char path[PATH_MAX], real[PATH_MAX];
	struct token *t = NULL;
	size_t n;
	int r;

	if ((r = agentproto_smartcard(body, 0, &req)) != 0)
		return r;
	if (req.idlen >= sizeof(path))
		return ERR_TOO_LONG;
	memcpy(path, req.id, req.idlen);
	path[req.idlen] = '\0';
	if (a->tokens != NULL && realpath(path, real) != NULL)
		t = tokens_find(a->tokens, TOKEN_PKCS11, real);
	if (t == NULL) {
		log_info("conn %lu: PKCS#11 module %s is not loaded", c->id,
		    path);
		return ERR_NOT_FOUND;
	}
	/* Held across: the keys' going may drop the last other hold. */
	token_hold(t, 1);
	n = keystore_remove_signer(a->ks, t);
	token_stop(t);
	token_hold(t, -1);
	revalidate_confirms(a);
	log_info("conn %lu: %s removed, and its %zu key%s", c->id, real, n,
	    n == 1 ? "" : "s");
	return 0;
}

static int
handle_add(struct conn *c, struct wire *body, int constrained)
{
	struct agentproto_add req;
	struct destcons *dest = NULL;
	struct crypto_signer signer;
	struct token *tok = NULL;
	uint64_t expires = 0;
	size_t ndest;
	uint32_t life;
	int r, sk, started = 0;

	if ((r = agentproto_add(body, constrained, &req)) != 0) {
		log_info("conn %lu: add refused: %s", c->id, sserr_str(r));
		return r;
	}
	/* A FIDO key signs through its provider, in a helper of its own. */
	sk = key_is_sk(req.key, req.keylen);
	if (req.provider != NULL && !sk) {
		log_info("conn %lu: add refused: a FIDO provider for a key "
			 "that is not on a security key",
		    c->id);
		return ERR_DENIED;
	}
	if (sk &&
	    (r = sk_token(c, req.provider, req.providerlen, &tok, &started)) !=
		0)
		return r;
	if (sk)
		token_signer(tok, &signer);
	life = req.lifetime != 0 ? req.lifetime : c->agent->lifetime;
	if (life != 0) {
		/* Lifetimes count through suspend, as ssh-agent's do. */
		expires = (uint64_t)compat_boottime_ms() +
		    (uint64_t)life * 1000;
	}
	if (req.dest != NULL &&
	    (r = destcons_parse(req.dest, req.destlen, &dest)) != 0) {
		log_info("conn %lu: add refused: bad destination constraint: "
			 "%s",
		    c->id, sserr_str(r));
		if (started)
			token_hold(tok, -1);
		return r;
	}
	ndest = destcons_count(dest); /* dest is the store's from here */
	r = keystore_add_signed(c->agent->ks, req.key, req.keylen, NULL, 0,
	    sk ? &signer : NULL, req.comment, req.commentlen, expires,
	    req.confirm, dest, visible_here, c);
	/* The store holds the helper now, if it took the key. */
	if (started)
		token_hold(tok, -1);
	revalidate_confirms(c->agent);
	if (r == ERR_FULL)
		log_error("conn %lu: key refused: the agent is full (%zu keys; "
			  "at most %d, in %d KiB of locked memory and %d KiB "
			  "of blobs and comments)",
		    c->id, keystore_count(c->agent->ks), KEYSTORE_MAX_KEYS,
		    SECURE_HEAP_SIZE / 2 / 1024,
		    (AGENTPROTO_MAX_FRAME - 5) / 1024);
	else if (r != 0)
		log_info("conn %lu: add refused: %s", c->id, sserr_str(r));
	if (r == 0)
		idle_rearm(c->agent);
	if (r == 0)
		log_debug("conn %lu: key added (life %u, confirm %d, "
			  "%zu destination constraints)",
		    c->id, life, req.confirm, ndest);
	if (life != 0)
		rearm_expiry(c->agent);
	return r;
}

static int
handle_list(struct conn *c, struct wire *body)
{
	int r;

	if ((r = agentproto_empty(body)) != 0)
		return r;
	if (conn_upset(c) != NULL)
		return up_start(c, UP_LIST);
	wire_reset(&c->u.out);
	if ((r = agentproto_begin(&c->u.out, AGENT_IDENTITIES_ANSWER)) == 0 &&
	    (r = list_ours(c, &c->u.out)) == 0)
		r = agentproto_finish(&c->u.out, 0);
	return r;
}

static int try_unlock(struct conn *c, const uint8_t *pass, size_t len);

/* A held unlock attempt is tried now; a held FAILURE is sent now. */
static void
on_delay(uv_timer_t *t)
{
	struct conn *c = t->data;
	uint8_t *pass = c->pass;
	size_t len = c->passlen;
	int r = ERR_DENIED;

	if (pass != NULL) {
		c->pass = NULL;
		c->passlen = 0;
		r = try_unlock(c, pass, len);
		crypto_secure_free(pass, len);
	}
	if (r != REQ_PENDING)
		request_end(c, r);
}

/*
 * Unlock attempts are paced for the whole agent: after a wrong one, the
 * answer waits out a penalty, and any attempt that comes meanwhile (on any
 * connection) waits for its end before it is even checked.
 */
static int
try_unlock(struct conn *c, const uint8_t *pass, size_t len)
{
	struct agent *a = c->agent;
	uint64_t now, delay;

	/* Nothing to guess at: no failure counted, no penalty. */
	if (!keystore_locked(a->ks))
		return ERR_DENIED;
	/*
	 * The supervisor's own line carries the lock policy's random
	 * passphrase, and no one else can write on it: others' wrong
	 * guesses must not delay (or, past its call timeout, defeat) it.
	 */
	if (c->line)
		return keystore_unlock(a->ks, pass, len) == 0 ? 0 : ERR_DENIED;
	uv_update_time(&a->loop);
	now = uv_now(&a->loop);
	if (now < a->unlock_after) {
		if ((c->pass = crypto_secure_alloc(len + 1)) == NULL)
			return ERR_ALLOC;
		memcpy(c->pass, pass, len);
		c->passlen = len;
		c->state = REQ_HELD;
		uv_timer_start(&c->delay, on_delay, a->unlock_after - now, 0);
		return REQ_PENDING;
	}
	if (keystore_unlock(a->ks, pass, len) == 0) {
		a->unlock_failures = 0;
		log_info("agent unlocked");
		return 0;
	}
	if (a->unlock_failures < 100)
		a->unlock_failures++;
	delay = (uint64_t)UNLOCK_PENALTY_MS * a->unlock_failures;
	if (delay > UNLOCK_PENALTY_MAX_MS)
		delay = UNLOCK_PENALTY_MAX_MS;
	a->unlock_after = now + delay;
	log_info("unlock failed (%u in a row)", a->unlock_failures);
	/* c->pass stays NULL: the delay ends in FAILURE. */
	c->state = REQ_HELD;
	uv_timer_start(&c->delay, on_delay, delay, 0);
	return REQ_PENDING;
}

static int
handle_lock(struct conn *c, struct wire *body, int lock)
{
	const uint8_t *pass;
	size_t len;
	int r;

	if ((r = agentproto_passphrase(body, &pass, &len)) != 0)
		return r;
	if (!lock)
		return try_unlock(c, pass, len);
	/* As ssh-agent: a lock anyone could open with nothing is no lock. */
	if (len == 0) {
		log_info("conn %lu: lock with an empty passphrase refused",
		    c->id);
		return ERR_DENIED;
	}
	r = keystore_lock(c->agent->ks, pass, len);
	revalidate_confirms(c->agent);
	log_info("agent %slocked", r == 0 ? "" : "not ");
	return r;
}

/*
 * session-bind@openssh.com: ssh proves which host and session this
 * connection serves by the host's signature over the session id.
 */
static int session_bind_check(struct conn *c, struct wire *rest);

static int
session_bind(struct conn *c, struct wire *rest)
{
	int r = session_bind_check(c, rest);

	if (r != 0)
		c->bind_refused = 1;
	return r;
}

static int
session_bind_check(struct conn *c, struct wire *rest)
{
	struct agentproto_bind b;
	struct binding *nb;
	int i, r;

	/* Refused or not, it was tried: constrained keys then need a
	 * binding that held (destcons_permitted). */
	c->bind_attempted = 1;
	if ((r = agentproto_session_bind(rest, &b)) != 0)
		return r;
	if (b.session_idlen == 0 || b.session_idlen > MAX_SESSION_ID)
		return ERR_FORMAT;
	if ((r = crypto_verify(b.hostkey, b.hostkeylen, b.session_id,
		 b.session_idlen, b.signature, b.signaturelen)) != 0)
		return r;
	for (i = 0; i < c->nbinds; i++) {
		nb = &c->binds[i];
		if (nb->sidlen == b.session_idlen &&
		    memcmp(nb->sid, b.session_id, nb->sidlen) == 0) {
			/* The same binding again is harmless; another is not. */
			if (nb->hostkeylen == b.hostkeylen &&
			    memcmp(nb->hostkey, b.hostkey, b.hostkeylen) == 0)
				return 0;
			return ERR_DENIED;
		}
		/* A connection used for authentication is not reused. */
		if (!nb->forwarding)
			return ERR_DENIED;
	}
	if (c->nbinds >= MAX_BINDS)
		return ERR_TOO_LONG;
	nb = &c->binds[c->nbinds];
	if ((nb->hostkey = malloc(b.hostkeylen)) == NULL)
		return ERR_ALLOC;
	memcpy(nb->hostkey, b.hostkey, b.hostkeylen);
	nb->hostkeylen = b.hostkeylen;
	/* Its certificate is judged against constraints often: parsed
	 * (and its CA signature checked) here, once, from our copy. */
	nb->is_cert = crypto_cert_info(nb->hostkey, nb->hostkeylen,
			  &nb->cert) == 0;
	memcpy(nb->sid, b.session_id, b.session_idlen);
	nb->sidlen = b.session_idlen;
	nb->forwarding = b.forwarding;
	c->nbinds++;
	return 0;
}

/* A policy name; -1 for none we know. */
static int
fwd_lookup(const uint8_t *p, size_t n)
{
	int i;

	for (i = 0; fwd_names[i] != NULL; i++)
		if (wire_str_is(p, n, fwd_names[i]))
			return i;
	return -1;
}

/*
 * forwarding-policy@sshenv: string policy, then per key with one of its
 * own (at most 64): string blob, string policy.  All of it, or nothing.
 */
static int
set_policy(struct agent *a, struct wire *w)
{
	struct keypolicy *head = NULL, *k;
	const uint8_t *p, *blob;
	size_t n, len, count = 0;
	int fwd, kf, r;

	if ((r = wire_get_string(w, &p, &n)) != 0)
		return r;
	if ((fwd = fwd_lookup(p, n)) < 0)
		return ERR_FORMAT;
	while (wire_avail(w) > 0) {
		if ((r = wire_get_string(w, &blob, &len)) != 0 ||
		    (r = wire_get_string(w, &p, &n)) != 0)
			goto bad;
		if ((kf = fwd_lookup(p, n)) < 0 || len == 0 || ++count > 64) {
			r = ERR_FORMAT;
			goto bad;
		}
		if ((k = malloc(sizeof(*k) + len)) == NULL) {
			r = ERR_ALLOC;
			goto bad;
		}
		k->fwd = (enum fwd_policy)kf;
		k->len = len;
		memcpy(k->blob, blob, len);
		k->next = head;
		head = k;
	}
	keypol_free(a->keypol);
	a->keypol = head;
	a->fwd = (enum fwd_policy)fwd;
	log_info("forwarding policy: %s (%zu keys with their own)",
	    fwd_names[fwd], count);
	return 0;
bad:
	keypol_free(head);
	return r;
}

/*
 * upstreams@sshenv: u32 count, then each path, newest first.  A path
 * that cannot be one (not absolute, too long) is left out, not the rest.
 */
static int
set_upstreams(struct agent *a, struct wire *w)
{
	char *paths[UPSTREAM_MAX];
	const uint8_t *p;
	uint32_t n, i, m = 0, orig[UPSTREAM_MAX], nfwd = 0, fwd = 0;
	uint8_t discover = 0;
	size_t len;
	int r = 0;

	if ((r = wire_get_u32(w, &n)) != 0)
		return r;
	if (n > UPSTREAM_MAX)
		return ERR_TOO_LONG;
	for (i = 0; i < n && r == 0; i++) {
		if ((r = wire_get_string(w, &p, &len)) != 0)
			break;
		if (len == 0 || len >= PATHS_MAX || p[0] != '/' ||
		    memchr(p, '\0', len) != NULL) {
			log_error("upstream %u is no socket path: left out", i);
			continue;
		}
		if ((paths[m] = malloc(len + 1)) == NULL) {
			r = ERR_ALLOC;
			break;
		}
		memcpy(paths[m], p, len);
		paths[m][len] = '\0';
		orig[m++] = i;
	}
	if (r == 0)
		r = wire_get_u32(w, &nfwd);
	if (r == 0)
		r = wire_get_u8(w, &discover);
	if (r == 0)
		r = wire_end(w);
	if (r != 0) {
		while (m > 0)
			free(paths[--m]);
		return r;
	}
	for (i = 0; i < (uint32_t)a->nupaths; i++)
		free(a->upaths[i]);
	for (i = 0; i < m; i++) {
		a->upaths[i] = paths[i];
		fwd += orig[i] < nfwd;
	}
	a->nupaths = (int)m;
	a->nupfwd = (int)fwd;
	a->discover = discover != 0;
	log_info("following %u agent%s%s", m, m == 1 ? "" : "s",
	    a->discover ? " and the logins sshd forwards an agent to" : "");
	return 0;
}

static const char *const extensions[] = { "query", "session-bind@openssh.com",
	"key-info@sshenv", "use-log@sshenv" };

static int
handle_extension(struct conn *c, struct wire *body)
{
	const uint8_t *name, *whole = wire_ptr(body);
	size_t namelen, i, wholelen = wire_avail(body);
	struct wire rest;
	int r;

	if ((r = agentproto_extension(body, &name, &namelen, &rest)) != 0)
		return r;
	if (wire_str_is(name, namelen, "query")) {
		if ((r = wire_end(&rest)) != 0)
			return r;
		wire_reset(&c->u.out);
		r = agentproto_begin(&c->u.out, AGENT_EXTENSION_RESPONSE);
		if (r == 0)
			r = wire_put_cstring(&c->u.out, "query");
		for (i = 0;
		     r == 0 && i < sizeof(extensions) / sizeof(extensions[0]);
		     i++)
			r = wire_put_cstring(&c->u.out, extensions[i]);
		if (r == 0)
			r = agentproto_finish(&c->u.out, 0);
		return r;
	}
	/* sshenv's own: what `sshenv status` shows of each key. */
	if (wire_str_is(name, namelen, "key-info@sshenv")) {
		/* What status shows is for this host: hidden keys stay so. */
		if (conn_forwarded(c) || c->nbinds > 0)
			return ERR_DENIED;
		if ((r = wire_end(&rest)) != 0)
			return r;
		wire_reset(&c->u.out);
		r = agentproto_begin(&c->u.out, AGENT_EXTENSION_RESPONSE);
		if (r == 0)
			r = keystore_describe(c->agent->ks,
			    (uint64_t)compat_boottime_ms(), &c->u.out, fwd_tag,
			    c->agent);
		if (r == 0)
			r = describe_lazy(c->agent, &c->u.out);
		if (r == 0)
			r = agentproto_finish(&c->u.out, 0);
		return r;
	}
	/* The record, for `sshenv log`: not for another host to read. */
	if (wire_str_is(name, namelen, "use-log@sshenv")) {
		uint64_t since;
		uint32_t max;

		if (conn_forwarded(c) || c->nbinds > 0) {
			log_info("conn %lu: use log refused to a bound "
				 "connection",
			    c->id);
			return ERR_DENIED;
		}
		if ((r = wire_get_u64(&rest, &since)) != 0 ||
		    (r = wire_get_u32(&rest, &max)) != 0 ||
		    (r = wire_end(&rest)) != 0)
			return r;
		wire_reset(&c->u.out);
		r = agentproto_begin(&c->u.out, AGENT_EXTENSION_RESPONSE);
		if (r == 0)
			r = uselog_encode(c->agent->uses, since, max,
			    &c->u.out);
		if (r == 0)
			r = agentproto_finish(&c->u.out, 0);
		return r;
	}
	/* A new forwarding policy, from the supervisor (a reload) only. */
	if (wire_str_is(name, namelen, "forwarding-policy@sshenv")) {
		if (!c->line)
			return ERR_DENIED;
		return set_policy(c->agent, &rest);
	}
	if (wire_str_is(name, namelen, "session-bind@openssh.com")) {
		if ((r = session_bind(c, &rest)) != 0)
			log_info("conn %lu: session-bind refused: %s", c->id,
			    sserr_str(r));
		else
			log_debug("conn %lu: session bound", c->id);
		/* Each upstream is told too: its destination constraints
		 * and policy see the whole path. */
		if (conn_upset(c) != NULL &&
		    keep_body(c, AGENTC_EXTENSION, whole, wholelen) == 0) {
			c->bind_result = r;
			return up_start(c, UP_BIND);
		}
		return r;
	}
	if (wire_str_is(name, namelen, "first-use@sshenv"))
		return add_lazy(c, &rest);
	/* A proxy (another sshenv agent's stable socket, maybe this one's
	 * through ssh -A to this host) asks: served from our keys alone,
	 * so that no request goes round in circles. */
	if (wire_str_is(name, namelen, "proxy@sshenv")) {
		if ((r = wire_end(&rest)) != 0)
			return r;
		c->ups_taken = 1;
		return 0;
	}
	/* The forwarded agents to follow, from the supervisor only. */
	if (wire_str_is(name, namelen, "upstreams@sshenv")) {
		if (!c->line)
			return ERR_DENIED;
		return set_upstreams(c->agent, &rest);
	}
	log_debug("conn %lu: unknown extension", c->id);
	return ERR_UNSUPPORTED;
}

static int
dispatch(struct conn *c, uint8_t type, struct wire *body)
{
	struct agent *a = c->agent;
	const uint8_t *key;
	size_t len;
	int r;

	log_debug("conn %lu: request type %u", c->id, type);
	/* deny: another host may not change what the agent holds either
	 * (add, remove all, lock, unlock); it sees and removes nothing. */
	if (a->fwd == FWD_DENY && conn_forwarded(c) &&
	    (type == AGENTC_ADD_IDENTITY || type == AGENTC_ADD_ID_CONSTRAINED ||
		type == AGENTC_REMOVE_ALL_IDENTITIES || type == AGENTC_LOCK ||
		type == AGENTC_UNLOCK || type == AGENTC_ADD_SMARTCARD_KEY ||
		type == AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED ||
		type == AGENTC_REMOVE_SMARTCARD_KEY)) {
		log_info("conn %lu: request %u from another host denied by "
			 "policy",
		    c->id, type);
		return ERR_DENIED;
	}
	switch (type) {
	case AGENTC_REQUEST_IDENTITIES: return handle_list(c, body);
	case AGENTC_SIGN_REQUEST: return handle_sign(c, body);
	case AGENTC_ADD_IDENTITY: return handle_add(c, body, 0);
	case AGENTC_ADD_ID_CONSTRAINED: return handle_add(c, body, 1);
	case AGENTC_REMOVE_IDENTITY:
		if ((r = agentproto_remove(body, &key, &len)) != 0)
			return r;
		r = keystore_remove_if(a->ks, key, len, visible_here, c);
		/* One listed before its first use goes too (hidden ones
		 * stay: a forwarded request sees none of them). */
		if (lazy_find(a, key, len) != NULL &&
		    visible_here(key, len, NULL, c)) {
			lazy_remove(a, key, len);
			if (r == ERR_NOT_FOUND)
				r = 0;
		}
		revalidate_confirms(a);
		return r;
	case AGENTC_REMOVE_ALL_IDENTITIES:
		if ((r = agentproto_empty(body)) != 0)
			return r;
		r = keystore_remove_all(a->ks);
		if (r == 0)
			lazy_remove_all(a);
		revalidate_confirms(a);
		return r;
	case AGENTC_LOCK:
	case AGENTC_UNLOCK: return handle_lock(c, body, type == AGENTC_LOCK);
	case AGENTC_EXTENSION: return handle_extension(c, body);
	case AGENTC_ADD_SMARTCARD_KEY: return handle_add_smartcard(c, body, 0);
	case AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED:
		return handle_add_smartcard(c, body, 1);
	case AGENTC_REMOVE_SMARTCARD_KEY:
		return handle_remove_smartcard(c, body);
	default: return ERR_UNSUPPORTED;
	}
}

/*
 * Serves the complete requests buffered on c, one at a time, while none
 * is in progress.  A frame that breaks the framing (empty, over the cap)
 * closes the connection; a frame whose body does not parse is answered
 * FAILURE, as ssh-agent does, and the next one is served.
 */
static void
conn_process(struct conn *c)
{
	struct wire body;
	size_t framelen;
	uint8_t type;
	int r;

	if (c->processing)
		return; /* the loop below goes on by itself */
	c->processing = 1;
	while (c->state == REQ_IDLE && !c->u.closing) {
		r = agentproto_frame(&c->u.in, &type, &body, &framelen);
		if (r == ERR_TRUNCATED)
			break;
		if (r != 0) {
			log_error("conn %lu: %s frame, closing", c->id,
			    r == ERR_TOO_LONG ? "oversized" : "empty");
			conn_close(c);
			break;
		}
		/* Listing and removing need no crypto: served at once. */
		if (!c->agent->crypto_ready &&
		    type != AGENTC_REQUEST_IDENTITIES &&
		    type != AGENTC_REMOVE_IDENTITY &&
		    type != AGENTC_REMOVE_ALL_IDENTITIES) {
			c->state = REQ_STARTING;
			break;
		}
		/* A key due while suspended is gone before anyone uses it. */
		if (c->agent->next_expiry != 0 &&
		    (uint64_t)compat_boottime_ms() >= c->agent->next_expiry)
			rearm_expiry(c->agent);
		r = dispatch(c, type, &body);
		/* The request may hold a private key: wipe it now. */
		compat_wipe((uint8_t *)wire_ptr(&c->u.in), framelen);
		wire_consume(&c->u.in, framelen);
		if (r != REQ_PENDING)
			request_end(c, r);
	}
	c->processing = 0;
	if (c->u.closing)
		return;
	if (c->half_closed) {
		/* Nothing more will come: done once all is answered. */
		if (c->state == REQ_IDLE)
			conn_close(c);
		return;
	}
	/* Waiting for another agent, it keeps reading: a client that goes
	 * away then ends the call at once (conn_close interrupts it). */
	if (c->state != REQ_IDLE && c->state != REQ_UPSTREAM)
		uv_read_stop((uv_stream_t *)&c->u.pipe);
	else if (!uv_is_active((uv_handle_t *)&c->u.pipe))
		start_reading(c);
}

static void
start_reading(struct conn *c)
{
	uv_stream_t *s = (uv_stream_t *)&c->u.pipe;

	if (uv_read_start(s, uvconn_alloc, on_read) != 0)
		conn_close(c);
}

/*
 * After an end of input: whether the client is gone altogether, or shut
 * only its sending half and waits for answers.  A unix socket whose peer
 * closed polls as hung up; one that was only shut for writing does not.
 * Where that cannot be told, gone.
 */
static int
peer_gone(struct conn *c)
{
	struct pollfd p = { .events = POLLOUT };
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)&c->u.pipe, &fd) != 0)
		return 1;
	p.fd = fd;
	if (poll(&p, 1, 0) < 0)
		return 1;
	return (p.revents & (POLLHUP | POLLERR)) != 0;
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	(void)buf;
	if (nread == UV_EOF && c->state == REQ_UPSTREAM && !peer_gone(c)) {
		/* Only reading while another agent answers: the answer
		 * and what is buffered behind it still go out. */
		c->half_closed = 1;
		uv_read_stop(s);
		return;
	}
	if (nread < 0) {
		if (nread != UV_EOF)
			log_debug("conn %lu: read: %s", c->id,
			    uv_strerror((int)nread));
		conn_close(c);
		return;
	}
	wire_commit(&c->u.in, (size_t)nread);
	conn_process(c);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct agent *a = server->data;
	struct conn *c;
	int r;

	if (status < 0) {
		log_error("accept: %s", uv_strerror(status));
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_error("accept: out of memory");
		return;
	}
	c->agent = a;
	c->id = ++a->next_id;
	c->askfd = -1;
	wire_init(&c->sig, AGENTPROTO_MAX_FRAME);
	uv_timer_init(&a->loop, &c->delay);
	c->delay.data = c;
	a->nconns++;
	if ((r = uvconn_accept(&c->u, server, &a->conns,
		 AGENTPROTO_MAX_FRAME + 4, conn_release)) != 0) {
		if (r == ERR_DENIED)
			log_error("conn %lu: refused a peer of another uid",
			    c->id);
		conn_close(c);
		return;
	}
	c->u.budget = &a->budget;
	/* Bounded: a client may hold connections, not the agent. */
	if (a->nconns > AGENT_MAX_CONNS) {
		log_error("%d connections: refusing more", AGENT_MAX_CONNS);
		conn_close(c);
		return;
	}
	log_debug("conn %lu: accepted", c->id);
	conn_process(c);
}

static void
on_expiry(uv_timer_t *t)
{
	rearm_expiry(t->data);
}

/*
 * Drops due keys and sets the timer for the next one.  Deadlines are on
 * the boot-time clock, which counts through suspend; libuv's timer does
 * not, so a timer due during a suspend fires late, and every request
 * checks the deadline first (conn_process).
 */
static void
rearm_expiry(struct agent *a)
{
	uint64_t now = (uint64_t)compat_boottime_ms(), next;

	next = keystore_expire(a->ks, now);
	a->next_expiry = next;
	revalidate_confirms(a);
	if (next == 0)
		uv_timer_stop(&a->expiry);
	else
		uv_timer_start(&a->expiry, on_expiry, next - now, 0);
}

static void
on_ask_grace(uv_timer_t *t)
{
	struct agent *a = t->data;
	struct conn *c;

	for (c = a->asking; c != NULL; c = c->ask_next) {
		log_error("conn %lu: askpass ignored SIGTERM: killing it",
		    c->id);
		askpass_kill(c, SIGKILL);
	}
}

static void
agent_stop(struct agent *a)
{
	struct conn *c;

	if (a->stopping)
		return;
	a->stopping = 1;
	log_info("stopping");
	while ((c = (struct conn *)a->conns) != NULL)
		conn_close(c);
	/* An askpass that ignores SIGTERM must not keep us (or a key). */
	if (a->asking != NULL)
		uv_timer_start(&a->ask_grace, on_ask_grace, ASKPASS_GRACE_MS,
		    0);
	else
		uv_close((uv_handle_t *)&a->ask_grace, NULL);
	uv_close((uv_handle_t *)&a->listener, NULL);
	uv_close((uv_handle_t *)&a->expiry, NULL);
	uv_close((uv_handle_t *)&a->idle, NULL);
	uv_close((uv_handle_t *)&a->signform, NULL);
	if (a->parent != 0)
		uv_close((uv_handle_t *)&a->parent_check, NULL);
	uvsig_close(&a->signals);
	signpool_close(a->pool);
	a->pool = NULL;
	/* Keys go now, not when the last signature job drains; sealed
	 * ones too (and with them the holds on the token helpers). */
	keystore_clear(a->ks);
	lazy_remove_all(a);
	tokens_close(a->tokens);
	if (a->sockpath != NULL)
		unlink(a->sockpath);
	if (a->sockdir != NULL)
		rmdir(a->sockdir);
}

/*
 * SIGUSR1 removes every key and the agent goes on, as ssh-agent does
 * since OpenSSH 10.0 (a screen locker can send it); the others stop it.
 */
static const int signos[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };

static void
on_signal(uv_signal_t *s, int signo)
{
	struct agent *a = s->data;

	if (signo != SIGUSR1) {
		agent_stop(a);
		return;
	}
	log_info("SIGUSR1: removing every key");
	keystore_remove_all(a->ks);
	revalidate_confirms(a);
	rearm_expiry(a);
}

/*
 * Seeding libcrypto's generators costs ~2 ms: done on a signing thread
 * while the loop already serves, it is off a cold start's critical path
 * (listing answers at once; a signature queues behind it).  A broken
 * entropy source still stops the agent at start-up.
 */
static void
seed_work(struct signjob *job)
{
	struct agent *a = (struct agent *)(void *)((char *)job -
	    offsetof(struct agent, seed));

	a->seed_result = crypto_seed();
}

static void
seed_done(struct signjob *job)
{
	struct agent *a = (struct agent *)(void *)((char *)job -
	    offsetof(struct agent, seed));
	struct conn *c, *next;
	int locked;

	if (a->seed_result != 0) {
		log_error("no random numbers: %s", sserr_str(a->seed_result));
		agent_stop(a);
		return;
	}
	if (a->stopping)
		return;
	/* Before any key arrives: keys live in it, locked in memory. */
	if (crypto_init(SECURE_HEAP_SIZE, &locked) != 0)
		log_error("no secure heap");
	else if (!locked && a->debug)
		log_error("secure heap not locked in memory (RLIMIT_MEMLOCK)");
	a->crypto_ready = 1;
	for (c = (struct conn *)a->conns; c != NULL; c = next) {
		next = (struct conn *)c->u.next;
		if (c->state == REQ_STARTING) {
			c->state = REQ_IDLE;
			conn_process(c);
		}
	}
}

/* The supervisor's private line: a connection like any other, but its
 * unlock attempts are not paced (try_unlock). */
static void
open_line(struct agent *a, int fd)
{
	struct conn *c;

	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->agent = a;
	c->id = ++a->next_id;
	c->askfd = -1;
	c->line = 1;
	wire_init(&c->sig, AGENTPROTO_MAX_FRAME);
	uv_timer_init(&a->loop, &c->delay);
	c->delay.data = c;
	if (uvconn_open(&c->u, &a->loop, fd, &a->conns,
		AGENTPROTO_MAX_FRAME + 4, conn_release) != 0) {
		log_error("cannot open the supervisor's line");
		conn_close(c);
		return;
	}
	conn_process(c);
}

/* Command mode: the agent lives as long as the command (our parent). */
static void
on_parent_check(uv_timer_t *t)
{
	struct agent *a = t->data;

	if ((long)getppid() != a->parent) {
		log_info("the command has exited: stopping");
		agent_stop(a);
	}
}

/* Runs the loop on an already listening fd until a signal stops it. */
static int
agent_serve(struct agent *a, int fd)
{
	int r;

	if ((r = uv_loop_init(&a->loop)) != 0) {
		log_error("loop: %s", uv_strerror(r));
		return EXIT_ERROR;
	}
	uv_pipe_init(&a->loop, &a->listener, 0);
	a->listener.data = a;
	uv_timer_init(&a->loop, &a->expiry);
	a->expiry.data = a;
	uv_timer_init(&a->loop, &a->idle);
	uv_timer_init(&a->loop, &a->signform);
	a->signform.data = a;
	a->idle.data = a;
	uv_timer_init(&a->loop, &a->ask_grace);
	a->ask_grace.data = a;
	if (a->parent != 0) {
		/* As ssh-agent: a look every 10 s, the first at once. */
		uv_timer_init(&a->loop, &a->parent_check);
		a->parent_check.data = a;
		uv_timer_start(&a->parent_check, on_parent_check, 0, 10000);
	}
	r = uvsig_start(&a->loop, &a->signals, signos, 4, on_signal, a);
	if (r != 0)
		log_error("signals: %s", uv_strerror(r));
	if ((r = signpool_new(&a->loop, (int)sysconf(_SC_NPROCESSORS_ONLN),
		 &a->pool)) != 0) {
		log_error("cannot start signing threads: %s", sserr_str(r));
		close(fd);
		agent_stop(a);
	} else if ((r = uv_pipe_open(&a->listener, fd)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&a->listener, SOMAXCONN,
		 on_connection)) != 0) {
		log_error("listen: %s", uv_strerror(r));
		agent_stop(a);
	} else {
		a->seed.work = seed_work;
		a->seed.done = seed_done;
		signpool_submit(a->pool, &a->seed);
		if (a->line >= 0)
			open_line(a, a->line);
		if (a->line2 >= 0)
			open_line(a, a->line2);
	}
	uv_run(&a->loop, UV_RUN_DEFAULT);
	if ((r = uv_loop_close(&a->loop)) != 0) {
		log_error("loop did not close cleanly: %s", uv_strerror(r));
		return EXIT_ERROR;
	}
	return r == 0 && a->stopping ? EXIT_OK : EXIT_ERROR;
}

static int
print_snippet(enum shell_kind kind, const char *sock, long pid, int killed)
{
	struct wire out;
	char num[32], msg[64];
	int r;

	wire_init(&out, 64 * 1024);
	snprintf(num, sizeof(num), "%ld", pid);
	if (killed) {
		snprintf(msg, sizeof(msg), "Agent pid %ld killed", pid);
		r = shellenv_unset(&out, kind, "SSH_AUTH_SOCK");
		if (r == 0)
			r = shellenv_unset(&out, kind, "SSH_AGENT_PID");
	} else {
		snprintf(msg, sizeof(msg), "Agent pid %ld", pid);
		/* An inherited socket may have no path we can tell. */
		r = sock == NULL || *sock == '\0' ?
		    0 :
		    shellenv_set(&out, kind, "SSH_AUTH_SOCK", sock);
		if (r == 0)
			r = shellenv_set(&out, kind, "SSH_AGENT_PID", num);
	}
	if (r == 0)
		r = shellenv_echo(&out, kind, msg);
	if (r == 0) {
		fwrite(wire_ptr(&out), 1, wire_avail(&out), stdout);
		fflush(stdout);
	} else {
		fprintf(stderr, "sshenv agent: %s\n", sserr_str(r));
	}
	wire_free(&out);
	return r;
}

static int
kill_agent(enum shell_kind kind)
{
	const char *s = getenv("SSH_AGENT_PID");
	long pid;

	if (s == NULL || *s == '\0') {
		fprintf(stderr,
		    "sshenv agent: SSH_AGENT_PID not set, "
		    "cannot kill agent\n");
		return EXIT_NO_SERVER;
	}
	/* kill() with 0, -1 or a wrapped value reaches a group or all. */
	if (rtpaths_parse_pid(s, &pid) != 0) {
		fprintf(stderr, "sshenv agent: bad SSH_AGENT_PID '%s'\n", s);
		return EXIT_USAGE;
	}
	if (kill((pid_t)pid, SIGTERM) != 0) {
		fprintf(stderr, "sshenv agent: kill %ld: %s\n", pid,
		    strerror(errno));
		return EXIT_NO_SERVER;
	}
	return print_snippet(kind, NULL, pid, 1) == 0 ? EXIT_OK : EXIT_ERROR;
}

static void
agent_usage(void)
{
	fprintf(stderr,
	    "usage: sshenv agent [-cDdks] [-a socket] [-F allow|confirm|deny] "
	    "[-I time] [-O option] [-P allowed] [-t life] [-U socket] "
	    "[-W time] "
	    "[command [arg ...]]\n");
}

/* A private directory and socket path, as ssh-agent makes without -a. */
static int
default_socket(struct agent *a)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096], path[4200];
	int n;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	n = snprintf(dir, sizeof(dir), "%s/sshenv-XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return ERR_PATH_TOO_LONG;
	if (mkdtemp(dir) == NULL)
		return ERR_SYSTEM;
	snprintf(path, sizeof(path), "%s/agent.%ld", dir, (long)getppid());
	if ((a->sockdir = strdup(dir)) == NULL ||
	    (a->sockpath = strdup(path)) == NULL)
		return ERR_ALLOC;
	return 0;
}

static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* What the command line asked for. */
struct agent_opts {
	enum shell_kind kind;
	int foreground;
	int debug;
	int do_kill;
	int fd;			  /* -S: a listening socket handed over */
	int line;		  /* -C: the supervisor's private line, or -1 */
	int line2;		  /* a second -C, or -1 */
	const char *sock;	  /* -a */
	uint32_t lifetime;	  /* -t */
	uint32_t confirm_timeout; /* -W */
	uint32_t idle_timeout;	  /* -I */
	char *ups[UPSTREAM_MAX];  /* -U: agents to serve beside ours */
	int discover;		  /* -O discover-forwarded */
	int nups;
	int to_syslog;	       /* -L syslog: even with -D */
	int fwd;	       /* -F: the forwarding policy */
	char **command;	       /* to run with the agent, or NULL */
	const char *providers; /* -P */
	int remote_providers;  /* -O allow-remote-pkcs11 */
	int websafe_off;       /* -O no-restrict-websafe */
};

/* ARGS_OK to go on, or the exit code: EXIT_OK after --help, EXIT_USAGE
 * (with the message printed). */
#define ARGS_OK (-1)
static int
parse_args(int argc, char **argv, struct agent_opts *o)
{
	char *end;
	long n;
	int opt;

	memset(o, 0, sizeof(*o));
	o->kind = shellenv_guess(getenv("SHELL"));
	o->fd = -1;
	o->line = o->line2 = -1;
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("usage: sshenv agent [-cDdks] [-a socket] "
		       "[-F allow|confirm|deny] [-I time] [-O option] "
		       "[-P allowed] [-t life] [-U socket] [-W time] "
		       "[command [arg ...]]\n");
		return EXIT_OK;
	}
	optind = 1;
	o->confirm_timeout = CONFIRM_TIMEOUT_S;
	while (
	    (opt = getopt(argc, argv, "+a:C:cDdF:I:kL:O:P:S:st:U:W:")) != -1) {
		switch (opt) {
		case 'a': o->sock = optarg; break;
		case 'F':
			/* What requests from other hosts may do. */
			for (n = 0; fwd_names[n] != NULL; n++)
				if (strcmp(optarg, fwd_names[n]) == 0)
					break;
			if (fwd_names[n] == NULL) {
				fprintf(stderr,
				    "sshenv agent: -F takes allow, confirm "
				    "or deny, not '%s'\n",
				    optarg);
				return EXIT_USAGE;
			}
			o->fwd = (int)n;
			break;
		case 'c': o->kind = SHELL_CSH; break;
		case 's': o->kind = SHELL_SH; break;
		case 'D': o->foreground = 1; break;
		case 'd': o->debug = o->foreground = 1; break;
		case 'k': o->do_kill = 1; break;
		case 'P':
			/* The providers' allowlist, as ssh-agent's. */
			o->providers = optarg;
			break;
		case 'O':
			if (strcmp(optarg, "allow-remote-pkcs11") == 0) {
				o->remote_providers = 1;
			} else if (strcmp(optarg, "no-restrict-websafe") == 0) {
				o->websafe_off = 1;
			} else if (strcmp(optarg, "discover-forwarded") == 0) {
				o->discover = 1;
			} else {
				fprintf(stderr,
				    "sshenv agent: unknown -O option '%s'\n",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'S':
		case 'C':
			/* A descriptor the supervisor hands over. */
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || n < 3 || n > INT_MAX)
				goto usage;
			if (opt == 'S')
				o->fd = (int)n;
			else if (o->line < 0)
				o->line = (int)n;
			else if (o->line2 < 0)
				o->line2 = (int)n;
			else
				goto usage;
			break;
		case 'I':
			/* Keys forgotten after so long with no signature. */
			if (duration_parse(optarg, &o->idle_timeout) != 0) {
				fprintf(stderr,
				    "sshenv agent: invalid time '%s' for -I\n",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'U':
			/* Another agent whose keys this one serves too. */
			if (o->nups >= UPSTREAM_MAX || optarg[0] != '/')
				goto usage;
			o->ups[o->nups++] = optarg;
			break;
		case 'L':
			/* Where the log goes: syslog, or stderr (with -D). */
			if (strcmp(optarg, "syslog") == 0)
				o->to_syslog = 1;
			else if (strcmp(optarg, "stderr") == 0)
				o->to_syslog = 0;
			else
				goto usage;
			break;
		case 'W':
			/* How long a confirmation may wait; 0: for ever. */
			if (duration_parse(optarg, &o->confirm_timeout) != 0) {
				fprintf(stderr,
				    "sshenv agent: invalid time '%s' for -W\n",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 't':
			if (duration_parse(optarg, &o->lifetime) != 0 ||
			    o->lifetime == 0) {
				fprintf(stderr,
				    "sshenv agent: invalid "
				    "lifetime '%s'\n",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		default: goto usage;
		}
	}
	if (optind == argc)
		return ARGS_OK;
	/* As ssh-agent: a command to run with the agent, which lives as
	 * long as it does; not with the modes that print or kill. */
	if (!o->foreground && !o->do_kill && o->fd < 0 && o->line < 0) {
		o->command = argv + optind;
		return ARGS_OK;
	}
usage:
	agent_usage();
	return EXIT_USAGE;
}

/*
 * The listening socket: handed over (-S, or systemd's), or bound at -a
 * or at a fresh private path.  *shown gets the path to print ("" if it
 * cannot be told).  0, or EXIT_ERROR with the message printed.
 */
static int
open_listener(struct agent *a, const struct agent_opts *o, int *fdp,
    char *shown, size_t shownlen)
{
	int fd = o->fd, r;

	*fdp = -1;
	if (fd < 0) {
		fd = rtpaths_inherited_fd("agent", 0);
		rtpaths_forget_inherited();
	}
	if (fd >= 0) {
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (rtpaths_sock_name(fd, shown, shownlen) != 0)
			shown[0] = '\0';
		*fdp = fd;
		return 0;
	}
	if (o->sock == NULL) {
		if ((r = default_socket(a)) != 0) {
			fprintf(stderr,
			    "sshenv agent: cannot make socket "
			    "directory: %s\n",
			    sserr_str(r));
			return EXIT_ERROR;
		}
	} else if ((a->sockpath = strdup(o->sock)) == NULL) {
		return EXIT_ERROR;
	}
	if ((r = rtpaths_listen(a->sockpath, &fd)) != 0) {
		fprintf(stderr, "sshenv agent: %s: %s%s%s\n", a->sockpath,
		    r == ERR_BUSY ? "an agent already listens there" :
				    sserr_str(r),
		    r == ERR_SYSTEM ? ": " : "",
		    r == ERR_SYSTEM ? strerror(errno) : "");
		return EXIT_ERROR;
	}
	snprintf(shown, shownlen, "%s", a->sockpath);
	*fdp = fd;
	return 0;
}

/*
 * Without -D: the parent prints the snippet naming the child and
 * returns 1; the child, detached, returns 0.  -1 if fork fails.  With a
 * command, the parent runs it instead (never returning unless exec
 * fails) and the child serves while it runs.
 */
static int
daemonize(const struct agent_opts *o, const char *shown, struct agent *a)
{
	char pidstr[24];
	pid_t pid, parent = getpid();

	fflush(stdout);
	if ((pid = fork()) < 0) {
		perror("sshenv agent: fork");
		return -1;
	}
	if (pid > 0 && o->command != NULL) {
		snprintf(pidstr, sizeof(pidstr), "%ld", (long)pid);
		if (shown[0] != '\0')
			setenv("SSH_AUTH_SOCK", shown, 1);
		setenv("SSH_AGENT_PID", pidstr, 1);
		execvp(o->command[0], o->command);
		fprintf(stderr, "sshenv agent: %s: %s\n", o->command[0],
		    strerror(errno));
		kill(pid, SIGTERM);
		return -1;
	}
	if (pid > 0) {
		print_snippet(o->kind, shown, (long)pid, 0);
		return 1;
	}
	if (o->command != NULL) {
		a->parent = (long)parent;
		/* At once where the system tells (the first look, at
		 * start, catches a command that was quicker); else the
		 * 10 s look. */
		compat_parent_death_signal(SIGTERM);
	}
	setsid();
	if (chdir("/") != 0)
		_exit(EXIT_ERROR);
	compat_stdio_to_null(1);
	return 0;
}

/*
 * Before any secret exists, and in the process that will hold them: no
 * core, no ptrace.  (The locked secure heap comes once the generators are
 * seeded, seed_done: memory locks are not inherited across fork, so it is
 * made in this process too.)
 */
static void
harden(void)
{
	if (compat_harden_process() != 0)
		log_error("cannot disable core dumps: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
}

/* All but the sockets handed to us (-S fd, systemd's from fd 3). */
static void
close_inherited(int handed, int line, int line2)
{
	int keep[67], n = rtpaths_inherited_count(), i;

	for (i = 0; i < n; i++)
		keep[i] = 3 + i;
	keep[n++] = handed;
	keep[n++] = line;
	keep[n++] = line2;
	compat_close_inherited(keep, n);
}

/*
 * This program's own file, for ssh-add to run as its askpass shim
 * (agent_askpass_shim): the file /proc says we run, else argv[0] when
 * it is a full path; NULL if neither (askpass is then run directly).
 */
static char *
own_binary(const char *argv0)
{
	char buf[PATHS_MAX];
	ssize_t n = -1;

#ifndef SSHENV_PORTABLE
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
#endif
	if (n > 0 && buf[0] == '/') {
		buf[n] = '\0';
		if (access(buf, X_OK) == 0)
			return strdup(buf);
	}
	if (argv0 != NULL && argv0[0] == '/' && access(argv0, X_OK) == 0)
		return strdup(argv0);
	return NULL;
}

int
agent_askpass_shim(int argc, char **argv)
{
	const char *real = getenv("SSHENV_ASKPASS");
	char *args[3];

	if (real == NULL || *real == '\0' || argc != 2)
		return 1;
	/* ssh-add asks again after a wrong passphrase: that is a no. */
	if (strncmp(argv[1], "Bad passphrase", 14) == 0)
		return 1;
	unsetenv("SSHENV_ASKPASS");
	unsetenv("SSHENV_ASKPASS_SHIM");
	args[0] = (char *)real;
	args[1] = argv[1];
	args[2] = NULL;
	/* Found as ssh-add finds it (execlp): a bare name on PATH. */
	execvp(real, args);
	return 1;
}

int
agent_main(int argc, char **argv)
{
	struct agent a;
	struct agent_opts o;
	char shown[PATHS_MAX];
	int fd = -1, rc;

	if ((rc = parse_args(argc, argv, &o)) != ARGS_OK)
		return rc;
	if (o.do_kill)
		return kill_agent(o.kind);
	/*
	 * Calls to a token's helper block a libuv pool thread each (one
	 * may wait for a touch or a PIN, and others for the token's lock
	 * meanwhile): more than the supervisor's one, which we would
	 * inherit.  Made on first use.
	 */
	setenv("UV_THREADPOOL_SIZE", "16", 1);
	/* Non-dumpable before anyone can know we run: the socket comes
	 * next, and the parent of `sshenv agent` waits for it. */
	harden();
	close_inherited(o.fd, o.line, o.line2);
	memset(&a, 0, sizeof(a));
	a.budget.max = AGENT_BUFFER_BUDGET;
	a.lifetime = o.lifetime;
	a.fwd = (enum fwd_policy)o.fwd;
	a.confirm_timeout = o.confirm_timeout;
	a.idle_timeout = o.idle_timeout;
	/* -U: in the order given, as configured ones (nupfwd 0). */
	for (rc = 0; rc < o.nups; rc++)
		if ((a.upaths[a.nupaths] = strdup(o.ups[rc])) != NULL)
			a.nupaths++;
	a.discover = o.discover;
	a.line = o.line;
	a.line2 = o.line2;
	a.debug = o.debug;
	a.remote_providers = o.remote_providers;
	a.websafe_off = o.websafe_off;
	if (o.providers != NULL && (a.providers = strdup(o.providers)) == NULL)
		return EXIT_ERROR;
	a.self = own_binary(argv[0]);
	if ((rc = open_listener(&a, &o, &fd, shown, sizeof(shown))) != 0)
		goto out;
	rc = EXIT_ERROR;
	if (!o.foreground) {
		switch (daemonize(&o, shown, &a)) {
		case -1: goto out;
		case 1:
			/* The child owns the socket and its directory now. */
			free(a.sockpath);
			free(a.sockdir);
			free(a.self);
			close(fd);
			return EXIT_OK;
		}
	} else if (o.fd < 0 && a.sockpath != NULL) {
		/* Like ssh-agent -D: say where we listen, then serve. */
		print_snippet(o.kind, a.sockpath, (long)getpid(), 0);
	}
	log_init("sshenv-agent", o.foreground && !o.to_syslog,
	    o.debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (keystore_new(&a.ks) != 0 || uselog_new(&a.uses) != 0)
		goto out;
	/* The list fits one answer: type byte and count aside. */
	keystore_bound(a.ks, KEYSTORE_MAX_KEYS, SECURE_HEAP_SIZE / 2,
	    AGENTPROTO_MAX_FRAME - 5);
	rc = agent_serve(&a, fd);
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	keystore_free(a.ks);
	uselog_free(a.uses);
	keypol_free(a.keypol);
	while (a.nupaths > 0)
		free(a.upaths[--a.nupaths]);
	silence_free(&a);
	free(a.found);
	free(a.sockpath);
	free(a.sockdir);
	free(a.self);
	free(a.providers);
	return rc;
}
