/*
 * keyfile: test helper that turns the committed OpenSSH key fixtures in
 * tests/data/ into the agent's add-identity forms, using only wire.h.
 *
 * An unencrypted openssh-key-v1 file holds, after "openssh-key-v1\0":
 * string cipher ("none"), string kdf ("none"), string kdf options,
 * uint32 nkeys (1), string public key, string private block; the private
 * block is uint32 check1, uint32 check2, string type, the type's fields,
 * string comment, then padding 1, 2, 3...  The plain add-identity form is
 * exactly "string type, fields".  A certified key's form is string
 * cert-type, string certificate, then the private fields without the
 * public ones (ed25519 keeps both pk and sk).
 *
 * Everything here is header-only: one test file includes it once.
 */
#ifndef SSHENV_TEST_KEYFILE_H
#define SSHENV_TEST_KEYFILE_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire.h"

#define KF_FN static __attribute__((unused))

/* Room for the data directory plus a fixture name. */
#define KF_PATHLEN (PATH_MAX + 256)

/* Where the fixtures are: $SSHENV_TEST_DATA, else next to the build. */
KF_FN const char *
kf_datadir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX - 32], *slash;
	const char *env;
	ssize_t n;
	int i;

	if (dir[0] != '\0')
		return dir;
	if ((env = getenv("SSHENV_TEST_DATA")) != NULL && *env != '\0') {
		snprintf(dir, sizeof(dir), "%s", env);
		return dir;
	}
	/* The binary is BUILD/tests/test_x and BUILD sits at the top. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (i = 0; i < 3; i++) {
			if ((slash = strrchr(exe, '/')) == NULL)
				break;
			*slash = '\0';
		}
		if (i == 3) {
			snprintf(dir, sizeof(dir), "%s/tests/data", exe);
			if (access(dir, R_OK) == 0)
				return dir;
		}
	}
	snprintf(dir, sizeof(dir), "tests/data");
	return dir;
}

/* The fixture path for name, in a static buffer (one at a time). */
KF_FN const char *
kf_path(const char *name)
{
	static char path[KF_PATHLEN];

	snprintf(path, sizeof(path), "%s/%s", kf_datadir(), name);
	return path;
}

/* Reads a whole file into a NUL-terminated allocation. */
KF_FN int
kf_slurp(const char *path, char **out, size_t *len)
{
	FILE *f;
	char *buf = NULL, *nbuf;
	size_t n = 0, cap = 0, got;

	*out = NULL;
	*len = 0;
	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "  cannot open %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((nbuf = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nbuf;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
fail:
	fclose(f);
	free(buf);
	return -1;
}

