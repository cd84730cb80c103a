/*
 * The supervisor: one per user and host, a libuv loop.
 *
 * What it does with the agent is one table, `table` below: the agent's
 * state as the supervisor sees it, times the events that move it, each
 * cell naming the one action taken and the state that follows.  Nothing
 * else changes sv->state.  Entering a state has its own fixed work
 * (enter()), so that, say, every way into RUNNING writes the pid file and
 * the environment file and serves the clients that wait.
 *
 * The agent's listening socket is ours and stays open across agent
 * restarts, so a client that connects while no agent runs waits in the
 * backlog: there is no "starting" state to wait out.
 *
 * The logout policy "lock" is a second, smaller machine (enum lock_state):
 * it only runs while the agent is up, and any agent restart resets it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "agentclient.h"
#include "cli.h"
#include "compat.h"
#include "config.h"
#include "keyname.h"
#include "ctlproto.h"
#include "envfile.h"
#include "log.h"
#include "logind.h"
#include "rtpaths.h"
#include "session.h"
#include "sserr.h"
#include "supervisor.h"
#include "uvconn.h"
#include "uvsig.h"
#include "version.h"
#include "wire.h"

#define RESTART_GAP_MS 1000 /* at least this long between agent starts */
#define KILL_GRACE_MS 5000  /* SIGTERM, then SIGKILL after this long */
#define AGENT_CALL_MS 2000
#define ADOPT_POLL_MS 1000 /* an adopted agent serving: is it alive? */
#define EXIT_POLL_MS 20	   /* an adopted agent told to stop: gone yet? */
#define STARTUP_GRACE_MS 5000
#define LOCK_WAIT_MS 10000
#define CTL_IDLE_MS 10000 /* a control client must ask within this */
#define CTL_MAX_CONNS 256 /* control connections at once */

enum sv_state {
	ST_DOWN,       /* no agent: before the first, or idle (managed) */
	ST_RUNNING,    /* our child serves */
	ST_ADOPTED,    /* an earlier supervisor's agent serves; we poll it */
	ST_BACKOFF,    /* the agent died; the next starts after the gap */
	ST_STOPPING,   /* told to exit because all sessions ended */
	ST_RESTARTING, /* stopping, but wanted again: start once it exits */
	ST_EXITING,    /* we stop: the agent goes first, then the loop */
	ST_DONE,       /* every handle closed or closing */
	NSTATES
};

enum sv_event {
	EV_WANTED, /* a login or `env`, or a client at the idle socket */
	EV_EXITED, /* the agent is gone (exit status, or the poll) */
	EV_TIMER,  /* the restart gap or the kill grace is over */
	EV_IDLE,   /* all sessions ended, policy stop, managed: agent only */
	EV_STOP,   /* `sshenv stop`, a signal, or all ended unmanaged */
	NEVENTS
};

/* As `sshenv status` shows them. */
static const char *const state_names[NSTATES] = { "down", "running", "adopted",
	"backoff", "stopping", "restarting", "exiting", "done" };

enum lock_state { LK_OPEN, LK_LOCKING, LK_LOCKED, LK_UNLOCKING };

struct supervisor;

struct ctlconn {
	struct uvconn u; /* first: handles' data is the ctlconn */
	uv_timer_t idle; /* a client that says nothing is let go */
	uv_write_t wreq;
	struct supervisor *sv;
	struct ctl_request rq;
	int waiting;   /* for the agent to serve */
	int wants_ups; /* brought a forwarded agent: wait till it is followed */
	int replied;   /* one answer per connection, then close */
	/* A login the supervisor does not watch, and is told why. */
	enum { WATCHED, UNWATCHED_FULL, UNWATCHED_UNKNOWN } unwatched;
};

/* A blocking agent call run on the thread pool. */
struct job {
	uv_work_t work;
	struct supervisor *sv;
	struct ctlconn *conn; /* to answer afterwards, or NULL */
	int op;
	int result;
	uint32_t count;
	uint8_t pass[32];
	char sock[PATHS_MAX];
	int fd;		    /* our own line to the agent (a dup), or -1 */
	unsigned line_gen;  /* which agent's line it is */
	struct wire policy; /* JOB_POLICY: what to tell the agent */
	struct wire ups;    /* and the forwarded agents to follow */
};

/* JOB_POLICY goes on the second line: never beside a lock call. */
enum { JOB_COUNT, JOB_LOCK, JOB_UNLOCK, JOB_POLICY };

/* Forwarded agents followed at most (the newest win). */
#define SV_MAX_UPSTREAMS 32

struct upstream {
	uint32_t sid;
	uint64_t seq;
	char path[CTLPROTO_SOCK_MAX];
};

/*
 * The large buffers come last, after every scalar: the supervisor lives
 * in fresh pages (supervisor_main), and a page none of whose bytes is
 * written stays out of its private memory.  A scalar among the buffers
 * would touch its page.
 */
struct supervisor {
	uv_loop_t loop;
	uv_pipe_t ctl;
	struct uvsig signals;
	uv_timer_t linger;
	uv_timer_t timer; /* restart gap, kill grace */
	uv_timer_t poll;  /* an adopted agent's liveness */
	uv_process_t agent_proc;
	uv_poll_t wanted; /* managed and idle: a client at agent_fd */
	struct session_set *sessions;
	struct uvconn *conns; /* each the head of a ctlconn */
	const char *config_file;
	enum sv_state state;
	enum lock_state lock;
	long agent_pid;		/* 0 in DOWN, BACKOFF and DONE */
	uint64_t agent_started; /* loop time of the last start */
	int lock_fd;
	int ready_fd;
	int agent_fd;	  /* the agent's listening socket, ours to pass */
	int agent_line;	  /* our end of a private line to our agent, or -1 */
	int policy_line;  /* the second one, for reloads' calls, or -1 */
	int policy_busy;  /* a JOB_POLICY runs on it */
	int policy_dirty; /* the agent is to be told the settings again */
	int nups;	  /* in ups */
	uint64_t upseq;
	int nconns;	   /* control connections open */
	unsigned line_gen; /* one more for each agent started */
	/*
	 * Facts fixed at start.  managed: a service manager runs us (socket
	 * activation or Type=notify), so after the last session only the
	 * agent goes.  sockets_ours: we bound the sockets and unlink them at
	 * exit; handed-over ones belong to the service manager.
	 */
	int managed;
	int to_syslog; /* we log to syslog: so does our agent (-L) */
	int sockets_ours;
	int lock_by_event; /* locked for logind: kept till the next init */
	int logind_on;	   /* logind_start'ed */
	uint8_t lock_pass[32];
	struct logind logind; /* suspend and screen lock */
	char agent_lost[128]; /* when and why an agent died, for status */
	char env_error[256];  /* the last environment file failure */
	char host[256];
	struct rtpaths paths;
	char exe[PATHS_MAX]; /* the sshenv-agent helper */
	struct config cfg;
	/* The agents sshd forwarded to watched logins, for the agent to
	 * follow: newest first by seq, dropped when their login ends. */
	struct upstream ups[SV_MAX_UPSTREAMS];
	/* A bad line at start, or the last reload refused; for status. */
	char config_warning[PATHS_MAX + 512];
};

static void dispatch(struct supervisor *sv, enum sv_event ev);
static void drop_line(struct supervisor *sv);
static void drop_policy_line(struct supervisor *sv);
static int peer_session(struct ctlconn *c);
static void serve_waiting(struct supervisor *sv);
static int upstream_order(const struct supervisor *sv,
    const char *paths[CTLPROTO_MAX_UPSTREAMS], uint32_t *sids);
static int job_start(struct supervisor *sv, int op, struct ctlconn *c);

/* ---- control connections ---- */

static void
conn_release(struct uvconn *u)
{
	struct ctlconn *c = (struct ctlconn *)u;

	c->sv->nconns--;
	free(u);
}

/* The one way a control connection closes: its pipe and its timer. */
static void
ctl_close(struct ctlconn *c)
{
	if (c->u.closing)
		return;
	uvconn_ref(&c->u);
	uv_close((uv_handle_t *)&c->idle, uvconn_on_closed);
	uvconn_close(&c->u);
}

static void
on_idle(uv_timer_t *t)
{
	struct ctlconn *c = t->data;

	log_info("control: a client said nothing for %d s", CTL_IDLE_MS / 1000);
	ctl_close(c);
}

static void
on_reply_written(uv_write_t *req, int status)
{
	struct ctlconn *c = req->data;

	(void)status;
	/* One request per connection: the client has its answer. */
	ctl_close(c);
	uvconn_unref(&c->u);
}

