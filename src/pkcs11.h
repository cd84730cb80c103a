/*
 * pkcs11: one PKCS#11 module, in the token helper's process (never the
 * agent's): its public keys as SSH blobs, and signatures by their private
 * halves in SSH's formats (RSA with SHA-1, SHA-256 or SHA-512 as the
 * request's flags say; ECDSA on P-256, P-384 and P-521).  The API's
 * definitions are p11-kit's pkcs11.h.
 */
#ifndef SSHENV_PKCS11_H
#define SSHENV_PKCS11_H

#include <stddef.h>
#include <stdint.h>

struct wire;
struct pkcs11;

/*
 * Loads the module at path: refused (ERR_NOT_PROVIDER) unless its file
 * exports C_GetFunctionList, checked before it is loaded; then
 * C_Initialize.  err gets a message for the log on failure.
 */
int
pkcs11_open(const char *path, struct pkcs11 **out, char *err, size_t errsize);
/* C_Finalize, and the module is unloaded.  Accepts NULL. */
void pkcs11_close(struct pkcs11 *p);

/*
 * Logs in to every token that asks for it with pin (ERR_PIN if a token
 * refuses it) and appends TOKEN_KEYS' body: each key that has a public
 * and a private object, as (string blob, string label).
 */
int pkcs11_load(struct pkcs11 *p, const uint8_t *pin, size_t pinlen,
    struct wire *out, char *err, size_t errsize);

/* Signs data with the private half of the key whose blob is key,
 * appending an SSH signature blob to out.  ERR_NOT_FOUND if not loaded. */
int pkcs11_sign(struct pkcs11 *p, const uint8_t *key, size_t keylen,
    const uint8_t *data, size_t dlen, uint32_t flags, struct wire *out,
    char *err, size_t errsize);

#endif
