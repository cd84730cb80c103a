/*
 * keystore: adding, finding, listing and removing identities; the lock
 * (keys gone while locked, back and still signing after unlock); expiry.
 * Keys that sign elsewhere (a token's, a FIDO key), with a fake signer
 * whose holds are counted.
 * Keys come from the fixtures in tests/data/ through keyfile.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "destcons.h"
#include "sserr.h"
#include "keyfile.h"
#include "keystore.h"
#include "fakesigner.h"
#include "unit.h"
#include "wire.h"

enum { K_ED25519, K_P256, K_P384, K_RSA, K_COUNT };

static const char *const keyname[K_COUNT] = {
	[K_ED25519] = "id_ed25519",
	[K_P256] = "id_ecdsa256",
	[K_P384] = "id_ecdsa384",
	[K_RSA] = "id_rsa2048",
};

static struct keyfile keys[K_COUNT];
static int all_loaded;

static int
add(struct keystore *ks, int i, const char *comment, uint64_t expires,
    int confirm)
{
	return keystore_add(ks, keys[i].form, keys[i].formlen,
	    (const uint8_t *)comment, strlen(comment), expires, confirm);
}

/* The certified form of key i, in a wire the caller frees. */
static void
certform(struct wire *w, int i)
{
	wire_init(w, 64 * 1024);
	CHECK_EQ(keyform_put_cert(w, keys[i].certtype, keys[i].cert,
		     keys[i].certlen, &keys[i]),
	    0);
}

/*
 * Checks keystore_list against the expected keys (by index; -1 - i for
 * key i's certificate) and comments, in order.
 */
static void
check_list(struct keystore *ks, const int *want, const char *const *comments,
    size_t n)
{
	const uint8_t *blob, *comment, *wb;
	size_t bloblen, commentlen, wl, i;
	uint32_t count;
	struct wire w;

	wire_init(&w, 256 * 1024);
	CHECK_EQ(keystore_list(ks, &w), 0);
	CHECK_EQ(wire_get_u32(&w, &count), 0);
	CHECK_EQ(count, n);
	for (i = 0; i < n && i < count; i++) {
		CHECK_EQ(wire_get_string(&w, &blob, &bloblen), 0);
		CHECK_EQ(wire_get_string(&w, &comment, &commentlen), 0);
		if (want[i] >= 0) {
			wb = keys[want[i]].pub;
			wl = keys[want[i]].publen;
		} else {
			wb = keys[-1 - want[i]].cert;
			wl = keys[-1 - want[i]].certlen;
		}
		if (bloblen != wl || memcmp(blob, wb, wl) != 0)
			fprintf(stderr, "  list entry %zu is not key %d\n", i,
			    want[i]);
		CHECK(bloblen == wl && memcmp(blob, wb, wl) == 0);
		CHECK(commentlen == strlen(comments[i]) &&
		    memcmp(comment, comments[i], commentlen) == 0);
	}
	CHECK_EQ(wire_end(&w), 0);
	wire_free(&w);
}

/* keystore_find on blob, then a signature that verifies with pub. */
static int
find_and_sign(struct keystore *ks, const uint8_t *blob, size_t bloblen,
    const struct keyfile *kf)
{
	static const uint8_t data[] = "to be signed";
	struct crypto_key *k;
	const char *comment;
	struct wire w;
	int confirm, r;

	if ((r = keystore_find(ks, blob, bloblen, &k, &confirm, &comment)) != 0)
		return r;
	wire_init(&w, 4096);
	if ((r = crypto_sign(k, data, sizeof(data), CRYPTO_SIGN_RSA_SHA2_512,
		 &w)) == 0)
		r = crypto_verify(kf->pub, kf->publen, data, sizeof(data),
		    wire_ptr(&w), wire_avail(&w));
	wire_free(&w);
	crypto_key_unref(k);
	return r;
}

static void
test_new_free(void)
{
	struct keystore *ks;
	struct wire w;
	uint32_t count;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(keystore_count(ks), 0);
	CHECK_EQ(keystore_locked(ks), 0);
	wire_init(&w, 64);
	CHECK_EQ(keystore_list(ks, &w), 0);
	CHECK_EQ(wire_get_u32(&w, &count), 0);
	CHECK_EQ(count, 0);
	CHECK_EQ(wire_end(&w), 0);
	wire_free(&w);
	CHECK_EQ(keystore_expire(ks, 1000), 0);
	CHECK_EQ(keystore_remove_all(ks), 0);
	keystore_free(ks);
	keystore_free(NULL);
}

static void
test_add_find(void)
{
	struct keystore *ks;
	struct crypto_key *k;
	const uint8_t *blob;
	const char *comment;
	size_t len;
	int confirm;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(add(ks, K_ED25519, "alpha", 0, 1), 0);
	CHECK_EQ(keystore_count(ks), 1);
	CHECK_EQ(keystore_find(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &k, &confirm, &comment),
	    0);
	CHECK(k != NULL);
	CHECK_EQ(confirm, 1);
	CHECK(comment != NULL && strcmp(comment, "alpha") == 0);
	if (k != NULL) {
		blob = crypto_key_blob(k, &len);
		CHECK(len == keys[K_ED25519].publen &&
		    memcmp(blob, keys[K_ED25519].pub, len) == 0);
		crypto_key_unref(k);
	}
	CHECK_EQ(find_and_sign(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &keys[K_ED25519]),
	    0);

	/* Keys not held, or a blob that only starts like one. */
	k = (struct crypto_key *)(uintptr_t)1;
	confirm = 7;
	comment = "junk";
	CHECK_EQ(keystore_find(ks, keys[K_P256].pub, keys[K_P256].publen, &k,
		     &confirm, &comment),
	    ERR_NOT_FOUND);
	CHECK(k == NULL && confirm == 0 && comment == NULL);
	CHECK_EQ(keystore_find(ks, keys[K_ED25519].pub,
		     keys[K_ED25519].publen - 1, &k, &confirm, &comment),
	    ERR_NOT_FOUND);
	CHECK_EQ(keystore_find(ks, keys[K_ED25519].pub, 0, &k, &confirm,
		     &comment),
	    ERR_NOT_FOUND);
	CHECK_EQ(keystore_find(ks, keys[K_ED25519].cert,
		     keys[K_ED25519].certlen, &k, &confirm, &comment),
	    ERR_NOT_FOUND);
	keystore_free(ks);
}

