/*
 * sshenv-token: the helper the agent starts for each PKCS#11 module and
 * each FIDO provider it uses, so that no module's code ever runs in the
 * agent (a module is a library of anyone's: CVE-2023-38408 was an agent
 * loading one).  It serves tokenproto requests on fd 0, a socketpair to
 * the agent, one at a time, and exits when the agent closes it.
 *
 *   sshenv-token pkcs11 MODULE     keys and signatures of a PKCS#11 module
 *   sshenv-token sk PROVIDER       signatures of FIDO keys ("internal":
 *                                  libfido2)
 *
 * For FIDO keys it asks the user itself, through SSH_ASKPASS as ssh-agent
 * does: a notice to touch the key, and the PIN when the key wants one.
 * Links libcrypto (and libfido2), never libuv.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "compat.h"
#include "crypto.h"
#include "pkcs11.h"
#include "skprov.h"
#include "sserr.h"
#include "tokenproto.h"
#include "version.h"
#include "wire.h"

#define SECURE_HEAP (64 * 1024)
#define MAX_PIN 256
/* A PIN left unasked this long is none (within the agent's 120 s). */
#define PIN_WAIT_MS 100000

/* The askpass running now (its process group), for SIGTERM to end. */
static volatile pid_t asking;

/* Told to stop (the agent's token_stop, or its end): askpass goes too,
 * not left on a screen for a request nobody waits for. */
static void
on_term(int signo)
{
	pid_t p = asking;

	(void)signo;
	if (p > 0)
		kill(-p, SIGTERM);
	_exit(0);
}

enum mode { MODE_PKCS11, MODE_SK };

struct helper {
	enum mode mode;
	const char *path;
	struct pkcs11 *p11;
	struct skprov *sk;
	int opened; /* tried: p11 or sk, or the error below */
	int open_error;
	char open_msg[256];
};

static int
fail(int fd, int code, const char *msg)
{
	struct wire w;
	int r;

	wire_init(&w, 1024);
	if ((r = wire_put_u32(&w, (uint32_t)-code)) == 0)
		r = wire_put_cstring(&w, msg);
	if (r == 0)
		r = tokenproto_send(fd, TOKEN_FAIL, wire_ptr(&w),
		    wire_avail(&w));
	wire_free(&w);
	return r;
}

/* The module or provider, opened at its first use (a failure is kept:
 * the agent stops a helper whose module would not load). */
static int
open_once(struct helper *h)
{
	if (!h->opened) {
		h->opened = 1;
		h->open_error = h->mode == MODE_PKCS11 ?
		    pkcs11_open(h->path, &h->p11, h->open_msg,
			sizeof(h->open_msg)) :
		    skprov_open(h->path, &h->sk, h->open_msg,
			sizeof(h->open_msg));
	}
	return h->open_error;
}

/* askpass's environment: ours, with our own prompt kind. */
static char **
askpass_env(const char *kind)
{
	extern char **environ;
	static char buf[64];
	char **env;
	size_t i, n = 0;

	for (i = 0; environ[i] != NULL; i++)
		;
	if ((env = calloc(i + 2, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], "SSH_ASKPASS_PROMPT=", 19) != 0)
			env[n++] = environ[i];
	snprintf(buf, sizeof(buf), "SSH_ASKPASS_PROMPT=%s", kind);
	env[n] = buf;
	return env;
}

/* As ssh-agent: askpass only with a display, or when forced. */
static const char *
askpass_program(void)
{
	const char *ap = getenv("SSH_ASKPASS");
	const char *req = getenv("SSH_ASKPASS_REQUIRE");

	if (ap == NULL || *ap == '\0' || (req != NULL && !strcmp(req, "never")))
		return NULL;
	if ((req != NULL && strcmp(req, "force") == 0) ||
	    getenv("DISPLAY") != NULL || getenv("WAYLAND_DISPLAY") != NULL)
		return ap;
	return NULL;
}

/*
 * Starts askpass with prompt, kind "none" (a notice, killed when done)
 * or "" (a question: its answer read into buf, then it is waited for).
 * The pid, or -1.
 */
