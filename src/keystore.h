/*
 * keystore: the agent's identities, their constraints and the lock.  It
 * owns every byte of secret material: each key's private form is kept in
 * the secure heap while unlocked, sealed under a passphrase-derived key
 * while locked (the usable keys are then gone from memory), and wiped when
 * removed, expired or freed.  Not thread-safe: one owner, the agent loop.
 */
#ifndef SSHENV_KEYSTORE_H
#define SSHENV_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

struct keystore;
struct crypto_key;
struct crypto_signer;
struct destcons;
struct wire;

/*
 * Whether the key with this public blob, under these destination
 * constraints (NULL: none), is visible to the asker: listed, removable,
 * replaceable.  Returns 1 or 0.
 */
typedef int keystore_visible_fn(const uint8_t *blob, size_t len,
    const struct destcons *dest, void *arg);

/* Returns 0 and a new empty store, or ERR_ALLOC. */
int keystore_new(struct keystore **out);
/* Wipes every secret and frees the store.  Accepts NULL. */
void keystore_free(struct keystore *ks);

/*
 * The bounds on what one store holds: keys, the secure-heap bytes their
 * secrets take as OpenSSL's buddy allocator rounds them (a power of two,
 * 32 at least), and the bytes their blobs and comments take in an
 * identities answer (so that the list always fits one answer).  A new
 * store has these; keystore_bound changes them.
 */
#define KEYSTORE_MAX_KEYS 1024
#define KEYSTORE_MAX_SECURE (512 * 1024)
#define KEYSTORE_MAX_LISTED (128 * 1024)

void
keystore_bound(struct keystore *ks, size_t keys, size_t secure, size_t listed);

/*
 * Adds the key whose add-identity form is secret (parsed and checked by
 * crypto), with its comment, an absolute expiry in milliseconds of the
 * caller's clock (0 for none) and the confirm flag.  A key already held
 * is replaced.  ERR_LOCKED while locked; ERR_FULL past a bound (the
 * key count only for a new key); parse errors as crypto gives them.
 */
int keystore_add(struct keystore *ks, const uint8_t *secret, size_t len,
    const uint8_t *comment, size_t commentlen, uint64_t expires, int confirm);
/*
 * The same, with destination constraints (dest, NULL for none, is the
 * store's from now on, whatever the outcome), replacing a key already
 * held only if visible (NULL: any) says it is visible: else ERR_DENIED.
 */
int keystore_add_dest(struct keystore *ks, const uint8_t *secret, size_t len,
    const uint8_t *comment, size_t commentlen, uint64_t expires, int confirm,
    struct destcons *dest, keystore_visible_fn *visible, void *arg);
/*
 * The same, for a key that signs elsewhere (signer, whose hold keeps it
 * while the store holds the key): a FIDO key in its add-identity form
 * (secret), or a token's key of which only its public blob (pub, a
 * plain key or a certificate) is known (secret NULL).  A FIDO key
 * without a signer is refused (ERR_UNSUPPORTED) by keystore_add too.
 */
int keystore_add_signed(struct keystore *ks, const uint8_t *secret, size_t len,
    const uint8_t *pub, size_t publen, const struct crypto_signer *signer,
    const uint8_t *comment, size_t commentlen, uint64_t expires, int confirm,
    struct destcons *dest, keystore_visible_fn *visible, void *arg);
/*
 * crypto_key_forget(key, idle_ms) for every usable key: what OpenSSL made
 * of a key to sign goes once unused that long.  How many keep theirs.
 */
size_t keystore_forget(struct keystore *ks, unsigned idle_ms);

/* Removes every key, locked or not (the agent's end). */
void keystore_clear(struct keystore *ks);
/* Removes every key whose signer's arg is arg, locked or not; how many. */
size_t keystore_remove_signer(struct keystore *ks, const void *arg);

/* The destination constraints of the usable key with this blob, or NULL
 * (none, no such key, or locked); valid until the store changes. */
const struct destcons *
keystore_dest(struct keystore *ks, const uint8_t *blob, size_t len);

/*
 * Finds the usable key with this public blob: *key gets a new reference
 * the caller releases with crypto_key_unref, *confirm its flag and
 * *comment (NUL-terminated copy owned by the store, valid until the store
 * changes) its comment.  ERR_NOT_FOUND, or ERR_LOCKED while locked.
 */
int keystore_find(struct keystore *ks, const uint8_t *blob, size_t len,
    struct crypto_key **key, int *confirm, const char **comment);

/* The key with this blob has just signed, at now (the expiry clock). */
void keystore_touch(struct keystore *ks, const uint8_t *blob, size_t len,
    uint64_t now);

/* Removes one key (ERR_NOT_FOUND, ERR_LOCKED) or all of them. */
int keystore_remove(struct keystore *ks, const uint8_t *blob, size_t len);
int keystore_remove_all(struct keystore *ks);
/* Removes one key if visible says the asker sees it, else ERR_NOT_FOUND. */
int keystore_remove_if(struct keystore *ks, const uint8_t *blob, size_t len,
    keystore_visible_fn *visible, void *arg);

/*
 * Appends an identities-answer body: the count, then each key blob and
 * comment in the order they were added.  Empty while locked.
 */
int keystore_list(struct keystore *ks, struct wire *out);
/* The same, with only the keys visible says the asker sees. */
int keystore_list_if(struct keystore *ks, struct wire *out,
    keystore_visible_fn *visible, void *arg);
size_t keystore_count(const struct keystore *ks);

/*
 * Appends what `sshenv status` shows of each key (the body of the agent's
 * key-info@sshenv extension): a locked byte, the count (0 while
 * locked), then for each key its blob, comment, fingerprint
 * ("SHA256:..."), a confirm byte, the seconds of lifetime left (0:
 * none), now being the expiry clock's time, the number of destination
 * constraints, a byte tag gives the key (0 if tag is NULL), and the
 * seconds since it last signed (UINT32_MAX: never; see keystore_touch).
 */
int keystore_describe(struct keystore *ks, uint64_t now, struct wire *out,
    uint8_t (*tag)(const uint8_t *blob, size_t len, void *arg), void *arg);

/*
 * Locks with a passphrase (ERR_LOCKED if already locked) or unlocks
 * (ERR_DENIED for a wrong passphrase or when not locked).  Only a salted
 * PBKDF2 verifier of the passphrase is kept.
 */
int keystore_lock(struct keystore *ks, const uint8_t *pass, size_t len);
int keystore_unlock(struct keystore *ks, const uint8_t *pass, size_t len);
int keystore_locked(const struct keystore *ks);

/*
 * Removes every key whose expiry is at or before now; returns the earliest
 * expiry still pending, or 0 if none.
 */
uint64_t keystore_expire(struct keystore *ks, uint64_t now);

#endif