/* The one place a reply is sent; the connection closes after it. */
static void
reply(struct ctlconn *c, const struct ctl_reply *rp)
{
	uv_buf_t buf;

	if (c->u.closing || c->replied)
		return;
	c->replied = 1;
	c->waiting = 0;
	uv_read_stop((uv_stream_t *)&c->u.pipe);
	wire_reset(&c->u.out);
	if (ctlproto_put_reply(&c->u.out, rp) != 0) {
		ctl_close(c);
		return;
	}
	buf = uv_buf_init((char *)wire_ptr(&c->u.out),
	    (unsigned int)wire_avail(&c->u.out));
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->u.pipe, &buf, 1,
		on_reply_written) != 0) {
		ctl_close(c);
		return;
	}
	uvconn_ref(&c->u);
}

static void
reply_error(struct ctlconn *c, int code, const char *msg)
{
	struct ctl_reply rp;

	memset(&rp, 0, sizeof(rp));
	rp.type = CTL_R_ERROR;
	rp.code = code;
	snprintf(rp.message, sizeof(rp.message), "%s", msg);
	reply(c, &rp);
}

/* rtpaths_init has checked that the socket path fits sun_path. */
static void
set_sock(struct ctl_reply *rp, const struct supervisor *sv)
{
	size_t n = strlen(sv->paths.agent_sock);

	if (n >= sizeof(rp->sock))
		n = 0;
	memcpy(rp->sock, sv->paths.agent_sock, n);
	rp->sock[n] = '\0';
}

static void
reply_ok(struct ctlconn *c)
{
	struct ctl_reply rp;

	memset(&rp, 0, sizeof(rp));
	rp.type = CTL_R_OK;
	reply(c, &rp);
}

static void
reply_env(struct ctlconn *c)
{
	struct supervisor *sv = c->sv;
	struct ctl_reply rp;

	memset(&rp, 0, sizeof(rp));
	rp.type = CTL_R_ENV;
	set_sock(&rp, sv);
	rp.agent_pid = (uint32_t)sv->agent_pid;
	memcpy(rp.warning, sv->env_error, sizeof(rp.warning));
	/* Its forwarded agent is followed only with a line to tell ours. */
	rp.followed = c->wants_ups && sv->policy_line >= 0;
	if (c->unwatched == UNWATCHED_FULL && rp.warning[0] == '\0')
		snprintf(rp.warning, sizeof(rp.warning),
		    "%d sessions are watched, the most: this login is not, "
		    "and the agent may stop before it ends",
		    SESSION_MAX);
	else if (c->unwatched == UNWATCHED_UNKNOWN && rp.warning[0] == '\0')
		snprintf(rp.warning, sizeof(rp.warning),
		    "cannot tell your login session (a client in another "
		    "pid namespace?): this login is not watched; the agent "
		    "stays until 'sshenv stop' or the last watched login "
		    "ends");
	reply(c, &rp);
}

static int
serving(const struct supervisor *sv)
{
	return sv->state == ST_RUNNING || sv->state == ST_ADOPTED;
}

static void
reply_status(struct ctlconn *c, int32_t keys)
{
	struct supervisor *sv = c->sv;
	struct ctl_reply rp;

	memset(&rp, 0, sizeof(rp));
	rp.type = CTL_R_STATUS;
	set_sock(&rp, sv);
	rp.agent_pid = serving(sv) ? (uint32_t)sv->agent_pid : 0;
	rp.supervisor_pid = (uint32_t)getpid();
	rp.keys = keys;
	rp.locked = sv->lock == LK_LOCKED || sv->lock == LK_UNLOCKING;
	rp.systemd = (uint8_t)sv->managed;
	snprintf(rp.policy, sizeof(rp.policy), "%s",
	    config_policy_name(sv->cfg.policy));
	snprintf(rp.agent_state, sizeof(rp.agent_state), "%s",
	    state_names[sv->state]);
	rp.lingering = uv_is_active((uv_handle_t *)&sv->linger) ? 1 : 0;
	memcpy(rp.agent_lost, sv->agent_lost, sizeof(rp.agent_lost));
	snprintf(rp.config_error, sizeof(rp.config_error), "%.*s",
	    (int)sizeof(rp.config_error) - 1, sv->config_warning);
	snprintf(rp.logind, sizeof(rp.logind), "%s", logind_state(&sv->logind));
	{
		const char *paths[CTLPROTO_MAX_UPSTREAMS];
		uint32_t sids[CTLPROTO_MAX_UPSTREAMS], i;

		rp.nups = (uint32_t)upstream_order(sv, paths, sids);
		for (i = 0; i < rp.nups; i++) {
			rp.ups[i].sid = sids[i];
			snprintf(rp.ups[i].path, sizeof(rp.ups[i].path), "%s",
			    paths[i]);
		}
	}
	rp.nsessions = (uint32_t)session_list(sv->sessions, rp.sessions,
	    CTLPROTO_MAX_SESSIONS);
	reply(c, &rp);
}

/* A client that wants the agent gets it once it serves, unlocked. */
static void
serve_one(struct ctlconn *c)
{
	struct supervisor *sv = c->sv;

	/* A login that brought a forwarded agent is answered once our agent
	 * follows it: its first ssh-add must see those keys. */
	c->waiting = !serving(sv) || sv->lock == LK_LOCKING ||
	    sv->lock == LK_UNLOCKING ||
	    (c->wants_ups && (sv->policy_busy || sv->policy_dirty));
	if (!c->waiting)
		reply_env(c);
}

static void
serve_waiting(struct supervisor *sv)
{
	struct ctlconn *c, *next;

	for (c = (struct ctlconn *)sv->conns; c != NULL; c = next) {
		next = (struct ctlconn *)c->u.next;
		if (c->waiting)
			serve_one(c);
	}
}

static void
refuse_all(struct supervisor *sv)
{
	struct ctlconn *c, *next;

	for (c = (struct ctlconn *)sv->conns; c != NULL; c = next) {
		next = (struct ctlconn *)c->u.next;
		if (!c->replied)
			reply_error(c, ERR_BUSY, "supervisor is stopping");
	}
}

/* ---- the lock policy ---- */

/*
 * A login while the agent is locked by us (or being locked) gets it
 * unlocked; the login waits meanwhile.
 */
static void
lock_wanted_open(struct supervisor *sv)
{
	if (sv->lock == LK_LOCKED && serving(sv) &&
	    job_start(sv, JOB_UNLOCK, NULL) == 0)
		sv->lock = LK_UNLOCKING;
}

static void
lock_now(struct supervisor *sv)
{
	if (sv->lock != LK_OPEN || !serving(sv))
		return;
	if (compat_random(sv->lock_pass, sizeof(sv->lock_pass)) != 0) {
		log_error("cannot lock the agent: no random passphrase: %s",
		    strerror(errno));
		return;
	}
	if (job_start(sv, JOB_LOCK, NULL) != 0) {
		log_error("cannot lock the agent");
		return;
	}
	sv->lock = LK_LOCKING;
}

static void
lock_done(struct supervisor *sv, int op, int result)
{
	if (op == JOB_LOCK) {
		sv->lock = result == 0 ? LK_LOCKED : LK_OPEN;
		if (result == 0)
			log_info("agent locked: %s",
			    sv->lock_by_event ? "suspend or screen lock" :
						"no session left");
		else
			log_error("cannot lock the agent: %s",
			    sserr_str(result));
		/* Someone logged in while it locked (for a screen lock or
		 * a suspend the sessions are there: the next init opens). */
		if (session_count(sv->sessions) > 0 && !sv->lock_by_event)
			lock_wanted_open(sv);
	} else {
		sv->lock = result == 0 ? LK_OPEN : LK_LOCKED;
		if (result == 0)
			log_info("agent unlocked for a new session");
		else /* Keep the passphrase: the next login tries again. */
			log_error("cannot unlock the agent: %s",
			    sserr_str(result));
	}
	if (sv->lock == LK_OPEN) {
		compat_wipe(sv->lock_pass, sizeof(sv->lock_pass));
		sv->lock_by_event = 0;
	}
	serve_waiting(sv);
}

/* ---- agent calls on the thread pool ---- */

static int job_start(struct supervisor *sv, int op, struct ctlconn *c);

/*
 * Tells the running agent the forwarding use the settings now say, once
 * at a time on the policy line; a reload meanwhile is sent after.
 */
/*
 * What the agent is told: [forwarding] use, then each [key NAME] with a
 * forwarding of its own, by the blob of NAME.pub (a key whose .pub
 * cannot be read is told nothing, and said so).
 */
