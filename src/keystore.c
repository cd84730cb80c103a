#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "crypto.h"
#include "destcons.h"
#include "sserr.h"
#include "keystore.h"
#include "wire.h"

#define KDF_ITERATIONS 8192
#define SALT_LEN 16
#define KEK_LEN 32
#define VERIFIER_LEN 32
#define SEALED_MAX (300 * 1024)

struct entry {
	struct entry *next;
	struct crypto_key *key; /* NULL while locked */
	uint8_t *secret;	/* secure heap; NULL while locked */
	size_t secretlen;
	uint8_t *sealed; /* while locked */
	size_t sealedlen;
	uint8_t *blob;
	size_t bloblen;
	char *comment; /* NUL-terminated copy */
	size_t commentlen;
	uint64_t expires;
	uint64_t used; /* when it last signed, on the caller's clock; 0 never */
	int confirm;
	struct destcons *dest; /* NULL: none */
	/* A token's key: who signs (sign NULL: we do).  With no secret, only
	 * the blob is known (PKCS#11); with one, it is a FIDO key's. */
	struct crypto_signer signer;
};

struct keystore {
	struct entry *head, **tail;
	size_t count;
	size_t secure; /* secure-heap bytes the secrets take, as allocated */
	size_t listed; /* bytes the keys take in an identities answer */
	size_t max_keys, max_secure, max_listed;
	int locked;
	uint8_t salt[SALT_LEN];
	uint8_t verifier[VERIFIER_LEN];
};

int
keystore_new(struct keystore **out)
{
	struct keystore *ks;

	*out = NULL;
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return ERR_ALLOC;
	ks->tail = &ks->head;
	ks->max_keys = KEYSTORE_MAX_KEYS;
	ks->max_secure = KEYSTORE_MAX_SECURE;
	ks->max_listed = KEYSTORE_MAX_LISTED;
	*out = ks;
	return 0;
}

void
keystore_bound(struct keystore *ks, size_t keys, size_t secure, size_t listed)
{
	ks->max_keys = keys;
	ks->max_secure = secure;
	ks->max_listed = listed;
}

static void
entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	crypto_key_unref(e->key);
	crypto_secure_free(e->secret, e->secretlen);
	if (e->sealed != NULL) {
		compat_wipe(e->sealed, e->sealedlen);
		free(e->sealed);
	}
	free(e->blob);
	destcons_free(e->dest);
	if (e->signer.hold != NULL)
		e->signer.hold(e->signer.arg, -1);
	if (e->comment != NULL) {
		compat_wipe(e->comment, e->commentlen);
		free(e->comment);
	}
	free(e);
}

/*
 * What a key whose secret is len bytes takes in OpenSSL's secure heap, a
 * buddy allocator (the next power of two, 32 bytes at least): the secret,
 * and crypto's copy of the private parts it signs from, no larger.
 */
static size_t
secure_size(size_t len)
{
	size_t n = 32;

	while (n < len)
		n <<= 1;
	return 2 * n;
}

/* What a key takes in an identities answer: blob and comment strings. */
static size_t
listed_size(size_t bloblen, size_t commentlen)
{
	return 4 + bloblen + 4 + commentlen;
}

static void
unlink_entry(struct keystore *ks, struct entry **pp)
{
	struct entry *e = *pp;

	*pp = e->next;
	if (ks->tail == &e->next)
		ks->tail = pp;
	ks->count--;
	ks->secure -= secure_size(e->secretlen);
	ks->listed -= listed_size(e->bloblen, e->commentlen);
	entry_free(e);
}

void
keystore_free(struct keystore *ks)
{
	if (ks == NULL)
		return;
	while (ks->head != NULL)
		unlink_entry(ks, &ks->head);
	compat_wipe(ks, sizeof(*ks));
	free(ks);
}

static struct entry **
lookup(struct keystore *ks, const uint8_t *blob, size_t len)
{
	struct entry **pp;

	for (pp = &ks->head; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->bloblen == len &&
		    memcmp((*pp)->blob, blob, len) == 0)
			return pp;
	}
	return NULL;
}

int
keystore_add(struct keystore *ks, const uint8_t *secret, size_t len,
    const uint8_t *comment, size_t commentlen, uint64_t expires, int confirm)
{
	return keystore_add_dest(ks, secret, len, comment, commentlen, expires,
	    confirm, NULL, NULL, NULL);
}

int
keystore_add_dest(struct keystore *ks, const uint8_t *secret, size_t len,
    const uint8_t *comment, size_t commentlen, uint64_t expires, int confirm,
    struct destcons *dest, keystore_visible_fn *visible, void *arg)
{
	return keystore_add_signed(ks, secret, len, NULL, 0, NULL, comment,
	    commentlen, expires, confirm, dest, visible, arg);
}