static void
test_list_order(void)
{
	static const int want[] = { K_P384, K_ED25519, K_RSA, K_P256 };
	static const char *const comments[] = { "one", "two", "", "four" };
	struct keystore *ks;
	size_t i;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	for (i = 0; i < 4; i++)
		CHECK_EQ(add(ks, want[i], comments[i], 0, 0), 0);
	CHECK_EQ(keystore_count(ks), 4);
	check_list(ks, want, comments, 4);
	for (i = 0; i < 4; i++)
		CHECK_EQ(find_and_sign(ks, keys[want[i]].pub,
			     keys[want[i]].publen, &keys[want[i]]),
		    0);
	keystore_free(ks);
}

/* The same key again: one entry, the new comment and constraints. */
static void
test_readd_replaces(void)
{
	struct keystore *ks;
	struct crypto_key *k;
	const char *comment;
	int confirm;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(add(ks, K_ED25519, "first", 0, 0), 0);
	CHECK_EQ(add(ks, K_RSA, "rsa", 0, 0), 0);
	CHECK_EQ(add(ks, K_ED25519, "second", 500, 1), 0);
	CHECK_EQ(keystore_count(ks), 2);
	CHECK_EQ(keystore_find(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &k, &confirm, &comment),
	    0);
	CHECK_EQ(confirm, 1);
	CHECK(comment != NULL && strcmp(comment, "second") == 0);
	crypto_key_unref(k);
	/* Its expiry is the new one too. */
	CHECK_EQ(keystore_expire(ks, 499), 500);
	CHECK_EQ(keystore_count(ks), 2);
	CHECK_EQ(keystore_expire(ks, 500), 0);
	CHECK_EQ(keystore_count(ks), 1);
	CHECK_EQ(keystore_find(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &k, &confirm, &comment),
	    ERR_NOT_FOUND);

	/* And a constraint can be dropped by adding again without it. */
	CHECK_EQ(add(ks, K_RSA, "rsa again", 0, 0), 0);
	CHECK_EQ(keystore_count(ks), 1);
	CHECK_EQ(keystore_expire(ks, UINT64_MAX), 0);
	CHECK_EQ(keystore_count(ks), 1);
	keystore_free(ks);
}

static void
test_remove(void)
{
	static const int after[] = { K_ED25519, K_P384 };
	static const char *const comments[] = { "a", "c" };
	struct keystore *ks;
	uint32_t count;
	struct wire w;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(add(ks, K_ED25519, "a", 0, 0), 0);
	CHECK_EQ(add(ks, K_P256, "b", 0, 0), 0);
	CHECK_EQ(add(ks, K_P384, "c", 0, 0), 0);
	CHECK_EQ(keystore_remove(ks, keys[K_P256].pub, keys[K_P256].publen), 0);
	CHECK_EQ(keystore_count(ks), 2);
	check_list(ks, after, comments, 2);
	CHECK_EQ(keystore_remove(ks, keys[K_P256].pub, keys[K_P256].publen),
	    ERR_NOT_FOUND);
	CHECK_EQ(keystore_remove(ks, keys[K_RSA].pub, keys[K_RSA].publen),
	    ERR_NOT_FOUND);
	CHECK_EQ(keystore_remove(ks, keys[K_ED25519].pub, 10), ERR_NOT_FOUND);
	CHECK_EQ(keystore_count(ks), 2);

	/* Removing the last one and adding again keeps the order right. */
	CHECK_EQ(keystore_remove(ks, keys[K_P384].pub, keys[K_P384].publen), 0);
	CHECK_EQ(add(ks, K_P384, "c", 0, 0), 0);
	check_list(ks, after, comments, 2);

	CHECK_EQ(keystore_remove_all(ks), 0);
	CHECK_EQ(keystore_count(ks), 0);
	wire_init(&w, 64);
	CHECK_EQ(keystore_list(ks, &w), 0);
	CHECK_EQ(wire_get_u32(&w, &count), 0);
	CHECK_EQ(count, 0);
	CHECK_EQ(wire_end(&w), 0);
	wire_free(&w);
	CHECK_EQ(keystore_remove_all(ks), 0);
	/* Usable after being emptied. */
	CHECK_EQ(add(ks, K_RSA, "r", 0, 0), 0);
	CHECK_EQ(keystore_count(ks), 1);
	keystore_free(ks);
}

static void
test_add_invalid(void)
{
	struct keystore *ks;
	struct wire w;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(add(ks, K_ED25519, "kept", 0, 0), 0);
	CHECK(keystore_add(ks, keys[K_P256].form, keys[K_P256].formlen - 1,
		  (const uint8_t *)"x", 1, 0, 0) != 0);
	wire_init(&w, 4096);
	CHECK_EQ(wire_put(&w, keys[K_P256].form, keys[K_P256].formlen), 0);
	CHECK_EQ(wire_put_u8(&w, 0), 0);
	CHECK_EQ(keystore_add(ks, wire_ptr(&w), wire_avail(&w),
		     (const uint8_t *)"x", 1, 0, 0),
	    ERR_TRAILING);
	wire_reset(&w);
	CHECK_EQ(keyform_put(&w, "ssh-dss", keys[K_P256].field, 3), 0);
	CHECK_EQ(keystore_add(ks, wire_ptr(&w), wire_avail(&w),
		     (const uint8_t *)"x", 1, 0, 0),
	    ERR_KEY_TYPE);
	wire_free(&w);
	CHECK_EQ(keystore_count(ks), 1);
	CHECK_EQ(find_and_sign(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &keys[K_ED25519]),
	    0);
	keystore_free(ks);
}