static int
policy_body(struct supervisor *sv, struct wire *w)
{
	const struct config_key *k;
	char path[PATHS_MAX], pub[PATHS_MAX + 8];
	struct wire blob;
	int i, r;

	if ((r = wire_put_cstring(w, config_fwd_use_name(sv->cfg.fwd_use))) !=
	    0)
		return r;
	wire_init(&blob, 64 * 1024);
	for (i = 0; i < sv->cfg.nkeyopts; i++) {
		k = &sv->cfg.keyopts[i];
		if (k->forwarding < 0)
			continue;
		wire_reset(&blob);
		if (keyname_path(k->name, path, sizeof(path)) != 0 ||
		    snprintf(pub, sizeof(pub), "%s.pub", path) >=
			(int)sizeof(pub) ||
		    keyname_read_pub(pub, &blob) != 0) {
			log_error("[key %s]: cannot read its .pub file: its "
				  "forwarding setting waits for it",
			    k->name);
			continue;
		}
		if ((r = wire_put_string(w, wire_ptr(&blob),
			 wire_avail(&blob))) != 0 ||
		    (r = wire_put_cstring(w,
			 config_fwd_use_name(k->forwarding))) != 0)
			break;
	}
	wire_free(&blob);
	return r;
}

/*
 * The agents the stable socket serves besides ours, in order: the
 * logins' forwarded agents, newest first, then those [agent] upstream
 * names (sid 0).  Up to CTLPROTO_MAX_UPSTREAMS; how many.
 */
static int
upstream_order(const struct supervisor *sv,
    const char *paths[CTLPROTO_MAX_UPSTREAMS], uint32_t *sids)
{
	static char conf[sizeof(sv->cfg.upstream)];
	static char expanded[CTLPROTO_MAX_UPSTREAMS][CTLPROTO_SOCK_MAX];
	const char *home = getenv("HOME");
	int m = 0;
	uint64_t below = UINT64_MAX, best;
	char *tok, *save = NULL;
	int i, k, n = 0;

	while (n < sv->nups) {
		k = -1;
		best = 0;
		for (i = 0; i < sv->nups; i++)
			if (sv->ups[i].seq < below && sv->ups[i].seq >= best) {
				best = sv->ups[i].seq;
				k = i;
			}
		if (k < 0)
			break;
		below = best;
		sids[n] = sv->ups[k].sid;
		paths[n++] = sv->ups[k].path;
	}
	memcpy(conf, sv->cfg.upstream, sizeof(conf));
	for (tok = strtok_r(conf, " \t", &save);
	     tok != NULL && n < CTLPROTO_MAX_UPSTREAMS;
	     tok = strtok_r(NULL, " \t", &save)) {
		/* ~/ as in the rest of the configuration. */
		if (tok[0] == '~' && tok[1] == '/' && home != NULL &&
		    *home == '/' && m < CTLPROTO_MAX_UPSTREAMS &&
		    snprintf(expanded[m], sizeof(expanded[m]), "%s%s", home,
			tok + 1) < (int)sizeof(expanded[m]))
			tok = expanded[m++];
		if (tok[0] != '/')
			continue; /* relative to what? (config says so) */
		sids[n] = 0;
		paths[n++] = tok;
	}
	return n;
}

/*
 * u32 count, then each upstream's path, in order; u32 how many of them
 * (the first) are logins' forwarded agents; a byte, 1 if the agent is
 * also to follow sshd's sockets of logins that never ran `sshenv init`
 * ([agent] forwarded = follow).
 */
static int
upstreams_body(struct supervisor *sv, struct wire *w)
{
	const char *paths[CTLPROTO_MAX_UPSTREAMS];
	uint32_t sids[CTLPROTO_MAX_UPSTREAMS], nfwd = 0;
	int i, n = upstream_order(sv, paths, sids), r;

	if ((r = wire_put_u32(w, (uint32_t)n)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if ((r = wire_put_cstring(w, paths[i])) != 0)
			return r;
		nfwd += sids[i] != 0;
	}
	if ((r = wire_put_u32(w, nfwd)) != 0)
		return r;
	return wire_put_u8(w, sv->cfg.forwarded == FWD_FOLLOW);
}

static void send_policy(struct supervisor *sv);

/* A login's forwarded agent, newest now; the oldest goes when full. */
static void
ups_add(struct supervisor *sv, uint32_t sid, const char *path)
{
	int i, old = 0;

	for (i = 0; i < sv->nups; i++)
		if (sv->ups[i].sid == sid || strcmp(sv->ups[i].path, path) == 0)
			break;
	if (i == sv->nups && sv->nups == SV_MAX_UPSTREAMS) {
		for (i = 1; i < sv->nups; i++)
			if (sv->ups[i].seq < sv->ups[old].seq)
				old = i;
		i = old;
	} else if (i == sv->nups) {
		sv->nups++;
	}
	sv->ups[i].sid = sid;
	sv->ups[i].seq = ++sv->upseq;
	snprintf(sv->ups[i].path, sizeof(sv->ups[i].path), "%s", path);
	log_info("session %u brings a forwarded agent: %s", sid, path);
	sv->policy_dirty = 1;
	send_policy(sv);
}

/* The login ended: its forwarded agent is gone with it. */
static void
ups_drop(struct supervisor *sv, uint32_t sid)
{
	int i, changed = 0;

	for (i = 0; i < sv->nups;) {
		if (sv->ups[i].sid != sid) {
			i++;
			continue;
		}
		sv->ups[i] = sv->ups[--sv->nups];
		changed = 1;
	}
	if (changed) {
		sv->policy_dirty = 1;
		send_policy(sv);
	}
}

/*
 * Tells the running agent the forwarding settings, once at a time on the
 * policy line; a reload meanwhile is sent after.
 */
static void
send_policy(struct supervisor *sv)
{
	if (sv->policy_busy || !sv->policy_dirty || !serving(sv))
		return;
	if (sv->policy_line < 0) {
		log_error("the agent was not started by this supervisor: its "
			  "forwarding settings stay as they were until it "
			  "restarts");
		sv->policy_dirty = 0;
		serve_waiting(sv);
		return;
	}
	sv->policy_dirty = 0;
	if (job_start(sv, JOB_POLICY, NULL) == 0)
		sv->policy_busy = 1;
	else
		serve_waiting(sv);
}

static void
policy_done(struct supervisor *sv, const struct job *j)
{
	sv->policy_busy = 0;
	if (j->result == 0) {
		log_info("agent's forwarding policy now %s",
		    config_fwd_use_name(sv->cfg.fwd_use));
		send_policy(sv); /* reloaded again meanwhile? */
		serve_waiting(sv);
		return;
	}
	log_error("cannot tell the agent its forwarding settings: %s",
	    sserr_str(j->result));
	/* Out of step: no more calls on it.  (A refusal leaves it in step:
	 * the next reload may be taken.) */
	if (j->result != ERR_DENIED)
		drop_policy_line(sv);
	serve_waiting(sv);
}

static void
job_work(uv_work_t *req)
{
	struct job *j = req->data;

	if (j->op == JOB_COUNT)
		j->result = agentclient_count(j->sock, AGENT_CALL_MS,
		    &j->count);
	else if (j->op == JOB_POLICY) {
		j->result = agentclient_line_call(j->fd, AGENT_CALL_MS,
		    "forwarding-policy@sshenv", wire_ptr(&j->policy),
		    wire_avail(&j->policy));
		if (j->result == 0)
			j->result = agentclient_line_call(j->fd, AGENT_CALL_MS,
			    "upstreams@sshenv", wire_ptr(&j->ups),
			    wire_avail(&j->ups));
	} else
		j->result = agentclient_lock(j->sock, j->fd, AGENT_CALL_MS,
		    j->op == JOB_LOCK, j->pass, sizeof(j->pass));
}

static void
job_done(uv_work_t *req, int status)
{
	struct job *j = req->data;
	struct ctlconn *c = j->conn;

	if (status != 0 && j->result == 0)
		j->result = ERR_INTERNAL;
	if (j->op == JOB_POLICY) {
		policy_done(j->sv, j);
		close(j->fd);
		wire_free(&j->policy);
		wire_free(&j->ups);
		free(j);
		return;
	}
	/* A half-done exchange leaves the line out of step: drop it. */
	if (j->fd >= 0 && j->line_gen == j->sv->line_gen && j->result != 0 &&
	    j->result != ERR_DENIED)
		drop_line(j->sv);
	if (j->fd >= 0)
		close(j->fd);
	if (j->op != JOB_COUNT)
		lock_done(j->sv, j->op, j->result);
	else if (c != NULL && j->sv->state == ST_EXITING)
		reply_error(c, ERR_BUSY, "supervisor is stopping");
	else if (c != NULL)
		reply_status(c, j->result == 0 ? (int32_t)j->count : -1);
	if (c != NULL)
		uvconn_unref(&c->u);
	compat_wipe(j->pass, sizeof(j->pass));
	free(j);
}

static int
job_start(struct supervisor *sv, int op, struct ctlconn *c)
{
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return ERR_ALLOC;
	j->sv = sv;
	j->op = op;
	j->conn = c;
	j->work.data = j;
	memcpy(j->pass, sv->lock_pass, sizeof(j->pass));
	snprintf(j->sock, sizeof(j->sock), "%s", sv->paths.agent_sock);
	/* The lock policy's calls go on our own line: no other client's
	 * wrong guesses delay them (the agent paces only the others). */
	j->fd = op == JOB_COUNT || sv->agent_line < 0 ?
	    -1 :
	    fcntl(sv->agent_line, F_DUPFD_CLOEXEC, 3);
	if (op == JOB_POLICY) {
		if (j->fd >= 0)
			close(j->fd);
		wire_init(&j->policy, 128 * 1024);
		wire_init(&j->ups, 16 * 1024);
		j->fd = fcntl(sv->policy_line, F_DUPFD_CLOEXEC, 3);
		if (j->fd < 0 || policy_body(sv, &j->policy) != 0 ||
		    upstreams_body(sv, &j->ups) != 0) {
			if (j->fd >= 0)
				close(j->fd);
			wire_free(&j->policy);
			wire_free(&j->ups);
			free(j);
			return ERR_SYSTEM;
		}
	}
	j->line_gen = sv->line_gen;
	if (uv_queue_work(&sv->loop, &j->work, job_work, job_done) != 0) {
		compat_wipe(j->pass, sizeof(j->pass));
		if (j->fd >= 0)
			close(j->fd);
		free(j);
		return ERR_INTERNAL;
	}
	if (c != NULL)
		uvconn_ref(&c->u);
	return 0;
}

/* ---- sessions ---- */

/*
 * The buffers are sized to the sessions there are, on the heap: on the
 * stack, sized for the most, they were the supervisor's deepest frame
 * (15 KiB below the loop's), and every stack page touched once stays
 * private memory.
 */
static void
save_sessions(struct supervisor *sv)
{
	uint32_t *ids = NULL;
	char *buf = NULL;
	size_t n, i, max, len = 0;
	int r = ERR_ALLOC;

	if ((max = session_count(sv->sessions)) == 0) {
		unlink(sv->paths.sessions);
		return;
	}
	if ((ids = calloc(max, sizeof(*ids))) == NULL ||
	    (buf = malloc(max * 11 + 1)) == NULL)
		goto out;
	n = session_list(sv->sessions, ids, max);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, max * 11 + 1 - len, "%u\n",
		    ids[i]);
	r = rtpaths_write_file(sv->paths.sessions, buf, len);
out:
	if (r != 0)
		log_error("cannot save sessions: %s", sserr_str(r));
	free(ids);
	free(buf);
}

