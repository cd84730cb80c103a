/*
 * The supervisor: one per user and host, a libuv loop.
 *
 * State: the agent is down, starting (spawned, socket not answering yet)
 * or ready; it is our child or an adopted process left by an earlier
 * supervisor.  Clients that want the agent while it starts wait in the
 * loop, and are answered when it is ready.  An agent that dies is started
 * again at the same socket path, at most once a second.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "agentclient.h"
#include "cli.h"
#include "compat.h"
#include "config.h"
#include "crypto.h"
#include "ctlproto.h"
#include "envfile.h"
#include "err.h"
#include "log.h"
#include "paths.h"
#include "session.h"
#include "supervisor.h"
#include "uvconn.h"
#include "wire.h"

#define RESTART_GAP_MS 1000	/* at least this long between agent starts */
#define AGENT_CALL_MS 2000
#define ADOPT_POLL_MS 1000
#define STARTUP_GRACE_MS 5000
#define LOCK_WAIT_MS 10000

/*
 * No "starting" state: the agent's listening socket is ours and is open
 * before the agent runs, so a client that connects early waits in the
 * backlog and is served as soon as the agent accepts.
 */
enum agent_state { AGENT_DOWN, AGENT_READY };

struct supervisor;

struct ctlconn {
	struct uvconn u;	/* first: handles' data is the ctlconn */
	uv_write_t wreq;
	struct supervisor *sv;
	struct ctl_request rq;
	int waiting;		/* for the agent to be ready */
	int replied;		/* one answer per connection, then close */
};

/* A blocking agent call run on the thread pool. */
struct job {
	uv_work_t work;
	struct supervisor *sv;
	struct ctlconn *conn;	/* to answer afterwards, or NULL */
	int op;			/* JOB_COUNT, JOB_LOCK, JOB_UNLOCK */
	int result;
	uint32_t count;
	uint8_t pass[32];
	char sock[PATHS_MAX];
};

enum { JOB_COUNT, JOB_LOCK, JOB_UNLOCK };

struct supervisor {
	uv_loop_t loop;
	uv_pipe_t ctl;
	uv_signal_t sigterm, sigint, sighup;
	uv_timer_t linger;
	uv_timer_t agent_timer;	/* readiness polls, restart delay, adoption */
	uv_process_t agent_proc;
	struct session_set *sessions;
	struct uvconn *conns;	/* each the head of a ctlconn */
	struct config cfg;
	struct paths paths;
	const char *config_file;
	char host[256];
	char exe[PATHS_MAX];
	enum agent_state agent;
	int agent_child;	/* agent_proc is live */
	long agent_pid;
	uint64_t agent_started;
	int lock_fd;
	int ready_fd;
	int agent_fd;		/* the agent's listening socket, ours to pass */
	int idle;		/* systemd: agent stopped until wanted again */
	int inherited;		/* our sockets belong to systemd */
	uv_poll_t agent_poll;	/* while idle: a client at the agent socket */
	int agent_poll_init;
	char env_error[256];	/* the last environment file failure */
	int systemd;
	int stopping;
	int locked_by_us;	/* agent locked by the logout policy */
	int unlocking;
	uint8_t lock_pass[32];
	int jobs;
};

static void agent_start(struct supervisor *sv);
static void agent_kill(struct supervisor *sv);
static void go_idle(struct supervisor *sv);
static void sv_stop(struct supervisor *sv);
static void serve_waiting(struct supervisor *sv);
static void conn_process(struct ctlconn *c);

/* ---- control connections ---- */

static void
conn_release(struct uvconn *u)
{
	free(u);
}

static void
conn_unref(struct ctlconn *c)
{
	uvconn_unref(&c->u);
}

static void
conn_close(struct ctlconn *c)
{
	uvconn_close(&c->u);
}