/* The usable key of an entry, from its secret or its blob. */
static int
entry_key(struct entry *e)
{
	int r;

	if (e->secret == NULL)
		return crypto_key_external(e->blob, e->bloblen, &e->signer,
		    &e->key);
	if ((r = crypto_key_parse(e->secret, e->secretlen, &e->key)) != 0)
		return r;
	if (e->signer.sign != NULL)
		crypto_key_set_signer(e->key, &e->signer);
	return 0;
}

int
keystore_add_signed(struct keystore *ks, const uint8_t *secret, size_t len,
    const uint8_t *pub, size_t publen, const struct crypto_signer *signer,
    const uint8_t *comment, size_t commentlen, uint64_t expires, int confirm,
    struct destcons *dest, keystore_visible_fn *visible, void *arg)
{
	struct entry *e = NULL, **old;
	const uint8_t *blob;
	size_t bloblen, room, lroom;
	int r;

	if (ks->locked) {
		destcons_free(dest);
		return ERR_LOCKED;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		destcons_free(dest);
		return ERR_ALLOC;
	}
	e->dest = dest;
	if (signer != NULL) {
		e->signer = *signer;
		if (signer->hold != NULL)
			signer->hold(signer->arg, 1);
	}
	if (secret != NULL) {
		r = crypto_key_parse(secret, len, &e->key);
		if (r == 0 && signer != NULL)
			crypto_key_set_signer(e->key, signer);
		/* A FIDO key signs only through its provider. */
		if (r == 0 && signer == NULL &&
		    crypto_key_signer(e->key) == NULL) {
			struct crypto_sk sk;

			if (crypto_key_sk(e->key, &sk))
				r = ERR_UNSUPPORTED;
		}
	} else {
		r = signer == NULL ?
		    ERR_FORMAT :
		    crypto_key_external(pub, publen, signer, &e->key);
		len = 0;
	}
	if (r != 0)
		goto out;
	blob = crypto_key_blob(e->key, &bloblen);
	/* The same key again replaces it (the new constraints and comment
	 * win): the room it takes counts as free. */
	room = lroom = 0;
	if ((old = lookup(ks, blob, bloblen)) != NULL) {
		/* Not by one who cannot see it (a forwarded hop it is not
		 * for): that would lift its constraints. */
		if (visible != NULL &&
		    !visible((*old)->blob, (*old)->bloblen, (*old)->dest,
			arg)) {
			r = ERR_DENIED;
			goto out;
		}
		room = secure_size((*old)->secretlen);
		lroom = listed_size((*old)->bloblen, (*old)->commentlen);
	}
	/* Full: one client must not take the room the user's own keys (and
	 * signing) need. */
	if ((old == NULL && ks->count >= ks->max_keys) ||
	    ks->secure - room + secure_size(len) > ks->max_secure ||
	    ks->listed - lroom + listed_size(bloblen, commentlen) >
		ks->max_listed) {
		r = ERR_FULL;
		goto out;
	}
	r = ERR_ALLOC;
	if ((e->blob = malloc(bloblen)) == NULL ||
	    (secret != NULL &&
		(e->secret = crypto_secure_alloc(len)) == NULL) ||
	    (e->comment = malloc(commentlen + 1)) == NULL)
		goto out;
	memcpy(e->blob, blob, bloblen);
	e->bloblen = bloblen;
	if (secret != NULL)
		memcpy(e->secret, secret, len);
	e->secretlen = len;
	memcpy(e->comment, comment, commentlen);
	e->comment[commentlen] = '\0';
	e->commentlen = commentlen;
	e->expires = expires;
	e->confirm = confirm;
	if (old != NULL)
		unlink_entry(ks, old);
	*ks->tail = e;
	ks->tail = &e->next;
	ks->count++;
	ks->secure += secure_size(len);
	ks->listed += listed_size(e->bloblen, e->commentlen);
	e = NULL;
	r = 0;
out:
	entry_free(e);
	return r;
}

int
keystore_find(struct keystore *ks, const uint8_t *blob, size_t len,
    struct crypto_key **key, int *confirm, const char **comment)
{
	struct entry **pp;

	*key = NULL;
	*confirm = 0;
	*comment = NULL;
	if (ks->locked)
		return ERR_LOCKED;
	if ((pp = lookup(ks, blob, len)) == NULL)
		return ERR_NOT_FOUND;
	*key = crypto_key_ref((*pp)->key);
	*confirm = (*pp)->confirm;
	*comment = (*pp)->comment;
	return 0;
}

