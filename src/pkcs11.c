#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "compat.h"
#include "crypto.h"
#include "elfsym.h"
#include "pkcs11.h"
#include "sserr.h"
#include "wire.h"

#define MAX_SLOTS 64
#define MAX_KEYS 256
#define MAX_ATTR (16 * 1024)
#define MAX_PIN 256

/* One key: the token's objects are found again by slot and CKA_ID. */
struct p11key {
	uint8_t *blob;
	size_t bloblen;
	CK_SLOT_ID slot;
	uint8_t *id;
	size_t idlen;
	int rsa;
	const char *md; /* ECDSA: the curve's digest */
};

struct slot {
	CK_SLOT_ID id;
	CK_SESSION_HANDLE session;
	int open;
};

struct pkcs11 {
	void *lib;
	CK_FUNCTION_LIST_PTR f;
	struct slot slots[MAX_SLOTS];
	int nslots;
	struct p11key keys[MAX_KEYS];
	int nkeys;
	uint8_t *pin; /* secure heap: keys that ask again at each use */
	size_t pinlen;
};

static void
say(char *err, size_t size, const char *what, CK_RV rv)
{
	snprintf(err, size, "%s: 0x%lx", what, (unsigned long)rv);
}

int
pkcs11_open(const char *path, struct pkcs11 **out, char *err, size_t errsize)
{
	static const char *const need[] = { "C_GetFunctionList", NULL };
	CK_RV (*getlist)(CK_FUNCTION_LIST_PTR_PTR);
	struct pkcs11 *p;
	CK_RV rv;
	int r;

	*out = NULL;
	if ((r = elfsym_exports(path, need)) != 0) {
		snprintf(err, errsize, "%s: %s", path,
		    r == ERR_NOT_PROVIDER ? "not a PKCS#11 module" :
					    "cannot be read");
		return r == ERR_SYSTEM ? ERR_NOT_FOUND : r;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ERR_ALLOC;
	if ((p->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errsize, "%s", dlerror());
		free(p);
		return ERR_NOT_PROVIDER;
	}
	*(void **)&getlist = dlsym(p->lib, "C_GetFunctionList");
	if (getlist == NULL || (rv = getlist(&p->f)) != CKR_OK ||
	    p->f == NULL || p->f->version.major != 2) {
		snprintf(err, errsize, "%s: not a PKCS#11 2.x module", path);
		dlclose(p->lib);
		free(p);
		return ERR_NOT_PROVIDER;
	}
	if ((rv = p->f->C_Initialize(NULL)) != CKR_OK &&
	    rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		say(err, errsize, "C_Initialize", rv);
		dlclose(p->lib);
		free(p);
		return ERR_NOT_PROVIDER;
	}
	*out = p;
	return 0;
}

static void
forget_keys(struct pkcs11 *p)
{
	int i;

	for (i = 0; i < p->nkeys; i++) {
		free(p->keys[i].blob);
		free(p->keys[i].id);
	}
	p->nkeys = 0;
}

void
pkcs11_close(struct pkcs11 *p)
{
	int i;

	if (p == NULL)
		return;
	forget_keys(p);
	for (i = 0; i < p->nslots; i++)
		if (p->slots[i].open)
			p->f->C_CloseSession(p->slots[i].session);
	p->f->C_Finalize(NULL);
	dlclose(p->lib);
	crypto_secure_free(p->pin, p->pinlen);
	free(p);
}

/* An attribute's value, allocated (NUL-terminated for labels). */
static int
get_attr(struct pkcs11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_TYPE type, uint8_t **val, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_ULONG n;

	*val = NULL;
	*len = 0;
	if (p->f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK ||
	    a.ulValueLen == (CK_ULONG)-1 || a.ulValueLen > MAX_ATTR)
		return ERR_NOT_FOUND;
	if ((a.pValue = calloc(1, a.ulValueLen + 1)) == NULL)
		return ERR_ALLOC;
	n = a.ulValueLen;
	/* A module that says more the second time is not believed. */
	if (p->f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK ||
	    a.ulValueLen > n) {
		free(a.pValue);
		return ERR_NOT_FOUND;
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return 0;
}

/* The curves we hold, by the DER of their OID in CKA_EC_PARAMS. */
static const struct {
	const char *name, *curve, *md;
	uint8_t oid[12];
	size_t oidlen;
} curves[] = {
	{ "ecdsa-sha2-nistp256", "nistp256", "SHA256",
	    { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 },
	    10 },
	{ "ecdsa-sha2-nistp384", "nistp384", "SHA384",
	    { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 }, 7 },
	{ "ecdsa-sha2-nistp521", "nistp521", "SHA512",
	    { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 }, 7 },
};

/*
 * CKA_EC_POINT is a DER OCTET STRING holding the point (some modules give
 * the bare point): the uncompressed point, in *q.
 */
static int
ec_point(const uint8_t *v, size_t n, const uint8_t **q, size_t *qlen)
{
	size_t len, hdr;

	if (n >= 2 && v[0] == 0x04 && v[1] < 0x80 && (size_t)v[1] + 2 == n) {
		hdr = 2;
		len = v[1];
	} else if (n >= 3 && v[0] == 0x04 && v[1] == 0x81 &&
	    (size_t)v[2] + 3 == n) {
		hdr = 3;
		len = v[2];
	} else {
		hdr = 0;
		len = n;
	}
	if (len == 0 || v[hdr] != 0x04 || len % 2 != 1)
		return ERR_KEY_INVALID;
	*q = v + hdr;
	*qlen = len;
	return 0;
}

/* The SSH blob of a public key object; 0, or an error to skip it. */
static int
public_blob(struct pkcs11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    struct p11key *k)
{
	CK_KEY_TYPE kt;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
	uint8_t *v1 = NULL, *v2 = NULL;
	size_t l1, l2, i;
	const uint8_t *q;
	size_t qlen;
	struct wire w;
	int r;

	wire_init(&w, MAX_ATTR * 2);
	if (p->f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK)
		return ERR_KEY_TYPE;
	if (kt == CKK_RSA) {
		if ((r = get_attr(p, s, o, CKA_PUBLIC_EXPONENT, &v1, &l1)) ||
		    (r = get_attr(p, s, o, CKA_MODULUS, &v2, &l2)))
			goto out;
		k->rsa = 1;
		if ((r = wire_put_cstring(&w, "ssh-rsa")) != 0 ||
		    (r = wire_put_mpint(&w, v1, l1)) != 0 ||
		    (r = wire_put_mpint(&w, v2, l2)) != 0)
			goto out;
	} else if (kt == CKK_EC) {
		if ((r = get_attr(p, s, o, CKA_EC_PARAMS, &v1, &l1)) ||
		    (r = get_attr(p, s, o, CKA_EC_POINT, &v2, &l2)))
			goto out;
		r = ERR_KEY_TYPE;
		for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
			if (l1 == curves[i].oidlen &&
			    memcmp(v1, curves[i].oid, l1) == 0)
				break;
		if (i == sizeof(curves) / sizeof(curves[0]))
			goto out;
		if ((r = ec_point(v2, l2, &q, &qlen)) != 0)
			goto out;
		k->md = curves[i].md;
		if ((r = wire_put_cstring(&w, curves[i].name)) != 0 ||
		    (r = wire_put_cstring(&w, curves[i].curve)) != 0 ||
		    (r = wire_put_string(&w, q, qlen)) != 0)
			goto out;
	} else {
		r = ERR_KEY_TYPE;
		goto out;
	}
	r = ERR_ALLOC;
	if ((k->blob = malloc(wire_avail(&w))) == NULL)
		goto out;
	k->bloblen = wire_avail(&w);
	memcpy(k->blob, wire_ptr(&w), k->bloblen);
	r = 0;
out:
	free(v1);
	free(v2);
	wire_free(&w);
	return r;
}

/* The first object of class cls with this CKA_ID (any, if id NULL). */
static int
find_objects(struct pkcs11 *p, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    const uint8_t *id, size_t idlen, CK_OBJECT_HANDLE *objs, CK_ULONG max,
    CK_ULONG *n)
{
	CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)id, idlen } };

	*n = 0;
	if (p->f->C_FindObjectsInit(s, t, id != NULL ? 2 : 1) != CKR_OK)
		return ERR_NOT_FOUND;
	if (p->f->C_FindObjects(s, objs, max, n) != CKR_OK)
		*n = 0;
	p->f->C_FindObjectsFinal(s);
	return *n > 0 ? 0 : ERR_NOT_FOUND;
}

