/*
 * skprov: signatures by FIDO security keys, in the token helper's process
 * (never the agent's), through a provider: a middleware library that
 * implements OpenSSH's sk-api (sk_api_version, sk_sign), or "internal",
 * libfido2 talking to USB authenticators.  The signature comes back in
 * SSH's format for the key type (PROTOCOL.u2f).
 */
#ifndef SSHENV_SKPROV_H
#define SSHENV_SKPROV_H

#include <stddef.h>
#include <stdint.h>

struct wire;
struct skprov;

/* The FIDO flags of a key (sk-api.h). */
#define SKPROV_USER_PRESENCE 0x01
#define SKPROV_USER_VERIFICATION 0x04

/*
 * The provider at path, or "internal" (libfido2; ERR_UNSUPPORTED in a
 * build without it).  A library must export sk_api_version and sk_sign
 * (checked before it is loaded) and speak the sk-api major version of
 * OpenSSH 9.x: else ERR_NOT_PROVIDER.
 */
int
skprov_open(const char *path, struct skprov **out, char *err, size_t errsize);
void skprov_close(struct skprov *p);

struct skprov_req {
	const char *alg; /* the key's type name */
	int ecdsa;	 /* P-256, else Ed25519 */
	const uint8_t *data, *app, *handle;
	size_t datalen, applen, handlelen;
	uint8_t flags;
};

/*
 * Signs req with pin (NULL for none), appending the SSH signature blob
 * to out.  ERR_PIN when the key wants a PIN (or it was wrong).
 */
int skprov_sign(struct skprov *p, const struct skprov_req *req, const char *pin,
    struct wire *out, char *err, size_t errsize);

#endif