const struct destcons *
keystore_dest(struct keystore *ks, const uint8_t *blob, size_t len)
{
	struct entry **pp;

	if (ks->locked || (pp = lookup(ks, blob, len)) == NULL)
		return NULL;
	return (*pp)->dest;
}

void
keystore_touch(struct keystore *ks, const uint8_t *blob, size_t len,
    uint64_t now)
{
	struct entry **pp;

	if (!ks->locked && (pp = lookup(ks, blob, len)) != NULL)
		(*pp)->used = now;
}

int
keystore_remove(struct keystore *ks, const uint8_t *blob, size_t len)
{
	return keystore_remove_if(ks, blob, len, NULL, NULL);
}

int
keystore_remove_if(struct keystore *ks, const uint8_t *blob, size_t len,
    keystore_visible_fn *visible, void *arg)
{
	struct entry **pp;

	if (ks->locked)
		return ERR_LOCKED;
	if ((pp = lookup(ks, blob, len)) == NULL ||
	    (visible != NULL &&
		!visible((*pp)->blob, (*pp)->bloblen, (*pp)->dest, arg)))
		return ERR_NOT_FOUND;
	unlink_entry(ks, pp);
	return 0;
}

size_t
keystore_forget(struct keystore *ks, unsigned idle_ms)
{
	struct entry *e;
	size_t n = 0;

	for (e = ks->head; e != NULL; e = e->next)
		if (e->key != NULL && e->secret != NULL)
			n += (size_t)crypto_key_forget(e->key, idle_ms);
	return n;
}

void
keystore_clear(struct keystore *ks)
{
	while (ks->head != NULL)
		unlink_entry(ks, &ks->head);
}

size_t
keystore_remove_signer(struct keystore *ks, const void *arg)
{
	struct entry **pp;
	size_t n = 0;

	for (pp = &ks->head; *pp != NULL;) {
		if ((*pp)->signer.sign != NULL && (*pp)->signer.arg == arg) {
			unlink_entry(ks, pp);
			n++;
			continue;
		}
		pp = &(*pp)->next;
	}
	return n;
}

int
keystore_remove_all(struct keystore *ks)
{
	if (ks->locked)
		return ERR_LOCKED;
	while (ks->head != NULL)
		unlink_entry(ks, &ks->head);
	return 0;
}

int
keystore_list(struct keystore *ks, struct wire *out)
{
	return keystore_list_if(ks, out, NULL, NULL);
}

int
keystore_list_if(struct keystore *ks, struct wire *out,
    keystore_visible_fn *visible, void *arg)
{
	struct entry *e;
	uint32_t n = 0;
	size_t at;
	int r;

	if (ks->locked)
		return wire_put_u32(out, 0);
	/* The count goes first: patched once the keys are known. */
	at = wire_mark(out);
	if ((r = wire_put_u32(out, 0)) != 0)
		return r;
	for (e = ks->head; e != NULL; e = e->next) {
		if (visible != NULL &&
		    !visible(e->blob, e->bloblen, e->dest, arg))
			continue;
		if ((r = wire_put_string(out, e->blob, e->bloblen)) != 0 ||
		    (r = wire_put_string(out, e->comment, e->commentlen)) != 0)
			return r;
		n++;
	}
	return wire_patch_u32(out, at, n);
}

int
keystore_describe(struct keystore *ks, uint64_t now, struct wire *out,
    uint8_t (*tag)(const uint8_t *blob, size_t len, void *arg), void *arg)
{
	struct entry *e;
	char fp[64];
	uint64_t left;
	int r;

	/* While locked, nothing but that, as REQUEST_IDENTITIES. */
	if ((r = wire_put_u8(out, ks->locked != 0)) != 0 ||
	    (r = wire_put_u32(out, ks->locked ? 0 : (uint32_t)ks->count)) != 0)
		return r;
	for (e = ks->head; e != NULL && !ks->locked; e = e->next) {
		if ((r = crypto_fingerprint(e->blob, e->bloblen, fp,
			 sizeof(fp))) != 0)
			return r;
		left = e->expires == 0 ? 0 :
		    e->expires <= now  ? 1 :
					 (e->expires - now + 999) / 1000;
		if ((r = wire_put_string(out, e->blob, e->bloblen)) != 0 ||
		    (r = wire_put_string(out, e->comment, e->commentlen)) !=
			0 ||
		    (r = wire_put_cstring(out, fp)) != 0 ||
		    (r = wire_put_u8(out, (uint8_t)(e->confirm != 0))) != 0 ||
		    (r = wire_put_u32(out,
			 left > UINT32_MAX ? UINT32_MAX : (uint32_t)left)) !=
			0 ||
		    (r = wire_put_u32(out,
			 (uint32_t)destcons_count(e->dest))) != 0 ||
		    (r = wire_put_u8(out,
			 tag != NULL ? tag(e->blob, e->bloblen, arg) : 0)) !=
			0 ||
		    (r = wire_put_u32(out,
			 e->used == 0	    ? UINT32_MAX :
			     now <= e->used ? 0 :
			     (now - e->used) / 1000 >= UINT32_MAX ?
					      UINT32_MAX - 1 :
					      (uint32_t)((now - e->used) /
						  1000))) != 0)
			return r;
	}
	return 0;
}

