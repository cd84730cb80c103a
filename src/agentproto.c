#include <string.h>

#include "agentproto.h"
#include "keytype.h"
#include "sserr.h"

int
agentproto_frame(const struct wire *in, uint8_t *type, struct wire *body,
    size_t *framelen)
{
	return wire_get_frame(in, AGENTPROTO_MAX_FRAME, type, body, framelen);
}

int
agentproto_empty(struct wire *body)
{
	return wire_end(body);
}

int
agentproto_sign(struct wire *body, struct agentproto_sign *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = wire_get_string(body, &out->key, &out->keylen)) != 0 ||
	    (r = wire_get_string(body, &out->data, &out->datalen)) != 0 ||
	    (r = wire_get_u32(body, &out->flags)) != 0 ||
	    (r = wire_end(body)) != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/*
 * Knowing the shape of a key's private fields (keytype.h) is enough to
 * find where the key ends and the comment begins; crypto checks their
 * contents.
 */
static int
skip_key(struct wire *body)
{
	const uint8_t *name, *p;
	size_t nlen, n;
	enum keytype t;
	const char *f;
	uint8_t b;
	int r, cert;

	if ((r = wire_get_string(body, &name, &nlen)) != 0)
		return r;
	if ((t = keytype_lookup(name, nlen, &cert)) == KT_NONE)
		return ERR_KEY_TYPE;
	f = cert ? keytypes[t].cert_fields : keytypes[t].fields;
	for (; *f != '\0'; f++) {
		r = *f == 's' ? wire_get_string(body, &p, &n) :
		    *f == 'b' ? wire_get_u8(body, &b) :
				wire_get_mpint(body, &p, &n, 1);
		if (r != 0)
			return r;
	}
	return 0;
}

/* A path or name that C will read: no NUL inside, not empty. */
static int
nul_free(const uint8_t *p, size_t n)
{
	return n > 0 && n < 4096 && memchr(p, '\0', n) == NULL;
}

static int
get_extension(struct wire *body, const uint8_t *name, size_t namelen,
    struct agentproto_add *out)
{
	uint8_t b;
	int r;

	/*
	 * Each extension's body has its own shape, so one we do not know
	 * cannot even be skipped: refuse.  One given twice is refused too.
	 */
	if (wire_str_is(name, namelen,
		"restrict-destination-v00@openssh.com")) {
		if (out->dest != NULL)
			return ERR_FORMAT;
		return wire_get_string(body, &out->dest, &out->destlen);
	}
	if (wire_str_is(name, namelen, "sk-provider@openssh.com")) {
		if (out->provider != NULL)
			return ERR_FORMAT;
		if ((r = wire_get_string(body, &out->provider,
			 &out->providerlen)) != 0)
			return r;
		return nul_free(out->provider, out->providerlen) ? 0 :
								   ERR_FORMAT;
	}
	if (wire_str_is(name, namelen, "associated-certs-v00@openssh.com")) {
		if (out->certs != NULL)
			return ERR_FORMAT;
		if ((r = wire_get_u8(body, &b)) != 0 ||
		    (r = wire_get_string(body, &out->certs, &out->certslen)) !=
			0)
			return r;
		out->certs_only = b != 0;
		return 0;
	}
	return ERR_UNSUPPORTED;
}

static int
get_constraints(struct wire *body, struct agentproto_add *out)
{
	const uint8_t *name;
	size_t namelen;
	uint8_t c;
	int r;

	while (wire_avail(body) > 0) {
		if ((r = wire_get_u8(body, &c)) != 0)
			return r;
		switch (c) {
		case AGENT_CONSTRAIN_LIFETIME:
			if ((r = wire_get_u32(body, &out->lifetime)) != 0)
				return r;
			if (out->lifetime == 0)
				return ERR_FORMAT;
			break;
		case AGENT_CONSTRAIN_CONFIRM: out->confirm = 1; break;
		case AGENT_CONSTRAIN_EXTENSION:
			if ((r = wire_get_string(body, &name, &namelen)) != 0)
				return r;
			if ((r = get_extension(body, name, namelen, out)) != 0)
				return r;
			break;
		default: return ERR_UNSUPPORTED;
		}
	}
	return 0;
}

int
agentproto_add(struct wire *body, int constrained, struct agentproto_add *out)
{
	size_t start = body->off;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = skip_key(body)) != 0)
		goto out;
	out->key = body->buf + start;
	out->keylen = body->off - start;
	if ((r = wire_get_string(body, &out->comment, &out->commentlen)) != 0)
		goto out;
	if (constrained)
		r = get_constraints(body, out);
	else
		r = wire_end(body);
	/* Certificates go with a token's keys only. */
	if (r == 0 && out->certs != NULL)
		r = ERR_UNSUPPORTED;
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int
agentproto_smartcard(struct wire *body, int constrained,
    struct agentproto_smartcard *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = wire_get_string(body, &out->id, &out->idlen)) != 0 ||
	    (r = wire_get_string(body, &out->pin, &out->pinlen)) != 0)
		goto out;
	if (!nul_free(out->id, out->idlen) ||
	    memchr(out->pin, '\0', out->pinlen) != NULL) {
		r = ERR_FORMAT;
		goto out;
	}
	r = constrained ? get_constraints(body, &out->cons) : wire_end(body);
	/* A FIDO provider is for FIDO keys: none here. */
	if (r == 0 && out->cons.provider != NULL)
		r = ERR_UNSUPPORTED;
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int
agentproto_remove(struct wire *body, const uint8_t **key, size_t *len)
{
	int r;

	if ((r = wire_get_string(body, key, len)) != 0)
		return r;
	if ((r = wire_end(body)) != 0) {
		*key = NULL;
		*len = 0;
	}
	return r;
}