/* A certificate and its plain key are two identities. */
static void
test_certified_and_plain(void)
{
	static const int want[] = { K_ED25519, -1 - K_ED25519, -1 - K_RSA };
	static const char *const comments[] = { "plain", "cert", "rsa cert" };
	struct keystore *ks;
	struct wire w;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(add(ks, K_ED25519, "plain", 0, 0), 0);
	certform(&w, K_ED25519);
	CHECK_EQ(keystore_add(ks, wire_ptr(&w), wire_avail(&w),
		     (const uint8_t *)"cert", 4, 0, 0),
	    0);
	wire_free(&w);
	certform(&w, K_RSA);
	CHECK_EQ(keystore_add(ks, wire_ptr(&w), wire_avail(&w),
		     (const uint8_t *)"rsa cert", 8, 0, 0),
	    0);
	wire_free(&w);
	CHECK_EQ(keystore_count(ks), 3);
	check_list(ks, want, comments, 3);
	CHECK_EQ(find_and_sign(ks, keys[K_ED25519].cert,
		     keys[K_ED25519].certlen, &keys[K_ED25519]),
	    0);
	CHECK_EQ(find_and_sign(ks, keys[K_RSA].cert, keys[K_RSA].certlen,
		     &keys[K_RSA]),
	    0);
	CHECK_EQ(keystore_remove(ks, keys[K_ED25519].cert,
		     keys[K_ED25519].certlen),
	    0);
	CHECK_EQ(find_and_sign(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &keys[K_ED25519]),
	    0);
	CHECK_EQ(keystore_count(ks), 2);
	keystore_free(ks);
}

#define PASS(s) (const uint8_t *)(s), strlen(s)

static void
test_lock_unlock(void)
{
	static const int want[] = { K_ED25519, K_RSA, -1 - K_P256, K_P384 };
	static const char *const comments[] = { "ed", "rsa", "ec cert", "ec" };
	struct keystore *ks;
	struct crypto_key *k;
	const char *comment;
	struct wire w;
	uint32_t count;
	int confirm, i;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(add(ks, K_ED25519, "ed", 0, 1), 0);
	CHECK_EQ(add(ks, K_RSA, "rsa", 0, 0), 0);
	certform(&w, K_P256);
	CHECK_EQ(keystore_add(ks, wire_ptr(&w), wire_avail(&w),
		     (const uint8_t *)"ec cert", 7, 0, 0),
	    0);
	wire_free(&w);
	CHECK_EQ(add(ks, K_P384, "ec", 0, 0), 0);

	CHECK_EQ(keystore_lock(ks, PASS("correct horse")), 0);
	CHECK_EQ(keystore_locked(ks), 1);

	/* Locked: an empty list, and nothing can be used or changed. */
	wire_init(&w, 64);
	CHECK_EQ(keystore_list(ks, &w), 0);
	CHECK_EQ(wire_avail(&w), 4);
	CHECK_EQ(wire_get_u32(&w, &count), 0);
	CHECK_EQ(count, 0);
	wire_free(&w);
	k = (struct crypto_key *)(uintptr_t)1;
	CHECK_EQ(keystore_find(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &k, &confirm, &comment),
	    ERR_LOCKED);
	CHECK(k == NULL && comment == NULL);
	CHECK_EQ(keystore_find(ks, keys[K_P256].cert, keys[K_P256].certlen, &k,
		     &confirm, &comment),
	    ERR_LOCKED);
	CHECK_EQ(add(ks, K_P256, "new", 0, 0), ERR_LOCKED);
	CHECK_EQ(keystore_remove(ks, keys[K_RSA].pub, keys[K_RSA].publen),
	    ERR_LOCKED);
	CHECK_EQ(keystore_remove_all(ks), ERR_LOCKED);
	CHECK_EQ(keystore_lock(ks, PASS("correct horse")), ERR_LOCKED);
	CHECK_EQ(keystore_lock(ks, PASS("other")), ERR_LOCKED);

	/* Wrong passphrases, including near misses, are refused. */
	CHECK_EQ(keystore_unlock(ks, PASS("wrong")), ERR_DENIED);
	CHECK_EQ(keystore_unlock(ks, PASS("correct hors")), ERR_DENIED);
	CHECK_EQ(keystore_unlock(ks, PASS("correct horse ")), ERR_DENIED);
	CHECK_EQ(keystore_unlock(ks, PASS("")), ERR_DENIED);
	CHECK_EQ(keystore_locked(ks), 1);

	/* The right one brings every key back, in order, still signing. */
	CHECK_EQ(keystore_unlock(ks, PASS("correct horse")), 0);
	CHECK_EQ(keystore_locked(ks), 0);
	CHECK_EQ(keystore_count(ks), 4);
	check_list(ks, want, comments, 4);
	for (i = 0; i < 4; i++) {
		if (want[i] >= 0)
			CHECK_EQ(find_and_sign(ks, keys[want[i]].pub,
				     keys[want[i]].publen, &keys[want[i]]),
			    0);
		else
			CHECK_EQ(find_and_sign(ks, keys[-1 - want[i]].cert,
				     keys[-1 - want[i]].certlen,
				     &keys[-1 - want[i]]),
			    0);
	}
	/* Constraints survive the lock. */
	CHECK_EQ(keystore_find(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &k, &confirm, &comment),
	    0);
	CHECK_EQ(confirm, 1);
	crypto_key_unref(k);

	CHECK_EQ(keystore_unlock(ks, PASS("correct horse")), ERR_DENIED);
	CHECK_EQ(keystore_locked(ks), 0);
	CHECK_EQ(keystore_remove(ks, keys[K_RSA].pub, keys[K_RSA].publen), 0);
	keystore_free(ks);
}

/*
 * keystore.h: ERR_DENIED "for a wrong passphrase".  The passphrase is a
 * byte string (LOCK carries a string, not a C string), so "pw\0" is not
 * "pw".  PBKDF2's HMAC pads its key with zero bytes, which makes the two
 * equal unless the passphrase is made unambiguous before the KDF.
 */
static void
test_unlock_trailing_nul(void)
{
	struct keystore *ks;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(add(ks, K_ED25519, "e", 0, 0), 0);
	CHECK_EQ(keystore_lock(ks, PASS("correct horse")), 0);
	CHECK_EQ(keystore_unlock(ks, (const uint8_t *)"correct horse\0", 14),
	    ERR_DENIED);
	CHECK_EQ(keystore_unlock(ks, (const uint8_t *)"correct horse\0\0", 15),
	    ERR_DENIED);
	CHECK_EQ(keystore_locked(ks), 1);
	keystore_free(ks);

	/* And the other way round: locked with the NUL, unlocked without. */
	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(keystore_lock(ks, (const uint8_t *)"pw\0", 3), 0);
	CHECK_EQ(keystore_unlock(ks, PASS("pw")), ERR_DENIED);
	CHECK_EQ(keystore_locked(ks), 1);
	keystore_free(ks);
}

