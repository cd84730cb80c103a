#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SSHENV_FIDO2
#include <fido.h>
#endif

#include "compat.h"
#include "crypto.h"
#include "elfsym.h"
#include "skprov.h"
#include "sserr.h"
#include "wire.h"

/*
 * The sk-api as OpenSSH 9.x defines it (version 0x000a0000): our own
 * declarations of that ABI, which middleware libraries implement.
 */
#define SK_VERSION_MAJOR 0x000a0000u
#define SK_VERSION_MASK 0xffff0000u
#define SK_ALG_ECDSA 0x00
#define SK_ALG_ED25519 0x01
#define SK_ERR_PIN_REQUIRED (-3)
#define SK_ERR_DEVICE_NOT_FOUND (-4)

struct sk_option;
struct sk_sign_response {
	uint8_t flags;
	uint32_t counter;
	uint8_t *sig_r;
	size_t sig_r_len;
	uint8_t *sig_s;
	size_t sig_s_len;
};

typedef uint32_t (*sk_version_fn)(void);
typedef int (*sk_sign_fn)(uint32_t alg, const uint8_t *data, size_t datalen,
    const char *application, const uint8_t *key_handle, size_t handlelen,
    uint8_t flags, const char *pin, struct sk_option **options,
    struct sk_sign_response **response);

struct skprov {
	void *lib; /* NULL: internal */
	sk_sign_fn sign;
};

/* What one signature gives, whichever way it was made. */
struct sksig {
	uint8_t flags;
	uint32_t counter;
	uint8_t r[72], s[72]; /* Ed25519: the signature in r */
	size_t rlen, slen;
};

static int internal_sign(const struct skprov_req *req, const char *pin,
    struct sksig *out, char *err, size_t errsize);

int
skprov_open(const char *path, struct skprov **out, char *err, size_t errsize)
{
	static const char *const need[] = { "sk_api_version", "sk_sign", NULL };
	struct skprov *p;
	sk_version_fn version;
	uint32_t v;
	int r;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ERR_ALLOC;
	if (strcmp(path, "internal") == 0) {
#ifdef SSHENV_FIDO2
		fido_init(0);
		*out = p;
		return 0;
#else
		snprintf(err, errsize,
		    "built without libfido2: no internal "
		    "FIDO support");
		free(p);
		return ERR_UNSUPPORTED;
#endif
	}
	if ((r = elfsym_exports(path, need)) != 0) {
		snprintf(err, errsize, "%s: %s", path,
		    r == ERR_NOT_PROVIDER ? "not a FIDO middleware" :
					    "cannot be read");
		free(p);
		return r == ERR_SYSTEM ? ERR_NOT_FOUND : r;
	}
	if ((p->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errsize, "%s", dlerror());
		free(p);
		return ERR_NOT_PROVIDER;
	}
	*(void **)&version = dlsym(p->lib, "sk_api_version");
	*(void **)&p->sign = dlsym(p->lib, "sk_sign");
	if (version == NULL || p->sign == NULL ||
	    ((v = version()) & SK_VERSION_MASK) != SK_VERSION_MAJOR) {
		snprintf(err, errsize,
		    "%s: not a FIDO middleware of sk-api "
		    "version 0x%08x",
		    path, SK_VERSION_MAJOR);
		dlclose(p->lib);
		free(p);
		return ERR_NOT_PROVIDER;
	}
	*out = p;
	return 0;
}

void
skprov_close(struct skprov *p)
{
	if (p == NULL)
		return;
	if (p->lib != NULL)
		dlclose(p->lib);
	free(p);
}

static int
copy_part(uint8_t *dst, size_t *dlen, size_t room, const uint8_t *src, size_t n)
{
	if (src == NULL || n == 0 || n > room)
		return ERR_PROTOCOL;
	memcpy(dst, src, n);
	*dlen = n;
	return 0;
}