/* Writes n bytes to path, created with mode (truncating). */
KF_FN int
kf_write(const char *path, const void *p, size_t n, mode_t mode)
{
	const uint8_t *b = p;
	ssize_t w;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)) < 0)
		return -1;
	while (n > 0) {
		if ((w = write(fd, b, n)) < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return close(fd);
}

static const char kf_b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Decodes base64, skipping whitespace; stops at '=' or the end. */
KF_FN int
kf_b64_decode(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
	uint8_t *buf;
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0;
	const char *c;

	*out = NULL;
	*outlen = 0;
	if ((buf = malloc(n / 4 * 3 + 3)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
			continue;
		if (s[i] == '=')
			break;
		if (s[i] == '\0' || (c = strchr(kf_b64chars, s[i])) == NULL) {
			free(buf);
			return -1;
		}
		acc = acc << 6 | (uint32_t)(c - kf_b64chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits);
		}
	}
	*out = buf;
	*outlen = o;
	return 0;
}

/* Encodes n bytes as padded base64 in a NUL-terminated allocation. */
KF_FN char *
kf_b64_encode(const uint8_t *p, size_t n)
{
	char *s;
	size_t i, o = 0;
	uint32_t v;

	if ((s = malloc((n + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		s[o++] = kf_b64chars[v >> 18 & 63];
		s[o++] = kf_b64chars[v >> 12 & 63];
		s[o++] = kf_b64chars[v >> 6 & 63];
		s[o++] = kf_b64chars[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		s[o++] = kf_b64chars[v >> 18 & 63];
		s[o++] = kf_b64chars[v >> 12 & 63];
		s[o++] = '=';
		s[o++] = '=';
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		s[o++] = kf_b64chars[v >> 18 & 63];
		s[o++] = kf_b64chars[v >> 12 & 63];
		s[o++] = kf_b64chars[v >> 6 & 63];
		s[o++] = '=';
	}
	s[o] = '\0';
	return s;
}

/*
 * The base64 body between "-----BEGIN <label>-----" and
 * "-----END <label>-----" of an armored text, decoded.
 */
KF_FN int
kf_unarmor(const char *text, const char *label, uint8_t **out, size_t *len)
{
	char begin[80], end[80];
	const char *b, *e;

	*out = NULL;
	*len = 0;
	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(end, sizeof(end), "-----END %s-----", label);
	if ((b = strstr(text, begin)) == NULL || (e = strstr(b, end)) == NULL)
		return -1;
	b += strlen(begin);
	return kf_b64_decode(b, (size_t)(e - b), out, len);
}

/*
 * The key blob of a one-line public key file ("type base64 comment");
 * *type gets the type word (NUL-terminated, caller frees) when not NULL.
 */
KF_FN int
kf_pubfile(const char *name, uint8_t **blob, size_t *len, char **type)
{
	char *text, *sp, *b64, *end;
	size_t n;
	int r = -1;

	*blob = NULL;
	*len = 0;
	if (type != NULL)
		*type = NULL;
	if (kf_slurp(kf_path(name), &text, &n) != 0)
		return -1;
	if ((sp = strchr(text, ' ')) == NULL)
		goto out;
	b64 = sp + 1;
	end = b64 + strcspn(b64, " \n");
	if (kf_b64_decode(b64, (size_t)(end - b64), blob, len) != 0)
		goto out;
	if (type != NULL) {
		*sp = '\0';
		if ((*type = strdup(text)) == NULL) {
			free(*blob);
			*blob = NULL;
			*len = 0;
			goto out;
		}
	}
	r = 0;
out:
	free(text);
	return r;
}

/* One field of a key: the bytes of a string or an mpint as encoded. */
struct kfield {
	const uint8_t *p;
	size_t n;
};

#define KF_MAXFIELDS 6

struct keyfile {
	uint8_t *data; /* the decoded private key file */
	size_t datalen;
	char type[64];
	struct kfield field[KF_MAXFIELDS]; /* after the type name */
	int nfield;
	int npublic;	     /* leading fields a certificate replaces */
	const uint8_t *form; /* plain add-identity form, inside data */
	size_t formlen;
	const uint8_t *filepub; /* the file's own public key section */
	size_t filepublen;
	char comment[128];
	uint8_t *pub; /* NAME.pub */
	size_t publen;
	uint8_t *cert; /* NAME-cert.pub, if there is one */
	size_t certlen;
	char *certtype;
};

/* How many fields follow each type name, and how many are public. */
KF_FN int
kf_shape(const char *type, int *npublic)
{
	if (strcmp(type, "ssh-ed25519") == 0) {
		*npublic = 0;
		return 2;
	}
	if (strncmp(type, "ecdsa-sha2-nistp", 16) == 0) {
		*npublic = 2;
		return 3;
	}
	if (strcmp(type, "ssh-rsa") == 0) {
		*npublic = 2;
		return 6;
	}
	return -1;
}

KF_FN void
keyfile_free(struct keyfile *kf)
{
	if (kf->data != NULL)
		memset(kf->data, 0, kf->datalen);
	free(kf->data);
	free(kf->pub);
	free(kf->cert);
	free(kf->certtype);
	memset(kf, 0, sizeof(*kf));
}

/* Loads tests/data/NAME, NAME.pub and NAME-cert.pub if it exists. */
KF_FN int
keyfile_load(struct keyfile *kf, const char *name)
{
	static const uint8_t magic[] = "openssh-key-v1";
	struct wire w, priv;
	const uint8_t *p;
	char *text = NULL, pubname[256];
	size_t n, i;
	uint32_t nkeys, check1, check2;
	uint8_t m[sizeof(magic)], pad;
	int nf, k;

	memset(kf, 0, sizeof(*kf));
	if (kf_slurp(kf_path(name), &text, &n) != 0)
		goto fail;
	if (kf_unarmor(text, "OPENSSH PRIVATE KEY", &kf->data, &kf->datalen) !=
	    0)
		goto fail;
	wire_view(&w, kf->data, kf->datalen);
	if (wire_get_bytes(&w, m, sizeof(m)) != 0 ||
	    memcmp(m, magic, sizeof(m)) != 0 ||
	    wire_get_string_eq(&w, "none") != 0 ||
	    wire_get_string_eq(&w, "none") != 0 ||
	    wire_get_string(&w, &p, &n) != 0 || wire_get_u32(&w, &nkeys) != 0 ||
	    nkeys != 1 ||
	    wire_get_string(&w, &kf->filepub, &kf->filepublen) != 0 ||
	    wire_get_string_wire(&w, &priv) != 0 || wire_end(&w) != 0)
		goto fail;
	if (wire_get_u32(&priv, &check1) != 0 ||
	    wire_get_u32(&priv, &check2) != 0 || check1 != check2)
		goto fail;
	kf->form = wire_ptr(&priv);
	if (wire_get_string(&priv, &p, &n) != 0 || n >= sizeof(kf->type))
		goto fail;
	memcpy(kf->type, p, n);
	kf->type[n] = '\0';
	if ((nf = kf_shape(kf->type, &kf->npublic)) < 0)
		goto fail;
	for (k = 0; k < nf; k++) {
		if (wire_get_string(&priv, &kf->field[k].p, &kf->field[k].n) !=
		    0)
			goto fail;
	}
	kf->nfield = nf;
	kf->formlen = (size_t)(wire_ptr(&priv) - kf->form);
	if (wire_get_string(&priv, &p, &n) != 0 || n >= sizeof(kf->comment))
		goto fail;
	memcpy(kf->comment, p, n);
	kf->comment[n] = '\0';
	for (i = 1; wire_avail(&priv) > 0; i++) {
		if (wire_get_u8(&priv, &pad) != 0 || pad != (uint8_t)i)
			goto fail;
	}
	snprintf(pubname, sizeof(pubname), "%s.pub", name);
	if (kf_pubfile(pubname, &kf->pub, &kf->publen, NULL) != 0)
		goto fail;
	snprintf(pubname, sizeof(pubname), "%s-cert.pub", name);
	if (access(kf_path(pubname), R_OK) == 0 &&
	    kf_pubfile(pubname, &kf->cert, &kf->certlen, &kf->certtype) != 0)
		goto fail;
	free(text);
	return 0;
fail:
	fprintf(stderr, "  keyfile_load %s failed\n", name);
	free(text);
	keyfile_free(kf);
	return -1;
}

/* Appends string type and then each field, as a key form. */
KF_FN int
keyform_put(struct wire *out, const char *type, const struct kfield *f, int nf)
{
	int i, r;

	if ((r = wire_put_cstring(out, type)) != 0)
		return r;
	for (i = 0; i < nf; i++) {
		if ((r = wire_put_string(out, f[i].p, f[i].n)) != 0)
			return r;
	}
	return 0;
}

/*
 * Appends a certified key's form: its cert type, the certificate blob
 * cert, and kf's private fields.  cert may be another key's certificate.
 */
KF_FN int
keyform_put_cert(struct wire *out, const char *certtype, const uint8_t *cert,
    size_t certlen, const struct keyfile *kf)
{
	int i, r;

	if ((r = wire_put_cstring(out, certtype)) != 0 ||
	    (r = wire_put_string(out, cert, certlen)) != 0)
		return r;
	for (i = kf->npublic; i < kf->nfield; i++) {
		if ((r = wire_put_string(out, kf->field[i].p,
			 kf->field[i].n)) != 0)
			return r;
	}
	return 0;
}

#endif
