#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "keytype.h"
#include "sserr.h"
#include "wire.h"

#define ED25519_PK_LEN 32
#define ED25519_SK_LEN 64
#define RSA_MIN_BITS 1024
#define RSA_MAX_BITS 16384
/* A blob as large as a public key or certificate may sensibly be. */
#define BLOB_MAX (64 * 1024)

struct crypto_key {
	int refs;
	enum keytype type;
	int cert;
	/*
	 * The private parts, as a run of strings in the secure heap (see
	 * keep_private): the EVP_PKEY that signs is made from them when a
	 * signature needs it, and freed once idle (crypto_key_forget), for
	 * OpenSSL 3.0's import copies them into ordinary heap.  NULL for a
	 * key that signs elsewhere.
	 */
	uint8_t *priv;
	size_t privlen;
	/*
	 * The import, kept while signatures come (a burst pays for one) and
	 * freed by crypto_key_forget once idle: RSA's costs a Montgomery
	 * set-up and blinding, a quarter of an RSA-3072 signature.
	 */
	pthread_mutex_t lock;
	EVP_PKEY *pkey;
	uint64_t used; /* CLOCK_MONOTONIC ms of the last signature */
	uint8_t *blob;
	size_t bloblen;
	uint8_t *plain; /* the plain key's blob: blob, or what it certifies */
	size_t plainlen;
	/* A FIDO key's parts, which its provider needs to sign. */
	uint8_t *app;
	size_t applen;
	uint8_t skflags;
	uint8_t *handle; /* secure heap */
	size_t handlelen;
	struct crypto_signer signer; /* sign NULL: none */
};

/* The public half of a key as it appears on the wire. */
struct pubparts {
	enum keytype type;
	const uint8_t *pk, *q, *e, *n, *app;
	size_t pklen, qlen, elen, nlen, applen;
};

/*
 * Before anything else of libcrypto: its first use otherwise loads every
 * error string into a hash table (55 kB of heap, measured), and nothing
 * here prints OpenSSL's errors.  The configuration is still read.
 */
static void
init_lib(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL);
}

int
crypto_init(size_t heap_size, int *locked)
{
	int r;

	init_lib();
	*locked = 0;
	if (heap_size == 0 || CRYPTO_secure_malloc_initialized())
		return 0;
	r = CRYPTO_secure_malloc_init(heap_size, 32);
	if (r == 0)
		return ERR_CRYPTO;
	*locked = r == 1;
	return 0;
}

int
crypto_seed(void)
{
	unsigned char b[16];
	int r = 0;

	init_lib();
	/*
	 * Hash_DRBG with SHA-512, not OpenSSL's default CTR_DRBG with
	 * AES-256: both SP 800-90A generators of 256-bit strength, but the
	 * first cipher fetched builds the provider's whole cipher table
	 * (120 kB of heap, measured), which the agent otherwise needs only
	 * once locked (crypto_seal).  Set before openssl.cnf is read, so
	 * that a [random] section there still decides; it fails, harmlessly,
	 * where the generators already exist.
	 */
	if (RAND_set_DRBG_type(NULL, "HASH-DRBG", NULL, NULL, "SHA512") != 1)
		ERR_clear_error();
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	if (RAND_bytes(b, sizeof(b)) != 1 || RAND_priv_bytes(b, sizeof(b)) != 1)
		r = ERR_CRYPTO;
	OPENSSL_cleanse(b, sizeof(b));
	return r;
}

int
crypto_random(void *p, size_t n)
{
	return RAND_bytes(p, (int)n) == 1 ? 0 : ERR_CRYPTO;
}

int
crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void *
crypto_secure_alloc(size_t n)
{
	return OPENSSL_secure_zalloc(n);
}

void
crypto_secure_free(void *p, size_t n)
{
	if (p != NULL)
		OPENSSL_secure_clear_free(p, n);
}

/* Reads the public fields of type t; RSA in e,n order unless n_first. */
static int
get_pubparts(struct wire *w, enum keytype t, int n_first, struct pubparts *pp)
{
	int r;

	memset(pp, 0, sizeof(*pp));
	/* A FIDO key: its plain type's fields, then the application (a
	 * text, "ssh:" for SSH's own). */
	if (keytype_is_sk(t)) {
		if ((r = get_pubparts(w, keytypes[t].base, n_first, pp)) != 0 ||
		    (r = wire_get_string(w, &pp->app, &pp->applen)) != 0)
			return r;
		pp->type = t;
		if (pp->applen == 0 || pp->applen > 1024 ||
		    memchr(pp->app, '\0', pp->applen) != NULL)
			return ERR_KEY_INVALID;
		return 0;
	}
	pp->type = t;
	switch (t) {
	case KT_ED25519:
		if ((r = wire_get_string(w, &pp->pk, &pp->pklen)) != 0)
			return r;
		if (pp->pklen != ED25519_PK_LEN)
			return ERR_KEY_INVALID;
		return 0;
	case KT_P256:
	case KT_P384:
	case KT_P521:
		if ((r = wire_get_string_eq(w, keytypes[t].curve)) != 0)
			return r;
		if ((r = wire_get_string(w, &pp->q, &pp->qlen)) != 0)
			return r;
		if (pp->qlen == 0 || pp->q[0] != 0x04)
			return ERR_KEY_INVALID; /* uncompressed points only */
		return 0;
	case KT_RSA:
		if (n_first) {
			if ((r = wire_get_mpint(w, &pp->n, &pp->nlen, 0)) ||
			    (r = wire_get_mpint(w, &pp->e, &pp->elen, 0)))
				return r;
		} else {
			if ((r = wire_get_mpint(w, &pp->e, &pp->elen, 0)) ||
			    (r = wire_get_mpint(w, &pp->n, &pp->nlen, 0)))
				return r;
		}
		if (pp->nlen * 8 < RSA_MIN_BITS ||
		    pp->nlen * 8 > RSA_MAX_BITS + 8)
			return ERR_KEY_INVALID;
		return 0;
	default: return ERR_KEY_TYPE;
	}
}