static void
on_reply_written(uv_write_t *req, int status)
{
	struct ctlconn *c = req->data;

	(void)status;
	/* One request per connection: the client has its answer. */
	conn_close(c);
	conn_unref(c);
}

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
		conn_close(c);
		return;
	}
	buf = uv_buf_init((char *)wire_ptr(&c->u.out),
	    (unsigned int)wire_avail(&c->u.out));
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->u.pipe, &buf, 1,
	    on_reply_written) != 0) {
		conn_close(c);
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

/* paths_init has checked that the socket path fits sun_path. */
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
reply_simple(struct ctlconn *c, uint8_t type)
{
	struct ctl_reply rp;

	memset(&rp, 0, sizeof(rp));
	rp.type = type;
	if (type == CTL_R_ENV) {
		set_sock(&rp, c->sv);
		rp.agent_pid = (uint32_t)c->sv->agent_pid;
		memcpy(rp.warning, c->sv->env_error, sizeof(rp.warning));
	}
	reply(c, &rp);
}

static void
reply_status(struct ctlconn *c, int32_t keys)
{
	struct supervisor *sv = c->sv;
	struct ctl_reply rp;

	memset(&rp, 0, sizeof(rp));
	rp.type = CTL_R_STATUS;
	set_sock(&rp, sv);
	rp.agent_pid = sv->agent == AGENT_READY ? (uint32_t)sv->agent_pid : 0;
	rp.supervisor_pid = (uint32_t)getpid();
	rp.keys = keys;
	rp.locked = (uint8_t)sv->locked_by_us;
	rp.systemd = (uint8_t)sv->systemd;
	snprintf(rp.policy, sizeof(rp.policy), "%s",
	    config_policy_name(sv->cfg.policy));
	rp.nsessions = (uint32_t)session_list(sv->sessions, rp.sessions,
	    CTLPROTO_MAX_SESSIONS);
	reply(c, &rp);
}

/* ---- agent calls on the thread pool ---- */

static void
job_work(uv_work_t *req)
{
	struct job *j = req->data;

	switch (j->op) {
	case JOB_COUNT:
		j->result = agentclient_count(j->sock, AGENT_CALL_MS,
		    &j->count);
		break;
	default:
		j->result = agentclient_lock(j->sock, AGENT_CALL_MS,
		    j->op == JOB_LOCK, j->pass, sizeof(j->pass));
		break;
	}
}

static void
job_done(uv_work_t *req, int status)
{
	struct job *j = req->data;
	struct supervisor *sv = j->sv;
	struct ctlconn *c = j->conn;

	sv->jobs--;
	if (status != 0 && j->result == 0)
		j->result = ERR_INTERNAL;
	switch (j->op) {
	case JOB_COUNT:
		if (c != NULL && sv->stopping)
			reply_error(c, ERR_BUSY, "supervisor is stopping");
		else if (c != NULL)
			reply_status(c, j->result == 0 ? (int32_t)j->count : -1);
		break;
	case JOB_LOCK:
		if (j->result == 0) {
			sv->locked_by_us = 1;
			log_info("agent locked: no session left");
		} else {
			log_error("cannot lock the agent: %s",
			    err_str(j->result));
		}
		break;
	case JOB_UNLOCK:
		sv->unlocking = 0;
		if (j->result == 0) {
			log_info("agent unlocked for a new session");
			sv->locked_by_us = 0;
			crypto_random(sv->lock_pass, sizeof(sv->lock_pass));
		} else {
			/* Keep the passphrase: the next login tries again. */
			log_error("cannot unlock the agent: %s",
			    err_str(j->result));
		}
		serve_waiting(sv);
		break;
	}
	if (c != NULL)
		conn_unref(c);
	explicit_bzero(j->pass, sizeof(j->pass));
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
	if (uv_queue_work(&sv->loop, &j->work, job_work, job_done) != 0) {
		free(j);
		return ERR_INTERNAL;
	}
	if (c != NULL)
		uvconn_ref(&c->u);
	sv->jobs++;
	return 0;
}

/* ---- sessions ---- */

static void
save_sessions(struct supervisor *sv)
{
	uint32_t ids[CTLPROTO_MAX_SESSIONS];
	char tmp[PATHS_MAX + 8];
	size_t n, i;
	FILE *f;
	int fd;

	n = session_list(sv->sessions, ids, CTLPROTO_MAX_SESSIONS);
	if (n == 0) {
		unlink(sv->paths.sessions);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", sv->paths.sessions);
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		log_error("cannot save sessions: %s", strerror(errno));
		return;
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%u\n", ids[i]);
	if (fclose(f) != 0 || rename(tmp, sv->paths.sessions) != 0) {
		log_error("cannot save sessions: %s", strerror(errno));
		unlink(tmp);
	}
}

/* Sessions an earlier supervisor was watching, so a restart keeps them. */
static void
load_sessions(struct supervisor *sv)
{
	char line[32];
	FILE *f;
	long sid;
	int fd;

	if (paths_check_file(sv->paths.sessions) != 0)
		return;
	if ((fd = open(sv->paths.sessions, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
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

	if (session_count(sv->sessions) > 0 || sv->stopping)
		return;
	switch (sv->cfg.policy) {
	case POLICY_STOP:
		if (sv->systemd) {
			go_idle(sv);
			break;
		}
		log_info("last session ended: stopping");
		sv_stop(sv);
		break;
	case POLICY_LOCK:
		if (sv->agent == AGENT_READY && !sv->locked_by_us &&
		    job_start(sv, JOB_LOCK, NULL) != 0)
			log_error("cannot lock the agent");
		break;
	case POLICY_KEEP:
		log_info("last session ended: keeping the agent");
		break;
	}
}

static void
check_last(struct supervisor *sv, uint64_t at_least_ms)
{
	uint64_t ms = (uint64_t)sv->cfg.linger * 1000;

	if (session_count(sv->sessions) == 0 && !sv->stopping)
		uv_timer_start(&sv->linger, on_linger,
		    ms > at_least_ms ? ms : at_least_ms, 0);
}

static void
on_session_gone(void *arg, long sid)
{
	struct supervisor *sv = arg;

	log_info("session %ld ended", sid);
	save_sessions(sv);
	check_last(sv, 0);
}

/* ---- the agent ---- */

static int
write_env(struct supervisor *sv)
{
	int r;

	if (!sv->cfg.write_env || sv->paths.envfile[0] == '\0')
		return 0;
	r = envfile_write(sv->paths.envfile, sv->host, sv->paths.agent_sock,
	    sv->agent_pid);
	sv->env_error[0] = '\0';
	if (r != 0) {
		/* Logged, and told to each client until a write succeeds. */
		if (r == ERR_NOT_OURS || r == ERR_SYMLINK ||
		    r == ERR_BAD_OWNER)
			snprintf(sv->env_error, sizeof(sv->env_error),
			    "%.180s: %s; left untouched", sv->paths.envfile,
			    r == ERR_NOT_OURS ? "not written by sshenv" :
			    err_str(r));
		else
			snprintf(sv->env_error, sizeof(sv->env_error),
			    "%.180s not written: %s%s%s", sv->paths.envfile,
			    err_str(r), r == ERR_SYSTEM ? ": " : "",
			    r == ERR_SYSTEM ? strerror(errno) : "");
		log_error("%s", sv->env_error);
	}
	return r;
}

static void
agent_ready(struct supervisor *sv)
{
	sv->agent = AGENT_READY;
	uv_timer_stop(&sv->agent_timer);
	if (paths_write_pid(sv->paths.agent_pid, sv->agent_pid) != 0)
		log_error("cannot write %s", sv->paths.agent_pid);
	write_env(sv);
	log_info("agent %ld ready at %s", sv->agent_pid, sv->paths.agent_sock);
	serve_waiting(sv);
}

static void
on_agent_timer(uv_timer_t *t)
{
	struct supervisor *sv = t->data;

	if (sv->stopping)
		return;
	switch (sv->agent) {
	case AGENT_DOWN:
		agent_start(sv);
		break;
	case AGENT_READY:
		/* An adopted agent is not our child: poll for its end. */
		if (!sv->agent_child && kill((pid_t)sv->agent_pid, 0) != 0 &&
		    errno == ESRCH) {
			log_error("agent %ld is gone; starting another",
			    sv->agent_pid);
			sv->agent = AGENT_DOWN;
			sv->agent_pid = 0;
			agent_start(sv);
		}
		break;
	}
}

static void
on_agent_closed(uv_handle_t *h)
{
	(void)h;
}

static void
on_agent_exit(uv_process_t *proc, int64_t status, int signo)
{
	struct supervisor *sv = proc->data;
	uint64_t since;

	sv->agent_child = 0;
	uv_close((uv_handle_t *)proc, on_agent_closed);
	if (sv->stopping || sv->idle) {
		sv->agent = AGENT_DOWN;
		sv->agent_pid = 0;
		return;
	}
	log_error("agent %ld exited (status %ld, signal %d); restarting",
	    sv->agent_pid, (long)status, signo);
	sv->agent = AGENT_DOWN;
	sv->agent_pid = 0;
	/* Keys do not survive the agent: the lock we set is gone too. */
	sv->locked_by_us = 0;
	since = uv_now(&sv->loop) - sv->agent_started;
	uv_timer_start(&sv->agent_timer, on_agent_timer,
	    since >= RESTART_GAP_MS ? 0 : RESTART_GAP_MS - since, 0);
}

static void
agent_start(struct supervisor *sv)
{
	uv_process_options_t opts;
	uv_stdio_container_t stdio[4];
	char life[16], *args[10];
	int n = 0, r;

	if (sv->agent != AGENT_DOWN || sv->stopping || sv->idle)
		return;
	/*
	 * We hold the listening socket and hand it to each agent we start:
	 * the path never goes away, and clients that connect while an agent
	 * restarts wait in the backlog for the next one.
	 */
	if (sv->agent_fd < 0 && (r = paths_listen(sv->paths.agent_sock,
	    &sv->agent_fd)) != 0) {
		log_error("cannot listen on %s: %s", sv->paths.agent_sock,
		    err_str(r));
		uv_timer_start(&sv->agent_timer, on_agent_timer,
		    RESTART_GAP_MS, 0);
		return;
	}
	args[n++] = sv->exe;
	args[n++] = "agent";
	args[n++] = "-D";
	args[n++] = "-S";
	args[n++] = "3";
	if (sv->cfg.lifetime != 0) {
		snprintf(life, sizeof(life), "%u", sv->cfg.lifetime);
		args[n++] = "-t";
		args[n++] = life;
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
	opts.file = sv->exe;
	opts.args = args;
	opts.stdio = stdio;
	opts.stdio_count = 4;
	opts.exit_cb = on_agent_exit;
	sv->agent_proc.data = sv;
	uv_update_time(&sv->loop);
	sv->agent_started = uv_now(&sv->loop);
	r = uv_spawn(&sv->loop, &sv->agent_proc, &opts);
	if (r != 0) {
		log_error("cannot start the agent: %s", uv_strerror(r));
		uv_close((uv_handle_t *)&sv->agent_proc, on_agent_closed);
		uv_timer_start(&sv->agent_timer, on_agent_timer,
		    RESTART_GAP_MS, 0);
		return;
	}
	sv->agent_child = 1;
	sv->agent_pid = sv->agent_proc.pid;
	agent_ready(sv);
}

/* An agent left by an earlier supervisor, alive and answering, is kept. */
static int
agent_adopt(struct supervisor *sv)
{
	long pid;

	if (paths_read_pid(sv->paths.agent_pid, &pid) != 0)
		return 0;
	if (kill((pid_t)pid, 0) != 0 || !paths_alive(sv->paths.agent_sock)) {
		unlink(sv->paths.agent_pid);
		return 0;
	}
	sv->agent_pid = pid;
	sv->agent_child = 0;
	log_info("adopting agent %ld", pid);
	agent_ready(sv);
	uv_timer_start(&sv->agent_timer, on_agent_timer, ADOPT_POLL_MS,
	    ADOPT_POLL_MS);
	return 1;
}

static void
agent_kill(struct supervisor *sv)
{
	if (sv->agent_child)
		uv_process_kill(&sv->agent_proc, SIGTERM);
	else if (sv->agent_pid > 1)
		kill((pid_t)sv->agent_pid, SIGTERM);
}

static void
wake_from_idle(struct supervisor *sv)
{
	if (!sv->idle)
		return;
	sv->idle = 0;
	if (sv->agent_poll_init)
		uv_poll_stop(&sv->agent_poll);
	/* A dying agent is restarted by its exit callback instead. */
	if (sv->agent == AGENT_DOWN)
		agent_start(sv);
}

static void
on_agent_wanted(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	log_info("a client at the agent socket: starting the agent");
	wake_from_idle(p->data);
}

/*
 * systemd keeps our sockets, so after the last logout only the agent goes
 * (its keys with it); a client at the agent socket, or a new login, starts
 * a fresh one, as socket activation would.
 */
static void
go_idle(struct supervisor *sv)
{
	log_info("last session ended: stopping the agent");
	sv->idle = 1;
	agent_kill(sv);
	if (sv->cfg.write_env && sv->paths.envfile[0] != '\0')
		envfile_remove(sv->paths.envfile, sv->host);
	unlink(sv->paths.agent_pid);
	if (sv->agent_poll_init)
		uv_poll_start(&sv->agent_poll, UV_READABLE, on_agent_wanted);
}

/* ---- requests ---- */

static void
serve_one(struct ctlconn *c)
{
	struct supervisor *sv = c->sv;

	if (sv->agent != AGENT_READY || sv->unlocking) {
		c->waiting = 1;
		return;
	}
	c->waiting = 0;
	reply_simple(c, CTL_R_ENV);
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
handle(struct ctlconn *c)
{
	struct supervisor *sv = c->sv;
	int r;

	if (sv->stopping) {
		reply_error(c, ERR_BUSY, "supervisor is stopping");
		return;
	}
	switch (c->rq.type) {
	case CTL_INIT:
		r = session_add(sv->sessions, c->rq.sid);
		if (r == 0) {
			log_info("session %u registered", c->rq.sid);
			save_sessions(sv);
		}
		if (session_count(sv->sessions) > 0)
			uv_timer_stop(&sv->linger);
		wake_from_idle(sv);
		if (sv->locked_by_us && !sv->unlocking &&
		    sv->agent == AGENT_READY) {
			if (job_start(sv, JOB_UNLOCK, NULL) == 0)
				sv->unlocking = 1;
		}
		serve_one(c);
		break;
	case CTL_ENV:
		wake_from_idle(sv);
		serve_one(c);
		break;
	case CTL_LOGOUT:
		if (session_remove(sv->sessions, c->rq.sid) == 0) {
			log_info("session %u logged out", c->rq.sid);
			save_sessions(sv);
			check_last(sv, 0);
		}
		reply_simple(c, CTL_R_OK);
		break;
	case CTL_STATUS:
		/* Asking a stopped agent would start one: no agent, no keys. */
		if (sv->agent != AGENT_READY)
			reply_status(c, 0);
		else if (job_start(sv, JOB_COUNT, c) != 0)
			reply_status(c, -1);
		break;
	case CTL_STOP:
		log_info("stop requested");
		reply_simple(c, CTL_R_OK);
		sv_stop(sv);
		break;
	}
}

static void
conn_process(struct ctlconn *c)
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
		log_error("control: bad request: %s", err_str(r));
		reply_error(c, r, r == ERR_PROTOCOL ?
		    "protocol version mismatch: restart with 'sshenv stop'" :
		    err_str(r));
		return;
	}
	uv_read_stop((uv_stream_t *)&c->u.pipe);
	handle(c);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctlconn *c = s->data;

	(void)buf;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	wire_commit(&c->u.in, (size_t)nread);
	conn_process(c);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct supervisor *sv = server->data;
	struct ctlconn *c;

	if (status < 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->sv = sv;
	if (uvconn_accept(&c->u, server, &sv->conns, CTLPROTO_MAX_FRAME + 4,
	    conn_release) != 0) {
		conn_close(c);
		return;
	}
	if (sv->stopping) {
		reply_error(c, ERR_BUSY, "supervisor is stopping");
		return;
	}
	if (uv_read_start((uv_stream_t *)&c->u.pipe, uvconn_alloc, on_read) != 0)
		conn_close(c);
}

/* ---- life cycle ---- */

static void
cleanup_files(struct supervisor *sv)
{
	int r;

	if (sv->cfg.write_env && sv->paths.envfile[0] != '\0' &&
	    (r = envfile_remove(sv->paths.envfile, sv->host)) != 0 &&
	    r != ERR_NOT_OURS)
		log_error("cannot remove %s: %s", sv->paths.envfile,
		    err_str(r));
	unlink(sv->paths.agent_pid);
	unlink(sv->paths.sessions);
	if (!sv->inherited) {
		unlink(sv->paths.agent_sock);
		unlink(sv->paths.ctl_sock);
	}
}

static void
sv_stop(struct supervisor *sv)
{
	struct ctlconn *c, *next;

	if (sv->stopping)
		return;
	sv->stopping = 1;
	agent_kill(sv);
	/* Every client gets an answer now; idle ones are closed. */
	for (c = (struct ctlconn *)sv->conns; c != NULL; c = next) {
		next = (struct ctlconn *)c->u.next;
		if (!c->replied)
			reply_error(c, ERR_BUSY, "supervisor is stopping");
	}
	uv_close((uv_handle_t *)&sv->ctl, NULL);
	uv_close((uv_handle_t *)&sv->linger, NULL);
	uv_close((uv_handle_t *)&sv->agent_timer, NULL);
	uv_close((uv_handle_t *)&sv->sigterm, NULL);
	uv_close((uv_handle_t *)&sv->sigint, NULL);
	uv_close((uv_handle_t *)&sv->sighup, NULL);
	if (sv->agent_poll_init)
		uv_close((uv_handle_t *)&sv->agent_poll, NULL);
	session_set_close(sv->sessions);
	sv->sessions = NULL;
	cleanup_files(sv);
}

static void
on_signal(uv_signal_t *s, int signo)
{
	struct supervisor *sv = s->data;
	struct config nc;
	char err[PATHS_MAX + 256];

	if (signo != SIGHUP) {
		log_info("signal %d: stopping", signo);
		sv_stop(sv);
		return;
	}
	config_defaults(&nc);
	if (config_load(&nc, sv->config_file, err, sizeof(err)) != 0) {
		log_error("reload refused, keeping the old settings: %s", err);
		return;
	}
	/* Paths are fixed for the life of the supervisor. */
	memcpy(nc.rundir, sv->cfg.rundir, sizeof(nc.rundir));
	memcpy(nc.envfile, sv->cfg.envfile, sizeof(nc.envfile));
	sv->cfg = nc;
	log_set_level(sv->cfg.log_level);
	log_info("configuration reloaded");
}

/*
 * One supervisor per user and host: the one holding daemon.lock.  If it is
 * held by a supervisor that serves, that one won (ERR_BUSY); if by one
 * that is stopping (its socket is gone), wait for it to finish.
 */
static int
take_lock(struct supervisor *sv)
{
	int fd, waited = 0;

	if ((fd = open(sv->paths.daemon_lock, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0)
		return ERR_SYSTEM;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (paths_alive(sv->paths.ctl_sock) || waited >= LOCK_WAIT_MS) {
			close(fd);
			return ERR_BUSY;
		}
		compat_sleep_ms(10);
		waited += 10;
	}
	sv->lock_fd = fd;
	return 0;
}

static void
signal_ready(struct supervisor *sv, char c)
{
	if (sv->ready_fd >= 0) {
		if (write(sv->ready_fd, &c, 1) != 1)
			log_error("cannot signal readiness");
		close(sv->ready_fd);
		sv->ready_fd = -1;
	}
}

static void
detach_stdio(void)
{
	int fd;

	if ((fd = open("/dev/null", O_RDWR)) < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static int
sv_run(struct supervisor *sv)
{
	int fd = -1, r;

	uv_loop_init(&sv->loop);
	uv_pipe_init(&sv->loop, &sv->ctl, 0);
	sv->ctl.data = sv;
	uv_timer_init(&sv->loop, &sv->linger);
	uv_timer_init(&sv->loop, &sv->agent_timer);
	sv->linger.data = sv->agent_timer.data = sv;
	uv_signal_init(&sv->loop, &sv->sigterm);
	uv_signal_init(&sv->loop, &sv->sigint);
	uv_signal_init(&sv->loop, &sv->sighup);
	sv->sigterm.data = sv->sigint.data = sv->sighup.data = sv;
	uv_signal_start(&sv->sigterm, on_signal, SIGTERM);
	uv_signal_start(&sv->sigint, on_signal, SIGINT);
	uv_signal_start(&sv->sighup, on_signal, SIGHUP);
	if (session_set_new(&sv->loop, on_session_gone, sv,
	    &sv->sessions) != 0)
		return EXIT_ERROR;

	/* Under systemd socket activation both sockets are handed to us. */
	fd = paths_inherited_fd("control", 0);
	sv->agent_fd = paths_inherited_fd("agent", 1);
	paths_forget_inherited();
	if (fd >= 0) {
		/*
		 * The service manager owns these sockets: we never unlink
		 * them, we outlive the last session, and we hand out the
		 * paths they really have.
		 */
		sv->systemd = sv->inherited = 1;
		paths_sock_name(fd, sv->paths.ctl_sock,
		    sizeof(sv->paths.ctl_sock));
	}
	if (sv->agent_fd >= 0) {
		fcntl(sv->agent_fd, F_SETFD, FD_CLOEXEC);
		paths_sock_name(sv->agent_fd, sv->paths.agent_sock,
		    sizeof(sv->paths.agent_sock));
		if (uv_poll_init(&sv->loop, &sv->agent_poll,
		    sv->agent_fd) == 0) {
			sv->agent_poll.data = sv;
			sv->agent_poll_init = 1;
		}
	}
	if ((fd < 0 && (r = paths_listen(sv->paths.ctl_sock, &fd)) != 0) ||
	    (r = uv_pipe_open(&sv->ctl, fd)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&sv->ctl, SOMAXCONN,
	    on_connection)) != 0) {
		log_error("cannot listen on %s", sv->paths.ctl_sock);
		signal_ready(sv, 'E');
		sv_stop(sv);
		uv_run(&sv->loop, UV_RUN_DEFAULT);
		uv_loop_close(&sv->loop);
		return EXIT_ERROR;
	}
	paths_write_pid(sv->paths.daemon_pid, (long)getpid());
	load_sessions(sv);
	if (!agent_adopt(sv))
		agent_start(sv);
	/*
	 * Nobody yet: the client that started us registers in a moment, so
	 * even with linger 0 give it time before concluding all have left.
	 */
	check_last(sv, STARTUP_GRACE_MS);
	signal_ready(sv, 'R');
	compat_sd_notify("READY=1");
	log_info("supervisor %ld ready", (long)getpid());
	uv_run(&sv->loop, UV_RUN_DEFAULT);
	if ((r = uv_loop_close(&sv->loop)) != 0) {
		log_error("loop did not close cleanly: %s", uv_strerror(r));
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

int
supervisor_main(int argc, char **argv)
{
	struct supervisor sv;
	char err[PATHS_MAX + 256];
	int opt, foreground = 0, r, rc;

	memset(&sv, 0, sizeof(sv));
	sv.ready_fd = -1;
	sv.lock_fd = -1;
	sv.agent_fd = -1;
	optind = 1;
	while ((opt = getopt(argc, argv, "+DF:R:")) != -1) {
		switch (opt) {
		case 'D':
			foreground = 1;
			break;
		case 'F':
			sv.config_file = optarg;
			break;
		case 'R':
			sv.ready_fd = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: sshenv daemon [-D] "
			    "[-F config]\n");
			return EXIT_USAGE;
		}
	}
	config_defaults(&sv.cfg);
	if (config_load(&sv.cfg, sv.config_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "sshenv daemon: %s\n", err);
		signal_ready(&sv, 'E');
		return EXIT_ERROR;
	}
	if ((r = paths_init(&sv.paths, sv.cfg.rundir, sv.cfg.envfile)) != 0 ||
	    (r = paths_ensure_dir(sv.paths.rundir)) != 0) {
		fprintf(stderr, "sshenv daemon: %s: %s\n", sv.paths.rundir,
		    err_str(r));
		signal_ready(&sv, 'E');
		return EXIT_ERROR;
	}
	if (paths_self_exe(paths_progname, sv.exe, sizeof(sv.exe)) != 0) {
		fprintf(stderr, "sshenv daemon: cannot find own binary\n");
		signal_ready(&sv, 'E');
		return EXIT_ERROR;
	}
	if ((r = take_lock(&sv)) != 0) {
		/* Another supervisor won the race: that is success. */
		signal_ready(&sv, r == ERR_BUSY ? 'R' : 'E');
		return r == ERR_BUSY ? EXIT_OK : EXIT_ERROR;
	}
	if (gethostname(sv.host, sizeof(sv.host) - 1) != 0)
		snprintf(sv.host, sizeof(sv.host), "unknown");
	sv.systemd = foreground && getenv("NOTIFY_SOCKET") != NULL;
	crypto_random(sv.lock_pass, sizeof(sv.lock_pass));
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	if (!foreground) {
		if (chdir("/") != 0)
			return EXIT_ERROR;
		detach_stdio();
	}
	log_init("sshenv-daemon", foreground, sv.cfg.log_level);
	rc = sv_run(&sv);
	if (sv.agent_fd >= 0)
		close(sv.agent_fd);
	/* Last, so that `sshenv stop` can wait for this file to go. */
	unlink(sv.paths.daemon_pid);
	explicit_bzero(sv.lock_pass, sizeof(sv.lock_pass));
	close(sv.lock_fd);
	return rc;
}