/* An empty store and an empty passphrase lock and unlock like others. */
static void
test_lock_edge_cases(void)
{
	struct keystore *ks;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(keystore_unlock(ks, PASS("anything")), ERR_DENIED);
	CHECK_EQ(keystore_lock(ks, PASS("")), 0);
	CHECK_EQ(keystore_locked(ks), 1);
	CHECK_EQ(keystore_unlock(ks, PASS("x")), ERR_DENIED);
	CHECK_EQ(keystore_unlock(ks, PASS("")), 0);
	CHECK_EQ(add(ks, K_ED25519, "e", 0, 0), 0);

	/* A second lock takes a new passphrase; the old one is gone. */
	CHECK_EQ(keystore_lock(ks, PASS("first")), 0);
	CHECK_EQ(keystore_unlock(ks, PASS("first")), 0);
	CHECK_EQ(keystore_lock(ks, PASS("second")), 0);
	CHECK_EQ(keystore_unlock(ks, PASS("first")), ERR_DENIED);
	CHECK_EQ(keystore_unlock(ks, PASS("second")), 0);
	CHECK_EQ(find_and_sign(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &keys[K_ED25519]),
	    0);

	/* Freeing a locked store is fine. */
	CHECK_EQ(keystore_lock(ks, PASS("bye")), 0);
	keystore_free(ks);
}

static void
test_expire(void)
{
	static const int left[] = { K_RSA };
	static const char *const comments[] = { "forever" };
	struct keystore *ks;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(add(ks, K_ED25519, "100", 100, 0), 0);
	CHECK_EQ(add(ks, K_P256, "200", 200, 0), 0);
	CHECK_EQ(add(ks, K_RSA, "forever", 0, 0), 0);
	CHECK_EQ(add(ks, K_P384, "150", 150, 0), 0);

	/* Nothing due yet: the earliest deadline comes back. */
	CHECK_EQ(keystore_expire(ks, 0), 100);
	CHECK_EQ(keystore_expire(ks, 99), 100);
	CHECK_EQ(keystore_count(ks), 4);
	/* Due at exactly its deadline. */
	CHECK_EQ(keystore_expire(ks, 100), 150);
	CHECK_EQ(keystore_count(ks), 3);
	CHECK_EQ(find_and_sign(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &keys[K_ED25519]),
	    ERR_NOT_FOUND);
	/* Several at once. */
	CHECK_EQ(keystore_expire(ks, 1000), 0);
	CHECK_EQ(keystore_count(ks), 1);
	check_list(ks, left, comments, 1);
	CHECK_EQ(keystore_expire(ks, UINT64_MAX), 0);
	CHECK_EQ(keystore_count(ks), 1);
	keystore_free(ks);
}

/*
 * What status shows of each key: blob, comment, fingerprint, confirm and
 * the lifetime left rounded up to a second; only the count while locked.
 */
static void
test_describe(void)
{
	const uint8_t *blob, *comment;
	size_t bloblen, commentlen;
	struct keystore *ks;
	uint32_t count, left;
	uint8_t locked, confirm;
	char *fp = NULL, want[64];
	struct wire w;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(add(ks, K_ED25519, "ed", 0, 1), 0);
	CHECK_EQ(add(ks, K_RSA, "rsa", 10001, 0), 0);
	keystore_touch(ks, keys[K_RSA].pub, keys[K_RSA].publen, 2000);
	wire_init(&w, 64 * 1024);
	CHECK_EQ(keystore_describe(ks, 5000, &w, NULL, NULL), 0);
	CHECK_EQ(wire_get_u8(&w, &locked), 0);
	CHECK_EQ(locked, 0);
	CHECK_EQ(wire_get_u32(&w, &count), 0);
	CHECK_EQ(count, 2);
	/* The first: confirm, no lifetime. */
	CHECK_EQ(wire_get_string(&w, &blob, &bloblen), 0);
	CHECK(bloblen == keys[K_ED25519].publen &&
	    memcmp(blob, keys[K_ED25519].pub, bloblen) == 0);
	CHECK_EQ(wire_get_string(&w, &comment, &commentlen), 0);
	CHECK(commentlen == 2 && memcmp(comment, "ed", 2) == 0);
	CHECK_EQ(wire_get_cstring(&w, &fp), 0);
	CHECK_EQ(crypto_fingerprint(keys[K_ED25519].pub, keys[K_ED25519].publen,
		     want, sizeof(want)),
	    0);
	CHECK(fp != NULL && strcmp(fp, want) == 0);
	free(fp);
	fp = NULL;
	CHECK_EQ(wire_get_u8(&w, &confirm), 0);
	CHECK_EQ(confirm, 1);
	CHECK_EQ(wire_get_u32(&w, &left), 0);
	CHECK_EQ(left, 0);
	CHECK_EQ(wire_get_u32(&w, &count), 0); /* destination constraints */
	CHECK_EQ(count, 0);
	CHECK_EQ(wire_get_u8(&w, &confirm), 0); /* the tag */
	CHECK_EQ(confirm, 0);
	CHECK_EQ(wire_get_u32(&w, &left), 0); /* never used */
	CHECK_EQ(left, UINT32_MAX);
	/* The second: 5001 ms left shows as 6 s. */
	CHECK_EQ(wire_get_string(&w, &blob, &bloblen), 0);
	CHECK(bloblen == keys[K_RSA].publen &&
	    memcmp(blob, keys[K_RSA].pub, bloblen) == 0);
	CHECK_EQ(wire_get_string(&w, &comment, &commentlen), 0);
	CHECK_EQ(wire_get_cstring(&w, &fp), 0);
	free(fp);
	fp = NULL;
	CHECK_EQ(wire_get_u8(&w, &confirm), 0);
	CHECK_EQ(confirm, 0);
	CHECK_EQ(wire_get_u32(&w, &left), 0);
	CHECK_EQ(left, 6);
	CHECK_EQ(wire_get_u32(&w, &count), 0);
	CHECK_EQ(wire_get_u8(&w, &confirm), 0);
	CHECK_EQ(wire_get_u32(&w, &left), 0); /* used 3 s before now */
	CHECK_EQ(left, 3);
	CHECK_EQ(wire_end(&w), 0);

	/* Locked: that, and nothing of the keys, not even how many. */
	CHECK_EQ(keystore_lock(ks, PASS("pw")), 0);
	wire_reset(&w);
	CHECK_EQ(keystore_describe(ks, 5000, &w, NULL, NULL), 0);
	CHECK_EQ(wire_get_u8(&w, &locked), 0);
	CHECK_EQ(locked, 1);
	CHECK_EQ(wire_get_u32(&w, &count), 0);
	CHECK_EQ(count, 0);
	CHECK_EQ(wire_end(&w), 0);
	wire_free(&w);
	keystore_free(ks);
}

