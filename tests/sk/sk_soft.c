/*
 * sk-soft: a FIDO "security key" in software, for the test suites.  It is
 * an OpenSSH security key middleware (the sk-api, loaded by ssh-keygen -w,
 * ssh-add -S, ssh-sk-helper and SSH_SK_PROVIDER), so that sk keys can be
 * enrolled, added to an agent and used for logins and SSHSIG signatures
 * on a machine with no authenticator.
 *
 * Written for the sk-api of OpenSSH 9.2 (SSH_SK_VERSION_MAJOR 0x000a0000,
 * sk-api.h 1.15); OpenSSH refuses a middleware of another major version.
 * The structures below are that ABI: field for field, the same types.
 *
 * Stateless, like OpenSSH's own sk-dummy: the key handle holds the private
 * key in clear ("SKS1", algorithm, private key, public key).  A test key
 * and nothing else.  Unlike a real authenticator the handle is not bound
 * to the application, so a test may give a key another application by
 * rewriting the key file (the websafe case).  No resident keys: enrolling
 * one is unsupported and sk_load_resident_keys finds none.
 *
 * What a signature covers (PROTOCOL.u2f): the authenticator signs
 *   SHA256(application) || flags || counter (u32, big-endian) || SHA256(data)
 * ECDSA P-256 over the SHA-256 of that, r and s returned apart; Ed25519
 * over those 69 bytes themselves, the 64-byte signature in sig_r.
 *
 * Environment, for tests:
 *   SK_SOFT_PIN  when set, sk_sign without a PIN or with another one
 *                returns SSH_SK_ERR_PIN_REQUIRED (as a key with a PIN
 *                and user verification would); with it, it signs.
 *   SK_SOFT_LOG  a file to which each sk_enroll and sk_sign call appends
 *                one line, e.g.
 *                sign prog=ssh-sk-helper pid=42 alg=ed25519
 *                application=ssh: pin=no result=ok
 *                (prog: the process that loaded us; result: ok,
 *                pin-required or error).  Never the PIN itself.
 *   SK_SOFT_WAIT a file: before a signature that asks for the user's
 *                presence, wait (5 s at most) until it is not empty, as
 *                a person would wait for the agent's "touch your key"
 *                notice before touching it.
 *
 * Built without sanitizers: the OpenSSH tools that dlopen() it are not.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

/* ---- the sk-api ABI of OpenSSH 9.2 (sk-api.h) ---- */

#define SSH_SK_USER_PRESENCE_REQD 0x01
#define SSH_SK_USER_VERIFICATION_REQD 0x04
#define SSH_SK_RESIDENT_KEY 0x20

#define SSH_SK_ECDSA 0x00
#define SSH_SK_ED25519 0x01

#define SSH_SK_ERR_GENERAL -1
#define SSH_SK_ERR_UNSUPPORTED -2
#define SSH_SK_ERR_PIN_REQUIRED -3

#define SSH_SK_VERSION_MAJOR 0x000a0000

struct sk_enroll_response {
	uint8_t flags;
	uint8_t *public_key;
	size_t public_key_len;
	uint8_t *key_handle;
	size_t key_handle_len;
	uint8_t *signature;
	size_t signature_len;
	uint8_t *attestation_cert;
	size_t attestation_cert_len;
	uint8_t *authdata;
	size_t authdata_len;
};

struct sk_sign_response {
	uint8_t flags;
	uint32_t counter;
	uint8_t *sig_r;
	size_t sig_r_len;
	uint8_t *sig_s;
	size_t sig_s_len;
};

struct sk_resident_key {
	uint32_t alg;
	size_t slot;
	char *application;
	struct sk_enroll_response key;
	uint8_t flags;
	uint8_t *user_id;
	size_t user_id_len;
};

struct sk_option {
	char *name;
	char *value;
	uint8_t required;
};

uint32_t sk_api_version(void);
int sk_enroll(uint32_t alg, const uint8_t *challenge, size_t challenge_len,
    const char *application, uint8_t flags, const char *pin,
    struct sk_option **options, struct sk_enroll_response **enroll_response);
int sk_sign(uint32_t alg, const uint8_t *data, size_t data_len,
    const char *application, const uint8_t *key_handle, size_t key_handle_len,
    uint8_t flags, const char *pin, struct sk_option **options,
    struct sk_sign_response **sign_response);
int sk_load_resident_keys(const char *pin, struct sk_option **options,
    struct sk_resident_key ***rks, size_t *nrks);

/* ---- the key handle ---- */