/* Sessions an earlier supervisor was watching, so a restart keeps them. */
static void
load_sessions(struct supervisor *sv)
{
	char line[32];
	FILE *f;
	long sid;
	int fd;

	if (rtpaths_check_file(sv->paths.sessions) != 0)
		return;
	fd = open(sv->paths.sessions, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		sid = strtol(line, NULL, 10);
		if (sid > 1 && sid <= INT_MAX &&
		    session_add(sv->sessions, sid) == 0)
			log_info("session %ld adopted", sid);
	}
	fclose(f);
}

static void
on_linger(uv_timer_t *t)
{
	struct supervisor *sv = t->data;

	if (session_count(sv->sessions) > 0)
		return;
	switch (sv->cfg.policy) {
	case POLICY_STOP:
		log_info("last session ended: stopping%s",
		    sv->managed ? " the agent" : "");
		dispatch(sv, sv->managed ? EV_IDLE : EV_STOP);
		break;
	case POLICY_LOCK: lock_now(sv); break;
	case POLICY_KEEP:
		log_info("last session ended: keeping the agent");
		break;
	}
}

static void
check_last(struct supervisor *sv, uint64_t at_least_ms)
{
	uint64_t ms = (uint64_t)sv->cfg.linger * 1000;

	if (session_count(sv->sessions) == 0 && sv->state != ST_EXITING &&
	    sv->state != ST_DONE)
		uv_timer_start(&sv->linger, on_linger,
		    ms > at_least_ms ? ms : at_least_ms, 0);
}

static void
on_session_gone(void *arg, long sid)
{
	struct supervisor *sv = arg;

	log_info("session %ld ended", sid);
	save_sessions(sv);
	ups_drop(sv, (uint32_t)sid);
	check_last(sv, 0);
}

/* ---- the environment file ---- */

/*
 * The file is ours, from this host, and names a socket that is not ours
 * but answers: another supervisor of this user (another runtime dir)
 * serves there.  Neither replaced nor removed then: scripts that source
 * it would lose an agent that holds keys.
 */
static int
names_another_live_agent(struct supervisor *sv)
{
	struct envfile_data d;

	return envfile_read(sv->paths.envfile, &d) == 0 &&
	    strcmp(d.host, sv->host) == 0 &&
	    strcmp(d.sock, sv->paths.agent_sock) != 0 && rtpaths_alive(d.sock);
}

static void
write_env(struct supervisor *sv)
{
	int r;

	if (!sv->cfg.write_env || sv->paths.envfile[0] == '\0')
		return;
	sv->env_error[0] = '\0';
	if (names_another_live_agent(sv)) {
		snprintf(sv->env_error, sizeof(sv->env_error),
		    "%.180s names another live agent of yours; left "
		    "untouched",
		    sv->paths.envfile);
		log_error("%s", sv->env_error);
		return;
	}
	r = envfile_write(sv->paths.envfile, sv->host, sv->paths.agent_sock,
	    sv->agent_pid);
	if (r == 0)
		return;
	/* Logged, and told to each client until a write succeeds. */
	if (r == ERR_NOT_OURS || r == ERR_SYMLINK || r == ERR_BAD_OWNER)
		snprintf(sv->env_error, sizeof(sv->env_error),
		    "%.180s: %s; left untouched", sv->paths.envfile,
		    r == ERR_NOT_OURS ? "not written by sshenv" : sserr_str(r));
	else
		snprintf(sv->env_error, sizeof(sv->env_error),
		    "%.180s not written: %s%s%s", sv->paths.envfile,
		    sserr_str(r), r == ERR_SYSTEM ? ": " : "",
		    r == ERR_SYSTEM ? strerror(errno) : "");
	log_error("%s", sv->env_error);
}

static void
remove_env(struct supervisor *sv)
{
	int r;

	unlink(sv->paths.agent_pid);
	if (sv->cfg.write_env && sv->paths.envfile[0] != '\0' &&
	    !names_another_live_agent(sv) &&
	    (r = envfile_remove(sv->paths.envfile, sv->host)) != 0 &&
	    r != ERR_NOT_OURS)
		log_error("cannot remove %s: %s", sv->paths.envfile,
		    sserr_str(r));
}

/* ---- the agent process ---- */

static int
agent_is_child(struct supervisor *sv)
{
	return uv_is_active((uv_handle_t *)&sv->agent_proc);
}