static pid_t
askpass_start(const char *prompt, const char *kind, int *outfd)
{
	const char *ap = askpass_program();
	char *args[3], **env;
	int p[2] = { -1, -1 };
	pid_t pid;

	*outfd = -1;
	if (ap == NULL || (env = askpass_env(kind)) == NULL)
		return -1;
	if (pipe2(p, O_CLOEXEC) != 0) {
		free(env);
		return -1;
	}
	args[0] = (char *)ap;
	args[1] = (char *)prompt;
	args[2] = NULL;
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_RDWR);

		/* Its own group, so that whatever it starts goes with it;
		 * nothing of ours but the pipe it answers on; and it ends
		 * if we are killed. */
		setpgid(0, 0);
#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
		dup2(null, 0);
		dup2(p[1], 1);
		execve(ap, args, env);
		execvpe(ap, args, env);
		_exit(127);
	}
	free(env);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	asking = pid;
	*outfd = p[0];
	return pid;
}

static void
askpass_end(pid_t pid, int fd)
{
	if (pid <= 0)
		return;
	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	asking = 0;
	if (fd >= 0)
		close(fd);
}

/* The PIN, asked through askpass into pin (secure heap); 0 or ERR_PIN. */
static int
ask_pin(const char *desc, char *pin, size_t size)
{
	char prompt[512];
	struct pollfd pfd;
	uint64_t deadline, now;
	size_t n = 0;
	ssize_t got;
	int fd, status = 0;
	pid_t pid;

	snprintf(prompt, sizeof(prompt), "Enter PIN for %s: ", desc);
	if ((pid = askpass_start(prompt, "", &fd)) < 0)
		return ERR_PIN;
	deadline = (uint64_t)compat_boottime_ms() + PIN_WAIT_MS;
	while (n < size - 1) {
		now = (uint64_t)compat_boottime_ms();
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (now >= deadline ||
		    poll(&pfd, 1, (int)(deadline - now)) == 0) {
			/* No answer in time: the question goes. */
			kill(-pid, SIGTERM);
			kill(pid, SIGTERM);
			status = -1;
			break;
		}
		got = read(fd, pin + n, size - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	while (
	    waitpid(pid, status < 0 ? NULL : &status, 0) < 0 && errno == EINTR)
		;
	asking = 0;
	pin[n] = '\0';
	pin[strcspn(pin, "\r\n")] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || pin[0] == '\0') {
		compat_wipe(pin, size);
		return ERR_PIN;
	}
	return 0;
}

static int
do_load(struct helper *h, int fd, struct wire *body)
{
	const uint8_t *pin;
	size_t pinlen;
	struct wire out;
	char msg[256] = "";
	int r;

	if (h->mode != MODE_PKCS11)
		return fail(fd, ERR_UNSUPPORTED, "not a PKCS#11 helper");
	if (wire_get_string(body, &pin, &pinlen) != 0 || wire_end(body) != 0)
		return fail(fd, ERR_PROTOCOL, "bad load request");
	if ((r = open_once(h)) != 0)
		return fail(fd, r, h->open_msg);
	wire_init(&out, TOKENPROTO_MAX_FRAME - 1);
	r = pkcs11_load(h->p11, pin, pinlen, &out, msg, sizeof(msg));
	compat_wipe((uint8_t *)pin, pinlen);
	r = r != 0 ?
	    fail(fd, r, msg[0] != '\0' ? msg : sserr_str(r)) :
	    tokenproto_send(fd, TOKEN_KEYS, wire_ptr(&out), wire_avail(&out));
	wire_free(&out);
	return r;
}

static int
sign_sk(struct helper *h, const struct skprov_req *req, const char *desc,
    struct wire *out, char *msg, size_t msgsize)
{
	char prompt[512], *pin = NULL;
	pid_t notice = -1;
	int fd = -1, r;

	if (req->flags & SKPROV_USER_PRESENCE) {
		snprintf(prompt, sizeof(prompt),
		    "Confirm user presence for key %s", desc);
		notice = askpass_start(prompt, "none", &fd);
	}
	r = skprov_sign(h->sk, req, NULL, out, msg, msgsize);
	askpass_end(notice, fd);
	if (r != ERR_PIN)
		return r;
	/* As ssh-agent: the PIN is asked once, and the key tried again. */
	if ((pin = crypto_secure_alloc(MAX_PIN)) == NULL)
		return ERR_ALLOC;
	if ((r = ask_pin(desc, pin, MAX_PIN)) == 0) {
		wire_reset(out);
		r = skprov_sign(h->sk, req, pin, out, msg, msgsize);
	} else {
		snprintf(msg, msgsize, "the key wants a PIN: none given");
	}
	crypto_secure_free(pin, MAX_PIN);
	return r;
}

static int
do_sign(struct helper *h, int fd, struct wire *body)
{
	const uint8_t *key, *p;
	size_t keylen, n;
	struct skprov_req req;
	struct wire out;
	uint32_t flags;
	char msg[256] = "", desc[256];
	int r;

	memset(&req, 0, sizeof(req));
	if (wire_get_string(body, &key, &keylen) != 0 ||
	    wire_get_string(body, &req.data, &req.datalen) != 0 ||
	    wire_get_u32(body, &flags) != 0)
		return fail(fd, ERR_PROTOCOL, "bad sign request");
	if (h->mode == MODE_SK &&
	    (wire_get_string(body, &req.app, &req.applen) != 0 ||
		wire_get_u8(body, &req.flags) != 0 ||
		wire_get_string(body, &req.handle, &req.handlelen) != 0 ||
		wire_get_string(body, &p, &n) != 0 || n >= sizeof(desc)))
		return fail(fd, ERR_PROTOCOL, "bad sign request");
	if (wire_end(body) != 0)
		return fail(fd, ERR_PROTOCOL, "bad sign request");
	if ((r = open_once(h)) != 0)
		return fail(fd, r, h->open_msg);
	wire_init(&out, TOKENPROTO_MAX_FRAME - 1);
	if (h->mode == MODE_PKCS11) {
		r = pkcs11_sign(h->p11, key, keylen, req.data, req.datalen,
		    flags, &out, msg, sizeof(msg));
	} else {
		struct wire kw;
		const uint8_t *name;
		size_t namelen;

		memcpy(desc, p, n);
		desc[n] = '\0';
		wire_view(&kw, key, keylen);
		r = wire_get_string(&kw, &name, &namelen);
		if (r == 0 &&
		    wire_str_is(name, namelen,
			"sk-ecdsa-sha2-nistp256@openssh.com")) {
			req.alg = "sk-ecdsa-sha2-nistp256@openssh.com";
			req.ecdsa = 1;
		} else if (r == 0 &&
		    wire_str_is(name, namelen, "sk-ssh-ed25519@openssh.com")) {
			req.alg = "sk-ssh-ed25519@openssh.com";
		} else {
			r = ERR_KEY_TYPE;
		}
		if (r == 0)
			r = sign_sk(h, &req, desc, &out, msg, sizeof(msg));
	}
	r = r != 0 ?
	    fail(fd, r, msg[0] != '\0' ? msg : sserr_str(r)) :
	    tokenproto_send(fd, TOKEN_SIG, wire_ptr(&out), wire_avail(&out));
	wire_free(&out);
	return r;
}

static int
token_main(int argc, char **argv)
{
	struct helper h;
	struct wire in, body;
	uint8_t type;
	int locked, r;

	memset(&h, 0, sizeof(h));
	if (argc != 3 ||
	    (strcmp(argv[1], "pkcs11") != 0 && strcmp(argv[1], "sk") != 0)) {
		fprintf(stderr,
		    "usage: sshenv-token pkcs11|sk PATH "
		    "(started by the agent)\n");
		return 2;
	}
	h.mode = strcmp(argv[1], "pkcs11") == 0 ? MODE_PKCS11 : MODE_SK;
	h.path = argv[2];
	/* A PIN and key handles pass through here: no core, no ptrace. */
	compat_harden_process();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	if (crypto_init(SECURE_HEAP, &locked) != 0)
		return 3;
	wire_init(&in, TOKENPROTO_MAX_FRAME + 4);
	for (;;) {
		r = tokenproto_recv(0, -1, &in, &type, &body);
		if (r != 0)
			break; /* the agent closed: done */
		switch (type) {
		case TOKEN_LOAD: r = do_load(&h, 0, &body); break;
		case TOKEN_SIGN: r = do_sign(&h, 0, &body); break;
		default: r = fail(0, ERR_UNSUPPORTED, "unknown request"); break;
		}
		compat_wipe((uint8_t *)wire_ptr(&in), wire_avail(&in));
		if (r != 0)
			break;
	}
	wire_free(&in);
	pkcs11_close(h.p11);
	skprov_close(h.sk);
	return 0;
}

int
main(int argc, char **argv)
{
	return version_helper_main("sshenv-token", argc, argv, token_main);
}