/* What a key with a secret of n bytes takes in the secure heap: the
 * secret and the private parts it signs from, each rounded up to a power
 * of two (32 at least). */
static size_t
rounded(size_t n)
{
	size_t r = 32;

	while (r < n)
		r <<= 1;
	return 2 * r;
}

/*
 * Bounded: past the key count or the secure bytes, a new key is refused
 * with ERR_FULL and the store is unchanged; the same key again still
 * replaces; removing makes room.
 */
static void
test_bounds(void)
{
	static const int two[] = { K_ED25519, K_P256 };
	static const char *const comments[] = { "ed", "p256" };
	static const int order[] = { K_P256, K_ED25519 };
	static const char *const again[] = { "p256", "ed again" };
	struct keystore *ks;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	keystore_bound(ks, 2, 1024 * 1024, 1024 * 1024);
	CHECK_EQ(add(ks, K_ED25519, "ed", 0, 0), 0);
	CHECK_EQ(add(ks, K_P256, "p256", 0, 0), 0);
	CHECK_EQ(add(ks, K_RSA, "rsa", 0, 0), ERR_FULL);
	CHECK_EQ(keystore_count(ks), 2);
	check_list(ks, two, comments, 2);
	/* Replacing is no new key. */
	CHECK_EQ(add(ks, K_ED25519, "ed again", 0, 1), 0);
	CHECK_EQ(keystore_count(ks), 2);
	check_list(ks, order, again, 2);
	CHECK_EQ(keystore_remove(ks, keys[K_P256].pub, keys[K_P256].publen), 0);
	CHECK_EQ(add(ks, K_RSA, "rsa", 0, 0), 0);

	/* Bytes: room for exactly the two ECDSA secrets. */
	CHECK_EQ(keystore_remove_all(ks), 0);
	keystore_bound(ks, 100,
	    rounded(keys[K_P256].formlen) + rounded(keys[K_P384].formlen),
	    1024 * 1024);
	CHECK_EQ(add(ks, K_P256, "p256", 0, 0), 0);
	CHECK_EQ(add(ks, K_P384, "p384", 0, 0), 0);
	CHECK_EQ(add(ks, K_ED25519, "ed", 0, 0), ERR_FULL);
	CHECK_EQ(keystore_count(ks), 2);
	CHECK_EQ(add(ks, K_P384, "p384 again", 0, 0), 0);
	CHECK_EQ(keystore_remove(ks, keys[K_P384].pub, keys[K_P384].publen), 0);
	CHECK_EQ(add(ks, K_ED25519, "ed", 0, 0), 0);

	/* Listed bytes: the list must fit one answer, comments included. */
	CHECK_EQ(keystore_remove_all(ks), 0);
	keystore_bound(ks, 100, 1024 * 1024,
	    4 + keys[K_ED25519].publen + 4 + 2);
	CHECK_EQ(add(ks, K_ED25519, "ed", 0, 0), 0);
	CHECK_EQ(add(ks, K_P256, "p", 0, 0), ERR_FULL);
	CHECK_EQ(add(ks, K_ED25519, "ed2", 0, 0), ERR_FULL);
	CHECK_EQ(add(ks, K_ED25519, "e", 0, 0), 0);
	CHECK_EQ(keystore_count(ks), 1);
	keystore_free(ks);
}

/* Expiry runs on the clock, locked or not. */
static void
test_expire_while_locked(void)
{
	struct keystore *ks;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(add(ks, K_ED25519, "short", 100, 0), 0);
	CHECK_EQ(add(ks, K_P256, "long", 0, 0), 0);
	CHECK_EQ(keystore_lock(ks, PASS("pw")), 0);
	CHECK_EQ(keystore_expire(ks, 100), 0);
	CHECK_EQ(keystore_count(ks), 1);
	CHECK_EQ(keystore_unlock(ks, PASS("pw")), 0);
	CHECK_EQ(find_and_sign(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &keys[K_ED25519]),
	    ERR_NOT_FOUND);
	CHECK_EQ(find_and_sign(ks, keys[K_P256].pub, keys[K_P256].publen,
		     &keys[K_P256]),
	    0);
	keystore_free(ks);
}

/* A key handed out by find outlives its removal (a signing in flight). */
static void
test_reference_outlives_entry(void)
{
	static const uint8_t data[] = "late";
	struct keystore *ks;
	struct crypto_key *k;
	const char *comment;
	struct wire w;
	int confirm;

	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(add(ks, K_P384, "x", 0, 0), 0);
	CHECK_EQ(keystore_find(ks, keys[K_P384].pub, keys[K_P384].publen, &k,
		     &confirm, &comment),
	    0);
	CHECK_EQ(keystore_remove_all(ks), 0);
	keystore_free(ks);
	if (k == NULL)
		return;
	wire_init(&w, 4096);
	CHECK_EQ(crypto_sign(k, data, sizeof(data), 0, &w), 0);
	CHECK_EQ(crypto_verify(keys[K_P384].pub, keys[K_P384].publen, data,
		     sizeof(data), wire_ptr(&w), wire_avail(&w)),
	    0);
	wire_free(&w);
	crypto_key_unref(k);
}

/* keystore_visible_fn: an asker that sees only unconstrained keys. */
static int
sees_unconstrained(const uint8_t *blob, size_t len, const struct destcons *dest,
    void *arg)
{
	(void)blob;
	(void)len;
	(*(int *)arg)++;
	return dest == NULL;
}

