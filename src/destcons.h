/*
 * destcons: destination constraints on a key (OpenSSH's
 * restrict-destination-v00@openssh.com, added by `ssh-add -h`), and the
 * check of a connection's session bindings against them.
 *
 * A constraint names one hop: from a host (none: this host, where the
 * agent runs) to a host, each by its host keys or a CA that certifies
 * them, with an optional user pattern on the last hop.  A connection's
 * bindings (session-bind@openssh.com) are the path its requests came
 * by: every hop of it must be permitted by some constraint.
 */
#ifndef SSHENV_DESTCONS_H
#define SSHENV_DESTCONS_H

#include <stddef.h>
#include <stdint.h>

struct destcons;

/* As OpenSSH: constraints per key, and a user pattern's length. */
#define DESTCONS_MAX 1024
#define DESTCONS_MAX_USER 256
/* A host name in a constraint (it is matched against certificates'
 * principals): longer ones are refused. */
#define DESTCONS_MAX_HOST 1024

struct crypto_cert;

/* One session binding of a connection, oldest first. */
struct destcons_bind {
	const uint8_t *hostkey; /* a host key or host certificate blob */
	size_t hostkeylen;
	int forwarding; /* bound for forwarding (else for authentication) */
	/* The host certificate, parsed and its CA signature checked once
	 * (crypto_cert_info), or NULL for a plain key. */
	const struct crypto_cert *cert;
};

/*
 * Parses the constraints of a restrict-destination-v00@openssh.com key
 * constraint extension: the n bytes at p, the contents of the string
 * that follows the extension's name.  On success *out is a new set the
 * caller frees with destcons_free.  ERR_FORMAT for what breaks the rules
 * (a from-user, a to-hop without a host or keys, a reserved field not
 * empty, a name too long, no constraint at all), ERR_TOO_LONG past
 * DESTCONS_MAX constraints, wire errors as they come.
 */
int destcons_parse(const uint8_t *p, size_t n, struct destcons **out);
void destcons_free(struct destcons *dc);
size_t destcons_count(const struct destcons *dc);

/*
 * Whether a key under dc may be used on a connection with these
 * bindings (n of them; bind_failed if a session-bind was refused on
 * it).  user is NULL to ask whether the key is visible (listed,
 * removed, replaced); for a signature it is the user of the userauth
 * request, and the last binding must then be one for authentication.
 * now is the wall-clock time in seconds, for host certificates.
 * 0 if permitted, else ERR_DENIED.  A NULL dc permits everything.
 */
int
destcons_permitted(const struct destcons *dc, const struct destcons_bind *binds,
    size_t n, int bind_failed, const char *user, uint64_t now);

/*
 * OpenSSH's match_pattern: s against a pattern where '*' matches any
 * run of characters and '?' any one.  1 if it matches, else 0.
 */
int destcons_match(const char *s, const char *pattern);

#endif