#define HANDLE_MAGIC "SKS1"
#define HANDLE_MAGIC_LEN 4
#define PRIV_LEN 32
#define ED25519_PUB_LEN 32
#define P256_PUB_LEN 65 /* uncompressed point: 0x04 || x || y */
#define HANDLE_MAX (HANDLE_MAGIC_LEN + 1 + PRIV_LEN + P256_PUB_LEN)
#define SHA256_LEN 32
/* SHA256(application) || flags || counter || SHA256(data) */
#define MESSAGE_LEN (SHA256_LEN + 1 + 4 + SHA256_LEN)

static size_t
pub_len(uint32_t alg)
{
	switch (alg) {
	case SSH_SK_ED25519: return ED25519_PUB_LEN;
	case SSH_SK_ECDSA: return P256_PUB_LEN;
	default: return 0;
	}
}

static const char *
alg_name(uint32_t alg)
{
	switch (alg) {
	case SSH_SK_ED25519: return "ed25519";
	case SSH_SK_ECDSA: return "ecdsa-p256";
	default: return "unknown";
	}
}

/* ---- the trace (SK_SOFT_LOG) ---- */

static const char *
prog_name(void)
{
#ifdef __GLIBC__
	extern char *program_invocation_short_name;

	return program_invocation_short_name;
#else
	return "?";
#endif
}

/*
 * One line per call, written with one write(2) to an O_APPEND file, so
 * that lines of concurrent signers do not mix.  The application is the
 * caller's string: anything but printable ASCII other than a space is
 * shown as '?', so that a line stays one line of key=value words.
 */
static void
trace(const char *op, uint32_t alg, const char *application, const char *pin,
    const char *result)
{
	const char *path = getenv("SK_SOFT_LOG");
	char app[128], line[512];
	size_t i;
	int fd, n;

	if (path == NULL || *path == '\0')
		return;
	for (i = 0; application != NULL && application[i] != '\0' &&
	     i < sizeof(app) - 1;
	     i++) {
		unsigned char c = (unsigned char)application[i];

		app[i] = (c > ' ' && c < 0x7f) ? (char)c : '?';
	}
	app[i] = '\0';
	n = snprintf(line, sizeof(line),
	    "%s prog=%s pid=%ld alg=%s application=%s pin=%s result=%s\n", op,
	    prog_name(), (long)getpid(), alg_name(alg), app,
	    (pin != NULL && *pin != '\0') ? "yes" : "no", result);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		return;
	if (write(fd, line, (size_t)n) != n) {
		/* A trace is best effort: the signature matters more. */
	}
	close(fd);
}

/* ---- crypto ---- */

static int
sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned int olen = 0;

	if (EVP_Digest(data, len, out, &olen, EVP_sha256(), NULL) != 1 ||
	    olen != SHA256_LEN)
		return -1;
	return 0;
}

/*
 * A fresh key pair of ALG: PRIV (32 bytes) and PUB (pub_len(alg) bytes,
 * an uncompressed point for P-256).  Returns 0 or -1.
 */
static int
keygen(uint32_t alg, uint8_t *priv, uint8_t *pub)
{
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;
	size_t len;
	int ret = -1;

	if (alg == SSH_SK_ED25519) {
		if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
			goto out;
		len = PRIV_LEN;
		if (EVP_PKEY_get_raw_private_key(pkey, priv, &len) != 1 ||
		    len != PRIV_LEN)
			goto out;
		len = ED25519_PUB_LEN;
		if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 ||
		    len != ED25519_PUB_LEN)
			goto out;
	} else if (alg == SSH_SK_ECDSA) {
		if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) ==
		    NULL)
			goto out;
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) !=
			1 ||
		    BN_bn2binpad(d, priv, PRIV_LEN) != PRIV_LEN)
			goto out;
		if (EVP_PKEY_get_octet_string_param(pkey,
			OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, P256_PUB_LEN,
			&len) != 1 ||
		    len != P256_PUB_LEN || pub[0] != 0x04)
			goto out;
	} else
		goto out;
	ret = 0;
out:
	BN_clear_free(d);
	EVP_PKEY_free(pkey);
	return ret;
}