int
agentproto_passphrase(struct wire *body, const uint8_t **pass, size_t *len)
{
	return agentproto_remove(body, pass, len);
}

int
agentproto_extension(struct wire *body, const uint8_t **name, size_t *namelen,
    struct wire *rest)
{
	int r;

	wire_view(rest, NULL, 0);
	if ((r = wire_get_string(body, name, namelen)) != 0)
		return r;
	if (*namelen == 0 || memchr(*name, '\0', *namelen) != NULL) {
		*name = NULL;
		*namelen = 0;
		return ERR_FORMAT;
	}
	wire_view(rest, wire_ptr(body), wire_avail(body));
	return 0;
}

int
agentproto_session_bind(struct wire *rest, struct agentproto_bind *out)
{
	uint8_t fwd;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = wire_get_string(rest, &out->hostkey, &out->hostkeylen)) ||
	    (r = wire_get_string(rest, &out->session_id,
		 &out->session_idlen)) ||
	    (r = wire_get_string(rest, &out->signature, &out->signaturelen)) ||
	    (r = wire_get_u8(rest, &fwd)) || (r = wire_end(rest)))
		goto out;
	if (fwd > 1) {
		r = ERR_FORMAT;
		goto out;
	}
	out->forwarding = fwd;
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/*
 * Whether pkalg is an algorithm for keys of type name: the name itself,
 * or for RSA keys and certificates one of the SHA-2 variants (RFC 8332).
 */
static int
alg_fits(const uint8_t *alg, size_t alen, const uint8_t *name, size_t nlen)
{
	static const char *const rsa[] = { "rsa-sha2-256", "rsa-sha2-512" };
	static const char *const rsacert[] = {
		"rsa-sha2-256-cert-v01@openssh.com",
		"rsa-sha2-512-cert-v01@openssh.com"
	};
	int i;

	if (alen == nlen && memcmp(alg, name, nlen) == 0)
		return 1;
	for (i = 0; i < 2; i++) {
		if ((wire_str_is(name, nlen, "ssh-rsa") &&
			wire_str_is(alg, alen, rsa[i])) ||
		    (wire_str_is(name, nlen, "ssh-rsa-cert-v01@openssh.com") &&
			wire_str_is(alg, alen, rsacert[i])))
			return 1;
	}
	return 0;
}

int
agentproto_userauth(const uint8_t *data, size_t len, const uint8_t *key,
    size_t keylen, struct agentproto_userauth *out)
{
	struct wire w, kw;
	const uint8_t *method, *alg, *blob, *name;
	size_t methodlen, alglen, bloblen, namelen;
	uint8_t type, follows;
	int r;

	memset(out, 0, sizeof(*out));
	wire_view(&w, data, len);
	wire_view(&kw, key, keylen);
	if ((r = wire_get_string(&w, &out->session_id, &out->session_idlen)) ||
	    (r = wire_get_u8(&w, &type)) ||
	    (r = wire_get_string(&w, &out->user, &out->userlen)) ||
	    (r = wire_get_string_eq(&w, "ssh-connection")) ||
	    (r = wire_get_string(&w, &method, &methodlen)) ||
	    (r = wire_get_u8(&w, &follows)) ||
	    (r = wire_get_string(&w, &alg, &alglen)) ||
	    (r = wire_get_string(&w, &blob, &bloblen)) ||
	    (r = wire_get_string(&kw, &name, &namelen)))
		goto out;
	r = ERR_FORMAT;
	/* 50: SSH_MSG_USERAUTH_REQUEST. */
	if (out->session_idlen == 0 || type != 50 || follows != 1 ||
	    memchr(out->user, '\0', out->userlen) != NULL ||
	    bloblen != keylen || memcmp(blob, key, keylen) != 0 ||
	    !alg_fits(alg, alglen, name, namelen))
		goto out;
	if (wire_str_is(method, methodlen,
		"publickey-hostbound-v00@openssh.com")) {
		if ((r = wire_get_string(&w, &out->hostkey,
			 &out->hostkeylen)) != 0)
			goto out;
		if (out->hostkeylen == 0) {
			r = ERR_FORMAT;
			goto out;
		}
	} else if (!wire_str_is(method, methodlen, "publickey")) {
		goto out;
	}
	r = wire_end(&w);
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int
agentproto_sshsig(const uint8_t *data, size_t len)
{
	struct wire w;
	const uint8_t *p;
	size_t n;
	int r, i;

	if (len < 6 || memcmp(data, "SSHSIG", 6) != 0)
		return ERR_FORMAT;
	wire_view(&w, data + 6, len - 6);
	for (i = 0; i < 4; i++)
		if ((r = wire_get_string(&w, &p, &n)) != 0)
			return r;
	return wire_end(&w);
}

int
agentproto_begin(struct wire *out, uint8_t type)
{
	size_t at;
	int r;

	if ((r = wire_len_open(out, &at)) != 0)
		return r;
	return wire_put_u8(out, type);
}

int
agentproto_finish(struct wire *out, size_t start)
{
	return wire_len_close(out, start);
}
