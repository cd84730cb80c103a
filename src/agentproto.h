/*
 * agentproto: SSH agent protocol framing and request decoding
 * (draft-miller-ssh-agent, OpenSSH PROTOCOL.agent).  Pure: no I/O, no
 * crypto; every decoder reads a view of one message body and returns
 * pointers into it, so results live as long as the body does.
 */
#ifndef SSHENV_AGENTPROTO_H
#define SSHENV_AGENTPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* The largest frame we accept, as OpenSSH's agent does. */
#define AGENTPROTO_MAX_FRAME (256 * 1024)

enum {
	AGENT_FAILURE = 5,
	AGENT_SUCCESS = 6,
	AGENTC_REQUEST_IDENTITIES = 11,
	AGENT_IDENTITIES_ANSWER = 12,
	AGENTC_SIGN_REQUEST = 13,
	AGENT_SIGN_RESPONSE = 14,
	AGENTC_ADD_IDENTITY = 17,
	AGENTC_REMOVE_IDENTITY = 18,
	AGENTC_REMOVE_ALL_IDENTITIES = 19,
	AGENTC_LOCK = 22,
	AGENTC_UNLOCK = 23,
	AGENTC_ADD_SMARTCARD_KEY = 20,
	AGENTC_REMOVE_SMARTCARD_KEY = 21,
	AGENTC_ADD_ID_CONSTRAINED = 25,
	AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED = 26,
	AGENTC_EXTENSION = 27,
	AGENT_EXTENSION_FAILURE = 28,
	AGENT_EXTENSION_RESPONSE = 29
};

/* Key constraints of ADD_ID_CONSTRAINED. */
enum {
	AGENT_CONSTRAIN_LIFETIME = 1,
	AGENT_CONSTRAIN_CONFIRM = 2,
	AGENT_CONSTRAIN_EXTENSION = 255
};

/*
 * Looks for one complete frame at the front of in.  Returns 0 with the
 * message type, a view of its body and the frame's whole size (to consume
 * once the body is no longer needed); ERR_TRUNCATED if more bytes are
 * needed; ERR_TOO_LONG over AGENTPROTO_MAX_FRAME, ERR_FORMAT for an empty
 * frame: both mean the connection must be closed.
 */
int agentproto_frame(const struct wire *in, uint8_t *type, struct wire *body,
    size_t *framelen);

struct agentproto_sign {
	const uint8_t *key, *data;
	size_t keylen, datalen;
	uint32_t flags;
};
int agentproto_sign(struct wire *body, struct agentproto_sign *out);

struct agentproto_add {
	const uint8_t *key; /* type name and private fields */
	const uint8_t *comment;
	size_t keylen, commentlen;
	uint32_t lifetime; /* seconds; 0 for none */
	int confirm;
	/* restrict-destination-v00@openssh.com: the contents of its
	 * constraints string (destcons_parse reads them); NULL if absent. */
	const uint8_t *dest;
	size_t destlen;
	/* sk-provider@openssh.com: a FIDO key's provider (a path, or
	 * "internal"), NUL-free; NULL if absent. */
	const uint8_t *provider;
	size_t providerlen;
	/* associated-certs-v00@openssh.com (smartcard adds only): whether
	 * only the certificates are to be added, and the contents of the
	 * certificates string (a run of strings); NULL if absent. */
	int certs_only;
	const uint8_t *certs;
	size_t certslen;
};
/*
 * ADD_IDENTITY (constrained = 0) or ADD_ID_CONSTRAINED.  ERR_KEY_TYPE for a
 * key type we do not know; ERR_UNSUPPORTED for a constraint we do not know,
 * which must refuse the whole add; ERR_FORMAT for one given twice.
 */
int
agentproto_add(struct wire *body, int constrained, struct agentproto_add *out);

/*
 * ADD_SMARTCARD_KEY (constrained = 0), ADD_SMARTCARD_KEY_CONSTRAINED, and
 * REMOVE_SMARTCARD_KEY (constrained = 0): the module's path (NUL-free)
 * and the PIN in *id and *pin; constraints as agentproto_add's (no key,
 * no comment, no sk-provider).
 */
struct agentproto_smartcard {
	const uint8_t *id, *pin;
	size_t idlen, pinlen;
	struct agentproto_add cons;
};
int agentproto_smartcard(struct wire *body, int constrained,
    struct agentproto_smartcard *out);

/* REMOVE_IDENTITY: the key blob. */
int agentproto_remove(struct wire *body, const uint8_t **key, size_t *len);
/* LOCK and UNLOCK: the passphrase. */
int agentproto_passphrase(struct wire *body, const uint8_t **pass, size_t *len);
/* Messages with no body (REQUEST_IDENTITIES, REMOVE_ALL). */
int agentproto_empty(struct wire *body);

/* EXTENSION: its name, and a view of the rest of the body in *rest. */
int agentproto_extension(struct wire *body, const uint8_t **name,
    size_t *namelen, struct wire *rest);

struct agentproto_bind {
	const uint8_t *hostkey, *session_id, *signature;
	size_t hostkeylen, session_idlen, signaturelen;
	int forwarding;
};
/* The contents of a session-bind@openssh.com extension. */
int agentproto_session_bind(struct wire *rest, struct agentproto_bind *out);

/*
 * The data of a SIGN_REQUEST read as an SSH userauth request
 * (RFC 4252 section 7, and OpenSSH's publickey-hostbound-v00 method,
 * which adds the server's host key), for a signature by key (a blob):
 * SSH_MSG_USERAUTH_REQUEST for "ssh-connection" with a signature
 * following, by that very key under an algorithm of its type.  Returns 0
 * with views into data (hostkey NULL for plain "publickey"), else
 * ERR_FORMAT or a wire error: then it is some other signature.
 */
struct agentproto_userauth {
	const uint8_t *session_id, *user, *hostkey;
	size_t session_idlen, userlen, hostkeylen;
};
int agentproto_userauth(const uint8_t *data, size_t len, const uint8_t *key,
    size_t keylen, struct agentproto_userauth *out);

/*
 * 0 if data is exactly what ssh-keygen -Y sign asks an agent to sign
 * (PROTOCOL.sshsig): "SSHSIG", then the namespace, a reserved string,
 * the hash algorithm and the hash, nothing more; else ERR_FORMAT or a
 * wire error.
 */
int agentproto_sshsig(const uint8_t *data, size_t len);

/*
 * Reply building: begin writes a length placeholder and the type, finish
 * patches the length.  Both return 0 or a wire error.
 */
int agentproto_begin(struct wire *out, uint8_t type);
int agentproto_finish(struct wire *out, size_t start);

#endif
