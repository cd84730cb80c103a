/*
 * libFuzzer harness: a stream of agent protocol frames, decoded as the
 * agent decodes them, with every key, certificate, constraint and
 * session-bind signature going through crypto and the key store, and
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

static struct keystore *ks;
static struct destcons_bind binds[MAX_BINDS];
static size_t nbinds;

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
		if (agentproto_sign(body, &sreq) == 0 && may_sign(&sreq) &&
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
			keystore_add_dest(ks, areq.key, areq.keylen,
			    areq.comment, areq.commentlen, areq.lifetime,
			    areq.confirm, dest, visible, NULL);
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