/* The plain public key blob of pp. */
static int
put_pubblob(struct wire *out, const struct pubparts *pp)
{
	int r;

	if ((r = wire_put_cstring(out, keytypes[pp->type].name)) != 0)
		return r;
	switch (keytypes[pp->type].base) {
	case KT_ED25519: r = wire_put_string(out, pp->pk, pp->pklen); break;
	case KT_RSA:
		if ((r = wire_put_mpint(out, pp->e, pp->elen)) != 0)
			return r;
		r = wire_put_mpint(out, pp->n, pp->nlen);
		break;
	default:
		if ((r = wire_put_cstring(out, keytypes[pp->type].curve)) != 0)
			return r;
		r = wire_put_string(out, pp->q, pp->qlen);
		break;
	}
	if (r == 0 && keytype_is_sk(pp->type))
		r = wire_put_string(out, pp->app, pp->applen);
	return r;
}

static BIGNUM *
bn_from(const uint8_t *p, size_t n, int secret)
{
	BIGNUM *bn = secret ? BN_secure_new() : BN_new();

	if (bn != NULL && BN_bin2bn(p, (int)n, bn) == NULL) {
		BN_clear_free(bn);
		bn = NULL;
	}
	return bn;
}

/*
 * Builds an EVP_PKEY from OSSL parameters.  selection is EVP_PKEY_KEYPAIR
 * or EVP_PKEY_PUBLIC_KEY.
 */
static int
pkey_fromdata(const char *alg, OSSL_PARAM_BLD *bld, int selection,
    EVP_PKEY **out)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int r = ERR_CRYPTO;

	*out = NULL;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, selection, params) != 1) {
		r = ERR_KEY_INVALID;
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return r;
}

/* A public-only EVP_PKEY, for verification. */
static int
pub_to_pkey(const struct pubparts *pp, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	const char *group;
	int r = ERR_CRYPTO;

	*out = NULL;
	if (pp->type == KT_ED25519) {
		*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		    pp->pk, pp->pklen);
		return *out != NULL ? 0 : ERR_KEY_INVALID;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (pp->type == KT_RSA) {
		if ((n = bn_from(pp->n, pp->nlen, 0)) == NULL ||
		    (e = bn_from(pp->e, pp->elen, 0)) == NULL)
			goto out;
		if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
		r = pkey_fromdata("RSA", bld, EVP_PKEY_PUBLIC_KEY, out);
	} else {
		group = keytypes[pp->type].group;
		if (!OSSL_PARAM_BLD_push_utf8_string(bld,
			OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld,
			OSSL_PKEY_PARAM_PUB_KEY, pp->q, pp->qlen))
			goto out;
		r = pkey_fromdata("EC", bld, EVP_PKEY_PUBLIC_KEY, out);
	}
out:
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static int
get_sigparts(const uint8_t *sig, size_t slen, const uint8_t **alg, size_t *alen,
    const uint8_t **s, size_t *sl)
{
	struct wire w;
	int r;

	wire_view(&w, sig, slen);
	if ((r = wire_get_string(&w, alg, alen)) != 0 ||
	    (r = wire_get_string(&w, s, sl)) != 0)
		return r;
	return wire_end(&w);
}

/* ECDSA signature (mpint r, mpint s) to the DER form libcrypto checks. */
static int
ecdsa_sig_to_der(const uint8_t *s, size_t slen, uint8_t **der, int *derlen)
{
	struct wire w;
	const uint8_t *rp, *sp;
	size_t rl, sl;
	ECDSA_SIG *esig = NULL;
	BIGNUM *rb = NULL, *sb = NULL;
	int r;

	*der = NULL;
	*derlen = 0;
	wire_view(&w, s, slen);
	if ((r = wire_get_mpint(&w, &rp, &rl, 0)) != 0 ||
	    (r = wire_get_mpint(&w, &sp, &sl, 0)) != 0 ||
	    (r = wire_end(&w)) != 0)
		return r;
	r = ERR_CRYPTO;
	if ((esig = ECDSA_SIG_new()) == NULL ||
	    (rb = bn_from(rp, rl, 0)) == NULL ||
	    (sb = bn_from(sp, sl, 0)) == NULL)
		goto out;
	if (!ECDSA_SIG_set0(esig, rb, sb))
		goto out;
	rb = sb = NULL;
	if ((*derlen = i2d_ECDSA_SIG(esig, der)) <= 0) {
		*der = NULL;
		goto out;
	}
	r = 0;
out:
	BN_free(rb);
	BN_free(sb);
	ECDSA_SIG_free(esig);
	return r;
}

static int
verify_pubparts(const struct pubparts *pp, const uint8_t *data, size_t dlen,
    const uint8_t *sig, size_t siglen)
{
	const uint8_t *alg, *s;
	size_t alen, sl, modlen;
	const char *md = NULL;
	uint8_t *der = NULL, *padded = NULL;
	int derlen = 0, r;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;

	/* FIDO signatures (a CA on a security key) are not checked here. */
	if (keytype_is_sk(pp->type))
		return ERR_KEY_TYPE;
	if ((r = get_sigparts(sig, siglen, &alg, &alen, &s, &sl)) != 0)
		return r;
	switch (pp->type) {
	case KT_ED25519:
		if (!wire_str_is(alg, alen, "ssh-ed25519"))
			return ERR_SIG_INVALID;
		if (sl != 64)
			return ERR_FORMAT;
		break;
	case KT_RSA:
		if (wire_str_is(alg, alen, "rsa-sha2-256"))
			md = "SHA256";
		else if (wire_str_is(alg, alen, "rsa-sha2-512"))
			md = "SHA512";
		else if (wire_str_is(alg, alen, "ssh-rsa"))
			md = "SHA1";
		else
			return ERR_SIG_INVALID;
		modlen = pp->nlen;
		if (sl == 0 || sl > modlen)
			return ERR_FORMAT;
		if (sl < modlen) {
			/* Some signers drop leading zeros: pad them back. */
			if ((padded = calloc(1, modlen)) == NULL)
				return ERR_ALLOC;
			memcpy(padded + modlen - sl, s, sl);
			s = padded;
			sl = modlen;
		}
		break;
	default:
		if (!wire_str_is(alg, alen, keytypes[pp->type].name))
			return ERR_SIG_INVALID;
		md = keytypes[pp->type].md;
		if ((r = ecdsa_sig_to_der(s, sl, &der, &derlen)) != 0)
			return r;
		s = der;
		sl = (size_t)derlen;
		break;
	}
	if ((r = pub_to_pkey(pp, &pkey)) != 0)
		goto out;
	r = ERR_CRYPTO;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, pkey, NULL) != 1)
		goto out;
	r = EVP_DigestVerify(ctx, s, sl, data, dlen) == 1 ? 0 : ERR_SIG_INVALID;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	OPENSSL_free(der);
	free(padded);
	return r;
}

