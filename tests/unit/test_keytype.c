/*
 * keytype: the one table of key types.  Every entry is found by both its
 * names and by no other, its field shapes use only the field kinds the
 * decoder knows, the ECDSA entries carry their curve, group and digest,
 * the FIDO ones say so and name their plain type, and names we do not
 * hold (or that only share a prefix) are not found.
 */
#include <string.h>

#include "keytype.h"
#include "unit.h"

static int
shape_ok(const char *f)
{
	if (f == NULL || *f == '\0')
		return 0;
	return strspn(f, "smb") == strlen(f);
}

static void
test_every_entry_found_by_its_names(void)
{
	int i, cert;
	size_t n;

	for (i = 0; i < KT_NONE; i++) {
		const struct keytype_info *k = &keytypes[i];

		CHECK(k->name != NULL && k->cert_name != NULL);
		if (k->name == NULL || k->cert_name == NULL)
			continue;
		cert = 7;
		CHECK_EQ(keytype_lookup((const uint8_t *)k->name,
			     strlen(k->name), &cert),
		    i);
		CHECK_EQ(cert, 0);
		cert = 7;
		CHECK_EQ(keytype_lookup((const uint8_t *)k->cert_name,
			     strlen(k->cert_name), &cert),
		    i);
		CHECK_EQ(cert, 1);
		/* A certificate's name is the key's with the suffix (before
		 * "@openssh.com", for the FIDO types). */
		n = strlen(k->name);
		if (n > 12 && strcmp(k->name + n - 12, "@openssh.com") == 0)
			n -= 12;
		CHECK(strncmp(k->cert_name, k->name, n) == 0);
		CHECK(strcmp(k->cert_name + n, "-cert-v01@openssh.com") == 0);
	}
}

static void
test_shapes_and_curves(void)
{
	int i;

	for (i = 0; i < KT_NONE; i++) {
		CHECK(shape_ok(keytypes[i].fields));
		CHECK(shape_ok(keytypes[i].cert_fields));
		/* FIDO types, and only they, are FIDO; each names its plain
		 * type, which is no FIDO type; a plain type names itself. */
		if (strncmp(keytypes[i].name, "sk-", 3) == 0) {
			CHECK(keytype_is_sk((enum keytype)i));
			CHECK(!keytype_is_sk(keytypes[i].base));
			CHECK(strstr(keytypes[i].name,
				  keytypes[keytypes[i].base].name) != NULL);
		} else {
			CHECK(!keytype_is_sk((enum keytype)i));
			CHECK_EQ(keytypes[i].base, i);
		}
		/* ECDSA types, and only they, name a curve. */
		if (strncmp(keytypes[i].name, "ecdsa-", 6) == 0 ||
		    strncmp(keytypes[i].name, "sk-ecdsa-", 9) == 0)
			CHECK(keytypes[i].curve != NULL &&
			    keytypes[i].group != NULL &&
			    keytypes[i].md != NULL);
		else
			CHECK(keytypes[i].curve == NULL &&
			    keytypes[i].group == NULL &&
			    keytypes[i].md == NULL);
	}
}

static void
test_unknown_names(void)
{
	static const char *const bad[] = {
		"",
		"ssh-ed2551",
		"ssh-ed25519x",
		"ssh-dss",
		"ssh-rsa ",
		"sk-ssh-ed25519",
		"sk-ecdsa-sha2-nistp384@openssh.com",
		"sk-ssh-ed25519-cert-v01",
		"ecdsa-sha2-nistp256-cert-v01",
		"SSH-RSA",
	};
	size_t i;
	int cert;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cert = 7;
		CHECK_EQ(keytype_lookup((const uint8_t *)bad[i], strlen(bad[i]),
			     &cert),
		    KT_NONE);
		CHECK_EQ(cert, 0);
	}
	/* A name with a NUL inside is not the name before the NUL. */
	cert = 7;
	CHECK_EQ(keytype_lookup((const uint8_t *)"ssh-rsa\0x", 9, &cert),
	    KT_NONE);
}

/* The FIDO types' fields, as PROTOCOL.u2f has them: no private key. */
static void
test_sk_fields(void)
{
	int i, n = 0;

	for (i = 0; i < KT_NONE; i++) {
		if (!keytype_is_sk((enum keytype)i)) {
			CHECK(strchr(keytypes[i].fields, 'b') == NULL);
			continue;
		}
		n++;
		CHECK(strchr(keytypes[i].fields, 'm') == NULL);
	}
	CHECK_EQ(n, 2);
	CHECK_EQ(keytype_is_sk(KT_NONE), 0);
	CHECK_EQ(keytypes[KT_SK_ED25519].base, KT_ED25519);
	CHECK_EQ(keytypes[KT_SK_P256].base, KT_P256);
	/* pk, application, flags, key handle, reserved. */
	CHECK(strcmp(keytypes[KT_SK_ED25519].fields, "ssbss") == 0);
	/* The certificate, the pk again, then as above. */
	CHECK(strcmp(keytypes[KT_SK_ED25519].cert_fields, "sssbss") == 0);
	/* curve, Q, application, flags, key handle, reserved. */
	CHECK(strcmp(keytypes[KT_SK_P256].fields, "sssbss") == 0);
	/* The certificate, then the application on. */
	CHECK(strcmp(keytypes[KT_SK_P256].cert_fields, "ssbss") == 0);
	CHECK(strcmp(keytypes[KT_SK_P256].curve, "nistp256") == 0);
	CHECK(strcmp(keytypes[KT_SK_P256].md, "SHA256") == 0);
}

int
main(void)
{
	RUN(test_every_entry_found_by_its_names);
	RUN(test_shapes_and_curves);
	RUN(test_unknown_names);
	RUN(test_sk_fields);
	UNIT_DONE();
}
