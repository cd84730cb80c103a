/*
 * crypto: key import for every supported type and certificate, from the
 * fixtures in tests/data/; signing and verification, with OpenSSH's own
 * ssh-keygen as the referee (fingerprints, SSHSIG in both directions);
 * every way a key form can be cut short or made inconsistent; sealing,
 * key derivation and the small helpers.  FIDO keys (built by hand:
 * parsed, held and signed only through a provider) and keys known only by
 * their public blob (crypto_key_external), with a fake signer.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sserr.h"
#include "keyfile.h"
#include "runproc.h"
#include "fakesigner.h"
#include "unit.h"
#include "wire.h"

enum {
	K_ED25519,
	K_ED25519_OTHER,
	K_P256,
	K_P256_OTHER,
	K_P384,
	K_P521,
	K_RSA2048,
	K_RSA1024,
	K_CA,
	K_COUNT
};

static const char *const keyname[K_COUNT] = {
	[K_ED25519] = "id_ed25519",
	[K_ED25519_OTHER] = "id_ed25519_other",
	[K_P256] = "id_ecdsa256",
	[K_P256_OTHER] = "id_ecdsa256_other",
	[K_P384] = "id_ecdsa384",
	[K_P521] = "id_ecdsa521",
	[K_RSA2048] = "id_rsa2048",
	[K_RSA1024] = "id_rsa1024",
	[K_CA] = "ca_ed25519",
};

static struct keyfile keys[K_COUNT];
static int loaded[K_COUNT];

/* The fixture, or NULL (and a failed check) if it did not load. */
static const struct keyfile *
key(int i)
{
	if (!loaded[i]) {
		fprintf(stderr, "  fixture %s not loaded\n", keyname[i]);
		unit_failed_checks++;
		return NULL;
	}
	return &keys[i];
}

static int
is_rsa(const struct keyfile *kf)
{
	return strcmp(kf->type, "ssh-rsa") == 0;
}

/* The certified form of kf (with cert, possibly another key's). */
static void
put_certform(struct wire *w, const struct keyfile *kf,
    const struct keyfile *certkf)
{
	CHECK_EQ(keyform_put_cert(w, certkf->certtype, certkf->cert,
		     certkf->certlen, kf),
	    0);
}

/* crypto_key_parse of a wire's contents; the key is released. */
static int
parse_wire(const struct wire *w)
{
	struct crypto_key *k = (struct crypto_key *)(uintptr_t)1;
	int r;

	r = crypto_key_parse(wire_ptr(w), wire_avail(w), &k);
	if (r != 0)
		CHECK(k == NULL);
	crypto_key_unref(k);
	return r;
}

/* Splits a signature blob into its algorithm name and raw bytes. */
static int
sig_parts(const uint8_t *sig, size_t len, char *alg, size_t algsize,
    const uint8_t **raw, size_t *rawlen)
{
	const uint8_t *a;
	size_t alen;
	struct wire w;

	wire_view(&w, sig, len);
	if (wire_get_string(&w, &a, &alen) != 0 || alen >= algsize ||
	    wire_get_string(&w, raw, rawlen) != 0 || wire_end(&w) != 0)
		return -1;
	memcpy(alg, a, alen);
	alg[alen] = '\0';
	return 0;
}

static void
test_fixtures(void)
{
	char want[64];
	int i;

	for (i = 0; i < K_COUNT; i++) {
		CHECK_EQ(keyfile_load(&keys[i], keyname[i]), 0);
		loaded[i] = keys[i].data != NULL;
		if (!loaded[i])
			continue;
		/* The file's public section is the .pub blob. */
		CHECK(keys[i].filepublen == keys[i].publen &&
		    memcmp(keys[i].filepub, keys[i].pub, keys[i].publen) == 0);
		snprintf(want, sizeof(want), "sshenv-test-%s", keyname[i]);
		CHECK(strcmp(keys[i].comment, want) == 0);
	}
	for (i = 0; i < K_COUNT; i++) {
		if (!loaded[i])
			continue;
		if (i == K_ED25519 || i == K_P256 || i == K_RSA2048) {
			CHECK(keys[i].cert != NULL);
			snprintf(want, sizeof(want), "%s-cert-v01@openssh.com",
			    keys[i].type);
			CHECK(keys[i].certtype != NULL &&
			    strcmp(keys[i].certtype, want) == 0);
		} else {
			CHECK(keys[i].cert == NULL);
		}
	}
}

static void
test_parse_plain(void)
{
	const struct keyfile *kf;
	struct crypto_key *k;
	const uint8_t *blob;
	size_t len;
	int i, r;

	for (i = 0; i < K_COUNT; i++) {
		if ((kf = key(i)) == NULL)
			continue;
		r = crypto_key_parse(kf->form, kf->formlen, &k);
		if (r != 0)
			fprintf(stderr, "  %s: %s\n", keyname[i], sserr_str(r));
		CHECK_EQ(r, 0);
		if (r != 0)
			continue;
		blob = crypto_key_blob(k, &len);
		CHECK(len == kf->publen && memcmp(blob, kf->pub, len) == 0);
		crypto_key_unref(k);
	}
}

static void
test_parse_certified(void)
{
	const struct keyfile *kf;
	struct crypto_key *k;
	const uint8_t *blob;
	struct wire w;
	size_t len;
	int i, r;

	for (i = 0; i < K_COUNT; i++) {
		if ((kf = key(i)) == NULL || kf->cert == NULL)
			continue;
		wire_init(&w, 64 * 1024);
		put_certform(&w, kf, kf);
		r = crypto_key_parse(wire_ptr(&w), wire_avail(&w), &k);
		if (r != 0)
			fprintf(stderr, "  %s cert: %s\n", keyname[i],
			    sserr_str(r));
		CHECK_EQ(r, 0);
		if (r == 0) {
			/* The public blob is the certificate. */
			blob = crypto_key_blob(k, &len);
			CHECK(len == kf->certlen &&
			    memcmp(blob, kf->cert, len) == 0);
			crypto_key_unref(k);
		}
		wire_free(&w);
	}
}

static void
test_key_refcount(void)
{
	const struct keyfile *kf;
	struct crypto_key *k;
	struct wire w;

	if ((kf = key(K_ED25519)) == NULL)
		return;
	CHECK_EQ(crypto_key_parse(kf->form, kf->formlen, &k), 0);
	if (k == NULL)
		return;
	CHECK(crypto_key_ref(k) == k);
	crypto_key_unref(k);
	/* Still alive on the second reference: it signs. */
	wire_init(&w, 1024);
	CHECK_EQ(crypto_sign(k, (const uint8_t *)"x", 1, 0, &w), 0);
	wire_free(&w);
	crypto_key_unref(k);
	crypto_key_unref(NULL);
}

/* The algorithm name crypto_sign must use. */
static const char *
expected_alg(const struct keyfile *kf, uint32_t flags)
{
	if (!is_rsa(kf))
		return kf->type;
	if (flags & CRYPTO_SIGN_RSA_SHA2_512)
		return "rsa-sha2-512";
	if (flags & CRYPTO_SIGN_RSA_SHA2_256)
		return "rsa-sha2-256";
	return "ssh-rsa";
}

/*
 * Signs with k, checks the algorithm name, verifies with the plain public
 * key, and makes sure a flipped bit anywhere in the data or the signature
 * is caught.
 */
static void
check_sign_verify(const struct keyfile *kf, struct crypto_key *k,
    uint32_t flags, const char *label)
{
	uint8_t data[100], *sig;
	const uint8_t *raw;
	char alg[64];
	struct wire w;
	size_t siglen, rawlen, i;
	int r, accepted = 0, wrongcode = 0;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
	wire_init(&w, 64 * 1024);
	CHECK_EQ(crypto_sign(k, data, sizeof(data), flags, &w), 0);
	siglen = wire_avail(&w);
	sig = (uint8_t *)(uintptr_t)wire_ptr(&w);
	if (sig_parts(sig, siglen, alg, sizeof(alg), &raw, &rawlen) != 0) {
		fprintf(stderr, "  %s: malformed signature blob\n", label);
		CHECK(0);
		wire_free(&w);
		return;
	}
	if (strcmp(alg, expected_alg(kf, flags)) != 0)
		fprintf(stderr, "  %s: signed as %s\n", label, alg);
	CHECK(strcmp(alg, expected_alg(kf, flags)) == 0);
	r = crypto_verify(kf->pub, kf->publen, data, sizeof(data), sig, siglen);
	if (r != 0)
		fprintf(stderr, "  %s: verify: %s\n", label, sserr_str(r));
	CHECK_EQ(r, 0);

	/* One flipped bit of data, at each end and in the middle. */
	for (i = 0; i < sizeof(data); i += 33) {
		data[i] ^= 0x10;
		CHECK_EQ(crypto_verify(kf->pub, kf->publen, data, sizeof(data),
			     sig, siglen),
		    ERR_SIG_INVALID);
		data[i] ^= 0x10;
	}
	/* One flipped bit in every byte of the signature blob. */
	for (i = 0; i < siglen; i++) {
		sig[i] ^= (uint8_t)(1 << (i % 8));
		r = crypto_verify(kf->pub, kf->publen, data, sizeof(data), sig,
		    siglen);
		accepted += r == 0;
		/* Inside the raw signature it can only be a bad signature. */
		if (sig + i >= raw + rawlen - 1 && r != ERR_SIG_INVALID)
			wrongcode++;
		sig[i] ^= (uint8_t)(1 << (i % 8));
	}
	if (accepted)
		fprintf(stderr, "  %s: %d altered signatures accepted\n", label,
		    accepted);
	CHECK_EQ(accepted, 0);
	CHECK_EQ(wrongcode, 0);
	/* Untouched, it still verifies. */
	CHECK_EQ(crypto_verify(kf->pub, kf->publen, data, sizeof(data), sig,
		     siglen),
	    0);
	wire_free(&w);
}