/* Parses a plain public key blob; the whole blob must be used. */
static int
parse_pubblob(const uint8_t *blob, size_t len, struct pubparts *pp)
{
	struct wire w;
	const uint8_t *name;
	size_t nlen;
	enum keytype t;
	int cert, r;

	wire_view(&w, blob, len);
	if ((r = wire_get_string(&w, &name, &nlen)) != 0)
		return r;
	if ((t = keytype_lookup(name, nlen, &cert)) == KT_NONE || cert)
		return ERR_KEY_TYPE;
	if ((r = get_pubparts(&w, t, 0, pp)) != 0)
		return r;
	return wire_end(&w);
}

/* A signature by a plain key (never a certificate: a CA is plain). */
static int
verify_plain(const uint8_t *key, size_t klen, const uint8_t *data, size_t dlen,
    const uint8_t *sig, size_t slen)
{
	struct pubparts pp;
	int r;

	if ((r = parse_pubblob(key, klen, &pp)) != 0)
		return r;
	return verify_pubparts(&pp, data, dlen, sig, slen);
}

static int parse_cert(const uint8_t *cert, size_t len, enum keytype t,
    struct pubparts *pp, struct crypto_cert *info);

int
crypto_cert_info(const uint8_t *blob, size_t len, struct crypto_cert *out)
{
	struct pubparts pp;
	struct wire w;
	const uint8_t *name;
	size_t nlen;
	enum keytype t;
	int cert, r;

	memset(out, 0, sizeof(*out));
	wire_view(&w, blob, len);
	if ((r = wire_get_string(&w, &name, &nlen)) != 0)
		return r;
	if ((t = keytype_lookup(name, nlen, &cert)) == KT_NONE)
		return ERR_KEY_TYPE;
	if (!cert)
		return ERR_CERT_INVALID;
	if ((r = parse_cert(blob, len, t, &pp, out)) != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int
crypto_verify(const uint8_t *key, size_t klen, const uint8_t *data, size_t dlen,
    const uint8_t *sig, size_t slen)
{
	struct pubparts pp;
	struct wire w;
	const uint8_t *name;
	size_t nlen;
	enum keytype t;
	int cert, r;

	/* A certificate (a host's, in session-bind) signs with the key it
	 * certifies, once its own CA signature holds, as in OpenSSH. */
	wire_view(&w, key, klen);
	if ((r = wire_get_string(&w, &name, &nlen)) != 0)
		return r;
	if ((t = keytype_lookup(name, nlen, &cert)) == KT_NONE)
		return ERR_KEY_TYPE;
	if (!cert)
		return verify_plain(key, klen, data, dlen, sig, slen);
	if ((r = parse_cert(key, klen, t, &pp, NULL)) != 0)
		return r;
	return verify_pubparts(&pp, data, dlen, sig, slen);
}

/*
 * Parses a certificate of key type t, checks its CA signature, and
 * returns the certified public key in *pp (pointing into cert), and when
 * info is not NULL what a caller judges the certificate by.
 */
static int
parse_cert(const uint8_t *cert, size_t len, enum keytype t, struct pubparts *pp,
    struct crypto_cert *info)
{
	struct wire w, sub;
	const uint8_t *p, *cakey, *sig, *crit;
	size_t n, calen, siglen, signed_len, critlen;
	uint64_t after, before, u64;
	uint32_t ctype;
	int r;

	wire_view(&w, cert, len);
	if ((r = wire_get_string_eq(&w, keytypes[t].cert_name)) != 0 ||
	    (r = wire_get_string(&w, &p, &n)) != 0 || /* nonce */
	    (r = get_pubparts(&w, t, 0, pp)) != 0 ||
	    (r = wire_get_u64(&w, &u64)) != 0 || /* serial */
	    (r = wire_get_u32(&w, &ctype)) != 0 ||
	    (r = wire_get_string(&w, &p, &n)) != 0 ||  /* key id */
	    (r = wire_get_string_wire(&w, &sub)) != 0) /* principals */
		goto bad;
	if (ctype != 1 && ctype != 2) {
		r = ERR_CERT_INVALID;
		goto bad;
	}
	while (wire_avail(&sub) > 0) {
		if ((r = wire_get_string(&sub, &p, &n)) != 0)
			goto bad;
	}
	if ((r = wire_get_u64(&w, &after)) != 0 ||
	    (r = wire_get_u64(&w, &before)) != 0 ||
	    (r = wire_get_string(&w, &crit, &critlen)) != 0 ||
	    (r = wire_get_string(&w, &p, &n)) != 0 || /* extensions */
	    (r = wire_get_string(&w, &p, &n)) != 0 || /* reserved */
	    (r = wire_get_string(&w, &cakey, &calen)) != 0)
		goto bad;
	signed_len = len - wire_avail(&w);
	if ((r = wire_get_string(&w, &sig, &siglen)) != 0 ||
	    (r = wire_end(&w)) != 0)
		goto bad;
	r = verify_plain(cakey, calen, cert, signed_len, sig, siglen);
	if (r != 0) {
		r = ERR_CERT_INVALID;
		goto bad;
	}
	if (info != NULL) {
		info->type = ctype;
		info->valid_after = after;
		info->valid_before = before;
		info->criticallen = critlen;
		info->principals = sub.buf; /* all read: the whole view */
		info->principalslen = sub.len;
		info->ca = cakey;
		info->calen = calen;
		info->sha1 = siglen >= 11 &&
		    memcmp(sig, "\0\0\0\7ssh-rsa", 11) == 0;
	}
	return 0;
bad:
	return r == ERR_TRUNCATED || r == ERR_TRAILING ? ERR_CERT_INVALID : r;
}

static int
build_ed25519(const struct pubparts *pp, const uint8_t *sk, size_t sklen,
    EVP_PKEY **out)
{
	uint8_t pub[ED25519_PK_LEN];
	size_t publen = sizeof(pub);

	*out = NULL;
	/* OpenSSH's secret is the 32-byte seed followed by the public key. */
	if (sklen != ED25519_SK_LEN ||
	    !crypto_equal(sk + 32, pp->pk, ED25519_PK_LEN))
		return ERR_KEY_INVALID;
	*out = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32);
	if (*out == NULL)
		return ERR_KEY_INVALID;
	if (EVP_PKEY_get_raw_public_key(*out, pub, &publen) != 1 ||
	    publen != ED25519_PK_LEN || memcmp(pub, pp->pk, publen) != 0) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return ERR_KEY_INVALID;
	}
	return 0;
}