/* A set of destination constraints: origin to a host with a fake key. */
static struct destcons *
some_dest(void)
{
	static const uint8_t key[] = { 0, 0, 0, 1, 'k', 'x' };
	struct destcons *dc = NULL;
	struct wire w;
	size_t c, h;

	wire_init(&w, 1024);
	CHECK_EQ(wire_len_open(&w, &c), 0);
	CHECK_EQ(wire_len_open(&w, &h), 0); /* from: here */
	CHECK_EQ(wire_put_cstring(&w, ""), 0);
	CHECK_EQ(wire_put_cstring(&w, ""), 0);
	CHECK_EQ(wire_put_cstring(&w, ""), 0);
	CHECK_EQ(wire_len_close(&w, h), 0);
	CHECK_EQ(wire_len_open(&w, &h), 0); /* to: hostb */
	CHECK_EQ(wire_put_cstring(&w, ""), 0);
	CHECK_EQ(wire_put_cstring(&w, "hostb"), 0);
	CHECK_EQ(wire_put_cstring(&w, ""), 0);
	CHECK_EQ(wire_put_string(&w, key, sizeof(key)), 0);
	CHECK_EQ(wire_put_u8(&w, 0), 0);
	CHECK_EQ(wire_len_close(&w, h), 0);
	CHECK_EQ(wire_put_cstring(&w, ""), 0);
	CHECK_EQ(wire_len_close(&w, c), 0);
	CHECK_EQ(destcons_parse(wire_ptr(&w), wire_avail(&w), &dc), 0);
	wire_free(&w);
	return dc;
}

/*
 * A key's destination constraints stay with it; an asker that may not
 * see it does not get it listed, cannot remove it, and cannot replace it
 * (which would lift its constraints); everyone else can.
 */
static void
test_destination_visibility(void)
{
	static const int both[] = { K_ED25519, K_P256 }, p256[] = { K_P256 };
	static const char *const cm[] = { "dest", "free" };
	struct keystore *ks;
	struct wire w;
	uint32_t count;
	const uint8_t *blob;
	size_t len;
	int asked = 0;

	CHECK_EQ(keystore_new(&ks), 0);
	CHECK_EQ(keystore_add_dest(ks, keys[K_ED25519].form,
		     keys[K_ED25519].formlen, (const uint8_t *)"dest", 4, 0, 0,
		     some_dest(), NULL, NULL),
	    0);
	CHECK_EQ(add(ks, K_P256, "free", 0, 0), 0);
	CHECK(keystore_dest(ks, keys[K_ED25519].pub, keys[K_ED25519].publen) !=
	    NULL);
	CHECK(keystore_dest(ks, keys[K_P256].pub, keys[K_P256].publen) == NULL);
	check_list(ks, both, cm, 2);
	/* Filtered: one key, and the count says one. */
	wire_init(&w, 64 * 1024);
	CHECK_EQ(keystore_list_if(ks, &w, sees_unconstrained, &asked), 0);
	CHECK_EQ(asked, 2);
	CHECK_EQ(wire_get_u32(&w, &count), 0);
	CHECK_EQ(count, 1);
	CHECK_EQ(wire_get_string(&w, &blob, &len), 0);
	CHECK(len == keys[K_P256].publen &&
	    memcmp(blob, keys[K_P256].pub, len) == 0);
	wire_free(&w);
	/* Not replaced, not removed by that asker; the constraints hold. */
	CHECK_EQ(keystore_add_dest(ks, keys[K_ED25519].form,
		     keys[K_ED25519].formlen, (const uint8_t *)"dest", 4, 0, 0,
		     NULL, sees_unconstrained, &asked),
	    ERR_DENIED);
	CHECK_EQ(keystore_remove_if(ks, keys[K_ED25519].pub,
		     keys[K_ED25519].publen, sees_unconstrained, &asked),
	    ERR_NOT_FOUND);
	CHECK(keystore_dest(ks, keys[K_ED25519].pub, keys[K_ED25519].publen) !=
	    NULL);
	/* Locked, then unlocked: still constrained. */
	CHECK_EQ(keystore_lock(ks, (const uint8_t *)"pw", 2), 0);
	CHECK(keystore_dest(ks, keys[K_ED25519].pub, keys[K_ED25519].publen) ==
	    NULL);
	CHECK_EQ(keystore_unlock(ks, (const uint8_t *)"pw", 2), 0);
	CHECK(keystore_dest(ks, keys[K_ED25519].pub, keys[K_ED25519].publen) !=
	    NULL);
	/* Re-added by one who sees it, without constraints: lifted. */
	CHECK_EQ(keystore_add_dest(ks, keys[K_ED25519].form,
		     keys[K_ED25519].formlen, (const uint8_t *)"dest", 4, 0, 0,
		     NULL, NULL, NULL),
	    0);
	CHECK(keystore_dest(ks, keys[K_ED25519].pub, keys[K_ED25519].publen) ==
	    NULL);
	CHECK_EQ(keystore_remove_if(ks, keys[K_ED25519].pub,
		     keys[K_ED25519].publen, sees_unconstrained, &asked),
	    0);
	check_list(ks, p256, cm + 1, 1);
	/* A failed add frees the constraints it was given (ASan sees). */
	CHECK_EQ(keystore_add_dest(ks, keys[K_ED25519].form, 3,
		     (const uint8_t *)"x", 1, 0, 0, some_dest(), NULL,
		     NULL) != 0,
	    1);
	keystore_free(ks);
}

/* A signer that records what it was asked and signs with a marker. */

/* A token's key: only its public blob (a plain key or a certificate). */
static int
add_external(struct keystore *ks, const uint8_t *pub, size_t publen,
    const struct crypto_signer *s, const char *comment)
{
	return keystore_add_signed(ks, NULL, 0, pub, publen, s,
	    (const uint8_t *)comment, strlen(comment), 0, 0, NULL, NULL, NULL);
}

/*
 * A FIDO key (sk-ssh-ed25519) with key i's public key, its add form in
 * form and its public blob in blob (both wires the caller frees).
 */