static void
test_sign_verify(void)
{
	const struct keyfile *kf;
	struct crypto_key *k;
	struct wire w;
	char label[96];
	int i;

	for (i = 0; i < K_COUNT; i++) {
		if ((kf = key(i)) == NULL)
			continue;
		CHECK_EQ(crypto_key_parse(kf->form, kf->formlen, &k), 0);
		if (k == NULL)
			continue;
		check_sign_verify(kf, k,
		    is_rsa(kf) ? CRYPTO_SIGN_RSA_SHA2_256 : 0, keyname[i]);
		crypto_key_unref(k);

		if (kf->cert == NULL)
			continue;
		/* A certified key signs as its plain type. */
		wire_init(&w, 64 * 1024);
		put_certform(&w, kf, kf);
		CHECK_EQ(crypto_key_parse(wire_ptr(&w), wire_avail(&w), &k), 0);
		if (k != NULL) {
			snprintf(label, sizeof(label), "%s-cert", keyname[i]);
			check_sign_verify(kf, k,
			    is_rsa(kf) ? CRYPTO_SIGN_RSA_SHA2_512 : 0, label);
			crypto_key_unref(k);
		}
		wire_free(&w);
	}
}

static void
test_sign_rsa_flags(void)
{
	static const uint32_t flags[] = { 0, CRYPTO_SIGN_RSA_SHA2_256,
		CRYPTO_SIGN_RSA_SHA2_512 };
	static const char *const names[] = { "ssh-rsa", "rsa-sha2-256",
		"rsa-sha2-512" };
	static const uint8_t data[] = "session id and request";
	const struct keyfile *kf;
	struct crypto_key *k;
	const uint8_t *raw;
	char alg[64];
	struct wire w;
	size_t i, rawlen;
	uint8_t *sig;

	if ((kf = key(K_RSA2048)) == NULL)
		return;
	CHECK_EQ(crypto_key_parse(kf->form, kf->formlen, &k), 0);
	if (k == NULL)
		return;
	for (i = 0; i < 3; i++) {
		check_sign_verify(kf, k, flags[i], names[i]);
		wire_init(&w, 4096);
		CHECK_EQ(crypto_sign(k, data, sizeof(data), flags[i], &w), 0);
		CHECK_EQ(sig_parts(wire_ptr(&w), wire_avail(&w), alg,
			     sizeof(alg), &raw, &rawlen),
		    0);
		CHECK(strcmp(alg, names[i]) == 0);
		CHECK_EQ(rawlen, 256);
		/*
		 * The same bytes under the other SHA-2 name (same length):
		 * the hash is part of what is verified.
		 */
		if (i > 0) {
			sig = (uint8_t *)(uintptr_t)wire_ptr(&w);
			sig[4 + 9] = i == 1 ? '5' : '2';
			sig[4 + 10] = i == 1 ? '1' : '5';
			sig[4 + 11] = i == 1 ? '2' : '6';
			CHECK_EQ(crypto_verify(kf->pub, kf->publen, data,
				     sizeof(data), wire_ptr(&w),
				     wire_avail(&w)),
			    ERR_SIG_INVALID);
		}
		wire_free(&w);
	}
	crypto_key_unref(k);

	/* Flags mean nothing to other key types. */
	if ((kf = key(K_P384)) == NULL)
		return;
	CHECK_EQ(crypto_key_parse(kf->form, kf->formlen, &k), 0);
	if (k == NULL)
		return;
	check_sign_verify(kf, k,
	    CRYPTO_SIGN_RSA_SHA2_256 | CRYPTO_SIGN_RSA_SHA2_512,
	    "ecdsa-with-rsa-flags");
	crypto_key_unref(k);
}

/* Empty and large data sign and verify too. */
static void
test_sign_sizes(void)
{
	static const int which[] = { K_ED25519, K_P521, K_RSA1024 };
	const struct keyfile *kf;
	struct crypto_key *k;
	struct wire w;
	uint8_t *big;
	size_t i, n = 200 * 1024;

	if ((big = malloc(n)) == NULL)
		return;
	memset(big, 'q', n);
	for (i = 0; i < 3; i++) {
		if ((kf = key(which[i])) == NULL)
			continue;
		CHECK_EQ(crypto_key_parse(kf->form, kf->formlen, &k), 0);
		if (k == NULL)
			continue;
		wire_init(&w, 4096);
		CHECK_EQ(crypto_sign(k, big, 0, 4, &w), 0);
		CHECK_EQ(crypto_verify(kf->pub, kf->publen, big, 0,
			     wire_ptr(&w), wire_avail(&w)),
		    0);
		CHECK_EQ(crypto_verify(kf->pub, kf->publen, big, 1,
			     wire_ptr(&w), wire_avail(&w)),
		    ERR_SIG_INVALID);
		wire_reset(&w);
		CHECK_EQ(crypto_sign(k, big, n, 4, &w), 0);
		CHECK_EQ(crypto_verify(kf->pub, kf->publen, big, n,
			     wire_ptr(&w), wire_avail(&w)),
		    0);
		CHECK_EQ(crypto_verify(kf->pub, kf->publen, big, n - 1,
			     wire_ptr(&w), wire_avail(&w)),
		    ERR_SIG_INVALID);
		wire_free(&w);
		crypto_key_unref(k);
	}
	free(big);
}

/* Malformed signature blobs and key blobs given to crypto_verify. */
static void
test_verify_malformed(void)
{
	static const uint8_t data[] = "data";
	const struct keyfile *ed, *ec, *other;
	struct crypto_key *k;
	struct wire w, bad;
	uint8_t *sig, certbuf[2048];
	size_t siglen, n;
	int r;

	if ((ed = key(K_ED25519)) == NULL || (ec = key(K_P256)) == NULL ||
	    (other = key(K_ED25519_OTHER)) == NULL)
		return;
	CHECK_EQ(crypto_key_parse(ed->form, ed->formlen, &k), 0);
	if (k == NULL)
		return;
	wire_init(&w, 4096);
	CHECK_EQ(crypto_sign(k, data, sizeof(data), 0, &w), 0);
	crypto_key_unref(k);
	sig = (uint8_t *)(uintptr_t)wire_ptr(&w);
	siglen = wire_avail(&w);

	/* Every truncation of the signature blob. */
	for (n = 0; n < siglen; n++) {
		r = crypto_verify(ed->pub, ed->publen, data, sizeof(data), sig,
		    n);
		CHECK(r != 0);
	}
	/* A trailing byte. */
	wire_init(&bad, 4096);
	CHECK_EQ(wire_put(&bad, sig, siglen), 0);
	CHECK_EQ(wire_put_u8(&bad, 0), 0);
	CHECK_EQ(crypto_verify(ed->pub, ed->publen, data, sizeof(data),
		     wire_ptr(&bad), wire_avail(&bad)),
	    ERR_TRAILING);
	wire_free(&bad);

	/* The right signature under another key, or another key type. */
	CHECK_EQ(crypto_verify(other->pub, other->publen, data, sizeof(data),
		     sig, siglen),
	    ERR_SIG_INVALID);
	CHECK(crypto_verify(ec->pub, ec->publen, data, sizeof(data), sig,
		  siglen) != 0);

	/* A raw ed25519 signature of the wrong length. */
	wire_init(&bad, 4096);
	CHECK_EQ(wire_put_cstring(&bad, "ssh-ed25519"), 0);
	CHECK_EQ(wire_put_string(&bad, sig + siglen - 64, 63), 0);
	CHECK(crypto_verify(ed->pub, ed->publen, data, sizeof(data),
		  wire_ptr(&bad), wire_avail(&bad)) != 0);
	wire_reset(&bad);
	/* An unknown algorithm name around good bytes. */
	CHECK_EQ(wire_put_cstring(&bad, "ssh-ed448"), 0);
	CHECK_EQ(wire_put_string(&bad, sig + siglen - 64, 64), 0);
	CHECK(crypto_verify(ed->pub, ed->publen, data, sizeof(data),
		  wire_ptr(&bad), wire_avail(&bad)) != 0);
	wire_free(&bad);

	/* Key blobs: truncated, trailing, unknown; a certificate signs
	 * with the key it certifies (a host's, in session-bind), once its
	 * own CA signature holds. */
	for (n = 0; n < ed->publen; n++)
		CHECK(crypto_verify(ed->pub, n, data, sizeof(data), sig,
			  siglen) != 0);
	wire_init(&bad, 4096);
	CHECK_EQ(wire_put(&bad, ed->pub, ed->publen), 0);
	CHECK_EQ(wire_put_u8(&bad, 0), 0);
	CHECK_EQ(crypto_verify(wire_ptr(&bad), wire_avail(&bad), data,
		     sizeof(data), sig, siglen),
	    ERR_TRAILING);
	wire_reset(&bad);
	CHECK_EQ(crypto_verify(ed->cert, ed->certlen, data, sizeof(data), sig,
		     siglen),
	    0);
	CHECK(ed->certlen <= sizeof(certbuf));
	memcpy(certbuf, ed->cert, ed->certlen);
	certbuf[ed->certlen - 1] ^= 1; /* in the CA's signature */
	CHECK_EQ(crypto_verify(certbuf, ed->certlen, data, sizeof(data), sig,
		     siglen),
	    ERR_CERT_INVALID);
	CHECK_EQ(wire_put_cstring(&bad, "ssh-dss"), 0);
	CHECK_EQ(wire_put(&bad, ed->pub + 15, ed->publen - 15), 0);
	CHECK_EQ(crypto_verify(wire_ptr(&bad), wire_avail(&bad), data,
		     sizeof(data), sig, siglen),
	    ERR_KEY_TYPE);
	wire_free(&bad);
	wire_free(&w);
}