static int
build_ecdsa(const struct pubparts *pp, const uint8_t *d, size_t dlen, int check,
    EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *priv = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int r = ERR_CRYPTO;

	*out = NULL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    (priv = bn_from(d, dlen, 1)) == NULL)
		goto out;
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
		keytypes[pp->type].group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
		pp->q, pp->qlen) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv))
		goto out;
	if ((r = pkey_fromdata("EC", bld, EVP_PKEY_KEYPAIR, out)) != 0 ||
	    !check)
		goto out;
	/*
	 * The point must be on the curve and be d times the generator.  The
	 * quick check leaves out n * Q = O, which every point on a curve of
	 * prime order (all three NIST curves: cofactor 1) satisfies, and
	 * which costs a second scalar multiplication.
	 */
	r = ERR_KEY_INVALID;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL)) == NULL ||
	    EVP_PKEY_public_check_quick(ctx) != 1 ||
	    EVP_PKEY_pairwise_check(ctx) != 1)
		goto out;
	r = 0;
out:
	if (r != 0) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	BN_clear_free(priv);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

/* d, iqmp, p, q as OpenSSH sends them; CRT exponents are derived here. */
struct rsapriv {
	const uint8_t *d, *iqmp, *p, *q;
	size_t dl, iqmpl, pl, ql;
};

static int
build_rsa(const struct pubparts *pp, const struct rsapriv *rp, int check,
    EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL, *d = NULL, *iqmp = NULL, *p = NULL;
	BIGNUM *q = NULL, *dmp1 = NULL, *dmq1 = NULL, *tmp = NULL;
	BN_CTX *bnctx = NULL;
	int r = ERR_CRYPTO;

	*out = NULL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    (bnctx = BN_CTX_secure_new()) == NULL ||
	    (n = bn_from(pp->n, pp->nlen, 0)) == NULL ||
	    (e = bn_from(pp->e, pp->elen, 0)) == NULL ||
	    (d = bn_from(rp->d, rp->dl, 1)) == NULL ||
	    (iqmp = bn_from(rp->iqmp, rp->iqmpl, 1)) == NULL ||
	    (p = bn_from(rp->p, rp->pl, 1)) == NULL ||
	    (q = bn_from(rp->q, rp->ql, 1)) == NULL ||
	    (dmp1 = BN_secure_new()) == NULL ||
	    (dmq1 = BN_secure_new()) == NULL || (tmp = BN_secure_new()) == NULL)
		goto out;
	r = ERR_KEY_INVALID;
	if (BN_num_bits(n) < RSA_MIN_BITS || BN_num_bits(n) > RSA_MAX_BITS)
		goto out;
	if (!check)
		goto derive;
	/*
	 * n = p * q, iqmp = q^-1 mod p, and e * d = 1 modulo p - 1 and q - 1,
	 * or the parts are not one key (and would sign garbage).
	 */
	if (!BN_mul(tmp, p, q, bnctx) || BN_cmp(tmp, n) != 0)
		goto out;
	if (!BN_mod_mul(tmp, iqmp, q, p, bnctx) || !BN_is_one(tmp))
		goto out;
	if (!BN_sub(dmp1, p, BN_value_one()) ||
	    !BN_mod_mul(tmp, e, d, dmp1, bnctx) || !BN_is_one(tmp) ||
	    !BN_sub(dmq1, q, BN_value_one()) ||
	    !BN_mod_mul(tmp, e, d, dmq1, bnctx) || !BN_is_one(tmp))
		goto out;
derive:
	r = ERR_CRYPTO;
	if (!BN_sub(tmp, p, BN_value_one()) || !BN_mod(dmp1, d, tmp, bnctx) ||
	    !BN_sub(tmp, q, BN_value_one()) || !BN_mod(dmq1, d, tmp, bnctx))
		goto out;
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dmp1) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dmq1) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
		iqmp))
		goto out;
	r = pkey_fromdata("RSA", bld, EVP_PKEY_KEYPAIR, out);