static int
middleware_sign(struct skprov *p, const struct skprov_req *req, const char *pin,
    struct sksig *out, char *err, size_t errsize)
{
	struct sk_sign_response *resp = NULL;
	char *app;
	int r, rc;

	if ((app = malloc(req->applen + 1)) == NULL)
		return ERR_ALLOC;
	memcpy(app, req->app, req->applen);
	app[req->applen] = '\0';
	rc = p->sign(req->ecdsa ? SK_ALG_ECDSA : SK_ALG_ED25519, req->data,
	    req->datalen, app, req->handle, req->handlelen, req->flags, pin,
	    NULL, &resp);
	free(app);
	if (rc != 0 || resp == NULL) {
		snprintf(err, errsize, "sk_sign: error %d", rc);
		r = rc == SK_ERR_PIN_REQUIRED	  ? ERR_PIN :
		    rc == SK_ERR_DEVICE_NOT_FOUND ? ERR_NOT_FOUND :
						    ERR_CRYPTO;
		goto out;
	}
	out->flags = resp->flags;
	out->counter = resp->counter;
	if ((r = copy_part(out->r, &out->rlen, sizeof(out->r), resp->sig_r,
		 resp->sig_r_len)) != 0 ||
	    (!req->ecdsa && out->rlen != 64) ||
	    (req->ecdsa &&
		(r = copy_part(out->s, &out->slen, sizeof(out->s), resp->sig_s,
		     resp->sig_s_len)) != 0)) {
		snprintf(err, errsize, "sk_sign: a malformed signature");
		r = ERR_PROTOCOL;
	}
out:
	if (resp != NULL) {
		/* The middleware's allocations, freed as OpenSSH frees them. */
		if (resp->sig_r != NULL)
			compat_wipe(resp->sig_r, resp->sig_r_len);
		free(resp->sig_r);
		free(resp->sig_s);
		free(resp);
	}
	return r;
}

int
skprov_sign(struct skprov *p, const struct skprov_req *req, const char *pin,
    struct wire *out, char *err, size_t errsize)
{
	struct sksig sig;
	size_t at;
	int r;

	memset(&sig, 0, sizeof(sig));
	r = p->lib != NULL ? middleware_sign(p, req, pin, &sig, err, errsize) :
			     internal_sign(req, pin, &sig, err, errsize);
	if (r != 0)
		return r;
	/* PROTOCOL.u2f: the signature, then the flags and the counter. */
	if ((r = wire_put_cstring(out, req->alg)) != 0)
		return r;
	if (req->ecdsa) {
		if ((r = wire_len_open(out, &at)) != 0 ||
		    (r = wire_put_mpint(out, sig.r, sig.rlen)) != 0 ||
		    (r = wire_put_mpint(out, sig.s, sig.slen)) != 0 ||
		    (r = wire_len_close(out, at)) != 0)
			return r;
	} else if ((r = wire_put_string(out, sig.r, sig.rlen)) != 0) {
		return r;
	}
	if ((r = wire_put_u8(out, sig.flags)) != 0)
		return r;
	return wire_put_u32(out, sig.counter);
}

#ifdef SSHENV_FIDO2

#define MAX_DEVICES 8

/*
 * The first authenticator that knows the key handle (each is asked
 * without a touch first, as OpenSSH's own middleware does), then the
 * signature from it.
 */