/* Every key of one slot's token with both halves: into p->keys. */
static void
list_slot(struct pkcs11 *p, struct slot *sl)
{
	CK_OBJECT_HANDLE objs[MAX_KEYS], priv;
	CK_ULONG n = 0, m, i;
	struct p11key *k;
	size_t j;

	if (find_objects(p, sl->session, CKO_PUBLIC_KEY, NULL, 0, objs,
		MAX_KEYS, &n) != 0)
		return;
	for (i = 0; i < n && p->nkeys < MAX_KEYS; i++) {
		k = &p->keys[p->nkeys];
		memset(k, 0, sizeof(*k));
		k->slot = sl->id;
		if (get_attr(p, sl->session, objs[i], CKA_ID, &k->id,
			&k->idlen) != 0 ||
		    public_blob(p, sl->session, objs[i], k) != 0 ||
		    find_objects(p, sl->session, CKO_PRIVATE_KEY, k->id,
			k->idlen, &priv, 1, &m) != 0) {
			free(k->id);
			free(k->blob);
			continue;
		}
		/* The same key twice (two objects): listed once. */
		for (j = 0; j < (size_t)p->nkeys; j++)
			if (p->keys[j].bloblen == k->bloblen &&
			    memcmp(p->keys[j].blob, k->blob, k->bloblen) == 0)
				break;
		if (j < (size_t)p->nkeys) {
			free(k->id);
			free(k->blob);
			continue;
		}
		p->nkeys++;
	}
}

