#include <string.h>

#include "keytype.h"
#include "wire.h"

const struct keytype_info keytypes[KT_NONE] = {
	[KT_ED25519] = { "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com",
	    "ss", "sss", NULL, NULL, NULL, KT_ED25519 },
	[KT_P256] = { "ecdsa-sha2-nistp256",
	    "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ssm", "sm", "nistp256",
	    "P-256", "SHA256", KT_P256 },
	[KT_P384] = { "ecdsa-sha2-nistp384",
	    "ecdsa-sha2-nistp384-cert-v01@openssh.com", "ssm", "sm", "nistp384",
	    "P-384", "SHA384", KT_P384 },
	[KT_P521] = { "ecdsa-sha2-nistp521",
	    "ecdsa-sha2-nistp521-cert-v01@openssh.com", "ssm", "sm", "nistp521",
	    "P-521", "SHA512", KT_P521 },
	[KT_RSA] = { "ssh-rsa", "ssh-rsa-cert-v01@openssh.com", "mmmmmm",
	    "smmmm", NULL, NULL, NULL, KT_RSA },
	/* PROTOCOL.u2f: the public key, then the application, the flags,
	 * the key handle and a reserved string (no private key at all). */
	[KT_SK_ED25519] = { "sk-ssh-ed25519@openssh.com",
	    "sk-ssh-ed25519-cert-v01@openssh.com", "ssbss", "sssbss", NULL,
	    NULL, NULL, KT_ED25519 },
	[KT_SK_P256] = { "sk-ecdsa-sha2-nistp256@openssh.com",
	    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "sssbss", "ssbss",
	    "nistp256", "P-256", "SHA256", KT_P256 },
};

int
keytype_is_sk(enum keytype t)
{
	return t == KT_SK_ED25519 || t == KT_SK_P256;
}

enum keytype
keytype_lookup(const uint8_t *p, size_t n, int *cert)
{
	size_t i;

	*cert = 0;
	for (i = 0; i < KT_NONE; i++) {
		if (wire_str_is(p, n, keytypes[i].name))
			return (enum keytype)i;
		if (wire_str_is(p, n, keytypes[i].cert_name)) {
			*cert = 1;
			return (enum keytype)i;
		}
	}
	return KT_NONE;
}
