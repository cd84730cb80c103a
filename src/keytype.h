/*
 * keytype: the one table of the key types sshenv holds, shared by the
 * message decoder (which needs only the shape of a key's private fields
 * to find where the key ends) and crypto (which needs the curves and
 * digests).  Pure data and a lookup: no OpenSSL here.
 */
#ifndef SSHENV_KEYTYPE_H
#define SSHENV_KEYTYPE_H

#include <stddef.h>
#include <stdint.h>

enum keytype {
	KT_ED25519,
	KT_P256,
	KT_P384,
	KT_P521,
	KT_RSA,
	KT_SK_ED25519, /* FIDO keys: the private half on the token */
	KT_SK_P256,
	KT_NONE
};

struct keytype_info {
	const char *name;      /* "ssh-ed25519" */
	const char *cert_name; /* "ssh-ed25519-cert-v01@openssh.com" */
	/* The private fields after the name in an ADD_IDENTITY message:
	 * 's' a string, 'm' an mpint, 'b' a byte; for the key, then for a
	 * certificate (after the certificate blob). */
	const char *fields;
	const char *cert_fields;
	const char *curve; /* SSH curve name, for ECDSA */
	const char *group; /* OpenSSL group name, for ECDSA */
	const char *md;	   /* digest, for ECDSA */
	enum keytype base; /* a FIDO key's plain counterpart; else itself */
};

/* Indexed by enum keytype, KT_NONE entries. */
extern const struct keytype_info keytypes[KT_NONE];

/*
 * The type whose key or certificate name is the n bytes at p; *cert says
 * which it named.  KT_NONE (and *cert 0) for a name we do not hold.
 */
enum keytype keytype_lookup(const uint8_t *p, size_t n, int *cert);

/* 1 for a FIDO (security key) type, whose keys sign through a provider. */
int keytype_is_sk(enum keytype t);

#endif