static void
sk_key(int i, struct wire *form, struct wire *blob)
{
	static const uint8_t handle[] = { 9, 8, 7, 6, 5 };
	const uint8_t *p;
	size_t n;
	struct wire w;
	int pass;

	wire_init(form, 4096);
	wire_init(blob, 4096);
	wire_view(&w, keys[i].pub, keys[i].publen);
	CHECK_EQ(wire_get_string_eq(&w, "ssh-ed25519"), 0);
	CHECK_EQ(wire_get_string(&w, &p, &n), 0);
	for (pass = 0; pass < 2; pass++) {
		struct wire *o = pass == 0 ? form : blob;

		CHECK_EQ(wire_put_cstring(o, "sk-ssh-ed25519@openssh.com"), 0);
		CHECK_EQ(wire_put_string(o, p, n), 0);
		CHECK_EQ(wire_put_cstring(o, "ssh:"), 0);
	}
	CHECK_EQ(wire_put_u8(form, 1), 0);
	CHECK_EQ(wire_put_string(form, handle, sizeof(handle)), 0);
	CHECK_EQ(wire_put_string(form, "", 0), 0);
}

/*
 * keystore_find on blob gives a key that signs through fs; the reference
 * is kept in *keep if keep is not NULL, else released.
 */
static void
check_found_signs(struct keystore *ks, const uint8_t *blob, size_t len,
    struct fake_signer *fs, struct crypto_key **keep)
{
	static const uint8_t data[] = "to be signed";
	struct crypto_key *k;
	const char *comment;
	struct wire w;
	int confirm, calls = fs->calls;

	CHECK_EQ(keystore_find(ks, blob, len, &k, &confirm, &comment), 0);
	if (k == NULL)
		return;
	CHECK(crypto_key_signer(k) != NULL && crypto_key_signer(k)->arg == fs);
	wire_init(&w, 4096);
	CHECK_EQ(crypto_sign(k, data, sizeof(data), 0, &w), 0);
	CHECK_EQ(fs->calls, calls + 1);
	CHECK(fs->key == k);
	CHECK(wire_avail(&w) == 4 + strlen(FAKE_SIG) &&
	    memcmp(wire_ptr(&w) + 4, FAKE_SIG, strlen(FAKE_SIG)) == 0);
	wire_free(&w);
	if (keep != NULL)
		*keep = k;
	else
		crypto_key_unref(k);
}

static void
test_signed_external(void)
{
	static const char *const cm[] = { "token key", "token cert" };
	const int want[] = { K_ED25519, -1 - K_P256 };
	struct keystore *ks;
	struct crypto_signer s;
	struct fake_signer fs;
	struct crypto_key *before = NULL, *after = NULL, *k;
	const char *comment;
	int confirm;

	fake_init(&fs, &s);
	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK_EQ(add_external(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &s, cm[0]),
	    0);
	CHECK_EQ(add_external(ks, keys[K_P256].cert, keys[K_P256].certlen, &s,
		     cm[1]),
	    0);
	CHECK(fs.holds > 0);
	check_list(ks, want, cm, 2);
	check_found_signs(ks, keys[K_ED25519].pub, keys[K_ED25519].publen, &fs,
	    &before);
	check_found_signs(ks, keys[K_P256].cert, keys[K_P256].certlen, &fs,
	    NULL);
	/* No blob, no secret: nothing to add. */
	CHECK(keystore_add_signed(ks, NULL, 0, NULL, 0, &s,
		  (const uint8_t *)"x", 1, 0, 0, NULL, NULL, NULL) != 0);
	CHECK_EQ(keystore_add_signed(ks, NULL, 0, keys[K_RSA].pub,
		     keys[K_RSA].publen, NULL, (const uint8_t *)"x", 1, 0, 0,
		     NULL, NULL, NULL),
	    ERR_FORMAT);
	CHECK_EQ(keystore_count(ks), 2);

	/* Locked: gone from the list and from find. */
	CHECK_EQ(keystore_lock(ks, (const uint8_t *)"pw", 2), 0);
	check_list(ks, NULL, NULL, 0);
	k = (struct crypto_key *)(uintptr_t)1;
	CHECK_EQ(keystore_find(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &k, &confirm, &comment),
	    ERR_LOCKED);
	CHECK_EQ(keystore_unlock(ks, (const uint8_t *)"pw", 2), 0);
	check_list(ks, want, cm, 2);
	/* Back, as a new key (before is still held: no address reuse), so
	 * that a signature begun before the lock is not the new key's. */
	check_found_signs(ks, keys[K_ED25519].pub, keys[K_ED25519].publen, &fs,
	    &after);
	CHECK(after != NULL && after != before);
	check_found_signs(ks, keys[K_P256].cert, keys[K_P256].certlen, &fs,
	    NULL);
	crypto_key_unref(before);
	crypto_key_unref(after);

	/* Removed by its blob, it lets go of the signer. */
	CHECK_EQ(keystore_remove(ks, keys[K_P256].cert, keys[K_P256].certlen),
	    0);
	CHECK_EQ(keystore_count(ks), 1);
	keystore_free(ks);
	CHECK_EQ(fs.holds, 0);
}

static void
test_signed_sk(void)
{
	struct keystore *ks;
	struct crypto_signer s;
	struct fake_signer fs;
	struct crypto_key *k;
	struct crypto_sk sk;
	struct wire form, blob;
	const char *comment;
	int confirm;

	fake_init(&fs, &s);
	sk_key(K_ED25519, &form, &blob);
	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		goto out;
	/* Without a provider, nothing could sign: refused. */
	CHECK_EQ(keystore_add(ks, wire_ptr(&form), wire_avail(&form),
		     (const uint8_t *)"sk", 2, 0, 0),
	    ERR_UNSUPPORTED);
	CHECK_EQ(keystore_count(ks), 0);
	CHECK_EQ(keystore_add_signed(ks, wire_ptr(&form), wire_avail(&form),
		     NULL, 0, &s, (const uint8_t *)"sk", 2, 0, 1, NULL, NULL,
		     NULL),
	    0);
	CHECK_EQ(keystore_count(ks), 1);
	check_found_signs(ks, wire_ptr(&blob), wire_avail(&blob), &fs, NULL);
	/* Through the lock it keeps its provider and its key handle. */
	CHECK_EQ(keystore_lock(ks, (const uint8_t *)"pw", 2), 0);
	CHECK(fs.holds > 0);
	CHECK_EQ(keystore_unlock(ks, (const uint8_t *)"pw", 2), 0);
	check_found_signs(ks, wire_ptr(&blob), wire_avail(&blob), &fs, NULL);
	CHECK_EQ(keystore_find(ks, wire_ptr(&blob), wire_avail(&blob), &k,
		     &confirm, &comment),
	    0);
	if (k != NULL) {
		CHECK_EQ(crypto_key_sk(k, &sk), 1);
		CHECK(sk.handlelen == 5 && sk.handle[0] == 9);
		CHECK(sk.applen == 4 && memcmp(sk.app, "ssh:", 4) == 0);
		CHECK_EQ(confirm, 1);
		CHECK(strcmp(comment, "sk") == 0);
		crypto_key_unref(k);
	}
	keystore_free(ks);
	CHECK_EQ(fs.holds, 0);
out:
	wire_free(&form);
	wire_free(&blob);
}