/* The P-256 key pair PRIV, PUB as an EVP_PKEY, or NULL. */
static EVP_PKEY *
p256_from(const uint8_t *priv, const uint8_t *pub)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;

	if ((d = BN_bin2bn(priv, PRIV_LEN, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
		"prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
		P256_PUB_LEN) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return pkey;
}

/* A big-endian copy of BN in a new buffer (free()d by OpenSSH). */
static int
bn_dup(const BIGNUM *bn, uint8_t **out, size_t *outlen)
{
	int n = BN_num_bytes(bn);

	if (n <= 0 || (*out = malloc((size_t)n)) == NULL)
		return -1;
	if (BN_bn2bin(bn, *out) != n) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*outlen = (size_t)n;
	return 0;
}

/*
 * Sign MSG with the key of ALG in PRIV (and PUB), into RESP: Ed25519's 64
 * bytes in sig_r, or ECDSA-SHA256's r and s.  Returns 0 or -1.
 */
static int
sign_message(uint32_t alg, const uint8_t *priv, const uint8_t *pub,
    const uint8_t *msg, size_t msglen, struct sk_sign_response *resp)
{
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY *pkey = NULL;
	ECDSA_SIG *esig = NULL;
	uint8_t sig[128];
	const uint8_t *p;
	size_t siglen = sizeof(sig);
	int ret = -1;

	if ((mctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (alg == SSH_SK_ED25519) {
		pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
		    priv, PRIV_LEN);
		if (pkey == NULL ||
		    EVP_DigestSignInit(mctx, NULL, NULL, NULL, pkey) != 1 ||
		    EVP_DigestSign(mctx, sig, &siglen, msg, msglen) != 1 ||
		    siglen != 64)
			goto out;
		if ((resp->sig_r = malloc(siglen)) == NULL)
			goto out;
		memcpy(resp->sig_r, sig, siglen);
		resp->sig_r_len = siglen;
	} else {
		const BIGNUM *r, *s;

		if ((pkey = p256_from(priv, pub)) == NULL ||
		    EVP_DigestSignInit(mctx, NULL, EVP_sha256(), NULL, pkey) !=
			1 ||
		    EVP_DigestSign(mctx, sig, &siglen, msg, msglen) != 1)
			goto out;
		p = sig;
		if ((esig = d2i_ECDSA_SIG(NULL, &p, (long)siglen)) == NULL)
			goto out;
		ECDSA_SIG_get0(esig, &r, &s);
		if (bn_dup(r, &resp->sig_r, &resp->sig_r_len) != 0 ||
		    bn_dup(s, &resp->sig_s, &resp->sig_s_len) != 0)
			goto out;
	}
	ret = 0;
out:
	ECDSA_SIG_free(esig);
	EVP_PKEY_free(pkey);
	EVP_MD_CTX_free(mctx);
	return ret;
}

/* ---- options and PIN ---- */

/*
 * Whether OPTIONS are ones we may ignore: "device" and "user" (we are the
 * only device; user ids matter for resident keys only) or optional ones.
 */
static int
options_ok(struct sk_option **options)
{
	size_t i;

	for (i = 0; options != NULL && options[i] != NULL; i++) {
		if (!options[i]->required)
			continue;
		if (options[i]->name == NULL ||
		    (strcmp(options[i]->name, "device") != 0 &&
			strcmp(options[i]->name, "user") != 0))
			return 0;
	}
	return 1;
}

/*
 * Whether PIN unlocks the key: always when SK_SOFT_PIN is unset (a key
 * with no PIN) unless FLAGS ask for user verification, which needs some
 * PIN; else PIN must be SK_SOFT_PIN.
 */
static int
pin_ok(const char *pin, uint8_t flags)
{
	const char *want = getenv("SK_SOFT_PIN");
	size_t len;

	if (want == NULL)
		return !(flags & SSH_SK_USER_VERIFICATION_REQD) ||
		    (pin != NULL && *pin != '\0');
	if (pin == NULL || (len = strlen(pin)) != strlen(want))
		return 0;
	return CRYPTO_memcmp(pin, want, len) == 0;
}

/* ---- the sk-api ---- */

uint32_t
sk_api_version(void)
{
	return SSH_SK_VERSION_MAJOR;
}

int
sk_enroll(uint32_t alg, const uint8_t *challenge, size_t challenge_len,
    const char *application, uint8_t flags, const char *pin,
    struct sk_option **options, struct sk_enroll_response **enroll_response)
{
	struct sk_enroll_response *resp = NULL;
	uint8_t priv[PRIV_LEN], pub[P256_PUB_LEN];
	size_t plen = pub_len(alg);
	int ret = SSH_SK_ERR_GENERAL;

	(void)challenge;
	(void)challenge_len;
	if (enroll_response == NULL)
		goto out;
	*enroll_response = NULL;
	if (application == NULL || *application == '\0')
		goto out;
	/* Nowhere to keep a resident key, an unknown algorithm or option. */
	if (plen == 0 || (flags & SSH_SK_RESIDENT_KEY) != 0 ||
	    !options_ok(options)) {
		ret = SSH_SK_ERR_UNSUPPORTED;
		goto out;
	}
	if (keygen(alg, priv, pub) != 0 ||
	    (resp = calloc(1, sizeof(*resp))) == NULL ||
	    (resp->public_key = malloc(plen)) == NULL ||
	    (resp->key_handle = malloc(HANDLE_MAX)) == NULL)
		goto out;
	memcpy(resp->public_key, pub, plen);
	resp->public_key_len = plen;
	memcpy(resp->key_handle, HANDLE_MAGIC, HANDLE_MAGIC_LEN);
	resp->key_handle[HANDLE_MAGIC_LEN] = (uint8_t)alg;
	memcpy(resp->key_handle + HANDLE_MAGIC_LEN + 1, priv, PRIV_LEN);
	memcpy(resp->key_handle + HANDLE_MAGIC_LEN + 1 + PRIV_LEN, pub, plen);
	resp->key_handle_len = HANDLE_MAGIC_LEN + 1 + PRIV_LEN + plen;
	/* No attestation: signature, certificate and authdata stay empty. */
	resp->flags = flags;
	*enroll_response = resp;
	resp = NULL;
	ret = 0;
out:
	trace("enroll", alg, application, pin, ret == 0 ? "ok" : "error");
	OPENSSL_cleanse(priv, sizeof(priv));
	if (resp != NULL) {
		free(resp->public_key);
		if (resp->key_handle != NULL)
			OPENSSL_cleanse(resp->key_handle, HANDLE_MAX);
		free(resp->key_handle);
		free(resp);
	}
	return ret;
}

/* SK_SOFT_WAIT: the notice is shown (the file has something), or 5 s. */
static void
wait_for_notice(void)
{
	const char *path = getenv("SK_SOFT_WAIT");
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	FILE *f;
	int i, c;

	for (i = 0; path != NULL && i < 100; i++) {
		if ((f = fopen(path, "r")) != NULL) {
			c = fgetc(f);
			fclose(f);
			if (c != EOF)
				return;
		}
		nanosleep(&ts, NULL);
	}
}

int
sk_sign(uint32_t alg, const uint8_t *data, size_t data_len,
    const char *application, const uint8_t *key_handle, size_t key_handle_len,
    uint8_t flags, const char *pin, struct sk_option **options,
    struct sk_sign_response **sign_response)
{
	struct sk_sign_response *resp = NULL;
	uint8_t msg[MESSAGE_LEN], *p = msg;
	size_t plen = pub_len(alg);
	uint32_t counter = (uint32_t)time(NULL);
	const uint8_t *priv, *pub;
	const char *result = "error";
	int ret = SSH_SK_ERR_GENERAL;

	if (sign_response == NULL)
		goto out;
	*sign_response = NULL;
	if (plen == 0 || !options_ok(options)) {
		ret = SSH_SK_ERR_UNSUPPORTED;
		goto out;
	}
	if (application == NULL || (data == NULL && data_len != 0) ||
	    key_handle == NULL ||
	    key_handle_len != HANDLE_MAGIC_LEN + 1 + PRIV_LEN + plen ||
	    memcmp(key_handle, HANDLE_MAGIC, HANDLE_MAGIC_LEN) != 0 ||
	    key_handle[HANDLE_MAGIC_LEN] != alg)
		goto out;
	if (!pin_ok(pin, flags)) {
		result = "pin-required";
		ret = SSH_SK_ERR_PIN_REQUIRED;
		goto out;
	}
	if (flags & SSH_SK_USER_PRESENCE_REQD)
		wait_for_notice();
	priv = key_handle + HANDLE_MAGIC_LEN + 1;
	pub = priv + PRIV_LEN;
	if ((resp = calloc(1, sizeof(*resp))) == NULL)
		goto out;
	/* The user is always present; verified when a PIN was needed. */
	resp->flags = flags & SSH_SK_USER_PRESENCE_REQD;
	if (flags & SSH_SK_USER_VERIFICATION_REQD)
		resp->flags |= SSH_SK_USER_VERIFICATION_REQD;
	resp->counter = counter;
	if (sha256(application, strlen(application), p) != 0)
		goto out;
	p += SHA256_LEN;
	*p++ = resp->flags;
	*p++ = (uint8_t)(counter >> 24);
	*p++ = (uint8_t)(counter >> 16);
	*p++ = (uint8_t)(counter >> 8);
	*p++ = (uint8_t)counter;
	if (sha256(data, data_len, p) != 0)
		goto out;
	if (sign_message(alg, priv, pub, msg, sizeof(msg), resp) != 0)
		goto out;
	*sign_response = resp;
	resp = NULL;
	result = "ok";
	ret = 0;
out:
	trace("sign", alg, application, pin, result);
	if (resp != NULL) {
		free(resp->sig_r);
		free(resp->sig_s);
		free(resp);
	}
	return ret;
}

int
sk_load_resident_keys(const char *pin, struct sk_option **options,
    struct sk_resident_key ***rks, size_t *nrks)
{
	(void)pin;
	if (rks == NULL || nrks == NULL)
		return SSH_SK_ERR_GENERAL;
	*rks = NULL;
	*nrks = 0;
	if (!options_ok(options))
		return SSH_SK_ERR_UNSUPPORTED;
	/* Stateless: there is nowhere a resident key could be. */
	return 0;
}
