/*
 * tokens: the agent's side of its token helpers (sshenv-token), one
 * process per PKCS#11 module and per FIDO provider, started on the
 * agent's loop and spoken to off it (the calls block: a PIN, a touch).
 * A token lives while something holds it (a request, a key: the key
 * store holds each key's token through crypto_signer) and while its
 * process runs; once stopped or dead it takes no more calls.
 */
#ifndef SSHENV_TOKENS_H
#define SSHENV_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct wire;
struct crypto_signer;
struct tokens;
struct token;

enum token_kind { TOKEN_PKCS11, TOKEN_SK };

/* The allowlist of providers when none is given, as ssh-agent's. */
#define TOKENS_DEFAULT_ALLOW "/usr/lib*/*,/usr/local/lib*/*"

/*
 * Whether path (a real path) matches the comma-separated patterns, as
 * ssh-agent's -P reads them: shell patterns where '*' spans '/', and a
 * pattern after '!' refuses what it matches, whatever else does.
 */
int tokens_allowed(const char *patterns, const char *path);

/*
 * The set, whose helpers are the program at helper (copied).  A FIDO
 * provider's helper that ends by itself is started again (a few times a
 * minute at most: it holds nothing but the library); when a PKCS#11
 * module's does (its login is gone with it), or a FIDO one too often,
 * dead(arg, token) is called, on the loop, for its keys to go.
 */
int tokens_new(uv_loop_t *loop, const char *helper,
    void (*dead)(void *arg, struct token *t), void *arg, struct tokens **out);
/*
 * Stops every helper; the set goes once no token is left (each is freed
 * when its process has ended and nothing holds it: drop the keys first,
 * keystore_clear).  A helper that does not end within a second of being
 * told is killed.
 */
void tokens_close(struct tokens *ts);

/* The running token of this kind for this (real) path, or NULL. */
struct token *
tokens_find(struct tokens *ts, enum token_kind kind, const char *path);
/*
 * Starts a helper for path: the token, held once by the caller
 * (token_hold(t, -1) to let go).  ERR_SYSTEM if it could not start.
 */
int tokens_start(struct tokens *ts, enum token_kind kind, const char *path,
    struct token **out);

/* Takes (+1) or drops (-1) a hold, on the loop.  The last one stops the
 * helper. */
void token_hold(void *token, int delta);
/* Stops the helper now: calls in progress fail at once. */
void token_stop(struct token *t);
/* Whether it was stopped, or its helper ended for good. */
int token_stopped(const struct token *t);
/*
 * On the loop, around each signature by one of its keys: begin refuses
 * (ERR_BUSY) when the token is stopped or has too many under way.
 */
int token_begin(struct token *t);
void token_end(struct token *t);
const char *token_path(const struct token *t);
enum token_kind token_kind(const struct token *t);

/* The signer its keys sign through (crypto.h). */
void token_signer(struct token *t, struct crypto_signer *out);

/*
 * Off the loop, blocking.  PKCS#11: logs in with pin and appends what
 * the helper lists (TOKEN_KEYS' body) to keys.  An error is logged with
 * the helper's message.
 */
int token_load(struct token *t, const uint8_t *pin, size_t pinlen,
    struct wire *keys);

#endif