static int
put_label(struct pkcs11 *p, const struct p11key *k, struct wire *out)
{
	struct slot *sl = NULL;
	CK_OBJECT_HANDLE o;
	CK_ULONG n;
	uint8_t *label = NULL;
	size_t len = 0;
	int i, r;

	for (i = 0; i < p->nslots; i++)
		if (p->slots[i].id == k->slot)
			sl = &p->slots[i];
	if (sl != NULL &&
	    find_objects(p, sl->session, CKO_PUBLIC_KEY, k->id, k->idlen, &o, 1,
		&n) == 0)
		get_attr(p, sl->session, o, CKA_LABEL, &label, &len);
	r = wire_put_string(out, label != NULL ? label : (const uint8_t *)"",
	    label != NULL ? len : 0);
	free(label);
	return r;
}

int
pkcs11_load(struct pkcs11 *p, const uint8_t *pin, size_t pinlen,
    struct wire *out, char *err, size_t errsize)
{
	CK_SLOT_ID ids[MAX_SLOTS];
	CK_ULONG n = MAX_SLOTS, i;
	CK_TOKEN_INFO ti;
	CK_RV rv;
	struct slot *sl;
	int k, r;

	if (pinlen > MAX_PIN)
		return ERR_PIN;
	if ((rv = p->f->C_GetSlotList(CK_TRUE, ids, &n)) != CKR_OK) {
		say(err, errsize, "C_GetSlotList", rv);
		return ERR_NOT_FOUND;
	}
	/* A second load of the same module: as from the start. */
	forget_keys(p);
	for (k = 0; k < p->nslots; k++)
		if (p->slots[k].open)
			p->f->C_CloseSession(p->slots[k].session);
	p->nslots = 0;
	for (i = 0; i < n && i < MAX_SLOTS; i++) {
		if (p->f->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
			continue;
		sl = &p->slots[p->nslots];
		memset(sl, 0, sizeof(*sl));
		sl->id = ids[i];
		if (p->f->C_OpenSession(ids[i], CKF_SERIAL_SESSION, NULL, NULL,
			&sl->session) != CKR_OK)
			continue;
		sl->open = 1;
		p->nslots++;
		if (ti.flags & CKF_LOGIN_REQUIRED) {
			rv = p->f->C_Login(sl->session, CKU_USER,
			    (CK_UTF8CHAR_PTR)pin, pinlen);
			if (rv == CKR_PIN_INCORRECT ||
			    rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_LOCKED ||
			    rv == CKR_PIN_EXPIRED) {
				snprintf(err, errsize,
				    "token in slot %lu: PIN refused (0x%lx)",
				    (unsigned long)ids[i], (unsigned long)rv);
				return ERR_PIN;
			}
			if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
				say(err, errsize, "C_Login", rv);
				return ERR_PIN;
			}
		}
		list_slot(p, sl);
	}
	crypto_secure_free(p->pin, p->pinlen);
	p->pin = NULL;
	p->pinlen = 0;
	if (pinlen > 0) {
		if ((p->pin = crypto_secure_alloc(pinlen)) == NULL)
			return ERR_ALLOC;
		memcpy(p->pin, pin, pinlen);
		p->pinlen = pinlen;
	}
	if ((r = wire_put_u32(out, (uint32_t)p->nkeys)) != 0)
		return r;
	for (k = 0; k < p->nkeys; k++)
		if ((r = wire_put_string(out, p->keys[k].blob,
			 p->keys[k].bloblen)) != 0 ||
		    (r = put_label(p, &p->keys[k], out)) != 0)
			return r;
	return 0;
}

/* The DER DigestInfo prefixes of PKCS #1 v1.5 (RFC 8017, 9.2). */
static const uint8_t di_sha1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b,
	0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