/* Every proper prefix of a key form must be refused. */
static void
check_truncations(const uint8_t *form, size_t len, int cert, const char *label)
{
	struct crypto_key *k;
	size_t n;
	int r, bad = 0;

	for (n = 0; n < len; n++) {
		k = (struct crypto_key *)(uintptr_t)1;
		r = crypto_key_parse(form, n, &k);
		if (r == 0 || k != NULL ||
		    (r != ERR_TRUNCATED && !(cert && r == ERR_CERT_INVALID))) {
			if (bad++ < 5)
				fprintf(stderr, "  %s cut to %zu of %zu: %d\n",
				    label, n, len, r);
			if (r == 0)
				crypto_key_unref(k);
		}
	}
	CHECK_EQ(bad, 0);
}

static void
test_parse_truncated(void)
{
	const struct keyfile *kf;
	struct wire w;
	char label[96];
	size_t certlen;
	int i;

	for (i = 0; i < K_COUNT; i++) {
		if ((kf = key(i)) == NULL)
			continue;
		check_truncations(kf->form, kf->formlen, 0, keyname[i]);
		if (kf->cert == NULL)
			continue;
		wire_init(&w, 64 * 1024);
		put_certform(&w, kf, kf);
		snprintf(label, sizeof(label), "%s cert form", keyname[i]);
		check_truncations(wire_ptr(&w), wire_avail(&w), 1, label);
		wire_free(&w);

		/* The certificate itself cut short, its string intact. */
		for (certlen = 0; certlen < kf->certlen; certlen++) {
			wire_init(&w, 64 * 1024);
			CHECK_EQ(keyform_put_cert(&w, kf->certtype, kf->cert,
				     certlen, kf),
			    0);
			CHECK(parse_wire(&w) != 0);
			wire_free(&w);
		}
	}
}

static void
test_parse_trailing(void)
{
	const struct keyfile *kf;
	struct wire w;
	int i;

	for (i = 0; i < K_COUNT; i++) {
		if ((kf = key(i)) == NULL)
			continue;
		wire_init(&w, 64 * 1024);
		CHECK_EQ(wire_put(&w, kf->form, kf->formlen), 0);
		CHECK_EQ(wire_put_u8(&w, 0), 0);
		CHECK_EQ(parse_wire(&w), ERR_TRAILING);
		wire_reset(&w);
		/* A comment left in place is trailing bytes too. */
		CHECK_EQ(wire_put(&w, kf->form, kf->formlen), 0);
		CHECK_EQ(wire_put_cstring(&w, kf->comment), 0);
		CHECK_EQ(parse_wire(&w), ERR_TRAILING);
		if (kf->cert != NULL) {
			wire_reset(&w);
			put_certform(&w, kf, kf);
			CHECK_EQ(wire_put_u8(&w, 0), 0);
			CHECK_EQ(parse_wire(&w), ERR_TRAILING);
		}
		wire_free(&w);
	}
}

static void
test_parse_unknown_type(void)
{
	static const char *const names[] = {
		"ssh-dss",
		"sk-ecdsa-sha2-nistp384@openssh.com",
		"ssh-ed448",
		"",
		"ecdsa-sha2-nistp192",
		"SSH-ED25519",
		"ssh-ed25519 ",
	};
	const struct keyfile *kf;
	struct wire w;
	size_t i;

	if ((kf = key(K_ED25519)) == NULL)
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		wire_init(&w, 4096);
		CHECK_EQ(keyform_put(&w, names[i], kf->field, kf->nfield), 0);
		CHECK_EQ(parse_wire(&w), ERR_KEY_TYPE);
		wire_free(&w);
	}
	/* Known names around the wrong fields. */
	wire_init(&w, 4096);
	CHECK_EQ(keyform_put(&w, "ssh-rsa", kf->field, kf->nfield), 0);
	CHECK(parse_wire(&w) != 0);
	wire_reset(&w);
	CHECK_EQ(keyform_put(&w, "ecdsa-sha2-nistp256", kf->field, kf->nfield),
	    0);
	CHECK(parse_wire(&w) != 0);
	wire_free(&w);
}

/* Parses kf's type with fields f. */
static int
parse_fields(const struct keyfile *kf, const struct kfield *f, int nf)
{
	struct wire w;
	int r;

	wire_init(&w, 64 * 1024);
	CHECK_EQ(keyform_put(&w, kf->type, f, nf), 0);
	r = parse_wire(&w);
	wire_free(&w);
	return r;
}

static void
test_ed25519_inconsistent(void)
{
	const struct keyfile *kf, *other;
	struct kfield f[2];
	uint8_t sk[65], pk[33];

	if ((kf = key(K_ED25519)) == NULL ||
	    (other = key(K_ED25519_OTHER)) == NULL)
		return;
	CHECK(kf->field[0].n == 32 && kf->field[1].n == 64);
	if (kf->field[0].n != 32 || kf->field[1].n != 64)
		return;

	/* The second half of sk is the public key: it must match pk. */
	memcpy(f, kf->field, sizeof(f));
	memcpy(sk, kf->field[1].p, 64);
	sk[63] ^= 1;
	f[1].p = sk;
	CHECK_EQ(parse_fields(kf, f, 2), ERR_KEY_INVALID);

	/* Another key's secret with this public key. */
	f[1] = other->field[1];
	CHECK_EQ(parse_fields(kf, f, 2), ERR_KEY_INVALID);

	/* Another key's seed, this public key in both places. */
	memcpy(sk, other->field[1].p, 32);
	memcpy(sk + 32, kf->field[0].p, 32);
	f[1].p = sk;
	CHECK_EQ(parse_fields(kf, f, 2), ERR_KEY_INVALID);

	/* Wrong lengths. */
	memcpy(f, kf->field, sizeof(f));
	memcpy(sk, kf->field[1].p, 64);
	sk[64] = 0;
	f[1].p = sk;
	f[1].n = 63;
	CHECK_EQ(parse_fields(kf, f, 2), ERR_KEY_INVALID);
	f[1].n = 65;
	CHECK_EQ(parse_fields(kf, f, 2), ERR_KEY_INVALID);
	memcpy(f, kf->field, sizeof(f));
	memcpy(pk, kf->field[0].p, 32);
	pk[32] = 0;
	f[0].p = pk;
	f[0].n = 31;
	CHECK_EQ(parse_fields(kf, f, 2), ERR_KEY_INVALID);
	f[0].n = 33;
	CHECK_EQ(parse_fields(kf, f, 2), ERR_KEY_INVALID);
	f[0].n = 0;
	CHECK_EQ(parse_fields(kf, f, 2), ERR_KEY_INVALID);
}

static void
test_ecdsa_inconsistent(void)
{
	const struct keyfile *kf, *other, *p384;
	struct kfield f[3];
	uint8_t buf[200];

	if ((kf = key(K_P256)) == NULL || (other = key(K_P256_OTHER)) == NULL ||
	    (p384 = key(K_P384)) == NULL)
		return;

	/* d of another key. */
	memcpy(f, kf->field, sizeof(f));
	f[2] = other->field[2];
	CHECK_EQ(parse_fields(kf, f, 3), ERR_KEY_INVALID);

	/* d + 1 (or - 1): a valid scalar, not this key's. */
	memcpy(buf, kf->field[2].p, kf->field[2].n);
	buf[kf->field[2].n - 1] ^= 1;
	f[2].p = buf;
	CHECK_EQ(parse_fields(kf, f, 3), ERR_KEY_INVALID);

	/* Q off the curve (y's last bit flipped): refused by the on-curve
	 * check, which with a prime-order curve is all the public check
	 * needs. */
	memcpy(f, kf->field, sizeof(f));
	CHECK(kf->field[1].n == 65 && kf->field[1].n <= sizeof(buf));
	memcpy(buf, kf->field[1].p, kf->field[1].n);
	buf[kf->field[1].n - 1] ^= 1;
	f[1].p = buf;
	CHECK_EQ(parse_fields(kf, f, 3), ERR_KEY_INVALID);

	/* Q of another curve under this curve's name. */
	memcpy(f, kf->field, sizeof(f));
	f[1] = p384->field[1];
	CHECK(parse_fields(kf, f, 3) != 0);
	/* ... and the whole P-384 key under the P-256 type name. */
	CHECK(parse_fields(kf, p384->field, 3) != 0);

	/* The curve name must match the type name. */
	memcpy(f, kf->field, sizeof(f));
	f[0] = p384->field[0];
	CHECK(parse_fields(kf, f, 3) != 0);

	/* A point off the curve. */
	memcpy(f, kf->field, sizeof(f));
	memcpy(buf, kf->field[1].p, kf->field[1].n);
	buf[kf->field[1].n - 1] ^= 1;
	f[1].p = buf;
	CHECK_EQ(parse_fields(kf, f, 3), ERR_KEY_INVALID);

	/* Compressed points are not allowed. */
	memcpy(buf, kf->field[1].p, 33);
	buf[0] = 0x02;
	f[1].n = 33;
	CHECK_EQ(parse_fields(kf, f, 3), ERR_KEY_INVALID);

	/* An empty point, and d = 0. */
	f[1].n = 0;
	CHECK(parse_fields(kf, f, 3) != 0);
	memcpy(f, kf->field, sizeof(f));
	f[2].n = 0;
	CHECK(parse_fields(kf, f, 3) != 0);
}

