/*
 * crypto: the only module that includes OpenSSL.  SSH key and signature
 * formats (RFC 4253, RFC 5656, RFC 8332, RFC 8709, PROTOCOL.certkeys) on
 * top of libcrypto: private key import, signing, verification, and the
 * primitives the key store needs to keep secrets.
 *
 * Private key material lives in OpenSSL's secure heap (locked, excluded
 * from core dumps) once crypto_init() has set it up.
 */
#ifndef SSHENV_CRYPTO_H
#define SSHENV_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

struct wire;
struct crypto_key;

/* Signature flags of SSH2_AGENTC_SIGN_REQUEST. */
#define CRYPTO_SIGN_RSA_SHA2_256 0x02
#define CRYPTO_SIGN_RSA_SHA2_512 0x04

/*
 * Sets up the secure heap (heap_size bytes, a power of two; 0 for none).
 * Returns 0, or ERR_CRYPTO if the heap could not be created; a heap that
 * could be created but not locked is still used, and *locked says which.
 * crypto_init or crypto_seed is to be the process's first use of
 * libcrypto: OpenSSL's error strings are then never loaded.
 */
int crypto_init(size_t heap_size, int *locked);

/*
 * Sets up and seeds libcrypto's two random generators (about 2 ms: its
 * providers load on first use): Hash_DRBG with SHA-512 unless
 * openssl.cnf's [random] section names another.  Thread-safe: the agent runs it on a
 * signing thread at start, so that it serves at once and a broken
 * entropy source still shows at start-up, not in a request.  Call it
 * before crypto_init: generators set up after the secure heap are kept
 * in it, where LeakSanitizer cannot see them.  0 or ERR_CRYPTO.
 */
int crypto_seed(void);

/*
 * Parses a private key in the agent's add-identity form: the key type name
 * followed by the type's fields, filling the whole of blob.  Certificates
 * are checked: well formed, signed by their CA, and matching the private
 * key.  On success *out holds one reference the caller must release.
 */
int crypto_key_parse(const uint8_t *blob, size_t len, struct crypto_key **out);
/*
 * A key's private parts stay in the secure heap; what OpenSSL makes of
 * them to sign (OpenSSL 3.0 copies them into ordinary heap) is kept from
 * a signature to the next and freed, wiped, by this once no signature
 * has used it for idle_ms.  Returns 1 if it is still kept (to be asked
 * again later), else 0.  Thread-safe.
 */
int crypto_key_forget(struct crypto_key *k, unsigned idle_ms);

/* Takes another reference; returns k. */
struct crypto_key *crypto_key_ref(struct crypto_key *k);
/* Drops a reference; the last one wipes and frees.  Accepts NULL. */
void crypto_key_unref(struct crypto_key *k);
/* The public key blob (the certificate, for a certified key). */
const uint8_t *crypto_key_blob(const struct crypto_key *k, size_t *len);

/*
 * A key whose private half is somewhere else (a token behind a helper
 * process): crypto_sign hands its requests to sign, on the caller's
 * thread.  hold(arg, +1) and hold(arg, -1) are called as keys take and
 * drop it, so that what arg names outlives them.
 */
struct crypto_signer {
	int (*sign)(void *arg, const struct crypto_key *k, const uint8_t *data,
	    size_t dlen, uint32_t flags, struct wire *out);
	void (*hold)(void *arg, int delta);
	void *arg;
};
/*
 * A key of which only its public blob (a plain key or a certificate,
 * whose CA signature must hold) is known, signed by signer.  FIDO keys
 * are refused (ERR_KEY_TYPE): they come with their key handle.
 */
int crypto_key_external(const uint8_t *blob, size_t len,
    const struct crypto_signer *signer, struct crypto_key **out);
/* Sets (NULL: clears) the signer of k, a FIDO key's provider. */
void crypto_key_set_signer(struct crypto_key *k, const struct crypto_signer *s);
/* k's signer, or NULL if it signs here. */
const struct crypto_signer *crypto_key_signer(const struct crypto_key *k);
/* The plain public key blob: the blob, or the key a certificate holds. */
const uint8_t *crypto_key_plain(const struct crypto_key *k, size_t *len);

