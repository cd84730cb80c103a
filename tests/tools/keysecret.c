/*
 * keysecret: the secret half of an unencrypted OpenSSH private key file, in
 * hex, for memscan to look for in an agent's memory.
 *
 * usage: keysecret [-r] FILE
 *   ssh-ed25519   the 32-byte seed (what libcrypto keeps)
 *   ssh-rsa       the private exponent d, big-endian without sign byte
 *   ecdsa-sha2-*  the private scalar, likewise
 * -r prints the bytes reversed: libcrypto keeps a BIGNUM as an array of
 * machine words, least significant first, which on a little-endian machine
 * is the whole number's bytes in reverse order.
 *
 * Exit status: 0 printed, 1 not a key this tool understands (encrypted,
 * another type, malformed), 2 usage, 3 cannot read the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define END "-----END OPENSSH PRIVATE KEY-----"
#define MAGIC "openssh-key-v1"
#define FILE_MAX (64 * 1024)

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes the base64 between the armour lines; the length, or -1. */
static long
unarmour(char *text, uint8_t *out, size_t size)
{
	char *p = strstr(text, BEGIN), *end;
	unsigned long acc = 0;
	size_t o = 0;
	int bits = 0, v;

	if (p == NULL || (end = strstr(p, END)) == NULL)
		return -1;
	for (p += strlen(BEGIN); p < end; p++) {
		if (*p == '\n' || *p == '\r' || *p == ' ')
			continue;
		if (*p == '=')
			break;
		if ((v = b64val((unsigned char)*p)) < 0)
			return -1;
		acc = (acc << 6 | (unsigned long)v) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o == size)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (long)o;
}

static void
print_hex(const uint8_t *p, size_t n, int reverse)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x", p[reverse ? n - 1 - i : i]);
	printf("\n");
}

/* Finds the secret in the private section; 0, or an sserr.h code. */
static int
secret_of(struct wire *priv, const uint8_t **p, size_t *n)
{
	const uint8_t *skip;
	size_t skiplen;
	uint32_t check1, check2;
	char *type = NULL;
	int r;

	if ((r = wire_get_u32(priv, &check1)) != 0 ||
	    (r = wire_get_u32(priv, &check2)) != 0 ||
	    (r = wire_get_cstring(priv, &type)) != 0)
		goto out;
	r = -1;
	if (check1 != check2)
		goto out; /* a wrong passphrase would look so */
	if (strcmp(type, "ssh-ed25519") == 0) {
		/* The pub string, then seed || pub. */
		if ((r = wire_get_string(priv, &skip, &skiplen)) != 0 ||
		    (r = wire_get_string(priv, p, n)) != 0)
			goto out;
		if (*n != 64) {
			r = -1;
			goto out;
		}
		*n = 32;
	} else if (strcmp(type, "ssh-rsa") == 0) {
		/* n, e, then d. */
		if ((r = wire_get_mpint(priv, &skip, &skiplen, 0)) != 0 ||
		    (r = wire_get_mpint(priv, &skip, &skiplen, 0)) != 0 ||
		    (r = wire_get_mpint(priv, p, n, 0)) != 0)
			goto out;
	} else if (strncmp(type, "ecdsa-sha2-", 11) == 0) {
		/* The curve name, the public point, then the scalar. */
		if ((r = wire_get_string(priv, &skip, &skiplen)) != 0 ||
		    (r = wire_get_string(priv, &skip, &skiplen)) != 0 ||
		    (r = wire_get_mpint(priv, p, n, 0)) != 0)
			goto out;
	}
out:
	free(type);
	return r;
}

int
main(int argc, char **argv)
{
	static char text[FILE_MAX + 1];
	static uint8_t raw[FILE_MAX];
	struct wire w, priv;
	const uint8_t *secret = NULL, *skip;
	size_t got, n = 0, skiplen;
	uint32_t nkeys;
	long len;
	FILE *f;
	int reverse = 0;

	if (argc == 3 && strcmp(argv[1], "-r") == 0) {
		reverse = 1;
		argv++;
	} else if (argc != 2) {
		fprintf(stderr, "usage: keysecret [-r] file\n");
		return 2;
	}
	if ((f = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 3;
	}
	got = fread(text, 1, FILE_MAX, f);
	fclose(f);
	text[got] = '\0';
	if ((len = unarmour(text, raw, sizeof(raw))) < 0 ||
	    (size_t)len < sizeof(MAGIC) ||
	    memcmp(raw, MAGIC, sizeof(MAGIC)) != 0)
		goto bad;
	wire_view(&w, raw + sizeof(MAGIC), (size_t)len - sizeof(MAGIC));
	/* Cipher and KDF "none": an unencrypted key. */
	if (wire_get_string_eq(&w, "none") != 0 ||
	    wire_get_string_eq(&w, "none") != 0 ||
	    wire_get_string(&w, &skip, &skiplen) != 0 ||
	    wire_get_u32(&w, &nkeys) != 0 || nkeys != 1 ||
	    wire_get_string(&w, &skip, &skiplen) != 0 ||
	    wire_get_string_wire(&w, &priv) != 0 ||
	    secret_of(&priv, &secret, &n) != 0 || secret == NULL)
		goto bad;
	print_hex(secret, n, reverse);
	return 0;
bad:
	fprintf(stderr,
	    "keysecret: %s: not an unencrypted OpenSSH "
	    "ed25519, RSA or ECDSA key\n",
	    argv[1]);
	return 1;
}