static void
test_rsa_inconsistent(void)
{
	const struct keyfile *kf, *small;
	struct kfield f[6], t;
	uint8_t buf[600];

	if ((kf = key(K_RSA2048)) == NULL || (small = key(K_RSA1024)) == NULL)
		return;

	/* n e d iqmp p q: p and q swapped (iqmp is then wrong). */
	memcpy(f, kf->field, sizeof(f));
	t = f[4];
	f[4] = f[5];
	f[5] = t;
	CHECK_EQ(parse_fields(kf, f, 6), ERR_KEY_INVALID);

	/* A wrong iqmp. */
	memcpy(f, kf->field, sizeof(f));
	memcpy(buf, f[3].p, f[3].n);
	buf[f[3].n - 1] ^= 2;
	f[3].p = buf;
	CHECK_EQ(parse_fields(kf, f, 6), ERR_KEY_INVALID);

	/* p and q of another key. */
	memcpy(f, kf->field, sizeof(f));
	f[4] = small->field[4];
	f[5] = small->field[5];
	CHECK_EQ(parse_fields(kf, f, 6), ERR_KEY_INVALID);

	/* n of another key. */
	memcpy(f, kf->field, sizeof(f));
	f[0] = small->field[0];
	CHECK_EQ(parse_fields(kf, f, 6), ERR_KEY_INVALID);

	/* A factor that is not a factor. */
	memcpy(f, kf->field, sizeof(f));
	memcpy(buf, f[4].p, f[4].n);
	buf[f[4].n - 1] ^= 2;
	f[4].p = buf;
	CHECK_EQ(parse_fields(kf, f, 6), ERR_KEY_INVALID);

	/* Zero fields. */
	memcpy(f, kf->field, sizeof(f));
	f[2].n = 0;
	CHECK(parse_fields(kf, f, 6) != 0);
	memcpy(f, kf->field, sizeof(f));
	f[1].n = 0;
	CHECK(parse_fields(kf, f, 6) != 0);
}

/*
 * A private exponent that does not belong to n and e: the key cannot
 * make a valid signature, so it is "key material inconsistent", as a
 * wrong iqmp or an ECDSA d that does not match Q already are.
 */
static void
test_rsa_wrong_d(void)
{
	static const uint8_t data[] = "data";
	const struct keyfile *kf;
	struct crypto_key *k;
	struct kfield f[6];
	struct wire w;
	uint8_t buf[600];
	int r;

	if ((kf = key(K_RSA2048)) == NULL)
		return;
	memcpy(f, kf->field, sizeof(f));
	memcpy(buf, f[2].p, f[2].n);
	buf[f[2].n - 1] ^= 2;
	f[2].p = buf;
	wire_init(&w, 64 * 1024);
	CHECK_EQ(keyform_put(&w, kf->type, f, 6), 0);
	r = crypto_key_parse(wire_ptr(&w), wire_avail(&w), &k);
	CHECK_EQ(r, ERR_KEY_INVALID);
	if (r == 0) {
		/* Show what taking it means: signatures that never verify. */
		wire_reset(&w);
		CHECK_EQ(crypto_sign(k, data, sizeof(data),
			     CRYPTO_SIGN_RSA_SHA2_256, &w),
		    0);
		r = crypto_verify(kf->pub, kf->publen, data, sizeof(data),
		    wire_ptr(&w), wire_avail(&w));
		fprintf(stderr,
		    "  key with a wrong d accepted; its signature "
		    "verifies: %s\n",
		    r == 0 ? "yes" : sserr_str(r));
		crypto_key_unref(k);
	}
	wire_free(&w);
}

static void
test_cert_bad_signature(void)
{
	const struct keyfile *kf;
	struct wire w;
	uint8_t *cert;
	size_t off;
	int i, f;

	for (i = 0; i < K_COUNT; i++) {
		if ((kf = key(i)) == NULL || kf->cert == NULL)
			continue;
		if ((cert = malloc(kf->certlen)) == NULL)
			return;
		/* Last byte: inside the CA's signature. */
		memcpy(cert, kf->cert, kf->certlen);
		cert[kf->certlen - 1] ^= 1;
		wire_init(&w, 64 * 1024);
		CHECK_EQ(keyform_put_cert(&w, kf->certtype, cert, kf->certlen,
			     kf),
		    0);
		CHECK_EQ(parse_wire(&w), ERR_CERT_INVALID);
		wire_free(&w);

		/* A byte of the key id: the signed part changed. */
		memcpy(cert, kf->cert, kf->certlen);
		off = 0;
		while (off + 11 < kf->certlen &&
		    memcmp(cert + off, "sshenv-test", 11) != 0)
			off++;
		CHECK(off + 11 < kf->certlen);
		cert[off] ^= 0x20;
		wire_init(&w, 64 * 1024);
		CHECK_EQ(keyform_put_cert(&w, kf->certtype, cert, kf->certlen,
			     kf),
		    0);
		CHECK_EQ(parse_wire(&w), ERR_CERT_INVALID);
		wire_free(&w);

		/* A trailing byte inside the certificate. */
		wire_init(&w, 64 * 1024);
		CHECK_EQ(wire_put_cstring(&w, kf->certtype), 0);
		CHECK_EQ(wire_put_u32(&w, (uint32_t)kf->certlen + 1), 0);
		CHECK_EQ(wire_put(&w, kf->cert, kf->certlen), 0);
		CHECK_EQ(wire_put_u8(&w, 0), 0);
		for (f = kf->npublic; f < kf->nfield; f++)
			CHECK_EQ(wire_put_string(&w, kf->field[f].p,
				     kf->field[f].n),
			    0);
		CHECK_EQ(parse_wire(&w), ERR_CERT_INVALID);
		wire_free(&w);
		free(cert);
	}
}

static void
test_cert_wrong_key(void)
{
	const struct keyfile *ed, *ed2, *ec, *ec2, *rsa, *rsa2;
	struct wire w;
	struct kfield f[2];

	if ((ed = key(K_ED25519)) == NULL ||
	    (ed2 = key(K_ED25519_OTHER)) == NULL ||
	    (ec = key(K_P256)) == NULL || (ec2 = key(K_P256_OTHER)) == NULL ||
	    (rsa = key(K_RSA2048)) == NULL || (rsa2 = key(K_RSA1024)) == NULL)
		return;

	/* Each certificate with another key's private fields. */
	wire_init(&w, 64 * 1024);
	put_certform(&w, ed2, ed);
	CHECK_EQ(parse_wire(&w), ERR_KEY_INVALID);
	wire_reset(&w);
	put_certform(&w, ec2, ec);
	CHECK_EQ(parse_wire(&w), ERR_KEY_INVALID);
	wire_reset(&w);
	put_certform(&w, rsa2, rsa);
	CHECK_EQ(parse_wire(&w), ERR_KEY_INVALID);
	wire_reset(&w);

	/* ed25519: the repeated pk right, the secret another key's. */
	f[0] = ed->field[0];
	f[1] = ed2->field[1];
	CHECK_EQ(wire_put_cstring(&w, ed->certtype), 0);
	CHECK_EQ(wire_put_string(&w, ed->cert, ed->certlen), 0);
	CHECK_EQ(wire_put_string(&w, f[0].p, f[0].n), 0);
	CHECK_EQ(wire_put_string(&w, f[1].p, f[1].n), 0);
	CHECK_EQ(parse_wire(&w), ERR_KEY_INVALID);
	wire_reset(&w);

	/* A certificate under another certificate type's name. */
	CHECK_EQ(keyform_put_cert(&w, ed->certtype, ec->cert, ec->certlen, ed),
	    0);
	CHECK(parse_wire(&w) != 0);
	wire_reset(&w);
	CHECK_EQ(keyform_put_cert(&w, ec->certtype, ed->cert, ed->certlen, ec),
	    0);
	CHECK(parse_wire(&w) != 0);
	wire_reset(&w);
	/* A plain type name with a certificate's fields. */
	CHECK_EQ(keyform_put_cert(&w, ed->type, ed->cert, ed->certlen, ed), 0);
	CHECK(parse_wire(&w) != 0);
	wire_free(&w);
}

/* The second field of `ssh-keygen -lf path`. */
static int
keygen_fingerprint(struct rp_tmp *t, const char *path, char *fp, size_t size)
{
	char *argv[] = { "ssh-keygen", "-E", "sha256", "-lf", (char *)path,
		NULL };
	char *out, *sp, *end;
	size_t outlen;
	int status, r = -1;

	if (rp_run(argv, t->envp, NULL, &out, &outlen, &status) != 0)
		return -1;
	if (status == 0 && (sp = strchr(out, ' ')) != NULL &&
	    (end = strchr(sp + 1, ' ')) != NULL &&
	    (size_t)(end - sp - 1) < size) {
		memcpy(fp, sp + 1, (size_t)(end - sp - 1));
		fp[end - sp - 1] = '\0';
		r = 0;
	}
	free(out);
	return r;
}

/*
 * FIDO keys (PROTOCOL.u2f): the add-identity form is the plain type's
 * public fields, the application, a flags byte, the key handle and a
 * reserved string; the public blob stops after the application.
 */
struct skform {
	int ecdsa;
	const uint8_t *pk; /* Ed25519's pk, or the P-256 point Q */
	size_t pklen;
	const char *app;
	size_t applen;
	uint8_t flags;
	const uint8_t *handle;
	size_t handlelen;
};

static const uint8_t sk_handle[] = { 0x11, 0x22, 0x00, 0x33, 0x44, 0x55 };