/* What a FIDO key's provider needs (views into the key). */
struct crypto_sk {
	const char *alg; /* the key type name, as its signatures' */
	int ecdsa;	 /* 1: ECDSA P-256; 0: Ed25519 */
	const uint8_t *app, *handle;
	size_t applen, handlelen;
	uint8_t flags;
};
/* 1 and *out for a FIDO key; 0 otherwise. */
int crypto_key_sk(const struct crypto_key *k, struct crypto_sk *out);

/*
 * Signs data with k, appending an SSH signature blob (string algorithm,
 * string signature) to out.  flags pick the RSA hash; for an RSA key with
 * neither flag, ssh-rsa (SHA-1) is used as the protocol says.  Safe to call
 * from several threads at once on the same key.
 */
int crypto_sign(const struct crypto_key *k, const uint8_t *data, size_t dlen,
    uint32_t flags, struct wire *out);

/*
 * Verifies an SSH signature blob over data with the public key blob, a
 * plain key or a certificate (whose CA signature must hold: then the key
 * it certifies is the one that signed).  Returns 0 or ERR_SIG_INVALID,
 * ERR_CERT_INVALID, or a parse error for malformed input.
 */
int crypto_verify(const uint8_t *key, size_t klen, const uint8_t *data,
    size_t dlen, const uint8_t *sig, size_t slen);

/* What a certificate is judged by; pointers into its blob. */
struct crypto_cert {
	uint32_t type; /* 1: user, 2: host */
	uint64_t valid_after, valid_before;
	const uint8_t *principals; /* a run of strings */
	size_t principalslen;
	size_t criticallen; /* the critical options' bytes */
	const uint8_t *ca;  /* the signing CA's public key blob */
	size_t calen;
	int sha1; /* the CA signed with ssh-rsa (SHA-1) */
};
/*
 * Parses a certificate blob and checks its CA signature.  0 and *out, or
 * ERR_CERT_INVALID (also for a plain key), ERR_KEY_TYPE, parse errors.
 */
int crypto_cert_info(const uint8_t *blob, size_t len, struct crypto_cert *out);

/*
 * The digest md ("SHA1", "SHA256", "SHA384", "SHA512") of data into out,
 * which has room for 64 bytes; *outlen its length.  0 or ERR_CRYPTO.
 */
int crypto_digest(const char *md, const uint8_t *data, size_t len,
    uint8_t out[64], size_t *outlen);
/*
 * r and s of a DER ECDSA signature (as libfido2 gives it), big-endian,
 * each at most room bytes.  0 or ERR_FORMAT.
 */
int crypto_ecdsa_der_rs(const uint8_t *der, size_t len, uint8_t *r,
    size_t *rlen, uint8_t *s, size_t *slen, size_t room);

/* "SHA256:<base64>" of a public key blob into buf; 0 or ERR_TOO_LONG. */
int crypto_fingerprint(const uint8_t *blob, size_t len, char *buf, size_t size);

/* Cryptographically strong random bytes; 0 or ERR_CRYPTO. */
int crypto_random(void *p, size_t n);
/* 1 if the n bytes at a and b are equal, in time independent of content. */
int crypto_equal(const void *a, const void *b, size_t n);

/* Secure-heap memory for secrets; crypto_secure_free wipes it.  */
void *crypto_secure_alloc(size_t n);
void crypto_secure_free(void *p, size_t n);

/*
 * PBKDF2-HMAC-SHA512 of the SHA-512 of the length-prefixed passphrase (so
 * that no two passphrases, NULs included, share a key); 0 or ERR_CRYPTO.
 */
int crypto_kdf(const uint8_t *pass, size_t plen, const uint8_t *salt,
    size_t slen, unsigned iterations, uint8_t *out, size_t olen);
/*
 * AES-256-GCM with a random nonce: seal appends nonce, ciphertext and tag
 * to out; open checks and decrypts into a secure-heap buffer *plain of
 * *plen bytes that the caller frees with crypto_secure_free.
 */
int crypto_seal(const uint8_t key[32], const uint8_t *plain, size_t plen,
    struct wire *out);
int crypto_open(const uint8_t key[32], const uint8_t *sealed, size_t slen,
    uint8_t **plain, size_t *plen);

#endif