static void note_lost(struct supervisor *sv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records, for status and doctor, when and why an agent (and with it
 * every key it held) was lost. */
static void
note_lost(struct supervisor *sv, const char *fmt, ...)
{
	char why[80], when[24];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	if (snprintf(sv->agent_lost, sizeof(sv->agent_lost), "at %s: %s", when,
		why) < 0)
		sv->agent_lost[0] = '\0';
}

static void
on_agent_exit(uv_process_t *proc, int64_t status, int signo)
{
	struct supervisor *sv = proc->data;

	uv_close((uv_handle_t *)proc, NULL);
	if (sv->state == ST_RUNNING) {
		if (signo != 0)
			note_lost(sv, "killed by signal %d", signo);
		else
			note_lost(sv, "exited with status %ld", (long)status);
		log_error("agent %ld %s", sv->agent_pid, sv->agent_lost);
	}
	dispatch(sv, EV_EXITED);
}

/* An adopted agent is not our child: poll for its end. */
static void
on_poll(uv_timer_t *t)
{
	struct supervisor *sv = t->data;

	if (kill((pid_t)sv->agent_pid, 0) != 0 && errno == ESRCH) {
		uv_timer_stop(&sv->poll);
		if (sv->state == ST_ADOPTED) {
			note_lost(sv, "gone (pid %ld)", sv->agent_pid);
			log_error("adopted agent %ld is gone", sv->agent_pid);
		}
		dispatch(sv, EV_EXITED);
	}
}

static void
on_timer(uv_timer_t *t)
{
	dispatch(t->data, EV_TIMER);
}

static void
on_wanted(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	log_info("a client at the agent socket: starting the agent");
	dispatch(p->data, EV_WANTED);
}

static void
drop_line(struct supervisor *sv)
{
	if (sv->agent_line >= 0)
		close(sv->agent_line);
	sv->agent_line = -1;
}

static void
drop_policy_line(struct supervisor *sv)
{
	if (sv->policy_line >= 0)
		close(sv->policy_line);
	sv->policy_line = -1;
}

static int
spawn_agent(struct supervisor *sv)
{
	uv_process_options_t opts;
	uv_stdio_container_t stdio[6];
	char life[16], wait[16], idle[16], *args[32];
	int n = 0, r, line[2], pline[2];

	/*
	 * We hold the listening socket and hand it to each agent we start:
	 * the path never goes away, and clients that connect while an agent
	 * restarts wait in the backlog for the next one.
	 */
	if (sv->agent_fd < 0 &&
	    (r = rtpaths_listen(sv->paths.agent_sock, &sv->agent_fd)) != 0) {
		log_error("cannot listen on %s: %s", sv->paths.agent_sock,
		    sserr_str(r));
		return r;
	}
	/* A private line to the agent: the lock policy's calls go on it. */
	drop_line(sv);
	drop_policy_line(sv);
	/* And a second one for what a reload tells it (JOB_POLICY), so
	 * that a reload never talks over a lock call. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, line) != 0)
		line[0] = line[1] = -1;
	if (line[1] < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pline) != 0)
		pline[0] = pline[1] = -1;
	args[n++] = sv->exe;
	args[n++] = "-D";
	args[n++] = "-S";
	args[n++] = "3";
	if (line[1] >= 0) {
		args[n++] = "-C";
		args[n++] = "4";
	}
	if (pline[1] >= 0) {
		args[n++] = "-C";
		args[n++] = "5";
	}
	args[n++] = "-F";
	args[n++] = (char *)config_fwd_use_name(sv->cfg.fwd_use);
	snprintf(wait, sizeof(wait), "%u", sv->cfg.confirm_timeout);
	args[n++] = "-W";
	args[n++] = wait;
	if (sv->cfg.idle_timeout != 0) {
		snprintf(idle, sizeof(idle), "%u", sv->cfg.idle_timeout);
		args[n++] = "-I";
		args[n++] = idle;
	}
	/* Its record of use goes where ours goes: our stderr may be
	 * /dev/null. */
	if (sv->to_syslog) {
		args[n++] = "-L";
		args[n++] = "syslog";
	}
	if (sv->cfg.lifetime != 0) {
		snprintf(life, sizeof(life), "%u", sv->cfg.lifetime);
		args[n++] = "-t";
		args[n++] = life;
	}
	/* PKCS#11 modules and FIDO providers the agent may load. */
	if (sv->cfg.providers[0] != '\0') {
		args[n++] = "-P";
		args[n++] = sv->cfg.providers;
	}
	if (sv->cfg.remote_providers) {
		args[n++] = "-O";
		args[n++] = "allow-remote-pkcs11";
	}
	/* On the command line, not only in the upstreams the supervisor
	 * sends: an agent with no upstream to hear of needs no message
	 * (which would start the supervisor's thread pool for nothing). */
	if (sv->cfg.forwarded == FWD_FOLLOW) {
		args[n++] = "-O";
		args[n++] = "discover-forwarded";
	}
	args[n] = NULL;
	memset(&opts, 0, sizeof(opts));
	memset(stdio, 0, sizeof(stdio));
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_IGNORE;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = 2;
	stdio[3].flags = UV_INHERIT_FD;
	stdio[3].data.fd = sv->agent_fd;
	stdio[4].flags = UV_INHERIT_FD;
	stdio[4].data.fd = line[1];
	stdio[5].flags = UV_INHERIT_FD;
	stdio[5].data.fd = pline[1];
	opts.file = sv->exe;
	opts.args = args;
	opts.stdio = stdio;
	opts.stdio_count = pline[1] >= 0 ? 6 : line[1] >= 0 ? 5 : 4;
	opts.exit_cb = on_agent_exit;
	sv->agent_proc.data = sv;
	uv_update_time(&sv->loop);
	sv->agent_started = uv_now(&sv->loop);
	r = uv_spawn(&sv->loop, &sv->agent_proc, &opts);
	if (line[1] >= 0)
		close(line[1]);
	if (pline[1] >= 0)
		close(pline[1]);
	if (r != 0) {
		log_error("cannot start the agent: %s", uv_strerror(r));
		uv_close((uv_handle_t *)&sv->agent_proc, NULL);
		if (line[0] >= 0)
			close(line[0]);
		if (pline[0] >= 0)
			close(pline[0]);
		return ERR_SYSTEM;
	}
	sv->agent_line = line[0];
	sv->policy_line = pline[0];
	/* It has -F; the keys' own settings follow once it serves. */
	sv->policy_dirty = 0;
	for (n = 0; n < sv->cfg.nkeyopts; n++)
		if (sv->cfg.keyopts[n].forwarding >= 0)
			sv->policy_dirty = 1;
	if (sv->nups > 0 || sv->cfg.upstream[0] != '\0')
		sv->policy_dirty = 1;
	sv->line_gen++;
	sv->agent_pid = sv->agent_proc.pid;
	return 0;
}

/* An agent left by an earlier supervisor, alive and answering, is kept. */
static int
adopt_agent(struct supervisor *sv)
{
	long pid;

	if (rtpaths_read_pid(sv->paths.agent_pid, &pid) != 0)
		return 0;
	if (kill((pid_t)pid, 0) != 0 || !rtpaths_alive(sv->paths.agent_sock)) {
		unlink(sv->paths.agent_pid);
		return 0;
	}
	sv->agent_pid = pid;
	log_info("adopting agent %ld", pid);
	return 1;
}

static void
signal_agent(struct supervisor *sv, int signo)
{
	if (agent_is_child(sv))
		uv_process_kill(&sv->agent_proc, signo);
	else if (sv->agent_pid > 1 && sv->agent_pid <= INT_MAX)
		kill((pid_t)sv->agent_pid, signo);
}

/*
 * logind says the machine is about to sleep, or one of the user's
 * sessions is to be locked: [session] on_suspend or on_screen_lock says
 * what the agent's keys do.  forget: the agent drops them all (SIGUSR1,
 * as a screen locker sends ssh-agent); lock: sealed as on_last_logout =
 * lock does, until the next `sshenv init`.
 */
static void on_logind(void *arg, enum logind_event ev);

/*
 * Listens to logind only while on_suspend or on_screen_lock asks for it
 * (a login never waits on the system bus for nothing); a reload starts
 * or stops it.
 */
static void
logind_follow(struct supervisor *sv)
{
	int want = sv->cfg.on_suspend != EVENT_NONE ||
	    sv->cfg.on_screen_lock != EVENT_NONE;

	if (want && !sv->logind_on) {
		logind_start(&sv->loop, &sv->logind, on_logind, sv);
		sv->logind_on = 1;
	} else if (!want && sv->logind_on) {
		logind_stop(&sv->logind);
		sv->logind_on = 0;
	}
	if (!want)
		logind_off(&sv->logind,
		    "off (on_suspend and on_screen_lock are none)");
}

static void
on_logind(void *arg, enum logind_event ev)
{
	struct supervisor *sv = arg;
	int what = ev == LOGIND_SLEEP ? sv->cfg.on_suspend :
					sv->cfg.on_screen_lock;
	const char *name = ev == LOGIND_SLEEP ? "suspend" : "screen lock";
	char note[96];

	if (!serving(sv))
		what = EVENT_NONE;
	switch (what) {
	case EVENT_FORGET:
		log_info("%s: the agent forgets its keys", name);
		signal_agent(sv, SIGUSR1);
		snprintf(note, sizeof(note), "%s: keys forgotten", name);
		break;
	case EVENT_LOCK:
		log_info("%s: locking the agent", name);
		if (sv->lock == LK_OPEN) {
			lock_now(sv);
			sv->lock_by_event = sv->lock == LK_LOCKING;
		}
		snprintf(note, sizeof(note), "%s: keys locked", name);
		break;
	default: snprintf(note, sizeof(note), "%s: nothing to do", name); break;
	}
	logind_note(&sv->logind, note);
}

/* ---- the table ---- */

/*
 * Actions: each returns the state that follows, which is the table's
 * `next` unless the action failed.
 */
typedef enum sv_state (*action_fn)(struct supervisor *sv, enum sv_state next);

static enum sv_state
act_none(struct supervisor *sv, enum sv_state next)
{
	(void)sv;
	return next;
}

static enum sv_state
act_start(struct supervisor *sv, enum sv_state next)
{
	return spawn_agent(sv) == 0 ? next : ST_BACKOFF;
}

/* The agent died unexpectedly: again, but at least RESTART_GAP_MS apart. */
static enum sv_state
act_died(struct supervisor *sv, enum sv_state next)
{
	log_error("agent %ld lost with its keys; starting another",
	    sv->agent_pid);
	return next;
}

/* Told to stop: SIGTERM now, SIGKILL if it outlives the grace. */
static enum sv_state
act_terminate(struct supervisor *sv, enum sv_state next)
{
	signal_agent(sv, SIGTERM);
	return next;
}

static enum sv_state
act_kill(struct supervisor *sv, enum sv_state next)
{
	log_error("agent %ld ignored SIGTERM: killing it", sv->agent_pid);
	signal_agent(sv, SIGKILL);
	return next;
}

/* clang-format off: the table is laid out as a table */
static const struct transition {
	action_fn action;
	enum sv_state next;
} table[NSTATES][NEVENTS] = {
#define T(a, n) \
	{ \
		act_##a, ST_##n \
	}
#define SAME(s) \
	{ \
		act_none, ST_##s \
	}
	/*		 WANTED		      EXITED
	 *		 TIMER		      IDLE		   STOP */
	[ST_DOWN] = { T(start, RUNNING), SAME(DOWN), SAME(DOWN), SAME(DOWN),
	    T(none, DONE) },
	[ST_RUNNING] = { SAME(RUNNING), T(died, BACKOFF), SAME(RUNNING),
	    T(terminate, STOPPING), T(terminate, EXITING) },
	[ST_ADOPTED] = { SAME(ADOPTED), T(died, BACKOFF), SAME(ADOPTED),
	    T(terminate, STOPPING), T(terminate, EXITING) },
	[ST_BACKOFF] = { SAME(BACKOFF), SAME(BACKOFF), T(start, RUNNING),
	    T(none, DOWN), T(none, DONE) },
	[ST_STOPPING] = { T(none, RESTARTING), T(none, DOWN), T(kill, STOPPING),
	    SAME(STOPPING), T(none, EXITING) },
	[ST_RESTARTING] = { SAME(RESTARTING), T(none, BACKOFF),
	    T(kill, RESTARTING), T(none, STOPPING), T(none, EXITING) },
	[ST_EXITING] = { SAME(EXITING), T(none, DONE), T(kill, EXITING),
	    SAME(EXITING), SAME(EXITING) },
	[ST_DONE] = { SAME(DONE), SAME(DONE), SAME(DONE), SAME(DONE),
	    SAME(DONE) },
#undef T
#undef SAME
};
/* clang-format on */

static void
cleanup_files(struct supervisor *sv)
{
	remove_env(sv);
	unlink(sv->paths.sessions);
	if (sv->sockets_ours) {
		unlink(sv->paths.agent_sock);
		unlink(sv->paths.ctl_sock);
	}
}

static void
close_all(struct supervisor *sv)
{
	uv_close((uv_handle_t *)&sv->linger, NULL);
	uv_close((uv_handle_t *)&sv->timer, NULL);
	uv_close((uv_handle_t *)&sv->poll, NULL);
	uvsig_close(&sv->signals);
	if (sv->wanted.data != NULL)
		uv_close((uv_handle_t *)&sv->wanted, NULL);
	session_set_close(sv->sessions);
	sv->sessions = NULL;
	if (sv->logind_on)
		logind_stop(&sv->logind);
	sv->logind_on = 0;
}

/* The work of entering a state, whichever way it was entered. */
static void
enter(struct supervisor *sv, enum sv_state from, enum sv_state to)
{
	int was_serving = from == ST_RUNNING || from == ST_ADOPTED;
	uint64_t since;

	if (sv->wanted.data != NULL && to != ST_DOWN)
		uv_poll_stop(&sv->wanted);
	switch (to) {
	case ST_DOWN:
		drop_line(sv);
		drop_policy_line(sv);
		uv_timer_stop(&sv->timer);
		uv_timer_stop(&sv->poll);
		sv->agent_pid = 0;
		sv->lock = LK_OPEN;
		remove_env(sv);
		if (sv->wanted.data != NULL)
			uv_poll_start(&sv->wanted, UV_READABLE, on_wanted);
		break;
	case ST_RUNNING:
	case ST_ADOPTED:
		uv_timer_stop(&sv->timer);
		sv->lock = LK_OPEN;
		/* Before the answers: they carry its failure, if any. */
		write_env(sv);
		if (to == ST_ADOPTED)
			uv_timer_start(&sv->poll, on_poll, ADOPT_POLL_MS,
			    ADOPT_POLL_MS);
		log_info("agent %ld ready at %s", sv->agent_pid,
		    sv->paths.agent_sock);
		send_policy(sv); /* the keys' own forwarding settings */
		serve_waiting(sv);
		if (rtpaths_write_pid(sv->paths.agent_pid, sv->agent_pid) != 0)
			log_error("cannot write %s", sv->paths.agent_pid);
		break;
	case ST_BACKOFF:
		drop_line(sv);
		drop_policy_line(sv);
		/* The exit callback closed the process handle: a new spawn
		 * waits for the next loop turn at least. */
		uv_timer_stop(&sv->poll);
		sv->agent_pid = 0;
		sv->lock = LK_OPEN;
		unlink(sv->paths.agent_pid);
		uv_update_time(&sv->loop);
		since = uv_now(&sv->loop) - sv->agent_started;
		uv_timer_start(&sv->timer, on_timer,
		    since >= RESTART_GAP_MS ? 0 : RESTART_GAP_MS - since, 0);
		break;
	case ST_STOPPING:
	case ST_RESTARTING:
	case ST_EXITING:
		/* The grace runs from the SIGTERM, whatever follows. */
		if (was_serving) {
			uv_timer_start(&sv->timer, on_timer, KILL_GRACE_MS, 0);
			/* Not our child: its end shows only by polling. */
			if (!agent_is_child(sv))
				uv_timer_start(&sv->poll, on_poll, EXIT_POLL_MS,
				    EXIT_POLL_MS);
		}
		if (to != ST_EXITING || from == ST_EXITING)
			break;
		/* No new clients; every one waiting gets an answer now. */
		refuse_all(sv);
		uv_close((uv_handle_t *)&sv->ctl, NULL);
		if (sv->sockets_ours)
			unlink(sv->paths.ctl_sock);
		break;
	case ST_DONE:
		drop_line(sv);
		drop_policy_line(sv);
		if (!uv_is_closing((uv_handle_t *)&sv->ctl))
			uv_close((uv_handle_t *)&sv->ctl, NULL);
		refuse_all(sv);
		cleanup_files(sv);
		close_all(sv);
		break;
	case NSTATES: break;
	}
}

/* The one place the supervisor's state changes. */
static void
dispatch(struct supervisor *sv, enum sv_event ev)
{
	const struct transition *t = &table[sv->state][ev];
	enum sv_state from = sv->state, to;

	to = t->action(sv, t->next);
	if (to == from && t->action == act_none)
		return;
	log_debug("agent: %s -> %s", state_names[from], state_names[to]);
	sv->state = to;
	enter(sv, from, to);
}

/* ---- requests ---- */

static void
handle(struct ctlconn *c)
{
	struct supervisor *sv = c->sv;
	int r;

	if (sv->state == ST_EXITING || sv->state == ST_DONE) {
		reply_error(c, ERR_BUSY, "supervisor is stopping");
		return;
	}
	/*
	 * A session the supervisor cannot tell (its leader outside our pid
	 * namespace, or init's own: a container, a CI job) is never watched:
	 * that login still gets its agent, and its logout has nothing to end.
	 */
	if ((c->rq.type == CTL_INIT || c->rq.type == CTL_LOGOUT) &&
	    peer_session(c) != 0) {
		log_info("a login whose session cannot be told: not watched");
		c->unwatched = UNWATCHED_UNKNOWN;
	}
	switch (c->rq.type) {
	case CTL_INIT:
		if (c->unwatched == UNWATCHED_UNKNOWN)
			r = ERR_DENIED;
		else if ((r = session_add(sv->sessions, c->rq.sid)) == 0)
			log_info("session %u registered", c->rq.sid);
		/* Its forwarded agent is followed while the login lasts
		 * (only a watched one: else nothing would drop it). */
		if ((r == 0 || r == ERR_EXISTS) && c->rq.fwd[0] != '\0') {
			ups_add(sv, c->rq.sid, c->rq.fwd);
			c->wants_ups = 1;
		} else if (r == ERR_TOO_LONG) {
			/* The login gets its agent all the same, and is told. */
			log_error("session %u not watched: %d are, the most",
			    c->rq.sid, SESSION_MAX);
			c->unwatched = UNWATCHED_FULL;
		}
		if (session_count(sv->sessions) > 0 ||
		    c->unwatched == UNWATCHED_UNKNOWN)
			uv_timer_stop(&sv->linger);
		dispatch(sv, EV_WANTED);
		/* A login opens what a suspend or a screen lock locked, even
		 * one still being locked. */
		sv->lock_by_event = 0;
		lock_wanted_open(sv);
		serve_one(c);
		/* After the answer: the login need not wait for the disk. */
		if (r == 0)
			save_sessions(sv);
		break;
	case CTL_ENV:
		dispatch(sv, EV_WANTED);
		serve_one(c);
		break;
	case CTL_LOGOUT:
		if (c->unwatched == WATCHED &&
		    session_remove(sv->sessions, c->rq.sid) == 0) {
			log_info("session %u logged out", c->rq.sid);
			save_sessions(sv);
			ups_drop(sv, c->rq.sid);
			check_last(sv, 0);
		}
		reply_ok(c);
		break;
	case CTL_STATUS:
		/* Asking a stopped agent would start one: no agent, no keys. */
		if (!serving(sv))
			reply_status(c, 0);
		else if (job_start(sv, JOB_COUNT, c) != 0)
			reply_status(c, -1);
		break;
	case CTL_STOP:
		log_info("stop requested");
		reply_ok(c);
		dispatch(sv, EV_STOP);
		break;
	}
}

/*
 * The session is the peer's, as the kernel names the peer: a sid sent
 * from another pid namespace (a container sharing the home and runtime
 * dir) would name some other process here, one that may never end.  The
 * sid the client sent is used only where the system cannot tell.
 */
static int
peer_session(struct ctlconn *c)
{
	uv_os_fd_t fd;
	long pid;
	pid_t sid;
	int r;

	if (uv_fileno((uv_handle_t *)&c->u.pipe, &fd) != 0)
		return ERR_SYSTEM;
	r = compat_peer_pid(fd, &pid);
	if (r == ERR_UNSUPPORTED)
		return c->rq.sid >= 2 ? 0 : ERR_DENIED;
	if (r != 0 || pid < 2 || (sid = getsid((pid_t)pid)) < 2)
		return ERR_DENIED;
	if ((uint32_t)sid != c->rq.sid)
		log_info("session %u as the client says is %ld here", c->rq.sid,
		    (long)sid);
	c->rq.sid = (uint32_t)sid;
	return 0;
}

static void
ctl_process(struct ctlconn *c)
{
	struct wire body;
	size_t framelen;
	uint8_t type;
	int r;

	r = wire_get_frame(&c->u.in, CTLPROTO_MAX_FRAME, &type, &body,
	    &framelen);
	if (r == ERR_TRUNCATED)
		return;
	if (r == 0)
		r = ctlproto_get_request(type, &body, &c->rq);
	if (r != 0) {
		/* One answer, then the connection goes (reply stops reading). */
		log_error("control: bad request: %s", sserr_str(r));
		reply_error(c, r,
		    r == ERR_PROTOCOL ?
			"protocol version mismatch: restart with 'sshenv stop'" :
			sserr_str(r));
		return;
	}
	uv_read_stop((uv_stream_t *)&c->u.pipe);
	uv_timer_stop(&c->idle); /* it has spoken: now it may wait */
	handle(c);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctlconn *c = s->data;

	(void)buf;
	if (nread < 0) {
		ctl_close(c);
		return;
	}
	wire_commit(&c->u.in, (size_t)nread);
	ctl_process(c);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct supervisor *sv = server->data;
	struct ctlconn *c;
	int r;

	if (status < 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->sv = sv;
	sv->nconns++;
	uv_timer_init(&sv->loop, &c->idle);
	c->idle.data = c;
	if (uvconn_accept(&c->u, server, &sv->conns, CTLPROTO_MAX_FRAME + 4,
		conn_release) != 0) {
		ctl_close(c);
		return;
	}
	/* Bounded: a client may hold a connection, not the supervisor. */
	if (sv->nconns > CTL_MAX_CONNS) {
		log_error("control: %d connections: refusing more",
		    CTL_MAX_CONNS);
		ctl_close(c);
		return;
	}
	uv_timer_start(&c->idle, on_idle, CTL_IDLE_MS, 0);
	r = uv_read_start((uv_stream_t *)&c->u.pipe, uvconn_alloc, on_read);
	if (r != 0)
		ctl_close(c);
}

/* ---- life cycle ---- */

/* SIGHUP reloads the configuration; the others stop us. */
static const int signos[] = { SIGTERM, SIGINT, SIGHUP };

static void
on_signal(uv_signal_t *s, int signo)
{
	struct supervisor *sv = s->data;
	struct config nc;
	char err[PATHS_MAX + 256];

	if (signo != SIGHUP) {
		log_info("signal %d: stopping", signo);
		dispatch(sv, EV_STOP);
		return;
	}
	config_defaults(&nc);
	if (config_load(&nc, sv->config_file, err, sizeof(err)) != 0) {
		log_error("reload refused, keeping the old settings: %s", err);
		/* Syslog may not exist: status and doctor say it too. */
		snprintf(sv->config_warning, sizeof(sv->config_warning),
		    "reload refused, the old settings stay: %s", err);
		return;
	}
	sv->config_warning[0] = '\0';
	/* Paths are fixed for the life of the supervisor. */
	memcpy(nc.rundir, sv->cfg.rundir, sizeof(nc.rundir));
	memcpy(nc.envfile, sv->cfg.envfile, sizeof(nc.envfile));
	sv->cfg = nc;
	log_set_level(sv->cfg.log_level);
	log_info("configuration reloaded");
	logind_follow(sv);
	sv->policy_dirty = 1;
	send_policy(sv);
}

/*
 * One supervisor per user and host: the one holding daemon.lock.  If it is
 * held by a supervisor that serves, that one won (ERR_BUSY); if by one
 * that is stopping (its socket is gone), wait for it to finish.
 */
static int
take_lock(struct supervisor *sv)
{
	return rtpaths_lock(sv->paths.daemon_lock, LOCK_WAIT_MS,
	    sv->paths.ctl_sock, &sv->lock_fd);
}

/*
 * Tells the client that started us how it went: "R" when we serve, or
 * "E" and why not, which the client shows to the user.
 */
static void signal_ready(struct supervisor *sv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
signal_ready(struct supervisor *sv, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	ssize_t n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (sv->ready_fd < 0)
		return;
	if (write(sv->ready_fd, msg, (size_t)n) != n)
		log_error("cannot signal readiness");
	close(sv->ready_fd);
	sv->ready_fd = -1;
}

static int
init_handles(struct supervisor *sv)
{
	int r;

	if ((r = uv_loop_init(&sv->loop)) != 0) {
		log_error("loop: %s", uv_strerror(r));
		return ERR_SYSTEM;
	}
	uv_pipe_init(&sv->loop, &sv->ctl, 0);
	sv->ctl.data = sv;
	uv_timer_init(&sv->loop, &sv->linger);
	uv_timer_init(&sv->loop, &sv->timer);
	uv_timer_init(&sv->loop, &sv->poll);
	logind_follow(sv);
	sv->linger.data = sv->timer.data = sv->poll.data = sv;
	if ((r = uvsig_start(&sv->loop, &sv->signals, signos, 3, on_signal,
		 sv)) != 0)
		return ERR_SYSTEM;
	return session_set_new(&sv->loop, on_session_gone, sv, &sv->sessions);
}

/* Sockets handed over by systemd, or our own; returns the control fd. */
static int
open_sockets(struct supervisor *sv, int *ctl_fd)
{
	int fd, r;

	fd = rtpaths_inherited_fd("control", 0);
	sv->agent_fd = rtpaths_inherited_fd("agent", 1);
	rtpaths_forget_inherited();
	sv->sockets_ours = fd < 0;
	if (fd >= 0) {
		/*
		 * The service manager owns these sockets: we never unlink
		 * them, we outlive the last session, and we hand out the
		 * paths they really have.
		 */
		sv->managed = 1;
		rtpaths_sock_name(fd, sv->paths.ctl_sock,
		    sizeof(sv->paths.ctl_sock));
	}
	if (sv->agent_fd >= 0) {
		fcntl(sv->agent_fd, F_SETFD, FD_CLOEXEC);
		rtpaths_sock_name(sv->agent_fd, sv->paths.agent_sock,
		    sizeof(sv->paths.agent_sock));
		if (uv_poll_init(&sv->loop, &sv->wanted, sv->agent_fd) == 0)
			sv->wanted.data = sv;
	}
	if (fd < 0 && (r = rtpaths_listen(sv->paths.ctl_sock, &fd)) != 0)
		return r;
	if (uv_pipe_open(&sv->ctl, fd) != 0 ||
	    uv_listen((uv_stream_t *)&sv->ctl, SOMAXCONN, on_connection) != 0)
		return ERR_SYSTEM;
	*ctl_fd = fd;
	return 0;
}

static int
sv_run(struct supervisor *sv)
{
	int fd = -1, r;

	if ((r = init_handles(sv)) != 0) {
		signal_ready(sv, "Ecannot set up the loop: %s", sserr_str(r));
		return EXIT_ERROR;
	}
	if ((r = open_sockets(sv, &fd)) != 0) {
		log_error("cannot listen on %s: %s", sv->paths.ctl_sock,
		    sserr_str(r));
		signal_ready(sv, "Ecannot listen on %s: %s", sv->paths.ctl_sock,
		    sserr_str(r));
		dispatch(sv, EV_STOP);
	} else {
		/*
		 * The control socket listens: the client that started us
		 * may send its request now, and the loop answers it once
		 * the work below is done (the agent started, its files
		 * written): that work and the client's overlap.
		 */
		signal_ready(sv, "R");
		compat_sd_notify("READY=1");
		if ((r = rtpaths_write_pid(sv->paths.daemon_pid,
			 (long)getpid())) != 0)
			log_error("cannot write %s: %s", sv->paths.daemon_pid,
			    sserr_str(r));
		load_sessions(sv);
		if (adopt_agent(sv)) {
			sv->state = ST_ADOPTED;
			enter(sv, ST_DOWN, ST_ADOPTED);
		} else {
			dispatch(sv, EV_WANTED);
		}
		/*
		 * Nobody yet: the client that started us registers in a
		 * moment, so even with linger 0 give it time before
		 * concluding all have left.
		 */
		check_last(sv, STARTUP_GRACE_MS);
		log_info("supervisor %ld ready", (long)getpid());
	}
	uv_run(&sv->loop, UV_RUN_DEFAULT);
	if ((r = uv_loop_close(&sv->loop)) != 0) {
		log_error("loop did not close cleanly: %s", uv_strerror(r));
		return EXIT_ERROR;
	}
	return sv->state == ST_DONE && fd >= 0 ? EXIT_OK : EXIT_ERROR;
}

/* All but the readiness pipe and the sockets systemd passed us. */
static void
close_inherited(int ready_fd)
{
	int keep[65], n = rtpaths_inherited_count(), i;

	for (i = 0; i < n; i++)
		keep[i] = 3 + i;
	keep[n++] = ready_fd;
	compat_close_inherited(keep, n);
}

static void
usage(void)
{
	fprintf(stderr, "usage: sshenv daemon [-D] [-F config]\n");
}

static int supervise(struct supervisor *sv, int argc, char **argv);

/*
 * The supervisor lives in pages of its own: not on the stack (that copy
 * cost 150 KiB of private memory per user), nor from calloc, which
 * clears the whole block when the heap already has room for it (all 50
 * KiB of it were resident).  Fresh anonymous pages stay out of private
 * memory until written, and most of its buffers never are.
 */
int
supervisor_main(int argc, char **argv)
{
	struct supervisor *sv;
	int rc;

	sv = mmap(NULL, sizeof(*sv), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sv == MAP_FAILED) {
		fprintf(stderr, "sshenv daemon: out of memory\n");
		return EXIT_ERROR;
	}
	rc = supervise(sv, argc, argv);
	compat_wipe(sv->lock_pass, sizeof(sv->lock_pass));
	munmap(sv, sizeof(*sv));
	return rc;
}

static int
supervise(struct supervisor *sv, int argc, char **argv)
{
	char err[PATHS_MAX + 256], *end;
	int opt, foreground = 0, r, rc;
	long n;

	sv->ready_fd = -1;
	sv->lock_fd = -1;
	sv->agent_fd = -1;
	sv->agent_line = -1;
	sv->policy_line = -1;
	optind = 1;
	while ((opt = getopt(argc, argv, "+DF:R:h")) != -1) {
		switch (opt) {
		case 'D': foreground = 1; break;
		case 'F': sv->config_file = optarg; break;
		case 'R':
			/* The readiness pipe from the client that starts us. */
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || n < 3 ||
			    n > INT_MAX) {
				usage();
				return EXIT_USAGE;
			}
			sv->ready_fd = (int)n;
			/* Ours alone: an agent holding it open would keep the
			 * client waiting for its end. */
			if (fcntl(sv->ready_fd, F_SETFD, FD_CLOEXEC) != 0) {
				usage();
				return EXIT_USAGE;
			}
			break;
		default: usage(); return opt == 'h' ? EXIT_OK : EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage();
		return EXIT_USAGE;
	}
	close_inherited(sv->ready_fd);
	config_defaults(&sv->cfg);
	/* As for the client: a bad line costs only its own setting (the
	 * client that started us has told the user); a -F file that cannot
	 * be read at all is an error. */
	r = config_load(&sv->cfg, sv->config_file, err, sizeof(err));
	if (r == ERR_SYSTEM && sv->config_file != NULL) {
		fprintf(stderr, "sshenv daemon: %s\n", err);
		signal_ready(sv, "E%s", err);
		return EXIT_ERROR;
	}
	if (r != 0)
		snprintf(sv->config_warning, sizeof(sv->config_warning),
		    "%s (ignored: the default applies there)", err);
	r = rtpaths_init(&sv->paths, sv->cfg.rundir, sv->cfg.envfile);
	if (r == 0)
		r = rtpaths_ensure_dir(sv->paths.rundir);
	if (r != 0) {
		fprintf(stderr, "sshenv daemon: %s: %s\n", sv->paths.rundir,
		    sserr_str(r));
		signal_ready(sv, "E%s: %s", sv->paths.rundir, sserr_str(r));
		return EXIT_ERROR;
	}
	r = rtpaths_helper("sshenv-agent", sv->exe, sizeof(sv->exe));
	if (r != 0) {
		fprintf(stderr, "sshenv daemon: cannot find sshenv-agent: %s\n",
		    sserr_str(r));
		signal_ready(sv, "Ecannot find sshenv-agent: %s", sserr_str(r));
		return EXIT_ERROR;
	}
	if ((r = take_lock(sv)) != 0) {
		/* Another supervisor won the race: that is success. */
		if (r == ERR_BUSY)
			signal_ready(sv, "R");
		else
			signal_ready(sv, "E%s: %s", sv->paths.daemon_lock,
			    strerror(errno));
		return r == ERR_BUSY ? EXIT_OK : EXIT_ERROR;
	}
	if (gethostname(sv->host, sizeof(sv->host) - 1) != 0)
		snprintf(sv->host, sizeof(sv->host), "unknown");
	sv->managed = foreground && getenv("NOTIFY_SOCKET") != NULL;
	version_export(); /* for the agents we start */
	/*
	 * The thread pool serves only the rare blocking calls to the agent
	 * (status, lock): one thread, not libuv's four (their stacks and
	 * arenas cost each user about 40 KiB).
	 */
	setenv("UV_THREADPOOL_SIZE", "1", 1);
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	if (!foreground) {
		if (chdir("/") != 0)
			return EXIT_ERROR;
		compat_stdio_to_null(1);
	}
	log_init("sshenv-supervisor", foreground, sv->cfg.log_level);
	sv->to_syslog = !foreground;
	if (sv->config_warning[0] != '\0')
		log_error("%s", sv->config_warning);
	rc = sv_run(sv);
	if (sv->agent_fd >= 0)
		close(sv->agent_fd);
	/* Last, so that `sshenv stop` can wait for this file to go. */
	unlink(sv->paths.daemon_pid);
	close(sv->lock_fd);
	return rc;
}
