/*
 * libFuzzer harness: a stream of agent protocol frames, decoded as the
 * agent decodes them, with every key, certificate, constraint and
 * session-bind signature going through crypto and the key store (token
 * keys too: FIDO keys and PKCS#11 certificates, with a signer that
 * stands for their helper), and
 * destination constraints checked against the session-binds of the
 * stream (recorded whether or not their signatures hold, so that the
 * path check sees more than valid hosts).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agentproto.h"
#include "crypto.h"
#include "destcons.h"
#include "sserr.h"
#include "keystore.h"
#include "wire.h"

#define MAX_BINDS 16

/*
 * Key import and signature checks are pure functions of their bytes, and
 * the slow part of a run (a P-384 key's pairwise check is a scalar
 * multiplication; the seeds add seven keys).  The harness is linked with
 * --wrap for both: a result seen before, for the same bytes, is returned
 * again instead of computed again, so the fuzzer's time goes to what
 * the bytes around the keys do.  New bytes always reach the real code.
 */
int __real_crypto_key_parse(const uint8_t *, size_t, struct crypto_key **);
int __wrap_crypto_key_parse(const uint8_t *, size_t, struct crypto_key **);
int __real_crypto_verify(const uint8_t *, size_t, const uint8_t *, size_t,
    const uint8_t *, size_t);
int __wrap_crypto_verify(const uint8_t *, size_t, const uint8_t *, size_t,
    const uint8_t *, size_t);

#define MEMO_SLOTS 4096
#define MEMO_MAX (MEMO_SLOTS / 2)

struct memo {
	uint8_t *bytes; /* the input, NULL for a free slot */
	size_t len;
	int r;
	struct crypto_key *key; /* a reference, for crypto_key_parse */
};

static struct memo memo[MEMO_SLOTS];
static size_t nmemo, nkeys; /* keys: in the secure heap, at most 64 */

static uint64_t
memo_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	while (n-- > 0)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}

static void
memo_clear(void)
{
	size_t i;

	for (i = 0; i < MEMO_SLOTS; i++) {
		free(memo[i].bytes);
		crypto_key_unref(memo[i].key);
		memset(&memo[i], 0, sizeof(memo[i]));
	}
	nmemo = nkeys = 0;
}

/* The slot for these bytes: the one holding them, or a free one. */
static struct memo *
memo_slot(const uint8_t *p, size_t n)
{
	size_t i = memo_hash(p, n) % MEMO_SLOTS;

	while (memo[i].bytes != NULL &&
	    (memo[i].len != n || memcmp(memo[i].bytes, p, n) != 0))
		i = (i + 1) % MEMO_SLOTS;
	return &memo[i];
}