out:
	BN_free(n);
	BN_free(e);
	BN_clear_free(d);
	BN_clear_free(iqmp);
	BN_clear_free(p);
	BN_clear_free(q);
	BN_clear_free(dmp1);
	BN_clear_free(dmq1);
	BN_clear_free(tmp);
	BN_CTX_free(bnctx);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static int set_blobs(struct crypto_key *k, const struct pubparts *pp,
    const uint8_t *cert, size_t certlen);

static struct crypto_key *
key_new(void)
{
	struct crypto_key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if (pthread_mutex_init(&k->lock, NULL) != 0) {
		free(k);
		return NULL;
	}
	k->refs = 1;
	return k;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
static int parse_sk(struct wire *w, const struct pubparts *pp, int iscert,
    struct crypto_key *k);
static int keep_private(struct crypto_key *k, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen, const struct rsapriv *rp);

int
crypto_key_parse(const uint8_t *blob, size_t len, struct crypto_key **out)
{
	struct wire w;
	const uint8_t *name, *cert = NULL, *sk, *pk, *d;
	size_t nlen, certlen = 0, sklen, pklen, dl;
	struct pubparts pp;
	struct rsapriv rp;
	struct crypto_key *k = NULL;
	EVP_PKEY *pkey = NULL; /* checked, then let go */
	enum keytype t;
	int iscert, r;

	*out = NULL;
	wire_view(&w, blob, len);
	if ((r = wire_get_string(&w, &name, &nlen)) != 0)
		goto out;
	if ((t = keytype_lookup(name, nlen, &iscert)) == KT_NONE) {
		r = ERR_KEY_TYPE;
		goto out;
	}
	if ((k = key_new()) == NULL) {
		r = ERR_ALLOC;
		goto out;
	}
	k->type = t;
	k->cert = iscert;
	if (iscert) {
		if ((r = wire_get_string(&w, &cert, &certlen)) != 0 ||
		    (r = parse_cert(cert, certlen, t, &pp, NULL)) != 0)
			goto out;
	} else if (t != KT_RSA) {
		if ((r = get_pubparts(&w, t, 1, &pp)) != 0)
			goto out;
	}
	switch (t) {
	case KT_ED25519:
		if (iscert) {
			/* The key repeats the certified public key. */
			if ((r = wire_get_string(&w, &pk, &pklen)) != 0)
				goto out;
			if (pklen != ED25519_PK_LEN ||
			    memcmp(pk, pp.pk, pklen) != 0) {
				r = ERR_KEY_INVALID;
				goto out;
			}
		}
		if ((r = wire_get_string(&w, &sk, &sklen)) != 0 ||
		    (r = wire_end(&w)) != 0)
			goto out;
		if ((r = build_ed25519(&pp, sk, sklen, &pkey)) == 0)
			r = keep_private(k, sk, 32, pp.pk, pp.pklen, NULL);
		break;
	case KT_RSA:
		if (!iscert && (r = get_pubparts(&w, t, 1, &pp)) != 0)
			goto out;
		if ((r = wire_get_mpint(&w, &rp.d, &rp.dl, 0)) != 0 ||
		    (r = wire_get_mpint(&w, &rp.iqmp, &rp.iqmpl, 0)) != 0 ||
		    (r = wire_get_mpint(&w, &rp.p, &rp.pl, 0)) != 0 ||
		    (r = wire_get_mpint(&w, &rp.q, &rp.ql, 0)) != 0 ||
		    (r = wire_end(&w)) != 0)
			goto out;
		if ((r = build_rsa(&pp, &rp, 1, &pkey)) == 0)
			r = keep_private(k, pp.n, pp.nlen, pp.e, pp.elen, &rp);
		break;
	case KT_SK_ED25519:
	case KT_SK_P256: r = parse_sk(&w, &pp, iscert, k); break;
	default:
		if ((r = wire_get_mpint(&w, &d, &dl, 0)) != 0 ||
		    (r = wire_end(&w)) != 0)
			goto out;
		if ((r = build_ecdsa(&pp, d, dl, 1, &pkey)) == 0)
			r = keep_private(k, d, dl, pp.q, pp.qlen, NULL);
		break;
	}
	if (r != 0 || (r = set_blobs(k, &pp, cert, certlen)) != 0)
		goto out;
	*out = k;
	k = NULL;
out:
	EVP_PKEY_free(pkey);
	crypto_key_unref(k);
	return r;
}

/* Appends one string (u32 length, bytes) at *p. */
static void
put_str(uint8_t **p, const uint8_t *s, size_t n)
{
	(*p)[0] = (uint8_t)(n >> 24);
	(*p)[1] = (uint8_t)(n >> 16);
	(*p)[2] = (uint8_t)(n >> 8);
	(*p)[3] = (uint8_t)n;
	memcpy(*p + 4, s, n);
	*p += 4 + n;
}

/*
 * Keeps k's private parts in the secure heap, as strings: Ed25519 seed
 * and public key (a, b); ECDSA d and Q (a, b); RSA n, e (a, b), then
 * d, iqmp, p and q (rp).
 */
static int
keep_private(struct crypto_key *k, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen, const struct rsapriv *rp)
{
	uint8_t *p;
	size_t n = 8 + alen + blen;

	if (rp != NULL)
		n += 16 + rp->dl + rp->iqmpl + rp->pl + rp->ql;
	if ((k->priv = crypto_secure_alloc(n)) == NULL)
		return ERR_ALLOC;
	k->privlen = n;
	p = k->priv;
	put_str(&p, a, alen);
	put_str(&p, b, blen);
	if (rp != NULL) {
		put_str(&p, rp->d, rp->dl);
		put_str(&p, rp->iqmp, rp->iqmpl);
		put_str(&p, rp->p, rp->pl);
		put_str(&p, rp->q, rp->ql);
	}
	return 0;
}

/*
 * The EVP_PKEY of k, made from its private parts (checked when the key
 * was added: not again).  Its copies of them live in ordinary heap until
 * EVP_PKEY_free, which wipes them.
 */
static int
sign_pkey(const struct crypto_key *k, EVP_PKEY **out)
{
	struct pubparts pp;
	struct rsapriv rp;
	struct wire w;
	const uint8_t *a, *b;
	size_t alen, blen;
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	int r;

	*out = NULL;
	memset(&pp, 0, sizeof(pp));
	pp.type = k->type;
	wire_view(&w, k->priv, k->privlen);
	if ((r = wire_get_string(&w, &a, &alen)) != 0 ||
	    (r = wire_get_string(&w, &b, &blen)) != 0)
		return r;
	switch (k->type) {
	case KT_ED25519:
		/* Both halves: the public key is not derived again. */
		params[0] =
		    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY,
			(void *)a, alen);
		params[1] =
		    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
			(void *)b, blen);
		params[2] = OSSL_PARAM_construct_end();
		r = ERR_CRYPTO;
		if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "ED25519", NULL)) !=
			NULL &&
		    EVP_PKEY_fromdata_init(ctx) == 1 &&
		    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) == 1)
			r = 0;
		EVP_PKEY_CTX_free(ctx);
		return r;
	case KT_RSA:
		pp.n = a;
		pp.nlen = alen;
		pp.e = b;
		pp.elen = blen;
		if ((r = wire_get_string(&w, &rp.d, &rp.dl)) != 0 ||
		    (r = wire_get_string(&w, &rp.iqmp, &rp.iqmpl)) != 0 ||
		    (r = wire_get_string(&w, &rp.p, &rp.pl)) != 0 ||
		    (r = wire_get_string(&w, &rp.q, &rp.ql)) != 0)
			return r;
		return build_rsa(&pp, &rp, 0, out);
	default:
		pp.q = b;
		pp.qlen = blen;
		return build_ecdsa(&pp, a, alen, 0, out);
	}
}

