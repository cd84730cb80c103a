/*
 * tokenproto: what the agent and its token helpers (sshenv-token, one
 * process per PKCS#11 module or FIDO provider) say to each other over a
 * socketpair.  A frame is a u32 length, a type byte and a body, as in
 * the agent protocol; each request gets one answer, TOKEN_FAIL or its
 * own.  The calls block (the agent makes them off its loop).
 */
#ifndef SSHENV_TOKENPROTO_H
#define SSHENV_TOKENPROTO_H

#include <stddef.h>
#include <stdint.h>

struct wire;

/* The largest frame either side sends or takes: an agent request (256
 * KiB at most) and what goes with it. */
#define TOKENPROTO_MAX_FRAME (320 * 1024)

enum {
	/* string pin -> TOKEN_KEYS: u32 n, then n x (string blob, string
	 * label).  PKCS#11 only: logs in and lists the token's keys. */
	TOKEN_LOAD = 1,
	TOKEN_KEYS = 2,
	/*
	 * string key (a plain public key blob), string data, u32 flags;
	 * for a FIDO key then string application, byte flags, string key
	 * handle and string a description for a prompt ("ED25519-SK
	 * SHA256:...").  -> TOKEN_SIG, whose body is the signature blob
	 * (string algorithm, string signature, and a FIDO key's flags and
	 * counter).
	 */
	TOKEN_SIGN = 3,
	TOKEN_SIG = 4,
	/* u32 an sserr code (negated), string a message for the log. */
	TOKEN_FAIL = 5
};

/* Writes the whole frame of type with body (may be NULL).  0 or an
 * error: ERR_SYSTEM, ERR_TOO_LONG. */
int tokenproto_send(int fd, uint8_t type, const uint8_t *body, size_t len);

/*
 * Reads one frame into in (reset first; made with wire_init(in,
 * TOKENPROTO_MAX_FRAME + 4)), within timeout_ms (-1: no bound): *type
 * and a view of its body.  ERR_TIMEOUT, ERR_NO_SERVER (the
 * other side closed), ERR_TOO_LONG, ERR_SYSTEM.
 */
int tokenproto_recv(int fd, int timeout_ms, struct wire *in, uint8_t *type,
    struct wire *body);

/* A TOKEN_FAIL body: the code (ERR_PROTOCOL if it is not one) and
 * message, copied into msg (NUL-terminated, may be cut). */
int tokenproto_fail(struct wire *body, char *msg, size_t size);

#endif