static int
internal_sign(const struct skprov_req *req, const char *pin, struct sksig *out,
    char *err, size_t errsize)
{
	fido_dev_info_t *devlist = NULL;
	fido_assert_t *assert = NULL;
	fido_dev_t *dev = NULL;
	uint8_t hash[64];
	size_t hlen;
	char *app = NULL;
	size_t ndevs = 0, i;
	const uint8_t *sig;
	size_t siglen;
	int r = ERR_NOT_FOUND, fr;

	if (crypto_digest("SHA256", req->data, req->datalen, hash, &hlen) != 0)
		return ERR_CRYPTO;
	if ((app = malloc(req->applen + 1)) == NULL)
		return ERR_ALLOC;
	memcpy(app, req->app, req->applen);
	app[req->applen] = '\0';
	if ((devlist = fido_dev_info_new(MAX_DEVICES)) == NULL ||
	    fido_dev_info_manifest(devlist, MAX_DEVICES, &ndevs) != FIDO_OK)
		ndevs = 0;
	snprintf(err, errsize, "no FIDO authenticator found");
	for (i = 0; i < ndevs; i++) {
		const fido_dev_info_t *di = fido_dev_info_ptr(devlist, i);

		fido_assert_free(&assert);
		if (dev != NULL) {
			fido_dev_close(dev);
			fido_dev_free(&dev);
		}
		if ((dev = fido_dev_new()) == NULL ||
		    fido_dev_open(dev, fido_dev_info_path(di)) != FIDO_OK ||
		    (assert = fido_assert_new()) == NULL ||
		    fido_assert_set_clientdata_hash(assert, hash, 32) !=
			FIDO_OK ||
		    fido_assert_set_rp(assert, app) != FIDO_OK ||
		    fido_assert_allow_cred(assert, req->handle,
			req->handlelen) != FIDO_OK)
			continue;
		/* Without a touch: does this one hold the key? */
		fido_assert_set_up(assert, FIDO_OPT_FALSE);
		if (fido_dev_get_assert(dev, assert, NULL) != FIDO_OK)
			continue;
		fido_assert_free(&assert);
		if ((assert = fido_assert_new()) == NULL ||
		    fido_assert_set_clientdata_hash(assert, hash, 32) !=
			FIDO_OK ||
		    fido_assert_set_rp(assert, app) != FIDO_OK ||
		    fido_assert_allow_cred(assert, req->handle,
			req->handlelen) != FIDO_OK) {
			r = ERR_ALLOC;
			break;
		}
		fido_assert_set_up(assert,
		    (req->flags & SKPROV_USER_PRESENCE) ? FIDO_OPT_TRUE :
							  FIDO_OPT_FALSE);
		if (req->flags & SKPROV_USER_VERIFICATION)
			fido_assert_set_uv(assert, FIDO_OPT_TRUE);
		fr = fido_dev_get_assert(dev, assert, pin);
		if (fr == FIDO_ERR_PIN_REQUIRED || fr == FIDO_ERR_PIN_INVALID ||
		    fr == FIDO_ERR_UV_BLOCKED) {
			snprintf(err, errsize, "authenticator: %s",
			    fido_strerr(fr));
			r = ERR_PIN;
			break;
		}
		if (fr != FIDO_OK || fido_assert_count(assert) != 1) {
			snprintf(err, errsize, "authenticator: %s",
			    fido_strerr(fr));
			r = ERR_CRYPTO;
			break;
		}
		sig = fido_assert_sig_ptr(assert, 0);
		siglen = fido_assert_sig_len(assert, 0);
		out->flags = fido_assert_flags(assert, 0);
		out->counter = fido_assert_sigcount(assert, 0);
		if (req->ecdsa)
			r = crypto_ecdsa_der_rs(sig, siglen, out->r, &out->rlen,
			    out->s, &out->slen, sizeof(out->r));
		else if (siglen != 64)
			r = ERR_PROTOCOL;
		else
			r = copy_part(out->r, &out->rlen, 64, sig, siglen);
		break;
	}
	fido_assert_free(&assert);
	if (dev != NULL) {
		fido_dev_close(dev);
		fido_dev_free(&dev);
	}
	fido_dev_info_free(&devlist, MAX_DEVICES);
	free(app);
	return r;
}

#else

static int
internal_sign(const struct skprov_req *req, const char *pin, struct sksig *out,
    char *err, size_t errsize)
{
	(void)req;
	(void)pin;
	(void)out;
	snprintf(err, errsize, "built without libfido2");
	return ERR_UNSUPPORTED;
}

#endif