/* k's blob (the certificate, if cert is not NULL) and its plain blob. */
static int
set_blobs(struct crypto_key *k, const struct pubparts *pp, const uint8_t *cert,
    size_t certlen)
{
	struct wire w;
	int r;

	wire_init(&w, BLOB_MAX);
	if ((r = put_pubblob(&w, pp)) != 0)
		goto out;
	r = ERR_ALLOC;
	if ((k->plain = malloc(wire_avail(&w))) == NULL)
		goto out;
	k->plainlen = wire_avail(&w);
	memcpy(k->plain, wire_ptr(&w), k->plainlen);
	if (cert == NULL) {
		cert = k->plain;
		certlen = k->plainlen;
	}
	if ((k->blob = malloc(certlen)) == NULL)
		goto out;
	k->bloblen = certlen;
	memcpy(k->blob, cert, certlen);
	r = 0;
out:
	wire_free(&w);
	return r;
}

/*
 * The rest of a FIDO key after its public parts: for a certificate the
 * certified key again (Ed25519) and the application, then the flags, the
 * key handle and a reserved string.  No private key: the token has it.
 */
static int
parse_sk(struct wire *w, const struct pubparts *pp, int iscert,
    struct crypto_key *k)
{
	const uint8_t *p, *handle;
	size_t n, handlelen;
	int r;

	if (iscert && pp->type == KT_SK_ED25519) {
		if ((r = wire_get_string(w, &p, &n)) != 0)
			return r;
		if (n != pp->pklen || memcmp(p, pp->pk, n) != 0)
			return ERR_KEY_INVALID;
	}
	if (iscert) {
		if ((r = wire_get_string(w, &p, &n)) != 0)
			return r;
		if (n != pp->applen || memcmp(p, pp->app, n) != 0)
			return ERR_KEY_INVALID;
	}
	if ((r = wire_get_u8(w, &k->skflags)) != 0 ||
	    (r = wire_get_string(w, &handle, &handlelen)) != 0 ||
	    (r = wire_get_string(w, &p, &n)) != 0 || /* reserved */
	    (r = wire_end(w)) != 0)
		return r;
	if (handlelen == 0 || handlelen > 4096)
		return ERR_KEY_INVALID;
	if ((k->app = malloc(pp->applen)) == NULL ||
	    (k->handle = crypto_secure_alloc(handlelen)) == NULL)
		return ERR_ALLOC;
	memcpy(k->app, pp->app, pp->applen);
	k->applen = pp->applen;
	memcpy(k->handle, handle, handlelen);
	k->handlelen = handlelen;
	return 0;
}

int
crypto_key_external(const uint8_t *blob, size_t len,
    const struct crypto_signer *signer, struct crypto_key **out)
{
	struct crypto_key *k = NULL;
	struct pubparts pp;
	struct wire w;
	const uint8_t *name;
	size_t nlen;
	enum keytype t;
	int cert, r;

	*out = NULL;
	wire_view(&w, blob, len);
	if ((r = wire_get_string(&w, &name, &nlen)) != 0)
		return r;
	/* A FIDO key comes with its key handle, by ADD_IDENTITY. */
	if ((t = keytype_lookup(name, nlen, &cert)) == KT_NONE ||
	    keytype_is_sk(t))
		return ERR_KEY_TYPE;
	r = cert ? parse_cert(blob, len, t, &pp, NULL) :
		   parse_pubblob(blob, len, &pp);
	if (r != 0)
		return r;
	if ((k = key_new()) == NULL)
		return ERR_ALLOC;
	k->type = t;
	k->cert = cert;
	if ((r = set_blobs(k, &pp, cert ? blob : NULL, len)) != 0) {
		crypto_key_unref(k);
		return r;
	}
	crypto_key_set_signer(k, signer);
	*out = k;
	return 0;
}

void
crypto_key_set_signer(struct crypto_key *k, const struct crypto_signer *s)
{
	if (k->signer.hold != NULL)
		k->signer.hold(k->signer.arg, -1);
	memset(&k->signer, 0, sizeof(k->signer));
	if (s != NULL) {
		k->signer = *s;
		if (s->hold != NULL)
			s->hold(s->arg, 1);
	}
}