/* The public key field of fixture i's .pub blob (pk, or Q). */
static int
pub_point(int i, const uint8_t **p, size_t *n)
{
	const struct keyfile *kf;
	struct wire w;
	const uint8_t *q;

	*p = NULL;
	*n = 0;
	if ((kf = key(i)) == NULL)
		return -1;
	wire_view(&w, kf->pub, kf->publen);
	if (wire_get_string(&w, &q, n) != 0 ||
	    (i == K_P256 && wire_get_string(&w, &q, n) != 0) ||
	    wire_get_string(&w, p, n) != 0 || wire_end(&w) != 0) {
		fprintf(stderr, "  %s.pub: unexpected blob\n", keyname[i]);
		unit_failed_checks++;
		return -1;
	}
	return 0;
}

/* A well-formed FIDO key of each kind, from the fixtures' points. */
static int
sk_default(struct skform *f, int ecdsa)
{
	memset(f, 0, sizeof(*f));
	f->ecdsa = ecdsa;
	f->app = "ssh:";
	f->applen = 4;
	f->flags = 0x01; /* user presence */
	f->handle = sk_handle;
	f->handlelen = sizeof(sk_handle);
	return pub_point(ecdsa ? K_P256 : K_ED25519, &f->pk, &f->pklen);
}

static const char *
sk_type(const struct skform *f)
{
	return f->ecdsa ? "sk-ecdsa-sha2-nistp256@openssh.com" :
			  "sk-ssh-ed25519@openssh.com";
}

/* The public blob: type, key fields, application. */
static void
sk_blob(struct wire *w, const struct skform *f)
{
	CHECK_EQ(wire_put_cstring(w, sk_type(f)), 0);
	if (f->ecdsa)
		CHECK_EQ(wire_put_cstring(w, "nistp256"), 0);
	CHECK_EQ(wire_put_string(w, f->pk, f->pklen), 0);
	CHECK_EQ(wire_put_string(w, f->app, f->applen), 0);
}

/* The add-identity form: the blob, then flags, key handle, reserved. */
static void
sk_form(struct wire *w, const struct skform *f)
{
	sk_blob(w, f);
	CHECK_EQ(wire_put_u8(w, f->flags), 0);
	CHECK_EQ(wire_put_string(w, f->handle, f->handlelen), 0);
	CHECK_EQ(wire_put_string(w, "", 0), 0);
}

/* A signer that records what it was asked and signs with a marker. */

/* crypto_sign on k went to fs with k, the data and the flags. */
static void
check_signed_by(const struct crypto_key *k, struct fake_signer *fs)
{
	static const uint8_t data[] = "data to sign";
	struct wire w;
	int calls = fs->calls;

	wire_init(&w, 1024);
	CHECK_EQ(crypto_sign(k, data, sizeof(data), 0x1234, &w), 0);
	CHECK_EQ(fs->calls, calls + 1);
	CHECK(fs->key == k);
	CHECK(fs->dlen == sizeof(data) &&
	    memcmp(fs->data, data, sizeof(data)) == 0);
	CHECK_EQ(fs->flags, 0x1234);
	CHECK(wire_avail(&w) == 4 + strlen(FAKE_SIG) &&
	    memcmp(wire_ptr(&w) + 4, FAKE_SIG, strlen(FAKE_SIG)) == 0);
	wire_free(&w);
}

static void
test_sk_parse(void)
{
	struct crypto_signer s;
	struct fake_signer fs;
	struct crypto_key *k;
	struct crypto_sk sk;
	struct skform f;
	struct wire form, blob, sig;
	const uint8_t *p;
	size_t n;
	int ecdsa, r;

	for (ecdsa = 0; ecdsa < 2; ecdsa++) {
		if (sk_default(&f, ecdsa) != 0)
			continue;
		wire_init(&form, 4096);
		wire_init(&blob, 4096);
		sk_form(&form, &f);
		sk_blob(&blob, &f);
		r = crypto_key_parse(wire_ptr(&form), wire_avail(&form), &k);
		if (r != 0)
			fprintf(stderr, "  %s: %s\n", sk_type(&f),
			    sserr_str(r));
		CHECK_EQ(r, 0);
		if (r != 0)
			goto next;
		p = crypto_key_blob(k, &n);
		CHECK(n == wire_avail(&blob) &&
		    memcmp(p, wire_ptr(&blob), n) == 0);
		p = crypto_key_plain(k, &n);
		CHECK(n == wire_avail(&blob) &&
		    memcmp(p, wire_ptr(&blob), n) == 0);
		memset(&sk, 0xaa, sizeof(sk));
		CHECK_EQ(crypto_key_sk(k, &sk), 1);
		CHECK(sk.alg != NULL && strcmp(sk.alg, sk_type(&f)) == 0);
		CHECK_EQ(sk.ecdsa, ecdsa);
		CHECK(sk.applen == 4 && memcmp(sk.app, "ssh:", 4) == 0);
		CHECK(sk.handlelen == sizeof(sk_handle) &&
		    memcmp(sk.handle, sk_handle, sizeof(sk_handle)) == 0);
		CHECK_EQ(sk.flags, 0x01);

		/* No provider: nothing here can sign for it. */
		CHECK(crypto_key_signer(k) == NULL);
		wire_init(&sig, 1024);
		CHECK_EQ(crypto_sign(k, (const uint8_t *)"x", 1, 0, &sig),
		    ERR_UNSUPPORTED);
		CHECK_EQ(wire_avail(&sig), 0);
		wire_free(&sig);

		/* With one, every request goes to it, and it is held. */
		fake_init(&fs, &s);
		crypto_key_set_signer(k, &s);
		CHECK_EQ(fs.holds, 1);
		CHECK(crypto_key_signer(k) != NULL &&
		    crypto_key_signer(k)->arg == &fs);
		check_signed_by(k, &fs);
		/* Cleared: let go, and it signs nowhere again. */
		crypto_key_set_signer(k, NULL);
		CHECK_EQ(fs.holds, 0);
		wire_init(&sig, 1024);
		CHECK_EQ(crypto_sign(k, (const uint8_t *)"x", 1, 0, &sig),
		    ERR_UNSUPPORTED);
		CHECK_EQ(fs.calls, 1);
		wire_free(&sig);
		/* Set again, the last reference lets go of it. */
		crypto_key_set_signer(k, &s);
		crypto_key_ref(k);
		crypto_key_unref(k);
		CHECK_EQ(fs.holds, 1);
		crypto_key_unref(k);
		CHECK_EQ(fs.holds, 0);
	next:
		wire_free(&form);
		wire_free(&blob);
	}
	/* A plain key is no FIDO key. */
	if (key(K_ED25519) != NULL &&
	    crypto_key_parse(keys[K_ED25519].form, keys[K_ED25519].formlen,
		&k) == 0) {
		memset(&sk, 0xaa, sizeof(sk));
		CHECK_EQ(crypto_key_sk(k, &sk), 0);
		CHECK(sk.app == NULL && sk.handle == NULL && sk.alg == NULL);
		crypto_key_unref(k);
	}
}

/* parse_wire of the form f, after a change. */
static int
sk_parse(const struct skform *f)
{
	struct wire w;
	int r;

	wire_init(&w, 4096);
	sk_form(&w, f);
	r = parse_wire(&w);
	wire_free(&w);
	return r;
}

static void
test_sk_malformed(void)
{
	static const uint8_t shortpk[31] = { 1 };
	uint8_t q[65];
	struct skform f;
	struct wire w;
	char label[64];
	int ecdsa;

	for (ecdsa = 0; ecdsa < 2; ecdsa++) {
		if (sk_default(&f, ecdsa) != 0)
			continue;
		CHECK_EQ(sk_parse(&f), 0);
		f.applen = 0;
		CHECK_EQ(sk_parse(&f), ERR_KEY_INVALID);
		f.app = "ssh:\0x";
		f.applen = 6;
		CHECK_EQ(sk_parse(&f), ERR_KEY_INVALID);
		f.app = "ssh:";
		f.applen = 4;
		f.handlelen = 0;
		CHECK_EQ(sk_parse(&f), ERR_KEY_INVALID);
		f.handlelen = sizeof(sk_handle);
		CHECK_EQ(sk_parse(&f), 0);

		wire_init(&w, 4096);
		sk_form(&w, &f);
		snprintf(label, sizeof(label), "%s", sk_type(&f));
		check_truncations(wire_ptr(&w), wire_avail(&w), 0, label);
		CHECK_EQ(wire_put_u8(&w, 0), 0);
		CHECK_EQ(parse_wire(&w), ERR_TRAILING);
		wire_free(&w);
	}
	/* Ed25519: a pk of 31 or 33 bytes. */
	if (sk_default(&f, 0) == 0) {
		f.pk = shortpk;
		f.pklen = sizeof(shortpk);
		CHECK_EQ(sk_parse(&f), ERR_KEY_INVALID);
		f.pklen = 0;
		CHECK_EQ(sk_parse(&f), ERR_KEY_INVALID);
	}
	/* P-256: a compressed point, or another curve's name. */
	if (sk_default(&f, 1) == 0 && f.pklen == sizeof(q)) {
		memcpy(q, f.pk, sizeof(q));
		q[0] = 0x02;
		f.pk = q;
		f.pklen = 33;
		CHECK_EQ(sk_parse(&f), ERR_KEY_INVALID);
		sk_default(&f, 1);
		wire_init(&w, 4096);
		CHECK_EQ(wire_put_cstring(&w, sk_type(&f)), 0);
		CHECK_EQ(wire_put_cstring(&w, "nistp384"), 0);
		CHECK_EQ(wire_put_string(&w, f.pk, f.pklen), 0);
		CHECK_EQ(wire_put_cstring(&w, "ssh:"), 0);
		CHECK_EQ(wire_put_u8(&w, 1), 0);
		CHECK_EQ(wire_put_string(&w, sk_handle, sizeof(sk_handle)), 0);
		CHECK_EQ(wire_put_string(&w, "", 0), 0);
		CHECK(parse_wire(&w) != 0);
		wire_free(&w);
	}
}

