/*
 * A signer that stands for a token's helper in the unit tests: it
 * records what crypto_sign hands it and the holds keys take, and signs
 * with a marker.
 */
#ifndef SSHENV_FAKESIGNER_H
#define SSHENV_FAKESIGNER_H

#include <stdint.h>
#include <string.h>

#include "crypto.h"
#include "wire.h"

struct fake_signer {
	int holds; /* net hold(+1) and hold(-1) calls */
	int calls;
	const struct crypto_key *key;
	uint8_t data[64];
	size_t dlen;
	uint32_t flags;
};

#define FAKE_SIG "fake-signature"

static int
fake_sign(void *arg, const struct crypto_key *k, const uint8_t *data,
    size_t dlen, uint32_t flags, struct wire *out)
{
	struct fake_signer *fs = arg;

	fs->calls++;
	fs->key = k;
	fs->dlen = dlen;
	if (dlen <= sizeof(fs->data))
		memcpy(fs->data, data, dlen);
	fs->flags = flags;
	return wire_put_cstring(out, FAKE_SIG);
}

static void
fake_hold(void *arg, int delta)
{
	struct fake_signer *fs = arg;

	fs->holds += delta;
}

static void
fake_init(struct fake_signer *fs, struct crypto_signer *s)
{
	memset(fs, 0, sizeof(*fs));
	s->sign = fake_sign;
	s->hold = fake_hold;
	s->arg = fs;
}

#endif