const struct crypto_signer *
crypto_key_signer(const struct crypto_key *k)
{
	return k->signer.sign != NULL ? &k->signer : NULL;
}

const uint8_t *
crypto_key_plain(const struct crypto_key *k, size_t *len)
{
	*len = k->plainlen;
	return k->plain;
}

int
crypto_key_sk(const struct crypto_key *k, struct crypto_sk *out)
{
	memset(out, 0, sizeof(*out));
	if (!keytype_is_sk(k->type))
		return 0;
	out->alg = keytypes[k->type].name;
	out->ecdsa = k->type == KT_SK_P256;
	out->app = k->app;
	out->applen = k->applen;
	out->flags = k->skflags;
	out->handle = k->handle;
	out->handlelen = k->handlelen;
	return 1;
}

struct crypto_key *
crypto_key_ref(struct crypto_key *k)
{
	k->refs++;
	return k;
}

void
crypto_key_unref(struct crypto_key *k)
{
	if (k == NULL || --k->refs > 0)
		return;
	crypto_key_set_signer(k, NULL);
	EVP_PKEY_free(k->pkey);
	pthread_mutex_destroy(&k->lock);
	crypto_secure_free(k->priv, k->privlen);
	free(k->blob);
	free(k->plain);
	free(k->app);
	crypto_secure_free(k->handle, k->handlelen);
	free(k);
}

const uint8_t *
crypto_key_blob(const struct crypto_key *k, size_t *len)
{
	*len = k->bloblen;
	return k->blob;
}