/* crypto_key_external on a blob: 0 and its key, or an error and none. */
static int
external(const uint8_t *blob, size_t len, const struct crypto_signer *s,
    struct crypto_key **k)
{
	int r;

	*k = (struct crypto_key *)(uintptr_t)1;
	r = crypto_key_external(blob, len, s, k);
	if (r != 0)
		CHECK(*k == NULL);
	return r;
}

static void
test_external(void)
{
	const struct keyfile *kf;
	struct crypto_signer s;
	struct fake_signer fs;
	struct crypto_key *k, *k2;
	struct crypto_sk sk;
	struct skform f;
	struct wire w;
	const uint8_t *p;
	uint8_t *cert;
	size_t n;
	int i;

	if ((kf = key(K_ED25519)) == NULL || kf->cert == NULL)
		return;
	fake_init(&fs, &s);

	/* A plain key: its blob is both blobs; it signs through fs. */
	CHECK_EQ(external(kf->pub, kf->publen, &s, &k), 0);
	if (k != NULL) {
		CHECK_EQ(fs.holds, 1);
		p = crypto_key_blob(k, &n);
		CHECK(n == kf->publen && memcmp(p, kf->pub, n) == 0);
		p = crypto_key_plain(k, &n);
		CHECK(n == kf->publen && memcmp(p, kf->pub, n) == 0);
		CHECK_EQ(crypto_key_sk(k, &sk), 0);
		CHECK(crypto_key_signer(k) != NULL &&
		    crypto_key_signer(k)->arg == &fs);
		check_signed_by(k, &fs);
		/* Held once per key, not per reference. */
		k2 = crypto_key_ref(k);
		CHECK_EQ(fs.holds, 1);
		crypto_key_unref(k2);
		CHECK_EQ(fs.holds, 1);
		crypto_key_unref(k);
		CHECK_EQ(fs.holds, 0);
	}

	/* A certificate: the blob is the certificate, the plain blob the
	 * key it certifies. */
	CHECK_EQ(external(kf->cert, kf->certlen, &s, &k), 0);
	if (k != NULL) {
		CHECK_EQ(fs.holds, 1);
		p = crypto_key_blob(k, &n);
		CHECK(n == kf->certlen && memcmp(p, kf->cert, n) == 0);
		p = crypto_key_plain(k, &n);
		CHECK(n == kf->publen && memcmp(p, kf->pub, n) == 0);
		check_signed_by(k, &fs);
		crypto_key_unref(k);
		CHECK_EQ(fs.holds, 0);
	}

	/* A certificate whose CA signature does not hold. */
	if ((cert = malloc(kf->certlen)) != NULL) {
		memcpy(cert, kf->cert, kf->certlen);
		cert[kf->certlen - 1] ^= 1;
		CHECK_EQ(external(cert, kf->certlen, &s, &k), ERR_CERT_INVALID);
		free(cert);
	}
	/* A trailing byte, and every truncation. */
	wire_init(&w, 4096);
	CHECK_EQ(wire_put(&w, kf->pub, kf->publen), 0);
	CHECK_EQ(wire_put_u8(&w, 0), 0);
	CHECK_EQ(external(wire_ptr(&w), wire_avail(&w), &s, &k), ERR_TRAILING);
	wire_free(&w);
	for (n = 0; n < kf->publen; n++)
		CHECK(external(kf->pub, n, &s, &k) != 0);
	for (n = 0; n < kf->certlen; n += 7)
		CHECK(external(kf->cert, n, &s, &k) != 0);
	/* Every other fixture type, plain and certified. */
	for (i = 0; i < K_COUNT; i++) {
		if ((kf = key(i)) == NULL)
			continue;
		CHECK_EQ(external(kf->pub, kf->publen, &s, &k), 0);
		crypto_key_unref(k);
		if (kf->cert != NULL) {
			CHECK_EQ(external(kf->cert, kf->certlen, &s, &k), 0);
			crypto_key_unref(k);
		}
	}

	/* FIDO keys come with their key handle: refused here. */
	for (i = 0; i < 2; i++) {
		if (sk_default(&f, i) != 0)
			continue;
		wire_init(&w, 4096);
		sk_blob(&w, &f);
		CHECK_EQ(external(wire_ptr(&w), wire_avail(&w), &s, &k),
		    ERR_KEY_TYPE);
		wire_free(&w);
	}
	wire_init(&w, 4096);
	CHECK_EQ(wire_put_cstring(&w, "sk-ssh-ed25519-cert-v01@openssh.com"),
	    0);
	CHECK_EQ(wire_put_string(&w, "nonce", 5), 0);
	CHECK_EQ(external(wire_ptr(&w), wire_avail(&w), &s, &k), ERR_KEY_TYPE);
	wire_free(&w);
	/* Nothing refused was held. */
	CHECK_EQ(fs.holds, 0);

	/* A signer without hold is fine too. */
	s.hold = NULL;
	kf = key(K_ED25519);
	CHECK_EQ(external(kf->pub, kf->publen, &s, &k), 0);
	if (k != NULL)
		check_signed_by(k, &fs);
	crypto_key_unref(k);
	CHECK_EQ(fs.holds, 0);
}

static void
test_fingerprint(void)
{
	const struct keyfile *kf;
	struct crypto_key *k;
	struct rp_tmp t;
	const uint8_t *blob;
	char name[96], want[128], got[64], path[KF_PATHLEN];
	size_t len;
	int i;

	if (rp_tmp_make(&t) != 0) {
		CHECK(0);
		return;
	}
	for (i = 0; i < K_COUNT; i++) {
		if ((kf = key(i)) == NULL)
			continue;
		snprintf(name, sizeof(name), "%s.pub", keyname[i]);
		snprintf(path, sizeof(path), "%s", kf_path(name));
		CHECK_EQ(keygen_fingerprint(&t, path, want, sizeof(want)), 0);
		CHECK_EQ(crypto_fingerprint(kf->pub, kf->publen, got,
			     sizeof(got)),
		    0);
		if (strcmp(got, want) != 0)
			fprintf(stderr, "  %s: %s, ssh-keygen %s\n", name, got,
			    want);
		CHECK(strcmp(got, want) == 0);
		/* The parsed key's blob gives the same. */
		CHECK_EQ(crypto_key_parse(kf->form, kf->formlen, &k), 0);
		if (k != NULL) {
			blob = crypto_key_blob(k, &len);
			CHECK_EQ(crypto_fingerprint(blob, len, got,
				     sizeof(got)),
			    0);
			CHECK(strcmp(got, want) == 0);
			crypto_key_unref(k);
		}
		/* ssh-keygen shows a certificate by its key's fingerprint. */
		if (kf->cert != NULL) {
			snprintf(name, sizeof(name), "%s-cert.pub", keyname[i]);
			snprintf(path, sizeof(path), "%s", kf_path(name));
			CHECK_EQ(keygen_fingerprint(&t, path, want,
				     sizeof(want)),
			    0);
			CHECK(strcmp(got, want) == 0);
		}
	}
	/* "SHA256:" + 43 characters + NUL: 51 bytes, not one fewer. */
	if ((kf = key(K_ED25519)) != NULL) {
		memset(got, 'x', sizeof(got));
		CHECK_EQ(crypto_fingerprint(kf->pub, kf->publen, got, 51), 0);
		CHECK_EQ(strlen(got), 50);
		CHECK(strncmp(got, "SHA256:", 7) == 0);
		CHECK_EQ(crypto_fingerprint(kf->pub, kf->publen, got, 50),
		    ERR_TOO_LONG);
		CHECK_EQ(crypto_fingerprint(kf->pub, kf->publen, got, 0),
		    ERR_TOO_LONG);
	}
	rp_tmp_remove(&t);
}

static void
test_seal_open(void)
{
	static const uint8_t msg[] = "the private half of a key";
	uint8_t key1[32], key2[32], *plain, *sealed;
	struct wire w, w2;
	size_t plen, slen, i;
	int bad = 0, r;

	memset(key1, 0x11, sizeof(key1));
	memset(key2, 0x11, sizeof(key2));
	key2[31] = 0x12;
	wire_init(&w, 4096);
	CHECK_EQ(crypto_seal(key1, msg, sizeof(msg), &w), 0);
	/* nonce (12) + ciphertext + tag (16) */
	CHECK_EQ(wire_avail(&w), 12 + sizeof(msg) + 16);
	sealed = (uint8_t *)(uintptr_t)wire_ptr(&w);
	slen = wire_avail(&w);
	CHECK(memmem(sealed, slen, "private", 7) == NULL);

	CHECK_EQ(crypto_open(key1, sealed, slen, &plain, &plen), 0);
	CHECK(plain != NULL && plen == sizeof(msg) &&
	    memcmp(plain, msg, plen) == 0);
	crypto_secure_free(plain, plen);

	/* The wrong key, and any one flipped bit, are refused. */
	plain = (uint8_t *)1;
	plen = 5;
	CHECK_EQ(crypto_open(key2, sealed, slen, &plain, &plen), ERR_DENIED);
	CHECK(plain == NULL && plen == 0);
	for (i = 0; i < slen; i++) {
		sealed[i] ^= (uint8_t)(0x80 >> (i % 8));
		r = crypto_open(key1, sealed, slen, &plain, &plen);
		if (r == 0) {
			crypto_secure_free(plain, plen);
			bad++;
		}
		CHECK(plain == NULL);
		sealed[i] ^= (uint8_t)(0x80 >> (i % 8));
	}
	CHECK_EQ(bad, 0);
	/* Truncated, or too short to hold a nonce and a tag. */
	for (i = 0; i < slen; i++) {
		r = crypto_open(key1, sealed, i, &plain, &plen);
		CHECK(r != 0);
		CHECK(plain == NULL);
		if (r == 0)
			crypto_secure_free(plain, plen);
	}
	CHECK_EQ(crypto_open(key1, sealed, 27, &plain, &plen), ERR_FORMAT);

	/* The nonce is random: sealing twice gives two different boxes. */
	wire_init(&w2, 4096);
	CHECK_EQ(crypto_seal(key1, msg, sizeof(msg), &w2), 0);
	CHECK(
	    wire_avail(&w2) == slen && memcmp(wire_ptr(&w2), sealed, 12) != 0);
	wire_reset(&w2);

	/* An empty secret round-trips. */
	CHECK_EQ(crypto_seal(key1, msg, 0, &w2), 0);
	CHECK_EQ(wire_avail(&w2), 28);
	CHECK_EQ(crypto_open(key1, wire_ptr(&w2), wire_avail(&w2), &plain,
		     &plen),
	    0);
	CHECK_EQ(plen, 0);
	crypto_secure_free(plain, plen);
	wire_free(&w2);

	/* seal appends after what is there. */
	wire_init(&w2, 4096);
	CHECK_EQ(wire_put(&w2, "hdr", 3), 0);
	CHECK_EQ(crypto_seal(key1, msg, sizeof(msg), &w2), 0);
	CHECK(memcmp(wire_ptr(&w2), "hdr", 3) == 0);
	CHECK_EQ(crypto_open(key1, wire_ptr(&w2) + 3, wire_avail(&w2) - 3,
		     &plain, &plen),
	    0);
	CHECK(plen == sizeof(msg) && memcmp(plain, msg, plen) == 0);
	crypto_secure_free(plain, plen);
	wire_free(&w2);

	/* No room: an error. */
	wire_init(&w2, 20);
	CHECK(crypto_seal(key1, msg, sizeof(msg), &w2) != 0);
	wire_free(&w2);
	wire_free(&w);
}