static const uint8_t di_sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
	0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
	0x20 };
static const uint8_t di_sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
	0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04,
	0x40 };

int
pkcs11_sign(struct pkcs11 *p, const uint8_t *key, size_t keylen,
    const uint8_t *data, size_t dlen, uint32_t flags, struct wire *out,
    char *err, size_t errsize)
{
	uint8_t in[sizeof(di_sha512) + 64], sig[2048];
	CK_MECHANISM mech = { CKM_RSA_PKCS, NULL, 0 };
	CK_BBOOL always = CK_FALSE;
	CK_ATTRIBUTE aa = { CKA_ALWAYS_AUTHENTICATE, &always, sizeof(always) };
	CK_OBJECT_HANDLE priv;
	CK_ULONG n, siglen = sizeof(sig);
	const struct p11key *k = NULL;
	struct slot *sl = NULL;
	const uint8_t *di;
	const char *md, *alg;
	size_t dilen, at, hlen;
	CK_RV rv;
	int i, r;

	for (i = 0; i < p->nkeys; i++)
		if (p->keys[i].bloblen == keylen &&
		    memcmp(p->keys[i].blob, key, keylen) == 0)
			k = &p->keys[i];
	for (i = 0; k != NULL && i < p->nslots; i++)
		if (p->slots[i].id == k->slot)
			sl = &p->slots[i];
	if (k == NULL || sl == NULL)
		return ERR_NOT_FOUND;
	if (find_objects(p, sl->session, CKO_PRIVATE_KEY, k->id, k->idlen,
		&priv, 1, &n) != 0) {
		snprintf(err, errsize, "private key gone from the token");
		return ERR_NOT_FOUND;
	}
	if (k->rsa) {
		/* Both flags: SHA-256, as the agent's own keys. */
		if (flags & CRYPTO_SIGN_RSA_SHA2_256) {
			md = "SHA256", alg = "rsa-sha2-256";
			di = di_sha256, dilen = sizeof(di_sha256);
		} else if (flags & CRYPTO_SIGN_RSA_SHA2_512) {
			md = "SHA512", alg = "rsa-sha2-512";
			di = di_sha512, dilen = sizeof(di_sha512);
		} else {
			md = "SHA1", alg = "ssh-rsa";
			di = di_sha1, dilen = sizeof(di_sha1);
		}
	} else {
		mech.mechanism = CKM_ECDSA;
		md = k->md;
		di = NULL;
		dilen = 0;
		alg = NULL;
		for (i = 0; i < (int)(sizeof(curves) / sizeof(curves[0])); i++)
			if (strcmp(curves[i].md, md) == 0)
				alg = curves[i].name;
	}
	if (di != NULL)
		memcpy(in, di, dilen);
	if (crypto_digest(md, data, dlen, in + dilen, &hlen) != 0)
		return ERR_CRYPTO;
	if ((rv = p->f->C_SignInit(sl->session, &mech, priv)) != CKR_OK) {
		say(err, errsize, "C_SignInit", rv);
		return ERR_CRYPTO;
	}
	/* A key that asks for its PIN at each use gets the one given. */
	if (p->f->C_GetAttributeValue(sl->session, priv, &aa, 1) == CKR_OK &&
	    always == CK_TRUE &&
	    (rv = p->f->C_Login(sl->session, CKU_CONTEXT_SPECIFIC,
		 (CK_UTF8CHAR_PTR)p->pin, p->pinlen)) != CKR_OK) {
		say(err, errsize, "C_Login (context specific)", rv);
		return ERR_PIN;
	}
	rv = p->f->C_Sign(sl->session, in, dilen + hlen, sig, &siglen);
	compat_wipe(in, sizeof(in));
	if (rv == CKR_OK && siglen > sizeof(sig))
		rv = CKR_BUFFER_TOO_SMALL;
	if (rv != CKR_OK) {
		say(err, errsize, "C_Sign", rv);
		return ERR_CRYPTO;
	}
	if ((r = wire_put_cstring(out, alg)) != 0)
		return r;
	if (k->rsa)
		return wire_put_string(out, sig, siglen);
	/* r and s, each half of what the token gives. */
	if (siglen % 2 != 0 || siglen == 0)
		return ERR_CRYPTO;
	if ((r = wire_len_open(out, &at)) != 0 ||
	    (r = wire_put_mpint(out, sig, siglen / 2)) != 0 ||
	    (r = wire_put_mpint(out, sig + siglen / 2, siglen / 2)) != 0)
		return r;
	return wire_len_close(out, at);
}