/* The raw signature bytes from libcrypto, in *sig (OPENSSL_free). */
static int
raw_sign(EVP_PKEY *pkey, const char *md, const uint8_t *data, size_t dlen,
    uint8_t **sig, size_t *slen)
{
	EVP_MD_CTX *ctx = NULL;
	int r = ERR_CRYPTO;

	*sig = NULL;
	*slen = 0;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, pkey, NULL) != 1)
		goto out;
	if (EVP_DigestSign(ctx, NULL, slen, data, dlen) != 1)
		goto out;
	if ((*sig = OPENSSL_malloc(*slen)) == NULL) {
		r = ERR_ALLOC;
		goto out;
	}
	if (EVP_DigestSign(ctx, *sig, slen, data, dlen) != 1) {
		OPENSSL_free(*sig);
		*sig = NULL;
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

/* Appends (mpint r, mpint s) from a DER ECDSA signature. */
static int
put_ecdsa_sig(struct wire *out, const uint8_t *der, size_t derlen)
{
	const unsigned char *p = der;
	ECDSA_SIG *esig;
	const BIGNUM *rb, *sb;
	uint8_t buf[2 * 66 + 16];
	size_t at;
	int r, rl, sl;

	if ((esig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		return ERR_CRYPTO;
	ECDSA_SIG_get0(esig, &rb, &sb);
	rl = BN_num_bytes(rb);
	sl = BN_num_bytes(sb);
	r = ERR_CRYPTO;
	if (rl + sl > (int)sizeof(buf))
		goto out;
	BN_bn2bin(rb, buf);
	BN_bn2bin(sb, buf + rl);
	/* A string holding two mpints, its length patched in afterwards. */
	if ((r = wire_len_open(out, &at)) != 0 ||
	    (r = wire_put_mpint(out, buf, rl)) != 0 ||
	    (r = wire_put_mpint(out, buf + rl, sl)) != 0)
		goto out;
	r = wire_len_close(out, at);
out:
	ECDSA_SIG_free(esig);
	return r;
}

/* A reference to k's import, made now if need be (one at a time). */
static int
take_pkey(const struct crypto_key *ck, EVP_PKEY **out)
{
	struct crypto_key *k = (struct crypto_key *)ck; /* the cache only */
	int r = 0;

	pthread_mutex_lock(&k->lock);
	if (k->pkey == NULL)
		r = sign_pkey(k, &k->pkey);
	if (r == 0 && EVP_PKEY_up_ref(k->pkey) != 1)
		r = ERR_CRYPTO;
	if (r == 0) {
		*out = k->pkey;
		k->used = mono_ms();
	}
	pthread_mutex_unlock(&k->lock);
	return r;
}

int
crypto_key_forget(struct crypto_key *k, unsigned idle_ms)
{
	EVP_PKEY *gone = NULL;
	int kept;

	pthread_mutex_lock(&k->lock);
	if (k->pkey != NULL && mono_ms() - k->used >= idle_ms) {
		gone = k->pkey;
		k->pkey = NULL;
	}
	kept = k->pkey != NULL;
	pthread_mutex_unlock(&k->lock);
	/* Wiped now, or by the last signature still using it. */
	EVP_PKEY_free(gone);
	return kept;
}

int
crypto_sign(const struct crypto_key *k, const uint8_t *data, size_t dlen,
    uint32_t flags, struct wire *out)
{
	const char *alg, *md = NULL;
	uint8_t *sig = NULL;
	size_t slen = 0;
	EVP_PKEY *pkey = NULL;
	int r;

	/* A token's key: its helper signs. */
	if (k->signer.sign != NULL)
		return k->signer.sign(k->signer.arg, k, data, dlen, flags, out);
	if (k->priv == NULL)
		return ERR_UNSUPPORTED;
	switch (k->type) {
	case KT_ED25519: alg = keytypes[k->type].name; break;
	case KT_RSA:
		/* Both flags: sha2-256 wins, as in OpenSSH's agent. */
		if (flags & CRYPTO_SIGN_RSA_SHA2_256) {
			alg = "rsa-sha2-256";
			md = "SHA256";
		} else if (flags & CRYPTO_SIGN_RSA_SHA2_512) {
			alg = "rsa-sha2-512";
			md = "SHA512";
		} else {
			alg = "ssh-rsa";
			md = "SHA1";
		}
		break;
	default:
		alg = keytypes[k->type].name;
		md = keytypes[k->type].md;
		break;
	}
	if ((r = take_pkey(k, &pkey)) != 0)
		return r;
	r = raw_sign(pkey, md, data, dlen, &sig, &slen);
	EVP_PKEY_free(pkey);
	if (r != 0)
		return r;
	if ((r = wire_put_cstring(out, alg)) != 0)
		goto out;
	if (k->type == KT_ED25519 || k->type == KT_RSA)
		r = wire_put_string(out, sig, slen);
	else
		r = put_ecdsa_sig(out, sig, slen);
out:
	OPENSSL_free(sig);
	return r;
}

int
crypto_digest(const char *md, const uint8_t *data, size_t len, uint8_t out[64],
    size_t *outlen)
{
	const EVP_MD *m = EVP_get_digestbyname(md);
	unsigned int n = 0;

	*outlen = 0;
	if (m == NULL || EVP_MD_get_size(m) > 64 ||
	    EVP_Digest(data, len, out, &n, m, NULL) != 1)
		return ERR_CRYPTO;
	*outlen = n;
	return 0;
}

int
crypto_ecdsa_der_rs(const uint8_t *der, size_t len, uint8_t *r, size_t *rlen,
    uint8_t *s, size_t *slen, size_t room)
{
	const unsigned char *p = der;
	const BIGNUM *rb, *sb;
	ECDSA_SIG *esig;
	int rc = ERR_FORMAT;

	*rlen = *slen = 0;
	if ((esig = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		return ERR_FORMAT;
	ECDSA_SIG_get0(esig, &rb, &sb);
	if (p == der + len && BN_num_bytes(rb) <= (int)room &&
	    BN_num_bytes(sb) <= (int)room) {
		*rlen = (size_t)BN_bn2bin(rb, r);
		*slen = (size_t)BN_bn2bin(sb, s);
		rc = 0;
	}
	ECDSA_SIG_free(esig);
	return rc;
}

int
crypto_fingerprint(const uint8_t *blob, size_t len, char *buf, size_t size)
{
	uint8_t dgst[32];
	unsigned char b64[48];
	unsigned int dlen = sizeof(dgst);
	int n;

	if (EVP_Digest(blob, len, dgst, &dlen, EVP_sha256(), NULL) != 1)
		return ERR_CRYPTO;
	n = EVP_EncodeBlock(b64, dgst, (int)dlen);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	b64[n] = '\0';
	if ((size_t)n + 8 > size)
		return ERR_TOO_LONG;
	memcpy(buf, "SHA256:", 7);
	memcpy(buf + 7, b64, (size_t)n + 1);
	return 0;
}

int
crypto_kdf(const uint8_t *pass, size_t plen, const uint8_t *salt, size_t slen,
    unsigned iterations, uint8_t *out, size_t olen)
{
	uint8_t key[64], len[8];
	unsigned int klen = sizeof(key);
	EVP_MD_CTX *ctx;
	int r = ERR_CRYPTO, i;

	/*
	 * HMAC pads short keys with zeros and hashes long ones, so "pw" and
	 * "pw\0" would derive the same key.  Hash the length-prefixed
	 * passphrase first: every passphrase then gives a distinct 64 bytes.
	 */
	for (i = 0; i < 8; i++)
		len[i] = (uint8_t)((uint64_t)plen >> (56 - 8 * i));
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return ERR_CRYPTO;
	if (EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, len, sizeof(len)) == 1 &&
	    EVP_DigestUpdate(ctx, pass, plen) == 1 &&
	    EVP_DigestFinal_ex(ctx, key, &klen) == 1 &&
	    PKCS5_PBKDF2_HMAC((const char *)key, (int)klen, salt, (int)slen,
		(int)iterations, EVP_sha512(), (int)olen, out) == 1)
		r = 0;
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

#define GCM_NONCE 12
#define GCM_TAG 16

int
crypto_seal(const uint8_t key[32], const uint8_t *plain, size_t plen,
    struct wire *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t nonce[GCM_NONCE], tag[GCM_TAG], *ct;
	int len, r;

	if (plen > INT32_MAX)
		return ERR_TOO_LONG;
	if ((r = crypto_random(nonce, sizeof(nonce))) != 0)
		return r;
	if ((r = wire_put(out, nonce, sizeof(nonce))) != 0 ||
	    (r = wire_reserve(out, plen + GCM_TAG, &ct)) != 0)
		return r;
	r = ERR_CRYPTO;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &len, plain, (int)plen) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG, tag) != 1)
		goto out;
	memcpy(ct + plen, tag, GCM_TAG);
	wire_commit(out, plen + GCM_TAG);
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int
crypto_open(const uint8_t key[32], const uint8_t *sealed, size_t slen,
    uint8_t **plain, size_t *plen)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *pt = NULL, tag[GCM_TAG];
	const uint8_t *ct;
	size_t ctlen;
	int len, r = ERR_FORMAT;

	*plain = NULL;
	*plen = 0;
	if (slen < GCM_NONCE + GCM_TAG || slen > INT32_MAX)
		return r;
	ctlen = slen - GCM_NONCE - GCM_TAG;
	memcpy(tag, sealed + slen - GCM_TAG, GCM_TAG);
	r = ERR_ALLOC;
	if ((pt = crypto_secure_alloc(ctlen + 1)) == NULL)
		goto out;
	r = ERR_CRYPTO;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, sealed) != 1)
		goto out;
	ct = sealed + GCM_NONCE;
	if (EVP_DecryptUpdate(ctx, pt, &len, ct, (int)ctlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG, tag) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(ctx, pt + len, &len) != 1) {
		r = ERR_DENIED;
		goto out;
	}
	*plain = pt;
	*plen = ctlen;
	pt = NULL;
	r = 0;
out:
	crypto_secure_free(pt, ctlen + 1);
	EVP_CIPHER_CTX_free(ctx);
	return r;
}