static int
hex_is(const uint8_t *p, size_t n, const char *hex)
{
	char buf[3];
	size_t i;

	if (strlen(hex) != 2 * n)
		return 0;
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%02x", p[i]);
		if (memcmp(buf, hex + 2 * i, 2) != 0)
			return 0;
	}
	return 1;
}

static void
test_kdf(void)
{
	uint8_t a[64], b[64];

	/*
	 * PBKDF2-HMAC-SHA512(SHA-512(be64(8) || "password"), "salt", 1, 64),
	 * computed independently with Python's hashlib.
	 */
	CHECK_EQ(crypto_kdf((const uint8_t *)"password", 8,
		     (const uint8_t *)"salt", 4, 1, a, 64),
	    0);
	CHECK(hex_is(a, 64,
	    "bae8638ed977291e1119f07bce24e922"
	    "5230ccbe74b1ac5b3364dc6b65c575fc0a514a1ce07beaf8c970134bdad4512b"
	    "fecf4afeb3491acd99e7cd3a59900e04"));
	/* A trailing NUL makes another passphrase. */
	CHECK_EQ(crypto_kdf((const uint8_t *)"pw", 2, (const uint8_t *)"salt",
		     4, 1, a, 64),
	    0);
	CHECK_EQ(crypto_kdf((const uint8_t *)"pw\0", 3, (const uint8_t *)"salt",
		     4, 1, b, 64),
	    0);
	CHECK(memcmp(a, b, 64) != 0);

	/* Deterministic, and sensitive to every input. */
	CHECK_EQ(crypto_kdf((const uint8_t *)"pass", 4,
		     (const uint8_t *)"saltsaltsaltsalt", 16, 100, a, 64),
	    0);
	CHECK_EQ(crypto_kdf((const uint8_t *)"pass", 4,
		     (const uint8_t *)"saltsaltsaltsalt", 16, 100, b, 64),
	    0);
	CHECK(memcmp(a, b, 64) == 0);
	CHECK_EQ(crypto_kdf((const uint8_t *)"pasS", 4,
		     (const uint8_t *)"saltsaltsaltsalt", 16, 100, b, 64),
	    0);
	CHECK(memcmp(a, b, 64) != 0);
	CHECK_EQ(crypto_kdf((const uint8_t *)"pass", 4,
		     (const uint8_t *)"saltsaltsaltsalT", 16, 100, b, 64),
	    0);
	CHECK(memcmp(a, b, 64) != 0);
	CHECK_EQ(crypto_kdf((const uint8_t *)"pass", 4,
		     (const uint8_t *)"saltsaltsaltsalt", 16, 101, b, 64),
	    0);
	CHECK(memcmp(a, b, 64) != 0);
	/* A shorter output is a prefix of the longer one. */
	CHECK_EQ(crypto_kdf((const uint8_t *)"pass", 4,
		     (const uint8_t *)"saltsaltsaltsalt", 16, 100, b, 32),
	    0);
	CHECK(memcmp(a, b, 32) == 0);
	/* An empty passphrase is a passphrase. */
	CHECK_EQ(crypto_kdf((const uint8_t *)"", 0,
		     (const uint8_t *)"saltsaltsaltsalt", 16, 100, b, 64),
	    0);
	CHECK(memcmp(a, b, 64) != 0);
}