static void
test_remove_signer(void)
{
	static const char *const cm[] = { "plain", "b" };
	static const char *const cm2[] = { "plain", "a2" };
	struct keystore *ks;
	struct crypto_signer sa, sb;
	struct fake_signer fa, fb;
	struct wire form, blob;
	int want[3];

	fake_init(&fa, &sa);
	fake_init(&fb, &sb);
	sk_key(K_ED25519, &form, &blob);
	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		goto out;
	/* A's: an sk key and a token key; B's: one; and a plain one. */
	CHECK_EQ(keystore_add_signed(ks, wire_ptr(&form), wire_avail(&form),
		     NULL, 0, &sa, (const uint8_t *)"a1", 2, 0, 0, NULL, NULL,
		     NULL),
	    0);
	CHECK_EQ(add(ks, K_RSA, "plain", 0, 0), 0);
	CHECK_EQ(add_external(ks, keys[K_P256].pub, keys[K_P256].publen, &sb,
		     "b"),
	    0);
	CHECK_EQ(add_external(ks, keys[K_P384].pub, keys[K_P384].publen, &sa,
		     "a2"),
	    0);
	CHECK_EQ(keystore_count(ks), 4);
	/* Nobody's: nothing goes. */
	CHECK_EQ(keystore_remove_signer(ks, &ks), 0);
	CHECK_EQ(keystore_remove_signer(ks, NULL), 0);
	CHECK_EQ(keystore_count(ks), 4);
	CHECK_EQ(keystore_remove_signer(ks, &fa), 2);
	CHECK_EQ(fa.holds, 0);
	want[0] = K_RSA;
	want[1] = K_P256;
	check_list(ks, want, cm, 2);
	CHECK_EQ(keystore_remove_signer(ks, &fa), 0);

	/* While locked too, and the rest comes back at unlock. */
	CHECK_EQ(add_external(ks, keys[K_P384].pub, keys[K_P384].publen, &sa,
		     "a2"),
	    0);
	CHECK_EQ(keystore_lock(ks, (const uint8_t *)"pw", 2), 0);
	CHECK_EQ(keystore_remove_signer(ks, &fb), 1);
	CHECK_EQ(fb.holds, 0);
	CHECK_EQ(keystore_unlock(ks, (const uint8_t *)"pw", 2), 0);
	want[1] = K_P384;
	check_list(ks, want, cm2, 2);
	CHECK(fa.holds > 0);
	keystore_free(ks);
	CHECK_EQ(fa.holds, 0);
	CHECK_EQ(fb.holds, 0);
out:
	wire_free(&form);
	wire_free(&blob);
}

/* A failed add lets go of what it took. */
static void
test_signed_add_fails(void)
{
	struct keystore *ks;
	struct crypto_signer s;
	struct fake_signer fs;
	uint8_t *cert;

	fake_init(&fs, &s);
	CHECK_EQ(keystore_new(&ks), 0);
	if (ks == NULL)
		return;
	CHECK(add_external(ks, keys[K_ED25519].pub, 10, &s, "x") != 0);
	if ((cert = malloc(keys[K_RSA].certlen)) != NULL) {
		memcpy(cert, keys[K_RSA].cert, keys[K_RSA].certlen);
		cert[keys[K_RSA].certlen - 1] ^= 1;
		CHECK_EQ(add_external(ks, cert, keys[K_RSA].certlen, &s, "x"),
		    ERR_CERT_INVALID);
		free(cert);
	}
	CHECK_EQ(fs.holds, 0);
	/* Locked: refused, nothing held. */
	CHECK_EQ(keystore_lock(ks, (const uint8_t *)"pw", 2), 0);
	CHECK_EQ(add_external(ks, keys[K_ED25519].pub, keys[K_ED25519].publen,
		     &s, "x"),
	    ERR_LOCKED);
	CHECK_EQ(fs.holds, 0);
	CHECK_EQ(keystore_count(ks), 0);
	keystore_free(ks);
	CHECK_EQ(fs.holds, 0);
}

int
main(void)
{
	int locked, i;

	CHECK_EQ(crypto_seed(), 0);
	CHECK_EQ(crypto_init(1 << 20, &locked), 0);
	all_loaded = 1;
	for (i = 0; i < K_COUNT; i++)
		all_loaded &= keyfile_load(&keys[i], keyname[i]) == 0;
	if (!all_loaded || keys[K_ED25519].cert == NULL ||
	    keys[K_P256].cert == NULL || keys[K_RSA].cert == NULL) {
		printf("FAIL fixtures from %s\n", kf_datadir());
		for (i = 0; i < K_COUNT; i++)
			keyfile_free(&keys[i]);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_new_free);
	RUN(test_add_find);
	RUN(test_list_order);
	RUN(test_readd_replaces);
	RUN(test_remove);
	RUN(test_add_invalid);
	RUN(test_certified_and_plain);
	RUN(test_lock_unlock);
	RUN(test_unlock_trailing_nul);
	RUN(test_lock_edge_cases);
	RUN(test_expire);
	RUN(test_describe);
	RUN(test_bounds);
	RUN(test_expire_while_locked);
	RUN(test_destination_visibility);
	RUN(test_reference_outlives_entry);
	RUN(test_signed_external);
	RUN(test_signed_sk);
	RUN(test_remove_signer);
	RUN(test_signed_add_fails);
	for (i = 0; i < K_COUNT; i++)
		keyfile_free(&keys[i]);
	UNIT_DONE();
}