size_t
keystore_count(const struct keystore *ks)
{
	return ks->count;
}

int
keystore_locked(const struct keystore *ks)
{
	return ks->locked;
}

/* Derives the sealing key and the verifier from a passphrase. */
static int
derive(const struct keystore *ks, const uint8_t *pass, size_t len,
    uint8_t out[KEK_LEN + VERIFIER_LEN])
{
	return crypto_kdf(pass, len, ks->salt, SALT_LEN, KDF_ITERATIONS, out,
	    KEK_LEN + VERIFIER_LEN);
}

int
keystore_lock(struct keystore *ks, const uint8_t *pass, size_t len)
{
	uint8_t kek[KEK_LEN + VERIFIER_LEN];
	struct wire w;
	struct entry *e;
	int r;

	if (ks->locked)
		return ERR_LOCKED;
	wire_init(&w, SEALED_MAX);
	if ((r = crypto_random(ks->salt, SALT_LEN)) != 0 ||
	    (r = derive(ks, pass, len, kek)) != 0)
		goto out;
	/* Seal everything first, so a failure leaves the store unlocked. */
	for (e = ks->head; e != NULL; e = e->next) {
		if (e->secret == NULL)
			continue; /* a token's: only its blob is known */
		wire_reset(&w);
		if ((r = crypto_seal(kek, e->secret, e->secretlen, &w)) != 0)
			goto out;
		if ((e->sealed = malloc(wire_avail(&w))) == NULL) {
			r = ERR_ALLOC;
			goto out;
		}
		e->sealedlen = wire_avail(&w);
		memcpy(e->sealed, wire_ptr(&w), e->sealedlen);
	}
	for (e = ks->head; e != NULL; e = e->next) {
		crypto_key_unref(e->key);
		e->key = NULL;
		crypto_secure_free(e->secret, e->secretlen);
		e->secret = NULL;
	}
	memcpy(ks->verifier, kek + KEK_LEN, VERIFIER_LEN);
	ks->locked = 1;
	r = 0;
out:
	if (r != 0) {
		for (e = ks->head; e != NULL; e = e->next) {
			free(e->sealed);
			e->sealed = NULL;
		}
	}
	compat_wipe(kek, sizeof(kek));
	wire_free(&w);
	return r;
}

int
keystore_unlock(struct keystore *ks, const uint8_t *pass, size_t len)
{
	uint8_t kek[KEK_LEN + VERIFIER_LEN];
	struct entry **pp, *e;
	int r;

	if (!ks->locked)
		return ERR_DENIED;
	if ((r = derive(ks, pass, len, kek)) != 0)
		goto out;
	if (!crypto_equal(kek + KEK_LEN, ks->verifier, VERIFIER_LEN)) {
		r = ERR_DENIED;
		goto out;
	}
	for (pp = &ks->head; *pp != NULL;) {
		e = *pp;
		/* A token's key is made anew: a signature begun before the
		 * lock does not count as made by the unlocked key. */
		if ((e->sealed != NULL &&
			crypto_open(kek, e->sealed, e->sealedlen, &e->secret,
			    &e->secretlen) != 0) ||
		    entry_key(e) != 0) {
			/* Cannot happen short of memory corruption: drop it. */
			unlink_entry(ks, pp);
			continue;
		}
		compat_wipe(e->sealed, e->sealedlen);
		free(e->sealed);
		e->sealed = NULL;
		pp = &e->next;
	}
	ks->locked = 0;
	compat_wipe(ks->salt, SALT_LEN);
	compat_wipe(ks->verifier, VERIFIER_LEN);
	r = 0;
out:
	compat_wipe(kek, sizeof(kek));
	return r;
}

uint64_t
keystore_expire(struct keystore *ks, uint64_t now)
{
	struct entry **pp;
	uint64_t next = 0;

	for (pp = &ks->head; *pp != NULL;) {
		if ((*pp)->expires != 0 && (*pp)->expires <= now) {
			unlink_entry(ks, pp);
			continue;
		}
		if ((*pp)->expires != 0 && (next == 0 || (*pp)->expires < next))
			next = (*pp)->expires;
		pp = &(*pp)->next;
	}
	return next;
}