static void
test_small_helpers(void)
{
	uint8_t a[64], b[64], *s;
	size_t i;
	int zero = 1;

	memset(a, 7, sizeof(a));
	memset(b, 7, sizeof(b));
	CHECK_EQ(crypto_equal(a, b, sizeof(a)), 1);
	CHECK_EQ(crypto_equal(a, b, 0), 1);
	b[63] = 8;
	CHECK_EQ(crypto_equal(a, b, sizeof(a)), 0);
	CHECK_EQ(crypto_equal(a, b, 63), 1);
	b[63] = 7;
	b[0] = 0;
	CHECK_EQ(crypto_equal(a, b, sizeof(a)), 0);
	CHECK_EQ(crypto_equal(a, b, 1), 0);

	CHECK_EQ(crypto_random(a, sizeof(a)), 0);
	CHECK_EQ(crypto_random(b, sizeof(b)), 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK_EQ(crypto_random(a, 0), 0);

	s = crypto_secure_alloc(100);
	CHECK(s != NULL);
	if (s != NULL) {
		for (i = 0; i < 100; i++)
			zero &= s[i] == 0;
		CHECK(zero);
		memset(s, 0xff, 100);
	}
	crypto_secure_free(s, 100);
	crypto_secure_free(NULL, 100);
}

/* SSHSIG (PROTOCOL.sshsig): what ssh-keygen -Y signs and checks. */
#define SSHSIG_NS "sshenv-test@example.com"

/* The SHA-512 of a file, from sha512sum. */
static int
file_sha512(struct rp_tmp *t, const char *path, uint8_t h[64])
{
	char *argv[] = { "sha512sum", (char *)path, NULL };
	char *out, byte[3] = { 0 };
	size_t outlen, i;
	int status, r = -1;

	if (rp_run(argv, t->envp, NULL, &out, &outlen, &status) != 0)
		return -1;
	if (status == 0 && outlen >= 128) {
		for (i = 0; i < 64; i++) {
			byte[0] = out[2 * i];
			byte[1] = out[2 * i + 1];
			h[i] = (uint8_t)strtoul(byte, NULL, 16);
		}
		r = 0;
	}
	free(out);
	return r;
}

/* The bytes an SSHSIG signature covers. */
static int
sshsig_signed_data(struct wire *w, const uint8_t h[64])
{
	int r;

	if ((r = wire_put(w, "SSHSIG", 6)) != 0 ||
	    (r = wire_put_cstring(w, SSHSIG_NS)) != 0 ||
	    (r = wire_put_string(w, "", 0)) != 0 ||
	    (r = wire_put_cstring(w, "sha512")) != 0)
		return r;
	return wire_put_string(w, h, 64);
}

static const int sshsig_keys[] = { K_ED25519, K_P256, K_P384, K_P521,
	K_RSA2048 };

static const char sshsig_msg[] = "a message signed for the sshenv tests\n";

/* ssh-keygen -Y sign; crypto_verify checks the signature. */
static void
test_sshsig_from_ssh_keygen(void)
{
	const struct keyfile *kf;
	struct rp_tmp t;
	struct wire w, sd;
	char *text, *out, keypath[RP_PATHLEN], msgpath[RP_PATHLEN];
	char sigpath[RP_PATHLEN + 8];
	uint8_t h[64], *blob, magic[6];
	const uint8_t *pub, *sig;
	size_t n, publen, siglen, outlen, i;
	uint32_t version;
	int status;

	if (rp_tmp_make(&t) != 0) {
		CHECK(0);
		return;
	}
	snprintf(msgpath, sizeof(msgpath), "%s", rp_tmp_path(&t, "msg"));
	snprintf(sigpath, sizeof(sigpath), "%s.sig", msgpath);
	CHECK_EQ(kf_write(msgpath, sshsig_msg, strlen(sshsig_msg), 0600), 0);
	CHECK_EQ(file_sha512(&t, msgpath, h), 0);
	for (i = 0; i < sizeof(sshsig_keys) / sizeof(sshsig_keys[0]); i++) {
		if ((kf = key(sshsig_keys[i])) == NULL)
			continue;
		/* ssh-keygen wants a private key file only we can read. */
		snprintf(keypath, sizeof(keypath), "%s",
		    rp_tmp_path(&t, "key"));
		if (kf_slurp(kf_path(keyname[sshsig_keys[i]]), &text, &n) !=
		    0) {
			CHECK(0);
			continue;
		}
		unlink(keypath);
		unlink(sigpath);
		CHECK_EQ(kf_write(keypath, text, n, 0600), 0);
		free(text);
		{
			char *argv[] = { "ssh-keygen", "-q", "-Y", "sign", "-f",
				keypath, "-n", SSHSIG_NS, msgpath, NULL };

			CHECK_EQ(rp_run(argv, t.envp, NULL, &out, &outlen,
				     &status),
			    0);
			free(out);
			CHECK_EQ(status, 0);
		}
		blob = NULL;
		if (kf_slurp(sigpath, &text, &n) != 0 ||
		    kf_unarmor(text, "SSH SIGNATURE", &blob, &n) != 0) {
			CHECK(0);
			free(text);
			continue;
		}
		free(text);
		wire_view(&w, blob, n);
		CHECK_EQ(wire_get_bytes(&w, magic, 6), 0);
		CHECK(memcmp(magic, "SSHSIG", 6) == 0);
		CHECK_EQ(wire_get_u32(&w, &version), 0);
		CHECK_EQ(version, 1);
		CHECK_EQ(wire_get_string(&w, &pub, &publen), 0);
		CHECK_EQ(wire_get_string_eq(&w, SSHSIG_NS), 0);
		CHECK_EQ(wire_get_string_eq(&w, ""), 0);
		CHECK_EQ(wire_get_string_eq(&w, "sha512"), 0);
		CHECK_EQ(wire_get_string(&w, &sig, &siglen), 0);
		CHECK_EQ(wire_end(&w), 0);
		CHECK(
		    publen == kf->publen && memcmp(pub, kf->pub, publen) == 0);

		wire_init(&sd, 4096);
		CHECK_EQ(sshsig_signed_data(&sd, h), 0);
		CHECK_EQ(crypto_verify(kf->pub, kf->publen, wire_ptr(&sd),
			     wire_avail(&sd), sig, siglen),
		    0);
		/* And not for another message. */
		h[0] ^= 1;
		wire_reset(&sd);
		CHECK_EQ(sshsig_signed_data(&sd, h), 0);
		CHECK_EQ(crypto_verify(kf->pub, kf->publen, wire_ptr(&sd),
			     wire_avail(&sd), sig, siglen),
		    ERR_SIG_INVALID);
		h[0] ^= 1;
		wire_free(&sd);
		free(blob);
	}
	rp_tmp_remove(&t);
}

/* Armors an SSHSIG blob the way ssh-keygen writes it. */
static int
write_sshsig(const char *path, const uint8_t *blob, size_t n)
{
	char *b64, *text;
	size_t len, i, o = 0;
	int r;

	if ((b64 = kf_b64_encode(blob, n)) == NULL)
		return -1;
	len = strlen(b64);
	if ((text = malloc(len + len / 70 + 128)) == NULL) {
		free(b64);
		return -1;
	}
	o += (size_t)sprintf(text, "-----BEGIN SSH SIGNATURE-----\n");
	for (i = 0; i < len; i += 70)
		o += (size_t)sprintf(text + o, "%.70s\n", b64 + i);
	o += (size_t)sprintf(text + o, "-----END SSH SIGNATURE-----\n");
	r = kf_write(path, text, o, 0600);
	free(text);
	free(b64);
	return r;
}

/* crypto_sign in SSHSIG form; ssh-keygen -Y check-novalidate accepts. */
static void
test_sshsig_to_ssh_keygen(void)
{
	const struct keyfile *kf;
	struct crypto_key *k;
	struct rp_tmp t;
	struct wire sd, sig, blob;
	char *out, msgpath[RP_PATHLEN], sigpath[RP_PATHLEN + 8];
	char badpath[RP_PATHLEN + 8];
	uint8_t h[64];
	size_t outlen, i;
	int status;

	if (rp_tmp_make(&t) != 0) {
		CHECK(0);
		return;
	}
	snprintf(msgpath, sizeof(msgpath), "%s", rp_tmp_path(&t, "msg"));
	snprintf(sigpath, sizeof(sigpath), "%s.sig", msgpath);
	snprintf(badpath, sizeof(badpath), "%s.bad", msgpath);
	CHECK_EQ(kf_write(msgpath, sshsig_msg, strlen(sshsig_msg), 0600), 0);
	CHECK_EQ(kf_write(badpath, "another message\n", 16, 0600), 0);
	CHECK_EQ(file_sha512(&t, msgpath, h), 0);
	for (i = 0; i < sizeof(sshsig_keys) / sizeof(sshsig_keys[0]); i++) {
		if ((kf = key(sshsig_keys[i])) == NULL)
			continue;
		CHECK_EQ(crypto_key_parse(kf->form, kf->formlen, &k), 0);
		if (k == NULL)
			continue;
		wire_init(&sd, 4096);
		wire_init(&sig, 4096);
		wire_init(&blob, 8192);
		CHECK_EQ(sshsig_signed_data(&sd, h), 0);
		/* SSHSIG wants a SHA-2 RSA signature. */
		CHECK_EQ(crypto_sign(k, wire_ptr(&sd), wire_avail(&sd),
			     CRYPTO_SIGN_RSA_SHA2_512, &sig),
		    0);
		CHECK_EQ(wire_put(&blob, "SSHSIG", 6), 0);
		CHECK_EQ(wire_put_u32(&blob, 1), 0);
		CHECK_EQ(wire_put_string(&blob, kf->pub, kf->publen), 0);
		CHECK_EQ(wire_put_cstring(&blob, SSHSIG_NS), 0);
		CHECK_EQ(wire_put_string(&blob, "", 0), 0);
		CHECK_EQ(wire_put_cstring(&blob, "sha512"), 0);
		CHECK_EQ(wire_put_string(&blob, wire_ptr(&sig),
			     wire_avail(&sig)),
		    0);
		CHECK_EQ(write_sshsig(sigpath, wire_ptr(&blob),
			     wire_avail(&blob)),
		    0);
		{
			char *argv[] = { "ssh-keygen", "-Y", "check-novalidate",
				"-n", SSHSIG_NS, "-s", sigpath, NULL };

			CHECK_EQ(rp_run(argv, t.envp, msgpath, &out, &outlen,
				     &status),
			    0);
			free(out);
			if (status != 0)
				fprintf(stderr,
				    "  ssh-keygen refused the %s "
				    "signature\n",
				    keyname[sshsig_keys[i]]);
			CHECK_EQ(status, 0);
			/* The referee is not a rubber stamp. */
			CHECK_EQ(rp_run(argv, t.envp, badpath, &out, &outlen,
				     &status),
			    0);
			free(out);
			CHECK(status != 0);
		}
		wire_free(&blob);
		wire_free(&sig);
		wire_free(&sd);
		crypto_key_unref(k);
	}
	rp_tmp_remove(&t);
}

/* "Safe to call from several threads at once on the same key." */
struct signer {
	struct crypto_key *k;
	const struct keyfile *kf;
	uint32_t flags;
	int failures;
};

static void *
signer_run(void *arg)
{
	struct signer *s = arg;
	uint8_t data[32];
	struct wire w;
	int i;

	wire_init(&w, 4096);
	for (i = 0; i < 40; i++) {
		memset(data, i, sizeof(data));
		wire_reset(&w);
		if (crypto_sign(s->k, data, sizeof(data), s->flags, &w) != 0 ||
		    crypto_verify(s->kf->pub, s->kf->publen, data, sizeof(data),
			wire_ptr(&w), wire_avail(&w)) != 0)
			s->failures++;
	}
	wire_free(&w);
	return NULL;
}

static void
test_sign_threads(void)
{
	static const int which[] = { K_ED25519, K_P256, K_RSA1024 };
	const struct keyfile *kf;
	struct crypto_key *k;
	struct signer s[4];
	pthread_t th[4];
	size_t i;
	int j, started;

	for (i = 0; i < 3; i++) {
		if ((kf = key(which[i])) == NULL)
			continue;
		CHECK_EQ(crypto_key_parse(kf->form, kf->formlen, &k), 0);
		if (k == NULL)
			continue;
		started = 0;
		for (j = 0; j < 4; j++) {
			s[j].k = k;
			s[j].kf = kf;
			s[j].flags = (uint32_t)j * 2;
			s[j].failures = 0;
			if (pthread_create(&th[j], NULL, signer_run, &s[j]) !=
			    0)
				break;
			started++;
		}
		CHECK_EQ(started, 4);
		for (j = 0; j < started; j++) {
			pthread_join(th[j], NULL);
			CHECK_EQ(s[j].failures, 0);
		}
		crypto_key_unref(k);
	}
}

int
main(void)
{
	int locked, i;

	CHECK_EQ(crypto_seed(), 0);
	CHECK_EQ(crypto_init(1 << 20, &locked), 0);
	RUN(test_fixtures);
	RUN(test_parse_plain);
	RUN(test_parse_certified);
	RUN(test_key_refcount);
	RUN(test_sign_verify);
	RUN(test_sign_rsa_flags);
	RUN(test_sign_sizes);
	RUN(test_verify_malformed);
	RUN(test_parse_truncated);
	RUN(test_parse_trailing);
	RUN(test_parse_unknown_type);
	RUN(test_ed25519_inconsistent);
	RUN(test_ecdsa_inconsistent);
	RUN(test_rsa_inconsistent);
	RUN(test_rsa_wrong_d);
	RUN(test_cert_bad_signature);
	RUN(test_cert_wrong_key);
	RUN(test_sk_parse);
	RUN(test_sk_malformed);
	RUN(test_external);
	RUN(test_fingerprint);
	RUN(test_seal_open);
	RUN(test_kdf);
	RUN(test_small_helpers);
	RUN(test_sshsig_from_ssh_keygen);
	RUN(test_sshsig_to_ssh_keygen);
	RUN(test_sign_threads);
	for (i = 0; i < K_COUNT; i++)
		keyfile_free(&keys[i]);
	UNIT_DONE();
}