static struct memo *
memo_put(struct memo *m, const uint8_t *p, size_t n, int r)
{
	if (nmemo >= MEMO_MAX || nkeys >= 64) {
		memo_clear();
		m = memo_slot(p, n);
	}
	if ((m->bytes = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(m->bytes, p, n);
	m->len = n;
	m->r = r;
	nmemo++;
	return m;
}

int
__wrap_crypto_key_parse(const uint8_t *blob, size_t len,
    struct crypto_key **out)
{
	static uint8_t tagged[1 + 65536];
	struct memo *m;

	/* Tagged, so that a key and a verify never share a slot. */
	if (len >= sizeof(tagged))
		return __real_crypto_key_parse(blob, len, out);
	tagged[0] = 'k';
	memcpy(tagged + 1, blob, len);
	m = memo_slot(tagged, len + 1);
	if (m->bytes == NULL) {
		int r = __real_crypto_key_parse(blob, len, out);

		m = memo_put(m, tagged, len + 1, r);
		if (r == 0) {
			m->key = crypto_key_ref(*out);
			nkeys++;
		}
		return r;
	}
	*out = m->r == 0 ? crypto_key_ref(m->key) : NULL;
	return m->r;
}

int
__wrap_crypto_verify(const uint8_t *key, size_t klen, const uint8_t *data,
    size_t dlen, const uint8_t *sig, size_t slen)
{
	static uint8_t buf[1 + 3 * 4 + 3 * AGENTPROTO_MAX_FRAME];
	struct memo *m;
	uint32_t lens[3];
	size_t n = 0;

	if (klen > AGENTPROTO_MAX_FRAME || dlen > AGENTPROTO_MAX_FRAME ||
	    slen > AGENTPROTO_MAX_FRAME)
		return __real_crypto_verify(key, klen, data, dlen, sig, slen);
	lens[0] = (uint32_t)klen;
	lens[1] = (uint32_t)dlen;
	lens[2] = (uint32_t)slen;
	buf[n++] = 'v';
	memcpy(buf + n, lens, sizeof(lens));
	n += sizeof(lens);
	memcpy(buf + n, key, klen);
	memcpy(buf + n + klen, data, dlen);
	memcpy(buf + n + klen + dlen, sig, slen);
	n += klen + dlen + slen;
	m = memo_slot(buf, n);
	if (m->bytes == NULL)
		m = memo_put(m, buf, n,
		    __real_crypto_verify(key, klen, data, dlen, sig, slen));
	return m->r;
}

static struct keystore *ks;
static struct destcons_bind binds[MAX_BINDS];
static size_t nbinds;

/* What a token's helper would answer: a signature of sorts. */
static int
fake_sign(void *arg, const struct crypto_key *k, const uint8_t *data,
    size_t dlen, uint32_t flags, struct wire *out)
{
	(void)arg;
	(void)k;
	(void)data;
	(void)dlen;
	(void)flags;
	return wire_put_cstring(out, "token");
}

static const struct crypto_signer token = { fake_sign, NULL, NULL };

static int
visible(const uint8_t *blob, size_t len, const struct destcons *dest, void *arg)
{
	(void)blob;
	(void)len;
	(void)arg;
	return destcons_permitted(dest, binds, nbinds, 0, NULL, 0) == 0;
}

/* A constrained key signs only a login on the path, as the agent. */
static int
may_sign(const struct agentproto_sign *req)
{
	const struct destcons *dest = keystore_dest(ks, req->key, req->keylen);
	struct agentproto_userauth ua;

	if (dest == NULL)
		return 1;
	return agentproto_userauth(req->data, req->datalen, req->key,
		   req->keylen, &ua) == 0 &&
	    destcons_permitted(dest, binds, nbinds, 0, "root", 1800000000u) ==
	    0;
}

static void
one(uint8_t type, struct wire *body)
{
	struct agentproto_sign sreq;
	struct agentproto_add areq;
	struct agentproto_smartcard card;
	struct agentproto_bind b;
	struct destcons *dest;
	struct crypto_key *key;
	uint8_t *hk;
	struct wire rest, out;
	const uint8_t *p, *name;
	const char *comment;
	size_t n, namelen;
	int confirm;

	wire_init(&out, AGENTPROTO_MAX_FRAME);
	switch (type) {
	case AGENTC_REQUEST_IDENTITIES:
		if (agentproto_empty(body) == 0)
			keystore_list_if(ks, &out, visible, NULL);
		break;
	case AGENTC_SIGN_REQUEST:
		if (agentproto_sign(body, &sreq) == 0)
			agentproto_sshsig(sreq.data, sreq.datalen);
		if (sreq.key != NULL && may_sign(&sreq) &&
		    keystore_find(ks, sreq.key, sreq.keylen, &key, &confirm,
			&comment) == 0) {
			crypto_sign(key, sreq.data, sreq.datalen, sreq.flags,
			    &out);
			crypto_key_unref(key);
		}
		break;
	case AGENTC_ADD_IDENTITY:
	case AGENTC_ADD_ID_CONSTRAINED:
		dest = NULL;
		if (agentproto_add(body, type == AGENTC_ADD_ID_CONSTRAINED,
			&areq) == 0 &&
		    (areq.dest == NULL ||
			destcons_parse(areq.dest, areq.destlen, &dest) == 0))
			keystore_add_signed(ks, areq.key, areq.keylen, NULL, 0,
			    areq.provider != NULL ? &token : NULL, areq.comment,
			    areq.commentlen, areq.lifetime, areq.confirm, dest,
			    visible, NULL);
		break;
	case AGENTC_ADD_SMARTCARD_KEY:
	case AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED:
		/* The module's keys come from its helper; the certificates
		 * given for them are what the request brings. */
		if (agentproto_smartcard(body,
			type == AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED,
			&card) != 0 ||
		    card.cons.certs == NULL)
			break;
		wire_view(&rest, card.cons.certs, card.cons.certslen);
		while (wire_get_string(&rest, &p, &n) == 0)
			keystore_add_signed(ks, NULL, 0, p, n, &token, card.id,
			    card.idlen, card.cons.lifetime, card.cons.confirm,
			    NULL, visible, NULL);
		break;
	case AGENTC_REMOVE_SMARTCARD_KEY:
		if (agentproto_smartcard(body, 0, &card) == 0)
			keystore_remove_signer(ks, NULL);
		break;
	case AGENTC_REMOVE_IDENTITY:
		if (agentproto_remove(body, &p, &n) == 0)
			keystore_remove_if(ks, p, n, visible, NULL);
		break;
	case AGENTC_REMOVE_ALL_IDENTITIES:
		if (agentproto_empty(body) == 0)
			keystore_remove_all(ks);
		break;
	case AGENTC_LOCK:
	case AGENTC_UNLOCK:
		/* The KDF is slow by design: decode only. */
		agentproto_passphrase(body, &p, &n);
		break;
	case AGENTC_EXTENSION:
		if (agentproto_extension(body, &name, &namelen, &rest) == 0 &&
		    agentproto_session_bind(&rest, &b) == 0) {
			crypto_verify(b.hostkey, b.hostkeylen, b.session_id,
			    b.session_idlen, b.signature, b.signaturelen);
			if (nbinds < MAX_BINDS) {
				hk = malloc(b.hostkeylen + 1);
				if (hk == NULL)
					abort();
				memcpy(hk, b.hostkey, b.hostkeylen);
				binds[nbinds].hostkey = hk;
				binds[nbinds].hostkeylen = b.hostkeylen;
				binds[nbinds].cert = NULL;
				binds[nbinds++].forwarding = b.forwarding;
			}
		}
		break;
	}
	wire_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire in, body;
	size_t framelen;
	uint8_t type;
	int locked;

	if (ks == NULL) {
		/* As the agent: the generators first, then the secure
		 * heap (LeakSanitizer does not scan it). */
		crypto_seed();
		crypto_init(1 << 20, &locked);
		if (keystore_new(&ks) != 0)
			abort();
	}
	wire_view(&in, data, size);
	while (agentproto_frame(&in, &type, &body, &framelen) == 0) {
		one(type, &body);
		wire_consume(&in, framelen);
	}
	keystore_expire(ks, UINT64_MAX);
	keystore_remove_all(ks);
	while (nbinds > 0)
		free((void *)binds[--nbinds].hostkey);
	return 0;
}
